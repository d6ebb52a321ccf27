// SPDX-License-Identifier: Apache-2.0
/*
 * Compiles Istio's telemetry configuration into a policy per Pod (tpolicy.h). Istio's rules:
 * the mesh config gives the defaults (defaultProviders, defaultConfig.tracing.sampling, 1 %
 * when unset); a Telemetry in the root namespace applies mesh-wide, one without a selector
 * in a namespace to its namespace, one with a selector or targetRef to the workloads it
 * selects; each level overrides only the fields it sets. Of several at the same level for
 * the same Pod the first in priority order wins (Istio takes the oldest; weir's store order
 * is the deterministic stand-in).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/k8s_telemetry.h"
#include "lib/arena.h"
#include "lib/log.h"
#include "model/model.h"
#include "model/tpolicy.h"

/* Applies what Telemetry <t> (from <o>) sets onto <p>. */
static void apply(struct tpolicy *p, const struct istio_telemetry *t, const struct k8s_object *o)
{
	bool set = false;

	if (t->tracing_provider) {
		p->provider = t->tracing_provider;
		set = true;
	}
	if (t->sample_ppm != ISTIO_PPM_UNSET) {
		p->sample_ppm = t->sample_ppm;
		set = true;
	}
	if (t->disable_spans != ISTIO_UNSET) {
		p->disabled = t->disable_spans;
		set = true;
	}
	if (t->access_log != ISTIO_UNSET) {
		p->access_log = t->access_log;
		p->access_log_provider = t->access_log_provider;
		set = true;
	}
	if (set)
		p->source = o->source;
}

/* Whether every label of <match> is on <pod>. */
static bool labels_match(const struct k8s_kv *match, size_t n, const struct model_pod *pod)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = k8s_kv_get(pod->labels, pod->nlabels, match[i].key);

		if (!v || strcmp(v, match[i].value))
			return false;
	}
	return true;
}

/* Whether Telemetry <t> of namespace <ns> selects <pod> (selector or targetRef Service). */
static bool selects(const struct model *m, const struct istio_telemetry *t, const char *ns,
		    const struct model_pod *pod)
{
	if (strcmp(ns, pod->ns))
		return false;
	if (t->nmatch)
		return labels_match(t->match, t->nmatch, pod);
	for (size_t i = 0; t->target_name && i < m->nservices; i++) {
		const struct model_service *s = &m->services[i];

		if (!strcmp(s->ns, ns) && !strcmp(s->name, t->target_name))
			return s->nselector && labels_match(s->selector, s->nselector, pod);
	}
	return false;
}

/*
 * The collector of provider <name>: its zipkin.service ("name.ns[.svc[.domain]]" or
 * "ns/name") and port, resolved to the first ready endpoint of that Service port.
 */
static const char *resolve(struct arena *a, const struct model *m, const struct istio_meshcfg *mc,
			   const char *name)
{
	const struct istio_provider *p = NULL;
	char svc[256], ns[256];
	const char *dot, *slash;

	for (size_t i = 0; mc && i < mc->nproviders; i++)
		if (!strcmp(mc->providers[i].name, name))
			p = &mc->providers[i];
	if (!p || !p->zipkin_service) {
		log_warn("telemetry",
			 "tracing provider \"%s\" is no zipkin extensionProvider of "
			 "the mesh config: no spans are exported",
			 name);
		return NULL;
	}
	slash = strchr(p->zipkin_service, '/');
	if (slash) {
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - p->zipkin_service),
			 p->zipkin_service);
		snprintf(svc, sizeof(svc), "%s", slash + 1);
	} else {
		dot = strchr(p->zipkin_service, '.');
		snprintf(svc, sizeof(svc), "%.*s",
			 (int)(dot ? (size_t)(dot - p->zipkin_service) : strlen(p->zipkin_service)),
			 p->zipkin_service);
		snprintf(ns, sizeof(ns), "%.*s", dot ? (int)strcspn(dot + 1, ".") : 0,
			 dot ? dot + 1 : "");
	}
	if (!ns[0])
		snprintf(ns, sizeof(ns), "%s", ISTIO_ROOT_NS);
	for (size_t i = 0; i < m->nservices; i++) {
		const struct model_service *s = &m->services[i];

		if (strcmp(s->name, svc) || strcmp(s->ns, ns))
			continue;
		for (size_t j = 0; j < s->nports; j++) {
			const struct model_svc_port *sp = &s->ports[j];
			char ip[INET_ADDRSTRLEN];

			if (sp->port != p->zipkin_port)
				continue;
			for (size_t k = 0; k < sp->neps; k++) {
				if (!sp->eps[k].ready)
					continue;
				inet_ntop(AF_INET, &sp->eps[k].ip, ip, sizeof(ip));
				return arena_printf(a, "%s:%u", ip, sp->eps[k].port);
			}
		}
	}
	log_warn("telemetry",
		 "tracing provider \"%s\": Service %s/%s port %u has no ready "
		 "endpoint yet: no spans are exported",
		 name, ns, svc, p->zipkin_port);
	return NULL;
}

