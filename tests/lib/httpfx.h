/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loopback fixtures for tests of the HTTP proxy over real sockets: HTTP/1.1 backends on
 * test threads (blocking, keep-alive, a thread per connection) and a hand-built model
 * snapshot with one Service whose ports lead to them. Shared by the proxy and hand-over
 * tests so that both exercise the same backends. Nothing here asserts: errors come back
 * as -errno for the test to check.
 */
#ifndef WEIR_TESTS_HTTPFX_H
#define WEIR_TESTS_HTTPFX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"

/*
 * One backend. Paths: /echo returns the body, /slow answers after 400 ms, /hdr/<name> the request
 * header's value, /big 4 MiB, anything else "backend <id>\n".
 */
struct hbe {
	int id;
	int lfd;
	uint16_t port;
	pthread_t th;
	_Atomic int stop;
	_Atomic unsigned conns;
	_Atomic unsigned requests;
	_Atomic int fail_next; /* answer this many requests with 503 first */
};

/* Binds a listening TCP socket on 127.0.0.1, any port (into *<port>). Returns it or -errno. */
int httpfx_listen_lo(uint16_t *port);

/* Starts backend <b> with id <id> on a free loopback port. Returns 0 or -errno. */
int hbe_start(struct hbe *b, int id);

/* Stops backend <b> (its accept thread; open connections end with their clients). */
void hbe_stop(struct hbe *b);

/* A model with one Service of up to four HTTP ports, each with up to two endpoints. */
struct tmodel {
	struct model m;
	struct model_service svc;
	struct model_svc_port ports[4];
	struct model_endpoint eps[4][2];
	struct model_pod pods[4][2];
};

/*
 * Allocates a tmodel (free() it, or publish it to a snap whose free callback frees it)
 * with Service default/web at <vip> (network order). Returns it or NULL.
 */
struct tmodel *tmodel_new(uint32_t vip);

/*
 * Adds Service port <port> of <t> with endpoints on loopback ports <p0> and <p1> (0: none),
 * ready or not per <ready>.
 */
void tmodel_port(struct tmodel *t, uint16_t port, uint16_t p0, uint16_t p1, bool ready);

/* A snap free callback for tmodels. */
void tmodel_free(void *obj, void *arg);

#endif /* WEIR_TESTS_HTTPFX_H */
