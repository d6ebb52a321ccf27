// SPDX-License-Identifier: Apache-2.0
/*
 * `weirctl map dump NAME`: every entry of a pinned map. weir's own maps are decoded into
 * named fields by the decoders the nouns use (one decoder per struct; this file only
 * holds those of the structs no noun lists: tuples, original destinations, deny keys);
 * any other map, or a weir map whose sizes do not match this build, prints as hex.
 * The codec table is also the list of the ABI's maps that `status` reports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <bpf/libbpf.h>

#include "ctl.h"

/* How to print one weir map: key and value decoders and the sizes they expect. */
struct map_codec {
	const char *name;
	size_t key_size, value_size;
	json_t *(*key)(const struct ctl_names *names, const void *key);
	/* <len> is what a lookup filled: value_size, or a per-CPU array of slots */
	json_t *(*value)(const struct ctl_names *names, const void *val, size_t len);
};

/* ---- keys ---- */

static json_t *map_key_cookie(const struct ctl_names *names, const void *key)
{
	uint64_t cookie;

	memcpy(&cookie, key, sizeof(cookie));
	return json_pack("{s:o}", "cookie", ctl_json_hex64(cookie));
}

static json_t *map_key_ip(const struct ctl_names *names, const void *key)
{
	uint32_t ip;

	memcpy(&ip, key, sizeof(ip));
	return json_pack("{s:o}", "ip", ctl_json_ip(ip));
}

static json_t *map_key_id(const struct ctl_names *names, const void *key)
{
	uint32_t id;

	memcpy(&id, key, sizeof(id));
	return json_pack("{s:i}", "id", (json_int_t)id);
}

static json_t *map_key_svc(const struct ctl_names *names, const void *key)
{
	return services_json_key(key);
}

static json_t *map_key_edge(const struct ctl_names *names, const void *key)
{
	return edges_json_key(names, key);
}

/* Decoder of struct weir_tuple: {saddr, daddr, sport, dport}, ports host order. */
static json_t *map_key_tuple(const struct ctl_names *names, const void *key)
{
	const struct weir_tuple *t = key;

	return json_pack("{s:o, s:o, s:i, s:i}", "saddr", ctl_json_ip(t->saddr), "daddr",
			 ctl_json_ip(t->daddr), "sport", (json_int_t)ntohs(t->sport), "dport",
			 (json_int_t)ntohs(t->dport));
}

/* Decoder of struct weir_deny_key: the protected workload and the remote prefix. */
static json_t *map_key_deny(const struct ctl_names *names, const void *key)
{
	const struct weir_deny_key *k = key;
	int plen = (int)k->prefixlen - WEIR_DENY_FIXED_BITS;
	char prefix[32], ip[INET_ADDRSTRLEN];
	struct in_addr a = {.s_addr = k->remote};
	json_t *dir;

	if (plen < 0)
		plen = 0;
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	snprintf(prefix, sizeof(prefix), "%s/%d", ip, plen > 32 ? 32 : plen);
	dir = k->dir == WEIR_DIR_EGRESS	   ? json_string("egress")
	      : k->dir == WEIR_DIR_INGRESS ? json_string("ingress")
					   : json_integer(k->dir);
	return json_pack("{s:i, s:o, s:o, s:o, s:i, s:s}", "prefixlen", (json_int_t)k->prefixlen,
			 "workload", ctl_json_workload(names, k->wl_id), "direction", dir,
			 "protocol", ctl_json_proto(k->proto), "port", (json_int_t)ntohs(k->port),
			 "remote", prefix);
}

static json_t *map_key_reason(const struct ctl_names *names, const void *key)
{
	uint32_t slot;

	memcpy(&slot, key, sizeof(slot));
	return status_json_reason_slot(slot);
}

/* ---- values ---- */

static json_t *map_val_pod(const struct ctl_names *names, const void *val, size_t len)
{
	return pods_json_pod(names, val);
}

static json_t *map_val_ip(const struct ctl_names *names, const void *val, size_t len)
{
	return pods_json_ip(names, val);
}

static json_t *map_val_svc(const struct ctl_names *names, const void *val, size_t len)
{
	return services_json_svc(names, val);
}

static json_t *map_val_wl_info(const struct ctl_names *names, const void *val, size_t len)
{
	return ctl_json_wl_info(val);
}

