// SPDX-License-Identifier: Apache-2.0
/*
 * Access log entries from the proxy (access.h): reads the request head and the session's
 * addresses, converts the monotonic start into wall-clock time and writes one line into
 * the worker's ring of telemetry/accesslog. Nothing here allocates or blocks.
 */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include "model/model.h"
#include "model/tpolicy.h"
#include "proxy/access.h"
#include "proxy/hsession.h"
#include "proxy/http.h"
#include "proxy/relay.h"
#include "proxy/worker.h"
#include "telemetry/accesslog.h"

uint64_t px_access_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The wall-clock time, in microseconds, of monotonic instant <t0_ns>; and the elapsed. */
static void px_access_times(struct accesslog_entry *e, uint64_t t0_ns)
{
	uint64_t now = px_access_now_ns();
	struct timespec wall;

	clock_gettime(CLOCK_REALTIME, &wall);
	e->duration_us = now > t0_ns ? (now - t0_ns) / 1000 : 0;
	e->start_us = (uint64_t)wall.tv_sec * 1000000 + (uint64_t)wall.tv_nsec / 1000;
	e->start_us -= e->duration_us < e->start_us ? e->duration_us : 0;
}

/*
 * What Istio's Telemetry accessLogging says for the client Pod at <ip> (network order):
 * on, off, or nothing (the log's default: on with --access-log, off without).
 */
static enum accesslog_choice px_access_choice(struct px_worker *w, uint32_t ip)
{
	const struct model *m = px_model(w);
	const struct tpolicy *tp;

	if (!w->al || !m || !m->telemetry)
		return ACCESSLOG_DEFAULT; /* no log: nothing to decide */
	tp = tpolicy_of(m, model_find_pod_by_ip(m, ip));
	if (tp->access_log < 0)
		return ACCESSLOG_DEFAULT;
	return tp->access_log ? ACCESSLOG_ON : ACCESSLOG_OFF;
}

static const char *px_access_hdr(const struct http_head *h, const char *name)
{
	return http_head_get(h, name, strlen(name), NULL);
}

void px_access_http(struct px_worker *w, struct hsession *hs, const struct http_head *req,
		    const struct px_access_http *a)
{
	const struct hsession_dest *d = hsession_dest(hs);
	enum accesslog_choice choice = px_access_choice(w, d->client_ip);
	struct accesslog_entry e;
	const char *opath;

	/* The log always exists (off by default without --access-log): decide before building. */
	if (!accesslog_wants(w->al, choice))
		return;
	memset(&e, 0, sizeof(e));
	px_access_times(&e, a->t0_ns);
	e.bytes_received = a->req_bytes;
	e.bytes_sent = a->resp_bytes;
	e.flags = a->flags;
	e.response_code = a->status;
	e.choice = choice;
	e.protocol = hsession_is_h2(hs)		? "HTTP/2"
		     : req->version == HTTP_V10 ? "HTTP/1.0"
						: "HTTP/1.1";
	e.method = http_str_ptr(req, req->method);
	/* %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%: the path before a rewrite when one was noted. */
	opath = px_access_hdr(req, "x-envoy-original-path");
	e.path = opath ? opath : http_str_ptr(req, req->path);
	e.authority = http_str_ptr(req, req->authority);
	e.user_agent = px_access_hdr(req, "user-agent");
	e.request_id = px_access_hdr(req, "x-request-id");
	e.forwarded_for = px_access_hdr(req, "x-forwarded-for");
	e.details = a->via_upstream ? "via_upstream" : NULL;
	e.cluster = a->cluster;
	if (a->ep)
		e.upstream_host = *a->ep;
	e.downstream_local = d->orig;
	e.downstream_remote.sin_addr.s_addr = d->client_ip;
	e.downstream_remote.sin_port = d->client_port;
	accesslog_write(w->al, &e);
}

void px_access_tcp(struct px_worker *w, const struct sockaddr_in *peer,
		   const struct relay_flow *key, uint64_t t0_ns, uint64_t up, uint64_t down,
		   uint32_t flags)
{
	enum accesslog_choice choice = px_access_choice(w, peer ? peer->sin_addr.s_addr : 0);
	struct accesslog_entry e;

	if (!accesslog_wants(w->al, choice))
		return;
	memset(&e, 0, sizeof(e));
	px_access_times(&e, t0_ns);
	e.bytes_received = up;
	e.bytes_sent = down;
	e.flags = flags;
	e.choice = choice;
	e.upstream_host.sin_addr.s_addr = key->backend_ip;
	e.upstream_host.sin_port = htons(key->backend_port);
	e.downstream_local.sin_addr.s_addr = key->orig_ip;
	e.downstream_local.sin_port = htons(key->orig_port);
	if (peer)
		e.downstream_remote = *peer;
	accesslog_write(w->al, &e);
}

void px_access_tcp_refused(struct px_worker *w, const struct sockaddr_in *peer,
			   const struct sockaddr_in *orig, uint32_t flags)
{
	struct relay_flow key;

	if (!w->al)
		return;
	/* No backend: the upstream host stays zero and prints as "-". */
	memset(&key, 0, sizeof(key));
	key.orig_ip = orig->sin_addr.s_addr;
	key.orig_port = ntohs(orig->sin_port);
	px_access_tcp(w, peer, &key, px_access_now_ns(), 0, 0, flags);
}
