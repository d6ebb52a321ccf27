// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the ClientHello reader (proxy/sni.c) and of tls[] route matching
 * (router_l4_route() in proxy/router.c). The ClientHellos are OpenSSL's own, captured at
 * test time from SSL_connect() over memory BIOs, then fed whole, a byte at a time,
 * re-framed into many records, truncated and corrupted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "proxy/router.h"
#include "proxy/sni.h"

/* What a TLS client with <name> (NULL: none) and at most <maxver> sends first. */
static size_t hello(const char *name, int maxver, uint8_t *out, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	char *data;
	long n;
	SSL *ssl;

	assert_non_null(ctx);
	assert_non_null(rb);
	assert_non_null(wb);
	if (maxver)
		SSL_CTX_set_max_proto_version(ctx, maxver);
	ssl = SSL_new(ctx);
	assert_non_null(ssl);
	SSL_set_bio(ssl, rb, wb); /* ssl owns both now */
	if (name)
		assert_int_equal(SSL_set_tlsext_host_name(ssl, name), 1);
	/* No peer: the handshake stops wanting to read, with the hello written. */
	assert_int_equal(SSL_connect(ssl), -1);
	assert_int_equal(SSL_get_error(ssl, -1), SSL_ERROR_WANT_READ);
	n = BIO_get_mem_data(wb, &data);
	assert_true(n > 5 && (size_t)n <= cap);
	memcpy(out, data, (size_t)n);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return (size_t)n;
}

static enum sni_result feed_all(struct sni_parser *p, const uint8_t *b, size_t n)
{
	sni_init(p);
	return sni_feed(p, b, n);
}

static void test_sni_found_whole(void **state)
{
	struct sni_parser *p = *state;
	static const int vers[] = {0, TLS1_2_VERSION, TLS1_VERSION};
	uint8_t b[4096];
	size_t n;

	for (size_t i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
		n = hello("API.Example.com", vers[i], b, sizeof(b));
		assert_int_equal(feed_all(p, b, n), SNI_FOUND);
		assert_string_equal(p->host, "api.example.com"); /* lower case */
		assert_int_equal(p->host_len, 15);
		/* Sticky: further bytes change nothing. */
		assert_int_equal(sni_feed(p, (const uint8_t *)"x", 1), SNI_FOUND);
	}
}

static void test_sni_no_name(void **state)
{
	struct sni_parser *p = *state;
	uint8_t b[4096];
	size_t n = hello(NULL, 0, b, sizeof(b));

	assert_int_equal(feed_all(p, b, n), SNI_NONE);
	assert_int_equal(p->host_len, 0);
}

/* Every split into reads, down to one byte each: the verdict comes with the last byte. */
static void test_sni_split_reads(void **state)
{
	struct sni_parser *p = *state;
	uint8_t b[4096];
	size_t n = hello("db.example", 0, b, sizeof(b)), i;

	sni_init(p);
	for (i = 0; i + 1 < n; i++)
		assert_int_equal(sni_feed(p, b + i, 1), SNI_NEED_MORE);
	assert_int_equal(sni_feed(p, b + i, 1), SNI_FOUND);
	assert_string_equal(p->host, "db.example");
	for (size_t cut = 1; cut < n; cut += 7) {
		sni_init(p);
		assert_int_equal(sni_feed(p, b, cut), SNI_NEED_MORE);
		assert_int_equal(sni_feed(p, b + cut, n - cut), SNI_FOUND);
	}
}

/* The same handshake re-framed into records of <chunk> bytes: a hello over many records. */
static size_t reframe(const uint8_t *in, size_t n, size_t chunk, uint8_t *out)
{
	size_t hs = (size_t)in[3] << 8 | in[4], o = 0;

	assert_int_equal(hs + 5, n); /* OpenSSL wrote one record */
	for (size_t i = 0; i < hs; i += chunk) {
		size_t k = hs - i < chunk ? hs - i : chunk;

		out[o++] = 22;
		out[o++] = 3;
		out[o++] = 1;
		out[o++] = (uint8_t)(k >> 8);
		out[o++] = (uint8_t)k;
		memcpy(out + o, in + 5 + i, k);
		o += k;
	}
	return o;
}

