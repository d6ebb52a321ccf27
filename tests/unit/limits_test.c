// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the per-cluster state the proxy's workers share (proxy/limits.c):
 * circuit breaker admission, queueing and overflow; the retry budget; token buckets with
 * whole refills; outlier ejection by consecutive errors, its growing duration and the
 * maxEjectionPercent cap; active health verdicts. Times are passed in, so nothing sleeps.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model/model.h"
#include "proxy/limits.h"

static void test_limits_circuit_breaker(void **state)
{
	struct px_limits *l = limits_new();
	struct route_conn_pool cp = {.max_connections = 2, .http1_max_pending = 1};
	struct route_conn_pool h2 = {.http2_max_requests = 1};

	/* HTTP/1.1: two in flight, one queued, then overflow. */
	assert_int_equal(limits_cb_enter(l, "c", &cp, false), LIMITS_CB_OK);
	assert_int_equal(limits_cb_enter(l, "c", &cp, false), LIMITS_CB_OK);
	assert_int_equal(limits_cb_enter(l, "c", &cp, false), LIMITS_CB_QUEUE);
	assert_int_equal(limits_cb_enter(l, "c", &cp, false), LIMITS_CB_OVERFLOW);
	/* The queued one waits until one in flight ends. */
	assert_int_equal(limits_cb_promote(l, "c", &cp, false), LIMITS_CB_QUEUE);
	limits_cb_leave(l, "c", true);
	assert_int_equal(limits_cb_promote(l, "c", &cp, false), LIMITS_CB_OK);
	/* Another cluster is counted apart. */
	assert_int_equal(limits_cb_enter(l, "other", &cp, false), LIMITS_CB_OK);
	/* HTTP/2: http2MaxRequests, no queue. */
	assert_int_equal(limits_cb_enter(l, "h2", &h2, true), LIMITS_CB_OK);
	assert_int_equal(limits_cb_enter(l, "h2", &h2, true), LIMITS_CB_OVERFLOW);
	limits_cb_leave(l, "h2", true);
	assert_int_equal(limits_cb_enter(l, "h2", &h2, true), LIMITS_CB_OK);
	limits_free(l);
}

static void test_limits_retry_budget(void **state)
{
	struct px_limits *l = limits_new();
	struct route_conn_pool cp = {.max_retries = 2};
	struct route_conn_pool none = {0};

	assert_true(limits_retry_enter(l, "c", &cp));
	assert_true(limits_retry_enter(l, "c", &cp));
	assert_false(limits_retry_enter(l, "c", &cp));
	limits_retry_leave(l, "c");
	assert_true(limits_retry_enter(l, "c", &cp));
	/* No maxRetries: no limit. */
	for (int i = 0; i < 100; i++)
		assert_true(limits_retry_enter(l, "free", &none));
	limits_free(l);
}

static void test_limits_token_bucket(void **state)
{
	struct px_limits *l = limits_new();
	struct route_ratelimit rl = {
	    .enabled = true, .tokens = 3, .fill_tokens = 2, .fill_interval_ms = 1000};
	uint32_t left, reset;

	assert_true(limits_rl_take(l, "b", &rl, 10000, &left, &reset));
	assert_int_equal(left, 2);
	assert_true(limits_rl_take(l, "b", &rl, 10100, &left, &reset));
	assert_true(limits_rl_take(l, "b", &rl, 10200, &left, &reset));
	assert_int_equal(left, 0);
	assert_false(limits_rl_take(l, "b", &rl, 10300, &left, &reset));
	assert_int_equal(reset, 1); /* the next fill at 11000 */
	/* One whole fill (2 tokens) at 11000, not a trickle before it. */
	assert_false(limits_rl_take(l, "b", &rl, 10999, &left, &reset));
	assert_true(limits_rl_take(l, "b", &rl, 11000, &left, &reset));
	assert_true(limits_rl_take(l, "b", &rl, 11001, &left, &reset));
	assert_false(limits_rl_take(l, "b", &rl, 11002, &left, &reset));
	/* A long pause refills to the bucket's size, no more. */
	assert_true(limits_rl_take(l, "b", &rl, 60000, &left, &reset));
	assert_int_equal(left, 2);
	limits_free(l);
}

