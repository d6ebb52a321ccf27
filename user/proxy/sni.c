// SPDX-License-Identifier: Apache-2.0
/*
 * ClientHello parsing for SNI routing (sni.h). Two stages: records (RFC 8446 5.1: type 22,
 * version 3.x, at most 2^14 payload bytes) are unwrapped into one handshake buffer, then
 * the one handshake message they carry is walked field by field, each length checked
 * against what is left before it is used. What follows the ClientHello is never looked at.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "proxy/sni.h"

#define TLS_REC_HANDSHAKE   22
#define TLS_REC_MAX	    16384 /* RFC 8446: a plaintext record's payload limit */
#define TLS_HS_CLIENT_HELLO 1
#define TLS_EXT_SERVER_NAME 0
#define TLS_SNI_HOST_NAME   0

void sni_init(struct sni_parser *p)
{
	/* The buffer is overwritten before it is read: clear only the bookkeeping. */
	memset(p, 0, offsetof(struct sni_parser, hs));
}

/* A reader over [pos, end): every take checks that the bytes are there. */
struct sni_rd {
	const uint8_t *pos, *end;
};

static int rd_u8(struct sni_rd *r, uint32_t *v)
{
	if (r->end - r->pos < 1)
		return -1;
	*v = r->pos[0];
	r->pos += 1;
	return 0;
}

static int rd_u16(struct sni_rd *r, uint32_t *v)
{
	if (r->end - r->pos < 2)
		return -1;
	*v = (uint32_t)r->pos[0] << 8 | r->pos[1];
	r->pos += 2;
	return 0;
}

/* Splits the next <len> bytes off <r> into <sub>. */
static int rd_sub(struct sni_rd *r, uint32_t len, struct sni_rd *sub)
{
	if ((size_t)(r->end - r->pos) < len)
		return -1;
	sub->pos = r->pos;
	sub->end = r->pos + len;
	r->pos += len;
	return 0;
}

/* Host names as DNS has them: letters, digits, '-', '_', '.'; lower-cased into <p>. */
static enum sni_result sni_take_host(struct sni_parser *p, const uint8_t *s, uint32_t len)
{
	uint32_t i;

	if (!len || len > SNI_HOST_MAX)
		return SNI_NONE;
	for (i = 0; i < len; i++) {
		uint8_t ch = s[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch - 'A' + 'a');
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
			   ch == '_' || ch == '.'))
			return SNI_NONE; /* not a name any route could hold */
		p->host[i] = (char)ch;
	}
	p->host[len] = '\0';
	p->host_len = len;
	return SNI_FOUND;
}

/* The server_name extension's body (RFC 6066 3): the first host_name entry. */
static enum sni_result sni_server_name(struct sni_parser *p, struct sni_rd *ext)
{
	struct sni_rd list, name;
	uint32_t n, type;

	if (rd_u16(ext, &n) || rd_sub(ext, n, &list))
		return SNI_NOT_TLS;
	while (list.pos < list.end) {
		if (rd_u8(&list, &type) || rd_u16(&list, &n) || rd_sub(&list, n, &name))
			return SNI_NOT_TLS;
		if (type == TLS_SNI_HOST_NAME)
			return sni_take_host(p, name.pos, n);
	}
	return SNI_NONE;
}

/* Walks the whole ClientHello in p->hs (RFC 8446 4.1.2; TLS 1.0-1.2 have the same shape). */
static enum sni_result sni_hello(struct sni_parser *p)
{
	struct sni_rd r = {p->hs + 4, p->hs + p->hs_len}, skip, exts, ext;
	uint32_t v, type, len;

