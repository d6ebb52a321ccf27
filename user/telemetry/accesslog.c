// SPDX-License-Identifier: Apache-2.0
/*
 * Access logs (accesslog.h): the line formatter (Istio's default text format and its
 * default JSON), the per-worker rings and the writer thread that owns the file.
 *
 * A ring is a single-producer, single-consumer byte ring: the worker formats the line
 * into its own scratch buffer, then copies a 4-byte length and the bytes in and publishes
 * them with one release store of <head>; the writer reads up to <head>, copies out and
 * releases the space with a store of <tail>. Neither side takes a lock. The worker wakes
 * the writer (an eventfd write, the only system call on its side) only when its ring
 * passes half full; otherwise the writer comes round every flush_ms on its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "telemetry/accesslog.h"
#include "telemetry/metrics.h"
#include "telemetry/reqstats.h"

#define AL_RING_DEFAULT	 (256 * 1024)
#define AL_RING_MIN	 (2 * (ACCESSLOG_LINE_MAX + 4)) /* the longest line always fits */
#define AL_FLUSH_DEFAULT 200
#define AL_WBUF		 (64 * 1024) /* the writer's batch: one write(2) per batch */
#define AL_STAT_EVERY_MS 1000	     /* how often the writer checks for a renamed file */

struct accesslog_ring {
	/* Producer side: its own cache line, so the consumer's stores do not bounce it. */
	alignas(64) _Atomic uint64_t head; /* bytes ever published */
	_Atomic uint64_t queued;	   /* lines published */
	_Atomic uint64_t dropped;	   /* lines lost to a full ring */
	/* Consumer side. */
	alignas(64) _Atomic uint64_t tail; /* bytes ever consumed */
	struct accesslog *log;
	char *data;
	uint64_t size;			   /* a power of two */
	char line[ACCESSLOG_LINE_MAX + 1]; /* the producer's scratch line */
};

struct accesslog {
	struct accesslog_opts opts;
	char *path;
	int fd;
	int efd; /* eventfd: producers and accesslog_free() wake the writer */
	pthread_t thread;
	bool started;
	_Atomic bool stop;
	_Atomic bool reopen;
	_Atomic uint64_t written, failed, reopens;
	bool failing; /* writer only: the last write failed (log once per episode) */
	struct accesslog_ring **rings;
	unsigned nrings;
	char wbuf[AL_WBUF];
};

int accesslog_parse_encoding(const char *s, enum accesslog_encoding *out)
{
	if (!s)
		return -EINVAL;
	if (!strcasecmp(s, "text"))
		*out = ACCESSLOG_TEXT;
	else if (!strcasecmp(s, "json"))
		*out = ACCESSLOG_JSON;
	else
		return -EINVAL;
	return 0;
}

/* ---- formatting ---- */

/* A bounded output cursor; appends past <cap> are cut (callers keep well inside). */
struct al_out {
	char *p;
	size_t len, cap;
};

