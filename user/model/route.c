// SPDX-License-Identifier: Apache-2.0
/*
 * Compiles Istio traffic management (VirtualService, DestinationRule) and weir's HealthCheck
 * and RateLimit into the tables of route.h, against the Services and Pods of one snapshot.
 * This half does the parts that are about Services: which rule applies to which host,
 * clusters (Service port x subset) with their members and merged policy, one table per
 * Service port, the derived agent flag, and the lookup. route_vs.c compiles the routes.
 *
 * Istio's rules followed here, and weir's choices where Istio leaves it open:
 *   - hosts: a short name is in the rule's namespace; "name.ns", "name.ns.svc" and the FQDN
 *     name the same Service; "*.ns.svc.cluster.local" (any suffix after "*") and "*" match
 *     every Service below them;
 *   - several VirtualServices (or DestinationRules) for one Service: one applies, none are
 *     merged. One naming the Service exactly beats a wildcard; then the oldest by
 *     creationTimestamp; then the first in file order (an object without a timestamp counts
 *     as older than every dated one). A VirtualService whose gateways do not include "mesh"
 *     is for gateways only and ignored;
 *   - policy: top level, then its portLevelSettings for the port, then the subset's policy,
 *     then the subset's portLevelSettings; each of loadBalancer, connectionPool and
 *     outlierDetection replaces the one before it whole, as Istio's MergeTrafficPolicy does.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weir/service.h>

#include "lib/arena.h"
#include "lib/log.h"
#include "lib/regex.h"
#include "config/k8s_istio.h"
#include "model/model.h"
#include "model/route_priv.h"

/* The retry bits of the decoder and of route.h are one set of values. */
_Static_assert(ISTIO_RETRY_CODES == ROUTE_RETRY_RETRIABLE_CODES &&
		   ISTIO_RETRY_UNAVAILABLE == ROUTE_RETRY_GRPC_UNAVAILABLE &&
		   ISTIO_RETRY_5XX == ROUTE_RETRY_5XX,
	       "retry bits differ");

/* model_routes with what route_free() needs. */
struct route_priv {
	struct model_routes r;
	struct regex **res;
	size_t nres;
};

/*
 * A copy of <s> in the snapshot's arena, NULL for NULL. Failure sets c->nomem instead of
 * returning an error: the compiler copies dozens of strings per route and checks once.
 */
const char *route_strdup(struct route_ctx *c, const char *s)
{
	char *r;

	if (!s)
		return NULL;
	r = arena_strdup(c->a, s);
	if (!r)
		c->nomem = true;
	return r;
}

/*
 * A copy of the <n> pairs at <kv> in the snapshot's arena, keys lower-cased when <lower>
 * (header names). Failure sets c->nomem and returns NULL.
 */
const struct k8s_kv *route_kv(struct route_ctx *c, const struct k8s_kv *kv, size_t n, bool lower)
{
	struct k8s_kv *v = arena_calloc(c->a, n ? n : 1, sizeof(*v));
	char *k;
	size_t i;

	if (!v) {
		c->nomem = true;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		v[i].key = route_strdup(c, kv[i].key);
		v[i].value = route_strdup(c, kv[i].value);
		for (k = (char *)v[i].key; lower && k && *k; k++)
			if (*k >= 'A' && *k <= 'Z')
				*k = (char)(*k - 'A' + 'a');
	}
	return v;
}

/* --- protocols ------------------------------------------------------------------------ */

/* Ports whose server speaks first: sniffing would wait forever, so they are TCP (Istio). */
static bool server_first(uint16_t port)
{
	static const uint16_t ports[] = {25, 110, 143, 3306, 5432, 27017};
	size_t i;

	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (ports[i] == port)
			return true;
	return false;
}

/* A protocol name (appProtocol or a port name's prefix); -1 when it names none. */
static int proto_name(const char *s, size_t len)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} names[] = {{"http", ROUTE_PROTO_HTTP}, {"http2", ROUTE_PROTO_HTTP2},
		     {"grpc", ROUTE_PROTO_GRPC}, {"grpc-web", ROUTE_PROTO_HTTP2},
		     {"h2c", ROUTE_PROTO_HTTP2}, {"https", ROUTE_PROTO_TLS},
		     {"tls", ROUTE_PROTO_TLS},	 {"tcp", ROUTE_PROTO_TCP},
		     {"udp", ROUTE_PROTO_TCP},	 {"mongo", ROUTE_PROTO_TCP},
		     {"redis", ROUTE_PROTO_TCP}, {"mysql", ROUTE_PROTO_TCP}};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == len && !strncasecmp(names[i].name, s, len))
			return names[i].proto;
	return -1;
}

/*
 * Istio's detection: appProtocol, else the port name ("http-web", "grpc", "grpc-web-x"),
 * else sniffing, except on server-first ports. model.c folds appProtocol and the name into
 * app_proto with "tcp" for "unknown", so a bare "tcp" is trusted only when the name says so.
 */
