/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Services as the datapath sees them: one entry per VIP:port:protocol holding its mode
 * and its whole backend list, so that connect4 decides with a single lookup and the
 * agent changes a Service (or a backend's health) with one atomic map update.
 */
#ifndef WEIR_SERVICE_H
#define WEIR_SERVICE_H

#include "types.h"

/* Backends one Service port can hold; the agent logs and drops the rest. */
#define WEIR_MAX_BACKENDS 128

/* weir_svc.mode: where connect() to this VIP goes. */
enum weir_mode {
	WEIR_MODE_KERNEL = 0, /* rewritten to a backend at connect(): no agent in the path */
	WEIR_MODE_AGENT = 1, /* rewritten to the node agent, which relays (L4 now, L7/mTLS later) */
};

/* weir_backend.flags */
#define WEIR_BE_UNHEALTHY (1U << 0) /* the agent's health checks failed: never picked */

/* Key of weir_services. */
struct weir_svc_key {
	__be32 vip;  /* Service ClusterIP */
	__be16 port; /* Service port, network order */
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;    /* explicit padding, zero */
};
WEIR_ASSERT_SIZE(weir_svc_key, 8);

struct weir_backend {
	__be32 ip;    /* backend Pod address */
	__u32 wl_id;  /* its workload id */
	__u32 flags;  /* WEIR_BE_* */
	__be16 port;  /* target port, network order */
	__u16 weight; /* relative weight; 0 drains the backend */
};
WEIR_ASSERT_SIZE(weir_backend, 16);

/* Value of weir_services. */
struct weir_svc {
	__u32 id;    /* service id (key of weir_svc_info), stable across restarts */
	__u16 mode;  /* enum weir_mode */
	__u16 count; /* backends[0..count) are in use */
	__u32 flags; /* reserved, zero */
	__u32 pad;   /* explicit padding, zero */
	struct weir_backend backends[WEIR_MAX_BACKENDS]; /* the endpoints behind this port */
};
WEIR_ASSERT_SIZE(weir_svc, 16 + 16 * WEIR_MAX_BACKENDS);

/* Value of weir_svc_info; key: __u32 service id. */
struct weir_svc_info {
	char ns[64];	/* namespace */
	char name[128]; /* Service name */
};
WEIR_ASSERT_SIZE(weir_svc_info, 192);

#endif /* WEIR_SERVICE_H */
