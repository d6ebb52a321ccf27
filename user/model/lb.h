/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Backend selection in user space, with the semantics of the BPF pick at connect4: a
 * weighted random choice among the ready endpoints of a Service port whose weight is not
 * zero, so that a connection lands on the same distribution on either path.
 */
#ifndef WEIR_USER_LB_H
#define WEIR_USER_LB_H

#include <stdint.h>

#include "model/model.h"

/*
 * The weight endpoint <ep> takes part with: 0 when it is not ready, else its Pod's weight
 * (annotation weir.dev/lb-weight, 0 drains), or 1 when no Pod is known for it.
 */
uint32_t lb_weight(const struct model_endpoint *ep);

/*
 * Picks a backend of <sp> with the random number <rnd>: <rnd> modulo the total weight,
 * then a cumulative scan in endpoint order (the BPF pick does the same, so the same <rnd>
 * picks the same backend). Returns an endpoint of <sp> (owned by its snapshot), or NULL
 * when <sp> is NULL or no endpoint has weight.
 */
const struct model_endpoint *lb_pick(const struct model_svc_port *sp, uint32_t rnd);

/*
 * Advances the per-thread generator <state> (xorshift64*, any non-zero seed) and returns
 * 32 random bits: cheap and good enough to spread load; not for secrets.
 */
uint32_t lb_rand(uint64_t *state);

#endif /* WEIR_USER_LB_H */
