// SPDX-License-Identifier: Apache-2.0
/*
 * The bump arena declared in arena.h: a singly linked list of chunks, allocations carved
 * from the newest one. Requests larger than a quarter chunk get a chunk of their own so a
 * big array does not waste the tail of the current chunk.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"

#define ARENA_CHUNK 8192
#define ARENA_ALIGN _Alignof(max_align_t)

struct arena_chunk {
	struct arena_chunk *next;
	size_t size; /* usable bytes in data[] */
	size_t used; /* bytes of data[] handed out */
	_Alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct arena_chunk *head; /* newest chunk: allocations come from here */
	size_t used;		  /* total bytes handed out */
};

struct arena *arena_new(void)
{
	return calloc(1, sizeof(struct arena));
}

static struct arena_chunk *arena_chunk_new(size_t size)
{
	struct arena_chunk *c;

	if (size > SIZE_MAX - sizeof(*c)) {
		errno = EOVERFLOW;
		return NULL;
	}
	c = calloc(1, sizeof(*c) + size);
	if (!c)
		return NULL;
	c->size = size;
	return c;
}

void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_chunk *c;
	size_t need;
	void *p;

	if (size > SIZE_MAX - ARENA_ALIGN) {
		errno = EOVERFLOW;
		return NULL;
	}
	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (!need)
		need = ARENA_ALIGN; /* distinct pointers even for size 0 */
	c = a->head;
	if (!c || c->size - c->used < need) {
		if (need > ARENA_CHUNK / 4) {
			/* Own chunk, linked behind the head so the head's free tail stays usable.
			 */
			c = arena_chunk_new(need);
			if (!c)
				return NULL;
			if (a->head) {
				c->next = a->head->next;
				a->head->next = c;
			} else {
				a->head = c;
			}
			c->used = need;
			a->used += need;
			return c->data;
		}
		c = arena_chunk_new(ARENA_CHUNK);
		if (!c)
			return NULL;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += need;
	a->used += need;
	return p; /* chunks come from calloc and are never reused: already zero */
}

void *arena_calloc(struct arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = EOVERFLOW;
		return NULL;
	}
	return arena_alloc(a, n * size);
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX) {
		errno = EOVERFLOW;
		return NULL;
	}
	p = arena_alloc(a, len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	if (!s)
		return NULL;
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

size_t arena_used(const struct arena *a)
{
	return a->used;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	if (!a)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}
