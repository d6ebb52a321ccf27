// SPDX-License-Identifier: Apache-2.0
/*
 * Tests of admin/routes.c and routes_explain.c over one small hand-built snapshot (static
 * arrays of model.h and route.h structs shaped like bookinfo's reviews with Istio's
 * reviews-test-v2 rule and more): the /routes JSON field by field, the derived path and
 * its reasons for every way a port gets it, routes_explain() for requests that take every
 * kind of route, the errors for unknown objects and bad headers, and the query parsing
 * of the /routes/explain handler. Expectations are tables of JSON paths and values.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <cmocka.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <weir/service.h>

#include "admin/admin.h"
#include "admin/routes.h"
#include "lib/strbuf.h"

/* ---- the snapshot: Pods ---- */

static const struct k8s_kv l_pp[] = {{"app", "productpage"}, {"version", "v1"}};
static const struct k8s_kv l_v1[] = {{"app", "reviews"}, {"version", "v1"}};
static const struct k8s_kv l_v2[] = {{"app", "reviews"}, {"version", "v2"}};
static const struct k8s_kv l_v3[] = {{"app", "reviews"}, {"version", "v3"}};

#define POD(n, ns_, l, rdy)                                                                        \
	{                                                                                          \
		.ns = (ns_), .name = (n), .weight = 1, .ready = (rdy), .mesh = true,               \
		.labels = (l), .nlabels = 2                                                        \
	}

static const struct model_pod pods[] = {
    POD("productpage-1", "default", l_pp, true), /* 0 */
    POD("reviews-v1-1", "default", l_v1, true),	 /* 1 */
    POD("reviews-v2-1", "default", l_v2, true),	 /* 2 */
    POD("reviews-v3-1", "default", l_v3, false), /* 3: not ready */
    POD("outsider", "other", l_pp, true),	 /* 4: another namespace */
};

#define IP(a, b, c, d)                                                                             \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

static const struct model_endpoint rv_eps[] = {
    {.ip = IP(198, 18, 1, 11), .port = 9080, .ready = true, .pod = &pods[1]},
    {.ip = IP(198, 18, 1, 12), .port = 9080, .ready = true, .pod = &pods[2]},
    {.ip = IP(198, 18, 1, 13), .port = 9080, .ready = false, .pod = &pods[3]},
};
static const struct model_endpoint *const eps_all[] = {&rv_eps[0], &rv_eps[1], &rv_eps[2]};
static const struct model_endpoint *const eps_v1[] = {&rv_eps[0]};
static const struct model_endpoint *const eps_v2[] = {&rv_eps[1]};
static const struct model_endpoint *const eps_v3[] = {&rv_eps[2]};

/* ---- Services ---- */

static const struct model_svc_port rv_ports[] = {
    {.name = "http",
     .port = 9080,
     .proto = IPPROTO_TCP,
     .app_proto = "http",
     .eps = rv_eps,
     .neps = 3},
    {.name = "tcp-admin", .port = 9090, .proto = IPPROTO_TCP, .app_proto = "tcp"},
};
static const struct model_svc_port dt_ports[] = {
    {.name = "http", .port = 9080, .proto = IPPROTO_TCP, .app_proto = "http"}};
static const struct model_svc_port rt_ports[] = {
    {.name = "tcp", .port = 9080, .proto = IPPROTO_TCP, .app_proto = "tcp"}};
static const struct model_svc_port lg_ports[] = {
    {.name = "http", .port = 80, .proto = IPPROTO_TCP, .app_proto = "http"}};
static const struct model_svc_port an_ports[] = {
    {.name = "http", .port = 80, .proto = IPPROTO_TCP, .app_proto = "http"}};

#define SVC(n, ip, md, p)                                                                          \
	{                                                                                          \
		.ns = "default", .name = (n), .vip = (ip), .mode = (md), .ports = (p),             \
		.nports = sizeof(p) / sizeof((p)[0])                                               \
	}

static const struct model_service svcs[] = {
    SVC("reviews", IP(198, 19, 0, 5), WEIR_MODE_AGENT, rv_ports),   /* 0: VirtualService */
    SVC("details", IP(198, 19, 0, 6), WEIR_MODE_KERNEL, dt_ports),  /* 1: nothing */
    SVC("ratings", IP(198, 19, 0, 7), WEIR_MODE_AGENT, rt_ports),   /* 2: DR, opaque port */
    SVC("legacy", IP(198, 19, 0, 8), WEIR_MODE_KERNEL, lg_ports),   /* 3: weir.dev/path=kernel */
    SVC("annotated", IP(198, 19, 0, 9), WEIR_MODE_AGENT, an_ports), /* 4: weir.dev/path=agent */
};

/* ---- clusters ---- */

static const struct k8s_kv sl_v1[] = {{"version", "v1"}};
static const struct k8s_kv sl_v2[] = {{"version", "v2"}};
static const struct k8s_kv sl_v3[] = {{"version", "v3"}};

#define FQDN(s) s ".default.svc.cluster.local"

static const struct route_cluster c_dflt = {.name = "outbound|9080||" FQDN("reviews"),
					    .host = FQDN("reviews"),
					    .svc = &svcs[0],
					    .port = &rv_ports[0],
					    .eps = eps_all,
					    .neps = 3,
					    .proto = ROUTE_PROTO_HTTP,
					    .id = 0};
