// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the route compiler (model/route.c, route_vs.c): Istio's bookinfo traffic
 * tasks (tests/unit/testdata, written after Istio's samples/bookinfo/networking files) and
 * the circuit breaking task's httpbin rule, compiled against deploy/samples/bookinfo, with
 * the tables, clusters, members, weights and policies asserted; then host forms, the choice
 * among several VirtualServices, exportTo, ports, policy merging, the weir kinds, protocol
 * detection and compile errors. Run from the repository root (tests/run.sh does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weir/service.h>

#include "lib/arena.h"
#include "lib/log.h"
#include "lib/regex.h"
#include "config/k8s.h"
#include "model/model.h"
#include "model/route.h"

#define MAX_SRC	 8
#define BOOKINFO "deploy/samples/bookinfo/bookinfo.yaml"
#define PODS	 "tests/unit/testdata/bookinfo-pods.yaml"
#define TD	 "tests/unit/testdata/"

/* The arenas of the decoded sources and the snapshot built from them. */
struct fixture {
	struct arena *a[MAX_SRC];
	struct model *m;
};

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct fixture));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	size_t i;

	model_free(f->m);
	for (i = 0; i < MAX_SRC; i++)
		arena_free(f->a[i]);
	free(f);
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (!fp)
		fail_msg("%s: cannot open (run from the repository root)", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/*
 * Builds a snapshot from sources (file paths, or inline YAML when they start with "@"),
 * in priority order: an object of an earlier source wins over a same-named later one.
 */
static const struct model *build(struct fixture *f, const char *const *srcs)
{
	const struct k8s_object *objs[512];
	size_t n = 0, i, j, len;

	model_free(f->m);
	f->m = NULL;
	for (i = 0; srcs[i]; i++) {
		struct k8s_result res;
		char *buf;

		assert_true(i < MAX_SRC);
		arena_free(f->a[i]);
		f->a[i] = arena_new();
		assert_non_null(f->a[i]);
		if (srcs[i][0] == '@') {
			buf = strdup(srcs[i] + 1);
			assert_non_null(buf);
			len = strlen(buf);
		} else {
			buf = slurp(srcs[i], &len);
		}
		if (k8s_decode(f->a[i], srcs[i][0] == '@' ? "inline.yaml" : srcs[i], buf, len,
			       &res))
			fail_msg("%s does not decode: %s", srcs[i], res.err);
		free(buf);
		for (j = 0; j < res.nobjs; j++) {
			assert_true(n < 512);
			objs[n++] = &res.objs[j];
		}
	}
	f->m = model_build(objs, n, 1);
	assert_non_null(f->m);
	assert_non_null(f->m->routes);
	return f->m;
}

static const struct model_service *svc(const struct model *m, const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < m->nservices; i++)
		if (!strcmp(m->services[i].ns, ns) && !strcmp(m->services[i].name, name))
			return &m->services[i];
	fail_msg("no Service %s/%s", ns, name);
	return NULL;
}

/* The table of <name> (namespace default) port <port>, through route_table_find(). */
static const struct route_table *table(const struct model *m, const char *name, uint16_t port)
{
	const struct model_service *s = svc(m, "default", name);
	const struct route_table *t;
	size_t i;

	for (i = 0; i < s->nports; i++)
		if (s->ports[i].port == port)
			break;
	assert_true(i < s->nports);
	t = route_table_find(m->routes, s, &s->ports[i]);
	assert_non_null(t);
	assert_ptr_equal(t->svc, s);
	assert_ptr_equal(t->port, &s->ports[i]);
	return t;
}

static const struct route_cluster *cluster(const struct model *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->routes->nclusters; i++)
		if (!strcmp(m->routes->clusters[i].name, name)) {
			assert_int_equal(m->routes->clusters[i].id, i);
			return &m->routes->clusters[i];
		}
	fail_msg("no cluster %s", name);
	return NULL;
}

/* The members of <cl> as "ip:port" joined by spaces. */
static const char *members(const struct route_cluster *cl)
{
	static char buf[512];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < cl->neps; i++) {
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &cl->eps[i]->ip, ip, sizeof(ip));
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s:%u", i ? " " : "", ip,
				      cl->eps[i]->port);
	}
	return buf;
}

#define CL(subset, host) "outbound|9080|" subset "|" host ".default.svc.cluster.local"

/* Asserts that route <h> sends everything to one cluster <name> with members <eps>. */
static void assert_one_dest(const struct route_http *h, const char *name, const char *eps)
{
	assert_int_equal(h->ndests, 1);
	assert_int_equal(h->dests[0].weight, 100);
	assert_int_equal(h->total_weight, 100);
	assert_string_equal(h->dests[0].cluster->name, name);
	assert_string_equal(members(h->dests[0].cluster), eps);
	assert_false(h->dests[0].cluster->subset_unknown);
}

/* Istio's default retry policy, for routes that set none. */
static void assert_default_retry(const struct route_retry *r)
{
	assert_int_equal(r->attempts, 2);
	assert_int_equal(r->on, ROUTE_RETRY_CONNECT_FAILURE | ROUTE_RETRY_REFUSED_STREAM |
				    ROUTE_RETRY_GRPC_UNAVAILABLE | ROUTE_RETRY_GRPC_CANCELLED |
				    ROUTE_RETRY_RETRIABLE_CODES);
	assert_int_equal(r->ncodes, 1);
	assert_int_equal(r->codes[0], 503);
}

/* --- bookinfo ------------------------------------------------------------------------- */

