// SPDX-License-Identifier: Apache-2.0
/*
 * sniff_proto(): the HTTP/2 preface is checked first, because "PRI * HTTP/2.0" is itself a
 * plausible HTTP/1 request line; a prefix of it stays undecided until it is whole or
 * differs. Anything else is HTTP/1 when it starts with a method token followed by SP.
 */
#include <string.h>

#include "proxy/sniff.h"

static const char sniff_h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define SNIFF_H2_LEN (sizeof(sniff_h2_preface) - 1)

/* RFC 9110 tchar: what a method token is made of. */
static int sniff_tchar(uint8_t ch)
{
	if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		return 1;
	return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

enum sniff_result sniff_proto(const uint8_t *buf, size_t len)
{
	size_t n = len < SNIFF_H2_LEN ? len : SNIFF_H2_LEN;
	size_t i;

	if (!len)
		return SNIFF_NEED_MORE;
	if (memcmp(buf, sniff_h2_preface, n) == 0)
		return len >= SNIFF_H2_LEN ? SNIFF_H2 : SNIFF_NEED_MORE;
	for (i = 0; i < len && i <= SNIFF_METHOD_MAX; i++) {
		if (buf[i] == ' ')
			return i ? SNIFF_HTTP1 : SNIFF_OTHER;
		if (!sniff_tchar(buf[i]))
			return SNIFF_OTHER;
	}
	return i > SNIFF_METHOD_MAX ? SNIFF_OTHER : SNIFF_NEED_MORE;
}
