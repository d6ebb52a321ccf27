/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP test fixtures on loopback: HTTP/1.1 backends (a thread per connection, blocking,
 * keep-alive) whose answers depend on the path, and a curl runner. Used by the proxy's
 * tests; every address is loopback and every wait bounded.
 *
 * Backend paths: /id -> "backend <id>\n"; /echo -> the request body; /hdr/<name> -> that
 * request header's value; /big -> 4 MiB; /slow -> "slow\n" after 1.5 s; /ws -> 101, then an
 * echo of raw bytes; anything else as /id.
 * fail_next answers that many requests with 503 first.
 */
#ifndef WEIR_TESTS_HTTPFX_H
#define WEIR_TESTS_HTTPFX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct hbe {
	int id;
	int lfd;
	uint16_t port; /* host order */
	pthread_t th;
	_Atomic int stop;
	_Atomic unsigned conns;
	_Atomic unsigned requests;
	_Atomic int fail_next;	  /* answer this many requests with 503 first */
	_Atomic size_t tunnel_rx; /* "first" tunnels: bytes read after the backend's FIN */
};

/* Starts backend <b> with <id> listening on <ip>:<port> (port 0: any). Asserts on failure. */
void hbe_start(struct hbe *b, int id, const char *ip, uint16_t port);

/* Stops <b> (its connection threads end with their clients). */
void hbe_stop(struct hbe *b);

/* A listening socket on 127.0.0.1, its port into *<port>. */
int httpfx_listen_lo(uint16_t *port);

/*
 * Runs `curl -sS --max-time 20 <args>` (printf-style) and returns its stdout, malloc'd
 * (caller frees).
 */
char *httpfx_curl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* How many times <needle> occurs in <hay>. */
unsigned httpfx_count(const char *hay, const char *needle);

#endif /* WEIR_TESTS_HTTPFX_H */
