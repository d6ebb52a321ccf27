// SPDX-License-Identifier: Apache-2.0
/*
 * Request telemetry store (reqstats.h). Every table here, a worker's, a mailbox and the
 * control thread's series, is the same open-addressing table of series keyed by label
 * set: a worker aggregates into its own table, hands it over by swapping it into its
 * mailbox under a mutex taken once per flush, and the control thread swaps the mailbox
 * out and folds it in. Rates reuse the edge sampler (telemetry.c) on per-edge totals.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "telemetry/reqstats.h"
#include "telemetry/telemetry.h"

const double reqstats_bounds[REQSTATS_BUCKETS] = {
    0.5,  1,	5,     10,    25,    50,     100,    250,     500,     1000,
    2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
};

/* The same bounds times 1000, as integers: a duration in microseconds compares with them
 * directly, a size in bytes once multiplied by 1000 (0.5 is a bound, so integers are not
 * enough at the low end). */
static const uint64_t rs_bounds_milli[REQSTATS_BUCKETS] = {
    500,      1000,	 5000,	    10000,	25000,	       50000,	 100000,
    250000,   500000,	 1000000,   2500000,	5000000,       10000000, 30000000,
    60000000, 300000000, 600000000, 1800000000, 3600000000ULL,
};

/* An open-addressing table (linear probing) of series; proto 0 marks an empty slot. */
struct rs_table {
	struct reqstats_series *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

/*
 * One worker's shard. The worker alone touches <local> and <flush_due_ns>; <mbox> is
 * shared with the collector under <lock>; <dropped> is written by the worker and read by
 * the control thread with relaxed atomics (a statistic: no ordering needed).
 */
struct reqstats_shard {
	struct rs_table local;
	uint64_t flush_due_ns;
	uint64_t flush_ns;
	size_t max;
	pthread_mutex_t lock;
	struct rs_table mbox;
	uint64_t dropped;
};

/* Per-edge totals behind the rates, kept sorted by key for the sampler's row order. */
struct rs_edge {
	struct weir_edge_key key; /* dport 0, proto = request proto, path = reporter */
	uint64_t requests;
	uint64_t errors;
	size_t nseries; /* series feeding it; the edge goes with the last of them */
};

struct reqstats {
	struct event *timer; /* NULL when the caller drives sampling */
	struct reqstats_opts o;
	struct reqstats_shard **shards;
	unsigned nshards;
	struct rs_table spare;	/* swapped with a shard's mailbox by the collector */
	struct rs_table series; /* the control thread's series */
	struct rs_edge *edges;
	size_t nedges, edges_cap;
	struct telemetry *tel; /* request/error history per edge, for rates */
	uint64_t dropped;      /* requests dropped at collect (series bound, memory) */
	uint64_t expired;      /* series expired */
	bool failing;	       /* the last timer sample failed (log once per streak) */
};

/* ---- buckets and flags ---- */

unsigned reqstats_bucket_duration(uint64_t us)
{
	unsigned i;

	for (i = 0; i < REQSTATS_BUCKETS; i++)
		if (us <= rs_bounds_milli[i])
			break;
	return i;
}

unsigned reqstats_bucket_bytes(uint64_t bytes)
{
	/* Past the largest bound (3.6e6 bytes) it is +Inf; checking first keeps the product
	 * below from overflowing for sizes near 2^64. */
	if (bytes > rs_bounds_milli[REQSTATS_BUCKETS - 1])
		return REQSTATS_BUCKETS;
	return reqstats_bucket_duration(bytes * 1000);
}

/* Envoy's short names, indexed by bit (REQSTATS_F_*). */
static const char *const rs_flag_names[] = {
    "UH", "UT", "LR", "UR",  "UF", "UC",  "UO",	 "NR", "DI",
    "FI", "RL", "DC", "URX", "SI", "DPE", "UPE", "NC",
};

int reqstats_flags_str(uint32_t flags, char *buf, size_t size)
{
	size_t len = 0, i;

	flags &= REQSTATS_F_ALL;
	if (!flags) {
		if (size < 2)
			return -ENOSPC;
		memcpy(buf, "-", 2);
		return 1;
	}
	for (i = 0; i < sizeof(rs_flag_names) / sizeof(rs_flag_names[0]); i++) {
		size_t l = strlen(rs_flag_names[i]);

		if (!(flags & (1U << i)))
			continue;
		if (len + !!len + l + 1 > size)
			return -ENOSPC;
		if (len)
			buf[len++] = ',';
		memcpy(buf + len, rs_flag_names[i], l);
		len += l;
	}
	buf[len] = '\0';
	return (int)len;
}

const char *reqstats_proto_name(unsigned proto)
{
	return proto == REQSTATS_HTTP ? "http" : proto == REQSTATS_GRPC ? "grpc" : "unknown";
}

bool reqstats_is_error(const struct reqstats_key *key)
{
	if (key->response_code == 0 || key->response_code >= 500)
		return true;
	/* grpc-status 0 is OK; a gRPC error travels in a 200 response's trailers. */
	return key->proto == REQSTATS_GRPC && key->grpc_status > 0;
}

/* ---- series tables ---- */

static uint64_t rs_hash(const struct reqstats_key *k)
{
	uint64_t w[3], h;

	/* The key is 24 bytes without hidden padding (pad[] is zeroed by the builder). */
	memcpy(w, k, sizeof(w));
	h = w[0] * 0x9e3779b97f4a7c15ULL;
	h ^= (w[1] + (h >> 31)) * 0xc2b2ae3d27d4eb4fULL;
	h ^= (w[2] + (h >> 29)) * 0x165667b19e3779f9ULL;
	return h ^ (h >> 32);
}

static struct reqstats_series *rs_slot(struct reqstats_series *slots, size_t cap,
				       const struct reqstats_key *k)
{
	size_t i = rs_hash(k) & (cap - 1);

	while (slots[i].key.proto && memcmp(&slots[i].key, k, sizeof(*k)))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int rs_grow(struct rs_table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 16, i;
	struct reqstats_series *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < t->cap; i++)
		if (t->slots[i].key.proto)
			*rs_slot(slots, cap, &t->slots[i].key) = t->slots[i];
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

/* The series of <k> in <t>, added when new and <t> holds fewer than <max>; NULL when it
 * is absent and cannot be added. Sets *<added> when it was added. */
static struct reqstats_series *rs_get(struct rs_table *t, const struct reqstats_key *k, size_t max,
				      bool *added)
{
	struct reqstats_series *e;

	*added = false;
	if (t->cap) {
		e = rs_slot(t->slots, t->cap, k);
		if (e->key.proto)
			return e;
	}
	if (t->n >= max)
		return NULL;
	/* Three quarters full at most: probes stay short, an empty slot always exists, and a
	 * table at the default bound (10,000 series) stays at 16,384 slots, not 32,768. */
	if ((t->n + 1) * 4 > t->cap * 3 && rs_grow(t))
		return NULL;
	e = rs_slot(t->slots, t->cap, k);
	e->key = *k;
	t->n++;
	*added = true;
	return e;
}

static void rs_clear(struct rs_table *t)
{
	if (t->n)
		memset(t->slots, 0, t->cap * sizeof(*t->slots));
	t->n = 0;
}

static void rs_fini(struct rs_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static void rs_counts_add(struct reqstats_counts *d, const struct reqstats_counts *s)
{
	unsigned i;

	d->requests += s->requests;
	d->duration_us_sum += s->duration_us_sum;
	d->req_bytes_sum += s->req_bytes_sum;
	d->resp_bytes_sum += s->resp_bytes_sum;
	d->req_msgs += s->req_msgs;
	d->resp_msgs += s->resp_msgs;
	for (i = 0; i <= REQSTATS_BUCKETS; i++) {
		d->duration[i] += s->duration[i];
		d->req_size[i] += s->req_size[i];
		d->resp_size[i] += s->resp_size[i];
	}
}

/* Merges every series of <src> into <dst> (at most <max> series); returns the requests
 * that did not fit. */
static uint64_t rs_merge(struct rs_table *dst, const struct rs_table *src, size_t max)
{
	uint64_t lost = 0;
	size_t i;

	for (i = 0; i < src->cap; i++) {
		const struct reqstats_series *s = &src->slots[i];
		struct reqstats_series *d;
		bool added;

		if (!s->key.proto)
			continue;
		d = rs_get(dst, &s->key, max, &added);
		if (d)
			rs_counts_add(&d->c, &s->c);
		else
			lost += s->c.requests;
	}
	return lost;
}

/* ---- the worker side ---- */

static void rs_drop(struct reqstats_shard *s, uint64_t n)
{
	/* Single writer: a relaxed add only keeps the control thread's read tear-free. */
	__atomic_fetch_add(&s->dropped, n, __ATOMIC_RELAXED);
}

void reqstats_record(struct reqstats_shard *s, const struct reqstats_req *r)
{
	struct reqstats_series *e;
	struct reqstats_key k;
	uint64_t now;
	bool added;

	if (r->proto != REQSTATS_HTTP && r->proto != REQSTATS_GRPC) {
		rs_drop(s, 1);
		return;
	}
	memset(&k, 0, sizeof(k));
	k.src_wl = r->src_wl;
	k.dst_wl = r->dst_wl;
	k.svc_id = r->svc_id;
	k.flags = r->flags & REQSTATS_F_ALL;
	k.response_code = r->response_code;
	k.grpc_status = r->grpc_status < 0 ? REQSTATS_GRPC_NONE : r->grpc_status;
	k.proto = r->proto;
	k.reporter = r->reporter == REQSTATS_DESTINATION ? REQSTATS_DESTINATION : REQSTATS_SOURCE;

	e = rs_get(&s->local, &k, s->max, &added);
	if (!e) {
		rs_drop(s, 1);
		return;
	}
	e->c.requests++;
	e->c.duration_us_sum += r->duration_us;
	e->c.req_bytes_sum += r->req_bytes;
	e->c.resp_bytes_sum += r->resp_bytes;
	e->c.req_msgs += r->req_msgs;
	e->c.resp_msgs += r->resp_msgs;
	e->c.duration[reqstats_bucket_duration(r->duration_us)]++;
	e->c.req_size[reqstats_bucket_bytes(r->req_bytes)]++;
	e->c.resp_size[reqstats_bucket_bytes(r->resp_bytes)]++;

	/* A vDSO clock read per request keeps a busy worker's hand-over timely without a
	 * timer; an idle one relies on the worker calling reqstats_flush(). */
	now = clock_mono_ns();
	if (now >= s->flush_due_ns)
		reqstats_flush(s);
}

void reqstats_flush(struct reqstats_shard *s)
{
	struct rs_table t;
	uint64_t lost = 0;

	s->flush_due_ns = clock_mono_ns() + s->flush_ns;
	if (!s->local.n)
		return;
	pthread_mutex_lock(&s->lock);
	if (!s->mbox.n) {
		/* O(1): the collector left an empty, cleared table behind. */
		t = s->mbox;
		s->mbox = s->local;
		s->local = t;
	} else {
		lost = rs_merge(&s->mbox, &s->local, s->max);
	}
	pthread_mutex_unlock(&s->lock);
	rs_clear(&s->local);
	if (lost)
		rs_drop(s, lost);
}

/* ---- the control side ---- */

static void rs_edge_key(const struct reqstats_key *k, struct weir_edge_key *ek)
{
	memset(ek, 0, sizeof(*ek));
	ek->src_wl = k->src_wl;
	ek->dst_wl = k->dst_wl;
	ek->svc_id = k->svc_id;
	ek->proto = k->proto;
	ek->path = k->reporter;
}

static size_t rs_edge_pos(const struct reqstats *rs, const struct weir_edge_key *ek, bool *found)
{
	size_t lo = 0, hi = rs->nedges;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(&rs->edges[mid].key, ek, sizeof(*ek));

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The edge of series key <k>, inserted (with no series yet) when new; NULL on ENOMEM. */
static struct rs_edge *rs_edge_get(struct reqstats *rs, const struct reqstats_key *k)
{
	struct weir_edge_key ek;
	bool found;
	size_t pos;

	rs_edge_key(k, &ek);
	pos = rs_edge_pos(rs, &ek, &found);
	if (found)
		return &rs->edges[pos];
	if (rs->nedges == rs->edges_cap) {
		size_t cap = rs->edges_cap ? rs->edges_cap * 2 : 16;
		struct rs_edge *v = realloc(rs->edges, cap * sizeof(*v));

		if (!v)
			return NULL;
		rs->edges = v;
		rs->edges_cap = cap;
	}
	memmove(&rs->edges[pos + 1], &rs->edges[pos], (rs->nedges - pos) * sizeof(*rs->edges));
	memset(&rs->edges[pos], 0, sizeof(*rs->edges));
	rs->edges[pos].key = ek;
	rs->nedges++;
	return &rs->edges[pos];
}

/* Folds one handed-over table into the series at <now_ms>; returns -ENOMEM when some of it
 * was lost to memory (counted as dropped either way). */
static int rs_fold(struct reqstats *rs, const struct rs_table *t, uint64_t now_ms)
{
	int err = 0;
	size_t i;

	for (i = 0; i < t->cap; i++) {
		const struct reqstats_series *s = &t->slots[i];
		struct reqstats_series *d;
		struct rs_edge *e;
		bool added;

		if (!s->key.proto)
			continue;
		/* The edge first: a series must never exist without the edge it feeds. */
		e = rs_edge_get(rs, &s->key);
		d = e ? rs_get(&rs->series, &s->key, rs->o.max_series, &added) : NULL;
		if (!d) {
			if (!e || rs->series.n < rs->o.max_series)
				err = -ENOMEM;
			if (e && !e->nseries) /* just inserted for nothing: take it out again */
				memmove(e, e + 1,
					(size_t)(&rs->edges[--rs->nedges] - e) * sizeof(*e));
			rs->dropped += s->c.requests;
			continue;
		}
		if (added)
			e->nseries++;
		rs_counts_add(&d->c, &s->c);
		d->last_ms = now_ms;
		e->requests += s->c.requests;
		if (reqstats_is_error(&s->key))
			e->errors += s->c.requests;
	}
	return err;
}

int reqstats_collect(struct reqstats *rs, uint64_t now_ms)
{
	int err = 0, e;
	unsigned i;

	for (i = 0; i < rs->nshards; i++) {
		struct reqstats_shard *s = rs->shards[i];
		struct rs_table t;

		pthread_mutex_lock(&s->lock);
		t = s->mbox;
		s->mbox = rs->spare;
		rs->spare = t;
		pthread_mutex_unlock(&s->lock);
		e = rs_fold(rs, &rs->spare, now_ms);
		if (e)
			err = e;
		rs_clear(&rs->spare);
	}
	return err;
}

/* Whether series <s> has expired at <now_ms>. */
static bool rs_expired(const struct reqstats *rs, const struct reqstats_series *s, uint64_t now_ms)
{
	uint64_t idle = now_ms > s->last_ms ? now_ms - s->last_ms : 0;
	const struct reqstats_opts *o = &rs->o;

	if (idle >= o->idle_expire_ms)
		return true;
	if (!o->wl_alive || idle < o->gone_expire_ms)
		return false;
	/* Id 0 is "outside the mesh", never a workload that went away. */
	return (s->key.src_wl && !o->wl_alive(o->alive_ctx, s->key.src_wl)) ||
	       (s->key.dst_wl && !o->wl_alive(o->alive_ctx, s->key.dst_wl));
}

/* Drops expired series, rebuilding the table without them (expiry is rare: a rebuild is
 * simpler than deletion from a linear-probing table). Returns 0 or -ENOMEM. */
static int rs_expire(struct reqstats *rs, uint64_t now_ms)
{
	struct rs_table t = {0};
	size_t i, gone = 0;

	for (i = 0; i < rs->series.cap; i++)
		if (rs->series.slots[i].key.proto && rs_expired(rs, &rs->series.slots[i], now_ms))
			gone++;
	if (!gone)
		return 0;
	t.cap = rs->series.cap;
	t.slots = calloc(t.cap, sizeof(*t.slots));
	if (!t.slots)
		return -ENOMEM;
	for (i = 0; i < rs->series.cap; i++) {
		const struct reqstats_series *s = &rs->series.slots[i];
		struct weir_edge_key ek;
		bool found;
		size_t pos;

		if (!s->key.proto)
			continue;
		if (!rs_expired(rs, s, now_ms)) {
			*rs_slot(t.slots, t.cap, &s->key) = *s;
			t.n++;
			continue;
		}
		rs->expired++;
		rs_edge_key(&s->key, &ek);
		pos = rs_edge_pos(rs, &ek, &found);
		if (found && !--rs->edges[pos].nseries) {
			/* The sampler sees the edge leave and forgets it once its history ages. */
			memmove(&rs->edges[pos], &rs->edges[pos + 1],
				(rs->nedges - pos - 1) * sizeof(*rs->edges));
			rs->nedges--;
		}
	}
	rs_fini(&rs->series);
	rs->series = t;
	return 0;
}

int reqstats_sample(struct reqstats *rs, uint64_t now_ms)
{
	struct telemetry_row *rows = NULL;
	int err, e;
	size_t i;

	err = reqstats_collect(rs, now_ms);
	e = rs_expire(rs, now_ms);
	if (e)
		err = e;
	if (rs->nedges) {
		rows = calloc(rs->nedges, sizeof(*rows));
		if (!rows)
			return -ENOMEM;
	}
	/* The sampler's two counters carry requests (conns_opened) and errors (bytes). */
	for (i = 0; i < rs->nedges; i++) {
		rows[i].key = rs->edges[i].key;
		rows[i].val.conns_opened = rs->edges[i].requests;
		rows[i].val.bytes_sent = rs->edges[i].errors;
	}
	e = telemetry_sample_rows(rs->tel, now_ms, rows, rs->nedges);
	free(rows);
	/* A sample at or before the previous one is skipped, not an error. */
	if (e && e != -EINVAL)
		err = e;
	return err;
}

size_t reqstats_next(const struct reqstats *rs, size_t i, const struct reqstats_series **out)
{
	for (; i < rs->series.cap; i++) {
		if (rs->series.slots[i].key.proto) {
			*out = &rs->series.slots[i];
			return i + 1;
		}
	}
	return 0;
}

int reqstats_rates(const struct reqstats *rs, uint64_t now_ms, uint64_t horizon_ms,
		   struct reqstats_rate **out, size_t *n)
{
	struct reqstats_rate *v = NULL;
	size_t i, m = 0;

	*out = NULL;
	*n = 0;
	if (!rs->nedges)
		return 0;
	v = calloc(rs->nedges, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < rs->nedges; i++) {
		const struct rs_edge *e = &rs->edges[i];
		struct telemetry_row row;
		struct telemetry_rate r;

		/* Keys sort with the reporter last, so a destination report directly follows
		 * the source report of the same request path: the agent was both sides of it,
		 * and the source's view is the one the graph shows. */
		if (e->key.path == REQSTATS_DESTINATION && m &&
		    v[m - 1].reporter == REQSTATS_SOURCE && v[m - 1].src_wl == e->key.src_wl &&
		    v[m - 1].dst_wl == e->key.dst_wl && v[m - 1].svc_id == e->key.svc_id &&
		    v[m - 1].proto == e->key.proto)
			continue;
		memset(&row, 0, sizeof(row));
		row.key = e->key;
		row.val.conns_opened = e->requests;
		row.val.bytes_sent = e->errors;
		telemetry_rate(rs->tel, &row, now_ms, horizon_ms, &r);
		v[m].src_wl = e->key.src_wl;
		v[m].dst_wl = e->key.dst_wl;
		v[m].svc_id = e->key.svc_id;
		v[m].proto = e->key.proto;
		v[m].reporter = e->key.path;
		v[m].rps = r.conns_per_sec;
		v[m].errors_per_sec = r.bytes_per_sec;
		v[m].requests = e->requests;
		m++;
	}
	*out = v;
	*n = m;
	return 0;
}

size_t reqstats_nseries(const struct reqstats *rs)
{
	return rs ? rs->series.n : 0;
}

uint64_t reqstats_dropped(const struct reqstats *rs)
{
	uint64_t n;
	unsigned i;

	if (!rs)
		return 0;
	n = rs->dropped;
	for (i = 0; i < rs->nshards; i++)
		n += __atomic_load_n(&rs->shards[i]->dropped, __ATOMIC_RELAXED);
	return n;
}

uint64_t reqstats_expired(const struct reqstats *rs)
{
	return rs ? rs->expired : 0;
}

/* ---- lifetime ---- */

static void rs_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reqstats *rs = arg;
	int err = reqstats_sample(rs, telemetry_now_ms());

	if (err && !rs->failing)
		log_warn("reqstats", "collecting request telemetry failed: %s", strerror(-err));
	else if (!err && rs->failing)
		log_info("reqstats", "collecting request telemetry works again");
	rs->failing = err != 0;
}

struct reqstats_shard *reqstats_shard(struct reqstats *rs, unsigned i)
{
	return i < rs->nshards ? rs->shards[i] : NULL;
}

struct reqstats *reqstats_new(struct event_base *base, const struct reqstats_opts *opts)
{
	struct reqstats_opts none = {0};
	struct telemetry_opts topts = {0};
	struct reqstats *rs;
	struct timeval tv;
	unsigned i;

	if (!opts)
		opts = &none;
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return NULL;
	rs->o = *opts;
	if (!rs->o.shards)
		rs->o.shards = 1;
	if (!rs->o.max_series)
		rs->o.max_series = 10000;
	if (!rs->o.interval_ms)
		rs->o.interval_ms = 5000;
	if (!rs->o.flush_ms)
		rs->o.flush_ms = 1000;
	if (!rs->o.idle_expire_ms)
		rs->o.idle_expire_ms = 3600000;
	if (!rs->o.gone_expire_ms)
		rs->o.gone_expire_ms = 300000;

	topts.interval_ms = rs->o.interval_ms;
	topts.max_edges = rs->o.max_series; /* edges never outnumber series */
	rs->tel = telemetry_new(NULL, &topts, NULL, NULL);
	rs->shards = calloc(rs->o.shards, sizeof(*rs->shards));
	if (!rs->tel || !rs->shards)
		goto out_free;
	for (i = 0; i < rs->o.shards; i++) {
		struct reqstats_shard *s = calloc(1, sizeof(*s));

		if (!s)
			goto out_free;
		s->max = rs->o.max_series;
		s->flush_ns = (uint64_t)rs->o.flush_ms * 1000000;
		pthread_mutex_init(&s->lock, NULL);
		rs->shards[rs->nshards++] = s;
	}
	if (!base)
		return rs;
	rs->timer = event_new(base, -1, EV_PERSIST, rs_timer_cb, rs);
	if (!rs->timer)
		goto out_free;
	tv.tv_sec = rs->o.interval_ms / 1000;
	tv.tv_usec = (rs->o.interval_ms % 1000) * 1000;
	if (event_add(rs->timer, &tv))
		goto out_free;
	return rs;
out_free:
	reqstats_free(rs);
	errno = ENOMEM;
	return NULL;
}

void reqstats_free(struct reqstats *rs)
{
	unsigned i;

	if (!rs)
		return;
	if (rs->timer)
		event_free(rs->timer);
	for (i = 0; i < rs->nshards; i++) {
		rs_fini(&rs->shards[i]->local);
		rs_fini(&rs->shards[i]->mbox);
		pthread_mutex_destroy(&rs->shards[i]->lock);
		free(rs->shards[i]);
	}
	free(rs->shards);
	rs_fini(&rs->spare);
	rs_fini(&rs->series);
	free(rs->edges);
	telemetry_free(rs->tel);
	free(rs);
}
