// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for proxy/h2 (the HTTP/2 codec): a client codec and a server codec wired back to
 * back in memory for exchanges, trailers, concurrency, resets, flow control and shutdown; and
 * a server codec fed hand-built frames for each abuse case, asserting what it writes back
 * (RST_STREAM and GOAWAY codes) and that it is done.
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

#include "proxy/codec.h"

#define MAXS 256

/* What one codec raised, by stream. */
struct rec {
	struct codec *c;
	unsigned heads[MAXS], ends[MAXS], trailers[MAXS], writable[MAXS];
	int resets[MAXS]; /* last codec_err + 1, 0: none */
	size_t bytes[MAXS];
	uint16_t status[MAXS];
	char path[MAXS][64], authority[MAXS][64], te[MAXS][16], trailer_val[MAXS][16];
	uint32_t last_sid;
	unsigned goaways, nheads;
	bool auto_consume;
	/* Server: answer every request with 431 from inside the reset event, if set. */
};

static struct rec *recs_of(void *arg)
{
	return arg;
}

static void copy_str(char *dst, size_t n, const struct http_head *h, struct http_str s)
{
	snprintf(dst, n, "%s", http_str_ptr(h, s));
}

static void ev_head(void *arg, uint32_t sid, struct http_head *h, bool end)
{
	struct rec *r = recs_of(arg);
	const char *te;

	sid %= MAXS; /* the abuse tests open more streams; only counts matter there */
	r->heads[sid]++;
	r->nheads++;
	r->last_sid = sid;
	r->status[sid] = h->status;
	copy_str(r->path[sid], sizeof(r->path[sid]), h, h->path);
	copy_str(r->authority[sid], sizeof(r->authority[sid]), h, h->authority);
	te = http_head_get(h, "te", 2, NULL);
	snprintf(r->te[sid], sizeof(r->te[sid]), "%s", te ? te : "");
	if (end)
		r->ends[sid]++;
}

static void ev_data(void *arg, uint32_t sid, const uint8_t *buf, size_t len, bool end)
{
	struct rec *r = recs_of(arg);

	if (r->auto_consume && len)
		codec_consume(r->c, sid, len);
	r->bytes[sid % MAXS] += len;
	if (end)
		r->ends[sid % MAXS]++;
}

static void ev_trailers(void *arg, uint32_t sid, struct http_head *t)
{
	struct rec *r = recs_of(arg);
	const char *v = http_head_get(t, "grpc-status", 11, NULL);

	sid %= MAXS;
	r->trailers[sid]++;
	snprintf(r->trailer_val[sid], sizeof(r->trailer_val[sid]), "%s", v ? v : "");
}

static void ev_reset(void *arg, uint32_t sid, enum codec_err err)
{
	struct rec *r = recs_of(arg);

	r->resets[sid % MAXS] = (int)err + 1;
}

static void ev_writable(void *arg, uint32_t sid)
{
	recs_of(arg)->writable[sid % MAXS]++;
}

static void ev_goaway(void *arg)
{
	recs_of(arg)->goaways++;
}

static const struct codec_events events = {
    .head = ev_head,
    .data = ev_data,
    .trailers = ev_trailers,
    .reset = ev_reset,
    .writable = ev_writable,
    .goaway = ev_goaway,
};

struct pair {
	struct rec cli, srv;
};

static struct pair *pair_new(const struct codec_limits *cl, const struct codec_limits *sl)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->cli.c = codec_new(&codec_h2, CODEC_CLIENT, cl, &events, &p->cli);
	p->srv.c = codec_new(&codec_h2, CODEC_SERVER, sl, &events, &p->srv);
	assert_non_null(p->cli.c);
	assert_non_null(p->srv.c);
	p->cli.auto_consume = p->srv.auto_consume = true;
	return p;
}

static void pair_free(struct pair *p)
{
	codec_free(p->cli.c);
	codec_free(p->srv.c);
	free(p);
}

/* Moves all output of <from> into <to>. Returns how many bytes moved. */
static size_t xfer(struct codec *from, struct codec *to)
{
	const uint8_t *b;
	size_t n, moved = 0;

	while ((n = codec_output(from, &b)) > 0) {
		ssize_t got = codec_input(to, b, n);

		assert_true(got >= 0);
		assert_int_equal((size_t)got, n);
		codec_output_done(from, n);
		moved += n;
	}
	return moved;
}

static void pump(struct pair *p)
{
	for (int i = 0; i < 1000; i++)
		if (!xfer(p->cli.c, p->srv.c) && !xfer(p->srv.c, p->cli.c))
			return;
	fail_msg("pair never settled");
}

static void head_req(struct http_head *h, const char *method, const char *path)
{
	http_head_init(h, HTTP_REQUEST, 0);
	assert_int_equal(http_head_str(h, method, strlen(method), &h->method), 0);
	assert_int_equal(http_head_str(h, "http", 4, &h->scheme), 0);
	assert_int_equal(http_head_str(h, "svc.ns", 6, &h->authority), 0);
	assert_int_equal(http_head_str(h, path, strlen(path), &h->path), 0);
}

static void head_resp(struct http_head *h, uint16_t status)
{
	http_head_init(h, HTTP_RESPONSE, 0);
	h->status = status;
}

static void test_h2_request_response(void **state)
{
	struct pair *p = pair_new(NULL, NULL);
	struct http_head req, resp;
	uint32_t sid = 0;

	head_req(&req, "POST", "/a?b=1");
	assert_int_equal(http_head_add(&req, "Connection", 10, "keep-alive", 10), 0);
	assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, false), 0);
	assert_int_equal(sid, 1);
	assert_int_equal(codec_submit_data(p->cli.c, sid, (const uint8_t *)"hello", 5, true), 5);
	pump(p);
	assert_int_equal(p->srv.heads[1], 1);
	assert_string_equal(p->srv.path[1], "/a?b=1");
	assert_string_equal(p->srv.authority[1], "svc.ns");
	assert_int_equal(p->srv.bytes[1], 5);
	assert_int_equal(p->srv.ends[1], 1);
	assert_int_equal(codec_streams(p->srv.c), 1);

	head_resp(&resp, 200);
	assert_int_equal(codec_submit_head(p->srv.c, &sid, &resp, false), 0);
	assert_int_equal(codec_submit_data(p->srv.c, sid, (const uint8_t *)"worldwide", 9, true),
			 9);
	pump(p);
	assert_int_equal(p->cli.heads[1], 1);
	assert_int_equal(p->cli.status[1], 200);
	assert_int_equal(p->cli.bytes[1], 9);
	assert_int_equal(p->cli.ends[1], 1);
	assert_int_equal(p->cli.resets[1], 0);
	assert_int_equal(p->srv.resets[1], 0);
	assert_int_equal(codec_streams(p->cli.c), 0);
	assert_int_equal(codec_streams(p->srv.c), 0);
	/* A response to a stream that is gone. */
	assert_int_equal(codec_submit_head(p->srv.c, &sid, &resp, true), -ENOENT);
	http_head_fini(&req);
	http_head_fini(&resp);
	pair_free(p);
}

