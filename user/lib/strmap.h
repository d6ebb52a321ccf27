/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A string-keyed hash map for the control plane (open addressing, linear probing, keys
 * copied and owned by the map). Not for the data plane: it allocates on insert.
 */
#ifndef WEIR_USER_STRMAP_H
#define WEIR_USER_STRMAP_H

#include <stddef.h>

struct strmap_slot {
	char *key; /* NULL: empty */
	void *value;
	int tomb; /* 1: deleted, keeps probe chains intact */
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap;  /* power of two, or 0 */
	size_t len;  /* live keys */
	size_t used; /* live keys + tombstones */
};

void strmap_init(struct strmap *m);
/* Frees the keys and slots; <free_value> (may be NULL) is called for every value. */
void strmap_fini(struct strmap *m, void (*free_value)(void *));
/* The value stored under <key>, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/* Stores <value> under <key> (copied), replacing and returning any old value through
 * <old> (may be NULL). Returns 0 or -ENOMEM. */
int strmap_put(struct strmap *m, const char *key, void *value, void **old);
/* Removes <key>; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);
/* Iteration: for (i = 0; (i = strmap_next(m, i, &k, &v)) != 0; ) ... ; starts at 0. */
size_t strmap_next(const struct strmap *m, size_t pos, const char **key, void **value);

#endif /* WEIR_USER_STRMAP_H */
