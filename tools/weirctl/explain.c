// SPDX-License-Identifier: Apache-2.0
/*
 * `weirctl explain POD SERVICE:PORT`: resolves the Pod, the Service and the datapath's config
 * block (the agent's admin API for the model's view, the pinned maps for what decides), has
 * verdict.c compute what the datapath does with the connect(), and prints the whole chain.
 * Without the agent the pins still decide, and the output says what it could not check.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <bpf/bpf.h>

#include <weir/decide.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <weir/config.h>
#include <weir/maps.h>

#include "ctl.h"
#include "explain.h"

/* The SPIFFE trust domain until weir has a configurable one. */
#define EXPLAIN_TRUST_DOMAIN "cluster.local"

/* Map ids a program can use; connect4 uses a handful. */
#define EXPLAIN_PROG_MAPS 64

/* See explain.h. */
void explain_note(json_t *arr, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ctl_append(arr, json_string(buf));
}

/* <o>[<key>] as a new reference, JSON null when absent. */
static json_t *explain_copy(const json_t *o, const char *key)
{
	json_t *v = o ? json_object_get(o, key) : NULL;

	return v ? json_incref(v) : json_null();
}

/* ---- the agent ---- */

/* Asks the agent for /status, then /pods and /services; a silent agent is asked once. */
static void explain_ask_agent(struct explain *x)
{
	char err[CTL_ADMIN_ERR_LEN];
	json_t *j;

	x->status = ctl_admin_get("/status", x->agent_err, sizeof(x->agent_err));
	if (!x->status)
		return;
	if (!json_is_object(x->status)) {
		snprintf(x->agent_err, sizeof(x->agent_err), "/status did not answer JSON");
		json_decref(x->status);
		x->status = NULL;
		return;
	}
	j = ctl_admin_get("/pods", err, sizeof(err));
	if (j && json_is_array(json_object_get(j, "pods")))
		x->pods = j;
	else
		json_decref(j);
	j = ctl_admin_get("/services", err, sizeof(err));
	if (j && json_is_array(json_object_get(j, "services")))
		x->services = j;
	else
		json_decref(j);
	if (!x->pods)
		explain_note(x->unchecked, "the agent answered /status but not /pods: Pod names, "
					   "node and enrolment come from the pins only");
	if (!x->services)
		explain_note(x->unchecked, "the agent answered /status but not /services: Service "
					   "names and port names come from the pins only");
}

/* The agent's own part of /status ({"ready", ..., "agent": {"node", "node_ip", ...}}). */
static const json_t *explain_agent_status(const struct explain *x)
{
	const json_t *a = json_object_get(x->status, "agent");

	return json_is_object(a) ? a : x->status;
}

/* ---- the datapath's config block ---- */

/*
 * Reads weir_cfg as the loaded connect4 program sees it: link_connect4 -> its program ->
 * the program's .rodata map, the variable found through the map's BTF. Fills <cfg>.
 * Returns 0 or -errno (-ENOENT: no link, no .rodata or no weir_cfg in it).
 */
static int explain_read_cfg(struct weir_config *cfg)
{
	__u32 ids[EXPLAIN_PROG_MAPS], len, i, n, j, zero = 0;
	struct bpf_link_info li;
	struct bpf_prog_info pi;
	int lfd, pfd, mfd, err = -ENOENT;

	lfd = ctl_obj_open(WEIR_LINK_CONNECT4, PIN_LINK);
	if (lfd < 0)
		return lfd;
	memset(&li, 0, sizeof(li));
	len = sizeof(li);
	if (bpf_obj_get_info_by_fd(lfd, &li, &len)) {
		err = -errno;
		close(lfd);
		return err;
	}
	close(lfd);
	pfd = bpf_prog_get_fd_by_id(li.prog_id);
	if (pfd < 0)
		return -errno;
	memset(&pi, 0, sizeof(pi));
	pi.nr_map_ids = EXPLAIN_PROG_MAPS;
	pi.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(pi);
	if (bpf_obj_get_info_by_fd(pfd, &pi, &len)) {
		err = -errno;
		close(pfd);
		return err;
	}
	close(pfd);
	n = pi.nr_map_ids < EXPLAIN_PROG_MAPS ? pi.nr_map_ids : EXPLAIN_PROG_MAPS;
	for (i = 0; i < n && err; i++) {
		const struct btf_var_secinfo *vs;
		const struct btf_type *t;
		struct bpf_map_info mi;
		struct btf *btf;
		size_t nlen;
		char *val;

		mfd = bpf_map_get_fd_by_id(ids[i]);
		if (mfd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		len = sizeof(mi);
		nlen = 0;
		if (!bpf_obj_get_info_by_fd(mfd, &mi, &len))
			nlen = strlen(mi.name);
		if (nlen < 7 || strcmp(mi.name + nlen - 7, ".rodata") || !mi.btf_id ||
		    !mi.btf_value_type_id) {
			close(mfd);
			continue;
		}
		btf = btf__load_from_kernel_by_id(mi.btf_id);
		t = btf ? btf__type_by_id(btf, mi.btf_value_type_id) : NULL;
		for (j = 0; t && btf_is_datasec(t) && j < btf_vlen(t) && err; j++) {
			const struct btf_type *var;

			vs = btf_var_secinfos(t) + j;
			var = btf__type_by_id(btf, vs->type);
			if (!var || strcmp(btf__name_by_offset(btf, var->name_off), "weir_cfg") ||
			    vs->size != sizeof(*cfg) || vs->offset + vs->size > mi.value_size)
				continue;
			val = calloc(1, mi.value_size);
			if (val && !bpf_map_lookup_elem(mfd, &zero, val)) {
				memcpy(cfg, val + vs->offset, sizeof(*cfg));
				err = 0;
			}
			free(val);
		}
		btf__free(btf);
		close(mfd);
	}
	return err;
}

/* Finds the agent's address: the datapath's own config, else the agent's node address. */
static void explain_cfg(struct explain *x)
{
	const char *node_ip;
	struct in_addr a;

	if (!explain_read_cfg(&x->cfg)) {
		x->cfg_src = EXPLAIN_CFG_DATAPATH;
		return;
	}
	node_ip = x->status ? ctl_str(explain_agent_status(x), "node_ip") : "";
	if (node_ip[0] && inet_pton(AF_INET, node_ip, &a) == 1) {
		x->cfg.agent_ip = a.s_addr;
		x->cfg.agent_port = htons(WEIR_PORT_OUTBOUND);
		x->cfg_src = EXPLAIN_CFG_AGENT;
		explain_note(x->unchecked,
			     "the datapath's config block (.rodata of the program "
			     "behind %s) could not be read: the agent address is the "
			     "agent's node_ip and the port assumed %d",
			     WEIR_LINK_CONNECT4, WEIR_PORT_OUTBOUND);
		return;
	}
	explain_note(x->unchecked, "the agent address (the datapath's config block and the "
				   "agent's /status) could not be read");
}

/* ---- the Pod ---- */

/* Whether Pod argument <arg> names the agent's Pod <p> (ns/name, name in default, IP). */
static bool explain_pod_match(const json_t *p, const char *arg, bool is_ip)
{
	const char *slash = strchr(arg, '/');

	if (is_ip)
		return !strcmp(ctl_str(p, "ip"), arg);
	if (!slash)
		return !strcmp(ctl_str(p, "namespace"), "default") &&
		       !strcmp(ctl_str(p, "name"), arg);
	return strlen(ctl_str(p, "namespace")) == (size_t)(slash - arg) &&
	       !strncmp(ctl_str(p, "namespace"), arg, slash - arg) &&
	       !strcmp(ctl_str(p, "name"), slash + 1);
}

/* Finds the weir_netns entry holding address <ip>: the Pod's enrolment without the agent. */
static int explain_netns_by_ip(struct explain *x, uint32_t ip)
{
	uint64_t *keys;
	size_t n, i;
	int err;

	err = ctl_map_keys(x->netns_fd, &x->netns_d, (void **)&keys, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(x->netns_fd, &keys[i], &x->pod) || x->pod.ip != ip)
			continue;
		x->cookie = keys[i];
		x->have_cookie = true;
		x->in_netns = true;
		break;
	}
	free(keys);
	return 0;
}

