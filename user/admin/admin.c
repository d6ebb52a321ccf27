// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP servers of admin.h. One evhttp per listen address with one generic callback
 * that does what every route needs (method check, query parse, 404, error bodies), then
 * calls the route's handler with a plain admin_call. Handlers read the maps fresh through
 * admin_ops on every request; only rates come from the sampler's history.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "lib/addr.h"
#include "admin/admin.h"
#include "telemetry/graph.h"
#include "lib/log.h"

#define ADMIN_MAX_HEADERS     16384 /* bytes of request line + headers */
#define ADMIN_MAX_BODY	      65536 /* GET needs no body; bigger ones get 413 from evhttp */
#define ADMIN_DEFAULT_HORIZON "5m"  /* Istio servicegraph's default time_horizon */

struct admin_route {
	char *path;
	admin_handler_fn fn;
	void *arg;
};

struct admin_srv {
	struct admin *a;
	enum admin_server which;
	struct evhttp *http; /* NULL when this server is off */
	int port;
	struct admin_route *routes;
	size_t nroutes;
};

struct admin {
	const struct admin_ops *ops;
	void *ctx;
	struct metrics_opts mopts;
	struct telemetry *tel;
	struct reqstats *req; /* NULL: no request telemetry */
	struct admin_srv srv[ADMIN_MAX];
};

static const char *const admin_srv_names[] = {"metrics", "health", "admin"};

const char *admin_call_param(const struct admin_call *call, const char *name)
{
	if (!call->query)
		return NULL;
	/* evhttp_find_header() takes a non-const queue but does not change it. */
	return evhttp_find_header((struct evkeyvalq *)call->query, name);
}

const char *admin_call_param_at(const struct admin_call *call, const char *name, size_t idx)
{
	const struct evkeyval *kv;

	if (!call->query)
		return NULL;
	/* evhttp_find_header() returns the first only; repeated parameters need the walk. */
	TAILQ_FOREACH(kv, (const struct evkeyvalq *)call->query, next)
	{
		if (strcmp(kv->key, name))
			continue;
		if (!idx--)
			return kv->value;
	}
	return NULL;
}

int admin_call_error(struct admin_call *call, int status, const char *fmt, ...)
{
	va_list ap;

	strbuf_reset(call->body);
	va_start(ap, fmt);
	strbuf_vprintf(call->body, fmt, ap);
	va_end(ap);
	strbuf_puts(call->body, "\n");
	call->content_type = "text/plain; charset=utf-8";
	return status;
}

static const char *admin_reason(int status)
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
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return status < 400 ? "OK" : "Error";
	}
}

/* ---- query parameters ---- */

/* Reads time_horizon (default 5m) into *<ms>; on a bad value answers 400 and returns it. */
static int admin_horizon(struct admin_call *call, uint64_t *ms)
{
	const char *s = admin_call_param(call, "time_horizon");

	if (!s)
		s = ADMIN_DEFAULT_HORIZON;
	if (telemetry_parse_duration(s, ms))
		return admin_call_error(call, 400,
					"bad time_horizon \"%.64s\": want a duration such as 30s, "
					"5m or 1h30m",
					s);
	return 0;
}

/* Reads a boolean parameter the way Go's strconv.ParseBool does (Istio parsed it so). */
static int admin_bool(struct admin_call *call, const char *name, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
	static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
	const char *s = admin_call_param(call, name);
	size_t i;

	*out = false;
	if (!s)
		return 0;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i]))
			return 0;
	}
	return admin_call_error(call, 400, "bad %s \"%.64s\": want true or false", name, s);
}

static struct telemetry_names admin_names(const struct admin *a)
{
	struct telemetry_names n = {a->ops->wl_info, a->ops->svc_info, a->ctx};

	return n;
}

