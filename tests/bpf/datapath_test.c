// SPDX-License-Identifier: Apache-2.0
/*
 * The socket datapath on the production skeleton: datapath_open() on a scratch bpffs
 * dir and a scratch cgroup, real connect()s inside a scratch netns (loopback only), and
 * assertions on what the kernel did (peers reached, weir_edges, weir_reasons, links).
 * Addresses: 198.18.0.1 the client Pod (wl 1), .2/.3 backend Pods on other nodes (wl 2,
 * 3), .4 a Pod on this node (wl 4), .50 a client outside the mesh, .100 the node agent;
 * Service VIPs in 198.19.0.0/16 exist only in weir_services.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <weir/maps.h>

#include "datapath/datapath.h"
#include "datapath/netns.h"
#include "lib/log.h"
#include "datapath/pin.h"
#include "../lib/probe.h"
#include "../lib/scratch.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define IP_POD	   "198.18.0.1"
#define IP_B2	   "198.18.0.2"
#define IP_B3	   "198.18.0.3"
#define IP_LOCAL   "198.18.0.4"
#define IP_OUTSIDE "198.18.0.50"
#define IP_AGENT   "198.18.0.100"
#define AGENT_PORT 15001

#define WL_POD	 1
#define WL_B2	 2
#define WL_B3	 3
#define WL_LOCAL 4

#define IO_MS 5000 /* bound on any one socket exchange */

static struct {
	char dir[PATH_MAX / 2];
	char cg[PATH_MAX / 2];
	uint64_t cg_id;
	uint64_t cookie;
	struct datapath *dp;
	const char *skip;  /* a missing kernel feature: every test skips */
	const char *error; /* setup failed: every test fails */
} T;

static uint32_t ip(const char *s)
{
	return inet_addr(s);
}

static int fd_of(enum datapath_map m)
{
	return datapath_map_fd(T.dp, m);
}

/* Every test starts here: skip or fail on a broken setup. */
static void need_setup(void)
{
	if (T.skip) {
		print_message("skip: %s\n", T.skip);
		skip();
	}
	if (T.error)
		fail_msg("setup failed: %s", T.error);
	assert_non_null(T.dp);
}

static struct weir_pod pod_val(uint32_t flags)
{
	struct weir_pod p = {.wl_id = WL_POD, .ip = ip(IP_POD), .flags = flags};

	return p;
}

/* A Service <vip>:<port> with <n> backends; backends[i] gets ip/port/weight/flags. */
struct be_spec {
	const char *ip;
	uint32_t wl;
	uint16_t port;
	uint16_t weight;
	uint32_t flags;
};

static void svc_set_proto(const char *vip, uint16_t port, uint8_t proto, uint32_t id, uint16_t mode,
			  const struct be_spec *be, int n)
{
	struct weir_svc_key key = {.vip = ip(vip), .port = htons(port), .proto = proto};
	struct weir_svc *svc = calloc(1, sizeof(*svc));
	int i;

	assert_non_null(svc);
	svc->id = id;
	svc->mode = mode;
	svc->count = n;
	for (i = 0; i < n; i++) {
		svc->backends[i].ip = ip(be[i].ip);
		svc->backends[i].wl_id = be[i].wl;
		svc->backends[i].port = htons(be[i].port);
		svc->backends[i].weight = be[i].weight;
		svc->backends[i].flags = be[i].flags;
	}
	i = datapath_svc_set(T.dp, &key, svc);
	free(svc);
	assert_int_equal(i, 0);
}

static void svc_set(const char *vip, uint16_t port, uint32_t id, uint16_t mode,
		    const struct be_spec *be, int n)
{
	svc_set_proto(vip, port, IPPROTO_TCP, id, mode, be, n);
}

static int tcp_listen(const char *addr, uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, fd;

	sin.sin_addr.s_addr = ip(addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 256), 0);
	return fd;
}