/* The datapath's view of the Pod: {"enrolled", "netns_entry", "ip_entry"}. */
static json_t *explain_pod_pins(struct explain *x)
{
	json_t *o = json_object(), *e;

	if (!o)
		return NULL;
	ctl_set(o, "enrolled", json_boolean(x->in_netns));
	if (x->in_netns) {
		e = pods_json_pod(&x->names, &x->pod);
		if (e)
			ctl_set(e, "cookie", ctl_json_hex64(x->cookie));
		ctl_set(o, "netns_entry", e);
	} else {
		ctl_set(o, "netns_entry", json_null());
	}
	ctl_set(o, "ip_entry", x->in_ips ? pods_json_ip(&x->names, &x->ipent) : json_null());
	return o;
}

/*
 * Resolves the Pod (agent first, then the pins by IP) and builds its JSON into *<out>.
 * Returns CTL_OK, or CTL_FAIL with a message when no one knows the Pod.
 */
static int explain_pod(struct explain *x, json_t **out)
{
	const char *arg = x->pod_arg, *cookie_s, *slash;
	struct weir_wl_info wl;
	bool is_ip, have_wl = false;
	json_t *o, *pods;
	struct in_addr a;
	size_t i;

	is_ip = inet_pton(AF_INET, arg, &a) == 1;
	slash = strchr(arg, '/');
	snprintf(x->ns, sizeof(x->ns), "%.*s", slash ? (int)(slash - arg) : 7,
		 slash ? arg : "default");
	pods = json_object_get(x->pods, "pods");
	for (i = 0; i < json_array_size(pods); i++) {
		if (explain_pod_match(json_array_get(pods, i), arg, is_ip)) {
			x->apod = json_array_get(pods, i);
			break;
		}
	}
	if (x->apod) {
		snprintf(x->ns, sizeof(x->ns), "%s", ctl_str(x->apod, "namespace"));
		if (inet_pton(AF_INET, ctl_str(x->apod, "ip"), &a) == 1)
			x->ip = a.s_addr;
		cookie_s = ctl_str(x->apod, "netns_cookie");
		if (cookie_s[0]) {
			x->cookie = strtoull(cookie_s, NULL, 16);
			x->have_cookie = true;
			x->in_netns = !bpf_map_lookup_elem(x->netns_fd, &x->cookie, &x->pod);
			if (!x->in_netns)
				explain_note(x->issues,
					     "the agent has the Pod enrolled with netns "
					     "cookie %s, but weir_netns has no such entry",
					     cookie_s);
		}
	} else if (is_ip) {
		x->ip = a.s_addr;
	} else if (!x->pods) {
		ctl_err("explain: Pod '%s': without the agent's /pods (%s) a Pod is found by its "
			"IP only; give its address",
			arg, x->agent_err[0] ? x->agent_err : "not answering");
		return CTL_FAIL;
	} else {
		ctl_err("explain: no Pod '%s%s' in the agent's model", slash ? "" : "default/",
			arg);
		return CTL_FAIL;
	}

	if (x->ip)
		x->in_ips = !bpf_map_lookup_elem(x->ips_fd, &x->ip, &x->ipent);
	if (!x->have_cookie && x->ip) {
		if (explain_netns_by_ip(x, x->ip))
			explain_note(x->unchecked, "weir_netns could not be walked");
		else if (x->in_netns && x->apod)
			explain_note(x->issues,
				     "weir_netns has an entry for %s (cookie 0x%llx) but "
				     "the agent does not report the Pod enrolled",
				     ctl_str(x->apod, "ip"), (unsigned long long)x->cookie);
		else if (x->in_netns)
			explain_note(x->unchecked, "the Pod's netns: without the agent, the "
						   "weir_netns entry was found by the Pod's IP");
	}
	if (!x->apod && !x->in_netns && !x->in_ips && x->pods) {
		ctl_err("explain: no Pod with address %s: not in the agent's model, weir_netns or "
			"weir_ips",
			arg);
		return CTL_FAIL;
	}
	/* Without the agent an address no map knows may still be a Pod outside the mesh. */
	if (!x->apod && !x->in_netns && !x->in_ips)
		explain_note(x->unchecked,
			     "whether a Pod has address %s: no map holds it (a Pod "
			     "outside the mesh looks the same)",
			     arg);
	x->wl_id = x->in_netns ? x->pod.wl_id : x->in_ips ? x->ipent.wl_id : WEIR_ID_UNKNOWN;
	if (x->in_netns && x->in_ips && x->pod.wl_id != x->ipent.wl_id)
		explain_note(x->issues,
			     "weir_netns says workload %u, weir_ips workload %u: tc "
			     "policy uses weir_ips, connect4 and the counters weir_netns",
			     x->pod.wl_id, x->ipent.wl_id);
	if (x->wl_id && x->names.wl_fd >= 0)
		have_wl = !bpf_map_lookup_elem(x->names.wl_fd, &x->wl_id, &wl);
	if (!x->apod && have_wl)
		snprintf(x->ns, sizeof(x->ns), "%s", wl.ns);

	o = json_object();
	if (!o)
		return CTL_FAIL;
	ctl_set(o, "query", json_string(arg));
	ctl_set(o, "found_by",
		json_string(x->apod		       ? "agent"
			    : x->in_netns || x->in_ips ? "pins"
						       : "address"));
	ctl_set(o, "namespace",
		x->apod	  ? explain_copy(x->apod, "namespace")
		: have_wl ? json_string(x->ns)
			  : json_null());
	ctl_set(o, "name", explain_copy(x->apod, "name"));
	ctl_set(o, "ip", x->ip ? ctl_json_ip(x->ip) : json_null());
	ctl_set(o, "node", explain_copy(x->apod, "node"));
	ctl_set(o, "workload",
		x->apod	  ? explain_copy(x->apod, "workload")
		: have_wl ? ctl_json_field(wl.name, sizeof(wl.name))
			  : json_null());
	ctl_set(o, "app",
		x->apod	  ? explain_copy(x->apod, "app")
		: have_wl ? ctl_json_field(wl.app, sizeof(wl.app))
			  : json_null());
	ctl_set(o, "version",
		x->apod	  ? explain_copy(x->apod, "version")
		: have_wl ? ctl_json_field(wl.version, sizeof(wl.version))
			  : json_null());
	ctl_set(o, "service_account", have_wl ? ctl_json_field(wl.sa, sizeof(wl.sa)) : json_null());
	ctl_set(o, "mesh", explain_copy(x->apod, "mesh"));
	ctl_set(o, "local", explain_copy(x->apod, "local"));
	ctl_set(o, "enrolled",
		x->apod ? explain_copy(x->apod, "enrolled") : json_boolean(x->in_netns));
	ctl_set(o, "netns", explain_copy(x->apod, "netns"));
	ctl_set(o, "netns_cookie", x->have_cookie ? ctl_json_hex64(x->cookie) : json_null());
	ctl_set(o, "workload_id", json_integer(x->wl_id));
	ctl_set(o, "datapath", explain_pod_pins(x));
	if (!x->apod)
		explain_note(x->unchecked,
			     "the Pod's name, node, mesh membership and whether it "
			     "is on this node (the agent's /pods%s)",
			     x->pods ? " does not list it" : " did not answer");
	if (x->apod && json_is_true(json_object_get(x->apod, "enrolled")) && x->in_netns &&
	    x->pod.ip != x->ip)
		explain_note(
		    x->issues, "weir_netns holds address %s for the Pod, the agent %s",
		    json_string_value(json_object_get(
			json_object_get(json_object_get(o, "datapath"), "netns_entry"), "ip")),
		    ctl_str(x->apod, "ip"));
	*out = o;
	return CTL_OK;
}

