// SPDX-License-Identifier: Apache-2.0
/*
 * Tests of the CNI protocol (user/cni.c) and of the real weir-cni binary: codec tables, the
 * agent-side server on a libevent loop in a thread behind a temporary socket, and the plugin
 * run the way a container runtime runs it (CNI_* environment, config on stdin, fork/exec).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "cni/cni.h"
#include "lib/log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* --- codec tables --- */

static void pod_fill(struct cni_pod *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->container_id, "4f1c0a9e2b7d");
	strcpy(p->netns, "/var/run/netns/cni-1234");
	strcpy(p->ifname, "eth0");
	strcpy(p->ns, "bookinfo");
	strcpy(p->name, "reviews-v1-5f8d9c-abcde");
	strcpy(p->uid, "0b6f2f0e-8f4a-4c1e-9d4f-6d1c1f2b3a4c");
	inet_pton(AF_INET, "198.18.1.5", &p->ip);
}

static void test_cni_request_roundtrip(void **state)
{
	enum cni_op ops[] = {CNI_OP_ADD, CNI_OP_DEL, CNI_OP_CHECK};
	struct cni_pod in, out;
	char buf[CNI_MSG_MAX], err[256];
	enum cni_op op;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		pod_fill(&in);
		assert_int_equal(
		    cni_request_encode(ops[i], &in, buf, sizeof(buf), err, sizeof(err)), 0);
		assert_int_equal(buf[strlen(buf) - 1], '\n');
		assert_int_equal(cni_request_decode(buf, &out, &op, err, sizeof(err)), 0);
		assert_int_equal(op, ops[i]);
		assert_memory_equal(&in, &out, sizeof(in));
	}
	/* DEL with only the required fields: empty optionals are left out, not sent empty. */
	memset(&in, 0, sizeof(in));
	strcpy(in.container_id, "c1");
	strcpy(in.ifname, "eth0");
	assert_int_equal(cni_request_encode(CNI_OP_DEL, &in, buf, sizeof(buf), err, sizeof(err)),
			 0);
	assert_string_equal(buf, "{\"op\":\"del\",\"containerId\":\"c1\",\"ifname\":\"eth0\"}\n");
	assert_int_equal(cni_request_decode(buf, &out, &op, err, sizeof(err)), 0);
	assert_memory_equal(&in, &out, sizeof(in));
}

static void test_cni_request_decode_table(void **state)
{
	static const struct {
		const char *json;
		int rc;
		const char *err; /* substring expected in the message */
	} t[] = {
	    {"{\"op\":\"add\",\"containerId\":\"c\",\"netns\":\"/run/netns/p\",\"ifname\":\"eth0\","
	     "\"namespace\":\"default\",\"name\":\"p\",\"uid\":\"u-1\",\"ip\":\"198.18.1.5\"}\n",
	     0, NULL},
	    {"{\"op\":\"check\",\"containerId\":\"c\",\"netns\":\"/run/netns/"
	     "p\",\"ifname\":\"eth0\","
	     "\"future\":[1,2]}",
	     0, NULL},
	    {"{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"eth0\"}", 0, NULL},
	    {"", -EINVAL, "not JSON"},
	    {"{\"op\":\"add\"", -EINVAL, "not JSON"},
	    {"[]", -EINVAL, "JSON object"},
	    {"\"add\"", -EINVAL, NULL},
	    {"{\"containerId\":\"c\",\"ifname\":\"eth0\"}", -EINVAL, "op: missing"},
	    {"{\"op\":1,\"containerId\":\"c\",\"ifname\":\"eth0\"}", -EINVAL,
	     "op: must be a string"},
	    {"{\"op\":\"gc\",\"containerId\":\"c\",\"ifname\":\"eth0\"}", -EINVAL, "op: must be"},
	    {"{\"op\":\"del\",\"op\":\"add\",\"containerId\":\"c\",\"ifname\":\"eth0\"}", -EINVAL,
	     "duplicate"},
	    {"{\"op\":\"del\",\"ifname\":\"eth0\"}", -EINVAL, "containerId: missing"},
	    {"{\"op\":\"del\",\"containerId\":5,\"ifname\":\"eth0\"}", -EINVAL,
	     "containerId: must be a string"},
	    {"{\"op\":\"del\",\"containerId\":\"a b\",\"ifname\":\"eth0\"}", -EINVAL,
	     "containerId"},
	    {"{\"op\":\"del\",\"containerId\":\"-c\",\"ifname\":\"eth0\"}", -EINVAL, "containerId"},
	    {"{\"op\":\"del\",\"containerId\":\"c\"}", -EINVAL, "ifname: missing"},
	    {"{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"eth0123456789abcd\"}", -EINVAL,
	     "ifname: longer than 15"},
	    {"{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"..\"}", -EINVAL, "ifname"},
	    {"{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"a/b\"}", -EINVAL, "ifname"},
	    {"{\"op\":\"add\",\"containerId\":\"c\",\"ifname\":\"eth0\",\"ip\":\"198.18.1.5\"}",
	     -EINVAL, "netns: missing"},
	    {"{\"op\":\"add\",\"containerId\":\"c\",\"netns\":\"run/netns/p\",\"ifname\":\"eth0\","
	     "\"ip\":\"198.18.1.5\"}",
	     -EINVAL, "netns: must be an absolute path"},
	    {"{\"op\":\"add\",\"containerId\":\"c\",\"netns\":\"/run/netns/../../etc\","
	     "\"ifname\":\"eth0\",\"ip\":\"198.18.1.5\"}",
	     -EINVAL, "netns: must not hold '..'"},
	    {"{\"op\":\"add\",\"containerId\":\"c\",\"netns\":\"/run/netns/"
	     "p\",\"ifname\":\"eth0\"}",
	     -EINVAL, "ip: missing"},
	    {"{\"op\":\"add\",\"containerId\":\"c\",\"netns\":\"/run/netns/p\",\"ifname\":\"eth0\","
	     "\"ip\":\"198.18.1\"}",
	     -EINVAL, "ip: \"198.18.1\" is not"},
	    {"{\"op\":\"add\",\"containerId\":\"c\",\"netns\":\"/run/netns/p\",\"ifname\":\"eth0\","
	     "\"ip\":\"198.18.1.256\"}",
	     -EINVAL, "ip:"},
	    {"{\"op\":\"add\",\"containerId\":\"c\",\"netns\":\"/run/netns/p\",\"ifname\":\"eth0\","
	     "\"ip\":\"fd00::1\"}",
	     -EINVAL, "ip:"},
	    {"{\"op\":\"add\",\"containerId\":\"c\",\"netns\":\"/run/netns/p\",\"ifname\":\"eth0\","
	     "\"ip\":\"127.0.0.1\"}",
	     -EINVAL, "ip: not a unicast"},
	    {"{\"op\":\"add\",\"containerId\":\"c\",\"netns\":\"/run/netns/p\",\"ifname\":\"eth0\","
	     "\"ip\":\"224.0.0.1\"}",
	     -EINVAL, "ip: not a unicast"},
	    {"{\"op\":\"add\",\"containerId\":\"c\",\"netns\":\"/run/netns/p\",\"ifname\":\"eth0\","
	     "\"ip\":3322552581}",
	     -EINVAL, "ip: must be a string"},
	    {"{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"eth0\",\"namespace\":\"Default\"}",
	     -EINVAL, "namespace:"},
	    {"{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"eth0\",\"namespace\":\"a.b\"}",
	     -EINVAL, "namespace:"},
	    {"{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"eth0\",\"name\":\"p-\"}", -EINVAL,
	     "name:"},
	    {"{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"eth0\",\"name\":null}", -EINVAL,
	     "name: must be a string"},
	    {"{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"eth0\",\"uid\":\"u;rm\"}", -EINVAL,
	     "uid:"},
	    {"{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"eth0\",\"name\":\"a\\u0000b\"}",
	     -EINVAL, "not JSON"},
	};
	struct cni_pod out;
	enum cni_op op;
	char err[256];
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		err[0] = '\0';
		rc = cni_request_decode(t[i].json, &out, &op, err, sizeof(err));
		if (rc != t[i].rc || (t[i].err && !strstr(err, t[i].err)))
			fail_msg("case %zu (%s): rc %d err \"%s\", want %d \"%s\"", i, t[i].json,
				 rc, err, t[i].rc, t[i].err ? t[i].err : "");
	}
}

