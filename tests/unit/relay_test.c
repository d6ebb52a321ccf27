// SPDX-License-Identifier: Apache-2.0
/*
 * Tests of relay.c over real sockets on 127.0.0.1: a relay with two workers, an injected
 * original-destination lookup (no BPF hook in unit tests), hand-built model snapshots and
 * backend servers on test threads. Every address is loopback (the "VIPs" are 127.19.0.x so
 * that even a wrong passthrough stays on lo); every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "model/model.h"
#include "proxy/relay.h"
#include "model/snap.h"

#define VIP	  "127.19.0.10"
#define NBACKENDS 3
#define BE_MAXC	  512
#define BE_BUF	  (64 * 1024)
#define XFER_MS	  60000 /* bound on one transfer, generous for sanitizer builds */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* ---- backend servers ---- */

enum be_mode {
	BE_ECHO,  /* echoes everything, passes the client's FIN back once drained */
	BE_REPLY, /* reads to EOF, then answers "backend <id> got <n>\n" and closes */
};

struct be_conn {
	int fd;
	unsigned char *buf;
	size_t head, tail;
	bool eof;
	uint64_t nin;
	char reply[64];
	size_t rlen, roff;
};

struct backend {
	int id;
	enum be_mode mode;
	int lfd;
	uint16_t port; /* host order */
	pthread_t th;
	_Atomic int stop;
	_Atomic unsigned accepted;
	_Atomic int paused; /* reads nothing while set: backpressure upstream */
	struct be_conn c[BE_MAXC];
	int nc;
};

static void be_drop(struct backend *b, int i)
{
	close(b->c[i].fd);
	free(b->c[i].buf);
	b->c[i] = b->c[--b->nc];
}

