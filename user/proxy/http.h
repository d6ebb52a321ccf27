/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One HTTP message head (request or response, or a trailer block) as every layer of the
 * proxy sees it, whatever the wire: the HTTP/1.1 and HTTP/2 codecs fill and read it, the
 * router matches on it, filters (headers add/set/remove, rewrite) edit it. Header names are
 * stored lower-case (HTTP/2's rule; HTTP/1 names are folded on input), in arrival order,
 * duplicates kept. Everything lives in one growable byte buffer owned by the head, so a
 * head is reused across requests without allocating once it has grown to its working size.
 */
#ifndef WEIR_PROXY_HTTP_H
#define WEIR_PROXY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX_DEFAULT (60 * 1024) /* Envoy's and Istio's default header limit */

/* A string inside a head's buffer: offset and length (the bytes are NUL-terminated too). */
struct http_str {
	uint32_t off;
	uint32_t len;
};

struct http_hdr {
	struct http_str name; /* lower-case */
	struct http_str value;
};

/* What a head is. */
enum http_kind {
	HTTP_REQUEST = 1,
	HTTP_RESPONSE = 2,
	HTTP_TRAILERS = 3,
};

/* The wire version a message came in on or leaves with. */
enum http_version {
	HTTP_V10 = 10,
	HTTP_V11 = 11,
	HTTP_V2 = 20,
};

struct http_head {
	uint8_t kind;	 /* enum http_kind */
	uint8_t version; /* enum http_version */
	uint16_t status; /* responses: 100..599 */
	/* Requests: the pseudo-headers (HTTP/1: method, request target, Host). */
	struct http_str method;	   /* "GET" */
	struct http_str scheme;	   /* "http" (empty when HTTP/1 did not say) */
	struct http_str authority; /* :authority or Host */
	struct http_str path;	   /* origin form with query: "/a/b?x=1"; CONNECT: empty */
	int64_t content_length;	   /* -1 when absent */
	struct http_hdr *hdrs;	   /* regular headers, arrival order */
	uint32_t nhdrs, cap_hdrs;
	char *buf; /* storage of every string above */
	uint32_t used, size;
	uint32_t limit; /* bytes of names and values allowed (HTTP_HEAD_MAX_DEFAULT) */
};

/* Prepares <h> (caller's storage) as an empty head of <kind> with byte limit <limit>. */
void http_head_init(struct http_head *h, enum http_kind kind, uint32_t limit);

/* Releases what <h> allocated. <h> may be init'ed again. */
void http_head_fini(struct http_head *h);

/* Empties <h> for the next message of <kind>, keeping its buffers. */
void http_head_reset(struct http_head *h, enum http_kind kind);

/* The NUL-terminated bytes of <s> in <h> (never NULL: "" for an empty string). */
static inline const char *http_str_ptr(const struct http_head *h, struct http_str s)
{
	return s.len ? h->buf + s.off : "";
}

/*
 * Stores <len> bytes at <p> in <h> into *<out>. Returns 0, or -E2BIG past <h>'s limit
 * (the caller answers 431), or -ENOMEM.
 */
int http_head_str(struct http_head *h, const char *p, size_t len, struct http_str *out);

/*
 * Appends header <name> (folded to lower case) = <value> to <h>. Returns 0, -E2BIG past the
 * limit, or -ENOMEM.
 */
int http_head_add(struct http_head *h, const char *name, size_t nlen, const char *value,
		  size_t vlen);

/*
 * The value of the first header <name> (lower case, <nlen> bytes) of <h>, NULL when absent;
 * its length in *<vlen> when <vlen> is not NULL.
 */
const char *http_head_get(const struct http_head *h, const char *name, size_t nlen, size_t *vlen);

/* How many headers named <name> (lower case) <h> holds. */
unsigned http_head_count(const struct http_head *h, const char *name, size_t nlen);

/* Removes every header <name> (lower case) from <h>. Returns how many went. */
unsigned http_head_del(struct http_head *h, const char *name, size_t nlen);

/* Replaces every header <name> by one with <value> (Istio's `set`). Returns 0 or -errno. */
int http_head_set(struct http_head *h, const char *name, size_t nlen, const char *value,
		  size_t vlen);

/* Copies <src> into <dst> (an init'ed head; its limit stays). Returns 0 or -errno. */
int http_head_copy(struct http_head *dst, const struct http_head *src);

/* Whether token <tok> is in the comma-separated value of header <name> (case-insensitive). */
bool http_head_has_token(const struct http_head *h, const char *name, size_t nlen, const char *tok);

/* Case-insensitive comparison of <a> (<alen> bytes) and NUL-terminated <b>. */
bool http_str_ieq(const char *a, size_t alen, const char *b);

#endif /* WEIR_PROXY_HTTP_H */
