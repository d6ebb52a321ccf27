/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The protocol-session contract: an HTTP codec turns the bytes of one connection into
 * message events on streams, and submitted messages into bytes, without doing any I/O
 * itself (sans-IO, as nghttp2 is). HTTP/1.1 (h1.c, on llhttp) and HTTP/2 (h2.c, on nghttp2)
 * implement it, in the server role on downstream connections and in the client role on
 * upstream connections; the proxy's exchange layer (exchange.c) sits between a server
 * codec's stream and a client codec's stream and never knows which wire it talks to.
 *
 *   transport bytes --codec_input()--> events (head, data, trailers, end, reset)
 *   codec_submit_*() --> codec_output() --> transport bytes
 *
 * Streams: HTTP/2 stream ids as they are; HTTP/1.1 numbers its requests 1, 3, 5, ... in
 * arrival order (pipelined requests are parsed, handed up in order, and their responses
 * written in that order: a response submitted early for a later request is held).
 *
 * Flow control: data handed up by an event is the receiver's to account for; the codec
 * stops granting credit (HTTP/2 WINDOW_UPDATE) or stops parsing input (HTTP/1.1) for a
 * stream until codec_consume() says how much the receiver has passed on. So a slow reader
 * on one side never makes the agent buffer without bound on the other.
 */
#ifndef WEIR_PROXY_CODEC_H
#define WEIR_PROXY_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proxy/http.h"

enum codec_role {
	CODEC_SERVER = 0, /* downstream: requests in, responses out */
	CODEC_CLIENT = 1, /* upstream: requests out, responses in */
};

/* Why a stream ended abnormally (HTTP/2 error codes where they exist). */
enum codec_err {
	CODEC_E_NONE = 0,
	CODEC_E_PROTOCOL = 1,	   /* malformed message or framing: 400 / PROTOCOL_ERROR */
	CODEC_E_INTERNAL = 2,	   /* our own failure (memory) */
	CODEC_E_REFUSED = 7,	   /* REFUSED_STREAM: never processed, safe to retry */
	CODEC_E_CANCEL = 8,	   /* the peer gave up on the stream (RST_STREAM CANCEL, or the
				    * HTTP/1 connection closed mid-message) */
	CODEC_E_ENHANCE_CALM = 11, /* abuse limits: resets, flood of frames */
	CODEC_E_HEADER_SIZE = 100, /* head over the limit: 431 (weir's own code) */
};

/* Limits a codec enforces on its peer; 0 in any field means the default given. */
struct codec_limits {
	uint32_t max_header_bytes;	 /* names + values of one head; HTTP_HEAD_MAX_DEFAULT */
	uint32_t max_headers;		 /* header fields per head; 100 */
	uint32_t max_concurrent_streams; /* HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; 100 */
	uint32_t stream_window;		 /* HTTP/2 initial stream window; 65535 */
	uint32_t conn_window;		 /* HTTP/2 connection window; 1 MiB */
	uint32_t max_resets_per_sec;	 /* rapid reset bound (CVE-2023-44487); 200 */
	uint32_t max_control_frames;	 /* queued SETTINGS/PING acks before the peer is cut
					  * off as a flood; 1000 */
	uint32_t max_continuations;	 /* CONTINUATION frames per head (CVE-2024-27316); 16 */
	uint32_t max_pipelined;		 /* HTTP/1.1 requests parsed ahead of their responses; 16 */
};

/*
 * Events a codec raises while codec_input() runs (and only then; the one exception is
 * writable, which may also come from codec_output_done() once output drained), with the
 * <arg> given to codec_new(). <head> and data pointers are valid for the call only. A
 * callback may call codec_submit_*() and codec_reset() on the same codec; it must not free
 * the codec.
 */
