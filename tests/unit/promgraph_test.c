// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the cluster graph from Prometheus: instant-vector answers of the four
 * queries turned into flow and request edges (qps, error rate, bytes, versions, Services
 * outside the mesh), warnings carried as a partial result, and every failure kind (status
 * error, malformed JSON, wrong shape, non-200, nobody listening, no answer in time) named
 * and counted. The HTTP cases talk to a tiny Prometheus stand-in on loopback.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>

#include "telemetry/promgraph.h"
#include "../lib/httpfx.h"

/* One series of a canned answer. */
#define SERIES(labels, value)                                                                      \
	"{\"metric\": {" labels "}, \"value\": [1765000000.123, \"" value "\"]}"
#define VECTOR(...)                                                                                \
	"{\"status\": \"success\", \"data\": {\"resultType\": \"vector\", \"result\": "            \
	"[" __VA_ARGS__ "]}}"
#define PP_REVIEWS(ver)                                                                            \
	"\"source_canonical_service\": \"productpage\", \"source_canonical_revision\": \"v1\", "   \
	"\"destination_canonical_service\": \"reviews\", \"destination_canonical_revision\": "     \
	"\"" ver "\", \"destination_service_name\": \"reviews\""

#define REVIEWS_RATINGS                                                                            \
	"\"source_canonical_service\": \"reviews\", \"source_canonical_revision\": \"v2\", "       \
	"\"destination_canonical_service\": \"ratings\", \"destination_canonical_revision\": "     \
	"\"v1\", \"request_protocol\": \"grpc\", \"response_code\": \"200\""
#define OUTSIDE_PP                                                                                 \
	"\"source_canonical_service\": \"unknown\", \"destination_canonical_service\": "           \
	"\"productpage\", \"destination_canonical_revision\": \"v1\", "                            \
	"\"request_protocol\": \"http\", \"response_code\": \"200\""
#define HTTP_CODE(c) ", \"request_protocol\": \"http\", \"response_code\": \"" c "\""

/* Requests: productpage -> reviews v2 in two codes (one 5xx), a gRPC edge with a non-OK
 * status in a 200, and a caller outside the mesh. */
static const char ans_requests[] =
    VECTOR(SERIES(PP_REVIEWS("v2") HTTP_CODE("200"), "3") ", " SERIES(
	PP_REVIEWS("v2") HTTP_CODE("503"),
	"1") ", " SERIES(REVIEWS_RATINGS ", \"grpc_response_status\": \"14\"",
			 "0.5") ", " SERIES(REVIEWS_RATINGS ", \"grpc_response_status\": \"0\"",
					    "1.5") ", " SERIES(OUTSIDE_PP, "2"));
/* TCP: a kernel-path edge to a Service whose backend is outside the mesh, and one edge that
 * opened nothing in the window. */
static const char ans_opened[] =
    VECTOR(SERIES("\"source_canonical_service\": \"productpage\", \"source_canonical_revision\": "
		  "\"v1\", \"destination_canonical_service\": \"unknown\", "
		  "\"destination_service_name\": \"external-db\"",
		  "0.25") ", " SERIES(PP_REVIEWS("v3"), "0"));
static const char ans_sent[] = VECTOR(
    SERIES("\"source_canonical_service\": \"productpage\", \"source_canonical_revision\": \"v1\", "
	   "\"destination_canonical_service\": \"unknown\", \"destination_service_name\": "
	   "\"external-db\"",
	   "100"));
static const char ans_rcvd[] = VECTOR(
    SERIES("\"source_canonical_service\": \"productpage\", \"source_canonical_revision\": \"v1\", "
	   "\"destination_canonical_service\": \"unknown\", \"destination_service_name\": "
	   "\"external-db\"",
	   "28"));
static const char ans_empty[] = VECTOR("");
static const char ans_warn[] =
    "{\"status\": \"success\", \"warnings\": [\"store gateway down: results may be partial\"], "
    "\"data\": {\"resultType\": \"vector\", \"result\": []}}";

