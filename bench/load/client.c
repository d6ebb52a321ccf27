// SPDX-License-Identifier: Apache-2.0
/*
 * The generator's event loop (see client.h). One thread, one epoll set, one connection table.
 * Open loop: request i belongs to instant start + i/rate; when it falls due it takes the first
 * idle connection, or waits for one, and its latency still counts from its due instant, so
 * queueing inside the client is charged to the system under test exactly as a real user sees it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "h2idle.h"
#include "http.h"
#include "sched.h"

#define CLIENT_RBUF 16384

enum conn_state { CS_FREE, CS_CONNECTING, CS_IDLE, CS_BUSY };

struct client_conn {
	int fd;
	enum conn_state st;
	bool want_send;     /* a request is assigned but not yet fully written */
	uint64_t due;       /* ns: when the assigned request was due (open) or sent (closed) */
	uint64_t retry_at;  /* ns: keep-alive reconnect back-off after a failure */
	size_t woff;        /* bytes of the request already written */
	size_t rlen;        /* bytes in rbuf */
	char rbuf[CLIENT_RBUF];
};

struct client_loop {
	const struct client_opts *o;
	struct client_result *r;
	struct client_conn *c;
	int ep;
	char req[256];
	size_t req_len;
	uint64_t start, next, total, last_done;
	int open; /* connections not CS_FREE */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void client_opts_default(struct client_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->target.sin_family = AF_INET;
	o->rate = 1000;
	o->duration = 5;
	o->drain = 2;
	o->conns = 4;
	o->host = "bench";
}

static void conn_close(struct client_loop *l, struct client_conn *c, bool abortive)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (c->fd >= 0) {
		/* An abortive close leaves no TIME_WAIT on any hop, so that a run of thousands
		 * of connections per second never runs out of ephemeral ports. */
		if (abortive)
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->fd);
		l->open--;
	}
	c->fd = -1;
	c->st = CS_FREE;
	c->want_send = false;
	c->rlen = 0;
	c->woff = 0;
}

static int conn_open(struct client_loop *l, struct client_conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&l->o->target, sizeof(l->o->target)) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -errno;
	}
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return -errno;
	}
	c->fd = fd;
	c->st = CS_CONNECTING;
	c->rlen = 0;
	c->woff = 0;
	l->open++;
	return 0;
}

static void conn_events(struct client_loop *l, struct client_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* A failure on <c> with error kind <kind>: count it, free the slot, back off a keep-alive slot. */
static void conn_fail(struct client_loop *l, struct client_conn *c, enum client_err kind)
{
	l->r->errors[kind]++;
	conn_close(l, c, true);
	c->retry_at = now_ns() + 20000000ull;
}

static void conn_send(struct client_loop *l, struct client_conn *c)
{
	ssize_t n;

	while (c->woff < l->req_len) {
		n = send(c->fd, l->req + c->woff, l->req_len - c->woff, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN) {
				conn_events(l, c, EPOLLIN | EPOLLOUT);
				return;
			}
			if (errno == EINTR)
				continue;
			conn_fail(l, c, CE_RESET);
			return;
		}
		c->woff += (size_t)n;
	}
	c->want_send = false;
	conn_events(l, c, EPOLLIN);
}

/* Hands request number l->next to connection <c> (idle keep-alive, or a fresh slot). */
static void conn_assign(struct client_loop *l, struct client_conn *c, uint64_t now)
{
	c->due = l->o->rate > 0 ? sched_at(l->start, l->next, l->o->rate) : now;
	if (now > c->due && (double)(now - c->due) / 1e6 > l->r->late_max_ms)
		l->r->late_max_ms = (double)(now - c->due) / 1e6;
	l->next++;
	l->r->scheduled++;
	c->want_send = true;
	c->woff = 0;
	c->rlen = 0;
	if (c->st == CS_IDLE) {
		c->st = CS_BUSY;
		conn_send(l, c);
	}
}

