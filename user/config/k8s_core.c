// SPDX-License-Identifier: Apache-2.0
/*
 * The core Kubernetes kinds weir reads: Pod, Service, Endpoints and EndpointSlice. Each
 * decoder is one row's function in the kind table of k8s.c and fills the body struct of k8s.h
 * from the object's node tree with the getters of k8s_dec.h; every list goes through
 * k8s_dec_each(), so all of them report, skip and stop alike.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <weir/service.h>

#include "lib/arena.h"
#include "config/k8s_core.h"
#include "config/k8s_dec.h"

/* --- Pod -------------------------------------------------------------------------------- */

/* One spec.containers[].ports[] item, appended to the Pod's one array of ports. */
static int pod_port(struct k8s_dec *d, yaml_node_t *p, void *elem, struct k8s_dec_vec *vec)
{
	struct k8s_container_port *cp = elem;
	bool skip = false;
	int err;

	(void)vec;
	err = k8s_dec_str(d, p, "name", &cp->name);
	err = err ?: k8s_dec_port(d, p, "containerPort", true, &cp->port);
	err = err ?: k8s_dec_proto(d, p, "protocol", &cp->proto, &skip);
	if (!err && cp->name && !k8s_dec_port_name(cp->name))
		err = k8s_dec_err(d, "name", "\"%s\" is not a port name", cp->name);
	if (!cp->name)
		cp->name = "";
	return err ?: skip ? K8S_DEC_DROP : 0;
}

/* One spec.containers[] item: its ports go to the array <vec>->arg. */
static int pod_container(struct k8s_dec *d, yaml_node_t *c, void *elem, struct k8s_dec_vec *vec)
{
	(void)elem;
	return k8s_dec_each(d, c, "ports", vec->arg, pod_port);
}

/* The ports of all containers, in order, in one array. */
static int pod_ports(struct k8s_dec *d, yaml_node_t *spec, struct k8s_pod *pod)
{
	struct k8s_dec_vec ports = {.size = sizeof(struct k8s_container_port)};
	struct k8s_dec_vec cs = {.arg = &ports};
	yaml_node_t *seq, *ps;
	size_t i;
	int err;

	/* Sized before decoding; a bad containers value is reported by k8s_dec_each(). */
	seq = k8s_dec_get(d, spec, "containers");
	if (seq && seq->type == YAML_SEQUENCE_NODE) {
		for (i = 0; i < k8s_dec_len(seq); i++) {
			ps = k8s_dec_get(d, k8s_dec_item(d, seq, i), "ports");
			if (ps && ps->type == YAML_SEQUENCE_NODE)
				ports.cap += k8s_dec_len(ps);
		}
		ports.v = arena_calloc(d->a, ports.cap, ports.size);
		if (!ports.v)
			return -ENOMEM;
	}
	err = k8s_dec_each(d, spec, "containers", &cs, pod_container);
	pod->ports = ports.v;
	pod->nports = ports.n;
	return err;
}

/* One status.podIPs[] item: the first IPv4 one ends the list. */
static int pod_ip_item(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	struct k8s_pod *pod = vec->arg;
	const char *s;
	int err, r;

	(void)elem;
	err = k8s_dec_str(d, it, "ip", &s);
	if (err || !s)
		return err ?: K8S_DEC_DROP;
	r = k8s_dec_ip(d, "ip", s, &pod->ip);
	if (r <= 0)
		return r ?: K8S_DEC_DROP; /* IPv6: warned, look further */
	pod->ip_str = s;
	return K8S_DEC_DONE;
}

/* Pod IP: status.podIP, else the first IPv4 of status.podIPs (dual-stack Pods); and
 * status.hostIP. */
static int pod_ip(struct k8s_dec *d, yaml_node_t *status, struct k8s_pod *pod)
{
	struct k8s_dec_vec ips = {.flags = K8S_DEC_FIRST_ERR, .arg = pod};
	const char *s;
	int err, r;

	/* The node's address: other nodes' agents are told apart from clients outside the
	 * mesh by it. */
	err = k8s_dec_str(d, status, "hostIP", &s);
	if (err)
		return err;
	if (s && (r = k8s_dec_ip(d, "hostIP", s, &pod->host_ip)) < 0)
		return r;
	err = k8s_dec_str(d, status, "podIP", &s);
	if (err)
		return err;
	if (s && (r = k8s_dec_ip(d, "podIP", s, &pod->ip)) != 0) {
		if (r < 0)
			return r;
		pod->ip_str = s;
		return 0;
	}
	return k8s_dec_each(d, status, "podIPs", &ips, pod_ip_item);
}

