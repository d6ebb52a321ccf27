// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the Kubernetes decoder (user/k8s.c): every kind decodes with the fields the
 * model needs, every validation rule produces its message (a table of YAML -> expected text),
 * List and multi-document streams, unknown kinds, YAML syntax errors, JSON input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <weir/service.h>

#include "lib/arena.h"
#include "config/k8s.h"
#include "lib/log.h"

#define SRC "config/reviews.yaml"

/* Decodes <yaml> into a fresh arena (freed by the test's teardown through *state). */
static int decode(void **state, const char *yaml, struct k8s_result *res)
{
	struct arena *a = arena_new();

	assert_non_null(a);
	arena_free(*state);
	*state = a;
	return k8s_decode(a, SRC, yaml, strlen(yaml), res);
}

static int teardown(void **state)
{
	arena_free(*state);
	*state = NULL;
	return 0;
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static const struct k8s_object *find(const struct k8s_result *res, enum k8s_kind_id id,
				     const char *name)
{
	size_t i;

	for (i = 0; i < res->nobjs; i++)
		if (res->objs[i].kind->id == id && !strcmp(res->objs[i].meta.name, name))
			return &res->objs[i];
	return NULL;
}

static const char pod_yaml[] =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata:\n"
    "  name: reviews-v1-5b4d6c9f8-x7k2p\n"
    "  namespace: bookinfo\n"
    "  labels: {app: reviews, version: v1}\n"
    "  annotations:\n"
    "    weir.dev/lb-weight: \"3\"\n"
    "  ownerReferences:\n"
    "  - {apiVersion: apps/v1, kind: ReplicaSet, name: reviews-v1-5b4d6c9f8, controller: true}\n"
    "spec:\n"
    "  nodeName: node-1\n"
    "  serviceAccountName: bookinfo-reviews\n"
    "  containers:\n"
    "  - name: reviews\n"
    "    ports:\n"
    "    - {name: http, containerPort: 9080}\n"
    "    - {containerPort: 9090, protocol: UDP}\n"
    "    - {containerPort: 9091, protocol: SCTP}\n"
    "  - name: sidecar\n"
    "    ports: [{name: metrics, containerPort: 15090}]\n"
    "status:\n"
    "  phase: Running\n"
    "  podIP: 198.18.1.5\n"
    "  conditions:\n"
    "  - {type: PodScheduled, status: \"True\"}\n"
    "  - {type: Ready, status: \"True\"}\n";

static void test_k8s_pod(void **state)
{
	const struct k8s_object *o;
	const struct k8s_pod *p;
	struct k8s_result res;

	assert_int_equal(decode(state, pod_yaml, &res), 0);
	assert_int_equal(res.nerrors, 0);
	assert_int_equal(res.nwarnings, 1); /* the SCTP port */
	assert_non_null(strstr(res.warn, "spec.containers[0].ports[2].protocol: SCTP"));
	assert_int_equal(res.nobjs, 1);
	o = &res.objs[0];
	assert_int_equal(o->kind->id, K8S_POD);
	assert_string_equal(o->source, SRC);
	assert_string_equal(o->meta.ns, "bookinfo");
	assert_string_equal(o->meta.name, "reviews-v1-5b4d6c9f8-x7k2p");
	assert_int_equal(o->meta.nlabels, 2);
	assert_string_equal(k8s_kv_get(o->meta.labels, o->meta.nlabels, "version"), "v1");
	assert_int_equal(o->meta.nowners, 1);
	assert_string_equal(o->meta.owners[0].kind, "ReplicaSet");
	assert_true(o->meta.owners[0].controller);
	p = o->pod;
	assert_string_equal(p->node, "node-1");
	assert_string_equal(p->sa, "bookinfo-reviews");
	assert_string_equal(p->ip_str, "198.18.1.5");
	assert_int_equal(p->ip, ip4("198.18.1.5"));
	assert_true(p->ready);
	assert_false(p->terminal);
	assert_false(p->host_network);
	assert_int_equal(p->weight, 3);
	assert_int_equal(p->nports, 3);
	assert_string_equal(p->ports[0].name, "http");
	assert_int_equal(p->ports[0].port, 9080);
	assert_int_equal(p->ports[0].proto, IPPROTO_TCP);
	assert_string_equal(p->ports[1].name, "");
	assert_int_equal(p->ports[1].proto, IPPROTO_UDP);
	assert_string_equal(p->ports[2].name, "metrics");
	assert_int_equal(p->ports[2].port, 15090);
}

/* Pod details: defaults, dual-stack addresses, readiness, termination. */
static void test_k8s_pod_status(void **state)
{
	static const char yaml[] =
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
	    "spec: {hostNetwork: true}\n"
	    "status:\n"
	    "  podIP: fd00::5\n"
	    "  podIPs: [{ip: \"fd00::5\"}, {ip: 198.18.1.9}]\n"
	    "  phase: Succeeded\n"
	    "  conditions: [{type: Ready, status: \"False\"}]\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: b, deletionTimestamp: "
	    "\"2024-01-01T00:00:00Z\"}\n"
	    "status: {conditions: [{type: PodScheduled, status: \"True\"}]}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: c}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nstatus: {conditions: []}\n";
	const struct k8s_object *o;
	struct k8s_result res;

	assert_int_equal(decode(state, yaml, &res), 0);
	assert_int_equal(res.nobjs, 4);
	assert_non_null(strstr(res.warn, "status.podIP: IPv6 address fd00::5 skipped"));
	o = find(&res, K8S_POD, "a");
	assert_string_equal(o->meta.ns, "default");
	assert_string_equal(o->pod->sa, "default");
	assert_null(o->pod->node);
	assert_true(o->pod->host_network);
	assert_string_equal(o->pod->ip_str, "198.18.1.9");
	assert_false(o->pod->ready);
	assert_true(o->pod->terminal);
	assert_int_equal(o->pod->weight, 1);
	o = find(&res, K8S_POD, "b");
	assert_true(o->meta.deleting);
	assert_false(o->pod->ready); /* conditions given, none is Ready */
	assert_int_equal(o->pod->ip, 0);
	o = find(&res, K8S_POD, "c");
	assert_true(o->pod->ready); /* no conditions at all: hand-written, taken as ready */
	assert_false(o->meta.deleting);
	assert_true(find(&res, K8S_POD, "d")->pod->ready); /* an empty list is no conditions */
}

static void test_k8s_service(void **state)
{
	static const char yaml[] =
	    "apiVersion: v1\n"
	    "kind: Service\n"
	    "metadata:\n"
	    "  name: reviews\n"
	    "  annotations: {weir.dev/path: agent}\n"
	    "spec:\n"
	    "  clusterIP: 198.19.0.10\n"
	    "  selector: {app: reviews}\n"
	    "  ports:\n"
	    "  - {name: http, port: 9080}\n"
	    "  - {name: grpc, port: 9090, targetPort: grpc-port, appProtocol: grpc}\n"
	    "  - {name: dns, port: 53, targetPort: 5353, protocol: UDP}\n"
	    "  - {name: q, port: 54, targetPort: \"5454\"}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: data}\n"
	    "spec: {clusterIP: None, type: ClusterIP, ports: [{port: 5432}]}\n";
	const struct k8s_object *o;
	const struct k8s_service *s;
	struct k8s_result res;

	assert_int_equal(decode(state, yaml, &res), 0);
	assert_int_equal(res.nerrors, 0);
	assert_int_equal(res.nobjs, 2);
	o = find(&res, K8S_SERVICE, "reviews");
	s = o->svc;
	assert_string_equal(s->type, "ClusterIP");
	assert_int_equal(s->vip, ip4("198.19.0.10"));
	assert_false(s->headless);
	assert_int_equal(s->mode, WEIR_MODE_AGENT);
	assert_int_equal(s->nselector, 1);
	assert_string_equal(s->selector[0].key, "app");
	assert_int_equal(s->nports, 4);
	assert_int_equal(s->ports[0].target_port, 9080); /* default: the port */
	assert_null(s->ports[0].target_name);
	assert_string_equal(s->ports[1].target_name, "grpc-port");
	assert_string_equal(s->ports[1].app_proto, "grpc");
	assert_int_equal(s->ports[2].target_port, 5353);
	assert_int_equal(s->ports[2].proto, IPPROTO_UDP);
	assert_int_equal(s->ports[3].target_port, 5454);
	o = find(&res, K8S_SERVICE, "db");
	assert_string_equal(o->meta.ns, "data");
	assert_true(o->svc->headless);
	assert_int_equal(o->svc->vip, 0);
	assert_int_equal(o->svc->mode, WEIR_MODE_KERNEL);
	assert_string_equal(o->svc->ports[0].name, "");
}

static void test_k8s_endpoints(void **state)
{
	static const char yaml[] =
	    "apiVersion: v1\n"
	    "kind: Endpoints\n"
	    "metadata: {name: reviews}\n"
	    "subsets:\n"
	    "- addresses:\n"
	    "  - ip: 198.18.1.5\n"
	    "    targetRef: {kind: Pod, name: reviews-v1-abc, namespace: default}\n"
	    "  - {ip: \"fd00::1\"}\n"
	    "  notReadyAddresses:\n"
	    "  - {ip: 198.18.1.6, targetRef: {kind: Pod, name: reviews-v2-abc}}\n"
	    "  ports: [{name: http, port: 9080}, {name: s, port: 9, protocol: SCTP}]\n";
	const struct k8s_ep_subset *ss;
	struct k8s_result res;

	assert_int_equal(decode(state, yaml, &res), 0);
	assert_int_equal(res.nobjs, 1);
	assert_int_equal(res.nwarnings, 2); /* the IPv6 address and the SCTP port */
	assert_string_equal(res.objs[0].eps->service, "reviews");
	assert_int_equal(res.objs[0].eps->nsubsets, 1);
	ss = &res.objs[0].eps->subsets[0];
	assert_int_equal(ss->naddrs, 2);
	assert_int_equal(ss->addrs[0].ip, ip4("198.18.1.5"));
	assert_true(ss->addrs[0].ready);
	assert_string_equal(ss->addrs[0].pod_name, "reviews-v1-abc");
	assert_int_equal(ss->addrs[1].ip, ip4("198.18.1.6"));
	assert_false(ss->addrs[1].ready);
	assert_string_equal(ss->addrs[1].pod_ns, "default"); /* the object's namespace */
	assert_int_equal(ss->nports, 1);
	assert_string_equal(ss->ports[0].name, "http");
	assert_int_equal(ss->ports[0].port, 9080);
}

static void test_k8s_endpointslice(void **state)
{
	static const char yaml[] =
	    "apiVersion: discovery.k8s.io/v1\n"
	    "kind: EndpointSlice\n"
	    "metadata:\n"
	    "  name: reviews-abcde\n"
	    "  labels: {kubernetes.io/service-name: reviews}\n"
	    "addressType: IPv4\n"
	    "endpoints:\n"
	    "- addresses: [198.18.1.5]\n"
	    "  conditions: {ready: true}\n"
	    "  targetRef: {kind: Pod, name: reviews-v1-abc, namespace: default}\n"
	    "- addresses: [198.18.1.6]\n"
	    "  conditions: {ready: false, terminating: true}\n"
	    "- addresses: [198.18.1.7]\n"
	    "ports: [{name: http, port: 9080, protocol: TCP}]\n"
	    "---\n"
	    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata: {name: reviews-v6, labels: {kubernetes.io/service-name: reviews}}\n"
	    "addressType: IPv6\n"
	    "endpoints: [{addresses: [\"fd00::1\"]}]\n";
	const struct k8s_ep_subset *ss;
	struct k8s_result res;

	assert_int_equal(decode(state, yaml, &res), 0);
	assert_int_equal(res.nobjs, 1); /* the IPv6 slice is ignored */
	assert_non_null(strstr(res.warn, "EndpointSlice default/reviews-v6: addressType: IPv6 is "
					 "not supported"));
	assert_int_equal(res.objs[0].kind->id, K8S_ENDPOINTSLICE);
	assert_string_equal(res.objs[0].eps->service, "reviews");
	ss = &res.objs[0].eps->subsets[0];
	assert_int_equal(ss->naddrs, 3);
	assert_true(ss->addrs[0].ready);
	assert_string_equal(ss->addrs[0].pod_name, "reviews-v1-abc");
	assert_false(ss->addrs[1].ready);
	assert_true(ss->addrs[2].ready); /* no condition: unknown, taken as ready */
	assert_null(ss->addrs[2].pod_name);
	assert_int_equal(ss->nports, 1);
	assert_int_equal(ss->ports[0].port, 9080);
}

/* One row per rule: a bad object and the message it must produce. */
static const struct {
	const char *yaml;
	const char *err;
} error_table[] = {
    {"apiVersion: v1\nkind: Service\nmetadata: {name: reviews}\n"
     "spec: {ports: [{name: a, port: 80}, {name: b, port: 70000}]}\n",
     SRC ": Service default/reviews: spec.ports[1].port: 70000 is not a port (1-65535)"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r}\nspec: {ports: [{port: 0}]}\n",
     "spec.ports[0].port: 0 is not a port (1-65535)"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r}\nspec: {ports: [{port: http}]}\n",
     "spec.ports[0].port: http is not a port"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r}\nspec: {ports: [{name: a}]}\n",
     "spec.ports[0].port: required"},
    {"apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\n",
     "Pod x/<unnamed>: metadata.name: required"},
    {"apiVersion: v1\nkind: Pod\n", "Pod default/<unnamed>: metadata: required"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: Reviews}\nspec: {}\n",
     "metadata.name: \"Reviews\" is not a valid Service name"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: 1abc}\nspec: {}\n",
     "metadata.name: \"1abc\" is not a valid Service name"},
    {"apiVersion: v1\nkind: Pod\nmetadata: {name: a_b}\n",
     "metadata.name: \"a_b\" is not a valid Pod name"},
    {"apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: Prod}\n",
     "Pod Prod/a: metadata.namespace: \"Prod\" is not a valid namespace"},
    {"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nstatus: {podIP: 10.0.0.300}\n",
     "Pod default/a: status.podIP: \"10.0.0.300\" is not an IP address"},
    {"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nstatus: {podIPs: [{ip: x}]}\n",
     "status.podIPs[0].ip: \"x\" is not an IP address"},
    {"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
     "spec: {containers: [{name: c, ports: [{containerPort: 0}]}]}\n",
     "spec.containers[0].ports[0].containerPort: 0 is not a port (1-65535)"},
    {"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
     "spec: {containers: [{name: c, ports: [{containerPort: 80, protocol: ICMP}]}]}\n",
     "spec.containers[0].ports[0].protocol: \"ICMP\" is not a protocol (TCP, UDP, SCTP)"},
    {"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {hostNetwork: maybe}\n",
     "spec.hostNetwork: \"maybe\" is not a boolean"},
    {"apiVersion: v1\nkind: Pod\nmetadata: {name: a, annotations: "
     "{weir.dev/lb-weight: \"70000\"}}\n",
     "metadata.annotations[weir.dev/lb-weight]: \"70000\" is not a weight (0-65535)"},
    {"apiVersion: v1\nkind: Pod\nmetadata: {name: a, annotations: "
     "{weir.dev/lb-weight: \"-1\"}}\n",
     "metadata.annotations[weir.dev/lb-weight]: \"-1\" is not a weight (0-65535)"},
    {"apiVersion: v1\nkind: Pod\nmetadata: {name: a, annotations: {weir.dev/mesh: no}}\n",
     "metadata.annotations[weir.dev/mesh]: \"no\" is not on or off"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r, annotations: "
     "{weir.dev/path: fast}}\nspec: {}\n",
     "Service default/r: metadata.annotations[weir.dev/path]: \"fast\" is not kernel or "
     "agent"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r}\nspec: {type: Magic}\n",
     "spec.type: \"Magic\" is not a Service type"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r}\nspec: {clusterIP: 1.2.3}\n",
     "spec.clusterIP: \"1.2.3\" is not an IP address"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r}\n"
     "spec: {ports: [{name: a, port: 80}, {port: 81}]}\n",
     "spec.ports[1].name: required when a Service has more than one port"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r}\n"
     "spec: {ports: [{name: a, port: 80}, {name: a, port: 81}]}\n",
     "spec.ports[1].name: \"a\" is used by another port"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r}\n"
     "spec: {ports: [{port: 80, targetPort: Bad_Name}]}\n",
     "spec.ports[0].targetPort: \"Bad_Name\" is not a port number or name"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r}\n"
     "spec: {ports: [{port: 80, targetPort: 99999}]}\n",
     "spec.ports[0].targetPort: 99999 is not a port (1-65535)"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r}\nspec: {ports: {port: 80}}\n",
     "spec.ports: expected a list, found a mapping"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r}\nspec: [1]\n",
     "Service default/r: spec: expected a mapping, found a list"},
    {"apiVersion: v1\nkind: Service\nmetadata: {name: r, labels: {a: [1]}}\nspec: {}\n",
     "metadata.labels.a: expected a string, found a list"},
    {"apiVersion: v1\nkind: Endpoints\nmetadata: {name: r}\n"
     "subsets: [{addresses: [{ip: x}], ports: [{port: 80}]}]\n",
     "Endpoints default/r: subsets[0].addresses[0].ip: \"x\" is not an IP address"},
    {"apiVersion: v1\nkind: Endpoints\nmetadata: {name: r}\n"
     "subsets: [{addresses: [{hostname: a}]}]\n",
     "subsets[0].addresses[0].ip: required"},
    {"apiVersion: v1\nkind: Endpoints\nmetadata: {name: r}\n"
     "subsets: [{notReadyAddresses: [{ip: 1.2.3.4}], ports: [{port: 0}]}]\n",
     "subsets[0].ports[0].port: 0 is not a port"},
    {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
     "metadata: {name: r-1, labels: {kubernetes.io/service-name: r}}\n"
     "addressType: IPv4\nendpoints: [{conditions: {ready: true}}]\n",
     "EndpointSlice default/r-1: endpoints[0].addresses: at least one address is required"},
    {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
     "metadata: {name: r-1, labels: {kubernetes.io/service-name: r}}\n"
     "addressType: IPv4\nendpoints: [{addresses: [1.1.1.1], conditions: {ready: 2}}]\n",
     "endpoints[0].conditions.ready: \"2\" is not a boolean"},
    {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
     "metadata: {name: r-1, labels: {kubernetes.io/service-name: r}}\nendpoints: []\n",
     "addressType: required"},
    {"apiVersion: v1\nmetadata: {name: r}\n", ": kind: required"},
    {"kind: Pod\nmetadata: {name: r}\n", ": apiVersion: required"},
    {"- just\n- a list\n", "expected a Kubernetes object (a mapping), found a list"},
    {"apiVersion: v1\nkind: List\nitems:\n"
     "- {apiVersion: v1, kind: Pod, metadata: {name: ok}}\n"
     "- {apiVersion: v1, kind: Service, metadata: {name: x}, spec: {ports: [{port: -1}]}}\n",
     "Service default/x: spec.ports[0].port: -1 is not a port"},
    {"apiVersion: v1\nkind: List\nitems: [42]\n",
     SRC ": items[0]: expected a Kubernetes object (a mapping), found a scalar"},
    {"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  ownerReferences: [{kind: Job}]\n",
     "metadata.ownerReferences[0]: kind and name are required"},
};

