// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the config-directory source (user/config/dirsrc.c) feeding a real store, on
 * a real temporary directory with real inotify: loading, the last good state of a rejected
 * file, removal, reload on change, duplicates across files and their retry, the ConfigMap
 * "..data" swap, and the errors of a missing or doubled directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/dirsrc.h"
#include "config/k8s.h"
#include "config/store.h"
#include "lib/log.h"
#include "model/model.h"

#include "../lib/cfgdir.h"

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void test_dirsrc_load_dir(void **state)
{
	struct cfgdir_fix *f = *state;
	struct store_stats st;
	const struct model *m;

	cfgdir_put(f, "a.yaml", cfgdir_svc_yaml("alpha", 1, 80));
	cfgdir_put(f, "b.yml",
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: p1}\n"
		   "status: {podIP: 198.18.1.1}\n---\n"
		   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n");
	cfgdir_put(f, "c.json",
		   "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", "
		   "\"metadata\": {\"name\": \"p2\"}}");
	/* Not config: editor leftovers, dotfiles, other extensions. */
	cfgdir_put(f, "a.yaml~", cfgdir_svc_yaml("backup", 2, 80));
	cfgdir_put(f, ".a.yaml.swp", "garbage: [");
	cfgdir_put(f, ".hidden.yaml", cfgdir_svc_yaml("hidden", 3, 80));
	cfgdir_put(f, "notes.txt", "hello");
	cfgdir_open(f);
	assert_true(dirsrc_watch_fd(f->d) >= 0);
	assert_int_equal(dirsrc_load(f->d), 0);
	store_get_stats(f->s, &st);
	assert_int_equal(st.files, 3);
	assert_int_equal(st.files_ok, 3);
	assert_int_equal(st.files_rejected, 0);
	assert_int_equal(st.loads, 3);
	assert_int_equal(st.objects[K8S_SERVICE], 1);
	assert_int_equal(st.objects[K8S_POD], 2);
	m = cfgdir_snapshot(f);
	assert_int_equal(m->nservices, 1);
	assert_int_equal(m->npods, 2);
	assert_non_null(model_find_pod_by_ip(m, ip4("198.18.1.1")));
	assert_non_null(model_find_svc_port(m, ip4("198.19.0.1"), htons(80), IPPROTO_TCP, NULL));
	assert_non_null(strstr(m->services[0].source, "/a.yaml"));
	/* Generations increase per snapshot. */
	assert_int_equal(m->generation, 1);
	assert_int_equal(cfgdir_snapshot(f)->generation, 2);
	/* A rescan of an unchanged directory loads nothing again. */
	assert_int_equal(dirsrc_load(f->d), 0);
	store_get_stats(f->s, &st);
	assert_int_equal(st.loads, 3);
}

