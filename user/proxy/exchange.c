// SPDX-License-Identifier: Apache-2.0
/*
 * One HTTP exchange: a request stream of a downstream session, routed on its own, sent
 * to an endpoint picked for it, retried, timed out, and its response streamed back.
 *
 *   head -> route (cluster, timeouts, retry policy, header ops; or a local answer)
 *        -> attempt: endpoint -> upstream stream -> request head, body, trailers
 *        -> response head (retry? or forward) -> body -> trailers/end -> finish
 *
 * Bodies stream with backpressure both ways: request bytes are credited back to the
 * client only once the upstream took them, response bytes only once the client's codec
 * took them, so what is held here is bounded by the codecs' windows. The request body is
 * also kept for retries while it fits in EX_RETRY_MAX; past that the request is no longer
 * retried (what was streamed upstream cannot be replayed).
 *
 * What an exchange needs across callbacks is copied out of the model snapshot at routing
 * time (a snapshot is only valid inside the callback that read it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "model/lb.h"
#include "model/model.h"
#include "model/route.h"
#include "proxy/hsession.h"
#include "proxy/upstream.h"

#define EX_RETRY_MAX   (64 * 1024) /* request body bytes kept for a retry */
#define EX_BACKOFF_MS  25	   /* Envoy's base retry back-off, doubling, jittered */
#define EX_BACKOFF_MAX 250
#define EX_MAX_CODES   8

/* Envoy's response flags, as Istio's response_flags label spells them. */
enum ex_flag {
	EXF_UH = 1u << 0,  /* no healthy upstream */
	EXF_UF = 1u << 1,  /* upstream connection failure */
	EXF_UO = 1u << 2,  /* upstream overflow (circuit breaker) */
	EXF_NR = 1u << 3,  /* no route */
	EXF_URX = 1u << 4, /* upstream retry limit exceeded */
	EXF_UT = 1u << 5,  /* upstream request timeout */
	EXF_DC = 1u << 6,  /* downstream connection termination */
	EXF_UC = 1u << 7,  /* upstream connection termination */
	EXF_DI = 1u << 8,  /* delay injected */
	EXF_FI = 1u << 9,  /* fault injected */
	EXF_RL = 1u << 10, /* rate limited */
};

struct ex_bytes {
	uint8_t *p;
	size_t len, cap;
};

struct exchange {
	struct px_list link; /* first: the session's list holds exchanges directly */
	struct hsession *hs;
	struct px_worker *w;
	uint32_t sid;
	struct http_head req; /* as sent upstream */
	struct http_head req_trailers;
	bool has_req_trailers;
	struct upstream_req up;

	/* The plan, copied out of the snapshot at routing time. */
	bool h2_up;	     /* upstream wire: HTTP/2 */
	bool grpc;	     /* the request is gRPC (content-type application/grpc) */
	uint32_t timeout_ms; /* route timeout; 0: none */
	uint32_t per_try_ms; /* per-try timeout; 0: none */
	uint32_t retry_on;   /* enum route_retry_on */
	uint32_t retries_left;
	uint16_t codes[EX_MAX_CODES];
	uint8_t ncodes;
	unsigned tries;	       /* attempts started */
	struct sockaddr_in ep; /* the endpoint of the current attempt */
	uint32_t dst_wl;

	/* Request body: body.p[0, len) are the bytes not yet dropped; [0, sent) went to the
	 * current attempt; <credited> is how far the client was credited (absolute). */
	struct ex_bytes body;
	size_t sent;
	uint64_t dropped; /* bytes dropped from the front (no longer retriable) */
	uint64_t credited;
	bool req_done;	   /* the client's request ended */
	bool req_eos_sent; /* ... and its end went upstream in this attempt */
	bool retriable;	   /* the whole body is still held */

	/* Response. */
	struct ex_bytes resp; /* taken from upstream, not yet by the client's codec */
	size_t resp_off;
	struct http_head resp_trailers;
	bool resp_trailers_pending;
	bool resp_started;  /* the final head went downstream */
	bool resp_eos_up;   /* upstream's response ended (its end waits in <resp>) */
	bool resp_eos_sent; /* ... and the end went to the client's codec */
	bool up_got_bytes;  /* this attempt got any response byte */
	uint16_t status;
	int grpc_status; /* -1: none */
	uint32_t flags;