static void test_k8s_errors(void **state)
{
	struct k8s_result res;
	size_t i;

	for (i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++) {
		int ret = decode(state, error_table[i].yaml, &res);

		if (ret != -EINVAL || !strstr(res.err, error_table[i].err))
			fail_msg("row %zu: ret %d, error \"%s\", want \"%s\"", i, ret, res.err,
				 error_table[i].err);
		assert_true(res.nerrors >= 1);
		assert_int_equal(res.nobjs, 0); /* a bad stream contributes nothing */
	}
}

/* All errors of a file are reported, not only the first. */
static void test_k8s_errors_all_reported(void **state)
{
	static const char yaml[] =
	    "apiVersion: v1\nkind: Service\nmetadata: {name: r}\n"
	    "spec: {clusterIP: x, ports: [{name: a, port: 0}, {name: b, port: 1, protocol: X}]}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: P}\n";
	struct k8s_result res;

	assert_int_equal(decode(state, yaml, &res), -EINVAL);
	assert_int_equal(res.nerrors, 4);
	assert_non_null(strstr(res.err, "spec.clusterIP"));
}

static void test_k8s_list_and_multidoc(void **state)
{
	static const char yaml[] =
	    "# a comment before the first document\n"
	    "apiVersion: v1\n"
	    "kind: List\n"
	    "items:\n"
	    "- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n"
	    "- apiVersion: v1\n"
	    "  kind: ServiceList\n"
	    "  items:\n"
	    "  - {apiVersion: v1, kind: Service, metadata: {name: s1}, spec: {ports: [{port: "
	    "1}]}}\n"
	    "  - {apiVersion: v1, kind: Service, metadata: {name: s2}, spec: {}}\n"
	    "---\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\n"
	    "...\n"
	    "---\n"
	    "apiVersion: v1\nkind: PodList\nitems: []\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: c}\n";
	struct k8s_result res;

	assert_int_equal(decode(state, yaml, &res), 0);
	assert_int_equal(res.nerrors, 0);
	assert_int_equal(res.nobjs, 5);
	assert_non_null(find(&res, K8S_POD, "a"));
	assert_non_null(find(&res, K8S_POD, "b"));
	assert_non_null(find(&res, K8S_POD, "c"));
	assert_non_null(find(&res, K8S_SERVICE, "s1"));
	assert_non_null(find(&res, K8S_SERVICE, "s2"));
	assert_string_equal(res.objs[0].meta.name, "a"); /* file order is kept */
	assert_string_equal(res.objs[4].meta.name, "c");
}

