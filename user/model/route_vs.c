// SPDX-License-Identifier: Apache-2.0
/*
 * Compiles VirtualService entries into route.h's routes for one Service port: http[] into
 * route_http (matches, weighted destinations, redirect, direct response, rewrite, timeout,
 * retries, fault, mirror, header operations), tcp[] and tls[] into route_tcp. Everything
 * is copied into the snapshot's arena, because the decoded objects may be freed once the
 * snapshot is built; regexes are compiled again here (the decoder only validated them).
 *
 * Istio's rules kept here:
 *   - a match with a port applies only to that port of the Service; a route whose matches
 *     all name other ports is not in that port's table;
 *   - a destination without a port takes the only port of its Service, else the port with
 *     the number of the table's port (Istio's "same port"), else the Service's first port;
 *   - no retries block means Istio's default policy: 2 attempts on connect-failure,
 *     refused-stream, unavailable, cancelled and retriable status 503;
 *   - a route naming a subset its DestinationRule does not define still compiles: its
 *     cluster has subset_unknown set and no members, and the router answers 503 (UH).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/log.h"
#include "lib/regex.h"
#include "config/k8s_istio.h"
#include "model/model.h"
#include "model/route_priv.h"

/* --- checks --------------------------------------------------------------------------- */

/* Logs a compile error of <o> at <path> ("spec.http[0].route[1].destination.host"). */
static bool fail(const struct k8s_object *o, const char *path, const char *what, const char *host)
{
	log_err(ROUTE_MOD, "%s: VirtualService %s/%s: %s: %s \"%s\"", o->source, o->meta.ns,
		o->meta.name, path, what, host);
	return false;
}

/* Checks one destination; <path> names it for the message. */
static bool check_dest(struct route_ctx *c, const struct k8s_object *o, const struct istio_dest *d,
		       const char *path)
{
	const struct model_service *s = route_dest_svc(c->m, o->meta.ns, d->host);
	char p[200];
	size_t i;

	snprintf(p, sizeof(p), "%s.host", path);
	if (!s)
		return fail(o, p, "no known Service", d->host);
	if (!d->port)
		return true;
	for (i = 0; i < s->nports; i++)
		if (s->ports[i].port == d->port)
			return true;
	snprintf(p, sizeof(p), "%s.port.number", path);
	log_err(ROUTE_MOD, "%s: VirtualService %s/%s: %s: Service %s/%s has no port %u", o->source,
		o->meta.ns, o->meta.name, p, s->ns, s->name, d->port);
	return false;
}

/*
 * Checks VirtualService <o> against the Services of c->m: every destination and mirror host
 * must be a Service, and a destination port one of its ports. A rule that routes somewhere
 * that does not exist is rejected whole (logged once, at the first problem) rather than
 * compiled with holes: half a rule would send some requests to a 503 the author never wrote.
 */
bool route_vs_check(struct route_ctx *c, const struct k8s_object *o)
{
	const struct istio_vs *vs = o->vs;
	char path[160];
	size_t i, j;

	for (i = 0; i < vs->nhttp; i++) {
		for (j = 0; j < vs->http[i].ndests; j++) {
			snprintf(path, sizeof(path), "spec.http[%zu].route[%zu].destination", i, j);
			if (!check_dest(c, o, &vs->http[i].dests[j], path))
				return false;
		}
		snprintf(path, sizeof(path), "spec.http[%zu].mirror", i);
		if (vs->http[i].mirror && !check_dest(c, o, vs->http[i].mirror, path))
			return false;
	}
	for (i = 0; i < vs->ntcp + vs->ntls; i++) {
		bool tcp = i < vs->ntcp;
		const struct istio_l4 *l = tcp ? &vs->tcp[i] : &vs->tls[i - vs->ntcp];

		for (j = 0; j < l->ndests; j++) {
			snprintf(path, sizeof(path), "spec.%s[%zu].route[%zu].destination",
				 tcp ? "tcp" : "tls", tcp ? i : i - vs->ntcp, j);
			if (!check_dest(c, o, &l->dests[j], path))
				return false;
		}
	}
	return true;
}

