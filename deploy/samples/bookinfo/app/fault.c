// SPDX-License-Identifier: Apache-2.0
/*
 * Misbehaviour on demand and the counters that prove what a service received. The retry tasks
 * need a backend that fails a known share of requests (or exactly the first N), the timeout
 * tasks one that is slow, and the mirroring task one that counts the copies it was sent. The
 * draw is a seedable xorshift so that a test run can be repeated request for request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bookinfo.h"

static const struct {
	unsigned long min, max;
	const char *range;
} fault_knobs[] = {
    [FAULT_PERCENT] = {0, 100, "a whole number 0-100"},
    [FAULT_SEED] = {0, ~0UL, "a whole number"},
    [FAULT_FIRST] = {0, 1000000000UL, "a whole number 0-1000000000"},
    [FAULT_DELAY] = {0, 600000, "a whole number of milliseconds 0-600000"},
    [FAULT_CODE] = {500, 599, "a status code 500-599"},
};

/* splitmix64: spreads a small seed (0, 1, 2...) over the whole state, which xorshift needs
 * non-zero and well mixed. */
static uint64_t fault_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return (x ^ (x >> 31)) | 1;
}

void fault_init(struct fault *f)
{
	uint64_t seed = 0;

	memset(f, 0, sizeof(*f));
	f->code = 503;
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)rand();
	f->rng = fault_mix(seed);
}

const char *fault_knob_range(enum fault_knob k)
{
	return fault_knobs[k].range;
}

int fault_set(struct fault *f, enum fault_knob k, const char *value)
{
	unsigned long v;
	char *end;

	/* strtoul takes "-1" as a huge number; a knob never starts with a sign. */
	if (value[0] < '0' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || *end || v < fault_knobs[k].min || v > fault_knobs[k].max)
		return -EINVAL;
	switch (k) {
	case FAULT_PERCENT:
		f->percent = (unsigned)v;
		break;
	case FAULT_SEED:
		f->rng = fault_mix(v);
		f->seeded = 1;
		break;
	case FAULT_FIRST:
		f->first = v;
		break;
	case FAULT_DELAY:
		f->delay_ms = (unsigned)v;
		break;
	case FAULT_CODE:
		f->code = (int)v;
		break;
	}
	return 0;
}

int fault_decide(struct fault *f)
{
	uint64_t x;

	if (f->seen++ < f->first)
		return f->code;
	if (f->percent == 0)
		return 0;
	/* xorshift64: the draw is taken only when a percentage is set, so that adding
	 * BOOKINFO_FAIL_FIRST does not shift the sequence of a seeded percentage run. */
	x = f->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	f->rng = x;
	return (x >> 11) % 100 < f->percent ? f->code : 0;
}

void stats_count_status(struct stats *s, int code)
{
	if (code < 100 || code > 599)
		code = 0;
	s->by_status[code]++;
}

json_t *stats_json(const struct stats *s)
{
	json_t *o = json_object(), *by = json_object();
	char key[8];
	int i;

	if (!o || !by) {
		json_decref(o);
		json_decref(by);
		return NULL;
	}
	json_object_set_new(o, "requests", json_integer((json_int_t)s->requests));
	json_object_set_new(o, "injected", json_integer((json_int_t)s->injected));
	json_object_set_new(o, "abandoned", json_integer((json_int_t)s->abandoned));
	for (i = 0; i < 600; i++) {
		if (!s->by_status[i])
			continue;
		snprintf(key, sizeof(key), "%d", i);
		json_object_set_new(by, i ? key : "other",
				    json_integer((json_int_t)s->by_status[i]));
	}
	json_object_set_new(o, "by_status", by);
	return o;
}
