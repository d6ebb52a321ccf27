/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trace context: reads the B3 (multi-header and single "b3") and W3C traceparent/tracestate
 * headers of a request, decides sampling, and writes the headers of the client span the
 * agent opens for each upstream attempt. Pure functions over header values, no I/O, so the
 * proxy, the tests and the fuzzer drive them alike (see docs/telemetry.md, Tracing).
 */
#ifndef WEIR_USER_TRACE_H
#define WEIR_USER_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A header value as the request carried it: <p> NULL when the header is absent. */
struct trace_val {
	const char *p;
	size_t len;
};

/* The tracing headers of one request (lower-case names, as the codecs give them). */
struct trace_hdrs {
	struct trace_val b3_traceid;	  /* x-b3-traceid */
	struct trace_val b3_spanid;	  /* x-b3-spanid */
	struct trace_val b3_parentspanid; /* x-b3-parentspanid */
	struct trace_val b3_sampled;	  /* x-b3-sampled */
	struct trace_val b3_flags;	  /* x-b3-flags */
	struct trace_val b3;		  /* b3 (single header) */
	struct trace_val traceparent;	  /* traceparent */
	struct trace_val tracestate;	  /* tracestate */
};

/* Where the context came from (trace_ctx.src). */
enum trace_src {
	TRACE_SRC_NONE = 0,	 /* no usable context: the agent starts the trace */
	TRACE_SRC_B3 = 1,	 /* x-b3-traceid and x-b3-spanid */
	TRACE_SRC_B3_SINGLE = 2, /* b3 */
	TRACE_SRC_W3C = 3,	 /* traceparent */
};

/* trace_parse()'s result bits: headers present but invalid, ignored (one counter each). */
#define TRACE_BAD_B3	      (1U << 0) /* an x-b3-* header */
#define TRACE_BAD_B3_SINGLE   (1U << 1) /* b3 */
#define TRACE_BAD_TRACEPARENT (1U << 2) /* traceparent (a new trace starts) */

#define TRACE_STATE_MAX 512 /* tracestate kept up to this length (W3C asks for 512 at least) */

/* One request's trace context: what came in, then (trace_start) what goes out. */
struct trace_ctx {
	uint64_t trace_hi;  /* trace id, high 64 bits (0 for a 64-bit B3 id) */
	uint64_t trace_lo;  /* trace id, low 64 bits; 0 with trace_hi 0: no trace id */
	uint64_t span_id;   /* the caller's span: the parent of our client spans; 0: root */
	uint64_t parent_id; /* the caller's parent (x-b3-parentspanid), for the record only */
	int8_t sampled;	    /* 1 yes, 0 no, -1 not decided upstream */
	bool debug;	    /* x-b3-flags: 1 or b3 "d": sampled whatever the percentage */
	bool trace128;	    /* the trace id has 128 bits */
	bool w3c_in;	    /* the request carried a traceparent (valid or not) */
	bool w3c_out;	    /* write traceparent/tracestate upstream (trace_start decides) */
	uint8_t src;	    /* enum trace_src */
	uint16_t state_len; /* tracestate length; 0: none */
	char state[TRACE_STATE_MAX];
};

/* The header values of one client span, NUL-terminated, ready for the wire. */
struct trace_out {
	char traceid[33];      /* x-b3-traceid: 16 or 32 lower-case hex */
	char spanid[17];       /* x-b3-spanid: the client span */
	char parentspanid[17]; /* x-b3-parentspanid: "" for a root span */
	char sampled[2];       /* x-b3-sampled: "1" or "0" */
	bool debug;	       /* also send x-b3-flags: 1 */
	char traceparent[56];  /* "" when trace_ctx.w3c_out is false */
};

/*
 * Reads the tracing headers <h> into <c> (overwritten). Invalid headers are ignored one by
 * one as the specifications say: a bad span id drops that context, a bad sampling value
 * only the decision, a bad traceparent (and with it tracestate) the W3C context. B3
 * multi-header wins over b3, which wins over traceparent. Returns TRACE_BAD_* bits.
 */
unsigned trace_parse(const struct trace_hdrs *h, struct trace_ctx *c);

/*
 * Completes <c> for the agent's span: a new trace (random 128-bit id from <rnd>(<arg>))
 * when none came in, the sampling decision by <sample_ppm> parts per million when none
 * came from upstream, and whether W3C headers go out (the request had a traceparent, or
 * the agent started the trace).
 */
void trace_start(struct trace_ctx *c, uint32_t sample_ppm, uint64_t (*rnd)(void *), void *arg);

/* Writes into <o> the headers of client span <span_id> (non-zero) of trace <c>. */
void trace_out(const struct trace_ctx *c, uint64_t span_id, struct trace_out *o);

/* Parses <len> hex digits at <p> (upper-case too when <upper>) into <out>; 0 or -EINVAL. */
int trace_hex64(const char *p, size_t len, bool upper, uint64_t *out);

/* Parses percentage <pct> (0..100) into parts per million, clamped. */
uint32_t trace_pct_ppm(double pct);

#endif /* WEIR_USER_TRACE_H */
