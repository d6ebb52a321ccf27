// SPDX-License-Identifier: Apache-2.0
/*
 * Log-linear latency histogram (see hist.h). Values below 128 have a bucket each; above, the
 * bucket is chosen by the position of the top bit (the exponent) and the next 7 bits (the
 * sub-bucket), which bounds the relative error of every reported percentile by 1/128.
 */
#include <string.h>

#include "hist.h"

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/* The exponent-major index: values [2^e, 2^(e+1)) for e >= 7 land in row e - 6. */
unsigned int hist_bucket(uint64_t v, uint64_t *lo, uint64_t *hi)
{
	unsigned int e, shift;
	uint64_t mant;

	if (v < HIST_SUB) {
		if (lo)
			*lo = v;
		if (hi)
			*hi = v;
		return (unsigned int)v;
	}
	e = 63 - (unsigned int)__builtin_clzll(v);
	if (e > HIST_MAX_EXP) {
		e = HIST_MAX_EXP;
		v = (1ull << (HIST_MAX_EXP + 1)) - 1;
	}
	shift = e - HIST_SUB_BITS;
	mant = v >> shift; /* in [HIST_SUB, 2 * HIST_SUB) */
	if (lo)
		*lo = mant << shift;
	if (hi)
		*hi = ((mant + 1) << shift) - 1;
	return (shift + 1) * HIST_SUB + (unsigned int)(mant - HIST_SUB);
}

void hist_record(struct hist *h, uint64_t v)
{
	h->counts[hist_bucket(v, NULL, NULL)]++;
	h->total++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned int i;

	for (i = 0; i < HIST_BUCKETS; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* The inverse of hist_bucket(): bounds of bucket <idx>. */
static void hist_bounds(unsigned int idx, uint64_t *lo, uint64_t *hi)
{
	unsigned int row = idx / HIST_SUB, shift;
	uint64_t mant;

	if (row == 0) {
		*lo = *hi = idx;
		return;
	}
	shift = row - 1;
	mant = HIST_SUB + idx % HIST_SUB;
	*lo = mant << shift;
	*hi = ((mant + 1) << shift) - 1;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t want, seen = 0, lo, hi, v;
	unsigned int i;

	if (!h->total)
		return 0;
	if (p >= 100.0)
		return h->max;
	/* The rank of the value at p: ceil, so that p99 of 100 values is the 99th, not the 100th. */
	want = (uint64_t)(p / 100.0 * (double)h->total + 0.999999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= want)
			break;
	}
	if (i == HIST_BUCKETS)
		return h->max;
	hist_bounds(i, &lo, &hi);
	v = lo + (hi - lo) / 2;
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}
