// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the model builder (user/model.c), fed through the real decoder: workload,
 * app and version derivation, endpoint resolution (EndpointSlice > Endpoints > selector,
 * named targetPorts, readiness), mesh enrolment flags and the lookups.
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
#include "config/k8s.h"
#include "lib/log.h"
#include "model/model.h"

#define MAX_DOCS 8

/* Decoded streams and the model built from them; freed by teardown. */
struct fixture {
	struct arena *a[MAX_DOCS];
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
	for (i = 0; i < MAX_DOCS; i++)
		arena_free(f->a[i]);
	free(f);
	return 0;
}

/*
 * Builds the model from the NULL-terminated YAML streams in <docs> (earlier streams win on
 * duplicates), replacing the fixture's previous one.
 */
static const struct model *build(struct fixture *f, const char *const *docs)
{
	const struct k8s_object *objs[256];
	size_t n = 0, i, j;

	model_free(f->m);
	f->m = NULL;
	for (i = 0; i < MAX_DOCS; i++) {
		arena_free(f->a[i]);
		f->a[i] = NULL;
	}
	for (i = 0; docs[i]; i++) {
		struct k8s_result res;
		char src[32];

		assert_true(i < MAX_DOCS);
		f->a[i] = arena_new();
		assert_non_null(f->a[i]);
		snprintf(src, sizeof(src), "doc%zu.yaml", i);
		if (k8s_decode(f->a[i], src, docs[i], strlen(docs[i]), &res))
			fail_msg("doc %zu does not decode: %s", i, res.err);
		for (j = 0; j < res.nobjs; j++) {
			assert_true(n < 256);
			objs[n++] = &res.objs[j];
		}
	}
	f->m = model_build(objs, n, 7);
	assert_non_null(f->m);
	assert_int_equal(f->m->generation, 7);
	return f->m;
}

static const struct model *build1(struct fixture *f, const char *doc)
{
	const char *docs[] = {doc, NULL};

	return build(f, docs);
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
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

/* Endpoints as "ip:port[!]" (! = not ready) joined by spaces, for compact assertions. */
static const char *eps_str(const struct model_svc_port *p)
{
	static char buf[1024];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < p->neps; i++) {
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &p->eps[i].ip, ip, sizeof(ip));
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s:%u%s", i ? " " : "", ip,
				      p->eps[i].port, p->eps[i].ready ? "" : "!");
	}
	return buf;
}

static void test_model_workload_derivation(void **state)
{
	static const struct {
		const char *owner;  /* "Kind/name", NULL for none */
		const char *labels; /* flow mapping body */
		const char *workload, *app, *version;
	} rows[] = {
	    {"ReplicaSet/reviews-v1-5b4d6c9f8", "app: reviews, version: v1", "reviews-v1",
	     "reviews", "v1"},
	    {"ReplicaSet/details", "", "details", "details", "latest"},
	    {"ReplicaSet/my-app-v2-abc",
	     "app.kubernetes.io/name: shop, "
	     "app.kubernetes.io/version: \"2.1\", app: ignored, version: ignored",
	     "my-app-v2", "shop", "2.1"},
	    {"StatefulSet/db",
	     "service.istio.io/canonical-name: database, "
	     "service.istio.io/canonical-revision: r7, app: db",
	     "db", "database", "r7"},
	    {"DaemonSet/node-agent", "version: v3", "node-agent", "node-agent", "v3"},
	    {"Job/migrate-28391", "", "migrate-28391", "migrate-28391", "latest"},
	    {NULL, "app: solo", "p", "solo", "latest"},
	    {NULL, "", "p", "p", "latest"},
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char yaml[1024], owner[256] = "";
		const struct model *m;

		if (rows[i].owner) {
			const char *slash = strchr(rows[i].owner, '/');

			snprintf(owner, sizeof(owner),
				 "  ownerReferences:\n"
				 "  - {apiVersion: v1, kind: ConfigMap, name: not-a-controller}\n"
				 "  - {kind: %.*s, name: %s, controller: true}\n",
				 (int)(slash - rows[i].owner), rows[i].owner, slash + 1);
		}
		snprintf(yaml, sizeof(yaml),
			 "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {%s}\n%s",
			 rows[i].labels, owner);
		m = build1(f, yaml);
		assert_int_equal(m->npods, 1);
		if (strcmp(m->pods[0].workload, rows[i].workload) ||
		    strcmp(m->pods[0].app, rows[i].app) ||
		    strcmp(m->pods[0].version, rows[i].version))
			fail_msg("row %zu: got %s/%s/%s, want %s/%s/%s", i, m->pods[0].workload,
				 m->pods[0].app, m->pods[0].version, rows[i].workload, rows[i].app,
				 rows[i].version);
	}
}

