// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the trace context (telemetry/trace.c): the input is up to eight
 * header values separated by newlines (x-b3-traceid, -spanid, -parentspanid, -sampled,
 * -flags, b3, traceparent, tracestate). Whatever they hold, parsing never reads past a
 * value, a context that came in has a non-zero trace and span id, and the headers written
 * upstream have exactly the lengths their specifications fix.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telemetry/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fz_rnd(void *arg)
{
	uint64_t *s = arg;

	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s;
}

static void fz_check_hex(const char *s, size_t want)
{
	if (strlen(s) != want)
		abort();
	for (size_t i = 0; i < want; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_val *f[8];
	struct trace_hdrs h;
	struct trace_ctx c;
	struct trace_out o;
	const char *p = (const char *)data, *end = p + size;
	uint64_t seed = size;
	char *copies[8] = {0};
	int n = 0;

	memset(&h, 0, sizeof(h));
	f[0] = &h.b3_traceid;
	f[1] = &h.b3_spanid;
	f[2] = &h.b3_parentspanid;
	f[3] = &h.b3_sampled;
	f[4] = &h.b3_flags;
	f[5] = &h.b3;
	f[6] = &h.traceparent;
	f[7] = &h.tracestate;
	while (n < 8 && p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		/* Each value in a heap copy of its own size, so ASan sees any over-read. An
		 * empty line is an absent header. */
		if (len) {
			copies[n] = malloc(len);
			if (!copies[n])
				break;
			memcpy(copies[n], p, len);
			f[n]->p = copies[n];
			f[n]->len = len;
		}
		n++;
		if (!nl)
			break;
		p = nl + 1;
	}
	trace_parse(&h, &c);
	if (c.src != TRACE_SRC_NONE && (!(c.trace_hi | c.trace_lo) || !c.span_id))
		abort();
	if (c.state_len >= TRACE_STATE_MAX ||
	    (c.state_len && c.src != TRACE_SRC_W3C && !h.traceparent.p))
		abort();
	trace_start(&c, (uint32_t)(size * 7919 % 1000001), fz_rnd, &seed);
	if (c.sampled != 0 && c.sampled != 1)
		abort();
	trace_out(&c, fz_rnd(&seed) | 1, &o);
	fz_check_hex(o.traceid, c.trace128 ? 32 : 16);
	fz_check_hex(o.spanid, 16);
	if (o.parentspanid[0])
		fz_check_hex(o.parentspanid, 16);
	if (c.w3c_out != (strlen(o.traceparent) == 55))
		abort();
	for (int i = 0; i < 8; i++)
		free(copies[i]);
	return 0;
}
