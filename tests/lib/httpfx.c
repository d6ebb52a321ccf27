// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP test fixtures declared in httpfx.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "httpfx.h"

#define HDR_MAX (64 * 1024)

struct hconn {
	struct hbe *b;
	int fd;
};

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);

		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int reply(int fd, int status, const char *body, size_t len)
{
	char h[256];
	int n = snprintf(h, sizeof(h), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n\r\n", status, len);

	return send_all(fd, h, (size_t)n) || send_all(fd, body, len) ? -1 : 0;
}

/* The value of header <name> in the head <h> (NUL-terminated), copied to <out>. */
static bool head_value(const char *h, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);

	for (const char *l = strstr(h, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
		if (!strncasecmp(l + 2, name, nl) && l[2 + nl] == ':') {
			const char *v = l + 3 + nl, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(out, outlen, "%.*s", (int)(e - v), v);
			return true;
		}
	}
	return false;
}

/*
 * The half-close tunnels after their 2xx/101 (<have> bytes at <buf> came with the head):
 * "count" reads until the client's FIN, then answers "got N\n" and 256 KiB and closes;
 * "first" sends "hello\n" and its own FIN first, then reads until the client's FIN and
 * records the count in b->tunnel_rx.
 */
static void tunnel_half(struct hconn *hc, bool count, size_t have)
{
	size_t got = have, big = 256 * 1024;
	char e[4096], *out;
	ssize_t n;

	if (!count) {
		if (send_all(hc->fd, "hello\n", 6) || shutdown(hc->fd, SHUT_WR))
			return;
	}
	while ((n = recv(hc->fd, e, sizeof(e), 0)) > 0)
		got += (size_t)n;
	if (!count) {
		atomic_store(&hc->b->tunnel_rx, got);
		return;
	}
	out = malloc(big);
	if (!out)
		return;
	n = snprintf(out, big, "got %zu\n", got);
	for (size_t i = (size_t)n; i < big; i++)
		out[i] = (char)('a' + i % 26);
	send_all(hc->fd, out, big);
	free(out);
}

static void *hconn_main(void *arg)
{
	struct hconn *hc = arg;
	char *buf = malloc(HDR_MAX + 1);
	size_t have = 0;

	for (;;) {
		char *end, path[256] = "", val[256];
		size_t hlen, clen = 0;
		char *body;
		ssize_t n;

		while (!(end = have ? memmem(buf, have, "\r\n\r\n", 4) : NULL)) {
			if (have == HDR_MAX)
				goto out;
			n = recv(hc->fd, buf + have, HDR_MAX - have, 0);
			if (n <= 0)
				goto out;
			have += (size_t)n;
		}
		hlen = (size_t)(end - buf) + 4;
		buf[hlen - 2] = '\0';
		sscanf(buf, "%*s %255s", path);
		if (head_value(buf, "content-length", val, sizeof(val)))
			clen = strtoul(val, NULL, 10);
		body = malloc(clen + 1);
		memcpy(body, buf + hlen, have - hlen < clen ? have - hlen : clen);
		for (size_t got = have - hlen < clen ? have - hlen : clen; got < clen;) {
			n = recv(hc->fd, body + got, clen - got, 0);
			if (n <= 0) {
				free(body);
				goto out;
			}
			got += (size_t)n;
		}
		{
			size_t used = hlen + (have - hlen < clen ? have - hlen : clen);

			memmove(buf, buf + used, have - used);
			have -= used;
		}
		atomic_fetch_add(&hc->b->requests, 1);
		int rc;

		if (atomic_load(&hc->b->fail_next) > 0) {
			atomic_fetch_sub(&hc->b->fail_next, 1);
			rc = reply(hc->fd, 503, "busy\n", 5);
		} else if (!strcmp(path, "/echo")) {
			rc = reply(hc->fd, 200, body, clen);
		} else if (!strncmp(path, "/hdr/", 5)) {
			char v[256] = "";

			head_value(buf, path + 5, v, sizeof(v));
			rc = reply(hc->fd, 200, v, strlen(v));
		} else if (!strcmp(path, "/ws")) {
			/* An accepted Upgrade: then an echo of raw bytes until the client ends. */
			static const char ok[] =
			    "HTTP/1.1 101 Switching Protocols\r\n"
			    "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
			char e[4096];

			free(body);
			if (send_all(hc->fd, ok, sizeof(ok) - 1))
				break;
			if (have && send_all(hc->fd, buf, have))
				break;
			while ((n = recv(hc->fd, e, sizeof(e), 0)) > 0)
				if (send_all(hc->fd, e, (size_t)n))
					break;
			break;
		} else if (!strcmp(path, "/ws-count") || !strcmp(path, "/ws-first") ||
			   !strcmp(path, "count.test:1") || !strcmp(path, "first.test:1")) {
			/* A WebSocket or CONNECT tunnel that half-closes one way (tunnel_half). */
			static const char up[] =
			    "HTTP/1.1 101 Switching Protocols\r\n"
			    "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
			static const char ok[] = "HTTP/1.1 200 OK\r\n\r\n";
			bool ws = path[0] == '/';

			free(body);
			if (ws ? send_all(hc->fd, up, sizeof(up) - 1)
			       : send_all(hc->fd, ok, sizeof(ok) - 1))
				break;
			tunnel_half(hc, strstr(path, "count") != NULL, have);
			break;
		} else if (!strcmp(path, "/slow")) {
			usleep(1500 * 1000);
			rc = reply(hc->fd, 200, "slow\n", 5);
		} else if (!strcmp(path, "/big")) {
			size_t len = 4 << 20;
			char *big = malloc(len);

			for (size_t i = 0; i < len; i++)
				big[i] = (char)('a' + i % 26);
			rc = reply(hc->fd, 200, big, len);
			free(big);
		} else {
			char id[32];

			snprintf(id, sizeof(id), "backend %d\n", hc->b->id);
			rc = reply(hc->fd, 200, id, strlen(id));
		}
		free(body);
		if (rc)
			break;
	}
out:
	free(buf);
	close(hc->fd);
	free(hc);
	return NULL;
}

static void *hbe_main(void *arg)
{
	struct hbe *b = arg;

	while (!atomic_load(&b->stop)) {
		struct timeval tv = {0, 50000};
		fd_set rf;
		pthread_t th;
		int fd;

		FD_ZERO(&rf);
		FD_SET(b->lfd, &rf);
		if (select(b->lfd + 1, &rf, NULL, NULL, &tv) <= 0)
			continue;
		fd = accept(b->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		struct hconn *hc = malloc(sizeof(*hc));

		hc->b = b;
		hc->fd = fd;
		/* Head and body go in two writes: without this, Nagle holds the body back for a
		 * delayed ACK and every request takes 40 ms. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		atomic_fetch_add(&b->conns, 1);
		pthread_create(&th, NULL, hconn_main, hc);
		pthread_detach(th);
	}
	return NULL;
}

int httpfx_listen_lo(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 128), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

void hbe_start(struct hbe *b, int id, const char *ip, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t len = sizeof(a);
	int one = 1;

	memset(b, 0, sizeof(*b));
	b->id = id;
	b->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(b->lfd >= 0);
	setsockopt(b->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = inet_addr(ip);
	assert_int_equal(bind(b->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(b->lfd, 128), 0);
	assert_int_equal(getsockname(b->lfd, (struct sockaddr *)&a, &len), 0);
	b->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&b->th, NULL, hbe_main, b), 0);
}

void hbe_stop(struct hbe *b)
{
	atomic_store(&b->stop, 1);
	pthread_join(b->th, NULL);
	close(b->lfd);
}

char *httpfx_curl(const char *fmt, ...)
{
	char args[16384], cmd[16500], *out = calloc(1, 1 << 20);
	size_t n = 0;
	va_list ap;
	FILE *p;

	assert_non_null(out);
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "curl -sS --max-time 20 --noproxy '*' %s", args);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (n < (1 << 20) - 1) {
		size_t k = fread(out + n, 1, (1 << 20) - 1 - n, p);

		if (!k)
			break;
		n += k;
	}
	pclose(p);
	return out;
}

unsigned httpfx_count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}
