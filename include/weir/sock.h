/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-socket state and the tables that follow a connection across hooks: connect4 to
 * sockops (sk_storage), the client to the agent (SO_ORIGINAL_DST), a same-node client to
 * its server socket (splice handoff), and the sockhash that sk_msg redirects through.
 */
#ifndef WEIR_SOCK_H
#define WEIR_SOCK_H

#include "types.h"
#include "edge.h"

/* A TCP 4-tuple from one socket's point of view: s = this socket, d = its peer. */
struct weir_tuple {
	__be32 saddr; /* local address */
	__be32 daddr; /* peer address */
	__be16 sport; /* local port, network order */
	__be16 dport; /* peer port, network order */
};
WEIR_ASSERT_SIZE(weir_tuple, 12);

/* Value of weir_origdst; key: the client's tuple (client -> agent). */
struct weir_origdst {
	__be32 ip;    /* the address the application connected to (a Service VIP) */
	__u32 svc_id; /* its service id */
	__u32 src_wl; /* the client's workload id */
	__be16 port;  /* the port it connected to, network order */
	__u16 pad;    /* explicit padding, zero */
};
WEIR_ASSERT_SIZE(weir_origdst, 16);

/* weir_sock.flags */
#define WEIR_SK_REWRITTEN (1U << 0) /* connect4 rewrote the destination (orig_* valid) */
#define WEIR_SK_TO_AGENT  (1U << 1) /* ... to the node agent */
#define WEIR_SK_COUNTED	  (1U << 2) /* this socket owes its edge a close */
#define WEIR_SK_ACTIVE	  (1U << 3) /* the client side: its sends are edge.bytes_sent */
#define WEIR_SK_SPLICE	  (1U << 4) /* in weir_sockhash; sk_msg counts what it splices */
#define WEIR_SK_TCP_ONLY                                                                           \
	(1U << 5) /* a message of it went through TCP: never spliced again,                        \
		   * or a spliced one would overtake it at the receiver */

/*
 * Value of weir_sockstate (BPF_MAP_TYPE_SK_STORAGE): one per socket that weir touched.
 * flushed_* are the socket's own payload counters (its view, not the edge's direction)
 * up to which its edge already holds the bytes: the periodic flush of open connections
 * (the tcp iterator) and the close add only what lies beyond them.
 */
struct weir_sock {
	__u64 flushed_sent;	   /* payload bytes this socket sent that its edge holds */
	__u64 flushed_rcvd;	   /* payload bytes this socket received that its edge holds */
	struct weir_edge_key edge; /* the edge this socket's bytes count toward */
	__be32 orig_ip;		   /* destination before connect4 rewrote it */
	__u32 svc_id;		   /* service id of orig_ip:orig_port */
	__u32 flags;		   /* WEIR_SK_* */
	__be16 orig_port;	   /* its port, network order */
	__u16 pad;		   /* explicit padding, zero */
};
WEIR_ASSERT_SIZE(weir_sock, 48);

/*
 * Output of the tcp iterator weir_iter_tcp, which flushes open connections: one byte per
 * counted socket it visited (user space counts them; the program keeps no state).
 */
#define WEIR_FLUSH_SEEN	  's' /* nothing new since the last flush */
#define WEIR_FLUSH_ADDED  'f' /* new payload bytes were added to the edge */
#define WEIR_FLUSH_FAILED 'e' /* the edge could not be had (weir_edges full); retried later */

#endif /* WEIR_SOCK_H */
