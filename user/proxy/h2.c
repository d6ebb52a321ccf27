// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP/2 codec (codec.h) on libnghttp2, sans-IO, in both roles. nghttp2 does the framing,
 * HPACK and RFC 9113 message checks; this file maps its callbacks onto codec events, keeps
 * flow control in the receiver's hands (no automatic WINDOW_UPDATE: credit returns only
 * through codec_consume()), bounds what it buffers for sending, and enforces the abuse limits
 * an agent facing untrusted Pods needs whatever the nghttp2 version does (rapid reset,
 * CONTINUATION, SETTINGS/PING ack and empty DATA floods, header list size, stream count).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>
#include <sys/mman.h>

#include <nghttp2/nghttp2.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "proxy/codec.h"

#define H2_MOD "h2"

/* Output is pulled from nghttp2 only while fewer bytes than this wait for the transport,
 * so a peer that does not read makes its own frames (acks) queue inside nghttp2, where
 * they are counted, instead of growing our buffer. */
#define H2_OUT_HIGH (32 * 1024)
/* Bytes a stream may queue beyond the send windows (so a small write never waits for a
 * WINDOW_UPDATE just to fill a frame) and at most in total, however large the windows. */
#define H2_SEND_SLACK 4096
#define H2_SENDQ_MAX  (256 * 1024)
#define H2_CONNQ_MAX  (1024 * 1024) /* all streams of a connection together */
/* Zero-length DATA frames without END_STREAM carry nothing: more than this many in a row
 * on a connection is a flood (the 2019 "empty frames" class, CVE-2019-9518). */
#define H2_MAX_EMPTY_DATA 100
/* The opaque data of the PING that follows a drain's first GOAWAY (8 bytes). */
#define H2_DRAIN_PING "weirdrn!"
/* Entries in one SETTINGS frame: there are 6 settings, repeats are only work. */
#define H2_MAX_SETTINGS_ENTRIES 32
/* SETTINGS identifiers a quiet connection remembers of its peer (RFC 9113 and 8441, 9218). */
#define H2_PEER_SETTINGS 9
/* The connection window every HTTP/2 connection starts with (RFC 9113 6.9.2). */
#define H2_INITIAL_WINDOW 65535

/* One stream's state on our side; nghttp2 holds it as stream user data. */
struct h2_stream {
	struct h2_stream *next, *prev; /* the codec's open streams */
	uint32_t sid;
	struct http_head in;	   /* the head or trailers being received */
	struct http_head *trail;   /* trailers submitted while data is still queued */
	uint8_t *q;		   /* data submitted, not yet taken by nghttp2 */
	size_t qoff, qlen, qcap;   /* q[qoff..qoff+qlen) waits */
	size_t unconsumed;	   /* bytes handed up, not yet given back by codec_consume */
	unsigned final_seen : 1;   /* client: a final (>= 200) response head arrived */
	unsigned head_raised : 1;  /* the receiver has seen a head for this stream */
	unsigned in_ended : 1;	   /* the incoming message ended (end event raised) */
	unsigned out_eof : 1;	   /* end_stream submitted: no more data after q */
	unsigned has_prd : 1;	   /* a data provider is attached to our message */
	unsigned deferred : 1;	   /* the data provider is waiting for submit_data */
	unsigned blocked : 1;	   /* submit_data returned short: raise writable later */
	unsigned oversize : 1;	   /* the incoming head broke a limit: answer 431 */
	unsigned local_reset : 1;  /* codec_reset() was called: no reset event back */
	unsigned resp_started : 1; /* server: a final response head was submitted */
};

/* A reset event noticed outside codec_input(), raised at the next input (events only
 * happen during input, per codec.h). */
struct h2_pending {
	uint32_t sid;
	enum codec_err err;
};

struct h2_codec {
	struct codec base;
	nghttp2_session *ng;
	struct codec_limits lim;
	const struct codec_events *ev;
	void *arg;
	struct h2_stream *streams; /* open streams, newest first */
	unsigned nstreams;
	uint8_t *out; /* serialized frames waiting for the transport */
	size_t out_off, out_len, out_cap;
	size_t queued; /* data bytes queued in all streams' q */
	/* Abuse accounting. */
	uint64_t acks_owed;	/* SETTINGS/PING received that nghttp2 still has to ack */
	uint64_t acks_in_out;	/* acks sitting in out[], not yet written */
	uint64_t rst_window_ns; /* start of the current one-second reset window */
	uint32_t rst_count;	/* RST_STREAM frames from the peer in that window */
	uint32_t continuations; /* CONTINUATION frames in the current header block */
	uint32_t empty_data;	/* zero-length DATA frames in a row */
	struct h2_pending *pend;
	size_t npend, cap_pend;
	uint32_t calm_reason;	  /* nonzero: an abuse limit tripped, GOAWAY ENHANCE_YOUR_CALM */
	unsigned in_input : 1;	  /* inside codec_input(): events may be raised now */
	unsigned in_recv : 1;	  /* inside nghttp2_session_mem_recv(): no mem_send now */
	unsigned fatal : 1;	  /* connection error: output what is queued, then close */
	unsigned shutdown : 1;	  /* codec_shutdown() was called */
	unsigned goaway_tx : 1;	  /* our final GOAWAY went out: no stream past it starts */
	unsigned goaway_rx : 1;	  /* the peer sent GOAWAY */
	unsigned local_acked : 1; /* the peer acked our SETTINGS */
	/*
	 * Quiet (server, ng NULL): what a new nghttp2 session must be told to continue the
	 * connection where the old one stopped; see h2_quiet().
	 */
	uint32_t peer_set[H2_PEER_SETTINGS + 1]; /* the peer's SETTINGS, by identifier */
	int32_t peer_window;			 /* the peer's connection window for our DATA */
	/*
	 * Woken with the peer's window for our DATA below the initial 65535, which a new
	 * session cannot be told (a WINDOW_UPDATE only grows it): nghttp2's view is this much
	 * larger than the truth for the rest of the connection, and h2_data_read() holds it back.
	 */
	int32_t send_deficit;
	unsigned deficit_blocked : 1; /* a stream waits for the peer's next connection credit */
};

static struct h2_codec *h2_of(struct codec *c)
{
	return (struct h2_codec *)c;
}

static const struct h2_codec *h2_of_const(const struct codec *c)
{
	return (const struct h2_codec *)c;
}

static struct h2_stream *h2_stream_get(struct h2_codec *h, int32_t sid)
{
	/* A quiet connection (no session) has no stream at all. */
	struct h2_stream *s = h->ng ? nghttp2_session_get_stream_user_data(h->ng, sid) : NULL;

	if (s || sid <= 0)
		return s;
	/*
	 * nghttp2 opens a stream of ours only when it serializes its HEADERS, which waits
	 * while output is backed up: until then only our list knows the stream.
	 */
	for (s = h->streams; s; s = s->next)
		if (s->sid == (uint32_t)sid)
			return s;
	return NULL;
}

static struct h2_stream *h2_stream_new(struct h2_codec *h, uint32_t sid)
{
	struct h2_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->sid = sid;
	http_head_init(&s->in, HTTP_REQUEST, h->lim.max_header_bytes);
	s->next = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	h->nstreams++;
	return s;
}

static void h2_stream_free(struct h2_codec *h, struct h2_stream *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->nstreams--;
	h->queued -= s->qlen;
	http_head_fini(&s->in);
	if (s->trail) {
		http_head_fini(s->trail);
		free(s->trail);
	}
	free(s->q);
	free(s);
}

