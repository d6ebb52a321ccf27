/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enrolment of this node's Pods into the datapath: for every mesh Pod scheduled here and
 * holding an address, find its network namespace (from the CNI plugin's hint, else by
 * scanning for the address), write netns cookie -> workload into weir_netns and attach tc
 * to the host side of its veth. Pods that leave are withdrawn. After an agent restart the
 * entries already pinned are adopted, not rewritten, so no connection notices.
 */
#ifndef WEIR_USER_ENROLL_H
#define WEIR_USER_ENROLL_H

#include <stdbool.h>
#include <stdint.h>

#include "model/ids.h"
#include "model/model.h"
#include "datapath/netns.h"
#include "lib/keymap.h"
#include "lib/strmap.h"

struct datapath;

struct enroll {
	struct strmap pods;	/* "ns/name" -> struct enroll_pod * (enrolled or pending) */
	struct strmap hints;	/* "ns/name" -> struct enroll_hint * (from CNI ADD) */
	struct keymap restored; /* __u64 netns cookie -> struct enroll_pod * read from pins */
	struct datapath *dp;
	const char *node; /* this node's name (spec.nodeName of its Pods) */
	bool splice;	  /* allow sk_msg splicing for the Pods enrolled here */
};

/* One Pod as enrolment tracks it. */
struct enroll_pod {
	uint32_t ip; /* network order */
	uint32_t wl_id;
	uint64_t cookie; /* 0 while pending */
	int ifindex;	 /* host-side veth, 0 when none */
	bool enrolled;
	bool gone;		    /* CNI DEL said its sandbox is gone: not enrolled again at this
				     * address (which may already be a new Pod's) until the config
				     * drops the Pod or gives it another address, or a new CNI
				     * ADD names its new sandbox */
	unsigned attempts;	    /* failed lookups so far (pending Pods) */
	uint64_t retry_ns;	    /* a pending Pod is not looked for again before this
				     * (CLOCK_MONOTONIC): each lookup scans every netns */
	char netns[NETNS_PATH_LEN]; /* the netns path that was used */
};

/* Initialises <e> for node <node> (kept by reference). */
void enroll_init(struct enroll *e, struct datapath *dp, const char *node, bool splice);
void enroll_fini(struct enroll *e);

/* Reads weir_netns back after a restart. Returns 0 or -errno. */
int enroll_restore(struct enroll *e);

/* True when <pod> is a mesh Pod scheduled on this node (whether enrolled yet or not). */
bool enroll_wants(const struct enroll *e, const struct model_pod *pod);

/*
 * Records what the CNI plugin said of a Pod: its netns path and address (network order),
 * used by the next enroll_sync() instead of a scan. Returns 0 or -errno.
 */
int enroll_hint(struct enroll *e, const char *ns, const char *name, const char *netns, uint32_t ip);
/*
 * CNI DEL of Pod <ns>/<name>: drops its hint and withdraws it from the datapath at once,
 * and keeps it out until the config drops it or gives it another address.
 */
void enroll_forget(struct enroll *e, const char *ns, const char *name);

/*
 * Brings the datapath in line with <m>: enrolls wanted Pods not yet enrolled (or whose
 * address or workload changed), withdraws the others. Sets *<pending> to the number of
 * wanted Pods whose netns was not found (retry later). Returns 0 or -errno.
 */
int enroll_sync(struct enroll *e, const struct model *m, const struct ids *ids, unsigned *pending);

/* The tracked state of Pod <ns>/<name>, or NULL. */
const struct enroll_pod *enroll_find(const struct enroll *e, const char *ns, const char *name);

#endif /* WEIR_USER_ENROLL_H */