/* One step of connection <i>; returns false when it is done (closed). */
static bool be_step(struct backend *b, int i, short rev)
{
	struct be_conn *c = &b->c[i];
	ssize_t n;

	if ((rev & (POLLIN | POLLHUP | POLLERR)) && !atomic_load(&b->paused)) {
		if (b->mode == BE_ECHO && c->tail < BE_BUF && !c->eof) {
			n = recv(c->fd, c->buf + c->tail, BE_BUF - c->tail, MSG_DONTWAIT);
			if (n > 0)
				c->tail += n;
			else if (n == 0)
				c->eof = true;
			else if (errno != EAGAIN)
				return false;
		} else if (b->mode == BE_REPLY && !c->eof) {
			n = recv(c->fd, c->buf, BE_BUF, MSG_DONTWAIT);
			if (n > 0) {
				c->nin += n;
			} else if (n == 0) {
				c->eof = true;
				c->rlen =
				    snprintf(c->reply, sizeof(c->reply), "backend %d got %llu\n",
					     b->id, (unsigned long long)c->nin);
			} else if (errno != EAGAIN) {
				return false;
			}
		}
	}
	if (b->mode == BE_ECHO) {
		if (c->tail > c->head) {
			n = send(c->fd, c->buf + c->head, c->tail - c->head,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				c->head += n;
			else if (n < 0 && errno != EAGAIN)
				return false;
			if (c->head == c->tail)
				c->head = c->tail = 0;
		}
		if (c->eof && c->head == c->tail) {
			shutdown(c->fd, SHUT_WR);
			return false;
		}
	} else if (c->eof) {
		n = send(c->fd, c->reply + c->roff, c->rlen - c->roff, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			c->roff += n;
		else if (n < 0 && errno != EAGAIN)
			return false;
		if (c->roff == c->rlen)
			return false;
	}
	return true;
}

static void *be_main(void *arg)
{
	struct backend *b = arg;
	struct pollfd pf[BE_MAXC + 1];

	while (!atomic_load(&b->stop)) {
		pf[0] = (struct pollfd){.fd = b->lfd, .events = b->nc < BE_MAXC ? POLLIN : 0};
		for (int i = 0; i < b->nc; i++) {
			struct be_conn *c = &b->c[i];
			short ev = 0;

			if (!c->eof && (b->mode == BE_REPLY || c->tail < BE_BUF) &&
			    !atomic_load(&b->paused))
				ev |= POLLIN;
			if ((b->mode == BE_ECHO && c->tail > c->head) ||
			    (b->mode == BE_REPLY && c->eof))
				ev |= POLLOUT;
			pf[i + 1] = (struct pollfd){.fd = c->fd, .events = ev};
		}
		if (poll(pf, b->nc + 1, 50) <= 0)
			continue;
		/* Walk backwards: be_drop moves the last connection into the freed slot. */
		for (int i = b->nc - 1; i >= 0; i--)
			if (pf[i + 1].revents && !be_step(b, i, pf[i + 1].revents))
				be_drop(b, i);
		if (pf[0].revents & POLLIN) {
			int fd = accept4(b->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (fd >= 0) {
				b->c[b->nc] = (struct be_conn){.fd = fd, .buf = malloc(BE_BUF)};
				b->nc++;
				atomic_fetch_add(&b->accepted, 1);
			}
		}
	}
	while (b->nc)
		be_drop(b, b->nc - 1);
	return NULL;
}

static int tcp_listen_lo(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1024), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void be_start(struct backend *b, int id, enum be_mode mode)
{
	int small = 64 * 1024;

	memset(b, 0, sizeof(*b));
	b->id = id;
	b->mode = mode;
	b->lfd = tcp_listen_lo(&b->port);
	/* Accepted sockets inherit it: a paused backend stalls the relay soon. */
	setsockopt(b->lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(pthread_create(&b->th, NULL, be_main, b), 0);
}

static void be_stop(struct backend *b)
{
	atomic_store(&b->stop, 1);
	pthread_join(b->th, NULL);
	close(b->lfd);
}

/* ---- hand-built model snapshots ---- */

/* One Service VIP with up to 8 ports of up to 2 endpoints, owned by one heap block. */
struct tmodel {
	struct model m;
	struct model_service svc;
	struct model_svc_port ports[8];
	struct model_endpoint eps[8][2];
	struct model_pod pods[8][2];
};

static _Atomic unsigned tmodel_frees;

static void tmodel_free(void *obj, void *arg)
{
	atomic_fetch_add(&tmodel_frees, 1);
	free(obj);
}

static struct tmodel *tmodel_new(uint64_t gen)
{
	struct tmodel *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->m.generation = gen;
	t->m.services = &t->svc;
	t->m.nservices = 1;
	t->svc.ns = "default";
	t->svc.name = "svc";
	t->svc.vip = inet_addr(VIP);
	t->svc.mode = 1; /* WEIR_MODE_AGENT */
	t->svc.ports = t->ports;
	return t;
}

/* Adds port <port> with endpoints on 127.0.0.1:<be_port[i]> weighing <weight[i]> (-1: not
 * ready). A be_port of 0 ends the list. */
static void tmodel_port(struct tmodel *t, uint16_t port, const uint16_t be_port[2],
			const int weight[2])
{
	size_t k = t->svc.nports++;
	struct model_svc_port *sp = &t->ports[k];

	sp->name = "";
	sp->port = port;
	sp->proto = IPPROTO_TCP;
	sp->app_proto = "tcp";
	sp->eps = t->eps[k];
	for (int i = 0; i < 2 && be_port[i]; i++) {
		struct model_pod *pod = &t->pods[k][i];
		struct model_endpoint *ep = &t->eps[k][i];

		pod->ns = "default";
		pod->name = "pod";
		pod->ip = htonl(INADDR_LOOPBACK);
		pod->weight = weight[i] < 0 ? 1 : (uint16_t)weight[i];
		pod->ready = weight[i] >= 0;
		ep->ip = htonl(INADDR_LOOPBACK);
		ep->port = be_port[i];
		ep->ready = weight[i] >= 0;
		ep->pod = pod;
		sp->neps++;
	}
}

/* ---- the fixture ---- */

/* Service ports of the default model. */
enum {
	P_ECHO = 80,	  /* -> backend 0 (echo) */
	P_REPLY = 81,	  /* -> backend 1 (reply after EOF) */
	P_REFUSED = 82,	  /* -> a closed port */
	P_NOBACKEND = 83, /* -> a not-ready and a drained endpoint */
	P_WEIGHTED = 84,  /* -> backend 0 (weight 1) and backend 2 (drained, weight 0) */
	P_BLACKHOLE = 85, /* -> a listener whose full accept queue drops SYNs */
};

struct fx {
	struct snap *snap;
	struct relay *relay;
	struct sockaddr_in raddr;
	struct backend be[NBACKENDS];
	uint16_t closed_port;
	uint16_t hole_port;
	int hole_fd, hole_filler;   /* listener with backlog 0, and the connection filling it */
	_Atomic uint32_t orig_ip;   /* what the injected lookup answers; 0: fails */
	_Atomic uint16_t orig_port; /* network order */
};

static int fx_orig_dst(int fd, struct sockaddr_in *out, void *arg)
{
	struct fx *f = arg;

	if (!atomic_load(&f->orig_ip))
		return -ENOENT;
	out->sin_family = AF_INET;
	out->sin_addr.s_addr = atomic_load(&f->orig_ip);
	out->sin_port = atomic_load(&f->orig_port);
	return 0;
}

static void fx_orig(struct fx *f, const char *ip, uint16_t port)
{
	atomic_store(&f->orig_ip, ip ? inet_addr(ip) : 0);
	atomic_store(&f->orig_port, htons(port));
}

static struct tmodel *fx_model(struct fx *f, uint64_t gen, int echo_backend)
{
	struct tmodel *t = tmodel_new(gen);

	tmodel_port(t, P_ECHO, (uint16_t[2]){f->be[echo_backend].port, 0}, (int[2]){1, 0});
	tmodel_port(t, P_REPLY, (uint16_t[2]){f->be[1].port, 0}, (int[2]){1, 0});
	tmodel_port(t, P_REFUSED, (uint16_t[2]){f->closed_port, 0}, (int[2]){1, 0});
	tmodel_port(t, P_NOBACKEND, (uint16_t[2]){f->be[0].port, f->be[1].port}, (int[2]){-1, 0});
	tmodel_port(t, P_WEIGHTED, (uint16_t[2]){f->be[0].port, f->be[2].port}, (int[2]){1, 0});
	tmodel_port(t, P_BLACKHOLE, (uint16_t[2]){f->hole_port, 0}, (int[2]){1, 0});
	return t;
}

static int fx_setup_opts(void **state, unsigned idle_ms)
{
	struct relay_opts o = {0};
	struct fx *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	be_start(&f->be[0], 0, BE_ECHO);
	be_start(&f->be[1], 1, BE_REPLY);
	be_start(&f->be[2], 2, BE_ECHO);
	/* A port that refuses: bound once, then closed. */
	fd = tcp_listen_lo(&f->closed_port);
	close(fd);
	/*
	 * A port that never answers, on loopback: with backlog 0 one queued connection fills
	 * the accept queue and the kernel drops further SYNs (tcp_conn_request), so a connect
	 * there stays pending until the relay's connect timeout.
	 */
	f->hole_fd = tcp_listen_lo(&f->hole_port);
	assert_int_equal(listen(f->hole_fd, 0), 0);
	{
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(f->hole_port)};

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		f->hole_filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(f->hole_filler, (struct sockaddr *)&a, sizeof(a)), 0);
	}
	atomic_store(&tmodel_frees, 0);
	f->snap = snap_new(8, tmodel_free, NULL);
	assert_non_null(f->snap);
	assert_int_equal(snap_publish(f->snap, fx_model(f, 1, 0)), 0);

	o.listen = "127.0.0.1:0";
	o.workers = 2;
	o.connect_timeout_ms = 1000;
	o.idle_timeout_ms = idle_ms;
	o.flush_ms = 20;
	o.orig_dst = fx_orig_dst;
	o.orig_dst_arg = f;
	f->relay = relay_new(&o, f->snap);
	assert_non_null(f->relay);
	relay_addr(f->relay, &f->raddr);
	assert_true(f->raddr.sin_port != 0);
	assert_int_equal(relay_start(f->relay), 0);
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_setup_opts(state, 0);
}

static int fx_setup_idle(void **state)
{
	return fx_setup_opts(state, 300);
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	relay_free(f->relay);
	for (int i = 0; i < NBACKENDS; i++)
		be_stop(&f->be[i]);
	snap_free(f->snap);
	close(f->hole_filler);
	close(f->hole_fd);
	free(f);
	return 0;
}

/* ---- clients ---- */

static int client_connect(struct fx *f)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&f->raddr, sizeof(f->raddr)), 0);
	return fd;
}

