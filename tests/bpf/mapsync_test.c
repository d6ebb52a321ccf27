// SPDX-License-Identifier: Apache-2.0
/*
 * The diffing tables of datapath/sync.c and datapath/enroll.c against real pinned maps
 * (production skeleton, private bpffs, scratch cgroup; no netns, no connect()): entries
 * written once and then left alone, vanished Services and addresses deleted, and the same
 * after a restart, when what to delete is known only from the keys the pins hold (read
 * back as binary keys, lib/keymap); stale weir_netns entries from an earlier run removed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include <weir/maps.h>

#include "datapath/datapath.h"
#include "datapath/enroll.h"
#include "datapath/sync.h"
#include "lib/log.h"
#include "model/ids.h"
#include "../lib/scratch.h"

static struct {
	char dir[PATH_MAX / 2];
	char cg[PATH_MAX / 2];
	struct datapath *dp;
	const char *skip;
	const char *error;
} T;

/* Two Pods on another node, Services a (one port) and b (two ports), one agent. */
static const struct model_pod pods[] = {
    {.ns = "default",
     .name = "a-1",
     .node = "far",
     .workload = "a",
     .weight = 1,
     .ready = true,
     .mesh = true},
    {.ns = "default",
     .name = "b-1",
     .node = "far",
     .workload = "b",
     .weight = 2,
     .ready = true,
     .mesh = true},
};
static struct model_pod pods_rw[2];
static struct model_endpoint eps_a[1], eps_b[1];
static struct model_svc_port ports_a[1], ports_b[2];
static struct model_service svcs[2];
static uint32_t agent_ip;

static uint32_t ip(const char *s)
{
	return inet_addr(s);
}

static void model_fill(void)
{
	memcpy(pods_rw, pods, sizeof(pods));
	pods_rw[0].ip = ip("198.18.3.1");
	pods_rw[1].ip = ip("198.18.3.2");
	eps_a[0] = (struct model_endpoint){
	    .ip = pods_rw[0].ip, .port = 8080, .ready = true, .pod = &pods_rw[0]};
	eps_b[0] = (struct model_endpoint){
	    .ip = pods_rw[1].ip, .port = 9090, .ready = true, .pod = &pods_rw[1]};
	ports_a[0] = (struct model_svc_port){
	    .name = "", .port = 80, .proto = IPPROTO_TCP, .eps = eps_a, .neps = 1};
	ports_b[0] = (struct model_svc_port){
	    .name = "", .port = 80, .proto = IPPROTO_TCP, .eps = eps_b, .neps = 1};
	ports_b[1] = (struct model_svc_port){
	    .name = "dns", .port = 53, .proto = IPPROTO_UDP, .eps = eps_b, .neps = 1};
	svcs[0] = (struct model_service){
	    .ns = "default", .name = "a", .vip = ip("198.19.3.1"), .ports = ports_a, .nports = 1};
	svcs[1] = (struct model_service){
	    .ns = "default", .name = "b", .vip = ip("198.19.3.2"), .ports = ports_b, .nports = 2};
	agent_ip = ip("198.18.3.254");
}

/* Everything, or only Pod a-1 and Service a. */
static struct model model_of(int full)
{
	return (struct model){
	    .pods = pods_rw, .npods = full ? 2 : 1, .services = svcs, .nservices = full ? 2 : 1};
}

static struct weir_svc_key svc_key(const char *vip, uint16_t port, uint8_t proto)
{
	struct weir_svc_key k;

	memset(&k, 0, sizeof(k));
	k.vip = ip(vip);
	k.port = htons(port);
	k.proto = proto;
	return k;
}

/* Whether weir_services holds <vip>:<port>/<proto>. */
static bool has_svc(const char *vip, uint16_t port, uint8_t proto)
{
	struct weir_svc_key k = svc_key(vip, port, proto);
	static struct weir_svc v;

	return bpf_map_lookup_elem(datapath_map_fd(T.dp, DP_MAP_SERVICES), &k, &v) == 0;
}

static bool has_ip(const char *addr)
{
	uint32_t a = ip(addr);
	struct weir_ip v;

	return bpf_map_lookup_elem(datapath_map_fd(T.dp, DP_MAP_IPS), &a, &v) == 0;
}