uint8_t route_proto_of(const struct model_svc_port *p)
{
	int r;

	if (p->proto == IPPROTO_UDP)
		return ROUTE_PROTO_TCP;
	if (!strncmp(p->name, "grpc-web", 8) && (!p->name[8] || p->name[8] == '-'))
		return ROUTE_PROTO_HTTP2;
	r = proto_name(p->name, strcspn(p->name, "-"));
	if (p->app_proto && strcmp(p->app_proto, "tcp")) {
		int a = proto_name(p->app_proto, strlen(p->app_proto));

		if (a >= 0)
			return (uint8_t)a;
	}
	if (r >= 0)
		return (uint8_t)r;
	return server_first(p->port) ? ROUTE_PROTO_TCP : ROUTE_PROTO_SNIFF;
}

/* --- hosts ---------------------------------------------------------------------------- */

/*
 * Whether <host> written in namespace <ns> names Service <s>; *<exact> tells an exact name
 * from a wildcard, because an exact rule wins over a wildcard one. Comparing against the
 * FQDN covers every short form at once: "name.ns" and "name.ns.svc" are its prefixes at a dot.
 */
static bool host_names(const char *host, const char *ns, const struct model_service *s, bool *exact)
{
	char fqdn[320];
	size_t hl, fl;

	snprintf(fqdn, sizeof(fqdn), "%s.%s.svc.cluster.local", s->name, s->ns);
	*exact = false;
	if (!strcmp(host, "*"))
		return true;
	if (host[0] == '*') {
		hl = strlen(host + 1);
		fl = strlen(fqdn);
		return hl <= fl && !strcmp(fqdn + fl - hl, host + 1);
	}
	*exact = true;
	if (!strchr(host, '.'))
		return !strcmp(host, s->name) && !strcmp(ns, s->ns);
	/* "name.ns", "name.ns.svc" and the FQDN are prefixes of the FQDN at a dot. */
	hl = strlen(host);
	return !strncmp(fqdn, host, hl) && (fqdn[hl] == '.' || !fqdn[hl]) &&
	       hl > strlen(s->name) + 1;
}

/*
 * The Service of <m> named by destination host <host> written in namespace <ns>, or NULL.
 * Wildcards name no single Service, so a destination may not use one (Istio agrees).
 */
const struct model_service *route_dest_svc(const struct model *m, const char *ns, const char *host)
{
	bool exact;
	size_t i;

	if (host[0] == '*')
		return NULL;
	for (i = 0; i < m->nservices; i++)
		if (host_names(host, ns, &m->services[i], &exact))
			return &m->services[i];
	return NULL;
}

/* Whether a wildcard or <exact> match from <a> beats the current <best> (see the top). */
static bool obj_beats(const struct route_obj *a, bool a_exact, const struct route_obj *best,
		      bool best_exact)
{
	const char *ca, *cb;
	int c;

	if (!best->o)
		return true;
	if (a_exact != best_exact)
		return a_exact;
	ca = a->o->meta.created ? a->o->meta.created : "";
	cb = best->o->meta.created ? best->o->meta.created : "";
	c = strcmp(ca, cb);
	return c ? c < 0 : a->idx < best->idx;
}

/* Of the VirtualServices <v>/<n>, the one bound to Service <s> for the mesh (o NULL: none). */
static struct route_obj pick_vs(const struct route_obj *v, size_t n, const struct model_service *s)
{
	struct route_obj best = {0};
	bool best_exact = false, exact, ex;
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct k8s_object *o = v[i].o;
		bool hit = false;

		for (j = 0; j < o->vs->ngateways; j++)
			if (!strcmp(o->vs->gateways[j], "mesh"))
				break;
		if (o->vs->ngateways && j == o->vs->ngateways)
			continue; /* gateways only */
		exact = false;
		for (j = 0; j < o->vs->nhosts; j++)
			if (host_names(o->vs->hosts[j], o->meta.ns, s, &ex)) {
				hit = true;
				exact |= ex;
			}
		if (hit && obj_beats(&v[i], exact, &best, best_exact)) {
			best = v[i];
			best_exact = exact;
		}
	}
	return best;
}

/* --- clusters ------------------------------------------------------------------------- */

/* Whether Pod <p> carries every label of <kv>/<n>. */
static bool pod_has(const struct model_pod *p, const struct k8s_kv *kv, size_t n)
{
	const char *v;
	size_t i;

	for (i = 0; i < n; i++) {
		v = p ? k8s_kv_get(p->labels, p->nlabels, kv[i].key) : NULL;
		if (!v || strcmp(v, kv[i].value))
			return false;
	}
	return true;
}

/*
 * Applies TrafficPolicy <p> over <out>, then its portLevelSettings entry for <port> if any.
 * Each block (loadBalancer, connectionPool, outlierDetection) replaces the one before it
 * whole, as Istio's MergeTrafficPolicy does: a subset that sets only maxConnections does not
 * inherit the top level's http limits.
 */
