// SPDX-License-Identifier: Apache-2.0
/*
 * Decodes Istio's VirtualService (networking.istio.io v1, v1beta1, v1alpha3) into the structs
 * of k8s_istio.h, and holds the helpers the other traffic kinds (k8s_istio_dr.c) share:
 * strict field lists, durations, percentages, string lists. Istio's own schema is the
 * reference; the rules that differ from core kinds are:
 *   - an unknown field is an error naming it: a typo such as "wieght" would otherwise be a
 *     silently ignored routing rule, the worst kind of configuration bug;
 *   - a field Istio knows that weir does not enforce (corsPolicy, tls settings) is accepted
 *     with a warning, so the same YAML still applies to a cluster that runs Istio;
 *   - durations and regexes are validated here, so a bad one names its field path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/regex.h"
#include "config/k8s_dec.h"
#include "config/k8s_istio.h"

/* --- shared helpers ------------------------------------------------------------------- */

static bool in_list(const char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/*
 * Checks every key of mapping <map> against <known> and <unenforced> (both NULL-terminated):
 * an unknown key is an error naming it, an unenforced one a warning. A node that is not a
 * mapping is left alone: the getter that read it has reported its type already, and one
 * mistake should give one message. Returns 0 or -EINVAL (reported).
 */
int istio_keys(struct k8s_dec *d, yaml_node_t *map, const char *const *known,
	       const char *const *unenforced)
{
	yaml_node_pair_t *p;
	int ret = 0;

	if (!map || map->type != YAML_MAPPING_NODE)
		return 0;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d->doc, p->key);
		const char *key;

		if (!k || k->type != YAML_SCALAR_NODE)
			continue;
		key = k8s_dec_scal(k);
		if (in_list(unenforced, key))
			k8s_dec_warn(d, key, "accepted but not enforced by weir");
		else if (!in_list(known, key))
			ret = k8s_dec_err(d, key, "unknown field");
	}
	return ret;
}

/*
 * Durations as Istio writes them: protobuf's "1.5s" and Go's units (h, m, s, ms, us, ns),
 * concatenated ("1m30s"). Strict: a unit is required, nothing else may follow.
 */
/*
 * Parses duration <s> into *<ms> (see k8s_istio.h): numbers of digits with at most one dot,
 * each followed by a unit. Both protobuf's JSON form ("1.5s") and Go's ("1m30s") appear in
 * Istio's docs and samples, so both are accepted; nothing else is, because a lenient parser
 * would turn "10" (seconds? ms?) into a guess. Returns false for anything else.
 */
bool istio_duration(const char *s, uint32_t *ms)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
	double total = 0;
	const char *p = s;
	size_t i;

	if (!*p)
		return false;
	while (*p) {
		char *end;
		double v;

		size_t nd = strspn(p, "0123456789."), dots = 0, k;

		/* Digits with at most one dot: no sign, exponent, hex or spaces as strtod takes. */
		for (k = 0; k < nd; k++)
			dots += p[k] == '.';
		if (!nd || dots > 1 || (nd == 1 && dots))
			return false;
		v = strtod(p, &end);
		if (end != p + nd || !isfinite(v))
			return false;
		p = end;
		for (i = sizeof(units) / sizeof(units[0]); i-- > 0;) {
			size_t ul = strlen(units[i].unit);

			/* "ms" before "m" before "s": try the two-letter units first. */
			if (ul == 2 && !strncmp(p, units[i].unit, 2))
				break;
		}
		if (i == (size_t)-1) {
			for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
				if (strlen(units[i].unit) == 1 && *p == units[i].unit[0])
					break;
			if (i == sizeof(units) / sizeof(units[0]))
				return false;
		}
		total += v * units[i].ns;
		p += strlen(units[i].unit);
	}
	/* Below a millisecond nothing weir times can tell; above 49 days uint32 ms overflows. */
	if (total != 0 && total < 1e6)
		return false;
	if (total / 1e6 > 4294967295.0)
		return false;
	*ms = (uint32_t)(total / 1e6 + 0.5);
	return true;
}

/*
 * Reads the duration at <key> of <map> into *<ms>, untouched when absent so the caller's
 * default stays. Returns 0 or -EINVAL (reported at <key> with the accepted forms).
 */
int istio_dec_duration(struct k8s_dec *d, yaml_node_t *map, const char *key, uint32_t *ms)
{
	yaml_node_t *v = k8s_dec_get(d, map, key);

	if (!v)
		return 0;
	if (v->type != YAML_SCALAR_NODE)
		return k8s_dec_err(d, key, "expected a duration, found %s", k8s_dec_type_name(v));
	if (!istio_duration(k8s_dec_scal(v), ms))
		return k8s_dec_err(d, key,
				   "\"%s\" is not a duration (like \"1.5s\", \"300ms\", \"2m\"; "
				   "1ms to 49 days)",
				   k8s_dec_scal(v));
	return 0;
}

/*
 * Reads the integer at <key> of <map> into *<out> when it is in [<min>, <max>]; untouched when
 * absent (callers preset a sentinel to tell "absent" from 0). Returns 0 or -EINVAL (reported
 * with the range, so the user sees what would be accepted).
 */
int istio_dec_u32(struct k8s_dec *d, yaml_node_t *map, const char *key, uint32_t min, uint32_t max,
		  uint32_t *out)
{
	yaml_node_t *v = k8s_dec_get(d, map, key);
	unsigned long n;

	if (!v)
		return 0;
	if (v->type != YAML_SCALAR_NODE || !k8s_dec_uint(k8s_dec_scal(v), min, max, &n))
		return k8s_dec_err(d, key, "expected an integer from %u to %u, found %s", min, max,
				   v->type == YAML_SCALAR_NODE ? k8s_dec_scal(v)
							       : k8s_dec_type_name(v));
	*out = (uint32_t)n;
	return 0;
}

