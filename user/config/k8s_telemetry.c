// SPDX-License-Identifier: Apache-2.0
/*
 * Decoders of Istio's telemetry configuration (k8s_telemetry.h): the Telemetry kind and the
 * mesh config inside ConfigMap istio/istio-system. Same rules as the other Istio kinds: an
 * unknown field is an error naming it, a field weir recognises but does not enforce is a
 * warning. The mesh config is the exception at its top level: it has dozens of fields for
 * Envoy and istiod that mean nothing to weir, and a user's real mesh config must load, so
 * those are warnings too.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config/k8s_dec.h"
#include "config/k8s_istio.h"
#include "config/k8s_telemetry.h"
#include "lib/arena.h"

#define MESH_MAX_DEPTH 32 /* nesting the mesh config's YAML string may have */

/* A percentage 0..100 (a number, as protobuf's DoubleValue) at <key> into ppm. */
static int dec_pct(struct k8s_dec *d, yaml_node_t *map, const char *key, uint32_t *ppm)
{
	yaml_node_t *v = k8s_dec_get(d, map, key);
	char *end;
	double x;

	if (!v || k8s_dec_null(v))
		return 0;
	if (v->type != YAML_SCALAR_NODE)
		return k8s_dec_err(d, key, "expected a number 0..100, found %s",
				   k8s_dec_type_name(v));
	x = strtod(k8s_dec_scal(v), &end);
	if (end == k8s_dec_scal(v) || *end || !isfinite(x) || x < 0 || x > 100)
		return k8s_dec_err(d, key, "\"%s\" is not a percentage 0..100", k8s_dec_scal(v));
	*ppm = (uint32_t)(x * 10000 + 0.5);
	return 0;
}

/* providers: [{name: X}] into the first name (more than one: Istio too uses one). */
static int prov_item(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	static const char *const known[] = {"name", NULL};
	const char **first = vec->arg;
	const char *name = NULL;
	int err;

	(void)elem;
	err = istio_keys(d, it, known, NULL);
	err = k8s_dec_worst(err, k8s_dec_str(d, it, "name", &name));
	if (!err && !name)
		err = k8s_dec_err(d, "name", "required");
	if (!err && vec->n == 0)
		*first = name;
	else if (!err)
		k8s_dec_warn(d, NULL, "only the first provider is used");
	return err;
}

static int dec_providers(struct k8s_dec *d, yaml_node_t *m, const char **first)
{
	struct k8s_dec_vec vec = {.arg = first};

	return k8s_dec_each(d, m, "providers", &vec, prov_item);
}

/* tracing[i] of a Telemetry. The first entry decides; Istio merges several, weir does not. */
static int tracing_item(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	static const char *const known[] = {"providers", "randomSamplingPercentage",
					    "disableSpanReporting", NULL};
	static const char *const unenforced[] = {"match", "customTags",
						 "useRequestIdForTraceSampling", NULL};
	struct istio_telemetry *t = vec->arg;
	uint32_t ppm = ISTIO_PPM_UNSET;
	const char *prov = NULL;
	bool off = false;
	int err;

	(void)elem;
	err = istio_keys(d, it, known, unenforced);
	err = k8s_dec_worst(err, dec_providers(d, it, &prov));
	err = k8s_dec_worst(err, dec_pct(d, it, "randomSamplingPercentage", &ppm));
	err = k8s_dec_worst(err, k8s_dec_bool(d, it, "disableSpanReporting", false, &off));
	if (err || vec->n)
		return err ? err : (k8s_dec_warn(d, NULL, "only tracing[0] is used"), 0);
	t->tracing_provider = prov;
	t->sample_ppm = ppm;
	if (k8s_dec_get(d, it, "disableSpanReporting"))
		t->disable_spans = off;
	return 0;
}

