// SPDX-License-Identifier: Apache-2.0
/*
 * GET /routes/explain: what the agent's router does with one request, answered by running
 * the router's own functions (proxy/router.h, proxy/balancer.h) on a synthetic request
 * built from the query, with the client Pod's labels and namespace as the source. Nothing
 * is sent anywhere; the live state of the workers (outlier ejections, health checks,
 * token buckets) is not visible from here and is said to be so.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weir/service.h>

#include "admin/admin.h"
#include "admin/routes.h"
#include "admin/routes_priv.h"
#include "proxy/balancer.h"
#include "proxy/http.h"
#include "proxy/router.h"

/* The router's generator needs a seed; the answer never depends on the draw (see below). */
#define ROUTES_EXPLAIN_SEED 0x9e3779b97f4a7c15ull

/* Most headers a query may carry: each is a query parameter, so this bounds the work. */
#define ROUTES_MAX_HEADERS 64

/* Sets <err> and returns <code> (a negative errno). */
static int routes_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int routes_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* ---- the request ---- */

/* Builds the request head of <q> for Service <svc> into <h> (init'ed). 0 or -errno. */
static int routes_req_build(struct http_head *h, const struct routes_query *q,
			    const struct model_service *svc, char *err, size_t errlen)
{
	char auth[512];
	const char *method = q->method && *q->method ? q->method : "GET";
	const char *path = q->path && *q->path ? q->path : "/";
	const char *scheme = q->scheme && *q->scheme ? q->scheme : "http";
	size_t i;
	int e;

	/* What a client resolving the Service by its cluster DNS name sends as Host. */
	if (q->authority && *q->authority)
		snprintf(auth, sizeof(auth), "%s", q->authority);
	else
		snprintf(auth, sizeof(auth), "%s.%s.svc.cluster.local:%u", svc->name, svc->ns,
			 q->port);
	h->version = HTTP_V11;
	e = http_head_str(h, method, strlen(method), &h->method);
	if (!e)
		e = http_head_str(h, path, strlen(path), &h->path);
	if (!e)
		e = http_head_str(h, scheme, strlen(scheme), &h->scheme);
	if (!e)
		e = http_head_str(h, auth, strlen(auth), &h->authority);
	for (i = 0; !e && i < q->nheaders; i++) {
		const char *n = q->headers[i].key,
			   *v = q->headers[i].value ? q->headers[i].value : "";

		if (!n || !*n || n[0] == ':' || strpbrk(n, " \t\r\n:"))
			return routes_fail(err, errlen, -EINVAL,
					   "header %zu: name \"%.64s\" is not an HTTP field name",
					   i, n ? n : "");
		if (strpbrk(v, "\r\n"))
			return routes_fail(err, errlen, -EINVAL,
					   "header %.64s: the value holds a line break", n);
		e = http_head_add(h, n, strlen(n), v, strlen(v));
	}
	if (e == -E2BIG)
		return routes_fail(err, errlen, -EINVAL, "the request head is over %u bytes",
				   h->limit);
	return e;
}

/* Head <h> as {"method", "path", "authority", "scheme", "headers": [[name, value]...]}. */
static json_t *routes_json_head(const struct http_head *h)
{
	json_t *o = json_object(), *hs = json_array(), *kv;
	int err = !o || !hs;
	uint32_t i;

	for (i = 0; hs && i < h->nhdrs; i++) {
		kv = json_array();
		err |= !kv;
		if (kv) {
			err |= routes_push(kv, routes_str(http_str_ptr(h, h->hdrs[i].name)));
			err |= routes_push(kv, routes_str(http_str_ptr(h, h->hdrs[i].value)));
		}
		err |= routes_push(hs, kv);
	}
	if (!o) {
		json_decref(hs);
		return NULL;
	}
	err |= routes_set(o, "method", routes_str(http_str_ptr(h, h->method)));
	err |= routes_set(o, "path", routes_str(http_str_ptr(h, h->path)));
	err |= routes_set(o, "authority", routes_str(http_str_ptr(h, h->authority)));
	err |= routes_set(o, "scheme", routes_str(http_str_ptr(h, h->scheme)));
	err |= routes_set(o, "headers", hs);
	return routes_done(o, err);
}

/* ---- the evaluation ---- */

/*
 * Whether http route <r> is visible to a client in namespace <ns> (its VS's exportTo), as
 * router_route() applies it: a hidden route is skipped, so the answer says why.
 */