static const char reviews_pods[] =
    "apiVersion: v1\nkind: List\nitems:\n"
    "- apiVersion: v1\n  kind: Pod\n"
    "  metadata: {name: reviews-v1-a, labels: {app: reviews, version: v1}}\n"
    "  spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}\n"
    "  status: {podIP: 198.18.1.1, conditions: [{type: Ready, status: \"True\"}]}\n"
    "- apiVersion: v1\n  kind: Pod\n"
    "  metadata: {name: reviews-v2-a, labels: {app: reviews, version: v2}}\n"
    "  spec: {nodeName: n2, containers: [{name: c, ports: [{name: http, containerPort: 8081}]}]}\n"
    "  status: {podIP: 198.18.2.1, conditions: [{type: Ready, status: \"False\"}]}\n"
    "- apiVersion: v1\n  kind: Pod\n"
    "  metadata: {name: reviews-v3-a, labels: {app: reviews, version: v3}}\n"
    "  spec: {containers: [{name: c, ports: [{name: web, containerPort: 8082}]}]}\n"
    "  status: {podIP: 198.18.3.1}\n"
    "- apiVersion: v1\n  kind: Pod\n" /* not selected: other app */
    "  metadata: {name: ratings-a, labels: {app: ratings}}\n"
    "  status: {podIP: 198.18.1.2}\n"
    "- apiVersion: v1\n  kind: Pod\n" /* not selected: other namespace */
    "  metadata: {name: reviews-x, namespace: other, labels: {app: reviews}}\n"
    "  status: {podIP: 198.18.1.3}\n"
    "- apiVersion: v1\n  kind: Pod\n" /* not selected: no IP yet */
    "  metadata: {name: reviews-pending, labels: {app: reviews}}\n"
    "- apiVersion: v1\n  kind: Pod\n" /* not selected: terminating */
    "  metadata: {name: reviews-old, labels: {app: reviews}, "
    "deletionTimestamp: \"2024-01-01T00:00:00Z\"}\n"
    "  status: {podIP: 198.18.1.4}\n"
    "- apiVersion: v1\n  kind: Pod\n" /* not selected: finished */
    "  metadata: {name: reviews-done, labels: {app: reviews}}\n"
    "  status: {podIP: 198.18.1.5, phase: Failed}\n";

static const char reviews_svc[] = "apiVersion: v1\nkind: Service\nmetadata: {name: reviews}\n"
				  "spec:\n  clusterIP: 198.19.0.10\n  selector: {app: reviews}\n"
				  "  ports:\n"
				  "  - {name: http, port: 9080, targetPort: http}\n"
				  "  - {name: tcp-raw, port: 9000, targetPort: 7000}\n"
				  "  - {name: plain, port: 9001}\n";

static void test_model_selector_endpoints(void **state)
{
	const char *docs[] = {reviews_pods, reviews_svc, NULL};
	const struct model_service *s;
	const struct model *m;

	m = build(*state, docs);
	assert_int_equal(m->npods, 8);
	assert_int_equal(m->nservices, 1);
	s = svc(m, "default", "reviews");
	assert_int_equal(s->vip, ip4("198.19.0.10"));
	assert_int_equal(s->nports, 3);
	/* Named targetPort: resolved per Pod; v3 has no port "http" and is skipped. */
	assert_string_equal(eps_str(&s->ports[0]), "198.18.1.1:8080 198.18.2.1:8081!");
	/* Numeric targetPort, and the default (= port). Not-ready Pods stay, ready=false. */
	assert_string_equal(eps_str(&s->ports[1]), "198.18.1.1:7000 198.18.2.1:7000! "
						   "198.18.3.1:7000");
	assert_string_equal(eps_str(&s->ports[2]), "198.18.1.1:9001 198.18.2.1:9001! "
						   "198.18.3.1:9001");
	/* Each endpoint links to its Pod. */
	assert_non_null(s->ports[0].eps[0].pod);
	assert_string_equal(s->ports[0].eps[0].pod->name, "reviews-v1-a");
	assert_string_equal(s->ports[0].eps[1].pod->name, "reviews-v2-a");
	assert_int_equal(s->ports[0].proto, IPPROTO_TCP);
	assert_string_equal(s->ports[0].app_proto, "http");
	assert_string_equal(s->ports[1].app_proto, "tcp");
}