static enum codec_err h2_err_from_wire(uint32_t code)
{
	switch (code) {
	case NGHTTP2_REFUSED_STREAM:
		return CODEC_E_REFUSED;
	case NGHTTP2_CANCEL:
		return CODEC_E_CANCEL;
	case NGHTTP2_ENHANCE_YOUR_CALM:
		return CODEC_E_ENHANCE_CALM;
	case NGHTTP2_INTERNAL_ERROR:
		return CODEC_E_INTERNAL;
	default:
		return CODEC_E_PROTOCOL;
	}
}

static uint32_t h2_err_to_wire(enum codec_err err)
{
	switch (err) {
	case CODEC_E_NONE:
		return NGHTTP2_NO_ERROR;
	case CODEC_E_REFUSED:
		return NGHTTP2_REFUSED_STREAM;
	case CODEC_E_CANCEL:
		return NGHTTP2_CANCEL;
	case CODEC_E_ENHANCE_CALM:
		return NGHTTP2_ENHANCE_YOUR_CALM;
	case CODEC_E_INTERNAL:
		return NGHTTP2_INTERNAL_ERROR;
	case CODEC_E_HEADER_SIZE:
		/* No wire code for 431: the peer only learns the stream was refused. */
		return NGHTTP2_REFUSED_STREAM;
	default:
		return NGHTTP2_PROTOCOL_ERROR;
	}
}

/* Marks the connection as abusive: the input loop sends GOAWAY ENHANCE_YOUR_CALM. */
static void h2_goaway_final(struct h2_codec *h);

static int h2_calm(struct h2_codec *h, const char *what)
{
	if (!h->calm_reason)
		log_warn(H2_MOD, "peer %s: GOAWAY ENHANCE_YOUR_CALM", what);
	h->calm_reason = 1;
	return NGHTTP2_ERR_CALLBACK_FAILURE;
}

/*
 * Counts one stream reset by (or refused to) the peer in the current one-second window.
 * CVE-2023-44487: streams opened and reset at once cost us work and the peer nothing, and
 * never count against the concurrency limit. Returns true past max_resets_per_sec.
 */
static bool h2_count_reset(struct h2_codec *h)
{
	uint64_t now = clock_mono_ns();

	if (now - h->rst_window_ns >= 1000000000ull) {
		h->rst_window_ns = now;
		h->rst_count = 0;
	}
	return ++h->rst_count > h->lim.max_resets_per_sec;
}

/* A reset event for <sid>, now when inside input, else at the next input. */
static void h2_raise_reset(struct h2_codec *h, uint32_t sid, enum codec_err err)
{
	if (h->in_input) {
		if (h->ev->reset)
			h->ev->reset(h->arg, sid, err);
		return;
	}
	if (h->npend == h->cap_pend) {
		size_t cap = h->cap_pend ? h->cap_pend * 2 : 8;
		struct h2_pending *p = realloc(h->pend, cap * sizeof(*p));

		if (!p)
			return; /* the stream is gone either way; only the event is lost */
		h->pend = p;
		h->cap_pend = cap;
	}
	h->pend[h->npend].sid = sid;
	h->pend[h->npend].err = err;
	h->npend++;
}

/* ---- output ---- */

#define H2_OUT_MIN 4096 /* first size of the output buffer, and what idle keeps */

static int h2_out_append(struct h2_codec *h, const uint8_t *p, size_t n)
{
	if (h->out_off && h->out_off == h->out_len)
		h->out_off = h->out_len = 0;
	if (h->out_len + n > h->out_cap) {
		size_t cap = h->out_cap ? h->out_cap : H2_OUT_MIN;
		uint8_t *nb;

		/* Compact first: written bytes at the front are dead. */
		if (h->out_off) {
			memmove(h->out, h->out + h->out_off, h->out_len - h->out_off);
			h->out_len -= h->out_off;
			h->out_off = 0;
		}
		while (cap < h->out_len + n)
			cap *= 2;
		if (cap > h->out_cap) {
			nb = realloc(h->out, cap);
			if (!nb)
				return -ENOMEM;
			h->out = nb;
			h->out_cap = cap;
		}
	}
	memcpy(h->out + h->out_len, p, n);
	h->out_len += n;
	return 0;
}

/*
 * Moves frames from nghttp2 into out[] while fewer than H2_OUT_HIGH bytes wait (without
 * bound once the connection is failing: what is left is bounded acks and the GOAWAY).
 */
static void h2_pump(struct h2_codec *h)
{
	const uint8_t *p;
	ssize_t n;

	/*
	 * A callback of mem_recv (a head event answered at once) must not serialize: nghttp2
	 * may close a stream it still holds. codec_input() pumps once mem_recv returns.
	 */
	if (h->in_recv || !h->ng)
		return;
	while (h->fatal || h->out_len - h->out_off < H2_OUT_HIGH) {
		n = nghttp2_session_mem_send(h->ng, &p);
		if (n < 0) {
			log_warn(H2_MOD, "nghttp2 send: %s", nghttp2_strerror((int)n));
			h->fatal = 1;
			return;
		}
		if (n == 0)
			return;
		if (h2_out_append(h, p, (size_t)n)) {
			h->fatal = 1;
			return;
		}
	}
}

/* A GOAWAY written by hand, for when nghttp2 will not queue one (its state is broken). */
static void h2_goaway_raw(struct h2_codec *h, uint32_t code)
{
	uint32_t last = (uint32_t)nghttp2_session_get_last_proc_stream_id(h->ng);
	uint8_t f[17] = {0, 0, 8, NGHTTP2_GOAWAY, 0, 0, 0, 0, 0};

	f[9] = (uint8_t)(last >> 24) & 0x7f;
	f[10] = (uint8_t)(last >> 16);
	f[11] = (uint8_t)(last >> 8);
	f[12] = (uint8_t)last;
	f[13] = (uint8_t)(code >> 24);
	f[14] = (uint8_t)(code >> 16);
	f[15] = (uint8_t)(code >> 8);
	f[16] = (uint8_t)code;
	(void)h2_out_append(h, f, sizeof(f));
}

/* Ends the connection with GOAWAY <code>; every open stream gets a reset event. */
static void h2_fail(struct h2_codec *h, uint32_t code)
{
	if (h->fatal)
		return;
	if (nghttp2_session_terminate_session(h->ng, code) == 0) {
		h->fatal = 1;
		h2_pump(h);
	} else {
		h->fatal = 1;
		h2_goaway_raw(h, code);
	}
}

/* ---- data provider: nghttp2 pulls our queued bytes ---- */

static int h2_nv_build(const struct http_head *hd, nghttp2_nv **nvp, size_t *nnv, char status[4]);

/*
 * nghttp2 asks for the next DATA payload of stream <sid>: up to <len> bytes from the stream's
 * queue. An empty queue before end_stream defers the stream until submit_data resumes it,
 * so nghttp2 never polls and never holds a copy of what the exchange has not sent yet.
 */
