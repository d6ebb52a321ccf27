/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The load generator proper: one epoll loop driving HTTP/1.1 GETs at one target, either open
 * loop on a fixed timeline (latency from each request's scheduled time) or closed loop as fast
 * as the connections allow, over keep-alive connections or one new connection per request.
 */
#ifndef WEIR_BENCH_CLIENT_H
#define WEIR_BENCH_CLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"

struct client_opts {
	struct sockaddr_in target; /* where every connection goes (a Pod IP or a Service VIP) */
	double rate;               /* requests per second on the timeline; 0 = closed loop (max) */
	double duration;           /* seconds of schedule (open loop) or of sending (closed loop) */
	double drain;              /* seconds to wait for answers after the last send */
	uint64_t count;            /* stop after this many requests (0 = bounded by duration) */
	int conns;                 /* keep-alive connections, or concurrent new connections */
	bool conn_per_req;         /* a new connection for every request (closed abortively) */
	const char *host;          /* Host header */
	const char *header;        /* one more request header, "name: value" (NULL: none): the
				    * L7 rows route on it */
};

enum client_err { CE_CONNECT, CE_RESET, CE_TIMEOUT, CE_STATUS, CE_PARSE, CE_MAX };

struct client_result {
	struct hist lat;            /* latency in ns of every successful request */
	uint64_t ok;                /* 2xx responses */
	uint64_t errors[CE_MAX];    /* failures by kind */
	uint64_t scheduled;         /* requests put on the timeline (or sent, closed loop) */
	uint64_t conns_opened;      /* connections that completed the TCP handshake */
	double elapsed;             /* seconds from the first send to the last answer */
	double late_max_ms;         /* largest backlog seen: how far sending fell behind schedule */
};

/* Fills <o> with defaults (4 connections, 1000 rps, 5 s, 2 s drain, Host "bench"). */
void client_opts_default(struct client_opts *o);
/* Runs the load of <o>, filling <r> (which the caller owns). Returns 0 or -errno on setup. */
int client_run(const struct client_opts *o, struct client_result *r);
/* Writes <r> for <o> as one JSON object and a newline to <f>. */
void client_result_json(FILE *f, const struct client_opts *o, const struct client_result *r);
/*
 * Opens <o>->conns keep-alive connections to <o>->target, completes one request (with
 * <o>->host and <o>->header) on each so that every hop holds state, reports {"connected":..}
 * on <f>, then holds them for <hold> seconds. HTTP/1.1, or h2c with prior knowledge when <h2>.
 * Returns 0 or -errno if not even one connection could be made.
 */
int client_idle(const struct client_opts *o, double hold, bool h2, FILE *f);

#endif /* WEIR_BENCH_CLIENT_H */