static int dec_str_item(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	const char **s = elem;

	(void)vec;
	if (it->type != YAML_SCALAR_NODE || k8s_dec_null(it))
		return k8s_dec_err(d, NULL, "expected a string, found %s", k8s_dec_type_name(it));
	*s = arena_strdup(d->a, k8s_dec_scal(it));
	return *s ? 0 : -ENOMEM;
}

/*
 * Reads the list of strings at <key> of <map> into *<out> and *<nout> (arena copies). Each item
 * that is not a string is reported at its index. Returns 0, -EINVAL or -ENOMEM.
 */
int istio_dec_strs(struct k8s_dec *d, yaml_node_t *map, const char *key, const char *const **out,
		   size_t *nout)
{
	struct k8s_dec_vec v = {.size = sizeof(char *), .flags = K8S_DEC_ANY};
	int err;

	err = k8s_dec_each(d, map, key, &v, dec_str_item);
	*out = v.v;
	*nout = v.n;
	return err;
}

/* percentage: {value: 0-100 (a double)} into parts per million. */
static int dec_percentage(struct k8s_dec *d, yaml_node_t *map, const char *key, uint32_t *ppm)
{
	static const char *const known[] = {"value", NULL};
	yaml_node_t *m, *v;
	char *end;
	double x;
	size_t old;
	int err;

	err = k8s_dec_map(d, map, key, &m);
	if (err || !m)
		return err;
	old = k8s_dec_push(d, key);
	err = istio_keys(d, m, known, NULL);
	v = k8s_dec_get(d, m, "value");
	*ppm = 0;
	if (v && v->type == YAML_SCALAR_NODE) {
		x = strtod(k8s_dec_scal(v), &end);
		if (*end || end == k8s_dec_scal(v) || !(x >= 0 && x <= 100))
			err = k8s_dec_err(d, "value", "\"%s\" is not a percentage (0-100)",
					  k8s_dec_scal(v));
		else
			*ppm = (uint32_t)(x * 10000 + 0.5);
	} else if (v) {
		err = k8s_dec_err(d, "value", "expected a number, found %s", k8s_dec_type_name(v));
	}
	k8s_dec_pop(d, old);
	return err;
}

/* A regex, compiled only to validate it: the model compiles its own copy. */
static int check_regex(struct k8s_dec *d, const char *field, const char *re)
{
	struct regex *r;
	char why[160];

	r = regex_new(re, strlen(re), why, sizeof(why));
	if (!r)
		return k8s_dec_err(d, field, "bad regex \"%s\": %s", re, why);
	regex_free(r);
	return 0;
}

/* Pushes <seg> as k8s_dec_push() does, but "[key]" without the dot ("headers[end-user]"). */
static size_t push_seg(struct k8s_dec *d, const char *seg)
{
	size_t old = d->plen;
	int r;

	if (seg[0] != '[')
		return k8s_dec_push(d, seg);
	r = snprintf(d->path + d->plen, sizeof(d->path) - d->plen, "%s", seg);
	if (r > 0)
		d->plen += (size_t)r;
	if (d->plen >= sizeof(d->path))
		d->plen = sizeof(d->path) - 1;
	return old;
}

/* StringMatch: exactly one of exact, prefix, regex. <present_ok>: {} means "present". */
static int dec_strmatch(struct k8s_dec *d, yaml_node_t *m, const char *field, bool present_ok,
			struct istio_str *out)
{
	static const char *const known[] = {"exact", "prefix", "regex", NULL};
	static const char *const kinds[] = {"exact", "prefix", "regex"};
	size_t old, i, n = 0;
	const char *s;
	int err = 0;

	if (m->type != YAML_MAPPING_NODE)
		return k8s_dec_err(d, field, "expected a mapping, found %s", k8s_dec_type_name(m));
	old = push_seg(d, field);
	err = istio_keys(d, m, known, NULL);
	for (i = 0; !err && i < 3; i++) {
		err = k8s_dec_str(d, m, kinds[i], &s);
		if (err || !s)
			continue;
		n++;
		out->kind = (uint8_t)(i + 1);
		out->value = s;
		if (i == 2)
			err = check_regex(d, kinds[i], s);
	}
	if (!err && n > 1)
		err = k8s_dec_err(d, NULL, "only one of exact, prefix, regex may be set");
	else if (!err && !n && present_ok)
		out->kind = 4; /* {}: the header must be present */
	else if (!err && !n)
		err = k8s_dec_err(d, NULL, "one of exact, prefix, regex is required");
	k8s_dec_pop(d, old);
	return err;
}

/* The StringMatch at <key> of <map>, if any. */
static int dec_strmatch_at(struct k8s_dec *d, yaml_node_t *map, const char *key,
			   struct istio_str *out)
{
	yaml_node_t *m = k8s_dec_get(d, map, key);

	return m ? dec_strmatch(d, m, key, false, out) : 0;
}

/*
 * headers, withoutHeaders or queryParams (<key>) of <map>: a mapping of name to StringMatch,
 * appended to the growing array *<v> (*<n> used of *<cap>) so that headers and withoutHeaders
 * share one array, told apart by <absent>. Header names are lower-cased (<lower>) because
 * HTTP/2 carries them so and HTTP/1 compares them without case; query names are kept.
 */