/* Connects from <src> (port 0) to <dst>:<port>. Returns the fd, or -errno. */
static int tcp_connect(const char *src, const char *dst, uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sin.sin_addr.s_addr = ip(src);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
		goto fail;
	sin.sin_addr.s_addr = ip(dst);
	sin.sin_port = htons(port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

/* Accepts one connection from whichever of <lfd>[0..n) has one; *<which> says which. */
static int accept_any(const int *lfd, int n, int *which)
{
	struct pollfd p[8];
	int i, fd;

	for (i = 0; i < n; i++) {
		p[i].fd = lfd[i];
		p[i].events = POLLIN;
	}
	if (poll(p, n, 1000) <= 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!(p[i].revents & POLLIN))
			continue;
		fd = accept4(lfd[i], NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			*which = i;
			return fd;
		}
	}
	return -1;
}

static void linger0(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

static uint8_t pattern(size_t i, uint8_t seed)
{
	return (uint8_t)((i * 7 + seed) % 251);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Sends <na> bytes <c> -> <a> and <nb> bytes <a> -> <c> at the same time (so that
 * neither side blocks on a full buffer), receives all of it and checks every byte.
 */
static void pump(int c, int a, size_t na, size_t nb)
{
	size_t sent[2] = {0, 0}, rcvd[2] = {0, 0}, want[2] = {na, nb};
	int fds[2] = {c, a};
	uint8_t buf[16384];
	long deadline = now_ms() + IO_MS;
	struct pollfd p[2];
	ssize_t r;
	size_t i, k, n;

	while (rcvd[0] < want[0] || rcvd[1] < want[1]) {
		assert_true(now_ms() < deadline);
		for (i = 0; i < 2; i++) {
			p[i].fd = fds[i];
			p[i].events = POLLIN | (sent[i] < want[i] ? POLLOUT : 0);
		}
		assert_true(poll(p, 2, 200) >= 0);
		for (i = 0; i < 2; i++) {
			/* direction i: fds[i] sends, fds[1 - i] receives */
			if ((p[i].revents & POLLOUT) && sent[i] < want[i]) {
				n = want[i] - sent[i];
				if (n > 3000)
					n = 3000; /* several messages, odd sizes */
				for (k = 0; k < n; k++)
					buf[k] = pattern(sent[i] + k, (uint8_t)i);
				r = send(fds[i], buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
				if (r > 0)
					sent[i] += r;
			}
			if (p[1 - i].revents & POLLIN) {
				r = recv(fds[1 - i], buf, sizeof(buf), MSG_DONTWAIT);
				assert_true(r > 0 || (r < 0 && errno == EAGAIN));
				for (k = 0; r > 0 && k < (size_t)r; k++)
					assert_int_equal(buf[k], pattern(rcvd[i] + k, (uint8_t)i));
				if (r > 0)
					rcvd[i] += r;
				assert_true(rcvd[i] <= want[i]);
			}
		}
	}
}

/* Waits until <fd> reads EOF or a reset. */
static void wait_eof(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char b;

	assert_true(poll(&p, 1, IO_MS) == 1);
	assert_true(recv(fd, &b, 1, MSG_DONTWAIT) <= 0);
}

static void peer_of(int fd, struct sockaddr_in *sin, bool peer)
{
	socklen_t len = sizeof(*sin);

	memset(sin, 0, sizeof(*sin));
	if (peer)
		assert_int_equal(getpeername(fd, (struct sockaddr *)sin, &len), 0);
	else
		assert_int_equal(getsockname(fd, (struct sockaddr *)sin, &len), 0);
}

/* ------------------------------------------------------------------ setup */

static int group_setup(void **state)
{
	struct datapath_opts opts = {0};
	static const char *const addrs[] = {IP_POD, IP_B2, IP_B3, IP_LOCAL, IP_OUTSIDE, IP_AGENT};
	size_t i;
	int err;

	(void)state;
	log_init("datapath_test", LOG_WARN);
	err = scratch_bpffs_ready();
	if (err) {
		T.skip = "cannot mount a private bpf filesystem";
		return 0;
	}
	scratch_bpffs_dir("bpf", T.dir, sizeof(T.dir));
	if (scratch_cgroup_new("bpf", T.cg, sizeof(T.cg))) {
		T.skip = "no cgroup2 hierarchy to attach to";
		return 0;
	}
	T.cg_id = scratch_cgroup_id(T.cg);
	if (scratch_netns_enter()) {
		T.error = "cannot create a network namespace";
		return 0;
	}
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		if (scratch_sh("ip addr add %s/32 dev lo", addrs[i])) {
			T.error = "cannot add test addresses";
			return 0;
		}
	T.cookie = netns_self_cookie(); /* user/netns.c, as the agent reads it */
	if (!T.cookie) {
		T.skip = "SO_NETNS_COOKIE unsupported";
		return 0;
	}
	opts.bpffs_dir = T.dir;
	opts.cgroup_path = T.cg;
	opts.cfg.agent_ip = ip(IP_AGENT);
	opts.cfg.agent_port = htons(AGENT_PORT);
	opts.cfg.splice = 1;
	opts.cfg.tc_count = 1;
	opts.cfg.sock_count = 1;
	T.dp = datapath_open(&opts);
	if (!T.dp) {
		T.error = "datapath_open failed (see the log above)";
		return 0;
	}
	{
		struct weir_pod pod = pod_val(WEIR_POD_SPLICE);
		struct weir_ip v[] = {
		    {WL_POD, WEIR_IP_POD | WEIR_IP_LOCAL},
		    {WL_B2, WEIR_IP_POD},
		    {WL_B3, WEIR_IP_POD},
		    {WL_LOCAL, WEIR_IP_POD | WEIR_IP_LOCAL},
		    {0, WEIR_IP_AGENT},
		};
		const char *a[] = {IP_POD, IP_B2, IP_B3, IP_LOCAL, IP_AGENT};

		if (datapath_pod_set(T.dp, T.cookie, &pod))
			T.error = "cannot enroll the scratch netns";
		for (i = 0; i < 5; i++)
			if (datapath_ip_set(T.dp, ip(a[i]), &v[i]))
				T.error = "cannot fill weir_ips";
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	datapath_close(T.dp);
	T.dp = NULL;
	if (T.dir[0])
		datapath_uninstall(T.dir);
	scratch_bpffs_release();
	scratch_netns_leave();
	scratch_cgroup_del(T.cg);
	return 0;
}

/* ------------------------------------------------------------------ tests */

/* Weights 1:3 (and an unhealthy and a drained backend) over 2000 connects. */
static void test_datapath_lb_weighted(void **state)
{
	static const struct be_spec be[] = {
	    {IP_B2, WL_B2, 8001, 1, 0},
	    {IP_B3, WL_B3, 8001, 3, 0},
	    {IP_B2, WL_B2, 8002, 5, WEIR_BE_UNHEALTHY},
	    {IP_B3, WL_B3, 8002, 0, 0},
	};
	struct weir_edge_key k2 =
	    probe_ekey(WL_POD, WL_B2, 10, 8001, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_edge_key k3 =
	    probe_ekey(WL_POD, WL_B3, 10, 8001, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_edge e2, e3;
	int lfd[4], cnt[4] = {0}, i, c, a, w;
	uint64_t lb0;
	const int n = 2000;

	(void)state;
	need_setup();
	svc_set("198.19.0.1", 80, 10, WEIR_MODE_KERNEL, be, 4);
	for (i = 0; i < 4; i++)
		lfd[i] = tcp_listen(be[i].ip, be[i].port);
	lb0 = probe_reason(fd_of(DP_MAP_REASONS), WEIR_HOOK_CONNECT4, WEIR_R_LB_KERNEL);
	for (i = 0; i < n; i++) {
		c = tcp_connect(IP_POD, "198.19.0.1", 80);
		assert_true(c >= 0);
		a = accept_any(lfd, 4, &w);
		assert_true(a >= 0);
		cnt[w]++;
		linger0(c);
		close(c);
		close(a);
	}
	for (i = 0; i < 4; i++)
		close(lfd[i]);
	print_message("backend picks: w1 %d, w3 %d, unhealthy %d, drained %d\n", cnt[0], cnt[1],
		      cnt[2], cnt[3]);
	assert_int_equal(cnt[2], 0);
	assert_int_equal(cnt[3], 0);
	/*
	 * Binomial(2000, 3/4): mean 1500, sd sqrt(2000 * 3/4 * 1/4) = 19.4. +-5 sd = +-97
	 * fails a correct picker with probability below 1e-6.
	 */
	assert_in_range(cnt[1], 1403, 1597);
	assert_int_equal(
	    probe_reason(fd_of(DP_MAP_REASONS), WEIR_HOOK_CONNECT4, WEIR_R_LB_KERNEL) - lb0, n);
	/* sockops counted each pick on the backend's edge, with the Service id. */
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k2, cnt[0], 2000, &e2), 0);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k3, cnt[1], 2000, &e3), 0);
	assert_int_equal(e2.conns_opened, cnt[0]);
	assert_int_equal(e3.conns_opened, cnt[1]);
	assert_int_equal(e2.conns_active, 0);
	assert_int_equal(e3.conns_active, 0);
}

/* No usable backend: the connect goes to the VIP untouched (and fails, no route). */
static void test_datapath_no_backend(void **state)
{
	static const struct be_spec be[] = {
	    {IP_B2, WL_B2, 8005, 1, WEIR_BE_UNHEALTHY},
	    {IP_B3, WL_B3, 8005, 0, 0},
	};
	int fd = fd_of(DP_MAP_REASONS), c;
	uint64_t r0;

	(void)state;
	need_setup();
	svc_set("198.19.0.3", 80, 11, WEIR_MODE_KERNEL, be, 2);
	r0 = probe_reason(fd, WEIR_HOOK_CONNECT4, WEIR_R_NO_BACKEND);
	c = tcp_connect(IP_POD, "198.19.0.3", 80);
	if (c >= 0)
		close(c);
	assert_int_equal(c, -ENETUNREACH);
	assert_int_equal(probe_reason(fd, WEIR_HOOK_CONNECT4, WEIR_R_NO_BACKEND) - r0, 1);
}

/* A netns that is not enrolled is never touched. */
static void test_datapath_not_enrolled(void **state)
{
	static const struct be_spec be[] = {{IP_B2, WL_B2, 8006, 1, 0}};
	struct weir_pod pod = pod_val(WEIR_POD_SPLICE);
	int fd = fd_of(DP_MAP_REASONS), lfd, c, c2;
	uint64_t r0;

	(void)state;
	need_setup();
	svc_set("198.19.0.6", 80, 13, WEIR_MODE_KERNEL, be, 1);
	lfd = tcp_listen(IP_B2, 8006);
	r0 = probe_reason(fd, WEIR_HOOK_CONNECT4, WEIR_R_NOT_ENROLLED);
	assert_int_equal(datapath_pod_del(T.dp, T.cookie), 0);
	c = tcp_connect(IP_POD, "198.19.0.6", 80);
	assert_int_equal(datapath_pod_set(T.dp, T.cookie, &pod), 0);
	if (c >= 0)
		close(c);
	assert_int_equal(c, -ENETUNREACH);
	assert_int_equal(probe_reason(fd, WEIR_HOOK_CONNECT4, WEIR_R_NOT_ENROLLED) - r0, 1);
	/* Enrolled again: the same connect is steered. */
	c2 = tcp_connect(IP_POD, "198.19.0.6", 80);
	assert_true(c2 >= 0);
	close(c2);
	close(lfd);
}

/* The application sees the VIP as its peer; the server sees the real connection. */
static void test_datapath_getpeername(void **state)
{
	static const struct be_spec be[] = {{IP_B2, WL_B2, 8003, 1, 0}};
	struct sockaddr_in sin;
	int lfd, c, a, w;

	(void)state;
	need_setup();
	svc_set("198.19.0.4", 80, 14, WEIR_MODE_KERNEL, be, 1);
	lfd = tcp_listen(IP_B2, 8003);
	c = tcp_connect(IP_POD, "198.19.0.4", 80);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	peer_of(c, &sin, true);
	assert_int_equal(sin.sin_addr.s_addr, ip("198.19.0.4"));
	assert_int_equal(ntohs(sin.sin_port), 80);
	peer_of(a, &sin, false);
	assert_int_equal(sin.sin_addr.s_addr, ip(IP_B2));
	assert_int_equal(ntohs(sin.sin_port), 8003);
	peer_of(a, &sin, true);
	assert_int_equal(sin.sin_addr.s_addr, ip(IP_POD));
	close(c);
	close(a);
	close(lfd);
}

/* Agent mode: connect() lands on the agent, which learns the VIP by SO_ORIGINAL_DST. */
static void test_datapath_agent_origdst(void **state)
{
	static const struct be_spec be[] = {{IP_B2, WL_B2, 8004, 1, 0}};
	struct weir_edge_key ka =
	    probe_ekey(WL_POD, WL_B2, 12, 8004, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct sockaddr_in sin, local;
	struct weir_origdst od;
	struct weir_tuple t;
	struct weir_edge e;
	struct tcp_info ti;
	socklen_t len, ti_len;
	char big[8192];
	int lfd, lk, c, a, w, k, i;

	(void)state;
	need_setup();
	svc_set("198.19.0.5", 443, 12, WEIR_MODE_AGENT, be, 1);
	lfd = tcp_listen(IP_AGENT, AGENT_PORT);
	c = tcp_connect(IP_POD, "198.19.0.5", 443);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	peer_of(c, &sin, true);
	assert_int_equal(sin.sin_addr.s_addr, ip("198.19.0.5"));
	assert_int_equal(ntohs(sin.sin_port), 443);

	memset(&sin, 0xaa, sizeof(sin));
	len = sizeof(sin);
	assert_int_equal(getsockopt(a, SOL_IP, WEIR_SO_ORIGINAL_DST, &sin, &len), 0);
	assert_int_equal(len, sizeof(sin));
	assert_int_equal(sin.sin_family, AF_INET);
	assert_int_equal(sin.sin_addr.s_addr, ip("198.19.0.5"));
	assert_int_equal(ntohs(sin.sin_port), 443);

	/* weir_origdst holds the client's tuple until the client closes. */
	peer_of(c, &local, false);
	memset(&t, 0, sizeof(t));
	t.saddr = local.sin_addr.s_addr;
	t.daddr = ip(IP_AGENT);
	t.sport = local.sin_port;
	t.dport = htons(AGENT_PORT);
	assert_int_equal(bpf_map_lookup_elem(fd_of(DP_MAP_ORIGDST), &t, &od), 0);
	assert_int_equal(od.svc_id, 12);
	assert_int_equal(od.src_wl, WL_POD);

	/* Other getsockopt calls keep the kernel's answers, buffers above a page too. */
	len = 512;
	assert_int_equal(getsockopt(a, IPPROTO_TCP, TCP_INFO, big, &len), 0);
	ti_len = len;
	memset(big, 0, sizeof(big));
	len = sizeof(big);
	assert_int_equal(getsockopt(a, IPPROTO_TCP, TCP_INFO, big, &len), 0);
	assert_int_equal(len, ti_len);
	assert_true(len >= sizeof(ti));
	lk = tcp_listen(IP_B2, 8007);
	k = tcp_connect(IP_POD, IP_B2, 8007);
	assert_true(k >= 0);
	i = accept_any(&lk, 1, &w);
	assert_true(i >= 0);
	len = sizeof(sin);
	assert_int_equal(getsockopt(i, SOL_IP, WEIR_SO_ORIGINAL_DST, &sin, &len), -1);
	close(k);
	close(i);
	close(lk);

	close(c);
	close(a);
	close(lfd);
	for (i = 0; i < 200 && !bpf_map_lookup_elem(fd_of(DP_MAP_ORIGDST), &t, &od); i++)
		usleep(10000);
	assert_int_equal(bpf_map_lookup_elem(fd_of(DP_MAP_ORIGDST), &t, &od), -ENOENT);
	/* The agent counts what it relays: no kernel edge for it. */
	probe_edge(fd_of(DP_MAP_EDGES), &ka, &e);
	assert_int_equal(e.conns_opened, 0);
}

enum close_order {
	CLIENT_FIRST, /* client FIN, then server FIN */
	SERVER_FIRST, /* server FIN, then client FIN */
	CLIENT_RST,   /* client aborts (SO_LINGER 0) */
	SERVER_RST,   /* server aborts */
	CLIENT_HALF,  /* client FIN, settled (orphan in FIN_WAIT2) before the server's FIN */
};

/*
 * Exact payload bytes on a kernel-LB edge: <na> bytes client -> server and <nb> back,
 * then the connection ends in <order>. Each order uses its own Service and port.
 */
static void check_bytes(enum close_order order, size_t na, size_t nb)
{
	uint16_t port = 8100 + order;
	char vip[32];
	struct be_spec be[] = {{IP_B2, WL_B2, port, 1, 0}};
	struct weir_edge_key k =
	    probe_ekey(WL_POD, WL_B2, 20 + order, port, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_edge e;
	int lfd, c, a, w;

	need_setup();
	snprintf(vip, sizeof(vip), "198.19.0.%d", 10 + order);
	svc_set(vip, 80, 20 + order, WEIR_MODE_KERNEL, be, 1);
	lfd = tcp_listen(IP_B2, port);
	c = tcp_connect(IP_POD, vip, 80);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	close(lfd);
	pump(c, a, na, nb);
	switch (order) {
	case CLIENT_FIRST:
		close(c);
		wait_eof(a);
		close(a);
		break;
	case SERVER_FIRST:
		close(a);
		wait_eof(c);
		close(c);
		break;
	case CLIENT_RST:
		linger0(c);
		close(c);
		wait_eof(a);
		close(a);
		break;
	case SERVER_RST:
		linger0(a);
		close(a);
		wait_eof(c);
		close(c);
		break;
	case CLIENT_HALF:
		close(c);
		wait_eof(a);
		/* The client's close is settled while the server has not closed yet. */
		assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k, 1, 2000, &e), 0);
		close(a);
		break;
	}
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k, 1, 2000, &e), 0);
	print_message("order %d: sent %llu/%zu rcvd %llu/%zu srtt %llu\n", order,
		      (unsigned long long)e.bytes_sent, na, (unsigned long long)e.bytes_rcvd, nb,
		      (unsigned long long)e.srtt_us_sum);
	assert_int_equal(e.conns_opened, 1);
	assert_int_equal(e.conns_closed, 1);
	assert_int_equal(e.conns_active, 0);
	assert_int_equal(e.bytes_sent, na);
	assert_int_equal(e.bytes_rcvd, nb);
	assert_int_equal(e.srtt_samples, 1);
	assert_true(e.last_ns > 0);
}

static void test_datapath_bytes_client_first(void **state)
{
	(void)state;
	check_bytes(CLIENT_FIRST, 70001, 150003);
}

static void test_datapath_bytes_server_first(void **state)
{
	(void)state;
	check_bytes(SERVER_FIRST, 1, 99999);
}

static void test_datapath_bytes_client_rst(void **state)
{
	(void)state;
	check_bytes(CLIENT_RST, 123457, 7);
}

static void test_datapath_bytes_server_rst(void **state)
{
	(void)state;
	check_bytes(SERVER_RST, 4096, 65536);
}

static void test_datapath_bytes_client_half(void **state)
{
	(void)state;
	check_bytes(CLIENT_HALF, 333, 22222);
}

/* A client outside the mesh: the enrolled server counts the edge, from the client's view. */
static void test_datapath_passive_nonmesh(void **state)
{
	struct weir_edge_key kp = probe_ekey(0, WL_POD, 0, 8200, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_edge_key ka = probe_ekey(WL_POD, WL_B2, 0, 8200, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_edge e;
	int lfd, c, a, w;

	(void)state;
	need_setup();
	lfd = tcp_listen(IP_B2, 8200);
	c = tcp_connect(IP_OUTSIDE, IP_B2, 8200);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	close(lfd);
	pump(c, a, 1234, 54321);
	close(c);
	wait_eof(a);
	close(a);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &kp, 1, 2000, &e), 0);
	assert_int_equal(e.conns_opened, 1);
	assert_int_equal(e.bytes_sent, 1234);
	assert_int_equal(e.bytes_rcvd, 54321);
	/* The client here is enrolled too (same netns): its own direct edge, no Service. */
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &ka, 1, 2000, &e), 0);
	assert_int_equal(e.conns_opened, 1);
	assert_int_equal(e.bytes_sent, 1234);
	assert_int_equal(e.bytes_rcvd, 54321);
}

