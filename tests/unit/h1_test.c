// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the HTTP/1.1 codec (proxy/h1.c) and protocol sniffing (proxy/sniff.c).
 * Every event the codec raises is written to a one-line log, so a table row states the
 * whole observable outcome of an input: the log, the body bytes, what input() returned and
 * what the codec queued for the peer. Inputs are replayed split at every byte boundary, and
 * messages are round-tripped between a server and a client codec.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/strbuf.h"
#include "proxy/codec.h"
#include "proxy/h1.h"
#include "proxy/sniff.h"

/* What one codec raised. */
struct rec {
	struct codec *c;
	struct strbuf log;     /* events, "H1 GET /a h=x cl=-1 e1|E1|..." */
	struct strbuf body;    /* data bytes of every stream, concatenated */
	struct http_head last; /* the last head or trailer block raised */
	bool no_consume;       /* leave data unconsumed (flow control tests) */
	size_t held;	       /* data bytes not consumed */
	/* An answer submitted from inside the head event (server role), or 0. */
	int auto_status;
};

static void rec_head(void *arg, uint32_t sid, struct http_head *h, bool end)
{
	struct rec *r = arg;

	if (h->kind == HTTP_REQUEST)
		strbuf_printf(&r->log, "H%u %s %s h=%s cl=%lld e%d|", sid,
			      http_str_ptr(h, h->method), http_str_ptr(h, h->path),
			      http_str_ptr(h, h->authority), (long long)h->content_length, end);
	else
		strbuf_printf(&r->log, "H%u %u cl=%lld e%d|", sid, h->status,
			      (long long)h->content_length, end);
	assert_int_equal(http_head_copy(&r->last, h), 0);
	if (r->auto_status && h->kind == HTTP_REQUEST) {
		struct http_head resp;

		http_head_init(&resp, HTTP_RESPONSE, 0);
		resp.status = (uint16_t)r->auto_status;
		resp.content_length = 2;
		assert_int_equal(codec_submit_head(r->c, &sid, &resp, false), 0);
		assert_int_equal(codec_submit_data(r->c, sid, (const uint8_t *)"ok", 2, true), 2);
		http_head_fini(&resp);
	}
}

static void rec_data(void *arg, uint32_t sid, const uint8_t *buf, size_t len, bool end)
{
	struct rec *r = arg;

	strbuf_append(&r->body, buf, len);
	if (r->no_consume)
		r->held += len;
	else
		codec_consume(r->c, sid, len);
	if (end)
		strbuf_printf(&r->log, "E%u|", sid);
}

static void rec_trailers(void *arg, uint32_t sid, struct http_head *t)
{
	struct rec *r = arg;

	strbuf_printf(&r->log, "T%u n=%u|", sid, t->nhdrs);
	assert_int_equal(http_head_copy(&r->last, t), 0);
}

static void rec_reset(void *arg, uint32_t sid, enum codec_err err)
{
	struct rec *r = arg;

	strbuf_printf(&r->log, "R%u:%d|", sid, err);
}

static void rec_writable(void *arg, uint32_t sid)
{
	struct rec *r = arg;

	strbuf_printf(&r->log, "W%u|", sid);
}

static void rec_upgraded(void *arg, uint32_t sid)
{
	struct rec *r = arg;

	strbuf_printf(&r->log, "U%u|", sid);
}

static const struct codec_events rec_events = {
    .head = rec_head,
    .data = rec_data,
    .trailers = rec_trailers,
    .reset = rec_reset,
    .writable = rec_writable,
    .upgraded = rec_upgraded,
};

static void rec_open(struct rec *r, enum codec_role role, const struct codec_limits *lim)
{
	memset(r, 0, sizeof(*r));
	strbuf_init(&r->log);
	strbuf_init(&r->body);
	http_head_init(&r->last, HTTP_REQUEST, 0);
	r->c = codec_new(&codec_h1, role, lim, &rec_events, r);
	assert_non_null(r->c);
}

static void rec_close(struct rec *r)
{
	codec_free(r->c);
	strbuf_fini(&r->log);
	strbuf_fini(&r->body);
	http_head_fini(&r->last);
}

/*
 * Feeds <len> bytes in pieces: the first <split> bytes, then the rest (split 0: at once),
 * re-feeding what the codec left unconsumed while it makes progress. Returns the bytes
 * consumed or the first negative result.
 */
static ssize_t feed(struct codec *c, const char *s, size_t len, size_t split)
{
	size_t done = 0, lim = split && split < len ? split : len;

	while (done < len) {
		ssize_t r = codec_input(c, (const uint8_t *)s + done, lim - done);

		if (r < 0)
			return r;
		done += (size_t)r;
		if (done == lim && lim < len)
			lim = len;
		else if (r == 0)
			break;
	}
	return (ssize_t)done;
}

/* Everything <c> queued, as a string (drained). */
static void drain(struct codec *c, struct strbuf *out)
{
	const uint8_t *p;
	size_t n;

	strbuf_reset(out);
	while ((n = codec_output(c, &p)) > 0) {
		strbuf_append(out, p, n);
		codec_output_done(c, n);
	}
}

static void test_h1_server_basic(void **state)
{
	static const char req[] = "GET /a?x=1 HTTP/1.1\r\nHost: svc\r\nX-A: 1 \r\n\r\n";
	struct http_head resp;
	struct strbuf out;
	struct rec r;
	uint32_t sid = 1;

	rec_open(&r, CODEC_SERVER, NULL);
	strbuf_init(&out);
	assert_int_equal(feed(r.c, req, strlen(req), 0), (ssize_t)strlen(req));
	assert_string_equal(strbuf_str(&r.log), "H1 GET /a?x=1 h=svc cl=-1 e1|");
	assert_string_equal(http_head_get(&r.last, "x-a", 3, NULL), "1");
	http_head_init(&resp, HTTP_RESPONSE, 0);
	resp.status = 200;
	assert_int_equal(http_head_add(&resp, "Server", 6, "weir", 4), 0);
	assert_int_equal(codec_submit_head(r.c, &sid, &resp, false), 0);
	assert_int_equal(codec_submit_data(r.c, sid, (const uint8_t *)"hello", 5, true), 5);
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "HTTP/1.1 200 OK\r\nserver: weir\r\n"
					      "transfer-encoding: chunked\r\n\r\n"
					      "5\r\nhello\r\n0\r\n\r\n");
	assert_false(codec_done(r.c));
	assert_true(codec_want_read(r.c));
	http_head_fini(&resp);
	strbuf_fini(&out);
	rec_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_h1_server_basic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
