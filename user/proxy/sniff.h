/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protocol detection for ports with no declared protocol (Istio's "auto" sniffing): the
 * first bytes a client sends say whether it speaks HTTP/1.x (a request line), HTTP/2 with
 * prior knowledge (the connection preface), or something else that is relayed as TCP.
 */
#ifndef WEIR_PROXY_SNIFF_H
#define WEIR_PROXY_SNIFF_H

#include <stddef.h>
#include <stdint.h>

enum sniff_result {
	SNIFF_NEED_MORE = 0, /* a prefix of a request line or of the preface: read more */
	SNIFF_HTTP1 = 1,     /* a method token and SP */
	SNIFF_H2 = 2,	     /* the 24-byte HTTP/2 client connection preface */
	SNIFF_OTHER = 3,     /* neither: plain TCP (or TLS, which the mTLS layer handles) */
};

/* Bytes of the longest method token sniff_proto() waits for before giving up. */
#define SNIFF_METHOD_MAX 24

/*
 * Classifies the first <len> bytes <buf> a client sent. Pure and cheap: called again with
 * more bytes after SNIFF_NEED_MORE (the caller bounds how long it waits).
 */
enum sniff_result sniff_proto(const uint8_t *buf, size_t len);

#endif /* WEIR_PROXY_SNIFF_H */