	/* legacy_version, random */
	if (rd_u16(&r, &v) || (v >> 8) != 3 || rd_sub(&r, 32, &skip))
		return SNI_NOT_TLS;
	/* legacy_session_id <0..32> */
	if (rd_u8(&r, &len) || len > 32 || rd_sub(&r, len, &skip))
		return SNI_NOT_TLS;
	/* cipher_suites <2..2^16-2>, pairs */
	if (rd_u16(&r, &len) || len < 2 || (len & 1) || rd_sub(&r, len, &skip))
		return SNI_NOT_TLS;
	/* legacy_compression_methods <1..2^8-1> */
	if (rd_u8(&r, &len) || !len || rd_sub(&r, len, &skip))
		return SNI_NOT_TLS;
	/* An SSL 3.0-era hello may end here: no extensions, so no name. */
	if (r.pos == r.end)
		return SNI_NONE;
	if (rd_u16(&r, &len) || rd_sub(&r, len, &exts) || r.pos != r.end)
		return SNI_NOT_TLS;
	while (exts.pos < exts.end) {
		if (rd_u16(&exts, &type) || rd_u16(&exts, &len) || rd_sub(&exts, len, &ext))
			return SNI_NOT_TLS;
		if (type == TLS_EXT_SERVER_NAME)
			return sni_server_name(p, &ext);
	}
	return SNI_NONE;
}

/* Takes handshake bytes <buf>; decides once the ClientHello's length is gathered. */
static enum sni_result sni_hs_bytes(struct sni_parser *p, const uint8_t *buf, uint32_t len)
{
	uint32_t need, take;

	/* The handshake header (type, 24-bit length) first, then exactly its message. */
	need = 4;
	if (p->hs_len >= 4) {
		need = 4 + ((uint32_t)p->hs[1] << 16 | (uint32_t)p->hs[2] << 8 | p->hs[3]);
		if (need > SNI_HELLO_MAX)
			return SNI_NONE; /* TLS, but past what we read: the default route */
	}
	while (len) {
		take = need - p->hs_len < len ? need - p->hs_len : len;
		memcpy(p->hs + p->hs_len, buf, take);
		p->hs_len += take;
		buf += take;
		len -= take;
		if (p->hs_len == 4) {
			if (p->hs[0] != TLS_HS_CLIENT_HELLO)
				return SNI_NOT_TLS;
			need = 4 + ((uint32_t)p->hs[1] << 16 | (uint32_t)p->hs[2] << 8 | p->hs[3]);
			if (need > SNI_HELLO_MAX)
				return SNI_NONE;
		}
		if (p->hs_len == need)
			return sni_hello(p);
	}
	return p->hs_len >= 4 && p->hs_len == need ? sni_hello(p) : SNI_NEED_MORE;
}

enum sni_result sni_feed(struct sni_parser *p, const uint8_t *buf, size_t len)
{
	uint32_t take;

	while (p->state == SNI_NEED_MORE && len) {
		if (p->rec_hdr_len < 5) {
			/* Reject on the first byte: plain TCP must not wait for five. */
			p->rec_hdr[p->rec_hdr_len++] = *buf++;
			len--;
			p->fed++;
			if (p->rec_hdr[0] != TLS_REC_HANDSHAKE ||
			    (p->rec_hdr_len >= 2 && p->rec_hdr[1] != 3)) {
				p->state = SNI_NOT_TLS;
				break;
			}
			if (p->rec_hdr_len < 5)
				continue;
			p->rec_left = (uint32_t)p->rec_hdr[3] << 8 | p->rec_hdr[4];
			/* An empty handshake record is forbidden (RFC 8446 5.1). */
			if (!p->rec_left || p->rec_left > TLS_REC_MAX)
				p->state = SNI_NOT_TLS;
			continue;
		}
		take = p->rec_left < len ? p->rec_left : (uint32_t)len;
		p->state = sni_hs_bytes(p, buf, take);
		buf += take;
		len -= take;
		p->fed += take;
		p->rec_left -= take;
		if (!p->rec_left)
			p->rec_hdr_len = 0; /* the hello goes on in the next record */
	}
	return (enum sni_result)p->state;
}

int sni_host_match(const char *pat, const char *host, size_t len)
{
	size_t plen = strlen(pat);

	if (!strcmp(pat, "*"))
		return 1;
	if (!host)
		return 0;
	if (plen > 2 && pat[0] == '*' && pat[1] == '.') {
		/* "*.example.com": the suffix ".example.com" after a non-empty label. */
		return len > plen - 1 && !strncasecmp(host + len - (plen - 1), pat + 1, plen - 1);
	}
	return len == plen && !strncasecmp(host, pat, len);
}
