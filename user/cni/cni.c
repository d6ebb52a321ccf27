// SPDX-License-Identifier: Apache-2.0
/*
 * The plugin <-> agent protocol declared in cni.h: request and reply codecs with strict field
 * validation, the blocking, deadline-bounded client the plugin runs, and the agent's server on
 * its libevent loop. Everything arriving on the socket is untrusted: bounded, validated, and
 * answered with a reason rather than acted on when it does not check out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "cni/cni.h"
#include "lib/path.h"
#include "lib/log.h"

/* Open connections beyond this are closed at once: a runtime runs a handful of plugins at a
 * time, so more than this means something is flooding the socket. */
#define CNI_SERVER_MAX_CONNS  64
#define CNI_SERVER_TIMEOUT_MS 2000

struct cni_conn {
	struct cni_server *srv;
	struct bufferevent *bev;
	struct cni_conn *prev, *next;
	bool closing; /* the reply is queued: read nothing more, free once it is written */
};

struct cni_server {
	struct event_base *base;
	struct evconnlistener *lst;
	const struct cni_server_ops *ops;
	void *ctx;
	int timeout_ms;
	unsigned int nconns;
	struct cni_conn *conns;
	dev_t dev; /* identity of the socket file we published, so that free removes only ours */
	ino_t ino;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *cni_op_name(enum cni_op op)
{
	switch (op) {
	case CNI_OP_ADD:
		return "add";
	case CNI_OP_DEL:
		return "del";
	case CNI_OP_CHECK:
		return "check";
	}
	return NULL;
}

static int op_parse(const char *s, enum cni_op *op)
{
	if (!strcmp(s, "add"))
		*op = CNI_OP_ADD;
	else if (!strcmp(s, "del"))
		*op = CNI_OP_DEL;
	else if (!strcmp(s, "check"))
		*op = CNI_OP_CHECK;
	else
		return -EINVAL;
	return 0;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * Field checkers: each returns NULL when <s> is acceptable, else what is wrong with it. The
 * rules are the ones the producers follow (CNI spec for container IDs and interface names,
 * Kubernetes for object names), so a value that breaks them is corrupt or hostile.
 */
static const char *check_container_id(const char *s)
{
	if (!s[0])
		return "missing";
	if (!is_alnum(s[0]))
		return "must start with a letter or digit";
	for (; *s; s++)
		if (!is_alnum(*s) && *s != '_' && *s != '.' && *s != '-')
			return "may hold only letters, digits, '_', '.' and '-'";
	return NULL;
}

static const char *check_ifname(const char *s)
{
	if (!s[0])
		return "missing";
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "must not be '.' or '..'";
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '/' || *s == ':')
			return "must not hold '/', ':', spaces or control characters";
	return NULL;
}

static const char *check_netns(const char *s)
{
	const char *p;

	if (s[0] != '/')
		return "must be an absolute path";
	for (p = s; *p; p++)
		if (*p <= ' ' || *p > '~')
			return "must not hold spaces or control characters";
	/* A ".." component could walk the agent out of the runtime's netns directory. */
	for (p = s; (p = strstr(p, "/..")) != NULL; p += 3)
		if (p[3] == '/' || p[3] == '\0')
			return "must not hold '..' components";
	return NULL;
}

/* A DNS label (namespace) when <dots> is false, a DNS subdomain (Pod name) when true. */
static const char *check_dns(const char *s, bool dots)
{
	size_t n = strlen(s);
	size_t i;

	if (!n)
		return NULL; /* optional: runtimes outside Kubernetes do not send it */
	if (!is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return "must start and end with a lower-case letter or digit";
	for (i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-' && !(dots && s[i] == '.'))
			return dots ? "may hold only lower-case letters, digits, '-' and '.'"
				    : "may hold only lower-case letters, digits and '-'";
	return NULL;
}

static const char *check_uid(const char *s)
{
	for (; *s; s++)
		if (!is_alnum(*s) && *s != '-')
			return "may hold only letters, digits and '-'";
	return NULL;
}

/* A Pod address is unicast: not 0/8, loopback, multicast, reserved or broadcast. */
static bool ip_is_pod_unicast(uint32_t ip_be)
{
	uint32_t ip = ntohl(ip_be);

	return (ip >> 24) != 0 && (ip >> 24) != 127 && ip < 0xe0000000u;
}

int cni_pod_validate(enum cni_op op, const struct cni_pod *pod, char *err, size_t errlen)
{
	static const struct {
		const char *key;
		size_t off, len;
	} fields[] = {
	    {"containerId", offsetof(struct cni_pod, container_id), CNI_CONTAINER_ID_LEN},
	    {"netns", offsetof(struct cni_pod, netns), CNI_NETNS_LEN},
	    {"ifname", offsetof(struct cni_pod, ifname), CNI_IFNAME_LEN},
	    {"namespace", offsetof(struct cni_pod, ns), CNI_NS_LEN},
	    {"name", offsetof(struct cni_pod, name), CNI_NAME_LEN},
	    {"uid", offsetof(struct cni_pod, uid), CNI_UID_LEN},
	};
	const char *why = NULL, *key = NULL;
	size_t i;

	if (!cni_op_name(op)) {
		seterr(err, errlen, "op: unknown operation %d", (int)op);
		return -EINVAL;
	}
	/* Unterminated buffers first, so that the checks below can use string functions. */
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!memchr((const char *)pod + fields[i].off, '\0', fields[i].len)) {
			seterr(err, errlen, "%s: longer than %zu bytes", fields[i].key,
			       fields[i].len - 1);
			return -EINVAL;
		}
	}
	if ((why = check_container_id(pod->container_id)))
		key = "containerId";
	else if ((why = check_ifname(pod->ifname)))
		key = "ifname";
	else if (pod->netns[0] && (why = check_netns(pod->netns)))
		key = "netns";
	else if (!pod->netns[0] && op != CNI_OP_DEL && (why = "missing"))
		key = "netns"; /* DEL may come after the netns is gone (CNI spec) */
	else if ((why = check_dns(pod->ns, false)))
		key = "namespace";
	else if ((why = check_dns(pod->name, true)))
		key = "name";
	else if ((why = check_uid(pod->uid)))
		key = "uid";
	else if (pod->ip && !ip_is_pod_unicast(pod->ip) && (why = "not a unicast Pod address"))
		key = "ip";
	else if (!pod->ip && op == CNI_OP_ADD && (why = "missing"))
		key = "ip"; /* enrolment is keyed by the Pod's address */
	if (why) {
		seterr(err, errlen, "%s: %s", key, why);
		return -EINVAL;
	}
	return 0;
}

int cni_request_encode(enum cni_op op, const struct cni_pod *pod, char *buf, size_t len, char *err,
		       size_t errlen)
{
	char ip[INET_ADDRSTRLEN];
	json_t *o;
	char *s;
	size_t n;
	int rc;

	rc = cni_pod_validate(op, pod, err, errlen);
	if (rc)
		return rc;
	o = json_pack("{s:s, s:s, s:s}", "op", cni_op_name(op), "containerId", pod->container_id,
		      "ifname", pod->ifname);
	if (!o)
		return -ENOMEM;
	/* Absent optional fields are left out rather than sent empty. */
	rc = 0;
	if (pod->netns[0])
		rc |= json_object_set_new(o, "netns", json_string(pod->netns));
	if (pod->ns[0])
		rc |= json_object_set_new(o, "namespace", json_string(pod->ns));
	if (pod->name[0])
		rc |= json_object_set_new(o, "name", json_string(pod->name));
	if (pod->uid[0])
		rc |= json_object_set_new(o, "uid", json_string(pod->uid));
	if (pod->ip) {
		inet_ntop(AF_INET, &pod->ip, ip, sizeof(ip));
		rc |= json_object_set_new(o, "ip", json_string(ip));
	}
	s = rc ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	n = strlen(s);
	if (n + 2 > len) {
		free(s);
		seterr(err, errlen, "request longer than %zu bytes", len);
		return -ENOSPC;
	}
	memcpy(buf, s, n);
	buf[n] = '\n';
	buf[n + 1] = '\0';
	free(s);
	return 0;
}

/* Copies the string member <key> of <o> into <dst> (<len> bytes); absent leaves "". */
static int get_str(json_t *o, const char *key, char *dst, size_t len, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	dst[0] = '\0';
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		seterr(err, errlen, "%s: must be a string", key);
		return -EINVAL;
	}
	if (json_string_length(v) >= len) {
		seterr(err, errlen, "%s: longer than %zu bytes", key, len - 1);
		return -EINVAL;
	}
	/* jansson refuses \u0000 unless asked, so the length is the C string's length. */
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int request_decode(const char *json, size_t n, struct cni_pod *out, enum cni_op *op,
			  char *err, size_t errlen)
{
	char ip[INET_ADDRSTRLEN + 1];
	json_error_t jerr;
	json_t *o, *v;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	o = json_loadb(json, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		seterr(err, errlen, "not JSON: %s at byte %d", jerr.text, jerr.position);
		return -EINVAL;
	}
	if (!json_is_object(o)) {
		seterr(err, errlen, "request must be a JSON object");
		goto out;
	}
	v = json_object_get(o, "op");
	if (!json_is_string(v)) {
		seterr(err, errlen, "op: %s", v ? "must be a string" : "missing");
		goto out;
	}
	if (op_parse(json_string_value(v), op)) {
		seterr(err, errlen, "op: must be \"add\", \"del\" or \"check\"");
		goto out;
	}
	if (get_str(o, "containerId", out->container_id, sizeof(out->container_id), err, errlen) ||
	    get_str(o, "netns", out->netns, sizeof(out->netns), err, errlen) ||
	    get_str(o, "ifname", out->ifname, sizeof(out->ifname), err, errlen) ||
	    get_str(o, "namespace", out->ns, sizeof(out->ns), err, errlen) ||
	    get_str(o, "name", out->name, sizeof(out->name), err, errlen) ||
	    get_str(o, "uid", out->uid, sizeof(out->uid), err, errlen) ||
	    get_str(o, "ip", ip, sizeof(ip), err, errlen))
		goto out;
	if (ip[0] && inet_pton(AF_INET, ip, &out->ip) != 1) {
		seterr(err, errlen, "ip: \"%s\" is not a dotted-quad IPv4 address", ip);
		goto out;
	}
	rc = cni_pod_validate(*op, out, err, errlen);
out:
	json_decref(o);
	return rc;
}

int cni_request_decode(const char *json, struct cni_pod *out, enum cni_op *op, char *err,
		       size_t errlen)
{
	return request_decode(json, strlen(json), out, op, err, errlen);
}

int cni_reply_encode(int ok, const char *error, char *buf, size_t len)
{
	json_t *o;
	char *s;
	size_t n;

	if (ok)
		o = json_pack("{s:b}", "ok", 1);
	else
		o = json_pack("{s:b, s:s}", "ok", 0, "error", error && error[0] ? error : "error");
	if (!o)
		return -ENOMEM;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	n = strlen(s);
	if (n + 2 > len) {
		free(s);
		return -ENOSPC;
	}
	memcpy(buf, s, n);
	buf[n] = '\n';
	buf[n + 1] = '\0';
	free(s);
	return 0;
}

int cni_reply_decode(const char *json, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o, *ok, *e;
	int rc = -EPROTO;

	o = json_loads(json, 0, &jerr);
	if (!o) {
		seterr(err, errlen, "agent reply is not JSON: %s", jerr.text);
		return -EPROTO;
	}
	ok = json_object_get(o, "ok");
	e = json_object_get(o, "error");
	if (!json_is_object(o) || !json_is_boolean(ok) || (e && !json_is_string(e))) {
		seterr(err, errlen, "agent reply is not {\"ok\":bool[,\"error\":string]}");
	} else if (json_is_true(ok)) {
		rc = 0;
	} else {
		seterr(err, errlen, "%s", e ? json_string_value(e) : "refused without a reason");
		rc = -EREMOTEIO;
	}
	json_decref(o);
	return rc;
}

static void deadline_set(struct timespec *d, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (d->tv_nsec >= 1000000000L) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000L;
	}
}

