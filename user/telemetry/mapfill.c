// SPDX-License-Identifier: Apache-2.0
/*
 * Fill levels of the pinned BPF maps (mapfill.h). The agent pins every datapath map by name
 * under its --bpffs-dir; this reads that directory, opens each map pin and counts the
 * entries of the maps where a count means something (hash-like maps). Arrays always hold
 * max_entries slots, and socket storage has no key to walk: those export their bound only.
 * Counts are cached (min_interval_ms, and longer after a slow count) because counting
 * costs time per entry: hash maps are read in batches, other kinds key by key.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/clock.h"
#include "telemetry/mapfill.h"
#include "telemetry/metrics.h"

#define MAPFILL_MAX_MAPS 128  /* the datapath pins a dozen; anything past this is ignored */
#define MAPFILL_BATCH	 1024 /* entries per batched lookup */
/* The next count waits at least this many times the last count's duration: counting takes
 * at most ~1 % of the control thread's time, however big the maps grow. */
#define MAPFILL_DUTY 100

struct mapfill {
	char *dir;
	uint64_t min_interval_ms;
	uint64_t last_ms;
	int counted; /* a count was made: last_ms means something */
	double count_seconds;
	struct mapfill_row *rows;
	size_t nrows;
};

struct mapfill *mapfill_new(const char *bpffs_dir, uint64_t min_interval_ms)
{
	struct mapfill *mf = calloc(1, sizeof(*mf));

	if (!mf)
		return NULL;
	mf->dir = strdup(bpffs_dir);
	if (!mf->dir) {
		free(mf);
		return NULL;
	}
	mf->min_interval_ms = min_interval_ms;
	return mf;
}

void mapfill_free(struct mapfill *mf)
{
	if (!mf)
		return;
	free(mf->rows);
	free(mf->dir);
	free(mf);
}

/*
 * Whether <fd> is a map. bpf_obj_get() opens programs and links too, and the info call
 * cannot tell them apart (it fills whatever info the object has), the anon inode's name can.
 */
static int mapfill_is_map(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return strcmp(target, "anon_inode:bpf-map") == 0;
}

/* Whether entries of <type> can be counted by walking keys (arrays always look full). */
static int mapfill_walkable(enum bpf_map_type type)
{
	switch (type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_LPM_TRIE:
	case BPF_MAP_TYPE_SOCKHASH:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
		return 1;
	default:
		return 0;
	}
}

/* Whether <type> answers BPF_MAP_LOOKUP_BATCH (the hash maps do, since Linux 5.6). */
static int mapfill_batchable(enum bpf_map_type type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
	       type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/*
 * Counts the entries of hash map <fd> with batched lookups, MAPFILL_BATCH at a time: about
 * 0.5 us an entry against 3.5 us for a key walk, keys and values copied out and dropped.
 * Returns the count, or -1 when the kernel refuses (the caller walks keys instead).
 */
static int64_t mapfill_count_batch(int fd, const struct bpf_map_info *info)
{
	uint32_t vsize = info->value_size, chunk, n = 0;
	uint64_t in = 0, out = 0, total = 0;
	void *keys, *vals;
	int err, cpus;

	if (info->type == BPF_MAP_TYPE_PERCPU_HASH || info->type == BPF_MAP_TYPE_LRU_PERCPU_HASH) {
		cpus = libbpf_num_possible_cpus();
		if (cpus <= 0)
			return -1;
		vsize = ((vsize + 7) & ~7u) * (uint32_t)cpus; /* per-CPU values are 8-aligned */
	}
	keys = calloc(MAPFILL_BATCH, info->key_size ? info->key_size : 1);
	vals = calloc(MAPFILL_BATCH, vsize ? vsize : 1);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	/* Bounded like the walk: a map changing under us cannot keep the loop going. */
	do {
		chunk = MAPFILL_BATCH;
		err = bpf_map_lookup_batch(fd, n++ ? &in : NULL, &out, keys, vals, &chunk, NULL);
		total += chunk;
		in = out;
	} while (!err && total <= info->max_entries);
	free(keys);
	free(vals);
	if (err && errno != ENOENT)
		return -1;
	return total > info->max_entries ? info->max_entries : (int64_t)total;
}

/*
 * Counts the keys of map <fd> one by one: at most <max_entries> + 1 steps, so that a map
 * changing under the walk (a deleted key restarts get_next_key from the first key) cannot
 * keep it going. Returns the count, or -1 when the walk is refused.
 */
static int64_t mapfill_count_walk(int fd, uint32_t key_size, uint32_t max_entries)
{
	void *key = calloc(2, key_size ? key_size : 1), *next;
	uint64_t n = 0, bound = (uint64_t)max_entries + 1;
	int err;

	if (!key)
		return -1;
	next = (char *)key + key_size;
	err = bpf_map_get_next_key(fd, NULL, next);
	while (!err && n < bound) {
		n++;
		memcpy(key, next, key_size);
		err = bpf_map_get_next_key(fd, key, next);
	}
	free(key);
	if (err && errno != ENOENT)
		return -1;
	return n > max_entries ? max_entries : (int64_t)n;
}

/* The entries of map <fd>, batched where the kernel can, else walked; -1 when neither works. */
static int64_t mapfill_count(int fd, const struct bpf_map_info *info)
{
	int64_t n = -1;

	if (mapfill_batchable(info->type))
		n = mapfill_count_batch(fd, info);
	if (n < 0)
		n = mapfill_count_walk(fd, info->key_size, info->max_entries);
	return n;
}

static int mapfill_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mapfill_row *)a)->name, ((const struct mapfill_row *)b)->name);
}

