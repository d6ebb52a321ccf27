// SPDX-License-Identifier: Apache-2.0
/*
 * Decodes Kubernetes YAML/JSON into the typed objects of k8s.h. libyaml loads each document
 * into a node tree; the kind table below picks a decoder per (group, kind). Every problem
 * is reported with the source, the object (kind ns/name) and the field path, and decoding
 * goes on so that one run shows the user every mistake in a file, not just the first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include <weir/service.h>

#include "arena.h"
#include "k8s.h"
#include "log.h"

#define K8S_MOD "config"

/* A decoder returns this (> 0) when an object is to be ignored with a warning already given. */
#define K8S_SKIP 1

/* The state of one decode run; <path> is the field path of the node being decoded. */
struct k8s_dec {
	struct arena *a;
	const char *source;
	yaml_document_t *doc;
	struct k8s_result *res;
	const char *kind; /* the object being decoded, for messages; NULL between objects */
	const char *ns;
	const char *name;
	char path[256];
	size_t plen;
};

/* --- messages ------------------------------------------------------------------------- */

static void dec_report(struct k8s_dec *d, enum log_level level, const char *field, const char *fmt,
		       va_list ap) __attribute__((format(printf, 4, 0)));

/*
 * One message: "<source>: <Kind> <ns>/<name>: <path>.<field>: <text>". The first error and
 * first warning are kept in the result for callers that show them (admin API, tests).
 */
static void dec_report(struct k8s_dec *d, enum log_level level, const char *field, const char *fmt,
		       va_list ap)
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

