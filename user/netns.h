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

/*
 * Finds the netns holding <ip> among named netns (/run/netns/) and every process's netns
 * (/proc/PID/ns/net), skipping the caller's own. Writes the path used to <path> (<len>
 * bytes) and fills <out>. Returns 0, -ENOENT when no netns holds it, or another -errno.
 */
int netns_find_by_ip(uint32_t ip, char *path, size_t len, struct netns_info *out);

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
