// SPDX-License-Identifier: Apache-2.0
/*
 * The config store of store.h. Units (a config file, a source's list) are kept sorted by
 * (source, name), each with the arena of its last good objects, so replacing or dropping one
 * is an arena swap. The config-dir source reads files whole, rejects a file on any error and
 * follows the directory with inotify.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/arena.h"
#include "config/k8s.h"
#include "lib/log.h"
#include "config/store.h"

#define STORE_MOD "config"

/* A config file larger than this is surely a mistake (the whole file is read into memory). */
#define STORE_MAX_FILE (16u << 20)

#define STORE_WATCH_MASK                                                                           \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_CREATE | IN_DELETE_SELF |   \
	 IN_MOVE_SELF | IN_ONLYDIR)

struct store_unit {
	unsigned source;
	char *name;
	char *path;		       /* for messages */
	struct arena *a;	       /* owns objs; NULL before the first good load */
	const struct k8s_object *objs; /* the last good objects: these are in force */
	size_t nobjs;
	bool ok;		  /* the last load attempt was good */
	bool retry;		  /* rejected for a duplicate: retry when others change */
	unsigned long retry_pass; /* the pass that rejected it (retried in later ones) */
	char *err;		  /* the last attempt's first error (malloc), or NULL */
	bool have_stat;		  /* file identity at the last attempt (config dir) */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct store {
	char *dir;		   /* config dir, NULL when none */
	int ifd;		   /* inotify fd, -1 when none */
	struct store_unit **units; /* sorted by (source, name) */
	size_t nunits, cap;
	unsigned long loads, rejects;
	unsigned long pass;  /* counts scans and event batches */
	uint64_t generation; /* of the last snapshot built */
};

/* --- units ---------------------------------------------------------------------------- */

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
	if (src == STORE_SRC_DIR && s->dir) {
		if (asprintf(&u->path, "%s/%s", s->dir, name) < 0)
			u->path = NULL;
	} else {
		u->path = strdup(name);
	}
	if (!u->name || !u->path) {
		unit_free(u);
		errno = ENOMEM;
		return NULL;
	}
	u->ok = true;
	memmove(&s->units[i + 1], &s->units[i], (s->nunits - i) * sizeof(*v));
	s->units[i] = u;
	s->nunits++;
	return u;
}

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
		u->retry = true;
		u->retry_pass = s->pass;
		return err ?: -EEXIST;
	}
	arena_free(u->a);
	u->a = a;
	u->objs = objs;
	u->nobjs = n;
	u->ok = true;
	u->retry = false;
	free(u->err);
	u->err = NULL;
	s->loads++;
	return 0;
}

int store_source_replace(struct store *s, unsigned source, const char *unit, struct arena *a,
			 const struct k8s_object *objs, size_t n)
{
	struct store_unit *u;

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

/* --- the config-dir source ------------------------------------------------------------ */

/* Config files: *.yaml, *.yml, *.json; not dotfiles (editor swap files, ConfigMap internals)
 * nor backups ending in '~'. */
static bool store_name_ok(const char *name)
{
	static const char *const exts[] = {".yaml", ".yml", ".json"};
	size_t len = strlen(name), i, el;

	if (!len || name[0] == '.' || name[len - 1] == '~')
		return false;
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		el = strlen(exts[i]);
		if (len > el && !strcmp(name + len - el, exts[i]))
			return true;
	}
	return false;
}

