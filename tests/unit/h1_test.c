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
	uint32_t reset_in_head; /* codec_reset() this stream from its head event */
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
	if (r->reset_in_head == sid)
		assert_int_equal(codec_reset(r->c, sid, CODEC_E_CANCEL), 0);
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

static void rec_goaway(void *arg)
{
	struct rec *r = arg;

	strbuf_puts(&r->log, "G|");
}

static const struct codec_events rec_events = {
    .goaway = rec_goaway,
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
    {"http/1.0 no host", "GET / HTTP/1.0\r\n\r\n", 0, "G|H1 GET / h= cl=-1 e1|", "", 0, ""},
    {"host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0, "", "", -EPROTO, R400},
    {"host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 0, "", "", -EPROTO, R400},
    {"host with at", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 0, "", "", -EPROTO, R400},
    {"host ipv6 port", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 0,
     "H1 GET / h=[::1]:8080 cl=-1 e1|", "", 0, ""},
    {"userinfo", "GET http://u@x.y/ HTTP/1.1\r\n" H "\r\n", 0, "", "", -EPROTO, R400},
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
    /* Spellings that are fine and must stay fine. */
    {"te upper case", "POST / HTTP/1.1\r\n" H "transfer-encoding: CHUNKED \r\n\r\n0\r\n\r\n", 0,
     "H1 POST / h=a cl=-1 e0|E1|", "", 0, ""},
    {"cl leading zeros", "POST / HTTP/1.1\r\n" H "Content-Length: 002\r\n\r\nhi", 0,
     "H1 POST / h=a cl=2 e0|E1|", "hi", 0, ""},
    {"obs-text value", "GET / HTTP/1.1\r\n" H "X-A: caf\xc3\xa9\r\n\r\n", 0,
     "H1 GET / h=a cl=-1 e1|", "", 0, ""},
    /* More from the request smuggling literature (chunk-size and extension tricks). */
    {"chunk hex prefix", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n",
     0, "H1 POST / h=a cl=-1 e0|R1:1|", "", -EPROTO, R400},
    {"chunk negative", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n", 0,
     "H1 POST / h=a cl=-1 e0|R1:1|", "", -EPROTO, R400},
    {"chunk ext bare lf",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
     "3;a\nb\r\nabc\r\n0\r\n\r\n",
     0, "H1 POST / h=a cl=-1 e0|R1:1|", "", -EPROTO, R400},
    {"chunk ext bare cr",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
     "3;a\rb\r\nabc\r\n0\r\n\r\n",
     0, "H1 POST / h=a cl=-1 e0|R1:1|", "", -EPROTO, R400},
    {"chunk data lf only",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
     "3\r\nabc\n0\r\n\r\n",
     0, "H1 POST / h=a cl=-1 e0|R1:1|", "abc", -EPROTO, R400},
    {"last chunk no crlf",
     "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
     "0\r\nGET / HTTP/1.1\r\n\r\n",
     0, "H1 POST / h=a cl=-1 e0|R1:1|", "", -EPROTO, R400},
    {"del in target", "GET /\x7f HTTP/1.1\r\n" H "\r\n", 0, "", "", -EPROTO, R400},
    {"nul in target", "GET /\0 HTTP/1.1\r\n" H "\r\n", 27, "", "", -EPROTO, R400},
    {"cr in name", "GET / HTTP/1.1\r\n" H "X\rA: 1\r\n\r\n", 0, "", "", -EPROTO, R400},
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

/* ---- client role: response parsing ---- */

/* A request head for the client role: <method> <path>, Host a. */
static void req_head(struct http_head *h, const char *method, const char *path)
{
	http_head_init(h, HTTP_REQUEST, 0);
	assert_int_equal(http_head_str(h, method, strlen(method), &h->method), 0);
	assert_int_equal(http_head_str(h, path, strlen(path), &h->path), 0);
	assert_int_equal(http_head_str(h, "a", 1, &h->authority), 0);
}

struct cli_case {
	const char *name;
	const char *method; /* of the request it answers */
	const char *in;
	const char *log;
	const char *body;
	ssize_t ret;   /* 0: everything consumed */
	bool can_open; /* reusable afterwards */
};

static const struct cli_case cli_cases[] = {
    {"length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "H1 200 cl=5 e0|E1|",
     "hello", 0, true},
    {"chunked grpc trailers", "POST",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n"
     "grpc-status: 0\r\n\r\n",
     "H1 200 cl=-1 e0|T1 n=1|", "abcd", 0, true},
    {"204", "DELETE", "HTTP/1.1 204 No Content\r\n\r\n", "H1 204 cl=-1 e1|", "", 0, true},
    {"304 with length", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
     "H1 304 cl=10 e1|", "", 0, true},
    {"head", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "H1 200 cl=10 e1|", "", 0,
     true},
    {"100 then 200", "POST",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
     "Content-Length: 0\r\n\r\n",
     "H1 100 cl=-1 e0|H1 200 cl=0 e1|", "", 0, true},
    {"close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
     "G|H1 200 cl=1 e0|E1|", "x", 0, false},
    {"http/1.0", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", "G|H1 200 cl=1 e0|E1|",
     "x", 0, false},
    {"connect 200", "CONNECT", "HTTP/1.1 200 OK\r\n\r\nTUNNEL", "H1 200 cl=-1 e0|U1|", "TUNNEL", 0,
     false},
    {"connect 403", "CONNECT", "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno",
     "H1 403 cl=2 e0|E1|", "no", 0, false},
    {"http/1.0 keep-alive", "GET",
     "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
     "H1 200 cl=1 e0|E1|", "x", 0, true},
    {"cl.te", "GET",
     "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "R1:1|",
     "", -EPROTO, false},
    {"two lengths", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
     "R1:1|", "", -EPROTO, false},
    {"bare lf", "GET", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", "R1:1|", "", -EPROTO, false},
    {"obs-fold", "GET", "HTTP/1.1 200 OK\r\nX: 1\r\n 2\r\nContent-Length: 0\r\n\r\n", "R1:1|", "",
     -EPROTO, false},
    {"te gzip", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx", "R1:1|", "", -EPROTO,
     false},
    {"unsolicited 101", "GET",
     "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
     "Upgrade: websocket\r\n\r\n",
     "R1:1|", "", -EPROTO, false},
    {"garbage", "GET", "SSH-2.0-OpenSSH\r\n\r\n", "R1:1|", "", -EPROTO, false},
    {"after the response", "GET",
     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", "H1 200 cl=0 e1|", "",
     -EPROTO, false},
};

static int cli_case_run(const struct cli_case *tc, size_t split)
{
	size_t len = strlen(tc->in);
	ssize_t want = tc->ret ? tc->ret : (ssize_t)len;
	struct http_head req;
	struct strbuf out;
	uint32_t sid = 0;
	struct rec r;
	ssize_t ret;
	int bad = 0;

	rec_open(&r, CODEC_CLIENT, NULL);
	strbuf_init(&out);
	req_head(&req, tc->method, "/");
	assert_true(codec_can_open(r.c));
	assert_int_equal(codec_submit_head(r.c, &sid, &req, true), 0);
	assert_int_equal(sid, 1);
	assert_false(codec_can_open(r.c));
	drain(r.c, &out);
	ret = feed(r.c, tc->in, len, split);
	if (ret != want || strcmp(strbuf_str(&r.log), tc->log) ||
	    strcmp(strbuf_str(&r.body), tc->body) || codec_can_open(r.c) != tc->can_open) {
		print_error("%s (split %zu): ret %zd log '%s' body '%s' can_open %d\n", tc->name,
			    split, ret, strbuf_str(&r.log), strbuf_str(&r.body),
			    codec_can_open(r.c));
		bad = 1;
	}
	http_head_fini(&req);
	strbuf_fini(&out);
	rec_close(&r);
	return bad;
}

static void test_h1_client_responses(void **state)
{
	int bad = 0;

	for (size_t i = 0; i < sizeof(cli_cases) / sizeof(cli_cases[0]); i++) {
		for (size_t split = 0; split < strlen(cli_cases[i].in); split++)
			if (cli_case_run(&cli_cases[i], split)) {
				bad++;
				break;
			}
	}
	assert_int_equal(bad, 0);
}

/* The request line and framing the client role writes. */
static void test_h1_client_request_wire(void **state)
{
	static const struct {
		const char *method;
		int64_t cl;
		bool end;
		const char *out;
	} rows[] = {
	    {"GET", -1, true, "GET /p HTTP/1.1\r\nhost: a\r\nx-a: 1\r\n\r\n"},
	    {"POST", -1, true,
	     "POST /p HTTP/1.1\r\nhost: a\r\nx-a: 1\r\ncontent-length: 0\r\n\r\n"},
	    {"POST", 3, false,
	     "POST /p HTTP/1.1\r\nhost: a\r\nx-a: 1\r\ncontent-length: 3\r\n\r\n"},
	    {"PUT", -1, false,
	     "PUT /p HTTP/1.1\r\nhost: a\r\nx-a: 1\r\n"
	     "transfer-encoding: chunked\r\n\r\n"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct http_head req;
		struct strbuf out;
		uint32_t sid;
		struct rec r;

		rec_open(&r, CODEC_CLIENT, NULL);
		strbuf_init(&out);
		req_head(&req, rows[i].method, "/p");
		req.content_length = rows[i].cl;
		/* Hop-by-hop fields from the downstream side never reach the upstream. */
		assert_int_equal(http_head_add(&req, "connection", 10, "close", 5), 0);
		assert_int_equal(http_head_add(&req, "x-a", 3, "1", 1), 0);
		assert_int_equal(http_head_add(&req, "keep-alive", 10, "5", 1), 0);
		assert_int_equal(http_head_add(&req, "transfer-encoding", 17, "chunked", 7), 0);
		assert_int_equal(codec_submit_head(r.c, &sid, &req, rows[i].end), 0);
		/* One request at a time upstream. */
		assert_int_equal(codec_submit_head(r.c, &sid, &req, true), -EAGAIN);
		drain(r.c, &out);
		assert_string_equal(strbuf_str(&out), rows[i].out);
		http_head_fini(&req);
		strbuf_fini(&out);
		rec_close(&r);
	}
}

/* A connection that ends before the response: refused (retry) only if nothing went out. */
static void test_h1_client_eof(void **state)
{
	static const struct {
		const char *name;
		size_t written; /* bytes of the request acknowledged written */
		const char *in; /* response bytes before EOF */
		const char *log;
	} rows[] = {
	    {"nothing written", 0, "", "R1:7|"},
	    {"some written", 5, "", "R1:8|"},
	    {"all written", 1000, "", "R1:8|"},
	    {"mid head", 1000, "HTTP/1.1 200 OK\r\n", "R1:8|"},
	    {"mid body", 1000, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
	     "H1 200 cl=5 e0|R1:8|"},
	    {"mid chunks", 1000, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab",
	     "H1 200 cl=-1 e0|R1:8|"},
	    {"close-delimited", 1000, "HTTP/1.1 200 OK\r\n\r\nabc", "H1 200 cl=-1 e0|E1|"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct http_head req;
		const uint8_t *p;
		uint32_t sid;
		struct rec r;
		size_t n;

		rec_open(&r, CODEC_CLIENT, NULL);
		req_head(&req, "GET", "/");
		assert_int_equal(codec_submit_head(r.c, &sid, &req, true), 0);
		n = codec_output(r.c, &p);
		codec_output_done(r.c, rows[i].written < n ? rows[i].written : n);
		assert_int_equal(feed(r.c, rows[i].in, strlen(rows[i].in), 0),
				 (ssize_t)strlen(rows[i].in));
		h1_input_eof(r.c);
		if (strcmp(strbuf_str(&r.log), rows[i].log))
			fail_msg("%s: log '%s'", rows[i].name, strbuf_str(&r.log));
		assert_false(codec_can_open(r.c));
		assert_true(codec_done(r.c) || codec_output(r.c, &p));
		http_head_fini(&req);
		rec_close(&r);
	}
}

/* ---- round trips: one codec's output is the other's input ---- */

/* Moves everything <from> queued into <to>; returns what input() said last. */
static ssize_t pump(struct codec *from, struct codec *to)
{
	const uint8_t *p;
	ssize_t r = 0;
	size_t n;

	while ((n = codec_output(from, &p)) > 0) {
		r = codec_input(to, p, n);
		if (r < 0)
			return r;
		codec_output_done(from, (size_t)r);
		if (!r)
			break;
	}
	return r;
}

static void test_h1_round_trip(void **state)
{
	static const char big[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	struct http_head req, resp, trl;
	struct rec cli, srv;
	uint32_t sid, ssid = 1;

	for (int round = 0; round < 3; round++) {
		rec_open(&cli, CODEC_CLIENT, NULL);
		rec_open(&srv, CODEC_SERVER, NULL);
		for (int k = 0; k < 2; k++) {
			/* Request: chunked (round 0), length (1), chunked with trailers (2). */
			strbuf_reset(&cli.log);
			strbuf_reset(&srv.log);
			strbuf_reset(&cli.body);
			strbuf_reset(&srv.body);
			req_head(&req, "POST", "/rt");
			if (round == 1)
				req.content_length = 2 * (int64_t)strlen(big);
			assert_int_equal(http_head_add(&req, "x-k", 3, "v", 1), 0);
			assert_int_equal(codec_submit_head(cli.c, &sid, &req, false), 0);
			assert_int_equal(sid, 1 + 2 * (uint32_t)k);
			assert_int_equal(
			    codec_submit_data(cli.c, sid, (const uint8_t *)big, strlen(big), false),
			    (ssize_t)strlen(big));
			if (round == 2) {
				assert_int_equal(codec_submit_data(cli.c, sid, (const uint8_t *)big,
								   strlen(big), false),
						 (ssize_t)strlen(big));
				http_head_init(&trl, HTTP_TRAILERS, 0);
				assert_int_equal(http_head_add(&trl, "x-sum", 5, "42", 2), 0);
				assert_int_equal(codec_submit_trailers(cli.c, sid, &trl), 0);
				http_head_fini(&trl);
			} else {
				assert_int_equal(codec_submit_data(cli.c, sid, (const uint8_t *)big,
								   strlen(big), true),
						 (ssize_t)strlen(big));
			}
			assert_true(pump(cli.c, srv.c) > 0);
			ssid = 1 + 2 * (uint32_t)k;
			assert_int_equal(srv.body.len, 2 * strlen(big));
			assert_string_equal(http_str_ptr(&srv.last, srv.last.kind == HTTP_TRAILERS
									? srv.last.hdrs[0].value
									: srv.last.path),
					    round == 2 ? "42" : "/rt");
			/* Response: chunked with trailers, back the other way. */
			http_head_init(&resp, HTTP_RESPONSE, 0);
			resp.status = 200;
			assert_int_equal(codec_submit_head(srv.c, &ssid, &resp, false), 0);
			assert_int_equal(
			    codec_submit_data(srv.c, ssid, (const uint8_t *)"pong", 4, false), 4);
			http_head_init(&trl, HTTP_TRAILERS, 0);
			assert_int_equal(http_head_add(&trl, "grpc-status", 11, "0", 1), 0);
			assert_int_equal(codec_submit_trailers(srv.c, ssid, &trl), 0);
			assert_true(pump(srv.c, cli.c) > 0);
			char want[64];

			snprintf(want, sizeof(want), "H%u 200 cl=-1 e0|T%u n=1|", sid, sid);
			assert_string_equal(strbuf_str(&cli.log), want);
			assert_string_equal(strbuf_str(&cli.body), "pong");
			assert_string_equal(http_head_get(&cli.last, "grpc-status", 11, NULL), "0");
			/* Keep-alive both ways: the next exchange reuses the connection. */
			assert_true(codec_can_open(cli.c));
			assert_false(codec_done(srv.c));
			http_head_fini(&trl);
			http_head_fini(&resp);
			http_head_fini(&req);
		}
		rec_close(&cli);
		rec_close(&srv);
	}
}

/* ---- server role scenarios ---- */

/* Submits response <status> to <sid> with body <text> (NULL: none), ended. */
static void respond(struct codec *c, uint32_t sid, unsigned status, int64_t cl, const char *text)
{
	struct http_head resp;

	http_head_init(&resp, HTTP_RESPONSE, 0);
	resp.status = (uint16_t)status;
	resp.content_length = cl;
	assert_int_equal(codec_submit_head(c, &sid, &resp, text == NULL), 0);
	if (text)
		assert_int_equal(
		    codec_submit_data(c, sid, (const uint8_t *)text, strlen(text), true),
		    (ssize_t)strlen(text));
	http_head_fini(&resp);
}

/* Responses submitted out of order leave in request order. */
static void test_h1_pipeline_order(void **state)
{
	static const char in[] =
	    "GET /1 HTTP/1.1\r\n" H "\r\nGET /2 HTTP/1.1\r\n" H "\r\nGET /3 HTTP/1.1\r\n" H "\r\n";
	struct strbuf out;
	struct rec r;

	rec_open(&r, CODEC_SERVER, NULL);
	strbuf_init(&out);
	assert_int_equal(feed(r.c, in, strlen(in), 0), (ssize_t)strlen(in));
	assert_int_equal(codec_streams(r.c), 3);
	respond(r.c, 5, 200, 1, "c");
	respond(r.c, 3, 200, 1, "b");
	drain(r.c, &out);
	assert_int_equal(out.len, 0); /* held until /1 is answered */
	respond(r.c, 1, 200, 1, "a");
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na"
					      "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nb"
					      "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nc");
	assert_int_equal(codec_streams(r.c), 0);
	assert_int_equal(codec_submit_head(r.c, &(uint32_t){1}, &r.last, true), -ENOENT);
	assert_false(codec_done(r.c));
	strbuf_fini(&out);
	rec_close(&r);
}

/* No more than max_pipelined requests are parsed ahead of their responses. */
static void test_h1_pipeline_bound(void **state)
{
	static const char in[] =
	    "GET /1 HTTP/1.1\r\n" H "\r\nGET /2 HTTP/1.1\r\n" H "\r\nGET /3 HTTP/1.1\r\n" H "\r\n";
	struct codec_limits lim = {.max_pipelined = 2};
	size_t one = strlen("GET /1 HTTP/1.1\r\n" H "\r\n");
	struct strbuf out;
	struct rec r;
	ssize_t n;

	rec_open(&r, CODEC_SERVER, &lim);
	strbuf_init(&out);
	n = codec_input(r.c, (const uint8_t *)in, strlen(in));
	assert_int_equal(n, 2 * one);
	assert_false(codec_want_read(r.c));
	assert_string_equal(strbuf_str(&r.log), "H1 GET /1 h=a cl=-1 e1|H3 GET /2 h=a cl=-1 e1|");
	respond(r.c, 1, 204, -1, NULL);
	assert_true(codec_want_read(r.c));
	assert_int_equal(codec_input(r.c, (const uint8_t *)in + n, strlen(in) - (size_t)n), one);
	assert_string_equal(strbuf_str(&r.log), "H1 GET /1 h=a cl=-1 e1|H3 GET /2 h=a cl=-1 e1|"
						"H5 GET /3 h=a cl=-1 e1|");
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "HTTP/1.1 204 No Content\r\n\r\n");
	strbuf_fini(&out);
	rec_close(&r);
}

/* A 400 for a later pipelined request waits for the earlier responses. */
static void test_h1_pipeline_error_order(void **state)
{
	static const char in[] = "GET /1 HTTP/1.1\r\n" H "\r\nGET /2 HTTP/1.1\nHost: a\r\n\r\n";
	struct strbuf out;
	struct rec r;

	rec_open(&r, CODEC_SERVER, NULL);
	strbuf_init(&out);
	assert_int_equal(codec_input(r.c, (const uint8_t *)in, strlen(in)), -EPROTO);
	drain(r.c, &out);
	assert_int_equal(out.len, 0);
	assert_false(codec_done(r.c));
	respond(r.c, 1, 200, 1, "a");
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na" R400);
	assert_true(codec_done(r.c));
	strbuf_fini(&out);
	rec_close(&r);
}

/* Connection reuse per version and Connection header; shutdown closes after the answer. */
static void test_h1_keep_alive(void **state)
{
	static const struct {
		const char *in;
		bool shutdown;
		const char *out;
		bool done;
	} rows[] = {
	    {"GET / HTTP/1.1\r\n" H "\r\n", false, "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx",
	     false},
	    {"GET / HTTP/1.1\r\n" H "Connection: close\r\n\r\n", false,
	     "HTTP/1.1 200 OK\r\ncontent-length: 1\r\nconnection: close\r\n\r\nx", true},
	    {"GET / HTTP/1.1\r\n" H "\r\n", true,
	     "HTTP/1.1 200 OK\r\ncontent-length: 1\r\nconnection: close\r\n\r\nx", true},
	    {"GET / HTTP/1.0\r\n\r\n", false,
	     "HTTP/1.1 200 OK\r\ncontent-length: 1\r\nconnection: close\r\n\r\nx", true},
	    {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false,
	     "HTTP/1.1 200 OK\r\ncontent-length: 1\r\nconnection: keep-alive\r\n\r\nx", false},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct strbuf out;
		struct rec r;

		rec_open(&r, CODEC_SERVER, NULL);
		strbuf_init(&out);
		assert_int_equal(feed(r.c, rows[i].in, strlen(rows[i].in), 0),
				 (ssize_t)strlen(rows[i].in));
		if (rows[i].shutdown)
			codec_shutdown(r.c);
		respond(r.c, 1, 200, 1, "x");
		drain(r.c, &out);
		assert_string_equal(strbuf_str(&out), rows[i].out);
		assert_int_equal(codec_done(r.c), rows[i].done);
		assert_int_equal(codec_want_read(r.c), !rows[i].done);
		strbuf_fini(&out);
		rec_close(&r);
	}
}

/* Streamed responses: chunked to HTTP/1.1, close-delimited to HTTP/1.0; HEAD gets no body. */
static void test_h1_response_framing(void **state)
{
	static const struct {
		const char *in;
		unsigned status;
		const char *out;
		bool done;
	} rows[] = {
	    {"GET / HTTP/1.1\r\n" H "\r\n", 200,
	     "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", false},
	    {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200,
	     "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nab", true},
	    {"HEAD / HTTP/1.1\r\n" H "\r\n", 200, "HTTP/1.1 200 OK\r\n\r\n", false},
	    {"GET / HTTP/1.1\r\n" H "\r\n", 204, "HTTP/1.1 204 No Content\r\n\r\n", false},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct http_head resp;
		struct strbuf out;
		uint32_t sid = 1;
		struct rec r;

		rec_open(&r, CODEC_SERVER, NULL);
		strbuf_init(&out);
		assert_int_equal(feed(r.c, rows[i].in, strlen(rows[i].in), 0),
				 (ssize_t)strlen(rows[i].in));
		http_head_init(&resp, HTTP_RESPONSE, 0);
		resp.status = (uint16_t)rows[i].status;
		assert_int_equal(codec_submit_head(r.c, &sid, &resp, false), 0);
		assert_int_equal(codec_submit_data(r.c, 1, (const uint8_t *)"ab", 2, true), 2);
		drain(r.c, &out);
		assert_string_equal(strbuf_str(&out), rows[i].out);
		assert_int_equal(codec_done(r.c), rows[i].done);
		http_head_fini(&resp);
		strbuf_fini(&out);
		rec_close(&r);
	}
}

/* HEAD: the length of the GET is announced, no body bytes follow. */
static void test_h1_head_length(void **state)
{
	static const char in[] = "HEAD / HTTP/1.1\r\n" H "\r\nGET /n HTTP/1.1\r\n" H "\r\n";
	struct strbuf out;
	struct rec r;

	rec_open(&r, CODEC_SERVER, NULL);
	strbuf_init(&out);
	assert_int_equal(feed(r.c, in, strlen(in), 0), (ssize_t)strlen(in));
	respond(r.c, 1, 200, 10, "0123456789");
	respond(r.c, 3, 200, 1, "n");
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n"
					      "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nn");
	strbuf_fini(&out);
	rec_close(&r);
}

/* Expect: 100-continue: the 100 goes out only if the exchange sends one. */
static void test_h1_expect_continue(void **state)
{
	static const char in[] = "PUT /u HTTP/1.1\r\n" H "Expect: 100-continue\r\n"
				 "Content-Length: 3\r\n\r\n";
	struct http_head cont;
	struct strbuf out;
	struct rec r;

	/* The exchange lets the body come. */
	rec_open(&r, CODEC_SERVER, NULL);
	strbuf_init(&out);
	assert_int_equal(feed(r.c, in, strlen(in), 0), (ssize_t)strlen(in));
	assert_string_equal(strbuf_str(&r.log), "H1 PUT /u h=a cl=3 e0|");
	assert_string_equal(http_head_get(&r.last, "expect", 6, NULL), "100-continue");
	http_head_init(&cont, HTTP_RESPONSE, 0);
	cont.status = 100;
	assert_int_equal(codec_submit_head(r.c, &(uint32_t){1}, &cont, false), 0);
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "HTTP/1.1 100 Continue\r\n\r\n");
	assert_int_equal(feed(r.c, "abc", 3, 0), 3);
	assert_string_equal(strbuf_str(&r.body), "abc");
	respond(r.c, 1, 201, 0, NULL);
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n");
	assert_false(codec_done(r.c));
	rec_close(&r);

	/* The exchange refuses at once: no 100, and the unsent body ends the connection. */
	rec_open(&r, CODEC_SERVER, NULL);
	assert_int_equal(feed(r.c, in, strlen(in), 0), (ssize_t)strlen(in));
	respond(r.c, 1, 417, 0, NULL);
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "HTTP/1.1 417 Expectation Failed\r\n"
					      "content-length: 0\r\nconnection: close\r\n\r\n");
	assert_true(codec_done(r.c));
	http_head_fini(&cont);
	strbuf_fini(&out);
	rec_close(&r);
}

/* WebSocket: the 101 turns the connection into opaque bytes both ways. */
static void test_h1_upgrade(void **state)
{
	static const char in[] = "GET /ws HTTP/1.1\r\n" H "Connection: Upgrade\r\n"
				 "Upgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n\x81\x05hello";
	static const char next[] = "GET /n HTTP/1.1\r\n" H "\r\n";
	size_t head = strlen(in) - 7;
	struct http_head resp;
	struct strbuf out;
	struct rec r;

	for (int accept = 0; accept < 2; accept++) {
		rec_open(&r, CODEC_SERVER, NULL);
		strbuf_init(&out);
		/* Nothing past the head is parsed until the answer. */
		assert_int_equal(codec_input(r.c, (const uint8_t *)in, strlen(in)), head);
		assert_false(codec_want_read(r.c));
		assert_string_equal(http_head_get(&r.last, "upgrade", 7, NULL), "websocket");
		assert_null(http_head_get(&r.last, "connection", 10, NULL));
		http_head_init(&resp, HTTP_RESPONSE, 0);
		if (accept) {
			resp.status = 101;
			assert_int_equal(http_head_add(&resp, "upgrade", 7, "websocket", 9), 0);
			assert_int_equal(codec_submit_head(r.c, &(uint32_t){1}, &resp, false), 0);
			assert_string_equal(strbuf_str(&r.log), "H1 GET /ws h=a cl=-1 e1|U1|");
			assert_int_equal(codec_input(r.c, (const uint8_t *)in + head, 7), 7);
			assert_string_equal(strbuf_str(&r.body), "\x81\x05hello");
			assert_int_equal(
			    codec_submit_data(r.c, 1, (const uint8_t *)"\x81\x01x", 3, false), 3);
			drain(r.c, &out);
			assert_string_equal(strbuf_str(&out),
					    "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket"
					    "\r\nconnection: upgrade\r\n\r\n\x81\x01x");
			/* Ends when both sides have ended. */
			assert_int_equal(codec_submit_data(r.c, 1, NULL, 0, true), 0);
			assert_false(codec_done(r.c));
			h1_input_eof(r.c);
			assert_true(codec_done(r.c));
		} else {
			/* Declined: the connection goes on as HTTP/1.1 with what followed. */
			resp.status = 200;
			resp.content_length = 0;
			assert_int_equal(codec_submit_head(r.c, &(uint32_t){1}, &resp, true), 0);
			assert_true(codec_want_read(r.c));
			assert_int_equal(feed(r.c, next, strlen(next), 0), (ssize_t)strlen(next));
			assert_string_equal(strbuf_str(&r.log),
					    "H1 GET /ws h=a cl=-1 e1|H3 GET /n h=a cl=-1 e1|");
		}
		http_head_fini(&resp);
		strbuf_fini(&out);
		rec_close(&r);
	}
}

/* CONNECT: a 2xx opens the tunnel; anything else closes the connection. */
static void test_h1_connect(void **state)
{
	static const char in[] = "CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\nPGDATA";
	size_t head = strlen(in) - 6;
	struct strbuf out;
	struct rec r;

	rec_open(&r, CODEC_SERVER, NULL);
	strbuf_init(&out);
	assert_int_equal(codec_input(r.c, (const uint8_t *)in, strlen(in)), head);
	respond(r.c, 1, 200, -1, NULL);
	assert_string_equal(strbuf_str(&r.log), "H1 CONNECT  h=db:5432 cl=-1 e0|U1|");
	assert_int_equal(codec_input(r.c, (const uint8_t *)in + head, 6), 6);
	assert_string_equal(strbuf_str(&r.body), "PGDATA");
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "HTTP/1.1 200 OK\r\n\r\n");
	rec_close(&r);

	rec_open(&r, CODEC_SERVER, NULL);
	assert_int_equal(codec_input(r.c, (const uint8_t *)in, strlen(in)), head);
	respond(r.c, 1, 403, 0, NULL);
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n"
					      "connection: close\r\n\r\n");
	assert_true(codec_done(r.c));
	strbuf_fini(&out);
	rec_close(&r);
}