static void test_h2_informational_and_trailers(void **state)
{
	struct pair *p = pair_new(NULL, NULL);
	struct http_head req, resp, tr;
	uint32_t sid = 0;

	head_req(&req, "POST", "/pkg.Svc/Call");
	assert_int_equal(http_head_add(&req, "te", 2, "trailers", 8), 0);
	assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, false), 0);
	assert_int_equal(codec_submit_data(p->cli.c, sid, (const uint8_t *)"\0\0\0\0\0", 5, false),
			 5);
	http_head_init(&tr, HTTP_TRAILERS, 0);
	assert_int_equal(http_head_add(&tr, "grpc-status", 11, "3", 1), 0);
	assert_int_equal(codec_submit_trailers(p->cli.c, sid, &tr), 0);
	/* Nothing may follow trailers. */
	assert_int_equal(codec_submit_data(p->cli.c, sid, (const uint8_t *)"x", 1, false), -EINVAL);
	pump(p);
	assert_string_equal(p->srv.te[1], "trailers");
	assert_int_equal(p->srv.bytes[1], 5);
	assert_int_equal(p->srv.trailers[1], 1);
	assert_string_equal(p->srv.trailer_val[1], "3");

	head_resp(&resp, 100);
	assert_int_equal(codec_submit_head(p->srv.c, &sid, &resp, false), 0);
	resp.status = 200;
	assert_int_equal(codec_submit_head(p->srv.c, &sid, &resp, false), 0);
	assert_int_equal(codec_submit_data(p->srv.c, sid, (const uint8_t *)"abc", 3, false), 3);
	http_head_reset(&tr, HTTP_TRAILERS);
	assert_int_equal(http_head_add(&tr, "grpc-status", 11, "0", 1), 0);
	assert_int_equal(codec_submit_trailers(p->srv.c, sid, &tr), 0);
	pump(p);
	assert_int_equal(p->cli.heads[1], 2); /* 100, then 200 */
	assert_int_equal(p->cli.status[1], 200);
	assert_int_equal(p->cli.bytes[1], 3);
	assert_int_equal(p->cli.trailers[1], 1);
	assert_string_equal(p->cli.trailer_val[1], "0");
	assert_int_equal(p->cli.resets[1], 0);
	assert_int_equal(codec_streams(p->cli.c), 0);
	http_head_fini(&req);
	http_head_fini(&resp);
	http_head_fini(&tr);
	pair_free(p);
}

static void test_h2_many_streams(void **state)
{
	struct codec_limits sl = {.max_concurrent_streams = 40};
	struct pair *p = pair_new(NULL, &sl);
	struct http_head req, resp;
	uint32_t sid;
	int opened = 0;

	head_req(&req, "GET", "/x");
	head_resp(&resp, 204);
	pump(p); /* SETTINGS exchanged: the client learns the limit of 40 */
	while (codec_can_open(p->cli.c)) {
		assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, true), 0);
		opened++;
	}
	assert_int_equal(opened, 40);
	assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, true), -EAGAIN);
	pump(p);
	assert_int_equal(p->srv.nheads, 40);
	assert_int_equal(codec_streams(p->srv.c), 40);
	for (sid = 1; sid < 80; sid += 2)
		assert_int_equal(codec_submit_head(p->srv.c, &sid, &resp, true), 0);
	pump(p);
	for (sid = 1; sid < 80; sid += 2) {
		assert_int_equal(p->cli.status[sid], 204);
		assert_int_equal(p->cli.ends[sid], 1);
	}
	assert_true(codec_can_open(p->cli.c));
	http_head_fini(&req);
	http_head_fini(&resp);
	pair_free(p);
}

static void test_h2_reset_both_ways(void **state)
{
	struct pair *p = pair_new(NULL, NULL);
	struct http_head req;
	uint32_t a = 0, b = 0;

	head_req(&req, "POST", "/r");
	assert_int_equal(codec_submit_head(p->cli.c, &a, &req, false), 0);
	assert_int_equal(codec_submit_head(p->cli.c, &b, &req, false), 0);
	pump(p);
	assert_int_equal(codec_reset(p->cli.c, a, CODEC_E_CANCEL), 0);
	assert_int_equal(codec_reset(p->srv.c, b, CODEC_E_REFUSED), 0);
	pump(p);
	assert_int_equal(p->srv.resets[a], CODEC_E_CANCEL + 1);
	assert_int_equal(p->cli.resets[b], CODEC_E_REFUSED + 1);
	/* The side that reset hears nothing back. */
	assert_int_equal(p->cli.resets[a], 0);
	assert_int_equal(p->srv.resets[b], 0);
	assert_int_equal(codec_streams(p->cli.c), 0);
	assert_int_equal(codec_streams(p->srv.c), 0);
	assert_int_equal(codec_reset(p->cli.c, a, CODEC_E_CANCEL), -ENOENT);
	http_head_fini(&req);
	pair_free(p);
}

