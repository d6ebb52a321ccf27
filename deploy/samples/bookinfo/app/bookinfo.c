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
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "bookinfo.h"
#include "lib/log.h"

/* The headers an application must copy from its inbound request to its outbound calls so that
 * a mesh can stitch one trace together (Istio's list for bookinfo). end-user, which Istio's
 * request-routing and fault-injection tasks match on at every hop, is carried separately
 * because it may also come from the login cookie. */
static const char *const bookinfo_fwd_headers[] = {
    "x-request-id", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled",
    "x-b3-flags",   "b3",	    "traceparent", "tracestate",
};
#define BOOKINFO_NFWD (sizeof(bookinfo_fwd_headers) / sizeof(bookinfo_fwd_headers[0]))

struct bookinfo_cfg {
	const char *name;
	const char *version;
	const char *response; /* free text put into every answer; NULL for none */
	const char *pod;      /* POD_NAME or HOSTNAME, shown in answers */
	const char *stars;    /* star colour reviews shows; NULL for none */
	char listen_host[64];
	uint16_t listen_port;
	const char *call_str[BOOKINFO_MAX_CALLS];
	char call_name[BOOKINFO_MAX_CALLS][64]; /* "" unless given as service=URL */
	struct bookinfo_url calls[BOOKINFO_MAX_CALLS];
	struct role_call policy[BOOKINFO_MAX_CALLS]; /* timeout, retry, failure handling */
	int ncalls;
	unsigned long call_fails[BOOKINFO_MAX_CALLS]; /* for rate-limited warnings */
	unsigned timeout_ms;			      /* per downstream call */
	int timeout_set;			      /* --timeout-ms given: it wins over roles */
	struct fault fault;
	struct stats stats;
	struct event_base *base;
};

/* One inbound request waiting for its downstream calls. */
struct bookinfo_pending {
	struct bookinfo_cfg *cfg;
	struct evhttp_request *req; /* NULL once the client went away */
	struct evhttp_connection *in_conn;
	struct event *delay;	  /* BOOKINFO_DELAY_MS timer, NULL when none */
	json_t *calls;		  /* one slot per downstream, in --call order */
	json_t *soft;		  /* "<target>_error" -> message, for failures answered 200 */
	char *fwd[BOOKINFO_NFWD]; /* inbound values of bookinfo_fwd_headers, copied so that a
				   * retry after the inbound request is gone still has them */
	char request_id[128];
	char traceparent[128]; /* as received, shown in the answer to make propagation visible */
	char b3_traceid[64];
	char end_user[64];
	int waiting; /* downstream answers still due, +1 while starting */
	int failed;  /* a downstream without a soft policy did not answer 200 */
	int inject;  /* status code the fault knobs chose for this request, 0 for none */
};

/* One attempt of one downstream call of a pending request. */
struct bookinfo_call {
	struct bookinfo_pending *p;
	int idx;
	unsigned attempt; /* 1 for the first */
	enum evhttp_request_error err;
	int has_err;
};

static void bookinfo_call_start(struct bookinfo_pending *p, int idx, unsigned attempt);

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

static const char *bookinfo_reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	}
	return code >= 500 ? "Server Error" : "Error";
}

static void bookinfo_pending_free(struct bookinfo_pending *p)
{
	size_t i;

	if (p->delay)
		event_free(p->delay);
	for (i = 0; i < BOOKINFO_NFWD; i++)
		free(p->fwd[i]);
	json_decref(p->calls);
	json_decref(p->soft);
	free(p);
}