static const struct route_cluster c_v1 = {
    .name = "outbound|9080|v1|" FQDN("reviews"),
    .host = FQDN("reviews"),
    .svc = &svcs[0],
    .port = &rv_ports[0],
    .subset = "v1",
    .subset_labels = sl_v1,
    .nsubset_labels = 1,
    .eps = eps_v1,
    .neps = 1,
    .proto = ROUTE_PROTO_HTTP,
    .policy = {.lb = {.policy = ROUTE_LB_ROUND_ROBIN}, .dr = "default/reviews"},
    .id = 1};
static const struct route_cluster c_v2 = {
    .name = "outbound|9080|v2|" FQDN("reviews"),
    .host = FQDN("reviews"),
    .svc = &svcs[0],
    .port = &rv_ports[0],
    .subset = "v2",
    .subset_labels = sl_v2,
    .nsubset_labels = 1,
    .eps = eps_v2,
    .neps = 1,
    .proto = ROUTE_PROTO_HTTP,
    .policy = {.lb = {.policy = ROUTE_LB_HASH,
		      .hash_key = ROUTE_HASH_HEADER,
		      .hash_name = "x-user"},
	       .pool = {.max_connections = 10, .http1_max_pending = 5, .h2_upgrade = 1},
	       .outlier = {.enabled = true,
			   .consecutive_5xx = 5,
			   .interval_ms = 10000,
			   .base_ejection_ms = 30000,
			   .max_ejection_percent = 10},
	       .health = {.enabled = true,
			  .http = true,
			  .path = "/health",
			  .interval_ms = 10000,
			  .timeout_ms = 1000,
			  .healthy_threshold = 1,
			  .unhealthy_threshold = 3,
			  .expect_min = 200,
			  .expect_max = 399},
	       .ratelimit = {.enabled = true,
			     .tokens = 100,
			     .fill_tokens = 10,
			     .fill_interval_ms = 1000,
			     .source = "default/reviews-rl"},
	       .dr = "default/reviews"},
    .id = 2};
static const struct route_cluster c_v3 = {.name = "outbound|9080|v3|" FQDN("reviews"),
					  .host = FQDN("reviews"),
					  .svc = &svcs[0],
					  .port = &rv_ports[0],
					  .subset = "v3",
					  .subset_labels = sl_v3,
					  .nsubset_labels = 1,
					  .eps = eps_v3,
					  .neps = 1,
					  .proto = ROUTE_PROTO_HTTP,
					  .id = 3};
static const struct route_cluster c_v9 = {.name = "outbound|9080|v9|" FQDN("reviews"),
					  .host = FQDN("reviews"),
					  .svc = &svcs[0],
					  .port = &rv_ports[0],
					  .subset = "v9",
					  .subset_unknown = true,
					  .proto = ROUTE_PROTO_HTTP,
					  .id = 4};
static const struct route_cluster c_admin = {
    .name = "outbound|9090||" FQDN("reviews"), .svc = &svcs[0], .port = &rv_ports[1], .id = 5};
static const struct route_cluster c_details = {
    .name = "outbound|9080||" FQDN("details"), .svc = &svcs[1], .port = &dt_ports[0], .id = 6};
static const struct route_cluster c_ratings = {
    .name = "outbound|9080||" FQDN("ratings"),
    .svc = &svcs[2],
    .port = &rt_ports[0],
    .policy = {.outlier = {.enabled = true, .consecutive_5xx = 3}, .dr = "default/ratings"},
    .id = 7};
static const struct route_cluster c_legacy = {
    .name = "outbound|80||" FQDN("legacy"), .svc = &svcs[3], .port = &lg_ports[0], .id = 8};
static const struct route_cluster c_annot = {
    .name = "outbound|80||" FQDN("annotated"), .svc = &svcs[4], .port = &an_ports[0], .id = 9};

/* ---- routes of reviews:9080 (VirtualService default/reviews) ---- */

#define S_EXACT(v)                                                                                 \
	{                                                                                          \
		.kind = ROUTE_STR_EXACT, .value = (v), .len = sizeof(v) - 1                        \
	}
#define S_PREFIX(v)                                                                                \
	{                                                                                          \
		.kind = ROUTE_STR_PREFIX, .value = (v), .len = sizeof(v) - 1                       \
	}
#define ONE(c)                                                                                     \
	.dests = (const struct route_dest[]){{.cluster = &(c), .weight = 100}}, .ndests = 1,       \
	.total_weight = 100
#define M(arr) .matches = (arr), .nmatches = sizeof(arr) / sizeof((arr)[0])

static const struct route_kv_match h_jason[] = {
    {.name = "end-user", .match = S_EXACT("jason")},
    {.name = "x-block", .match = {.kind = ROUTE_STR_PRESENT}, .absent = true}};
static const struct route_match m_jason[] = {{.name = "jason", .headers = h_jason, .nheaders = 2}};
static const struct route_match m_old[] = {{.uri = S_PREFIX("/old")}};
static const struct route_match m_teapot[] = {{.uri = S_EXACT("/teapot")}};
static const struct route_match m_api[] = {{.uri = S_PREFIX("/api/"), .method = S_EXACT("GET")}};
static const struct route_match m_split[] = {{.uri = S_PREFIX("/split")}};
static const struct route_match m_v9[] = {{.uri = S_PREFIX("/v9")}};
static const struct route_match m_src[] = {{.uri = S_PREFIX("/src"), .source_namespace = "other"}};

static const struct k8s_kv set_jason[] = {{"x-route", "jason"}};
static const char *const rm_cookie[] = {"cookie"};
static const struct k8s_kv add_resp[] = {{"x-served-by", "v2"}};
static const uint16_t codes_503[] = {503};
static const struct route_redirect rd_old = {.uri = "/new", .code = 302};
static const struct route_rewrite rw_api = {.uri = "/"};
static const struct route_fault f_abort = {.abort_ppm = 500000, .abort_http = 503};
static const struct route_dest d_split[] = {{.cluster = &c_v1, .weight = 80},
					    {.cluster = &c_v3, .weight = 20}};
