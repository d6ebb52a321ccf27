// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the Istio and weir traffic kinds' decoders (config/k8s_istio.c,
 * k8s_istio_dr.c): every field users write for Istio's traffic tasks decodes into
 * config/k8s_istio.h with its value, in each API version; every error has its message with
 * the exact field path (a table of YAML -> expected message); unenforced fields warn;
 * durations parse strictly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/log.h"
#include "config/k8s.h"
#include "config/k8s_istio.h"

#define SRC "config/traffic.yaml"

static int decode(void **state, const char *yaml, struct k8s_result *res)
{
	struct arena *a = arena_new();

	assert_non_null(a);
	arena_free(*state);
	*state = a;
	return k8s_decode(a, SRC, yaml, strlen(yaml), res);
}

static int teardown(void **state)
{
	arena_free(*state);
	*state = NULL;
	return 0;
}

/* Decodes <yaml> that must be valid and hold one object of kind <id>. */
static const struct k8s_object *decode1(void **state, const char *yaml, enum k8s_kind_id id)
{
	static struct k8s_result res;
	int err = decode(state, yaml, &res);

	if (err)
		fail_msg("does not decode: %s", res.err);
	assert_int_equal(res.nobjs, 1);
	assert_int_equal(res.objs[0].kind->id, id);
	return &res.objs[0];
}

/* --- VirtualService: every field ------------------------------------------------------ */

static const char vs_full[] =
    "apiVersion: networking.istio.io/%s\n"
    "kind: VirtualService\n"
    "metadata: {name: reviews, namespace: bookinfo, creationTimestamp: "
    "\"2024-05-01T10:00:00Z\"}\n"
    "spec:\n"
    "  hosts: [reviews, reviews.bookinfo.svc.cluster.local]\n"
    "  gateways: [mesh]\n"
    "  exportTo: [\".\"]\n"
    "  http:\n"
    "  - name: jason\n"
    "    match:\n"
    "    - name: m0\n"
    "      uri: {prefix: /api}\n"
    "      scheme: {exact: http}\n"
    "      method: {regex: \"GET|HEAD\"}\n"
    "      authority: {exact: reviews:9080}\n"
    "      headers:\n"
    "        End-User: {exact: jason}\n"
    "        x-trace: {}\n"
    "      withoutHeaders:\n"
    "        x-canary: {prefix: \"no\"}\n"
    "      queryParams:\n"
    "        debug: {exact: \"1\"}\n"
    "      port: 9080\n"
    "      sourceLabels: {app: productpage}\n"
    "      sourceNamespace: bookinfo\n"
    "      ignoreUriCase: true\n"
    "    route:\n"
    "    - destination: {host: reviews, subset: v2, port: {number: 9080}}\n"
    "      weight: 75\n"
    "      headers:\n"
    "        request: {set: {X-A: \"1\"}, add: {x-b: \"2\"}, remove: [x-c]}\n"
    "        response: {remove: [server]}\n"
    "    - destination: {host: reviews, subset: v3}\n"
    "      weight: 25\n"
    "    rewrite: {uri: /v2, authority: reviews-v2}\n"
    "    timeout: 1.5s\n"
    "    retries: {attempts: 3, perTryTimeout: 300ms, retryOn: "
    "\"gateway-error,connect-failure,503\", retryRemoteLocalities: true}\n"
    "    fault:\n"
    "      delay: {fixedDelay: 7s, percentage: {value: 12.5}}\n"
    "      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 0.1}}\n"
    "    mirror: {host: ratings, subset: v1}\n"
    "    mirrorPercentage: {value: 50}\n"
    "    headers:\n"
    "      request: {set: {x-route: jason}}\n"
    "      response: {add: {x-served-by: weir}}\n"
    "  - name: moved\n"
    "    match: [{uri: {exact: /old}}]\n"
    "    redirect: {uri: /new, authority: example.com, port: 8080, scheme: https, "
    "redirectCode: 308}\n"
    "  - name: teapot\n"
    "    match: [{uri: {regex: \"/tea.*\"}}]\n"
    "    directResponse: {status: 418, body: {string: \"short and stout\"}}\n"
    "  - name: regex-rewrite\n"
    "    rewrite: {uriRegexRewrite: {match: \"^/v1/(.*)\", rewrite: \"/v2/\\\\1\"}}\n"
    "    fault: {delay: {fixedDelay: 1s, percent: 5}, abort: {httpStatus: 503}}\n"
    "    mirror: {host: ratings}\n"
    "    mirrorPercent: 10\n"
    "    route: [{destination: {host: reviews}}]\n"
    "  tcp:\n"
    "  - match: [{port: 3306}, {port: 3307}]\n"
    "    route: [{destination: {host: mysql, port: {number: 3306}}, weight: 100}]\n"
    "  tls:\n"
    "  - match: [{port: 443, sniHosts: [reviews.example.com, \"*.example.org\"],\n"
    "             destinationSubnets: [10.1.0.0/16, 192.168.1.7],\n"
    "             sourceLabels: {app: sleep}, sourceNamespace: test}]\n"
    "    route: [{destination: {host: reviews}}]\n";

