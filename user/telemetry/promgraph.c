// SPDX-License-Identifier: Apache-2.0
/*
 * The cluster graph from Prometheus (promgraph.h): PromQL over the Istio standard metrics,
 * the instant-vector answers parsed with jansson into plain edges, libcurl for the HTTP.
 * Every series becomes one graph_in; graph_build_edges() folds equal edges, so a flow edge's
 * qps (connections opened) and bytes (sent, received) arrive from three queries and sum up.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "telemetry/promgraph.h"

/* An answer larger than this is not a graph anyone can look at: refuse it. */
#define PROMGRAPH_MAX_BODY (32U << 20)

/*
 * The labels each query keeps. The source revision gives the pages one node per service and
 * version; the destination service name stands in for a destination outside the mesh.
 */
#define PROMGRAPH_BY                                                                               \
	"source_canonical_service, source_canonical_revision, destination_canonical_service, "     \
	"destination_canonical_revision, destination_service_name"

struct promgraph {
	char *url; /* base, without a trailing '/' */
	unsigned timeout_ms;
	CURL *curl;
	struct promgraph_stats st;
};

static const char *const promgraph_metrics[PROMGRAPH_NMETRICS] = {
    [PROMGRAPH_REQUESTS] = "istio_requests_total",
    [PROMGRAPH_TCP_OPENED] = "istio_tcp_connections_opened_total",
    [PROMGRAPH_TCP_SENT] = "istio_tcp_sent_bytes_total",
    [PROMGRAPH_TCP_RCVD] = "istio_tcp_received_bytes_total",
};

const char *promgraph_metric_name(enum promgraph_metric m)
{
	return m < PROMGRAPH_NMETRICS ? promgraph_metrics[m] : "unknown";
}

const char *promgraph_fail_name(enum promgraph_fail f)
{
	static const char *const names[PROMGRAPH_NFAIL] = {
	    [PROMGRAPH_OK] = "ok",
	    [PROMGRAPH_UNREACHABLE] = "unreachable",
	    [PROMGRAPH_HTTP] = "http_status",
	    [PROMGRAPH_API] = "api_error",
	    [PROMGRAPH_MALFORMED] = "malformed",
	};

	return f < PROMGRAPH_NFAIL ? names[f] : "unknown";
}

static void promgraph_seterr(struct promgraph_err *err, enum promgraph_fail kind, const char *fmt,
			     ...) __attribute__((format(printf, 3, 4)));

