/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Latency histogram for weir-load: log-linear buckets in the manner of HdrHistogram (each power
 * of two split into 128 linear sub-buckets), so that any recorded value is reported within 1/128
 * (0.8 %) of itself with a fixed 37 KiB of counters and O(1) recording.
 */
#ifndef WEIR_BENCH_HIST_H
#define WEIR_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_MAX_EXP  42 /* values up to 2^42 ns (about 73 minutes); larger ones are clamped */
#define HIST_BUCKETS  ((HIST_MAX_EXP - HIST_SUB_BITS + 2) * HIST_SUB)

struct hist {
	uint64_t counts[HIST_BUCKETS];
	uint64_t total;  /* number of recorded values */
	uint64_t min;    /* exact smallest recorded value */
	uint64_t max;    /* exact largest recorded value */
	double sum;      /* for the mean */
};

/* Empties <h>. */
void hist_init(struct hist *h);
/* Records <v> (nanoseconds, or any unit) once in <h>. */
void hist_record(struct hist *h, uint64_t v);
/* Adds every count of <src> into <dst>. */
void hist_merge(struct hist *dst, const struct hist *src);
/*
 * Returns the value at percentile <p> (0 < p <= 100) of <h>: the midpoint of the bucket holding
 * the ceil(p/100 * total)-th smallest value, clamped to [min, max]; 0 when <h> is empty.
 */
uint64_t hist_percentile(const struct hist *h, double p);
/* Returns the bucket index of <v> and, through <lo>/<hi>, the bucket's inclusive bounds. */
unsigned int hist_bucket(uint64_t v, uint64_t *lo, uint64_t *hi);

#endif /* WEIR_BENCH_HIST_H */
