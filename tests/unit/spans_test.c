// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for user/telemetry/spans.c: the ring drops and counts when full, the Zipkin
 * v2 JSON has the span shape Istio's proxies send, and the exporter against a collector
 * on loopback (a thread here) counts exported spans, error answers and a hang as such.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/strbuf.h"
#include "telemetry/reqstats.h"
#include "telemetry/spans.h"

static void fill(struct spans_span *s, uint64_t id)
{
	memset(s, 0, sizeof(*s));
	s->trace_hi = 0x463ac35c9f6413adull;
	s->trace_lo = 0x48485a3953bb6124ull;
	s->trace128 = true;
	s->id = id;
	s->parent = 0xa2fb4a1d1a96d312ull;
	s->ts_us = 1700000000000000ull;
	s->dur_us = 1500;
	s->remote_ip = htonl(0xc6120105); /* 198.18.1.5 */
	s->remote_port = 9080;
	s->status = 503;
	s->grpc_status = -1;
	s->flags = REQSTATS_F_UF;
	s->error = true;
	s->req_size = 10;
	s->resp_size = 20;
	snprintf(s->name, sizeof(s->name), "details.default.svc.cluster.local:9080/*");
	snprintf(s->local_service, sizeof(s->local_service), "productpage.default");
	snprintf(s->cluster, sizeof(s->cluster),
		 "outbound|9080||details.default.svc.cluster.local");
	snprintf(s->url, sizeof(s->url), "http://details:9080/details/0");
	snprintf(s->canonical_service, sizeof(s->canonical_service), "productpage");
	snprintf(s->canonical_revision, sizeof(s->canonical_revision), "v1");
	snprintf(s->ns, sizeof(s->ns), "default");
	snprintf(s->request_id, sizeof(s->request_id), "8f7c2c9d-1b1e-4b7a-9c8e-1234567890ab");
	snprintf(s->user_agent, sizeof(s->user_agent), "curl/7.88\xff");
	snprintf(s->peer, sizeof(s->peer), "198.18.1.4");
	snprintf(s->method, sizeof(s->method), "GET");
	snprintf(s->protocol, sizeof(s->protocol), "HTTP/1.1");
}

static void test_spans_ring_full(void **state)
{
	struct spans_opts o = {.shards = 2, .ring = 3};
	struct spans *sp = spans_new(&o);
	struct spans_stats st;
	struct spans_span s;

	(void)state;
	assert_non_null(sp);
	fill(&s, 1);
	/* 3 rounds up to 4 slots: the fifth push on shard 0 is dropped, shard 1 unaffected. */
	for (int i = 0; i < 4; i++)
		assert_true(spans_push(spans_shard(sp, 0), &s));
	assert_false(spans_push(spans_shard(sp, 0), &s));
	assert_true(spans_push(spans_shard(sp, 1), &s));
	assert_null(spans_shard(sp, 2));
	spans_stats(sp, &st);
	assert_int_equal(st.dropped_full, 1);
	assert_int_equal(st.queued, 5);
	assert_int_equal(st.capacity, 8);
	assert_false(spans_enabled(sp));
	assert_int_equal(spans_set_collector(sp, "127.0.0.1:9411"), 0);
	assert_true(spans_enabled(sp));
	assert_int_equal(spans_set_collector(sp, ""), 0);
	assert_false(spans_enabled(sp));
	spans_free(sp); /* never started: frees without a thread */
}

