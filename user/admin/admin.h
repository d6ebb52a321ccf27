/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's HTTP endpoints on libevent's evhttp: the metrics server (:15020: /metrics,
 * /stats/prometheus, /graph, /dotviz, /healthz/ready), the health server (:15021:
 * /healthz/ready, where Istio's probes look) and the localhost admin server (:15000:
 * /status, /edges and whatever JSON endpoints the agent adds with admin_route()).
 * Everything runs on the control thread's event base and reads through admin_ops.
 */
#ifndef WEIR_USER_ADMIN_H
#define WEIR_USER_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <weir/reason.h>

#include "telemetry/metrics.h"
#include "lib/strbuf.h"
#include "telemetry/telemetry.h"

struct event_base;
struct admin;

/*
 * What the agent provides. Every callback gets the <ctx> given to admin_new() and runs on
 * the event base's thread. Only <edges> is required; the others may be NULL.
 */
struct admin_ops {
	/* Every edge of weir_edges: a malloc'd array the caller (admin) frees. 0 or -errno. */
	telemetry_edges_fn edges;
	/* Names behind ids: 0, or -ENOENT for an unknown id (see struct telemetry_names). */
	int (*wl_info)(void *ctx, uint32_t id, struct weir_wl_info *out);
	int (*svc_info)(void *ctx, uint32_t id, struct weir_svc_info *out);
	/* weir_reasons summed over CPUs. 0 or -errno (the family is then left out). */
	int (*reasons)(void *ctx, uint64_t counts[WEIR_REASON_SLOTS]);
	/* Readiness; false sets *<why_not> to a static or ctx-owned message. NULL: ready. */
	bool (*ready)(void *ctx, const char **why_not);
	/* Appends one JSON value (an object) describing the agent, the "agent" member of
	 * /status. 0 or -errno. */
	int (*status_json)(void *ctx, struct strbuf *out);
	/* Appends the agent's own metric families (config loads, enrolled Pods, relay
	 * connections, log errors...) with metrics_family()/metrics_sample(); names must not
	 * collide with the families admin writes (istio_tcp_*, istio_request*,
	 * istio_response*, weir_datapath_*, weir_tcp_*, weir_edge_*, weir_telemetry_*,
	 * weir_request*). 0 or -errno. */
	int (*extra_metrics)(void *ctx, struct strbuf *out);
};

struct admin_opts {
	const char *metrics_addr; /* "ip:port" or "[ip6]:port"; NULL = "0.0.0.0:15020", "" = off */
	const char *health_addr;  /* NULL = "0.0.0.0:15021", "" = off */
	const char *admin_addr;	  /* NULL = "127.0.0.1:15000", "" = off */
	unsigned sample_interval_ms; /* edge sampling period; 0 = 5000 */
	size_t max_edges;	     /* edges the rate history tracks at most; 0 = 65536 */
	unsigned timeout_s;	     /* idle/read timeout per connection; 0 = 10 */
	struct metrics_opts metrics; /* cluster name and domain for Istio labels */
	/* Request telemetry behind istio_requests_total and /graph's request edges (not
	 * owned; must outlive the handle); NULL: flow telemetry only. */
	struct reqstats *reqstats;
};

enum admin_server { ADMIN_METRICS, ADMIN_HEALTH, ADMIN_ADMIN, ADMIN_MAX };

/*
 * One request as a handler sees it. The handler appends its response to <body>, may set
 * <content_type> (default "application/json") and returns the HTTP status.
 */
struct admin_call {
	const char *path;	  /* request path without the query */
	const void *query;	  /* parsed query (opaque: use admin_call_param()) */
	struct strbuf *body;	  /* response body */
	const char *content_type; /* response Content-Type */
};

/* A route handler: returns an HTTP status (200, 400, ...). */
typedef int (*admin_handler_fn)(struct admin_call *call, void *arg);

/*
 * Starts the servers of <opts> (NULL: all defaults) on <base>, reading through <ops> with
 * <ctx>, and the edge sampler behind /graph rates. A bad address or a failed bind fails
 * the whole call with a logged message naming the address. Returns the handle (caller
 * owns, admin_free()) or NULL with errno set. <ops> must outlive the handle.
 */
struct admin *admin_new(struct event_base *base, const struct admin_opts *opts,
			const struct admin_ops *ops, void *ctx);
/* Closes the listeners, stops sampling and frees <a>. Accepts NULL. */
void admin_free(struct admin *a);

/*
 * Serves GET/HEAD <path> (exact match, e.g. "/pods") on the admin server with <fn>(call,
 * <arg>). <path> is copied. Returns 0, -EEXIST when the path is taken, -EINVAL for a path
 * not starting with '/', or -ENOMEM.
 */
int admin_route(struct admin *a, const char *path, admin_handler_fn fn, void *arg);

/* The value of query parameter <name> of <call> (decoded), NULL when absent. */
const char *admin_call_param(const struct admin_call *call, const char *name);

/*
 * The <idx>th (from 0) value of query parameter <name> of <call> (decoded), NULL past the
 * last: for parameters given more than once (`?header=a=1&header=b=2`).
 */
const char *admin_call_param_at(const struct admin_call *call, const char *name, size_t idx);

/*
 * Replaces <call>'s body with a one-line plain-text message (for 4xx/5xx answers) and
 * returns <status>, so a handler can `return admin_call_error(call, 400, "...", ...);`.
 */
int admin_call_error(struct admin_call *call, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The port server <which> listens on (useful after binding port 0), or -ENOENT when off. */
int admin_port(const struct admin *a, enum admin_server which);

/* The edge sampler behind /graph, for callers that want rates too. */
struct telemetry *admin_telemetry(const struct admin *a);

#endif /* WEIR_USER_ADMIN_H */