static void test_limits_outlier(void **state)
{
	struct px_limits *l = limits_new();
	struct route_outlier od = {.enabled = true,
				   .consecutive_5xx = 3,
				   .base_ejection_ms = 1000,
				   .max_ejection_percent = 50};
	uint32_t a = inet_addr("10.0.0.1"), b = inet_addr("10.0.0.2");
	uint16_t p = htons(80);

	/* Two 5xx, a 200 (resets the run), then three 5xx: ejected for 1 s. */
	limits_od_report(l, "c", a, p, 503, &od, 4, 0);
	limits_od_report(l, "c", a, p, 500, &od, 4, 0);
	limits_od_report(l, "c", a, p, 200, &od, 4, 0);
	limits_od_report(l, "c", a, p, 503, &od, 4, 0);
	limits_od_report(l, "c", a, p, 503, &od, 4, 0);
	assert_false(limits_od_ejected(l, "c", a, p, 1));
	limits_od_report(l, "c", a, p, 0, &od, 4, 10); /* a connect failure counts too */
	assert_true(limits_od_ejected(l, "c", a, p, 20));
	assert_int_equal(limits_od_count(l, 20), 1);
	assert_false(limits_od_ejected(l, "c", a, p, 1011));
	/* The second ejection lasts twice as long. */
	for (int i = 0; i < 3; i++)
		limits_od_report(l, "c", a, p, 502, &od, 4, 2000);
	assert_true(limits_od_ejected(l, "c", a, p, 3999));
	assert_false(limits_od_ejected(l, "c", a, p, 4001));
	/* maxEjectionPercent 50 of 2 endpoints: with a out, b stays in. */
	for (int i = 0; i < 3; i++)
		limits_od_report(l, "d", a, p, 503, &od, 2, 5000);
	for (int i = 0; i < 3; i++)
		limits_od_report(l, "d", b, p, 503, &od, 2, 5000);
	assert_true(limits_od_ejected(l, "d", a, p, 5001));
	assert_false(limits_od_ejected(l, "d", b, p, 5001));
	/* Off: nothing counted. */
	od.enabled = false;
	for (int i = 0; i < 10; i++)
		limits_od_report(l, "e", a, p, 503, &od, 2, 0);
	assert_false(limits_od_ejected(l, "e", a, p, 1));
	limits_free(l);
}

static unsigned seen;

static void count_cb(uint32_t ip, uint16_t port, void *arg)
{
	seen++;
}

static void test_limits_health(void **state)
{
	struct px_limits *l = limits_new();
	uint32_t a = inet_addr("10.0.0.1");
	uint16_t p = htons(80);

	limits_hc_set(l, "c", a, p, false);
	assert_true(limits_od_ejected(l, "c", a, p, 0));
	seen = 0;
	assert_int_equal(limits_od_foreach(l, 0, count_cb, NULL), 1);
	assert_int_equal(seen, 1);
	limits_hc_set(l, "c", a, p, true);
	assert_false(limits_od_ejected(l, "c", a, p, 0));
	assert_int_equal(limits_od_foreach(l, 0, count_cb, NULL), 0);
	limits_free(l);
}

/* Every pick of the proxy skips what outlier detection or health checks took out. */
static void test_limits_balancer_skips(void **state)
{
	struct px_limits *l = limits_new();
	struct model_pod pods[2] = {{.weight = 1, .ready = true}, {.weight = 1, .ready = true}};
	struct model_endpoint eps[2] = {
	    {.ip = inet_addr("10.0.0.1"), .port = 80, .ready = true, .pod = &pods[0]},
	    {.ip = inet_addr("10.0.0.2"), .port = 80, .ready = true, .pod = &pods[1]}};
	const struct model_endpoint *const pe[2] = {&eps[0], &eps[1]};
	struct route_cluster c = {.name = "c", .eps = pe, .neps = 2};
	struct balancer b;
	size_t idx;

	balancer_init(&b, 1);
	/* Health checks only (no outlier detection): a failing endpoint is never picked. */
	c.policy.health.enabled = true;
	limits_hc_set(l, "c", eps[1].ip, htons(80), false);
	for (int i = 0; i < 50; i++) {
		struct balancer_req br = {.gen = 1};

		limits_balancer_req(l, &c, &br);
		assert_int_equal(balancer_pick(&b, &c, &br, &idx), 0);
		assert_int_equal(idx, 0);
	}
	/* Neither policy: nothing is consulted, both are picked. */
	c.policy.health.enabled = false;
	{
		unsigned seen1 = 0;

		for (int i = 0; i < 50; i++) {
			struct balancer_req br = {.gen = 1};

			limits_balancer_req(l, &c, &br);
			assert_null(br.is_ejected);
			assert_int_equal(balancer_pick(&b, &c, &br, &idx), 0);
			seen1 += idx == 1;
		}
		assert_true(seen1 > 0);
	}
	balancer_fini(&b);
	limits_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limits_circuit_breaker),
	    cmocka_unit_test(test_limits_retry_budget),
	    cmocka_unit_test(test_limits_token_bucket),
	    cmocka_unit_test(test_limits_outlier),
	    cmocka_unit_test(test_limits_health),
	    cmocka_unit_test(test_limits_balancer_skips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
