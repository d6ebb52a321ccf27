// SPDX-License-Identifier: Apache-2.0
/*
 * weir-graph: serves the cluster-wide service graph built from Prometheus as JSON (/graph,
 * the agent's shape), DOT (/dotgraph), a Graphviz picture (/dotviz), a live force-directed
 * page (/force) and /healthz. libevent's evhttp as in the agent's admin server; one thread:
 * a request waits for Prometheus (each query bounded by --timeout), which a viewer tool
 * can afford.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>

#include "graphsrv.h"
#include "telemetry/promgraph.h"
#include "telemetry/telemetry.h"

#define GSRV_DEFAULT_LISTEN  "127.0.0.1:8088"
#define GSRV_DEFAULT_HORIZON "5m" /* Istio servicegraph's default time_horizon */
#define GSRV_DOTVIZ_REFRESH  10	  /* seconds between /dotviz reloads */

struct gsrv {
	struct promgraph *pg;
	const char *prom_url;
	uint64_t requests;
	uint64_t bad_requests; /* 4xx answers: bad parameters, unknown paths */
	uint64_t render_failures;
};

/* One request being answered: the handler fills <body>, <ctype> and returns the status. */
struct gsrv_call {
	struct evkeyvalq *query;
	const char *raw_query; /* for the pages' links */
	struct strbuf *body;
	const char *ctype;
};

typedef int (*gsrv_handler_fn)(struct gsrv *s, struct gsrv_call *c);

