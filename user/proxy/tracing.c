// SPDX-License-Identifier: Apache-2.0
/*
 * Tracing glue between an exchange and telemetry/trace.c + telemetry/spans.c: the span an
 * agent reports is the client span of the request it proxied, as an Istio sidecar's
 * outbound span (name "<host>:<port>" + slash-asterisk, kind CLIENT, Istio's tags). Its id is the
 * id of the last upstream attempt; earlier attempts of a retried request had their own ids
 * (propagated upstream) but report no span of their own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "model/lb.h"
#include "model/model.h"
#include "model/tpolicy.h"
#include "proxy/http.h"
#include "proxy/session.h"
#include "proxy/tracing.h"
#include "proxy/worker.h"
#include "telemetry/reqstats.h"
#include "telemetry/spans.h"

static uint64_t tracing_rnd(void *arg)
{
	struct px_worker *w = arg;

	return ((uint64_t)lb_rand(&w->rnd) << 32) | lb_rand(&w->rnd);
}

static struct trace_val hdr(const struct http_head *h, const char *name)
{
	struct trace_val v = {0};

	v.p = http_head_get(h, name, strlen(name), &v.len);
	return v;
}

void tracing_begin(struct tracing_req *t, struct px_worker *w, const struct hsession_dest *d,
		   const struct http_head *req)
{
	const struct relay_opts *o = px_opts(w);
	const struct model *m = px_model(w);
	const struct tpolicy *pol;
	struct trace_hdrs h = {
	    .b3_traceid = hdr(req, "x-b3-traceid"),
	    .b3_spanid = hdr(req, "x-b3-spanid"),
	    .b3_parentspanid = hdr(req, "x-b3-parentspanid"),
	    .b3_sampled = hdr(req, "x-b3-sampled"),
	    .b3_flags = hdr(req, "x-b3-flags"),
	    .b3 = hdr(req, "b3"),
	    .traceparent = hdr(req, "traceparent"),
	    .tracestate = hdr(req, "tracestate"),
	};
	uint32_t ppm =
	    o->trace_ppm ? atomic_load_explicit(o->trace_ppm, memory_order_relaxed) : UINT32_MAX;
	struct timespec ts;
	unsigned bad;

	t->on = w->spans != NULL;
	if (!t->on)
		return;
	/* The source workload's policy, decided now: the snapshot is gone by the end. */
	pol = m ? tpolicy_of(m, model_find_pod_by_ip(m, d->client_ip)) : NULL;
	if (ppm == UINT32_MAX)
		ppm = pol ? pol->sample_ppm : TPOLICY_DEFAULT_PPM;
	t->report = pol ? !pol->disabled && (pol->report || o->trace_all) : o->trace_all;
	bad = trace_parse(&h, &t->ctx);
	if (bad)
		spans_count_bad(w->spans, bad);
	trace_start(&t->ctx, ppm, tracing_rnd, w);
	clock_gettime(CLOCK_REALTIME, &ts);
	t->ts_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int tracing_inject(struct tracing_req *t, struct px_worker *w, struct http_head *req)
{
	struct trace_out o;
	int err = 0;

	if (!t->on)
		return 0;
	do
		t->span_id = tracing_rnd(w);
	while (!t->span_id);
	trace_out(&t->ctx, t->span_id, &o);
	/* B3 multi-header always (Envoy's Zipkin tracer writes these); a b3 single header
	 * would carry the caller's span as ours, so it goes. */
	err |= http_head_set(req, "x-b3-traceid", 12, o.traceid, strlen(o.traceid));
	err |= http_head_set(req, "x-b3-spanid", 11, o.spanid, 16);
	if (o.parentspanid[0])
		err |= http_head_set(req, "x-b3-parentspanid", 17, o.parentspanid, 16);
	else
		http_head_del(req, "x-b3-parentspanid", 17);
	err |= http_head_set(req, "x-b3-sampled", 12, o.sampled, 1);
	if (o.debug)
		err |= http_head_set(req, "x-b3-flags", 10, "1", 1);
	http_head_del(req, "b3", 2);
	if (o.traceparent[0]) {
		err |= http_head_set(req, "traceparent", 11, o.traceparent, 55);
		if (t->ctx.state_len)
			err |= http_head_set(req, "tracestate", 10, t->ctx.state, t->ctx.state_len);
		else
			http_head_del(req, "tracestate", 10);
	} else {
		http_head_del(req, "traceparent", 11);
		http_head_del(req, "tracestate", 10);
	}
	return err ? -ENOMEM : 0;
}