static void policy_apply(const struct istio_policy *p, uint16_t port, struct route_policy *out)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < 2; i++) {
		if (p->lb.set)
			out->lb = (struct route_lb_policy){.policy = p->lb.policy,
							   .hash_key = p->lb.hash_key,
							   .hash_name = p->lb.hash_name,
							   .maglev_size = p->lb.maglev_size};
		if (p->pool.set)
			out->pool = (struct route_conn_pool){
			    .max_connections = p->pool.max_connections,
			    .connect_timeout_ms = p->pool.connect_timeout_ms,
			    .tcp_idle_timeout_ms = p->pool.tcp_idle_timeout_ms,
			    .http1_max_pending = p->pool.http1_max_pending,
			    .http2_max_requests = p->pool.http2_max_requests,
			    .max_requests_per_conn = p->pool.max_requests_per_conn,
			    .max_retries = p->pool.max_retries,
			    .http_idle_timeout_ms = p->pool.http_idle_timeout_ms,
			    .h2_upgrade = p->pool.h2_upgrade};
		if (p->outlier.set)
			out->outlier = (struct route_outlier){
			    .enabled = true,
			    .consecutive_5xx = p->outlier.consecutive_5xx,
			    .consecutive_gateway = p->outlier.consecutive_gateway,
			    .interval_ms = p->outlier.interval_ms,
			    .base_ejection_ms = p->outlier.base_ejection_ms,
			    .max_ejection_percent = p->outlier.max_ejection_percent,
			    .min_health_percent = p->outlier.min_health_percent};
		/* Second round: the port-level entry for this port, if any. */
		if (i == 1)
			break;
		{
			const struct istio_policy *pl = NULL;
			size_t j;

			for (j = 0; j < p->nports; j++)
				if (p->ports[j].port == port)
					pl = &p->ports[j];
			if (!pl)
				break;
			p = pl;
		}
	}
}

/* The RateLimit targeting Service <svc>, oldest first, or NULL. */
static const struct weir_ratelimit *svc_ratelimit(const struct route_ctx *c,
						  const struct model_service *svc, const char **src)
{
	size_t i;

	for (i = 0; i < c->nrls; i++) {
		const struct k8s_object *o = c->rls[i].o;

		if (o->rl->service && !strcmp(o->rl->service, svc->name) &&
		    !strcmp(o->meta.ns, svc->ns)) {
			*src = o->meta.name;
			return o->rl;
		}
	}
	return NULL;
}

/* --- DestinationRule scope ------------------------------------------------------------- */

/* Istio's configuration root namespace: its rules are the mesh-wide defaults. */
#define ROUTE_ROOT_NS "istio-system"

/* Whether rule <o> is exported to namespace <ns> ("*" or no exportTo: everywhere; "." its
 * own; "~" nowhere; else the namespaces listed). <ns> NULL: only "exported everywhere". */
static bool dr_exported(const struct k8s_object *o, const char *ns)
{
	const struct istio_dr *dr = o->dr;
	size_t i;

	if (!dr->nexport_to)
		return true;
	for (i = 0; i < dr->nexport_to; i++) {
		const char *e = dr->export_to[i];

		if (!strcmp(e, "*"))
			return true;
		if (!ns || !strcmp(e, "~"))
			continue;
		if (!strcmp(e, ".") ? !strcmp(ns, o->meta.ns) : !strcmp(e, ns))
			return true;
	}
	return false;
}

/* Whether the labels <kv>/<n> hold every pair of <sel>/<nsel>. */
static bool kv_has(const struct k8s_kv *kv, size_t n, const struct k8s_kv *sel, size_t nsel)
{
	for (size_t i = 0; i < nsel; i++) {
		const char *v = k8s_kv_get(kv, n, sel[i].key);

		if (!v || strcmp(v, sel[i].value))
			return false;
	}
	return true;
}

/*
 * The rule for Service <s> among those in namespace <rule_ns> that a client in <ns> sees:
 * exported to <ns>, without a workloadSelector (cluster_alts() adds those). Exact hosts beat
 * wildcards, then the oldest.
 */
static struct route_obj dr_in_ns(const struct route_ctx *c, const struct model_service *s,
				 const char *rule_ns, const char *ns)
{
	struct route_obj best = {0};
	bool best_exact = false, exact;

	for (size_t i = 0; rule_ns && i < c->ndrs; i++) {
		const struct k8s_object *o = c->drs[i].o;

		if (strcmp(o->meta.ns, rule_ns) || o->dr->nselector || !dr_exported(o, ns) ||
		    !host_names(o->dr->host, o->meta.ns, s, &exact))
			continue;
		if (obj_beats(&c->drs[i], exact, &best, best_exact)) {
			best = c->drs[i];
			best_exact = exact;
		}
	}
	return best;
}

/*
 * The DestinationRule of Service <s> for a client in namespace <ns> (NULL: a client of no
 * namespace) that no workloadSelector picks: the client's namespace first, then the
 * Service's, then the root namespace's, each only if exported to the client.
 */