/* Reads every edge fresh; on failure answers 500 and returns it. */
static int admin_rows(struct admin *a, struct admin_call *call, struct telemetry_row **rows,
		      size_t *n)
{
	int err;

	*rows = NULL;
	*n = 0;
	err = a->ops->edges(a->ctx, rows, n);
	if (err) {
		log_warn("admin", "%s: reading edges failed: %s", call->path, strerror(-err));
		return admin_call_error(call, 500, "reading edges failed: %s", strerror(-err));
	}
	return 0;
}

/* ---- built-in handlers ---- */

static int admin_h_ready(struct admin_call *call, void *arg)
{
	struct admin *a = arg;
	const char *why = NULL;

	call->content_type = "text/plain; charset=utf-8";
	if (a->ops->ready && !a->ops->ready(a->ctx, &why))
		return admin_call_error(call, 503, "not ready: %s", why ? why : "starting");
	strbuf_puts(call->body, "ready\n");
	return 200;
}

static int admin_h_metrics(struct admin_call *call, void *arg)
{
	struct admin *a = arg;
	struct telemetry_names names = admin_names(a);
	uint64_t counts[WEIR_REASON_SLOTS];
	struct telemetry_row *rows;
	size_t n;
	int err;

	err = admin_rows(a, call, &rows, &n);
	if (err)
		return err;
	call->content_type = METRICS_CONTENT_TYPE;
	err = metrics_write_edges(call->body, rows, n, &names, &a->mopts);
	free(rows);
	if (err)
		return admin_call_error(call, 500, "writing edge metrics failed: %s",
					strerror(-err));
	if (a->req) {
		/* Fold what the workers handed over since the last tick: a scrape is fresh. */
		if (reqstats_collect(a->req, telemetry_now_ms()))
			log_warn("admin", "collecting request telemetry: out of memory");
		err = metrics_write_requests(call->body, a->req, &names, &a->mopts);
		if (err)
			return admin_call_error(call, 500, "writing request metrics failed: %s",
						strerror(-err));
	}
	if (a->ops->reasons) {
		memset(counts, 0, sizeof(counts));
		err = a->ops->reasons(a->ctx, counts);
		if (!err)
			metrics_write_reasons(call->body, counts);
		else
			log_warn("admin", "reading datapath reasons failed: %s", strerror(-err));
	}
	metrics_family(call->body, "weir_telemetry_tracked_edges", METRICS_GAUGE,
		       "Edges whose counter history the rate sampler keeps.");
	metrics_sample_u64(call->body, "weir_telemetry_tracked_edges", NULL, 0,
			   telemetry_tracked(a->tel));
	metrics_family(call->body, "weir_telemetry_untracked_edges_total", METRICS_COUNTER,
		       "New edges the rate sampler turned away at its max_edges bound.");
	metrics_sample_u64(call->body, "weir_telemetry_untracked_edges_total", NULL, 0,
			   telemetry_untracked(a->tel));
	metrics_family(call->body, "weir_telemetry_samples_total", METRICS_COUNTER,
		       "Samples of all edges taken by the rate sampler.");
	metrics_sample_u64(call->body, "weir_telemetry_samples_total", NULL, 0,
			   telemetry_samples(a->tel));
	if (a->ops->extra_metrics) {
		err = a->ops->extra_metrics(a->ctx, call->body);
		if (err)
			return admin_call_error(call, 500, "writing agent metrics failed: %s",
						strerror(-err));
	}
	if (call->body->err)
		return admin_call_error(call, 500, "out of memory");
	return 200;
}

