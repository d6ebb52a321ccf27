// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the HTTP/2 codec (proxy/h2.c) in the server role, the side that faces
 * untrusted Pods: any byte string after a valid client preface is what a peer sent. The
 * codec must never crash, leak or read out of bounds; it answers every request it hands up
 * (with a body and trailers, so the send paths run too), gives back all credit, and once it
 * says the connection is broken it must stay broken.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "proxy/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_ctx {
	struct codec *c;
	unsigned heads;
};

static void fz_head(void *arg, uint32_t sid, struct http_head *h, bool end)
{
	struct fuzz_ctx *f = arg;
	struct http_head resp, tr;

	/* Every string the codec stored must be inside the head's buffer. */
	if (h->path.len && h->path.off + h->path.len >= h->used)
		abort();
	if (f->c->role != CODEC_SERVER || h->kind != HTTP_REQUEST)
		abort();
	f->heads++;
	http_head_init(&resp, HTTP_RESPONSE, 0);
	http_head_init(&tr, HTTP_TRAILERS, 0);
	resp.status = (f->heads % 3) ? 200 : 103;
	if (codec_submit_head(f->c, &sid, &resp, false) == 0) {
		if (resp.status == 103) {
			resp.status = 204;
			(void)codec_submit_head(f->c, &sid, &resp, true);
		} else {
			(void)codec_submit_data(f->c, sid, (const uint8_t *)"ok", 2, false);
			(void)http_head_add(&tr, "grpc-status", 11, "0", 1);
			(void)codec_submit_trailers(f->c, sid, &tr);
		}
	}
	http_head_fini(&resp);
	http_head_fini(&tr);
}

static void fz_data(void *arg, uint32_t sid, const uint8_t *buf, size_t len, bool end)
{
	struct fuzz_ctx *f = arg;

	codec_consume(f->c, sid, len);
}

static void fz_reset(void *arg, uint32_t sid, enum codec_err err)
{
	if (err == CODEC_E_NONE)
		abort(); /* a reset always says why */
}

static const struct codec_events fz_events = {
    .head = fz_head,
    .data = fz_data,
    .reset = fz_reset,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	static int once;
	struct codec_limits lim = {.max_header_bytes = 4096, .max_concurrent_streams = 8};
	struct fuzz_ctx f = {0};
	const uint8_t *out;
	size_t off = 0, n;
	bool broken = false;

	if (!once) {
		log_init("h2_fuzz", LOG_ERR); /* peer errors are expected: errors only */
		once = 1;
	}
	f.c = codec_new(&codec_h2, CODEC_SERVER, &lim, &fz_events, &f);
	if (!f.c)
		return 0;
	if (codec_input(f.c, (const uint8_t *)preface, 24) != 24)
		abort();
	/* Feed in uneven pieces so frame boundaries fall anywhere. */
	while (off < size && !broken) {
		size_t chunk = 1 + (data[off] % 97);
		ssize_t got;

		if (chunk > size - off)
			chunk = size - off;
		got = codec_input(f.c, data + off, chunk);
		if (got < 0) {
			broken = true;
			if (!codec_done(f.c))
				abort();
		} else if (got == 0) {
			abort(); /* HTTP/2 input is never paused: the window bounds the peer */
		} else {
			off += (size_t)got;
		}
		while ((n = codec_output(f.c, &out)) > 0)
			codec_output_done(f.c, n);
		if (size > 256 && off > size / 2)
			codec_shutdown(f.c); /* graceful end with streams in flight */
	}
	if (broken && codec_input(f.c, (const uint8_t *)"x", 1) >= 0)
		abort();
	codec_free(f.c);
	return 0;
}
