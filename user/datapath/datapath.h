/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's handle on the kernel datapath: load the BPF skeleton, reuse or create the
 * pins under the bpffs directory, attach (or re-point pinned links at) the cgroup hooks,
 * attach tc on Pod veths, and read and write the maps through typed calls. Only the
 * control thread uses a datapath; the relay gets its own read-only helpers.
 */
#ifndef WEIR_USER_DATAPATH_H
#define WEIR_USER_DATAPATH_H

#include <stdbool.h>
#include <stdint.h>

#include <weir/config.h>
#include <weir/edge.h>
#include <weir/policy.h>
#include <weir/reason.h>
#include <weir/service.h>
#include <weir/sock.h>
#include <weir/workload.h>

struct datapath;

struct datapath_opts {
	const char *bpffs_dir;	 /* pin directory (created when missing) */
	const char *cgroup_path; /* cgroup2 directory the socket hooks attach to */
	struct weir_config cfg;	 /* the read-only config block */
};

/*
 * Loads the programs, reuses every pinned map under <opts>->bpffs_dir (creating and
 * pinning those that do not exist), and attaches the cgroup hooks to <opts>->cgroup_path:
 * a pinned link from an earlier run is updated to the new program in place, so kernel-path
 * connections never see a gap. Returns a new datapath (caller owns, datapath_close()),
 * or NULL with errno set and a message logged.
 */
struct datapath *datapath_open(const struct datapath_opts *opts);

/* Closes fds and frees <dp>; pins, links and tc filters stay in force. Accepts NULL. */
void datapath_close(struct datapath *dp);

/*
 * Removes every pin weir made under the bpffs dir and detaches the cgroup links (used by
 * tests and `weir-agent --uninstall`). tc filters go with their veths. Returns 0 or -errno.
 */
int datapath_uninstall(const char *bpffs_dir);

/* Attaches the tc programs to both directions of host-side veth <ifindex> (replacing an
 * earlier weir filter). Returns 0 or -errno. */
int datapath_tc_attach(struct datapath *dp, int ifindex);
/* Removes weir's tc filters from <ifindex>; a vanished device is not an error. */
int datapath_tc_detach(struct datapath *dp, int ifindex);

/* Map writes: each returns 0 or -errno. Keys are taken by value where they are small. */
int datapath_pod_set(struct datapath *dp, uint64_t netns_cookie, const struct weir_pod *pod);
int datapath_pod_del(struct datapath *dp, uint64_t netns_cookie);
int datapath_ip_set(struct datapath *dp, uint32_t ip_be, const struct weir_ip *val);
int datapath_ip_del(struct datapath *dp, uint32_t ip_be);
int datapath_svc_set(struct datapath *dp, const struct weir_svc_key *key,
		     const struct weir_svc *svc);
int datapath_svc_del(struct datapath *dp, const struct weir_svc_key *key);
int datapath_wl_info_set(struct datapath *dp, uint32_t id, const struct weir_wl_info *info);
int datapath_svc_info_set(struct datapath *dp, uint32_t id, const struct weir_svc_info *info);
int datapath_deny_set(struct datapath *dp, const struct weir_deny_key *key, uint32_t rule);
int datapath_deny_del(struct datapath *dp, const struct weir_deny_key *key);

/*
 * Adds <delta> to the edge <key> (agent-path edges, which only the agent writes: a plain
 * read-modify-write from the control thread is race-free). Returns 0 or -errno.
 */
int datapath_edge_add(struct datapath *dp, const struct weir_edge_key *key,
		      const struct weir_edge *delta);

/* What one flush of open connections did (datapath_flush_netns()). */
struct datapath_flush_stats {
	uint64_t sockets; /* counted sockets visited */
	uint64_t flushed; /* ... whose new payload bytes were added to their edge */
	uint64_t failed;  /* ... whose edge could not be had (weir_edges full); retried later */
};

/*
 * Adds the payload bytes that open counted TCP connections in the netns at <netns_path>
 * (NULL: the caller's own) have carried since the last flush to their edges, so a
 * long-lived connection shows its bytes before it closes; the close adds only the rest.
 * The tcp iterator sees only the netns it is created in, so the calling thread enters
 * <netns_path> for the length of bpf_iter_create() and comes back. Fills <st> when not
 * NULL. Returns 0 or -errno (-ENOENT: the netns is gone).
 */
int datapath_flush_netns(struct datapath *dp, const char *netns_path,
			 struct datapath_flush_stats *st);

/* Map fds for iteration by callers that dump (weirctl, telemetry). -1 when absent. */
enum datapath_map {
	DP_MAP_NETNS,
	DP_MAP_IPS,
	DP_MAP_SERVICES,
	DP_MAP_WL_INFO,
	DP_MAP_SVC_INFO,
	DP_MAP_EDGES,
	DP_MAP_ORIGDST,
	DP_MAP_DENY,
	DP_MAP_REASONS,
	DP_MAP_MAX
};
int datapath_map_fd(const struct datapath *dp, enum datapath_map which);

#endif /* WEIR_USER_DATAPATH_H */
