// SPDX-License-Identifier: Apache-2.0
/*
 * Decodes Istio's DestinationRule and weir's HealthCheck and RateLimit (weir.dev/v1alpha1)
 * into the structs of k8s_istio.h, with the strict field lists and helpers of k8s_istio.c.
 * A TrafficPolicy is decoded the same way at the top of a rule, in a subset and in a
 * portLevelSettings entry; merging them (subset over port over top) is the model's job,
 * because which one applies depends on the port and subset a route picks.
 * The weir kinds point at their target the way Gateway API policies do (targetRef with kind,
 * name and sectionName), so that they read like the rest of a Kubernetes cluster's YAML.
 */
#include <errno.h>
#include <string.h>

#include "lib/arena.h"
#include "config/k8s_dec.h"
#include "config/k8s_istio.h"

/* --- DestinationRule ------------------------------------------------------------------ */

/*
 * consistentHash.httpCookie into <arg> (an istio_lb). Only the name matters to weir: Envoy
 * generates a cookie when ttl is set and the request has none, which the router does not do
 * yet, so path and ttl are accepted with a warning.
 */
static int dec_cookie(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"name", "path", "ttl", "attributes", NULL};
	static const char *const unenforced[] = {"path", "ttl", "attributes", NULL};
	struct istio_lb *lb = arg;
	int err;

	err = istio_keys(d, m, known, unenforced);
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "name", &lb->hash_name));
	if (!err && !lb->hash_name)
		err = k8s_dec_err(d, "name", "required");
	return err;
}

/* consistentHash.maglev: only tableSize, Envoy's default 65537 when absent. */
static int dec_maglev(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"tableSize", NULL};
	struct istio_lb *lb = arg;
	int err;

	err = istio_keys(d, m, known, NULL);
	return k8s_dec_worst(err, istio_dec_u32(d, m, "tableSize", 1, 5000011, &lb->maglev_size));
}

/*
 * consistentHash into <arg> (an istio_lb): exactly one hash key, as Istio validates; the
 * header name is lower-cased here so the router compares it to lower-case h2 names.
 */
static int dec_hash(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"httpHeaderName",	      "httpCookie", "useSourceIp",
					    "httpQueryParameterName", "ringHash",   "maglev",
					    "minimumRingSize",	      NULL};
	static const char *const unenforced[] = {"ringHash", "minimumRingSize", NULL};
	struct istio_lb *lb = arg;
	const char *hdr = NULL, *q = NULL;
	bool src = false;
	unsigned n = 0;
	char *c;
	int err;

	lb->policy = 5;
	err = istio_keys(d, m, known, unenforced);
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "httpHeaderName", &hdr));
	err = k8s_dec_worst(err, k8s_dec_bool(d, m, "useSourceIp", false, &src));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "httpQueryParameterName", &q));
	if (hdr) {
		n++;
		lb->hash_key = 1;
		for (c = (char *)hdr; *c; c++) /* the arena's copy: header names are lower case */
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		lb->hash_name = hdr;
	}
	if (k8s_dec_get(d, m, "httpCookie")) {
		n++;
		lb->hash_key = 2;
		err = k8s_dec_worst(err, k8s_dec_sub(d, m, "httpCookie", lb, dec_cookie));
	}
	if (src) {
		n++;
		lb->hash_key = 3;
	}
	if (q) {
		n++;
		lb->hash_key = 4;
		lb->hash_name = q;
	}
	err = k8s_dec_worst(err, k8s_dec_sub(d, m, "maglev", lb, dec_maglev));
	if (!err && n != 1)
		err = k8s_dec_err(d, NULL,
				  "exactly one of httpHeaderName, httpCookie, useSourceIp, "
				  "httpQueryParameterName is required");
	return err;
}

/*
 * loadBalancer into <arg> (an istio_lb). LEAST_CONN is Istio's deprecated name of
 * LEAST_REQUEST and decodes to the same policy; UNSPECIFIED means Istio's default.
 */
