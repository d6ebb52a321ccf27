// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for GET /routes/explain (admin/routes_explain.c): the input is the query
 * string a local client sends, parsed by libevent as the admin server does, then handed to
 * the handler over a small hand-built snapshot whose routes redirect, rewrite and answer
 * directly, so that user-chosen paths, methods and headers reach the router's builders.
 * The handler must never crash, leak or read out of bounds, and must answer a status.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <weir/service.h>

#include "admin/admin.h"
#include "admin/routes.h"
#include "lib/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct k8s_kv lbl[] = {{"app", "productpage"}, {"version", "v1"}};
static const struct model_pod pods[] = {
    {.ns = "default", .name = "pp", .weight = 1, .ready = true, .labels = lbl, .nlabels = 2},
    {.ns = "default", .name = "rv", .weight = 1, .ready = true, .labels = lbl, .nlabels = 2},
};
static const struct model_endpoint eps[] = {
    {.ip = 0x0b0112c6, .port = 9080, .ready = true, .pod = &pods[1]}};
static const struct model_endpoint *const eps_p[] = {&eps[0]};
static const struct model_svc_port ports[] = {
    {.name = "http", .port = 9080, .proto = IPPROTO_TCP, .eps = eps, .neps = 1}};
static const struct model_service svcs[] = {{.ns = "default",
					     .name = "reviews",
					     .vip = 0x050013c6,
					     .mode = WEIR_MODE_AGENT,
					     .ports = ports,
					     .nports = 1}};
static const struct route_cluster cl[] = {
    {.name = "outbound|9080||reviews",
     .svc = &svcs[0],
     .port = &ports[0],
     .eps = eps_p,
     .neps = 1,
     .proto = ROUTE_PROTO_HTTP},
    {.name = "outbound|9080|v2|reviews",
     .svc = &svcs[0],
     .port = &ports[0],
     .subset = "v2",
     .eps = eps_p,
     .neps = 1,
     .proto = ROUTE_PROTO_HTTP,
     .id = 1},
};

static const struct route_kv_match hm[] = {
    {.name = "end-user", .match = {.kind = ROUTE_STR_EXACT, .value = "jason", .len = 5}}};
static const struct route_match m_hdr[] = {{.headers = hm, .nheaders = 1}};
static const struct route_match m_old[] = {
    {.uri = {.kind = ROUTE_STR_PREFIX, .value = "/old", .len = 4}}};
static const struct route_match m_api[] = {
    {.uri = {.kind = ROUTE_STR_PREFIX, .value = "/api", .len = 4}}};
static const struct route_match m_tea[] = {
    {.uri = {.kind = ROUTE_STR_EXACT, .value = "/tea", .len = 4}}};
static const struct route_dest d_v2[] = {{.cluster = &cl[1], .weight = 100}};
static const struct route_dest d_all[] = {{.cluster = &cl[0], .weight = 30},
					  {.cluster = &cl[1], .weight = 70}};
static const struct k8s_kv set[] = {{"x-route", "v2"}};
static const char *const rm[] = {"cookie"};
static const struct route_redirect rd = {.uri = "/new", .authority = "other", .port = 8080};
static const struct route_rewrite rw = {.uri = "/v2", .authority = "rewritten"};
static const struct route_http http[] = {
    {.name = "hdr",
     .matches = m_hdr,
     .nmatches = 1,
     .dests = d_v2,
     .ndests = 1,
     .total_weight = 100,
     .req = {.set = set, .nset = 1, .remove = rm, .nremove = 1},
     .timeout_ms = 1000},
    {.name = "old", .matches = m_old, .nmatches = 1, .redirect = &rd},
    {.name = "api",
     .matches = m_api,
     .nmatches = 1,
     .dests = d_all,
     .ndests = 2,
     .total_weight = 100,
     .rewrite = &rw},
    {.name = "tea", .matches = m_tea, .nmatches = 1, .direct_status = 418, .direct_body = "t"},
};
static const struct route_http *const http_p[] = {&http[0], &http[1], &http[2], &http[3]};
static const struct route_table tables[] = {{.svc = &svcs[0],
					     .port = &ports[0],
					     .proto = ROUTE_PROTO_HTTP,
					     .http = http_p,
					     .nhttp = 4,
					     .dflt = &cl[0],
					     .agent = true}};
static const struct model_routes routes = {
    .tables = tables, .ntables = 1, .clusters = cl, .nclusters = 2};
static const struct model model = {
    .generation = 1, .pods = pods, .npods = 2, .services = svcs, .nservices = 1, .routes = &routes};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct admin_call call = {.path = "/routes/explain"};
	struct evkeyvalq q;
	struct strbuf body;
	char *s;
	int st;

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(s, &q) == 0) {
		strbuf_init(&body);
		call.query = &q;
		call.body = &body;
		st = routes_h_explain(&call, &model);
		if (st < 100 || st > 599)
			abort();
		strbuf_fini(&body);
	}
	evhttp_clear_headers(&q);
	free(s);
	return 0;
}
