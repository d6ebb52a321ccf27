// SPDX-License-Identifier: Apache-2.0
/*
 * Route selection and the request matching of router.h: Istio's HTTPMatchRequest evaluated
 * the way Envoy evaluates the route configuration Istio generates from it. The choices that
 * Envoy makes and the Istio docs leave open are stated where they are made (which part of
 * the path each uri match sees, repeated headers, query parameters without decoding,
 * :authority compared with its port). Then the transformations a route implies, each a
 * function on one http_head, and the retry and timeout decisions.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/regex.h"
#include "model/lb.h"
#include "proxy/router.h"
#include "proxy/sni.h"

/* Repeated headers are matched joined with ","; joins past this many bytes do not match. */
#define ROUTER_JOIN_MAX 4096

/*
 * One StringMatch. ANY and PRESENT hold for any value: presence is the caller's business
 * (a header that is absent never reaches here).
 */
bool router_str_match(const struct route_str *c, const char *s, size_t len)
{
	switch (c->kind) {
	case ROUTE_STR_ANY:
	case ROUTE_STR_PRESENT:
		return true;
	case ROUTE_STR_EXACT:
		if (len != c->len)
			return false;
		return c->ignore_case ? !strncasecmp(s, c->value, len) : !memcmp(s, c->value, len);
	case ROUTE_STR_PREFIX:
		if (len < c->len)
			return false;
		return c->ignore_case ? !strncasecmp(s, c->value, c->len)
				      : !memcmp(s, c->value, c->len);
	case ROUTE_STR_REGEX:
		/* A pattern that failed to compile never matches: fail closed. */
		return c->re && regex_full_match(c->re, s, len);
	default:
		return false;
	}
}

/*
 * Istio's uri match. Envoy compares `path` (exact) and `safe_regex` with the path once the
 * query string is removed, and `prefix` with the whole :path, query included (a prefix
 * rarely reaches the '?', so this only shows for prefixes that contain one).
 */
static bool router_uri_match(const struct route_str *c, const struct http_head *req)
{
	const char *p = http_str_ptr(req, req->path);
	size_t len = req->path.len;
	const char *q;

	if (c->kind == ROUTE_STR_ANY)
		return true;
	if (!len) /* CONNECT, or a head without a target */
		return false;
	if (c->kind == ROUTE_STR_PREFIX)
		return router_str_match(c, p, len);
	q = memchr(p, '?', len);
	if (q)
		len = (size_t)(q - p);
	/* ignoreUriCase is not applied to regexes: Istio leaves that to (?i) in the pattern. */
	return router_str_match(c, p, len);
}

/* A pseudo-header by name (":method", ":authority", ":path", ":scheme"), or NULL. */
static const char *router_pseudo(const struct http_head *req, const char *name, size_t *vlen)
{
	const struct http_str *s = NULL;

	if (!strcmp(name, ":method"))
		s = &req->method;
	else if (!strcmp(name, ":authority") || !strcmp(name, "host"))
		s = &req->authority;
	else if (!strcmp(name, ":path"))
		s = &req->path;
	else if (!strcmp(name, ":scheme"))
		s = &req->scheme;
	if (!s || !s->len)
		return NULL;
	*vlen = s->len;
	return http_str_ptr(req, *s);
}

/*
 * One header condition without its inversion. Envoy matches a header that occurs several
 * times against its values joined with ",", as if folded into one line.
 */
static bool router_hdr_holds(const struct route_kv_match *k, const struct http_head *req)
{
	char join[ROUTER_JOIN_MAX];
	const char *v = NULL;
	size_t vlen = 0, used = 0;
	uint32_t i, n = 0;

	if (k->name[0] == ':' || !strcmp(k->name, "host")) {
		v = router_pseudo(req, k->name, &vlen);
		return v && router_str_match(&k->match, v, vlen);
	}
	for (i = 0; i < req->nhdrs; i++) {
		const struct http_hdr *h = &req->hdrs[i];

		if (strcmp(http_str_ptr(req, h->name), k->name))
			continue;
		if (n++ == 0) {
			v = http_str_ptr(req, h->value);
			vlen = h->value.len;
			continue;
		}
		if (n == 2) { /* a second value: start the folded copy */
			if (vlen >= sizeof(join))
				return false;
			memcpy(join, v, vlen);
			used = vlen;
		}
		if (used + 1 + h->value.len >= sizeof(join))
			return false;
		join[used++] = ',';
		memcpy(join + used, http_str_ptr(req, h->value), h->value.len);
		used += h->value.len;
	}
	if (!n)
		return false;
	if (n > 1) {
		v = join;
		vlen = used;
	}
	return router_str_match(&k->match, v, vlen);
}

