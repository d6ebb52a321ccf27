/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP/2 that weir-load needs to hold idle h2c connections for the memory measurement: the
 * client preface, one GET on stream 1 and reading until its response ends. Blocking and minimal
 * (a fixed HPACK encoding, no decoder beyond the status byte): h2load does the loaded runs.
 */
#ifndef WEIR_BENCH_H2IDLE_H
#define WEIR_BENCH_H2IDLE_H

#include <stdbool.h>
#include <stddef.h>

/* Where the reader is in the response stream; zero it before the first call. */
struct h2idle_reader {
	size_t seen;   /* bytes of whole frames already looked at */
	bool got_head; /* the response head of stream 1 arrived (its status was checked) */
	bool want_ack; /* a SETTINGS from the server waits for our ACK */
};

/*
 * Encodes the preface, an empty SETTINGS and the HEADERS of "GET /" with :authority "bench" and,
 * when <header> ("name: value") is not NULL, that header, into <buf> of <cap> bytes. Returns the
 * length, or -EINVAL if <header> is malformed or does not fit.
 */
long h2idle_request(char *buf, size_t cap, const char *header);
/*
 * Feeds the <len> bytes received so far at <buf> to the reader <rd>. Returns 1 when stream 1
 * ended with a 200, 0 when more is needed, -EPROTO on a reset, a GOAWAY or a status other than
 * 200. Sets <rd>->want_ack when the server's SETTINGS needs an ACK (the caller sends
 * h2idle_settings_ack and clears it).
 */
int h2idle_response(struct h2idle_reader *rd, const unsigned char *buf, size_t len);
/* The 9-byte SETTINGS frame with the ACK flag, to send when h2idle_response() asks. */
extern const unsigned char h2idle_settings_ack[9];

#endif /* WEIR_BENCH_H2IDLE_H */
