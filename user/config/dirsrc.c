// SPDX-License-Identifier: Apache-2.0
/*
 * The config-directory source of dirsrc.h. It reads files whole, decodes them with
 * k8s_decode() and hands each to the store as one unit; the store decides what is in force
 * (duplicates, last good state). What only a directory has stays here: file identities for
 * cheap rescans, the inotify watch, and retrying files rejected for a duplicate.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include "config/dirsrc.h"

/* The store's module name: a file's messages read the same wherever they are logged. */
#define DIRSRC_MOD "config"

/* A config file larger than this is surely a mistake (the whole file is read into memory). */
#define DIRSRC_MAX_FILE (16u << 20)

#define DIRSRC_WATCH_MASK                                                                          \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_CREATE | IN_DELETE_SELF |   \
	 IN_MOVE_SELF | IN_ONLYDIR)

/* A config file this source knows: it has a unit in the store (good or rejected). */
struct dirsrc_file {
	char *name;		  /* in the directory: the store's unit name */
	char *path;		  /* "<dir>/<name>": opened, and named in messages */
	bool retry;		  /* rejected for a duplicate: retry when others change */
	unsigned long retry_pass; /* the pass that rejected it (retried in later ones) */
	bool have_stat;		  /* file identity at the last attempt */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct dirsrc {
	struct store *store;	    /* fed, not owned */
	char *dir;		    /* NULL when none */
	int ifd;		    /* inotify fd, -1 when none */
	struct dirsrc_file **files; /* sorted by name, as the store sorts the units */
	size_t nfiles, cap;
	unsigned long pass; /* counts scans and event batches */
};

/* --- known files ---------------------------------------------------------------------- */

/* Index of file <name> or where it would go; *<found> says which. */
static size_t file_pos(const struct dirsrc *d, const char *name, bool *found)
{
	size_t lo = 0, hi = d->nfiles, mid;
	int c;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, d->files[mid]->name);
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

static struct dirsrc_file *file_find(const struct dirsrc *d, const char *name)
{
	bool found;
	size_t i = file_pos(d, name, &found);

	return found ? d->files[i] : NULL;
}

/* Frees <f> alone; its unit in the store is the caller's business. Accepts NULL. */
static void file_free(struct dirsrc_file *f)
{
	if (!f)
		return;
	free(f->name);
	free(f->path);
	free(f);
}

/* The file <name>, created (without a stat yet) when new. NULL+errno on failure. */
static struct dirsrc_file *file_get(struct dirsrc *d, const char *name)
{
	struct dirsrc_file *f, **v;
	bool found;
	size_t i = file_pos(d, name, &found);

