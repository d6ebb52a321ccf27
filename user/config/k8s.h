/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes objects as weir reads them: one YAML (or JSON) stream in, a validated array of
 * typed objects out. Every kind is one row of a table (group, kind, decode function), so an
 * Istio kind is added by writing its decoder and adding its row; nothing else changes.
 */
#ifndef WEIR_USER_K8S_H
#define WEIR_USER_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

/* The kinds weir understands; the index of a row in the kind table. */
enum k8s_kind_id {
	K8S_POD,
	K8S_SERVICE,
	K8S_ENDPOINTS,
	K8S_ENDPOINTSLICE,
	K8S_VIRTUALSERVICE,  /* networking.istio.io (config/k8s_istio.h) */
	K8S_DESTINATIONRULE, /* networking.istio.io */
	K8S_HEALTHCHECK,     /* weir.dev */
	K8S_RATELIMIT,	     /* weir.dev */
	K8S_TELEMETRY,	     /* telemetry.istio.io (config/k8s_telemetry.h) */
	K8S_CONFIGMAP,	     /* v1: only istio/istio-system, the mesh config, is read */
	K8S_KIND_MAX,
};

/* A label or annotation. */
struct k8s_kv {
	const char *key;
	const char *value;
};

/* metadata.ownerReferences[] */
struct k8s_owner {
	const char *kind;
	const char *name;
	bool controller; /* ownerReferences[].controller: the managing controller */
};

/* metadata: common to every kind. */
struct k8s_meta {
	const char *ns; /* "default" when absent */
	const char *name;
	const struct k8s_kv *labels;
	size_t nlabels;
	const struct k8s_kv *annotations;
	size_t nannotations;
	const struct k8s_owner *owners;
	size_t nowners;
	bool deleting;	     /* metadata.deletionTimestamp is set: terminating */
	const char *created; /* metadata.creationTimestamp (RFC 3339), NULL when absent */
};

/* spec.containers[].ports[] of a Pod (SCTP ports are dropped at decode). */
struct k8s_container_port {
	const char *name; /* "" when unnamed */
	uint16_t port;
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP */
};

struct k8s_pod {
	const char *node;   /* spec.nodeName, NULL when unscheduled */
	const char *sa;	    /* spec.serviceAccountName ("default" when absent) */
	const char *ip_str; /* first IPv4 of status.podIP / podIPs, NULL when none */
	uint32_t ip;	    /* the same, network order */
	uint32_t host_ip;   /* status.hostIP (the node's address), network order; 0 when none */
	bool host_network;
	bool ready;	 /* see model_pod.ready */
	bool terminal;	 /* status.phase Succeeded or Failed */
	bool mesh_off;	 /* annotation weir.dev/mesh: off or label istio.io/dataplane-mode:
			  * none */
	uint16_t weight; /* annotation weir.dev/lb-weight, default 1 */
	const struct k8s_container_port *ports; /* all containers' ports, in order */
	size_t nports;
};

/* spec.ports[] of a Service. */
struct k8s_svc_port {
	const char *name;	 /* "" when unnamed */
	const char *target_name; /* named targetPort, NULL when numeric */
	const char *app_proto;	 /* spec.ports[].appProtocol, NULL when absent */
	uint16_t port;
	uint16_t target_port; /* numeric targetPort; defaults to port */
	uint8_t proto;	      /* IPPROTO_TCP, IPPROTO_UDP */
};

struct k8s_service {
	const char *type; /* spec.type: ClusterIP (default), NodePort, LoadBalancer,
			   * ExternalName */
	uint32_t vip;	  /* spec.clusterIP, network order; 0 when None/absent/IPv6 */
	bool headless;	  /* clusterIP: None */
	uint16_t mode;	  /* enum weir_mode from weir.dev/path */
	const struct k8s_svc_port *ports;
	size_t nports;
	const struct k8s_kv *selector; /* empty: endpoints are managed by hand */
	size_t nselector;
};

