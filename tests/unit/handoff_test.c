// SPDX-License-Identifier: Apache-2.0
/*
 * Upgrades without failed requests: the listening sockets of a running relay go over
 * SCM_RIGHTS (fdpass) to a second relay created with inherit_fds, and the first one
 * drains, while real clients (h2load over HTTP/1.1 and HTTP/2, started before the
 * hand-over) keep keep-alive connections busy. What must hold is what an operator sees
 * across an agent upgrade: no failed or errored request, every session of the old relay
 * ends (so the old agent can exit before its deadline), and connections that were queued
 * on a listener nobody accepted from yet are served by the successor. Everything runs on
 * loopback with the original destination injected; every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fdpass.h"
#include "model/snap.h"
#include "proxy/relay.h"

#include "../lib/httpfx.h"
#include "../lib/tmodel.h"

#define VIP	  "127.19.0.30"
#define SVC_PORT  80
#define NBE	  2
#define NRELAY	  8 /* generations of relays one test may go through */
#define LOAD_SECS 6 /* the HTTP/1.1 run across three hand-overs */

/* ---- fdpass ---- */

static int seqpair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

/* Descriptors arrive as working duplicates, with the message; the count is exact. */
static void test_fdpass_roundtrip(void **state)
{
	int sv[2], p[3][2], got[FDPASS_MAX_FDS], n = -1, fds[3];
	char msg[32], c;

	assert_int_equal(seqpair(sv), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pipe(p[i]), 0);
		fds[i] = p[i][1];
	}
	assert_int_equal(fdpass_send(sv[0], "listeners", fds, 3), 0);
	assert_int_equal(fdpass_recv(sv[1], msg, sizeof(msg), got, &n, FDPASS_MAX_FDS, 1000), 0);
	assert_string_equal(msg, "listeners");
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		/* A new number for the same pipe: writing to it reaches the original reader. */
		assert_int_not_equal(got[i], fds[i]);
		assert_true(fcntl(got[i], F_GETFD) & FD_CLOEXEC);
		c = (char)('a' + i);
		assert_int_equal(write(got[i], &c, 1), 1);
		assert_int_equal(read(p[i][0], &c, 1), 1);
		assert_int_equal(c, 'a' + i);
		close(got[i]);
		close(p[i][0]);
		close(p[i][1]);
	}
	/* A message without descriptors: none reported. */
	assert_int_equal(fdpass_send(sv[0], "go", NULL, 0), 0);
	assert_int_equal(fdpass_recv(sv[1], msg, sizeof(msg), got, &n, FDPASS_MAX_FDS, 1000), 0);
	assert_string_equal(msg, "go");
	assert_int_equal(n, 0);
	close(sv[0]);
	close(sv[1]);
}