/* Overlong strings in JSON and unterminated buffers in the struct are both refused. */
static void test_cni_request_overlong(void **state)
{
	static const struct {
		const char *key;
		size_t max; /* longest accepted */
	} t[] = {
	    {"containerId", CNI_CONTAINER_ID_LEN - 1},
	    {"netns", CNI_NETNS_LEN - 1},
	    {"namespace", CNI_NS_LEN - 1},
	    {"name", CNI_NAME_LEN - 1},
	    {"uid", CNI_UID_LEN - 1},
	};
	char val[512], json[1024], err[256], buf[CNI_MSG_MAX];
	struct cni_pod pod;
	enum cni_op op;
	size_t i, extra;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		for (extra = 0; extra < 2; extra++) {
			memset(val, 'a', sizeof(val));
			val[0] =
			    '/'; /* netns must be absolute; the rest accept it only for netns */
			if (strcmp(t[i].key, "netns"))
				val[0] = 'a';
			val[t[i].max + extra] = '\0';
			snprintf(json, sizeof(json),
				 "{\"op\":\"del\",%s\"ifname\":\"eth0\",\"%s\":\"%s\"}",
				 strcmp(t[i].key, "containerId") ? "\"containerId\":\"c\"," : "",
				 t[i].key, val);
			err[0] = '\0';
			if (extra) {
				assert_int_equal(
				    cni_request_decode(json, &pod, &op, err, sizeof(err)), -EINVAL);
				assert_non_null(strstr(err, "longer than"));
				assert_non_null(strstr(err, t[i].key));
			} else if (cni_request_decode(json, &pod, &op, err, sizeof(err))) {
				fail_msg("%s of %zu bytes refused: %s", t[i].key, t[i].max, err);
			}
		}
	}
	/* Encode of an unterminated buffer (a caller's bug) is refused, not overread. */
	pod_fill(&pod);
	memset(pod.name, 'a', sizeof(pod.name));
	assert_int_equal(cni_request_encode(CNI_OP_ADD, &pod, buf, sizeof(buf), err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "name: longer than"));
	pod_fill(&pod);
	memset(pod.ifname, 'e', sizeof(pod.ifname));
	assert_int_equal(cni_request_encode(CNI_OP_DEL, &pod, buf, sizeof(buf), err, sizeof(err)),
			 -EINVAL);
	pod_fill(&pod);
	assert_int_equal(cni_request_encode(CNI_OP_ADD, &pod, buf, 40, err, sizeof(err)), -ENOSPC);
	assert_int_equal(
	    cni_request_encode((enum cni_op)9, &pod, buf, sizeof(buf), err, sizeof(err)), -EINVAL);
}