static bool routes_exported(const struct route_http *r, const char *ns)
{
	size_t i;

	if (!r->nexport_ns)
		return true;
	for (i = 0; ns && i < r->nexport_ns; i++)
		if (!strcmp(r->export_ns[i], "*") || !strcmp(r->export_ns[i], ns))
			return true;
	return false;
}

/*
 * Every route the router tried, up to and including the one taken (all of them when none
 * held): per match the first condition that failed (router_match_fail()), so a user sees
 * why an earlier route did not take the request.
 */
static json_t *routes_json_tried(const struct route_table *t, const struct http_head *req,
				 const struct router_source *src, const struct router_result *res)
{
	size_t i, j, last = res->route ? res->route_idx + 1 : t->nhttp;
	json_t *a = json_array();
	int err = !a;

	for (i = 0; a && i < last && i < t->nhttp; i++) {
		const struct route_http *r = t->http[i];
		json_t *o = json_object(), *ms = json_array();

		err |= !o || !ms;
		for (j = 0; ms && j < r->nmatches; j++) {
			const char *fail = router_match_fail(&r->matches[j], req, src);
			json_t *m = json_object();

			err |= !m;
			if (m) {
				err |= routes_set(m, "index", json_integer(j));
				err |= routes_set(m, "name", routes_str(r->matches[j].name));
				err |= routes_set(m, "holds", json_boolean(!fail));
				err |= routes_set(m, "failed", routes_str(fail));
			}
			err |= routes_push(ms, m);
		}
		if (!o) {
			json_decref(ms);
			err |= routes_push(a, NULL);
			continue;
		}
		err |= routes_set(o, "index", json_integer(i));
		err |= routes_set(o, "name", routes_str(r->name));
		err |= routes_set(o, "virtual_service", routes_str(r->vs));
		err |= routes_set(o, "taken", json_boolean(res->route == r));
		err |= routes_set(o, "catch_all", json_boolean(!r->nmatches));
		err |=
		    routes_set(o, "exported_to_source", json_boolean(routes_exported(r, src->ns)));
		err |= routes_set(o, "matches", ms);
		err |= routes_push(a, o);
	}
	return routes_done(a, err);
}

/*
 * The backends of cluster <c> as the balancer sees them with no live state (no active
 * requests, nothing ejected): each endpoint with the weight balancer_weight() gives it and
 * whether it is a candidate.
 */
/*
 * Same function the proxy's balancer calls (balancer_weight()), so readiness and drain
 * (weight 0) count exactly as they do on a real request.
 */
static json_t *routes_json_candidates(const struct route_cluster *c, const struct model *m,
				      size_t *ncand)
{
	struct balancer_req br = {.gen = m->generation ? m->generation : 1};
	json_t *a = json_array();
	int err = !a;
	size_t i;

	*ncand = 0;
	for (i = 0; a && i < c->neps; i++) {
		uint32_t w = balancer_weight(c, i, &br);
		json_t *e = routes_json_endpoint(c->eps[i]);

		if (e) {
			err |= routes_set(e, "effective_weight", json_integer(w));
			err |= routes_set(e, "candidate", json_boolean(w > 0));
		}
		*ncand += w > 0;
		err |= routes_push(a, e);
	}
	return routes_done(a, err);
}

/*
 * One destination the request can go to: its cluster, share, outcome, candidate backends
 * and the request as that upstream would receive it (destination then route header
 * operations, then the rewrite, as the proxy applies them).
 */
