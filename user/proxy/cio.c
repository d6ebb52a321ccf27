// SPDX-License-Identifier: Apache-2.0
/*
 * The codec-over-conn glue declared in cio.h.
 */
#include <errno.h>

#include <event2/event.h>

#include "proxy/cio.h"
#include "proxy/h1.h"
#include "proxy/worker.h"

/* Feeds held input to the codec; drops the buffer once it is all consumed. */
static enum cio_status cio_feed(struct cio *io)
{
	while (io->in && io->tail > io->head && codec_want_read(io->codec)) {
		ssize_t n = codec_input(io->codec, io->in->data + io->head, io->tail - io->head);

		if (n < 0) {
			io->broken = true;
			return CIO_CLOSE;
		}
		if (n == 0)
			break;
		io->head += (uint32_t)n;
	}
	if (io->in && io->head == io->tail) {
		px_buf_put(io->conn.w, io->in);
		io->in = NULL;
		io->head = io->tail = 0;
	}
	return codec_done(io->codec) ? CIO_CLOSE : CIO_OK;
}

enum cio_status cio_resume(struct cio *io)
{
	enum cio_status st = cio_feed(io);

	cio_update(io);
	return st;
}

enum cio_status cio_read(struct cio *io)
{
	enum cio_status st;
	ssize_t n;

	if (io->broken)
		return CIO_CLOSE;
	if (io->eof)
		return cio_feed(io); /* no more reads: EV_READ stays off */
	if (!io->in) {
		io->in = px_buf_get(io->conn.w);
		if (!io->in)
			return CIO_ABORT;
		io->head = io->tail = 0;
	}
	if (io->tail == PX_BUF_SIZE) {
		/* Full: the codec is paused; EV_READ should not have been armed. */
		cio_update(io);
		return CIO_OK;
	}
	n = conn_recv(&io->conn, io->in->data + io->tail, PX_BUF_SIZE - io->tail);
	if (n == -EAGAIN || n == -EINTR) {
		/* Nothing yet: whatever called us, read interest must follow the codec. */
		st = cio_feed(io);
		cio_update(io);
		return st;
	}
	if (n < 0)
		return CIO_ABORT;
	if (n == 0) {
		io->eof = true;
		st = cio_feed(io);
		/* HTTP/1 ends a close-delimited message, or notices a cut one, at EOF. */
		if (io->codec->ops == &codec_h1)
			h1_input_eof(io->codec);
		conn_want(&io->conn, EV_READ, false);
		return st == CIO_OK && !codec_done(io->codec) && codec_streams(io->codec)
			   ? CIO_OK
			   : CIO_CLOSE;
	}
	io->tail += (uint32_t)n;
	st = cio_feed(io);
	cio_update(io);
	return st;
}

enum cio_status cio_flush(struct cio *io)
{
	const uint8_t *p;
	size_t len;

	while ((len = codec_output(io->codec, &p)) > 0) {
		ssize_t n = conn_send(&io->conn, p, len);

		if (n == -EAGAIN || n == -EINTR) {
			conn_want(&io->conn, EV_WRITE, true);
			return CIO_OK;
		}
		if (n < 0)
			return CIO_ABORT;
		codec_output_done(io->codec, (size_t)n);
	}
	conn_want(&io->conn, EV_WRITE, false);
	/* All written: a tunnel whose direction toward this peer ended passes the FIN on. */
	if (!io->shut_wr && io->codec->ops == &codec_h1 && h1_tunnel_wr_ended(io->codec)) {
		int err;

		io->shut_wr = true;
		err = conn_shutdown_wr(&io->conn);
		if (err && err != -ENOTCONN)
			return CIO_ABORT;
	}
	return CIO_OK;
}

bool cio_drained(struct cio *io)
{
	const uint8_t *p;

	return codec_output(io->codec, &p) == 0;
}

void cio_update(struct cio *io)
{
	bool room = !io->in || io->tail < PX_BUF_SIZE;

	conn_want(&io->conn, EV_READ,
		  !io->eof && !io->broken && room && codec_want_read(io->codec));
}

void cio_fini(struct cio *io, bool rst)
{
	conn_close(&io->conn, rst);
	codec_free(io->codec);
	io->codec = NULL;
	px_buf_put(io->conn.w, io->in);
	io->in = NULL;
}