static unsigned char pat(uint64_t i, unsigned seed)
{
	return (unsigned char)((i * 131) ^ (i >> 9) ^ seed);
}

/*
 * Sends <len> pattern bytes on <fd> while reading the echo, checking every byte; then, when
 * <shut>, half-closes and expects EOF after the echo. Returns the bytes echoed.
 */
static uint64_t xfer(int fd, uint64_t len, unsigned seed, bool shut)
{
	static unsigned char out[65536], in[65536];
	uint64_t sent = 0, got = 0, deadline = now_ms() + XFER_MS;
	bool shut_done = !shut, eof = false;

	while ((got < len || (shut && !eof)) && now_ms() < deadline) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (sent < len)
			pf.events |= POLLOUT;
		if (poll(&pf, 1, 1000) <= 0)
			continue;
		if (pf.revents & POLLOUT && sent < len) {
			size_t chunk = len - sent < sizeof(out) ? len - sent : sizeof(out);

			for (size_t i = 0; i < chunk; i++)
				out[i] = pat(sent + i, seed);
			n = send(fd, out, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
			assert_true(n > 0 || errno == EAGAIN);
			if (n > 0)
				sent += n;
		}
		if (sent == len && !shut_done) {
			assert_int_equal(shutdown(fd, SHUT_WR), 0);
			shut_done = true;
		}
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, in, sizeof(in), MSG_DONTWAIT);
			if (n == 0) {
				eof = true;
				if (got < len)
					break;
				continue;
			}
			if (n < 0) {
				assert_int_equal(errno, EAGAIN);
				continue;
			}
			for (ssize_t i = 0; i < n; i++)
				if (in[i] != pat(got + i, seed))
					fail_msg("byte %llu differs",
						 (unsigned long long)(got + i));
			got += n;
		}
	}
	assert_int_equal(got, len);
	if (shut)
		assert_true(eof);
	return got;
}