static int dec_kvmatch(struct k8s_dec *d, yaml_node_t *map, const char *key, bool lower,
		       bool absent, struct istio_kv_match **v, size_t *n, size_t *cap)
{
	yaml_node_pair_t *p;
	yaml_node_t *m;
	size_t old, add;
	int err, ret = 0;

	err = k8s_dec_map(d, map, key, &m);
	if (err || !m)
		return err;
	add = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	if (*n + add > *cap) {
		struct istio_kv_match *nv = arena_calloc(d->a, *n + add, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		if (*n)
			memcpy(nv, *v, *n * sizeof(*nv));
		*v = nv;
		*cap = *n + add;
	}
	old = k8s_dec_push(d, key);
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d->doc, p->key);
		yaml_node_t *val = yaml_document_get_node(d->doc, p->value);
		struct istio_kv_match *e = &(*v)[*n];
		char *name, *c;
		char seg[80];

		if (k->type != YAML_SCALAR_NODE || !*k8s_dec_scal(k)) {
			ret = k8s_dec_err(d, NULL, "names must be non-empty strings");
			continue;
		}
		name = arena_strdup(d->a, k8s_dec_scal(k));
		if (!name) {
			ret = -ENOMEM;
			break;
		}
		for (c = name; lower && *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		memset(e, 0, sizeof(*e));
		e->name = name;
		e->absent = absent;
		snprintf(seg, sizeof(seg), "[%s]", k8s_dec_scal(k));
		if (k8s_dec_null(val))
			e->m.kind = 4;
		else if ((err = dec_strmatch(d, val, seg, true, &e->m)))
			ret = k8s_dec_worst(ret, err);
		(*n)++;
	}
	k8s_dec_pop(d, old);
	return ret;
}

/* --- VirtualService ------------------------------------------------------------------- */

/* HTTPMatchRequest */
static int vs_match(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	static const char *const known[] = {"name",
					    "uri",
					    "scheme",
					    "method",
					    "authority",
					    "headers",
					    "port",
					    "sourceLabels",
					    "gateways",
					    "queryParams",
					    "ignoreUriCase",
					    "withoutHeaders",
					    "sourceNamespace",
					    "statPrefix",
					    NULL};
	static const char *const unenforced[] = {"gateways", "statPrefix", NULL};
	struct istio_match *m = elem;
	struct istio_kv_match *hv = NULL, *qv = NULL;
	size_t hcap = 0, qcap = 0;
	int err;

	(void)vec;
	err = istio_keys(d, it, known, unenforced);
	err = k8s_dec_worst(err, k8s_dec_str(d, it, "name", &m->name));
	err = k8s_dec_worst(err, dec_strmatch_at(d, it, "uri", &m->uri));
	err = k8s_dec_worst(err, dec_strmatch_at(d, it, "scheme", &m->scheme));
	err = k8s_dec_worst(err, dec_strmatch_at(d, it, "method", &m->method));
	err = k8s_dec_worst(err, dec_strmatch_at(d, it, "authority", &m->authority));
	err = k8s_dec_worst(err,
			    dec_kvmatch(d, it, "headers", true, false, &hv, &m->nheaders, &hcap));
	err = k8s_dec_worst(
	    err, dec_kvmatch(d, it, "withoutHeaders", true, true, &hv, &m->nheaders, &hcap));
	err = k8s_dec_worst(
	    err, dec_kvmatch(d, it, "queryParams", false, false, &qv, &m->nquery, &qcap));
	err = k8s_dec_worst(err, k8s_dec_port(d, it, "port", false, &m->port));
	err = k8s_dec_worst(
	    err, k8s_dec_kv(d, it, "sourceLabels", &m->source_labels, &m->nsource_labels));
	err = k8s_dec_worst(err, k8s_dec_str(d, it, "sourceNamespace", &m->source_ns));
	err = k8s_dec_worst(err, k8s_dec_bool(d, it, "ignoreUriCase", false, &m->ignore_uri_case));
	m->headers = hv;
	m->query = qv;
	return err;
}

/* Destination: host (required), subset, port.number. */
static int dec_destination(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"host", "subset", "port", NULL};
	static const char *const pknown[] = {"number", NULL};
	struct istio_dest *dst = arg;
	yaml_node_t *port;
	size_t old;
	int err;

	err = istio_keys(d, m, known, NULL);
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "host", &dst->host));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "subset", &dst->subset));
	if (!err && (!dst->host || !*dst->host))
		err = k8s_dec_err(d, "host", "required");
	if (!err && dst->subset && !k8s_dec_dns_label(dst->subset, strlen(dst->subset)))
		err = k8s_dec_err(d, "subset", "\"%s\" is not a valid subset name", dst->subset);
	err = k8s_dec_worst(err, k8s_dec_map(d, m, "port", &port));
	if (port) {
		old = k8s_dec_push(d, "port");
		err = k8s_dec_worst(err, istio_keys(d, port, pknown, NULL));
		err = k8s_dec_worst(err, k8s_dec_port(d, port, "number", true, &dst->port));
		k8s_dec_pop(d, old);
	}
	return err;
}

/* HeaderOperations: set, add (mappings), remove (list). */
static int dec_hdr_ops(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"set", "add", "remove", NULL};
	struct istio_hdr_ops *ops = arg;
	int err;

	err = istio_keys(d, m, known, NULL);
	err = k8s_dec_worst(err, k8s_dec_kv(d, m, "set", &ops->set, &ops->nset));
	err = k8s_dec_worst(err, k8s_dec_kv(d, m, "add", &ops->add, &ops->nadd));
	err = k8s_dec_worst(err, istio_dec_strs(d, m, "remove", &ops->remove, &ops->nremove));
	return err;
}

/* Headers: request and response operations into the two istio_hdr_ops at <arg>. */
static int dec_headers(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"request", "response", NULL};
	struct istio_hdr_ops *ops = arg;
	int err;

	err = istio_keys(d, m, known, NULL);
	err = k8s_dec_worst(err, k8s_dec_sub(d, m, "request", &ops[0], dec_hdr_ops));
	err = k8s_dec_worst(err, k8s_dec_sub(d, m, "response", &ops[1], dec_hdr_ops));
	return err;
}