static int dec_lb(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {
	    "simple", "consistentHash", "localityLbSetting", "warmupDurationSecs", "warmup", NULL};
	static const char *const unenforced[] = {"localityLbSetting", "warmupDurationSecs",
						 "warmup", NULL};
	static const struct {
		const char *name;
		uint8_t lb;
	} simple[] = {{"UNSPECIFIED", 0}, {"LEAST_CONN", 2},  {"RANDOM", 3},
		      {"PASSTHROUGH", 4}, {"ROUND_ROBIN", 1}, {"LEAST_REQUEST", 2}};
	struct istio_lb *lb = arg;
	const char *s;
	size_t i;
	int err;

	lb->set = true;
	err = istio_keys(d, m, known, unenforced);
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "simple", &s));
	if (!err && s) {
		for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
			if (!strcmp(s, simple[i].name))
				break;
		if (i == sizeof(simple) / sizeof(simple[0]))
			err = k8s_dec_err(d, "simple",
					  "\"%s\" is not one of ROUND_ROBIN, LEAST_REQUEST, "
					  "LEAST_CONN, RANDOM, PASSTHROUGH, UNSPECIFIED",
					  s);
		else
			lb->policy = simple[i].lb;
	}
	if (k8s_dec_get(d, m, "consistentHash")) {
		if (s)
			err = k8s_dec_worst(err, k8s_dec_err(d, NULL,
							     "simple and consistentHash exclude "
							     "each other"));
		err = k8s_dec_worst(err, k8s_dec_sub(d, m, "consistentHash", lb, dec_hash));
	}
	return err;
}

/* connectionPool.tcp into <arg> (an istio_pool). 0 connections would block all. */
static int dec_pool_tcp(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"maxConnections", "connectTimeout",
					    "tcpKeepalive",   "maxConnectionDuration",
					    "idleTimeout",    NULL};
	static const char *const unenforced[] = {"tcpKeepalive", "maxConnectionDuration", NULL};
	struct istio_pool *p = arg;
	int err;

	err = istio_keys(d, m, known, unenforced);
	err = k8s_dec_worst(
	    err, istio_dec_u32(d, m, "maxConnections", 1, UINT32_MAX, &p->max_connections));
	err =
	    k8s_dec_worst(err, istio_dec_duration(d, m, "connectTimeout", &p->connect_timeout_ms));
	err = k8s_dec_worst(err, istio_dec_duration(d, m, "idleTimeout", &p->tcp_idle_timeout_ms));
	return err;
}

/* connectionPool.http into <arg> (an istio_pool). */
static int dec_pool_http(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"http1MaxPendingRequests",
					    "http2MaxRequests",
					    "maxRequestsPerConnection",
					    "maxRetries",
					    "idleTimeout",
					    "h2UpgradePolicy",
					    "useClientProtocol",
					    "maxConcurrentStreams",
					    NULL};
	static const char *const unenforced[] = {"useClientProtocol", "maxConcurrentStreams", NULL};
	struct istio_pool *p = arg;
	const char *up;
	int err;

	err = istio_keys(d, m, known, unenforced);
	err = k8s_dec_worst(err, istio_dec_u32(d, m, "http1MaxPendingRequests", 1, UINT32_MAX,
					       &p->http1_max_pending));
	err = k8s_dec_worst(
	    err, istio_dec_u32(d, m, "http2MaxRequests", 1, UINT32_MAX, &p->http2_max_requests));
	err = k8s_dec_worst(err, istio_dec_u32(d, m, "maxRequestsPerConnection", 0, UINT32_MAX,
					       &p->max_requests_per_conn));
	err = k8s_dec_worst(err, istio_dec_u32(d, m, "maxRetries", 0, UINT32_MAX, &p->max_retries));
	err = k8s_dec_worst(err, istio_dec_duration(d, m, "idleTimeout", &p->http_idle_timeout_ms));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "h2UpgradePolicy", &up));
	if (!err && up) {
		if (!strcmp(up, "UPGRADE"))
			p->h2_upgrade = 1;
		else if (!strcmp(up, "DO_NOT_UPGRADE"))
			p->h2_upgrade = 2;
		else if (strcmp(up, "DEFAULT"))
			err = k8s_dec_err(d, "h2UpgradePolicy",
					  "\"%s\" is not DEFAULT, UPGRADE or DO_NOT_UPGRADE", up);
	}
	return err;
}

