// SPDX-License-Identifier: Apache-2.0
/*
 * The tc programs on the production skeleton: datapath_tc_attach() on a veth in
 * a scratch netns, then the attached programs (found by bpf_tc_query, as the kernel has
 * them) run on crafted Ethernet/IPv4 packets with bpf_prog_test_run_opts(): per-edge
 * counting of non-TCP flows, deny by exact port, any port and prefix, broken packets.
 * Addresses: 198.18.1.1 Pod A on this node (wl 11), 198.18.1.2 Pod B elsewhere (wl 12),
 * 198.18.9.0/24 outside the mesh. No packet leaves the test-run.
 */
#include <errno.h>
#include <limits.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include <weir/maps.h>

#include "datapath/datapath.h"
#include "lib/log.h"
#include "../lib/probe.h"
#include "../lib/scratch.h"

#define DEV   "weirtd0"
#define POD_A "198.18.1.1"
#define POD_B "198.18.1.2"
#define WL_A  11
#define WL_B  12

#ifndef IP_MF
#define IP_MF 0x2000 /* more fragments (netinet/ip.h clashes with linux/ip.h) */
#endif

static struct {
	char dir[PATH_MAX / 2];
	char cg[PATH_MAX / 2];
	struct datapath *dp;
	int ifindex;
	int prog_egress;  /* weir_tc_egress as attached (host veth ingress) */
	int prog_ingress; /* weir_tc_ingress as attached (host veth egress) */
	const char *skip;
	const char *error;
} T = {.prog_egress = -1, .prog_ingress = -1};

static uint32_t ip(const char *s)
{
	return inet_addr(s);
}

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

/* The fd of the program weir attached at <point> of the test device, or -errno. */
static int attached_prog(enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = T.ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WEIR_TC_HANDLE, .priority = WEIR_TC_PRIO);
	int err;

	err = bpf_tc_query(&hook, &opts);
	if (err)
		return err;
	return bpf_prog_get_fd_by_id(opts.prog_id);
}

static int group_setup(void **state)
{
	struct datapath_opts opts = {0};
	struct weir_ip a = {.wl_id = WL_A, .flags = WEIR_IP_POD | WEIR_IP_LOCAL};
	struct weir_ip b = {.wl_id = WL_B, .flags = WEIR_IP_POD};

	(void)state;
	log_init("tc_test", LOG_WARN);
	if (scratch_bpffs_ready()) {
		T.skip = "cannot mount a private bpf filesystem";
		return 0;
	}
	scratch_bpffs_dir("bpftc", T.dir, sizeof(T.dir));
	if (scratch_cgroup_new("bpftc", T.cg, sizeof(T.cg))) {
		T.skip = "no cgroup2 hierarchy to attach to";
		return 0;
	}
	if (scratch_netns_enter() ||
	    scratch_sh("ip link add " DEV " type veth peer name " DEV "p") ||
	    scratch_sh("ip link set " DEV " up")) {
		T.error = "cannot create the scratch netns and its veth pair";
		return 0;
	}
	T.ifindex = if_nametoindex(DEV);
	opts.bpffs_dir = T.dir;
	opts.cgroup_path = T.cg;
	opts.cfg.tc_count = 1;
	opts.cfg.sock_count = 1;
	T.dp = datapath_open(&opts);
	if (!T.dp) {
		T.error = "datapath_open failed (see the log above)";
		return 0;
	}
	if (datapath_ip_set(T.dp, ip(POD_A), &a) || datapath_ip_set(T.dp, ip(POD_B), &b)) {
		T.error = "cannot fill weir_ips";
		return 0;
	}
	if (datapath_tc_attach(T.dp, T.ifindex)) {
		T.skip = "tc clsact/bpf filters unavailable";
		return 0;
	}
	T.prog_egress = attached_prog(BPF_TC_INGRESS);
	T.prog_ingress = attached_prog(BPF_TC_EGRESS);
	if (T.prog_egress < 0 || T.prog_ingress < 0)
		T.error = "attached tc programs not found by bpf_tc_query";
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (T.prog_egress >= 0)
		close(T.prog_egress);
	if (T.prog_ingress >= 0)
		close(T.prog_ingress);
	datapath_close(T.dp);
	T.dp = NULL;
	if (T.dir[0])
		datapath_uninstall(T.dir);
	scratch_bpffs_release();
	scratch_netns_leave(); /* the veth pair goes with the netns */
	scratch_cgroup_del(T.cg);
	return 0;
}

