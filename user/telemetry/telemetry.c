// SPDX-License-Identifier: Apache-2.0
/*
 * Edge sampling and rates (telemetry.h). Every sample is taken for all edges at once, so
 * sample times live once per tier and each edge only keeps its counter values per slot.
 * Edges are kept in an array sorted by key: a sample merges the sorted map dump into it,
 * a rate lookup is a binary search. Runs on the control thread's event loop: no locks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "lib/log.h"
#include "lib/clock.h"
#include "telemetry/telemetry.h"

/* Counter values of one edge in one slot; an edge absent at that sample holds zeros. */
struct tel_point {
	uint64_t opened; /* conns_opened */
	uint64_t bytes;	 /* bytes_sent + bytes_rcvd */
};

struct tel_edge {
	struct weir_edge_key key;
	uint64_t last_seen_ms; /* newest sample the edge was in the map */
	struct tel_point fine[TELEMETRY_SLOTS];
	struct tel_point coarse[TELEMETRY_SLOTS];
};

/* Sample times of one tier: a ring written at <head>, <count> slots valid. */
struct tel_tier {
	uint64_t t_ms[TELEMETRY_SLOTS];
	unsigned head;
	unsigned count;
};

struct telemetry {
	struct event *timer; /* NULL when the caller drives sampling */
	telemetry_edges_fn edges;
	void *ctx;
	unsigned interval_ms;
	size_t max_edges;
	struct tel_edge **v; /* tracked edges sorted by key */
	size_t n;
	struct tel_tier fine, coarse;
	uint64_t samples;   /* samples taken */
	uint64_t untracked; /* new edges turned away by max_edges */
	uint64_t last_ms;   /* time of the newest sample */
	bool failing;	    /* the last timer sample failed (log once per streak) */
};

uint64_t telemetry_now_ms(void)
{
	return clock_mono_ns() / 1000000;
}

static int tel_key_cmp(const struct weir_edge_key *a, const struct weir_edge_key *b)
{
	/* The key has no padding (16 bytes of fields), so bytes compare as a total order. */
	return memcmp(a, b, sizeof(*a));
}

static int tel_row_cmp(const void *a, const void *b)
{
	return tel_key_cmp(&((const struct telemetry_row *)a)->key,
			   &((const struct telemetry_row *)b)->key);
}

static void tel_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct telemetry *t = arg;
	int err = telemetry_sample(t, telemetry_now_ms());

	if (err && !t->failing)
		log_warn("telemetry", "sampling edges failed: %s (rates go stale until it works)",
			 strerror(-err));
	else if (!err && t->failing)
		log_info("telemetry", "sampling edges works again");
	t->failing = err != 0;
}

struct telemetry *telemetry_new(struct event_base *base, const struct telemetry_opts *opts,
				telemetry_edges_fn edges, void *ctx)
{
	struct telemetry *t;
	struct timeval tv;

	if (!edges && base) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->edges = edges;
	t->ctx = ctx;
	t->interval_ms = opts && opts->interval_ms ? opts->interval_ms : 5000;
	t->max_edges = opts && opts->max_edges ? opts->max_edges : 65536;
	if (!base)
		return t;

	t->timer = event_new(base, -1, EV_PERSIST, tel_timer_cb, t);
	if (!t->timer)
		goto out_free;
	tv.tv_sec = t->interval_ms / 1000;
	tv.tv_usec = (t->interval_ms % 1000) * 1000;
	if (event_add(t->timer, &tv))
		goto out_free;
	tel_timer_cb(-1, 0, t); /* the first sample now, not one period late */
	return t;
out_free:
	telemetry_free(t);
	errno = ENOMEM;
	return NULL;
}

