/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading weir's maps and links from tests: reason counters summed over CPUs, edges by
 * key (with a bounded wait for the asynchronous close accounting), the cgroup links on
 * one cgroup.
 */
#ifndef WEIR_TESTS_PROBE_H
#define WEIR_TESTS_PROBE_H

#include <stdint.h>

#include <weir/edge.h>

/* weir_reasons[WEIR_REASON_SLOT(<hook>, <reason>)] summed over CPUs (map fd <fd>). */
uint64_t probe_reason(int fd, unsigned int hook, unsigned int reason);

/* Builds an edge key (zeroed padding). */
struct weir_edge_key probe_ekey(uint32_t src, uint32_t dst, uint32_t svc, uint16_t dport,
				uint8_t proto, uint8_t path);

/* Reads edge <key> of map <fd> into <out>; a missing edge reads as zeros. Returns 0, -errno. */
int probe_edge(int fd, const struct weir_edge_key *key, struct weir_edge *out);

/*
 * Waits up to <ms> milliseconds until edge <key> has at least <closed> closed connections,
 * then reads it into <out>. Returns 0 or -ETIMEDOUT (<out> then holds the last read).
 */
int probe_edge_wait_closed(int fd, const struct weir_edge_key *key, uint64_t closed, int ms,
			   struct weir_edge *out);

/*
 * Counts the cgroup links attached to cgroup id <cg_id> and stores up to <max> of their
 * program ids in <prog_ids> (may be NULL). Returns the count or -errno.
 */
int probe_cgroup_links(uint64_t cg_id, uint32_t *prog_ids, int max);

#endif /* WEIR_TESTS_PROBE_H */
