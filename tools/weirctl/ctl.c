// SPDX-License-Identifier: Apache-2.0
/*
 * weirctl's shared plumbing (ctl.h): pinned maps opened by path with bpf_obj_get(), so the
 * tool needs neither the agent nor the skeleton; key walks that cannot loop on a changing
 * map; the names behind ids; and JSON builders with a sticky allocation error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <curl/curl.h>

#include "ctl.h"
#include "datapath/pin.h"
#include "lib/strbuf.h"

/*
 * The admin API answers small documents; /pods and /services grow with the cluster, so
 * the cap only guards against something that is not the agent streaming at us.
 */
#define CTL_ADMIN_MAX	     (64 << 20)
#define CTL_ADMIN_TIMEOUT_MS 1000

/* ENOTSUPP is kernel-internal (include/linux/errno.h) but leaks to user space from the
 * local-storage maps' get_next_key. */
#define CTL_ENOTSUPP 524

struct ctl_opts ctl;

/* Set when a JSON allocation or insertion failed: the document would be incomplete. */
static bool ctl_oom;

void ctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("weirctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool ctl_args_done(int argc, char **argv, int max_args, bool dot_ok, int *rc)
{
	const char *usage;
	int i;

	if (argc >= 2 && !strcmp(argv[1], "help")) {
		usage = ctl_cmd_usage(argv[0]);
		printf("%s", usage ? usage : "");
		*rc = CTL_OK;
		return true;
	}
	*rc = CTL_USAGE;
	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1]) {
			ctl_err("%s: unknown option '%s'", argv[0], argv[i]);
			return true;
		}
	}
	if (argc - 1 > max_args) {
		ctl_err("%s: unexpected argument '%s' (see 'weirctl %s help')", argv[0],
			argv[max_args + 1], argv[0]);
		return true;
	}
	if (ctl.output == CTL_OUT_DOT && !dot_ok) {
		ctl_err("%s: -o dot is for 'graph' only; use -o json or -o text", argv[0]);
		return true;
	}
	*rc = CTL_OK;
	return false;
}

/* ---- pins ---- */

int ctl_pin_path(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", ctl.bpffs_dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int ctl_obj_open(const char *name, enum pin_kind kind)
{
	int fd = pin_open(ctl.bpffs_dir, name, kind);

	/* -EINVAL from pin_open() is also "wrong kind"; names here never hold a '/'. */
	return fd == -EINVAL ? -ENOTTY : fd;
}

int ctl_map_open(const char *name)
{
	return ctl_obj_open(name, PIN_MAP);
}

int ctl_map_open_req(const char *name)
{
	char path[4096];
	int fd = ctl_map_open(name);

	if (fd >= 0)
		return fd;
	ctl_pin_path(path, sizeof(path), name);
	if (fd == -ENOTTY)
		ctl_err("%s is pinned but is not a BPF map", path);
	else
		ctl_err("cannot open pinned map %s: %s%s", path, strerror(-fd),
			fd == -ENOENT ? " (is weir installed? see --bpffs-dir)" : "");
	return fd;
}

int ctl_map_desc(int fd, struct ctl_map_desc *d)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int ncpus;

	memset(&info, 0, sizeof(info));
	memset(d, 0, sizeof(*d));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	d->id = info.id;
	d->type = info.type;
	d->key_size = info.key_size;
	d->value_size = info.value_size;
	d->max_entries = info.max_entries;
	d->value_len = info.value_size;
	switch (info.type) {
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
		/* User space reads one 8-byte-aligned slot per possible CPU. */
		ncpus = libbpf_num_possible_cpus();
		if (ncpus < 0)
			return ncpus;
		d->percpu = true;
		d->value_len = (size_t)((info.value_size + 7) & ~7U) * ncpus;
		break;
	default:
		break;
	}
	return 0;
}

static bool ctl_map_walkable(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_SK_STORAGE:
	case BPF_MAP_TYPE_INODE_STORAGE:
	case BPF_MAP_TYPE_TASK_STORAGE:
	case BPF_MAP_TYPE_RINGBUF:
	case BPF_MAP_TYPE_USER_RINGBUF:
	case BPF_MAP_TYPE_QUEUE:
	case BPF_MAP_TYPE_STACK:
	case BPF_MAP_TYPE_BLOOM_FILTER:
		return false;
	default:
		return true;
	}
}

static int ctl_key_cmp(const void *a, const void *b, void *size)
{
	return memcmp(a, b, *(const size_t *)size);
}