/*
 * Envoy's route matcher parses the query without percent-decoding and keeps the first
 * value of a repeated name, so "lang=%65n" is not "lang=en" and "a=1&a=2" is "a=1". Names
 * compare case-sensitively, as URLs do.
 */
const char *router_query_param(const char *path, size_t len, const char *name, size_t nlen,
			       size_t *vlen)
{
	const char *q = memchr(path, '?', len), *end = path + len;

	if (!q)
		return NULL;
	q++;
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(q, '=', (size_t)(stop - q));
		size_t klen = (size_t)((eq ? eq : stop) - q);

		/* A fragment never reaches a proxy, but stop at one if a client sends it. */
		if (klen == nlen && !memcmp(q, name, nlen)) {
			const char *v = eq ? eq + 1 : stop;
			const char *hash = memchr(v, '#', (size_t)(stop - v));

			*vlen = (size_t)((hash ? hash : stop) - v);
			return v;
		}
		q = amp ? amp + 1 : end;
	}
	return NULL;
}

/* Whether every label of <want> is among <have> with the same value (a label selector). */
static bool router_labels_include(const struct k8s_kv *have, size_t nhave,
				  const struct k8s_kv *want, size_t nwant)
{
	size_t i, j;

	for (i = 0; i < nwant; i++) {
		for (j = 0; j < nhave; j++)
			if (!strcmp(have[j].key, want[i].key) &&
			    !strcmp(have[j].value, want[i].value))
				break;
		if (j == nhave)
			return false;
	}
	return true;
}

const char *router_match_fail(const struct route_match *m, const struct http_head *req,
			      const struct router_source *src)
{
	const char *scheme = "http";
	size_t slen = 4, i;

	/*
	 * Cheapest and most selective conditions first: the order changes which field an
	 * explain names when several fail, never whether the match holds.
	 */
	if (m->port && (!src || src->port != m->port))
		return "port";
	if (m->source_namespace && (!src || !src->ns || strcmp(src->ns, m->source_namespace)))
		return "sourceNamespace";
	if (m->nsource_labels &&
	    (!src || !router_labels_include(src->labels, src->nlabels, m->source_labels,
					    m->nsource_labels)))
		return "sourceLabels";
	if (!router_uri_match(&m->uri, req))
		return "uri";
	/* Envoy's HTTP/1 codec fills :scheme with "http" when the request line had none. */
	if (req->scheme.len) {
		scheme = http_str_ptr(req, req->scheme);
		slen = req->scheme.len;
	}
	if (!router_str_match(&m->scheme, scheme, slen))
		return "scheme";
	if (m->method.kind != ROUTE_STR_ANY &&
	    !router_str_match(&m->method, http_str_ptr(req, req->method), req->method.len))
		return "method";
	/*
	 * authority is a header match on :authority as sent, port included when the client
	 * wrote one: exact "reviews" does not hold for "reviews:9080" (Envoy, sidecar mode).
	 */
	if (m->authority.kind != ROUTE_STR_ANY &&
	    (!req->authority.len ||
	     !router_str_match(&m->authority, http_str_ptr(req, req->authority),
			       req->authority.len)))
		return "authority";
	/* withoutHeaders is the same condition inverted: it holds when the header is absent. */
	for (i = 0; i < m->nheaders; i++) {
		const struct route_kv_match *k = &m->headers[i];

		if (router_hdr_holds(k, req) == k->absent)
			return k->absent ? "withoutHeaders" : "headers";
	}
	for (i = 0; i < m->nquery; i++) {
		const struct route_kv_match *k = &m->query[i];
		size_t vlen = 0;
		const char *v = router_query_param(http_str_ptr(req, req->path), req->path.len,
						   k->name, strlen(k->name), &vlen);

		if (!v || !router_str_match(&k->match, v, vlen))
			return "queryParams";
	}
	return NULL;
}

