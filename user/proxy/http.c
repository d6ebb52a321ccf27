// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP message head declared in http.h: strings appended to one growable buffer and
 * named by offset, so that growing the buffer never invalidates a stored string. Removal
 * only drops the entry; the bytes stay until the next reset.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/http.h"

void http_head_init(struct http_head *h, enum http_kind kind, uint32_t limit)
{
	memset(h, 0, sizeof(*h));
	h->limit = limit ? limit : HTTP_HEAD_MAX_DEFAULT;
	h->kind = kind;
	h->content_length = -1;
}

void http_head_fini(struct http_head *h)
{
	free(h->buf);
	free(h->hdrs);
	h->buf = NULL;
	h->hdrs = NULL;
	h->size = h->used = h->nhdrs = h->cap_hdrs = 0;
}

void http_head_reset(struct http_head *h, enum http_kind kind)
{
	h->kind = kind;
	h->version = 0;
	h->status = 0;
	memset(&h->method, 0, sizeof(h->method));
	h->scheme = h->authority = h->path = h->method;
	h->content_length = -1;
	h->nhdrs = 0;
	h->used = 0;
}

static int http_reserve(struct http_head *h, size_t need)
{
	size_t size;
	char *nb;

	if (h->used + need <= h->size)
		return 0;
	size = h->size ? h->size : 1024;
	while (size < h->used + need)
		size *= 2;
	nb = realloc(h->buf, size);
	if (!nb)
		return -ENOMEM;
	h->buf = nb;
	h->size = size;
	return 0;
}

int http_head_str(struct http_head *h, const char *p, size_t len, struct http_str *out)
{
	/* The limit counts what the peer sent (names and values), not our NULs. */
	if (h->used + len > (size_t)h->limit + 2u * h->nhdrs + 8)
		return -E2BIG;
	if (http_reserve(h, len + 1))
		return -ENOMEM;
	out->off = h->used;
	out->len = len;
	if (len)
		memcpy(h->buf + h->used, p, len);
	h->buf[h->used + len] = '\0';
	h->used += len + 1;
	return 0;
}

int http_head_add(struct http_head *h, const char *name, size_t nlen, const char *value,
		  size_t vlen)
{
	struct http_hdr *e;
	int err;

	if (h->nhdrs == h->cap_hdrs) {
		uint32_t cap = h->cap_hdrs ? h->cap_hdrs * 2 : 16;
		struct http_hdr *n = realloc(h->hdrs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		h->hdrs = n;
		h->cap_hdrs = cap;
	}
	e = &h->hdrs[h->nhdrs];
	err = http_head_str(h, name, nlen, &e->name);
	if (err)
		return err;
	for (size_t i = 0; i < nlen; i++)
		h->buf[e->name.off + i] = (char)tolower((unsigned char)h->buf[e->name.off + i]);
	err = http_head_str(h, value, vlen, &e->value);
	if (err)
		return err;
	h->nhdrs++;
	return 0;
}

static bool http_name_is(const struct http_head *h, const struct http_hdr *e, const char *name,
			 size_t nlen)
{
	return e->name.len == nlen && memcmp(h->buf + e->name.off, name, nlen) == 0;
}

const char *http_head_get(const struct http_head *h, const char *name, size_t nlen, size_t *vlen)
{
	for (uint32_t i = 0; i < h->nhdrs; i++) {
		if (http_name_is(h, &h->hdrs[i], name, nlen)) {
			if (vlen)
				*vlen = h->hdrs[i].value.len;
			return http_str_ptr(h, h->hdrs[i].value);
		}
	}
	return NULL;
}

unsigned http_head_count(const struct http_head *h, const char *name, size_t nlen)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < h->nhdrs; i++)
		n += http_name_is(h, &h->hdrs[i], name, nlen);
	return n;
}

unsigned http_head_del(struct http_head *h, const char *name, size_t nlen)
{
	uint32_t i, j = 0;
	unsigned gone = 0;

	for (i = 0; i < h->nhdrs; i++) {
		if (http_name_is(h, &h->hdrs[i], name, nlen)) {
			gone++;
			continue;
		}
		h->hdrs[j++] = h->hdrs[i];
	}
	h->nhdrs = j;
	return gone;
}

int http_head_set(struct http_head *h, const char *name, size_t nlen, const char *value,
		  size_t vlen)
{
	http_head_del(h, name, nlen);
	return http_head_add(h, name, nlen, value, vlen);
}

int http_head_copy(struct http_head *dst, const struct http_head *src)
{
	uint32_t limit = dst->limit;

	http_head_reset(dst, (enum http_kind)src->kind);
	if (http_reserve(dst, src->used))
		return -ENOMEM;
	if (dst->cap_hdrs < src->nhdrs) {
		struct http_hdr *n = realloc(dst->hdrs, src->nhdrs * sizeof(*n));

		if (!n)
			return -ENOMEM;
		dst->hdrs = n;
		dst->cap_hdrs = src->nhdrs;
	}
	/* Offsets stay valid: the bytes are copied whole. */
	if (src->used)
		memcpy(dst->buf, src->buf, src->used);
	dst->used = src->used;
	if (src->nhdrs)
		memcpy(dst->hdrs, src->hdrs, src->nhdrs * sizeof(*src->hdrs));
	dst->nhdrs = src->nhdrs;
	dst->version = src->version;
	dst->status = src->status;
	dst->method = src->method;
	dst->scheme = src->scheme;
	dst->authority = src->authority;
	dst->path = src->path;
	dst->content_length = src->content_length;
	dst->limit = limit > src->limit ? limit : src->limit;
	return 0;
}

bool http_str_ieq(const char *a, size_t alen, const char *b)
{
	return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

bool http_head_has_token(const struct http_head *h, const char *name, size_t nlen, const char *tok)
{
	size_t tlen = strlen(tok);

	for (uint32_t i = 0; i < h->nhdrs; i++) {
		const char *v, *end;

		if (!http_name_is(h, &h->hdrs[i], name, nlen))
			continue;
		v = http_str_ptr(h, h->hdrs[i].value);
		end = v + h->hdrs[i].value.len;
		while (v < end) {
			const char *comma = memchr(v, ',', (size_t)(end - v));
			const char *e = comma ? comma : end;
			const char *b = v;

			while (b < e && (*b == ' ' || *b == '\t'))
				b++;
			while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if ((size_t)(e - b) == tlen && strncasecmp(b, tok, tlen) == 0)
				return true;
			v = comma ? comma + 1 : end;
		}
	}
	return false;
}
