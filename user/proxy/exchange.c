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
#include "proxy/access.h"
#include "proxy/hsession.h"
#include "proxy/limits.h"
#include "proxy/router.h"
#include "proxy/shadow.h"
#include "proxy/tracing.h"
#include "proxy/upstream.h"
#include "telemetry/reqstats.h"

#define EX_RETRY_MAX   (64 * 1024) /* request body bytes kept for a retry */
#define EX_BACKOFF_MS  25	   /* Envoy's base retry back-off, doubling, jittered */
#define EX_BACKOFF_MAX 250
#define EX_MAX_CODES   8

/* Response flags: Envoy's, as Istio's response_flags label spells them (reqstats.h). */
#define EXF_UH	REQSTATS_F_UH
#define EXF_UF	REQSTATS_F_UF
#define EXF_UO	REQSTATS_F_UO
#define EXF_NR	REQSTATS_F_NR
#define EXF_NC	REQSTATS_F_NC
#define EXF_URX REQSTATS_F_URX
#define EXF_UT	REQSTATS_F_UT
#define EXF_DC	REQSTATS_F_DC
#define EXF_UC	REQSTATS_F_UC
#define EXF_DI	REQSTATS_F_DI
#define EXF_FI	REQSTATS_F_FI
#define EXF_RL	REQSTATS_F_RL

#define EX_NAME_MAX 192 /* cluster and rule names kept across callbacks */

/* Counts gRPC messages in a body as it streams: each is a 5-byte prefix (flag, length). */
struct grpc_ctr {
	uint64_t msgs;
	uint32_t left; /* payload bytes of the current message still to come */
	uint32_t len;  /* the length being read */
	uint8_t pfx;   /* prefix bytes seen of the next message */
};

static void grpc_count(struct grpc_ctr *g, const uint8_t *p, size_t n)
{
	while (n) {
		if (g->left) {
			size_t k = n < g->left ? n : g->left;

			g->left -= (uint32_t)k;
			p += k;
			n -= k;
			continue;
		}
		if (g->pfx == 0)
			g->len = 0;
		else
			g->len = (g->len << 8) | *p;
		p++;
		n--;
		if (++g->pfx == 5) {
			g->msgs++;
			g->left = g->len;
			g->pfx = 0;
		}
	}
}

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
	bool h2_up;	       /* upstream wire: HTTP/2 */
	bool grpc;	       /* the request is gRPC (content-type application/grpc) */
	uint32_t timeout_ms;   /* route timeout; 0: none */
	uint32_t per_try_ms;   /* per-try timeout; 0: none */
	struct route_retry rp; /* retry policy (its codes point at <codes>) */
	uint16_t codes[EX_MAX_CODES];
	uint32_t retries;	   /* retries the policy counts so far */
	unsigned tries;		   /* attempts started */
	char cluster[EX_NAME_MAX]; /* route_cluster.name; "" without compiled routes */
	uint32_t cluster_id;	   /* ... its index in the snapshot of generation <gen> */
	uint64_t gen;
	struct route_conn_pool pool; /* the cluster's circuit breaker */
	struct route_outlier od;     /* ... and outlier detection */
	size_t cluster_neps;
	uint8_t cb_state;    /* 0 none, 1 counted active, 2 queued */
	struct px_list wait; /* on the worker's queue while <cb_state> is 2 */
	uint32_t delay_ms;   /* fault delay still to wait before the first attempt */
	bool resp_ops;	     /* response header operations below apply */
	struct http_head resp_rm, resp_set, resp_add;
	char mirror[EX_NAME_MAX]; /* a cluster that gets a copy of the request, or "" */
	struct sockaddr_in ep;	  /* the endpoint of the current attempt */
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
	bool resp_started;    /* the final head went downstream */
	bool resp_eos_up;     /* upstream's response ended (its end waits in <resp>) */
	bool resp_eos_sent;   /* ... and the end went to the client's codec */
	bool up_got_bytes;    /* this attempt got any response byte */
	bool free_retry_used; /* the one retry a reused connection's early close allows */
	bool retry_held;      /* counted in the cluster's retries in flight (maxRetries) */
	bool tunnel;	      /* Upgrade (WebSocket) or CONNECT over HTTP/1.1: once the
			       * upstream accepts, bytes pass both ways until both end */
	bool connect;	      /* ... CONNECT (its head is not the end of the request) */
	uint16_t status;
	int grpc_status; /* -1: none */
	uint32_t flags;

	uint64_t t0_ns;
	uint64_t req_bytes, resp_bytes;
	struct grpc_ctr req_msgs, resp_msgs; /* gRPC messages each way */
	struct event ev_timeout, ev_try, ev_later;
	struct tracing_req trace; /* trace context and the current client span (tracing.c) */
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

