/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the two halves of `weirctl explain` share: explain.c resolves the Pod, the Service
 * and the agent into one struct explain, verdict.c computes from it what the datapath does
 * with the connection (connect4, tc, the edge counters). Private to those two files.
 */
#ifndef WEIR_CTL_EXPLAIN_H
#define WEIR_CTL_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <weir/config.h>

#include "ctl.h"

/* Where the agent's address came from (verdict.agent.source). */
enum explain_cfg_src {
	EXPLAIN_CFG_NONE = 0, /* unknown: neither the program nor the agent told */
	EXPLAIN_CFG_DATAPATH, /* weir_cfg in the .rodata of the program link_connect4 runs */
	EXPLAIN_CFG_AGENT,    /* the agent's /status node_ip, port assumed 15001 */
};

/* One explain run: the inputs, what was found, and the output being built. */
struct explain {
	const char *pod_arg, *svc_arg;

	/* pinned maps; -1 for the optional ones that are missing */
	int netns_fd, ips_fd, svc_fd, deny_fd, edges_fd;
	struct ctl_map_desc netns_d, deny_d, edges_d, svc_d;
	struct ctl_names names;
	void *deny_keys; /* weir_deny's keys, read once for the matched prefixes */
	size_t ndeny;

	/* the agent's answers; NULL when it did not answer */
	json_t *status, *pods, *services;
	char agent_err[CTL_ADMIN_ERR_LEN];

	/* the Pod */
	const json_t *apod; /* the agent's Pod object, or NULL */
	uint32_t ip;	    /* network order; 0 when the Pod has no address */
	char ns[WEIR_NS_LEN];
	bool have_cookie; /* cookie is known (agent, or found by IP in weir_netns) */
	uint64_t cookie;
	bool in_netns; /* weir_netns[cookie] exists: connect4 sees the Pod enrolled */
	struct weir_pod pod;
	bool in_ips; /* weir_ips[ip] exists */
	struct weir_ip ipent;
	uint32_t wl_id; /* the workload the datapath counts the Pod as */

	/* the Service */
	const json_t *asvc;	 /* the agent's Service object, or NULL */
	const json_t *aport;	 /* its port object, or NULL */
	uint32_t svc_id;	 /* from the entry, the agent or weir_svc_info; 0 unknown */
	struct weir_svc_key key; /* the weir_services key connect4 builds */
	struct weir_svc *svc;	 /* the entry (malloc'd), NULL when there is none */
	double prob[WEIR_MAX_BACKENDS];

	/* the datapath's config block */
	struct weir_config cfg;
	enum explain_cfg_src cfg_src;

	enum weir_reason reason;
	json_t *unchecked; /* [string]: what could not be checked, and why */
	json_t *issues;	   /* [string]: where the agent and the pins disagree */
};

/* Appends the printf-style message <fmt> to the JSON array <arr> (an "unchecked" or "issues"). */
void explain_note(json_t *arr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Predicts connect4 (bpf/sock.bpf.c) for the Pod's connect() to <x>->key by the rules it
 * runs (weir/decide.h): returns the reason
 * the hook will count, and fills <x>->prob with each backend's pick probability. Needs the
 * Pod, the Service entry and, for agent mode, the config block resolved in <x>.
 */
enum weir_reason verdict_connect4(struct explain *x);

/*
 * The connect4 verdict of <x> (after verdict_connect4()) as JSON: {"hook", "action",
 * "reason", "to", "backends", "agent", "explanation"}. Returns a new reference, or NULL.
 */
json_t *verdict_json(struct explain *x);

/*
 * Mirrors tc's deny checks (bpf/tc.bpf.c) on every path the connection of <x> can take
 * (after verdict_connect4()): {"checked", "verdict", "rule", "deny_probability", "paths"}.
 * Notes what it could not check in <x>->unchecked. Returns a new reference, or NULL.
 */
json_t *verdict_policy(struct explain *x);

/*
 * The weir_edges entries of <x>'s workload to its Service, and their totals:
 * {"source_workload", "service_id", "edges", "totals"}. Notes what it could not read in
 * <x>->unchecked. Returns a new reference, or NULL.
 */
json_t *verdict_counters(struct explain *x);

/* The L7 request attributes of `explain` (explain_l7.c). */
#define EXPLAIN_L7_MAX_HDRS 32

struct explain_l7_args {
	const char *hdrs[EXPLAIN_L7_MAX_HDRS]; /* "NAME=VALUE", as given */
	size_t nhdrs;
	const char *path;   /* NULL: the agent's default, "/" */
	const char *method; /* NULL: "GET" */
	bool given;	    /* any of the above was on the command line */
};

/*
 * Takes --header NAME=VALUE (repeatable), --path P and --method M (also "--opt=V") out of
 * <argv> (*<argc> words, <argv>[0] the noun) into <l7>, leaving the other words in order.
 * Returns CTL_OK, or CTL_USAGE with a message for a missing or malformed value.
 */
int explain_l7_args(int *argc, char **argv, struct explain_l7_args *l7);

/*
 * The "l7" object of <x> (Pod and Service resolved): the agent's /routes/explain answer for
 * a request with <l7>'s attributes, plus "checked": true; or {"checked": false, "applies":
 * null, "note"} when the agent or its model cannot answer (noted in x->unchecked when
 * attributes were given). Returns a new reference, or NULL.
 */
json_t *explain_l7(struct explain *x, const struct explain_l7_args *l7);

/* Sets <root>'s "route" (the name of the route taken, or null) and "route_note" from <l7>. */
void explain_l7_route(const json_t *l7, json_t *root);

/* Prints the text form's Route lines of <root> (its "l7" and "route_note"). */
void explain_l7_print(const json_t *root);

#endif /* WEIR_CTL_EXPLAIN_H */