/* accessLogging[i] of a Telemetry. */
static int alog_item(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	static const char *const known[] = {"providers", "disabled", NULL};
	static const char *const unenforced[] = {"match", "filter", NULL};
	struct istio_telemetry *t = vec->arg;
	const char *prov = NULL;
	bool disabled = false;
	int err;

	(void)elem;
	err = istio_keys(d, it, known, unenforced);
	err = k8s_dec_worst(err, dec_providers(d, it, &prov));
	err = k8s_dec_worst(err, k8s_dec_bool(d, it, "disabled", false, &disabled));
	if (err || vec->n)
		return err ? err : (k8s_dec_warn(d, NULL, "only accessLogging[0] is used"), 0);
	t->access_log = disabled ? 0 : 1;
	t->access_log_provider = prov;
	return 0;
}

static int dec_selector(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"matchLabels", NULL};
	struct istio_telemetry *t = arg;
	int err;

	err = istio_keys(d, m, known, NULL);
	return k8s_dec_worst(err, k8s_dec_kv(d, m, "matchLabels", &t->match, &t->nmatch));
}

/* targetRef, or targetRefs[0]: a Service in the policy's namespace. */
static int dec_target(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"group", "kind", "name", NULL};
	struct istio_telemetry *t = arg;
	const char *group = NULL;
	int err;

	err = istio_keys(d, m, known, NULL);
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "group", &group));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "kind", &t->target_kind));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "name", &t->target_name));
	if (err)
		return err;
	if (!t->target_name)
		return k8s_dec_err(d, "name", "required");
	if (!t->target_kind || strcmp(t->target_kind, "Service"))
		return k8s_dec_err(d, "kind",
				   "\"%s\" is not Service (the one kind weir selects by)",
				   t->target_kind ? t->target_kind : "");
	if (group && *group)
		return k8s_dec_err(d, "group", "\"%s\" is not \"\" (core)", group);
	return 0;
}

static int target_item(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	(void)elem;
	if (vec->n)
		return k8s_dec_err(d, NULL,
				   "weir takes one targetRefs entry; use one Telemetry "
				   "per Service");
	return dec_target(d, it, vec->arg);
}

/*
 * telemetry.istio.io Telemetry (v1, v1alpha1): one row of the kind table (see struct
 * k8s_kind). Decodes <root> into <o>->tel.
 */
int k8s_telemetry_decode(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
{
	static const char *const top[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
	static const char *const known[] = {"selector", "targetRef",	 "targetRefs",
					    "tracing",	"accessLogging", NULL};
	static const char *const unenforced[] = {"metrics", NULL};
	struct istio_telemetry *t;
	struct k8s_dec_vec tv, av, rv;
	yaml_node_t *spec;
	size_t old;
	int err;

	t = arena_alloc(d->a, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = (struct istio_telemetry){
	    .sample_ppm = ISTIO_PPM_UNSET, .disable_spans = ISTIO_UNSET, .access_log = ISTIO_UNSET};
	o->body = t;
	err = istio_keys(d, root, top, NULL);
	err = k8s_dec_worst(err, k8s_dec_map(d, root, "spec", &spec));
	if (!spec)
		return err; /* an empty Telemetry is valid and changes nothing */
	old = k8s_dec_push(d, "spec");
	err = k8s_dec_worst(err, istio_keys(d, spec, known, unenforced));
	err = k8s_dec_worst(err, k8s_dec_sub(d, spec, "selector", t, dec_selector));
	err = k8s_dec_worst(err, k8s_dec_sub(d, spec, "targetRef", t, dec_target));
	rv = (struct k8s_dec_vec){.arg = t};
	err = k8s_dec_worst(err, k8s_dec_each(d, spec, "targetRefs", &rv, target_item));
	if (!err && t->nmatch && t->target_name)
		err = k8s_dec_err(d, "selector", "only one of selector and targetRef(s)");
	tv = (struct k8s_dec_vec){.arg = t};
	err = k8s_dec_worst(err, k8s_dec_each(d, spec, "tracing", &tv, tracing_item));
	av = (struct k8s_dec_vec){.arg = t};
	err = k8s_dec_worst(err, k8s_dec_each(d, spec, "accessLogging", &av, alog_item));
	k8s_dec_pop(d, old);
	return err;
}

/* --- the mesh config ------------------------------------------------------------------ */

static int zipkin_prov(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"service", "port", NULL};
	static const char *const unenforced[] = {
	    "maxTagLength", "enable64bitTraceId", "traceContextOption", "timeout", "headers", NULL};
	struct istio_provider *p = arg;
	int err;

	err = istio_keys(d, m, known, unenforced);
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "service", &p->zipkin_service));
	err = k8s_dec_worst(err, k8s_dec_port(d, m, "port", true, &p->zipkin_port));
	if (!err && !p->zipkin_service)
		err = k8s_dec_err(d, "service", "required");
	return err;
}