/* Ready: the Ready condition; a Pod without any condition is taken as ready (hand-written). */
static int pod_ready(struct k8s_dec *d, yaml_node_t *status, struct k8s_pod *pod)
{
	yaml_node_t *conds;
	size_t i;
	int err;

	pod->ready = true;
	err = k8s_dec_seq(d, status, "conditions", &conds);
	if (err || !k8s_dec_len(conds))
		return err;
	pod->ready = false;
	for (i = 0; i < k8s_dec_len(conds); i++) {
		yaml_node_t *c = k8s_dec_item(d, conds, i), *t, *s;

		t = k8s_dec_get(d, c, "type");
		s = k8s_dec_get(d, c, "status");
		if (t && t->type == YAML_SCALAR_NODE && !strcmp(k8s_dec_scal(t), "Ready"))
			pod->ready =
			    s && s->type == YAML_SCALAR_NODE && !strcmp(k8s_dec_scal(s), "True");
	}
	return 0;
}

/* Validates the weir annotations that apply to Pods. */
static int pod_annotations(struct k8s_dec *d, struct k8s_object *o, struct k8s_pod *pod)
{
	const struct k8s_meta *m = &o->meta;
	unsigned long w;
	const char *v;
	int ret = 0;
	size_t old;

	pod->weight = 1;
	old = k8s_dec_push(d, "metadata.annotations");
	v = k8s_kv_get(m->annotations, m->nannotations, "weir.dev/lb-weight");
	if (v) {
		if (k8s_dec_uint(v, 0, 65535, &w))
			pod->weight = (uint16_t)w;
		else
			ret = k8s_dec_err(d, "[weir.dev/lb-weight]",
					  "\"%s\" is not a weight (0-65535)", v);
	}
	v = k8s_kv_get(m->annotations, m->nannotations, "weir.dev/mesh");
	if (v) {
		if (!strcmp(v, "off"))
			pod->mesh_off = true;
		else if (strcmp(v, "on"))
			ret = k8s_dec_err(d, "[weir.dev/mesh]", "\"%s\" is not on or off", v);
	}
	k8s_dec_pop(d, old);
	v = k8s_kv_get(m->labels, m->nlabels, "istio.io/dataplane-mode");
	if (v && !strcmp(v, "none"))
		pod->mesh_off = true;
	return ret;
}

/*
 * v1 Pod: one row of the kind table (see struct k8s_kind). Decodes <root> into <o>->pod,
 * with the weir annotations of <o>'s metadata.
 */
