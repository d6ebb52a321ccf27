/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-request endpoint choice within one upstream cluster (a route_cluster of the snapshot),
 * after the router has picked the cluster: DestinationRule loadBalancer ROUND_ROBIN,
 * LEAST_REQUEST (Envoy's power of two choices), RANDOM and consistentHash over a Maglev
 * table. Every worker owns one struct balancer: cursors and Maglev tables live there, so
 * picking takes no lock and shares nothing mutable between workers.
 */
#ifndef WEIR_PROXY_BALANCER_H
#define WEIR_PROXY_BALANCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/maglev.h"
#include "model/route.h"
#include "proxy/http.h"

/* One cached Maglev table: for one cluster of one snapshot generation. */
struct balancer_ring {
	uint64_t gen;	     /* snapshot generation it was built for; 0: unused */
	uint32_t cluster_id; /* route_cluster.id */
	struct maglev table; /* slot -> index into route_cluster.eps */
};

#define BALANCER_RINGS 16 /* Maglev tables kept per worker (least recently built goes) */

/* A worker's balancing state. Caller's storage: balancer_init(), then balancer_fini(). */
struct balancer {
	uint64_t rng;	   /* lb_rand() state */
	uint64_t gen;	   /* generation the cursors below belong to */
	uint32_t *cursor;  /* round robin position per route_cluster.id */
	size_t ncursor;	   /* entries of <cursor> */
	uint32_t ring_clk; /* build counter, to evict the oldest ring */
	uint32_t ring_age[BALANCER_RINGS];
	struct balancer_ring ring[BALANCER_RINGS];
};

/* What the caller knows about the request and the endpoints' live state. */
struct balancer_req {
	uint64_t gen;		     /* snapshot generation of the cluster (non-zero) */
	const struct http_head *req; /* request head for header/cookie/query hashing; may be NULL */
	uint32_t src_ip;	     /* client address, network order (useSourceIp) */
	const uint32_t *active;	     /* active requests per endpoint index (LEAST_REQUEST);
				      * NULL counts every endpoint as idle */
	const uint64_t *ejected;     /* bitmap by endpoint index of outlier-ejected endpoints;
				      * NULL: none */
	/* Alternatively (or as well) a callback: true when endpoint <i> must be skipped. */
	bool (*is_ejected)(void *ctx, const struct route_cluster *c, size_t i);
	void *ctx;
};

/* Prepares <b> (caller's storage) for one worker, seeding its generator with <seed>. */
void balancer_init(struct balancer *b, uint64_t seed);

/* Releases the cursors and Maglev tables of <b>. Accepts a zeroed <b>. */
void balancer_fini(struct balancer *b);

/*
 * The weight endpoint <i> of <c> takes part with for request <r>: 0 when it is not ready,
 * drained (weir.dev/lb-weight 0) or ejected by <r>'s bitmap or callback.
 */
uint32_t balancer_weight(const struct route_cluster *c, size_t i, const struct balancer_req *r);

/*
 * Picks an endpoint of <c> for request <r> with <c>'s load balancing policy, using and
 * updating the per-worker state in <b>. Stores the index into <c>->eps in *<out>. Returns 0,
 * -EHOSTUNREACH when no endpoint is usable (the caller answers 503 UH), -EOPNOTSUPP for
 * PASSTHROUGH (the caller connects to the original destination) or -ENOMEM.
 */
int balancer_pick(struct balancer *b, const struct route_cluster *c, const struct balancer_req *r,
		  size_t *out);

/*
 * The consistent-hash key of request <r> under <lb> hashed into *<hash>. Returns 0, or
 * -ENOENT when the request does not carry the key (no such header, cookie or query
 * parameter): Envoy then picks at random, and so does balancer_pick().
 */
int balancer_hash(const struct route_lb_policy *lb, const struct balancer_req *r, uint64_t *hash);

#endif /* WEIR_PROXY_BALANCER_H */