static void test_route_all_v1(void **state)
{
	static const struct {
		const char *svc, *cluster, *eps;
	} want[] = {
	    {"productpage", CL("v1", "productpage"), "10.1.0.40:9080"},
	    {"reviews", CL("v1", "reviews"), "10.1.0.31:9080"},
	    {"ratings", CL("v1", "ratings"), "10.1.0.20:9080"},
	    {"details", CL("v1", "details"), "10.1.0.10:9080"},
	};
	const char *srcs[] = {TD "virtual-service-all-v1.yaml", TD "destination-rule-all.yaml",
			      BOOKINFO, PODS, NULL};
	const struct model *m = build(*state, srcs);
	char vs[64];
	size_t i;

	assert_int_equal(m->routes->errors, 0);
	assert_int_equal(m->routes->ntables, 4);
	for (i = 0; i < 4; i++) {
		const struct route_table *t = table(m, want[i].svc, 9080);

		assert_int_equal(t->proto, ROUTE_PROTO_HTTP); /* port name "http" */
		assert_true(t->agent);
		assert_int_equal(svc(m, "default", want[i].svc)->mode, WEIR_MODE_AGENT);
		assert_int_equal(t->nhttp, 1);
		assert_int_equal(t->ntcp, 0);
		assert_int_equal(t->http[0]->nmatches, 0);
		snprintf(vs, sizeof(vs), "default/%s", want[i].svc);
		assert_string_equal(t->http[0]->vs, vs);
		assert_one_dest(t->http[0], want[i].cluster, want[i].eps);
		assert_default_retry(&t->http[0]->retry);
		assert_int_equal(t->http[0]->timeout_ms, 0);
		assert_null(t->http[0]->fault);
		assert_null(t->http[0]->export_ns);
		/* The default cluster is the whole port, with every endpoint. */
		assert_null(t->dflt->subset);
		assert_string_equal(t->dflt->policy.dr, t->http[0]->vs); /* DR of the same name */
	}
	/* Every subset of destination-rule-all has a cluster; those without Pods are empty. */
	assert_int_equal(m->routes->nclusters, 4 + 1 + 3 + 4 + 2);
	assert_string_equal(members(cluster(m, CL("", "reviews"))),
			    "10.1.0.31:9080 10.1.0.32:9080 10.1.0.33:9080");
	assert_string_equal(members(cluster(m, CL("v3", "reviews"))), "10.1.0.33:9080");
	assert_int_equal(cluster(m, CL("v2-mysql", "ratings"))->neps, 0);
	assert_false(cluster(m, CL("v2-mysql", "ratings"))->subset_unknown);
	assert_int_equal(cluster(m, CL("v2", "details"))->neps, 0);
	assert_string_equal(cluster(m, CL("v2", "reviews"))->subset_labels[0].value, "v2");
}

static void test_route_all_v1_without_rules(void **state)
{
	const char *srcs[] = {TD "virtual-service-all-v1.yaml", BOOKINFO, PODS, NULL};
	const struct model *m = build(*state, srcs);
	const struct route_table *t = table(m, "reviews", 9080);

	/* No DestinationRule defines v1: the route still compiles, to a cluster that the
	 * router answers 503 (UH) for. */
	assert_int_equal(m->routes->errors, 0);
	assert_int_equal(t->nhttp, 1);
	assert_true(t->http[0]->dests[0].cluster->subset_unknown);
	assert_int_equal(t->http[0]->dests[0].cluster->neps, 0);
	assert_null(t->dflt->policy.dr);
	assert_true(t->agent);
}

static void test_route_reviews_50_v3(void **state)
{
	const char *srcs[] = {TD "virtual-service-reviews-50-v3.yaml",
			      TD "virtual-service-all-v1.yaml",
			      TD "destination-rule-all.yaml",
			      BOOKINFO,
			      PODS,
			      NULL};
	const struct model *m = build(*state, srcs);
	const struct route_table *t = table(m, "reviews", 9080);
	const struct route_http *h;

	assert_int_equal(t->nhttp, 1);
	h = t->http[0];
	assert_int_equal(h->ndests, 2);
	assert_int_equal(h->total_weight, 100);
	assert_int_equal(h->dests[0].weight, 50);
	assert_int_equal(h->dests[1].weight, 50);
	assert_string_equal(h->dests[0].cluster->name, CL("v1", "reviews"));
	assert_string_equal(h->dests[1].cluster->name, CL("v3", "reviews"));
	assert_string_equal(members(h->dests[1].cluster), "10.1.0.33:9080");
	/* The clusters are the snapshot's: the same pointers as in its cluster list. */
	assert_ptr_equal(h->dests[1].cluster, cluster(m, CL("v3", "reviews")));
}

static void test_route_reviews_test_v2(void **state)
{
	const char *srcs[] = {TD "virtual-service-reviews-test-v2.yaml",
			      TD "destination-rule-all.yaml", BOOKINFO, PODS, NULL};
	const struct model *m = build(*state, srcs);
	const struct route_table *t = table(m, "reviews", 9080);
	const struct route_match *mt;

	assert_int_equal(t->nhttp, 2);
	assert_int_equal(t->http[0]->nmatches, 1);
	mt = &t->http[0]->matches[0];
	assert_int_equal(mt->nheaders, 1);
	assert_string_equal(mt->headers[0].name, "end-user");
	assert_int_equal(mt->headers[0].match.kind, ROUTE_STR_EXACT);
	assert_string_equal(mt->headers[0].match.value, "jason");
	assert_int_equal(mt->headers[0].match.len, 5);
	assert_false(mt->headers[0].absent);
	assert_int_equal(mt->uri.kind, ROUTE_STR_ANY);
	assert_one_dest(t->http[0], CL("v2", "reviews"), "10.1.0.32:9080");
	assert_int_equal(t->http[1]->nmatches, 0);
	assert_one_dest(t->http[1], CL("v1", "reviews"), "10.1.0.31:9080");
	assert_string_equal(t->http[1]->name, "default/reviews/1"); /* unnamed: vs/index */
	/* Services without a rule keep the default route and the kernel path. */
	assert_int_equal(table(m, "details", 9080)->nhttp, 0);
	assert_false(table(m, "details", 9080)->agent);
	assert_int_equal(svc(m, "default", "details")->mode, WEIR_MODE_KERNEL);
}

