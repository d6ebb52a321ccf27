// SPDX-License-Identifier: Apache-2.0
/*
 * The proxy with traffic management as users write it: Istio VirtualService and
 * DestinationRule YAML (and weir's RateLimit) decoded and compiled by the real config path
 * into a model snapshot, a relay on loopback, backends for two subsets (v1 on 127.0.0.2,
 * v2 on 127.0.0.3, one port) and curl as the client. Each test asserts on counted responses
 * and on what each backend received.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/k8s.h"
#include "lib/arena.h"
#include "model/model.h"
#include "model/route.h"
#include "model/snap.h"
#include "proxy/relay.h"

#include "../lib/httpfx.h"

#define VIP "127.19.0.30"

struct fx {
	struct snap *snap;
	struct relay *relay;
	struct sockaddr_in raddr;
	struct hbe v1, v2;
	struct arena *a;
	unsigned port; /* the relay's, host order */
};

/* The Service port's name: "http", or "" for a port without one (sniffed). */
static const char *port_name = "http";

static int fx_orig_dst(int fd, struct sockaddr_in *out, void *arg)
{
	out->sin_family = AF_INET;
	out->sin_addr.s_addr = inet_addr(VIP);
	out->sin_port = htons(80);
	return 0;
}

static void snap_model_free(void *obj, void *arg)
{
	model_free(obj);
}

/*
 * The Service, its two Pods, a DestinationRule with subsets v1 and v2 (and <policy>, YAML
 * at the indentation of trafficPolicy's fields) and <extra> YAML, compiled into snapshot
 * <gen>.
 */
static struct model *fx_model(struct fx *f, const char *policy, const char *extra, uint64_t gen)
{
	char *yaml;
	const struct k8s_object *objs[64];
	struct k8s_result res;
	struct model *m;
	int n;

	n = asprintf(&yaml,
		     "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n"
		     "spec:\n  clusterIP: %s\n  selector: {app: web}\n"
		     "  ports: [{%s%s%sport: 80, targetPort: %u}]\n"
		     "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web-v1\n"
		     "  namespace: default\n  labels: {app: web, version: v1}\n"
		     "spec: {nodeName: n1}\nstatus: {podIP: 127.0.0.2}\n"
		     "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web-v2\n"
		     "  namespace: default\n  labels: {app: web, version: v2}\n"
		     "spec: {nodeName: n1}\nstatus: {podIP: 127.0.0.3}\n"
		     "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
		     "metadata: {name: web, namespace: default}\n"
		     "spec:\n  host: web\n  subsets:\n  - {name: v1, labels: {version: v1}}\n"
		     "  - {name: v2, labels: {version: v2}}\n"
		     "%s%s"
		     "---\n%s",
		     VIP, *port_name ? "name: " : "", port_name, *port_name ? ", " : "", f->v1.port,
		     *policy ? "  trafficPolicy:\n" : "", policy, extra);
	assert_true(n > 0);
	arena_free(f->a);
	f->a = arena_new();
	if (k8s_decode(f->a, "test.yaml", yaml, strlen(yaml), &res))
		fail_msg("test YAML does not decode: %s", res.err);
	free(yaml);
	assert_true(res.nobjs <= 64);
	for (size_t i = 0; i < res.nobjs; i++)
		objs[i] = &res.objs[i];
	m = model_build(objs, res.nobjs, gen);
	assert_non_null(m);
	assert_non_null(m->routes);
	return m;
}

static struct fx *fx_new_policy(const char *policy, const char *extra)
{
	struct relay_opts o = {0};
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	hbe_start(&f->v1, 1, "127.0.0.2", 0);
	hbe_start(&f->v2, 2, "127.0.0.3", f->v1.port);
	f->snap = snap_new(8, snap_model_free, NULL);
	assert_int_equal(snap_publish(f->snap, fx_model(f, policy, extra, 1)), 0);
	o.listen = "127.0.0.1:0";
	o.workers = 2;
	o.connect_timeout_ms = 1000;
	o.flush_ms = 20;
	o.orig_dst = fx_orig_dst;
	f->relay = relay_new(&o, f->snap);
	assert_non_null(f->relay);
	relay_addr(f->relay, &f->raddr);
	f->port = ntohs(f->raddr.sin_port);
	assert_int_equal(relay_start(f->relay), 0);
	return f;
}