struct codec_events {
	/*
	 * A message head on stream <sid>: a request (server role; the stream is new) or a
	 * response (client role; may repeat for 1xx informational heads, with
	 * head->status < 200). <end_stream>: no body follows.
	 */
	void (*head)(void *arg, uint32_t sid, struct http_head *head, bool end_stream);
	/* <len> body bytes of stream <sid>; <end_stream> when they are its last. */
	void (*data)(void *arg, uint32_t sid, const uint8_t *buf, size_t len, bool end_stream);
	/* Trailers end stream <sid> (gRPC's grpc-status comes this way). */
	void (*trailers)(void *arg, uint32_t sid, struct http_head *trailers);
	/* Stream <sid> ended abnormally with <err>; no more events for it. */
	void (*reset)(void *arg, uint32_t sid, enum codec_err err);
	/* Stream <sid> may take more data (send window opened, or output drained). */
	void (*writable)(void *arg, uint32_t sid);
	/*
	 * HTTP/1.1 only: the request on <sid> asked for Upgrade (WebSocket) or CONNECT and the
	 * response accepted it (101, or 2xx to CONNECT): from here the connection's remaining
	 * bytes, both ways, are an opaque stream, handed up as data events and taken by
	 * codec_submit_data(). May be NULL.
	 */
	void (*upgraded)(void *arg, uint32_t sid);
	/* The peer sent GOAWAY (HTTP/2) or Connection: close: no new streams on this codec. */
	void (*goaway)(void *arg);
};

struct codec;

/* The functions one wire protocol provides; see the codec_*() wrappers below. */
struct codec_ops {
	const char *name; /* "http/1.1", "h2" */
	struct codec *(*create)(enum codec_role role, const struct codec_limits *lim,
				const struct codec_events *ev, void *arg);
	void (*destroy)(struct codec *c);
	ssize_t (*input)(struct codec *c, const uint8_t *buf, size_t len);
	size_t (*output)(struct codec *c, const uint8_t **buf);
	void (*output_done)(struct codec *c, size_t n);
	int (*submit_head)(struct codec *c, uint32_t *sid, const struct http_head *head,
			   bool end_stream);
	ssize_t (*submit_data)(struct codec *c, uint32_t sid, const uint8_t *buf, size_t len,
			       bool end_stream);
	int (*submit_trailers)(struct codec *c, uint32_t sid, const struct http_head *trailers);
	int (*reset)(struct codec *c, uint32_t sid, enum codec_err err);
	void (*consume)(struct codec *c, uint32_t sid, size_t n);
	void (*shutdown)(struct codec *c);
	bool (*want_read)(const struct codec *c);
	bool (*done)(const struct codec *c);
	unsigned (*streams)(const struct codec *c);
	bool (*can_open)(const struct codec *c);
	/* May be NULL: the connection has been quiet for a while (see codec_quiet()). */
	int (*quiet)(struct codec *c);
};

/* Every codec starts with this, so the wrappers below find their functions. */
struct codec {
	const struct codec_ops *ops;
	enum codec_role role;
};

extern const struct codec_ops codec_h1; /* h1.c */
extern const struct codec_ops codec_h2; /* h2.c */

/*
 * A codec of <ops> in <role> raising <ev> with <arg>; <lim> may be NULL (defaults).
 * HTTP/2 in the server role expects the client preface; in the client role it queues its
 * own preface and SETTINGS as the first output. Returns NULL and sets errno.
 */
static inline struct codec *codec_new(const struct codec_ops *ops, enum codec_role role,
				      const struct codec_limits *lim, const struct codec_events *ev,
				      void *arg)
{
	return ops->create(role, lim, ev, arg);
}

/* Frees <c> without raising events. Accepts NULL. */
static inline void codec_free(struct codec *c)
{
	if (c)
		c->ops->destroy(c);
}

/*
 * Feeds <len> bytes read from the connection. Returns how many were consumed (fewer than
 * <len> when parsing is paused for flow control or a pipelining bound: feed the rest again
 * after codec_consume()/output), or a negative errno when the connection is beyond saving
 * (a framing error: the codec has queued what the peer should be told, e.g. a 400 or a
 * GOAWAY; write codec_output() out, then close).
 */
static inline ssize_t codec_input(struct codec *c, const uint8_t *buf, size_t len)
{
	return c->ops->input(c, buf, len);
}