static void test_cni_reply_table(void **state)
{
	static const struct {
		const char *json;
		int rc;
		const char *err;
	} t[] = {
	    {"{\"ok\":true}", 0, NULL},
	    {"{\"ok\":true,\"extra\":1}\n", 0, NULL},
	    {"{\"ok\":false,\"error\":\"pod unknown\"}", -EREMOTEIO, "pod unknown"},
	    {"{\"ok\":false}", -EREMOTEIO, "without a reason"},
	    {"{\"ok\":1}", -EPROTO, NULL},
	    {"{\"ok\":false,\"error\":7}", -EPROTO, NULL},
	    {"{}", -EPROTO, NULL},
	    {"[true]", -EPROTO, NULL},
	    {"ok", -EPROTO, NULL},
	    {"", -EPROTO, NULL},
	};
	char err[256], buf[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		err[0] = '\0';
		if (cni_reply_decode(t[i].json, err, sizeof(err)) != t[i].rc ||
		    (t[i].err && !strstr(err, t[i].err)))
			fail_msg("reply case %zu (%s): err \"%s\"", i, t[i].json, err);
	}
	assert_int_equal(cni_reply_encode(1, NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"ok\":true}\n");
	assert_int_equal(cni_reply_encode(0, "no \"such\" pod", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"ok\":false,\"error\":\"no \\\"such\\\" pod\"}\n");
	assert_int_equal(cni_reply_decode(buf, err, sizeof(err)), -EREMOTEIO);
	assert_string_equal(err, "no \"such\" pod");
	assert_int_equal(cni_reply_encode(0, "x", buf, 8), -ENOSPC);
}

/* --- the server on a loop thread --- */

struct rec {
	pthread_mutex_t mu;
	int calls[4];		/* per enum cni_op */
	struct cni_pod last[4]; /* last pod per op */
	int rc[4];		/* what each op answers */
	char msg[4][128];
};

static int rec_op(void *ctx, enum cni_op op, const struct cni_pod *pod, char *err, size_t len)
{
	struct rec *r = ctx;
	int rc;

	pthread_mutex_lock(&r->mu);
	r->calls[op]++;
	r->last[op] = *pod;
	rc = r->rc[op];
	if (rc && r->msg[op][0])
		snprintf(err, len, "%s", r->msg[op]);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static int rec_add(void *ctx, const struct cni_pod *pod, char *err, size_t len)
{
	return rec_op(ctx, CNI_OP_ADD, pod, err, len);
}

static int rec_del(void *ctx, const struct cni_pod *pod, char *err, size_t len)
{
	return rec_op(ctx, CNI_OP_DEL, pod, err, len);
}

static int rec_check(void *ctx, const struct cni_pod *pod, char *err, size_t len)
{
	return rec_op(ctx, CNI_OP_CHECK, pod, err, len);
}

static const struct cni_server_ops rec_ops = {rec_add, rec_del, rec_check};

struct fix {
	char dir[64];
	char path[108]; /* the server's socket */
	char down[108]; /* a path nothing listens on */
	char plugin[PATH_MAX];
	struct event_base *base;
	struct cni_server *srv;
	pthread_t loop;
	struct rec rec;
};

static struct fix F;

static void rec_reset(void)
{
	pthread_mutex_lock(&F.rec.mu);
	memset(F.rec.calls, 0, sizeof(F.rec.calls));
	memset(F.rec.last, 0, sizeof(F.rec.last));
	memset(F.rec.rc, 0, sizeof(F.rec.rc));
	memset(F.rec.msg, 0, sizeof(F.rec.msg));
	pthread_mutex_unlock(&F.rec.mu);
}

static int rec_calls(enum cni_op op, struct cni_pod *last)
{
	int n;

	pthread_mutex_lock(&F.rec.mu);
	n = F.rec.calls[op];
	if (last)
		*last = F.rec.last[op];
	pthread_mutex_unlock(&F.rec.mu);
	return n;
}

static void rec_answer(enum cni_op op, int rc, const char *msg)
{
	pthread_mutex_lock(&F.rec.mu);
	F.rec.rc[op] = rc;
	snprintf(F.rec.msg[op], sizeof(F.rec.msg[op]), "%s", msg ? msg : "");
	pthread_mutex_unlock(&F.rec.mu);
}

static void *loop_main(void *arg)
{
	event_base_loop(F.base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* The plugin next to this test binary (build/tests/unit/ -> build/), else $BUILD/weir-cni. */
static int plugin_find(char *out, size_t len)
{
	char exe[PATH_MAX];
	const char *b = getenv("BUILD");
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		snprintf(out, len, "%s/../../weir-cni", dirname(exe));
		if (!access(out, X_OK))
			return 0;
	}
	snprintf(out, len, "%s/weir-cni", b ? b : "build");
	return access(out, X_OK) ? -ENOENT : 0;
}

static int group_setup(void **state)
{
	signal(SIGPIPE, SIG_IGN); /* writing to a plugin that exited early must not kill us */
	log_init("cni_test", LOG_ERR);
	if (evthread_use_pthreads())
		return -1;
	pthread_mutex_init(&F.rec.mu, NULL);
	snprintf(F.dir, sizeof(F.dir), "/tmp/weirtest-cni-%d", (int)getpid());
	snprintf(F.path, sizeof(F.path), "%s/run/weir/cni.sock", F.dir);
	snprintf(F.down, sizeof(F.down), "%s/nobody.sock", F.dir);
	F.base = event_base_new();
	if (!F.base)
		return -1;
	/* The server creates the missing parents itself: part of what is tested. */
	F.srv = cni_server_new(F.base, F.path, &rec_ops, &F.rec);
	if (!F.srv) {
		fprintf(stderr, "cni_server_new(%s): %s\n", F.path, strerror(errno));
		return -1;
	}
	cni_server_set_timeout(F.srv, 300);
	if (pthread_create(&F.loop, NULL, loop_main, NULL))
		return -1;
	if (plugin_find(F.plugin, sizeof(F.plugin)))
		fprintf(stderr, "weir-cni not found (build it with make all): %s\n", F.plugin);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	event_base_loopbreak(F.base);
	pthread_join(F.loop, NULL);
	cni_server_free(F.srv);
	event_base_free(F.base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", F.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Connects a raw client to <path>; returns the fd. */
static int raw_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads until EOF or <ms>; returns the bytes read (NUL-terminated), -1 on timeout. */
static int raw_read_all(int fd, char *buf, size_t len, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t off = 0;
	ssize_t n;

	for (;;) {
		if (poll(&p, 1, ms) <= 0)
			return -1;
		n = read(fd, buf + off, len - 1 - off);
		if (n <= 0)
			break;
		off += n;
		if (off == len - 1)
			break;
	}
	buf[off] = '\0';
	return (int)off;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_cni_server_call(void **state)
{
	struct cni_pod pod, got;
	char err[256];

	rec_reset();
	pod_fill(&pod);
	assert_int_equal(cni_call(F.path, CNI_OP_ADD, &pod, 2000, err, sizeof(err)), 0);
	assert_int_equal(rec_calls(CNI_OP_ADD, &got), 1);
	assert_memory_equal(&pod, &got, sizeof(pod));

	assert_int_equal(cni_call(F.path, CNI_OP_CHECK, &pod, 2000, err, sizeof(err)), 0);
	assert_int_equal(rec_calls(CNI_OP_CHECK, NULL), 1);

	/* The agent's refusal travels back with its reason. */
	rec_answer(CNI_OP_DEL, -ENOENT, "no pod with container 4f1c0a9e2b7d");
	assert_int_equal(cni_call(F.path, CNI_OP_DEL, &pod, 2000, err, sizeof(err)), -EREMOTEIO);
	assert_string_equal(err, "no pod with container 4f1c0a9e2b7d");
	/* ...and without one, the errno's text stands in. */
	rec_answer(CNI_OP_DEL, -EBUSY, NULL);
	assert_int_equal(cni_call(F.path, CNI_OP_DEL, &pod, 2000, err, sizeof(err)), -EREMOTEIO);
	assert_string_equal(err, strerror(EBUSY));
	assert_int_equal(rec_calls(CNI_OP_DEL, NULL), 2);

	/* An invalid pod never leaves the client. */
	pod.ip = 0;
	assert_int_equal(cni_call(F.path, CNI_OP_ADD, &pod, 2000, err, sizeof(err)), -EINVAL);
	assert_int_equal(rec_calls(CNI_OP_ADD, NULL), 1);
}

/* Many calls in a row: connections are released (the server caps open ones at 64). */
static void test_cni_server_many(void **state)
{
	struct cni_pod pod;
	char err[256];
	int i;

	rec_reset();
	pod_fill(&pod);
	for (i = 0; i < 200; i++)
		assert_int_equal(cni_call(F.path, CNI_OP_CHECK, &pod, 2000, err, sizeof(err)), 0);
	assert_int_equal(rec_calls(CNI_OP_CHECK, NULL), 200);
}

static void test_cni_server_garbage(void **state)
{
	static const char *const bad[] = {
	    "garbage\n",
	    "{\"op\":\"add\"}\n",
	    "{\"op\":\"add\",\"containerId\":\"c\",\"netns\":\"/"
	    "n\",\"ifname\":\"eth0\",\"ip\":\"1.2.3\"}\n",
	    "\x01\x02\x03\xff\n",
	};
	/* A NUL byte inside the line must not truncate what the decoder sees into a valid
	 * request. */
	static const char nul[] = "{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"e\"\x00}\n";
	char big[3 * CNI_MSG_MAX], buf[1024], err[256];
	struct cni_pod pod;
	struct timespec t0;
	size_t i, len;
	int fd, n;

	rec_reset();
	for (i = 0; i <= ARRAY_SIZE(bad); i++) {
		const char *req = i < ARRAY_SIZE(bad) ? bad[i] : nul;

		fd = raw_connect(F.path);
		len = i < ARRAY_SIZE(bad) ? strlen(req) : sizeof(nul) - 1;
		assert_int_equal(write(fd, req, len), (ssize_t)len);
		n = raw_read_all(fd, buf, sizeof(buf), 2000);
		close(fd);
		assert_true(n > 0);
		assert_int_equal(cni_reply_decode(buf, err, sizeof(err)), -EREMOTEIO);
	}
	/* An oversized request is refused without waiting for its end. */
	memset(big, 'x', sizeof(big));
	fd = raw_connect(F.path);
	assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	n = raw_read_all(fd, buf, sizeof(buf), 2000);
	close(fd);
	assert_true(n > 0);
	assert_int_equal(cni_reply_decode(buf, err, sizeof(err)), -EREMOTEIO);
	assert_non_null(strstr(err, "longer"));

	/* A request without the newline followed by a half-close is still answered. */
	fd = raw_connect(F.path);
	len = strlen("{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"eth0\"}");
	assert_int_equal(
	    write(fd, "{\"op\":\"del\",\"containerId\":\"c\",\"ifname\":\"eth0\"}", len),
	    (ssize_t)len);
	shutdown(fd, SHUT_WR);
	n = raw_read_all(fd, buf, sizeof(buf), 2000);
	close(fd);
	assert_true(n > 0);
	assert_int_equal(cni_reply_decode(buf, err, sizeof(err)), 0);

	/* A silent client is dropped after the read timeout (300 ms here). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = raw_connect(F.path);
	assert_int_equal(write(fd, "{\"op\":", 6), 6);
	n = raw_read_all(fd, buf, sizeof(buf), 3000);
	close(fd);
	assert_int_equal(n, 0); /* EOF, no reply */
	assert_true(ms_since(&t0) >= 250 && ms_since(&t0) < 2500);

	assert_int_equal(rec_calls(CNI_OP_ADD, NULL), 0);
	assert_int_equal(rec_calls(CNI_OP_DEL, NULL), 1);
	/* The server still serves after all that. */
	pod_fill(&pod);
	assert_int_equal(cni_call(F.path, CNI_OP_ADD, &pod, 2000, err, sizeof(err)), 0);
}

static void test_cni_server_socket(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct event_base *base;
	struct cni_server *s;
	char path[108];
	struct stat st;
	int fd;

	assert_int_equal(stat(F.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	base = event_base_new();
	assert_non_null(base);
	/* A live server's socket is not taken over. */
	errno = 0;
	assert_null(cni_server_new(base, F.path, &rec_ops, &F.rec));
	assert_int_equal(errno, EADDRINUSE);

	/* A stale socket (bound, nobody listening) is replaced. */
	snprintf(path, sizeof(path), "%s/stale.sock", F.dir);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	s = cni_server_new(base, path, &rec_ops, &F.rec);
	assert_non_null(s);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	cni_server_free(s);
	assert_int_equal(stat(path, &st), -1); /* removed on free */

	/* Something that is not a socket is left alone. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(cni_server_new(base, path, &rec_ops, &F.rec));
	assert_int_equal(errno, EEXIST);
	unlink(path);

	errno = 0;
	assert_null(cni_server_new(base, "relative.sock", &rec_ops, &F.rec));
	assert_int_equal(errno, EINVAL);
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	errno = 0;
	assert_null(cni_server_new(base, path, &rec_ops, &F.rec));
	assert_int_equal(errno, ENAMETOOLONG);
	cni_server_free(NULL);
	event_base_free(base);
}

/* The client's view of an agent that is down or hung: errors, bounded in time. */
static void test_cni_call_agent_down(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timespec t0;
	struct cni_pod pod;
	char path[108], err[256];
	int fd;

	pod_fill(&pod);
	assert_int_equal(cni_call(F.down, CNI_OP_ADD, &pod, 500, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, F.down));

	snprintf(path, sizeof(path), "%s/hung.sock", F.dir);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* Bound, not listening: a dead agent's socket. */
	assert_int_equal(cni_call(path, CNI_OP_ADD, &pod, 500, err, sizeof(err)), -ECONNREFUSED);
	/* Listening, never answering: a hung agent. */
	assert_int_equal(listen(fd, 4), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(cni_call(path, CNI_OP_ADD, &pod, 300, err, sizeof(err)), -ETIMEDOUT);
	assert_true(ms_since(&t0) >= 250 && ms_since(&t0) < 1500);
	close(fd);
	unlink(path);
}

/* --- the real plugin binary --- */

struct run {
	int status;
	long ms;
	char out[65536];
	char err[65536];
};

/* Runs weir-cni with exactly <env> and <in> on stdin, collecting stdout and stderr. The
 * plugin gets 10 s; past that it is killed and the test fails. */
static void plugin_run(char *const env[], const char *in, size_t inlen, struct run *r)
{
	int pin[2], pout[2], perr[2];
	struct pollfd p[3];
	size_t off = 0, no = 0, ne = 0;
	struct timespec t0;
	char *argv[] = {"weir-cni", NULL};
	pid_t pid;
	ssize_t n;
	int open_fds = 2, i;

	if (access(F.plugin, X_OK))
		fail_msg("weir-cni binary not found at %s", F.plugin);
	memset(r, 0, sizeof(*r));
	assert_int_equal(pipe2(pin, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pout, O_CLOEXEC), 0);
	assert_int_equal(pipe2(perr, O_CLOEXEC), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		execve(F.plugin, argv, env);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	if (!inlen) {
		close(pin[1]);
		pin[1] = -1;
	}
	while (open_fds > 0) {
		p[0] = (struct pollfd){.fd = pout[0], .events = POLLIN};
		p[1] = (struct pollfd){.fd = perr[0], .events = POLLIN};
		p[2] = (struct pollfd){.fd = pin[1], .events = POLLOUT};
		if (ms_since(&t0) > 10000 || poll(p, 3, 200) < 0) {
			if (ms_since(&t0) <= 10000 && errno == EINTR)
				continue;
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fail_msg("weir-cni did not finish within 10 s");
		}
		if (pin[1] >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = write(pin[1], in + off, inlen - off);
			if (n > 0)
				off += n;
			if ((n < 0 && errno != EAGAIN) || off == inlen) {
				close(pin[1]); /* done, or the plugin stopped reading */
				pin[1] = -1;
			}
		}
		for (i = 0; i < 2; i++) {
			int fd = i ? perr[0] : pout[0];
			char *b = i ? r->err : r->out;
			size_t *o = i ? &ne : &no;

			if (fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(fd, b + *o, sizeof(r->out) - 1 - *o);
			if (n > 0) {
				*o += n;
				continue;
			}
			close(fd);
			if (i)
				perr[0] = -1;
			else
				pout[0] = -1;
			open_fds--;
		}
	}
	if (pin[1] >= 0)
		close(pin[1]);
	assert_int_equal(waitpid(pid, &r->status, 0), pid);
	r->ms = ms_since(&t0);
	r->out[no] = '\0';
	r->err[ne] = '\0';
	if (WIFSIGNALED(r->status))
		fail_msg("weir-cni died of signal %d; stderr: %s", WTERMSIG(r->status), r->err);
	/* Under SAN=1 the plugin is instrumented too: a report fails the test whatever the exit. */
	if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:"))
		fail_msg("weir-cni sanitizer report: %s", r->err);
}

static int run_exit(const struct run *r)
{
	return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

/* The CNI error code on <r>'s stdout, after checking it is a well-formed error object. */
static int run_code(const struct run *r)
{
	json_t *o = json_loads(r->out, 0, NULL);
	int code = -1;

	if (json_is_object(o) && json_is_integer(json_object_get(o, "code")) &&
	    json_is_string(json_object_get(o, "msg")) &&
	    json_is_string(json_object_get(o, "cniVersion")))
		code = (int)json_integer_value(json_object_get(o, "code"));
	json_decref(o);
	if (code < 0)
		print_error("not a CNI error object: \"%s\" (stderr: %s)\n", r->out, r->err);
	return code;
}

#define PREV_RESULT                                                                                \
	"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"aa:bb:cc:00:00:"   \
	"01\"},"                                                                                   \
	"{\"name\":\"veth1\",\"mac\":\"aa:bb:cc:00:00:02\"},"                                      \
	"{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:00:00:03\",\"sandbox\":\"/var/run/netns/p1\"}],"    \
	"\"ips\":[{\"address\":\"198.18.77.1/24\",\"interface\":0},"                               \
	"{\"address\":\"fd00::5/64\",\"interface\":2},"                                            \
	"{\"address\":\"198.18.77.5/24\",\"gateway\":\"198.18.77.1\",\"interface\":2}],"           \
	"\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{}}"

/* A network config for weir-cni against <sock> with <policy>; <prev> may be NULL. The
 * result stays valid for the next three calls. */
static char *conf_make(const char *version, const char *sock, const char *policy, const char *prev,
		       const char *extra)
{
	static char bufs[4][8192]; /* a few alive at once: tests hold two or three configs */
	static unsigned int next;
	char *buf = bufs[next++ % 4];

	snprintf(buf, sizeof(bufs[0]),
		 "{\"cniVersion\":\"%s\",\"name\":\"weirnet\",\"type\":\"weir-cni\","
		 "\"agentSocket\":\"%s\",\"failPolicy\":\"%s\",\"timeoutMs\":1000%s%s%s%s}",
		 version, sock, policy, extra ? "," : "", extra ? extra : "",
		 prev ? ",\"prevResult\":" : "", prev ? prev : "");
	return buf;
}

/* The environment of a runtime's call for <cmd>, in static storage. */
static char **env_make(const char *cmd, const char *netns, const char *args)
{
	static char e[6][512];
	static char *envp[7];
	int n = 0;

	snprintf(e[n], sizeof(e[n]), "CNI_COMMAND=%s", cmd);
	envp[n] = e[n];
	n++;
	snprintf(e[n], sizeof(e[n]), "CNI_CONTAINERID=4f1c0a9e2b7d");
	envp[n] = e[n];
	n++;
	if (netns) {
		snprintf(e[n], sizeof(e[n]), "CNI_NETNS=%s", netns);
		envp[n] = e[n];
		n++;
	}
	snprintf(e[n], sizeof(e[n]), "CNI_IFNAME=eth0");
	envp[n] = e[n];
	n++;
	snprintf(e[n], sizeof(e[n]), "CNI_PATH=/usr/lib/cni");
	envp[n] = e[n];
	n++;
	snprintf(e[n], sizeof(e[n]), "CNI_ARGS=%s",
		 args ? args
		      : "IgnoreUnknown=1;K8S_POD_NAMESPACE=bookinfo;K8S_POD_NAME=reviews-v1-abc;"
			"K8S_POD_INFRA_CONTAINER_ID=4f1c0a9e2b7d;K8S_POD_UID=0b6f2f0e-8f4a");
	envp[n] = e[n];
	n++;
	envp[n] = NULL;
	return envp;
}

/* Asserts that stdout is <prev> with cniVersion <version>. */
static void assert_result(const struct run *r, const char *prev, const char *version)
{
	json_t *got = json_loads(r->out, 0, NULL), *want = json_loads(prev, 0, NULL);

	assert_non_null(want);
	json_object_set_new(want, "cniVersion", json_string(version));
	if (!got || !json_equal(got, want))
		fail_msg("result \"%s\" is not prevResult (stderr: %s)", r->out, r->err);
	json_decref(got);
	json_decref(want);
}

static void test_cni_plugin_add(void **state)
{
	const char *conf = conf_make("1.0.0", F.path, "closed", PREV_RESULT, NULL);
	struct cni_pod got;
	struct run r;
	char ip[INET_ADDRSTRLEN];

	rec_reset();
	plugin_run(env_make("ADD", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_exit(&r), 0);
	assert_result(&r, PREV_RESULT, "1.0.0");
	assert_int_equal(rec_calls(CNI_OP_ADD, &got), 1);
	assert_string_equal(got.container_id, "4f1c0a9e2b7d");
	assert_string_equal(got.netns, "/var/run/netns/p1");
	assert_string_equal(got.ifname, "eth0");
	assert_string_equal(got.ns, "bookinfo");
	assert_string_equal(got.name, "reviews-v1-abc");
	assert_string_equal(got.uid, "0b6f2f0e-8f4a");
	/* The sandbox interface's IPv4, not the bridge gateway listed first. */
	inet_ntop(AF_INET, &got.ip, ip, sizeof(ip));
	assert_string_equal(ip, "198.18.77.5");
	assert_string_equal(r.err, "");

	/* An older config version: the result keeps that version. */
	conf = conf_make("0.3.1", F.path, "open",
			 "{\"ips\":[{\"version\":\"4\",\"address\":"
			 "\"198.18.77.9/24\"}]}",
			 NULL);
	plugin_run(env_make("ADD", "/var/run/netns/p1", "K8S_POD_NAME=x"), conf, strlen(conf), &r);
	assert_int_equal(run_exit(&r), 0);
	assert_result(&r, "{\"ips\":[{\"version\":\"4\",\"address\":\"198.18.77.9/24\"}]}",
		      "0.3.1");
	assert_int_equal(rec_calls(CNI_OP_ADD, &got), 2);
	inet_ntop(AF_INET, &got.ip, ip, sizeof(ip));
	assert_string_equal(ip, "198.18.77.9");
	assert_string_equal(got.name, "x");
	assert_string_equal(got.ns, "");
}

static void test_cni_plugin_add_no_prev(void **state)
{
	const char *conf = conf_make("1.0.0", F.path, "open", NULL, NULL);
	struct run r;

	rec_reset();
	plugin_run(env_make("ADD", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_not_equal(run_exit(&r), 0);
	assert_int_equal(run_code(&r), 7);
	assert_non_null(strstr(r.out, "prevResult"));
	assert_int_equal(rec_calls(CNI_OP_ADD, NULL), 0);
}

/* Malformed input of every kind: a CNI error object and a non-zero exit, never a crash. */
static void test_cni_plugin_bad_input(void **state)
{
	static char huge[2 << 20];
	static const struct {
		const char *in;
		int code;
	} t[] = {
	    {"", 6},
	    {"garbage", 6},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":", 6},
	    {"{\"cniVersion\":\"1.0.0\"}{", 6},
	    {"[1,2,3]", 7},
	    {"null", 6},
	    {"{}", 7},
	    {"{\"cniVersion\":1,\"name\":\"n\",\"type\":\"weir-cni\"}", 7},
	    {"{\"cniVersion\":\"9.9.9\",\"name\":\"n\",\"type\":\"weir-cni\"}", 1},
	    {"{\"cniVersion\":\"1.0.0\",\"type\":\"weir-cni\"}", 7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":[],\"type\":\"weir-cni\"}", 7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"failPolicy\":\"maybe\"}", 7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"failPolicy\":true}", 7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"timeoutMs\":\"2000\"}", 7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"timeoutMs\":0}", 7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"timeoutMs\":99999999999}", 7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"agentSocket\":\"rel.sock\"}", 7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"prevResult\":[]}", 7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"prevResult\":{\"ips\":{}}}", 7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"prevResult\":{\"ips\":[5]}}", 7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"prevResult\":{\"ips\":[{\"address\":"
	     "\"198.18.1.300/24\"}]}}",
	     7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"prevResult\":{\"ips\":[{\"address\":"
	     "\"198.18.1.3/33\"}]}}",
	     7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"prevResult\":{\"ips\":[{\"address\":"
	     "\"198.18.1.3/24\",\"interface\":3}]}}",
	     7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"prevResult\":{\"ips\":[{\"address\":"
	     "\"127.0.0.1/8\"}]}}",
	     7},
	    {"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"name\":\"m\"}", 6},
	    {huge, 5},
	};
	struct run r;
	size_t i;

	memset(huge, ' ', sizeof(huge) - 1);
	huge[0] = '{';
	rec_reset();
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		plugin_run(env_make("ADD", "/var/run/netns/p1", NULL), t[i].in, strlen(t[i].in),
			   &r);
		if (run_exit(&r) == 0 || run_code(&r) != t[i].code)
			fail_msg("case %zu (%.60s): exit %d, stdout %s", i, t[i].in, run_exit(&r),
				 r.out);
	}
	assert_int_equal(rec_calls(CNI_OP_ADD, NULL), 0);
}

static void test_cni_plugin_env(void **state)
{
	const char *conf = conf_make("1.0.0", F.path, "open", PREV_RESULT, NULL);
	const char *closed = conf_make("1.0.0", F.path, "closed", PREV_RESULT, NULL);
	char *env_noid[] = {"CNI_COMMAND=ADD", "CNI_NETNS=/run/netns/p", "CNI_IFNAME=eth0", NULL};
	char *env_nocmd[] = {"CNI_CONTAINERID=c", "CNI_NETNS=/run/netns/p", "CNI_IFNAME=eth0",
			     NULL};
	char *env_gc[] = {"CNI_COMMAND=GC", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0", NULL};
	char *env_badif[] = {"CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/run/netns/p",
			     "CNI_IFNAME=eth0/x", NULL};
	struct cni_pod got;
	struct run r;

	rec_reset();
	plugin_run(env_noid, conf, strlen(conf), &r);
	assert_int_equal(run_code(&r), 4);
	assert_non_null(strstr(r.out, "CNI_CONTAINERID"));
	plugin_run(env_nocmd, conf, strlen(conf), &r);
	assert_int_equal(run_code(&r), 4);
	assert_non_null(strstr(r.out, "CNI_COMMAND"));
	plugin_run(env_gc, conf, strlen(conf), &r);
	assert_int_equal(run_code(&r), 4);
	plugin_run(env_badif, conf, strlen(conf), &r);
	assert_int_equal(run_code(&r), 4);
	assert_non_null(strstr(r.out, "CNI_IFNAME"));
	plugin_run(env_make("ADD", NULL, NULL), conf, strlen(conf), &r);
	assert_int_equal(run_code(&r), 4);
	assert_non_null(strstr(r.out, "CNI_NETNS"));
	plugin_run(env_make("ADD", "netns-relative", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_code(&r), 4);
	assert_int_equal(rec_calls(CNI_OP_ADD, NULL), 0);

	/* A bad Kubernetes name (podman passes container names there) is dropped with a
	 * warning when failPolicy is open, refused when it is closed. */
	plugin_run(env_make("ADD", "/run/netns/p", "K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=My_Pod"),
		   conf, strlen(conf), &r);
	assert_int_equal(run_exit(&r), 0);
	assert_non_null(strstr(r.err, "K8S_POD_NAME"));
	assert_int_equal(rec_calls(CNI_OP_ADD, &got), 1);
	assert_string_equal(got.name, "");
	assert_string_equal(got.ns, "ns1");
	plugin_run(env_make("ADD", "/run/netns/p", "K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=My_Pod"),
		   closed, strlen(closed), &r);
	assert_int_equal(run_code(&r), 4);
	assert_non_null(strstr(r.out, "K8S_POD_NAME"));
	assert_int_equal(rec_calls(CNI_OP_ADD, NULL), 1);
}

static void test_cni_plugin_del(void **state)
{
	const char *conf = conf_make("1.0.0", F.path, "closed", PREV_RESULT, NULL);
	const char *down = conf_make("1.0.0", F.down, "closed", NULL, NULL);
	struct cni_pod got;
	struct run r;

	rec_reset();
	/* Unknown Pod: the agent refuses, DEL still succeeds, silently on stdout. */
	rec_answer(CNI_OP_DEL, -ENOENT, "no such pod");
	plugin_run(env_make("DEL", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_exit(&r), 0);
	assert_string_equal(r.out, "");
	assert_int_equal(rec_calls(CNI_OP_DEL, &got), 1);
	assert_string_equal(got.container_id, "4f1c0a9e2b7d");
	assert_int_equal(got.ip, inet_addr("198.18.77.5"));
	/* Twice, and without a netns (the runtime may have removed it already). */
	rec_answer(CNI_OP_DEL, 0, NULL);
	plugin_run(env_make("DEL", NULL, NULL), conf, strlen(conf), &r);
	assert_int_equal(run_exit(&r), 0);
	assert_int_equal(rec_calls(CNI_OP_DEL, &got), 2);
	assert_string_equal(got.netns, "");
	assert_int_equal(got.ip, inet_addr("198.18.77.5"));
	/* Agent down, even with failPolicy closed and no prevResult. */
	plugin_run(env_make("DEL", "/var/run/netns/p1", NULL), down, strlen(down), &r);
	assert_int_equal(run_exit(&r), 0);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "warning"));
}

static void test_cni_plugin_agent_down(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *conf;
	char hung[108];
	struct run r;
	int fd;

	conf = conf_make("1.0.0", F.down, "open", PREV_RESULT, NULL);
	plugin_run(env_make("ADD", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_exit(&r), 0);
	assert_result(&r, PREV_RESULT, "1.0.0");
	assert_non_null(strstr(r.err, "warning"));
	assert_non_null(strstr(r.err, F.down));

	conf = conf_make("1.0.0", F.down, "closed", PREV_RESULT, NULL);
	plugin_run(env_make("ADD", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_not_equal(run_exit(&r), 0);
	assert_int_equal(run_code(&r), 11);

	/* Hung agent (accepts into its backlog, never answers): bounded by timeoutMs. */
	snprintf(hung, sizeof(hung), "%s/hung2.sock", F.dir);
	strcpy(sa.sun_path, hung);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	conf = conf_make("1.0.0", hung, "closed", PREV_RESULT, NULL); /* timeoutMs 1000 */
	plugin_run(env_make("ADD", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	close(fd);
	unlink(hung);
	assert_int_equal(run_code(&r), 11);
	assert_true(r.ms >= 900 && r.ms < 5000);

	/* No IPv4 address at all: nothing to enrol; open passes, closed refuses. */
	conf = conf_make("1.0.0", F.path, "open", "{\"ips\":[{\"address\":\"fd00::5/64\"}]}", NULL);
	plugin_run(env_make("ADD", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_exit(&r), 0);
	assert_non_null(strstr(r.err, "IPv4"));
	conf = conf_make("1.0.0", F.path, "closed", "{\"ips\":[]}", NULL);
	plugin_run(env_make("ADD", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_code(&r), 102);
}

static void test_cni_plugin_agent_refuses(void **state)
{
	const char *conf;
	struct run r;

	rec_reset();
	rec_answer(CNI_OP_ADD, -EPERM, "netns /var/run/netns/p1 does not exist");
	conf = conf_make("1.0.0", F.path, "closed", PREV_RESULT, NULL);
	plugin_run(env_make("ADD", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_code(&r), 100);
	assert_non_null(strstr(r.out, "does not exist"));
	conf = conf_make("1.0.0", F.path, "open", PREV_RESULT, NULL);
	plugin_run(env_make("ADD", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_exit(&r), 0);
	assert_result(&r, PREV_RESULT, "1.0.0");
	assert_non_null(strstr(r.err, "does not exist"));
	assert_int_equal(rec_calls(CNI_OP_ADD, NULL), 2);
}

static void test_cni_plugin_version(void **state)
{
	const char *in = "{\"cniVersion\":\"1.0.0\"}";
	char *env[] = {"CNI_COMMAND=VERSION", NULL};
	json_t *got, *want;
	struct run r;

	plugin_run(env, in, strlen(in), &r);
	assert_int_equal(run_exit(&r), 0);
	got = json_loads(r.out, 0, NULL);
	want = json_loads("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":"
			  "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]}",
			  0, NULL);
	assert_true(got && json_equal(got, want));
	json_decref(got);
	json_decref(want);
	plugin_run(env, "", 0, &r); /* stdin is optional for VERSION */
	assert_int_equal(run_exit(&r), 0);
}

static void test_cni_plugin_check(void **state)
{
	const char *conf;
	struct cni_pod got;
	struct run r;

	rec_reset();
	conf = conf_make("1.0.0", F.path, "closed", PREV_RESULT, NULL);
	plugin_run(env_make("CHECK", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_exit(&r), 0);
	assert_string_equal(r.out, "");
	assert_int_equal(rec_calls(CNI_OP_CHECK, &got), 1);
	assert_int_equal(got.ip, inet_addr("198.18.77.5"));
	assert_string_equal(got.netns, "/var/run/netns/p1");

	/* Agent up but does not know the Pod: an error whatever the policy. */
	rec_answer(CNI_OP_CHECK, -ENOENT, "pod bookinfo/reviews-v1-abc is not enrolled");
	conf = conf_make("1.0.0", F.path, "open", PREV_RESULT, NULL);
	plugin_run(env_make("CHECK", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_code(&r), 100);
	assert_non_null(strstr(r.out, "not enrolled"));

	/* CHECK did not exist before spec 0.4.0. */
	conf = conf_make("0.3.1", F.path, "open", PREV_RESULT, NULL);
	plugin_run(env_make("CHECK", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_code(&r), 1);
	assert_int_equal(rec_calls(CNI_OP_CHECK, NULL), 2);

	/* Agent down: failPolicy decides. */
	conf = conf_make("0.4.0", F.down, "open", PREV_RESULT, NULL);
	plugin_run(env_make("CHECK", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_exit(&r), 0);
	assert_non_null(strstr(r.err, "warning"));
	conf = conf_make("1.0.0", F.down, "closed", PREV_RESULT, NULL);
	plugin_run(env_make("CHECK", "/var/run/netns/p1", NULL), conf, strlen(conf), &r);
	assert_int_equal(run_code(&r), 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cni_request_roundtrip),
	    cmocka_unit_test(test_cni_request_decode_table),
	    cmocka_unit_test(test_cni_request_overlong),
	    cmocka_unit_test(test_cni_reply_table),
	    cmocka_unit_test(test_cni_server_call),
	    cmocka_unit_test(test_cni_server_many),
	    cmocka_unit_test(test_cni_server_garbage),
	    cmocka_unit_test(test_cni_server_socket),
	    cmocka_unit_test(test_cni_call_agent_down),
	    cmocka_unit_test(test_cni_plugin_add),
	    cmocka_unit_test(test_cni_plugin_add_no_prev),
	    cmocka_unit_test(test_cni_plugin_bad_input),
	    cmocka_unit_test(test_cni_plugin_env),
	    cmocka_unit_test(test_cni_plugin_del),
	    cmocka_unit_test(test_cni_plugin_agent_down),
	    cmocka_unit_test(test_cni_plugin_agent_refuses),
	    cmocka_unit_test(test_cni_plugin_version),
	    cmocka_unit_test(test_cni_plugin_check),
	};

	return cmocka_run_group_tests_name("cni", tests, group_setup, group_teardown);
}
