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

/* ---- server role: request parsing, table-driven, split at every byte ---- */

struct srv_case {
	const char *name;
	const char *in;
	size_t len;	    /* 0: strlen(in) */
	const char *log;    /* events raised */
	const char *body;   /* data bytes handed up */
	ssize_t ret;	    /* 0: everything consumed; else the negative errno */
	const char *out;    /* what the codec queued, as a prefix ("" none) */
	uint32_t max_bytes; /* codec_limits.max_header_bytes; 0 default */
	uint32_t max_fields;
};

/* Rows leave the trailing limit fields out when the defaults apply. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define H    "Host: a\r\n"
#define R400 "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
#define R431 "HTTP/1.1 431 Request Header Fields Too Large\r\n"

static const struct srv_case srv_cases[] = {
    {"get", "GET / HTTP/1.1\r\n" H "\r\n", 0, "H1 GET / h=a cl=-1 e1|", "", 0, ""},
    {"leading crlf", "\r\nGET / HTTP/1.1\r\n" H "\r\n", 0, "H1 GET / h=a cl=-1 e1|", "", 0, ""},
    {"tab ows", "POST /p HTTP/1.1\r\n" H "Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n", 0,
     "H1 POST /p h=a cl=-1 e0|E1|", "", 0, ""},
    {"content-length", "POST /p HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhello", 0,
     "H1 POST /p h=a cl=5 e0|E1|", "hello", 0, ""},
    {"cl zero", "POST /p HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n", 0, "H1 POST /p h=a cl=0 e1|",
     "", 0, ""},
    {"chunked",
     "POST /p HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
     "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
     0, "H1 POST /p h=a cl=-1 e0|E1|", "hello world", 0, ""},
    {"chunked trailers",
     "POST /p HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
     "3\r\nabc\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n",
     0, "H1 POST /p h=a cl=-1 e0|T1 n=2|", "abc", 0, ""},
    {"pipelined",
     "GET /a HTTP/1.1\r\n" H "\r\nPOST /b HTTP/1.1\r\n" H
     "Content-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\n" H "\r\n",
     0, "H1 GET /a h=a cl=-1 e1|H3 POST /b h=a cl=2 e0|E3|H5 GET /c h=a cl=-1 e1|", "hi", 0, ""},
    {"http/1.0 no host", "GET / HTTP/1.0\r\n\r\n", 0, "H1 GET / h= cl=-1 e1|", "", 0, ""},
    {"absolute form", "GET http://x.y/p?q HTTP/1.1\r\nHost: other\r\n\r\n", 0,
     "H1 GET /p?q h=x.y cl=-1 e1|", "", 0, ""},
    {"options star", "OPTIONS * HTTP/1.1\r\n" H "\r\n", 0, "H1 OPTIONS * h=a cl=-1 e1|", "", 0, ""},
    {"connect", "CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n", 0,
     "H1 CONNECT  h=db:5432 cl=-1 e0|", "", 0, ""},
    /* Request smuggling: RFC 9112 6.1/6.3 and the classic CL.TE / TE.CL / TE.TE desyncs. */
    {"cl.te",
     "POST / HTTP/1.1\r\n" H "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\nG",
     0, "", "", -EPROTO, R400},
    {"te.cl",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
     "8\r\nSMUGGLED\r\n0\r\n\r\n",
     0, "", "", -EPROTO, R400},
    {"cl twice same", "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 0,
     "", "", -EPROTO, R400},
    {"cl differ", "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 0, "",
     "", -EPROTO, R400},
    {"cl list", "POST / HTTP/1.1\r\n" H "Content-Length: 5, 5\r\n\r\nhello", 0, "", "", -EPROTO,
     R400},
    {"cl plus", "POST / HTTP/1.1\r\n" H "Content-Length: +5\r\n\r\nhello", 0, "", "", -EPROTO,
     R400},
    {"cl negative", "POST / HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n", 0, "", "", -EPROTO, R400},
    {"cl empty", "POST / HTTP/1.1\r\n" H "Content-Length:\r\n\r\n", 0, "", "", -EPROTO, R400},
    {"cl overflow", "POST / HTTP/1.1\r\n" H "Content-Length: 99999999999999999999999\r\n\r\n", 0,
     "", "", -EPROTO, R400},
    {"te gzip", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\n\r\n", 0, "", "", -EPROTO,
     R400},
    {"te chunked not last", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n", 0,
     "", "", -EPROTO, R400},
    {"te gzip chunked", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, "",
     "", -EPROTO, R400},
    {"te twice",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
     "", "", -EPROTO, R400},
    {"te identity", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: identity\r\n\r\n", 0, "", "",
     -EPROTO, R400},
    {"te xchunked", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: xchunked\r\n\r\n", 0, "", "",
     -EPROTO, R400},
    {"te space before colon", "POST / HTTP/1.1\r\n" H "Transfer-Encoding : chunked\r\n\r\n", 0, "",
     "", -EPROTO, R400},
    {"te vertical tab",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding:\x0b"
     "chunked\r\n\r\n",
     0, "", "", -EPROTO, R400},
    {"te on http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, "", "",
     -EPROTO, R400},
    {"obs-fold", "GET / HTTP/1.1\r\n" H "X-A: 1\r\n 2\r\n\r\n", 0, "", "", -EPROTO, R400},
    {"obs-fold te", "POST / HTTP/1.1\r\n" H "Transfer-Encoding:\r\n chunked\r\n\r\n", 0, "", "",
     -EPROTO, R400},
    {"bare lf", "GET / HTTP/1.1\n" H "\r\n", 0, "", "", -EPROTO, R400},
    {"bare lf end", "GET / HTTP/1.1\r\n" H "\n", 0, "", "", -EPROTO, R400},
    {"bare cr", "GET / HTTP/1.1\r\nHost: a\rX-B: 1\r\n\r\n", 0, "", "", -EPROTO, R400},
    {"bare cr end", "GET / HTTP/1.1\r\n" H "\r\rGET /x HTTP/1.1\r\n\r\n", 0, "", "", -EPROTO, R400},
    {"nul in value", "GET / HTTP/1.1\r\n" H "X-A: a\0b\r\n\r\n", 37, "", "", -EPROTO, R400},
    {"ctl in value",
     "GET / HTTP/1.1\r\n" H "X-A: a\x01"
     "b\r\n\r\n",
     0, "", "", -EPROTO, R400},
    {"del in value",
     "GET / HTTP/1.1\r\n" H "X-A: a\x7f"
     "b\r\n\r\n",
     0, "", "", -EPROTO, R400},
    {"space in name", "GET / HTTP/1.1\r\n" H "X A: 1\r\n\r\n", 0, "", "", -EPROTO, R400},
    {"no colon", "GET / HTTP/1.1\r\n" H "X-A\r\n\r\n", 0, "", "", -EPROTO, R400},
    {"two hosts", "GET / HTTP/1.1\r\n" H "Host: b\r\n\r\n", 0, "", "", -EPROTO, R400},
    {"no host", "GET / HTTP/1.1\r\n\r\n", 0, "", "", -EPROTO, R400},
    {"version 1.2", "GET / HTTP/1.2\r\n" H "\r\n", 0, "", "", -EPROTO, R400},
    {"version 2.0", "GET / HTTP/2.0\r\n" H "\r\n", 0, "", "", -EPROTO, R400},
    {"space before line", " GET / HTTP/1.1\r\n" H "\r\n", 0, "", "", -EPROTO, R400},
    {"bad method", "G@T / HTTP/1.1\r\n" H "\r\n", 0, "", "", -EPROTO, R400},
    {"junk after version", "GET / HTTP/1.1 x\r\n" H "\r\n", 0, "", "", -EPROTO, R400},
    {"relative target", "GET a/b HTTP/1.1\r\n" H "\r\n", 0, "", "", -EPROTO, R400},
    {"connect origin form", "CONNECT /x HTTP/1.1\r\n" H "\r\n", 0, "", "", -EPROTO, R400},
    /* Body framing errors come after the head was handed up: reset, then 400. */
    {"chunk size junk", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 0,
     "H1 POST / h=a cl=-1 e0|R1:1|", "", -EPROTO, R400},
    {"chunk size overflow",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
     "fffffffffffffffff\r\n",
     0, "H1 POST / h=a cl=-1 e0|R1:1|", "", -EPROTO, R400},
    {"chunk bare lf",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
     "3\nabc\r\n0\r\n\r\n",
     0, "H1 POST / h=a cl=-1 e0|R1:1|", "", -EPROTO, R400},
    {"chunk too long",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
     "3\r\nabcdef\r\n0\r\n\r\n",
     0, "H1 POST / h=a cl=-1 e0|R1:1|", "abc", -EPROTO, R400},
    {"trailer bare lf",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
     "0\r\nX-T: 1\n\r\n",
     0, "H1 POST / h=a cl=-1 e0|R1:1|", "", -EPROTO, R400},
    {"trailer obs-fold",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
     "0\r\nX-T: 1\r\n 2\r\n\r\n",
     0, "H1 POST / h=a cl=-1 e0|R1:1|", "", -EPROTO, R400},
    /* Limits: 431, the URI included. */
    {"head too big",
     "GET / HTTP/1.1\r\n" H "X-A: "
     "0123456789012345678901234567890123456789012345678901234567890123456789\r\n\r\n",
     0, "", "", -E2BIG, R431, 64},
    {"uri too long",
     "GET /0123456789012345678901234567890123456789012345678901234567890123456789"
     " HTTP/1.1\r\n" H "\r\n",
     0, "", "", -E2BIG, R431, 64},
    {"too many fields", "GET / HTTP/1.1\r\n" H "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0, "", "", -E2BIG,
     R431, 0, 3},
    {"fields at limit", "GET / HTTP/1.1\r\n" H "A: 1\r\nB: 2\r\n\r\n", 0, "H1 GET / h=a cl=-1 e1|",
     "", 0, "", 0, 3},
    {"trailers too many",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
     "0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
     0, "H1 POST / h=a cl=-1 e0|R1:100|", "", -E2BIG, R431, 0, 3},
};

