// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the bookinfo sample's pure parts (deploy/samples/bookinfo/app): the per-pair
 * call policy Istio's tasks rely on, star colours, the user cookie, the fault knobs and their
 * draw, and the /stats JSON. The app is not in libweir, so its two plain files are included.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../deploy/samples/bookinfo/app/fault.c"
#include "../../deploy/samples/bookinfo/app/role.c"

static void test_bookinfo_call_policy(void **state)
{
	static const struct {
		const char *self, *host;
		const char *target;
		unsigned timeout_ms, attempts;
		const char *soft; /* a prefix of the message, NULL for none */
	} cases[] = {
	    {"productpage", "reviews", "reviews", 3000, 2, "Sorry, product reviews"},
	    {"productpage", "reviews.default.svc.cluster.local", "reviews", 3000, 2, "Sorry"},
	    {"productpage", "details", "details", 3000, 1, "Sorry, product details"},
	    {"productpage", "ratings", "ratings", 1234, 1, NULL},
	    {"reviews", "ratings", "ratings", 10000, 1, "Ratings service is currently"},
	    {"reviews", "ratings.default", "ratings", 10000, 1, "Ratings"},
	    {"reviews", "details", "details", 1234, 1, NULL},
	    {"front", "echo", "echo", 1234, 1, NULL},
	    {"front", "127.0.0.1", "127", 1234, 1, NULL},
	    {"details", "reviews", "reviews", 1234, 1, NULL},
	};
	struct role_call rc;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&rc, 0xa5, sizeof(rc));
		assert_int_equal(role_call_policy(cases[i].self, cases[i].host, 1234, &rc), 0);
		assert_string_equal(rc.target, cases[i].target);
		assert_int_equal(rc.timeout_ms, cases[i].timeout_ms);
		assert_int_equal(rc.attempts, cases[i].attempts);
		if (cases[i].soft) {
			assert_non_null(rc.soft_msg);
			assert_memory_equal(rc.soft_msg, cases[i].soft, strlen(cases[i].soft));
		} else {
			assert_null(rc.soft_msg);
		}
	}
	assert_int_equal(role_call_policy("productpage", "", 1, &rc), -EINVAL);
	assert_int_equal(role_call_policy("productpage", ".x", 1, &rc), -EINVAL);
	assert_int_equal(role_call_policy("productpage", ":80", 1, &rc), -EINVAL);
	assert_int_equal(role_call_policy("productpage",
					  "a-very-long-first-label-that-does-not-fit-in-the-"
					  "target-field-of-the-call.example",
					  1, &rc),
			 -EINVAL);
}

static void test_bookinfo_stars(void **state)
{
	assert_string_equal(role_stars("reviews", "v2"), "black");
	assert_string_equal(role_stars("reviews", "v3"), "red");
	assert_null(role_stars("reviews", "v1"));
	assert_null(role_stars("ratings", "v2"));
}

static void test_bookinfo_cookie(void **state)
{
	static const struct {
		const char *cookie;
		int rc;
		const char *want;
	} cases[] = {
	    {"user=jason", 0, "jason"},
	    {"theme=dark; user=jason; x=1", 0, "jason"},
	    {"theme=dark;user=jason", 0, "jason"},
	    {"user=\"jason\"", 0, "jason"},
	    {"user=jason  ", 0, "jason"},
	    {"superuser=root", -ENOENT, NULL},
	    {"username=jason", -ENOENT, NULL},
	    {"theme=user=jason", -ENOENT, NULL},
	    {"", -ENOENT, NULL},
	    {"user=", -EINVAL, NULL},
	    {"user=\"\"", -EINVAL, NULL},
	    {"user=ja\"son", -EINVAL, NULL},
	    {"user=ja\\son", -EINVAL, NULL},
	    {"user=ja\x01son", -EINVAL, NULL},
	    {"user=1234567890123456789012345678901234567890123456789012345678901234", -EINVAL,
	     NULL},
	};
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(buf, "untouched");
		assert_int_equal(role_cookie_get(cases[i].cookie, "user", buf, sizeof(buf)),
				 cases[i].rc);
		if (cases[i].want)
			assert_string_equal(buf, cases[i].want);
	}
	/* A value that fits the cookie syntax but not the caller's buffer. */
	assert_int_equal(role_cookie_get("user=jason", "user", buf, 5), -EINVAL);
	assert_int_equal(role_cookie_get("user=jason", "user", buf, 6), 0);
	assert_true(role_user_ok("jason"));
	assert_false(role_user_ok(""));
	assert_false(role_user_ok("ja son"));
	assert_false(role_user_ok("ja,son"));
}

