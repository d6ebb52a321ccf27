// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the HTTP servers: a real evhttp on 127.0.0.1 with ephemeral ports, its
 * event loop on a thread, and real requests over TCP sockets from the test: content types,
 * JSON that parses, 400/404/405 answers, readiness flips, agent routes, and garbage bytes
 * that must not keep the server from answering the next request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "admin/admin.h"

/* ---- the agent side, as plain data ---- */

static atomic_bool agent_ready = true;
static atomic_int edges_calls;

static int t_edges(void *ctx, struct telemetry_row **rows, size_t *n)
{
	static const uint32_t pairs[][3] = {{1, 2, 10}, {0, 1, 0}};
	size_t i;

	atomic_fetch_add(&edges_calls, 1);
	*rows = calloc(2, sizeof(**rows));
	if (!*rows)
		return -ENOMEM;
	for (i = 0; i < 2; i++) {
		(*rows)[i].key.src_wl = pairs[i][0];
		(*rows)[i].key.dst_wl = pairs[i][1];
		(*rows)[i].key.svc_id = pairs[i][2];
		(*rows)[i].key.dport = 9080;
		(*rows)[i].key.proto = IPPROTO_TCP;
		(*rows)[i].val.conns_opened = 5;
		(*rows)[i].val.bytes_sent = 100;
	}
	*n = 2;
	return 0;
}

static int t_wl_info(void *ctx, uint32_t id, struct weir_wl_info *out)
{
	if (id != 1 && id != 2)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	strcpy(out->ns, "default");
	strcpy(out->name, id == 1 ? "productpage-v1" : "reviews-v1");
	strcpy(out->app, id == 1 ? "productpage" : "reviews");
	strcpy(out->version, "v1");
	return 0;
}

static int t_svc_info(void *ctx, uint32_t id, struct weir_svc_info *out)
{
	if (id != 10)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	strcpy(out->ns, "default");
	strcpy(out->name, "reviews");
	return 0;
}

static int t_reasons(void *ctx, uint64_t counts[WEIR_REASON_SLOTS])
{
	counts[WEIR_REASON_SLOT(WEIR_HOOK_CONNECT4, WEIR_R_LB_KERNEL)] = 9;
	return 0;
}

static bool t_ready(void *ctx, const char **why_not)
{
	if (atomic_load(&agent_ready))
		return true;
	*why_not = "config not loaded yet";
	return false;
}

static int t_status(void *ctx, struct strbuf *out)
{
	return strbuf_puts(out, "{\"pods\": 3}");
}

static int t_extra(void *ctx, struct strbuf *out)
{
	struct metrics_label l = {"kind", "Pod"};

	metrics_family(out, "weir_test_objects", METRICS_GAUGE, "Objects in the test store.");
	return metrics_sample(out, "weir_test_objects", &l, 1, 7);
}

static const struct admin_ops ops = {
    .edges = t_edges,
    .wl_info = t_wl_info,
    .svc_info = t_svc_info,
    .reasons = t_reasons,
    .ready = t_ready,
    .status_json = t_status,
    .extra_metrics = t_extra,
};

/* An agent route: echoes parameter "x", or 400 without it. */
static int t_route_echo(struct admin_call *call, void *arg)
{
	const char *x = admin_call_param(call, "x");

	if (!x)
		return admin_call_error(call, 400, "missing parameter x");
	strbuf_printf(call->body, "{\"x\": \"%s\", \"arg\": \"%s\"}\n", x, (const char *)arg);
	return 200;
}

/* ---- the server under test ---- */

static struct event_base *base;
static struct admin *adm;
static struct reqstats *reqs;
static pthread_t loop_thread;
static int port[ADMIN_MAX];