static ssize_t h2_data_read(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len,
			    uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct h2_codec *h = user;
	struct h2_stream *s = h2_stream_get(h, sid);
	size_t n;

	if (!s)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (h->send_deficit && s->qlen) {
		int32_t room = nghttp2_session_get_remote_window_size(ng) - h->send_deficit;

		if (room <= 0) { /* resumed by the peer's next WINDOW_UPDATE on stream 0 */
			s->deferred = 1;
			h->deficit_blocked = 1;
			return NGHTTP2_ERR_DEFERRED;
		}
		if (len > (size_t)room)
			len = (size_t)room;
	}
	n = s->qlen < len ? s->qlen : len;
	if (n) {
		memcpy(buf, s->q + s->qoff, n);
		s->qoff += n;
		s->qlen -= n;
		h->queued -= n;
		if (!s->qlen)
			s->qoff = 0;
	}
	if (!s->qlen && s->out_eof) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (s->trail) {
			/* Trailers end the stream instead of this DATA frame (RFC 9113 8.1). */
			nghttp2_nv *nv;
			size_t nnv;
			char unused[4];
			int rv;

			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			if (h2_nv_build(s->trail, &nv, &nnv, unused))
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
			rv = nghttp2_submit_trailer(ng, sid, nv, nnv); /* copies <nv> */
			free(nv);
			if (rv)
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		}
		return (ssize_t)n;
	}
	if (!n) {
		s->deferred = 1;
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

/* ---- receive callbacks ---- */

static int h2_on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *user)
{
	struct h2_codec *h = user;

	/*
	 * CVE-2024-27316: a header block split into endless CONTINUATION frames makes a
	 * server buffer or decode without bound before any limit on the whole head applies.
	 * Counted here, per frame, before the payload is read.
	 */
	if (hd->type == NGHTTP2_HEADERS) {
		h->continuations = 0;
		/*
		 * A new stream past the limit is refused (by nghttp2 before any other callback,
		 * or in h2_on_begin_headers): each refusal makes us send a RST, so it spends the
		 * same budget as a reset from the peer.
		 */
		if (h->base.role == CODEC_SERVER && (hd->stream_id & 1) &&
		    !nghttp2_session_find_stream(ng, hd->stream_id) &&
		    h->nstreams >= h->lim.max_concurrent_streams && h2_count_reset(h))
			return h2_calm(h, "stream refusal flood");
	} else if (hd->type == NGHTTP2_CONTINUATION) {
		if (++h->continuations > h->lim.max_continuations)
			return h2_calm(h, "CONTINUATION flood");
	}
	return 0;
}

/*
 * A HEADERS frame starts: a new request (server role), or on a known stream a response, a
 * final response after 1xx, or trailers. The stream object exists before any field arrives
 * so that limits are counted per head from the first byte.
 */
static int h2_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
	struct h2_codec *h = user;
	struct h2_stream *s;

	if (f->hd.type != NGHTTP2_HEADERS)
		return 0;
	s = h2_stream_get(h, f->hd.stream_id);
	if (!s && f->headers.cat == NGHTTP2_HCAT_REQUEST && h->base.role == CODEC_SERVER) {
		/*
		 * nghttp2 refuses streams past the limit it advertised only once the SETTINGS
		 * is acknowledged; until then the peer may open any number. Count them here.
		 */
		if (h->nstreams >= h->lim.max_concurrent_streams || h->goaway_tx) {
			nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id,
						  NGHTTP2_REFUSED_STREAM);
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		}
		s = h2_stream_new(h, (uint32_t)f->hd.stream_id);
		if (!s)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, s);
		return 0;
	}
	if (!s)
		return 0;
	/* A response after 1xx, or trailers: a fresh head of the right kind. */
	if (h->base.role == CODEC_CLIENT && !s->final_seen)
		http_head_reset(&s->in, HTTP_RESPONSE);
	else
		http_head_reset(&s->in, HTTP_TRAILERS);
	s->oversize = 0;
	return 0;
}

static int h2_parse_status(const uint8_t *v, size_t len)
{
	int st = 0;

	if (len != 3)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		st = st * 10 + (v[i] - '0');
	}
	return st;
}

static int h2_store_pseudo(struct http_head *hd, const uint8_t *name, size_t nlen, const uint8_t *v,
			   size_t vlen)
{
	struct http_str *dst = NULL;

	if (nlen == 7 && !memcmp(name, ":method", 7))
		dst = &hd->method;
	else if (nlen == 7 && !memcmp(name, ":scheme", 7))
		dst = &hd->scheme;
	else if (nlen == 10 && !memcmp(name, ":authority", 10))
		dst = &hd->authority;
	else if (nlen == 5 && !memcmp(name, ":path", 5))
		dst = &hd->path;
	else if (nlen == 7 && !memcmp(name, ":status", 7)) {
		int st = h2_parse_status(v, vlen);

		if (st < 100 || st > 599)
			return -EINVAL;
		hd->status = (uint16_t)st;
		return 0;
	}
	if (!dst)
		return 0; /* :protocol (extended CONNECT) and others: nghttp2 judged them */
	return http_head_str(hd, (const char *)v, vlen, dst);
}

static int64_t h2_parse_length(const uint8_t *v, size_t len)
{
	int64_t n = 0;

	if (!len || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

/*
 * One decoded field. nghttp2 has already applied RFC 9113 8.2 (lower case, no connection-
 * specific fields, pseudo-headers first and once, te only "trailers"): a field that fails
 * never reaches us and the stream gets RST_STREAM PROTOCOL_ERROR. What is left to check here
 * is size, which nghttp2 leaves to the application.
 */
static int h2_on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
			size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
	struct h2_codec *h = user;
	struct h2_stream *s = h2_stream_get(h, f->hd.stream_id);
	int err;

	if (!s || f->hd.type != NGHTTP2_HEADERS || s->oversize)
		return 0;
	if (nlen && name[0] == ':')
		err = h2_store_pseudo(&s->in, name, nlen, value, vlen);
	else if (s->in.nhdrs >= h->lim.max_headers)
		err = -E2BIG;
	else
		err = http_head_add(&s->in, (const char *)name, nlen, (const char *)value, vlen);
	if (err == -E2BIG) {
		/* Keep decoding (HPACK state must stay in step) but store nothing more. */
		s->oversize = 1;
		return 0;
	}
	if (err)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM INTERNAL_ERROR */
	if (nlen == 14 && !memcmp(name, "content-length", 14))
		s->in.content_length = h2_parse_length(value, vlen);
	return 0;
}

/* Server role: the request head broke a limit. Answer 431 and stop the request. */
static void h2_answer_431(struct h2_codec *h, struct h2_stream *s, bool peer_done)
{
	static const nghttp2_nv nv[] = {
	    {(uint8_t *)":status", (uint8_t *)"431", 7, 3, NGHTTP2_NV_FLAG_NONE},
	    {(uint8_t *)"content-length", (uint8_t *)"0", 14, 1, NGHTTP2_NV_FLAG_NONE},
	};

	s->head_raised = 1;
	s->in_ended = 1;
	/* The exchange may answer itself (with its own body) from inside the event. */
	h2_raise_reset(h, s->sid, CODEC_E_HEADER_SIZE);
	if (!s->resp_started) {
		s->resp_started = 1;
		nghttp2_submit_response(h->ng, (int32_t)s->sid, nv, 2, NULL);
	}
	/* RFC 9113 8.1: after a complete response, NO_ERROR asks the client to stop sending. */
	if (!peer_done)
		nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, (int32_t)s->sid,
					  NGHTTP2_NO_ERROR);
}

/* The head of <s> is complete: hand it up as a head or trailers event. */
static void h2_head_done(struct h2_codec *h, struct h2_stream *s, bool end)
{
	struct http_head *hd = &s->in;

	hd->version = HTTP_V2;
	if (hd->kind == HTTP_TRAILERS) {
		s->in_ended = 1;
		if (h->ev->trailers)
			h->ev->trailers(h->arg, s->sid, hd);
		return;
	}
	if (hd->kind == HTTP_REQUEST && !hd->authority.len) {
		size_t vlen;
		const char *host = http_head_get(hd, "host", 4, &vlen);

		/* RFC 9113 8.3.1: without :authority, Host carries it. */
		if (host) {
			struct http_str tmp;

			if (http_head_str(hd, host, vlen, &tmp) == 0)
				hd->authority = tmp;
		}
	}
	if (hd->kind == HTTP_RESPONSE && hd->status >= 200)
		s->final_seen = 1;
	if (end && (hd->kind == HTTP_REQUEST || s->final_seen))
		s->in_ended = 1;
	s->head_raised = 1;
	if (h->ev->head)
		h->ev->head(h->arg, s->sid, hd, end);
}

