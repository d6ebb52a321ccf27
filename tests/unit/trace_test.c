// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for user/telemetry/trace.c: a table of B3 multi-header, b3 single-header and
 * traceparent inputs (64- and 128-bit ids, upper case, wrong lengths, zeros, garbage) with
 * the context each must give, then sampling and the headers written upstream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "telemetry/trace.h"

#define V(s) ((struct trace_val){(s), sizeof(s) - 1})

struct parse_case {
	const char *name;
	struct trace_hdrs h;
	unsigned bad;	  /* TRACE_BAD_* expected */
	uint8_t src;	  /* enum trace_src expected */
	uint64_t hi, lo;  /* trace id expected (when src != NONE) */
	uint64_t span_id; /* caller's span expected */
	uint64_t parent;  /* parent expected */
	int8_t sampled;	  /* -1, 0, 1 */
	bool debug;
	const char *state; /* tracestate kept, or NULL */
};

static const struct parse_case cases[] = {
    {"nothing", {.b3 = {NULL, 0}}, 0, TRACE_SRC_NONE, 0, 0, 0, 0, -1, false, NULL},
    {"b3 64-bit",
     {.b3_traceid = V("463ac35c9f6413ad"),
      .b3_spanid = V("a2fb4a1d1a96d312"),
      .b3_sampled = V("1")},
     0,
     TRACE_SRC_B3,
     0,
     0x463ac35c9f6413adull,
     0xa2fb4a1d1a96d312ull,
     0,
     1,
     false,
     NULL},
    {"b3 128-bit with parent",
     {.b3_traceid = V("463ac35c9f6413ad48485a3953bb6124"),
      .b3_spanid = V("a2fb4a1d1a96d312"),
      .b3_parentspanid = V("0020000000000001"),
      .b3_sampled = V("0")},
     0,
     TRACE_SRC_B3,
     0x463ac35c9f6413adull,
     0x48485a3953bb6124ull,
     0xa2fb4a1d1a96d312ull,
     0x0020000000000001ull,
     0,
     false,
     NULL},
    {"b3 upper-case hex accepted",
     {.b3_traceid = V("463AC35C9F6413AD"), .b3_spanid = V("A2FB4A1D1A96D312")},
     0,
     TRACE_SRC_B3,
     0,
     0x463ac35c9f6413adull,
     0xa2fb4a1d1a96d312ull,
     0,
     -1,
     false,
     NULL},
    {"b3 traceid 20 chars",
     {.b3_traceid = V("463ac35c9f6413ad1234"), .b3_spanid = V("a2fb4a1d1a96d312")},
     TRACE_BAD_B3,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"b3 spanid short",
     {.b3_traceid = V("463ac35c9f6413ad"), .b3_spanid = V("a2fb4a1d")},
     TRACE_BAD_B3,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"b3 traceid zero",
     {.b3_traceid = V("0000000000000000"), .b3_spanid = V("a2fb4a1d1a96d312")},
     TRACE_BAD_B3,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"b3 spanid without traceid",
     {.b3_spanid = V("a2fb4a1d1a96d312")},
     TRACE_BAD_B3,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"b3 garbage traceid",
     {.b3_traceid = V("zzzzzzzzzzzzzzzz"),
      .b3_spanid = V("a2fb4a1d1a96d312"),
      .b3_sampled = V("1")},
     TRACE_BAD_B3,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     1,
     false,
     NULL},
    {"b3 bad parent keeps the context",
     {.b3_traceid = V("463ac35c9f6413ad"),
      .b3_spanid = V("a2fb4a1d1a96d312"),
      .b3_parentspanid = V("xyz")},
     TRACE_BAD_B3,
     TRACE_SRC_B3,
     0,
     0x463ac35c9f6413adull,
     0xa2fb4a1d1a96d312ull,
     0,
     -1,
     false,
     NULL},
    {"b3 sampled alone (deny)",
     {.b3_sampled = V("0")},
     0,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     0,
     false,
     NULL},
    {"b3 sampled true (legacy)",
     {.b3_sampled = V("true")},
     0,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     1,
     false,
     NULL},
    {"b3 sampled garbage",
     {.b3_sampled = V("yes")},
     TRACE_BAD_B3,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"b3 flags debug",
     {.b3_flags = V("1"), .b3_sampled = V("0")},
     0,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     1,
     true,
     NULL},
    {"b3 single full",
     {.b3 = V("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90")},
     0,
     TRACE_SRC_B3_SINGLE,
     0x80f198ee56343ba8ull,
     0x64fe8b2a57d3eff7ull,
     0xe457b5a2e4d86bd1ull,
     0x05e3ac9a4f6e3b90ull,
     1,
     false,
     NULL},
    {"b3 single ids only",
     {.b3 = V("463ac35c9f6413ad-a2fb4a1d1a96d312")},
     0,
     TRACE_SRC_B3_SINGLE,
     0,
     0x463ac35c9f6413adull,
     0xa2fb4a1d1a96d312ull,
     0,
     -1,
     false,
     NULL},
    {"b3 single debug",
     {.b3 = V("463ac35c9f6413ad-a2fb4a1d1a96d312-d")},
     0,
     TRACE_SRC_B3_SINGLE,
     0,
     0x463ac35c9f6413adull,
     0xa2fb4a1d1a96d312ull,
     0,
     1,
     true,
     NULL},
    {"b3 single deny only", {.b3 = V("0")}, 0, TRACE_SRC_NONE, 0, 0, 0, 0, 0, false, NULL},
    {"b3 single accept only", {.b3 = V("1")}, 0, TRACE_SRC_NONE, 0, 0, 0, 0, 1, false, NULL},
    {"b3 single bad state",
     {.b3 = V("463ac35c9f6413ad-a2fb4a1d1a96d312-x")},
     TRACE_BAD_B3_SINGLE,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"b3 single five fields",
     {.b3 = V("463ac35c9f6413ad-a2fb4a1d1a96d312-1-a2fb4a1d1a96d312-1")},
     TRACE_BAD_B3_SINGLE,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"b3 single garbage",
     {.b3 = V("hello")},
     TRACE_BAD_B3_SINGLE,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"b3 multi wins over single",
     {.b3_traceid = V("463ac35c9f6413ad"),
      .b3_spanid = V("a2fb4a1d1a96d312"),
      .b3 = V("80f198ee56343ba8-e457b5a2e4d86bd1-0")},
     0,
     TRACE_SRC_B3,
     0,
     0x463ac35c9f6413adull,
     0xa2fb4a1d1a96d312ull,
     0,
     -1,
     false,
     NULL},
    {"traceparent sampled",
     {.traceparent = V("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
      .tracestate = V("congo=t61rcWkgMzE")},
     0,
     TRACE_SRC_W3C,
     0x4bf92f3577b34da6ull,
     0xa3ce929d0e0e4736ull,
     0x00f067aa0ba902b7ull,
     0,
     1,
     false,
     "congo=t61rcWkgMzE"},
    {"traceparent not sampled",
     {.traceparent = V("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")},
     0,
     TRACE_SRC_W3C,
     0x4bf92f3577b34da6ull,
     0xa3ce929d0e0e4736ull,
     0x00f067aa0ba902b7ull,
     0,
     0,
     false,
     NULL},
    {"traceparent v00 too long",
     {.traceparent = V("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"),
      .tracestate = V("a=b")},
     TRACE_BAD_TRACEPARENT,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"traceparent short",
     {.traceparent = V("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01")},
     TRACE_BAD_TRACEPARENT,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"traceparent version ff",
     {.traceparent = V("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")},
     TRACE_BAD_TRACEPARENT,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"traceparent upper case",
     {.traceparent = V("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01")},
     TRACE_BAD_TRACEPARENT,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"traceparent zero trace id",
     {.traceparent = V("00-00000000000000000000000000000000-00f067aa0ba902b7-01")},
     TRACE_BAD_TRACEPARENT,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"traceparent zero parent id",
     {.traceparent = V("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")},
     TRACE_BAD_TRACEPARENT,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"traceparent future version with more fields",
     {.traceparent = V("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future")},
     0,
     TRACE_SRC_W3C,
     0x4bf92f3577b34da6ull,
     0xa3ce929d0e0e4736ull,
     0x00f067aa0ba902b7ull,
     0,
     1,
     false,
     NULL},
    {"traceparent future version, no dash after flags",
     {.traceparent = V("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x")},
     TRACE_BAD_TRACEPARENT,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"traceparent garbage",
     {.traceparent = V("garbage")},
     TRACE_BAD_TRACEPARENT,
     TRACE_SRC_NONE,
     0,
     0,
     0,
     0,
     -1,
     false,
     NULL},
    {"b3 wins over traceparent, b3 decides sampling",
     {.b3_traceid = V("463ac35c9f6413ad"),
      .b3_spanid = V("a2fb4a1d1a96d312"),
      .b3_sampled = V("0"),
      .traceparent = V("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")},
     0,
     TRACE_SRC_B3,
     0,
     0x463ac35c9f6413adull,
     0xa2fb4a1d1a96d312ull,
     0,
     0,
     false,
     NULL},
};

static void test_trace_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *t = &cases[i];
		struct trace_ctx c;
		unsigned bad = trace_parse(&t->h, &c);

		print_message("case %s\n", t->name);
		assert_int_equal(bad, t->bad);
		assert_int_equal(c.src, t->src);
		assert_int_equal(c.sampled, t->sampled);
		assert_int_equal(c.debug, t->debug);
		if (t->src != TRACE_SRC_NONE) {
			assert_int_equal(c.trace_hi, t->hi);
			assert_int_equal(c.trace_lo, t->lo);
			assert_int_equal(c.span_id, t->span_id);
			assert_int_equal(c.parent_id, t->parent);
		}
		if (t->state) {
			assert_int_equal(c.state_len, strlen(t->state));
			assert_string_equal(c.state, t->state);
		} else {
			assert_int_equal(c.state_len, 0);
		}
	}
}

