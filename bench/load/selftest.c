// SPDX-License-Identifier: Apache-2.0
/*
 * Known-answer checks for weir-load (see selftest.h). The distributions are generated
 * deterministically (every value of a uniform range, an exponential by its inverse CDF on an
 * even grid) so that their exact percentiles are known in closed form.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2idle.h"
#include "hist.h"
#include "http.h"
#include "sched.h"
#include "selftest.h"

static int fails;

#define CHECK(cond, ...)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "selftest: FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                     \
			fputc('\n', stderr);                              \
			fails++;                                          \
		}                                                         \
	} while (0)

/* <got> within relative <tol> of <want>. */
static void check_near(const char *what, double got, double want, double tol)
{
	CHECK(fabs(got - want) <= tol * want, "%s: got %.1f want %.1f (+-%.2f%%)", what, got,
	      want, tol * 100);
}

static void selftest_hist_buckets(void)
{
	uint64_t v, lo, hi, prev_hi = 0;
	unsigned int idx, prev = 0;

	/* Buckets tile the line: contiguous, increasing, each holding its value, width <= v/128. */
	for (v = 0; v < (1ull << 20); v += 1 + v / 1000) {
		idx = hist_bucket(v, &lo, &hi);
		CHECK(lo <= v && v <= hi, "value %llu outside its bucket [%llu,%llu]",
		      (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
		CHECK(idx < HIST_BUCKETS, "index %u out of range", idx);
		CHECK(v < HIST_SUB || (double)(hi - lo + 1) <= (double)v / (HIST_SUB - 1),
		      "bucket of %llu too wide", (unsigned long long)v);
		if (v && idx != prev)
			CHECK(idx == prev + 1 && lo == prev_hi + 1,
			      "gap between bucket %u and %u at %llu", prev, idx,
			      (unsigned long long)v);
		prev = idx;
		prev_hi = hi;
	}
	idx = hist_bucket(UINT64_MAX, &lo, &hi);
	CHECK(idx == HIST_BUCKETS - 1, "huge values clamp to the last bucket, got %u", idx);
}

static void selftest_hist_uniform(void)
{
	static struct hist h;
	uint64_t i;

	/* Every microsecond from 1 to 100000 once, in ns: p is p * 1000 us exactly. */
	hist_init(&h);
	for (i = 1; i <= 100000; i++)
		hist_record(&h, i * 1000);
	check_near("uniform p50", (double)hist_percentile(&h, 50), 50000e3, 0.008);
	check_near("uniform p90", (double)hist_percentile(&h, 90), 90000e3, 0.008);
	check_near("uniform p99", (double)hist_percentile(&h, 99), 99000e3, 0.008);
	check_near("uniform p99.9", (double)hist_percentile(&h, 99.9), 99900e3, 0.008);
	CHECK(hist_percentile(&h, 100) == 100000000, "max must be exact");
	CHECK(h.min == 1000 && h.total == 100000, "min/total");
	check_near("uniform mean", h.sum / (double)h.total, 50000.5e3, 1e-9);
}

static void selftest_hist_exponential(void)
{
	static struct hist a, b;
	const double mean = 250e3; /* 250 us */
	const int n = 200000;
	double q;
	int i;

	/* Quantile q of an exponential with this mean is -mean * ln(1 - q). Split over two
	 * histograms and merged, to check hist_merge() as well. */
	hist_init(&a);
	hist_init(&b);
	for (i = 0; i < n; i++) {
		q = ((double)i + 0.5) / n;
		hist_record(i % 2 ? &a : &b, (uint64_t)(-mean * log(1.0 - q)));
	}
	hist_merge(&a, &b);
	CHECK(a.total == (uint64_t)n, "merge total");
	check_near("exp p50", (double)hist_percentile(&a, 50), -mean * log(0.5), 0.01);
	check_near("exp p90", (double)hist_percentile(&a, 90), -mean * log(0.1), 0.01);
	check_near("exp p99", (double)hist_percentile(&a, 99), -mean * log(0.01), 0.01);
	check_near("exp p99.9", (double)hist_percentile(&a, 99.9), -mean * log(0.001), 0.01);
	check_near("exp mean", a.sum / n, mean, 0.01);
}

static void selftest_hist_small(void)
{
	static struct hist h;
	int i;

	/* 100 values 1..100 (exact buckets): p99 is the 99th value, p50 the 50th. */
	hist_init(&h);
	CHECK(hist_percentile(&h, 99) == 0, "empty histogram");
	for (i = 100; i >= 1; i--)
		hist_record(&h, (uint64_t)i);
	CHECK(hist_percentile(&h, 50) == 50, "p50 of 1..100 is 50, got %llu",
	      (unsigned long long)hist_percentile(&h, 50));
	CHECK(hist_percentile(&h, 99) == 99, "p99 of 1..100 is 99");
	CHECK(hist_percentile(&h, 99.9) == 100, "p99.9 of 1..100 is 100");
	CHECK(hist_percentile(&h, 0.001) == 1, "p0.001 of 1..100 is 1");
}

static void selftest_sched(void)
{
	const uint64_t t0 = 1000000000ull;
	uint64_t i, n;

	CHECK(sched_at(t0, 0, 1000) == t0, "request 0 at start");
	CHECK(sched_at(t0, 1000, 1000) == t0 + 1000000000ull, "1000 at 1000/s is 1 s later");
	CHECK(sched_at(t0, 3, 3) == t0 + 1000000000ull, "3 at 3/s is 1 s later");
	CHECK(sched_at(t0, 1, 3) == t0 + 333333333ull, "1 at 3/s rounds down");
	/* No drift over a long run: request 10^7 at 7777/s. */
	CHECK(sched_at(t0, 10000000, 7777) == t0 + (uint64_t)(10000000.0L * 1e9L / 7777.0L),
	      "long timelines must not drift");
	CHECK(sched_due(t0, t0 - 1, 1000) == 0, "nothing due before start");
	CHECK(sched_due(t0, t0, 1000) == 1, "request 0 due at start");
	CHECK(sched_due(t0, t0 + 999999, 1000) == 1, "request 1 not due before 1 ms");
	CHECK(sched_due(t0, t0 + 1000000, 1000) == 2, "request 1 due at 1 ms");
	/* sched_due is the exact inverse of sched_at at every boundary. */
	for (i = 0; i < 5000; i++) {
		n = sched_due(t0, sched_at(t0, i, 1234.5), 1234.5);
		CHECK(n == i + 1, "due at request %llu's instant: %llu", (unsigned long long)i,
		      (unsigned long long)n);
		n = sched_due(t0, sched_at(t0, i + 1, 1234.5) - 1, 1234.5);
		CHECK(n == i + 1, "due just before request %llu", (unsigned long long)i + 1);
	}
	CHECK(sched_total(1000, 2.5, 0) == 2500, "total by duration");
	CHECK(sched_total(1000, 2.5, 100) == 100, "total capped by count");
	CHECK(sched_total(0.5, 1, 0) == 1, "half a request rounds to one");
}

static void selftest_http(void)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-length: 5\r\n\r\nhello";
	static const char cl[] = "GET / HTTP/1.1\r\nConnection: Close\r\n\r\n";
	static const char srv[] = "HTTP/1.1 503 Service Unavailable\r\ncontent-length:0\r\n\r\n";
	int status = 0, closing = 0;
	size_t i;

	CHECK(http_resp_len(ok, sizeof(ok) - 1, &status) == (long)sizeof(ok) - 1 && status == 200,
	      "complete response");
	for (i = 0; i < sizeof(ok) - 1; i++)
		CHECK(http_resp_len(ok, i, &status) == 0, "prefix of %zu bytes is incomplete", i);
	CHECK(http_resp_len(srv, sizeof(srv) - 1, &status) == (long)sizeof(srv) - 1 &&
	      status == 503, "error status");
	CHECK(http_resp_len("SSH-2.0\r\n\r\n", 11, &status) == -EPROTO, "not HTTP");
	CHECK(http_resp_len("HTTP/1.1 200 OK\r\n\r\n", 19, &status) == -EPROTO,
	      "no Content-Length");
	CHECK(http_req_len("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET", 30, &closing) == 27 &&
	      !closing, "request head with pipelined rest");
	CHECK(http_req_len(cl, strlen(cl), &closing) == (long)strlen(cl) && closing,
	      "Connection: close");
	CHECK(http_req_len("GET / HTTP/1.1\r\n", 16, &closing) == 0, "incomplete head");
}

/* The h2c idle client: the request bytes an HTTP/2 peer decodes, the response walk. */
static void selftest_h2idle(void)
{
	/* A server SETTINGS, a 200 head (static entry 8), then a DATA frame ending stream 1. */
	static const unsigned char resp[] = { 0, 0, 0, 4, 0, 0, 0, 0, 0,
					      0, 0, 1, 1, 4, 0, 0, 0, 1, 0x88,
					      0, 0, 2, 0, 1, 0, 0, 0, 1, 'h', 'i' };
	static const unsigned char e404[] = { 0, 0, 1, 1, 5, 0, 0, 0, 1, 0x8d };
	static const unsigned char rst[] = { 0, 0, 4, 3, 0, 0, 0, 0, 1, 0, 0, 0, 7 };
	struct h2idle_reader rd = { 0 };
	char buf[256];
	long n = h2idle_request(buf, sizeof(buf), "X-Bench: l7");
	size_t i;

	/* 24 preface + 9 SETTINGS + 13 WINDOW_UPDATE + 9 frame head + 10 fixed fields + 12
	 * for the header. */
	CHECK(n == 24 + 9 + 13 + 9 + 10 + 12, "h2 request length %ld", n);
	CHECK(n > 0 && !memcmp(buf + n - 10, "x-bench\002l7", 10), "h2 header lower-cased");
	CHECK(n > 0 && buf[24 + 9 + 3] == 8 && buf[24 + 9 + 2] == 4, "h2 WINDOW_UPDATE");
	CHECK(n > 0 && buf[24 + 22 + 3] == 1 && buf[24 + 22 + 4] == 5, "h2 HEADERS ends the stream");
	CHECK(h2idle_request(buf, sizeof(buf), "no-colon") == -EINVAL, "h2 bad header");
	CHECK(h2idle_request(buf, 40, NULL) == -EINVAL, "h2 request does not fit");
	for (i = 0; i < sizeof(resp) - 1; i++) {
		rd = (struct h2idle_reader){ 0 };
		CHECK(h2idle_response(&rd, resp, i) == 0, "h2 prefix of %zu bytes is incomplete", i);
	}
	rd = (struct h2idle_reader){ 0 };
	CHECK(h2idle_response(&rd, resp, sizeof(resp)) == 1 && rd.want_ack && rd.got_head,
	      "h2 response ends, SETTINGS wants an ACK");
	rd = (struct h2idle_reader){ 0 };
	CHECK(h2idle_response(&rd, e404, sizeof(e404)) == -EPROTO, "h2 404 is not a 200");
	rd = (struct h2idle_reader){ 0 };
	CHECK(h2idle_response(&rd, rst, sizeof(rst)) == -EPROTO, "h2 stream reset");
}

int selftest_run(void)
{
	fails = 0;
	selftest_hist_buckets();
	selftest_hist_small();
	selftest_hist_uniform();
	selftest_hist_exponential();
	selftest_sched();
	selftest_http();
	selftest_h2idle();
	if (fails)
		fprintf(stderr, "selftest: %d check(s) FAILED\n", fails);
	else
		fprintf(stderr, "selftest: histogram, timeline, HTTP and h2 framing checks passed\n");
	return fails;
}
