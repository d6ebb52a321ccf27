/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who is who: enrolled Pods by network-namespace cookie, every known address by IP,
 * and the names behind workload ids. The agent writes all three; the datapath reads
 * them. Ids are stable across agent restarts because the id tables are pinned.
 */
#ifndef WEIR_WORKLOAD_H
#define WEIR_WORKLOAD_H

#include "types.h"

/* weir_pod.flags */
#define WEIR_POD_SPLICE (1U << 0) /* same-node sk_msg splice allowed for this Pod */

/* Value of weir_netns; key: __u64 netns cookie (SO_NETNS_COOKIE of the Pod's netns). */
struct weir_pod {
	__u32 wl_id; /* workload id of the Pod (key of weir_wl_info) */
	__be32 ip;   /* the Pod's IPv4 address */
	__u32 flags; /* WEIR_POD_* */
	__u32 pad;   /* explicit padding, zero */
};
WEIR_ASSERT_SIZE(weir_pod, 16);

/* weir_ip.flags */
#define WEIR_IP_LOCAL (1U << 0) /* an enrolled Pod on this node */
#define WEIR_IP_AGENT (1U << 1) /* a node agent's address: its flows are counted by the agent */
#define WEIR_IP_POD   (1U << 2) /* a mesh Pod on any node: its own side counts its flows */

/* Value of weir_ips; key: __be32 IPv4 address. */
struct weir_ip {
	__u32 wl_id; /* workload id behind the address, WEIR_ID_UNKNOWN for an agent */
	__u32 flags; /* WEIR_IP_* */
};
WEIR_ASSERT_SIZE(weir_ip, 8);

#define WEIR_NS_LEN    64  /* Kubernetes namespaces are DNS labels: at most 63 + NUL */
#define WEIR_NAME_LEN  128 /* object names, truncated past 127 (the id is the identity) */
#define WEIR_LABEL_LEN 64  /* label values: at most 63 + NUL */

/* Value of weir_wl_info; key: __u32 workload id. Names are NUL-terminated. */
struct weir_wl_info {
	char ns[WEIR_NS_LEN];	      /* namespace */
	char name[WEIR_NAME_LEN];     /* workload (Deployment, StatefulSet, ... or bare Pod) */
	char app[WEIR_LABEL_LEN];     /* canonical service (app label), the graph node name */
	char version[WEIR_LABEL_LEN]; /* canonical revision (version label) */
	char sa[WEIR_LABEL_LEN];      /* service account, for the SPIFFE identity */
};
WEIR_ASSERT_SIZE(weir_wl_info, 384);

#endif /* WEIR_WORKLOAD_H */