static uint64_t sock_cookie(int fd)
{
	uint64_t v = 0;
	socklen_t len = sizeof(v);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &v, &len), 0);
	return v;
}

/* The sockhash value of <fd>'s own tuple: its cookie, or 0 when it is not there. */
static uint64_t sockhash_cookie(int hfd, int fd)
{
	struct sockaddr_in l, r;
	struct weir_tuple t;
	uint64_t v = 0;

	peer_of(fd, &l, false);
	peer_of(fd, &r, true);
	memset(&t, 0, sizeof(t));
	t.saddr = l.sin_addr.s_addr;
	t.daddr = r.sin_addr.s_addr;
	t.sport = l.sin_port;
	t.dport = r.sin_port;
	if (bpf_map_lookup_elem(hfd, &t, &v))
		return 0;
	return v;
}

/* Same-node Pods with splice on and off: intact data, exact counts either way. */
static void check_splice(bool on, uint16_t port, size_t na, size_t nb)
{
	struct weir_edge_key k =
	    probe_ekey(WL_POD, WL_LOCAL, 0, port, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_pod pod = pod_val(on ? WEIR_POD_SPLICE : 0);
	struct weir_edge e;
	uint64_t s0, s1;
	int hfd, lfd, c, a, w;

	need_setup();
	hfd = pin_open_map(T.dir, "weir_sockhash");
	assert_true(hfd >= 0);
	assert_int_equal(datapath_pod_set(T.dp, T.cookie, &pod), 0);
	lfd = tcp_listen(IP_LOCAL, port);
	c = tcp_connect(IP_POD, IP_LOCAL, port);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	close(lfd);
	if (on) {
		assert_int_equal(sockhash_cookie(hfd, c), sock_cookie(c));
		assert_int_equal(sockhash_cookie(hfd, a), sock_cookie(a));
	} else {
		assert_int_equal(sockhash_cookie(hfd, c), 0);
		assert_int_equal(sockhash_cookie(hfd, a), 0);
	}
	s0 = probe_reason(fd_of(DP_MAP_REASONS), WEIR_HOOK_SK_MSG, WEIR_R_SPLICED);
	pump(c, a, na, nb);
	s1 = probe_reason(fd_of(DP_MAP_REASONS), WEIR_HOOK_SK_MSG, WEIR_R_SPLICED);
	print_message("splice %s: %llu messages spliced\n", on ? "on" : "off",
		      (unsigned long long)(s1 - s0));
	if (on)
		assert_true(s1 > s0);
	else
		assert_int_equal(s1, s0);
	close(c);
	wait_eof(a);
	close(a);
	close(hfd);
	pod = pod_val(WEIR_POD_SPLICE);
	assert_int_equal(datapath_pod_set(T.dp, T.cookie, &pod), 0);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k, 1, 2000, &e), 0);
	assert_int_equal(e.conns_opened, 1);
	assert_int_equal(e.conns_active, 0);
	assert_int_equal(e.bytes_sent, na);
	assert_int_equal(e.bytes_rcvd, nb);
}

