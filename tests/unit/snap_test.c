// SPDX-License-Identifier: Apache-2.0
/*
 * Tests of snap.c: a retired object outlives every reader that could still hold it and is
 * freed exactly once; readers hammering snap_get() while the writer publishes and reclaims
 * never see a freed object (ASan turns a use-after-free into a crash; SAN=1 builds run it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "model/snap.h"

#define OBJ_MAGIC 0x5eedf00dU

struct obj {
	unsigned magic;
	unsigned id;
	unsigned check; /* id * 3 + 1: a torn or freed object fails the check */
};

/* Bookkeeping of the free function: each id must be freed exactly once. */
struct book {
	unsigned n;
	_Atomic unsigned *freed; /* [n] */
	_Atomic unsigned total;
};

static void obj_free(void *p, void *arg)
{
	struct book *b = arg;
	struct obj *o = p;

	assert_true(o->id < b->n);
	assert_int_equal(atomic_fetch_add(&b->freed[o->id], 1), 0);
	atomic_fetch_add(&b->total, 1);
	o->magic = 0; /* a reader that still looks sees a dead object even without ASan */
	free(o);
}

static struct obj *obj_new(unsigned id)
{
	struct obj *o = malloc(sizeof(*o));

	assert_non_null(o);
	o->magic = OBJ_MAGIC;
	o->id = id;
	o->check = id * 3 + 1;
	return o;
}

static void book_init(struct book *b, unsigned n)
{
	b->n = n;
	b->freed = calloc(n, sizeof(*b->freed));
	assert_non_null(b->freed);
	atomic_init(&b->total, 0);
}

static void test_snap_get_before_publish(void **state)
{
	struct snap *s = snap_new(4, NULL, NULL);

	assert_non_null(s);
	assert_null(snap_get(s));
	assert_int_equal(snap_reclaim(s), 0);
	snap_free(s);
	snap_free(NULL);
}

/* A reader that has not passed a quiescent state holds back exactly what it may hold. */
static void test_snap_reader_holds_back(void **state)
{
	struct book b;
	struct snap *s;
	struct obj *o;
	int r1, r2;

	book_init(&b, 4);
	s = snap_new(2, obj_free, &b);
	assert_non_null(s);
	r1 = snap_register(s);
	r2 = snap_register(s);
	assert_true(r1 >= 0 && r2 >= 0 && r1 != r2);
	assert_int_equal(snap_register(s), -ENOSPC);

	assert_int_equal(snap_publish(s, obj_new(0)), 0);
	o = snap_get(s); /* reader r1 takes object 0 */
	assert_int_equal(o->id, 0);
	assert_int_equal(snap_publish(s, obj_new(1)), 0);
	assert_int_equal(snap_pending(s), 1);

	/* Neither reader has passed a quiescent state since 0 was retired. */
	assert_int_equal(snap_reclaim(s), 0);
	snap_quiesce(s, r2);
	assert_int_equal(snap_reclaim(s), 0);
	assert_int_equal(o->magic, OBJ_MAGIC); /* still alive for r1 */
	snap_quiesce(s, r1);
	assert_int_equal(snap_reclaim(s), 1);
	assert_int_equal(atomic_load(&b.freed[0]), 1);
	assert_int_equal(snap_pending(s), 0);

	/* A quiescent state before the retirement does not count. */
	snap_quiesce(s, r1);
	snap_quiesce(s, r2);
	assert_int_equal(snap_publish(s, obj_new(2)), 0); /* retires 1 */
	assert_int_equal(snap_reclaim(s), 0);
	snap_quiesce(s, r1);
	assert_int_equal(snap_reclaim(s), 0);
	/* An unregistered reader no longer holds anything back. */
	snap_unregister(s, r2);
	assert_int_equal(snap_reclaim(s), 1);
	assert_int_equal(atomic_load(&b.freed[1]), 1);

	/* The slot is reusable, and a new reader does not hold back older retirements. */
	assert_int_equal(snap_publish(s, obj_new(3)), 0); /* retires 2 */
	r2 = snap_register(s);
	assert_true(r2 >= 0);
	snap_quiesce(s, r1);
	assert_int_equal(snap_reclaim(s), 1);
	assert_int_equal(atomic_load(&b.freed[2]), 1);

	snap_free(s); /* frees the current object 3 */
	assert_int_equal(atomic_load(&b.freed[3]), 1);
	assert_int_equal(atomic_load(&b.total), 4);
	free(b.freed);
}