/* The answer's JSON: who served, what it saw, and (nested) what its downstreams answered. */
static json_t *bookinfo_answer(const struct bookinfo_pending *p)
{
	const struct bookinfo_cfg *cfg = p->cfg;
	json_t *o = json_object();

	json_object_set_new(o, "service", json_string(cfg->name));
	json_object_set_new(o, "version", json_string(cfg->version));
	if (cfg->pod)
		json_object_set_new(o, "pod", json_string(cfg->pod));
	if (cfg->response)
		json_object_set_new(o, "response", json_string(cfg->response));
	if (cfg->stars)
		json_object_set_new(o, "stars", json_string(cfg->stars));
	if (p->request_id[0])
		json_object_set_new(o, "request_id", json_string(p->request_id));
	if (p->end_user[0])
		json_object_set_new(o, "end_user", json_string(p->end_user));
	if (p->traceparent[0] || p->b3_traceid[0]) {
		json_t *t = json_object();

		if (p->traceparent[0])
			json_object_set_new(t, "traceparent", json_string(p->traceparent));
		if (p->b3_traceid[0])
			json_object_set_new(t, "x-b3-traceid", json_string(p->b3_traceid));
		json_object_set_new(o, "trace", t);
	}
	if (p->inject) {
		/* A failure on purpose says so, so that a test can tell it from a mesh error. */
		json_object_set_new(o, "error", json_string("injected failure (BOOKINFO_FAIL_*)"));
		json_object_set_new(o, "status", json_integer(p->inject));
		return o;
	}
	json_object_update(o, p->soft);
	if (cfg->ncalls)
		json_object_set(o, "calls", p->calls);
	return o;
}

/*
 * Whether the client of <evcon> has already closed its side. libevent 2.1 does not watch an
 * inbound connection while its request is being served, so the close hook rarely fires; a
 * peek at the socket tells a caller that timed out (curl -m, a mesh's route timeout) apart.
 */