/* Reads <path> whole into a malloc'd buffer. Returns 0 or -errno (-EFBIG when too big). */
static int read_file(const char *path, char **buf, size_t *len)
{
	size_t cap = 8192, n = 0;
	char *b, *nb;
	ssize_t r;
	int fd, err = 0;

	/* O_NONBLOCK: a FIFO swapped in after the stat() must not hang the control thread. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	b = malloc(cap);
	if (!b) {
		err = -ENOMEM;
		goto out_close;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= STORE_MAX_FILE) {
				err = -EFBIG;
				break;
			}
			cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	if (err) {
		free(b);
		goto out_close;
	}
	*buf = b;
	*len = n;
out_close:
	close(fd);
	return err;
}

static bool stat_same(const struct store_unit *u, const struct stat *st)
{
	return u->have_stat && u->dev == st->st_dev && u->ino == st->st_ino &&
	       u->size == st->st_size && u->mtime.tv_sec == st->st_mtim.tv_sec &&
	       u->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/*
 * (Re)loads config file <name>: decoded, validated and put in force, or rejected whole.
 * Sets *<changed> when the objects in force changed. <force> reloads an unchanged file.
 * Returns 0 (bad files too) or -ENOMEM.
 */
static int store_load_file(struct store *s, const char *name, bool force, bool *changed)
{
	struct store_unit *u = unit_find(s, STORE_SRC_DIR, name);
	bool known = u != NULL;
	struct k8s_result res;
	struct arena *a = NULL;
	char *buf = NULL, msg[512];
	size_t len = 0;
	struct stat st;
	int err;

	if (!u) {
		u = unit_get(s, STORE_SRC_DIR, name);
		if (!u)
			return -ENOMEM;
	}
	if (stat(u->path, &st) < 0 || !S_ISREG(st.st_mode)) {
		/* Gone (or no longer a file) between the event or readdir and now. */
		if (u->a)
			*changed = true;
		if (known)
			log_info(STORE_MOD, "%s: removed", u->path);
		unit_remove(s, u);
		return 0;
	}
	if (!force && stat_same(u, &st))
		return 0;
	u->have_stat = true;
	u->dev = st.st_dev;
	u->ino = st.st_ino;
	u->size = st.st_size;
	u->mtime = st.st_mtim;
	err = read_file(u->path, &buf, &len);
	if (err) {
		if (err == -ENOMEM)
			return err;
		snprintf(msg, sizeof(msg), "%s: cannot read: %s", u->path, strerror(-err));
		log_err(STORE_MOD, "%s", msg);
		return unit_reject(s, u, msg);
	}
	a = arena_new();
	if (!a) {
		free(buf);
		return -ENOMEM;
	}
	err = k8s_decode(a, u->path, buf, len, &res);
	free(buf);
	if (err == -ENOMEM) {
		arena_free(a);
		return err;
	}
	if (err) {
		arena_free(a);
		err = unit_reject(s, u, res.err);
		u->retry = false;
		return err;
	}
	err = unit_set(s, u, a, res.objs, res.nobjs);
	if (err == -EEXIST)
		return 0;
	if (err)
		return err;
	log_info(STORE_MOD, "%s: loaded %zu objects", u->path, res.nobjs);
	*changed = true;
	return 0;
}

/*
 * Files rejected only for duplicating another file get another chance once others changed;
 * not those rejected in this very pass (the file they clash with just loaded).
 */
static int store_retry(struct store *s, bool *changed)
{
	size_t i, n = 0;
	char **names;
	int err = 0;

#define RETRY(u) ((u)->source == STORE_SRC_DIR && (u)->retry && (u)->retry_pass < s->pass)
	for (i = 0; i < s->nunits; i++)
		n += RETRY(s->units[i]);
	if (!n)
		return 0;
	names = calloc(n, sizeof(*names));
	if (!names)
		return -ENOMEM;
	n = 0;
	for (i = 0; i < s->nunits; i++)
		if (RETRY(s->units[i]))
			names[n++] =
			    s->units[i]->name; /* stable: loading replaces objs, not units */
#undef RETRY
	for (i = 0; i < n && !err; i++) {
		struct store_unit *u = unit_find(s, STORE_SRC_DIR, names[i]);

		if (u && u->retry) {
			char *name = strdup(names[i]);

			if (!name) {
				err = -ENOMEM;
				break;
			}
			err = store_load_file(s, name, true, changed);
			free(name);
		}
	}
	free(names);
	return err;
}

/* Full rescan; see store.h. Files load in name order, so that of two files defining one
 * object the first one wins on a fresh start. */
static int store_scan(struct store *s, bool *changed)
{
	struct dirent **list;
	char **gone = NULL;
	size_t i, ngone = 0;
	bool found, *seen;
	int n, j, err = 0;

	s->pass++;
	n = scandir(s->dir, &list, NULL, alphasort);
	if (n < 0) {
		err = -errno;
		log_err(STORE_MOD, "%s: cannot read the config directory: %s", s->dir,
			strerror(errno));
		return err;
	}
	seen = calloc(s->nunits + 1, sizeof(*seen));
	gone = calloc(s->nunits + 1, sizeof(*gone));
	if (!seen || !gone) {
		err = -ENOMEM;
		goto out;
	}
	for (j = 0; j < n; j++) {
		if (!store_name_ok(list[j]->d_name))
			continue;
		i = unit_pos(s, STORE_SRC_DIR, list[j]->d_name, &found);
		if (found)
			seen[i] = true;
	}
	for (i = 0; i < s->nunits; i++)
		if (s->units[i]->source == STORE_SRC_DIR && !seen[i])
			gone[ngone++] = s->units[i]->name;
	for (i = 0; i < ngone; i++) {
		struct store_unit *u = unit_find(s, STORE_SRC_DIR, gone[i]);

		if (u->a)
			*changed = true;
		log_info(STORE_MOD, "%s: removed", u->path);
		unit_remove(s, u);
	}
	for (j = 0; j < n && !err; j++)
		if (store_name_ok(list[j]->d_name))
			err = store_load_file(s, list[j]->d_name, false, changed);
	if (!err && *changed)
		err = store_retry(s, changed);
out:
	free(gone);
	free(seen);
	for (j = 0; j < n; j++)
		free(list[j]);
	free(list);
	return err;
}

struct store *store_new(const char *config_dir)
{
	struct store *s;
	struct stat st;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ifd = -1;
	if (!config_dir)
		return s;
	if (stat(config_dir, &st) < 0) {
		err = errno;
		goto out_free;
	}
	if (!S_ISDIR(st.st_mode)) {
		err = ENOTDIR;
		goto out_free;
	}
	s->dir = strdup(config_dir);
	if (!s->dir) {
		err = ENOMEM;
		goto out_free;
	}
	s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ifd < 0) {
		err = errno;
		goto out_free;
	}
	if (inotify_add_watch(s->ifd, config_dir, STORE_WATCH_MASK) < 0) {
		err = errno;
		goto out_free;
	}
	return s;

out_free:
	store_free(s);
	errno = err;
	return NULL;
}

