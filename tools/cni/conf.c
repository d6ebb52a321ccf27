// SPDX-License-Identifier: Apache-2.0
/*
 * Parsing and checking of weir-cni's input (see conf.h). Every rejection names the key and
 * what was wrong with it, because the runtime shows the message to whoever debugs a Pod that
 * will not start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define CONF_TIMEOUT_DEFAULT_MS 2000
#define CONF_TIMEOUT_MAX_MS	60000

static const char *const conf_versions[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0"};

void conf_error_set(struct conf_error *e, int code, const char *msg, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	va_start(ap, fmt);
	vsnprintf(e->details, sizeof(e->details), fmt, ap);
	va_end(ap);
}

bool conf_version_ok(const char *version, bool check)
{
	size_t i;

	/* CHECK arrived with spec 0.4.0; the first two versions cannot carry it. */
	for (i = check ? 2 : 0; i < sizeof(conf_versions) / sizeof(conf_versions[0]); i++)
		if (!strcmp(version, conf_versions[i]))
			return true;
	return false;
}

/* Fetches the optional string member <key>; -EINVAL (in <e>) when it is not a string. */
static int opt_str(json_t *o, const char *key, const char **out, struct conf_error *e)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_string(v)) {
		conf_error_set(e, CONF_E_CONFIG, "invalid network config", "%s: must be a string",
			       key);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

static int conf_check(struct conf *c, struct conf_error *e)
{
	json_t *o = c->root, *v;
	const char *policy = "open";
	json_int_t t;

	c->cni_version = NULL;
	c->name = NULL;
	c->socket = CNI_SOCKET_DEFAULT;
	if (opt_str(o, "cniVersion", &c->cni_version, e) || opt_str(o, "name", &c->name, e) ||
	    opt_str(o, "agentSocket", &c->socket, e) || opt_str(o, "failPolicy", &policy, e))
		return -EINVAL;
	if (!c->cni_version) {
		conf_error_set(e, CONF_E_CONFIG, "invalid network config", "cniVersion: missing");
		return -EINVAL;
	}
	if (!conf_version_ok(c->cni_version, false)) {
		conf_error_set(e, CONF_E_VERSION, "incompatible CNI version",
			       "cniVersion \"%.64s\" is not one of " CONF_SUPPORTED_VERSIONS,
			       c->cni_version);
		return -EINVAL;
	}
	if (!c->name || !c->name[0]) {
		conf_error_set(e, CONF_E_CONFIG, "invalid network config", "name: missing");
		return -EINVAL;
	}
	if (c->socket[0] != '/' || strlen(c->socket) >= 100) {
		conf_error_set(e, CONF_E_CONFIG, "invalid network config",
			       "agentSocket: must be an absolute path shorter than 100 bytes");
		return -EINVAL;
	}
	if (!strcmp(policy, "open")) {
		c->fail_closed = false;
	} else if (!strcmp(policy, "closed")) {
		c->fail_closed = true;
	} else {
		conf_error_set(e, CONF_E_CONFIG, "invalid network config",
			       "failPolicy: must be \"open\" or \"closed\", not \"%.64s\"", policy);
		return -EINVAL;
	}
	c->timeout_ms = CONF_TIMEOUT_DEFAULT_MS;
	v = json_object_get(o, "timeoutMs");
	if (v) {
		t = json_is_integer(v) ? json_integer_value(v) : 0;
		if (t < 1 || t > CONF_TIMEOUT_MAX_MS) {
			conf_error_set(e, CONF_E_CONFIG, "invalid network config",
				       "timeoutMs: must be an integer from 1 to %d",
				       CONF_TIMEOUT_MAX_MS);
			return -EINVAL;
		}
		c->timeout_ms = (int)t;
	}
	c->prev_result = json_object_get(o, "prevResult");
	if (c->prev_result && json_is_null(c->prev_result))
		c->prev_result = NULL; /* some runtimes send null rather than leaving it out */
	if (c->prev_result && !json_is_object(c->prev_result)) {
		conf_error_set(e, CONF_E_CONFIG, "invalid network config",
			       "prevResult: must be an object");
		return -EINVAL;
	}
	return 0;
}

int conf_parse(const char *buf, size_t len, struct conf *c, struct conf_error *e)
{
	json_error_t jerr;

	memset(c, 0, sizeof(*c));
	c->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!c->root) {
		conf_error_set(e, CONF_E_DECODE, "failed to decode the network config",
			       "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(c->root)) {
		conf_error_set(e, CONF_E_CONFIG, "invalid network config",
			       "the network config must be a JSON object");
		goto out_free;
	}
	if (conf_check(c, e))
		goto out_free;
	return 0;

out_free:
	conf_fini(c);
	return -EINVAL;
}

void conf_fini(struct conf *c)
{
	json_decref(c->root);
	c->root = NULL;
	c->prev_result = NULL;
}

/* Parses "a.b.c.d/len" into <ip>. Returns 0 or -EINVAL. */
static int cidr4_parse(const char *s, uint32_t *ip)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	char *end;
	long plen;

	if (n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, ip) != 1)
		return -EINVAL;
	if (!slash)
		return 0;
	errno = 0;
	plen = strtol(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || plen < 0 || plen > 32)
		return -EINVAL;
	return 0;
}