static json_t *map_val_svc_info(const struct ctl_names *names, const void *val, size_t len)
{
	return ctl_json_svc_info(val);
}

static json_t *map_val_edge(const struct ctl_names *names, const void *val, size_t len)
{
	return edges_json_val(val);
}

/* weir_peers holds the edge key the client counts toward. */
static json_t *map_val_edge_key(const struct ctl_names *names, const void *val, size_t len)
{
	return edges_json_key(names, val);
}

/* Decoder of struct weir_origdst: where the client meant to go, and who it is. */
static json_t *map_val_origdst(const struct ctl_names *names, const void *val, size_t len)
{
	const struct weir_origdst *o = val;

	return json_pack("{s:o, s:i, s:o, s:o}", "ip", ctl_json_ip(o->ip), "port",
			 (json_int_t)ntohs(o->port), "service", ctl_json_service(names, o->svc_id),
			 "source", ctl_json_workload(names, o->src_wl));
}

/* A sockhash value read from user space is the socket's cookie. */
static json_t *map_val_sock_cookie(const struct ctl_names *names, const void *val, size_t len)
{
	uint64_t cookie;

	memcpy(&cookie, val, sizeof(cookie));
	return json_pack("{s:o}", "socket_cookie", ctl_json_hex64(cookie));
}

static json_t *map_val_rule(const struct ctl_names *names, const void *val, size_t len)
{
	uint32_t rule;

	memcpy(&rule, val, sizeof(rule));
	return json_pack("{s:i}", "rule", (json_int_t)rule);
}

static json_t *map_val_reason(const struct ctl_names *names, const void *val, size_t len)
{
	return json_pack("{s:o}", "count", ctl_json_u64(status_reason_sum(val, len)));
}

/* The ABI's maps, in the order `status` lists them. weir_sockstate (sk_storage) cannot be
 * walked from user space: it has no decoders and `map dump` says why. */
static const struct map_codec map_codecs[] = {
    {"weir_netns", sizeof(uint64_t), sizeof(struct weir_pod), map_key_cookie, map_val_pod},
    {"weir_ips", sizeof(uint32_t), sizeof(struct weir_ip), map_key_ip, map_val_ip},
    {"weir_services", sizeof(struct weir_svc_key), sizeof(struct weir_svc), map_key_svc,
     map_val_svc},
    {"weir_wl_info", sizeof(uint32_t), sizeof(struct weir_wl_info), map_key_id, map_val_wl_info},
    {"weir_svc_info", sizeof(uint32_t), sizeof(struct weir_svc_info), map_key_id, map_val_svc_info},
    {"weir_edges", sizeof(struct weir_edge_key), sizeof(struct weir_edge), map_key_edge,
     map_val_edge},
    {"weir_origdst", sizeof(struct weir_tuple), sizeof(struct weir_origdst), map_key_tuple,
     map_val_origdst},
    {"weir_peers", sizeof(struct weir_tuple), sizeof(struct weir_edge_key), map_key_tuple,
     map_val_edge_key},
    {"weir_sockhash", sizeof(struct weir_tuple), sizeof(uint64_t), map_key_tuple,
     map_val_sock_cookie},
    {"weir_deny", sizeof(struct weir_deny_key), sizeof(uint32_t), map_key_deny, map_val_rule},
    {"weir_reasons", sizeof(uint32_t), sizeof(uint64_t), map_key_reason, map_val_reason},
    {"weir_sockstate", sizeof(int), sizeof(struct weir_sock), NULL, NULL},
};

#define MAP_NCODECS (sizeof(map_codecs) / sizeof(map_codecs[0]))

const char *map_weir_name(size_t i)
{
	return i < MAP_NCODECS ? map_codecs[i].name : NULL;
}

/* ---- dump ---- */

struct map_dump {
	const struct map_codec *codec; /* NULL: print hex */
	const struct ctl_map_desc *d;
	const struct ctl_names *names;
};

