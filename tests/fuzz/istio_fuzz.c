// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the traffic kinds: any byte string is a config file decoded by
 * k8s_decode() (VirtualService, DestinationRule, HealthCheck, RateLimit seeds in
 * tests/fuzz/istio/), and a stream that decodes is compiled into a snapshot with its route
 * tables, so the compiler meets whatever the decoder lets through. Nothing may crash, hang,
 * leak or read out of bounds; every table must belong to a Service port of the snapshot.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/k8s.h"
#include "lib/arena.h"
#include "lib/log.h"
#include "model/model.h"
#include "model/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	const struct k8s_object **objs;
	struct k8s_result res;
	struct model *m;
	struct arena *a;
	size_t i;

	if (!once) {
		log_init("istio_fuzz", LOG_ERR); /* decode errors are expected: errors only */
		once = 1;
	}
	a = arena_new();
	if (!a)
		return 0;
	if (k8s_decode(a, "fuzz.yaml", (const char *)data, size, &res) == 0) {
		objs = calloc(res.nobjs ? res.nobjs : 1, sizeof(*objs));
		if (objs) {
			for (i = 0; i < res.nobjs; i++)
				objs[i] = &res.objs[i];
			m = model_build(objs, res.nobjs, 1);
			for (i = 0; m && i < m->routes->ntables; i++) {
				const struct route_table *t = &m->routes->tables[i];

				if (route_table_find(m->routes, t->svc, t->port) != t || !t->dflt)
					abort();
			}
			model_free(m);
			free(objs);
		}
	}
	arena_free(a);
	return 0;
}
