// SPDX-License-Identifier: Apache-2.0
/*
 * The shared per-cluster state declared in limits.h: a small chained hash of named
 * entries (clusters, rate-limit buckets), each with its counters, under one mutex.
 * Entries are never freed before the table: their number is bounded by the names config
 * ever used, and a name that comes back keeps its state, as Envoy's stats do.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "model/model.h"
#include "proxy/limits.h"
#include "proxy/worker.h"

#define LIM_BUCKETS 512
#define LIM_EPS	    64 /* outlier state kept per cluster (endpoints beyond share a slot) */

struct lim_ep {
	uint32_t ip;
	uint16_t port;
	uint32_t consecutive_5xx;
	uint32_t consecutive_gw;
	uint32_t ejections;	/* times ejected: the ejection time grows with it */
	uint64_t ejected_until; /* ms; 0 when in service */
	bool hc_down;		/* active health checks failed it */
};

struct lim_entry {
	struct lim_entry *next;
	char *name;
	/* circuit breaker */
	uint32_t active, pending, retries;
	/* token bucket */
	double tokens;
	uint64_t last_fill_ms;
	bool bucket_init;
	/* outlier detection */
	struct lim_ep eps[LIM_EPS];
	unsigned neps;
};

struct px_limits {
	pthread_mutex_t lock;
	struct lim_entry *b[LIM_BUCKETS];
};

static unsigned lim_hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % LIM_BUCKETS;
}

/* The entry <name>, created when missing; NULL when out of memory. Lock held. */
static struct lim_entry *lim_get(struct px_limits *l, const char *name)
{
	unsigned h = lim_hash(name);
	struct lim_entry *e;

	for (e = l->b[h]; e; e = e->next)
		if (!strcmp(e->name, name))
			return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->name = strdup(name);
	if (!e->name) {
		free(e);
		return NULL;
	}
	e->next = l->b[h];
	l->b[h] = e;
	return e;
}

