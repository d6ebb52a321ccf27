/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's view of the cluster: an immutable snapshot built by the config store from
 * Kubernetes objects (Pods, Services, Endpoints, EndpointSlices). Workers and the control
 * thread read a snapshot without locks; a new one replaces it whole (see agent.c).
 * One arena owns every string and array of a snapshot, freed by model_free().
 */
#ifndef WEIR_USER_MODEL_H
#define WEIR_USER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <weir/service.h>

#include "config/k8s.h"

/* A v1 Pod with what the mesh needs of it. */
struct model_pod {
	const char *ns;	      /* metadata.namespace ("default" when absent) */
	const char *name;     /* metadata.name */
	const char *node;     /* spec.nodeName; NULL when unscheduled */
	const char *ip_str;   /* status.podIP; NULL when none yet */
	uint32_t ip;	      /* the same, network order; 0 when none or finished */
	uint32_t host_ip;     /* status.hostIP: its node's address, network order; 0 when none */
	const char *workload; /* owning workload: Deployment from the ReplicaSet owner, else
			       * StatefulSet/DaemonSet/Job owner, else the Pod name */
	const char *app;      /* canonical service: service.istio.io/canonical-name,
			       * app.kubernetes.io/name, app label, else workload */
	const char *version;  /* canonical revision: service.istio.io/canonical-revision,
			       * app.kubernetes.io/version, version label, else "latest" */
	const char *sa;	      /* spec.serviceAccountName ("default" when absent) */
	uint16_t weight;      /* annotation weir.dev/lb-weight (default 1, 0 drains) */
	bool ready;	      /* status condition Ready (true when no conditions given) */
	bool host_network;    /* spec.hostNetwork: never enrolled */
	bool mesh;	      /* enrolled when on this node: false for hostNetwork Pods, the
			       * label istio.io/dataplane-mode=none or the annotation
			       * weir.dev/mesh=off, and finished Pods */
	const struct k8s_kv *labels; /* metadata.labels */
	size_t nlabels;
	const char *source; /* where it came from, for messages ("dir/file.yaml") */
	uint32_t wl_id;	    /* its workload's weir id, set by model_set_ids(); 0 when none */
};

/* One backend of a Service port. */
struct model_endpoint {
	uint32_t ip;		     /* network order */
	uint16_t port;		     /* target port, host order */
	bool ready;		     /* not ready endpoints are not load-balanced to */
	const struct model_pod *pod; /* the Pod behind it, NULL when unknown */
};

/* One port of a Service with its resolved endpoints. */
struct model_svc_port {
	const char *name;      /* ports[].name; "" when unnamed */
	uint16_t port;	       /* ports[].port, host order */
	uint8_t proto;	       /* IPPROTO_TCP (default), IPPROTO_UDP */
	const char *app_proto; /* appProtocol or the name prefix (http, http2, grpc, tcp) */
	const struct model_endpoint *eps;
	size_t neps;
};

/* A v1 Service of type ClusterIP (headless Services carry vip 0 and are not programmed). */
struct model_service {
	const char *ns;
	const char *name;
	uint32_t vip;  /* spec.clusterIP, network order; 0 for None/absent */
	uint16_t mode; /* enum weir_mode: annotation weir.dev/path: kernel|agent */
	const struct model_svc_port *ports;
	size_t nports;
	const struct k8s_kv *selector;
	size_t nselector;
	const char *source;
	uint32_t id; /* its weir service id, set by model_set_ids(); 0 when none */
};

struct model_routes;
struct model_telemetry;

struct model {
	uint64_t generation; /* increases with every snapshot the store publishes */
	const struct model_pod *pods;
	size_t npods;
	const struct model_service *services;
	size_t nservices;
	const struct model_routes *routes;	 /* compiled traffic management (model/route.h);
						  * NULL when none was compiled */
	const struct model_telemetry *telemetry; /* tracing and access-log policy per Pod
						  * (model/tpolicy.h); NULL: Istio's defaults */
	void *arena; /* owner of everything above (private to model.c) */
};

/*
 * Find the Service port behind <vip>:<port> (both network order) for <proto>.
 * Returns the port and sets *<svc>, or NULL when none matches.
 */
const struct model_svc_port *model_find_svc_port(const struct model *m, uint32_t vip,
						 uint16_t port_be, uint8_t proto,
						 const struct model_service **svc);

/* The Pod with address <ip> (network order), or NULL. */
const struct model_pod *model_find_pod_by_ip(const struct model *m, uint32_t ip);

/* The Pod <ns>/<name>, or NULL. */
const struct model_pod *model_find_pod(const struct model *m, const char *ns, const char *name);

struct k8s_object;

/*
 * Builds snapshot number <generation> from the <n> objects at <objs> (see k8s.h), given in
 * priority order: of two objects with the same kind, namespace and name, the first wins.
 * Resolves every Service port to its endpoints (EndpointSlices, else Endpoints, else the
 * selector over Pods) and copies all it keeps into the snapshot's own arena, so <objs> may be
 * freed afterwards. The caller owns the result (model_free). Returns NULL and sets errno.
 */
struct model *model_build(const struct k8s_object *const *objs, size_t n, uint64_t generation);

struct store;

/*
 * Builds the next snapshot from the objects in force in config store <s> (store_objects()).
 * The caller owns the result (model_free). Returns NULL and sets errno.
 */
struct model *model_from_store(struct store *s);

/* Frees a snapshot and everything it owns. Accepts NULL. */
void model_free(struct model *m);

/*
 * Records the weir ids of <m>'s workloads and services in it (model_pod.wl_id and
 * model_service.id), asking <wl_id> and <svc_id> (with <arg>) for each: the relay reads
 * them at connect() so that a connection's counts keep the names it was opened with even
 * after the snapshot that had them is gone. Only before <m> is published.
 */
void model_set_ids(struct model *m, uint32_t (*wl_id)(const struct model_pod *, void *),
		   uint32_t (*svc_id)(const struct model_service *, void *), void *arg);

#endif /* WEIR_USER_MODEL_H */
