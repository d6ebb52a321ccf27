/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proxy's side of access logging: turns what a finished HTTP exchange or a closed TCP
 * session knows into a telemetry/accesslog.h entry and hands it to the worker's ring, so
 * exchange.c and tcp.c each need one call and no knowledge of the log's format.
 */
#ifndef WEIR_PROXY_ACCESS_H
#define WEIR_PROXY_ACCESS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct px_worker;
struct hsession;
struct http_head;
struct relay_flow;

/* What an exchange knows at its end, beside its request head. */
struct px_access_http {
	uint64_t t0_ns;			/* CLOCK_MONOTONIC start of the request */
	uint64_t req_bytes, resp_bytes; /* body bytes each way */
	uint32_t flags;			/* REQSTATS_F_* */
	uint16_t status;		/* sent downstream; 0: no response */
	bool via_upstream;		/* the response came from the upstream */
	const char *cluster;		/* the route's cluster; "" or NULL: none */
	const struct sockaddr_in *ep;	/* the endpoint of the last attempt (zero: none) */
};

/*
 * Logs the exchange of session <hs> on worker <w> whose request head is <req> and whose
 * end is <a>, when <w> has an access log. Never blocks; a full ring drops the line.
 */
void px_access_http(struct px_worker *w, struct hsession *hs, const struct http_head *req,
		    const struct px_access_http *a);

/*
 * Logs a TCP connection of worker <w> between client <peer> and the backend of <key>
 * (what the client connected to, where it went), started at <t0_ns> (CLOCK_MONOTONIC),
 * with <up>/<down> bytes delivered each way and response flags <flags>.
 */
void px_access_tcp(struct px_worker *w, const struct sockaddr_in *peer,
		   const struct relay_flow *key, uint64_t t0_ns, uint64_t up, uint64_t down,
		   uint32_t flags);

/*
 * Logs a TCP connection of worker <w> from <peer> to <orig> that was refused before any
 * session existed (no ready backend: <flags> REQSTATS_F_UH).
 */
void px_access_tcp_refused(struct px_worker *w, const struct sockaddr_in *peer,
			   const struct sockaddr_in *orig, uint32_t flags);

/* CLOCK_MONOTONIC now, nanoseconds: the clock <t0_ns> above is read on. */
uint64_t px_access_now_ns(void);

#endif /* WEIR_PROXY_ACCESS_H */
