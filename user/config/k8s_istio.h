/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Istio's traffic kinds (networking.istio.io VirtualService and DestinationRule, versions
 * v1, v1beta1 and v1alpha3, one schema) and weir's own HealthCheck and RateLimit
 * (weir.dev/v1alpha1), as the decoder leaves them: validated, with durations in milliseconds,
 * percentages in parts per million and retry conditions as bits, but with hosts and subsets
 * still names. model/route.c resolves the names against Services and Pods; the layering
 * (config below model) is why these structs mirror model/route.h instead of being it.
 * The decoders are rows of the kind table in k8s.c; docs/traffic.md is the user's view.
 */
#ifndef WEIR_USER_K8S_ISTIO_H
#define WEIR_USER_K8S_ISTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/k8s.h"

struct k8s_dec;
struct yaml_node_s;

/* Istio's StringMatch; the kinds have route.h's enum route_str_kind values. */
struct istio_str {
	uint8_t kind;	   /* 0 none, 1 exact, 2 prefix, 3 regex, 4 present (headers: {}) */
	const char *value; /* NULL with kind 0 and 4 */
};

/* headers / withoutHeaders / queryParams entry. */
struct istio_kv_match {
	const char *name; /* headers: lower case */
	struct istio_str m;
	bool absent; /* from withoutHeaders */
};

/* HTTPMatchRequest (and the port of TCPRoute/TLSRoute matches). */
struct istio_match {
	const char *name;
	struct istio_str uri, scheme, method, authority;
	bool ignore_uri_case;
	const struct istio_kv_match *headers; /* headers then withoutHeaders */
	size_t nheaders;
	const struct istio_kv_match *query;
	size_t nquery;
	uint16_t port;
	const struct k8s_kv *source_labels;
	size_t nsource_labels;
	const char *source_ns;
};

/* Headers.HeaderOperations */
struct istio_hdr_ops {
	const struct k8s_kv *set;
	size_t nset;
	const struct k8s_kv *add;
	size_t nadd;
	const char *const *remove;
	size_t nremove;
};

/* Destination plus the weight and headers of an HTTPRouteDestination / RouteDestination. */
struct istio_dest {
	const char *host; /* as written: short, name.ns, FQDN */
	const char *subset;
	uint16_t port;	 /* destination.port.number, 0 when absent */
	uint32_t weight; /* 0 when absent (the compiler fills in Istio's rule) */
	bool has_weight;
	struct istio_hdr_ops req, resp;
};

/* Bits equal to model/route.h's enum route_retry_on (route.c checks). */
#define ISTIO_RETRY_5XX		    (1u << 0)
#define ISTIO_RETRY_GATEWAY	    (1u << 1)
#define ISTIO_RETRY_RESET	    (1u << 2)
#define ISTIO_RETRY_CONNECT_FAILURE (1u << 3)
#define ISTIO_RETRY_REFUSED_STREAM  (1u << 4)
#define ISTIO_RETRY_RETRIABLE_4XX   (1u << 5)
#define ISTIO_RETRY_CODES	    (1u << 6)
#define ISTIO_RETRY_CANCELLED	    (1u << 7)
#define ISTIO_RETRY_DEADLINE	    (1u << 8)
#define ISTIO_RETRY_INTERNAL	    (1u << 9)
#define ISTIO_RETRY_EXHAUSTED	    (1u << 10)
#define ISTIO_RETRY_UNAVAILABLE	    (1u << 11)

struct istio_retry {
	uint32_t attempts;
	uint32_t per_try_timeout_ms;
	uint32_t on; /* ISTIO_RETRY_* */
	const uint16_t *codes;
	size_t ncodes;
	bool remote_localities;
};

struct istio_fault {
	uint32_t delay_ms, delay_ppm;
	uint32_t abort_ppm;
	uint16_t abort_http, abort_grpc;
	bool has_delay, has_abort, abort_is_grpc;
};

struct istio_redirect {
	const char *uri, *authority, *scheme;
	uint16_t port, code;
};

struct istio_rewrite {
	const char *uri, *authority;
	const char *re_match, *re_rewrite; /* uriRegexRewrite */
};

/* One VirtualService http[] entry. */
struct istio_http {
	const char *name;
	const struct istio_match *matches;
	size_t nmatches;
	const struct istio_dest *dests;
	size_t ndests;
	const struct istio_redirect *redirect;
	uint16_t direct_status;
	const char *direct_body;
	const struct istio_rewrite *rewrite;
	uint32_t timeout_ms;
	bool has_retries; /* false: Istio's default retry policy */
	struct istio_retry retry;
	const struct istio_fault *fault;
	const struct istio_dest *mirror;
	uint32_t mirror_ppm; /* default 100% */
	struct istio_hdr_ops req, resp;
};

/* An IPv4 subnet of destinationSubnets ("10.0.0.0/8", or an address: /32). */
struct istio_subnet {
	uint32_t addr; /* network order, host bits cleared */
	uint32_t mask; /* network order */
};

/* One tls[].match[] item (L4MatchAttributes with sniHosts): every condition must hold. */
struct istio_tls_match {
	const char *const *sni; /* sniHosts (required): names, "*.suffix" or "*" */
	size_t nsni;
	uint16_t port;			    /* 0: any */
	const struct istio_subnet *subnets; /* destinationSubnets; empty: any */
	size_t nsubnets;
	const struct k8s_kv *source_labels;
	size_t nsource_labels;
	const char *source_ns; /* sourceNamespace, or NULL */
};

