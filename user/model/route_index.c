// SPDX-License-Identifier: Apache-2.0
/*
 * Indexed runs of a route table (route_run in route.h): a table of thousands of routes
 * that each select on one header's exact value is answered by a binary search instead of
 * thousands of header comparisons per request (measured in bench/: 10,000 such routes cost
 * the router 98 % of a worker's instructions before).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "model/route.h"

/* The header <r> selects on, when that is all it does; NULL otherwise. */
static const char *run_header(const struct route_http *r)
{
	const struct route_match *m;
	const struct route_kv_match *k;

	if (r->nmatches != 1 || r->export_ns)
		return NULL;
	m = &r->matches[0];
	if (m->nheaders != 1 || m->nquery || m->port || m->nsource_labels || m->source_namespace ||
	    m->uri.kind || m->scheme.kind || m->method.kind || m->authority.kind)
		return NULL;
	k = &m->headers[0];
	if (k->absent || k->match.kind != ROUTE_STR_EXACT || k->match.ignore_case ||
	    k->name[0] == ':' || !strcmp(k->name, "host"))
		return NULL;
	return k->name;
}

struct run_pair {
	const char *val;
	uint32_t idx;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct run_pair *x = a, *y = b;
	int c = strcmp(x->val, y->val);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Adds the run [start, end) on <hdr> to <runs>/<n>. Returns 0 or -ENOMEM. */
static int run_add(struct arena *a, const struct route_table *t, size_t start, size_t end,
		   const char *hdr, struct route_run **runs, size_t *n, size_t *cap)
{
	struct run_pair *p;
	const char **vals;
	uint32_t *idx;
	size_t k = 0;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		struct route_run *nr = realloc(*runs, nc * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		*runs = nr;
		*cap = nc;
	}
	p = malloc((end - start) * sizeof(*p));
	vals = arena_calloc(a, end - start, sizeof(*vals));
	idx = arena_calloc(a, end - start, sizeof(*idx));
	if (!p || !vals || !idx) {
		free(p);
		return -ENOMEM;
	}
	for (size_t i = start; i < end; i++)
		p[i - start] =
		    (struct run_pair){t->http[i]->matches[0].headers[0].match.value, (uint32_t)i};
	qsort(p, end - start, sizeof(*p), pair_cmp);
	/* The first route of a value wins, as in the scan: keep the lowest index per value. */
	for (size_t i = 0; i < end - start; i++) {
		if (k && !strcmp(vals[k - 1], p[i].val))
			continue;
		vals[k] = p[i].val;
		idx[k++] = p[i].idx;
	}
	free(p);
	(*runs)[(*n)++] = (struct route_run){
	    .start = start, .end = end, .header = hdr, .vals = vals, .idx = idx, .n = k};
	return 0;
}

int route_index_build(struct arena *a, struct route_table *t)
{
	struct route_run *runs = NULL, *kept;
	size_t n = 0, cap = 0, i = 0;
	int err = 0;

	while (i < t->nhttp && !err) {
		const char *h = run_header(t->http[i]);
		size_t j = i + 1;

		if (!h) {
			i++;
			continue;
		}
		while (j < t->nhttp) {
			const char *h2 = run_header(t->http[j]);

			if (!h2 || strcmp(h, h2))
				break;
			j++;
		}
		if (j - i >= ROUTE_RUN_MIN)
			err = run_add(a, t, i, j, h, &runs, &n, &cap);
		i = j;
	}
	if (!err && n) {
		kept = arena_calloc(a, n, sizeof(*kept));
		if (!kept)
			err = -ENOMEM;
		else {
			memcpy(kept, runs, n * sizeof(*kept));
			t->runs = kept;
			t->nruns = n;
		}
	}
	free(runs);
	return err;
}
