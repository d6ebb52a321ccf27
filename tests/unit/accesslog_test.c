// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for access logs: every field of Istio's text format and its JSON, present
 * and missing; escaping of quotes, control bytes and broken UTF-8 in both; long values
 * cut; the per-request switch; a full ring dropping and counting lines (the writer held
 * by a FIFO nobody reads); several producer threads at once; reopening a rotated file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <jansson.h>

#include "lib/strbuf.h"
#include "telemetry/accesslog.h"
#include "telemetry/reqstats.h"

static char line[ACCESSLOG_LINE_MAX + 1];

static void set_addr(struct sockaddr_in *a, const char *ip, uint16_t port)
{
	a->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
	a->sin_port = htons(port);
}

/* A request with every field set. 1460745420310000 us is 2016-04-15T18:37:00.310Z. */
static void full_entry(struct accesslog_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->start_us = 1460745420310123ull;
	e->duration_us = 226999;
	e->bytes_received = 154;
	e->bytes_sent = 4096;
	e->flags = REQSTATS_F_UF | REQSTATS_F_URX;
	e->response_code = 503;
	e->protocol = "HTTP/1.1";
	e->method = "POST";
	e->path = "/api/v1/locations?x=1";
	e->authority = "reviews:9080";
	e->user_agent = "curl/8.5.0";
	e->request_id = "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2";
	e->forwarded_for = "10.0.35.28";
	e->details = "via_upstream";
	e->cluster = "outbound|9080|v1|reviews.default.svc.cluster.local";
	e->route = "reviews-v1";
	set_addr(&e->upstream_host, "198.18.1.12", 9080);
	set_addr(&e->downstream_local, "198.19.0.7", 9080);
	set_addr(&e->downstream_remote, "198.18.1.10", 41234);
}

static void test_accesslog_text_fields(void **state)
{
	struct accesslog_entry e;
	int n;

	(void)state;
	full_entry(&e);
	n = accesslog_format(ACCESSLOG_TEXT, &e, line, sizeof(line));
	assert_int_equal(n, (int)strlen(line));
	assert_string_equal(
	    line, "[2016-04-15T18:37:00.310Z] \"POST /api/v1/locations?x=1 HTTP/1.1\" 503 UF,URX "
		  "via_upstream - \"-\" 154 4096 226 - \"10.0.35.28\" \"curl/8.5.0\" "
		  "\"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2\" \"reviews:9080\" \"198.18.1.12:9080\" "
		  "outbound|9080|v1|reviews.default.svc.cluster.local - 198.19.0.7:9080 "
		  "198.18.1.10:41234 - reviews-v1\n");
	/* Too small a buffer is refused, not overrun. */
	assert_int_equal(accesslog_format(ACCESSLOG_TEXT, &e, line, 100), -ENOSPC);
}

static void test_accesslog_text_missing(void **state)
{
	struct accesslog_entry e;

	(void)state;
	/* A TCP connection that never reached a backend: everything unknown is "-". */
	memset(&e, 0, sizeof(e));
	e.start_us = 1000;
	e.flags = REQSTATS_F_UH;
	accesslog_format(ACCESSLOG_TEXT, &e, line, sizeof(line));
	assert_string_equal(line, "[1970-01-01T00:00:00.001Z] \"- - -\" 0 UH - - \"-\" 0 0 0 - "
				  "\"-\" \"-\" \"-\" \"-\" \"-\" - - - - - -\n");
	/* Empty strings count as missing too. */
	e.method = "";
	e.flags = 0;
	accesslog_format(ACCESSLOG_TEXT, &e, line, sizeof(line));
	assert_non_null(strstr(line, "\"- - -\" 0 - - "));
}

static json_t *parse_line(const char *s)
{
	json_error_t err;
	json_t *j;

	assert_int_equal(s[strlen(s) - 1], '\n');
	j = json_loads(s, 0, &err);
	if (!j)
		fail_msg("not JSON (%s at %d): %s", err.text, err.position, s);
	assert_true(json_is_object(j));
	return j;
}

