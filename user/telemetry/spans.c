// SPDX-License-Identifier: Apache-2.0
/*
 * Span rings and the Zipkin exporter (spans.h). Each worker owns the producer side of one
 * ring; the exporter thread owns every consumer side and is the only thread that does I/O
 * (libcurl, with connect and total timeouts), so a slow or dead collector costs spans,
 * never a worker's time. The collector address is the only state behind a mutex, and only
 * the control thread and the exporter take it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>

#include "lib/log.h"
#include "lib/strbuf.h"
#include "telemetry/metrics.h"
#include "telemetry/reqstats.h"
#include "telemetry/spans.h"

/* One worker's ring. head and tail count spans ever taken and ever put (mod 2^64). */
struct spans_shard {
	_Atomic uint64_t tail; /* producer: next slot to fill */
	char pad0[56];	       /* head and tail on their own cache lines */
	_Atomic uint64_t head; /* consumer: next slot to read */
	char pad1[56];
	_Atomic uint64_t dropped_full; /* producer only */
	_Atomic uint64_t bad[3];       /* producer only: TRACE_BAD_* bit i */
	struct spans_span *slots;
	uint64_t mask;
};

struct spans {
	struct spans_opts o;
	char *node_id;
	struct spans_shard *shards;
	struct spans_span *batch; /* the exporter's copy of one batch */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock; /* <collector>, <stop> */
	pthread_cond_t cond;  /* wakes the exporter to stop */
	bool stop;
	char *collector;
	_Atomic bool enabled;
	int last_outcome; /* exporter only: 0 ok, 1 error, 2 timeout; logs only changes */
	_Atomic uint64_t exported, dropped_error, dropped_timeout, dropped_nocollect, posts;
};

static void shard_add(_Atomic uint64_t *c);

static void ctr_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

struct spans *spans_new(const struct spans_opts *o)
{
	struct spans *sp = calloc(1, sizeof(*sp));
	uint64_t ring = 1;

	if (!sp)
		return NULL;
	sp->o = *o;
	if (!sp->o.shards)
		sp->o.shards = 1;
	if (!sp->o.ring)
		sp->o.ring = 1024;
	if (!sp->o.batch)
		sp->o.batch = 256;
	if (!sp->o.flush_ms)
		sp->o.flush_ms = 1000;
	if (!sp->o.connect_timeout_ms)
		sp->o.connect_timeout_ms = 1000;
	if (!sp->o.timeout_ms)
		sp->o.timeout_ms = 5000;
	while (ring < sp->o.ring)
		ring <<= 1;
	sp->node_id = strdup(o->node_id ? o->node_id : "");
	sp->shards = calloc(sp->o.shards, sizeof(*sp->shards));
	sp->batch = calloc(sp->o.batch, sizeof(*sp->batch));
	if (!sp->node_id || !sp->shards || !sp->batch)
		goto out_free;
	for (unsigned i = 0; i < sp->o.shards; i++) {
		sp->shards[i].slots = calloc(ring, sizeof(struct spans_span));
		if (!sp->shards[i].slots)
			goto out_free;
		sp->shards[i].mask = ring - 1;
	}
	sp->o.ring = (unsigned)ring;
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->cond, NULL);
	return sp;

out_free:
	if (sp->shards)
		for (unsigned i = 0; i < sp->o.shards; i++)
			free(sp->shards[i].slots);
	free(sp->shards);
	free(sp->batch);
	free(sp->node_id);
	free(sp);
	errno = ENOMEM;
	return NULL;
}

struct spans_shard *spans_shard(struct spans *sp, unsigned i)
{
	return i < sp->o.shards ? &sp->shards[i] : NULL;
}

bool spans_push(struct spans_shard *sh, const struct spans_span *s)
{
	uint64_t t = atomic_load_explicit(&sh->tail, memory_order_relaxed);
	uint64_t h = atomic_load_explicit(&sh->head, memory_order_acquire);

	if (t - h > sh->mask) {
		/* Single writer: a plain add is enough, the reader takes a relaxed load. */
		atomic_store_explicit(
		    &sh->dropped_full,
		    atomic_load_explicit(&sh->dropped_full, memory_order_relaxed) + 1,
		    memory_order_relaxed);
		return false;
	}
	sh->slots[t & sh->mask] = *s;
	/* Release: the exporter that sees the new tail sees the slot's bytes. */
	atomic_store_explicit(&sh->tail, t + 1, memory_order_release);
	return true;
}

