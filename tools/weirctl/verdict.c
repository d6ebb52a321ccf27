// SPDX-License-Identifier: Apache-2.0
/*
 * What the datapath does with the connection `weirctl explain` asks about: connect4's
 * verdict and backend odds (bpf/sock.bpf.c, by the rules of weir/decide.h that the kernel
 * runs too, not a copy of them), tc's deny checks on each path
 * (bpf/tc.bpf.c) and the matching weir_edges counters, computed over the pinned maps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <bpf/bpf.h>

#include <weir/decide.h>

#include "ctl.h"
#include "explain.h"

/* <ip> (network order) as dotted quad in <buf> (INET_ADDRSTRLEN bytes), or "?". */
static const char *verdict_ipstr(uint32_t ip, char *buf)
{
	struct in_addr a = {.s_addr = ip};

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN) ? buf : "?";
}

/* ---- the verdict: what connect4 does ---- */

/*
 * Predicts sock4_connect() (bpf/sock.bpf.c) by the rules it runs, from weir/decide.h:
 * returns the reason the hook will count for the Pod's connect() to <x>->key, and puts in
 * <x>->prob each backend's chance (decide_be_weight() / the sum decide_pick_sum() makes,
 * so unhealthy and drained count 0). Socket storage failing (no_storage) depends on the
 * kernel's memory at that moment and is not predicted.
 */
enum weir_reason verdict_connect4(struct explain *x)
{
	const struct weir_svc *svc = x->svc;
	struct decide_pick p;
	unsigned i, n;
	uint32_t path;

	memset(x->prob, 0, sizeof(x->prob));
	if (!x->in_netns)
		return WEIR_R_NOT_ENROLLED;
	if (!decide_l4(x->key.proto))
		return WEIR_R_NOT_SERVICE;
	if (!svc)
		return WEIR_R_NOT_SERVICE;
	n = decide_count(svc);
	decide_pick_init(&p);
	for (i = 0; i < n; i++)
		decide_pick_sum(&p, decide_be_weight(&svc->backends[i]));
	for (i = 0; i < n && p.total; i++)
		x->prob[i] = (double)decide_be_weight(&svc->backends[i]) / (double)p.total;
	/* An unknown config block is taken as the agent path being on: the agent's default. */
	path = decide_svc_path(svc->mode,
			       x->cfg_src == EXPLAIN_CFG_NONE ? UINT32_MAX : x->cfg.agent_ip);
	if (path == WEIR_R_TO_AGENT)
		return WEIR_R_TO_AGENT;
	if (!p.total)
		return WEIR_R_NO_BACKEND;
	return (enum weir_reason)path;
}

/* {"ip", "port", "probability", "workload"} of backend <i>. */
static json_t *verdict_dest(struct explain *x, unsigned i)
{
	const struct weir_backend *be = &x->svc->backends[i];
	json_t *o = json_object();

	if (!o)
		return NULL;
	ctl_set(o, "ip", ctl_json_ip(be->ip));
	ctl_set(o, "port", json_integer(ntohs(be->port)));
	ctl_set(o, "probability", json_real(x->prob[i]));
	ctl_set(o, "workload", ctl_json_workload(&x->names, be->wl_id));
	return o;
}

/*
 * Takes <x> after verdict_connect4(); returns connect4's verdict as a new JSON object (NULL
 * when out of memory), with the agent's address when the Service is in agent mode.
 */