static int dec_err(struct k8s_dec *d, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports an error at <field> below the current path; returns -EINVAL for the caller. */
static int dec_err(struct k8s_dec *d, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dec_report(d, LOG_ERR, field, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void dec_warn(struct k8s_dec *d, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void dec_warn(struct k8s_dec *d, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dec_report(d, LOG_WARN, field, fmt, ap);
	va_end(ap);
}

/* Appends ".<seg>" (or "<seg>" at the top) to the path; returns the length to restore. */
static size_t dec_push(struct k8s_dec *d, const char *seg)
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
static size_t dec_push_idx(struct k8s_dec *d, size_t i)
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

static void dec_pop(struct k8s_dec *d, size_t old)
{
	d->plen = old;
	d->path[old] = '\0';
}

/* --- nodes ---------------------------------------------------------------------------- */

static const char *scal(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* YAML's null: an absent value is treated like an absent key everywhere. */
static bool node_null(const yaml_node_t *n)
{
	const char *v;

	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = scal(n);
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static const char *node_type_name(const yaml_node_t *n)
{
	switch (n->type) {
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

/* The value of <key> in mapping <map>, NULL when absent or null. */
static yaml_node_t *map_get(struct k8s_dec *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d->doc, p->key);
		yaml_node_t *v;

		if (!k || k->type != YAML_SCALAR_NODE || strcmp(scal(k), key))
			continue;
		v = yaml_document_get_node(d->doc, p->value);
		return node_null(v) ? NULL : v;
	}
	return NULL;
}

/* Item <i> of sequence <seq>. */
static yaml_node_t *seq_item(struct k8s_dec *d, yaml_node_t *seq, size_t i)
{
	return yaml_document_get_node(d->doc, seq->data.sequence.items.start[i]);
}

static size_t seq_len(const yaml_node_t *seq)
{
	return seq ? (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start) : 0;
}

/* <key> of <map> when it is a mapping (or absent: *<out> NULL); error otherwise. */
static int get_map(struct k8s_dec *d, yaml_node_t *map, const char *key, yaml_node_t **out)
{
	yaml_node_t *v = map_get(d, map, key);

	*out = NULL;
	if (!v)
		return 0;
	if (v->type != YAML_MAPPING_NODE)
		return dec_err(d, key, "expected a mapping, found %s", node_type_name(v));
	*out = v;
	return 0;
}

/* <key> of <map> when it is a list (or absent: *<out> NULL); error otherwise. */
static int get_seq(struct k8s_dec *d, yaml_node_t *map, const char *key, yaml_node_t **out)
{
	yaml_node_t *v = map_get(d, map, key);

	*out = NULL;
	if (!v)
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return dec_err(d, key, "expected a list, found %s", node_type_name(v));
	*out = v;
	return 0;
}

/* Scalar <key> of <map> copied into the arena (absent: *<out> NULL). */
static int get_str(struct k8s_dec *d, yaml_node_t *map, const char *key, const char **out)
{
	yaml_node_t *v = map_get(d, map, key);

	*out = NULL;
	if (!v)
		return 0;
	if (v->type != YAML_SCALAR_NODE)
		return dec_err(d, key, "expected a string, found %s", node_type_name(v));
	*out = arena_strdup(d->a, scal(v));
	return *out ? 0 : -ENOMEM;
}

/* Boolean <key> of <map>, <dflt> when absent. YAML 1.1 spellings are what kubectl accepts. */
static int get_bool(struct k8s_dec *d, yaml_node_t *map, const char *key, bool dflt, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "On"};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "off", "Off"};
	yaml_node_t *v = map_get(d, map, key);
	size_t i;

	*out = dflt;
	if (!v)
		return 0;
	if (v->type == YAML_SCALAR_NODE) {
		for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
			if (!strcmp(scal(v), yes[i])) {
				*out = true;
				return 0;
			}
			if (!strcmp(scal(v), no[i])) {
				*out = false;
				return 0;
			}
		}
		return dec_err(d, key, "\"%s\" is not a boolean (true or false)", scal(v));
	}
	return dec_err(d, key, "expected a boolean, found %s", node_type_name(v));
}

/* Parses a decimal integer in [<min>, <max>]; false when <s> is anything else. */
static bool parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
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
static int get_port(struct k8s_dec *d, yaml_node_t *map, const char *key, bool required,
		    uint16_t *out)
{
	yaml_node_t *v = map_get(d, map, key);
	unsigned long port;

	*out = 0;
	if (!v)
		return required ? dec_err(d, key, "required") : 0;
	if (v->type != YAML_SCALAR_NODE)
		return dec_err(d, key, "expected a port number, found %s", node_type_name(v));
	if (!parse_uint(scal(v), 1, 65535, &port))
		return dec_err(d, key, "%s is not a port (1-65535)", scal(v));
	*out = (uint16_t)port;
	return 0;
}

/*
 * Protocol <key> of <map> (TCP when absent). SCTP is valid Kubernetes but weir does not
 * carry it: *<skip> is set and a warning given, so the port is dropped, not the file.
 */
static int get_proto(struct k8s_dec *d, yaml_node_t *map, const char *key, uint8_t *out, bool *skip)
{
	const char *p;
	int err;

	*out = IPPROTO_TCP;
	*skip = false;
	err = get_str(d, map, key, &p);
	if (err || !p)
		return err;
	if (!strcmp(p, "TCP"))
		return 0;
	if (!strcmp(p, "UDP")) {
		*out = IPPROTO_UDP;
		return 0;
	}
	if (!strcmp(p, "SCTP")) {
		dec_warn(d, key, "SCTP is not supported, port ignored");
		*skip = true;
		return 0;
	}
	return dec_err(d, key, "\"%s\" is not a protocol (TCP, UDP, SCTP)", p);
}

/*
 * Parses address <s> found at <field>. Returns 1 with *<ip> set (network order), 0 for an
 * IPv6 address (warned and to be skipped: weir is IPv4 for now), -EINVAL when invalid.
 */
static int parse_ip(struct k8s_dec *d, const char *field, const char *s, uint32_t *ip)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		*ip = a4.s_addr;
		return 1;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		dec_warn(d, field, "IPv6 address %s skipped (weir is IPv4 only)", s);
		return 0;
	}
	return dec_err(d, field, "\"%s\" is not an IP address", s);
}

/* A map of strings (labels, annotations, selector) at <key> of <map>. */
static int get_kv(struct k8s_dec *d, yaml_node_t *map, const char *key, const struct model_kv **out,
		  size_t *nout)
{
	yaml_node_pair_t *p;
	struct model_kv *kv;
	yaml_node_t *m;
	size_t n = 0;
	int err;

	*out = NULL;
	*nout = 0;
	err = get_map(d, map, key, &m);
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
			err = dec_err(d, key, "keys must be strings");
			continue;
		}
		if (v && !node_null(v) && v->type != YAML_SCALAR_NODE) {
			old = dec_push(d, key);
			err = dec_err(d, scal(k), "expected a string, found %s", node_type_name(v));
			dec_pop(d, old);
			continue;
		}
		kv[n].key = arena_strdup(d->a, scal(k));
		kv[n].value = arena_strdup(d->a, node_null(v) ? "" : scal(v));
		if (!kv[n].key || !kv[n].value)
			return -ENOMEM;
		n++;
	}
	*out = kv;
	*nout = n;
	return err;
}

/* --- names ---------------------------------------------------------------------------- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63. */
static bool dns_label_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || len > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return false;
	for (i = 0; i < len; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* RFC 1123 subdomain: dot-separated labels, at most 253 (Pod and Endpoints names). */
static bool dns_subdomain_ok(const char *s)
{
	const char *dot;

	if (!*s || strlen(s) > 253)
		return false;
	for (;;) {
		dot = strchr(s, '.');
		if (!dns_label_ok(s, dot ? (size_t)(dot - s) : strlen(s)))
			return false;
		if (!dot)
			return true;
		s = dot + 1;
	}
}

/* IANA service name, as a named port: at most 15, [a-z0-9-], a letter, no "--" or edges. */
static bool port_name_ok(const char *s)
{
	size_t len = strlen(s), i;
	bool letter = false;

	if (!len || len > 15 || s[0] == '-' || s[len - 1] == '-' || strstr(s, "--"))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		else if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	}
	return letter;
}

/* --- metadata ------------------------------------------------------------------------- */