static struct route_obj dr_for(const struct route_ctx *c, const struct model_service *s,
			       const char *ns)
{
	const char *order[3] = {ns, s->ns, ROUTE_ROOT_NS};
	struct route_obj r = {0};

	for (size_t i = 0; i < 3 && !r.o; i++)
		r = dr_in_ns(c, s, order[i], ns);
	return r;
}

/*
 * The cluster of <svc> port <port> and <subset> (NULL: all endpoints) shaped by rule <dr>
 * (o NULL: none), with its members and its merged policy, appended to the clusters made so
 * far. NULL on -ENOMEM.
 */
static struct route_cluster *cluster_make(struct route_ctx *c, const struct model_service *svc,
					  const struct model_svc_port *port, const char *subset,
					  const struct route_obj *dr, const char *name)
{
	const struct istio_subset *ss = NULL;
	const struct model_endpoint **eps;
	const struct weir_ratelimit *rl;
	struct route_cluster *cl;
	const char *rlname = NULL;
	size_t i, n = 0;

	if (c->ncl == c->capcl) {
		size_t cap = c->capcl ? c->capcl * 2 : 64;
		struct route_cluster **v = reallocarray(c->cl, cap, sizeof(*v));

		if (!v)
			return NULL;
		c->cl = v;
		c->capcl = cap;
	}
	cl = arena_calloc(c->a, 1, sizeof(*cl));
	eps = arena_calloc(c->a, port->neps ? port->neps : 1, sizeof(*eps));
	if (!cl || !eps)
		return NULL;
	cl->name = arena_strdup(c->a, name);
	cl->host = arena_printf(c->a, "%s.%s.svc.cluster.local", svc->name, svc->ns);
	if (!cl->name || !cl->host)
		return NULL;
	cl->svc = svc;
	cl->port = port;
	cl->subset = route_strdup(c, subset);
	cl->proto = route_proto_of(port);
	cl->id = (uint32_t)c->ncl;
	if (dr->o) {
		for (i = 0; subset && i < dr->o->dr->nsubsets; i++)
			if (!strcmp(dr->o->dr->subsets[i].name, subset))
				ss = &dr->o->dr->subsets[i];
		cl->policy.dr = arena_printf(c->a, "%s/%s", dr->o->meta.ns, dr->o->meta.name);
		if (!cl->policy.dr)
			return NULL;
		policy_apply(dr->o->dr->policy, port->port, &cl->policy);
		if (ss)
			policy_apply(ss->policy, port->port, &cl->policy);
		cl->policy.lb.hash_name = route_strdup(c, cl->policy.lb.hash_name);
	}
	cl->subset_unknown = subset && !ss;
	if (ss) {
		cl->subset_labels = route_kv(c, ss->labels, ss->nlabels, false);
		cl->nsubset_labels = ss->nlabels;
	}
	/* Members: every endpoint without a subset; with one, those whose Pod has its labels
	 * (an endpoint without a known Pod is in no subset). An unknown subset has none. */
	for (i = 0; !cl->subset_unknown && i < port->neps; i++)
		if (!subset ||
		    (port->eps[i].pod && pod_has(port->eps[i].pod, ss->labels, ss->nlabels)))
			eps[n++] = &port->eps[i];
	cl->eps = eps;
	cl->neps = n;
	rl = svc_ratelimit(c, svc, &rlname);
	if (rl) {
		cl->policy.ratelimit = (struct route_ratelimit){
		    .enabled = true,
		    .tokens = rl->max_tokens,
		    .fill_tokens = rl->tokens_per_fill,
		    .fill_interval_ms = rl->fill_interval_ms,
		    .source = arena_printf(c->a, "%s/%s", svc->ns, rlname)};
		if (!cl->policy.ratelimit.source)
			return NULL;
	}
	c->cl[c->ncl++] = cl;
	return cl;
}

/* Adds to *<v> (of *<n>, room for <cap>) the alternative of <base> for clients (<ns>,
 * <sel>) shaped by rule <dr>. Returns 0 or -ENOMEM. */
static int alt_add(struct route_ctx *c, const struct route_cluster *base,
		   struct route_cluster_alt *v, size_t *n, const char *ns,
		   const struct k8s_object *sel, const struct route_obj *dr)
{
	const struct route_cluster *cl =
	    cluster_make(c, base->svc, base->port, base->subset, dr, base->name);

	if (!cl)
		return -ENOMEM;
	v[*n] = (struct route_cluster_alt){.ns = route_strdup(c, ns), .cl = cl};
	if (sel) {
		v[*n].selector = route_kv(c, sel->dr->selector, sel->dr->nselector, false);
		v[*n].nselector = sel->dr->nselector;
	}
	(*n)++;
	return 0;
}

/*
 * The distinct namespaces of the model's Pods, found once per build (every scoped cluster
 * asks). Returns 0 or -ENOMEM.
 */