static const char *const exp_default[] = {"default"};

static const struct route_http rv_http[] = {
    {.name = "jason",
     .vs = "default/reviews",
     M(m_jason),
     ONE(c_v2),
     .timeout_ms = 2000,
     .retry = {.attempts = 3,
	       .per_try_timeout_ms = 500,
	       .on = ROUTE_RETRY_5XX | ROUTE_RETRY_CONNECT_FAILURE | ROUTE_RETRY_RETRIABLE_CODES,
	       .codes = codes_503,
	       .ncodes = 1},
     .req = {.set = set_jason, .nset = 1, .remove = rm_cookie, .nremove = 1},
     .resp = {.add = add_resp, .nadd = 1}},
    {.name = "old", .vs = "default/reviews", M(m_old), .redirect = &rd_old},
    {.name = "teapot",
     .vs = "default/reviews",
     M(m_teapot),
     .direct_status = 418,
     .direct_body = "short and stout"},
    {.name = "api",
     .vs = "default/reviews",
     M(m_api),
     ONE(c_v1),
     .rewrite = &rw_api,
     .fault = &f_abort,
     .mirror = &c_v3,
     .mirror_ppm = 250000},
    {.name = "split",
     .vs = "default/reviews",
     M(m_split),
     .dests = d_split,
     .ndests = 2,
     .total_weight = 100},
    {.name = "v9", .vs = "default/reviews", M(m_v9), ONE(c_v9)},
    {.name = "src",
     .vs = "default/reviews",
     M(m_src),
     ONE(c_v2),
     .export_ns = exp_default,
     .nexport_ns = 1},
    {.name = "default/reviews/7", .vs = "default/reviews", ONE(c_v1)},
};
static const struct route_http *const rv_http_p[] = {&rv_http[0], &rv_http[1], &rv_http[2],
						     &rv_http[3], &rv_http[4], &rv_http[5],
						     &rv_http[6], &rv_http[7]};

static const struct route_http lg_http[] = {{.name = "all", .vs = "default/legacy", ONE(c_legacy)}};
static const struct route_http *const lg_http_p[] = {&lg_http[0]};

/* In model service order, then port order: route_table_find() bisects on the pointers. */
static const struct route_table tables[] = {
    {.svc = &svcs[0],
     .port = &rv_ports[0],
     .proto = ROUTE_PROTO_HTTP,
     .http = rv_http_p,
     .nhttp = 8,
     .dflt = &c_dflt,
     .agent = true},
    {.svc = &svcs[0], .port = &rv_ports[1], .proto = ROUTE_PROTO_TCP, .dflt = &c_admin},
    {.svc = &svcs[1], .port = &dt_ports[0], .proto = ROUTE_PROTO_HTTP, .dflt = &c_details},
    {.svc = &svcs[2],
     .port = &rt_ports[0],
     .proto = ROUTE_PROTO_TCP,
     .dflt = &c_ratings,
     .agent = true},
    {.svc = &svcs[3],
     .port = &lg_ports[0],
     .proto = ROUTE_PROTO_HTTP,
     .http = lg_http_p,
     .nhttp = 1,
     .dflt = &c_legacy,
     .agent = true},
    {.svc = &svcs[4], .port = &an_ports[0], .proto = ROUTE_PROTO_HTTP, .dflt = &c_annot},
};

/* As route_build() makes them: every subset on every port, whether a route names it or not. */
static const struct route_cluster all_clusters[] = {
    {.name = "outbound|9080|v4|" FQDN("reviews"),
     .svc = &svcs[0],
     .port = &rv_ports[0],
     .subset = "v4",
     .id = 10},
    {.name = "outbound|9090|v4|" FQDN("reviews"),
     .svc = &svcs[0],
     .port = &rv_ports[1],
     .subset = "v4",
     .id = 11},
};

static const struct model_routes mroutes = {.tables = tables,
					    .ntables = sizeof(tables) / sizeof(tables[0]),
					    .clusters = all_clusters,
					    .nclusters = 2,
					    .errors = 2};

static const struct model model = {.generation = 7,
				   .pods = pods,
				   .npods = sizeof(pods) / sizeof(pods[0]),
				   .services = svcs,
				   .nservices = sizeof(svcs) / sizeof(svcs[0]),
				   .routes = &mroutes};

/* ---- JSON expectations ---- */

/* The value at <path> in <root>: members by name, array elements by number, '.'-separated. */
static json_t *jat(json_t *root, const char *path)
{
	char buf[256], *tok, *save = NULL, *end;
	json_t *v = root;
	long idx;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); v && tok; tok = strtok_r(NULL, ".", &save)) {
		idx = strtol(tok, &end, 10);
		if (json_is_array(v) && !*end)
			v = json_array_get(v, (size_t)idx);
		else
			v = json_object_get(v, tok);
	}
	return v;
}

enum jk { J_STR, J_INT, J_BOOL, J_NULL, J_REAL, J_LEN, J_SUB };

struct jexp {
	const char *path;
	enum jk kind;
	const char *s; /* J_STR (equal), J_SUB (substring) */
	long long i;   /* J_INT, J_BOOL (0/1), J_LEN */
	double r;      /* J_REAL */
};

#define JS(p, v)                                                                                   \
	{                                                                                          \
		(p), J_STR, (v), 0, 0                                                              \
	}