int ctl_map_keys(int fd, const struct ctl_map_desc *d, void **keys, size_t *n)
{
	size_t ks = d->key_size, i, j, count = 0;
	char *buf;
	int err;

	*keys = NULL;
	*n = 0;
	if (!ctl_map_walkable(d->type))
		return -EOPNOTSUPP;
	if (!d->max_entries || !ks)
		return 0;
	buf = malloc((size_t)d->max_entries * ks);
	if (!buf)
		return -ENOMEM;
	/*
	 * A hash walk restarts from the first key when the current one was deleted under it,
	 * so a busy map can yield duplicates: bound the walk by max_entries, dedupe after.
	 */
	while (count < d->max_entries) {
		if (bpf_map_get_next_key(fd, count ? buf + (count - 1) * ks : NULL,
					 buf + count * ks)) {
			err = -errno;
			if (err == -ENOENT)
				break;
			free(buf);
			return err == -CTL_ENOTSUPP ? -EOPNOTSUPP : err;
		}
		count++;
	}
	qsort_r(buf, count, ks, ctl_key_cmp, &ks);
	for (i = 0, j = 0; i < count; i++) {
		if (j && !memcmp(buf + (j - 1) * ks, buf + i * ks, ks))
			continue;
		if (i != j)
			memcpy(buf + j * ks, buf + i * ks, ks);
		j++;
	}
	*keys = buf;
	*n = j;
	return 0;
}

long ctl_map_count(int fd, const struct ctl_map_desc *d)
{
	void *keys;
	size_t n;
	int err;

	if (d->type == BPF_MAP_TYPE_ARRAY || d->type == BPF_MAP_TYPE_PERCPU_ARRAY)
		return d->max_entries; /* every index exists */
	err = ctl_map_keys(fd, d, &keys, &n);
	if (err)
		return err;
	free(keys);
	return (long)n;
}

int ctl_map_open_typed(const char *name, size_t key_size, size_t value_size, struct ctl_map_desc *d)
{
	char path[4096];
	int fd, err;

	fd = ctl_map_open_req(name);
	if (fd < 0)
		return fd;
	ctl_pin_path(path, sizeof(path), name);
	err = ctl_map_desc(fd, d);
	if (err) {
		ctl_err("%s: cannot read map info: %s", path, strerror(-err));
		goto out_close;
	}
	if (d->key_size != key_size || d->value_size != value_size) {
		ctl_err("%s: key/value size %u/%u, this weirctl expects %zu/%zu (another layout: "
			"a weirctl from another weir version?)",
			path, d->key_size, d->value_size, key_size, value_size);
		err = -EPROTO;
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return err;
}

int ctl_map_list(int fd, const char *name, const struct ctl_map_desc *d, ctl_entry_fn fn, void *ctx,
		 json_t *out)
{
	char *keys = NULL, *val;
	size_t n, i;
	int err;

	err = ctl_map_keys(fd, d, (void **)&keys, &n);
	if (err) {
		ctl_err("%s: cannot walk the keys: %s", name,
			err == -EOPNOTSUPP ? "this map type cannot be read from user space"
					   : strerror(-err));
		return err;
	}
	val = malloc(d->value_len ? d->value_len : 1);
	if (!val) {
		free(keys);
		ctl_err("out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const char *key = keys + i * d->key_size;

		memset(val, 0, d->value_len);
		if (bpf_map_lookup_elem(fd, key, val)) {
			if (errno == ENOENT)
				continue; /* deleted since the walk */
			err = -errno;
			ctl_err("%s: lookup failed: %s", name, strerror(errno));
			break;
		}
		ctl_append(out, fn(ctx, key, val));
	}
	free(val);
	free(keys);
	return err;
}

/* ---- names ---- */

void ctl_names_open(struct ctl_names *names)
{
	names->wl_fd = ctl_map_open("weir_wl_info");
	names->svc_fd = ctl_map_open("weir_svc_info");
	if (names->wl_fd < 0)
		names->wl_fd = -1;
	if (names->svc_fd < 0)
		names->svc_fd = -1;
}

void ctl_names_close(struct ctl_names *names)
{
	if (names->wl_fd >= 0)
		close(names->wl_fd);
	if (names->svc_fd >= 0)
		close(names->svc_fd);
	names->wl_fd = names->svc_fd = -1;
}

static int ctl_lookup(int fd, uint32_t id, void *out)
{
	if (fd < 0 || !id)
		return -ENOENT;
	return bpf_map_lookup_elem(fd, &id, out) ? -errno : 0;
}

static int ctl_tel_wl(void *ctx, uint32_t id, struct weir_wl_info *out)
{
	return ctl_lookup(((struct ctl_names *)ctx)->wl_fd, id, out);
}

static int ctl_tel_svc(void *ctx, uint32_t id, struct weir_svc_info *out)
{
	return ctl_lookup(((struct ctl_names *)ctx)->svc_fd, id, out);
}

void ctl_names_telemetry(struct ctl_names *names, struct telemetry_names *out)
{
	out->wl_info = ctl_tel_wl;
	out->svc_info = ctl_tel_svc;
	out->ctx = names;
}

/* ---- the agent's admin API ---- */

static size_t ctl_curl_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct strbuf *sb = arg;

	if (sb->len + size * nmemb > CTL_ADMIN_MAX || strbuf_append(sb, data, size * nmemb))
		return 0; /* makes curl fail the transfer */
	return size * nmemb;
}

json_t *ctl_admin_get(const char *path, char *err, size_t errlen)
{
	char url[8192], errbuf[CURL_ERROR_SIZE] = "";
	struct strbuf body;
	json_t *j = NULL;
	int saved = EIO;
	long status = 0;
	CURLcode rc;
	CURL *c;

	if (!ctl.admin[0]) {
		snprintf(err, errlen, "not asked (--admin '')");
		errno = ENOTCONN;
		return NULL;
	}
	snprintf(url, sizeof(url), "http://%s%s", ctl.admin, path);
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(err, errlen, "libcurl would not initialise");
		errno = ENOMEM;
		return NULL;
	}
	strbuf_init(&body);
	c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "libcurl would not initialise");
		saved = ENOMEM;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)CTL_ADMIN_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CTL_ADMIN_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* the admin API is local: never a proxy */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ctl_curl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	if (status >= 400) {
		/* The agent's error bodies are one line of text that says what was wrong: pass
		 * it on rather than curl's bare "returned error: 404". */
		snprintf(err, errlen, "HTTP %ld: %.*s", status,
			 (int)strcspn(strbuf_str(&body), "\r\n"), strbuf_str(&body));
		goto out;
	}
	j = json_loads(strbuf_str(&body), JSON_DECODE_ANY, NULL);
	if (!j)
		j = json_string(strbuf_str(&body));
	if (!j) {
		snprintf(err, errlen, "out of memory");
		saved = ENOMEM;
	}
