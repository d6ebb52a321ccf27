// SPDX-License-Identifier: Apache-2.0
/*
 * Enrolment (enroll.h). The expensive step, finding a netns by address, runs only for
 * Pods not enrolled yet; an enrolled Pod costs one string lookup per sync.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "lib/clock.h"
#include "datapath/datapath.h"
#include "datapath/enroll.h"
#include "lib/log.h"
#include "datapath/netns.h"

struct enroll_hint {
	uint32_t ip;
	char netns[256];
};

/* Backoff of a pending Pod's netns lookups: 1 s doubling to 30 s. */
#define ENROLL_RETRY_MIN_NS 1000000000ULL
#define ENROLL_RETRY_MAX_NS 30000000000ULL

static uint64_t enroll_backoff_ns(unsigned attempts)
{
	uint64_t d = ENROLL_RETRY_MIN_NS << (attempts < 5 ? attempts : 5);

	return d < ENROLL_RETRY_MAX_NS ? d : ENROLL_RETRY_MAX_NS;
}

void enroll_init(struct enroll *e, struct datapath *dp, const char *node, bool splice)
{
	memset(e, 0, sizeof(*e));
	strmap_init(&e->pods);
	strmap_init(&e->hints);
	keymap_init(&e->restored, sizeof(uint64_t));
	e->dp = dp;
	e->node = node;
	e->splice = splice;
}

void enroll_fini(struct enroll *e)
{
	strmap_fini(&e->pods, free);
	strmap_fini(&e->hints, free);
	keymap_fini(&e->restored, free);
}

int enroll_restore(struct enroll *e)
{
	int fd = datapath_map_fd(e->dp, DP_MAP_NETNS);
	uint64_t cookie, *prev = NULL;

	for (; fd >= 0 && bpf_map_get_next_key(fd, prev, &cookie) == 0; prev = &cookie) {
		struct enroll_pod *p;
		struct weir_pod val;

		if (bpf_map_lookup_elem(fd, &cookie, &val) < 0)
			continue;
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->ip = val.ip;
		p->wl_id = val.wl_id;
		p->cookie = cookie;
		if (keymap_put(&e->restored, &cookie, p, NULL) < 0) {
			free(p);
			return -ENOMEM;
		}
	}
	return 0;
}

bool enroll_wants(const struct enroll *e, const struct model_pod *pod)
{
	return pod->mesh && pod->node && strcmp(pod->node, e->node) == 0;
}

static void enroll_key(char *buf, size_t len, const char *ns, const char *name)
{
	snprintf(buf, len, "%s/%s", ns, name);
}

int enroll_hint(struct enroll *e, const char *ns, const char *name, const char *netns, uint32_t ip)
{
	struct enroll_hint *h = calloc(1, sizeof(*h));
	struct enroll_pod *p;
	char key[512];
	void *old;

	if (!h)
		return -ENOMEM;
	h->ip = ip;
	snprintf(h->netns, sizeof(h->netns), "%s", netns);
	enroll_key(key, sizeof(key), ns, name);
	if (strmap_put(&e->hints, key, h, &old) < 0) {
		free(h);
		return -ENOMEM;
	}
	free(old);
	/* The plugin just said where the Pod is: look now, not when the backoff ends. An ADD
	 * after a DEL is a new sandbox (a restarted Pod, maybe at the same address): what the
	 * DEL withdrew no longer holds it back. */
	p = strmap_get(&e->pods, key);
	if (p) {
		p->retry_ns = 0;
		p->gone = false;
	}
	return 0;
}

const struct enroll_pod *enroll_find(const struct enroll *e, const char *ns, const char *name)
{
	char key[512];

	enroll_key(key, sizeof(key), ns, name);
	return strmap_get(&e->pods, key);
}

/* Withdraws one Pod from the datapath. */
static void enroll_withdraw(struct enroll *e, const char *key, struct enroll_pod *p)
{
	int err;

	if (!p->enrolled)
		return;
	err = datapath_pod_del(e->dp, p->cookie);
	if (err < 0 && err != -ENOENT)
		log_warn("enroll", "Pod %s: removing netns %016" PRIx64 " from weir_netns: %s", key,
			 p->cookie, strerror(-err));
	if (p->ifindex)
		datapath_tc_detach(e->dp, p->ifindex);
	log_info("enroll", "Pod %s withdrawn", key);
	p->enrolled = false;
}

void enroll_forget(struct enroll *e, const char *ns, const char *name)
{
	struct enroll_pod *p;
	char key[512];

	enroll_key(key, sizeof(key), ns, name);
	free(strmap_del(&e->hints, key));
	p = strmap_get(&e->pods, key);
	if (!p)
		return;
	enroll_withdraw(e, key, p);
	p->gone = true;
}

