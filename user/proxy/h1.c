// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP/1.1 codec (codec.h) on llhttp, in both roles, sans-IO. llhttp tokenises; this
 * file decides. It sits between every Pod's HTTP client and server, so the framing is
 * strict: anything two parsers could read differently (CL with TE, two lengths, a coding
 * other than chunked, obs-fold, bare CR or LF, control bytes in a head) is answered with
 * 400 and the connection is closed, because the agent and the app behind it must never
 * disagree on where one request ends and the next begins.
 *
 * llhttp 8 built without LLHTTP_STRICT_MODE tolerates bare LF and obs-fold, so every head
 * (and trailer block) passes through our own line scanner before llhttp sees it; the scanner
 * also counts the head's bytes and fields for the 431 limits. Bodies go to llhttp directly.
 *
 * Pipelining: requests are parsed ahead (up to max_pipelined) into a ring of streams,
 * numbered 1, 3, 5, ...; the oldest stream writes straight into the connection's output and
 * later ones into their own held buffer, moved over when their turn comes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * llhttp's llhttp_type_t and http.h's enum http_kind both name HTTP_REQUEST and
 * HTTP_RESPONSE: llhttp's are renamed for this file, as nothing else includes it.
 */
#define HTTP_REQUEST  LLHTTP_REQUEST
#define HTTP_RESPONSE LLHTTP_RESPONSE
#include <llhttp/llhttp.h>
#undef HTTP_REQUEST
#undef HTTP_RESPONSE

#include "proxy/h1.h"
#include "proxy/h1_scan.h"
#include "proxy/h1_wire.h"

#define H1_PIPE_DEFAULT	  16
#define H1_FIELDS_DEFAULT 100
#define H1_PIPE_MAX	  128 /* max_pipelined beyond this is clamped */

/* Where the input side is. */
enum h1_phase {
	H1_P_HEAD = 0,	  /* a message head: through the line scanner, then llhttp */
	H1_P_BODY = 1,	  /* body bytes (and chunk framing): llhttp only */
	H1_P_TRAILER = 2, /* a chunked trailer block: scanner, then llhttp */
	H1_P_STOP = 3,	  /* paused: an Upgrade/CONNECT awaits its answer, or closing */
	H1_P_OPAQUE = 4,  /* upgraded: bytes are data of the tunnel stream */
};

/*
 * Where a chunked body is. llhttp 8's loose mode does not insist on the CRLF after chunk
 * data ("3\r\nabcdef\r\n" would read "def" as the next chunk size), so chunk data is fed
 * to it exactly, and the framing between chunks is checked here first.
 */
enum h1_chunk {
	H1_CK_SIZE = 0, /* a chunk-size line (with extensions): scanned like a head line */
	H1_CK_DATA = 1, /* chunk.left bytes of data */
	H1_CK_CRLF = 2, /* the CRLF after chunk data */
};

/* Where the parser is in a chunked body. */
struct h1_chunked {
	bool on;	   /* the body being parsed is chunked */
	uint8_t at;	   /* enum h1_chunk */
	uint8_t crlf_left; /* H1_CK_CRLF: bytes of it still expected */
	uint64_t left;	   /* H1_CK_DATA: bytes of the chunk still to come */
};

/* What the parser learnt about the message head it is reading. */
struct h1_msg {
	struct http_head head;
	struct http_head trl;
	struct h1_obuf name, val, url, upgrade; /* fragments llhttp hands over in pieces */
	unsigned n_cl, n_te, n_host;
	bool te_bad; /* a Transfer-Encoding other than one "chunked" */
	bool conn_close, conn_keep;
	bool handed_up; /* the head event was raised */
	bool body;	/* a body follows the head */
	int status;	/* 0, or the 4xx this message is answered with */
};

/* One exchange on the connection: a request and its response. */
struct h1_stream {
	uint32_t sid;
	uint8_t req_version; /* HTTP_V10 / HTTP_V11 of the request */
	bool head_req;	     /* HEAD: the response has no body */
	bool connect;	     /* CONNECT */
	bool upgrade_req;    /* Upgrade: with Connection: upgrade */
	bool keep_alive;     /* the request allows the connection to be reused */
	bool in_done;	     /* the message we parse for this stream has ended */
	bool out_started;    /* some head (1xx included) was written */
	bool out_final;	     /* the final head (>= 200, or 101) was submitted */
	bool expect;	     /* Expect: 100-continue, and no 100 written yet */
	bool tunnel;	     /* upgraded: opaque bytes both ways until both ends close */
	bool out_done;	     /* the message we write for this stream has ended */
	bool out_close;	     /* the connection closes after this stream's message */
	bool blocked;	     /* submit_data refused for room: raise writable later */
	bool internal;	     /* our own 400/431: no events for it */
	uint8_t out_frame;   /* enum h1_frame of what we write */
	int64_t out_left;    /* H1_F_LENGTH: bytes still to write */
	uint64_t out_start;  /* client: output offset where the request begins */
	struct h1_obuf held; /* pipelined responses waiting for their turn */
};

struct h1 {
	struct codec base;
	struct codec_limits lim;
	const struct codec_events *ev;
	void *arg;
	llhttp_t parser;
	enum h1_phase phase;
	struct h1_scan scan;
	struct h1_msg msg;
	struct h1_stream *st; /* ring of pipelined streams, oldest at st[first] */
	unsigned first, nst, cap;
	struct h1_obuf out;
	uint64_t written; /* bytes ever acknowledged by output_done */
	uint32_t next_sid;
	uint32_t in_sid;   /* the stream whose message is being parsed; 0: none yet */
	size_t unconsumed; /* body bytes handed up and not consumed */
	bool closing;	   /* no new streams; close when the open ones are done */
	bool broken;	   /* close as soon as the output is written */
	bool peer_eof;	   /* the peer closed its side */
	bool got_bytes;	   /* client: a response byte arrived for the stream in flight */
	bool wr_shut;	   /* a tunnel's outgoing direction ended: shut the write side */
	int last_err;	   /* the -errno input() returns once broken by bad framing */
	struct h1_chunked chunk;
};

static struct h1 *h1_of(const struct codec *c)
{
	return (struct h1 *)c;
}

static struct h1_stream *h1_front(struct h1 *c)
{
	return c->nst ? &c->st[c->first] : NULL;
}

