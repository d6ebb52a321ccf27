// SPDX-License-Identifier: Apache-2.0
/*
 * Tests of router.c over hand-built route tables (static arrays of route.h structs):
 * the route chosen for dozens of requests (every match kind, precedence, NR, the default
 * cluster, source labels and namespace, ports), the weighted split within statistical
 * bounds from a seeded generator, header operations, rewrite and redirect results, fault
 * decisions, each retryOn condition, and grpc-timeout parsing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/regex.h"
#include "proxy/router.h"

/* ---- clusters ---- */

static const struct route_cluster c_v1 = {.name = "outbound|9080|v1|reviews", .id = 1};
static const struct route_cluster c_v2 = {.name = "outbound|9080|v2|reviews", .id = 2};
static const struct route_cluster c_v3 = {.name = "outbound|9080|v3|reviews", .id = 3};
static const struct route_cluster c_dflt = {.name = "outbound|9080||reviews", .id = 0};
static const struct route_cluster c_unknown = {
    .name = "outbound|9080|v9|reviews", .subset = "v9", .subset_unknown = true, .id = 4};

#define S_EXACT(v)                                                                                 \
	{                                                                                          \
		.kind = ROUTE_STR_EXACT, .value = (v), .len = sizeof(v) - 1                        \
	}
#define S_PREFIX(v)                                                                                \
	{                                                                                          \
		.kind = ROUTE_STR_PREFIX, .value = (v), .len = sizeof(v) - 1                       \
	}
#define S_IPREFIX(v)                                                                               \
	{                                                                                          \
		.kind = ROUTE_STR_PREFIX, .ignore_case = true, .value = (v), .len = sizeof(v) - 1  \
	}
#define S_IEXACT(v)                                                                                \
	{                                                                                          \
		.kind = ROUTE_STR_EXACT, .ignore_case = true, .value = (v), .len = sizeof(v) - 1   \
	}
#define S_REGEX(v)                                                                                 \
	{                                                                                          \
		.kind = ROUTE_STR_REGEX, .value = (v), .len = sizeof(v) - 1                        \
	}
#define S_PRESENT                                                                                  \
	{                                                                                          \
		.kind = ROUTE_STR_PRESENT                                                          \
	}

#define DEST(c)                                                                                    \
	{                                                                                          \
		.cluster = &(c), .weight = 100                                                     \
	}
#define ONE(c) .dests = (const struct route_dest[]){DEST(c)}, .ndests = 1, .total_weight = 100

/* ---- match conditions (non-const where setup compiles a regex into them) ---- */

static struct route_match m_exact[] = {{.uri = S_EXACT("/exact")}};
static struct route_match m_prefix_ci[] = {{.uri = S_IPREFIX("/CI/")}};
static struct route_match m_regex[] = {{.uri = S_REGEX("/items/[0-9]+")}};
static struct route_match m_method[] = {{.uri = S_PREFIX("/m"), .method = S_EXACT("POST")}};
static const struct route_kv_match h_user[] = {{.name = "x-user", .match = S_EXACT("jason")}};
static const struct route_kv_match h_beta[] = {{.name = "x-beta", .match = S_PRESENT}};
static struct route_match m_hdr[] = {{.headers = h_user, .nheaders = 1},
				     {.headers = h_beta, .nheaders = 1}};
static const struct route_kv_match h_tag[] = {
    {.name = "x-tag", .match = S_PREFIX("canary-")},
    {.name = "x-block", .match = S_PRESENT, .absent = true},
};
static struct route_match m_hdr_prefix[] = {{.headers = h_tag, .nheaders = 2}};
static struct route_kv_match h_ver[] = {{.name = "x-ver", .match = S_REGEX("v[12]")}};
static struct route_match m_hdr_regex[] = {{.headers = h_ver, .nheaders = 1}};
static const struct route_kv_match q_lang[] = {{.name = "lang", .match = S_EXACT("en")}};
static struct route_kv_match q_id[] = {{.name = "id", .match = S_REGEX("[0-9]{3}")}};
static const struct route_kv_match q_p[] = {{.name = "p", .match = S_PREFIX("ab")}};
static struct route_match m_query[] = {
    {.query = q_lang, .nquery = 1}, {.query = q_id, .nquery = 1}, {.query = q_p, .nquery = 1}};
static struct route_match m_authority[] = {{.authority = S_EXACT("reviews:9080")}};
static struct route_match m_scheme[] = {{.scheme = S_EXACT("https")}};
static struct route_match m_port[] = {{.port = 9090}};
static const struct k8s_kv l_pp[] = {{"app", "productpage"}, {"version", "v1"}};
static struct route_match m_labels[] = {{.source_labels = l_pp, .nsource_labels = 2}};
static struct route_match m_ns[] = {{.source_namespace = "test"}};
static struct route_match m_unknown[] = {{.uri = S_PREFIX("/unknown")}};
static struct route_match m_old[] = {{.uri = S_PREFIX("/old")}};
static struct route_match m_teapot[] = {{.uri = S_EXACT("/teapot")}};
static struct route_match m_split[] = {{.uri = S_PREFIX("/split")}};
static struct route_match m_nodest[] = {{.uri = S_PREFIX("/nodest")}};
static struct route_match m_iexact[] = {{.uri = S_IEXACT("/Case")}};

static const struct route_redirect rd_old = {.uri = "/new", .code = 302};
static const struct route_dest d_split[] = {
    {.cluster = &c_v1, .weight = 50},
    {.cluster = &c_v2, .weight = 50},
};

#define R(n, m, ...)                                                                               \
	{                                                                                          \
		.name = (n), .matches = (m), .nmatches = sizeof(m) / sizeof((m)[0]), __VA_ARGS__   \
	}

static const struct route_http routes[] = {
    R("exact", m_exact, ONE(c_v1)),						   /* 0 */
    R("prefix-ci", m_prefix_ci, ONE(c_v2)),					   /* 1 */
    R("regex", m_regex, ONE(c_v3)),						   /* 2 */
    R("method", m_method, ONE(c_v1)),						   /* 3 */
    R("hdr", m_hdr, ONE(c_v2)),							   /* 4 */
    R("hdr-prefix", m_hdr_prefix, ONE(c_v3)),					   /* 5 */
    R("hdr-regex", m_hdr_regex, ONE(c_v1)),					   /* 6 */
    R("query", m_query, ONE(c_v2)),						   /* 7 */
    R("authority", m_authority, ONE(c_v3)),					   /* 8 */
    R("scheme", m_scheme, ONE(c_v1)),						   /* 9 */
    R("port", m_port, ONE(c_v2)),						   /* 10 */
    R("labels", m_labels, ONE(c_v3)),						   /* 11 */
    R("ns", m_ns, ONE(c_v1)),							   /* 12 */
    R("unknown", m_unknown, ONE(c_unknown)),					   /* 13 */
    R("redirect", m_old, .redirect = &rd_old),					   /* 14 */
    R("teapot", m_teapot, .direct_status = 418, .direct_body = "short and stout"), /* 15 */
    R("split", m_split, .dests = d_split, .ndests = 2, .total_weight = 100),	   /* 16 */
    R("nodest", m_nodest),							   /* 17 */
    R("iexact", m_iexact, ONE(c_v3)),						   /* 18 */
};