static struct fx *fx_new(const char *extra)
{
	return fx_new_policy("", extra);
}

static void fx_free(struct fx *f)
{
	relay_free(f->relay);
	hbe_stop(&f->v1);
	hbe_stop(&f->v2);
	snap_free(f->snap);
	arena_free(f->a);
	free(f);
}

static const char vs_jason[] =
    "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
    "metadata: {name: web, namespace: default}\n"
    "spec:\n  hosts: [web]\n  http:\n"
    "  - match: [{headers: {end-user: {exact: jason}}}]\n"
    "    route: [{destination: {host: web, subset: v2}}]\n"
    "  - match: [{uri: {prefix: /old/}}]\n"
    "    rewrite: {uri: /}\n"
    "    route: [{destination: {host: web, subset: v1}}]\n"
    "  - match: [{uri: {exact: /moved}}]\n"
    "    redirect: {uri: /id, redirectCode: 302}\n"
    "  - match: [{uri: {exact: /teapot}}]\n"
    "    fault: {abort: {httpStatus: 418, percentage: {value: 100}}}\n"
    "    route: [{destination: {host: web, subset: v1}}]\n"
    "  - match: [{uri: {exact: /slow}}]\n"
    "    timeout: 0.3s\n"
    "    route: [{destination: {host: web, subset: v1}}]\n"
    "  - match: [{uri: {prefix: /flaky}}]\n"
    "    retries: {attempts: 3, retryOn: 5xx}\n"
    "    route: [{destination: {host: web, subset: v1}}]\n"
    "  - match: [{uri: {prefix: /nowhere}}]\n"
    "    route: [{destination: {host: web, subset: v9}}]\n"
    "  - match: [{uri: {prefix: /id}}]\n"
    "    headers: {response: {set: {x-route: id}}, request: {add: {x-added: yes}}}\n"
    "    route: [{destination: {host: web, subset: v1}}]\n";

static void test_route_header_match(void **state)
{
	struct fx *f = fx_new(vs_jason);
	char *out;

	/* Ten requests on one connection each way: the route is chosen per request. */
	out = httpfx_curl("-H 'end-user: jason' http://127.0.0.1:%u/x http://127.0.0.1:%u/x "
			  "http://127.0.0.1:%u/x",
			  f->port, f->port, f->port);
	assert_int_equal(httpfx_count(out, "backend 2\n"), 3);
	free(out);
	out = httpfx_curl("http://127.0.0.1:%u/id http://127.0.0.1:%u/id", f->port, f->port);
	assert_int_equal(httpfx_count(out, "backend 1\n"), 2);
	free(out);
	/* Nothing matched (no catch-all): 404 with NR. */
	out = httpfx_curl("-o /dev/null -w '%%{http_code}' http://127.0.0.1:%u/other", f->port);
	assert_string_equal(out, "404");
	free(out);
	assert_int_equal(atomic_load(&f->v2.requests), 3);
	assert_int_equal(atomic_load(&f->v1.requests), 2);
	fx_free(f);
}

