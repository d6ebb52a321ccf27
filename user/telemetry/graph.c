// SPDX-License-Identifier: Apache-2.0
/*
 * The service graph builder and its JSON and DOT writers (graph.h). Rows are first named
 * into fixed-size records, sorted, and runs of equal (source, target, version) summed: the
 * same sort gives the deterministic order both writers print in.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telemetry/graph.h"

/* One row after naming, before aggregation. */
struct graph_rec {
	char source[WEIR_NAME_LEN];
	char target[WEIR_NAME_LEN];
	char version[WEIR_LABEL_LEN];
	char source_version[WEIR_LABEL_LEN]; /* "" when the builder had none */
	double qps, bps;
	double eps; /* request edges: errors per second */
	uint64_t conns;
	unsigned protos;
};

/* Below this a qps prints as "0.000000": filter_empty drops what a reader would see as 0. */
#define GRAPH_QPS_EPSILON 5e-7

static void graph_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

/* A workload's node name: canonical service, else workload name, else "unknown". */
static void graph_node_name(const struct weir_wl_info *wl, bool known, char *dst, size_t size)
{
	if (known && wl->app[0])
		graph_copy(dst, size, wl->app);
	else if (known && wl->name[0])
		graph_copy(dst, size, wl->name);
	else
		graph_copy(dst, size, GRAPH_UNKNOWN);
}

/* Names the endpoints of <r> (zeroed first) from the ids of a row or a request edge. */
static void graph_name_ids(uint32_t src_wl, uint32_t dst_wl, uint32_t svc_id,
			   const struct telemetry_names *names, struct graph_rec *r)
{
	struct weir_wl_info wl;
	struct weir_svc_info svc;
	bool known;

	memset(r, 0, sizeof(*r));
	known = telemetry_wl(names, src_wl, &wl);
	graph_node_name(&wl, known, r->source, sizeof(r->source));

	known = telemetry_wl(names, dst_wl, &wl);
	if (!known && telemetry_svc(names, svc_id, &svc) && svc.name[0])
		graph_copy(r->target, sizeof(r->target), svc.name); /* backend not in the mesh */
	else
		graph_node_name(&wl, known, r->target, sizeof(r->target));
	graph_copy(r->version, sizeof(r->version),
		   known && wl.version[0] ? wl.version : GRAPH_UNKNOWN);
}

static void graph_name_req(const struct reqstats_rate *q, const struct telemetry_names *names,
			   struct graph_rec *r)
{
	graph_name_ids(q->src_wl, q->dst_wl, q->svc_id, names, r);
	r->qps = q->rps;
	r->eps = q->errors_per_sec;
	r->conns = q->requests;
	r->protos = q->proto == REQSTATS_GRPC ? GRAPH_P_GRPC : GRAPH_P_HTTP;
}

static void graph_name_row(const struct telemetry_row *row, const struct telemetry_names *names,
			   const struct graph_opts *opts, struct graph_rec *r)
{
	struct telemetry_rate rate;

	graph_name_ids(row->key.src_wl, row->key.dst_wl, row->key.svc_id, names, r);
	telemetry_rate(opts->tel, row, opts->now_ms, opts->horizon_ms, &rate);
	r->qps = rate.conns_per_sec;
	r->bps = rate.bytes_per_sec;
	r->conns = row->val.conns_opened;
	r->protos = row->key.proto == IPPROTO_TCP   ? GRAPH_P_TCP
		    : row->key.proto == IPPROTO_UDP ? GRAPH_P_UDP
						    : GRAPH_P_OTHER;
}

static int graph_rec_cmp(const void *pa, const void *pb)
{
	const struct graph_rec *a = pa, *b = pb;
	int c = strcmp(a->source, b->source);

	if (!c)
		c = strcmp(a->target, b->target);
	if (!c)
		c = strcmp(a->version, b->version);
	if (!c)
		c = strcmp(a->source_version, b->source_version);
	/* Flow edges before request edges of the same pair; never folded together. */
	if (!c)
		c = !!(a->protos & GRAPH_P_L7) - !!(b->protos & GRAPH_P_L7);
	return c;
}

static int graph_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the nodes of <r> to <names> (room for 2 per record; deduplicated later). */
static int graph_add_nodes(struct graph *g, const struct graph_rec *r)
{
	g->nodes[g->nnodes] = strdup(r->source);
	if (!g->nodes[g->nnodes])
		return -ENOMEM;
	g->nnodes++;
	g->nodes[g->nnodes] = strdup(r->target);
	if (!g->nodes[g->nnodes])
		return -ENOMEM;
	g->nnodes++;
	return 0;
}

/*
 * Sorts <recs>[0..<n>), folds runs of equal keys and fills <g> (zeroed by the caller) with
 * the result. Shared by both builders, so both print in the same order.
 */