static void test_sni_many_records(void **state)
{
	struct sni_parser *p = *state;
	uint8_t b[4096], r[16384];
	size_t n = hello("shop.example.org", 0, b, sizeof(b)), m;
	static const size_t chunks[] = {1, 3, 64, 100};

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		m = reframe(b, n, chunks[i], r);
		assert_true(m > n);
		assert_int_equal(feed_all(p, r, m), SNI_FOUND);
		assert_string_equal(p->host, "shop.example.org");
		/* And split into reads across the record boundaries. */
		sni_init(p);
		assert_int_equal(sni_feed(p, r, m / 3), SNI_NEED_MORE);
		assert_int_equal(sni_feed(p, r + m / 3, m - m / 3), SNI_FOUND);
	}
	/* A record of another type between the pieces: not a TLS client we know. */
	m = reframe(b, n, 100, r);
	r[105] = 21; /* the second record: an alert */
	assert_int_equal(feed_all(p, r, m), SNI_NOT_TLS);
}

/* Truncated: every prefix wants more and never reads past what it was given. */
static void test_sni_truncated(void **state)
{
	struct sni_parser *p = *state;
	uint8_t b[4096];
	size_t n = hello("db.example", 0, b, sizeof(b));

	for (size_t cut = 0; cut < n; cut++) {
		/* A heap copy of exactly <cut> bytes: ASan catches a read past it. */
		uint8_t *c = malloc(cut ? cut : 1);

		assert_non_null(c);
		memcpy(c, b, cut);
		assert_int_equal(feed_all(p, c, cut), SNI_NEED_MORE);
		free(c);
	}
}

static void test_sni_garbage(void **state)
{
	struct sni_parser *p = *state;
	static const struct {
		const char *what;
		const uint8_t *b;
		size_t n;
		int want;
	} cases[] = {
	    {"HTTP", (const uint8_t *)"GET / HTTP/1.1\r\n", 16, SNI_NOT_TLS},
	    {"SSH banner", (const uint8_t *)"SSH-2.0-x\r\n", 11, SNI_NOT_TLS},
	    {"version 2", (const uint8_t *)"\x16\x02\x00\x00\x10", 5, SNI_NOT_TLS},
	    {"empty record", (const uint8_t *)"\x16\x03\x01\x00\x00", 5, SNI_NOT_TLS},
	    {"record too long", (const uint8_t *)"\x16\x03\x01\x40\x01", 5, SNI_NOT_TLS},
	    {"ServerHello", (const uint8_t *)"\x16\x03\x01\x00\x04\x02\x00\x00\x00", 9,
	     SNI_NOT_TLS},
	    {"empty hello", (const uint8_t *)"\x16\x03\x01\x00\x04\x01\x00\x00\x00", 9,
	     SNI_NOT_TLS},
	    /* A hello longer than we read: TLS, but no name for routing. */
	    {"huge hello", (const uint8_t *)"\x16\x03\x01\x00\x04\x01\x01\x00\x00", 9, SNI_NONE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = feed_all(p, cases[i].b, cases[i].n);

		if (got != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].what, got, cases[i].want);
	}
}

/* A real hello with one length inside it corrupted: refused, never over-read. */
static void test_sni_corrupt(void **state)
{
	struct sni_parser *p = *state;
	uint8_t b[4096], c[4096];
	size_t n = hello("db.example", 0, b, sizeof(b)), sid, cs;

	/* The session id length (after 5 + 4 + 2 + 32 bytes) claims more than is there. */
	memcpy(c, b, n);
	c[43] = 33;
	assert_int_equal(feed_all(p, c, n), SNI_NOT_TLS);
	/* The cipher suites length runs past the hello. */
	memcpy(c, b, n);
	sid = c[43];
	cs = 44 + sid;
	c[cs] = 0xff;
	assert_int_equal(feed_all(p, c, n), SNI_NOT_TLS);
	/* Every single byte flipped in turn: any verdict, but no crash or over-read. */
	for (size_t i = 5; i < n; i++) {
		memcpy(c, b, n);
		c[i] ^= 0xa5;
		assert_true(feed_all(p, c, n) <= SNI_NONE);
	}
}