int conf_pod_ip(json_t *prev, uint32_t *ip, char *why, size_t len)
{
	json_t *ips = json_object_get(prev, "ips");
	json_t *ifs = json_object_get(prev, "interfaces");
	uint32_t first = 0, sandboxed = 0, a;
	json_t *ent, *addr, *idx, *sb;
	json_int_t k;
	size_t i;

	if (ifs && !json_is_array(ifs)) {
		snprintf(why, len, "prevResult.interfaces: must be an array");
		return -EINVAL;
	}
	if (!ips)
		return -ENOENT; /* a primary plugin without IPAM */
	if (!json_is_array(ips)) {
		snprintf(why, len, "prevResult.ips: must be an array");
		return -EINVAL;
	}
	for (i = 0; i < json_array_size(ips); i++) {
		ent = json_array_get(ips, i);
		addr = json_object_get(ent, "address");
		if (!json_is_object(ent) || !json_is_string(addr)) {
			snprintf(why, len, "prevResult.ips[%zu]: must be an object with an address",
				 i);
			return -EINVAL;
		}
		if (strchr(json_string_value(addr), ':'))
			continue; /* IPv6: weir enrols by the IPv4 address */
		if (cidr4_parse(json_string_value(addr), &a)) {
			snprintf(why, len,
				 "prevResult.ips[%zu].address: \"%.64s\" is not a.b.c.d/len", i,
				 json_string_value(addr));
			return -EINVAL;
		}
		idx = json_object_get(ent, "interface");
		sb = NULL;
		if (idx) {
			k = json_is_integer(idx) ? json_integer_value(idx) : -1;
			if (k < 0 || !ifs || (size_t)k >= json_array_size(ifs)) {
				snprintf(
				    why, len,
				    "prevResult.ips[%zu].interface: not an index into interfaces",
				    i);
				return -EINVAL;
			}
			sb = json_object_get(json_array_get(ifs, k), "sandbox");
		}
		if (!first)
			first = a;
		/* The container side of a veth carries "sandbox": that is the Pod's address,
		 * where the host side (a bridge gateway) would be the node's. */
		if (!sandboxed && json_is_string(sb) && json_string_length(sb))
			sandboxed = a;
	}
	if (!first)
		return -ENOENT;
	*ip = sandboxed ? sandboxed : first;
	return 0;
}

/* Copies the value <v> of <n> bytes into <dst> of <len>; -EINVAL when it does not fit. */
static int arg_copy(char *dst, size_t len, const char *v, size_t n)
{
	if (n >= len)
		return -EINVAL;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

int conf_args_parse(const char *args, struct cni_pod *pod, char *why, size_t len)
{
	const char *p = args, *end, *eq;
	size_t klen;
	int rc = 0;

	pod->ns[0] = pod->name[0] = pod->uid[0] = '\0';
	while (p && *p) {
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		eq = memchr(p, '=', end - p);
		if (eq) {
			klen = eq - p;
			eq++;
#define ARG(key, field)                                                                            \
	if (klen == sizeof(key) - 1 && !memcmp(p, key, klen) &&                                    \
	    arg_copy(pod->field, sizeof(pod->field), eq, end - eq) && !rc) {                       \
		snprintf(why, len, "CNI_ARGS: " key " longer than %zu bytes",                      \
			 sizeof(pod->field) - 1);                                                  \
		rc = -EINVAL;                                                                      \
	}
			ARG("K8S_POD_NAMESPACE", ns)
			ARG("K8S_POD_NAME", name)
			ARG("K8S_POD_UID", uid)
#undef ARG
		}
		p = *end ? end + 1 : NULL;
	}
	return rc;
}