	if (found)
		return d->files[i];
	if (d->nfiles == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;

		v = reallocarray(d->files, cap, sizeof(*v));
		if (!v)
			return NULL;
		d->files = v;
		d->cap = cap;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	/* The same "<dir>/<name>" the store names the unit by: one path in every message. */
	f->name = strdup(name);
	if (asprintf(&f->path, "%s/%s", d->dir, name) < 0)
		f->path = NULL;
	if (!f->name || !f->path) {
		file_free(f);
		errno = ENOMEM;
		return NULL;
	}
	memmove(&d->files[i + 1], &d->files[i], (d->nfiles - i) * sizeof(*v));
	d->files[i] = f;
	d->nfiles++;
	return f;
}

/*
 * Forgets file <f> and drops its unit from the store. Sets *<changed> when the unit had a
 * good load in force (even of no objects: the snapshot then followed that file).
 */
static void file_forget(struct dirsrc *d, struct dirsrc_file *f, bool *changed)
{
	struct store_file_status st;
	bool found;
	size_t i;

	if (!store_source_status(d->store, STORE_SRC_DIR, f->name, &st) && st.loaded)
		*changed = true;
	/* -ENOENT when a load ran out of memory before the store heard of the file: fine. */
	store_source_remove(d->store, STORE_SRC_DIR, f->name);
	i = file_pos(d, f->name, &found);
	if (!found)
		return;
	memmove(&d->files[i], &d->files[i + 1], (d->nfiles - i - 1) * sizeof(*d->files));
	d->nfiles--;
	file_free(f);
}

/* --- reading one file ----------------------------------------------------------------- */

/* Config files: *.yaml, *.yml, *.json; not dotfiles (editor swap files, ConfigMap internals)
 * nor backups ending in '~'. */
static bool dirsrc_name_ok(const char *name)
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
			if (cap >= DIRSRC_MAX_FILE) {
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

/*
 * True when <st> is the file of <f>'s last attempt, by inode, size and mtime: a rescan then
 * skips it. A new inode catches a rename over it even with the same size and mtime.
 */
static bool stat_same(const struct dirsrc_file *f, const struct stat *st)
{
	return f->have_stat && f->dev == st->st_dev && f->ino == st->st_ino &&
	       f->size == st->st_size && f->mtime.tv_sec == st->st_mtim.tv_sec &&
	       f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/*
 * (Re)loads config file <name>: decoded, validated and handed to the store, which puts it
 * in force or rejects it whole. Sets *<changed> when the objects in force changed. <force>
 * reloads an unchanged file. Returns 0 (bad files too) or -ENOMEM.
 */
static int dirsrc_load_file(struct dirsrc *d, const char *name, bool force, bool *changed)
{
	struct dirsrc_file *f = file_find(d, name);
	bool known = f != NULL;
	struct k8s_result res;
	struct arena *a = NULL;
	char *buf = NULL, msg[512];
	size_t len = 0;
	struct stat st;
	int err;

	if (!f) {
		f = file_get(d, name);
		if (!f)
			return -ENOMEM;
	}
	if (stat(f->path, &st) < 0 || !S_ISREG(st.st_mode)) {
		/* Gone (or no longer a file) between the event or readdir and now. */
		if (known)
			log_info(DIRSRC_MOD, "%s: removed", f->path);
		file_forget(d, f, changed);
		return 0;
	}
	if (!force && stat_same(f, &st))
		return 0;
	/* Recorded before the read: a bad file is not re-read by every rescan, only when it
	 * changes (or an event names it). */
	f->have_stat = true;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
	err = read_file(f->path, &buf, &len);
	if (err) {
		if (err == -ENOMEM)
			return err;
		/* The store logs the rejection, not why: say it here, once. */
		snprintf(msg, sizeof(msg), "%s: cannot read: %s", f->path, strerror(-err));
		log_err(DIRSRC_MOD, "%s", msg);
		return store_source_reject(d->store, STORE_SRC_DIR, f->name, msg);
	}
	a = arena_new();
	if (!a) {
		free(buf);
		return -ENOMEM;
	}
	err = k8s_decode(a, f->path, buf, len, &res);
	free(buf);
	if (err == -ENOMEM) {
		arena_free(a);
		return err;
	}
	if (err) {
		arena_free(a);
		f->retry = false; /* a bad file waits for its own fix, not for others */
		return store_source_reject(d->store, STORE_SRC_DIR, f->name, res.err);
	}
	/* The store takes <a> over, in force or not. */
	err = store_source_replace(d->store, STORE_SRC_DIR, f->name, a, res.objs, res.nobjs);
	if (err == -EEXIST) {
		/* Logged by the store; the file it clashes with may let go of the object. */
		f->retry = true;
		f->retry_pass = d->pass;
		return 0;
	}
	if (err)
		return err;
	f->retry = false;
	log_info(DIRSRC_MOD, "%s: loaded %zu objects", f->path, res.nobjs);
	*changed = true;
	return 0;
}

/*
 * Files rejected only for duplicating another file get another chance once others changed;
 * not those rejected in this very pass (the file they clash with just loaded).
 */
static int dirsrc_retry(struct dirsrc *d, bool *changed)
{
	size_t i, n = 0;
	char **names;
	int err = 0;

#define RETRY(f) ((f)->retry && (f)->retry_pass < d->pass)
	for (i = 0; i < d->nfiles; i++)
		n += RETRY(d->files[i]);
	if (!n)
		return 0;
	names = calloc(n, sizeof(*names));
	if (!names)
		return -ENOMEM;
	/* Copies: a reload may forget the file (gone meanwhile) and free its name. */
	n = 0;
	for (i = 0; i < d->nfiles && !err; i++) {
		if (!RETRY(d->files[i]))
			continue;
		names[n] = strdup(d->files[i]->name);
		if (!names[n])
			err = -ENOMEM;
		else
			n++;
	}
#undef RETRY
	for (i = 0; i < n && !err; i++) {
		const struct dirsrc_file *f = file_find(d, names[i]);

		if (f && f->retry)
			err = dirsrc_load_file(d, names[i], true, changed);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

/* Full rescan; see dirsrc.h. Files load in name order, so that of two files defining one
 * object the first one wins on a fresh start. */
static int dirsrc_scan(struct dirsrc *d, bool *changed)
{
	struct dirent **list;
	char **gone = NULL;
	size_t i, ngone = 0;
	bool found, *seen;
	int n, j, err = 0;

	d->pass++;
	n = scandir(d->dir, &list, NULL, alphasort);
	if (n < 0) {
		err = -errno;
		log_err(DIRSRC_MOD, "%s: cannot read the config directory: %s", d->dir,
			strerror(errno));
		return err;
	}
	seen = calloc(d->nfiles + 1, sizeof(*seen));
	gone = calloc(d->nfiles + 1, sizeof(*gone));
	if (!seen || !gone) {
		err = -ENOMEM;
		goto out;
	}
	for (j = 0; j < n; j++) {
		if (!dirsrc_name_ok(list[j]->d_name))
			continue;
		i = file_pos(d, list[j]->d_name, &found);
		if (found)
			seen[i] = true;
	}
	for (i = 0; i < d->nfiles; i++)
		if (!seen[i])
			gone[ngone++] = d->files[i]->name;
	for (i = 0; i < ngone; i++) {
		/* file_find() again: forgetting one file moves the others in the array. */
		struct dirsrc_file *f = file_find(d, gone[i]);

		log_info(DIRSRC_MOD, "%s: removed", f->path);
		file_forget(d, f, changed);
	}
	for (j = 0; j < n && !err; j++)
		if (dirsrc_name_ok(list[j]->d_name))
			err = dirsrc_load_file(d, list[j]->d_name, false, changed);
	if (!err && *changed)
		err = dirsrc_retry(d, changed);
out:
	free(gone);
	free(seen);
	for (j = 0; j < n; j++)
		free(list[j]);
	free(list);
	return err;
}

/* --- the watched directory ------------------------------------------------------------ */

struct dirsrc *dirsrc_new(struct store *s, const char *dir)
{
	struct dirsrc *d;
	struct stat st;
	int err;

	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->store = s;
	d->ifd = -1;
	if (!dir)
		return d;
	if (stat(dir, &st) < 0) {
		err = errno;
		goto out_free;
	}
	if (!S_ISDIR(st.st_mode)) {
		err = ENOTDIR;
		goto out_free;
	}
	d->dir = strdup(dir);
	if (!d->dir) {
		err = ENOMEM;
		goto out_free;
	}
	d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ifd < 0) {
		err = errno;
		goto out_free;
	}
	if (inotify_add_watch(d->ifd, dir, DIRSRC_WATCH_MASK) < 0) {
		err = errno;
		goto out_free;
	}
	/* Last: once claimed, the store's directory units are this source's. */
	err = -store_source_origin(s, STORE_SRC_DIR, dir);
	if (err)
		goto out_free;
	return d;

out_free:
	dirsrc_free(d);
	errno = err;
	return NULL;
}

int dirsrc_load(struct dirsrc *d)
{
	bool changed = false;

	if (!d->dir)
		return 0;
	return dirsrc_scan(d, &changed);
}

int dirsrc_watch_fd(const struct dirsrc *d)
{
	return d->ifd;
}

/*
 * Adds <name> to the set <names>/<n> unless already there: an editor's burst names one file
 * many times, and it is read once. Linear, as a batch names a handful of files.
 */
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

int dirsrc_handle_events(struct dirsrc *d, bool *changed)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	char **names = NULL;
	size_t nnames = 0, i;
	bool rescan = false;
	int err = 0;
	ssize_t r;

	*changed = false;
	if (d->ifd < 0) /* no directory: never readable, but a caller may ask anyway */
		return 0;
	for (;;) {
		char *p;

		r = read(d->ifd, buf, sizeof(buf));
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
				log_err(DIRSRC_MOD,
					"%s: the config directory was removed or moved; "
					"keeping the current objects",
					d->dir);
			} else if (ev->len && !strcmp(ev->name, "..data")) {
				/* A ConfigMap volume swaps its "..data" symlink: files changed
				 * under the same names, and no event names them. */
				rescan = true;
			} else if (ev->len && !(ev->mask & IN_ISDIR) && dirsrc_name_ok(ev->name)) {
				err = names_add(&names, &nnames, ev->name);
				if (err)
					goto out;
			}
		}
	}
	if (err)
		goto out;
	if (rescan) {
		err = dirsrc_scan(d, changed);
		goto out;
	}
	/* A pass of its own: files rejected for a duplicate in this batch wait for the next. */
	d->pass++;
	for (i = 0; i < nnames && !err; i++)
		err = dirsrc_load_file(d, names[i], true, changed);
	if (!err && *changed)
		err = dirsrc_retry(d, changed);
out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	return err;
}

void dirsrc_free(struct dirsrc *d)
{
	size_t i;

	if (!d)
		return;
	/* The store keeps the units: they are the last good state, not the watch's. */
	for (i = 0; i < d->nfiles; i++)
		file_free(d->files[i]);
	free(d->files);
	if (d->ifd >= 0)
		close(d->ifd);
	free(d->dir);
	free(d);
}
