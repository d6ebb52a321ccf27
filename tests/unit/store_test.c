// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the config store (user/config/store.c) through its unit API: what a source
 * hands over, the last good state of a rejected unit, duplicates within a source and
 * priority between sources, unit status, counters and error reporting. The store does no
 * I/O; the directory source that feeds it in the agent has its own tests (dirsrc_test.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/dirsrc.h"
#include "config/k8s.h"
#include "config/store.h"
#include "lib/arena.h"
#include "lib/log.h"
#include "model/model.h"

#include "../lib/cfgdir.h"

/* The seam for the API source: its own unit, lower priority than the config dir. */
static void test_store_second_source(void **state)
{
	static const char api[] =
	    "apiVersion: v1\nkind: List\nitems:\n"
	    "- {apiVersion: v1, kind: Service, metadata: {name: shared}, spec: {clusterIP: "
	    "198.19.0.9, ports: [{name: http, port: 9}]}}\n"
	    "- {apiVersion: v1, kind: Service, metadata: {name: api-only}, spec: {clusterIP: "
	    "198.19.0.8, ports: [{name: http, port: 8}]}}\n";
	struct cfgdir_fix *f = *state;
	struct k8s_result res;
	struct store_stats st;
	struct arena *a;

	cfgdir_put(f, "a.yaml", cfgdir_svc_yaml("shared", 1, 80));
	cfgdir_open(f);
	assert_int_equal(dirsrc_load(f->d), 0);
	a = arena_new();
	assert_non_null(a);
	assert_int_equal(k8s_decode(a, "api", api, strlen(api), &res), 0);
	assert_int_equal(store_source_replace(f->s, STORE_SRC_API, "api", a, res.objs, res.nobjs),
			 0);
	/* Cross-source duplicates are allowed; the config dir wins. */
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "shared"), 80);
	assert_int_equal(cfgdir_svc_port(f->m, "api-only"), 8);
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
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "api-only"), 8);
	assert_int_equal(store_source_reject(f->s, STORE_SRC_API, "api", "api: list failed"), 0);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "api-only"), 8);
	assert_int_equal(store_source_remove(f->s, STORE_SRC_API, "api"), 0);
	assert_int_equal(store_source_remove(f->s, STORE_SRC_API, "api"), -ENOENT);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "api-only"), 0);
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

static void test_store_foreach(void **state)
{
	struct cfgdir_fix *f = *state;
	char out[512] = "";

	cfgdir_put(f, "a.yaml", cfgdir_svc_yaml("alpha", 1, 80));
	cfgdir_put(f, "b.yaml", "apiVersion: v1\nkind: Pod\n");
	cfgdir_open(f);
	assert_int_equal(dirsrc_load(f->d), 0);
	store_foreach(f->s, status_cb, out);
	assert_string_equal(out, "a.yaml:1:1 b.yaml:0:0");
	assert_null(store_file_error(f->s, "nope.yaml"));
}

/* Decodes <text> as from <source> into a new arena *<a>; the objects come back. */
static const struct k8s_object *decode(const char *source, const char *text, struct arena **a,
				       size_t *n)
{
	struct k8s_result res;

	*a = arena_new();
	assert_non_null(*a);
	assert_int_equal(k8s_decode(*a, source, text, strlen(text), &res), 0);
	*n = res.nobjs;
	return res.objs;
}

/* Hands <text> to unit <unit> of <source> in <s>; returns what the store said. */
static int feed(struct store *s, unsigned source, const char *unit, const char *text)
{
	const struct k8s_object *objs;
	struct arena *a;
	size_t n;

	objs = decode(unit, text, &a, &n);
	return store_source_replace(s, source, unit, a, objs, n);
}