static void test_datapath_splice_on(void **state)
{
	(void)state;
	check_splice(true, 8300, 50000, 60001);
}

static void test_datapath_splice_off(void **state)
{
	(void)state;
	check_splice(false, 8301, 33333, 4444);
}

/* The sockhash key of <fd>: its own tuple. */
static struct weir_tuple sock_tuple(int fd)
{
	struct sockaddr_in l, r;
	struct weir_tuple t;

	peer_of(fd, &l, false);
	peer_of(fd, &r, true);
	memset(&t, 0, sizeof(t));
	t.saddr = l.sin_addr.s_addr;
	t.daddr = r.sin_addr.s_addr;
	t.sport = l.sin_port;
	t.dport = r.sin_port;
	return t;
}

/* Sends <n> bytes of <c> on <fd>. */
static void send_fill(int fd, char c, size_t n)
{
	char buf[4096];

	memset(buf, c, sizeof(buf));
	while (n) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);
		ssize_t w = send(fd, buf, k, 0);

		assert_true(w > 0);
		n -= (size_t)w;
	}
}

/*
 * A connection whose first bytes went through TCP (its peer was not in the sockhash yet:
 * on a veth the server's PASSIVE_ESTABLISHED can run after the client's connect()
 * returned) must not splice later bytes: the receiver reads its psock queue before TCP's
 * receive queue, so a spliced message would overtake the ones still in TCP. The window is
 * made deterministic by taking the server out of the sockhash for the first send.
 */
static void test_datapath_splice_order(void **state)
{
	const size_t na = 70000, nb = 50000;
	struct weir_edge_key k =
	    probe_ekey(WL_POD, WL_LOCAL, 0, 8302, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_pod pod = pod_val(WEIR_POD_SPLICE);
	struct weir_tuple ta;
	struct weir_edge e;
	char buf[65536];
	size_t got = 0, i;
	int hfd, lfd, c, a, w;
	uint64_t afd;

	(void)state;
	need_setup();
	hfd = pin_open_map(T.dir, "weir_sockhash");
	assert_true(hfd >= 0);
	assert_int_equal(datapath_pod_set(T.dp, T.cookie, &pod), 0);
	lfd = tcp_listen(IP_LOCAL, 8302);
	c = tcp_connect(IP_POD, IP_LOCAL, 8302);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	close(lfd);
	ta = sock_tuple(a);
	assert_int_equal(sockhash_cookie(hfd, a), sock_cookie(a));
	/* The peer is missing when the first message leaves: it goes through TCP. */
	assert_int_equal(bpf_map_delete_elem(hfd, &ta), 0);
	send_fill(c, 'A', na);
	/* The peer is back before the second message. */
	afd = (uint64_t)a;
	assert_int_equal(bpf_map_update_elem(hfd, &ta, &afd, BPF_ANY), 0);
	send_fill(c, 'B', nb);
	shutdown(c, SHUT_WR);
	/* Everything arrives, and in the order it was sent. */
	for (;;) {
		ssize_t r = recv(a, buf, sizeof(buf), 0);

		assert_true(r >= 0);
		if (r == 0)
			break;
		for (i = 0; i < (size_t)r; i++, got++)
			if (buf[i] != (got < na ? 'A' : 'B'))
				fail_msg("byte %zu is '%c', sent as '%c': a spliced message "
					 "overtook TCP",
					 got, buf[i], got < na ? 'A' : 'B');
	}
	assert_int_equal(got, na + nb);
	close(c);
	close(a);
	close(hfd);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k, 1, 2000, &e), 0);
	assert_int_equal(e.bytes_sent, na + nb);
}