/* The weight of a destination: an integer 0-100 (Istio's range). */
static int dec_weight(struct k8s_dec *d, yaml_node_t *it, struct istio_dest *dst)
{
	int err;

	dst->weight = UINT32_MAX;
	err = istio_dec_u32(d, it, "weight", 0, 100, &dst->weight);
	dst->has_weight = !err && dst->weight != UINT32_MAX;
	if (!dst->has_weight)
		dst->weight = 0;
	return err;
}

/* HTTPRouteDestination: destination, weight, headers. */
static int vs_http_dest(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	static const char *const known[] = {"destination", "weight", "headers", NULL};
	struct istio_dest *dst = elem;
	struct istio_hdr_ops ops[2] = {0};
	int err;

	(void)vec;
	err = istio_keys(d, it, known, NULL);
	if (!k8s_dec_get(d, it, "destination"))
		err = k8s_dec_err(d, "destination", "required");
	err = k8s_dec_worst(err, k8s_dec_sub(d, it, "destination", dst, dec_destination));
	err = k8s_dec_worst(err, dec_weight(d, it, dst));
	err = k8s_dec_worst(err, k8s_dec_sub(d, it, "headers", ops, dec_headers));
	dst->req = ops[0];
	dst->resp = ops[1];
	return err;
}

/*
 * The route[] of an http, tcp or tls entry at <it>, each item by <fn>, into *<out> and *<nout>.
 * Weights are checked as a whole here because Istio's rules are about the list: a lone
 * destination takes all traffic, and several with no weight at all would send nothing.
 */
static int dec_dests(struct k8s_dec *d, yaml_node_t *it, k8s_dec_item_fn *fn,
		     const struct istio_dest **out, size_t *nout)
{
	struct k8s_dec_vec v = {.size = sizeof(struct istio_dest)};
	struct istio_dest *dv;
	uint64_t total = 0;
	size_t i;
	int err;

	err = k8s_dec_each(d, it, "route", &v, fn);
	dv = v.v;
	*out = dv;
	*nout = v.n;
	if (err)
		return err;
	for (i = 0; i < v.n; i++)
		total += dv[i].weight;
	/* Istio: a lone destination takes all traffic whatever its weight says. */
	if (v.n == 1) {
		dv[0].weight = 100;
	} else if (v.n > 1 && !total) {
		err = k8s_dec_err(d, "route", "%zu destinations and no weight: give each a weight",
				  v.n);
	}
	return err;
}

/* HTTPRedirect */
static int dec_redirect(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"uri",    "authority",    "port", "derivePort",
					    "scheme", "redirectCode", NULL};
	static const char *const unenforced[] = {"derivePort", NULL};
	struct istio_redirect *r = arg;
	uint32_t code = 301;
	int err;

	err = istio_keys(d, m, known, unenforced);
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "uri", &r->uri));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "authority", &r->authority));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "scheme", &r->scheme));
	err = k8s_dec_worst(err, k8s_dec_port(d, m, "port", false, &r->port));
	err = k8s_dec_worst(err, istio_dec_u32(d, m, "redirectCode", 300, 399, &code));
	r->code = (uint16_t)code;
	return err;
}

struct direct {
	uint16_t status;
	const char *body;
};

/* HTTPDirectResponse: status (required), body.string or body.bytes (base64, kept as is). */
static int dec_direct(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"status", "body", NULL};
	static const char *const bknown[] = {"string", "bytes", NULL};
	struct direct *dr = arg;
	uint32_t status = 0;
	yaml_node_t *body;
	size_t old;
	int err;

	err = istio_keys(d, m, known, NULL);
	if (!k8s_dec_get(d, m, "status"))
		err = k8s_dec_err(d, "status", "required");
	err = k8s_dec_worst(err, istio_dec_u32(d, m, "status", 200, 599, &status));
	dr->status = (uint16_t)status;
	err = k8s_dec_worst(err, k8s_dec_map(d, m, "body", &body));
	if (body) {
		old = k8s_dec_push(d, "body");
		err = k8s_dec_worst(err, istio_keys(d, body, bknown, NULL));
		err = k8s_dec_worst(err, k8s_dec_str(d, body, "string", &dr->body));
		if (k8s_dec_get(d, body, "bytes"))
			k8s_dec_warn(d, "bytes", "served as written, not base64-decoded");
		if (!dr->body)
			err = k8s_dec_worst(err, k8s_dec_str(d, body, "bytes", &dr->body));
		k8s_dec_pop(d, old);
	}
	return err;
}

/* HTTPRewrite: uri, authority, uriRegexRewrite{match, rewrite}. */
static int dec_rewrite(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"uri", "authority", "uriRegexRewrite", NULL};
	static const char *const rknown[] = {"match", "rewrite", NULL};
	struct istio_rewrite *rw = arg;
	yaml_node_t *re;
	size_t old;
	int err;

	err = istio_keys(d, m, known, NULL);
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "uri", &rw->uri));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "authority", &rw->authority));
	err = k8s_dec_worst(err, k8s_dec_map(d, m, "uriRegexRewrite", &re));
	if (!re)
		return err;
	old = k8s_dec_push(d, "uriRegexRewrite");
	err = k8s_dec_worst(err, istio_keys(d, re, rknown, NULL));
	err = k8s_dec_worst(err, k8s_dec_str(d, re, "match", &rw->re_match));
	err = k8s_dec_worst(err, k8s_dec_str(d, re, "rewrite", &rw->re_rewrite));
	if (!err && (!rw->re_match || !rw->re_rewrite))
		err = k8s_dec_err(d, rw->re_match ? "rewrite" : "match", "required");
	else if (!err)
		err = check_regex(d, "match", rw->re_match);
	if (!err && rw->uri)
		err = k8s_dec_err(d, NULL, "uri and uriRegexRewrite exclude each other");
	k8s_dec_pop(d, old);
	return err;
}