static void test_route_transforms(void **state)
{
	struct fx *f = fx_new(vs_jason);
	char *out;

	/* Prefix rewrite: /old/hdr/x-added reaches the backend as /hdr/x-added. */
	out = httpfx_curl("http://127.0.0.1:%u/old/hdr/x-forwarded-proto", f->port);
	assert_string_equal(out, "http");
	free(out);
	/* Request header added, response header set. */
	out = httpfx_curl("-D - -o /dev/null http://127.0.0.1:%u/id", f->port);
	assert_non_null(strstr(out, "x-route: id"));
	free(out);
	/* Redirect answered by the agent. */
	out = httpfx_curl(
	    "-o /dev/null -w '%%{http_code} %%{redirect_url}' http://127.0.0.1:%u/moved", f->port);
	assert_int_equal(strncmp(out, "302 http://127.0.0.1:", 21), 0);
	assert_non_null(strstr(out, "/id"));
	free(out);
	/* Fault abort: no backend sees it. */
	out = httpfx_curl("-o /dev/null -w '%%{http_code}' http://127.0.0.1:%u/teapot", f->port);
	assert_string_equal(out, "418");
	free(out);
	/* A subset no rule defines: 503. */
	out = httpfx_curl("-o /dev/null -w '%%{http_code}' http://127.0.0.1:%u/nowhere", f->port);
	assert_string_equal(out, "503");
	free(out);
	assert_int_equal(atomic_load(&f->v1.requests) + atomic_load(&f->v2.requests), 2);
	fx_free(f);
}

static void test_route_timeout_and_retries(void **state)
{
	struct fx *f = fx_new(vs_jason);
	struct relay_stats rs;
	char *out;

	/* The backend takes 1.5 s; the route allows 0.3 s. */
	out = httpfx_curl("-w ' %%{http_code}' http://127.0.0.1:%u/slow", f->port);
	assert_string_equal(out, "upstream request timeout 504");
	free(out);
	/* Three 503s hidden by three retries on 5xx. */
	atomic_store(&f->v1.fail_next, 3);
	out = httpfx_curl("-w ' %%{http_code}' http://127.0.0.1:%u/flaky", f->port);
	assert_string_equal(out, "backend 1\n 200");
	free(out);
	relay_stats(f->relay, &rs);
	assert_int_equal(rs.http_retries, 3);
	assert_int_equal(rs.http_timeouts, 1);
	fx_free(f);
}

static void test_route_weighted(void **state)
{
	struct fx *f = fx_new("apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
			      "metadata: {name: web, namespace: default}\n"
			      "spec:\n  hosts: [web.default.svc.cluster.local]\n  http:\n"
			      "  - route:\n"
			      "    - {destination: {host: web, subset: v1}, weight: 50}\n"
			      "    - {destination: {host: web, subset: v2}, weight: 50}\n");
	char urls[8192];
	size_t off = 0;
	unsigned v1, v2;
	char *out;

	for (int i = 0; i < 200; i++)
		off += (size_t)snprintf(urls + off, sizeof(urls) - off, "http://127.0.0.1:%u/id ",
					f->port);
	out = httpfx_curl("%s", urls);
	v1 = httpfx_count(out, "backend 1\n");
	v2 = httpfx_count(out, "backend 2\n");
	free(out);
	assert_int_equal(v1 + v2, 200);
	/* Binomial(200, 0.5): 4.2 sigma is 30 either side of 100. */
	assert_true(v1 >= 70 && v1 <= 130);
	fx_free(f);
}

static void test_route_ratelimit(void **state)
{
	struct fx *f = fx_new("apiVersion: weir.dev/v1alpha1\nkind: RateLimit\n"
			      "metadata: {name: web, namespace: default}\n"
			      "spec:\n  targetRef: {kind: Service, name: web}\n"
			      "  maxTokens: 3\n  tokensPerFill: 3\n  fillInterval: 60s\n");
	char urls[1024];
	size_t off = 0;
	char *out;

	for (int i = 0; i < 5; i++)
		off += (size_t)snprintf(urls + off, sizeof(urls) - off,
					"-o /dev/null -w '%%{http_code} ' http://127.0.0.1:%u/id ",
					f->port);
	out = httpfx_curl("%s", urls);
	assert_string_equal(out, "200 200 200 429 429 ");
	free(out);
	out = httpfx_curl("-D - -o /dev/null http://127.0.0.1:%u/id", f->port);
	assert_non_null(strstr(out, "x-ratelimit-limit: 3"));
	assert_non_null(strstr(out, "x-ratelimit-remaining: 0"));
	free(out);
	assert_int_equal(atomic_load(&f->v1.requests) + atomic_load(&f->v2.requests), 3);
	fx_free(f);
}