static void test_dirsrc_bad_file_keeps_last_good(void **state)
{
	struct cfgdir_fix *f = *state;
	unsigned long errs;
	struct store_stats st;
	const struct model *m;
	const char *err;

	cfgdir_put(f, "a.yaml", cfgdir_svc_yaml("alpha", 1, 80));
	cfgdir_put(f, "b.yaml", cfgdir_svc_yaml("beta", 2, 80));
	cfgdir_open(f);
	assert_int_equal(dirsrc_load(f->d), 0);
	assert_null(store_file_error(f->s, "a.yaml"));

	/* a.yaml turns bad, b.yaml changes well: a keeps its old objects, b's change applies. */
	errs = log_count(LOG_ERR);
	cfgdir_put(f, "a.yaml",
		   "apiVersion: v1\nkind: Service\nmetadata: {name: alpha}\n"
		   "spec: {clusterIP: 198.19.0.1, ports: [{name: http, port: 70000}]}\n");
	cfgdir_put(f, "b.yaml", cfgdir_svc_yaml("beta", 2, 8080));
	assert_int_equal(dirsrc_load(f->d), 0);
	assert_true(log_count(LOG_ERR) > errs); /* logged, not only recorded */
	err = store_file_error(f->s, "a.yaml");
	assert_non_null(err);
	assert_non_null(strstr(err, "/a.yaml: Service default/alpha: spec.ports[0].port: 70000 "
				    "is not a port (1-65535)"));
	assert_null(store_file_error(f->s, "b.yaml"));
	store_get_stats(f->s, &st);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.files_ok, 1);
	assert_int_equal(st.files_rejected, 1);
	assert_int_equal(st.rejects, 1);
	assert_int_equal(st.objects[K8S_SERVICE], 2);
	m = cfgdir_snapshot(f);
	assert_int_equal(cfgdir_svc_port(m, "alpha"), 80);
	assert_int_equal(cfgdir_svc_port(m, "beta"), 8080);

	/* A syntax error is the same: rejected, last good kept, the error has the line. */
	cfgdir_put(f, "a.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: alpha\n");
	assert_int_equal(dirsrc_load(f->d), 0);
	assert_non_null(strstr(store_file_error(f->s, "a.yaml"), "YAML syntax error at line"));
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "alpha"), 80);

	/* Fixed: the new objects apply and the error clears. */
	cfgdir_put(f, "a.yaml", cfgdir_svc_yaml("alpha", 1, 81));
	assert_int_equal(dirsrc_load(f->d), 0);
	assert_null(store_file_error(f->s, "a.yaml"));
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "alpha"), 81);
	store_get_stats(f->s, &st);
	assert_int_equal(st.files_rejected, 0);
	assert_int_equal(st.rejects, 2);
}

static void test_dirsrc_first_load_bad(void **state)
{
	struct cfgdir_fix *f = *state;
	struct store_stats st;

	cfgdir_put(f, "bad.yaml", cfgdir_svc_yaml("ok-one", 1, 80)); /* good document... */
	cfgdir_put(f, "bad.yaml",
		   "apiVersion: v1\nkind: Service\nmetadata: {name: one}\n"
		   "spec: {ports: [{port: 80}]}\n---\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: Two}\n");
	cfgdir_put(f, "good.yaml", cfgdir_svc_yaml("good", 2, 80));
	cfgdir_open(f);
	assert_int_equal(dirsrc_load(f->d), 0);
	store_get_stats(f->s, &st);
	assert_int_equal(st.files_rejected, 1);
	assert_int_equal(st.objects[K8S_SERVICE], 1); /* the bad file contributes nothing */
	assert_int_equal(st.objects[K8S_POD], 0);
	assert_int_equal(cfgdir_snapshot(f)->nservices, 1);
	assert_non_null(strstr(store_file_error(f->s, "bad.yaml"), "Pod default/Two"));
}

static void test_dirsrc_delete_file(void **state)
{
	struct cfgdir_fix *f = *state;
	struct store_stats st;

	cfgdir_put(f, "a.yaml", cfgdir_svc_yaml("alpha", 1, 80));
	cfgdir_put(f, "b.yaml", cfgdir_svc_yaml("beta", 2, 80));
	cfgdir_open(f);
	assert_int_equal(dirsrc_load(f->d), 0);
	assert_int_equal(cfgdir_snapshot(f)->nservices, 2);
	cfgdir_del(f, "a.yaml");
	assert_int_equal(dirsrc_load(f->d), 0);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "alpha"), 0);
	assert_int_equal(cfgdir_svc_port(f->m, "beta"), 80);
	store_get_stats(f->s, &st);
	assert_int_equal(st.files, 1);
	assert_null(store_file_error(f->s, "a.yaml"));
}

/* Waits up to two seconds for the watch fd to become readable. */
static bool wait_readable(struct cfgdir_fix *f)
{
	struct pollfd p = {.fd = dirsrc_watch_fd(f->d), .events = POLLIN};

	return poll(&p, 1, 2000) == 1 && (p.revents & POLLIN);
}