static int bookinfo_client_gone(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	char c;

	return fd >= 0 && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static void bookinfo_reply(struct bookinfo_pending *p)
{
	struct bookinfo_cfg *cfg = p->cfg;
	struct evbuffer *body;
	json_t *o;
	char *text;
	int code = p->inject ? p->inject : p->failed ? 502 : 200;

	if (!p->req) {
		cfg->stats.abandoned++; /* the client gave up; nobody to answer */
		goto out;
	}
	if (bookinfo_client_gone(p->in_conn))
		cfg->stats.abandoned++;
	o = bookinfo_answer(p);
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
	evhttp_send_reply(p->req, code, bookinfo_reason(code), body);
	stats_count_status(&cfg->stats, code);
	if (body)
		evbuffer_free(body);
	free(text);
	log_debug("serve", "answered %d (request id %s)", code,
		  p->request_id[0] ? p->request_id : "-");
out:
	bookinfo_pending_free(p);
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

/*
 * Records the final outcome of call <idx> in its slot (<slot> is consumed). A failure either
 * fails the whole answer (502, the program's plain behaviour) or, where the role says so, is
 * shown as "<target>_error" in an answer that is still 200, as Istio's bookinfo pages do.
 */
static void bookinfo_call_settle(struct bookinfo_pending *p, int idx, json_t *slot, int ok)
{
	const struct role_call *rc = &p->cfg->policy[idx];
	char key[80];

	json_array_set_new(p->calls, (size_t)idx, slot);
	if (ok)
		return;
	if (!rc->soft_msg) {
		p->failed = 1;
		return;
	}
	snprintf(key, sizeof(key), "%s_error", rc->target);
	json_object_set_new(p->soft, key, json_string(rc->soft_msg));
}

static void bookinfo_call_fail(struct bookinfo_pending *p, int idx, unsigned attempt,
			       const char *why, int status)
{
	json_t *e = json_object();

	json_object_set_new(e, "url", json_string(p->cfg->call_str[idx]));
	json_object_set_new(e, "error", json_string(why));
	if (status)
		json_object_set_new(e, "status", json_integer(status));
	if (attempt > 1)
		json_object_set_new(e, "attempts", json_integer(attempt));
	bookinfo_call_settle(p, idx, e, 0);
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
	const struct role_call *rc = &p->cfg->policy[c->idx];
	int code = resp ? evhttp_request_get_response_code(resp) : 0;
	struct evbuffer *in;
	json_error_t jerr;
	json_t *body = NULL;
	size_t len;

	/* Retry on any failure while attempts remain and someone still waits for the answer. */
	if (code != 200 && c->attempt < rc->attempts && p->req)
		goto retry;
	if (code == 0) {
		bookinfo_call_fail(p, c->idx, c->attempt,
				   c->has_err ? bookinfo_err_str(c->err) : "connection failed", 0);
		goto out;
	}
	in = evhttp_request_get_input_buffer(resp);
	len = evbuffer_get_length(in);
	if (len)
		body = json_loadb((const char *)evbuffer_pullup(in, (ssize_t)len), len, 0, &jerr);
	if (!json_is_object(body)) {
		json_decref(body);
		bookinfo_call_fail(p, c->idx, c->attempt, "answer is not a JSON object", code);
		goto out;
	}
	if (code != 200) {
		json_object_set_new(body, "status", json_integer(code));
		if (c->attempt > 1)
			json_object_set_new(body, "attempts", json_integer(c->attempt));
	}
	bookinfo_call_settle(p, c->idx, body, code == 200);
	goto out;
retry:
	/* Istio's productpage retries reviews once on any failure; a new connection each time,
	 * so the mesh sees (and counts) two requests. */
	log_debug("call", "%s: attempt %u failed (%d), retrying", p->cfg->call_str[c->idx],
		  c->attempt, code);
	bookinfo_call_start(p, c->idx, c->attempt + 1);
out:
	free(c);
	bookinfo_pending_put(p);
}

static void bookinfo_call_start(struct bookinfo_pending *p, int idx, unsigned attempt)
{
	const struct bookinfo_url *u = &p->cfg->calls[idx];
	unsigned ms = p->cfg->policy[idx].timeout_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct evhttp_connection *evcon;
	struct evhttp_request *req;
	struct evkeyvalq *out;
	struct bookinfo_call *c;
	char ip[64], host[300];
	size_t i;

	/* Resolve here, synchronously (the names are in /etc/hosts), so that a bad name is a
	 * clear error and libevent only ever connects to a literal address. */
	if (bookinfo_resolve(u->host, ip, sizeof(ip)) < 0) {
		bookinfo_call_fail(p, idx, attempt, "name does not resolve", 0);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		bookinfo_call_fail(p, idx, attempt, "out of memory", 0);
		return;
	}
	c->p = p;
	c->idx = idx;
	c->attempt = attempt;
	evcon = evhttp_connection_base_new(p->cfg->base, NULL, ip, u->port);
	if (!evcon) {
		free(c);
		bookinfo_call_fail(p, idx, attempt, "cannot create connection", 0);
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
		bookinfo_call_fail(p, idx, attempt, "out of memory", 0);
		return;
	}
	evhttp_request_set_error_cb(req, bookinfo_call_error);
	out = evhttp_request_get_output_headers(req);
	snprintf(host, sizeof(host), "%s:%u", u->host, u->port);
	evhttp_add_header(out, "Host", host);
	evhttp_add_header(out, "Connection", "close");
	evhttp_add_header(out, "User-Agent", "bookinfo-app");
	for (i = 0; i < BOOKINFO_NFWD; i++)
		if (p->fwd[i])
			evhttp_add_header(out, bookinfo_fwd_headers[i], p->fwd[i]);
	if (p->end_user[0])
		evhttp_add_header(out, "end-user", p->end_user);
	p->waiting++;
	if (evhttp_make_request(evcon, req, EVHTTP_REQ_GET, u->path) != 0) {
		/* libevent 2.1 keeps ownership of req and evcon on this path: leak rather than
		 * risk a double free; it only happens when socket() itself fails. */
		p->waiting--;
		bookinfo_call_fail(p, idx, attempt, "cannot send request", 0);
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

/* GET /stats: what this service really received, so tests can count behind the mesh. */
static void bookinfo_send_stats(struct bookinfo_cfg *cfg, struct evhttp_request *req)
{
	json_t *o = stats_json(&cfg->stats);
	char *text = NULL;

	if (o) {
		json_object_set_new(o, "name", json_string(cfg->name));
		json_object_set_new(o, "version", json_string(cfg->version));
		if (cfg->pod)
			json_object_set_new(o, "pod", json_string(cfg->pod));
		text = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	}
	if (text)
		bookinfo_send_simple(req, 200, "OK", text);
	else
		bookinfo_send_simple(req, 500, "Internal Server Error",
				     "{\"error\":\"no memory\"}");
	free(text);
}

/* Starts the downstream calls of <p>, or answers at once when a failure is injected. */
static void bookinfo_start(struct bookinfo_pending *p)
{
	int i;

	/* Hold one reference while starting calls so that a call failing at once cannot
	 * answer (and free p) before the loop is done. */
	p->waiting = 1;
	if (!p->inject && p->req)
		for (i = 0; i < p->cfg->ncalls; i++)
			bookinfo_call_start(p, i, 1);
	bookinfo_pending_put(p);
}

static void bookinfo_delay_done(evutil_socket_t fd, short what, void *arg)
{
	bookinfo_start(arg);
}

/* Who the request is for: the end-user header, else Istio's login cookie "user=<name>". */
static void bookinfo_find_user(struct bookinfo_pending *p, struct evkeyvalq *in_hdrs)
{
	const char *v = evhttp_find_header(in_hdrs, "end-user");

	if (v) {
		if (role_user_ok(v))
			snprintf(p->end_user, sizeof(p->end_user), "%s", v);
		else
			log_debug("serve", "end-user header: not 1-63 visible characters, ignored");
		return;
	}
	v = evhttp_find_header(in_hdrs, "cookie");
	if (v && role_cookie_get(v, "user", p->end_user, sizeof(p->end_user)) == -EINVAL) {
		p->end_user[0] = '\0';
		log_debug("serve", "cookie user: not 1-63 visible characters, ignored");
	}
}

static void bookinfo_handle(struct evhttp_request *req, void *arg)
{
	struct bookinfo_cfg *cfg = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq *in_hdrs = evhttp_request_get_input_headers(req);
	struct timeval tv;
	struct bookinfo_pending *p;
	const char *v;
	size_t i;

	/* Probes and counters are neither counted, delayed nor failed: a readiness probe must
	 * not move the numbers a test reads from /stats. */
	if (path && (strcmp(path, "/health") == 0 || strcmp(path, "/healthz") == 0)) {
		bookinfo_send_simple(req, 200, "OK", "{\"status\":\"ok\"}");
		return;
	}
	if (path && strcmp(path, "/stats") == 0) {
		bookinfo_send_stats(cfg, req);
		return;
	}
	cfg->stats.requests++;
	p = calloc(1, sizeof(*p));
	if (p) {
		p->calls = json_array();
		p->soft = json_object();
	}
	if (!p || !p->calls || !p->soft) {
		if (p)
			bookinfo_pending_free(p);
		bookinfo_send_simple(req, 500, "Internal Server Error",
				     "{\"error\":\"no memory\"}");
		stats_count_status(&cfg->stats, 500);
		return;
	}
	p->cfg = cfg;
	p->req = req;
	p->in_conn = evhttp_request_get_connection(req);
	for (i = 0; i < BOOKINFO_NFWD; i++)
		if ((v = evhttp_find_header(in_hdrs, bookinfo_fwd_headers[i])))
			p->fwd[i] = strdup(v);
	if ((v = evhttp_find_header(in_hdrs, "x-request-id")))
		snprintf(p->request_id, sizeof(p->request_id), "%s", v);
	if ((v = evhttp_find_header(in_hdrs, "traceparent")))
		snprintf(p->traceparent, sizeof(p->traceparent), "%s", v);
	if ((v = evhttp_find_header(in_hdrs, "x-b3-traceid")))
		snprintf(p->b3_traceid, sizeof(p->b3_traceid), "%s", v);
	bookinfo_find_user(p, in_hdrs);
	for (i = 0; i < (size_t)cfg->ncalls; i++)
		json_array_append_new(p->calls, json_null());
	/* Decided on arrival, so that "fail the first N" follows the order requests came in. */
	p->inject = fault_decide(&cfg->fault);
	if (p->inject)
		cfg->stats.injected++;
	evhttp_connection_set_closecb(p->in_conn, bookinfo_client_closed, p);
	if (cfg->fault.delay_ms) {
		tv.tv_sec = cfg->fault.delay_ms / 1000;
		tv.tv_usec = (cfg->fault.delay_ms % 1000) * 1000;
		p->delay = evtimer_new(cfg->base, bookinfo_delay_done, p);
		if (p->delay && evtimer_add(p->delay, &tv) == 0)
			return;
		log_warn("serve", "cannot arm the delay timer; answering without delay");
	}
	bookinfo_start(p);
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

/*
 * Adds a downstream: "http://host:port/path", or "service=http://..." to name the service the
 * role policy applies to when the host is a bare address (loopback tests run every service on
 * 127.0.0.1, where the host says nothing about which service answers).
 */
static int bookinfo_add_call(struct bookinfo_cfg *cfg, const char *spec)
{
	const char *eq = strchr(spec, '='), *url = spec;
	size_t nl = 0;

	if (cfg->ncalls >= BOOKINFO_MAX_CALLS) {
		log_err("config", "more than %d downstream calls", BOOKINFO_MAX_CALLS);
		return -E2BIG;
	}
	if (eq && strncmp(spec, "http://", 7) != 0) {
		nl = (size_t)(eq - spec);
		url = eq + 1;
	}
	if (bookinfo_url_parse(url, &cfg->calls[cfg->ncalls]) < 0 ||
	    nl >= sizeof(cfg->call_name[0]) || (eq && url != spec && nl == 0)) {
		log_err("config",
			"bad downstream '%s' (want http://host:port/path or service=http://...)",
			spec);
		return -EINVAL;
	}
	memcpy(cfg->call_name[cfg->ncalls], spec, nl);
	cfg->call_name[cfg->ncalls][nl] = '\0';
	cfg->call_str[cfg->ncalls++] = url;
	return 0;
}

static void bookinfo_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: bookinfo-app [--name NAME] [--version V] [--listen [IP:]PORT] [--call URL]...\n"
	    "                    [--response TEXT] [--stars COLOUR] [--timeout-ms MS] [-v]\n"
	    "                    [--fail-percent P] [--fail-seed S] [--fail-first N]\n"
	    "                    [--fail-code C] [--delay-ms MS]\n"
	    "       bookinfo-app --load URL [--rate R] [--duration S] [--concurrency C]\n"
	    "                    [--count N] [--timeout-ms MS]\n"
	    "--call takes http://host:port/path or service=http://... (names the service for\n"
	    "the role policy below when host is an address).\n"
	    "Serves GET / (calls every --call URL, forwards x-request-id, B3, traceparent and\n"
	    "end-user (from the end-user header or a user=NAME cookie), answers JSON naming the\n"
	    "service, version and each downstream's answer), GET /stats (requests received, by\n"
	    "status) and GET /health. As Istio's bookinfo: productpage gives reviews 3 s and one\n"
	    "retry and details 3 s, reviews gives ratings 10 s, and their failures still answer\n"
	    "200 with \"<service>_error\"; reviews v2/v3 show black/red stars. --timeout-ms sets\n"
	    "every call's timeout instead. --fail-* answer C (503) to the first N requests, then\n"
	    "to P%% of them (repeatably with a seed); --delay-ms delays every answer.\n"
	    "Environment: BOOKINFO_NAME, BOOKINFO_VERSION, BOOKINFO_LISTEN, BOOKINFO_CALLS (space\n"
	    "or comma separated URLs), BOOKINFO_RESPONSE, BOOKINFO_STARS, BOOKINFO_FAIL_PERCENT,\n"
	    "BOOKINFO_FAIL_SEED, BOOKINFO_FAIL_FIRST, BOOKINFO_FAIL_CODE, BOOKINFO_DELAY_MS;\n"
	    "flags win.\n"
	    "--load sends a bounded load (new connection per request) and prints a JSON "
	    "summary.\n");
}

/* The fault knobs, by flag and by environment variable, for parsing and for messages. */
static const struct {
	int opt;
	const char *flag;
	const char *env;
	enum fault_knob knob;
} bookinfo_knobs[] = {
    {'P', "--fail-percent", "BOOKINFO_FAIL_PERCENT", FAULT_PERCENT},
    {'S', "--fail-seed", "BOOKINFO_FAIL_SEED", FAULT_SEED},
    {'F', "--fail-first", "BOOKINFO_FAIL_FIRST", FAULT_FIRST},
    {'K', "--fail-code", "BOOKINFO_FAIL_CODE", FAULT_CODE},
    {'d', "--delay-ms", "BOOKINFO_DELAY_MS", FAULT_DELAY},
};
#define BOOKINFO_NKNOBS (sizeof(bookinfo_knobs) / sizeof(bookinfo_knobs[0]))

/* Sets knob <i> from <value>, read from the flag (<from_env> 0) or the variable (1). */
static int bookinfo_set_knob(struct fault *f, size_t i, const char *value, int from_env)
{
	if (fault_set(f, bookinfo_knobs[i].knob, value) == 0)
		return 0;
	log_err("config", "%s: '%s' is not %s",
		from_env ? bookinfo_knobs[i].env : bookinfo_knobs[i].flag, value,
		fault_knob_range(bookinfo_knobs[i].knob));
	return -EINVAL;
}

/* Gives every downstream call its role's policy, once the name and the calls are known. */
static int bookinfo_apply_roles(struct bookinfo_cfg *cfg)
{
	int i;

	for (i = 0; i < cfg->ncalls; i++) {
		if (role_call_policy(cfg->name,
				     cfg->call_name[i][0] ? cfg->call_name[i] : cfg->calls[i].host,
				     cfg->timeout_ms, &cfg->policy[i]) < 0) {
			log_err("config", "downstream URL '%s': host has no service name",
				cfg->call_str[i]);
			return -EINVAL;
		}
		if (cfg->timeout_set)
			cfg->policy[i].timeout_ms = cfg->timeout_ms;
		log_debug("config", "%s: %u ms x %u attempt(s)%s", cfg->call_str[i],
			  cfg->policy[i].timeout_ms, cfg->policy[i].attempts,
			  cfg->policy[i].soft_msg ? ", failure shown as an error field" : "");
	}
	if (!cfg->stars)
		cfg->stars = role_stars(cfg->name, cfg->version);
	return 0;
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
	    {"stars", required_argument, NULL, 's'},
	    {"fail-percent", required_argument, NULL, 'P'},
	    {"fail-seed", required_argument, NULL, 'S'},
	    {"fail-first", required_argument, NULL, 'F'},
	    {"fail-code", required_argument, NULL, 'K'},
	    {"delay-ms", required_argument, NULL, 'd'},
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
	int opt, rc = 1, calls_flag = 0;
	size_t k;
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
	if ((env = getenv("BOOKINFO_STARS")))
		cfg.stars = env;
	cfg.pod = getenv("POD_NAME") ? getenv("POD_NAME") : getenv("HOSTNAME");
	fault_init(&cfg.fault);
	for (k = 0; k < BOOKINFO_NKNOBS; k++)
		if ((env = getenv(bookinfo_knobs[k].env)) &&
		    bookinfo_set_knob(&cfg.fault, k, env, 1) < 0)
			return 2;

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
			cfg.timeout_set = 1;
			break;
		case 's':
			cfg.stars = optarg;
			break;
		case 'P':
		case 'S':
		case 'F':
		case 'K':
		case 'd':
			for (k = 0; k < BOOKINFO_NKNOBS; k++)
				if (bookinfo_knobs[k].opt == opt &&
				    bookinfo_set_knob(&cfg.fault, k, optarg, 0) < 0)
					return 2;
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
	if (lo.url)
		return loadgen_run(&lo);
	if (!calls_flag && (env = getenv("BOOKINFO_CALLS"))) {
		calls_env = strdup(env);
		for (tok = strtok_r(calls_env, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save))
			if (bookinfo_add_call(&cfg, tok) < 0)
				goto out;
	}
	if (bookinfo_apply_roles(&cfg) < 0)
		goto out;
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
	if (cfg.fault.first || cfg.fault.percent || cfg.fault.delay_ms)
		log_info("serve",
			 "misbehaving on purpose: %d to the first %lu request(s), then %u%%%s; "
			 "%u ms delay",
			 cfg.fault.code, cfg.fault.first, cfg.fault.percent,
			 cfg.fault.seeded ? " (seeded)" : "", cfg.fault.delay_ms);
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