/* {"spiffe_id", "trust_domain", "namespace", "service_account", "mtls", "note"}. */
static json_t *explain_identity(const json_t *pod)
{
	const char *ns = ctl_str(pod, "namespace"), *sa = ctl_str(pod, "service_account");
	json_t *o = json_object();
	char id[256];

	if (!o)
		return NULL;
	if (ns[0] && sa[0]) {
		snprintf(id, sizeof(id), "spiffe://%s/ns/%s/sa/%s", EXPLAIN_TRUST_DOMAIN, ns, sa);
		ctl_set(o, "spiffe_id", json_string(id));
	} else {
		ctl_set(o, "spiffe_id", json_null());
	}
	ctl_set(o, "trust_domain", json_string(EXPLAIN_TRUST_DOMAIN));
	ctl_set(o, "namespace", ns[0] ? json_string(ns) : json_null());
	ctl_set(o, "service_account", sa[0] ? json_string(sa) : json_null());
	ctl_set(o, "mtls", json_false());
	ctl_set(o, "note",
		json_string(ns[0] && sa[0] ? "mTLS is not in force yet: this is the identity the "
					     "Pod will present; today connections are plain TCP"
					   : "no service account known for the Pod's workload "
					     "(weir_wl_info): no identity"));
	return o;
}

/* ---- the Service ---- */

