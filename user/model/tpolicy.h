/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Telemetry policy per workload, compiled from Istio's Telemetry objects and the mesh config
 * with Istio's precedence: the root namespace (istio-system, and the mesh config's defaults)
 * < the workload's namespace < a Telemetry that selects the workload (selector.matchLabels
 * or targetRef to a Service that selects it). Later levels override field by field.
 */
#ifndef WEIR_USER_TPOLICY_H
#define WEIR_USER_TPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct k8s_object;
struct model;
struct model_pod;

#define TPOLICY_DEFAULT_PPM 10000 /* 1 %: Istio's default defaultConfig.tracing.sampling */

/* What one workload's telemetry does. */
struct tpolicy {
	uint32_t sample_ppm;   /* sampling of new traces, parts per million */
	bool report;	       /* spans are reported: a tracing provider and not disabled */
	bool disabled;	       /* disableSpanReporting said so (even with --zipkin-addr) */
	int8_t access_log;     /* 1 on, 0 off, -1 unset: for the access-log writer to read */
	const char *provider;  /* the tracing provider's name; NULL: none */
	const char *collector; /* "ip:port" the provider resolved to; NULL: none */
	const char *access_log_provider; /* accessLogging provider name; NULL: unset */
	const char *source; /* the last object that set a field ("file: ns/name"), or NULL */
};

/* Compiled telemetry of a snapshot. */
struct model_telemetry {
	struct tpolicy mesh;	    /* the root namespace's: what a Pod without one gets */
	const struct tpolicy *pods; /* one per model.pods[i], same order */
	size_t npods;
};

/*
 * Compiles the Telemetry and ConfigMap objects among the <n> at <objs> against the Pods and
 * Services of <m> into arena <a> and sets *<out>. A provider that names no known Service
 * port, or one without a ready endpoint, leaves the collector unset and is logged. Returns
 * 0 or -ENOMEM.
 */
int tpolicy_build(struct arena *a, const struct model *m, const struct k8s_object *const *objs,
		  size_t n, const struct model_telemetry **out);

/* The policy of <pod> (a Pod of <m>, or NULL: the mesh's). Never NULL while <m> lives. */
const struct tpolicy *tpolicy_of(const struct model *m, const struct model_pod *pod);

#endif /* WEIR_USER_TPOLICY_H */