static int dec_owners(struct k8s_dec *d, yaml_node_t *meta, struct k8s_meta *m)
{
	struct k8s_owner *own;
	yaml_node_t *seq;
	size_t i, old;
	int err, ret = 0;

	err = get_seq(d, meta, "ownerReferences", &seq);
	if (err || !seq)
		return err;
	own = arena_calloc(d->a, seq_len(seq), sizeof(*own));
	if (!own)
		return -ENOMEM;
	old = dec_push(d, "ownerReferences");
	for (i = 0; i < seq_len(seq); i++) {
		yaml_node_t *it = seq_item(d, seq, i);
		size_t o2 = dec_push_idx(d, i);

		if (it->type != YAML_MAPPING_NODE) {
			ret = dec_err(d, NULL, "expected a mapping, found %s", node_type_name(it));
		} else {
			err = get_str(d, it, "kind", &own[i].kind);
			err = err ?: get_str(d, it, "name", &own[i].name);
			err = err ?: get_bool(d, it, "controller", false, &own[i].controller);
			if (!err && (!own[i].kind || !own[i].name))
				err = dec_err(d, NULL, "kind and name are required");
			if (err)
				ret = err;
		}
		dec_pop(d, o2);
		if (ret == -ENOMEM)
			break;
	}
	dec_pop(d, old);
	m->owners = own;
	m->nowners = seq_len(seq);
	return ret;
}

/* metadata of any kind; sets d->ns/d->name first so that later messages name the object. */
static int dec_meta(struct k8s_dec *d, yaml_node_t *root, const struct k8s_kind *k,
		    struct k8s_meta *m)
{
	yaml_node_t *meta, *del;
	size_t old;
	int err, ret = 0;

	err = get_map(d, root, "metadata", &meta);
	if (err)
		return err;
	if (!meta)
		return dec_err(d, "metadata", "required");
	old = dec_push(d, "metadata");
	if ((err = get_str(d, meta, "name", &m->name)) ||
	    (err = get_str(d, meta, "namespace", &m->ns)))
		goto out;
	if (!m->ns)
		m->ns = "default";
	d->ns = m->ns;
	d->name = m->name;
	if (!m->name) {
		ret = dec_err(d, "name", "required");
	} else if (k->id == K8S_SERVICE ? !dns_label_ok(m->name, strlen(m->name)) ||
					      !(m->name[0] >= 'a' && m->name[0] <= 'z')
					: !dns_subdomain_ok(m->name)) {
		ret = dec_err(d, "name", "\"%s\" is not a valid %s name (%s)", m->name, k->kind,
			      k->id == K8S_SERVICE ? "RFC 1035 label: a-z, 0-9, '-', at most 63"
						   : "RFC 1123 subdomain: a-z, 0-9, '-', '.'");
	}
	if (!dns_label_ok(m->ns, strlen(m->ns)))
		ret = dec_err(d, "namespace", "\"%s\" is not a valid namespace", m->ns);
	if ((err = get_kv(d, meta, "labels", &m->labels, &m->nlabels)) ||
	    (err = get_kv(d, meta, "annotations", &m->annotations, &m->nannotations)) ||
	    (err = dec_owners(d, meta, m)))
		goto out;
	del = map_get(d, meta, "deletionTimestamp");
	m->deleting = del != NULL;
out:
	dec_pop(d, old);
	return err ?: ret;
}

/* --- Pod ------------------------------------------------------------------------------ */

static int dec_pod_ports(struct k8s_dec *d, yaml_node_t *spec, struct k8s_pod *pod)
{
	struct k8s_container_port *ports;
	yaml_node_t *cs, *ps;
	size_t i, j, n = 0, cap = 0, old, o2, o3;
	int err, ret = 0;

	err = get_seq(d, spec, "containers", &cs);
	if (err || !cs)
		return err;
	old = dec_push(d, "containers");
	for (i = 0; i < seq_len(cs); i++) {
		yaml_node_t *c = seq_item(d, cs, i);

		ps = map_get(d, c, "ports");
		if (ps && ps->type == YAML_SEQUENCE_NODE)
			cap += seq_len(ps);
	}
	ports = arena_calloc(d->a, cap, sizeof(*ports));
	if (!ports) {
		dec_pop(d, old);
		return -ENOMEM;
	}
	for (i = 0; i < seq_len(cs); i++) {
		yaml_node_t *c = seq_item(d, cs, i);

		o2 = dec_push_idx(d, i);
		if (c->type != YAML_MAPPING_NODE) {
			ret = dec_err(d, NULL, "expected a mapping, found %s", node_type_name(c));
			dec_pop(d, o2);
			continue;
		}
		err = get_seq(d, c, "ports", &ps);
		if (err)
			ret = err;
		o3 = dec_push(d, "ports");
		for (j = 0; ps && j < seq_len(ps) && n < cap; j++) {
			yaml_node_t *p = seq_item(d, ps, j);
			struct k8s_container_port *cp = &ports[n];
			size_t o4 = dec_push_idx(d, j);
			bool skip = false;

			memset(cp, 0, sizeof(*cp)); /* the slot of a skipped port is reused */
			if (p->type != YAML_MAPPING_NODE) {
				ret = dec_err(d, NULL, "expected a mapping, found %s",
					      node_type_name(p));
			} else {
				err = get_str(d, p, "name", &cp->name);
				err = err ?: get_port(d, p, "containerPort", true, &cp->port);
				err = err ?: get_proto(d, p, "protocol", &cp->proto, &skip);
				if (!err && cp->name && !port_name_ok(cp->name))
					err = dec_err(d, "name", "\"%s\" is not a port name",
						      cp->name);
				if (err)
					ret = err;
				else if (!skip)
					n++;
				if (!cp->name)
					cp->name = "";
			}
			dec_pop(d, o4);
			if (ret == -ENOMEM)
				break;
		}
		dec_pop(d, o3);
		dec_pop(d, o2);
	}
	dec_pop(d, old);
	pod->ports = ports;
	pod->nports = n;
	return ret;
}