static void test_h2_flow_control(void **state)
{
	static uint8_t body[300000];
	struct pair *p = pair_new(NULL, NULL);
	struct http_head req;
	size_t sent = 0;
	ssize_t n;
	uint32_t sid = 0;

	p->srv.auto_consume = false; /* a receiver whose upstream is slow */
	head_req(&req, "POST", "/upload");
	pump(p);
	assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, false), 0);
	for (int i = 0; i < 100; i++) {
		n = codec_submit_data(p->cli.c, sid, body + sent, sizeof(body) - sent, false);
		assert_true(n >= 0);
		sent += (size_t)n;
		pump(p);
	}
	/* Stalled at the stream window (65535) plus the small queue, not at 300000. */
	assert_int_equal(p->srv.bytes[sid], 65535);
	assert_true(sent >= 65535 && sent <= 65535 + 4096);
	assert_int_equal(codec_submit_data(p->cli.c, sid, body, 1, false), 0);
	assert_int_equal(p->cli.writable[sid], 0);
	codec_consume(p->srv.c, sid, 65535);
	pump(p);
	assert_int_equal(p->cli.writable[sid], 1);
	n = codec_submit_data(p->cli.c, sid, body, 100000, false);
	assert_true(n > 0);
	pump(p);
	assert_true(p->srv.bytes[sid] > 65535);
	http_head_fini(&req);
	pair_free(p);
}

/*
 * Drain: GOAWAY in two steps. A request the client sent before it read the first GOAWAY
 * is served, not refused (it was on the wire: refusing it is what the final GOAWAY after
 * the PING round trip avoids); after the GOAWAY the client opens nothing.
 */
static void test_h2_shutdown(void **state)
{
	struct pair *p = pair_new(NULL, NULL);
	struct http_head req, resp;
	uint32_t sid = 0, late = 0, sid2 = 0;

	head_req(&req, "GET", "/s");
	head_resp(&resp, 200);
	assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, true), 0);
	pump(p);
	codec_shutdown(p->srv.c);
	/* A request the server has not seen when it says GOAWAY. */
	assert_int_equal(codec_submit_head(p->cli.c, &late, &req, true), 0);
	assert_int_equal(late, 3);
	assert_false(codec_done(p->srv.c)); /* stream 1 is in flight */
	pump(p);
	/* The notice and the final GOAWAY (after the PING ack) both reached the client. */
	assert_int_equal(p->cli.goaways, 2);
	assert_false(codec_can_open(p->cli.c));
	assert_int_equal(codec_submit_head(p->cli.c, &sid2, &req, true), -EAGAIN);
	assert_int_equal(p->cli.resets[3], 0);
	assert_int_equal(p->srv.heads[3], 1);
	assert_false(codec_done(p->srv.c));
	assert_int_equal(codec_submit_head(p->srv.c, &sid, &resp, true), 0);
	assert_int_equal(codec_submit_head(p->srv.c, &late, &resp, true), 0);
	pump(p);
	assert_int_equal(p->cli.status[1], 200);
	assert_int_equal(p->cli.status[3], 200);
	assert_true(codec_done(p->srv.c));
	assert_true(codec_done(p->cli.c));
	http_head_fini(&req);
	http_head_fini(&resp);
	pair_free(p);
}

/* Goes quiet within two tries (the first may have to return owed credit). */
static void go_quiet(struct pair *p)
{
	for (int i = 0; i < 2; i++) {
		if (codec_quiet(p->srv.c) == 1)
			return;
		pump(p);
	}
	fail_msg("the server did not go quiet");
}

/*
 * A quiet server connection (its nghttp2 session freed, h2_quiet()) continues exactly where
 * it stopped: five rounds of a request and a response each larger than every window go
 * through it, so a window or a SETTINGS value the new session did not learn would stall a
 * transfer or break flow control, and lost connection credit would stall a later round
 * (5 x 250 KB passes the 1 MiB connection windows). The client side is nghttp2 too.
 */
static void quiet_rounds(const struct codec_limits *cl, const struct codec_limits *sl, bool slow)
{
	static uint8_t body[250000];
	struct pair *p = pair_new(cl, sl);
	struct http_head req, resp;
	uint32_t sid = 0, rsid;
	size_t off, done;
	ssize_t n;
	int i;

	memset(body, 'b', sizeof(body));
	head_req(&req, "POST", "/up");
	assert_int_equal(http_head_add(&req, "x-user", 6, "jason-and-a-long-value", 22), 0);
	head_resp(&resp, 200);
	/* Not before the client acked our SETTINGS (its encoder must know: no HPACK table). */
	assert_int_equal(codec_quiet(p->srv.c), 0);
	pump(p);
	for (int round = 0; round < 5; round++) {
		go_quiet(p);
		assert_int_equal(codec_quiet(p->srv.c), 2); /* quiet stays quiet */
		assert_false(codec_done(p->srv.c));
		assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, false), 0);
		for (off = 0, i = 0; off < sizeof(body); i++) {
			if (i == 1000)
				fail_msg("round %d: the request body stalled at %zu", round, off);
			n = codec_submit_data(p->cli.c, sid, body + off, sizeof(body) - off, true);
			assert_true(n >= 0);
			off += (size_t)n;
			pump(p);
		}
		assert_int_equal(p->srv.heads[sid], 1);
		assert_int_equal(p->srv.bytes[sid], sizeof(body));
		assert_int_equal(p->srv.ends[sid], 1);
		/* While a stream is open the session stays. */
		assert_int_equal(codec_quiet(p->srv.c), 0);
		rsid = sid;
		assert_int_equal(codec_submit_head(p->srv.c, &rsid, &resp, false), 0);
		/* A slow client takes what arrived only after a whole exchange of bytes, so a
		 * server sending past the client's true window is caught (nghttp2 client:
		 * FLOW_CONTROL_ERROR), not hidden by credit returned mid-read. */
		p->cli.auto_consume = !slow;
		for (off = 0, done = 0, i = 0; p->cli.bytes[sid] < sizeof(body); i++) {
			if (i == 1000)
				fail_msg("round %d: the response body stalled at %zu", round, off);
			if (off < sizeof(body)) {
				n = codec_submit_data(p->srv.c, sid, body + off, sizeof(body) - off,
						      true);
				assert_true(n >= 0);
				off += (size_t)n;
			}
			pump(p);
			if (slow && p->cli.bytes[sid] > done) {
				codec_consume(p->cli.c, sid, p->cli.bytes[sid] - done);
				done = p->cli.bytes[sid];
				pump(p);
			}
		}
		assert_int_equal(p->cli.goaways, 0);
		assert_int_equal(p->cli.status[sid], 200);
		assert_int_equal(p->cli.bytes[sid], sizeof(body));
		assert_int_equal(p->cli.ends[sid], 1);
		assert_int_equal(p->cli.resets[sid] + p->srv.resets[sid], 0);
	}
	assert_int_equal(codec_quiet(p->cli.c), 0); /* clients never go quiet */
	/* A drain that finds the connection quiet still says goodbye (the second GOAWAY
	 * goes out too; an nghttp2 client with no stream open stops reading after the first). */
	go_quiet(p);
	codec_shutdown(p->srv.c);
	pump(p);
	assert_true(p->cli.goaways >= 1);
	assert_true(codec_done(p->srv.c));
	assert_true(codec_done(p->cli.c));
	http_head_fini(&req);
	http_head_fini(&resp);
	pair_free(p);
}

