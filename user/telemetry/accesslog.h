/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Access logs: one line per finished HTTP request and per relayed TCP connection, in
 * Istio's default text format (Envoy's format string that meshConfig.accessLogFormat
 * defaults to) or in Istio's default JSON (accessLogEncoding JSON). Off unless asked for.
 *
 * Threads: the agent makes the log with one ring per proxy worker; worker i takes
 * accesslog_ring(log, i) and is that ring's only producer. accesslog_write() formats the
 * line into the ring without a lock, a system call or an allocation; a full ring drops the
 * line and counts it. One writer thread owned by the log drains every ring into the file,
 * so a slow disk or a blocked stdout never stalls a worker.
 */
#ifndef WEIR_USER_ACCESSLOG_H
#define WEIR_USER_ACCESSLOG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct accesslog;
struct accesslog_ring;
struct strbuf;

/* Line encodings, named as Istio's meshConfig.accessLogEncoding names them. */
enum accesslog_encoding {
	ACCESSLOG_TEXT = 0,
	ACCESSLOG_JSON = 1,
};

/*
 * Whether one request is logged. The proxy passes what the workload's Telemetry
 * (accessLogging) says; DEFAULT follows the log's own default (accesslog_opts.default_off).
 */
enum accesslog_choice {
	ACCESSLOG_DEFAULT = 0,
	ACCESSLOG_ON = 1,
	ACCESSLOG_OFF = 2,
};

struct accesslog_opts {
	const char *path;		  /* file to append to; "/dev/stdout" allowed (required) */
	enum accesslog_encoding encoding; /* TEXT or JSON */
	unsigned nrings;		  /* producer rings, one per worker (at least 1) */
	unsigned ring_bytes;		  /* bytes per ring, rounded up to a power of two;
					   * 0: 256 KiB */
	unsigned flush_ms;		  /* longest a line waits in a ring; 0: 200 */
	bool default_off;		  /* ACCESSLOG_DEFAULT requests are not logged */
};

/*
 * One finished request (or TCP connection) as the proxy saw it. String fields are
 * NUL-terminated and may be NULL when unknown, which prints as "-" in text and null in
 * JSON. Long values are cut to ACCESSLOG_FIELD_MAX bytes of output, ending in "...".
 */
struct accesslog_entry {
	uint64_t start_us;	 /* wall-clock start, microseconds since the epoch */
	uint64_t duration_us;	 /* start to the last byte (or the failure) */
	uint64_t bytes_received; /* body bytes from downstream (TCP: client to backend) */
	uint64_t bytes_sent;	 /* body bytes to downstream (TCP: backend to client) */
	uint32_t flags;		 /* REQSTATS_F_* (Envoy's response flags) */
	uint16_t response_code;	 /* 0: no response (always 0 for TCP) */
	enum accesslog_choice choice;
	const char *protocol; /* "HTTP/1.1", "HTTP/2"; NULL: a TCP connection */
	const char *method;
	const char *path;	   /* x-envoy-original-path when set, else :path */
	const char *authority;	   /* :authority or Host */
	const char *user_agent;	   /* user-agent */
	const char *request_id;	   /* x-request-id */
	const char *forwarded_for; /* x-forwarded-for */
	const char *details;	   /* Envoy's %RESPONSE_CODE_DETAILS% ("via_upstream") */
	const char *cluster;	   /* the upstream cluster's name */
	const char *route;	   /* the route's name */
	/* Addresses; an all-zero address is unknown ("-"). */
	struct sockaddr_in upstream_host;     /* the endpoint the request went to */
	struct sockaddr_in downstream_local;  /* what the client connected to */
	struct sockaddr_in downstream_remote; /* the client */
};

#define ACCESSLOG_FIELD_MAX 2048  /* output bytes of one field before it is cut */
#define ACCESSLOG_LINE_MAX  32768 /* a line never exceeds this (fields are cut first) */

/* Counts since accesslog_new(), for weir_access_log_lines_total{outcome}. */
struct accesslog_stats {
	uint64_t written; /* lines written to the file */
	uint64_t dropped; /* lines lost to a full ring */
	uint64_t failed;  /* lines lost to a failed write (disk full, closed pipe) */
	uint64_t reopens; /* times the file was opened again (SIGHUP, rename) */
};

/*
 * Parses an encoding name: "text" or "json", any case (Istio spells them TEXT and JSON)
 * into *<out>. Returns 0 or -EINVAL.
 */
int accesslog_parse_encoding(const char *s, enum accesslog_encoding *out);

/*
 * Opens <opts>->path for appending (created 0644 if missing) and starts the writer
 * thread. Returns the log (caller owns, accesslog_free()) or NULL with errno set and a
 * message naming the path logged.
 */
struct accesslog *accesslog_new(const struct accesslog_opts *opts);

/*
 * Writes every line still in the rings, stops the writer thread and closes the file.
 * Only after every producer stopped. Accepts NULL.
 */
void accesslog_free(struct accesslog *log);

/* Ring <idx> of <log> (NULL when <idx> is out of range), for one producer thread. */
struct accesslog_ring *accesslog_ring(struct accesslog *log, unsigned idx);

/*
 * Whether a line with <choice> is logged at all (its own choice, or the log's default), so a
 * caller can skip building an entry nobody writes. False for a NULL <ring>.
 */
bool accesslog_wants(const struct accesslog_ring *ring, enum accesslog_choice choice);

/*
 * Logs <e> into <ring> unless its choice (or the log's default) says no. Never blocks.
 * Returns 1 when queued, 0 when not to be logged, -ENOBUFS when the ring was full (the
 * line is dropped and counted). Accepts a NULL <ring> (returns 0).
 */
int accesslog_write(struct accesslog_ring *ring, const struct accesslog_entry *e);

/*
 * Formats <e> as one line in <enc> (ending in '\n') into <buf> of <size> bytes, NUL-
 * terminated. Returns the line's length, or -ENOSPC when <size> is below
 * ACCESSLOG_LINE_MAX + 1. Pure: for tests and for callers that write elsewhere.
 */
int accesslog_format(enum accesslog_encoding enc, const struct accesslog_entry *e, char *buf,
		     size_t size);

/* Asks the writer to open the file again (after logrotate moved it). From any thread. */
void accesslog_reopen(struct accesslog *log);

/* Sums <log>'s counters into <out>. From any thread. */
void accesslog_stats(struct accesslog *log, struct accesslog_stats *out);

/*
 * Appends the weir_access_log_lines_total family (outcome written, dropped, failed) to
 * <out>. Returns 0 or -ENOMEM.
 */
int accesslog_metrics(struct accesslog *log, struct strbuf *out);

#endif /* WEIR_USER_ACCESSLOG_H */
