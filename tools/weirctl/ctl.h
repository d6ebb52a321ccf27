/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every weirctl noun shares: the global options, the noun contract, pinned-map access
 * under --bpffs-dir, the names behind workload and service ids, and the JSON building and
 * printing helpers. Each noun decodes the structs it owns and exports those decoders, so
 * `weirctl map dump` prints every weir struct through the one decoder the noun uses.
 */
#ifndef WEIR_CTL_H
#define WEIR_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "datapath/pin.h"

#include <weir/edge.h>
#include <weir/policy.h>
#include <weir/reason.h>
#include <weir/service.h>
#include <weir/sock.h>
#include <weir/workload.h>

#include "telemetry/telemetry.h"

/* Exit statuses: what a do_<noun>() returns and main() exits with. */
enum ctl_exit {
	CTL_OK = 0,    /* done */
	CTL_FAIL = 1,  /* a pin is missing or the kernel refused: the message names the path */
	CTL_USAGE = 2, /* bad command line: the message says what was wrong */
};

enum ctl_output {
	CTL_OUT_TEXT = 0, /* human text; not stable, never parse it */
	CTL_OUT_JSON,	  /* stable, documented in docs/weirctl.md */
	CTL_OUT_DOT,	  /* graph only: Graphviz */
};

/* The global options, set once by main() before the noun runs. */
struct ctl_opts {
	const char *bpffs_dir;	/* --bpffs-dir */
	const char *admin;	/* --admin host:port; "" = do not ask the agent */
	enum ctl_output output; /* -o */
};

extern struct ctl_opts ctl;

/*
 * The noun contract (bpftool's do_<verb> tables): <argv>[0] is the noun itself, the rest
 * its arguments with the global options already removed. Returns an enum ctl_exit.
 */
struct ctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage; /* one or more lines, each "weirctl ..." */
};

int do_status(int argc, char **argv);
int do_pods(int argc, char **argv);
int do_services(int argc, char **argv);
int do_edges(int argc, char **argv);
int do_graph(int argc, char **argv);
int do_map(int argc, char **argv);
int do_explain(int argc, char **argv);
int do_routes(int argc, char **argv);

/* The usage text of noun <name> (from main's table), or NULL. */
const char *ctl_cmd_usage(const char *name);

/*
 * The common argument check of a noun: "help" prints the noun's usage and returns CTL_OK
 * in *<rc>; a stray argument, or an -o format outside <dot_ok> (json/text always), prints a
 * message and sets CTL_USAGE. Returns true when the noun should stop with *<rc>.
 */
bool ctl_args_done(int argc, char **argv, int max_args, bool dot_ok, int *rc);

/* Logs "weirctl: <msg>" on stderr. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- pins ---- */

/* Writes "<bpffs_dir>/<name>" into <buf>. Returns 0 or -ENAMETOOLONG. */
int ctl_pin_path(char *buf, size_t size, const char *name);
/* Opens pinned object <name> of <kind> (enum pin_kind): fd (caller closes) or -errno,
 * -ENOTTY when the pin is another kind of object. Silent. */
int ctl_obj_open(const char *name, enum pin_kind kind);
/* Opens pinned map <name>: fd (caller closes) or -errno (-ENOTTY: not a map), silently. */
int ctl_map_open(const char *name);
/* As ctl_map_open(), but a failure prints a message naming the pin path. */
int ctl_map_open_req(const char *name);

/* A map's kernel description (bpf_map_info) in the pieces weirctl uses. */
struct ctl_map_desc {
	uint32_t id, type, key_size, value_size, max_entries;
	size_t value_len; /* bytes a lookup fills: value_size, or per CPU rounded to 8 x CPUs */
	bool percpu;
};

/* Fills <d> for map <fd>. Returns 0 or -errno. */
int ctl_map_desc(int fd, struct ctl_map_desc *d);

/*
 * Reads every key of map <fd> into a malloc'd array *<keys> (caller frees) of *<n> keys of
 * <d>->key_size bytes, sorted bytewise so that output is stable. At most max_entries keys,
 * so a map changing under the walk cannot loop it. Returns 0 or -errno (-EOPNOTSUPP for
 * maps user space cannot walk, such as sk_storage).
 */