static void test_h2_quiet_and_wake(void **state)
{
	struct codec_limits cl = {.stream_window = 200000}, sl = {.stream_window = 300000};

	quiet_rounds(&cl, &sl, false);
}

/*
 * A client with the smallest connection window returns credit late, so the server often
 * goes quiet owed some: the new session's view of that window is too large (it cannot be
 * told less than 65535) and the codec must hold the difference back itself, or the client
 * sees a flow-control error.
 */
static void test_h2_quiet_small_peer_window(void **state)
{
	struct codec_limits cl = {.conn_window = 65535};

	quiet_rounds(&cl, NULL, true);
}

/* A quiet server that meets a peer breaking the protocol fails as an awake one does. */
static void test_h2_quiet_then_garbage(void **state)
{
	static const uint8_t junk[] = {0, 0, 4, 0xee, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 1};
	struct pair *p = pair_new(NULL, NULL);
	const uint8_t *b;

	pump(p);
	go_quiet(p);
	/* An unknown frame type is ignored (RFC 9113 4.1); DATA on stream 0 is not. */
	assert_int_equal(codec_input(p->srv.c, junk, 13), 13);
	assert_false(codec_done(p->srv.c));
	static const uint8_t data0[] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 'x'};
	(void)codec_input(p->srv.c, data0, sizeof(data0)); /* nghttp2 may say it consumed them */
	assert_true(codec_output(p->srv.c, &b) > 0);	   /* its GOAWAY */
	assert_true(codec_done(p->srv.c));
	pair_free(p);
}

static void test_h2_oversize_head_431(void **state)
{
	struct codec_limits sl = {.max_header_bytes = 1024};
	struct pair *p = pair_new(NULL, &sl);
	struct http_head req;
	char big[3000];
	uint32_t sid = 0;

	memset(big, 'v', sizeof(big));
	head_req(&req, "GET", "/big");
	assert_int_equal(http_head_add(&req, "x-big", 5, big, sizeof(big)), 0);
	assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, true), 0);
	pump(p);
	assert_int_equal(p->srv.heads[sid], 0);
	assert_int_equal(p->srv.resets[sid], CODEC_E_HEADER_SIZE + 1);
	assert_int_equal(p->cli.status[sid], 431);
	assert_int_equal(p->cli.ends[sid], 1);
	assert_int_equal(codec_streams(p->srv.c), 0);
	http_head_fini(&req);
	pair_free(p);
}

/* ---- raw frames against a server codec ---- */

struct raw {
	uint8_t b[1 << 20];
	size_t n;
};

static void raw_frame(struct raw *r, uint8_t type, uint8_t flags, uint32_t sid, const void *pl,
		      size_t len)
{
	uint8_t *f = r->b + r->n;

	assert_true(r->n + 9 + len <= sizeof(r->b));
	f[0] = (uint8_t)(len >> 16);
	f[1] = (uint8_t)(len >> 8);
	f[2] = (uint8_t)len;
	f[3] = type;
	f[4] = flags;
	f[5] = (uint8_t)(sid >> 24);
	f[6] = (uint8_t)(sid >> 16);
	f[7] = (uint8_t)(sid >> 8);
	f[8] = (uint8_t)sid;
	if (len)
		memcpy(f + 9, pl, len);
	r->n += 9 + len;
}

/* HPACK integer with a <prefix>-bit prefix (RFC 7541 5.1). */
static size_t hpack_int(uint8_t *o, uint8_t first, unsigned prefix, size_t v)
{
	size_t max = (1u << prefix) - 1, n = 0;

	if (v < max) {
		o[n++] = first | (uint8_t)v;
		return n;
	}
	o[n++] = first | (uint8_t)max;
	v -= max;
	while (v >= 128) {
		o[n++] = (uint8_t)(v % 128 + 128);
		v /= 128;
	}
	o[n++] = (uint8_t)v;
	return n;
}

/* A literal header field without indexing, no Huffman (RFC 7541 6.2.2). */
static size_t hpack_lit(uint8_t *o, const char *name, const char *value)
{
	size_t n = 0, nl = strlen(name), vl = strlen(value);

	o[n++] = 0;
	n += hpack_int(o + n, 0, 7, nl);
	memcpy(o + n, name, nl);
	n += nl;
	n += hpack_int(o + n, 0, 7, vl);
	memcpy(o + n, value, vl);
	return n + vl;
}

/* A header block of name/value pairs ending in NULL. */
static size_t hpack_block(uint8_t *o, const char *const *nv)
{
	size_t n = 0;

	for (; nv[0]; nv += 2)
		n += hpack_lit(o + n, nv[0], nv[1]);
	return n;
}

static const char *const get_req[] = {":method", "GET",	       ":scheme", "http", ":path",
				      "/",	 ":authority", "a",	  NULL};

static void raw_start(struct raw *r)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

	r->n = 0;
	memcpy(r->b, preface, 24);
	r->n = 24;
	raw_frame(r, 0x4, 0, 0, NULL, 0); /* SETTINGS, empty */
}

static void raw_headers(struct raw *r, uint32_t sid, const char *const *nv, uint8_t flags)
{
	uint8_t blk[4096];
	size_t n = hpack_block(blk, nv);

	raw_frame(r, 0x1, flags, sid, blk, n);
}

/* Scans <out> for frames: the last GOAWAY code (-1 if none), RST_STREAM code of <sid>. */
struct scan {
	int goaway, rst, nrst, headers_of_sid;
};

