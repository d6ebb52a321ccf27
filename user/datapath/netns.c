// SPDX-License-Identifier: Apache-2.0
/*
 * Enrolment's view into Pod network namespaces: enter a netns with setns(2) on the
 * calling thread only, read the netns cookie and the addresses and links over rtnetlink,
 * and come back. Raw rtnetlink keeps this to two dump requests and no library state.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "datapath/netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14 */
#endif

uint64_t netns_self_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
		cookie = 0;
	close(fd);
	return cookie;
}

/* Sends one rtnetlink dump request of <type> for <family>; returns the socket or -errno. */
static int netns_nl_dump(int type, int family)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifm; /* ifaddrmsg is smaller and starts the same way */
	} req;
	int fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = 1;
	req.ifm.ifi_family = family;
	if (send(fd, &req, sizeof(req), 0) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * Reads a dump from <fd>, calling <cb> for every message until NLMSG_DONE. <cb> returns
 * 0 to go on, 1 to stop early (the rest is drained), or -errno.
 */
static int netns_nl_walk(int fd, int (*cb)(struct nlmsghdr *nh, void *arg), void *arg)
{
	char buf[16384] __attribute__((aligned(8)));
	int ret = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				return ret;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				return e->error ? e->error : ret;
			}
			if (ret == 0)
				ret = cb(nh, arg);
			if (ret < 0)
				return ret;
		}
	}
}

struct netns_addr_walk {
	uint32_t ip;
	int ifindex;
};

static int netns_addr_cb(struct nlmsghdr *nh, void *arg)
{
	struct netns_addr_walk *w = arg;
	struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	int len = IFA_PAYLOAD(nh);
	struct rtattr *rta;

	if (nh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET)
		return 0;
	for (rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if ((rta->rta_type == IFA_LOCAL || rta->rta_type == IFA_ADDRESS) &&
		    RTA_PAYLOAD(rta) == 4 && memcmp(RTA_DATA(rta), &w->ip, 4) == 0) {
			w->ifindex = (int)ifa->ifa_index;
			return 1;
		}
	}
	return 0;
}

struct netns_link_walk {
	int ifindex;
	int peer;
	bool veth;
	char name[IF_NAMESIZE];
};

static int netns_link_cb(struct nlmsghdr *nh, void *arg)
{
	struct netns_link_walk *w = arg;
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = IFLA_PAYLOAD(nh);
	struct rtattr *rta;

	if (nh->nlmsg_type != RTM_NEWLINK || ifi->ifi_index != w->ifindex)
		return 0;
	for (rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == IFLA_LINK && RTA_PAYLOAD(rta) >= 4) {
			memcpy(&w->peer, RTA_DATA(rta), 4);
		} else if (rta->rta_type == IFLA_IFNAME) {
			snprintf(w->name, sizeof(w->name), "%.*s", (int)RTA_PAYLOAD(rta),
				 (char *)RTA_DATA(rta));
		} else if (rta->rta_type == IFLA_LINKINFO) {
			struct rtattr *in = RTA_DATA(rta);
			int ilen = RTA_PAYLOAD(rta);

			for (; RTA_OK(in, ilen); in = RTA_NEXT(in, ilen))
				if (in->rta_type == IFLA_INFO_KIND &&
				    strncmp(RTA_DATA(in), "veth", RTA_PAYLOAD(in)) == 0)
					w->veth = true;
		}
	}
	return 1;
}

/* Runs in the target netns: cookie, interface holding <ip>, its veth peer. */
static int netns_inspect_here(uint32_t ip, struct netns_info *out)
{
	struct netns_addr_walk aw = {.ip = ip};
	struct netns_link_walk lw = {0};
	int fd, err;

	out->cookie = netns_self_cookie();
	if (!out->cookie)
		return errno ? -errno : -EIO;
	fd = netns_nl_dump(RTM_GETADDR, AF_INET);
	if (fd < 0)
		return fd;
	err = netns_nl_walk(fd, netns_addr_cb, &aw);
	close(fd);
	if (err < 0)
		return err;
	if (!aw.ifindex)
		return -ENOENT;
	lw.ifindex = aw.ifindex;
	fd = netns_nl_dump(RTM_GETLINK, AF_UNSPEC);
	if (fd < 0)
		return fd;
	err = netns_nl_walk(fd, netns_link_cb, &lw);
	close(fd);
	if (err < 0)
		return err;
	out->peer_ifindex = lw.veth ? lw.peer : 0;
	snprintf(out->ifname, sizeof(out->ifname), "%s", lw.name);
	return 0;
}

/*
 * Runs <fn>(<arg>) with the calling thread in the netns open as <fd>, then returns the
 * thread to the netns it was in. Returns what <fn> returned, or -errno when the netns
 * could not be entered.
 */
