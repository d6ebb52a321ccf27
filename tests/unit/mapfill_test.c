// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the map fill levels (telemetry/mapfill.c): the exposition of counted and
 * uncountable maps, and, as root with a private bpffs, real pinned maps counted, arrays
 * left uncounted, non-map entries skipped, and the count kept until min_interval passes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "telemetry/mapfill.h"

static void test_write_rows(void **state)
{
	struct mapfill_row rows[2] = {
	    {.name = "weir_edges", .type = "hash", .max_entries = 65536, .entries = 3},
	    {.name = "weir_reasons", .type = "percpu_array", .max_entries = 64, .entries = -1},
	};
	struct strbuf sb;
	const char *s;

	(void)state;
	strbuf_init(&sb);
	assert_int_equal(mapfill_write_rows(&sb, rows, 2, 0.25), 0);
	s = strbuf_str(&sb);
	assert_non_null(strstr(s, "# TYPE weir_map_entries gauge\n"));
	assert_non_null(strstr(s, "weir_map_entries{map=\"weir_edges\",type=\"hash\"} 3\n"));
	/* An array always looks full: it has a bound, no count. */
	assert_null(strstr(s, "weir_map_entries{map=\"weir_reasons\""));
	assert_non_null(
	    strstr(s, "weir_map_max_entries{map=\"weir_edges\",type=\"hash\"} 65536\n"));
	assert_non_null(
	    strstr(s, "weir_map_max_entries{map=\"weir_reasons\",type=\"percpu_array\"} 64\n"));
	assert_non_null(strstr(s, "weir_map_count_seconds 0.25\n"));
	strbuf_fini(&sb);
}

/* A private bpffs in a temporary directory, or NULL (the test skips) when not root. */
static char *bpffs_mount(void)
{
	char tmpl[] = "/tmp/mapfill-test.XXXXXX", *d;

	if (geteuid() != 0)
		return NULL;
	d = mkdtemp(tmpl);
	if (!d)
		return NULL;
	if (mount("bpf", d, "bpf", 0, NULL)) {
		rmdir(d);
		return NULL;
	}
	return strdup(d);
}

static int pin_new_map(const char *dir, const char *name, enum bpf_map_type type,
		       uint32_t max_entries)
{
	char path[256];
	int fd = bpf_map_create(type, NULL, 4, 8, max_entries, NULL);

	assert_true(fd >= 0);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	return fd;
}

static void put(int fd, uint32_t key)
{
	uint64_t v = key;

	assert_int_equal(bpf_map_update_elem(fd, &key, &v, BPF_ANY), 0);
}

