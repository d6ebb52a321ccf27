// SPDX-License-Identifier: Apache-2.0
/*
 * Decodes Kubernetes YAML/JSON into the typed objects of k8s.h. libyaml loads each document
 * into a node tree; the document walk here unwraps Lists, decodes the metadata every kind has
 * and lets the kind table pick a decoder per (group, kind): the core kinds live in
 * k8s_core.c, the shared decoding toolkit in k8s_dec.c. Every problem is reported with the
 * source, the object (kind ns/name) and the field path, and decoding goes on so that one run
 * shows the user every mistake in a file, not just the first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/arena.h"
#include "config/k8s.h"
#include "config/k8s_core.h"
#include "config/k8s_dec.h"
#include "config/k8s_istio.h"
#include "config/k8s_telemetry.h"

/* --- metadata ------------------------------------------------------------------------- */

/* One metadata.ownerReferences[] item. */
static int meta_owner(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	struct k8s_owner *own = elem;
	int err;

	(void)vec;
	err = k8s_dec_str(d, it, "kind", &own->kind);
	err = err ?: k8s_dec_str(d, it, "name", &own->name);
	err = err ?: k8s_dec_bool(d, it, "controller", false, &own->controller);
	if (!err && (!own->kind || !own->name))
		err = k8s_dec_err(d, NULL, "kind and name are required");
	return err;
}

static int meta_owners(struct k8s_dec *d, yaml_node_t *meta, struct k8s_meta *m)
{
	struct k8s_dec_vec owners = {.size = sizeof(struct k8s_owner)};
	int err;

	err = k8s_dec_each(d, meta, "ownerReferences", &owners, meta_owner);
	m->owners = owners.v;
	m->nowners = owners.n;
	return err;
}

/* metadata of any kind; sets d->ns/d->name first so that later messages name the object. */
static int meta_decode(struct k8s_dec *d, yaml_node_t *root, const struct k8s_kind *k,
		       struct k8s_meta *m)
{
	yaml_node_t *meta, *del;
	size_t old;
	int err, ret = 0;

	err = k8s_dec_map(d, root, "metadata", &meta);
	if (err)
		return err;
	if (!meta)
		return k8s_dec_err(d, "metadata", "required");
	old = k8s_dec_push(d, "metadata");
	if ((err = k8s_dec_str(d, meta, "name", &m->name)) ||
	    (err = k8s_dec_str(d, meta, "namespace", &m->ns)))
		goto out;
	if (!m->ns)
		m->ns = "default";
	d->ns = m->ns;
	d->name = m->name;
	if (!m->name) {
		ret = k8s_dec_err(d, "name", "required");
	} else if (k->id == K8S_SERVICE ? !k8s_dec_dns_label(m->name, strlen(m->name)) ||
					      !(m->name[0] >= 'a' && m->name[0] <= 'z')
					: !k8s_dec_dns_subdomain(m->name)) {
		ret = k8s_dec_err(d, "name", "\"%s\" is not a valid %s name (%s)", m->name, k->kind,
				  k->id == K8S_SERVICE ? "RFC 1035 label: a-z, 0-9, '-', at most 63"
						       : "RFC 1123 subdomain: a-z, 0-9, '-', '.'");
	}
	if (!k8s_dec_dns_label(m->ns, strlen(m->ns)))
		ret = k8s_dec_err(d, "namespace", "\"%s\" is not a valid namespace", m->ns);
	if ((err = k8s_dec_kv(d, meta, "labels", &m->labels, &m->nlabels)) ||
	    (err = k8s_dec_kv(d, meta, "annotations", &m->annotations, &m->nannotations)) ||
	    (err = meta_owners(d, meta, m)))
		goto out;
	del = k8s_dec_get(d, meta, "deletionTimestamp");
	m->deleting = del != NULL;
	/* Istio's tie-break among VirtualServices of one host: the oldest wins. */
	err = k8s_dec_str(d, meta, "creationTimestamp", &m->created);
out:
	k8s_dec_pop(d, old);
	return err ?: ret;
}

