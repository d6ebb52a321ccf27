/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket-level load balancing: a weighted random pick among a Service's healthy
 * backends, done once per connect(). The rule itself (weights, health, drain, the
 * modulo and cumulative scan) is include/weir/decide.h, shared with the agent and
 * weirctl; this file only drives its two passes with bpf_loop().
 */
#ifndef WEIR_BPF_LB_H
#define WEIR_BPF_LB_H

#include "lib/common.h"

#include <weir/decide.h>

/* State of one pick, shared by the two bpf_loop() passes. */
struct lb_walk {
	const struct weir_svc *svc;
	struct decide_pick p;
};

static long lb_sum(__u32 i, void *data)
{
	struct lb_walk *w = data;

	/* bpf_loop() bounds i by its count, but the verifier does not know the count. */
	if (i >= WEIR_MAX_BACKENDS)
		return 1;
	decide_pick_sum(&w->p, decide_be_weight(&w->svc->backends[i]));
	return 0;
}

static long lb_walk(__u32 i, void *data)
{
	struct lb_walk *w = data;

	if (i >= WEIR_MAX_BACKENDS)
		return 1;
	return decide_pick_step(&w->p, i, decide_be_weight(&w->svc->backends[i]));
}

/*
 * Picks a backend of <svc> with random number <rnd>, by decide.h's rule. Returns its
 * index, or -WEIR_R_NO_BACKEND when none is usable. bpf_loop() (5.17) keeps this
 * verifiable: open-coded loops over 128 backends made the verifier walk every
 * combination of usable and unusable entries (E2BIG on 6.18).
 */
static __always_inline int lb_pick_rnd(const struct weir_svc *svc, __u32 rnd)
{
	struct lb_walk w = { .svc = svc };
	__u32 n = decide_count(svc);

	decide_pick_init(&w.p);
	bpf_loop(n, lb_sum, &w, 0);
	if (decide_pick_start(&w.p, rnd) < 0)
		return -WEIR_R_NO_BACKEND;
	bpf_loop(n, lb_walk, &w, 0);
	return decide_pick_end(&w.p);
}

/* lb_pick_rnd() with a fresh random number: what connect4 does. */
static __always_inline int lb_pick(const struct weir_svc *svc)
{
	return lb_pick_rnd(svc, bpf_get_prandom_u32());
}

#endif /* WEIR_BPF_LB_H */