static struct h1_stream *h1_nth(struct h1 *c, unsigned i)
{
	return &c->st[(c->first + i) % c->cap];
}

/* The stream being parsed: the newest one. */
static struct h1_stream *h1_back(struct h1 *c)
{
	return c->nst ? h1_nth(c, c->nst - 1) : NULL;
}

static struct h1_stream *h1_find(struct h1 *c, uint32_t sid)
{
	for (unsigned i = 0; i < c->nst; i++) {
		struct h1_stream *s = h1_nth(c, i);

		if (s->sid == sid && !s->internal)
			return s;
	}
	return NULL;
}

static struct h1_stream *h1_push(struct h1 *c)
{
	struct h1_stream *s;
	struct h1_obuf held;

	if (c->nst == c->cap)
		return NULL;
	s = h1_nth(c, c->nst);
	held = s->held; /* keep the buffer's memory across reuse */
	memset(s, 0, sizeof(*s));
	s->held = held;
	s->held.off = s->held.len = 0;
	s->sid = c->next_sid;
	c->next_sid += 2;
	c->nst++;
	return s;
}

/*
 * The newest stream that will still put a response on the wire: streams reset before any
 * response was written leave nothing, so the one before them carries Connection: close.
 */
static struct h1_stream *h1_last_live(struct h1 *c)
{
	for (unsigned i = c->nst; i > 0; i--) {
		struct h1_stream *s = h1_nth(c, i - 1);

		if (!s->internal || s->out_started)
			return s;
	}
	return NULL;
}

/*
 * The stream the parser's events belong to, found by id: a stream reset or retired from
 * inside an event is gone (or internal), and its remaining bytes raise nothing.
 */
static struct h1_stream *h1_in_stream(struct h1 *c)
{
	return c->in_sid ? h1_find(c, c->in_sid) : NULL;
}

/* Where stream <s> writes: the connection's output when it is the oldest. */
static struct h1_obuf *h1_sink(struct h1 *c, struct h1_stream *s)
{
	return s == h1_front(c) ? &c->out : &s->held;
}

static size_t h1_queued(struct h1 *c)
{
	size_t n = h1_obuf_pending(&c->out);

	for (unsigned i = 0; i < c->nst; i++)
		n += h1_obuf_pending(&h1_nth(c, i)->held);
	return n;
}

/* ---- events ---- */

static void h1_ev_reset(struct h1 *c, struct h1_stream *s, enum codec_err err)
{
	if (!s->internal && c->ev->reset)
		c->ev->reset(c->arg, s->sid, err);
}

/*
 * Retires finished streams from the front of the ring, moving the next one's held bytes
 * into the output. A stream is finished when both messages ended, or when its response
 * ended and the connection closes anyway (an early answer to an unread body).
 */
static void h1_advance(struct h1 *c)
{
	struct h1_stream *s;

	while ((s = h1_front(c)) && s->out_done && (s->in_done || (s->out_close && !s->tunnel))) {
		if (s->out_close)
			c->closing = true;
		c->first = (c->first + 1) % c->cap;
		c->nst--;
		if (s->out_close || (c->base.role == CODEC_SERVER && !s->in_done)) {
			/* Requests parsed after a closing response are never answered. */
			while (c->nst) {
				struct h1_stream *t = h1_back(c);

				c->nst--;
				h1_ev_reset(c, t, CODEC_E_CANCEL);
			}
			c->closing = true;
			if (c->phase != H1_P_OPAQUE)
				c->phase = H1_P_STOP;
			break;
		}
		if ((s = h1_front(c)) && h1_obuf_pending(&s->held) &&
		    h1_obuf_move(&c->out, &s->held)) {
			c->broken = true;
			break;
		}
	}
}

/* ---- the input side: llhttp callbacks ---- */

static int h1_fail(struct h1 *c, int status)
{
	if (!c->msg.status)
		c->msg.status = status;
	return HPE_USER;
}

static int h1_on_message_begin(llhttp_t *p)
{
	struct h1 *c = p->data;
	struct h1_msg *m = &c->msg;

	http_head_reset(&m->head, c->base.role == CODEC_SERVER ? HTTP_REQUEST : HTTP_RESPONSE);
	http_head_reset(&m->trl, HTTP_TRAILERS);
	m->name.off = m->name.len = m->val.off = m->val.len = 0;
	m->url.off = m->url.len = m->upgrade.off = m->upgrade.len = 0;
	m->n_cl = m->n_te = m->n_host = 0;
	m->te_bad = m->conn_close = m->conn_keep = false;
	m->handed_up = m->body = false;
	m->status = 0;
	if (c->base.role == CODEC_SERVER)
		c->in_sid = 0;
	return 0;
}

static int h1_on_url(llhttp_t *p, const char *at, size_t len)
{
	struct h1 *c = p->data;

	return h1_obuf_put(&c->msg.url, at, len) ? h1_fail(c, 500) : 0;
}

static int h1_on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct h1 *c = p->data;

	return h1_obuf_put(&c->msg.name, at, len) ? h1_fail(c, 500) : 0;
}

static int h1_on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct h1 *c = p->data;

	return h1_obuf_put(&c->msg.val, at, len) ? h1_fail(c, 500) : 0;
}

/* Notes the tokens of a Connection value that matter here: close, keep-alive. */
static void h1_conn_tokens(struct h1_msg *m, const char *v, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t s, e;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (http_str_ieq(v + s, e - s, "close"))
			m->conn_close = true;
		else if (http_str_ieq(v + s, e - s, "keep-alive"))
			m->conn_keep = true;
	}
}

