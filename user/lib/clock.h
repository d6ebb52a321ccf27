/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's one clock (clock.c): CLOCK_MONOTONIC, the clock bpf_ktime_get_ns() reads, so
 * times the agent writes into weir_edges (last_ns) compare with the datapath's.
 */
#ifndef WEIR_USER_CLOCK_H
#define WEIR_USER_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t clock_mono_ns(void);

#endif /* WEIR_USER_CLOCK_H */
