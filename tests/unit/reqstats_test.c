// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the request telemetry store: histogram bucket edges, Envoy's response
 * flag rendering, exact aggregation into series, several worker threads recording while
 * the control thread collects, the series cap and its dropped counter, expiry of idle and
 * gone workloads' series, and per-edge request and error rates.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "telemetry/reqstats.h"

static struct reqstats_req req(uint32_t src, uint32_t dst, uint16_t code, uint64_t dur_us)
{
	struct reqstats_req r;

	memset(&r, 0, sizeof(r));
	r.src_wl = src;
	r.dst_wl = dst;
	r.svc_id = 10;
	r.proto = REQSTATS_HTTP;
	r.response_code = code;
	r.grpc_status = REQSTATS_GRPC_NONE;
	r.duration_us = dur_us;
	return r;
}

/* The HTTP series of (src, dst, code) in <rs>, or NULL. */
static const struct reqstats_series *find(const struct reqstats *rs, uint32_t src, uint32_t dst,
					  uint16_t code)
{
	const struct reqstats_series *s;
	size_t i = 0;

	while ((i = reqstats_next(rs, i, &s)) != 0)
		if (s->key.src_wl == src && s->key.dst_wl == dst && s->key.response_code == code &&
		    s->key.proto == REQSTATS_HTTP)
			return s;
	return NULL;
}

static void test_reqstats_bucket_edges(void **state)
{
	static const struct {
		uint64_t v;
		unsigned dur, bytes;
	} cases[] = {
	    /* value, bucket as microseconds (bounds in ms), bucket as bytes */
	    {0, 0, 0},
	    {1, 0, 1}, /* 1 us <= 0.5 ms; 1 byte > 0.5 */
	    {5, 0, 2}, /* 5 bytes: le="5" is inclusive */
	    {6, 0, 3},
	    {500, 0, 8},  /* exactly 0.5 ms: the first bucket; le="500" bytes */
	    {501, 1, 9},  /* just past both */
	    {1000, 1, 9}, /* 1 ms; 1000 bytes: le="1000" */
	    {1001, 2, 10},
	    {3600000, 11, 18},	     /* 3.6 s: le="5000"; 3.6e6 bytes is the last finite bound */
	    {3600001, 11, 19},	     /* one byte past the last bound: +Inf */
	    {3600000000ULL, 18, 19}, /* one hour: the last finite duration bound */
	    {3600000001ULL, 19, 19}, /* past it: +Inf */
	    {UINT64_MAX, 19, 19},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (reqstats_bucket_duration(cases[i].v) != cases[i].dur)
			fail_msg("duration %llu us: bucket %u, want %u",
				 (unsigned long long)cases[i].v,
				 reqstats_bucket_duration(cases[i].v), cases[i].dur);
		if (reqstats_bucket_bytes(cases[i].v) != cases[i].bytes)
			fail_msg("size %llu bytes: bucket %u, want %u",
				 (unsigned long long)cases[i].v, reqstats_bucket_bytes(cases[i].v),
				 cases[i].bytes);
	}
	/* Istio's default buckets, in order. */
	assert_true(reqstats_bounds[0] == 0.5);
	assert_true(reqstats_bounds[13] == 30000);
	assert_true(reqstats_bounds[REQSTATS_BUCKETS - 1] == 3600000);
	for (i = 1; i < REQSTATS_BUCKETS; i++)
		assert_true(reqstats_bounds[i] > reqstats_bounds[i - 1]);
}