/* Waits up to <ms> for EOF or a reset on <fd>; returns 0 (EOF), -ECONNRESET, or -ETIMEDOUT. */
static int wait_closed(int fd, unsigned ms)
{
	char b[256];
	uint64_t deadline = now_ms() + ms;

	while (now_ms() < deadline) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pf, 1, 100) <= 0)
			continue;
		n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0)
			return 0;
		if (n < 0 && errno != EAGAIN)
			return -errno;
	}
	return -ETIMEDOUT;
}

/* ---- collecting flows ---- */

struct totals {
	uint64_t flows, opened, closed, up, down;
	struct relay_flow last;
};

static void totals_cb(const struct relay_flow *fl, void *arg)
{
	struct totals *t = arg;

	t->flows++;
	t->opened += fl->opened;
	t->closed += fl->closed;
	t->up += fl->bytes_up;
	t->down += fl->bytes_down;
	t->last = *fl;
}

/* Collects until the totals reach <want> (bounded), then once more to see nothing extra. */
static void collect_expect(struct fx *f, struct totals *t, uint64_t opened, uint64_t closed,
			   uint64_t up, uint64_t down)
{
	uint64_t deadline = now_ms() + 10000;

	memset(t, 0, sizeof(*t));
	while (now_ms() < deadline) {
		assert_true(relay_collect(f->relay, totals_cb, t) >= 0);
		if (t->opened >= opened && t->closed >= closed && t->up >= up && t->down >= down)
			break;
		sleep_ms(20);
	}
	sleep_ms(150); /* several flush intervals: anything extra would show now */
	assert_true(relay_collect(f->relay, totals_cb, t) >= 0);
	assert_int_equal(t->opened, opened);
	assert_int_equal(t->closed, closed);
	assert_int_equal(t->up, up);
	assert_int_equal(t->down, down);
}

static void stats_wait_idle(struct fx *f, struct relay_stats *st)
{
	uint64_t deadline = now_ms() + 5000;

	do {
		relay_stats(f->relay, st);
		if (!st->active)
			return;
		sleep_ms(10);
	} while (now_ms() < deadline);
	fail_msg("%llu connections still active", (unsigned long long)st->active);
}

/* ---- tests ---- */