#define JI(p, v)                                                                                   \
	{                                                                                          \
		(p), J_INT, NULL, (v), 0                                                           \
	}
#define JB(p, v)                                                                                   \
	{                                                                                          \
		(p), J_BOOL, NULL, (v), 0                                                          \
	}
#define JN(p)                                                                                      \
	{                                                                                          \
		(p), J_NULL, NULL, 0, 0                                                            \
	}
#define JR(p, v)                                                                                   \
	{                                                                                          \
		(p), J_REAL, NULL, 0, (v)                                                          \
	}
#define JL(p, v)                                                                                   \
	{                                                                                          \
		(p), J_LEN, NULL, (v), 0                                                           \
	}
#define JH(p, v)                                                                                   \
	{                                                                                          \
		(p), J_SUB, (v), 0, 0                                                              \
	}

/* Checks every expectation of <e>/<n> on <root>, naming the case <what> on failure. */
static void jcheck(json_t *root, const struct jexp *e, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *v = jat(root, e[i].path);
		bool ok = false;

		switch (e[i].kind) {
		case J_STR:
			ok = json_is_string(v) && !strcmp(json_string_value(v), e[i].s);
			break;
		case J_SUB:
			ok = json_is_string(v) && strstr(json_string_value(v), e[i].s);
			break;
		case J_INT:
			ok = json_is_integer(v) && json_integer_value(v) == e[i].i;
			break;
		case J_BOOL:
			ok = json_is_boolean(v) && json_is_true(v) == !!e[i].i;
			break;
		case J_NULL:
			ok = json_is_null(v);
			break;
		case J_REAL:
			ok = json_is_number(v) && fabs(json_number_value(v) - e[i].r) < 1e-9;
			break;
		case J_LEN:
			ok = (json_is_array(v) && (long long)json_array_size(v) == e[i].i) ||
			     (json_is_object(v) && (long long)json_object_size(v) == e[i].i);
			break;
		}
		if (!ok) {
			char *s = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;

			print_error("%s: %s is %s\n", what, e[i].path, s ? s : "absent");
			free(s);
			fail();
		}
	}
}

#define JCHECK(root, arr, what) jcheck((root), (arr), sizeof(arr) / sizeof((arr)[0]), (what))

/* ---- GET /routes ---- */