static int graph_from_recs(struct graph *g, struct graph_rec *recs, size_t n, bool filter_empty)
{
	size_t i, j, m = 0;
	int err;

	qsort(recs, n, sizeof(*recs), graph_rec_cmp);

	/* Fold runs of equal (source, target, version, source version) into recs[0..m). */
	for (i = 0; i < n; i = j) {
		struct graph_rec acc = recs[i];

		for (j = i + 1; j < n && !graph_rec_cmp(&recs[i], &recs[j]); j++) {
			acc.qps += recs[j].qps;
			acc.bps += recs[j].bps;
			acc.eps += recs[j].eps;
			acc.conns += recs[j].conns;
			acc.protos |= recs[j].protos;
		}
		recs[m++] = acc;
	}

	g->edges = calloc(m ? m : 1, sizeof(*g->edges));
	g->nodes = calloc(m ? 2 * m : 1, sizeof(*g->nodes));
	if (!g->edges || !g->nodes)
		return -ENOMEM;
	for (i = 0; i < m; i++) {
		struct graph_edge *e;

		/* Without filter_empty every named endpoint is a node, edge or not. */
		if (!filter_empty || recs[i].qps >= GRAPH_QPS_EPSILON) {
			err = graph_add_nodes(g, &recs[i]);
			if (err)
				return err;
		}
		if (filter_empty && recs[i].qps < GRAPH_QPS_EPSILON)
			continue;
		e = &g->edges[g->nedges];
		e->source = strdup(recs[i].source);
		e->target = strdup(recs[i].target);
		e->version = strdup(recs[i].version);
		g->nedges++;
		if (!e->source || !e->target || !e->version)
			return -ENOMEM;
		if (recs[i].source_version[0]) {
			e->source_version = strdup(recs[i].source_version);
			if (!e->source_version)
				return -ENOMEM;
		}
		e->qps = recs[i].qps;
		e->bytes_per_sec = recs[i].bps;
		e->conns = recs[i].conns;
		e->protos = recs[i].protos;
		/* Both rates come from the same samples, so errors never exceed requests;
		 * the clamp only guards against rounding. */
		if (recs[i].qps > 0)
			e->error_rate =
			    recs[i].eps >= recs[i].qps ? 1.0 : recs[i].eps / recs[i].qps;
	}

	qsort(g->nodes, g->nnodes, sizeof(*g->nodes), graph_str_cmp);
	for (i = 0, j = 0; i < g->nnodes; i++) {
		if (j && !strcmp(g->nodes[j - 1], g->nodes[i]))
			free(g->nodes[i]);
		else
			g->nodes[j++] = g->nodes[i];
	}
	g->nnodes = j;
	return 0;
}