json_t *verdict_json(struct explain *x)
{
	json_t *o = json_object(), *bes = json_array(), *ag;
	bool rewritten = x->reason == WEIR_R_LB_KERNEL || x->reason == WEIR_R_TO_AGENT ||
			 x->reason == WEIR_R_NO_AGENT;
	char why[512], ip[INET_ADDRSTRLEN], vip[INET_ADDRSTRLEN];
	const json_t *apod_local = json_object_get(x->apod, "local");
	unsigned i, n = x->svc ? decide_count(x->svc) : 0;

	if (!o || !bes) {
		json_decref(o);
		json_decref(bes);
		return NULL;
	}
	verdict_ipstr(x->key.vip, vip);
	ctl_set(o, "hook", json_string("connect4"));
	ctl_set(o, "action", json_string(rewritten ? "rewritten" : "untouched"));
	ctl_set(o, "reason", json_string(ctl_reason_name(x->reason)));
	ctl_set(o, "to",
		json_string(x->reason == WEIR_R_TO_AGENT ? "agent"
			    : rewritten			 ? "backend"
							 : "original"));
	for (i = 0; i < n && (rewritten || x->reason == WEIR_R_TO_AGENT); i++)
		if (x->prob[i] > 0)
			ctl_append(bes, verdict_dest(x, i));
	ctl_set(o, "backends", bes);
	if (x->svc && x->svc->mode == WEIR_MODE_AGENT) {
		ag = json_object();
		if (ag) {
			ctl_set(ag, "ip", x->cfg_src ? ctl_json_ip(x->cfg.agent_ip) : json_null());
			ctl_set(ag, "port",
				x->cfg_src ? json_integer(ntohs(x->cfg.agent_port)) : json_null());
			ctl_set(ag, "source",
				json_string(x->cfg_src == EXPLAIN_CFG_DATAPATH ? "datapath"
					    : x->cfg_src == EXPLAIN_CFG_AGENT  ? "agent_status"
									       : "unknown"));
			ctl_set(ag, "answering", json_boolean(x->status != NULL));
		}
		ctl_set(o, "agent", ag);
	} else {
		ctl_set(o, "agent", json_null());
	}
	switch (x->reason) {
	case WEIR_R_NOT_ENROLLED:
		snprintf(why, sizeof(why),
			 "the socket's netns is not in weir_netns: connect() goes "
			 "to %s:%u unchanged, as without a mesh%s",
			 vip, ntohs(x->key.port),
			 json_is_false(apod_local) ? " (the Pod runs on another node: explain it "
						     "there, where its netns is enrolled)"
						   : "");
		break;
	case WEIR_R_NOT_SERVICE:
		snprintf(why, sizeof(why),
			 "weir_services has no entry for %s:%u/%s: connect() goes "
			 "there unchanged",
			 vip, ntohs(x->key.port), x->key.proto == IPPROTO_UDP ? "udp" : "tcp");
		break;
	case WEIR_R_NO_BACKEND:
		snprintf(why, sizeof(why),
			 "no backend has a usable weight (all unhealthy, drained "
			 "or none): connect4 fails open and connect() goes to the "
			 "VIP %s:%u, which nothing answers without kube-proxy",
			 vip, ntohs(x->key.port));
		break;
	case WEIR_R_TO_AGENT:
		if (x->cfg_src)
			snprintf(why, sizeof(why),
				 "agent mode: connect() goes to the node agent at "
				 "%s:%u, which picks a backend by the same weights%s%s",
				 verdict_ipstr(x->cfg.agent_ip, ip), ntohs(x->cfg.agent_port),
				 json_array_size(bes) ? ""
						      : "; no backend is usable, so the agent "
							"resets the connection",
				 x->status ? ""
					   : "; the agent does not answer, so the connection "
					     "will be refused");
		else
			snprintf(why, sizeof(why),
				 "agent mode: connect() goes to the node agent "
				 "(its address could not be read), which picks a "
				 "backend by the same weights");
		break;
	case WEIR_R_NO_AGENT:
		snprintf(why, sizeof(why),
			 "agent mode, but the datapath has no agent address "
			 "(agent_ip 0): connect4 balances in the kernel instead; "
			 "connect() goes to one backend, by weight");
		break;
	default:
		snprintf(why, sizeof(why),
			 "connect() goes to one backend, picked by weight at "
			 "connect(); getpeername() still shows %s:%u",
			 vip, ntohs(x->key.port));
		break;
	}
	ctl_set(o, "explanation", json_string(why));
	return o;
}

/* ---- policy: what tc does on the way ---- */