/* Hands the finished request to the access log and to request telemetry (reporter="source"). */
static void ex_record(struct exchange *ex, bool clean)
{
	const struct hsession_dest *d = hsession_dest(ex->hs);
	struct reqstats_req r;
	const struct px_access_http al = {
	    .t0_ns = ex->t0_ns,
	    .req_bytes = ex->req_bytes,
	    .resp_bytes = ex->resp_bytes,
	    .flags = ex->flags,
	    .status = ex->resp_started ? ex->status : 0,
	    .via_upstream = ex->resp_started && ex->up_got_bytes,
	    .cluster = ex->cluster,
	    .ep = &ex->ep,
	};

	px_access_http(ex->w, ex->hs, &ex->req, &al);
	if (!ex->w->rs)
		return;
	memset(&r, 0, sizeof(r));
	r.src_wl = d->src_wl;
	r.dst_wl = ex->dst_wl;
	r.svc_id = d->svc_id;
	r.flags = ex->flags;
	r.duration_us = (ex_now_ns() - ex->t0_ns) / 1000;
	r.req_bytes = ex->req_bytes;
	r.resp_bytes = ex->resp_bytes;
	r.response_code = ex->resp_started ? ex->status : 0;
	r.grpc_status = ex->grpc ? (int16_t)ex->grpc_status : REQSTATS_GRPC_NONE;
	if (ex->grpc && ex->grpc_status < 0 && !clean)
		r.grpc_status = 14; /* UNAVAILABLE: what the client's library reports */
	r.proto = ex->grpc ? REQSTATS_GRPC : REQSTATS_HTTP;
	r.reporter = REQSTATS_SOURCE;
	r.req_msgs = ex->grpc ? ex->req_msgs.msgs : 0;
	r.resp_msgs = ex->grpc ? ex->resp_msgs.msgs : 0;
	reqstats_record(ex->w->rs, &r);
	if (ex->trace.on) {
		struct tracing_end e = {
		    .dest = d,
		    .ep = &ex->ep,
		    .cluster = ex->cluster,
		    .h2_down = hsession_is_h2(ex->hs),
		    .status = r.response_code,
		    .grpc_status = r.grpc_status,
		    .flags = r.flags,
		    .dur_us = r.duration_us,
		    .req_bytes = r.req_bytes,
		    .resp_bytes = r.resp_bytes,
		};

		tracing_finish(&ex->trace, ex->w, &ex->req, &e);
	}
}

/* Ends <ex>: counts it, lets go of its upstream stream, unlinks and frees it. */
static void ex_finish(struct exchange *ex, bool clean)
{
	event_del(&ex->ev_timeout);
	event_del(&ex->ev_try);
	event_del(&ex->ev_later);
	upstream_release(&ex->up, !clean || !ex->resp_eos_up);
	/* Answered before the client finished sending: no RST_STREAM(NO_ERROR) after the
	 * answer. It is allowed, but may overtake the response, and gRPC clients then report
	 * INTERNAL instead of the status we sent. The rest of the body is read and dropped
	 * by the session (credit returned), as HTTP/1.1's is. */
	if (clean)
		px_ctr_add(ex->w, RC_HTTP_RESPONSES, 1);
	ex_account(ex);
	ex_record(ex, clean);
	if (ex->cb_state == 2)
		px_list_del(&ex->wait);
	if (ex->cb_state)
		limits_cb_leave(px_limits(ex->w), ex->cluster, ex->cb_state == 1);
	if (ex->retry_held)
		limits_retry_leave(px_limits(ex->w), ex->cluster);
	hsession_forget(ex->hs, ex);
	http_head_fini(&ex->resp_rm);
	http_head_fini(&ex->resp_set);
	http_head_fini(&ex->resp_add);
	http_head_fini(&ex->req);
	http_head_fini(&ex->req_trailers);
	http_head_fini(&ex->resp_trailers);
	bytes_free(&ex->body);
	bytes_free(&ex->resp);
	free(ex);
}

/*
 * Answers <ex> from the agent itself with <status> and <body> plus the headers of <extra>
 * (may be NULL), flagged <flags>, and ends it. A gRPC request gets a trailers-only response
 * with grpc-status <grpc> (-1: mapped from <status> as Envoy maps its local replies).
 */
