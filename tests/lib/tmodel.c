// SPDX-License-Identifier: Apache-2.0
/*
 * The hand-built test model of tmodel.h. Everything lives in one allocation, so a snap's
 * free callback is a plain free().
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "tmodel.h"

struct tmodel *tmodel_new(uint32_t vip)
{
	struct tmodel *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->m.generation = 1;
	t->m.services = &t->svc;
	t->m.nservices = 1;
	t->svc = (struct model_service){
	    .ns = "default", .name = "web", .vip = vip, .mode = 1, .ports = t->ports};
	return t;
}

void tmodel_free(void *obj, void *arg)
{
	free(obj);
}

void tmodel_port(struct tmodel *t, uint16_t port, uint16_t p0, uint16_t p1, bool ready)
{
	size_t k = t->svc.nports;
	struct model_svc_port *sp;
	uint16_t bp[2] = {p0, p1};

	if (k >= sizeof(t->ports) / sizeof(t->ports[0]))
		abort(); /* a test's own mistake: fail loudly */
	t->svc.nports++;
	sp = &t->ports[k];
	sp->name = "http";
	sp->port = port;
	sp->proto = IPPROTO_TCP;
	sp->app_proto = "http";
	sp->eps = t->eps[k];
	for (int i = 0; i < 2 && bp[i]; i++) {
		t->pods[k][i] = (struct model_pod){.ns = "default",
						   .name = "pod",
						   .weight = 1,
						   .ready = ready,
						   .ip = htonl(INADDR_LOOPBACK)};
		t->eps[k][i] = (struct model_endpoint){.ip = htonl(INADDR_LOOPBACK),
						       .port = bp[i],
						       .ready = ready,
						       .pod = &t->pods[k][i]};
		sp->neps++;
	}
}
