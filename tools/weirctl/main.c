// SPDX-License-Identifier: Apache-2.0
/*
 * weirctl: inspect a node's weir datapath from its pinned maps, with or without the agent.
 * main() takes the global options out of argv wherever they stand (so `weirctl pods -o
 * json` and `weirctl -o json pods` agree) and hands the rest to the noun's do_<noun>().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weir/maps.h>

#include "ctl.h"
#include "lib/log.h"

static const struct ctl_cmd ctl_cmds[] = {
    {"status", do_status,
     "weirctl status                     maps, links, datapath counters, agent reachability\n"},
    {"pods", do_pods, "weirctl pods                       enrolled Pods (weir_netns) with names\n"},
    {"services", do_services,
     "weirctl services                   Service ports (weir_services) and their backends\n"},
    {"edges", do_edges,
     "weirctl edges                      edge counters (weir_edges) with names resolved\n"},
    {"graph", do_graph,
     "weirctl graph [--window DURATION] [--filter-empty]\n"
     "                                   service graph (-o json|dot|text); rates over the\n"
     "                                   window (default 1s, at most 60s; 0: no rates)\n"
     "weirctl graph --prometheus URL [--time-horizon DURATION] [--filter-empty]\n"
     "                                   the cluster's graph from the Prometheus scraping\n"
     "                                   every agent, over the horizon (default 5m)\n"},
    {"routes", do_routes,
     "weirctl routes                     compiled routes per Service port (the agent's\n"
     "                                   /routes): path, routes, clusters, policies\n"},
    {"explain", do_explain,
     "weirctl explain POD SERVICE:PORT [--header NAME=VALUE]... [--path P] [--method M]\n"
     "                                   why POD's connect() to SERVICE:PORT goes where it\n"
     "                                   goes: enrolment, Service entry, backend, policy,\n"
     "                                   identity, counters, and on an agent-path HTTP port\n"
     "                                   the L7 route a request with these attributes takes.\n"
     "                                   POD: ns/name, name or IP; SERVICE: name, ns/name,\n"
     "                                   name.ns[.svc.cluster.local] or VIP; PORT: number or\n"
     "                                   port name [/tcp|/udp]\n"},
    {"map", do_map, "weirctl map dump NAME              every entry of pinned map NAME, decoded\n"},
};

#define CTL_NCMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

const char *ctl_cmd_usage(const char *name)
{
	size_t i;

	for (i = 0; i < CTL_NCMDS; i++)
		if (!strcmp(ctl_cmds[i].name, name))
			return ctl_cmds[i].usage;
	return NULL;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: weirctl [options] COMMAND [args]   (weirctl COMMAND help for one)\n");
	for (i = 0; i < CTL_NCMDS; i++)
		fprintf(f, "  %s", ctl_cmds[i].usage);
	fprintf(
	    f,
	    "  weirctl help\n"
	    "options (anywhere on the line):\n"
	    "  --bpffs-dir DIR   where weir pins its maps and links (default %s)\n"
	    "  -o, --output FMT  json or text (graph also dot); default text\n"
	    "  --admin ADDR      agent admin API host:port for status, routes, explain (default\n"
	    "                    127.0.0.1:%d; '' skips the agent)\n"
	    "exit status: 0 done, 1 missing pins or a kernel error, 2 bad usage\n",
	    WEIR_BPFFS_DEFAULT, WEIR_PORT_ADMIN);
}

static int parse_output(const char *s)
{
	if (!strcmp(s, "json"))
		ctl.output = CTL_OUT_JSON;
	else if (!strcmp(s, "text"))
		ctl.output = CTL_OUT_TEXT;
	else if (!strcmp(s, "dot"))
		ctl.output = CTL_OUT_DOT;
	else
		return -1;
	return 0;
}

/*
 * If <argv>[*<i>] is global option <name> (also "<name>=VALUE" for long names, "-oVALUE" for
 * -o), stores its value in *<val>, advances *<i> past it and returns 1; returns 0 for
 * another word and -1 when the value is missing.
 */
static int take_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t len = strlen(name);

	if (strncmp(a, name, len))
		return 0;
	if (a[len] == '=' && name[1] == '-') {
		*val = a + len + 1;
		(*i)++;
		return 1;
	}
	if (a[len] && !(name[1] != '-' && len == 2))
		return 0; /* a longer option that merely starts with <name> */
	if (a[len]) {	  /* -oVALUE */
		*val = a + len;
		(*i)++;
		return 1;
	}
	if (*i + 1 >= argc)
		return -1;
	*val = argv[*i + 1];
	*i += 2;
	return 1;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"--bpffs-dir", "--output", "-o", "--admin"};
	char **rest;
	int i, n = 0, k, r;
	const char *val;
	size_t c;

	log_init("weirctl", LOG_WARN);
	ctl.bpffs_dir = WEIR_BPFFS_DEFAULT;
	ctl.admin = "127.0.0.1:15000";
	ctl.output = CTL_OUT_TEXT;

	rest = calloc(argc + 1, sizeof(*rest));
	if (!rest) {
		ctl_err("out of memory");
		return CTL_FAIL;
	}
	for (i = 1; i < argc;) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			free(rest);
			return CTL_OK;
		}
		if (!strcmp(argv[i], "--")) { /* the rest is arguments, not options */
			while (++i < argc)
				rest[n++] = argv[i];
			break;
		}
		for (k = 0, r = 0; k < 4 && !r; k++)
			r = take_opt(argc, argv, &i, names[k], &val);
		if (r < 0) {
			ctl_err("option '%s' needs a value", argv[i]);
			goto out_usage;
		}
		if (!r) {
			rest[n++] = argv[i++];
			continue;
		}
		k--;
		if (k == 0) {
			ctl.bpffs_dir = val;
		} else if (k == 3) {
			ctl.admin = val;
		} else if (parse_output(val)) {
			ctl_err("-o: '%s' is not json, text or dot", val);
			goto out_usage;
		}
	}
	if (!n) {
		usage(stderr);
		goto out_usage;
	}
	if (!strcmp(rest[0], "help")) {
		usage(stdout);
		free(rest);
		return CTL_OK;
	}
	for (c = 0; c < CTL_NCMDS; c++) {
		if (!strcmp(ctl_cmds[c].name, rest[0])) {
			r = ctl_cmds[c].fn(n, rest);
			free(rest);
			return r;
		}
	}
	ctl_err("unknown command '%s' (see 'weirctl help')", rest[0]);
out_usage:
	free(rest);
	return CTL_USAGE;
}