int ctl_map_keys(int fd, const struct ctl_map_desc *d, void **keys, size_t *n);

/* Counts the keys of map <fd> (max_entries for arrays). Returns the count or -errno. */
long ctl_map_count(int fd, const struct ctl_map_desc *d);

/*
 * Opens pinned map <name> for a noun that decodes it: the pin must exist (else a message
 * naming its path) and its key and value sizes must be <key_size> and <value_size> (else a
 * message: the pin has another layout). Fills <d>. Returns the fd or -errno.
 */
int ctl_map_open_typed(const char *name, size_t key_size, size_t value_size,
		       struct ctl_map_desc *d);

/* Turns one entry into JSON (NULL: out of memory); <val> holds <d>->value_len bytes. */
typedef json_t *(*ctl_entry_fn)(void *ctx, const void *key, const void *val);

/*
 * Appends <fn>(<ctx>, key, value) for every entry of map <fd> to array <out>, in key
 * order; entries deleted during the walk are skipped. Returns 0 or -errno, with a message
 * naming map <name>.
 */
int ctl_map_list(int fd, const char *name, const struct ctl_map_desc *d, ctl_entry_fn fn, void *ctx,
		 json_t *out);

/* ---- names ---- */

/* Open fds of the name maps; -1 where the pin is missing (names then print as unknown). */
struct ctl_names {
	int wl_fd;  /* weir_wl_info */
	int svc_fd; /* weir_svc_info */
};

/* Opens the name maps that exist. Never fails: a missing map only loses names. */
void ctl_names_open(struct ctl_names *names);
/* Closes what ctl_names_open() opened. */
void ctl_names_close(struct ctl_names *names);
/* The telemetry/graph view of <names> (callbacks that read the maps). */
void ctl_names_telemetry(struct ctl_names *names, struct telemetry_names *out);

/* ---- the agent's admin API ---- */

/* Room for the reason ctl_admin_get() gives. */
#define CTL_ADMIN_ERR_LEN 256

/*
 * GET http://<ctl.admin><path> (<path> starts with '/') within one second, never through a
 * proxy. Returns the body parsed as JSON (a non-JSON body as a JSON string; caller owns),
 * or NULL with errno set and the reason in <err> (<errlen> bytes): ENOTCONN when --admin
 * is '' ("not asked"), EIO when the agent did not answer (curl's message) or answered an
 * error ("HTTP <status>: <the first line of the agent's message>"), ENOMEM.
 */
json_t *ctl_admin_get(const char *path, char *err, size_t errlen);

/*
 * Appends <s> percent-encoded for a URL query value (everything but RFC 3986's unreserved
 * characters) to <buf> of <size> bytes, after what it holds. Returns 0, or -ENAMETOOLONG
 * when it does not fit (<buf> then holds a cut string).
 */
int ctl_url_append(char *buf, size_t size, const char *s);

/* ---- JSON ---- */

/*
 * Sets <o>[<key>] = <v>, consuming <v>. A NULL <v> (a failed allocation) or a failed set
 * is remembered and makes ctl_print() fail, so builders need not check every call.
 */
void ctl_set(json_t *o, const char *key, json_t *v);
/* Appends <v> to array <a>, consuming it; failures remembered as for ctl_set(). */
void ctl_append(json_t *a, json_t *v);

/* "a.b.c.d" of network-order <ip>. */
json_t *ctl_json_ip(uint32_t ip_be);
/* "tcp", "udp", "icmp", else the number. */
json_t *ctl_json_proto(uint8_t proto);
/* "0x..." of a 64-bit value (cookies: a JSON number would lose bits past 2^53). */
json_t *ctl_json_hex64(uint64_t v);
/* An unsigned 64-bit counter as a JSON integer (clamped at 2^63 - 1). */
json_t *ctl_json_u64(uint64_t v);
/* A NUL-padded fixed-size string field, cut at <size> if it lacks its NUL. */
json_t *ctl_json_field(const char *s, size_t size);
/* A flag word as ["name", ...]: bits named by <names>[bit] (NULL-padded table of <n>),
 * other set bits as "0x<bit value>". */