static const char reviews_endpoints[] =
    "apiVersion: v1\nkind: Endpoints\nmetadata: {name: reviews}\n"
    "subsets:\n"
    "- addresses: [{ip: 198.18.9.1}]\n"
    "  notReadyAddresses: [{ip: 198.18.9.2, targetRef: {kind: Pod, name: reviews-v3-a}}]\n"
    "  ports: [{name: http, port: 8000}, {name: tcp-raw, port: 7001}]\n"
    "- addresses: [{ip: 198.18.1.1}]\n"
    "  ports: [{name: plain, port: 9999}]\n";

static const char reviews_slices[] =
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: reviews-1, labels: {kubernetes.io/service-name: reviews}}\n"
    "addressType: IPv4\n"
    "endpoints:\n"
    "- {addresses: [198.18.7.1], conditions: {ready: true}}\n"
    "- {addresses: [198.18.7.2], conditions: {ready: false}}\n"
    "ports: [{name: http, port: 8001}]\n"
    "---\n"
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: reviews-2, labels: {kubernetes.io/service-name: reviews}}\n"
    "addressType: IPv4\n"
    "endpoints:\n"
    "- {addresses: [198.18.7.3]}\n"
    "- {addresses: [198.18.7.1], conditions: {ready: false}}\n"
    "ports: [{name: http, port: 8001}, {name: plain, port: 8002}]\n"
    "---\n" /* another Service's slice in the same namespace: not ours */
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
    "metadata: {name: ratings-1, labels: {kubernetes.io/service-name: ratings}}\n"
    "addressType: IPv4\n"
    "endpoints: [{addresses: [198.18.8.8]}]\n"
    "ports: [{name: http, port: 8001}]\n";

static void test_model_endpoints_precedence(void **state)
{
	const char *with_eps[] = {reviews_pods, reviews_svc, reviews_endpoints, NULL};
	const char *with_all[] = {reviews_pods, reviews_svc, reviews_endpoints, reviews_slices,
				  NULL};
	const struct model_service *s;
	const struct model *m;

	/* Endpoints win over the selector. */
	m = build(*state, with_eps);
	s = svc(m, "default", "reviews");
	assert_string_equal(eps_str(&s->ports[0]), "198.18.9.1:8000 198.18.9.2:8000!");
	assert_string_equal(eps_str(&s->ports[1]), "198.18.9.1:7001 198.18.9.2:7001!");
	assert_string_equal(eps_str(&s->ports[2]), "198.18.1.1:9999");
	/* Links by targetRef, else by IP, else none. */
	assert_null(s->ports[0].eps[0].pod);
	assert_string_equal(s->ports[0].eps[1].pod->name, "reviews-v3-a");
	assert_string_equal(s->ports[2].eps[0].pod->name, "reviews-v1-a");

	/* EndpointSlices win over Endpoints; slices merge; an address in two is listed once
	 * and ready when either says so. A port no slice serves has no endpoints. */
	m = build(*state, with_all);
	s = svc(m, "default", "reviews");
	assert_string_equal(eps_str(&s->ports[0]), "198.18.7.1:8001 198.18.7.2:8001! "
						   "198.18.7.3:8001");
	assert_string_equal(eps_str(&s->ports[1]), "");
	assert_string_equal(eps_str(&s->ports[2]), "198.18.7.1:8002! 198.18.7.3:8002");
}

/* Hand-written Endpoints for a one-port Service need not repeat the port's name. */
static void test_model_endpoints_unnamed(void **state)
{
	static const char yaml[] =
	    "apiVersion: v1\nkind: Service\nmetadata: {name: ext, namespace: x}\n"
	    "spec: {clusterIP: 198.19.0.20, ports: [{name: db, port: 5432}]}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Endpoints\nmetadata: {name: ext, namespace: x}\n"
	    "subsets: [{addresses: [{ip: 198.18.5.5}], ports: [{port: 15432}]}]\n"
	    "---\n" /* no selector, no endpoints: empty */
	    "apiVersion: v1\nkind: Service\nmetadata: {name: empty, namespace: x}\n"
	    "spec: {clusterIP: 198.19.0.21, ports: [{port: 80, protocol: UDP}]}\n";
	const struct model_service *s;
	const struct model *m;

	m = build1(*state, yaml);
	s = svc(m, "x", "ext");
	assert_string_equal(eps_str(&s->ports[0]), "198.18.5.5:15432");
	s = svc(m, "x", "empty");
	assert_int_equal(s->ports[0].neps, 0);
	assert_int_equal(s->ports[0].proto, IPPROTO_UDP);
	assert_string_equal(s->ports[0].app_proto, "udp");
}