static uint64_t fixed_rnd(void *arg)
{
	uint64_t *v = arg;

	return (*v)++;
}

static void test_trace_start_new_trace(void **state)
{
	struct trace_hdrs h = {0};
	struct trace_ctx c;
	struct trace_out o;
	uint64_t r = 0x1111;

	(void)state;
	trace_parse(&h, &c);
	trace_start(&c, 1000000, fixed_rnd, &r);
	assert_int_equal(c.sampled, 1);
	assert_true(c.w3c_out);
	assert_true(c.trace128);
	trace_out(&c, 0xabcdef0123456789ull, &o);
	assert_string_equal(o.traceid, "00000000000011110000000000001112");
	assert_string_equal(o.spanid, "abcdef0123456789");
	assert_string_equal(o.parentspanid, "");
	assert_string_equal(o.sampled, "1");
	assert_string_equal(o.traceparent,
			    "00-00000000000011110000000000001112-abcdef0123456789-01");
}

static void test_trace_start_sampling(void **state)
{
	struct trace_hdrs h = {0};
	struct trace_ctx c;
	uint64_t r = 1;
	unsigned yes = 0;

	(void)state;
	/* 0 %: never; 100 %: always; 50 % over a counter: half of 1000 draws. */
	for (int i = 0; i < 1000; i++) {
		trace_parse(&h, &c);
		trace_start(&c, 0, fixed_rnd, &r);
		assert_int_equal(c.sampled, 0);
		trace_parse(&h, &c);
		trace_start(&c, 1000000, fixed_rnd, &r);
		assert_int_equal(c.sampled, 1);
	}
	for (int i = 0; i < 1000; i++) {
		r = (uint64_t)i * 1000 - 2; /* the third draw (the decision) is i * 1000 */
		trace_parse(&h, &c);
		trace_start(&c, 500000, fixed_rnd, &r);
		yes += c.sampled == 1;
	}
	assert_int_equal(yes, 500);
	assert_int_equal(trace_pct_ppm(1), 10000);
	assert_int_equal(trace_pct_ppm(0.01), 100);
	assert_int_equal(trace_pct_ppm(150), 1000000);
	assert_int_equal(trace_pct_ppm(-3), 0);
}

