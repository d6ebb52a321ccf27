/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One logging path for the agent and the tools: "weir-agent: <level>: <module>: message"
 * on stderr, thread-safe (one write per line), with the level set once at start.
 * Log once, where the context is (STYLE.md): callers that propagate an error do not log.
 */
#ifndef WEIR_USER_LOG_H
#define WEIR_USER_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Sets the program name printed first and the most verbose level printed. */
void log_init(const char *prog, enum log_level max);
/* Counts of messages at LOG_ERR and LOG_WARN since start, for /metrics and tests. */
unsigned long log_count(enum log_level level);

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(mod, ...)   log_msg(LOG_ERR, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LOG_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_msg(LOG_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_DEBUG, mod, __VA_ARGS__)

#endif /* WEIR_USER_LOG_H */
