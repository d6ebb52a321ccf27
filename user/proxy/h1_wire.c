// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1.1 serialisation for the h1 codec: heads, chunks and trailers into one growable
 * buffer. The codec re-frames every message it forwards, so this file is where the
 * hop-by-hop rules live: what the peer told us about framing and the connection never
 * leaks through, and what we write is decided by the codec (struct h1_wire_opts).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/h1_wire.h"

static int h1_obuf_reserve(struct h1_obuf *o, size_t need)
{
	size_t cap;
	uint8_t *np;

	if (o->cap - o->len >= need)
		return 0;
	/* Slide the live bytes down first: written bytes are dead weight. */
	if (o->off) {
		memmove(o->p, o->p + o->off, o->len - o->off);
		o->len -= o->off;
		o->off = 0;
		if (o->cap - o->len >= need)
			return 0;
	}
	/* Doubling keeps appends amortised O(1); a page is what most responses' heads fit. */
	cap = o->cap ? o->cap : 4096;
	while (cap - o->len < need)
		cap *= 2;
	np = realloc(o->p, cap);
	if (!np)
		return -ENOMEM;
	o->p = np;
	o->cap = cap;
	return 0;
}

int h1_obuf_put(struct h1_obuf *o, const void *p, size_t len)
{
	if (!len)
		return 0;
	if (h1_obuf_reserve(o, len))
		return -ENOMEM;
	memcpy(o->p + o->len, p, len);
	o->len += len;
	return 0;
}

int h1_obuf_puts(struct h1_obuf *o, const char *s)
{
	return h1_obuf_put(o, s, strlen(s));
}

void h1_obuf_drop(struct h1_obuf *o, size_t n)
{
	if (n > o->len - o->off)
		n = o->len - o->off;
	o->off += n;
	/* Drained: start over at the front, so the common case never moves bytes. */
	if (o->off == o->len)
		o->off = o->len = 0;
}

int h1_obuf_move(struct h1_obuf *dst, struct h1_obuf *src)
{
	int err;

	if (!h1_obuf_pending(src))
		return 0;
	err = h1_obuf_put(dst, src->p + src->off, h1_obuf_pending(src));
	if (err)
		return err;
	src->off = src->len = 0;
	return 0;
}

void h1_obuf_fini(struct h1_obuf *o)
{
	free(o->p);
	o->p = NULL;
	o->off = o->len = o->cap = 0;
}

const char *h1_wire_reason(unsigned status)
{
	/* The phrases clients show or log; the code alone carries the meaning. */
	static const struct {
		unsigned short code;
		const char *text;
	} tab[] = {
	    {100, "Continue"},
	    {101, "Switching Protocols"},
	    {200, "OK"},
	    {201, "Created"},
	    {202, "Accepted"},
	    {204, "No Content"},
	    {206, "Partial Content"},
	    {301, "Moved Permanently"},
	    {302, "Found"},
	    {303, "See Other"},
	    {304, "Not Modified"},
	    {307, "Temporary Redirect"},
	    {308, "Permanent Redirect"},
	    {400, "Bad Request"},
	    {401, "Unauthorized"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {405, "Method Not Allowed"},
	    {408, "Request Timeout"},
	    {409, "Conflict"},
	    {413, "Content Too Large"},
	    {414, "URI Too Long"},
	    {417, "Expectation Failed"},
	    {426, "Upgrade Required"},
	    {429, "Too Many Requests"},
	    {431, "Request Header Fields Too Large"},
	    {500, "Internal Server Error"},
	    {501, "Not Implemented"},
	    {502, "Bad Gateway"},
	    {503, "Service Unavailable"},
	    {504, "Gateway Timeout"},
	    {505, "HTTP Version Not Supported"},
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].code == status)
			return tab[i].text;
	return "Unknown";
}

/* RFC 9110 tchar. */
static bool h1_is_tchar(unsigned char ch)
{
	if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		return true;
	return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

bool h1_wire_token(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!h1_is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* Field values: any octet but CR, LF and NUL (and other CTLs but HTAB). */
static bool h1_is_value(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return false;
	}
	return true;
}

int h1_wire_check(const struct http_head *h)
{
	for (uint32_t i = 0; i < h->nhdrs; i++) {
		const struct http_hdr *e = &h->hdrs[i];

		if (!h1_wire_token(h->buf + e->name.off, e->name.len) ||
		    !h1_is_value(http_str_ptr(h, e->value), e->value.len))
			return -EINVAL;
	}
	if (h->kind == HTTP_RESPONSE)
		return h->status >= 100 && h->status <= 599 ? 0 : -EINVAL;
	if (h->kind != HTTP_REQUEST)
		return 0;
	if (!h1_wire_token(http_str_ptr(h, h->method), h->method.len))
		return -EINVAL;
	/* SP would end the request target early; CTLs split it. */
	for (uint32_t i = 0; i < h->path.len; i++) {
		unsigned char ch = (unsigned char)h->buf[h->path.off + i];

		if (ch <= 0x20 || ch == 0x7f)
			return -EINVAL;
	}
	if (!h1_is_value(http_str_ptr(h, h->authority), h->authority.len) ||
	    memchr(http_str_ptr(h, h->authority), ' ', h->authority.len))
		return -EINVAL;
	return 0;
}

bool h1_wire_hop_by_hop(const char *name, size_t len)
{
	/*
	 * RFC 9110 7.6.1's list plus Proxy-Connection (still sent by old clients) and Trailer,
	 * which announces trailers the re-framed message may not carry.
	 */
	static const char *const hop[] = {
	    "connection", "keep-alive",	       "proxy-connection", "te",
	    "upgrade",	  "transfer-encoding", "trailer",
	};

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strlen(hop[i]) == len && strncasecmp(hop[i], name, len) == 0)
			return true;
	return false;
}