static void *loop_main(void *arg)
{
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static int setup(void **state)
{
	struct admin_opts o = {.metrics_addr = "127.0.0.1:0",
			       .health_addr = "127.0.0.1:0",
			       .admin_addr = "127.0.0.1:0",
			       .sample_interval_ms = 100};
	int i;

	if (evthread_use_pthreads())
		return -1; /* loopbreak from the test thread needs libevent's locking */
	base = event_base_new();
	if (!base)
		return -1;
	reqs = reqstats_new(base, NULL);
	if (!reqs)
		return -1;
	o.reqstats = reqs;
	adm = admin_new(base, &o, &ops, NULL);
	if (!adm)
		return -1;
	if (admin_route(adm, "/echo", t_route_echo, "tel"))
		return -1;
	for (i = 0; i < ADMIN_MAX; i++) {
		port[i] = admin_port(adm, i);
		if (port[i] <= 0)
			return -1;
	}
	return pthread_create(&loop_thread, NULL, loop_main, NULL) ? -1 : 0;
}

static int teardown(void **state)
{
	event_base_loopbreak(base);
	pthread_join(loop_thread, NULL);
	admin_free(adm);
	reqstats_free(reqs);
	event_base_free(base);
	return 0;
}

/* ---- a small HTTP/1.1 client over a plain socket ---- */

struct resp {
	int status; /* 0: the server closed without an answer */
	char ctype[128];
	char allow[64];
	char *body; /* malloc'd, NUL-terminated */
	size_t body_len;
	long clen; /* Content-Length, -1 when absent */
};

static void resp_free(struct resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Copies header <name>'s value from <head> into <dst>. */
static void header(const char *head, const char *name, char *dst, size_t size)
{
	const char *p = head;
	size_t n = strlen(name);

	dst[0] = '\0';
	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(dst, size, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
			return;
		}
	}
}

/* Sends <req> (<len> bytes) to 127.0.0.1:<p> and reads the answer until the server closes. */
static void raw(int p, const char *req, size_t len, struct resp *r)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(p)};
	struct timeval tv = {5, 0};
	struct strbuf sb;
	char buf[4096], cl[32];
	const char *end;
	ssize_t n;
	int fd;

	memset(r, 0, sizeof(*r));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	strbuf_init(&sb);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		strbuf_append(&sb, buf, n);
	close(fd);
	r->clen = -1;
	r->body = strdup("");
	if (sscanf(strbuf_str(&sb), "HTTP/1.%*d %d", &r->status) != 1) {
		r->status = 0;
		strbuf_fini(&sb);
		return;
	}
	end = strstr(strbuf_str(&sb), "\r\n\r\n");
	assert_non_null(end);
	header(strbuf_str(&sb), "Content-Type", r->ctype, sizeof(r->ctype));
	header(strbuf_str(&sb), "Allow", r->allow, sizeof(r->allow));
	header(strbuf_str(&sb), "Content-Length", cl, sizeof(cl));
	if (cl[0])
		r->clen = atol(cl);
	free(r->body);
	r->body = strdup(end + 4);
	r->body_len = strlen(r->body);
	strbuf_fini(&sb);
}

static void get(int p, const char *method, const char *target, struct resp *r)
{
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", method,
			 target);

	raw(p, req, n, r);
}

static json_t *parse(const struct resp *r)
{
	json_error_t jerr;
	json_t *j = json_loads(r->body, 0, &jerr);

	if (!j)
		fail_msg("invalid JSON (%s): %s", jerr.text, r->body);
	return j;
}

/* ---- tests ---- */

static void test_admin_metrics(void **state)
{
	static const char *const paths[] = {"/metrics", "/stats/prometheus"};
	struct resp r;
	size_t i;

	for (i = 0; i < 2; i++) {
		get(port[ADMIN_METRICS], "GET", paths[i], &r);
		assert_int_equal(r.status, 200);
		assert_true(!strncmp(r.ctype, "text/plain; version=0.0.4", 25));
		assert_non_null(
		    strstr(r.body, "istio_tcp_connections_opened_total{reporter=\"source\""));
		assert_non_null(
		    strstr(r.body, "destination_service=\"reviews.default.svc.cluster.local\""));
		assert_non_null(strstr(r.body, "weir_datapath_reasons_total{hook=\"connect4\","
					       "reason=\"lb_kernel\"} 9\n"));
		assert_non_null(strstr(r.body, "weir_test_objects{kind=\"Pod\"} 7\n"));
		assert_non_null(strstr(r.body, "# TYPE weir_telemetry_samples_total counter\n"));
		assert_int_equal(r.clen, (long)r.body_len);
		resp_free(&r);
	}
}