static int client_namespaces(struct route_ctx *c)
{
	struct strmap seen;
	int err = 0;

	if (c->nss_made)
		return 0;
	c->nss = calloc(c->m->npods ? c->m->npods : 1, sizeof(*c->nss));
	if (!c->nss)
		return -ENOMEM;
	strmap_init(&seen);
	for (size_t i = 0; i < c->m->npods && !err; i++) {
		const char *ns = c->m->pods[i].ns;

		if (strmap_get(&seen, ns))
			continue;
		err = strmap_put(&seen, ns, (void *)ns, NULL);
		c->nss[c->nnss++] = ns;
	}
	strmap_fini(&seen, NULL);
	c->nss_made = !err;
	return err;
}

/*
 * The alternatives of <base> (made with <dflt>, the rule of a client no namespace names):
 * first one per workloadSelector rule for the Service (for its own namespace's selected
 * Pods), then one per client namespace whose rule differs from <dflt>. Client namespaces
 * are those of the model's Pods: a Pod of another namespace appears with a new snapshot.
 */
static int cluster_alts(struct route_ctx *c, struct route_cluster *base,
			const struct route_obj *dflt)
{
	struct route_cluster_alt *v;
	struct route_obj r;
	size_t n = 0, cap = 0, i;
	bool exact, scoped = false;
	int err = 0;

	for (i = 0; i < c->ndrs; i++) {
		const struct k8s_object *o = c->drs[i].o;

		if (!host_names(o->dr->host, o->meta.ns, base->svc, &exact))
			continue;
		cap++;
		scoped |= o != dflt->o || o->dr->nselector || !dr_exported(o, NULL);
	}
	if (!scoped)
		return 0; /* one rule for every client, or none at all */
	if (client_namespaces(c))
		return -ENOMEM;
	cap += c->nnss;
	v = arena_calloc(c->a, cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < c->ndrs && !err; i++) {
		const struct k8s_object *o = c->drs[i].o;

		if (!o->dr->nselector || !host_names(o->dr->host, o->meta.ns, base->svc, &exact))
			continue;
		/* A rule that selects the client wins over its namespace's general rules. */
		if (dr_exported(o, o->meta.ns))
			err = alt_add(c, base, v, &n, o->meta.ns, o, &c->drs[i]);
	}
	for (i = 0; i < c->nnss && !err; i++) {
		r = dr_for(c, base->svc, c->nss[i]);
		if (r.o != dflt->o)
			err = alt_add(c, base, v, &n, c->nss[i], NULL, &r);
	}
	base->alts = v;
	base->nalts = n;
	return err;
}

/*
 * The cluster of <svc> port <port> and <subset> (NULL: all endpoints), made on first use;
 * looked up by its Envoy-style name, which is unique per (port, subset, host). Its policy
 * is that of the rule a client of no particular namespace sees; clients that another rule
 * applies to get an alternative (route_cluster_for()). Returns NULL on -ENOMEM. The cluster
 * lives in c->a; its final place in the contiguous array is set by publish().
 */
struct route_cluster *route_cluster_get(struct route_ctx *c, const struct model_service *svc,
					const struct model_svc_port *port, const char *subset)
{
	const struct route_obj *dr = &c->dr_of[svc - c->m->services];
	struct route_cluster *cl;
	char name[400];

	snprintf(name, sizeof(name), "outbound|%u|%s|%s.%s.svc.cluster.local", port->port,
		 subset ? subset : "", svc->name, svc->ns);
	cl = strmap_get(&c->cl_by_name, name);
	if (cl)
		return cl;
	cl = cluster_make(c, svc, port, subset, dr, name);
	if (!cl || strmap_put(&c->cl_by_name, cl->name, cl, NULL) < 0 || cluster_alts(c, cl, dr))
		return NULL;
	return cl;
}

const struct route_cluster *route_cluster_for(const struct route_cluster *cl, const char *ns,
					      const struct k8s_kv *labels, size_t n)
{
	for (size_t i = 0; cl && ns && i < cl->nalts; i++) {
		const struct route_cluster_alt *a = &cl->alts[i];

		if (!strcmp(a->ns, ns) && kv_has(labels, n, a->selector, a->nselector))
			return a->cl;
	}
	return cl;
}

/* Applies the oldest HealthCheck for <svc> and <port> to every cluster of that port. */
static void health_apply(struct route_ctx *c, const struct route_obj *hcs, size_t nhcs)
{
	size_t i, j;

	for (j = 0; j < nhcs; j++) {
		const struct k8s_object *o = hcs[j].o;
		const struct weir_healthcheck *hc = o->hc;

		for (i = 0; i < c->ncl; i++) {
			struct route_cluster *cl = c->cl[i];

			if (cl->policy.health.enabled || strcmp(cl->svc->ns, o->meta.ns) ||
			    strcmp(cl->svc->name, hc->service) ||
			    (hc->port && hc->port != cl->port->port))
				continue;
			cl->policy.health =
			    (struct route_health){.enabled = true,
						  .http = hc->http,
						  .path = route_strdup(c, hc->path),
						  .interval_ms = hc->interval_ms,
						  .timeout_ms = hc->timeout_ms,
						  .healthy_threshold = hc->healthy,
						  .unhealthy_threshold = hc->unhealthy,
						  .expect_min = hc->expect_min,
						  .expect_max = hc->expect_max};
		}
	}
}