static void test_istio_vs_every_field(void **state)
{
	static const char *const versions[] = {"v1", "v1beta1", "v1alpha3"};
	char yaml[sizeof(vs_full) + 16];
	size_t i;

	for (i = 0; i < 3; i++) {
		const struct k8s_object *o;
		const struct istio_vs *vs;
		const struct istio_http *h;
		const struct istio_match *m;

		snprintf(yaml, sizeof(yaml), vs_full, versions[i]);
		o = decode1(state, yaml, K8S_VIRTUALSERVICE);
		vs = o->vs;
		assert_string_equal(o->meta.created, "2024-05-01T10:00:00Z");
		assert_int_equal(vs->nhosts, 2);
		assert_string_equal(vs->hosts[1], "reviews.bookinfo.svc.cluster.local");
		assert_int_equal(vs->ngateways, 1);
		assert_string_equal(vs->export_to[0], ".");
		assert_int_equal(vs->nhttp, 4);

		h = &vs->http[0];
		assert_string_equal(h->name, "jason");
		assert_int_equal(h->nmatches, 1);
		m = &h->matches[0];
		assert_string_equal(m->name, "m0");
		assert_int_equal(m->uri.kind, 2);
		assert_string_equal(m->uri.value, "/api");
		assert_int_equal(m->scheme.kind, 1);
		assert_int_equal(m->method.kind, 3);
		assert_string_equal(m->method.value, "GET|HEAD");
		assert_string_equal(m->authority.value, "reviews:9080");
		assert_int_equal(m->nheaders, 3);
		assert_string_equal(m->headers[0].name, "end-user"); /* lower-cased */
		assert_string_equal(m->headers[0].m.value, "jason");
		assert_string_equal(m->headers[1].name, "x-trace");
		assert_int_equal(m->headers[1].m.kind, 4); /* {}: present */
		assert_string_equal(m->headers[2].name, "x-canary");
		assert_true(m->headers[2].absent);
		assert_int_equal(m->nquery, 1);
		assert_string_equal(m->query[0].name, "debug");
		assert_int_equal(m->port, 9080);
		assert_string_equal(m->source_labels[0].value, "productpage");
		assert_string_equal(m->source_ns, "bookinfo");
		assert_true(m->ignore_uri_case);

		assert_int_equal(h->ndests, 2);
		assert_string_equal(h->dests[0].host, "reviews");
		assert_string_equal(h->dests[0].subset, "v2");
		assert_int_equal(h->dests[0].port, 9080);
		assert_int_equal(h->dests[0].weight, 75);
		assert_int_equal(h->dests[1].weight, 25);
		assert_string_equal(h->dests[0].req.set[0].key, "X-A");
		assert_string_equal(h->dests[0].req.add[0].value, "2");
		assert_string_equal(h->dests[0].req.remove[0], "x-c");
		assert_string_equal(h->dests[0].resp.remove[0], "server");
		assert_string_equal(h->rewrite->uri, "/v2");
		assert_string_equal(h->rewrite->authority, "reviews-v2");
		assert_int_equal(h->timeout_ms, 1500);
		assert_true(h->has_retries);
		assert_int_equal(h->retry.attempts, 3);
		assert_int_equal(h->retry.per_try_timeout_ms, 300);
		assert_int_equal(h->retry.on, ISTIO_RETRY_GATEWAY | ISTIO_RETRY_CONNECT_FAILURE |
						  ISTIO_RETRY_CODES);
		assert_int_equal(h->retry.ncodes, 1);
		assert_int_equal(h->retry.codes[0], 503);
		assert_true(h->retry.remote_localities);
		assert_int_equal(h->fault->delay_ms, 7000);
		assert_int_equal(h->fault->delay_ppm, 125000);
		assert_true(h->fault->abort_is_grpc);
		assert_int_equal(h->fault->abort_grpc, 14);
		assert_int_equal(h->fault->abort_ppm, 1000);
		assert_string_equal(h->mirror->host, "ratings");
		assert_string_equal(h->mirror->subset, "v1");
		assert_int_equal(h->mirror_ppm, 500000);
		assert_string_equal(h->req.set[0].value, "jason");
		assert_string_equal(h->resp.add[0].key, "x-served-by");

		h = &vs->http[1];
		assert_int_equal(h->ndests, 0);
		assert_string_equal(h->redirect->uri, "/new");
		assert_string_equal(h->redirect->authority, "example.com");
		assert_string_equal(h->redirect->scheme, "https");
		assert_int_equal(h->redirect->port, 8080);
		assert_int_equal(h->redirect->code, 308);
		assert_false(h->has_retries);

		h = &vs->http[2];
		assert_int_equal(h->direct_status, 418);
		assert_string_equal(h->direct_body, "short and stout");

		h = &vs->http[3];
		assert_string_equal(h->rewrite->re_match, "^/v1/(.*)");
		assert_string_equal(h->rewrite->re_rewrite, "/v2/\\1");
		assert_int_equal(h->fault->delay_ppm, 50000);
		assert_int_equal(h->fault->abort_http, 503);
		assert_int_equal(h->fault->abort_ppm, 1000000); /* no percentage: all */
		assert_int_equal(h->mirror_ppm, 100000);
		assert_int_equal(h->dests[0].weight, 100); /* a lone destination */

		assert_int_equal(vs->ntcp, 1);
		assert_int_equal(vs->tcp[0].nports, 2);
		assert_int_equal(vs->tcp[0].ports[1], 3307);
		assert_string_equal(vs->tcp[0].dests[0].host, "mysql");
		assert_int_equal(vs->tcp[0].dests[0].port, 3306);
		assert_int_equal(vs->ntls, 1);
		assert_int_equal(vs->tls[0].nports, 0); /* tls[]: ports are in the matches */
		assert_int_equal(vs->tls[0].ntls, 1);
		assert_int_equal(vs->tls[0].tls[0].port, 443);
		assert_int_equal(vs->tls[0].tls[0].nsni, 2);
		assert_string_equal(vs->tls[0].tls[0].sni[1], "*.example.org");
		assert_int_equal(vs->tls[0].tls[0].nsubnets, 2);
		assert_int_equal(vs->tls[0].tls[0].subnets[0].addr, htonl(0x0a010000));
		assert_int_equal(vs->tls[0].tls[0].subnets[0].mask, htonl(0xffff0000));
		assert_int_equal(vs->tls[0].tls[0].subnets[1].addr, htonl(0xc0a80107));
		assert_int_equal(vs->tls[0].tls[0].subnets[1].mask, 0xffffffff);
		assert_int_equal(vs->tls[0].tls[0].nsource_labels, 1);
		assert_string_equal(vs->tls[0].tls[0].source_ns, "test");
	}
}