static void test_spans_json_shape(void **state)
{
	struct spans_span s[2];
	json_error_t e;
	json_t *arr, *j, *tags;
	char *out = NULL;

	(void)state;
	fill(&s[0], 0x1234);
	fill(&s[1], 0x5678);
	s[1].parent = 0;
	s[1].trace128 = false;
	s[1].error = false;
	s[1].status = 200;
	s[1].flags = 0;
	assert_int_equal(spans_json(s, 2, "sidecar~198.18.1.1~node1", &out), 0);
	arr = json_loads(out, 0, &e);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 2);
	j = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(j, "traceId")),
			    "463ac35c9f6413ad48485a3953bb6124");
	assert_string_equal(json_string_value(json_object_get(j, "id")), "0000000000001234");
	assert_string_equal(json_string_value(json_object_get(j, "parentId")), "a2fb4a1d1a96d312");
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "CLIENT");
	assert_string_equal(json_string_value(json_object_get(j, "name")),
			    "details.default.svc.cluster.local:9080/*");
	assert_int_equal(json_integer_value(json_object_get(j, "timestamp")), 1700000000000000ll);
	assert_int_equal(json_integer_value(json_object_get(j, "duration")), 1500);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "localEndpoint"), "serviceName")),
	    "productpage.default");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "remoteEndpoint"), "ipv4")),
	    "198.18.1.5");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "remoteEndpoint"), "port")),
	    9080);
	tags = json_object_get(j, "tags");
	assert_string_equal(json_string_value(json_object_get(tags, "http.status_code")), "503");
	assert_string_equal(json_string_value(json_object_get(tags, "response_flags")), "UF");
	assert_string_equal(json_string_value(json_object_get(tags, "error")), "true");
	assert_string_equal(json_string_value(json_object_get(tags, "component")), "proxy");
	assert_string_equal(json_string_value(json_object_get(tags, "upstream_cluster")),
			    "outbound|9080||details.default.svc.cluster.local");
	assert_string_equal(json_string_value(json_object_get(tags, "node_id")),
			    "sidecar~198.18.1.1~node1");
	assert_string_equal(json_string_value(json_object_get(tags, "guid:x-request-id")),
			    "8f7c2c9d-1b1e-4b7a-9c8e-1234567890ab");
	assert_string_equal(json_string_value(json_object_get(tags, "user_agent")), "curl/7.88?");
	assert_string_equal(json_string_value(json_object_get(tags, "request_size")), "10");
	assert_string_equal(json_string_value(json_object_get(tags, "istio.canonical_revision")),
			    "v1");
	j = json_array_get(arr, 1);
	assert_null(json_object_get(j, "parentId"));
	assert_string_equal(json_string_value(json_object_get(j, "traceId")), "48485a3953bb6124");
	tags = json_object_get(j, "tags");
	assert_null(json_object_get(tags, "error"));
	assert_string_equal(json_string_value(json_object_get(tags, "response_flags")), "-");
	json_decref(arr);
	free(out);
}

/* ---- a collector on loopback ---- */

struct collector {
	int lfd;
	int status; /* answer with it; 0: never answer (a hang) */
	int posts;
	size_t spans; /* spans in the 2xx-answered bodies */
	pthread_t th;
};

static void *collector_run(void *arg)
{
	struct collector *c = arg;

	for (;;) {
		char buf[1 << 16];
		size_t got = 0;
		int fd = accept(c->lfd, NULL, NULL);

		if (fd < 0)
			return NULL;
		/* Read until the body (Content-Length) is complete or the peer gives up. */
		for (;;) {
			ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
			char *hend, *cl;

			if (r <= 0)
				break;
			got += (size_t)r;
			buf[got] = 0;
			hend = strstr(buf, "\r\n\r\n");
			cl = strcasestr(buf, "content-length:");
			if (hend && cl &&
			    got - (size_t)(hend + 4 - buf) >= strtoul(cl + 15, NULL, 10))
				break;
		}
		c->posts++;
		if (c->status) {
			char *body = strstr(buf, "\r\n\r\n");
			json_t *arr = body ? json_loads(body + 4, 0, NULL) : NULL;
			char resp[128];

			if (c->status / 100 == 2 && arr)
				c->spans += json_array_size(arr);
			json_decref(arr);
			snprintf(resp, sizeof(resp),
				 "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
				 c->status);
			if (write(fd, resp, strlen(resp)) < 0)
				break;
		} else {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			poll(&p, 1, 3000); /* hang until the client gives up (bounded) */
		}
		close(fd);
	}
	return NULL;
}

static int collector_start(struct collector *c, int status, char *addr, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);

	memset(c, 0, sizeof(*c));
	c->status = status;
	c->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(c->lfd, 16) ||
	    getsockname(c->lfd, (struct sockaddr *)&sa, &sl))
		return -1;
	snprintf(addr, len, "127.0.0.1:%u", ntohs(sa.sin_port));
	return pthread_create(&c->th, NULL, collector_run, c);
}

static void collector_stop(struct collector *c)
{
	shutdown(c->lfd, SHUT_RDWR);
	close(c->lfd);
	pthread_join(c->th, NULL);
}