static void test_model_lookups(void **state)
{
	static const char extra[] =
	    "apiVersion: v1\nkind: Service\nmetadata: {name: dns, namespace: kube-system}\n"
	    "spec: {clusterIP: 198.19.0.2, ports: [{name: dns, port: 53, protocol: UDP},\n"
	    "  {name: dns-tcp, port: 53}]}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Service\nmetadata: {name: headless}\n"
	    "spec: {clusterIP: None, selector: {app: reviews}, ports: [{port: 9080}]}\n";
	const char *docs[] = {reviews_pods, reviews_svc, extra, NULL};
	const struct model_service *s = NULL;
	const struct model_svc_port *p;
	const struct model_pod *pod;
	const struct model *m;

	m = build(*state, docs);
	p = model_find_svc_port(m, ip4("198.19.0.10"), htons(9080), IPPROTO_TCP, &s);
	assert_non_null(p);
	assert_string_equal(s->name, "reviews");
	assert_string_equal(p->name, "http");
	p = model_find_svc_port(m, ip4("198.19.0.10"), htons(9001), IPPROTO_TCP, NULL);
	assert_non_null(p);
	assert_string_equal(p->name, "plain");
	assert_null(model_find_svc_port(m, ip4("198.19.0.10"), htons(9080), IPPROTO_UDP, &s));
	assert_null(model_find_svc_port(m, ip4("198.19.0.10"), 9080, IPPROTO_TCP, &s));
	assert_null(model_find_svc_port(m, ip4("198.19.0.11"), htons(9080), IPPROTO_TCP, &s));
	p = model_find_svc_port(m, ip4("198.19.0.2"), htons(53), IPPROTO_UDP, &s);
	assert_string_equal(p->name, "dns");
	p = model_find_svc_port(m, ip4("198.19.0.2"), htons(53), IPPROTO_TCP, &s);
	assert_string_equal(p->name, "dns-tcp");
	assert_string_equal(s->ns, "kube-system");
	/* Headless: in the model with its endpoints, but no VIP to find it by. */
	s = svc(m, "default", "headless");
	assert_int_equal(s->vip, 0);
	assert_int_equal(s->ports[0].neps, 3);
	assert_null(model_find_svc_port(m, 0, htons(9080), IPPROTO_TCP, NULL));

	pod = model_find_pod_by_ip(m, ip4("198.18.2.1"));
	assert_non_null(pod);
	assert_string_equal(pod->name, "reviews-v2-a");
	assert_string_equal(pod->ip_str, "198.18.2.1");
	assert_string_equal(pod->node, "n2");
	assert_null(model_find_pod_by_ip(m, ip4("198.18.200.1")));
	assert_null(model_find_pod_by_ip(m, ip4("198.18.1.5"))); /* a finished Pod's old IP */
	assert_null(model_find_pod_by_ip(m, 0));
	pod = model_find_pod(m, "other", "reviews-x");
	assert_non_null(pod);
	assert_int_equal(pod->ip, ip4("198.18.1.3"));
	assert_null(model_find_pod(m, "default", "reviews-x"));
	assert_null(model_find_pod(m, "default", "nope"));
	assert_non_null(model_find_pod(m, "default", "reviews-done"));
}

static void test_model_mesh_flags(void **state)
{
	static const char yaml[] =
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: normal}\nstatus: {podIP: 198.18.1.10}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: hostnet}\n"
	    "spec: {hostNetwork: true, nodeName: n1}\nstatus: {podIP: 198.18.0.1}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: optout, annotations: "
	    "{weir.dev/mesh: \"off\", weir.dev/lb-weight: \"0\"}}\n"
	    "status: {podIP: 198.18.1.11}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: ambient-none, labels: "
	    "{istio.io/dataplane-mode: none}}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: explicit-on, annotations: "
	    "{weir.dev/mesh: \"on\", weir.dev/lb-weight: \"250\"}}\n"
	    "spec: {serviceAccountName: sa1}\n";
	const struct model_pod *p;
	const struct model *m;

	m = build1(*state, yaml);
	p = model_find_pod(m, "default", "normal");
	assert_true(p->mesh);
	assert_false(p->host_network);
	assert_int_equal(p->weight, 1);
	assert_string_equal(p->sa, "default");
	assert_string_equal(p->source, "doc0.yaml");
	p = model_find_pod(m, "default", "hostnet");
	assert_false(p->mesh);
	assert_true(p->host_network);
	/* The node's address does not name a hostNetwork Pod. */
	assert_null(model_find_pod_by_ip(m, ip4("198.18.0.1")));
	p = model_find_pod(m, "default", "optout");
	assert_false(p->mesh);
	assert_int_equal(p->weight, 0);
	assert_false(model_find_pod(m, "default", "ambient-none")->mesh);
	p = model_find_pod(m, "default", "explicit-on");
	assert_true(p->mesh);
	assert_int_equal(p->weight, 250);
	assert_string_equal(p->sa, "sa1");
}

