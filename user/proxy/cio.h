/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A codec over a conn: the glue between the transport layer and a protocol session that
 * both the downstream HTTP session and the upstream connections use. Reads go into a
 * pooled buffer that is held only while the codec leaves bytes unconsumed (flow control
 * paused it); writes take the codec's output as it is, with no copy.
 */
#ifndef WEIR_PROXY_CIO_H
#define WEIR_PROXY_CIO_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy/codec.h"
#include "proxy/conn.h"

struct px_buf;

struct cio {
	struct px_conn conn;
	struct codec *codec;
	struct px_buf *in;   /* unconsumed input, NULL when none */
	uint32_t head, tail; /* in->data[head, tail) */
	bool eof;	     /* the peer sent FIN */
	bool broken;	     /* the codec refused the input: write what it queued, then close */
	bool shut_wr;	     /* our FIN went out (a tunnel's half-close) */
};

enum cio_status {
	CIO_OK = 0,	/* carry on */
	CIO_CLOSE = 1,	/* finished cleanly, or broken after its last words: close */
	CIO_ABORT = -1, /* transport error: reset */
};

/*
 * Reads what the transport has and feeds the codec (events are raised from here; an event
 * handler must never free the owner of <io>: it marks it, and the owner acts once this
 * returns). Returns CIO_OK, CIO_CLOSE (the peer's FIN, or the codec done or broken: flush,
 * then close) or CIO_ABORT.
 */
enum cio_status cio_read(struct cio *io);

/*
 * Feeds input left over from a pause again (after codec_consume() reopened the codec).
 * Same returns as cio_read().
 */
enum cio_status cio_resume(struct cio *io);

/* Writes the codec's output. Returns CIO_OK (EV_WRITE armed when some is left) or CIO_ABORT. */
enum cio_status cio_flush(struct cio *io);

/* Whether all output has been written. */
bool cio_drained(struct cio *io);

/* Sets EV_READ interest from the codec's want_read and the input held. */
void cio_update(struct cio *io);

/* Closes the conn, frees the codec and the input buffer. */
void cio_fini(struct cio *io, bool rst);

#endif /* WEIR_PROXY_CIO_H */