/* The parsed SERVICE:PORT argument. */
struct explain_target {
	char host[256];		 /* before the last ':' */
	char port[64];		 /* number or port name, without the protocol */
	uint8_t proto;		 /* IPPROTO_TCP/UDP when given as /tcp or /udp, else 0 */
	bool is_vip;		 /* host is an IPv4 address */
	uint32_t vip;		 /* then, network order */
	char ns[256], name[256]; /* the Service name, when not an address */
	long portnum;		 /* the port as a number, -1 for a name */
};

/*
 * Splits <arg> into <t>: HOST:PORT[/tcp|/udp], HOST an IPv4 address, name, ns/name,
 * name.ns, name.ns.svc or name.ns.svc.cluster.local; a bare name is in <pod_ns>, as
 * cluster DNS resolves it from the Pod. Returns 0 or -EINVAL with a message.
 */
static int explain_parse_target(const char *arg, const char *pod_ns, struct explain_target *t)
{
	const char *colon = strrchr(arg, ':'), *p, *dot;
	char *slash, *end;
	struct in_addr a;
	size_t n;

	memset(t, 0, sizeof(*t));
	if (!colon || colon == arg || !colon[1] || (size_t)(colon - arg) >= sizeof(t->host) ||
	    strlen(colon + 1) >= sizeof(t->port)) {
		ctl_err("explain: '%s' is not SERVICE:PORT", arg);
		return -EINVAL;
	}
	snprintf(t->host, sizeof(t->host), "%.*s", (int)(colon - arg), arg);
	snprintf(t->port, sizeof(t->port), "%s", colon + 1);
	slash = strchr(t->port, '/');
	if (slash) {
		*slash = '\0';
		if (!strcasecmp(slash + 1, "tcp"))
			t->proto = IPPROTO_TCP;
		else if (!strcasecmp(slash + 1, "udp"))
			t->proto = IPPROTO_UDP;
		else {
			ctl_err("explain: '%s': protocol '%s' is not tcp or udp", arg, slash + 1);
			return -EINVAL;
		}
	}
	if (!t->port[0]) {
		ctl_err("explain: '%s': no port", arg);
		return -EINVAL;
	}
	errno = 0;
	t->portnum = strtol(t->port, &end, 10);
	if (t->port[0] >= '0' && t->port[0] <= '9') {
		if (*end || errno || t->portnum < 1 || t->portnum > 65535) {
			ctl_err("explain: '%s': port '%s' is not 1..65535", arg, t->port);
			return -EINVAL;
		}
	} else {
		t->portnum = -1;
	}
	if (inet_pton(AF_INET, t->host, &a) == 1) {
		t->is_vip = true;
		t->vip = a.s_addr;
		return 0;
	}
	p = strchr(t->host, '/');
	dot = strchr(t->host, '.');
	if (p && !dot && p != t->host && p[1] && !strchr(p + 1, '/')) {
		n = p - t->host;
		snprintf(t->ns, sizeof(t->ns), "%.*s", (int)n, t->host);
		snprintf(t->name, sizeof(t->name), "%s", p + 1);
		return 0;
	}
	if (!p && !dot) {
		snprintf(t->ns, sizeof(t->ns), "%s", pod_ns);
		snprintf(t->name, sizeof(t->name), "%s", t->host);
		return 0;
	}
	if (!p && dot != t->host && dot[1]) {
		const char *rest = strchr(dot + 1, '.');

		if (!rest || !strcmp(rest, ".svc") || !strcmp(rest, ".svc.cluster.local")) {
			n = rest ? (size_t)(rest - dot - 1) : strlen(dot + 1);
			snprintf(t->name, sizeof(t->name), "%.*s", (int)(dot - t->host), t->host);
			snprintf(t->ns, sizeof(t->ns), "%.*s", (int)n, dot + 1);
			if (t->ns[0])
				return 0;
		}
	}
	ctl_err("explain: '%s' is not a Service: name, ns/name, name.ns, "
		"name.ns.svc.cluster.local or an IPv4 address",
		t->host);
	return -EINVAL;
}

/* Finds the agent's port object of <svc> for <t> (by number or name, and protocol). */
static const json_t *explain_agent_port(const json_t *svc, const struct explain_target *t)
{
	const json_t *ports = json_object_get(svc, "ports"), *p, *other = NULL;
	size_t i;

	for (i = 0; i < json_array_size(ports); i++) {
		p = json_array_get(ports, i);
		if (t->portnum >= 0 ? ctl_int(p, "port") != t->portnum
				    : strcmp(ctl_str(p, "name"), t->port))
			continue;
		if (!strcasecmp(ctl_str(p, "protocol"), t->proto == IPPROTO_UDP ? "udp" : "tcp"))
			return p;
		if (!t->proto && !other)
			other = p; /* no protocol given: TCP first, else this one */
	}
	return other;
}

/*
 * Looks up weir_services[<key>] into x->svc (allocated on first use; the entries are
 * 2 KiB). Returns 0, or -errno with x->svc freed and NULL: no entry.
 */
static int explain_svc_lookup(struct explain *x, const struct weir_svc_key *key)
{
	int err;

	if (!x->svc) {
		x->svc = malloc(sizeof(*x->svc));
		if (!x->svc)
			return -ENOMEM;
	}
	if (!bpf_map_lookup_elem(x->svc_fd, key, x->svc))
		return 0;
	err = -errno;
	free(x->svc);
	x->svc = NULL;
	return err;
}

/*
 * Without the agent: the Service id of <t>'s name from weir_svc_info, then its weir_services
 * entry for the port. Returns CTL_OK (x->key set, x->svc filled) or CTL_FAIL with a message.
 */
