/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mirrored requests (VirtualService `mirror`): a copy of a finished client request sent to
 * another cluster, fire and forget. Envoy's rules: the copy's authority gets "-shadow"
 * appended, its response is read and dropped, and nothing about it ever reaches the client
 * or delays the real request.
 */
#ifndef WEIR_PROXY_SHADOW_H
#define WEIR_PROXY_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "proxy/http.h"

struct px_worker;

/*
 * Sends a copy of request <req> with body <body>/<len> (and <trailers>, may be NULL) to
 * an endpoint of cluster <cluster> in <w>'s current snapshot, balanced for client <src_ip>.
 * Everything is copied. Failures are counted, never reported: the mirror is best effort.
 */
void shadow_send(struct px_worker *w, const char *cluster, const struct http_head *req,
		 const uint8_t *body, size_t len, const struct http_head *trailers,
		 uint32_t src_ip);

#endif /* WEIR_PROXY_SHADOW_H */
