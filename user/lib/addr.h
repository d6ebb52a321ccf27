/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsing of "ip:port" listen addresses (addr.c).
 */
#ifndef WEIR_USER_ADDR_H
#define WEIR_USER_ADDR_H

#include <sys/socket.h>

/*
 * Parses "a.b.c.d:port" or "[v6]:port" (port 0..65535, numeric only) in <s> into <ss>,
 * its length into <len>. Returns 0 or -EINVAL.
 */
int addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif /* WEIR_USER_ADDR_H */