/* One whole field: the framing ones are checked, hop-by-hop ones kept out of the head. */
static int h1_field(struct h1 *c, const char *n, size_t nlen, const char *v, size_t vlen)
{
	struct h1_msg *m = &c->msg;
	struct http_head *h = c->phase == H1_P_TRAILER ? &m->trl : &m->head;
	int err;

	/* llhttp's loose mode lets SP and other non-token bytes into a name. */
	if (!h1_wire_token(n, nlen))
		return h1_fail(c, 400);

	if (c->phase == H1_P_TRAILER) {
		/* Framing has no business in trailers (RFC 9110 6.5.1). */
		if (http_str_ieq(n, nlen, "content-length") ||
		    http_str_ieq(n, nlen, "transfer-encoding") || http_str_ieq(n, nlen, "host"))
			return 0;
	} else if (http_str_ieq(n, nlen, "content-length")) {
		m->n_cl++;
	} else if (http_str_ieq(n, nlen, "transfer-encoding")) {
		m->n_te++;
		/* Exactly one field saying exactly "chunked": nothing else can be re-framed. */
		if (m->n_te > 1 || !http_str_ieq(v, vlen, "chunked"))
			m->te_bad = true;
	} else if (http_str_ieq(n, nlen, "connection")) {
		h1_conn_tokens(m, v, vlen);
	} else if (http_str_ieq(n, nlen, "upgrade")) {
		m->upgrade.off = m->upgrade.len = 0;
		if (h1_obuf_put(&m->upgrade, v, vlen))
			return h1_fail(c, 500);
	} else if (http_str_ieq(n, nlen, "host") && c->base.role == CODEC_SERVER) {
		if (++m->n_host == 1 && http_head_str(h, v, vlen, &h->authority) == -E2BIG)
			return h1_fail(c, 431);
		return 0;
	}
	if (h1_wire_hop_by_hop(n, nlen) && !http_str_ieq(n, nlen, "trailer"))
		return 0;
	err = http_head_add(h, n, nlen, v, vlen);
	if (err)
		return h1_fail(c, err == -E2BIG ? 431 : 500);
	return 0;
}

static int h1_on_header_value_complete(llhttp_t *p)
{
	struct h1 *c = p->data;
	struct h1_msg *m = &c->msg;
	const char *v = (const char *)m->val.p;
	size_t vlen = m->val.len;
	int ret;

	/* llhttp drops leading whitespace; trailing whitespace is not part of the value. */
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	ret = h1_field(c, (const char *)m->name.p, m->name.len, vlen ? v : "", vlen);
	m->name.len = m->val.len = 0;
	return ret;
}

/* Splits the request target into path, or scheme + authority + path (absolute form). */
static int h1_target(struct h1 *c, struct http_head *h, bool connect)
{
	const char *u = (const char *)c->msg.url.p;
	size_t len = c->msg.url.len;
	size_t sl;

	if (!len)
		return -EINVAL;
	if (connect) {
		/* authority-form only: host:port */
		if (u[0] == '/' || !memchr(u, ':', len))
			return -EINVAL;
		return http_head_str(h, u, len, &h->authority);
	}
	if (u[0] == '/' || (len == 1 && u[0] == '*'))
		return http_head_str(h, u, len, &h->path);
	if (len > 7 && !strncasecmp(u, "http://", 7))
		sl = 7;
	else if (len > 8 && !strncasecmp(u, "https://", 8))
		sl = 8;
	else
		return -EINVAL;
	/* RFC 9112 3.2.2: an absolute-form target's authority replaces Host. */
	{
		const char *a = u + sl, *slash = memchr(a, '/', len - sl);
		size_t alen = slash ? (size_t)(slash - a) : len - sl;
		int err;

		/* No userinfo: "http://a@b/" means b to some parsers and a to others. */
		if (!alen || memchr(a, '@', alen))
			return -EINVAL;
		err = http_head_str(h, u, sl - 3, &h->scheme);
		if (!err)
			err = http_head_str(h, a, alen, &h->authority);
		if (!err)
			err = slash ? http_head_str(h, slash, len - sl - alen, &h->path)
				    : http_head_str(h, "/", 1, &h->path);
		return err;
	}
}

/*
 * Whether <a> (<len> bytes) can be an authority (RFC 3986 3.2: host and port). The router
 * matches on it, so a Host with a space, slash or '@' must not reach it looking like
 * another one.
 */
static bool h1_authority_ok(const char *a, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)a[i];

		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z'))
			continue;
		if (!strchr("-._~!$&'()*+,;=:[]%", ch) || !ch)
			return false;
	}
	return true;
}

static int h1_on_headers_complete_server(struct h1 *c, llhttp_t *p)
{
	struct h1_msg *m = &c->msg;
	struct http_head *h = &m->head;
	const char *meth = llhttp_method_name((llhttp_method_t)p->method);
	struct h1_stream *s;
	int err;

	h->version = p->http_minor == 0 ? HTTP_V10 : HTTP_V11;
	if (p->http_major != 1 || p->http_minor > 1)
		return h1_fail(c, 400);
	/* The smuggling cases llhttp would also refuse, checked here so no flag undoes them. */
	if (m->n_cl > 1 || (m->n_cl && m->n_te) || m->te_bad)
		return h1_fail(c, 400);
	/* HTTP/1.0 has no chunked: a TE there is a desync attempt (RFC 9112 6.1). */
	if (m->n_te && h->version == HTTP_V10)
		return h1_fail(c, 400);
	if (m->n_host > 1)
		return h1_fail(c, 400);
	err = http_head_str(h, meth, strlen(meth), &h->method);
	if (!err)
		err = h1_target(c, h, p->method == HTTP_CONNECT);
	if (err)
		return h1_fail(c, err == -E2BIG ? 431 : 400);
	if (!h->authority.len && h->version == HTTP_V11)
		return h1_fail(c, 400); /* RFC 9112 3.2: Host is required */
	if (!h1_authority_ok(http_str_ptr(h, h->authority), h->authority.len))
		return h1_fail(c, 400);
	h->content_length = m->n_cl ? (int64_t)p->content_length : -1;
	/* An upgrade request keeps its Upgrade field: the upstream must see what was asked. */
	if (p->upgrade && p->method != HTTP_CONNECT &&
	    http_head_add(h, "upgrade", 7, (const char *)m->upgrade.p, m->upgrade.len))
		return h1_fail(c, 431);

	/* Past every refusal: from here the request is a stream the exchange will answer. */
	s = h1_push(c);
	if (!s)
		return h1_fail(c, 500);
	c->in_sid = s->sid;
	s->req_version = h->version;
	s->head_req = p->method == HTTP_HEAD;
	s->connect = p->method == HTTP_CONNECT;
	s->upgrade_req = !s->connect && p->upgrade;
	s->keep_alive = h->version == HTTP_V11 ? !m->conn_close : m->conn_keep && !m->conn_close;
	s->expect = h->version == HTTP_V11 && http_head_has_token(h, "expect", 6, "100-continue");
	m->body = m->n_te || (m->n_cl && p->content_length > 0);
	m->handed_up = true;
	if (!m->body)
		s->in_done = !s->connect;
	if (!s->keep_alive) {
		c->closing = true; /* parse nothing after this request */
		if (c->ev->goaway)
			c->ev->goaway(c->arg);
	}
	if (c->ev->head)
		c->ev->head(c->arg, s->sid, h, !m->body && !s->connect);
	/* CONNECT has no body; llhttp stops after its head with HPE_PAUSED_UPGRADE. */
	return 0;
}

