// SPDX-License-Identifier: Apache-2.0
/*
 * Framing for the benchmark's HTTP/1.1 (see http.h): the head ends at the first CRLFCRLF, the
 * body is exactly Content-Length bytes. Header names are matched case-insensitively because
 * HAProxy and the weir agent may rewrite their case.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* Returns the length of the head including CRLFCRLF, or 0. */
static size_t http_head_len(const char *buf, size_t len)
{
	const char *p = memmem(buf, len, "\r\n\r\n", 4);

	return p ? (size_t)(p - buf) + 4 : 0;
}

/* Finds header <name> in the head [buf, buf+hlen); returns its value's start or NULL. */
static const char *http_header(const char *buf, size_t hlen, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = buf, *end = buf + hlen, *eol;

	while (p < end) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			break;
		if ((size_t)(eol - p) > nlen && p[nlen] == ':' && !strncasecmp(p, name, nlen)) {
			p += nlen + 1;
			while (p < eol && (*p == ' ' || *p == '\t'))
				p++;
			return p;
		}
		p = eol + 2;
	}
	return NULL;
}

long http_resp_len(const char *buf, size_t len, int *status)
{
	size_t hlen = http_head_len(buf, len);
	const char *cl;
	char *end;
	long body;

	if (!hlen)
		return len > 65536 ? -EPROTO : 0;
	if (hlen < 12 || strncmp(buf, "HTTP/1.", 7) || buf[8] != ' ')
		return -EPROTO;
	*status = (int)strtol(buf + 9, &end, 10);
	if (end != buf + 12 || *status < 100)
		return -EPROTO;
	cl = http_header(buf, hlen, "content-length");
	if (!cl)
		return -EPROTO;
	body = strtol(cl, &end, 10);
	if (end == cl || body < 0 || body > (1L << 30))
		return -EPROTO;
	if (len < hlen + (size_t)body)
		return 0;
	return (long)hlen + body;
}

long http_req_len(const char *buf, size_t len, int *close)
{
	size_t hlen = http_head_len(buf, len);
	const char *conn;

	if (!hlen)
		return len > 65536 ? -EPROTO : 0;
	conn = http_header(buf, hlen, "connection");
	*close = conn && !strncasecmp(conn, "close", 5);
	return (long)hlen;
}
