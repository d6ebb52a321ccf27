// SPDX-License-Identifier: Apache-2.0
/*
 * weir-load's HTTP/1.1 server (see serve.h): a listener per thread with SO_REUSEPORT, one epoll
 * loop each, keep-alive unless the client asks to close, and one prebuilt response written for
 * every complete request head. A connection's state is allocated once at accept.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "serve.h"

#define SERVE_RBUF 8192

struct serve_conn {
	int fd;
	bool close_after; /* the last request asked for Connection: close */
	size_t rlen;      /* bytes in rbuf */
	size_t pending;   /* bytes of responses still to write */
	size_t woff;      /* offset of the next byte to write within the response */
	char rbuf[SERVE_RBUF];
};

struct serve_ctx {
	struct sockaddr_in addr;
	const char *resp;
	size_t resp_len;
	int lfd;
};

static volatile sig_atomic_t serve_stop;

static void serve_on_signal(int sig)
{
	(void)sig;
	serve_stop = 1;
}

static void sconn_free(struct serve_conn *c)
{
	close(c->fd);
	free(c);
}

/* Writes what is pending on <c>; returns 0, 1 if the socket is full, -1 on error. */
static int sconn_flush(const struct serve_ctx *s, struct serve_conn *c)
{
	ssize_t n;

	while (c->pending) {
		size_t chunk = s->resp_len - c->woff;

		n = send(c->fd, s->resp + c->woff, chunk, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 1 : -1;
		}
		c->woff += (size_t)n;
		c->pending -= (size_t)n;
		if (c->woff == s->resp_len)
			c->woff = 0;
	}
	return 0;
}

/* Handles readiness on <c>; returns -1 when the connection is done. */
static int sconn_event(const struct serve_ctx *s, int ep, struct serve_conn *c, uint32_t ev)
{
	struct epoll_event e = { .data.ptr = c };
	int closing, rc;
	ssize_t n;
	long len;

	if (ev & EPOLLIN) {
		for (;;) {
			n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			if (n <= 0)
				return -1;
			c->rlen += (size_t)n;
			/* Every complete head in the buffer gets one response (pipelining works). */
			while ((len = http_req_len(c->rbuf, c->rlen, &closing)) > 0) {
				memmove(c->rbuf, c->rbuf + len, c->rlen - (size_t)len);
				c->rlen -= (size_t)len;
				c->pending += s->resp_len;
				c->close_after |= closing;
			}
			if (len < 0)
				return -1;
		}
	}
	rc = sconn_flush(s, c);
	if (rc < 0)
		return -1;
	if (rc == 0 && c->close_after)
		return -1;
	e.events = EPOLLIN | (rc ? EPOLLOUT : 0);
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
	return 0;
}

static void *serve_thread(void *arg)
{
	struct serve_ctx *s = arg;
	struct epoll_event evs[64], ev = { .events = EPOLLIN, .data.ptr = NULL };
	int ep, n, i, fd, one = 1;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, s->lfd, &ev);
	while (!serve_stop) {
		n = epoll_wait(ep, evs, 64, 200);
		for (i = 0; i < n; i++) {
			struct serve_conn *c = evs[i].data.ptr;

			if (!c) {
				while ((fd = accept4(s->lfd, NULL, NULL,
						     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct epoll_event ce = { .events = EPOLLIN };

					c = calloc(1, sizeof(*c));
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					ce.data.ptr = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce) < 0)
						sconn_free(c);
				}
				continue;
			}
			if (sconn_event(s, ep, c, evs[i].events) < 0)
				sconn_free(c);
		}
	}
	/* Connections still open at exit are closed by process exit. */
	close(ep);
	return NULL;
}

static int serve_listen(const struct sockaddr_in *addr)
{
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 || listen(fd, 4096) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int serve_run(const struct sockaddr_in *listen_addr, int threads, size_t size, double lifetime)
{
	struct serve_ctx *ctx;
	pthread_t *tids;
	struct sigaction sa = { .sa_handler = serve_on_signal };
	char head[160], *resp;
	size_t hlen;
	int i, err = 0, started = 0;

	if (threads < 1 || threads > 64 || size > (1u << 24))
		return -EINVAL;
	hlen = (size_t)snprintf(head, sizeof(head),
				"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
				"Content-Length: %zu\r\n\r\n", size);
	resp = malloc(hlen + size);
	ctx = calloc((size_t)threads, sizeof(*ctx));
	tids = calloc((size_t)threads, sizeof(*tids));
	if (!resp || !ctx || !tids) {
		err = -ENOMEM;
		goto out_free;
	}
	memcpy(resp, head, hlen);
	memset(resp + hlen, 'w', size);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < threads; i++) {
		ctx[i].lfd = serve_listen(listen_addr);
		if (ctx[i].lfd < 0) {
			err = ctx[i].lfd;
			goto out_stop;
		}
		ctx[i].resp = resp;
		ctx[i].resp_len = hlen + size;
		if (pthread_create(&tids[i], NULL, serve_thread, &ctx[i])) {
			close(ctx[i].lfd);
			err = -EAGAIN;
			goto out_stop;
		}
		started++;
	}
	fprintf(stderr, "weir-load: serving %zu-byte bodies with %d thread(s)\n", size, threads);
	if (lifetime > 0) {
		struct timespec ts = { .tv_sec = (time_t)lifetime };

		while (!serve_stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	} else {
		while (!serve_stop)
			pause();
	}
out_stop:
	serve_stop = 1;
	for (i = 0; i < started; i++) {
		pthread_join(tids[i], NULL);
		close(ctx[i].lfd);
	}
out_free:
	free(tids);
	free(ctx);
	free(resp);
	return err;
}