static void test_k8s_unknown_kind(void **state)
{
	static const char yaml[] =
	    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: reviews-v1}\n"
	    "spec: {replicas: 3}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
	    "---\n"
	    "apiVersion: v2\nkind: Pod\nmetadata: {name: b}\n";
	unsigned long warns = log_count(LOG_WARN);
	struct k8s_result res;

	assert_int_equal(decode(state, yaml, &res), 0);
	assert_int_equal(res.nerrors, 0);
	assert_int_equal(res.nwarnings, 2);
	assert_true(log_count(LOG_WARN) >= warns + 2); /* and they were logged */
	assert_string_equal(res.warn, SRC ": ignoring unknown kind Deployment (apiVersion "
					  "apps/v1)");
	assert_int_equal(res.nobjs, 1);
	assert_string_equal(res.objs[0].meta.name, "a");
	/* Same kind name in another group is not the core kind. */
	assert_int_equal(decode(state, "apiVersion: example.com/v1\nkind: Service\n", &res), 0);
	assert_int_equal(res.nobjs, 0);
	assert_non_null(strstr(res.warn, "unknown kind Service (apiVersion example.com/v1)"));
}

static void test_k8s_syntax_error(void **state)
{
	static const struct {
		const char *yaml;
		const char *err;
	} rows[] = {
	    {"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n   labels: x\n",
	     SRC ": YAML syntax error at line 5 column 10: mapping values are not allowed"},
	    {"apiVersion: v1\nkind: Pod\nmetadata: {name: [a\n",
	     "YAML syntax error at line 4 column 1"},
	    {"{\"apiVersion\": \"v1\", \"kind\": \"Pod\",,}\n", "YAML syntax error at line 1"},
	    {"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: \"open\n",
	     "YAML syntax error at line 6"},
	};
	struct k8s_result res;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int ret = decode(state, rows[i].yaml, &res);

		if (ret != -EINVAL || !strstr(res.err, rows[i].err))
			fail_msg("row %zu: ret %d, error \"%s\", want \"%s\"", i, ret, res.err,
				 rows[i].err);
		assert_int_equal(res.nobjs, 0); /* even the good document before the error */
	}
}