/*
 * The first route of run <ru> that request <req> matches: its index in the table, -1 when
 * none does, -2 when the header occurs more than once (then the scan decides, on the
 * joined value, as router_hdr_holds compares it).
 */
static long router_run_lookup(const struct route_run *ru, const struct http_head *req)
{
	const char *v = NULL;
	size_t lo = 0, hi = ru->n;
	uint32_t i, n = 0;

	for (i = 0; i < req->nhdrs; i++) {
		if (strcmp(http_str_ptr(req, req->hdrs[i].name), ru->header))
			continue;
		if (n++)
			return -2;
		v = http_str_ptr(req, req->hdrs[i].value);
	}
	if (!v)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ru->vals[mid], v);

		if (!c)
			return ru->idx[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Whether route <r> is visible to a client in <src>'s namespace (VirtualService exportTo). */
static bool router_exported(const struct route_http *r, const struct router_source *src)
{
	if (!r->export_ns)
		return true;
	for (size_t i = 0; src && src->ns && i < r->nexport_ns; i++)
		if (!strcmp(r->export_ns[i], src->ns))
			return true;
	return false;
}

/*
 * The same modulo-then-cumulative-scan as lb_pick() and the BPF pick, so one random number
 * means the same thing at every weighted choice weir makes.
 */
/* The weighted pick over <n> destinations (their weights summing to <total>, 0: sum them). */
static const struct route_dest *router_pick_weighted(const struct route_dest *dests, size_t n,
						     uint64_t total, uint32_t rnd)
{
	uint64_t pos;
	size_t i;

	if (!n)
		return NULL;
	if (!total)
		for (i = 0; i < n; i++)
			total += dests[i].weight;
	if (!total) /* every weight 0: Istio treats a lone unweighted destination as 100 */
		return &dests[0];
	pos = rnd % total;
	for (i = 0; i < n; i++) {
		if (pos < dests[i].weight)
			return &dests[i];
		pos -= dests[i].weight;
	}
	return &dests[n - 1]; /* total_weight larger than the sum: the last one */
}

const struct route_dest *router_pick_dest(const struct route_http *r, uint32_t rnd)
{
	return router_pick_weighted(r->dests, r->ndests, r->total_weight, rnd);
}

const struct route_dest *router_pick_tcp_dest(const struct route_tcp *r, uint32_t rnd)
{
	return router_pick_weighted(r->dests, r->ndests, r->total_weight, rnd);
}

const char *router_tls_match_fail(const struct route_tls_match *m, const struct router_l4 *c)
{
	const struct router_source *src = c->src;
	size_t i;

	if (m->port && (!src || src->port != m->port))
		return "port";
	for (i = 0; i < m->nsubnets; i++)
		if ((c->dst_ip & m->subnets[i].mask) == m->subnets[i].addr)
			break;
	if (m->nsubnets && i == m->nsubnets)
		return "destinationSubnets";
	if (m->source_namespace && (!src || !src->ns || strcmp(src->ns, m->source_namespace)))
		return "sourceNamespace";
	if (m->nsource_labels &&
	    (!src || !router_labels_include(src->labels, src->nlabels, m->source_labels,
					    m->nsource_labels)))
		return "sourceLabels";
	for (i = 0; i < m->nsni; i++)
		if (sni_host_match(m->sni[i], c->sni, c->sni_len))
			return NULL;
	return "sniHosts";
}

const struct route_tcp *router_l4_route(const struct route_table *t, const struct router_l4 *c)
{
	uint16_t port = c->src ? c->src->port : 0;
	size_t i, j;

	if (!t)
		return NULL;
	/* tls[] first: a TLS port's SNI chains come before its catch-all tcp[] chain. */
	for (i = 0; c->tls && i < t->ntcp; i++)
		for (j = 0; j < t->tcp[i]->ntls; j++)
			if (!router_tls_match_fail(&t->tcp[i]->tls[j], c))
				return t->tcp[i];
	for (i = 0; i < t->ntcp; i++)
		if (!t->tcp[i]->tls && (!t->tcp[i]->port || t->tcp[i]->port == port))
			return t->tcp[i];
	return NULL;
}

const struct route_cluster *router_cluster_for(const struct route_cluster *cl,
					       const struct router_source *src)
{
	if (!src)
		return route_cluster_for(cl, NULL, NULL, 0);
	return route_cluster_for(cl, src->ns, src->labels, src->nlabels);
}

static void router_verdict(struct router_result *res, enum router_verdict v, uint16_t status,
			   const char *flags)
{
	res->verdict = (uint8_t)v;
	res->status = status;
	res->flags = flags;
}

int router_route(const struct route_table *t, const struct http_head *req,
		 const struct router_source *src, uint64_t *rng, struct router_result *res)
{
	const struct route_http *r = NULL;
	size_t i, j, run;

	if (!t || !req || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	res->flags = "-";
	if (!t->nhttp) {
		res->why = ROUTER_WHY_DEFAULT;
		res->cluster = router_cluster_for(t->dflt, src);
		if (t->dflt)
			router_verdict(res, ROUTER_FORWARD, 0, "-");
		else
			router_verdict(res, ROUTER_NO_CLUSTER, 503, "NC");
		return 0;
	}
	/*
	 * Istio's order: VirtualServices bound to the host oldest first, routes in file order;
	 * the first route with a holding match wins, there is no "best" match.
	 */
	for (i = 0, run = 0; i < t->nhttp && !r; i++) {
		const struct route_http *cand = t->http[i];

		/* An indexed run: one lookup answers for every route in it. */
		if (run < t->nruns && t->runs[run].start == i) {
			const struct route_run *ru = &t->runs[run++];
			long k = router_run_lookup(ru, req);

			if (k == -2) {
				/* The header is repeated: its joined value is compared route by
				 * route. */
			} else if (k < 0) {
				i = ru->end - 1; /* no route of the run matches */
				continue;
			} else {
				r = t->http[k];
				res->why = ROUTER_WHY_MATCH;
				res->route_idx = (size_t)k;
				res->match = &r->matches[0];
				res->match_idx = 0;
				break;
			}
		}
		/* exportTo: a route of a VirtualService not exported to the client's namespace
		 * does not exist for that client (it falls through to the next, or the default). */
		if (!router_exported(cand, src))
			continue;
		if (!cand->nmatches) {
			r = cand;
			res->why = ROUTER_WHY_CATCH_ALL;
			res->route_idx = i;
			break;
		}
		for (j = 0; j < cand->nmatches; j++) {
			if (router_match_fail(&cand->matches[j], req, src))
				continue;
			r = cand;
			res->why = ROUTER_WHY_MATCH;
			res->route_idx = i;
			res->match = &cand->matches[j];
			res->match_idx = j;
			break;
		}
	}
	/* Envoy's answer when a virtual host exists but no route matches: 404 with NR. */
	if (!r) {
		res->why = ROUTER_WHY_NO_MATCH;
		router_verdict(res, ROUTER_NO_ROUTE, 404, "NR");
		return 0;
	}
	res->route = r;
	/* Istio accepts one of redirect, directResponse and route per http entry. */
	if (r->redirect) {
		router_verdict(res, ROUTER_REDIRECT, r->redirect->code ? r->redirect->code : 301,
			       "-");
		return 0;
	}
	if (r->direct_status) {
		router_verdict(res, ROUTER_DIRECT, r->direct_status, "-");
		return 0;
	}
	res->dest = router_pick_dest(r, rng ? lb_rand(rng) : 0);
	if (!res->dest) {
		res->why = ROUTER_WHY_NO_DEST;
		router_verdict(res, ROUTER_NO_CLUSTER, 503, "NC");
		return 0;
	}
	res->cluster = router_cluster_for(res->dest->cluster, src);
	/* A subset no DestinationRule defines has no Envoy cluster: "no cluster found". */
	if (!res->cluster || res->cluster->subset_unknown)
		router_verdict(res, ROUTER_NO_CLUSTER, 503, "NC");
	else
		router_verdict(res, ROUTER_FORWARD, 0, "-");
	return 0;
}

/* Stable names for `weirctl explain -o json`: changing one breaks its documented output. */
const char *router_verdict_str(enum router_verdict v)
{
	switch (v) {
	case ROUTER_FORWARD:
		return "forward";
	case ROUTER_REDIRECT:
		return "redirect";
	case ROUTER_DIRECT:
		return "direct";
	case ROUTER_NO_ROUTE:
		return "no_route";
	case ROUTER_NO_CLUSTER:
		return "no_cluster";
	}
	return "unknown";
}

const char *router_why_str(enum router_why w)
{
	switch (w) {
	case ROUTER_WHY_DEFAULT:
		return "default";
	case ROUTER_WHY_MATCH:
		return "match";
	case ROUTER_WHY_CATCH_ALL:
		return "catch_all";
	case ROUTER_WHY_NO_MATCH:
		return "no_match";
	case ROUTER_WHY_NO_DEST:
		return "no_dest";
	}
	return "unknown";
}

/* ---- header operations ---- */

/* `set` of host or :authority rewrites the authority, as Istio turns it into host_rewrite. */
static int router_hdr_set(struct http_head *h, const char *name, const char *value)
{
	if (!strcmp(name, "host") || !strcmp(name, ":authority"))
		return http_head_str(h, value, strlen(value), &h->authority);
	return http_head_set(h, name, strlen(name), value, strlen(value));
}

int router_hdr_apply(struct http_head *h, const struct route_hdr_ops *ops)
{
	size_t i;
	int err;

	if (!ops)
		return 0;
	/* Envoy's HeaderParser: headers_to_remove first, then headers_to_add in order. */
	for (i = 0; i < ops->nremove; i++)
		http_head_del(h, ops->remove[i], strlen(ops->remove[i]));
	for (i = 0; i < ops->nset; i++) {
		err = router_hdr_set(h, ops->set[i].key, ops->set[i].value);
		if (err)
			return err;
	}
	for (i = 0; i < ops->nadd; i++) {
		err = http_head_add(h, ops->add[i].key, strlen(ops->add[i].key), ops->add[i].value,
				    strlen(ops->add[i].value));
		if (err)
			return err;
	}
	return 0;
}

int router_req_headers(struct http_head *req, const struct route_http *r,
		       const struct route_dest *d)
{
	int err = d ? router_hdr_apply(req, &d->req) : 0;

	if (!err && r)
		err = router_hdr_apply(req, &r->req);
	return err;
}

int router_resp_headers(struct http_head *resp, const struct route_http *r,
			const struct route_dest *d)
{
	int err = d ? router_hdr_apply(resp, &d->resp) : 0;

	if (!err && r)
		err = router_hdr_apply(resp, &r->resp);
	return err;
}

/* ---- rewrite and redirect ---- */

/* Longest path a rewrite or redirect composes (Envoy's default max path is far below). */
#define ROUTER_PATH_MAX 8192

/* Appends <len> bytes at <p> to <buf> at *<used>; -ENAMETOOLONG when it does not fit. */
static int router_cat(char *buf, size_t *used, const char *p, size_t len)
{
	if (*used + len >= ROUTER_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(buf + *used, p, len);
	*used += len;
	buf[*used] = '\0';
	return 0;
}

int router_rewrite(struct http_head *req, const struct route_rewrite *rw,
		   const struct route_match *m)
{
	char buf[ROUTER_PATH_MAX];
	const char *p = http_str_ptr(req, req->path), *q;
	size_t len = req->path.len, plen, used = 0;
	int err = 0;

	if (!rw)
		return 0;
	q = memchr(p, '?', len);
	plen = q ? (size_t)(q - p) : len; /* the path without its query */
	if (rw->uri) {
		/*
		 * Envoy's prefix_rewrite: after a prefix match only the matched bytes go, so
		 * prefix "/api" + rewrite "/v2" maps "/api/x?y" to "/v2/x?y". Any other match
		 * (exact, regex, none) replaces the whole path and keeps the query.
		 */
		err = router_cat(buf, &used, rw->uri, strlen(rw->uri));
		if (!err && m && m->uri.kind == ROUTE_STR_PREFIX && len >= m->uri.len)
			err = router_cat(buf, &used, p + m->uri.len, len - m->uri.len);
		else if (!err && q)
			err = router_cat(buf, &used, q, len - plen);
	} else if (rw->uri_re && rw->uri_re_sub) {
		long n = regex_replace(rw->uri_re, p, plen, rw->uri_re_sub, buf, sizeof(buf));

		if (n < 0)
			return -ENAMETOOLONG;
		used = (size_t)n;
		if (q)
			err = router_cat(buf, &used, q, len - plen);
	}
	if (err)
		return err;
	if (rw->uri || (rw->uri_re && rw->uri_re_sub)) {
		/* Stored only now: http_head_str may move the buffer <p> points into. */
		err = http_head_str(req, buf, used, &req->path);
		if (err)
			return err;
	}
	if (rw->authority)
		err = http_head_str(req, rw->authority, strlen(rw->authority), &req->authority);
	return err;
}

/* Splits authority <a>/<len> into host and port ("[::1]:80" keeps its brackets). */
static void router_split_authority(const char *a, size_t len, size_t *hlen, const char **port,
				   size_t *portlen)
{
	const char *c = NULL;
	size_t i;

	*hlen = len;
	*port = NULL;
	*portlen = 0;
	for (i = len; i > 0; i--) {
		if (a[i - 1] == ':') {
			c = a + i - 1;
			break;
		}
		if (a[i - 1] < '0' || a[i - 1] > '9')
			return; /* "]" of an IPv6 literal, or a host without a port */
	}
	if (!c || c + 1 == a + len)
		return;
	*hlen = (size_t)(c - a);
	*port = c + 1;
	*portlen = len - *hlen - 1;
}

int router_redirect(const struct http_head *req, const struct route_redirect *rd,
		    struct http_head *resp)
{
	char buf[ROUTER_PATH_MAX], portbuf[8];
	const char *scheme, *auth, *port, *path, *q;
	size_t alen, hlen, portlen, plen, used = 0;
	uint8_t version;
	int err;

	/* An HTTP/1 request without a scheme arrived in clear text: http. */
	if (rd->scheme)
		scheme = rd->scheme;
	else
		scheme = req->scheme.len ? http_str_ptr(req, req->scheme) : "http";
	/* host_redirect replaces host and port; port_redirect then replaces the port. */
	auth = rd->authority ? rd->authority : http_str_ptr(req, req->authority);
	alen = strlen(auth);
	router_split_authority(auth, alen, &hlen, &port, &portlen);
	if (rd->port) {
		portlen = (size_t)snprintf(portbuf, sizeof(portbuf), "%u", rd->port);
		port = portbuf;
	}
	/*
	 * A port that is the new scheme's default is left out, and so is the old scheme's
	 * default when only the scheme changes (Envoy's processRequestHost): an https upgrade
	 * of "r:80" goes to https://r, not to TLS on port 80.
	 */
	if (port) {
		bool p80 = portlen == 2 && !memcmp(port, "80", 2);
		bool p443 = portlen == 3 && !memcmp(port, "443", 3);
		bool http = !strcasecmp(scheme, "http"), https = !strcasecmp(scheme, "https");

		if ((p80 && http) || (p443 && https))
			port = NULL;
		else if (rd->scheme && !rd->port && ((p80 && https) || (p443 && http)))
			port = NULL;
	}
	path = http_str_ptr(req, req->path);
	plen = req->path.len;
	q = memchr(path, '?', plen);
	err = router_cat(buf, &used, scheme, strlen(scheme));
	if (!err)
		err = router_cat(buf, &used, "://", 3);
	if (!err)
		err = router_cat(buf, &used, auth, hlen);
	if (!err && port) {
		err = router_cat(buf, &used, ":", 1);
		if (!err)
			err = router_cat(buf, &used, port, portlen);
	}
	if (!err && rd->uri) {
		/* The whole path goes; the query stays unless the new uri brings one. */
		err = router_cat(buf, &used, rd->uri, strlen(rd->uri));
		if (!err && q && !strchr(rd->uri, '?'))
			err = router_cat(buf, &used, q, plen - (size_t)(q - path));
	} else if (!err) {
		err = router_cat(buf, &used, plen ? path : "/", plen ? plen : 1);
	}
	if (err)
		return err;
	/* Location is complete in <buf> before the reset, so <resp> may be <req> itself. */
	version = req->version;
	http_head_reset(resp, HTTP_RESPONSE);
	resp->version = version;
	resp->status = rd->code ? rd->code : 301;
	resp->content_length = 0;
	return http_head_add(resp, "location", 8, buf, used);
}

/* ---- fault injection ---- */

/* Whether an event of probability <ppm> (parts per million) happens, drawing from <rng>. */
static bool router_chance(uint32_t ppm, uint64_t *rng)
{
	if (!ppm)
		return false;
	if (ppm >= 1000000)
		return true;
	return lb_rand(rng) % 1000000 < ppm;
}

bool router_should_mirror(const struct route_http *r, uint64_t *rng)
{
	return r && r->mirror && router_chance(r->mirror_ppm, rng);
}

/* Envoy's Grpc::Utility::grpcToHttpStatus. */
static uint16_t router_grpc_to_http(int code)
{
	static const uint16_t map[17] = {200, 499, 500, 400, 504, 404, 409, 403, 429,
					 400, 409, 400, 501, 500, 503, 500, 401};

	return code >= 0 && code <= 16 ? map[code] : 500;
}

int router_http_to_grpc(uint16_t status)
{
	switch (status) {
	case 400:
		return 13; /* INTERNAL */
	case 401:
		return 16; /* UNAUTHENTICATED */
	case 403:
		return 7; /* PERMISSION_DENIED */
	case 404:
		return 12; /* UNIMPLEMENTED */
	case 429:
	case 502:
	case 503:
	case 504:
		return 14; /* UNAVAILABLE */
	default:
		return 2; /* UNKNOWN */
	}
}

bool router_is_grpc(const struct http_head *req)
{
	size_t len = 0;
	const char *ct = http_head_get(req, "content-type", 12, &len);

	if (!ct || len < 16 || strncasecmp(ct, "application/grpc", 16))
		return false;
	return len == 16 || ct[16] == '+' || ct[16] == ';';
}

void router_fault(const struct route_fault *f, bool grpc, uint64_t *rng,
		  struct router_fault_out *out)
{
	memset(out, 0, sizeof(*out));
	out->grpc_status = -1;
	if (!f)
		return;
	/*
	 * Delay and abort draw independently, as Envoy's fault filter does: a request may be
	 * delayed and then aborted, which is how a slow failing upstream looks.
	 */
	if (f->delay_ms && router_chance(f->delay_ppm, rng))
		out->delay_ms = f->delay_ms;
	/* An abort without a status to answer with is no abort (the compiler rejects it). */
	if ((!f->abort_is_grpc && !f->abort_http) || !router_chance(f->abort_ppm, rng))
		return;
	out->abort = true;
	if (f->abort_is_grpc) {
		/* gRPC clients read grpc-status; others get the HTTP form of the code. */
		out->http_status = grpc ? 200 : router_grpc_to_http(f->abort_grpc);
		out->grpc_status = grpc ? f->abort_grpc : -1;
	} else if (grpc) {
		/* Envoy's local replies to gRPC requests are always trailers-only. */
		out->http_status = 200;
		out->grpc_status = router_http_to_grpc(f->abort_http);
	} else {
		out->http_status = f->abort_http;
	}
}

int router_fault_response(const struct router_fault_out *fo, struct http_head *resp)
{
	char code[12];
	int n, err;

	http_head_reset(resp, HTTP_RESPONSE);
	resp->status = fo->http_status;
	if (fo->grpc_status < 0) {
		resp->content_length = 0;
		return 0;
	}
	n = snprintf(code, sizeof(code), "%d", fo->grpc_status);
	err = http_head_add(resp, "content-type", 12, "application/grpc", 16);
	if (!err)
		err = http_head_add(resp, "grpc-status", 11, code, (size_t)n);
	if (!err)
		err = http_head_add(resp, "grpc-message", 12, "fault filter abort", 18);
	return err;
}

/* ---- retries and timeouts ---- */

bool router_should_retry(const struct route_retry *p, uint16_t status, int grpc_status,
			 enum router_reset reset, uint32_t done)
{
	/* 5xx, gateway-error and reset all count a response that never came. */
	const uint32_t any_reset = ROUTE_RETRY_5XX | ROUTE_RETRY_GATEWAY | ROUTE_RETRY_RESET;
	uint32_t on;
	size_t i;

	if (!p || done >= p->attempts)
		return false;
	/*
	 * An attempt without a response is judged by its reset kind only: a status of 0 must
	 * not look like a code to the status conditions below.
	 */
	on = p->on;
	switch (reset) {
	case ROUTER_RESET_OVERFLOW:
		return false; /* retrying into an open circuit breaker only adds load */
	case ROUTER_RESET_CONNECT:
		return on & (any_reset | ROUTE_RETRY_CONNECT_FAILURE);
	case ROUTER_RESET_REFUSED:
		return on & (any_reset | ROUTE_RETRY_REFUSED_STREAM);
	case ROUTER_RESET_REMOTE:
	case ROUTER_RESET_TRY_TIMEOUT:
		return on & any_reset;
	case ROUTER_RESET_NONE:
	default:
		break;
	}
	/* A response: the status conditions, then the gRPC ones on its grpc-status. */
	if ((on & ROUTE_RETRY_5XX) && status >= 500 && status <= 599)
		return true;
	if ((on & ROUTE_RETRY_GATEWAY) && status >= 502 && status <= 504)
		return true;
	if ((on & ROUTE_RETRY_RETRIABLE_4XX) && status == 409)
		return true;
	if (on & ROUTE_RETRY_RETRIABLE_CODES)
		for (i = 0; i < p->ncodes; i++)
			if (p->codes[i] == status)
				return true;
	switch (grpc_status) {
	case 1:
		return on & ROUTE_RETRY_GRPC_CANCELLED;
	case 4:
		return on & ROUTE_RETRY_GRPC_DEADLINE;
	case 8:
		return on & ROUTE_RETRY_GRPC_EXHAUSTED;
	case 13:
		return on & ROUTE_RETRY_GRPC_INTERNAL;
	case 14:
		return on & ROUTE_RETRY_GRPC_UNAVAILABLE;
	default:
		return false;
	}
}

uint32_t router_retry_attempts(const struct route_http *r)
{
	return r ? r->retry.attempts : 0;
}

/* A try never outlives the request: Envoy caps the per-try timer at the global one. */
uint32_t router_try_timeout_ms(const struct route_http *r, uint64_t timeout_ms)
{
	uint64_t t = r ? r->retry.per_try_timeout_ms : 0;

	if (!t || (timeout_ms && timeout_ms < t))
		t = timeout_ms;
	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

int router_grpc_timeout(const char *v, size_t len, uint64_t *ms)
{
	uint64_t n = 0;
	size_t i;

	/* gRPC's spec: TimeoutValue is 1 to 8 ASCII digits, then one unit character. */
	if (len < 2 || len > 9)
		return -EINVAL;
	for (i = 0; i + 1 < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	switch (v[len - 1]) {
	case 'H':
		*ms = n * 3600000;
		break;
	case 'M':
		*ms = n * 60000;
		break;
	case 'S':
		*ms = n * 1000;
		break;
	case 'm':
		*ms = n;
		break;
	case 'u': /* rounded up: a deadline is never extended, nor silently made zero */
		*ms = (n + 999) / 1000;
		break;
	case 'n':
		*ms = (n + 999999) / 1000000;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

uint64_t router_timeout_ms(const struct route_http *r, const struct http_head *req)
{
	uint64_t t = r ? r->timeout_ms : 0, g;
	size_t len = 0;
	const char *v = req ? http_head_get(req, "grpc-timeout", 12, &len) : NULL;

	/* grpc-timeout 0 means no deadline to Envoy; a malformed one is ignored. */
	if (v && !router_grpc_timeout(v, len, &g) && g && (!t || g < t))
		t = g;
	return t;
}
