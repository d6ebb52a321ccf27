/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The upstream pool: one per worker, the HTTP connections from this worker to backends,
 * keyed by endpoint (ip:port) and wire protocol (HTTP/1.1 or HTTP/2). An HTTP/1.1
 * connection carries one request at a time and is kept alive between them; an HTTP/2
 * connection carries up to its peer's concurrency limit at once. A request asks for a
 * stream (upstream_acquire), is told when it may send (ready), sends its request and gets
 * the response as events, then lets go (upstream_release). Circuit-breaker limits of the
 * cluster (maxConnections, pending requests) are checked by the caller, which knows the
 * cluster; the pool counts what it holds per endpoint.
 */
#ifndef WEIR_PROXY_UPSTREAM_H
#define WEIR_PROXY_UPSTREAM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proxy/codec.h"
#include "proxy/worker.h"

struct upstream_pool;
struct upstream_conn;

/* Events an upstream stream raises to its requester (an exchange). */
struct upstream_ops {
	/* A stream can be opened now: submit the request head. */
	void (*ready)(void *arg);
	/* No stream could be had: connect failed (-ECONNREFUSED, -ETIMEDOUT...) or the
	 * connection broke before the request could be sent (-ECONNRESET). */
	void (*failed)(void *arg, int err);
	/* The response: the same meaning as the codec events of codec.h. */
	void (*head)(void *arg, struct http_head *head, bool end_stream);
	void (*data)(void *arg, const uint8_t *buf, size_t len, bool end_stream);
	void (*trailers)(void *arg, struct http_head *trailers);
	void (*reset)(void *arg, enum codec_err err);
	void (*writable)(void *arg);
};

/* A requester's handle on an upstream stream (the requester's storage). */
struct upstream_req {
	struct px_list link;	  /* on its connection's waiting or active list */
	struct upstream_conn *uc; /* NULL when not attached */
	uint32_t sid;		  /* stream id once the head was submitted, else 0 */
	bool reused;		  /* the connection had served a request before */
	const struct upstream_ops *ops;
	void *arg;
};

/* A pool for worker <w>. NULL and errno on failure. */
struct upstream_pool *upstream_pool_new(struct px_worker *w);

/* Closes every connection (requests still attached get `failed` or `reset`) and frees. */
void upstream_pool_free(struct upstream_pool *p);

/* Closes connections idle longer than the relay's idle timeout. */
void upstream_pool_tick(struct upstream_pool *p, uint64_t now_ms);

/* How connections made for a request behave (its cluster's connectionPool); 0: defaults. */
struct upstream_conf {
	unsigned connect_timeout_ms; /* tcp.connectTimeout; 0: the relay's */
	unsigned max_requests;	     /* http.maxRequestsPerConnection; 0: unlimited */
	unsigned idle_ms;	     /* http.idleTimeout; 0: the relay's idle timeout */
};

/*
 * Asks for a stream to <ep> over HTTP/2 when <h2>, else HTTP/1.1, on a connection that
 * behaves as <conf> says (may be NULL) when a new one is needed. <req> (caller's storage,
 * set up by upstream_req_init) gets `ready` or `failed` later, never from inside this call.
 * Returns 0 or -errno.
 */
int upstream_acquire(struct upstream_pool *p, struct upstream_req *req,
		     const struct sockaddr_in *ep, bool h2, const struct upstream_conf *conf);

/* Prepares <req> to raise <ops> with <arg>. */
void upstream_req_init(struct upstream_req *req, const struct upstream_ops *ops, void *arg);

/* After `ready`: the request head (opens the stream). Returns 0 or -errno. */
int upstream_submit_head(struct upstream_req *req, const struct http_head *head, bool end_stream);

/* Body bytes; returns how many were taken (0: wait for `writable`) or -errno. */
ssize_t upstream_submit_data(struct upstream_req *req, const uint8_t *buf, size_t len,
			     bool end_stream);

/* Request trailers. Returns 0 or -errno. */
int upstream_submit_trailers(struct upstream_req *req, const struct http_head *trailers);

/* The requester passed <n> response bytes on: credit them back upstream. */
void upstream_consume(struct upstream_req *req, size_t n);

/*
 * Lets go of <req>'s stream: when the exchange finished cleanly (<reset> false) an HTTP/1.1
 * connection returns to the idle list; otherwise the stream is reset (HTTP/1.1: the
 * connection closes). No event for <req> follows. Accepts a detached <req>.
 */
void upstream_release(struct upstream_req *req, bool reset);

#endif /* WEIR_PROXY_UPSTREAM_H */
