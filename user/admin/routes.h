/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compiled traffic tables of a snapshot (model/route.h) as JSON for people and tools:
 * GET /routes lists every Service port with its path, routes and clusters (`weirctl
 * routes`), GET /routes/explain runs the router on a synthetic request from a Pod (`weirctl
 * explain --header ...`). Plain functions from a model to jansson values, so the tests
 * need no server; the handlers only parse the query. Shapes are documented in
 * docs/weirctl.md and are stable: fields are only ever added.
 */
#ifndef WEIR_ADMIN_ROUTES_H
#define WEIR_ADMIN_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/k8s.h"
#include "model/model.h"
#include "model/route.h"

struct admin_call;

/* Stable names of the compiled enums, as the JSON carries them. */
const char *routes_proto_str(uint8_t proto);   /* enum route_proto: "http", "grpc", ... */
const char *routes_lb_str(uint8_t policy);     /* enum route_lb: "least_request", ... */
const char *routes_hash_str(uint8_t hash_key); /* enum route_hash_key: "header", ... */

/*
 * Cluster <c> as JSON: name, host, Service, port, subset and its labels, members with
 * readiness and weight, and the merged policy (load balancer, connection pool, outlier
 * detection, health check, rate limit, the DestinationRule it came from). Returns a new
 * reference, or NULL when out of memory.
 */
json_t *routes_json_cluster(const struct route_cluster *c);

/*
 * One VirtualService http route <r> as JSON: matches in Istio's shape, weighted
 * destinations (cluster names and subsets with their share), redirect, direct response,
 * rewrite, timeout, retries, fault, mirror, header operations, rate limit and exportTo.
 * Returns a new reference, or NULL.
 */
json_t *routes_json_http(const struct route_http *r);

/* Match <m> as JSON (uri, method, headers, ..., null for what it leaves open), or NULL. */
json_t *routes_json_match(const struct route_match *m);

/*
 * Why Service port table <t> of Service <svc> takes the path it takes, appended to array
 * <why> as sentences: the VirtualService, DestinationRule, HealthCheck or RateLimit that
 * asks for the agent, another port of the Service that does (the path is per Service), or
 * the weir.dev/path annotation that overrides. <m> holds <t> (for the other ports).
 * Returns "agent" or "kernel", the path the Service is programmed with.
 */
const char *routes_path_why(const struct model *m, const struct route_table *t, json_t *why);

/*
 * Table <t> of snapshot <m> as JSON: the Service port, its protocol, path and why, the
 * VirtualService, http and tcp routes in evaluation order, the default cluster's name and
 * every cluster the table can send to (default, destinations, mirrors) with its policy.
 * Returns a new reference, or NULL.
 */
json_t *routes_json_table(const struct model *m, const struct route_table *t);

/*
 * Everything of <m> as {"generation", "compile_errors", "ports": [table...]}, the body of
 * GET /routes. <m> may be NULL (no snapshot yet: no ports). Returns a new reference or NULL.
 */
json_t *routes_json(const struct model *m);

/* A synthetic request for routes_explain(): who sends what to which Service port. */
struct routes_query {
	const char *pod_ns, *pod_name; /* the client Pod (source labels and namespace) */
	const char *svc_ns, *svc_name; /* the Service */
	uint16_t port;		       /* its port number */
	const char *method;	       /* NULL: "GET" */
	const char *path;	       /* NULL: "/" */
	const char *authority;	       /* NULL: "<name>.<ns>.svc.cluster.local:<port>" */
	const char *scheme;	       /* NULL: "http" */
	const struct k8s_kv *headers;  /* request headers (names any case) */
	size_t nheaders;
};

/* Room for routes_explain()'s error message. */
#define ROUTES_ERR_LEN 256

/*
 * Runs the router of snapshot <m> on the request <q> describes and sets *<out> to the
 * answer: which route matched and why (and which condition failed in each route before
 * it), the verdict, the weighted destinations with their clusters and candidate backends,
 * the timeout, retry policy, fault, mirror, header and rewrite changes (the request as
 * the upstream would see it), redirect or direct response. A port that is not on the agent
 * path or not HTTP still answers, with "applies": false and the reason. Returns 0, or
 * -ENOENT (unknown Pod, Service or port) / -EINVAL (a header the head refuses) with a
 * message in <err> (<errlen> bytes), or -ENOMEM.
 */
int routes_explain(const struct model *m, const struct routes_query *q, json_t **out, char *err,
		   size_t errlen);

/*
 * GET /routes with snapshot <m> (may be NULL): writes the body of <call> and returns the
 * HTTP status.
 */
int routes_h_list(struct admin_call *call, const struct model *m);

/*
 * GET /routes/explain?pod=NS/NAME&service=NS/NAME&port=N[&method=M][&path=P]
 * [&authority=A][&header=NAME=VALUE]... with snapshot <m>: 200 with routes_explain()'s
 * answer, 400 for a missing or malformed parameter, 404 for an unknown Pod, Service or
 * port, 503 before the first snapshot. Returns the HTTP status.
 */
int routes_h_explain(struct admin_call *call, const struct model *m);

#endif /* WEIR_ADMIN_ROUTES_H */
