// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the Kubernetes/Istio YAML decoder (config/k8s.c): any byte string
 * is a config file; the decoder must never crash, hang, leak or read out of bounds, and a
 * stream it accepts must have produced objects with a kind and a name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/k8s.h"
#include "lib/arena.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	struct k8s_result res;
	struct arena *a;

	if (!once) {
		log_init("k8s_fuzz", LOG_ERR); /* decode errors are expected: errors only */
		once = 1;
	}
	a = arena_new();
	if (!a)
		return 0;
	if (k8s_decode(a, "fuzz.yaml", (const char *)data, size, &res) == 0) {
		for (size_t i = 0; i < res.nobjs; i++)
			if (!res.objs[i].meta.name)
				abort();
	}
	arena_free(a);
	return 0;
}