static const struct route_http *const route_ptrs[] = {
    &routes[0],	 &routes[1],  &routes[2],  &routes[3],	&routes[4],  &routes[5],  &routes[6],
    &routes[7],	 &routes[8],  &routes[9],  &routes[10], &routes[11], &routes[12], &routes[13],
    &routes[14], &routes[15], &routes[16], &routes[17], &routes[18],
};

static const struct route_table tbl = {
    .http = route_ptrs, .nhttp = sizeof(route_ptrs) / sizeof(route_ptrs[0]), .dflt = &c_dflt};
static const struct route_table tbl_novs = {.dflt = &c_dflt};
static const struct route_table tbl_nodflt = {0};

/* A catch-all first shadows every later route (Istio evaluates in order). */
static const struct route_http catch_all = {.name = "all", ONE(c_v3)};
static const struct route_http *const shadow_ptrs[] = {&catch_all, &routes[0]};
static const struct route_table tbl_shadow = {.http = shadow_ptrs, .nhttp = 2, .dflt = &c_dflt};

/* ---- requests ---- */

/*
 * Fills <h> from a compact description: "METHOD scheme authority path" and headers as
 * "name: value" lines.
 */
static void mkreq(struct http_head *h, const char *method, const char *scheme, const char *auth,
		  const char *path, const char *hdrs)
{
	http_head_reset(h, HTTP_REQUEST);
	h->version = HTTP_V11;
	assert_int_equal(http_head_str(h, method, strlen(method), &h->method), 0);
	assert_int_equal(http_head_str(h, scheme, strlen(scheme), &h->scheme), 0);
	assert_int_equal(http_head_str(h, auth, strlen(auth), &h->authority), 0);
	assert_int_equal(http_head_str(h, path, strlen(path), &h->path), 0);
	while (hdrs && *hdrs) {
		const char *colon = strchr(hdrs, ':'), *nl = strchr(hdrs, '\n');
		const char *v = colon + 1;

		if (!nl)
			nl = hdrs + strlen(hdrs);
		while (*v == ' ')
			v++;
		assert_int_equal(
		    http_head_add(h, hdrs, (size_t)(colon - hdrs), v, (size_t)(nl - v)), 0);
		hdrs = *nl ? nl + 1 : nl;
	}
}

static const struct router_source src_plain = {.ns = "default", .port = 9080};
static const struct router_source src_pp = {
    .labels = (const struct k8s_kv[]){{"app", "productpage"}, {"version", "v1"}, {"x", "y"}},
    .nlabels = 3,
    .ns = "default",
    .port = 9080};
static const struct router_source src_pp_v2 = {
    .labels = (const struct k8s_kv[]){{"app", "productpage"}, {"version", "v2"}},
    .nlabels = 2,
    .ns = "default",
    .port = 9080};
static const struct router_source src_test_ns = {.ns = "test", .port = 9080};
static const struct router_source src_port = {.ns = "default", .port = 9090};

static int setup(void **state)
{
	char err[128];

	(void)state;
	m_regex[0].uri.re = regex_new("/items/[0-9]+", 13, err, sizeof(err));
	h_ver[0].match.re = regex_new("v[12]", 5, err, sizeof(err));
	q_id[0].match.re = regex_new("[0-9]{3}", 8, err, sizeof(err));
	return !m_regex[0].uri.re || !h_ver[0].match.re || !q_id[0].match.re;
}

static int teardown(void **state)
{
	(void)state;
	regex_free(m_regex[0].uri.re);
	regex_free(h_ver[0].match.re);
	regex_free(q_id[0].match.re);
	return 0;
}

/* ---- route choice ---- */

#define NONE ((size_t)-1)

struct route_case {
	const char *what;
	const struct route_table *t;
	const char *method, *scheme, *auth, *path, *hdrs;
	const struct router_source *src;
	uint8_t verdict;
	size_t route; /* index in the table's http[], NONE for no route */
	const struct route_cluster *cluster;
	uint16_t status;
	const char *flags;
};

#define GET(p) "GET", "http", "reviews", (p)

