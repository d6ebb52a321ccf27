// SPDX-License-Identifier: Apache-2.0
/*
 * The pick table of lbcases.h. The rule being checked: usable weight is 0 for an unhealthy
 * backend, else its weight; r = rnd % (sum of usable weights); walk the backends in order,
 * subtracting usable weights, and pick the first whose weight exceeds what is left of r.
 */
#include <arpa/inet.h>
#include <string.h>

#include <weir/reason.h>

#include "lbcases.h"

#define U  WEIR_BE_UNHEALTHY
#define NB (-WEIR_R_NO_BACKEND)
#define BE(...)                                                                                    \
	(const struct lbcase_be[])                                                                 \
	{                                                                                          \
		__VA_ARGS__                                                                        \
	}
#define LIST(...) BE(__VA_ARGS__), sizeof(BE(__VA_ARGS__)) / sizeof(struct lbcase_be)

const struct lbcase lbcases[] = {
    {"no backends", 0, NULL, 0, {0, 0}, 7, NB, false},
    {"one of weight 1", 1, LIST({1, 0}), {0, 0}, 12345, 0, false},
    {"one unhealthy", 1, LIST({1, U}), {0, 0}, 0, NB, false},
    {"one drained", 1, LIST({0, 0}), {0, 0}, 0, NB, false},
    {"drained, unhealthy, unhealthy", 3, LIST({0, 0}, {3, U}, {1, U}), {0, 0}, 5, NB, false},
    /* weights 1, 2, 3, total 6: r 0 -> 0; r 1..2 -> 1; r 3..5 -> 2 */
    {"w123 r0", 3, LIST({1, 0}, {2, 0}, {3, 0}), {0, 0}, 0, 0, false},
    {"w123 r1", 3, LIST({1, 0}, {2, 0}, {3, 0}), {0, 0}, 1, 1, false},
    {"w123 r2", 3, LIST({1, 0}, {2, 0}, {3, 0}), {0, 0}, 2, 1, false},
    {"w123 r3", 3, LIST({1, 0}, {2, 0}, {3, 0}), {0, 0}, 3, 2, false},
    {"w123 r5", 3, LIST({1, 0}, {2, 0}, {3, 0}), {0, 0}, 5, 2, false},
    {"w123 r6 wraps to 0", 3, LIST({1, 0}, {2, 0}, {3, 0}), {0, 0}, 6, 0, false},
    /* 4294967295 = 6 * 715827882 + 3: r 3 -> 2 */
    {"w123 rnd max", 3, LIST({1, 0}, {2, 0}, {3, 0}), {0, 0}, UINT32_MAX, 2, false},
    /* drained, unhealthy weight 3, weight 1, weight 2: total 3, r 0 -> 2, r 1..2 -> 3 */
    {"mixed r0", 4, LIST({0, 0}, {3, U}, {1, 0}, {2, 0}), {0, 0}, 0, 2, false},
    {"mixed r1", 4, LIST({0, 0}, {3, U}, {1, 0}, {2, 0}), {0, 0}, 1, 3, false},
    {"mixed r2", 4, LIST({0, 0}, {3, U}, {1, 0}, {2, 0}), {0, 0}, 2, 3, false},
    {"mixed r3 wraps", 4, LIST({0, 0}, {3, U}, {1, 0}, {2, 0}), {0, 0}, 3, 2, false},
    {"drained last never picked", 2, LIST({1, 0}, {0, 0}), {0, 0}, 1, 0, false},
    /* unknown flag bits do not make a backend unhealthy */
    {"other flags ignored", 2, LIST({1, 1U << 5}, {1, 0}), {0, 0}, 0, 0, false},
    /* total 131070; 4294967295 = 131070 * 32768 + 65535: r 65535 passes backend 0 */
    {"max weights", 2, LIST({65535, 0}, {65535, 0}), {0, 0}, UINT32_MAX, 1, false},
    /* 128 of weight 1: 300 % 128 = 44 */
    {"full table r300", WEIR_MAX_BACKENDS, NULL, 0, {1, 0}, 300, 44, false},
    {"full table all drained", WEIR_MAX_BACKENDS, NULL, 0, {0, 0}, 99, NB, false},
    /* first drained, 127 of weight 2, total 254: r 99 passes 49 of them -> 1 + 49 */
    {"full table r99", WEIR_MAX_BACKENDS, LIST({0, 0}), {2, 0}, 99, 50, false},
    /* r 253 passes 126 of them (252), 1 left: the last index */
    {"full table last index", WEIR_MAX_BACKENDS, LIST({0, 0}), {2, 0}, 253, 127, false},
    /* a corrupt count is read as 128: 130 % 128 = 2, not 130 % 200 = 130 */
    {"count past the array", 200, NULL, 0, {1, 0}, 130, 2, true},
};

const size_t lbcases_len = sizeof(lbcases) / sizeof(lbcases[0]);

struct lbcase_be lbcase_backend(const struct lbcase *c, uint32_t i)
{
	return i < c->nbe ? c->be[i] : c->rest;
}

void lbcase_svc(const struct lbcase *c, struct weir_svc *svc)
{
	uint32_t i;

	memset(svc, 0, sizeof(*svc));
	svc->id = 1;
	svc->mode = WEIR_MODE_KERNEL;
	svc->count = (uint16_t)c->count;
	for (i = 0; i < c->count && i < WEIR_MAX_BACKENDS; i++) {
		struct lbcase_be b = lbcase_backend(c, i);

		svc->backends[i].ip = htonl(0xc6120700U | ((i + 1) & 0xff)); /* 198.18.7.x */
		svc->backends[i].port = htons(8080);
		svc->backends[i].wl_id = i + 1;
		svc->backends[i].weight = b.weight;
		svc->backends[i].flags = b.flags;
	}
}