static void test_sni_host_match(void **state)
{
	static const struct {
		const char *pat, *host;
		int want;
	} cases[] = {
	    {"a.example.com", "a.example.com", 1},
	    {"A.Example.com", "a.example.com", 1},
	    {"a.example.com", "b.example.com", 0},
	    {"*.example.com", "a.example.com", 1},
	    {"*.example.com", "a.b.example.com", 1},
	    {"*.example.com", "example.com", 0},
	    {"*.example.com", ".example.com", 0},
	    {"*.example.com", "aexample.com", 0},
	    {"*", "anything.at.all", 1},
	    {"*", NULL, 1},
	    {"a.example.com", NULL, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *h = cases[i].host;

		if (sni_host_match(cases[i].pat, h, h ? strlen(h) : 0) != cases[i].want)
			fail_msg("%s vs %s: want %d", cases[i].pat, h ? h : "(none)",
				 cases[i].want);
	}
}

/* router_l4_route(): tls[] by name, port, subnet and client; then tcp[]; else none. */
static void test_sni_router_l4(void **state)
{
	static const char *const sni_a[] = {"a.example.com"};
	static const char *const sni_wild[] = {"*.example.org"};
	static const struct k8s_kv lbl = {.key = "app", .value = "client"};
	static const struct route_subnet net = {.addr = 0x0000000a, .mask = 0x000000ff};
	const struct route_tls_match ma = {.sni = sni_a, .nsni = 1, .port = 443};
	const struct route_tls_match mw[] = {
	    {.sni = sni_wild, .nsni = 1, .source_labels = &lbl, .nsource_labels = 1},
	    {.sni = sni_wild, .nsni = 1, .subnets = &net, .nsubnets = 1},
	};
	const struct route_tcp ra = {.tls = &ma, .ntls = 1}, rw = {.tls = mw, .ntls = 2};
	const struct route_tcp rt = {.port = 0};
	const struct route_tcp *const all[] = {&rt, &ra, &rw};
	const struct route_table t = {.tcp = all, .ntcp = 3}, tonly = {.tcp = all + 1, .ntcp = 2};
	struct router_source src = {.port = 443};
	struct router_l4 c = {.src = &src, .tls = true, .sni = "a.example.com", .sni_len = 13};

	(void)state;
	/* tls[] comes before the catch-all tcp[] route although listed after it. */
	assert_ptr_equal(router_l4_route(&t, &c), &ra);
	src.port = 8443;
	assert_string_equal(router_tls_match_fail(&ma, &c), "port");
	assert_ptr_equal(router_l4_route(&t, &c), &rt);
	assert_null(router_l4_route(&tonly, &c));
	/* A wildcard name: by the client's labels, else by the destination subnet. */
	c.sni = "x.example.org";
	c.sni_len = 13;
	c.dst_ip = htonl(0x0b000001);
	assert_string_equal(router_tls_match_fail(&mw[0], &c), "sourceLabels");
	assert_string_equal(router_tls_match_fail(&mw[1], &c), "destinationSubnets");
	assert_null(router_l4_route(&tonly, &c));
	src.labels = &lbl;
	src.nlabels = 1;
	assert_ptr_equal(router_l4_route(&tonly, &c), &rw);
	src.nlabels = 0;
	c.dst_ip = htonl(0x0a010203);
	assert_ptr_equal(router_l4_route(&tonly, &c), &rw);
	/* No name: tls[] with names never holds; not TLS: tls[] is not even looked at. */
	c.sni = NULL;
	c.sni_len = 0;
	assert_string_equal(router_tls_match_fail(&mw[1], &c), "sniHosts");
	assert_ptr_equal(router_l4_route(&t, &c), &rt);
	c.tls = false;
	c.sni = "a.example.com";
	c.sni_len = 13;
	src.port = 443;
	assert_ptr_equal(router_l4_route(&t, &c), &rt);
	assert_null(router_l4_route(&tonly, &c));
}

static int setup(void **state)
{
	*state = malloc(sizeof(struct sni_parser));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sni_found_whole), cmocka_unit_test(test_sni_no_name),
	    cmocka_unit_test(test_sni_split_reads), cmocka_unit_test(test_sni_many_records),
	    cmocka_unit_test(test_sni_truncated),   cmocka_unit_test(test_sni_garbage),
	    cmocka_unit_test(test_sni_corrupt),	    cmocka_unit_test(test_sni_host_match),
	    cmocka_unit_test(test_sni_router_l4),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