/* --- DestinationRule, HealthCheck, RateLimit: every field ----------------------------- */

static void test_istio_dr_every_field(void **state)
{
	const struct k8s_object *o = decode1(
	    state,
	    "apiVersion: networking.istio.io/v1beta1\n"
	    "kind: DestinationRule\n"
	    "metadata: {name: reviews}\n"
	    "spec:\n"
	    "  host: reviews.default.svc.cluster.local\n"
	    "  exportTo: [\"*\"]\n"
	    "  workloadSelector: {matchLabels: {app: productpage}}\n"
	    "  trafficPolicy:\n"
	    "    loadBalancer:\n"
	    "      consistentHash: {httpCookie: {name: user, ttl: 0s}, maglev: {tableSize: 1009}}\n"
	    "    connectionPool:\n"
	    "      tcp: {maxConnections: 10, connectTimeout: 250ms, idleTimeout: 1h}\n"
	    "      http: {http1MaxPendingRequests: 5, http2MaxRequests: 6, "
	    "maxRequestsPerConnection: 7, maxRetries: 8, idleTimeout: 2m, "
	    "h2UpgradePolicy: UPGRADE}\n"
	    "    outlierDetection: {consecutive5xxErrors: 3, consecutiveGatewayErrors: 4, "
	    "interval: 5s, baseEjectionTime: 1m, maxEjectionPercent: 50, minHealthPercent: 20}\n"
	    "    portLevelSettings:\n"
	    "    - port: {number: 9080}\n"
	    "      loadBalancer: {simple: LEAST_CONN}\n"
	    "  subsets:\n"
	    "  - name: v1\n"
	    "    labels: {version: v1}\n"
	    "    trafficPolicy:\n"
	    "      loadBalancer: {consistentHash: {useSourceIp: true}}\n"
	    "  - name: v2\n"
	    "    labels: {version: v2}\n"
	    "    trafficPolicy:\n"
	    "      loadBalancer: {consistentHash: {httpQueryParameterName: u}}\n"
	    "  - name: v3\n"
	    "    labels: {version: v3}\n"
	    "    trafficPolicy:\n"
	    "      loadBalancer: {consistentHash: {httpHeaderName: X-User}}\n",
	    K8S_DESTINATIONRULE);
	const struct istio_dr *dr = o->dr;
	const struct istio_policy *p = dr->policy;

	assert_string_equal(dr->host, "reviews.default.svc.cluster.local");
	assert_string_equal(dr->export_to[0], "*");
	assert_string_equal(dr->selector[0].value, "productpage");
	assert_true(p->lb.set);
	assert_int_equal(p->lb.policy, 5);
	assert_int_equal(p->lb.hash_key, 2);
	assert_string_equal(p->lb.hash_name, "user");
	assert_int_equal(p->lb.maglev_size, 1009);
	assert_int_equal(p->pool.max_connections, 10);
	assert_int_equal(p->pool.connect_timeout_ms, 250);
	assert_int_equal(p->pool.tcp_idle_timeout_ms, 3600000);
	assert_int_equal(p->pool.http1_max_pending, 5);
	assert_int_equal(p->pool.http2_max_requests, 6);
	assert_int_equal(p->pool.max_requests_per_conn, 7);
	assert_int_equal(p->pool.max_retries, 8);
	assert_int_equal(p->pool.http_idle_timeout_ms, 120000);
	assert_int_equal(p->pool.h2_upgrade, 1);
	assert_true(p->outlier.set);
	assert_int_equal(p->outlier.consecutive_5xx, 3);
	assert_int_equal(p->outlier.consecutive_gateway, 4);
	assert_int_equal(p->outlier.interval_ms, 5000);
	assert_int_equal(p->outlier.base_ejection_ms, 60000);
	assert_int_equal(p->outlier.max_ejection_percent, 50);
	assert_int_equal(p->outlier.min_health_percent, 20);
	assert_int_equal(p->nports, 1);
	assert_int_equal(p->ports[0].port, 9080);
	assert_int_equal(p->ports[0].lb.policy, 2);
	assert_int_equal(dr->nsubsets, 3);
	assert_string_equal(dr->subsets[0].name, "v1");
	assert_string_equal(dr->subsets[0].labels[0].value, "v1");
	assert_int_equal(dr->subsets[0].policy->lb.hash_key, 3);
	assert_int_equal(dr->subsets[1].policy->lb.hash_key, 4);
	assert_string_equal(dr->subsets[1].policy->lb.hash_name, "u");
	assert_int_equal(dr->subsets[2].policy->lb.hash_key, 1);
	assert_string_equal(dr->subsets[2].policy->lb.hash_name, "x-user");
}

