// SPDX-License-Identifier: Apache-2.0
/*
 * Map and link readers for the kernel tests (probe.h), on plain libbpf calls so that a
 * test checks what the kernel holds, not what the datapath module believes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <weir/reason.h>

#include "probe.h"

uint64_t probe_reason(int fd, unsigned int hook, unsigned int reason)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 slot = WEIR_REASON_SLOT(hook, reason);
	uint64_t *vals, sum = 0;
	int i;

	if (ncpu <= 0)
		return 0;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(fd, &slot, vals))
		for (i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

struct weir_edge_key probe_ekey(uint32_t src, uint32_t dst, uint32_t svc, uint16_t dport,
				uint8_t proto, uint8_t path)
{
	struct weir_edge_key k;

	memset(&k, 0, sizeof(k));
	k.src_wl = src;
	k.dst_wl = dst;
	k.svc_id = svc;
	k.dport = dport;
	k.proto = proto;
	k.path = path;
	return k;
}

int probe_edge(int fd, const struct weir_edge_key *key, struct weir_edge *out)
{
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, key, out)) {
		memset(out, 0, sizeof(*out));
		return errno == ENOENT ? 0 : -errno;
	}
	return 0;
}

int probe_edge_wait_closed(int fd, const struct weir_edge_key *key, uint64_t closed, int ms,
			   struct weir_edge *out)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	int waited;

	for (waited = 0;; waited += 10) {
		probe_edge(fd, key, out);
		if (out->conns_closed >= closed)
			return 0;
		if (waited >= ms)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
}

int probe_cgroup_links(uint64_t cg_id, uint32_t *prog_ids, int max)
{
	struct bpf_link_info info;
	__u32 id = 0, len;
	int fd, n = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue; /* gone meanwhile */
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_CGROUP &&
		    info.cgroup.cgroup_id == cg_id) {
			if (prog_ids && n < max)
				prog_ids[n] = info.prog_id;
			n++;
		}
		close(fd);
	}
	return errno == ENOENT ? n : -errno;
}
