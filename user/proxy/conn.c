// SPDX-License-Identifier: Apache-2.0
/*
 * The transport layer declared in conn.h: a worker's socket, its libevent events (assigned
 * in place, no allocation), the non-blocking connect with its timeout, and the plain
 * transport.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "proxy/conn.h"
#include "proxy/worker.h"

static ssize_t plain_recv(struct px_conn *c, void *buf, size_t len)
{
	ssize_t n = recv(c->fd, buf, len, 0);

	return n >= 0 ? n : -errno;
}

static ssize_t plain_send(struct px_conn *c, const void *buf, size_t len)
{
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

	return n >= 0 ? n : -errno;
}

static int plain_shutdown_wr(struct px_conn *c)
{
	return shutdown(c->fd, SHUT_WR) ? -errno : 0;
}

const struct px_transport px_tp_plain = {
    .name = "plain",
    .recv = plain_recv,
    .send = plain_send,
    .shutdown_wr = plain_shutdown_wr,
};

static void conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_conn *c = arg;

	c->ops->io(c->owner, c, what & (EV_READ | EV_WRITE));
}

static void conn_assign(struct px_conn *c)
{
	struct event_base *base = c->w->base;

	event_assign(&c->rev, base, c->fd, EV_READ | EV_PERSIST, conn_io_cb, c);
	event_assign(&c->wev, base, c->fd, EV_WRITE | EV_PERSIST, conn_io_cb, c);
}

static void conn_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_conn *c = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	c->connecting = false;
	if (what & EV_TIMEOUT) {
		c->ops->connected(c->owner, c, -ETIMEDOUT);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	c->ops->connected(c->owner, c, -err);
}

void conn_init(struct px_conn *c, struct px_worker *w, int fd, const struct px_conn_ops *ops,
	       void *owner)
{
	memset(c, 0, sizeof(*c));
	c->w = w;
	c->fd = fd;
	c->tp = &px_tp_plain;
	c->ops = ops;
	c->owner = owner;
	conn_assign(c);
	event_assign(&c->cev, w->base, -1, 0, conn_connect_cb, c);
}

int conn_connect(struct px_conn *c, const struct sockaddr_in *dst, uint32_t src_ip,
		 unsigned timeout_ms)
{
	struct timeval tv = {
	    .tv_sec = timeout_ms / 1000,
	    .tv_usec = (timeout_ms % 1000) * 1000,
	};
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The proxy writes what it has at once: Nagle would only add latency. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	conn_assign(c);
	if (src_ip) {
		struct sockaddr_in src = {.sin_family = AF_INET};

		src.sin_addr.s_addr = src_ip;
		/* The port is picked at connect() time, per destination, not at bind(). */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
			return -errno;
	}
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) == 0) {
		/* Loopback may finish at once: report from the loop all the same, so the
		 * owner's state is the same whichever way it went. */
		event_assign(&c->cev, c->w->base, -1, 0, conn_connect_cb, c);
		c->connecting = true;
		event_active(&c->cev, EV_WRITE, 0);
		return 0;
	}
	if (errno != EINPROGRESS)
		return -errno;
	event_assign(&c->cev, c->w->base, fd, EV_WRITE, conn_connect_cb, c);
	if (event_add(&c->cev, &tv))
		return -ENOMEM;
	c->connecting = true;
	return 0;
}

void conn_want(struct px_conn *c, short what, bool on)
{
	struct event *ev = what == EV_READ ? &c->rev : &c->wev;

	if (c->fd < 0 || !!(c->ev_on & what) == on)
		return;
	if (on) {
		if (event_add(ev, NULL))
			return; /* epoll out of memory: the idle timeout ends it */
		c->ev_on |= what;
	} else {
		event_del(ev);
		c->ev_on &= ~what;
	}
}

void conn_close(struct px_conn *c, bool rst)
{
	event_del(&c->rev);
	event_del(&c->wev);
	event_del(&c->cev);
	c->ev_on = 0;
	c->connecting = false;
	if (c->fd < 0)
		return;
	if (rst)
		px_close_rst(c->fd);
	else
		close(c->fd);
	c->fd = -1;
}
