// SPDX-License-Identifier: Apache-2.0
/*
 * Trace context parsing and propagation (trace.h): B3 multi-header and single-header as
 * openzipkin/b3-propagation specifies them, W3C Trace Context level 1 for traceparent and
 * tracestate. Nothing here fails a request: a bad header is ignored and reported in the
 * returned bits, and the proxy counts it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "telemetry/trace.h"

static int hexval(char ch, bool upper)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (upper && ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int trace_hex64(const char *p, size_t len, bool upper, uint64_t *out)
{
	uint64_t v = 0;

	if (!len || len > 16)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int d = hexval(p[i], upper);

		if (d < 0)
			return -EINVAL;
		v = (v << 4) | (uint64_t)d;
	}
	*out = v;
	return 0;
}

/*
 * A trace id of 16 or 32 hex digits into <hi>/<lo>. B3 readers accept upper case (B3 says
 * lower-hex, but Envoy and Zipkin's own parsers take either, and refusing would break a
 * trace for a cosmetic reason); W3C forbids it and a traceparent with it is invalid.
 */
static int parse_traceid(const char *p, size_t len, bool upper, uint64_t *hi, uint64_t *lo)
{
	if (len == 16) {
		*hi = 0;
		if (trace_hex64(p, 16, upper, lo))
			return -EINVAL;
	} else if (len == 32) {
		if (trace_hex64(p, 16, upper, hi) || trace_hex64(p + 16, 16, upper, lo))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return (*hi | *lo) ? 0 : -EINVAL; /* all zeros is no id in either spec */
}

static int parse_spanid(const char *p, size_t len, bool upper, uint64_t *out)
{
	if (len != 16 || trace_hex64(p, 16, upper, out))
		return -EINVAL;
	return *out ? 0 : -EINVAL;
}

static bool val_is(const struct trace_val *v, const char *s)
{
	size_t n = strlen(s);

	return v->p && v->len == n && !memcmp(v->p, s, n);
}

/* x-b3-*: ids as a pair, sampled and flags each on their own. */
static unsigned parse_b3_multi(const struct trace_hdrs *h, struct trace_ctx *c)
{
	unsigned bad = 0;
	uint64_t hi, lo, sid, pid;

	if (h->b3_sampled.p) {
		/* "true"/"false" are what B3 clients sent before the spec settled on 1/0. */
		if (val_is(&h->b3_sampled, "1") || val_is(&h->b3_sampled, "true"))
			c->sampled = 1;
		else if (val_is(&h->b3_sampled, "0") || val_is(&h->b3_sampled, "false"))
			c->sampled = 0;
		else
			bad |= TRACE_BAD_B3;
	}
	if (h->b3_flags.p) {
		if (val_is(&h->b3_flags, "1")) {
			c->debug = true;
			c->sampled = 1; /* debug implies an accept decision */
		} else if (!val_is(&h->b3_flags, "0")) {
			bad |= TRACE_BAD_B3;
		}
	}
	if (!h->b3_traceid.p && !h->b3_spanid.p)
		return bad; /* a bare sampling decision is valid B3 */
	if (!h->b3_traceid.p || !h->b3_spanid.p ||
	    parse_traceid(h->b3_traceid.p, h->b3_traceid.len, true, &hi, &lo) ||
	    parse_spanid(h->b3_spanid.p, h->b3_spanid.len, true, &sid))
		return bad | TRACE_BAD_B3;
	c->trace_hi = hi;
	c->trace_lo = lo;
	c->trace128 = h->b3_traceid.len == 32;
	c->span_id = sid;
	c->src = TRACE_SRC_B3;
	if (h->b3_parentspanid.p) {
		if (parse_spanid(h->b3_parentspanid.p, h->b3_parentspanid.len, true, &pid))
			bad |= TRACE_BAD_B3; /* only the parent is lost: it is informational */
		else
			c->parent_id = pid;
	}
	return bad;
}

/* The sampling field of b3: 0, 1 or d. Returns -1 when invalid. */
static int b3_state(const char *p, size_t len, struct trace_ctx *c, bool apply)
{
	if (len != 1 || (*p != '0' && *p != '1' && *p != 'd'))
		return -1;
	if (apply) {
		c->debug = *p == 'd';
		c->sampled = *p != '0';
	}
	return 0;
}

/*
 * b3: "{traceid}-{spanid}[-{sampling}[-{parentspanid}]]" or only "{sampling}". Read only
 * when the multi-header gave no ids; its sampling then wins over x-b3-sampled. Any bad
 * field drops the whole header (the fields only make sense together).
 */
static unsigned parse_b3_single(const struct trace_hdrs *h, struct trace_ctx *c)
{
	const char *p = h->b3.p, *end = p + h->b3.len;
	const char *f[4];
	size_t fl[4];
	uint64_t hi, lo, sid, pid = 0;
	int nf = 0;

	if (h->b3.len == 1)
		return b3_state(p, 1, c, true) ? TRACE_BAD_B3_SINGLE : 0;
	while (nf < 4) {
		const char *dash = memchr(p, '-', (size_t)(end - p));

		f[nf] = p;
		fl[nf] = dash ? (size_t)(dash - p) : (size_t)(end - p);
		nf++;
		if (!dash)
			break;
		p = dash + 1;
		if (nf == 4)
			return TRACE_BAD_B3_SINGLE; /* a fifth field */
	}
	if (nf < 2 || parse_traceid(f[0], fl[0], true, &hi, &lo) ||
	    parse_spanid(f[1], fl[1], true, &sid))
		return TRACE_BAD_B3_SINGLE;
	if (nf >= 3 && b3_state(f[2], fl[2], c, false))
		return TRACE_BAD_B3_SINGLE;
	if (nf == 4 && parse_spanid(f[3], fl[3], true, &pid))
		return TRACE_BAD_B3_SINGLE;
	if (nf >= 3)
		b3_state(f[2], fl[2], c, true);
	c->trace_hi = hi;
	c->trace_lo = lo;
	c->trace128 = fl[0] == 32;
	c->span_id = sid;
	c->parent_id = pid;
	c->src = TRACE_SRC_B3_SINGLE;
	return 0;
}

/*
 * traceparent: "{version}-{trace-id}-{parent-id}-{flags}", lower-case hex. Version ff is
 * invalid; version 00 is exactly 55 characters; a later version may be longer, and then
 * the four known fields are read and a '-' must follow them (W3C's forward compatibility).
 */
static int parse_traceparent(const struct trace_val *v, uint64_t *hi, uint64_t *lo, uint64_t *sid,
			     uint8_t *flags)
{
	const char *p = v->p;
	uint64_t ver, fl;

	if (v->len < 55 || trace_hex64(p, 2, false, &ver) || ver == 0xff)
		return -EINVAL;
	if ((ver == 0 && v->len != 55) || (v->len > 55 && p[55] != '-'))
		return -EINVAL;
	if (p[2] != '-' || p[35] != '-' || p[52] != '-')
		return -EINVAL;
	if (parse_traceid(p + 3, 32, false, hi, lo) || parse_spanid(p + 36, 16, false, sid) ||
	    trace_hex64(p + 53, 2, false, &fl))
		return -EINVAL;
	*flags = (uint8_t)fl;
	return 0;
}

unsigned trace_parse(const struct trace_hdrs *h, struct trace_ctx *c)
{
	unsigned bad = 0;
	uint64_t hi, lo, sid;
	uint8_t flags;
	int8_t b3_sampled;

	memset(c, 0, sizeof(*c));
	c->sampled = -1;
	bad |= parse_b3_multi(h, c);
	b3_sampled = c->sampled;
	if (h->b3.p && c->src == TRACE_SRC_NONE)
		bad |= parse_b3_single(h, c);
	if (c->sampled < 0)
		c->sampled = b3_sampled;
	if (!h->traceparent.p)
		return bad;
	c->w3c_in = true;
	if (parse_traceparent(&h->traceparent, &hi, &lo, &sid, &flags))
		return bad | TRACE_BAD_TRACEPARENT; /* and tracestate goes with it */
	if (c->src == TRACE_SRC_NONE) {
		c->trace_hi = hi;
		c->trace_lo = lo;
		c->trace128 = true;
		c->span_id = sid;
		c->src = TRACE_SRC_W3C;
		if (c->sampled < 0)
			c->sampled = flags & 1;
	}
	/* tracestate belongs to a valid traceparent; longer than we keep: dropped whole
	 * (cutting list members in the middle would corrupt them). */
	if (h->tracestate.p && h->tracestate.len && h->tracestate.len < TRACE_STATE_MAX) {
		memcpy(c->state, h->tracestate.p, h->tracestate.len);
		c->state[h->tracestate.len] = 0;
		c->state_len = (uint16_t)h->tracestate.len;
	}
	return bad;
}

uint32_t trace_pct_ppm(double pct)
{
	if (!(pct > 0))
		return 0; /* also NaN */
	if (pct >= 100)
		return 1000000;
	return (uint32_t)(pct * 10000 + 0.5);
}

void trace_start(struct trace_ctx *c, uint32_t sample_ppm, uint64_t (*rnd)(void *), void *arg)
{
	if (c->src == TRACE_SRC_NONE) {
		do {
			c->trace_hi = rnd(arg);
			c->trace_lo = rnd(arg);
		} while (!(c->trace_hi | c->trace_lo));
		c->trace128 = true;
		c->span_id = 0;
		c->parent_id = 0;
		c->w3c_out = true;
		c->state_len = 0; /* a tracestate without its traceparent means nothing */
	} else {
		c->w3c_out = c->w3c_in;
		if (c->src != TRACE_SRC_W3C)
			c->state_len = 0; /* it went with another trace's traceparent */
	}
	if (c->debug)
		c->sampled = 1;
	if (c->sampled < 0)
		c->sampled = (rnd(arg) % 1000000) < sample_ppm;
}

void trace_out(const struct trace_ctx *c, uint64_t span_id, struct trace_out *o)
{
	memset(o, 0, sizeof(*o));
	if (c->trace128)
		snprintf(o->traceid, sizeof(o->traceid), "%016llx%016llx",
			 (unsigned long long)c->trace_hi, (unsigned long long)c->trace_lo);
	else
		snprintf(o->traceid, sizeof(o->traceid), "%016llx",
			 (unsigned long long)c->trace_lo);
	snprintf(o->spanid, sizeof(o->spanid), "%016llx", (unsigned long long)span_id);
	if (c->span_id)
		snprintf(o->parentspanid, sizeof(o->parentspanid), "%016llx",
			 (unsigned long long)c->span_id);
	o->sampled[0] = c->sampled > 0 ? '1' : '0';
	o->debug = c->debug;
	/* W3C ids are 128 bits: a 64-bit B3 id is left-padded with zeros, as B3 itself
	 * widens them. */
	if (c->w3c_out)
		snprintf(o->traceparent, sizeof(o->traceparent), "00-%016llx%016llx-%016llx-%02x",
			 (unsigned long long)c->trace_hi, (unsigned long long)c->trace_lo,
			 (unsigned long long)span_id, c->sampled > 0 ? 1 : 0);
}
