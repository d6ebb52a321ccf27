// SPDX-License-Identifier: Apache-2.0
/*
 * The upstream pool declared in upstream.h. Connections sit in a small hash by
 * (endpoint, protocol); each has a waiting list (requests that asked for a stream) and an
 * active list (requests whose stream is open). A connection is never freed from inside
 * one of its own callbacks: it is marked dead and freed when the outermost callback of it
 * returns (depth counts the nesting), so a requester may release, and the codec may raise
 * events, in any order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "proxy/cio.h"
#include "proxy/upstream.h"

#define UP_BUCKETS 256

struct upstream_conn {
	struct px_list link; /* in its pool bucket */
	struct upstream_pool *p;
	struct cio io;
	struct sockaddr_in ep;
	bool h2;
	bool connected;
	bool closing; /* no new streams: GOAWAY, Connection: close, an error */
	bool dead;    /* to be freed when the outermost callback returns */
	unsigned depth;
	unsigned served;       /* streams opened on it so far */
	unsigned max_requests; /* close after this many (0: no limit) */
	unsigned idle_ms;      /* close when idle this long (0: the relay's timeout) */
	uint64_t last_ms;
	struct px_list waiting;
	struct px_list active;
	struct event kick; /* hands `ready` to waiting requests from the loop */
};

struct upstream_pool {
	struct px_worker *w;
	struct px_list buckets[UP_BUCKETS];
	unsigned nconns;
};

static unsigned up_hash(const struct sockaddr_in *ep, bool h2)
{
	uint32_t h =
	    ep->sin_addr.s_addr * 2654435761u ^ ep->sin_port * 40503u ^ (h2 ? 0x5bd1e995 : 0);

	return (h ^ (h >> 16)) % UP_BUCKETS;
}

static struct upstream_req *req_of(struct px_list *l)
{
	return (struct upstream_req *)l;
}

/* ---- lifetime ---- */

static void uc_free(struct upstream_conn *uc)
{
	px_list_del(&uc->link);
	event_del(&uc->kick);
	cio_fini(&uc->io, uc->closing && !uc->connected);
	uc->p->nconns--;
	free(uc);
}

/* Detaches every request of <uc> with the event its state calls for, then marks it dead. */
static void uc_fail(struct upstream_conn *uc, int err, enum codec_err cerr)
{
	uc->closing = true;
	uc->dead = true;
	while (!px_list_empty(&uc->waiting)) {
		struct upstream_req *r = req_of(uc->waiting.next);

		px_list_del(&r->link);
		r->uc = NULL;
		r->ops->failed(r->arg, err);
	}
	while (!px_list_empty(&uc->active)) {
		struct upstream_req *r = req_of(uc->active.next);

		px_list_del(&r->link);
		r->uc = NULL;
		if (r->sid)
			r->ops->reset(r->arg, cerr);
		else
			r->ops->failed(r->arg, err);
	}
}

/* Ends a callback of <uc>: frees it when it died and nothing outer still runs on it. */
static void uc_leave(struct upstream_conn *uc)
{
	if (--uc->depth == 0 && uc->dead)
		uc_free(uc);
}

static bool uc_idle(const struct upstream_conn *uc)
{
	return px_list_empty(&uc->active) && px_list_empty(&uc->waiting);
}

static unsigned uc_nwaiting(const struct upstream_conn *uc)
{
	unsigned n = 0;

	for (const struct px_list *l = uc->waiting.next; l != &uc->waiting; l = l->next)
		n++;
	return n;
}

/* Hands `ready` to waiting requests while the codec can open streams. */
static void uc_dispatch(struct upstream_conn *uc)
{
	while (uc->connected && !uc->closing && !uc->dead && !px_list_empty(&uc->waiting) &&
	       codec_can_open(uc->io.codec) && (uc->h2 || px_list_empty(&uc->active))) {
		struct upstream_req *r = req_of(uc->waiting.next);

		px_list_del(&r->link);
		px_list_add_tail(&uc->active, &r->link);
		r->reused = uc->served > 0;
		if (r->reused)
			px_ctr_add(uc->p->w, RC_UP_REUSED, 1);
		r->ops->ready(r->arg);
	}
}

