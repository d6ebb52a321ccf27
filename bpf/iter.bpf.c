// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The periodic flush of open connections: a tcp iterator that the agent runs in each
 * Pod netns every --flush-interval seconds. For every counted socket it adds the payload
 * bytes its edge does not hold yet, so long-lived connections show their bytes before
 * they close; the close then adds only the rest (lib/payload.h keeps the ledger).
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/edge.h"
#include "lib/payload.h"

/* Flushes one socket; returns its WEIR_FLUSH_* mark, or 0 when it is not weir's to count. */
static __always_inline char iter_flush(struct sock_common *skc)
{
	struct weir_sock *sk;
	struct tcp_sock *tp;
	struct payload p;

	/* Time-wait and request sockets are no full sockets: settled, or not counted yet. */
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	sk = bpf_sk_storage_get(&weir_sockstate, tp, 0, 0);
	if (!sk || !(sk->flags & WEIR_SK_COUNTED))
		return 0;
	payload_pending(sk, tp, &p);
	if (!p.sent && !p.rcvd)
		return WEIR_FLUSH_SEEN;
	/* The ledger moves only once the edge holds the bytes: a failure is retried. */
	if (edge_add(&sk->edge, p.sent, p.rcvd, 0, 0))
		return WEIR_FLUSH_FAILED;
	payload_commit(sk, &p);
	return WEIR_FLUSH_ADDED;
}

SEC("iter/tcp")
int weir_iter_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	char mark;

	/* The last call of a read has no socket (bpf_iter_tcp_seq_stop). */
	if (!skc)
		return 0;
	mark = iter_flush(skc);
	if (mark)
		bpf_seq_write(ctx->meta->seq, &mark, sizeof(mark));
	return 0;
}