static void out_mem(struct al_out *o, const void *s, size_t n)
{
	if (n > o->cap - o->len)
		n = o->cap - o->len;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void out_str(struct al_out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

static void out_u64(struct al_out *o, uint64_t v)
{
	char num[24];

	out_mem(o, num, (size_t)snprintf(num, sizeof(num), "%" PRIu64, v));
}

/*
 * The length of the valid UTF-8 sequence at <s> (<n> bytes left), or 0 when the bytes
 * there are not one (overlong forms, surrogates and code points past U+10FFFF included).
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned cp, len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/*
 * Appends <s> escaped for <enc>, at most ACCESSLOG_FIELD_MAX output bytes (then "...").
 * Text: quotes and backslashes get a backslash, control bytes and bytes that are not
 * UTF-8 become \xHH, so a header value can neither end a quoted field nor start a new
 * line; <bare> (a field outside quotes) also turns spaces into '_' as Envoy does for
 * response code details. JSON: RFC 8259 escapes, invalid UTF-8 as \ufffd.
 */
static void out_esc(struct al_out *o, const char *s, enum accesslog_encoding enc, bool bare)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, start = o->len;
	char tmp[8];

	while (i < n) {
		size_t k = utf8_seq(u + i, n - i), tl;
		unsigned char c = u[i];

		if (k > 1) {
			tl = k;
			memcpy(tmp, u + i, k);
		} else if (k == 0) {
			tl = enc == ACCESSLOG_JSON
				 ? (size_t)snprintf(tmp, sizeof(tmp), "\\ufffd")
				 : (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			k = 1;
		} else if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			tl = 2;
		} else if (c < 0x20 || c == 0x7f) {
			if (enc == ACCESSLOG_JSON && c == '\n')
				tl = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
			else if (enc == ACCESSLOG_JSON && c == '\t')
				tl = (size_t)snprintf(tmp, sizeof(tmp), "\\t");
			else if (enc == ACCESSLOG_JSON)
				tl = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			else
				tl = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		} else {
			tmp[0] = bare && c == ' ' ? '_' : (char)c;
			tl = 1;
		}
		/* Cut whole characters only, leaving room for the "..." mark. */
		if (o->len - start + tl > ACCESSLOG_FIELD_MAX - 3) {
			out_str(o, "...");
			return;
		}
		out_mem(o, tmp, tl);
		i += k;
	}
}

/* A text field: "-" when absent. */
static void text_field(struct al_out *o, const char *s, bool bare)
{
	if (!s || !*s)
		out_str(o, "-");
	else
		out_esc(o, s, ACCESSLOG_TEXT, bare);
}

/* `"key":` then the string (or null when absent), with a leading comma unless first. */
static void json_key(struct al_out *o, const char *key)
{
	if (o->len > 1)
		out_str(o, ",");
	out_str(o, "\"");
	out_str(o, key);
	out_str(o, "\":");
}

static void json_str(struct al_out *o, const char *key, const char *s)
{
	json_key(o, key);
	if (!s || !*s) {
		out_str(o, "null");
		return;
	}
	out_str(o, "\"");
	out_esc(o, s, ACCESSLOG_JSON, false);
	out_str(o, "\"");
}

static void json_u64(struct al_out *o, const char *key, uint64_t v)
{
	json_key(o, key);
	out_u64(o, v);
}

/* "ip:port" of <a> into <buf> (at least 32 bytes), or NULL when <a> is all zero. */
static const char *addr_str(const struct sockaddr_in *a, char *buf, size_t size)
{
	char ip[INET_ADDRSTRLEN];

	if (!a->sin_addr.s_addr && !a->sin_port)
		return NULL;
	if (!inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)))
		return NULL;
	snprintf(buf, size, "%s:%u", ip, ntohs(a->sin_port));
	return buf;
}

/* Envoy's %START_TIME%: UTC, milliseconds, "2016-04-15T20:17:00.310Z". */
static void start_time(uint64_t us, char *buf, size_t size)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(us % 1000000 / 1000));
}

/*
 * Istio's default text format (pilot's EnvoyTextLogFormat), field for field:
 *   [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
 *   %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
 *   "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
 *   %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
 *   "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
 *   %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
 *   %REQUESTED_SERVER_NAME% %ROUTE_NAME%
 * The agent has no upstream service time header, no TLS (no SNI, no transport failure
 * reason) and does not report the upstream socket's local address: those print "-".
 */
static void format_text(struct al_out *o, const struct accesslog_entry *e, const char *ts,
			const char *flags, const char *up, const char *dl, const char *dr)
{
	out_str(o, "[");
	out_str(o, ts);
	out_str(o, "] \"");
	text_field(o, e->method, false);
	out_str(o, " ");
	text_field(o, e->path, false);
	out_str(o, " ");
	text_field(o, e->protocol, false);
	out_str(o, "\" ");
	out_u64(o, e->response_code);
	out_str(o, " ");
	out_str(o, flags);
	out_str(o, " ");
	text_field(o, e->details, true);
	out_str(o, " - \"-\" "); /* connection termination details, transport failure */
	out_u64(o, e->bytes_received);
	out_str(o, " ");
	out_u64(o, e->bytes_sent);
	out_str(o, " ");
	out_u64(o, e->duration_us / 1000);
	out_str(o, " - \""); /* upstream service time */
	text_field(o, e->forwarded_for, false);
	out_str(o, "\" \"");
	text_field(o, e->user_agent, false);
	out_str(o, "\" \"");
	text_field(o, e->request_id, false);
	out_str(o, "\" \"");
	text_field(o, e->authority, false);
	out_str(o, "\" \"");
	text_field(o, up, false);
	out_str(o, "\" ");
	text_field(o, e->cluster, true);
	out_str(o, " - "); /* upstream local address */
	text_field(o, dl, true);
	out_str(o, " ");
	text_field(o, dr, true);
	out_str(o, " - "); /* requested server name */
	text_field(o, e->route, true);
}