static json_t *routes_json_target(const struct model *m, const struct route_http *r,
				  const struct route_dest *d, const struct route_cluster *c,
				  double prob, const struct http_head *req,
				  const struct router_result *res)
{
	json_t *o = json_object();
	struct http_head up;
	size_t ncand = 0;
	int err = !o, e;

	if (!o)
		return NULL;
	err |= routes_set(o, "cluster", routes_str(c ? c->name : NULL));
	err |= routes_set(o, "subset", routes_str(c ? c->subset : NULL));
	err |= routes_set(o, "subset_unknown", json_boolean(c && c->subset_unknown));
	/* Which DestinationRule shapes the cluster for this client (exportTo, selector). */
	err |= routes_set(o, "destination_rule", routes_str(c ? c->policy.dr : NULL));
	err |= routes_set(o, "weight", json_integer(d ? d->weight : 100));
	err |= routes_set(o, "probability", json_real(prob));
	/* The router's own rule: an undefined subset has no cluster (503 NC). */
	err |= routes_set(o, "outcome",
			  json_string(!c || c->subset_unknown ? "no_cluster" : "forward"));
	if (c) {
		err |=
		    routes_set(o, "load_balancer", json_string(routes_lb_str(c->policy.lb.policy)));
		err |= routes_set(o, "backends", routes_json_candidates(c, m, &ncand));
	} else {
		err |= routes_set(o, "load_balancer", json_null());
		err |= routes_set(o, "backends", json_array());
	}
	err |= routes_set(o, "candidates", json_integer(ncand));
	http_head_init(&up, HTTP_REQUEST, req->limit);
	e = http_head_copy(&up, req);
	if (!e)
		e = router_req_headers(&up, r, d);
	if (!e && r && r->rewrite)
		e = router_rewrite(&up, r->rewrite, res->match);
	err |= routes_set(o, "upstream_request", e ? json_null() : routes_json_head(&up));
	err |= routes_set(o, "upstream_request_error", e ? routes_str(strerror(-e)) : json_null());
	http_head_fini(&up);
	return routes_done(o, err);
}

/* Every destination of the result: the route's weighted ones, or the default cluster. */
static json_t *routes_json_targets(const struct model *m, const struct route_table *t,
				   const struct http_head *req, const struct router_source *src,
				   const struct router_result *res,
				   const struct route_cluster **only)
{
	const struct route_http *r = res->route;
	json_t *a = json_array();
	int err = !a;
	size_t i;

	*only = NULL;
	if (!a)
		return NULL;
	if (res->why == ROUTER_WHY_DEFAULT) {
		*only = router_cluster_for(t->dflt, src);
		err |= routes_push(a, routes_json_target(m, NULL, NULL, *only, 1.0, req, res));
		return routes_done(a, err);
	}
	if (!r || res->verdict == ROUTER_REDIRECT || res->verdict == ROUTER_DIRECT)
		return a;
	/*
	 * The router draws one destination per request; an explanation gives every one with
	 * its chance instead, so the answer does not depend on the draw.
	 */
	for (i = 0; i < r->ndests; i++) {
		const struct route_dest *d = &r->dests[i];
		const struct route_cluster *c = router_cluster_for(d->cluster, src);
		double p = r->total_weight ? (double)d->weight / r->total_weight : 0.0;

		if (p >= 1.0)
			*only = c;
		err |= routes_push(a, routes_json_target(m, r, d, c, p, req, res));
	}
	return routes_done(a, err);
}

/* {"index", "name", "virtual_service", "match_index", "match"} of the route taken, or null. */
/* The match as routes lists it, so a user sees the condition that held, not just its index. */
static json_t *routes_json_taken(const struct router_result *res)
{
	json_t *o;
	int err;

	if (!res->route)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	err = routes_set(o, "index", json_integer(res->route_idx));
	err |= routes_set(o, "name", routes_str(res->route->name));
	err |= routes_set(o, "virtual_service", routes_str(res->route->vs));
	err |=
	    routes_set(o, "match_index", res->match ? json_integer(res->match_idx) : json_null());
	err |= routes_set(o, "match", res->match ? routes_json_match(res->match) : json_null());
	return routes_done(o, err);
}

/* The local answer of a redirect or direct response: {"status", "location"/"body"}. */
static json_t *routes_json_local(const struct http_head *req, const struct router_result *res)
{
	const struct route_http *r = res->route;
	struct http_head resp;
	json_t *o;
	size_t len = 0;
	const char *loc;
	int err, e;

	if (res->verdict != ROUTER_REDIRECT && res->verdict != ROUTER_DIRECT)
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	err = routes_set(o, "status", json_integer(res->status));
	if (res->verdict == ROUTER_DIRECT) {
		err |= routes_set(o, "body", routes_str(r->direct_body));
		return routes_done(o, err);
	}
	http_head_init(&resp, HTTP_RESPONSE, req->limit);
	e = router_redirect(req, r->redirect, &resp);
	loc = e ? NULL : http_head_get(&resp, "location", 8, &len);
	err |= routes_set(o, "location", loc ? routes_str(loc) : json_null());
	err |= routes_set(o, "error", e ? routes_str(strerror(-e)) : json_null());
	http_head_fini(&resp);
	return routes_done(o, err);
}