static int group_setup(void **state)
{
	struct datapath_opts opts = {0};

	log_init("mapsync_test", LOG_WARN);
	model_fill();
	if (geteuid() != 0) {
		T.skip = "needs root";
		return 0;
	}
	if (scratch_bpffs_ready()) {
		T.skip = "cannot mount a private bpf filesystem";
		return 0;
	}
	scratch_bpffs_dir("mapsync", T.dir, sizeof(T.dir));
	if (scratch_cgroup_new("mapsync", T.cg, sizeof(T.cg))) {
		T.skip = "no cgroup2 hierarchy to attach to";
		return 0;
	}
	opts.bpffs_dir = T.dir;
	opts.cgroup_path = T.cg;
	T.dp = datapath_open(&opts);
	if (!T.dp)
		T.error = "datapath_open failed (see the log above)";
	return 0;
}

static int group_teardown(void **state)
{
	datapath_close(T.dp);
	if (T.dir[0])
		datapath_uninstall(T.dir);
	scratch_bpffs_release();
	if (T.cg[0])
		scratch_cgroup_del(T.cg);
	return 0;
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

/* One run of the agent: restore from the pins, then sync <full> twice and <then> once. */
static void test_mapsync_sync_and_restart(void **state)
{
	struct sync_state st;
	struct sync_stats s;
	struct ids ids;
	struct model m = model_of(1), less = model_of(0);
	uint32_t wl_b;

	need_setup();
	/* First run: everything is new. */
	ids_init(&ids, WEIR_MAX_WORKLOADS, WEIR_MAX_SERVICES);
	sync_init(&st);
	assert_int_equal(sync_restore(&st, &ids, T.dp), 0);
	assert_int_equal(sync_apply(&st, &ids, T.dp, &m, NULL, NULL, &agent_ip, 1, &s), 0);
	assert_int_equal(s.svc_written, 3);
	assert_int_equal(s.ips_written, 3);
	assert_int_equal(s.errors, 0);
	assert_true(has_svc("198.19.3.2", 53, IPPROTO_UDP));
	wl_b = ids_find_workload(&ids, "default", "b");
	assert_true(wl_b != 0);
	/* Same model: nothing is rewritten. */
	assert_int_equal(sync_apply(&st, &ids, T.dp, &m, NULL, NULL, &agent_ip, 1, &s), 0);
	assert_int_equal(s.svc_written, 0);
	assert_int_equal(s.svc_unchanged, 3);
	assert_int_equal(s.ips_written, 0);
	assert_int_equal(s.svc_deleted + s.ips_deleted, 0);
	/* Service b and Pod b-1 go: both ports of b and the address are deleted. */
	assert_int_equal(sync_apply(&st, &ids, T.dp, &less, NULL, NULL, &agent_ip, 1, &s), 0);
	assert_int_equal(s.svc_deleted, 2);
	assert_int_equal(s.ips_deleted, 1);
	assert_false(has_svc("198.19.3.2", 80, IPPROTO_TCP));
	assert_false(has_svc("198.19.3.2", 53, IPPROTO_UDP));
	assert_true(has_svc("198.19.3.1", 80, IPPROTO_TCP));
	assert_false(has_ip("198.18.3.2"));
	assert_true(has_ip("198.18.3.1"));
	/* Back to everything before the "restart". */
	assert_int_equal(sync_apply(&st, &ids, T.dp, &m, NULL, NULL, &agent_ip, 1, &s), 0);
	assert_int_equal(s.svc_written, 2);
	sync_fini(&st);
	ids_fini(&ids);

	/* Second run: the pins are all it knows. The smaller model deletes what went while
	 * it was down, by the keys read back from the maps; ids stay. */
	ids_init(&ids, WEIR_MAX_WORKLOADS, WEIR_MAX_SERVICES);
	sync_init(&st);
	assert_int_equal(sync_restore(&st, &ids, T.dp), 0);
	assert_int_equal(st.svcs.len, 3);
	assert_int_equal(st.ips.len, 3);
	assert_int_equal(ids_find_workload(&ids, "default", "b"), wl_b);
	assert_int_equal(sync_apply(&st, &ids, T.dp, &less, NULL, NULL, &agent_ip, 1, &s), 0);
	assert_int_equal(s.svc_deleted, 2);
	assert_int_equal(s.ips_deleted, 1);
	assert_int_equal(s.errors, 0);
	assert_false(has_svc("198.19.3.2", 80, IPPROTO_TCP));
	assert_false(has_svc("198.19.3.2", 53, IPPROTO_UDP));
	assert_true(has_svc("198.19.3.1", 80, IPPROTO_TCP));
	assert_false(has_ip("198.18.3.2"));
	assert_true(has_ip("198.18.3.254"));
	sync_fini(&st);
	ids_fini(&ids);
}

/* The flags of the first backend of <vip>:<port>/TCP in weir_services. */
static uint32_t backend0_flags(const char *vip, uint16_t port)
{
	struct weir_svc_key k = svc_key(vip, port, IPPROTO_TCP);
	static struct weir_svc v;

	assert_int_equal(bpf_map_lookup_elem(datapath_map_fd(T.dp, DP_MAP_SERVICES), &k, &v), 0);
	assert_true(v.count >= 1);
	return v.backends[0].flags;
}

/* Backends the proxy ejected carry WEIR_BE_UNHEALTHY in every entry until they return. */
static void test_mapsync_unhealthy(void **state)
{
	struct sync_state st;
	struct sync_stats s;
	struct ids ids;
	struct model m = model_of(1);
	struct sync_ep ej = {.ip = ip("198.18.3.2"), .port = htons(9090)};

	need_setup();
	ids_init(&ids, WEIR_MAX_WORKLOADS, WEIR_MAX_SERVICES);
	sync_init(&st);
	assert_int_equal(sync_restore(&st, &ids, T.dp), 0);
	assert_int_equal(sync_apply(&st, &ids, T.dp, &m, NULL, NULL, &agent_ip, 1, &s), 0);
	assert_int_equal(backend0_flags("198.19.3.2", 80) & WEIR_BE_UNHEALTHY, 0);
	assert_int_equal(sync_set_unhealthy(&st, &ej, 1), 1);
	assert_int_equal(sync_set_unhealthy(&st, &ej, 1), 0); /* same set: no change */
	assert_int_equal(sync_apply(&st, &ids, T.dp, &m, NULL, NULL, &agent_ip, 1, &s), 0);
	/* Both ports of b (the backend serves both) are rewritten with the flag; a is not. */
	assert_int_equal(s.svc_written, 2);
	assert_int_equal(s.svc_unchanged, 1);
	assert_int_equal(backend0_flags("198.19.3.2", 80) & WEIR_BE_UNHEALTHY, WEIR_BE_UNHEALTHY);
	assert_int_equal(backend0_flags("198.19.3.1", 80) & WEIR_BE_UNHEALTHY, 0);
	/* Back in service. */
	assert_int_equal(sync_set_unhealthy(&st, NULL, 0), 1);
	assert_int_equal(sync_apply(&st, &ids, T.dp, &m, NULL, NULL, &agent_ip, 1, &s), 0);
	assert_int_equal(backend0_flags("198.19.3.2", 80) & WEIR_BE_UNHEALTHY, 0);
	sync_fini(&st);
	ids_fini(&ids);
}

/* weir_netns entries of an earlier run that no Pod of this node claims are removed. */
static void test_mapsync_enroll_stale(void **state)
{
	/* Address 0: enroll_stale_detach() then looks for no netns on the machine. */
	struct weir_pod v = {.wl_id = 5, .ip = 0};
	uint64_t cookies[] = {0x1234567800000001ULL, 0x1234567800000002ULL}, c;
	struct model m = model_of(0);
	struct enroll e;
	struct ids ids;
	unsigned pending = 7;
	size_t i;

	need_setup();
	for (i = 0; i < 2; i++)
		assert_int_equal(datapath_pod_set(T.dp, cookies[i], &v), 0);
	ids_init(&ids, 16, 16);
	enroll_init(&e, T.dp, "here", false);
	assert_int_equal(enroll_restore(&e), 0);
	assert_int_equal(e.restored.len, 2);
	assert_non_null(keymap_get(&e.restored, &cookies[1]));
	/* No Pod of the model runs on node "here": both entries are stale. */
	assert_int_equal(enroll_sync(&e, &m, &ids, &pending), 0);
	assert_int_equal(pending, 0);
	assert_int_equal(e.restored.len, 0);
	for (i = 0; i < 2; i++) {
		struct weir_pod got;

		c = cookies[i];
		/* libbpf 1.0 mode: -errno */
		assert_int_equal(bpf_map_lookup_elem(datapath_map_fd(T.dp, DP_MAP_NETNS), &c, &got),
				 -ENOENT);
	}
	enroll_fini(&e);
	ids_fini(&ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mapsync_sync_and_restart),
	    cmocka_unit_test(test_mapsync_unhealthy),
	    cmocka_unit_test(test_mapsync_enroll_stale),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