static void test_route_ratings_faults(void **state)
{
	const char *delay[] = {TD "virtual-service-ratings-test-delay.yaml",
			       TD "destination-rule-all.yaml", BOOKINFO, PODS, NULL};
	const char *abort_[] = {TD "virtual-service-ratings-test-abort.yaml",
				TD "destination-rule-all.yaml", BOOKINFO, PODS, NULL};
	const struct route_table *t;
	const struct route_fault *f;

	t = table(build(*state, delay), "ratings", 9080);
	assert_int_equal(t->nhttp, 2);
	f = t->http[0]->fault;
	assert_non_null(f);
	assert_int_equal(f->delay_ms, 7000);
	assert_int_equal(f->delay_ppm, 1000000);
	assert_int_equal(f->abort_ppm, 0);
	assert_null(t->http[1]->fault);
	assert_one_dest(t->http[0], CL("v1", "ratings"), "10.1.0.20:9080");

	t = table(build(*state, abort_), "ratings", 9080);
	f = t->http[0]->fault;
	assert_non_null(f);
	assert_int_equal(f->abort_http, 500);
	assert_int_equal(f->abort_ppm, 1000000);
	assert_int_equal(f->delay_ppm, 0);
	assert_false(f->abort_is_grpc);
	assert_string_equal(t->http[0]->matches[0].headers[0].match.value, "jason");
}

static void test_route_httpbin_circuit_breaker(void **state)
{
	const char *srcs[] = {TD "destination-rule-httpbin-cb.yaml", TD "httpbin.yaml", NULL};
	const struct model *m = build(*state, srcs);
	const struct route_table *t = table(m, "httpbin", 8000);
	const struct route_policy *p = &t->dflt->policy;

	assert_int_equal(t->nhttp, 0);
	assert_true(t->agent); /* a policy alone takes the agent path */
	assert_int_equal(svc(m, "default", "httpbin")->mode, WEIR_MODE_AGENT);
	assert_string_equal(t->dflt->name, "outbound|8000||httpbin.default.svc.cluster.local");
	assert_string_equal(members(t->dflt), "10.1.0.50:8080");
	assert_string_equal(p->dr, "default/httpbin");
	assert_int_equal(p->pool.max_connections, 1);
	assert_int_equal(p->pool.http1_max_pending, 1);
	assert_int_equal(p->pool.max_requests_per_conn, 1);
	assert_int_equal(p->pool.http2_max_requests, 0); /* Istio's default */
	assert_true(p->outlier.enabled);
	assert_int_equal(p->outlier.consecutive_5xx, 1);
	assert_int_equal(p->outlier.interval_ms, 1000);
	assert_int_equal(p->outlier.base_ejection_ms, 180000);
	assert_int_equal(p->outlier.max_ejection_percent, 100);
	assert_int_equal(p->lb.policy, ROUTE_LB_DEFAULT);
	assert_int_equal(m->routes->nclusters, 1);
}

/* --- rules of resolution -------------------------------------------------------------- */

/* A two-port Service "web" in namespace shop with Pods of two versions, and a client ns. */
#define WEB                                                                                        \
	"@apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"                 \
	"spec:\n  clusterIP: 10.96.0.20\n  selector: {app: web}\n  ports:\n"                       \
	"  - {name: http-main, port: 80, targetPort: 8080}\n"                                      \
	"  - {name: grpc-api, port: 9090}\n"                                                       \
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: shop, labels: "        \
	"{app: web, version: v1}}\nspec: {containers: [{name: c, ports: [{containerPort: "         \
	"8080}, {containerPort: 9090}]}]}\nstatus: {podIP: 10.1.1.1}\n"                            \
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-2, namespace: shop, labels: "        \
	"{app: web, version: v2}}\nspec: {containers: [{name: c, ports: [{containerPort: "         \
	"8080}, {containerPort: 9090}]}]}\nstatus: {podIP: 10.1.1.2}\n"

/* A VirtualService <name> in <ns> for host <host> created at <ts>, routing to subset <sub>. */
#define VS(name, ns, ts, host, sub)                                                                \
	"---\napiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: "           \
	"{name: " name ", namespace: " ns ", creationTimestamp: \"" ts                             \
	"\"}\nspec:\n  hosts: [\"" host                                                            \
	"\"]\n  http:\n  - route:\n    - destination: {host: web.shop.svc.cluster.local, "         \
	"subset: " sub "}\n"

static const struct route_table *web_table(const struct model *m, uint16_t port)
{
	const struct model_service *s = svc(m, "shop", "web");
	size_t i;

	for (i = 0; i < s->nports; i++)
		if (s->ports[i].port == port)
			return route_table_find(m->routes, s, &s->ports[i]);
	fail_msg("no port %u", port);
	return NULL;
}

