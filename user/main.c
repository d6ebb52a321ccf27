// SPDX-License-Identifier: Apache-2.0
/*
 * weir-agent: flags in, agent_run() out. Everything else lives in the library (user/) so
 * that tests and tools link the same code.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "lib/log.h"
#include "telemetry/accesslog.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: weir-agent --config-dir DIR [options]\n"
	    "  --config-dir DIR      Kubernetes/Istio YAML files (reloaded on change)\n"
	    "  --bpffs-dir DIR       where maps and links are pinned (default /sys/fs/bpf/weir)\n"
	    "  --cgroup PATH         cgroup2 directory to attach to (default: the cgroup2 mount)\n"
	    "  --node-name NAME      this node's name (default: the hostname)\n"
	    "  --node-ip IP          this node's address, target of redirected connects\n"
	    "  --cni-socket PATH     unix socket for weir-cni (default /run/weir/cni.sock)\n"
	    "  --outbound-addr A:P   relay listener (default 0.0.0.0:15001)\n"
	    "  --metrics-addr A:P    /metrics /graph /dotviz (default 0.0.0.0:15020)\n"
	    "  --health-addr A:P     /healthz/ready (default 0.0.0.0:15021)\n"
	    "  --admin-addr A:P      admin API (default 127.0.0.1:15000)\n"
	    "  --workers N           relay worker threads (default 2)\n"
	    "  --flush-interval S    seconds between flushes of open connections' bytes to\n"
	    "                        the graph (default 5; 0: only when they close)\n"
	    "  --no-splice           no same-node sk_msg splicing\n"
	    "  --l4-only             relay agent-path traffic as TCP only (no HTTP routing)\n"
	    "  --handoff-socket PATH upgrades: a new agent takes the listeners over from the\n"
	    "                        running one here (default: off; one path per node)\n"
	    "  --drain-seconds N     how long a replaced agent finishes requests (default 10)\n"
	    "  --no-flow-counters    no per-edge counting in the kernel\n"
	    "  --zipkin-addr H:P     send spans to this Zipkin collector (overrides the mesh\n"
	    "                        config's zipkin provider)\n"
	    "  --trace-sampling PCT  percent of new traces sampled, 0..100 (overrides the\n"
	    "                        mesh config; default 1)\n"
	    "  --access-log PATH     one line per HTTP request and TCP connection the proxy\n"
	    "                        relays (default: off; /dev/stdout allowed; SIGHUP reopens)\n"
	    "  --access-log-encoding text|json  Istio's default text format or JSON (text)\n"
	    "  --uninstall           remove the pins under --bpffs-dir and exit\n"
	    "  -v, --verbose         debug logging\n");
}

int main(int argc, char **argv)
{
	enum {
		O_CONFIG = 256,
		O_BPFFS,
		O_CGROUP,
		O_NODE,
		O_NODEIP,
		O_CNI,
		O_OUT,
		O_METRICS,
		O_HEALTH,
		O_ADMIN,
		O_WORKERS,
		O_FLUSH,
		O_NOSPLICE,
		O_L4ONLY,
		O_HANDOFF,
		O_DRAIN,
		O_ACCESSLOG,
		O_ACCESSLOG_ENC,
		O_NOFLOW,
		O_UNINSTALL,
		O_ZIPKIN,
		O_SAMPLING
	};
	static const struct option longopts[] = {
	    {"config-dir", required_argument, NULL, O_CONFIG},
	    {"bpffs-dir", required_argument, NULL, O_BPFFS},
	    {"cgroup", required_argument, NULL, O_CGROUP},
	    {"node-name", required_argument, NULL, O_NODE},
	    {"node-ip", required_argument, NULL, O_NODEIP},
	    {"cni-socket", required_argument, NULL, O_CNI},
	    {"outbound-addr", required_argument, NULL, O_OUT},
	    {"metrics-addr", required_argument, NULL, O_METRICS},
	    {"health-addr", required_argument, NULL, O_HEALTH},
	    {"admin-addr", required_argument, NULL, O_ADMIN},
	    {"workers", required_argument, NULL, O_WORKERS},
	    {"flush-interval", required_argument, NULL, O_FLUSH},
	    {"no-splice", no_argument, NULL, O_NOSPLICE},
	    {"l4-only", no_argument, NULL, O_L4ONLY},
	    {"handoff-socket", required_argument, NULL, O_HANDOFF},
	    {"drain-seconds", required_argument, NULL, O_DRAIN},
	    {"access-log", required_argument, NULL, O_ACCESSLOG},
	    {"access-log-encoding", required_argument, NULL, O_ACCESSLOG_ENC},
	    {"no-flow-counters", no_argument, NULL, O_NOFLOW},
	    {"uninstall", no_argument, NULL, O_UNINSTALL},
	    {"zipkin-addr", required_argument, NULL, O_ZIPKIN},
	    {"trace-sampling", required_argument, NULL, O_SAMPLING},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct agent_opts opts;
	int c, uninstall = 0;
	long flush;
	char *end;

	agent_opts_default(&opts);
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_CONFIG:
			opts.config_dir = optarg;
			break;
		case O_BPFFS:
			opts.bpffs_dir = optarg;
			break;
		case O_CGROUP:
			opts.cgroup = optarg;
			break;
		case O_NODE:
			opts.node_name = optarg;
			break;
		case O_NODEIP:
			opts.node_ip = optarg;
			break;
		case O_CNI:
			opts.cni_socket = optarg;
			break;
		case O_OUT:
			opts.outbound_addr = optarg;
			break;
		case O_METRICS:
			opts.metrics_addr = optarg;
			break;
		case O_HEALTH:
			opts.health_addr = optarg;
			break;
		case O_ADMIN:
			opts.admin_addr = optarg;
			break;
		case O_WORKERS:
			opts.workers = (int)strtol(optarg, &end, 10);
			if (*end || opts.workers < 1 || opts.workers > 64) {
				fprintf(stderr, "weir-agent: --workers: '%s' is not 1..64\n",
					optarg);
				return 2;
			}
			break;
		case O_FLUSH:
			flush = strtol(optarg, &end, 10);
			if (!*optarg || *end || flush < 0 || flush > 86400) {
				fprintf(
				    stderr,
				    "weir-agent: --flush-interval: '%s' is not 0..86400 seconds\n",
				    optarg);
				return 2;
			}
			opts.flush_interval = (int)flush;
			break;
		case O_NOSPLICE:
			opts.splice = false;
			break;
		case O_L4ONLY:
			opts.l4_only = true;
			break;
		case O_HANDOFF:
			opts.handoff_socket = optarg;
			break;
		case O_DRAIN:
			flush = strtol(optarg, &end, 10);
			if (!*optarg || *end || flush < 0 || flush > 3600) {
				fprintf(stderr,
					"weir-agent: --drain-seconds: '%s' is not 0..3600\n",
					optarg);
				return 2;
			}
			opts.drain_seconds = (int)flush;
			break;
		case O_ACCESSLOG:
			if (!*optarg) {
				fprintf(stderr, "weir-agent: --access-log: empty path\n");
				return 2;
			}
			opts.access_log = optarg;
			break;
		case O_ACCESSLOG_ENC: {
			enum accesslog_encoding enc;

			if (accesslog_parse_encoding(optarg, &enc) < 0) {
				fprintf(
				    stderr,
				    "weir-agent: --access-log-encoding: '%s' is not text or json\n",
				    optarg);
				return 2;
			}
			opts.access_log_encoding = (int)enc;
			break;
		}
		case O_NOFLOW:
			opts.flow_counters = false;
			break;
		case O_UNINSTALL:
			uninstall = 1;
			break;
		case O_ZIPKIN:
			if (!strchr(optarg, ':')) {
				fprintf(stderr,
					"weir-agent: --zipkin-addr: '%s' is not host:port\n",
					optarg);
				return 2;
			}
			opts.zipkin_addr = optarg;
			break;
		case O_SAMPLING:
			opts.trace_sampling = strtod(optarg, &end);
			if (!*optarg || *end || !(opts.trace_sampling >= 0) ||
			    opts.trace_sampling > 100) {
				fprintf(stderr,
					"weir-agent: --trace-sampling: '%s' is not 0..100\n",
					optarg);
				return 2;
			}
			break;
		case 'v':
			opts.verbosity++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "weir-agent: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	log_init("weir-agent", opts.verbosity ? LOG_DEBUG : LOG_INFO);
	if (uninstall)
		return agent_uninstall(opts.bpffs_dir) < 0 ? 1 : 0;
	if (!opts.config_dir) {
		fprintf(stderr, "weir-agent: --config-dir is required\n");
		usage(stderr);
		return 2;
	}
	return agent_run(&opts) < 0 ? 1 : 0;
}