/* Pod IP: status.podIP, else the first IPv4 of status.podIPs (dual-stack Pods); and
 * status.hostIP. */
static int dec_pod_ip(struct k8s_dec *d, yaml_node_t *status, struct k8s_pod *pod)
{
	yaml_node_t *ips;
	const char *s;
	size_t i, old;
	int err, r;

	/* The node's address: other nodes' agents are told apart from clients outside the
	 * mesh by it. */
	err = get_str(d, status, "hostIP", &s);
	if (err)
		return err;
	if (s && (r = parse_ip(d, "hostIP", s, &pod->host_ip)) < 0)
		return r;
	err = get_str(d, status, "podIP", &s);
	if (err)
		return err;
	if (s && (r = parse_ip(d, "podIP", s, &pod->ip)) != 0) {
		if (r < 0)
			return r;
		pod->ip_str = s;
		return 0;
	}
	err = get_seq(d, status, "podIPs", &ips);
	if (err || !ips)
		return err;
	old = dec_push(d, "podIPs");
	for (i = 0; i < seq_len(ips) && !pod->ip_str; i++) {
		yaml_node_t *it = seq_item(d, ips, i);
		size_t o2 = dec_push_idx(d, i);

		if (it->type != YAML_MAPPING_NODE)
			err = dec_err(d, NULL, "expected a mapping, found %s", node_type_name(it));
		else if (!(err = get_str(d, it, "ip", &s)) && s &&
			 (r = parse_ip(d, "ip", s, &pod->ip)) != 0) {
			if (r < 0)
				err = r;
			else
				pod->ip_str = s;
		}
		dec_pop(d, o2);
		if (err)
			break;
	}
	dec_pop(d, old);
	return err;
}

/* Ready: the Ready condition; a Pod without any condition is taken as ready (hand-written). */
static int dec_pod_ready(struct k8s_dec *d, yaml_node_t *status, struct k8s_pod *pod)
{
	yaml_node_t *conds;
	size_t i;
	int err;

	pod->ready = true;
	err = get_seq(d, status, "conditions", &conds);
	if (err || !seq_len(conds))
		return err;
	pod->ready = false;
	for (i = 0; i < seq_len(conds); i++) {
		yaml_node_t *c = seq_item(d, conds, i), *t, *s;

		t = map_get(d, c, "type");
		s = map_get(d, c, "status");
		if (t && t->type == YAML_SCALAR_NODE && !strcmp(scal(t), "Ready"))
			pod->ready = s && s->type == YAML_SCALAR_NODE && !strcmp(scal(s), "True");
	}
	return 0;
}

/* Validates the weir annotations that apply to Pods. */
static int dec_pod_annotations(struct k8s_dec *d, struct k8s_object *o, struct k8s_pod *pod)
{
	const struct k8s_meta *m = &o->meta;
	unsigned long w;
	const char *v;
	int ret = 0;
	size_t old;

	pod->weight = 1;
	old = dec_push(d, "metadata.annotations");
	v = k8s_kv_get(m->annotations, m->nannotations, "weir.dev/lb-weight");
	if (v) {
		if (parse_uint(v, 0, 65535, &w))
			pod->weight = (uint16_t)w;
		else
			ret = dec_err(d, "[weir.dev/lb-weight]", "\"%s\" is not a weight (0-65535)",
				      v);
	}
	v = k8s_kv_get(m->annotations, m->nannotations, "weir.dev/mesh");
	if (v) {
		if (!strcmp(v, "off"))
			pod->mesh_off = true;
		else if (strcmp(v, "on"))
			ret = dec_err(d, "[weir.dev/mesh]", "\"%s\" is not on or off", v);
	}
	dec_pop(d, old);
	v = k8s_kv_get(m->labels, m->nlabels, "istio.io/dataplane-mode");
	if (v && !strcmp(v, "none"))
		pod->mesh_off = true;
	return ret;
}