/* The cookie pinned for address <ip> by an earlier run, or 0. */
static uint64_t enroll_restored_cookie(const struct enroll *e, uint32_t ip)
{
	const void *k;
	void *v;
	size_t i;

	for (i = 0; (i = keymap_next(&e->restored, i, &k, &v)) != 0;)
		if (((struct enroll_pod *)v)->ip == ip)
			return ((struct enroll_pod *)v)->cookie;
	return 0;
}

/*
 * Finds the one netns of Pod <key> holding <ip> by scanning, into <path>/<ni>. Several
 * netns holding the address happen only when something else on the machine reuses the
 * address plan (a second simulation): the one whose cookie the pins already hold (the Pod
 * enrolled by an earlier run) wins, and otherwise nothing is guessed. Returns 0,
 * -ENOENT, -ENOTUNIQ (retry later) or -errno.
 */
static int enroll_scan(struct enroll *e, const char *key, uint32_t ip, struct enroll_pod *p,
		       char *path, size_t len, struct netns_info *ni)
{
	uint64_t pinned = enroll_restored_cookie(e, ip);
	struct netns_match *m = NULL;
	size_t n = 0, i, pick;
	int err;

	err = netns_find_all_by_ip(ip, &m, &n);
	if (err < 0)
		return err;
	for (pick = 0; pick < n && !(pinned && m[pick].info.cookie == pinned); pick++)
		;
	if (pick == n && n == 1)
		pick = 0;
	if (pick < n) {
		snprintf(path, len, "%s", m[pick].path);
		*ni = m[pick].info;
	} else if (n > 1 && (p->attempts == 0 || p->attempts % 30 == 0)) {
		char list[512] = "";
		size_t off = 0;

		for (i = 0; i < n && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
						i ? ", " : "", m[i].path);
		log_warn("enroll",
			 "Pod %s: %zu network namespaces hold its address (%s): not "
			 "guessing; the CNI plugin's ADD names the right one",
			 key, n, list);
	}
	free(m);
	return pick < n ? 0 : n > 1 ? -ENOTUNIQ : -ENOENT;
}

/* Finds the Pod's netns and writes it into the datapath. 0, -ENOENT (retry) or -errno. */
static int enroll_one(struct enroll *e, const char *key, const struct model_pod *pod, uint32_t ip,
		      uint32_t wl_id, struct enroll_pod *p)
{
	struct enroll_hint *h = strmap_get(&e->hints, key);
	struct weir_pod val = {.wl_id = wl_id, .ip = ip};
	char path[NETNS_PATH_LEN] = "", ipstr[INET_ADDRSTRLEN];
	struct netns_info ni;
	int err = -ENOENT;

	inet_ntop(AF_INET, &ip, ipstr, sizeof(ipstr));
	if (h && h->ip == ip) {
		err = netns_inspect(h->netns, ip, &ni);
		if (err == 0)
			snprintf(path, sizeof(path), "%s", h->netns);
		else
			log_warn("enroll",
				 "Pod %s: CNI said netns %s, but %s is not there (%s); "
				 "scanning",
				 key, h->netns, ipstr, strerror(-err));
	}
	if (err < 0)
		err = enroll_scan(e, key, ip, p, path, sizeof(path), &ni);
	if (err < 0)
		return err;
	if (e->splice)
		val.flags |= WEIR_POD_SPLICE;
	err = datapath_pod_set(e->dp, ni.cookie, &val);
	if (err < 0) {
		log_err("enroll", "Pod %s: writing weir_netns: %s", key, strerror(-err));
		return err;
	}
	p->ip = ip;
	p->wl_id = wl_id;
	p->cookie = ni.cookie;
	p->ifindex = ni.peer_ifindex;
	p->enrolled = true;
	p->attempts = 0;
	snprintf(p->netns, sizeof(p->netns), "%s", path);
	if (p->ifindex) {
		err = datapath_tc_attach(e->dp, p->ifindex);
		if (err < 0)
			log_warn("enroll",
				 "Pod %s: tc on host veth ifindex %d: %s (flow counters "
				 "and L3/L4 deny are not in force for it)",
				 key, p->ifindex, strerror(-err));
	} else {
		log_warn("enroll", "Pod %s: %s is on %s, no veth: tc is not attached", key, ipstr,
			 ni.ifname);
	}
	log_info("enroll", "Pod %s (%s, workload id %u) enrolled: netns %s cookie %016" PRIx64, key,
		 ipstr, wl_id, path, ni.cookie);
	return 0;
}