static void test_istio_weir_every_field(void **state)
{
	const struct k8s_object *o;

	o = decode1(state,
		    "apiVersion: weir.dev/v1alpha1\nkind: HealthCheck\nmetadata: {name: h}\n"
		    "spec:\n  targetRef: {kind: Service, name: reviews}\n  port: 9080\n"
		    "  http: {path: /health, expectedStatuses: {min: 200, max: 299}}\n"
		    "  interval: 3s\n  timeout: 1s\n  healthyThreshold: 2\n"
		    "  unhealthyThreshold: 4\n",
		    K8S_HEALTHCHECK);
	assert_string_equal(o->hc->service, "reviews");
	assert_int_equal(o->hc->port, 9080);
	assert_true(o->hc->http);
	assert_string_equal(o->hc->path, "/health");
	assert_int_equal(o->hc->expect_min, 200);
	assert_int_equal(o->hc->expect_max, 299);
	assert_int_equal(o->hc->interval_ms, 3000);
	assert_int_equal(o->hc->timeout_ms, 1000);
	assert_int_equal(o->hc->healthy, 2);
	assert_int_equal(o->hc->unhealthy, 4);

	o = decode1(state,
		    "apiVersion: weir.dev/v1alpha1\nkind: HealthCheck\nmetadata: {name: h}\n"
		    "spec: {targetRef: {name: db}, tcp: {}}\n",
		    K8S_HEALTHCHECK);
	assert_false(o->hc->http);
	assert_int_equal(o->hc->port, 0);
	assert_int_equal(o->hc->interval_ms, 10000); /* defaults */
	assert_int_equal(o->hc->timeout_ms, 1000);
	assert_int_equal(o->hc->healthy, 1);
	assert_int_equal(o->hc->unhealthy, 3);

	o = decode1(state,
		    "apiVersion: weir.dev/v1alpha1\nkind: RateLimit\nmetadata: {name: r}\n"
		    "spec:\n  targetRef: {group: networking.istio.io, kind: VirtualService, "
		    "name: reviews, sectionName: jason}\n  maxTokens: 10\n  tokensPerFill: 2\n"
		    "  fillInterval: 500ms\n",
		    K8S_RATELIMIT);
	assert_null(o->rl->service);
	assert_string_equal(o->rl->vs, "reviews");
	assert_string_equal(o->rl->route, "jason");
	assert_int_equal(o->rl->max_tokens, 10);
	assert_int_equal(o->rl->tokens_per_fill, 2);
	assert_int_equal(o->rl->fill_interval_ms, 500);

	o = decode1(state,
		    "apiVersion: weir.dev/v1alpha1\nkind: RateLimit\nmetadata: {name: r}\n"
		    "spec: {targetRef: {kind: Service, name: ratings}, maxTokens: 3, "
		    "fillInterval: 1s}\n",
		    K8S_RATELIMIT);
	assert_string_equal(o->rl->service, "ratings");
	assert_int_equal(o->rl->tokens_per_fill, 3);
}

/* --- errors --------------------------------------------------------------------------- */

#define VSH                                                                                        \
	"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\n"          \
	"spec:\n  hosts: [reviews]\n"
#define HTTP(x) VSH "  http:\n  - " x "\n"
#define RT	"route: [{destination: {host: reviews}}]"
#define VSE	SRC ": VirtualService default/r: "
#define DRH                                                                                        \
	"apiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\nmetadata: {name: "       \
	"d}\nspec:\n  host: reviews\n"
#define DRE SRC ": DestinationRule default/d: "
#define HCH "apiVersion: weir.dev/v1alpha1\nkind: HealthCheck\nmetadata: {name: h}\nspec:\n"
#define HCE SRC ": HealthCheck default/h: "
#define RLH "apiVersion: weir.dev/v1alpha1\nkind: RateLimit\nmetadata: {name: l}\nspec:\n"
#define RLE SRC ": RateLimit default/l: "