static void test_admin_graph(void **state)
{
	struct resp r;
	json_t *j;

	get(port[ADMIN_METRICS], "GET", "/graph", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "application/json");
	j = parse(&r);
	assert_non_null(json_object_get(json_object_get(j, "nodes"), "productpage"));
	assert_non_null(json_object_get(json_object_get(j, "nodes"), "unknown"));
	assert_int_equal(json_array_size(json_object_get(j, "edges")), 2);
	json_decref(j);
	resp_free(&r);

	get(port[ADMIN_METRICS], "GET", "/graph?time_horizon=1h30m&filter_empty=false", &r);
	assert_int_equal(r.status, 200);
	json_decref(parse(&r));
	resp_free(&r);

	/* The counters never move here, so with filter_empty nothing is left. */
	get(port[ADMIN_METRICS], "GET", "/graph?time_horizon=30s&filter_empty=true", &r);
	assert_int_equal(r.status, 200);
	j = parse(&r);
	assert_int_equal(json_array_size(json_object_get(j, "edges")), 0);
	assert_int_equal(json_object_size(json_object_get(j, "nodes")), 0);
	json_decref(j);
	resp_free(&r);

	get(port[ADMIN_METRICS], "GET", "/dotviz?time_horizon=5m", &r);
	assert_int_equal(r.status, 200);
	assert_true(!strncmp(r.ctype, "text/vnd.graphviz", 17));
	assert_true(!strncmp(r.body, "digraph", 7));
	assert_non_null(strstr(r.body, "\"productpage\" -> \"reviews\""));
	resp_free(&r);
}

/* A request recorded by a "worker" (this thread) reaches /metrics and /graph. */
static void test_admin_requests(void **state)
{
	struct reqstats_req q = {.src_wl = 1,
				 .dst_wl = 2,
				 .svc_id = 10,
				 .proto = REQSTATS_GRPC,
				 .response_code = 200,
				 .grpc_status = 14,
				 .duration_us = 3000,
				 .req_msgs = 1,
				 .resp_msgs = 2};
	struct resp r;
	json_t *j, *e;
	size_t i, found = 0;

	reqstats_record(reqstats_shard(reqs, 0), &q);
	reqstats_flush(reqstats_shard(reqs, 0));

	get(port[ADMIN_METRICS], "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "istio_requests_total{reporter=\"source\","
				       "source_workload=\"productpage-v1\""));
	assert_non_null(strstr(r.body, "request_protocol=\"grpc\",response_code=\"200\","
				       "grpc_response_status=\"14\",response_flags=\"-\""));
	assert_non_null(strstr(r.body, "connection_security_policy=\"unknown\",le=\"5\"} 1\n"));
	assert_non_null(strstr(r.body, "connection_security_policy=\"unknown\"} 2\n"));
	assert_non_null(strstr(r.body, "\nweir_request_series 1\n"));
	resp_free(&r);

	get(port[ADMIN_METRICS], "GET", "/graph", &r);
	assert_int_equal(r.status, 200);
	j = parse(&r);
	json_array_foreach(json_object_get(j, "edges"), i, e)
	{
		json_t *l = json_object_get(e, "labels");

		if (!json_object_get(l, "error_rate"))
			continue;
		found++;
		assert_string_equal(json_string_value(json_object_get(l, "protocol")), "grpc");
		assert_string_equal(json_string_value(json_object_get(e, "source")), "productpage");
	}
	assert_int_equal(found, 1);
	json_decref(j);
	resp_free(&r);
}

