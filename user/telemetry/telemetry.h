/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Edge telemetry: periodic samples of the weir_edges counters kept in bounded history, so
 * that /graph and /edges can turn never-reset counters into per-second rates over a time
 * horizon (Istio servicegraph's time_horizon). Plain data in, plain numbers out: the
 * sampler only needs a callback that lists the edges, so it runs without a kernel in tests.
 */
#ifndef WEIR_USER_TELEMETRY_H
#define WEIR_USER_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <weir/edge.h>
#include <weir/service.h>
#include <weir/workload.h>

struct event_base;
struct telemetry;

/* One entry of weir_edges as read from the map (kernel-, agent- and tc-path alike). */
struct telemetry_row {
	struct weir_edge_key key;
	struct weir_edge val;
};

/*
 * Lists every edge: fills a malloc'd array in *<rows> (caller frees; NULL when *<n> is 0).
 * Returns 0 or -errno. The agent implements it with a map dump; tests with an array.
 */
typedef int (*telemetry_edges_fn)(void *ctx, struct telemetry_row **rows, size_t *n);

/*
 * Names behind ids, shared by the graph and the metrics writers. Each lookup fills <out>
 * and returns 0, or -ENOENT for an id it does not know (id 0 is never looked up: it is
 * "unknown" by definition). <svc_info> may be NULL when services are not named.
 */
struct telemetry_names {
	int (*wl_info)(void *ctx, uint32_t id, struct weir_wl_info *out);
	int (*svc_info)(void *ctx, uint32_t id, struct weir_svc_info *out);
	void *ctx;
};

/*
 * Looks up workload <id> (service <id>) through <names>: fills <out>, NUL-terminating every
 * field, and returns true when the id is known; zeroes <out> and returns false for id 0, an
 * unknown id, or a NULL <names> or callback.
 */
bool telemetry_wl(const struct telemetry_names *names, uint32_t id, struct weir_wl_info *out);
bool telemetry_svc(const struct telemetry_names *names, uint32_t id, struct weir_svc_info *out);

/* Per-second rates of one edge over a horizon; all 0 when there is no history. */
struct telemetry_rate {
	double conns_per_sec; /* connections opened per second ("qps" of a TCP edge) */
	double bytes_per_sec; /* bytes sent plus bytes received per second */
	double seconds;	      /* length of the interval the rate was taken over; 0: no history */
};

struct telemetry_opts {
	unsigned interval_ms; /* sampling period; 0 = 5000 */
	size_t max_edges;     /* edges tracked at most (memory bound); 0 = 65536 */
};

/* Two tiers of history per edge (see docs/telemetry.md): fine slots one sampling period
 * apart, coarse slots TELEMETRY_COARSE_EVERY periods apart. 5 s periods give 5m20s of
 * fine history and 64 minutes of coarse history at 2 x 64 x 24 bytes per edge. */
#define TELEMETRY_SLOTS	       64
#define TELEMETRY_COARSE_EVERY 12

/*
 * Makes a sampler that lists edges with <edges>(<ctx>). With a non-NULL <base> it arms a
 * persistent timer there and samples every <opts>->interval_ms (the first sample is taken
 * at once); with <base> NULL the caller drives it with telemetry_sample_rows(). <opts> may
 * be NULL. Returns the sampler (caller owns, telemetry_free()) or NULL with errno set.
 */
struct telemetry *telemetry_new(struct event_base *base, const struct telemetry_opts *opts,
				telemetry_edges_fn edges, void *ctx);
/* Stops the timer and frees <t> and its history. Accepts NULL. */
void telemetry_free(struct telemetry *t);

/*
 * Reads every edge through the callback and records them as the sample at <now_ms>
 * (CLOCK_MONOTONIC milliseconds, see telemetry_now_ms()). Returns 0 or -errno.
 */
int telemetry_sample(struct telemetry *t, uint64_t now_ms);

/*
 * Records <rows>[0..<n>) as the sample at <now_ms>. Samples must come in time order; one
 * older than or equal to the newest is ignored (returns -EINVAL). Edges missing from
 * <rows> count as zero from now on (their map entry went away). <rows> is not kept.
 * Returns 0 or -errno.
 */
int telemetry_sample_rows(struct telemetry *t, uint64_t now_ms, const struct telemetry_row *rows,
			  size_t n);

/*
 * The rate of edge <row> (its current counters, read at <now_ms>) over the last
 * <horizon_ms>: the difference to the newest sample at or before now - horizon, or to the
 * oldest sample when history is shorter, divided by the time between them. An edge absent
 * from that sample counted zero then; a counter that went down was reset and counts from
 * zero. Fills <out> (zeros without history). <t> may be NULL (no history: zeros).
 */
void telemetry_rate(const struct telemetry *t, const struct telemetry_row *row, uint64_t now_ms,
		    uint64_t horizon_ms, struct telemetry_rate *out);

/* Edges tracked now, and edges not tracked because max_edges was reached (cumulative). */
size_t telemetry_tracked(const struct telemetry *t);
uint64_t telemetry_untracked(const struct telemetry *t);
/* Samples taken so far. */
uint64_t telemetry_samples(const struct telemetry *t);

/* CLOCK_MONOTONIC in milliseconds, the clock every telemetry_* time is in. */
uint64_t telemetry_now_ms(void);

/*
 * Parses a Prometheus duration ("500ms", "30s", "5m", "1h30m", "2d", "1w", "1y"; units ms s
 * m h d w y, each at most once, largest first), also taking Go's decimal fractions ("1.5h",
 * "1m30.5s") and a bare "0", into milliseconds (fractions of a millisecond are dropped).
 * Returns 0, or -EINVAL for anything else (empty, "5", "5x", "-1s", "1s1h", overflow).
 */
int telemetry_parse_duration(const char *s, uint64_t *ms);

#endif /* WEIR_USER_TELEMETRY_H */
