// SPDX-License-Identifier: Apache-2.0
/*
 * The Maglev table of maglev.h. Each backend i gets a permutation of the slots from two
 * hashes of its key, offset = h1 % M and skip = h2 % (M - 1) + 1 (M prime, so every skip
 * walks all slots); backends take turns claiming their next free slot until the table is
 * full. Weights follow Envoy's weighted variant: in every round a backend earns its weight
 * in credit and claims one slot per max_weight of credit, so slot counts track weights.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/maglev.h"

/* Seeds of the two permutation hashes: any two distinct constants. */
#define MAGLEV_SEED_OFFSET 0x2f7a1c3e5b9d4f61ULL
#define MAGLEV_SEED_SKIP   0x6c0b8e3d91a5f247ULL

void maglev_init(struct maglev *m)
{
	memset(m, 0, sizeof(*m));
}

void maglev_fini(struct maglev *m)
{
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

uint64_t maglev_hash(const void *p, size_t len, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	/*
	 * FNV alone spreads short, similar keys ("10.0.0.1:80", "10.0.0.2:80") poorly in
	 * the low bits that the modulo keeps; the splitmix64 finaliser mixes every bit.
	 */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

int maglev_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return 0;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

/* Per-backend build state, freed before maglev_build() returns. */
struct maglev_perm {
	uint32_t offset;
	uint32_t skip;
	uint32_t next;	 /* how far along its permutation the backend is */
	uint64_t credit; /* weighted turns earned and not yet spent */
};

int maglev_build(struct maglev *m, const struct maglev_backend *b, size_t n, uint32_t size)
{
	struct maglev_perm *p;
	uint32_t filled = 0, max_w = 0, live = 0;
	size_t i;

	if (!size)
		size = MAGLEV_SIZE_DEFAULT;
	/*
	 * A prime size makes every skip coprime with it, so each permutation visits every
	 * slot; the size must exceed the live backends or some would own nothing.
	 */
	if (n > MAGLEV_MAX_BACKENDS || !maglev_is_prime(size) || size < 3)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!b[i].weight)
			continue;
		live++;
		if (b[i].weight > max_w)
			max_w = b[i].weight;
	}
	if (live >= size)
		return -EINVAL;
	if (!live) {
		/* An empty table: lookups say "no backend" rather than pick a stale one. */
		maglev_fini(m);
		return -ENOENT;
	}
	/* Allocate everything before touching <m>: a failed build leaves the old table. */
	p = calloc(n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (m->size != size || !m->slot) {
		uint16_t *slot = malloc(sizeof(*slot) * size);

		if (!slot) {
			free(p);
			return -ENOMEM;
		}
		free(m->slot);
		m->slot = slot;
	}
	m->size = size;
	m->nbackends = (uint32_t)n;
	for (i = 0; i < n; i++) {
		size_t klen = b[i].key ? strlen(b[i].key) : 0;

		p[i].offset = (uint32_t)(maglev_hash(b[i].key, klen, MAGLEV_SEED_OFFSET) % size);
		p[i].skip =
		    (uint32_t)(maglev_hash(b[i].key, klen, MAGLEV_SEED_SKIP) % (size - 1)) + 1;
	}
	/* 0xffff marks a free slot: backend indexes stop at MAGLEV_MAX_BACKENDS - 1. */
	memset(m->slot, 0xff, sizeof(*m->slot) * size);
	/*
	 * Rounds of turns in backend order, as the paper's Algorithm 1. The order of turns is
	 * what makes the table deterministic: every worker builds the same table from the
	 * same endpoints, so a key lands on the same Pod whichever worker takes the request.
	 */
	while (filled < size) {
		for (i = 0; i < n && filled < size; i++) {
			if (!b[i].weight)
				continue;
			p[i].credit += b[i].weight;
			while (p[i].credit >= max_w && filled < size) {
				uint32_t c;

				p[i].credit -= max_w;
				/* Walk the permutation to the backend's next free slot. */
				do {
					c = (uint32_t)((p[i].offset +
							(uint64_t)p[i].next * p[i].skip) %
						       size);
					p[i].next++;
				} while (m->slot[c] != 0xffff);
				m->slot[c] = (uint16_t)i;
				filled++;
			}
		}
	}
	free(p);
	return 0;
}
