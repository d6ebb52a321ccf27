// SPDX-License-Identifier: Apache-2.0
/*
 * The config store of store.h. Units (a config file, a source's list) are kept sorted by
 * (source, name), each with the arena of its last good objects, so replacing or dropping one
 * is an arena swap. The store does no I/O: the sources (config/dirsrc.c for the config
 * directory) read and decode, and the store decides what is in force.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "config/k8s.h"
#include "lib/log.h"
#include "config/store.h"

#define STORE_MOD "config"

/*
 * What one unit contributes. Only the last good objects are kept, never the rejected ones:
 * the source still has (or can re-read) what it tried, and a rejected unit must not cost
 * memory while the good one is in force.
 */
struct store_unit {
	unsigned source; /* enum store_source_id: the first key of the order, so the priority */
	char *name;	 /* the source's own name for it: a file name, an API unit */
	char *path;	 /* for messages: "<origin>/<name>", or the name */
	struct arena *a; /* owns objs; NULL before the first good load */
	const struct k8s_object *objs; /* the last good objects: these are in force */
	size_t nobjs;
	bool ok;   /* the last load attempt was good */
	char *err; /* the last attempt's first error (malloc), or NULL */
};

/*
 * One sorted array rather than a list per source: store_objects() walks it once to get the
 * priority order, and the admin API lists units by source then name from it as is.
 */
struct store {
	struct store_unit **units; /* sorted by (source, name) */
	size_t nunits, cap;
	char *origin[STORE_SRC_MAX]; /* store_source_origin(), NULL when unset */
	unsigned long loads, rejects;
	uint64_t generation; /* of the last snapshot built */
};

/* --- units ---------------------------------------------------------------------------- */

/* Orders (<src>, <name>) against unit <u>: source id first, then the name in byte order. */
static int unit_cmp(unsigned src, const char *name, const struct store_unit *u)
{
	if (src != u->source)
		return src < u->source ? -1 : 1;
	return strcmp(name, u->name);
}

