// SPDX-License-Identifier: Apache-2.0
/*
 * The bookinfo program's load mode: an open-loop request generator bounded by a rate, a
 * duration, a request count and a concurrency cap. Each request opens a new connection (so the
 * mesh sees one connect per request) and carries a fresh x-request-id and W3C/B3 trace ids.
 * At the end it prints one JSON summary: status codes, which service versions answered (read
 * from the nested JSON bodies the services return) and latency percentiles.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "bookinfo.h"
#include "lib/log.h"

struct loadgen {
	const struct loadgen_opts *o;
	struct bookinfo_url url;
	char ip[64];
	char host_hdr[300];
	struct event_base *base;
	struct event *tick;
	struct event *deadline;
	double t0;
	unsigned long limit; /* most requests to send */
	unsigned long sent;
	unsigned long done;
	unsigned long skipped; /* due while the concurrency cap was reached */
	unsigned long ok;
	unsigned long failed; /* no HTTP answer at all */
	unsigned inflight;
	int stopped;	  /* no more requests will be sent */
	json_t *codes;	  /* "200" -> n */
	json_t *errors;	  /* reason -> n */
	json_t *versions; /* service -> version -> n */
	double *lat_ms;	  /* one slot per completed request */
};

struct loadgen_req {
	struct loadgen *lg;
	double start;
	enum evhttp_request_error err;
	int has_err;
};

static double loadgen_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void loadgen_bump(json_t *obj, const char *key)
{
	json_t *n = json_object_get(obj, key);

	json_object_set_new(obj, key, json_integer(n ? json_integer_value(n) + 1 : 1));
}

/* Counts every service/version pair in an answer tree. */
static void loadgen_count_versions(json_t *versions, json_t *node, int depth)
{
	json_t *svc = json_object_get(node, "service");
	json_t *ver = json_object_get(node, "version");
	json_t *calls = json_object_get(node, "calls");
	json_t *per, *c;
	size_t i;

	if (depth > 16)
		return;
	if (json_is_string(svc) && json_is_string(ver)) {
		per = json_object_get(versions, json_string_value(svc));
		if (!per) {
			per = json_object();
			json_object_set_new(versions, json_string_value(svc), per);
		}
		loadgen_bump(per, json_string_value(ver));
	}
	if (json_is_array(calls))
		json_array_foreach(calls, i, c)
		{
			if (json_is_object(c))
				loadgen_count_versions(versions, c, depth + 1);
		}
}

static void loadgen_maybe_finish(struct loadgen *lg)
{
	if (lg->stopped && lg->inflight == 0)
		event_base_loopbreak(lg->base);
}

static void loadgen_error(enum evhttp_request_error err, void *arg)
{
	struct loadgen_req *r = arg;

	r->err = err;
	r->has_err = 1;
}

static void loadgen_done(struct evhttp_request *resp, void *arg)
{
	struct loadgen_req *r = arg;
	struct loadgen *lg = r->lg;
	int code = resp ? evhttp_request_get_response_code(resp) : 0;
	struct evbuffer *in;
	json_error_t jerr;
	json_t *body;
	char key[16];
	size_t len;

	lg->lat_ms[lg->done++] = (loadgen_now() - r->start) * 1000.0;
	lg->inflight--;
	if (code == 0) {
		lg->failed++;
		loadgen_bump(lg->errors,
			     r->has_err ? (r->err == EVREQ_HTTP_TIMEOUT ? "timeout" : "connection")
					: "connection");
		loadgen_bump(lg->codes, "error");
		goto out;
	}
	snprintf(key, sizeof(key), "%d", code);
	loadgen_bump(lg->codes, key);
	if (code == 200)
		lg->ok++;
	in = evhttp_request_get_input_buffer(resp);
	len = evbuffer_get_length(in);
	if (len) {
		body = json_loadb((const char *)evbuffer_pullup(in, (ssize_t)len), len, 0, &jerr);
		if (json_is_object(body))
			loadgen_count_versions(lg->versions, body, 0);
		json_decref(body);
	}
out:
	free(r);
	loadgen_maybe_finish(lg);
}