static void ex_reply(struct exchange *ex, uint16_t status, int grpc, uint32_t flags,
		     const char *body, const struct http_head *extra)
{
	struct codec *down = ex_down(ex);
	size_t blen = strlen(body);
	struct http_head h;
	uint32_t sid = ex->sid;
	char num[24];

	ex->flags |= flags;
	ex->status = status;
	px_ctr_add(ex->w, RC_HTTP_LOCAL, 1);
	http_head_init(&h, HTTP_RESPONSE, 0);
	for (uint32_t i = 0; extra && i < extra->nhdrs; i++)
		http_head_add(&h, http_str_ptr(extra, extra->hdrs[i].name), extra->hdrs[i].name.len,
			      http_str_ptr(extra, extra->hdrs[i].value), extra->hdrs[i].value.len);
	if (ex->grpc) {
		ex->grpc_status = grpc >= 0 ? grpc : router_http_to_grpc(status);
		ex->status = h.status = 200;
		snprintf(num, sizeof(num), "%d", ex->grpc_status);
		http_head_add(&h, "content-type", 12, "application/grpc", 16);
		http_head_add(&h, "grpc-status", 11, num, strlen(num));
		http_head_add(&h, "grpc-message", 12, body, blen);
		codec_submit_head(down, &sid, &h, true);
	} else {
		h.status = status;
		snprintf(num, sizeof(num), "%zu", blen);
		h.content_length = (int64_t)blen;
		http_head_add(&h, "content-type", 12, "text/plain", 10);
		http_head_add(&h, "content-length", 14, num, strlen(num));
		if (codec_submit_head(down, &sid, &h, !blen) == 0 && blen)
			codec_submit_data(down, sid, (const uint8_t *)body, blen, true);
		ex->resp_bytes += blen;
	}
	http_head_fini(&h);
	ex->resp_started = true;
	ex->resp_eos_up = true; /* nothing upstream to wait for */
	hsession_kick(ex->hs);
	ex_finish(ex, true);
}

/* The agent's own answer with <status> and <body> (Envoy's words), flagged <flags>. */
static void ex_local(struct exchange *ex, uint16_t status, uint32_t flags, const char *body)
{
	ex_reply(ex, status, -1, flags, body, NULL);
}

/* ---- routing ---- */

/* The cluster of <ex> in snapshot <m>: by index while the generation is the same, by name after. */
static const struct route_cluster *ex_cluster(struct exchange *ex, const struct model *m)
{
	const struct model_routes *r = m ? m->routes : NULL;
	const struct model_pod *pod;

	if (!r || !ex->cluster[0])
		return NULL;
	if (m->generation == ex->gen && ex->cluster_id < r->nclusters &&
	    !strcmp(r->clusters[ex->cluster_id].name, ex->cluster))
		return &r->clusters[ex->cluster_id];
	/* A new snapshot: the same name, shaped by the rule that applies to this client now. */
	pod = model_find_pod_by_ip(m, hsession_dest(ex->hs)->client_ip);
	return route_cluster_for(route_cluster_find(r, ex->cluster), pod ? pod->ns : NULL,
				 pod ? pod->labels : NULL, pod ? pod->nlabels : 0);
}

static void ex_set_ep(struct exchange *ex, const struct model *m, const struct model_endpoint *ep)
{
	memset(&ex->ep, 0, sizeof(ex->ep));
	ex->ep.sin_family = AF_INET;
	ex->ep.sin_addr.s_addr = ep->ip;
	ex->ep.sin_port = htons(ep->port);
	ex->dst_wl = ep->pod ? ep->pod->wl_id : px_wl_of(m, ep->ip);
}

/*
 * Picks the endpoint of the next attempt from the current snapshot: from the routed
 * cluster with its load-balancing policy and outlier ejections, or (no compiled routes)
 * from the Service port the client connected to. Returns 0, -ENOENT when the Service or
 * cluster is gone, -EHOSTUNREACH when no endpoint is usable.
 */
