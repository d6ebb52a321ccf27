/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster-wide service graph, read from Prometheus the way Istio's servicegraph addon
 * did: instant PromQL queries over the Istio standard metrics that every node agent exports
 * (requests, TCP connections and bytes, source-reported), folded by graph_build_edges() into
 * the same struct graph the agent's own /graph prints. Used by weir-graph and weirctl.
 *
 * The answer parser is separate from the HTTP fetch so that it can be fed canned JSON:
 *	promgraph_acc_init(&acc);
 *	promgraph_parse(&acc, PROMGRAPH_REQUESTS, body, len, &err);   ... one per metric
 *	promgraph_acc_graph(&acc, filter_empty, "300s", &g);
 *	promgraph_acc_fini(&acc);
 */
#ifndef WEIR_USER_PROMGRAPH_H
#define WEIR_USER_PROMGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telemetry/graph.h"

/* The four queries a graph is built from, one per Istio metric family. */
enum promgraph_metric {
	PROMGRAPH_REQUESTS,   /* istio_requests_total: request edges, qps and errors */
	PROMGRAPH_TCP_OPENED, /* istio_tcp_connections_opened_total: flow edge qps */
	PROMGRAPH_TCP_SENT,   /* istio_tcp_sent_bytes_total: flow edge bytes */
	PROMGRAPH_TCP_RCVD,   /* istio_tcp_received_bytes_total: flow edge bytes */
	PROMGRAPH_NMETRICS,
};

/* Why a fetch failed; each kind has its own counter. */
enum promgraph_fail {
	PROMGRAPH_OK,
	PROMGRAPH_UNREACHABLE, /* no connection, or no answer within the timeout */
	PROMGRAPH_HTTP,	       /* an HTTP status other than 200 */
	PROMGRAPH_API,	       /* "status": "error" in a 200 answer */
	PROMGRAPH_MALFORMED,   /* not JSON, or not the shape of an instant vector answer */
	PROMGRAPH_NFAIL,
};

/* What went wrong, for the caller to print or answer with. */
struct promgraph_err {
	enum promgraph_fail kind;
	char msg[256]; /* names the query and the field */
};

/* Series parsed so far: one plain graph edge each, strings owned. */
struct promgraph_acc {
	struct graph_in *in;
	size_t n, cap;
	char **warnings; /* Prometheus "warnings" (partial results), deduplicated */
	size_t nwarnings;
};

/* Counters of one struct promgraph since promgraph_new(). */
struct promgraph_stats {
	uint64_t fetches;		    /* promgraph_fetch() calls */
	uint64_t partial;		    /* fetches whose graph carries warnings */
	uint64_t failures[PROMGRAPH_NFAIL]; /* failed fetches by kind ([PROMGRAPH_OK] unused) */
};

struct promgraph;

/* The metric name of <m>, and the name of failure kind <f> (for counters and logs). */
const char *promgraph_metric_name(enum promgraph_metric m);
const char *promgraph_fail_name(enum promgraph_fail f);

/*
 * Writes into <buf> (<size> bytes) the PromQL of metric <m> over the range <range>
 * (a Prometheus duration such as "300s"). Returns 0, or -ENOSPC when it does not fit.
 */
int promgraph_query(enum promgraph_metric m, const char *range, char *buf, size_t size);

void promgraph_acc_init(struct promgraph_acc *acc);
/* Frees what <acc> holds; accepts a zeroed accumulator. */
void promgraph_acc_fini(struct promgraph_acc *acc);

/*
 * Parses the Prometheus /api/v1/query answer <body>[0..<len>) of the query for <m> and
 * appends its series to <acc>, its warnings to <acc>'s. Returns 0, or -EBADMSG
 * (PROMGRAPH_MALFORMED), -EREMOTEIO (PROMGRAPH_API) or -ENOMEM with <err> filled.
 */
int promgraph_parse(struct promgraph_acc *acc, enum promgraph_metric m, const char *body,
		    size_t len, struct promgraph_err *err);

/*
 * Builds <g> (caller's storage, graph_fini() afterwards) from <acc>, with time horizon
 * <range> and <acc>'s warnings. Returns 0 or -ENOMEM.
 */
int promgraph_acc_graph(const struct promgraph_acc *acc, bool filter_empty, const char *range,
			struct graph *g);

/*
 * A client of the Prometheus at <url> (http://host:port, optionally with a path prefix),
 * each request bounded by <timeout_ms>. Returns NULL with errno set (EINVAL: not an http(s)
 * URL; ENOMEM).
 */
struct promgraph *promgraph_new(const char *url, unsigned timeout_ms);
/* Frees <pg>; accepts NULL. */
void promgraph_free(struct promgraph *pg);

/*
 * Runs the four queries over the last <horizon_ms> (>= 1 s) and builds <g> (caller's
 * storage, graph_fini() afterwards, also after a failure). Blocks for at most four times
 * the timeout. Counts the outcome. Returns 0 (a partial answer is a graph with warnings),
 * -EINVAL (bad horizon), -ECONNREFUSED (PROMGRAPH_UNREACHABLE), -EPROTO (PROMGRAPH_HTTP),
 * -EREMOTEIO (PROMGRAPH_API), -EBADMSG (PROMGRAPH_MALFORMED) or -ENOMEM, <err> filled.
 */
int promgraph_fetch(struct promgraph *pg, uint64_t horizon_ms, bool filter_empty, struct graph *g,
		    struct promgraph_err *err);

/* Copies <pg>'s counters into <st>. */
void promgraph_stats(const struct promgraph *pg, struct promgraph_stats *st);

#endif /* WEIR_USER_PROMGRAPH_H */