static int explain_svc_pins(struct explain *x, const struct explain_target *t)
{
	struct weir_svc_key *keys = NULL;
	struct weir_svc_info info;
	struct ctl_map_desc d;
	uint32_t *ids = NULL;
	size_t n, i;
	int rc = CTL_FAIL;

	if (x->names.svc_fd < 0 || ctl_map_desc(x->names.svc_fd, &d) ||
	    ctl_map_keys(x->names.svc_fd, &d, (void **)&ids, &n)) {
		ctl_err("explain: Service '%s': the agent does not answer and weir_svc_info cannot "
			"be read: give the VIP",
			t->host);
		return CTL_FAIL;
	}
	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(x->names.svc_fd, &ids[i], &info))
			continue;
		if (!strncmp(info.ns, t->ns, sizeof(info.ns)) &&
		    !strncmp(info.name, t->name, sizeof(info.name))) {
			x->svc_id = ids[i];
			break;
		}
	}
	free(ids);
	if (!x->svc_id) {
		ctl_err("explain: unknown Service %s/%s (not in %s, nor in weir_svc_info)", t->ns,
			t->name,
			x->services ? "the agent's model" : "the agent, which does not answer,");
		return CTL_FAIL;
	}
	if (t->portnum < 0) {
		ctl_err("explain: port name '%s': port names need the agent's /services (%s); give "
			"the port number",
			t->port, x->agent_err[0] ? x->agent_err : "not answering");
		return CTL_FAIL;
	}
	if (ctl_map_keys(x->svc_fd, &x->svc_d, (void **)&keys, &n)) {
		ctl_err("explain: weir_services cannot be walked");
		return CTL_FAIL;
	}
	for (i = 0; i < n; i++) {
		if (keys[i].port != htons((uint16_t)t->portnum) ||
		    (t->proto && keys[i].proto != t->proto))
			continue;
		if (explain_svc_lookup(x, &keys[i]) || x->svc->id != x->svc_id)
			continue;
		/* TCP first when the protocol was not given, as for the agent's ports. */
		if (rc == CTL_OK && keys[i].proto != IPPROTO_TCP)
			continue;
		x->key = keys[i];
		rc = CTL_OK;
	}
	free(keys);
	if (rc != CTL_OK) {
		ctl_err("explain: Service %s/%s (id %u) has no port %ld%s in weir_services", t->ns,
			t->name, x->svc_id, t->portnum, t->proto == IPPROTO_UDP ? "/udp" : "");
		return CTL_FAIL;
	}
	/* The loop may have looked past the chosen entry: read it again. */
	explain_svc_lookup(x, &x->key);
	return CTL_OK;
}

/* Bit names of weir_backend.flags, as `weirctl services` prints them. */
static const char *const explain_be_flags[] = {"unhealthy"};

/* The weir_services entry with the pick probability of each backend (weir/decide.h's). */
static json_t *explain_entry_json(struct explain *x)
{
	const struct weir_svc *svc = x->svc;
	unsigned i, count = decide_count(svc);
	json_t *o = json_object(), *a = json_array(), *b;

	if (!o || !a) {
		json_decref(o);
		json_decref(a);
		return NULL;
	}
	ctl_set(o, "id", json_integer(svc->id));
	ctl_set(o, "mode",
		svc->mode == WEIR_MODE_KERNEL  ? json_string("kernel")
		: svc->mode == WEIR_MODE_AGENT ? json_string("agent")
					       : json_integer(svc->mode));
	ctl_set(o, "flags", json_integer(svc->flags));
	ctl_set(o, "count", json_integer(svc->count));
	for (i = 0; i < count; i++) {
		const struct weir_backend *be = &svc->backends[i];

		b = json_object();
		if (!b) {
			ctl_append(a, NULL);
			continue;
		}
		ctl_set(b, "index", json_integer(i));
		ctl_set(b, "ip", ctl_json_ip(be->ip));
		ctl_set(b, "port", json_integer(ntohs(be->port)));
		ctl_set(b, "weight", json_integer(be->weight));
		ctl_set(b, "healthy", json_boolean(!(be->flags & WEIR_BE_UNHEALTHY)));
		ctl_set(b, "drained", json_boolean(!be->weight));
		ctl_set(b, "flags", ctl_json_flags(be->flags, explain_be_flags, 1));
		ctl_set(b, "probability", json_real(x->prob[i]));
		ctl_set(b, "workload", ctl_json_workload(&x->names, be->wl_id));
		ctl_append(a, b);
	}
	ctl_set(o, "backends", a);
	return o;
}

/*
 * Resolves the Service and its datapath entry, builds its JSON into *<out>. Returns
 * CTL_OK, CTL_USAGE for a malformed argument, CTL_FAIL for an unknown Service or port.
 */
