// SPDX-License-Identifier: Apache-2.0
/*
 * The growable string buffer declared in strbuf.h, and the escapers the JSON, DOT and
 * Prometheus writers share. Names reach these writers from Kubernetes objects, so the
 * escapers assume nothing about their input: not even that it is UTF-8.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"

void strbuf_init(struct strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void strbuf_fini(struct strbuf *sb)
{
	free(sb->buf);
	strbuf_init(sb);
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->err = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

/* Makes room for <n> more bytes plus the NUL; doubles so appends stay amortised O(1). */
static int strbuf_grow(struct strbuf *sb, size_t n)
{
	size_t need, cap;
	char *p;

	if (sb->err)
		return sb->err;
	if (n > (size_t)-1 / 2 - sb->len)
		goto out_nomem;
	need = sb->len + n + 1;
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(sb->buf, cap);
	if (!p)
		goto out_nomem;
	sb->buf = p;
	sb->cap = cap;
	return 0;
out_nomem:
	sb->err = -ENOMEM;
	return sb->err;
}

int strbuf_append(struct strbuf *sb, const void *data, size_t n)
{
	int err = strbuf_grow(sb, n);

	if (err)
		return err;
	if (n)
		memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return 0;
}

int strbuf_puts(struct strbuf *sb, const char *s)
{
	return strbuf_append(sb, s, strlen(s));
}

int strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, err;

	if (sb->err)
		return sb->err;
	/* Try in the space left first: most lines fit and need one vsnprintf. */
	err = strbuf_grow(sb, 64);
	if (err)
		return err;
	va_copy(ap2, ap);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		sb->buf[sb->len] = '\0';
		sb->err = -EINVAL;
		return sb->err;
	}
	if ((size_t)n >= sb->cap - sb->len) {
		err = strbuf_grow(sb, n);
		if (err)
			return err;
		vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	}
	sb->len += n;
	return 0;
}

int strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = strbuf_vprintf(sb, fmt, ap);
	va_end(ap);
	return err;
}

/*
 * Length of the well-formed UTF-8 sequence at <p> (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), or 0 when the bytes there are not one.
 */
static size_t strbuf_utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
			return 0;
		return (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		return (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4
											       : 0;
	}
	return 0;
}

int strbuf_append_esc(struct strbuf *sb, const char *s, enum strbuf_esc esc)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p) {
		unsigned char c = *p;

		n = strbuf_utf8_len(p);
		if (n == 0) {
			strbuf_puts(sb, "\xef\xbf\xbd"); /* U+FFFD for a stray byte */
			p++;
			continue;
		}
		if (n > 1) {
			strbuf_append(sb, p, n);
			p += n;
			continue;
		}
		p++;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};

			strbuf_append(sb, e, 2);
		} else if (c == '\n' && esc != STRBUF_ESC_DOT) {
			strbuf_puts(sb, "\\n");
		} else if (c < 0x20 || c == 0x7f) {
			if (esc == STRBUF_ESC_JSON)
				strbuf_printf(sb, "\\u%04x", c);
			else if (esc == STRBUF_ESC_DOT)
				strbuf_puts(sb, " ");
			else
				strbuf_append(sb, &c, 1); /* Prometheus allows any other byte */
		} else {
			strbuf_append(sb, &c, 1);
		}
	}
	return sb->err;
}

const char *strbuf_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

char *strbuf_steal(struct strbuf *sb)
{
	char *s;

	if (sb->err) {
		errno = -sb->err;
		strbuf_fini(sb);
		return NULL;
	}
	s = sb->buf ? sb->buf : strdup("");
	strbuf_init(sb);
	return s;
}
