/* SPDX-License-Identifier: Apache-2.0 */
/*
 * weir-load's own checks of its pure parts (histogram, timeline, HTTP framing) against known
 * answers, run first by bench/run.sh so that a wrong percentile never reaches a report.
 */
#ifndef WEIR_BENCH_SELFTEST_H
#define WEIR_BENCH_SELFTEST_H

/* Runs every check, printing each failure; returns the number of failures (0 = all good). */
int selftest_run(void);

#endif /* WEIR_BENCH_SELFTEST_H */