/* Client role: 101 to an upgrade request; bytes after the head are tunnel data. */
static void test_h1_client_upgrade(void **state)
{
	static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
				   "Upgrade: websocket\r\n\r\nDATA";
	struct http_head req;
	struct strbuf out;
	uint32_t sid;
	struct rec r;

	rec_open(&r, CODEC_CLIENT, NULL);
	strbuf_init(&out);
	req_head(&req, "GET", "/ws");
	assert_int_equal(http_head_add(&req, "upgrade", 7, "websocket", 9), 0);
	assert_int_equal(codec_submit_head(r.c, &sid, &req, true), 0);
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out),
			    "GET /ws HTTP/1.1\r\nhost: a\r\nupgrade: websocket\r\n"
			    "connection: upgrade\r\n\r\n");
	assert_int_equal(feed(r.c, resp, strlen(resp), 0), (ssize_t)strlen(resp));
	assert_string_equal(strbuf_str(&r.log), "H1 101 cl=-1 e0|U1|");
	assert_string_equal(strbuf_str(&r.body), "DATA");
	assert_int_equal(codec_submit_data(r.c, sid, (const uint8_t *)"up", 2, false), 2);
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "up");
	http_head_fini(&req);
	strbuf_fini(&out);
	rec_close(&r);
}

