// SPDX-License-Identifier: Apache-2.0
/*
 * Tests of weir/decide.h in its user-space builds: the shared pick table (tests/lib/
 * lbcases.c) through decide_svc_pick() (what weirctl predicts with) and through the
 * agent's lb_pick() over the same backends as model endpoints, the agent's pick agreeing
 * with the kernel entry sync_svc_build() writes for them, and the health/drain and
 * connect4 path rules. tests/bpf/decide_test.c runs the same table in the kernel.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <weir/decide.h>

#include "datapath/sync.h"
#include "model/ids.h"
#include "model/lb.h"
#include "../lib/lbcases.h"

/* Endpoints of one case as the agent's model holds them: an endpoint per backend, its
 * Pod carrying the weight, readiness standing for WEIR_BE_UNHEALTHY. */
struct agent_set {
	struct model_pod pods[WEIR_MAX_BACKENDS];
	struct model_endpoint eps[WEIR_MAX_BACKENDS];
	struct model_svc_port sp;
};

static void agent_set_build(const struct lbcase *c, const struct weir_svc *svc, struct agent_set *a)
{
	uint32_t i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < c->count && i < WEIR_MAX_BACKENDS; i++) {
		struct lbcase_be b = lbcase_backend(c, i);

		a->pods[i].ns = "default";
		a->pods[i].name = "p";
		a->pods[i].weight = b.weight;
		a->pods[i].ready = !(b.flags & WEIR_BE_UNHEALTHY);
		a->eps[i].ip = svc->backends[i].ip;
		a->eps[i].port = 8080;
		a->eps[i].ready = a->pods[i].ready;
		a->eps[i].pod = &a->pods[i];
	}
	a->sp.name = "";
	a->sp.port = 80;
	a->sp.eps = a->eps;
	a->sp.neps = i;
}

/* The table through decide_svc_pick() over a weir_svc: weirctl's build of the rule. */
static void test_decide_svc_pick_table(void **state)
{
	struct weir_svc *svc = malloc(sizeof(*svc));
	size_t i;

	assert_non_null(svc);
	for (i = 0; i < lbcases_len; i++) {
		const struct lbcase *c = &lbcases[i];
		int got;

		lbcase_svc(c, svc);
		got = decide_svc_pick(svc, c->rnd);
		if (got != c->want)
			fail_msg("case '%s': decide_svc_pick %d, want %d", c->name, got, c->want);
	}
	free(svc);
}

/* The table through the agent's lb_pick() over model endpoints. */
static void test_decide_agent_pick_table(void **state)
{
	struct weir_svc *svc = malloc(sizeof(*svc));
	struct agent_set *a = malloc(sizeof(*a));
	size_t i, n = 0;

	assert_non_null(svc);
	assert_non_null(a);
	for (i = 0; i < lbcases_len; i++) {
		const struct lbcase *c = &lbcases[i];
		const struct model_endpoint *ep;
		int got;

		if (c->kernel_only)
			continue;
		lbcase_svc(c, svc);
		agent_set_build(c, svc, a);
		ep = lb_pick(&a->sp, c->rnd);
		got = ep ? (int)(ep - a->eps) : -WEIR_R_NO_BACKEND;
		if (got != c->want)
			fail_msg("case '%s': lb_pick %d, want %d", c->name, got, c->want);
		n++;
	}
	assert_true(n > 20); /* the table was walked, not skipped */
	free(a);
	free(svc);
}

/*
 * The agent's pick over model endpoints and the kernel rule over the entry sync writes
 * for them land on the same address for the same random number, although sync leaves the
 * not-ready endpoints out (indices shift, cumulative weights do not).
 */
static void test_decide_sync_agrees(void **state)
{
	struct weir_svc *svc = malloc(sizeof(*svc)), *entry = malloc(sizeof(*entry));
	struct agent_set *a = malloc(sizeof(*a));
	struct ids ids;
	size_t i;
	uint32_t k;

	assert_non_null(svc);
	assert_non_null(entry);
	assert_non_null(a);
	ids_init(&ids, 16, 16);
	for (i = 0; i < lbcases_len; i++) {
		const struct lbcase *c = &lbcases[i];

		if (c->kernel_only)
			continue;
		lbcase_svc(c, svc);
		agent_set_build(c, svc, a);
		assert_int_equal(sync_svc_build(&a->sp, 1, WEIR_MODE_KERNEL, &ids, entry), 0);
		for (k = 0; k < 64; k++) {
			uint32_t rnd = c->rnd + k * 7919;
			const struct model_endpoint *ep = lb_pick(&a->sp, rnd);
			int kidx = decide_svc_pick(entry, rnd);

			if (!ep || kidx < 0) {
				if (ep || kidx >= 0)
					fail_msg("case '%s' rnd %u: agent %s, kernel %d", c->name,
						 rnd, ep ? "picks" : "none", kidx);
				continue;
			}
			if (ep->ip != entry->backends[kidx].ip)
				fail_msg("case '%s' rnd %u: agent %08x, kernel %08x", c->name, rnd,
					 ntohl(ep->ip), ntohl(entry->backends[kidx].ip));
		}
	}
	ids_fini(&ids);
	free(a);
	free(entry);
	free(svc);
}

