// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the pure builders of user/sync.c: what a Service port becomes in
 * weir_services (ready endpoints only, weights, workload ids, the backend cap, byte
 * orders), and the workload names written to weir_wl_info.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "datapath/sync.h"

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void test_sync_svc_build_backends(void **state)
{
	struct model_pod pods[3] = {
	    {.ns = "default", .name = "r1", .workload = "reviews-v1", .weight = 1},
	    {.ns = "default", .name = "r2", .workload = "reviews-v2", .weight = 3},
	    {.ns = "default", .name = "r3", .workload = "reviews-v3", .weight = 0},
	};
	struct model_endpoint eps[5] = {
	    {.ip = ip4("198.18.1.11"), .port = 9080, .ready = true, .pod = &pods[0]},
	    {.ip = ip4("198.18.1.12"), .port = 9080, .ready = true, .pod = &pods[1]},
	    {.ip = ip4("198.18.1.13"), .port = 9080, .ready = true, .pod = &pods[2]},
	    {.ip = ip4("198.18.1.14"), .port = 9080, .ready = false, .pod = &pods[0]},
	    {.ip = ip4("10.0.0.9"), .port = 81, .ready = true, .pod = NULL},
	};
	struct model_svc_port sp = {.name = "http", .port = 9080, .eps = eps, .neps = 5};
	struct weir_svc *svc = malloc(sizeof(*svc));
	struct ids ids;

	ids_init(&ids, 10, 10);
	ids_workload(&ids, "default", "reviews-v1", NULL);
	ids_workload(&ids, "default", "reviews-v2", NULL);
	assert_int_equal(sync_svc_build(&sp, 42, WEIR_MODE_AGENT, &ids, svc), 0);
	assert_int_equal(svc->id, 42);
	assert_int_equal(svc->mode, WEIR_MODE_AGENT);
	assert_int_equal(svc->count, 4); /* the not-ready endpoint is left out */
	assert_int_equal(svc->backends[0].ip, ip4("198.18.1.11"));
	assert_int_equal(svc->backends[0].port, htons(9080));
	assert_int_equal(svc->backends[0].weight, 1);
	assert_int_equal(svc->backends[0].wl_id, 1);
	assert_int_equal(svc->backends[1].weight, 3);
	assert_int_equal(svc->backends[1].wl_id, 2);
	/* weight 0 is kept (drained, never picked) so that draining is one map update */
	assert_int_equal(svc->backends[2].weight, 0);
	assert_int_equal(svc->backends[2].wl_id, 0); /* reviews-v3 has no id yet */
	/* an endpoint with no Pod behind it weighs 1 and has no workload */
	assert_int_equal(svc->backends[3].ip, ip4("10.0.0.9"));
	assert_int_equal(svc->backends[3].port, htons(81));
	assert_int_equal(svc->backends[3].weight, 1);
	assert_int_equal(svc->backends[3].wl_id, 0);
	assert_int_equal(svc->backends[3].flags, 0);
	ids_fini(&ids);
	free(svc);
}

static void test_sync_svc_build_cap(void **state)
{
	size_t n = WEIR_MAX_BACKENDS + 7, i;
	struct model_endpoint *eps = calloc(n, sizeof(*eps));
	struct model_svc_port sp = {.port = 80, .eps = eps, .neps = n};
	struct weir_svc *svc = malloc(sizeof(*svc));
	struct ids ids;

	ids_init(&ids, 10, 10);
	for (i = 0; i < n; i++) {
		eps[i].ip = htonl(0xc6120000 + (uint32_t)i + 1);
		eps[i].port = 8080;
		eps[i].ready = true;
	}
	assert_int_equal(sync_svc_build(&sp, 1, WEIR_MODE_KERNEL, &ids, svc), 7);
	assert_int_equal(svc->count, WEIR_MAX_BACKENDS);
	ids_fini(&ids);
	free(eps);
	free(svc);
}

static void test_sync_wl_info_build(void **state)
{
	char longname[300];
	struct model_pod pod = {.ns = "bookinfo",
				.workload = "reviews-v2",
				.app = "reviews",
				.version = "v2",
				.sa = "bookinfo-reviews"};
	struct weir_wl_info info;

	sync_wl_info_build(&pod, &info);
	assert_string_equal(info.ns, "bookinfo");
	assert_string_equal(info.name, "reviews-v2");
	assert_string_equal(info.app, "reviews");
	assert_string_equal(info.version, "v2");
	assert_string_equal(info.sa, "bookinfo-reviews");
	/* Over-long names are truncated and still terminated. */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	pod.workload = longname;
	pod.version = NULL;
	sync_wl_info_build(&pod, &info);
	assert_int_equal(strlen(info.name), sizeof(info.name) - 1);
	assert_string_equal(info.version, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sync_svc_build_backends),
	    cmocka_unit_test(test_sync_svc_build_cap),
	    cmocka_unit_test(test_sync_wl_info_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
