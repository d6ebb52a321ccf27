/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service graph: weir_edges rows plus the names behind their ids, folded into one
 * node per canonical service and one edge per (source, target, target version), and
 * written as Istio servicegraph JSON (/graph) or Graphviz DOT (/dotviz). The builder takes
 * plain data, so the agent (fresh map read + telemetry history) and weirctl (pinned maps,
 * its own two-point sample) share it.
 *
 * weirctl without an agent: take rates from a two-point sample with a caller-driven
 * telemetry (no event base):
 *	t = telemetry_new(NULL, NULL, NULL, NULL);
 *	telemetry_sample_rows(t, t0, rows0, n0);   ... wait ...   read rows1 at t1
 *	opts.tel = t, opts.now_ms = t1, opts.horizon_ms = t1 - t0;
 *	graph_build(&g, rows1, n1, &names, &opts);
 * or pass opts.tel = NULL for a graph of edges without rates (qps "0.000000").
 */
#ifndef WEIR_USER_GRAPH_H
#define WEIR_USER_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/strbuf.h"
#include "telemetry/reqstats.h"
#include "telemetry/telemetry.h"

/* Node name for id 0 and for ids the name lookup does not know. */
#define GRAPH_UNKNOWN "unknown"

/*
 * One aggregated edge. Strings are owned by the graph. An edge is either a flow edge
 * (weir_edges rows: qps counts connections or flows) or a request edge (reqstats rates:
 * qps counts HTTP/gRPC requests, with an error rate); the two never fold together, so a
 * pair the agent proxies at L7 has one of each.
 */
struct graph_edge {
	char *source;	      /* source canonical service (app, else workload, else "unknown") */
	char *target;	      /* destination canonical service; the Service name when only the
			       * Service is known; "unknown" */
	char *version;	      /* destination canonical revision, "unknown" when not known */
	char *source_version; /* source canonical revision; NULL when the builder had none
			       * (the agent's graph: its edges are keyed by service only) */
	double qps;	      /* per second over the horizon: connections/flows, or requests */
	double bytes_per_sec; /* flow edges: bytes in both directions per second */
	uint64_t conns;	      /* flow edges: connections opened since the counters began;
			       * request edges: requests since the edge appeared */
	unsigned protos;      /* GRAPH_P_* bits of the protocols folded into this edge */
	double error_rate;    /* request edges: share of errors among the requests, 0..1 */
};

#define GRAPH_P_TCP   1U
#define GRAPH_P_UDP   2U
#define GRAPH_P_OTHER 4U
#define GRAPH_P_HTTP  8U  /* request edges only */
#define GRAPH_P_GRPC  16U /* request edges only */
#define GRAPH_P_L7    (GRAPH_P_HTTP | GRAPH_P_GRPC)

struct graph {
	char **nodes; /* sorted, unique node names */
	size_t nnodes;
	struct graph_edge *edges; /* sorted by source, target, version */
	size_t nedges;
	/* Set by graph_build_edges() callers only, written when set: the range the rates
	 * were taken over ("300s") and why the graph may be partial (Prometheus warnings). */
	char *time_horizon;
	char **warnings;
	size_t nwarnings;
};

/*
 * One edge as plain data, for builders that already have names and rates (the cluster graph
 * from Prometheus). Strings are borrowed; NULL or "" reads as "unknown", except
 * <source_version>, which may stay NULL (no source revision in the graph).
 */
struct graph_in {
	const char *source, *source_version, *target, *version;
	double qps;	       /* connections or requests per second */
	double bytes_per_sec;  /* flow edges */
	double errors_per_sec; /* request edges: errors among <qps> */
	uint64_t conns;
	unsigned protos; /* GRAPH_P_*; request edges have a GRAPH_P_L7 bit */
};

struct graph_opts {
	const struct telemetry *tel; /* history for rates; NULL: every rate is 0 */
	uint64_t now_ms;	     /* when the rows were read (telemetry_now_ms() clock) */
	uint64_t horizon_ms;	     /* rate window (Istio's time_horizon) */
	bool filter_empty;	     /* drop edges whose qps prints as 0, and nodes left bare */
	/* Request edges (reqstats_rates() at now_ms over horizon_ms); NULL/0: none. */
	const struct reqstats_rate *req;
	size_t nreq;
};

/*
 * Builds <g> (caller's storage, graph_fini() afterwards, also after a failure) from
 * <rows>[0..<n>) read at <opts>->now_ms, naming ids through <names> and taking rates from
 * <opts>->tel. Nothing is kept of <rows> or <names>. Returns 0 or -errno (-ENOMEM).
 */
int graph_build(struct graph *g, const struct telemetry_row *rows, size_t n,
		const struct telemetry_names *names, const struct graph_opts *opts);
/*
 * Builds <g> (caller's storage, graph_fini() afterwards, also after a failure) from plain
 * edges <in>[0..<n>), folding equal (source, source version, target, version, L7 or not)
 * as graph_build() does and dropping edges whose qps prints as 0 when <filter_empty>.
 * Nothing is kept of <in>. Returns 0 or -ENOMEM.
 */
int graph_build_edges(struct graph *g, const struct graph_in *in, size_t n, bool filter_empty);
/*
 * Records on <g> the range its rates cover (<horizon>, copied) and appends <warning>
 * (copied; NULL: none). Returns 0 or -ENOMEM.
 */
int graph_set_horizon(struct graph *g, const char *horizon);
int graph_add_warning(struct graph *g, const char *warning);
/* Frees what <g> holds. Accepts a zeroed or failed graph. */
void graph_fini(struct graph *g);

/*
 * Appends <g> to <out> as servicegraph JSON: {"nodes": {"<name>": {}, ...}, "edges":
 * [{"source", "target", "labels": {"qps", "version", "protocol", "bytes_per_sec"}}]} for
 * flow edges, labels {"qps", "version", "protocol", "error_rate"} for request edges;
 * numbers in labels as strings with 6 decimals, as Istio printed them. An edge with a
 * source version adds "source_version"; a graph with a time horizon or warnings adds
 * "time_horizon": "<range>" and "warnings": [...] after "edges". Returns 0 or -ENOMEM.
 */
int graph_write_json(const struct graph *g, struct strbuf *out);
/* Appends <g> to <out> as a Graphviz digraph with qps and version on each edge (and the
 * source version when known, the protocol and error rate on request edges). Returns 0 or
 * -ENOMEM. */
int graph_write_dot(const struct graph *g, struct strbuf *out);

/* The protocol label of an edge: "tcp", "udp", "other", "http", "grpc" or "mixed". */
const char *graph_protocol(unsigned protos);

#endif /* WEIR_USER_GRAPH_H */