static void test_pinned_maps(void **state)
{
	const struct mapfill_row *rows;
	struct mapfill *mf;
	char *dir = *state, sub[256];
	int hfd, afd;

	if (!dir)
		skip();
	hfd = pin_new_map(dir, "weir_x", BPF_MAP_TYPE_HASH, 8);
	afd = pin_new_map(dir, "weir_arr", BPF_MAP_TYPE_ARRAY, 4);
	snprintf(sub, sizeof(sub), "%s/retired", dir);
	assert_int_equal(mkdir(sub, 0700), 0); /* not a pin: skipped */
	put(hfd, 1);
	put(hfd, 2);
	put(hfd, 3);

	mf = mapfill_new(dir, 10000);
	assert_non_null(mf);
	assert_int_equal(mapfill_refresh(mf, 1000), 0);
	assert_int_equal(mapfill_rows(mf, &rows), 2);
	assert_string_equal(rows[0].name, "weir_arr"); /* sorted by name */
	assert_string_equal(rows[0].type, "array");
	assert_int_equal(rows[0].max_entries, 4);
	assert_int_equal(rows[0].entries, -1);
	assert_string_equal(rows[1].name, "weir_x");
	assert_string_equal(rows[1].type, "hash");
	assert_int_equal(rows[1].max_entries, 8);
	assert_int_equal(rows[1].entries, 3);

	/* Within min_interval the last count stands; past it the map is counted again. */
	put(hfd, 4);
	assert_int_equal(mapfill_refresh(mf, 10999), 0);
	mapfill_rows(mf, &rows);
	assert_int_equal(rows[1].entries, 3);
	assert_int_equal(mapfill_refresh(mf, 11000), 0);
	mapfill_rows(mf, &rows);
	assert_int_equal(rows[1].entries, 4);

	/* A full map counts max_entries exactly. */
	for (uint32_t k = 5; k <= 8; k++)
		put(hfd, k);
	assert_int_equal(mapfill_refresh(mf, 30000), 0);
	mapfill_rows(mf, &rows);
	assert_int_equal(rows[1].entries, 8);
	mapfill_free(mf);

	/* Per-CPU and LRU hashes are counted in batches, an LPM trie key by key. */
	{
		int pfd = pin_new_map(dir, "weir_pcpu", BPF_MAP_TYPE_PERCPU_HASH, 16);
		int lfd = pin_new_map(dir, "weir_lru", BPF_MAP_TYPE_LRU_HASH, 4096);
		LIBBPF_OPTS(bpf_map_create_opts, lo, .map_flags = BPF_F_NO_PREALLOC);
		int tfd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, NULL, 8, 8, 32, &lo);
		uint64_t *pv = calloc(libbpf_num_possible_cpus(), sizeof(*pv));
		char path[256];

		assert_true(tfd >= 0);
		snprintf(path, sizeof(path), "%s/weir_trie", dir);
		assert_int_equal(bpf_obj_pin(tfd, path), 0);
		for (uint32_t k = 0; k < 5; k++)
			assert_int_equal(bpf_map_update_elem(pfd, &k, pv, BPF_ANY), 0);
		for (uint32_t k = 0; k < 2500; k++) /* more than one batch */
			put(lfd, k);
		for (uint32_t k = 0; k < 7; k++) {
			uint32_t key[2] = {32, 0x0a000000 + k}; /* prefix length, address */
			uint64_t v = k;

			assert_int_equal(bpf_map_update_elem(tfd, key, &v, BPF_ANY), 0);
		}
		mf = mapfill_new(dir, 0);
		assert_non_null(mf);
		assert_int_equal(mapfill_refresh(mf, 0), 0);
		assert_int_equal(mapfill_rows(mf, &rows), 5);
		assert_string_equal(rows[1].name, "weir_lru");
		assert_string_equal(rows[1].type, "lru_hash");
		assert_int_equal(rows[1].entries, 2500);
		assert_string_equal(rows[2].name, "weir_pcpu");
		assert_string_equal(rows[2].type, "percpu_hash");
		assert_int_equal(rows[2].entries, 5);
		assert_string_equal(rows[3].name, "weir_trie");
		assert_string_equal(rows[3].type, "lpm_trie");
		assert_int_equal(rows[3].entries, 7);
		mapfill_free(mf);
		free(pv);
		close(pfd);
		close(lfd);
		close(tfd);
	}

	/* A directory that does not exist is an error, not a crash. */
	mf = mapfill_new("/nonexistent/weir", 0);
	assert_non_null(mf);
	assert_int_equal(mapfill_refresh(mf, 0), -ENOENT);
	assert_int_equal(mapfill_rows(mf, &rows), 0);
	mapfill_free(mf);

	close(hfd);
	close(afd);
	rmdir(sub);
}

/* The bpffs is unmounted in the teardown, so that a failed assertion leaves no mount. */
static int setup_bpffs(void **state)
{
	*state = bpffs_mount();
	return 0;
}

static int teardown_bpffs(void **state)
{
	char *dir = *state;

	if (dir) {
		umount2(dir, MNT_DETACH);
		rmdir(dir);
		free(dir);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_rows),
	    cmocka_unit_test_setup_teardown(test_pinned_maps, setup_bpffs, teardown_bpffs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