static int ex_pick(struct exchange *ex)
{
	const struct hsession_dest *d = hsession_dest(ex->hs);
	const struct model *m = px_model(ex->w);
	const struct model_service *svc = NULL;
	const struct model_svc_port *sp = NULL;
	const struct route_cluster *c;
	const struct model_endpoint *ep;

	if (!m)
		return -ENOENT;
	if (ex->cluster[0]) {
		struct balancer_req br = {
		    .gen = m->generation ? m->generation : 1,
		    .req = &ex->req,
		    .src_ip = d->client_ip,
		};
		size_t idx;
		int err;

		c = ex_cluster(ex, m);
		if (!c)
			return -ENOENT;
		limits_balancer_req(px_limits(ex->w), c, &br);
		ex->cluster_neps = c->neps;
		err = balancer_pick(&ex->w->bal, c, &br, &idx);
		if (err == -EOPNOTSUPP) {
			/* PASSTHROUGH: where the client meant to go. */
			memset(&ex->ep, 0, sizeof(ex->ep));
			ex->ep = d->orig;
			ex->dst_wl = px_wl_of(m, d->orig.sin_addr.s_addr);
			return 0;
		}
		if (err)
			return -EHOSTUNREACH;
		ex_set_ep(ex, m, c->eps[idx]);
		return 0;
	}
	sp = model_find_svc_port(m, d->orig.sin_addr.s_addr, d->orig.sin_port, IPPROTO_TCP, &svc);
	if (!sp)
		return -ENOENT;
	ep = lb_pick(sp, lb_rand(&ex->w->rnd));
	if (!ep)
		return -EHOSTUNREACH;
	ex_set_ep(ex, m, ep);
	return 0;
}

/* Istio's default retry policy, for the default route (no VirtualService). */
static void ex_default_retries(struct exchange *ex)
{
	memset(&ex->rp, 0, sizeof(ex->rp));
	ex->rp.attempts = 2;
	ex->rp.on = ROUTE_RETRY_CONNECT_FAILURE | ROUTE_RETRY_REFUSED_STREAM |
		    ROUTE_RETRY_GRPC_UNAVAILABLE | ROUTE_RETRY_GRPC_CANCELLED |
		    ROUTE_RETRY_RETRIABLE_CODES;
	ex->codes[0] = 503;
	ex->rp.codes = ex->codes;
	ex->rp.ncodes = 1;
}

/* The policy <p> as the exchange keeps it (the snapshot's copy is gone by the retry). */
static void ex_copy_retries(struct exchange *ex, const struct route_retry *p)
{
	size_t n = p->ncodes < EX_MAX_CODES ? p->ncodes : EX_MAX_CODES;

	ex->rp = *p;
	if (n)
		memcpy(ex->codes, p->codes, n * sizeof(*ex->codes));
	ex->rp.codes = ex->codes;
	ex->rp.ncodes = n;
}

/* Response header operations of the route and destination, kept as heads to apply later. */
static int ex_copy_resp_ops(struct exchange *ex, const struct route_http *r,
			    const struct route_dest *d)
{
	const struct route_hdr_ops *ops[2] = {d ? &d->resp : NULL, &r->resp};
	int err = 0;

	for (int k = 0; k < 2; k++) {
		const struct route_hdr_ops *o = ops[k];

		if (!o)
			continue;
		for (size_t i = 0; !err && i < o->nremove; i++)
			err =
			    http_head_add(&ex->resp_rm, o->remove[i], strlen(o->remove[i]), "", 0);
		for (size_t i = 0; !err && i < o->nset; i++)
			err = http_head_add(&ex->resp_set, o->set[i].key, strlen(o->set[i].key),
					    o->set[i].value, strlen(o->set[i].value));
		for (size_t i = 0; !err && i < o->nadd; i++)
			err = http_head_add(&ex->resp_add, o->add[i].key, strlen(o->add[i].key),
					    o->add[i].value, strlen(o->add[i].value));
		if (o->nremove || o->nset || o->nadd)
			ex->resp_ops = true;
	}
	return err;
}

/* Applies the kept response operations to <h>: remove, then set, then add (Envoy's order). */
static void ex_apply_resp_ops(struct exchange *ex, struct http_head *h)
{
	const struct http_head *rm = &ex->resp_rm, *st = &ex->resp_set, *ad = &ex->resp_add;

	for (uint32_t i = 0; i < rm->nhdrs; i++)
		http_head_del(h, http_str_ptr(rm, rm->hdrs[i].name), rm->hdrs[i].name.len);
	for (uint32_t i = 0; i < st->nhdrs; i++)
		http_head_set(h, http_str_ptr(st, st->hdrs[i].name), st->hdrs[i].name.len,
			      http_str_ptr(st, st->hdrs[i].value), st->hdrs[i].value.len);
	for (uint32_t i = 0; i < ad->nhdrs; i++)
		http_head_add(h, http_str_ptr(ad, ad->hdrs[i].name), ad->hdrs[i].name.len,
			      http_str_ptr(ad, ad->hdrs[i].value), ad->hdrs[i].value.len);
}

