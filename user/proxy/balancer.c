// SPDX-License-Identifier: Apache-2.0
/*
 * The load balancers of balancer.h. Every policy works over the same usable weights
 * (balancer_weight: readiness, the Pod's weir.dev/lb-weight, the caller's ejections) and
 * ends in one cumulative scan, so "which endpoints may take traffic" is decided in one
 * place. Only consistentHash keeps a derived table; it is built from the endpoints that are
 * ready and not drained, and ejections are honoured at lookup time by rehashing, so an
 * outlier ejection does not cost a 65537-slot rebuild on every worker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "model/lb.h"
#include "model/model.h"
#include "proxy/balancer.h"
#include "proxy/router.h"

/* Rehashes tried when a Maglev slot names an ejected endpoint, before a random pick. */
#define BALANCER_REHASH 8

void balancer_init(struct balancer *b, uint64_t seed)
{
	memset(b, 0, sizeof(*b));
	b->rng = seed ? seed : 1;
}

void balancer_fini(struct balancer *b)
{
	size_t i;

	free(b->cursor);
	for (i = 0; i < BALANCER_RINGS; i++)
		maglev_fini(&b->ring[i].table);
	memset(b, 0, sizeof(*b));
}

/* The caller's view of outlier detection: a bitmap, a callback, or both. */
static bool balancer_is_ejected(const struct route_cluster *c, size_t i,
				const struct balancer_req *r)
{
	if (r->ejected && (r->ejected[i / 64] >> (i % 64)) & 1)
		return true;
	return r->is_ejected && r->is_ejected(r->ctx, c, i);
}

uint32_t balancer_weight(const struct route_cluster *c, size_t i, const struct balancer_req *r)
{
	uint32_t w = lb_weight(c->eps[i]);

	if (!w || balancer_is_ejected(c, i, r))
		return 0;
	return w;
}

/*
 * The endpoint at position <pos> of the cumulative usable weights of <c> (pos < total).
 * Envoy's weighted pick; shared by every policy so they all skip the same endpoints.
 */
static size_t balancer_scan(const struct route_cluster *c, const struct balancer_req *r,
			    uint64_t pos)
{
	size_t i;

	for (i = 0; i < c->neps; i++) {
		uint32_t w = balancer_weight(c, i, r);

		if (pos < w)
			return i;
		pos -= w;
	}
	return c->neps; /* not reached when pos < total */
}

/* The sum of usable weights: 0 means no endpoint can take the request (503 UH). */
static uint64_t balancer_total(const struct route_cluster *c, const struct balancer_req *r)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < c->neps; i++)
		total += balancer_weight(c, i, r);
	return total;
}

static int balancer_random(struct balancer *b, const struct route_cluster *c,
			   const struct balancer_req *r, uint64_t total, size_t *out)
{
	*out = balancer_scan(c, r, lb_rand(&b->rng) % total);
	return 0;
}

/*
 * Round robin over the weighted sequence: the cursor walks positions 0..total-1 of the
 * cumulative weights, so an endpoint of weight 2 gets two consecutive turns per cycle.
 * Cursors are per cluster id and reset when the snapshot generation changes (ids are
 * only stable within one snapshot).
 */
static int balancer_round_robin(struct balancer *b, const struct route_cluster *c,
				const struct balancer_req *r, uint64_t total, size_t *out)
{
	if (r->gen != b->gen) {
		if (b->cursor)
			memset(b->cursor, 0, sizeof(*b->cursor) * b->ncursor);
		b->gen = r->gen;
	}
	if (c->id >= b->ncursor) {
		size_t n = (size_t)c->id + 16;
		uint32_t *cur = realloc(b->cursor, sizeof(*cur) * n);

		if (!cur)
			return -ENOMEM;
		memset(cur + b->ncursor, 0, sizeof(*cur) * (n - b->ncursor));
		b->cursor = cur;
		b->ncursor = n;
	}
	*out = balancer_scan(c, r, b->cursor[c->id]++ % total);
	return 0;
}

/*
 * Envoy's LEAST_REQUEST with the default choice_count 2: two weighted random candidates,
 * the one with fewer active requests wins (the first on a tie). Without counts it is
 * RANDOM.
 */
static int balancer_least_request(struct balancer *b, const struct route_cluster *c,
				  const struct balancer_req *r, uint64_t total, size_t *out)
{
	size_t x = balancer_scan(c, r, lb_rand(&b->rng) % total);
	size_t y = balancer_scan(c, r, lb_rand(&b->rng) % total);

	*out = x;
	if (r->active && r->active[y] < r->active[x])
		*out = y;
	return 0;
}

/* The cookie <name> in the request's Cookie headers ("a=1; b=2"), or NULL. */
static const char *balancer_cookie(const struct http_head *h, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	uint32_t i;

	for (i = 0; i < h->nhdrs; i++) {
		const char *p, *end;

		if (h->hdrs[i].name.len != 6 ||
		    memcmp(http_str_ptr(h, h->hdrs[i].name), "cookie", 6))
			continue;
		p = http_str_ptr(h, h->hdrs[i].value);
		end = p + h->hdrs[i].value.len;
		while (p < end) {
			const char *semi = memchr(p, ';', (size_t)(end - p));
			const char *stop = semi ? semi : end;

			while (p < stop && (*p == ' ' || *p == '\t'))
				p++;
			if ((size_t)(stop - p) > nlen && !memcmp(p, name, nlen) && p[nlen] == '=') {
				*vlen = (size_t)(stop - p - nlen - 1);
				return p + nlen + 1;
			}
			p = semi ? semi + 1 : end;
		}
	}
	return NULL;
}

