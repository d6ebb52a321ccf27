// SPDX-License-Identifier: Apache-2.0
/*
 * The downstream HTTP session: one accepted connection from a Pod, its server codec
 * (HTTP/1.1, or HTTP/2 when the client opens with the h2c preface) and the exchanges of
 * its request streams. The session only moves bytes and hands events to exchanges; every
 * decision about a request is the exchange's (exchange.c).
 *
 * The protocol is chosen from the first bytes: the 24-byte HTTP/2 preface means h2c prior
 * knowledge, anything else is parsed as HTTP/1.1 (an HTTP port accepts both, as Istio's).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "proxy/cio.h"
#include "proxy/hsession.h"

#define H2_PREFACE     "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
/*
 * How long a draining HTTP/1.1 connection with no request in flight waits for its next
 * request before it closes. Closing at once loses the request a keep-alive client sent
 * as the drain began (it cannot know it should not have): waiting lets that request be
 * answered with Connection: close, after which the client reconnects to the successor.
 */
#define HS_DRAIN_IDLE_MS 1000

struct hsession {
	struct px_session s;
	struct cio io;
	struct hsession_dest dest;
	struct px_list exchanges; /* struct exchange, by their first member */
	struct event kick;
	struct event drain_idle; /* HS_DRAIN_IDLE_MS after the drain of an idle h1 session */
	bool draining;
	bool shut;    /* codec_shutdown() called */
	bool closing; /* close once the output is written */
	bool in_io;   /* inside hs_io: no freeing from below */
	bool dead;
};

struct codec *hsession_codec(struct hsession *hs)
{
	return hs->io.codec;
}

struct px_worker *hsession_worker(struct hsession *hs)
{
	return hs->s.w;
}

const struct hsession_dest *hsession_dest(struct hsession *hs)
{
	return &hs->dest;
}

bool hsession_is_h2(struct hsession *hs)
{
	return hs->io.codec && hs->io.codec->ops == &codec_h2;
}

void hsession_kick(struct hsession *hs)
{
	if (!hs->dead)
		event_active(&hs->kick, EV_WRITE, 0);
}

/* Exchanges start with a px_list link, so the session's list holds them directly. */
static struct exchange *hs_find(struct hsession *hs, uint32_t sid)
{
	for (struct px_list *l = hs->exchanges.next; l != &hs->exchanges; l = l->next)
		if (exchange_sid((struct exchange *)l) == sid)
			return (struct exchange *)l;
	return NULL;
}

void hsession_forget(struct hsession *hs, struct exchange *ex)
{
	px_list_del((struct px_list *)ex);
	hsession_kick(hs);
}

void hsession_consume(struct hsession *hs, uint32_t sid, size_t n)
{
	if (hs->dead || !hs->io.codec || !n)
		return;
	codec_consume(hs->io.codec, sid, n);
	hsession_kick(hs); /* paused input may go on, WINDOW_UPDATE goes out */
}

/* Graceful end of the codec, once. */
static void hs_shutdown(struct hsession *hs)
{
	if (hs->shut || !hs->io.codec)
		return;
	hs->shut = true;
	event_del(&hs->drain_idle);
	codec_shutdown(hs->io.codec);
}

/* ---- codec events ---- */

static void ev_head(void *arg, uint32_t sid, struct http_head *head, bool end_stream)
{
	struct hsession *hs = arg;
	struct exchange *ex;

	/* Draining still serves what arrives: shut down now, this is the last request of an
	 * HTTP/1.1 connection (its response says Connection: close); HTTP/2 streams past the
	 * final GOAWAY are refused by the codec itself. */
	if (hs->draining)
		hs_shutdown(hs);
	px_ctr_add(hs->s.w, RC_HTTP_REQUESTS, 1);
	ex = exchange_new(hs, sid, head, end_stream);
	if (!ex) {
		codec_reset(hs->io.codec, sid, CODEC_E_INTERNAL);
		return;
	}
	px_list_add_tail(&hs->exchanges, (struct px_list *)ex);
	exchange_start(ex);
}

static void ev_data(void *arg, uint32_t sid, const uint8_t *buf, size_t len, bool end_stream)
{
	struct hsession *hs = arg;
	struct exchange *ex = hs_find(hs, sid);

	if (ex)
		exchange_req_data(ex, buf, len, end_stream);
	else
		codec_consume(hs->io.codec, sid, len); /* answered already: drop the rest */
}

