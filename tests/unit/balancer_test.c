// SPDX-License-Identifier: Apache-2.0
/*
 * Tests of balancer.c over hand-built clusters: round robin sequences (weights, skipped
 * endpoints, per-cluster cursors, reset on a new snapshot generation), random and least
 * request shares within statistical bounds from a seeded generator, consistent hashing by
 * header, cookie, query parameter and source address (stable keys, spread, ejection and
 * drain moving only the affected keys), and the error verdicts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model/model.h"
#include "proxy/balancer.h"

static const struct model_pod p_w1 = {.name = "w1", .weight = 1, .ready = true};
static const struct model_pod p_w2 = {.name = "w2", .weight = 2, .ready = true};
static const struct model_pod p_w3 = {.name = "w3", .weight = 3, .ready = true};
static const struct model_pod p_drained = {.name = "d", .weight = 0, .ready = true};

#define IP(d) ((uint32_t)(10 | (1u << 24) * (d))) /* 10.0.0.d in network order (LE host) */

static const struct model_endpoint ep[] = {
    {.ip = IP(1), .port = 8080, .ready = true, .pod = &p_w1},	   /* 0 */
    {.ip = IP(2), .port = 8080, .ready = true, .pod = &p_w1},	   /* 1 */
    {.ip = IP(3), .port = 8080, .ready = true, .pod = &p_w1},	   /* 2 */
    {.ip = IP(4), .port = 8080, .ready = false, .pod = &p_w1},	   /* 3: not ready */
    {.ip = IP(5), .port = 8080, .ready = true, .pod = &p_drained}, /* 4: drained */
    {.ip = IP(6), .port = 8080, .ready = true, .pod = &p_w2},	   /* 5: weight 2 */
    {.ip = IP(7), .port = 8080, .ready = true, .pod = &p_w3},	   /* 6: weight 3 */
    {.ip = IP(8), .port = 8080, .ready = true, .pod = NULL},	   /* 7: no Pod: weight 1 */
};

static const struct model_endpoint *const eps_abc[] = {&ep[0], &ep[1], &ep[2]};
static const struct model_endpoint *const eps_mixed[] = {&ep[0], &ep[3], &ep[4], &ep[1]};
static const struct model_endpoint *const eps_w12[] = {&ep[0], &ep[5]};
static const struct model_endpoint *const eps_w13[] = {&ep[0], &ep[6]};
static const struct model_endpoint *const eps_dead[] = {&ep[3], &ep[4]};
static const struct model_endpoint *const eps_eight[] = {&ep[0], &ep[1], &ep[2], &ep[7],
							 &ep[5], &ep[6], &ep[3], &ep[4]};

#define CLUSTER(id_, eps_, ...)                                                                    \
	{                                                                                          \
		.name = #eps_, .eps = (eps_), .neps = sizeof(eps_) / sizeof((eps_)[0]),            \
		.id = (id_), .policy = {.lb = {__VA_ARGS__}},                                      \
	}

static const struct route_cluster rr_abc = CLUSTER(0, eps_abc, .policy = ROUTE_LB_ROUND_ROBIN);
static const struct route_cluster rr_mixed = CLUSTER(1, eps_mixed, .policy = ROUTE_LB_ROUND_ROBIN);
static const struct route_cluster rr_w12 = CLUSTER(2, eps_w12, .policy = ROUTE_LB_ROUND_ROBIN);
static const struct route_cluster rr_far = CLUSTER(40, eps_abc, .policy = ROUTE_LB_ROUND_ROBIN);

/* Round robin sequences, one balancer per case (a fresh worker). */
static void test_balancer_round_robin(void **state)
{
	static const uint64_t eject_b[1] = {1u << 1};
	static const struct {
		const char *what;
		const struct route_cluster *c;
		const uint64_t *ejected;
		size_t want[8];
	} cases[] = {
	    {"three equal", &rr_abc, NULL, {0, 1, 2, 0, 1, 2, 0, 1}},
	    {"not ready and drained skipped", &rr_mixed, NULL, {0, 3, 0, 3, 0, 3, 0, 3}},
	    {"weights 1 and 2", &rr_w12, NULL, {0, 1, 1, 0, 1, 1, 0, 1}},
	    {"ejected skipped", &rr_abc, eject_b, {0, 2, 0, 2, 0, 2, 0, 2}},
	    {"cluster id beyond the first cursors", &rr_far, NULL, {0, 1, 2, 0, 1, 2, 0, 1}},
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct balancer b;
		struct balancer_req r = {.gen = 1, .ejected = cases[i].ejected};

		balancer_init(&b, 1);
		for (k = 0; k < 8; k++) {
			size_t got = 99;

			assert_int_equal(balancer_pick(&b, cases[i].c, &r, &got), 0);
			if (got != cases[i].want[k])
				fail_msg("case \"%s\": pick %zu is %zu, want %zu", cases[i].what, k,
					 got, cases[i].want[k]);
		}
		balancer_fini(&b);
	}
}