static int gsrv_error(struct gsrv_call *c, int status, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Answers <status> with {"error": "<message>", "kind": "<kind>"}. Returns <status>. */
static int gsrv_error(struct gsrv_call *c, int status, const char *kind, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	strbuf_reset(c->body);
	strbuf_puts(c->body, "{\"error\": \"");
	strbuf_append_esc(c->body, msg, STRBUF_ESC_JSON);
	strbuf_printf(c->body, "\", \"kind\": \"%s\"}\n", kind);
	c->ctype = "application/json";
	return status;
}

/* Reads time_horizon and filter_empty; on a bad value answers 400 and returns it. */
static int gsrv_params(struct gsrv *s, struct gsrv_call *c, uint64_t *horizon_ms,
		       bool *filter_empty)
{
	const char *h = evhttp_find_header(c->query, "time_horizon");
	const char *f = evhttp_find_header(c->query, "filter_empty");

	if (!h)
		h = GSRV_DEFAULT_HORIZON;
	if (telemetry_parse_duration(h, horizon_ms) || *horizon_ms < 1000) {
		s->bad_requests++;
		return gsrv_error(c, 400, "bad_request",
				  "bad time_horizon \"%.64s\": want a duration of at least 1s, "
				  "such as 30s, 5m or 1h",
				  h);
	}
	if (!f || !strcmp(f, "false")) {
		*filter_empty = false;
	} else if (!strcmp(f, "true")) {
		*filter_empty = true;
	} else {
		s->bad_requests++;
		return gsrv_error(c, 400, "bad_request",
				  "bad filter_empty \"%.16s\": want true or false", f);
	}
	return 0;
}

/* Shared by the graph endpoints: parameters, then Prometheus. 0 or the status answered. */
static int gsrv_graph(struct gsrv *s, struct gsrv_call *c, struct graph *g)
{
	struct promgraph_err err;
	uint64_t horizon_ms;
	bool filter_empty = false;
	int st;

	memset(g, 0, sizeof(*g));
	st = gsrv_params(s, c, &horizon_ms, &filter_empty);
	if (st)
		return st;
	if (!promgraph_fetch(s->pg, horizon_ms, filter_empty, g, &err))
		return 0;
	fprintf(stderr, "weir-graph: %s\n", err.msg);
	if (err.kind == PROMGRAPH_OK) /* not Prometheus' doing: out of memory */
		return gsrv_error(c, 500, "internal", "%s", err.msg);
	/* Prometheus down is "try later" (503); a bad answer from it is a bad gateway (502). */
	return gsrv_error(c, err.kind == PROMGRAPH_UNREACHABLE ? 503 : 502,
			  promgraph_fail_name(err.kind), "%s", err.msg);
}

static int gsrv_h_graph(struct gsrv *s, struct gsrv_call *c)
{
	struct graph g;
	int st = gsrv_graph(s, c, &g);

	if (!st && graph_write_json(&g, c->body))
		st = gsrv_error(c, 500, "internal", "out of memory writing the graph");
	graph_fini(&g);
	return st ? st : 200;
}

static int gsrv_h_dotgraph(struct gsrv *s, struct gsrv_call *c)
{
	struct graph g;
	int st = gsrv_graph(s, c, &g);

	if (!st && graph_write_dot(&g, c->body))
		st = gsrv_error(c, 500, "internal", "out of memory writing the graph");
	graph_fini(&g);
	if (st)
		return st;
	c->ctype = "text/vnd.graphviz; charset=utf-8";
	return 200;
}

static int gsrv_h_dotviz(struct gsrv *s, struct gsrv_call *c)
{
	struct strbuf dot, svg;
	struct graph g;
	int st = gsrv_graph(s, c, &g);

	if (st)
		return st;
	strbuf_init(&dot);
	strbuf_init(&svg);
	if (graph_write_dot(&g, &dot)) {
		st = gsrv_error(c, 500, "internal", "out of memory writing the graph");
	} else if (render_svg(strbuf_str(&dot), &svg)) {
		s->render_failures++;
		st = gsrv_error(c, 500, "render", "Graphviz could not lay out the graph");
	} else {
		pages_dotviz(c->body, strbuf_str(&svg), c->raw_query, GSRV_DOTVIZ_REFRESH);
		c->ctype = "text/html; charset=utf-8";
		st = 200;
	}
	strbuf_fini(&dot);
	strbuf_fini(&svg);
	graph_fini(&g);
	return st;
}

static int gsrv_h_force(struct gsrv *s, struct gsrv_call *c)
{
	strbuf_puts(c->body, pages_force_html);
	c->ctype = "text/html; charset=utf-8";
	return 200;
}

/* Liveness plus the counters: how often Prometheus failed, and how. */
static int gsrv_h_healthz(struct gsrv *s, struct gsrv_call *c)
{
	struct promgraph_stats st;
	int k;

	promgraph_stats(s->pg, &st);
	strbuf_puts(c->body, "{\"status\": \"ok\", \"prometheus\": \"");
	strbuf_append_esc(c->body, s->prom_url, STRBUF_ESC_JSON);
	strbuf_printf(c->body,
		      "\",\n \"requests\": %llu, \"bad_requests\": %llu, \"render_failures\": %llu,"
		      "\n \"fetches\": %llu, \"partial\": %llu, \"failures\": {",
		      (unsigned long long)s->requests, (unsigned long long)s->bad_requests,
		      (unsigned long long)s->render_failures, (unsigned long long)st.fetches,
		      (unsigned long long)st.partial);
	for (k = PROMGRAPH_OK + 1; k < PROMGRAPH_NFAIL; k++)
		strbuf_printf(c->body, "%s\"%s\": %llu", k > PROMGRAPH_OK + 1 ? ", " : "",
			      promgraph_fail_name(k), (unsigned long long)st.failures[k]);
	strbuf_puts(c->body, "}}\n");
	return 200;
}

static const struct {
	const char *path;
	gsrv_handler_fn fn;
} gsrv_routes[] = {
    {"/graph", gsrv_h_graph}, {"/dotgraph", gsrv_h_dotgraph}, {"/dotviz", gsrv_h_dotviz},
    {"/force", gsrv_h_force}, {"/healthz", gsrv_h_healthz},
};

static const char *gsrv_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

static void gsrv_gencb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct gsrv_call c = {.ctype = "application/json"};
	struct gsrv *s = arg;
	struct evkeyvalq query;
	struct strbuf body;
	struct evbuffer *buf;
	const char *path;
	size_t i;
	int st = 0;

	TAILQ_INIT(&query);
	strbuf_init(&body);
	c.body = &body;
	c.query = &query;
	s->requests++;
	path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!path || !*path)
		path = "/";
	c.raw_query = uri ? evhttp_uri_get_query(uri) : NULL;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(h, "Allow", "GET");
		s->bad_requests++;
		st = gsrv_error(&c, 405, "bad_request", "weir-graph serves GET only");
	} else if (c.raw_query && evhttp_parse_query_str(c.raw_query, &query)) {
		s->bad_requests++;
		st = gsrv_error(&c, 400, "bad_request", "malformed query string");
	}
	if (!strcmp(path, "/") && !st) {
		/* The front door is the live picture. */
		evhttp_add_header(h, "Location", "force");
		evhttp_send_reply(req, 302, "Found", NULL);
		goto out;
	}
	for (i = 0; !st && i < sizeof(gsrv_routes) / sizeof(gsrv_routes[0]); i++)
		if (!strcmp(gsrv_routes[i].path, path))
			st = gsrv_routes[i].fn(s, &c);
	if (!st) {
		s->bad_requests++;
		st = gsrv_error(
		    &c, 404, "bad_request",
		    "no such page: %.128s (try /graph, /dotgraph, /dotviz, /force, /healthz)",
		    path);
	}
	if (body.err)
		st = 500; /* out of memory: the body is whatever fitted */
	evhttp_add_header(h, "Content-Type", c.ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	buf = evbuffer_new();
	if (buf && body.len)
		evbuffer_add(buf, body.buf, body.len);
	evhttp_send_reply(req, st, gsrv_reason(st), buf);
	if (buf)
		evbuffer_free(buf);
out:
	evhttp_clear_headers(&query);
	strbuf_fini(&body);
}

