// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the service graph: naming and aggregation of rows into Istio's
 * servicegraph shape (checked by parsing the JSON with jansson), rates from a real
 * telemetry history, request edges (requests per second and error rate) beside the flow
 * edges, filter_empty, deterministic order, escaping of hostile names, and the DOT output
 * rendered by Graphviz's own dot when it is installed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <jansson.h>

#include "telemetry/graph.h"

/* The bookinfo cast, plus names built to break writers. */
static const struct {
	uint32_t id;
	const char *ns, *name, *app, *version;
} wls[] = {
    {1, "default", "productpage-v1", "productpage", "v1"},
    {2, "default", "reviews-v1", "reviews", "v1"},
    {3, "default", "reviews-v2", "reviews", "v2"},
    {4, "default", "details-v1", "details", "v1"},
    {5, "default", "bare-pod", "", ""},		 /* no app label: workload name */
    {6, "evil", "q", "we\"ird\\na\nme", "v\"1"}, /* quotes, backslash, newline */
    {7, "evil", "u", "caf\xc3\xa9-\xff", "v1"},	 /* UTF-8 and a stray byte */
};

static int wl_info(void *ctx, uint32_t id, struct weir_wl_info *out)
{
	size_t i;

	for (i = 0; i < sizeof(wls) / sizeof(wls[0]); i++) {
		if (wls[i].id != id)
			continue;
		memset(out, 0, sizeof(*out));
		snprintf(out->ns, sizeof(out->ns), "%s", wls[i].ns);
		snprintf(out->name, sizeof(out->name), "%s", wls[i].name);
		snprintf(out->app, sizeof(out->app), "%s", wls[i].app);
		snprintf(out->version, sizeof(out->version), "%s", wls[i].version);
		return 0;
	}
	return -ENOENT;
}

static int svc_info(void *ctx, uint32_t id, struct weir_svc_info *out)
{
	if (id != 11)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	snprintf(out->ns, sizeof(out->ns), "default");
	snprintf(out->name, sizeof(out->name), "ratings");
	return 0;
}

static const struct telemetry_names names = {wl_info, svc_info, NULL};

static struct telemetry_row row(uint32_t src, uint32_t dst, uint32_t svc, uint8_t path,
				uint8_t proto, uint64_t opened)
{
	struct telemetry_row r;

	memset(&r, 0, sizeof(r));
	r.key.src_wl = src;
	r.key.dst_wl = dst;
	r.key.svc_id = svc;
	r.key.dport = 9080;
	r.key.proto = proto;
	r.key.path = path;
	r.val.conns_opened = opened;
	r.val.bytes_sent = opened * 100;
	return r;
}

/* Rows at time 0 and at 100 s; deltas: pp->reviews v1 3 + 2 (two paths), pp->reviews v2 1,
 * pp->details 0, unknown->pp 10, pp->ratings (service only) 4, bare-pod->details 0. */
#define NROWS 7
static void bookinfo(struct telemetry_row *r0, struct telemetry_row *r1)
{
	const struct telemetry_row base[NROWS] = {
	    row(1, 2, 0, WEIR_PATH_KERNEL, IPPROTO_TCP, 100),
	    row(1, 2, 0, WEIR_PATH_AGENT, IPPROTO_TCP, 7),
	    row(1, 3, 0, WEIR_PATH_KERNEL, IPPROTO_TCP, 50),
	    row(1, 4, 0, WEIR_PATH_KERNEL, IPPROTO_TCP, 9),
	    row(0, 1, 0, WEIR_PATH_KERNEL, IPPROTO_TCP, 0),
	    row(1, 0, 11, WEIR_PATH_KERNEL, IPPROTO_UDP, 0),
	    row(5, 4, 0, WEIR_PATH_KERNEL, IPPROTO_TCP, 1),
	};
	static const uint64_t delta[NROWS] = {3, 2, 1, 0, 10, 4, 0};
	int i;

	for (i = 0; i < NROWS; i++) {
		r0[i] = base[i];
		r1[i] = base[i];
		r1[i].val.conns_opened += delta[i];
		r1[i].val.bytes_sent += delta[i] * 100;
	}
}