/* Istio's default JSON (accessLogEncoding JSON): its keys; numbers as Envoy types them. */
static void format_json(struct al_out *o, const struct accesslog_entry *e, const char *ts,
			const char *flags, const char *up, const char *dl, const char *dr)
{
	out_str(o, "{");
	json_str(o, "start_time", ts);
	json_str(o, "route_name", e->route);
	json_str(o, "method", e->method);
	json_str(o, "path", e->path);
	json_str(o, "protocol", e->protocol);
	json_u64(o, "response_code", e->response_code);
	json_str(o, "response_flags", flags);
	json_str(o, "response_code_details", e->details);
	json_str(o, "connection_termination_details", NULL);
	json_str(o, "upstream_transport_failure_reason", NULL);
	json_u64(o, "bytes_received", e->bytes_received);
	json_u64(o, "bytes_sent", e->bytes_sent);
	json_u64(o, "duration", e->duration_us / 1000);
	json_str(o, "upstream_service_time", NULL);
	json_str(o, "x_forwarded_for", e->forwarded_for);
	json_str(o, "user_agent", e->user_agent);
	json_str(o, "request_id", e->request_id);
	json_str(o, "authority", e->authority);
	json_str(o, "upstream_host", up);
	json_str(o, "upstream_cluster", e->cluster);
	json_str(o, "upstream_local_address", NULL);
	json_str(o, "downstream_local_address", dl);
	json_str(o, "downstream_remote_address", dr);
	json_str(o, "requested_server_name", NULL);
	out_str(o, "}");
}

int accesslog_format(enum accesslog_encoding enc, const struct accesslog_entry *e, char *buf,
		     size_t size)
{
	struct al_out o = {.p = buf, .len = 0, .cap = ACCESSLOG_LINE_MAX - 1};
	char ts[80], flags[64], up[32], dl[32], dr[32];
	const char *ups, *dls, *drs;

	if (size < ACCESSLOG_LINE_MAX + 1)
		return -ENOSPC;
	start_time(e->start_us, ts, sizeof(ts));
	/* 17 flags of at most 3 letters and their commas fit in 64 bytes. */
	if (reqstats_flags_str(e->flags, flags, sizeof(flags)) < 0)
		snprintf(flags, sizeof(flags), "-");
	ups = addr_str(&e->upstream_host, up, sizeof(up));
	dls = addr_str(&e->downstream_local, dl, sizeof(dl));
	drs = addr_str(&e->downstream_remote, dr, sizeof(dr));
	if (enc == ACCESSLOG_JSON)
		format_json(&o, e, ts, flags, ups, dls, drs);
	else
		format_text(&o, e, ts, flags, ups, dls, drs);
	buf[o.len++] = '\n';
	buf[o.len] = '\0';
	return (int)o.len;
}

/* ---- rings (producer side) ---- */

struct accesslog_ring *accesslog_ring(struct accesslog *log, unsigned idx)
{
	return log && idx < log->nrings ? log->rings[idx] : NULL;
}

/* Copies <n> bytes at <src> into <r> at absolute position <pos>, wrapping. */
static void ring_put(struct accesslog_ring *r, uint64_t pos, const void *src, size_t n)
{
	size_t off = pos & (r->size - 1), first = r->size - off < n ? r->size - off : n;

	memcpy(r->data + off, src, first);
	memcpy(r->data, (const char *)src + first, n - first);
}

static void ring_get(struct accesslog_ring *r, uint64_t pos, void *dst, size_t n)
{
	size_t off = pos & (r->size - 1), first = r->size - off < n ? r->size - off : n;

	memcpy(dst, r->data + off, first);
	memcpy((char *)dst + first, r->data, n - first);
}

