/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network-namespace plumbing for enrolment: which netns holds a Pod's address, that
 * netns's cookie (the key of weir_netns) and the host-side peer of the Pod's veth (where
 * tc attaches). The calling thread enters a netns only for the length of one call and
 * always returns to where it was.
 */
#ifndef WEIR_USER_NETNS_H
#define WEIR_USER_NETNS_H

#include <stdint.h>
#include <sys/types.h>

/* What enrolment needs to know about one Pod netns. */
struct netns_info {
	uint64_t cookie;  /* SO_NETNS_COOKIE */
	int peer_ifindex; /* ifindex, in the caller's netns, of the veth peer of the interface
			   * holding the address; 0 when that interface is no veth */
	char ifname[16];  /* the Pod-side interface holding the address */
	dev_t dev;	  /* identity of the netns file (st_dev, st_ino) */
	ino_t ino;
};

/*
 * Inspects the netns at <path> (e.g. /run/netns/x or /proc/PID/ns/net): fills <out> and
 * returns 0 when an interface there holds <ip> (network order); -ENOENT when it does not;
 * another -errno on failure.
 */
int netns_inspect(const char *path, uint32_t ip, struct netns_info *out);

/* Room for a netns path: /run/netns/<NAME_MAX> or /proc/<pid>/ns/net. */
#define NETNS_PATH_LEN 300

/* One network namespace found holding an address. */
struct netns_match {
	char path[NETNS_PATH_LEN]; /* the path it was found at */
	struct netns_info info;	   /* what netns_inspect() found there */
};

/*
 * Finds every netns holding <ip> (network order) among named netns (/run/netns/) and every
 * process's netns (/proc/PID/ns/net), each netns once, skipping the caller's own. Fills a
 * malloc'd array *<out> (caller frees) of *<n> matches: on a node there is one, but two
 * simulations on one machine can both hold an address, and the caller must not guess.
 * Returns 0 (with *<n> possibly 0) or -errno.
 */
int netns_find_all_by_ip(uint32_t ip, struct netns_match **out, size_t *n);

/*
 * Runs <fn>(<arg>) on the calling thread inside the netns at <path> and comes back (other
 * threads stay where they are). Returns what <fn> returned, or -errno when the netns
 * cannot be entered. Aborts the process when it cannot return: a thread left in a Pod's
 * netns would open every later socket there.
 */
int netns_run(const char *path, int (*fn)(void *arg), void *arg);

/* The cookie of the caller's own netns, or 0 on failure (errno set). */
uint64_t netns_self_cookie(void);

#endif /* WEIR_USER_NETNS_H */
