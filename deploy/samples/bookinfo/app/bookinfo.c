// SPDX-License-Identifier: Apache-2.0
/*
 * bookinfo-app: one small HTTP/1.1 service program that plays every service of the bookinfo
 * sample (productpage, details, reviews v1-v3, ratings), chosen by flags or environment. For
 * each request it calls its configured downstreams, forwards the request-id and trace headers
 * (B3 and W3C) as a mesh expects applications to, and answers JSON that shows which service
 * and version served the request and, nested, what each downstream answered. With --load it is
 * instead the bounded load generator the demo's client Pod runs (loadgen.c).
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "bookinfo.h"
#include "lib/log.h"

/* The headers an application must copy from its inbound request to its outbound calls so that
 * a mesh can stitch one trace together (Istio's list for bookinfo). */
static const char *const bookinfo_trace_headers[] = {
    "x-request-id", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled",
    "x-b3-flags",   "b3",	    "traceparent", "tracestate",
};

struct bookinfo_cfg {
	const char *name;
	const char *version;
	const char *response; /* free text put into every answer; NULL for none */
	const char *pod;      /* POD_NAME or HOSTNAME, shown in answers */
	char listen_host[64];
	uint16_t listen_port;
	const char *call_str[BOOKINFO_MAX_CALLS];
	struct bookinfo_url calls[BOOKINFO_MAX_CALLS];
	int ncalls;
	unsigned long call_fails[BOOKINFO_MAX_CALLS]; /* for rate-limited warnings */
	unsigned timeout_ms;			      /* per downstream call */
	struct event_base *base;
};

/* One inbound request waiting for its downstream calls. */
struct bookinfo_pending {
	struct bookinfo_cfg *cfg;
	struct evhttp_request *req; /* NULL once the client went away */
	struct evhttp_connection *in_conn;
	json_t *calls; /* one slot per downstream, in --call order */
	char request_id[128];
	char traceparent[128]; /* as received, shown in the answer to make propagation visible */
	char b3_traceid[64];
	int waiting; /* downstream answers still due, +1 while starting */
	int failed;  /* some downstream did not answer 200 */
};

/* One downstream call of a pending request. */
struct bookinfo_call {
	struct bookinfo_pending *p;
	int idx;
	enum evhttp_request_error err;
	int has_err;
};

int bookinfo_url_parse(const char *s, struct bookinfo_url *u)
{
	const char *h, *slash, *colon;
	size_t hl;
	char *end;
	long port = 80;

	if (strncmp(s, "http://", 7) != 0)
		return -EINVAL;
	h = s + 7;
	slash = strchr(h, '/');
	if (!slash)
		slash = h + strlen(h);
	colon = memchr(h, ':', (size_t)(slash - h));
	hl = (size_t)((colon ? colon : slash) - h);
	if (hl == 0 || hl >= sizeof(u->host))
		return -EINVAL;
	if (colon) {
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (errno || end != slash || port < 1 || port > 65535)
			return -EINVAL;
	}
	memcpy(u->host, h, hl);
	u->host[hl] = '\0';
	u->port = (uint16_t)port;
	if (strlen(*slash ? slash : "/") >= sizeof(u->path))
		return -EINVAL;
	strcpy(u->path, *slash ? slash : "/");
	return 0;
}

int bookinfo_resolve(const char *host, char *buf, size_t len)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res;
	int rc;

	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0)
		return rc == EAI_SYSTEM ? -errno : -ENOENT;
	rc = getnameinfo(res->ai_addr, res->ai_addrlen, buf, (socklen_t)len, NULL, 0,
			 NI_NUMERICHOST);
	freeaddrinfo(res);
	return rc == 0 ? 0 : -EINVAL;
}

void bookinfo_hex_random(char *buf, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];
	size_t i;

	if (n > sizeof(raw))
		n = sizeof(raw);
	/* getrandom() on a 64-byte request never returns short once the pool is ready; fall back
	 * to rand() rather than fail a request over a trace id. */
	if (getrandom(raw, n, 0) != (ssize_t)n)
		for (i = 0; i < n; i++)
			raw[i] = (unsigned char)rand();
	for (i = 0; i < n; i++)
		buf[i] = hex[raw[i] & 15];
	buf[n] = '\0';
}