static int provider_item(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	struct istio_provider *p = elem;
	yaml_node_pair_t *pair;
	int err;

	(void)vec;
	err = k8s_dec_str(d, it, "name", &p->name);
	if (!err && !p->name)
		err = k8s_dec_err(d, "name", "required");
	err = k8s_dec_worst(err, k8s_dec_sub(d, it, "zipkin", p, zipkin_prov));
	/* The other provider kinds (envoyFileAccessLog, opentelemetry, prometheus, ...) are
	 * Istio's and valid; weir's span exporter speaks Zipkin only. */
	for (pair = it->data.mapping.pairs.start; !err && pair < it->data.mapping.pairs.top;
	     pair++) {
		const char *key = k8s_dec_scal(yaml_document_get_node(d->doc, pair->key));

		if (key && strcmp(key, "name") && strcmp(key, "zipkin"))
			k8s_dec_warn(d, key, "provider kind not supported by weir (zipkin is)");
	}
	return err;
}

/* The first string of the list at <key> (defaultProviders.tracing: [zipkin]). */
static int first_str(struct k8s_dec *d, yaml_node_t *m, const char *key, const char **out)
{
	const char *const *v = NULL;
	size_t n = 0;
	int err;

	err = istio_dec_strs(d, m, key, &v, &n);
	if (!err && n)
		*out = v[0];
	if (!err && n > 1)
		k8s_dec_warn(d, key, "only the first provider is used");
	return err;
}

static int default_providers(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"tracing", "accessLogging", NULL};
	static const char *const unenforced[] = {"metrics", NULL};
	struct istio_meshcfg *mc = arg;
	int err;

	err = istio_keys(d, m, known, unenforced);
	err = k8s_dec_worst(err, first_str(d, m, "tracing", &mc->default_tracing));
	return k8s_dec_worst(err, first_str(d, m, "accessLogging", &mc->default_access_log));
}

static int default_tracing(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	struct istio_meshcfg *mc = arg;
	yaml_node_pair_t *p;
	int err;

	err = dec_pct(d, m, "sampling", &mc->sample_ppm);
	/* zipkin.address, custom_tags, max_path_tag_length... are the sidecar's own. */
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *key = k8s_dec_scal(yaml_document_get_node(d->doc, p->key));

		if (key && strcmp(key, "sampling"))
			k8s_dec_warn(d, key, "not used by weir (extensionProviders are)");
	}
	return err;
}

static int default_config(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	/* defaultConfig is ProxyConfig: many sidecar fields; only tracing matters here. */
	return k8s_dec_sub(d, m, "tracing", arg, default_tracing);
}

