/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP/1 codec's own byte checks, run before llhttp sees a head, a trailer block or a
 * chunk-size line. llhttp 8 built without LLHTTP_STRICT_MODE (as Debian ships it) takes bare
 * LF, obs-fold and CR-only line ends; two parsers that disagree on those are how requests
 * get smuggled, so weir refuses them itself instead of trusting a build flag.
 */
#ifndef WEIR_PROXY_H1_SCAN_H
#define WEIR_PROXY_H1_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest chunk-size line (size and extensions) taken. */
#define H1_CHUNK_LINE_MAX 4096

/* Scanner state across reads; zero it at the start of each head or line. */
struct h1_scan {
	bool prev_cr;
	uint32_t line_len; /* bytes of the line so far */
	uint32_t nlines;   /* complete non-empty lines */
	uint32_t bytes;	   /* bytes of the head (or line) so far */
};

/*
 * Runs over head bytes <b> (<len>) of a message head (<trailer> false: the first line is
 * the start line) or of a trailer block: CRLF line ends only (no bare CR or LF), no
 * obs-fold, no control bytes, at most <max_bytes> bytes and <max_fields> fields. Sets *<ok>
 * to the bytes that passed and *<end> when they finish the head. Returns 0, or the status
 * the message is refused with (400, 431).
 */
int h1_scan_head(struct h1_scan *sc, bool trailer, uint32_t max_bytes, uint32_t max_fields,
		 const uint8_t *b, size_t len, size_t *ok, bool *end);

/*
 * Runs over chunk-size line bytes <b> (<len>): sets *<ok> to the bytes that passed, up to
 * and including the line's LF. Returns 0, or 400 for a bare CR or LF, a control byte or a
 * line longer than H1_CHUNK_LINE_MAX. The caller zeroes <sc> for the next line.
 */
int h1_scan_chunk_line(struct h1_scan *sc, const uint8_t *b, size_t len, size_t *ok);

#endif /* WEIR_PROXY_H1_SCAN_H */
