/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The single textual source of every weir map and of the config block. bpf/maps.bpf.c
 * defines WEIR_MAPS_DEFINE before including this header and so owns the definitions;
 * every other object sees the same text as extern declarations, which `bpftool gen
 * object` resolves when it links the objects into one.
 */
#ifndef WEIR_BPF_MAPS_H
#define WEIR_BPF_MAPS_H

#include "lib/common.h"

#ifdef WEIR_MAPS_DEFINE
#define WEIR_MAP(name, ...) struct { __VA_ARGS__ } name SEC(".maps")
const volatile struct weir_config weir_cfg = {};
#else
#define WEIR_MAP(name, ...) extern struct { __VA_ARGS__ } name SEC(".maps")
extern const volatile struct weir_config weir_cfg;
#endif

/*
 * Every map is pinned by name under the loader's pin_root_path, so a restarted agent
 * reuses it (counters, socket storage and the sockhash survive the restart).
 */
#define WEIR_PIN __uint(pinning, LIBBPF_PIN_BY_NAME)

/* Enrolled Pods: netns cookie -> Pod. Sockets of other netns are never touched. */
WEIR_MAP(weir_netns,
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEIR_MAX_PODS);
	__type(key, __u64);
	__type(value, struct weir_pod);
	WEIR_PIN;);

/* Every known address (Pods cluster-wide, node agents). */
WEIR_MAP(weir_ips,
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEIR_MAX_IPS);
	__type(key, __be32);
	__type(value, struct weir_ip);
	WEIR_PIN;);

/* Service VIP:port:proto -> mode and backends. Values are 2 KiB: allocate on demand. */
WEIR_MAP(weir_services,
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, WEIR_MAX_SVC_PORTS);
	__type(key, struct weir_svc_key);
	__type(value, struct weir_svc);
	WEIR_PIN;);

/* Workload names, read by user space only: no preallocation. */
WEIR_MAP(weir_wl_info,
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, WEIR_MAX_WORKLOADS);
	__type(key, __u32);
	__type(value, struct weir_wl_info);
	WEIR_PIN;);

/* Service names, read by user space only. */
WEIR_MAP(weir_svc_info,
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, WEIR_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct weir_svc_info);
	WEIR_PIN;);

/* The service graph. Preallocated: BPF inserts from softirq context, never allocates. */
WEIR_MAP(weir_edges,
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEIR_MAX_EDGES);
	__type(key, struct weir_edge_key);
	__type(value, struct weir_edge);
	WEIR_PIN;);

/* Client tuple (client -> agent) -> original destination, for the agent's accept. */
WEIR_MAP(weir_origdst,
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEIR_MAX_ORIGDST);
	__type(key, struct weir_tuple);
	__type(value, struct weir_origdst);
	WEIR_PIN;);

/* Splice handoff: server-view tuple -> the edge the client counts toward. */
WEIR_MAP(weir_peers,
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEIR_MAX_PEERS);
	__type(key, struct weir_tuple);
	__type(value, struct weir_edge_key);
	WEIR_PIN;);

/* Per-socket state from connect4 to close (was weir_socks before the flush ledger). */
WEIR_MAP(weir_sockstate,
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct weir_sock);
	WEIR_PIN;);

/*
 * Spliced sockets by their own tuple. The value is 8 bytes so that user space lookups
 * return the socket cookie (the kernel refuses lookups on 4-byte sockhash values).
 */
WEIR_MAP(weir_sockhash,
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, WEIR_MAX_SOCKS);
	__type(key, struct weir_tuple);
	__type(value, __u64);
	WEIR_PIN;);

/* L3/L4 deny entries. LPM tries must not be preallocated. */
WEIR_MAP(weir_deny,
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, WEIR_MAX_DENY);
	__type(key, struct weir_deny_key);
	__type(value, __u32);
	WEIR_PIN;);

/* Per-hook, per-reason counters: weir_reasons[WEIR_REASON_SLOT(hook, reason)]. */
WEIR_MAP(weir_reasons,
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WEIR_REASON_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	WEIR_PIN;);

#endif /* WEIR_BPF_MAPS_H */