static json_t *parse(const struct strbuf *sb)
{
	json_error_t jerr;
	json_t *j = json_loads(strbuf_str(sb), 0, &jerr);

	if (!j)
		fail_msg("invalid JSON (%s at line %d): %s", jerr.text, jerr.line, strbuf_str(sb));
	return j;
}

/* Finds the edge source -> target in the parsed graph; fails when absent. */
static json_t *find_edge(json_t *j, const char *src, const char *dst, const char *ver)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(j, "edges"), i, e)
	{
		json_t *l = json_object_get(e, "labels");

		if (!strcmp(json_string_value(json_object_get(e, "source")), src) &&
		    !strcmp(json_string_value(json_object_get(e, "target")), dst) &&
		    !strcmp(json_string_value(json_object_get(l, "version")), ver))
			return e;
	}
	fail_msg("no edge %s -> %s (%s)", src, dst, ver);
	return NULL;
}

static const char *qps(json_t *e)
{
	return json_string_value(json_object_get(json_object_get(e, "labels"), "qps"));
}

static void build(struct graph *g, bool filter_empty, const struct telemetry_row *r1)
{
	struct telemetry_row r0[NROWS], unused[NROWS];
	struct telemetry *t = telemetry_new(NULL, NULL, NULL, NULL);
	struct graph_opts o = {
	    .tel = t, .now_ms = 101000, .horizon_ms = 300000, .filter_empty = filter_empty};

	assert_non_null(t);
	bookinfo(r0, unused);
	assert_int_equal(telemetry_sample_rows(t, 1000, r0, NROWS), 0);
	assert_int_equal(graph_build(g, r1, NROWS, &names, &o), 0);
	telemetry_free(t);
}

static void test_graph_json_shape_and_rates(void **state)
{
	struct telemetry_row r0[NROWS], r1[NROWS];
	struct strbuf sb;
	struct graph g;
	json_t *j, *nodes, *e;
	const char *key;
	json_t *v;
	size_t i = 0;
	static const char *const want_nodes[] = {"bare-pod", "details", "productpage",
						 "ratings",  "reviews", "unknown"};

	bookinfo(r0, r1);
	build(&g, false, r1);
	strbuf_init(&sb);
	assert_int_equal(graph_write_json(&g, &sb), 0);
	j = parse(&sb);
	nodes = json_object_get(j, "nodes");
	assert_true(json_is_object(nodes));
	assert_int_equal(json_object_size(nodes), 6);
	json_object_foreach(nodes, key, v)
	{
		assert_true(json_is_object(v) && json_object_size(v) == 0);
		assert_string_equal(key, want_nodes[i++]);
	}
	/* 6 edges: the two productpage -> reviews v1 paths fold into one. */
	assert_int_equal(json_array_size(json_object_get(j, "edges")), 6);
	e = find_edge(j, "productpage", "reviews", "v1");
	assert_string_equal(qps(e), "0.050000"); /* (3 + 2) / 100 s */
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(e, "labels"), "protocol")), "tcp");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(e, "labels"), "bytes_per_sec")),
	    "5.000000");
	assert_string_equal(qps(find_edge(j, "productpage", "reviews", "v2")), "0.010000");
	assert_string_equal(qps(find_edge(j, "productpage", "details", "v1")), "0.000000");
	assert_string_equal(qps(find_edge(j, "unknown", "productpage", "v1")), "0.100000");
	/* Only the Service is known: its name is the node, the version is unknown. */
	e = find_edge(j, "productpage", "ratings", "unknown");
	assert_string_equal(qps(e), "0.040000");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(e, "labels"), "protocol")), "udp");
	find_edge(j, "bare-pod", "details", "v1");
	json_decref(j);
	strbuf_fini(&sb);
	graph_fini(&g);
}

