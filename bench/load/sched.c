// SPDX-License-Identifier: Apache-2.0
/*
 * Timeline arithmetic for the open-loop generator (see sched.h). Integer nanoseconds from a
 * double rate: i * 1e9 / rate is computed in long double so that a run of millions of requests
 * does not drift by accumulated rounding (each due time is computed afresh, never summed).
 */
#include "sched.h"

uint64_t sched_at(uint64_t start, uint64_t i, double rate)
{
	return start + (uint64_t)((long double)i * 1e9L / (long double)rate);
}

uint64_t sched_due(uint64_t start, uint64_t now, double rate)
{
	uint64_t n;

	if (now < start)
		return 0;
	n = (uint64_t)((long double)(now - start) * (long double)rate / 1e9L) + 1;
	/* Rounding of the division can land one off either way: settle on the exact definition. */
	while (n > 0 && sched_at(start, n - 1, rate) > now)
		n--;
	while (sched_at(start, n, rate) <= now)
		n++;
	return n;
}

uint64_t sched_total(double rate, double seconds, uint64_t count)
{
	uint64_t n = (uint64_t)(rate * seconds + 0.5);

	if (count && (n == 0 || count < n))
		n = count;
	return n;
}