static void ev_trailers(void *arg, uint32_t sid, struct http_head *trailers)
{
	struct hsession *hs = arg;
	struct exchange *ex = hs_find(hs, sid);

	if (ex)
		exchange_req_trailers(ex, trailers);
}

static void ev_reset(void *arg, uint32_t sid, enum codec_err err)
{
	struct hsession *hs = arg;
	struct exchange *ex = hs_find(hs, sid);

	if (err == CODEC_E_PROTOCOL || err == CODEC_E_HEADER_SIZE || err == CODEC_E_ENHANCE_CALM)
		px_ctr_add(hs->s.w, RC_HTTP_PROTO_ERR, 1);
	if (ex)
		exchange_down_reset(ex, err);
}

static void ev_writable(void *arg, uint32_t sid)
{
	struct hsession *hs = arg;
	struct exchange *ex = hs_find(hs, sid);

	if (ex)
		exchange_down_writable(ex);
}

static void ev_goaway(void *arg)
{
	struct hsession *hs = arg;

	hs->draining = true;
}

static const struct codec_events hs_events = {
    .head = ev_head,
    .data = ev_data,
    .trailers = ev_trailers,
    .reset = ev_reset,
    .writable = ev_writable,
    .upgraded = NULL,
    .goaway = ev_goaway,
};

/* ---- lifetime ---- */

static void hs_free(struct hsession *hs, bool rst)
{
	hs->dead = true;
	/* Every exchange still open learns its client is gone (they unlink themselves). */
	while (!px_list_empty(&hs->exchanges)) {
		struct exchange *ex = (struct exchange *)hs->exchanges.next;

		exchange_down_reset(ex, CODEC_E_CANCEL);
		if ((struct px_list *)ex == hs->exchanges.next) /* did not unlink: force it */
			px_list_del((struct px_list *)ex);
	}
	event_del(&hs->kick);
	event_del(&hs->drain_idle);
	cio_fini(&hs->io, rst);
	px_session_del(&hs->s);
	free(hs);
}

static void hs_close(struct px_session *s, bool rst)
{
	struct hsession *hs = (struct hsession *)s;

	if (hs->in_io) {
		hs->closing = true;
		return;
	}
	hs_free(hs, rst);
}

static void hs_account(struct px_session *s)
{
	/* Exchanges account their own requests as they end (exchange.c). */
}

static void hs_drain(struct px_session *s)
{
	struct hsession *hs = (struct hsession *)s;
	struct timeval tv = {HS_DRAIN_IDLE_MS / 1000, (HS_DRAIN_IDLE_MS % 1000) * 1000};

	hs->draining = true;
	/* HTTP/2 says GOAWAY at once (its two steps cover streams on the wire), as does an
	 * HTTP/1.1 connection with a request in flight (its response carries the close). An
	 * idle HTTP/1.1 connection, or one that has not spoken yet, waits a little for the
	 * request that may be on its way (ev_head shuts it down then). */
	if (hs->io.codec && (hsession_is_h2(hs) || codec_streams(hs->io.codec)))
		hs_shutdown(hs);
	else
		event_add(&hs->drain_idle, &tv);
	hsession_kick(hs);
}

/* The idle wait of a drain is over: no request came, the connection ends cleanly. */
static void hs_drain_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hsession *hs = arg;

	if (!hs->io.codec) {
		hs_free(hs, false); /* never spoke: nothing to finish */
		return;
	}
	hs_shutdown(hs);
	hsession_kick(hs);
}

/*
 * Idle for a while: an HTTP/2 codec with no stream gives its nghttp2 session back (see
 * h2_quiet()). A socket that cannot take the credit it had to return at once leaves the
 * rest for EV_WRITE, and the next sweep.
 */
static bool hs_quiet(struct px_session *s)
{
	struct hsession *hs = (struct hsession *)s;

	if (hs->dead || hs->draining || !hs->io.codec || !px_list_empty(&hs->exchanges))
		return false;
	int r = codec_quiet(hs->io.codec);

	/* It queued what must go first (returned credit): written here and now, so that the
	 * write does not count as activity and push the quiet back by another period. */
	if (r == 0 && cio_flush(&hs->io) == CIO_OK && cio_drained(&hs->io))
		r = codec_quiet(hs->io.codec);
	if (r == 1)
		px_ctr_add(hs->s.w, RC_HTTP2_QUIET, 1);
	return r == 1;
}