/* Sets the fields that follow from the others: whether spans go out, and where. */
static void finish(struct arena *a, const struct model *m, const struct istio_meshcfg *mc,
		   struct tpolicy *p, const struct tpolicy *mesh)
{
	/* The common case: the same provider as the mesh's, resolved once. */
	if (mesh && p->provider == mesh->provider)
		p->collector = mesh->collector;
	else
		p->collector = p->provider ? resolve(a, m, mc, p->provider) : NULL;
	p->report = p->provider && !p->disabled;
}

int tpolicy_build(struct arena *a, const struct model *m, const struct k8s_object *const *objs,
		  size_t n, const struct model_telemetry **out)
{
	const struct istio_meshcfg *mc = NULL;
	struct model_telemetry *mt;
	struct tpolicy *pods;
	size_t i, j;

	mt = arena_calloc(a, 1, sizeof(*mt));
	pods = arena_calloc(a, m->npods ? m->npods : 1, sizeof(*pods));
	if (!mt || !pods)
		return -ENOMEM;
	for (i = 0; i < n && !mc; i++)
		if (objs[i]->kind->id == K8S_CONFIGMAP && objs[i]->cm->mesh)
			mc = objs[i]->cm->mesh;
	mt->mesh = (struct tpolicy){.sample_ppm = TPOLICY_DEFAULT_PPM, .access_log = ISTIO_UNSET};
	if (mc) {
		if (mc->sample_ppm != ISTIO_PPM_UNSET)
			mt->mesh.sample_ppm = mc->sample_ppm;
		mt->mesh.provider = mc->default_tracing;
		if (mc->default_access_log) {
			mt->mesh.access_log = 1;
			mt->mesh.access_log_provider = mc->default_access_log;
		}
		mt->mesh.source = "mesh config";
	}
	/* Root namespace, mesh-wide (no selector): the first one. */
	for (i = 0; i < n; i++) {
		const struct k8s_object *o = objs[i];

		if (o->kind->id == K8S_TELEMETRY && !strcmp(o->meta.ns, ISTIO_ROOT_NS) &&
		    !o->tel->nmatch && !o->tel->target_name) {
			apply(&mt->mesh, o->tel, o);
			break;
		}
	}
	finish(a, m, mc, &mt->mesh, NULL);
	for (j = 0; j < m->npods; j++) {
		const struct model_pod *pod = &m->pods[j];
		struct tpolicy *p = &pods[j];
		bool ns_done = false, wl_done = false;

		*p = mt->mesh;
		/* Namespace level first, then the workload's own: two passes keep the order
		 * independent of where the objects sit in the store. */
		for (i = 0; i < n && !ns_done; i++) {
			const struct k8s_object *o = objs[i];

			if (o->kind->id != K8S_TELEMETRY || strcmp(o->meta.ns, pod->ns) ||
			    !strcmp(o->meta.ns, ISTIO_ROOT_NS) || o->tel->nmatch ||
			    o->tel->target_name)
				continue;
			apply(p, o->tel, o);
			ns_done = true;
		}
		for (i = 0; i < n && !wl_done; i++) {
			const struct k8s_object *o = objs[i];

			if (o->kind->id != K8S_TELEMETRY ||
			    (!o->tel->nmatch && !o->tel->target_name) ||
			    !selects(m, o->tel, o->meta.ns, pod))
				continue;
			apply(p, o->tel, o);
			wl_done = true;
		}
		finish(a, m, mc, p, &mt->mesh);
	}
	mt->pods = pods;
	mt->npods = m->npods;
	*out = mt;
	return 0;
}

const struct tpolicy *tpolicy_of(const struct model *m, const struct model_pod *pod)
{
	const struct model_telemetry *mt = m->telemetry;
	static const struct tpolicy none = {.sample_ppm = TPOLICY_DEFAULT_PPM, .access_log = -1};

	if (!mt)
		return &none;
	if (pod && pod >= m->pods && pod < m->pods + mt->npods)
		return &mt->pods[pod - m->pods];
	return &mt->mesh;
}