/* --- the kind table ------------------------------------------------------------------- */

/*
 * One row per kind. To add a kind: a K8S_* id, a struct for its body (core kinds in k8s.h,
 * traffic kinds in k8s_istio.h), a decoder built with k8s_dec.h, and its row here.
 */
static const struct k8s_kind k8s_kinds[K8S_KIND_MAX] = {
    [K8S_POD] = {K8S_POD, "", "v1", "Pod", k8s_core_pod},
    [K8S_SERVICE] = {K8S_SERVICE, "", "v1", "Service", k8s_core_service},
    [K8S_ENDPOINTS] = {K8S_ENDPOINTS, "", "v1", "Endpoints", k8s_core_endpoints},
    [K8S_ENDPOINTSLICE] = {K8S_ENDPOINTSLICE, "discovery.k8s.io", "v1 v1beta1", "EndpointSlice",
			   k8s_core_endpointslice},
    [K8S_VIRTUALSERVICE] = {K8S_VIRTUALSERVICE, "networking.istio.io", "v1 v1beta1 v1alpha3",
			    "VirtualService", k8s_istio_virtualservice},
    [K8S_DESTINATIONRULE] = {K8S_DESTINATIONRULE, "networking.istio.io", "v1 v1beta1 v1alpha3",
			     "DestinationRule", k8s_istio_destinationrule},
    [K8S_HEALTHCHECK] = {K8S_HEALTHCHECK, "weir.dev", "v1alpha1", "HealthCheck",
			 k8s_istio_healthcheck},
    [K8S_RATELIMIT] = {K8S_RATELIMIT, "weir.dev", "v1alpha1", "RateLimit", k8s_istio_ratelimit},
    [K8S_TELEMETRY] = {K8S_TELEMETRY, "telemetry.istio.io", "v1 v1alpha1", "Telemetry",
		       k8s_telemetry_decode},
    [K8S_CONFIGMAP] = {K8S_CONFIGMAP, "", "v1", "ConfigMap", k8s_telemetry_configmap},
};

/* The row for <id> (see k8s.h). */
const struct k8s_kind *k8s_kind_get(enum k8s_kind_id id)
{
	return id < K8S_KIND_MAX ? &k8s_kinds[id] : NULL;
}

/* True when the space-separated <list> holds <word>. */
static bool word_in(const char *list, const char *word)
{
	size_t len = strlen(word);
	const char *p = list;

	if (!len) /* apiVersion "" or "group/": strstr() would find "" forever */
		return false;
	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || !p[len]))
			return true;
		p += len;
	}
	return false;
}

/* The row for <api_version>/<kind>; NULL when unknown, with *<bad_version> set when the kind
 * is known but not in that version. */
static const struct k8s_kind *kind_find(const char *api_version, const char *kind,
					bool *bad_version)
{
	const char *slash = strchr(api_version, '/');
	const char *version = slash ? slash + 1 : api_version;
	size_t glen = slash ? (size_t)(slash - api_version) : 0;
	size_t i;

	*bad_version = false;
	for (i = 0; i < K8S_KIND_MAX; i++) {
		const struct k8s_kind *k = &k8s_kinds[i];

		if (strcmp(k->kind, kind) || strlen(k->group) != glen ||
		    strncmp(k->group, api_version, glen))
			continue;
		if (word_in(k->versions, version))
			return k;
		*bad_version = true;
	}
	return NULL;
}

/* The growing list of decoded objects of one stream. */
struct k8s_objvec {
	struct k8s_object *v;
	size_t n, cap;
};

static int walk_object(struct k8s_dec *d, yaml_node_t *root, struct k8s_objvec *out);
static int walk_node(struct k8s_dec *d, yaml_node_t *root, struct k8s_objvec *out);