void telemetry_free(struct telemetry *t)
{
	size_t i;

	if (!t)
		return;
	if (t->timer)
		event_free(t->timer);
	for (i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	free(t);
}

int telemetry_sample(struct telemetry *t, uint64_t now_ms)
{
	struct telemetry_row *rows = NULL;
	size_t n = 0;
	int err;

	if (!t->edges)
		return -EINVAL;
	err = t->edges(t->ctx, &rows, &n);
	if (err)
		return err;
	err = telemetry_sample_rows(t, now_ms, rows, n);
	free(rows);
	return err;
}

/* How long an edge that left the map is kept: until all its slots have aged to zero. */
static uint64_t tel_retention_ms(const struct telemetry *t)
{
	return (uint64_t)t->interval_ms * TELEMETRY_SLOTS * TELEMETRY_COARSE_EVERY;
}

int telemetry_sample_rows(struct telemetry *t, uint64_t now_ms, const struct telemetry_row *rows,
			  size_t n)
{
	struct telemetry_row *sorted = NULL;
	struct tel_edge **nv;
	size_t i = 0, j = 0, k = 0;
	unsigned fi, ci = 0;
	bool coarse_due;

	if (t->samples && now_ms <= t->last_ms)
		return -EINVAL;
	if (n) {
		sorted = malloc(n * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, rows, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), tel_row_cmp);
	}
	/* At most every tracked edge plus every new one survives the merge. */
	nv = malloc((t->n + n + 1) * sizeof(*nv));
	if (!nv) {
		free(sorted);
		return -ENOMEM;
	}

	fi = t->fine.head;
	/* Half a period of slack so that timer jitter does not skip a coarse slot. */
	coarse_due =
	    t->coarse.count == 0 ||
	    now_ms - t->coarse.t_ms[(t->coarse.head + TELEMETRY_SLOTS - 1) % TELEMETRY_SLOTS] +
		    t->interval_ms / 2 >=
		(uint64_t)t->interval_ms * TELEMETRY_COARSE_EVERY;
	if (coarse_due)
		ci = t->coarse.head;

	while (i < t->n || j < n) {
		struct tel_point p = {0, 0};
		struct tel_edge *e;
		int c;

		if (i == t->n)
			c = 1;
		else if (j == n)
			c = -1;
		else
			c = tel_key_cmp(&t->v[i]->key, &sorted[j].key);

		if (c <= 0) {
			e = t->v[i++];
		} else if (k + (t->n - i) >= t->max_edges) {
			/* Tracked edges still to merge keep their places: a new one sorting
			 * before them must not push the total past the bound. */
			t->untracked++;
			j++;
			continue;
		} else {
			e = calloc(1, sizeof(*e));
			if (!e) {
				/* Keep what is tracked consistent: count the new edge as untracked.
				 */
				t->untracked++;
				j++;
				continue;
			}
			e->key = sorted[j].key;
		}
		/* A map holds each key once; should a dump repeat one, the copies add up. */
		while (c >= 0 && j < n && !tel_key_cmp(&e->key, &sorted[j].key)) {
			p.opened += sorted[j].val.conns_opened;
			p.bytes += sorted[j].val.bytes_sent + sorted[j].val.bytes_rcvd;
			e->last_seen_ms = now_ms;
			j++;
		}
		if (c < 0 && now_ms - e->last_seen_ms > tel_retention_ms(t)) {
			free(e); /* gone from the map long enough that every slot reads zero */
			continue;
		}
		e->fine[fi] = p;
		if (coarse_due)
			e->coarse[ci] = p;
		nv[k++] = e;
	}
	free(sorted);
	free(t->v);
	t->v = nv;
	t->n = k;

	t->fine.t_ms[fi] = now_ms;
	t->fine.head = (fi + 1) % TELEMETRY_SLOTS;
	if (t->fine.count < TELEMETRY_SLOTS)
		t->fine.count++;
	if (coarse_due) {
		t->coarse.t_ms[ci] = now_ms;
		t->coarse.head = (ci + 1) % TELEMETRY_SLOTS;
		if (t->coarse.count < TELEMETRY_SLOTS)
			t->coarse.count++;
	}
	t->samples++;
	t->last_ms = now_ms;
	return 0;
}

static const struct tel_edge *tel_find(const struct telemetry *t, const struct weir_edge_key *key)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = tel_key_cmp(&t->v[mid]->key, key);

		if (c == 0)
			return t->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Picks the base sample for a rate: newest at or before <target>, else the oldest one
 * before <now>. Sets *<tier> (0 fine, 1 coarse) and *<slot>; false when there is none. */
static bool tel_pick(const struct telemetry *t, uint64_t now_ms, uint64_t target, int *tier,
		     unsigned *slot)
{
	const struct tel_tier *tiers[2] = {&t->fine, &t->coarse};
	bool have_le = false, have_any = false;
	uint64_t best_le = 0, best_old = 0;
	int tle = 0, told = 0;
	unsigned sle = 0, sold = 0;
	int ti;

	for (ti = 0; ti < 2; ti++) {
		unsigned s;

		for (s = 0; s < tiers[ti]->count; s++) {
			uint64_t ts = tiers[ti]->t_ms[s];

			if (ts >= now_ms)
				continue;
			if (ts <= target && (!have_le || ts > best_le)) {
				have_le = true, best_le = ts, tle = ti, sle = s;
			}
			if (!have_any || ts < best_old) {
				have_any = true, best_old = ts, told = ti, sold = s;
			}
		}
	}
	if (have_le) {
		*tier = tle, *slot = sle;
		return true;
	}
	if (have_any) {
		*tier = told, *slot = sold;
		return true;
	}
	return false;
}