/* bpftool prints weir_edges with named fields (the maps carry BTF). */
static void test_datapath_bpftool_dump(void **state)
{
	char cmd[PATH_MAX], out[65536];
	size_t n = 0, r;
	FILE *f;

	(void)state;
	need_setup();
	snprintf(cmd, sizeof(cmd), "bpftool -j map dump pinned %s/weir_edges 2>&1", T.dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (n < sizeof(out) - 1 && (r = fread(out + n, 1, sizeof(out) - 1 - n, f)) > 0)
		n += r;
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	assert_non_null(strstr(out, "\"src_wl\""));
	assert_non_null(strstr(out, "\"conns_opened\""));
	assert_non_null(strstr(out, "\"bytes_rcvd\""));
}

static uint32_t map_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

/* One counted direct connection to IP_B2:<port>, closed. */
static void one_conn(uint16_t port)
{
	int lfd, c, a, w;

	lfd = tcp_listen(IP_B2, port);
	c = tcp_connect(IP_POD, IP_B2, port);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	pump(c, a, 10, 20);
	close(c);
	wait_eof(a);
	close(a);
	close(lfd);
}

/*
 * A restarted agent: same pins, new programs. Counters survive and keep counting, the
 * pinned links now run the new programs (still one per hook), and with agent_ip 0 an
 * agent-mode Service falls back to the kernel LB.
 */
/* Pins a small array map as <name> under the test's bpffs dir. */
static void pin_dummy(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", T.dir, name);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "weirtest_live", 4, 4, 1, NULL);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
}

static bool pinned(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", T.dir, name);
	return stat(path, &st) == 0;
}

static void test_datapath_pin_reuse(void **state)
{
	struct weir_edge_key k = probe_ekey(WL_POD, WL_B2, 0, 8400, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct datapath_opts opts = {0};
	uint32_t before[8], after[8], edges_id;
	struct weir_edge e0, e1;
	uint64_t r0;
	int i, j, n, lfd, c, a, w;

	(void)state;
	need_setup();
	one_conn(8400);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k, 1, 2000, &e0), 0);
	n = probe_cgroup_links(T.cg_id, before, 8);
	assert_int_equal(n, 4);
	edges_id = map_id(fd_of(DP_MAP_EDGES));

	datapath_close(T.dp);
	/* A map pinned under a name a layout change retired goes at the next open. */
	pin_dummy("weir_socks");
	opts.bpffs_dir = T.dir;
	opts.cgroup_path = T.cg;
	opts.cfg.sock_count = 1;
	opts.cfg.splice = 1;
	opts.cfg.tc_count = 1;
	T.dp = datapath_open(&opts);
	assert_non_null(T.dp);
	assert_false(pinned("weir_socks"));

	assert_int_equal(map_id(fd_of(DP_MAP_EDGES)), edges_id);
	probe_edge(fd_of(DP_MAP_EDGES), &k, &e1);
	assert_memory_equal(&e0, &e1, sizeof(e0));
	n = probe_cgroup_links(T.cg_id, after, 8);
	assert_int_equal(n, 4);
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			assert_int_not_equal(after[i], before[j]);

	one_conn(8400);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k, 2, 2000, &e1), 0);
	assert_int_equal(e1.conns_opened, e0.conns_opened + 1);
	assert_int_equal(e1.bytes_sent, e0.bytes_sent + 10);

	/* The agent-mode Service of test_datapath_agent_origdst, now without an agent. */
	{
		static const struct be_spec be[] = {{IP_B2, WL_B2, 8004, 1, 0}};

		svc_set("198.19.0.5", 443, 12, WEIR_MODE_AGENT, be, 1);
	}
	r0 = probe_reason(fd_of(DP_MAP_REASONS), WEIR_HOOK_CONNECT4, WEIR_R_NO_AGENT);
	lfd = tcp_listen(IP_B2, 8004);
	c = tcp_connect(IP_POD, "198.19.0.5", 443);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	close(c);
	close(a);
	close(lfd);
	assert_int_equal(
	    probe_reason(fd_of(DP_MAP_REASONS), WEIR_HOOK_CONNECT4, WEIR_R_NO_AGENT) - r0, 1);
}

/* A connected UDP socket is steered too, and also sees the VIP as its peer. */
static void test_datapath_udp_connect(void **state)
{
	static const struct be_spec be[] = {{IP_B3, WL_B3, 5353, 1, 0}};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	char buf[16];
	int srv, c;

	(void)state;
	need_setup();
	svc_set_proto("198.19.0.7", 53, IPPROTO_UDP, 15, WEIR_MODE_KERNEL, be, 1);
	srv = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(srv >= 0);
	sin.sin_addr.s_addr = ip(IP_B3);
	sin.sin_port = htons(5353);
	assert_int_equal(bind(srv, (struct sockaddr *)&sin, sizeof(sin)), 0);
	c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	sin.sin_addr.s_addr = ip("198.19.0.7");
	sin.sin_port = htons(53);
	assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(send(c, "query", 5, 0), 5);
	{
		struct pollfd p = {.fd = srv, .events = POLLIN};

		assert_int_equal(poll(&p, 1, IO_MS), 1);
	}
	assert_int_equal(
	    recvfrom(srv, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&sin, &len), 5);
	assert_memory_equal(buf, "query", 5);
	peer_of(c, &sin, true);
	assert_int_equal(sin.sin_addr.s_addr, ip("198.19.0.7"));
	assert_int_equal(ntohs(sin.sin_port), 53);
	close(c);
	close(srv);
}

/* Agent-path edges: datapath_edge_add accumulates, fields by field. */
static void test_datapath_edge_add(void **state)
{
	struct weir_edge_key k = probe_ekey(WL_POD, WL_B2, 99, 9999, IPPROTO_TCP, WEIR_PATH_AGENT);
	struct weir_edge d = {
	    .conns_opened = 2, .conns_active = 1, .bytes_sent = 100, .bytes_rcvd = 7, .last_ns = 5};
	struct weir_edge e;

	(void)state;
	need_setup();
	assert_int_equal(datapath_edge_add(T.dp, &k, &d), 0);
	d.conns_active = -1;
	d.conns_closed = 1;
	d.last_ns = 3;
	assert_int_equal(datapath_edge_add(T.dp, &k, &d), 0);
	probe_edge(fd_of(DP_MAP_EDGES), &k, &e);
	assert_int_equal(e.conns_opened, 4);
	assert_int_equal(e.conns_closed, 1);
	assert_int_equal(e.conns_active, 0);
	assert_int_equal(e.bytes_sent, 200);
	assert_int_equal(e.bytes_rcvd, 14);
	assert_int_equal(e.last_ns, 5);
}

/* pin_open_map opens maps by name, and refuses links and missing names. */
static void test_datapath_pin_open_map(void **state)
{
	int fd;

	(void)state;
	need_setup();
	fd = pin_open_map(T.dir, "weir_edges");
	assert_true(fd >= 0);
	assert_int_equal(map_id(fd), map_id(fd_of(DP_MAP_EDGES)));
	close(fd);
	assert_int_equal(pin_open_map(T.dir, WEIR_LINK_CONNECT4), -EINVAL);
	assert_int_equal(pin_open_map(T.dir, "weir_nothing"), -ENOENT);
	assert_int_equal(pin_open_map(T.dir, "../weir_edges"), -EINVAL);
}

/* A pin directory outside bpffs is refused with a clear error, before anything loads. */
static void test_datapath_open_not_bpffs(void **state)
{
	struct datapath_opts opts = {.bpffs_dir = "/tmp/weirtest-bpf-notbpffs/pins"};
	struct datapath *dp;
	int err, left;

	(void)state;
	need_setup();
	opts.cgroup_path = T.cg;
	dp = datapath_open(&opts);
	err = errno;
	left = access("/tmp/weirtest-bpf-notbpffs", F_OK) == 0;
	rmdir("/tmp/weirtest-bpf-notbpffs/pins");
	rmdir("/tmp/weirtest-bpf-notbpffs");
	datapath_close(dp);
	assert_null(dp);
	assert_int_equal(err, ENOTSUP);
	assert_false(left);
}

/*
 * The agent's cgroup changed between runs: the pinned links move to the new cgroup
 * (created there first, then the old ones detached), never hooking both.
 */
static void test_datapath_cgroup_move(void **state)
{
	struct datapath_opts opts = {0};
	char sub[PATH_MAX];
	uint64_t sub_id;

	(void)state;
	need_setup();
	snprintf(sub, sizeof(sub), "%s/moved", T.cg);
	assert_int_equal(mkdir(sub, 0755), 0);
	sub_id = scratch_cgroup_id(sub);
	datapath_close(T.dp);
	opts.bpffs_dir = T.dir;
	opts.cgroup_path = sub;
	opts.cfg.sock_count = 1;
	T.dp = datapath_open(&opts);
	if (T.dp) {
		assert_int_equal(probe_cgroup_links(sub_id, NULL, 0), 4);
		assert_int_equal(probe_cgroup_links(T.cg_id, NULL, 0), 0);
		datapath_close(T.dp);
	}
	/* Back where the other tests expect the hooks, whatever happened above. */
	opts.cgroup_path = T.cg;
	T.dp = datapath_open(&opts);
	rmdir(sub);
	assert_non_null(T.dp);
	assert_int_equal(probe_cgroup_links(T.cg_id, NULL, 0), 4);
	assert_int_equal(probe_cgroup_links(sub_id, NULL, 0), 0);
}