/* Shared by /graph and /dotviz: parameters, fresh rows, build. */
static int admin_graph(struct admin *a, struct admin_call *call, struct graph *g)
{
	struct telemetry_names names = admin_names(a);
	struct graph_opts gopts = {.tel = a->tel};
	struct reqstats_rate *req = NULL;
	struct telemetry_row *rows;
	size_t n;
	int err;

	memset(g, 0, sizeof(*g));
	err = admin_horizon(call, &gopts.horizon_ms);
	if (!err)
		err = admin_bool(call, "filter_empty", &gopts.filter_empty);
	if (!err)
		err = admin_rows(a, call, &rows, &n);
	if (err)
		return err;
	gopts.now_ms = telemetry_now_ms();
	if (a->req) {
		if (reqstats_collect(a->req, gopts.now_ms))
			log_warn("admin", "collecting request telemetry: out of memory");
		err = reqstats_rates(a->req, gopts.now_ms, gopts.horizon_ms, &req, &gopts.nreq);
		if (err) {
			free(rows);
			return admin_call_error(call, 500, "request rates failed: %s",
						strerror(-err));
		}
		gopts.req = req;
	}
	err = graph_build(g, rows, n, &names, &gopts);
	free(rows);
	free(req);
	if (err)
		return admin_call_error(call, 500, "building the graph failed: %s", strerror(-err));
	return 0;
}

static int admin_h_graph(struct admin_call *call, void *arg)
{
	struct graph g;
	int err = admin_graph(arg, call, &g);

	if (!err && graph_write_json(&g, call->body))
		err = admin_call_error(call, 500, "out of memory");
	graph_fini(&g);
	return err ? err : 200;
}

static int admin_h_dotviz(struct admin_call *call, void *arg)
{
	struct graph g;
	int err = admin_graph(arg, call, &g);

	if (!err && graph_write_dot(&g, call->body))
		err = admin_call_error(call, 500, "out of memory");
	graph_fini(&g);
	if (err)
		return err;
	call->content_type = "text/vnd.graphviz; charset=utf-8";
	return 200;
}

static void admin_json_str(struct strbuf *out, const char *s)
{
	strbuf_puts(out, "\"");
	strbuf_append_esc(out, s, STRBUF_ESC_JSON);
	strbuf_puts(out, "\"");
}

static void admin_json_wl(struct strbuf *out, const char *key, const struct telemetry_names *names,
			  uint32_t id)
{
	struct weir_wl_info wl;

	strbuf_printf(out, "\"%s\": {\"id\": %u", key, id);
	if (telemetry_wl(names, id, &wl)) {
		strbuf_puts(out, ", \"namespace\": ");
		admin_json_str(out, wl.ns);
		strbuf_puts(out, ", \"workload\": ");
		admin_json_str(out, wl.name);
		strbuf_puts(out, ", \"app\": ");
		admin_json_str(out, wl.app);
		strbuf_puts(out, ", \"version\": ");
		admin_json_str(out, wl.version);
	}
	strbuf_puts(out, "}");
}

static const char *const admin_paths[] = {"kernel", "agent", "tc"};

/* /edges: every edge with names, counters and rates over time_horizon (weirctl flows). */
static int admin_h_edges(struct admin_call *call, void *arg)
{
	struct admin *a = arg;
	struct telemetry_names names = admin_names(a);
	struct telemetry_row *rows;
	uint64_t horizon, now;
	size_t i, n;
	int err;

	err = admin_horizon(call, &horizon);
	if (!err)
		err = admin_rows(a, call, &rows, &n);
	if (err)
		return err;
	now = telemetry_now_ms();
	strbuf_puts(call->body, "{\"edges\": [");
	for (i = 0; i < n; i++) {
		const struct weir_edge_key *k = &rows[i].key;
		const struct weir_edge *v = &rows[i].val;
		struct weir_svc_info svc;
		struct telemetry_rate r;

		telemetry_rate(a->tel, &rows[i], now, horizon, &r);
		strbuf_puts(call->body, i ? ",\n  {" : "\n  {");
		admin_json_wl(call->body, "source", &names, k->src_wl);
		strbuf_puts(call->body, ", ");
		admin_json_wl(call->body, "destination", &names, k->dst_wl);
		strbuf_printf(call->body, ", \"service\": {\"id\": %u", k->svc_id);
		if (telemetry_svc(&names, k->svc_id, &svc)) {
			strbuf_puts(call->body, ", \"namespace\": ");
			admin_json_str(call->body, svc.ns);
			strbuf_puts(call->body, ", \"name\": ");
			admin_json_str(call->body, svc.name);
		}
		strbuf_printf(call->body,
			      "}, \"port\": %u, \"proto\": %u, \"path\": \"%s\", "
			      "\"conns_opened\": %llu, \"conns_closed\": %llu, "
			      "\"conns_active\": %lld, \"bytes_sent\": %llu, \"bytes_rcvd\": %llu, "
			      "\"pkts_sent\": %llu, \"pkts_rcvd\": %llu, \"srtt_us_sum\": %llu, "
			      "\"srtt_samples\": %llu, \"conns_per_sec\": %.6f, "
			      "\"bytes_per_sec\": %.6f, \"rate_seconds\": %.3f}",
			      k->dport, k->proto, k->path < 3 ? admin_paths[k->path] : "unknown",
			      (unsigned long long)v->conns_opened,
			      (unsigned long long)v->conns_closed, (long long)v->conns_active,
			      (unsigned long long)v->bytes_sent, (unsigned long long)v->bytes_rcvd,
			      (unsigned long long)v->pkts_sent, (unsigned long long)v->pkts_rcvd,
			      (unsigned long long)v->srtt_us_sum,
			      (unsigned long long)v->srtt_samples, r.conns_per_sec, r.bytes_per_sec,
			      r.seconds);
	}
	strbuf_printf(call->body, "%s],\n \"time_horizon_ms\": %llu}\n", n ? "\n " : "",
		      (unsigned long long)horizon);
	free(rows);
	return call->body->err ? admin_call_error(call, 500, "out of memory") : 200;
}