/* The health and drain rule, and the configured weight sync writes. */
static void test_decide_weight(void **state)
{
	static const struct {
		uint32_t flags, weight, want;
	} cases[] = {
	    {0, 1, 1},
	    {0, 0, 0},
	    {0, 65535, 65535},
	    {WEIR_BE_UNHEALTHY, 5, 0},
	    {WEIR_BE_UNHEALTHY, 0, 0},
	    {1U << 7, 4, 4},
	};
	struct model_pod pod = {.weight = 0, .ready = true};
	struct model_endpoint ep = {.ip = 1, .port = 80, .ready = true, .pod = NULL};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct weir_backend be = {.flags = cases[i].flags,
					  .weight = (uint16_t)cases[i].weight};

		assert_int_equal(decide_weight(cases[i].flags, cases[i].weight), cases[i].want);
		assert_int_equal(decide_be_weight(&be), cases[i].want);
	}
	/* No Pod: weight 1; drained Pod: 0 configured and usable; not ready: 0 usable only. */
	assert_int_equal(lb_ep_weight(&ep), 1);
	assert_int_equal(lb_weight(&ep), 1);
	ep.pod = &pod;
	assert_int_equal(lb_ep_weight(&ep), 0);
	assert_int_equal(lb_weight(&ep), 0);
	pod.weight = 9;
	ep.ready = false;
	assert_int_equal(lb_ep_weight(&ep), 9);
	assert_int_equal(lb_weight(&ep), 0);
}

/* decide_count() bounds a corrupt count; the pick steps keep their contract. */
static void test_decide_pick_steps(void **state)
{
	struct weir_svc *svc = calloc(1, sizeof(*svc));
	struct decide_pick p;

	assert_non_null(svc);
	svc->count = 3;
	assert_int_equal(decide_count(svc), 3);
	svc->count = WEIR_MAX_BACKENDS + 1;
	assert_int_equal(decide_count(svc), WEIR_MAX_BACKENDS);
	free(svc);

	decide_pick_init(&p);
	assert_int_equal(decide_pick_end(&p), -WEIR_R_NO_BACKEND);
	assert_int_equal(decide_pick_start(&p, 5), -WEIR_R_NO_BACKEND);
	decide_pick_sum(&p, 0xffffffffU);
	decide_pick_sum(&p, 0xffffffffU);
	assert_true(p.total == 0x1fffffffeULL); /* 64-bit: no wrap */
	assert_int_equal(decide_pick_start(&p, 7), 0);
	assert_int_equal(decide_pick_step(&p, 0, 0), 0); /* weight 0 is never picked */
	assert_int_equal(decide_pick_step(&p, 1, 8), 1);
	assert_int_equal(decide_pick_end(&p), 1);
}

/* Where connect4 sends a Service's connect(), and which protocols it looks at. */
static void test_decide_svc_path(void **state)
{
	static const struct {
		uint16_t mode;
		uint32_t agent_ip;
		uint32_t want;
	} cases[] = {
	    {WEIR_MODE_KERNEL, 0, WEIR_R_LB_KERNEL},
	    {WEIR_MODE_KERNEL, 0x0100000a, WEIR_R_LB_KERNEL},
	    {WEIR_MODE_AGENT, 0x0100000a, WEIR_R_TO_AGENT},
	    {WEIR_MODE_AGENT, 0, WEIR_R_NO_AGENT},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(decide_svc_path(cases[i].mode, cases[i].agent_ip), cases[i].want);
	assert_true(decide_l4(IPPROTO_TCP));
	assert_true(decide_l4(IPPROTO_UDP));
	assert_false(decide_l4(IPPROTO_ICMP));
	assert_false(decide_l4(IPPROTO_SCTP));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decide_svc_pick_table),
	    cmocka_unit_test(test_decide_agent_pick_table),
	    cmocka_unit_test(test_decide_sync_agrees),
	    cmocka_unit_test(test_decide_weight),
	    cmocka_unit_test(test_decide_pick_steps),
	    cmocka_unit_test(test_decide_svc_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