out:
	strbuf_fini(&body);
	curl_global_cleanup();
	if (!j)
		errno = saved;
	return j;
}

int ctl_url_append(char *buf, size_t size, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strnlen(buf, size);
	unsigned char c;

	for (; *s; s++) {
		c = (unsigned char)*s;
		if (len + 4 > size)
			return -ENAMETOOLONG;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			buf[len++] = (char)c;
		} else {
			buf[len++] = '%';
			buf[len++] = hex[c >> 4];
			buf[len++] = hex[c & 15];
		}
		buf[len] = '\0';
	}
	return 0;
}

/* ---- JSON ---- */

void ctl_set(json_t *o, const char *key, json_t *v)
{
	/* json_object_set_new() consumes <v> even when it fails. */
	if (!v || json_object_set_new(o, key, v))
		ctl_oom = true;
}

void ctl_append(json_t *a, json_t *v)
{
	if (!v || json_array_append_new(a, v))
		ctl_oom = true;
}

json_t *ctl_json_ip(uint32_t ip_be)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a = {.s_addr = ip_be};

	return json_string(inet_ntop(AF_INET, &a, buf, sizeof(buf)) ? buf : "?");
}

json_t *ctl_json_proto(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return json_string("tcp");
	case IPPROTO_UDP:
		return json_string("udp");
	case IPPROTO_ICMP:
		return json_string("icmp");
	default:
		return json_integer(proto);
	}
}

json_t *ctl_json_hex64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return json_string(buf);
}

json_t *ctl_json_u64(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *ctl_json_field(const char *s, size_t size)
{
	size_t len = strnlen(s, size), i;
	json_t *j;
	char *copy;

	j = json_stringn(s, len);
	if (j)
		return j;
	/* Not UTF-8 (names come from outside): keep the ASCII, mark the rest. */
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	for (i = 0; i < len; i++)
		copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	j = json_stringn(copy, len);
	free(copy);
	return j;
}

json_t *ctl_json_flags(uint32_t v, const char *const *names, size_t n)
{
	json_t *a = json_array();
	char buf[16];
	unsigned bit;

	if (!a)
		return NULL;
	for (bit = 0; bit < 32; bit++) {
		if (!(v & (1U << bit)))
			continue;
		if (bit < n && names[bit]) {
			ctl_append(a, json_string(names[bit]));
		} else {
			snprintf(buf, sizeof(buf), "0x%x", 1U << bit);
			ctl_append(a, json_string(buf));
		}
	}
	return a;
}

json_t *ctl_json_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	char *hex = malloc(2 * n + 1);
	json_t *j;
	size_t i;

	if (!hex)
		return NULL;
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	hex[2 * n] = '\0';
	j = json_string(hex);
	free(hex);
	return j;
}