static struct scan scan_out(struct codec *c, uint32_t sid)
{
	struct scan s = {-1, -1, 0, 0};
	const uint8_t *b;
	size_t n = codec_output(c, &b), off = 0;

	while (off + 9 <= n) {
		size_t len = (size_t)b[off] << 16 | (size_t)b[off + 1] << 8 | b[off + 2];
		uint8_t type = b[off + 3];
		uint32_t id = (uint32_t)(b[off + 5] & 0x7f) << 24 | (uint32_t)b[off + 6] << 16 |
			      (uint32_t)b[off + 7] << 8 | b[off + 8];
		const uint8_t *pl = b + off + 9;

		assert_true(off + 9 + len <= n);
		if (type == 0x7 && len >= 8)
			s.goaway = (int)((uint32_t)pl[4] << 24 | (uint32_t)pl[5] << 16 |
					 (uint32_t)pl[6] << 8 | pl[7]);
		if (type == 0x3 && len == 4) {
			s.nrst++;
			if (id == sid)
				s.rst = (int)((uint32_t)pl[0] << 24 | (uint32_t)pl[1] << 16 |
					      (uint32_t)pl[2] << 8 | pl[3]);
		}
		if (type == 0x1 && id == sid)
			s.headers_of_sid++;
		off += 9 + len;
	}
	codec_output_done(c, n);
	return s;
}

static struct codec *raw_server(struct rec *r, const struct codec_limits *lim)
{
	memset(r, 0, sizeof(*r));
	r->c = codec_new(&codec_h2, CODEC_SERVER, lim, &events, r);
	assert_non_null(r->c);
	return r->c;
}

static struct raw raw;

static void test_h2_abuse_control_floods(void **state)
{
	static const uint8_t ping[8] = "weirweir";
	struct rec r;

	for (int kind = 0; kind < 2; kind++) {
		struct codec *c = raw_server(&r, NULL);

		raw_start(&raw);
		/* The peer never reads: 2000 acks owed against a bound of 1000. */
		for (int i = 0; i < 2000; i++) {
			if (kind == 0)
				raw_frame(&raw, 0x4, 0, 0, NULL, 0);
			else
				raw_frame(&raw, 0x6, 0, 0, ping, 8);
		}
		assert_true(codec_input(c, raw.b, raw.n) < 0);
		assert_true(codec_done(c));
		assert_int_equal(scan_out(c, 0).goaway, 11); /* ENHANCE_YOUR_CALM */
		codec_free(c);
	}
	/* A peer that reads its acks may ping on: the bound is on what is owed. */
	struct codec *c = raw_server(&r, NULL);

	raw_start(&raw);
	assert_int_equal(codec_input(c, raw.b, raw.n), (ssize_t)raw.n);
	for (int i = 0; i < 30; i++) {
		raw.n = 0;
		for (int j = 0; j < 100; j++)
			raw_frame(&raw, 0x6, 0, 0, ping, 8);
		assert_int_equal(codec_input(c, raw.b, raw.n), (ssize_t)raw.n);
		assert_int_equal(scan_out(c, 0).goaway, -1);
	}
	assert_false(codec_done(c));
	codec_free(c);
}

static void test_h2_abuse_rapid_reset(void **state)
{
	static const uint8_t cancel[4] = {0, 0, 0, 8};
	struct rec r;
	struct codec *c = raw_server(&r, NULL);
	uint32_t sid;

	raw_start(&raw);
	for (sid = 1; sid < 2 * 300; sid += 2) {
		raw_headers(&raw, sid, get_req, 0x4 | 0x1);
		raw_frame(&raw, 0x3, 0, sid, cancel, 4);
	}
	assert_true(codec_input(c, raw.b, raw.n) < 0);
	assert_true(codec_done(c));
	assert_int_equal(scan_out(c, 0).goaway, 11);
	/* The first 200 were let through: the bound counts, it does not forbid resets. */
	assert_true(r.nheads >= 200 && r.nheads <= 201);
	codec_free(c);
}

static void test_h2_abuse_continuation_flood(void **state)
{
	struct rec r;
	struct codec *c = raw_server(&r, NULL);
	uint8_t blk[64];
	size_t n;

	raw_start(&raw);
	n = hpack_block(blk, get_req);
	raw_frame(&raw, 0x1, 0, 1, blk, n); /* HEADERS without END_HEADERS */
	for (int i = 0; i < 40; i++) {
		n = hpack_lit(blk, "x-pad", "p");
		raw_frame(&raw, 0x9, 0, 1, blk, n);
	}
	assert_true(codec_input(c, raw.b, raw.n) < 0);
	assert_true(codec_done(c));
	assert_int_equal(scan_out(c, 0).goaway, 11);
	assert_int_equal(r.nheads, 0);
	codec_free(c);
}

static void test_h2_abuse_empty_data(void **state)
{
	static const char *const post[] = {":method", "POST",	    ":scheme", "http", ":path",
					   "/",	      ":authority", "a",       NULL};
	struct rec r;
	struct codec *c = raw_server(&r, NULL);

	raw_start(&raw);
	raw_headers(&raw, 1, post, 0x4);
	for (int i = 0; i < 500; i++)
		raw_frame(&raw, 0x0, 0, 1, NULL, 0);
	assert_true(codec_input(c, raw.b, raw.n) < 0);
	assert_true(codec_done(c));
	assert_int_equal(scan_out(c, 0).goaway, 11);
	codec_free(c);
}

static void test_h2_abuse_too_many_streams(void **state)
{
	struct codec_limits lim = {.max_concurrent_streams = 10};
	struct rec r;
	struct codec *c = raw_server(&r, &lim);
	struct scan s;

	raw_start(&raw);
	/* Our SETTINGS is not acked: only our own count holds the peer back. */
	for (uint32_t sid = 1; sid <= 23; sid += 2)
		raw_headers(&raw, sid, get_req, 0x4);
	assert_int_equal(codec_input(c, raw.b, raw.n), (ssize_t)raw.n);
	assert_int_equal(r.nheads, 10);
	assert_int_equal(codec_streams(c), 10);
	s = scan_out(c, 21);
	assert_int_equal(s.rst, 7); /* REFUSED_STREAM */
	assert_int_equal(s.goaway, -1);
	assert_false(codec_done(c));
	codec_free(c);
}