/* snap_free frees retired objects nobody reclaimed, once each. */
static void test_snap_free_frees_pending(void **state)
{
	struct book b;
	struct snap *s;

	book_init(&b, 5);
	s = snap_new(1, obj_free, &b);
	assert_non_null(s);
	assert_true(snap_register(s) >= 0); /* never quiesces: nothing reclaimable */
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(snap_publish(s, obj_new(i)), 0);
	assert_int_equal(snap_reclaim(s), 0);
	assert_int_equal(snap_pending(s), 4);
	snap_free(s);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(atomic_load(&b.freed[i]), 1);
	free(b.freed);
}

#define STRESS_READERS 4
#define STRESS_OBJS    20000
#define STRESS_SECONDS 20 /* bound on the whole run even on a slow sanitizer build */

struct stress {
	struct snap *s;
	_Atomic int done;
	_Atomic unsigned long reads;
	_Atomic unsigned bad;
};

static void *stress_reader(void *arg)
{
	struct stress *st = arg;
	unsigned long n = 0;
	unsigned last = 0;
	int id = snap_register(st->s);

	if (id < 0) {
		atomic_fetch_add(&st->bad, 1);
		return NULL;
	}
	while (!atomic_load_explicit(&st->done, memory_order_relaxed)) {
		/* A "callback": a few gets, each checked, then a quiescent state. */
		for (int k = 0; k < 8; k++) {
			const struct obj *o = snap_get(st->s);

			if (!o)
				continue;
			if (o->magic != OBJ_MAGIC || o->check != o->id * 3 + 1 || o->id < last)
				atomic_fetch_add(&st->bad, 1);
			last = o->id; /* publication order: a reader never goes back in time */
			n++;
		}
		snap_quiesce(st->s, id);
	}
	snap_unregister(st->s, id);
	atomic_fetch_add(&st->reads, n);
	return NULL;
}

static void test_snap_stress(void **state)
{
	pthread_t th[STRESS_READERS];
	struct stress st = {0};
	unsigned freed_live = 0, i;
	time_t deadline = time(NULL) + STRESS_SECONDS;
	struct book b;

	book_init(&b, STRESS_OBJS);
	st.s = snap_new(STRESS_READERS, obj_free, &b);
	assert_non_null(st.s);
	assert_int_equal(snap_publish(st.s, obj_new(0)), 0);
	for (i = 0; i < STRESS_READERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, stress_reader, &st), 0);
	for (i = 1; i < STRESS_OBJS && time(NULL) < deadline; i++) {
		assert_int_equal(snap_publish(st.s, obj_new(i)), 0);
		if (i % 16 == 0)
			freed_live += snap_reclaim(st.s);
	}
	/* Let the readers pass a few more quiescent states, then reclaim while they run. */
	for (int k = 0; k < 1000 && snap_pending(st.s); k++) {
		freed_live += snap_reclaim(st.s);
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	atomic_store(&st.done, 1);
	for (int k = 0; k < STRESS_READERS; k++)
		pthread_join(th[k], NULL);
	print_message("snap stress: %u objects published, %u freed while readers ran, "
		      "%lu reads\n",
		      i, freed_live, atomic_load(&st.reads));
	assert_int_equal(atomic_load(&st.bad), 0);
	/* Readers kept quiescing: reclamation made progress while they ran. */
	assert_true(freed_live > 0);
	assert_int_equal(freed_live + snap_reclaim(st.s), i - 1);
	snap_free(st.s);
	assert_int_equal(atomic_load(&b.total), i);
	for (unsigned k = 0; k < i; k++)
		assert_int_equal(atomic_load(&b.freed[k]), 1);
	free(b.freed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_snap_get_before_publish),
	    cmocka_unit_test(test_snap_reader_holds_back),
	    cmocka_unit_test(test_snap_free_frees_pending),
	    cmocka_unit_test(test_snap_stress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