static const char *bookinfo_err_str(enum evhttp_request_error e)
{
	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		return "timeout";
	case EVREQ_HTTP_EOF:
		return "connection closed or refused";
	case EVREQ_HTTP_INVALID_HEADER:
		return "invalid response header";
	case EVREQ_HTTP_BUFFER_ERROR:
		return "connection error";
	case EVREQ_HTTP_REQUEST_CANCEL:
		return "cancelled";
	case EVREQ_HTTP_DATA_TOO_LONG:
		return "response too long";
	}
	return "failed";
}

static void bookinfo_reply(struct bookinfo_pending *p)
{
	struct bookinfo_cfg *cfg = p->cfg;
	struct evbuffer *body;
	json_t *o;
	char *text;
	int code = p->failed ? 502 : 200;

	if (!p->req)
		goto out; /* the client gave up; nobody to answer */
	o = json_object();
	json_object_set_new(o, "service", json_string(cfg->name));
	json_object_set_new(o, "version", json_string(cfg->version));
	if (cfg->pod)
		json_object_set_new(o, "pod", json_string(cfg->pod));
	if (cfg->response)
		json_object_set_new(o, "response", json_string(cfg->response));
	if (p->request_id[0])
		json_object_set_new(o, "request_id", json_string(p->request_id));
	if (p->traceparent[0] || p->b3_traceid[0]) {
		json_t *t = json_object();

		if (p->traceparent[0])
			json_object_set_new(t, "traceparent", json_string(p->traceparent));
		if (p->b3_traceid[0])
			json_object_set_new(t, "x-b3-traceid", json_string(p->b3_traceid));
		json_object_set_new(o, "trace", t);
	}
	if (cfg->ncalls)
		json_object_set(o, "calls", p->calls);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	body = evbuffer_new();
	if (text && body) {
		evbuffer_add(body, text, strlen(text));
		evbuffer_add(body, "\n", 1);
	}
	evhttp_add_header(evhttp_request_get_output_headers(p->req), "Content-Type",
			  "application/json");
	if (p->request_id[0])
		evhttp_add_header(evhttp_request_get_output_headers(p->req), "x-request-id",
				  p->request_id);
	/* Answering may close the connection: drop the close hook first so it cannot see p. */
	evhttp_connection_set_closecb(p->in_conn, NULL, NULL);
	evhttp_send_reply(p->req, code, code == 200 ? "OK" : "Bad Gateway", body);
	if (body)
		evbuffer_free(body);
	free(text);
	log_debug("serve", "answered %d (request id %s)", code,
		  p->request_id[0] ? p->request_id : "-");
out:
	json_decref(p->calls);
	free(p);
}

static void bookinfo_pending_put(struct bookinfo_pending *p)
{
	if (--p->waiting > 0)
		return;
	bookinfo_reply(p);
}

/* The inbound client closed its connection before the answer was ready. */
static void bookinfo_client_closed(struct evhttp_connection *evcon, void *arg)
{
	struct bookinfo_pending *p = arg;

	p->req = NULL;
}

static void bookinfo_call_fail(struct bookinfo_pending *p, int idx, const char *why, int status)
{
	json_t *e = json_object();

	json_object_set_new(e, "url", json_string(p->cfg->call_str[idx]));
	json_object_set_new(e, "error", json_string(why));
	if (status)
		json_object_set_new(e, "status", json_integer(status));
	json_array_set_new(p->calls, (size_t)idx, e);
	p->failed = 1;
	/* The first failure and then one in a hundred: a dead downstream under load must not
	 * flood the Pod's log. */
	if (p->cfg->call_fails[idx]++ % 100 == 0)
		log_warn("call", "%s: %s (%lu failure(s) so far)", p->cfg->call_str[idx], why,
			 p->cfg->call_fails[idx]);
}

static void bookinfo_call_error(enum evhttp_request_error err, void *arg)
{
	struct bookinfo_call *c = arg;

	c->err = err;
	c->has_err = 1;
}