/* The longest weir_deny key matching <k> (same fixed fields), as "a.b.c.d/len", or NULL. */
static json_t *verdict_deny_prefix(struct explain *x, const struct weir_deny_key *k)
{
	const struct weir_deny_key *keys = x->deny_keys, *best = NULL;
	char buf[INET_ADDRSTRLEN + 4], ip[INET_ADDRSTRLEN];
	uint32_t plen, mask;
	size_t i;

	for (i = 0; i < x->ndeny; i++) {
		if (keys[i].wl_id != k->wl_id || keys[i].dir != k->dir ||
		    keys[i].proto != k->proto || keys[i].port != k->port ||
		    keys[i].prefixlen < WEIR_DENY_FIXED_BITS ||
		    keys[i].prefixlen > WEIR_DENY_FIXED_BITS + 32)
			continue;
		plen = keys[i].prefixlen - WEIR_DENY_FIXED_BITS;
		mask = plen ? htonl(~0U << (32 - plen)) : 0;
		if ((keys[i].remote & mask) != (k->remote & mask))
			continue;
		if (!best || keys[i].prefixlen > best->prefixlen)
			best = &keys[i];
	}
	if (!best)
		return json_null();
	snprintf(buf, sizeof(buf), "%s/%u", verdict_ipstr(best->remote, ip),
		 best->prefixlen - WEIR_DENY_FIXED_BITS);
	return json_string(buf);
}

/*
 * Mirrors tc_pod() and tc_denied() (bpf/tc.bpf.c) for one packet of the
 * connection: <local_ip> is the Pod whose veth tc sits on, <remote> the other end, <port>
 * the destination port (host order). Returns the check as JSON; *<rule> gets the deny
 * rule id, or stays 0 when allowed.
 */
static json_t *verdict_check(struct explain *x, uint8_t dir, uint32_t local_ip, uint32_t remote,
			     uint16_t port, uint32_t *rule)
{
	struct weir_deny_key k;
	struct weir_ip local;
	json_t *o = json_object(), *m;
	uint32_t val;
	bool hit = false;

	*rule = 0;
	if (!o)
		return NULL;
	ctl_set(o, "hook", json_string(dir == WEIR_DIR_EGRESS ? "tc_egress" : "tc_ingress"));
	ctl_set(o, "direction", json_string(dir == WEIR_DIR_EGRESS ? "egress" : "ingress"));
	ctl_set(o, "local_ip", ctl_json_ip(local_ip));
	ctl_set(o, "remote_ip", ctl_json_ip(remote));
	ctl_set(o, "port", json_integer(port));
	ctl_set(o, "protocol", ctl_json_proto(x->key.proto));
	if (bpf_map_lookup_elem(x->ips_fd, &local_ip, &local)) {
		/* tc_egress/tc_ingress: an address outside weir_ips is not_enrolled, passed. */
		ctl_set(o, "enforced", json_false());
		ctl_set(o, "workload", json_null());
		ctl_set(o, "verdict", json_string("allow"));
		ctl_set(o, "rule", json_null());
		ctl_set(o, "match", json_null());
		ctl_set(o, "note",
			json_string("the local address is not in weir_ips: tc passes "
				    "the packet (not_enrolled)"));
		return o;
	}
	ctl_set(o, "enforced", json_true());
	ctl_set(o, "workload", ctl_json_workload(&x->names, local.wl_id));
	memset(&k, 0, sizeof(k));
	k.prefixlen = WEIR_DENY_FIXED_BITS + 32;
	k.wl_id = local.wl_id;
	k.dir = dir;
	k.proto = x->key.proto;
	k.port = htons(port);
	k.remote = remote;
	if (k.port && !bpf_map_lookup_elem(x->deny_fd, &k, &val))
		hit = true;
	if (!hit) {
		k.port = 0;
		hit = !bpf_map_lookup_elem(x->deny_fd, &k, &val);
	}
	ctl_set(o, "verdict", json_string(hit ? "deny" : "allow"));
	ctl_set(o, "rule", hit ? json_integer(val) : json_null());
	if (hit) {
		*rule = val;
		m = json_object();
		if (m) {
			ctl_set(m, "port", json_integer(ntohs(k.port)));
			ctl_set(m, "prefix", verdict_deny_prefix(x, &k));
		}
		ctl_set(o, "match", m);
	} else {
		ctl_set(o, "match", json_null());
	}
	ctl_set(o, "note",
		(local.flags & WEIR_IP_LOCAL) || !(local.flags & WEIR_IP_POD)
		    ? json_null()
		    : json_string("the local Pod is on another node: its node's tc "
				  "enforces this with its weir_deny (this node's "
				  "entries were read)"));
	return o;
}