struct px_limits *limits_new(void)
{
	struct px_limits *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void limits_free(struct px_limits *l)
{
	if (!l)
		return;
	for (int i = 0; i < LIM_BUCKETS; i++) {
		struct lim_entry *e = l->b[i], *n;

		for (; e; e = n) {
			n = e->next;
			free(e->name);
			free(e);
		}
	}
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* ---- rate limit ---- */

bool limits_rl_take(struct px_limits *l, const char *name, const struct route_ratelimit *rl,
		    uint64_t now_ms, uint32_t *remaining, uint32_t *reset_s)
{
	uint32_t interval = rl->fill_interval_ms ? rl->fill_interval_ms : 1000;
	struct lim_entry *e;
	bool ok = true;

	pthread_mutex_lock(&l->lock);
	e = lim_get(l, name);
	if (e) {
		if (!e->bucket_init) {
			e->tokens = rl->tokens;
			e->last_fill_ms = now_ms;
			e->bucket_init = true;
		}
		/* Whole fills since the last one, as Envoy's local rate limit refills. */
		if (now_ms >= e->last_fill_ms + interval) {
			uint64_t fills = (now_ms - e->last_fill_ms) / interval;

			e->tokens += (double)fills * rl->fill_tokens;
			if (e->tokens > rl->tokens)
				e->tokens = rl->tokens;
			e->last_fill_ms += fills * interval;
		}
		if (e->tokens >= 1)
			e->tokens -= 1;
		else
			ok = false;
		*remaining = (uint32_t)e->tokens;
		*reset_s = (uint32_t)((e->last_fill_ms + interval - now_ms + 999) / 1000);
	}
	pthread_mutex_unlock(&l->lock);
	return ok;
}

/* ---- circuit breaker ---- */

static uint32_t lim_or_max(uint32_t v)
{
	return v ? v : UINT32_MAX; /* Istio's default: 2^32-1, i.e. no limit */
}

enum limits_cb limits_cb_enter(struct px_limits *l, const char *name,
			       const struct route_conn_pool *cp, bool h2)
{
	uint32_t max_active =
	    h2 ? lim_or_max(cp->http2_max_requests) : lim_or_max(cp->max_connections);
	uint32_t max_pending = h2 ? 0 : lim_or_max(cp->http1_max_pending);
	enum limits_cb r = LIMITS_CB_OVERFLOW;
	struct lim_entry *e;

	pthread_mutex_lock(&l->lock);
	e = lim_get(l, name);
	if (!e) {
		r = LIMITS_CB_OK; /* out of memory: fail open, as Envoy without stats would */
	} else if (e->active < max_active && !e->pending) {
		e->active++;
		r = LIMITS_CB_OK;
	} else if (e->pending < max_pending) {
		e->pending++;
		r = LIMITS_CB_QUEUE;
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

enum limits_cb limits_cb_promote(struct px_limits *l, const char *name,
				 const struct route_conn_pool *cp, bool h2)
{
	uint32_t max_active =
	    h2 ? lim_or_max(cp->http2_max_requests) : lim_or_max(cp->max_connections);
	enum limits_cb r = LIMITS_CB_QUEUE;
	struct lim_entry *e;

	pthread_mutex_lock(&l->lock);
	e = lim_get(l, name);
	if (!e || e->active < max_active) {
		if (e) {
			e->pending--;
			e->active++;
		}
		r = LIMITS_CB_OK;
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

void limits_cb_leave(struct px_limits *l, const char *name, bool active)
{
	struct lim_entry *e;

	pthread_mutex_lock(&l->lock);
	e = lim_get(l, name);
	if (e && active && e->active)
		e->active--;
	else if (e && !active && e->pending)
		e->pending--;
	pthread_mutex_unlock(&l->lock);
}

bool limits_retry_enter(struct px_limits *l, const char *name, const struct route_conn_pool *cp)
{
	struct lim_entry *e;
	bool ok = true;

	if (!cp->max_retries)
		return true;
	pthread_mutex_lock(&l->lock);
	e = lim_get(l, name);
	if (e && e->retries >= cp->max_retries)
		ok = false;
	else if (e)
		e->retries++;
	pthread_mutex_unlock(&l->lock);
	return ok;
}

void limits_retry_leave(struct px_limits *l, const char *name)
{
	struct lim_entry *e;

	pthread_mutex_lock(&l->lock);
	e = lim_get(l, name);
	if (e && e->retries)
		e->retries--;
	pthread_mutex_unlock(&l->lock);
}

/* ---- outlier detection ---- */

static struct lim_ep *lim_ep(struct lim_entry *e, uint32_t ip, uint16_t port)
{
	unsigned i;

	for (i = 0; i < e->neps; i++)
		if (e->eps[i].ip == ip && e->eps[i].port == port)
			return &e->eps[i];
	if (e->neps == LIM_EPS)
		return NULL; /* untracked: never ejected */
	e->eps[e->neps] = (struct lim_ep){.ip = ip, .port = port};
	return &e->eps[e->neps++];
}

void limits_od_report(struct px_limits *l, const char *name, uint32_t ip, uint16_t port,
		      uint16_t status, const struct route_outlier *od, size_t neps, uint64_t now_ms)
{
	bool gw = status == 0 || status == 502 || status == 503 || status == 504;
	struct lim_entry *e;
	struct lim_ep *ep;

	if (!od->enabled)
		return;
	pthread_mutex_lock(&l->lock);
	e = lim_get(l, name);
	ep = e ? lim_ep(e, ip, port) : NULL;
	if (!ep)
		goto out;
	if (status >= 500 || status == 0) {
		ep->consecutive_5xx++;
		if (gw)
			ep->consecutive_gw++;
	} else {
		ep->consecutive_5xx = ep->consecutive_gw = 0;
		goto out;
	}
	if (ep->ejected_until > now_ms)
		goto out;
	if ((od->consecutive_5xx && ep->consecutive_5xx >= od->consecutive_5xx) ||
	    (od->consecutive_gateway && ep->consecutive_gw >= od->consecutive_gateway)) {
		unsigned out = 0, maxpct = od->max_ejection_percent ? od->max_ejection_percent : 10;
		uint32_t base = od->base_ejection_ms ? od->base_ejection_ms : 30000;

		for (unsigned i = 0; i < e->neps; i++)
			out += e->eps[i].ejected_until > now_ms;
		/* maxEjectionPercent, but always at least one (Envoy rounds the same way). */
		if (neps && (out + 1) * 100 > maxpct * neps && out > 0)
			goto out;
		if (od->min_health_percent && neps &&
		    (neps - out - 1) * 100 < od->min_health_percent * neps)
			goto out;
		ep->ejections++;
		ep->ejected_until = now_ms + (uint64_t)base * ep->ejections;
		ep->consecutive_5xx = ep->consecutive_gw = 0;
	}
out:
	pthread_mutex_unlock(&l->lock);
}

bool limits_od_ejected(struct px_limits *l, const char *name, uint32_t ip, uint16_t port,
		       uint64_t now_ms)
{
	struct lim_entry *e;
	bool out = false;

	pthread_mutex_lock(&l->lock);
	e = lim_get(l, name);
	for (unsigned i = 0; e && i < e->neps; i++)
		if (e->eps[i].ip == ip && e->eps[i].port == port)
			out = e->eps[i].ejected_until > now_ms || e->eps[i].hc_down;
	pthread_mutex_unlock(&l->lock);
	return out;
}

unsigned limits_od_count(struct px_limits *l, uint64_t now_ms)
{
	unsigned n = 0;

	pthread_mutex_lock(&l->lock);
	for (int b = 0; b < LIM_BUCKETS; b++)
		for (struct lim_entry *e = l->b[b]; e; e = e->next)
			for (unsigned i = 0; i < e->neps; i++)
				n += e->eps[i].ejected_until > now_ms;
	pthread_mutex_unlock(&l->lock);
	return n;
}

void limits_hc_set(struct px_limits *l, const char *name, uint32_t ip, uint16_t port, bool healthy)
{
	struct lim_entry *e;
	struct lim_ep *ep;

	pthread_mutex_lock(&l->lock);
	e = lim_get(l, name);
	ep = e ? lim_ep(e, ip, port) : NULL;
	if (ep)
		ep->hc_down = !healthy;
	pthread_mutex_unlock(&l->lock);
}

unsigned limits_od_foreach(struct px_limits *l, uint64_t now_ms,
			   void (*cb)(uint32_t ip, uint16_t port, void *arg), void *arg)
{
	unsigned n = 0;

	pthread_mutex_lock(&l->lock);
	for (int b = 0; b < LIM_BUCKETS; b++)
		for (struct lim_entry *e = l->b[b]; e; e = e->next)
			for (unsigned i = 0; i < e->neps; i++)
				if (e->eps[i].ejected_until > now_ms || e->eps[i].hc_down) {
					cb(e->eps[i].ip, e->eps[i].port, arg);
					n++;
				}
	pthread_mutex_unlock(&l->lock);
	return n;
}

static bool limits_skip(void *ctx, const struct route_cluster *c, size_t i)
{
	return limits_od_ejected(ctx, c->name, c->eps[i]->ip, htons(c->eps[i]->port), px_now_ms());
}

void limits_balancer_req(struct px_limits *l, const struct route_cluster *c,
			 struct balancer_req *br)
{
	if (!c->policy.outlier.enabled && !c->policy.health.enabled)
		return;
	br->is_ejected = limits_skip;
	br->ctx = l;
}