/* Body bytes handed up and not consumed stop the parser at H1_FLOW_MAX. */
static void test_h1_backpressure_input(void **state)
{
	size_t blen = 3 * H1_FLOW_MAX, hlen, taken = 0;
	char head[128];
	char *body = malloc(blen);
	struct rec r;
	ssize_t n;

	assert_non_null(body);
	memset(body, 'b', blen);
	hlen = (size_t)snprintf(head, sizeof(head),
				"POST / HTTP/1.1\r\n" H "Content-Length: %zu\r\n\r\n", blen);
	rec_open(&r, CODEC_SERVER, NULL);
	r.no_consume = true;
	assert_int_equal(codec_input(r.c, (const uint8_t *)head, hlen), (ssize_t)hlen);
	n = codec_input(r.c, (const uint8_t *)body, blen);
	assert_int_equal(n, H1_FLOW_MAX);
	assert_false(codec_want_read(r.c));
	assert_int_equal(codec_input(r.c, (const uint8_t *)body + n, blen - (size_t)n), 0);
	taken = (size_t)n;
	while (taken < blen) {
		codec_consume(r.c, 1, r.held);
		r.held = 0;
		assert_true(codec_want_read(r.c));
		n = codec_input(r.c, (const uint8_t *)body + taken, blen - taken);
		assert_true(n > 0 && n <= H1_FLOW_MAX);
		taken += (size_t)n;
	}
	assert_int_equal(r.body.len, blen);
	assert_string_equal(strbuf_str(&r.log), "H1 POST / h=a cl=196608 e0|E1|");
	free(body);
	rec_close(&r);
}