static void test_reqstats_flags(void **state)
{
	static const struct {
		uint32_t flags;
		const char *want;
	} cases[] = {
	    {0, "-"},
	    {REQSTATS_F_UH, "UH"},
	    {REQSTATS_F_URX | REQSTATS_F_UF, "UF,URX"}, /* Envoy's order, not the caller's */
	    {REQSTATS_F_DC | REQSTATS_F_UH, "UH,DC"},
	    {REQSTATS_F_FI | REQSTATS_F_DI, "DI,FI"},
	    {REQSTATS_F_UO | REQSTATS_F_NR | REQSTATS_F_RL, "UO,NR,RL"},
	    {REQSTATS_F_UT | REQSTATS_F_LR | REQSTATS_F_UR | REQSTATS_F_UC, "UT,LR,UR,UC"},
	    {1U << 20, "-"}, /* unknown bits are not flags */
	    {REQSTATS_F_ALL, "UH,UT,LR,UR,UF,UC,UO,NR,DI,FI,RL,DC,URX,SI,DPE,UPE,NC"},
	    {REQSTATS_F_NC, "NC"},
	};
	char buf[REQSTATS_FLAGS_LEN];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = reqstats_flags_str(cases[i].flags, buf, sizeof(buf));

		if (n < 0 || strcmp(buf, cases[i].want) || (size_t)n != strlen(cases[i].want))
			fail_msg("flags 0x%x: \"%s\" (%d), want \"%s\"", cases[i].flags,
				 n < 0 ? "" : buf, n, cases[i].want);
	}
	assert_int_equal(reqstats_flags_str(REQSTATS_F_UH | REQSTATS_F_UT, buf, 5), -ENOSPC);
	assert_int_equal(reqstats_flags_str(REQSTATS_F_UH | REQSTATS_F_UT, buf, 6), 5);
	assert_int_equal(reqstats_flags_str(0, buf, 1), -ENOSPC);
	assert_string_equal(reqstats_proto_name(REQSTATS_GRPC), "grpc");
	assert_string_equal(reqstats_proto_name(REQSTATS_HTTP), "http");
	assert_string_equal(reqstats_proto_name(0), "unknown");
}

static void test_reqstats_aggregation(void **state)
{
	struct reqstats *rs = reqstats_new(NULL, NULL);
	struct reqstats_shard *sh;
	const struct reqstats_series *s;
	struct reqstats_req r;
	int i;

	assert_non_null(rs);
	sh = reqstats_shard(rs, 0);
	assert_non_null(sh);
	assert_null(reqstats_shard(rs, 1));
	for (i = 0; i < 10; i++) {
		r = req(1, 2, 200, 400 + 100 * (uint64_t)i); /* 0.4 .. 1.3 ms */
		r.req_bytes = (uint64_t)i;
		r.resp_bytes = 1000;
		reqstats_record(sh, &r);
	}
	r = req(1, 2, 503, 7000);
	r.flags = REQSTATS_F_UF | (1U << 30); /* the unknown bit is not part of the key */
	reqstats_record(sh, &r);
	r.flags = REQSTATS_F_UF;
	reqstats_record(sh, &r);
	r = req(1, 2, 200, 100);
	r.proto = 7; /* not a protocol: dropped, counted */
	reqstats_record(sh, &r);
	r = req(1, 2, 200, 100);
	r.proto = REQSTATS_GRPC;
	r.grpc_status = 14;
	r.req_msgs = 3;
	r.resp_msgs = 5;
	reqstats_record(sh, &r);

	/* The first record went over at once (a new shard is due), the rest wait for the
	 * flush; either way the totals below are exact. */
	assert_int_equal(reqstats_collect(rs, 1000), 0);
	reqstats_flush(sh);
	assert_int_equal(reqstats_collect(rs, 2000), 0);
	assert_int_equal(reqstats_nseries(rs), 3);
	assert_int_equal(reqstats_dropped(rs), 1);

	s = find(rs, 1, 2, 200);
	assert_non_null(s);
	assert_int_equal(s->c.requests, 10);
	assert_int_equal(s->c.duration_us_sum, 10 * 400 + 100 * 45);
	assert_int_equal(s->c.duration[0], 2); /* 400, 500 us */
	assert_int_equal(s->c.duration[1], 5); /* 600 .. 1000 us */
	assert_int_equal(s->c.duration[2], 3); /* 1100 .. 1300 us */
	assert_int_equal(s->c.req_bytes_sum, 45);
	assert_int_equal(s->c.req_size[0], 1);	 /* 0 bytes */
	assert_int_equal(s->c.req_size[1], 1);	 /* 1 */
	assert_int_equal(s->c.req_size[2], 4);	 /* 2..5 */
	assert_int_equal(s->c.req_size[3], 4);	 /* 6..9 */
	assert_int_equal(s->c.resp_size[9], 10); /* 1000 bytes: le="1000" */
	assert_int_equal(s->c.resp_bytes_sum, 10000);
	assert_int_equal(s->key.grpc_status, REQSTATS_GRPC_NONE);
	assert_int_equal(s->last_ms, 2000);

	s = find(rs, 1, 2, 503);
	assert_non_null(s);
	assert_int_equal(s->c.requests, 2);
	assert_int_equal(s->key.flags, REQSTATS_F_UF);
	assert_int_equal(s->c.duration[3], 2); /* 7 ms: (5, 10] */
	assert_true(reqstats_is_error(&s->key));

	/* Collecting again adds nothing; a new record adds exactly itself. */
	assert_int_equal(reqstats_collect(rs, 3000), 0);
	assert_int_equal(s->c.requests, 2);
	r = req(1, 2, 503, 7000);
	r.flags = REQSTATS_F_UF;
	reqstats_record(sh, &r);
	reqstats_flush(sh);
	assert_int_equal(reqstats_collect(rs, 4000), 0);
	s = find(rs, 1, 2, 503);
	assert_int_equal(s->c.requests, 3);
	assert_int_equal(s->c.duration_us_sum, 21000);
	reqstats_free(rs);
}