static int netns_run_fd(int fd, const char *what, int (*fn)(void *arg), void *arg)
{
	int self, err;

	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0) {
		err = -errno;
		goto out_close_self;
	}
	err = fn(arg);
	/* A thread left in a Pod's netns would open every later socket there: never go on. */
	if (setns(self, CLONE_NEWNET) < 0) {
		log_err("netns", "cannot return to the agent's netns from %s: %s", what,
			strerror(errno));
		abort();
	}
out_close_self:
	close(self);
	return err;
}

struct netns_inspect_arg {
	uint32_t ip;
	struct netns_info *out;
};

static int netns_inspect_cb(void *arg)
{
	struct netns_inspect_arg *a = arg;

	return netns_inspect_here(a->ip, a->out);
}

int netns_inspect(const char *path, uint32_t ip, struct netns_info *out)
{
	struct netns_inspect_arg a = {.ip = ip, .out = out};
	struct stat st, self_st;
	int fd, err;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* The identity comes from the very fd that is entered, not from a second lookup. */
	if (fstat(fd, &st) < 0 || stat("/proc/thread-self/ns/net", &self_st) < 0) {
		err = -errno;
		goto out_close_fd;
	}
	if (st.st_dev == self_st.st_dev && st.st_ino == self_st.st_ino) {
		err = -ENOENT; /* the agent's own netns never holds a Pod */
		goto out_close_fd;
	}
	err = netns_run_fd(fd, path, netns_inspect_cb, &a);
	out->dev = st.st_dev;
	out->ino = st.st_ino;
out_close_fd:
	close(fd);
	return err;
}

int netns_run(const char *path, int (*fn)(void *arg), void *arg)
{
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = netns_run_fd(fd, path, fn, arg);
	close(fd);
	return err;
}

/* A netns seen already during one scan, by its file identity. */
struct netns_seen {
	dev_t dev;
	ino_t ino;
};

static bool netns_seen_add(struct netns_seen **seen, size_t *n, size_t *cap, const char *path)
{
	struct stat st;
	size_t i;

	if (stat(path, &st) < 0)
		return false;
	for (i = 0; i < *n; i++)
		if ((*seen)[i].dev == st.st_dev && (*seen)[i].ino == st.st_ino)
			return false;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct netns_seen *p = realloc(*seen, ncap * sizeof(*p));

		if (!p)
			return false;
		*seen = p;
		*cap = ncap;
	}
	(*seen)[*n].dev = st.st_dev;
	(*seen)[(*n)++].ino = st.st_ino;
	return true;
}

/* The matches of one scan. */
struct netns_found {
	struct netns_match *v;
	size_t n, cap;
};

/* Tries one candidate; a netns holding <ip> joins <found>. Returns 0 or -errno (-ENOMEM
 * only: a netns that vanishes or cannot be entered mid-scan is no error of the scan). */
static int netns_try(const char *cand, uint32_t ip, struct netns_found *found,
		     struct netns_seen **seen, size_t *n, size_t *cap)
{
	struct netns_info info;
	struct netns_match *m;

	if (!netns_seen_add(seen, n, cap, cand) || netns_inspect(cand, ip, &info) < 0)
		return 0;
	if (found->n == found->cap) {
		size_t ncap = found->cap ? found->cap * 2 : 4;

		m = realloc(found->v, ncap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		found->v = m;
		found->cap = ncap;
	}
	m = &found->v[found->n++];
	snprintf(m->path, sizeof(m->path), "%s", cand);
	m->info = info;
	return 0;
}

int netns_find_all_by_ip(uint32_t ip, struct netns_match **out, size_t *nout)
{
	const char *dirs[] = {"/run/netns", "/var/run/netns"};
	struct netns_found found = {0};
	struct netns_seen *seen = NULL;
	size_t n = 0, cap = 0, i;
	char cand[NETNS_PATH_LEN];
	struct dirent *de;
	int err = 0;
	DIR *d;

	/* The agent's own netns is skipped by netns_inspect; mark it seen up front. */
	netns_seen_add(&seen, &n, &cap, "/proc/thread-self/ns/net");
	/* Every candidate is looked at, not just up to the first match: a second netns with
	 * the same address (two simulations on one machine) must be seen to be refused. */
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !err; i++) {
		d = opendir(dirs[i]);
		if (!d)
			continue;
		while (!err && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(cand, sizeof(cand), "%s/%s", dirs[i], de->d_name);
			err = netns_try(cand, ip, &found, &seen, &n, &cap);
		}
		closedir(d);
	}
	d = err ? NULL : opendir("/proc");
	while (d && !err && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(cand, sizeof(cand), "/proc/%s/ns/net", de->d_name);
		err = netns_try(cand, ip, &found, &seen, &n, &cap);
	}
	if (d)
		closedir(d);
	free(seen);
	if (err) {
		free(found.v);
		return err;
	}
	*out = found.v;
	*nout = found.n;
	return 0;
}