/* submit_data takes at most H1_OUT_MAX queued bytes, then says writable once drained. */
static void test_h1_backpressure_output(void **state)
{
	static const char in[] = "GET / HTTP/1.1\r\n" H "\r\n";
	size_t blen = H1_OUT_MAX + 1000;
	uint8_t *body = calloc(1, blen);
	struct http_head resp;
	const uint8_t *p;
	struct rec r;
	ssize_t n;

	assert_non_null(body);
	rec_open(&r, CODEC_SERVER, NULL);
	assert_int_equal(feed(r.c, in, strlen(in), 0), (ssize_t)strlen(in));
	http_head_init(&resp, HTTP_RESPONSE, 0);
	resp.status = 200;
	resp.content_length = (int64_t)blen;
	assert_int_equal(codec_submit_head(r.c, &(uint32_t){1}, &resp, false), 0);
	n = codec_submit_data(r.c, 1, body, blen, true);
	assert_true(n > 0 && (size_t)n < blen);
	assert_int_equal(codec_submit_data(r.c, 1, body + n, blen - (size_t)n, true), 0);
	assert_string_equal(strbuf_str(&r.log), "H1 GET / h=a cl=-1 e1|");
	codec_output_done(r.c, codec_output(r.c, &p));
	assert_string_equal(strbuf_str(&r.log), "H1 GET / h=a cl=-1 e1|W1|");
	assert_int_equal(codec_submit_data(r.c, 1, body + n, blen - (size_t)n, true),
			 (ssize_t)blen - n);
	assert_int_equal(codec_submit_data(r.c, 1, body, 1, false), -ENOENT);
	http_head_fini(&resp);
	free(body);
	rec_close(&r);
}