/*
 * The bytes waiting to be written, at *<buf>; 0 when none. Stays valid until
 * codec_output_done() or the next call into <c>.
 */
static inline size_t codec_output(struct codec *c, const uint8_t **buf)
{
	return c->ops->output(c, buf);
}

/* <n> bytes of what codec_output() gave were written. */
static inline void codec_output_done(struct codec *c, size_t n)
{
	c->ops->output_done(c, n);
}

/*
 * Submits a message head: a request (client role; opens a stream, its id into *<sid>) or
 * a response to stream *<sid> (server role; 1xx heads may precede the final one).
 * Returns 0, -EAGAIN when no stream can be opened now (HTTP/2 concurrency, HTTP/1.1 busy),
 * -EINVAL for a bad head, -ENOENT for a stream that is gone.
 */
static inline int codec_submit_head(struct codec *c, uint32_t *sid, const struct http_head *head,
				    bool end_stream)
{
	return c->ops->submit_head(c, sid, head, end_stream);
}

/*
 * Submits up to <len> body bytes on <sid>. Returns how many were taken (0 when the stream's
 * send window or the output bound is exhausted: wait for the writable event), or -errno.
 * <end_stream> takes effect only when all <len> bytes were taken.
 */
static inline ssize_t codec_submit_data(struct codec *c, uint32_t sid, const uint8_t *buf,
					size_t len, bool end_stream)
{
	return c->ops->submit_data(c, sid, buf, len, end_stream);
}

/* Ends stream <sid> with trailers. Returns 0 or -errno. */
static inline int codec_submit_trailers(struct codec *c, uint32_t sid,
					const struct http_head *trailers)
{
	return c->ops->submit_trailers(c, sid, trailers);
}

/*
 * Aborts stream <sid> with <err> (HTTP/2 RST_STREAM; HTTP/1.1 has no per-stream reset:
 * the connection is marked to close after what is queued). Returns 0 or -ENOENT.
 */
static inline int codec_reset(struct codec *c, uint32_t sid, enum codec_err err)
{
	return c->ops->reset(c, sid, err);
}

/* The receiver passed <n> bytes of stream <sid>'s data on: credit them back to the peer. */
static inline void codec_consume(struct codec *c, uint32_t sid, size_t n)
{
	c->ops->consume(c, sid, n);
}

/*
 * Graceful end: HTTP/2 GOAWAY (streams in flight finish; a server says it in two steps, a
 * GOAWAY and a PING, then on the ack the final GOAWAY, so that streams the peer sent before
 * it read the first are served); HTTP/1.1 answers the request in flight with Connection:
 * close and takes no more. codec_done() turns true when finished.
 */
static inline void codec_shutdown(struct codec *c)
{
	c->ops->shutdown(c);
}

/* Whether <c> wants more input now (false while paused by flow control or pipelining). */
static inline bool codec_want_read(const struct codec *c)
{
	return c->ops->want_read(c);
}

/* Whether the connection is finished: closed cleanly, or broken; write output, then close. */
static inline bool codec_done(const struct codec *c)
{
	return c->ops->done(c);
}

/* Streams open now. */
static inline unsigned codec_streams(const struct codec *c)
{
	return c->ops->streams(c);
}

/* Client role: whether a new stream can be opened now (idle keep-alive, or HTTP/2 room). */
static inline bool codec_can_open(const struct codec *c)
{
	return c->ops->can_open(c);
}

/*
 * The connection has been quiet for a while (no stream, nothing to write): the codec may
 * give back memory it can rebuild when the peer speaks again (HTTP/2 server: its nghttp2
 * session). Returns 1 when it did now, 2 when it was quiet already, 0 when not now (it may
 * have queued output that must go first: ask again later); every codec_*() keeps working
 * either way.
 */
static inline int codec_quiet(struct codec *c)
{
	return c->ops->quiet ? c->ops->quiet(c) : 0;
}

#endif /* WEIR_PROXY_CODEC_H */