/* Input built to hurt: self-referencing aliases, alias bombs, very deep nesting. */
static void test_k8s_hostile_input(void **state)
{
	static const struct {
		const char *yaml;
		const char *err;
	} rows[] = {
	    {"&a {apiVersion: v1, kind: List, items: [*a]}\n",
	     SRC ": YAML alias at line 1 column 41: aliases are not supported"},
	    {"a: &x [1, 2]\nb: [*x, *x, *x]\n", "YAML alias at line 2 column 5"},
	    {"apiVersion: v1\nkind: Pod\nmetadata: {name: a, labels: &l {x: y}}\n---\n"
	     "apiVersion: v1\nkind: Pod\nmetadata: {name: b, labels: *l}\n",
	     "YAML alias at line 7 column 29"},
	};
	static char deep[200001];
	struct k8s_result res;
	size_t i, n = 0;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int ret = decode(state, rows[i].yaml, &res);

		if (ret != -EINVAL || !strstr(res.err, rows[i].err))
			fail_msg("row %zu: ret %d, error \"%s\", want \"%s\"", i, ret, res.err,
				 rows[i].err);
		assert_int_equal(res.nobjs, 0);
	}
	/* 100000 levels of lists: refused at level 65, quickly and without recursion. */
	for (i = 0; i < 100000; i++)
		deep[n++] = '[';
	for (i = 0; i < 100000; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	assert_int_equal(decode(state, deep, &res), -EINVAL);
	assert_non_null(strstr(res.err, "line 1 column 65: nested deeper than 64 levels"));
	/* Nested Lists within the limit are fine. */
	assert_int_equal(decode(state,
				"{apiVersion: v1, kind: List, items: [{apiVersion: v1, kind: List, "
				"items: [{apiVersion: v1, kind: Pod, metadata: {name: a}}]}]}\n",
				&res),
			 0);
	assert_int_equal(res.nobjs, 1);
}