/* 1 B, 64 KiB and 8 MiB delivered intact both ways; accounting exact. */
static void test_relay_echo_sizes(void **state)
{
	static const uint64_t sizes[] = {1, 64 * 1024, 8 * 1024 * 1024};
	struct fx *f = *state;
	struct relay_stats st;
	struct totals t;
	uint64_t sum = 0;

	fx_orig(f, VIP, P_ECHO);
	for (unsigned i = 0; i < 3; i++) {
		int fd = client_connect(f);

		sum += xfer(fd, sizes[i], i + 7, true);
		close(fd);
	}
	collect_expect(f, &t, 3, 3, sum, sum);
	/* One flow: same client, backend, VIP:port. */
	assert_int_equal(t.last.client_ip, htonl(INADDR_LOOPBACK));
	assert_int_equal(t.last.backend_ip, htonl(INADDR_LOOPBACK));
	assert_int_equal(t.last.orig_ip, inet_addr(VIP));
	assert_int_equal(t.last.orig_port, P_ECHO);
	assert_int_equal(t.last.backend_port, f->be[0].port);
	assert_int_equal(t.last.proto, IPPROTO_TCP);
	stats_wait_idle(f, &st);
	assert_int_equal(st.accepted, 3);
	assert_int_equal(st.opened, 3);
	assert_int_equal(st.closed, 3);
	assert_int_equal(st.passthrough, 0);
	assert_int_equal(st.resets, 0);
	assert_int_equal(st.bytes_up, sum);
	assert_int_equal(st.bytes_down, sum);
	/* Buffers are pooled, not one per read: 8 MiB went through a handful. */
	assert_true(st.buffers >= 1 && st.buffers <= 8);
}

/* The client's FIN reaches the backend, whose answer still reaches the client. */
static void test_relay_half_close(void **state)
{
	struct fx *f = *state;
	char buf[128];
	size_t got = 0;
	ssize_t n;
	int fd;

	fx_orig(f, VIP, P_REPLY);
	fd = client_connect(f);
	assert_int_equal(send(fd, "hello world", 11, 0), 11);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	while (got < sizeof(buf) - 1) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};

		assert_int_equal(poll(&pf, 1, 5000), 1);
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		assert_true(n >= 0);
		if (!n)
			break;
		got += n;
	}
	buf[got] = '\0';
	assert_string_equal(buf, "backend 1 got 11\n");
	close(fd);
}

/* 200 connections open at once, each with its own payload. */
static void test_relay_concurrent(void **state)
{
	enum { N = 200 };
	struct fx *f = *state;
	static int fds[N];
	struct relay_stats st;
	struct totals t;
	uint64_t sum = 0;

	fx_orig(f, VIP, P_ECHO);
	for (int i = 0; i < N; i++)
		fds[i] = client_connect(f);
	/* Payloads small enough for socket buffers: send all, then read all back. */
	for (int i = 0; i < N; i++) {
		unsigned char out[2048];
		size_t len = 100 + i * 7;

		for (size_t k = 0; k < len; k++)
			out[k] = pat(k, i);
		assert_int_equal(send(fds[i], out, len, 0), (ssize_t)len);
		assert_int_equal(shutdown(fds[i], SHUT_WR), 0);
		sum += len;
	}
	for (int i = 0; i < N; i++) {
		unsigned char in[2048];
		size_t len = 100 + i * 7, got = 0;

		for (;;) {
			struct pollfd pf = {.fd = fds[i], .events = POLLIN};
			ssize_t n;

			assert_int_equal(poll(&pf, 1, 10000), 1);
			n = recv(fds[i], in + got, sizeof(in) - got, 0);
			assert_true(n >= 0);
			if (!n)
				break;
			got += n;
		}
		assert_int_equal(got, len);
		for (size_t k = 0; k < len; k++)
			assert_int_equal(in[k], pat(k, i));
		close(fds[i]);
	}
	collect_expect(f, &t, N, N, sum, sum);
	stats_wait_idle(f, &st);
	assert_int_equal(st.accepted, N);
	assert_int_equal(st.opened, N);
	assert_int_equal(atomic_load(&f->be[0].accepted), N);
}

/*
 * Backpressure: while the backend reads nothing, the client stalls after a bounded amount
 * (socket buffers plus at most one relay buffer per direction) instead of the relay
 * buffering without end; once the backend reads again, every byte arrives.
 */