static void bookinfo_call_done(struct evhttp_request *resp, void *arg)
{
	struct bookinfo_call *c = arg;
	struct bookinfo_pending *p = c->p;
	int code = resp ? evhttp_request_get_response_code(resp) : 0;
	struct evbuffer *in;
	json_error_t jerr;
	json_t *body = NULL;
	size_t len;

	if (code == 0) {
		bookinfo_call_fail(p, c->idx,
				   c->has_err ? bookinfo_err_str(c->err) : "connection failed", 0);
		goto out;
	}
	in = evhttp_request_get_input_buffer(resp);
	len = evbuffer_get_length(in);
	if (len)
		body = json_loadb((const char *)evbuffer_pullup(in, (ssize_t)len), len, 0, &jerr);
	if (!json_is_object(body)) {
		json_decref(body);
		bookinfo_call_fail(p, c->idx, "answer is not a JSON object", code);
		goto out;
	}
	if (code != 200) {
		json_object_set_new(body, "status", json_integer(code));
		p->failed = 1;
	}
	json_array_set_new(p->calls, (size_t)c->idx, body);
out:
	free(c);
	bookinfo_pending_put(p);
}

static void bookinfo_call_start(struct bookinfo_pending *p, int idx, struct evkeyvalq *in_hdrs)
{
	const struct bookinfo_url *u = &p->cfg->calls[idx];
	struct timeval tv = {p->cfg->timeout_ms / 1000, (p->cfg->timeout_ms % 1000) * 1000};
	struct evhttp_connection *evcon;
	struct evhttp_request *req;
	struct evkeyvalq *out;
	struct bookinfo_call *c;
	char ip[64], host[300];
	const char *v;
	size_t i;

	/* Resolve here, synchronously (the names are in /etc/hosts), so that a bad name is a
	 * clear error and libevent only ever connects to a literal address. */
	if (bookinfo_resolve(u->host, ip, sizeof(ip)) < 0) {
		bookinfo_call_fail(p, idx, "name does not resolve", 0);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		bookinfo_call_fail(p, idx, "out of memory", 0);
		return;
	}
	c->p = p;
	c->idx = idx;
	evcon = evhttp_connection_base_new(p->cfg->base, NULL, ip, u->port);
	if (!evcon) {
		free(c);
		bookinfo_call_fail(p, idx, "cannot create connection", 0);
		return;
	}
	evhttp_connection_set_timeout_tv(evcon, &tv);
	/* One connection per call, as the original bookinfo does without a session: every call
	 * is a new connect() that the mesh sees and counts. */
	evhttp_connection_free_on_completion(evcon);
	req = evhttp_request_new(bookinfo_call_done, c);
	if (!req) {
		evhttp_connection_free(evcon);
		free(c);
		bookinfo_call_fail(p, idx, "out of memory", 0);
		return;
	}
	evhttp_request_set_error_cb(req, bookinfo_call_error);
	out = evhttp_request_get_output_headers(req);
	snprintf(host, sizeof(host), "%s:%u", u->host, u->port);
	evhttp_add_header(out, "Host", host);
	evhttp_add_header(out, "Connection", "close");
	evhttp_add_header(out, "User-Agent", "bookinfo-app");
	for (i = 0; i < sizeof(bookinfo_trace_headers) / sizeof(bookinfo_trace_headers[0]); i++) {
		v = evhttp_find_header(in_hdrs, bookinfo_trace_headers[i]);
		if (v)
			evhttp_add_header(out, bookinfo_trace_headers[i], v);
	}
	p->waiting++;
	if (evhttp_make_request(evcon, req, EVHTTP_REQ_GET, u->path) != 0) {
		/* libevent 2.1 keeps ownership of req and evcon on this path: leak rather than
		 * risk a double free; it only happens when socket() itself fails. */
		p->waiting--;
		bookinfo_call_fail(p, idx, "cannot send request", 0);
	}
}

static void bookinfo_send_simple(struct evhttp_request *req, int code, const char *reason,
				 const char *json)
{
	struct evbuffer *b = evbuffer_new();

	if (b)
		evbuffer_add_printf(b, "%s\n", json);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	evhttp_send_reply(req, code, reason, b);
	if (b)
		evbuffer_free(b);
}