static void test_k8s_json(void **state)
{
	static const char json[] =
	    "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n"
	    " {\"apiVersion\": \"v1\", \"kind\": \"Service\",\n"
	    "  \"metadata\": {\"name\": \"ratings\", \"namespace\": \"bookinfo\"},\n"
	    "  \"spec\": {\"clusterIP\": \"198.19.0.11\", \"selector\": {\"app\": \"ratings\"},\n"
	    "   \"ports\": [{\"name\": \"http\", \"port\": 9080, \"targetPort\": 9080}]}},\n"
	    " {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"},\n"
	    "  \"spec\": {\"hostNetwork\": false}, \"status\": {\"podIP\": null}}]}\n";
	const struct k8s_object *o;
	struct k8s_result res;

	assert_int_equal(decode(state, json, &res), 0);
	assert_int_equal(res.nobjs, 2);
	o = find(&res, K8S_SERVICE, "ratings");
	assert_non_null(o);
	assert_string_equal(o->meta.ns, "bookinfo");
	assert_int_equal(o->svc->vip, ip4("198.19.0.11"));
	assert_int_equal(o->svc->ports[0].port, 9080);
	o = find(&res, K8S_POD, "p");
	assert_null(o->pod->ip_str);
}

static void test_k8s_kind_table(void **state)
{
	struct k8s_result res;
	int i;

	for (i = 0; i < K8S_KIND_MAX; i++) {
		const struct k8s_kind *k = k8s_kind_get(i);

		assert_non_null(k);
		assert_int_equal(k->id, i);
		assert_non_null(k->decode);
	}
	assert_null(k8s_kind_get(K8S_KIND_MAX));
	/* An empty stream and a comment-only stream are valid and empty. */
	assert_int_equal(decode(state, "", &res), 0);
	assert_int_equal(res.nobjs, 0);
	assert_int_equal(decode(state, "# nothing here\n", &res), 0);
	assert_int_equal(res.nobjs + res.nerrors + res.nwarnings, 0);
}