static void test_routes_list(void **state)
{
	static const struct jexp want[] = {
	    JI("generation", 7),
	    JI("compile_errors", 2),
	    JL("ports", 6),
	    /* reviews:9080: the VirtualService in evaluation order */
	    JS("ports.0.namespace", "default"),
	    JS("ports.0.service", "reviews"),
	    JS("ports.0.vip", "198.19.0.5"),
	    JI("ports.0.port", 9080),
	    JS("ports.0.port_name", "http"),
	    JS("ports.0.protocol", "http"),
	    JS("ports.0.path", "agent"),
	    JB("ports.0.needs_agent", 1),
	    JL("ports.0.path_reasons", 1),
	    JH("ports.0.path_reasons.0", "VirtualService default/reviews has 8 http route(s)"),
	    JS("ports.0.virtual_service", "default/reviews"),
	    JL("ports.0.http", 8),
	    JL("ports.0.tcp", 0),
	    JS("ports.0.default_cluster", "outbound|9080||reviews.default.svc.cluster.local"),
	    /* route 0: header match, destination, timeout, retries, header operations */
	    JS("ports.0.http.0.name", "jason"),
	    JS("ports.0.http.0.virtual_service", "default/reviews"),
	    JS("ports.0.http.0.matches.0.name", "jason"),
	    JS("ports.0.http.0.matches.0.headers.end-user.exact", "jason"),
	    JB("ports.0.http.0.matches.0.without_headers.x-block.present", 1),
	    JL("ports.0.http.0.matches.0.headers", 1),
	    JN("ports.0.http.0.matches.0.uri"),
	    JN("ports.0.http.0.matches.0.port"),
	    JN("ports.0.http.0.matches.0.source_labels"),
	    JS("ports.0.http.0.destinations.0.cluster",
	       "outbound|9080|v2|reviews.default.svc.cluster.local"),
	    JS("ports.0.http.0.destinations.0.subset", "v2"),
	    JI("ports.0.http.0.destinations.0.weight", 100),
	    JR("ports.0.http.0.destinations.0.percent", 100.0),
	    JI("ports.0.http.0.timeout_ms", 2000),
	    JI("ports.0.http.0.retries.attempts", 3),
	    JI("ports.0.http.0.retries.per_try_timeout_ms", 500),
	    JS("ports.0.http.0.retries.retry_on.0", "5xx"),
	    JS("ports.0.http.0.retries.retry_on.1", "connect-failure"),
	    JS("ports.0.http.0.retries.retry_on.2", "retriable-status-codes"),
	    JI("ports.0.http.0.retries.retriable_status_codes.0", 503),
	    JS("ports.0.http.0.headers.request.set.x-route", "jason"),
	    JS("ports.0.http.0.headers.request.remove.0", "cookie"),
	    JS("ports.0.http.0.headers.response.add.x-served-by", "v2"),
	    JN("ports.0.http.0.redirect"),
	    JN("ports.0.http.0.fault"),
	    JN("ports.0.http.0.mirror"),
	    JN("ports.0.http.0.export_to"),
	    /* redirect, direct response */
	    JS("ports.0.http.1.redirect.uri", "/new"),
	    JI("ports.0.http.1.redirect.code", 302),
	    JL("ports.0.http.1.destinations", 0),
	    JI("ports.0.http.2.direct_response.status", 418),
	    JS("ports.0.http.2.direct_response.body", "short and stout"),
	    JS("ports.0.http.2.matches.0.uri.exact", "/teapot"),
	    /* rewrite, fault, mirror */
	    JS("ports.0.http.3.matches.0.uri.prefix", "/api/"),
	    JS("ports.0.http.3.matches.0.method.exact", "GET"),
	    JS("ports.0.http.3.rewrite.uri", "/"),
	    JB("ports.0.http.3.rewrite.uri_regex", 0),
	    JR("ports.0.http.3.fault.abort.percent", 50.0),
	    JI("ports.0.http.3.fault.abort.http_status", 503),
	    JN("ports.0.http.3.fault.delay"),
	    JS("ports.0.http.3.mirror.subset", "v3"),
	    JR("ports.0.http.3.mirror.percent", 25.0),
	    /* weighted split */
	    JR("ports.0.http.4.destinations.0.percent", 80.0),
	    JR("ports.0.http.4.destinations.1.percent", 20.0),
	    JS("ports.0.http.4.destinations.1.subset", "v3"),
	    JB("ports.0.http.5.destinations.0.subset_unknown", 1),
	    JS("ports.0.http.6.matches.0.source_namespace", "other"),
	    JS("ports.0.http.6.export_to.0", "default"),
	    JL("ports.0.http.7.matches", 0),
	    /* clusters: default first, then as the routes name them, each once */
	    JL("ports.0.clusters", 6),
	    JS("ports.0.clusters.5.subset", "v4"), /* named by no route, still listed */
	    JS("ports.0.clusters.0.name", "outbound|9080||reviews.default.svc.cluster.local"),
	    JN("ports.0.clusters.0.subset"),
	    JL("ports.0.clusters.0.endpoints", 3),
	    JS("ports.0.clusters.0.endpoints.0.ip", "198.18.1.11"),
	    JI("ports.0.clusters.0.endpoints.0.port", 9080),
	    JB("ports.0.clusters.0.endpoints.0.ready", 1),
	    JS("ports.0.clusters.0.endpoints.0.pod", "default/reviews-v1-1"),
	    JB("ports.0.clusters.0.endpoints.2.ready", 0),
	    JS("ports.0.clusters.0.policy.load_balancer.policy", "least_request"),
	    JB("ports.0.clusters.0.policy.load_balancer.default", 1),
	    JN("ports.0.clusters.0.policy.destination_rule"),
	    JN("ports.0.clusters.0.policy.outlier_detection"),
	    JS("ports.0.clusters.1.subset", "v2"),
	    JS("ports.0.clusters.1.subset_labels.version", "v2"),
	    JS("ports.0.clusters.1.protocol", "http"),
	    JL("ports.0.clusters.1.endpoints", 1),
	    JS("ports.0.clusters.1.endpoints.0.pod", "default/reviews-v2-1"),
	    JS("ports.0.clusters.1.policy.destination_rule", "default/reviews"),
	    JS("ports.0.clusters.1.policy.load_balancer.policy", "consistent_hash"),
	    JS("ports.0.clusters.1.policy.load_balancer.hash_key", "header"),
	    JS("ports.0.clusters.1.policy.load_balancer.hash_name", "x-user"),
	    JI("ports.0.clusters.1.policy.load_balancer.maglev_table_size", 65537),
	    JI("ports.0.clusters.1.policy.connection_pool.max_connections", 10),
	    JI("ports.0.clusters.1.policy.connection_pool.http1_max_pending_requests", 5),
	    JS("ports.0.clusters.1.policy.connection_pool.h2_upgrade_policy", "upgrade"),
	    JI("ports.0.clusters.1.policy.outlier_detection.consecutive_5xx_errors", 5),
	    JI("ports.0.clusters.1.policy.outlier_detection.base_ejection_time_ms", 30000),
	    JS("ports.0.clusters.1.policy.health_check.type", "http"),
	    JS("ports.0.clusters.1.policy.health_check.path", "/health"),
	    JI("ports.0.clusters.1.policy.health_check.expected_status_max", 399),
	    JS("ports.0.clusters.1.policy.rate_limit.source", "default/reviews-rl"),
	    JI("ports.0.clusters.1.policy.rate_limit.max_tokens", 100),
	    JS("ports.0.clusters.2.subset", "v1"),
	    JS("ports.0.clusters.2.policy.load_balancer.policy", "round_robin"),
	    JN("ports.0.clusters.2.policy.health_check"),
	    JN("ports.0.clusters.2.policy.rate_limit"),
	    JS("ports.0.clusters.3.subset", "v3"),
	    JS("ports.0.clusters.4.subset", "v9"),
	    JB("ports.0.clusters.4.subset_unknown", 1),
	    JL("ports.0.clusters.4.endpoints", 0),
	    /* the other tables */
	    JS("ports.1.protocol", "tcp"),
	    JN("ports.1.virtual_service"),
	    JL("ports.1.clusters", 2),
	    JS("ports.1.clusters.1.name", "outbound|9090|v4|reviews.default.svc.cluster.local"),
	    JS("ports.2.path", "kernel"),
	    JS("ports.3.protocol", "tcp"),
	    JS("ports.3.path", "agent"),
	};
	json_t *root = routes_json(&model);

	(void)state;
	assert_non_null(root);
	JCHECK(root, want, "/routes");
	json_decref(root);
}