static int k8s_decode_pod(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
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
	ret = dec_pod_annotations(d, o, pod);
	if ((err = get_map(d, root, "spec", &spec)) || (err = get_map(d, root, "status", &status)))
		return err;
	old = dec_push(d, "spec");
	if ((err = get_str(d, spec, "nodeName", &pod->node)) ||
	    (err = get_str(d, spec, "serviceAccountName", &pod->sa)) ||
	    (!pod->sa && (err = get_str(d, spec, "serviceAccount", &pod->sa))) ||
	    (err = get_bool(d, spec, "hostNetwork", false, &pod->host_network)) ||
	    (err = dec_pod_ports(d, spec, pod)))
		ret = err;
	if (!pod->sa)
		pod->sa = "default";
	dec_pop(d, old);
	if (ret == -ENOMEM)
		return ret;
	old = dec_push(d, "status");
	if ((err = dec_pod_ip(d, status, pod)) || (err = dec_pod_ready(d, status, pod)) ||
	    (err = get_str(d, status, "phase", &phase)))
		ret = err;
	else
		pod->terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
	dec_pop(d, old);
	return ret;
}

/* --- Service -------------------------------------------------------------------------- */

/* targetPort: a number, or the name of a container port (IntOrString). */
static int dec_target_port(struct k8s_dec *d, yaml_node_t *p, struct k8s_svc_port *sp)
{
	yaml_node_t *v = map_get(d, p, "targetPort");
	unsigned long port;

	sp->target_port = sp->port;
	if (!v)
		return 0;
	if (v->type != YAML_SCALAR_NODE)
		return dec_err(d, "targetPort", "expected a port, found %s", node_type_name(v));
	/* A quoted "8080" is a string to Kubernetes; weir takes it as the number it means. */
	if (parse_uint(scal(v), 0, 65535, &port) ||
	    (scal(v)[0] >= '0' && scal(v)[0] <= '9' &&
	     v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)) {
		if (!parse_uint(scal(v), 1, 65535, &port))
			return dec_err(d, "targetPort", "%s is not a port (1-65535)", scal(v));
		sp->target_port = (uint16_t)port;
		return 0;
	}
	if (!port_name_ok(scal(v)))
		return dec_err(d, "targetPort", "\"%s\" is not a port number or name", scal(v));
	sp->target_name = arena_strdup(d->a, scal(v));
	sp->target_port = 0;
	return sp->target_name ? 0 : -ENOMEM;
}

static int dec_svc_ports(struct k8s_dec *d, yaml_node_t *spec, struct k8s_service *svc)
{
	struct k8s_svc_port *ports;
	yaml_node_t *seq;
	size_t i, j, n = 0, old;
	int err, ret = 0;

	err = get_seq(d, spec, "ports", &seq);
	if (err || !seq)
		return err;
	ports = arena_calloc(d->a, seq_len(seq), sizeof(*ports));
	if (!ports)
		return -ENOMEM;
	old = dec_push(d, "ports");
	for (i = 0; i < seq_len(seq); i++) {
		yaml_node_t *p = seq_item(d, seq, i);
		struct k8s_svc_port *sp = &ports[n];
		size_t o2 = dec_push_idx(d, i);
		bool skip = false;

		memset(sp, 0, sizeof(*sp)); /* the slot of a skipped port is reused */
		if (p->type != YAML_MAPPING_NODE) {
			ret = dec_err(d, NULL, "expected a mapping, found %s", node_type_name(p));
			dec_pop(d, o2);
			continue;
		}
		err = get_str(d, p, "name", &sp->name);
		err = err ?: get_port(d, p, "port", true, &sp->port);
		err = err ?: get_proto(d, p, "protocol", &sp->proto, &skip);
		err = err ?: dec_target_port(d, p, sp);
		err = err ?: get_str(d, p, "appProtocol", &sp->app_proto);
		if (!sp->name)
			sp->name = "";
		if (!err && seq_len(seq) > 1 && !*sp->name)
			err = dec_err(d, "name", "required when a Service has more than one port");
		else if (!err && *sp->name && !dns_label_ok(sp->name, strlen(sp->name)))
			err = dec_err(d, "name", "\"%s\" is not a valid port name", sp->name);
		for (j = 0; !err && j < n; j++)
			if (*sp->name && !strcmp(ports[j].name, sp->name))
				err =
				    dec_err(d, "name", "\"%s\" is used by another port", sp->name);
		dec_pop(d, o2);
		if (err == -ENOMEM) {
			ret = err;
			break;
		}
		if (err)
			ret = err;
		else if (!skip)
			n++;
	}
	dec_pop(d, old);
	svc->ports = ports;
	svc->nports = n;
	return ret;
}

static int k8s_decode_service(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
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
		old = dec_push(d, "metadata.annotations");
		ret = dec_err(d, "[weir.dev/path]", "\"%s\" is not kernel or agent", mode);
		dec_pop(d, old);
	}
	err = get_map(d, root, "spec", &spec);
	if (err)
		return err;
	if (!spec)
		return dec_err(d, "spec", "required");
	old = dec_push(d, "spec");
	if ((err = get_str(d, spec, "type", &svc->type)) ||
	    (err = get_str(d, spec, "clusterIP", &ip)))
		goto out;
	if (!svc->type)
		svc->type = "ClusterIP";
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(svc->type, types[i]))
			break;
	if (i == sizeof(types) / sizeof(types[0]))
		ret = dec_err(d, "type", "\"%s\" is not a Service type", svc->type);
	if (ip && !strcmp(ip, "None"))
		svc->headless = true;
	else if (ip && *ip && parse_ip(d, "clusterIP", ip, &svc->vip) < 0)
		ret = -EINVAL;
	err = get_kv(d, spec, "selector", &svc->selector, &svc->nselector);
	err = err ?: dec_svc_ports(d, spec, svc);