int balancer_hash(const struct route_lb_policy *lb, const struct balancer_req *r, uint64_t *hash)
{
	const struct http_head *h = r->req;
	const char *v = NULL;
	size_t vlen = 0;

	switch (lb->hash_key) {
	case ROUTE_HASH_SOURCE_IP:
		*hash = maglev_hash(&r->src_ip, sizeof(r->src_ip), 0);
		return 0;
	case ROUTE_HASH_HEADER:
		/* The first value: a repeated hash header is a client bug, not a key. */
		if (h && lb->hash_name)
			v = http_head_get(h, lb->hash_name, strlen(lb->hash_name), &vlen);
		break;
	case ROUTE_HASH_COOKIE:
		if (h && lb->hash_name)
			v = balancer_cookie(h, lb->hash_name, &vlen);
		break;
	case ROUTE_HASH_QUERY:
		if (h && lb->hash_name)
			v = router_query_param(http_str_ptr(h, h->path), h->path.len, lb->hash_name,
					       strlen(lb->hash_name), &vlen);
		break;
	default:
		break;
	}
	if (!v)
		return -ENOENT;
	*hash = maglev_hash(v, vlen, 0);
	return 0;
}

/* The cached Maglev table of <c> for generation <gen>, built on a miss; NULL with errno. */
static const struct maglev *balancer_ring(struct balancer *b, const struct route_cluster *c,
					  uint64_t gen)
{
	struct maglev_backend *be;
	char(*keys)[24];
	size_t i, victim = 0;
	int err;

	for (i = 0; i < BALANCER_RINGS; i++) {
		if (b->ring[i].gen == gen && b->ring[i].cluster_id == c->id)
			return &b->ring[i].table;
		if (b->ring_age[i] < b->ring_age[victim])
			victim = i;
	}
	/*
	 * A miss: build into the least recently built ring (reusing its slots). Only the
	 * first request of a new snapshot pays for this, once per worker and hashed cluster.
	 */
	be = calloc(c->neps ? c->neps : 1, sizeof(*be));
	keys = calloc(c->neps ? c->neps : 1, sizeof(*keys));
	if (!be || !keys) {
		free(be);
		free(keys);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < c->neps; i++) {
		const uint8_t *a = (const uint8_t *)&c->eps[i]->ip;

		/* Envoy hashes the host's address: a Pod keeps its slots across snapshots. */
		snprintf(keys[i], sizeof(keys[i]), "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3],
			 c->eps[i]->port);
		be[i].key = keys[i];
		be[i].weight = lb_weight(c->eps[i]);
	}
	err = maglev_build(&b->ring[victim].table, be, c->neps, c->policy.lb.maglev_size);
	if (err == -EINVAL && c->policy.lb.maglev_size) {
		/* Bad input from the DestinationRule: say so once per build, keep serving. */
		log_warn("balancer",
			 "cluster %s: consistentHash.maglev.tableSize %u is not a prime above the "
			 "endpoint count; using %u",
			 c->name, c->policy.lb.maglev_size, MAGLEV_SIZE_DEFAULT);
		err = maglev_build(&b->ring[victim].table, be, c->neps, 0);
	}
	free(be);
	free(keys);
	b->ring[victim].gen = gen;
	b->ring[victim].cluster_id = c->id;
	b->ring_age[victim] = ++b->ring_clk;
	if (err && err != -ENOENT) {
		b->ring[victim].gen = 0;
		errno = -err;
		return NULL;
	}
	return &b->ring[victim].table;
}

/*
 * consistentHash: the request's key through the cluster's Maglev table. A slot naming an
 * ejected endpoint is rehashed a few times (Envoy rebuilds without unhealthy hosts; the
 * rehash keeps the keys of healthy endpoints where they were, which is what matters), and a
 * request without the key is placed at random, as Envoy does.
 */
static int balancer_consistent(struct balancer *b, const struct route_cluster *c,
			       const struct balancer_req *r, uint64_t total, size_t *out)
{
	const struct maglev *m;
	uint64_t h;
	int k, idx;

	if (balancer_hash(&c->policy.lb, r, &h))
		return balancer_random(b, c, r, total, out);
	m = balancer_ring(b, c, r->gen);
	if (!m)
		return -errno;
	for (k = 0; k <= BALANCER_REHASH; k++) {
		idx = maglev_lookup(m, h);
		if (idx >= 0 && (size_t)idx < c->neps && balancer_weight(c, (size_t)idx, r)) {
			*out = (size_t)idx;
			return 0;
		}
		h = maglev_hash(&h, sizeof(h), (uint64_t)k + 1);
	}
	return balancer_random(b, c, r, total, out);
}

int balancer_pick(struct balancer *b, const struct route_cluster *c, const struct balancer_req *r,
		  size_t *out)
{
	uint64_t total;

	if (c->policy.lb.policy == ROUTE_LB_PASSTHROUGH)
		return -EOPNOTSUPP;
	total = balancer_total(c, r);
	if (!total)
		return -EHOSTUNREACH;
	switch (c->policy.lb.policy) {
	case ROUTE_LB_ROUND_ROBIN:
		return balancer_round_robin(b, c, r, total, out);
	case ROUTE_LB_RANDOM:
		return balancer_random(b, c, r, total, out);
	case ROUTE_LB_HASH:
		return balancer_consistent(b, c, r, total, out);
	case ROUTE_LB_DEFAULT: /* Istio's default is LEAST_REQUEST */
	case ROUTE_LB_LEAST_REQUEST:
	default:
		return balancer_least_request(b, c, r, total, out);
	}
}