static void expect_str(json_t *j, const char *key, const char *want)
{
	json_t *v = json_object_get(j, key);

	if (!v)
		fail_msg("key %s missing", key);
	if (!want) {
		if (!json_is_null(v))
			fail_msg("key %s: want null", key);
		return;
	}
	if (!json_is_string(v) || strcmp(json_string_value(v), want))
		fail_msg("key %s: got %s want %s", key,
			 json_is_string(v) ? json_string_value(v) : "(not a string)", want);
}

static void expect_int(json_t *j, const char *key, json_int_t want)
{
	json_t *v = json_object_get(j, key);

	if (!json_is_integer(v) || json_integer_value(v) != want)
		fail_msg("key %s: want the number %lld", key, (long long)want);
}

static void test_accesslog_json_fields(void **state)
{
	struct accesslog_entry e;
	json_t *j;

	(void)state;
	full_entry(&e);
	accesslog_format(ACCESSLOG_JSON, &e, line, sizeof(line));
	j = parse_line(line);
	assert_int_equal(json_object_size(j), 24); /* Istio's default JSON keys, all */
	expect_str(j, "start_time", "2016-04-15T18:37:00.310Z");
	expect_str(j, "route_name", "reviews-v1");
	expect_str(j, "method", "POST");
	expect_str(j, "path", "/api/v1/locations?x=1");
	expect_str(j, "protocol", "HTTP/1.1");
	expect_int(j, "response_code", 503);
	expect_str(j, "response_flags", "UF,URX");
	expect_str(j, "response_code_details", "via_upstream");
	expect_str(j, "connection_termination_details", NULL);
	expect_str(j, "upstream_transport_failure_reason", NULL);
	expect_int(j, "bytes_received", 154);
	expect_int(j, "bytes_sent", 4096);
	expect_int(j, "duration", 226);
	expect_str(j, "upstream_service_time", NULL);
	expect_str(j, "x_forwarded_for", "10.0.35.28");
	expect_str(j, "user_agent", "curl/8.5.0");
	expect_str(j, "request_id", "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2");
	expect_str(j, "authority", "reviews:9080");
	expect_str(j, "upstream_host", "198.18.1.12:9080");
	expect_str(j, "upstream_cluster", "outbound|9080|v1|reviews.default.svc.cluster.local");
	expect_str(j, "upstream_local_address", NULL);
	expect_str(j, "downstream_local_address", "198.19.0.7:9080");
	expect_str(j, "downstream_remote_address", "198.18.1.10:41234");
	expect_str(j, "requested_server_name", NULL);
	json_decref(j);

	memset(&e, 0, sizeof(e));
	accesslog_format(ACCESSLOG_JSON, &e, line, sizeof(line));
	j = parse_line(line);
	assert_int_equal(json_object_size(j), 24);
	expect_str(j, "method", NULL);
	expect_str(j, "path", NULL);
	expect_str(j, "protocol", NULL);
	expect_int(j, "response_code", 0);
	expect_str(j, "response_flags", "-");
	expect_str(j, "upstream_host", NULL);
	expect_str(j, "downstream_remote_address", NULL);
	expect_str(j, "route_name", NULL);
	json_decref(j);
}