/* Bytes held for a later pipelined response count against the bound too. */
static void test_h1_backpressure_held(void **state)
{
	static const char in[] = "GET /1 HTTP/1.1\r\n" H "\r\nGET /2 HTTP/1.1\r\n" H "\r\n";
	size_t blen = H1_OUT_MAX;
	uint8_t *body = calloc(1, blen);
	struct http_head resp;
	const uint8_t *p;
	struct rec r;
	ssize_t n;

	assert_non_null(body);
	rec_open(&r, CODEC_SERVER, NULL);
	assert_int_equal(feed(r.c, in, strlen(in), 0), (ssize_t)strlen(in));
	http_head_init(&resp, HTTP_RESPONSE, 0);
	resp.status = 200;
	resp.content_length = (int64_t)blen;
	assert_int_equal(codec_submit_head(r.c, &(uint32_t){3}, &resp, false), 0);
	n = codec_submit_data(r.c, 3, body, blen, true);
	assert_true(n > 0 && (size_t)n < blen);
	assert_int_equal(codec_output(r.c, &p), 0); /* all of it held behind /1 */
	assert_int_equal(codec_submit_data(r.c, 3, body + n, blen - (size_t)n, true), 0);
	respond(r.c, 1, 204, -1, NULL);
	codec_output_done(r.c, codec_output(r.c, &p));
	assert_string_equal(strbuf_str(&r.log),
			    "H1 GET /1 h=a cl=-1 e1|H3 GET /2 h=a cl=-1 e1|W3|");
	assert_int_equal(codec_submit_data(r.c, 3, body + n, blen - (size_t)n, true),
			 (ssize_t)blen - n);
	http_head_fini(&resp);
	free(body);
	rec_close(&r);
}

