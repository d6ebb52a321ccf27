/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The transport layer: one socket of a worker with its events, its non-blocking connect
 * and a transport that moves its bytes. The plain transport is recv/send; the TLS
 * transport (OpenSSL over memory BIOs, next) implements the same four functions, so no
 * session above knows whether its bytes are encrypted. A conn reports readiness to its
 * owner (a session or an upstream connection) and never decides anything itself.
 */
#ifndef WEIR_PROXY_CONN_H
#define WEIR_PROXY_CONN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/types.h>

#include <event2/event_struct.h>

struct px_conn;
struct px_worker;

/* How bytes move over a conn's socket. Functions return what recv/send do, as -errno. */
struct px_transport {
	const char *name;
	/* Up to <len> bytes into <buf>: >0 bytes, 0 at the peer's FIN, -EAGAIN, -errno. */
	ssize_t (*recv)(struct px_conn *c, void *buf, size_t len);
	/* Up to <len> bytes from <buf>: >0 bytes taken, -EAGAIN, -errno. */
	ssize_t (*send)(struct px_conn *c, const void *buf, size_t len);
	/* No more bytes from us (FIN). Returns 0 or -errno. */
	int (*shutdown_wr)(struct px_conn *c);
};

extern const struct px_transport px_tp_plain;

/* What a conn tells its owner. */
struct px_conn_ops {
	/* <c> is readable (EV_READ) and/or writable (EV_WRITE) as asked by conn_want(). */
	void (*io)(void *owner, struct px_conn *c, short what);
	/* The connect started by conn_connect() finished: 0, -ETIMEDOUT or -errno. */
	void (*connected)(void *owner, struct px_conn *c, int err);
};

struct px_conn {
	struct px_worker *w;
	int fd; /* -1 when none */
	const struct px_transport *tp;
	const struct px_conn_ops *ops;
	void *owner;
	short ev_on;	 /* EV_READ|EV_WRITE currently added */
	bool connecting; /* conn_connect() in progress */
	struct event rev, wev, cev;
};

/*
 * Sets <c> up on socket <fd> (may be -1 until conn_connect) of worker <w>, reporting to
 * <ops> with <owner>, over the plain transport.
 */
void conn_init(struct px_conn *c, struct px_worker *w, int fd, const struct px_conn_ops *ops,
	       void *owner);

/*
 * Starts a non-blocking connect of <c> to <dst>, from <src_ip> (network order, 0: any),
 * bounded by <timeout_ms>. Returns 0 (ops->connected follows, possibly from this call's
 * caller's next loop iteration) or -errno at once.
 */
int conn_connect(struct px_conn *c, const struct sockaddr_in *dst, uint32_t src_ip,
		 unsigned timeout_ms);

/* Adds or removes interest in <what> (EV_READ or EV_WRITE), touching libevent on change. */
void conn_want(struct px_conn *c, short what, bool on);

static inline ssize_t conn_recv(struct px_conn *c, void *buf, size_t len)
{
	return c->tp->recv(c, buf, len);
}

static inline ssize_t conn_send(struct px_conn *c, const void *buf, size_t len)
{
	return c->tp->send(c, buf, len);
}

static inline int conn_shutdown_wr(struct px_conn *c)
{
	return c->tp->shutdown_wr(c);
}

/* Closes <c>'s socket (with a reset when <rst>) and drops its events. Idempotent. */
void conn_close(struct px_conn *c, bool rst);

#endif /* WEIR_PROXY_CONN_H */