static int admin_h_status(struct admin_call *call, void *arg)
{
	struct admin *a = arg;
	const char *why = NULL;
	bool ready = !a->ops->ready || a->ops->ready(a->ctx, &why);
	int err;

	strbuf_printf(call->body, "{\"ready\": %s", ready ? "true" : "false");
	if (!ready) {
		strbuf_puts(call->body, ", \"not_ready_reason\": ");
		admin_json_str(call->body, why ? why : "starting");
	}
	strbuf_printf(call->body,
		      ", \"telemetry\": {\"samples\": %llu, \"tracked_edges\": %zu, "
		      "\"untracked_edges\": %llu}",
		      (unsigned long long)telemetry_samples(a->tel), telemetry_tracked(a->tel),
		      (unsigned long long)telemetry_untracked(a->tel));
	if (a->ops->status_json) {
		strbuf_puts(call->body, ", \"agent\": ");
		err = a->ops->status_json(a->ctx, call->body);
		if (err)
			return admin_call_error(call, 500, "agent status failed: %s",
						strerror(-err));
	}
	strbuf_puts(call->body, "}\n");
	return call->body->err ? admin_call_error(call, 500, "out of memory") : 200;
}

/* The admin server's index: the paths it serves, so a human with curl finds their way. */
static int admin_h_index(struct admin_call *call, void *arg)
{
	struct admin_srv *srv = arg;
	size_t i;

	strbuf_puts(call->body, "{\"endpoints\": [");
	for (i = 0; i < srv->nroutes; i++) {
		if (i)
			strbuf_puts(call->body, ", ");
		admin_json_str(call->body, srv->routes[i].path);
	}
	strbuf_puts(call->body, "]}\n");
	return 200;
}

/* ---- dispatch ---- */

static const struct admin_route *admin_find(const struct admin_srv *srv, const char *path)
{
	size_t i;

	for (i = 0; i < srv->nroutes; i++)
		if (!strcmp(srv->routes[i].path, path))
			return &srv->routes[i];
	return NULL;
}

static void admin_send(struct evhttp_request *req, int status, const char *ctype,
		       const struct strbuf *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = evbuffer_new();
	char len[32];

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* libevent 2.1.12 writes a HEAD reply's body as it would a GET's: announce
		 * the length a GET would get and send none. */
		snprintf(len, sizeof(len), "%zu", body->len);
		evhttp_add_header(h, "Content-Length", len);
	} else if (buf && body->len) {
		evbuffer_add(buf, body->buf, body->len);
	}
	evhttp_send_reply(req, status, admin_reason(status), buf);
	if (buf)
		evbuffer_free(buf);
}

