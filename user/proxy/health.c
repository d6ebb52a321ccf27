// SPDX-License-Identifier: Apache-2.0
/*
 * The active health checker declared in health.h. A target is one (cluster, endpoint,
 * policy); it owns a timer (the interval), and while a probe runs a socket and an event
 * that fires on connect, on the answer, or at the timeout. An HTTP probe sends one GET
 * with Connection: close and reads the status line only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "lib/log.h"
#include "model/model.h"
#include "model/route.h"
#include "proxy/health.h"
#include "proxy/limits.h"

struct hc_target {
	struct hc_target *next;
	struct health *h;
	char *cluster;
	uint32_t ip;		 /* network order */
	uint16_t port;		 /* network order: the endpoint's, as limits keys it */
	uint16_t probe_port;	 /* network order: where the probe goes */
	struct route_health cfg; /* path copied into <path> */
	char path[256];
	char host[64];
	bool down;
	bool seen; /* in the latest snapshot */
	uint32_t ok_run, fail_run;
	int fd;
	int phase; /* 0 idle, 1 connecting, 2 waiting for the answer */
	char rbuf[16];
	size_t rlen;
	struct event timer; /* next probe */
	struct event io;    /* the probe's socket, with the timeout */
};

struct health {
	struct event_base *base;
	struct px_limits *l;
	uint32_t src_ip;
	struct hc_target *targets;
	uint64_t probes, failures;
};

static void hc_arm(struct hc_target *t, uint32_t ms)
{
	struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000};

	evtimer_add(&t->timer, &tv);
}

static void hc_result(struct hc_target *t, bool ok)
{
	struct health *h = t->h;
	uint32_t need;

	if (t->fd >= 0) {
		event_del(&t->io);
		close(t->fd);
		t->fd = -1;
	}
	t->phase = 0;
	h->probes++;
	if (!ok)
		h->failures++;
	if (ok) {
		t->fail_run = 0;
		t->ok_run++;
		need = t->cfg.healthy_threshold ? t->cfg.healthy_threshold : 1;
		if (t->down && t->ok_run >= need) {
			t->down = false;
			limits_hc_set(h->l, t->cluster, t->ip, t->port, true);
			log_info("health", "%s endpoint %s:%u is healthy again", t->cluster,
				 t->host, ntohs(t->port));
		}
	} else {
		t->ok_run = 0;
		t->fail_run++;
		need = t->cfg.unhealthy_threshold ? t->cfg.unhealthy_threshold : 3;
		if (!t->down && t->fail_run >= need) {
			t->down = true;
			limits_hc_set(h->l, t->cluster, t->ip, t->port, false);
			log_warn("health",
				 "%s endpoint %s:%u failed %u health checks: out of service",
				 t->cluster, t->host, ntohs(t->port), t->fail_run);
		}
	}
	hc_arm(t, t->cfg.interval_ms ? t->cfg.interval_ms : 10000);
}

static void hc_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hc_target *t = arg;
	struct timeval tv;
	uint32_t tmo = t->cfg.timeout_ms ? t->cfg.timeout_ms : 1000;
	int err = 0;
	socklen_t len = sizeof(err);

	if (what & EV_TIMEOUT) {
		hc_result(t, false);
		return;
	}
	if (t->phase == 1) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
			hc_result(t, false);
			return;
		}
		if (!t->cfg.http) {
			hc_result(t, true); /* TCP: a completed connect is healthy */
			return;
		}
		char req[512];
		int n = snprintf(req, sizeof(req),
				 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: weir-health\r\n"
				 "Connection: close\r\n\r\n",
				 t->path[0] ? t->path : "/", t->host);

		if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
			hc_result(t, false);
			return;
		}
		t->phase = 2;
		t->rlen = 0;
		tv.tv_sec = tmo / 1000;
		tv.tv_usec = (long)(tmo % 1000) * 1000;
		event_del(&t->io);
		event_assign(&t->io, t->h->base, fd, EV_READ | EV_PERSIST, hc_io_cb, t);
		event_add(&t->io, &tv);
		return;
	}
	/* The status line: "HTTP/1.x NNN". */
	for (;;) {
		ssize_t n = recv(fd, t->rbuf + t->rlen, sizeof(t->rbuf) - 1 - t->rlen, 0);

		if (n > 0) {
			t->rlen += (size_t)n;
			if (t->rlen >= 12)
				break;
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return;
		hc_result(t, false);
		return;
	}
	t->rbuf[t->rlen] = '\0';
	{
		unsigned status = 0;
		uint16_t lo = t->cfg.expect_min ? t->cfg.expect_min : 200;
		uint16_t hi = t->cfg.expect_max ? t->cfg.expect_max : 399;

		if (strncmp(t->rbuf, "HTTP/1.", 7) || sscanf(t->rbuf + 9, "%3u", &status) != 1) {
			hc_result(t, false);
			return;
		}
		hc_result(t, status >= lo && status <= hi);
	}
}

