/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Span export: the proxy's workers hand one record per finished sampled request to a
 * per-worker ring (single producer, single consumer, no lock, never blocking: a full ring
 * drops the span and counts it); one exporter thread drains the rings and POSTs batches
 * as Zipkin v2 JSON to the collector. Collector errors and timeouts drop the batch and
 * count it. Nothing a collector does can reach a worker.
 *
 * Threads: spans_new() and spans_set_collector()/spans_free() on the control thread;
 * worker i writes spans_shard(sp, i) with spans_push(); the exporter is spans.c's own.
 */
#ifndef WEIR_USER_SPANS_H
#define WEIR_USER_SPANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spans;
struct spans_shard;
struct strbuf;

#define SPANS_STR 128 /* most string fields: longer values are cut (on a UTF-8 boundary) */

/* One finished client span, flat, so that a worker fills it without allocating. */
struct spans_span {
	uint64_t trace_hi, trace_lo; /* trace id (hi 0 and !trace128: a 64-bit id) */
	uint64_t id;		     /* this span */
	uint64_t parent;	     /* the caller's span; 0: a root span */
	uint64_t ts_us;		     /* start, microseconds since the epoch */
	uint64_t dur_us;	     /* duration, microseconds (at least 1, as Zipkin wants) */
	uint64_t req_size;	     /* request body bytes */
	uint64_t resp_size;	     /* response body bytes */
	uint32_t remote_ip;	     /* upstream address, network order; 0: none picked */
	uint32_t flags;		     /* response flags (REQSTATS_F_*) */
	uint16_t remote_port;	     /* host order */
	uint16_t status;	     /* response code sent downstream; 0: none */
	int16_t grpc_status;	     /* -1: none */
	bool trace128;
	bool debug;			    /* "debug": true in the JSON */
	bool error;			    /* 5xx, no response, or a gRPC status other than OK */
	char name[2 * SPANS_STR];	    /* <destination host>:<port>/<asterisk> */
	char local_service[SPANS_STR];	    /* <canonical service>.<namespace> */
	char cluster[2 * SPANS_STR];	    /* upstream_cluster: outbound|port|subset|fqdn */
	char url[2 * SPANS_STR];	    /* http.url */
	char canonical_service[SPANS_STR];  /* istio.canonical_service */
	char canonical_revision[SPANS_STR]; /* istio.canonical_revision */
	char ns[SPANS_STR];		    /* istio.namespace */
	char request_id[SPANS_STR];	    /* guid:x-request-id */
	char user_agent[SPANS_STR];	    /* user_agent */
	char peer[48];			    /* peer.address: the client's ip */
	char method[24];		    /* http.method */
	char protocol[12];		    /* http.protocol: HTTP/1.1, HTTP/2 */
};

struct spans_opts {
	unsigned shards;	     /* producers (workers); 0: 1 */
	unsigned ring;		     /* spans per shard, rounded up to a power of 2; 0: 1024 */
	unsigned batch;		     /* spans per POST at most; 0: 256 */
	unsigned flush_ms;	     /* the exporter's period; 0: 1000 */
	unsigned connect_timeout_ms; /* to the collector; 0: 1000 */
	unsigned timeout_ms;	     /* a whole POST; 0: 5000 */
	const char *node_id;	     /* node_id tag (copied); NULL: "" */
};

/* Counters since spans_new() (spans_stats()). */
struct spans_stats {
	uint64_t exported;	    /* accepted by the collector (2xx) */
	uint64_t dropped_full;	    /* a worker's ring was full */
	uint64_t dropped_error;	    /* the collector answered non-2xx, refused or broke */
	uint64_t dropped_timeout;   /* the collector did not answer within timeout_ms */
	uint64_t dropped_nocollect; /* no collector was configured when the batch left */
	uint64_t posts;		    /* POSTs tried */
	uint64_t bad[3];	    /* invalid headers ignored: x-b3-*, b3, traceparent */
	uint64_t queued;	    /* spans waiting in the rings now */
	uint64_t capacity;	    /* all rings together */
};

/* Makes the exporter for <o> (not yet running). Returns NULL and sets errno. */
struct spans *spans_new(const struct spans_opts *o);

/* Starts the exporter thread. Returns 0 or -errno. */
int spans_start(struct spans *sp);

/* Stops the exporter (one last drain, bounded by the timeouts) and frees <sp>. Accepts NULL. */
void spans_free(struct spans *sp);

/* Worker <i>'s ring (i < shards). */
struct spans_shard *spans_shard(struct spans *sp, unsigned i);

/* Queues <s> (copied) on <sh>; false when the ring is full (counted, the span is lost). */
bool spans_push(struct spans_shard *sh, const struct spans_span *s);

/* Counts the TRACE_BAD_* bits of <bad> (trace.h) on <sh>: the worker's own counters. */
void spans_count_bad(struct spans_shard *sh, unsigned bad);

/*
 * Sets the collector to "<host>:<port>" (a name or an address; copied) or turns export off
 * with NULL or "". Any thread; the exporter reads it per batch. Returns 0 or -ENOMEM.
 */
int spans_set_collector(struct spans *sp, const char *addr);

/* Whether a collector is set: workers skip building spans when none is (a relaxed read). */
bool spans_enabled(const struct spans *sp);

/* Sums the counters of <sp> into <out>. */
void spans_stats(const struct spans *sp, struct spans_stats *out);

/*
 * Writes spans <s>[0..<n>) as a Zipkin v2 JSON array into <out> (NUL-terminated, caller
 * frees), tagged with <node_id>. Returns 0 or -ENOMEM.
 */
int spans_json(const struct spans_span *s, size_t n, const char *node_id, char **out);

/* Appends weir_trace_* families (counters by outcome, queue gauges) to <out>. 0 or -errno. */
int spans_write_metrics(const struct spans *sp, struct strbuf *out);

#endif /* WEIR_USER_SPANS_H */