static int dec_pool(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"tcp", "http", NULL};
	struct istio_pool *p = arg;
	int err;

	p->set = true;
	err = istio_keys(d, m, known, NULL);
	err = k8s_dec_worst(err, k8s_dec_sub(d, m, "tcp", p, dec_pool_tcp));
	err = k8s_dec_worst(err, k8s_dec_sub(d, m, "http", p, dec_pool_http));
	return err;
}

/*
 * outlierDetection into <arg> (an istio_outlier), with Istio's defaults for what is not
 * given: a block that only sets the interval still ejects after 5 consecutive 5xx.
 */
static int dec_outlier(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"consecutiveErrors",
					    "consecutive5xxErrors",
					    "consecutiveGatewayErrors",
					    "consecutiveLocalOriginFailures",
					    "splitExternalLocalOriginErrors",
					    "interval",
					    "baseEjectionTime",
					    "maxEjectionPercent",
					    "minHealthPercent",
					    NULL};
	static const char *const unenforced[] = {"consecutiveLocalOriginFailures",
						 "splitExternalLocalOriginErrors", NULL};
	struct istio_outlier *o = arg;
	int err;

	*o = (struct istio_outlier){.set = true,
				    .consecutive_5xx = 5,
				    .interval_ms = 10000,
				    .base_ejection_ms = 30000,
				    .max_ejection_percent = 10};
	err = istio_keys(d, m, known, unenforced);
	if (k8s_dec_get(d, m, "consecutiveErrors"))
		k8s_dec_warn(d, "consecutiveErrors",
			     "deprecated: read as "
			     "consecutiveGatewayErrors");
	err = k8s_dec_worst(
	    err, istio_dec_u32(d, m, "consecutiveErrors", 0, UINT32_MAX, &o->consecutive_gateway));
	err = k8s_dec_worst(
	    err, istio_dec_u32(d, m, "consecutive5xxErrors", 0, UINT32_MAX, &o->consecutive_5xx));
	err = k8s_dec_worst(err, istio_dec_u32(d, m, "consecutiveGatewayErrors", 0, UINT32_MAX,
					       &o->consecutive_gateway));
	err = k8s_dec_worst(err, istio_dec_duration(d, m, "interval", &o->interval_ms));
	err =
	    k8s_dec_worst(err, istio_dec_duration(d, m, "baseEjectionTime", &o->base_ejection_ms));
	err = k8s_dec_worst(
	    err, istio_dec_u32(d, m, "maxEjectionPercent", 0, 100, &o->max_ejection_percent));
	err = k8s_dec_worst(
	    err, istio_dec_u32(d, m, "minHealthPercent", 0, 100, &o->min_health_percent));
	return err;
}

/* The three blocks a TrafficPolicy and a portLevelSettings entry share. */
static int dec_policy_body(struct k8s_dec *d, yaml_node_t *m, struct istio_policy *p)
{
	int err;

	err = k8s_dec_sub(d, m, "loadBalancer", &p->lb, dec_lb);
	err = k8s_dec_worst(err, k8s_dec_sub(d, m, "connectionPool", &p->pool, dec_pool));
	err = k8s_dec_worst(err, k8s_dec_sub(d, m, "outlierDetection", &p->outlier, dec_outlier));
	return err;
}

/*
 * One portLevelSettings[] entry into <elem>; <vec> holds the entries before it, because a port
 * set twice would make which one applies depend on order, and Istio rejects it.
 */