static void counter_inc(_Atomic uint64_t *c, uint64_t n)
{
	/* Single writer per counter: a relaxed load and store, no locked instruction. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

bool accesslog_wants(const struct accesslog_ring *r, enum accesslog_choice choice)
{
	if (!r || choice == ACCESSLOG_OFF)
		return false;
	return choice == ACCESSLOG_ON || !r->log->opts.default_off;
}

int accesslog_write(struct accesslog_ring *r, const struct accesslog_entry *e)
{
	uint64_t head, tail, used;
	uint32_t len;
	int n;

	if (!accesslog_wants(r, e->choice))
		return 0;
	n = accesslog_format(r->log->opts.encoding, e, r->line, sizeof(r->line));
	if (n <= 0)
		return 0;
	len = (uint32_t)n;
	head = atomic_load_explicit(&r->head, memory_order_relaxed);
	tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	used = head - tail;
	if (used + sizeof(len) + len > r->size) {
		counter_inc(&r->dropped, 1);
		return -ENOBUFS;
	}
	ring_put(r, head, &len, sizeof(len));
	ring_put(r, head + sizeof(len), r->line, len);
	atomic_store_explicit(&r->head, head + sizeof(len) + len, memory_order_release);
	counter_inc(&r->queued, 1);
	/* Past half full: wake the writer now instead of at its next round. Once per
	 * crossing, so a busy worker does not make a system call per line. */
	if (used < r->size / 2 && used + sizeof(len) + len >= r->size / 2) {
		uint64_t one = 1;

		if (write(r->log->efd, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is saturated, the writer is awake anyway. */
		}
	}
	return 1;
}

/* ---- the writer thread ---- */

/* Writes the batch of <lines> lines in wbuf[0, <len>) to the file; counts the outcome. */
static void writer_flush(struct accesslog *log, size_t len, uint64_t lines)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(log->fd, log->wbuf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!log->failing)
				log_err("accesslog",
					"%s: write: %s (lines are dropped until it "
					"works again)",
					log->path, n < 0 ? strerror(errno) : "wrote nothing");
			log->failing = true;
			/* The batch is counted failed as a whole: a line may be cut in the file. */
			counter_inc(&log->failed, lines);
			return;
		}
		off += (size_t)n;
	}
	if (log->failing)
		log_info("accesslog", "%s: writing again", log->path);
	log->failing = false;
	counter_inc(&log->written, lines);
}

/* Moves every complete line of every ring into batches and writes them. */
static void writer_drain(struct accesslog *log)
{
	size_t len = 0;
	uint64_t lines = 0;

	for (unsigned i = 0; i < log->nrings; i++) {
		struct accesslog_ring *r = log->rings[i];
		uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);

		while (tail < head) {
			uint32_t n;

			ring_get(r, tail, &n, sizeof(n));
			if (len + n > sizeof(log->wbuf)) {
				writer_flush(log, len, lines);
				len = 0;
				lines = 0;
			}
			ring_get(r, tail + sizeof(n), log->wbuf + len, n);
			len += n;
			lines++;
			tail += sizeof(n) + n;
			/* Free the space as soon as the bytes are out, not after the write. */
			atomic_store_explicit(&r->tail, tail, memory_order_release);
		}
	}
	if (len)
		writer_flush(log, len, lines);
}