static void test_reqstats_is_error(void **state)
{
	static const struct {
		uint16_t code;
		int16_t grpc;
		uint8_t proto;
		bool err;
	} cases[] = {
	    {200, REQSTATS_GRPC_NONE, REQSTATS_HTTP, false},
	    {404, REQSTATS_GRPC_NONE, REQSTATS_HTTP, false}, /* a client error, not the server's */
	    {499, REQSTATS_GRPC_NONE, REQSTATS_HTTP, false},
	    {500, REQSTATS_GRPC_NONE, REQSTATS_HTTP, true},
	    {503, REQSTATS_GRPC_NONE, REQSTATS_HTTP, true},
	    {0, REQSTATS_GRPC_NONE, REQSTATS_HTTP, true}, /* no response at all */
	    {200, 0, REQSTATS_GRPC, false},
	    {200, 14, REQSTATS_GRPC, true}, /* UNAVAILABLE in a 200's trailers */
	    {200, REQSTATS_GRPC_NONE, REQSTATS_GRPC, false},
	};
	struct reqstats_key k;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&k, 0, sizeof(k));
		k.response_code = cases[i].code;
		k.grpc_status = cases[i].grpc;
		k.proto = cases[i].proto;
		if (reqstats_is_error(&k) != cases[i].err)
			fail_msg("code %u grpc %d proto %u: error %d, want %d", cases[i].code,
				 cases[i].grpc, cases[i].proto, !cases[i].err, cases[i].err);
	}
}

#define THREADS	    4
#define PER_THREAD  50000
#define THREAD_KEYS 7

struct worker {
	struct reqstats_shard *shard;
	unsigned id;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned i;

	for (i = 0; i < PER_THREAD; i++) {
		/* Every thread writes the same 7 label sets, so series are shared. */
		struct reqstats_req r = req(1, 2, (uint16_t)(200 + i % THREAD_KEYS), 1000);

		r.req_bytes = w->id + 1;
		reqstats_record(w->shard, &r);
	}
	reqstats_flush(w->shard); /* what a worker does when it stops */
	return NULL;
}