/* The request edge source -> target (version), the one with an error_rate label. */
static json_t *find_req_edge(json_t *j, const char *src, const char *dst, const char *ver)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(j, "edges"), i, e)
	{
		json_t *l = json_object_get(e, "labels");

		if (!strcmp(json_string_value(json_object_get(e, "source")), src) &&
		    !strcmp(json_string_value(json_object_get(e, "target")), dst) &&
		    !strcmp(json_string_value(json_object_get(l, "version")), ver) &&
		    json_object_get(l, "error_rate"))
			return e;
	}
	fail_msg("no request edge %s -> %s (%s)", src, dst, ver);
	return NULL;
}

static const char *label(json_t *e, const char *name)
{
	return json_string_value(json_object_get(json_object_get(e, "labels"), name));
}

static const struct reqstats_rate req_rates[] = {
    /* src, dst, svc, proto, reporter, rps, errors/s, requests */
    {1, 2, 0, REQSTATS_HTTP, REQSTATS_SOURCE, 2.0, 0.5, 100},
    {1, 2, 0, REQSTATS_GRPC, REQSTATS_SOURCE, 1.0, 0.0, 10},	 /* same nodes: folds, mixed */
    {1, 4, 0, REQSTATS_HTTP, REQSTATS_SOURCE, 4.0, 4.0, 8},	 /* every request failed */
    {0, 3, 0, REQSTATS_GRPC, REQSTATS_DESTINATION, 0.0, 0.0, 3}, /* idle over the horizon */
};

static void test_graph_request_edges(void **state)
{
	struct telemetry_row r0[NROWS], r1[NROWS];
	struct telemetry *t = telemetry_new(NULL, NULL, NULL, NULL);
	struct graph_opts o = {.tel = t,
			       .now_ms = 101000,
			       .horizon_ms = 300000,
			       .req = req_rates,
			       .nreq = sizeof(req_rates) / sizeof(req_rates[0])};
	struct strbuf sb;
	struct graph g;
	json_t *j, *e;

	assert_non_null(t);
	bookinfo(r0, r1);
	assert_int_equal(telemetry_sample_rows(t, 1000, r0, NROWS), 0);
	assert_int_equal(graph_build(&g, r1, NROWS, &names, &o), 0);
	strbuf_init(&sb);
	assert_int_equal(graph_write_json(&g, &sb), 0);
	j = parse(&sb);
	/* 6 flow edges and 3 request edges; no node is new. */
	assert_int_equal(json_array_size(json_object_get(j, "edges")), 9);
	assert_int_equal(json_object_size(json_object_get(j, "nodes")), 6);

	/* The flow edge of the same pair is untouched and has no error rate. */
	e = find_edge(j, "productpage", "reviews", "v1");
	assert_string_equal(label(e, "protocol"), "tcp");
	assert_string_equal(qps(e), "0.050000");
	assert_null(label(e, "error_rate"));

	e = find_req_edge(j, "productpage", "reviews", "v1");
	assert_string_equal(qps(e), "3.000000");
	assert_string_equal(label(e, "protocol"), "mixed");
	assert_string_equal(label(e, "error_rate"), "0.166667"); /* 0.5 of 3 per second */
	assert_null(label(e, "bytes_per_sec"));
	e = find_req_edge(j, "productpage", "details", "v1");
	assert_string_equal(label(e, "protocol"), "http");
	assert_string_equal(label(e, "error_rate"), "1.000000");
	e = find_req_edge(j, "unknown", "reviews", "v2");
	assert_string_equal(qps(e), "0.000000");
	assert_string_equal(label(e, "protocol"), "grpc");
	assert_string_equal(label(e, "error_rate"), "0.000000"); /* no requests: no errors */
	json_decref(j);

	strbuf_reset(&sb);
	assert_int_equal(graph_write_dot(&g, &sb), 0);
	assert_non_null(strstr(strbuf_str(&sb), "\"productpage\" -> \"details\" [label=\"qps: "
						"4.000000\\nversion: v1\\nprotocol: http\\n"
						"error_rate: 1.000000\"];\n"));
	assert_non_null(strstr(strbuf_str(&sb), "\"productpage\" -> \"details\" [label=\"qps: "
						"0.000000\\nversion: v1\"];\n"));
	graph_fini(&g);

	/* Request edges alone make a graph; filter_empty drops the idle one. */
	o.filter_empty = true;
	assert_int_equal(graph_build(&g, NULL, 0, &names, &o), 0);
	assert_int_equal(g.nedges, 2);
	assert_int_equal(g.nnodes, 3); /* productpage, reviews, details */
	assert_true(g.edges[0].protos & GRAPH_P_L7);
	graph_fini(&g);
	strbuf_fini(&sb);
	telemetry_free(t);
}