/* One sentence for people saying what happened. */
/*
 * For the text form and for a human reading the JSON; scripts use `verdict`, `why` and
 * `route`, which are stable values.
 */
static json_t *routes_sentence(const struct route_table *t, const struct router_result *res,
			       const struct route_cluster *only)
{
	char buf[512];

	switch (res->why) {
	case ROUTER_WHY_DEFAULT:
		snprintf(buf, sizeof(buf),
			 "no VirtualService binds the port: the request goes to the whole "
			 "Service (%s)",
			 t->dflt ? t->dflt->name : "no cluster");
		break;
	case ROUTER_WHY_NO_MATCH:
		snprintf(buf, sizeof(buf),
			 "none of the %zu routes of %s matches: 404 with response flag NR",
			 t->nhttp,
			 t->nhttp && t->http[0]->vs ? t->http[0]->vs : "the VirtualService");
		break;
	case ROUTER_WHY_NO_DEST:
		snprintf(buf, sizeof(buf),
			 "route %zu (%s) matched but names no destination: 503 NC", res->route_idx,
			 res->route->name ? res->route->name : "?");
		break;
	default:
		snprintf(buf, sizeof(buf), "route %zu (%s) %s%s%s", res->route_idx,
			 res->route->name ? res->route->name : "?",
			 res->why == ROUTER_WHY_CATCH_ALL ? "has no match conditions and takes it"
							  : "matched",
			 only ? ": " : "", only ? only->name : "");
		break;
	}
	return routes_str(buf);
}

/* ---- the answer ---- */

/* Finds the Pod, Service and port of <q>. 0 or -ENOENT with the message in <err>. */
static int routes_find(const struct model *m, const struct routes_query *q,
		       const struct model_pod **pod, const struct model_service **svc,
		       const struct model_svc_port **sp, char *err, size_t errlen)
{
	size_t i;

	*pod = model_find_pod(m, q->pod_ns, q->pod_name);
	if (!*pod)
		return routes_fail(err, errlen, -ENOENT, "no Pod %s/%s in the model", q->pod_ns,
				   q->pod_name);
	*svc = NULL;
	for (i = 0; i < m->nservices && !*svc; i++)
		if (!strcmp(m->services[i].ns, q->svc_ns) &&
		    !strcmp(m->services[i].name, q->svc_name))
			*svc = &m->services[i];
	if (!*svc)
		return routes_fail(err, errlen, -ENOENT, "no Service %s/%s in the model", q->svc_ns,
				   q->svc_name);
	*sp = NULL;
	for (i = 0; i < (*svc)->nports && !*sp; i++)
		if ((*svc)->ports[i].port == q->port && (*svc)->ports[i].proto == IPPROTO_TCP)
			*sp = &(*svc)->ports[i];
	if (!*sp)
		return routes_fail(err, errlen, -ENOENT, "Service %s/%s has no TCP port %u",
				   q->svc_ns, q->svc_name, q->port);
	return 0;
}

/* Why the router does not see this port's requests, or NULL when it does. */
/*
 * Sniffed ports apply: an HTTP request on an unnamed port is routed like one on an http
 * port once the agent has seen its first bytes.
 */
static const char *routes_not_applying(const struct route_table *t, const char *path)
{
	if (!t)
		return "the snapshot has no route table for this port";
	if (strcmp(path, "agent"))
		return "the Service takes the kernel path: connect() is balanced in the kernel and "
		       "no HTTP route applies";
	if (t->proto == ROUTE_PROTO_TCP || t->proto == ROUTE_PROTO_TLS)
		return "the port's protocol is opaque (tcp or tls): the agent relays bytes and no "
		       "HTTP route applies";
	return NULL;
}

/* Fills <o> with the router's decision on <req>. Returns 0 or -1 (out of memory). */
/*
 * The timeout and retry values come from the router's own functions (router_timeout_ms(),
 * router_try_timeout_ms()), so a grpc-timeout header given with --header lowers the
 * answer as it would lower the real request's.
 */