/* A value as hex; a per-CPU value as one hex string per CPU. */
static json_t *map_hex_value(const struct ctl_map_desc *d, const void *val)
{
	size_t slot = (d->value_size + 7) & ~(size_t)7, i;
	json_t *a;

	if (!d->percpu)
		return json_pack("{s:o}", "hex", ctl_json_bytes(val, d->value_size));
	a = json_array();
	if (!a)
		return NULL;
	for (i = 0; i + slot <= d->value_len; i += slot)
		ctl_append(a, ctl_json_bytes((const char *)val + i, d->value_size));
	return json_pack("{s:o}", "per_cpu", a);
}

static json_t *map_entry(void *ctx, const void *key, const void *val)
{
	const struct map_dump *md = ctx;
	json_t *k, *v;

	if (md->codec) {
		k = md->codec->key(md->names, key);
		v = md->codec->value(md->names, val, md->d->value_len);
	} else {
		k = json_pack("{s:o}", "hex", ctl_json_bytes(key, md->d->key_size));
		v = map_hex_value(md->d, val);
	}
	if (!k || !v) {
		json_decref(k);
		json_decref(v);
		return NULL;
	}
	return json_pack("{s:o, s:o}", "key", k, "value", v);
}

static void map_print_text(const json_t *root)
{
	const json_t *entries = json_object_get(root, "entries"), *e;
	char *k, *v;
	size_t i;

	for (i = 0; i < json_array_size(entries); i++) {
		e = json_array_get(entries, i);
		k = json_dumps(json_object_get(e, "key"), JSON_COMPACT);
		v = json_dumps(json_object_get(e, "value"), JSON_COMPACT);
		printf("key: %s\nvalue: %s\n", k ? k : "?", v ? v : "?");
		free(k);
		free(v);
	}
	printf("%zu entries\n", json_array_size(entries));
}

static int map_dump(const char *name)
{
	struct map_dump md = {0};
	struct ctl_names names;
	struct ctl_map_desc d;
	json_t *root, *entries;
	const char *type;
	size_t i;
	int fd, rc = CTL_FAIL, err;

	fd = ctl_map_open_req(name);
	if (fd < 0)
		return CTL_FAIL;
	err = ctl_map_desc(fd, &d);
	if (err) {
		ctl_err("%s: cannot read map info: %s", name, strerror(-err));
		close(fd);
		return CTL_FAIL;
	}
	for (i = 0; i < MAP_NCODECS; i++) {
		if (strcmp(map_codecs[i].name, name) || !map_codecs[i].key)
			continue;
		if (d.key_size == map_codecs[i].key_size &&
		    d.value_size == map_codecs[i].value_size)
			md.codec = &map_codecs[i];
		else
			ctl_err("%s: key/value size %u/%u, not the %zu/%zu this weirctl decodes: "
				"printing hex",
				name, d.key_size, d.value_size, map_codecs[i].key_size,
				map_codecs[i].value_size);
	}
	ctl_names_open(&names);
	md.d = &d;
	md.names = &names;
	type = libbpf_bpf_map_type_str(d.type);
	root = json_object();
	entries = json_array();
	if (!root || !entries) {
		json_decref(entries);
		ctl_print(NULL);
		goto out;
	}
	ctl_set(root, "map", json_string(name));
	ctl_set(root, "type", type ? json_string(type) : json_integer(d.type));
	ctl_set(root, "decoded", json_boolean(md.codec != NULL));
	ctl_set(root, "entries", entries);
	if (ctl_map_list(fd, name, &d, map_entry, &md, entries))
		goto out;
	rc = ctl_emit(root, map_print_text, root);
	root = NULL;
out:
	json_decref(root);
	ctl_names_close(&names);
	close(fd);
	return rc;
}

int do_map(int argc, char **argv)
{
	const char *name;
	int rc;

	if (ctl_args_done(argc, argv, 2, false, &rc))
		return rc;
	if (argc < 2 || strcmp(argv[1], "dump")) {
		ctl_err("map: expected 'map dump NAME' (see 'weirctl map help')");
		return CTL_USAGE;
	}
	if (argc < 3) {
		ctl_err("map dump: which map? (e.g. 'weirctl map dump weir_services')");
		return CTL_USAGE;
	}
	name = argv[2];
	/* A pin name, not a path: the bpffs dir is chosen with --bpffs-dir. */
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		ctl_err("map dump: '%s' is not a pin name under %s", name, ctl.bpffs_dir);
		return CTL_USAGE;
	}
	return map_dump(name);
}