/*
 * One comma-separated retryOn token <t>/<len>: its bit goes into *<bits>, a bare status code
 * into <codes> (*<nc> used) (at most 16: more is not a realistic policy). Envoy-only conditions
 * weir does not act on are accepted without a bit, as Istio passes them through.
 */
static bool retry_token(const char *t, size_t len, uint32_t *bits, uint16_t *codes, size_t *nc)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} toks[] = {{"5xx", ISTIO_RETRY_5XX},
		    {"gateway-error", ISTIO_RETRY_GATEWAY},
		    {"reset", ISTIO_RETRY_RESET},
		    {"reset-before-request", ISTIO_RETRY_RESET},
		    {"connect-failure", ISTIO_RETRY_CONNECT_FAILURE},
		    {"refused-stream", ISTIO_RETRY_REFUSED_STREAM},
		    {"retriable-4xx", ISTIO_RETRY_RETRIABLE_4XX},
		    {"retriable-status-codes", ISTIO_RETRY_CODES},
		    {"cancelled", ISTIO_RETRY_CANCELLED},
		    {"deadline-exceeded", ISTIO_RETRY_DEADLINE},
		    {"internal", ISTIO_RETRY_INTERNAL},
		    {"resource-exhausted", ISTIO_RETRY_EXHAUSTED},
		    {"unavailable", ISTIO_RETRY_UNAVAILABLE},
		    {"envoy-ratelimited", 0},
		    {"retriable-headers", 0},
		    {"http3-post-connect-failure", 0}};
	unsigned long code;
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(toks) / sizeof(toks[0]); i++)
		if (strlen(toks[i].name) == len && !strncmp(toks[i].name, t, len)) {
			*bits |= toks[i].bit;
			return true;
		}
	/* Istio: a bare status code in retryOn means retriable-status-codes with it. */
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, t, len);
	buf[len] = '\0';
	if (!k8s_dec_uint(buf, 100, 599, &code))
		return false;
	if (*nc < 16)
		codes[(*nc)++] = (uint16_t)code;
	*bits |= ISTIO_RETRY_CODES;
	return true;
}

/* HTTPRetry: attempts, perTryTimeout, retryOn (comma separated), retryRemoteLocalities. */
static int dec_retries(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"attempts", "perTryTimeout", "retryOn",
					    "retryRemoteLocalities", NULL};
	struct istio_retry *r = arg;
	uint16_t codes[16], *cv;
	const char *on, *p;
	size_t nc = 0;
	int err;

	err = istio_keys(d, m, known, NULL);
	err = k8s_dec_worst(err, istio_dec_u32(d, m, "attempts", 0, 1000, &r->attempts));
	err = k8s_dec_worst(err, istio_dec_duration(d, m, "perTryTimeout", &r->per_try_timeout_ms));
	err = k8s_dec_worst(
	    err, k8s_dec_bool(d, m, "retryRemoteLocalities", false, &r->remote_localities));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "retryOn", &on));
	if (err || !on) {
		/* Istio's retryOn when only attempts are given. */
		r->on = ISTIO_RETRY_CONNECT_FAILURE | ISTIO_RETRY_REFUSED_STREAM |
			ISTIO_RETRY_UNAVAILABLE | ISTIO_RETRY_CANCELLED | ISTIO_RETRY_CODES;
		codes[nc++] = 503;
	}
	for (p = on; !err && p && *p;) {
		size_t len = strcspn(p, ",");

		if (!retry_token(p, len, &r->on, codes, &nc))
			err = k8s_dec_err(d, "retryOn", "\"%.*s\" is not a retry condition",
					  (int)len, p);
		p += len + (p[len] == ',');
	}
	cv = arena_calloc(d->a, nc ? nc : 1, sizeof(*cv));
	if (!cv)
		return -ENOMEM;
	memcpy(cv, codes, nc * sizeof(*cv));
	r->codes = cv;
	r->ncodes = nc;
	return err;
}

/* The deprecated integer percent of a fault, into parts per million. */
static int dec_percent_int(struct k8s_dec *d, yaml_node_t *m, uint32_t *ppm)
{
	uint32_t pc = UINT32_MAX;
	int err;

	err = istio_dec_u32(d, m, "percent", 0, 100, &pc);
	if (!err && pc != UINT32_MAX)
		*ppm = pc * 10000;
	return err;
}

static int dec_delay(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"fixedDelay", "percentage", "percent",
					    "exponentialDelay", NULL};
	static const char *const unenforced[] = {"exponentialDelay", NULL};
	struct istio_fault *f = arg;
	int err;

	f->has_delay = true;
	f->delay_ppm = 1000000; /* Istio: no percentage means every request */
	err = istio_keys(d, m, known, unenforced);
	if (!k8s_dec_get(d, m, "fixedDelay") && !k8s_dec_get(d, m, "exponentialDelay"))
		err = k8s_dec_err(d, "fixedDelay", "required");
	err = k8s_dec_worst(err, istio_dec_duration(d, m, "fixedDelay", &f->delay_ms));
	err = k8s_dec_worst(err, dec_percent_int(d, m, &f->delay_ppm));
	err = k8s_dec_worst(err, dec_percentage(d, m, "percentage", &f->delay_ppm));
	return err;
}