static void test_model_app_proto(void **state)
{
	static const char yaml[] = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
				   "spec:\n  clusterIP: 198.19.0.30\n  ports:\n"
				   "  - {name: http-web, port: 1}\n"
				   "  - {name: http2, port: 2}\n"
				   "  - {name: grpc-api, port: 3}\n"
				   "  - {name: anything, port: 4}\n"
				   "  - {name: x, port: 5, appProtocol: grpc}\n"
				   "  - {name: y, port: 6, appProtocol: kubernetes.io/h2c}\n"
				   "  - {name: tcp-db, port: 7}\n"
				   "  - {name: httpx, port: 8}\n";
	static const char *const want[] = {"http", "http2", "grpc", "tcp",
					   "grpc", "http2", "tcp",  "tcp"};
	const struct model_service *s;
	size_t i;

	s = svc(build1(*state, yaml), "default", "s");
	assert_int_equal(s->nports, 8);
	for (i = 0; i < 8; i++)
		if (strcmp(s->ports[i].app_proto, want[i]))
			fail_msg("port %zu (%s): app_proto %s, want %s", i, s->ports[i].name,
				 s->ports[i].app_proto, want[i]);
}

/* Of two objects with the same kind/namespace/name, the first given wins; the mode and the
 * selector are carried over. */
static void test_model_duplicates_and_mode(void **state)
{
	static const char first[] =
	    "apiVersion: v1\nkind: Service\nmetadata: {name: s, annotations: "
	    "{weir.dev/path: agent}}\n"
	    "spec: {clusterIP: 198.19.0.40, selector: {app: a}, ports: [{port: 80}]}\n";
	static const char second[] =
	    "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
	    "spec: {clusterIP: 198.19.0.41, ports: [{port: 81}]}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: b}\n"
	    "spec: {clusterIP: 198.19.0.40, ports: [{port: 80}]}\n";
	const char *docs[] = {first, second, NULL};
	const struct model_service *s = NULL;
	const struct model *m;

	m = build(*state, docs);
	assert_int_equal(m->nservices, 2);
	s = svc(m, "default", "s");
	assert_int_equal(s->vip, ip4("198.19.0.40"));
	assert_int_equal(s->mode, WEIR_MODE_AGENT);
	assert_int_equal(s->nselector, 1);
	assert_string_equal(s->selector[0].value, "a");
	assert_string_equal(s->source, "doc0.yaml");
	/* b/s claims the same VIP:port: the first in namespace/name order (b/s) keeps it. */
	assert_non_null(model_find_svc_port(m, ip4("198.19.0.40"), htons(80), IPPROTO_TCP, &s));
	assert_string_equal(s->ns, "b");
	assert_int_equal(svc(m, "b", "s")->mode, WEIR_MODE_KERNEL);
}

/* The snapshot owns its memory: the decoded objects can go before the model. */
static void test_model_independent_of_input(void **state)
{
	struct fixture *f = *state;
	const struct model_pod *p;
	size_t i;

	build1(f, reviews_pods);
	for (i = 0; i < MAX_DOCS; i++) {
		arena_free(f->a[i]);
		f->a[i] = NULL;
	}
	p = model_find_pod_by_ip(f->m, ip4("198.18.1.1"));
	assert_non_null(p);
	assert_string_equal(p->name, "reviews-v1-a");
	assert_string_equal(p->labels[0].key, "app");
	/* An empty model is valid. */
	model_free(f->m);
	f->m = model_build(NULL, 0, 1);
	assert_non_null(f->m);
	assert_int_equal(f->m->npods + f->m->nservices, 0);
	assert_null(model_find_pod_by_ip(f->m, ip4("198.18.1.1")));
	model_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_model_workload_derivation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_model_selector_endpoints, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_model_endpoints_precedence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_model_endpoints_unnamed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_model_lookups, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_model_mesh_flags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_model_app_proto, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_model_duplicates_and_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_model_independent_of_input, setup, teardown),
	};

	log_init("model_test", LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