/* Runs row <tc> split at <split>; returns 0, or 1 after printing what differed. */
static int srv_case_run(const struct srv_case *tc, size_t split)
{
	struct codec_limits lim = {.max_header_bytes = tc->max_bytes,
				   .max_headers = tc->max_fields};
	size_t len = tc->len ? tc->len : strlen(tc->in);
	ssize_t want = tc->ret ? tc->ret : (ssize_t)len;
	struct strbuf out;
	struct rec r;
	ssize_t ret;
	int bad = 0;

	rec_open(&r, CODEC_SERVER, &lim);
	strbuf_init(&out);
	ret = feed(r.c, tc->in, len, split);
	drain(r.c, &out);
	if (ret != want || strcmp(strbuf_str(&r.log), tc->log) ||
	    strcmp(strbuf_str(&r.body), tc->body) ||
	    strncmp(strbuf_str(&out), tc->out, strlen(tc->out)) || (!*tc->out && out.len) ||
	    codec_done(r.c) != (tc->ret != 0)) {
		print_error("%s (split %zu): ret %zd log '%s' body '%s' out '%.40s' done %d\n",
			    tc->name, split, ret, strbuf_str(&r.log), strbuf_str(&r.body),
			    strbuf_str(&out), codec_done(r.c));
		bad = 1;
	}
	strbuf_fini(&out);
	rec_close(&r);
	return bad;
}

static void test_h1_server_requests(void **state)
{
	int bad = 0;

	for (size_t i = 0; i < sizeof(srv_cases) / sizeof(srv_cases[0]); i++) {
		const struct srv_case *tc = &srv_cases[i];
		size_t len = tc->len ? tc->len : strlen(tc->in);

		/* Every split point: the parser's state must not depend on read sizes. */
		for (size_t split = 0; split < len; split++)
			if (srv_case_run(tc, split)) {
				bad++;
				break;
			}
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_h1_server_basic),
	    cmocka_unit_test(test_h1_server_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