static void uc_flush(struct upstream_conn *uc)
{
	if (uc->dead || uc->io.conn.fd < 0)
		return;
	if (cio_flush(&uc->io) != CIO_OK)
		uc_fail(uc, -ECONNRESET, CODEC_E_CANCEL);
}

static void uc_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_conn *uc = arg;

	uc->depth++;
	uc_dispatch(uc);
	uc_flush(uc);
	/* A tunnel that ended both ways (or a closing HTTP/1.1 connection) wrote its last
	 * byte: nothing more can use it. */
	if (!uc->dead && uc_idle(uc) && codec_done(uc->io.codec))
		uc->dead = true;
	uc_leave(uc);
}

/* ---- codec events: the response ---- */

static struct upstream_req *uc_stream(struct upstream_conn *uc, uint32_t sid)
{
	for (struct px_list *l = uc->active.next; l != &uc->active; l = l->next)
		if (req_of(l)->sid == sid)
			return req_of(l);
	return NULL;
}

static void ev_head(void *arg, uint32_t sid, struct http_head *head, bool end_stream)
{
	struct upstream_req *r = uc_stream(arg, sid);

	if (r)
		r->ops->head(r->arg, head, end_stream);
}

static void ev_data(void *arg, uint32_t sid, const uint8_t *buf, size_t len, bool end_stream)
{
	struct upstream_conn *uc = arg;
	struct upstream_req *r = uc_stream(uc, sid);

	if (r)
		r->ops->data(r->arg, buf, len, end_stream);
	else
		codec_consume(uc->io.codec, sid, len); /* released: drop it, keep credit flowing */
}

static void ev_trailers(void *arg, uint32_t sid, struct http_head *trailers)
{
	struct upstream_req *r = uc_stream(arg, sid);

	if (r)
		r->ops->trailers(r->arg, trailers);
}

static void ev_reset(void *arg, uint32_t sid, enum codec_err err)
{
	struct upstream_conn *uc = arg;
	struct upstream_req *r = uc_stream(uc, sid);

	if (!uc->h2)
		uc->closing = true; /* HTTP/1.1 has no stream reset: the connection is spent */
	if (!r)
		return;
	px_list_del(&r->link);
	r->uc = NULL;
	r->ops->reset(r->arg, err);
}

static void ev_writable(void *arg, uint32_t sid)
{
	struct upstream_req *r = uc_stream(arg, sid);

	if (r)
		r->ops->writable(r->arg);
}

static void ev_goaway(void *arg)
{
	struct upstream_conn *uc = arg;

	uc->closing = true;
}

static const struct codec_events uc_events = {
    .head = ev_head,
    .data = ev_data,
    .trailers = ev_trailers,
    .reset = ev_reset,
    .writable = ev_writable,
    .upgraded = NULL,
    .goaway = ev_goaway,
};

/* ---- transport events ---- */

static void uc_io(void *owner, struct px_conn *c, short what)
{
	struct upstream_conn *uc = owner;
	enum cio_status st = CIO_OK;

	uc->depth++;
	if (what & EV_READ)
		st = cio_read(&uc->io);
	if (st == CIO_OK && !uc->dead)
		uc_flush(uc);
	if (st != CIO_OK && !uc->dead) {
		if (st == CIO_CLOSE)
			uc_flush(uc);
		uc_fail(uc, -ECONNRESET, CODEC_E_CANCEL);
	}
	if (!uc->dead) {
		/* A response ended on a clean HTTP/1.1 connection: ready for the next. */
		if ((uc->closing || codec_done(uc->io.codec)) && uc_idle(uc))
			uc->dead = true;
		else
			uc_dispatch(uc);
		if (!uc->dead)
			uc_flush(uc);
	}
	uc_leave(uc);
}

