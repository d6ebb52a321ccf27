// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the request store (telemetry/reqstats.c): the input is a program of
 * records, flushes, collects and samples over two shards and a store bounded to a few
 * series. Whatever the program, every request is accounted for exactly once (in a series
 * or in the dropped counter), every histogram sums to its series' count, and the rates
 * and flag strings stay sane.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "telemetry/reqstats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OP_LEN 12 /* bytes per operation */

/* Sums the store's series and checks each one's histograms against its count. */
static uint64_t fz_total(const struct reqstats *rs)
{
	const struct reqstats_series *s;
	uint64_t total = 0;
	size_t i = 0, n = 0;
	unsigned b;

	while ((i = reqstats_next(rs, i, &s)) != 0) {
		uint64_t d = 0, q = 0, p = 0;
		char flags[REQSTATS_FLAGS_LEN];

		for (b = 0; b <= REQSTATS_BUCKETS; b++) {
			d += s->c.duration[b];
			q += s->c.req_size[b];
			p += s->c.resp_size[b];
		}
		if (d != s->c.requests || q != s->c.requests || p != s->c.requests)
			abort();
		if (reqstats_flags_str(s->key.flags, flags, sizeof(flags)) <= 0)
			abort();
		total += s->c.requests;
		n++;
	}
	if (n != reqstats_nseries(rs))
		abort();
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Long idle expiry: nothing expires within a run, so nothing may go missing. */
	struct reqstats_opts o = {.shards = 2, .max_series = 6, .idle_expire_ms = 1ULL << 40};
	struct reqstats *rs;
	struct reqstats_rate *rates;
	uint64_t recorded = 0, now = 1;
	size_t off, n, i;

	log_init("reqstats_fuzz", LOG_ERR);
	rs = reqstats_new(NULL, &o);
	if (!rs)
		return 0;
	for (off = 0; off + OP_LEN <= size; off += OP_LEN) {
		const uint8_t *p = data + off;
		struct reqstats_shard *sh = reqstats_shard(rs, p[0] & 1);
		struct reqstats_req r;

		switch ((p[0] >> 1) & 7) {
		case 0:
			reqstats_flush(sh);
			continue;
		case 1:
			reqstats_collect(rs, now);
			continue;
		case 2:
			now += p[1] * 100U;
			reqstats_sample(rs, now);
			continue;
		default:
			break;
		}
		memset(&r, 0, sizeof(r));
		r.src_wl = p[1] & 3;
		r.dst_wl = (p[1] >> 2) & 3;
		r.svc_id = (p[1] >> 4) & 1;
		r.proto = (p[1] >> 5) & 3; /* 0 and 3 are bad records: dropped, counted */
		r.reporter = p[1] >> 7;
		r.response_code = (uint16_t)(p[2] << 1);
		r.grpc_status = (int16_t)((int8_t)p[3] >> 3);
		r.flags = (uint32_t)p[4] << 12 | p[5];
		memcpy(&r.duration_us, p + 6, 4);
		r.req_bytes = (uint64_t)p[10] << (p[11] & 63);
		r.resp_bytes = p[11];
		reqstats_record(sh, &r);
		recorded++;
	}
	reqstats_flush(reqstats_shard(rs, 0));
	reqstats_flush(reqstats_shard(rs, 1));
	reqstats_collect(rs, now);
	if (fz_total(rs) + reqstats_dropped(rs) != recorded)
		abort();
	if (reqstats_rates(rs, now + 1000, 60000, &rates, &n) == 0) {
		for (i = 0; i < n; i++)
			if (!(rates[i].rps >= 0) ||
			    !(rates[i].errors_per_sec <= rates[i].rps + 1e-9))
				abort();
		free(rates);
	}
	reqstats_free(rs);
	return 0;
}