/* --- pieces --------------------------------------------------------------------------- */

/*
 * Compiles <re> (case-insensitively with <icase>: ignoreUriCase) and keeps it for
 * route_free(); NULL on -ENOMEM (sets c->nomem).
 */
static struct regex *keep_regex(struct route_ctx *c, const char *re, bool icase)
{
	struct regex *r;
	char *buf = NULL;

	if (c->nres == c->capres) {
		size_t cap = c->capres ? c->capres * 2 : 16;
		struct regex **v = reallocarray(c->res, cap, sizeof(*v));

		if (!v) {
			c->nomem = true;
			return NULL;
		}
		c->res = v;
		c->capres = cap;
	}
	/* RE2's (?i) flag: the router matches with the same regex_full_match() either way. */
	if (icase) {
		buf = malloc(strlen(re) + 5);
		if (!buf) {
			c->nomem = true;
			return NULL;
		}
		strcpy(buf, "(?i)");
		strcat(buf, re);
		re = buf;
	}
	/* The decoder compiled it already: failing now can only be memory. */
	r = regex_new(re, strlen(re), NULL, 0);
	free(buf);
	if (!r) {
		c->nomem = true;
		return NULL;
	}
	c->res[c->nres++] = r;
	return r;
}

static void str_fill(struct route_ctx *c, const struct istio_str *in, bool ignore_case,
		     struct route_str *out)
{
	out->kind = in->kind;
	out->ignore_case = ignore_case;
	out->value = route_strdup(c, in->value);
	out->len = in->value ? (uint32_t)strlen(in->value) : 0;
	if (in->kind == ROUTE_STR_REGEX)
		out->re = keep_regex(c, in->value, ignore_case);
}

static const struct route_kv_match *kvm_copy(struct route_ctx *c, const struct istio_kv_match *in,
					     size_t n)
{
	struct route_kv_match *v = arena_calloc(c->a, n ? n : 1, sizeof(*v));
	size_t i;

	if (!v) {
		c->nomem = true;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		v[i].name = route_strdup(c, in[i].name);
		v[i].absent = in[i].absent;
		str_fill(c, &in[i].m, false, &v[i].match);
	}
	return v;
}

static void match_fill(struct route_ctx *c, const struct istio_match *in, struct route_match *out)
{
	out->name = route_strdup(c, in->name);
	str_fill(c, &in->uri, in->ignore_uri_case, &out->uri);
	str_fill(c, &in->scheme, false, &out->scheme);
	str_fill(c, &in->method, false, &out->method);
	str_fill(c, &in->authority, false, &out->authority);
	out->headers = kvm_copy(c, in->headers, in->nheaders);
	out->nheaders = in->nheaders;
	out->query = kvm_copy(c, in->query, in->nquery);
	out->nquery = in->nquery;
	out->port = in->port;
	out->source_labels = route_kv(c, in->source_labels, in->nsource_labels, false);
	out->nsource_labels = in->nsource_labels;
	out->source_namespace = route_strdup(c, in->source_ns);
}

static void ops_fill(struct route_ctx *c, const struct istio_hdr_ops *in, struct route_hdr_ops *out)
{
	const char **rm = arena_calloc(c->a, in->nremove ? in->nremove : 1, sizeof(*rm));
	size_t i;
	char *k;

	out->set = route_kv(c, in->set, in->nset, true);
	out->nset = in->nset;
	out->add = route_kv(c, in->add, in->nadd, true);
	out->nadd = in->nadd;
	if (!rm) {
		c->nomem = true;
		return;
	}
	for (i = 0; i < in->nremove; i++) {
		rm[i] = route_strdup(c, in->remove[i]);
		for (k = (char *)rm[i]; k && *k; k++)
			if (*k >= 'A' && *k <= 'Z')
				*k = (char)(*k - 'A' + 'a');
	}
	out->remove = rm;
	out->nremove = in->nremove;
}

/*
 * The cluster of destination <d> of <o> in a table of port number <port>. Without a port
 * the destination takes the Service port with the table's number (Istio's behaviour for
 * multi-port Services), else its first port. NULL only on -ENOMEM (c->nomem set).
 */