/* Each malformed request: a stream error (RST_STREAM PROTOCOL_ERROR), never a head event. */
static void test_h2_malformed_requests(void **state)
{
	static const char *const cases[][12] = {
	    {":method", "GET", ":scheme", "http", ":authority", "a", NULL},
	    {":method", "GET", ":scheme", "http", ":path", "/", "connection", "close", NULL},
	    {":method", "GET", ":scheme", "http", ":path", "/", "X-Upper", "1", NULL},
	    {":method", "GET", ":path", "/", ":path", "/b", NULL},
	    {":method", "GET", ":scheme", "http", ":path", "/", "te", "gzip", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec r;
		struct codec *c = raw_server(&r, NULL);

		raw_start(&raw);
		raw_headers(&raw, 1, cases[i], 0x4 | 0x1);
		assert_int_equal(codec_input(c, raw.b, raw.n), (ssize_t)raw.n);
		assert_int_equal(r.nheads, 0);
		assert_int_equal(scan_out(c, 1).rst, 1);
		assert_false(codec_done(c));
		codec_free(c);
	}
}

static void test_h2_host_is_authority(void **state)
{
	static const char *const nv[] = {":method", "GET",  ":scheme", "http", ":path",
					 "/h",	    "host", "b.ns",    NULL};
	struct rec r;
	struct codec *c = raw_server(&r, NULL);

	raw_start(&raw);
	raw_headers(&raw, 1, nv, 0x4 | 0x1);
	assert_int_equal(codec_input(c, raw.b, raw.n), (ssize_t)raw.n);
	assert_int_equal(r.heads[1], 1);
	assert_string_equal(r.authority[1], "b.ns");
	assert_int_equal(r.ends[1], 1);
	codec_free(c);
}

static void test_h2_bad_preface(void **state)
{
	static const char h1[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct rec r;
	struct codec *c = raw_server(&r, NULL);

	assert_true(codec_input(c, (const uint8_t *)h1, sizeof(h1) - 1) < 0);
	assert_true(codec_done(c));
	assert_int_equal(codec_submit_data(c, 1, (const uint8_t *)"x", 1, false), -EPIPE);
	codec_free(c);
}

/*
 * What a real client sends: bytes nghttp (nghttp2-client) wrote for `nghttp -n -m 4 -H
 * "x-a: 1" http://127.0.0.1:42739/a?b=c`, captured once off a loopback socket (its preface
 * left out). HPACK with Huffman and the dynamic table, PRIORITY frames, idle streams 3..11.
 * The client's SETTINGS ack (after its SETTINGS) is left out: it acked a server that allowed
 * the dynamic table, while ours says HEADER_TABLE_SIZE 0, so these requests are the ones a
 * client sends before our SETTINGS reach it, when the default table is still in force.
 */
static const uint8_t nghttp_four[] = {
    0x00, 0x00, 0x0c, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x64, 0x00,
    0x04, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
    0x00, 0x00, 0xc8, 0x00, 0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00,
    0x64, 0x00, 0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x05,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x34, 0x01, 0x25,
    0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x0b, 0x0f, 0x82, 0x04, 0x85, 0x60, 0x7f, 0xe4, 0x70,
    0x13, 0x86, 0x41, 0x8b, 0x08, 0x9d, 0x5c, 0x0b, 0x81, 0x70, 0xdc, 0x68, 0x4e, 0xb2, 0xff, 0x53,
    0x03, 0x2a, 0x2f, 0x2a, 0x90, 0x7a, 0x8a, 0xaa, 0x69, 0xd2, 0x9a, 0xc4, 0xc0, 0x57, 0x6c, 0x4b,
    0x83, 0x40, 0x03, 0x78, 0x2d, 0x61, 0x01, 0x31, 0x00, 0x00, 0x13, 0x01, 0x25, 0x00, 0x00, 0x00,
    0x0f, 0x00, 0x00, 0x00, 0x0b, 0x0f, 0x82, 0x04, 0x85, 0x60, 0x7f, 0xe4, 0x70, 0x13, 0x86, 0xc1,
    0xc0, 0x90, 0xbf, 0xbe, 0x00, 0x00, 0x13, 0x01, 0x25, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00,
    0x0b, 0x0f, 0x82, 0x04, 0x85, 0x60, 0x7f, 0xe4, 0x70, 0x13, 0x86, 0xc1, 0xc0, 0x90, 0xbf, 0xbe,
    0x00, 0x00, 0x13, 0x01, 0x25, 0x00, 0x00, 0x00, 0x13, 0x00, 0x00, 0x00, 0x0b, 0x0f, 0x82, 0x04,
    0x85, 0x60, 0x7f, 0xe4, 0x70, 0x13, 0x86, 0xc1, 0xc0, 0x90, 0xbf, 0xbe};

static void test_h2_real_client_capture(void **state)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct rec r;
	struct codec *c = raw_server(&r, NULL);

	assert_int_equal(codec_input(c, (const uint8_t *)preface, 24), 24);
	assert_int_equal(codec_input(c, nghttp_four, sizeof(nghttp_four)),
			 (ssize_t)sizeof(nghttp_four));
	assert_int_equal(r.nheads, 4);
	for (uint32_t sid = 13; sid <= 19; sid += 2) {
		assert_int_equal(r.heads[sid], 1);
		assert_string_equal(r.path[sid], "/a?b=c");
		assert_string_equal(r.authority[sid], "127.0.0.1:42739");
		assert_int_equal(r.ends[sid], 1);
	}
	assert_int_equal(scan_out(c, 13).goaway, -1);
	codec_free(c);
}

/* A stream reset with unconsumed data must not keep the connection's credit for good. */
static void test_h2_credit_returned_on_reset(void **state)
{
	static uint8_t body[65535];
	struct codec_limits sl = {.conn_window = 65535};
	struct pair *p = pair_new(NULL, &sl);
	struct http_head req;
	uint32_t a = 0, b = 0;
	ssize_t n;

	p->srv.auto_consume = false;
	head_req(&req, "POST", "/c");
	pump(p);
	assert_int_equal(codec_submit_head(p->cli.c, &a, &req, false), 0);
	n = codec_submit_data(p->cli.c, a, body, sizeof(body), false);
	assert_int_equal(n, (ssize_t)sizeof(body));
	pump(p);
	assert_int_equal(p->srv.bytes[a], sizeof(body));
	assert_int_equal(codec_submit_head(p->cli.c, &b, &req, false), 0);
	assert_int_equal(codec_submit_data(p->cli.c, b, body, 1000, false), 1000);
	pump(p);
	assert_int_equal(p->srv.bytes[b], 0); /* the connection window is spent */
	assert_int_equal(codec_reset(p->cli.c, a, CODEC_E_CANCEL), 0);
	pump(p);
	assert_int_equal(p->srv.resets[a], CODEC_E_CANCEL + 1);
	assert_int_equal(p->srv.bytes[b], 1000);
	codec_consume(p->srv.c, a, sizeof(body)); /* late and harmless */
	pump(p);
	assert_false(codec_done(p->srv.c));
	http_head_fini(&req);
	pair_free(p);
}

/* A peer with a huge window: the bounded send queue, not the window, paces the sender. */
static void test_h2_writable_on_output_drain(void **state)
{
	static uint8_t body[1 << 20];
	struct codec_limits sl = {.stream_window = 16 << 20, .conn_window = 16 << 20};
	struct pair *p = pair_new(NULL, &sl);
	struct http_head req;
	size_t sent = 0;
	uint32_t sid = 0;
	ssize_t n;

	head_req(&req, "POST", "/big");
	pump(p);
	assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, false), 0);
	n = codec_submit_data(p->cli.c, sid, body, sizeof(body), false);
	assert_true(n > 0 && (size_t)n < sizeof(body)); /* the queue bound, not the window */
	sent = (size_t)n;
	for (int i = 0; i < 100 && sent < sizeof(body); i++) {
		unsigned before = p->cli.writable[sid];

		pump(p);
		assert_true(p->cli.writable[sid] > before);
		n = codec_submit_data(p->cli.c, sid, body + sent, sizeof(body) - sent, false);
		assert_true(n > 0);
		sent += (size_t)n;
	}
	pump(p);
	assert_int_equal(p->srv.bytes[sid], sizeof(body));
	http_head_fini(&req);
	pair_free(p);
}

