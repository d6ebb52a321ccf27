// SPDX-License-Identifier: Apache-2.0
/*
 * The toolkit every Kubernetes kind decoder shares (see k8s_dec.h): messages that name the
 * source, the object and the field path; typed getters over libyaml nodes that report what was
 * wrong; and k8s_dec_each(), the one loop over a list of mappings, so that every list in every
 * kind skips, reports and stops in the same way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/arena.h"
#include "config/k8s_dec.h"
#include "lib/log.h"

#define K8S_MOD "config"

/* --- messages ------------------------------------------------------------------------- */

static void k8s_dec_report(struct k8s_dec *d, enum log_level level, const char *field,
			   const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/*
 * One message: "<source>: <Kind> <ns>/<name>: <path>.<field>: <text>". The first error and
 * first warning are kept in the result for callers that show them (admin API, tests).
 */
static void k8s_dec_report(struct k8s_dec *d, enum log_level level, const char *field,
			   const char *fmt, va_list ap)
{
	char msg[512], text[384];
	size_t n;
	int r;

	vsnprintf(text, sizeof(text), fmt, ap);
	r = snprintf(msg, sizeof(msg), "%s: ", d->source);
	n = r > 0 ? (size_t)r : 0;
	if (d->kind && n < sizeof(msg)) {
		r = snprintf(msg + n, sizeof(msg) - n, "%s %s/%s: ", d->kind,
			     d->ns ? d->ns : "default", d->name ? d->name : "<unnamed>");
		n += r > 0 ? (size_t)r : 0;
	}
	if ((d->plen || field) && n < sizeof(msg)) {
		const char *dot = d->plen && field && field[0] != '[' ? "." : "";

		r = snprintf(msg + n, sizeof(msg) - n, "%s%s%s: ", d->path, dot,
			     field ? field : "");
		n += r > 0 ? (size_t)r : 0;
	}
	if (n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, "%s", text);
	if (level == LOG_ERR) {
		if (!d->res->nerrors++)
			snprintf(d->res->err, sizeof(d->res->err), "%s", msg);
	} else {
		if (!d->res->nwarnings++)
			snprintf(d->res->warn, sizeof(d->res->warn), "%s", msg);
	}
	log_msg(level, K8S_MOD, "%s", msg);
}

/* Reports an error at <field> below the current path; returns -EINVAL for the caller. */
int k8s_dec_err(struct k8s_dec *d, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	k8s_dec_report(d, LOG_ERR, field, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Reports a warning at <field> below the current path. */
void k8s_dec_warn(struct k8s_dec *d, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	k8s_dec_report(d, LOG_WARN, field, fmt, ap);
	va_end(ap);
}

/* Appends ".<seg>" (or "<seg>" at the top) to the path; returns the length to restore. */
size_t k8s_dec_push(struct k8s_dec *d, const char *seg)
{
	size_t old = d->plen;
	int r;

	r = snprintf(d->path + d->plen, sizeof(d->path) - d->plen, "%s%s", d->plen ? "." : "", seg);
	if (r > 0)
		d->plen += (size_t)r;
	if (d->plen >= sizeof(d->path))
		d->plen = sizeof(d->path) - 1; /* truncated path: still a useful message */
	return old;
}

/* Appends "[<i>]" to the path; returns the length to restore. */
size_t k8s_dec_push_idx(struct k8s_dec *d, size_t i)
{
	size_t old = d->plen;
	int r;

	r = snprintf(d->path + d->plen, sizeof(d->path) - d->plen, "[%zu]", i);
	if (r > 0)
		d->plen += (size_t)r;
	if (d->plen >= sizeof(d->path))
		d->plen = sizeof(d->path) - 1;
	return old;
}

/* Cuts the path back to length <old>, from k8s_dec_push() or k8s_dec_push_idx(). */
void k8s_dec_pop(struct k8s_dec *d, size_t old)
{
	d->plen = old;
	d->path[old] = '\0';
}

/* --- nodes ---------------------------------------------------------------------------- */

/* YAML's null: an absent value is treated like an absent key everywhere. */
bool k8s_dec_null(const yaml_node_t *n)
{
	const char *v;

	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = k8s_dec_scal(n);
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static const char *type_name(yaml_node_type_t type)
{
	switch (type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* What node <n> is, for messages. */
const char *k8s_dec_type_name(const yaml_node_t *n)
{
	return type_name(n->type);
}

/* The value of <key> in mapping <map>, NULL when absent or null. */
yaml_node_t *k8s_dec_get(struct k8s_dec *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d->doc, p->key);
		yaml_node_t *v;

		if (!k || k->type != YAML_SCALAR_NODE || strcmp(k8s_dec_scal(k), key))
			continue;
		v = yaml_document_get_node(d->doc, p->value);
		return k8s_dec_null(v) ? NULL : v;
	}
	return NULL;
}

/* <key> of <map> when it is a node of <type> (or absent: *<out> NULL); error otherwise. */
static int get_node(struct k8s_dec *d, yaml_node_t *map, const char *key, yaml_node_type_t type,
		    yaml_node_t **out)
{
	yaml_node_t *v = k8s_dec_get(d, map, key);

	*out = NULL;
	if (!v)
		return 0;
	if (v->type != type)
		return k8s_dec_err(d, key, "expected %s, found %s", type_name(type),
				   k8s_dec_type_name(v));
	*out = v;
	return 0;
}

/* <key> of <map> when it is a mapping (or absent: *<out> NULL); error otherwise. */
int k8s_dec_map(struct k8s_dec *d, yaml_node_t *map, const char *key, yaml_node_t **out)
{
	return get_node(d, map, key, YAML_MAPPING_NODE, out);
}

/* <key> of <map> when it is a list (or absent: *<out> NULL); error otherwise. */
int k8s_dec_seq(struct k8s_dec *d, yaml_node_t *map, const char *key, yaml_node_t **out)
{
	return get_node(d, map, key, YAML_SEQUENCE_NODE, out);
}

/* Scalar <key> of <map> copied into the arena (absent: *<out> NULL). */
int k8s_dec_str(struct k8s_dec *d, yaml_node_t *map, const char *key, const char **out)
{
	yaml_node_t *v = k8s_dec_get(d, map, key);

	*out = NULL;
	if (!v)
		return 0;
	if (v->type != YAML_SCALAR_NODE)
		return k8s_dec_err(d, key, "expected a string, found %s", k8s_dec_type_name(v));
	*out = arena_strdup(d->a, k8s_dec_scal(v));
	return *out ? 0 : -ENOMEM;
}

/* Boolean <key> of <map>, <dflt> when absent. YAML 1.1 spellings are what kubectl accepts. */
int k8s_dec_bool(struct k8s_dec *d, yaml_node_t *map, const char *key, bool dflt, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "On"};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "off", "Off"};
	yaml_node_t *v = k8s_dec_get(d, map, key);
	size_t i;

	*out = dflt;
	if (!v)
		return 0;
	if (v->type == YAML_SCALAR_NODE) {
		for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
			if (!strcmp(k8s_dec_scal(v), yes[i])) {
				*out = true;
				return 0;
			}
			if (!strcmp(k8s_dec_scal(v), no[i])) {
				*out = false;
				return 0;
			}
		}
		return k8s_dec_err(d, key, "\"%s\" is not a boolean (true or false)",
				   k8s_dec_scal(v));
	}
	return k8s_dec_err(d, key, "expected a boolean, found %s", k8s_dec_type_name(v));
}

/* Parses a decimal integer in [<min>, <max>]; false when <s> is anything else. */
bool k8s_dec_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	const char *p;

	if (!*s)
		return false;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max)
			return false;
	}
	if (v < min)
		return false;
	*out = v;
	return true;
}

