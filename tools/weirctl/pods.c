// SPDX-License-Identifier: Apache-2.0
/*
 * `weirctl pods`: the Pods enrolled on this node, as the datapath knows them: weir_netns
 * (netns cookie -> workload id, address) joined with the names in weir_wl_info. Also owns
 * the decoders of struct weir_pod and struct weir_ip, which `map dump` reuses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* Bit names of weir_pod.flags (WEIR_POD_*) and weir_ip.flags (WEIR_IP_*). */
static const char *const pods_pod_flags[] = {"splice"};
static const char *const pods_ip_flags[] = {"local", "agent", "pod"};

json_t *pods_json_pod(const struct ctl_names *names, const struct weir_pod *pod)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	ctl_set(o, "ip", ctl_json_ip(pod->ip));
	ctl_set(o, "flags", ctl_json_flags(pod->flags, pods_pod_flags, 1));
	ctl_set(o, "workload", ctl_json_workload(names, pod->wl_id));
	return o;
}

json_t *pods_json_ip(const struct ctl_names *names, const struct weir_ip *ip)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	ctl_set(o, "flags", ctl_json_flags(ip->flags, pods_ip_flags, 3));
	ctl_set(o, "workload", ctl_json_workload(names, ip->wl_id));
	return o;
}

/* One Pod of the listing: {"cookie"} followed by the weir_pod decoder's fields. */
static json_t *pods_entry(void *ctx, const void *key, const void *val)
{
	json_t *o = json_object(), *pod;
	uint64_t cookie;

	memcpy(&cookie, key, sizeof(cookie));
	pod = pods_json_pod(ctx, val);
	if (!o || !pod) {
		json_decref(o);
		json_decref(pod);
		return NULL;
	}
	ctl_set(o, "cookie", ctl_json_hex64(cookie));
	json_object_update(o, pod);
	json_decref(pod);
	return o;
}

static void pods_print_text(const json_t *pods)
{
	const json_t *p, *wl, *flags;
	char who[256], app[160];
	size_t i, j;

	printf("%-18s %-15s %-40s %-24s %-16s %s\n", "COOKIE", "IP", "WORKLOAD", "APP",
	       "SERVICEACCOUNT", "FLAGS");
	for (i = 0; i < json_array_size(pods); i++) {
		p = json_array_get(pods, i);
		wl = json_object_get(p, "workload");
		if (json_is_true(json_object_get(wl, "known")))
			snprintf(who, sizeof(who), "%s/%s", ctl_str(wl, "namespace"),
				 ctl_str(wl, "name"));
		else
			snprintf(who, sizeof(who), "unknown (id %lld)", ctl_int(wl, "id"));
		snprintf(app, sizeof(app), "%s%s%s", ctl_str(wl, "app"),
			 ctl_str(wl, "version")[0] ? ":" : "", ctl_str(wl, "version"));
		printf("%-18s %-15s %-40s %-24s %-16s", ctl_str(p, "cookie"), ctl_str(p, "ip"), who,
		       app[0] ? app : "-",
		       ctl_str(wl, "service_account")[0] ? ctl_str(wl, "service_account") : "-");
		flags = json_object_get(p, "flags");
		for (j = 0; j < json_array_size(flags); j++)
			printf("%s%s", j ? "," : " ", json_string_value(json_array_get(flags, j)));
		printf("\n");
	}
}

int do_pods(int argc, char **argv)
{
	static const struct ctl_list list = {
	    .map = "weir_netns",
	    .key_size = sizeof(uint64_t),
	    .value_size = sizeof(struct weir_pod),
	    .member = "pods",
	    .entry = pods_entry,
	    .print_text = pods_print_text,
	};

	return ctl_list(argc, argv, &list);
}