/* An Ethernet/IPv4 packet with a UDP (or other <proto>) header and <payload> bytes. */
struct pkt {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	uint8_t payload[64];
} __attribute__((packed));

static size_t pkt_build(struct pkt *p, uint8_t proto, const char *src, uint16_t sport,
			const char *dst, uint16_t dport, size_t payload)
{
	size_t l4 = proto == IPPROTO_ICMP ? 8 : sizeof(struct udphdr);

	memset(p, 0, sizeof(*p));
	p->eth.h_proto = htons(ETH_P_IP);
	p->eth.h_dest[0] = 0x02;
	p->eth.h_source[0] = 0x02;
	p->eth.h_source[5] = 1;
	p->ip.version = 4;
	p->ip.ihl = 5;
	p->ip.ttl = 64;
	p->ip.protocol = proto;
	p->ip.saddr = ip(src);
	p->ip.daddr = ip(dst);
	p->ip.tot_len = htons(sizeof(struct iphdr) + l4 + payload);
	p->udp.source = htons(sport);
	p->udp.dest = htons(dport);
	p->udp.len = htons(sizeof(struct udphdr) + payload);
	return sizeof(struct ethhdr) + sizeof(struct iphdr) + l4 + payload;
}

/* Runs <prog> on <len> bytes of <data>; returns the tc verdict. */
static int run(int prog, const void *data, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = len, .repeat = 1);

	if (bpf_prog_test_run_opts(prog, &opts))
		fail_msg("test_run on %zu bytes: %s", len, strerror(errno));
	return (int)opts.retval;
}

static struct weir_edge edge(uint32_t src, uint32_t dst, uint16_t dport, uint8_t proto)
{
	struct weir_edge_key k = probe_ekey(src, dst, 0, dport, proto, WEIR_PATH_TC);
	struct weir_edge e;

	assert_int_equal(probe_edge(datapath_map_fd(T.dp, DP_MAP_EDGES), &k, &e), 0);
	return e;
}

/* Pod A sends to Pod B, B answers; both counted on A's side, once, on one edge. */
static void test_tc_count_egress(void **state)
{
	struct weir_edge e0, e;
	struct pkt p;
	size_t len;

	(void)state;
	need_setup();
	e0 = edge(WL_A, WL_B, 53, IPPROTO_UDP);
	len = pkt_build(&p, IPPROTO_UDP, POD_A, 40000, POD_B, 53, 30);
	assert_int_equal(run(T.prog_egress, &p, len), TC_ACT_OK);
	assert_int_equal(run(T.prog_egress, &p, len), TC_ACT_OK);
	e = edge(WL_A, WL_B, 53, IPPROTO_UDP);
	assert_int_equal(e.pkts_sent - e0.pkts_sent, 2);
	assert_int_equal(e.bytes_sent - e0.bytes_sent, 2 * (20 + 8 + 30));
	assert_int_equal(e.pkts_rcvd, e0.pkts_rcvd);
	/* B's answer enters A: B is a mesh Pod, its own egress counted it. */
	len = pkt_build(&p, IPPROTO_UDP, POD_B, 53, POD_A, 40000, 10);
	assert_int_equal(run(T.prog_ingress, &p, len), TC_ACT_OK);
	e = edge(WL_A, WL_B, 53, IPPROTO_UDP);
	assert_int_equal(e.pkts_rcvd, e0.pkts_rcvd);
	/* A answering a query from outside (A is the server: low port -> high port). */
	e0 = edge(0, WL_A, 5353, IPPROTO_UDP);
	len = pkt_build(&p, IPPROTO_UDP, POD_A, 5353, "198.18.9.9", 50000, 12);
	assert_int_equal(run(T.prog_egress, &p, len), TC_ACT_OK);
	e = edge(0, WL_A, 5353, IPPROTO_UDP);
	assert_int_equal(e.pkts_rcvd - e0.pkts_rcvd, 1);
	assert_int_equal(e.bytes_rcvd - e0.bytes_rcvd, 20 + 8 + 12);
	assert_int_equal(e.pkts_sent, e0.pkts_sent);
}

