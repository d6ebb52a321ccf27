// SPDX-License-Identifier: Apache-2.0
/*
 * Builds the immutable cluster snapshot of model.h from decoded Kubernetes objects and answers
 * lookups on it. Everything lives in one arena; the lookup indexes (Pods by IP, Service ports
 * by VIP:port:proto) are sorted arrays in that arena, so readers need no locks.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "config/k8s.h"
#include "lib/log.h"
#include "config/store.h"
#include "model/model.h"
#include "model/tpolicy.h"
#include "model/route.h"

#define MODEL_MOD "model"

/* Pod by address. */
struct model_ip_ent {
	uint32_t ip; /* network order */
	const struct model_pod *pod;
};

/* Service port by VIP:port:proto (host order, for sorting). */
struct model_port_ent {
	uint32_t vip;
	uint16_t port;
	uint8_t proto;
	const struct model_service *svc;
	const struct model_svc_port *sp;
};

/* The snapshot with its private parts; model.arena points here. */
struct model_priv {
	struct model m;
	struct arena *a;
	const struct model_ip_ent *by_ip;
	size_t nby_ip;
	const struct model_port_ent *ports;
	size_t nports;
};

/* --- sorting helpers ------------------------------------------------------------------ */

/* An input object with its position, so that sorting keeps the first of duplicates first. */
struct model_in {
	const struct k8s_object *o;
	size_t idx;
};

static int cmp_nsname(const char *ns1, const char *n1, const char *ns2, const char *n2)
{
	int c = strcmp(ns1, ns2);

	return c ? c : strcmp(n1, n2);
}

