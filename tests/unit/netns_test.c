// SPDX-License-Identifier: Apache-2.0
/*
 * Tests for user/netns.c against real network namespaces (root only; skipped otherwise):
 * a scratch netns with a veth pair is found by the address on its end, its cookie is the
 * one a socket inside it reports, the veth peer's ifindex is the one in the caller's
 * netns, and the caller's own netns is never reported.
 */
#include <errno.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "datapath/netns.h"

#define NS "weirtest-netns-unit"

static int netns_sh(const char *cmd)
{
	int rc = system(cmd);

	return rc == 0 ? 0 : -1;
}

static int setup(void **state)
{
	if (geteuid() != 0)
		return 0;
	/* The veth's host end lives in a second scratch netns playing the "node", so the
	 * caller's real netns is never changed: the test enters the node netns itself. */
	netns_sh("ip netns del " NS " 2>/dev/null; ip netns del " NS "-node 2>/dev/null; "
		 "ip netns del " NS "-twin 2>/dev/null");
	if (netns_sh("ip netns add " NS " && ip netns add " NS "-node && "
		     "ip -n " NS "-node link add wt-host type veth peer name eth0 netns " NS " && "
		     "ip -n " NS " addr add 198.18.99.7/24 dev eth0 && ip -n " NS
		     " link set eth0 up") < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	if (geteuid() == 0)
		netns_sh("ip netns del " NS " 2>/dev/null; ip netns del " NS "-node 2>/dev/null; "
			 "ip netns del " NS "-twin 2>/dev/null");
	return 0;
}

static void test_netns_inspect_and_find(void **state)
{
	struct netns_info ni, found;
	struct netns_match *m;
	size_t n;
	uint32_t ip;
	int self;
	FILE *f;
	unsigned peer = 0;

	if (geteuid() != 0)
		skip();
	inet_pton(AF_INET, "198.18.99.7", &ip);
	assert_int_equal(netns_inspect("/run/netns/" NS, ip, &ni), 0);
	assert_true(ni.cookie != 0);
	assert_string_equal(ni.ifname, "eth0");
	/* The peer index is the host end's, as the node netns numbers it. */
	f = popen("ip -n " NS "-node -o link show wt-host | cut -d: -f1", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%u", &peer), 1);
	pclose(f);
	assert_int_equal(ni.peer_ifindex, (int)peer);
	/* An address that is not there. */
	inet_pton(AF_INET, "198.18.99.8", &ip);
	assert_int_equal(netns_inspect("/run/netns/" NS, ip, &found), -ENOENT);
	/* The scan finds the same netns, and only it. */
	inet_pton(AF_INET, "198.18.99.7", &ip);
	assert_int_equal(netns_find_all_by_ip(ip, &m, &n), 0);
	assert_int_equal(n, 1);
	assert_true(m[0].info.cookie == ni.cookie);
	assert_string_equal(m[0].path, "/run/netns/" NS);
	free(m);
	/* A second netns holding the same address: both are reported, never just the first. */
	assert_int_equal(netns_sh("ip netns add " NS "-twin && ip -n " NS
				  "-twin link add d0 type veth peer name d1 && "
				  "ip -n " NS "-twin addr add 198.18.99.7/32 dev d0"),
			 0);
	assert_int_equal(netns_find_all_by_ip(ip, &m, &n), 0);
	netns_sh("ip netns del " NS "-twin");
	assert_int_equal(n, 2);
	assert_true(m[0].info.cookie != m[1].info.cookie);
	free(m);
	/* The caller's own netns is never a Pod's: its own loopback address is not found. */
	inet_pton(AF_INET, "127.0.0.1", &ip);
	self = netns_inspect("/proc/self/ns/net", ip, &found);
	assert_int_equal(self, -ENOENT);
	/* And the caller is back where it was. */
	assert_true(netns_self_cookie() != ni.cookie);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_netns_inspect_and_find, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
