// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sk_msg on weir_sockhash: a message sent on a spliced socket goes straight to the
 * peer socket's receive queue when the peer is in the sockhash (same node, both ends
 * enrolled), and is counted on the edge here because TCP never sees it.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/reason.h"
#include "lib/tuple.h"
#include "lib/edge.h"

/*
 * The work of weir_skmsg; returns the reason. The verdict is always SK_PASS.
 *
 * One direction of a connection is spliced whole or not at all. The receiver reads its
 * psock queue (spliced messages) before TCP's receive queue, so a message spliced after
 * one that went through TCP would overtake it. A message goes through TCP when the peer
 * is not in the sockhash yet: on a veth the server's PASSIVE_ESTABLISHED can run after
 * the client's connect() returned and it wrote. So the first miss makes the socket
 * TCP-only for good (sk_msg runs under the socket lock, like sockops: no race on flags).
 */
static __always_inline __u32 skmsg_splice(struct sk_msg_md *msg)
{
	struct weir_tuple peer = {};
	struct weir_sock *sk;
	__u64 size;
	int ret;

	/* Without its state a socket cannot remember a miss: never splice it. */
	if (!msg->sk)
		return WEIR_R_NO_STORAGE;
	sk = bpf_sk_storage_get(&weir_sockstate, msg->sk, 0, 0);
	if (!sk)
		return WEIR_R_NO_STORAGE;
	if (sk->flags & WEIR_SK_TCP_ONLY)
		return WEIR_R_NO_PEER;
	/* The peer's own tuple is ours reversed (port encodings: lib/tuple.h). */
	peer.saddr = msg->remote_ip4;
	peer.daddr = msg->local_ip4;
	peer.sport = tuple_remote_port(msg->remote_port);
	peer.dport = bpf_htons((__u16)msg->local_port);
	/*
	 * A miss returns SK_DROP without setting a redirect; passing then sends the
	 * message through TCP as usual, where the socket's TCP counters see it.
	 */
	if (bpf_msg_redirect_hash(msg, &weir_sockhash, &peer, BPF_F_INGRESS) != SK_PASS) {
		sk->flags |= WEIR_SK_TCP_ONLY;
		return WEIR_R_NO_PEER;
	}
	size = msg->size;
	if (!weir_cfg.sock_count)
		return WEIR_R_SPLICED;
	if (sk->flags & WEIR_SK_ACTIVE)
		ret = edge_add(&sk->edge, size, 0, 0, 0);
	else
		ret = edge_add(&sk->edge, 0, size, 0, 0);
	return reason_of(ret, WEIR_R_SPLICED);
}

SEC("sk_msg")
int weir_skmsg(struct sk_msg_md *msg)
{
	return reason_exit(WEIR_HOOK_SK_MSG, skmsg_splice(msg), SK_PASS);
}