out:
	dec_pop(d, old);
	return err ?: ret;
}

/* --- Endpoints and EndpointSlice ------------------------------------------------------- */

/* targetRef of an address: kept when it names a Pod. */
static int dec_target_ref(struct k8s_dec *d, yaml_node_t *it, const struct k8s_object *o,
			  struct k8s_ep_addr *ad)
{
	const char *kind, *ns;
	yaml_node_t *ref;
	size_t old;
	int err;

	err = get_map(d, it, "targetRef", &ref);
	if (err || !ref)
		return err;
	old = dec_push(d, "targetRef");
	err = get_str(d, ref, "kind", &kind);
	err = err ?: get_str(d, ref, "namespace", &ns);
	err = err ?: get_str(d, ref, "name", &ad->pod_name);
	dec_pop(d, old);
	if (err)
		return err;
	if (!kind || strcmp(kind, "Pod") || !ad->pod_name) {
		ad->pod_name = NULL;
		return 0;
	}
	ad->pod_ns = ns ? ns : o->meta.ns;
	return 0;
}

/* Endpoint ports (subsets[].ports or the slice's ports). */
static int dec_ep_ports(struct k8s_dec *d, yaml_node_t *map, struct k8s_ep_subset *ss)
{
	struct k8s_ep_port *ports;
	yaml_node_t *seq;
	size_t i, n = 0, old;
	int err, ret = 0;

	err = get_seq(d, map, "ports", &seq);
	if (err || !seq)
		return err;
	ports = arena_calloc(d->a, seq_len(seq), sizeof(*ports));
	if (!ports)
		return -ENOMEM;
	old = dec_push(d, "ports");
	for (i = 0; i < seq_len(seq); i++) {
		yaml_node_t *p = seq_item(d, seq, i);
		struct k8s_ep_port *ep = &ports[n];
		size_t o2 = dec_push_idx(d, i);
		bool skip = false;

		memset(ep, 0, sizeof(*ep)); /* the slot of a skipped port is reused */
		if (p->type != YAML_MAPPING_NODE) {
			err = dec_err(d, NULL, "expected a mapping, found %s", node_type_name(p));
		} else {
			err = get_str(d, p, "name", &ep->name);
			err = err ?: get_port(d, p, "port", true, &ep->port);
			err = err ?: get_proto(d, p, "protocol", &ep->proto, &skip);
		}
		if (!ep->name)
			ep->name = "";
		dec_pop(d, o2);
		if (err)
			ret = err;
		else if (!skip)
			n++;
		if (err == -ENOMEM)
			break;
	}
	dec_pop(d, old);
	ss->ports = ports;
	ss->nports = n;
	return ret;
}

/* Appends subsets[].addresses (or notReadyAddresses) at <key> to <ss>. */
static int dec_ep_addrs(struct k8s_dec *d, yaml_node_t *map, const char *key, bool ready,
			const struct k8s_object *o, struct k8s_ep_addr *addrs, size_t *n)
{
	yaml_node_t *seq;
	size_t i, old;
	int err, ret = 0;

	err = get_seq(d, map, key, &seq);
	if (err || !seq)
		return err;
	old = dec_push(d, key);
	for (i = 0; i < seq_len(seq); i++) {
		yaml_node_t *it = seq_item(d, seq, i);
		struct k8s_ep_addr *ad = &addrs[*n];
		size_t o2 = dec_push_idx(d, i);
		const char *ip = NULL;
		int r = 0;

		memset(ad, 0, sizeof(*ad)); /* the slot of a skipped address is reused */
		if (it->type != YAML_MAPPING_NODE) {
			err = dec_err(d, NULL, "expected a mapping, found %s", node_type_name(it));
		} else {
			err = get_str(d, it, "ip", &ip);
			if (!err && !ip)
				err = dec_err(d, "ip", "required");
			if (!err && (r = parse_ip(d, "ip", ip, &ad->ip)) < 0)
				err = r;
			err = err ?: dec_target_ref(d, it, o, ad);
		}
		dec_pop(d, o2);
		if (err) {
			ret = err;
			if (err == -ENOMEM)
				break;
		} else if (r > 0) {
			ad->ready = ready;
			(*n)++;
		}
	}
	dec_pop(d, old);
	return ret;
}

