// SPDX-License-Identifier: Apache-2.0
/*
 * `weirctl graph`: the service graph straight from the pinned weir_edges, in exactly the
 * shape of the agent's /graph and /dotviz (the same builder and writers, user/graph.c).
 * Rates need two points in time: weirctl reads the edges, waits --window, reads them again
 * and lets a caller-driven telemetry (no event loop) turn the difference into qps.
 * With --prometheus URL the graph is the cluster's instead, from the Prometheus that scrapes
 * every node agent (telemetry/promgraph.h), over --time-horizon, as weir-graph serves it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "ctl.h"
#include "telemetry/graph.h"
#include "telemetry/promgraph.h"
#include "lib/strbuf.h"

#define GRAPH_CMD_WINDOW_DEFAULT_MS 1000
#define GRAPH_CMD_WINDOW_MAX_MS	    60000
#define GRAPH_CMD_HORIZON_DEFAULT   "5m"
#define GRAPH_CMD_PROM_TIMEOUT_MS   5000

/* graph's own options. */
struct graph_cmd_opts {
	uint64_t window_ms;
	bool filter_empty;
	const char *prometheus; /* NULL: the pinned maps of this node */
	uint64_t horizon_ms;	/* with prometheus */
};

/* Reads every weir_edges entry into a malloc'd array (caller frees). Returns 0 or -errno. */
static int graph_cmd_rows(int fd, const struct ctl_map_desc *d, struct telemetry_row **rows,
			  size_t *n)
{
	struct weir_edge_key *keys = NULL;
	struct telemetry_row *r;
	size_t nkeys, i, m = 0;
	int err;

	*rows = NULL;
	*n = 0;
	err = ctl_map_keys(fd, d, (void **)&keys, &nkeys);
	if (err) {
		ctl_err("weir_edges: cannot walk the keys: %s", strerror(-err));
		return err;
	}
	r = calloc(nkeys ? nkeys : 1, sizeof(*r));
	if (!r) {
		free(keys);
		ctl_err("out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < nkeys; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], &r[m].val)) {
			if (errno == ENOENT)
				continue; /* the edge went away during the walk */
			err = -errno;
			ctl_err("weir_edges: lookup failed: %s", strerror(errno));
			free(r);
			free(keys);
			return err;
		}
		r[m++].key = keys[i];
	}
	free(keys);
	*rows = r;
	*n = m;
	return 0;
}

static void graph_cmd_sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void graph_cmd_print_text(const struct graph *g)
{
	size_t i;

	printf("%zu nodes, %zu edges\n", g->nnodes, g->nedges);
	for (i = 0; i < g->nedges; i++) {
		const struct graph_edge *e = &g->edges[i];

		printf("%s -> %s version=%s protocol=%s qps=%.6f bytes_per_sec=%.6f conns=%llu\n",
		       e->source, e->target, e->version, graph_protocol(e->protos), e->qps,
		       e->bytes_per_sec, (unsigned long long)e->conns);
	}
}

/* Parses graph's own options into <o>; returns CTL_OK or CTL_USAGE (message printed). */
static int graph_cmd_args(int argc, char **argv, struct graph_cmd_opts *o)
{
	static const struct option longopts[] = {
	    {"window", required_argument, NULL, 'w'},
	    {"filter-empty", no_argument, NULL, 'f'},
	    {"prometheus", required_argument, NULL, 'p'},
	    {"time-horizon", required_argument, NULL, 'H'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t *window_ms = &o->window_ms;
	int c;

	memset(o, 0, sizeof(*o));
	*window_ms = GRAPH_CMD_WINDOW_DEFAULT_MS;
	telemetry_parse_duration(GRAPH_CMD_HORIZON_DEFAULT, &o->horizon_ms);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (telemetry_parse_duration(optarg, window_ms) ||
			    *window_ms > GRAPH_CMD_WINDOW_MAX_MS) {
				ctl_err("graph: --window '%s' is not a duration from 0 to 60s "
					"(e.g. 500ms, 5s)",
					optarg);
				return CTL_USAGE;
			}
			break;
		case 'f':
			o->filter_empty = true;
			break;
		case 'p':
			o->prometheus = optarg;
			break;
		case 'H':
			if (telemetry_parse_duration(optarg, &o->horizon_ms) ||
			    o->horizon_ms < 1000) {
				ctl_err(
				    "graph: --time-horizon '%s' is not a duration of at least 1s "
				    "(e.g. 30s, 5m)",
				    optarg);
				return CTL_USAGE;
			}
			break;
		default:
			ctl_err("graph: unknown option or missing value '%s' (see 'weirctl graph "
				"help')",
				argv[optind - 1]);
			return CTL_USAGE;
		}
	}
	if (optind < argc) {
		ctl_err("graph: unexpected argument '%s'", argv[optind]);
		return CTL_USAGE;
	}
	return CTL_OK;
}

