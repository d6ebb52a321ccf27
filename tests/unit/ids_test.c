// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for user/ids.c: ids are allocated once, stay stable, never collide with ids
 * restored from pins, and run out cleanly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ids.h"

static void test_ids_stable_and_distinct(void **state)
{
	struct ids ids;
	bool is_new;
	uint32_t a, b, a2, s;

	ids_init(&ids, 100, 100);
	a = ids_workload(&ids, "default", "reviews-v1", &is_new);
	assert_true(is_new);
	assert_int_equal(a, 1);
	b = ids_workload(&ids, "default", "reviews-v2", &is_new);
	assert_true(is_new);
	assert_int_not_equal(a, b);
	a2 = ids_workload(&ids, "default", "reviews-v1", &is_new);
	assert_false(is_new);
	assert_int_equal(a, a2);
	/* Same name, other namespace: another workload. */
	assert_int_not_equal(ids_workload(&ids, "prod", "reviews-v1", NULL), a);
	/* Services have their own id space. */
	s = ids_service(&ids, "default", "reviews", &is_new);
	assert_true(is_new);
	assert_int_equal(s, 1);
	assert_int_equal(ids_find_service(&ids, "default", "reviews"), s);
	assert_int_equal(ids_find_workload(&ids, "default", "nope"), 0);
	ids_fini(&ids);
}

static void test_ids_restore_keeps_ids(void **state)
{
	struct weir_wl_info info;
	struct ids ids;
	uint32_t id;

	ids_init(&ids, 100, 100);
	memset(&info, 0, sizeof(info));
	strcpy(info.ns, "default");
	strcpy(info.name, "ratings-v1");
	assert_int_equal(ids_restore_wl(&ids, 7, &info), 0);
	assert_int_equal(ids_workload(&ids, "default", "ratings-v1", NULL), 7);
	/* A new workload never takes a restored id. */
	id = ids_workload(&ids, "default", "details-v1", NULL);
	assert_true(id > 7);
	assert_int_equal(ids_restore_wl(&ids, 0, &info), -EINVAL);
	ids_fini(&ids);
}

static void test_ids_exhaustion(void **state)
{
	struct ids ids;

	ids_init(&ids, 2, 2);
	assert_int_equal(ids_workload(&ids, "a", "1", NULL), 1);
	assert_int_equal(ids_workload(&ids, "a", "2", NULL), 2);
	assert_int_equal(ids_workload(&ids, "a", "3", NULL), 0);
	/* Existing ones still resolve. */
	assert_int_equal(ids_workload(&ids, "a", "1", NULL), 1);
	ids_fini(&ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ids_stable_and_distinct),
	    cmocka_unit_test(test_ids_restore_keeps_ids),
	    cmocka_unit_test(test_ids_exhaustion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
