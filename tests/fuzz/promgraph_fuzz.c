// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the Prometheus answer parser (telemetry/promgraph.c): the input is
 * what a Prometheus (or anything at its URL) answers to a graph query, the first byte picks
 * the query. Parsing must never crash or leak; a success must give a graph that builds and
 * writes as JSON and DOT, and a failure must say why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "telemetry/promgraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct promgraph_err err = {0};
	struct promgraph_acc acc;
	struct strbuf out;
	struct graph g;

	if (!size)
		return 0;
	promgraph_acc_init(&acc);
	if (promgraph_parse(&acc, data[0] % PROMGRAPH_NMETRICS, (const char *)data + 1, size - 1,
			    &err)) {
		if (!err.msg[0])
			abort(); /* a failure always says why */
	} else if (!promgraph_acc_graph(&acc, data[0] & 0x80, "60s", &g)) {
		strbuf_init(&out);
		graph_write_json(&g, &out);
		graph_write_dot(&g, &out);
		strbuf_fini(&out);
		graph_fini(&g);
	}
	promgraph_acc_fini(&acc);
	return 0;
}
