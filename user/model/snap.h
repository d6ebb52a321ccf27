/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Immutable snapshots published to worker threads without locks on the read side
 * (quiescent-state-based reclamation). The control thread swaps in a new object; each
 * worker reads the current one inside a callback and reports a quiescent state between
 * callbacks; a retired object is freed once every registered worker has passed one.
 */
#ifndef WEIR_USER_SNAP_H
#define WEIR_USER_SNAP_H

#include <stdint.h>

struct snap;

/* Frees a retired (or, at snap_free(), the current) object; <arg> is the one given to snap_new. */
typedef void (*snap_free_fn)(void *obj, void *arg);

/*
 * Creates an empty snapshot cell (snap_get() returns NULL until the first publish) for at
 * most <max_readers> registered readers (0: 64). <free_fn> (with <arg>) frees retired
 * objects; NULL means the objects are not owned. Returns the cell (caller owns,
 * snap_free()) or NULL+errno.
 */
struct snap *snap_new(unsigned max_readers, snap_free_fn free_fn, void *arg);

/*
 * Frees <s>, its current object and every retired one, without waiting for readers: the
 * caller guarantees none is left (threads joined). Accepts NULL.
 */
void snap_free(struct snap *s);

/*
 * Makes <obj> current and retires the previous object (consumed: <s> frees it later).
 * Writer side: publish, reclaim and register are serialised by an internal mutex, so any
 * thread may call them. Returns 0, or -ENOMEM (then <obj> is not published, caller keeps it).
 */
int snap_publish(struct snap *s, void *obj);

/*
 * Frees the retired objects that every online reader has passed a quiescent state since
 * retirement. Returns how many were freed. Call it periodically (e.g. once a second).
 */
unsigned snap_reclaim(struct snap *s);

/* Retired objects not yet freed (for metrics and tests). */
unsigned snap_pending(struct snap *s);

/*
 * Registers the calling reader (a worker thread to be) and returns its reader id (>= 0), or
 * -ENOSPC when <max_readers> are registered. A registered reader holds back reclamation until
 * it reports quiescent states, so register just before the reader starts running.
 */
int snap_register(struct snap *s);

/* Unregisters reader <id> once it holds no pointer from snap_get() (e.g. at thread exit). */
void snap_unregister(struct snap *s, int id);

/*
 * The current object, or NULL before the first publish. Reader side: valid until the
 * reader's next snap_quiesce(); never keep it across one (nor across an event-loop iteration).
 * Registered readers and the writer thread (whose own publish is what retires it) may call it.
 */
void *snap_get(struct snap *s);

/*
 * Reader <id> reports a quiescent state: it holds no pointer obtained from snap_get() before
 * this call. Cheap (one load and one store, no atomic read-modify-write).
 */
void snap_quiesce(struct snap *s, int id);

#endif /* WEIR_USER_SNAP_H */
