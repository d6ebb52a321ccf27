// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sockops: follows TCP connections of enrolled Pods. Writes the agent's original
 * destination before the SYN leaves, counts kernel-path edges from establishment to
 * close with the socket's own TCP counters, and puts same-node pairs into the sockhash
 * so that sk_msg can splice them.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/reason.h"
#include "lib/tuple.h"
#include "lib/edge.h"
#include "lib/payload.h"

#define SOCKOPS_OK 1

/* The Pod of the socket's netns, or NULL when it is not enrolled. */
static __always_inline struct weir_pod *sockops_pod(struct bpf_sock_ops *skops)
{
	__u64 cookie = bpf_get_netns_cookie(skops);

	return bpf_map_lookup_elem(&weir_netns, &cookie);
}

/* Asks for this socket's state changes, so that sockops_close() sees its TCP_CLOSE. */
static __always_inline void sockops_follow_close(struct bpf_sock_ops *skops)
{
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
}

/*
 * weir_origdst lives from the client's SYN until the agent's accepted socket closes. The
 * client's close would be too early: a client that writes and closes at once is settled
 * (its orphan goes to time-wait) as soon as the agent's kernel acks the FIN, before the
 * agent's accept() asks for the original destination. So the agent's side deletes it,
 * and the client only when its handshake never completed (no agent socket will).
 */

/* Is this socket the agent's end of a relayed connection (local = the agent's address)? */
static __always_inline bool sockops_agent_side(const struct bpf_sock_ops *skops)
{
	return weir_cfg.agent_ip && skops->local_ip4 == weir_cfg.agent_ip &&
	       bpf_htons((__u16)skops->local_port) == weir_cfg.agent_port;
}

/* The agent's socket closed: its client's original destination is no longer needed. */
static __always_inline void sockops_agent_close(struct bpf_sock_ops *skops)
{
	struct weir_tuple t = {}, peer;

	tuple_of_sockops(&t, skops);
	tuple_reverse(&peer, &t);
	bpf_map_delete_elem(&weir_origdst, &peer);
}

/* TCP_CONNECT_CB: the agent's accept must find weir_origdst, so write it before the SYN. */
static __always_inline int sockops_connect(struct bpf_sock_ops *skops, struct bpf_sock *bsk)
{
	struct weir_origdst od = {};
	struct weir_tuple t = {};
	struct weir_sock *sk;

	sk = bpf_sk_storage_get(&weir_sockstate, bsk, 0, 0);
	if (!sk || !(sk->flags & WEIR_SK_TO_AGENT))
		return -WEIR_R_OK;
	tuple_of_sockops(&t, skops);
	od.ip = sk->orig_ip;
	od.port = sk->orig_port;
	od.svc_id = sk->svc_id;
	od.src_wl = sk->edge.src_wl;
	if (bpf_map_update_elem(&weir_origdst, &t, &od, BPF_ANY))
		return -WEIR_R_MAP_FULL;
	/* A refused or aborted handshake must see its close to take the entry back. */
	sockops_follow_close(skops);
	return WEIR_R_TO_AGENT;
}

/*
 * Same-node splice, client side: both Pods allow it and the peer is a local Pod. The
 * client registers itself and leaves the edge for the server's PASSIVE_ESTABLISHED.
 */
static __always_inline void sockops_splice_client(struct bpf_sock_ops *skops,
						  const struct weir_pod *pod, struct weir_sock *sk,
						  const struct weir_tuple *t)
{
	struct weir_tuple peer;
	struct weir_ip *rip;

	if (!weir_cfg.splice || !(pod->flags & WEIR_POD_SPLICE))
		return;
	rip = bpf_map_lookup_elem(&weir_ips, &t->daddr);
	if (!rip || !(rip->flags & WEIR_IP_LOCAL))
		return;
	tuple_reverse(&peer, t);
	if (bpf_map_update_elem(&weir_peers, &peer, &sk->edge, BPF_ANY))
		return;
	if (bpf_sock_hash_update(skops, &weir_sockhash, (void *)t, BPF_ANY))
		return;
	sk->flags |= WEIR_SK_SPLICE;
}

/* ACTIVE_ESTABLISHED: the client side of a connection of an enrolled Pod. */
static __always_inline int sockops_active(struct bpf_sock_ops *skops, struct bpf_sock *bsk,
					  const struct weir_pod *pod)
{
	struct weir_tuple t = {};
	struct weir_sock *sk;
	struct weir_ip *rip;
	int ret;

	sk = bpf_sk_storage_get(&weir_sockstate, bsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!sk)
		return -WEIR_R_NO_STORAGE;
	if (sk->flags & WEIR_SK_TO_AGENT)
		return -WEIR_R_NOT_COUNTED; /* the agent counts the flows it relays */
	if (!weir_cfg.sock_count && !weir_cfg.splice)
		return -WEIR_R_OK;
	tuple_of_sockops(&t, skops);
	if (!(sk->flags & WEIR_SK_REWRITTEN)) {
		/* Addressed directly (pod-to-pod or outside the mesh): no service. */
		rip = bpf_map_lookup_elem(&weir_ips, &t.daddr);
		sk->edge.src_wl = pod->wl_id;
		sk->edge.dst_wl = rip ? rip->wl_id : WEIR_ID_UNKNOWN;
		sk->edge.svc_id = WEIR_ID_UNKNOWN;
		sk->edge.dport = bpf_ntohs(t.dport);
		sk->edge.proto = IPPROTO_TCP;
		sk->edge.path = WEIR_PATH_KERNEL;
	}
	sk->flags |= WEIR_SK_ACTIVE;
	sockops_splice_client(skops, pod, sk, &t);
	if (!weir_cfg.sock_count)
		return -WEIR_R_NOT_COUNTED;
	ret = edge_open(&sk->edge);
	if (ret < 0)
		return ret;
	sk->flags |= WEIR_SK_COUNTED;
	return WEIR_R_COUNTED;
}

