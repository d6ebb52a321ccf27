// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for lib/regex (RE2 behind a C interface): whole-string versus partial
 * matches, RE2 syntax errors reported, a pathological pattern that backtracking engines
 * take exponential time on matched at once, and Istio's uriRegexRewrite substitution.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/regex.h"

static struct regex *re(const char *p)
{
	char err[128];
	struct regex *r = regex_new(p, strlen(p), err, sizeof(err));

	assert_non_null(r);
	return r;
}

static void test_regex_full_and_partial(void **state)
{
	struct regex *r = re("/api/v[0-9]+/.*");

	assert_true(regex_full_match(r, "/api/v1/users", 13));
	assert_false(regex_full_match(r, "x/api/v1/users", 14));
	assert_true(regex_partial_match(r, "x/api/v1/users", 14));
	assert_false(regex_full_match(r, "/api/vx/users", 13));
	/* Length-delimited: bytes past <len> are not seen. */
	assert_false(regex_full_match(r, "/api/v1/users", 6));
	regex_free(r);
}

static void test_regex_errors(void **state)
{
	char err[128] = "";

	assert_null(regex_new("a(b", 3, err, sizeof(err)));
	assert_true(strlen(err) > 0);
	/* Backreferences are not RE2 syntax: refused, as Istio's validation refuses them. */
	assert_null(regex_new("(a)\\1", 5, err, sizeof(err)));
	/* A pattern whose program is too large for the bound. */
	assert_null(regex_new("(a{1,100}){1,100}", 17, err, sizeof(err)));
	regex_free(NULL);
}

static void test_regex_linear_time(void **state)
{
	/* (a+)+$ against "aaaa...b" is exponential for backtracking engines. */
	struct regex *r = re("(a+)+$");
	char s[4097];

	memset(s, 'a', sizeof(s) - 2);
	s[sizeof(s) - 2] = 'b';
	s[sizeof(s) - 1] = '\0';
	/* A backtracking engine would not return before tests/run.sh's timeout fails it. */
	assert_false(regex_full_match(r, s, strlen(s)));
	regex_free(r);
}

static void test_regex_replace(void **state)
{
	struct regex *r = re("^/service/([^/]+)(/.*)$");
	char out[64];

	assert_int_equal(
	    regex_replace(r, "/service/foo/v1/api", 19, "\\2/instance/\\1", out, sizeof(out)),
	    strlen("/v1/api/instance/foo"));
	assert_string_equal(out, "/v1/api/instance/foo");
	/* A group the pattern lacks, and an output too small. */
	assert_int_equal(regex_replace(r, "/service/a/b", 12, "\\3", out, sizeof(out)), -1);
	assert_int_equal(regex_replace(r, "/service/foo/v1/api", 19, "\\2\\2\\2", out, 4), -1);
	regex_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_regex_full_and_partial),
	    cmocka_unit_test(test_regex_errors),
	    cmocka_unit_test(test_regex_linear_time),
	    cmocka_unit_test(test_regex_replace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
