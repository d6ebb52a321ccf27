// SPDX-License-Identifier: Apache-2.0
/*
 * `weirctl edges`: the raw service-graph counters of weir_edges, one row per (source,
 * destination, service, port, protocol, path), with workload and service names resolved.
 * Owns the decoders of struct weir_edge_key and struct weir_edge, which `map dump` reuses
 * (weir_peers values are edge keys too).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

static json_t *edges_json_path(uint8_t path)
{
	switch (path) {
	case WEIR_PATH_KERNEL:
		return json_string("kernel");
	case WEIR_PATH_AGENT:
		return json_string("agent");
	case WEIR_PATH_TC:
		return json_string("tc");
	default:
		return json_integer(path);
	}
}

json_t *edges_json_key(const struct ctl_names *names, const struct weir_edge_key *key)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	ctl_set(o, "source", ctl_json_workload(names, key->src_wl));
	ctl_set(o, "destination", ctl_json_workload(names, key->dst_wl));
	ctl_set(o, "service", ctl_json_service(names, key->svc_id));
	ctl_set(o, "dport", json_integer(key->dport));
	ctl_set(o, "protocol", ctl_json_proto(key->proto));
	ctl_set(o, "path", edges_json_path(key->path));
	return o;
}

json_t *edges_json_val(const struct weir_edge *val)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	ctl_set(o, "connections_opened", ctl_json_u64(val->conns_opened));
	ctl_set(o, "connections_closed", ctl_json_u64(val->conns_closed));
	ctl_set(o, "connections_active", json_integer(val->conns_active));
	ctl_set(o, "bytes_sent", ctl_json_u64(val->bytes_sent));
	ctl_set(o, "bytes_received", ctl_json_u64(val->bytes_rcvd));
	ctl_set(o, "packets_sent", ctl_json_u64(val->pkts_sent));
	ctl_set(o, "packets_received", ctl_json_u64(val->pkts_rcvd));
	ctl_set(o, "srtt_us_sum", ctl_json_u64(val->srtt_us_sum));
	ctl_set(o, "srtt_samples", ctl_json_u64(val->srtt_samples));
	/* The average is what a reader wants; null rather than 0 when nothing was sampled. */
	ctl_set(o, "srtt_us_avg",
		val->srtt_samples ? json_real((double)val->srtt_us_sum / val->srtt_samples)
				  : json_null());
	ctl_set(o, "last_ns", ctl_json_u64(val->last_ns));
	return o;
}

/* One edge of the listing: key and value decoded into one object. */
static json_t *edges_entry(void *ctx, const void *key, const void *val)
{
	json_t *o = edges_json_key(ctx, key), *v = edges_json_val(val);

	if (!o || !v) {
		json_decref(o);
		json_decref(v);
		return NULL;
	}
	json_object_update(o, v);
	json_decref(v);
	return o;
}

/* "<ns>/<name>" of a workload or service object, or "unknown". */
static const char *edges_who(const json_t *o, char *buf, size_t size)
{
	if (!json_is_true(json_object_get(o, "known")))
		return "unknown";
	snprintf(buf, size, "%s/%s", ctl_str(o, "namespace"), ctl_str(o, "name"));
	return buf;
}

static void edges_print_text(const json_t *edges)
{
	char src[256], dst[256], svc[256], port[32];
	const json_t *e, *proto, *avg;
	size_t i;

	printf("%-28s %-28s %-28s %-10s %-6s %8s %6s %12s %12s %9s\n", "SOURCE", "DESTINATION",
	       "SERVICE", "PORT", "PATH", "OPENED", "ACTIVE", "SENT", "RCVD", "SRTT(us)");
	for (i = 0; i < json_array_size(edges); i++) {
		e = json_array_get(edges, i);
		proto = json_object_get(e, "protocol");
		if (json_is_string(proto))
			snprintf(port, sizeof(port), "%lld/%s", ctl_int(e, "dport"),
				 json_string_value(proto));
		else
			snprintf(port, sizeof(port), "%lld/%lld", ctl_int(e, "dport"),
				 json_integer_value(proto));
		avg = json_object_get(e, "srtt_us_avg");
		printf("%-28s %-28s %-28s %-10s %-6s %8lld %6lld %12lld %12lld ",
		       edges_who(json_object_get(e, "source"), src, sizeof(src)),
		       edges_who(json_object_get(e, "destination"), dst, sizeof(dst)),
		       edges_who(json_object_get(e, "service"), svc, sizeof(svc)), port,
		       json_is_string(json_object_get(e, "path")) ? ctl_str(e, "path") : "?",
		       ctl_int(e, "connections_opened"), ctl_int(e, "connections_active"),
		       ctl_int(e, "bytes_sent"), ctl_int(e, "bytes_received"));
		if (json_is_real(avg))
			printf("%9.0f\n", json_real_value(avg));
		else
			printf("%9s\n", "-");
	}
}

int do_edges(int argc, char **argv)
{
	static const struct ctl_list list = {
	    .map = "weir_edges",
	    .key_size = sizeof(struct weir_edge_key),
	    .value_size = sizeof(struct weir_edge),
	    .member = "edges",
	    .entry = edges_entry,
	    .print_text = edges_print_text,
	};

	return ctl_list(argc, argv, &list);
}
