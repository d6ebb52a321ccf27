/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names and sizes of everything weir pins under --bpffs-dir (default /sys/fs/bpf/weir).
 * Map names are at most 15 characters (the kernel truncates the rest); a layout change
 * takes a new name, so an old pin is never read with a new layout.
 */
#ifndef WEIR_MAPS_H
#define WEIR_MAPS_H

#define WEIR_BPFFS_DEFAULT "/sys/fs/bpf/weir"

#define WEIR_MAX_PODS	   16384 /* weir_netns: enrolled Pods on one node */
#define WEIR_MAX_IPS	   65536 /* weir_ips: Pod and agent addresses cluster-wide */
#define WEIR_MAX_WORKLOADS 16384 /* weir_wl_info */
#define WEIR_MAX_SVC_PORTS 16384 /* weir_services: VIP:port:proto entries */
#define WEIR_MAX_SERVICES  16384 /* weir_svc_info */
#define WEIR_MAX_EDGES	   65536 /* weir_edges */
#define WEIR_MAX_ORIGDST   65536 /* weir_origdst (LRU) */
#define WEIR_MAX_PEERS	   16384 /* weir_peers (LRU): splice handoffs in flight */
#define WEIR_MAX_SOCKS	   65536 /* weir_sockhash */
#define WEIR_MAX_DENY	   16384 /* weir_deny */

/* The pinned links of the cgroup hooks, next to the maps. */
#define WEIR_LINK_CONNECT4    "link_connect4"
#define WEIR_LINK_GETPEERNAME "link_getpeername4"
#define WEIR_LINK_GETSOCKOPT  "link_getsockopt"
#define WEIR_LINK_SOCKOPS     "link_sockops"

/* tc filters weir installs on Pod veths (host side): handle and priority. */
#define WEIR_TC_HANDLE 0x3e1 /* "weir" */
#define WEIR_TC_PRIO   0x3e1

/* Ports of the node agent (DESIGN.md section 1). */
#define WEIR_PORT_OUTBOUND 15001
#define WEIR_PORT_INBOUND  15008
#define WEIR_PORT_ADMIN	   15000
#define WEIR_PORT_METRICS  15020
#define WEIR_PORT_HEALTH   15021

/* SO_ORIGINAL_DST as netfilter defines it (linux/netfilter_ipv4.h), without netfilter. */
#define WEIR_SO_ORIGINAL_DST 80

#endif /* WEIR_MAPS_H */