static const struct route_case route_cases[] = {
    {"no VirtualService: default", &tbl_novs, GET("/x"), NULL, &src_plain, ROUTER_FORWARD, NONE,
     &c_dflt, 0, "-"},
    {"no VirtualService, no cluster", &tbl_nodflt, GET("/x"), NULL, &src_plain, ROUTER_NO_CLUSTER,
     NONE, NULL, 503, "NC"},
    {"nothing matches: NR", &tbl, GET("/nowhere"), NULL, &src_plain, ROUTER_NO_ROUTE, NONE, NULL,
     404, "NR"},
    /* uri exact: the query is not part of the compared path */
    {"uri exact", &tbl, GET("/exact"), NULL, &src_plain, ROUTER_FORWARD, 0, &c_v1, 0, "-"},
    {"uri exact ignores query", &tbl, GET("/exact?a=1"), NULL, &src_plain, ROUTER_FORWARD, 0, &c_v1,
     0, "-"},
    {"uri exact is exact", &tbl, GET("/exact/"), NULL, &src_plain, ROUTER_NO_ROUTE, NONE, NULL, 404,
     "NR"},
    {"uri exact is case-sensitive", &tbl, GET("/EXACT"), NULL, &src_plain, ROUTER_NO_ROUTE, NONE,
     NULL, 404, "NR"},
    {"uri exact ignoreUriCase", &tbl, GET("/cASE"), NULL, &src_plain, ROUTER_FORWARD, 18, &c_v3, 0,
     "-"},
    /* uri prefix with ignoreUriCase */
    {"uri prefix ignoreUriCase", &tbl, GET("/ci/a"), NULL, &src_plain, ROUTER_FORWARD, 1, &c_v2, 0,
     "-"},
    {"uri prefix exact case", &tbl, GET("/CI/"), NULL, &src_plain, ROUTER_FORWARD, 1, &c_v2, 0,
     "-"},
    {"uri prefix too short", &tbl, GET("/CI"), NULL, &src_plain, ROUTER_NO_ROUTE, NONE, NULL, 404,
     "NR"},
    /* uri regex: whole-path match, query removed first */
    {"uri regex", &tbl, GET("/items/42"), NULL, &src_plain, ROUTER_FORWARD, 2, &c_v3, 0, "-"},
    {"uri regex with query", &tbl, GET("/items/42?x=y"), NULL, &src_plain, ROUTER_FORWARD, 2, &c_v3,
     0, "-"},
    {"uri regex is anchored", &tbl, GET("/items/42/more"), NULL, &src_plain, ROUTER_NO_ROUTE, NONE,
     NULL, 404, "NR"},
    /* method */
    {"method POST", &tbl, "POST", "http", "reviews", "/m1", NULL, &src_plain, ROUTER_FORWARD, 3,
     &c_v1, 0, "-"},
    {"method GET fails", &tbl, GET("/m1"), NULL, &src_plain, ROUTER_NO_ROUTE, NONE, NULL, 404,
     "NR"},
    /* headers: exact, present; matches are ORed */
    {"header exact", &tbl, GET("/h"), "x-user: jason", &src_plain, ROUTER_FORWARD, 4, &c_v2, 0,
     "-"},
    {"header exact other value", &tbl, GET("/h"), "x-user: json", &src_plain, ROUTER_NO_ROUTE, NONE,
     NULL, 404, "NR"},
    {"header name folded", &tbl, GET("/h"), "X-User: jason", &src_plain, ROUTER_FORWARD, 4, &c_v2,
     0, "-"},
    {"header present (second match)", &tbl, GET("/h"), "x-beta: ", &src_plain, ROUTER_FORWARD, 4,
     &c_v2, 0, "-"},
    {"repeated header joined", &tbl, GET("/h"), "x-user: jason\nx-user: bob", &src_plain,
     ROUTER_NO_ROUTE, NONE, NULL, 404, "NR"},
    /* header prefix AND withoutHeaders */
    {"header prefix", &tbl, GET("/h"), "x-tag: canary-1", &src_plain, ROUTER_FORWARD, 5, &c_v3, 0,
     "-"},
    {"withoutHeaders present", &tbl, GET("/h"), "x-tag: canary-1\nx-block: 1", &src_plain,
     ROUTER_NO_ROUTE, NONE, NULL, 404, "NR"},
    {"header prefix fails", &tbl, GET("/h"), "x-tag: stable", &src_plain, ROUTER_NO_ROUTE, NONE,
     NULL, 404, "NR"},
    /* header regex */
    {"header regex", &tbl, GET("/h"), "x-ver: v2", &src_plain, ROUTER_FORWARD, 6, &c_v1, 0, "-"},
    {"header regex anchored", &tbl, GET("/h"), "x-ver: v22", &src_plain, ROUTER_NO_ROUTE, NONE,
     NULL, 404, "NR"},
    /* query parameters */
    {"query exact", &tbl, GET("/q?a=b&lang=en"), NULL, &src_plain, ROUTER_FORWARD, 7, &c_v2, 0,
     "-"},
    {"query exact other", &tbl, GET("/q?lang=english"), NULL, &src_plain, ROUTER_NO_ROUTE, NONE,
     NULL, 404, "NR"},
    {"query not decoded", &tbl, GET("/q?lang=%65n"), NULL, &src_plain, ROUTER_NO_ROUTE, NONE, NULL,
     404, "NR"},
    {"query first occurrence", &tbl, GET("/q?lang=fr&lang=en"), NULL, &src_plain, ROUTER_NO_ROUTE,
     NONE, NULL, 404, "NR"},
    {"query regex", &tbl, GET("/q?id=123"), NULL, &src_plain, ROUTER_FORWARD, 7, &c_v2, 0, "-"},
    {"query regex anchored", &tbl, GET("/q?id=1234"), NULL, &src_plain, ROUTER_NO_ROUTE, NONE, NULL,
     404, "NR"},
    {"query prefix", &tbl, GET("/q?p=abc"), NULL, &src_plain, ROUTER_FORWARD, 7, &c_v2, 0, "-"},
    {"query name is exact", &tbl, GET("/q?lang_x=en"), NULL, &src_plain, ROUTER_NO_ROUTE, NONE,
     NULL, 404, "NR"},
    {"query in path only", &tbl, GET("/lang=en"), NULL, &src_plain, ROUTER_NO_ROUTE, NONE, NULL,
     404, "NR"},
    /* authority keeps its port */
    {"authority with port", &tbl, "GET", "http", "reviews:9080", "/a", NULL, &src_plain,
     ROUTER_FORWARD, 8, &c_v3, 0, "-"},
    {"authority without port", &tbl, "GET", "http", "reviews", "/a", NULL, &src_plain,
     ROUTER_NO_ROUTE, NONE, NULL, 404, "NR"},
    /* scheme; an HTTP/1 request without one is http */
    {"scheme https", &tbl, "GET", "https", "reviews", "/s", NULL, &src_plain, ROUTER_FORWARD, 9,
     &c_v1, 0, "-"},
    {"scheme empty is http", &tbl, "GET", "", "reviews", "/s", NULL, &src_plain, ROUTER_NO_ROUTE,
     NONE, NULL, 404, "NR"},
    /* port */
    {"port", &tbl, GET("/p"), NULL, &src_port, ROUTER_FORWARD, 10, &c_v2, 0, "-"},
    /* sourceLabels: a subset of the client's labels */
    {"sourceLabels", &tbl, GET("/l"), NULL, &src_pp, ROUTER_FORWARD, 11, &c_v3, 0, "-"},
    {"sourceLabels other version", &tbl, GET("/l"), NULL, &src_pp_v2, ROUTER_NO_ROUTE, NONE, NULL,
     404, "NR"},
    {"sourceLabels no client", &tbl, GET("/l"), NULL, NULL, ROUTER_NO_ROUTE, NONE, NULL, 404, "NR"},
    /* sourceNamespace */
    {"sourceNamespace", &tbl, GET("/n"), NULL, &src_test_ns, ROUTER_FORWARD, 12, &c_v1, 0, "-"},
    /* precedence: the first route in order wins */
    {"first route wins", &tbl, GET("/exact"), "x-user: jason", &src_test_ns, ROUTER_FORWARD, 0,
     &c_v1, 0, "-"},
    {"earlier header beats later ns", &tbl, GET("/n"), "x-user: jason", &src_test_ns,
     ROUTER_FORWARD, 4, &c_v2, 0, "-"},
    {"catch-all shadows", &tbl_shadow, GET("/exact"), NULL, &src_plain, ROUTER_FORWARD, 0, &c_v3, 0,
     "-"},
    /* undefined subset, redirect, direct response, no destination */
    {"unknown subset: NC", &tbl, GET("/unknown"), NULL, &src_plain, ROUTER_NO_CLUSTER, 13,
     &c_unknown, 503, "NC"},
    {"redirect", &tbl, GET("/old/x"), NULL, &src_plain, ROUTER_REDIRECT, 14, NULL, 302, "-"},
    {"direct response", &tbl, GET("/teapot"), NULL, &src_plain, ROUTER_DIRECT, 15, NULL, 418, "-"},
    {"route without destination", &tbl, GET("/nodest"), NULL, &src_plain, ROUTER_NO_CLUSTER, 17,
     NULL, 503, "NC"},
    {"CONNECT has no path", &tbl, "CONNECT", "", "reviews:443", "", NULL, &src_plain,
     ROUTER_NO_ROUTE, NONE, NULL, 404, "NR"},
};