/*
 * GOAWAY with <last>: our requests above it that nghttp2 has not even opened (their HEADERS
 * wait behind backed-up output) will never leave. Tell the receiver now, while inside
 * input, rather than when nghttp2 drops them during some later output call; the opened
 * ones nghttp2 closes itself with REFUSED_STREAM.
 */
static void h2_refuse_unsent(struct h2_codec *h, uint32_t last)
{
	struct h2_stream *s;

	if (h->base.role != CODEC_CLIENT)
		return;
	for (s = h->streams; s; s = s->next) {
		if (s->sid <= last || s->local_reset ||
		    nghttp2_session_find_stream(h->ng, (int32_t)s->sid))
			continue;
		s->local_reset = 1; /* h2_on_frame_not_send frees it without a second event */
		h2_raise_reset(h, s->sid, CODEC_E_REFUSED);
	}
}

/*
 * A whole frame arrived (HEADERS after its last CONTINUATION). Frame-level abuse is counted
 * here; returning a callback failure stops parsing at once, and codec_input() turns the
 * mark into GOAWAY ENHANCE_YOUR_CALM.
 */
static int h2_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
	struct h2_codec *h = user;
	struct h2_stream *s;
	bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;

	switch (f->hd.type) {
	case NGHTTP2_HEADERS:
		h->empty_data = 0;
		s = h2_stream_get(h, f->hd.stream_id);
		if (!s)
			break;
		if (s->oversize) {
			if (h->base.role == CODEC_SERVER && s->in.kind == HTTP_REQUEST) {
				h2_answer_431(h, s, end);
			} else {
				s->in_ended = 1;
				h2_raise_reset(h, s->sid, CODEC_E_HEADER_SIZE);
				s->local_reset = 1;
				nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id,
							  NGHTTP2_CANCEL);
			}
			break;
		}
		h2_head_done(h, s, end);
		break;
	case NGHTTP2_DATA:
		if (f->hd.length == 0 && !end) {
			if (++h->empty_data > H2_MAX_EMPTY_DATA)
				return h2_calm(h, "empty DATA flood");
			break;
		}
		h->empty_data = 0;
		s = h2_stream_get(h, f->hd.stream_id);
		if (s && end && !s->in_ended) {
			s->in_ended = 1;
			if (h->ev->data)
				h->ev->data(h->arg, s->sid, NULL, 0, true);
		}
		break;
	case NGHTTP2_SETTINGS:
	case NGHTTP2_PING:
		if (f->hd.flags & NGHTTP2_FLAG_ACK) {
			if (f->hd.type == NGHTTP2_SETTINGS)
				h->local_acked = 1;
			if (f->hd.type == NGHTTP2_PING && h->shutdown && !h->goaway_tx &&
			    !memcmp(f->ping.opaque_data, H2_DRAIN_PING, 8))
				h2_goaway_final(h);
			break;
		}
		/* Acks the peer makes us owe: bounded, whether or not it reads them. */
		if (++h->acks_owed + h->acks_in_out > h->lim.max_control_frames)
			return h2_calm(h, f->hd.type == NGHTTP2_PING ? "PING flood"
								     : "SETTINGS flood");
		break;
	case NGHTTP2_WINDOW_UPDATE:
		/* Credit for the connection: streams held back by the deficit may go on. */
		if (f->hd.stream_id == 0 && h->deficit_blocked) {
			h->deficit_blocked = 0;
			for (s = h->streams; s; s = s->next)
				if (s->deferred && s->qlen) {
					s->deferred = 0;
					nghttp2_session_resume_data(ng, (int32_t)s->sid);
				}
		}
		break;
	case NGHTTP2_RST_STREAM:
		if (h2_count_reset(h))
			return h2_calm(h, "rapid reset");
		break;
	case NGHTTP2_GOAWAY:
		h->goaway_rx = 1;
		h2_refuse_unsent(h, (uint32_t)f->goaway.last_stream_id);
		if (h->ev->goaway)
			h->ev->goaway(h->arg);
		break;
	default:
		break;
	}
	return 0;
}

/* Body bytes of <sid>: handed up, and counted until the receiver consumes them. */
static int h2_on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t sid, const uint8_t *data,
			    size_t len, void *user)
{
	struct h2_codec *h = user;
	struct h2_stream *s = h2_stream_get(h, sid);

	if (!s) {
		/* Nobody will consume it: give the connection credit back now. */
		nghttp2_session_consume_connection(ng, len);
		return 0;
	}
	if (s->oversize || s->in_ended) {
		nghttp2_session_consume(ng, sid, len);
		return 0;
	}
	s->unconsumed += len;
	if (h->ev->data)
		h->ev->data(h->arg, s->sid, data, len, false);
	return 0;
}

/*
 * Stream <sid> is closed both ways, cleanly or not. The receiver hears of abnormal ends
 * only: a clean close follows end events it already had.
 */
static int h2_on_stream_close(nghttp2_session *ng, int32_t sid, uint32_t code, void *user)
{
	struct h2_codec *h = user;
	struct h2_stream *s = h2_stream_get(h, sid);
	bool raise;

	if (!s)
		return 0;
	/*
	 * A closed stream's unconsumed bytes still hold connection credit. The receiver may
	 * drop them without consuming (a reset), and one forgotten credit would stall every
	 * stream for good, so it returns now; the overshoot is at most one stream window.
	 */
	if (s->unconsumed)
		nghttp2_session_consume_connection(ng, s->unconsumed);
	raise = !s->local_reset && (code != NGHTTP2_NO_ERROR || !s->in_ended);
	if (h->base.role == CODEC_SERVER && !s->head_raised)
		raise = false; /* the exchange never heard of it */
	if (raise)
		h2_raise_reset(h, s->sid,
			       code == NGHTTP2_NO_ERROR ? CODEC_E_CANCEL : h2_err_from_wire(code));
	nghttp2_session_set_stream_user_data(ng, sid, NULL);
	h2_stream_free(h, s);
	return 0;
}

/* Acks leaving nghttp2 move from "owed" to "in out[]": both count against the bound. */
static int h2_on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
	struct h2_codec *h = user;

	if ((f->hd.type == NGHTTP2_SETTINGS || f->hd.type == NGHTTP2_PING) &&
	    (f->hd.flags & NGHTTP2_FLAG_ACK)) {
		if (h->acks_owed)
			h->acks_owed--;
		h->acks_in_out++;
	}
	return 0;
}

static int h2_on_frame_not_send(nghttp2_session *ng, const nghttp2_frame *f, int lib_err,
				void *user)
{
	struct h2_codec *h = user;
	struct h2_stream *s;

	/* A request that could not start (GOAWAY came first): refused, safe to retry. */
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	s = h2_stream_get(h, f->hd.stream_id);
	if (!s)
		return 0;
	if (!s->local_reset) {
		s->local_reset = 1;
		h2_raise_reset(h, s->sid, CODEC_E_REFUSED);
	}
	/* nghttp2 never opened it (also a request reset before it left): no close follows. */
	if (!nghttp2_session_find_stream(ng, f->hd.stream_id))
		h2_stream_free(h, s);
	return 0;
}

/* ---- codec_ops ---- */

/* Copies <in> (may be NULL) into <l> with codec.h's defaults for zero fields. */
static void h2_limits(struct codec_limits *l, const struct codec_limits *in)
{
	memset(l, 0, sizeof(*l));
	if (in)
		*l = *in;
	if (!l->max_header_bytes)
		l->max_header_bytes = HTTP_HEAD_MAX_DEFAULT;
	if (!l->max_headers)
		l->max_headers = 100;
	if (!l->max_concurrent_streams)
		l->max_concurrent_streams = 100;
	if (!l->stream_window)
		l->stream_window = 65535;
	if (!l->conn_window)
		l->conn_window = 1024 * 1024;
	if (!l->max_resets_per_sec)
		l->max_resets_per_sec = 200;
	if (!l->max_control_frames)
		l->max_control_frames = 1000;
	if (!l->max_continuations)
		l->max_continuations = 16;
	if (l->stream_window > NGHTTP2_MAX_WINDOW_SIZE)
		l->stream_window = NGHTTP2_MAX_WINDOW_SIZE;
	if (l->conn_window > NGHTTP2_MAX_WINDOW_SIZE)
		l->conn_window = NGHTTP2_MAX_WINDOW_SIZE;
}

