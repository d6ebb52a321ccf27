// SPDX-License-Identifier: Apache-2.0
/*
 * The weighted backend pick declared in lb.h, as the user-space driver of weir/decide.h:
 * endpoints are mapped to the datapath's (flags, weight) and the two passes (sum, then
 * scan) run in plain loops. No precomputed table: Service ports hold at most a few hundred
 * endpoints, the snapshot is immutable, and the pick then needs no per-snapshot state.
 */
#include <weir/decide.h>

#include "model/lb.h"

uint16_t lb_ep_weight(const struct model_endpoint *ep)
{
	return ep->pod ? ep->pod->weight : 1;
}

uint32_t lb_weight(const struct model_endpoint *ep)
{
	/* A not-ready endpoint is what the kernel calls unhealthy: the one health rule. */
	return decide_weight(ep->ready ? 0 : WEIR_BE_UNHEALTHY, lb_ep_weight(ep));
}

const struct model_endpoint *lb_pick(const struct model_svc_port *sp, uint32_t rnd)
{
	struct decide_pick p;
	size_t i;

	if (!sp)
		return NULL;
	decide_pick_init(&p);
	for (i = 0; i < sp->neps; i++)
		decide_pick_sum(&p, lb_weight(&sp->eps[i]));
	if (decide_pick_start(&p, rnd) < 0)
		return NULL;
	for (i = 0; i < sp->neps; i++)
		if (decide_pick_step(&p, (uint32_t)i, lb_weight(&sp->eps[i])))
			break;
	return decide_pick_end(&p) < 0 ? NULL : &sp->eps[p.pick];
}

uint32_t lb_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}