/* More descriptors than asked for are closed, never leaked; timeouts and EOF are errors. */
static void test_fdpass_limits(void **state)
{
	int sv[2], p[2], got[1], n = -1, fds[2], before, after;
	char msg[8];

	assert_int_equal(seqpair(sv), 0);
	assert_int_equal(pipe(p), 0);
	fds[0] = fds[1] = p[1];
	assert_int_equal(fdpass_send(sv[0], "x", fds, FDPASS_MAX_FDS + 1), -EINVAL);
	assert_int_equal(fdpass_recv(sv[1], msg, sizeof(msg), got, &n, 1, 50), -ETIMEDOUT);

	before = dup(0);
	close(before);
	assert_int_equal(fdpass_send(sv[0], "two", fds, 2), 0);
	assert_int_equal(fdpass_recv(sv[1], msg, sizeof(msg), got, &n, 1, 1000), 0);
	assert_int_equal(n, 1);
	close(got[0]);
	/* The second one was closed by fdpass_recv: the lowest free number is free again. */
	after = dup(0);
	close(after);
	assert_int_equal(after, before);
	/* Unasked-for descriptors (fds NULL) likewise. */
	assert_int_equal(fdpass_send(sv[0], "two", fds, 2), 0);
	assert_int_equal(fdpass_recv(sv[1], msg, sizeof(msg), NULL, NULL, 0, 1000), 0);
	after = dup(0);
	close(after);
	assert_int_equal(after, before);
	/* A long message is cut to the buffer, NUL-terminated. */
	assert_int_equal(fdpass_send(sv[0], "takeover-and-more", NULL, 0), 0);
	assert_int_equal(fdpass_recv(sv[1], msg, sizeof(msg), NULL, NULL, 0, 1000), 0);
	assert_string_equal(msg, "takeove");
	close(sv[0]);
	assert_int_equal(fdpass_recv(sv[1], msg, sizeof(msg), NULL, NULL, 0, 1000), -ECONNRESET);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

/* ---- relays on loopback ---- */

struct fx {
	struct snap *snap;
	struct relay *relay[NRELAY]; /* generation i took over from i - 1 */
	int gen;		     /* the current one */
	struct sockaddr_in raddr;
	struct hbe be[NBE];
};

static int fx_orig_dst(int fd, struct sockaddr_in *out, void *arg)
{
	out->sin_family = AF_INET;
	out->sin_addr.s_addr = inet_addr(VIP);
	out->sin_port = htons(SVC_PORT);
	return 0;
}

static struct relay *fx_relay(struct fx *f, const int *inherit, int ninherit)
{
	struct relay_opts o = {0};

	o.listen = "127.0.0.1:0";
	o.workers = 2;
	o.connect_timeout_ms = 1000;
	o.flush_ms = 20;
	o.orig_dst = fx_orig_dst;
	o.inherit_fds = inherit;
	o.ninherit = ninherit;
	return relay_new(&o, f->snap);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct tmodel *t = tmodel_new(inet_addr(VIP));

	assert_non_null(f);
	assert_non_null(t);
	for (int i = 0; i < NBE; i++)
		hbe_start(&f->be[i], i, "127.0.0.1", 0);
	tmodel_port(t, SVC_PORT, f->be[0].port, f->be[1].port, true);
	f->snap = snap_new(2 * NRELAY + 2, tmodel_free, NULL);
	assert_non_null(f->snap);
	assert_int_equal(snap_publish(f->snap, t), 0);
	f->relay[0] = fx_relay(f, NULL, 0);
	assert_non_null(f->relay[0]);
	relay_addr(f->relay[0], &f->raddr);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < NRELAY; i++)
		relay_free(f->relay[i]);
	for (int i = 0; i < NBE; i++)
		hbe_stop(&f->be[i]);
	snap_free(f->snap);
	free(f);
	return 0;
}

/*
 * What the agents do, minus the processes: the current relay's listeners travel over a
 * unix socket (new numbers, same sockets), a new relay inherits them and starts, then the
 * old one drains. Returns the new generation's index.
 */
static int fx_handover(struct fx *f, bool drain)
{
	struct relay *old = f->relay[f->gen], *nw;
	int sv[2], fds[FDPASS_MAX_FDS], got[FDPASS_MAX_FDS], n, ngot = -1;
	struct sockaddr_in a;
	char msg[32];

	assert_true(f->gen + 1 < NRELAY);
	n = relay_listen_fds(old, fds, FDPASS_MAX_FDS);
	assert_int_equal(n, 2);
	assert_int_equal(seqpair(sv), 0);
	assert_int_equal(fdpass_send(sv[0], "listeners", fds, n), 0);
	assert_int_equal(fdpass_recv(sv[1], msg, sizeof(msg), got, &ngot, FDPASS_MAX_FDS, 1000), 0);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(ngot, n);
	nw = fx_relay(f, got, ngot);
	assert_non_null(nw);
	/* Same sockets: same address, no port of its own. */
	relay_addr(nw, &a);
	assert_int_equal(a.sin_port, f->raddr.sin_port);
	assert_int_equal(relay_start(nw), 0);
	if (drain)
		relay_drain(old);
	f->relay[++f->gen] = nw;
	return f->gen;
}

/* Waits up to <ms> for relay <r> to have no connection left. Returns the count left. */
static uint64_t wait_idle(struct relay *r, int ms)
{
	struct relay_stats rs;

	for (int i = 0; i <= ms / 10; i++) {
		relay_stats(r, &rs);
		if (!rs.active)
			return 0;
		usleep(10000);
	}
	return rs.active;
}

/* Waits up to <ms> until relay <r> has received at least <n> requests. */
static uint64_t wait_requests(struct relay *r, uint64_t n, int ms)
{
	struct relay_stats rs;

	for (int i = 0; i <= ms / 10; i++) {
		relay_stats(r, &rs);
		if (rs.http_requests >= n)
			break;
		usleep(10000);
	}
	return rs.http_requests;
}

/* h2load's summary, from its own report. */
struct h2sum {
	long total, started, done, succeeded, failed, errored, timeout;
	long s2xx, s3xx, s4xx, s5xx;
	bool seen;
};