int store_load(struct store *s)
{
	bool changed = false;

	if (!s->dir)
		return 0;
	return store_scan(s, &changed);
}

int store_watch_fd(const struct store *s)
{
	return s->ifd;
}

/* Adds <name> to the set <names>/<n> unless already there. */
static int names_add(char ***names, size_t *n, const char *name)
{
	char **v;
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*names)[i], name))
			return 0;
	v = reallocarray(*names, *n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*names = v;
	v[*n] = strdup(name);
	if (!v[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

int store_handle_events(struct store *s, bool *changed)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	char **names = NULL;
	size_t nnames = 0, i;
	bool rescan = false;
	int err = 0;
	ssize_t r;

	*changed = false;
	if (s->ifd < 0)
		return 0;
	for (;;) {
		char *p;

		r = read(s->ifd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (errno != EAGAIN)
				err = -errno;
			break;
		}
		if (!r)
			break;
		for (p = buf; p < buf + r;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				rescan = true; /* events were lost: only a full scan is right */
			} else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				log_err(STORE_MOD,
					"%s: the config directory was removed or moved; "
					"keeping the current objects",
					s->dir);
			} else if (ev->len && !strcmp(ev->name, "..data")) {
				/* A ConfigMap volume swaps its "..data" symlink: files changed
				 * under the same names, and no event names them. */
				rescan = true;
			} else if (ev->len && !(ev->mask & IN_ISDIR) && store_name_ok(ev->name)) {
				err = names_add(&names, &nnames, ev->name);
				if (err)
					goto out;
			}
		}
	}
	if (err)
		goto out;
	if (rescan) {
		err = store_scan(s, changed);
		goto out;
	}
	s->pass++;
	for (i = 0; i < nnames && !err; i++)
		err = store_load_file(s, names[i], true, changed);
	if (!err && *changed)
		err = store_retry(s, changed);
out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	return err;
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
	const struct store_unit *u = unit_find(s, STORE_SRC_DIR, name);

	return u ? u->err : NULL;
}

void store_foreach(const struct store *s, void (*cb)(void *arg, const struct store_file_status *st),
		   void *arg)
{
	size_t i;

	for (i = 0; i < s->nunits; i++) {
		const struct store_unit *u = s->units[i];
		struct store_file_status st = {.source = u->source,
					       .name = u->name,
					       .path = u->path,
					       .ok = u->ok,
					       .nobjs = u->nobjs,
					       .err = u->err};

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
	if (s->ifd >= 0)
		close(s->ifd);
	free(s->dir);
	free(s);
}