/* Cursors are per cluster, reset by a new generation, and per worker. */
static void test_balancer_cursors(void **state)
{
	struct balancer w1, w2;
	struct balancer_req g1 = {.gen = 1}, g2 = {.gen = 2};
	size_t got;

	(void)state;
	balancer_init(&w1, 1);
	balancer_init(&w2, 2);
	assert_int_equal(balancer_pick(&w1, &rr_abc, &g1, &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(balancer_pick(&w1, &rr_abc, &g1, &got), 0);
	assert_int_equal(got, 1);
	/* another cluster starts at its own beginning */
	assert_int_equal(balancer_pick(&w1, &rr_far, &g1, &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(balancer_pick(&w1, &rr_abc, &g1, &got), 0);
	assert_int_equal(got, 2);
	/* another worker has its own cursor */
	assert_int_equal(balancer_pick(&w2, &rr_abc, &g1, &got), 0);
	assert_int_equal(got, 0);
	/* a new snapshot generation starts over (cluster ids may name other clusters now) */
	assert_int_equal(balancer_pick(&w1, &rr_abc, &g2, &got), 0);
	assert_int_equal(got, 0);
	balancer_fini(&w1);
	balancer_fini(&w2);
	balancer_fini(&w2); /* fini of a zeroed balancer is harmless */
}

static bool eject_first(void *ctx, const struct route_cluster *c, size_t i)
{
	(void)c;
	++*(unsigned *)ctx;
	return i == 0;
}

/* balancer_weight: readiness, drain, Pod weight, bitmap and callback ejection. */
static void test_balancer_weight(void **state)
{
	static const struct route_cluster c = CLUSTER(3, eps_eight, .policy = ROUTE_LB_RANDOM);
	static const uint32_t want[8] = {1, 1, 1, 1, 2, 3, 0, 0};
	static const uint64_t bits[1] = {1u << 5};
	unsigned calls = 0;
	struct balancer_req r = {.gen = 1};
	size_t i;

	(void)state;
	for (i = 0; i < 8; i++)
		assert_int_equal(balancer_weight(&c, i, &r), want[i]);
	r.ejected = bits;
	assert_int_equal(balancer_weight(&c, 5, &r), 0);
	assert_int_equal(balancer_weight(&c, 4, &r), 2);
	r.is_ejected = eject_first;
	r.ctx = &calls;
	assert_int_equal(balancer_weight(&c, 0, &r), 0);
	assert_int_equal(balancer_weight(&c, 1, &r), 1);
	assert_true(calls >= 2);
}

/* RANDOM over weights 1 and 3: 25% / 75% of 20000 within 4 sigma (sigma ~ 61). */
static void test_balancer_random(void **state)
{
	static const struct route_cluster c = CLUSTER(0, eps_w13, .policy = ROUTE_LB_RANDOM);
	struct balancer b;
	struct balancer_req r = {.gen = 1};
	unsigned n[2] = {0, 0}, i;
	size_t got;

	(void)state;
	balancer_init(&b, 42);
	for (i = 0; i < 20000; i++) {
		assert_int_equal(balancer_pick(&b, &c, &r, &got), 0);
		assert_true(got < 2);
		n[got]++;
	}
	assert_in_range(n[0], 5000 - 245, 5000 + 245);
	balancer_fini(&b);
}

/*
 * LEAST_REQUEST (and the default policy): with active counts {10, 0}, the busy endpoint
 * wins only when both candidates are it: 25%. Without counts it is a fair coin.
 */
static void test_balancer_least_request(void **state)
{
	static const struct route_cluster lr =
	    CLUSTER(0, eps_abc, .policy = ROUTE_LB_LEAST_REQUEST);
	static const struct route_cluster dflt = CLUSTER(1, eps_abc, .policy = ROUTE_LB_DEFAULT);
	static const uint32_t active[3] = {10, 0, 0};
	static const uint32_t active_one_idle[3] = {5, 0, 5};
	const struct route_cluster *cs[2] = {&lr, &dflt};
	struct balancer b;
	unsigned n[3], i, k;
	size_t got;

	(void)state;
	balancer_init(&b, 7);
	for (k = 0; k < 2; k++) {
		struct balancer_req r = {.gen = 1, .active = active};

		memset(n, 0, sizeof(n));
		for (i = 0; i < 18000; i++) {
			assert_int_equal(balancer_pick(&b, cs[k], &r, &got), 0);
			n[got]++;
		}
		/* endpoint 0 is chosen only when drawn twice: 1/9 of 18000 = 2000, sigma ~42 */
		assert_in_range(n[0], 2000 - 170, 2000 + 170);
		/* the idle ones share the rest evenly */
		assert_in_range(n[1], 8000 - 300, 8000 + 300);

		r.active = active_one_idle;
		memset(n, 0, sizeof(n));
		for (i = 0; i < 9000; i++) {
			assert_int_equal(balancer_pick(&b, cs[k], &r, &got), 0);
			n[got]++;
		}
		/* endpoint 1 loses only when neither draw is it: (2/3)^2 = 4/9 */
		assert_in_range(n[1], 5000 - 200, 5000 + 200);
	}
	balancer_fini(&b);
}

/* ---- consistent hashing ---- */

static const struct route_cluster h_hdr = CLUSTER(
    5, eps_eight, .policy = ROUTE_LB_HASH, .hash_key = ROUTE_HASH_HEADER, .hash_name = "x-user");
static const struct route_cluster h_cookie = CLUSTER(
    6, eps_eight, .policy = ROUTE_LB_HASH, .hash_key = ROUTE_HASH_COOKIE, .hash_name = "session");
static const struct route_cluster h_query =
    CLUSTER(7, eps_eight, .policy = ROUTE_LB_HASH, .hash_key = ROUTE_HASH_QUERY, .hash_name = "u");
static const struct route_cluster h_src =
    CLUSTER(8, eps_eight, .policy = ROUTE_LB_HASH, .hash_key = ROUTE_HASH_SOURCE_IP);
static const struct route_cluster h_small = CLUSTER(
    9, eps_eight, .policy = ROUTE_LB_HASH, .hash_key = ROUTE_HASH_SOURCE_IP, .maglev_size = 251);
static const struct route_cluster h_bad = CLUSTER(
    10, eps_eight, .policy = ROUTE_LB_HASH, .hash_key = ROUTE_HASH_SOURCE_IP, .maglev_size = 1000);

static void mkreq(struct http_head *h, const char *path, const char *name, const char *value)
{
	http_head_reset(h, HTTP_REQUEST);
	assert_int_equal(http_head_str(h, path, strlen(path), &h->path), 0);
	if (name)
		assert_int_equal(http_head_add(h, name, strlen(name), value, strlen(value)), 0);
}

/* balancer_hash reads each key kind where the request carries it. */
static void test_balancer_hash_keys(void **state)
{
	static const struct {
		const char *what;
		const struct route_cluster *c;
		const char *path, *name, *value;
		int rc;
		const char *key; /* what is hashed */
	} cases[] = {
	    {"header", &h_hdr, "/", "x-user", "alice", 0, "alice"},
	    {"header absent", &h_hdr, "/", "x-other", "alice", -ENOENT, NULL},
	    {"cookie", &h_cookie, "/", "cookie", "a=1; session=s3cr3t; b=2", 0, "s3cr3t"},
	    {"cookie first", &h_cookie, "/", "cookie", "session=one;session=two", 0, "one"},
	    {"cookie name exact", &h_cookie, "/", "cookie", "xsession=1; sessionx=2", -ENOENT,
	     NULL},
	    {"cookie absent", &h_cookie, "/", "x-user", "alice", -ENOENT, NULL},
	    {"query", &h_query, "/p?a=1&u=bob", NULL, NULL, 0, "bob"},
	    {"query absent", &h_query, "/p?a=1", NULL, NULL, -ENOENT, NULL},
	};
	struct http_head h;
	size_t i;

	(void)state;
	http_head_init(&h, HTTP_REQUEST, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct balancer_req r = {.gen = 1, .req = &h};
		uint64_t hash = 0;
		int rc;

		mkreq(&h, cases[i].path, cases[i].name, cases[i].value);
		rc = balancer_hash(&cases[i].c->policy.lb, &r, &hash);
		if (rc != cases[i].rc ||
		    (!rc && hash != maglev_hash(cases[i].key, strlen(cases[i].key), 0)))
			fail_msg("case \"%s\": rc %d", cases[i].what, rc);
	}
	http_head_fini(&h);
}

/* The same key always lands on the same endpoint; different keys cover every usable one. */
static void test_balancer_hash_stable(void **state)
{
	const struct route_cluster *cs[] = {&h_hdr, &h_cookie, &h_query, &h_small};
	struct http_head h;
	struct balancer b;
	size_t k, c;

	(void)state;
	http_head_init(&h, HTTP_REQUEST, 0);
	balancer_init(&b, 3);
	for (c = 0; c < sizeof(cs) / sizeof(cs[0]); c++) {
		unsigned seen[8] = {0};

		for (k = 0; k < 400; k++) {
			char v[32], path[48], cookie[48];
			struct balancer_req r = {.gen = 1, .req = &h, .src_ip = (uint32_t)k};
			size_t first, again;

			snprintf(v, sizeof(v), "user-%zu", k);
			snprintf(path, sizeof(path), "/p?u=%s", v);
			snprintf(cookie, sizeof(cookie), "session=%s", v);
			if (cs[c] == &h_hdr)
				mkreq(&h, "/", "x-user", v);
			else if (cs[c] == &h_cookie)
				mkreq(&h, "/", "cookie", cookie);
			else
				mkreq(&h, path, NULL, NULL);
			assert_int_equal(balancer_pick(&b, cs[c], &r, &first), 0);
			assert_int_equal(balancer_pick(&b, cs[c], &r, &again), 0);
			assert_int_equal(first, again);
			seen[first]++;
		}
		/* endpoints 6 and 7 are not ready / drained; the rest all get keys */
		for (k = 0; k < 8; k++)
			if ((k < 6) != (seen[k] > 0))
				fail_msg("cluster %s: endpoint %zu got %u keys", cs[c]->name, k,
					 seen[k]);
		/* weight 3 (index 5) gets more keys than weight 1 (index 0) */
		assert_true(seen[5] > seen[0]);
	}
	balancer_fini(&b);
	http_head_fini(&h);
}

/* A request without the key is placed at random among usable endpoints. */
static void test_balancer_hash_missing_key(void **state)
{
	struct http_head h;
	struct balancer b;
	unsigned seen[8] = {0}, k;
	size_t got;

	(void)state;
	http_head_init(&h, HTTP_REQUEST, 0);
	balancer_init(&b, 5);
	mkreq(&h, "/", NULL, NULL);
	for (k = 0; k < 2000; k++) {
		struct balancer_req r = {.gen = 1, .req = &h};

		assert_int_equal(balancer_pick(&b, &h_hdr, &r, &got), 0);
		seen[got]++;
	}
	for (k = 0; k < 6; k++)
		assert_true(seen[k] > 0);
	assert_int_equal(seen[6] + seen[7], 0);
	balancer_fini(&b);
	http_head_fini(&h);
}

/*
 * Ejecting an endpoint moves exactly its keys (to usable endpoints) and no other key; a
 * drain in a new snapshot generation moves about its share and few others.
 */
static void test_balancer_hash_disruption(void **state)
{
	static const struct model_endpoint *eps6[] = {&ep[0], &ep[1], &ep[2],
						      &ep[7], &ep[5], &ep[6]};
	static const struct model_endpoint *eps6_drained[] = {&ep[0], &ep[1], &ep[4],
							      &ep[7], &ep[5], &ep[6]};
	struct route_cluster c =
	    CLUSTER(11, eps6, .policy = ROUTE_LB_HASH, .hash_key = ROUTE_HASH_SOURCE_IP);
	static size_t before[5000];
	const uint64_t eject2[1] = {1u << 2};
	struct balancer b;
	unsigned moved = 0, moved_other = 0, on2 = 0;
	size_t k, got;

	(void)state;
	balancer_init(&b, 9);
	for (k = 0; k < 5000; k++) {
		struct balancer_req r = {.gen = 1, .src_ip = (uint32_t)k * 2654435761u};

		assert_int_equal(balancer_pick(&b, &c, &r, &before[k]), 0);
	}
	for (k = 0; k < 5000; k++) {
		struct balancer_req r = {
		    .gen = 1, .src_ip = (uint32_t)k * 2654435761u, .ejected = eject2};

		assert_int_equal(balancer_pick(&b, &c, &r, &got), 0);
		assert_int_not_equal(got, 2);
		if (before[k] == 2)
			on2++;
		else
			assert_int_equal(got, before[k]);
	}
	/* endpoint 2 has weight 1 of 8: about 625 keys */
	assert_in_range(on2, 625 - 100, 625 + 100);

	/* Generation 2: endpoint 2 drained by its Pod's weir.dev/lb-weight. */
	c.eps = eps6_drained;
	for (k = 0; k < 5000; k++) {
		struct balancer_req r = {.gen = 2, .src_ip = (uint32_t)k * 2654435761u};

		assert_int_equal(balancer_pick(&b, &c, &r, &got), 0);
		assert_int_not_equal(got, 2);
		if (got != before[k]) {
			moved++;
			moved_other += before[k] != 2;
		}
	}
	assert_int_equal(moved - moved_other, on2);
	assert_true(moved_other < 5000 / 50); /* under 2% of keys that needed no move */
	balancer_fini(&b);
}

/* Tables are cached per cluster and generation; a bad tableSize falls back to 65537. */
static void test_balancer_hash_cache(void **state)
{
	struct balancer b;
	struct balancer_req r1 = {.gen = 1, .src_ip = 77}, r2 = {.gen = 2, .src_ip = 77};
	uint32_t clk;
	size_t got, i;

	(void)state;
	balancer_init(&b, 1);
	assert_int_equal(balancer_pick(&b, &h_src, &r1, &got), 0);
	clk = b.ring_clk;
	assert_int_equal(balancer_pick(&b, &h_src, &r1, &got), 0);
	assert_int_equal(b.ring_clk, clk); /* no rebuild */
	assert_int_equal(balancer_pick(&b, &h_src, &r2, &got), 0);
	assert_int_equal(b.ring_clk, clk + 1);
	assert_int_equal(balancer_pick(&b, &h_small, &r1, &got), 0);
	assert_int_equal(balancer_pick(&b, &h_bad, &r1, &got), 0);
	for (i = 0; i < BALANCER_RINGS; i++)
		if (b.ring[i].gen == 1 && b.ring[i].cluster_id == h_small.id)
			assert_int_equal(b.ring[i].table.size, 251);
		else if (b.ring[i].gen == 1 && b.ring[i].cluster_id == h_bad.id)
			assert_int_equal(b.ring[i].table.size, MAGLEV_SIZE_DEFAULT);
	/* More clusters than rings: the oldest is rebuilt, picks stay correct. */
	for (i = 0; i < 3 * BALANCER_RINGS; i++) {
		struct balancer_req r = {.gen = 10 + i, .src_ip = 77};
		size_t want;

		assert_int_equal(balancer_pick(&b, &h_src, &r, &got), 0);
		assert_int_equal(balancer_pick(&b, &h_src, &r1, &want), 0);
		assert_int_equal(got, want); /* same endpoints, same key: same pick */
	}
	balancer_fini(&b);
}

static void test_balancer_errors(void **state)
{
	static const struct route_cluster dead_rr =
	    CLUSTER(0, eps_dead, .policy = ROUTE_LB_ROUND_ROBIN);
	static const struct route_cluster dead_hash =
	    CLUSTER(1, eps_dead, .policy = ROUTE_LB_HASH, .hash_key = ROUTE_HASH_SOURCE_IP);
	static const struct route_cluster pass =
	    CLUSTER(2, eps_abc, .policy = ROUTE_LB_PASSTHROUGH);
	static const struct route_cluster empty = {.name = "empty", .id = 3};
	static const uint64_t all[1] = {7};
	struct balancer b;
	struct balancer_req r = {.gen = 1};
	size_t got = 42;

	(void)state;
	balancer_init(&b, 0);
	assert_int_equal(balancer_pick(&b, &dead_rr, &r, &got), -EHOSTUNREACH);
	assert_int_equal(balancer_pick(&b, &dead_hash, &r, &got), -EHOSTUNREACH);
	assert_int_equal(balancer_pick(&b, &empty, &r, &got), -EHOSTUNREACH);
	assert_int_equal(balancer_pick(&b, &pass, &r, &got), -EOPNOTSUPP);
	r.ejected = all;
	assert_int_equal(balancer_pick(&b, &rr_abc, &r, &got), -EHOSTUNREACH);
	assert_int_equal(got, 42);
	balancer_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_balancer_round_robin),
	    cmocka_unit_test(test_balancer_cursors),
	    cmocka_unit_test(test_balancer_weight),
	    cmocka_unit_test(test_balancer_random),
	    cmocka_unit_test(test_balancer_least_request),
	    cmocka_unit_test(test_balancer_hash_keys),
	    cmocka_unit_test(test_balancer_hash_stable),
	    cmocka_unit_test(test_balancer_hash_missing_key),
	    cmocka_unit_test(test_balancer_hash_disruption),
	    cmocka_unit_test(test_balancer_hash_cache),
	    cmocka_unit_test(test_balancer_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
