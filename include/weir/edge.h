/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service graph in the kernel: one counter block per edge (source workload,
 * destination workload, destination service, port, protocol, path). sockops and sk_msg
 * fill kernel-path TCP edges, tc fills non-TCP ones, the agent fills the edges it relays.
 */
#ifndef WEIR_EDGE_H
#define WEIR_EDGE_H

#include "types.h"

/* weir_edge_key.path: who carried (and counts) the flow. */
enum weir_path {
	WEIR_PATH_KERNEL = 0, /* sockets in the kernel fast path (sockops/sk_msg) */
	WEIR_PATH_AGENT = 1,  /* relayed by the node agent; the agent owns these entries */
	WEIR_PATH_TC = 2,     /* packets seen by tc (UDP, ICMP, ...) */
};

/* Key of weir_edges. Fields are host order so that bpftool prints readable numbers. */
struct weir_edge_key {
	__u32 src_wl; /* source workload id; WEIR_ID_UNKNOWN outside the mesh */
	__u32 dst_wl; /* destination workload id; WEIR_ID_UNKNOWN outside the mesh */
	__u32 svc_id; /* destination service id; WEIR_ID_UNKNOWN when addressed directly */
	__u16 dport;  /* destination (backend) port, host order */
	__u8 proto;   /* IPPROTO_* */
	__u8 path;    /* enum weir_path */
};
WEIR_ASSERT_SIZE(weir_edge_key, 16);

/* Value of weir_edges. Updated with atomic adds; never reset (rates are derived). */
struct weir_edge {
	__u64 conns_opened; /* connections established */
	__u64 conns_closed; /* connections closed */
	__s64 conns_active; /* opened minus closed, kept for bpftool readers */
	__u64 bytes_sent;   /* payload bytes source -> destination */
	__u64 bytes_rcvd;   /* payload bytes destination -> source */
	__u64 pkts_sent;    /* packets source -> destination (tc edges only) */
	__u64 pkts_rcvd;    /* packets destination -> source (tc edges only) */
	__u64 srtt_us_sum;  /* sum of smoothed RTTs at close, microseconds */
	__u64 srtt_samples; /* how many RTTs srtt_us_sum holds */
	__u64 last_ns;	    /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last update */
};
WEIR_ASSERT_SIZE(weir_edge, 80);

#endif /* WEIR_EDGE_H */
