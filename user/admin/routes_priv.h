/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What routes.c (GET /routes) and routes_explain.c (GET /routes/explain) share: jansson
 * builders that remember a failure instead of checking each call, and the JSON of route
 * pieces both answers carry. Private to user/admin/routes*.c and their tests.
 */
#ifndef WEIR_ADMIN_ROUTES_PRIV_H
#define WEIR_ADMIN_ROUTES_PRIV_H

#include <jansson.h>

#include "admin/routes.h"

/*
 * <o>[<key>] = <v>, consuming <v> (NULL: a failed allocation). Returns 0, or -1 so that a
 * builder can `err |= routes_set(...)` and give up once at the end with routes_done().
 */
int routes_set(json_t *o, const char *key, json_t *v);
/* Appends <v> to array <a>, consuming it; 0 or -1 as routes_set(). */
int routes_push(json_t *a, json_t *v);
/* <o> when <err> is 0; else frees <o> and returns NULL. */
json_t *routes_done(json_t *o, int err);

/* <s> as a JSON string (null for NULL; bytes past ASCII of non-UTF-8 text as '?'). */
json_t *routes_str(const char *s);
/* Dotted IPv4 of network-order <ip_be>. */
json_t *routes_ip(uint32_t ip_be);
/* <kv>/<n> as {key: value}. */
json_t *routes_kv(const struct k8s_kv *kv, size_t n);
/* Parts per million as a percentage (a JSON real). */
json_t *routes_ppm(uint32_t ppm);

/* Header operations {"set", "add", "remove"}, null when <ops> is empty. */
json_t *routes_json_hdr_ops(const struct route_hdr_ops *ops);
/* {"attempts", "per_try_timeout_ms", "retry_on", "retriable_status_codes", ...}. */
json_t *routes_json_retry(const struct route_retry *r);
/* {"delay", "abort"}, null for no fault. */
json_t *routes_json_fault(const struct route_fault *f);
/* {"source", "max_tokens", ...}, null when <rl> is NULL or not enabled. */
json_t *routes_json_ratelimit(const struct route_ratelimit *rl);
/* {"cluster", "subset", "percent"}, null when <r> mirrors nothing. */
json_t *routes_json_mirror(const struct route_http *r);
/* {"ip", "port", "ready", "weight", "pod"}. */
json_t *routes_json_endpoint(const struct model_endpoint *ep);

struct admin_call;

/* Writes <root> (consumed; NULL: out of memory) as the body of <call>; the HTTP status. */
int routes_body(struct admin_call *call, json_t *root);

#endif /* WEIR_ADMIN_ROUTES_PRIV_H */