static void test_route_host_forms(void **state)
{
	static const char *const hosts[] = {"web",
					    "web.shop",
					    "web.shop.svc",
					    "web.shop.svc.cluster.local",
					    "*.shop.svc.cluster.local",
					    "*"};
	char doc[1024];
	size_t i;

	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		const char *srcs[] = {doc, WEB, NULL};
		const struct route_table *t;

		snprintf(doc, sizeof(doc), "@" VS("v", "shop", "", "%s", "v2"), hosts[i]);
		t = web_table(build(*state, srcs), 80);
		assert_int_equal(t->nhttp, 1);
		assert_string_equal(t->http[0]->dests[0].cluster->name,
				    "outbound|80|v2|web.shop.svc.cluster.local");
	}
	/* A short name is in the rule's own namespace: from another namespace it is not web. */
	{
		const char *srcs[] = {"@" VS("v", "other", "", "web", "v2"), WEB, NULL};

		assert_int_equal(web_table(build(*state, srcs), 80)->nhttp, 0);
	}
}

static void test_route_vs_precedence(void **state)
{
	/* Oldest wins; the exact name beats a wildcard however old; equal times: file order. */
	const char *older[] = {"@" VS("b", "shop", "2024-01-02T00:00:00Z", "web", "v2")
				   VS("a", "shop", "2024-01-01T00:00:00Z", "web", "v1"),
			       WEB, NULL};
	const char *exact[] = {"@" VS("a", "shop", "2020-01-01T00:00:00Z", "*", "v1")
				   VS("b", "shop", "2024-01-01T00:00:00Z", "web", "v2"),
			       WEB, NULL};
	const char *order[] = {"@" VS("b", "shop", "2024-01-01T00:00:00Z", "web", "v2")
				   VS("a", "shop", "2024-01-01T00:00:00Z", "web", "v1"),
			       WEB, NULL};
	const struct route_table *t;

	t = web_table(build(*state, older), 80);
	assert_int_equal(t->nhttp, 1);
	assert_string_equal(t->http[0]->vs, "shop/a");
	t = web_table(build(*state, exact), 80);
	assert_string_equal(t->http[0]->vs, "shop/b");
	t = web_table(build(*state, order), 80);
	assert_string_equal(t->http[0]->vs, "shop/b");
}

static void test_route_export_gateways_ports(void **state)
{
	const char *srcs[] = {
	    "@apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\n"
	    "metadata: {name: a, namespace: shop}\nspec:\n  hosts: [web]\n"
	    "  exportTo: [\".\", team]\n  http:\n"
	    "  - name: grpc-only\n    match: [{port: 9090, ignoreUriCase: true, uri: {regex: "
	    "\"/API/.*\"}}]\n"
	    "    route: [{destination: {host: web, port: {number: 9090}}}]\n"
	    "  - name: all\n    timeout: 1.5s\n"
	    "    retries: {attempts: 3, perTryTimeout: 500ms, retryOn: \"5xx,reset,409\"}\n"
	    "    route: [{destination: {host: web}}]\n"
	    "  tcp:\n  - match: [{port: 9090}]\n    route: [{destination: {host: web}}]\n"
	    "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"
	    "metadata: {name: gw, namespace: shop}\nspec:\n  hosts: [\"*\"]\n"
	    "  gateways: [shop/ingress]\n  http: [{route: [{destination: {host: web}}]}]\n",
	    WEB, NULL};
	const struct model *m = build(*state, srcs);
	const struct route_table *t80 = web_table(m, 80), *t90 = web_table(m, 9090);
	const struct route_http *h;

	assert_int_equal(m->routes->errors, 0);
	assert_int_equal(t80->proto, ROUTE_PROTO_HTTP);
	assert_int_equal(t90->proto, ROUTE_PROTO_GRPC);
	/* Port 80 has only the route without a port match; the gateway-only VS is ignored. */
	assert_int_equal(t80->nhttp, 1);
	h = t80->http[0];
	assert_string_equal(h->name, "all");
	assert_string_equal(h->vs, "shop/a");
	assert_int_equal(h->timeout_ms, 1500);
	assert_int_equal(h->retry.attempts, 3);
	assert_int_equal(h->retry.per_try_timeout_ms, 500);
	assert_int_equal(h->retry.on,
			 ROUTE_RETRY_5XX | ROUTE_RETRY_RESET | ROUTE_RETRY_RETRIABLE_CODES);
	assert_int_equal(h->retry.ncodes, 1);
	assert_int_equal(h->retry.codes[0], 409);
	/* No port on the destination: the table's own port. */
	assert_string_equal(h->dests[0].cluster->name, "outbound|80||web.shop.svc.cluster.local");
	assert_string_equal(members(h->dests[0].cluster), "10.1.1.1:8080 10.1.1.2:8080");
	assert_int_equal(h->nexport_ns, 2);
	assert_string_equal(h->export_ns[0], "shop");
	assert_string_equal(h->export_ns[1], "team");
	assert_int_equal(t80->ntcp, 0);
	/* Port 9090 (grpc) has both http routes, the match kept; tcp[] is not for HTTP ports. */
	assert_int_equal(t90->nhttp, 2);
	assert_string_equal(t90->http[0]->name, "grpc-only");
	assert_int_equal(t90->http[0]->nmatches, 1);
	assert_int_equal(t90->http[0]->matches[0].port, 9090);
	/* ignoreUriCase makes the compiled regex case-insensitive. */
	assert_int_equal(t90->http[0]->matches[0].uri.kind, ROUTE_STR_REGEX);
	assert_true(t90->http[0]->matches[0].uri.ignore_case);
	assert_true(regex_full_match(t90->http[0]->matches[0].uri.re, "/api/x", 6));
	assert_false(regex_full_match(t90->http[0]->matches[0].uri.re, "/apx/x", 6));
	assert_string_equal(t90->http[0]->dests[0].cluster->name,
			    "outbound|9090||web.shop.svc.cluster.local");
	assert_int_equal(t90->ntcp, 0);
}