/* datapath_uninstall leaves no pin, no link, no hook. */
static void test_datapath_uninstall(void **state)
{
	struct stat st;
	int c;

	(void)state;
	need_setup();
	datapath_close(T.dp);
	T.dp = NULL;
	pin_dummy("weir_socks"); /* a retired pin must not keep the directory alive */
	assert_int_equal(datapath_uninstall(T.dir), 0);
	assert_int_equal(stat(T.dir, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(probe_cgroup_links(T.cg_id, NULL, 0), 0);
	c = tcp_connect(IP_POD, "198.19.0.4", 80);
	if (c >= 0)
		close(c);
	assert_int_equal(c, -ENETUNREACH);
}

/* ------------------------------------------------------------ live flush */

#define FLUSH_SELF "/proc/thread-self/ns/net" /* the test's netns, entered through setns */

/* Flushes the test's netns (through netns_run()) and returns the stats. */
static struct datapath_flush_stats flush_here(void)
{
	struct datapath_flush_stats st;

	assert_int_equal(datapath_flush_netns(T.dp, FLUSH_SELF, &st), 0);
	return st;
}

/* Reads edge <k> and checks its bytes and connection counts. */
static void expect_edge(const struct weir_edge_key *k, uint64_t sent, uint64_t rcvd,
			uint64_t opened, uint64_t closed)
{
	struct weir_edge e;

	assert_int_equal(probe_edge(fd_of(DP_MAP_EDGES), k, &e), 0);
	print_message("edge %u->%u:%u sent %llu/%llu rcvd %llu/%llu open %llu closed %llu\n",
		      k->src_wl, k->dst_wl, k->dport, (unsigned long long)e.bytes_sent,
		      (unsigned long long)sent, (unsigned long long)e.bytes_rcvd,
		      (unsigned long long)rcvd, (unsigned long long)e.conns_opened,
		      (unsigned long long)e.conns_closed);
	assert_int_equal(e.bytes_sent, sent);
	assert_int_equal(e.bytes_rcvd, rcvd);
	assert_int_equal(e.conns_opened, opened);
	assert_int_equal(e.conns_closed, closed);
}

/*
 * A kernel-LB connection flushed while open: the edge shows exactly what has flowed,
 * twice, and the close adds only the rest; a flush after the close adds nothing.
 */
static void test_datapath_flush_open(void **state)
{
	struct be_spec be[] = {{IP_B2, WL_B2, 8600, 1, 0}};
	struct weir_edge_key k = probe_ekey(WL_POD, WL_B2, 60, 8600, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct datapath_flush_stats st;
	struct weir_edge e;
	int lfd, c, a, w;

	(void)state;
	need_setup();
	svc_set("198.19.0.60", 80, 60, WEIR_MODE_KERNEL, be, 1);
	lfd = tcp_listen(IP_B2, 8600);
	c = tcp_connect(IP_POD, "198.19.0.60", 80);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	close(lfd);
	expect_edge(&k, 0, 0, 1, 0);
	pump(c, a, 3000001, 1000003);
	st = flush_here();
	print_message("flush 1: %llu sockets, %llu flushed\n", (unsigned long long)st.sockets,
		      (unsigned long long)st.flushed);
	assert_true(st.sockets >= 1);
	assert_true(st.flushed >= 1);
	assert_int_equal(st.failed, 0);
	expect_edge(&k, 3000001, 1000003, 1, 0);
	/* Nothing new: the edge stays. */
	flush_here();
	expect_edge(&k, 3000001, 1000003, 1, 0);
	pump(c, a, 2000000, 17);
	flush_here();
	expect_edge(&k, 5000001, 1000020, 1, 0);
	pump(c, a, 999, 1);
	close(c);
	wait_eof(a);
	close(a);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k, 1, 2000, &e), 0);
	expect_edge(&k, 5001000, 1000021, 1, 1);
	flush_here();
	expect_edge(&k, 5001000, 1000021, 1, 1);
}

/*
 * A client outside the mesh: the server's socket (passive, direction swapped) and the
 * enrolled client's own direct edge both flush exactly while open.
 */
static void test_datapath_flush_passive(void **state)
{
	struct weir_edge_key kp = probe_ekey(0, WL_POD, 0, 8601, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_edge_key ka = probe_ekey(WL_POD, WL_B2, 0, 8601, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_edge e;
	int lfd, c, a, w;

	(void)state;
	need_setup();
	lfd = tcp_listen(IP_B2, 8601);
	c = tcp_connect(IP_OUTSIDE, IP_B2, 8601);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	close(lfd);
	pump(c, a, 70000, 300001);
	flush_here();
	expect_edge(&kp, 70000, 300001, 1, 0);
	expect_edge(&ka, 70000, 300001, 1, 0);
	pump(c, a, 5, 123456);
	flush_here();
	expect_edge(&kp, 70005, 423457, 1, 0);
	expect_edge(&ka, 70005, 423457, 1, 0);
	pump(c, a, 11, 0);
	/* The server closes first this time. */
	close(a);
	wait_eof(c);
	close(c);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &kp, 1, 2000, &e), 0);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &ka, 1, 2000, &e), 0);
	expect_edge(&kp, 70016, 423457, 1, 1);
	expect_edge(&ka, 70016, 423457, 1, 1);
}

/*
 * Spliced same-node Pods: sk_msg counts the bytes it splices and the TCP counters do not
 * see them, so a flush adds nothing on top (no double count) and the close neither.
 */
static void test_datapath_flush_splice(void **state)
{
	struct weir_edge_key k =
	    probe_ekey(WL_POD, WL_LOCAL, 0, 8602, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_edge e;
	int hfd, lfd, c, a, w;

	(void)state;
	need_setup();
	hfd = pin_open_map(T.dir, "weir_sockhash");
	assert_true(hfd >= 0);
	lfd = tcp_listen(IP_LOCAL, 8602);
	c = tcp_connect(IP_POD, IP_LOCAL, 8602);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	close(lfd);
	assert_int_equal(sockhash_cookie(hfd, c), sock_cookie(c));
	assert_int_equal(sockhash_cookie(hfd, a), sock_cookie(a));
	close(hfd);
	pump(c, a, 80000, 9001);
	expect_edge(&k, 80000, 9001, 1, 0);
	flush_here();
	expect_edge(&k, 80000, 9001, 1, 0);
	pump(c, a, 1, 2);
	flush_here();
	expect_edge(&k, 80001, 9003, 1, 0);
	close(c);
	wait_eof(a);
	close(a);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k, 1, 2000, &e), 0);
	expect_edge(&k, 80001, 9003, 1, 1);
}

/*
 * The iterator sees only the netns it was created in: a flush of another netns leaves
 * this one's open connection alone, a flush of this one picks it up.
 */
static void test_datapath_flush_other_netns(void **state)
{
	struct weir_edge_key k = probe_ekey(WL_POD, WL_B3, 0, 8603, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct datapath_flush_stats st;
	struct weir_edge e;
	char name[64], path[128];
	int lfd, c, a, w, err;

	(void)state;
	need_setup();
	snprintf(name, sizeof(name), "weirtest-live-%d", (int)getpid());
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	if (scratch_sh("ip netns add %s", name)) {
		print_message("skip: cannot create netns %s\n", name);
		skip();
	}
	lfd = tcp_listen(IP_B3, 8603);
	c = tcp_connect(IP_POD, IP_B3, 8603);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	close(lfd);
	pump(c, a, 4321, 8765);
	err = datapath_flush_netns(T.dp, path, &st);
	scratch_sh("ip netns del %s", name);
	assert_int_equal(err, 0);
	assert_int_equal(st.sockets, 0);
	expect_edge(&k, 0, 0, 1, 0);
	/* A vanished netns is -ENOENT, and the caller stays where it was. */
	assert_int_equal(datapath_flush_netns(T.dp, path, &st), -ENOENT);
	assert_int_equal(datapath_flush_netns(T.dp, NULL, &st), 0);
	assert_true(st.flushed >= 1);
	expect_edge(&k, 4321, 8765, 1, 0);
	linger0(c);
	close(c);
	wait_eof(a);
	close(a);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k, 1, 2000, &e), 0);
	expect_edge(&k, 4321, 8765, 1, 1);
}

/* The flusher thread of the race test: flushes until told to stop (bounded). */
struct flush_race {
	volatile int stop;
	int err;
	unsigned rounds;
};

static void *flush_race_run(void *arg)
{
	struct flush_race *r = arg;
	long deadline = now_ms() + 30000;
	int err;

	/* A new thread starts in the netns of its creator: NULL flushes the test's netns. */
	while (!r->stop && r->rounds < 100000 && now_ms() < deadline) {
		err = datapath_flush_netns(T.dp, NULL, NULL);
		if (err && !r->err)
			r->err = err;
		r->rounds++;
	}
	return NULL;
}

/*
 * Many connections open, carry bytes and close (every close order) while another thread
 * flushes without pause: each flush and close meet under the socket lock, so the edge's
 * totals stay exact.
 */