static void test_bookinfo_fault_set(void **state)
{
	static const struct {
		enum fault_knob k;
		const char *v;
		int rc;
	} cases[] = {
	    {FAULT_PERCENT, "0", 0},	     {FAULT_PERCENT, "100", 0},
	    {FAULT_PERCENT, "101", -EINVAL}, {FAULT_PERCENT, "-1", -EINVAL},
	    {FAULT_PERCENT, "", -EINVAL},    {FAULT_PERCENT, "5%", -EINVAL},
	    {FAULT_PERCENT, " 5", -EINVAL},  {FAULT_SEED, "0", 0},
	    {FAULT_SEED, "x", -EINVAL},	     {FAULT_FIRST, "3", 0},
	    {FAULT_DELAY, "600000", 0},	     {FAULT_DELAY, "600001", -EINVAL},
	    {FAULT_CODE, "503", 0},	     {FAULT_CODE, "499", -EINVAL},
	    {FAULT_CODE, "600", -EINVAL},
	};
	struct fault f;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fault_init(&f);
		assert_int_equal(fault_set(&f, cases[i].k, cases[i].v), cases[i].rc);
		assert_non_null(fault_knob_range(cases[i].k));
	}
	fault_init(&f);
	assert_int_equal(f.code, 503);
	assert_int_equal(fault_set(&f, FAULT_CODE, "500"), 0);
	assert_int_equal(f.code, 500);
	assert_int_equal(fault_set(&f, FAULT_DELAY, "250"), 0);
	assert_int_equal(f.delay_ms, 250);
}

static void test_bookinfo_fault_decide(void **state)
{
	struct fault a, b;
	int i, fails = 0, differ = 0;

	/* None set: every request is served. */
	fault_init(&a);
	for (i = 0; i < 1000; i++)
		assert_int_equal(fault_decide(&a), 0);
	/* The first N fail, then none. */
	fault_init(&a);
	assert_int_equal(fault_set(&a, FAULT_FIRST, "3"), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(fault_decide(&a), i < 3 ? 503 : 0);
	/* 100 % fails all, with the chosen code. */
	fault_init(&a);
	assert_int_equal(fault_set(&a, FAULT_PERCENT, "100"), 0);
	assert_int_equal(fault_set(&a, FAULT_CODE, "500"), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(fault_decide(&a), 500);
	/* One seed, one sequence, near the share asked for; another seed, another sequence. */
	fault_init(&a);
	fault_init(&b);
	assert_int_equal(fault_set(&a, FAULT_PERCENT, "30"), 0);
	assert_int_equal(fault_set(&a, FAULT_SEED, "42"), 0);
	assert_int_equal(fault_set(&b, FAULT_PERCENT, "30"), 0);
	assert_int_equal(fault_set(&b, FAULT_SEED, "42"), 0);
	for (i = 0; i < 10000; i++) {
		int x = fault_decide(&a);

		assert_int_equal(x, fault_decide(&b));
		fails += x != 0;
	}
	assert_in_range(fails, 2700, 3300);
	fault_init(&a);
	fault_init(&b);
	assert_int_equal(fault_set(&a, FAULT_PERCENT, "50"), 0);
	assert_int_equal(fault_set(&a, FAULT_SEED, "1"), 0);
	assert_int_equal(fault_set(&b, FAULT_PERCENT, "50"), 0);
	assert_int_equal(fault_set(&b, FAULT_SEED, "2"), 0);
	for (i = 0; i < 64; i++)
		differ += fault_decide(&a) != fault_decide(&b);
	assert_true(differ > 0);
}

static void test_bookinfo_stats_json(void **state)
{
	struct stats s = {0};
	json_t *o, *by;

	s.requests = 5;
	s.injected = 2;
	s.abandoned = 1;
	stats_count_status(&s, 200);
	stats_count_status(&s, 200);
	stats_count_status(&s, 503);
	stats_count_status(&s, 42);
	stats_count_status(&s, 600);
	o = stats_json(&s);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "requests")), 5);
	assert_int_equal(json_integer_value(json_object_get(o, "injected")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "abandoned")), 1);
	by = json_object_get(o, "by_status");
	assert_int_equal(json_object_size(by), 3);
	assert_int_equal(json_integer_value(json_object_get(by, "200")), 2);
	assert_int_equal(json_integer_value(json_object_get(by, "503")), 1);
	assert_int_equal(json_integer_value(json_object_get(by, "other")), 2);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bookinfo_call_policy),
	    cmocka_unit_test(test_bookinfo_stars),
	    cmocka_unit_test(test_bookinfo_cookie),
	    cmocka_unit_test(test_bookinfo_fault_set),
	    cmocka_unit_test(test_bookinfo_fault_decide),
	    cmocka_unit_test(test_bookinfo_stats_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