/* The JSON graph of <g>, parsed back (caller decrefs). */
static json_t *graph_json(const struct graph *g)
{
	struct strbuf sb;
	json_error_t jerr;
	json_t *root;

	strbuf_init(&sb);
	assert_int_equal(graph_write_json(g, &sb), 0);
	root = json_loads(strbuf_str(&sb), 0, &jerr);
	if (!root)
		fail_msg("graph JSON does not parse: %s\n%s", jerr.text, strbuf_str(&sb));
	strbuf_fini(&sb);
	return root;
}

/* The labels of the edge <s> -> <t> of protocol <proto> in <root>, or NULL. */
static json_t *find_edge(json_t *root, const char *s, const char *t, const char *proto)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(root, "edges"), i, e)
	{
		json_t *l = json_object_get(e, "labels");

		if (!strcmp(json_string_value(json_object_get(e, "source")), s) &&
		    !strcmp(json_string_value(json_object_get(e, "target")), t) &&
		    !strcmp(json_string_value(json_object_get(l, "protocol")), proto))
			return l;
	}
	return NULL;
}

static double label_num(json_t *labels, const char *k)
{
	const char *v = json_string_value(json_object_get(labels, k));

	assert_non_null(v);
	return strtod(v, NULL);
}

static void parse_ok(struct promgraph_acc *acc, enum promgraph_metric m, const char *body)
{
	struct promgraph_err err = {0};

	if (promgraph_parse(acc, m, body, strlen(body), &err))
		fail_msg("parse of the %s answer failed: %s", promgraph_metric_name(m), err.msg);
}

static void build_all(struct graph *g, bool filter_empty)
{
	struct promgraph_acc acc;

	promgraph_acc_init(&acc);
	parse_ok(&acc, PROMGRAPH_REQUESTS, ans_requests);
	parse_ok(&acc, PROMGRAPH_TCP_OPENED, ans_opened);
	parse_ok(&acc, PROMGRAPH_TCP_SENT, ans_sent);
	parse_ok(&acc, PROMGRAPH_TCP_RCVD, ans_rcvd);
	assert_int_equal(promgraph_acc_graph(&acc, filter_empty, "300s", g), 0);
	promgraph_acc_fini(&acc);
}

static void test_promgraph_edges_from_vectors(void **state)
{
	struct strbuf dot;
	struct graph g;
	json_t *root, *l, *nodes;

	build_all(&g, false);
	root = graph_json(&g);
	assert_string_equal(json_string_value(json_object_get(root, "time_horizon")), "300s");
	assert_null(json_object_get(root, "warnings"));
	nodes = json_object_get(root, "nodes");
	assert_int_equal(json_object_size(nodes), 5);
	assert_non_null(json_object_get(nodes, "external-db"));
	assert_non_null(json_object_get(nodes, "unknown"));

	/* Two codes fold into one request edge; the 5xx is a quarter of it. */
	l = find_edge(root, "productpage", "reviews", "http");
	assert_non_null(l);
	assert_true(label_num(l, "qps") > 3.999 && label_num(l, "qps") < 4.001);
	assert_true(label_num(l, "error_rate") > 0.249 && label_num(l, "error_rate") < 0.251);
	assert_string_equal(json_string_value(json_object_get(l, "version")), "v2");
	assert_string_equal(json_string_value(json_object_get(l, "source_version")), "v1");

	/* gRPC: status 14 in a 200 is an error, status 0 is not. */
	l = find_edge(root, "reviews", "ratings", "grpc");
	assert_non_null(l);
	assert_true(label_num(l, "qps") > 1.999 && label_num(l, "qps") < 2.001);
	assert_true(label_num(l, "error_rate") > 0.249 && label_num(l, "error_rate") < 0.251);

	/* Outside the mesh: no source revision, the Service name stands in for the target. */
	l = find_edge(root, "unknown", "productpage", "http");
	assert_non_null(l);
	assert_null(json_object_get(l, "source_version"));
	assert_true(label_num(l, "error_rate") == 0);

	/* A flow edge from three queries: qps from connections, bytes both ways. */
	l = find_edge(root, "productpage", "external-db", "tcp");
	assert_non_null(l);
	assert_true(label_num(l, "qps") > 0.249 && label_num(l, "qps") < 0.251);
	assert_true(label_num(l, "bytes_per_sec") > 127.9 && label_num(l, "bytes_per_sec") < 128.1);
	assert_string_equal(json_string_value(json_object_get(l, "version")), "unknown");

	/* The idle flow edge is there without filter_empty... */
	assert_non_null(find_edge(root, "productpage", "reviews", "tcp"));
	assert_int_equal(json_array_size(json_object_get(root, "edges")), 5);
	json_decref(root);
	/* DOT names the source version, so that parallel edges read apart. */
	strbuf_init(&dot);
	assert_int_equal(graph_write_dot(&g, &dot), 0);
	assert_non_null(strstr(strbuf_str(&dot), "\"reviews\" -> \"ratings\" [label=\"qps: "
						 "2.000000\\nversion: v1\\nsource_version: v2\\n"));
	strbuf_fini(&dot);

	graph_fini(&g);

	/* ...and gone with it, its request sibling kept. */
	build_all(&g, true);
	root = graph_json(&g);
	assert_null(find_edge(root, "productpage", "reviews", "tcp"));
	assert_non_null(find_edge(root, "productpage", "reviews", "http"));
	assert_int_equal(json_array_size(json_object_get(root, "edges")), 4);
	json_decref(root);
	graph_fini(&g);
}