static int explain_service(struct explain *x, json_t **out)
{
	const json_t *svcs = json_object_get(x->services, "services"), *s;
	struct explain_target t;
	const char *found_by;
	struct in_addr a;
	json_t *o;
	size_t i;

	if (explain_parse_target(x->svc_arg, x->ns, &t))
		return CTL_USAGE;
	for (i = 0; i < json_array_size(svcs) && !x->asvc; i++) {
		s = json_array_get(svcs, i);
		if (t.is_vip ? !strcmp(ctl_str(s, "vip"), t.host)
			     : !strcmp(ctl_str(s, "namespace"), t.ns) &&
				   !strcmp(ctl_str(s, "name"), t.name))
			x->asvc = s;
	}
	if (x->asvc) {
		found_by = "agent";
		x->aport = explain_agent_port(x->asvc, &t);
		if (!x->aport && (t.portnum < 0 || !t.is_vip)) {
			ctl_err("explain: Service %s/%s has no port '%s%s'",
				ctl_str(x->asvc, "namespace"), ctl_str(x->asvc, "name"), t.port,
				t.proto == IPPROTO_UDP ? "/udp"
				: t.proto	       ? "/tcp"
						       : "");
			return CTL_FAIL;
		}
		x->svc_id = (uint32_t)ctl_int(x->asvc, "id");
		if (inet_pton(AF_INET, ctl_str(x->asvc, "vip"), &a) != 1) {
			ctl_err(
			    "explain: Service %s/%s has no ClusterIP (headless): connect() goes to "
			    "Pod addresses, which no Service entry covers",
			    ctl_str(x->asvc, "namespace"), ctl_str(x->asvc, "name"));
			return CTL_FAIL;
		}
		x->key.vip = a.s_addr;
		if (x->aport) {
			x->key.port = htons((uint16_t)ctl_int(x->aport, "port"));
			x->key.proto = strcasecmp(ctl_str(x->aport, "protocol"), "udp")
					   ? IPPROTO_TCP
					   : IPPROTO_UDP;
		} else { /* a VIP and a port the model does not list: the map decides */
			x->key.port = htons((uint16_t)t.portnum);
			x->key.proto = t.proto ? t.proto : IPPROTO_TCP;
		}
		explain_svc_lookup(x, &x->key);
	} else if (t.is_vip) {
		found_by = "address";
		if (t.portnum < 0) {
			ctl_err("explain: port name '%s' with an address: port names need the "
				"Service's name and the agent; give the port number",
				t.port);
			return CTL_FAIL;
		}
		x->key.vip = t.vip;
		x->key.port = htons((uint16_t)t.portnum);
		x->key.proto = t.proto ? t.proto : IPPROTO_TCP;
		if (explain_svc_lookup(x, &x->key) && !t.proto) {
			x->key.proto = IPPROTO_UDP; /* no TCP entry: a UDP one is what was meant */
			if (explain_svc_lookup(x, &x->key))
				x->key.proto = IPPROTO_TCP;
		}
	} else {
		found_by = "pins";
		if (x->services) {
			ctl_err("explain: unknown Service %s/%s (not in the agent's model)", t.ns,
				t.name);
			return CTL_FAIL;
		}
		if (explain_svc_pins(x, &t) != CTL_OK)
			return CTL_FAIL;
	}
	if (x->asvc && !x->svc)
		explain_note(x->issues,
			     "the agent's model has %s/%s port %u/%s, but weir_services "
			     "has no entry for it",
			     ctl_str(x->asvc, "namespace"), ctl_str(x->asvc, "name"),
			     ntohs(x->key.port), x->key.proto == IPPROTO_UDP ? "udp" : "tcp");
	if (x->asvc && x->svc &&
	    strcmp(ctl_str(x->asvc, "mode"), x->svc->mode == WEIR_MODE_AGENT ? "agent" : "kernel"))
		explain_note(x->issues,
			     "the agent's model has the Service in %s mode, weir_services "
			     "in %s mode",
			     ctl_str(x->asvc, "mode"),
			     x->svc->mode == WEIR_MODE_AGENT ? "agent" : "kernel");
	if (x->svc) {
		if (x->svc_id && x->svc_id != x->svc->id)
			explain_note(x->issues,
				     "the agent gives the Service id %u, the weir_services "
				     "entry id %u",
				     x->svc_id, x->svc->id);
		x->svc_id = x->svc->id;
	}
	if (!x->asvc && x->svc && !x->services)
		explain_note(x->unchecked, "the Service's mode, ports and endpoints in the model "
					   "(the agent's /services)");

	o = x->svc_id ? ctl_json_service(&x->names, x->svc_id) : json_object();
	if (!o)
		return CTL_FAIL;
	if (!x->svc_id) {
		ctl_set(o, "id", json_integer(0));
		ctl_set(o, "known", json_false());
		ctl_set(o, "namespace", json_null());
		ctl_set(o, "name", json_null());
	}
	if (x->asvc) {
		ctl_set(o, "known", json_true());
		ctl_set(o, "namespace", explain_copy(x->asvc, "namespace"));
		ctl_set(o, "name", explain_copy(x->asvc, "name"));
	}
	ctl_set(o, "query", json_string(x->svc_arg));
	ctl_set(o, "found_by", json_string(found_by));
	ctl_set(o, "vip", ctl_json_ip(x->key.vip));
	ctl_set(o, "port", json_integer(ntohs(x->key.port)));
	ctl_set(o, "protocol", ctl_json_proto(x->key.proto));
	ctl_set(o, "port_name",
		x->aport && ctl_str(x->aport, "name")[0] ? explain_copy(x->aport, "name")
							 : json_null());
	ctl_set(o, "model_mode", explain_copy(x->asvc, "mode"));
	ctl_set(o, "model_endpoints", x->aport ? explain_copy(x->aport, "endpoints") : json_null());
	*out = o;
	return CTL_OK;
}

/* ---- text ---- */

static const char *explain_who(const json_t *o, char *buf, size_t size)
{
	if (!json_is_true(json_object_get(o, "known")))
		return "unknown";
	snprintf(buf, size, "%s/%s", ctl_str(o, "namespace"), ctl_str(o, "name"));
	return buf;
}

static const char *explain_yn(const json_t *v)
{
	return json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "?";
}