int k8s_core_pod(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
{
	struct k8s_pod *pod;
	yaml_node_t *spec, *status;
	const char *phase;
	size_t old;
	int err, ret = 0;

	pod = arena_alloc(d->a, sizeof(*pod));
	if (!pod)
		return -ENOMEM;
	o->pod = pod;
	ret = pod_annotations(d, o, pod);
	if ((err = k8s_dec_map(d, root, "spec", &spec)) ||
	    (err = k8s_dec_map(d, root, "status", &status)))
		return err;
	old = k8s_dec_push(d, "spec");
	if ((err = k8s_dec_str(d, spec, "nodeName", &pod->node)) ||
	    (err = k8s_dec_str(d, spec, "serviceAccountName", &pod->sa)) ||
	    (!pod->sa && (err = k8s_dec_str(d, spec, "serviceAccount", &pod->sa))) ||
	    (err = k8s_dec_bool(d, spec, "hostNetwork", false, &pod->host_network)) ||
	    (err = pod_ports(d, spec, pod)))
		ret = err;
	if (!pod->sa)
		pod->sa = "default";
	k8s_dec_pop(d, old);
	if (ret == -ENOMEM)
		return ret;
	old = k8s_dec_push(d, "status");
	if ((err = pod_ip(d, status, pod)) || (err = pod_ready(d, status, pod)) ||
	    (err = k8s_dec_str(d, status, "phase", &phase)))
		ret = err;
	else
		pod->terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
	k8s_dec_pop(d, old);
	return ret;
}

/* --- Service -------------------------------------------------------------------------- */

/* targetPort: a number, or the name of a container port (IntOrString). */
static int svc_target_port(struct k8s_dec *d, yaml_node_t *p, struct k8s_svc_port *sp)
{
	yaml_node_t *v = k8s_dec_get(d, p, "targetPort");
	unsigned long port;

	sp->target_port = sp->port;
	if (!v)
		return 0;
	if (v->type != YAML_SCALAR_NODE)
		return k8s_dec_err(d, "targetPort", "expected a port, found %s",
				   k8s_dec_type_name(v));
	/* A quoted "8080" is a string to Kubernetes; weir takes it as the number it means. */
	if (k8s_dec_uint(k8s_dec_scal(v), 0, 65535, &port) ||
	    (k8s_dec_scal(v)[0] >= '0' && k8s_dec_scal(v)[0] <= '9' &&
	     v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)) {
		if (!k8s_dec_uint(k8s_dec_scal(v), 1, 65535, &port))
			return k8s_dec_err(d, "targetPort", "%s is not a port (1-65535)",
					   k8s_dec_scal(v));
		sp->target_port = (uint16_t)port;
		return 0;
	}
	if (!k8s_dec_port_name(k8s_dec_scal(v)))
		return k8s_dec_err(d, "targetPort", "\"%s\" is not a port number or name",
				   k8s_dec_scal(v));
	sp->target_name = arena_strdup(d->a, k8s_dec_scal(v));
	sp->target_port = 0;
	return sp->target_name ? 0 : -ENOMEM;
}

/* One spec.ports[] item; <vec> holds the ports kept before it, for the name checks. */
static int svc_port(struct k8s_dec *d, yaml_node_t *p, void *elem, struct k8s_dec_vec *vec)
{
	const struct k8s_svc_port *prev = vec->v;
	struct k8s_svc_port *sp = elem;
	bool skip = false;
	size_t j;
	int err;

	err = k8s_dec_str(d, p, "name", &sp->name);
	err = err ?: k8s_dec_port(d, p, "port", true, &sp->port);
	err = err ?: k8s_dec_proto(d, p, "protocol", &sp->proto, &skip);
	err = err ?: svc_target_port(d, p, sp);
	err = err ?: k8s_dec_str(d, p, "appProtocol", &sp->app_proto);
	if (!sp->name)
		sp->name = "";
	if (!err && vec->len > 1 && !*sp->name)
		err = k8s_dec_err(d, "name", "required when a Service has more than one port");
	else if (!err && *sp->name && !k8s_dec_dns_label(sp->name, strlen(sp->name)))
		err = k8s_dec_err(d, "name", "\"%s\" is not a valid port name", sp->name);
	for (j = 0; !err && j < vec->n; j++)
		if (*sp->name && !strcmp(prev[j].name, sp->name))
			err = k8s_dec_err(d, "name", "\"%s\" is used by another port", sp->name);
	return err ?: skip ? K8S_DEC_DROP : 0;
}

static int svc_ports(struct k8s_dec *d, yaml_node_t *spec, struct k8s_service *svc)
{
	struct k8s_dec_vec ports = {.size = sizeof(struct k8s_svc_port)};
	int err;

	err = k8s_dec_each(d, spec, "ports", &ports, svc_port);
	svc->ports = ports.v;
	svc->nports = ports.n;
	return err;
}

/*
 * v1 Service: one row of the kind table (see struct k8s_kind). Decodes <root> into <o>->svc;
 * the weir.dev/path annotation picks the datapath.
 */
int k8s_core_service(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
{
	static const char *const types[] = {"ClusterIP", "NodePort", "LoadBalancer",
					    "ExternalName"};
	struct k8s_service *svc;
	yaml_node_t *spec;
	const char *ip, *mode;
	size_t old, i;
	int err, ret = 0;

	svc = arena_alloc(d->a, sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	o->svc = svc;
	mode = k8s_kv_get(o->meta.annotations, o->meta.nannotations, "weir.dev/path");
	if (mode && !strcmp(mode, "agent")) {
		svc->mode = WEIR_MODE_AGENT;
	} else if (mode && strcmp(mode, "kernel")) {
		old = k8s_dec_push(d, "metadata.annotations");
		ret = k8s_dec_err(d, "[weir.dev/path]", "\"%s\" is not kernel or agent", mode);
		k8s_dec_pop(d, old);
	}
	err = k8s_dec_map(d, root, "spec", &spec);
	if (err)
		return err;
	if (!spec)
		return k8s_dec_err(d, "spec", "required");
	old = k8s_dec_push(d, "spec");
	if ((err = k8s_dec_str(d, spec, "type", &svc->type)) ||
	    (err = k8s_dec_str(d, spec, "clusterIP", &ip)))
		goto out;
	if (!svc->type)
		svc->type = "ClusterIP";
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(svc->type, types[i]))
			break;
	if (i == sizeof(types) / sizeof(types[0]))
		ret = k8s_dec_err(d, "type", "\"%s\" is not a Service type", svc->type);
	if (ip && !strcmp(ip, "None"))
		svc->headless = true;
	else if (ip && *ip && k8s_dec_ip(d, "clusterIP", ip, &svc->vip) < 0)
		ret = -EINVAL;
	err = k8s_dec_kv(d, spec, "selector", &svc->selector, &svc->nselector);
	err = err ?: svc_ports(d, spec, svc);
out:
	k8s_dec_pop(d, old);
	return err ?: ret;
}

/* --- Endpoints and EndpointSlice ------------------------------------------------------- */

/* targetRef of an address: kept when it names a Pod. */
static int ep_target_ref(struct k8s_dec *d, yaml_node_t *it, const struct k8s_object *o,
			 struct k8s_ep_addr *ad)
{
	const char *kind, *ns;
	yaml_node_t *ref;
	size_t old;
	int err;

	err = k8s_dec_map(d, it, "targetRef", &ref);
	if (err || !ref)
		return err;
	old = k8s_dec_push(d, "targetRef");
	err = k8s_dec_str(d, ref, "kind", &kind);
	err = err ?: k8s_dec_str(d, ref, "namespace", &ns);
	err = err ?: k8s_dec_str(d, ref, "name", &ad->pod_name);
	k8s_dec_pop(d, old);
	if (err)
		return err;
	if (!kind || strcmp(kind, "Pod") || !ad->pod_name) {
		ad->pod_name = NULL;
		return 0;
	}
	ad->pod_ns = ns ? ns : o->meta.ns;
	return 0;
}

/* One endpoint port (subsets[].ports[] or the slice's ports[]). */
static int ep_port(struct k8s_dec *d, yaml_node_t *p, void *elem, struct k8s_dec_vec *vec)
{
	struct k8s_ep_port *ep = elem;
	bool skip = false;
	int err;

	(void)vec;
	err = k8s_dec_str(d, p, "name", &ep->name);
	err = err ?: k8s_dec_port(d, p, "port", true, &ep->port);
	err = err ?: k8s_dec_proto(d, p, "protocol", &ep->proto, &skip);
	if (!ep->name)
		ep->name = "";
	return err ?: skip ? K8S_DEC_DROP : 0;
}

/* Endpoint ports (subsets[].ports or the slice's ports). */
static int ep_ports(struct k8s_dec *d, yaml_node_t *map, struct k8s_ep_subset *ss)
{
	struct k8s_dec_vec ports = {.size = sizeof(struct k8s_ep_port)};
	int err;

	err = k8s_dec_each(d, map, "ports", &ports, ep_port);
	ss->ports = ports.v;
	ss->nports = ports.n;
	return err;
}

/* What the addresses of one subset are decoded with. */
struct ep_addr_ctx {
	const struct k8s_object *o;
	bool ready; /* decoding addresses, not notReadyAddresses */
};

/* One subsets[].addresses[] (or notReadyAddresses[]) item; an IPv6 one is dropped. */
static int ep_addr(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	const struct ep_addr_ctx *c = vec->arg;
	struct k8s_ep_addr *ad = elem;
	const char *ip;
	int err, r;

	err = k8s_dec_str(d, it, "ip", &ip);
	if (err)
		return err;
	if (!ip)
		return k8s_dec_err(d, "ip", "required");
	r = k8s_dec_ip(d, "ip", ip, &ad->ip);
	if (r < 0)
		return r;
	/* Checked even for a dropped IPv6 address: a mistake is one whatever the address. */
	err = ep_target_ref(d, it, c->o, ad);
	if (err)
		return err;
	ad->ready = c->ready;
	return r > 0 ? 0 : K8S_DEC_DROP;
}

/* One subsets[] item: ready and not-ready addresses in one array, and the ports. */
static int ep_subset(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	struct ep_addr_ctx c = {.o = vec->arg};
	struct k8s_dec_vec addrs = {.size = sizeof(struct k8s_ep_addr), .arg = &c};
	struct k8s_ep_subset *ss = elem;
	yaml_node_t *a, *na;
	int err, ret = 0;

	if ((err = k8s_dec_seq(d, it, "addresses", &a)) ||
	    (err = k8s_dec_seq(d, it, "notReadyAddresses", &na)))
		return err;
	addrs.cap = k8s_dec_len(a) + k8s_dec_len(na);
	addrs.v = arena_calloc(d->a, addrs.cap, addrs.size);
	if (!addrs.v)
		return -ENOMEM;
	c.ready = true;
	if ((err = k8s_dec_each(d, it, "addresses", &addrs, ep_addr)))
		ret = err;
	c.ready = false;
	if (err != -ENOMEM && (err = k8s_dec_each(d, it, "notReadyAddresses", &addrs, ep_addr)))
		ret = err;
	ss->addrs = addrs.v;
	ss->naddrs = addrs.n;
	if (ret != -ENOMEM && (err = ep_ports(d, it, ss)))
		ret = err;
	return ret;
}

/*
 * v1 Endpoints: one row of the kind table (see struct k8s_kind). Decodes <root> into
 * <o>->eps, named for its Service by <o>'s own name.
 */
int k8s_core_endpoints(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
{
	struct k8s_dec_vec subsets = {.size = sizeof(struct k8s_ep_subset), .arg = o};
	struct k8s_endpoints *eps;
	int err;

	eps = arena_alloc(d->a, sizeof(*eps));
	if (!eps)
		return -ENOMEM;
	o->eps = eps;
	eps->service = o->meta.name;
	err = k8s_dec_each(d, root, "subsets", &subsets, ep_subset);
	eps->subsets = subsets.v;
	eps->nsubsets = subsets.n;
	return err;
}

/* One endpoints[] item of a slice: its first address counts (the API says they are fungible). */
static int slice_endpoint(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	struct k8s_ep_addr *ad = elem;
	yaml_node_t *addrs, *first, *conds;
	int err, r;

	err = k8s_dec_seq(d, it, "addresses", &addrs);
	if (err)
		return err;
	if (!k8s_dec_len(addrs))
		return k8s_dec_err(d, "addresses", "at least one address is required");
	first = k8s_dec_item(d, addrs, 0);
	if (first->type != YAML_SCALAR_NODE)
		return k8s_dec_err(d, "addresses[0]", "expected an address, found %s",
				   k8s_dec_type_name(first));
	r = k8s_dec_ip(d, "addresses[0]", k8s_dec_scal(first), &ad->ip);
	if (r <= 0)
		return r ?: K8S_DEC_DROP; /* IPv6: warned, the rest is not looked at */
	err = k8s_dec_map(d, it, "conditions", &conds);
	if (!err) {
		size_t old = k8s_dec_push(d, "conditions");

		/* An absent ready condition means unknown, which consumers take as ready. */
		err = k8s_dec_bool(d, conds, "ready", true, &ad->ready);
		k8s_dec_pop(d, old);
	}
	return err ?: ep_target_ref(d, it, vec->arg, ad);
}

/*
 * discovery.k8s.io EndpointSlice: one row of the kind table (see struct k8s_kind). Decodes
 * <root> into <o>->eps as one subset, named for its Service by the kubernetes.io/service-name
 * label; a slice that is not IPv4 or has no such label is ignored (K8S_SKIP) with a warning.
 */
int k8s_core_endpointslice(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
{
	struct k8s_dec_vec addrs = {.size = sizeof(struct k8s_ep_addr), .arg = o};
	struct k8s_ep_subset *ss;
	struct k8s_endpoints *eps;
	const char *type;
	yaml_node_t *seq;
	int err, ret;

	eps = arena_alloc(d->a, sizeof(*eps));
	ss = arena_alloc(d->a, sizeof(*ss));
	if (!eps || !ss)
		return -ENOMEM;
	o->eps = eps;
	eps->subsets = ss;
	eps->nsubsets = 1;
	err = k8s_dec_str(d, root, "addressType", &type);
	if (err)
		return err;
	if (!type)
		return k8s_dec_err(d, "addressType", "required");
	if (strcmp(type, "IPv4")) {
		k8s_dec_warn(d, "addressType",
			     "%s is not supported (weir is IPv4 only): slice ignored", type);
		return K8S_SKIP;
	}
	eps->service = k8s_kv_get(o->meta.labels, o->meta.nlabels, "kubernetes.io/service-name");
	if (!eps->service) {
		k8s_dec_warn(d, "metadata.labels",
			     "no kubernetes.io/service-name label: slice ignored");
		return K8S_SKIP;
	}
	/* A bad endpoints value ends the slice here; bad items do not (ports are still read). */
	err = k8s_dec_seq(d, root, "endpoints", &seq);
	if (err)
		return err;
	ret = k8s_dec_each(d, root, "endpoints", &addrs, slice_endpoint);
	ss->addrs = addrs.v;
	ss->naddrs = addrs.n;
	if (ret != -ENOMEM && (err = ep_ports(d, root, ss)))
		ret = err;
	return ret;
}