/* One tcp[] or tls[] entry: L4 routes by destination port (tls[]: and by SNI). */
struct istio_l4 {
	const uint16_t *ports; /* match[].port values; empty: any */
	size_t nports;
	const struct istio_tls_match *tls; /* tls[] only: the match[] items, ORed */
	size_t ntls;
	const struct istio_dest *dests;
	size_t ndests;
};

struct istio_vs {
	const char *const *hosts;
	size_t nhosts;
	const char *const *gateways;
	size_t ngateways;
	const char *const *export_to; /* empty: "*" */
	size_t nexport_to;
	const struct istio_http *http;
	size_t nhttp;
	const struct istio_l4 *tcp;
	size_t ntcp;
	const struct istio_l4 *tls;
	size_t ntls;
};

/* Load balancer kinds: route.h's enum route_lb values. */
struct istio_lb {
	uint8_t policy;
	uint8_t hash_key; /* enum route_hash_key values */
	const char *hash_name;
	uint32_t maglev_size;
	bool set;
};

struct istio_pool {
	uint32_t max_connections, connect_timeout_ms, tcp_idle_timeout_ms;
	uint32_t http1_max_pending, http2_max_requests, max_requests_per_conn, max_retries;
	uint32_t http_idle_timeout_ms;
	uint8_t h2_upgrade;
	bool set;
};

struct istio_outlier {
	bool set;
	uint32_t consecutive_5xx, consecutive_gateway;
	uint32_t interval_ms, base_ejection_ms, max_ejection_percent, min_health_percent;
};

/* TrafficPolicy, possibly with portLevelSettings (not nested further). */
struct istio_policy {
	struct istio_lb lb;
	struct istio_pool pool;
	struct istio_outlier outlier;
	uint16_t port; /* a portLevelSettings entry: its port.number */
	const struct istio_policy *ports;
	size_t nports;
};

struct istio_subset {
	const char *name;
	const struct k8s_kv *labels;
	size_t nlabels;
	const struct istio_policy *policy; /* NULL: the rule's */
};

struct istio_dr {
	const char *host;
	const struct istio_subset *subsets;
	size_t nsubsets;
	const struct istio_policy *policy; /* NULL when none */
	const char *const *export_to;
	size_t nexport_to;
	const struct k8s_kv *selector; /* workloadSelector.matchLabels */
	size_t nselector;
};

/* weir.dev/v1alpha1 HealthCheck: see docs/traffic.md. */
struct weir_healthcheck {
	const char *service;
	uint16_t port; /* 0: every port */
	bool http;
	const char *path;
	uint32_t interval_ms, timeout_ms, healthy, unhealthy;
	uint16_t expect_min, expect_max;
};

/* weir.dev/v1alpha1 RateLimit: see docs/traffic.md. */
struct weir_ratelimit {
	const char *service; /* targetRef kind Service, or NULL */
	const char *vs;	     /* targetRef kind VirtualService, or NULL */
	const char *route;   /* with vs: the http[].name */
	uint32_t max_tokens, tokens_per_fill, fill_interval_ms;
};

/* --- shared helpers of the Istio/weir decoders ---------------------------------------- */

/*
 * Checks the keys of mapping <map>: every key must be in <known> (NULL-terminated) or else is
 * an error "unknown field" naming it; a key also in <unenforced> is accepted with a warning
 * that weir does not enforce it. Returns 0 or -EINVAL (reported).
 */
int istio_keys(struct k8s_dec *d, struct yaml_node_s *map, const char *const *known,
	       const char *const *unenforced);

/*
 * Parses protobuf/Go duration <s> ("1.5s", "300ms", "2m", "1h", "1m30s") into *<ms>.
 * Returns false when it is not one, is negative, below 1 ms (but not 0) or above 49 days.
 */
bool istio_duration(const char *s, uint32_t *ms);

/* The duration at <key> of <map> into *<ms> (untouched when absent). 0/-EINVAL/-ENOMEM. */
int istio_dec_duration(struct k8s_dec *d, struct yaml_node_s *map, const char *key, uint32_t *ms);

/* An unsigned integer at <key> in [<min>, <max>] (untouched when absent). */
int istio_dec_u32(struct k8s_dec *d, struct yaml_node_s *map, const char *key, uint32_t min,
		  uint32_t max, uint32_t *out);

/* A list of strings at <key> into the arena. */
int istio_dec_strs(struct k8s_dec *d, struct yaml_node_s *map, const char *key,
		   const char *const **out, size_t *nout);

/* Checks the <n> exportTo values at <v> (of the current path's spec). 0 or -EINVAL. */
int istio_check_export(struct k8s_dec *d, const char *const *v, size_t n);

/* Kind decoders: rows of the kind table in k8s.c (see struct k8s_kind). */
int k8s_istio_virtualservice(struct k8s_dec *d, struct yaml_node_s *root, struct k8s_object *o);
int k8s_istio_destinationrule(struct k8s_dec *d, struct yaml_node_s *root, struct k8s_object *o);
int k8s_istio_healthcheck(struct k8s_dec *d, struct yaml_node_s *root, struct k8s_object *o);
int k8s_istio_ratelimit(struct k8s_dec *d, struct yaml_node_s *root, struct k8s_object *o);

#endif /* WEIR_USER_K8S_ISTIO_H */
