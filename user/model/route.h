/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Traffic management compiled into the model snapshot: Istio VirtualServices and
 * DestinationRules (networking.istio.io v1, v1beta1, v1alpha3) and weir's own
 * HealthCheck and RateLimit kinds (weir.dev/v1alpha1), resolved against the Services and
 * Pods of the same snapshot. Everything here is immutable once published and owned by the
 * snapshot's arena; the proxy's router reads it without locks.
 *
 *   Service port --(route_table)--> ordered HTTP/TCP routes --> weighted destinations
 *   destination = cluster: (Service port, subset) with its endpoints and traffic policy
 *
 * A cluster is what the upstream pool keys connections by and what load balancing,
 * circuit breaking and outlier detection act on (Envoy's word, and Istio's
 * `upstream_cluster` label: "outbound|9080|v1|reviews.default.svc.cluster.local").
 */
#ifndef WEIR_MODEL_ROUTE_H
#define WEIR_MODEL_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/k8s.h"

struct model_service;
struct model_svc_port;
struct model_endpoint;
struct regex; /* lib/regex.h: a compiled RE2 pattern */

/* ---- string and header matching (Istio's StringMatch) ---- */

enum route_str_kind {
	ROUTE_STR_ANY = 0,     /* no condition */
	ROUTE_STR_EXACT = 1,   /* exact: "..." */
	ROUTE_STR_PREFIX = 2,  /* prefix: "..." */
	ROUTE_STR_REGEX = 3,   /* regex: "..." (RE2 syntax, whole-string match as Envoy) */
	ROUTE_STR_PRESENT = 4, /* headers: {name: {}}: present with any value */
};

struct route_str {
	uint8_t kind;	   /* enum route_str_kind */
	bool ignore_case;  /* ignoreUriCase (uri only) */
	const char *value; /* exact/prefix text, or the regex source */
	uint32_t len;	   /* strlen(value) */
	struct regex *re;  /* ROUTE_STR_REGEX: compiled; NULL otherwise */
};

/* One header or query parameter condition. */
struct route_kv_match {
	const char *name; /* headers: lower case */
	struct route_str match;
	bool absent; /* withoutHeaders: the condition must NOT hold */
};

/* One HTTPMatchRequest: every condition set must hold (AND); a route's matches are ORed. */
struct route_match {
	const char *name; /* match name, may be NULL */
	struct route_str uri;
	struct route_str scheme;
	struct route_str method;
	struct route_str authority;
	const struct route_kv_match *headers; /* headers and withoutHeaders */
	size_t nheaders;
	const struct route_kv_match *query; /* queryParams (exact, prefix, regex) */
	size_t nquery;
	uint16_t port;			    /* 0: any port of the Service */
	const struct k8s_kv *source_labels; /* the client Pod's labels must include these */
	size_t nsource_labels;
	const char *source_namespace; /* NULL: any */
};

/* ---- header manipulation (Istio's Headers) ---- */

struct route_hdr_ops {
	const struct k8s_kv *set; /* replace (names lower case) */
	size_t nset;
	const struct k8s_kv *add; /* append */
	size_t nadd;
	const char *const *remove; /* names, lower case */
	size_t nremove;
};

/* ---- traffic policy (DestinationRule) ---- */

enum route_lb {
	ROUTE_LB_DEFAULT = 0, /* Istio's default: LEAST_REQUEST */
	ROUTE_LB_ROUND_ROBIN = 1,
	ROUTE_LB_LEAST_REQUEST = 2,
	ROUTE_LB_RANDOM = 3,
	ROUTE_LB_PASSTHROUGH = 4,
	ROUTE_LB_HASH = 5, /* consistentHash */
};

enum route_hash_key {
	ROUTE_HASH_HEADER = 1,	  /* httpHeaderName */
	ROUTE_HASH_COOKIE = 2,	  /* httpCookie.name (ttl: not generated here) */
	ROUTE_HASH_SOURCE_IP = 3, /* useSourceIp */
	ROUTE_HASH_QUERY = 4,	  /* httpQueryParameterName */
};

