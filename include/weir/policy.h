/* SPDX-License-Identifier: Apache-2.0 */
/*
 * L3/L4 deny entries enforced by tc on Pod veths. An LPM trie over (workload,
 * direction, protocol, port, remote prefix): tc looks up the exact port, then port 0
 * ("any port"). A match drops the packet; so does nothing else (policy fails closed
 * only on a match it cannot evaluate, which a parsed IPv4 packet never is).
 */
#ifndef WEIR_POLICY_H
#define WEIR_POLICY_H

#include "types.h"

/* weir_deny_key.dir, from the Pod's point of view. */
enum weir_dir {
	WEIR_DIR_EGRESS = 0,  /* leaving the Pod; remote = destination */
	WEIR_DIR_INGRESS = 1, /* entering the Pod; remote = source */
};

/* Bits of weir_deny_key before the remote address: wl_id, dir, proto, port. */
#define WEIR_DENY_FIXED_BITS 64

/* Key of weir_deny (LPM trie). Value: __u32 rule id, for the counters and weirctl. */
struct weir_deny_key {
	__u32 prefixlen; /* WEIR_DENY_FIXED_BITS + remote prefix length (0..32) */
	__u32 wl_id;	 /* the local workload the entry protects */
	__u8 dir;	 /* enum weir_dir */
	__u8 proto;	 /* IPPROTO_*; matched exactly */
	__be16 port;	 /* remote port on egress, local port on ingress; 0 = any */
	__be32 remote;	 /* remote address (prefix) */
};
WEIR_ASSERT_SIZE(weir_deny_key, 16);

#endif /* WEIR_POLICY_H */
