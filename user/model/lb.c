// SPDX-License-Identifier: Apache-2.0
/*
 * The weighted backend pick declared in lb.h. Two passes over the endpoints (sum, then
 * scan) rather than a precomputed table: Service ports hold at most a few hundred
 * endpoints, the snapshot is immutable, and the pick then needs no per-snapshot state.
 */
#include "model/lb.h"

uint32_t lb_weight(const struct model_endpoint *ep)
{
	if (!ep->ready)
		return 0;
	return ep->pod ? ep->pod->weight : 1;
}

const struct model_endpoint *lb_pick(const struct model_svc_port *sp, uint32_t rnd)
{
	uint64_t total = 0, r;
	size_t i;

	if (!sp)
		return NULL;
	for (i = 0; i < sp->neps; i++)
		total += lb_weight(&sp->eps[i]);
	if (!total)
		return NULL;
	r = rnd % total;
	for (i = 0; i < sp->neps; i++) {
		uint32_t w = lb_weight(&sp->eps[i]);

		if (r < w)
			return &sp->eps[i];
		r -= w;
	}
	return NULL; /* not reached: r < total */
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