struct route_lb_policy {
	uint8_t policy;	       /* enum route_lb */
	uint8_t hash_key;      /* enum route_hash_key, with ROUTE_LB_HASH */
	const char *hash_name; /* header (lower case), cookie or query parameter name */
	uint32_t maglev_size;  /* consistentHash.maglev.tableSize; 0: 65537 */
};

/* connectionPool: the circuit breaker. 0 in a limit means Istio's default (2^32-1). */
struct route_conn_pool {
	uint32_t max_connections;	/* tcp.maxConnections */
	uint32_t connect_timeout_ms;	/* tcp.connectTimeout; 0: 10 s */
	uint32_t tcp_idle_timeout_ms;	/* tcp.idleTimeout; 0: 1 h */
	uint32_t http1_max_pending;	/* http.http1MaxPendingRequests */
	uint32_t http2_max_requests;	/* http.http2MaxRequests */
	uint32_t max_requests_per_conn; /* http.maxRequestsPerConnection; 0: unlimited */
	uint32_t max_retries;		/* http.maxRetries (concurrent retries) */
	uint32_t http_idle_timeout_ms;	/* http.idleTimeout; 0: 1 h */
	uint8_t h2_upgrade;		/* http.h2UpgradePolicy: 0 default, 1 upgrade, 2 no */
};

/* outlierDetection. consecutive errors 0 means that check is off. */
struct route_outlier {
	bool enabled;		       /* the block was given */
	uint32_t consecutive_5xx;      /* consecutive5xxErrors (Istio default 5 when enabled) */
	uint32_t consecutive_gateway;  /* consecutiveGatewayErrors (502, 503, 504) */
	uint32_t interval_ms;	       /* interval; default 10 s */
	uint32_t base_ejection_ms;     /* baseEjectionTime; default 30 s */
	uint32_t max_ejection_percent; /* maxEjectionPercent; default 10 */
	uint32_t min_health_percent;   /* minHealthPercent; default 0 */
};

/* weir.dev/v1alpha1 HealthCheck: active checks of a Service's endpoints. */
struct route_health {
	bool enabled;
	bool http;			 /* HTTP GET <path>, else a TCP connect */
	const char *path;		 /* HTTP only */
	uint16_t port;			 /* 0: the endpoint's port */
	uint32_t interval_ms;		 /* default 10 s */
	uint32_t timeout_ms;		 /* default 1 s */
	uint32_t healthy_threshold;	 /* successes to return; default 1 */
	uint32_t unhealthy_threshold;	 /* failures to eject; default 3 */
	uint16_t expect_min, expect_max; /* HTTP statuses counted healthy; default 200..399 */
};

/* weir.dev/v1alpha1 RateLimit: a local token bucket. */
struct route_ratelimit {
	bool enabled;
	uint32_t tokens;	   /* bucket size (maxTokens) */
	uint32_t fill_tokens;	   /* tokensPerFill */
	uint32_t fill_interval_ms; /* fillInterval */
	const char *source;	   /* the RateLimit object, "ns/name", for messages and metrics */
};

/* The policy in force for one cluster, after merging subset over port over top level. */
struct route_policy {
	struct route_lb_policy lb;
	struct route_conn_pool pool;
	struct route_outlier outlier;
	struct route_health health;
	struct route_ratelimit ratelimit; /* per destination (RateLimit targeting a Service) */
	const char *dr;			  /* the DestinationRule "ns/name" it came from, or NULL */
};

struct route_cluster;

/*
 * The same cluster as another DestinationRule shapes it for some clients: Istio looks a
 * client's rule up in the client's namespace, then the Service's, then the root namespace,
 * each only if the rule is exported there, and a rule with a workloadSelector only for the
 * selected Pods of its own namespace. route_cluster_for() picks the one for a client.
 */