static int dec_port_policy(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	static const char *const known[] = {
	    "port", "loadBalancer", "connectionPool", "outlierDetection", "tls", NULL};
	static const char *const unenforced[] = {"tls", NULL};
	static const char *const pknown[] = {"number", NULL};
	const struct istio_policy *prev = vec->v;
	struct istio_policy *p = elem;
	yaml_node_t *port;
	size_t old, i;
	int err;

	err = istio_keys(d, it, known, unenforced);
	err = k8s_dec_worst(err, k8s_dec_map(d, it, "port", &port));
	if (!port) {
		err = k8s_dec_worst(err, k8s_dec_err(d, "port", "required"));
	} else {
		old = k8s_dec_push(d, "port");
		err = k8s_dec_worst(err, istio_keys(d, port, pknown, NULL));
		err = k8s_dec_worst(err, k8s_dec_port(d, port, "number", true, &p->port));
		k8s_dec_pop(d, old);
	}
	for (i = 0; !err && i < vec->n; i++)
		if (prev[i].port == p->port)
			err = k8s_dec_err(d, "port.number", "port %u is set twice", p->port);
	return k8s_dec_worst(err, dec_policy_body(d, it, p));
}

/*
 * TrafficPolicy into <arg> (an istio_policy): at the top of a rule or in a subset. mTLS and
 * tunnels are the agent's own business in weir (not the rule's), hence warnings for tls.
 */
static int dec_policy(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {
	    "loadBalancer",	 "connectionPool", "outlierDetection", "tls",
	    "portLevelSettings", "tunnel",	   "proxyProtocol",    NULL};
	static const char *const unenforced[] = {"tls", "tunnel", "proxyProtocol", NULL};
	struct k8s_dec_vec pv = {.size = sizeof(struct istio_policy)};
	struct istio_policy *p = arg;
	int err;

	err = istio_keys(d, m, known, unenforced);
	err = k8s_dec_worst(err, dec_policy_body(d, m, p));
	err = k8s_dec_worst(err, k8s_dec_each(d, m, "portLevelSettings", &pv, dec_port_policy));
	p->ports = pv.v;
	p->nports = pv.n;
	return err;
}

/* The trafficPolicy of <map>, if any, allocated into *<out> (NULL when absent). */
static int policy_at(struct k8s_dec *d, yaml_node_t *map, const struct istio_policy **out)
{
	struct istio_policy *p;

	*out = NULL;
	if (!k8s_dec_get(d, map, "trafficPolicy"))
		return 0;
	p = arena_alloc(d->a, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*out = p;
	return k8s_dec_sub(d, map, "trafficPolicy", p, dec_policy);
}

/*
 * One subsets[] entry into <elem>. Names must be unique and DNS labels because they appear
 * in cluster names ("outbound|9080|v1|...") and in metrics labels.
 */
static int dr_subset(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	static const char *const known[] = {"name", "labels", "trafficPolicy", NULL};
	const struct istio_subset *prev = vec->v;
	struct istio_subset *s = elem;
	size_t i;
	int err;

	err = istio_keys(d, it, known, NULL);
	err = k8s_dec_worst(err, k8s_dec_str(d, it, "name", &s->name));
	if (!err && !s->name)
		err = k8s_dec_err(d, "name", "required");
	else if (!err && !k8s_dec_dns_label(s->name, strlen(s->name)))
		err = k8s_dec_err(d, "name", "\"%s\" is not a valid subset name", s->name);
	for (i = 0; !err && i < vec->n; i++)
		if (!strcmp(prev[i].name, s->name))
			err = k8s_dec_err(d, "name", "subset \"%s\" is defined twice", s->name);
	err = k8s_dec_worst(err, k8s_dec_kv(d, it, "labels", &s->labels, &s->nlabels));
	err = k8s_dec_worst(err, policy_at(d, it, &s->policy));
	return err;
}

/* workloadSelector: matchLabels only, as Istio's schema has. */
static int dec_wlsel(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"matchLabels", NULL};
	struct istio_dr *dr = arg;
	int err;

	err = istio_keys(d, m, known, NULL);
	return k8s_dec_worst(err, k8s_dec_kv(d, m, "matchLabels", &dr->selector, &dr->nselector));
}