static void test_dirsrc_inotify(void **state)
{
	struct cfgdir_fix *f = *state;
	char from[512], to[512];
	bool changed = true;

	cfgdir_put(f, "a.yaml", cfgdir_svc_yaml("alpha", 1, 80));
	cfgdir_open(f);
	assert_int_equal(dirsrc_load(f->d), 0);
	/* Nothing pending: no change. */
	assert_int_equal(dirsrc_handle_events(f->d, &changed), 0);
	assert_false(changed);

	/* A new file: the fd becomes readable and the object appears. */
	cfgdir_put(f, "b.yaml", cfgdir_svc_yaml("beta", 2, 80));
	assert_true(wait_readable(f));
	assert_int_equal(dirsrc_handle_events(f->d, &changed), 0);
	assert_true(changed);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "beta"), 80);

	/* A burst on one file is drained and applied once, with the final content. */
	cfgdir_put(f, "b.yaml", cfgdir_svc_yaml("beta", 2, 81));
	cfgdir_put(f, "b.yaml", cfgdir_svc_yaml("beta", 2, 82));
	cfgdir_put(f, "b.yaml", cfgdir_svc_yaml("beta", 2, 83));
	assert_true(wait_readable(f));
	assert_int_equal(dirsrc_handle_events(f->d, &changed), 0);
	assert_true(changed);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "beta"), 83);

	/* An editor's atomic save: write a temp dotfile, rename it over (IN_MOVED_TO). */
	cfgdir_put(f, ".a.yaml.tmp", cfgdir_svc_yaml("alpha", 1, 90));
	snprintf(from, sizeof(from), "%s/.a.yaml.tmp", f->dir);
	snprintf(to, sizeof(to), "%s/a.yaml", f->dir);
	assert_int_equal(rename(from, to), 0);
	assert_true(wait_readable(f));
	assert_int_equal(dirsrc_handle_events(f->d, &changed), 0);
	assert_true(changed);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "alpha"), 90);

	/* Ignored names cause events but no change. */
	cfgdir_put(f, ".swap.yaml", cfgdir_svc_yaml("x", 9, 80));
	cfgdir_put(f, "a.yaml~", cfgdir_svc_yaml("y", 9, 80));
	assert_true(wait_readable(f));
	assert_int_equal(dirsrc_handle_events(f->d, &changed), 0);
	assert_false(changed);

	/* A bad write: no change in force, the error recorded. */
	cfgdir_put(f, "b.yaml", "kind: [");
	assert_true(wait_readable(f));
	assert_int_equal(dirsrc_handle_events(f->d, &changed), 0);
	assert_false(changed);
	assert_non_null(store_file_error(f->s, "b.yaml"));
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "beta"), 83);

	/* Deleting a file removes its objects (IN_DELETE). */
	cfgdir_del(f, "b.yaml");
	assert_true(wait_readable(f));
	assert_int_equal(dirsrc_handle_events(f->d, &changed), 0);
	assert_true(changed);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "beta"), 0);
	assert_null(store_file_error(f->s, "b.yaml"));

	/* Moving a file out of the directory too (IN_MOVED_FROM). */
	snprintf(from, sizeof(from), "%s/a.yaml", f->dir);
	snprintf(to, sizeof(to), "%s/a.yaml.off", f->dir);
	assert_int_equal(rename(from, to), 0);
	assert_true(wait_readable(f));
	assert_int_equal(dirsrc_handle_events(f->d, &changed), 0);
	assert_true(changed);
	assert_int_equal(cfgdir_snapshot(f)->nservices, 0);
}