/* gRPC status names as Istio accepts them for abort.grpcStatus. */
static int grpc_code(const char *s)
{
	static const char *const names[] = {"OK",
					    "CANCELLED",
					    "UNKNOWN",
					    "INVALID_ARGUMENT",
					    "DEADLINE_EXCEEDED",
					    "NOT_FOUND",
					    "ALREADY_EXISTS",
					    "PERMISSION_DENIED",
					    "RESOURCE_EXHAUSTED",
					    "FAILED_PRECONDITION",
					    "ABORTED",
					    "OUT_OF_RANGE",
					    "UNIMPLEMENTED",
					    "INTERNAL",
					    "UNAVAILABLE",
					    "DATA_LOSS",
					    "UNAUTHENTICATED"};
	unsigned long n;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return k8s_dec_uint(s, 0, 16, &n) ? (int)n : -1;
}

static int dec_abort(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"httpStatus", "grpcStatus", "http2Error", "percentage",
					    NULL};
	static const char *const unenforced[] = {"http2Error", NULL};
	struct istio_fault *f = arg;
	uint32_t st = 0;
	const char *g;
	int err, code;

	f->has_abort = true;
	f->abort_ppm = 1000000;
	err = istio_keys(d, m, known, unenforced);
	err = k8s_dec_worst(err, istio_dec_u32(d, m, "httpStatus", 200, 599, &st));
	err = k8s_dec_worst(err, k8s_dec_str(d, m, "grpcStatus", &g));
	err = k8s_dec_worst(err, dec_percentage(d, m, "percentage", &f->abort_ppm));
	f->abort_http = (uint16_t)st;
	if (!err && g) {
		code = grpc_code(g);
		if (code < 0)
			err = k8s_dec_err(d, "grpcStatus", "\"%s\" is not a gRPC status", g);
		f->abort_grpc = code < 0 ? 0 : (uint16_t)code;
		f->abort_is_grpc = true;
	}
	if (!err && st && g)
		err = k8s_dec_err(d, NULL, "httpStatus and grpcStatus exclude each other");
	else if (!err && !st && !g && !k8s_dec_get(d, m, "http2Error"))
		err = k8s_dec_err(d, "httpStatus", "required (or grpcStatus)");
	return err;
}

static int dec_fault(struct k8s_dec *d, yaml_node_t *m, void *arg)
{
	static const char *const known[] = {"delay", "abort", NULL};
	int err;

	err = istio_keys(d, m, known, NULL);
	err = k8s_dec_worst(err, k8s_dec_sub(d, m, "delay", arg, dec_delay));
	err = k8s_dec_worst(err, k8s_dec_sub(d, m, "abort", arg, dec_abort));
	return err;
}

/* Allocates a zeroed <size> and decodes the mapping at <key> into it with <fn>. */
static int sub_alloc(struct k8s_dec *d, yaml_node_t *map, const char *key, size_t size,
		     const void **out, int (*fn)(struct k8s_dec *d, yaml_node_t *m, void *arg))
{
	void *p;

	*out = NULL;
	if (!k8s_dec_get(d, map, key))
		return 0;
	p = arena_alloc(d->a, size);
	if (!p)
		return -ENOMEM;
	*out = p;
	return k8s_dec_sub(d, map, key, p, fn);
}

/* One VirtualService http[] entry. */
static int vs_http(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	static const char *const known[] = {"name",
					    "match",
					    "route",
					    "redirect",
					    "directResponse",
					    "delegate",
					    "rewrite",
					    "timeout",
					    "retries",
					    "fault",
					    "mirror",
					    "mirrorPercentage",
					    "mirrorPercent",
					    "mirrors",
					    "corsPolicy",
					    "headers",
					    NULL};
	static const char *const unenforced[] = {"corsPolicy", "mirrors", NULL};
	struct k8s_dec_vec mv = {.size = sizeof(struct istio_match)};
	struct istio_http *h = elem;
	struct istio_hdr_ops ops[2] = {0};
	struct direct dr = {0};
	const void *p;
	uint32_t mp = UINT32_MAX;
	int err;

	(void)vec;
	h->mirror_ppm = 1000000;
	err = istio_keys(d, it, known, unenforced);
	if (k8s_dec_get(d, it, "delegate"))
		err = k8s_dec_err(d, "delegate", "delegate VirtualServices are not supported");
	err = k8s_dec_worst(err, k8s_dec_str(d, it, "name", &h->name));
	err = k8s_dec_worst(err, k8s_dec_each(d, it, "match", &mv, vs_match));
	h->matches = mv.v;
	h->nmatches = mv.n;
	err = k8s_dec_worst(err, dec_dests(d, it, vs_http_dest, &h->dests, &h->ndests));
	err = k8s_dec_worst(
	    err, sub_alloc(d, it, "redirect", sizeof(struct istio_redirect), &p, dec_redirect));
	h->redirect = p;
	err = k8s_dec_worst(err, k8s_dec_sub(d, it, "directResponse", &dr, dec_direct));
	h->direct_status = dr.status;
	h->direct_body = dr.body;
	err = k8s_dec_worst(
	    err, sub_alloc(d, it, "rewrite", sizeof(struct istio_rewrite), &p, dec_rewrite));
	h->rewrite = p;
	err = k8s_dec_worst(err, istio_dec_duration(d, it, "timeout", &h->timeout_ms));
	h->has_retries = k8s_dec_get(d, it, "retries") != NULL;
	err = k8s_dec_worst(err, k8s_dec_sub(d, it, "retries", &h->retry, dec_retries));
	err = k8s_dec_worst(err,
			    sub_alloc(d, it, "fault", sizeof(struct istio_fault), &p, dec_fault));
	h->fault = p;
	err = k8s_dec_worst(
	    err, sub_alloc(d, it, "mirror", sizeof(struct istio_dest), &p, dec_destination));
	h->mirror = p;
	err = k8s_dec_worst(err, istio_dec_u32(d, it, "mirrorPercent", 0, 100, &mp));
	if (mp != UINT32_MAX)
		h->mirror_ppm = mp * 10000;
	err = k8s_dec_worst(err, dec_percentage(d, it, "mirrorPercentage", &h->mirror_ppm));
	err = k8s_dec_worst(err, k8s_dec_sub(d, it, "headers", ops, dec_headers));
	h->req = ops[0];
	h->resp = ops[1];
	if (err)
		return err;
	/* Istio's validation: exactly one of route, redirect, directResponse (or delegate). */
	if (!!h->ndests + !!h->redirect + !!h->direct_status != 1)
		return k8s_dec_err(d, NULL,
				   "exactly one of route, redirect, directResponse is "
				   "required");
	if (h->rewrite && !h->ndests)
		return k8s_dec_err(d, "rewrite", "only with route");
	return 0;
}

