// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the telemetry configuration: config/k8s_telemetry.c (Telemetry and the mesh
 * config ConfigMap: fields, errors naming the field, warnings for what weir does not enforce)
 * and model/tpolicy.c (Istio's precedence root < namespace < workload, field by field, and
 * the Zipkin provider resolved to an endpoint of its Service).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/k8s.h"
#include "config/k8s_telemetry.h"
#include "lib/arena.h"
#include "model/model.h"
#include "model/tpolicy.h"

/* Decodes <yaml> into <a>; returns k8s_decode's result, the outcome in <res>. */
static int decode(struct arena *a, const char *yaml, struct k8s_result *res)
{
	return k8s_decode(a, "test.yaml", yaml, strlen(yaml), res);
}

static const char mesh_cm[] =
    "apiVersion: v1\n"
    "kind: ConfigMap\n"
    "metadata: {name: istio, namespace: istio-system}\n"
    "data:\n"
    "  mesh: |-\n"
    "    accessLogFile: /dev/stdout\n"
    "    defaultConfig:\n"
    "      tracing:\n"
    "        sampling: 25.5\n"
    "    extensionProviders:\n"
    "    - name: zipkin\n"
    "      zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}\n"
    "    - name: otel\n"
    "      opentelemetry: {service: otel.x, port: 4317}\n"
    "    defaultProviders:\n"
    "      tracing: [zipkin]\n"
    "      accessLogging: [envoy]\n";

static void test_tpolicy_decode_mesh(void **state)
{
	struct arena *a = arena_new();
	struct k8s_result res;
	const struct istio_meshcfg *mc;

	(void)state;
	assert_int_equal(decode(a, mesh_cm, &res), 0);
	assert_int_equal(res.nobjs, 1);
	assert_int_equal(res.objs[0].kind->id, K8S_CONFIGMAP);
	mc = res.objs[0].cm->mesh;
	assert_non_null(mc);
	assert_int_equal(mc->sample_ppm, 255000);
	assert_int_equal(mc->nproviders, 2);
	assert_string_equal(mc->providers[0].zipkin_service,
			    "zipkin.istio-system.svc.cluster.local");
	assert_int_equal(mc->providers[0].zipkin_port, 9411);
	assert_null(mc->providers[1].zipkin_service);
	assert_string_equal(mc->default_tracing, "zipkin");
	assert_string_equal(mc->default_access_log, "envoy");
	/* accessLogFile (unused) and opentelemetry (unsupported) warn, never fail. */
	assert_true(res.nwarnings >= 2);
	arena_free(a);
}

