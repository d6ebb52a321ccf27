/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fill levels of the datapath's pinned BPF maps for /metrics: weir_map_entries{map,type}
 * and weir_map_max_entries{map,type}, so that an operator sees a map filling up (and the
 * datapath starting to refuse entries) before it happens.
 *
 * Counting costs time per entry. Hash maps are read with BPF_MAP_LOOKUP_BATCH, about
 * 0.5 us an entry (33 ms for a full 65,536-entry weir_edges, measured on a loaded 2-core
 * machine); other walkable kinds (LPM trie, sockhash) take one BPF_MAP_GET_NEXT_KEY per
 * entry, about 3.5 us (a full 65,536-entry hash walked that way took 240 ms). That is too
 * much for every scrape of every Prometheus, so a count is kept and redone at most every
 * min_interval_ms, and never sooner than 100 times the last count's duration (at most
 * ~1 % of the control thread); a scrape in between writes the kept numbers. Each count is
 * bounded by the map's max_entries (+1), whatever the datapath does to the map meanwhile.
 */
#ifndef WEIR_USER_MAPFILL_H
#define WEIR_USER_MAPFILL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/strbuf.h"

struct mapfill;

/* One pinned map as last counted. */
struct mapfill_row {
	char name[64];	      /* pin name, e.g. "weir_edges" */
	const char *type;     /* "hash", "lru_hash", "lpm_trie", "sockhash", "array", ... */
	uint32_t max_entries; /* from the map's info; 0 when the kind has no such bound */
	int64_t entries;      /* counted entries; -1 when this kind cannot be walked */
};

/*
 * Makes a counter of the maps pinned directly under <bpffs_dir> (the agent's
 * --bpffs-dir), recounted at most every <min_interval_ms>. Returns NULL (errno) on failure.
 */
struct mapfill *mapfill_new(const char *bpffs_dir, uint64_t min_interval_ms);

/* Frees <mf>. Accepts NULL. */
void mapfill_free(struct mapfill *mf);

/*
 * Recounts every pinned map when the last count is older than min_interval_ms (and than
 * 100 times its own duration) at <now_ms>, or there was none; else keeps the last one.
 * Returns 0 or -errno when the directory cannot be read (the last rows stay). Maps that vanish or
 * cannot be opened are skipped.
 */
int mapfill_refresh(struct mapfill *mf, uint64_t now_ms);

/*
 * The rows of the last count, sorted by name, in *<rows> (valid until the next refresh or
 * free); returns their number.
 */
size_t mapfill_rows(const struct mapfill *mf, const struct mapfill_row **rows);

/*
 * Appends the families weir_map_entries and weir_map_max_entries (gauges, labels map and
 * type) for <rows>[0..<n>), plus weir_map_count_seconds (how long the last count took:
 * the cost named above, for the operator to see). Maps whose entries cannot be counted
 * have a max_entries sample only. Returns 0 or -errno from the writer.
 */
int mapfill_write_rows(struct strbuf *out, const struct mapfill_row *rows, size_t n,
		       double count_seconds);

/* mapfill_refresh(<mf>, <now_ms>), then mapfill_write_rows() with its rows. */
int mapfill_write(struct mapfill *mf, struct strbuf *out, uint64_t now_ms);

#endif /* WEIR_USER_MAPFILL_H */