/* Fills what the request needs and the route does not say. */
static void ex_prepare(struct exchange *ex)
{
	struct http_head *h = &ex->req;
	ex->grpc = router_is_grpc(h);
	ex->connect = h->method.len == 7 && !memcmp(http_str_ptr(h, h->method), "CONNECT", 7);
	ex->tunnel =
	    !hsession_is_h2(ex->hs) && (ex->connect || http_head_get(h, "upgrade", 7, NULL));
	if (ex->tunnel) {
		/* The head's end is not the client's: the tunnel's bytes follow it. Nothing of
		 * a tunnel can be replayed, and it is upstream over HTTP/1.1 whatever the port. */
		ex->req_done = false;
		ex->retriable = false;
		ex->h2_up = false;
	}
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
	tracing_begin(&ex->trace, ex->w, hsession_dest(ex->hs), h);
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
	/* The cluster's connectionPool: connect timeout, requests per connection, idle. */
	struct upstream_conf uconf = {
	    .connect_timeout_ms = ex->pool.connect_timeout_ms,
	    .max_requests = ex->pool.max_requests_per_conn,
	    .idle_ms = ex->pool.http_idle_timeout_ms,
	};
	int err;

	ex->tries++;
	ex->sent = 0;
	ex->req_eos_sent = false;
	ex->up_got_bytes = false;
	upstream_req_init(&ex->up, &ex_up_ops, ex);
	err = upstream_acquire(ex->w->pool, &ex->up, &ex->ep, ex->h2_up, &uconf);
	if (err) {
		ex_give_up(ex, 503, EXF_UF,
			   "upstream connect error or disconnect/reset before headers");
		return;
	}
	if (ex->per_try_ms)
		ex_timer(&ex->ev_try, ex->per_try_ms);
}

/* Whether the request can be sent again at all: nothing went to the client, body held. */
static bool ex_replayable(const struct exchange *ex)
{
	return ex->retriable && !ex->resp_started && !ex->dropped;
}

/* Whether the policy retries an attempt that ended with <status>/<grpc> or <reset>. */
static bool ex_can_retry(struct exchange *ex, uint16_t status, int grpc, enum router_reset reset)
{
	if (!ex_replayable(ex) || !router_should_retry(&ex->rp, status, grpc, reset, ex->retries))
		return false;
	/* connectionPool.http.maxRetries: retries in flight to the cluster, all workers. */
	if (ex->pool.max_retries && !ex->retry_held) {
		if (!limits_retry_enter(px_limits(ex->w), ex->cluster, &ex->pool))
			return false;
		ex->retry_held = true;
	}
	return true;
}

/* Tells outlier detection how the attempt's endpoint did (<status> 0: no response). */
static void ex_outlier(struct exchange *ex, uint16_t status)
{
	if (ex->od.enabled && ex->cluster[0])
		limits_od_report(px_limits(ex->w), ex->cluster, ex->ep.sin_addr.s_addr,
				 ex->ep.sin_port, status, &ex->od, ex->cluster_neps, px_now_ms());
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
	ex->retries++;
	px_ctr_add(ex->w, RC_HTTP_RETRIES, 1);
	ex_timer(&ex->ev_later, ms);
}

/* After a retry's back-off or a fault delay: pick an endpoint and try. */
static void ex_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exchange *ex = arg;
	int err = ex_pick(ex);

	if (err) {
		ex_give_up(ex, 503, EXF_UH | (ex->tries ? EXF_URX : 0), "no healthy upstream");
		return;
	}
	ex_attempt(ex);
}