static const struct {
	const char *yaml;
	const char *err; /* the first error, exactly */
} errors[] = {
    {HTTP("route: [{destination: {host: reviews}, weight: abc}]"),
     VSE "spec.http[0].route[0].weight: expected an integer from 0 to 100, found abc"},
    {HTTP("route: [{destination: {host: reviews}, wieght: 5}]"),
     VSE "spec.http[0].route[0].wieght: unknown field"},
    {HTTP("route: [{destination: {host: reviews}, weight: 101}]"),
     VSE "spec.http[0].route[0].weight: expected an integer from 0 to 100, found 101"},
    {HTTP("route: [{destination: {host: reviews, subset: v1}}, {destination: {host: "
	  "reviews, subset: v2}}]"),
     VSE "spec.http[0].route: 2 destinations and no weight: give each a weight"},
    {HTTP("route: [{destination: {subset: v1}}]"),
     VSE "spec.http[0].route[0].destination.host: required"},
    {HTTP("route: [{weight: 100}]"), VSE "spec.http[0].route[0].destination: required"},
    {HTTP("route: [{destination: {host: reviews, subset: V1}}]"),
     VSE "spec.http[0].route[0].destination.subset: \"V1\" is not a valid subset name"},
    {HTTP("route: [{destination: {host: reviews, port: {numbr: 80}}}]"),
     VSE "spec.http[0].route[0].destination.port.numbr: unknown field"},
    {HTTP("route: [{destination: {host: reviews, port: {number: 0}}}]"),
     VSE "spec.http[0].route[0].destination.port.number: 0 is not a port (1-65535)"},
    {HTTP(RT "\n    timeout: 10"),
     VSE "spec.http[0].timeout: \"10\" is not a duration (like \"1.5s\", \"300ms\", \"2m\"; "
	 "1ms to 49 days)"},
    {HTTP(RT "\n    timeout: [1s]"), VSE "spec.http[0].timeout: expected a duration, found a list"},
    {HTTP(RT "\n    match: [{uri: {regex: \"(\"}}]"),
     VSE "spec.http[0].match[0].uri.regex: bad regex \"(\": missing ): ("},
    {HTTP(RT "\n    match: [{uri: {exact: /a, prefix: /b}}]"),
     VSE "spec.http[0].match[0].uri: only one of exact, prefix, regex may be set"},
    {HTTP(RT "\n    match: [{uri: {}}]"),
     VSE "spec.http[0].match[0].uri: one of exact, prefix, regex is required"},
    {HTTP(RT "\n    match: [{uri: {suffix: /a}}]"),
     VSE "spec.http[0].match[0].uri.suffix: unknown field"},
    {HTTP(RT "\n    match: [{headers: {end-user: {exact: a, regex: b}}}]"),
     VSE "spec.http[0].match[0].headers[end-user]: only one of exact, prefix, regex may be "
	 "set"},
    {HTTP(RT "\n    match: [{withoutHeaders: {x: {regex: \"[\"}}}]"),
     VSE "spec.http[0].match[0].withoutHeaders[x].regex: bad regex \"[\": missing ]: ["},
    {HTTP(RT "\n    match: [{queryParams: {q: [a]}}]"),
     VSE "spec.http[0].match[0].queryParams[q]: expected a mapping, found a list"},
    {HTTP(RT "\n    match: [{port: 70000}]"),
     VSE "spec.http[0].match[0].port: 70000 is not a port (1-65535)"},
    {HTTP(RT "\n    match: [{ignoreUriCase: maybe}]"),
     VSE "spec.http[0].match[0].ignoreUriCase: \"maybe\" is not a boolean (true or false)"},
    {HTTP(RT "\n    match: [{sourceLabel: {app: a}}]"),
     VSE "spec.http[0].match[0].sourceLabel: unknown field"},
    {HTTP(RT "\n    redirect: {uri: /x}"),
     VSE "spec.http[0]: exactly one of route, redirect, directResponse is required"},
    {HTTP("name: x"), VSE "spec.http[0]: exactly one of route, redirect, directResponse is "
			  "required"},
    {HTTP("redirect: {uri: /x, redirectCode: 200}"),
     VSE "spec.http[0].redirect.redirectCode: expected an integer from 300 to 399, found 200"},
    {HTTP("directResponse: {body: {string: x}}"),
     VSE "spec.http[0].directResponse.status: required"},
    {HTTP("directResponse: {status: 200, body: {text: x}}"),
     VSE "spec.http[0].directResponse.body.text: unknown field"},
    {HTTP("delegate: {name: d}"),
     VSE "spec.http[0].delegate: delegate VirtualServices are not supported"},
    {HTTP(RT "\n    rewrite: {uriRegexRewrite: {match: \"(\", rewrite: /}}"),
     VSE "spec.http[0].rewrite.uriRegexRewrite.match: bad regex \"(\": missing ): ("},
    {HTTP(RT "\n    rewrite: {uriRegexRewrite: {match: a}}"),
     VSE "spec.http[0].rewrite.uriRegexRewrite.rewrite: required"},
    {HTTP(RT "\n    rewrite: {uri: /a, uriRegexRewrite: {match: a, rewrite: b}}"),
     VSE "spec.http[0].rewrite.uriRegexRewrite: uri and uriRegexRewrite exclude each other"},
    {HTTP("redirect: {uri: /x}\n    rewrite: {uri: /y}"), VSE "spec.http[0].rewrite: only with "
							      "route"},
    {HTTP(RT "\n    retries: {attempts: -1}"),
     VSE "spec.http[0].retries.attempts: expected an integer from 0 to 1000, found -1"},
    {HTTP(RT "\n    retries: {attempts: 2, retryOn: \"5xx,bogus\"}"),
     VSE "spec.http[0].retries.retryOn: \"bogus\" is not a retry condition"},
    {HTTP(RT "\n    retries: {attempts: 2, perTryTimeout: 2x}"),
     VSE "spec.http[0].retries.perTryTimeout: \"2x\" is not a duration (like \"1.5s\", "
	 "\"300ms\", \"2m\"; 1ms to 49 days)"},
    {HTTP(RT "\n    fault: {delay: {percentage: {value: 10}}}"),
     VSE "spec.http[0].fault.delay.fixedDelay: required"},
    {HTTP(RT "\n    fault: {delay: {fixedDelay: 1s, percentage: {value: 150}}}"),
     VSE "spec.http[0].fault.delay.percentage.value: \"150\" is not a percentage (0-100)"},
    {HTTP(RT "\n    fault: {delay: {fixedDelay: 1s, percent: 101}}"),
     VSE "spec.http[0].fault.delay.percent: expected an integer from 0 to 100, found 101"},
    {HTTP(RT "\n    fault: {abort: {percentage: {value: 10}}}"),
     VSE "spec.http[0].fault.abort.httpStatus: required (or grpcStatus)"},
    {HTTP(RT "\n    fault: {abort: {httpStatus: 600}}"),
     VSE "spec.http[0].fault.abort.httpStatus: expected an integer from 200 to 599, found 600"},
    {HTTP(RT "\n    fault: {abort: {grpcStatus: NOPE}}"),
     VSE "spec.http[0].fault.abort.grpcStatus: \"NOPE\" is not a gRPC status"},
    {HTTP(RT "\n    fault: {abort: {grpcStatus: \"14\", httpStatus: 503}}"),
     VSE "spec.http[0].fault.abort: httpStatus and grpcStatus exclude each other"},
    {HTTP(RT "\n    fault: {dely: {fixedDelay: 1s}}"), VSE "spec.http[0].fault.dely: unknown "
							   "field"},
    {HTTP(RT "\n    mirror: {subset: v1}"), VSE "spec.http[0].mirror.host: required"},
    {HTTP(RT "\n    mirrorPercentage: {value: x}"),
     VSE "spec.http[0].mirrorPercentage.value: \"x\" is not a percentage (0-100)"},
    {HTTP(RT "\n    headers: {request: {set: [a]}}"),
     VSE "spec.http[0].headers.request.set: expected a mapping, found a list"},
    {HTTP(RT "\n    headers: {requests: {}}"), VSE "spec.http[0].headers.requests: unknown "
						   "field"},
    {VSH "  http: [{" RT "}]\n  tcp:\n  - match: [{port: 3306}]\n",
     VSE "spec.tcp[0].route: required"},
    {VSH "  tls:\n  - match: [{port: 443}]\n    " RT "\n", VSE "spec.tls[0].match[0].sniHosts: "
							       "required"},
    {VSH "  tcp:\n  - match: [{port: 1, sniHosts: [a]}]\n    " RT "\n",
     VSE "spec.tcp[0].match[0].sniHosts: unknown field"},
    {VSH "  tls:\n  - match: [{sniHosts: [a], destinationSubnets: [10.0.0.0/33]}]\n    " RT "\n",
     VSE "spec.tls[0].match[0].destinationSubnets[0]: \"10.0.0.0/33\" is not an address or "
	 "CIDR"},
    {VSH "  tls:\n  - match: [{sniHosts: [\"a b\"]}]\n    " RT "\n",
     VSE "spec.tls[0].match[0].sniHosts[0]: \"a b\" is not a host name"},
    {VSH "  tls:\n  - " RT "\n", VSE "spec.tls[0].match: required (with sniHosts)"},
    {"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\n"
     "spec: {http: [{" RT "}]}\n",
     VSE "spec.hosts: at least one host is required"},
    {"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\n"
     "spec: {hosts: [Bad_Host]}\n",
     VSE "spec.hosts[0]: \"Bad_Host\" is not a host name"},
    {"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\n"
     "spc: {hosts: [a]}\n",
     VSE "spc: unknown field"},
    {"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\n",
     VSE "spec: required"},
    {VSH "  htp: []\n", VSE "spec.htp: unknown field"},
    {VSH "  exportTo: [\"bad ns\"]\n",
     VSE "spec.exportTo[0]: \"bad ns\" is not \".\", \"*\", \"~\" or a namespace"},
    /* DestinationRule */
    {"apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\n"
     "spec: {subsets: []}\n",
     DRE "spec.host: required"},
    {DRH "  trafficPolicy: {loadBalancer: {simple: FASTEST}}\n",
     DRE "spec.trafficPolicy.loadBalancer.simple: \"FASTEST\" is not one of ROUND_ROBIN, "
	 "LEAST_REQUEST, LEAST_CONN, RANDOM, PASSTHROUGH, UNSPECIFIED"},
    {DRH "  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, "
	 "httpHeaderName: x}}}\n",
     DRE "spec.trafficPolicy.loadBalancer.consistentHash: exactly one of httpHeaderName, "
	 "httpCookie, useSourceIp, httpQueryParameterName is required"},
    {DRH "  trafficPolicy: {loadBalancer: {simple: RANDOM, consistentHash: {useSourceIp: "
	 "true}}}\n",
     DRE "spec.trafficPolicy.loadBalancer: simple and consistentHash exclude each other"},
    {DRH "  trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {ttl: 1s}}}}\n",
     DRE "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name: required"},
    {DRH "  trafficPolicy: {connectionPool: {tcp: {connectTimeout: 1}}}\n",
     DRE "spec.trafficPolicy.connectionPool.tcp.connectTimeout: \"1\" is not a duration (like "
	 "\"1.5s\", \"300ms\", \"2m\"; 1ms to 49 days)"},
    {DRH "  trafficPolicy: {connectionPool: {tcp: {maxConnections: 0}}}\n",
     DRE "spec.trafficPolicy.connectionPool.tcp.maxConnections: expected an integer from 1 to "
	 "4294967295, found 0"},
    {DRH "  trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: ALWAYS}}}\n",
     DRE "spec.trafficPolicy.connectionPool.http.h2UpgradePolicy: \"ALWAYS\" is not DEFAULT, "
	 "UPGRADE or DO_NOT_UPGRADE"},
    {DRH "  trafficPolicy: {connectionPool: {http: {maxPendingRequests: 1}}}\n",
     DRE "spec.trafficPolicy.connectionPool.http.maxPendingRequests: unknown field"},
    {DRH "  trafficPolicy: {outlierDetection: {maxEjectionPercent: 101}}\n",
     DRE "spec.trafficPolicy.outlierDetection.maxEjectionPercent: expected an integer from 0 "
	 "to 100, found 101"},
    {DRH "  trafficPolicy: {outlierDetection: {baseEjectionTime: -30s}}\n",
     DRE "spec.trafficPolicy.outlierDetection.baseEjectionTime: \"-30s\" is not a duration "
	 "(like \"1.5s\", \"300ms\", \"2m\"; 1ms to 49 days)"},
    {DRH "  trafficPolicy: {portLevelSettings: [{loadBalancer: {simple: RANDOM}}]}\n",
     DRE "spec.trafficPolicy.portLevelSettings[0].port: required"},
    {DRH "  trafficPolicy: {portLevelSettings: [{port: {number: 80}}, {port: {number: "
	 "80}}]}\n",
     DRE "spec.trafficPolicy.portLevelSettings[1].port.number: port 80 is set twice"},
    {DRH "  subsets:\n  - labels: {version: v1}\n", DRE "spec.subsets[0].name: required"},
    {DRH "  subsets:\n  - {name: v1}\n  - {name: v1}\n",
     DRE "spec.subsets[1].name: subset \"v1\" is defined twice"},
    {DRH "  subsets:\n  - name: v1\n    trafficPolicy: {loadBalancer: {simple: X}}\n",
     DRE "spec.subsets[0].trafficPolicy.loadBalancer.simple: \"X\" is not one of ROUND_ROBIN, "
	 "LEAST_REQUEST, LEAST_CONN, RANDOM, PASSTHROUGH, UNSPECIFIED"},
    {DRH "  subsets:\n  - name: v1\n    label: {version: v1}\n",
     DRE "spec.subsets[0].label: unknown field"},
    {DRH "  workloadSelector: {labels: {a: b}}\n",
     DRE "spec.workloadSelector.labels: unknown field"},
    /* HealthCheck */
    {HCH "  tcp: {}\n", HCE "spec.targetRef: required"},
    {HCH "  targetRef: {name: r}\n", HCE "spec: exactly one of http, tcp is required"},
    {HCH "  targetRef: {name: r}\n  tcp: {}\n  http: {}\n",
     HCE "spec: exactly one of http, tcp is required"},
    {HCH "  targetRef: {kind: Pod, name: r}\n  tcp: {}\n",
     HCE "spec.targetRef.kind: \"Pod\" is not Service"},
    {HCH "  targetRef: {kind: Service}\n  tcp: {}\n", HCE "spec.targetRef.name: required"},
    {HCH "  targetRef: {name: r}\n  http: {path: healthz}\n",
     HCE "spec.http.path: \"healthz\" does not start with /"},
    {HCH "  targetRef: {name: r}\n  http: {expectedStatuses: {min: 300, max: 200}}\n",
     HCE "spec.http.expectedStatuses.max: 200 is below min 300"},
    {HCH "  targetRef: {name: r}\n  tcp: {}\n  interval: 1s\n  timeout: 2s\n",
     HCE "spec.timeout: longer than interval"},
    {HCH "  targetRef: {name: r}\n  tcp: {port: 1}\n", HCE "spec.tcp.port: unknown field"},
    {HCH "  targetRef: {name: r}\n  tcp: {}\n  unhealthyThreshold: 0\n",
     HCE "spec.unhealthyThreshold: expected an integer from 1 to 100, found 0"},
    /* RateLimit */
    {RLH "  targetRef: {name: r}\n  fillInterval: 1s\n", RLE "spec.maxTokens: required"},
    {RLH "  targetRef: {name: r}\n  maxTokens: 1\n", RLE "spec.fillInterval: required"},
    {RLH "  targetRef: {name: r}\n  maxTokens: 1\n  fillInterval: 0s\n",
     RLE "spec.fillInterval: must not be 0"},
    {RLH "  targetRef: {kind: VirtualService, name: r}\n  maxTokens: 1\n  fillInterval: 1s\n",
     RLE "spec.targetRef.sectionName: required with kind VirtualService: the http[].name"},
    {RLH "  targetRef: {name: r, sectionName: x}\n  maxTokens: 1\n  fillInterval: 1s\n",
     RLE "spec.targetRef.sectionName: only with kind VirtualService"},
    {RLH "  targetRef: {kind: Deployment, name: r}\n  maxTokens: 1\n  fillInterval: 1s\n",
     RLE "spec.targetRef.kind: \"Deployment\" is not Service or VirtualService"},
    {RLH "  targetRef: {group: apps, name: r}\n  maxTokens: 1\n  fillInterval: 1s\n",
     RLE "spec.targetRef.group: \"apps\" is not \"\" or networking.istio.io"},
    {RLH "  targetRef: {name: r}\n  maxTokens: 1\n  fillInterval: 1s\n  burst: 2\n",
     RLE "spec.burst: unknown field"},
};