static const struct route_cluster *dest_cluster(struct route_ctx *c, const struct k8s_object *o,
						const struct istio_dest *d, uint16_t port)
{
	const struct model_service *s = route_dest_svc(c->m, o->meta.ns, d->host);
	const struct model_svc_port *sp = NULL;
	const struct route_cluster *cl;
	uint16_t want = d->port ? d->port : port;
	size_t i;

	if (!s || !s->nports)
		return NULL; /* route_vs_check() let no such object through */
	for (i = 0; i < s->nports; i++)
		if (s->ports[i].port == want)
			sp = &s->ports[i];
	if (!sp)
		sp = &s->ports[0];
	cl = route_cluster_get(c, s, sp, d->subset);
	if (!cl)
		c->nomem = true;
	return cl;
}

static const struct route_dest *dests_fill(struct route_ctx *c, const struct k8s_object *o,
					   const struct istio_dest *in, size_t n, uint16_t port,
					   uint32_t *total)
{
	struct route_dest *v = arena_calloc(c->a, n ? n : 1, sizeof(*v));
	size_t i;

	*total = 0;
	if (!v) {
		c->nomem = true;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		v[i].cluster = dest_cluster(c, o, &in[i], port);
		v[i].weight = in[i].weight;
		*total += in[i].weight;
		ops_fill(c, &in[i].req, &v[i].req);
		ops_fill(c, &in[i].resp, &v[i].resp);
	}
	return v;
}

static void retry_fill(struct route_ctx *c, const struct istio_http *h, struct route_retry *r)
{
	static const uint16_t dflt_codes[] = {503};
	uint16_t *codes;

	if (!h->has_retries) {
		/* Istio's default retry policy for a route that sets none. */
		*r = (struct route_retry){
		    .attempts = 2,
		    .on = ROUTE_RETRY_CONNECT_FAILURE | ROUTE_RETRY_REFUSED_STREAM |
			  ROUTE_RETRY_GRPC_UNAVAILABLE | ROUTE_RETRY_GRPC_CANCELLED |
			  ROUTE_RETRY_RETRIABLE_CODES,
		    .codes = dflt_codes,
		    .ncodes = 1};
		return;
	}
	codes = arena_calloc(c->a, h->retry.ncodes ? h->retry.ncodes : 1, sizeof(*codes));
	if (!codes) {
		c->nomem = true;
		return;
	}
	memcpy(codes, h->retry.codes, h->retry.ncodes * sizeof(*codes));
	*r = (struct route_retry){.attempts = h->retry.attempts,
				  .per_try_timeout_ms = h->retry.per_try_timeout_ms,
				  .on = h->retry.on,
				  .codes = codes,
				  .ncodes = h->retry.ncodes,
				  .remote_localhost = h->retry.remote_localities};
}

/*
 * Fills <r>'s export_ns from the exportTo of <o>: "." becomes the VirtualService's own
 * namespace, "*" anywhere means every namespace (NULL). The router checks the client's
 * namespace against it because one table serves every client of the node.
 */
static void export_fill(struct route_ctx *c, const struct k8s_object *o, struct route_http *r)
{
	const struct istio_vs *vs = o->vs;
	const char **v;
	size_t i;

	for (i = 0; i < vs->nexport_to; i++)
		if (!strcmp(vs->export_to[i], "*"))
			return;
	if (!vs->nexport_to)
		return;
	v = arena_calloc(c->a, vs->nexport_to, sizeof(*v));
	if (!v) {
		c->nomem = true;
		return;
	}
	/* "~" (exported nowhere) stays "~": no namespace is named that. */
	for (i = 0; i < vs->nexport_to; i++)
		v[i] =
		    route_strdup(c, strcmp(vs->export_to[i], ".") ? vs->export_to[i] : o->meta.ns);
	r->export_ns = v;
	r->nexport_ns = vs->nexport_to;
}

