// SPDX-License-Identifier: Apache-2.0
/*
 * Quiescent-state-based reclamation for the snapshots in snap.h. A global epoch counts
 * retirements; a reader's quiescent state records the epoch it has seen; an object retired
 * at epoch R is freed when every online reader has recorded an epoch >= R.
 *
 * Why that is safe: publish stores the new pointer and only then increments the epoch (both
 * sequentially consistent). A reader that loads epoch >= R has therefore also seen the new
 * pointer for every later snap_get(), and by reporting a quiescent state it promises that the
 * pointers it got before are dead. The reader side is one acquire load per get and one
 * load/store pair per quiescent state, with each reader's slot on its own cache line.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "model/snap.h"

#define SNAP_READERS_DEFAULT 64

enum snap_slot_state { SNAP_SLOT_FREE = 0, SNAP_SLOT_ONLINE = 1 };

/* One reader's slot, alone on its cache line so that readers do not share lines. */
struct snap_reader {
	_Atomic uint64_t seen; /* last epoch observed at a quiescent state */
	_Atomic int state;     /* enum snap_slot_state */
} __attribute__((aligned(64)));

/* A retired object waiting for every reader to pass epoch <epoch>. */
struct snap_retired {
	void *obj;
	uint64_t epoch;
	struct snap_retired *next;
};

struct snap {
	_Atomic(void *) cur;	   /* the published object */
	_Atomic uint64_t epoch;	   /* incremented by every retirement, starts at 1 */
	pthread_mutex_t lock;	   /* writer side: publish, reclaim, register */
	struct snap_retired *head; /* retired objects, oldest (lowest epoch) first */
	struct snap_retired **tailp;
	unsigned npending;
	snap_free_fn free_fn;
	void *free_arg;
	unsigned max_readers;
	struct snap_reader *readers; /* [max_readers] */
};

struct snap *snap_new(unsigned max_readers, snap_free_fn free_fn, void *arg)
{
	struct snap *s;

	if (!max_readers)
		max_readers = SNAP_READERS_DEFAULT;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	/* aligned_alloc wants a size that is a multiple of the alignment: the struct is 64. */
	s->readers = aligned_alloc(64, max_readers * sizeof(*s->readers));
	if (!s->readers)
		goto out_free;
	for (unsigned i = 0; i < max_readers; i++) {
		atomic_init(&s->readers[i].seen, 0);
		atomic_init(&s->readers[i].state, SNAP_SLOT_FREE);
	}
	if (pthread_mutex_init(&s->lock, NULL)) {
		errno = ENOMEM;
		goto out_free_readers;
	}
	atomic_init(&s->cur, NULL);
	atomic_init(&s->epoch, 1);
	s->tailp = &s->head;
	s->free_fn = free_fn;
	s->free_arg = arg;
	s->max_readers = max_readers;
	return s;

out_free_readers:
	free(s->readers);
out_free:
	free(s);
	return NULL;
}

static void snap_release(struct snap *s, void *obj)
{
	if (obj && s->free_fn)
		s->free_fn(obj, s->free_arg);
}

void snap_free(struct snap *s)
{
	struct snap_retired *r, *next;

	if (!s)
		return;
	for (r = s->head; r; r = next) {
		next = r->next;
		snap_release(s, r->obj);
		free(r);
	}
	snap_release(s, atomic_load(&s->cur));
	pthread_mutex_destroy(&s->lock);
	free(s->readers);
	free(s);
}

int snap_publish(struct snap *s, void *obj)
{
	struct snap_retired *r;
	void *old;

	/* Allocated before the swap so that a failure leaves everything as it was. */
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	old = atomic_exchange(&s->cur, obj);
	if (!old) {
		pthread_mutex_unlock(&s->lock);
		free(r);
		return 0;
	}
	/* The epoch moves after the swap: a reader that sees the new epoch sees the new object. */
	r->obj = old;
	r->epoch = atomic_fetch_add(&s->epoch, 1) + 1;
	r->next = NULL;
	*s->tailp = r;
	s->tailp = &r->next;
	s->npending++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

unsigned snap_reclaim(struct snap *s)
{
	struct snap_retired *r, *done = NULL, **donep = &done;
	uint64_t min = UINT64_MAX;
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->max_readers; i++) {
		uint64_t seen;

		if (atomic_load(&s->readers[i].state) != SNAP_SLOT_ONLINE)
			continue;
		seen = atomic_load(&s->readers[i].seen);
		if (seen < min)
			min = seen;
	}
	/* Retirement epochs increase along the list: free its prefix. */
	while (s->head && s->head->epoch <= min) {
		r = s->head;
		s->head = r->next;
		*donep = r;
		donep = &r->next;
		s->npending--;
		n++;
	}
	*donep = NULL;
	if (!s->head)
		s->tailp = &s->head;
	pthread_mutex_unlock(&s->lock);

	/* Free functions run outside the lock: a model can take a while to free. */
	while (done) {
		r = done;
		done = r->next;
		snap_release(s, r->obj);
		free(r);
	}
	return n;
}

unsigned snap_pending(struct snap *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->npending;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int snap_register(struct snap *s)
{
	int id = -ENOSPC;

	/*
	 * Under the writer lock: a reclaim that scanned before us cannot free anything we could
	 * still load, because everything it frees was retired (swapped out) before we start.
	 */
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->max_readers; i++) {
		if (atomic_load(&s->readers[i].state) != SNAP_SLOT_FREE)
			continue;
		atomic_store(&s->readers[i].seen, atomic_load(&s->epoch));
		atomic_store(&s->readers[i].state, SNAP_SLOT_ONLINE);
		id = (int)i;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return id;
}

void snap_unregister(struct snap *s, int id)
{
	if (id < 0 || (unsigned)id >= s->max_readers)
		return;
	/* Release: every use of an object by this reader happens before a reclaim ignores it. */
	atomic_store_explicit(&s->readers[id].state, SNAP_SLOT_FREE, memory_order_release);
}

void *snap_get(struct snap *s)
{
	return atomic_load_explicit(&s->cur, memory_order_acquire);
}

void snap_quiesce(struct snap *s, int id)
{
	uint64_t e = atomic_load_explicit(&s->epoch, memory_order_acquire);

	/*
	 * Release: the reader's earlier uses of objects happen before the reclaim that reads
	 * this value (seq_cst load) and frees them.
	 */
	atomic_store_explicit(&s->readers[id].seen, e, memory_order_release);
}