static int cmp_in(const void *a, const void *b)
{
	const struct model_in *x = a, *y = b;
	int c = cmp_nsname(x->o->meta.ns, x->o->meta.name, y->o->meta.ns, y->o->meta.name);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Slices are looked up by the Service they belong to, not their own name. */
static int cmp_in_service(const void *a, const void *b)
{
	const struct model_in *x = a, *y = b;
	int c = cmp_nsname(x->o->meta.ns, x->o->eps->service, y->o->meta.ns, y->o->eps->service);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorts <v> by namespace/name and drops later duplicates; returns the new count. */
static size_t in_sort_dedup(struct model_in *v, size_t n)
{
	size_t i, out = 0;

	qsort(v, n, sizeof(*v), cmp_in);
	for (i = 0; i < n; i++) {
		if (out && k8s_same_object(v[out - 1].o, v[i].o)) {
			log_debug(MODEL_MOD, "%s: %s %s/%s shadowed by %s", v[i].o->source,
				  v[i].o->kind->kind, v[i].o->meta.ns, v[i].o->meta.name,
				  v[out - 1].o->source);
			continue;
		}
		v[out++] = v[i];
	}
	return out;
}

static int cmp_ip_ent(const void *a, const void *b)
{
	const struct model_ip_ent *x = a, *y = b;
	uint32_t ix = ntohl(x->ip), iy = ntohl(y->ip);

	if (ix != iy)
		return ix < iy ? -1 : 1;
	/* Among Pods sharing an IP (one leaving, one arriving), the ready one first. */
	return (int)!x->pod->ready - (int)!y->pod->ready;
}

static int cmp_port_ent(const void *a, const void *b)
{
	const struct model_port_ent *x = a, *y = b;

	if (x->vip != y->vip)
		return x->vip < y->vip ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return (int)x->proto - (int)y->proto;
}

static int cmp_ep(const void *a, const void *b)
{
	const struct model_endpoint *x = a, *y = b;
	uint32_t ix = ntohl(x->ip), iy = ntohl(y->ip);

	if (ix != iy)
		return ix < iy ? -1 : 1;
	return (int)x->port - (int)y->port;
}

/* --- Pods ----------------------------------------------------------------------------- */

static const struct k8s_kv *kv_copy(struct arena *a, const struct k8s_kv *kv, size_t n)
{
	struct k8s_kv *out;
	size_t i;

	out = arena_calloc(a, n, sizeof(*out));
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		out[i].key = arena_strdup(a, kv[i].key);
		out[i].value = arena_strdup(a, kv[i].value);
		if (!out[i].key || !out[i].value)
			return NULL;
	}
	return out;
}

/*
 * The workload a Pod belongs to: a ReplicaSet "reviews-v1-5b4d6c9f8" stands for its
 * Deployment "reviews-v1" (the pod-template-hash is the last dash-separated segment); any
 * other controller is the workload itself; a bare Pod is its own workload.
 */
static const char *pod_workload(struct arena *a, const struct k8s_meta *m)
{
	const struct k8s_owner *own = NULL;
	const char *dash;
	size_t i;

	for (i = 0; i < m->nowners; i++) {
		if (m->owners[i].controller) {
			own = &m->owners[i];
			break;
		}
	}
	if (!own && m->nowners)
		own = &m->owners[0];
	if (!own)
		return arena_strdup(a, m->name);
	if (!strcmp(own->kind, "ReplicaSet")) {
		dash = strrchr(own->name, '-');
		if (dash && dash != own->name)
			return arena_strndup(a, own->name, (size_t)(dash - own->name));
	}
	return arena_strdup(a, own->name);
}

/* The first of <keys> present in <m>'s labels, else NULL. */
static const char *label_first(const struct k8s_meta *m, const char *const *keys, size_t n)
{
	const char *v;
	size_t i;

	for (i = 0; i < n; i++) {
		v = k8s_kv_get(m->labels, m->nlabels, keys[i]);
		if (v && *v)
			return v;
	}
	return NULL;
}

static int pod_fill(struct arena *a, const struct k8s_object *o, struct model_pod *p)
{
	static const char *const app_keys[] = {"service.istio.io/canonical-name",
					       "app.kubernetes.io/name", "app"};
	static const char *const ver_keys[] = {"service.istio.io/canonical-revision",
					       "app.kubernetes.io/version", "version"};
	const struct k8s_pod *kp = o->pod;
	const char *v;

	p->ns = arena_strdup(a, o->meta.ns);
	p->name = arena_strdup(a, o->meta.name);
	p->sa = arena_strdup(a, kp->sa);
	p->source = arena_strdup(a, o->source);
	p->workload = pod_workload(a, &o->meta);
	p->labels = kv_copy(a, o->meta.labels, o->meta.nlabels);
	if (!p->ns || !p->name || !p->sa || !p->source || !p->workload || !p->labels)
		return -ENOMEM;
	if ((kp->node && !(p->node = arena_strdup(a, kp->node))) ||
	    (kp->ip_str && !(p->ip_str = arena_strdup(a, kp->ip_str))))
		return -ENOMEM;
	p->nlabels = o->meta.nlabels;
	/* A finished Pod (Succeeded, Failed) keeps podIP in its status, but the address is
	 * free for a new Pod on the node: it names no one and no netns is enrolled for it. */
	p->ip = kp->terminal ? 0 : kp->ip;
	p->host_ip = kp->host_ip;
	v = label_first(&o->meta, app_keys, 3);
	p->app = v ? arena_strdup(a, v) : p->workload;
	v = label_first(&o->meta, ver_keys, 3);
	p->version = arena_strdup(a, v ? v : "latest");
	if (!p->app || !p->version)
		return -ENOMEM;
	p->weight = kp->weight;
	p->ready = kp->ready;
	p->host_network = kp->host_network;
	p->mesh = !kp->host_network && !kp->mesh_off && !kp->terminal;
	return 0;
}

/* --- Services ------------------------------------------------------------------------- */

/* Istio's protocol selection: appProtocol, else the port name's prefix before '-'. */
static const char *port_app_proto(struct arena *a, const struct k8s_svc_port *sp)
{
	static const char *const known[] = {"http", "http2", "https", "grpc",  "grpc-web", "tcp",
					    "tls",  "udp",   "mongo", "mysql", "redis"};
	size_t i, len;

	if (sp->app_proto) {
		if (!strcmp(sp->app_proto, "kubernetes.io/h2c"))
			return "http2";
		if (!strcmp(sp->app_proto, "kubernetes.io/ws") ||
		    !strcmp(sp->app_proto, "kubernetes.io/wss"))
			return "http";
		return arena_strdup(a, sp->app_proto);
	}
	len = strcspn(sp->name, "-");
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == len && !strncmp(sp->name, known[i], len))
			return known[i];
	return sp->proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* The endpoints of one Service port, gathered in a growable buffer. */
struct model_epvec {
	struct model_endpoint *v;
	size_t n, cap;
};

static int epvec_add(struct model_epvec *ev, uint32_t ip, uint16_t port, bool ready,
		     const struct model_pod *pod)
{
	if (ev->n == ev->cap) {
		size_t cap = ev->cap ? ev->cap * 2 : 16;
		struct model_endpoint *v = reallocarray(ev->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		ev->v = v;
		ev->cap = cap;
	}
	ev->v[ev->n++] =
	    (struct model_endpoint){.ip = ip, .port = port, .ready = ready, .pod = pod};
	return 0;
}

/* What the Service port builder needs from the rest of the build. */
struct model_ctx {
	struct model_priv *mp;
	struct model_in *pods; /* sorted by ns/name, parallel to mp->m.pods */
	size_t npods;
	struct model_in *eps; /* Endpoints, sorted by ns/name */
	size_t neps;
	struct model_in *slices; /* EndpointSlices, sorted by ns/service */
	size_t nslices;
};

/* The port of <subset> that serves Service port <sp>: same name and protocol; a one-port
 * Service matches a one-port subset whatever the names (hand-written Endpoints). */
static uint16_t subset_port(const struct k8s_service *svc, const struct k8s_svc_port *sp,
			    const struct k8s_ep_subset *ss)
{
	size_t i;

	for (i = 0; i < ss->nports; i++)
		if (ss->ports[i].proto == sp->proto && !strcmp(ss->ports[i].name, sp->name))
			return ss->ports[i].port;
	if (svc->nports == 1 && ss->nports == 1 && ss->ports[0].proto == sp->proto)
		return ss->ports[0].port;
	return 0;
}

static const struct model_pod *ep_pod(const struct model *m, const struct k8s_ep_addr *ad)
{
	const struct model_pod *p = NULL;

	if (ad->pod_name)
		p = model_find_pod(m, ad->pod_ns, ad->pod_name);
	return p ? p : model_find_pod_by_ip(m, ad->ip);
}

static int eps_from_objects(struct model_ctx *c, const struct k8s_service *svc,
			    const struct k8s_svc_port *sp, const struct model_in *v, size_t n,
			    struct model_epvec *ev)
{
	size_t i, j, k;
	uint16_t port;
	int err;

	for (i = 0; i < n; i++) {
		const struct k8s_endpoints *e = v[i].o->eps;

		for (j = 0; j < e->nsubsets; j++) {
			const struct k8s_ep_subset *ss = &e->subsets[j];

			port = subset_port(svc, sp, ss);
			if (!port)
				continue;
			for (k = 0; k < ss->naddrs; k++) {
				err = epvec_add(ev, ss->addrs[k].ip, port, ss->addrs[k].ready,
						ep_pod(&c->mp->m, &ss->addrs[k]));
				if (err)
					return err;
			}
		}
	}
	return 0;
}

static bool labels_match(const struct k8s_meta *m, const struct k8s_kv *sel, size_t n)
{
	const char *v;
	size_t i;

	for (i = 0; i < n; i++) {
		v = k8s_kv_get(m->labels, m->nlabels, sel[i].key);
		if (!v || strcmp(v, sel[i].value))
			return false;
	}
	return true;
}

/* What the endpoints controller would do: selected, addressed, not terminating Pods, with
 * targetPort resolved per Pod (a named port may map to different numbers per Pod). */
static int eps_from_selector(struct model_ctx *c, const struct k8s_object *so,
			     const struct k8s_svc_port *sp, struct model_epvec *ev)
{
	const struct k8s_service *svc = so->svc;
	size_t i, j, lo = 0, hi = c->npods, mid;
	int err;

	while (lo < hi) { /* Pods are sorted by namespace first: start at the Service's */
		mid = lo + (hi - lo) / 2;
		if (strcmp(c->pods[mid].o->meta.ns, so->meta.ns) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < c->npods; i++) {
		const struct k8s_object *po = c->pods[i].o;
		const struct k8s_pod *kp = po->pod;
		uint16_t port = sp->target_port;

		if (strcmp(po->meta.ns, so->meta.ns))
			break;
		if (!kp->ip || kp->terminal || po->meta.deleting ||
		    !labels_match(&po->meta, svc->selector, svc->nselector))
			continue;
		if (sp->target_name) {
			port = 0;
			for (j = 0; j < kp->nports && !port; j++)
				if (kp->ports[j].proto == sp->proto &&
				    !strcmp(kp->ports[j].name, sp->target_name))
					port = kp->ports[j].port;
			if (!port)
				continue; /* the controller skips Pods without the named port */
		}
		err = epvec_add(ev, kp->ip, port, kp->ready, &c->mp->m.pods[i]);
		if (err)
			return err;
	}
	return 0;
}

/* Range [*lo, *hi) of <v> whose (ns, key) equals (<ns>, <name>); <by_service> picks the key. */
static void in_range(const struct model_in *v, size_t n, const char *ns, const char *name,
		     bool by_service, size_t *lo, size_t *hi)
{
	size_t l = 0, h = n, m;

#define IN_KEY(i) (by_service ? v[i].o->eps->service : v[i].o->meta.name)
	while (l < h) {
		m = l + (h - l) / 2;
		if (cmp_nsname(v[m].o->meta.ns, IN_KEY(m), ns, name) < 0)
			l = m + 1;
		else
			h = m;
	}
	*lo = l;
	while (l < n && !cmp_nsname(v[l].o->meta.ns, IN_KEY(l), ns, name))
		l++;
	*hi = l;
#undef IN_KEY
}

static int svc_port_fill(struct model_ctx *c, const struct k8s_object *so,
			 const struct k8s_svc_port *sp, struct model_svc_port *p)
{
	struct arena *a = c->mp->a;
	struct model_epvec ev = {0};
	struct model_endpoint *eps;
	size_t lo, hi, i, n = 0;
	int err;

	p->name = arena_strdup(a, sp->name);
	p->app_proto = port_app_proto(a, sp);
	if (!p->name || !p->app_proto)
		return -ENOMEM;
	p->port = sp->port;
	p->proto = sp->proto;
	if (!strcmp(so->svc->type, "ExternalName"))
		return 0;
	/* EndpointSlices win over Endpoints, which win over the selector. */
	in_range(c->slices, c->nslices, so->meta.ns, so->meta.name, true, &lo, &hi);
	if (lo < hi) {
		err = eps_from_objects(c, so->svc, sp, c->slices + lo, hi - lo, &ev);
	} else {
		in_range(c->eps, c->neps, so->meta.ns, so->meta.name, false, &lo, &hi);
		if (lo < hi)
			err = eps_from_objects(c, so->svc, sp, c->eps + lo, hi - lo, &ev);
		else if (so->svc->nselector)
			err = eps_from_selector(c, so, sp, &ev);
		else
			err = 0;
	}
	if (err)
		goto out;
	/* Sorted and merged: overlapping slices list an address twice; ready if either says so. */
	if (ev.n)
		qsort(ev.v, ev.n, sizeof(*ev.v), cmp_ep);
	eps = arena_calloc(a, ev.n, sizeof(*eps));
	if (!eps) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ev.n; i++) {
		if (n && eps[n - 1].ip == ev.v[i].ip && eps[n - 1].port == ev.v[i].port) {
			eps[n - 1].ready |= ev.v[i].ready;
			if (!eps[n - 1].pod)
				eps[n - 1].pod = ev.v[i].pod;
			continue;
		}
		eps[n++] = ev.v[i];
	}
	p->eps = eps;
	p->neps = n;
out:
	free(ev.v);
	return err;
}

static int svc_fill(struct model_ctx *c, const struct k8s_object *so, struct model_service *s)
{
	struct arena *a = c->mp->a;
	struct model_svc_port *ports;
	size_t i;
	int err;

	s->ns = arena_strdup(a, so->meta.ns);
	s->name = arena_strdup(a, so->meta.name);
	s->source = arena_strdup(a, so->source);
	s->selector = kv_copy(a, so->svc->selector, so->svc->nselector);
	ports = arena_calloc(a, so->svc->nports, sizeof(*ports));
	if (!s->ns || !s->name || !s->source || !s->selector || !ports)
		return -ENOMEM;
	s->nselector = so->svc->nselector;
	s->vip = so->svc->headless ? 0 : so->svc->vip;
	s->mode = so->svc->mode;
	for (i = 0; i < so->svc->nports; i++) {
		err = svc_port_fill(c, so, &so->svc->ports[i], &ports[i]);
		if (err)
			return err;
	}
	s->ports = ports;
	s->nports = so->svc->nports;
	return 0;
}

/* --- indexes -------------------------------------------------------------------------- */

static int index_pods(struct model_priv *mp, const struct model_in *pods)
{
	struct model_ip_ent *ents;
	size_t i, n = 0, out = 0;

	ents = arena_calloc(mp->a, mp->m.npods, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	/* hostNetwork Pods share their node's address: the address does not name them. */
	for (i = 0; i < mp->m.npods; i++) {
		const struct k8s_object *o = pods[i].o;

		if (!o->pod->ip || o->pod->host_network || o->pod->terminal)
			continue;
		ents[n].ip = o->pod->ip;
		ents[n].pod = &mp->m.pods[i];
		n++;
	}
	qsort(ents, n, sizeof(*ents), cmp_ip_ent);
	for (i = 0; i < n; i++)
		if (!out || ents[out - 1].ip != ents[i].ip)
			ents[out++] = ents[i];
	mp->by_ip = ents;
	mp->nby_ip = out;
	return 0;
}

static int index_ports(struct model_priv *mp)
{
	struct model_port_ent *ents;
	size_t i, j, n = 0, out = 0;

	for (i = 0; i < mp->m.nservices; i++)
		if (mp->m.services[i].vip)
			n += mp->m.services[i].nports;
	ents = arena_calloc(mp->a, n, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	n = 0;
	for (i = 0; i < mp->m.nservices; i++) {
		const struct model_service *s = &mp->m.services[i];

		for (j = 0; s->vip && j < s->nports; j++)
			ents[n++] = (struct model_port_ent){.vip = ntohl(s->vip),
							    .port = s->ports[j].port,
							    .proto = s->ports[j].proto,
							    .svc = s,
							    .sp = &s->ports[j]};
	}
	/* qsort is not stable: services are in ns/name order, keep that among equal keys. */
	for (i = 1; i < n; i++) {
		struct model_port_ent e = ents[i];

		for (j = i; j > 0 && cmp_port_ent(&ents[j - 1], &e) > 0; j--)
			ents[j] = ents[j - 1];
		ents[j] = e;
	}
	for (i = 0; i < n; i++) {
		if (out && !cmp_port_ent(&ents[out - 1], &ents[i])) {
			log_warn(MODEL_MOD,
				 "%s: Service %s/%s: port %u uses the same ClusterIP and "
				 "port as Service %s/%s, which wins",
				 ents[i].svc->source, ents[i].svc->ns, ents[i].svc->name,
				 ents[i].port, ents[out - 1].svc->ns, ents[out - 1].svc->name);
			continue;
		}
		ents[out++] = ents[i];
	}
	mp->ports = ents;
	mp->nports = out;
	return 0;
}

/*
 * A Service port some route, policy, HealthCheck or RateLimit applies to takes the agent
 * path (the kernel cannot do L7 routing); the annotation weir.dev/path still decides when
 * given. <svcs> are the Service objects in model service order.
 */
static void routes_mode(struct model_priv *mp, const struct model_in *svcs)
{
	struct model_service *s = (struct model_service *)mp->m.services;
	const struct model_routes *r = mp->m.routes;
	size_t i;

	for (i = 0; i < r->ntables; i++) {
		const struct model_service *ts = r->tables[i].svc;
		const struct k8s_meta *meta = &svcs[ts - s].o->meta;

		if (r->tables[i].agent &&
		    !k8s_kv_get(meta->annotations, meta->nannotations, "weir.dev/path"))
			s[ts - s].mode = WEIR_MODE_AGENT;
	}
}

/* --- build ---------------------------------------------------------------------------- */

struct model *model_build(const struct k8s_object *const *objs, size_t n, uint64_t generation)
{
	struct model_in *in[K8S_KIND_MAX] = {0};
	size_t nin[K8S_KIND_MAX] = {0};
	struct model_ctx c = {0};
	struct model_service *svcs;
	struct model_pod *pods;
	struct model_priv *mp;
	struct arena *a;
	size_t i, k;
	int err = -ENOMEM;

	a = arena_new();
	if (!a)
		return NULL;
	mp = arena_alloc(a, sizeof(*mp));
	if (!mp)
		goto out_free;
	mp->a = a;
	mp->m.arena = mp;
	mp->m.generation = generation;
	for (k = 0; k < K8S_KIND_MAX; k++) {
		in[k] = calloc(n ? n : 1, sizeof(*in[k]));
		if (!in[k])
			goto out_free;
	}
	for (i = 0; i < n; i++) {
		k = objs[i]->kind->id;
		in[k][nin[k]++] = (struct model_in){.o = objs[i], .idx = i};
	}
	for (k = 0; k < K8S_KIND_MAX; k++)
		nin[k] = in_sort_dedup(in[k], nin[k]);
	qsort(in[K8S_ENDPOINTSLICE], nin[K8S_ENDPOINTSLICE], sizeof(struct model_in),
	      cmp_in_service);

	pods = arena_calloc(a, nin[K8S_POD], sizeof(*pods));
	if (!pods)
		goto out_free;
	for (i = 0; i < nin[K8S_POD]; i++)
		if ((err = pod_fill(a, in[K8S_POD][i].o, &pods[i])))
			goto out_free;
	mp->m.pods = pods;
	mp->m.npods = nin[K8S_POD];
	if ((err = index_pods(mp, in[K8S_POD])))
		goto out_free;

	c = (struct model_ctx){.mp = mp,
			       .pods = in[K8S_POD],
			       .npods = nin[K8S_POD],
			       .eps = in[K8S_ENDPOINTS],
			       .neps = nin[K8S_ENDPOINTS],
			       .slices = in[K8S_ENDPOINTSLICE],
			       .nslices = nin[K8S_ENDPOINTSLICE]};
	err = -ENOMEM;
	svcs = arena_calloc(a, nin[K8S_SERVICE], sizeof(*svcs));
	if (!svcs)
		goto out_free;
	for (i = 0; i < nin[K8S_SERVICE]; i++)
		if ((err = svc_fill(&c, in[K8S_SERVICE][i].o, &svcs[i])))
			goto out_free;
	mp->m.services = svcs;
	mp->m.nservices = nin[K8S_SERVICE];
	if ((err = index_ports(mp)))
		goto out_free;
	/* Before the routes: it fails only for memory, and then nothing but the arena is held. */
	if ((err = tpolicy_build(a, &mp->m, objs, n, &mp->m.telemetry)))
		goto out_free;
	if ((err = route_build(a, &mp->m, objs, n, &mp->m.routes)))
		goto out_free;
	routes_mode(mp, in[K8S_SERVICE]);
	for (k = 0; k < K8S_KIND_MAX; k++)
		free(in[k]);
	return &mp->m;

out_free:
	for (k = 0; k < K8S_KIND_MAX; k++)
		free(in[k]);
	arena_free(a);
	errno = -err;
	return NULL;
}

/* --- lookups -------------------------------------------------------------------------- */

const struct model_svc_port *model_find_svc_port(const struct model *m, uint32_t vip,
						 uint16_t port_be, uint8_t proto,
						 const struct model_service **svc)
{
	const struct model_priv *mp = m->arena;
	struct model_port_ent key = {.vip = ntohl(vip), .port = ntohs(port_be), .proto = proto};
	const struct model_port_ent *e;
	size_t i, j;

	if (!mp) {
		/* A snapshot assembled by hand (tests of other modules): no index, scan. */
		for (i = 0; i < m->nservices; i++)
			for (j = 0; m->services[i].vip == vip && j < m->services[i].nports; j++)
				if (m->services[i].ports[j].port == key.port &&
				    m->services[i].ports[j].proto == proto) {
					if (svc)
						*svc = &m->services[i];
					return &m->services[i].ports[j];
				}
		return NULL;
	}
	e = bsearch(&key, mp->ports, mp->nports, sizeof(*e), cmp_port_ent);
	if (!e)
		return NULL;
	if (svc)
		*svc = e->svc;
	return e->sp;
}

static int cmp_ip_key(const void *key, const void *ent)
{
	uint32_t k = ntohl(*(const uint32_t *)key);
	uint32_t e = ntohl(((const struct model_ip_ent *)ent)->ip);

	return k < e ? -1 : k > e;
}

const struct model_pod *model_find_pod_by_ip(const struct model *m, uint32_t ip)
{
	const struct model_priv *mp = m->arena;
	const struct model_ip_ent *e;
	size_t i;

	if (!ip)
		return NULL;
	if (!mp) {
		for (i = 0; i < m->npods; i++)
			if (m->pods[i].ip == ip && !m->pods[i].host_network)
				return &m->pods[i];
		return NULL;
	}
	e = bsearch(&ip, mp->by_ip, mp->nby_ip, sizeof(*e), cmp_ip_key);
	return e ? e->pod : NULL;
}

const struct model_pod *model_find_pod(const struct model *m, const char *ns, const char *name)
{
	size_t lo = 0, hi = m->npods, mid;
	int c;

	if (!m->arena) {
		for (lo = 0; lo < m->npods; lo++)
			if (!cmp_nsname(m->pods[lo].ns, m->pods[lo].name, ns, name))
				return &m->pods[lo];
		return NULL;
	}
	while (lo < hi) { /* pods are sorted by namespace/name */
		mid = lo + (hi - lo) / 2;
		c = cmp_nsname(m->pods[mid].ns, m->pods[mid].name, ns, name);
		if (!c)
			return &m->pods[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void model_free(struct model *m)
{
	struct model_priv *mp;

	if (!m || !m->arena)
		return;
	mp = m->arena;
	route_free(m->routes);
	arena_free(mp->a); /* m itself lives in the arena */
}

void model_set_ids(struct model *m, uint32_t (*wl_id)(const struct model_pod *, void *),
		   uint32_t (*svc_id)(const struct model_service *, void *), void *arg)
{
	/* The arrays are the arena's, writable; the model's const is for its readers. */
	struct model_service *svcs = (struct model_service *)m->services;
	struct model_pod *pods = (struct model_pod *)m->pods;
	size_t i;

	for (i = 0; i < m->npods; i++)
		pods[i].wl_id = wl_id(&pods[i], arg);
	for (i = 0; i < m->nservices; i++)
		svcs[i].id = svc_id(&svcs[i], arg);
}

struct model *model_from_store(struct store *s)
{
	const struct k8s_object **objs;
	struct model *m;
	uint64_t gen;
	size_t n;

	objs = store_objects(s, &n, &gen);
	if (!objs)
		return NULL;
	m = model_build(objs, n, gen);
	free(objs);
	return m;
}
