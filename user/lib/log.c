// SPDX-License-Identifier: Apache-2.0
/*
 * The logging path declared in log.h. Each line is formatted into one buffer and written
 * with a single write(2), so lines from worker threads never interleave.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

static const char *log_prog = "weir";
static enum log_level log_max = LOG_INFO;
static atomic_ulong log_counts[LOG_DEBUG + 1];

static const char *const log_names[] = {"error", "warning", "info", "debug"};

void log_init(const char *prog, enum log_level max)
{
	log_prog = prog;
	log_max = max;
}

unsigned long log_count(enum log_level level)
{
	return atomic_load(&log_counts[level]);
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n, m;

	atomic_fetch_add(&log_counts[level], 1);
	if (level > log_max)
		return;
	n = snprintf(line, sizeof(line), "%s: %s: %s: ", log_prog, log_names[level], module);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2; /* truncated: still end the line */
	line[n++] = '\n';
	/* One write per line; a short write to stderr is not worth retrying. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
