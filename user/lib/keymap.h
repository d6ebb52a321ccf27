/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A hash map over fixed-size binary keys (a struct, an IPv4 address, a netns cookie),
 * compared with memcmp: for tables keyed by what the datapath's maps are keyed by, without
 * printing keys to strings and parsing them back. Control plane only: open addressing
 * with linear probing, keys copied into the table, allocation on growth.
 */
#ifndef WEIR_USER_KEYMAP_H
#define WEIR_USER_KEYMAP_H

#include <stddef.h>

struct keymap {
	void **values;	      /* [cap] */
	unsigned char *keys;  /* [cap * ksize], the key of slot i at i * ksize */
	unsigned char *state; /* [cap] KEYMAP_* of keymap.c: empty, live, deleted */
	size_t ksize;	      /* bytes of every key, fixed at keymap_init() */
	size_t cap;	      /* power of two, or 0 */
	size_t len;	      /* live keys */
	size_t used;	      /* live keys + tombstones */
};

/*
 * Initialises <m> empty, for keys of <ksize> bytes. Keys are compared byte for byte, so a
 * struct key must have its padding zeroed (as every key of include/weir/ already must).
 */
void keymap_init(struct keymap *m, size_t ksize);

/* Frees the table; <free_value> (may be NULL) is called for every live value. */
void keymap_fini(struct keymap *m, void (*free_value)(void *));

/* The value stored under the <m>->ksize bytes at <key>, or NULL. */
void *keymap_get(const struct keymap *m, const void *key);

/*
 * Stores <value> under <key> (copied), replacing and returning any old value through
 * <old> (may be NULL). Returns 0, -ENOMEM, or -EINVAL for a map of key size 0.
 */
int keymap_put(struct keymap *m, const void *key, void *value, void **old);

/* Removes <key>; returns its value or NULL. Safe while iterating with keymap_next(). */
void *keymap_del(struct keymap *m, const void *key);

/*
 * Iteration: for (i = 0; (i = keymap_next(m, i, &k, &v)) != 0; ) ...; starts at 0. <*key>
 * points into the table, valid until the next keymap_put() or keymap_fini(), and is not
 * aligned for its type in general: memcpy it out rather than casting.
 */
size_t keymap_next(const struct keymap *m, size_t pos, const void **key, void **value);

#endif /* WEIR_USER_KEYMAP_H */