/* Index of unit (<src>, <name>) or where it would go; *<found> says which. */
static size_t unit_pos(const struct store *s, unsigned src, const char *name, bool *found)
{
	size_t lo = 0, hi = s->nunits, mid;
	int c;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = unit_cmp(src, name, s->units[mid]);
		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static struct store_unit *unit_find(const struct store *s, unsigned src, const char *name)
{
	bool found;
	size_t i = unit_pos(s, src, name, &found);

	return found ? s->units[i] : NULL;
}

static void unit_free(struct store_unit *u)
{
	if (!u)
		return;
	arena_free(u->a);
	free(u->name);
	free(u->path);
	free(u->err);
	free(u);
}

/* The unit (<src>, <name>), created empty when new. NULL+errno on failure. */
static struct store_unit *unit_get(struct store *s, unsigned src, const char *name)
{
	struct store_unit *u, **v;
	bool found;
	size_t i = unit_pos(s, src, name, &found);

	if (found)
		return s->units[i];
	if (s->nunits == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		v = reallocarray(s->units, cap, sizeof(*v));
		if (!v)
			return NULL;
		s->units = v;
		s->cap = cap;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->source = src;
	u->name = strdup(name);
	if (s->origin[src]) {
		if (asprintf(&u->path, "%s/%s", s->origin[src], name) < 0)
			u->path = NULL;
	} else {
		u->path = strdup(name);
	}
	if (!u->name || !u->path) {
		unit_free(u);
		errno = ENOMEM;
		return NULL;
	}
	/* Nothing tried yet is nothing wrong: a unit only turns bad when rejected. */
	u->ok = true;
	memmove(&s->units[i + 1], &s->units[i], (s->nunits - i) * sizeof(*v));
	s->units[i] = u;
	s->nunits++;
	return u;
}

/* Drops <u> and, with its arena, every object it had in force. */
static void unit_remove(struct store *s, struct store_unit *u)
{
	bool found;
	size_t i = unit_pos(s, u->source, u->name, &found);

	if (!found)
		return;
	memmove(&s->units[i], &s->units[i + 1], (s->nunits - i - 1) * sizeof(*s->units));
	s->nunits--;
	unit_free(u);
}

/* Fills <st> with what the admin API and the sources see of <u>. */
static void unit_status(const struct store_unit *u, struct store_file_status *st)
{
	*st = (struct store_file_status){.source = u->source,
					 .name = u->name,
					 .path = u->path,
					 .ok = u->ok,
					 .nobjs = u->nobjs,
					 .err = u->err,
					 .loaded = u->a != NULL};
}

/* Marks <u> rejected with <err>; its last good objects stay. */
static int unit_reject(struct store *s, struct store_unit *u, const char *err)
{
	char *e = strdup(err);

	if (!e)
		return -ENOMEM;
	free(u->err);
	u->err = e;
	u->ok = false;
	s->rejects++;
	if (u->a)
		log_warn(STORE_MOD, "%s: rejected; its last good objects (%zu) stay in force",
			 u->path, u->nobjs);
	else
		log_warn(STORE_MOD, "%s: rejected; it contributes nothing", u->path);
	return 0;
}

/*
 * Logs duplicate <o> of unit <u>, already in <other>. Only the first one of a load goes into
 * <msg> (the unit's error, one line for the admin API); every one is logged, so a single load
 * reports them all.
 */
static void dup_report(const struct store_unit *u, const struct k8s_object *o, const char *other,
		       bool first, char *msg, size_t len)
{
	if (first)
		snprintf(msg, len, "%s: %s %s/%s: duplicate object, already defined in %s", u->path,
			 o->kind->kind, o->meta.ns, o->meta.name, other);
	log_err(STORE_MOD, "%s: %s %s/%s: duplicate object, already defined in %s", u->path,
		o->kind->kind, o->meta.ns, o->meta.name, other);
}

/* Orders objects by kind, namespace, name, then position (pointers into one array). */
static int obj_ptr_cmp(const void *a, const void *b)
{
	const struct k8s_object *x = *(const struct k8s_object *const *)a;
	const struct k8s_object *y = *(const struct k8s_object *const *)b;
	int c;

	if (x->kind->id != y->kind->id)
		return x->kind->id < y->kind->id ? -1 : 1;
	if ((c = strcmp(x->meta.ns, y->meta.ns)) || (c = strcmp(x->meta.name, y->meta.name)))
		return c;
	return x < y ? -1 : x > y;
}

/*
 * Reports (logs, and writes the first message to <msg>) every object of <objs> that appears
 * twice in the unit or in another unit of <u>'s source. Within the unit a sort finds pairs
 * (an API list can be large); across a config dir's files a scan is enough. Returns 1 when
 * there was a duplicate, 0 when none, -ENOMEM.
 */
static int unit_find_dup(const struct store *s, const struct store_unit *u,
			 const struct k8s_object *objs, size_t n, char *msg, size_t len)
{
	const struct k8s_object **v;
	size_t i, j, k;
	bool dup = false;

	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = &objs[i];
	qsort(v, n, sizeof(*v), obj_ptr_cmp);
	for (i = 1; i < n; i++) {
		if (k8s_same_object(v[i - 1], v[i])) {
			dup_report(u, v[i], "this same file", !dup, msg, len);
			dup = true;
		}
	}
	free(v);
	for (i = 0; i < n; i++) {
		const struct k8s_object *o = &objs[i];
		const char *other = NULL;

		for (k = 0; k < s->nunits && !other; k++) {
			const struct store_unit *w = s->units[k];

			if (w == u || w->source != u->source)
				continue;
			for (j = 0; j < w->nobjs && !other; j++)
				if (k8s_same_object(o, &w->objs[j]))
					other = w->path;
		}
		if (other) {
			dup_report(u, o, other, !dup, msg, len);
			dup = true;
		}
	}
	return dup;
}

/* Puts <objs> (owned by <a>, consumed) in force for <u> unless they duplicate others. */
static int unit_set(struct store *s, struct store_unit *u, struct arena *a,
		    const struct k8s_object *objs, size_t n)
{
	char msg[512];
	int err;

	err = unit_find_dup(s, u, objs, n, msg, sizeof(msg));
	if (err < 0) {
		arena_free(a);
		return err;
	}
	if (err) {
		arena_free(a);
		err = unit_reject(s, u, msg);
		return err ?: -EEXIST;
	}
	arena_free(u->a);
	u->a = a;
	u->objs = objs;
	u->nobjs = n;
	u->ok = true;
	free(u->err);
	u->err = NULL;
	s->loads++;
	return 0;
}

/* The store starts empty: what is in force comes only from sources, and none runs yet. */
struct store *store_new(void)
{
	return calloc(1, sizeof(struct store));
}

int store_source_origin(struct store *s, unsigned source, const char *origin)
{
	if (source >= STORE_SRC_MAX)
		return -EINVAL;
	/* Unit paths are made once, at creation: a second origin would name them two ways. */
	if (s->origin[source])
		return -EBUSY;
	s->origin[source] = strdup(origin);
	return s->origin[source] ? 0 : -ENOMEM;
}

int store_source_replace(struct store *s, unsigned source, const char *unit, struct arena *a,
			 const struct k8s_object *objs, size_t n)
{
	struct store_unit *u;

	/* The arena is ours from the call on, whatever happens: the caller never frees it. */
	if (source >= STORE_SRC_MAX) {
		arena_free(a);
		return -EINVAL;
	}
	u = unit_get(s, source, unit);
	if (!u) {
		arena_free(a);
		return -ENOMEM;
	}
	return unit_set(s, u, a, objs, n);
}

int store_source_reject(struct store *s, unsigned source, const char *unit, const char *err)
{
	struct store_unit *u;

	if (source >= STORE_SRC_MAX)
		return -EINVAL;
	u = unit_get(s, source, unit);
	if (!u)
		return -ENOMEM;
	return unit_reject(s, u, err);
}

int store_source_remove(struct store *s, unsigned source, const char *unit)
{
	struct store_unit *u = unit_find(s, source, unit);

	if (!u)
		return -ENOENT;
	unit_remove(s, u);
	return 0;
}

int store_source_status(const struct store *s, unsigned source, const char *unit,
			struct store_file_status *st)
{
	const struct store_unit *u = unit_find(s, source, unit);

	if (!u)
		return -ENOENT;
	unit_status(u, st);
	return 0;
}

/* --- snapshots and status ------------------------------------------------------------- */

const struct k8s_object **store_objects(struct store *s, size_t *n, uint64_t *generation)
{
	const struct k8s_object **objs;
	size_t i, j, cnt = 0;

	for (i = 0; i < s->nunits; i++)
		cnt += s->units[i]->nobjs;
	objs = calloc(cnt ? cnt : 1, sizeof(*objs));
	if (!objs)
		return NULL;
	cnt = 0;
	/* Units are sorted by source: the lower source's object comes first and wins. */
	for (i = 0; i < s->nunits; i++)
		for (j = 0; j < s->units[i]->nobjs; j++)
			objs[cnt++] = &s->units[i]->objs[j];
	*n = cnt;
	*generation = ++s->generation;
	return objs;
}

void store_get_stats(const struct store *s, struct store_stats *st)
{
	size_t i, j;

	memset(st, 0, sizeof(*st));
	st->loads = s->loads;
	st->rejects = s->rejects;
	for (i = 0; i < s->nunits; i++) {
		const struct store_unit *u = s->units[i];

		/* "files" are the config dir's units: the figures an operator edits. */
		if (u->source == STORE_SRC_DIR) {
			st->files++;
			if (u->ok)
				st->files_ok++;
			else
				st->files_rejected++;
		}
		for (j = 0; j < u->nobjs; j++)
			st->objects[u->objs[j].kind->id]++;
	}
}

const char *store_file_error(const struct store *s, const char *name)
{
	/* By file name: the config dir's units are named by their file. */
	const struct store_unit *u = unit_find(s, STORE_SRC_DIR, name);

	return u ? u->err : NULL;
}

void store_foreach(const struct store *s, void (*cb)(void *arg, const struct store_file_status *st),
		   void *arg)
{
	size_t i;

	for (i = 0; i < s->nunits; i++) {
		struct store_file_status st;

		unit_status(s->units[i], &st);
		cb(arg, &st);
	}
}

void store_free(struct store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nunits; i++)
		unit_free(s->units[i]);
	free(s->units);
	for (i = 0; i < STORE_SRC_MAX; i++)
		free(s->origin[i]);
	free(s);
}