static int open_log(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

/* Opens the path again when asked to, or when the file there is no longer ours. */
static void writer_check_reopen(struct accesslog *log, bool check_rename)
{
	bool want = atomic_exchange(&log->reopen, false);
	struct stat a, b;
	int fd;

	/* /dev/stdout and friends are not rotated; stat would compare a tty with itself. */
	if (!want && check_rename && strncmp(log->path, "/dev/", 5) != 0)
		want = stat(log->path, &a) < 0 || fstat(log->fd, &b) < 0 || a.st_ino != b.st_ino ||
		       a.st_dev != b.st_dev;
	if (!want)
		return;
	fd = open_log(log->path);
	if (fd < 0) {
		log_err("accesslog", "%s: reopen: %s (writing on to the old file)", log->path,
			strerror(errno));
		return;
	}
	close(log->fd);
	log->fd = fd;
	counter_inc(&log->reopens, 1);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *writer_main(void *arg)
{
	struct accesslog *log = arg;
	struct pollfd pfd = {.fd = log->efd, .events = POLLIN};
	uint64_t last_stat = mono_ms();

	while (!atomic_load(&log->stop)) {
		uint64_t v, now;

		if (poll(&pfd, 1, (int)log->opts.flush_ms) > 0 &&
		    read(log->efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: another wake-up took it; nothing is lost. */
		}
		now = mono_ms();
		writer_check_reopen(log, now - last_stat >= AL_STAT_EVERY_MS);
		if (now - last_stat >= AL_STAT_EVERY_MS)
			last_stat = now;
		writer_drain(log);
	}
	/* The producers stopped before accesslog_free(): this drain is the last word. */
	writer_drain(log);
	return NULL;
}

/* ---- life cycle ---- */

static unsigned pow2_at_least(unsigned v)
{
	unsigned p = 1;

	while (p < v && p < (1U << 30))
		p <<= 1;
	return p;
}

struct accesslog *accesslog_new(const struct accesslog_opts *opts)
{
	struct accesslog *log;
	unsigned size, i;
	int err;

	if (!opts || !opts->path || !*opts->path || !opts->nrings || opts->nrings > 1024 ||
	    (opts->encoding != ACCESSLOG_TEXT && opts->encoding != ACCESSLOG_JSON)) {
		log_err("accesslog", "bad options: path %s, %u rings",
			opts && opts->path ? opts->path : "(none)", opts ? opts->nrings : 0);
		errno = EINVAL;
		return NULL;
	}
	log = calloc(1, sizeof(*log));
	if (!log)
		return NULL;
	log->fd = -1;
	log->efd = -1;
	log->opts = *opts;
	if (!log->opts.flush_ms)
		log->opts.flush_ms = AL_FLUSH_DEFAULT;
	size = pow2_at_least(opts->ring_bytes ? opts->ring_bytes : AL_RING_DEFAULT);
	if (size < AL_RING_MIN)
		size = pow2_at_least(AL_RING_MIN);
	log->path = strdup(opts->path);
	log->rings = calloc(opts->nrings, sizeof(*log->rings));
	if (!log->path || !log->rings)
		goto out_free;
	log->opts.path = log->path;
	for (i = 0; i < opts->nrings; i++) {
		struct accesslog_ring *r = aligned_alloc(64, (sizeof(*r) + 63) & ~(size_t)63);

		if (!r)
			goto out_free;
		memset(r, 0, sizeof(*r));
		log->rings[log->nrings++] = r;
		r->log = log;
		r->size = size;
		r->data = malloc(size);
		if (!r->data)
			goto out_free;
	}
	log->fd = open_log(opts->path);
	if (log->fd < 0) {
		err = errno;
		log_err("accesslog", "--access-log %s: %s", opts->path, strerror(err));
		errno = err;
		goto out_free;
	}
	log->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (log->efd < 0)
		goto out_free;
	err = pthread_create(&log->thread, NULL, writer_main, log);
	if (err) {
		errno = err;
		goto out_free;
	}
	log->started = true;
	return log;

out_free:
	err = errno;
	accesslog_free(log);
	errno = err ? err : ENOMEM;
	return NULL;
}

void accesslog_free(struct accesslog *log)
{
	uint64_t one = 1;

	if (!log)
		return;
	if (log->started) {
		atomic_store(&log->stop, true);
		if (write(log->efd, &one, sizeof(one)) < 0) {
			/* Saturated: the writer wakes anyway. */
		}
		pthread_join(log->thread, NULL);
	}
	for (unsigned i = 0; i < log->nrings; i++) {
		free(log->rings[i]->data);
		free(log->rings[i]);
	}
	free(log->rings);
	if (log->fd >= 0)
		close(log->fd);
	if (log->efd >= 0)
		close(log->efd);
	free(log->path);
	free(log);
}

void accesslog_reopen(struct accesslog *log)
{
	uint64_t one = 1;

	if (!log)
		return;
	atomic_store(&log->reopen, true);
	if (write(log->efd, &one, sizeof(one)) < 0) {
		/* Saturated: the writer wakes anyway. */
	}
}

void accesslog_stats(struct accesslog *log, struct accesslog_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!log)
		return;
	out->written = atomic_load_explicit(&log->written, memory_order_relaxed);
	out->failed = atomic_load_explicit(&log->failed, memory_order_relaxed);
	out->reopens = atomic_load_explicit(&log->reopens, memory_order_relaxed);
	for (unsigned i = 0; i < log->nrings; i++)
		out->dropped += atomic_load_explicit(&log->rings[i]->dropped, memory_order_relaxed);
}

int accesslog_metrics(struct accesslog *log, struct strbuf *out)
{
	static const char name[] = "weir_access_log_lines_total";
	struct accesslog_stats st;
	struct metrics_label l = {"outcome", NULL};
	int err;

	accesslog_stats(log, &st);
	err = metrics_family(out, name, METRICS_COUNTER,
			     "Access log lines: written to the file, dropped (a worker's ring was "
			     "full) or failed (the write failed).");
	l.value = "written";
	err = err ?: metrics_sample_u64(out, name, &l, 1, st.written);
	l.value = "dropped";
	err = err ?: metrics_sample_u64(out, name, &l, 1, st.dropped);
	l.value = "failed";
	err = err ?: metrics_sample_u64(out, name, &l, 1, st.failed);
	return err;
}
