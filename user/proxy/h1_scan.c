// SPDX-License-Identifier: Apache-2.0
/*
 * Line scanners for the HTTP/1 codec (h1_scan.h): byte-at-a-time state machines, so that a
 * head split across any number of reads is judged exactly as if it came in one piece.
 */
#include "proxy/h1_scan.h"

/* Bytes no head line may hold: CTLs but HTAB, and DEL (RFC 9110 5.5, RFC 9112 2.2). */
static bool h1_scan_ctl(uint8_t ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

int h1_scan_head(struct h1_scan *sc, bool trailer, uint32_t max_bytes, uint32_t max_fields,
		 const uint8_t *b, size_t len, size_t *ok, bool *end)
{
	size_t i;

	*end = false;
	for (i = 0; i < len; i++) {
		uint8_t ch = b[i];

		/* The request target counts too: a long URI is a big head (431, not 414). */
		if (++sc->bytes > max_bytes)
			return 431;
		if (ch == '\r') {
			if (sc->prev_cr)
				return 400;
			sc->prev_cr = true;
			continue;
		}
		if (ch == '\n') {
			if (!sc->prev_cr)
				return 400; /* bare LF: llhttp's loose mode would take it */
			sc->prev_cr = false;
			if (sc->line_len) {
				sc->nlines++;
				sc->line_len = 0;
				if (sc->nlines - (trailer ? 0 : 1) > max_fields)
					return 431;
				continue;
			}
			/* Empty lines before a start line are tolerated (RFC 9112 2.2). */
			if (!trailer && !sc->nlines)
				continue;
			*ok = i + 1;
			*end = true;
			return 0;
		}
		/* CR alone ends a line for some parsers and not others (CVE-2023-30589). */
		if (sc->prev_cr)
			return 400;
		if (!sc->line_len && (ch == ' ' || ch == '\t'))
			return 400; /* obs-fold, or whitespace before the start line */
		if (h1_scan_ctl(ch))
			return 400;
		sc->line_len++;
	}
	*ok = len;
	return 0;
}

int h1_scan_chunk_line(struct h1_scan *sc, const uint8_t *b, size_t len, size_t *ok)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t ch = b[i];

		if (++sc->bytes > H1_CHUNK_LINE_MAX)
			return 400;
		if (sc->prev_cr) {
			if (ch != '\n')
				return 400;
			*ok = i + 1;
			return 0;
		}
		if (ch == '\r') {
			sc->prev_cr = true;
			continue;
		}
		/* Extensions are tokens and quoted strings: no obs-text needed, none taken. */
		if (h1_scan_ctl(ch) || ch >= 0x80)
			return 400;
	}
	*ok = len;
	return 0;
}
