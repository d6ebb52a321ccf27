/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The writing half of the HTTP/1.1 codec (h1.c): a growable output buffer and the
 * serialisers for message heads, chunk framing and trailers. Kept apart from the parser so
 * that what goes on the wire (and what is refused before it does: CR/LF in a value, a name
 * that is no token) can be read and tested on its own.
 */
#ifndef WEIR_PROXY_H1_WIRE_H
#define WEIR_PROXY_H1_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/http.h"

/* Bytes waiting to be written: the live ones are p[off..len). */
struct h1_obuf {
	uint8_t *p;
	size_t off, len, cap;
};

/* How a message's body is delimited on the wire. */
enum h1_frame {
	H1_F_NONE = 0,	  /* no body at all (HEAD, 1xx, 204, 304, or declared empty) */
	H1_F_LENGTH = 1,  /* content-length */
	H1_F_CHUNKED = 2, /* transfer-encoding: chunked */
	H1_F_RAW = 3,	  /* until the connection closes (HTTP/1.0), or a tunnel */
};

/* What the codec decided about a head it is about to write. */
struct h1_wire_opts {
	int64_t content_length; /* written when >= 0 */
	bool chunked;		/* write transfer-encoding: chunked */
	const char *connection; /* "close", "keep-alive", "upgrade" or NULL */
	bool keep_upgrade;	/* write the head's upgrade header (101, upgrade requests) */
};

/* Number of bytes waiting in <o>. */
static inline size_t h1_obuf_pending(const struct h1_obuf *o)
{
	return o->len - o->off;
}

/* Appends <len> bytes at <p> to <o>. Returns 0 or -ENOMEM. */
int h1_obuf_put(struct h1_obuf *o, const void *p, size_t len);

/* Appends NUL-terminated <s> to <o>. Returns 0 or -ENOMEM. */
int h1_obuf_puts(struct h1_obuf *o, const char *s);

/* Drops the first <n> pending bytes of <o> (written out). */
void h1_obuf_drop(struct h1_obuf *o, size_t n);

/* Moves everything pending in <src> to the end of <dst>; <src> is left empty. */
int h1_obuf_move(struct h1_obuf *dst, struct h1_obuf *src);

/* Releases <o>'s memory; <o> may be used again (empty). */
void h1_obuf_fini(struct h1_obuf *o);

/* The reason phrase of <status> ("OK"); "Unknown" for codes without one. */
const char *h1_wire_reason(unsigned status);

/*
 * Checks that head <h> can be written as HTTP/1.1 without changing its meaning: header
 * names are tokens, values have no CR, LF or NUL (no response splitting through a filter
 * that copied a request value), a request's method is a token and its path has no SP or
 * CTL, a response's status is 100..599. Returns 0 or -EINVAL.
 */
int h1_wire_check(const struct http_head *h);

/*
 * Writes head <h> (request or response) to <o> with the framing and connection headers
 * of <w>; the head's own hop-by-hop and content-length headers are left out, as the codec
 * re-frames. Returns 0 or -ENOMEM.
 */
int h1_wire_head(struct h1_obuf *o, const struct http_head *h, const struct h1_wire_opts *w);

/* Writes one chunk of <len> bytes (nothing for 0: that would end the body). */
int h1_wire_chunk(struct h1_obuf *o, const uint8_t *buf, size_t len);

/* Writes the last chunk, with trailer block <trl> (NULL: none). Returns 0 or -errno. */
int h1_wire_last_chunk(struct h1_obuf *o, const struct http_head *trl);

/* Whether <s> (<len> bytes) is a non-empty RFC 9110 token (a method, a field name). */
bool h1_wire_token(const char *s, size_t len);

/* Whether <name> (<len> bytes, any case) is hop-by-hop (never forwarded as is). */
bool h1_wire_hop_by_hop(const char *name, size_t len);

#endif /* WEIR_PROXY_H1_WIRE_H */
