/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * 4-tuples from the contexts of the socket hooks, in struct weir_tuple's encoding
 * (addresses and ports in network order). The contexts disagree on port encodings:
 *   bpf_sock_ops / sk_msg_md: local_port is host order; remote_port holds the __be16 in
 *     its upper 16 bits on little-endian (the kernel shifts it left by 16), so
 *     bpf_ntohl(remote_port) is the host-order port and (remote_port >> 16) the __be16;
 *   bpf_sock: src_port is host order, dst_port is a __be16.
 */
#ifndef WEIR_BPF_TUPLE_H
#define WEIR_BPF_TUPLE_H

#include "lib/common.h"

/* The __be16 of a sock_ops/sk_msg remote_port field (see the encodings above). */
static __always_inline __be16 tuple_remote_port(__u32 remote_port)
{
	return (__be16)bpf_htons((__u16)bpf_ntohl(remote_port));
}

/* This socket's own tuple from a sock_ops context. */
static __always_inline void tuple_of_sockops(struct weir_tuple *t, const struct bpf_sock_ops *skops)
{
	t->saddr = skops->local_ip4;
	t->daddr = skops->remote_ip4;
	t->sport = bpf_htons((__u16)skops->local_port);
	t->dport = tuple_remote_port(skops->remote_port);
}

/* The tuple as the peer sees it: ends swapped. */
static __always_inline void tuple_reverse(struct weir_tuple *r, const struct weir_tuple *t)
{
	r->saddr = t->daddr;
	r->daddr = t->saddr;
	r->sport = t->dport;
	r->dport = t->sport;
}

#endif /* WEIR_BPF_TUPLE_H */