static void test_graph_filter_empty(void **state)
{
	struct telemetry_row r0[NROWS], r1[NROWS];
	struct strbuf sb;
	struct graph g;
	json_t *j, *nodes;

	bookinfo(r0, r1);
	build(&g, true, r1);
	strbuf_init(&sb);
	assert_int_equal(graph_write_json(&g, &sb), 0);
	j = parse(&sb);
	/* pp -> details and bare-pod -> details had no new connections. */
	assert_int_equal(json_array_size(json_object_get(j, "edges")), 4);
	nodes = json_object_get(j, "nodes");
	assert_int_equal(json_object_size(nodes), 4);
	assert_null(json_object_get(nodes, "details"));
	assert_null(json_object_get(nodes, "bare-pod"));
	assert_non_null(json_object_get(nodes, "ratings"));
	json_decref(j);
	strbuf_fini(&sb);
	graph_fini(&g);
}

static void test_graph_no_rates_and_empty(void **state)
{
	struct telemetry_row r0[NROWS], r1[NROWS];
	struct graph_opts o = {.tel = NULL};
	struct strbuf sb;
	struct graph g;
	json_t *j;

	/* No history: every edge is listed with qps 0, as weirctl shows totals. */
	bookinfo(r0, r1);
	assert_int_equal(graph_build(&g, r1, NROWS, &names, &o), 0);
	assert_int_equal(g.nedges, 6);
	assert_int_equal(g.edges[0].conns, 1); /* bare-pod -> details sorts first */
	strbuf_init(&sb);
	assert_int_equal(graph_write_json(&g, &sb), 0);
	j = parse(&sb);
	assert_string_equal(qps(find_edge(j, "productpage", "reviews", "v1")), "0.000000");
	json_decref(j);
	graph_fini(&g);

	/* No edges at all: still a valid document, and NULL names mean "unknown". */
	assert_int_equal(graph_build(&g, NULL, 0, NULL, NULL), 0);
	strbuf_reset(&sb);
	assert_int_equal(graph_write_json(&g, &sb), 0);
	j = parse(&sb);
	assert_int_equal(json_object_size(json_object_get(j, "nodes")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "edges")), 0);
	json_decref(j);
	graph_fini(&g);
	assert_int_equal(graph_build(&g, r1, 1, NULL, NULL), 0);
	assert_int_equal(g.nnodes, 1);
	assert_string_equal(g.nodes[0], "unknown");
	graph_fini(&g);
	strbuf_fini(&sb);
}

static void test_graph_deterministic(void **state)
{
	struct telemetry_row r0[NROWS], r1[NROWS], rev[NROWS];
	struct strbuf a, b;
	struct graph g;
	int i;

	bookinfo(r0, r1);
	for (i = 0; i < NROWS; i++)
		rev[i] = r1[NROWS - 1 - i];
	strbuf_init(&a);
	strbuf_init(&b);
	build(&g, false, r1);
	graph_write_json(&g, &a);
	graph_write_dot(&g, &a);
	graph_fini(&g);
	build(&g, false, rev);
	graph_write_json(&g, &b);
	graph_write_dot(&g, &b);
	graph_fini(&g);
	assert_string_equal(strbuf_str(&a), strbuf_str(&b));
	strbuf_fini(&a);
	strbuf_fini(&b);
}

