/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Why a hook did what it did. Every hook ends in one exit that turns a reason into a
 * verdict and bumps weir_reasons[hook * WEIR_R_MAX + reason]. The X-macro lists are the
 * single source for the enums and for the names weirctl and /metrics print.
 */
#ifndef WEIR_REASON_H
#define WEIR_REASON_H

#include "types.h"

/* X(enum name, metric/CLI name) */
#define WEIR_REASONS(X)                                                                            \
	X(WEIR_R_OK, "ok")		       /* nothing to do, passed through */                 \
	X(WEIR_R_NOT_ENROLLED, "not_enrolled") /* socket's netns is not a mesh Pod */              \
	X(WEIR_R_NOT_SERVICE, "not_service")   /* destination is no Service VIP */                 \
	X(WEIR_R_LB_KERNEL, "lb_kernel")       /* VIP rewritten to a backend */                    \
	X(WEIR_R_TO_AGENT, "to_agent")	       /* VIP rewritten to the node agent */               \
	X(WEIR_R_NO_BACKEND, "no_backend")     /* Service has no healthy backend */                \
	X(WEIR_R_NO_AGENT, "no_agent")	       /* agent path wanted, agent_ip unset */             \
	X(WEIR_R_NO_STORAGE, "no_storage")     /* sk_storage could not be had */                   \
	X(WEIR_R_MAP_FULL, "map_full")	       /* an update failed (map full) */                   \
	X(WEIR_R_COUNTED, "counted")	       /* an edge counter was updated */                   \
	X(WEIR_R_NOT_COUNTED, "not_counted")   /* the other end counts this flow */                \
	X(WEIR_R_SPLICED, "spliced")	       /* sk_msg redirected to the peer */                 \
	X(WEIR_R_NO_PEER, "no_peer")	       /* sk_msg found no local peer */                    \
	X(WEIR_R_ORIGDST, "origdst")	       /* SO_ORIGINAL_DST answered */                      \
	X(WEIR_R_ORIGDST_MISS, "origdst_miss") /* SO_ORIGINAL_DST asked, unknown */                \
	X(WEIR_R_PEERNAME, "peername")	       /* getpeername showed the VIP */                    \
	X(WEIR_R_DENIED, "denied")	       /* an L3/L4 deny entry matched */                   \
	X(WEIR_R_NOT_IPV4, "not_ipv4")	       /* not IPv4: out of scope, passed */                \
	X(WEIR_R_BAD_PACKET, "bad_packet")     /* headers shorter than they claim */

#define WEIR_HOOKS(X)                                                                              \
	X(WEIR_HOOK_CONNECT4, "connect4")                                                          \
	X(WEIR_HOOK_GETPEERNAME4, "getpeername4")                                                  \
	X(WEIR_HOOK_GETSOCKOPT, "getsockopt")                                                      \
	X(WEIR_HOOK_SOCKOPS, "sockops")                                                            \
	X(WEIR_HOOK_SK_MSG, "sk_msg")                                                              \
	X(WEIR_HOOK_TC_EGRESS, "tc_egress")                                                        \
	X(WEIR_HOOK_TC_INGRESS, "tc_ingress")

#define WEIR__ENUM(e, s) e,
enum weir_reason { WEIR_REASONS(WEIR__ENUM) WEIR_R_MAX };
enum weir_hook { WEIR_HOOKS(WEIR__ENUM) WEIR_HOOK_MAX };
#undef WEIR__ENUM

/* Index into weir_reasons (a per-CPU array of __u64). */
#define WEIR_REASON_SLOT(hook, reason) ((hook)*WEIR_R_MAX + (reason))
#define WEIR_REASON_SLOTS	       (WEIR_HOOK_MAX * WEIR_R_MAX)

#endif /* WEIR_REASON_H */
