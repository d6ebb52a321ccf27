// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for telemetry: the duration parser (table-driven), rates over a horizon with
 * exact numbers, the fallbacks (no history, short history, new edges, counter resets),
 * the coarse tier over an hour of samples, the memory bound, and the libevent timer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <event2/event.h>

#include "telemetry/telemetry.h"

/* cmocka 1.1.5 compares only floats; rates want doubles. */
#define assert_near(a, b, eps)                                                                     \
	do {                                                                                       \
		double a_ = (a), b_ = (b);                                                         \
		if (a_ - b_ > (eps) || b_ - a_ > (eps))                                            \
			fail_msg("%s = %.9g, want %.9g", #a, a_, b_);                              \
	} while (0)

static void test_telemetry_parse_duration(void **state)
{
	static const struct {
		const char *in;
		int err;
		uint64_t ms;
	} cases[] = {
	    {"500ms", 0, 500},
	    {"30s", 0, 30000},
	    {"5m", 0, 300000},
	    {"1h", 0, 3600000},
	    {"1h30m", 0, 5400000},
	    {"1h0m0s", 0, 3600000},
	    {"2d", 0, 172800000},
	    {"1w", 0, 604800000},
	    {"1y", 0, 31536000000ULL},
	    {"1m30s500ms", 0, 90500},
	    {"0", 0, 0},
	    {"0s", 0, 0},
	    {"1.5h", 0, 5400000},
	    {"1m30.5s", 0, 90500},
	    {".5s", 0, 500},
	    {"", -EINVAL, 0},
	    {"5", -EINVAL, 0},
	    {"5x", -EINVAL, 0},
	    {"-1s", -EINVAL, 0},
	    {"+1s", -EINVAL, 0},
	    {"1s1h", -EINVAL, 0}, /* units must come largest first */
	    {"5m5m", -EINVAL, 0}, /* each unit once */
	    {"1ms1s", -EINVAL, 0},
	    {"1h 30m", -EINVAL, 0},
	    {"s", -EINVAL, 0},
	    {".s", -EINVAL, 0},
	    {"5mss", -EINVAL, 0},
	    {"99999999999999999999y", -EINVAL, 0},
	    {"200000000y", -EINVAL, 0}, /* past 2^62 ms */
	    {"1us", -EINVAL, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ms = 12345;
		int err = telemetry_parse_duration(cases[i].in, &ms);

		if (err != cases[i].err)
			fail_msg("\"%s\": err %d want %d", cases[i].in, err, cases[i].err);
		if (!err && ms != cases[i].ms)
			fail_msg("\"%s\": %llu ms want %llu", cases[i].in, (unsigned long long)ms,
				 (unsigned long long)cases[i].ms);
	}
	assert_int_equal(telemetry_parse_duration(NULL, &(uint64_t){0}), -EINVAL);
}

static struct telemetry_row row(uint32_t src, uint32_t dst, uint64_t opened, uint64_t bytes)
{
	struct telemetry_row r;

	memset(&r, 0, sizeof(r));
	r.key.src_wl = src;
	r.key.dst_wl = dst;
	r.key.svc_id = 7;
	r.key.dport = 9080;
	r.key.proto = IPPROTO_TCP;
	r.val.conns_opened = opened;
	r.val.bytes_sent = bytes;
	r.val.bytes_rcvd = bytes;
	return r;
}

static void test_telemetry_rate_exact(void **state)
{
	struct telemetry *t = telemetry_new(NULL, NULL, NULL, NULL);
	struct telemetry_row r0 = row(1, 2, 0, 0), r;
	struct telemetry_rate rate;

	assert_non_null(t);
	/* No history: zeros, and no division by zero. */
	r = row(1, 2, 10, 10);
	telemetry_rate(t, &r, 1000, 300000, &rate);
	assert_true(rate.conns_per_sec == 0 && rate.seconds == 0);
	telemetry_rate(NULL, &r, 1000, 300000, &rate);
	assert_true(rate.conns_per_sec == 0);

	assert_int_equal(telemetry_sample_rows(t, 100000, &r0, 1), 0);
	r = row(1, 2, 10, 50);
	assert_int_equal(telemetry_sample_rows(t, 105000, &r, 1), 0);
	assert_int_equal(telemetry_samples(t), 2);
	assert_int_equal(telemetry_tracked(t), 1);

	/* Now 110 s, 20 opened: the 5 s horizon compares with the sample at 105 s. */
	r = row(1, 2, 20, 100);
	telemetry_rate(t, &r, 110000, 5000, &rate);
	assert_near(rate.conns_per_sec, 2.0, 1e-9);
	assert_near(rate.bytes_per_sec, 20.0, 1e-9); /* (200-100)/5 */
	assert_near(rate.seconds, 5.0, 1e-9);
	/* 7 s: newest sample at or before 103 s is the one at 100 s. */
	telemetry_rate(t, &r, 110000, 7000, &rate);
	assert_near(rate.conns_per_sec, 2.0, 1e-9);
	assert_near(rate.seconds, 10.0, 1e-9);
	/* 5 m is longer than the history: the oldest sample (100 s) is the base. */
	telemetry_rate(t, &r, 110000, 300000, &rate);
	assert_near(rate.conns_per_sec, 2.0, 1e-9);
	assert_near(rate.seconds, 10.0, 1e-9);

	/* An edge never sampled was absent, so zero, at the base sample. */
	r = row(3, 4, 30, 0);
	telemetry_rate(t, &r, 110000, 10000, &rate);
	assert_near(rate.conns_per_sec, 3.0, 1e-9);

	/* A counter below its sampled value was reset: the new value is all delta. */
	r = row(1, 2, 4, 0);
	telemetry_rate(t, &r, 110000, 5000, &rate);
	assert_near(rate.conns_per_sec, 0.8, 1e-9);

	/* Samples out of order are refused and change nothing. */
	assert_int_equal(telemetry_sample_rows(t, 105000, &r, 1), -EINVAL);
	assert_int_equal(telemetry_samples(t), 2);
	telemetry_free(t);
}

static void test_telemetry_edge_leaves_map(void **state)
{
	struct telemetry_opts o = {.interval_ms = 1000};
	struct telemetry *t = telemetry_new(NULL, &o, NULL, NULL);
	struct telemetry_row rows[2] = {row(1, 2, 100, 0), row(5, 6, 50, 0)}, r;
	struct telemetry_rate rate;
	uint64_t now = 1000;
	int i;

	assert_non_null(t);
	assert_int_equal(telemetry_sample_rows(t, now, rows, 2), 0);
	/* Edge 5->6 vanishes (its map entry was deleted) and comes back from zero. */
	assert_int_equal(telemetry_sample_rows(t, now += 1000, rows, 1), 0);
	r = row(5, 6, 5, 0);
	telemetry_rate(t, &r, now + 1000, 1000, &rate);
	assert_near(rate.conns_per_sec, 5.0, 1e-9);
	/* Gone past retention (64 x 12 periods): dropped from the history. */
	for (i = 0; i < 64 * 12 + 2; i++)
		assert_int_equal(telemetry_sample_rows(t, now += 1000, rows, 1), 0);
	assert_int_equal(telemetry_tracked(t), 1);
	telemetry_free(t);
}

static void test_telemetry_duplicate_keys_sum(void **state)
{
	struct telemetry *t = telemetry_new(NULL, NULL, NULL, NULL);
	struct telemetry_row rows[2] = {row(1, 2, 10, 0), row(1, 2, 20, 0)}, r;
	struct telemetry_rate rate;

	assert_int_equal(telemetry_sample_rows(t, 1000, rows, 2), 0);
	assert_int_equal(telemetry_tracked(t), 1);
	r = row(1, 2, 40, 0);
	telemetry_rate(t, &r, 2000, 1000, &rate);
	assert_near(rate.conns_per_sec, 10.0, 1e-9);
	telemetry_free(t);
}

/* 1000 samples 5 s apart (83 minutes) at one connection per second. */
static void test_telemetry_coarse_tier(void **state)
{
	struct telemetry *t = telemetry_new(NULL, NULL, NULL, NULL);
	struct telemetry_rate rate;
	struct telemetry_row r;
	uint64_t now = 0;
	int i;

	for (i = 0; i < 1000; i++) {
		now = 1000000 + (uint64_t)i * 5000;
		r = row(1, 2, (uint64_t)i * 5, 0);
		assert_int_equal(telemetry_sample_rows(t, now, &r, 1), 0);
	}
	now += 5000;
	r = row(1, 2, 5000, 0);
	/* 5 m: inside the fine tier, exact. */
	telemetry_rate(t, &r, now, 300000, &rate);
	assert_near(rate.seconds, 300.0, 1e-9);
	assert_near(rate.conns_per_sec, 1.0, 1e-9);
	/* 1 h: from the coarse tier, at most one coarse step (60 s) further back. */
	telemetry_rate(t, &r, now, 3600000, &rate);
	assert_true(rate.seconds >= 3600.0 && rate.seconds <= 3660.0);
	assert_near(rate.conns_per_sec, 1.0, 1e-9);
	/* 3 h: the oldest coarse sample, about 64 minutes back. */
	telemetry_rate(t, &r, now, 3 * 3600000, &rate);
	assert_true(rate.seconds >= 63 * 60.0 && rate.seconds <= 65 * 60.0);
	assert_near(rate.conns_per_sec, 1.0, 1e-9);
	telemetry_free(t);
}

static void test_telemetry_max_edges(void **state)
{
	struct telemetry_opts o = {.max_edges = 2};
	struct telemetry *t = telemetry_new(NULL, &o, NULL, NULL);
	struct telemetry_row rows[3] = {row(1, 2, 1, 0), row(2, 3, 1, 0), row(3, 4, 1, 0)};

	assert_int_equal(telemetry_sample_rows(t, 1000, rows, 3), 0);
	assert_int_equal(telemetry_tracked(t), 2);
	assert_int_equal(telemetry_untracked(t), 1);
	assert_int_equal(telemetry_sample_rows(t, 2000, rows, 3), 0);
	assert_int_equal(telemetry_tracked(t), 2);
	assert_int_equal(telemetry_untracked(t), 2);
	/* New edges that sort before the tracked ones do not push past the bound. */
	rows[0] = row(0, 1, 1, 0);
	rows[1] = row(0, 2, 1, 0);
	assert_int_equal(telemetry_sample_rows(t, 3000, rows, 3), 0);
	assert_int_equal(telemetry_tracked(t), 2);
	assert_int_equal(telemetry_untracked(t), 5);
	telemetry_free(t);
}

struct timer_ctx {
	int calls;
	struct event_base *base;
};

static int timer_edges(void *ctx, struct telemetry_row **rows, size_t *n)
{
	struct timer_ctx *c = ctx;

	c->calls++;
	*rows = calloc(1, sizeof(**rows));
	if (!*rows)
		return -ENOMEM;
	**rows = row(1, 2, (uint64_t)c->calls * 10, 0);
	*n = 1;
	return 0;
}

static void test_telemetry_timer(void **state)
{
	struct timer_ctx c = {0};
	struct telemetry_opts o = {.interval_ms = 20};
	struct timeval stop = {0, 150000};
	struct telemetry *t;

	c.base = event_base_new();
	assert_non_null(c.base);
	t = telemetry_new(c.base, &o, timer_edges, &c);
	assert_non_null(t);
	assert_int_equal(c.calls, 1); /* the first sample is taken at once */
	event_base_loopexit(c.base, &stop);
	event_base_dispatch(c.base);
	/* 150 ms at 20 ms: about 7 more; allow a slow, loaded machine its jitter. */
	assert_in_range(c.calls, 3, 9);
	assert_int_equal(telemetry_samples(t), (uint64_t)c.calls);
	telemetry_free(t);
	event_base_free(c.base);

	errno = 0;
	assert_null(telemetry_new(c.base, &o, NULL, NULL)); /* a timer needs a source */
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_telemetry_parse_duration),
	    cmocka_unit_test(test_telemetry_rate_exact),
	    cmocka_unit_test(test_telemetry_edge_leaves_map),
	    cmocka_unit_test(test_telemetry_duplicate_keys_sum),
	    cmocka_unit_test(test_telemetry_coarse_tier),
	    cmocka_unit_test(test_telemetry_max_edges),
	    cmocka_unit_test(test_telemetry_timer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
