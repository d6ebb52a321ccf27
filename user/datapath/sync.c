// SPDX-License-Identifier: Apache-2.0
/*
 * Model -> maps. Order matters for readers in the kernel: workload ids exist before any
 * address or backend names them, and a Service entry is replaced in one map update, so a
 * connect() sees either the old backend list or the new one, never a mix.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "datapath/datapath.h"
#include "lib/log.h"
#include "model/lb.h"
#include "datapath/sync.h"

void sync_init(struct sync_state *st)
{
	strmap_init(&st->wl_info);
	keymap_init(&st->svcs, sizeof(struct weir_svc_key));
	keymap_init(&st->ips, sizeof(uint32_t));
	keymap_init(&st->unhealthy, sizeof(struct sync_ep));
}

void sync_fini(struct sync_state *st)
{
	strmap_fini(&st->wl_info, free);
	keymap_fini(&st->svcs, NULL);
	keymap_fini(&st->ips, NULL);
	keymap_fini(&st->unhealthy, NULL);
}

static void sync_copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

void sync_wl_info_build(const struct model_pod *pod, struct weir_wl_info *info)
{
	memset(info, 0, sizeof(*info));
	sync_copy(info->ns, sizeof(info->ns), pod->ns);
	sync_copy(info->name, sizeof(info->name), pod->workload);
	sync_copy(info->app, sizeof(info->app), pod->app);
	sync_copy(info->version, sizeof(info->version), pod->version);
	sync_copy(info->sa, sizeof(info->sa), pod->sa);
}

int sync_set_unhealthy(struct sync_state *st, const struct sync_ep *eps, size_t n)
{
	bool changed = n != st->unhealthy.len;
	struct keymap next;

	for (size_t i = 0; !changed && i < n; i++)
		changed = !keymap_get(&st->unhealthy, &eps[i]);
	if (!changed)
		return 0;
	keymap_init(&next, sizeof(struct sync_ep));
	for (size_t i = 0; i < n; i++) {
		if (keymap_put(&next, &eps[i], (void *)1, NULL) < 0) {
			keymap_fini(&next, NULL);
			return -ENOMEM;
		}
	}
	keymap_fini(&st->unhealthy, NULL);
	st->unhealthy = next;
	return 1;
}

unsigned sync_svc_build(const struct model_svc_port *sp, uint32_t svc_id, uint16_t mode,
			const struct ids *ids, struct weir_svc *out)
{
	unsigned dropped = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->id = svc_id;
	out->mode = mode;
	for (i = 0; i < sp->neps; i++) {
		const struct model_endpoint *ep = &sp->eps[i];
		struct weir_backend *be;

		if (!ep->ready || !ep->ip)
			continue;
		if (out->count == WEIR_MAX_BACKENDS) {
			dropped++;
			continue;
		}
		be = &out->backends[out->count++];
		be->ip = ep->ip;
		be->port = htons(ep->port);
		be->weight = lb_ep_weight(ep); /* the agent's pick reads the same weight */
		be->wl_id = ep->pod ? ids_find_workload(ids, ep->pod->ns, ep->pod->workload) : 0;
	}
	return dropped;
}

/* FNV-1a over the bytes of an entry: detects "unchanged" without keeping 2 KiB copies. */
static uint64_t sync_hash(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h ? h : 1; /* 0 means "present in the map, content unknown" */
}