static void conn_readable(struct client_loop *l, struct client_conn *c)
{
	int status = 0;
	ssize_t n;
	long len;

	for (;;) {
		n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* EOF or reset: an error only if a request was waiting on it. */
			if (c->st == CS_BUSY)
				conn_fail(l, c, CE_RESET);
			else
				conn_close(l, c, true);
			return;
		}
		c->rlen += (size_t)n;
		len = http_resp_len(c->rbuf, c->rlen, &status);
		if (len < 0 || (len == 0 && c->rlen == sizeof(c->rbuf)) || c->st != CS_BUSY) {
			conn_fail(l, c, CE_PARSE);
			return;
		}
		if (len > 0)
			break;
	}
	l->last_done = now_ns();
	if (status >= 200 && status < 300) {
		l->r->ok++;
		hist_record(&l->r->lat, l->last_done > c->due ? l->last_done - c->due : 0);
	} else {
		l->r->errors[CE_STATUS]++;
	}
	if (l->o->conn_per_req) {
		conn_close(l, c, true);
		return;
	}
	/* One request in flight per connection (no pipelining): nothing may follow. */
	if ((size_t)len != c->rlen) {
		conn_fail(l, c, CE_PARSE);
		return;
	}
	c->rlen = 0;
	c->st = CS_IDLE;
}

static void conn_writable(struct client_loop *l, struct client_conn *c)
{
	int err = 0;
	socklen_t sl = sizeof(err);

	if (c->st == CS_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0 || err) {
			/* The request it carried (connection per request) failed too. */
			conn_fail(l, c, CE_CONNECT);
			return;
		}
		l->r->conns_opened++;
		c->st = c->want_send ? CS_BUSY : CS_IDLE;
		if (!c->want_send) {
			conn_events(l, c, EPOLLIN);
			return;
		}
	}
	if (c->want_send)
		conn_send(l, c);
	else
		conn_events(l, c, EPOLLIN);
}

/* Is request number l->next allowed to be handed out at <now>? */
static bool loop_may_send(const struct client_loop *l, uint64_t now, uint64_t stop)
{
	if (l->total && l->next >= l->total)
		return false;
	if (l->o->rate > 0)
		return sched_at(l->start, l->next, l->o->rate) <= now;
	return now < stop;
}

/* Gives due requests to connections; returns the ns until the next one falls due, or -1. */
static int64_t loop_dispatch(struct client_loop *l, uint64_t now, uint64_t stop)
{
	int i;

	for (i = 0; i < l->o->conns; i++) {
		struct client_conn *c = &l->c[i];

		if (!loop_may_send(l, now, stop))
			break;
		if (l->o->conn_per_req) {
			if (c->st != CS_FREE)
				continue;
			if (conn_open(l, c) < 0) {
				l->r->errors[CE_CONNECT]++;
				l->next++;
				l->r->scheduled++;
				continue;
			}
			conn_assign(l, c, now);
		} else if (c->st == CS_IDLE) {
			conn_assign(l, c, now);
		} else if (c->st == CS_FREE && now >= c->retry_at) {
			if (conn_open(l, c) < 0) {
				l->r->errors[CE_CONNECT]++;
				c->retry_at = now + 20000000ull;
			}
		}
	}
	if (l->o->rate > 0 && (!l->total || l->next < l->total)) {
		uint64_t t = sched_at(l->start, l->next, l->o->rate);

		return t > now ? (int64_t)(t - now) : 0;
	}
	return -1;
}

/* Keep-alive mode: all connections up before the clock starts, so setup is not measured. */
static int loop_connect_all(struct client_loop *l)
{
	uint64_t deadline = now_ns() + 5000000000ull;
	struct epoll_event evs[64];
	int i, n, up;

	for (i = 0; i < l->o->conns; i++)
		if (conn_open(l, &l->c[i]) < 0)
			l->r->errors[CE_CONNECT]++;
	for (;;) {
		up = 0;
		for (i = 0; i < l->o->conns; i++)
			up += l->c[i].st == CS_IDLE;
		if (up == l->o->conns || now_ns() > deadline || l->open == 0)
			return up ? 0 : -ECONNREFUSED;
		n = epoll_wait(l->ep, evs, 64, 100);
		for (i = 0; i < n; i++) {
			struct client_conn *c = evs[i].data.ptr;

			if (c->st == CS_CONNECTING)
				conn_writable(l, c);
		}
	}
}