/* Hostile header values: the field stays one field, the line one line. */
static void test_accesslog_escaping(void **state)
{
	static const struct {
		const char *in, *text, *json;
	} cases[] = {
	    {"a\"b", "a\\\"b", "a\"b"},
	    {"back\\slash", "back\\\\slash", "back\\slash"},
	    {"l1\nl2\r\t", "l1\\x0al2\\x0d\\x09", "l1\nl2\r\t"},
	    {"bell\x07 del\x7f", "bell\\x07 del\\x7f", "bell\x07 del\x7f"},
	    {"caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"},
	    {"bad\xff\xc3", "bad\\xff\\xc3", "bad\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xed\xa0\x80surrogate", "\\xed\\xa0\\x80surrogate",
	     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdsurrogate"},
	    {"\xc0\xafoverlong", "\\xc0\\xafoverlong", "\xef\xbf\xbd\xef\xbf\xbdoverlong"},
	};
	struct accesslog_entry e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[256];
		json_t *j;

		memset(&e, 0, sizeof(e));
		e.user_agent = cases[i].in;
		accesslog_format(ACCESSLOG_TEXT, &e, line, sizeof(line));
		snprintf(want, sizeof(want), "\"%s\"", cases[i].text);
		if (!strstr(line, want))
			fail_msg("case %zu: text line lacks %s: %s", i, want, line);
		assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
		accesslog_format(ACCESSLOG_JSON, &e, line, sizeof(line));
		assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
		j = parse_line(line);
		expect_str(j, "user_agent", cases[i].json);
		json_decref(j);
	}
	/* Outside quotes (cluster, route, details) a space would split the field. */
	memset(&e, 0, sizeof(e));
	e.details = "upstream reset";
	accesslog_format(ACCESSLOG_TEXT, &e, line, sizeof(line));
	assert_non_null(strstr(line, " upstream_reset "));
}

static void test_accesslog_long_fields(void **state)
{
	struct accesslog_entry e;
	char *big = malloc(100000), *p;
	json_t *j;
	int n;

	(void)state;
	assert_non_null(big);
	/* Control bytes expand six-fold in JSON: the worst case for the line bound. */
	memset(big, '\x01', 99999);
	big[99999] = '\0';
	full_entry(&e);
	e.path = e.authority = e.user_agent = e.request_id = e.forwarded_for = big;
	e.cluster = e.route = e.details = e.method = big;
	n = accesslog_format(ACCESSLOG_JSON, &e, line, sizeof(line));
	assert_true(n > 0 && n <= ACCESSLOG_LINE_MAX);
	j = parse_line(line);
	p = (char *)json_string_value(json_object_get(j, "path"));
	assert_non_null(p);
	assert_true(strlen(p) <= ACCESSLOG_FIELD_MAX);
	assert_string_equal(p + strlen(p) - 3, "...");
	json_decref(j);
	n = accesslog_format(ACCESSLOG_TEXT, &e, line, sizeof(line));
	assert_true(n > 0 && n <= ACCESSLOG_LINE_MAX);
	assert_ptr_equal(strchr(line, '\n'), line + n - 1);
	assert_non_null(strstr(line, "\\x01...\" "));
	/* Multi-byte characters are cut whole: the JSON stays valid UTF-8. */
	for (int i = 0; i + 2 < 99999; i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3);
	big[99999 - 99999 % 3] = '\0';
	e.path = big;
	accesslog_format(ACCESSLOG_JSON, &e, line, sizeof(line));
	j = parse_line(line);
	json_decref(j);
	free(big);
}

static void test_accesslog_encoding_names(void **state)
{
	enum accesslog_encoding enc = ACCESSLOG_TEXT;

	(void)state;
	assert_int_equal(accesslog_parse_encoding("JSON", &enc), 0);
	assert_int_equal(enc, ACCESSLOG_JSON);
	assert_int_equal(accesslog_parse_encoding("text", &enc), 0);
	assert_int_equal(enc, ACCESSLOG_TEXT);
	assert_int_equal(accesslog_parse_encoding("yaml", &enc), -EINVAL);
	assert_int_equal(accesslog_parse_encoding(NULL, &enc), -EINVAL);
}