/* A request built from HTTP/1 (authority only in Host) keeps its authority on HTTP/2. */
static void test_h2_host_to_authority_out(void **state)
{
	struct pair *p = pair_new(NULL, NULL);
	struct http_head req;
	uint32_t sid = 0;

	http_head_init(&req, HTTP_REQUEST, 0);
	assert_int_equal(http_head_str(&req, "GET", 3, &req.method), 0);
	assert_int_equal(http_head_str(&req, "/h1", 3, &req.path), 0);
	assert_int_equal(http_head_add(&req, "Host", 4, "legacy.ns", 9), 0);
	assert_int_equal(http_head_add(&req, "Transfer-Encoding", 17, "chunked", 7), 0);
	assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, true), 0);
	pump(p);
	assert_int_equal(p->srv.heads[sid], 1);
	assert_string_equal(p->srv.authority[sid], "legacy.ns");
	assert_string_equal(p->srv.path[sid], "/h1");
	http_head_fini(&req);
	pair_free(p);
}

/* Client role: a response head over the limit resets the stream, reported as 431's code. */
static void test_h2_client_oversize_response(void **state)
{
	struct codec_limits cl = {.max_header_bytes = 512};
	struct pair *p = pair_new(&cl, NULL);
	struct http_head req, resp;
	char big[2000];
	uint32_t sid = 0;

	memset(big, 'c', sizeof(big));
	head_req(&req, "GET", "/cookie");
	head_resp(&resp, 200);
	assert_int_equal(http_head_add(&resp, "set-cookie", 10, big, sizeof(big)), 0);
	assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, true), 0);
	pump(p);
	assert_int_equal(codec_submit_head(p->srv.c, &sid, &resp, false), 0);
	pump(p);
	assert_int_equal(p->cli.heads[sid], 0);
	assert_int_equal(p->cli.resets[sid], CODEC_E_HEADER_SIZE + 1);
	assert_int_equal(p->srv.resets[sid], CODEC_E_CANCEL + 1);
	assert_int_equal(codec_streams(p->cli.c), 0);
	assert_int_equal(codec_streams(p->srv.c), 0);
	/* The connection survives: the next request goes through. */
	http_head_reset(&resp, HTTP_RESPONSE);
	resp.status = 200;
	assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, true), 0);
	pump(p);
	assert_int_equal(codec_submit_head(p->srv.c, &sid, &resp, true), 0);
	pump(p);
	assert_int_equal(p->cli.status[sid], 200);
	http_head_fini(&req);
	http_head_fini(&resp);
	pair_free(p);
}

/* Client role shutdown: no new requests, the one in flight finishes, then done. */
static void test_h2_client_shutdown(void **state)
{
	struct pair *p = pair_new(NULL, NULL);
	struct http_head req, resp;
	uint32_t sid = 0, other = 0;

	head_req(&req, "GET", "/bye");
	head_resp(&resp, 200);
	assert_int_equal(codec_submit_head(p->cli.c, &sid, &req, true), 0);
	pump(p);
	codec_shutdown(p->cli.c);
	assert_false(codec_can_open(p->cli.c));
	assert_int_equal(codec_submit_head(p->cli.c, &other, &req, true), -EAGAIN);
	assert_false(codec_done(p->cli.c));
	pump(p);
	assert_int_equal(p->srv.goaways, 1);
	assert_int_equal(codec_submit_head(p->srv.c, &sid, &resp, false), 0);
	assert_int_equal(codec_submit_data(p->srv.c, sid, (const uint8_t *)"end", 3, true), 3);
	pump(p);
	assert_int_equal(p->cli.bytes[sid], 3);
	assert_int_equal(p->cli.ends[sid], 1);
	assert_true(codec_done(p->cli.c));
	assert_true(codec_done(p->srv.c));
	http_head_fini(&req);
	http_head_fini(&resp);
	pair_free(p);
}