static void test_tpolicy_decode_errors(void **state)
{
	static const struct {
		const char *yaml, *want; /* want: a piece of the first error */
	} cases[] = {
	    {"apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t}\n"
	     "spec:\n  tracing:\n  - randomSamplingPercentage: 150\n",
	     "spec.tracing[0].randomSamplingPercentage"},
	    {"apiVersion: telemetry.istio.io/v1alpha1\nkind: Telemetry\nmetadata: {name: t}\n"
	     "spec:\n  tracng: []\n",
	     "spec.tracng"},
	    {"apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t}\n"
	     "spec:\n  tracing:\n  - providers: [{nam: zipkin}]\n",
	     "spec.tracing[0].providers[0].nam"},
	    {"apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t}\n"
	     "spec:\n  targetRef: {kind: Gateway, name: gw}\n",
	     "spec.targetRef.kind"},
	    {"apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: t}\n"
	     "spec:\n  accessLogging:\n  - disabled: maybe\n",
	     "spec.accessLogging[0].disabled"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\n"
	     "data:\n  mesh: |-\n    extensionProviders:\n    - name: z\n      zipkin: {port: "
	     "9411}\n",
	     "data.mesh.extensionProviders[0].zipkin.service"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\n"
	     "data:\n  mesh: \"a: [\"\n",
	     "data.mesh"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\n"
	     "data:\n  mesh: \"defaultConfig: {tracing: {sampling: lots}}\"\n",
	     "data.mesh.defaultConfig.tracing.sampling"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arena *a = arena_new();
		struct k8s_result res;

		assert_int_equal(decode(a, cases[i].yaml, &res), -EINVAL);
		if (!strstr(res.err, cases[i].want))
			fail_msg("case %zu: error \"%s\" does not name %s", i, res.err,
				 cases[i].want);
		arena_free(a);
	}
}

static void test_tpolicy_other_configmaps_ignored(void **state)
{
	struct arena *a = arena_new();
	struct k8s_result res;

	(void)state;
	assert_int_equal(decode(a,
				"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config}\n"
				"data: {anything: goes, nested: \"x: [\"}\n",
				&res),
			 0);
	assert_int_equal(res.nobjs, 1);
	assert_null(res.objs[0].cm->mesh);
	arena_free(a);
}

static const char cluster[] =
    "apiVersion: v1\nkind: Pod\n"
    "metadata: {name: pp, namespace: default, labels: {app: pp}}\n"
    "spec: {nodeName: n1}\nstatus: {podIP: 10.0.0.1}\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: rv, namespace: default, labels: {app: rv}}\n"
    "spec: {nodeName: n1}\nstatus: {podIP: 10.0.0.2}\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: other, namespace: other, labels: {app: o}}\n"
    "spec: {nodeName: n1}\nstatus: {podIP: 10.0.0.3}\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: zk, namespace: istio-system, labels: {app: zk}}\n"
    "spec: {nodeName: n1}\nstatus: {podIP: 10.0.0.9}\n"
    "---\napiVersion: v1\nkind: Service\n"
    "metadata: {name: zipkin, namespace: istio-system}\n"
    "spec: {clusterIP: 10.96.0.9, selector: {app: zk},\n"
    "  ports: [{port: 9411, targetPort: 19411}]}\n"
    "---\napiVersion: v1\nkind: Service\n"
    "metadata: {name: rv, namespace: default}\n"
    "spec: {clusterIP: 10.96.0.2, selector: {app: rv}, ports: [{port: 80}]}\n";

/* Builds a model of cluster + mesh_cm + <extra> and checks the policies. */
static struct model *build(struct arena *a, const char *extra)
{
	const struct k8s_object *objs[32];
	struct k8s_result r1, r2, r3;
	size_t n = 0;

	assert_int_equal(decode(a, cluster, &r1), 0);
	assert_int_equal(decode(a, mesh_cm, &r2), 0);
	assert_int_equal(decode(a, extra, &r3), 0);
	for (size_t i = 0; i < r3.nobjs; i++)
		objs[n++] = &r3.objs[i];
	for (size_t i = 0; i < r1.nobjs; i++)
		objs[n++] = &r1.objs[i];
	for (size_t i = 0; i < r2.nobjs; i++)
		objs[n++] = &r2.objs[i];
	return model_build(objs, n, 1);
}

static const struct tpolicy *pol(const struct model *m, const char *ns, const char *name)
{
	const struct model_pod *p = model_find_pod(m, ns, name);

	assert_non_null(p);
	return tpolicy_of(m, p);
}

static void test_tpolicy_precedence(void **state)
{
	static const char extra[] =
	    /* root: 50 %, access logs off mesh-wide */
	    "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\n"
	    "metadata: {name: mesh-default, namespace: istio-system}\n"
	    "spec:\n  tracing: [{randomSamplingPercentage: 50}]\n"
	    "  accessLogging: [{disabled: true}]\n"
	    /* namespace default: 10 %, access logs back on */
	    "---\napiVersion: telemetry.istio.io/v1\nkind: Telemetry\n"
	    "metadata: {name: ns, namespace: default}\n"
	    "spec:\n  tracing: [{randomSamplingPercentage: 10}]\n"
	    "  accessLogging: [{providers: [{name: envoy}]}]\n"
	    /* workload rv by targetRef: no span reporting (sampling inherited) */
	    "---\napiVersion: telemetry.istio.io/v1\nkind: Telemetry\n"
	    "metadata: {name: rv, namespace: default}\n"
	    "spec:\n  targetRefs: [{kind: Service, name: rv}]\n"
	    "  tracing: [{disableSpanReporting: true}]\n"
	    /* a selector matching nothing */
	    "---\napiVersion: telemetry.istio.io/v1\nkind: Telemetry\n"
	    "metadata: {name: none, namespace: default}\n"
	    "spec:\n  selector: {matchLabels: {app: nobody}}\n"
	    "  tracing: [{randomSamplingPercentage: 99}]\n";
	struct arena *a = arena_new();
	struct model *m = build(a, extra);
	const struct tpolicy *p;

	(void)state;
	assert_non_null(m);
	/* The mesh: root Telemetry over the mesh config's 25.5 %; provider resolved to the
	 * zipkin Service's endpoint (target port), not its VIP. */
	p = tpolicy_of(m, NULL);
	assert_int_equal(p->sample_ppm, 500000);
	assert_string_equal(p->provider, "zipkin");
	assert_string_equal(p->collector, "10.0.0.9:19411");
	assert_true(p->report);
	assert_int_equal(p->access_log, 0);
	p = pol(m, "other", "other"); /* no namespace Telemetry: the mesh's */
	assert_int_equal(p->sample_ppm, 500000);
	assert_int_equal(p->access_log, 0);
	p = pol(m, "default", "pp"); /* namespace level */
	assert_int_equal(p->sample_ppm, 100000);
	assert_int_equal(p->access_log, 1);
	assert_string_equal(p->access_log_provider, "envoy");
	assert_true(p->report);
	p = pol(m, "default", "rv"); /* workload level on top of the namespace's */
	assert_int_equal(p->sample_ppm, 100000);
	assert_false(p->report);
	assert_true(p->disabled);
	assert_int_equal(p->access_log, 1);
	model_free(m);
	arena_free(a);
}

static void test_tpolicy_defaults_and_unknown_provider(void **state)
{
	static const char extra[] = "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\n"
				    "metadata: {name: pp, namespace: default}\n"
				    "spec:\n  selector: {matchLabels: {app: pp}}\n"
				    "  tracing: [{providers: [{name: nosuch}]}]\n";
	struct arena *a = arena_new();
	struct model *m = build(a, extra);
	const struct tpolicy *p;

	(void)state;
	assert_non_null(m);
	p = pol(m, "default", "pp");
	assert_string_equal(p->provider, "nosuch");
	assert_null(p->collector); /* logged, not exported */
	p = pol(m, "default", "rv");
	assert_int_equal(p->sample_ppm, 255000); /* the mesh config's */
	model_free(m);
	arena_free(a);
	/* Without any telemetry config: Istio's 1 %, no provider, nothing reported. */
	a = arena_new();
	{
		struct k8s_result r;
		const struct k8s_object *objs[8];
		size_t n = 0;

		assert_int_equal(decode(a, cluster, &r), 0);
		for (size_t i = 0; i < r.nobjs; i++)
			objs[n++] = &r.objs[i];
		m = model_build(objs, n, 1);
	}
	assert_non_null(m);
	p = pol(m, "default", "pp");
	assert_int_equal(p->sample_ppm, TPOLICY_DEFAULT_PPM);
	assert_false(p->report);
	assert_null(p->provider);
	assert_int_equal(p->access_log, -1);
	model_free(m);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tpolicy_decode_mesh),
	    cmocka_unit_test(test_tpolicy_decode_errors),
	    cmocka_unit_test(test_tpolicy_other_configmaps_ignored),
	    cmocka_unit_test(test_tpolicy_precedence),
	    cmocka_unit_test(test_tpolicy_defaults_and_unknown_provider),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