static void test_router_route_table(void **state)
{
	struct http_head h;
	uint64_t rng = 7;
	size_t i;

	(void)state;
	http_head_init(&h, HTTP_REQUEST, 0);
	for (i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]); i++) {
		const struct route_case *c = &route_cases[i];
		struct router_result res;

		mkreq(&h, c->method, c->scheme, c->auth, c->path, c->hdrs);
		assert_int_equal(router_route(c->t, &h, c->src, &rng, &res), 0);
		if (res.verdict != c->verdict || res.cluster != c->cluster ||
		    res.status != c->status || strcmp(res.flags, c->flags) ||
		    (c->route == NONE
			 ? res.route != NULL
			 : res.route != c->t->http[c->route] || res.route_idx != c->route))
			fail_msg("case \"%s\": verdict %u route %s cluster %s status %u flags %s",
				 c->what, res.verdict, res.route ? res.route->name : "-",
				 res.cluster ? res.cluster->name : "-", res.status, res.flags);
	}
	http_head_fini(&h);
}

/* The result names the match that held and why, for explain. */
static void test_router_route_why(void **state)
{
	struct http_head h;
	struct router_result res;

	(void)state;
	http_head_init(&h, HTTP_REQUEST, 0);
	mkreq(&h, GET("/h"), "x-beta: 1");
	assert_int_equal(router_route(&tbl, &h, &src_plain, NULL, &res), 0);
	assert_int_equal(res.why, ROUTER_WHY_MATCH);
	assert_ptr_equal(res.match, &m_hdr[1]);
	assert_int_equal(res.match_idx, 1);
	assert_ptr_equal(res.dest, &routes[4].dests[0]);

	mkreq(&h, GET("/zzz"), NULL);
	assert_int_equal(router_route(&tbl_shadow, &h, &src_plain, NULL, &res), 0);
	assert_int_equal(res.why, ROUTER_WHY_CATCH_ALL);
	assert_null(res.match);

	assert_int_equal(router_route(&tbl, &h, &src_plain, NULL, &res), 0);
	assert_int_equal(res.why, ROUTER_WHY_NO_MATCH);
	assert_int_equal(router_route(&tbl_novs, &h, &src_plain, NULL, &res), 0);
	assert_int_equal(res.why, ROUTER_WHY_DEFAULT);
	assert_int_equal(router_route(NULL, &h, &src_plain, NULL, &res), -EINVAL);

	/* router_match_fail names the first failing field */
	mkreq(&h, "GET", "http", "reviews", "/m1", NULL);
	assert_string_equal(router_match_fail(&m_method[0], &h, &src_plain), "method");
	assert_string_equal(router_match_fail(&m_hdr_prefix[0], &h, &src_plain), "headers");
	assert_string_equal(router_match_fail(&m_query[0], &h, &src_plain), "queryParams");
	assert_string_equal(router_match_fail(&m_labels[0], &h, &src_plain), "sourceLabels");
	assert_string_equal(router_match_fail(&m_ns[0], &h, &src_plain), "sourceNamespace");
	assert_string_equal(router_match_fail(&m_port[0], &h, &src_plain), "port");
	assert_string_equal(router_match_fail(&m_authority[0], &h, &src_plain), "authority");
	assert_string_equal(router_match_fail(&m_scheme[0], &h, &src_plain), "scheme");
	assert_string_equal(router_match_fail(&m_exact[0], &h, &src_plain), "uri");
	mkreq(&h, GET("/h"), "x-tag: canary-2\nx-block: yes");
	assert_string_equal(router_match_fail(&m_hdr_prefix[0], &h, &src_plain), "withoutHeaders");
	http_head_fini(&h);
}

/* 50/50 over 20000 requests from a seeded generator: each side within 3 sigma (~1%). */
static void test_router_weighted_split(void **state)
{
	struct http_head h;
	uint64_t rng = 0x1234;
	unsigned n1 = 0, n2 = 0, i;

	(void)state;
	http_head_init(&h, HTTP_REQUEST, 0);
	mkreq(&h, GET("/split/a"), NULL);
	for (i = 0; i < 20000; i++) {
		struct router_result res;

		assert_int_equal(router_route(&tbl, &h, &src_plain, &rng, &res), 0);
		assert_int_equal(res.verdict, ROUTER_FORWARD);
		if (res.cluster == &c_v1)
			n1++;
		else if (res.cluster == &c_v2)
			n2++;
	}
	assert_int_equal(n1 + n2, 20000);
	/* sigma = sqrt(20000 / 4) ~ 71: 3 sigma ~ 212 */
	assert_in_range(n1, 10000 - 212, 10000 + 212);
	http_head_fini(&h);
}

