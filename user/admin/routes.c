// SPDX-License-Identifier: Apache-2.0
/*
 * GET /routes: the compiled route tables of the current snapshot as JSON, one entry per
 * Service port with its derived path and why, its routes in the order the router tries
 * them and the clusters they send to with their merged policy. Only reads the snapshot;
 * the explain half (routes_explain.c) runs the router itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weir/service.h>

#include "admin/admin.h"
#include "admin/routes.h"
#include "admin/routes_priv.h"
#include "model/lb.h"

/* ---- small builders (see routes_priv.h) ---- */

int routes_set(json_t *o, const char *key, json_t *v)
{
	/* json_object_set_new() consumes <v> even when it fails, and fails on NULL. */
	return json_object_set_new(o, key, v) ? -1 : 0;
}

int routes_push(json_t *a, json_t *v)
{
	return json_array_append_new(a, v) ? -1 : 0;
}

json_t *routes_done(json_t *o, int err)
{
	if (!err)
		return o;
	json_decref(o);
	return NULL;
}

json_t *routes_str(const char *s)
{
	json_t *v;
	char *copy;
	size_t i;

	if (!s)
		return json_null();
	v = json_string(s);
	if (v)
		return v;
	/*
	 * Not UTF-8 (jansson refuses it): config text is YAML, so this is a header value from
	 * the query. Show it with '?' for every byte past ASCII rather than lose the field.
	 */
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (i = 0; copy[i]; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

json_t *routes_ip(uint32_t ip_be)
{
	char buf[INET_ADDRSTRLEN];

	if (!inet_ntop(AF_INET, &ip_be, buf, sizeof(buf)))
		return json_null();
	return json_string(buf);
}

json_t *routes_kv(const struct k8s_kv *kv, size_t n)
{
	json_t *o = json_object();
	int err = !o;
	size_t i;

	for (i = 0; o && i < n; i++)
		err |= routes_set(o, kv[i].key, routes_str(kv[i].value));
	return routes_done(o, err);
}

/* Parts per million as a percentage (Istio's percentage.value). */
json_t *routes_ppm(uint32_t ppm)
{
	return json_real(ppm / 10000.0);
}

/* ---- enum names: stable, docs/weirctl.md lists them ---- */

const char *routes_proto_str(uint8_t proto)
{
	static const char *const names[] = {"tcp", "http", "http2", "grpc", "sniff", "tls"};

	return proto < sizeof(names) / sizeof(names[0]) ? names[proto] : "unknown";
}

const char *routes_lb_str(uint8_t policy)
{
	/* ROUTE_LB_DEFAULT is Istio's default, LEAST_REQUEST: say what runs. */
	static const char *const names[] = {"least_request", "round_robin", "least_request",
					    "random",	     "passthrough", "consistent_hash"};

	return policy < sizeof(names) / sizeof(names[0]) ? names[policy] : "unknown";
}

const char *routes_hash_str(uint8_t hash_key)
{
	static const char *const names[] = {NULL, "header", "cookie", "source_ip", "query"};

	return hash_key < sizeof(names) / sizeof(names[0]) && names[hash_key] ? names[hash_key]
									      : "unknown";
}

/* ---- matches ---- */

/* Istio's StringMatch shape: {"exact": v} / {"prefix": v} / {"regex": v}; null for any. */
static json_t *routes_json_str(const struct route_str *s)
{
	static const char *const kinds[] = {NULL, "exact", "prefix", "regex"};
	json_t *o;
	int err;

	if (s->kind == ROUTE_STR_ANY)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	if (s->kind == ROUTE_STR_PRESENT)
		err = routes_set(o, "present", json_true());
	else if (s->kind < sizeof(kinds) / sizeof(kinds[0]))
		err = routes_set(o, kinds[s->kind], routes_str(s->value));
	else
		err = routes_set(o, "unknown", json_integer(s->kind));
	if (s->ignore_case)
		err |= routes_set(o, "ignore_case", json_true());
	return routes_done(o, err);
}

/* The conditions of <kv>/<n> whose absent flag is <absent>, as {name: StringMatch}. */
static json_t *routes_json_kvmatch(const struct route_kv_match *kv, size_t n, bool absent)
{
	json_t *o = json_object();
	int err = !o;
	size_t i;

	for (i = 0; o && i < n; i++)
		if (kv[i].absent == absent)
			err |= routes_set(o, kv[i].name, routes_json_str(&kv[i].match));
	return routes_done(o, err);
}

json_t *routes_json_match(const struct route_match *m)
{
	json_t *o = json_object();
	int err = !o;

	if (!o)
		return NULL;
	err |= routes_set(o, "name", routes_str(m->name));
	err |= routes_set(o, "uri", routes_json_str(&m->uri));
	err |= routes_set(o, "scheme", routes_json_str(&m->scheme));
	err |= routes_set(o, "method", routes_json_str(&m->method));
	err |= routes_set(o, "authority", routes_json_str(&m->authority));
	err |= routes_set(o, "headers", routes_json_kvmatch(m->headers, m->nheaders, false));
	err |= routes_set(o, "without_headers", routes_json_kvmatch(m->headers, m->nheaders, true));
	err |= routes_set(o, "query_params", routes_json_kvmatch(m->query, m->nquery, false));
	err |= routes_set(o, "port", m->port ? json_integer(m->port) : json_null());
	err |= routes_set(o, "source_labels",
			  m->nsource_labels ? routes_kv(m->source_labels, m->nsource_labels)
					    : json_null());
	err |= routes_set(o, "source_namespace", routes_str(m->source_namespace));
	return routes_done(o, err);
}

/* ---- route pieces ---- */

/*
 * Istio's Headers.HeaderOperations shape, so a user can hold the output against the YAML
 * they wrote. null rather than three empty members when nothing is done: most routes have
 * no header operations and the listing stays readable.
 */
json_t *routes_json_hdr_ops(const struct route_hdr_ops *ops)
{
	json_t *o, *rm;
	int err;
	size_t i;

	if (!ops->nset && !ops->nadd && !ops->nremove)
		return json_null();
	o = json_object();
	rm = json_array();
	err = !o || !rm;
	for (i = 0; rm && i < ops->nremove; i++)
		err |= routes_push(rm, routes_str(ops->remove[i]));
	if (!o) {
		json_decref(rm);
		return NULL;
	}
	err |= routes_set(o, "set", routes_kv(ops->set, ops->nset));
	err |= routes_set(o, "add", routes_kv(ops->add, ops->nadd));
	err |= routes_set(o, "remove", rm);
	return routes_done(o, err);
}

/* {"request": ops|null, "response": ops|null}, or null when both are empty. */
static json_t *routes_json_headers(const struct route_hdr_ops *req,
				   const struct route_hdr_ops *resp)
{
	json_t *o;
	int err;

	if (!req->nset && !req->nadd && !req->nremove && !resp->nset && !resp->nadd &&
	    !resp->nremove)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	err = routes_set(o, "request", routes_json_hdr_ops(req));
	err |= routes_set(o, "response", routes_json_hdr_ops(resp));
	return routes_done(o, err);
}

/* Envoy's retry_on names by enum route_retry_on bit. */
static const char *const routes_retry_names[] = {
    "5xx",
    "gateway-error",
    "reset",
    "connect-failure",
    "refused-stream",
    "retriable-4xx",
    "retriable-status-codes",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
};

/*
 * Always an object: a route without `retries` still gets Istio's default policy (2 attempts,
 * route.h), and showing it is the point; an empty policy would hide that retries happen.
 */
json_t *routes_json_retry(const struct route_retry *r)
{
	json_t *o = json_object(), *on = json_array(), *codes = json_array();
	int err = !o || !on || !codes;
	size_t i;

	for (i = 0; on && i < 32; i++) {
		if (!(r->on & (1u << i)))
			continue;
		if (i < sizeof(routes_retry_names) / sizeof(routes_retry_names[0]))
			err |= routes_push(on, json_string(routes_retry_names[i]));
		else
			err |= routes_push(on, json_integer(1u << i));
	}
	for (i = 0; codes && i < r->ncodes; i++)
		err |= routes_push(codes, json_integer(r->codes[i]));
	if (!o) {
		json_decref(on);
		json_decref(codes);
		return NULL;
	}
	err |= routes_set(o, "attempts", json_integer(r->attempts));
	err |= routes_set(o, "per_try_timeout_ms", json_integer(r->per_try_timeout_ms));
	err |= routes_set(o, "retry_on", on);
	err |= routes_set(o, "retriable_status_codes", codes);
	err |= routes_set(o, "retry_remote_localities", json_boolean(r->remote_localhost));
	return routes_done(o, err);
}

/*
 * Delay and abort are drawn independently (router_fault()), so each gets its own member
 * with its own percentage; the percentages are Istio's percentage.value, not ppm.
 */
json_t *routes_json_fault(const struct route_fault *f)
{
	json_t *o, *d = NULL, *a = NULL;
	int err = 0;

	if (!f)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	if (f->delay_ppm || f->delay_ms) {
		d = json_object();
		err |= !d;
		if (d) {
			err |= routes_set(d, "percent", routes_ppm(f->delay_ppm));
			err |= routes_set(d, "fixed_delay_ms", json_integer(f->delay_ms));
		}
	}
	if (f->abort_ppm || f->abort_http || f->abort_is_grpc) {
		a = json_object();
		err |= !a;
		if (a) {
			err |= routes_set(a, "percent", routes_ppm(f->abort_ppm));
			err |= routes_set(a, "http_status",
					  f->abort_is_grpc ? json_null()
							   : json_integer(f->abort_http));
			err |= routes_set(a, "grpc_status",
					  f->abort_is_grpc ? json_integer(f->abort_grpc)
							   : json_null());
		}
	}
	err |= routes_set(o, "delay", d ? d : json_null());
	err |= routes_set(o, "abort", a ? a : json_null());
	return routes_done(o, err);
}

/* The bucket as configured; its fill level lives in the workers and is not shown. */
json_t *routes_json_ratelimit(const struct route_ratelimit *rl)
{
	json_t *o;
	int err;

	if (!rl || !rl->enabled)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	err = routes_set(o, "source", routes_str(rl->source));
	err |= routes_set(o, "max_tokens", json_integer(rl->tokens));
	err |= routes_set(o, "tokens_per_fill", json_integer(rl->fill_tokens));
	err |= routes_set(o, "fill_interval_ms", json_integer(rl->fill_interval_ms));
	return routes_done(o, err);
}

/* One weighted destination: the cluster by name (the table lists clusters in full). */
static json_t *routes_json_dest(const struct route_dest *d, uint32_t total)
{
	const struct route_cluster *c = d->cluster;
	json_t *o = json_object();
	int err = !o;

	if (!o)
		return NULL;
	err |= routes_set(o, "cluster", routes_str(c ? c->name : NULL));
	err |= routes_set(o, "host", routes_str(c ? c->host : NULL));
	err |= routes_set(o, "subset", routes_str(c ? c->subset : NULL));
	err |= routes_set(o, "subset_unknown", json_boolean(c && c->subset_unknown));
	err |= routes_set(o, "weight", json_integer(d->weight));
	err |= routes_set(o, "percent", json_real(total ? 100.0 * d->weight / total : 0.0));
	err |= routes_set(o, "headers", routes_json_headers(&d->req, &d->resp));
	return routes_done(o, err);
}

static json_t *routes_json_dests(const struct route_dest *d, size_t n, uint32_t total)
{
	json_t *a = json_array();
	int err = !a;
	size_t i;

	for (i = 0; a && i < n; i++)
		err |= routes_push(a, routes_json_dest(&d[i], total));
	return routes_done(a, err);
}

/* Parts left null keep the request's (router_redirect()); the code defaults as Istio's. */
static json_t *routes_json_redirect(const struct route_redirect *rd)
{
	json_t *o;
	int err;

	if (!rd)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	err = routes_set(o, "uri", routes_str(rd->uri));
	err |= routes_set(o, "authority", routes_str(rd->authority));
	err |= routes_set(o, "scheme", routes_str(rd->scheme));
	err |= routes_set(o, "port", rd->port ? json_integer(rd->port) : json_null());
	err |= routes_set(o, "code", json_integer(rd->code ? rd->code : 301));
	return routes_done(o, err);
}

/* Istio's HTTPRewrite; what the rewritten request looks like is routes_explain()'s job. */
static json_t *routes_json_rewrite(const struct route_rewrite *rw)
{
	json_t *o;
	int err;

	if (!rw)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	err = routes_set(o, "uri", routes_str(rw->uri));
	err |= routes_set(o, "authority", routes_str(rw->authority));
	/* The compiled regex keeps no source text (route.h): say whether there is one. */
	err |= routes_set(o, "uri_regex", json_boolean(rw->uri_re != NULL));
	err |= routes_set(o, "uri_regex_rewrite", routes_str(rw->uri_re ? rw->uri_re_sub : NULL));
	return routes_done(o, err);
}

/* The mirror cluster by name: the table's clusters list holds it in full. */
json_t *routes_json_mirror(const struct route_http *r)
{
	json_t *o;
	int err;

	if (!r->mirror)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	err = routes_set(o, "cluster", routes_str(r->mirror->name));
	err |= routes_set(o, "subset", routes_str(r->mirror->subset));
	err |= routes_set(o, "percent", routes_ppm(r->mirror_ppm));
	return routes_done(o, err);
}

/*
 * Every member is present on every route (null when unset) so that tests and scripts can
 * ask for `.redirect` or `.fault` without checking that the key exists first.
 */
json_t *routes_json_http(const struct route_http *r)
{
	json_t *o = json_object(), *matches = json_array(), *exp;
	int err = !o || !matches;
	size_t i;

	for (i = 0; matches && i < r->nmatches; i++)
		err |= routes_push(matches, routes_json_match(&r->matches[i]));
	if (!o) {
		json_decref(matches);
		return NULL;
	}
	err |= routes_set(o, "name", routes_str(r->name));
	err |= routes_set(o, "virtual_service", routes_str(r->vs));
	err |= routes_set(o, "matches", matches);
	err |=
	    routes_set(o, "destinations", routes_json_dests(r->dests, r->ndests, r->total_weight));
	err |= routes_set(o, "redirect", routes_json_redirect(r->redirect));
	if (r->direct_status) {
		json_t *dr = json_object();

		err |= !dr;
		if (dr) {
			err |= routes_set(dr, "status", json_integer(r->direct_status));
			err |= routes_set(dr, "body", routes_str(r->direct_body));
		}
		err |= routes_set(o, "direct_response", dr);
	} else {
		err |= routes_set(o, "direct_response", json_null());
	}
	err |= routes_set(o, "rewrite", routes_json_rewrite(r->rewrite));
	err |= routes_set(o, "timeout_ms", json_integer(r->timeout_ms));
	err |= routes_set(o, "retries", routes_json_retry(&r->retry));
	err |= routes_set(o, "fault", routes_json_fault(r->fault));
	err |= routes_set(o, "mirror", routes_json_mirror(r));
	err |= routes_set(o, "headers", routes_json_headers(&r->req, &r->resp));
	err |= routes_set(o, "rate_limit", routes_json_ratelimit(r->ratelimit));
	if (r->nexport_ns) {
		exp = json_array();
		err |= !exp;
		for (i = 0; exp && i < r->nexport_ns; i++)
			err |= routes_push(exp, routes_str(r->export_ns[i]));
		err |= routes_set(o, "export_to", exp);
	} else {
		err |= routes_set(o, "export_to", json_null());
	}
	return routes_done(o, err);
}

/* One tls[] match: sni_hosts, port, destination_subnets, source_labels, source_namespace. */
static json_t *routes_json_tls_match(const struct route_tls_match *m)
{
	json_t *o = json_object(), *sni = json_array(), *nets = json_array();
	char ip[INET_ADDRSTRLEN], cidr[INET_ADDRSTRLEN + 4];
	int err = !o || !sni || !nets;
	size_t i;

	for (i = 0; !err && i < m->nsni; i++)
		err |= json_array_append_new(sni, routes_str(m->sni[i]));
	for (i = 0; !err && i < m->nsubnets; i++) {
		inet_ntop(AF_INET, &m->subnets[i].addr, ip, sizeof(ip));
		snprintf(cidr, sizeof(cidr), "%s/%d", ip, __builtin_popcount(m->subnets[i].mask));
		err |= json_array_append_new(nets, json_string(cidr));
	}
	if (!o) {
		json_decref(sni);
		json_decref(nets);
		return NULL;
	}
	err |= routes_set(o, "sni_hosts", sni);
	err |= routes_set(o, "port", m->port ? json_integer(m->port) : json_null());
	err |= routes_set(o, "destination_subnets", nets);
	err |= routes_set(o, "source_labels",
			  m->nsource_labels ? routes_kv(m->source_labels, m->nsource_labels)
					    : json_null());
	err |= routes_set(o, "source_namespace", routes_str(m->source_namespace));
	return routes_done(o, err);
}

/*
 * tcp[] and tls[] routes: a port condition (tcp[]) or the tls[] matches ("tls": null for a
 * tcp[] route), and weighted destinations.
 */
static json_t *routes_json_tcp(const struct route_tcp *r)
{
	json_t *o = json_object(), *tls = NULL;
	int err = !o;
	size_t i;

	if (!o)
		return NULL;
	err |= routes_set(o, "virtual_service", routes_str(r->vs));
	err |= routes_set(o, "port", r->port ? json_integer(r->port) : json_null());
	if (r->tls) {
		tls = json_array();
		err |= !tls;
		for (i = 0; tls && i < r->ntls; i++)
			err |= json_array_append_new(tls, routes_json_tls_match(&r->tls[i]));
	}
	err |= routes_set(o, "tls", tls ? tls : json_null());
	err |=
	    routes_set(o, "destinations", routes_json_dests(r->dests, r->ndests, r->total_weight));
	return routes_done(o, err);
}

/* ---- clusters ---- */

/*
 * A member as the snapshot has it. The weight is the configured one (lb_ep_weight()):
 * readiness is its own member, so a not-ready Pod does not look drained.
 */
json_t *routes_json_endpoint(const struct model_endpoint *ep)
{
	json_t *o = json_object();
	char pod[512];
	int err = !o;

	if (!o)
		return NULL;
	if (ep->pod)
		snprintf(pod, sizeof(pod), "%s/%s", ep->pod->ns, ep->pod->name);
	err |= routes_set(o, "ip", routes_ip(ep->ip));
	err |= routes_set(o, "port", json_integer(ep->port));
	err |= routes_set(o, "ready", json_boolean(ep->ready));
	err |= routes_set(o, "weight", json_integer(lb_ep_weight(ep)));
	err |= routes_set(o, "pod", ep->pod ? routes_str(pod) : json_null());
	return routes_done(o, err);
}

/*
 * The policy that runs, and whether it was chosen: ROUTE_LB_DEFAULT and an explicit
 * LEAST_REQUEST balance alike, but only the latter sends the port to the agent.
 */
static json_t *routes_json_lb(const struct route_lb_policy *lb)
{
	json_t *o = json_object();
	int err = !o;

	if (!o)
		return NULL;
	err |= routes_set(o, "policy", json_string(routes_lb_str(lb->policy)));
	err |= routes_set(o, "default", json_boolean(lb->policy == ROUTE_LB_DEFAULT));
	if (lb->policy == ROUTE_LB_HASH) {
		err |= routes_set(o, "hash_key", json_string(routes_hash_str(lb->hash_key)));
		err |= routes_set(o, "hash_name", routes_str(lb->hash_name));
		err |= routes_set(o, "maglev_table_size",
				  json_integer(lb->maglev_size ? lb->maglev_size : 65537));
	} else {
		err |= routes_set(o, "hash_key", json_null());
		err |= routes_set(o, "hash_name", json_null());
		err |= routes_set(o, "maglev_table_size", json_null());
	}
	return routes_done(o, err);
}

/* connectionPool as stored: the circuit breaker's limits per cluster and worker. */
static json_t *routes_json_pool(const struct route_conn_pool *p)
{
	static const char *const h2[] = {"default", "upgrade", "do_not_upgrade"};
	json_t *o = json_object();
	int err = !o;

	if (!o)
		return NULL;
	/* 0 is "Istio's default" everywhere here, as route.h stores it; the docs say which. */
	err |= routes_set(o, "max_connections", json_integer(p->max_connections));
	err |= routes_set(o, "connect_timeout_ms", json_integer(p->connect_timeout_ms));
	err |= routes_set(o, "tcp_idle_timeout_ms", json_integer(p->tcp_idle_timeout_ms));
	err |= routes_set(o, "http1_max_pending_requests", json_integer(p->http1_max_pending));
	err |= routes_set(o, "http2_max_requests", json_integer(p->http2_max_requests));
	err |= routes_set(o, "max_requests_per_connection", json_integer(p->max_requests_per_conn));
	err |= routes_set(o, "max_retries", json_integer(p->max_retries));
	err |= routes_set(o, "http_idle_timeout_ms", json_integer(p->http_idle_timeout_ms));
	err |= routes_set(o, "h2_upgrade_policy",
			  json_string(p->h2_upgrade < 3 ? h2[p->h2_upgrade] : "unknown"));
	return routes_done(o, err);
}

/* null when the block is absent: with Istio no outlierDetection means no ejection at all. */
static json_t *routes_json_outlier(const struct route_outlier *od)
{
	json_t *o;
	int err;

	if (!od->enabled)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	err = routes_set(o, "consecutive_5xx_errors", json_integer(od->consecutive_5xx));
	err |= routes_set(o, "consecutive_gateway_errors", json_integer(od->consecutive_gateway));
	err |= routes_set(o, "interval_ms", json_integer(od->interval_ms));
	err |= routes_set(o, "base_ejection_time_ms", json_integer(od->base_ejection_ms));
	err |= routes_set(o, "max_ejection_percent", json_integer(od->max_ejection_percent));
	err |= routes_set(o, "min_health_percent", json_integer(od->min_health_percent));
	return routes_done(o, err);
}

/* weir's HealthCheck kind; status bounds only mean something for HTTP checks. */
static json_t *routes_json_health(const struct route_health *h)
{
	json_t *o;
	int err;

	if (!h->enabled)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	err = routes_set(o, "type", json_string(h->http ? "http" : "tcp"));
	err |= routes_set(o, "path", routes_str(h->http ? h->path : NULL));
	err |= routes_set(o, "port", h->port ? json_integer(h->port) : json_null());
	err |= routes_set(o, "interval_ms", json_integer(h->interval_ms));
	err |= routes_set(o, "timeout_ms", json_integer(h->timeout_ms));
	err |= routes_set(o, "healthy_threshold", json_integer(h->healthy_threshold));
	err |= routes_set(o, "unhealthy_threshold", json_integer(h->unhealthy_threshold));
	err |= routes_set(o, "expected_status_min",
			  h->http ? json_integer(h->expect_min) : json_null());
	err |= routes_set(o, "expected_status_max",
			  h->http ? json_integer(h->expect_max) : json_null());
	return routes_done(o, err);
}

/*
 * The policy after merging subset over port over top level (route.c): what the balancer
 * and the circuit breaker use, not any one block of the DestinationRule.
 */
static json_t *routes_json_policy(const struct route_policy *p)
{
	json_t *o = json_object();
	int err = !o;

	if (!o)
		return NULL;
	err |= routes_set(o, "destination_rule", routes_str(p->dr));
	err |= routes_set(o, "load_balancer", routes_json_lb(&p->lb));
	err |= routes_set(o, "connection_pool", routes_json_pool(&p->pool));
	err |= routes_set(o, "outlier_detection", routes_json_outlier(&p->outlier));
	err |= routes_set(o, "health_check", routes_json_health(&p->health));
	err |= routes_set(o, "rate_limit", routes_json_ratelimit(&p->ratelimit));
	return routes_done(o, err);
}

json_t *routes_json_cluster(const struct route_cluster *c)
{
	json_t *o = json_object(), *eps = json_array();
	int err = !o || !eps;
	size_t i;

	for (i = 0; eps && i < c->neps; i++)
		err |= routes_push(eps, routes_json_endpoint(c->eps[i]));
	if (!o) {
		json_decref(eps);
		return NULL;
	}
	err |= routes_set(o, "name", routes_str(c->name));
	err |= routes_set(o, "host", routes_str(c->host));
	err |= routes_set(o, "namespace", routes_str(c->svc ? c->svc->ns : NULL));
	err |= routes_set(o, "service", routes_str(c->svc ? c->svc->name : NULL));
	err |= routes_set(o, "port", c->port ? json_integer(c->port->port) : json_null());
	err |= routes_set(o, "subset", routes_str(c->subset));
	err |= routes_set(o, "subset_labels",
			  c->subset ? routes_kv(c->subset_labels, c->nsubset_labels) : json_null());
	err |= routes_set(o, "subset_unknown", json_boolean(c->subset_unknown));
	err |= routes_set(o, "protocol", json_string(routes_proto_str(c->proto)));
	err |= routes_set(o, "endpoints", eps);
	err |= routes_set(o, "policy", routes_json_policy(&c->policy));
	return routes_done(o, err);
}

/* ---- tables ---- */

/* Appends the printf-style sentence to array <why>. Returns 0 or -1. */
/*
 * The reasons are sentences, not codes: a user reads them next to the YAML, and scripts
 * look at `path` and `needs_agent`, which are stable values.
 */
static int routes_why(json_t *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int routes_why(json_t *why, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return routes_push(why, routes_str(buf));
}

/*
 * What of <t> needs the agent, by the rule that sets route_table.agent (model/route.c's
 * policy_needs_agent): routes of a VirtualService, or a policy on the default cluster the
 * kernel's round robin cannot honour. Appends one sentence each to <why> when it is not
 * NULL. Returns how many.
 */
static int routes_needs(const struct route_table *t, json_t *why)
{
	const struct route_cluster *d = t->dflt;
	const struct route_policy *p = d ? &d->policy : NULL;
	const char *dr = p && p->dr ? p->dr : "(none)";
	const struct route_conn_pool *cp = p ? &p->pool : NULL;
	int n = 0;

	if (t->nhttp) {
		n++;
		if (why)
			routes_why(why, "VirtualService %s has %zu http route(s) for the port",
				   t->http[0]->vs ? t->http[0]->vs : "?", t->nhttp);
	}
	if (t->ntcp) {
		n++;
		if (why)
			routes_why(why, "VirtualService %s has %zu tcp route(s) for the port",
				   t->tcp[0]->vs ? t->tcp[0]->vs : "?", t->ntcp);
	}
	if (!p)
		return n;
	if (p->lb.policy) {
		n++;
		if (why)
			routes_why(why, "DestinationRule %s sets loadBalancer %s", dr,
				   routes_lb_str(p->lb.policy));
	}
	if (cp->max_connections || cp->connect_timeout_ms || cp->tcp_idle_timeout_ms ||
	    cp->http1_max_pending || cp->http2_max_requests || cp->max_requests_per_conn ||
	    cp->max_retries || cp->http_idle_timeout_ms || cp->h2_upgrade) {
		n++;
		if (why)
			routes_why(why, "DestinationRule %s sets connectionPool limits", dr);
	}
	if (p->outlier.enabled) {
		n++;
		if (why)
			routes_why(why, "DestinationRule %s sets outlierDetection", dr);
	}
	if (p->health.enabled) {
		n++;
		if (why)
			routes_why(why, "a HealthCheck checks the port's endpoints");
	}
	if (p->ratelimit.enabled) {
		n++;
		if (why)
			routes_why(why, "RateLimit %s limits the Service",
				   p->ratelimit.source ? p->ratelimit.source : "?");
	}
	return n;
}

const char *routes_path_why(const struct model *m, const struct route_table *t, json_t *why)
{
	const struct model_routes *r = m ? m->routes : NULL;
	const struct route_table *other = NULL;
	bool agent = t->svc->mode == WEIR_MODE_AGENT;
	size_t i;
	int own;

	own = routes_needs(t, why);
	for (i = 0; r && i < r->ntables && !other; i++)
		if (&r->tables[i] != t && r->tables[i].svc == t->svc && r->tables[i].agent)
			other = &r->tables[i];
	if (agent && !own && other)
		routes_why(why,
			   "port %u of the Service needs the agent, and the path is chosen per "
			   "Service",
			   other->port ? other->port->port : 0);
	else if (agent && !own)
		routes_why(why, "the annotation weir.dev/path=agent on the Service");
	else if (!agent && (own || other))
		routes_why(why,
			   "the annotation weir.dev/path=kernel on the Service keeps it on the "
			   "kernel path: L7 routes and policies are not applied");
	else if (!agent)
		routes_why(why,
			   "no VirtualService, DestinationRule policy, HealthCheck or RateLimit "
			   "applies: the kernel balances connect() over ready endpoints");
	return agent ? "agent" : "kernel";
}

/* Appends <c> to <cl>/<n> unless there already (at most <cap>). */
/*
 * Appends <c> to <cl>/<n> unless there already (at most <cap>). Tables are small (a few
 * routes, a few subsets), so a linear check beats any set structure.
 */
static void routes_cl_add(const struct route_cluster **cl, size_t *n, size_t cap,
			  const struct route_cluster *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < *n; i++)
		if (cl[i] == c)
			return;
	if (*n < cap)
		cl[(*n)++] = c;
}

/*
 * Every cluster of table <t>: the default, those its routes send or mirror to (in route
 * order, other Services' too), then the port's other subsets that no route names yet (a
 * user adding a route wants to see them). malloc'd; NULL when out of memory.
 */
static const struct route_cluster **routes_table_clusters(const struct model_routes *mr,
							  const struct route_table *t, size_t *n)
{
	const struct route_cluster **cl;
	size_t cap = 1, i, j;

	for (i = 0; i < t->nhttp; i++)
		cap += t->http[i]->ndests + 1;
	for (i = 0; i < t->ntcp; i++)
		cap += t->tcp[i]->ndests;
	cap += mr ? mr->nclusters : 0;
	cl = calloc(cap, sizeof(*cl));
	if (!cl)
		return NULL;
	*n = 0;
	routes_cl_add(cl, n, cap, t->dflt);
	for (i = 0; i < t->nhttp; i++) {
		for (j = 0; j < t->http[i]->ndests; j++)
			routes_cl_add(cl, n, cap, t->http[i]->dests[j].cluster);
		routes_cl_add(cl, n, cap, t->http[i]->mirror);
	}
	for (i = 0; i < t->ntcp; i++)
		for (j = 0; j < t->tcp[i]->ndests; j++)
			routes_cl_add(cl, n, cap, t->tcp[i]->dests[j].cluster);
	for (i = 0; mr && i < mr->nclusters; i++)
		if (mr->clusters[i].svc == t->svc && mr->clusters[i].port == t->port)
			routes_cl_add(cl, n, cap, &mr->clusters[i]);
	return cl;
}

json_t *routes_json_table(const struct model *m, const struct route_table *t)
{
	json_t *o = json_object(), *why = json_array(), *http = json_array(), *tcp = json_array();
	json_t *cls = json_array();
	const struct route_cluster **cl = NULL;
	const char *vs = NULL, *path;
	int err = !o || !why || !http || !tcp || !cls;
	size_t i, n = 0;

	if (err) {
		json_decref(o);
		json_decref(why);
		json_decref(http);
		json_decref(tcp);
		json_decref(cls);
		return NULL;
	}
	path = routes_path_why(m, t, why);
	for (i = 0; i < t->nhttp; i++)
		err |= routes_push(http, routes_json_http(t->http[i]));
	for (i = 0; i < t->ntcp; i++)
		err |= routes_push(tcp, routes_json_tcp(t->tcp[i]));
	cl = routes_table_clusters(m ? m->routes : NULL, t, &n);
	err |= !cl;
	for (i = 0; cl && i < n; i++)
		err |= routes_push(cls, routes_json_cluster(cl[i]));
	free(cl);
	if (t->nhttp)
		vs = t->http[0]->vs;
	else if (t->ntcp)
		vs = t->tcp[0]->vs;
	err |= routes_set(o, "namespace", routes_str(t->svc->ns));
	err |= routes_set(o, "service", routes_str(t->svc->name));
	err |= routes_set(o, "vip", t->svc->vip ? routes_ip(t->svc->vip) : json_null());
	err |= routes_set(o, "port", json_integer(t->port->port));
	err |= routes_set(o, "port_name", routes_str(t->port->name));
	err |= routes_set(o, "protocol", json_string(routes_proto_str(t->proto)));
	err |= routes_set(o, "path", json_string(path));
	err |= routes_set(o, "needs_agent", json_boolean(t->agent));
	err |= routes_set(o, "path_reasons", why);
	err |= routes_set(o, "virtual_service", routes_str(vs));
	err |= routes_set(o, "http", http);
	err |= routes_set(o, "tcp", tcp);
	err |= routes_set(o, "default_cluster", routes_str(t->dflt ? t->dflt->name : NULL));
	err |= routes_set(o, "clusters", cls);
	return routes_done(o, err);
}

json_t *routes_json(const struct model *m)
{
	const struct model_routes *r = m ? m->routes : NULL;
	json_t *o = json_object(), *ports = json_array();
	int err = !o || !ports;
	size_t i;

	for (i = 0; ports && r && i < r->ntables; i++)
		err |= routes_push(ports, routes_json_table(m, &r->tables[i]));
	if (!o) {
		json_decref(ports);
		return NULL;
	}
	err |= routes_set(o, "generation", json_integer(m ? (json_int_t)m->generation : 0));
	err |= routes_set(o, "compile_errors", json_integer(r ? (json_int_t)r->errors : 0));
	err |= routes_set(o, "ports", ports);
	return routes_done(o, err);
}

/* ---- the handler ---- */

/*
 * Indented and in insertion order: the answer is read by people with curl as often as by
 * weirctl, and a stable order makes two answers diffable.
 */
int routes_body(struct admin_call *call, json_t *root)
{
	char *s;

	if (!root)
		return admin_call_error(call, 500, "out of memory building the answer");
	s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!s)
		return admin_call_error(call, 500, "out of memory writing the answer");
	strbuf_puts(call->body, s);
	strbuf_puts(call->body, "\n");
	free(s);
	return call->body->err ? admin_call_error(call, 500, "out of memory") : 200;
}

int routes_h_list(struct admin_call *call, const struct model *m)
{
	return routes_body(call, routes_json(m));
}
