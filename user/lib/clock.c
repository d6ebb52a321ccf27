// SPDX-License-Identifier: Apache-2.0
/*
 * CLOCK_MONOTONIC for the agent (clock.h): edges, enrolment backoff, telemetry samples.
 */
#include <time.h>

#include "lib/clock.h"

uint64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
