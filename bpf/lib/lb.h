/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket-level load balancing: a weighted random pick among a Service's healthy
 * backends, done once per connect(). Plain logic over struct weir_svc.
 */
#ifndef WEIR_BPF_LB_H
#define WEIR_BPF_LB_H

#include "lib/common.h"

/* State of one pick, shared by the two bpf_loop() passes. */
struct lb_walk {
	const struct weir_svc *svc;
	__u32 total; /* pass 1: sum of usable weights */
	__u32 r;     /* pass 2: random point in [0, total) still to walk */
	int pick;    /* pass 2: chosen index, or -1 */
};

/* The weight <be> takes new connections with: 0 when unhealthy or drained. */
static __always_inline __u32 lb_weight(const struct weir_backend *be)
{
	return (be->flags & WEIR_BE_UNHEALTHY) ? 0 : be->weight;
}

static long lb_sum(__u32 i, void *data)
{
	struct lb_walk *w = data;

	if (i >= WEIR_MAX_BACKENDS)
		return 1;
	w->total += lb_weight(&w->svc->backends[i]);
	return 0;
}

static long lb_walk(__u32 i, void *data)
{
	struct lb_walk *w = data;
	__u32 weight;

	if (i >= WEIR_MAX_BACKENDS)
		return 1;
	weight = lb_weight(&w->svc->backends[i]);
	if (w->r < weight) {
		w->pick = i;
		return 1;
	}
	w->r -= weight;
	return 0;
}

/*
 * Picks a backend of <svc> with probability weight / total weight of the usable ones.
 * Returns its index, or -WEIR_R_NO_BACKEND when none is usable. bpf_loop() (5.17) keeps
 * this verifiable: open-coded loops over 128 backends made the verifier walk every
 * combination of usable and unusable entries (E2BIG on 6.18).
 */
static __always_inline int lb_pick(const struct weir_svc *svc)
{
	struct lb_walk w = { .svc = svc, .pick = -1 };
	__u32 n = svc->count;

	if (n > WEIR_MAX_BACKENDS)
		n = WEIR_MAX_BACKENDS;
	bpf_loop(n, lb_sum, &w, 0);
	if (!w.total)
		return -WEIR_R_NO_BACKEND;
	w.r = bpf_get_prandom_u32() % w.total;
	bpf_loop(n, lb_walk, &w, 0);
	if (w.pick < 0)
		return -WEIR_R_NO_BACKEND;
	return w.pick;
}

#endif /* WEIR_BPF_LB_H */