/* Milliseconds until <d>, rounded up, 0 once it has passed. */
static int deadline_left(const struct timespec *d)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(d->tv_sec - now.tv_sec) * 1000 +
	     (d->tv_nsec - now.tv_nsec + 999999) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

/* Waits for <events> on <fd> until <d>. Returns 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, const struct timespec *d)
{
	struct pollfd p = {.fd = fd, .events = events};
	int left, n;

	for (;;) {
		left = deadline_left(d);
		if (!left)
			return -ETIMEDOUT;
		n = poll(&p, 1, left);
		if (n > 0)
			return 0; /* POLLERR/POLLHUP: the next syscall reports the error */
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int call_connect(int fd, const struct sockaddr_un *sa, const struct timespec *d)
{
	socklen_t sl;
	int soerr;
	int rc;

	for (;;) {
		if (!connect(fd, (const struct sockaddr *)sa, sizeof(*sa)))
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* Unix sockets say EAGAIN when the listen backlog is full: the agent
			 * is alive but busy, so retry until the deadline. */
			if (!deadline_left(d))
				return -ETIMEDOUT;
			poll(NULL, 0, 10);
			continue;
		}
		if (errno != EINPROGRESS)
			return -errno;
		rc = wait_fd(fd, POLLOUT, d);
		if (rc)
			return rc;
		sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl))
			return -errno;
		return -soerr;
	}
}