/* One address of an Endpoints subset or an EndpointSlice endpoint. */
struct k8s_ep_addr {
	uint32_t ip; /* network order */
	bool ready;
	const char *pod_ns; /* targetRef of kind Pod; NULL when absent */
	const char *pod_name;
};

struct k8s_ep_port {
	const char *name; /* "" when unnamed */
	uint16_t port;
	uint8_t proto;
};

/* A set of addresses all serving the same ports. */
struct k8s_ep_subset {
	const struct k8s_ep_addr *addrs;
	size_t naddrs;
	const struct k8s_ep_port *ports;
	size_t nports;
};

/* v1 Endpoints (subsets) and discovery.k8s.io/v1 EndpointSlice (one subset) alike. */
struct k8s_endpoints {
	const char *service; /* Endpoints: its name; slice: label kubernetes.io/service-name */
	const struct k8s_ep_subset *subsets;
	size_t nsubsets;
};

struct k8s_kind;
struct istio_vs;
struct istio_dr;
struct weir_healthcheck;
struct weir_ratelimit;
struct istio_telemetry;
struct k8s_configmap;

/* One decoded object. All memory belongs to the arena it was decoded into. */
struct k8s_object {
	const struct k8s_kind *kind;
	struct k8s_meta meta;
	const char *source; /* "dir/file.yaml" or the source's name, for messages */
	union {		    /* by kind->id */
		struct k8s_pod *pod;
		struct k8s_service *svc;
		struct k8s_endpoints *eps; /* K8S_ENDPOINTS and K8S_ENDPOINTSLICE */
		struct istio_vs *vs;	   /* config/k8s_istio.h */
		struct istio_dr *dr;
		struct weir_healthcheck *hc;
		struct weir_ratelimit *rl;
		struct istio_telemetry *tel; /* config/k8s_telemetry.h */
		struct k8s_configmap *cm;
		void *body;
	};
};

struct k8s_dec;
struct yaml_node_s;

/* One row of the kind table: the contract every kind follows. */
struct k8s_kind {
	enum k8s_kind_id id;
	const char *group;    /* API group, "" for the core group */
	const char *versions; /* accepted versions, space separated */
	const char *kind;
	/*
	 * Fills <o> (meta already decoded and validated) from the object's mapping node.
	 * Reports every problem through the decoder (which logs and counts it) and returns
	 * 0, -EINVAL (the object is invalid), or -ENOMEM.
	 */
	int (*decode)(struct k8s_dec *d, struct yaml_node_s *root, struct k8s_object *o);
};

/* The outcome of decoding one stream. */
struct k8s_result {
	struct k8s_object *objs; /* in the arena; valid objects only */
	size_t nobjs;
	unsigned nerrors; /* errors found; any error rejects the whole stream */
	unsigned nwarnings;
	char err[512];	/* the first error message, "" when none */
	char warn[512]; /* the first warning message, "" when none */
};

/*
 * Decodes the YAML/JSON stream <buf>/<len> (multi-document, List kinds allowed) from
 * <source> (named in messages) into objects allocated from <a>. Logs every error and
 * warning (module "config") and fills <res>. Returns 0 when the stream is valid, -EINVAL
 * when it had errors (res->err holds the first), -ENOMEM.
 */
int k8s_decode(struct arena *a, const char *source, const char *buf, size_t len,
	       struct k8s_result *res);

/* The row for <id>. */
const struct k8s_kind *k8s_kind_get(enum k8s_kind_id id);

/* The value of <key> in the <n> pairs at <kv>, or NULL. */
const char *k8s_kv_get(const struct k8s_kv *kv, size_t n, const char *key);

/* True when <a> and <b> name the same object (kind, namespace, name). */
bool k8s_same_object(const struct k8s_object *a, const struct k8s_object *b);

#endif /* WEIR_USER_K8S_H */