static int k8s_decode_endpoints(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
{
	struct k8s_ep_subset *subsets;
	struct k8s_endpoints *eps;
	yaml_node_t *seq, *a, *na;
	size_t i, old;
	int err, ret = 0;

	eps = arena_alloc(d->a, sizeof(*eps));
	if (!eps)
		return -ENOMEM;
	o->eps = eps;
	eps->service = o->meta.name;
	err = get_seq(d, root, "subsets", &seq);
	if (err || !seq)
		return err;
	subsets = arena_calloc(d->a, seq_len(seq), sizeof(*subsets));
	if (!subsets)
		return -ENOMEM;
	old = dec_push(d, "subsets");
	for (i = 0; i < seq_len(seq); i++) {
		yaml_node_t *it = seq_item(d, seq, i);
		struct k8s_ep_subset *ss = &subsets[i];
		struct k8s_ep_addr *addrs;
		size_t o2 = dec_push_idx(d, i), n = 0;

		if (it->type != YAML_MAPPING_NODE) {
			ret = dec_err(d, NULL, "expected a mapping, found %s", node_type_name(it));
			dec_pop(d, o2);
			continue;
		}
		if ((err = get_seq(d, it, "addresses", &a)) ||
		    (err = get_seq(d, it, "notReadyAddresses", &na))) {
			ret = err;
			dec_pop(d, o2);
			continue;
		}
		addrs = arena_calloc(d->a, seq_len(a) + seq_len(na), sizeof(*addrs));
		if (!addrs) {
			ret = -ENOMEM;
			break;
		}
		if ((err = dec_ep_addrs(d, it, "addresses", true, o, addrs, &n)))
			ret = err;
		if (err != -ENOMEM &&
		    (err = dec_ep_addrs(d, it, "notReadyAddresses", false, o, addrs, &n)))
			ret = err;
		ss->addrs = addrs;
		ss->naddrs = n;
		if (ret != -ENOMEM && (err = dec_ep_ports(d, it, ss)))
			ret = err;
		dec_pop(d, o2);
		if (ret == -ENOMEM)
			break;
	}
	dec_pop(d, old);
	eps->subsets = subsets;
	eps->nsubsets = seq_len(seq);
	return ret;
}

/* One endpoints[] item of a slice: its first address counts (the API says they are fungible). */
static int dec_slice_endpoint(struct k8s_dec *d, yaml_node_t *it, const struct k8s_object *o,
			      struct k8s_ep_addr *ad)
{
	yaml_node_t *addrs, *first, *conds;
	int err, r;

	if (it->type != YAML_MAPPING_NODE)
		return dec_err(d, NULL, "expected a mapping, found %s", node_type_name(it));
	err = get_seq(d, it, "addresses", &addrs);
	if (err)
		return err;
	if (!seq_len(addrs))
		return dec_err(d, "addresses", "at least one address is required");
	first = seq_item(d, addrs, 0);
	if (first->type != YAML_SCALAR_NODE)
		return dec_err(d, "addresses[0]", "expected an address, found %s",
			       node_type_name(first));
	r = parse_ip(d, "addresses[0]", scal(first), &ad->ip);
	if (r <= 0)
		return r;
	err = get_map(d, it, "conditions", &conds);
	if (!err) {
		size_t old = dec_push(d, "conditions");

		/* An absent ready condition means unknown, which consumers take as ready. */
		err = get_bool(d, conds, "ready", true, &ad->ready);
		dec_pop(d, old);
	}
	err = err ?: dec_target_ref(d, it, o, ad);
	return err ?: 1;
}

static int k8s_decode_endpointslice(struct k8s_dec *d, yaml_node_t *root, struct k8s_object *o)
{
	struct k8s_ep_subset *ss;
	struct k8s_endpoints *eps;
	struct k8s_ep_addr *addrs;
	const char *type;
	yaml_node_t *seq;
	size_t i, n = 0, old;
	int err, ret = 0;

	eps = arena_alloc(d->a, sizeof(*eps));
	ss = arena_alloc(d->a, sizeof(*ss));
	if (!eps || !ss)
		return -ENOMEM;
	o->eps = eps;
	eps->subsets = ss;
	eps->nsubsets = 1;
	err = get_str(d, root, "addressType", &type);
	if (err)
		return err;
	if (!type)
		return dec_err(d, "addressType", "required");
	if (strcmp(type, "IPv4")) {
		dec_warn(d, "addressType", "%s is not supported (weir is IPv4 only): slice ignored",
			 type);
		return K8S_SKIP;
	}
	eps->service = k8s_kv_get(o->meta.labels, o->meta.nlabels, "kubernetes.io/service-name");
	if (!eps->service) {
		dec_warn(d, "metadata.labels",
			 "no kubernetes.io/service-name label: slice ignored");
		return K8S_SKIP;
	}
	err = get_seq(d, root, "endpoints", &seq);
	if (err)
		return err;
	addrs = arena_calloc(d->a, seq_len(seq), sizeof(*addrs));
	if (!addrs)
		return -ENOMEM;
	old = dec_push(d, "endpoints");
	for (i = 0; i < seq_len(seq); i++) {
		size_t o2 = dec_push_idx(d, i);

		err = dec_slice_endpoint(d, seq_item(d, seq, i), o, &addrs[n]);
		dec_pop(d, o2);
		if (err > 0)
			n++;
		else if (err < 0)
			ret = err;
		if (err == -ENOMEM)
			break;
	}
	dec_pop(d, old);
	ss->addrs = addrs;
	ss->naddrs = n;
	if (ret != -ENOMEM && (err = dec_ep_ports(d, root, ss)))
		ret = err;
	return ret;
}

/* --- the kind table ------------------------------------------------------------------- */

/*
 * One row per kind. To add an Istio kind: a K8S_* id, a struct for its body in k8s.h, a
 * decoder here and its row, e.g. { K8S_VIRTUALSERVICE, "networking.istio.io",
 * "v1 v1beta1 v1alpha3", "VirtualService", k8s_decode_virtualservice }.
 */
static const struct k8s_kind k8s_kinds[K8S_KIND_MAX] = {
    [K8S_POD] = {K8S_POD, "", "v1", "Pod", k8s_decode_pod},
    [K8S_SERVICE] = {K8S_SERVICE, "", "v1", "Service", k8s_decode_service},
    [K8S_ENDPOINTS] = {K8S_ENDPOINTS, "", "v1", "Endpoints", k8s_decode_endpoints},
    [K8S_ENDPOINTSLICE] = {K8S_ENDPOINTSLICE, "discovery.k8s.io", "v1 v1beta1", "EndpointSlice",
			   k8s_decode_endpointslice},
};

const struct k8s_kind *k8s_kind_get(enum k8s_kind_id id)
{
	return id < K8S_KIND_MAX ? &k8s_kinds[id] : NULL;
}

/* True when the space-separated <list> holds <word>. */
static bool word_in(const char *list, const char *word)
{
	size_t len = strlen(word);
	const char *p = list;

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

static int dec_object(struct k8s_dec *d, yaml_node_t *root, struct k8s_objvec *out);

/* One document or List item: a List recurses into its items. */
static int dec_node(struct k8s_dec *d, yaml_node_t *root, struct k8s_objvec *out)
{
	yaml_node_t *kind, *items;
	size_t i, len, old;
	int err, ret = 0;

	if (root->type != YAML_MAPPING_NODE)
		return dec_err(d, NULL, "expected a Kubernetes object (a mapping), found %s",
			       node_type_name(root));
	kind = map_get(d, root, "kind");
	if (kind && kind->type == YAML_SCALAR_NODE) {
		len = strlen(scal(kind));
		/* "List" (kubectl) and "<Kind>List" (API list responses) hold items. */
		if (len >= 4 && !strcmp(scal(kind) + len - 4, "List")) {
			err = get_seq(d, root, "items", &items);
			if (err || !items)
				return err;
			old = dec_push(d, "items");
			for (i = 0; i < seq_len(items); i++) {
				size_t o2 = dec_push_idx(d, i);

				err = dec_node(d, seq_item(d, items, i), out);
				dec_pop(d, o2);
				if (err)
					ret = err;
				if (err == -ENOMEM)
					break;
			}
			dec_pop(d, old);
			return ret;
		}
	}
	return dec_object(d, root, out);
}

static int dec_object(struct k8s_dec *d, yaml_node_t *root, struct k8s_objvec *out)
{
	const struct k8s_kind *k;
	const char *api, *kind;
	struct k8s_object o = {0};
	size_t old = d->plen;
	char outer[sizeof(d->path)];
	bool bad_version;
	int err, e2;

	err = get_str(d, root, "apiVersion", &api);
	err = err ?: get_str(d, root, "kind", &kind);
	if (err)
		return err;
	if (!kind || !api)
		return dec_err(d, kind ? "apiVersion" : "kind", "required");
	k = kind_find(api, kind, &bad_version);
	if (!k) {
		if (bad_version)
			dec_warn(d, NULL, "ignoring %s: apiVersion %s is not supported", kind, api);
		else
			dec_warn(d, NULL, "ignoring unknown kind %s (apiVersion %s)", kind, api);
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
	err = dec_meta(d, root, k, &o.meta);
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
			ret = dec_err(d, NULL,
				      "YAML alias at line %zu column %zu: aliases are not "
				      "supported",
				      ev.start_mark.line + 1, ev.start_mark.column + 1);
		} else if (ev.type == YAML_SEQUENCE_START_EVENT ||
			   ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > K8S_MAX_DEPTH)
				ret = dec_err(d, NULL,
					      "line %zu column %zu: nested deeper than %u levels",
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
				dec_err(&d, NULL,
					"YAML syntax error at line %zu column %zu: %s "
					"(%s started at line %zu column %zu)",
					parser.problem_mark.line + 1,
					parser.problem_mark.column + 1,
					parser.problem ? parser.problem : "invalid YAML",
					parser.context, parser.context_mark.line + 1,
					parser.context_mark.column + 1);
			else
				dec_err(&d, NULL, "YAML syntax error at line %zu column %zu: %s",
					parser.problem_mark.line + 1,
					parser.problem_mark.column + 1,
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
		err = node_null(root) ? 0 : dec_node(&d, root, &vec);
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

const char *k8s_kv_get(const struct model_kv *kv, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return NULL;
}

bool k8s_same_object(const struct k8s_object *a, const struct k8s_object *b)
{
	return a->kind == b->kind && !strcmp(a->meta.ns, b->meta.ns) &&
	       !strcmp(a->meta.name, b->meta.name);
}