/* Pushes <n> spans and frees the exporter (its final drain posts them), then the stats. */
static void export_n(const char *addr, unsigned timeout_ms, int n, struct spans_stats *st)
{
	struct spans_opts o = {.shards = 2,
			       .ring = 64,
			       .batch = 4,
			       .flush_ms = 20,
			       .connect_timeout_ms = 500,
			       .timeout_ms = timeout_ms,
			       .node_id = "node1"};
	struct spans *sp = spans_new(&o);
	struct spans_span s;

	assert_non_null(sp);
	assert_int_equal(spans_set_collector(sp, addr), 0);
	assert_int_equal(spans_start(sp), 0);
	for (int i = 0; i < n; i++) {
		fill(&s, (uint64_t)i + 1);
		assert_true(spans_push(spans_shard(sp, (unsigned)i % 2), &s));
	}
	/* Until every span has an outcome (bounded: 5 s). */
	for (int tries = 0; tries < 250; tries++) {
		spans_stats(sp, st);
		if (st->exported + st->dropped_error + st->dropped_timeout >= (uint64_t)n)
			break;
		usleep(20 * 1000);
	}
	spans_free(sp);
}

static void test_spans_export_ok(void **state)
{
	struct collector c;
	struct spans_stats st;
	char addr[32];

	(void)state;
	assert_int_equal(collector_start(&c, 202, addr, sizeof(addr)), 0);
	export_n(addr, 2000, 10, &st);
	collector_stop(&c);
	assert_int_equal(st.exported, 10);
	assert_int_equal(c.spans, 10);
	assert_true(c.posts >= 3); /* batches of at most 4 */
	assert_int_equal(st.dropped_error + st.dropped_timeout + st.dropped_full, 0);
}

static void test_spans_export_error(void **state)
{
	struct collector c;
	struct spans_stats st;
	char addr[32];
	struct spans_opts o = {.shards = 1, .flush_ms = 20, .timeout_ms = 2000};
	struct spans *sp;
	struct spans_span s;
	int tries = 0;

	(void)state;
	assert_int_equal(collector_start(&c, 500, addr, sizeof(addr)), 0);
	sp = spans_new(&o);
	assert_non_null(sp);
	assert_int_equal(spans_set_collector(sp, addr), 0);
	assert_int_equal(spans_start(sp), 0);
	fill(&s, 1);
	for (int i = 0; i < 3; i++)
		assert_true(spans_push(spans_shard(sp, 0), &s));
	do {
		usleep(20 * 1000);
		spans_stats(sp, &st);
	} while (st.dropped_error < 3 && ++tries < 200);
	assert_int_equal(st.dropped_error, 3);
	assert_int_equal(st.exported, 0);
	{
		struct strbuf sb;

		strbuf_init(&sb);
		assert_int_equal(spans_write_metrics(sp, &sb), 0);
		assert_non_null(
		    strstr(strbuf_str(&sb),
			   "weir_trace_spans_total{outcome=\"dropped_collector_error\"} 3\n"));
		assert_non_null(
		    strstr(strbuf_str(&sb), "weir_trace_spans_total{outcome=\"exported\"} 0\n"));
		strbuf_fini(&sb);
	}
	spans_free(sp);
	collector_stop(&c);
}

static void test_spans_export_hang(void **state)
{
	struct collector c;
	struct spans_stats st;
	char addr[32];
	struct spans_opts o = {.shards = 1, .flush_ms = 20, .timeout_ms = 300};
	struct spans *sp;
	struct spans_span s;
	int tries = 0;

	(void)state;
	assert_int_equal(collector_start(&c, 0, addr, sizeof(addr)), 0);
	sp = spans_new(&o);
	assert_non_null(sp);
	assert_int_equal(spans_set_collector(sp, addr), 0);
	assert_int_equal(spans_start(sp), 0);
	fill(&s, 1);
	assert_true(spans_push(spans_shard(sp, 0), &s));
	assert_true(spans_push(spans_shard(sp, 0), &s));
	do {
		usleep(20 * 1000);
		spans_stats(sp, &st);
	} while (st.dropped_timeout < 2 && ++tries < 200);
	assert_int_equal(st.dropped_timeout, 2);
	assert_int_equal(st.exported + st.dropped_error, 0);
	spans_free(sp);
	collector_stop(&c);
}

static void test_spans_no_collector(void **state)
{
	struct spans_stats st;

	(void)state;
	/* A port nothing listens on: refused, an error, counted (not a timeout). */
	export_n("127.0.0.1:1", 500, 3, &st);
	assert_int_equal(st.dropped_error, 3);
	assert_int_equal(st.exported, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spans_ring_full),   cmocka_unit_test(test_spans_json_shape),
	    cmocka_unit_test(test_spans_export_ok),   cmocka_unit_test(test_spans_export_error),
	    cmocka_unit_test(test_spans_export_hang), cmocka_unit_test(test_spans_no_collector),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
