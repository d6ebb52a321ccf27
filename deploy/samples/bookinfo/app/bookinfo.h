/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bookinfo sample program's shared pieces: URL parsing and trace-id helpers used by both
 * the service mode (bookinfo.c) and the load mode (loadgen.c). Not part of the weir agent:
 * this is the application that weir meshes without changing it.
 */
#ifndef WEIR_BOOKINFO_H
#define WEIR_BOOKINFO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define BOOKINFO_MAX_CALLS 16

/* A parsed http://host[:port][/path] URL (the only form the sample needs). */
struct bookinfo_url {
	char host[256];	 /* name or dotted quad, as written */
	char path[1024]; /* "/" when absent; includes any query */
	uint16_t port;	 /* 80 when absent */
};

/*
 * Parses <s> into <u>. Returns 0, or -EINVAL when <s> is not an http:// URL with a sane host
 * and port (https is refused on purpose: the mesh, not the app, does TLS).
 */
int bookinfo_url_parse(const char *s, struct bookinfo_url *u);

/*
 * Resolves <host> to one IPv4 address written as text into <buf> (<len> bytes) with
 * getaddrinfo, so /etc/hosts (the simulator's Service names) is honoured. Returns 0 or -errno
 * (-ENOENT when the name does not resolve).
 */
int bookinfo_resolve(const char *host, char *buf, size_t len);

/* Writes <n> random lowercase hex digits and a NUL into <buf> (<n> + 1 bytes). */
void bookinfo_hex_random(char *buf, size_t n);

/* What the load mode is asked to do; every loop it runs is bounded by count and time. */
struct loadgen_opts {
	const char *url;      /* target, http://host:port/path */
	double rate;	      /* requests per second, > 0 */
	double duration;      /* seconds, > 0 */
	unsigned concurrency; /* most requests in flight at once */
	unsigned long count;  /* most requests sent in all (0: rate * duration) */
	unsigned timeout_ms;  /* per request */
};

/*
 * Runs the load mode described by <o>: one new connection per request, W3C and B3 trace headers
 * and a fresh x-request-id on each, then prints a JSON summary (status codes, which service
 * versions answered, latency percentiles) on stdout. Returns the process exit status: 0 when at
 * least one request got a 200, 1 otherwise, 2 for bad options.
 */
int loadgen_run(const struct loadgen_opts *o);

/*
 * How a service treats one downstream call. Istio's bookinfo hard-codes these per pair of
 * services, and its traffic tasks depend on them: productpage gives reviews 3 s and one retry
 * (so a 7 s ratings delay surfaces after ~6 s), reviews gives ratings 10 s (so it absorbs that
 * delay), and neither turns a downstream failure into an error page.
 */
struct role_call {
	char target[64];      /* the downstream's service name: first DNS label of its host */
	unsigned timeout_ms;  /* per attempt */
	unsigned attempts;    /* 1 means no retry */
	const char *soft_msg; /* non-NULL: a failure still answers 200 and shows this message */
};

/*
 * Fills <rc> with the policy service <self> applies to calls to <host> (a URL's host part).
 * <timeout_ms> is the timeout for pairs Istio does not fix; pairs outside bookinfo keep the
 * program's plain behaviour (one attempt, a failure answers 502). Returns 0, or -EINVAL when
 * <host> has no usable first label.
 */
int role_call_policy(const char *self, const char *host, unsigned timeout_ms, struct role_call *rc);

/* The star colour reviews <version> shows (Istio: v2 black, v3 red), or NULL for none. */
const char *role_stars(const char *self, const char *version);

/*
 * Finds the cookie <name> in a Cookie header value <cookie> ("a=1; user=jason") and copies its
 * value into <buf> (<len> bytes). Returns 0, -ENOENT when absent, or -EINVAL when the value is
 * empty, too long or holds a character that is not safe to put in a header.
 */
int role_cookie_get(const char *cookie, const char *name, char *buf, size_t len);

/* Returns 1 when <v> is a usable end-user name (1-63 cookie-safe visible characters). */
int role_user_ok(const char *v);

/* The knobs of the injected misbehaviour, each from a flag or a BOOKINFO_* variable. */
enum fault_knob {
	FAULT_PERCENT, /* share of requests answered with the failure code, 0-100 */
	FAULT_SEED,    /* seed of the draw, so a run can be repeated exactly */
	FAULT_FIRST,   /* fail the first N requests */
	FAULT_DELAY,   /* delay every answer by this many milliseconds */
	FAULT_CODE,    /* the failure's status code, 500-599 (503 by default) */
};

/* Injected misbehaviour of one service; zeroed and then fault_init() means none. */
struct fault {
	uint64_t rng;	     /* xorshift state of the percentage draw */
	unsigned long first; /* requests to fail before the percentage applies */
	unsigned long seen;  /* requests decided so far */
	unsigned percent;
	unsigned delay_ms;
	int code;
	int seeded; /* FAULT_SEED was given: the draw is repeatable */
};

/* Sets <f> to "no misbehaviour", with an unseeded (random) draw. */
void fault_init(struct fault *f);

/*
 * Sets knob <k> of <f> from the text <value>. Returns 0, or -EINVAL when <value> is not a
 * whole number in the knob's range (fault_knob_range() says which, for the caller's message).
 */
int fault_set(struct fault *f, enum fault_knob k, const char *value);

/* Describes the range knob <k> accepts, e.g. "a whole number 0-100". */
const char *fault_knob_range(enum fault_knob k);

/*
 * Decides the fate of the next request served under <f>: returns 0 to serve it, or the status
 * code to fail it with. The first <f>->first requests fail, then each one fails with
 * probability <f>->percent / 100.
 */
int fault_decide(struct fault *f);

/* Counters of what one service really received and answered, for GET /stats. */
struct stats {
	unsigned long requests;	      /* service requests received (not /health, not /stats) */
	unsigned long injected;	      /* of which failed on purpose by the fault knobs */
	unsigned long abandoned;      /* answers whose client had already gone (timed out) */
	unsigned long by_status[600]; /* answers produced, by status code */
};

/* Counts one answer with status <code> in <s>; codes outside 100-599 count as 0 ("other"). */
void stats_count_status(struct stats *s, int code);

/*
 * Writes <s> as a new JSON object (requests, injected, abandoned, by_status keyed by the code
 * as text, only codes seen). Returns it (caller owns), or NULL when out of memory.
 */
json_t *stats_json(const struct stats *s);

#endif /* WEIR_BOOKINFO_H */
