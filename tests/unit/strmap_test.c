// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for user/strmap.c: put/get/replace/delete, growth past many keys, tombstone
 * churn, and iteration visiting every live key once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/strmap.h"

static void test_strmap_basic(void **state)
{
	struct strmap m;
	void *old;

	strmap_init(&m);
	assert_null(strmap_get(&m, "a"));
	assert_int_equal(strmap_put(&m, "a", (void *)1, &old), 0);
	assert_null(old);
	assert_int_equal(strmap_put(&m, "a", (void *)2, &old), 0);
	assert_ptr_equal(old, (void *)1);
	assert_ptr_equal(strmap_get(&m, "a"), (void *)2);
	assert_int_equal(m.len, 1);
	assert_ptr_equal(strmap_del(&m, "a"), (void *)2);
	assert_null(strmap_get(&m, "a"));
	assert_null(strmap_del(&m, "a"));
	assert_int_equal(m.len, 0);
	strmap_fini(&m, NULL);
}

static void test_strmap_many_and_churn(void **state)
{
	struct strmap m;
	char key[32];
	const char *k;
	void *v;
	size_t i, n;
	int round;

	strmap_init(&m);
	for (i = 1; i <= 5000; i++) {
		snprintf(key, sizeof(key), "key-%zu", i);
		assert_int_equal(strmap_put(&m, key, (void *)(uintptr_t)i, NULL), 0);
	}
	assert_int_equal(m.len, 5000);
	/* Delete and re-add repeatedly: tombstones must not make lookups fail or loop. */
	for (round = 0; round < 20; round++) {
		for (i = 1; i <= 5000; i += 2) {
			snprintf(key, sizeof(key), "key-%zu", i);
			assert_ptr_equal(strmap_del(&m, key), (void *)(uintptr_t)i);
		}
		for (i = 1; i <= 5000; i += 2) {
			snprintf(key, sizeof(key), "key-%zu", i);
			assert_int_equal(strmap_put(&m, key, (void *)(uintptr_t)i, NULL), 0);
		}
	}
	for (i = 1; i <= 5000; i++) {
		snprintf(key, sizeof(key), "key-%zu", i);
		assert_ptr_equal(strmap_get(&m, key), (void *)(uintptr_t)i);
	}
	n = 0;
	for (i = 0; (i = strmap_next(&m, i, &k, &v)) != 0;) {
		assert_ptr_equal(strmap_get(&m, k), v);
		n++;
	}
	assert_int_equal(n, 5000);
	strmap_fini(&m, NULL);
}

static void test_strmap_fini_frees_values(void **state)
{
	struct strmap m;

	strmap_init(&m);
	assert_int_equal(strmap_put(&m, "x", strdup("value"), NULL), 0);
	assert_int_equal(strmap_put(&m, "y", strdup("value"), NULL), 0);
	strmap_fini(&m, free); /* ASan's leak check proves both values went */
	assert_int_equal(m.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strmap_basic),
	    cmocka_unit_test(test_strmap_many_and_churn),
	    cmocka_unit_test(test_strmap_fini_frees_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