static void bookinfo_handle(struct evhttp_request *req, void *arg)
{
	struct bookinfo_cfg *cfg = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq *in_hdrs = evhttp_request_get_input_headers(req);
	struct bookinfo_pending *p;
	const char *rid;
	int i;

	if (path && (strcmp(path, "/health") == 0 || strcmp(path, "/healthz") == 0)) {
		bookinfo_send_simple(req, 200, "OK", "{\"status\":\"ok\"}");
		return;
	}
	p = calloc(1, sizeof(*p));
	if (p)
		p->calls = json_array();
	if (!p || !p->calls) {
		free(p);
		bookinfo_send_simple(req, 500, "Internal Server Error",
				     "{\"error\":\"no memory\"}");
		return;
	}
	p->cfg = cfg;
	p->req = req;
	p->in_conn = evhttp_request_get_connection(req);
	rid = evhttp_find_header(in_hdrs, "x-request-id");
	if (rid)
		snprintf(p->request_id, sizeof(p->request_id), "%s", rid);
	if ((rid = evhttp_find_header(in_hdrs, "traceparent")))
		snprintf(p->traceparent, sizeof(p->traceparent), "%s", rid);
	if ((rid = evhttp_find_header(in_hdrs, "x-b3-traceid")))
		snprintf(p->b3_traceid, sizeof(p->b3_traceid), "%s", rid);
	for (i = 0; i < cfg->ncalls; i++)
		json_array_append_new(p->calls, json_null());
	evhttp_connection_set_closecb(p->in_conn, bookinfo_client_closed, p);
	/* Hold one reference while starting calls so that a call failing at once cannot
	 * answer (and free p) before the loop is done. */
	p->waiting = 1;
	for (i = 0; i < cfg->ncalls; i++)
		bookinfo_call_start(p, i, in_hdrs);
	bookinfo_pending_put(p);
}

static void bookinfo_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	log_info("app", "signal %d, exiting", (int)sig);
	event_base_loopexit(base, NULL);
}

static int bookinfo_parse_listen(const char *s, struct bookinfo_cfg *cfg)
{
	const char *colon = strrchr(s, ':');
	const char *port = colon ? colon + 1 : s;
	size_t hl = colon ? (size_t)(colon - s) : 0;
	char *end;
	long n;

	errno = 0;
	n = strtol(port, &end, 10);
	if (errno || *end || n < 1 || n > 65535 || hl >= sizeof(cfg->listen_host))
		return -EINVAL;
	memcpy(cfg->listen_host, s, hl);
	cfg->listen_host[hl] = '\0';
	if (hl == 0)
		strcpy(cfg->listen_host, "0.0.0.0");
	cfg->listen_port = (uint16_t)n;
	return 0;
}

static int bookinfo_add_call(struct bookinfo_cfg *cfg, const char *url)
{
	if (cfg->ncalls >= BOOKINFO_MAX_CALLS) {
		log_err("config", "more than %d downstream calls", BOOKINFO_MAX_CALLS);
		return -E2BIG;
	}
	if (bookinfo_url_parse(url, &cfg->calls[cfg->ncalls]) < 0) {
		log_err("config", "bad downstream URL '%s' (want http://host:port/path)", url);
		return -EINVAL;
	}
	cfg->call_str[cfg->ncalls++] = url;
	return 0;
}

static void bookinfo_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: bookinfo-app [--name NAME] [--version V] [--listen [IP:]PORT] [--call URL]...\n"
	    "                    [--response TEXT] [--timeout-ms MS] [-v]\n"
	    "       bookinfo-app --load URL [--rate R] [--duration S] [--concurrency C]\n"
	    "                    [--count N] [--timeout-ms MS]\n"
	    "Serves GET / (calls every --call URL, forwards x-request-id, B3 and traceparent\n"
	    "headers, answers JSON naming the service, version and each downstream's answer)\n"
	    "and GET /health. Environment: BOOKINFO_NAME, BOOKINFO_VERSION, BOOKINFO_LISTEN,\n"
	    "BOOKINFO_CALLS (space or comma separated URLs), BOOKINFO_RESPONSE; flags win.\n"
	    "--load sends a bounded load (new connection per request) and prints a JSON "
	    "summary.\n");
}

