// SPDX-License-Identifier: Apache-2.0
/*
 * The string map of strmap.h: FNV-1a hashing, linear probing, tombstones on delete and a
 * rebuild at 3/4 load (live plus tombstones), so lookups stay short after churn.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strmap.h"

static uint64_t strmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

void strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void strmap_fini(struct strmap *m, void (*free_value)(void *))
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		if (!m->slots[i].tomb && free_value)
			free_value(m->slots[i].value);
		free(m->slots[i].key);
	}
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* The slot holding <key>, or the first free one on its chain (for an insert). */
static struct strmap_slot *strmap_find(const struct strmap *m, const char *key, int for_insert)
{
	struct strmap_slot *free_slot = NULL;
	size_t mask = m->cap - 1, i;

	if (!m->cap)
		return NULL;
	for (i = strmap_hash(key) & mask;; i = (i + 1) & mask) {
		struct strmap_slot *s = &m->slots[i];

		if (!s->key)
			return for_insert ? (free_slot ? free_slot : s) : NULL;
		if (s->tomb) {
			if (!free_slot)
				free_slot = s;
		} else if (strcmp(s->key, key) == 0) {
			return s;
		}
	}
}

static int strmap_grow(struct strmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16, i;
	struct strmap old = *m;

	/* Only tombstones filling the table: rebuild at the same size. */
	if (m->len * 2 < m->cap)
		ncap = m->cap;
	m->slots = calloc(ncap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	m->cap = ncap;
	m->len = m->used = 0;
	for (i = 0; i < old.cap; i++) {
		struct strmap_slot *s = &old.slots[i], *d;

		if (!s->key)
			continue;
		if (s->tomb) {
			free(s->key);
			continue;
		}
		d = strmap_find(m, s->key, 1);
		*d = *s;
		m->len++;
		m->used++;
	}
	free(old.slots);
	return 0;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_slot *s = strmap_find(m, key, 0);

	return s ? s->value : NULL;
}

int strmap_put(struct strmap *m, const char *key, void *value, void **old)
{
	struct strmap_slot *s;
	char *k;

	if (old)
		*old = NULL;
	s = strmap_find(m, key, 0);
	if (s) {
		if (old)
			*old = s->value;
		s->value = value;
		return 0;
	}
	if ((m->used + 1) * 4 > m->cap * 3 && strmap_grow(m) < 0)
		return -ENOMEM;
	k = strdup(key);
	if (!k)
		return -ENOMEM;
	s = strmap_find(m, key, 1);
	if (s->key) { /* reusing a tombstone */
		free(s->key);
		m->used--;
	}
	s->key = k;
	s->value = value;
	s->tomb = 0;
	m->len++;
	m->used++;
	return 0;
}

void *strmap_del(struct strmap *m, const char *key)
{
	struct strmap_slot *s = strmap_find(m, key, 0);
	void *v;

	if (!s)
		return NULL;
	v = s->value;
	s->value = NULL;
	s->tomb = 1;
	m->len--;
	return v;
}

size_t strmap_next(const struct strmap *m, size_t pos, const char **key, void **value)
{
	for (; pos < m->cap; pos++) {
		if (m->slots[pos].key && !m->slots[pos].tomb) {
			*key = m->slots[pos].key;
			*value = m->slots[pos].value;
			return pos + 1;
		}
	}
	return 0;
}