int cni_call(const char *socket_path, enum cni_op op, const struct cni_pod *pod, int timeout_ms,
	     char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char req[CNI_MSG_MAX], rep[CNI_MSG_MAX];
	size_t len, off = 0;
	struct timespec d;
	char *nl = NULL;
	ssize_t n;
	int fd, rc;

	rc = cni_request_encode(op, pod, req, sizeof(req), err, errlen);
	if (rc)
		return rc;
	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		seterr(err, errlen, "socket path %s is too long", socket_path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, socket_path);
	deadline_set(&d, timeout_ms > 0 ? timeout_ms : 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		seterr(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	rc = call_connect(fd, &sa, &d);
	if (rc) {
		seterr(err, errlen, "cannot connect to the agent at %s: %s", socket_path,
		       strerror(-rc));
		goto out_close;
	}

	len = strlen(req);
	while (off < len) {
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		rc = (n < 0 && errno == EAGAIN) ? wait_fd(fd, POLLOUT, &d) : -errno;
		if (rc) {
			seterr(err, errlen, "sending to the agent at %s: %s", socket_path,
			       strerror(-rc));
			goto out_close;
		}
	}

	off = 0;
	while (!nl) {
		if (off >= sizeof(rep) - 1) {
			rc = -EPROTO;
			seterr(err, errlen, "agent reply longer than %zu bytes", sizeof(rep) - 1);
			goto out_close;
		}
		n = recv(fd, rep + off, sizeof(rep) - 1 - off, 0);
		if (n > 0) {
			rep[off + n] = '\0';
			nl = memchr(rep + off, '\n', n);
			off += n;
			continue;
		}
		if (n == 0) {
			/* Closed without a reply: the agent died or shed load; worth a retry. */
			rc = off ? -EPROTO : -ECONNRESET;
			seterr(err, errlen, "agent at %s closed the connection %s", socket_path,
			       off ? "mid-reply" : "without replying");
			goto out_close;
		}
		if (errno == EINTR)
			continue;
		rc = errno == EAGAIN ? wait_fd(fd, POLLIN, &d) : -errno;
		if (rc) {
			seterr(err, errlen, "waiting for the agent at %s: %s", socket_path,
			       rc == -ETIMEDOUT ? "no reply in time" : strerror(-rc));
			goto out_close;
		}
	}
	*nl = '\0';
	rc = cni_reply_decode(rep, err, errlen);
out_close:
	close(fd);
	return rc;
}

/* --- server --- */

static void conn_free(struct cni_conn *c)
{
	struct cni_server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	bufferevent_free(c->bev);
	free(c);
}

static void conn_written(struct bufferevent *bev, void *arg)
{
	struct cni_conn *c = arg;

	if (c->closing && !evbuffer_get_length(bufferevent_get_output(bev)))
		conn_free(c);
}

/* Queues the reply and marks the connection for closing once it is written. */
static void conn_reply(struct cni_conn *c, int rc, const char *why)
{
	char buf[CNI_MSG_MAX];

	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	if (cni_reply_encode(rc == 0, why, buf, sizeof(buf)) &&
	    cni_reply_encode(0, "reply too long", buf, sizeof(buf))) {
		conn_free(c);
		return;
	}
	if (bufferevent_write(c->bev, buf, strlen(buf)))
		conn_free(c);
}

static void conn_handle(struct cni_conn *c, const char *line, size_t n)
{
	int (*fn)(void *, const struct cni_pod *, char *, size_t) = NULL;
	const struct cni_server_ops *ops = c->srv->ops;
	char err[512] = "";
	char ip[INET_ADDRSTRLEN] = "-";
	struct cni_pod pod;
	enum cni_op op;
	int rc;

	rc = request_decode(line, n, &pod, &op, err, sizeof(err));
	if (rc) {
		log_warn("cni", "refused a malformed request from the plugin: %s", err);
		conn_reply(c, rc, err);
		return;
	}
	fn = op == CNI_OP_ADD ? ops->add : op == CNI_OP_DEL ? ops->del : ops->check;
	if (!fn) {
		rc = -EOPNOTSUPP;
		seterr(err, sizeof(err), "%s is not supported by this agent", cni_op_name(op));
	} else {
		rc = fn(c->srv->ctx, &pod, err, sizeof(err));
		if (rc > 0)
			rc = -rc; /* tolerate a positive errno from a careless callback */
		if (rc && !err[0])
			seterr(err, sizeof(err), "%s", strerror(-rc));
	}
	if (pod.ip)
		inet_ntop(AF_INET, &pod.ip, ip, sizeof(ip));
	if (rc)
		log_warn("cni", "%s %s/%s (container %.12s, ip %s) failed: %s", cni_op_name(op),
			 pod.ns[0] ? pod.ns : "-", pod.name[0] ? pod.name : "-", pod.container_id,
			 ip, err);
	else
		log_debug("cni", "%s %s/%s (container %.12s, ip %s)", cni_op_name(op),
			  pod.ns[0] ? pod.ns : "-", pod.name[0] ? pod.name : "-", pod.container_id,
			  ip);
	conn_reply(c, rc, err);
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct cni_conn *c = arg;
	size_t n;
	char *line;

	if (c->closing)
		return;
	line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
	if (!line) {
		/* The read high-water mark stops libevent at CNI_MSG_MAX: no newline by then
		 * means an oversized request, refused without reading the rest. */
		if (evbuffer_get_length(in) >= CNI_MSG_MAX)
			conn_reply(c, -E2BIG, "request longer than 4096 bytes");
		return;
	}
	conn_handle(c, line, n);
	free(line);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct cni_conn *c = arg;
	size_t n = evbuffer_get_length(in);
	char *line;

	/* A client that half-closes after a request without the newline still gets an answer. */
	if ((what & BEV_EVENT_EOF) && !c->closing && n) {
		line = malloc(n + 1);
		if (line) {
			evbuffer_remove(in, line, n);
			line[n] = '\0';
			conn_handle(c, line, n);
			free(line);
			return;
		}
	}
	if ((what & BEV_EVENT_TIMEOUT) && !c->closing)
		log_warn("cni", "closed a plugin connection that sent no request within %d ms",
			 c->srv->timeout_ms);
	conn_free(c);
}

static void server_accept(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa,
			  int salen, void *arg)
{
	struct cni_server *s = arg;
	struct timeval tv = {s->timeout_ms / 1000, (s->timeout_ms % 1000) * 1000};
	struct cni_conn *c;

	if (s->nconns >= CNI_SERVER_MAX_CONNS) {
		log_warn("cni", "%u plugin connections open, refusing another", s->nconns);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->srv = s;
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(fd);
		free(c);
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	bufferevent_setcb(c->bev, conn_read, conn_written, conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CNI_MSG_MAX);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE))
		conn_free(c);
}

static void server_accept_error(struct evconnlistener *lst, void *arg)
{
	/* EMFILE and friends: libevent keeps the listener armed and retries on the next event. */
	log_warn("cni", "accept on %s: %s", ((struct cni_server *)arg)->path,
		 strerror(EVUTIL_SOCKET_ERROR()));
}

/* mkdir -p of the directory part of <path>. */
static int mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	return path_mkdirs(dir, 0755);
}