static void test_reqstats_threads(void **state)
{
	struct reqstats_opts o = {.shards = THREADS, .flush_ms = 1};
	struct reqstats *rs = reqstats_new(NULL, &o);
	struct worker w[THREADS];
	pthread_t th[THREADS];
	uint64_t now = 1, total = 0, bytes = 0;
	unsigned i;

	assert_non_null(rs);
	for (i = 0; i < THREADS; i++) {
		w[i].shard = reqstats_shard(rs, i);
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	/* Collect while they record: every hand-over races with some collect. */
	for (i = 0; i < 200; i++)
		assert_int_equal(reqstats_collect(rs, now++), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(reqstats_collect(rs, now++), 0);

	assert_int_equal(reqstats_nseries(rs), THREAD_KEYS);
	assert_int_equal(reqstats_dropped(rs), 0);
	for (i = 0; i < THREAD_KEYS; i++) {
		const struct reqstats_series *s = find(rs, 1, 2, (uint16_t)(200 + i));
		/* 50000 = 7 * 7142 + 6: the first six codes get one more per thread. */
		uint64_t want = (uint64_t)THREADS *
				(PER_THREAD / THREAD_KEYS + (i < PER_THREAD % THREAD_KEYS ? 1 : 0));

		assert_non_null(s);
		assert_int_equal(s->c.requests, want);
		assert_int_equal(s->c.duration[1], want);
		total += s->c.requests;
		bytes += s->c.req_bytes_sum;
	}
	assert_int_equal(total, (uint64_t)THREADS * PER_THREAD);
	assert_int_equal(bytes, (uint64_t)PER_THREAD * (1 + 2 + 3 + 4));
	reqstats_free(rs);
}

static void test_reqstats_series_cap(void **state)
{
	struct reqstats_opts o = {.shards = 2, .max_series = 3};
	struct reqstats *rs = reqstats_new(NULL, &o);
	struct reqstats_shard *a, *b;
	struct reqstats_req r;
	uint16_t code;

	assert_non_null(rs);
	a = reqstats_shard(rs, 0);
	b = reqstats_shard(rs, 1);
	/* Five label sets into one shard: its own table stops at three. */
	for (code = 200; code < 205; code++) {
		r = req(1, 2, code, 10);
		reqstats_record(a, &r);
		reqstats_record(a, &r);
	}
	reqstats_flush(a);
	assert_int_equal(reqstats_dropped(rs), 4);
	/* Known label sets still count once the bound is reached. */
	r = req(1, 2, 200, 10);
	reqstats_record(a, &r);
	reqstats_flush(a);
	assert_int_equal(reqstats_dropped(rs), 4);

	/* Shard b's two new label sets meet a store that is full already. */
	r = req(3, 4, 200, 10);
	reqstats_record(b, &r);
	r = req(3, 4, 500, 10);
	reqstats_record(b, &r);
	reqstats_record(b, &r);
	r = req(1, 2, 201, 10); /* known to the store: kept */
	reqstats_record(b, &r);
	reqstats_flush(b);
	assert_int_equal(reqstats_collect(rs, 100), 0);
	assert_int_equal(reqstats_nseries(rs), 3);
	assert_int_equal(reqstats_dropped(rs), 4 + 3);
	assert_int_equal(find(rs, 1, 2, 200)->c.requests, 3);
	assert_int_equal(find(rs, 1, 2, 201)->c.requests, 3);
	assert_null(find(rs, 3, 4, 200));
	reqstats_free(rs);
}

static bool alive(void *ctx, uint32_t id)
{
	return id != *(uint32_t *)ctx;
}

static void test_reqstats_expiry(void **state)
{
	uint32_t dead = 0;
	struct reqstats_opts o = {
	    .idle_expire_ms = 10000, .gone_expire_ms = 2000, .wl_alive = alive, .alive_ctx = &dead};
	struct reqstats *rs = reqstats_new(NULL, &o);
	struct reqstats_shard *sh = reqstats_shard(rs, 0);
	struct reqstats_req r;

	assert_non_null(rs);
	r = req(1, 2, 200, 10);
	reqstats_record(sh, &r);
	r = req(3, 4, 200, 10);
	reqstats_record(sh, &r);
	r = req(0, 4, 200, 10); /* from outside the mesh: id 0 is never "gone" */
	reqstats_record(sh, &r);
	reqstats_flush(sh);
	assert_int_equal(reqstats_sample(rs, 1000), 0);
	assert_int_equal(reqstats_nseries(rs), 3);

	/* Workload 4 goes away: its series go once idle for gone_expire_ms, not before. */
	dead = 4;
	assert_int_equal(reqstats_sample(rs, 2999), 0);
	assert_int_equal(reqstats_nseries(rs), 3);
	assert_int_equal(reqstats_sample(rs, 3000), 0);
	assert_int_equal(reqstats_nseries(rs), 1);
	assert_int_equal(reqstats_expired(rs), 2);
	assert_non_null(find(rs, 1, 2, 200));

	/* A series that keeps getting requests stays; an idle one goes after idle_expire_ms. */
	r = req(1, 2, 200, 10);
	reqstats_record(sh, &r);
	reqstats_flush(sh);
	assert_int_equal(reqstats_sample(rs, 9000), 0);
	assert_int_equal(reqstats_sample(rs, 18999), 0);
	assert_int_equal(reqstats_nseries(rs), 1);
	assert_int_equal(reqstats_sample(rs, 19000), 0);
	assert_int_equal(reqstats_nseries(rs), 0);
	assert_int_equal(reqstats_expired(rs), 3);

	/* It comes back from zero when requests come back. */
	reqstats_record(sh, &r);
	reqstats_flush(sh);
	assert_int_equal(reqstats_sample(rs, 20000), 0);
	assert_int_equal(find(rs, 1, 2, 200)->c.requests, 1);
	reqstats_free(rs);
}

/* The rate entry of (src, dst) in <v>, or NULL. */
static const struct reqstats_rate *rate_of(const struct reqstats_rate *v, size_t n, uint32_t src,
					   uint32_t dst)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].src_wl == src && v[i].dst_wl == dst)
			return &v[i];
	return NULL;
}

