/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Active health checks (weir.dev/v1alpha1 HealthCheck): every endpoint of a cluster with
 * a health policy is probed on the agent's control thread, by a TCP connect or an HTTP GET,
 * every interval, with a timeout. After unhealthyThreshold failures in a row the endpoint is
 * out (the proxy skips it and the kernel's Service entry marks it unhealthy, as outlier
 * ejections are), after healthyThreshold successes it is back. Probes are non-blocking;
 * one in flight per endpoint.
 */
#ifndef WEIR_PROXY_HEALTH_H
#define WEIR_PROXY_HEALTH_H

#include <stdint.h>

struct event_base;
struct model;
struct px_limits;
struct health;

/* A checker on <base> reporting into <l>. <src_ip>: probes leave from it (0: any). */
struct health *health_new(struct event_base *base, struct px_limits *l, uint32_t src_ip);

/*
 * Takes the targets from snapshot <m> (called on every new snapshot): endpoints of
 * clusters with a health policy. Targets that stay keep their state and counts.
 */
void health_update(struct health *h, const struct model *m);

/* Counters for /metrics. */
struct health_stats {
	uint64_t probes;   /* probes finished */
	uint64_t failures; /* of those, failed */
	unsigned targets;  /* endpoints checked now */
	unsigned down;	   /* of those, out of service */
};

void health_stats(const struct health *h, struct health_stats *out);

/* Stops every probe and frees <h>. Accepts NULL. */
void health_free(struct health *h);

#endif /* WEIR_PROXY_HEALTH_H */
