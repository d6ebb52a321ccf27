// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for user/lib/keymap.c: a table of put/get/replace/delete steps over struct
 * keys, byte-exact comparison, growth past many 64-bit keys checked against a plain array,
 * tombstone churn that must not grow the table, iteration (also while deleting), fini
 * freeing live values only, and a zero key size refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <weir/service.h>

#include "lib/keymap.h"

/* A weir_svc_key with zeroed padding, as the datapath keys are built. */
static struct weir_svc_key skey(uint32_t vip, uint16_t port, uint8_t proto)
{
	struct weir_svc_key k;

	memset(&k, 0, sizeof(k));
	k.vip = vip;
	k.port = port;
	k.proto = proto;
	return k;
}

enum op { PUT, GET, DEL };

/* One step on a map of weir_svc_key: the key, the value put, what the step must return
 * (the old value for PUT, the value for GET and DEL; 0: NULL), and the size after it. */
struct step {
	enum op op;
	uint32_t vip;
	uint16_t port;
	uint8_t proto;
	uintptr_t value, want;
	size_t len;
};

static const struct step steps[] = {
    {GET, 1, 80, 6, 0, 0, 0},	/* empty map */
    {DEL, 1, 80, 6, 0, 0, 0},	/* deleting nothing */
    {PUT, 1, 80, 6, 11, 0, 1},	/* new */
    {GET, 1, 80, 6, 0, 11, 1},	/* found */
    {GET, 1, 80, 17, 0, 0, 1},	/* protocol differs */
    {GET, 1, 81, 6, 0, 0, 1},	/* port differs */
    {GET, 2, 80, 6, 0, 0, 1},	/* address differs */
    {PUT, 1, 80, 17, 12, 0, 2}, /* same address and port, UDP: another key */
    {PUT, 1, 80, 6, 13, 11, 2}, /* replace returns the old value */
    {GET, 1, 80, 6, 0, 13, 2},	/* new value */
    {DEL, 1, 80, 6, 0, 13, 1},	/* delete returns the value */
    {GET, 1, 80, 6, 0, 0, 1},	/* gone */
    {GET, 1, 80, 17, 0, 12, 1}, /* the other one stays */
    {PUT, 1, 80, 6, 14, 0, 2},	/* back, into the tombstone */
    {GET, 1, 80, 6, 0, 14, 2},	/* found again */
};

static void test_keymap_steps(void **state)
{
	struct keymap m;
	size_t i;

	keymap_init(&m, sizeof(struct weir_svc_key));
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *s = &steps[i];
		struct weir_svc_key k = skey(s->vip, s->port, s->proto);
		void *got = NULL;

		switch (s->op) {
		case PUT:
			assert_int_equal(keymap_put(&m, &k, (void *)s->value, &got), 0);
			break;
		case GET:
			got = keymap_get(&m, &k);
			break;
		case DEL:
			got = keymap_del(&m, &k);
			break;
		}
		if ((uintptr_t)got != s->want || m.len != s->len)
			fail_msg("step %zu: got %lu len %zu, want %lu len %zu", i,
				 (unsigned long)(uintptr_t)got, m.len, (unsigned long)s->want,
				 s->len);
	}
	keymap_fini(&m, NULL);
	assert_int_equal(m.len, 0);
	assert_null(keymap_get(&m, &steps[0]));
}

/* Keys are compared byte for byte: padding is part of the key. */
static void test_keymap_bytes(void **state)
{
	struct weir_svc_key a = skey(1, 80, 6), b = a;
	struct keymap m;

	b.pad = 1;
	keymap_init(&m, sizeof(a));
	assert_int_equal(keymap_put(&m, &a, (void *)1, NULL), 0);
	assert_null(keymap_get(&m, &b));
	assert_ptr_equal(keymap_get(&m, &a), (void *)1);
	keymap_fini(&m, NULL);
}