static void h2load_parse(FILE *p, struct h2sum *s, char *log, size_t loglen)
{
	char line[512];
	size_t off = 0;

	memset(s, 0, sizeof(*s));
	while (fgets(line, sizeof(line), p)) {
		/* Its progress lines would crowd the summary out of <log>. */
		if (off + strlen(line) < loglen && strncmp(line, "progress", 8) &&
		    strncmp(line, "Process Request", 15) && strncmp(line, "Warm", 4)) {
			memcpy(log + off, line, strlen(line) + 1);
			off += strlen(line);
		}
		if (sscanf(line,
			   "requests: %ld total, %ld started, %ld done, %ld succeeded, %ld failed, "
			   "%ld errored, %ld timeout",
			   &s->total, &s->started, &s->done, &s->succeeded, &s->failed, &s->errored,
			   &s->timeout) == 7)
			s->seen = true;
		sscanf(line, "status codes: %ld 2xx, %ld 3xx, %ld 4xx, %ld 5xx", &s->s2xx, &s->s3xx,
		       &s->s4xx, &s->s5xx);
	}
}

/* Starts h2load (<h1>: --h1, else h2c prior knowledge) for <secs> against the relays. */
static FILE *h2load_start(struct fx *f, bool h1, int secs)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "timeout %d h2load %s -c 8 -m %d -t 2 -D %d http://127.0.0.1:%u/id 2>&1",
		 secs + 20, h1 ? "--h1" : "", h1 ? 1 : 4, secs, ntohs(f->raddr.sin_port));
	return popen(cmd, "r");
}

/* Waits for h2load <p> to end and reads its summary into <s>; prints its report if <show>. */
static void h2load_end(FILE *p, struct h2sum *s, bool show)
{
	char log[16384] = "";

	h2load_parse(p, s, log, sizeof(log));
	assert_int_equal(pclose(p), 0);
	if (show || !s->seen)
		print_error("h2load:\n%s\n", log);
	assert_true(s->seen);
}

/*
 * Hands over from the current relay while <p> loads it, and checks the old relay: all its
 * sessions end while the clients keep sending (Connection: close / GOAWAY moved them), it
 * answered every request it took, reset nothing; with <moves>, the clients carry on
 * against the new relay. On failure
 * h2load's report is printed first.
 */
static void handover_under_load(struct fx *f, FILE *p, bool moves)
{
	struct relay *old = f->relay[f->gen];
	struct relay_stats rs;
	struct h2sum s;
	uint64_t left;
	int g = fx_handover(f, true);

	left = wait_idle(old, 3000);
	relay_stats(old, &rs);
	if (left || rs.http_responses != rs.http_requests || rs.resets ||
	    (moves && wait_requests(f->relay[g], 100, 3000) < 100)) {
		print_error("generation %d: %" PRIu64 " connections left, %" PRIu64
			    " requests, %" PRIu64 " responses, %" PRIu64 " resets; next "
			    "generation %" PRIu64 " requests\n",
			    g - 1, left, rs.http_requests, rs.http_responses, rs.resets,
			    wait_requests(f->relay[g], 100, 0));
		relay_stats(f->relay[g], &rs);
		print_error("next generation: %" PRIu64 " accepted, %" PRIu64 " active, %" PRIu64
			    " sessions\n",
			    rs.accepted, rs.active, rs.http_sessions);
		h2load_end(p, &s, true);
		fail();
	}
}

/*
 * HTTP/1.1: one h2load run for LOAD_SECS across three hand-overs. h2load's HTTP/1.1
 * client reconnects after a response with Connection: close, so nothing at all may fail.
 */
static void test_handoff_h1_load(void **state)
{
	struct fx *f = *state;
	struct relay_stats rs;
	struct h2sum s;
	FILE *p;

	assert_int_equal(relay_start(f->relay[0]), 0);
	p = h2load_start(f, true, LOAD_SECS);
	assert_non_null(p);
	/* The clients are connected and busy before the first hand-over. */
	assert_true(wait_requests(f->relay[0], 200, 5000) >= 200);
	for (int r = 0; r < 3; r++)
		handover_under_load(f, p, true);
	h2load_end(p, &s, false);
	if (s.failed || s.errored || s.timeout || s.s2xx != s.succeeded)
		print_error("h2load: %ld failed, %ld errored, %ld timeout\n", s.failed, s.errored,
			    s.timeout);
	assert_true(s.succeeded > 0);
	assert_int_equal(s.failed, 0);
	assert_int_equal(s.errored, 0);
	assert_int_equal(s.timeout, 0);
	/* A timed run stops with one request per client still in flight: started, not done. */
	assert_int_equal(s.done, s.succeeded);
	assert_true(s.started - s.done <= 8);
	assert_int_equal(s.s2xx, s.succeeded);
	/* (The last relay may count resets: h2load drops its connections mid-request when
	 * its time is up. The drained ones were checked for none.) */
	relay_stats(f->relay[f->gen], &rs);
	assert_true(rs.http_responses > 0);
}

