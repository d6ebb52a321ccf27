/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A config store fed from a scratch directory, for the store and dirsrc unit tests: a fresh
 * /tmp/weirtest-cfg-XXXXXX per test, files written into it, snapshots built from the store
 * and the few Service facts the tests check. Helpers fail the running cmocka test.
 */
#ifndef WEIR_TESTS_CFGDIR_H
#define WEIR_TESTS_CFGDIR_H

struct dirsrc;
struct model;
struct store;

struct cfgdir_fix {
	char dir[64];	  /* the scratch directory */
	struct store *s;  /* NULL until cfgdir_open() (or the test's own store_new()) */
	struct dirsrc *d; /* NULL until cfgdir_open() */
	struct model *m;  /* the last cfgdir_snapshot(), freed by the next and by teardown */
};

/* cmocka setup: a struct cfgdir_fix in *<state> with its empty scratch directory. */
int cfgdir_setup(void **state);

/* cmocka teardown: frees the snapshot, the source, the store and removes the directory. */
int cfgdir_teardown(void **state);

/* A store in <f>->s fed by a directory source on <f>->dir in <f>->d; loads nothing yet. */
void cfgdir_open(struct cfgdir_fix *f);

/* Writes <text> as file <name> (may be "sub/name") of <f>'s directory. */
void cfgdir_put(const struct cfgdir_fix *f, const char *name, const char *text);

/* Removes file <name> of <f>'s directory. */
void cfgdir_del(const struct cfgdir_fix *f, const char *name);

/* A new snapshot of <f>->s in <f>->m (the previous one freed). */
const struct model *cfgdir_snapshot(struct cfgdir_fix *f);

/* A Service default/<name> on 198.19.0.<ip> with one port; four rotating static buffers. */
const char *cfgdir_svc_yaml(const char *name, int ip, int port);

/* The first port of Service default/<name> in <m>, 0 when the Service is absent. */
unsigned cfgdir_svc_port(const struct model *m, const char *name);

#endif /* WEIR_TESTS_CFGDIR_H */