static void admin_gencb(struct evhttp_request *req, void *arg)
{
	struct admin_srv *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct admin_route *route;
	struct evkeyvalq query;
	struct admin_call call;
	struct strbuf body;
	const char *q;
	int status;

	TAILQ_INIT(&query);
	strbuf_init(&body);
	memset(&call, 0, sizeof(call));
	call.body = &body;
	call.content_type = "application/json";
	call.path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!call.path || !*call.path)
		call.path = "/";

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		status = admin_call_error(&call, 405, "method not allowed: %s serves GET and HEAD",
					  admin_srv_names[srv->which]);
		goto out_send;
	}
	q = uri ? evhttp_uri_get_query(uri) : NULL;
	if (q && evhttp_parse_query_str(q, &query)) {
		status = admin_call_error(&call, 400, "malformed query string");
		goto out_send;
	}
	call.query = &query;
	route = admin_find(srv, call.path);
	if (!route) {
		status = admin_call_error(&call, 404, "no such endpoint: %.128s", call.path);
		goto out_send;
	}
	status = route->fn(&call, route->arg);
	if (status < 100 || status > 599)
		status = admin_call_error(&call, 500, "handler returned bad status %d", status);
out_send:
	if (body.err) {
		strbuf_fini(&body);
		status = admin_call_error(&call, 500, "out of memory");
	}
	admin_send(req, status, call.content_type, &body);
	evhttp_clear_headers(&query);
	strbuf_fini(&body);
}

static int admin_srv_route(struct admin_srv *srv, const char *path, admin_handler_fn fn, void *arg)
{
	struct admin_route *r;

	if (!path || path[0] != '/' || !fn)
		return -EINVAL;
	if (admin_find(srv, path))
		return -EEXIST;
	r = realloc(srv->routes, (srv->nroutes + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	srv->routes = r;
	r[srv->nroutes].path = strdup(path);
	if (!r[srv->nroutes].path)
		return -ENOMEM;
	r[srv->nroutes].fn = fn;
	r[srv->nroutes].arg = arg;
	srv->nroutes++;
	return 0;
}

int admin_route(struct admin *a, const char *path, admin_handler_fn fn, void *arg)
{
	return admin_srv_route(&a->srv[ADMIN_ADMIN], path, fn, arg);
}

/* Binds server <srv> to <addr> on <base>. Returns 0 or -errno, logged with the address. */
static int admin_srv_open(struct admin_srv *srv, struct event_base *base, const char *addr,
			  unsigned timeout_s)
{
	const char *name = admin_srv_names[srv->which];
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, err;

	if (addr_parse(addr, &ss, &len)) {
		log_err("admin", "%s address \"%s\": want ip:port or [ip6]:port", name, addr);
		return -EINVAL;
	}
	srv->http = evhttp_new(base);
	if (!srv->http)
		return -ENOMEM;
	evhttp_set_max_headers_size(srv->http, ADMIN_MAX_HEADERS);
	evhttp_set_max_body_size(srv->http, ADMIN_MAX_BODY);
	evhttp_set_timeout(srv->http, timeout_s);
	/* Let every method reach admin_gencb so that it answers 405, not evhttp's 501. */
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						  EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						  EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						  EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(srv->http, admin_gencb, srv);

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out_errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 128))
		goto out_close;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		goto out_close;
	srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						   : ((struct sockaddr_in *)&ss)->sin_port);
	bound = evhttp_accept_socket_with_handle(srv->http, fd); /* owns fd from here */
	if (!bound)
		goto out_close;
	log_info("admin", "%s server listening on %s (port %d)", name, addr, srv->port);
	return 0;
out_close:
	err = -errno;
	close(fd);
	goto out_log;
out_errno:
	err = -errno;
out_log:
	log_err("admin", "%s server on %s: %s", name, addr, strerror(-err));
	return err ? err : -EIO;
}