static void explain_print_text(const json_t *root)
{
	const json_t *pod = json_object_get(root, "pod"), *id = json_object_get(root, "identity");
	const json_t *svc = json_object_get(root, "service"), *v = json_object_get(root, "verdict");
	const json_t *pol = json_object_get(root, "policy"),
		     *cnt = json_object_get(root, "counters");
	const json_t *dp = json_object_get(pod, "datapath"), *e, *b, *c, *a;
	char who[300];
	size_t i, j;

	printf("Pod       %s%s%s  %s  node %s%s\n",
	       ctl_str(pod, "namespace")[0] ? ctl_str(pod, "namespace") : "?", "/",
	       ctl_str(pod, "name")[0] ? ctl_str(pod, "name") : "?", ctl_str(pod, "ip"),
	       ctl_str(pod, "node")[0] ? ctl_str(pod, "node") : "?",
	       json_is_true(json_object_get(pod, "local")) ? " (this node)" : "");
	printf("          workload %s, app %s, version %s\n",
	       ctl_str(pod, "workload")[0] ? ctl_str(pod, "workload") : "?",
	       ctl_str(pod, "app")[0] ? ctl_str(pod, "app") : "?",
	       ctl_str(pod, "version")[0] ? ctl_str(pod, "version") : "?");
	printf("          mesh %s, local %s, enrolled %s%s%s\n",
	       explain_yn(json_object_get(pod, "mesh")), explain_yn(json_object_get(pod, "local")),
	       explain_yn(json_object_get(pod, "enrolled")),
	       ctl_str(pod, "netns_cookie")[0] ? ", netns cookie " : "",
	       ctl_str(pod, "netns_cookie"));
	e = json_object_get(dp, "netns_entry");
	if (json_is_object(e))
		printf("          weir_netns[%s]: workload %lld, ip %s\n", ctl_str(e, "cookie"),
		       ctl_int(json_object_get(e, "workload"), "id"), ctl_str(e, "ip"));
	else
		printf("          weir_netns: no entry (connect4 does not see the Pod)\n");
	e = json_object_get(dp, "ip_entry");
	if (json_is_object(e)) {
		printf("          weir_ips[%s]: workload %lld, flags", ctl_str(pod, "ip"),
		       ctl_int(json_object_get(e, "workload"), "id"));
		a = json_object_get(e, "flags");
		for (i = 0; i < json_array_size(a); i++)
			printf("%s%s", i ? "," : " ", json_string_value(json_array_get(a, i)));
		printf("\n");
	} else {
		printf("          weir_ips: no entry (tc does not see the Pod)\n");
	}
	printf("Identity  %s (%s)\n",
	       ctl_str(id, "spiffe_id")[0] ? ctl_str(id, "spiffe_id") : "none",
	       ctl_str(id, "note"));
	printf("Service   %s  %s:%lld/%s  id %lld\n", explain_who(svc, who, sizeof(who)),
	       ctl_str(svc, "vip"), ctl_int(svc, "port"), ctl_str(svc, "protocol"),
	       ctl_int(svc, "id"));
	e = json_object_get(svc, "entry");
	if (json_is_object(e)) {
		printf("          weir_services entry: mode %s, %lld backends\n",
		       ctl_str(e, "mode"), ctl_int(e, "count"));
		a = json_object_get(e, "backends");
		for (i = 0; i < json_array_size(a); i++) {
			char addr[32];

			b = json_array_get(a, i);

			snprintf(addr, sizeof(addr), "%s:%lld", ctl_str(b, "ip"),
				 ctl_int(b, "port"));
			printf("          %-21s weight %-5lld %-9s %6.2f%%  %s\n", addr,
			       ctl_int(b, "weight"),
			       !json_is_true(json_object_get(b, "healthy"))  ? "unhealthy"
			       : json_is_true(json_object_get(b, "drained")) ? "drained"
									     : "healthy",
			       100.0 * json_real_value(json_object_get(b, "probability")),
			       explain_who(json_object_get(b, "workload"), who, sizeof(who)));
		}
	} else {
		printf("          weir_services: no entry\n");
	}
	printf("Verdict   %s (%s): %s\n", ctl_str(v, "action"), ctl_str(v, "reason"),
	       ctl_str(v, "explanation"));
	explain_l7_print(root);
	printf("Policy    %s", json_is_string(json_object_get(pol, "verdict"))
				   ? ctl_str(pol, "verdict")
				   : "not checked");
	if (json_is_integer(json_object_get(pol, "rule")))
		printf(" (rule %lld, %.0f%% of connections)", ctl_int(pol, "rule"),
		       100.0 * json_real_value(json_object_get(pol, "deny_probability")));
	printf("\n");
	a = json_object_get(pol, "paths");
	for (i = 0; i < json_array_size(a); i++) {
		const json_t *checks = json_object_get(json_array_get(a, i), "checks");

		for (j = 0; j < json_array_size(checks); j++) {
			c = json_array_get(checks, j);
			printf("          %-10s %s -> %s:%lld  %s", ctl_str(c, "hook"),
			       ctl_str(c, "direction")[0] == 'e' ? ctl_str(c, "local_ip")
								 : ctl_str(c, "remote_ip"),
			       ctl_str(c, "direction")[0] == 'e' ? ctl_str(c, "remote_ip")
								 : ctl_str(c, "local_ip"),
			       ctl_int(c, "port"), ctl_str(c, "verdict"));
			if (json_is_integer(json_object_get(c, "rule")))
				printf(" (rule %lld, %s)", ctl_int(c, "rule"),
				       ctl_str(json_object_get(c, "match"), "prefix"));
			if (!json_is_true(json_object_get(c, "enforced")))
				printf(" (not enforced: address not in weir_ips)");
			printf("\n");
		}
	}
	e = json_object_get(cnt, "totals");
	printf("Counters  %zu edges: %lld opened, %lld active, %lld bytes sent, %lld received\n",
	       json_array_size(json_object_get(cnt, "edges")), ctl_int(e, "connections_opened"),
	       ctl_int(e, "connections_active"), ctl_int(e, "bytes_sent"),
	       ctl_int(e, "bytes_received"));
	a = json_object_get(root, "issues");
	for (i = 0; i < json_array_size(a); i++)
		printf("Issue     %s\n", json_string_value(json_array_get(a, i)));
	a = json_object_get(root, "unchecked");
	for (i = 0; i < json_array_size(a); i++)
		printf("Unchecked %s\n", json_string_value(json_array_get(a, i)));
}

