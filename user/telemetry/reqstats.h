/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request telemetry: one record per finished HTTP request or gRPC stream, written by the
 * proxy's worker threads into per-worker shards without touching shared state, and folded
 * on the control thread into series keyed by Istio's label set (istio_requests_total,
 * the duration and size histograms) and into per-edge request and error rates for /graph.
 *
 * Threads and ownership:
 *  - The control thread makes the store: reqstats_new(base, &opts) with opts.shards = the
 *    number of workers, before the workers start. Worker i takes its shard once with
 *    reqstats_shard(rs, i) and is its only writer from then on.
 *  - A worker calls reqstats_record(shard, &req) per finished request (no lock, no
 *    allocation once its table has grown to its working set). Records wait in the shard's
 *    own table and are handed over at most every opts.flush_ms, by reqstats_record()
 *    itself; an idle worker hands them over with reqstats_flush(shard) from its periodic
 *    timer (the relay's flow flush is the place) and once when it stops.
 *  - The control thread collects: with an event base, a timer every opts.interval_ms
 *    runs reqstats_sample(); /metrics and /graph call reqstats_collect() first for fresh
 *    counts. Reading (reqstats_next(), reqstats_rates()) is control-thread only.
 *  - reqstats_free() only after every worker has stopped.
 */
#ifndef WEIR_USER_REQSTATS_H
#define WEIR_USER_REQSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct reqstats;
struct reqstats_shard;

/* reqstats_req.proto: Istio's request_protocol. 0 is not a protocol (marks empty slots). */
enum reqstats_proto {
	REQSTATS_HTTP = 1, /* HTTP/1.1 or HTTP/2 */
	REQSTATS_GRPC = 2, /* gRPC over HTTP/2: messages and grpc-status apply */
};

/* reqstats_req.reporter: which side of the request the agent was on. */
enum reqstats_reporter {
	REQSTATS_SOURCE = 0,	  /* the client's node agent (outbound) */
	REQSTATS_DESTINATION = 1, /* the server's node agent (inbound tunnel) */
};

/* reqstats_req.grpc_status when the stream carried no grpc-status. */
#define REQSTATS_GRPC_NONE (-1)

/*
 * Response flags, Envoy's %RESPONSE_FLAGS%, as bits in Envoy's own print order (lowest bit
 * first), so that rendering them in bit order gives Envoy's comma list.
 */
#define REQSTATS_F_UH  (1U << 0)  /* no healthy upstream */
#define REQSTATS_F_UT  (1U << 1)  /* upstream request timeout */
#define REQSTATS_F_LR  (1U << 2)  /* connection reset locally */
#define REQSTATS_F_UR  (1U << 3)  /* upstream remote reset */
#define REQSTATS_F_UF  (1U << 4)  /* upstream connection failure */
#define REQSTATS_F_UC  (1U << 5)  /* upstream connection termination */
#define REQSTATS_F_UO  (1U << 6)  /* upstream overflow (circuit breaking) */
#define REQSTATS_F_NR  (1U << 7)  /* no route */
#define REQSTATS_F_DI  (1U << 8)  /* delayed by fault injection */
#define REQSTATS_F_FI  (1U << 9)  /* aborted by fault injection */
#define REQSTATS_F_RL  (1U << 10) /* rate limited */
#define REQSTATS_F_DC  (1U << 11) /* downstream connection termination */
#define REQSTATS_F_URX (1U << 12) /* upstream retry limit exceeded */
#define REQSTATS_F_SI  (1U << 13) /* stream idle timeout */
#define REQSTATS_F_DPE (1U << 14) /* downstream protocol error */
#define REQSTATS_F_UPE (1U << 15) /* upstream protocol error */
#define REQSTATS_F_NC  (1U << 16) /* no cluster (a route to an undefined subset) */
#define REQSTATS_F_ALL ((1U << 17) - 1)

/* One finished request or gRPC stream, as the proxy reports it. */
struct reqstats_req {
	/* Who, as the snapshot in force when the request started named them (the relay's
	 * relay_flow ids, from model_set_ids()); 0 when unknown. */
	uint32_t src_wl;
	uint32_t dst_wl;
	uint32_t svc_id;
	uint32_t flags;		/* REQSTATS_F_* bits; bits outside REQSTATS_F_ALL are dropped */
	uint64_t duration_us;	/* request start to the end of the response (or the failure) */
	uint64_t req_bytes;	/* request body bytes (after de-chunking; gRPC: with framing) */
	uint64_t resp_bytes;	/* response body bytes */
	uint64_t req_msgs;	/* gRPC request messages (0 for HTTP) */
	uint64_t resp_msgs;	/* gRPC response messages (0 for HTTP) */
	uint16_t response_code; /* HTTP status sent downstream; 0: no response at all */
	int16_t grpc_status;	/* 0..16, or REQSTATS_GRPC_NONE */
	uint8_t proto;		/* enum reqstats_proto; anything else is dropped and counted */
	uint8_t reporter;	/* enum reqstats_reporter */
};

/*
 * Histogram bounds: Envoy's default buckets, which Istio's telemetry v2 uses for all its
 * histograms (request duration in milliseconds and request/response sizes in bytes alike;
 * the 1..1e7 byte buckets were Mixer's, before Istio 1.5).
 */
#define REQSTATS_BUCKETS 19
extern const double reqstats_bounds[REQSTATS_BUCKETS];

/* The label set of a series: every field of the request that becomes a label. */
struct reqstats_key {
	uint32_t src_wl;
	uint32_t dst_wl;
	uint32_t svc_id;
	uint32_t flags;
	uint16_t response_code;
	int16_t grpc_status;
	uint8_t proto; /* 0 only in empty slots */
	uint8_t reporter;
	uint8_t pad[2]; /* zero: keys compare and hash as bytes */
};

/* Counters of a series (or a delta). Buckets are per bucket, not cumulative; the last
 * slot counts values above the largest bound (+Inf). */
struct reqstats_counts {
	uint64_t requests;
	uint64_t duration_us_sum;
	uint64_t req_bytes_sum;
	uint64_t resp_bytes_sum;
	uint64_t req_msgs;
	uint64_t resp_msgs;
	uint64_t duration[REQSTATS_BUCKETS + 1];
	uint64_t req_size[REQSTATS_BUCKETS + 1];
	uint64_t resp_size[REQSTATS_BUCKETS + 1];
};

/* One series as the control thread keeps it. */
struct reqstats_series {
	struct reqstats_key key;
	struct reqstats_counts c;
	uint64_t last_ms; /* collect time of the newest request in it */
};

struct reqstats_opts {
	unsigned shards;	 /* worker shards; 0 = 1 */
	size_t max_series;	 /* series kept at most (and per shard); 0 = 10000 */
	unsigned interval_ms;	 /* reqstats_sample() period with a base; 0 = 5000 */
	unsigned flush_ms;	 /* a shard hands its records over this often; 0 = 1000 */
	uint64_t idle_expire_ms; /* a series without requests this long goes; 0 = 3600000 */
	/* Optional: whether workload <id> still exists. A series one of whose workloads is
	 * gone goes once idle for gone_expire_ms (0 = 300000), so its last rates still show. */
	bool (*wl_alive)(void *ctx, uint32_t id);
	void *alive_ctx;
	uint64_t gone_expire_ms;
};

/*
 * Makes a store (caller owns, reqstats_free()). With a non-NULL <base> it arms a timer
 * there that runs reqstats_sample() every <opts>->interval_ms; with NULL the caller drives
 * it. <opts> may be NULL. Returns the store or NULL with errno set.
 */
struct reqstats *reqstats_new(struct event_base *base, const struct reqstats_opts *opts);
/* Stops the timer and frees <rs>, its shards and series. Accepts NULL. Workers must have
 * stopped. */
void reqstats_free(struct reqstats *rs);

/* Shard <i> of <rs> (owned by <rs>), or NULL when <i> is out of range. */
struct reqstats_shard *reqstats_shard(struct reqstats *rs, unsigned i);

/*
 * Records request <r> into shard <s>; only the shard's worker may call it. Never fails: a
 * record that cannot be kept (series bound reached, out of memory, bad proto) is counted
 * as dropped. <r> is not kept.
 */
void reqstats_record(struct reqstats_shard *s, const struct reqstats_req *r);
/* Hands the records of <s> waiting in the worker's table over to the control thread.
 * Worker of <s> only. */
void reqstats_flush(struct reqstats_shard *s);

/*
 * Folds every shard's handed-over records into the series at <now_ms> (telemetry_now_ms()
 * clock). New series past max_series are dropped and counted. Returns 0 or -ENOMEM (what
 * did not fit is counted as dropped).
 */
int reqstats_collect(struct reqstats *rs, uint64_t now_ms);
/*
 * reqstats_collect(), then expires idle series and records the per-edge request and error
 * counts as a rate sample at <now_ms> (samples must come in time order; a sample at or
 * before the previous one is skipped). Returns 0 or -errno.
 */
int reqstats_sample(struct reqstats *rs, uint64_t now_ms);

/*
 * Iterates over the series: starts with <i> = 0, fills *<out> and returns the next <i>;
 * returns 0 at the end (*<out> untouched). The series stay valid until the next collect.
 */
size_t reqstats_next(const struct reqstats *rs, size_t i, const struct reqstats_series **out);

/* Request rates of one edge (source, destination, service, protocol, reporter). */
struct reqstats_rate {
	uint32_t src_wl;
	uint32_t dst_wl;
	uint32_t svc_id;
	uint8_t proto;	       /* enum reqstats_proto */
	uint8_t reporter;      /* enum reqstats_reporter */
	double rps;	       /* requests per second over the horizon */
	double errors_per_sec; /* of those, errors (see reqstats_is_error()) per second */
	uint64_t requests;     /* requests since the edge appeared (all time) */
};

/*
 * Fills a malloc'd array *<out> (caller frees; NULL when *<n> is 0) with every edge's rates
 * over the last <horizon_ms> before <now_ms>, computed against the sample history as
 * telemetry_rate() does. Returns 0 or -ENOMEM.
 */
int reqstats_rates(const struct reqstats *rs, uint64_t now_ms, uint64_t horizon_ms,
		   struct reqstats_rate **out, size_t *n);

/* Whether a request of <key> counts as an error for /graph's error_rate: a 5xx, no
 * response at all (code 0), or a gRPC status other than OK. */
bool reqstats_is_error(const struct reqstats_key *key);

/*
 * Writes Istio's response_flags label for <flags> into <buf>: "-" for none, else the
 * short names in Envoy's order joined by ",". Returns the length, or -ENOSPC when <size>
 * is too small (REQSTATS_FLAGS_LEN bytes always suffice).
 */
#define REQSTATS_FLAGS_LEN 64
int reqstats_flags_str(uint32_t flags, char *buf, size_t size);

/* The bucket index (0..REQSTATS_BUCKETS) of a duration in microseconds (bounds read as
 * milliseconds) and of a size in bytes: the first bound the value is <= to. */
unsigned reqstats_bucket_duration(uint64_t us);
unsigned reqstats_bucket_bytes(uint64_t bytes);

/* Series kept now; requests dropped (series bound, memory, bad records) since the start;
 * series expired since the start. */
size_t reqstats_nseries(const struct reqstats *rs);
uint64_t reqstats_dropped(const struct reqstats *rs);
uint64_t reqstats_expired(const struct reqstats *rs);

/* request_protocol label of <proto>: "http", "grpc", or "unknown". */
const char *reqstats_proto_name(unsigned proto);

#endif /* WEIR_USER_REQSTATS_H */
