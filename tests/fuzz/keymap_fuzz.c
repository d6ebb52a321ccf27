// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for lib/keymap.c: the input is a program of put/get/delete operations
 * on 3-byte keys (odd on purpose: keys the table stores unaligned) from a small key space,
 * so that chains, tombstones and rebuilds collide often. Every answer is checked against a
 * plain array indexed by the key; any difference, crash or leak is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/keymap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 12 bits of key space (3 + 8 + 1 bits of the three key bytes): 4096 possible keys. */
#define KEYMAP_FUZZ_KEYS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uintptr_t truth[KEYMAP_FUZZ_KEYS];
	struct keymap m;
	const void *k;
	void *v, *old;
	size_t i, live = 0, seen = 0;
	uintptr_t stamp = 0;

	memset(truth, 0, sizeof(truth));
	keymap_init(&m, 3);
	for (i = 0; i + 2 < size; i += 3) {
		unsigned op = data[i] >> 6;
		uint8_t key[3] = {data[i] & 0x07, data[i + 1], data[i + 2] & 0x01};
		unsigned id = (unsigned)key[0] << 9 | (unsigned)key[1] << 1 | key[2];

		switch (op) {
		case 0:
		case 1: /* put */
			stamp++;
			if (keymap_put(&m, key, (void *)stamp, &old) < 0)
				abort();
			if ((uintptr_t)old != truth[id])
				abort();
			live += !truth[id];
			truth[id] = stamp;
			break;
		case 2: /* get */
			if ((uintptr_t)keymap_get(&m, key) != truth[id])
				abort();
			break;
		default: /* delete */
			if ((uintptr_t)keymap_del(&m, key) != truth[id])
				abort();
			live -= !!truth[id];
			truth[id] = 0;
			break;
		}
		if (m.len != live)
			abort();
	}
	/* Iteration sees exactly the live keys, each with its value. */
	for (i = 0; (i = keymap_next(&m, i, &k, &v)) != 0;) {
		const uint8_t *kb = k;
		unsigned id = (unsigned)kb[0] << 9 | (unsigned)kb[1] << 1 | kb[2];

		if (kb[0] > 0x07 || kb[2] > 1)
			abort(); /* a key that was never put */

		if (truth[id] != (uintptr_t)v)
			abort();
		seen++;
	}
	if (seen != live)
		abort();
	keymap_fini(&m, NULL);
	return 0;
}
