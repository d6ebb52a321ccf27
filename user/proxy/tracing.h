/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's side of tracing: reads an exchange's incoming trace headers, writes the
 * client span's headers on every upstream attempt, and hands the finished span to the
 * worker's span ring. Kept out of exchange.c so that the exchange calls three functions.
 */
#ifndef WEIR_PROXY_TRACING_H
#define WEIR_PROXY_TRACING_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "telemetry/trace.h"

struct http_head;
struct hsession_dest;
struct px_worker;

/* One request's tracing state, inside its exchange. */
struct tracing_req {
	struct trace_ctx ctx;
	uint64_t span_id; /* the current attempt's client span; 0 before the first */
	uint64_t ts_us;	  /* wall clock at the request's start, microseconds */
	bool on;	  /* the relay traces (tracing_begin ran with a span ring) */
	bool report;	  /* the source workload's policy reports spans */
};

/* What the exchange knew when it ended (tracing_finish). */
struct tracing_end {
	const struct hsession_dest *dest;
	const struct sockaddr_in *ep; /* endpoint of the last attempt; 0.0.0.0: none */
	const char *cluster;	      /* "outbound|port|subset|fqdn", or "" */
	bool h2_down;		      /* the client spoke HTTP/2 */
	uint16_t status;	      /* sent downstream; 0: none */
	int grpc_status;	      /* -1: none */
	uint32_t flags;		      /* REQSTATS_F_* */
	uint64_t dur_us;
	uint64_t req_bytes, resp_bytes;
};

/*
 * Reads the trace headers of request <req> on worker <w> into <t> (counting bad ones) and
 * decides sampling and reporting by the policy of the client <d> came from. Does nothing (t->on
 * false) when <w> has no span ring.
 */
void tracing_begin(struct tracing_req *t, struct px_worker *w, const struct hsession_dest *d,
		   const struct http_head *req);

/*
 * A new client span for the next upstream attempt: writes the B3 headers (and W3C ones when
 * the trace calls for them) into <req>. Returns 0 or -ENOMEM (the request goes on without).
 */
int tracing_inject(struct tracing_req *t, struct px_worker *w, struct http_head *req);

/* Records the span of a finished sampled request <req> in <w>'s ring (export on). */
void tracing_finish(struct tracing_req *t, struct px_worker *w, const struct http_head *req,
		    const struct tracing_end *e);

#endif /* WEIR_PROXY_TRACING_H */