struct route_cluster_alt {
	const char *ns;		       /* clients in this namespace ... */
	const struct k8s_kv *selector; /* ... whose Pod has every one of these labels */
	size_t nselector;	       /* 0: all of the namespace's clients */
	const struct route_cluster *cl;
};

/* An upstream cluster: one Service port, optionally narrowed to a subset. */
struct route_cluster {
	const char *name; /* "outbound|9080|v1|reviews.default.svc.cluster.local" */
	const char *host; /* FQDN of the Service */
	const struct model_service *svc;
	const struct model_svc_port *port;
	const char *subset;		    /* NULL: the whole Service */
	const struct k8s_kv *subset_labels; /* the subset's labels */
	size_t nsubset_labels;
	bool subset_unknown; /* named by a route but defined by no rule: 503 UH */
	const struct model_endpoint *const *eps; /* members: the port's endpoints whose Pod has
						  * every subset label (all when no subset) */
	size_t neps;
	uint8_t proto; /* enum route_proto of the upstream wire */
	struct route_policy policy;
	uint32_t id; /* index in model_routes.clusters */
	/* Clients another DestinationRule applies to, most specific first (selector before
	 * namespace); empty when one rule (or none) applies to every client. An alternative
	 * has the same name and members, its own id and policy, and no alternatives itself. */
	const struct route_cluster_alt *alts;
	size_t nalts;
};

/* The wire protocol of a Service port, detected as Istio does (appProtocol, name prefix). */
enum route_proto {
	ROUTE_PROTO_TCP = 0,   /* opaque bytes: L4 relay */
	ROUTE_PROTO_HTTP = 1,  /* HTTP/1.1 upstream (downstream may be h1 or h2c) */
	ROUTE_PROTO_HTTP2 = 2, /* http2, grpc, grpc-web: h2 upstream */
	ROUTE_PROTO_GRPC = 3,  /* grpc: h2 upstream, gRPC status semantics */
	ROUTE_PROTO_SNIFF = 4, /* unnamed port: sniff the first bytes */
	ROUTE_PROTO_TLS = 5,   /* tls, https: opaque bytes, routed by SNI (tls[]) */
};

/* ---- routes (VirtualService) ---- */

struct route_dest {
	const struct route_cluster *cluster;
	uint32_t weight;	  /* relative; a lone destination has 100 */
	struct route_hdr_ops req; /* headers.request at destination level */
	struct route_hdr_ops resp;
};

enum route_retry_on {
	ROUTE_RETRY_5XX = 1u << 0,
	ROUTE_RETRY_GATEWAY = 1u << 1,		 /* gateway-error: 502, 503, 504 */
	ROUTE_RETRY_RESET = 1u << 2,		 /* reset */
	ROUTE_RETRY_CONNECT_FAILURE = 1u << 3,	 /* connect-failure */
	ROUTE_RETRY_REFUSED_STREAM = 1u << 4,	 /* refused-stream */
	ROUTE_RETRY_RETRIABLE_4XX = 1u << 5,	 /* retriable-4xx: 409 */
	ROUTE_RETRY_RETRIABLE_CODES = 1u << 6,	 /* retriable-status-codes (with <codes>) */
	ROUTE_RETRY_GRPC_CANCELLED = 1u << 7,	 /* cancelled */
	ROUTE_RETRY_GRPC_DEADLINE = 1u << 8,	 /* deadline-exceeded */
	ROUTE_RETRY_GRPC_INTERNAL = 1u << 9,	 /* internal */
	ROUTE_RETRY_GRPC_EXHAUSTED = 1u << 10,	 /* resource-exhausted */
	ROUTE_RETRY_GRPC_UNAVAILABLE = 1u << 11, /* unavailable */
};

struct route_retry {
	uint32_t attempts;	     /* retries after the first try; Istio's default policy: 2 */
	uint32_t per_try_timeout_ms; /* 0: none beyond the route timeout */
	uint32_t on;		     /* enum route_retry_on bits; default
				      * connect-failure,refused-stream,unavailable,cancelled,
				      * retriable-status-codes(503) */
	const uint16_t *codes;	     /* retriable status codes */
	size_t ncodes;
	bool remote_localhost; /* retryRemoteLocalities (accepted, no effect on one node) */
};