/* --- tables --------------------------------------------------------------------------- */

/*
 * Whether the policy of <cl> asks for something only the agent can do: the kernel path
 * balances round robin over ready endpoints and nothing else, so any load balancer choice,
 * limit, ejection, health check or rate limit needs the agent.
 */
static bool policy_needs_agent(const struct route_cluster *cl)
{
	const struct route_policy *p = &cl->policy;

	/* A policy that only some clients' rule sets still sends the port to the agent. */
	for (size_t i = 0; i < cl->nalts; i++)
		if (policy_needs_agent(cl->alts[i].cl))
			return true;
	return p->lb.policy || p->outlier.enabled || p->health.enabled || p->ratelimit.enabled ||
	       p->pool.max_connections || p->pool.connect_timeout_ms ||
	       p->pool.tcp_idle_timeout_ms || p->pool.http1_max_pending ||
	       p->pool.http2_max_requests || p->pool.max_requests_per_conn || p->pool.max_retries ||
	       p->pool.http_idle_timeout_ms || p->pool.h2_upgrade;
}

/* Appends <p> to the pointer vector <v>/<n>/<cap> (malloc'd). */
static int vec_push(const void ***v, size_t *n, size_t *cap, const void *p)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		const void **nv = reallocarray(*v, nc, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = p;
	return 0;
}

/* Copies the pointer vector <v>/<n> into the arena. */
static const void *const *vec_keep(struct arena *a, const void **v, size_t n)
{
	const void **out = arena_calloc(a, n ? n : 1, sizeof(*out));

	if (out && n)
		memcpy(out, v, n * sizeof(*out));
	return out;
}

/* The table of Service <svc> port <sp> with VirtualService <vs> (o NULL when none). */
static int table_fill(struct route_ctx *c, const struct route_obj *vs,
		      const struct model_service *svc, const struct model_svc_port *sp,
		      struct route_table *t)
{
	const void **hv = NULL, **tv = NULL;
	size_t nh = 0, ch = 0, nt = 0, ct = 0, i;
	const struct route_http *h;
	const struct route_tcp *tr;
	bool l7, l4;
	int err = 0;

	t->svc = svc;
	t->port = sp;
	t->proto = route_proto_of(sp);
	t->dflt = route_cluster_get(c, svc, sp, NULL);
	if (!t->dflt)
		return -ENOMEM;
	/* Istio applies http[] only where HTTP is spoken (or may be: sniffed ports) and
	 * tcp[]/tls[] only where it is not known to be. */
	l7 = t->proto != ROUTE_PROTO_TCP && t->proto != ROUTE_PROTO_TLS;
	l4 = t->proto == ROUTE_PROTO_TCP || t->proto == ROUTE_PROTO_TLS ||
	     t->proto == ROUTE_PROTO_SNIFF;
	for (i = 0; l7 && vs->o && !err && i < vs->o->vs->nhttp; i++) {
		err = route_vs_http(c, vs->o, &vs->o->vs->http[i], i, svc, sp, &h);
		if (!err && h)
			err = vec_push(&hv, &nh, &ch, h);
	}
	for (i = 0; l4 && vs->o && !err && i < vs->o->vs->ntcp + vs->o->vs->ntls; i++) {
		const struct istio_l4 *l =
		    i < vs->o->vs->ntcp ? &vs->o->vs->tcp[i] : &vs->o->vs->tls[i - vs->o->vs->ntcp];

		err = route_vs_tcp(c, vs->o, l, svc, sp, &tr);
		if (!err && tr)
			err = vec_push(&tv, &nt, &ct, tr);
	}
	if (!err && nh) {
		t->http = (const struct route_http *const *)vec_keep(c->a, hv, nh);
		err = t->http ? 0 : -ENOMEM;
		t->nhttp = nh;
	}
	if (!err && nt) {
		t->tcp = (const struct route_tcp *const *)vec_keep(c->a, tv, nt);
		err = t->tcp ? 0 : -ENOMEM;
		t->ntcp = nt;
	}
	free(hv);
	free(tv);
	return err;
}

/* Whether subset <name> is used by a route of some table (its cluster exists). */
static int subset_clusters(struct route_ctx *c, const struct model_service *svc)
{
	const struct route_obj *dr = &c->dr_of[svc - c->m->services];
	size_t i, j;

	/* Every subset of the rule gets a cluster on every port, used or not, as Istio
	 * generates them: the router and the admin page can name them all. */
	for (i = 0; dr->o && i < dr->o->dr->nsubsets; i++)
		for (j = 0; j < svc->nports; j++)
			if (!route_cluster_get(c, svc, &svc->ports[j], dr->o->dr->subsets[i].name))
				return -ENOMEM;
	return 0;
}