static void test_datapath_flush_race(void **state)
{
	enum { CONNS = 120, OPEN = 6 };
	struct weir_edge_key k = probe_ekey(WL_POD, WL_B2, 0, 8604, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct flush_race r = {0};
	struct weir_edge e;
	uint64_t want_s = 0, want_r = 0;
	int cs[OPEN], as[OPEN];
	pthread_t th;
	int lfd, i, j, w;
	size_t na, nb;

	(void)state;
	need_setup();
	lfd = tcp_listen(IP_B2, 8604);
	assert_int_equal(pthread_create(&th, NULL, flush_race_run, &r), 0);
	for (i = 0; i < CONNS + OPEN; i++) {
		j = i % OPEN;
		/* Retire the oldest of the open connections, alternating the close order. */
		if (i >= OPEN) {
			na = 1 + (size_t)(i * 7919) % 40000;
			nb = (size_t)(i * 104729) % 30000;
			pump(cs[j], as[j], na, nb);
			want_s += na;
			want_r += nb;
			switch (i % 4) {
			case 0:
				close(cs[j]);
				wait_eof(as[j]);
				close(as[j]);
				break;
			case 1:
				close(as[j]);
				wait_eof(cs[j]);
				close(cs[j]);
				break;
			case 2:
				linger0(cs[j]);
				close(cs[j]);
				wait_eof(as[j]);
				close(as[j]);
				break;
			default:
				linger0(as[j]);
				close(as[j]);
				wait_eof(cs[j]);
				close(cs[j]);
				break;
			}
		}
		if (i >= CONNS)
			continue;
		cs[j] = tcp_connect(IP_POD, IP_B2, 8604);
		assert_true(cs[j] >= 0);
		as[j] = accept_any(&lfd, 1, &w);
		assert_true(as[j] >= 0);
		/* A first exchange, so most sockets hold bytes across several flushes. */
		pump(cs[j], as[j], 100 + i, 10 + i);
		want_s += 100 + i;
		want_r += 10 + i;
	}
	r.stop = 1;
	pthread_join(th, NULL);
	close(lfd);
	print_message("race: %u flushes during %d connections\n", r.rounds, CONNS);
	assert_int_equal(r.err, 0);
	assert_true(r.rounds > 1);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k, CONNS, 5000, &e), 0);
	flush_here();
	expect_edge(&k, want_s, want_r, CONNS, CONNS);
}

/* ------------------------------------------------- reconnects and early closes */

/* connect() of <fd> to <dst>:<port>, or AF_UNSPEC (a disconnect) when <dst> is NULL. */
static int connect_to(int fd, const char *dst, uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	if (!dst)
		sin.sin_family = AF_UNSPEC;
	else
		sin.sin_addr.s_addr = ip(dst);
	sin.sin_port = htons(port);
	return connect(fd, (struct sockaddr *)&sin, sizeof(sin));
}

/*
 * A UDP socket connected to a Service VIP and then re-connected to a plain address (DNS
 * clients do this): getpeername must show the new peer, not the VIP of the first connect.
 */
static void test_datapath_udp_reconnect(void **state)
{
	static const struct be_spec be[] = {{IP_B3, WL_B3, 5370, 1, 0}};
	struct sockaddr_in sin;
	int c;

	(void)state;
	need_setup();
	svc_set_proto("198.19.0.70", 53, IPPROTO_UDP, 70, WEIR_MODE_KERNEL, be, 1);
	c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	assert_int_equal(connect_to(c, "198.19.0.70", 53), 0);
	peer_of(c, &sin, true);
	assert_int_equal(sin.sin_addr.s_addr, ip("198.19.0.70"));
	assert_int_equal(connect_to(c, IP_B2, 5371), 0);
	peer_of(c, &sin, true);
	assert_int_equal(sin.sin_addr.s_addr, ip(IP_B2));
	assert_int_equal(ntohs(sin.sin_port), 5371);
	/* Disconnected and connected again elsewhere: still the real peer. */
	assert_int_equal(connect_to(c, NULL, 0), 0);
	assert_int_equal(connect_to(c, IP_B3, 5372), 0);
	peer_of(c, &sin, true);
	assert_int_equal(sin.sin_addr.s_addr, ip(IP_B3));
	assert_int_equal(ntohs(sin.sin_port), 5372);
	close(c);
}

/*
 * One TCP socket, two connections: to a Service VIP, disconnected with connect(AF_UNSPEC),
 * then straight to a Pod. Each connection counts on its own edge with its own bytes, and
 * the second one's getpeername is its real peer.
 */
static void test_datapath_tcp_reconnect(void **state)
{
	static const struct be_spec be[] = {{IP_B2, WL_B2, 8070, 1, 0}};
	struct weir_edge_key ks =
	    probe_ekey(WL_POD, WL_B2, 71, 8070, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_edge_key kd =
	    probe_ekey(WL_POD, WL_B3, WEIR_ID_UNKNOWN, 8071, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct weir_edge e;
	int l1, l2, c, a, w;

	(void)state;
	need_setup();
	svc_set("198.19.0.71", 80, 71, WEIR_MODE_KERNEL, be, 1);
	l1 = tcp_listen(IP_B2, 8070);
	l2 = tcp_listen(IP_B3, 8071);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	sin.sin_addr.s_addr = ip(IP_POD);
	assert_int_equal(bind(c, (struct sockaddr *)&sin, sizeof(sin)), 0);

	assert_int_equal(connect_to(c, "198.19.0.71", 80), 0);
	a = accept_any(&l1, 1, &w);
	assert_true(a >= 0);
	pump(c, a, 30000, 20000);
	assert_int_equal(connect_to(c, NULL, 0), 0);
	wait_eof(a);
	close(a);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &ks, 1, 2000, &e), 0);

	assert_int_equal(connect_to(c, IP_B3, 8071), 0);
	a = accept_any(&l2, 1, &w);
	assert_true(a >= 0);
	peer_of(c, &sin, true);
	assert_int_equal(sin.sin_addr.s_addr, ip(IP_B3));
	assert_int_equal(ntohs(sin.sin_port), 8071);
	pump(c, a, 5000, 7000);
	close(c);
	wait_eof(a);
	close(a);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &kd, 1, 2000, &e), 0);
	assert_int_equal(e.conns_opened, 1);
	assert_int_equal(e.conns_active, 0);
	assert_int_equal(e.bytes_sent, 5000);
	assert_int_equal(e.bytes_rcvd, 7000);
	probe_edge(fd_of(DP_MAP_EDGES), &ks, &e);
	assert_int_equal(e.conns_opened, 1);
	assert_int_equal(e.conns_closed, 1);
	assert_int_equal(e.conns_active, 0);
	assert_int_equal(e.bytes_sent, 30000);
	assert_int_equal(e.bytes_rcvd, 20000);
	close(l1);
	close(l2);
}

/*
 * A client that connects to an agent-mode VIP, writes and closes at once (a log shipper):
 * its side is settled as soon as the agent's kernel acks the FIN, usually before the
 * agent's accept(). The agent must still learn the VIP.
 */
static void test_datapath_agent_origdst_early_close(void **state)
{
	static const struct be_spec be[] = {{IP_B2, WL_B2, 8072, 1, 0}};
	struct sockaddr_in sin, local;
	struct weir_origdst od;
	struct weir_tuple t = {0};
	socklen_t len = sizeof(sin);
	char buf[8];
	int lfd, c, a, w, i;

	(void)state;
	need_setup();
	svc_set("198.19.0.72", 443, 72, WEIR_MODE_AGENT, be, 1);
	lfd = tcp_listen(IP_AGENT, AGENT_PORT);
	c = tcp_connect(IP_POD, "198.19.0.72", 443);
	assert_true(c >= 0);
	peer_of(c, &local, false);
	assert_int_equal(send(c, "log", 3, 0), 3);
	close(c);
	usleep(200000); /* the orphan reaches FIN_WAIT2 -> time-wait: TCP_CLOSE on 6.18 */
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	memset(&sin, 0, sizeof(sin));
	assert_int_equal(getsockopt(a, SOL_IP, WEIR_SO_ORIGINAL_DST, &sin, &len), 0);
	assert_int_equal(sin.sin_addr.s_addr, ip("198.19.0.72"));
	assert_int_equal(ntohs(sin.sin_port), 443);
	assert_int_equal(recv(a, buf, sizeof(buf), 0), 3);
	/* Once the agent's socket closed too, the entry goes. */
	close(a);
	close(lfd);
	t.saddr = local.sin_addr.s_addr;
	t.daddr = ip(IP_AGENT);
	t.sport = local.sin_port;
	t.dport = htons(AGENT_PORT);
	for (i = 0; i < 200 && !bpf_map_lookup_elem(fd_of(DP_MAP_ORIGDST), &t, &od); i++)
		usleep(10000);
	assert_int_equal(bpf_map_lookup_elem(fd_of(DP_MAP_ORIGDST), &t, &od), -ENOENT);
}