/* One items[] entry of a List: any node, checked by walk_node() with its own message. */
static int walk_item(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	(void)elem;
	return walk_node(d, it, vec->arg);
}

/* One document or List item: a List recurses into its items. */
static int walk_node(struct k8s_dec *d, yaml_node_t *root, struct k8s_objvec *out)
{
	struct k8s_dec_vec items = {.flags = K8S_DEC_ANY};
	yaml_node_t *kind;
	size_t len;

	if (root->type != YAML_MAPPING_NODE)
		return k8s_dec_err(d, NULL, "expected a Kubernetes object (a mapping), found %s",
				   k8s_dec_type_name(root));
	kind = k8s_dec_get(d, root, "kind");
	if (kind && kind->type == YAML_SCALAR_NODE) {
		len = strlen(k8s_dec_scal(kind));
		/* "List" (kubectl) and "<Kind>List" (API list responses) hold items. */
		if (len >= 4 && !strcmp(k8s_dec_scal(kind) + len - 4, "List")) {
			items.arg = out;
			return k8s_dec_each(d, root, "items", &items, walk_item);
		}
	}
	return walk_object(d, root, out);
}

/* One object: its metadata, then its body by its kind's row; a valid one is appended to <out>. */
static int walk_object(struct k8s_dec *d, yaml_node_t *root, struct k8s_objvec *out)
{
	const struct k8s_kind *k;
	const char *api, *kind;
	struct k8s_object o = {0};
	size_t old = d->plen;
	char outer[sizeof(d->path)];
	bool bad_version;
	int err, e2;

	err = k8s_dec_str(d, root, "apiVersion", &api);
	err = err ?: k8s_dec_str(d, root, "kind", &kind);
	if (err)
		return err;
	if (!kind || !api)
		return k8s_dec_err(d, kind ? "apiVersion" : "kind", "required");
	k = kind_find(api, kind, &bad_version);
	if (!k) {
		if (bad_version)
			k8s_dec_warn(d, NULL, "ignoring %s: apiVersion %s is not supported", kind,
				     api);
		else
			k8s_dec_warn(d, NULL, "ignoring unknown kind %s (apiVersion %s)", kind,
				     api);
		return 0;
	}
	/* Inside an object, messages name it; the path restarts at its root. */
	d->kind = k->kind;
	d->ns = NULL;
	d->name = NULL;
	memcpy(outer, d->path, sizeof(outer));
	d->plen = 0;
	d->path[0] = '\0';
	o.kind = k;
	o.source = d->source;
	err = meta_decode(d, root, k, &o.meta);
	if (err != -ENOMEM) {
		/* Decode the body even when metadata was bad: the user sees every error at once. */
		e2 = k->decode(d, root, &o);
		if (e2 == -ENOMEM)
			err = e2;
		else if (err < 0 || e2 < 0)
			err = -EINVAL;
		else
			err = e2;
	}
	d->kind = NULL;
	memcpy(d->path, outer, sizeof(outer));
	d->plen = old;
	if (err < 0)
		return err;
	if (err == K8S_SKIP)
		return 0;
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 16;
		struct k8s_object *v = reallocarray(out->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		out->v = v;
		out->cap = cap;
	}
	out->v[out->n++] = o;
	return 0;
}

/* Deeper nesting than any Kubernetes object needs; also bounds the List recursion. */
#define K8S_MAX_DEPTH 64

/*
 * A first pass over the parser's events, before any node is built: rejects YAML aliases
 * (an alias can make a small file expand without bound, or refer to its own ancestor) and
 * nesting deeper than K8S_MAX_DEPTH (libyaml's loader slows down badly on deep nesting).
 * Syntax errors are left for the loading pass, which reports them. Returns 0, -EINVAL
 * (reported), -ENOMEM.
 */