/* The RateLimit targeting route <name> of <o>, copied, or NULL. */
static const struct route_ratelimit *route_rl(struct route_ctx *c, const struct k8s_object *o,
					      const char *name)
{
	struct route_ratelimit *r;
	size_t i;

	for (i = 0; name && i < c->nrls; i++) {
		const struct k8s_object *ro = c->rls[i].o;

		if (!ro->rl->vs || strcmp(ro->meta.ns, o->meta.ns) ||
		    strcmp(ro->rl->vs, o->meta.name) || strcmp(ro->rl->route, name))
			continue;
		r = arena_alloc(c->a, sizeof(*r));
		if (!r) {
			c->nomem = true;
			return NULL;
		}
		*r = (struct route_ratelimit){
		    .enabled = true,
		    .tokens = ro->rl->max_tokens,
		    .fill_tokens = ro->rl->tokens_per_fill,
		    .fill_interval_ms = ro->rl->fill_interval_ms,
		    .source = arena_printf(c->a, "%s/%s", ro->meta.ns, ro->meta.name)};
		c->nomem |= !r->source;
		return r;
	}
	return NULL;
}

/* Copies the optional blocks of <h> (redirect, rewrite, fault) into <r>. */
static void blocks_fill(struct route_ctx *c, const struct istio_http *h, struct route_http *r)
{
	if (h->redirect) {
		struct route_redirect *rd = arena_alloc(c->a, sizeof(*rd));

		if (!rd) {
			c->nomem = true;
			return;
		}
		*rd = (struct route_redirect){.uri = route_strdup(c, h->redirect->uri),
					      .authority = route_strdup(c, h->redirect->authority),
					      .scheme = route_strdup(c, h->redirect->scheme),
					      .port = h->redirect->port,
					      .code = h->redirect->code};
		r->redirect = rd;
	}
	if (h->rewrite) {
		struct route_rewrite *rw = arena_alloc(c->a, sizeof(*rw));

		if (!rw) {
			c->nomem = true;
			return;
		}
		rw->uri = route_strdup(c, h->rewrite->uri);
		rw->authority = route_strdup(c, h->rewrite->authority);
		if (h->rewrite->re_match) {
			rw->uri_re = keep_regex(c, h->rewrite->re_match, false);
			rw->uri_re_sub = route_strdup(c, h->rewrite->re_rewrite);
		}
		r->rewrite = rw;
	}
	if (h->fault) {
		struct route_fault *f = arena_alloc(c->a, sizeof(*f));

		if (!f) {
			c->nomem = true;
			return;
		}
		*f =
		    (struct route_fault){.delay_ppm = h->fault->has_delay ? h->fault->delay_ppm : 0,
					 .delay_ms = h->fault->delay_ms,
					 .abort_ppm = h->fault->has_abort ? h->fault->abort_ppm : 0,
					 .abort_http = h->fault->abort_http,
					 .abort_grpc = h->fault->abort_grpc,
					 .abort_is_grpc = h->fault->abort_is_grpc};
		r->fault = f;
	}
}

/*
 * Compiles http entry <h> (index <idx>) of VirtualService <o> for the table of <svc> port
 * <sp> into *<out>: only the matches for that port are kept, and when it had matches but
 * none is for that port *<out> stays NULL. Everything is copied into c->a. Returns 0 or
 * -ENOMEM.
 */