	uint64_t t0_ns;
	uint64_t req_bytes, resp_bytes;
	struct event ev_timeout, ev_try, ev_later;
};

static uint64_t ex_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int bytes_append(struct ex_bytes *b, const uint8_t *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* Drops the first <n> bytes of <b>. */
static void bytes_drop(struct ex_bytes *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

static void bytes_free(struct ex_bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

uint32_t exchange_sid(const struct exchange *ex)
{
	return ex->sid;
}

static struct codec *ex_down(struct exchange *ex)
{
	return hsession_codec(ex->hs);
}

static void ex_timer(struct event *ev, uint32_t ms)
{
	struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000};

	event_add(ev, &tv);
}

/* ---- the end ---- */

static void ex_account(struct exchange *ex)
{
	const struct hsession_dest *d = hsession_dest(ex->hs);
	struct relay_flow f;

	if (!ex->ep.sin_addr.s_addr)
		return; /* answered locally: no backend, no edge */
	memset(&f, 0, sizeof(f));
	f.client_ip = d->client_ip;
	f.backend_ip = ex->ep.sin_addr.s_addr;
	f.orig_ip = d->orig.sin_addr.s_addr;
	f.orig_port = ntohs(d->orig.sin_port);
	f.backend_port = ntohs(ex->ep.sin_port);
	f.proto = IPPROTO_TCP;
	f.svc_id = d->svc_id;
	f.src_wl = d->src_wl;
	f.dst_wl = ex->dst_wl;
	/* On the HTTP path an edge's opens and closes count requests (docs/proxy.md). */
	f.opened = 1;
	f.closed = 1;
	f.bytes_up = ex->req_bytes;
	f.bytes_down = ex->resp_bytes;
	px_account(ex->w, &f);
}

/* Ends <ex>: counts it, lets go of its upstream stream, unlinks and frees it. */
static void ex_finish(struct exchange *ex, bool clean)
{
	event_del(&ex->ev_timeout);
	event_del(&ex->ev_try);
	event_del(&ex->ev_later);
	upstream_release(&ex->up, !clean || !ex->resp_eos_up);
	if (clean && !ex->req_done && hsession_is_h2(ex->hs))
		codec_reset(ex_down(ex), ex->sid, CODEC_E_NONE); /* answered: the rest is moot */
	if (clean)
		px_ctr_add(ex->w, RC_HTTP_RESPONSES, 1);
	ex_account(ex);
	hsession_forget(ex->hs, ex);
	http_head_fini(&ex->req);
	http_head_fini(&ex->req_trailers);
	http_head_fini(&ex->resp_trailers);
	bytes_free(&ex->body);
	bytes_free(&ex->resp);
	free(ex);
}

static int grpc_status_for(uint16_t http)
{
	switch (http) {
	case 400:
		return 13; /* INTERNAL */
	case 401:
		return 16; /* UNAUTHENTICATED */
	case 403:
		return 7; /* PERMISSION_DENIED */
	case 404:
		return 12; /* UNIMPLEMENTED */
	case 429:
		return 8; /* RESOURCE_EXHAUSTED */
	case 504:
		return 4; /* DEADLINE_EXCEEDED */
	default:
		return 14; /* UNAVAILABLE: 502, 503 and the rest, as Envoy maps them */
	}
}

/*
 * Answers <ex> from the agent itself with <status> and <body>, flagged <flags>, and ends
 * it. A gRPC request gets a trailers-only response with the matching grpc-status.
 */
static void ex_local(struct exchange *ex, uint16_t status, uint32_t flags, const char *body)
{
	struct codec *down = ex_down(ex);
	struct http_head h;
	char len[24];
	uint32_t sid = ex->sid;

	ex->flags |= flags;
	ex->status = status;
	px_ctr_add(ex->w, RC_HTTP_LOCAL, 1);
	http_head_init(&h, HTTP_RESPONSE, 0);
	if (ex->grpc) {
		char gs[8];

		ex->grpc_status = grpc_status_for(status);
		snprintf(gs, sizeof(gs), "%d", ex->grpc_status);
		h.status = 200;
		http_head_add(&h, "content-type", 12, "application/grpc", 16);
		http_head_add(&h, "grpc-status", 11, gs, strlen(gs));
		http_head_add(&h, "grpc-message", 12, body, strlen(body));
		codec_submit_head(down, &sid, &h, true);
	} else {
		h.status = status;
		snprintf(len, sizeof(len), "%zu", strlen(body));
		h.content_length = (int64_t)strlen(body);
		http_head_add(&h, "content-type", 12, "text/plain", 10);
		http_head_add(&h, "content-length", 14, len, strlen(len));
		if (codec_submit_head(down, &sid, &h, !*body) == 0 && *body)
			codec_submit_data(down, sid, (const uint8_t *)body, strlen(body), true);
		ex->resp_bytes += strlen(body);
	}
	http_head_fini(&h);
	ex->resp_started = true;
	ex->resp_eos_up = true; /* nothing upstream to wait for */
	hsession_kick(ex->hs);
	ex_finish(ex, true);
}

/* ---- routing ---- */

/* A random endpoint of <c> that is ready and not drained, weighted; NULL when none. */
static const struct model_endpoint *ex_pick_cluster(struct exchange *ex,
						    const struct route_cluster *c)
{
	uint64_t total = 0, x;

	for (size_t i = 0; i < c->neps; i++) {
		const struct model_endpoint *e = c->eps[i];

		if (e->ready)
			total += e->pod ? e->pod->weight : 1;
	}
	if (!total)
		return NULL;
	x = lb_rand(&ex->w->rnd) % total;
	for (size_t i = 0; i < c->neps; i++) {
		const struct model_endpoint *e = c->eps[i];
		uint64_t wgt = e->ready ? (e->pod ? e->pod->weight : 1) : 0;

		if (x < wgt)
			return e;
		x -= wgt;
	}
	return NULL;
}

/*
 * Picks the endpoint of the next attempt from the current snapshot: the Service port the
 * client connected to, its compiled default cluster or the port itself. Returns 0, or
 * -ENOENT when the Service is gone, -EHOSTUNREACH when no endpoint is ready.
 */
static int ex_pick(struct exchange *ex)
{
	const struct hsession_dest *d = hsession_dest(ex->hs);
	const struct model *m = px_model(ex->w);
	const struct model_service *svc = NULL;
	const struct model_svc_port *sp = NULL;
	const struct route_table *t = NULL;
	const struct model_endpoint *ep;

	if (m)
		sp = model_find_svc_port(m, d->orig.sin_addr.s_addr, d->orig.sin_port, IPPROTO_TCP,
					 &svc);
	if (!sp)
		return -ENOENT;
	if (m->routes)
		t = route_table_find(m->routes, svc, sp);
	if (t && t->dflt)
		ep = ex_pick_cluster(ex, t->dflt);
	else
		ep = lb_pick(sp, lb_rand(&ex->w->rnd));
	if (!ep)
		return -EHOSTUNREACH;
	memset(&ex->ep, 0, sizeof(ex->ep));
	ex->ep.sin_family = AF_INET;
	ex->ep.sin_addr.s_addr = ep->ip;
	ex->ep.sin_port = htons(ep->port);
	ex->dst_wl = ep->pod ? ep->pod->wl_id : px_wl_of(m, ep->ip);
	return 0;
}

/* Istio's default retry policy, for routes that set none. */
static void ex_default_retries(struct exchange *ex)
{
	ex->retries_left = 2;
	ex->retry_on = ROUTE_RETRY_CONNECT_FAILURE | ROUTE_RETRY_REFUSED_STREAM |
		       ROUTE_RETRY_GRPC_UNAVAILABLE | ROUTE_RETRY_GRPC_CANCELLED |
		       ROUTE_RETRY_RETRIABLE_CODES;
	ex->codes[0] = 503;
	ex->ncodes = 1;
}

/* Fills what the request needs and the route does not say. */
static void ex_prepare(struct exchange *ex)
{
	struct http_head *h = &ex->req;
	size_t ctlen = 0;
	const char *ct = http_head_get(h, "content-type", 12, &ctlen);

	ex->grpc = ct && ctlen >= 16 && !strncmp(ct, "application/grpc", 16);
	if (!http_head_get(h, "x-request-id", 12, NULL)) {
		uint32_t r[4];
		char id[40];

		for (int i = 0; i < 4; i++)
			r[i] = lb_rand(&ex->w->rnd);
		/* A version 4 UUID, as Envoy generates it. */
		snprintf(id, sizeof(id), "%08x-%04x-4%03x-%04x-%04x%08x", r[0], r[1] >> 16,
			 r[1] & 0xfff, 0x8000 | (r[2] & 0x3fff), r[2] >> 16, r[3]);
		http_head_add(h, "x-request-id", 12, id, strlen(id));
	}
	if (!http_head_get(h, "x-forwarded-proto", 17, NULL))
		http_head_add(h, "x-forwarded-proto", 17, "http", 4);
	if (!h->scheme.len)
		http_head_str(h, "http", 4, &h->scheme);
}

/* ---- attempts ---- */

static const struct upstream_ops ex_up_ops;

static void ex_give_up(struct exchange *ex, uint16_t status, uint32_t flags, const char *why)
{
	if (ex->resp_started) {
		/* The client has part of a response: all we can say is that it broke. */
		ex->flags |= flags;
		codec_reset(ex_down(ex), ex->sid, CODEC_E_INTERNAL);
		hsession_kick(ex->hs);
		ex_finish(ex, false);
		return;
	}
	ex_local(ex, status, flags, why);
}

static void ex_attempt(struct exchange *ex)
{
	const struct relay_opts *o = px_opts(ex->w);
	int err;

	ex->tries++;
	ex->sent = 0;
	ex->req_eos_sent = false;
	ex->up_got_bytes = false;
	upstream_req_init(&ex->up, &ex_up_ops, ex);
	err = upstream_acquire(ex->w->pool, &ex->up, &ex->ep, ex->h2_up, o->connect_timeout_ms);
	if (err) {
		ex_give_up(ex, 503, EXF_UF,
			   "upstream connect error or disconnect/reset before headers");
		return;
	}
	if (ex->per_try_ms)
		ex_timer(&ex->ev_try, ex->per_try_ms);
}

/* Whether one more attempt is allowed now. */
static bool ex_can_retry(const struct exchange *ex)
{
	return ex->retries_left > 0 && ex->retriable && !ex->resp_started && !ex->dropped;
}

/* Starts the next attempt after Envoy's jittered exponential back-off. */
static void ex_retry(struct exchange *ex)
{
	unsigned ms = EX_BACKOFF_MS << (ex->tries > 4 ? 4 : ex->tries - 1);

	if (ms > EX_BACKOFF_MAX)
		ms = EX_BACKOFF_MAX;
	ms = lb_rand(&ex->w->rnd) % (ms + 1);
	event_del(&ex->ev_try);
	upstream_release(&ex->up, true);
	ex->retries_left--;
	px_ctr_add(ex->w, RC_HTTP_RETRIES, 1);
	ex_timer(&ex->ev_later, ms);
}

static void ex_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exchange *ex = arg;
	int err = ex_pick(ex);

	if (err) {
		ex_give_up(ex, 503, EXF_UH | EXF_URX, "no healthy upstream");
		return;
	}
	ex_attempt(ex);
}

/* Sends what the current attempt has not sent of the request body, and its end. */
static void ex_push_body(struct exchange *ex)
{
	while (ex->sent < ex->body.len) {
		bool last = ex->req_done && !ex->has_req_trailers;
		ssize_t n = upstream_submit_data(&ex->up, ex->body.p + ex->sent,
						 ex->body.len - ex->sent, last);

		if (n <= 0)
			break;
		ex->sent += (size_t)n;
		if (ex->sent == ex->body.len && last)
			ex->req_eos_sent = true;
	}
	/* Credit the client for what reached upstream for the first time. */
	if (ex->dropped + ex->sent > ex->credited) {
		hsession_consume(ex->hs, ex->sid, ex->dropped + ex->sent - ex->credited);
		ex->credited = ex->dropped + ex->sent;
	}
	/* No longer replayable: keep only what is not sent yet. */
	if (!ex->retriable && ex->sent) {
		bytes_drop(&ex->body, ex->sent);
		ex->dropped += ex->sent;
		ex->sent = 0;
	}
	if (ex->sent == ex->body.len && ex->req_done && !ex->req_eos_sent) {
		if (ex->has_req_trailers) {
			if (upstream_submit_trailers(&ex->up, &ex->req_trailers) == 0)
				ex->req_eos_sent = true;
		} else if (upstream_submit_data(&ex->up, NULL, 0, true) == 0) {
			ex->req_eos_sent = true;
		}
	}
}

static void ex_up_ready(void *arg)
{
	struct exchange *ex = arg;
	bool eos = ex->req_done && !ex->body.len && !ex->has_req_trailers;

	if (upstream_submit_head(&ex->up, &ex->req, eos)) {
		/* The connection could not take it (closing under us): try afresh. */
		if (ex_can_retry(ex)) {
			ex_retry(ex);
			return;
		}
		ex_give_up(ex, 503, EXF_UC,
			   "upstream connect error or disconnect/reset before headers");
		return;
	}
	ex->req_eos_sent = eos;
	ex_push_body(ex);
}

static void ex_up_failed(void *arg, int err)
{
	struct exchange *ex = arg;

	ex->up.uc = NULL;
	if ((ex->retry_on & ROUTE_RETRY_CONNECT_FAILURE) && ex_can_retry(ex)) {
		ex_retry(ex);
		return;
	}
	ex_give_up(ex, 503, EXF_UF | (ex->tries > 1 ? EXF_URX : 0),
		   "upstream connect error or disconnect/reset before headers");
}

static bool ex_retriable_status(const struct exchange *ex, uint16_t status, int grpc)
{
	uint32_t on = ex->retry_on;

	if ((on & ROUTE_RETRY_5XX) && status >= 500)
		return true;
	if ((on & ROUTE_RETRY_GATEWAY) && (status == 502 || status == 503 || status == 504))
		return true;
	if ((on & ROUTE_RETRY_RETRIABLE_4XX) && status == 409)
		return true;
	if (on & ROUTE_RETRY_RETRIABLE_CODES)
		for (unsigned i = 0; i < ex->ncodes; i++)
			if (ex->codes[i] == status)
				return true;
	switch (grpc) {
	case 1:
		return on & ROUTE_RETRY_GRPC_CANCELLED;
	case 4:
		return on & ROUTE_RETRY_GRPC_DEADLINE;
	case 8:
		return on & ROUTE_RETRY_GRPC_EXHAUSTED;
	case 13:
		return on & ROUTE_RETRY_GRPC_INTERNAL;
	case 14:
		return on & ROUTE_RETRY_GRPC_UNAVAILABLE;
	default:
		return false;
	}
}

static int ex_grpc_status(const struct http_head *h)
{
	size_t len = 0;
	const char *v = http_head_get(h, "grpc-status", 11, &len);

	return v && len ? atoi(v) : -1;
}

static void ex_up_head(void *arg, struct http_head *head, bool end_stream)
{
	struct exchange *ex = arg;
	struct codec *down = ex_down(ex);
	uint32_t sid = ex->sid;

	ex->up_got_bytes = true;
	if (head->status < 200) {
		/* 100 Continue and 103 Early Hints pass through; 101 needs an upgrade path. */
		if (head->status != 101 && !ex->resp_started)
			codec_submit_head(down, &sid, head, false);
		hsession_kick(ex->hs);
		return;
	}
	/* A trailers-only gRPC response carries its status in the head. */
	if (ex_can_retry(ex) && ex_retriable_status(ex, head->status, ex_grpc_status(head))) {
		ex_retry(ex);
		return;
	}
	event_del(&ex->ev_try);
	ex->status = head->status;
	ex->grpc_status = ex_grpc_status(head);
	ex->resp_started = true;
	ex->resp_eos_up = end_stream;
	if (codec_submit_head(down, &sid, head, end_stream)) {
		codec_reset(down, ex->sid, CODEC_E_INTERNAL);
		ex_finish(ex, false);
		return;
	}
	hsession_kick(ex->hs);
	if (end_stream)
		ex_finish(ex, true);
}

/* Moves held response bytes to the client's codec; ends <ex> when all is through. */
static void ex_push_resp(struct exchange *ex)
{
	struct codec *down = ex_down(ex);
	size_t left = ex->resp.len - ex->resp_off;

	while (left) {
		bool last = ex->resp_eos_up && !ex->resp_trailers_pending;
		ssize_t n = codec_submit_data(down, ex->sid, ex->resp.p + ex->resp_off, left, last);

		if (n <= 0)
			break;
		ex->resp_off += (size_t)n;
		left -= (size_t)n;
		if (!left && last)
			ex->resp_eos_sent = true;
		upstream_consume(&ex->up, (size_t)n);
	}
	if (ex->resp_off == ex->resp.len) {
		ex->resp.len = ex->resp_off = 0;
		if (ex->resp_eos_up) {
			/* The end goes down too: with the last bytes, as trailers, or alone. */
			if (ex->resp_trailers_pending)
				codec_submit_trailers(down, ex->sid, &ex->resp_trailers);
			else if (!ex->resp_eos_sent)
				codec_submit_data(down, ex->sid, NULL, 0, true);
			hsession_kick(ex->hs);
			ex_finish(ex, true);
			return;
		}
	} else if (ex->resp_off > 64 * 1024) {
		bytes_drop(&ex->resp, ex->resp_off);
		ex->resp_off = 0;
	}
	hsession_kick(ex->hs);
}

static void ex_up_data(void *arg, const uint8_t *buf, size_t len, bool end_stream)
{
	struct exchange *ex = arg;

	ex->resp_bytes += len;
	if (end_stream)
		ex->resp_eos_up = true;
	if (len && bytes_append(&ex->resp, buf, len)) {
		ex_give_up(ex, 503, EXF_UC, "out of memory");
		return;
	}
	ex_push_resp(ex);
}

static void ex_up_trailers(void *arg, struct http_head *trailers)
{
	struct exchange *ex = arg;
	int gs = ex_grpc_status(trailers);

	if (gs >= 0)
		ex->grpc_status = gs;
	if (http_head_copy(&ex->resp_trailers, trailers)) {
		ex_give_up(ex, 503, EXF_UC, "out of memory");
		return;
	}
	ex->resp_trailers_pending = true;
	ex->resp_eos_up = true;
	ex_push_resp(ex);
}

static void ex_up_reset(void *arg, enum codec_err err)
{
	struct exchange *ex = arg;
	bool reused = ex->up.reused;
	bool may = (err == CODEC_E_REFUSED && (ex->retry_on & ROUTE_RETRY_REFUSED_STREAM)) ||
		   (ex->retry_on & ROUTE_RETRY_RESET) ||
		   (err == CODEC_E_CANCEL && (ex->retry_on & ROUTE_RETRY_GRPC_CANCELLED));

	ex->up.uc = NULL;
	/* A kept-alive connection the server closed just as we reused it: the request never
	 * reached an application. Try once more without spending an attempt, as Envoy does. */
	if (reused && !ex->up_got_bytes && ex->retriable && !ex->resp_started && !ex->dropped) {
		ex->retries_left++;
		ex_retry(ex);
		return;
	}
	if (!ex->resp_started && may && ex_can_retry(ex)) {
		ex_retry(ex);
		return;
	}
	ex_give_up(ex, 503, EXF_UC | (ex->tries > 1 ? EXF_URX : 0),
		   "upstream connect error or disconnect/reset before headers");
}

static void ex_up_writable(void *arg)
{
	ex_push_body(arg);
}

static const struct upstream_ops ex_up_ops = {
    .ready = ex_up_ready,
    .failed = ex_up_failed,
    .head = ex_up_head,
    .data = ex_up_data,
    .trailers = ex_up_trailers,
    .reset = ex_up_reset,
    .writable = ex_up_writable,
};

/* ---- timers ---- */

static void ex_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exchange *ex = arg;

	px_ctr_add(ex->w, RC_HTTP_TIMEOUTS, 1);
	ex_give_up(ex, 504, EXF_UT, "upstream request timeout");
}

