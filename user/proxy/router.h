/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-request routing decisions over a snapshot's compiled route tables (model/route.h):
 * which VirtualService http route and weighted destination a request takes, and what that
 * route does to it (header operations, rewrite, redirect, fault injection, retries and
 * timeouts), with Istio's semantics as Envoy implements them. Plain functions over plain
 * structs: no sockets, no events, so the proxy, the unit tests and `weirctl explain` share
 * them.
 */
#ifndef WEIR_PROXY_ROUTER_H
#define WEIR_PROXY_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/k8s.h"
#include "model/route.h"
#include "proxy/http.h"

/* Who sends the request, and to which Service port. */
struct router_source {
	const struct k8s_kv *labels; /* the client Pod's labels (sourceLabels) */
	size_t nlabels;
	const char *ns; /* the client Pod's namespace (sourceNamespace); NULL: unknown */
	uint16_t port;	/* destination Service port, host order (match port) */
};

/* What the router decided. */
enum router_verdict {
	ROUTER_FORWARD = 1,    /* to <cluster> (a route's destination or the default) */
	ROUTER_REDIRECT = 2,   /* answer with router_redirect() */
	ROUTER_DIRECT = 3,     /* directResponse: <status> and the route's body */
	ROUTER_NO_ROUTE = 4,   /* VirtualService present, nothing matched: 404, flag NR */
	ROUTER_NO_CLUSTER = 5, /* destination subset undefined or no cluster: 503, flag NC */
};

/* Why, for `weirctl explain` and access logs. */
enum router_why {
	ROUTER_WHY_DEFAULT = 1,	  /* no VirtualService binds the port: the default cluster */
	ROUTER_WHY_MATCH = 2,	  /* route <route_idx> match <match_idx> held */
	ROUTER_WHY_CATCH_ALL = 3, /* route <route_idx> has no match conditions */
	ROUTER_WHY_NO_MATCH = 4,  /* no route's conditions held */
	ROUTER_WHY_NO_DEST = 5,	  /* the route names no destination, redirect or response */
};

struct router_result {
	uint8_t verdict;		 /* enum router_verdict */
	uint8_t why;			 /* enum router_why */
	uint16_t status;		 /* HTTP status for every verdict but FORWARD */
	const char *flags;		 /* Envoy response flags: "-", "NR", "NC" */
	const struct route_http *route;	 /* NULL for the default route and NR */
	size_t route_idx;		 /* index in the table's http[] */
	const struct route_match *match; /* the match that held, NULL for catch-all */
	size_t match_idx;
	const struct route_dest *dest;	     /* the weighted destination, or NULL */
	const struct route_cluster *cluster; /* the cluster to balance over, or NULL */
};

/*
 * Routes request <req> from <src> through table <t>: the first http route with a match
 * that holds (or no matches), then its weighted destination chosen with lb_rand(<rng>).
 * Fills *<res>. Returns 0 (every outcome, including NR, is a result), or -EINVAL when <t>
 * or <req> is NULL.
 */
int router_route(const struct route_table *t, const struct http_head *req,
		 const struct router_source *src, uint64_t *rng, struct router_result *res);

/* The name of verdict <v> ("forward", "redirect", "direct", "no_route", "no_cluster"). */
const char *router_verdict_str(enum router_verdict v);

/* The name of reason <w> ("default", "match", "catch_all", "no_match", "no_dest"). */
const char *router_why_str(enum router_why w);

/*
 * Whether route <r> mirrors this request (to r->mirror, fire and forget), drawing from
 * lb_rand(<rng>) with r->mirror_ppm.
 */
bool router_should_mirror(const struct route_http *r, uint64_t *rng);

/*
 * The first condition of match <m> that request <req> from <src> fails, as a field name
 * ("uri", "method", "headers", "queryParams", "sourceLabels", ...), or NULL when <m> holds.
 */
const char *router_match_fail(const struct route_match *m, const struct http_head *req,
			      const struct router_source *src);