/* The optional parts of an http route reach the table intact (copied out of the objects). */
static void test_route_http_parts(void **state)
{
	const char *srcs[] = {
	    "@apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
	    "metadata: {name: p, namespace: shop}\nspec:\n  hosts: [web]\n  http:\n"
	    "  - match: [{uri: {exact: /old}}]\n"
	    "    redirect: {uri: /new, authority: a.example, redirectCode: 302}\n"
	    "  - match: [{uri: {prefix: /tea}, queryParams: {Kind: {regex: \"gr[e]en\"}}}]\n"
	    "    directResponse: {status: 418, body: {string: teapot}}\n"
	    "  - rewrite: {uriRegexRewrite: {match: \"^/v1/(.*)\", rewrite: \"/v2/\\\\1\"}}\n"
	    "    mirror: {host: web, subset: v2}\n    mirrorPercentage: {value: 2.5}\n"
	    "    retries: {attempts: 0}\n"
	    "    headers: {request: {set: {X-Env: prod}, remove: [X-Debug]}}\n"
	    "    route: [{destination: {host: web, subset: v1}, headers: {response: {add: "
	    "{X-Via: weir}}}}]\n",
	    WEB, NULL};
	const struct model *m = build(*state, srcs);
	const struct route_table *t = web_table(m, 80);
	const struct route_http *h;
	char out[64];

	assert_int_equal(t->nhttp, 3);
	h = t->http[0];
	assert_int_equal(h->ndests, 0);
	assert_string_equal(h->redirect->uri, "/new");
	assert_string_equal(h->redirect->authority, "a.example");
	assert_int_equal(h->redirect->code, 302);
	h = t->http[1];
	assert_int_equal(h->direct_status, 418);
	assert_string_equal(h->direct_body, "teapot");
	assert_int_equal(h->matches[0].uri.kind, ROUTE_STR_PREFIX);
	assert_string_equal(h->matches[0].query[0].name, "Kind"); /* query names keep case */
	assert_true(regex_full_match(h->matches[0].query[0].match.re, "green", 5));
	h = t->http[2];
	assert_non_null(h->rewrite->uri_re);
	assert_int_equal(
	    regex_replace(h->rewrite->uri_re, "/v1/a", 5, h->rewrite->uri_re_sub, out, sizeof(out)),
	    5);
	assert_string_equal(out, "/v2/a");
	assert_string_equal(h->mirror->name, "outbound|80|v2|web.shop.svc.cluster.local");
	assert_true(h->mirror->subset_unknown); /* no DestinationRule defines v2 */
	assert_int_equal(h->mirror_ppm, 25000);
	assert_int_equal(h->retry.attempts, 0); /* retries given: no default policy */
	assert_int_equal(h->retry.on, ROUTE_RETRY_CONNECT_FAILURE | ROUTE_RETRY_REFUSED_STREAM |
					  ROUTE_RETRY_GRPC_UNAVAILABLE |
					  ROUTE_RETRY_GRPC_CANCELLED | ROUTE_RETRY_RETRIABLE_CODES);
	assert_string_equal(h->req.set[0].key, "x-env");
	assert_string_equal(h->req.set[0].value, "prod");
	assert_string_equal(h->req.remove[0], "x-debug");
	assert_string_equal(h->dests[0].resp.add[0].key, "x-via");
	assert_true(t->agent);
}

/* http[] applies to HTTP and sniffed ports, tcp[] and tls[] to TCP, TLS and sniffed ones. */
static void test_route_l4_l7_split(void **state)
{
	const char *srcs[] = {
	    "@apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec:\n  ports:\n"
	    "  - {name: tcp-pg, port: 5432}\n  - {name: web, port: 8080}\n"
	    "  - {name: https, port: 443}\n  - {name: http, port: 80}\n"
	    "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"
	    "metadata: {name: db}\nspec:\n  hosts: [db]\n"
	    "  http: [{route: [{destination: {host: db}}]}]\n"
	    "  tcp: [{route: [{destination: {host: db}, weight: 1}]}]\n"
	    "  tls: [{match: [{port: 443, sniHosts: [db.example]}], route: [{destination: "
	    "{host: db}}]}]\n",
	    NULL};
	const struct model *m = build(*state, srcs);
	const struct route_table *pg = table(m, "db", 5432), *web = table(m, "db", 8080);
	const struct route_table *tls = table(m, "db", 443), *http = table(m, "db", 80);

	assert_int_equal(pg->proto, ROUTE_PROTO_TCP);
	assert_int_equal(pg->nhttp, 0);
	assert_int_equal(pg->ntcp, 1);
	assert_int_equal(pg->tcp[0]->port, 0);		    /* no match: any port */
	assert_int_equal(pg->tcp[0]->dests[0].weight, 100); /* a lone destination */
	assert_string_equal(pg->tcp[0]->dests[0].cluster->name,
			    "outbound|5432||db.default.svc.cluster.local");
	assert_true(pg->agent);
	assert_int_equal(web->proto, ROUTE_PROTO_SNIFF);
	assert_int_equal(web->nhttp, 1);
	assert_int_equal(web->ntcp, 1);
	assert_int_equal(tls->proto, ROUTE_PROTO_TLS);
	assert_int_equal(tls->nhttp, 0);
	assert_int_equal(tls->ntcp, 2); /* tcp[] for any port, tls[] for 443 */
	assert_null(tls->tcp[0]->tls);
	assert_non_null(tls->tcp[1]->tls); /* tls[]: its port and names kept in its match */
	assert_int_equal(tls->tcp[1]->ntls, 1);
	assert_int_equal(tls->tcp[1]->tls[0].port, 443);
	assert_int_equal(tls->tcp[1]->tls[0].nsni, 1);
	assert_string_equal(tls->tcp[1]->tls[0].sni[0], "db.example");
	assert_int_equal(http->nhttp, 1);
	assert_int_equal(http->ntcp, 0);
}

