/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A hand-built model snapshot for proxy tests over loopback: one Service default/web with
 * up to four HTTP ports, each with up to two endpoints on loopback ports. No config, no
 * compiler: a test states exactly the backends it talks to.
 */
#ifndef WEIR_TESTS_TMODEL_H
#define WEIR_TESTS_TMODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"

struct tmodel {
	struct model m;
	struct model_service svc;
	struct model_svc_port ports[4];
	struct model_endpoint eps[4][2];
	struct model_pod pods[4][2];
};

/*
 * Allocates a tmodel with Service default/web at <vip> (network order) and no port yet.
 * Returns it (free with tmodel_free(), or publish it to a snap that does) or NULL.
 */
struct tmodel *tmodel_new(uint32_t vip);

/*
 * Adds Service port <port> to <t>, its endpoints on 127.0.0.1 ports <p0> and <p1> (0:
 * none), ready or not per <ready>. At most four ports.
 */
void tmodel_port(struct tmodel *t, uint16_t port, uint16_t p0, uint16_t p1, bool ready);

/* Frees a tmodel <obj> (<arg> unused): the snap free callback. */
void tmodel_free(void *obj, void *arg);

#endif /* WEIR_TESTS_TMODEL_H */
