/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Programming a model snapshot into the datapath maps: workload and service names (with
 * stable ids), the address table and the Service entries. Builders are plain functions
 * over plain structs; the sync functions diff against what they wrote last (and, after a
 * restart, against what the pinned maps already hold) so unchanged entries are not
 * rewritten and vanished ones are deleted.
 */
#ifndef WEIR_USER_SYNC_H
#define WEIR_USER_SYNC_H

#include <stdint.h>

#include <weir/service.h>
#include <weir/workload.h>

#include "model/ids.h"
#include "model/model.h"
#include "lib/keymap.h"
#include "lib/strmap.h"

struct datapath;

struct sync_state {
	struct strmap wl_info;	 /* "ns/workload" -> last written struct weir_wl_info */
	struct keymap svcs;	 /* struct weir_svc_key -> (void *)content hash */
	struct keymap ips;	 /* __be32 address -> (void *)packed weir_ip */
	struct keymap unhealthy; /* struct sync_ep -> 1: backends the agent's outlier
				  * detection ejected (WEIR_BE_UNHEALTHY in every entry) */
};

/* A backend as the unhealthy set keys it. */
struct sync_ep {
	uint32_t ip;   /* network order */
	uint16_t port; /* network order */
	uint16_t pad;  /* zero */
};

/* What one sync did, for logs and /metrics. */
struct sync_stats {
	unsigned svc_written, svc_deleted, svc_unchanged;
	unsigned backends_dropped; /* endpoints beyond WEIR_MAX_BACKENDS */
	unsigned ips_written, ips_deleted;
	unsigned wl_written;
	unsigned errors;
};

void sync_init(struct sync_state *st);
void sync_fini(struct sync_state *st);

/*
 * Fills <info> for the workload of <pod>. Strings are truncated to the fields' sizes and
 * always NUL-terminated.
 */
void sync_wl_info_build(const struct model_pod *pod, struct weir_wl_info *info);

/*
 * Builds the weir_services value for port <sp> of a Service with id <svc_id> and mode
 * <mode>: ready endpoints only, weight from the Pod (1 without one), workload ids looked
 * up in <ids>. Returns how many ready endpoints did not fit (0 normally).
 */
unsigned sync_svc_build(const struct model_svc_port *sp, uint32_t svc_id, uint16_t mode,
			const struct ids *ids, struct weir_svc *out);

/*
 * Replaces the set of unhealthy backends with the <n> at <eps>. Returns 1 when the set
 * changed (the caller syncs again so that Service entries carry the flag), 0 when not,
 * -ENOMEM.
 */
int sync_set_unhealthy(struct sync_state *st, const struct sync_ep *eps, size_t n);

/*
 * Reads back what the pinned maps hold (ids from the info maps; service keys and
 * addresses present), so that the first sync after a restart keeps ids stable and deletes
 * what vanished while the agent was down. Returns 0 or -errno.
 */
int sync_restore(struct sync_state *st, struct ids *ids, struct datapath *dp);

/*
 * Programs <m>: workload ids and names, then addresses (<node> decides WEIR_IP_LOCAL via
 * <is_local>, a callback answering whether a Pod is enrolled here; <agent_ips>[<nagent>]
 * get WEIR_IP_AGENT), then Services. Per-entry failures are logged and counted in
 * <stats>; the function goes on. Returns 0, or -errno when nothing could be done.
 */
int sync_apply(struct sync_state *st, struct ids *ids, struct datapath *dp, const struct model *m,
	       int (*is_local)(const struct model_pod *, void *), void *arg,
	       const uint32_t *agent_ips, size_t nagent, struct sync_stats *stats);

#endif /* WEIR_USER_SYNC_H */