static int h1_on_headers_complete_client(struct h1 *c, llhttp_t *p)
{
	struct h1_msg *m = &c->msg;
	struct http_head *h = &m->head;
	struct h1_stream *s = h1_front(c);
	bool informational;

	if (!s)
		return h1_fail(c, 502);
	h->version = p->http_minor == 0 ? HTTP_V10 : HTTP_V11;
	if (p->http_major != 1 || p->http_minor > 1)
		return h1_fail(c, 502);
	if (m->n_cl > 1 || (m->n_cl && m->n_te) || m->te_bad)
		return h1_fail(c, 502);
	h->status = (uint16_t)p->status_code;
	h->content_length = m->n_cl ? (int64_t)p->content_length : -1;
	informational = h->status < 200 && h->status != 101;
	if (h->status == 101 && (!s->upgrade_req || !p->upgrade))
		return h1_fail(c, 502);
	if (h->status == 101 && m->upgrade.len &&
	    http_head_add(h, "upgrade", 7, (const char *)m->upgrade.p, m->upgrade.len))
		return h1_fail(c, 502);
	if (!informational && (m->conn_close || (h->version == HTTP_V10 && !m->conn_keep))) {
		c->closing = true;
		if (c->ev->goaway)
			c->ev->goaway(c->arg);
	}
	m->handed_up = true;
	if (informational) {
		if (c->ev->head)
			c->ev->head(c->arg, s->sid, h, false);
		return 0;
	}
	m->body = !(s->head_req || h->status == 204 || h->status == 304 || h->status == 101 ||
		    (s->connect && h->status / 100 == 2) || (m->n_cl && p->content_length == 0));
	if (c->ev->head)
		c->ev->head(c->arg, s->sid, h,
			    !m->body && !(s->connect && h->status / 100 == 2) && h->status != 101);
	if (s->connect && h->status / 100 == 2)
		return 2; /* a tunnel from here: llhttp returns HPE_PAUSED_UPGRADE */
	/* llhttp would read a 304's content-length as a body: these have none (RFC 9110 6.4.1). */
	if (s->head_req || h->status == 204 || h->status == 304)
		return 1;
	return 0;
}

static int h1_on_headers_complete(llhttp_t *p)
{
	struct h1 *c = p->data;

	c->phase = H1_P_BODY;
	c->chunk.on = (p->flags & F_CHUNKED) != 0;
	c->chunk.at = H1_CK_SIZE;
	memset(&c->scan, 0, sizeof(c->scan));
	if (c->base.role == CODEC_SERVER)
		return h1_on_headers_complete_server(c, p);
	return h1_on_headers_complete_client(c, p);
}

static int h1_on_body(llhttp_t *p, const char *at, size_t len)
{
	struct h1 *c = p->data;
	struct h1_stream *s = h1_in_stream(c);

	c->unconsumed += len;
	if (c->chunk.on) {
		c->chunk.left -= len < c->chunk.left ? len : c->chunk.left;
		if (!c->chunk.left) {
			c->chunk.at = H1_CK_CRLF;
			c->chunk.crlf_left = 2;
		}
	}
	if (s && c->ev->data)
		c->ev->data(c->arg, s->sid, (const uint8_t *)at, len, false);
	return 0;
}

static int h1_on_chunk_header(llhttp_t *p)
{
	struct h1 *c = p->data;

	memset(&c->scan, 0, sizeof(c->scan));
	if (p->content_length) {
		c->chunk.at = H1_CK_DATA;
		c->chunk.left = p->content_length;
		return 0;
	}
	/* The last chunk: its trailer block is a head, scanned like one. */
	c->phase = H1_P_TRAILER;
	memset(&c->scan, 0, sizeof(c->scan));
	return HPE_PAUSED;
}

static int h1_on_message_complete(llhttp_t *p)
{
	struct h1 *c = p->data;
	struct h1_msg *m = &c->msg;
	struct h1_stream *s = h1_in_stream(c);
	bool informational =
	    c->base.role == CODEC_CLIENT && m->head.status < 200 && m->head.status != 101;

	c->phase = H1_P_HEAD;
	memset(&c->scan, 0, sizeof(c->scan));
	if (!s || informational)
		return HPE_PAUSED;
	if (m->trl.nhdrs) {
		if (c->ev->trailers)
			c->ev->trailers(c->arg, s->sid, &m->trl);
	} else if (m->body && c->ev->data) {
		c->ev->data(c->arg, s->sid, NULL, 0, true);
	}
	if (c->base.role == CODEC_CLIENT && (s->connect || s->upgrade_req) &&
	    (m->head.status == 101 || (s->connect && m->head.status / 100 == 2))) {
		/* llhttp reports the switch with HPE_PAUSED_UPGRADE: let it. */
		c->phase = H1_P_OPAQUE;
		return 0;
	}
	if (c->base.role == CODEC_SERVER && (s->connect || s->upgrade_req)) {
		s->in_done = !s->connect;
		c->phase = H1_P_STOP; /* until the response says yes or no */
		return 0;
	}
	s->in_done = true;
	if (c->base.role == CODEC_CLIENT) {
		c->got_bytes = false;
		s->out_close = s->out_close || c->closing;
		if (!s->out_done)
			s->out_close = true; /* answered before the request ended: no reuse */
	}
	h1_advance(c);
	return HPE_PAUSED;
}

static const llhttp_settings_t h1_settings = {
    .on_message_begin = h1_on_message_begin,
    .on_url = h1_on_url,
    .on_header_field = h1_on_header_field,
    .on_header_value = h1_on_header_value,
    .on_header_value_complete = h1_on_header_value_complete,
    .on_headers_complete = h1_on_headers_complete,
    .on_body = h1_on_body,
    .on_chunk_header = h1_on_chunk_header,
    .on_message_complete = h1_on_message_complete,
};

/* ---- the input side: driving llhttp ---- */

