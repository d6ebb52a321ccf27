/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The config-directory source (--config-dir): reads the *.yaml, *.yml and *.json files of
 * one flat directory, one store unit per file (source STORE_SRC_DIR), and follows the
 * directory with inotify, including the "..data" swap of a Kubernetes ConfigMap volume.
 * It feeds the store through the store_source_*() calls only, as the API source does.
 *
 * Use from the agent's control thread, as the store:
 *
 *	s = store_new();  d = dirsrc_new(s, dir);  dirsrc_load(d);  m = model_from_store(s);
 *	poll dirsrc_watch_fd(d) -> arm a ~100 ms timer -> dirsrc_handle_events(d, &changed)
 *	-> if changed: build and publish a new model, model_free() the old one when unused.
 *
 * Debounce is the caller's: dirsrc_handle_events() drains every queued event and reloads each
 * file named once, so calling it after a short timer (rather than on every wakeup) folds an
 * editor's burst of events (write, rename, chmod) into one reload and one snapshot.
 */
#ifndef WEIR_USER_DIRSRC_H
#define WEIR_USER_DIRSRC_H

#include <stdbool.h>

struct dirsrc;
struct store;

/*
 * A source feeding store <s> (which must outlive it) from the flat directory <dir>, watched
 * with inotify; NULL <dir> gives a source that never has anything (an API-only agent).
 * Loads nothing yet (dirsrc_load does). One per store: the directory names the store's
 * STORE_SRC_DIR units. Returns NULL and sets errno (ENOENT, ENOTDIR, EBUSY when <s> already
 * has a directory source, inotify's errors).
 */
struct dirsrc *dirsrc_new(struct store *s, const char *dir);

/*
 * Full rescan of the directory of <d>: new and changed files are loaded, vanished files'
 * objects removed, unchanged files (same inode, size and mtime) skipped. Bad files are
 * not an error return: they are logged, counted and keep their last good objects.
 * Returns 0, or -errno when the directory cannot be read (the state is then unchanged).
 */
int dirsrc_load(struct dirsrc *d);

/* The inotify descriptor of <d> to poll for readability, -1 without a directory. */
int dirsrc_watch_fd(const struct dirsrc *d);

/*
 * Drains the pending inotify events of <d> and reloads the files they name (a queue overflow
 * or a Kubernetes ConfigMap "..data" swap means a full rescan). Sets *<changed> when the
 * objects in force changed, i.e. a new snapshot is due. Returns 0 or -errno.
 */
int dirsrc_handle_events(struct dirsrc *d, bool *changed);

/*
 * Frees <d> and its inotify descriptor. The units it fed stay in the store, in force (the
 * last good state outlives the watch). Accepts NULL.
 */
void dirsrc_free(struct dirsrc *d);

#endif /* WEIR_USER_DIRSRC_H */