/* Units without any directory: the seam an API source feeding object by object uses. */
static void test_store_units(void **state)
{
	struct cfgdir_fix *f = *state;
	struct store_file_status st;
	struct store_stats ss;
	unsigned long errs;

	f->s = store_new();
	assert_non_null(f->s);
	/* One unit per object, as a watch delivers them. */
	assert_int_equal(feed(f->s, STORE_SRC_API, "svc/default/a", cfgdir_svc_yaml("a", 1, 80)),
			 0);
	assert_int_equal(feed(f->s, STORE_SRC_API, "svc/default/b", cfgdir_svc_yaml("b", 2, 81)),
			 0);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "a"), 80);
	assert_int_equal(cfgdir_svc_port(f->m, "b"), 81);
	assert_int_equal(f->m->generation, 1);

	/* An object already in force in another unit of the source: rejected, named, logged. */
	errs = log_count(LOG_ERR);
	assert_int_equal(feed(f->s, STORE_SRC_API, "svc/default/a2", cfgdir_svc_yaml("a", 3, 82)),
			 -EEXIST);
	assert_true(log_count(LOG_ERR) > errs);
	assert_int_equal(store_source_status(f->s, STORE_SRC_API, "svc/default/a2", &st), 0);
	assert_false(st.ok);
	assert_false(st.loaded);
	assert_string_equal(st.err, "svc/default/a2: Service default/a: duplicate object, "
				    "already defined in svc/default/a");
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "a"), 80);

	/* A unit replaced: its new objects are the ones in force. */
	assert_int_equal(feed(f->s, STORE_SRC_API, "svc/default/b", cfgdir_svc_yaml("b", 2, 91)),
			 0);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "b"), 91);
	/* Rejected: the last good objects stay, the error is kept until a good load. */
	assert_int_equal(store_source_reject(f->s, STORE_SRC_API, "svc/default/b", "b: bad"), 0);
	assert_int_equal(store_source_status(f->s, STORE_SRC_API, "svc/default/b", &st), 0);
	assert_false(st.ok);
	assert_true(st.loaded);
	assert_int_equal(st.nobjs, 1);
	assert_string_equal(st.err, "b: bad");
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "b"), 91);

	/* A unit whose good load holds nothing is loaded all the same. */
	assert_int_equal(feed(f->s, STORE_SRC_API, "empty", ""), 0);
	assert_int_equal(store_source_status(f->s, STORE_SRC_API, "empty", &st), 0);
	assert_true(st.ok);
	assert_true(st.loaded);
	assert_int_equal(st.nobjs, 0);
	assert_null(st.err);

	store_get_stats(f->s, &ss);
	assert_int_equal(ss.files, 0); /* files count the config dir only */
	assert_int_equal(ss.loads, 4);
	assert_int_equal(ss.rejects, 2);
	assert_int_equal(ss.objects[K8S_SERVICE], 2);

	/* Removing the unit that held "a" lets the clashing one in. */
	assert_int_equal(store_source_remove(f->s, STORE_SRC_API, "svc/default/a"), 0);
	assert_int_equal(store_source_status(f->s, STORE_SRC_API, "svc/default/a", &st), -ENOENT);
	assert_int_equal(feed(f->s, STORE_SRC_API, "svc/default/a2", cfgdir_svc_yaml("a", 3, 82)),
			 0);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "a"), 82);
	assert_int_equal(f->m->generation, 5);
}

/* Priority between sources comes from the source id, not from the order units arrive in. */
static void test_store_source_priority(void **state)
{
	struct cfgdir_fix *f = *state;
	const struct k8s_object **objs;
	uint64_t gen;
	size_t n;

	f->s = store_new();
	assert_non_null(f->s);
	assert_int_equal(feed(f->s, STORE_SRC_API, "api", cfgdir_svc_yaml("s", 1, 9)), 0);
	assert_int_equal(feed(f->s, STORE_SRC_DIR, "z.yaml", cfgdir_svc_yaml("s", 2, 80)), 0);
	objs = store_objects(f->s, &n, &gen);
	assert_non_null(objs);
	assert_int_equal(n, 2);
	assert_int_equal(gen, 1);
	/* The lower source id first: the config dir's object wins over the API's. */
	assert_string_equal(objs[0]->source, "z.yaml");
	assert_string_equal(objs[1]->source, "api");
	free(objs);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "s"), 80);
	assert_int_equal(f->m->generation, 2);
	assert_int_equal(store_source_remove(f->s, STORE_SRC_DIR, "z.yaml"), 0);
	assert_int_equal(cfgdir_svc_port(cfgdir_snapshot(f), "s"), 9);
}

/* A source's origin names its units in messages; it is set once and checked. */
static void test_store_origin_and_errors(void **state)
{
	struct cfgdir_fix *f = *state;
	struct store_file_status st;

	f->s = store_new();
	assert_non_null(f->s);
	assert_int_equal(store_source_origin(f->s, STORE_SRC_DIR, "/etc/weir"), 0);
	assert_int_equal(store_source_origin(f->s, STORE_SRC_DIR, "/other"), -EBUSY);
	assert_int_equal(store_source_origin(f->s, STORE_SRC_MAX, "/x"), -EINVAL);
	assert_int_equal(feed(f->s, STORE_SRC_DIR, "a.yaml", cfgdir_svc_yaml("a", 1, 80)), 0);
	assert_int_equal(feed(f->s, STORE_SRC_DIR, "b.yaml", cfgdir_svc_yaml("a", 2, 80)), -EEXIST);
	assert_string_equal(store_file_error(f->s, "b.yaml"),
			    "/etc/weir/b.yaml: Service default/a: duplicate object, already "
			    "defined in /etc/weir/a.yaml");
	assert_int_equal(store_source_status(f->s, STORE_SRC_DIR, "a.yaml", &st), 0);
	assert_string_equal(st.name, "a.yaml");
	assert_string_equal(st.path, "/etc/weir/a.yaml");
	/* Other sources keep bare unit names. */
	assert_int_equal(store_source_reject(f->s, STORE_SRC_API, "api", "api: list failed"), 0);
	assert_int_equal(store_source_status(f->s, STORE_SRC_API, "api", &st), 0);
	assert_string_equal(st.path, "api");
	/* Bad source ids are refused. */
	assert_int_equal(store_source_reject(f->s, STORE_SRC_MAX, "x", "e"), -EINVAL);
	assert_int_equal(store_source_remove(f->s, STORE_SRC_MAX, "x"), -ENOENT);
	assert_int_equal(store_source_status(f->s, STORE_SRC_MAX, "x", &st), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_store_second_source, cfgdir_setup,
					    cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_store_foreach, cfgdir_setup, cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_store_units, cfgdir_setup, cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_store_source_priority, cfgdir_setup,
					    cfgdir_teardown),
	    cmocka_unit_test_setup_teardown(test_store_origin_and_errors, cfgdir_setup,
					    cfgdir_teardown),
	};

	log_init("store_test", LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