static char tmpdir[] = "/tmp/weir-accesslog-test.XXXXXX";

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void test_accesslog_choice(void **state)
{
	struct accesslog_opts o = {.encoding = ACCESSLOG_TEXT, .nrings = 1};
	struct accesslog_entry e;
	struct accesslog_stats st;
	struct accesslog *log;
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/choice.log", tmpdir);
	o.path = path;
	full_entry(&e);
	log = accesslog_new(&o);
	assert_non_null(log);
	assert_null(accesslog_ring(log, 1));
	assert_int_equal(accesslog_write(NULL, &e), 0);
	assert_int_equal(accesslog_write(accesslog_ring(log, 0), &e), 1);
	e.choice = ACCESSLOG_OFF;
	assert_int_equal(accesslog_write(accesslog_ring(log, 0), &e), 0);
	e.choice = ACCESSLOG_ON;
	assert_int_equal(accesslog_write(accesslog_ring(log, 0), &e), 1);
	accesslog_stats(log, &st);
	accesslog_free(log);
	assert_int_equal(count_lines(path), 2);

	/* Off by default: only workloads whose Telemetry turns it on are logged. */
	o.default_off = true;
	log = accesslog_new(&o);
	assert_non_null(log);
	e.choice = ACCESSLOG_DEFAULT;
	assert_int_equal(accesslog_write(accesslog_ring(log, 0), &e), 0);
	e.choice = ACCESSLOG_ON;
	assert_int_equal(accesslog_write(accesslog_ring(log, 0), &e), 1);
	accesslog_free(log);
	assert_int_equal(count_lines(path), 3);

	/* A path that cannot be opened fails at start, with errno. */
	o.path = "/nonexistent-dir/x.log";
	errno = 0;
	assert_null(accesslog_new(&o));
	assert_int_equal(errno, ENOENT);
	o.path = NULL;
	assert_null(accesslog_new(&o));
	assert_int_equal(errno, EINVAL);
}

/*
 * The writer blocks on a FIFO nobody reads, so the ring fills and lines are dropped and
 * counted; then the test reads and every queued line arrives, and nothing else.
 */
static void test_accesslog_ring_full(void **state)
{
	struct accesslog_opts o = {.encoding = ACCESSLOG_TEXT, .nrings = 1, .ring_bytes = 1};
	struct accesslog_entry e;
	struct accesslog_stats st;
	struct accesslog *log;
	char path[256], buf[65536];
	int rfd, queued = 0, dropped = 0, got = 0, i;
	struct strbuf sb;
	ssize_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	rfd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	o.path = path;
	log = accesslog_new(&o);
	assert_non_null(log);
	full_entry(&e);
	for (i = 0; i < 5000; i++) {
		int rc = accesslog_write(accesslog_ring(log, 0), &e);

		if (rc == 1)
			queued++;
		else if (rc == -ENOBUFS)
			dropped++;
		else
			fail_msg("accesslog_write: %d", rc);
	}
	/* 5000 lines of 300 bytes are 1.5 MB: far past the ring (128 KiB) and the pipe. */
	assert_true(dropped > 0);
	assert_true(queued > 0);
	accesslog_stats(log, &st);
	assert_int_equal(st.dropped, dropped);
	strbuf_init(&sb);
	assert_int_equal(accesslog_metrics(log, &sb), 0);
	snprintf(buf, sizeof(buf), "weir_access_log_lines_total{outcome=\"dropped\"} %d\n",
		 dropped);
	assert_non_null(strstr(strbuf_str(&sb), buf));
	assert_non_null(strstr(strbuf_str(&sb), "# TYPE weir_access_log_lines_total counter"));
	strbuf_fini(&sb);
	/* Read until every queued line came out (bounded: 10 s). */
	for (i = 0; i < 10000 && got < queued; i++) {
		n = read(rfd, buf, sizeof(buf));
		if (n > 0) {
			for (ssize_t k = 0; k < n; k++)
				got += buf[k] == '\n';
		} else {
			usleep(1000);
		}
	}
	assert_int_equal(got, queued);
	accesslog_free(log);
	n = read(rfd, buf, sizeof(buf));
	assert_true(n <= 0);
	close(rfd);
	unlink(path);
}

struct producer {
	struct accesslog_ring *ring;
	int id, queued, dropped;
};

#define PRODUCER_LINES 3000

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	struct accesslog_entry e;
	char rid[32];

	full_entry(&e);
	e.request_id = rid;
	for (int i = 0; i < PRODUCER_LINES; i++) {
		snprintf(rid, sizeof(rid), "%d-%d", p->id, i);
		if (accesslog_write(p->ring, &e) == 1)
			p->queued++;
		else
			p->dropped++;
		if (i % 500 == 0)
			usleep(1000);
	}
	return NULL;
}

