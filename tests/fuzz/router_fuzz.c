// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the request-facing parts of proxy/router.c and proxy/balancer.c:
 * the input is a request (line 1 the path, line 2 the authority, then "name: value"
 * header lines) routed through a small table with every match kind, then rewritten,
 * redirected, timed and hashed. Nothing may crash or read out of bounds, and the results
 * must be coherent: FORWARD names a cluster, a prefix rewrite keeps the rest of the path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/regex.h"
#include "model/model.h"
#include "proxy/balancer.h"
#include "proxy/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct model_endpoint fz_ep[2] = {{.ip = 1, .port = 80, .ready = true},
					       {.ip = 2, .port = 80, .ready = true}};
static const struct model_endpoint *const fz_eps[2] = {&fz_ep[0], &fz_ep[1]};
static const struct route_cluster fz_c = {
    .name = "fuzz",
    .eps = fz_eps,
    .neps = 2,
    .policy = {.lb = {.policy = ROUTE_LB_HASH,
		      .hash_key = ROUTE_HASH_COOKIE,
		      .hash_name = "s",
		      .maglev_size = 13}},
};
static struct route_kv_match fz_hdr[3] = {
    {.name = "x-a", .match = {.kind = ROUTE_STR_EXACT, .value = "v", .len = 1}},
    {.name = "x-b", .match = {.kind = ROUTE_STR_REGEX, .value = "a+b"}, .absent = true},
    {.name = ":authority", .match = {.kind = ROUTE_STR_PREFIX, .value = "r", .len = 1}},
};
static const struct route_kv_match fz_q[1] = {
    {.name = "q", .match = {.kind = ROUTE_STR_PREFIX, .value = "1", .len = 1}}};
static struct route_match fz_m[3] = {
    {.uri = {.kind = ROUTE_STR_PREFIX, .ignore_case = true, .value = "/api", .len = 4},
     .headers = fz_hdr,
     .nheaders = 3},
    {.uri = {.kind = ROUTE_STR_REGEX, .value = "/[a-z]+/[0-9]*"}},
    {.query = fz_q, .nquery = 1},
};
static const struct route_dest fz_d[2] = {{.cluster = &fz_c, .weight = 30},
					  {.cluster = &fz_c, .weight = 70}};
static const struct route_http fz_r = {
    .name = "fuzz", .matches = fz_m, .nmatches = 3, .dests = fz_d, .ndests = 2};
static const struct route_http *const fz_rp[1] = {&fz_r};
static const struct route_table fz_t = {.http = fz_rp, .nhttp = 1, .dflt = &fz_c};

/* The next line of <p>..<end> (without its newline); advances *<p>. */
static size_t fz_line(const char **p, const char *end, const char **line)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t len = (size_t)((nl ? nl : end) - *p);

	*line = *p;
	*p = nl ? nl + 1 : end;
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct regex *re_uri, *re_hdr, *re_rw;
	static struct balancer b;
	static struct http_head req, resp;
	static uint64_t rng = 1;
	const char *p = (const char *)data, *end = p + size, *line;
	struct route_rewrite rw = {.uri = "/v2"};
	struct route_redirect rd = {.scheme = "https", .port = 443};
	struct router_result res;
	struct balancer_req br = {.gen = 1, .req = &req};
	uint64_t ms;
	size_t len, got;

	if (!re_uri) {
		log_init("router_fuzz", LOG_ERR);
		re_uri = regex_new("/[a-z]+/[0-9]*", 14, NULL, 0);
		re_hdr = regex_new("a+b", 3, NULL, 0);
		re_rw = regex_new("/([a-z]+)/", 10, NULL, 0);
		fz_m[1].uri.re = re_uri;
		fz_hdr[1].match.re = re_hdr;
		http_head_init(&req, HTTP_REQUEST, 4096);
		http_head_init(&resp, HTTP_RESPONSE, 0);
		balancer_init(&b, 1);
	}
	http_head_reset(&req, HTTP_REQUEST);
	len = fz_line(&p, end, &line);
	if (http_head_str(&req, line, len, &req.path))
		return 0;
	len = fz_line(&p, end, &line);
	if (http_head_str(&req, line, len, &req.authority))
		return 0;
	while (p < end) {
		const char *colon;

		len = fz_line(&p, end, &line);
		colon = memchr(line, ':', len);
		if (!colon || colon == line)
			continue;
		if (http_head_add(&req, line, (size_t)(colon - line), colon + 1,
				  len - (size_t)(colon - line) - 1))
			return 0;
	}
	if (router_route(&fz_t, &req, NULL, &rng, &res))
		abort();
	if (res.verdict == ROUTER_FORWARD && !res.cluster)
		abort();
	if (res.verdict == ROUTER_FORWARD && balancer_pick(&b, res.cluster, &br, &got) == 0 &&
	    got >= 2)
		abort();
	(void)router_timeout_ms(&fz_r, &req);
	len = 0;
	line = http_head_get(&req, "grpc-timeout", 12, &len);
	if (line && !router_grpc_timeout(line, len, &ms) && len > 9)
		abort();
	(void)router_redirect(&req, &rd, &resp);
	if (res.match == &fz_m[0]) {
		size_t plen = req.path.len;

		/* A prefix rewrite replaces exactly the 4 matched bytes. */
		if (router_rewrite(&req, &rw, res.match) == 0 && req.path.len != plen - 4 + 3)
			abort();
	}
	rw.uri = NULL;
	rw.uri_re = re_rw;
	rw.uri_re_sub = "/\\1-x/";
	(void)router_rewrite(&req, &rw, NULL);
	return 0;
}