static void test_relay_backpressure(void **state)
{
	enum { LEN = 48 * 1024 * 1024 };
	struct fx *f = *state;
	static unsigned char chunk[65536];
	uint64_t sent = 0, deadline = now_ms() + XFER_MS, stall = 0;
	struct relay_stats st;
	char want[64], buf[64];
	size_t got = 0;
	ssize_t n;
	int fd, small = 64 * 1024;

	memset(chunk, 'b', sizeof(chunk));
	atomic_store(&f->be[1].paused, 1);
	fx_orig(f, VIP, P_REPLY);
	fd = client_connect(f);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	/* Phase 1: send until nothing moves for 500 ms. */
	while (sent < LEN && now_ms() < deadline) {
		size_t len = LEN - sent < sizeof(chunk) ? LEN - sent : sizeof(chunk);

		n = send(fd, chunk, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			sent += n;
			stall = 0;
			continue;
		}
		assert_int_equal(errno, EAGAIN);
		if (!stall)
			stall = now_ms();
		else if (now_ms() - stall > 500)
			break;
		sleep_ms(5);
	}
	print_message("backpressure: client stalled after %llu bytes\n", (unsigned long long)sent);
	assert_true(sent < LEN);
	relay_stats(f->relay, &st);
	assert_true(st.buffers <= 4);
	/* Phase 2: the backend reads again; everything arrives, FIN last. */
	atomic_store(&f->be[1].paused, 0);
	while (sent < LEN && now_ms() < deadline) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		size_t len = LEN - sent < sizeof(chunk) ? LEN - sent : sizeof(chunk);

		if (poll(&pf, 1, 1000) <= 0)
			continue;
		n = send(fd, chunk, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		assert_true(n > 0 || errno == EAGAIN);
		if (n > 0)
			sent += n;
	}
	assert_int_equal(sent, LEN);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	while (got < sizeof(buf) - 1) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};

		assert_int_equal(poll(&pf, 1, 10000), 1);
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		assert_true(n >= 0);
		if (!n)
			break;
		got += n;
	}
	buf[got] = '\0';
	snprintf(want, sizeof(want), "backend 1 got %d\n", LEN);
	assert_string_equal(buf, want);
	close(fd);
}

/* A refusing backend: the client's connection is closed, nothing counted as a flow. */
static void test_relay_backend_refused(void **state)
{
	struct fx *f = *state;
	struct relay_stats st;
	struct totals t;
	int fd, rc;

	fx_orig(f, VIP, P_REFUSED);
	fd = client_connect(f);
	rc = wait_closed(fd, 5000);
	assert_true(rc == 0 || rc == -ECONNRESET);
	close(fd);
	stats_wait_idle(f, &st);
	assert_int_equal(st.connect_failed, 1);
	assert_int_equal(st.opened, 0);
	collect_expect(f, &t, 0, 0, 0, 0);
	assert_int_equal(t.flows, 0);
}

/* A backend that never answers the SYN: the client is reset after the connect timeout. */
static void test_relay_connect_timeout(void **state)
{
	struct fx *f = *state;
	struct relay_stats st;
	uint64_t t0 = now_ms();
	int fd;

	fx_orig(f, VIP, P_BLACKHOLE);
	fd = client_connect(f);
	assert_int_equal(wait_closed(fd, 10000), -ECONNRESET);
	assert_true(now_ms() - t0 >= 900); /* not before the timeout (1 s, coarse clock) */
	close(fd);
	stats_wait_idle(f, &st);
	assert_int_equal(st.connect_timeout, 1);
	assert_int_equal(st.connect_failed, 0);
	assert_int_equal(st.opened, 0);
}

/* A Service without a usable endpoint (not ready, drained): the client gets a reset. */
static void test_relay_no_backend(void **state)
{
	struct fx *f = *state;
	struct relay_stats st;
	int fd;

	fx_orig(f, VIP, P_NOBACKEND);
	fd = client_connect(f);
	assert_int_equal(wait_closed(fd, 5000), -ECONNRESET);
	close(fd);
	stats_wait_idle(f, &st);
	assert_int_equal(st.no_backend, 1);
	assert_int_equal(atomic_load(&f->be[0].accepted), 0);
	assert_int_equal(atomic_load(&f->be[1].accepted), 0);
}