/* Sends one request; returns 0, or -ENOMEM when it could not even be built. */
static int loadgen_send(struct loadgen *lg)
{
	struct timeval tv = {lg->o->timeout_ms / 1000, (lg->o->timeout_ms % 1000) * 1000};
	char trace[33], span[17], rid[37], tp[64], raw[33];
	struct evhttp_connection *evcon;
	struct evhttp_request *req;
	struct loadgen_req *r;
	struct evkeyvalq *h;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->lg = lg;
	evcon = evhttp_connection_base_new(lg->base, NULL, lg->ip, lg->url.port);
	if (!evcon) {
		free(r);
		return -ENOMEM;
	}
	evhttp_connection_set_timeout_tv(evcon, &tv);
	evhttp_connection_free_on_completion(evcon);
	req = evhttp_request_new(loadgen_done, r);
	if (!req) {
		evhttp_connection_free(evcon);
		free(r);
		return -ENOMEM;
	}
	evhttp_request_set_error_cb(req, loadgen_error);
	bookinfo_hex_random(trace, 32);
	bookinfo_hex_random(span, 16);
	bookinfo_hex_random(raw, 32);
	/* A version-4 UUID layout for the request id, as Envoy generates them. */
	snprintf(rid, sizeof(rid), "%.8s-%.4s-4%.3s-a%.3s-%.12s", raw, raw + 8, raw + 12, raw + 15,
		 raw + 18);
	snprintf(tp, sizeof(tp), "00-%s-%s-01", trace, span);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", lg->host_hdr);
	evhttp_add_header(h, "Connection", "close");
	evhttp_add_header(h, "User-Agent", "bookinfo-app-load");
	evhttp_add_header(h, "x-request-id", rid);
	evhttp_add_header(h, "traceparent", tp);
	evhttp_add_header(h, "x-b3-traceid", trace);
	evhttp_add_header(h, "x-b3-spanid", span);
	evhttp_add_header(h, "x-b3-sampled", "1");
	r->start = loadgen_now();
	lg->sent++;
	lg->inflight++;
	if (evhttp_make_request(evcon, req, EVHTTP_REQ_GET, lg->url.path) != 0) {
		/* See bookinfo_call_start(): libevent keeps req and evcon here. */
		lg->inflight--;
		lg->failed++;
		lg->lat_ms[lg->done++] = 0;
		loadgen_bump(lg->errors, "send");
		loadgen_bump(lg->codes, "error");
	}
	return 0;
}

static void loadgen_stop(struct loadgen *lg)
{
	if (!lg->stopped) {
		lg->stopped = 1;
		event_del(lg->tick);
	}
	loadgen_maybe_finish(lg);
}

static void loadgen_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct loadgen *lg = arg;
	double el = loadgen_now() - lg->t0;
	unsigned long due;

	if (el >= lg->o->duration || lg->sent >= lg->limit) {
		loadgen_stop(lg);
		return;
	}
	/* Open loop: what the schedule says should have been sent by now, capped by the
	 * concurrency limit; requests that could not go out are counted, not queued. */
	due = (unsigned long)(el * lg->o->rate) + 1;
	if (due > lg->limit)
		due = lg->limit;
	while (lg->sent + lg->skipped < due) {
		if (lg->inflight >= lg->o->concurrency || loadgen_send(lg) < 0)
			lg->skipped++;
	}
}

static void loadgen_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct loadgen *lg = arg;

	log_warn("load", "deadline reached with %u request(s) still in flight", lg->inflight);
	event_base_loopbreak(lg->base);
}

static int loadgen_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The smallest whole number >= <x> >= 0, without libm. */
static double loadgen_ceil(double x)
{
	double t = (double)(unsigned long)x;

	return t < x ? t + 1 : t;
}

static double loadgen_pct(const double *v, unsigned long n, double p)
{
	unsigned long i;

	if (n == 0)
		return 0;
	i = (unsigned long)loadgen_ceil(p * (double)n);
	i = i ? i - 1 : 0;
	return v[i < n ? i : n - 1];
}