/*
 * A connect to an agent-mode VIP that the agent refuses leaves no weir_origdst entry
 * (runs before test_datapath_pin_reuse reopens the datapath without an agent).
 */
static void test_datapath_agent_origdst_refused(void **state)
{
	static const struct be_spec be[] = {{IP_B2, WL_B2, 8073, 1, 0}};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct weir_origdst od;
	struct weir_tuple t = {0};
	int c, i;

	(void)state;
	need_setup();
	svc_set("198.19.0.73", 443, 73, WEIR_MODE_AGENT, be, 1);
	/* Nothing listens on the agent port now: the SYN is answered by a RST. */
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	/* A fixed port: a failed connect gives an automatic one back (getsockname: 0). */
	sin.sin_addr.s_addr = ip(IP_POD);
	sin.sin_port = htons(40073);
	assert_int_equal(bind(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(connect_to(c, "198.19.0.73", 443), -1);
	assert_int_equal(errno, ECONNREFUSED);
	t.saddr = ip(IP_POD);
	t.daddr = ip(IP_AGENT);
	t.sport = htons(40073);
	t.dport = htons(AGENT_PORT);
	for (i = 0; i < 200 && !bpf_map_lookup_elem(fd_of(DP_MAP_ORIGDST), &t, &od); i++)
		usleep(10000);
	assert_int_equal(bpf_map_lookup_elem(fd_of(DP_MAP_ORIGDST), &t, &od), -ENOENT);
	close(c);
}

/*
 * sendfile() on a spliced socket: the kernel hands the pages to sendmsg with
 * MSG_SPLICE_PAGES; every byte must arrive in order and count once on the edge.
 */
static void test_datapath_splice_sendfile(void **state)
{
	struct weir_edge_key k =
	    probe_ekey(WL_POD, WL_LOCAL, 0, 8095, IPPROTO_TCP, WEIR_PATH_KERNEL);
	char path[] = "/tmp/weirtest-rtdp-sendfile-XXXXXX";
	static uint8_t buf[65536];
	size_t n = 200003, got = 0, i;
	struct weir_edge e;
	uint64_t s0;
	long deadline;
	off_t off = 0;
	ssize_t r;
	int f, lfd, c, a, w;

	(void)state;
	need_setup();
	f = mkstemp(path);
	assert_true(f >= 0);
	unlink(path);
	for (i = 0; i < n; i++) {
		uint8_t b = pattern(i, 9);

		assert_int_equal(write(f, &b, 1), 1);
	}
	lfd = tcp_listen(IP_LOCAL, 8095);
	c = tcp_connect(IP_POD, IP_LOCAL, 8095);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	close(lfd);
	s0 = probe_reason(fd_of(DP_MAP_REASONS), WEIR_HOOK_SK_MSG, WEIR_R_SPLICED);
	deadline = now_ms() + IO_MS;
	while (got < n) {
		assert_true(now_ms() < deadline);
		if ((size_t)off < n) {
			r = sendfile(c, f, &off, n - off);
			assert_true(r > 0 || (r < 0 && errno == EAGAIN));
		}
		r = recv(a, buf, sizeof(buf), MSG_DONTWAIT);
		assert_true(r > 0 || (r < 0 && errno == EAGAIN));
		for (i = 0; r > 0 && i < (size_t)r; i++)
			assert_int_equal(buf[i], pattern(got + i, 9));
		if (r > 0)
			got += r;
	}
	/* It went through sk_msg, not around it. */
	assert_true(probe_reason(fd_of(DP_MAP_REASONS), WEIR_HOOK_SK_MSG, WEIR_R_SPLICED) > s0);
	close(f);
	close(c);
	wait_eof(a);
	close(a);
	assert_int_equal(probe_edge_wait_closed(fd_of(DP_MAP_EDGES), &k, 1, 2000, &e), 0);
	print_message("sendfile: edge sent %llu of %zu\n", (unsigned long long)e.bytes_sent, n);
	assert_int_equal(e.bytes_sent, n);
	assert_int_equal(e.bytes_rcvd, 0);
}

/*
 * A connection over 127.0.0.1 inside a Pod (an app and its metrics port, two containers of
 * one Pod) never leaves the Pod: it is no edge of the mesh, and above all not two (the
 * client side as "to outside", the server side as "from outside").
 */
static void test_datapath_loopback_not_counted(void **state)
{
	struct weir_edge_key kc =
	    probe_ekey(WL_POD, WEIR_ID_UNKNOWN, 0, 8096, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_edge_key ks =
	    probe_ekey(WEIR_ID_UNKNOWN, WL_POD, 0, 8096, IPPROTO_TCP, WEIR_PATH_KERNEL);
	struct weir_edge e;
	int lfd, c, a, w;

	(void)state;
	need_setup();
	assert_int_equal(scratch_sh("ip link set lo up"), 0);
	lfd = tcp_listen("127.0.0.1", 8096);
	c = tcp_connect("127.0.0.1", "127.0.0.1", 8096);
	assert_true(c >= 0);
	a = accept_any(&lfd, 1, &w);
	assert_true(a >= 0);
	close(lfd);
	pump(c, a, 1000, 2000);
	close(c);
	wait_eof(a);
	close(a);
	usleep(100000); /* a CLOSE callback, if any, has run */
	probe_edge(fd_of(DP_MAP_EDGES), &kc, &e);
	assert_int_equal(e.conns_opened, 0);
	assert_int_equal(e.bytes_sent, 0);
	probe_edge(fd_of(DP_MAP_EDGES), &ks, &e);
	assert_int_equal(e.conns_opened, 0);
	assert_int_equal(e.bytes_sent, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_datapath_lb_weighted),
	    cmocka_unit_test(test_datapath_no_backend),
	    cmocka_unit_test(test_datapath_not_enrolled),
	    cmocka_unit_test(test_datapath_getpeername),
	    cmocka_unit_test(test_datapath_agent_origdst),
	    cmocka_unit_test(test_datapath_agent_origdst_early_close),
	    cmocka_unit_test(test_datapath_agent_origdst_refused),
	    cmocka_unit_test(test_datapath_bytes_client_first),
	    cmocka_unit_test(test_datapath_bytes_server_first),
	    cmocka_unit_test(test_datapath_bytes_client_rst),
	    cmocka_unit_test(test_datapath_bytes_server_rst),
	    cmocka_unit_test(test_datapath_bytes_client_half),
	    cmocka_unit_test(test_datapath_passive_nonmesh),
	    cmocka_unit_test(test_datapath_splice_on),
	    cmocka_unit_test(test_datapath_splice_off),
	    cmocka_unit_test(test_datapath_splice_order),
	    cmocka_unit_test(test_datapath_flush_open),
	    cmocka_unit_test(test_datapath_flush_passive),
	    cmocka_unit_test(test_datapath_flush_splice),
	    cmocka_unit_test(test_datapath_flush_other_netns),
	    cmocka_unit_test(test_datapath_flush_race),
	    cmocka_unit_test(test_datapath_bpftool_dump),
	    cmocka_unit_test(test_datapath_pin_reuse),
	    cmocka_unit_test(test_datapath_udp_connect),
	    cmocka_unit_test(test_datapath_edge_add),
	    cmocka_unit_test(test_datapath_splice_sendfile),
	    cmocka_unit_test(test_datapath_loopback_not_counted),
	    cmocka_unit_test(test_datapath_udp_reconnect),
	    cmocka_unit_test(test_datapath_tcp_reconnect),
	    cmocka_unit_test(test_datapath_pin_open_map),
	    cmocka_unit_test(test_datapath_open_not_bpffs),
	    cmocka_unit_test(test_datapath_cgroup_move),
	    cmocka_unit_test(test_datapath_uninstall),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
