// SPDX-License-Identifier: Apache-2.0
/*
 * weir-load: the benchmark's load generator and server in one binary. Verbs: run (the load),
 * serve (the fixed-body HTTP server), idle (hold idle connections for memory measurements),
 * selftest (known-answer checks). Flags in, one JSON object out; the work is in the modules.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "client.h"
#include "selftest.h"
#include "serve.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: weir-load run --target IP:PORT [--rate R | --max] [--conns C]\n"
		"                     [--conn-per-request] [--duration S] [--count N] [--drain S]\n"
		"                     [--header 'NAME: VALUE']\n"
		"       weir-load serve --listen IP:PORT [--size BYTES] [--threads N] [--lifetime S]\n"
		"       weir-load idle --target IP:PORT --conns N --hold S [--h2] [--header ...]\n"
		"       weir-load selftest\n"
		"run: open loop at R requests/s (latency from each request's scheduled time), or\n"
		"closed loop with --max; one JSON object on stdout. Latencies in microseconds.\n"
		"idle --h2: h2c with prior knowledge (one GET per connection, then held).\n");
}

static int parse_addr(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

static int parse_num(const char *flag, const char *s, double lo, double hi, double *out)
{
	char *end;

	*out = strtod(s, &end);
	if (*end || end == s || *out < lo || *out > hi) {
		fprintf(stderr, "weir-load: %s: '%s' is not in %g..%g\n", flag, s, lo, hi);
		return -1;
	}
	return 0;
}

/* Thousands of sockets in idle mode and big runs: lift the soft descriptor limit. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	enum { O_TARGET = 256, O_RATE, O_MAX, O_CONNS, O_CPR, O_DURATION, O_COUNT, O_DRAIN,
	       O_LISTEN, O_SIZE, O_THREADS, O_LIFETIME, O_HOLD, O_HEADER, O_H2 };
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, O_TARGET },
		{ "rate", required_argument, NULL, O_RATE },
		{ "max", no_argument, NULL, O_MAX },
		{ "conns", required_argument, NULL, O_CONNS },
		{ "conn-per-request", no_argument, NULL, O_CPR },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "count", required_argument, NULL, O_COUNT },
		{ "drain", required_argument, NULL, O_DRAIN },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "size", required_argument, NULL, O_SIZE },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "lifetime", required_argument, NULL, O_LIFETIME },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "header", required_argument, NULL, O_HEADER },
		{ "h2", no_argument, NULL, O_H2 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct client_opts o;
	struct sockaddr_in addr = { 0 };
	static struct client_result r;
	double v, size = 1024, threads = 1, lifetime = 0, hold = 10;
	int c, have_addr = 0, h2 = 0, rc;
	const char *verb;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	verb = argv[1];
	if (!strcmp(verb, "-h") || !strcmp(verb, "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(verb, "selftest"))
		return selftest_run() ? 1 : 0;
	client_opts_default(&o);
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_TARGET:
		case O_LISTEN:
			if (parse_addr(optarg, &addr)) {
				fprintf(stderr, "weir-load: '%s' is not IPv4:PORT\n", optarg);
				return 2;
			}
			have_addr = 1;
			break;
		case O_RATE:
			if (parse_num("--rate", optarg, 0.001, 1e7, &o.rate))
				return 2;
			break;
		case O_MAX: o.rate = 0; break;
		case O_CONNS:
			if (parse_num("--conns", optarg, 1, 100000, &v))
				return 2;
			o.conns = (int)v;
			break;
		case O_CPR: o.conn_per_req = true; break;
		case O_DURATION:
			if (parse_num("--duration", optarg, 0.01, 3600, &o.duration))
				return 2;
			break;
		case O_COUNT:
			if (parse_num("--count", optarg, 1, 1e12, &v))
				return 2;
			o.count = (uint64_t)v;
			break;
		case O_DRAIN:
			if (parse_num("--drain", optarg, 0, 600, &o.drain))
				return 2;
			break;
		case O_SIZE:
			if (parse_num("--size", optarg, 0, 1 << 24, &size))
				return 2;
			break;
		case O_THREADS:
			if (parse_num("--threads", optarg, 1, 64, &threads))
				return 2;
			break;
		case O_LIFETIME:
			if (parse_num("--lifetime", optarg, 0, 86400, &lifetime))
				return 2;
			break;
		case O_HOLD:
			if (parse_num("--hold", optarg, 0, 3600, &hold))
				return 2;
			break;
		case O_HEADER:
			/* "name: value", the name a token: it goes on the wire as it is. */
			if (!strchr(optarg, ':') || optarg[0] == ':' ||
			    strcspn(optarg, ": \t\r\n") != (size_t)(strchr(optarg, ':') - optarg) ||
			    strpbrk(optarg, "\r\n")) {
				fprintf(stderr, "weir-load: --header: '%s' is not NAME: VALUE\n",
					optarg);
				return 2;
			}
			o.header = optarg;
			break;
		case O_H2: h2 = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !have_addr) {
		usage(stderr);
		return 2;
	}
	raise_nofile();
	if (!strcmp(verb, "serve")) {
		rc = serve_run(&addr, (int)threads, (size_t)size, lifetime);
		if (rc < 0)
			fprintf(stderr, "weir-load: serve: %s\n", strerror(-rc));
		return rc < 0 ? 1 : 0;
	}
	if (!strcmp(verb, "idle")) {
		o.target = addr;
		rc = client_idle(&o, hold, h2, stdout);
		if (rc < 0)
			fprintf(stderr, "weir-load: idle: %s\n", strerror(-rc));
		return rc < 0 ? 1 : 0;
	}
	if (strcmp(verb, "run")) {
		usage(stderr);
		return 2;
	}
	o.target = addr;
	rc = client_run(&o, &r);
	if (rc < 0) {
		fprintf(stderr, "weir-load: run: %s\n", strerror(-rc));
		return 1;
	}
	client_result_json(stdout, &o, &r);
	return r.ok ? 0 : 1;
}
