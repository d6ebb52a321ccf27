// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP proxy over real sockets on loopback, with a real client (curl, HTTP/1.1 and
 * HTTP/2 prior knowledge) and HTTP/1.1 backends on test threads: routing is per request
 * (one client connection spreads over backends), bodies stream intact both ways, upstream
 * connections are kept alive and reused, a 503 is retried by Istio's default policy, and
 * the agent's own answers (no healthy upstream, connect failure) are what Envoy says.
 * The original destination is injected (no BPF hook here); every address is loopback and
 * every wait bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "model/model.h"
#include "model/snap.h"
#include "proxy/relay.h"

#include "../lib/httpfx.h"
#include "../lib/tmodel.h"

#define VIP "127.19.0.20"
#define NBE 2

/* ---- a hand-built snapshot: one Service, HTTP ports ---- */

enum {
	P_TWO = 80,	/* backends 0 and 1 */
	P_ONE = 81,	/* backend 0 only */
	P_NONE = 82,	/* no ready endpoint */
	P_REFUSED = 83, /* an endpoint on a closed port */
};

struct fx {
	struct snap *snap;
	struct relay *relay;
	struct sockaddr_in raddr;
	struct hbe be[NBE];
	uint16_t closed_port;
	_Atomic uint16_t orig_port; /* network order */
	char dir[64];
};

static int fx_orig_dst(int fd, struct sockaddr_in *out, void *arg)
{
	struct fx *f = arg;

	out->sin_family = AF_INET;
	out->sin_addr.s_addr = inet_addr(VIP);
	out->sin_port = atomic_load(&f->orig_port);
	return 0;
}