static void test_trace_upstream_decision_wins(void **state)
{
	struct trace_hdrs h = {.b3_traceid = V("463ac35c9f6413ad"),
			       .b3_spanid = V("a2fb4a1d1a96d312"),
			       .b3_sampled = V("0")};
	struct trace_ctx c;
	struct trace_out o;
	uint64_t r = 7;

	(void)state;
	trace_parse(&h, &c);
	trace_start(&c, 1000000, fixed_rnd, &r); /* 100 % does not override a "0" */
	assert_int_equal(c.sampled, 0);
	assert_false(c.w3c_out); /* B3 only came in: no traceparent invented */
	trace_out(&c, 0x42, &o);
	assert_string_equal(o.traceid, "463ac35c9f6413ad"); /* 64-bit stays 64-bit in B3 */
	assert_string_equal(o.spanid, "0000000000000042");
	assert_string_equal(o.parentspanid, "a2fb4a1d1a96d312");
	assert_string_equal(o.sampled, "0");
	assert_string_equal(o.traceparent, "");
}

static void test_trace_w3c_continues(void **state)
{
	struct trace_hdrs h = {.traceparent =
				   V("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
			       .tracestate = V("rojo=00f067aa0ba902b7")};
	struct trace_ctx c;
	struct trace_out o;
	uint64_t r = 7;

	(void)state;
	trace_parse(&h, &c);
	trace_start(&c, 0, fixed_rnd, &r); /* 0 % does not override a sampled flag */
	assert_int_equal(c.sampled, 1);
	assert_true(c.w3c_out);
	trace_out(&c, 0x1234, &o);
	assert_string_equal(o.traceid, "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(o.parentspanid, "00f067aa0ba902b7");
	assert_string_equal(o.traceparent,
			    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000001234-01");
	assert_string_equal(c.state, "rojo=00f067aa0ba902b7");
}

static void test_trace_bad_traceparent_restarts(void **state)
{
	struct trace_hdrs h = {.traceparent = V("00-zz-00f067aa0ba902b7-01"),
			       .tracestate = V("rojo=1")};
	struct trace_ctx c;
	struct trace_out o;
	uint64_t r = 0x99;

	(void)state;
	assert_int_equal(trace_parse(&h, &c), TRACE_BAD_TRACEPARENT);
	trace_start(&c, 1000000, fixed_rnd, &r);
	assert_true(c.w3c_out);
	assert_int_equal(c.state_len, 0);
	trace_out(&c, 5, &o);
	assert_string_equal(o.traceparent,
			    "00-0000000000000099000000000000009a-0000000000000005-01");
}

static void test_trace_hex64(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(trace_hex64("ff", 2, false, &v), 0);
	assert_int_equal(v, 255);
	assert_int_equal(trace_hex64("FF", 2, false, &v), -22);
	assert_int_equal(trace_hex64("FF", 2, true, &v), 0);
	assert_int_equal(trace_hex64("", 0, true, &v), -22);
	assert_int_equal(trace_hex64("00000000000000000", 17, true, &v), -22);
	assert_int_equal(trace_hex64("g", 1, true, &v), -22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trace_parse_table),
	    cmocka_unit_test(test_trace_start_new_trace),
	    cmocka_unit_test(test_trace_start_sampling),
	    cmocka_unit_test(test_trace_upstream_decision_wins),
	    cmocka_unit_test(test_trace_w3c_continues),
	    cmocka_unit_test(test_trace_bad_traceparent_restarts),
	    cmocka_unit_test(test_trace_hex64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