/* Copies <len> bytes at <p> into <dst> of <size>, NUL-terminated, cut if need be. */
static void put(char *dst, size_t size, const char *p, size_t len)
{
	if (!p)
		len = 0;
	if (len >= size)
		len = size - 1;
	if (len)
		memcpy(dst, p, len);
	dst[len] = 0;
}

static void put_hdr(char *dst, size_t size, const struct http_head *h, const char *name)
{
	size_t len = 0;
	const char *v = http_head_get(h, name, strlen(name), &len);

	put(dst, size, v, len);
}

/* "<fqdn>:<port>" + slash-asterisk from Istio's cluster name "outbound|<port>|<subset>|<fqdn>". */
static bool name_from_cluster(char *dst, size_t size, const char *cluster)
{
	const char *p1 = strchr(cluster, '|'), *p2, *p3;

	if (!p1 || strncmp(cluster, "outbound", 8))
		return false;
	p2 = strchr(p1 + 1, '|');
	p3 = p2 ? strchr(p2 + 1, '|') : NULL;
	if (!p3)
		return false;
	snprintf(dst, size, "%s:%.*s/*", p3 + 1, (int)(p2 - p1 - 1), p1 + 1);
	return true;
}

void tracing_finish(struct tracing_req *t, struct px_worker *w, const struct http_head *req,
		    const struct tracing_end *e)
{
	const struct model *m = px_model(w);
	const struct model_service *svc = NULL;
	const struct model_pod *src;
	struct spans_span s;
	char ip[INET_ADDRSTRLEN];

	if (!t->on || !t->report || t->ctx.sampled != 1 || !spans_enabled(px_opts(w)->spans))
		return;
	memset(&s, 0, sizeof(s));
	s.trace_hi = t->ctx.trace_hi;
	s.trace_lo = t->ctx.trace_lo;
	s.trace128 = t->ctx.trace128;
	s.debug = t->ctx.debug;
	/* Answered by the agent before any attempt: the span still gets an id of its own. */
	s.id = t->span_id ? t->span_id : tracing_rnd(w) | 1;
	s.parent = t->ctx.span_id;
	s.ts_us = t->ts_us;
	s.dur_us = e->dur_us ? e->dur_us : 1;
	s.remote_ip = e->ep->sin_addr.s_addr;
	s.remote_port = ntohs(e->ep->sin_port);
	s.status = e->status;
	s.grpc_status = (int16_t)e->grpc_status;
	s.flags = e->flags;
	s.req_size = e->req_bytes;
	s.resp_size = e->resp_bytes;
	s.error = e->status >= 500 || e->status == 0 || e->grpc_status > 0;
	if (!name_from_cluster(s.name, sizeof(s.name), e->cluster)) {
		if (m)
			model_find_svc_port(m, e->dest->orig.sin_addr.s_addr,
					    e->dest->orig.sin_port, IPPROTO_TCP, &svc);
		inet_ntop(AF_INET, &e->dest->orig.sin_addr, ip, sizeof(ip));
		if (svc)
			snprintf(s.name, sizeof(s.name), "%s.%s.svc.cluster.local:%u/*", svc->name,
				 svc->ns, ntohs(e->dest->orig.sin_port));
		else
			snprintf(s.name, sizeof(s.name), "%s:%u/*", ip,
				 ntohs(e->dest->orig.sin_port));
	}
	put(s.cluster, sizeof(s.cluster), e->cluster, strlen(e->cluster));
	src = m ? model_find_pod_by_ip(m, e->dest->client_ip) : NULL;
	snprintf(s.local_service, sizeof(s.local_service), "%s.%s", src ? src->app : "unknown",
		 src ? src->ns : "unknown");
	put(s.canonical_service, sizeof(s.canonical_service), src ? src->app : "unknown",
	    strlen(src ? src->app : "unknown"));
	put(s.canonical_revision, sizeof(s.canonical_revision), src ? src->version : "unknown",
	    strlen(src ? src->version : "unknown"));
	put(s.ns, sizeof(s.ns), src ? src->ns : "unknown", strlen(src ? src->ns : "unknown"));
	inet_ntop(AF_INET, &e->dest->client_ip, s.peer, sizeof(s.peer));
	put(s.method, sizeof(s.method), http_str_ptr(req, req->method), req->method.len);
	snprintf(s.url, sizeof(s.url), "http://%.*s%.*s", (int)req->authority.len,
		 http_str_ptr(req, req->authority), (int)req->path.len,
		 http_str_ptr(req, req->path));
	snprintf(s.protocol, sizeof(s.protocol), "%s", e->h2_down ? "HTTP/2" : "HTTP/1.1");
	put_hdr(s.request_id, sizeof(s.request_id), req, "x-request-id");
	put_hdr(s.user_agent, sizeof(s.user_agent), req, "user-agent");
	spans_push(w->spans, &s);
}