/* No original destination, or the relay itself: reset, counted, no loop. */
static void test_relay_origdst_fail_and_loop(void **state)
{
	struct fx *f = *state;
	struct relay_stats st;
	char self[INET_ADDRSTRLEN];
	int fd;

	fx_orig(f, NULL, 0);
	fd = client_connect(f);
	assert_int_equal(wait_closed(fd, 5000), -ECONNRESET);
	close(fd);
	inet_ntop(AF_INET, &f->raddr.sin_addr, self, sizeof(self));
	fx_orig(f, self, ntohs(f->raddr.sin_port));
	fd = client_connect(f);
	assert_int_equal(wait_closed(fd, 5000), -ECONNRESET);
	close(fd);
	stats_wait_idle(f, &st);
	assert_int_equal(st.origdst_failed, 1);
	assert_int_equal(st.loop, 1);
	assert_int_equal(st.accepted, 2);
}

/* A destination that is no Service is relayed to as is. */
static void test_relay_passthrough(void **state)
{
	struct fx *f = *state;
	struct relay_stats st;
	struct totals t;
	int fd;

	fx_orig(f, "127.0.0.1", f->be[2].port);
	fd = client_connect(f);
	xfer(fd, 5000, 3, true);
	close(fd);
	collect_expect(f, &t, 1, 1, 5000, 5000);
	assert_int_equal(t.last.orig_ip, htonl(INADDR_LOOPBACK));
	assert_int_equal(t.last.orig_port, f->be[2].port);
	assert_int_equal(t.last.backend_port, f->be[2].port);
	stats_wait_idle(f, &st);
	assert_int_equal(st.passthrough, 1);
	assert_int_equal(atomic_load(&f->be[2].accepted), 1);
}

/* A drained endpoint (weight 0) never gets a connection. */
static void test_relay_weights(void **state)
{
	struct fx *f = *state;

	fx_orig(f, VIP, P_WEIGHTED);
	for (int i = 0; i < 20; i++) {
		int fd = client_connect(f);

		xfer(fd, 10, i, true);
		close(fd);
	}
	assert_int_equal(atomic_load(&f->be[0].accepted), 20);
	assert_int_equal(atomic_load(&f->be[2].accepted), 0);
}

/*
 * A new snapshot moves new connections to the new backend; a connection made before keeps
 * its backend; the old snapshot is freed once the (idle) workers pass quiescent states.
 */
static void test_relay_snapshot_switch(void **state)
{
	struct fx *f = *state;
	uint64_t deadline;
	int a, b;

	fx_orig(f, VIP, P_ECHO);
	a = client_connect(f);
	xfer(a, 1000, 1, false);
	assert_int_equal(atomic_load(&f->be[0].accepted), 1);

	assert_int_equal(snap_publish(f->snap, fx_model(f, 2, 2)), 0);
	b = client_connect(f);
	xfer(b, 3000, 2, true);
	close(b);
	assert_int_equal(atomic_load(&f->be[2].accepted), 1);
	assert_int_equal(atomic_load(&f->be[0].accepted), 1);

	xfer(a, 2000, 3, true); /* the old connection still works, on its old backend */
	close(a);

	deadline = now_ms() + 5000;
	while (atomic_load(&tmodel_frees) < 1 && now_ms() < deadline) {
		snap_reclaim(f->snap);
		sleep_ms(20);
	}
	assert_int_equal(atomic_load(&tmodel_frees), 1);
	assert_int_equal(snap_pending(f->snap), 0);
}

/* An idle connection is closed after the idle timeout (300 ms in this fixture). */
static void test_relay_idle_timeout(void **state)
{
	struct fx *f = *state;
	struct relay_stats st;
	struct totals t;
	int fd;

	fx_orig(f, VIP, P_ECHO);
	fd = client_connect(f);
	xfer(fd, 100, 9, false);
	assert_int_equal(wait_closed(fd, 5000), 0);
	close(fd);
	stats_wait_idle(f, &st);
	assert_int_equal(st.idle_closed, 1);
	collect_expect(f, &t, 1, 1, 100, 100);
}