/* Splits "ADDR:PORT" or "[V6]:PORT" into <host> (<size> bytes) and *<port>. 0 or -EINVAL. */
static int gsrv_parse_listen(const char *s, char *host, size_t size, unsigned short *port)
{
	const char *colon = strrchr(s, ':');
	size_t hl;
	char *end;
	long p;

	if (!colon || colon == s)
		return -EINVAL;
	p = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || p < 1 || p > 65535)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (s[0] == '[' && colon[-1] == ']') { /* evhttp wants the bare IPv6 address */
		s++;
		hl -= 2;
	}
	if (hl >= size)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	*port = (unsigned short)p;
	return 0;
}

static void gsrv_on_signal(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void gsrv_usage(FILE *f)
{
	fprintf(f, "usage: weir-graph --prometheus URL [--listen ADDR:PORT] [--timeout DURATION]\n"
		   "  --prometheus URL    Prometheus scraping the node agents (http://host:9090)\n"
		   "  --listen ADDR:PORT  where to serve (default " GSRV_DEFAULT_LISTEN ")\n"
		   "  --timeout DURATION  bound on each Prometheus query (default 5s)\n"
		   "pages: /graph and /dotgraph (?time_horizon=5m&filter_empty=true), /dotviz,\n"
		   "       /force, /healthz\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"prometheus", required_argument, NULL, 'p'},
	    {"listen", required_argument, NULL, 'l'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *listen = GSRV_DEFAULT_LISTEN;
	struct event *sigint = NULL, *sigterm = NULL;
	struct event_base *base = NULL;
	struct evhttp *http = NULL;
	uint64_t timeout_ms = 5000;
	struct gsrv s = {0};
	unsigned short port;
	char host[128];
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			s.prom_url = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 't':
			if (telemetry_parse_duration(optarg, &timeout_ms) || !timeout_ms ||
			    timeout_ms > 60000) {
				fprintf(stderr, "weir-graph: --timeout '%s': want 1ms to 60s\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			gsrv_usage(stdout);
			return 0;
		default:
			gsrv_usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !s.prom_url) {
		fprintf(stderr, "weir-graph: %s\n",
			optind < argc ? "unexpected argument" : "--prometheus URL is required");
		gsrv_usage(stderr);
		return 2;
	}
	if (gsrv_parse_listen(listen, host, sizeof(host), &port)) {
		fprintf(stderr, "weir-graph: --listen '%s': want ADDR:PORT, e.g. %s\n", listen,
			GSRV_DEFAULT_LISTEN);
		return 2;
	}
	s.pg = promgraph_new(s.prom_url, (unsigned)timeout_ms);
	if (!s.pg) {
		fprintf(stderr, "weir-graph: --prometheus '%s': %s\n", s.prom_url,
			errno == EINVAL ? "want an http:// or https:// URL" : strerror(errno));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	http = base ? evhttp_new(base) : NULL;
	if (!http) {
		fprintf(stderr, "weir-graph: cannot set up libevent\n");
		goto out;
	}
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_timeout(http, 30);
	evhttp_set_gencb(http, gsrv_gencb, &s);
	if (!evhttp_bind_socket_with_handle(http, host, port)) {
		fprintf(stderr, "weir-graph: cannot listen on %s: %s\n", listen, strerror(errno));
		goto out;
	}
	sigint = evsignal_new(base, SIGINT, gsrv_on_signal, base);
	sigterm = evsignal_new(base, SIGTERM, gsrv_on_signal, base);
	if (!sigint || !sigterm || event_add(sigint, NULL) || event_add(sigterm, NULL)) {
		fprintf(stderr, "weir-graph: cannot watch signals\n");
		goto out;
	}
	fprintf(stderr, "weir-graph: serving http://%s/ from %s\n", listen, s.prom_url);
	rc = event_base_dispatch(base) < 0;
out:
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (http)
		evhttp_free(http);
	if (base)
		event_base_free(base);
	promgraph_free(s.pg);
	return rc;
}