/*
 * Of the chunked body bytes <b> (<len>), how many may go to llhttp now (*<ok>): a chunk-size
 * line up to its LF once it proved clean, chunk data exactly, then its CRLF. Returns 0 or
 * 400.
 */
static int h1_chunk_framing(struct h1 *c, const uint8_t *b, size_t len, size_t *ok)
{
	switch (c->chunk.at) {
	case H1_CK_DATA:
		*ok = len < c->chunk.left ? len : (size_t)c->chunk.left;
		return 0;
	case H1_CK_CRLF:
		if (b[0] != (c->chunk.crlf_left == 2 ? '\r' : '\n'))
			return 400;
		if (--c->chunk.crlf_left == 0)
			c->chunk.at = H1_CK_SIZE;
		*ok = 1;
		return 0;
	default:
		break;
	}
	return h1_scan_chunk_line(&c->scan, b, len, ok);
}

static void h1_raise_upgraded(struct h1 *c, struct h1_stream *s)
{
	s->tunnel = true;
	s->in_done = false;
	s->out_done = false; /* an upgrade request's end_stream ended its HTTP part only */
	s->out_frame = H1_F_RAW;
	c->phase = H1_P_OPAQUE;
	if (c->ev->upgraded)
		c->ev->upgraded(c->arg, s->sid);
}

/* Feeds <n> bytes at <p> to llhttp. Returns the bytes it took, or -1 on a parse error. */
static ssize_t h1_exec(struct h1 *c, const uint8_t *p, size_t n)
{
	llhttp_errno_t e = llhttp_execute(&c->parser, (const char *)p, n);
	size_t used;

	switch (e) {
	case HPE_OK:
		return (ssize_t)n;
	case HPE_PAUSED:
		used = (size_t)((const uint8_t *)llhttp_get_error_pos(&c->parser) - p);
		llhttp_resume(&c->parser);
		return (ssize_t)used;
	case HPE_PAUSED_UPGRADE:
		used = (size_t)((const uint8_t *)llhttp_get_error_pos(&c->parser) - p);
		if (c->base.role == CODEC_CLIENT && c->phase == H1_P_OPAQUE && h1_front(c))
			h1_raise_upgraded(c, h1_front(c));
		else if (c->base.role == CODEC_SERVER)
			c->phase = H1_P_STOP; /* the response decides: tunnel or HTTP again */
		return (ssize_t)used;
	default:
		return -1;
	}
}

/*
 * The message being parsed is refused with <status>: the server queues that response (in
 * its turn after earlier pipelined ones) and closes after it; the client resets its stream.
 * Either way the connection takes no more input.
 */
static void h1_error(struct h1 *c, int status)
{
	struct h1_stream *s = NULL;
	char line[160];
	int n;

	c->last_err = status == 431 ? -E2BIG : -EPROTO;
	c->closing = true;
	c->phase = H1_P_STOP;
	if (c->base.role == CODEC_CLIENT) {
		s = h1_front(c);
		if (s) {
			c->nst = 0;
			h1_ev_reset(c, s, CODEC_E_PROTOCOL);
		}
		c->broken = true;
		return;
	}
	if (c->msg.handed_up && (s = h1_in_stream(c)) && !s->in_done) {
		/* The app saw the head; its body is cut off here. */
		h1_ev_reset(c, s, status == 431 ? CODEC_E_HEADER_SIZE : CODEC_E_PROTOCOL);
		s->internal = true;
	} else {
		s = h1_push(c);
		if (!s) {
			c->broken = true;
			return;
		}
		s->internal = true;
	}
	s->in_done = true;
	s->out_close = true;
	if (!s->out_started) {
		n = snprintf(line, sizeof(line),
			     "HTTP/1.1 %d %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
			     status, h1_wire_reason((unsigned)status));
		if (h1_obuf_put(h1_sink(c, s), line, (size_t)n))
			c->broken = true;
		s->out_started = s->out_final = true;
	}
	s->out_done = true;
	h1_advance(c);
}

/* Tunnel bytes after an accepted Upgrade/CONNECT: data events, bounded like a body. */
static ssize_t h1_input_opaque(struct h1 *c, const uint8_t *p, size_t n)
{
	struct h1_stream *s = h1_in_stream(c);
	size_t room = H1_FLOW_MAX - c->unconsumed;

	if (!s || !s->tunnel || s->in_done)
		return -1;
	if (n > room)
		n = room;
	c->unconsumed += n;
	if (n && c->ev->data)
		c->ev->data(c->arg, s->sid, p, n, false);
	return (ssize_t)n;
}

/* Whether the next message may start: pipelining bound, closing, a request in flight. */
static bool h1_may_start(struct h1 *c)
{
	if (c->closing)
		return false;
	if (c->base.role == CODEC_SERVER)
		return c->nst < c->lim.max_pipelined;
	return true;
}

static ssize_t h1_input(struct codec *cc, const uint8_t *buf, size_t len)
{
	struct h1 *c = h1_of(cc);
	size_t done = 0;

	if (c->last_err)
		return c->last_err;
	while (done < len && !c->broken && !c->peer_eof) {
		const uint8_t *p = buf + done;
		size_t n = len - done, ok = 0, room;
		enum h1_phase phase = c->phase;
		ssize_t used = 0;
		bool end;
		int st;

		switch (c->phase) {
		case H1_P_STOP:
			return (ssize_t)done;
		case H1_P_OPAQUE:
			if (c->unconsumed >= H1_FLOW_MAX)
				return (ssize_t)done;
			used = h1_input_opaque(c, p, n);
			break;
		case H1_P_HEAD:
			if (!c->scan.bytes && !h1_may_start(c))
				return (ssize_t)done;
			if (c->base.role == CODEC_CLIENT && !h1_front(c)) {
				/* Bytes nobody asked for: the upstream is confused or hostile. */
				h1_error(c, 502);
				return c->last_err;
			}
			/* fallthrough */
		case H1_P_TRAILER:
			st = h1_scan_head(&c->scan, c->phase == H1_P_TRAILER,
					  c->lim.max_header_bytes, c->lim.max_headers, p, n, &ok,
					  &end);
			if (st) {
				h1_error(c, c->base.role == CODEC_SERVER ? st : 502);
				return c->last_err;
			}
			c->got_bytes = true;
			used = h1_exec(c, p, ok);
			break;
		case H1_P_BODY:
			/* Body handed up and not consumed yet bounds what is parsed. */
			if (c->unconsumed >= H1_FLOW_MAX)
				return (ssize_t)done;
			room = H1_FLOW_MAX - c->unconsumed;
			if (c->chunk.on) {
				st = h1_chunk_framing(c, p, n < room ? n : room, &ok);
				if (st) {
					h1_error(c, c->base.role == CODEC_SERVER ? st : 502);
					return c->last_err;
				}
				n = ok;
			}
			used = h1_exec(c, p, n < room ? n : room);
			break;
		}
		if (used < 0) {
			h1_error(c, c->msg.status ? c->msg.status
						  : (c->base.role == CODEC_SERVER ? 400 : 502));
			return c->last_err;
		}
		if (c->msg.status) {
			/* A callback refused the message though llhttp went on (a pause). */
			h1_error(c, c->msg.status);
			return c->last_err;
		}
		if (!used && c->phase == phase) {
			/* llhttp took nothing and nothing changed: never spin on it. */
			h1_error(c, c->base.role == CODEC_SERVER ? 400 : 502);
			return c->last_err;
		}
		done += (size_t)used;
	}
	if (c->last_err)
		return c->last_err;
	return (ssize_t)done;
}