/* ---- the noun ---- */

/* Opens optional map <name> with its layout checked: fd, or -1 (and a note) when missing. */
static int explain_open_opt(struct explain *x, const char *name, size_t ks, size_t vs,
			    struct ctl_map_desc *d)
{
	int fd = ctl_map_open(name);

	if (fd < 0) {
		explain_note(x->unchecked, "%s is not pinned", name);
		return -1;
	}
	if (ctl_map_desc(fd, d) || d->key_size != ks || d->value_size != vs) {
		explain_note(x->unchecked, "%s has another layout than this weirctl knows", name);
		close(fd);
		return -1;
	}
	return fd;
}

static json_t *explain_agent_json(const struct explain *x)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	ctl_set(o, "admin", json_string(ctl.admin));
	ctl_set(o, "answering", json_boolean(x->status != NULL));
	ctl_set(o, "error", x->status ? json_null() : json_string(x->agent_err));
	ctl_set(o, "node", x->status ? explain_copy(explain_agent_status(x), "node") : json_null());
	ctl_set(o, "node_ip",
		x->status ? explain_copy(explain_agent_status(x), "node_ip") : json_null());
	return o;
}

static int explain_run(struct explain *x, json_t *root, const struct explain_l7_args *l7)
{
	json_t *l7j;
	json_t *pod = NULL, *svc = NULL;
	struct ctl_map_desc ips_d;
	int rc;

	x->netns_fd = ctl_map_open_typed("weir_netns", sizeof(uint64_t), sizeof(struct weir_pod),
					 &x->netns_d);
	if (x->netns_fd < 0)
		return CTL_FAIL;
	x->ips_fd =
	    ctl_map_open_typed("weir_ips", sizeof(uint32_t), sizeof(struct weir_ip), &ips_d);
	if (x->ips_fd < 0)
		return CTL_FAIL;
	x->svc_fd = ctl_map_open_typed("weir_services", sizeof(struct weir_svc_key),
				       sizeof(struct weir_svc), &x->svc_d);
	if (x->svc_fd < 0)
		return CTL_FAIL;
	x->deny_fd = explain_open_opt(x, "weir_deny", sizeof(struct weir_deny_key),
				      sizeof(uint32_t), &x->deny_d);
	x->edges_fd = explain_open_opt(x, "weir_edges", sizeof(struct weir_edge_key),
				       sizeof(struct weir_edge), &x->edges_d);
	if (x->deny_fd >= 0 && ctl_map_keys(x->deny_fd, &x->deny_d, &x->deny_keys, &x->ndeny))
		x->ndeny = 0; /* only the matched prefixes are lost */
	ctl_names_open(&x->names);

	explain_ask_agent(x);
	if (!x->status)
		explain_note(x->unchecked,
			     "the agent's view (admin API %s: %s): the answer comes "
			     "from the pins alone",
			     ctl.admin[0] ? ctl.admin : "''", x->agent_err);
	rc = explain_pod(x, &pod);
	if (rc != CTL_OK)
		return rc;
	ctl_set(root, "pod", pod);
	ctl_set(root, "identity", explain_identity(pod));
	rc = explain_service(x, &svc);
	if (rc != CTL_OK)
		return rc;
	ctl_set(root, "service", svc);
	if (x->svc && x->svc->mode == WEIR_MODE_AGENT)
		explain_cfg(x);
	x->reason = verdict_connect4(x);
	ctl_set(svc, "entry", x->svc ? explain_entry_json(x) : json_null());
	ctl_set(root, "verdict", verdict_json(x));
	l7j = explain_l7(x, l7);
	if (l7j)
		explain_l7_route(l7j, root);
	ctl_set(root, "l7", l7j);
	ctl_set(root, "policy", verdict_policy(x));
	ctl_set(root, "counters", verdict_counters(x));
	ctl_set(root, "agent", explain_agent_json(x));
	return CTL_OK;
}

int do_explain(int argc, char **argv)
{
	struct explain_l7_args l7;
	struct explain x;
	json_t *root;
	int rc;

	rc = explain_l7_args(&argc, argv, &l7);
	if (rc != CTL_OK)
		return rc;
	if (ctl_args_done(argc, argv, 2, false, &rc))
		return rc;
	if (argc != 3) {
		ctl_err("explain: needs POD and SERVICE:PORT (see 'weirctl explain help')");
		return CTL_USAGE;
	}
	memset(&x, 0, sizeof(x));
	x.pod_arg = argv[1];
	x.svc_arg = argv[2];
	x.netns_fd = x.ips_fd = x.svc_fd = x.deny_fd = x.edges_fd = -1;
	x.names.wl_fd = x.names.svc_fd = -1;
	x.unchecked = json_array();
	x.issues = json_array();
	root = json_object();
	if (!x.unchecked || !x.issues || !root) {
		rc = ctl_print(NULL);
		goto out;
	}
	rc = explain_run(&x, root, &l7);
	if (rc == CTL_OK) {
		ctl_set(root, "issues", json_incref(x.issues));
		ctl_set(root, "unchecked", json_incref(x.unchecked));
		rc = ctl_emit(root, explain_print_text, root);
		root = NULL;
	}
out:
	json_decref(root);
	json_decref(x.unchecked);
	json_decref(x.issues);
	json_decref(x.status);
	json_decref(x.pods);
	json_decref(x.services);
	ctl_names_close(&x.names);
	free(x.svc);
	free(x.deny_keys);
	if (x.netns_fd >= 0)
		close(x.netns_fd);
	if (x.ips_fd >= 0)
		close(x.ips_fd);
	if (x.svc_fd >= 0)
		close(x.svc_fd);
	if (x.deny_fd >= 0)
		close(x.deny_fd);
	if (x.edges_fd >= 0)
		close(x.edges_fd);
	return rc;
}
