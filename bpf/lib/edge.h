/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Edge accounting shared by sockops, sk_msg and tc: find-or-create an entry of
 * weir_edges and add to it with atomic adds (several CPUs update one edge at once).
 */
#ifndef WEIR_BPF_EDGE_H
#define WEIR_BPF_EDGE_H

#include "lib/common.h"
#include "lib/maps.h"

/*
 * Returns the counters of <key>, creating a zeroed entry when missing. Two CPUs may
 * create the same edge at once: BPF_NOEXIST lets one win and both then use the winner's
 * entry. Returns NULL only when the map is full.
 */
static __always_inline struct weir_edge *edge_get(const struct weir_edge_key *key)
{
	struct weir_edge zero = {};
	struct weir_edge *e;

	e = bpf_map_lookup_elem(&weir_edges, key);
	if (e)
		return e;
	bpf_map_update_elem(&weir_edges, key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&weir_edges, key);
}

/* A connection of <key> was established. Returns 0 or -WEIR_R_MAP_FULL. */
static __always_inline int edge_open(const struct weir_edge_key *key)
{
	struct weir_edge *e = edge_get(key);

	if (!e)
		return -WEIR_R_MAP_FULL;
	__sync_fetch_and_add(&e->conns_opened, 1);
	__sync_fetch_and_add(&e->conns_active, 1);
	e->last_ns = bpf_ktime_get_ns();
	return 0;
}

/*
 * Adds <sent> and <rcvd> payload bytes, <pkts_sent> and <pkts_rcvd> packets to <key>.
 * Returns 0 or -WEIR_R_MAP_FULL.
 */
static __always_inline int edge_add(const struct weir_edge_key *key, __u64 sent, __u64 rcvd,
				    __u64 pkts_sent, __u64 pkts_rcvd)
{
	struct weir_edge *e = edge_get(key);

	if (!e)
		return -WEIR_R_MAP_FULL;
	if (sent)
		__sync_fetch_and_add(&e->bytes_sent, sent);
	if (rcvd)
		__sync_fetch_and_add(&e->bytes_rcvd, rcvd);
	if (pkts_sent)
		__sync_fetch_and_add(&e->pkts_sent, pkts_sent);
	if (pkts_rcvd)
		__sync_fetch_and_add(&e->pkts_rcvd, pkts_rcvd);
	e->last_ns = bpf_ktime_get_ns();
	return 0;
}

/*
 * A connection of <key> closed after <sent>/<rcvd> payload bytes in the edge's
 * direction, with smoothed RTT <srtt_us> (0: no sample). Returns 0 or -WEIR_R_MAP_FULL.
 */
static __always_inline int edge_close(const struct weir_edge_key *key, __u64 sent, __u64 rcvd,
				      __u32 srtt_us)
{
	struct weir_edge *e = edge_get(key);

	if (!e)
		return -WEIR_R_MAP_FULL;
	__sync_fetch_and_add(&e->conns_closed, 1);
	__sync_fetch_and_add(&e->conns_active, -1);
	if (sent)
		__sync_fetch_and_add(&e->bytes_sent, sent);
	if (rcvd)
		__sync_fetch_and_add(&e->bytes_rcvd, rcvd);
	if (srtt_us) {
		__sync_fetch_and_add(&e->srtt_us_sum, srtt_us);
		__sync_fetch_and_add(&e->srtt_samples, 1);
	}
	e->last_ns = bpf_ktime_get_ns();
	return 0;
}

#endif /* WEIR_BPF_EDGE_H */