/*
 * networking.istio.io DestinationRule: one row of the kind table (see struct k8s_kind).
 * Decodes <root> into <o>->dr.
 */
int k8s_istio_destinationrule(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
{
	static const char *const top[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
	static const char *const known[] = {"host",	"trafficPolicy",    "subsets",
					    "exportTo", "workloadSelector", NULL};
	struct k8s_dec_vec sv = {.size = sizeof(struct istio_subset)};
	struct istio_dr *dr;
	yaml_node_t *spec;
	size_t old;
	int err;

	dr = arena_alloc(d->a, sizeof(*dr));
	if (!dr)
		return -ENOMEM;
	o->dr = dr;
	err = istio_keys(d, root, top, NULL);
	err = k8s_dec_worst(err, k8s_dec_map(d, root, "spec", &spec));
	if (err == -ENOMEM)
		return err;
	if (!spec)
		return k8s_dec_err(d, "spec", "required");
	old = k8s_dec_push(d, "spec");
	err = k8s_dec_worst(err, istio_keys(d, spec, known, NULL));
	err = k8s_dec_worst(err, k8s_dec_str(d, spec, "host", &dr->host));
	if (!dr->host && !err)
		err = k8s_dec_err(d, "host", "required");
	else if (dr->host &&
		 !k8s_dec_dns_subdomain(dr->host[0] == '*' && dr->host[1] == '.' ? dr->host + 2
										 : dr->host))
		err = k8s_dec_worst(err,
				    k8s_dec_err(d, "host", "\"%s\" is not a host name", dr->host));
	err = k8s_dec_worst(err, policy_at(d, spec, &dr->policy));
	err = k8s_dec_worst(err, k8s_dec_each(d, spec, "subsets", &sv, dr_subset));
	dr->subsets = sv.v;
	dr->nsubsets = sv.n;
	err = k8s_dec_worst(err,
			    istio_dec_strs(d, spec, "exportTo", &dr->export_to, &dr->nexport_to));
	err = k8s_dec_worst(err, istio_check_export(d, dr->export_to, dr->nexport_to));
	err = k8s_dec_worst(err, k8s_dec_sub(d, spec, "workloadSelector", dr, dec_wlsel));
	k8s_dec_pop(d, old);
	return err;
}

/* --- weir.dev HealthCheck and RateLimit ----------------------------------------------- */

/* A decoded targetRef. */
struct target {
	const char *kind, *name, *section;
};

/*
 * targetRef into <arg> (a struct target). The kind defaults to Service, the common case;
 * the group may be "" (core) or Istio's, for a VirtualService; the namespace is always the
 * policy's own, like Gateway API's local policy references.
 */
static int dec_target(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"group", "kind", "name", "sectionName", NULL};
	struct target *t = arg;
	const char *group = NULL;
	int err;

	err = istio_keys(d, m, known, NULL);
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "group", &group));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "kind", &t->kind));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "name", &t->name));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "sectionName", &t->section));
	if (err)
		return err;
	if (!t->name)
		return k8s_dec_err(d, "name", "required");
	if (!t->kind)
		t->kind = "Service";
	if (group && *group && strcmp(group, "networking.istio.io"))
		return k8s_dec_err(d, "group", "\"%s\" is not \"\" or networking.istio.io", group);
	return 0;
}