struct admin *admin_new(struct event_base *base, const struct admin_opts *opts,
			const struct admin_ops *ops, void *ctx)
{
	static const char *const defaults[ADMIN_MAX] = {"0.0.0.0:15020", "0.0.0.0:15021",
							"127.0.0.1:15000"};
	struct admin_opts none = {0};
	struct telemetry_opts topts;
	struct admin *a;
	int i, err = -ENOMEM;

	if (!base || !ops || !ops->edges) {
		errno = EINVAL;
		return NULL;
	}
	if (!opts)
		opts = &none;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->ops = ops;
	a->ctx = ctx;
	a->mopts = opts->metrics;
	a->req = opts->reqstats;
	for (i = 0; i < ADMIN_MAX; i++) {
		a->srv[i].a = a;
		a->srv[i].which = i;
		a->srv[i].port = -ENOENT;
	}

	topts.interval_ms = opts->sample_interval_ms;
	topts.max_edges = opts->max_edges;
	a->tel = telemetry_new(base, &topts, ops->edges, ctx);
	if (!a->tel)
		goto out_free;

	if (admin_srv_route(&a->srv[ADMIN_METRICS], "/metrics", admin_h_metrics, a) ||
	    admin_srv_route(&a->srv[ADMIN_METRICS], "/stats/prometheus", admin_h_metrics, a) ||
	    admin_srv_route(&a->srv[ADMIN_METRICS], "/graph", admin_h_graph, a) ||
	    admin_srv_route(&a->srv[ADMIN_METRICS], "/dotviz", admin_h_dotviz, a) ||
	    admin_srv_route(&a->srv[ADMIN_METRICS], "/healthz/ready", admin_h_ready, a) ||
	    admin_srv_route(&a->srv[ADMIN_HEALTH], "/healthz/ready", admin_h_ready, a) ||
	    admin_srv_route(&a->srv[ADMIN_ADMIN], "/", admin_h_index, &a->srv[ADMIN_ADMIN]) ||
	    admin_srv_route(&a->srv[ADMIN_ADMIN], "/status", admin_h_status, a) ||
	    admin_srv_route(&a->srv[ADMIN_ADMIN], "/edges", admin_h_edges, a) ||
	    admin_srv_route(&a->srv[ADMIN_ADMIN], "/metrics", admin_h_metrics, a) ||
	    admin_srv_route(&a->srv[ADMIN_ADMIN], "/graph", admin_h_graph, a) ||
	    admin_srv_route(&a->srv[ADMIN_ADMIN], "/dotviz", admin_h_dotviz, a))
		goto out_free;

	for (i = 0; i < ADMIN_MAX; i++) {
		const char *addr = i == ADMIN_METRICS  ? opts->metrics_addr
				   : i == ADMIN_HEALTH ? opts->health_addr
						       : opts->admin_addr;

		if (!addr)
			addr = defaults[i];
		if (!*addr)
			continue; /* this server is off */
		err =
		    admin_srv_open(&a->srv[i], base, addr, opts->timeout_s ? opts->timeout_s : 10);
		if (err)
			goto out_free;
	}
	return a;
out_free:
	admin_free(a);
	errno = -err;
	return NULL;
}

void admin_free(struct admin *a)
{
	size_t i, j;

	if (!a)
		return;
	for (i = 0; i < ADMIN_MAX; i++) {
		if (a->srv[i].http)
			evhttp_free(a->srv[i].http);
		for (j = 0; j < a->srv[i].nroutes; j++)
			free(a->srv[i].routes[j].path);
		free(a->srv[i].routes);
	}
	telemetry_free(a->tel);
	free(a);
}

int admin_port(const struct admin *a, enum admin_server which)
{
	if ((unsigned)which >= ADMIN_MAX || !a->srv[which].http)
		return -ENOENT;
	return a->srv[which].port;
}

struct telemetry *admin_telemetry(const struct admin *a)
{
	return a->tel;
}