static void test_graph_escaping_json(void **state)
{
	const struct telemetry_row r[2] = {row(6, 7, 0, 0, IPPROTO_TCP, 1),
					   row(7, 6, 0, 0, IPPROTO_TCP, 1)};
	struct strbuf sb;
	struct graph g;
	json_t *j, *e;

	assert_int_equal(graph_build(&g, r, 2, &names, NULL), 0);
	strbuf_init(&sb);
	assert_int_equal(graph_write_json(&g, &sb), 0);
	j = parse(&sb);
	/* The names come back byte for byte; the stray byte as U+FFFD. */
	assert_non_null(json_object_get(json_object_get(j, "nodes"), "we\"ird\\na\nme"));
	assert_non_null(json_object_get(json_object_get(j, "nodes"), "caf\xc3\xa9-\xef\xbf\xbd"));
	e = find_edge(j, "caf\xc3\xa9-\xef\xbf\xbd", "we\"ird\\na\nme", "v\"1");
	assert_non_null(e);
	json_decref(j);
	strbuf_fini(&sb);
	graph_fini(&g);
}

/* Runs `dot -T<fmt>` on <text>; returns its exit status and leaves stdout in <out>. */
static int run_dot(const char *text, const char *fmt, struct strbuf *out)
{
	char in[] = "/tmp/weirtest-tel-dot-XXXXXX";
	char cmd[256], buf[4096];
	FILE *p;
	size_t n;
	int fd, st;

	fd = mkstemp(in);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd), "/usr/bin/dot -T%s %s 2>&1", fmt, in);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		strbuf_append(out, buf, n);
	st = pclose(p);
	unlink(in);
	return st;
}

static void test_graph_dot_renders(void **state)
{
	struct telemetry_row r0[NROWS], r1[NROWS + 2];
	struct strbuf dot, out;
	struct graph g;
	const char *p;
	int edges = 0, nodes = 0;

	if (access("/usr/bin/dot", X_OK))
		skip(); /* graphviz not installed: tools/deps.sh test installs it */
	bookinfo(r0, r1);
	r1[NROWS] = row(6, 7, 0, 0, IPPROTO_TCP, 1); /* hostile names must render too */
	r1[NROWS + 1] = row(7, 6, 0, 0, IPPROTO_TCP, 1);
	assert_int_equal(graph_build(&g, r1, NROWS + 2, &names, NULL), 0);
	strbuf_init(&dot);
	strbuf_init(&out);
	assert_int_equal(graph_write_dot(&g, &dot), 0);
	if (run_dot(strbuf_str(&dot), "svg", &out))
		fail_msg("dot -Tsvg failed: %s\n--- input:\n%s", strbuf_str(&out),
			 strbuf_str(&dot));
	assert_non_null(strstr(strbuf_str(&out), "<svg"));
	/* Graphviz's own reading of the graph: the same nodes and edges as ours. */
	strbuf_reset(&out);
	assert_int_equal(run_dot(strbuf_str(&dot), "plain", &out), 0);
	for (p = strbuf_str(&out); p; p = strchr(p, '\n')) {
		p += *p == '\n';
		nodes += !strncmp(p, "node ", 5);
		edges += !strncmp(p, "edge ", 5);
	}
	assert_int_equal(nodes, (int)g.nnodes);
	assert_int_equal(edges, (int)g.nedges);
	assert_non_null(strstr(strbuf_str(&dot), "\"productpage\" -> \"reviews\" [label=\"qps: "));
	strbuf_fini(&dot);
	strbuf_fini(&out);
	graph_fini(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_graph_json_shape_and_rates),
	    cmocka_unit_test(test_graph_request_edges),
	    cmocka_unit_test(test_graph_filter_empty),
	    cmocka_unit_test(test_graph_no_rates_and_empty),
	    cmocka_unit_test(test_graph_deterministic),
	    cmocka_unit_test(test_graph_escaping_json),
	    cmocka_unit_test(test_graph_dot_renders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