/*
 * One path of the connection through tc, to backend <be> (-1: none) with <prob>, connect()
 * going to <dst_ip>:<dst_port>: {"backend", "probability", "checks", "verdict", "rule"}.
 * Adds <prob> to *<denied> when a check denies it.
 */
static json_t *verdict_path(struct explain *x, int be, double prob, uint32_t dst_ip,
			    uint16_t dst_port, bool via_agent, double *denied)
{
	json_t *o = json_object(), *checks = json_array();
	uint32_t rule = 0, r, src = x->ip;
	const struct weir_backend *b = be >= 0 ? &x->svc->backends[be] : NULL;

	if (!o || !checks) {
		json_decref(o);
		json_decref(checks);
		return NULL;
	}
	ctl_set(o, "backend", b ? verdict_dest(x, (unsigned)be) : json_null());
	ctl_set(o, "probability", json_real(prob));
	/* The Pod's own packets leave through its veth, to wherever connect() sent them. */
	ctl_append(checks, verdict_check(x, WEIR_DIR_EGRESS, x->ip, dst_ip, dst_port, &r));
	rule = r;
	/* The agent's relay connects from its node address (relay source_ip = agent_ip). */
	if (via_agent)
		src = x->cfg.agent_ip;
	if (b)
		ctl_append(checks,
			   verdict_check(x, WEIR_DIR_INGRESS, b->ip, src, ntohs(b->port), &r));
	else if (!via_agent)
		ctl_append(checks, verdict_check(x, WEIR_DIR_INGRESS, dst_ip, src, dst_port, &r));
	else
		r = 0;
	if (!rule)
		rule = r;
	ctl_set(o, "checks", checks);
	ctl_set(o, "verdict", json_string(rule ? "deny" : "allow"));
	ctl_set(o, "rule", rule ? json_integer(rule) : json_null());
	if (rule)
		*denied += prob;
	return o;
}

/*
 * Takes <x> after verdict_connect4(); returns tc's verdict over every path connect4 can send
 * the connection on (one per backend it may pick, weighted by x->prob) as a new JSON object,
 * NULL when out of memory. What it cannot check goes to x->unchecked.
 */