static int routes_decide(json_t *o, const struct model *m, const struct route_table *t,
			 const struct http_head *req, const struct router_source *src)
{
	const struct route_cluster *only = NULL;
	struct router_result res;
	uint64_t rng = ROUTES_EXPLAIN_SEED, timeout;
	const struct route_http *r;
	int err = 0;

	router_route(t, req, src, &rng, &res);
	r = res.route;
	timeout = router_timeout_ms(r, req);
	err |= routes_set(o, "virtual_service", routes_str(t->nhttp ? t->http[0]->vs : NULL));
	err |= routes_set(o, "verdict", json_string(router_verdict_str(res.verdict)));
	err |= routes_set(o, "why", json_string(router_why_str(res.why)));
	err |= routes_set(o, "status", res.status ? json_integer(res.status) : json_null());
	err |= routes_set(o, "response_flags", routes_str(res.flags));
	err |= routes_set(o, "route", routes_json_taken(&res));
	err |= routes_set(o, "tried", routes_json_tried(t, req, src, &res));
	err |= routes_set(o, "destinations", routes_json_targets(m, t, req, src, &res, &only));
	err |= routes_set(o, "cluster", routes_str(only ? only->name : NULL));
	err |= routes_set(o, "subset", routes_str(only ? only->subset : NULL));
	err |= routes_set(o, "local_response", routes_json_local(req, &res));
	err |= routes_set(o, "timeout_ms", json_integer((json_int_t)timeout));
	err |= routes_set(o, "per_try_timeout_ms", json_integer(router_try_timeout_ms(r, timeout)));
	err |= routes_set(o, "retries", r ? routes_json_retry(&r->retry) : json_null());
	err |= routes_set(o, "fault", r ? routes_json_fault(r->fault) : json_null());
	err |= routes_set(o, "grpc", json_boolean(router_is_grpc(req)));
	err |= routes_set(o, "mirror", r ? routes_json_mirror(r) : json_null());
	err |= routes_set(o, "request_headers", r ? routes_json_hdr_ops(&r->req) : json_null());
	err |= routes_set(o, "response_headers", r ? routes_json_hdr_ops(&r->resp) : json_null());
	err |= routes_set(o, "rate_limit", routes_json_ratelimit(r ? r->ratelimit : NULL));
	err |= routes_set(o, "explanation", routes_sentence(t, &res, only));
	return err;
}

int routes_explain(const struct model *m, const struct routes_query *q, json_t **out, char *err,
		   size_t errlen)
{
	const struct model_pod *pod = NULL;
	const struct model_service *svc = NULL;
	const struct model_svc_port *sp = NULL;
	const struct route_table *t;
	struct router_source src;
	struct http_head req;
	json_t *o, *why, *srcj;
	const char *path, *no;
	int e, bad = 0;

	*out = NULL;
	if (!m || !q || !q->pod_ns || !q->pod_name || !q->svc_ns || !q->svc_name)
		return routes_fail(err, errlen, -EINVAL, "a Pod, a Service and a port are needed");
	e = routes_find(m, q, &pod, &svc, &sp, err, errlen);
	if (e)
		return e;
	t = route_table_find(m->routes, svc, sp);
	http_head_init(&req, HTTP_REQUEST, HTTP_HEAD_MAX_DEFAULT);
	e = routes_req_build(&req, q, svc, err, errlen);
	if (e) {
		http_head_fini(&req);
		return e == -ENOMEM ? routes_fail(err, errlen, e, "out of memory") : e;
	}
	o = json_object();
	why = json_array();
	srcj = json_object();
	if (!o || !why || !srcj) {
		json_decref(o);
		json_decref(why);
		json_decref(srcj);
		http_head_fini(&req);
		return routes_fail(err, errlen, -ENOMEM, "out of memory");
	}
	path = t ? routes_path_why(m, t, why) : svc->mode == WEIR_MODE_AGENT ? "agent" : "kernel";
	no = routes_not_applying(t, path);
	bad |= routes_set(srcj, "namespace", routes_str(pod->ns));
	bad |= routes_set(srcj, "pod", routes_str(pod->name));
	bad |= routes_set(srcj, "labels", routes_kv(pod->labels, pod->nlabels));
	bad |= routes_set(o, "applies", json_boolean(!no));
	bad |= routes_set(o, "note", routes_str(no));
	bad |= routes_set(o, "path", json_string(path));
	bad |= routes_set(o, "path_reasons", why);
	bad |= routes_set(o, "protocol", t ? json_string(routes_proto_str(t->proto)) : json_null());
	bad |= routes_set(o, "source", srcj);
	bad |= routes_set(o, "request", routes_json_head(&req));
	if (!no) {
		src = (struct router_source){
		    .labels = pod->labels, .nlabels = pod->nlabels, .ns = pod->ns, .port = q->port};
		bad |= routes_decide(o, m, t, &req, &src);
	}
	http_head_fini(&req);
	if (bad) {
		json_decref(o);
		return routes_fail(err, errlen, -ENOMEM, "out of memory");
	}
	*out = o;
	return 0;
}