/* 20000 cookies in, every other one out, checked against the plain truth each time. */
static void test_keymap_many(void **state)
{
	enum { N = 20000 };
	struct keymap m;
	const void *k;
	void *v;
	size_t i, seen = 0;
	uint64_t key;
	unsigned char *hit = calloc(N, 1);

	assert_non_null(hit);
	keymap_init(&m, sizeof(uint64_t));
	for (i = 0; i < N; i++) {
		key = 0x1000000000ULL + i * 4096; /* cookies: sparse, low bits alike */
		assert_int_equal(keymap_put(&m, &key, (void *)(i + 1), NULL), 0);
	}
	assert_int_equal(m.len, N);
	for (i = 0; i < N; i += 2) {
		key = 0x1000000000ULL + i * 4096;
		assert_ptr_equal(keymap_del(&m, &key), (void *)(i + 1));
	}
	for (i = 0; i < N; i++) {
		key = 0x1000000000ULL + i * 4096;
		v = keymap_get(&m, &key);
		if (v != (i % 2 ? (void *)(i + 1) : NULL))
			fail_msg("key %zu: %p", i, v);
	}
	/* Iteration: every live key once, with its own value. */
	for (i = 0; (i = keymap_next(&m, i, &k, &v)) != 0;) {
		uint64_t c;
		size_t idx;

		memcpy(&c, k, sizeof(c));
		idx = (size_t)((c - 0x1000000000ULL) / 4096);
		assert_true(idx < N && idx % 2 == 1);
		assert_ptr_equal(v, (void *)(idx + 1));
		assert_int_equal(hit[idx], 0);
		hit[idx] = 1;
		seen++;
	}
	assert_int_equal(seen, N / 2);
	free(hit);
	keymap_fini(&m, NULL);
}

/* Put/delete churn on few keys reuses tombstones and rebuilds: the table stays small. */
static void test_keymap_churn(void **state)
{
	struct keymap m;
	uint32_t ip;
	size_t i;

	keymap_init(&m, sizeof(ip));
	for (i = 0; i < 100000; i++) {
		ip = (uint32_t)i;
		assert_int_equal(keymap_put(&m, &ip, (void *)1, NULL), 0);
		if (i >= 4) {
			ip = (uint32_t)(i - 4);
			assert_ptr_equal(keymap_del(&m, &ip), (void *)1);
		}
	}
	assert_int_equal(m.len, 4);
	assert_true(m.cap <= 64);
	keymap_fini(&m, NULL);
}

/* Deleting the current key while iterating visits the others exactly once. */
static void test_keymap_del_while_iterating(void **state)
{
	struct keymap m;
	const void *k;
	void *v;
	uint32_t ip, sum = 0;
	size_t i, n = 0;

	keymap_init(&m, sizeof(ip));
	for (ip = 1; ip <= 100; ip++)
		assert_int_equal(keymap_put(&m, &ip, (void *)(uintptr_t)ip, NULL), 0);
	for (i = 0; (i = keymap_next(&m, i, &k, &v)) != 0;) {
		memcpy(&ip, k, sizeof(ip));
		assert_ptr_equal(keymap_del(&m, &ip), v);
		sum += ip;
		n++;
	}
	assert_int_equal(n, 100);
	assert_int_equal(sum, 5050);
	assert_int_equal(m.len, 0);
	keymap_fini(&m, NULL);
}

static unsigned freed;

static void count_free(void *p)
{
	freed++;
	free(p);
}

/* fini frees live values, not deleted ones; a zero key size is refused. */
static void test_keymap_fini_and_errors(void **state)
{
	struct keymap m;
	uint64_t key;
	void *deleted;

	keymap_init(&m, sizeof(key));
	for (key = 0; key < 10; key++)
		assert_int_equal(keymap_put(&m, &key, malloc(8), NULL), 0);
	key = 3;
	deleted = keymap_del(&m, &key);
	assert_non_null(deleted);
	free(deleted);
	freed = 0;
	keymap_fini(&m, count_free);
	assert_int_equal(freed, 9);

	keymap_init(&m, 0);
	assert_int_equal(keymap_put(&m, &key, (void *)1, NULL), -EINVAL);
	assert_int_equal(m.len, 0);
	keymap_fini(&m, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keymap_steps),
	    cmocka_unit_test(test_keymap_bytes),
	    cmocka_unit_test(test_keymap_many),
	    cmocka_unit_test(test_keymap_churn),
	    cmocka_unit_test(test_keymap_del_while_iterating),
	    cmocka_unit_test(test_keymap_fini_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