/*
 * nghttp2's large blocks (its 16 KiB frame buffer, the 4 KiB stream map) come from their own
 * mappings, so a session that goes quiet gives them back to the kernel whole, instead of
 * leaving page-sized holes among the small live objects of the heap. A header in front of
 * each block keeps its size (nghttp2's free does not pass it).
 */
#define H2_MMAP_MIN 4096
#define H2_MEM_HDR  16

static void *h2_mem_map(size_t size, bool zero)
{
	size_t len = size + H2_MEM_HDR;
	uint8_t *p;

	if (size < H2_MMAP_MIN) {
		p = zero ? calloc(1, len) : malloc(len);
		if (!p)
			return NULL;
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
	}
	memcpy(p, &size, sizeof(size));
	return p + H2_MEM_HDR;
}

static void h2_mem_free(void *ptr, void *user)
{
	uint8_t *p = ptr;
	size_t size;

	if (!p)
		return;
	p -= H2_MEM_HDR;
	memcpy(&size, p, sizeof(size));
	if (size < H2_MMAP_MIN)
		free(p);
	else
		munmap(p, size + H2_MEM_HDR);
}

static void *h2_mem_malloc(size_t size, void *user)
{
	return h2_mem_map(size, false);
}

static void *h2_mem_calloc(size_t n, size_t size, void *user)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return h2_mem_map(n * size, true);
}

static void *h2_mem_realloc(void *ptr, size_t size, void *user)
{
	uint8_t *q;
	size_t old;

	if (!ptr)
		return h2_mem_map(size, false);
	memcpy(&old, (uint8_t *)ptr - H2_MEM_HDR, sizeof(old));
	q = h2_mem_map(size, false);
	if (!q)
		return NULL;
	memcpy(q, ptr, old < size ? old : size);
	h2_mem_free(ptr, user);
	return q;
}

static nghttp2_mem h2_mem = {
    .malloc = h2_mem_malloc,
    .free = h2_mem_free,
    .calloc = h2_mem_calloc,
    .realloc = h2_mem_realloc,
};

/*
 * The nghttp2 session of <h> in its role, with our callbacks and options; <resume>: for a
 * connection that is already past its preface (h2_wake()).
 */
static int h2_session_new(struct h2_codec *h, bool resume)
{
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	int rv;

	if (nghttp2_session_callbacks_new(&cb))
		return -ENOMEM;
	if (nghttp2_option_new(&opt)) {
		nghttp2_session_callbacks_del(cb);
		return -ENOMEM;
	}
	nghttp2_session_callbacks_set_on_begin_frame_callback(cb, h2_on_begin_frame);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, h2_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_on_stream_close);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, h2_on_frame_send);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, h2_on_frame_not_send);

	/* Credit is the receiver's to return (codec_consume), never automatic. */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* nghttp2's own flood guards sit above ours, as a backstop. */
	nghttp2_option_set_max_outbound_ack(opt, h->lim.max_control_frames + 16);
	nghttp2_option_set_max_settings(opt, H2_MAX_SETTINGS_ENTRIES);
	nghttp2_option_set_max_continuations(opt, h->lim.max_continuations + 1);
	nghttp2_option_set_stream_reset_rate_limit(opt, 2ull * h->lim.max_resets_per_sec + 16,
						   h->lim.max_resets_per_sec + 1);
	/* Until the peer's SETTINGS arrive, assume it allows what we allow. */
	nghttp2_option_set_peer_max_concurrent_streams(opt, h->lim.max_concurrent_streams);
	nghttp2_option_set_no_closed_streams(opt, 0);
	if (h->base.role == CODEC_SERVER) {
		/*
		 * No HPACK dynamic table either way on a downstream connection (our SETTINGS say
		 * HEADER_TABLE_SIZE 0 to the client's encoder): a quiet connection then holds no
		 * compression state, so its session can go and come back (h2_quiet()). The hop is
		 * node-local, where the bytes saved by indexing cost more than they save.
		 */
		nghttp2_option_set_max_deflate_dynamic_table_size(opt, 0);
		nghttp2_option_set_no_recv_client_magic(opt, resume);
	}

	if (h->base.role == CODEC_SERVER)
		rv = nghttp2_session_server_new3(&h->ng, cb, h, opt, &h2_mem);
	else
		rv = nghttp2_session_client_new2(&h->ng, cb, h, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	return rv ? -ENOMEM : 0;
}

/*
 * Our SETTINGS into <set> (room for 5); returns how many. A server asks for no HPACK
 * dynamic table, except when <resume>: the peer acked that already, and a new inflater
 * told so again would wait for a table size update the peer has no reason to send.
 */
static int h2_settings(const struct h2_codec *h, nghttp2_settings_entry *set, bool resume)
{
	int n = 0;

	set[n].settings_id = NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS;
	set[n++].value = h->lim.max_concurrent_streams;
	set[n].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
	set[n++].value = h->lim.stream_window;
	/* Advisory (RFC 9113 6.5.2): names + values + 32 per field, as the RFC counts. */
	set[n].settings_id = NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE;
	set[n++].value = h->lim.max_header_bytes + 32 * h->lim.max_headers;
	if (h->base.role == CODEC_CLIENT) {
		set[n].settings_id = NGHTTP2_SETTINGS_ENABLE_PUSH;
		set[n++].value = 0;
	} else if (!resume) {
		set[n].settings_id = NGHTTP2_SETTINGS_HEADER_TABLE_SIZE;
		set[n++].value = 0;
	}
	return n;
}

static struct codec *h2_create(enum codec_role role, const struct codec_limits *lim,
			       const struct codec_events *ev, void *arg)
{
	struct h2_codec *h = calloc(1, sizeof(*h));
	nghttp2_settings_entry set[5];
	int err;

	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	h->base.ops = &codec_h2;
	h->base.role = role;
	h->ev = ev;
	h->arg = arg;
	h2_limits(&h->lim, lim);
	err = h2_session_new(h, false);
	if (err)
		goto out_free;
	if (nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, set,
				    (size_t)h2_settings(h, set, false)) ||
	    nghttp2_session_set_local_window_size(h->ng, NGHTTP2_FLAG_NONE, 0,
						  (int32_t)h->lim.conn_window)) {
		err = -ENOMEM;
		goto out_session;
	}
	/* The client's preface and SETTINGS are its first output; the server's SETTINGS too. */
	h2_pump(h);
	if (h->fatal) {
		err = -ENOMEM;
		goto out_session;
	}
	return &h->base;

out_session:
	nghttp2_session_del(h->ng);
out_free:
	free(h->out);
	free(h);
	errno = -err;
	return NULL;
}

static void h2_destroy(struct codec *c)
{
	struct h2_codec *h = h2_of(c);

	/* Streams first, so nghttp2's close callbacks (none fire on del) find nothing. */
	while (h->streams) {
		nghttp2_session_set_stream_user_data(h->ng, (int32_t)h->streams->sid, NULL);
		h2_stream_free(h, h->streams);
	}
	nghttp2_session_del(h->ng);
	free(h->pend);
	free(h->out);
	free(h);
}

static size_t h2_allowance(struct h2_codec *h, struct h2_stream *s);

