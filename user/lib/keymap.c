// SPDX-License-Identifier: Apache-2.0
/*
 * The binary-key map of keymap.h. FNV-1a over the key bytes, then a 64-bit finaliser so
 * the low bits the mask keeps depend on every byte (IPv4 keys differ mostly in their last
 * byte, cookies in their low bits). Linear probing, tombstones on delete, a rebuild at 3/4
 * load of live plus tombstones, as lib/strmap.c does for string keys.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/keymap.h"

enum { KEYMAP_EMPTY = 0, KEYMAP_LIVE = 1, KEYMAP_TOMB = 2 };

static uint64_t keymap_hash(const void *key, size_t len)
{
	const unsigned char *b = key;
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	/* Avalanche (the MurmurHash3 fmix64 constants): FNV's low bits mix poorly. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

void keymap_init(struct keymap *m, size_t ksize)
{
	memset(m, 0, sizeof(*m));
	m->ksize = ksize;
}

void keymap_fini(struct keymap *m, void (*free_value)(void *))
{
	size_t i, ksize = m->ksize;

	for (i = 0; free_value && i < m->cap; i++)
		if (m->state[i] == KEYMAP_LIVE)
			free_value(m->values[i]);
	free(m->values);
	memset(m, 0, sizeof(*m));
	m->ksize = ksize; /* reusable after fini, like a fresh init */
}

static unsigned char *keymap_key(const struct keymap *m, size_t i)
{
	return m->keys + i * m->ksize;
}

/*
 * The slot holding <key>, or (<for_insert>) the first reusable one on its chain, or
 * (m->cap) when absent. The table always has an empty slot, so the probe ends.
 */
static size_t keymap_find(const struct keymap *m, const void *key, int for_insert)
{
	size_t mask = m->cap - 1, i, reuse = m->cap;

	if (!m->cap)
		return m->cap;
	for (i = keymap_hash(key, m->ksize) & mask;; i = (i + 1) & mask) {
		if (m->state[i] == KEYMAP_EMPTY)
			return for_insert ? (reuse < m->cap ? reuse : i) : m->cap;
		if (m->state[i] == KEYMAP_TOMB) {
			if (reuse == m->cap)
				reuse = i;
		} else if (memcmp(keymap_key(m, i), key, m->ksize) == 0) {
			return i;
		}
	}
}

/*
 * One allocation for the three arrays: values first (pointer-aligned), then keys, then
 * states. Returns 0 or -ENOMEM with <m> untouched.
 */
static int keymap_alloc(struct keymap *m, size_t cap)
{
	size_t vbytes = cap * sizeof(void *), kbytes = cap * m->ksize;
	void *block;

	if (m->ksize && kbytes / m->ksize != cap)
		return -ENOMEM;
	block = calloc(1, vbytes + kbytes + cap);
	if (!block)
		return -ENOMEM;
	m->values = block;
	m->keys = (unsigned char *)block + vbytes;
	m->state = m->keys + kbytes;
	m->cap = cap;
	return 0;
}

static int keymap_grow(struct keymap *m)
{
	struct keymap old = *m;
	size_t ncap = m->cap ? m->cap * 2 : 16, i, d;
	int err;

	/* Mostly tombstones: rebuild at the same size. */
	if (m->len * 2 < m->cap)
		ncap = m->cap;
	err = keymap_alloc(m, ncap);
	if (err) {
		*m = old;
		return err;
	}
	m->len = m->used = 0;
	for (i = 0; i < old.cap; i++) {
		if (old.state[i] != KEYMAP_LIVE)
			continue;
		d = keymap_find(m, keymap_key(&old, i), 1);
		memcpy(keymap_key(m, d), keymap_key(&old, i), m->ksize);
		m->values[d] = old.values[i];
		m->state[d] = KEYMAP_LIVE;
		m->len++;
		m->used++;
	}
	free(old.values);
	return 0;
}

void *keymap_get(const struct keymap *m, const void *key)
{
	size_t i = keymap_find(m, key, 0);

	return i < m->cap ? m->values[i] : NULL;
}

int keymap_put(struct keymap *m, const void *key, void *value, void **old)
{
	size_t i;
	int err;

	if (old)
		*old = NULL;
	if (!m->ksize)
		return -EINVAL;
	i = keymap_find(m, key, 0);
	if (i < m->cap) {
		if (old)
			*old = m->values[i];
		m->values[i] = value;
		return 0;
	}
	if ((m->used + 1) * 4 > m->cap * 3) {
		err = keymap_grow(m);
		if (err)
			return err;
	}
	i = keymap_find(m, key, 1);
	if (m->state[i] == KEYMAP_EMPTY)
		m->used++; /* a reused tombstone was counted already */
	memcpy(keymap_key(m, i), key, m->ksize);
	m->values[i] = value;
	m->state[i] = KEYMAP_LIVE;
	m->len++;
	return 0;
}

void *keymap_del(struct keymap *m, const void *key)
{
	size_t i = keymap_find(m, key, 0);
	void *v;

	if (i >= m->cap)
		return NULL;
	v = m->values[i];
	m->values[i] = NULL;
	m->state[i] = KEYMAP_TOMB;
	m->len--;
	return v;
}

size_t keymap_next(const struct keymap *m, size_t pos, const void **key, void **value)
{
	for (; pos < m->cap; pos++) {
		if (m->state[pos] == KEYMAP_LIVE) {
			*key = keymap_key(m, pos);
			*value = m->values[pos];
			return pos + 1;
		}
	}
	return 0;
}
