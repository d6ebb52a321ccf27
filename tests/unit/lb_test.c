// SPDX-License-Identifier: Apache-2.0
/*
 * Tests of lb.c: table-driven picks (weights, readiness, drained Pods, endpoints without a
 * Pod, the modulo and cumulative-scan semantics shared with the BPF pick) and a bounded
 * distribution check over many picks from lb_rand().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model/lb.h"

/* Pods with weights 0..3 (0 drains). */
static const struct model_pod pods[4] = {
    {.name = "w0", .weight = 0, .ready = true},
    {.name = "w1", .weight = 1, .ready = true},
    {.name = "w2", .weight = 2, .ready = true},
    {.name = "w3", .weight = 3, .ready = true},
};

#define EP(ip_, ready_, pod_)                                                                      \
	{                                                                                          \
		.ip = (ip_), .port = 8080, .ready = (ready_), .pod = (pod_)                        \
	}

/* Endpoint sets the cases pick from. */
static const struct model_endpoint set_one[] = {EP(1, true, NULL)};
static const struct model_endpoint set_not_ready[] = {EP(1, false, NULL)};
static const struct model_endpoint set_drained[] = {EP(1, true, &pods[0])};
static const struct model_endpoint set_none_usable[] = {EP(1, true, &pods[0]),
							EP(2, false, &pods[3]), EP(3, false, NULL)};
/* weights 1, 2, 3 -> total 6: rnd % 6 in [0] -> 0, [1, 2] -> 1, [3, 5] -> 2 */
static const struct model_endpoint set_w123[] = {EP(1, true, &pods[1]), EP(2, true, &pods[2]),
						 EP(3, true, &pods[3])};
/* drained, not ready, no Pod (weight 1), weight 2: total 3 over the last two */
static const struct model_endpoint set_mixed[] = {EP(1, true, &pods[0]), EP(2, false, &pods[3]),
						  EP(3, true, NULL), EP(4, true, &pods[2])};
static const struct model_endpoint set_drained_last[] = {EP(1, true, NULL), EP(2, true, &pods[0])};

#define SET(a) (a), sizeof(a) / sizeof((a)[0])

struct lb_case {
	const char *name;
	const struct model_endpoint *eps;
	size_t neps;
	uint32_t rnd;
	int want; /* index into eps, -1: NULL */
};

static const struct lb_case lb_cases[] = {
    {"empty", NULL, 0, 7, -1},
    {"single without pod weighs 1", SET(set_one), 12345, 0},
    {"single not ready", SET(set_not_ready), 0, -1},
    {"single drained", SET(set_drained), 0, -1},
    {"all drained or not ready", SET(set_none_usable), 5, -1},
    {"w123 r0", SET(set_w123), 0, 0},
    {"w123 r1", SET(set_w123), 1, 1},
    {"w123 r2", SET(set_w123), 2, 1},
    {"w123 r3", SET(set_w123), 3, 2},
    {"w123 r5", SET(set_w123), 5, 2},
    {"w123 modulo r6", SET(set_w123), 6, 0},
    {"w123 modulo max", SET(set_w123), UINT32_MAX, 2}, /* 4294967295 % 6 == 3 */
    {"mixed r0", SET(set_mixed), 0, 2},
    {"mixed r1", SET(set_mixed), 1, 3},
    {"mixed r2", SET(set_mixed), 2, 3},
    {"mixed r3 wraps", SET(set_mixed), 3, 2},
    {"drained last never picked", SET(set_drained_last), 1, 0},
};

static void test_lb_pick_table(void **state)
{
	for (size_t i = 0; i < sizeof(lb_cases) / sizeof(lb_cases[0]); i++) {
		const struct lb_case *tc = &lb_cases[i];
		struct model_svc_port sp = {
		    .name = "", .port = 80, .eps = tc->eps, .neps = tc->neps};
		const struct model_endpoint *ep = lb_pick(&sp, tc->rnd);
		int got = ep ? (int)(ep - tc->eps) : -1;

		if (got != tc->want)
			fail_msg("case '%s': picked %d, want %d", tc->name, got, tc->want);
	}
	assert_null(lb_pick(NULL, 0));
}

static void test_lb_weight(void **state)
{
	struct model_endpoint ep = EP(1, true, NULL);

	assert_int_equal(lb_weight(&ep), 1);
	ep.pod = &pods[3];
	assert_int_equal(lb_weight(&ep), 3);
	ep.ready = false;
	assert_int_equal(lb_weight(&ep), 0);
	ep.ready = true;
	ep.pod = &pods[0];
	assert_int_equal(lb_weight(&ep), 0);
}

/*
 * 60000 picks over weights 1, 2, 3 plus a drained and a not-ready endpoint: the drained and
 * not ready get nothing, the others within 5 % of their share (the binomial standard
 * deviation is under 1 %: a correct pick fails with negligible probability, a wrong
 * weighting fails for sure).
 */
static void test_lb_distribution(void **state)
{
	const struct model_endpoint eps[5] = {
	    EP(1, true, &pods[1]),  EP(2, true, &pods[0]), EP(3, true, &pods[2]),
	    EP(4, false, &pods[3]), EP(5, true, &pods[3]),
	};
	const unsigned want[5] = {10000, 0, 20000, 0, 30000};
	struct model_svc_port sp = {.name = "", .port = 80, .eps = eps, .neps = 5};
	unsigned got[5] = {0};
	uint64_t seed = 0x1234abcd5678ef01ULL;

	for (int i = 0; i < 60000; i++) {
		const struct model_endpoint *ep = lb_pick(&sp, lb_rand(&seed));

		assert_non_null(ep);
		got[ep - eps]++;
	}
	print_message("lb distribution: %u %u %u %u %u\n", got[0], got[1], got[2], got[3], got[4]);
	for (int i = 0; i < 5; i++) {
		unsigned tol = want[i] / 20;

		assert_in_range(got[i], want[i] - tol, want[i] + tol);
	}
}

/* lb_rand: zero seed is usable and consecutive outputs differ. */
static void test_lb_rand(void **state)
{
	uint64_t s = 0;
	uint32_t a = lb_rand(&s), b = lb_rand(&s);
	unsigned ones = 0;

	assert_true(s != 0);
	assert_true(a != b);
	for (int i = 0; i < 1000; i++)
		ones += __builtin_popcount(lb_rand(&s));
	/* 32000 bits, half of them ones within a few percent */
	assert_in_range(ones, 15000, 17000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lb_pick_table),
	    cmocka_unit_test(test_lb_weight),
	    cmocka_unit_test(test_lb_distribution),
	    cmocka_unit_test(test_lb_rand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