static void test_dirsrc_duplicates(void **state)
{
	struct cfgdir_fix *f = *state;
	struct store_stats st;
	bool changed;
	const char *err;

	cfgdir_put(f, "a.yaml", cfgdir_svc_yaml("same", 1, 80));
	cfgdir_put(f, "b.yaml", cfgdir_svc_yaml("same", 2, 81));
	cfgdir_put(f, "c.yaml", cfgdir_svc_yaml("other", 3, 80));
	cfgdir_open(f);
	assert_int_equal(dirsrc_load(f->d), 0);
	/* The first file in name order wins; the second is rejected naming both. */
	err = store_file_error(f->s, "b.yaml");
	assert_non_null(err);
	assert_non_null(strstr(err, "/b.yaml: Service default/same: duplicate object, already "
				    "defined in "));
	assert_non_null(strstr(err, "/a.yaml"));
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "same"), 80);
	store_get_stats(f->s, &st);
	assert_int_equal(st.files_rejected, 1);

	/* Once a.yaml lets go of it, b.yaml is retried and takes over. */
	cfgdir_put(f, "a.yaml", cfgdir_svc_yaml("renamed", 1, 80));
	assert_true(wait_readable(f));
	assert_int_equal(dirsrc_handle_events(f->d, &changed), 0);
	assert_true(changed);
	assert_null(store_file_error(f->s, "b.yaml"));
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "same"), 81);
	assert_int_equal(cfgdir_svc_port(f->m, "renamed"), 80);

	/* Twice in one file. */
	cfgdir_put(f, "d.yaml",
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\n"
		   "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n");
	assert_int_equal(dirsrc_load(f->d), 0);
	assert_non_null(strstr(store_file_error(f->s, "d.yaml"),
			       "Pod default/p: duplicate object, already defined in this same "
			       "file"));
}

/*
 * A ConfigMap volume: files are symlinks through "..data", and an update swaps that symlink
 * atomically, so the only event names "..data": the store must rescan.
 */
static void test_dirsrc_configmap_swap(void **state)
{
	struct cfgdir_fix *f = *state;
	char path[512], link[512];
	bool changed = false;

	snprintf(path, sizeof(path), "%s/..v1", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	cfgdir_put(f, "..v1/svc.yaml", cfgdir_svc_yaml("cm", 1, 80));
	snprintf(link, sizeof(link), "%s/..data", f->dir);
	assert_int_equal(symlink("..v1", link), 0);
	snprintf(link, sizeof(link), "%s/svc.yaml", f->dir);
	assert_int_equal(symlink("..data/svc.yaml", link), 0);
	cfgdir_open(f);
	assert_int_equal(dirsrc_load(f->d), 0);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "cm"), 80);

	snprintf(path, sizeof(path), "%s/..v2", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	cfgdir_put(f, "..v2/svc.yaml", cfgdir_svc_yaml("cm", 1, 81));
	snprintf(link, sizeof(link), "%s/..data_tmp", f->dir);
	assert_int_equal(symlink("..v2", link), 0);
	snprintf(path, sizeof(path), "%s/..data", f->dir);
	assert_int_equal(rename(link, path), 0);
	assert_true(wait_readable(f));
	assert_int_equal(dirsrc_handle_events(f->d, &changed), 0);
	assert_true(changed);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "cm"), 81);
	/* The kubelet then removes the old version directory: no change in force. */
	snprintf(path, sizeof(path), "%s/..v1/svc.yaml", f->dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/..v1", f->dir);
	assert_int_equal(rmdir(path), 0);
	if (wait_readable(f)) {
		assert_int_equal(dirsrc_handle_events(f->d, &changed), 0);
		assert_false(changed);
	}
}

/* A source without a directory is valid (API only); a missing or doubled directory is not. */
static void test_dirsrc_no_dir_and_errors(void **state)
{
	struct cfgdir_fix *f = *state;
	bool changed = true;
	struct dirsrc *d;

	f->s = store_new();
	assert_non_null(f->s);
	d = dirsrc_new(f->s, NULL);
	assert_non_null(d);
	assert_int_equal(dirsrc_watch_fd(d), -1);
	assert_int_equal(dirsrc_load(d), 0);
	assert_int_equal(dirsrc_handle_events(d, &changed), 0);
	assert_false(changed);
	dirsrc_free(d);
	errno = 0;
	assert_null(dirsrc_new(f->s, "/tmp/weirtest-cfg-does-not-exist"));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(dirsrc_new(f->s, "/etc/hostname"));
	assert_int_equal(errno, ENOTDIR);

	/* One directory per store: a second would fight the first over the same units. */
	f->d = dirsrc_new(f->s, f->dir);
	assert_non_null(f->d);
	errno = 0;
	assert_null(dirsrc_new(f->s, "/tmp"));
	assert_int_equal(errno, EBUSY);
	dirsrc_free(NULL);
	store_free(NULL);
}