/* ---- the handler ---- */

/* Splits "<ns>/<name>" parameter <name> of <call> into <buf>. 0 or an HTTP status. */
/*
 * Namespace and name are required: the handler does not guess a default namespace, which
 * weirctl has already resolved from the Pod.
 */
static int routes_param_obj(struct admin_call *call, const char *name, char *buf, size_t size,
			    const char **ns, const char **obj)
{
	const char *v = admin_call_param(call, name);
	char *slash;

	if (!v || !*v)
		return admin_call_error(call, 400, "missing parameter %s=NAMESPACE/NAME", name);
	if (snprintf(buf, size, "%s", v) >= (int)size)
		return admin_call_error(call, 400, "parameter %s is too long", name);
	slash = strchr(buf, '/');
	if (!slash || slash == buf || !slash[1] || strchr(slash + 1, '/'))
		return admin_call_error(call, 400, "parameter %s=\"%.128s\": want NAMESPACE/NAME",
					name, v);
	*slash = '\0';
	*ns = buf;
	*obj = slash + 1;
	return 0;
}

int routes_h_explain(struct admin_call *call, const struct model *m)
{
	struct k8s_kv hdrs[ROUTES_MAX_HEADERS];
	char pod[512], svc[512], err[ROUTES_ERR_LEN];
	char *copies[ROUTES_MAX_HEADERS] = {0};
	struct routes_query q = {0};
	const char *port, *h;
	json_t *out = NULL;
	unsigned long pn;
	char *end;
	size_t n = 0, i;
	int st, e;

	if (!m)
		return admin_call_error(call, 503, "no snapshot yet");
	st = routes_param_obj(call, "pod", pod, sizeof(pod), &q.pod_ns, &q.pod_name);
	if (!st)
		st = routes_param_obj(call, "service", svc, sizeof(svc), &q.svc_ns, &q.svc_name);
	if (st)
		return st;
	port = admin_call_param(call, "port");
	errno = 0;
	pn = port ? strtoul(port, &end, 10) : 0;
	if (!port || !*port || *end || errno || pn < 1 || pn > 65535)
		return admin_call_error(call, 400, "parameter port=\"%.32s\": want 1..65535",
					port ? port : "");
	q.port = (uint16_t)pn;
	q.method = admin_call_param(call, "method");
	q.path = admin_call_param(call, "path");
	q.authority = admin_call_param(call, "authority");
	q.scheme = admin_call_param(call, "scheme");
	/* header=NAME=VALUE, repeated: a field name never holds '=' (RFC 9110 tchar). */
	for (st = 0; (h = admin_call_param_at(call, "header", n)) != NULL; n++) {
		char *eq;

		if (n == ROUTES_MAX_HEADERS) {
			st = admin_call_error(call, 400, "more than %d header parameters",
					      ROUTES_MAX_HEADERS);
			break;
		}
		copies[n] = strdup(h);
		if (!copies[n]) {
			st = admin_call_error(call, 500, "out of memory");
			break;
		}
		eq = strchr(copies[n], '=');
		if (!eq || eq == copies[n]) {
			st = admin_call_error(call, 400,
					      "parameter header=\"%.128s\": want NAME=VALUE", h);
			n++;
			break;
		}
		*eq = '\0';
		hdrs[n].key = copies[n];
		hdrs[n].value = eq + 1;
	}
	if (!st) {
		q.headers = hdrs;
		q.nheaders = n;
		e = routes_explain(m, &q, &out, err, sizeof(err));
		if (e == -ENOENT)
			st = admin_call_error(call, 404, "%s", err);
		else if (e == -EINVAL)
			st = admin_call_error(call, 400, "%s", err);
		else if (e)
			st = admin_call_error(call, 500, "%s", err);
		else
			st = routes_body(call, out);
	}
	for (i = 0; i < n && i < ROUTES_MAX_HEADERS; i++)
		free(copies[i]);
	return st;
}