/* spec.http of a HealthCheck into <arg>: path (default "/") and expected statuses. */
static int dec_http_check(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"path", "expectedStatuses", NULL};
	static const char *const eknown[] = {"min", "max", NULL};
	struct weir_healthcheck *hc = arg;
	uint32_t lo = 200, hi = 399;
	yaml_node_t *e;
	size_t old;
	int err;

	hc->http = true;
	err = istio_keys(d, m, known, NULL);
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "path", &hc->path));
	if (!err && !hc->path)
		hc->path = "/";
	else if (!err && hc->path[0] != '/')
		err = k8s_dec_err(d, "path", "\"%s\" does not start with /", hc->path);
	err = k8s_dec_worst(err, k8s_dec_map(d, m, "expectedStatuses", &e));
	if (e) {
		old = k8s_dec_push(d, "expectedStatuses");
		err = k8s_dec_worst(err, istio_keys(d, e, eknown, NULL));
		err = k8s_dec_worst(err, istio_dec_u32(d, e, "min", 100, 599, &lo));
		err = k8s_dec_worst(err, istio_dec_u32(d, e, "max", 100, 599, &hi));
		if (!err && lo > hi)
			err = k8s_dec_err(d, "max", "%u is below min %u", hi, lo);
		k8s_dec_pop(d, old);
	}
	hc->expect_min = (uint16_t)lo;
	hc->expect_max = (uint16_t)hi;
	return err;
}

/* spec.tcp of a HealthCheck: an empty mapping, any key is a typo. */
static int dec_tcp_check(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	(void)arg;
	return istio_keys(d, m, (const char *const[]){NULL}, NULL);
}

/*
 * The checks common to the weir kinds: the top-level keys of <root> and a required spec into
 * *<spec>. Returns 0, -EINVAL or -ENOMEM.
 */