int client_run(const struct client_opts *o, struct client_result *r)
{
	struct client_loop l = { .o = o, .r = r };
	struct epoll_event evs[128];
	uint64_t now, stop, deadline = 0;
	struct timespec ts;
	int64_t wait;
	int i, n, err = 0;
	char addr[INET_ADDRSTRLEN];

	memset(r, 0, sizeof(*r));
	hist_init(&r->lat);
	if (o->conns < 1 || o->conns > 100000 || o->rate < 0 || o->duration <= 0)
		return -EINVAL;
	/* Wake-ups on the timeline within a microsecond, not the default 50 us of slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	inet_ntop(AF_INET, &o->target.sin_addr, addr, sizeof(addr));
	/* The optional header goes between Host and User-Agent, on its own line. */
	n = snprintf(l.req, sizeof(l.req), "GET / HTTP/1.1\r\nHost: %s\r\n%s%sUser-Agent: weir-load\r\n\r\n",
		     o->host, o->header ? o->header : "", o->header ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(l.req))
		return -EINVAL;
	l.req_len = (size_t)n;
	l.c = calloc((size_t)o->conns, sizeof(*l.c));
	if (!l.c)
		return -ENOMEM;
	for (i = 0; i < o->conns; i++)
		l.c[i].fd = -1;
	l.ep = epoll_create1(EPOLL_CLOEXEC);
	if (l.ep < 0) {
		err = -errno;
		goto out_free;
	}
	if (!o->conn_per_req) {
		err = loop_connect_all(&l);
		if (err < 0)
			goto out_close;
	}
	l.total = o->rate > 0 ? sched_total(o->rate, o->duration, o->count) : o->count;
	l.start = now_ns();
	l.last_done = l.start;
	stop = l.start + (uint64_t)(o->duration * 1e9);
	for (;;) {
		now = now_ns();
		wait = loop_dispatch(&l, now, stop);
		bool sending = (o->rate > 0) ? (l.next < l.total)
					     : (now < stop && (!l.total || l.next < l.total));
		int busy = 0;

		for (i = 0; i < o->conns; i++)
			busy += l.c[i].st == CS_BUSY || (o->conn_per_req && l.c[i].st != CS_FREE);
		if (!sending) {
			if (!busy)
				break;
			if (!deadline)
				deadline = now + (uint64_t)(o->drain * 1e9);
			if (now >= deadline) {
				r->errors[CE_TIMEOUT] += (uint64_t)busy;
				break;
			}
			wait = (int64_t)(deadline - now);
		}
		/* Overdue and nothing idle: only an answer (or a retry slot) can change that. */
		if (wait == 0)
			wait = 20000000;
		if (wait < 0 || wait > 100000000)
			wait = 100000000; /* at least every 100 ms: retries, the stop time */
		ts.tv_sec = wait / 1000000000;
		ts.tv_nsec = wait % 1000000000;
		n = epoll_pwait2(l.ep, evs, 128, &ts, NULL);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		for (i = 0; i < n; i++) {
			struct client_conn *c = evs[i].data.ptr;

			if (c->fd < 0)
				continue;
			if ((evs[i].events & EPOLLOUT) ||
			    (c->st == CS_CONNECTING && (evs[i].events & (EPOLLERR | EPOLLHUP))))
				conn_writable(&l, c);
			if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) &&
			    c->st != CS_CONNECTING)
				conn_readable(&l, c);
		}
	}
	r->elapsed = (double)(l.last_done - l.start) / 1e9;
	if (o->rate > 0 && r->elapsed < (double)l.total / o->rate)
		r->elapsed = (double)l.total / o->rate;
out_close:
	for (i = 0; i < o->conns; i++)
		if (l.c[i].fd >= 0)
			conn_close(&l, &l.c[i], true);
	close(l.ep);
out_free:
	free(l.c);
	return err;
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

