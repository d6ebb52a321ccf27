/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Short messages with file descriptors over a unix SOCK_SEQPACKET socket (SCM_RIGHTS):
 * how a new agent binary takes the listening sockets over from the running one, so that
 * no connection queued on them is lost across an upgrade.
 */
#ifndef WEIR_LIB_FDPASS_H
#define WEIR_LIB_FDPASS_H

#include <stddef.h>

#define FDPASS_MAX_FDS 64

/* Sends <msg> (a short string) with <nfds> descriptors <fds> on <sock>. 0 or -errno. */
int fdpass_send(int sock, const char *msg, const int *fds, int nfds);

/*
 * Receives one message on <sock> within <timeout_ms> into <msg>/<msglen> (NUL-terminated)
 * and up to <maxfds> descriptors into <fds> (their count in *<nfds>; may be NULL when none
 * are expected: any that came are closed). Returns 0, -ETIMEDOUT, -ECONNRESET at EOF, or
 * -errno.
 */
int fdpass_recv(int sock, char *msg, size_t msglen, int *fds, int *nfds, int maxfds,
		int timeout_ms);

#endif /* WEIR_LIB_FDPASS_H */