/* router_pick_dest: cumulative scan of weights 10/30/60, zero weights skipped. */
static void test_router_pick_dest(void **state)
{
	static const struct route_dest d[] = {{.cluster = &c_v1, .weight = 10},
					      {.cluster = &c_v2, .weight = 0},
					      {.cluster = &c_v3, .weight = 30},
					      {.cluster = &c_dflt, .weight = 60}};
	struct route_http r = {.dests = d, .ndests = 4, .total_weight = 100};
	static const struct {
		uint32_t rnd;
		size_t want;
	} cases[] = {{0, 0}, {9, 0}, {10, 2}, {39, 2}, {40, 3}, {99, 3}, {100, 0}, {110, 2}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_ptr_equal(router_pick_dest(&r, cases[i].rnd), &d[cases[i].want]);
	r.total_weight = 0; /* recomputed from the destinations */
	assert_ptr_equal(router_pick_dest(&r, 45), &d[3]);
	r.ndests = 0;
	assert_null(router_pick_dest(&r, 1));
}

/* ---- header operations ---- */

static void test_router_headers(void **state)
{
	const struct route_dest d = {
	    .cluster = &c_v1,
	    .weight = 100,
	    .req = {.set = (const struct k8s_kv[]){{"x-level", "dest"}},
		    .nset = 1,
		    .add = (const struct k8s_kv[]){{"x-add", "d"}},
		    .nadd = 1},
	};
	const struct route_http r = {
	    .req = {.set = (const struct k8s_kv[]){{"x-level", "route"}, {"host", "rewritten"}},
		    .nset = 2,
		    .add = (const struct k8s_kv[]){{"x-add", "r"}, {"x-remove", "readded"}},
		    .nadd = 2,
		    .remove = (const char *const[]){"x-remove", "x-level"},
		    .nremove = 2},
	};
	struct http_head h;
	size_t len;

	(void)state;
	http_head_init(&h, HTTP_REQUEST, 0);
	mkreq(&h, GET("/"), "x-remove: a\nx-remove: b\nx-add: client\nx-level: client");
	assert_int_equal(router_req_headers(&h, &r, &d), 0);
	/* remove before add: the route's add survives its own remove */
	assert_int_equal(http_head_count(&h, "x-remove", 8), 1);
	assert_string_equal(http_head_get(&h, "x-remove", 8, NULL), "readded");
	/* set at both levels: the route is applied last and wins */
	assert_int_equal(http_head_count(&h, "x-level", 7), 1);
	assert_string_equal(http_head_get(&h, "x-level", 7, NULL), "route");
	/* add appends: client, then destination, then route */
	assert_int_equal(http_head_count(&h, "x-add", 5), 3);
	assert_string_equal(http_head_get(&h, "x-add", 5, &len), "client");
	/* set host rewrites the authority */
	assert_string_equal(http_str_ptr(&h, h.authority), "rewritten");
	assert_int_equal(http_head_count(&h, "host", 4), 0);

	/* Response headers use the same order. */
	http_head_reset(&h, HTTP_RESPONSE);
	assert_int_equal(router_resp_headers(&h, NULL, NULL), 0);
	assert_int_equal(h.nhdrs, 0);
	http_head_fini(&h);
}

/* ---- rewrite ---- */

static struct route_rewrite rw_re = {.uri_re_sub = "/v2/\\1"};

struct rewrite_case {
	const char *what;
	const struct route_rewrite *rw;
	const struct route_match *m;
	const char *path, *want_path, *want_auth;
};

static const struct route_match rm_prefix = {.uri = S_PREFIX("/api")};
static const struct route_match rm_exact = {.uri = S_EXACT("/login")};
static const struct route_rewrite rw_v2 = {.uri = "/v2"};
static const struct route_rewrite rw_root = {.uri = "/"};
static const struct route_rewrite rw_auth = {.authority = "backend.internal"};

static const struct rewrite_case rewrite_cases[] = {
    {"prefix replaces the matched prefix", &rw_v2, &rm_prefix, "/api/users?x=1", "/v2/users?x=1",
     "reviews"},
    {"prefix exactly the path", &rw_v2, &rm_prefix, "/api", "/v2", "reviews"},
    {"prefix to root keeps the rest", &rw_root, &rm_prefix, "/api/x", "//x", "reviews"},
    {"exact match replaces the path", &rw_v2, &rm_exact, "/login?next=/", "/v2?next=/", "reviews"},
    {"catch-all replaces the path", &rw_v2, NULL, "/any/thing", "/v2", "reviews"},
    {"regex rewrite keeps the query", &rw_re, NULL, "/api/items?q=1", "/v2/items?q=1", "reviews"},
    {"regex rewrite without a match", &rw_re, NULL, "/other", "/other", "reviews"},
    {"authority only", &rw_auth, &rm_prefix, "/api/x", "/api/x", "backend.internal"},
};

static void test_router_rewrite(void **state)
{
	char err[64];
	struct http_head h;
	size_t i;

	(void)state;
	rw_re.uri_re = regex_new("^/api/(.*)", 10, err, sizeof(err));
	assert_non_null(rw_re.uri_re);
	http_head_init(&h, HTTP_REQUEST, 0);
	for (i = 0; i < sizeof(rewrite_cases) / sizeof(rewrite_cases[0]); i++) {
		const struct rewrite_case *c = &rewrite_cases[i];

		mkreq(&h, GET(c->path), NULL);
		assert_int_equal(router_rewrite(&h, c->rw, c->m), 0);
		if (strcmp(http_str_ptr(&h, h.path), c->want_path) ||
		    strcmp(http_str_ptr(&h, h.authority), c->want_auth))
			fail_msg("case \"%s\": path %s authority %s", c->what,
				 http_str_ptr(&h, h.path), http_str_ptr(&h, h.authority));
	}
	assert_int_equal(router_rewrite(&h, NULL, NULL), 0);
	regex_free(rw_re.uri_re);
	rw_re.uri_re = NULL;
	http_head_fini(&h);
}

/* A path longer than the composition buffer is refused, not truncated. */
static void test_router_rewrite_too_long(void **state)
{
	static char path[9000];
	struct http_head h;

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	http_head_init(&h, HTTP_REQUEST, 0);
	mkreq(&h, GET(path), NULL);
	assert_int_equal(router_rewrite(&h, &rw_v2, &rm_prefix), -ENAMETOOLONG);
	http_head_fini(&h);
}

/* ---- redirect ---- */

struct redirect_case {
	const char *what;
	struct route_redirect rd;
	const char *scheme, *auth, *path;
	uint16_t status;
	const char *location;
};

/* Location checks: {what, redirect, request scheme, authority, path, status, Location}. */
static const struct redirect_case redirect_cases[] = {
    {"uri only, query kept",
     {.uri = "/new"},
     "http",
     "reviews:9080",
     "/old?a=1",
     301,
     "http://reviews:9080/new?a=1"},
    {"uri with its own query",
     {.uri = "/new?b=2", .code = 302},
     "http",
     "r",
     "/old?a=1",
     302,
     "http://r/new?b=2"},
    {"https upgrade drops :80", {.scheme = "https"}, "http", "r:80", "/p", 301, "https://r/p"},
    {"http downgrade drops :443", {.scheme = "http"}, "https", "r:443", "/p", 301, "http://r/p"},
    {"scheme change keeps other ports",
     {.scheme = "https"},
     "http",
     "r:8080",
     "/p",
     301,
     "https://r:8080/p"},
    {"explicit port 80 with https kept",
     {.scheme = "https", .port = 80},
     "http",
     "r",
     "/p",
     301,
     "https://r:80/p"},
    {"https with port 443",
     {.scheme = "https", .port = 443},
     "http",
     "r:80",
     "/p",
     301,
     "https://r/p"},
    {"port replaced", {.port = 8443, .code = 307}, "https", "r:443", "/p", 307, "https://r:8443/p"},
    {"authority replaces host and port",
     {.authority = "new.example"},
     "http",
     "old:9080",
     "/p",
     301,
     "http://new.example/p"},
    {"authority and port",
     {.authority = "new.example", .port = 8080, .code = 308},
     "http",
     "old",
     "/p",
     308,
     "http://new.example:8080/p"},
    {"default port left out", {.port = 80}, "http", "r:9080", "/p", 301, "http://r/p"},
    {"empty scheme is http", {.uri = "/x"}, "", "r", "/", 301, "http://r/x"},
    {"ipv6 literal", {.port = 81}, "http", "[::1]:80", "/p", 301, "http://[::1]:81/p"},
    {"everything kept", {.code = 303}, "http", "r", "/a/b?c", 303, "http://r/a/b?c"},
};

static const struct redirect_case redirect_self = {
    "in place", {.uri = "/n"}, "http", "r", "/o?q", 301, "http://r/n?q",
};

static void test_router_redirect(void **state)
{
	struct http_head req, resp;
	size_t i;

	(void)state;
	http_head_init(&req, HTTP_REQUEST, 0);
	http_head_init(&resp, HTTP_RESPONSE, 0);
	for (i = 0; i < sizeof(redirect_cases) / sizeof(redirect_cases[0]); i++) {
		const struct redirect_case *c = &redirect_cases[i];
		const char *loc;

		mkreq(&req, "GET", c->scheme, c->auth, c->path, NULL);
		assert_int_equal(router_redirect(&req, &c->rd, &resp), 0);
		loc = http_head_get(&resp, "location", 8, NULL);
		if (resp.status != c->status || !loc || strcmp(loc, c->location))
			fail_msg("case \"%s\": status %u location %s", c->what, resp.status,
				 loc ? loc : "(none)");
		assert_int_equal(resp.kind, HTTP_RESPONSE);
		assert_int_equal(resp.content_length, 0);
	}
	/* The request head itself may become the response. */
	mkreq(&req, "GET", redirect_self.scheme, redirect_self.auth, redirect_self.path, NULL);
	assert_int_equal(router_redirect(&req, &redirect_self.rd, &req), 0);
	assert_int_equal(req.kind, HTTP_RESPONSE);
	assert_int_equal(req.version, HTTP_V11);
	assert_string_equal(http_head_get(&req, "location", 8, NULL), redirect_self.location);
	http_head_fini(&req);
	http_head_fini(&resp);
}

/* ---- fault injection ---- */

static void test_router_fault(void **state)
{
	static const struct route_fault f_half = {
	    .delay_ppm = 500000, .delay_ms = 7, .abort_ppm = 100000, .abort_http = 503};
	static const struct route_fault f_all_grpc = {
	    .abort_ppm = 1000000, .abort_grpc = 14, .abort_is_grpc = true};
	static const struct route_fault f_all_http = {.abort_ppm = 1000000, .abort_http = 403};
	static const struct route_fault f_none = {.delay_ms = 5, .abort_http = 500};
	struct router_fault_out o;
	struct http_head resp;
	uint64_t rng = 99;
	unsigned delays = 0, aborts = 0, i;

	(void)state;
	for (i = 0; i < 10000; i++) {
		router_fault(&f_half, false, &rng, &o);
		delays += o.delay_ms == 7;
		aborts += o.abort && o.http_status == 503 && o.grpc_status == -1;
		assert_true(o.delay_ms == 0 || o.delay_ms == 7);
	}
	/* 50% of 10000 (sigma 50) and 10% (sigma 30), 4 sigma */
	assert_in_range(delays, 4800, 5200);
	assert_in_range(aborts, 880, 1120);

	router_fault(&f_none, false, &rng, &o);
	assert_false(o.abort);
	assert_int_equal(o.delay_ms, 0);
	router_fault(NULL, true, &rng, &o);
	assert_false(o.abort);
	{
		const struct route_fault f_nostatus = {.abort_ppm = 1000000};

		router_fault(&f_nostatus, false, &rng, &o);
		assert_false(o.abort);
	}

	/* gRPC status abort of a gRPC request: 200 + grpc-status, trailers-only */
	http_head_init(&resp, HTTP_RESPONSE, 0);
	router_fault(&f_all_grpc, true, &rng, &o);
	assert_true(o.abort);
	assert_int_equal(o.http_status, 200);
	assert_int_equal(o.grpc_status, 14);
	assert_int_equal(router_fault_response(&o, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(http_head_get(&resp, "grpc-status", 11, NULL), "14");
	assert_string_equal(http_head_get(&resp, "content-type", 12, NULL), "application/grpc");
	/* ... of a plain HTTP request: the HTTP form of UNAVAILABLE */
	router_fault(&f_all_grpc, false, &rng, &o);
	assert_int_equal(o.http_status, 503);
	assert_int_equal(o.grpc_status, -1);
	assert_int_equal(router_fault_response(&o, &resp), 0);
	assert_int_equal(resp.status, 503);
	assert_null(http_head_get(&resp, "grpc-status", 11, NULL));
	/* HTTP status abort of a gRPC request: mapped to a grpc-status */
	router_fault(&f_all_http, true, &rng, &o);
	assert_int_equal(o.http_status, 200);
	assert_int_equal(o.grpc_status, 7);
	router_fault(&f_all_http, false, &rng, &o);
	assert_int_equal(o.http_status, 403);
	http_head_fini(&resp);
}

static void test_router_is_grpc(void **state)
{
	static const struct {
		const char *hdrs;
		bool want;
	} cases[] = {
	    {"content-type: application/grpc", true},
	    {"content-type: application/grpc+proto", true},
	    {"content-type: Application/GRPC;charset=x", true},
	    {"content-type: application/grpc-web", false},
	    {"content-type: application/json", false},
	    {"x: y", false},
	};
	struct http_head h;
	size_t i;

	(void)state;
	http_head_init(&h, HTTP_REQUEST, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mkreq(&h, "POST", "http", "r", "/pkg.Svc/M", cases[i].hdrs);
		if (router_is_grpc(&h) != cases[i].want)
			fail_msg("case \"%s\"", cases[i].hdrs);
	}
	http_head_fini(&h);
}

/* ---- retries ---- */

static const uint16_t codes_503_418[] = {503, 418};

struct retry_case {
	const char *what;
	uint32_t on;
	uint16_t status;
	int grpc;
	enum router_reset reset;
	uint32_t done;
	bool want;
};

#define ALL_RESET (ROUTE_RETRY_5XX | ROUTE_RETRY_GATEWAY | ROUTE_RETRY_RESET)

static const struct retry_case retry_cases[] = {
    {"5xx on 500", ROUTE_RETRY_5XX, 500, -1, ROUTER_RESET_NONE, 0, true},
    {"5xx on 599", ROUTE_RETRY_5XX, 599, -1, ROUTER_RESET_NONE, 0, true},
    {"5xx not on 404", ROUTE_RETRY_5XX, 404, -1, ROUTER_RESET_NONE, 0, false},
    {"5xx on connect failure", ROUTE_RETRY_5XX, 0, -1, ROUTER_RESET_CONNECT, 0, true},
    {"5xx on reset", ROUTE_RETRY_5XX, 0, -1, ROUTER_RESET_REMOTE, 0, true},
    {"5xx on per-try timeout", ROUTE_RETRY_5XX, 0, -1, ROUTER_RESET_TRY_TIMEOUT, 0, true},
    {"gateway-error on 502", ROUTE_RETRY_GATEWAY, 502, -1, ROUTER_RESET_NONE, 0, true},
    {"gateway-error on 504", ROUTE_RETRY_GATEWAY, 504, -1, ROUTER_RESET_NONE, 0, true},
    {"gateway-error not on 500", ROUTE_RETRY_GATEWAY, 500, -1, ROUTER_RESET_NONE, 0, false},
    {"gateway-error on refused", ROUTE_RETRY_GATEWAY, 0, -1, ROUTER_RESET_REFUSED, 0, true},
    {"reset on reset", ROUTE_RETRY_RESET, 0, -1, ROUTER_RESET_REMOTE, 0, true},
    {"reset not on 503", ROUTE_RETRY_RESET, 503, -1, ROUTER_RESET_NONE, 0, false},
    {"connect-failure", ROUTE_RETRY_CONNECT_FAILURE, 0, -1, ROUTER_RESET_CONNECT, 0, true},
    {"connect-failure not on reset", ROUTE_RETRY_CONNECT_FAILURE, 0, -1, ROUTER_RESET_REMOTE, 0,
     false},
    {"connect-failure not on 503", ROUTE_RETRY_CONNECT_FAILURE, 503, -1, ROUTER_RESET_NONE, 0,
     false},
    {"refused-stream", ROUTE_RETRY_REFUSED_STREAM, 0, -1, ROUTER_RESET_REFUSED, 0, true},
    {"refused-stream not on connect", ROUTE_RETRY_REFUSED_STREAM, 0, -1, ROUTER_RESET_CONNECT, 0,
     false},
    {"retriable-4xx on 409", ROUTE_RETRY_RETRIABLE_4XX, 409, -1, ROUTER_RESET_NONE, 0, true},
    {"retriable-4xx not on 404", ROUTE_RETRY_RETRIABLE_4XX, 404, -1, ROUTER_RESET_NONE, 0, false},
    {"retriable-status-codes 418", ROUTE_RETRY_RETRIABLE_CODES, 418, -1, ROUTER_RESET_NONE, 0,
     true},
    {"retriable-status-codes 503", ROUTE_RETRY_RETRIABLE_CODES, 503, -1, ROUTER_RESET_NONE, 0,
     true},
    {"retriable-status-codes not 502", ROUTE_RETRY_RETRIABLE_CODES, 502, -1, ROUTER_RESET_NONE, 0,
     false},
    {"codes listed but condition off", ROUTE_RETRY_5XX, 418, -1, ROUTER_RESET_NONE, 0, false},
    {"cancelled", ROUTE_RETRY_GRPC_CANCELLED, 200, 1, ROUTER_RESET_NONE, 0, true},
    {"deadline-exceeded", ROUTE_RETRY_GRPC_DEADLINE, 200, 4, ROUTER_RESET_NONE, 0, true},
    {"resource-exhausted", ROUTE_RETRY_GRPC_EXHAUSTED, 200, 8, ROUTER_RESET_NONE, 0, true},
    {"internal", ROUTE_RETRY_GRPC_INTERNAL, 200, 13, ROUTER_RESET_NONE, 0, true},
    {"unavailable", ROUTE_RETRY_GRPC_UNAVAILABLE, 200, 14, ROUTER_RESET_NONE, 0, true},
    {"unavailable not on internal", ROUTE_RETRY_GRPC_UNAVAILABLE, 200, 13, ROUTER_RESET_NONE, 0,
     false},
    {"grpc ok is not retried", ROUTE_RETRY_GRPC_CANCELLED | ROUTE_RETRY_GRPC_UNAVAILABLE, 200, 0,
     ROUTER_RESET_NONE, 0, false},
    {"grpc condition without grpc-status", ROUTE_RETRY_GRPC_UNAVAILABLE, 503, -1, ROUTER_RESET_NONE,
     0, false},
    {"overflow never", ALL_RESET | ROUTE_RETRY_CONNECT_FAILURE, 0, -1, ROUTER_RESET_OVERFLOW, 0,
     false},
    {"attempts exhausted", ROUTE_RETRY_5XX, 500, -1, ROUTER_RESET_NONE, 2, false},
    {"last attempt allowed", ROUTE_RETRY_5XX, 500, -1, ROUTER_RESET_NONE, 1, true},
    {"2xx never", ALL_RESET | ROUTE_RETRY_RETRIABLE_4XX, 200, -1, ROUTER_RESET_NONE, 0, false},
};

static void test_router_should_retry(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(retry_cases) / sizeof(retry_cases[0]); i++) {
		const struct retry_case *c = &retry_cases[i];
		struct route_retry p = {
		    .attempts = 2, .on = c->on, .codes = codes_503_418, .ncodes = 2};

		if (router_should_retry(&p, c->status, c->grpc, c->reset, c->done) != c->want)
			fail_msg("case \"%s\": want %d", c->what, c->want);
	}
	assert_false(router_should_retry(NULL, 503, -1, ROUTER_RESET_NONE, 0));
}

/* Istio's default policy when a VirtualService sets none. */
static void test_router_retry_default_policy(void **state)
{
	static const uint16_t c503[] = {503};
	struct route_retry p = {
	    .attempts = 2,
	    .on = ROUTE_RETRY_CONNECT_FAILURE | ROUTE_RETRY_REFUSED_STREAM |
		  ROUTE_RETRY_GRPC_UNAVAILABLE | ROUTE_RETRY_GRPC_CANCELLED |
		  ROUTE_RETRY_RETRIABLE_CODES,
	    .codes = c503,
	    .ncodes = 1,
	};

	(void)state;
	assert_true(router_should_retry(&p, 503, -1, ROUTER_RESET_NONE, 0));
	assert_false(router_should_retry(&p, 500, -1, ROUTER_RESET_NONE, 0));
	assert_false(router_should_retry(&p, 502, -1, ROUTER_RESET_NONE, 0));
	assert_true(router_should_retry(&p, 0, -1, ROUTER_RESET_CONNECT, 0));
	assert_false(router_should_retry(&p, 0, -1, ROUTER_RESET_REMOTE, 0));
	assert_true(router_should_retry(&p, 200, 14, ROUTER_RESET_NONE, 1));
	assert_false(router_should_retry(&p, 200, 14, ROUTER_RESET_NONE, 2));
}

/* ---- timeouts ---- */

static void test_router_grpc_timeout(void **state)
{
	static const struct {
		const char *v;
		int rc;
		uint64_t ms;
	} cases[] = {
	    {"100m", 0, 100},
	    {"5S", 0, 5000},
	    {"2M", 0, 120000},
	    {"1H", 0, 3600000},
	    {"1500u", 0, 2},
	    {"1n", 0, 1},
	    {"0m", 0, 0},
	    {"99999999S", 0, 99999999000ULL},
	    {"123456789S", -EINVAL, 0},
	    {"S", -EINVAL, 0},
	    {"10", -EINVAL, 0},
	    {"10s", -EINVAL, 0},
	    {"1.5S", -EINVAL, 0},
	    {"", -EINVAL, 0},
	    {"-1S", -EINVAL, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ms = 12345;
		int rc = router_grpc_timeout(cases[i].v, strlen(cases[i].v), &ms);

		if (rc != cases[i].rc || (!rc && ms != cases[i].ms))
			fail_msg("case \"%s\": rc %d ms %llu", cases[i].v, rc,
				 (unsigned long long)ms);
	}
}

static void test_router_timeouts(void **state)
{
	struct route_http r = {.timeout_ms = 3000,
			       .retry = {.attempts = 3, .per_try_timeout_ms = 1000}};
	struct route_http r0 = {0};
	struct http_head h;

	(void)state;
	http_head_init(&h, HTTP_REQUEST, 0);
	mkreq(&h, GET("/"), NULL);
	assert_int_equal(router_timeout_ms(&r, &h), 3000);
	assert_int_equal(router_timeout_ms(&r0, &h), 0);
	mkreq(&h, GET("/"), "grpc-timeout: 500m");
	assert_int_equal(router_timeout_ms(&r, &h), 500);
	assert_int_equal(router_timeout_ms(&r0, &h), 500);
	mkreq(&h, GET("/"), "grpc-timeout: 10S");
	assert_int_equal(router_timeout_ms(&r, &h), 3000); /* an upper bound only */
	mkreq(&h, GET("/"), "grpc-timeout: soon");
	assert_int_equal(router_timeout_ms(&r, &h), 3000);
	mkreq(&h, GET("/"), "grpc-timeout: 0S");
	assert_int_equal(router_timeout_ms(&r0, &h), 0);

	assert_int_equal(router_retry_attempts(&r), 3);
	assert_int_equal(router_retry_attempts(NULL), 0);
	assert_int_equal(router_try_timeout_ms(&r, 3000), 1000);
	assert_int_equal(router_try_timeout_ms(&r, 500), 500);
	assert_int_equal(router_try_timeout_ms(&r, 0), 1000);
	assert_int_equal(router_try_timeout_ms(&r0, 2000), 2000);
	assert_int_equal(router_try_timeout_ms(&r0, 0), 0);
	http_head_fini(&h);
}

/* Names for explain, and the mirror draw. */
static void test_router_names_mirror(void **state)
{
	struct route_http r = {.mirror = &c_v2, .mirror_ppm = 250000};
	uint64_t rng = 5;
	unsigned n = 0, i;

	(void)state;
	assert_string_equal(router_verdict_str(ROUTER_FORWARD), "forward");
	assert_string_equal(router_verdict_str(ROUTER_NO_ROUTE), "no_route");
	assert_string_equal(router_verdict_str(ROUTER_NO_CLUSTER), "no_cluster");
	assert_string_equal(router_verdict_str((enum router_verdict)0), "unknown");
	assert_string_equal(router_why_str(ROUTER_WHY_CATCH_ALL), "catch_all");
	assert_string_equal(router_why_str(ROUTER_WHY_NO_DEST), "no_dest");
	for (i = 0; i < 8000; i++)
		n += router_should_mirror(&r, &rng);
	assert_in_range(n, 2000 - 160, 2000 + 160); /* 25%, 4 sigma */
	r.mirror_ppm = 1000000;
	assert_true(router_should_mirror(&r, &rng));
	r.mirror = NULL;
	assert_false(router_should_mirror(&r, &rng));
	assert_false(router_should_mirror(NULL, &rng));
}

/* router_query_param edge cases: empty values, keys without '=', fragments. */
static void test_router_query_param(void **state)
{
	static const struct {
		const char *path, *name, *want;
	} cases[] = {
	    {"/p?a=1&b=2", "b", "2"}, {"/p?a=1&b=2", "a", "1"}, {"/p?a&b=2", "a", ""},
	    {"/p?a=&b=2", "a", ""},   {"/p?a=1#f", "a", "1"},	{"/p?ab=1", "a", NULL},
	    {"/p", "a", NULL},	      {"/p?", "a", NULL},	{"/p?x=a=b", "x", "a=b"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t vlen = 0;
		const char *v = router_query_param(cases[i].path, strlen(cases[i].path),
						   cases[i].name, strlen(cases[i].name), &vlen);

		if (!cases[i].want
			? v != NULL
			: !v || vlen != strlen(cases[i].want) || memcmp(v, cases[i].want, vlen))
			fail_msg("case %s %s", cases[i].path, cases[i].name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_router_route_table),
	    cmocka_unit_test(test_router_route_why),
	    cmocka_unit_test(test_router_weighted_split),
	    cmocka_unit_test(test_router_pick_dest),
	    cmocka_unit_test(test_router_headers),
	    cmocka_unit_test(test_router_rewrite),
	    cmocka_unit_test(test_router_rewrite_too_long),
	    cmocka_unit_test(test_router_redirect),
	    cmocka_unit_test(test_router_fault),
	    cmocka_unit_test(test_router_is_grpc),
	    cmocka_unit_test(test_router_should_retry),
	    cmocka_unit_test(test_router_retry_default_policy),
	    cmocka_unit_test(test_router_grpc_timeout),
	    cmocka_unit_test(test_router_timeouts),
	    cmocka_unit_test(test_router_query_param),
	    cmocka_unit_test(test_router_names_mirror),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