/* Raises writable for blocked streams whose send allowance opened. */
static void h2_raise_writable(struct h2_codec *h)
{
	struct h2_stream *s, *next;

	for (s = h->streams; s; s = next) {
		next = s->next; /* the callback may reset <s> */
		if (!s->blocked || h2_allowance(h, s) == 0)
			continue;
		s->blocked = 0;
		if (h->ev->writable)
			h->ev->writable(h->arg, s->sid);
	}
}

/* ---- quiet connections ---- */

/*
 * An idle downstream connection needs none of its nghttp2 session (about 25 KiB: a 16 KiB
 * frame buffer, the stream map, the HPACK tables) to wait for the next request, only what
 * the peer believes of the connection. h2_quiet() writes that down and frees the session;
 * h2_wake() builds a new one and replays the peer's point of view into it before the peer's
 * next bytes: its SETTINGS (as if received again, the ack swallowed), ours (as if acked),
 * both connection windows. What it does not need: HPACK state (none, see h2_session_new()),
 * stream ids (nghttp2 takes any higher id), open streams (none by definition).
 */

/* Writes a frame header for <len> payload bytes of <type> with <flags> on stream 0. */
static void h2_frame_hd(uint8_t *p, size_t len, uint8_t type, uint8_t flags)
{
	p[0] = (uint8_t)(len >> 16);
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	p[3] = type;
	p[4] = flags;
	p[5] = p[6] = p[7] = p[8] = 0;
}

static void h2_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Feeds <len> bytes we made up as if the peer had sent them; 0 or -EPROTO. */
static int h2_replay(struct h2_codec *h, const uint8_t *f, size_t len)
{
	ssize_t n;

	h->in_recv = 1;
	n = nghttp2_session_mem_recv(h->ng, f, len);
	h->in_recv = 0;
	return n == (ssize_t)len ? 0 : -EPROTO;
}

/* A new session that continues the connection <h> left quiet. 0 or -errno (then fatal). */
static int h2_wake(struct h2_codec *h)
{
	uint8_t f[9 + 6 * H2_PEER_SETTINGS];
	nghttp2_settings_entry set[5];
	const uint8_t *p;
	size_t n = 0;
	ssize_t r;
	int err;

	if (h->ng)
		return 0;
	err = h2_session_new(h, true);
	if (err)
		goto fail;
	err = -EPROTO;
	/* Their SETTINGS first (a session expects them first), every value they have now;
	 * CONNECT and priority settings only when set, as nghttp2 refuses turning them off. */
	for (uint32_t id = 1; id <= H2_PEER_SETTINGS; id++) {
		if (id == 7 || (id > 6 && !h->peer_set[id]))
			continue;
		f[9 + 6 * n] = (uint8_t)(id >> 8);
		f[10 + 6 * n] = (uint8_t)id;
		h2_put32(f + 11 + 6 * n, h->peer_set[id]);
		n++;
	}
	h2_frame_hd(f, 6 * n, NGHTTP2_SETTINGS, NGHTTP2_FLAG_NONE);
	if (h2_replay(h, f, 9 + 6 * n))
		goto fail;
	/* Ours, and our connection window: the peer has had both since the preface. */
	if (nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, set,
				    (size_t)h2_settings(h, set, true)) ||
	    nghttp2_session_set_local_window_size(h->ng, NGHTTP2_FLAG_NONE, 0,
						  (int32_t)h->lim.conn_window))
		goto fail;
	/* What that queued (our SETTINGS, a WINDOW_UPDATE, the ack of theirs) the peer has. */
	while ((r = nghttp2_session_mem_send(h->ng, &p)) > 0)
		;
	if (r < 0)
		goto fail;
	h2_frame_hd(f, 0, NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK);
	if (h2_replay(h, f, 9))
		goto fail;
	h->send_deficit =
	    h->peer_window < H2_INITIAL_WINDOW ? H2_INITIAL_WINDOW - h->peer_window : 0;
	h->deficit_blocked = 0;
	if (h->peer_window > H2_INITIAL_WINDOW) {
		h2_frame_hd(f, 4, NGHTTP2_WINDOW_UPDATE, NGHTTP2_FLAG_NONE);
		h2_put32(f + 9, (uint32_t)(h->peer_window - H2_INITIAL_WINDOW));
		if (h2_replay(h, f, 13))
			goto fail;
	}
	h->acks_owed = h->acks_in_out = 0;
	return 0;
fail:
	log_warn(H2_MOD, "cannot resume a quiet connection: %s", strerror(-err));
	h->fatal = 1;
	return err;
}

static int h2_quiet(struct codec *c)
{
	struct h2_codec *h = h2_of(c);
	int32_t owed;

	if (c->role == CODEC_SERVER && !h->ng && !h->fatal)
		return 2; /* quiet already */
	if (c->role != CODEC_SERVER || !h->ng || h->fatal || h->shutdown || h->goaway_tx ||
	    h->goaway_rx || h->streams || h->npend || !h->local_acked || h->in_input)
		return 0;
	if (h->out_len || nghttp2_session_want_write(h->ng))
		return 0;
	/*
	 * Credit for data already consumed but not yet returned would be owed by a session
	 * that does not know it: return it now, and go quiet once that has been written.
	 */
	owed = nghttp2_session_get_effective_recv_data_length(h->ng);
	if (owed > 0) {
		if (nghttp2_submit_window_update(h->ng, NGHTTP2_FLAG_NONE, 0, owed) == 0)
			h2_pump(h);
		return 0;
	}
	/* The true window, past any deficit of an earlier wake; h2_wake() replays it. */
	h->peer_window = nghttp2_session_get_remote_window_size(h->ng) - h->send_deficit;
	if (h->peer_window < 0)
		return 0;
	for (uint32_t id = 1; id <= H2_PEER_SETTINGS; id++)
		h->peer_set[id] = id == 7 ? 0 : nghttp2_session_get_remote_settings(h->ng, id);
	nghttp2_session_del(h->ng);
	h->ng = NULL;
	free(h->out);
	h->out = NULL;
	h->out_cap = 0;
	free(h->pend);
	h->pend = NULL;
	h->cap_pend = 0;
	return 1;
}

/*
 * Feeds the peer's bytes to nghttp2. It consumes everything it is given (the windows bound
 * the peer, so input never pauses), or fails: then GOAWAY is queued and the codec is done.
 */
static ssize_t h2_input(struct codec *c, const uint8_t *buf, size_t len)
{
	struct h2_codec *h = h2_of(c);
	ssize_t n;

	if (h->fatal || h2_wake(h))
		return -EPIPE;
	h->in_input = 1;
	for (size_t i = 0; i < h->npend; i++)
		if (h->ev->reset)
			h->ev->reset(h->arg, h->pend[i].sid, h->pend[i].err);
	h->npend = 0;
	h->in_recv = 1;
	n = nghttp2_session_mem_recv(h->ng, buf, len);
	h->in_recv = 0;
	if (h->calm_reason) {
		h2_fail(h, NGHTTP2_ENHANCE_YOUR_CALM);
		n = -EPROTO;
	} else if (n < 0) {
		log_warn(H2_MOD, "peer broke HTTP/2 framing: %s", nghttp2_strerror((int)n));
		/* nghttp2 queued its GOAWAY for most errors; a bad preface gets ours. */
		h2_fail(h, n == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM
						    : NGHTTP2_PROTOCOL_ERROR);
		n = -EPROTO;
	} else {
		h2_pump(h);
		h2_raise_writable(h);
	}
	h2_pump(h);
	h->in_input = 0;
	return n;
}

static size_t h2_output(struct codec *c, const uint8_t **buf)
{
	struct h2_codec *h = h2_of(c);

	h2_pump(h);
	/* Nothing allocated (an idle connection gave its buffer back): still a valid pointer. */
	*buf = h->out ? h->out + h->out_off : (const uint8_t *)"";
	return h->out_len - h->out_off;
}