static int fx_setup(void **state)
{
	struct relay_opts o = {0};
	struct fx *f = calloc(1, sizeof(*f));
	struct tmodel *t = tmodel_new(inet_addr(VIP));
	int fd;

	assert_non_null(f);
	assert_non_null(t);
	for (int i = 0; i < NBE; i++)
		hbe_start(&f->be[i], i, "127.0.0.1", 0);
	fd = httpfx_listen_lo(&f->closed_port);
	close(fd);
	tmodel_port(t, P_TWO, f->be[0].port, f->be[1].port, true);
	tmodel_port(t, P_ONE, f->be[0].port, 0, true);
	tmodel_port(t, P_NONE, f->be[0].port, 0, false);
	tmodel_port(t, P_REFUSED, f->closed_port, 0, true);
	f->snap = snap_new(8, tmodel_free, NULL);
	assert_int_equal(snap_publish(f->snap, t), 0);
	o.listen = "127.0.0.1:0";
	o.workers = 2;
	o.connect_timeout_ms = 1000;
	o.flush_ms = 20;
	o.orig_dst = fx_orig_dst;
	o.orig_dst_arg = f;
	f->relay = relay_new(&o, f->snap);
	assert_non_null(f->relay);
	relay_addr(f->relay, &f->raddr);
	assert_int_equal(relay_start(f->relay), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/weir-proxy-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	relay_free(f->relay);
	for (int i = 0; i < NBE; i++)
		hbe_stop(&f->be[i]);
	snap_free(f->snap);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Runs curl with <args> (the Service port is what the injected lookup answers). */
#define curl(f, svc_port, ...)                                                                     \
	(atomic_store(&(f)->orig_port, htons(svc_port)), httpfx_curl(__VA_ARGS__))

/* "http://127.0.0.1:<relay port><path>" repeated <n> times, space-separated. */
static void urls(struct fx *f, const char *path, int n, char *out, size_t len)
{
	size_t off = 0;

	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, len - off, "http://127.0.0.1:%u%s ",
					ntohs(f->raddr.sin_port), path);
}

/* Waits up to 2 s for the relay's counters to show every response completed. */
static void stats_settle(struct fx *f, struct relay_stats *rs, uint64_t responses)
{
	for (int i = 0; i < 200; i++) {
		relay_stats(f->relay, rs);
		if (rs->http_responses >= responses)
			return;
		usleep(10000);
	}
}

/* ---- tests ---- */

/* Checks what 30 requests on one client connection did: both backends, per request. */
static void per_request_stats(struct fx *f)
{
	struct relay_stats rs;

	assert_true(atomic_load(&f->be[0].requests) > 0);
	assert_true(atomic_load(&f->be[1].requests) > 0);
	assert_int_equal(atomic_load(&f->be[0].requests) + atomic_load(&f->be[1].requests), 30);
	stats_settle(f, &rs, 30);
	assert_int_equal(rs.http_sessions, 1);
	assert_int_equal(rs.http_requests, 30);
	assert_int_equal(rs.http_responses, 30);
	assert_int_equal(rs.http_local, 0);
	/* Kept alive upstream: far fewer connections than requests. */
	assert_true(rs.up_conns <= 4);
	assert_true(rs.up_reused >= 26);
}

static void test_proxy_h1_per_request(void **state)
{
	struct fx *f = *state;
	char u[4096], *out;

	urls(f, "/id", 30, u, sizeof(u));
	out = curl(f, P_TWO, "--http1.1 %s", u);
	/* One client connection, 30 requests, both backends: the pick is per request. */
	assert_int_equal(httpfx_count(out, "backend "), 30);
	free(out);
	per_request_stats(f);
}

/*
 * HTTP/2 with h2load: 30 requests one after another on one connection. (Debian's curl
 * 7.88 cannot reuse a prior-knowledge connection, against nghttpd too: "Error in the
 * HTTP2 framing layer" on the second request.)
 */
static void test_proxy_h2_per_request(void **state)
{
	struct fx *f = *state;
	char cmd[256], line[512];
	bool ok = false;
	FILE *p;

	atomic_store(&f->orig_port, htons(P_TWO));
	snprintf(cmd, sizeof(cmd), "timeout 20 h2load -n 30 -c 1 -m 1 http://127.0.0.1:%u/id",
		 ntohs(f->raddr.sin_port));
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		if (strstr(line, "requests: 30 total, 30 started, 30 done, 30 succeeded, 0 failed"))
			ok = true;
	pclose(p);
	assert_true(ok);
	per_request_stats(f);
}

static void test_proxy_h2_curl(void **state)
{
	struct fx *f = *state;
	char *out;

	out =
	    curl(f, P_ONE, "--http2-prior-knowledge -w ' %%{http_version}' http://127.0.0.1:%u/id",
		 ntohs(f->raddr.sin_port));
	assert_string_equal(out, "backend 0\n 2");
	free(out);
}

static void test_proxy_echo_body(void **state)
{
	struct fx *f = *state;
	char in[128], outp[128], cmd[512], *out;
	FILE *fp;

	snprintf(in, sizeof(in), "%s/in", f->dir);
	snprintf(outp, sizeof(outp), "%s/out", f->dir);
	fp = fopen(in, "w");
	assert_non_null(fp);
	for (int i = 0; i < (1 << 20); i++)
		fputc((i * 7 + i / 977) & 0xff, fp);
	fclose(fp);
	for (int h2 = 0; h2 < 2; h2++) {
		out = curl(f, P_ONE, "%s --data-binary @%s -o %s http://127.0.0.1:%u/echo",
			   h2 ? "--http2-prior-knowledge" : "--http1.1", in, outp,
			   ntohs(f->raddr.sin_port));
		free(out);
		snprintf(cmd, sizeof(cmd), "cmp -s %s %s", in, outp);
		assert_int_equal(system(cmd), 0);
		unlink(outp);
	}
}

static void test_proxy_big_response(void **state)
{
	struct fx *f = *state;
	char *out;

	out = curl(f, P_ONE,
		   "-o /dev/null -w '%%{http_code} %%{size_download}' http://127.0.0.1:%u/big",
		   ntohs(f->raddr.sin_port));
	assert_string_equal(out, "200 4194304");
	free(out);
	out = curl(f, P_ONE,
		   "--http2-prior-knowledge -o /dev/null -w '%%{http_code} %%{size_download}' "
		   "http://127.0.0.1:%u/big",
		   ntohs(f->raddr.sin_port));
	assert_string_equal(out, "200 4194304");
	free(out);
}

static void test_proxy_retry_503(void **state)
{
	struct fx *f = *state;
	struct relay_stats rs;
	char *out;

	/* Istio's default policy retries 503 twice: one failure is hidden from the client. */
	atomic_store(&f->be[0].fail_next, 1);
	out =
	    curl(f, P_ONE, "-w ' %%{http_code}' http://127.0.0.1:%u/id", ntohs(f->raddr.sin_port));
	assert_string_equal(out, "backend 0\n 200");
	free(out);
	stats_settle(f, &rs, 1);
	assert_int_equal(rs.http_retries, 1);
	/* Three failures exhaust the two retries: the client sees the backend's 503. */
	atomic_store(&f->be[0].fail_next, 3);
	out =
	    curl(f, P_ONE, "-w ' %%{http_code}' http://127.0.0.1:%u/id", ntohs(f->raddr.sin_port));
	assert_string_equal(out, "busy\n 503");
	free(out);
	assert_int_equal(atomic_load(&f->be[0].fail_next), 0);
}

static void test_proxy_no_healthy_upstream(void **state)
{
	struct fx *f = *state;
	char *out;

	out =
	    curl(f, P_NONE, "-w ' %%{http_code}' http://127.0.0.1:%u/id", ntohs(f->raddr.sin_port));
	assert_string_equal(out, "no healthy upstream 503");
	free(out);
	out = curl(f, P_REFUSED, "-w ' %%{http_code}' http://127.0.0.1:%u/id",
		   ntohs(f->raddr.sin_port));
	assert_string_equal(out, "upstream connect error or disconnect/reset before headers 503");
	free(out);
}

static void test_proxy_request_id(void **state)
{
	struct fx *f = *state;
	char *out;

	/* Generated when missing (a UUID), kept when the client sent one. */
	out = curl(f, P_ONE, "http://127.0.0.1:%u/hdr/x-request-id", ntohs(f->raddr.sin_port));
	assert_int_equal(strlen(out), 36);
	assert_int_equal(out[14], '4');
	free(out);
	out = curl(f, P_ONE, "-H 'x-request-id: abc' http://127.0.0.1:%u/hdr/x-request-id",
		   ntohs(f->raddr.sin_port));
	assert_string_equal(out, "abc");
	free(out);
}

/* WebSocket: the Upgrade goes through, then bytes both ways until the client ends. */
static void test_proxy_websocket(void **state)
{
	struct fx *f = *state;
	char cmd[1024], buf[512] = "";
	size_t n;
	FILE *p;

	atomic_store(&f->orig_port, htons(P_ONE));
	snprintf(cmd, sizeof(cmd),
		 "timeout 10 /usr/bin/python3 -c \""
		 "import socket; s=socket.create_connection(('127.0.0.1',%u)); "
		 "s.sendall(b'GET /ws HTTP/1.1\\r\\nHost: web\\r\\nUpgrade: websocket\\r\\n"
		 "Connection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n'); "
		 "h=b''\n"
		 "while not h.endswith(b'\\r\\n\\r\\n'): h+=s.recv(1)\n"
		 "print(h.split(b'\\r\\n')[0].decode())\n"
		 "for m in (b'ping-1', b'ping-2'):\n"
		 " s.sendall(m); r=b''\n"
		 " while len(r)<len(m): r+=s.recv(100)\n"
		 " print(r.decode())\n"
		 "s.shutdown(socket.SHUT_WR); print(len(s.recv(100)))\"",
		 ntohs(f->raddr.sin_port));
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	pclose(p);
	/* The 101, each message echoed through the tunnel, and the end seen (0 bytes). */
	assert_string_equal(buf, "HTTP/1.1 101 Switching Protocols\nping-1\nping-2\n0\n");
}

/*
 * A tunnel client (python3, <mode>: "ws-count"/"ws-first" for a WebSocket, "count.test:1"/
 * "first.test:1" for a CONNECT) through the relay; its output into <out>.
 *   count: sends 30000 bytes and its FIN, then reads to the end: "<status>\ngot 30000 262144"
 *   first: reads the backend's "hello" and FIN, then sends 50000 bytes and its own FIN, then
 *          reads to the end: "<status>\nhello\n0"
 */
static void tunnel_client(struct fx *f, const char *mode, char *out, size_t len)
{
	static const char py[] =
	    "import socket, sys\n"
	    "port, mode = int(sys.argv[1]), sys.argv[2].encode()\n"
	    "s = socket.create_connection(('127.0.0.1', port))\n"
	    "if mode.startswith(b'ws'):\n"
	    "    s.sendall(b'GET /' + mode + b' HTTP/1.1\\r\\nHost: web\\r\\n'\n"
	    "              b'Upgrade: websocket\\r\\nConnection: Upgrade\\r\\n\\r\\n')\n"
	    "else:\n"
	    "    s.sendall(b'CONNECT ' + mode + b' HTTP/1.1\\r\\nHost: ' + mode + "
	    "b'\\r\\n\\r\\n')\n"
	    "h = b''\n"
	    "while not h.endswith(b'\\r\\n\\r\\n'):\n"
	    "    c = s.recv(1)\n"
	    "    if not c: break\n"
	    "    h += c\n"
	    "print(h.split(b'\\r\\n')[0].decode())\n"
	    "def drain():\n"
	    "    r = b''\n"
	    "    while True:\n"
	    "        c = s.recv(65536)\n"
	    "        if not c: return r\n"
	    "        r += c\n"
	    "if b'count' in mode:\n"
	    "    for i in range(3): s.sendall(b'x' * 10000)\n"
	    "    s.shutdown(socket.SHUT_WR)\n"
	    "    r = drain()\n"
	    "    print(r.split(b'\\n')[0].decode(), len(r))\n"
	    "else:\n"
	    "    print(drain().decode().strip())\n"
	    "    s.sendall(b'y' * 50000)\n"
	    "    s.shutdown(socket.SHUT_WR)\n"
	    "    print(len(drain()))\n";
	char path[128], cmd[256];
	size_t n;
	FILE *p;

	snprintf(path, sizeof(path), "%s/tunnel.py", f->dir);
	p = fopen(path, "w");
	assert_non_null(p);
	assert_int_equal(fwrite(py, 1, sizeof(py) - 1, p), sizeof(py) - 1);
	fclose(p);
	atomic_store(&f->orig_port, htons(P_ONE));
	snprintf(cmd, sizeof(cmd), "timeout 10 /usr/bin/python3 %s %u '%s'", path,
		 ntohs(f->raddr.sin_port), mode);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	pclose(p);
}

/* The client half-closes a tunnel and still receives the backend's whole answer. */
static void test_proxy_tunnel_client_half_close(void **state)
{
	struct fx *f = *state;
	char out[256];

	tunnel_client(f, "ws-count", out, sizeof(out));
	assert_string_equal(out, "HTTP/1.1 101 Switching Protocols\ngot 30000 262144\n");
	tunnel_client(f, "count.test:1", out, sizeof(out));
	assert_string_equal(out, "HTTP/1.1 200 OK\ngot 30000 262144\n");
}

/* The backend half-closes first; the client's bytes still reach it, all of them. */
static void test_proxy_tunnel_server_half_close(void **state)
{
	static const char *const modes[] = {"ws-first", "first.test:1"};
	static const char *const want[] = {"HTTP/1.1 101 Switching Protocols\nhello\n0\n",
					   "HTTP/1.1 200 OK\nhello\n0\n"};
	struct fx *f = *state;
	char out[256];

	for (int i = 0; i < 2; i++) {
		atomic_store(&f->be[0].tunnel_rx, 0);
		tunnel_client(f, modes[i], out, sizeof(out));
		assert_string_equal(out, want[i]);
		/* The backend records its count when the client's FIN reached it. */
		for (int t = 0; t < 200 && atomic_load(&f->be[0].tunnel_rx) != 50000; t++)
			usleep(10 * 1000);
		assert_int_equal(atomic_load(&f->be[0].tunnel_rx), 50000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_proxy_h1_per_request, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_proxy_h2_per_request, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_proxy_h2_curl, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_proxy_echo_body, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_proxy_big_response, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_proxy_retry_503, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_proxy_no_healthy_upstream, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_proxy_request_id, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_proxy_websocket, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_proxy_tunnel_client_half_close, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_proxy_tunnel_server_half_close, fx_setup,
					    fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
