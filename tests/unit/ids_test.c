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
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model/ids.h"

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

/* A name longer than weir_wl_info holds comes back truncated from the pins: after a restart
 * the full name must still map to its id (edges keyed by it stay its own). */
static void test_ids_restore_long_name(void **state)
{
	char name[200], other[200];
	struct weir_wl_info info;
	struct weir_svc_info sinfo;
	struct ids ids;
	uint32_t id, sid, oid;
	bool is_new;

	memset(name, 'w', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ids_init(&ids, 100, 100);
	ids_workload(&ids, "default", "first", NULL);
	id = ids_workload(&ids, "default", name, NULL);
	sid = ids_service(&ids, "default", name, NULL);
	ids_fini(&ids);

	/* What the pins hold: the printed names, truncated to the fields. */
	memset(&info, 0, sizeof(info));
	snprintf(info.ns, sizeof(info.ns), "%s", "default");
	memcpy(info.name, name, sizeof(info.name) - 1); /* as snprintf truncates */
	memset(&sinfo, 0, sizeof(sinfo));
	snprintf(sinfo.ns, sizeof(sinfo.ns), "%s", "default");
	memcpy(sinfo.name, name, sizeof(sinfo.name) - 1);

	ids_init(&ids, 100, 100);
	assert_int_equal(ids_restore_wl(&ids, id, &info), 0);
	assert_int_equal(ids_restore_svc(&ids, sid, &sinfo), 0);
	assert_int_equal(ids_find_workload(&ids, "default", name), id);
	assert_int_equal(ids_workload(&ids, "default", name, &is_new), id);
	assert_false(is_new);
	assert_int_equal(ids_find_workload(&ids, "default", name), id);
	assert_int_equal(ids_service(&ids, "default", name, &is_new), sid);
	assert_false(is_new);
	/* Another long name with the same first 127 characters is another workload. */
	memcpy(other, name, sizeof(other));
	other[150] = 'x';
	oid = ids_workload(&ids, "default", other, &is_new);
	assert_true(is_new);
	assert_int_not_equal(oid, id);
	assert_int_equal(ids_workload(&ids, "default", name, NULL), id);
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
	    cmocka_unit_test(test_ids_restore_long_name),
	    cmocka_unit_test(test_ids_exhaustion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