/* --- objects -------------------------------------------------------------------------- */

/*
 * The objects of kind <id> among the <n> at <objs> into a new array (*<nout> of them), the
 * first of each kind/namespace/name only: the input is in priority order, as model_build()
 * documents. The caller frees the array.
 */
static struct route_obj *objs_of(const struct k8s_object *const *objs, size_t n,
				 enum k8s_kind_id id, size_t *nout)
{
	struct route_obj *v = calloc(n ? n : 1, sizeof(*v));
	size_t i, j, k = 0;

	if (!v)
		return NULL;
	for (i = 0; i < n; i++) {
		if (objs[i]->kind->id != id)
			continue;
		for (j = 0; j < k; j++)
			if (k8s_same_object(v[j].o, objs[i]))
				break;
		if (j == k)
			v[k++] = (struct route_obj){.o = objs[i], .idx = i};
	}
	*nout = k;
	return v;
}

/* Drops the objects of <v>/<*n> that do not compile (check returns false). */
static void objs_filter(struct route_ctx *c, struct route_obj *v, size_t *n,
			bool (*check)(struct route_ctx *c, const struct k8s_object *o))
{
	size_t i, k = 0;

	for (i = 0; i < *n; i++) {
		if (check(c, v[i].o))
			v[k++] = v[i];
		else
			c->errors++;
	}
	*n = k;
}

/* A HealthCheck or RateLimit must name a Service (and port) that exists. */
static bool weir_check(struct route_ctx *c, const struct k8s_object *o)
{
	bool hc = o->kind->id == K8S_HEALTHCHECK;
	const char *name = hc ? o->hc->service : o->rl->service;
	const struct model_service *s;
	size_t i, j;

	if (!name) { /* a RateLimit on a VirtualService route: both must exist */
		for (i = 0; i < c->nvss; i++) {
			const struct k8s_object *v = c->vss[i].o;

			if (strcmp(v->meta.ns, o->meta.ns) || strcmp(v->meta.name, o->rl->vs))
				continue;
			for (j = 0; j < v->vs->nhttp; j++)
				if (v->vs->http[j].name &&
				    !strcmp(v->vs->http[j].name, o->rl->route))
					return true;
		}
		log_err(ROUTE_MOD,
			"%s: RateLimit %s/%s: spec.targetRef: no VirtualService %s/%s with an "
			"http route named \"%s\"",
			o->source, o->meta.ns, o->meta.name, o->meta.ns, o->rl->vs, o->rl->route);
		return false;
	}
	s = route_dest_svc(c->m, o->meta.ns, name);
	if (!s || strchr(name, '.')) {
		log_err(ROUTE_MOD, "%s: %s %s/%s: spec.targetRef.name: no Service %s/%s", o->source,
			o->kind->kind, o->meta.ns, o->meta.name, o->meta.ns, name);
		return false;
	}
	for (i = 0; hc && o->hc->port && i < s->nports; i++)
		if (s->ports[i].port == o->hc->port)
			break;
	if (hc && o->hc->port && i == s->nports) {
		log_err(ROUTE_MOD, "%s: HealthCheck %s/%s: spec.port: Service %s/%s has no port %u",
			o->source, o->meta.ns, o->meta.name, s->ns, s->name, o->hc->port);
		return false;
	}
	return true;
}

/*
 * Copies the clusters into one contiguous array (route.h promises model_routes.clusters[id])
 * and repoints every reference in <tables>/<nt> at the copies, then fills <p>. Clusters are
 * made one by one while routes point at them, so they cannot live in a growing array.
 */
static int publish(struct route_ctx *c, struct route_table *tables, size_t nt, struct route_priv *p)
{
	struct route_cluster *cls = arena_calloc(c->a, c->ncl ? c->ncl : 1, sizeof(*cls));
	size_t i, j, k;

	if (!cls)
		return -ENOMEM;
	for (i = 0; i < c->ncl; i++)
		cls[i] = *c->cl[i];
#define FIX(ptr) ((ptr) = (ptr) ? &cls[(ptr)->id] : NULL)
	for (i = 0; i < c->ncl; i++)
		for (j = 0; j < cls[i].nalts; j++)
			FIX(((struct route_cluster_alt *)cls[i].alts)[j].cl);
	for (i = 0; i < nt; i++) {
		FIX(tables[i].dflt);
		for (j = 0; j < tables[i].nhttp; j++) {
			struct route_http *h = (struct route_http *)tables[i].http[j];

			FIX(h->mirror);
			for (k = 0; k < h->ndests; k++)
				FIX(((struct route_dest *)h->dests)[k].cluster);
		}
		for (j = 0; j < tables[i].ntcp; j++) {
			const struct route_tcp *t = tables[i].tcp[j];

			for (k = 0; k < t->ndests; k++)
				FIX(((struct route_dest *)t->dests)[k].cluster);
		}
	}
#undef FIX
	p->r.tables = tables;
	p->r.ntables = nt;
	p->r.clusters = cls;
	p->r.nclusters = c->ncl;
	p->r.errors = c->errors;
	return 0;
}