/* Port <key> of <map>; <required> makes absence an error. */
int k8s_dec_port(struct k8s_dec *d, yaml_node_t *map, const char *key, bool required, uint16_t *out)
{
	yaml_node_t *v = k8s_dec_get(d, map, key);
	unsigned long port;

	*out = 0;
	if (!v)
		return required ? k8s_dec_err(d, key, "required") : 0;
	if (v->type != YAML_SCALAR_NODE)
		return k8s_dec_err(d, key, "expected a port number, found %s",
				   k8s_dec_type_name(v));
	if (!k8s_dec_uint(k8s_dec_scal(v), 1, 65535, &port))
		return k8s_dec_err(d, key, "%s is not a port (1-65535)", k8s_dec_scal(v));
	*out = (uint16_t)port;
	return 0;
}

/*
 * Protocol <key> of <map> (TCP when absent). SCTP is valid Kubernetes but weir does not
 * carry it: *<skip> is set and a warning given, so the port is dropped, not the file.
 */
int k8s_dec_proto(struct k8s_dec *d, yaml_node_t *map, const char *key, uint8_t *out, bool *skip)
{
	const char *p;
	int err;

	*out = IPPROTO_TCP;
	*skip = false;
	err = k8s_dec_str(d, map, key, &p);
	if (err || !p)
		return err;
	if (!strcmp(p, "TCP"))
		return 0;
	if (!strcmp(p, "UDP")) {
		*out = IPPROTO_UDP;
		return 0;
	}
	if (!strcmp(p, "SCTP")) {
		k8s_dec_warn(d, key, "SCTP is not supported, port ignored");
		*skip = true;
		return 0;
	}
	return k8s_dec_err(d, key, "\"%s\" is not a protocol (TCP, UDP, SCTP)", p);
}

/*
 * Parses address <s> found at <field>. Returns 1 with *<ip> set (network order), 0 for an
 * IPv6 address (warned and to be skipped: weir is IPv4 for now), -EINVAL when invalid.
 */
int k8s_dec_ip(struct k8s_dec *d, const char *field, const char *s, uint32_t *ip)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		*ip = a4.s_addr;
		return 1;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		k8s_dec_warn(d, field, "IPv6 address %s skipped (weir is IPv4 only)", s);
		return 0;
	}
	return k8s_dec_err(d, field, "\"%s\" is not an IP address", s);
}

