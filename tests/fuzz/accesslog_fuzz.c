// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the access log formatter (telemetry/accesslog.c): the input's first
 * bytes give the numbers, the rest is split at NUL bytes into the string fields. Whatever
 * the bytes, a text line is one line with exactly its 14 unescaped quotes (so no header
 * value can open or close a field), a JSON line parses as one object, and neither passes
 * ACCESSLOG_LINE_MAX.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "telemetry/accesslog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NUM_BYTES 24
#define NFIELDS	  11

static char line[ACCESSLOG_LINE_MAX + 1];

/* Checks the invariants of one text line of <n> bytes. */
static void fz_check_text(int n)
{
	int quotes = 0;

	if (n <= 0 || n > ACCESSLOG_LINE_MAX || line[n - 1] != '\n' || memchr(line, '\n', n - 1))
		abort();
	for (int i = 0; i < n; i++) {
		if (line[i] == '\\')
			i++; /* an escaped byte: never a field's quote */
		else if (line[i] == '"')
			quotes++;
	}
	if (quotes != 14)
		abort();
}

static void fz_check_json(int n)
{
	json_error_t err;
	json_t *j;

	if (n <= 0 || n > ACCESSLOG_LINE_MAX || line[n - 1] != '\n' || memchr(line, '\n', n - 1))
		abort();
	j = json_loadb(line, (size_t)n, 0, &err);
	if (!j || !json_is_object(j) || json_object_size(j) != 24)
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char **fields[NFIELDS];
	struct accesslog_entry e;
	char *copy;
	size_t i, f = 0, start;
	uint64_t v[3] = {0};

	if (size < NUM_BYTES)
		return 0;
	memset(&e, 0, sizeof(e));
	memcpy(v, data, sizeof(v));
	e.start_us = v[0] % (1ull << 52); /* gmtime_r's range, a few million years */
	/* Counters stay below 2^53: past that jansson cannot read the (valid) JSON back. */
	e.duration_us = v[1] % (1ull << 53);
	e.bytes_received = v[2] % (1ull << 53);
	e.bytes_sent = v[2] >> 11;
	e.flags = (uint32_t)v[1];
	e.response_code = (uint16_t)v[0];
	e.upstream_host.sin_port = (uint16_t)v[1];
	e.downstream_remote.sin_addr.s_addr = (uint32_t)v[2];
	fields[0] = &e.protocol;
	fields[1] = &e.method;
	fields[2] = &e.path;
	fields[3] = &e.authority;
	fields[4] = &e.user_agent;
	fields[5] = &e.request_id;
	fields[6] = &e.forwarded_for;
	fields[7] = &e.details;
	fields[8] = &e.cluster;
	fields[9] = &e.route;
	fields[10] = &e.path; /* a second path may replace the first: NULL stays possible */
	copy = malloc(size - NUM_BYTES + 1);
	if (!copy)
		return 0;
	memcpy(copy, data + NUM_BYTES, size - NUM_BYTES);
	copy[size - NUM_BYTES] = '\0';
	for (i = start = 0; i <= size - NUM_BYTES && f < NFIELDS; i++) {
		if (copy[i] != '\0')
			continue;
		*fields[f++] = copy + start;
		start = i + 1;
	}
	fz_check_text(accesslog_format(ACCESSLOG_TEXT, &e, line, sizeof(line)));
	fz_check_json(accesslog_format(ACCESSLOG_JSON, &e, line, sizeof(line)));
	free(copy);
	return 0;
}
