/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The little HTTP/1.1 that weir-load speaks: finding the end of a response (status line,
 * Content-Length, body) in a receive buffer, and the end of a request head. Only what the fixed
 * benchmark exchange needs; anything else is a parse error counted as such.
 */
#ifndef WEIR_BENCH_HTTP_H
#define WEIR_BENCH_HTTP_H

#include <stddef.h>

/*
 * Looks at the <len> bytes at <buf> for one complete response. Returns its total length (head
 * plus body) and sets <*status>; 0 if more bytes are needed; -EPROTO if it is not a response with
 * a Content-Length that weir-load can read.
 */
long http_resp_len(const char *buf, size_t len, int *status);
/*
 * Looks at <len> bytes for one complete request head (requests carry no body here). Returns its
 * length, 0 if incomplete; sets <*close> when the request asks for "Connection: close".
 */
long http_req_len(const char *buf, size_t len, int *close);

#endif /* WEIR_BENCH_HTTP_H */