/* Streams refused past the limit cost a RST each: a peer that keeps trying is cut off. */
static void test_h2_abuse_refusal_flood(void **state)
{
	struct codec_limits lim = {.max_concurrent_streams = 2, .max_resets_per_sec = 20};
	struct rec r;
	struct codec *c = raw_server(&r, &lim);

	raw_start(&raw);
	for (uint32_t sid = 1; sid <= 2 * 60; sid += 2)
		raw_headers(&raw, sid, get_req, 0x4);
	assert_true(codec_input(c, raw.b, raw.n) < 0);
	assert_int_equal(r.nheads, 2);
	assert_true(codec_done(c));
	assert_int_equal(scan_out(c, 0).goaway, 11);
	codec_free(c);
}

/* A peer that advertises 16 MiB windows and reads nothing: what we queue stays bounded. */
static void test_h2_send_queue_bounded(void **state)
{
	static uint8_t body[1 << 20];
	struct codec_limits sl = {.stream_window = 16 << 20, .conn_window = 16 << 20};
	struct pair *p = pair_new(NULL, &sl);
	struct http_head req;
	size_t total = 0;
	uint32_t sids[8], late = 0;
	ssize_t n;

	head_req(&req, "POST", "/q");
	pump(p);
	for (int i = 0; i < 8; i++)
		assert_int_equal(codec_submit_head(p->cli.c, &sids[i], &req, false), 0);
	pump(p); /* the streams are open, with the server's 16 MiB windows */
	/* From here nothing is written: the transport is stuck. */
	for (int i = 0; i < 8; i++) {
		n = codec_submit_data(p->cli.c, sids[i], body, sizeof(body), false);
		assert_true(n >= 0 && n <= 256 * 1024); /* per stream */
		total += (size_t)n;
	}
	/* Per connection: the queue bound plus what fits in the output buffer. */
	assert_true(total >= 1024 * 1024);
	assert_true(total <= 1024 * 1024 + 64 * 1024);
	assert_int_equal(codec_submit_data(p->cli.c, sids[7], body, 1, false), 0);
	/* A stream whose HEADERS wait behind the stuck output is still a stream. */
	assert_int_equal(codec_submit_head(p->cli.c, &late, &req, false), 0);
	assert_int_equal(codec_submit_data(p->cli.c, late, body, 10, false), 0);
	assert_int_equal(codec_reset(p->cli.c, late, CODEC_E_CANCEL), 0);
	pump(p); /* the transport moves again: every blocked stream hears writable */
	for (int i = 0; i < 8; i++)
		assert_int_equal(p->cli.writable[sids[i]], 1);
	assert_int_equal(p->cli.resets[late], 0);
	assert_int_equal(codec_streams(p->cli.c), 8); /* the reset one is gone */
	http_head_fini(&req);
	pair_free(p);
}

/* A request still queued behind output when GOAWAY arrives never starts: refused. */
static void test_h2_goaway_before_headers_left(void **state)
{
	static uint8_t body[60000];
	struct pair *p = pair_new(NULL, NULL);
	struct http_head req;
	uint32_t a = 0, b = 0;
	const uint8_t *out;

	head_req(&req, "POST", "/first");
	pump(p);
	assert_int_equal(codec_submit_head(p->cli.c, &a, &req, false), 0);
	assert_int_equal(codec_submit_data(p->cli.c, a, body, sizeof(body), false),
			 (ssize_t)sizeof(body));
	/* The client's output is past its high mark: the next HEADERS stays in nghttp2. */
	assert_true(codec_output(p->cli.c, &out) >= 32 * 1024);
	assert_int_equal(codec_submit_head(p->cli.c, &b, &req, true), 0);
	assert_int_equal(b, 3);
	/* A server that saw nothing says GOAWAY with last-stream-id 0. Our own server's
	 * shutdown first sends the two-step notice (last-stream-id 2^31-1), so the frame is
	 * built here: 8 bytes of payload, type 7, stream 0; last-stream-id 0, NO_ERROR. */
	{
		static const uint8_t goaway0[17] = {0, 0, 8, 7, 0, 0, 0, 0, 0,
						    0, 0, 0, 0, 0, 0, 0, 0};

		assert_int_equal(codec_input(p->cli.c, goaway0, sizeof(goaway0)),
				 (ssize_t)sizeof(goaway0));
	}
	assert_int_equal(p->cli.goaways, 1);
	pump(p);
	assert_int_equal(p->cli.resets[b], CODEC_E_REFUSED + 1);
	assert_int_equal(p->cli.resets[a], CODEC_E_REFUSED + 1);
	assert_int_equal(p->srv.heads[b], 0);
	assert_int_equal(codec_streams(p->cli.c), 0);
	assert_true(codec_done(p->cli.c));
	http_head_fini(&req);
	pair_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_h2_request_response),
	    cmocka_unit_test(test_h2_informational_and_trailers),
	    cmocka_unit_test(test_h2_many_streams),
	    cmocka_unit_test(test_h2_reset_both_ways),
	    cmocka_unit_test(test_h2_flow_control),
	    cmocka_unit_test(test_h2_shutdown),
	    cmocka_unit_test(test_h2_quiet_and_wake),
	    cmocka_unit_test(test_h2_quiet_small_peer_window),
	    cmocka_unit_test(test_h2_quiet_then_garbage),
	    cmocka_unit_test(test_h2_oversize_head_431),
	    cmocka_unit_test(test_h2_abuse_control_floods),
	    cmocka_unit_test(test_h2_abuse_rapid_reset),
	    cmocka_unit_test(test_h2_abuse_continuation_flood),
	    cmocka_unit_test(test_h2_abuse_empty_data),
	    cmocka_unit_test(test_h2_abuse_too_many_streams),
	    cmocka_unit_test(test_h2_abuse_refusal_flood),
	    cmocka_unit_test(test_h2_malformed_requests),
	    cmocka_unit_test(test_h2_host_is_authority),
	    cmocka_unit_test(test_h2_bad_preface),
	    cmocka_unit_test(test_h2_real_client_capture),
	    cmocka_unit_test(test_h2_credit_returned_on_reset),
	    cmocka_unit_test(test_h2_writable_on_output_drain),
	    cmocka_unit_test(test_h2_send_queue_bounded),
	    cmocka_unit_test(test_h2_host_to_authority_out),
	    cmocka_unit_test(test_h2_client_oversize_response),
	    cmocka_unit_test(test_h2_client_shutdown),
	    cmocka_unit_test(test_h2_goaway_before_headers_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
