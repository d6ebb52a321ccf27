// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the config store (user/store.c) on a real temporary directory with real
 * inotify: loading, the last good state of a rejected file, removal, reload on change,
 * duplicates across files, the seam for a second source, counters and error reporting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/arena.h"
#include "config/k8s.h"
#include "lib/log.h"
#include "model/model.h"
#include "config/store.h"

struct fixture {
	char dir[64];
	struct store *s;
	struct model *m;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/weirtest-cfg-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* Removes the files of <dir>, and of its subdirectories one level down, then <dir>. */
static void rm_dir(const char *dir, int levels)
{
	struct dirent *de;
	char path[512];
	DIR *d;

	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) < 0 && levels > 0)
			rm_dir(path, levels - 1);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	model_free(f->m);
	store_free(f->s);
	rm_dir(f->dir, 1);
	free(f);
	return 0;
}

static void put(struct fixture *f, const char *name, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void del(struct fixture *f, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(unlink(path), 0);
}

static const struct model *snapshot(struct fixture *f)
{
	model_free(f->m);
	f->m = model_from_store(f->s);
	assert_non_null(f->m);
	return f->m;
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* The port of Service default/<name> as in the snapshot, 0 when the Service is absent. */
static unsigned svc_port(const struct model *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nservices; i++)
		if (!strcmp(m->services[i].ns, "default") && !strcmp(m->services[i].name, name))
			return m->services[i].nports ? m->services[i].ports[0].port : 0;
	return 0;
}

static char yaml_buf[4][512];

/* A Service default/<name> on 198.19.0.<ip> with one port; rotating static buffers. */
static const char *svc_yaml(const char *name, int ip, int port)
{
	static int k;
	char *b = yaml_buf[k++ % 4];

	snprintf(b, sizeof(yaml_buf[0]),
		 "apiVersion: v1\nkind: Service\nmetadata: {name: %s}\n"
		 "spec: {clusterIP: 198.19.0.%d, ports: [{name: http, port: %d}]}\n",
		 name, ip, port);
	return b;
}

static void test_store_load_dir(void **state)
{
	struct fixture *f = *state;
	struct store_stats st;
	const struct model *m;

	put(f, "a.yaml", svc_yaml("alpha", 1, 80));
	put(f, "b.yml",
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: p1}\n"
	    "status: {podIP: 198.18.1.1}\n---\n"
	    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n");
	put(f, "c.json",
	    "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", "
	    "\"metadata\": {\"name\": \"p2\"}}");
	/* Not config: editor leftovers, dotfiles, other extensions. */
	put(f, "a.yaml~", svc_yaml("backup", 2, 80));
	put(f, ".a.yaml.swp", "garbage: [");
	put(f, ".hidden.yaml", svc_yaml("hidden", 3, 80));
	put(f, "notes.txt", "hello");
	f->s = store_new(f->dir);
	assert_non_null(f->s);
	assert_true(store_watch_fd(f->s) >= 0);
	assert_int_equal(store_load(f->s), 0);
	store_get_stats(f->s, &st);
	assert_int_equal(st.files, 3);
	assert_int_equal(st.files_ok, 3);
	assert_int_equal(st.files_rejected, 0);
	assert_int_equal(st.loads, 3);
	assert_int_equal(st.objects[K8S_SERVICE], 1);
	assert_int_equal(st.objects[K8S_POD], 2);
	m = snapshot(f);
	assert_int_equal(m->nservices, 1);
	assert_int_equal(m->npods, 2);
	assert_non_null(model_find_pod_by_ip(m, ip4("198.18.1.1")));
	assert_non_null(model_find_svc_port(m, ip4("198.19.0.1"), htons(80), IPPROTO_TCP, NULL));
	assert_non_null(strstr(m->services[0].source, "/a.yaml"));
	/* Generations increase per snapshot. */
	assert_int_equal(m->generation, 1);
	assert_int_equal(snapshot(f)->generation, 2);
	/* A rescan of an unchanged directory loads nothing again. */
	assert_int_equal(store_load(f->s), 0);
	store_get_stats(f->s, &st);
	assert_int_equal(st.loads, 3);
}

static void test_store_bad_file_keeps_last_good(void **state)
{
	struct fixture *f = *state;
	unsigned long errs;
	struct store_stats st;
	const struct model *m;
	const char *err;

	put(f, "a.yaml", svc_yaml("alpha", 1, 80));
	put(f, "b.yaml", svc_yaml("beta", 2, 80));
	f->s = store_new(f->dir);
	assert_non_null(f->s);
	assert_int_equal(store_load(f->s), 0);
	assert_null(store_file_error(f->s, "a.yaml"));

	/* a.yaml turns bad, b.yaml changes well: a keeps its old objects, b's change applies. */
	errs = log_count(LOG_ERR);
	put(f, "a.yaml",
	    "apiVersion: v1\nkind: Service\nmetadata: {name: alpha}\n"
	    "spec: {clusterIP: 198.19.0.1, ports: [{name: http, port: 70000}]}\n");
	put(f, "b.yaml", svc_yaml("beta", 2, 8080));
	assert_int_equal(store_load(f->s), 0);
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
	m = snapshot(f);
	assert_int_equal(svc_port(m, "alpha"), 80);
	assert_int_equal(svc_port(m, "beta"), 8080);

	/* A syntax error is the same: rejected, last good kept, the error has the line. */
	put(f, "a.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: alpha\n");
	assert_int_equal(store_load(f->s), 0);
	assert_non_null(strstr(store_file_error(f->s, "a.yaml"), "YAML syntax error at line"));
	assert_int_equal(svc_port(snapshot(f), "alpha"), 80);

	/* Fixed: the new objects apply and the error clears. */
	put(f, "a.yaml", svc_yaml("alpha", 1, 81));
	assert_int_equal(store_load(f->s), 0);
	assert_null(store_file_error(f->s, "a.yaml"));
	assert_int_equal(svc_port(snapshot(f), "alpha"), 81);
	store_get_stats(f->s, &st);
	assert_int_equal(st.files_rejected, 0);
	assert_int_equal(st.rejects, 2);
}

static void test_store_first_load_bad(void **state)
{
	struct fixture *f = *state;
	struct store_stats st;

	put(f, "bad.yaml", svc_yaml("ok-one", 1, 80)); /* good document... */
	put(f, "bad.yaml",
	    "apiVersion: v1\nkind: Service\nmetadata: {name: one}\n"
	    "spec: {ports: [{port: 80}]}\n---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: Two}\n");
	put(f, "good.yaml", svc_yaml("good", 2, 80));
	f->s = store_new(f->dir);
	assert_non_null(f->s);
	assert_int_equal(store_load(f->s), 0);
	store_get_stats(f->s, &st);
	assert_int_equal(st.files_rejected, 1);
	assert_int_equal(st.objects[K8S_SERVICE], 1); /* the bad file contributes nothing */
	assert_int_equal(st.objects[K8S_POD], 0);
	assert_int_equal(snapshot(f)->nservices, 1);
	assert_non_null(strstr(store_file_error(f->s, "bad.yaml"), "Pod default/Two"));
}

static void test_store_delete_file(void **state)
{
	struct fixture *f = *state;
	struct store_stats st;

	put(f, "a.yaml", svc_yaml("alpha", 1, 80));
	put(f, "b.yaml", svc_yaml("beta", 2, 80));
	f->s = store_new(f->dir);
	assert_non_null(f->s);
	assert_int_equal(store_load(f->s), 0);
	assert_int_equal(snapshot(f)->nservices, 2);
	del(f, "a.yaml");
	assert_int_equal(store_load(f->s), 0);
	assert_int_equal(svc_port(snapshot(f), "alpha"), 0);
	assert_int_equal(svc_port(f->m, "beta"), 80);
	store_get_stats(f->s, &st);
	assert_int_equal(st.files, 1);
	assert_null(store_file_error(f->s, "a.yaml"));
}

/* Waits up to two seconds for the watch fd to become readable. */
static bool wait_readable(struct fixture *f)
{
	struct pollfd p = {.fd = store_watch_fd(f->s), .events = POLLIN};

	return poll(&p, 1, 2000) == 1 && (p.revents & POLLIN);
}

static void test_store_inotify(void **state)
{
	struct fixture *f = *state;
	char from[512], to[512];
	bool changed = true;

	put(f, "a.yaml", svc_yaml("alpha", 1, 80));
	f->s = store_new(f->dir);
	assert_non_null(f->s);
	assert_int_equal(store_load(f->s), 0);
	/* Nothing pending: no change. */
	assert_int_equal(store_handle_events(f->s, &changed), 0);
	assert_false(changed);

	/* A new file: the fd becomes readable and the object appears. */
	put(f, "b.yaml", svc_yaml("beta", 2, 80));
	assert_true(wait_readable(f));
	assert_int_equal(store_handle_events(f->s, &changed), 0);
	assert_true(changed);
	assert_int_equal(svc_port(snapshot(f), "beta"), 80);

	/* A burst on one file is drained and applied once, with the final content. */
	put(f, "b.yaml", svc_yaml("beta", 2, 81));
	put(f, "b.yaml", svc_yaml("beta", 2, 82));
	put(f, "b.yaml", svc_yaml("beta", 2, 83));
	assert_true(wait_readable(f));
	assert_int_equal(store_handle_events(f->s, &changed), 0);
	assert_true(changed);
	assert_int_equal(svc_port(snapshot(f), "beta"), 83);

	/* An editor's atomic save: write a temp dotfile, rename it over (IN_MOVED_TO). */
	put(f, ".a.yaml.tmp", svc_yaml("alpha", 1, 90));
	snprintf(from, sizeof(from), "%s/.a.yaml.tmp", f->dir);
	snprintf(to, sizeof(to), "%s/a.yaml", f->dir);
	assert_int_equal(rename(from, to), 0);
	assert_true(wait_readable(f));
	assert_int_equal(store_handle_events(f->s, &changed), 0);
	assert_true(changed);
	assert_int_equal(svc_port(snapshot(f), "alpha"), 90);

	/* Ignored names cause events but no change. */
	put(f, ".swap.yaml", svc_yaml("x", 9, 80));
	put(f, "a.yaml~", svc_yaml("y", 9, 80));
	assert_true(wait_readable(f));
	assert_int_equal(store_handle_events(f->s, &changed), 0);
	assert_false(changed);

	/* A bad write: no change in force, the error recorded. */
	put(f, "b.yaml", "kind: [");
	assert_true(wait_readable(f));
	assert_int_equal(store_handle_events(f->s, &changed), 0);
	assert_false(changed);
	assert_non_null(store_file_error(f->s, "b.yaml"));
	assert_int_equal(svc_port(snapshot(f), "beta"), 83);

	/* Deleting a file removes its objects (IN_DELETE). */
	del(f, "b.yaml");
	assert_true(wait_readable(f));
	assert_int_equal(store_handle_events(f->s, &changed), 0);
	assert_true(changed);
	assert_int_equal(svc_port(snapshot(f), "beta"), 0);
	assert_null(store_file_error(f->s, "b.yaml"));

	/* Moving a file out of the directory too (IN_MOVED_FROM). */
	snprintf(from, sizeof(from), "%s/a.yaml", f->dir);
	snprintf(to, sizeof(to), "%s/a.yaml.off", f->dir);
	assert_int_equal(rename(from, to), 0);
	assert_true(wait_readable(f));
	assert_int_equal(store_handle_events(f->s, &changed), 0);
	assert_true(changed);
	assert_int_equal(snapshot(f)->nservices, 0);
}

static void test_store_duplicates(void **state)
{
	struct fixture *f = *state;
	struct store_stats st;
	bool changed;
	const char *err;

	put(f, "a.yaml", svc_yaml("same", 1, 80));
	put(f, "b.yaml", svc_yaml("same", 2, 81));
	put(f, "c.yaml", svc_yaml("other", 3, 80));
	f->s = store_new(f->dir);
	assert_non_null(f->s);
	assert_int_equal(store_load(f->s), 0);
	/* The first file in name order wins; the second is rejected naming both. */
	err = store_file_error(f->s, "b.yaml");
	assert_non_null(err);
	assert_non_null(strstr(err, "/b.yaml: Service default/same: duplicate object, already "
				    "defined in "));
	assert_non_null(strstr(err, "/a.yaml"));
	assert_int_equal(svc_port(snapshot(f), "same"), 80);
	store_get_stats(f->s, &st);
	assert_int_equal(st.files_rejected, 1);

	/* Once a.yaml lets go of it, b.yaml is retried and takes over. */
	put(f, "a.yaml", svc_yaml("renamed", 1, 80));
	assert_true(wait_readable(f));
	assert_int_equal(store_handle_events(f->s, &changed), 0);
	assert_true(changed);
	assert_null(store_file_error(f->s, "b.yaml"));
	assert_int_equal(svc_port(snapshot(f), "same"), 81);
	assert_int_equal(svc_port(f->m, "renamed"), 80);

	/* Twice in one file. */
	put(f, "d.yaml",
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n");
	assert_int_equal(store_load(f->s), 0);
	assert_non_null(strstr(store_file_error(f->s, "d.yaml"),
			       "Pod default/p: duplicate object, already defined in this same "
			       "file"));
}

/*
 * A ConfigMap volume: files are symlinks through "..data", and an update swaps that symlink
 * atomically, so the only event names "..data": the store must rescan.
 */
static void test_store_configmap_swap(void **state)
{
	struct fixture *f = *state;
	char path[512], link[512];
	bool changed = false;

	snprintf(path, sizeof(path), "%s/..v1", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	put(f, "..v1/svc.yaml", svc_yaml("cm", 1, 80));
	snprintf(link, sizeof(link), "%s/..data", f->dir);
	assert_int_equal(symlink("..v1", link), 0);
	snprintf(link, sizeof(link), "%s/svc.yaml", f->dir);
	assert_int_equal(symlink("..data/svc.yaml", link), 0);
	f->s = store_new(f->dir);
	assert_non_null(f->s);
	assert_int_equal(store_load(f->s), 0);
	assert_int_equal(svc_port(snapshot(f), "cm"), 80);

	snprintf(path, sizeof(path), "%s/..v2", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	put(f, "..v2/svc.yaml", svc_yaml("cm", 1, 81));
	snprintf(link, sizeof(link), "%s/..data_tmp", f->dir);
	assert_int_equal(symlink("..v2", link), 0);
	snprintf(path, sizeof(path), "%s/..data", f->dir);
	assert_int_equal(rename(link, path), 0);
	assert_true(wait_readable(f));
	assert_int_equal(store_handle_events(f->s, &changed), 0);
	assert_true(changed);
	assert_int_equal(svc_port(snapshot(f), "cm"), 81);
	/* The kubelet then removes the old version directory: no change in force. */
	snprintf(path, sizeof(path), "%s/..v1/svc.yaml", f->dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/..v1", f->dir);
	assert_int_equal(rmdir(path), 0);
	if (wait_readable(f)) {
		assert_int_equal(store_handle_events(f->s, &changed), 0);
		assert_false(changed);
	}
}

/* The seam for the API source: its own unit, lower priority than the config dir. */
static void test_store_second_source(void **state)
{
	static const char api[] =
	    "apiVersion: v1\nkind: List\nitems:\n"
	    "- {apiVersion: v1, kind: Service, metadata: {name: shared}, spec: {clusterIP: "
	    "198.19.0.9, ports: [{name: http, port: 9}]}}\n"
	    "- {apiVersion: v1, kind: Service, metadata: {name: api-only}, spec: {clusterIP: "
	    "198.19.0.8, ports: [{name: http, port: 8}]}}\n";
	struct fixture *f = *state;
	struct k8s_result res;
	struct store_stats st;
	struct arena *a;

	put(f, "a.yaml", svc_yaml("shared", 1, 80));
	f->s = store_new(f->dir);
	assert_non_null(f->s);
	assert_int_equal(store_load(f->s), 0);
	a = arena_new();
	assert_non_null(a);
	assert_int_equal(k8s_decode(a, "api", api, strlen(api), &res), 0);
	assert_int_equal(store_source_replace(f->s, STORE_SRC_API, "api", a, res.objs, res.nobjs),
			 0);
	/* Cross-source duplicates are allowed; the config dir wins. */
	assert_int_equal(svc_port(snapshot(f), "shared"), 80);
	assert_int_equal(svc_port(f->m, "api-only"), 8);
	store_get_stats(f->s, &st);
	assert_int_equal(st.files, 1); /* files count the config dir only */
	assert_int_equal(st.objects[K8S_SERVICE], 3);

	/* A duplicate inside the source's own unit is rejected; its last good state stays. */
	a = arena_new();
	assert_non_null(a);
	assert_int_equal(k8s_decode(a, "api", api, strlen(api), &res), 0);
	{
		struct k8s_object twice[2] = {res.objs[1], res.objs[1]};
		struct k8s_object *copy = arena_alloc(a, sizeof(twice));

		assert_non_null(copy);
		memcpy(copy, twice, sizeof(twice));
		assert_int_equal(store_source_replace(f->s, STORE_SRC_API, "api", a, copy, 2),
				 -EEXIST);
	}
	assert_int_equal(svc_port(snapshot(f), "api-only"), 8);
	assert_int_equal(store_source_reject(f->s, STORE_SRC_API, "api", "api: list failed"), 0);
	assert_int_equal(svc_port(snapshot(f), "api-only"), 8);
	assert_int_equal(store_source_remove(f->s, STORE_SRC_API, "api"), 0);
	assert_int_equal(store_source_remove(f->s, STORE_SRC_API, "api"), -ENOENT);
	assert_int_equal(svc_port(snapshot(f), "api-only"), 0);
	assert_int_equal(store_source_replace(f->s, STORE_SRC_MAX, "x", arena_new(), NULL, 0),
			 -EINVAL);
}

/* Collects "name:ok:nobjs" of every unit. */
static void status_cb(void *arg, const struct store_file_status *st)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 512 - n, "%s%s:%d:%zu", n ? " " : "", st->name, st->ok, st->nobjs);
	assert_true(st->ok == (st->err == NULL));
}

static void test_store_foreach_and_errors(void **state)
{
	struct fixture *f = *state;
	char out[512] = "";
	struct store *s;

	put(f, "a.yaml", svc_yaml("alpha", 1, 80));
	put(f, "b.yaml", "apiVersion: v1\nkind: Pod\n");
	f->s = store_new(f->dir);
	assert_non_null(f->s);
	assert_int_equal(store_load(f->s), 0);
	store_foreach(f->s, status_cb, out);
	assert_string_equal(out, "a.yaml:1:1 b.yaml:0:0");
	assert_null(store_file_error(f->s, "nope.yaml"));

	/* A store without a directory is valid (API only); a missing directory is not. */
	s = store_new(NULL);
	assert_non_null(s);
	assert_int_equal(store_watch_fd(s), -1);
	assert_int_equal(store_load(s), 0);
	store_free(s);
	errno = 0;
	assert_null(store_new("/tmp/weirtest-cfg-does-not-exist"));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(store_new("/etc/hostname"));
	assert_int_equal(errno, ENOTDIR);
	store_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_store_load_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_bad_file_keeps_last_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_first_load_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_delete_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_inotify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_configmap_swap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_second_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_foreach_and_errors, setup, teardown),
	};

	log_init("store_test", LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