/* Whether string condition <c> holds for <s>/<len> (exact, prefix, regex, present, any). */
bool router_str_match(const struct route_str *c, const char *s, size_t len);

/*
 * The value of query parameter <name>/<nlen> in request target <path>/<len> (after '?'),
 * as sent: no percent-decoding, as Envoy's route matcher. The first occurrence wins; a
 * parameter without '=' has the empty value. Returns NULL when absent; length in *<vlen>.
 */
const char *router_query_param(const char *path, size_t len, const char *name, size_t nlen,
			       size_t *vlen);

/*
 * Cluster <cl> as the DestinationRule that applies to client <src> shapes it (exportTo,
 * workloadSelector, Istio's namespace lookup order; see route_cluster_for()).
 */
const struct route_cluster *router_cluster_for(const struct route_cluster *cl,
					       const struct router_source *src);

/* The weighted destination of <r> for random number <rnd>, or NULL when it has none. */
const struct route_dest *router_pick_dest(const struct route_http *r, uint32_t rnd);

/* The same weighted pick over a tcp[] route's destinations. */
const struct route_dest *router_pick_tcp_dest(const struct route_tcp *r, uint32_t rnd);

/* What an L4 connection offers the tcp[] and tls[] routes. */
struct router_l4 {
	const struct router_source *src; /* the client and the Service port; may be NULL */
	uint32_t dst_ip;		 /* original destination, network order */
	bool tls;			 /* a ClientHello was read: tls[] routes apply */
	const char *sni;		 /* its server name, lower case; NULL: it named none */
	size_t sni_len;
};

/*
 * The L4 route of connection <c> through table <t>, as Istio orders a TLS port's filter
 * chains: with a ClientHello, the first tls[] route with a match that holds (sniHosts,
 * port, destinationSubnets, sourceLabels, sourceNamespace); then the first tcp[] route
 * whose port matches. NULL: none holds, the table's default cluster applies.
 */
const struct route_tcp *router_l4_route(const struct route_table *t, const struct router_l4 *c);

/* Why tls[] match <m> does not hold for <c> (the field name), or NULL when it holds. */
const char *router_tls_match_fail(const struct route_tls_match *m, const struct router_l4 *c);

/*
 * Applies header operations <ops> to <h> in Envoy's order: remove, then set, then add.
 * Returns 0, or -E2BIG/-ENOMEM from the head (the caller answers 431/500).
 */
int router_hdr_apply(struct http_head *h, const struct route_hdr_ops *ops);

/*
 * The request header operations of route <r> and destination <d> (either may be NULL) on
 * <req>: the destination's first, then the route's, as Envoy evaluates the weighted cluster
 * before the route (so on a conflicting `set` the route level has the last word).
 */
int router_req_headers(struct http_head *req, const struct route_http *r,
		       const struct route_dest *d);

/* The response header operations of <r> and <d> on <resp>, in the same order. */
int router_resp_headers(struct http_head *resp, const struct route_http *r,
			const struct route_dest *d);

/*
 * Applies rewrite <rw> to <req>, which matched <m> (NULL: a catch-all route). uri replaces
 * the matched prefix when <m> matched the uri by prefix, else the whole path; the query
 * string is kept. uriRegexRewrite replaces every match in the path (without query).
 * authority replaces :authority. Returns 0, -ENAMETOOLONG past 8 KiB of path, -E2BIG or
 * -ENOMEM.
 */
int router_rewrite(struct http_head *req, const struct route_rewrite *rw,
		   const struct route_match *m);

/*
 * Builds in <resp> (an init'ed head, reset here) the redirect <rd> answers <req> with:
 * status rd->code (301 when 0) and a Location of scheme://host[:port]path in which each
 * part given by <rd> replaces the request's. The path replaces the whole path, the request's
 * query is kept unless the new uri carries its own, and a port equal to the scheme's default
 * is left out. Returns 0, -ENAMETOOLONG past 8 KiB, -E2BIG or -ENOMEM.
 */