static void ex_try_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exchange *ex = arg;

	px_ctr_add(ex->w, RC_HTTP_TIMEOUTS, 1);
	if (ex_can_retry(ex)) {
		ex_retry(ex);
		return;
	}
	ex_give_up(ex, 504, EXF_UT, "upstream request timeout");
}

/* The client's request is complete: the route timeout runs from here (Envoy's rule). */
static void ex_req_complete(struct exchange *ex)
{
	ex->req_done = true;
	if (ex->timeout_ms)
		ex_timer(&ex->ev_timeout, ex->timeout_ms);
}

/* ---- downstream events ---- */

struct exchange *exchange_new(struct hsession *hs, uint32_t sid, struct http_head *head,
			      bool end_stream)
{
	struct px_worker *w = hsession_worker(hs);
	struct exchange *ex = calloc(1, sizeof(*ex));

	if (!ex)
		return NULL;
	ex->hs = hs;
	ex->w = w;
	ex->sid = sid;
	ex->t0_ns = ex_now_ns();
	ex->grpc_status = -1;
	ex->retriable = true;
	px_list_init(&ex->link);
	http_head_init(&ex->req, HTTP_REQUEST, 0);
	http_head_init(&ex->req_trailers, HTTP_TRAILERS, 0);
	http_head_init(&ex->resp_trailers, HTTP_TRAILERS, 0);
	event_assign(&ex->ev_timeout, w->base, -1, 0, ex_timeout_cb, ex);
	event_assign(&ex->ev_try, w->base, -1, 0, ex_try_cb, ex);
	event_assign(&ex->ev_later, w->base, -1, 0, ex_later_cb, ex);
	upstream_req_init(&ex->up, &ex_up_ops, ex);
	if (http_head_copy(&ex->req, head)) {
		http_head_fini(&ex->req);
		free(ex);
		return NULL;
	}
	ex->h2_up = hsession_dest(hs)->upstream_proto == ROUTE_PROTO_HTTP2 ||
		    hsession_dest(hs)->upstream_proto == ROUTE_PROTO_GRPC;
	ex->req_done = end_stream;
	return ex;
}