static void test_route_circuit_breaker(void **state)
{
	struct fx *f = fx_new_policy("    connectionPool:\n      tcp: {maxConnections: 1}\n"
				     "      http: {http1MaxPendingRequests: 1}\n",
				     "");
	char urls[1024];
	size_t off = 0;
	char *out;

	/* Four slow requests at once: one goes, one waits, two overflow (UO). */
	for (int i = 0; i < 4; i++)
		off += (size_t)snprintf(
		    urls + off, sizeof(urls) - off,
		    "-o /dev/null -w '%%{http_code} ' http://127.0.0.1:%u/slow ", f->port);
	out = httpfx_curl("-Z --parallel-immediate --parallel-max 4 %s", urls);
	assert_int_equal(httpfx_count(out, "200 "), 2);
	assert_int_equal(httpfx_count(out, "503 "), 2);
	free(out);
	fx_free(f);
}

static void test_route_mirror(void **state)
{
	struct fx *f = fx_new("apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
			      "metadata: {name: web, namespace: default}\n"
			      "spec:\n  hosts: [web]\n  http:\n"
			      "  - route: [{destination: {host: web, subset: v1}}]\n"
			      "    mirror: {host: web, subset: v2}\n");
	char *out;

	/* The client sees v1 only; v2 gets a copy of each request (its answer is dropped). */
	out = httpfx_curl("http://127.0.0.1:%u/id http://127.0.0.1:%u/id http://127.0.0.1:%u/id "
			  "-d hello http://127.0.0.1:%u/echo",
			  f->port, f->port, f->port, f->port);
	assert_string_equal(out, "backend 1\nbackend 1\nbackend 1\nhello");
	free(out);
	for (int i = 0; i < 200 && atomic_load(&f->v2.requests) < 4; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&f->v2.requests), 4);
	assert_int_equal(atomic_load(&f->v1.requests), 4);
	fx_free(f);
}

/* A port without a name or appProtocol: HTTP is found by its first bytes, anything else is
 * relayed as TCP. */
static void test_route_sniffed(void **state)
{
	struct fx *f;
	char *out, cmd[256];
	FILE *p;
	char buf[256] = "";
	size_t n;

	port_name = "";
	f = fx_new(vs_jason);
	out =
	    httpfx_curl("-H 'end-user: jason' http://127.0.0.1:%u/x --next http://127.0.0.1:%u/id",
			f->port, f->port);
	/* Routed per request: jason's request to v2, the next one (no header) to v1. */
	assert_string_equal(out, "backend 2\nbackend 1\n");
	free(out);
	/* Not HTTP: passed through as bytes, so the backend's own status line comes back
	 * unchanged (the HTTP proxy would have written "200 OK"). */
	snprintf(cmd, sizeof(cmd),
		 "printf '@@@ x y\\r\\n\\r\\n' | timeout 5 /usr/bin/python3 -c "
		 "\"import socket,sys; s=socket.create_connection(('127.0.0.1',%u)); "
		 "s.sendall(sys.stdin.buffer.read()); print(s.recv(100).decode())\"",
		 f->port);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	pclose(p);
	assert_int_equal(strncmp(buf, "HTTP/1.1 200 X", 14), 0);
	port_name = "http";
	fx_free(f);
}

/* A TCP port: the VirtualService's tcp[] route picks the subset; bytes pass as they are. */
static void test_route_tcp(void **state)
{
	struct fx *f;
	char *out;

	port_name = "tcp";
	f = fx_new("apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
		   "metadata: {name: web, namespace: default}\n"
		   "spec:\n  hosts: [web]\n  tcp:\n"
		   "  - route: [{destination: {host: web, subset: v2}}]\n");
	/* Three connections, each to v2; the backend's own status line comes back. */
	out = httpfx_curl("-i http://127.0.0.1:%u/id --next -i http://127.0.0.1:%u/id --next -i "
			  "http://127.0.0.1:%u/id",
			  f->port, f->port, f->port);
	assert_int_equal(httpfx_count(out, "HTTP/1.1 200 X"), 3);
	assert_int_equal(httpfx_count(out, "backend 2\n"), 3);
	free(out);
	assert_int_equal(atomic_load(&f->v1.requests), 0);
	port_name = "http";
	fx_free(f);
}

