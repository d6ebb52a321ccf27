/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stable numeric ids for workloads and services. Edge keys in the kernel carry ids, so
 * an id must mean the same thing for as long as counters keyed by it exist: the tables
 * are mirrored in the pinned maps weir_wl_info and weir_svc_info and reloaded from them
 * when the agent restarts. Ids are never reused while the pins live.
 */
#ifndef WEIR_USER_IDS_H
#define WEIR_USER_IDS_H

#include <stdbool.h>
#include <stdint.h>

#include <weir/service.h>
#include <weir/workload.h>

#include "lib/strmap.h"

struct ids {
	struct strmap wl;  /* "ns/workload" -> (void *)(uintptr_t)id */
	struct strmap svc; /* "ns/name" -> id */
	/* Restored names that filled their info field, so may be truncated: "ns/name" as the
	 * pins print it -> id, claimed by the first longer name they are a prefix of. */
	struct strmap wl_trunc, svc_trunc;
	uint32_t next_wl;  /* next unused workload id (ids start at 1) */
	uint32_t next_svc; /* next unused service id */
	uint32_t max_wl;   /* capacity of weir_wl_info */
	uint32_t max_svc;  /* capacity of weir_svc_info */
};

/* Initialises empty tables for at most <max_wl> workloads and <max_svc> services. */
void ids_init(struct ids *ids, uint32_t max_wl, uint32_t max_svc);
void ids_fini(struct ids *ids);

/* Records an id read back from a pinned info map. Returns 0 or -errno. */
int ids_restore_wl(struct ids *ids, uint32_t id, const struct weir_wl_info *info);
int ids_restore_svc(struct ids *ids, uint32_t id, const struct weir_svc_info *info);

/*
 * The id of workload <ns>/<name> (or service), allocating the next one when new; sets
 * *<is_new> (may be NULL). Returns WEIR_ID_UNKNOWN (0) when the table is full.
 */
uint32_t ids_workload(struct ids *ids, const char *ns, const char *name, bool *is_new);
uint32_t ids_service(struct ids *ids, const char *ns, const char *name, bool *is_new);

/* The existing id, or 0, without allocating. */
uint32_t ids_find_workload(const struct ids *ids, const char *ns, const char *name);
uint32_t ids_find_service(const struct ids *ids, const char *ns, const char *name);

#endif /* WEIR_USER_IDS_H */
