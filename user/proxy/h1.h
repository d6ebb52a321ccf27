/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.1 extras beyond the codec contract (codec.h): codec_h1 itself is declared
 * there. A zero-length codec_input() cannot mean end of file for HTTP/1 (a close-delimited
 * body ends there, a request cut short is cancelled), so the transport says so explicitly.
 */
#ifndef WEIR_PROXY_H1_H
#define WEIR_PROXY_H1_H

#include <stdbool.h>

#include "proxy/codec.h"

/* Longest run of body bytes handed up and not yet codec_consume()d before parsing pauses. */
#define H1_FLOW_MAX (64 * 1024)
/* Bytes codec_submit_data() queues (written or held for a later pipelined response). */
#define H1_OUT_MAX (256 * 1024)

/*
 * The peer of h1 codec <c> closed its side: ends a close-delimited body, cancels a message
 * cut short (reset CODEC_E_CANCEL; in the client role CODEC_E_REFUSED when no byte of the
 * request had been written yet), and makes the codec finish once its output is written.
 * Raises events as codec_input() does.
 */
void h1_input_eof(struct codec *c);

/*
 * Whether the outgoing direction of an upgraded (WebSocket) or CONNECT tunnel on h1 codec
 * <c> has ended: once its output is written, the transport shuts its write side (a TCP
 * half-close) while the peer's bytes go on being read.
 */
bool h1_tunnel_wr_ended(const struct codec *c);

#endif /* WEIR_PROXY_H1_H */