/* Sends what the current attempt has not sent of the request body, and its end. */
static void ex_push_body(struct exchange *ex)
{
	/* A tunnel's bytes wait for the upstream to accept it. */
	if (ex->tunnel && !ex->resp_started)
		return;
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
	if (ex->tunnel && ex->req_done && ex->sent == ex->body.len) {
		/*
		 * The client half-closed its side of a tunnel: its FIN goes on upstream (the
		 * upstream codec ends its write side once the bytes are out) and the other
		 * direction keeps flowing, as tcp.c does for plain TCP. The tunnel ends when
		 * both directions have, or on a reset or the idle timeout.
		 */
		event_del(&ex->ev_timeout); /* a route timeout does not bound a tunnel */
		if (!ex->req_eos_sent && upstream_submit_data(&ex->up, NULL, 0, true) >= 0)
			ex->req_eos_sent = true;
		if (ex->resp_eos_sent)
			ex_finish(ex, true);
		return;
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
	/* An Upgrade request has no body: its tunnel bytes come after the 101. */
	bool eos =
	    ex->tunnel ? !ex->connect : ex->req_done && !ex->body.len && !ex->has_req_trailers;

	tracing_inject(&ex->trace, ex->w, &ex->req); /* a new client span per attempt */
	if (upstream_submit_head(&ex->up, &ex->req, eos)) {
		/* The connection could not take it (closing under us): try afresh. */
		if (ex_can_retry(ex, 0, -1, ROUTER_RESET_REMOTE)) {
			ex_retry(ex);
			return;
		}
		ex_give_up(ex, 503, EXF_UC,
			   "upstream connect error or disconnect/reset before headers");
		return;
	}
	ex->req_eos_sent = eos && !ex->tunnel; /* a tunnel ends when the client's bytes do */
	ex_push_body(ex);
}

static void ex_up_failed(void *arg, int err)
{
	struct exchange *ex = arg;

	ex->up.uc = NULL;
	ex_outlier(ex, 0);
	if (ex_can_retry(ex, 0, -1, ROUTER_RESET_CONNECT)) {
		ex_retry(ex);
		return;
	}
	ex_give_up(ex, 503, EXF_UF | (ex->tries > 1 ? EXF_URX : 0),
		   "upstream connect error or disconnect/reset before headers");
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
	if (ex->tunnel && (head->status == 101 || head->status / 100 == 2)) {
		/* Accepted: from here the exchange is a byte stream both ways. */
		event_del(&ex->ev_try);
		event_del(&ex->ev_timeout);
		ex->status = head->status;
		ex->resp_started = true;
		ex->resp_eos_up = end_stream;
		if (codec_submit_head(down, &sid, head, false)) {
			codec_reset(down, ex->sid, CODEC_E_INTERNAL);
			ex_finish(ex, false);
			return;
		}
		hsession_kick(ex->hs);
		ex_push_body(ex); /* bytes the client sent ahead */
		return;
	}
	if (head->status < 200) {
		/* 100 Continue and 103 Early Hints pass through; 101 needs an upgrade path. */
		if (head->status != 101 && !ex->resp_started)
			codec_submit_head(down, &sid, head, false);
		hsession_kick(ex->hs);
		return;
	}
	/* A trailers-only gRPC response carries its status in the head. */
	ex_outlier(ex, head->status);
	if (ex_can_retry(ex, head->status, ex_grpc_status(head), ROUTER_RESET_NONE)) {
		ex_retry(ex);
		return;
	}
	if (ex->resp_ops)
		ex_apply_resp_ops(ex, head);
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
			ex->resp_eos_sent = true;
			hsession_kick(ex->hs);
			/* A tunnel whose backend half-closed: the client's bytes still go up. */
			if (!ex->tunnel || ex->req_eos_sent)
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
	if (ex->grpc)
		grpc_count(&ex->resp_msgs, buf, len);
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

	ex->up.uc = NULL;
	/* A kept-alive connection the server closed just as we reused it: the request never
	 * reached an application. Try once more without spending an attempt, as Envoy does. */
	if (reused && !ex->up_got_bytes && !ex->free_retry_used && ex_replayable(ex)) {
		ex->free_retry_used = true;
		ex_retry(ex);
		ex->retries--;
		return;
	}
	ex_outlier(ex, 0);
	if (ex_can_retry(ex, 0, -1,
			 err == CODEC_E_REFUSED ? ROUTER_RESET_REFUSED : ROUTER_RESET_REMOTE)) {
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
	ex_outlier(ex, 0);
	if (ex_can_retry(ex, 0, -1, ROUTER_RESET_TRY_TIMEOUT)) {
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
	/* A copy to the mirror cluster once the whole request is known (and still held). */
	if (ex->mirror[0] && ex_replayable(ex))
		shadow_send(ex->w, ex->mirror, &ex->req, ex->body.p, ex->body.len,
			    ex->has_req_trailers ? &ex->req_trailers : NULL,
			    hsession_dest(ex->hs)->client_ip);
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
	http_head_init(&ex->resp_rm, HTTP_TRAILERS, 0);
	http_head_init(&ex->resp_set, HTTP_TRAILERS, 0);
	http_head_init(&ex->resp_add, HTTP_TRAILERS, 0);
	px_list_init(&ex->wait);
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

/* Sends <ex> on: after a fault delay if one was drawn, else the first attempt now. */
static void ex_go(struct exchange *ex)
{
	if (ex->delay_ms) {
		ex->flags |= EXF_DI;
		ex_timer(&ex->ev_later, ex->delay_ms);
		ex->delay_ms = 0;
		return;
	}
	if (ex_pick(ex)) {
		ex_local(ex, 503, EXF_UH, "no healthy upstream");
		return;
	}
	ex_attempt(ex);
}

/* Answers 429 for a local rate limit, with the x-ratelimit-* headers (gRPC: RESOURCE_EXHAUSTED). */
static void ex_ratelimited(struct exchange *ex, const struct route_ratelimit *rl, uint32_t left,
			   uint32_t reset)
{
	struct http_head h;
	char v[3][16];

	http_head_init(&h, HTTP_RESPONSE, 0);
	snprintf(v[0], sizeof(v[0]), "%u", rl->tokens);
	snprintf(v[1], sizeof(v[1]), "%u", left);
	snprintf(v[2], sizeof(v[2]), "%u", reset);
	http_head_add(&h, "x-ratelimit-limit", 17, v[0], strlen(v[0]));
	http_head_add(&h, "x-ratelimit-remaining", 21, v[1], strlen(v[1]));
	http_head_add(&h, "x-ratelimit-reset", 17, v[2], strlen(v[2]));
	ex_reply(ex, 429, 8, EXF_RL, "local_rate_limited", &h);
	http_head_fini(&h);
}

/* Answers with the route's redirect. */
static void ex_redirect(struct exchange *ex, const struct route_redirect *rd)
{
	struct codec *down = ex_down(ex);
	struct http_head h;
	uint32_t sid = ex->sid;

	http_head_init(&h, HTTP_RESPONSE, 0);
	if (router_redirect(&ex->req, rd, &h)) {
		http_head_fini(&h);
		ex_local(ex, 500, 0, "redirect too long");
		return;
	}
	http_head_set(&h, "content-length", 14, "0", 1);
	h.content_length = 0;
	ex->status = h.status;
	px_ctr_add(ex->w, RC_HTTP_LOCAL, 1);
	codec_submit_head(down, &sid, &h, true);
	http_head_fini(&h);
	ex->resp_started = ex->resp_eos_up = true;
	hsession_kick(ex->hs);
	ex_finish(ex, true);
}

/*
 * Routes <ex> in the current snapshot and copies out what later callbacks need. Returns
 * true when the exchange goes on upstream, false when it was answered here (and is gone).
 */
static bool ex_route(struct exchange *ex)
{
	const struct hsession_dest *d = hsession_dest(ex->hs);
	const struct model *m = px_model(ex->w);
	const struct model_service *svc = NULL;
	const struct model_svc_port *sp = NULL;
	const struct model_pod *pod;
	const struct route_table *t;
	const struct route_http *r;
	const struct route_cluster *c;
	const struct route_ratelimit *rl = NULL;
	struct router_source src = {0};
	struct router_result res;
	struct router_fault_out fo;

	ex_default_retries(ex);
	if (m)
		sp = model_find_svc_port(m, d->orig.sin_addr.s_addr, d->orig.sin_port, IPPROTO_TCP,
					 &svc);
	if (!sp) {
		ex_local(ex, 503, EXF_UH, "no healthy upstream");
		return false;
	}
	t = m->routes ? route_table_find(m->routes, svc, sp) : NULL;
	if (!t) {
		/* No compiled tables (hand-built snapshots): the port itself, default policy. */
		ex->timeout_ms = (uint32_t)router_timeout_ms(NULL, &ex->req);
		return true;
	}
	pod = model_find_pod_by_ip(m, d->client_ip);
	if (pod) {
		src.labels = pod->labels;
		src.nlabels = pod->nlabels;
		src.ns = pod->ns;
	}
	src.port = sp->port;
	if (router_route(t, &ex->req, &src, &ex->w->rnd, &res) < 0) {
		ex_local(ex, 500, 0, "routing failed");
		return false;
	}
	r = res.route;
	switch (res.verdict) {
	case ROUTER_NO_ROUTE:
		ex_local(ex, 404, EXF_NR, "");
		return false;
	case ROUTER_NO_CLUSTER:
		ex_local(ex, 503, EXF_NC, "no healthy upstream");
		return false;
	case ROUTER_REDIRECT:
		ex_redirect(ex, r->redirect);
		return false;
	case ROUTER_DIRECT:
		ex_local(ex, res.status, 0, r->direct_body ? r->direct_body : "");
		return false;
	default:
		break;
	}
	c = res.cluster;
	snprintf(ex->cluster, sizeof(ex->cluster), "%s", c->name);
	ex->cluster_id = c->id;
	ex->gen = m->generation;
	ex->pool = c->policy.pool;
	ex->od = c->policy.outlier;
	ex->h2_up = c->proto == ROUTE_PROTO_HTTP2 || c->proto == ROUTE_PROTO_GRPC ||
		    (c->proto != ROUTE_PROTO_HTTP && ex->h2_up);
	if (r) {
		router_req_headers(&ex->req, r, res.dest);
		if (r->rewrite)
			router_rewrite(&ex->req, r->rewrite, res.match);
		if (ex_copy_resp_ops(ex, r, res.dest)) {
			ex_local(ex, 500, 0, "out of memory");
			return false;
		}
		ex_copy_retries(ex, &r->retry);
		if (r->mirror && router_should_mirror(r, &ex->w->rnd))
			snprintf(ex->mirror, sizeof(ex->mirror), "%s", r->mirror->name);
		rl = r->ratelimit;
	}
	ex->timeout_ms = (uint32_t)router_timeout_ms(r, &ex->req);
	ex->per_try_ms = router_try_timeout_ms(r, ex->timeout_ms);
	if (!rl && c->policy.ratelimit.enabled)
		rl = &c->policy.ratelimit;
	if (rl) {
		uint32_t left = 0, reset = 0;
		char name[EX_NAME_MAX];

		snprintf(name, sizeof(name), "rl|%s|%s", rl->source ? rl->source : "",
			 r && rl == r->ratelimit ? r->name : c->name);
		if (!limits_rl_take(px_limits(ex->w), name, rl, px_now_ms(), &left, &reset)) {
			ex_ratelimited(ex, rl, left, reset);
			return false;
		}
	}
	if (r && r->fault) {
		router_fault(r->fault, ex->grpc, &ex->w->rnd, &fo);
		if (fo.abort) {
			ex->flags |= EXF_FI;
			if (fo.grpc_status >= 0 && ex->grpc) {
				char msg[32];

				snprintf(msg, sizeof(msg), "fault filter abort");
				ex_reply(ex, 200, fo.grpc_status, EXF_FI, msg, NULL);
			} else {
				ex_local(ex, fo.http_status, EXF_FI, "fault filter abort");
			}
			return false;
		}
		ex->delay_ms = fo.delay_ms;
	}
	if (c->subset_unknown) {
		ex_local(ex, 503, EXF_NC, "no healthy upstream");
		return false;
	}
	return true;
}

/* Circuit breaker: go, wait in the worker's queue, or 503 UO. Returns true to go now. */
static bool ex_admit(struct exchange *ex)
{
	const struct route_conn_pool *cp = &ex->pool;
	enum limits_cb v;

	if (!ex->cluster[0] ||
	    !(cp->max_connections || cp->http1_max_pending || cp->http2_max_requests))
		return true;
	v = limits_cb_enter(px_limits(ex->w), ex->cluster, cp, ex->h2_up);
	if (v == LIMITS_CB_OK) {
		ex->cb_state = 1;
		return true;
	}
	if (v == LIMITS_CB_QUEUE) {
		ex->cb_state = 2;
		px_list_add_tail(&ex->w->waiting, &ex->wait);
		return false;
	}
	ex_local(ex, 503, EXF_UO,
		 "upstream connect error or disconnect/reset before headers. "
		 "reset reason: overflow");
	return false;
}

/* Lets requests a circuit breaker queued go when room was made (any worker's). */
void exchange_tick(struct px_worker *w)
{
	while (!px_list_empty(&w->waiting)) {
		struct exchange *ex =
		    (struct exchange *)((char *)w->waiting.next - offsetof(struct exchange, wait));

		if (limits_cb_promote(px_limits(w), ex->cluster, &ex->pool, ex->h2_up) !=
		    LIMITS_CB_OK)
			return;
		px_list_del(&ex->wait);
		ex->cb_state = 1;
		ex_go(ex);
	}
}

void exchange_start(struct exchange *ex)
{
	ex_prepare(ex);
	if (!ex_route(ex))
		return;
	/* After routing: the route's timeout runs from the end of the request. */
	if (ex->req_done)
		ex_req_complete(ex);
	if (!ex_admit(ex))
		return;
	ex_go(ex);
}

void exchange_req_data(struct exchange *ex, const uint8_t *buf, size_t len, bool end_stream)
{
	ex->req_bytes += len;
	if (ex->grpc)
		grpc_count(&ex->req_msgs, buf, len);
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
