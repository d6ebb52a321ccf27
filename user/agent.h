/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node agent as a library: main() parses flags into agent_opts and calls agent_run().
 * The control thread (the caller's) owns the datapath, the config store and the event
 * loop that serves the CNI socket and the HTTP endpoints; the relay runs worker threads.
 */
#ifndef WEIR_USER_AGENT_H
#define WEIR_USER_AGENT_H

#include <stdbool.h>

struct agent_opts {
	const char *config_dir;	    /* --config-dir: YAML files (the file-based source) */
	const char *bpffs_dir;	    /* --bpffs-dir: pins (default /sys/fs/bpf/weir) */
	const char *cgroup;	    /* --cgroup: cgroup2 dir to attach to (default: the mount) */
	const char *node_name;	    /* --node-name: whose Pods to enroll (default: hostname) */
	const char *node_ip;	    /* --node-ip: this agent's address for redirected connects */
	const char *cni_socket;	    /* --cni-socket: unix socket for weir-cni ("" = off) */
	const char *outbound_addr;  /* --outbound-addr: relay listener (0.0.0.0:15001) */
	const char *metrics_addr;   /* --metrics-addr: /metrics /graph /dotviz (0.0.0.0:15020) */
	const char *health_addr;    /* --health-addr: /healthz/ready (0.0.0.0:15021) */
	const char *admin_addr;	    /* --admin-addr: admin API, localhost only (127.0.0.1:15000) */
	int workers;		    /* --workers: relay threads (default 2) */
	int flush_interval;	    /* --flush-interval: seconds between flushes of open
				     * connections' bytes to their edges (default 5; 0: at close) */
	bool splice;		    /* --no-splice turns sk_msg splicing off */
	bool l4_only;		    /* --l4-only: the relay does no HTTP (TCP pass-through) */
	bool flow_counters;	    /* --no-flow-counters turns edge counting off */
	const char *handoff_socket; /* --handoff-socket: where a successor binary asks for the
				     * listeners (default "": no hand-over; the DaemonSet sets
				     * /run/weir/handoff.sock) */
	int drain_seconds;	    /* --drain-seconds: how long a replaced agent finishes
				     * requests in flight (default 10) */
	const char *zipkin_addr;    /* --zipkin-addr: span collector host:port, overriding the
				     * mesh config's zipkin provider (default: none) */
	double trace_sampling;	    /* --trace-sampling: percent of new traces sampled,
				     * overriding the mesh config (default -1: config, 1 %) */
	const char *access_log;	    /* --access-log: file for access logs (NULL: off) */
	int access_log_encoding;    /* --access-log-encoding: enum accesslog_encoding */
	int verbosity;		    /* -v: 0 info, 1 debug */
};

/* Fills <opts> with the defaults. */
void agent_opts_default(struct agent_opts *opts);

/*
 * Runs the agent until SIGINT/SIGTERM. Returns 0 on a clean stop, or a negative errno
 * when start-up failed (the reason is logged). Pins, links and tc filters stay behind on
 * purpose: kernel-path connections keep working while the agent is away.
 */
int agent_run(const struct agent_opts *opts);

/* Removes everything weir pinned under <bpffs_dir> (weir-agent --uninstall). */
int agent_uninstall(const char *bpffs_dir);

#endif /* WEIR_USER_AGENT_H */
