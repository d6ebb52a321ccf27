/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The open-loop timeline of weir-load: request i is due at start + i / rate, whatever happened to
 * the requests before it. Latency is measured from that instant, so a stalled server is charged
 * for every request it delayed (no coordinated omission).
 */
#ifndef WEIR_BENCH_SCHED_H
#define WEIR_BENCH_SCHED_H

#include <stdint.h>

/* Returns the due time (ns) of request <i> of a timeline starting at <start> at <rate> per s. */
uint64_t sched_at(uint64_t start, uint64_t i, double rate);
/*
 * Returns how many requests of the timeline (<start>, <rate>) are due at <now>: request i is due
 * when sched_at(start, i, rate) <= now, so this is 0 before <start> and 1 at <start>.
 */
uint64_t sched_due(uint64_t start, uint64_t now, double rate);
/* Returns how many requests a run of <seconds> at <rate> schedules, capped by <count> if not 0. */
uint64_t sched_total(double rate, double seconds, uint64_t count);

#endif /* WEIR_BENCH_SCHED_H */