int graph_build(struct graph *g, const struct telemetry_row *rows, size_t n,
		const struct telemetry_names *names, const struct graph_opts *opts)
{
	struct graph_opts none = {0};
	struct graph_rec *recs = NULL;
	size_t i;
	int err;

	memset(g, 0, sizeof(*g));
	if (!opts)
		opts = &none;
	if (!n && !opts->nreq)
		return 0;
	recs = calloc(n + opts->nreq, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		graph_name_row(&rows[i], names, opts, &recs[i]);
	for (i = 0; i < opts->nreq; i++)
		graph_name_req(&opts->req[i], names, &recs[n + i]);
	err = graph_from_recs(g, recs, n + opts->nreq, opts->filter_empty);
	free(recs);
	return err;
}

/* A plain name, "unknown" when absent. */
static const char *graph_or_unknown(const char *s)
{
	return s && s[0] ? s : GRAPH_UNKNOWN;
}

int graph_build_edges(struct graph *g, const struct graph_in *in, size_t n, bool filter_empty)
{
	struct graph_rec *recs;
	size_t i;
	int err;

	memset(g, 0, sizeof(*g));
	if (!n)
		return 0;
	recs = calloc(n, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct graph_rec *r = &recs[i];

		graph_copy(r->source, sizeof(r->source), graph_or_unknown(in[i].source));
		graph_copy(r->target, sizeof(r->target), graph_or_unknown(in[i].target));
		graph_copy(r->version, sizeof(r->version), graph_or_unknown(in[i].version));
		if (in[i].source_version && in[i].source_version[0])
			graph_copy(r->source_version, sizeof(r->source_version),
				   in[i].source_version);
		r->qps = in[i].qps;
		r->bps = in[i].bytes_per_sec;
		r->eps = in[i].errors_per_sec;
		r->conns = in[i].conns;
		r->protos = in[i].protos;
	}
	err = graph_from_recs(g, recs, n, filter_empty);
	free(recs);
	return err;
}

int graph_set_horizon(struct graph *g, const char *horizon)
{
	char *s = strdup(horizon);

	if (!s)
		return -ENOMEM;
	free(g->time_horizon);
	g->time_horizon = s;
	return 0;
}

int graph_add_warning(struct graph *g, const char *warning)
{
	char **w;

	if (!warning)
		return 0;
	w = realloc(g->warnings, (g->nwarnings + 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	g->warnings = w;
	w[g->nwarnings] = strdup(warning);
	if (!w[g->nwarnings])
		return -ENOMEM;
	g->nwarnings++;
	return 0;
}

void graph_fini(struct graph *g)
{
	size_t i;

	for (i = 0; i < g->nnodes; i++)
		free(g->nodes[i]);
	for (i = 0; i < g->nedges; i++) {
		free(g->edges[i].source);
		free(g->edges[i].target);
		free(g->edges[i].version);
		free(g->edges[i].source_version);
	}
	for (i = 0; i < g->nwarnings; i++)
		free(g->warnings[i]);
	free(g->warnings);
	free(g->time_horizon);
	free(g->nodes);
	free(g->edges);
	memset(g, 0, sizeof(*g));
}

const char *graph_protocol(unsigned protos)
{
	switch (protos) {
	case GRAPH_P_TCP:
		return "tcp";
	case GRAPH_P_UDP:
		return "udp";
	case GRAPH_P_OTHER:
		return "other";
	case GRAPH_P_HTTP:
		return "http";
	case GRAPH_P_GRPC:
		return "grpc";
	default:
		return "mixed";
	}
}

/* Appends "<s>" JSON-quoted. */
static void graph_json_str(struct strbuf *out, const char *s)
{
	strbuf_puts(out, "\"");
	strbuf_append_esc(out, s, STRBUF_ESC_JSON);
	strbuf_puts(out, "\"");
}

int graph_write_json(const struct graph *g, struct strbuf *out)
{
	size_t i;

	strbuf_puts(out, "{\"nodes\": {");
	for (i = 0; i < g->nnodes; i++) {
		if (i)
			strbuf_puts(out, ", ");
		graph_json_str(out, g->nodes[i]);
		strbuf_puts(out, ": {}");
	}
	strbuf_puts(out, "},\n \"edges\": [");
	for (i = 0; i < g->nedges; i++) {
		const struct graph_edge *e = &g->edges[i];

		strbuf_puts(out, i ? ",\n  " : "\n  ");
		strbuf_puts(out, "{\"source\": ");
		graph_json_str(out, e->source);
		strbuf_puts(out, ", \"target\": ");
		graph_json_str(out, e->target);
		strbuf_printf(out, ", \"labels\": {\"qps\": \"%.6f\", \"version\": ", e->qps);
		graph_json_str(out, e->version);
		if (e->source_version) {
			strbuf_puts(out, ", \"source_version\": ");
			graph_json_str(out, e->source_version);
		}
		if (e->protos & GRAPH_P_L7)
			strbuf_printf(out, ", \"protocol\": \"%s\", \"error_rate\": \"%.6f\"}}",
				      graph_protocol(e->protos), e->error_rate);
		else
			strbuf_printf(out, ", \"protocol\": \"%s\", \"bytes_per_sec\": \"%.6f\"}}",
				      graph_protocol(e->protos), e->bytes_per_sec);
	}
	strbuf_puts(out, g->nedges ? "\n ]" : "]");
	/* Only graphs that carry them: the agent's /graph keeps Istio's two keys. */
	if (g->time_horizon) {
		strbuf_puts(out, ",\n \"time_horizon\": ");
		graph_json_str(out, g->time_horizon);
	}
	if (g->nwarnings) {
		strbuf_puts(out, ",\n \"warnings\": [");
		for (i = 0; i < g->nwarnings; i++) {
			if (i)
				strbuf_puts(out, ", ");
			graph_json_str(out, g->warnings[i]);
		}
		strbuf_puts(out, "]");
	}
	strbuf_puts(out, "}\n");
	return out->err;
}

/* Appends "<s>" quoted as a DOT ID. */
static void graph_dot_str(struct strbuf *out, const char *s)
{
	strbuf_puts(out, "\"");
	strbuf_append_esc(out, s, STRBUF_ESC_DOT);
	strbuf_puts(out, "\"");
}

int graph_write_dot(const struct graph *g, struct strbuf *out)
{
	size_t i;

	strbuf_puts(out, "digraph \"weir\" {\n"
			 "\tgraph [rankdir=LR];\n"
			 "\tnode [shape=box, fontname=\"Helvetica\"];\n"
			 "\tedge [fontname=\"Helvetica\", fontsize=10];\n");
	for (i = 0; i < g->nnodes; i++) {
		strbuf_puts(out, "\t");
		graph_dot_str(out, g->nodes[i]);
		strbuf_puts(out, ";\n");
	}
	for (i = 0; i < g->nedges; i++) {
		const struct graph_edge *e = &g->edges[i];

		strbuf_puts(out, "\t");
		graph_dot_str(out, e->source);
		strbuf_puts(out, " -> ");
		graph_dot_str(out, e->target);
		/* "\n" stays two characters: DOT's line break inside a label. */
		strbuf_printf(out, " [label=\"qps: %.6f\\nversion: ", e->qps);
		strbuf_append_esc(out, e->version, STRBUF_ESC_DOT);
		if (e->source_version) { /* parallel edges from each source version tell apart */
			strbuf_puts(out, "\\nsource_version: ");
			strbuf_append_esc(out, e->source_version, STRBUF_ESC_DOT);
		}
		if (e->protos & GRAPH_P_L7)
			strbuf_printf(out, "\\nprotocol: %s\\nerror_rate: %.6f",
				      graph_protocol(e->protos), e->error_rate);
		strbuf_puts(out, "\"];\n");
	}
	strbuf_puts(out, "}\n");
	return out->err;
}