/*
 * One match[] item of tcp[] into the port at <elem>. weir routes tcp[] by destination port
 * only, so a match without a port is dropped (it matches every port) and the other
 * conditions are accepted with a warning.
 */
static int vs_tcp_match(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	static const char *const known[] = {"port",	"destinationSubnets", "sourceLabels",
					    "gateways", "sourceNamespace",    NULL};
	static const char *const unenforced[] = {"destinationSubnets", "sourceLabels", "gateways",
						 "sourceNamespace", NULL};
	uint16_t *port = elem;
	int err;

	(void)vec;
	err = istio_keys(d, it, known, unenforced);
	err = k8s_dec_worst(err, k8s_dec_port(d, it, "port", false, port));
	/* A match without a port applies to every port: nothing to keep. */
	return err ?: *port ? 0 : K8S_DEC_DROP;
}

/*
 * destinationSubnets of a tls[] match: IPv4 "a.b.c.d/n" or a bare address. The mesh is
 * IPv4, so an IPv6 subnet is accepted with a warning and never matches.
 */
static int vs_subnets(struct k8s_dec *d, yaml_node_t *it, struct istio_tls_match *m)
{
	const char *const *v;
	struct istio_subnet *out;
	char field[48], ip[INET6_ADDRSTRLEN];
	size_t n, i;
	int err, ret = 0;

	err = istio_dec_strs(d, it, "destinationSubnets", &v, &n);
	if (err || !n)
		return err;
	out = arena_calloc(d->a, n, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const char *slash = strchr(v[i], '/');
		size_t alen = slash ? (size_t)(slash - v[i]) : strlen(v[i]);
		struct in6_addr a6;
		struct in_addr a4;
		char *end = NULL;
		long bits = 32;

		snprintf(field, sizeof(field), "destinationSubnets[%zu]", i);
		if (alen >= sizeof(ip)) {
			ret = k8s_dec_err(d, field, "\"%s\" is not an address or CIDR", v[i]);
			continue;
		}
		memcpy(ip, v[i], alen);
		ip[alen] = '\0';
		if (slash) {
			bits = strtol(slash + 1, &end, 10);
			if (!slash[1] || *end || bits < 0 || bits > 128)
				bits = -1;
		}
		if (inet_pton(AF_INET6, ip, &a6) == 1 && bits >= 0) {
			k8s_dec_warn(d, field, "IPv6 subnet never matches: the mesh is IPv4");
			out[m->nsubnets].mask = 0xffffffff; /* no IPv4 address can match */
			out[m->nsubnets++].addr = 0xffffffff;
			continue;
		}
		if (inet_pton(AF_INET, ip, &a4) != 1 || bits < 0 || bits > 32) {
			ret = k8s_dec_err(d, field, "\"%s\" is not an address or CIDR", v[i]);
			continue;
		}
		out[m->nsubnets].mask = bits ? htonl(0xffffffffu << (32 - bits)) : 0;
		out[m->nsubnets].addr = a4.s_addr & out[m->nsubnets].mask;
		m->nsubnets++;
	}
	m->subnets = out;
	return ret;
}

/*
 * One match[] item of tls[] (L4MatchAttributes with sniHosts) into the istio_tls_match at
 * <elem>. gateways names gateways; weir serves mesh traffic, where it does not apply.
 */
static int vs_tls_match(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	static const char *const known[] = {"port",	"destinationSubnets", "sourceLabels",
					    "gateways", "sourceNamespace",    "sniHosts",
					    NULL};
	struct istio_tls_match *m = elem;
	char field[40];
	size_t i;
	int err;

	(void)vec;
	err = istio_keys(d, it, known, NULL);
	if (k8s_dec_get(d, it, "gateways"))
		k8s_dec_warn(d, "gateways", "ignored: weir applies tls[] routes to mesh traffic");
	err = k8s_dec_worst(err, k8s_dec_port(d, it, "port", false, &m->port));
	err = k8s_dec_worst(err, istio_dec_strs(d, it, "sniHosts", &m->sni, &m->nsni));
	err = k8s_dec_worst(err, vs_subnets(d, it, m));
	err = k8s_dec_worst(
	    err, k8s_dec_kv(d, it, "sourceLabels", &m->source_labels, &m->nsource_labels));
	err = k8s_dec_worst(err, k8s_dec_str(d, it, "sourceNamespace", &m->source_ns));
	if (!err && !m->nsni)
		return k8s_dec_err(d, "sniHosts", "required");
	for (i = 0; !err && i < m->nsni; i++) {
		const char *h = m->sni[i];

		snprintf(field, sizeof(field), "sniHosts[%zu]", i);
		if (!strcmp(h, "*"))
			continue;
		if (!strncmp(h, "*.", 2))
			h += 2;
		if (!k8s_dec_dns_subdomain(h))
			err = k8s_dec_err(d, field, "\"%s\" is not a host name", m->sni[i]);
	}
	return err;
}