json_t *ctl_json_flags(uint32_t v, const char *const *names, size_t n);
/* Lowercase hex of <n> bytes at <p>. */
json_t *ctl_json_bytes(const void *p, size_t n);

/* Decoder of struct weir_wl_info: {namespace, name, app, version, service_account}. */
json_t *ctl_json_wl_info(const struct weir_wl_info *wl);
/* Decoder of struct weir_svc_info: {namespace, name}. */
json_t *ctl_json_svc_info(const struct weir_svc_info *svc);

/*
 * Workload <id> with its names: {"id", "known", "namespace", "name", "app", "version",
 * "service_account"}; id 0 or an id without weir_wl_info entry is "known": false with
 * name "unknown" and the other names null.
 */
json_t *ctl_json_workload(const struct ctl_names *names, uint32_t id);
/* Service <id>: {"id", "known", "namespace", "name"}, unknown as for workloads. */
json_t *ctl_json_service(const struct ctl_names *names, uint32_t id);

/* Name of datapath hook <hook> / reason <reason> (include/weir/reason.h), NULL if none. */
const char *ctl_hook_name(unsigned hook);
const char *ctl_reason_name(unsigned reason);

/*
 * Prints <root> (consumed) to stdout as indented JSON and a newline. Returns CTL_OK, or
 * CTL_FAIL with a message when building it ran out of memory.
 */
int ctl_print(json_t *root);

/*
 * Prints <root> (consumed) as JSON with -o json, else hands <text_arg> to <text>, which
 * prints the human form. Returns CTL_OK or CTL_FAIL.
 */
int ctl_emit(json_t *root, void (*text)(const json_t *), const json_t *text_arg);

/* A noun that lists one weir map as {"<member>": [entry, ...]}: pods, services, edges. */
struct ctl_list {
	const char *map;		    /* pinned map name */
	size_t key_size, value_size;	    /* its layout, checked against the pin */
	const char *member;		    /* JSON member holding the entries */
	ctl_entry_fn entry;		    /* one entry -> JSON; ctx is a struct ctl_names * */
	void (*print_text)(const json_t *); /* the text form, given the entries array */
};

/* Runs the list noun <l> with its command line (no arguments besides help). */
int ctl_list(int argc, char **argv, const struct ctl_list *l);

/* ---- decoders the nouns export (one per weir struct; `map dump` reuses them) ---- */

/* pods.c: struct weir_pod -> {ip, flags, workload}; struct weir_ip -> {flags, workload}. */
json_t *pods_json_pod(const struct ctl_names *names, const struct weir_pod *pod);
json_t *pods_json_ip(const struct ctl_names *names, const struct weir_ip *ip);
/* services.c: struct weir_svc_key -> {vip, port, protocol}; struct weir_svc -> {id, mode,
 * flags, backends}. */
json_t *services_json_key(const struct weir_svc_key *key);
json_t *services_json_svc(const struct ctl_names *names, const struct weir_svc *svc);
/* edges.c: struct weir_edge_key -> {source, destination, service, dport, protocol, path};
 * struct weir_edge -> the counters. */
json_t *edges_json_key(const struct ctl_names *names, const struct weir_edge_key *key);
json_t *edges_json_val(const struct weir_edge *val);

/* status.c: a weir_reasons index -> {slot, hook, reason}; the sum of a per-CPU __u64 value
 * of <len> bytes as a lookup returns it. */
json_t *status_json_reason_slot(uint32_t slot);
uint64_t status_reason_sum(const void *percpu, size_t len);

/* map.c: the maps of weir's ABI, in status order; <i> past the end gives NULL. */
const char *map_weir_name(size_t i);

/* Reads string member <key> of <o> ("" when absent or null), for the text printers. */
const char *ctl_str(const json_t *o, const char *key);
/* Reads integer member <key> of <o> (0 when absent). */
long long ctl_int(const json_t *o, const char *key);

#endif /* WEIR_CTL_H */