static void test_routes_list_no_snapshot(void **state)
{
	static const struct model empty = {.generation = 3};
	static const struct jexp want[] = {JI("generation", 0), JL("ports", 0),
					   JI("compile_errors", 0)};
	static const struct jexp want_empty[] = {JI("generation", 3), JL("ports", 0)};
	json_t *root = routes_json(NULL);

	(void)state;
	assert_non_null(root);
	JCHECK(root, want, "no model");
	json_decref(root);
	root = routes_json(&empty); /* a snapshot with no compiled tables */
	assert_non_null(root);
	JCHECK(root, want_empty, "no tables");
	json_decref(root);
}

/* ---- the derived path ---- */

static void test_routes_path_why(void **state)
{
	static const struct {
		size_t table;
		const char *path;
		size_t nwhy;
		const char *why0, *why1;
	} cases[] = {
	    {0, "agent", 1, "VirtualService default/reviews has 8 http route(s)", NULL},
	    {1, "agent", 1, "port 9080 of the Service needs the agent", NULL},
	    {2, "kernel", 1, "no VirtualService, DestinationRule policy", NULL},
	    {3, "agent", 1, "DestinationRule default/ratings sets outlierDetection", NULL},
	    {4, "kernel", 2, "VirtualService default/legacy has 1 http route(s)",
	     "weir.dev/path=kernel"},
	    {5, "agent", 1, "weir.dev/path=agent", NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *why = json_array();
		const char *path;

		assert_non_null(why);
		path = routes_path_why(&model, &tables[cases[i].table], why);
		if (strcmp(path, cases[i].path) || json_array_size(why) != cases[i].nwhy ||
		    !strstr(json_string_value(json_array_get(why, 0)), cases[i].why0) ||
		    (cases[i].why1 &&
		     !strstr(json_string_value(json_array_get(why, 1)), cases[i].why1))) {
			char *s = json_dumps(why, 0);

			print_error("table %zu: path %s, reasons %s\n", cases[i].table, path, s);
			free(s);
			fail();
		}
		json_decref(why);
	}
}

static void test_routes_enum_names(void **state)
{
	(void)state;
	assert_string_equal(routes_proto_str(ROUTE_PROTO_GRPC), "grpc");
	assert_string_equal(routes_proto_str(ROUTE_PROTO_SNIFF), "sniff");
	assert_string_equal(routes_proto_str(200), "unknown");
	assert_string_equal(routes_lb_str(ROUTE_LB_RANDOM), "random");
	assert_string_equal(routes_lb_str(ROUTE_LB_PASSTHROUGH), "passthrough");
	assert_string_equal(routes_lb_str(99), "unknown");
	assert_string_equal(routes_hash_str(ROUTE_HASH_SOURCE_IP), "source_ip");
	assert_string_equal(routes_hash_str(0), "unknown");
}

/* ---- routes_explain() ---- */

struct xcase {
	const char *what;
	const char *pod_ns, *pod; /* NULL: default/productpage-1 */
	const char *svc;	  /* NULL: reviews */
	uint16_t port;		  /* 0: 9080 */
	const char *method, *path;
	struct k8s_kv hdrs[3];
	size_t nhdrs;
	struct jexp want[16];
};

static const struct xcase xcases[] = {
    {.what = "jason takes v2",
     .hdrs = {{"End-User", "jason"}},
     .nhdrs = 1,
     .want = {JB("applies", 1), JS("verdict", "forward"), JS("why", "match"), JI("route.index", 0),
	      JS("route.name", "jason"), JI("route.match_index", 0), JS("subset", "v2"),
	      JS("cluster", "outbound|9080|v2|reviews.default.svc.cluster.local"),
	      JI("timeout_ms", 2000), JI("per_try_timeout_ms", 500), JI("retries.attempts", 3),
	      JL("tried", 1), JB("tried.0.taken", 1), JN("tried.0.matches.0.failed"),
	      JS("destinations.0.upstream_request.headers.1.0", "x-route"),
	      JS("response_headers.add.x-served-by", "v2")}},
    {.what = "jason's route: headers set, cookie removed",
     .hdrs = {{"end-user", "jason"}, {"cookie", "a=1"}},
     .nhdrs = 2,
     .want = {JL("destinations", 1), JL("destinations.0.upstream_request.headers", 2),
	      JS("destinations.0.upstream_request.headers.0.0", "end-user"),
	      JS("destinations.0.upstream_request.headers.1.1", "jason"), JL("request.headers", 2),
	      JI("destinations.0.candidates", 1), JS("destinations.0.backends.0.ip", "198.18.1.12"),
	      JB("destinations.0.backends.0.candidate", 1),
	      JS("destinations.0.load_balancer", "consistent_hash"),
	      JR("destinations.0.probability", 1.0)}},
    {.what = "no header: the catch-all v1 route, every earlier one says why not",
     .want = {JS("verdict", "forward"), JS("why", "catch_all"), JI("route.index", 7),
	      JN("route.match_index"), JS("subset", "v1"), JL("tried", 8),
	      JS("tried.0.matches.0.failed", "headers"), JB("tried.0.matches.0.holds", 0),
	      JS("tried.1.matches.0.failed", "uri"),
	      JS("tried.6.matches.0.failed", "sourceNamespace"), JB("tried.7.catch_all", 1),
	      JB("tried.7.taken", 1), JI("timeout_ms", 0), JN("fault"),
	      JH("explanation", "route 7 (default/reviews/7) has no match")}},
    {.what = "jason with x-block: withoutHeaders fails the match",
     .hdrs = {{"end-user", "jason"}, {"x-block", "1"}},
     .nhdrs = 2,
     .want = {JI("route.index", 7), JS("tried.0.matches.0.failed", "withoutHeaders")}},
    {.what = "redirect",
     .path = "/old/x?q=1",
     .want = {JS("verdict", "redirect"), JI("status", 302), JI("local_response.status", 302),
	      JH("local_response.location", "/new"), JL("destinations", 0), JN("cluster")}},
    {.what = "direct response",
     .path = "/teapot",
     .want = {JS("verdict", "direct"), JI("status", 418),
	      JS("local_response.body", "short and stout"), JL("destinations", 0)}},
    {.what = "rewrite, fault, mirror",
     .path = "/api/books?id=1",
     .want = {JS("route.name", "api"), JS("destinations.0.upstream_request.path", "/books?id=1"),
	      JR("fault.abort.percent", 50.0), JI("fault.abort.http_status", 503),
	      JS("mirror.subset", "v3"), JB("grpc", 0)}},
    {.what = "method fails the api route",
     .method = "POST",
     .path = "/api/books",
     .want = {JS("tried.3.matches.0.failed", "method"), JI("route.index", 7)}},
    {.what = "weighted split: both destinations with their chance, no single cluster",
     .path = "/split",
     .want = {JL("destinations", 2), JR("destinations.0.probability", 0.8),
	      JR("destinations.1.probability", 0.2), JS("destinations.1.subset", "v3"),
	      JI("destinations.1.candidates", 0), JB("destinations.1.backends.0.ready", 0),
	      JB("destinations.1.backends.0.candidate", 0), JN("cluster"), JN("subset")}},
    {.what = "undefined subset: 503 NC",
     .path = "/v9",
     .want = {JS("verdict", "no_cluster"), JI("status", 503), JS("response_flags", "NC"),
	      JS("destinations.0.outcome", "no_cluster"), JB("destinations.0.subset_unknown", 1)}},
    {.what = "sourceNamespace: productpage is not in 'other'",
     .path = "/src",
     .want = {JS("tried.6.matches.0.failed", "sourceNamespace"), JI("route.index", 7),
	      JB("tried.6.exported_to_source", 1)}},
    {.what = "exportTo: route 6 (sourceNamespace other) is exported to 'default' only, so a "
	     "Pod in 'other' does not see it and takes route 7",
     .pod_ns = "other",
     .pod = "outsider",
     .path = "/src",
     .want = {JI("route.index", 7), JS("source.namespace", "other"),
	      JB("tried.6.exported_to_source", 0), JS("source.labels.app", "productpage")}},
    {.what = "request as built",
     .method = "PUT",
     .path = "/p",
     .hdrs = {{"X-A", "1"}},
     .nhdrs = 1,
     .want = {JS("request.method", "PUT"), JS("request.path", "/p"),
	      JS("request.authority", "reviews.default.svc.cluster.local:9080"),
	      JS("request.scheme", "http"), JS("request.headers.0.0", "x-a"),
	      JS("request.headers.0.1", "1"), JS("protocol", "http"), JS("path", "agent")}},
    {.what = "kernel path: not applied",
     .svc = "details",
     .want = {JB("applies", 0), JH("note", "kernel path"), JS("path", "kernel"),
	      JS("protocol", "http")}},
    {.what = "opaque port: not applied",
     .svc = "ratings",
     .want = {JB("applies", 0), JH("note", "opaque"), JS("path", "agent"), JS("protocol", "tcp")}},
    {.what = "kernel by annotation: not applied though routes exist",
     .svc = "legacy",
     .port = 80,
     .want = {JB("applies", 0), JS("path", "kernel"), JH("path_reasons.1", "weir.dev/path")}},
    {.what = "agent by annotation, no VirtualService: the default cluster",
     .svc = "annotated",
     .port = 80,
     .want = {JB("applies", 1), JS("why", "default"), JN("route"), JL("tried", 0),
	      JS("cluster", "outbound|80||annotated.default.svc.cluster.local"), JN("subset"),
	      JN("retries"), JR("destinations.0.probability", 1.0), JN("virtual_service"),
	      JH("explanation", "no VirtualService binds the port")}},
};

static void test_routes_explain_cases(void **state)
{
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(xcases) / sizeof(xcases[0]); i++) {
		const struct xcase *c = &xcases[i];
		struct routes_query q = {
		    .pod_ns = c->pod ? c->pod_ns : "default",
		    .pod_name = c->pod ? c->pod : "productpage-1",
		    .svc_ns = "default",
		    .svc_name = c->svc ? c->svc : "reviews",
		    .port = c->port ? c->port : 9080,
		    .method = c->method,
		    .path = c->path,
		    .headers = c->hdrs,
		    .nheaders = c->nhdrs,
		};
		char err[ROUTES_ERR_LEN] = "";
		json_t *out = NULL;

		assert_int_equal(routes_explain(&model, &q, &out, err, sizeof(err)), 0);
		assert_non_null(out);
		for (n = 0; n < 16 && c->want[n].path; n++)
			;
		jcheck(out, c->want, n, c->what);
		json_decref(out);
	}
}