#define CTL_FIELD(s) ctl_json_field((s), sizeof(s))

json_t *ctl_json_wl_info(const struct weir_wl_info *wl)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	ctl_set(o, "namespace", CTL_FIELD(wl->ns));
	ctl_set(o, "name", CTL_FIELD(wl->name));
	ctl_set(o, "app", CTL_FIELD(wl->app));
	ctl_set(o, "version", CTL_FIELD(wl->version));
	ctl_set(o, "service_account", CTL_FIELD(wl->sa));
	return o;
}

json_t *ctl_json_svc_info(const struct weir_svc_info *svc)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	ctl_set(o, "namespace", CTL_FIELD(svc->ns));
	ctl_set(o, "name", CTL_FIELD(svc->name));
	return o;
}

/* {"id", "known"} followed by the fields of <info> (or the unknown placeholders). */
static json_t *ctl_json_named(uint32_t id, json_t *info, const char *const *fields)
{
	json_t *o = json_object();
	const char *const *f;

	if (!o) {
		json_decref(info);
		return NULL;
	}
	ctl_set(o, "id", json_integer(id));
	ctl_set(o, "known", json_boolean(info != NULL));
	if (info) {
		json_object_update(o, info);
		json_decref(info);
		return o;
	}
	for (f = fields; *f; f++)
		ctl_set(o, *f, strcmp(*f, "name") ? json_null() : json_string("unknown"));
	return o;
}

json_t *ctl_json_workload(const struct ctl_names *names, uint32_t id)
{
	static const char *const fields[] = {
	    "namespace", "name", "app", "version", "service_account", NULL,
	};
	struct weir_wl_info wl;

	if (!ctl_lookup(names ? names->wl_fd : -1, id, &wl))
		return ctl_json_named(id, ctl_json_wl_info(&wl), fields);
	return ctl_json_named(id, NULL, fields);
}

json_t *ctl_json_service(const struct ctl_names *names, uint32_t id)
{
	static const char *const fields[] = {"namespace", "name", NULL};
	struct weir_svc_info svc;

	if (!ctl_lookup(names ? names->svc_fd : -1, id, &svc))
		return ctl_json_named(id, ctl_json_svc_info(&svc), fields);
	return ctl_json_named(id, NULL, fields);
}

#define CTL__NAME(e, s) [e] = s,
static const char *const ctl_hooks[WEIR_HOOK_MAX] = {WEIR_HOOKS(CTL__NAME)};
static const char *const ctl_reasons[WEIR_R_MAX] = {WEIR_REASONS(CTL__NAME)};
#undef CTL__NAME

const char *ctl_hook_name(unsigned hook)
{
	return hook < WEIR_HOOK_MAX ? ctl_hooks[hook] : NULL;
}

const char *ctl_reason_name(unsigned reason)
{
	return reason < WEIR_R_MAX ? ctl_reasons[reason] : NULL;
}

int ctl_print(json_t *root)
{
	int err;

	if (!root || ctl_oom) {
		json_decref(root);
		ctl_err("out of memory while building the output");
		return CTL_FAIL;
	}
	err = json_dumpf(root, stdout, JSON_INDENT(2));
	json_decref(root);
	if (err || fputc('\n', stdout) == EOF || fflush(stdout)) {
		ctl_err("writing the output failed: %s", strerror(errno));
		return CTL_FAIL;
	}
	return CTL_OK;
}

const char *ctl_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

long long ctl_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

int ctl_emit(json_t *root, void (*text)(const json_t *), const json_t *text_arg)
{
	if (ctl.output == CTL_OUT_JSON)
		return ctl_print(root);
	text(text_arg);
	json_decref(root);
	return CTL_OK;
}

int ctl_list(int argc, char **argv, const struct ctl_list *l)
{
	struct ctl_names names;
	struct ctl_map_desc d;
	json_t *root, *arr;
	int fd, rc;

	if (ctl_args_done(argc, argv, 0, false, &rc))
		return rc;
	fd = ctl_map_open_typed(l->map, l->key_size, l->value_size, &d);
	if (fd < 0)
		return CTL_FAIL;
	ctl_names_open(&names);
	root = json_object();
	arr = json_array();
	rc = CTL_FAIL;
	if (!root || !arr) {
		json_decref(arr);
		ctl_print(NULL);
		goto out;
	}
	ctl_set(root, l->member, arr);
	if (ctl_map_list(fd, l->map, &d, l->entry, &names, arr))
		goto out;
	rc = ctl_emit(root, l->print_text, arr);
	root = NULL;
out:
	json_decref(root);
	ctl_names_close(&names);
	close(fd);
	return rc;
}
