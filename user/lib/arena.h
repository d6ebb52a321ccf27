/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bump arena: many small allocations, one free. The config store gives every parsed file
 * and every model snapshot its own arena, so that replacing either is a single arena_free()
 * and no object graph needs a destructor (nginx's pools, h2o's mem pools).
 */
#ifndef WEIR_USER_ARENA_H
#define WEIR_USER_ARENA_H

#include <stddef.h>

struct arena;

/* A new empty arena. Returns NULL and sets errno on failure. */
struct arena *arena_new(void);

/*
 * <size> zeroed bytes from <a>, aligned for any type, valid until arena_free(<a>).
 * Returns NULL and sets errno (ENOMEM, EOVERFLOW).
 */
void *arena_alloc(struct arena *a, size_t size);

/* <n> zeroed elements of <size> bytes from <a>, overflow-checked. NULL+errno on failure. */
void *arena_calloc(struct arena *a, size_t n, size_t size);

/* A copy of <s> in <a>; NULL <s> gives NULL (errno untouched). NULL+errno on failure. */
char *arena_strdup(struct arena *a, const char *s);

/* A NUL-terminated copy of the <len> bytes at <s> in <a>. NULL+errno on failure. */
char *arena_strndup(struct arena *a, const char *s, size_t len);

/* A printf-formatted string in <a>. NULL+errno on failure. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Bytes handed out by <a> so far (for stats and tests). */
size_t arena_used(const struct arena *a);

/* Frees <a> and everything allocated from it. Accepts NULL. */
void arena_free(struct arena *a);

#endif /* WEIR_USER_ARENA_H */
