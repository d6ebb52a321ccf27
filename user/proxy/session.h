/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The protocol sessions a listener hands an accepted connection to, once its original
 * destination and Service port are known (relay.c decides which, see docs/proxy.md):
 * TCP pass-through to one chosen backend (tcp.c), or an HTTP session whose requests are
 * each routed and sent upstream on their own (hsession.c).
 */
#ifndef WEIR_PROXY_SESSION_H
#define WEIR_PROXY_SESSION_H

#include <netinet/in.h>
#include <stdint.h>

#include "proxy/relay.h"

struct px_worker;
struct route_table;
struct model_service;
struct model_svc_port;

/*
 * Relays accepted socket <fd> to <target> byte for byte, counting into flow <key>.
 * Takes <fd> in every case (closed on failure). Returns 0 or -ENOMEM (then <fd> is the
 * caller's to reset).
 */
int tcp_session_start(struct px_worker *w, int fd, const struct sockaddr_in *target,
		      const struct relay_flow *key);

/* Where an HTTP session's requests go: the Service port the client connected to. */
struct hsession_dest {
	struct sockaddr_in orig; /* what the client connected to */
	uint32_t client_ip;	 /* network order */
	uint16_t client_port;	 /* network order (access logs) */
	uint32_t svc_id;	 /* weir id of the Service; 0 when none */
	uint32_t src_wl;	 /* the client's workload id; 0 when unknown */
	uint8_t upstream_proto;	 /* enum route_proto: HTTP (h1) or HTTP2/GRPC (h2) */
};

/*
 * Serves accepted socket <fd> as HTTP (HTTP/1.1, or HTTP/2 when the client starts with
 * the h2c preface), routing each request on its own. Takes <fd> in every case. Returns 0
 * or -ENOMEM (then <fd> is the caller's to reset).
 */
int hsession_start(struct px_worker *w, int fd, const struct hsession_dest *d);

/* Once per worker tick: requests a circuit breaker queued try again (exchange.c). */
void exchange_tick(struct px_worker *w);

#endif /* WEIR_PROXY_SESSION_H */