static void h2_output_done(struct codec *c, size_t n)
{
	struct h2_codec *h = h2_of(c);
	size_t left = h->out_len - h->out_off;

	h->out_off += n < left ? n : left;
	if (h->out_off == h->out_len) {
		h->out_off = h->out_len = 0;
		h->acks_in_out = 0; /* the peer has been sent all acks it is owed so far */
	}
	/*
	 * Draining output lets nghttp2 take queued data, which frees room in a stream's
	 * bounded queue even when the peer's window is large and no WINDOW_UPDATE (input) is
	 * coming: the one place besides input where writable is raised (codec.h allows it).
	 */
	if (!h->in_input && !h->fatal) {
		h2_pump(h);
		h2_raise_writable(h);
	}
	/* Idle with a grown buffer: give it back. Thousands of idle connections would
	 * otherwise each hold the largest burst they ever wrote (measured in bench/). */
	if (h->out_len == 0 && h->out_cap > H2_OUT_MIN) {
		free(h->out);
		h->out = NULL;
		h->out_cap = 0;
	}
}

/* Builds the nghttp2 header list of <head> into *<nvp> (caller frees). */
static int h2_nv_build(const struct http_head *hd, nghttp2_nv **nvp, size_t *nnv, char status[4])
{
	nghttp2_nv *nv = calloc(hd->nhdrs + 5, sizeof(*nv));
	size_t n = 0;

#define H2_NV(nm, nl, v, vl)                                                                       \
	do {                                                                                       \
		nv[n].name = (uint8_t *)(nm);                                                      \
		nv[n].namelen = (nl);                                                              \
		nv[n].value = (uint8_t *)(v);                                                      \
		nv[n].valuelen = (vl);                                                             \
		nv[n].flags = NGHTTP2_NV_FLAG_NONE;                                                \
		n++;                                                                               \
	} while (0)

	if (!nv)
		return -ENOMEM;
	if (hd->kind == HTTP_REQUEST) {
		if (!hd->method.len)
			goto out_inval;
		H2_NV(":method", 7, http_str_ptr(hd, hd->method), hd->method.len);
		if (hd->method.len == 7 && !memcmp(http_str_ptr(hd, hd->method), "CONNECT", 7)) {
			if (!hd->authority.len)
				goto out_inval;
		} else {
			if (!hd->path.len)
				goto out_inval;
			H2_NV(":scheme", 7, hd->scheme.len ? http_str_ptr(hd, hd->scheme) : "http",
			      hd->scheme.len ? hd->scheme.len : 4);
			H2_NV(":path", 5, http_str_ptr(hd, hd->path), hd->path.len);
		}
		if (hd->authority.len) {
			H2_NV(":authority", 10, http_str_ptr(hd, hd->authority), hd->authority.len);
		} else {
			size_t hl;
			const char *host = http_head_get(hd, "host", 4, &hl);

			/* An HTTP/1 request carries its authority in Host only. */
			if (host)
				H2_NV(":authority", 10, host, hl);
		}
	} else if (hd->kind == HTTP_RESPONSE) {
		if (hd->status < 100 || hd->status > 599)
			goto out_inval;
		status[0] = (char)('0' + hd->status / 100);
		status[1] = (char)('0' + hd->status / 10 % 10);
		status[2] = (char)('0' + hd->status % 10);
		status[3] = '\0';
		H2_NV(":status", 7, status, 3);
	}
	for (uint32_t i = 0; i < hd->nhdrs; i++) {
		const struct http_hdr *e = &hd->hdrs[i];
		const char *nm = http_str_ptr(hd, e->name);

		/* Connection-specific fields do not exist in HTTP/2 (RFC 9113 8.2.2). */
		if (http_str_ieq(nm, e->name.len, "connection") ||
		    http_str_ieq(nm, e->name.len, "keep-alive") ||
		    http_str_ieq(nm, e->name.len, "proxy-connection") ||
		    http_str_ieq(nm, e->name.len, "transfer-encoding") ||
		    http_str_ieq(nm, e->name.len, "upgrade") ||
		    (hd->kind == HTTP_REQUEST && http_str_ieq(nm, e->name.len, "host")))
			continue;
		if (http_str_ieq(nm, e->name.len, "te") &&
		    !http_str_ieq(http_str_ptr(hd, e->value), e->value.len, "trailers"))
			continue;
		if (e->name.len && nm[0] == ':')
			continue;
		H2_NV(nm, e->name.len, http_str_ptr(hd, e->value), e->value.len);
	}
#undef H2_NV
	*nvp = nv;
	*nnv = n;
	return 0;

out_inval:
	free(nv);
	return -EINVAL;
}

/*
 * Client: a request opens a stream (nghttp2 numbers it). Server: 1xx heads, then the final
 * response. A body to come attaches the data provider now: nghttp2 cannot add one later.
 */
static int h2_submit_head(struct codec *c, uint32_t *sid, const struct http_head *head,
			  bool end_stream)
{
	struct h2_codec *h = h2_of(c);
	nghttp2_data_provider prd = {.read_callback = h2_data_read};
	struct h2_stream *s = NULL;
	nghttp2_nv *nv;
	size_t nnv;
	char status[4];
	int32_t id;
	int err;

	if (h->fatal)
		return -EPIPE;
	if (!h->ng) /* quiet: a server has no stream to answer, a client never goes quiet */
		return -ENOENT;
	if (c->role == CODEC_CLIENT) {
		if (!c->ops->can_open(c))
			return -EAGAIN;
		if (head->kind != HTTP_REQUEST)
			return -EINVAL;
	} else {
		s = h2_stream_get(h, (int32_t)*sid);
		if (!s)
			return -ENOENT;
		if (head->kind != HTTP_RESPONSE || s->resp_started)
			return -EINVAL;
	}
	err = h2_nv_build(head, &nv, &nnv, status);
	if (err)
		return err;
	if (c->role == CODEC_CLIENT) {
		s = h2_stream_new(h, 0);
		if (!s) {
			free(nv);
			return -ENOMEM;
		}
		http_head_reset(&s->in, HTTP_RESPONSE);
		s->has_prd = !end_stream;
		id = nghttp2_submit_request(h->ng, NULL, nv, nnv, end_stream ? NULL : &prd, s);
		free(nv);
		if (id < 0) {
			h2_stream_free(h, s);
			return id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE ? -EAGAIN : -ENOMEM;
		}
		s->sid = (uint32_t)id;
		s->out_eof = end_stream;
		*sid = (uint32_t)id;
	} else if (head->status < 200) {
		if (end_stream) {
			free(nv);
			return -EINVAL; /* an informational head never ends a stream */
		}
		/* 1xx: an informational head; the final one follows. */
		err = nghttp2_submit_headers(h->ng, NGHTTP2_FLAG_NONE, (int32_t)*sid, NULL, nv, nnv,
					     NULL);
		free(nv);
		if (err)
			return -EINVAL;
	} else {
		s->resp_started = 1;
		s->has_prd = !end_stream;
		s->out_eof = end_stream;
		err = nghttp2_submit_response(h->ng, (int32_t)*sid, nv, nnv,
					      end_stream ? NULL : &prd);
		free(nv);
		if (err)
			return -EINVAL;
	}
	h2_pump(h);
	return 0;
}

/* Bytes stream <s> may queue now: its and the connection's send window, less what is queued
 * already, plus a little slack; never past H2_SENDQ_MAX per stream nor H2_CONNQ_MAX in all,
 * because a peer may advertise windows of 2 GiB and then not read. */
