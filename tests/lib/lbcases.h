/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One table of backend picks for every build of weir/decide.h's rule: the unit test runs
 * it through user space (weirctl's decide_svc_pick(), the agent's lb_pick()), the BPF test
 * through the kernel's lb_pick_rnd() in weir_lb_probe. Expected picks are worked out by
 * hand in the comments of lbcases.c, never computed by the code under test.
 */
#ifndef WEIR_TESTS_LBCASES_H
#define WEIR_TESTS_LBCASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <weir/service.h>

/* One backend of a case: what weir_backend.flags and .weight hold. */
struct lbcase_be {
	uint16_t weight;
	uint32_t flags; /* WEIR_BE_* */
};

struct lbcase {
	const char *name;
	uint32_t count;		    /* weir_svc.count (may exceed WEIR_MAX_BACKENDS) */
	const struct lbcase_be *be; /* the first <nbe> backends ... */
	size_t nbe;
	struct lbcase_be rest; /* ... and every one after them */
	uint32_t rnd;	       /* the random number of the pick */
	int want;	       /* the index picked, or -WEIR_R_NO_BACKEND */
	bool kernel_only;      /* count > WEIR_MAX_BACKENDS: only a weir_svc can say so */
};

extern const struct lbcase lbcases[];
extern const size_t lbcases_len;

/* Backend <i> of case <c>. */
struct lbcase_be lbcase_backend(const struct lbcase *c, uint32_t i);

/*
 * Fills <svc> (zeroed first) with case <c>: id 1, kernel mode, backends at
 * 198.18.7.(i + 1 mod 256):8080 with workload id i + 1, count as the case says.
 */
void lbcase_svc(const struct lbcase *c, struct weir_svc *svc);

#endif /* WEIR_TESTS_LBCASES_H */
