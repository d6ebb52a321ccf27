/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Between the downstream HTTP session (hsession.c) and its exchanges (exchange.c), one
 * per request stream: what each asks of the other. Private to user/proxy/.
 *
 * Re-entrancy rule: an exchange submits to the downstream codec from any callback (its
 * own downstream events, its upstream events, its timers); the session writes the output
 * from the event loop (hsession_kick), so no callback ever writes while the codec is
 * raising events, and an exchange may end (exchange_free) inside any of its callbacks.
 */
#ifndef WEIR_PROXY_HSESSION_H
#define WEIR_PROXY_HSESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy/codec.h"
#include "proxy/session.h"
#include "proxy/worker.h"

struct hsession;
struct exchange;

/* The downstream codec of <hs> (server role). */
struct codec *hsession_codec(struct hsession *hs);

/* The worker <hs> runs on. */
struct px_worker *hsession_worker(struct hsession *hs);

/* Where <hs>'s client connected. */
const struct hsession_dest *hsession_dest(struct hsession *hs);

/* Whether the downstream speaks HTTP/2. */
bool hsession_is_h2(struct hsession *hs);

/* Schedules a write of <hs>'s output (and a read, if input waits) from the event loop. */
void hsession_kick(struct hsession *hs);

/* Credits <n> bytes of stream <sid>'s request body back to the client. */
void hsession_consume(struct hsession *hs, uint32_t sid, size_t n);

/* <ex> is finished: <hs> forgets it (the exchange frees itself). */
void hsession_forget(struct hsession *hs, struct exchange *ex);

/*
 * A new request on stream <sid> of <hs> with head <head> (copied; <end_stream>: no body).
 * Returns the exchange, to be linked into <hs>'s list (its first member is a px_list)
 * and then started, or NULL when out of memory (the caller resets the stream).
 */
struct exchange *exchange_new(struct hsession *hs, uint32_t sid, struct http_head *head,
			      bool end_stream);

/* Routes <ex> and sends it on, or answers it locally (then it is already gone). */
void exchange_start(struct exchange *ex);

/* The stream id of <ex> downstream. */
uint32_t exchange_sid(const struct exchange *ex);

/* Request body bytes from downstream. */
void exchange_req_data(struct exchange *ex, const uint8_t *buf, size_t len, bool end_stream);

/* Request trailers from downstream (end the request). */
void exchange_req_trailers(struct exchange *ex, struct http_head *trailers);

/* The downstream stream ended abnormally (reset, or the connection went): abort <ex>. */
void exchange_down_reset(struct exchange *ex, enum codec_err err);

/* The downstream stream may take more response data. */
void exchange_down_writable(struct exchange *ex);

/* The session drains: nothing to do but finish (kept for symmetry with the session). */
void exchange_abort(struct exchange *ex);

#endif /* WEIR_PROXY_HSESSION_H */