static size_t h2_allowance(struct h2_codec *h, struct h2_stream *s)
{
	int64_t sw = nghttp2_session_get_stream_remote_window_size(h->ng, (int32_t)s->sid);
	int64_t cw = nghttp2_session_get_remote_window_size(h->ng);
	int64_t a;

	if (sw < 0)
		sw = 0;
	sw -= (int64_t)s->qlen;
	cw -= (int64_t)h->queued;
	a = (sw < cw ? sw : cw) + H2_SEND_SLACK;
	if (a > (int64_t)(H2_SENDQ_MAX - s->qlen))
		a = (int64_t)(H2_SENDQ_MAX - s->qlen);
	if (a > (int64_t)H2_CONNQ_MAX - (int64_t)h->queued)
		a = (int64_t)H2_CONNQ_MAX - (int64_t)h->queued;
	return a > 0 ? (size_t)a : 0;
}

/* Queues what the allowance takes; short (or 0) marks the stream for a writable event. */
static ssize_t h2_submit_data(struct codec *c, uint32_t sid, const uint8_t *buf, size_t len,
			      bool end_stream)
{
	struct h2_codec *h = h2_of(c);
	struct h2_stream *s = h2_stream_get(h, (int32_t)sid);
	size_t take;

	if (h->fatal)
		return -EPIPE;
	if (!s)
		return -ENOENT;
	if (!s->has_prd || s->out_eof)
		return -EINVAL;
	take = h2_allowance(h, s);
	if (take > len)
		take = len;
	if (take) {
		if (s->qoff + s->qlen + take > s->qcap) {
			size_t cap;
			uint8_t *nq;

			if (s->qoff) {
				memmove(s->q, s->q + s->qoff, s->qlen);
				s->qoff = 0;
			}
			cap = s->qcap ? s->qcap : 4096;
			while (cap < s->qlen + take)
				cap *= 2;
			if (cap > s->qcap) {
				nq = realloc(s->q, cap);
				if (!nq)
					return -ENOMEM;
				s->q = nq;
				s->qcap = cap;
			}
		}
		memcpy(s->q + s->qoff + s->qlen, buf, take);
		s->qlen += take;
		h->queued += take;
	}
	if (take < len)
		s->blocked = 1;
	else if (end_stream)
		s->out_eof = 1;
	if (s->deferred && (take || s->out_eof)) {
		s->deferred = 0;
		nghttp2_session_resume_data(h->ng, (int32_t)sid);
	}
	h2_pump(h);
	return (ssize_t)take;
}

/* Trailers are sent by the data provider once the queue empties (h2_data_read). */
static int h2_submit_trailers(struct codec *c, uint32_t sid, const struct http_head *trailers)
{
	struct h2_codec *h = h2_of(c);
	struct h2_stream *s = h2_stream_get(h, (int32_t)sid);

	if (h->fatal)
		return -EPIPE;
	if (!s)
		return -ENOENT;
	if (!s->has_prd || s->out_eof || s->trail)
		return -EINVAL;
	s->trail = malloc(sizeof(*s->trail));
	if (!s->trail)
		return -ENOMEM;
	http_head_init(s->trail, HTTP_TRAILERS, trailers->limit);
	if (http_head_copy(s->trail, trailers)) {
		http_head_fini(s->trail);
		free(s->trail);
		s->trail = NULL;
		return -ENOMEM;
	}
	s->out_eof = 1;
	if (s->deferred) {
		s->deferred = 0;
		nghttp2_session_resume_data(h->ng, (int32_t)sid);
	}
	h2_pump(h);
	return 0;
}

static int h2_reset(struct codec *c, uint32_t sid, enum codec_err err)
{
	struct h2_codec *h = h2_of(c);
	struct h2_stream *s = h2_stream_get(h, (int32_t)sid);

	if (!s)
		return -ENOENT;
	s->local_reset = 1;
	nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, (int32_t)sid, h2_err_to_wire(err));
	h2_pump(h);
	return 0;
}

static void h2_consume(struct codec *c, uint32_t sid, size_t n)
{
	struct h2_codec *h = h2_of(c);
	struct h2_stream *s = h2_stream_get(h, (int32_t)sid);

	if (s) {
		if (n > s->unconsumed)
			n = s->unconsumed;
		s->unconsumed -= n;
		nghttp2_session_consume(h->ng, (int32_t)sid, n);
	}
	/* A stream that is gone gave its credit back when it closed (h2_on_stream_close). */
	h2_pump(h);
}

/* The GOAWAY that ends a drain: streams up to the last the peer opened finish. */
static void h2_goaway_final(struct h2_codec *h)
{
	int32_t last = nghttp2_session_get_last_proc_stream_id(h->ng);

	h->goaway_tx = 1;
	nghttp2_submit_goaway(h->ng, NGHTTP2_FLAG_NONE, last, NGHTTP2_NO_ERROR, NULL, 0);
}

/*
 * Server: GOAWAY in two steps, as RFC 9113 6.8 suggests for a graceful end. A GOAWAY with
 * the highest stream id and a PING first; the peer opens nothing after it reads that
 * GOAWAY, and what it opened before reaches us ahead of its PING ack (one connection, in
 * order). So when the ack comes, the final GOAWAY names every stream the peer will ever
 * have sent, and none is refused: a single GOAWAY carrying the last stream seen would
 * refuse the requests already on the wire. Client: we accept no pushes, one GOAWAY.
 */
static void h2_shutdown(struct codec *c)
{
	struct h2_codec *h = h2_of(c);

	if (h->shutdown || h->fatal || h2_wake(h))
		return;
	h->shutdown = 1;
	if (c->role == CODEC_SERVER && !nghttp2_submit_shutdown_notice(h->ng) &&
	    !nghttp2_submit_ping(h->ng, NGHTTP2_FLAG_NONE, (const uint8_t *)H2_DRAIN_PING)) {
		h2_pump(h);
		return;
	}
	if (c->role == CODEC_SERVER) { /* the notice could not go: the plain GOAWAY */
		h2_goaway_final(h);
	} else {
		h->goaway_tx = 1;
		nghttp2_submit_goaway(h->ng, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
	}
	h2_pump(h);
}

static bool h2_done(const struct codec *c)
{
	const struct h2_codec *h = h2_of_const(c);

	if (h->fatal)
		return true;
	/* A server waits for its final GOAWAY: streams may still be on their way before it. */
	if ((h->goaway_tx || h->goaway_rx) && h->nstreams == 0)
		return true;
	if (!h->ng)
		return false; /* quiet: waiting for the peer */
	return !nghttp2_session_want_read(h->ng) && !nghttp2_session_want_write(h->ng);
}

static bool h2_want_read(const struct codec *c)
{
	return !h2_done(c);
}

static unsigned h2_streams(const struct codec *c)
{
	return h2_of_const(c)->nstreams;
}

/* Room for one more request: the peer's SETTINGS_MAX_CONCURRENT_STREAMS and no GOAWAY. */
static bool h2_can_open(const struct codec *c)
{
	const struct h2_codec *h = h2_of_const(c);
	uint32_t max;

	if (c->role != CODEC_CLIENT || h->fatal || h->shutdown || h->goaway_rx || !h->ng)
		return false;
	max = nghttp2_session_get_remote_settings(h->ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
	if (h->nstreams >= max)
		return false;
	return nghttp2_session_check_request_allowed(h->ng) != 0;
}

/* The HTTP/2 codec: h2c with prior knowledge (no HTTP/1.1 Upgrade), or h2 after TLS ALPN. */
const struct codec_ops codec_h2 = {
    .name = "h2",
    .create = h2_create,
    .destroy = h2_destroy,
    .input = h2_input,
    .output = h2_output,
    .output_done = h2_output_done,
    .submit_head = h2_submit_head,
    .submit_data = h2_submit_data,
    .submit_trailers = h2_submit_trailers,
    .reset = h2_reset,
    .consume = h2_consume,
    .shutdown = h2_shutdown,
    .want_read = h2_want_read,
    .done = h2_done,
    .streams = h2_streams,
    .can_open = h2_can_open,
    .quiet = h2_quiet,
};