static void test_reqstats_rates(void **state)
{
	struct reqstats *rs = reqstats_new(NULL, NULL);
	struct reqstats_shard *sh = reqstats_shard(rs, 0);
	const struct reqstats_rate *q;
	struct reqstats_rate *v;
	struct reqstats_req r;
	size_t n;
	int i;

	assert_non_null(rs);
	assert_int_equal(reqstats_rates(rs, 0, 1000, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);

	r = req(1, 2, 200, 10);
	reqstats_record(sh, &r);
	reqstats_flush(sh);
	assert_int_equal(reqstats_sample(rs, 10000), 0);
	/* 10 s later: 90 OK, 5 HTTP 503, 5 gRPC UNAVAILABLE on the same path. */
	for (i = 0; i < 90; i++)
		reqstats_record(sh, &r);
	r = req(1, 2, 503, 10);
	for (i = 0; i < 5; i++)
		reqstats_record(sh, &r);
	r = req(1, 2, 200, 10);
	r.proto = REQSTATS_GRPC;
	r.grpc_status = 14;
	for (i = 0; i < 5; i++)
		reqstats_record(sh, &r);
	/* The agent saw 1 -> 2 from both sides, and 5 -> 2 as the server only. */
	r = req(1, 2, 200, 10);
	r.reporter = REQSTATS_DESTINATION;
	reqstats_record(sh, &r);
	r = req(5, 2, 500, 10);
	r.reporter = REQSTATS_DESTINATION;
	reqstats_record(sh, &r);
	reqstats_flush(sh);
	assert_int_equal(reqstats_sample(rs, 20000), 0);

	assert_int_equal(reqstats_rates(rs, 20000, 10000, &v, &n), 0);
	/* http 1->2 (source), grpc 1->2 (source), http 5->2 (destination); the destination
	 * report of http 1->2 is folded into the source's. */
	assert_int_equal(n, 3);
	q = rate_of(v, n, 5, 2);
	assert_non_null(q);
	assert_int_equal(q->reporter, REQSTATS_DESTINATION);
	assert_true(q->rps > 0.0999 && q->rps < 0.1001);
	assert_true(q->errors_per_sec > 0.0999 && q->errors_per_sec < 0.1001);
	for (i = 0; i < (int)n; i++) {
		if (v[i].src_wl != 1)
			continue;
		assert_int_equal(v[i].reporter, REQSTATS_SOURCE);
		if (v[i].proto == REQSTATS_HTTP) {
			/* 95 new requests in 10 s, 5 of them errors */
			assert_true(v[i].rps > 9.499 && v[i].rps < 9.501);
			assert_true(v[i].errors_per_sec > 0.499 && v[i].errors_per_sec < 0.501);
			assert_int_equal(v[i].requests, 96);
		} else {
			assert_int_equal(v[i].proto, REQSTATS_GRPC);
			assert_true(v[i].rps > 0.499 && v[i].rps < 0.501);
			assert_true(v[i].errors_per_sec > 0.499 && v[i].errors_per_sec < 0.501);
		}
	}
	free(v);
	reqstats_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reqstats_bucket_edges),
	    cmocka_unit_test(test_reqstats_flags),
	    cmocka_unit_test(test_reqstats_aggregation),
	    cmocka_unit_test(test_reqstats_is_error),
	    cmocka_unit_test(test_reqstats_threads),
	    cmocka_unit_test(test_reqstats_series_cap),
	    cmocka_unit_test(test_reqstats_expiry),
	    cmocka_unit_test(test_reqstats_rates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