/* A map of strings (labels, annotations, selector) at <key> of <map>. */
int k8s_dec_kv(struct k8s_dec *d, yaml_node_t *map, const char *key, const struct k8s_kv **out,
	       size_t *nout)
{
	yaml_node_pair_t *p;
	struct k8s_kv *kv;
	yaml_node_t *m;
	size_t n = 0;
	int err;

	*out = NULL;
	*nout = 0;
	err = k8s_dec_map(d, map, key, &m);
	if (err || !m)
		return err;
	kv = arena_calloc(d->a, (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start),
			  sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(d->doc, p->value);
		size_t old;

		if (!k || k->type != YAML_SCALAR_NODE) {
			err = k8s_dec_err(d, key, "keys must be strings");
			continue;
		}
		if (v && !k8s_dec_null(v) && v->type != YAML_SCALAR_NODE) {
			old = k8s_dec_push(d, key);
			err = k8s_dec_err(d, k8s_dec_scal(k), "expected a string, found %s",
					  k8s_dec_type_name(v));
			k8s_dec_pop(d, old);
			continue;
		}
		kv[n].key = arena_strdup(d->a, k8s_dec_scal(k));
		kv[n].value = arena_strdup(d->a, k8s_dec_null(v) ? "" : k8s_dec_scal(v));
		if (!kv[n].key || !kv[n].value)
			return -ENOMEM;
		n++;
	}
	*out = kv;
	*nout = n;
	return err;
}

/* --- names ---------------------------------------------------------------------------- */

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63. */
bool k8s_dec_dns_label(const char *s, size_t len)
{
	size_t i;

	if (!len || len > 63 || !lower_alnum(s[0]) || !lower_alnum(s[len - 1]))
		return false;
	for (i = 0; i < len; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* RFC 1123 subdomain: dot-separated labels, at most 253 (Pod and Endpoints names). */
bool k8s_dec_dns_subdomain(const char *s)
{
	const char *dot;

	if (!*s || strlen(s) > 253)
		return false;
	for (;;) {
		dot = strchr(s, '.');
		if (!k8s_dec_dns_label(s, dot ? (size_t)(dot - s) : strlen(s)))
			return false;
		if (!dot)
			return true;
		s = dot + 1;
	}
}

/* IANA service name, as a named port: at most 15, [a-z0-9-], a letter, no "--" or edges. */
bool k8s_dec_port_name(const char *s)
{
	size_t len = strlen(s), i;
	bool letter = false;

	if (!len || len > 15 || s[0] == '-' || s[len - 1] == '-' || strstr(s, "--"))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		else if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	}
	return letter;
}

/* --- lists of mappings ------------------------------------------------------------------ */

/*
 * The one loop over a list: see k8s_dec.h for the contract. <vec>->v is allocated here only
 * when the caller gave no storage, so that one array can also collect several lists (the ports
 * of all containers, a subset's ready and not-ready addresses).
 */
int k8s_dec_each(struct k8s_dec *d, yaml_node_t *map, const char *key, struct k8s_dec_vec *vec,
		 k8s_dec_item_fn *fn)
{
	yaml_node_t *seq;
	size_t i, old;
	int err, ret = 0;

	err = k8s_dec_seq(d, map, key, &seq);
	if (err || !seq)
		return err;
	vec->len = k8s_dec_len(seq);
	if (vec->size && !vec->v) {
		vec->v = arena_calloc(d->a, vec->len, vec->size);
		if (!vec->v)
			return -ENOMEM;
		vec->cap = vec->len;
	}
	old = k8s_dec_push(d, key);
	for (i = 0; i < vec->len && (!vec->size || vec->n < vec->cap); i++) {
		yaml_node_t *it = k8s_dec_item(d, seq, i);
		void *elem = vec->size ? (char *)vec->v + vec->n * vec->size : NULL;
		size_t o2 = k8s_dec_push_idx(d, i);

		if (elem)
			memset(elem, 0, vec->size); /* the slot of a dropped item is reused */
		if (!(vec->flags & K8S_DEC_ANY) && it->type != YAML_MAPPING_NODE)
			err = k8s_dec_err(d, NULL, "expected a mapping, found %s",
					  k8s_dec_type_name(it));
		else
			err = fn(d, it, elem, vec);
		k8s_dec_pop(d, o2);
		if (err < 0) {
			ret = err;
			if (err == -ENOMEM || (vec->flags & K8S_DEC_FIRST_ERR))
				break;
		} else if (err != K8S_DEC_DROP) {
			vec->n++;
			if (err == K8S_DEC_DONE)
				break;
		}
	}
	k8s_dec_pop(d, old);
	return ret;
}

int k8s_dec_worst(int a, int b)
{
	if (a == -ENOMEM || b == -ENOMEM)
		return -ENOMEM;
	return a ? a : b;
}

int k8s_dec_sub(struct k8s_dec *d, yaml_node_t *map, const char *key, void *arg,
		int (*fn)(struct k8s_dec *d, yaml_node_t *m, void *arg))
{
	yaml_node_t *m;
	size_t old;
	int err;

	err = k8s_dec_map(d, map, key, &m);
	if (err || !m)
		return err;
	old = k8s_dec_push(d, key);
	err = fn(d, m, arg);
	k8s_dec_pop(d, old);
	return err;
}