static void test_route_policy_merge(void **state)
{
	const char *srcs[] = {
	    "@apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
	    "metadata: {name: web, namespace: shop}\nspec:\n  host: web.shop.svc.cluster.local\n"
	    "  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN}\n"
	    "    connectionPool: {tcp: {maxConnections: 100, connectTimeout: 2s}}\n"
	    "    portLevelSettings:\n    - port: {number: 9090}\n"
	    "      loadBalancer: {consistentHash: {httpHeaderName: X-User}}\n"
	    "  subsets:\n  - name: v1\n    labels: {version: v1}\n"
	    "    trafficPolicy:\n      loadBalancer: {simple: RANDOM}\n"
	    "      outlierDetection: {consecutiveGatewayErrors: 2}\n"
	    "  - name: v2\n    labels: {version: v2}\n",
	    WEB, NULL};
	const struct model *m = build(*state, srcs);
	const struct route_cluster *c;

	c = cluster(m, "outbound|80||web.shop.svc.cluster.local");
	assert_int_equal(c->policy.lb.policy, ROUTE_LB_ROUND_ROBIN);
	assert_int_equal(c->policy.pool.max_connections, 100);
	assert_int_equal(c->policy.pool.connect_timeout_ms, 2000);
	assert_false(c->policy.outlier.enabled);
	c = cluster(m, "outbound|9090||web.shop.svc.cluster.local");
	assert_int_equal(c->policy.lb.policy, ROUTE_LB_HASH); /* port level wins */
	assert_int_equal(c->policy.lb.hash_key, ROUTE_HASH_HEADER);
	assert_string_equal(c->policy.lb.hash_name, "x-user");
	assert_int_equal(c->policy.pool.max_connections, 100); /* kept from the top */
	c = cluster(m, "outbound|80|v1|web.shop.svc.cluster.local");
	assert_int_equal(c->policy.lb.policy, ROUTE_LB_RANDOM); /* subset wins */
	assert_true(c->policy.outlier.enabled);
	assert_int_equal(c->policy.outlier.consecutive_gateway, 2);
	assert_int_equal(c->policy.outlier.consecutive_5xx, 5); /* Istio's default */
	assert_int_equal(c->policy.outlier.interval_ms, 10000); /* Istio's default */
	assert_int_equal(c->policy.pool.max_connections, 100);	/* not in the subset: top */
	assert_string_equal(members(c), "10.1.1.1:8080");
	c = cluster(m, "outbound|9090|v1|web.shop.svc.cluster.local");
	assert_int_equal(c->policy.lb.policy, ROUTE_LB_RANDOM); /* subset over port level */
	assert_string_equal(members(c), "10.1.1.1:9090");
	c = cluster(m, "outbound|9090|v2|web.shop.svc.cluster.local");
	assert_int_equal(c->policy.lb.policy, ROUTE_LB_HASH);
	assert_string_equal(members(c), "10.1.1.2:9090");
	assert_int_equal(m->routes->nclusters, 6);
	assert_true(web_table(m, 80)->agent);
}

/* A DestinationRule <name> in <ns> for web with maxConnections <max>, then <extra> YAML. */
#define WEB_DR(name, ns, max, extra)                                                               \
	"---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: " name   \
	", namespace: " ns "}\nspec:\n  host: web.shop.svc.cluster.local\n"                        \
	"  trafficPolicy: {connectionPool: {tcp: {maxConnections: " #max "}}}\n" extra

/* A client Pod <name> in <ns> with label app=<app>. */
#define CLIENT(name, ns, app)                                                                      \
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: " name ", namespace: " ns                \
	", labels: {app: " app "}}\nspec: {containers: [{name: c}]}\nstatus: {podIP: 10.1.2." name \
	"}\n"

/* The maxConnections a client in <ns> with app=<app> (NULL: no labels) gets on <cl>. */
static uint32_t max_conns_for(const struct route_cluster *cl, const char *ns, const char *app)
{
	struct k8s_kv kv = {.key = "app", .value = app};

	return route_cluster_for(cl, ns, app ? &kv : NULL, app ? 1 : 0)
	    ->policy.pool.max_connections;
}

/*
 * DestinationRule scope, Istio's lookup: the client's namespace, then the Service's, then
 * the root namespace, each only if exported to the client; a workloadSelector rule only for
 * the selected Pods of its own namespace; a rule in any other namespace is never used.
 */