json_t *verdict_policy(struct explain *x)
{
	json_t *o = json_object(), *paths = json_array(), *p, *first = NULL;
	double denied = 0;
	size_t npaths, ndeny = 0, i;
	unsigned n = x->svc ? decide_count(x->svc) : 0;
	bool any = false;

	if (!o || !paths) {
		json_decref(o);
		json_decref(paths);
		return NULL;
	}
	ctl_set(o, "checked", json_boolean(x->deny_fd >= 0 && x->ip));
	if (x->deny_fd < 0 || !x->ip) {
		explain_note(x->unchecked, "L3/L4 policy: %s",
			     x->ip ? "weir_deny is not pinned" : "the Pod has no address");
		json_decref(paths);
		ctl_set(o, "verdict", json_null());
		ctl_set(o, "rule", json_null());
		ctl_set(o, "deny_probability", json_null());
		ctl_set(o, "paths", json_array());
		return o;
	}
	if (x->reason == WEIR_R_TO_AGENT && x->cfg_src == EXPLAIN_CFG_NONE) {
		explain_note(x->unchecked, "L3/L4 policy on the way to the agent: its address "
					   "is unknown");
	} else if (x->reason == WEIR_R_TO_AGENT) {
		for (i = 0; i < n; i++) {
			if (x->prob[i] <= 0)
				continue;
			any = true;
			ctl_append(paths, verdict_path(x, (int)i, x->prob[i], x->cfg.agent_ip,
						       ntohs(x->cfg.agent_port), true, &denied));
		}
		if (!any) /* the agent accepts, finds no backend and resets */
			ctl_append(paths, verdict_path(x, -1, 1.0, x->cfg.agent_ip,
						       ntohs(x->cfg.agent_port), true, &denied));
	} else if (x->reason == WEIR_R_LB_KERNEL || x->reason == WEIR_R_NO_AGENT) {
		for (i = 0; i < n; i++)
			if (x->prob[i] > 0)
				ctl_append(paths, verdict_path(x, (int)i, x->prob[i],
							       x->svc->backends[i].ip,
							       ntohs(x->svc->backends[i].port),
							       false, &denied));
	} else {
		ctl_append(paths, verdict_path(x, -1, 1.0, x->key.vip, ntohs(x->key.port), false,
					       &denied));
	}
	npaths = json_array_size(paths);
	for (i = 0; i < npaths; i++) {
		p = json_array_get(paths, i);
		if (json_is_integer(json_object_get(p, "rule"))) {
			ndeny++;
			if (!first)
				first = json_object_get(p, "rule");
		}
	}
	ctl_set(o, "verdict",
		json_string(!npaths	      ? "unknown"
			    : !ndeny	      ? "allow"
			    : ndeny == npaths ? "deny"
					      : "partial"));
	ctl_set(o, "rule", first ? json_incref(first) : json_null());
	ctl_set(o, "deny_probability", json_real(denied));
	ctl_set(o, "paths", paths);
	return o;
}

/* ---- counters ---- */

/*
 * Takes resolved <x>; returns the weir_edges entries from the Pod's workload to the Service
 * and their totals as a new JSON object, NULL when out of memory. A missing weir_edges or
 * id goes to x->unchecked.
 */
json_t *verdict_counters(struct explain *x)
{
	static const char *const sums[] = {
	    "connections_opened", "connections_closed", "connections_active", "bytes_sent",
	    "bytes_received",	  "packets_sent",	"packets_received",
	};
	json_t *o = json_object(), *edges = json_array(), *tot = json_object(), *e, *v;
	long long t[sizeof(sums) / sizeof(sums[0])] = {0};
	struct weir_edge_key *keys = NULL;
	struct weir_edge val;
	size_t n = 0, i, j;

	if (!o || !edges || !tot) {
		json_decref(o);
		json_decref(edges);
		json_decref(tot);
		return NULL;
	}
	ctl_set(o, "source_workload", json_integer(x->wl_id));
	ctl_set(o, "service_id", json_integer(x->svc_id));
	if (x->edges_fd < 0 || ctl_map_keys(x->edges_fd, &x->edges_d, (void **)&keys, &n)) {
		explain_note(x->unchecked,
			     "counters: weir_edges is not pinned or cannot be walked");
		n = 0;
	} else if (!x->wl_id || !x->svc_id) {
		explain_note(x->unchecked, "counters: %s",
			     !x->wl_id ? "the Pod has no workload id, so no edge is its own"
				       : "the Service has no id, so no edge names it");
		n = 0;
	}
	for (i = 0; i < n; i++) {
		if (keys[i].src_wl != x->wl_id || keys[i].svc_id != x->svc_id ||
		    bpf_map_lookup_elem(x->edges_fd, &keys[i], &val))
			continue;
		e = edges_json_key(&x->names, &keys[i]);
		v = edges_json_val(&val);
		if (e && v)
			json_object_update(e, v);
		json_decref(v);
		for (j = 0; e && j < sizeof(sums) / sizeof(sums[0]); j++)
			t[j] += ctl_int(e, sums[j]);
		ctl_append(edges, e);
	}
	free(keys);
	for (j = 0; j < sizeof(sums) / sizeof(sums[0]); j++)
		ctl_set(tot, sums[j], json_integer(t[j]));
	ctl_set(o, "edges", edges);
	ctl_set(o, "totals", tot);
	return o;
}