static int weir_spec(struct k8s_dec *d, yaml_node_t *root, yaml_node_t **spec)
{
	static const char *const top[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
	int err;

	err = istio_keys(d, root, top, NULL);
	err = k8s_dec_worst(err, k8s_dec_map(d, root, "spec", spec));
	if (!err && !*spec)
		err = k8s_dec_err(d, "spec", "required");
	return err;
}

/*
 * weir.dev/v1alpha1 HealthCheck: one row of the kind table (see struct k8s_kind). Decodes
 * <root> into <o>->hc.
 */
int k8s_istio_healthcheck(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
{
	static const char *const known[] = {
	    "targetRef",	  "port", "http", "tcp", "interval", "timeout", "healthyThreshold",
	    "unhealthyThreshold", NULL};
	struct weir_healthcheck *hc;
	struct target t = {0};
	yaml_node_t *spec;
	size_t old;
	int err;

	hc = arena_alloc(d->a, sizeof(*hc));
	if (!hc)
		return -ENOMEM;
	o->hc = hc;
	*hc = (struct weir_healthcheck){.interval_ms = 10000,
					.timeout_ms = 1000,
					.healthy = 1,
					.unhealthy = 3,
					.expect_min = 200,
					.expect_max = 399};
	err = weir_spec(d, root, &spec);
	if (!spec)
		return err;
	old = k8s_dec_push(d, "spec");
	err = k8s_dec_worst(err, istio_keys(d, spec, known, NULL));
	if (!k8s_dec_get(d, spec, "targetRef"))
		err = k8s_dec_worst(err, k8s_dec_err(d, "targetRef", "required"));
	err = k8s_dec_worst(err, k8s_dec_sub(d, spec, "targetRef", &t, dec_target));
	if (!err && strcmp(t.kind, "Service"))
		err = k8s_dec_err(d, "targetRef.kind", "\"%s\" is not Service", t.kind);
	hc->service = t.name;
	err = k8s_dec_worst(err, k8s_dec_port(d, spec, "port", false, &hc->port));
	err = k8s_dec_worst(err, k8s_dec_sub(d, spec, "http", hc, dec_http_check));
	err = k8s_dec_worst(err, k8s_dec_sub(d, spec, "tcp", hc, dec_tcp_check));
	if (!err && !!k8s_dec_get(d, spec, "http") == !!k8s_dec_get(d, spec, "tcp"))
		err = k8s_dec_err(d, NULL, "exactly one of http, tcp is required");
	err = k8s_dec_worst(err, istio_dec_duration(d, spec, "interval", &hc->interval_ms));
	err = k8s_dec_worst(err, istio_dec_duration(d, spec, "timeout", &hc->timeout_ms));
	err = k8s_dec_worst(err, istio_dec_u32(d, spec, "healthyThreshold", 1, 100, &hc->healthy));
	err = k8s_dec_worst(err,
			    istio_dec_u32(d, spec, "unhealthyThreshold", 1, 100, &hc->unhealthy));
	if (!err && (!hc->interval_ms || !hc->timeout_ms))
		err = k8s_dec_err(d, hc->interval_ms ? "timeout" : "interval", "must not be 0");
	else if (!err && hc->timeout_ms > hc->interval_ms)
		err = k8s_dec_err(d, "timeout", "longer than interval");
	k8s_dec_pop(d, old);
	return err;
}

/*
 * weir.dev/v1alpha1 RateLimit: one row of the kind table (see struct k8s_kind). Decodes
 * <root> into <o>->rl.
 */
int k8s_istio_ratelimit(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
{
	static const char *const known[] = {"targetRef", "maxTokens", "tokensPerFill",
					    "fillInterval", NULL};
	struct weir_ratelimit *rl;
	struct target t = {0};
	yaml_node_t *spec;
	size_t old;
	int err;

	rl = arena_alloc(d->a, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	o->rl = rl;
	err = weir_spec(d, root, &spec);
	if (!spec)
		return err;
	old = k8s_dec_push(d, "spec");
	err = k8s_dec_worst(err, istio_keys(d, spec, known, NULL));
	if (!k8s_dec_get(d, spec, "targetRef"))
		err = k8s_dec_worst(err, k8s_dec_err(d, "targetRef", "required"));
	err = k8s_dec_worst(err, k8s_dec_sub(d, spec, "targetRef", &t, dec_target));
	if (!err && !strcmp(t.kind, "Service")) {
		rl->service = t.name;
		if (t.section)
			err = k8s_dec_err(d, "targetRef.sectionName",
					  "only with kind "
					  "VirtualService");
	} else if (!err && !strcmp(t.kind, "VirtualService")) {
		rl->vs = t.name;
		rl->route = t.section;
		if (!t.section)
			err = k8s_dec_err(d, "targetRef.sectionName",
					  "required with kind VirtualService: the http[].name");
	} else if (!err) {
		err = k8s_dec_err(d, "targetRef.kind", "\"%s\" is not Service or VirtualService",
				  t.kind);
	}
	if (!k8s_dec_get(d, spec, "maxTokens"))
		err = k8s_dec_worst(err, k8s_dec_err(d, "maxTokens", "required"));
	if (!k8s_dec_get(d, spec, "fillInterval"))
		err = k8s_dec_worst(err, k8s_dec_err(d, "fillInterval", "required"));
	err =
	    k8s_dec_worst(err, istio_dec_u32(d, spec, "maxTokens", 1, UINT32_MAX, &rl->max_tokens));
	rl->tokens_per_fill = UINT32_MAX;
	err = k8s_dec_worst(
	    err, istio_dec_u32(d, spec, "tokensPerFill", 1, UINT32_MAX, &rl->tokens_per_fill));
	if (rl->tokens_per_fill == UINT32_MAX)
		rl->tokens_per_fill = rl->max_tokens; /* default: refill the whole bucket */
	err =
	    k8s_dec_worst(err, istio_dec_duration(d, spec, "fillInterval", &rl->fill_interval_ms));
	if (!err && !rl->fill_interval_ms)
		err = k8s_dec_err(d, "fillInterval", "must not be 0");
	k8s_dec_pop(d, old);
	return err;
}