static void test_routes_explain_errors(void **state)
{
	static const struct k8s_kv bad_name[] = {{"bad name", "x"}};
	static const struct k8s_kv pseudo[] = {{":path", "/x"}};
	static const struct k8s_kv crlf[] = {{"x-a", "1\r\nx-b: 2"}};
	static const struct {
		struct routes_query q;
		int err;
		const char *msg;
	} cases[] = {
	    {{.pod_ns = "default",
	      .pod_name = "nobody",
	      .svc_ns = "default",
	      .svc_name = "reviews",
	      .port = 9080},
	     -ENOENT,
	     "no Pod default/nobody"},
	    {{.pod_ns = "default",
	      .pod_name = "productpage-1",
	      .svc_ns = "default",
	      .svc_name = "nosvc",
	      .port = 9080},
	     -ENOENT,
	     "no Service default/nosvc"},
	    {{.pod_ns = "default",
	      .pod_name = "productpage-1",
	      .svc_ns = "default",
	      .svc_name = "reviews",
	      .port = 1234},
	     -ENOENT,
	     "has no TCP port 1234"},
	    {{.pod_ns = "default",
	      .pod_name = "productpage-1",
	      .svc_name = "reviews",
	      .port = 9080},
	     -EINVAL,
	     "needed"},
	    {{.pod_ns = "default",
	      .pod_name = "productpage-1",
	      .svc_ns = "default",
	      .svc_name = "reviews",
	      .port = 9080,
	      .headers = bad_name,
	      .nheaders = 1},
	     -EINVAL,
	     "not an HTTP field name"},
	    {{.pod_ns = "default",
	      .pod_name = "productpage-1",
	      .svc_ns = "default",
	      .svc_name = "reviews",
	      .port = 9080,
	      .headers = pseudo,
	      .nheaders = 1},
	     -EINVAL,
	     "not an HTTP field name"},
	    {{.pod_ns = "default",
	      .pod_name = "productpage-1",
	      .svc_ns = "default",
	      .svc_name = "reviews",
	      .port = 9080,
	      .headers = crlf,
	      .nheaders = 1},
	     -EINVAL,
	     "line break"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[ROUTES_ERR_LEN] = "";
		json_t *out = (json_t *)1;

		assert_int_equal(routes_explain(&model, &cases[i].q, &out, err, sizeof(err)),
				 cases[i].err);
		assert_null(out);
		if (!strstr(err, cases[i].msg)) {
			print_error("case %zu: message \"%s\" lacks \"%s\"\n", i, err,
				    cases[i].msg);
			fail();
		}
	}
}

/* ---- the handler's query parsing ---- */

static int call_explain(const char *query, const struct model *m, struct strbuf *body)
{
	struct evkeyvalq q;
	struct admin_call call = {.path = "/routes/explain", .content_type = "application/json"};
	int st;

	TAILQ_INIT(&q);
	assert_int_equal(evhttp_parse_query_str(query, &q), 0);
	strbuf_reset(body);
	call.query = &q;
	call.body = body;
	st = routes_h_explain(&call, m);
	evhttp_clear_headers(&q);
	return st;
}

static void test_routes_handler(void **state)
{
	static const struct {
		const char *query;
		int status;
		const char *body; /* substring */
	} cases[] = {
	    {"pod=default/productpage-1&service=default/reviews&port=9080&header=end-user=jason",
	     200, "\"subset\": \"v2\""},
	    {"pod=default/productpage-1&service=default/reviews&port=9080&header=x-a=1"
	     "&header=end-user=jason&path=/a%3Fb",
	     200, "\"subset\": \"v2\""},
	    {"pod=default/productpage-1&service=default/reviews&port=9080", 200,
	     "\"subset\": \"v1\""},
	    {"pod=default/productpage-1&service=default/reviews&port=9080&header=a=b=c", 200,
	     "\"b=c\""},
	    {"service=default/reviews&port=9080", 400, "missing parameter pod"},
	    {"pod=productpage-1&service=default/reviews&port=9080", 400, "want NAMESPACE/NAME"},
	    {"pod=default/productpage-1&service=default/a/b&port=9080", 400, "want NAMESPACE/NAME"},
	    {"pod=default/productpage-1&service=default/reviews", 400, "port"},
	    {"pod=default/productpage-1&service=default/reviews&port=0", 400, "1..65535"},
	    {"pod=default/productpage-1&service=default/reviews&port=70000", 400, "1..65535"},
	    {"pod=default/productpage-1&service=default/reviews&port=80x", 400, "1..65535"},
	    {"pod=default/productpage-1&service=default/reviews&port=9080&header=novalue", 400,
	     "want NAME=VALUE"},
	    {"pod=default/productpage-1&service=default/reviews&port=9080&header==v", 400,
	     "want NAME=VALUE"},
	    {"pod=default/nobody&service=default/reviews&port=9080", 404, "no Pod default/nobody"},
	    {"pod=default/productpage-1&service=default/reviews&port=9081", 404, "no TCP port"},
	};
	struct strbuf body;
	size_t i;

	(void)state;
	strbuf_init(&body);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = call_explain(cases[i].query, &model, &body);

		if (st != cases[i].status || !strstr(strbuf_str(&body), cases[i].body)) {
			print_error("%s: %d %s\n", cases[i].query, st, strbuf_str(&body));
			fail();
		}
	}
	assert_int_equal(call_explain("pod=a/b&service=c/d&port=1", NULL, &body), 503);
	strbuf_fini(&body);
}

static void test_routes_handler_list(void **state)
{
	struct admin_call call = {.path = "/routes"};
	struct strbuf body;
	json_t *j;

	(void)state;
	strbuf_init(&body);
	call.body = &body;
	assert_int_equal(routes_h_list(&call, &model), 200);
	j = json_loads(strbuf_str(&body), 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "ports")), 6);
	json_decref(j);
	strbuf_fini(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_routes_list),
	    cmocka_unit_test(test_routes_list_no_snapshot),
	    cmocka_unit_test(test_routes_path_why),
	    cmocka_unit_test(test_routes_enum_names),
	    cmocka_unit_test(test_routes_explain_cases),
	    cmocka_unit_test(test_routes_explain_errors),
	    cmocka_unit_test(test_routes_handler),
	    cmocka_unit_test(test_routes_handler_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