struct route_fault {
	uint32_t delay_ppm; /* percentage.value in parts per million (100% = 1000000) */
	uint32_t delay_ms;  /* fixedDelay */
	uint32_t abort_ppm;
	uint16_t abort_http; /* httpStatus, or 0 */
	uint16_t abort_grpc; /* grpcStatus code (with abort_http 0), "UNAVAILABLE" -> 14 */
	bool abort_is_grpc;
};

struct route_redirect {
	const char *uri;       /* NULL: keep */
	const char *authority; /* NULL: keep */
	const char *scheme;    /* NULL: keep */
	uint16_t port;	       /* 0: keep */
	uint16_t code;	       /* redirectCode; default 301 */
};

struct route_rewrite {
	const char *uri;	/* replaces the matched prefix (or the whole path for exact
				 * and regex matches), as Istio */
	const char *authority;	/* NULL: keep */
	struct regex *uri_re;	/* uriRegexRewrite.match, or NULL */
	const char *uri_re_sub; /* uriRegexRewrite.rewrite (\1 references) */
};

/* One entry of VirtualService http[]. */
struct route_http {
	const char *name;		   /* http[].name, or "<vs>/<index>" */
	const char *vs;			   /* the VirtualService "ns/name" */
	const struct route_match *matches; /* empty: matches every request */
	size_t nmatches;
	const struct route_dest *dests; /* empty with a redirect or direct response */
	size_t ndests;
	uint32_t total_weight; /* sum of dests' weights */
	const struct route_redirect *redirect;
	uint16_t direct_status;	 /* directResponse.status, or 0 */
	const char *direct_body; /* directResponse.body.string, or NULL */
	const struct route_rewrite *rewrite;
	uint32_t timeout_ms; /* 0: none (Istio's default is disabled) */
	struct route_retry retry;
	const struct route_fault *fault;
	const struct route_cluster *mirror;
	uint32_t mirror_ppm;			 /* mirrorPercentage; default 100% */
	struct route_hdr_ops req;		 /* headers.request */
	struct route_hdr_ops resp;		 /* headers.response */
	const struct route_ratelimit *ratelimit; /* a RateLimit targeting this route, or NULL */
	const char *const *export_ns; /* its VirtualService's exportTo as namespaces ("." made
				       * the VS's own): only clients in these see the route, others
				       * take the table's dflt; NULL/0: every namespace */
	size_t nexport_ns;
};

/* An IPv4 destination subnet (tls[].match[].destinationSubnets). */
struct route_subnet {
	uint32_t addr; /* network order, host bits clear */
	uint32_t mask; /* network order */
};

/* One tls[].match[] item: every condition set must hold; a route's matches are ORed. */
struct route_tls_match {
	const char *const *sni; /* sniHosts, lower case: names, "*.suffix", "*" */
	size_t nsni;
	uint16_t port;			    /* 0: any port of the Service */
	const struct route_subnet *subnets; /* the original destination in one; empty: any */
	size_t nsubnets;
	const struct k8s_kv *source_labels; /* the client Pod's labels must include these */
	size_t nsource_labels;
	const char *source_namespace; /* NULL: any */
};

/* One entry of VirtualService tcp[] or tls[]: L4 destinations. */
struct route_tcp {
	const char *vs;
	uint16_t port; /* match.port, 0: any (tcp[]; tls[] ports are in its matches) */
	const struct route_dest *dests;
	size_t ndests;
	uint32_t total_weight;
	const struct route_tls_match *tls; /* tls[]: its matches (at least one); NULL: tcp[] */
	size_t ntls;
};

/*
 * Everything the router needs for one Service port: its protocol, its routes in the order
 * Istio evaluates them (those of the one VirtualService that applies to the host, in file
 * order: Istio merges none, see model/route.c for which one wins), and the default cluster
 * when no VirtualService applies or a route is not exported to the client's namespace.
 */