int router_redirect(const struct http_head *req, const struct route_redirect *rd,
		    struct http_head *resp);

/* What fault injection decided for one request. */
struct router_fault_out {
	uint32_t delay_ms;    /* wait this long before forwarding; 0: no delay */
	bool abort;	      /* answer locally instead of forwarding */
	uint16_t http_status; /* the status line of the abort */
	int grpc_status;      /* grpc-status of a trailers-only abort, -1 for none */
};

/*
 * Decides fault <f> for one request (<grpc>: the request is gRPC) with lb_rand(<rng>): a
 * delay with probability delay_ppm, an abort with probability abort_ppm, independently.
 * A gRPC status abort answers a gRPC request with HTTP 200 and grpc-status (trailers-only),
 * anything else with the HTTP status the gRPC code maps to. <f> may be NULL.
 */
void router_fault(const struct route_fault *f, bool grpc, uint64_t *rng,
		  struct router_fault_out *out);

/*
 * Builds the abort response of <fo> into <resp> (init'ed; reset here): the status line,
 * and for a gRPC abort content-type application/grpc and grpc-status in the head
 * (trailers-only). Returns 0 or -errno from the head.
 */
int router_fault_response(const struct router_fault_out *fo, struct http_head *resp);

/* The gRPC status an HTTP status becomes (gRPC's http-grpc-status-mapping, as Envoy maps
 * its local replies to gRPC requests). */
int router_http_to_grpc(uint16_t status);

/* Whether <req> is a gRPC request (content-type application/grpc[+proto|;...]). */
bool router_is_grpc(const struct http_head *req);

/* Why an upstream attempt ended without a response head. */
enum router_reset {
	ROUTER_RESET_NONE = 0,	      /* a response came: judge its status */
	ROUTER_RESET_CONNECT = 1,     /* connect failed or timed out */
	ROUTER_RESET_REFUSED = 2,     /* HTTP/2 REFUSED_STREAM */
	ROUTER_RESET_REMOTE = 3,      /* upstream reset or closed before responding */
	ROUTER_RESET_TRY_TIMEOUT = 4, /* perTryTimeout fired */
	ROUTER_RESET_OVERFLOW = 5,    /* circuit breaker overflow: never retried */
};

/*
 * Whether attempt number <done> + 1 should be retried under <p>: <done> retries already
 * made, the attempt ended with HTTP <status> and gRPC <grpc_status> (-1: none) or with
 * <reset>. Envoy's retryOn: 5xx and gateway-error include resets and per-try timeouts,
 * reset covers every reset, connect-failure and refused-stream only theirs, retriable-4xx
 * is 409, retriable-status-codes the listed codes, the gRPC conditions read grpc-status.
 */
bool router_should_retry(const struct route_retry *p, uint16_t status, int grpc_status,
			 enum router_reset reset, uint32_t done);

/* Retries allowed after the first try by route <r> (NULL: none). */
uint32_t router_retry_attempts(const struct route_http *r);

/*
 * The timeout of one attempt on route <r> in ms: its perTryTimeout bounded by the overall
 * <timeout_ms>, or <timeout_ms> when the route sets none (0 in both: none).
 */
uint32_t router_try_timeout_ms(const struct route_http *r, uint64_t timeout_ms);

/*
 * The overall timeout of request <req> on route <r> in ms (0: none): the route's timeout,
 * lowered by the request's grpc-timeout header when that is shorter (Istio sets Envoy's
 * grpc_timeout_header_max to the route timeout). A malformed grpc-timeout is ignored.
 */
uint64_t router_timeout_ms(const struct route_http *r, const struct http_head *req);

/*
 * Parses a grpc-timeout value <v>/<len> (1-8 digits and a unit H, M, S, m, u, n) into
 * milliseconds, rounding up. Returns 0 or -EINVAL.
 */
int router_grpc_timeout(const char *v, size_t len, uint64_t *ms);

#endif /* WEIR_PROXY_ROUTER_H */