/* Traffic from outside the mesh is counted where it enters the Pod. */
static void test_tc_count_ingress(void **state)
{
	struct weir_edge e0, e;
	struct pkt p;
	size_t len;

	(void)state;
	need_setup();
	e0 = edge(0, WL_A, 8125, IPPROTO_UDP);
	len = pkt_build(&p, IPPROTO_UDP, "198.18.9.9", 41000, POD_A, 8125, 40);
	assert_int_equal(run(T.prog_ingress, &p, len), TC_ACT_OK);
	e = edge(0, WL_A, 8125, IPPROTO_UDP);
	assert_int_equal(e.pkts_sent - e0.pkts_sent, 1);
	assert_int_equal(e.bytes_sent - e0.bytes_sent, 20 + 8 + 40);
	assert_true(e.last_ns > 0);
}

/* TCP is the socket hooks' business; ICMP is counted without ports. */
static void test_tc_tcp_not_counted(void **state)
{
	struct weir_edge e0, e;
	struct pkt p;
	size_t len;

	(void)state;
	need_setup();
	e0 = edge(WL_A, WL_B, 80, IPPROTO_TCP);
	len = pkt_build(&p, IPPROTO_TCP, POD_A, 40000, POD_B, 80, 20);
	assert_int_equal(run(T.prog_egress, &p, len), TC_ACT_OK);
	e = edge(WL_A, WL_B, 80, IPPROTO_TCP);
	assert_memory_equal(&e, &e0, sizeof(e));

	e0 = edge(WL_A, WL_B, 0, IPPROTO_ICMP);
	len = pkt_build(&p, IPPROTO_ICMP, POD_A, 0, POD_B, 0, 56);
	assert_int_equal(run(T.prog_egress, &p, len), TC_ACT_OK);
	e = edge(WL_A, WL_B, 0, IPPROTO_ICMP);
	assert_int_equal(e.pkts_sent - e0.pkts_sent, 1);
}

static struct weir_deny_key deny_key(uint32_t wl, uint8_t dir, uint8_t proto, uint16_t port,
				     const char *remote, unsigned int plen)
{
	struct weir_deny_key k;

	memset(&k, 0, sizeof(k));
	k.prefixlen = WEIR_DENY_FIXED_BITS + plen;
	k.wl_id = wl;
	k.dir = dir;
	k.proto = proto;
	k.port = htons(port);
	k.remote = ip(remote);
	return k;
}