/*
 * An index over a run of consecutive routes [start, end) that each hold one match with one
 * exact header condition on the same header, and nothing else (the shape of a large table:
 * one route per tenant, user or version header). Looking the request's value up in the
 * sorted pairs gives the first route of the run it matches, as the scan would, in
 * O(log n) instead of a header comparison per route.
 */
struct route_run {
	size_t start, end;	 /* route indices in route_table.http */
	const char *header;	 /* lower case, a regular header (no pseudo-header, no host) */
	const char *const *vals; /* sorted; vals[i] is matched by route idx[i] (the first) */
	const uint32_t *idx;
	size_t n;
};

struct route_table {
	const struct model_service *svc;
	const struct model_svc_port *port;
	uint8_t proto;			      /* enum route_proto */
	const struct route_http *const *http; /* NULL/0: no VirtualService: default route */
	size_t nhttp;
	const struct route_tcp *const *tcp;
	size_t ntcp;
	const struct route_cluster *dflt; /* the whole Service port, with the DR's policy */
	bool agent;			  /* derived: some route, policy or L7 setting applies,
					   * so the port takes the agent path */
	const struct route_run *runs;	  /* indexed runs of <http>, in order (route_index.c) */
	size_t nruns;
};

/* The compiled tables of one snapshot. */
struct model_routes {
	const struct route_table *tables; /* one per Service port, in model service order */
	size_t ntables;
	const struct route_cluster *clusters;
	size_t nclusters;
	uint64_t errors; /* objects rejected while compiling (each logged with its source) */
};

/*
 * The route table of Service <svc> port <port> in <r>, or NULL. The caller finds <svc> and
 * <port> with the model's own lookup (model_find_svc_port() for a VIP:port); <svc> and
 * <port> must come from the snapshot that owns <r>.
 */
struct arena;

/*
 * Builds the indexed runs of table <t> (only runs of at least ROUTE_RUN_MIN routes), from
 * <a>. Returns 0 or -ENOMEM (the table then works unindexed).
 */
int route_index_build(struct arena *a, struct route_table *t);

#define ROUTE_RUN_MIN 8

/* The cluster named <name> (route_cluster.name) in <r>, or NULL. Linear: for the rare
 * lookups that outlive a snapshot (a retry, a mirror). */
const struct route_cluster *route_cluster_find(const struct model_routes *r, const char *name);

/*
 * The cluster <cl> as the DestinationRule that applies to a client in namespace <ns> with
 * Pod labels <labels>/<n> shapes it (<cl> itself when no alternative is for that client;
 * <ns> NULL: a client outside any namespace, which sees only rules exported everywhere).
 */
const struct route_cluster *route_cluster_for(const struct route_cluster *cl, const char *ns,
					      const struct k8s_kv *labels, size_t n);

const struct route_table *route_table_find(const struct model_routes *r,
					   const struct model_service *svc,
					   const struct model_svc_port *port);

struct arena;
struct model;

/*
 * Compiles the VirtualServices, DestinationRules, HealthChecks and RateLimits among the <n>
 * objects at <objs> (priority order: of two with the same kind, namespace and name the first
 * wins) against the Services and Pods of <m> into arena <a>, and sets *<out>. Objects that do
 * not compile (a destination that is no known Service) are logged once with their source,
 * left out and counted in errors. Returns 0 or -ENOMEM. Free with route_free().
 */
int route_build(struct arena *a, const struct model *m, const struct k8s_object *const *objs,
		size_t n, const struct model_routes **out);

/* Frees what <r> holds outside its arena (compiled regexes). Accepts NULL. */
void route_free(const struct model_routes *r);

/* The wire protocol of Service port <p> (enum route_proto), detected as Istio does. */
uint8_t route_proto_of(const struct model_svc_port *p);

#endif /* WEIR_MODEL_ROUTE_H */