int sync_restore(struct sync_state *st, struct ids *ids, struct datapath *dp)
{
	int fd, err;
	uint32_t id, *prev;

	/* Workload and service ids first: the edge counters are keyed by them. */
	fd = datapath_map_fd(dp, DP_MAP_WL_INFO);
	for (prev = NULL; fd >= 0 && bpf_map_get_next_key(fd, prev, &id) == 0; prev = &id) {
		struct weir_wl_info info, *copy;
		void *old = NULL;
		char key[256];

		if (bpf_map_lookup_elem(fd, &id, &info) < 0)
			continue;
		info.ns[sizeof(info.ns) - 1] = info.name[sizeof(info.name) - 1] = '\0';
		err = ids_restore_wl(ids, id, &info);
		if (err < 0)
			return err;
		copy = malloc(sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		*copy = info;
		snprintf(key, sizeof(key), "%s/%s", info.ns, info.name);
		if (strmap_put(&st->wl_info, key, copy, &old) < 0) {
			free(copy);
			return -ENOMEM;
		}
		free(old);
	}
	fd = datapath_map_fd(dp, DP_MAP_SVC_INFO);
	for (prev = NULL; fd >= 0 && bpf_map_get_next_key(fd, prev, &id) == 0; prev = &id) {
		struct weir_svc_info info;

		if (bpf_map_lookup_elem(fd, &id, &info) < 0)
			continue;
		info.ns[sizeof(info.ns) - 1] = info.name[sizeof(info.name) - 1] = '\0';
		err = ids_restore_svc(ids, id, &info);
		if (err < 0)
			return err;
	}
	/* Entries present but of unknown content: hash 1 never matches a real entry's. The
	 * keys are kept as the map holds them, so a later delete names exactly that entry. */
	fd = datapath_map_fd(dp, DP_MAP_SERVICES);
	{
		struct weir_svc_key k, *pk = NULL;

		for (; fd >= 0 && bpf_map_get_next_key(fd, pk, &k) == 0; pk = &k)
			if (keymap_put(&st->svcs, &k, (void *)(uintptr_t)1, NULL) < 0)
				return -ENOMEM;
	}
	fd = datapath_map_fd(dp, DP_MAP_IPS);
	{
		uint32_t ip, *pip = NULL;

		for (; fd >= 0 && bpf_map_get_next_key(fd, pip, &ip) == 0; pip = &ip)
			if (keymap_put(&st->ips, &ip, (void *)(uintptr_t)1, NULL) < 0)
				return -ENOMEM;
	}
	return 0;
}

/* Workload ids and names for every Pod with a workload. */
static void sync_workloads(struct sync_state *st, struct ids *ids, struct datapath *dp,
			   const struct model *m, struct sync_stats *stats)
{
	size_t i;

	for (i = 0; i < m->npods; i++) {
		const struct model_pod *pod = &m->pods[i];
		struct weir_wl_info info, *cur;
		char key[512];
		uint32_t id;
		void *old;

		if (!pod->workload)
			continue;
		id = ids_workload(ids, pod->ns, pod->workload, NULL);
		if (!id) {
			stats->errors++;
			log_warn("sync", "workload table full (%u): %s/%s gets no id", ids->max_wl,
				 pod->ns, pod->workload);
			continue;
		}
		sync_wl_info_build(pod, &info);
		snprintf(key, sizeof(key), "%s/%s", pod->ns, pod->workload);
		cur = strmap_get(&st->wl_info, key);
		if (cur && memcmp(cur, &info, sizeof(info)) == 0)
			continue;
		if (datapath_wl_info_set(dp, id, &info) < 0) {
			stats->errors++;
			continue;
		}
		cur = malloc(sizeof(*cur));
		if (!cur || strmap_put(&st->wl_info, key, cur, &old) < 0) {
			free(cur);
			stats->errors++;
			continue;
		}
		*cur = info;
		free(old);
		stats->wl_written++;
	}
}

/* Packs a weir_ip into a map value pointer (never 0: 0 means absent, 1 means unknown). */
static uintptr_t sync_ip_pack(const struct weir_ip *v)
{
	return ((uintptr_t)v->wl_id << 8 | v->flags) << 1 | 1;
}

static int sync_ip_set(struct sync_state *st, struct keymap *want, struct datapath *dp, uint32_t ip,
		       const struct weir_ip *v, struct sync_stats *stats)
{
	uintptr_t packed = sync_ip_pack(v);

	if (keymap_get(want, &ip))
		return 0; /* first writer wins: agents before Pods, local before remote */
	if (keymap_put(want, &ip, (void *)packed, NULL) < 0)
		return -ENOMEM;
	if ((uintptr_t)keymap_get(&st->ips, &ip) == packed)
		return 0;
	if (datapath_ip_set(dp, ip, v) < 0) {
		stats->errors++;
		return 0;
	}
	stats->ips_written++;
	return 0;
}

static void sync_ips(struct sync_state *st, struct ids *ids, struct datapath *dp,
		     const struct model *m, int (*is_local)(const struct model_pod *, void *),
		     void *arg, const uint32_t *agent_ips, size_t nagent, struct sync_stats *stats)
{
	struct keymap want;
	const void *k;
	void *v;
	size_t i;

	keymap_init(&want, sizeof(uint32_t));
	for (i = 0; i < nagent; i++) {
		struct weir_ip val = {.wl_id = WEIR_ID_UNKNOWN, .flags = WEIR_IP_AGENT};

		sync_ip_set(st, &want, dp, agent_ips[i], &val, stats);
	}
	for (i = 0; i < m->npods; i++) {
		const struct model_pod *pod = &m->pods[i];
		struct weir_ip val = {0};

		if (!pod->ip || pod->host_network)
			continue;
		val.wl_id = ids_find_workload(ids, pod->ns, pod->workload);
		if (pod->mesh)
			val.flags |= WEIR_IP_POD;
		if (pod->mesh && is_local && is_local(pod, arg))
			val.flags |= WEIR_IP_LOCAL;
		sync_ip_set(st, &want, dp, pod->ip, &val, stats);
	}
	/* Whatever was written before and is not wanted now goes. */
	for (i = 0; (i = keymap_next(&st->ips, i, &k, &v)) != 0;) {
		uint32_t ip;
		int err;

		if (keymap_get(&want, k))
			continue;
		memcpy(&ip, k, sizeof(ip));
		err = datapath_ip_del(dp, ip);
		if (err < 0 && err != -ENOENT)
			stats->errors++;
		else
			stats->ips_deleted++;
	}
	keymap_fini(&st->ips, NULL);
	st->ips = want;
}

static void sync_services(struct sync_state *st, struct ids *ids, struct datapath *dp,
			  const struct model *m, struct sync_stats *stats)
{
	struct weir_svc *entry;
	struct keymap want;
	const void *k;
	void *v;
	size_t i, j;

	entry = malloc(sizeof(*entry));
	if (!entry) {
		stats->errors++;
		return;
	}
	keymap_init(&want, sizeof(struct weir_svc_key));
	for (i = 0; i < m->nservices; i++) {
		const struct model_service *svc = &m->services[i];
		struct weir_svc_info info;
		bool is_new;
		uint32_t id;

		if (!svc->vip)
			continue; /* headless: nothing to load-balance */
		id = ids_service(ids, svc->ns, svc->name, &is_new);
		if (!id) {
			stats->errors++;
			log_warn("sync", "service table full: %s/%s is not programmed", svc->ns,
				 svc->name);
			continue;
		}
		if (is_new) {
			memset(&info, 0, sizeof(info));
			sync_copy(info.ns, sizeof(info.ns), svc->ns);
			sync_copy(info.name, sizeof(info.name), svc->name);
			if (datapath_svc_info_set(dp, id, &info) < 0)
				stats->errors++;
		}
		for (j = 0; j < svc->nports; j++) {
			const struct model_svc_port *sp = &svc->ports[j];
			struct weir_svc_key key = {
			    .vip = svc->vip, .port = htons(sp->port), .proto = sp->proto};
			unsigned dropped;
			uint64_t h;

			dropped = sync_svc_build(sp, id, svc->mode, ids, entry);
			for (uint32_t b = 0; st->unhealthy.len && b < entry->count; b++) {
				struct sync_ep e = {.ip = entry->backends[b].ip,
						    .port = entry->backends[b].port};

				if (keymap_get(&st->unhealthy, &e))
					entry->backends[b].flags |= WEIR_BE_UNHEALTHY;
			}
			if (dropped) {
				stats->backends_dropped += dropped;
				log_warn("sync",
					 "%s: Service %s/%s port %u: %u endpoints beyond %d "
					 "are not load-balanced to",
					 svc->source ? svc->source : "?", svc->ns, svc->name,
					 sp->port, dropped, WEIR_MAX_BACKENDS);
			}
			h = sync_hash(entry, sizeof(*entry));
			/* Services come in namespace/name order: of two claiming one VIP and
			 * port the first is the model's (model.c warned), and the entry must be
			 * the same one, not whichever was written last. */
			if (keymap_get(&want, &key))
				continue;
			if (keymap_put(&want, &key, (void *)(uintptr_t)h, NULL) < 0) {
				stats->errors++;
				continue;
			}
			if ((uint64_t)(uintptr_t)keymap_get(&st->svcs, &key) == h) {
				stats->svc_unchanged++;
				continue;
			}
			if (datapath_svc_set(dp, &key, entry) < 0) {
				stats->errors++;
				/* Content unknown: rewritten on the next sync. Kept in <want> so
				 * the old entry is not deleted and no other Service claims it. */
				keymap_put(&want, &key, (void *)(uintptr_t)1, NULL);
				continue;
			}
			stats->svc_written++;
		}
	}
	for (i = 0; (i = keymap_next(&st->svcs, i, &k, &v)) != 0;) {
		struct weir_svc_key key;
		int err;

		if (keymap_get(&want, k))
			continue;
		memcpy(&key, k, sizeof(key)); /* keys in the table need not be aligned */
		err = datapath_svc_del(dp, &key);
		if (err < 0 && err != -ENOENT)
			stats->errors++;
		else
			stats->svc_deleted++;
	}
	keymap_fini(&st->svcs, NULL);
	st->svcs = want;
	free(entry);
}

int sync_apply(struct sync_state *st, struct ids *ids, struct datapath *dp, const struct model *m,
	       int (*is_local)(const struct model_pod *, void *), void *arg,
	       const uint32_t *agent_ips, size_t nagent, struct sync_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	sync_workloads(st, ids, dp, m, stats);
	sync_ips(st, ids, dp, m, is_local, arg, agent_ips, nagent, stats);
	sync_services(st, ids, dp, m, stats);
	return 0;
}