void h1_input_eof(struct codec *cc)
{
	struct h1 *c = h1_of(cc);
	struct h1_stream *s;
	bool mid;

	if (c->peer_eof || c->broken)
		return;
	c->peer_eof = true;
	c->closing = true;
	if (c->phase == H1_P_OPAQUE) {
		s = h1_in_stream(c);
		if (s && !s->in_done) {
			s->in_done = true;
			if (c->ev->data)
				c->ev->data(c->arg, s->sid, NULL, 0, true);
		}
		h1_advance(c);
		return;
	}
	mid = c->phase == H1_P_BODY || c->phase == H1_P_TRAILER ||
	      (c->phase == H1_P_HEAD && c->scan.bytes);
	if (c->base.role == CODEC_SERVER) {
		s = h1_in_stream(c);
		if (s && !s->in_done) {
			/* A request cut short, or a CONNECT whose client left before the answer. */
			h1_ev_reset(c, s, CODEC_E_CANCEL);
			c->broken = true;
		} else if (mid) {
			c->broken = true;
		}
		return;
	}
	s = h1_front(c);
	if (!s)
		return;
	if (c->phase == H1_P_BODY && llhttp_message_needs_eof(&c->parser)) {
		/* A close-delimited body ends here, normally. */
		llhttp_finish(&c->parser);
		if (h1_front(c) != s)
			return;
	}
	if (s->in_done)
		return;
	c->nst = 0;
	c->broken = true;
	if (c->got_bytes || c->msg.handed_up || c->written > s->out_start)
		h1_ev_reset(c, s, CODEC_E_CANCEL);
	else
		h1_ev_reset(c, s, CODEC_E_REFUSED);
}

/* ---- the output side ---- */

