/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one exit of every hook: count the reason in weir_reasons and hand back the
 * verdict the caller chose for it. Helpers return >= 0 or -WEIR_R_*; a hook turns the
 * final value into a reason with reason_of() and leaves through reason_exit().
 */
#ifndef WEIR_BPF_REASON_H
#define WEIR_BPF_REASON_H

#include "lib/common.h"
#include "lib/maps.h"

/* Maps a helper's ">= 0 or -WEIR_R_*" result to a reason; >= 0 means <ok>. */
static __always_inline __u32 reason_of(int ret, __u32 ok)
{
	return ret < 0 ? (__u32)-ret : ok;
}

/*
 * Counts <reason> for <hook> and returns <verdict>. The counter is per CPU, but a
 * sleepable-context hook (connect4, getsockopt) can be preempted by another task running
 * the same program on the same CPU, so the add is atomic anyway.
 */
static __always_inline int reason_exit(__u32 hook, __u32 reason, int verdict)
{
	__u32 slot = WEIR_REASON_SLOT(hook, reason);
	__u64 *cnt;

	if (reason >= WEIR_R_MAX)
		return verdict;
	cnt = bpf_map_lookup_elem(&weir_reasons, &slot);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return verdict;
}

#endif /* WEIR_BPF_REASON_H */
