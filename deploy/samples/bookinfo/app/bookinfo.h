/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bookinfo sample program's shared pieces: URL parsing and trace-id helpers used by both
 * the service mode (bookinfo.c) and the load mode (loadgen.c). Not part of the weir agent:
 * this is the application that weir meshes without changing it.
 */
#ifndef WEIR_BOOKINFO_H
#define WEIR_BOOKINFO_H

#include <stddef.h>
#include <stdint.h>

#define BOOKINFO_MAX_CALLS 16

/* A parsed http://host[:port][/path] URL (the only form the sample needs). */
struct bookinfo_url {
	char host[256];	 /* name or dotted quad, as written */
	char path[1024]; /* "/" when absent; includes any query */
	uint16_t port;	 /* 80 when absent */
};

/*
 * Parses <s> into <u>. Returns 0, or -EINVAL when <s> is not an http:// URL with a sane host
 * and port (https is refused on purpose: the mesh, not the app, does TLS).
 */
int bookinfo_url_parse(const char *s, struct bookinfo_url *u);

/*
 * Resolves <host> to one IPv4 address written as text into <buf> (<len> bytes) with
 * getaddrinfo, so /etc/hosts (the simulator's Service names) is honoured. Returns 0 or -errno
 * (-ENOENT when the name does not resolve).
 */
int bookinfo_resolve(const char *host, char *buf, size_t len);

/* Writes <n> random lowercase hex digits and a NUL into <buf> (<n> + 1 bytes). */
void bookinfo_hex_random(char *buf, size_t n);

/* What the load mode is asked to do; every loop it runs is bounded by count and time. */
struct loadgen_opts {
	const char *url;      /* target, http://host:port/path */
	double rate;	      /* requests per second, > 0 */
	double duration;      /* seconds, > 0 */
	unsigned concurrency; /* most requests in flight at once */
	unsigned long count;  /* most requests sent in all (0: rate * duration) */
	unsigned timeout_ms;  /* per request */
};

/*
 * Runs the load mode described by <o>: one new connection per request, W3C and B3 trace headers
 * and a fresh x-request-id on each, then prints a JSON summary (status codes, which service
 * versions answered, latency percentiles) on stdout. Returns the process exit status: 0 when at
 * least one request got a 200, 1 otherwise, 2 for bad options.
 */
int loadgen_run(const struct loadgen_opts *o);

#endif /* WEIR_BOOKINFO_H */