/* Deny table-driven: exact port, any port, prefix; the closest non-matches pass. */
static void test_tc_deny(void **state)
{
	struct weir_deny_key k1 = deny_key(WL_A, WEIR_DIR_EGRESS, IPPROTO_UDP, 53, POD_B, 32);
	struct weir_deny_key k2 =
	    deny_key(WL_A, WEIR_DIR_INGRESS, IPPROTO_UDP, 0, "198.18.9.0", 24);
	static const struct {
		int ingress;
		uint8_t proto;
		const char *src, *dst;
		uint16_t sport, dport;
		int verdict;
	} cases[] = {
	    /* egress A -> B: UDP 53 denied exactly; 54 and TCP 53 are not */
	    {0, IPPROTO_UDP, POD_A, POD_B, 40000, 53, TC_ACT_SHOT},
	    {0, IPPROTO_UDP, POD_A, POD_B, 40000, 54, TC_ACT_OK},
	    {0, IPPROTO_TCP, POD_A, POD_B, 40000, 53, TC_ACT_OK},
	    {0, IPPROTO_UDP, POD_A, "198.18.1.3", 40000, 53, TC_ACT_OK},
	    /* ingress to A from 198.18.9.0/24, any port; 198.18.8.x passes */
	    {1, IPPROTO_UDP, "198.18.9.9", POD_A, 1000, 7, TC_ACT_SHOT},
	    {1, IPPROTO_UDP, "198.18.9.200", POD_A, 1000, 65000, TC_ACT_SHOT},
	    {1, IPPROTO_UDP, "198.18.8.9", POD_A, 1000, 7, TC_ACT_OK},
	    /* the entries protect A only: B's traffic passes */
	    {1, IPPROTO_UDP, "198.18.9.9", POD_B, 1000, 7, TC_ACT_OK},
	};
	int rfd = datapath_map_fd(T.dp, DP_MAP_REASONS);
	uint64_t d0, d1;
	struct pkt p;
	size_t i, len;
	int v;

	(void)state;
	need_setup();
	assert_int_equal(datapath_deny_set(T.dp, &k1, 1), 0);
	assert_int_equal(datapath_deny_set(T.dp, &k2, 2), 0);
	d0 = probe_reason(rfd, WEIR_HOOK_TC_EGRESS, WEIR_R_DENIED) +
	     probe_reason(rfd, WEIR_HOOK_TC_INGRESS, WEIR_R_DENIED);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = pkt_build(&p, cases[i].proto, cases[i].src, cases[i].sport, cases[i].dst,
				cases[i].dport, 8);
		v = run(cases[i].ingress ? T.prog_ingress : T.prog_egress, &p, len);
		if (v != cases[i].verdict)
			fail_msg("case %zu: verdict %d, want %d", i, v, cases[i].verdict);
	}
	d1 = probe_reason(rfd, WEIR_HOOK_TC_EGRESS, WEIR_R_DENIED) +
	     probe_reason(rfd, WEIR_HOOK_TC_INGRESS, WEIR_R_DENIED);
	assert_int_equal(d1 - d0, 3);
	assert_int_equal(datapath_deny_del(T.dp, &k1), 0);
	assert_int_equal(datapath_deny_del(T.dp, &k2), 0);
	len = pkt_build(&p, IPPROTO_UDP, POD_A, 40000, POD_B, 53, 8);
	assert_int_equal(run(T.prog_egress, &p, len), TC_ACT_OK);
}

/* Truncated and non-IPv4 packets pass, counted as such. */
static void test_tc_bad_packets(void **state)
{
	int rfd = datapath_map_fd(T.dp, DP_MAP_REASONS);
	uint64_t bad0, v40;
	struct pkt p;
	size_t len;

	(void)state;
	need_setup();
	bad0 = probe_reason(rfd, WEIR_HOOK_TC_EGRESS, WEIR_R_BAD_PACKET);
	v40 = probe_reason(rfd, WEIR_HOOK_TC_EGRESS, WEIR_R_NOT_IPV4);
	len = pkt_build(&p, IPPROTO_UDP, POD_A, 40000, POD_B, 53, 8);
	/*
	 * test_run refuses IPv4 frames shorter than Ethernet + 20 bytes and headers with a
	 * bad version or ihl < 5 (-EINVAL on 6.18), so the header is cut short by its own
	 * length field: 60 bytes claimed, 22 there.
	 */
	p.ip.ihl = 15;
	assert_int_equal(run(T.prog_egress, &p, sizeof(struct ethhdr) + 22), TC_ACT_OK);
	/* IPv4 header complete, UDP ports cut */
	p.ip.ihl = 5;
	assert_int_equal(run(T.prog_egress, &p, sizeof(struct ethhdr) + 22), TC_ACT_OK);
	assert_int_equal(probe_reason(rfd, WEIR_HOOK_TC_EGRESS, WEIR_R_BAD_PACKET) - bad0, 2);
	p.ip.ihl = 5;
	p.eth.h_proto = htons(ETH_P_ARP); /* test_run checks IPv6 headers too */
	assert_int_equal(run(T.prog_egress, &p, len), TC_ACT_OK);
	assert_int_equal(probe_reason(rfd, WEIR_HOOK_TC_EGRESS, WEIR_R_NOT_IPV4) - v40, 1);
}