/* PASSIVE_ESTABLISHED: the server side (an accepted socket) in an enrolled Pod. */
static __always_inline int sockops_passive(struct bpf_sock_ops *skops, struct bpf_sock *bsk,
					   const struct weir_pod *pod)
{
	struct weir_edge_key *peer_edge;
	struct weir_tuple t = {};
	struct weir_sock *sk;
	struct weir_ip *rip;
	int ret;

	tuple_of_sockops(&t, skops);
	peer_edge = bpf_map_lookup_elem(&weir_peers, &t);
	if (peer_edge) {
		sk = bpf_sk_storage_get(&weir_sockstate, bsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!sk)
			return -WEIR_R_NO_STORAGE;
		sk->edge = *peer_edge;
		bpf_map_delete_elem(&weir_peers, &t);
		if (!(pod->flags & WEIR_POD_SPLICE))
			return -WEIR_R_NOT_COUNTED;
		if (bpf_sock_hash_update(skops, &weir_sockhash, &t, BPF_ANY))
			return -WEIR_R_MAP_FULL;
		sk->flags |= WEIR_SK_SPLICE;
		return -WEIR_R_NOT_COUNTED; /* the client owns the edge's connection count */
	}
	rip = bpf_map_lookup_elem(&weir_ips, &t.daddr);
	if (rip && (rip->flags & (WEIR_IP_POD | WEIR_IP_LOCAL | WEIR_IP_AGENT)))
		return -WEIR_R_NOT_COUNTED; /* the mesh client or the agent counts it */
	if (!weir_cfg.sock_count)
		return -WEIR_R_OK;
	sk = bpf_sk_storage_get(&weir_sockstate, bsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!sk)
		return -WEIR_R_NO_STORAGE;
	sk->edge.src_wl = WEIR_ID_UNKNOWN;
	sk->edge.dst_wl = pod->wl_id;
	sk->edge.svc_id = WEIR_ID_UNKNOWN;
	sk->edge.dport = bpf_ntohs(t.sport);
	sk->edge.proto = IPPROTO_TCP;
	sk->edge.path = WEIR_PATH_KERNEL;
	ret = edge_open(&sk->edge);
	if (ret < 0)
		return ret;
	sk->flags |= WEIR_SK_COUNTED;
	return WEIR_R_COUNTED;
}

/*
 * TCP_CLOSE: settle the socket's edge once, adding the payload bytes that the periodic
 * flushes (iter.bpf.c) have not added yet (lib/payload.h has the formula).
 */
static __always_inline int sockops_close(struct bpf_sock_ops *skops, struct bpf_sock *bsk)
{
	struct weir_tuple t = {};
	struct payload p;
	struct weir_sock *sk;
	struct tcp_sock *tp;

	if (sockops_agent_side(skops))
		sockops_agent_close(skops);
	sk = bpf_sk_storage_get(&weir_sockstate, bsk, 0, 0);
	if (!sk)
		return -WEIR_R_OK;
	if (sk->flags & WEIR_SK_TO_AGENT) {
		/* args[0] is the old state; established ones are the agent side's to delete. */
		if (skops->args[0] == BPF_TCP_SYN_SENT) {
			tuple_of_sockops(&t, skops);
			bpf_map_delete_elem(&weir_origdst, &t);
		}
		return -WEIR_R_NOT_COUNTED;
	}
	if (!(sk->flags & WEIR_SK_COUNTED))
		return -WEIR_R_NOT_COUNTED;
	sk->flags &= ~WEIR_SK_COUNTED;
	tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp)
		return edge_close(&sk->edge, 0, 0, 0) ?: WEIR_R_COUNTED;
	payload_pending(sk, tp, &p);
	payload_commit(sk, &p);
	return edge_close(&sk->edge, p.sent, p.rcvd, tp->srtt_us >> 3) ?: WEIR_R_COUNTED;
}

/* The work of weir_sockops; returns >= 0 (a reason) or -WEIR_R_*. */
static __always_inline int sockops_run(struct bpf_sock_ops *skops)
{
	struct bpf_sock *bsk = skops->sk;
	struct weir_pod *pod;

	/*
	 * Read skops->sk once and keep it in a register: clang otherwise reloads the field
	 * after the NULL check and the verifier sees sock_or_null again (clang 14, 6.18).
	 */
	barrier_var(bsk);
	if (!bsk)
		return -WEIR_R_OK;
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		return sockops_connect(skops, bsk);
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		if (skops->family != AF_INET)
			return -WEIR_R_OK;
		/* The agent is no enrolled Pod: its side is followed for sockops_agent_close(). */
		if (skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB && sockops_agent_side(skops))
			sockops_follow_close(skops);
		pod = sockops_pod(skops);
		if (!pod)
			return -WEIR_R_NOT_ENROLLED;
		/* Loopback never leaves the Pod: no edge, where both ends would count one. */
		if ((bpf_ntohl(skops->remote_ip4) >> 24) == 127)
			return -WEIR_R_NOT_COUNTED;
		sockops_follow_close(skops);
		if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
			return sockops_active(skops, bsk, pod);
		return sockops_passive(skops, bsk, pod);
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] != BPF_TCP_CLOSE)
			return -WEIR_R_OK;
		return sockops_close(skops, bsk);
	default:
		return -WEIR_R_OK;
	}
}

SEC("sockops")
int weir_sockops(struct bpf_sock_ops *skops)
{
	int ret = sockops_run(skops);

	return reason_exit(WEIR_HOOK_SOCKOPS, ret < 0 ? (__u32)-ret : (__u32)ret, SOCKOPS_OK);
}