static int h1_wire_field(struct h1_obuf *o, const char *name, size_t nlen, const char *val,
			 size_t vlen)
{
	if (h1_obuf_put(o, name, nlen) || h1_obuf_put(o, ": ", 2) || h1_obuf_put(o, val, vlen) ||
	    h1_obuf_put(o, "\r\n", 2))
		return -ENOMEM;
	return 0;
}

static int h1_wire_fields(struct h1_obuf *o, const struct http_head *h, bool keep_upgrade)
{
	for (uint32_t i = 0; i < h->nhdrs; i++) {
		const struct http_hdr *e = &h->hdrs[i];
		const char *n = h->buf + e->name.off;

		/* The codec writes framing, Host and Connection itself. */
		if (e->name.len == 14 && memcmp(n, "content-length", 14) == 0)
			continue;
		if (e->name.len == 4 && memcmp(n, "host", 4) == 0 && h->kind == HTTP_REQUEST)
			continue;
		if (h1_wire_hop_by_hop(n, e->name.len) &&
		    !(keep_upgrade && e->name.len == 7 && memcmp(n, "upgrade", 7) == 0))
			continue;
		if (h1_wire_field(o, n, e->name.len, http_str_ptr(h, e->value), e->value.len))
			return -ENOMEM;
	}
	return 0;
}

static int h1_wire_start_line(struct h1_obuf *o, const struct http_head *h)
{
	char line[64];
	int n;

	if (h->kind == HTTP_RESPONSE) {
		n = snprintf(line, sizeof(line), "HTTP/1.1 %u ", (unsigned)h->status);
		if (h1_obuf_put(o, line, (size_t)n) || h1_obuf_puts(o, h1_wire_reason(h->status)) ||
		    h1_obuf_put(o, "\r\n", 2))
			return -ENOMEM;
		return 0;
	}
	if (h1_obuf_put(o, http_str_ptr(h, h->method), h->method.len) || h1_obuf_put(o, " ", 1))
		return -ENOMEM;
	/* CONNECT names its target in authority form; everything else in origin form. */
	if (http_str_ieq(http_str_ptr(h, h->method), h->method.len, "CONNECT")) {
		if (h1_obuf_put(o, http_str_ptr(h, h->authority), h->authority.len))
			return -ENOMEM;
	} else if (h->path.len) {
		if (h1_obuf_put(o, http_str_ptr(h, h->path), h->path.len))
			return -ENOMEM;
	} else if (h1_obuf_put(o, "/", 1)) {
		return -ENOMEM;
	}
	if (h1_obuf_puts(o, " HTTP/1.1\r\n"))
		return -ENOMEM;
	if (h->authority.len &&
	    h1_wire_field(o, "host", 4, http_str_ptr(h, h->authority), h->authority.len))
		return -ENOMEM;
	return 0;
}

int h1_wire_head(struct h1_obuf *o, const struct http_head *h, const struct h1_wire_opts *w)
{
	char num[32];
	int n;

	if (h1_wire_start_line(o, h) || h1_wire_fields(o, h, w->keep_upgrade))
		return -ENOMEM;
	/* Framing last, after the fields, so nothing in the head can contradict it. */
	if (w->content_length >= 0) {
		n = snprintf(num, sizeof(num), "%" PRId64, w->content_length);
		if (h1_wire_field(o, "content-length", 14, num, (size_t)n))
			return -ENOMEM;
	}
	if (w->chunked && h1_wire_field(o, "transfer-encoding", 17, "chunked", 7))
		return -ENOMEM;
	if (w->connection &&
	    h1_wire_field(o, "connection", 10, w->connection, strlen(w->connection)))
		return -ENOMEM;
	return h1_obuf_put(o, "\r\n", 2);
}

int h1_wire_chunk(struct h1_obuf *o, const uint8_t *buf, size_t len)
{
	char size[24];
	int n;

	/* A zero-size chunk is the last-chunk marker: an empty write must not end the body. */
	if (!len)
		return 0;
	n = snprintf(size, sizeof(size), "%zx\r\n", len);
	if (h1_obuf_put(o, size, (size_t)n) || h1_obuf_put(o, buf, len) ||
	    h1_obuf_put(o, "\r\n", 2))
		return -ENOMEM;
	return 0;
}

int h1_wire_last_chunk(struct h1_obuf *o, const struct http_head *trl)
{
	if (h1_obuf_put(o, "0\r\n", 3))
		return -ENOMEM;
	if (trl && h1_wire_fields(o, trl, false))
		return -ENOMEM;
	return h1_obuf_put(o, "\r\n", 2);
}