static void shard_add(_Atomic uint64_t *c)
{
	/* Single writer: a relaxed load and store, no locked instruction. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

void spans_count_bad(struct spans_shard *sh, unsigned bad)
{
	for (unsigned i = 0; i < 3; i++)
		if (bad & (1U << i))
			shard_add(&sh->bad[i]);
}

int spans_set_collector(struct spans *sp, const char *addr)
{
	char *c = NULL;

	if (addr && *addr) {
		c = strdup(addr);
		if (!c)
			return -ENOMEM;
	}
	pthread_mutex_lock(&sp->lock);
	free(sp->collector);
	sp->collector = c;
	atomic_store_explicit(&sp->enabled, c != NULL, memory_order_relaxed);
	pthread_mutex_unlock(&sp->lock);
	return 0;
}

bool spans_enabled(const struct spans *sp)
{
	return sp && atomic_load_explicit(&sp->enabled, memory_order_relaxed);
}

void spans_stats(const struct spans *sp, struct spans_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->exported = atomic_load(&sp->exported);
	out->dropped_error = atomic_load(&sp->dropped_error);
	out->dropped_timeout = atomic_load(&sp->dropped_timeout);
	out->dropped_nocollect = atomic_load(&sp->dropped_nocollect);
	out->posts = atomic_load(&sp->posts);
	for (unsigned i = 0; i < sp->o.shards; i++) {
		struct spans_shard *sh = &sp->shards[i];
		uint64_t t = atomic_load_explicit(&sh->tail, memory_order_acquire);
		uint64_t h = atomic_load_explicit(&sh->head, memory_order_acquire);

		out->dropped_full += atomic_load_explicit(&sh->dropped_full, memory_order_relaxed);
		for (unsigned b = 0; b < 3; b++)
			out->bad[b] += atomic_load_explicit(&sh->bad[b], memory_order_relaxed);
		out->queued += t - h;
		out->capacity += sh->mask + 1;
	}
}

/* ---- JSON ---- */

/* A JSON string of <s>: bytes that are not UTF-8 become '?' (a tag is never worth a batch). */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static int tag(json_t *tags, const char *k, const char *v)
{
	return json_object_set_new(tags, k, jstr(v));
}

static int tag_u64(json_t *tags, const char *k, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	return tag(tags, k, num);
}

static json_t *span_json(const struct spans_span *s, const char *node_id)
{
	json_t *j = json_object(), *tags = json_object(), *local = json_object(),
	       *remote = json_object();
	char hex[33], flags[REQSTATS_FLAGS_LEN], ip[INET_ADDRSTRLEN];
	int err = 0;

	if (!j || !tags || !local || !remote)
		goto out_free;
	if (s->trace128)
		snprintf(hex, sizeof(hex), "%016llx%016llx", (unsigned long long)s->trace_hi,
			 (unsigned long long)s->trace_lo);
	else
		snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)s->trace_lo);
	err |= json_object_set_new(j, "traceId", json_string(hex));
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)s->id);
	err |= json_object_set_new(j, "id", json_string(hex));
	if (s->parent) {
		snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)s->parent);
		err |= json_object_set_new(j, "parentId", json_string(hex));
	}
	err |= json_object_set_new(j, "name", jstr(s->name));
	err |= json_object_set_new(j, "kind", json_string("CLIENT"));
	err |= json_object_set_new(j, "timestamp", json_integer((json_int_t)s->ts_us));
	err |= json_object_set_new(j, "duration", json_integer((json_int_t)s->dur_us));
	err |= json_object_set_new(local, "serviceName", jstr(s->local_service));
	if (s->remote_ip) {
		inet_ntop(AF_INET, &s->remote_ip, ip, sizeof(ip));
		err |= json_object_set_new(remote, "ipv4", json_string(ip));
		err |= json_object_set_new(remote, "port", json_integer(s->remote_port));
	}
	if (s->debug)
		err |= json_object_set_new(j, "debug", json_true());
	err |= tag(tags, "http.method", s->method);
	err |= tag(tags, "http.url", s->url);
	err |= tag(tags, "http.protocol", s->protocol);
	err |= tag_u64(tags, "http.status_code", s->status);
	if (reqstats_flags_str(s->flags, flags, sizeof(flags)) < 0)
		snprintf(flags, sizeof(flags), "-");
	err |= tag(tags, "response_flags", flags);
	err |= tag(tags, "upstream_cluster", s->cluster);
	err |= tag(tags, "istio.canonical_service", s->canonical_service);
	err |= tag(tags, "istio.canonical_revision", s->canonical_revision);
	err |= tag(tags, "istio.namespace", s->ns);
	err |= tag(tags, "node_id", node_id);
	err |= tag(tags, "peer.address", s->peer);
	err |= tag(tags, "guid:x-request-id", s->request_id);
	err |= tag(tags, "user_agent", s->user_agent);
	err |= tag_u64(tags, "request_size", s->req_size);
	err |= tag_u64(tags, "response_size", s->resp_size);
	err |= tag(tags, "component", "proxy");
	if (s->grpc_status >= 0)
		err |= tag_u64(tags, "grpc.status_code", (uint64_t)s->grpc_status);
	if (s->error)
		err |= tag(tags, "error", "true");
	err |= json_object_set_new(j, "localEndpoint", local);
	local = NULL;
	err |= json_object_set_new(j, "remoteEndpoint", remote);
	remote = NULL;
	err |= json_object_set_new(j, "tags", tags);
	if (!err)
		return j;
	tags = NULL;