static void test_admin_bad_requests(void **state)
{
	static const struct {
		const char *method, *target;
		int status;
		const char *says; /* the body names what was wrong */
	} cases[] = {
	    {"GET", "/graph?time_horizon=5", 400, "time_horizon"},
	    {"GET", "/graph?time_horizon=bogus", 400, "time_horizon"},
	    {"GET", "/dotviz?time_horizon=-1s", 400, "time_horizon"},
	    {"GET", "/graph?filter_empty=maybe", 400, "filter_empty"},
	    {"GET", "/nope", 404, "/nope"},
	    {"GET", "/metrics/", 404, "no such endpoint"},
	    {"POST", "/metrics", 405, "GET and HEAD"},
	    {"DELETE", "/graph", 405, "GET and HEAD"},
	    {"OPTIONS", "/graph", 405, "GET and HEAD"},
	};
	struct resp r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		get(port[ADMIN_METRICS], cases[i].method, cases[i].target, &r);
		if (r.status != cases[i].status || !strstr(r.body, cases[i].says))
			fail_msg("%s %s: %d \"%s\", want %d naming %s", cases[i].method,
				 cases[i].target, r.status, r.body, cases[i].status, cases[i].says);
		assert_true(!strncmp(r.ctype, "text/plain", 10));
		if (r.status == 405)
			assert_string_equal(r.allow, "GET, HEAD");
		resp_free(&r);
	}

	/* HEAD: the headers of a GET, no body. */
	get(port[ADMIN_METRICS], "HEAD", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	assert_true(r.clen > 1000); /* the length a GET would have had */
	resp_free(&r);
}

static void test_admin_garbage(void **state)
{
	static const char junk[] = "\x00\x01\x02\xff garbage \r\n\r\n";
	char *big;
	struct resp r;
	size_t n = 40000;

	raw(port[ADMIN_METRICS], junk, sizeof(junk) - 1, &r);
	assert_true(r.status == 0 || r.status == 400);
	resp_free(&r);
	raw(port[ADMIN_METRICS], "GET /metrics HTTP/9.9\r\n\r\n", 25, &r);
	assert_true(r.status == 0 || r.status >= 400);
	resp_free(&r);

	/* Headers past the limit are refused, not buffered without end. */
	big = malloc(n + 64);
	assert_non_null(big);
	memcpy(big, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
	memset(big + 30, 'a', n);
	memcpy(big + 30 + n, "\r\n\r\n", 4);
	raw(port[ADMIN_METRICS], big, n + 34, &r);
	assert_true(r.status == 0 || r.status >= 400);
	resp_free(&r);
	free(big);

	/* A half request then a close. */
	raw(port[ADMIN_METRICS], "GET /met", 8, &r);
	resp_free(&r);

	get(port[ADMIN_METRICS], "GET", "/healthz/ready", &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
}

static void test_admin_health(void **state)
{
	struct resp r;

	get(port[ADMIN_HEALTH], "GET", "/healthz/ready", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ready\n");
	resp_free(&r);

	atomic_store(&agent_ready, false);
	get(port[ADMIN_HEALTH], "GET", "/healthz/ready", &r);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "not ready: config not loaded yet\n");
	resp_free(&r);
	get(port[ADMIN_METRICS], "GET", "/healthz/ready", &r);
	assert_int_equal(r.status, 503);
	resp_free(&r);
	get(port[ADMIN_ADMIN], "GET", "/status", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"ready\": false"));
	resp_free(&r);
	atomic_store(&agent_ready, true);

	/* The health server serves health only. */
	get(port[ADMIN_HEALTH], "GET", "/metrics", &r);
	assert_int_equal(r.status, 404);
	resp_free(&r);
}

static void test_admin_admin_routes(void **state)
{
	struct resp r;
	json_t *j, *e;

	get(port[ADMIN_ADMIN], "GET", "/status", &r);
	assert_int_equal(r.status, 200);
	j = parse(&r);
	assert_true(json_is_true(json_object_get(j, "ready")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "agent"), "pods")),
			 3);
	/* The sampler ran at least its first sample at admin_new(). */
	assert_true(
	    json_integer_value(json_object_get(json_object_get(j, "telemetry"), "samples")) >= 1);
	json_decref(j);
	resp_free(&r);

	get(port[ADMIN_ADMIN], "GET", "/edges?time_horizon=1m", &r);
	assert_int_equal(r.status, 200);
	j = parse(&r);
	assert_int_equal(json_array_size(json_object_get(j, "edges")), 2);
	e = json_array_get(json_object_get(j, "edges"), 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(e, "source"), "workload")),
	    "productpage-v1");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(e, "service"), "name")), "reviews");
	assert_int_equal(json_integer_value(json_object_get(e, "conns_opened")), 5);
	assert_int_equal(json_integer_value(json_object_get(j, "time_horizon_ms")), 60000);
	json_decref(j);
	resp_free(&r);

	get(port[ADMIN_ADMIN], "GET", "/echo?x=hello%20world", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"x\": \"hello world\", \"arg\": \"tel\"}\n");
	resp_free(&r);
	get(port[ADMIN_ADMIN], "GET", "/echo", &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body, "missing parameter x\n");
	resp_free(&r);
	get(port[ADMIN_ADMIN], "GET", "/", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"/echo\""));
	resp_free(&r);

	/* Agent routes live on the localhost admin server only. */
	get(port[ADMIN_METRICS], "GET", "/echo?x=1", &r);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	get(port[ADMIN_METRICS], "GET", "/status", &r);
	assert_int_equal(r.status, 404);
	resp_free(&r);
}