/* Prints <g> in the -o format. Returns CTL_OK or CTL_FAIL (message printed). */
static int graph_cmd_print(const struct graph *g)
{
	struct strbuf out;
	int err, rc = CTL_OK;

	if (ctl.output == CTL_OUT_TEXT) {
		graph_cmd_print_text(g);
		return CTL_OK;
	}
	strbuf_init(&out);
	err = ctl.output == CTL_OUT_DOT ? graph_write_dot(g, &out) : graph_write_json(g, &out);
	if (err || fputs(strbuf_str(&out), stdout) == EOF || fflush(stdout)) {
		ctl_err("graph: writing the output failed");
		rc = CTL_FAIL;
	}
	strbuf_fini(&out);
	return rc;
}

/* The cluster graph from the Prometheus at <o>->prometheus. */
static int graph_cmd_prometheus(const struct graph_cmd_opts *o)
{
	struct promgraph_err perr;
	struct promgraph *pg;
	struct graph g;
	int rc = CTL_FAIL;

	pg = promgraph_new(o->prometheus, GRAPH_CMD_PROM_TIMEOUT_MS);
	if (!pg) {
		ctl_err("graph: --prometheus '%s': %s", o->prometheus,
			errno == EINVAL ? "want an http:// or https:// URL" : strerror(errno));
		return errno == EINVAL ? CTL_USAGE : CTL_FAIL;
	}
	if (promgraph_fetch(pg, o->horizon_ms, o->filter_empty, &g, &perr))
		ctl_err("graph: %s", perr.msg);
	else
		rc = graph_cmd_print(&g);
	graph_fini(&g);
	promgraph_free(pg);
	return rc;
}

int do_graph(int argc, char **argv)
{
	struct telemetry_row *rows0 = NULL, *rows1 = NULL;
	struct graph_opts gopts = {0};
	struct telemetry_names tnames;
	struct telemetry *tel = NULL;
	struct ctl_names names;
	struct ctl_map_desc d;
	struct graph_cmd_opts o;
	struct graph g = {0};
	uint64_t t0, t1;
	size_t n0, n1;
	int fd, rc, err;

	if (argc >= 2 && !strcmp(argv[1], "help")) {
		ctl_args_done(argc, argv, 1, true, &rc);
		return rc;
	}
	rc = graph_cmd_args(argc, argv, &o);
	if (rc)
		return rc;
	if (o.prometheus)
		return graph_cmd_prometheus(&o);
	fd = ctl_map_open_typed("weir_edges", sizeof(struct weir_edge_key),
				sizeof(struct weir_edge), &d);
	if (fd < 0)
		return CTL_FAIL;
	ctl_names_open(&names);
	ctl_names_telemetry(&names, &tnames);
	rc = CTL_FAIL;

	t0 = telemetry_now_ms();
	if (graph_cmd_rows(fd, &d, &rows0, &n0))
		goto out;
	if (o.window_ms) {
		graph_cmd_sleep_ms(o.window_ms);
		t1 = telemetry_now_ms();
		if (graph_cmd_rows(fd, &d, &rows1, &n1))
			goto out;
		tel = telemetry_new(NULL, NULL, NULL, NULL);
		if (!tel || telemetry_sample_rows(tel, t0, rows0, n0)) {
			ctl_err("graph: cannot record the first sample: out of memory");
			goto out;
		}
		gopts.tel = tel;
		gopts.now_ms = t1;
		gopts.horizon_ms = t1 - t0;
	} else { /* no window: the graph without rates (qps "0.000000") */
		rows1 = rows0;
		n1 = n0;
		rows0 = NULL;
		gopts.now_ms = t0;
	}
	gopts.filter_empty = o.filter_empty;
	err = graph_build(&g, rows1, n1, &tnames, &gopts);
	if (err) {
		ctl_err("graph: building the graph failed: %s", strerror(-err));
		goto out;
	}
	rc = graph_cmd_print(&g);
out:
	graph_fini(&g);
	telemetry_free(tel);
	free(rows0);
	free(rows1);
	ctl_names_close(&names);
	close(fd);
	return rc;
}
