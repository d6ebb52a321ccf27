// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel's build of weir/decide.h: the production skeleton is loaded (every program
 * through the verifier of this kernel, maps unpinned so nothing on the machine is
 * touched, no cgroup, no netns) with the test-only program weir_lb_probe switched on, and
 * the shared pick table of tests/lib/lbcases.c runs through lb_pick_rnd() by
 * BPF_PROG_TEST_RUN on weir_services entries. The unit test runs the same table in user
 * space, so a rule that drifts in either build fails here or there.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <weir/config.h>
#include <weir/decide.h>

#include "weir.skel.h"
#include "../lib/lbcases.h"

static struct {
	struct weir *skel;
	int probe_fd; /* weir_lb_probe */
	int svc_fd;   /* weir_services */
	const char *skip;
	char error[256];
} T = {.probe_fd = -1, .svc_fd = -1};

static int group_setup(void **state)
{
	struct bpf_map *map;
	int err;

	if (geteuid() != 0) {
		T.skip = "loading BPF programs needs root";
		return 0;
	}
	T.skel = weir__open();
	if (!T.skel) {
		snprintf(T.error, sizeof(T.error), "weir__open: %s", strerror(errno));
		return 0;
	}
	/* Maps pinned by name would land in /sys/fs/bpf, maybe on the running agent's: not
	 * here. Unpinned maps live and die with this process. */
	bpf_object__for_each_map(map, T.skel->obj) bpf_map__set_pin_path(map, NULL);
	bpf_program__set_autoload(T.skel->progs.weir_lb_probe, true);
	err = weir__load(T.skel);
	if (err) {
		snprintf(T.error, sizeof(T.error), "weir__load: %s (verifier log above)",
			 strerror(-err));
		return 0;
	}
	T.probe_fd = bpf_program__fd(T.skel->progs.weir_lb_probe);
	T.svc_fd = bpf_map__fd(T.skel->maps.weir_services);
	return 0;
}

static int group_teardown(void **state)
{
	weir__destroy(T.skel);
	return 0;
}

static void need_setup(void)
{
	if (T.skip) {
		print_message("skip: %s\n", T.skip);
		skip();
	}
	if (T.error[0])
		fail_msg("setup failed: %s", T.error);
	assert_true(T.probe_fd >= 0);
}

/* Runs weir_lb_probe on entry <key> with <rnd>; returns its return value. */
static int probe_run(const struct weir_svc_key *key, uint32_t rnd)
{
	struct weir_lb_probe ctx = {.key = *key, .rnd = rnd};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	int err = bpf_prog_test_run_opts(T.probe_fd, &opts);

	if (err)
		fail_msg("BPF_PROG_TEST_RUN of weir_lb_probe: %s", strerror(errno));
	return (int)opts.retval;
}

/* Every case of the shared table, picked by the kernel. */
static void test_decide_kernel_pick_table(void **state)
{
	struct weir_svc_key key = {
	    .vip = 0x010013c6, .port = 0x5000, .proto = 6}; /* 198.19.0.1:80 */
	struct weir_svc *svc = malloc(sizeof(*svc));
	size_t i;

	need_setup();
	assert_non_null(svc);
	for (i = 0; i < lbcases_len; i++) {
		const struct lbcase *c = &lbcases[i];
		int got;

		lbcase_svc(c, svc);
		if (bpf_map_update_elem(T.svc_fd, &key, svc, BPF_ANY))
			fail_msg("case '%s': writing weir_services: %s", c->name, strerror(errno));
		got = probe_run(&key, c->rnd);
		if (got != c->want)
			fail_msg("case '%s': kernel picks %d, want %d", c->name, got, c->want);
		/* And decide_svc_pick() in user space agrees on neighbouring numbers. */
		for (uint32_t k = 1; k < 16; k++) {
			uint32_t rnd = c->rnd + k * 104729;

			got = probe_run(&key, rnd);
			if (got != decide_svc_pick(svc, rnd))
				fail_msg("case '%s' rnd %u: kernel %d, user space %d", c->name, rnd,
					 got, decide_svc_pick(svc, rnd));
		}
	}
	free(svc);
}

/* A key weir_services does not hold is told apart from "no backend". */
static void test_decide_kernel_no_entry(void **state)
{
	struct weir_svc_key key = {.vip = 0x630013c6, .port = 0x5000, .proto = 6}; /* 198.19.0.99 */

	need_setup();
	assert_int_equal(probe_run(&key, 0), -WEIR_R_NOT_SERVICE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decide_kernel_pick_table),
	    cmocka_unit_test(test_decide_kernel_no_entry),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