static void test_admin_new_errors(void **state)
{
	struct event_base *b = event_base_new();
	struct admin_opts o = {.metrics_addr = "127.0.0.1:0", .health_addr = "", .admin_addr = ""};
	struct admin_ops no_edges = {0};
	struct admin *a;
	char busy[64];

	assert_non_null(b);
	/* Only one server on: the others report -ENOENT. */
	a = admin_new(b, &o, &ops, NULL);
	assert_non_null(a);
	assert_true(admin_port(a, ADMIN_METRICS) > 0);
	assert_int_equal(admin_port(a, ADMIN_HEALTH), -ENOENT);
	assert_int_equal(admin_port(a, ADMIN_ADMIN), -ENOENT);
	assert_int_equal(admin_route(a, "/x", t_route_echo, NULL), 0);
	assert_int_equal(admin_route(a, "/x", t_route_echo, NULL), -EEXIST);
	assert_int_equal(admin_route(a, "x", t_route_echo, NULL), -EINVAL);
	admin_free(a);

	o.metrics_addr = "127.0.0.1";
	errno = 0;
	assert_null(admin_new(b, &o, &ops, NULL));
	assert_int_equal(errno, EINVAL);

	/* A port in use (the fixture's metrics server) fails with the bind error. */
	snprintf(busy, sizeof(busy), "127.0.0.1:%d", port[ADMIN_METRICS]);
	o.metrics_addr = busy;
	errno = 0;
	assert_null(admin_new(b, &o, &ops, NULL));
	assert_int_equal(errno, EADDRINUSE);

	o.metrics_addr = "127.0.0.1:0";
	errno = 0;
	assert_null(admin_new(b, &o, &no_edges, NULL));
	assert_int_equal(errno, EINVAL);
	admin_free(NULL);
	event_base_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_admin_metrics),      cmocka_unit_test(test_admin_graph),
	    cmocka_unit_test(test_admin_bad_requests), cmocka_unit_test(test_admin_garbage),
	    cmocka_unit_test(test_admin_health),       cmocka_unit_test(test_admin_admin_routes),
	    cmocka_unit_test(test_admin_new_errors),   cmocka_unit_test(test_admin_requests),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
