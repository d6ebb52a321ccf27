/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Telemetry configuration as Istio users write it: telemetry.istio.io Telemetry (tracing
 * providers and sampling, span reporting, access logging) and the mesh config (ConfigMap
 * istio in istio-system, key mesh: extension providers, default providers, default
 * sampling). Decoded here; model/telemetry.c compiles them per workload.
 */
#ifndef WEIR_USER_K8S_TELEMETRY_H
#define WEIR_USER_K8S_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/k8s.h"

#define ISTIO_ROOT_NS	"istio-system" /* Istio's default root namespace */
#define ISTIO_MESH_CM	"istio"	       /* the mesh config's ConfigMap */
#define ISTIO_UNSET	(-1)	       /* tri-state fields: not said */
#define ISTIO_PPM_UNSET UINT32_MAX     /* a sampling percentage not given */

/* telemetry.istio.io Telemetry. */
struct istio_telemetry {
	const struct k8s_kv *match; /* selector.matchLabels; none: the whole namespace */
	size_t nmatch;
	const char *target_kind;      /* targetRef(s)[0].kind (Service): the workloads it selects */
	const char *target_name;      /* NULL: no targetRef */
	const char *tracing_provider; /* tracing[0].providers[0].name; NULL: inherited */
	uint32_t sample_ppm;	      /* tracing[0].randomSamplingPercentage; ISTIO_PPM_UNSET */
	int8_t disable_spans;	      /* tracing[0].disableSpanReporting: 0/1, ISTIO_UNSET */
	int8_t access_log;	      /* accessLogging[0]: 1 on, 0 disabled, ISTIO_UNSET */
	const char *access_log_provider; /* accessLogging[0].providers[0].name; NULL */
};

/* One extensionProviders[] entry of the mesh config. */
struct istio_provider {
	const char *name;
	const char *zipkin_service; /* zipkin.service; NULL when not a zipkin provider */
	uint16_t zipkin_port;	    /* zipkin.port */
};

/* The mesh config: ConfigMap istio in istio-system, data.mesh. */
struct istio_meshcfg {
	const struct istio_provider *providers;
	size_t nproviders;
	const char *default_tracing;	/* defaultProviders.tracing[0]; NULL: none */
	const char *default_access_log; /* defaultProviders.accessLogging[0]; NULL: none */
	uint32_t sample_ppm;		/* defaultConfig.tracing.sampling; ISTIO_PPM_UNSET */
};

/* A v1 ConfigMap: only the mesh config is read; any other ConfigMap is accepted as is. */
struct k8s_configmap {
	const struct istio_meshcfg *mesh; /* istio/istio-system with data.mesh; else NULL */
};

/* Kind decoders: rows of the kind table in k8s.c (see struct k8s_kind). */
int k8s_telemetry_decode(struct k8s_dec *d, struct yaml_node_s *root, struct k8s_object *o);
int k8s_telemetry_configmap(struct k8s_dec *d, struct yaml_node_s *root, struct k8s_object *o);

#endif /* WEIR_USER_K8S_TELEMETRY_H */