/* The mesh config document <root> (data.mesh parsed) into <mc>. */
static int mesh_decode(struct k8s_dec *d, yaml_node_t *root, struct istio_meshcfg *mc)
{
	struct k8s_dec_vec pv = {.size = sizeof(struct istio_provider)};
	yaml_node_pair_t *p;
	int err = 0;

	if (k8s_dec_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return k8s_dec_err(d, NULL, "expected a mapping, found %s",
				   k8s_dec_type_name(root));
	for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		const char *key = k8s_dec_scal(yaml_document_get_node(d->doc, p->key));

		if (key && strcmp(key, "extensionProviders") && strcmp(key, "defaultProviders") &&
		    strcmp(key, "defaultConfig"))
			k8s_dec_warn(d, key, "mesh config field not used by weir");
	}
	err = k8s_dec_worst(err, k8s_dec_each(d, root, "extensionProviders", &pv, provider_item));
	mc->providers = pv.v;
	mc->nproviders = pv.n;
	err = k8s_dec_worst(err, k8s_dec_sub(d, root, "defaultProviders", mc, default_providers));
	err = k8s_dec_worst(err, k8s_dec_sub(d, root, "defaultConfig", mc, default_config));
	return err;
}

/* Whether the YAML at <s> is safe to load: no aliases, bounded nesting. 0 or -EINVAL. */
static int mesh_prescan(const char *s, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, ret = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)s, len);
	while (!done && !ret) {
		if (!yaml_parser_parse(&parser, &ev)) {
			ret = -EINVAL;
			break;
		}
		if (ev.type == YAML_ALIAS_EVENT)
			ret = -EINVAL;
		else if (ev.type == YAML_MAPPING_START_EVENT ||
			 ev.type == YAML_SEQUENCE_START_EVENT)
			ret = ++depth > MESH_MAX_DEPTH ? -EINVAL : 0;
		else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
			depth--;
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ret;
}

/* data.mesh: a YAML document inside a string, decoded with the path "data.mesh...". */
static int dec_mesh_string(struct k8s_dec *d, const char *s, struct istio_meshcfg *mc)
{
	yaml_document_t doc, *outer = d->doc;
	yaml_parser_t parser;
	yaml_node_t *root;
	int err;

	err = mesh_prescan(s, strlen(s));
	if (err == -EINVAL)
		return k8s_dec_err(d, NULL,
				   "not valid YAML (or uses aliases, or nests deeper "
				   "than %d)",
				   MESH_MAX_DEPTH);
	if (err)
		return err;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)s, strlen(s));
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_parser_delete(&parser);
		return k8s_dec_err(d, NULL, "not valid YAML");
	}
	/* The decoder helpers read nodes of d->doc: point it at the inner document. Strings
	 * they keep are copied into the arena, so the document can go right after. */
	d->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	err = root ? mesh_decode(d, root, mc) : 0;
	d->doc = outer;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return err;
}

/*
 * v1 ConfigMap: one row of the kind table. Only ConfigMap istio in istio-system is read
 * (its data.mesh into <o>'s mesh config); any other ConfigMap is accepted untouched.
 */
int k8s_telemetry_configmap(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
{
	struct k8s_configmap *cm;
	struct istio_meshcfg *mc;
	const char *mesh = NULL;
	yaml_node_t *data;
	size_t old;
	int err;

	cm = arena_alloc(d->a, sizeof(*cm));
	if (!cm)
		return -ENOMEM;
	memset(cm, 0, sizeof(*cm));
	o->body = cm;
	if (!o->meta.name || !o->meta.ns || strcmp(o->meta.name, ISTIO_MESH_CM) ||
	    strcmp(o->meta.ns, ISTIO_ROOT_NS))
		return 0;
	err = k8s_dec_map(d, root, "data", &data);
	if (err || !data)
		return err;
	old = k8s_dec_push(d, "data");
	err = k8s_dec_str(d, data, "mesh", &mesh);
	if (!err && mesh) {
		mc = arena_alloc(d->a, sizeof(*mc));
		if (!mc) {
			err = -ENOMEM;
		} else {
			memset(mc, 0, sizeof(*mc));
			mc->sample_ppm = ISTIO_PPM_UNSET;
			k8s_dec_push(d, "mesh");
			err = dec_mesh_string(d, mesh, mc);
			cm->mesh = mc;
		}
	}
	k8s_dec_pop(d, old);
	return err;
}
