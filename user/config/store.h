/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The config store: the set of Kubernetes objects in force, fed by sources, from which
 * immutable model snapshots are built (by model/, from store_objects()). Objects arrive in
 * units (one config file, or one source's list or object); a unit that fails to parse or
 * validate is rejected whole and the objects it contributed last time stay in force: the
 * last good state.
 *
 * The store does no I/O: sources read, decode and hand units over through the
 * store_source_*() calls. The config directory is one such source (config/dirsrc.h), the
 * Kubernetes API another. Use from the agent's control thread (not thread-safe; snapshots
 * are what is shared):
 *
 *	s = store_new();  d = dirsrc_new(s, dir);  dirsrc_load(d);  m = model_from_store(s);
 *	... a source changed units -> build and publish a new model, model_free() the old one.
 */
#ifndef WEIR_USER_STORE_H
#define WEIR_USER_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#include "config/k8s.h"

struct arena;
struct store;

/* Sources feed the store; on a duplicate object across sources, the lower id wins. */
enum store_source_id {
	STORE_SRC_DIR = 0, /* --config-dir: one unit per file */
	STORE_SRC_API = 1, /* the Kubernetes API list+watch (later): its own units */
	STORE_SRC_MAX,
};

struct store_stats {
	unsigned files;			     /* config files known (good or rejected) */
	unsigned files_ok;		     /* files whose last load was good */
	unsigned files_rejected;	     /* files whose last load failed */
	unsigned long loads;		     /* unit loads accepted since start (all sources) */
	unsigned long rejects;		     /* unit loads rejected since start (all sources) */
	unsigned long objects[K8S_KIND_MAX]; /* objects in force, by kind */
};

/* One unit as the admin API shows it. Pointers are valid until the next store call. */
struct store_file_status {
	unsigned source;  /* enum store_source_id */
	const char *name; /* file name in the config dir, or the source's unit name */
	const char *path; /* "dir/name", as named in messages */
	bool ok;	  /* the last load was good */
	size_t nobjs;	  /* objects in force from this unit (last good load) */
	const char *err;  /* the last load's first error; NULL when ok */
	bool loaded;	  /* a good load is in force (its <nobjs> objects, maybe none) */
};

/* An empty store. Returns NULL and sets errno (ENOMEM). */
struct store *store_new(void);

/*
 * Names where the units of <source> in <s> come from: a unit created afterwards is named
 * "<origin>/<unit>" in messages and in store_file_status.path (a config dir and its file
 * name), instead of the bare unit name. Set once, before the source's first unit.
 * Returns 0, -EINVAL (bad source), -EBUSY (already set: two sources would fight over the
 * same units), -ENOMEM.
 */
int store_source_origin(struct store *s, unsigned source, const char *origin);

/*
 * The seam for sources: replaces the objects unit <unit> of <source> contributed with
 * the <n> objects at <objs>, all owned by arena <a>, which the store takes over (and frees on
 * failure too). Rejected with -EEXIST when an object duplicates one of another unit of the
 * same source or appears twice (logged; the unit's last good objects stay). Returns 0,
 * -EEXIST, -EINVAL (bad source), -ENOMEM.
 */
int store_source_replace(struct store *s, unsigned source, const char *unit, struct arena *a,
			 const struct k8s_object *objs, size_t n);

/*
 * Records that unit <unit> of <source> failed to load with message <err>: counted and
 * kept for store_file_error(); its last good objects stay. Returns 0, -EINVAL (bad source),
 * -ENOMEM.
 */
int store_source_reject(struct store *s, unsigned source, const char *unit, const char *err);

/* Removes unit <unit> of <source> and its objects. Returns 0 or -ENOENT. */
int store_source_remove(struct store *s, unsigned source, const char *unit);

/*
 * Fills <st> with the status of unit <unit> of <source> in <s> (pointers valid until the
 * next store call). Returns 0 or -ENOENT when the store has no such unit.
 */
int store_source_status(const struct store *s, unsigned source, const char *unit,
			struct store_file_status *st);

/*
 * The objects in force in <s>, in priority order (of two objects with the same kind,
 * namespace and name, the first wins), for model_build(). Sets *<n> and *<generation>, one
 * above the last generation handed out. The array is malloc'd (caller frees it, not the
 * objects, which stay valid until the next call that changes <s>). NULL and errno on failure.
 */
const struct k8s_object **store_objects(struct store *s, size_t *n, uint64_t *generation);

/* Fills <st> with the counters of <s>. */
void store_get_stats(const struct store *s, struct store_stats *st);

/* The last load error of config file <name> in <s>, NULL when it loaded fine or is unknown. */
const char *store_file_error(const struct store *s, const char *name);

/* Calls <cb>(<arg>, status) for every unit of <s>, by source then name. */
void store_foreach(const struct store *s, void (*cb)(void *arg, const struct store_file_status *st),
		   void *arg);

/* Frees <s> and every unit's objects. Accepts NULL. Free the sources feeding it first. */
void store_free(struct store *s);

#endif /* WEIR_USER_STORE_H */