static void test_promgraph_query_text(void **state)
{
	char q[1024];

	assert_int_equal(promgraph_query(PROMGRAPH_REQUESTS, "30s", q, sizeof(q)), 0);
	assert_non_null(strstr(q, "rate(istio_requests_total{reporter=\"source\"}[30s])"));
	assert_non_null(strstr(q, "source_canonical_service=\"unknown\"}[30s]"));
	assert_non_null(strstr(q, "response_code, grpc_response_status"));
	assert_int_equal(promgraph_query(PROMGRAPH_TCP_RCVD, "5m", q, sizeof(q)), 0);
	assert_non_null(strstr(q, "istio_tcp_received_bytes_total{reporter=\"source\"}[5m]"));
	assert_null(strstr(q, "response_code"));
	assert_int_equal(promgraph_query(PROMGRAPH_TCP_SENT, "5m", q, 40), -ENOSPC);
}

/* Each bad answer fails with its kind and a message naming the query and the field. */
static void test_promgraph_bad_answers(void **state)
{
	static const struct {
		const char *body;
		enum promgraph_fail kind;
		int ret;
		const char *needle;
	} cases[] = {
	    {"{\"status\": \"error\", \"errorType\": \"bad_data\", \"error\": \"parse error at "
	     "char 5\"}",
	     PROMGRAPH_API, -EREMOTEIO, "bad_data: parse error at char 5"},
	    {"<html>502 Bad Gateway</html>", PROMGRAPH_MALFORMED, -EBADMSG, "is not JSON"},
	    {"{\"data\": {}}", PROMGRAPH_MALFORMED, -EBADMSG, "no \"status\""},
	    {"{\"status\": \"success\", \"data\": {\"resultType\": \"matrix\", \"result\": []}}",
	     PROMGRAPH_MALFORMED, -EBADMSG, "resultType is \"matrix\""},
	    {VECTOR("{\"metric\": {}, \"value\": [1, 2]}"), PROMGRAPH_MALFORMED, -EBADMSG,
	     "data.result[0]"},
	    {VECTOR("{\"metric\": {}, \"value\": [1, \"12abc\"]}"), PROMGRAPH_MALFORMED, -EBADMSG,
	     "data.result[0]"},
	    {"{\"status\": \"success\", \"warnings\": \"x\", \"data\": {}}", PROMGRAPH_MALFORMED,
	     -EBADMSG, "\"warnings\" is not an array"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct promgraph_err err = {0};
		struct promgraph_acc acc;

		promgraph_acc_init(&acc);
		assert_int_equal(promgraph_parse(&acc, PROMGRAPH_TCP_SENT, cases[i].body,
						 strlen(cases[i].body), &err),
				 cases[i].ret);
		assert_int_equal(err.kind, cases[i].kind);
		if (!strstr(err.msg, cases[i].needle) ||
		    !strstr(err.msg, "istio_tcp_sent_bytes_total"))
			fail_msg("case %zu: message \"%s\" lacks \"%s\" or the query", i, err.msg,
				 cases[i].needle);
		promgraph_acc_fini(&acc);
	}
}

static void test_promgraph_warnings_partial(void **state)
{
	struct promgraph_acc acc;
	struct graph g;
	json_t *root, *w;

	promgraph_acc_init(&acc);
	parse_ok(&acc, PROMGRAPH_REQUESTS, ans_warn);
	parse_ok(&acc, PROMGRAPH_TCP_OPENED, ans_warn); /* the same warning twice: kept once */
	parse_ok(&acc, PROMGRAPH_TCP_SENT, ans_sent);
	assert_int_equal(promgraph_acc_graph(&acc, false, "1m", &g), 0);
	promgraph_acc_fini(&acc);
	root = graph_json(&g);
	w = json_object_get(root, "warnings");
	assert_int_equal(json_array_size(w), 1);
	assert_string_equal(json_string_value(json_array_get(w, 0)),
			    "store gateway down: results may be partial");
	assert_int_equal(json_array_size(json_object_get(root, "edges")), 1);
	json_decref(root);
	graph_fini(&g);
}

/* ---- a Prometheus stand-in on loopback ---- */

enum stub_mode { STUB_GOOD, STUB_500, STUB_GARBAGE, STUB_WARN, STUB_SILENT };

struct stub {
	int lfd;
	uint16_t port;
	pthread_t th;
	_Atomic int stop;
	_Atomic int mode;
	_Atomic unsigned requests;
};

/* The canned answer to the request <req> (its query names the metric). */
static const char *stub_answer(enum stub_mode mode, const char *req, int *status)
{
	*status = 200;
	switch (mode) {
	case STUB_500:
		*status = 500;
		return "{\"status\": \"error\", \"errorType\": \"internal\", \"error\": \"tsdb "
		       "closed\"}";
	case STUB_GARBAGE:
		return "{\"status\": \"succ";
	case STUB_WARN:
		return ans_warn;
	default:
		break;
	}
	if (strstr(req, "istio_requests_total"))
		return ans_requests;
	if (strstr(req, "istio_tcp_connections_opened_total"))
		return ans_opened;
	if (strstr(req, "istio_tcp_sent_bytes_total"))
		return ans_sent;
	if (strstr(req, "istio_tcp_received_bytes_total"))
		return ans_rcvd;
	return ans_empty;
}

static void *stub_main(void *arg)
{
	struct stub *s = arg;

	while (!s->stop) {
		struct pollfd p = {.fd = s->lfd, .events = POLLIN};
		char req[4096], *hdr = NULL;
		size_t got = 0;
		const char *body;
		int fd, status;
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		/* The request line and headers; curl sends no body with a GET. */
		req[0] = '\0';
		while (got < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
			n = read(fd, req + got, sizeof(req) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			req[got] = '\0';
		}
		req[got] = '\0';
		s->requests++;
		if (s->mode == STUB_SILENT) { /* hold the connection, answer nothing */
			while (!s->stop && read(fd, req, sizeof(req)) > 0)
				;
			close(fd);
			continue;
		}
		body = stub_answer(s->mode, req, &status);
		if (asprintf(&hdr,
			     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: "
			     "%zu\r\nConnection: close\r\n\r\n",
			     status, strlen(body)) > 0) {
			assert_true(write(fd, hdr, strlen(hdr)) > 0);
			assert_true(write(fd, body, strlen(body)) > 0);
		}
		free(hdr);
		close(fd);
	}
	return NULL;
}

static void stub_start(struct stub *s)
{
	memset(s, 0, sizeof(*s));
	s->lfd = httpfx_listen_lo(&s->port);
	assert_true(s->lfd >= 0);
	assert_int_equal(pthread_create(&s->th, NULL, stub_main, s), 0);
}

static void stub_stop(struct stub *s)
{
	s->stop = 1;
	pthread_join(s->th, NULL);
	close(s->lfd);
}

static struct promgraph *stub_client(const struct stub *s, unsigned timeout_ms)
{
	char url[64];
	struct promgraph *pg;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s->port);
	pg = promgraph_new(url, timeout_ms);
	assert_non_null(pg);
	return pg;
}

static void test_promgraph_fetch_modes(void **state)
{
	struct promgraph_stats st;
	struct promgraph_err err;
	struct promgraph *pg;
	struct graph g;
	struct stub s;
	json_t *root;

	stub_start(&s);
	pg = stub_client(&s, 2000);

	/* Four queries, one graph: the same as parsing the answers by hand. */
	assert_int_equal(promgraph_fetch(pg, 60000, true, &g, &err), 0);
	assert_int_equal(s.requests, 4);
	root = graph_json(&g);
	assert_string_equal(json_string_value(json_object_get(root, "time_horizon")), "60s");
	assert_int_equal(json_array_size(json_object_get(root, "edges")), 4);
	assert_non_null(find_edge(root, "productpage", "external-db", "tcp"));
	json_decref(root);
	graph_fini(&g);

	s.mode = STUB_WARN;
	assert_int_equal(promgraph_fetch(pg, 1500, false, &g, &err), 0);
	assert_int_equal(g.nwarnings, 1);
	root = graph_json(&g);
	assert_string_equal(json_string_value(json_object_get(root, "time_horizon")), "1500ms");
	json_decref(root);
	graph_fini(&g);

	s.mode = STUB_500;
	assert_int_equal(promgraph_fetch(pg, 60000, false, &g, &err), -EPROTO);
	assert_int_equal(err.kind, PROMGRAPH_HTTP);
	assert_non_null(strstr(err.msg, "HTTP 500: tsdb closed"));
	graph_fini(&g);

	s.mode = STUB_GARBAGE;
	assert_int_equal(promgraph_fetch(pg, 60000, false, &g, &err), -EBADMSG);
	assert_int_equal(err.kind, PROMGRAPH_MALFORMED);
	graph_fini(&g);

	/* Accepted and never answered: the timeout ends it. */
	promgraph_free(pg);
	pg = stub_client(&s, 300);
	s.mode = STUB_SILENT;
	assert_int_equal(promgraph_fetch(pg, 60000, false, &g, &err), -ECONNREFUSED);
	assert_int_equal(err.kind, PROMGRAPH_UNREACHABLE);
	assert_non_null(strstr(err.msg, "unreachable"));
	graph_fini(&g);

	assert_int_equal(promgraph_fetch(pg, 999, false, &g, &err), -EINVAL);
	promgraph_stats(pg, &st);
	assert_int_equal(st.fetches, 2);
	assert_int_equal(st.failures[PROMGRAPH_UNREACHABLE], 1);
	promgraph_free(pg);
	stub_stop(&s);
}

static void test_promgraph_down_counted(void **state)
{
	struct promgraph_stats st;
	struct promgraph_err err;
	struct promgraph *pg;
	struct graph g;
	uint16_t port;
	char url[64];
	int fd;

	/* A port that was just free: nothing listens there once it is closed. */
	fd = httpfx_listen_lo(&port);
	assert_true(fd >= 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	pg = promgraph_new(url, 1000);
	assert_non_null(pg);
	assert_int_equal(promgraph_fetch(pg, 300000, false, &g, &err), -ECONNREFUSED);
	assert_int_equal(err.kind, PROMGRAPH_UNREACHABLE);
	assert_non_null(strstr(err.msg, url));
	graph_fini(&g);
	assert_int_equal(promgraph_fetch(pg, 300000, false, &g, &err), -ECONNREFUSED);
	graph_fini(&g);
	promgraph_stats(pg, &st);
	assert_int_equal(st.fetches, 2);
	assert_int_equal(st.failures[PROMGRAPH_UNREACHABLE], 2);
	assert_int_equal(st.failures[PROMGRAPH_HTTP], 0);
	promgraph_free(pg);

	errno = 0;
	assert_null(promgraph_new("ftp://x", 1000));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_promgraph_edges_from_vectors),
	    cmocka_unit_test(test_promgraph_query_text),
	    cmocka_unit_test(test_promgraph_bad_answers),
	    cmocka_unit_test(test_promgraph_warnings_partial),
	    cmocka_unit_test(test_promgraph_fetch_modes),
	    cmocka_unit_test(test_promgraph_down_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