static void promgraph_seterr(struct promgraph_err *err, enum promgraph_fail kind, const char *fmt,
			     ...)
{
	va_list ap;

	err->kind = kind;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

int promgraph_query(enum promgraph_metric m, const char *range, char *buf, size_t size)
{
	const char *name = promgraph_metric_name(m);
	int n;

	/*
	 * Source-reported series, as the agent's own graph shows the source's view; plus the
	 * destination's reports of callers outside the mesh (source "unknown"), which only the
	 * destination sees. "or" keeps both: their reporter labels differ. Requests keep the
	 * protocol and the codes too, to tell errors apart.
	 */
	n = snprintf(buf, size,
		     "sum by (%s%s) (rate(%s{reporter=\"source\"}[%s]) or "
		     "rate(%s{reporter=\"destination\",source_canonical_service=\"unknown\"}[%s]))",
		     PROMGRAPH_BY,
		     m == PROMGRAPH_REQUESTS
			 ? ", request_protocol, response_code, grpc_response_status"
			 : "",
		     name, range, name, range);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

void promgraph_acc_init(struct promgraph_acc *acc)
{
	memset(acc, 0, sizeof(*acc));
}

void promgraph_acc_fini(struct promgraph_acc *acc)
{
	size_t i;

	for (i = 0; i < acc->n; i++) {
		/* The accumulator strdup'd them: the casts drop graph_in's borrowed const. */
		free((char *)acc->in[i].source);
		free((char *)acc->in[i].source_version);
		free((char *)acc->in[i].target);
		free((char *)acc->in[i].version);
	}
	for (i = 0; i < acc->nwarnings; i++)
		free(acc->warnings[i]);
	free(acc->in);
	free(acc->warnings);
	memset(acc, 0, sizeof(*acc));
}

/* A label of <metric> or NULL (absent, not a string, or empty: Prometheus drops those). */
static const char *promgraph_label(json_t *metric, const char *name)
{
	const char *s = json_string_value(json_object_get(metric, name));

	return s && s[0] ? s : NULL;
}

/* An unknown label reads as absent: "unknown" is what the agent writes for it. */
static const char *promgraph_known(json_t *metric, const char *name)
{
	const char *s = promgraph_label(metric, name);

	return s && strcmp(s, "unknown") ? s : NULL;
}

/*
 * Whether a request series counts as errors: no response (code 0), a 5xx, or a gRPC status
 * other than OK (it travels in a 200), as the agent's reqstats_is_error() decides.
 */
static bool promgraph_is_error(json_t *metric)
{
	const char *code = promgraph_label(metric, "response_code");
	const char *grpc = promgraph_label(metric, "grpc_response_status");
	const char *proto = promgraph_label(metric, "request_protocol");
	long c = code ? strtol(code, NULL, 10) : 0;

	if (c == 0 || c >= 500)
		return true;
	return proto && !strcmp(proto, "grpc") && grpc && strcmp(grpc, "0");
}

static char *promgraph_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Appends one series to <acc>: <metric> names the edge, <rate> is the sample. */
static int promgraph_add(struct promgraph_acc *acc, enum promgraph_metric m, json_t *metric,
			 double rate)
{
	const char *target = promgraph_known(metric, "destination_canonical_service");
	const char *proto = promgraph_label(metric, "request_protocol");
	struct graph_in *e;

	if (acc->n == acc->cap) {
		size_t cap = acc->cap ? 2 * acc->cap : 64;
		struct graph_in *in = realloc(acc->in, cap * sizeof(*in));

		if (!in)
			return -ENOMEM;
		acc->in = in;
		acc->cap = cap;
	}
	e = &acc->in[acc->n];
	memset(e, 0, sizeof(*e));
	/* graph.c's naming: the destination Service when the workload is not known. */
	if (!target)
		target = promgraph_known(metric, "destination_service_name");
	e->source = promgraph_dup(promgraph_known(metric, "source_canonical_service"));
	e->source_version = promgraph_dup(promgraph_known(metric, "source_canonical_revision"));
	e->target = promgraph_dup(target);
	e->version = promgraph_dup(promgraph_known(metric, "destination_canonical_revision"));
	acc->n++; /* counted before the check, so that fini frees a partial entry */
	if ((!e->source && promgraph_known(metric, "source_canonical_service")) ||
	    (!e->source_version && promgraph_known(metric, "source_canonical_revision")) ||
	    (!e->target && target) ||
	    (!e->version && promgraph_known(metric, "destination_canonical_revision")))
		return -ENOMEM;

	switch (m) {
	case PROMGRAPH_REQUESTS:
		e->protos = proto && !strcmp(proto, "grpc") ? GRAPH_P_GRPC : GRAPH_P_HTTP;
		e->qps = rate;
		e->errors_per_sec = promgraph_is_error(metric) ? rate : 0;
		break;
	case PROMGRAPH_TCP_OPENED:
		e->protos = GRAPH_P_TCP;
		e->qps = rate;
		break;
	default: /* sent and received bytes: both directions add up */
		e->protos = GRAPH_P_TCP;
		e->bytes_per_sec = rate;
		break;
	}
	return 0;
}

/* Keeps warning <w> once. */
static int promgraph_add_warning(struct promgraph_acc *acc, const char *w)
{
	char **v;
	size_t i;

	for (i = 0; i < acc->nwarnings; i++)
		if (!strcmp(acc->warnings[i], w))
			return 0;
	v = realloc(acc->warnings, (acc->nwarnings + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	acc->warnings = v;
	v[acc->nwarnings] = strdup(w);
	if (!v[acc->nwarnings])
		return -ENOMEM;
	acc->nwarnings++;
	return 0;
}

/* Reads one vector sample's value: [<time>, "<float>"]. Returns 0 or -EBADMSG. */
static int promgraph_sample(json_t *value, double *rate)
{
	const char *s = json_string_value(json_array_get(value, 1));
	char *end;

	if (!json_is_array(value) || json_array_size(value) != 2 || !s)
		return -EBADMSG;
	*rate = strtod(s, &end);
	if (end == s || *end)
		return -EBADMSG;
	/* NaN or Inf (a counter reset inside a tiny range): no rate rather than a wrong one. */
	if (!isfinite(*rate) || *rate < 0)
		*rate = 0;
	return 0;
}

int promgraph_parse(struct promgraph_acc *acc, enum promgraph_metric m, const char *body,
		    size_t len, struct promgraph_err *err)
{
	const char *q = promgraph_metric_name(m), *status, *rtype;
	json_t *root, *data, *result, *warnings, *w, *s;
	json_error_t jerr;
	size_t i;
	int ret = -EBADMSG;

	root = json_loadb(body, len, 0, &jerr);
	if (!root) {
		promgraph_seterr(err, PROMGRAPH_MALFORMED,
				 "prometheus answer to the %s query is not JSON: %s (line %d)", q,
				 jerr.text, jerr.line);
		return -EBADMSG;
	}
	status = json_string_value(json_object_get(root, "status"));
	if (!status) {
		promgraph_seterr(err, PROMGRAPH_MALFORMED,
				 "prometheus answer to the %s query has no \"status\" string", q);
		goto out;
	}
	if (strcmp(status, "success")) {
		promgraph_seterr(
		    err, PROMGRAPH_API, "prometheus %s query: status \"%.32s\": %.32s: %.128s", q,
		    status, json_string_value(json_object_get(root, "errorType")) ?: "?",
		    json_string_value(json_object_get(root, "error")) ?: "no error text");
		ret = -EREMOTEIO;
		goto out;
	}
	warnings = json_object_get(root, "warnings");
	if (warnings && !json_is_array(warnings)) {
		promgraph_seterr(err, PROMGRAPH_MALFORMED,
				 "prometheus answer to the %s query: \"warnings\" is not an array",
				 q);
		goto out;
	}
	json_array_foreach(warnings, i, w)
	{
		char buf[320];

		/* Name the query: the same warning from two queries reads as one. */
		snprintf(buf, sizeof(buf), "%s", json_string_value(w) ?: "(not a string)");
		if (promgraph_add_warning(acc, buf)) {
			ret = -ENOMEM;
			promgraph_seterr(err, PROMGRAPH_MALFORMED, "out of memory");
			goto out;
		}
	}
	data = json_object_get(root, "data");
	rtype = json_string_value(json_object_get(data, "resultType"));
	result = json_object_get(data, "result");
	if (!rtype || strcmp(rtype, "vector") || !json_is_array(result)) {
		promgraph_seterr(err, PROMGRAPH_MALFORMED,
				 "prometheus answer to the %s query: data.resultType is \"%.16s\", "
				 "data.result %s; want an instant vector",
				 q, rtype ?: "(none)",
				 json_is_array(result) ? "an array" : "missing");
		goto out;
	}
	json_array_foreach(result, i, s)
	{
		json_t *metric = json_object_get(s, "metric");
		double rate;

		if (!json_is_object(metric) ||
		    promgraph_sample(json_object_get(s, "value"), &rate)) {
			promgraph_seterr(
			    err, PROMGRAPH_MALFORMED,
			    "prometheus answer to the %s query: data.result[%zu] has no "
			    "\"metric\" object or no [time, \"value\"] pair",
			    q, i);
			goto out;
		}
		if (promgraph_add(acc, m, metric, rate)) {
			ret = -ENOMEM;
			promgraph_seterr(err, PROMGRAPH_MALFORMED, "out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int promgraph_acc_graph(const struct promgraph_acc *acc, bool filter_empty, const char *range,
			struct graph *g)
{
	size_t i;
	int err;

	err = graph_build_edges(g, acc->in, acc->n, filter_empty);
	if (!err && range)
		err = graph_set_horizon(g, range);
	for (i = 0; !err && i < acc->nwarnings; i++)
		err = graph_add_warning(g, acc->warnings[i]);
	return err;
}

/* ---- HTTP ---- */

struct promgraph_body {
	char *buf;
	size_t len;
	bool too_big;
};

static size_t promgraph_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct promgraph_body *b = arg;
	size_t n = size * nmemb;
	char *p;

	if (b->len + n > PROMGRAPH_MAX_BODY) {
		b->too_big = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	p = realloc(b->buf, b->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, data, n);
	b->buf = p;
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

struct promgraph *promgraph_new(const char *url, unsigned timeout_ms)
{
	struct promgraph *pg;
	size_t len;

	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
		errno = EINVAL;
		return NULL;
	}
	pg = calloc(1, sizeof(*pg));
	if (!pg)
		return NULL;
	pg->url = strdup(url);
	pg->curl = curl_easy_init();
	if (!pg->url || !pg->curl) {
		promgraph_free(pg);
		errno = ENOMEM;
		return NULL;
	}
	len = strlen(pg->url);
	while (len && pg->url[len - 1] == '/')
		pg->url[--len] = '\0';
	pg->timeout_ms = timeout_ms ? timeout_ms : 5000;
	return pg;
}

void promgraph_free(struct promgraph *pg)
{
	if (!pg)
		return;
	if (pg->curl)
		curl_easy_cleanup(pg->curl);
	free(pg->url);
	free(pg);
}

/* GETs the answer to <promql> into <b>. Returns 0 or -errno with <err> filled. */
static int promgraph_get(struct promgraph *pg, enum promgraph_metric m, const char *promql,
			 struct promgraph_body *b, struct promgraph_err *err)
{
	const char *q = promgraph_metric_name(m);
	char *esc, *url = NULL;
	long status = 0;
	CURLcode rc;

	esc = curl_easy_escape(pg->curl, promql, 0);
	if (!esc || asprintf(&url, "%s/api/v1/query?query=%s", pg->url, esc) < 0) {
		curl_free(esc);
		promgraph_seterr(err, PROMGRAPH_UNREACHABLE, "out of memory");
		return -ENOMEM;
	}
	curl_free(esc);
	curl_easy_reset(pg->curl);
	curl_easy_setopt(pg->curl, CURLOPT_URL, url);
	curl_easy_setopt(pg->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(pg->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)pg->timeout_ms);
	curl_easy_setopt(pg->curl, CURLOPT_TIMEOUT_MS, (long)pg->timeout_ms);
	curl_easy_setopt(pg->curl, CURLOPT_WRITEFUNCTION, promgraph_write);
	curl_easy_setopt(pg->curl, CURLOPT_WRITEDATA, b);
	/* The graph never follows a redirect off to somewhere else. */
	curl_easy_setopt(pg->curl, CURLOPT_FOLLOWLOCATION, 0L);
	rc = curl_easy_perform(pg->curl);
	free(url);
	if (rc != CURLE_OK) {
		if (b->too_big) {
			promgraph_seterr(err, PROMGRAPH_MALFORMED,
					 "prometheus answer to the %s query is over %u bytes", q,
					 PROMGRAPH_MAX_BODY);
			return -EBADMSG;
		}
		promgraph_seterr(err, PROMGRAPH_UNREACHABLE, "prometheus at %s is unreachable: %s",
				 pg->url, curl_easy_strerror(rc));
		return -ECONNREFUSED;
	}
	curl_easy_getinfo(pg->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		/* Prometheus explains a 4xx/5xx in the body's "error": keep it. */
		json_t *root = b->buf ? json_loads(b->buf, 0, NULL) : NULL;
		const char *why = json_string_value(json_object_get(root, "error"));

		promgraph_seterr(err, PROMGRAPH_HTTP,
				 "prometheus at %s answered the %s query with HTTP %ld%s%.160s",
				 pg->url, q, status, why ? ": " : "", why ?: "");
		json_decref(root);
		return -EPROTO;
	}
	return 0;
}

int promgraph_fetch(struct promgraph *pg, uint64_t horizon_ms, bool filter_empty, struct graph *g,
		    struct promgraph_err *err)
{
	struct promgraph_acc acc;
	char range[32], promql[1024];
	int m, ret = 0;

	memset(g, 0, sizeof(*g));
	err->kind = PROMGRAPH_OK;
	err->msg[0] = '\0';
	pg->st.fetches++;
	if (horizon_ms < 1000) {
		promgraph_seterr(err, PROMGRAPH_OK, "time horizon %llu ms is under 1s",
				 (unsigned long long)horizon_ms);
		return -EINVAL;
	}
	/* Whole seconds print as Prometheus writes them; the rest in milliseconds. */
	if (horizon_ms % 1000)
		snprintf(range, sizeof(range), "%llums", (unsigned long long)horizon_ms);
	else
		snprintf(range, sizeof(range), "%llus", (unsigned long long)(horizon_ms / 1000));

	promgraph_acc_init(&acc);
	for (m = 0; m < PROMGRAPH_NMETRICS && !ret; m++) {
		struct promgraph_body b = {0};

		ret = promgraph_query(m, range, promql, sizeof(promql));
		if (ret) {
			promgraph_seterr(err, PROMGRAPH_OK, "the %s query does not fit",
					 promgraph_metric_name(m));
			break;
		}
		ret = promgraph_get(pg, m, promql, &b, err);
		if (!ret)
			ret = promgraph_parse(&acc, m, b.buf ? b.buf : "", b.len, err);
		free(b.buf);
	}
	if (!ret) {
		ret = promgraph_acc_graph(&acc, filter_empty, range, g);
		if (ret)
			promgraph_seterr(err, PROMGRAPH_OK, "out of memory building the graph");
	}
	promgraph_acc_fini(&acc);
	if (err->kind != PROMGRAPH_OK)
		pg->st.failures[err->kind]++;
	else if (!ret && g->nwarnings)
		pg->st.partial++;
	return ret;
}

void promgraph_stats(const struct promgraph *pg, struct promgraph_stats *st)
{
	*st = pg->st;
}