/*
 * HTTP/2: h2load's HTTP/2 client never reconnects, and nghttp2 under it fails locally the
 * requests it had queued but not sent when a GOAWAY (even the drain's first, "no new
 * streams soon") arrives: those never reach the proxy, and h2load books them as failed.
 * So one run per hand-over, and what is checked is what a graceful GOAWAY promises: every
 * request that reached the proxy was answered 2xx (h2load's successes are exactly the
 * relays' responses: none refused or reset on the wire), and h2load's failures are only
 * those unsent ones (at most one window of -m 4 streams per client).
 */
static void test_handoff_h2_load(void **state)
{
	struct fx *f = *state;
	struct h2sum s;

	assert_int_equal(relay_start(f->relay[0]), 0);
	for (int r = 0; r < 3; r++) {
		struct relay_stats b0, a0, b1, a1;
		struct relay *old = f->relay[f->gen];
		FILE *p;

		relay_stats(old, &b0);
		p = h2load_start(f, false, 3);
		assert_non_null(p);
		assert_true(wait_requests(old, b0.http_requests + 200, 5000) >=
			    b0.http_requests + 200);
		handover_under_load(f, p, false);
		relay_stats(f->relay[f->gen], &b1);
		h2load_end(p, &s, getenv("H2LOAD_SHOW") != NULL);
		relay_stats(old, &a0);
		relay_stats(f->relay[f->gen], &a1);
		print_message("round %d: h2load %ld started, %ld succeeded, %ld failed; old relay "
			      "%" PRIu64 " responses\n",
			      r, s.started, s.succeeded, s.failed,
			      a0.http_responses - b0.http_responses);
		assert_true(s.succeeded >= 200);
		assert_int_equal(s.s2xx, s.succeeded);
		assert_int_equal(s.timeout, 0);
		assert_int_equal(a0.http_requests - b0.http_requests,
				 a0.http_responses - b0.http_responses);
		assert_int_equal((uint64_t)s.succeeded, a0.http_responses - b0.http_responses +
							    a1.http_responses - b1.http_responses);
		assert_true(s.failed <= 8 * 4);
	}
}

/* A blocking loopback client of the relay with a receive timeout. */
static int client(struct fx *f)
{
	struct timeval tv = {3, 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&f->raddr, sizeof(f->raddr)), 0);
	return fd;
}

/* Reads until EOF, timeout or <len> - 1 bytes into <buf>. Returns 0 at EOF, -errno else. */
static int read_all(int fd, char *buf, size_t len)
{
	size_t n = 0;

	for (;;) {
		ssize_t k = recv(fd, buf + n, len - 1 - n, 0);

		if (k <= 0) {
			buf[n] = '\0';
			return k == 0 ? 0 : -errno;
		}
		n += (size_t)k;
		if (n == len - 1) {
			buf[n] = '\0';
			return -ENOBUFS;
		}
	}
}

static const char req_close[] = "GET /id HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n";

/*
 * Connections queued on a listener that its relay never accepted from: the successor
 * accepts them from the same queue once the old relay is gone. Nothing is lost.
 */
static void test_handoff_queued(void **state)
{
	struct fx *f = *state;
	int fd[6];
	char buf[4096];
	struct relay_stats rs;

	/* Relay 0 is bound and listening, but no worker runs: the kernel queues. */
	for (int i = 0; i < 6; i++) {
		fd[i] = client(f);
		assert_int_equal(send(fd[i], req_close, strlen(req_close), 0),
				 (ssize_t)strlen(req_close));
	}
	fx_handover(f, true);
	relay_free(f->relay[0]); /* the old agent exits: its references go */
	f->relay[0] = NULL;
	for (int i = 0; i < 6; i++) {
		assert_int_equal(read_all(fd[i], buf, sizeof(buf)), 0);
		assert_non_null(strstr(buf, "HTTP/1.1 200"));
		assert_non_null(strstr(buf, "backend "));
		close(fd[i]);
	}
	relay_stats(f->relay[1], &rs);
	assert_int_equal(rs.accepted, 6);
}