/*
 * Compiles the traffic objects among the <n> at <objs> against <m> into <a> and sets *<out>
 * (see route.h). Order of work: drop what does not compile (so a bad object cannot half
 * apply), pick one DestinationRule per Service, then per Service the one VirtualService and
 * a table per port, then the HealthChecks (which act on every cluster of a port, so they
 * wait until all clusters exist), then the agent flags. Returns 0 or -ENOMEM.
 */
int route_build(struct arena *a, const struct model *m, const struct k8s_object *const *objs,
		size_t n, const struct model_routes **out)
{
	struct route_obj *vss = NULL, *drs = NULL, *hcs = NULL, *rls = NULL, *dr_of = NULL;
	size_t nvs = 0, ndr = 0, nhc = 0, nrl = 0, nt = 0, i, j, t = 0;
	struct route_ctx c = {.a = a, .m = m};
	struct route_table *tables = NULL;
	struct route_priv *p;
	int err = -ENOMEM;

	strmap_init(&c.cl_by_name);
	p = arena_alloc(a, sizeof(*p));
	vss = objs_of(objs, n, K8S_VIRTUALSERVICE, &nvs);
	drs = objs_of(objs, n, K8S_DESTINATIONRULE, &ndr);
	hcs = objs_of(objs, n, K8S_HEALTHCHECK, &nhc);
	rls = objs_of(objs, n, K8S_RATELIMIT, &nrl);
	dr_of = calloc(m->nservices ? m->nservices : 1, sizeof(*dr_of));
	if (!p || !vss || !drs || !hcs || !rls || !dr_of)
		goto out;
	c.dr_of = dr_of;
	c.rls = rls;
	c.nrls = nrl;
	objs_filter(&c, vss, &nvs, route_vs_check);
	c.vss = vss;
	c.nvss = nvs;
	objs_filter(&c, hcs, &nhc, weir_check);
	objs_filter(&c, rls, &nrl, weir_check);
	c.drs = drs;
	c.ndrs = ndr;
	for (i = 0; i < m->nservices; i++) {
		dr_of[i] = dr_for(&c, &m->services[i], NULL);
		nt += m->services[i].nports;
	}
	tables = arena_calloc(a, nt ? nt : 1, sizeof(*tables));
	if (!tables)
		goto out;
	for (i = 0; i < m->nservices; i++) {
		const struct model_service *s = &m->services[i];
		struct route_obj vs = pick_vs(vss, nvs, s);

		for (j = 0; j < s->nports; j++)
			if ((err = table_fill(&c, &vs, s, &s->ports[j], &tables[t++])))
				goto out;
		if ((err = subset_clusters(&c, s)))
			goto out;
	}
	health_apply(&c, hcs, nhc);
	if (c.nomem) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nt; i++) {
		tables[i].agent =
		    tables[i].nhttp || tables[i].ntcp || policy_needs_agent(tables[i].dflt);
		if (tables[i].nhttp >= ROUTE_RUN_MIN && route_index_build(c.a, &tables[i])) {
			err = -ENOMEM;
			goto out;
		}
	}
	err = publish(&c, tables, nt, p);
out:
	if (p && !err) {
		p->res = c.res;
		p->nres = c.nres;
		*out = &p->r;
	} else {
		for (i = 0; i < c.nres; i++)
			regex_free(c.res[i]);
		free(c.res);
	}
	strmap_fini(&c.cl_by_name, NULL);
	free(c.nss);
	free(c.cl);
	free(vss);
	free(drs);
	free(hcs);
	free(rls);
	free(dr_of);
	return err;
}

/*
 * Frees the compiled regexes of <r>; the rest is in the snapshot's arena. Accepts NULL.
 */
void route_free(const struct model_routes *r)
{
	struct route_priv *p = (struct route_priv *)r;
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nres; i++)
		regex_free(p->res[i]);
	free(p->res);
}

/*
 * The table of <svc> port <port> in <r>, or NULL. Tables are in model service order and the
 * Services are one array, so the table is found by the Service's address: no index to build.
 */
const struct route_table *route_table_find(const struct model_routes *r,
					   const struct model_service *svc,
					   const struct model_svc_port *port)
{
	size_t l = 0, h, mid;

	if (!r || !svc || !port)
		return NULL;
	h = r->ntables;
	while (l < h) {
		mid = l + (h - l) / 2;
		if ((uintptr_t)r->tables[mid].svc < (uintptr_t)svc)
			l = mid + 1;
		else
			h = mid;
	}
	for (; l < r->ntables && r->tables[l].svc == svc; l++)
		if (r->tables[l].port == port)
			return &r->tables[l];
	return NULL;
}

const struct route_cluster *route_cluster_find(const struct model_routes *r, const char *name)
{
	for (size_t i = 0; r && i < r->nclusters; i++)
		if (!strcmp(r->clusters[i].name, name))
			return &r->clusters[i];
	return NULL;
}