static int k8s_prescan(struct k8s_dec *d, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	unsigned depth = 0;
	int ret = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_MEMORY_ERROR)
				ret = -ENOMEM;
			break;
		}
		if (ev.type == YAML_ALIAS_EVENT) {
			ret = k8s_dec_err(d, NULL,
					  "YAML alias at line %zu column %zu: aliases are not "
					  "supported",
					  ev.start_mark.line + 1, ev.start_mark.column + 1);
		} else if (ev.type == YAML_SEQUENCE_START_EVENT ||
			   ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > K8S_MAX_DEPTH)
				ret = k8s_dec_err(
				    d, NULL, "line %zu column %zu: nested deeper than %u levels",
				    ev.start_mark.line + 1, ev.start_mark.column + 1,
				    K8S_MAX_DEPTH);
		} else if (ev.type == YAML_SEQUENCE_END_EVENT ||
			   ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		if (ev.type == YAML_STREAM_END_EVENT || ret) {
			yaml_event_delete(&ev);
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ret;
}

/*
 * Decodes stream <buf>/<len> from <source> into <a> and fills <res> (see k8s.h): a first pass
 * rejects aliases and deep nesting, then each document is loaded and walked.
 */
int k8s_decode(struct arena *a, const char *source, const char *buf, size_t len,
	       struct k8s_result *res)
{
	struct k8s_objvec vec = {0};
	struct k8s_dec d = {0};
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret = 0, err;
	unsigned docno;

	memset(res, 0, sizeof(*res));
	d.a = a;
	d.source = arena_strdup(a, source); /* objects name it: it must live as long as they do */
	if (!d.source)
		return -ENOMEM;
	d.res = res;
	d.doc = &doc;
	ret = k8s_prescan(&d, buf, len);
	if (ret)
		return ret;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (docno = 1;; docno++) {
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			if (parser.error == YAML_MEMORY_ERROR) {
				ret = -ENOMEM;
				break;
			}
			/* libyaml marks are 0-based; editors count from 1. */
			d.plen = 0;
			d.path[0] = '\0';
			if (parser.context)
				k8s_dec_err(&d, NULL,
					    "YAML syntax error at line %zu column %zu: %s "
					    "(%s started at line %zu column %zu)",
					    parser.problem_mark.line + 1,
					    parser.problem_mark.column + 1,
					    parser.problem ? parser.problem : "invalid YAML",
					    parser.context, parser.context_mark.line + 1,
					    parser.context_mark.column + 1);
			else
				k8s_dec_err(
				    &d, NULL, "YAML syntax error at line %zu column %zu: %s",
				    parser.problem_mark.line + 1, parser.problem_mark.column + 1,
				    parser.problem ? parser.problem : "invalid YAML");
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) { /* end of stream */
			yaml_document_delete(&doc);
			break;
		}
		d.plen = 0;
		d.path[0] = '\0';
		err = k8s_dec_null(root) ? 0 : walk_node(&d, root, &vec);
		yaml_document_delete(&doc);
		if (err == -ENOMEM) {
			ret = err;
			break;
		}
	}
	yaml_parser_delete(&parser);
	if (!ret && res->nerrors)
		ret = -EINVAL;
	if (!ret && vec.n) {
		res->objs = arena_calloc(a, vec.n, sizeof(*res->objs));
		if (!res->objs)
			ret = -ENOMEM;
		else
			memcpy(res->objs, vec.v, vec.n * sizeof(*vec.v));
		res->nobjs = res->objs ? vec.n : 0;
	}
	free(vec.v);
	return ret;
}

/* The value of <key> in the <n> pairs at <kv>, or NULL. */
const char *k8s_kv_get(const struct k8s_kv *kv, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return NULL;
}

/* True when <a> and <b> are the same kind, namespace and name. */
bool k8s_same_object(const struct k8s_object *a, const struct k8s_object *b)
{
	return a->kind == b->kind && !strcmp(a->meta.ns, b->meta.ns) &&
	       !strcmp(a->meta.name, b->meta.name);
}