void client_result_json(FILE *f, const struct client_opts *o, const struct client_result *r)
{
	static const char *const names[CE_MAX] = { "connect", "reset", "timeout", "status", "parse" };
	uint64_t errs = 0;
	double el = r->elapsed > 0 ? r->elapsed : 1e-9;
	int i;

	for (i = 0; i < CE_MAX; i++)
		errs += r->errors[i];
	fprintf(f, "{\"mode\":\"%s\",\"conn_per_request\":%s,\"target_rps\":%.1f,\"conns\":%d,",
		o->rate > 0 ? "rate" : "max", o->conn_per_req ? "true" : "false", o->rate, o->conns);
	fprintf(f, "\"scheduled\":%llu,\"requests\":%llu,\"errors_total\":%llu,\"errors\":{",
		(unsigned long long)r->scheduled, (unsigned long long)r->ok,
		(unsigned long long)errs);
	for (i = 0; i < CE_MAX; i++)
		fprintf(f, "%s\"%s\":%llu", i ? "," : "", names[i],
			(unsigned long long)r->errors[i]);
	fprintf(f, "},\"elapsed_s\":%.3f,\"achieved_rps\":%.1f,", r->elapsed, (double)r->ok / el);
	fprintf(f, "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p99.9\":%.1f,",
		us(hist_percentile(&r->lat, 50)), us(hist_percentile(&r->lat, 90)),
		us(hist_percentile(&r->lat, 99)), us(hist_percentile(&r->lat, 99.9)));
	fprintf(f, "\"max\":%.1f,\"min\":%.1f,\"mean\":%.1f},",
		us(r->lat.max), us(r->lat.total ? r->lat.min : 0),
		r->lat.total ? r->lat.sum / (double)r->lat.total / 1000.0 : 0.0);
	fprintf(f, "\"conns_opened\":%llu,\"new_conns_per_s\":%.1f,\"late_max_ms\":%.3f}\n",
		(unsigned long long)r->conns_opened,
		o->conn_per_req ? (double)r->conns_opened / el : 0.0, r->late_max_ms);
	fflush(f);
}

/* One request on the blocking socket <fd>, read to the end of its response: 0 or -1. */
static int idle_h1(int fd, const char *req, size_t rlen)
{
	char buf[4096];
	size_t got = 0;
	long len = 0;
	ssize_t m;
	int status;

	if (send(fd, req, rlen, MSG_NOSIGNAL) != (ssize_t)rlen)
		return -1;
	while (len == 0 && got < sizeof(buf)) {
		m = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (m <= 0)
			return -1;
		got += (size_t)m;
		len = http_resp_len(buf, got, &status);
	}
	return len > 0 && status / 100 == 2 ? 0 : -1;
}

/* The same over h2c: preface, SETTINGS (ours, and the ACK of the server's), one GET. */
static int idle_h2(int fd, const char *req, size_t rlen)
{
	unsigned char buf[16384];
	struct h2idle_reader rd = { 0 };
	size_t got = 0;
	ssize_t m;
	int done = 0;

	if (send(fd, req, rlen, MSG_NOSIGNAL) != (ssize_t)rlen)
		return -1;
	while (!done && got < sizeof(buf)) {
		m = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (m <= 0)
			return -1;
		got += (size_t)m;
		done = h2idle_response(&rd, buf, got);
		if (done < 0)
			return -1;
		if (rd.want_ack) {
			if (send(fd, h2idle_settings_ack, sizeof(h2idle_settings_ack),
				 MSG_NOSIGNAL) != (ssize_t)sizeof(h2idle_settings_ack))
				return -1;
			rd.want_ack = false;
		}
	}
	return done == 1 ? 0 : -1;
}

int client_idle(const struct client_opts *o, double hold, bool h2, FILE *f)
{
	struct timeval tv = { .tv_sec = 2 };
	int *fds, i, n = o->conns, ok = 0, failed = 0;
	char req[512];
	long rlen;

	if (h2) {
		rlen = h2idle_request(req, sizeof(req), o->header);
	} else {
		rlen = snprintf(req, sizeof(req),
				"GET / HTTP/1.1\r\nHost: %s\r\n%s%sUser-Agent: weir-load\r\n\r\n",
				o->host, o->header ? o->header : "", o->header ? "\r\n" : "");
		if (rlen >= (long)sizeof(req))
			rlen = -EINVAL;
	}
	if (rlen < 0)
		return -EINVAL;
	fds = calloc((size_t)n, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0)
			goto fail;
		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fds[i], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fds[i], (const struct sockaddr *)&o->target, sizeof(o->target)) < 0)
			goto fail;
		if ((h2 ? idle_h2 : idle_h1)(fds[i], req, (size_t)rlen))
			goto fail;
		ok++;
		continue;
fail:
		failed++;
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	fprintf(f, "{\"connected\":%d,\"failed\":%d,\"hold_s\":%.1f}\n", ok, failed, hold);
	fflush(f);
	if (ok) {
		struct timespec ts = { .tv_sec = (time_t)hold,
				       .tv_nsec = (long)((hold - (double)(time_t)hold) * 1e9) };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return ok ? 0 : -ECONNREFUSED;
}
