// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The socket-address hooks: connect4 steers a Service VIP to a backend (kernel path) or
 * to the node agent (agent path), getpeername4 shows the VIP back to the application,
 * getsockopt answers SO_ORIGINAL_DST for the agent's accepted sockets. All fail open.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/reason.h"
#include "lib/lb.h"

/* Socket hooks never refuse a call: 1 lets the syscall go on. */
#define SOCK_PASS 1

/*
 * Rewrites <ctx> to <svc>'s backend chosen by lb_pick() and fills <sk> for the edge.
 * Returns 0 or -WEIR_R_NO_BACKEND (nothing touched).
 */
static __always_inline int sock4_to_backend(struct bpf_sock_addr *ctx, const struct weir_svc *svc,
					    const struct weir_pod *pod, struct weir_sock *sk)
{
	const struct weir_backend *be;
	int i = lb_pick(svc);

	if (i < 0)
		return i;
	/* The verifier needs the index bounded again after the helper's loops. */
	if (i >= WEIR_MAX_BACKENDS)
		return -WEIR_R_NO_BACKEND;
	be = &svc->backends[i];
	ctx->user_ip4 = be->ip;
	ctx->user_port = be->port;
	sk->edge.src_wl = pod->wl_id;
	sk->edge.dst_wl = be->wl_id;
	sk->edge.svc_id = svc->id;
	sk->edge.dport = bpf_ntohs(be->port);
	sk->edge.proto = ctx->protocol;
	sk->edge.path = WEIR_PATH_KERNEL;
	return 0;
}

/* The work of weir_connect4; returns the reason. */
static __always_inline __u32 sock4_connect(struct bpf_sock_addr *ctx)
{
	struct weir_svc_key key = {};
	const struct weir_svc *svc;
	struct weir_pod *pod;
	struct weir_sock *sk;
	__u64 cookie;
	__u32 reason;
	int ret;

	/*
	 * A socket can connect more than once: UDP re-connects, TCP after a failed connect
	 * or a connect(AF_UNSPEC). What an earlier connect left (the VIP getpeername shows,
	 * the agent flag, the edge, the byte ledger that tcp_disconnect() zeroed the counters
	 * under) must not describe this one. TCP runs this hook only in TCP_CLOSE, after
	 * sockops settled the old connection, so nothing is owed any more.
	 */
	sk = bpf_sk_storage_get(&weir_sockstate, ctx->sk, 0, 0);
	if (sk)
		__builtin_memset(sk, 0, sizeof(*sk));
	cookie = bpf_get_netns_cookie(ctx);
	pod = bpf_map_lookup_elem(&weir_netns, &cookie);
	if (!pod)
		return WEIR_R_NOT_ENROLLED;
	if (!decide_l4(ctx->protocol))
		return WEIR_R_NOT_SERVICE;
	key.vip = ctx->user_ip4;
	/* user_port is a u32 whose low 16 bits hold the __be16. */
	key.port = (__be16)ctx->user_port;
	key.proto = ctx->protocol;
	svc = bpf_map_lookup_elem(&weir_services, &key);
	if (!svc)
		return WEIR_R_NOT_SERVICE;

	/* Without storage getpeername and the agent's SO_ORIGINAL_DST would lie: stay out. */
	sk = bpf_sk_storage_get(&weir_sockstate, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!sk)
		return WEIR_R_NO_STORAGE;

	/* decide.h: the same rule weirctl explain predicts with. */
	reason = decide_svc_path(svc->mode, weir_cfg.agent_ip);
	if (reason == WEIR_R_TO_AGENT) {
		ctx->user_ip4 = weir_cfg.agent_ip;
		ctx->user_port = weir_cfg.agent_port;
		sk->edge.src_wl = pod->wl_id;
		sk->edge.dst_wl = WEIR_ID_UNKNOWN;
		sk->edge.svc_id = svc->id;
		sk->edge.dport = bpf_ntohs(key.port);
		sk->edge.proto = key.proto;
		sk->edge.path = WEIR_PATH_AGENT;
		sk->flags = WEIR_SK_REWRITTEN | WEIR_SK_TO_AGENT;
	} else {
		ret = sock4_to_backend(ctx, svc, pod, sk);
		if (ret < 0) {
			/* Fail open: the connect goes to the VIP, as without a mesh. */
			sk->flags = 0;
			return reason_of(ret, WEIR_R_OK);
		}
		sk->flags = WEIR_SK_REWRITTEN;
	}
	sk->orig_ip = key.vip;
	sk->orig_port = key.port;
	sk->svc_id = svc->id;
	return reason;
}

SEC("cgroup/connect4")
int weir_connect4(struct bpf_sock_addr *ctx)
{
	return reason_exit(WEIR_HOOK_CONNECT4, sock4_connect(ctx), SOCK_PASS);
}

SEC("cgroup/getpeername4")
int weir_getpeer4(struct bpf_sock_addr *ctx)
{
	struct weir_sock *sk;

	sk = bpf_sk_storage_get(&weir_sockstate, ctx->sk, 0, 0);
	if (!sk || !(sk->flags & WEIR_SK_REWRITTEN))
		return reason_exit(WEIR_HOOK_GETPEERNAME4, WEIR_R_OK, SOCK_PASS);
	ctx->user_ip4 = sk->orig_ip;
	ctx->user_port = sk->orig_port;
	return reason_exit(WEIR_HOOK_GETPEERNAME4, WEIR_R_PEERNAME, SOCK_PASS);
}

/*
 * Answers SO_ORIGINAL_DST on an accepted socket from weir_origdst, keyed by the tuple as
 * the client sees it. Returns the reason; <ctx> is written only on a hit.
 */
static __always_inline __u32 sock_origdst(struct bpf_sockopt *ctx)
{
	struct sockaddr_in *sin = ctx->optval;
	struct weir_tuple t = {};
	struct weir_origdst *od;
	struct bpf_sock *bsk = ctx->sk;

	if (!bsk || bsk->protocol != IPPROTO_TCP || bsk->family != AF_INET)
		return WEIR_R_OK;
	t.saddr = bsk->dst_ip4;
	t.daddr = bsk->src_ip4;
	t.sport = bsk->dst_port;
	t.dport = bpf_htons((__u16)bsk->src_port);
	od = bpf_map_lookup_elem(&weir_origdst, &t);
	if (!od)
		return WEIR_R_ORIGDST_MISS;
	/* optval is the first min(optlen, PAGE_SIZE) bytes of the caller's buffer. */
	if ((void *)(sin + 1) > ctx->optval_end)
		return WEIR_R_ORIGDST_MISS;
	sin->sin_family = AF_INET;
	sin->sin_port = od->port;
	sin->sin_addr.s_addr = od->ip;
	__builtin_memset(sin->__pad, 0, sizeof(sin->__pad));
	ctx->optlen = sizeof(*sin);
	ctx->retval = 0;
	return WEIR_R_ORIGDST;
}

SEC("cgroup/getsockopt")
int weir_getsockopt(struct bpf_sockopt *ctx)
{
	/*
	 * Every getsockopt of every process in the cgroup passes here: leave anything else
	 * untouched (optlen included, so buffers larger than a page keep the kernel's answer)
	 * and uncounted.
	 */
	if (ctx->level != SOL_IP || ctx->optname != WEIR_SO_ORIGINAL_DST)
		return SOCK_PASS;
	return reason_exit(WEIR_HOOK_GETSOCKOPT, sock_origdst(ctx), SOCK_PASS);
}