/* The list rules every kind shares (k8s_dec_each): a dropped item's slot is reused, one array
 * can collect several lists in order, and podIPs stops at its first bad item. */
static void test_k8s_list_items(void **state)
{
	static const char yaml[] =
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
	    "spec:\n"
	    "  containers:\n"
	    "  - ports: [{containerPort: 1, protocol: SCTP}, {name: a, containerPort: 80}]\n"
	    "  - ports: [{name: b, containerPort: 53, protocol: UDP}]\n"
	    "---\n"
	    "apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\n"
	    "subsets:\n"
	    "- addresses: [{ip: \"fd00::1\"}, {ip: 10.0.0.1}]\n"
	    "  notReadyAddresses: [{ip: 10.0.0.2}]\n";
	struct k8s_result res;
	const struct k8s_object *o;
	const struct k8s_ep_subset *ss;

	assert_int_equal(decode(state, yaml, &res), 0);
	assert_int_equal(res.nwarnings, 2); /* the SCTP port, the IPv6 address */
	o = find(&res, K8S_POD, "p");
	assert_non_null(o);
	assert_int_equal(o->pod->nports, 2);
	assert_string_equal(o->pod->ports[0].name, "a");
	assert_int_equal(o->pod->ports[0].port, 80);
	assert_int_equal(o->pod->ports[0].proto, IPPROTO_TCP);
	assert_string_equal(o->pod->ports[1].name, "b");
	assert_int_equal(o->pod->ports[1].proto, IPPROTO_UDP);
	o = find(&res, K8S_ENDPOINTS, "e");
	assert_non_null(o);
	assert_int_equal(o->eps->nsubsets, 1);
	ss = &o->eps->subsets[0];
	assert_int_equal(ss->naddrs, 2);
	assert_int_equal(ss->addrs[0].ip, inet_addr("10.0.0.1"));
	assert_true(ss->addrs[0].ready);
	assert_int_equal(ss->addrs[1].ip, inet_addr("10.0.0.2"));
	assert_false(ss->addrs[1].ready);

	/* Every bad port is reported; only the first bad podIPs item is. */
	assert_int_equal(decode(state,
				"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
				"spec: {containers: [{ports: [x, y]}]}\n"
				"status: {podIPs: [{ip: bad1}, {ip: bad2}]}\n",
				&res),
			 -EINVAL);
	assert_int_equal(res.nerrors, 3);
	assert_string_equal(res.err, SRC ": Pod default/p: spec.containers[0].ports[0]: expected "
					 "a mapping, found a scalar");
}