void exchange_start(struct exchange *ex)
{
	ex_default_retries(ex);
	ex_prepare(ex);
	if (ex->req_done)
		ex_req_complete(ex);
	if (ex_pick(ex)) {
		ex_local(ex, 503, EXF_UH, "no healthy upstream");
		return;
	}
	ex_attempt(ex);
}

void exchange_req_data(struct exchange *ex, const uint8_t *buf, size_t len, bool end_stream)
{
	ex->req_bytes += len;
	if (len && bytes_append(&ex->body, buf, len)) {
		ex_give_up(ex, 503, EXF_DC, "out of memory");
		return;
	}
	if (ex->dropped + ex->body.len > EX_RETRY_MAX)
		ex->retriable = false;
	if (end_stream)
		ex_req_complete(ex);
	if (ex->up.sid)
		ex_push_body(ex);
}

void exchange_req_trailers(struct exchange *ex, struct http_head *trailers)
{
	if (http_head_copy(&ex->req_trailers, trailers) == 0)
		ex->has_req_trailers = true;
	ex_req_complete(ex);
	if (ex->up.sid)
		ex_push_body(ex);
}

void exchange_down_reset(struct exchange *ex, enum codec_err err)
{
	ex->flags |= EXF_DC;
	ex_finish(ex, false);
}

void exchange_down_writable(struct exchange *ex)
{
	if (ex->resp_started)
		ex_push_resp(ex);
}

void exchange_abort(struct exchange *ex)
{
	exchange_down_reset(ex, CODEC_E_CANCEL);
}