/* Re-attaching replaces weir's filter; detaching removes it and tolerates repeats. */
static void test_tc_attach_detach(void **state)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = T.ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WEIR_TC_HANDLE, .priority = WEIR_TC_PRIO);
	int ret;

	(void)state;
	need_setup();
	assert_int_equal(datapath_tc_attach(T.dp, T.ifindex), 0);
	assert_int_equal(bpf_tc_query(&hook, &opts), 0);
	assert_int_equal(datapath_tc_detach(T.dp, T.ifindex), 0);
	memset(&opts.prog_id, 0, sizeof(opts.prog_id));
	opts.prog_fd = 0;
	opts.flags = 0;
	/* The last filter gone, the kernel drops the chain: -EINVAL ("no chain") or -ENOENT. */
	ret = bpf_tc_query(&hook, &opts);
	assert_true(ret == -ENOENT || ret == -EINVAL);
	assert_int_equal(datapath_tc_detach(T.dp, T.ifindex), 0);
	assert_int_equal(datapath_tc_detach(T.dp, 999999), 0);
}

/*
 * A UDP datagram larger than the MTU leaves a Pod in fragments; only the first carries
 * the ports. The whole datagram counts once on its flow's edge (its length as the UDP
 * header gives it), and the later fragments make no port-0 edge of their own.
 */
static void test_tc_fragments(void **state)
{
	struct weir_edge e0, e, z0, z;
	struct pkt p;
	size_t len;

	(void)state;
	need_setup();
	e0 = edge(WL_A, WL_B, 5060, IPPROTO_UDP);
	z0 = edge(WL_A, WL_B, 0, IPPROTO_UDP);
	/* 3000 payload bytes: 1480 + 1528 of UDP header and payload, the MTU's split. */
	len = pkt_build(&p, IPPROTO_UDP, POD_A, 40060, POD_B, 5060, 64);
	p.udp.len = htons(8 + 3000);
	p.ip.id = htons(0x4242);
	p.ip.tot_len = htons(20 + 1480);
	p.ip.frag_off = htons(IP_MF);
	assert_int_equal(run(T.prog_egress, &p, len), TC_ACT_OK);
	/* The second and last fragment: offset 1480 bytes, its first bytes are payload. */
	memset(&p.udp, 0x35, sizeof(p.udp));
	p.ip.tot_len = htons(20 + 1528);
	p.ip.frag_off = htons(1480 / 8);
	assert_int_equal(run(T.prog_egress, &p, len), TC_ACT_OK);
	e = edge(WL_A, WL_B, 5060, IPPROTO_UDP);
	z = edge(WL_A, WL_B, 0, IPPROTO_UDP);
	assert_int_equal(e.pkts_sent - e0.pkts_sent, 1);
	assert_int_equal(e.bytes_sent - e0.bytes_sent, 20 + 8 + 3000);
	assert_int_equal(z.pkts_sent - z0.pkts_sent, 0);
	assert_int_equal(z.bytes_sent - z0.bytes_sent, 0);
	assert_int_equal(z.pkts_rcvd - z0.pkts_rcvd, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tc_count_egress),    cmocka_unit_test(test_tc_count_ingress),
	    cmocka_unit_test(test_tc_tcp_not_counted), cmocka_unit_test(test_tc_deny),
	    cmocka_unit_test(test_tc_bad_packets),     cmocka_unit_test(test_tc_attach_detach),
	    cmocka_unit_test(test_tc_fragments),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