/*
 * A large table of one-header routes (one per tenant) is indexed: the answers are the
 * scan's (first route of a value wins, a repeated header is compared joined, the routes
 * after the run still apply).
 */
static void test_route_indexed_run(void **state)
{
	char *vs = NULL, *out;
	size_t len = 0;
	FILE *mf = open_memstream(&vs, &len);
	const struct model *m;
	struct fx *f;

	assert_non_null(mf);
	fprintf(mf, "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
		    "metadata: {name: web, namespace: default}\n"
		    "spec:\n  hosts: [web]\n  http:\n");
	for (int i = 0; i < 300; i++)
		fprintf(mf,
			"  - match: [{headers: {x-tenant: {exact: t%d}}}]\n"
			"    route: [{destination: {host: web, subset: %s}}]\n",
			i == 250 ? 7 : i, i == 150 || i == 250 ? "v2" : "v1");
	fprintf(mf, "  - route: [{destination: {host: web, subset: v2}}]\n"
		    "    headers: {response: {set: {x-route: catch-all}}}\n");
	fclose(mf);
	f = fx_new(vs);
	free(vs);
	m = snap_get(f->snap);
	assert_int_equal(m->routes->tables[0].nruns, 1);
	assert_int_equal(m->routes->tables[0].runs[0].end - m->routes->tables[0].runs[0].start,
			 300);
	/* t150 -> v2; t7 -> v1 (its first route, not the later duplicate to v2); t42 -> v1. */
	out = httpfx_curl("-H 'x-tenant: t150' http://127.0.0.1:%u/id --next -H 'x-tenant: t7' "
			  "http://127.0.0.1:%u/id --next -H 'x-tenant: t42' http://127.0.0.1:%u/id",
			  f->port, f->port, f->port);
	assert_string_equal(out, "backend 2\nbackend 1\nbackend 1\n");
	free(out);
	/* No tenant, an unknown one, or the header twice ("t1,t2" matches no route): the
	 * catch-all after the run. */
	out = httpfx_curl("-D - -o /dev/null -H 'x-tenant: t1' -H 'x-tenant: t2' "
			  "http://127.0.0.1:%u/id",
			  f->port);
	assert_non_null(strstr(out, "x-route: catch-all"));
	free(out);
	out = httpfx_curl(
	    "http://127.0.0.1:%u/id --next -H 'x-tenant: nobody' http://127.0.0.1:%u/id", f->port,
	    f->port);
	assert_string_equal(out, "backend 2\nbackend 2\n");
	free(out);
	fx_free(f);
}

/* connectionPool.http.maxRequestsPerConnection: 1 means a new upstream connection each. */
static void test_route_max_requests_per_conn(void **state)
{
	struct fx *f =
	    fx_new_policy("    connectionPool:\n      http: {maxRequestsPerConnection: 1}\n", "");
	char *out;

	out = httpfx_curl("http://127.0.0.1:%u/id http://127.0.0.1:%u/id http://127.0.0.1:%u/id "
			  "http://127.0.0.1:%u/id",
			  f->port, f->port, f->port, f->port);
	assert_int_equal(httpfx_count(out, "backend "), 4);
	free(out);
	/* Every request on a connection of its own, whichever backend. */
	assert_int_equal(atomic_load(&f->v1.conns) + atomic_load(&f->v2.conns), 4);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_header_match),
	    cmocka_unit_test(test_route_transforms),
	    cmocka_unit_test(test_route_timeout_and_retries),
	    cmocka_unit_test(test_route_weighted),
	    cmocka_unit_test(test_route_ratelimit),
	    cmocka_unit_test(test_route_circuit_breaker),
	    cmocka_unit_test(test_route_mirror),
	    cmocka_unit_test(test_route_sniffed),
	    cmocka_unit_test(test_route_tcp),
	    cmocka_unit_test(test_route_indexed_run),
	    cmocka_unit_test(test_route_max_requests_per_conn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
