/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The benchmark's one HTTP server: every configuration talks to the same tiny server, which
 * answers every request with the same fixed-size body, so that only the path in between varies.
 */
#ifndef WEIR_BENCH_SERVE_H
#define WEIR_BENCH_SERVE_H

#include <netinet/in.h>

/*
 * Serves <listen> with <threads> epoll threads (SO_REUSEPORT), answering every request with a
 * 200 and <size> bytes of body, until SIGINT/SIGTERM or <lifetime> seconds (0 = no limit).
 * Returns 0 or -errno if the listener cannot be set up.
 */
int serve_run(const struct sockaddr_in *listen, int threads, size_t size, double lifetime);

#endif /* WEIR_BENCH_SERVE_H */
