/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server name a TLS client asks for, read from its ClientHello without terminating
 * TLS: VirtualService tls[] routes match it (sniHosts). Sans-IO and bounded: the caller
 * feeds the bytes as they arrive, in any split; records are reassembled up to a fixed
 * ClientHello size and nothing is read past what was fed.
 */
#ifndef WEIR_PROXY_SNI_H
#define WEIR_PROXY_SNI_H

#include <stddef.h>
#include <stdint.h>

/* The longest ClientHello read (handshake header included); longer ones are SNI_NONE. */
#define SNI_HELLO_MAX 16384
/* RFC 6066: a HostName is at most 255 bytes. */
#define SNI_HOST_MAX 255

enum sni_result {
	SNI_NEED_MORE = 0, /* a prefix of a ClientHello: feed more */
	SNI_NOT_TLS = 1,   /* not a TLS handshake, or a malformed ClientHello */
	SNI_FOUND = 2,	   /* a ClientHello with a host name: sni_parser.host */
	SNI_NONE = 3,	   /* a ClientHello without a usable host name (or too long) */
};

struct sni_parser {
	uint8_t state;		     /* enum sni_result: sticky once not SNI_NEED_MORE */
	uint8_t rec_hdr[5];	     /* the record header being read */
	uint8_t rec_hdr_len;	     /* bytes of it read */
	uint32_t rec_left;	     /* payload bytes of the current record still to come */
	uint32_t hs_len;	     /* handshake bytes gathered in <hs> */
	uint32_t fed;		     /* bytes fed so far */
	char host[SNI_HOST_MAX + 1]; /* SNI_FOUND: the host name, lower case, NUL-ended */
	size_t host_len;
	uint8_t hs[SNI_HELLO_MAX]; /* the ClientHello, reassembled from its records */
};

/* Prepares <p> for a new connection. */
void sni_init(struct sni_parser *p);

/*
 * Feeds the next <len> bytes <buf> of what the client sent to <p>. Returns the verdict so
 * far: SNI_NEED_MORE until the ClientHello is whole, then the same result on every call.
 */
enum sni_result sni_feed(struct sni_parser *p, const uint8_t *buf, size_t len);

/*
 * Whether host name <host> (<len> bytes, lower case) matches sniHosts entry <pat>: equal
 * ignoring case, "*" for any (also no name at all: <host> NULL), "*.example.com" for any
 * name that ends in ".example.com" with at least one label before it.
 */
int sni_host_match(const char *pat, const char *host, size_t len);

#endif /* WEIR_PROXY_SNI_H */
