/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-cluster state every worker of the agent shares, as Envoy shares it across its
 * workers: circuit breakers (DestinationRule connectionPool), outlier detection (consecutive
 * errors eject an endpoint for a while) and local rate limits (weir.dev RateLimit token
 * buckets). Keyed by the cluster's or rule's name, which outlives model snapshots, so a
 * config change keeps the counts of what stayed. One mutex: only requests to clusters with
 * such a policy ever take it.
 */
#ifndef WEIR_PROXY_LIMITS_H
#define WEIR_PROXY_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "model/route.h"
#include "proxy/balancer.h"

struct px_limits;

/* A table. NULL and errno on failure. */
struct px_limits *limits_new(void);

/* Frees <l>. Accepts NULL. */
void limits_free(struct px_limits *l);

/* ---- local rate limit ---- */

/*
 * Takes one token from bucket <name> sized by <rl> at <now_ms>. Returns true when the
 * request may go; fills *<remaining> (tokens left) and *<reset_s> (seconds to the next
 * fill) either way, for the x-ratelimit-* headers.
 */
bool limits_rl_take(struct px_limits *l, const char *name, const struct route_ratelimit *rl,
		    uint64_t now_ms, uint32_t *remaining, uint32_t *reset_s);

/* ---- circuit breaker ---- */

enum limits_cb {
	LIMITS_CB_OK = 0,	/* counted as active: go */
	LIMITS_CB_QUEUE = 1,	/* counted as pending: wait for limits_cb_promote() */
	LIMITS_CB_OVERFLOW = 2, /* over the limits: 503, flag UO */
};

/*
 * A request to cluster <name> with connection pool <cp> over HTTP/2 when <h2>: HTTP/1.1
 * requests are bounded by maxConnections (one request per connection) plus a queue of
 * http1MaxPendingRequests; HTTP/2 requests by http2MaxRequests. Returns enum limits_cb.
 */
enum limits_cb limits_cb_enter(struct px_limits *l, const char *name,
			       const struct route_conn_pool *cp, bool h2);

/* A queued request asks again: LIMITS_CB_OK (now active) or LIMITS_CB_QUEUE. */
enum limits_cb limits_cb_promote(struct px_limits *l, const char *name,
				 const struct route_conn_pool *cp, bool h2);

/* A request of cluster <name> ends (<active>: it had been let through, else queued). */
void limits_cb_leave(struct px_limits *l, const char *name, bool active);

/* Whether cluster <name> may start one more retry (maxRetries); counted until retry_done. */
bool limits_retry_enter(struct px_limits *l, const char *name, const struct route_conn_pool *cp);
void limits_retry_leave(struct px_limits *l, const char *name);

/* ---- outlier detection ---- */

/*
 * The outcome of one request to endpoint <ip>:<port> (network order) of cluster <name>:
 * <status> (0 when the connection failed or was reset: a gateway error). Counts consecutive
 * 5xx and gateway errors and ejects the endpoint when <od> says so, for baseEjectionTime
 * times the number of its ejections, unless maxEjectionPercent of <neps> are out already.
 */
void limits_od_report(struct px_limits *l, const char *name, uint32_t ip, uint16_t port,
		      uint16_t status, const struct route_outlier *od, size_t neps,
		      uint64_t now_ms);

/* Whether endpoint <ip>:<port> of cluster <name> is ejected at <now_ms>. */
bool limits_od_ejected(struct px_limits *l, const char *name, uint32_t ip, uint16_t port,
		       uint64_t now_ms);

/*
 * Active health checks' verdict on endpoint <ip>:<port> of cluster <name>: while
 * <healthy> is false it counts as ejected (limits_od_ejected, limits_od_foreach).
 */
void limits_hc_set(struct px_limits *l, const char *name, uint32_t ip, uint16_t port, bool healthy);

/*
 * Calls <cb>(<ip>, <port>, <arg>) (network order) for every endpoint ejected at <now_ms>,
 * over every cluster (an endpoint may come twice). Returns how many calls were made.
 */
unsigned limits_od_foreach(struct px_limits *l, uint64_t now_ms,
			   void (*cb)(uint32_t ip, uint16_t port, void *arg), void *arg);

/*
 * Makes balancer request <br> skip the endpoints of <c> that outlier detection ejected or
 * active health checks took out (when <c> has either), as every pick of the proxy must.
 */
void limits_balancer_req(struct px_limits *l, const struct route_cluster *c,
			 struct balancer_req *br);

/* How many endpoints are ejected now, over every cluster (for /metrics). */
unsigned limits_od_count(struct px_limits *l, uint64_t now_ms);

#endif /* WEIR_PROXY_LIMITS_H */
