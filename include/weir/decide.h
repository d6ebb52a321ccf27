/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The decisions the kernel, the agent and weirctl must take alike, written once: which
 * weight a backend takes new connections with (health, drain), the weighted pick among a
 * Service port's backends, and where connect4 sends a connect() to a Service.
 *
 * This is the one header of include/weir/ that holds logic rather than layout, on purpose:
 * it is the meaning of the ABI fields next to it (weight, WEIR_BE_UNHEALTHY, mode), and
 * -Iinclude is the only include path the BPF objects, the agent and weirctl share. It is
 * plain C: static inline functions over fixed-width types, no libc, no BPF helper, no
 * loop the verifier could not bound, so clang -target bpf and gcc compile the same text.
 * The BPF side drives the two passes with bpf_loop() (bpf/lib/lb.h); user space drives
 * them with a for loop (decide_svc_pick() below, user/model/lb.c).
 */
#ifndef WEIR_DECIDE_H
#define WEIR_DECIDE_H

#include "types.h"
#include "reason.h"
#include "service.h"

/* Inlined into every caller: BPF callbacks must not pay a call per backend. */
#define WEIR_DECIDE_FN static inline __attribute__((always_inline))

/* IPPROTO_TCP and IPPROTO_UDP: vmlinux.h has them as an enum, netinet/in.h as macros. */
#define WEIR_DECIDE_TCP 6
#define WEIR_DECIDE_UDP 17

/*
 * The health and drain rule: the weight a backend with <flags> (WEIR_BE_*) and configured
 * <weight> takes new connections with. An unhealthy backend (failed health checks, or an
 * endpoint that is not ready) takes none; weight 0 drains (existing connections stay).
 */
WEIR_DECIDE_FN __u32 decide_weight(__u32 flags, __u32 weight)
{
	return (flags & WEIR_BE_UNHEALTHY) ? 0 : weight;
}

/* decide_weight() of a datapath backend <be>. */
WEIR_DECIDE_FN __u32 decide_be_weight(const struct weir_backend *be)
{
	return decide_weight(be->flags, be->weight);
}

/* How many of <svc>'s backends are read: count, bounded by the array (a corrupt count
 * in a pinned map must not read past it). */
WEIR_DECIDE_FN __u32 decide_count(const struct weir_svc *svc)
{
	return svc->count < WEIR_MAX_BACKENDS ? svc->count : WEIR_MAX_BACKENDS;
}

/*
 * State of one weighted pick, in two passes over the backends in their order:
 *   1. decide_pick_sum() with every backend's weight gives the total;
 *   2. decide_pick_start() takes the random number modulo the total, then
 *      decide_pick_step() walks the cumulative weights until the point falls in one.
 * The same random number picks the same backend everywhere, which is what lets the tests
 * (and weirctl's odds) speak for the kernel. The total is 64-bit: the agent's endpoint
 * lists are not bounded by WEIR_MAX_BACKENDS, and 65535 x 65537 endpoints would wrap.
 */
struct decide_pick {
	__u64 total; /* pass 1: sum of usable weights */
	__u64 r;     /* pass 2: random point in [0, total) still to walk */
	__s32 pick;  /* pass 2: chosen index, or -1 */
	__u32 pad;   /* explicit padding */
};

/* Starts a pick in <p>. */
WEIR_DECIDE_FN void decide_pick_init(struct decide_pick *p)
{
	p->total = 0;
	p->r = 0;
	p->pick = -1;
	p->pad = 0;
}

/* Pass 1: counts one backend of usable <weight> (from decide_weight()) into <p>. */
WEIR_DECIDE_FN void decide_pick_sum(struct decide_pick *p, __u32 weight)
{
	p->total += weight;
}

/*
 * Between the passes: places random number <rnd> in [0, total). Returns 0, or
 * -WEIR_R_NO_BACKEND when no backend has a usable weight (pass 2 is then pointless).
 */
WEIR_DECIDE_FN int decide_pick_start(struct decide_pick *p, __u32 rnd)
{
	if (!p->total)
		return -WEIR_R_NO_BACKEND;
	p->r = rnd % p->total;
	return 0;
}

/*
 * Pass 2: offers backend <i> of usable <weight> to <p>. Returns 1 when it is the pick
 * (stop walking), 0 to go on. A backend of weight 0 is never picked.
 */
WEIR_DECIDE_FN int decide_pick_step(struct decide_pick *p, __u32 i, __u32 weight)
{
	if (p->r < weight) {
		p->pick = (__s32)i;
		return 1;
	}
	p->r -= weight;
	return 0;
}

/* After pass 2: the picked index, or -WEIR_R_NO_BACKEND. */
WEIR_DECIDE_FN int decide_pick_end(const struct decide_pick *p)
{
	return p->pick < 0 ? -WEIR_R_NO_BACKEND : p->pick;
}

/*
 * The whole pick over <svc> with random number <rnd>, in plain loops: the index of the
 * backend, or -WEIR_R_NO_BACKEND. For user space (weirctl, tests); BPF programs use
 * lb_pick() in bpf/lib/lb.h, the same steps under bpf_loop(), because the verifier walks
 * an open-coded loop over 128 backends once per combination of weights (E2BIG on 6.18).
 */
WEIR_DECIDE_FN int decide_svc_pick(const struct weir_svc *svc, __u32 rnd)
{
	struct decide_pick p;
	__u32 i, n = decide_count(svc);

	decide_pick_init(&p);
	for (i = 0; i < n; i++)
		decide_pick_sum(&p, decide_be_weight(&svc->backends[i]));
	if (decide_pick_start(&p, rnd) < 0)
		return -WEIR_R_NO_BACKEND;
	for (i = 0; i < n; i++)
		if (decide_pick_step(&p, i, decide_be_weight(&svc->backends[i])))
			break;
	return decide_pick_end(&p);
}

/* Whether connect4 looks at a socket of protocol <proto>: only TCP and UDP have ports. */
WEIR_DECIDE_FN int decide_l4(__u8 proto)
{
	return proto == WEIR_DECIDE_TCP || proto == WEIR_DECIDE_UDP;
}

/*
 * Where connect4 sends a connect() to a Service port in <mode> (enum weir_mode) when the
 * datapath's agent address is <agent_ip> (0: none configured). Returns WEIR_R_TO_AGENT
 * (rewrite to the agent), or the reason a kernel pick is counted with when it finds a
 * backend: WEIR_R_LB_KERNEL, or WEIR_R_NO_AGENT for an agent-mode Service without an
 * agent (balanced in the kernel rather than left broken). When the pick finds none the
 * reason is WEIR_R_NO_BACKEND and connect() goes to the VIP untouched (fail open).
 */
WEIR_DECIDE_FN __u32 decide_svc_path(__u16 mode, __be32 agent_ip)
{
	if (mode == WEIR_MODE_AGENT)
		return agent_ip ? WEIR_R_TO_AGENT : WEIR_R_NO_AGENT;
	return WEIR_R_LB_KERNEL;
}

/*
 * Context of weir_lb_probe, a test-only program (bpf/decide.bpf.c, not loaded by the
 * agent) that runs the kernel's pick on the weir_services entry <key> with random number
 * <rnd>, so tests compare the kernel's choice with user space's on the same inputs.
 */
struct weir_lb_probe {
	struct weir_svc_key key; /* the weir_services entry to pick from */
	__u32 rnd;		 /* the random number the pick uses */
	__u32 pad;		 /* explicit padding, zero */
};
WEIR_ASSERT_SIZE(weir_lb_probe, 16);

#endif /* WEIR_DECIDE_H */