/* Four workers at once: every line intact, each worker's lines in order, all counted. */
static void test_accesslog_threads(void **state)
{
	struct accesslog_opts o = {.encoding = ACCESSLOG_JSON, .nrings = 4, .ring_bytes = 1 << 20};
	struct producer p[4];
	pthread_t th[4];
	struct accesslog_stats st;
	struct accesslog *log;
	char path[256], *l = NULL;
	int next[4] = {0}, total = 0, queued = 0, dropped = 0;
	size_t cap = 0;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/threads.log", tmpdir);
	o.path = path;
	log = accesslog_new(&o);
	assert_non_null(log);
	for (int i = 0; i < 4; i++) {
		p[i] = (struct producer){.ring = accesslog_ring(log, (unsigned)i), .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, producer_main, &p[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		queued += p[i].queued;
		dropped += p[i].dropped;
	}
	accesslog_stats(log, &st);
	assert_int_equal(st.dropped, dropped);
	accesslog_free(log);
	f = fopen(path, "r");
	assert_non_null(f);
	while (getline(&l, &cap, f) > 0) {
		json_t *j = parse_line(l);
		const char *rid = json_string_value(json_object_get(j, "request_id"));
		int id, seq;

		assert_non_null(rid);
		assert_int_equal(sscanf(rid, "%d-%d", &id, &seq), 2);
		assert_true(id >= 0 && id < 4);
		/* Order within a worker holds; a gap is allowed only for a dropped line. */
		assert_true(seq >= next[id]);
		next[id] = seq + 1;
		total++;
		json_decref(j);
	}
	free(l);
	fclose(f);
	assert_int_equal(total, queued);
	assert_int_equal(queued + dropped, 4 * PRODUCER_LINES);
}

/* logrotate's two ways: SIGHUP (accesslog_reopen) and a rename noticed by the writer. */
static void test_accesslog_reopen(void **state)
{
	struct accesslog_opts o = {.encoding = ACCESSLOG_TEXT, .nrings = 1, .flush_ms = 20};
	struct accesslog_entry e;
	struct accesslog_stats st;
	struct accesslog *log;
	char path[256], old[256];
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/rotate.log", tmpdir);
	snprintf(old, sizeof(old), "%s/rotate.log.1", tmpdir);
	o.path = path;
	full_entry(&e);
	log = accesslog_new(&o);
	assert_non_null(log);
	assert_int_equal(accesslog_write(accesslog_ring(log, 0), &e), 1);
	for (i = 0; i < 200 && count_lines(path) < 1; i++)
		usleep(10000);
	assert_int_equal(count_lines(path), 1);
	assert_int_equal(rename(path, old), 0);
	accesslog_reopen(log);
	for (i = 0; i < 200 && access(path, F_OK) != 0; i++)
		usleep(10000);
	assert_int_equal(accesslog_write(accesslog_ring(log, 0), &e), 1);
	for (i = 0; i < 200 && count_lines(path) < 1; i++)
		usleep(10000);
	assert_int_equal(count_lines(path), 1);
	assert_int_equal(count_lines(old), 1);

	/* Renamed without a signal: the writer notices within about a second. */
	assert_int_equal(rename(path, old), 0);
	for (i = 0; i < 300 && access(path, F_OK) != 0; i++)
		usleep(10000);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(accesslog_write(accesslog_ring(log, 0), &e), 1);
	accesslog_free(log);
	assert_int_equal(count_lines(path), 1);
	accesslog_stats(NULL, &st); /* no log: all zero */
	assert_int_equal(st.written, 0);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accesslog_text_fields),
	    cmocka_unit_test(test_accesslog_text_missing),
	    cmocka_unit_test(test_accesslog_json_fields),
	    cmocka_unit_test(test_accesslog_escaping),
	    cmocka_unit_test(test_accesslog_long_fields),
	    cmocka_unit_test(test_accesslog_encoding_names),
	    cmocka_unit_test(test_accesslog_choice),
	    cmocka_unit_test(test_accesslog_ring_full),
	    cmocka_unit_test(test_accesslog_threads),
	    cmocka_unit_test(test_accesslog_reopen),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