static void uc_connected(void *owner, struct px_conn *c, int err)
{
	struct upstream_conn *uc = owner;

	uc->depth++;
	if (err) {
		struct px_worker *w = uc->p->w;

		px_ctr_add(w, err == -ETIMEDOUT ? RC_CONNECT_TIMEOUT : RC_CONNECT_FAILED, 1);
		uc_fail(uc, err, CODEC_E_REFUSED);
	} else {
		uc->connected = true;
		uc->last_ms = px_now_ms();
		px_ctr_add(uc->p->w, RC_OPENED, 1);
		cio_update(&uc->io);
		uc_dispatch(uc);
		uc_flush(uc);
	}
	uc_leave(uc);
}

static const struct px_conn_ops uc_conn_ops = {
    .io = uc_io,
    .connected = uc_connected,
};

static struct upstream_conn *uc_new(struct upstream_pool *p, const struct sockaddr_in *ep, bool h2,
				    const struct upstream_conf *conf)
{
	const struct relay_opts *o = px_opts(p->w);
	struct upstream_conn *uc = calloc(1, sizeof(*uc));
	int err;

	if (!uc)
		return NULL;
	uc->p = p;
	uc->ep = *ep;
	uc->h2 = h2;
	uc->max_requests = conf ? conf->max_requests : 0;
	uc->idle_ms = conf ? conf->idle_ms : 0;
	px_list_init(&uc->waiting);
	px_list_init(&uc->active);
	conn_init(&uc->io.conn, p->w, -1, &uc_conn_ops, uc);
	event_assign(&uc->kick, p->w->base, -1, 0, uc_kick_cb, uc);
	uc->io.codec = codec_new(h2 ? &codec_h2 : &codec_h1, CODEC_CLIENT, NULL, &uc_events, uc);
	if (!uc->io.codec) {
		free(uc);
		return NULL;
	}
	px_list_add_tail(&p->buckets[up_hash(ep, h2)], &uc->link);
	p->nconns++;
	err = conn_connect(&uc->io.conn, ep, o->source_ip,
			   conf && conf->connect_timeout_ms ? conf->connect_timeout_ms
							    : o->connect_timeout_ms);
	if (err) {
		px_ctr_add(p->w, RC_CONNECT_FAILED, 1);
		uc->closing = true;
		uc_free(uc);
		errno = -err;
		return NULL;
	}
	px_ctr_add(p->w, RC_UP_CONNS, 1);
	return uc;
}

/* ---- the pool ---- */

struct upstream_pool *upstream_pool_new(struct px_worker *w)
{
	struct upstream_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->w = w;
	for (int i = 0; i < UP_BUCKETS; i++)
		px_list_init(&p->buckets[i]);
	return p;
}

void upstream_pool_free(struct upstream_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < UP_BUCKETS; i++) {
		while (!px_list_empty(&p->buckets[i])) {
			struct upstream_conn *uc = (struct upstream_conn *)p->buckets[i].next;

			uc->depth++;
			uc_fail(uc, -ECONNABORTED, CODEC_E_CANCEL);
			uc->closing = true;
			uc_leave(uc);
		}
	}
	free(p);
}

void upstream_pool_tick(struct upstream_pool *p, uint64_t now_ms)
{
	unsigned idle_ms;

	if (!p || !p->nconns)
		return;
	idle_ms = px_opts(p->w)->idle_timeout_ms;
	for (int i = 0; i < UP_BUCKETS; i++) {
		struct px_list *l = p->buckets[i].next;

		while (l != &p->buckets[i]) {
			struct upstream_conn *uc = (struct upstream_conn *)l;

			l = l->next;
			if (uc->connected && uc_idle(uc) &&
			    now_ms - uc->last_ms >= (uc->idle_ms ? uc->idle_ms : idle_ms)) {
				uc->closing = true;
				uc_free(uc);
			}
		}
	}
}

void upstream_req_init(struct upstream_req *req, const struct upstream_ops *ops, void *arg)
{
	memset(req, 0, sizeof(*req));
	px_list_init(&req->link);
	req->ops = ops;
	req->arg = arg;
}