static double bookinfo_num(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v <= 0) {
		log_err("config", "%s: '%s' is not a positive number", what, s);
		return -1;
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"version", required_argument, NULL, 'V'},
	    {"listen", required_argument, NULL, 'l'},
	    {"call", required_argument, NULL, 'c'},
	    {"response", required_argument, NULL, 'r'},
	    {"timeout-ms", required_argument, NULL, 't'},
	    {"load", required_argument, NULL, 'L'},
	    {"rate", required_argument, NULL, 'R'},
	    {"duration", required_argument, NULL, 'D'},
	    {"concurrency", required_argument, NULL, 'C'},
	    {"count", required_argument, NULL, 'N'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct bookinfo_cfg cfg = {.name = "bookinfo", .version = "v1", .timeout_ms = 3000};
	struct loadgen_opts lo = {
	    .rate = 10, .duration = 10, .concurrency = 4, .timeout_ms = 10000};
	struct event *sigint = NULL, *sigterm = NULL;
	struct evhttp_bound_socket *bound;
	struct evhttp *http = NULL;
	const char *listen = "0.0.0.0:9080", *env;
	char *calls_env = NULL, *tok, *save;
	int opt, rc = 1, calls_flag = 0, timeout_set = 0;
	double d;

	log_init("bookinfo-app", LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	if ((env = getenv("BOOKINFO_NAME")))
		cfg.name = env;
	if ((env = getenv("BOOKINFO_VERSION")))
		cfg.version = env;
	if ((env = getenv("BOOKINFO_LISTEN")))
		listen = env;
	if ((env = getenv("BOOKINFO_RESPONSE")))
		cfg.response = env;
	cfg.pod = getenv("POD_NAME") ? getenv("POD_NAME") : getenv("HOSTNAME");

	while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			cfg.name = optarg;
			break;
		case 'V':
			cfg.version = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'c':
			calls_flag = 1;
			if (bookinfo_add_call(&cfg, optarg) < 0)
				return 2;
			break;
		case 'r':
			cfg.response = optarg;
			break;
		case 't':
			d = bookinfo_num(optarg, "--timeout-ms");
			if (d < 1 || d > 600000)
				return 2;
			cfg.timeout_ms = lo.timeout_ms = (unsigned)d;
			timeout_set = 1;
			break;
		case 'L':
			lo.url = optarg;
			break;
		case 'R':
			if ((lo.rate = bookinfo_num(optarg, "--rate")) < 0)
				return 2;
			break;
		case 'D':
			if ((lo.duration = bookinfo_num(optarg, "--duration")) < 0)
				return 2;
			break;
		case 'C':
			if ((d = bookinfo_num(optarg, "--concurrency")) < 0)
				return 2;
			lo.concurrency = (unsigned)d;
			break;
		case 'N':
			if ((d = bookinfo_num(optarg, "--count")) < 0)
				return 2;
			lo.count = (unsigned long)d;
			break;
		case 'v':
			log_init("bookinfo-app", LOG_DEBUG);
			break;
		case 'h':
			bookinfo_usage(stdout);
			return 0;
		default:
			bookinfo_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		log_err("config", "unexpected argument '%s'", argv[optind]);
		bookinfo_usage(stderr);
		return 2;
	}
	if (lo.url) {
		(void)timeout_set;
		return loadgen_run(&lo);
	}
	if (!calls_flag && (env = getenv("BOOKINFO_CALLS"))) {
		calls_env = strdup(env);
		for (tok = strtok_r(calls_env, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save))
			if (bookinfo_add_call(&cfg, tok) < 0)
				goto out;
	}
	if (bookinfo_parse_listen(listen, &cfg) < 0) {
		log_err("config", "bad listen address '%s' (want [IP:]PORT)", listen);
		goto out;
	}

	cfg.base = event_base_new();
	if (!cfg.base)
		goto out;
	http = evhttp_new(cfg.base);
	if (!http)
		goto out_base;
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(http, 30);
	evhttp_set_gencb(http, bookinfo_handle, &cfg);
	bound = evhttp_bind_socket_with_handle(http, cfg.listen_host, cfg.listen_port);
	if (!bound) {
		log_err("serve", "cannot listen on %s:%u: %s", cfg.listen_host, cfg.listen_port,
			strerror(errno));
		goto out_http;
	}
	sigint = evsignal_new(cfg.base, SIGINT, bookinfo_on_signal, cfg.base);
	sigterm = evsignal_new(cfg.base, SIGTERM, bookinfo_on_signal, cfg.base);
	if (!sigint || !sigterm || event_add(sigint, NULL) || event_add(sigterm, NULL))
		goto out_sig;
	log_info("serve", "%s %s listening on %s:%u with %d downstream call(s)", cfg.name,
		 cfg.version, cfg.listen_host, cfg.listen_port, cfg.ncalls);
	event_base_dispatch(cfg.base);
	rc = 0;
out_sig:
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
out_http:
	evhttp_free(http);
out_base:
	event_base_free(cfg.base);
out:
	free(calls_env);
	return rc;
}