/* RouteDestination of tcp[] and tls[]: destination and weight. */
static int vs_l4_dest(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	static const char *const known[] = {"destination", "weight", NULL};
	struct istio_dest *dst = elem;
	int err;

	(void)vec;
	err = istio_keys(d, it, known, NULL);
	if (!k8s_dec_get(d, it, "destination"))
		err = k8s_dec_err(d, "destination", "required");
	err = k8s_dec_worst(err, k8s_dec_sub(d, it, "destination", dst, dec_destination));
	err = k8s_dec_worst(err, dec_weight(d, it, dst));
	return err;
}

/* One tcp[] or tls[] entry (vec->arg non-NULL for tls). */
static int vs_l4(struct k8s_dec *d, yaml_node_t *it, void *elem, struct k8s_dec_vec *vec)
{
	static const char *const known[] = {"match", "route", NULL};
	struct k8s_dec_vec mv = {.size = sizeof(uint16_t)};
	struct k8s_dec_vec sv = {.size = sizeof(struct istio_tls_match)};
	struct istio_l4 *l = elem;
	int err;

	err = istio_keys(d, it, known, NULL);
	if (vec->arg) {
		/* tls[]: every match is kept, its port with the other conditions. */
		err = k8s_dec_worst(err, k8s_dec_each(d, it, "match", &sv, vs_tls_match));
		l->tls = sv.v;
		l->ntls = sv.n;
		if (!err && !l->ntls)
			err = k8s_dec_err(d, "match", "required (with sniHosts)");
	} else {
		err = k8s_dec_worst(err, k8s_dec_each(d, it, "match", &mv, vs_tcp_match));
		l->ports = mv.v;
		l->nports = mv.n;
	}
	err = k8s_dec_worst(err, dec_dests(d, it, vs_l4_dest, &l->dests, &l->ndests));
	if (!err && !l->ndests)
		err = k8s_dec_err(d, "route", "required");
	return err;
}

/*
 * Checks the <n> exportTo values at <v>: ".", "*", "~" (Istio: exported nowhere) or a
 * namespace name, each reported at its index. Returns 0 or -EINVAL.
 */
int istio_check_export(struct k8s_dec *d, const char *const *v, size_t n)
{
	char field[40];
	size_t i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		if (!strcmp(v[i], ".") || !strcmp(v[i], "*") || !strcmp(v[i], "~") ||
		    k8s_dec_dns_label(v[i], strlen(v[i])))
			continue;
		snprintf(field, sizeof(field), "exportTo[%zu]", i);
		ret =
		    k8s_dec_err(d, field, "\"%s\" is not \".\", \"*\", \"~\" or a namespace", v[i]);
	}
	return ret;
}

/* Hosts are DNS names, optionally with a leading "*." wildcard, or "*". */
static int check_hosts(struct k8s_dec *d, const char *const *hosts, size_t n)
{
	char field[40];
	size_t i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		const char *h = hosts[i];

		snprintf(field, sizeof(field), "hosts[%zu]", i);
		if (!strcmp(h, "*"))
			continue;
		if (!strncmp(h, "*.", 2))
			h += 2;
		if (!k8s_dec_dns_subdomain(h))
			ret = k8s_dec_err(d, field, "\"%s\" is not a host name", hosts[i]);
	}
	return ret;
}

/*
 * networking.istio.io VirtualService: one row of the kind table (see struct k8s_kind).
 * Decodes <root> into <o>->vs.
 */
int k8s_istio_virtualservice(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
{
	static const char *const top[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
	static const char *const known[] = {"hosts", "gateways", "http", "tcp",
					    "tls",   "exportTo", NULL};
	struct k8s_dec_vec hv = {.size = sizeof(struct istio_http)};
	struct k8s_dec_vec tv = {.size = sizeof(struct istio_l4)};
	struct k8s_dec_vec sv = {.size = sizeof(struct istio_l4), .arg = "tls"};
	struct istio_vs *vs;
	yaml_node_t *spec;
	size_t old;
	int err;

	vs = arena_alloc(d->a, sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	o->vs = vs;
	err = istio_keys(d, root, top, NULL);
	err = k8s_dec_worst(err, k8s_dec_map(d, root, "spec", &spec));
	if (err == -ENOMEM)
		return err;
	if (!spec)
		return k8s_dec_err(d, "spec", "required");
	old = k8s_dec_push(d, "spec");
	err = k8s_dec_worst(err, istio_keys(d, spec, known, NULL));
	err = k8s_dec_worst(err, istio_dec_strs(d, spec, "hosts", &vs->hosts, &vs->nhosts));
	err =
	    k8s_dec_worst(err, istio_dec_strs(d, spec, "gateways", &vs->gateways, &vs->ngateways));
	err = k8s_dec_worst(err,
			    istio_dec_strs(d, spec, "exportTo", &vs->export_to, &vs->nexport_to));
	err = k8s_dec_worst(err, istio_check_export(d, vs->export_to, vs->nexport_to));
	if (!vs->nhosts && !err)
		err = k8s_dec_err(d, "hosts", "at least one host is required");
	err = k8s_dec_worst(err, check_hosts(d, vs->hosts, vs->nhosts));
	err = k8s_dec_worst(err, k8s_dec_each(d, spec, "http", &hv, vs_http));
	vs->http = hv.v;
	vs->nhttp = hv.n;
	err = k8s_dec_worst(err, k8s_dec_each(d, spec, "tcp", &tv, vs_l4));
	vs->tcp = tv.v;
	vs->ntcp = tv.n;
	err = k8s_dec_worst(err, k8s_dec_each(d, spec, "tls", &sv, vs_l4));
	vs->tls = sv.v;
	vs->ntls = sv.n;
	k8s_dec_pop(d, old);
	return err;
}