static void loadgen_report(struct loadgen *lg, double elapsed)
{
	json_t *o = json_object(), *lat = json_object();
	char *text;
	double sum = 0;
	unsigned long i;

	qsort(lg->lat_ms, lg->done, sizeof(double), loadgen_cmp);
	for (i = 0; i < lg->done; i++)
		sum += lg->lat_ms[i];
	json_object_set_new(lat, "avg", json_real(lg->done ? sum / (double)lg->done : 0));
	json_object_set_new(lat, "p50", json_real(loadgen_pct(lg->lat_ms, lg->done, 0.50)));
	json_object_set_new(lat, "p90", json_real(loadgen_pct(lg->lat_ms, lg->done, 0.90)));
	json_object_set_new(lat, "p99", json_real(loadgen_pct(lg->lat_ms, lg->done, 0.99)));
	json_object_set_new(lat, "max", json_real(lg->done ? lg->lat_ms[lg->done - 1] : 0));
	json_object_set_new(o, "url", json_string(lg->o->url));
	json_object_set_new(o, "rate", json_real(lg->o->rate));
	json_object_set_new(o, "duration_s", json_real(elapsed));
	json_object_set_new(o, "requests", json_integer((json_int_t)lg->sent));
	json_object_set_new(o, "completed", json_integer((json_int_t)lg->done));
	json_object_set_new(o, "ok", json_integer((json_int_t)lg->ok));
	json_object_set_new(o, "failed", json_integer((json_int_t)lg->failed));
	json_object_set_new(o, "skipped", json_integer((json_int_t)lg->skipped));
	json_object_set_new(o, "unfinished", json_integer((json_int_t)lg->inflight));
	json_object_set(o, "codes", lg->codes);
	json_object_set(o, "errors", lg->errors);
	json_object_set(o, "versions", lg->versions);
	json_object_set_new(o, "latency_ms", lat);
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text)
		printf("%s\n", text);
	fflush(stdout);
	free(text);
	json_decref(o);
}

int loadgen_run(const struct loadgen_opts *o)
{
	struct loadgen lg = {.o = o};
	struct timeval iv, dl;
	double interval, limit;
	int rc = 2, err;

	if (bookinfo_url_parse(o->url, &lg.url) < 0) {
		log_err("load", "bad URL '%s' (want http://host:port/path)", o->url);
		return 2;
	}
	if (o->rate > 100000 || o->duration > 86400 || o->concurrency < 1 ||
	    o->concurrency > 10000) {
		log_err("load", "out of bounds: rate <= 100000, duration <= 86400 s, "
				"1 <= concurrency <= 10000");
		return 2;
	}
	limit = loadgen_ceil(o->rate * o->duration);
	lg.limit = o->count && o->count < limit ? o->count : (unsigned long)limit;
	if (lg.limit > 10000000) {
		log_err("load",
			"more than 10 million requests asked for; lower --rate or --duration");
		return 2;
	}
	err = bookinfo_resolve(lg.url.host, lg.ip, sizeof(lg.ip));
	if (err < 0) {
		log_err("load", "cannot resolve '%s': %s", lg.url.host, strerror(-err));
		return 2;
	}
	snprintf(lg.host_hdr, sizeof(lg.host_hdr), "%s:%u", lg.url.host, lg.url.port);
	lg.lat_ms = calloc(lg.limit + 1, sizeof(double));
	lg.codes = json_object();
	lg.errors = json_object();
	lg.versions = json_object();
	lg.base = event_base_new();
	if (!lg.lat_ms || !lg.codes || !lg.errors || !lg.versions || !lg.base)
		goto out;
	interval = 1.0 / o->rate;
	if (interval < 0.001)
		interval = 0.001;
	iv.tv_sec = (time_t)interval;
	iv.tv_usec = (suseconds_t)((interval - (double)iv.tv_sec) * 1e6);
	/* Hard stop: the schedule's end plus one request timeout plus a second of slack. */
	dl.tv_sec = (time_t)(o->duration + o->timeout_ms / 1000.0 + 1);
	dl.tv_usec = 0;
	lg.tick = event_new(lg.base, -1, EV_PERSIST, loadgen_on_tick, &lg);
	lg.deadline = evtimer_new(lg.base, loadgen_on_deadline, &lg);
	if (!lg.tick || !lg.deadline || event_add(lg.tick, &iv) || event_add(lg.deadline, &dl))
		goto out;
	log_info("load", "%s: %.1f req/s for %.1f s (at most %lu requests, %u in flight)", o->url,
		 o->rate, o->duration, lg.limit, o->concurrency);
	lg.t0 = loadgen_now();
	loadgen_on_tick(-1, 0, &lg);
	event_base_dispatch(lg.base);
	loadgen_report(&lg, loadgen_now() - lg.t0);
	rc = lg.ok > 0 ? 0 : 1;
out:
	/* Requests still in flight at the deadline are abandoned with the base. */
	if (lg.tick)
		event_free(lg.tick);
	if (lg.deadline)
		event_free(lg.deadline);
	if (lg.base && lg.inflight == 0)
		event_base_free(lg.base);
	json_decref(lg.codes);
	json_decref(lg.errors);
	json_decref(lg.versions);
	free(lg.lat_ms);
	return rc;
}