/* What the source hands the store: units named by file, paths by directory. */
static void test_dirsrc_units_in_store(void **state)
{
	struct cfgdir_fix *f = *state;
	struct store_file_status st;
	char want[128];

	cfgdir_put(f, "a.yaml", cfgdir_svc_yaml("alpha", 1, 80));
	cfgdir_put(f, "b.yaml", "kind: [");
	cfgdir_open(f);
	assert_int_equal(dirsrc_load(f->d), 0);
	assert_int_equal(store_source_status(f->s, STORE_SRC_DIR, "a.yaml", &st), 0);
	snprintf(want, sizeof(want), "%s/a.yaml", f->dir);
	assert_string_equal(st.path, want);
	assert_true(st.ok);
	assert_true(st.loaded);
	assert_int_equal(st.nobjs, 1);
	assert_int_equal(store_source_status(f->s, STORE_SRC_DIR, "b.yaml", &st), 0);
	assert_false(st.ok);
	assert_false(st.loaded);
	/* The error names the file by its path in the directory. */
	snprintf(want, sizeof(want), "%s/b.yaml: ", f->dir);
	assert_non_null(strstr(st.err, want));
	assert_int_equal(store_source_status(f->s, STORE_SRC_API, "a.yaml", &st), -ENOENT);
}

/* An empty file loads good with nothing: removing it still means a new snapshot. */
static void test_dirsrc_empty_file(void **state)
{
	struct cfgdir_fix *f = *state;
	struct store_file_status st;
	bool changed = false;

	cfgdir_put(f, "empty.yaml", "");
	cfgdir_open(f);
	assert_int_equal(dirsrc_load(f->d), 0);
	assert_int_equal(store_source_status(f->s, STORE_SRC_DIR, "empty.yaml", &st), 0);
	assert_true(st.ok);
	assert_true(st.loaded);
	assert_int_equal(st.nobjs, 0);
	cfgdir_del(f, "empty.yaml");
	assert_true(wait_readable(f));
	assert_int_equal(dirsrc_handle_events(f->d, &changed), 0);
	assert_true(changed);
	assert_int_equal(store_source_status(f->s, STORE_SRC_DIR, "empty.yaml", &st), -ENOENT);
}

/* Freeing the source stops the watch, not the configuration: its objects stay in force. */
static void test_dirsrc_free_keeps_objects(void **state)
{
	struct cfgdir_fix *f = *state;
	struct store_stats st;

	cfgdir_put(f, "a.yaml", cfgdir_svc_yaml("alpha", 1, 80));
	cfgdir_open(f);
	assert_int_equal(dirsrc_load(f->d), 0);
	dirsrc_free(f->d);
	f->d = NULL;
	cfgdir_del(f, "a.yaml");
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "alpha"), 80);
	store_get_stats(f->s, &st);
	assert_int_equal(st.files, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dirsrc_load_dir, cfgdir_setup, cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_dirsrc_bad_file_keeps_last_good, cfgdir_setup,
					    cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_dirsrc_first_load_bad, cfgdir_setup,
					    cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_dirsrc_delete_file, cfgdir_setup, cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_dirsrc_inotify, cfgdir_setup, cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_dirsrc_duplicates, cfgdir_setup, cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_dirsrc_configmap_swap, cfgdir_setup,
					    cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_dirsrc_no_dir_and_errors, cfgdir_setup,
					    cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_dirsrc_units_in_store, cfgdir_setup,
					    cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_dirsrc_empty_file, cfgdir_setup, cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_dirsrc_free_keeps_objects, cfgdir_setup,
					    cfgdir_teardown),
	};

	log_init("dirsrc_test", LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
