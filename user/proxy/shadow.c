// SPDX-License-Identifier: Apache-2.0
/*
 * Mirrored requests, declared in shadow.h. A shadow owns copies of the head, body and
 * trailers and an upstream stream of its own; it ends (and frees itself) when the
 * response ended, the stream was reset, or no connection could be had.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/route.h"
#include "proxy/limits.h"
#include "proxy/shadow.h"
#include "proxy/upstream.h"
#include "proxy/worker.h"

struct shadow {
	struct upstream_req up;
	struct px_worker *w;
	struct http_head req;
	struct http_head trailers;
	bool has_trailers;
	uint8_t *body;
	size_t len, sent;
};

static void shadow_free(struct shadow *s, bool reset)
{
	upstream_release(&s->up, reset);
	http_head_fini(&s->req);
	http_head_fini(&s->trailers);
	free(s->body);
	free(s);
}

static void shadow_push(struct shadow *s)
{
	while (s->sent < s->len) {
		ssize_t n = upstream_submit_data(&s->up, s->body + s->sent, s->len - s->sent,
						 !s->has_trailers);

		if (n <= 0)
			return;
		s->sent += (size_t)n;
	}
	if (s->has_trailers && s->sent == s->len) {
		upstream_submit_trailers(&s->up, &s->trailers);
		s->has_trailers = false;
	}
}

static void sh_ready(void *arg)
{
	struct shadow *s = arg;
	bool eos = !s->len && !s->has_trailers;

	if (upstream_submit_head(&s->up, &s->req, eos)) {
		shadow_free(s, true);
		return;
	}
	shadow_push(s);
}

static void sh_failed(void *arg, int err)
{
	shadow_free(arg, true);
}

static void sh_head(void *arg, struct http_head *head, bool end_stream)
{
	if (end_stream && head->status >= 200)
		shadow_free(arg, false);
}

static void sh_data(void *arg, const uint8_t *buf, size_t len, bool end_stream)
{
	struct shadow *s = arg;

	upstream_consume(&s->up, len); /* read and dropped */
	if (end_stream)
		shadow_free(s, false);
}

static void sh_trailers(void *arg, struct http_head *trailers)
{
	shadow_free(arg, false);
}

static void sh_reset(void *arg, enum codec_err err)
{
	struct shadow *s = arg;

	s->up.uc = NULL;
	shadow_free(s, false);
}

static void sh_writable(void *arg)
{
	shadow_push(arg);
}

static const struct upstream_ops shadow_ops = {
    .ready = sh_ready,
    .failed = sh_failed,
    .head = sh_head,
    .data = sh_data,
    .trailers = sh_trailers,
    .reset = sh_reset,
    .writable = sh_writable,
};

void shadow_send(struct px_worker *w, const char *cluster, const struct http_head *req,
		 const uint8_t *body, size_t len, const struct http_head *trailers, uint32_t src_ip)
{
	const struct model *m = px_model(w);
	const struct route_cluster *c = m ? route_cluster_find(m->routes, cluster) : NULL;
	struct balancer_req br = {.req = req, .src_ip = src_ip};
	const struct model_endpoint *ep;
	struct sockaddr_in dst = {.sin_family = AF_INET};
	struct shadow *s;
	char auth[512];
	size_t idx;

	if (!c)
		return;
	br.gen = m->generation ? m->generation : 1;
	limits_balancer_req(px_limits(w), c, &br);
	if (balancer_pick(&w->bal, c, &br, &idx))
		return;
	ep = c->eps[idx];
	dst.sin_addr.s_addr = ep->ip;
	dst.sin_port = htons(ep->port);
	s = calloc(1, sizeof(*s));
	if (!s)
		return;
	s->w = w;
	http_head_init(&s->req, HTTP_REQUEST, 0);
	http_head_init(&s->trailers, HTTP_TRAILERS, 0);
	if (http_head_copy(&s->req, req) || (trailers && http_head_copy(&s->trailers, trailers)))
		goto out_free;
	s->has_trailers = trailers != NULL;
	/* Envoy's mark of a shadow request: "-shadow" after the host. */
	snprintf(auth, sizeof(auth), "%s-shadow", http_str_ptr(&s->req, s->req.authority));
	if (http_head_str(&s->req, auth, strlen(auth), &s->req.authority))
		goto out_free;
	if (len) {
		s->body = malloc(len);
		if (!s->body)
			goto out_free;
		memcpy(s->body, body, len);
		s->len = len;
	}
	upstream_req_init(&s->up, &shadow_ops, s);
	if (upstream_acquire(w->pool, &s->up, &dst,
			     c->proto == ROUTE_PROTO_HTTP2 || c->proto == ROUTE_PROTO_GRPC, NULL))
		goto out_free;
	return;
out_free:
	shadow_free(s, true);
}