static void test_route_dr_scope(void **state)
{
	const char *srcs[] = {
	    "@" WEB_DR("local", "shop", 10,
		       "  exportTo: [\".\"]\n  subsets: [{name: v1, labels: "
		       "{version: v1}}]\n") WEB_DR("team", "team", 20, "")
		WEB_DR("batch", "team", 30, "  workloadSelector: {matchLabels: {app: batch}}\n")
		    WEB_DR("mesh", "istio-system", 40, "") WEB_DR("elsewhere", "other", 50,
								  "  exportTo: [team]\n")
			CLIENT("1", "team", "batch") CLIENT("2", "team", "ui") CLIENT(
			    "3", "other",
			    "x") "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"
				 "metadata: {name: web, namespace: shop}\nspec:\n  hosts: [web]\n"
				 "  http: [{route: [{destination: {host: web, subset: v1}}]}]\n",
	    WEB, NULL};
	const struct model *m = build(*state, srcs);
	const struct route_cluster *c = cluster(m, "outbound|80||web.shop.svc.cluster.local");
	const struct route_cluster *v1 = cluster(m, "outbound|80|v1|web.shop.svc.cluster.local");
	const struct route_cluster *shop_v1 = route_cluster_for(v1, "shop", NULL, 0);

	assert_int_equal(m->routes->errors, 0);
	/* A client of no namespace: only rules exported everywhere, the root's. */
	assert_int_equal(c->policy.pool.max_connections, 40);
	assert_int_equal(max_conns_for(c, NULL, NULL), 40);
	/* The Service's namespace: its own rule, though exported to "." only. */
	assert_int_equal(max_conns_for(c, "shop", "web"), 10);
	/* team: the selector rule for app=batch, the namespace's own rule for the others. */
	assert_int_equal(max_conns_for(c, "team", "batch"), 30);
	assert_int_equal(max_conns_for(c, "team", "ui"), 20);
	assert_int_equal(max_conns_for(c, "team", NULL), 20);
	/* other: its own rule is exported to team only, so not even to itself; and a rule of
	 * a third namespace ("elsewhere" for team) is not on team's lookup path either. */
	assert_int_equal(max_conns_for(c, "other", "x"), 40);
	/* Subset v1 is defined only by shop's rule: everyone else gets "no cluster". */
	assert_true(v1->subset_unknown);
	assert_false(shop_v1->subset_unknown);
	assert_string_equal(shop_v1->name, v1->name);
	assert_string_equal(shop_v1->policy.dr, "shop/local");
	assert_string_equal(members(shop_v1), "10.1.1.1:8080");
	assert_true(route_cluster_for(v1, "team", NULL, 0)->subset_unknown);
	/* An alternative is a cluster of the snapshot in its own right. */
	assert_ptr_equal(&m->routes->clusters[shop_v1->id], shop_v1);
	assert_int_equal(shop_v1->nalts, 0);
	/* The port's kernel-path decision counts every client's rule. */
	assert_true(web_table(m, 80)->agent);
}

static void test_route_weir_kinds(void **state)
{
	const char *srcs[] = {
	    "@apiVersion: weir.dev/v1alpha1\nkind: HealthCheck\n"
	    "metadata: {name: hc, namespace: shop}\nspec:\n  targetRef: {kind: Service, name: "
	    "web}\n"
	    "  port: 80\n  http: {path: /healthz, expectedStatuses: {min: 200, max: 204}}\n"
	    "  interval: 5s\n  timeout: 500ms\n  unhealthyThreshold: 2\n"
	    "---\napiVersion: weir.dev/v1alpha1\nkind: RateLimit\n"
	    "metadata: {name: rl, namespace: shop}\nspec:\n  targetRef: {kind: Service, name: "
	    "web}\n"
	    "  maxTokens: 100\n  tokensPerFill: 10\n  fillInterval: 1s\n"
	    "---\napiVersion: weir.dev/v1alpha1\nkind: RateLimit\n"
	    "metadata: {name: rl-route, namespace: shop}\nspec:\n"
	    "  targetRef: {kind: VirtualService, name: a, sectionName: main}\n"
	    "  maxTokens: 5\n  fillInterval: 1m\n"
	    "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\n"
	    "metadata: {name: a, namespace: shop}\nspec:\n  hosts: [web]\n"
	    "  http: [{name: main, route: [{destination: {host: web}}]}]\n",
	    WEB, NULL};
	const struct model *m = build(*state, srcs);
	const struct route_cluster *c80, *c90;
	const struct route_ratelimit *rl;

	assert_int_equal(m->routes->errors, 0);
	c80 = web_table(m, 80)->dflt;
	c90 = web_table(m, 9090)->dflt;
	assert_true(c80->policy.health.enabled);
	assert_true(c80->policy.health.http);
	assert_string_equal(c80->policy.health.path, "/healthz");
	assert_int_equal(c80->policy.health.interval_ms, 5000);
	assert_int_equal(c80->policy.health.timeout_ms, 500);
	assert_int_equal(c80->policy.health.unhealthy_threshold, 2);
	assert_int_equal(c80->policy.health.healthy_threshold, 1);
	assert_int_equal(c80->policy.health.expect_max, 204);
	assert_false(c90->policy.health.enabled); /* the check is for port 80 only */
	assert_true(c90->policy.ratelimit.enabled);
	assert_int_equal(c90->policy.ratelimit.tokens, 100);
	assert_int_equal(c90->policy.ratelimit.fill_tokens, 10);
	assert_int_equal(c90->policy.ratelimit.fill_interval_ms, 1000);
	assert_string_equal(c90->policy.ratelimit.source, "shop/rl");
	assert_true(web_table(m, 9090)->agent); /* a RateLimit alone takes the agent path */
	rl = web_table(m, 80)->http[0]->ratelimit;
	assert_non_null(rl);
	assert_int_equal(rl->tokens, 5);
	assert_int_equal(rl->fill_tokens, 5); /* default: the whole bucket */
	assert_int_equal(rl->fill_interval_ms, 60000);
	assert_string_equal(rl->source, "shop/rl-route");
}