void telemetry_rate(const struct telemetry *t, const struct telemetry_row *row, uint64_t now_ms,
		    uint64_t horizon_ms, struct telemetry_rate *out)
{
	struct tel_point old = {0, 0}, cur;
	const struct tel_edge *e;
	uint64_t d_opened, d_bytes, t0;
	unsigned slot;
	int tier;

	memset(out, 0, sizeof(*out));
	if (!t || !t->samples)
		return;
	if (!tel_pick(t, now_ms, now_ms >= horizon_ms ? now_ms - horizon_ms : 0, &tier, &slot))
		return;
	t0 = tier ? t->coarse.t_ms[slot] : t->fine.t_ms[slot];
	e = tel_find(t, &row->key);
	if (e)
		old = tier ? e->coarse[slot] : e->fine[slot];
	/* Not tracked: the edge was not in the map at that sample, so it counted zero then. */

	cur.opened = row->val.conns_opened;
	cur.bytes = row->val.bytes_sent + row->val.bytes_rcvd;
	/* Counters only grow; one that shrank was recreated, so all of it is new. */
	d_opened = cur.opened >= old.opened ? cur.opened - old.opened : cur.opened;
	d_bytes = cur.bytes >= old.bytes ? cur.bytes - old.bytes : cur.bytes;

	out->seconds = (double)(now_ms - t0) / 1000.0;
	out->conns_per_sec = (double)d_opened / out->seconds;
	out->bytes_per_sec = (double)d_bytes / out->seconds;
}

bool telemetry_wl(const struct telemetry_names *names, uint32_t id, struct weir_wl_info *out)
{
	memset(out, 0, sizeof(*out));
	if (id == WEIR_ID_UNKNOWN || !names || !names->wl_info ||
	    names->wl_info(names->ctx, id, out)) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	/* The map is written by the agent, but a reader never trusts a NUL it did not see. */
	out->ns[sizeof(out->ns) - 1] = '\0';
	out->name[sizeof(out->name) - 1] = '\0';
	out->app[sizeof(out->app) - 1] = '\0';
	out->version[sizeof(out->version) - 1] = '\0';
	out->sa[sizeof(out->sa) - 1] = '\0';
	return true;
}

bool telemetry_svc(const struct telemetry_names *names, uint32_t id, struct weir_svc_info *out)
{
	memset(out, 0, sizeof(*out));
	if (id == WEIR_ID_UNKNOWN || !names || !names->svc_info ||
	    names->svc_info(names->ctx, id, out)) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	out->ns[sizeof(out->ns) - 1] = '\0';
	out->name[sizeof(out->name) - 1] = '\0';
	return true;
}

size_t telemetry_tracked(const struct telemetry *t)
{
	return t ? t->n : 0;
}

uint64_t telemetry_untracked(const struct telemetry *t)
{
	return t ? t->untracked : 0;
}

uint64_t telemetry_samples(const struct telemetry *t)
{
	return t ? t->samples : 0;
}

/* Units of a duration, largest first: the order they must appear in. */
static const struct {
	const char *suffix;
	uint64_t ms;
} tel_units[] = {
    {"y", 365ULL * 24 * 3600 * 1000},
    {"w", 7ULL * 24 * 3600 * 1000},
    {"d", 24ULL * 3600 * 1000},
    {"h", 3600ULL * 1000},
    {"ms", 1}, /* before "m" so that "ms" is not read as "m" */
    {"m", 60ULL * 1000},
    {"s", 1000},
};

/* Rank of a unit in the required order (ms comes last although it is listed early). */
static int tel_unit_rank(size_t u)
{
	static const int rank[] = {0, 1, 2, 3, 6, 4, 5};

	return rank[u];
}

int telemetry_parse_duration(const char *s, uint64_t *ms)
{
	const uint64_t limit = 1ULL << 62;
	uint64_t total = 0;
	int last_rank = -1;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	while (*s) {
		uint64_t ip = 0, fp = 0, fdiv = 1, v;
		size_t u, nd = 0;

		while (*s >= '0' && *s <= '9') {
			if (ip > (limit - 9) / 10)
				return -EINVAL;
			ip = ip * 10 + (uint64_t)(*s++ - '0');
			nd++;
		}
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				if (fdiv <
				    1000000000000ULL) { /* later digits are below 1 ms anyway */
					fp = fp * 10 + (uint64_t)(*s - '0');
					fdiv *= 10;
				}
				s++;
				nd++;
			}
		}
		if (!nd)
			return -EINVAL;
		for (u = 0; u < sizeof(tel_units) / sizeof(tel_units[0]); u++)
			if (!strncmp(s, tel_units[u].suffix, strlen(tel_units[u].suffix)))
				break;
		if (u == sizeof(tel_units) / sizeof(tel_units[0]) || tel_unit_rank(u) <= last_rank)
			return -EINVAL;
		last_rank = tel_unit_rank(u);
		s += strlen(tel_units[u].suffix);
		if (ip && tel_units[u].ms > limit / ip)
			return -EINVAL;
		v = ip * tel_units[u].ms;
		/* fp / fdiv < 1 and unit <= 1y, so fp * (unit / fdiv) cannot overflow. */
		v += (uint64_t)((double)fp / (double)fdiv * (double)tel_units[u].ms);
		if (v > limit - total)
			return -EINVAL;
		total += v;
	}
	*ms = total;
	return 0;
}