static void hc_timer_cb(evutil_socket_t unused, short what, void *arg)
{
	struct hc_target *t = arg;
	struct sockaddr_in dst = {.sin_family = AF_INET};
	uint32_t tmo = t->cfg.timeout_ms ? t->cfg.timeout_ms : 1000;
	struct timeval tv = {tmo / 1000, (long)(tmo % 1000) * 1000};
	int fd, one = 1;

	if (t->phase)
		return;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		hc_arm(t, t->cfg.interval_ms ? t->cfg.interval_ms : 10000);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (t->h->src_ip) {
		struct sockaddr_in src = {.sin_family = AF_INET};

		src.sin_addr.s_addr = t->h->src_ip;
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		bind(fd, (struct sockaddr *)&src, sizeof(src));
	}
	dst.sin_addr.s_addr = t->ip;
	dst.sin_port = t->probe_port;
	t->fd = fd;
	t->phase = 1;
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS) {
		hc_result(t, false);
		return;
	}
	event_assign(&t->io, t->h->base, fd, EV_WRITE, hc_io_cb, t);
	event_add(&t->io, &tv);
}

struct health *health_new(struct event_base *base, struct px_limits *l, uint32_t src_ip)
{
	struct health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->base = base;
	h->l = l;
	h->src_ip = src_ip;
	return h;
}

static void hc_target_free(struct hc_target *t)
{
	event_del(&t->timer);
	if (t->fd >= 0) {
		event_del(&t->io);
		close(t->fd);
	}
	free(t->cluster);
	free(t);
}

static struct hc_target *hc_find(struct health *h, const char *cluster, uint32_t ip, uint16_t port)
{
	for (struct hc_target *t = h->targets; t; t = t->next)
		if (t->ip == ip && t->port == port && !strcmp(t->cluster, cluster))
			return t;
	return NULL;
}

void health_update(struct health *h, const struct model *m)
{
	const struct model_routes *r = m ? m->routes : NULL;
	struct hc_target **pp;

	for (struct hc_target *t = h->targets; t; t = t->next)
		t->seen = false;
	for (size_t i = 0; r && i < r->nclusters; i++) {
		const struct route_cluster *c = &r->clusters[i];

		if (!c->policy.health.enabled)
			continue;
		for (size_t j = 0; j < c->neps; j++) {
			const struct model_endpoint *e = c->eps[j];
			uint16_t port = htons(e->port);
			struct hc_target *t = hc_find(h, c->name, e->ip, port);

			if (!t) {
				t = calloc(1, sizeof(*t));
				if (!t)
					continue;
				t->cluster = strdup(c->name);
				if (!t->cluster) {
					free(t);
					continue;
				}
				t->h = h;
				t->ip = e->ip;
				t->port = port;
				t->fd = -1;
				inet_ntop(AF_INET, &e->ip, t->host, sizeof(t->host));
				evtimer_assign(&t->timer, h->base, hc_timer_cb, t);
				t->next = h->targets;
				h->targets = t;
				hc_arm(t, 10); /* first probe now */
			}
			t->seen = true;
			t->cfg = c->policy.health;
			snprintf(t->path, sizeof(t->path), "%s", t->cfg.path ? t->cfg.path : "/");
			t->cfg.path = NULL; /* the snapshot's string is not kept */
			t->probe_port = t->cfg.port ? htons(t->cfg.port) : port;
		}
	}
	/* Targets no snapshot names any more go, and their verdict with them. */
	for (pp = &h->targets; *pp;) {
		struct hc_target *t = *pp;

		if (t->seen) {
			pp = &t->next;
			continue;
		}
		if (t->down)
			limits_hc_set(h->l, t->cluster, t->ip, t->port, true);
		*pp = t->next;
		hc_target_free(t);
	}
}

void health_stats(const struct health *h, struct health_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!h)
		return;
	out->probes = h->probes;
	out->failures = h->failures;
	for (const struct hc_target *t = h->targets; t; t = t->next) {
		out->targets++;
		out->down += t->down;
	}
}

void health_free(struct health *h)
{
	if (!h)
		return;
	while (h->targets) {
		struct hc_target *t = h->targets;

		h->targets = t->next;
		hc_target_free(t);
	}
	free(h);
}