static void test_route_kernel_annotation_kept(void **state)
{
	const char *srcs[] = {
	    "@apiVersion: v1\nkind: Service\nmetadata: {name: k, annotations: "
	    "{weir.dev/path: kernel}}\nspec: {clusterIP: 10.96.0.30, ports: [{name: http, port: "
	    "80}]}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
	    "metadata: {name: k}\nspec: {host: k, trafficPolicy: {loadBalancer: {simple: "
	    "RANDOM}}}\n",
	    NULL};
	const struct model *m = build(*state, srcs);

	assert_true(table(m, "k", 80)->agent);
	assert_int_equal(svc(m, "default", "k")->mode, WEIR_MODE_KERNEL);
}

/* Compile errors: each object is logged once, left out, and counted. */
static void test_route_compile_errors(void **state)
{
	static const char *const docs[] = {
	    /* destination host that is no Service */
	    "@apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x, "
	    "namespace: shop}\nspec: {hosts: [web], http: [{route: [{destination: {host: "
	    "nosuch}}]}]}\n",
	    /* a port the Service does not have */
	    "@apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x, "
	    "namespace: shop}\nspec: {hosts: [web], tcp: [{route: [{destination: {host: web, "
	    "port: {number: 81}}}]}]}\n",
	    /* a mirror to nowhere */
	    "@apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x, "
	    "namespace: shop}\nspec: {hosts: [web], http: [{route: [{destination: {host: "
	    "web}}], mirror: {host: gone}}]}\n",
	    "@apiVersion: weir.dev/v1alpha1\nkind: HealthCheck\nmetadata: {name: h, namespace: "
	    "shop}\nspec: {targetRef: {name: nosuch}, tcp: {}}\n",
	    "@apiVersion: weir.dev/v1alpha1\nkind: HealthCheck\nmetadata: {name: h, namespace: "
	    "shop}\nspec: {targetRef: {name: web}, port: 81, tcp: {}}\n",
	    "@apiVersion: weir.dev/v1alpha1\nkind: RateLimit\nmetadata: {name: r, namespace: "
	    "shop}\nspec: {targetRef: {kind: VirtualService, name: none, sectionName: a}, "
	    "maxTokens: 1, fillInterval: 1s}\n",
	};
	unsigned long before;
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		const char *srcs[] = {docs[i], WEB, NULL};
		const struct model *m;

		before = log_count(LOG_ERR);
		m = build(*state, srcs);
		assert_int_equal(m->routes->errors, 1);
		assert_int_equal(log_count(LOG_ERR) - before, 1);
		assert_int_equal(web_table(m, 80)->nhttp, 0);
		assert_int_equal(web_table(m, 80)->ntcp, 0);
		assert_false(web_table(m, 80)->agent);
		assert_false(web_table(m, 80)->dflt->policy.health.enabled);
	}
}

static void test_route_proto_detection(void **state)
{
	static const struct {
		const char *name, *app;
		uint16_t port;
		uint8_t want;
	} cases[] = {
	    {"http", NULL, 80, ROUTE_PROTO_HTTP},
	    {"http-web", NULL, 80, ROUTE_PROTO_HTTP},
	    {"http2", NULL, 80, ROUTE_PROTO_HTTP2},
	    {"grpc", NULL, 80, ROUTE_PROTO_GRPC},
	    {"grpc-web", NULL, 80, ROUTE_PROTO_HTTP2},
	    {"tcp-db", NULL, 80, ROUTE_PROTO_TCP},
	    {"https", NULL, 443, ROUTE_PROTO_TLS},
	    {"tls", NULL, 443, ROUTE_PROTO_TLS},
	    {"mongo", NULL, 80, ROUTE_PROTO_TCP},
	    {"redis", NULL, 80, ROUTE_PROTO_TCP},
	    {"web", NULL, 80, ROUTE_PROTO_SNIFF},
	    {"", NULL, 8080, ROUTE_PROTO_SNIFF},
	    {"", NULL, 3306, ROUTE_PROTO_TCP},
	    {"db", NULL, 5432, ROUTE_PROTO_TCP},
	    {"", NULL, 25, ROUTE_PROTO_TCP},
	    {"web", "http", 80, ROUTE_PROTO_HTTP},
	    {"http", "grpc", 80, ROUTE_PROTO_GRPC},
	    {"web", "kubernetes.io/h2c", 80, ROUTE_PROTO_HTTP2},
	};
	char doc[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *srcs[] = {doc, NULL};
		const struct model *m;
		int n;

		n = snprintf(doc, sizeof(doc),
			     "@apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  "
			     "ports:\n  - port: %u\n",
			     cases[i].port);
		if (*cases[i].name)
			n += snprintf(doc + n, sizeof(doc) - (size_t)n, "    name: %s\n",
				      cases[i].name);
		if (cases[i].app)
			snprintf(doc + n, sizeof(doc) - (size_t)n, "    appProtocol: %s\n",
				 cases[i].app);
		m = build(*state, srcs);
		if (table(m, "s", cases[i].port)->proto != cases[i].want)
			fail_msg("case %zu (%s, %s, %u): proto %u, want %u", i, cases[i].name,
				 cases[i].app ? cases[i].app : "-", cases[i].port,
				 table(m, "s", cases[i].port)->proto, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_route_all_v1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_all_v1_without_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_reviews_50_v3, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_reviews_test_v2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_ratings_faults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_httpbin_circuit_breaker, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_host_forms, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_vs_precedence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_export_gateways_ports, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_l4_l7_split, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_http_parts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_policy_merge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_weir_kinds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_kernel_annotation_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_compile_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_proto_detection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_dr_scope, setup, teardown),
	};

	log_init("route_test", LOG_ERR); /* the compile errors are expected */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
