/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016) for DestinationRule
 * consistentHash: a lookup table of prime size M in which every backend owns slots in
 * proportion to its weight, filled from per-backend permutations so that removing one
 * backend moves about 1/N of the keys. Building is control-plane work (once per cluster and
 * snapshot generation, per worker); a lookup is one hash and one array read.
 */
#ifndef WEIR_MODEL_MAGLEV_H
#define WEIR_MODEL_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

#define MAGLEV_SIZE_DEFAULT 65537u /* Envoy's and Istio's default table size */
#define MAGLEV_MAX_BACKENDS 65535u /* slots name backends in 16 bits */

/* One backend the table is built from. */
struct maglev_backend {
	const char *key; /* stable identity hashed into the permutation ("10.0.0.7:8080") */
	uint32_t weight; /* relative; 0 keeps the backend out of the table */
};

/* A built table. Caller's storage: maglev_init() before the first build, maglev_fini() after. */
struct maglev {
	uint16_t *slot; /* <size> entries: index into the backends the table was built from */
	uint32_t size;	/* prime M */
	uint32_t nbackends;
};

/* Prepares <m> (caller's storage) as an empty table. */
void maglev_init(struct maglev *m);

/* Releases the slots of <m>; <m> may be built again. Accepts a zeroed <m>. */
void maglev_fini(struct maglev *m);

/*
 * Fills <m> from the <n> backends at <b> with a table of <size> slots (0: 65537). <size>
 * must be prime and larger than the number of backends with weight. Reuses <m>'s slots when
 * the size is unchanged. Returns 0, -EINVAL (size not prime or too small, or n too large),
 * -ENOENT when no backend has weight (the table is then empty), or -ENOMEM.
 */
int maglev_build(struct maglev *m, const struct maglev_backend *b, size_t n, uint32_t size);

/*
 * The backend index <hash> lands on in <m>, or -1 when <m> is empty. The caller hashes the
 * request's key with maglev_hash().
 */
static inline int maglev_lookup(const struct maglev *m, uint64_t hash)
{
	return m->size && m->slot ? m->slot[hash % m->size] : -1;
}

/* A 64-bit hash of <len> bytes at <p> with <seed> (FNV-1a folded through a 64-bit mixer). */
uint64_t maglev_hash(const void *p, size_t len, uint64_t seed);

/* Whether <n> is prime (trial division; table sizes are small). */
int maglev_is_prime(uint32_t n);

#endif /* WEIR_MODEL_MAGLEV_H */