int upstream_acquire(struct upstream_pool *p, struct upstream_req *req,
		     const struct sockaddr_in *ep, bool h2, const struct upstream_conf *conf)
{
	struct px_list *b = &p->buckets[up_hash(ep, h2)];
	struct upstream_conn *uc = NULL;

	for (struct px_list *l = b->next; l != b; l = l->next) {
		struct upstream_conn *c = (struct upstream_conn *)l;

		if (c->h2 != h2 || c->closing || c->dead ||
		    c->ep.sin_addr.s_addr != ep->sin_addr.s_addr || c->ep.sin_port != ep->sin_port)
			continue;
		/* HTTP/1.1: an idle kept-alive connection. HTTP/2: any with room (or one still
		 * connecting: its streams will multiplex). */
		if (c->max_requests && c->served + uc_nwaiting(c) >= c->max_requests)
			continue; /* its last requests are spoken for */
		if (h2 ? (!c->connected || codec_can_open(c->io.codec))
		       : (c->connected && uc_idle(c))) {
			uc = c;
			break;
		}
	}
	if (!uc) {
		uc = uc_new(p, ep, h2, conf);
		if (!uc)
			return -errno;
	}
	req->uc = uc;
	req->sid = 0;
	px_list_add_tail(&uc->waiting, &req->link);
	if (uc->connected)
		event_active(&uc->kick, EV_WRITE, 0);
	return 0;
}

int upstream_submit_head(struct upstream_req *req, const struct http_head *head, bool end_stream)
{
	struct upstream_conn *uc = req->uc;
	uint32_t sid = 0;
	int err;

	if (!uc)
		return -ENOTCONN;
	err = codec_submit_head(uc->io.codec, &sid, head, end_stream);
	if (err)
		return err;
	req->sid = sid;
	uc->served++;
	/* maxRequestsPerConnection: this one is its last; no new stream goes on it. */
	if (uc->max_requests && uc->served >= uc->max_requests)
		uc->closing = true;
	uc->last_ms = px_now_ms();
	if (uc->depth == 0) {
		uc->depth++;
		uc_flush(uc);
		uc_leave(uc);
	}
	return 0;
}

ssize_t upstream_submit_data(struct upstream_req *req, const uint8_t *buf, size_t len,
			     bool end_stream)
{
	struct upstream_conn *uc = req->uc;
	ssize_t n;

	if (!uc || !req->sid)
		return -ENOTCONN;
	n = codec_submit_data(uc->io.codec, req->sid, buf, len, end_stream);
	if (n > 0 || end_stream) {
		if (uc->depth == 0) {
			uc->depth++;
			uc_flush(uc);
			uc_leave(uc);
		}
	}
	return n;
}

int upstream_submit_trailers(struct upstream_req *req, const struct http_head *trailers)
{
	struct upstream_conn *uc = req->uc;
	int err;

	if (!uc || !req->sid)
		return -ENOTCONN;
	err = codec_submit_trailers(uc->io.codec, req->sid, trailers);
	if (!err && uc->depth == 0) {
		uc->depth++;
		uc_flush(uc);
		uc_leave(uc);
	}
	return err;
}

void upstream_consume(struct upstream_req *req, size_t n)
{
	struct upstream_conn *uc = req->uc;

	if (!uc || !req->sid || !n)
		return;
	codec_consume(uc->io.codec, req->sid, n);
	if (uc->depth == 0) {
		uc->depth++;
		if (cio_resume(&uc->io) != CIO_OK)
			uc_fail(uc, -ECONNRESET, CODEC_E_CANCEL);
		uc_flush(uc);
		uc_leave(uc);
	} else {
		cio_update(&uc->io);
	}
}

void upstream_release(struct upstream_req *req, bool reset)
{
	struct upstream_conn *uc = req->uc;

	if (!uc)
		return;
	px_list_del(&req->link);
	req->uc = NULL;
	uc->depth++;
	if (reset && req->sid) {
		codec_reset(uc->io.codec, req->sid, CODEC_E_CANCEL);
		if (!uc->h2)
			uc->closing = true;
	}
	uc->last_ms = px_now_ms();
	if (uc->closing && uc_idle(uc))
		uc->dead = true;
	else if (!uc->dead)
		event_active(&uc->kick, EV_WRITE, 0);
	uc_flush(uc);
	uc_leave(uc);
}