/*
 * A request in flight when the drain starts is answered in full, with Connection: close
 * (the client then knows not to reuse the connection), and the connection then ends; an
 * idle keep-alive connection is closed with a clean FIN (no reset) soon after the drain.
 */
static void test_handoff_drain_h1_sessions(void **state)
{
	static const char slow[] = "GET /slow HTTP/1.1\r\nHost: web\r\n\r\n";
	static const char id[] = "GET /id HTTP/1.1\r\nHost: web\r\n\r\n";
	struct fx *f = *state;
	char buf[4096] = "";
	int busy, idle;
	ssize_t k;

	assert_int_equal(relay_start(f->relay[0]), 0);
	idle = client(f);
	assert_int_equal(send(idle, id, strlen(id), 0), (ssize_t)strlen(id));
	/* Head and body may come in two reads. */
	for (size_t n = 0; !strstr(buf, "backend 0\n") && !strstr(buf, "backend 1\n");) {
		k = recv(idle, buf + n, sizeof(buf) - 1 - n, 0);
		assert_true(k > 0);
		n += (size_t)k;
		buf[n] = '\0';
	}
	busy = client(f);
	assert_int_equal(send(busy, slow, strlen(slow), 0), (ssize_t)strlen(slow));
	assert_int_equal(wait_requests(f->relay[0], 2, 2000), 2);
	fx_handover(f, true);
	assert_int_equal(read_all(busy, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	assert_non_null(strcasestr(buf, "\r\nconnection: close\r\n"));
	assert_non_null(strstr(buf, "slow\n"));
	assert_int_equal(read_all(idle, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(wait_idle(f->relay[0], 2000), 0);
	close(busy);
	close(idle);
}

/*
 * The race a keep-alive client cannot avoid: its next request leaves as the drain starts,
 * on a connection that was idle. It is answered (with Connection: close), not dropped
 * with the connection; so is the first request of a connection accepted just before.
 */
static void test_handoff_drain_h1_race(void **state)
{
	static const char id[] = "GET /id HTTP/1.1\r\nHost: web\r\n\r\n";
	struct fx *f = *state;
	struct relay_stats rs;
	char buf[4096] = "";
	int idle, fresh;
	ssize_t k;

	assert_int_equal(relay_start(f->relay[0]), 0);
	idle = client(f);
	fresh = client(f);
	assert_int_equal(send(idle, id, strlen(id), 0), (ssize_t)strlen(id));
	for (size_t n = 0; !strstr(buf, "backend 0\n") && !strstr(buf, "backend 1\n");) {
		k = recv(idle, buf + n, sizeof(buf) - 1 - n, 0);
		assert_true(k > 0);
		n += (size_t)k;
		buf[n] = '\0';
	}
	/* Both connections accepted by relay 0 before its drain. */
	for (int i = 0; i < 200; i++) {
		relay_stats(f->relay[0], &rs);
		if (rs.http_sessions == 2)
			break;
		usleep(10000);
	}
	assert_int_equal(rs.http_sessions, 2);
	fx_handover(f, true);
	usleep(100 * 1000); /* the drain has reached the sessions */
	assert_int_equal(send(idle, id, strlen(id), 0), (ssize_t)strlen(id));
	assert_int_equal(send(fresh, id, strlen(id), 0), (ssize_t)strlen(id));
	for (int c = 0; c < 2; c++) {
		assert_int_equal(read_all(c ? fresh : idle, buf, sizeof(buf)), 0);
		assert_non_null(strstr(buf, "HTTP/1.1 200"));
		assert_non_null(strcasestr(buf, "\r\nconnection: close\r\n"));
		assert_non_null(strstr(buf, "backend "));
	}
	relay_stats(f->relay[0], &rs);
	assert_int_equal(rs.http_responses, 3);
	assert_int_equal(wait_idle(f->relay[0], 2000), 0);
	close(idle);
	close(fresh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fdpass_roundtrip),
	    cmocka_unit_test(test_fdpass_limits),
	    cmocka_unit_test_setup_teardown(test_handoff_queued, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_handoff_drain_h1_sessions, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_handoff_drain_h1_race, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_handoff_h1_load, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_handoff_h2_load, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