/* Fills <row> from the pin <name> in <dir>; 0, or -errno when it is no map we can read. */
static int mapfill_one(const char *dir, const char *name, struct mapfill_row *row)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	char path[4096];
	const char *t;
	int fd, err = 0;

	if (strlen(name) >= sizeof(row->name) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (!mapfill_is_map(fd)) {
		err = -EINVAL;
	} else if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
	} else {
		snprintf(row->name, sizeof(row->name), "%s", name);
		t = libbpf_bpf_map_type_str(info.type);
		row->type = t ? t : "unknown";
		row->max_entries = info.max_entries;
		row->entries = mapfill_walkable(info.type) ? mapfill_count(fd, &info) : -1;
	}
	close(fd);
	return err;
}

int mapfill_refresh(struct mapfill *mf, uint64_t now_ms)
{
	struct mapfill_row *rows;
	struct dirent *de;
	uint64_t t0;
	size_t n = 0;
	DIR *d;

	/* Kept for min_interval_ms, and longer after a slow count (MAPFILL_DUTY). */
	if (mf->counted &&
	    (now_ms < mf->last_ms + mf->min_interval_ms ||
	     now_ms < mf->last_ms + (uint64_t)(mf->count_seconds * 1000 * MAPFILL_DUTY)))
		return 0;
	d = opendir(mf->dir);
	if (!d)
		return -errno;
	rows = calloc(MAPFILL_MAX_MAPS, sizeof(*rows));
	if (!rows) {
		closedir(d);
		return -ENOMEM;
	}
	t0 = clock_mono_ns();
	while ((de = readdir(d)) && n < MAPFILL_MAX_MAPS) {
		/* Pins are files; subdirectories (another agent's pins, retired ones) are not ours.
		 */
		if (de->d_name[0] == '.' || (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue;
		if (!mapfill_one(mf->dir, de->d_name, &rows[n]))
			n++;
	}
	closedir(d);
	qsort(rows, n, sizeof(*rows), mapfill_cmp);
	free(mf->rows);
	mf->rows = rows;
	mf->nrows = n;
	mf->count_seconds = (double)(clock_mono_ns() - t0) / 1e9;
	mf->last_ms = now_ms;
	mf->counted = 1;
	return 0;
}

size_t mapfill_rows(const struct mapfill *mf, const struct mapfill_row **rows)
{
	*rows = mf->rows;
	return mf->nrows;
}

int mapfill_write_rows(struct strbuf *out, const struct mapfill_row *rows, size_t n,
		       double count_seconds)
{
	struct metrics_label l[2] = {{"map", NULL}, {"type", NULL}};
	size_t i;
	int err;

	err =
	    metrics_family(out, "weir_map_entries", METRICS_GAUGE,
			   "Entries in a pinned datapath map at the last count (hash-like maps).");
	for (i = 0; i < n && !err; i++) {
		if (rows[i].entries < 0)
			continue;
		l[0].value = rows[i].name;
		l[1].value = rows[i].type;
		err = metrics_sample_u64(out, "weir_map_entries", l, 2, (uint64_t)rows[i].entries);
	}
	if (!err)
		err = metrics_family(out, "weir_map_max_entries", METRICS_GAUGE,
				     "Capacity (max_entries) of a pinned datapath map.");
	for (i = 0; i < n && !err; i++) {
		l[0].value = rows[i].name;
		l[1].value = rows[i].type;
		err = metrics_sample_u64(out, "weir_map_max_entries", l, 2, rows[i].max_entries);
	}
	if (!err)
		err = metrics_family(out, "weir_map_count_seconds", METRICS_GAUGE,
				     "Time the last count of the pinned maps' entries took.");
	if (!err)
		err = metrics_sample(out, "weir_map_count_seconds", NULL, 0, count_seconds);
	return err;
}

int mapfill_write(struct mapfill *mf, struct strbuf *out, uint64_t now_ms)
{
	/* A directory that cannot be read keeps the last rows: the scrape still answers. */
	mapfill_refresh(mf, now_ms);
	return mapfill_write_rows(out, mf->rows, mf->nrows, mf->count_seconds);
}