/*
 * Removes the tc filters of stale pinned entry <r> from its host veth: the pins record no
 * interface, so the netns holding its address with its cookie is looked for. A netns that
 * is gone took its veth, and the filters, with it.
 */
static void enroll_stale_detach(struct enroll *e, const struct enroll_pod *r)
{
	struct netns_match *m = NULL;
	size_t n = 0, i;

	if (!r->ip || netns_find_all_by_ip(r->ip, &m, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		if (m[i].info.cookie != r->cookie || !m[i].info.peer_ifindex)
			continue;
		datapath_tc_detach(e->dp, m[i].info.peer_ifindex);
		log_info("enroll",
			 "stale weir_netns entry %016" PRIx64 ": tc removed from ifindex %d",
			 r->cookie, m[i].info.peer_ifindex);
	}
	free(m);
}

int enroll_sync(struct enroll *e, const struct model *m, const struct ids *ids, unsigned *pending)
{
	struct strmap seen;
	const char *k;
	const void *ck;
	void *v;
	size_t i;
	int err;

	*pending = 0;
	strmap_init(&seen);
	for (i = 0; i < m->npods; i++) {
		const struct model_pod *pod = &m->pods[i];
		struct enroll_pod *p;
		struct enroll_hint *h;
		uint32_t ip, wl_id;
		char key[512];

		if (!enroll_wants(e, pod))
			continue;
		enroll_key(key, sizeof(key), pod->ns, pod->name);
		h = strmap_get(&e->hints, key);
		ip = pod->ip ? pod->ip : (h ? h->ip : 0);
		if (!ip)
			continue; /* no address yet: nothing can connect from it */
		if (strmap_put(&seen, key, (void *)1, NULL) < 0)
			return -ENOMEM;
		wl_id = ids_find_workload(ids, pod->ns, pod->workload);
		p = strmap_get(&e->pods, key);
		if (!p) {
			p = calloc(1, sizeof(*p));
			if (!p || strmap_put(&e->pods, key, p, NULL) < 0) {
				free(p);
				return -ENOMEM;
			}
		}
		if (p->enrolled && p->ip == ip && p->wl_id == wl_id)
			continue;
		if (p->gone && p->ip == ip)
			continue;
		p->gone = false;
		if (!p->enrolled && p->ip == ip && clock_mono_ns() < p->retry_ns) {
			(*pending)++; /* looked for recently, in vain: wait out the backoff */
			continue;
		}
		if (p->enrolled)
			enroll_withdraw(e, key, p);
		err = enroll_one(e, key, pod, ip, wl_id, p);
		if (err < 0) {
			/* enroll_scan() already said why an ambiguous address waits. */
			if (err != -ENOTUNIQ && (p->attempts == 0 || p->attempts % 10 == 0))
				log_warn("enroll",
					 "Pod %s: no network namespace holds its address yet "
					 "(%s); will retry",
					 key, strerror(-err));
			/* Remembered while pending too: a restored entry with this address is
			 * kept for it, and a new address is looked for at once. */
			p->ip = ip;
			p->retry_ns = clock_mono_ns() + enroll_backoff_ns(p->attempts);
			p->attempts++;
			(*pending)++;
		}
	}
	/* Pods no longer wanted here. */
	for (i = 0; (i = strmap_next(&e->pods, i, &k, &v)) != 0;) {
		if (strmap_get(&seen, k))
			continue;
		enroll_withdraw(e, k, v);
		free(strmap_del(&e->pods, k));
	}
	/* Pinned entries from an earlier run that no Pod claimed: stale unless a pending Pod
	 * still has that address (its netns is probably just not found yet). */
	for (i = 0; (i = keymap_next(&e->restored, i, &ck, &v)) != 0;) {
		struct enroll_pod *r = v, *p;
		const char *pk;
		void *pv;
		bool keep = false;
		size_t j;

		for (j = 0; (j = strmap_next(&e->pods, j, &pk, &pv)) != 0;) {
			p = pv;
			if ((p->enrolled && p->cookie == r->cookie) ||
			    (!p->enrolled && p->ip == r->ip))
				keep = true;
			if (p->enrolled && p->cookie == r->cookie)
				free(keymap_del(&e->restored, ck)); /* adopted */
			if (keep)
				break;
		}
		if (!keep) {
			enroll_stale_detach(e, r);
			err = datapath_pod_del(e->dp, r->cookie);
			if (err < 0 && err != -ENOENT)
				log_warn("enroll", "stale weir_netns entry %016" PRIx64 ": %s",
					 r->cookie, strerror(-err));
			free(keymap_del(&e->restored, ck));
		}
	}
	strmap_fini(&seen, NULL);
	return 0;
}