/* relay_stop with live connections (some mid-transfer): peers see the end, nothing leaks. */
static void test_relay_stop_live(void **state)
{
	enum { N = 20 };
	struct fx *f = *state;
	struct relay_stats st;
	struct totals t;
	int fds[N];
	unsigned char junk[32768];
	uint64_t sum = 0;

	fx_orig(f, VIP, P_ECHO);
	for (int i = 0; i < N; i++) {
		fds[i] = client_connect(f);
		sum += xfer(fds[i], 500, i, false);
	}
	/* Data in flight that nobody reads back: a relay buffer may hold some of it. */
	memset(junk, 'x', sizeof(junk));
	for (int i = 0; i < 4; i++)
		assert_true(send(fds[i], junk, sizeof(junk), MSG_DONTWAIT) > 0);
	relay_stop(f->relay);
	relay_stats(f->relay, &st);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.accepted, N);
	for (int i = 0; i < N; i++) {
		int rc = wait_closed(fds[i], 5000);

		assert_true(rc == 0 || rc == -ECONNRESET);
		close(fds[i]);
	}
	relay_stop(f->relay); /* idempotent */
	/* The last deltas were handed over at stop; the in-flight bytes count as delivered
	 * only as far as they were. */
	memset(&t, 0, sizeof(t));
	assert_true(relay_collect(f->relay, totals_cb, &t) >= 1);
	assert_int_equal(t.opened, N);
	assert_int_equal(t.closed, N);
	assert_true(t.up >= sum && t.up <= sum + 4 * sizeof(junk));
	assert_true(t.down >= sum);
	assert_int_equal(t.up, st.bytes_up);
	assert_int_equal(t.down, st.bytes_down);
}

/*
 * The default lookup without weir's getsockopt hook (none is attached to this test's
 * cgroup): the kernel has no answer (ENOPROTOOPT without netfilter, ENOENT with conntrack
 * but no NAT), so a relay with the default resets the client and counts it.
 */
static void test_relay_orig_dst_default(void **state)
{
	struct snap *s = snap_new(2, NULL, NULL);
	struct relay_opts o = {.listen = "127.0.0.1:0", .workers = 1};
	struct sockaddr_in a, out;
	struct relay_stats st;
	struct relay *r;
	uint64_t deadline;
	int fd, cfd, rc;
	uint16_t port;

	assert_non_null(s);
	fd = tcp_listen_lo(&port);
	a = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	rc = accept(fd, NULL, NULL);
	assert_true(rc >= 0);
	assert_true(relay_orig_dst_sockopt(rc, &out, NULL) < 0);
	close(rc);
	close(cfd);
	close(fd);

	r = relay_new(&o, s);
	assert_non_null(r);
	relay_addr(r, &a);
	assert_int_equal(relay_start(r), 0);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(wait_closed(cfd, 5000), -ECONNRESET);
	close(cfd);
	deadline = now_ms() + 5000;
	for (relay_stats(r, &st); st.origdst_failed < 1 && now_ms() < deadline; relay_stats(r, &st))
		sleep_ms(10);
	assert_int_equal(st.origdst_failed, 1);
	relay_free(r);
	snap_free(s);
}

/* Bad options fail at relay_new, with errno. */
static void test_relay_bad_opts(void **state)
{
	struct snap *s = snap_new(2, NULL, NULL);
	struct relay_opts o = {.listen = "not-an-address"};
	struct relay *r;
	uint16_t port;
	char addr[32];
	int fd;

	assert_non_null(s);
	errno = 0;
	assert_null(relay_new(&o, s));
	assert_int_equal(errno, EINVAL);
	o.listen = "127.0.0.1:99999";
	assert_null(relay_new(&o, s));
	assert_int_equal(errno, EINVAL);
	/* A port taken by a socket without SO_REUSEPORT: the bind fails now, not later. */
	fd = tcp_listen_lo(&port);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	o.listen = addr;
	r = relay_new(&o, s);
	assert_null(r);
	assert_int_equal(errno, EADDRINUSE);
	close(fd);
	snap_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_relay_echo_sizes, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_half_close, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_concurrent, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_backpressure, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_backend_refused, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_connect_timeout, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_no_backend, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_origdst_fail_and_loop, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_passthrough, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_weights, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_snapshot_switch, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_idle_timeout, fx_setup_idle, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_relay_stop_live, fx_setup, fx_teardown),
	    cmocka_unit_test(test_relay_orig_dst_default),
	    cmocka_unit_test(test_relay_bad_opts),
	};
	struct rlimit rl;

	/* 200 clients, their relayed pairs and the backends' ends: lift the soft fd limit. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