static void test_istio_errors(void **state)
{
	struct k8s_result res;
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		int err = decode(state, errors[i].yaml, &res);

		if (err != -EINVAL || strcmp(res.err, errors[i].err))
			fail_msg("case %zu: got %d \"%s\"\nwant \"%s\"", i, err, res.err,
				 errors[i].err);
		/* An object with errors is rejected, so the store keeps the last good state. */
		assert_int_equal(res.nobjs, 0);
	}
}

/* Known Istio fields weir does not enforce: accepted, each with a warning. */
static void test_istio_warnings(void **state)
{
	static const struct {
		const char *yaml, *warn;
	} cases[] = {
	    {HTTP(RT "\n    corsPolicy: {allowOrigins: [{exact: a}]}"),
	     VSE "spec.http[0].corsPolicy: accepted but not enforced by weir"},
	    {HTTP(RT "\n    match: [{gateways: [g]}]"),
	     VSE "spec.http[0].match[0].gateways: accepted but not enforced by weir"},
	    {DRH "  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}\n",
	     DRE "spec.trafficPolicy.tls: accepted but not enforced by weir"},
	    {DRH "  trafficPolicy: {loadBalancer: {localityLbSetting: {enabled: true}}}\n",
	     DRE "spec.trafficPolicy.loadBalancer.localityLbSetting: accepted but not enforced "
		 "by weir"},
	    {DRH "  trafficPolicy: {outlierDetection: {consecutiveErrors: 2}}\n",
	     DRE "spec.trafficPolicy.outlierDetection.consecutiveErrors: deprecated: read as "
		 "consecutiveGatewayErrors"},
	    {VSH "  tls:\n  - match: [{port: 443, sniHosts: [a.b], gateways: [mesh]}]\n    " RT
		 "\n",
	     VSE "spec.tls[0].match[0].gateways: ignored: weir applies tls[] routes to mesh "
		 "traffic"},
	    {"apiVersion: networking.istio.io/v2\nkind: VirtualService\nmetadata: {name: r}\n",
	     SRC ": ignoring VirtualService: apiVersion networking.istio.io/v2 is not supported"},
	};
	struct k8s_result res;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (decode(state, cases[i].yaml, &res))
			fail_msg("case %zu: %s", i, res.err);
		if (strcmp(res.warn, cases[i].warn))
			fail_msg("case %zu: got \"%s\"\nwant \"%s\"", i, res.warn, cases[i].warn);
		assert_int_equal(res.nwarnings, 1);
		assert_int_equal(res.nobjs, i + 1 < sizeof(cases) / sizeof(cases[0]));
	}
}

