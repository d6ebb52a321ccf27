// SPDX-License-Identifier: Apache-2.0
/*
 * `weirctl services`: every Service port the datapath balances (weir_services: VIP:port:
 * protocol -> mode and backends) with the Service names from weir_svc_info and the
 * backends' workloads. Owns the decoders of struct weir_svc_key and struct weir_svc.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "ctl.h"

/* Bit names of weir_backend.flags (WEIR_BE_*). */
static const char *const services_be_flags[] = {"unhealthy"};

static json_t *services_json_mode(uint16_t mode)
{
	switch (mode) {
	case WEIR_MODE_KERNEL:
		return json_string("kernel");
	case WEIR_MODE_AGENT:
		return json_string("agent");
	default:
		return json_integer(mode);
	}
}

json_t *services_json_key(const struct weir_svc_key *key)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	ctl_set(o, "vip", ctl_json_ip(key->vip));
	ctl_set(o, "port", json_integer(ntohs(key->port)));
	ctl_set(o, "protocol", ctl_json_proto(key->proto));
	return o;
}

static json_t *services_json_backend(const struct ctl_names *names, const struct weir_backend *be)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	ctl_set(o, "ip", ctl_json_ip(be->ip));
	ctl_set(o, "port", json_integer(ntohs(be->port)));
	ctl_set(o, "weight", json_integer(be->weight));
	ctl_set(o, "healthy", json_boolean(!(be->flags & WEIR_BE_UNHEALTHY)));
	ctl_set(o, "flags", ctl_json_flags(be->flags, services_be_flags, 1));
	ctl_set(o, "workload", ctl_json_workload(names, be->wl_id));
	return o;
}

json_t *services_json_svc(const struct ctl_names *names, const struct weir_svc *svc)
{
	json_t *o = json_object(), *a = json_array();
	unsigned i, count = svc->count;

	if (!o || !a) {
		json_decref(o);
		json_decref(a);
		return NULL;
	}
	/* count is written by the agent; never read past the array whatever it says. */
	if (count > WEIR_MAX_BACKENDS)
		count = WEIR_MAX_BACKENDS;
	ctl_set(o, "id", json_integer(svc->id));
	ctl_set(o, "mode", services_json_mode(svc->mode));
	ctl_set(o, "flags", json_integer(svc->flags));
	ctl_set(o, "count", json_integer(svc->count));
	for (i = 0; i < count; i++)
		ctl_append(a, services_json_backend(names, &svc->backends[i]));
	ctl_set(o, "backends", a);
	return o;
}

/* One Service port of the listing: the service's names, then key and value decoded. */
static json_t *services_entry(void *ctx, const void *key, const void *val)
{
	const struct weir_svc *svc = val;
	json_t *o, *k, *v;

	o = ctl_json_service(ctx, svc->id);
	k = services_json_key(key);
	v = services_json_svc(ctx, svc);
	if (!o || !k || !v) {
		json_decref(o);
		json_decref(k);
		json_decref(v);
		return NULL;
	}
	json_object_update(o, k);
	json_object_update(o, v);
	json_decref(k);
	json_decref(v);
	return o;
}

static void services_print_text(const json_t *svcs)
{
	const json_t *s, *b, *bes;
	char who[256], addr[64];
	size_t i, j;

	printf("%-40s %-28s %-7s %s\n", "SERVICE", "VIP:PORT/PROTO", "MODE", "BACKENDS");
	for (i = 0; i < json_array_size(svcs); i++) {
		s = json_array_get(svcs, i);
		snprintf(who, sizeof(who), "%s/%s", ctl_str(s, "namespace"), ctl_str(s, "name"));
		if (!json_is_true(json_object_get(s, "known")))
			snprintf(who, sizeof(who), "unknown (id %lld)", ctl_int(s, "id"));
		snprintf(addr, sizeof(addr), "%s:%lld/%s", ctl_str(s, "vip"), ctl_int(s, "port"),
			 ctl_str(s, "protocol"));
		printf("%-40s %-28s %-7s", who, addr, ctl_str(s, "mode"));
		if (!json_array_size(json_object_get(s, "backends")))
			printf(" -");
		bes = json_object_get(s, "backends");
		for (j = 0; j < json_array_size(bes); j++) {
			b = json_array_get(bes, j);
			printf(" %s:%lld(w%lld%s)", ctl_str(b, "ip"), ctl_int(b, "port"),
			       ctl_int(b, "weight"),
			       json_is_true(json_object_get(b, "healthy")) ? "" : ",unhealthy");
		}
		printf("\n");
	}
}

int do_services(int argc, char **argv)
{
	static const struct ctl_list list = {
	    .map = "weir_services",
	    .key_size = sizeof(struct weir_svc_key),
	    .value_size = sizeof(struct weir_svc),
	    .member = "services",
	    .entry = services_entry,
	    .print_text = services_print_text,
	};

	return ctl_list(argc, argv, &list);
}