int route_vs_http(struct route_ctx *c, const struct k8s_object *o, const struct istio_http *h,
		  size_t idx, const struct model_service *svc, const struct model_svc_port *sp,
		  const struct route_http **out)
{
	struct route_match *mv;
	struct route_http *r;
	size_t i, n = 0;

	(void)svc;
	*out = NULL;
	for (i = 0; i < h->nmatches; i++)
		n += !h->matches[i].port || h->matches[i].port == sp->port;
	if (h->nmatches && !n)
		return 0; /* every match is for another port */
	r = arena_alloc(c->a, sizeof(*r));
	mv = arena_calloc(c->a, n ? n : 1, sizeof(*mv));
	if (!r || !mv)
		return -ENOMEM;
	n = 0;
	for (i = 0; i < h->nmatches; i++)
		if (!h->matches[i].port || h->matches[i].port == sp->port)
			match_fill(c, &h->matches[i], &mv[n++]);
	r->matches = mv;
	r->nmatches = n;
	r->vs = arena_printf(c->a, "%s/%s", o->meta.ns, o->meta.name);
	r->name = h->name ? route_strdup(c, h->name)
			  : arena_printf(c->a, "%s/%s/%zu", o->meta.ns, o->meta.name, idx);
	if (!r->vs || !r->name)
		return -ENOMEM;
	r->dests = dests_fill(c, o, h->dests, h->ndests, sp->port, &r->total_weight);
	r->ndests = h->ndests;
	r->direct_status = h->direct_status;
	r->direct_body = route_strdup(c, h->direct_body);
	r->timeout_ms = h->timeout_ms;
	retry_fill(c, h, &r->retry);
	blocks_fill(c, h, r);
	if (h->mirror) {
		r->mirror = dest_cluster(c, o, h->mirror, sp->port);
		r->mirror_ppm = h->mirror_ppm;
	}
	ops_fill(c, &h->req, &r->req);
	ops_fill(c, &h->resp, &r->resp);
	r->ratelimit = route_rl(c, o, h->name);
	export_fill(c, o, r);
	*out = r;
	return c->nomem ? -ENOMEM : 0;
}

/* The tls[] matches of <l> into <r>: names lower case, subnets as they were decoded. */
static int tls_fill(struct route_ctx *c, const struct istio_l4 *l, struct route_tcp *r)
{
	struct route_tls_match *v = arena_calloc(c->a, l->ntls, sizeof(*v));
	size_t i, j;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < l->ntls; i++) {
		const struct istio_tls_match *in = &l->tls[i];
		struct route_subnet *sn = arena_calloc(c->a, in->nsubnets + 1, sizeof(*sn));
		const char **sni = arena_calloc(c->a, in->nsni + 1, sizeof(*sni));

		if (!sn || !sni)
			return -ENOMEM;
		for (j = 0; j < in->nsni; j++) {
			char *h = (char *)route_strdup(c, in->sni[j]);

			if (!h)
				return -ENOMEM;
			for (char *p = h; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			sni[j] = h;
		}
		for (j = 0; j < in->nsubnets; j++) {
			sn[j].addr = in->subnets[j].addr;
			sn[j].mask = in->subnets[j].mask;
		}
		v[i].sni = sni;
		v[i].nsni = in->nsni;
		v[i].port = in->port;
		v[i].subnets = sn;
		v[i].nsubnets = in->nsubnets;
		v[i].source_labels = route_kv(c, in->source_labels, in->nsource_labels, false);
		v[i].nsource_labels = in->nsource_labels;
		v[i].source_namespace = route_strdup(c, in->source_ns);
	}
	r->tls = v;
	r->ntls = l->ntls;
	return c->nomem ? -ENOMEM : 0;
}

/*
 * Compiles tcp/tls entry <l> of <o> for <svc> port <sp> into *<out> (NULL when its ports
 * are others). Returns 0 or -ENOMEM.
 */
int route_vs_tcp(struct route_ctx *c, const struct k8s_object *o, const struct istio_l4 *l,
		 const struct model_service *svc, const struct model_svc_port *sp,
		 const struct route_tcp **out)
{
	struct route_tcp *r;
	size_t i;

	(void)svc;
	*out = NULL;
	for (i = 0; i < l->nports; i++)
		if (l->ports[i] == sp->port)
			break;
	if (l->nports && i == l->nports)
		return 0;
	/* tls[]: kept when some match may hold on this port. */
	for (i = 0; i < l->ntls; i++)
		if (!l->tls[i].port || l->tls[i].port == sp->port)
			break;
	if (l->tls && i == l->ntls)
		return 0;
	r = arena_alloc(c->a, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->vs = arena_printf(c->a, "%s/%s", o->meta.ns, o->meta.name);
	r->port = l->nports ? sp->port : 0;
	r->dests = dests_fill(c, o, l->dests, l->ndests, sp->port, &r->total_weight);
	r->ndests = l->ndests;
	if (l->tls && tls_fill(c, l, r))
		return -ENOMEM;
	*out = r;
	return c->nomem || !r->vs ? -ENOMEM : 0;
}
