/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The payload bytes of a counted TCP socket, read from the socket's own counters, and the
 * ledger of how many of them its edge already holds. sockops at close and the tcp
 * iterator that flushes open connections share these two steps, so the total an edge
 * receives over a connection's life (flushes plus the close) is the same formula once.
 */
#ifndef WEIR_BPF_PAYLOAD_H
#define WEIR_BPF_PAYLOAD_H

#include "lib/common.h"

/* What a socket owes its edge now, in the edge's direction, and what it will have paid. */
struct payload {
	__u64 sent;	  /* bytes source -> destination not yet added to the edge */
	__u64 rcvd;	  /* bytes destination -> source not yet added to the edge */
	__u64 total_sent; /* the socket's own sends so far (for weir_sock.flushed_sent) */
	__u64 total_rcvd; /* the socket's own receives so far (for weir_sock.flushed_rcvd) */
};

/*
 * Payload bytes <tp> has sent and received so far. bytes_sent counts retransmissions, so
 * they are taken off; bytes_received counts the FIN's sequence number once a FIN arrived,
 * so one is taken off then. "A FIN arrived" is SOCK_DONE, which only tcp_fin() sets;
 * RCV_SHUTDOWN would not do, because close() itself sets SHUTDOWN_MASK before the state
 * change (an RST close or an orphan that reaches FIN_WAIT2 before the peer's FIN would
 * lose a byte; verified on 6.18).
 */
static __always_inline void payload_read(struct tcp_sock *tp, __u64 *sent, __u64 *rcvd)
{
	*sent = tp->bytes_sent - tp->bytes_retrans;
	*rcvd = tp->bytes_received;
	if ((tp->inet_conn.icsk_inet.sk.__sk_common.skc_flags & (1UL << SOCK_DONE)) && *rcvd)
		(*rcvd)--;
}

/*
 * Fills <p> with what <tp> (whose weir state is <sk>) owes its edge beyond what earlier
 * flushes added. The caller holds the socket lock (sockops runs under it; the tcp
 * iterator takes lock_sock() for full sockets, bpf_iter_tcp_seq_show() on 6.18), so
 * the counters and the ledger cannot move in between. The counters only grow under
 * that lock; the clamps merely keep a surprise from wrapping to 2^64.
 */
static __always_inline void payload_pending(const struct weir_sock *sk, struct tcp_sock *tp,
					    struct payload *p)
{
	__u64 s, r, ds, dr;

	payload_read(tp, &s, &r);
	ds = s > sk->flushed_sent ? s - sk->flushed_sent : 0;
	dr = r > sk->flushed_rcvd ? r - sk->flushed_rcvd : 0;
	p->total_sent = s > sk->flushed_sent ? s : sk->flushed_sent;
	p->total_rcvd = r > sk->flushed_rcvd ? r : sk->flushed_rcvd;
	/* The passive side's sends are the edge's received bytes. */
	if (sk->flags & WEIR_SK_ACTIVE) {
		p->sent = ds;
		p->rcvd = dr;
	} else {
		p->sent = dr;
		p->rcvd = ds;
	}
}

/* Records in <sk> that the edge now holds what payload_pending() put in <p>. */
static __always_inline void payload_commit(struct weir_sock *sk, const struct payload *p)
{
	sk->flushed_sent = p->total_sent;
	sk->flushed_rcvd = p->total_rcvd;
}

#endif /* WEIR_BPF_PAYLOAD_H */