out_free:
	json_decref(tags);
	json_decref(local);
	json_decref(remote);
	json_decref(j);
	return NULL;
}

int spans_json(const struct spans_span *s, size_t n, const char *node_id, char **out)
{
	json_t *arr = json_array();

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *j = span_json(&s[i], node_id ? node_id : "");

		if (!j || json_array_append_new(arr, j)) {
			json_decref(arr);
			return -ENOMEM;
		}
	}
	*out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return *out ? 0 : -ENOMEM;
}

/* ---- the exporter ---- */

static size_t discard_body(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* Takes up to batch spans out of the rings into sp->batch, fairly. Returns how many. */
static size_t take_batch(struct spans *sp)
{
	size_t n = 0;
	bool more = true;

	/* One span per ring per round, so a busy worker cannot starve another's spans. */
	while (more && n < sp->o.batch) {
		more = false;
		for (unsigned i = 0; i < sp->o.shards && n < sp->o.batch; i++) {
			struct spans_shard *sh = &sp->shards[i];
			uint64_t h = atomic_load_explicit(&sh->head, memory_order_relaxed);
			uint64_t t = atomic_load_explicit(&sh->tail, memory_order_acquire);

			if (h == t)
				continue;
			sp->batch[n++] = sh->slots[h & sh->mask];
			atomic_store_explicit(&sh->head, h + 1, memory_order_release);
			more = true;
		}
	}
	return n;
}

/* POSTs <n> spans to <collector>; counts them by outcome. */
static void post_batch(struct spans *sp, CURL *curl, const char *collector, size_t n)
{
	struct curl_slist *hdrs = NULL;
	char url[320], *body = NULL;
	long code = 0;
	CURLcode res;

	ctr_add(&sp->posts, 1);
	if (spans_json(sp->batch, n, sp->node_id, &body)) {
		ctr_add(&sp->dropped_error, n);
		return;
	}
	snprintf(url, sizeof(url), "http://%s/api/v2/spans", collector);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)sp->o.connect_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)sp->o.timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
	res = curl_easy_perform(curl);
	if (res == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (res == CURLE_OPERATION_TIMEDOUT) {
		ctr_add(&sp->dropped_timeout, n);
		if (sp->last_outcome != 2)
			log_warn("trace", "collector %s did not answer in %u ms: %zu spans dropped",
				 collector, sp->o.timeout_ms, n);
		sp->last_outcome = 2;
	} else if (res != CURLE_OK || code < 200 || code > 299) {
		ctr_add(&sp->dropped_error, n);
		/* Once per change of outcome: a dead collector must not flood the log. */
		if (sp->last_outcome != 1)
			log_warn(
			    "trace", "collector %s: %s (HTTP %ld): %zu spans dropped", collector,
			    res != CURLE_OK ? curl_easy_strerror(res) : "error answer", code, n);
		sp->last_outcome = 1;
	} else {
		ctr_add(&sp->exported, n);
		if (sp->last_outcome)
			log_info("trace", "collector %s accepts spans again", collector);
		sp->last_outcome = 0;
	}
	curl_slist_free_all(hdrs);
	free(body);
}

/*
 * Drains the rings, batch by batch, until they are empty. <final>: the agent stops; once a
 * POST fails the rest is dropped in the same outcome unsent, so that a hung collector costs
 * a stopping agent one timeout, not one per batch.
 */
