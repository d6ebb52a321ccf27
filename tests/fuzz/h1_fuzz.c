// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the HTTP/1.1 codec (proxy/h1.c): the input is what a peer sends,
 * fed to a server codec (as requests, every one answered from its head event) and to a
 * client codec (as the response to a request it wrote), in two reads split where the first
 * byte says. The codec must never crash, leak or read out of bounds, and once input() has
 * refused the connection the codec must be done when its output is written.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/codec.h"
#include "proxy/h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct codec *c;
	bool hold; /* never consume: drives the flow-control pause */
};

static void fz_head(void *arg, uint32_t sid, struct http_head *h, bool end)
{
	struct fz *f = arg;
	struct http_head resp;

	if (h->kind != HTTP_REQUEST)
		return;
	/* Answer at once, as a direct response would: exercises ordering and framing. */
	http_head_init(&resp, HTTP_RESPONSE, 0);
	resp.status = 200;
	if (http_head_get(h, "upgrade", 7, NULL) && sid % 4 == 1) {
		resp.status = 101;
		http_head_add(&resp, "upgrade", 7, "websocket", 9);
	}
	if (codec_submit_head(f->c, &sid, &resp, false) == 0)
		codec_submit_data(f->c, sid, (const uint8_t *)"body", 4, resp.status != 101);
	else
		abort(); /* a well-formed answer to a live stream is always taken */
	http_head_fini(&resp);
}

static void fz_data(void *arg, uint32_t sid, const uint8_t *buf, size_t len, bool end)
{
	struct fz *f = arg;

	if (!f->hold)
		codec_consume(f->c, sid, len);
}

static const struct codec_events fz_events = {
    .head = fz_head,
    .data = fz_data,
};

static void fz_drain(struct codec *c)
{
	const uint8_t *p;
	size_t n;

	while ((n = codec_output(c, &p)) > 0)
		codec_output_done(c, n);
}

/* Feeds <len> bytes at <p> as long as the codec takes them; returns the last result. */
static ssize_t fz_feed(struct codec *c, const uint8_t *p, size_t len)
{
	ssize_t r = 0;

	while (len) {
		r = codec_input(c, p, len);
		if (r <= 0)
			break;
		p += r;
		len -= (size_t)r;
		fz_drain(c);
	}
	return r;
}

static void fz_run(enum codec_role role, const uint8_t *data, size_t size, size_t split, bool hold)
{
	static const char *const methods[] = {"GET", "HEAD", "POST", "CONNECT"};
	struct codec_limits lim = {.max_header_bytes = 2048, .max_headers = 20, .max_pipelined = 4};
	struct fz f;
	ssize_t r;

	f.hold = hold;
	f.c = codec_new(&codec_h1, role, &lim, &fz_events, &f);
	if (!f.c)
		return;
	if (role == CODEC_CLIENT) {
		struct http_head req;
		uint32_t sid;

		http_head_init(&req, HTTP_REQUEST, 0);
		http_head_str(&req, methods[split % 4], strlen(methods[split % 4]), &req.method);
		http_head_str(&req, "/", 1, &req.path);
		http_head_str(&req, "a:1", 3, &req.authority);
		if (codec_submit_head(f.c, &sid, &req, true))
			abort();
		http_head_fini(&req);
		fz_drain(f.c);
	}
	r = fz_feed(f.c, data, split);
	if (r >= 0)
		r = fz_feed(f.c, data + split, size - split);
	fz_drain(f.c);
	if (r < 0 && !codec_done(f.c))
		abort(); /* refused input must end the connection */
	h1_input_eof(f.c);
	fz_drain(f.c);
	codec_free(f.c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t split;

	if (!size)
		return 0;
	split = data[0] % size;
	fz_run(CODEC_SERVER, data + 1, size - 1, split ? split - 1 : 0, data[0] & 0x80);
	fz_run(CODEC_CLIENT, data + 1, size - 1, split ? split - 1 : 0, data[0] & 0x80);
	return 0;
}
