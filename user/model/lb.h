/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Backend selection in user space, by the same rule as the BPF pick at connect4 (both
 * come from include/weir/decide.h): a weighted random choice among the ready endpoints of
 * a Service port whose weight is not zero, so a connection lands on the same distribution
 * on either path.
 */
#ifndef WEIR_USER_LB_H
#define WEIR_USER_LB_H

#include <stdint.h>

#include "model/model.h"

/*
 * The configured weight of endpoint <ep>, readiness aside: its Pod's weight (annotation
 * weir.dev/lb-weight, 0 drains), or 1 when no Pod is known for it. This is what the
 * datapath's weir_backend.weight holds for it.
 */
uint16_t lb_ep_weight(const struct model_endpoint *ep);

/*
 * The weight endpoint <ep> takes part with, by the rule of weir/decide.h: 0 when it is
 * not ready (the kernel's WEIR_BE_UNHEALTHY), else lb_ep_weight().
 */
uint32_t lb_weight(const struct model_endpoint *ep);

/*
 * Picks a backend of <sp> with the random number <rnd>: <rnd> modulo the total weight,
 * then a cumulative scan in endpoint order (decide.h's steps, which the BPF pick runs
 * too, so the same <rnd> over the same weights picks the same backend). Returns an endpoint of <sp>
 * (owned by its snapshot), or NULL when <sp> is NULL or no endpoint has weight.
 */
const struct model_endpoint *lb_pick(const struct model_svc_port *sp, uint32_t rnd);

/*
 * Advances the per-thread generator <state> (xorshift64*, any non-zero seed) and returns
 * 32 random bits: cheap and good enough to spread load; not for secrets.
 */
uint32_t lb_rand(uint64_t *state);

#endif /* WEIR_USER_LB_H */