/* The content length <h> declares: its field, else a valid content-length header, else -1. */
static int64_t h1_declared_length(const struct http_head *h)
{
	size_t vlen;
	const char *v;
	int64_t n = 0;

	if (h->content_length >= 0)
		return h->content_length;
	v = http_head_get(h, "content-length", 14, &vlen);
	if (!v || !vlen || vlen > 18)
		return -1;
	for (size_t i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

/* Marks <s>'s outgoing message ended; a length-framed one cut short closes the connection. */
static void h1_out_end(struct h1 *c, struct h1_stream *s)
{
	s->out_done = true;
	if (s->out_frame == H1_F_LENGTH && s->out_left)
		s->out_close = true; /* the peer would wait for bytes that never come */
	if (s->out_frame == H1_F_RAW)
		s->out_close = true; /* close-delimited, or a tunnel's end */
	if (s->tunnel)
		c->wr_shut = true; /* a half-close: the other direction goes on */
}

bool h1_tunnel_wr_ended(const struct codec *cc)
{
	return h1_of(cc)->wr_shut;
}

static int h1_submit_response(struct h1 *c, uint32_t sid, const struct http_head *h, bool end)
{
	struct h1_stream *s = h1_find(c, sid);
	struct h1_wire_opts w = {.content_length = -1};
	unsigned status = h->status;
	bool accepted, close;
	int64_t cl;

	if (!s)
		return -ENOENT;
	if (s->out_final || h->kind != HTTP_RESPONSE || h1_wire_check(h))
		return -EINVAL;
	if (status < 200) {
		if (status == 101) {
			if (!s->upgrade_req)
				return -EINVAL;
		} else {
			/* HTTP/1.0 clients do not know 1xx (RFC 9110 15.2): drop it. */
			if (s->req_version == HTTP_V10)
				return 0;
			if (h1_wire_head(h1_sink(c, s), h, &w))
				return -ENOMEM;
			s->out_started = true;
			if (status == 100)
				s->expect = false;
			return 0;
		}
	}
	accepted = status == 101 || (s->connect && status / 100 == 2);
	cl = h1_declared_length(h);
	s->out_frame = H1_F_NONE;
	if (accepted) {
		s->out_frame = H1_F_RAW;
		if (status == 101) {
			w.keep_upgrade = true;
			w.connection = "upgrade";
		}
	} else if (s->head_req || status == 304) {
		w.content_length = cl; /* describes the GET's body; none follows */
	} else if (status == 204) {
		/* RFC 9110 8.6: no content-length on 204 */
	} else if (end) {
		w.content_length = 0;
	} else if (cl >= 0) {
		w.content_length = cl;
		s->out_frame = cl ? H1_F_LENGTH : H1_F_NONE;
		s->out_left = cl;
	} else if (s->req_version == HTTP_V11) {
		w.chunked = true;
		s->out_frame = H1_F_CHUNKED;
	} else {
		s->out_frame = H1_F_RAW; /* HTTP/1.0: the body ends with the connection */
	}
	if (!accepted) {
		/*
		 * Answered without a 100 while the client may still be holding its body back:
		 * we cannot tell whether it will come, so the connection cannot be reused.
		 */
		close = !s->keep_alive || s->out_frame == H1_F_RAW || s->connect ||
			(s->expect && !s->in_done) || (c->closing && s == h1_last_live(c));
		if (close) {
			w.connection = "close";
			s->out_close = true;
		} else if (s->req_version == HTTP_V10) {
			w.connection = "keep-alive";
		}
	}
	if (h1_wire_head(h1_sink(c, s), h, &w))
		return -ENOMEM;
	s->out_started = s->out_final = true;
	if (accepted) {
		if (s->upgrade_req)
			llhttp_resume_after_upgrade(&c->parser);
		h1_raise_upgraded(c, s);
		if (c->peer_eof)
			s->in_done = true; /* the client already left: one way only */
	} else {
		if (s->upgrade_req && c->phase == H1_P_STOP && !c->closing) {
			/* Upgrade declined: the connection goes on as HTTP/1.1. */
			llhttp_reset(&c->parser);
			c->phase = H1_P_HEAD;
			memset(&c->scan, 0, sizeof(c->scan));
		}
		/* A bodiless message still waits for its end_stream (data or trailers). */
		if (end)
			h1_out_end(c, s);
		if (end && s->out_frame == H1_F_CHUNKED && h1_wire_last_chunk(h1_sink(c, s), NULL))
			return -ENOMEM;
	}
	h1_advance(c);
	return 0;
}

static bool h1_method_is(const struct http_head *h, const char *m)
{
	return http_str_ieq(http_str_ptr(h, h->method), h->method.len, m);
}

static int h1_submit_request(struct h1 *c, uint32_t *sid, const struct http_head *h, bool end)
{
	struct h1_wire_opts w = {.content_length = -1};
	struct h1_stream *s;
	int64_t cl;

	if (c->nst || c->closing || c->broken || c->peer_eof || c->phase != H1_P_HEAD)
		return -EAGAIN;
	if (h->kind != HTTP_REQUEST || !h->method.len || h1_wire_check(h))
		return -EINVAL;
	if (h1_method_is(h, "CONNECT") && !h->authority.len)
		return -EINVAL;
	s = h1_push(c);
	if (!s)
		return -EAGAIN;
	s->req_version = HTTP_V11;
	s->keep_alive = true;
	s->head_req = h1_method_is(h, "HEAD");
	s->connect = h1_method_is(h, "CONNECT");
	s->upgrade_req = !s->connect && http_head_get(h, "upgrade", 7, NULL) != NULL;
	s->out_start = c->written + h1_obuf_pending(&c->out);
	cl = h1_declared_length(h);
	if (s->connect) {
		s->out_frame = H1_F_RAW; /* tunnel bytes, once the 2xx came */
	} else if (cl >= 0) {
		w.content_length = cl;
		s->out_frame = cl ? H1_F_LENGTH : H1_F_NONE;
		s->out_left = cl;
	} else if (end) {
		/* Methods that usually carry a body say it is empty (RFC 9110 8.6). */
		if (h1_method_is(h, "POST") || h1_method_is(h, "PUT") || h1_method_is(h, "PATCH"))
			w.content_length = 0;
	} else {
		w.chunked = true;
		s->out_frame = H1_F_CHUNKED;
	}
	if (s->upgrade_req) {
		w.keep_upgrade = true;
		w.connection = "upgrade";
	}
	if (h1_wire_head(&c->out, h, &w)) {
		c->nst--;
		return -ENOMEM;
	}
	s->out_started = s->out_final = true;
	if (!s->connect && end) {
		if (end && s->out_frame == H1_F_CHUNKED && h1_wire_last_chunk(&c->out, NULL))
			return -ENOMEM;
		h1_out_end(c, s);
	}
	c->got_bytes = false;
	c->msg.handed_up = false;
	c->in_sid = s->sid;
	*sid = s->sid;
	return 0;
}

static int h1_submit_head(struct codec *cc, uint32_t *sid, const struct http_head *h, bool end)
{
	struct h1 *c = h1_of(cc);

	if (!sid || !h)
		return -EINVAL;
	if (c->base.role == CODEC_CLIENT)
		return h1_submit_request(c, sid, h, end);
	if (c->broken)
		return -ENOENT;
	return h1_submit_response(c, *sid, h, end);
}

static ssize_t h1_submit_data(struct codec *cc, uint32_t sid, const uint8_t *buf, size_t len,
			      bool end)
{
	struct h1 *c = h1_of(cc);
	struct h1_stream *s = c->broken ? NULL : h1_find(c, sid);
	size_t queued, take = len;
	struct h1_obuf *o;
	int err = 0;

	if (!s)
		return -ENOENT;
	if (!s->out_final || s->out_done)
		return -EINVAL;
	if (s->out_frame == H1_F_LENGTH && (int64_t)len > s->out_left)
		return -EMSGSIZE;
	queued = h1_queued(c);
	if (queued >= H1_OUT_MAX)
		take = 0;
	else if (len > H1_OUT_MAX - queued)
		take = H1_OUT_MAX - queued;
	if (!take && len) {
		s->blocked = true;
		return 0;
	}
	o = h1_sink(c, s);
	switch (s->out_frame) {
	case H1_F_NONE:
		break; /* a HEAD response's body: not written */
	case H1_F_LENGTH:
		err = h1_obuf_put(o, buf, take);
		s->out_left -= (int64_t)take;
		break;
	case H1_F_CHUNKED:
		err = h1_wire_chunk(o, buf, take);
		if (!err && end && take == len)
			err = h1_wire_last_chunk(o, NULL);
		break;
	case H1_F_RAW:
		err = h1_obuf_put(o, buf, take);
		break;
	}
	if (err)
		return err;
	if (end && take == len) {
		h1_out_end(c, s);
		h1_advance(c);
	}
	return (ssize_t)take;
}

static int h1_submit_trailers(struct codec *cc, uint32_t sid, const struct http_head *trl)
{
	struct h1 *c = h1_of(cc);
	struct h1_stream *s = c->broken ? NULL : h1_find(c, sid);

	if (!s)
		return -ENOENT;
	if (!s->out_final || s->out_done || h1_wire_check(trl))
		return -EINVAL;
	/* Only chunked framing carries trailers; elsewhere they end the message silently. */
	if (s->out_frame == H1_F_CHUNKED && h1_wire_last_chunk(h1_sink(c, s), trl))
		return -ENOMEM;
	h1_out_end(c, s);
	h1_advance(c);
	return 0;
}

static int h1_reset(struct codec *cc, uint32_t sid, enum codec_err err)
{
	struct h1 *c = h1_of(cc);
	struct h1_stream *s = h1_find(c, sid);

	if (!s)
		return -ENOENT;
	if (c->base.role == CODEC_CLIENT) {
		/* The request is abandoned mid-way: nothing else can use this connection. */
		c->nst = 0;
		c->broken = true;
		return 0;
	}
	/* No per-stream reset in HTTP/1: what is queued goes out, then the connection closes. */
	s->internal = true;
	s->in_done = s->out_done = s->out_close = true;
	s->tunnel = false;
	if (s->sid == c->in_sid && c->phase != H1_P_HEAD)
		c->phase = H1_P_STOP;
	c->closing = true;
	h1_advance(c);
	return 0;
}

static void h1_consume(struct codec *cc, uint32_t sid, size_t n)
{
	struct h1 *c = h1_of(cc);

	c->unconsumed -= n < c->unconsumed ? n : c->unconsumed;
}

static void h1_shutdown(struct codec *cc)
{
	struct h1 *c = h1_of(cc);

	c->closing = true;
}

static size_t h1_output(struct codec *cc, const uint8_t **buf)
{
	struct h1 *c = h1_of(cc);

	/* Nothing allocated yet: a valid pointer all the same (NULL + 0 is UB). */
	*buf = c->out.p ? c->out.p + c->out.off : (const uint8_t *)"";
	return h1_obuf_pending(&c->out);
}

static void h1_output_done(struct codec *cc, size_t n)
{
	struct h1 *c = h1_of(cc);

	if (n > h1_obuf_pending(&c->out))
		n = h1_obuf_pending(&c->out);
	h1_obuf_drop(&c->out, n);
	c->written += n;
	if (h1_queued(c) >= H1_OUT_MAX)
		return;
	/*
	 * Room again: tell the streams that were turned away. Their ids are collected first,
	 * as a writable handler may submit and so retire streams under the loop.
	 */
	{
		uint32_t sids[H1_PIPE_MAX + 1];
		unsigned nb = 0;

		for (unsigned i = 0; i < c->nst && nb < H1_PIPE_MAX + 1; i++) {
			struct h1_stream *s = h1_nth(c, i);

			if (s->blocked) {
				s->blocked = false;
				sids[nb++] = s->sid;
			}
		}
		for (unsigned i = 0; i < nb; i++)
			if (h1_find(c, sids[i]) && c->ev->writable)
				c->ev->writable(c->arg, sids[i]);
	}
}

static bool h1_want_read(const struct codec *cc)
{
	struct h1 *c = h1_of(cc);

	if (c->broken || c->peer_eof || c->last_err || c->phase == H1_P_STOP)
		return false;
	if (c->unconsumed >= H1_FLOW_MAX && c->phase != H1_P_HEAD)
		return false;
	if (c->phase == H1_P_HEAD && !c->scan.bytes && !h1_may_start(c))
		return false;
	return true;
}

static bool h1_done(const struct codec *cc)
{
	struct h1 *c = h1_of(cc);

	if (h1_obuf_pending(&c->out))
		return false;
	return c->broken || (c->closing && !c->nst);
}

static unsigned h1_streams(const struct codec *cc)
{
	struct h1 *c = h1_of(cc);
	unsigned n = 0;

	for (unsigned i = 0; i < c->nst; i++)
		n += !h1_nth(c, i)->internal;
	return n;
}

static bool h1_can_open(const struct codec *cc)
{
	struct h1 *c = h1_of(cc);

	return c->base.role == CODEC_CLIENT && !c->nst && !c->closing && !c->broken &&
	       !c->peer_eof && c->phase == H1_P_HEAD;
}

static void h1_destroy(struct codec *cc)
{
	struct h1 *c = h1_of(cc);

	if (!c)
		return;
	for (unsigned i = 0; i < c->cap; i++)
		h1_obuf_fini(&c->st[i].held);
	free(c->st);
	h1_obuf_fini(&c->out);
	h1_obuf_fini(&c->msg.name);
	h1_obuf_fini(&c->msg.val);
	h1_obuf_fini(&c->msg.url);
	h1_obuf_fini(&c->msg.upgrade);
	http_head_fini(&c->msg.head);
	http_head_fini(&c->msg.trl);
	free(c);
}

static struct codec *h1_create(enum codec_role role, const struct codec_limits *lim,
			       const struct codec_events *ev, void *arg)
{
	struct h1 *c;

	if (!ev) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base.ops = &codec_h1;
	c->base.role = role;
	if (lim)
		c->lim = *lim;
	if (!c->lim.max_header_bytes)
		c->lim.max_header_bytes = HTTP_HEAD_MAX_DEFAULT;
	if (!c->lim.max_headers)
		c->lim.max_headers = H1_FIELDS_DEFAULT;
	if (!c->lim.max_pipelined)
		c->lim.max_pipelined = H1_PIPE_DEFAULT;
	if (c->lim.max_pipelined > H1_PIPE_MAX)
		c->lim.max_pipelined = H1_PIPE_MAX;
	c->ev = ev;
	c->arg = arg;
	/* One slot beyond the bound, for our own 400 behind a full pipeline. */
	c->cap = c->lim.max_pipelined + 1;
	c->st = calloc(c->cap, sizeof(*c->st));
	if (!c->st) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->next_sid = 1;
	http_head_init(&c->msg.head, role == CODEC_SERVER ? HTTP_REQUEST : HTTP_RESPONSE,
		       c->lim.max_header_bytes);
	http_head_init(&c->msg.trl, HTTP_TRAILERS, c->lim.max_header_bytes);
	llhttp_init(&c->parser, role == CODEC_SERVER ? LLHTTP_REQUEST : LLHTTP_RESPONSE,
		    &h1_settings);
	c->parser.data = c;
	return &c->base;
}

const struct codec_ops codec_h1 = {
    .name = "http/1.1",
    .create = h1_create,
    .destroy = h1_destroy,
    .input = h1_input,
    .output = h1_output,
    .output_done = h1_output_done,
    .submit_head = h1_submit_head,
    .submit_data = h1_submit_data,
    .submit_trailers = h1_submit_trailers,
    .reset = h1_reset,
    .consume = h1_consume,
    .shutdown = h1_shutdown,
    .want_read = h1_want_read,
    .done = h1_done,
    .streams = h1_streams,
    .can_open = h1_can_open,
};