static void drain(struct spans *sp, CURL *curl, bool final)
{
	size_t n;

	while ((n = take_batch(sp)) > 0) {
		char *collector = NULL;

		if (final && sp->last_outcome) {
			ctr_add(sp->last_outcome == 2 ? &sp->dropped_timeout : &sp->dropped_error,
				n);
			continue;
		}

		pthread_mutex_lock(&sp->lock);
		if (sp->collector)
			collector = strdup(sp->collector);
		pthread_mutex_unlock(&sp->lock);
		if (!collector || !curl)
			ctr_add(&sp->dropped_nocollect, n);
		else
			post_batch(sp, curl, collector, n);
		free(collector);
	}
}

static void *exporter(void *arg)
{
	struct spans *sp = arg;
	CURL *curl = curl_easy_init();
	bool stop = false;

	if (!curl)
		log_err("trace", "cannot make a curl handle: spans will be dropped");
	while (!stop) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += sp->o.flush_ms / 1000;
		until.tv_nsec += (long)(sp->o.flush_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&sp->lock);
		if (!sp->stop)
			pthread_cond_timedwait(&sp->cond, &sp->lock, &until);
		stop = sp->stop;
		pthread_mutex_unlock(&sp->lock);
		drain(sp, curl, stop); /* also once after stop: what the workers left */
	}
	if (curl)
		curl_easy_cleanup(curl);
	return NULL;
}

int spans_start(struct spans *sp)
{
	int err;

	/* curl_global_init is idempotent per call count; the agent calls nothing else of curl. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -EIO;
	err = pthread_create(&sp->thread, NULL, exporter, sp);
	if (err) {
		curl_global_cleanup();
		return -err;
	}
	sp->running = true;
	return 0;
}

void spans_free(struct spans *sp)
{
	if (!sp)
		return;
	if (sp->running) {
		pthread_mutex_lock(&sp->lock);
		sp->stop = true;
		pthread_cond_signal(&sp->cond);
		pthread_mutex_unlock(&sp->lock);
		pthread_join(sp->thread, NULL);
		curl_global_cleanup();
	}
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->cond);
	for (unsigned i = 0; i < sp->o.shards; i++)
		free(sp->shards[i].slots);
	free(sp->shards);
	free(sp->batch);
	free(sp->collector);
	free(sp->node_id);
	free(sp);
}

int spans_write_metrics(const struct spans *sp, struct strbuf *out)
{
	static const char *const fam = "weir_trace_spans_total";
	struct spans_stats st;
	int err;

	spans_stats(sp, &st);
	const struct {
		const char *outcome;
		uint64_t v;
	} rows[] = {
	    {"exported", st.exported},
	    {"dropped_queue_full", st.dropped_full},
	    {"dropped_collector_error", st.dropped_error},
	    {"dropped_timeout", st.dropped_timeout},
	    {"dropped_no_collector", st.dropped_nocollect},
	};

	err = metrics_family(
	    out, fam, METRICS_COUNTER,
	    "Sampled spans by outcome: exported to the Zipkin collector, or dropped "
	    "(queue full, collector error answer, collector timeout, no collector).");
	for (size_t i = 0; !err && i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct metrics_label l = {"outcome", rows[i].outcome};

		err = metrics_sample_u64(out, fam, &l, 1, rows[i].v);
	}
	if (!err)
		err = metrics_family(out, "weir_trace_queue_spans", METRICS_GAUGE,
				     "Spans waiting in the workers' rings for the exporter.");
	if (!err)
		err = metrics_sample_u64(out, "weir_trace_queue_spans", NULL, 0, st.queued);
	if (!err)
		err = metrics_family(out, "weir_trace_queue_capacity", METRICS_GAUGE,
				     "Spans the workers' rings hold at most.");
	if (!err)
		err = metrics_sample_u64(out, "weir_trace_queue_capacity", NULL, 0, st.capacity);
	if (!err)
		err =
		    metrics_family(out, "weir_trace_bad_headers_total", METRICS_COUNTER,
				   "Invalid trace headers ignored (a bad traceparent starts a new "
				   "trace).");
	for (unsigned b = 0; !err && b < 3; b++) {
		static const char *const names[3] = {"x-b3", "b3", "traceparent"};
		struct metrics_label l = {"header", names[b]};

		err = metrics_sample_u64(out, "weir_trace_bad_headers_total", &l, 1, st.bad[b]);
	}
	if (!err)
		err = metrics_family(out, "weir_trace_posts_total", METRICS_COUNTER,
				     "Batches the exporter tried to POST to the collector.");
	if (!err)
		err = metrics_sample_u64(out, "weir_trace_posts_total", NULL, 0, st.posts);
	return err;
}