/* Hop-by-hop fields stay on their hop; the framing is in head->content_length. */
static void test_h1_hop_by_hop(void **state)
{
	static const char in[] = "POST / HTTP/1.1\r\n" H "Connection: keep-alive, x-trace\r\n"
				 "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
				 "TE: trailers\r\nUpgrade: h2c\r\nContent-Length: 1\r\n"
				 "X-Trace: 1\r\n\r\nz";
	static const char *const gone[] = {"connection", "keep-alive", "proxy-connection",
					   "te",	 "upgrade",    "host"};
	struct rec r;

	rec_open(&r, CODEC_SERVER, NULL);
	assert_int_equal(feed(r.c, in, strlen(in), 0), (ssize_t)strlen(in));
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		assert_null(http_head_get(&r.last, gone[i], strlen(gone[i]), NULL));
	assert_int_equal(r.last.content_length, 1);
	assert_string_equal(http_head_get(&r.last, "x-trace", 7, NULL), "1");
	rec_close(&r);
}

/* What a filter put in a head cannot split the message on the wire. */
static void test_h1_submit_invalid(void **state)
{
	static const char in[] = "GET / HTTP/1.1\r\n" H "\r\n";
	static const struct {
		const char *name, *value;
	} rows[] = {
	    {"x-a", "1\r\nSet-Cookie: evil"},
	    {"x-a", "a\nb"},
	    {"x a", "1"},
	    {"", "1"},
	    {"x:a", "1"},
	    {"x-a", "nul\x01"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct http_head resp;
		struct rec r;

		rec_open(&r, CODEC_SERVER, NULL);
		assert_int_equal(feed(r.c, in, strlen(in), 0), (ssize_t)strlen(in));
		http_head_init(&resp, HTTP_RESPONSE, 0);
		resp.status = 200;
		assert_int_equal(http_head_add(&resp, rows[i].name, strlen(rows[i].name),
					       rows[i].value, strlen(rows[i].value)),
				 0);
		assert_int_equal(codec_submit_head(r.c, &(uint32_t){1}, &resp, true), -EINVAL);
		http_head_fini(&resp);
		rec_close(&r);
	}
}

/* The client goes away mid-request: the stream is cancelled and the codec finishes. */
static void test_h1_server_eof(void **state)
{
	static const char in[] = "POST / HTTP/1.1\r\n" H "Content-Length: 9\r\n\r\nabc";
	struct rec r;

	rec_open(&r, CODEC_SERVER, NULL);
	assert_int_equal(feed(r.c, in, strlen(in), 0), (ssize_t)strlen(in));
	h1_input_eof(r.c);
	assert_string_equal(strbuf_str(&r.log), "H1 POST / h=a cl=9 e0|R1:8|");
	assert_true(codec_done(r.c));
	rec_close(&r);

	/* Idle keep-alive connection closed by the client: done, nothing raised. */
	rec_open(&r, CODEC_SERVER, NULL);
	h1_input_eof(r.c);
	assert_string_equal(strbuf_str(&r.log), "");
	assert_true(codec_done(r.c));
	rec_close(&r);
}

/* Answering from inside the head event (a direct response) works and keeps order. */
static void test_h1_answer_in_event(void **state)
{
	static const char in[] = "GET /1 HTTP/1.1\r\n" H "\r\nGET /2 HTTP/1.1\r\n" H "\r\n";
	struct strbuf out;
	struct rec r;

	rec_open(&r, CODEC_SERVER, NULL);
	strbuf_init(&out);
	r.auto_status = 404;
	for (size_t split = 0; split < strlen(in); split++) {
		/* (one codec across splits would see more requests: a fresh one each time) */
		rec_close(&r);
		rec_open(&r, CODEC_SERVER, NULL);
		r.auto_status = 404;
		assert_int_equal(feed(r.c, in, strlen(in), split), (ssize_t)strlen(in));
		drain(r.c, &out);
		assert_string_equal(strbuf_str(&out),
				    "HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nok"
				    "HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nok");
	}
	strbuf_fini(&out);
	rec_close(&r);
}

/* A stream reset from its own head event raises nothing more, and the connection ends. */
static void test_h1_reset_in_event(void **state)
{
	static const char in[] = "GET /0 HTTP/1.1\r\n" H "\r\nPOST / HTTP/1.1\r\n" H
				 "Content-Length: 6\r\n\r\nabcdefGET /2 HTTP/1.1\r\n" H "\r\n";
	struct strbuf out;
	const uint8_t *p;
	struct rec r;

	rec_open(&r, CODEC_SERVER, NULL);
	strbuf_init(&out);
	r.reset_in_head = 3;
	assert_true(codec_input(r.c, (const uint8_t *)in, strlen(in)) >= 0);
	/* The body belongs to nobody now: not to the earlier stream 1 either. */
	assert_string_equal(strbuf_str(&r.log), "H1 GET /0 h=a cl=-1 e1|H3 POST / h=a cl=6 e0|");
	assert_int_equal(r.body.len, 0);
	assert_int_equal(codec_output(r.c, &p), 0);
	assert_false(codec_done(r.c));
	assert_int_equal(codec_reset(r.c, 3, CODEC_E_CANCEL), -ENOENT);
	respond(r.c, 1, 200, 0, NULL);
	drain(r.c, &out);
	/* The last answer on this connection says so. */
	assert_string_equal(strbuf_str(&out),
			    "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
	assert_true(codec_done(r.c));
	strbuf_fini(&out);
	rec_close(&r);
}

/* Client role: a response before the request body ended means no reuse afterwards. */
static void test_h1_client_early_response(void **state)
{
	static const char resp[] = "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n";
	struct http_head req;
	struct strbuf out;
	uint32_t sid;
	struct rec r;

	rec_open(&r, CODEC_CLIENT, NULL);
	strbuf_init(&out);
	req_head(&req, "PUT", "/big");
	req.content_length = 10;
	assert_int_equal(http_head_add(&req, "expect", 6, "100-continue", 12), 0);
	assert_int_equal(codec_submit_head(r.c, &sid, &req, false), 0);
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "PUT /big HTTP/1.1\r\nhost: a\r\nexpect: 100-continue"
					      "\r\ncontent-length: 10\r\n\r\n");
	assert_int_equal(feed(r.c, resp, strlen(resp), 0), (ssize_t)strlen(resp));
	assert_string_equal(strbuf_str(&r.log), "H1 413 cl=0 e1|");
	assert_false(codec_can_open(r.c));
	assert_false(codec_done(r.c));
	/* More than declared is refused; the declared rest ends the stream, then the codec. */
	assert_int_equal(codec_submit_data(r.c, sid, (const uint8_t *)"01234567890", 11, true),
			 -EMSGSIZE);
	assert_int_equal(codec_submit_data(r.c, sid, (const uint8_t *)"0123456789", 10, true), 10);
	drain(r.c, &out);
	assert_string_equal(strbuf_str(&out), "0123456789");
	assert_true(codec_done(r.c));
	assert_false(codec_can_open(r.c));
	http_head_fini(&req);
	strbuf_fini(&out);
	rec_close(&r);
}

/* Client role: 100 Continue comes up as an informational head, then the body goes. */
static void test_h1_client_continue(void **state)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	static const char fin[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
	struct http_head req;
	uint32_t sid;
	struct rec r;

	rec_open(&r, CODEC_CLIENT, NULL);
	req_head(&req, "PUT", "/u");
	req.content_length = 3;
	assert_int_equal(codec_submit_head(r.c, &sid, &req, false), 0);
	assert_int_equal(feed(r.c, cont, strlen(cont), 0), (ssize_t)strlen(cont));
	assert_string_equal(strbuf_str(&r.log), "H1 100 cl=-1 e0|");
	assert_int_equal(codec_submit_data(r.c, sid, (const uint8_t *)"abc", 3, true), 3);
	assert_int_equal(feed(r.c, fin, strlen(fin), 0), (ssize_t)strlen(fin));
	assert_string_equal(strbuf_str(&r.log), "H1 100 cl=-1 e0|H1 201 cl=0 e1|");
	assert_true(codec_can_open(r.c));
	http_head_fini(&req);
	rec_close(&r);
}

/* HTTP/1.0 clients never see a 1xx (RFC 9110 15.2). */
static void test_h1_no_1xx_to_http10(void **state)
{
	static const char in[] = "POST / HTTP/1.0\r\nContent-Length: 1\r\n\r\n";
	struct http_head cont;
	const uint8_t *p;
	struct rec r;

	rec_open(&r, CODEC_SERVER, NULL);
	assert_int_equal(feed(r.c, in, strlen(in), 0), (ssize_t)strlen(in));
	http_head_init(&cont, HTTP_RESPONSE, 0);
	cont.status = 100;
	assert_int_equal(codec_submit_head(r.c, &(uint32_t){1}, &cont, false), 0);
	assert_int_equal(codec_output(r.c, &p), 0);
	http_head_fini(&cont);
	rec_close(&r);
}

/* ---- sniffing ---- */

static void test_sniff_proto(void **state)
{
	static const struct {
		const char *in;
		size_t len; /* 0: strlen */
		enum sniff_result want;
	} rows[] = {
	    {"", 0, SNIFF_NEED_MORE},
	    {"G", 0, SNIFF_NEED_MORE},
	    {"GET", 0, SNIFF_NEED_MORE},
	    {"GET ", 0, SNIFF_HTTP1},
	    {"POST /x HTTP/1.1\r\n", 0, SNIFF_HTTP1},
	    {"M-SEARCH * HTTP/1.1", 0, SNIFF_HTTP1},
	    {"PRI", 0, SNIFF_NEED_MORE},
	    {"PRI * HTTP/2.0\r\n", 0, SNIFF_NEED_MORE},
	    {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, SNIFF_H2},
	    {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04", 28, SNIFF_H2},
	    {"PRI * HTTP/1.1\r\n", 0, SNIFF_HTTP1},
	    {"\x16\x03\x01\x02\x00", 5, SNIFF_OTHER}, /* TLS ClientHello */
	    {"SSH-2.0-OpenSSH_9.6\r\n", 0, SNIFF_OTHER},
	    {" GET /", 0, SNIFF_OTHER},
	    {"GET\t/", 0, SNIFF_OTHER},
	    {"\0\0\0\0", 4, SNIFF_OTHER},
	    {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0, SNIFF_OTHER},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len = rows[i].len ? rows[i].len : strlen(rows[i].in);

		if (sniff_proto((const uint8_t *)rows[i].in, len) != rows[i].want)
			fail_msg("row %zu: got %d", i,
				 sniff_proto((const uint8_t *)rows[i].in, len));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_h1_server_basic),
	    cmocka_unit_test(test_h1_server_requests),
	    cmocka_unit_test(test_h1_client_responses),
	    cmocka_unit_test(test_h1_client_request_wire),
	    cmocka_unit_test(test_h1_client_eof),
	    cmocka_unit_test(test_h1_round_trip),
	    cmocka_unit_test(test_h1_pipeline_order),
	    cmocka_unit_test(test_h1_pipeline_bound),
	    cmocka_unit_test(test_h1_pipeline_error_order),
	    cmocka_unit_test(test_h1_keep_alive),
	    cmocka_unit_test(test_h1_response_framing),
	    cmocka_unit_test(test_h1_head_length),
	    cmocka_unit_test(test_h1_expect_continue),
	    cmocka_unit_test(test_h1_upgrade),
	    cmocka_unit_test(test_h1_connect),
	    cmocka_unit_test(test_h1_client_upgrade),
	    cmocka_unit_test(test_h1_backpressure_input),
	    cmocka_unit_test(test_h1_backpressure_output),
	    cmocka_unit_test(test_h1_backpressure_held),
	    cmocka_unit_test(test_h1_hop_by_hop),
	    cmocka_unit_test(test_h1_submit_invalid),
	    cmocka_unit_test(test_h1_server_eof),
	    cmocka_unit_test(test_h1_answer_in_event),
	    cmocka_unit_test(test_h1_reset_in_event),
	    cmocka_unit_test(test_h1_client_early_response),
	    cmocka_unit_test(test_h1_client_continue),
	    cmocka_unit_test(test_h1_no_1xx_to_http10),
	    cmocka_unit_test(test_sniff_proto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
