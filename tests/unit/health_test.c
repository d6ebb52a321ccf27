// SPDX-License-Identifier: Apache-2.0
/*
 * Active health checks over loopback: a HealthCheck compiled by the real config path
 * probes two endpoints, one answering its HTTP check and one refusing; the refusing one is
 * taken out after unhealthyThreshold failures, brought back after healthyThreshold
 * successes once it answers, and a TCP check only needs the connect.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "config/k8s.h"
#include "lib/arena.h"
#include "model/model.h"
#include "proxy/health.h"
#include "proxy/limits.h"

#include "../lib/httpfx.h"

struct fx {
	struct event_base *base;
	struct px_limits *l;
	struct health *h;
	struct arena *a;
	struct model *m;
	struct hbe be;
	uint16_t port;
};

static struct model *build(struct fx *f, const char *check)
{
	const struct k8s_object *objs[16];
	struct k8s_result res;
	char *yaml;
	int n;

	n = asprintf(
	    &yaml,
	    "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n"
	    "spec:\n  clusterIP: 127.19.0.40\n  selector: {app: web}\n"
	    "  ports: [{name: http, port: 80, targetPort: %u}]\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: up\n  namespace: default\n"
	    "  labels: {app: web}\nspec: {nodeName: n1}\nstatus: {podIP: 127.0.0.2}\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: down\n  namespace: default\n"
	    "  labels: {app: web}\nspec: {nodeName: n1}\nstatus: {podIP: 127.0.0.3}\n"
	    "---\napiVersion: weir.dev/v1alpha1\nkind: HealthCheck\n"
	    "metadata: {name: web, namespace: default}\n"
	    "spec:\n  targetRef: {kind: Service, name: web}\n%s"
	    "  interval: 0.05s\n  timeout: 0.04s\n"
	    "  healthyThreshold: 2\n  unhealthyThreshold: 3\n",
	    f->port, check);
	assert_true(n > 0);
	arena_free(f->a);
	f->a = arena_new();
	if (k8s_decode(f->a, "hc.yaml", yaml, strlen(yaml), &res))
		fail_msg("does not decode: %s", res.err);
	free(yaml);
	for (size_t i = 0; i < res.nobjs; i++)
		objs[i] = &res.objs[i];
	model_free(f->m);
	f->m = model_build(objs, res.nobjs, 1);
	assert_non_null(f->m);
	assert_non_null(f->m->routes);
	return f->m;
}

/* Runs the loop until endpoint 127.0.0.<last> is out (<down>) or in, at most 3 s. */
static bool wait_state(struct fx *f, const char *cluster, const char *ip, bool down)
{
	for (int i = 0; i < 300; i++) {
		if (limits_od_ejected(f->l, cluster, inet_addr(ip), htons(f->port), 1) == down)
			return true;
		event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(10000);
	}
	return false;
}

static const char *cluster_name(struct fx *f)
{
	assert_true(f->m->routes->nclusters >= 1);
	return f->m->routes->clusters[0].name;
}

static void test_health_http(void **state)
{
	struct fx f = {0};
	struct health_stats st;
	const char *c;

	f.base = event_base_new();
	f.l = limits_new();
	/* The healthy endpoint listens on 127.0.0.2; 127.0.0.3 has nobody on that port. */
	hbe_start(&f.be, 1, "127.0.0.2", 0);
	f.port = f.be.port;
	f.h = health_new(f.base, f.l, 0);
	health_update(f.h, build(&f, "  http: {path: /id}\n"));
	c = cluster_name(&f);
	assert_true(wait_state(&f, c, "127.0.0.3", true));
	assert_false(limits_od_ejected(f.l, c, inet_addr("127.0.0.2"), htons(f.port), 1));
	health_stats(f.h, &st);
	assert_int_equal(st.targets, 2);
	assert_int_equal(st.down, 1);
	assert_true(st.failures >= 3);
	/* The second endpoint comes up: back after two good probes. */
	{
		struct hbe be2;

		hbe_start(&be2, 2, "127.0.0.3", f.port);
		assert_true(wait_state(&f, c, "127.0.0.3", false));
		health_free(f.h);
		f.h = NULL;
		hbe_stop(&be2);
	}
	assert_true(atomic_load(&f.be.requests) >= 2);
	hbe_stop(&f.be);
	limits_free(f.l);
	model_free(f.m);
	arena_free(f.a);
	event_base_free(f.base);
}

static void test_health_tcp_and_gone(void **state)
{
	struct fx f = {0};
	const char *c;
	char name[256];

	f.base = event_base_new();
	f.l = limits_new();
	hbe_start(&f.be, 1, "127.0.0.2", 0);
	f.port = f.be.port;
	f.h = health_new(f.base, f.l, 0);
	health_update(f.h, build(&f, "  tcp: {}\n"));
	c = cluster_name(&f);
	snprintf(name, sizeof(name), "%s", c);
	assert_true(wait_state(&f, name, "127.0.0.3", true));
	/* A TCP check sends nothing: the healthy backend saw no request. */
	assert_int_equal(atomic_load(&f.be.requests), 0);
	/* The HealthCheck goes: its verdicts go with it. */
	{
		const struct k8s_object *none[1];

		model_free(f.m);
		f.m = model_build(none, 0, 2);
		health_update(f.h, f.m);
	}
	assert_false(limits_od_ejected(f.l, name, inet_addr("127.0.0.3"), htons(f.port), 1));
	health_free(f.h);
	hbe_stop(&f.be);
	limits_free(f.l);
	model_free(f.m);
	arena_free(f.a);
	event_base_free(f.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_health_http),
	    cmocka_unit_test(test_health_tcp_and_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