/* An empty version once made the kind lookup loop forever. */
static void test_k8s_empty_api_version(void **state)
{
	struct k8s_result res;

	assert_int_equal(decode(state, "apiVersion: \"\"\nkind: Pod\nmetadata: {name: a}\n", &res),
			 0);
	assert_int_equal(res.nobjs, 0);
	assert_string_equal(res.warn, SRC ": ignoring Pod: apiVersion  is not supported");
	assert_int_equal(
	    decode(state, "apiVersion: discovery.k8s.io/\nkind: EndpointSlice\n", &res), 0);
	assert_int_equal(res.nwarnings, 1);
	assert_int_equal(res.nobjs, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_k8s_pod, teardown),
	    cmocka_unit_test_teardown(test_k8s_pod_status, teardown),
	    cmocka_unit_test_teardown(test_k8s_service, teardown),
	    cmocka_unit_test_teardown(test_k8s_endpoints, teardown),
	    cmocka_unit_test_teardown(test_k8s_endpointslice, teardown),
	    cmocka_unit_test_teardown(test_k8s_errors, teardown),
	    cmocka_unit_test_teardown(test_k8s_errors_all_reported, teardown),
	    cmocka_unit_test_teardown(test_k8s_list_and_multidoc, teardown),
	    cmocka_unit_test_teardown(test_k8s_unknown_kind, teardown),
	    cmocka_unit_test_teardown(test_k8s_syntax_error, teardown),
	    cmocka_unit_test_teardown(test_k8s_hostile_input, teardown),
	    cmocka_unit_test_teardown(test_k8s_json, teardown),
	    cmocka_unit_test_teardown(test_k8s_kind_table, teardown),
	    cmocka_unit_test_teardown(test_k8s_list_items, teardown),
	    cmocka_unit_test_teardown(test_k8s_empty_api_version, teardown),
	};

	log_init("k8s_test", LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
