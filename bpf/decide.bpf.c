// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * weir_lb_probe: the kernel's backend pick (bpf/lib/lb.h) run on demand, for tests that
 * compare it with user space's on the same table of inputs. Declared "?syscall": libbpf
 * does not load it unless a test asks (bpf_program__set_autoload), so the agent never does.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/lb.h"

/*
 * Runs by BPF_PROG_TEST_RUN with a struct weir_lb_probe as context. Returns the index
 * lb_pick_rnd() picks in the weir_services entry ctx->key, -WEIR_R_NO_BACKEND when it
 * picks none, -WEIR_R_NOT_SERVICE when the entry is missing.
 */
SEC("?syscall")
int weir_lb_probe(struct weir_lb_probe *ctx)
{
	struct weir_svc_key key = {};
	const struct weir_svc *svc;

	/* Copied field by field: the map key must be on the stack, not in the context. */
	key.vip = ctx->key.vip;
	key.port = ctx->key.port;
	key.proto = ctx->key.proto;
	svc = bpf_map_lookup_elem(&weir_services, &key);
	if (!svc)
		return -WEIR_R_NOT_SERVICE;
	return lb_pick_rnd(svc, ctx->rnd);
}