/* Removes a socket left by a dead agent. Returns 0 (nothing there or removed), -EADDRINUSE
 * when something still accepts on it, -EEXIST when <path> is not a socket. */
static int remove_stale(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	close(fd);
	if (rc == 0 || rc == -EAGAIN)
		return -EADDRINUSE; /* a live agent (EAGAIN: its backlog is full) */
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

struct cni_server *cni_server_new(struct event_base *base, const char *socket_path,
				  const struct cni_server_ops *ops, void *ctx)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct cni_server *s;
	struct stat st;
	int fd, rc;

	if (!base || !socket_path || !ops || socket_path[0] != '/') {
		errno = EINVAL;
		return NULL;
	}
	/* Room for the temporary name the socket is bound under before it is renamed. */
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%d.tmp", socket_path, (int)getpid()) >=
	    (int)sizeof(sa.sun_path)) {
		log_err("cni", "socket path %s is too long", socket_path);
		errno = ENAMETOOLONG;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->base = base;
	s->ops = ops;
	s->ctx = ctx;
	s->timeout_ms = CNI_SERVER_TIMEOUT_MS;
	strcpy(s->path, socket_path);

	rc = mkdir_parent(socket_path);
	if (rc) {
		log_err("cni", "creating the directory of %s: %s", socket_path, strerror(-rc));
		goto out_free;
	}
	rc = remove_stale(socket_path);
	if (rc) {
		log_err("cni", "%s: %s", socket_path,
			rc == -EADDRINUSE ? "another agent is serving it"
			: rc == -EEXIST	  ? "exists and is not a socket"
					  : strerror(-rc));
		goto out_free;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out_free;
	}
	/* Bind under a temporary name, tighten the mode, then rename into place: the socket is
	 * never reachable at its public path with the umask's wider mode. */
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(sa.sun_path, 0600) ||
	    listen(fd, 64) || rename(sa.sun_path, socket_path) || stat(socket_path, &st)) {
		rc = -errno;
		log_err("cni", "listening on %s: %s", socket_path, strerror(errno));
		unlink(sa.sun_path);
		goto out_close;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->lst = evconnlistener_new(base, server_accept, s,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (!s->lst) {
		rc = -ENOMEM;
		unlink(socket_path);
		goto out_close;
	}
	evconnlistener_set_error_cb(s->lst, server_accept_error);
	log_info("cni", "serving the CNI plugin on %s", socket_path);
	return s;

out_close:
	close(fd);
out_free:
	free(s);
	errno = -rc;
	return NULL;
}

void cni_server_set_timeout(struct cni_server *s, int ms)
{
	s->timeout_ms = ms > 0 ? ms : CNI_SERVER_TIMEOUT_MS;
}

void cni_server_free(struct cni_server *s)
{
	struct stat st;

	if (!s)
		return;
	evconnlistener_free(s->lst);
	while (s->conns)
		conn_free(s->conns);
	/* A newer agent may have replaced the socket already; leave its socket alone. */
	if (!stat(s->path, &st) && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	free(s);
}