static const struct px_session_ops hs_ops = {
    .name = "http",
    .close = hs_close,
    .account = hs_account,
    .drain = hs_drain,
    .quiet = hs_quiet,
};

/* ---- I/O ---- */

/* Picks the codec from the first bytes. Returns 0, -EAGAIN (need more) or -errno. */
static int hs_choose(struct hsession *hs)
{
	const struct codec_ops *ops = &codec_h1;
	uint8_t peek[H2_PREFACE_LEN];
	ssize_t n;

	n = recv(hs->io.conn.fd, peek, sizeof(peek), MSG_PEEK);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	if (n == 0)
		return -ECONNRESET;
	/* "PRI " starts only the preface: no HTTP/1.1 method is PRI. */
	if (memcmp(peek, H2_PREFACE, (size_t)n) == 0) {
		if (n < 4)
			return -EAGAIN; /* "P", "PR", "PRI": wait for one more byte */
		ops = &codec_h2;
	}
	hs->io.codec = codec_new(ops, CODEC_SERVER, NULL, &hs_events, hs);
	if (!hs->io.codec)
		return -ENOMEM;
	/* Draining: HTTP/2 says GOAWAY now; HTTP/1.1 serves this first request (ev_head). */
	if (hs->draining && ops == &codec_h2)
		hs_shutdown(hs);
	return 0;
}

/* One pass: read, write, and decide whether the session is over. */
static void hs_step(struct hsession *hs, bool readable)
{
	enum cio_status st = CIO_OK;

	hs->in_io = true;
	if (!hs->io.codec) {
		int err = hs_choose(hs);

		if (err == -EAGAIN) {
			/* Not a busy loop on a client that stalls mid-word: look again soon. */
			struct timeval tv = {0, 5000};

			conn_want(&hs->io.conn, EV_READ, false);
			event_add(&hs->kick, &tv);
			hs->in_io = false;
			return;
		}
		if (err) {
			hs->in_io = false;
			hs_free(hs, true);
			return;
		}
	}
	if (readable || !hs->io.in)
		st = cio_read(&hs->io);
	else
		st = cio_resume(&hs->io);
	if (st != CIO_ABORT && cio_flush(&hs->io) != CIO_OK)
		st = CIO_ABORT;
	px_session_touch(&hs->s);
	hs->in_io = false;
	if (st == CIO_ABORT) {
		px_ctr_add(hs->s.w, RC_RESETS, 1);
		hs_free(hs, true);
		return;
	}
	if (st == CIO_CLOSE || hs->closing || hs->io.eof || codec_done(hs->io.codec)) {
		/* Finished: once the last words are written, and no exchange still owes a
		 * response (HTTP/1.1 after the client's FIN may still be answering). */
		if (cio_drained(&hs->io) &&
		    (px_list_empty(&hs->exchanges) || hs->io.broken || codec_done(hs->io.codec))) {
			hs_free(hs, false);
			return;
		}
		hs->closing = st == CIO_CLOSE || hs->closing;
	}
}

static void hs_io(void *owner, struct px_conn *c, short what)
{
	hs_step(owner, what & EV_READ);
}

static void hs_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	hs_step(arg, false);
}

static void hs_connected(void *owner, struct px_conn *c, int err)
{
	/* Downstream conns are accepted, never connected. */
}

static const struct px_conn_ops hs_conn_ops = {
    .io = hs_io,
    .connected = hs_connected,
};

int hsession_start(struct px_worker *w, int fd, const struct hsession_dest *d)
{
	struct hsession *hs = calloc(1, sizeof(*hs));

	if (!hs)
		return -ENOMEM;
	hs->dest = *d;
	px_list_init(&hs->exchanges);
	conn_init(&hs->io.conn, w, fd, &hs_conn_ops, hs);
	event_assign(&hs->kick, w->base, -1, 0, hs_kick_cb, hs);
	event_assign(&hs->drain_idle, w->base, -1, 0, hs_drain_idle_cb, hs);
	px_session_add(w, &hs->s, &hs_ops);
	px_ctr_add(w, RC_HTTP_SESSIONS, 1);
	conn_want(&hs->io.conn, EV_READ, true);
	return 0;
}