/* Every mistake of an object is reported at once, not only the first. */
static void test_istio_all_errors_at_once(void **state)
{
	struct k8s_result res;

	assert_int_equal(decode(state,
				HTTP("route: [{destination: {host: reviews}, weight: x}]\n"
				     "    timeout: 1y\n    fault: {abort: {httpStatus: 1}}"),
				&res),
			 -EINVAL);
	assert_int_equal(res.nerrors, 3);
}

static void test_istio_durations(void **state)
{
	static const struct {
		const char *s;
		bool ok;
		uint32_t ms;
	} cases[] = {
	    {"1.5s", true, 1500},
	    {"300ms", true, 300},
	    {"2m", true, 120000},
	    {"1h", true, 3600000},
	    {"1m30s", true, 90000},
	    {"0s", true, 0},
	    {"0.001s", true, 1},
	    {"1000us", true, 1},
	    {"1500000ns", true, 2},
	    {".5s", true, 500},
	    {"1h0m0.25s", true, 3600250},
	    {"1", false, 0},
	    {"s", false, 0},
	    {"-1s", false, 0},
	    {"+1s", false, 0},
	    {"1.5", false, 0},
	    {"1d", false, 0},
	    {"1s ", false, 0},
	    {" 1s", false, 0},
	    {"", false, 0},
	    {"1e3s", false, 0},
	    {"10us", false, 0},
	    {"1..5s", false, 0},
	    {".s", false, 0},
	    {"0x10s", false, 0},
	    {"1200h", false, 0},
	    {"nan s", false, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t ms = 12345;
		bool ok = istio_duration(cases[i].s, &ms);

		if (ok != cases[i].ok || (ok && ms != cases[i].ms))
			fail_msg("\"%s\": got %d %u, want %d %u", cases[i].s, ok, ms, cases[i].ok,
				 cases[i].ms);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_istio_vs_every_field, teardown),
	    cmocka_unit_test_teardown(test_istio_dr_every_field, teardown),
	    cmocka_unit_test_teardown(test_istio_weir_every_field, teardown),
	    cmocka_unit_test_teardown(test_istio_errors, teardown),
	    cmocka_unit_test_teardown(test_istio_warnings, teardown),
	    cmocka_unit_test_teardown(test_istio_all_errors_at_once, teardown),
	    cmocka_unit_test_teardown(test_istio_durations, teardown),
	};

	log_init("istio_test", LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
