/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The private toolkit of the Kubernetes decoders (k8s.c, k8s_core.c, and the Istio kinds to
 * come): the state of one decode run, field paths, error and warning messages, typed getters
 * over libyaml nodes, and k8s_dec_each() for the ubiquitous "list of mappings at <key>".
 * Nothing here is for callers outside the k8s_* files; they use k8s.h.
 */
#ifndef WEIR_USER_K8S_DEC_H
#define WEIR_USER_K8S_DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config/k8s.h"

/* A kind decoder returns this (> 0) when an object is to be ignored with a warning already
 * given. */
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

/* --- messages and paths ----------------------------------------------------------------- */

/*
 * Reports an error at <field> (NULL: the current path itself) below the current path of <d>:
 * "<source>: <Kind> <ns>/<name>: <path>.<field>: <text>", counted in the result, the first one
 * kept there, and logged. Returns -EINVAL for the caller to pass on.
 */
int k8s_dec_err(struct k8s_dec *d, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports a warning at <field> as k8s_dec_err() does an error. */
void k8s_dec_warn(struct k8s_dec *d, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends ".<seg>" (or "<seg>" at the top) to the path of <d>; returns the length to give
 * k8s_dec_pop(). */
size_t k8s_dec_push(struct k8s_dec *d, const char *seg);

/* Appends "[<i>]" to the path of <d>; returns the length to give k8s_dec_pop(). */
size_t k8s_dec_push_idx(struct k8s_dec *d, size_t i);

/* Cuts the path of <d> back to length <old>. */
void k8s_dec_pop(struct k8s_dec *d, size_t old);

/* --- nodes ------------------------------------------------------------------------------ */

/* The text of scalar node <n>. */
static inline const char *k8s_dec_scal(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* Item <i> of sequence node <seq> of the document being decoded by <d>. */
static inline yaml_node_t *k8s_dec_item(struct k8s_dec *d, yaml_node_t *seq, size_t i)
{
	return yaml_document_get_node(d->doc, seq->data.sequence.items.start[i]);
}

/* The number of items of sequence node <seq>; 0 for NULL. */
static inline size_t k8s_dec_len(const yaml_node_t *seq)
{
	return seq ? (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start) : 0;
}

/* True when <n> is absent or YAML's null: treated like an absent key everywhere. */
bool k8s_dec_null(const yaml_node_t *n);

/* "a scalar", "a list", "a mapping": what node <n> is, for messages. */
const char *k8s_dec_type_name(const yaml_node_t *n);

/* The value of <key> in mapping <map> (anything else: NULL), NULL when absent or null. */
yaml_node_t *k8s_dec_get(struct k8s_dec *d, yaml_node_t *map, const char *key);

/* --- typed fields ----------------------------------------------------------------------- */
/*
 * Each getter reads <key> of mapping <map> into *<out> and returns 0, -EINVAL (reported at
 * <key>) or -ENOMEM. An absent or null key is not an error unless said otherwise.
 */

/* A mapping (absent: *<out> NULL). */
int k8s_dec_map(struct k8s_dec *d, yaml_node_t *map, const char *key, yaml_node_t **out);

/* A list (absent: *<out> NULL). */
int k8s_dec_seq(struct k8s_dec *d, yaml_node_t *map, const char *key, yaml_node_t **out);

/* A string, copied into the arena (absent: *<out> NULL). */
int k8s_dec_str(struct k8s_dec *d, yaml_node_t *map, const char *key, const char **out);

/* A boolean in the YAML 1.1 spellings kubectl accepts; <dflt> when absent. */
int k8s_dec_bool(struct k8s_dec *d, yaml_node_t *map, const char *key, bool dflt, bool *out);

/* A port number 1-65535 (absent: 0); <required> makes absence an error. */
int k8s_dec_port(struct k8s_dec *d, yaml_node_t *map, const char *key, bool required,
		 uint16_t *out);

/*
 * A protocol: IPPROTO_TCP (also when absent) or IPPROTO_UDP. SCTP is valid Kubernetes that
 * weir does not carry: *<skip> is set and a warning given, so the port is dropped, not the file.
 */
int k8s_dec_proto(struct k8s_dec *d, yaml_node_t *map, const char *key, uint8_t *out, bool *skip);

/* A mapping of strings (labels, annotations, selector) into *<out> and *<nout>, in the arena. */
int k8s_dec_kv(struct k8s_dec *d, yaml_node_t *map, const char *key, const struct k8s_kv **out,
	       size_t *nout);

/* Parses decimal <s> in [<min>, <max>] into *<out>; false (nothing reported) otherwise. */
bool k8s_dec_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/*
 * Parses address <s> found at <field>. Returns 1 with *<ip> set (network order), 0 for an
 * IPv6 address (warned, to be skipped: weir is IPv4 for now), -EINVAL (reported) otherwise.
 */
int k8s_dec_ip(struct k8s_dec *d, const char *field, const char *s, uint32_t *ip);

/* --- names ------------------------------------------------------------------------------ */

/* True when the <len> bytes at <s> are an RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63. */
bool k8s_dec_dns_label(const char *s, size_t len);

/* True when <s> is an RFC 1123 subdomain: dot-separated labels, at most 253 (Pod names). */
bool k8s_dec_dns_subdomain(const char *s);

/* True when <s> is an IANA service name, as a named port is: <= 15 of [a-z0-9-], a letter. */
bool k8s_dec_port_name(const char *s);

/* --- lists of mappings ------------------------------------------------------------------ */

/*
 * An item decoder returns 0 (kept), -errno, or one of these: DROP for an item not kept (an
 * IPv6 address, an SCTP port), whose slot the next item reuses; DONE for an item kept after
 * which the rest of the list is not looked at (the first IPv4 of podIPs).
 */
#define K8S_DEC_DROP 1
#define K8S_DEC_DONE 2

/* k8s_dec_vec.flags */
#define K8S_DEC_ANY	  0x1u /* items need not be mappings: the item decoder checks */
#define K8S_DEC_FIRST_ERR 0x2u /* the first bad item ends the list */

/* Where k8s_dec_each() puts the items it keeps, and what the item decoder may look at. */
struct k8s_dec_vec {
	void *v;	/* kept items; NULL: k8s_dec_each() allocates room for the whole list */
	size_t size;	/* of one item; 0: items are decoded but not stored (elem is NULL) */
	size_t n;	/* items kept so far; new ones are appended at v + n * size */
	size_t cap;	/* room at <v>, in items; the list ends early when it is full */
	size_t len;	/* items in the YAML list being decoded (set by k8s_dec_each()) */
	unsigned flags; /* K8S_DEC_ANY, K8S_DEC_FIRST_ERR */
	void *arg;	/* for the item decoder */
};

/*
 * Decodes item <node> of a list into <elem> (zeroed; NULL when <vec> stores nothing); <vec>
 * gives the items kept before it. The path already names the item ("ports[2]").
 */
typedef int k8s_dec_item_fn(struct k8s_dec *d, yaml_node_t *node, void *elem,
			    struct k8s_dec_vec *vec);

/*
 * Decodes each item of the list at <key> of <map> with <fn> into <vec>. An item that is not
 * a mapping is reported ("expected a mapping, found X") unless K8S_DEC_ANY; a bad item does
 * not stop the others (every mistake is shown at once) unless K8S_DEC_FIRST_ERR, but -ENOMEM
 * always does. An absent list is empty and allocates nothing. Returns 0, -ENOMEM, or the last
 * item's error (-EINVAL, reported).
 */
int k8s_dec_each(struct k8s_dec *d, yaml_node_t *map, const char *key, struct k8s_dec_vec *vec,
		 k8s_dec_item_fn *fn);

/*
 * The error to return after decoding one more field: -ENOMEM wins (nothing more can be
 * done), else the first -EINVAL. Decoders carry on after an -EINVAL so that one run reports
 * every mistake of an object.
 */
int k8s_dec_worst(int a, int b);

/*
 * Decodes the mapping at <key> of <map> with <fn>(<d>, mapping, <arg>) under the path
 * extended by <key>; an absent key is nothing to decode. Returns 0 or <fn>'s error.
 */
int k8s_dec_sub(struct k8s_dec *d, yaml_node_t *map, const char *key, void *arg,
		int (*fn)(struct k8s_dec *d, yaml_node_t *m, void *arg));

#endif /* WEIR_USER_K8S_DEC_H */
