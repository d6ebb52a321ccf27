// SPDX-License-Identifier: Apache-2.0
/*
 * `weirctl routes`: the route tables the agent compiled from VirtualServices and
 * DestinationRules (its GET /routes, built by user/admin/routes.c): per Service port the
 * protocol, the path it takes and why, the routes in the order they are tried and the
 * clusters with their policy. The tables live in the agent's snapshot, not in a pinned
 * map, so this noun needs the agent.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* Prints StringMatch <m> ({"exact": v} ...) as "exact:v" into <buf>. */
static const char *routes_strmatch(const json_t *m, char *buf, size_t size)
{
	const char *k;
	json_t *v;

	if (!json_is_object(m))
		return "any";
	json_object_foreach((json_t *)m, k, v)
	{
		if (!strcmp(k, "ignore_case"))
			continue;
		if (json_is_string(v))
			snprintf(buf, size, "%s:%s", k, json_string_value(v));
		else
			snprintf(buf, size, "%s", k);
		return buf;
	}
	return "any";
}

/* One match as "uri=prefix:/a method=exact:GET end-user=exact:jason ...". */
/*
 * Compact on purpose: one line per match, headers as name=kind:value, "!" for
 * withoutHeaders and "?" for query parameters; -o json has everything.
 */
static void routes_print_match(const json_t *m)
{
	static const char *const strs[] = {"uri", "scheme", "method", "authority"};
	static const char *const maps[] = {"headers", "without_headers", "query_params"};
	char buf[512];
	const char *k;
	json_t *v;
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		v = json_object_get(m, strs[i]);
		if (json_is_object(v))
			n += printf(" %s=%s", strs[i], routes_strmatch(v, buf, sizeof(buf)));
	}
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		json_object_foreach(json_object_get(m, maps[i]), k, v)
		{
			n += printf(" %s%s=%s",
				    i == 1   ? "!"
				    : i == 2 ? "?"
					     : "",
				    k, routes_strmatch(v, buf, sizeof(buf)));
		}
	}
	if (json_is_integer(json_object_get(m, "port")))
		n += printf(" port=%lld", ctl_int(m, "port"));
	json_object_foreach(json_object_get(m, "source_labels"), k, v)
	{
		n += printf(" source.%s=%s", k, json_string_value(v));
	}
	if (ctl_str(m, "source_namespace")[0])
		n += printf(" source.namespace=%s", ctl_str(m, "source_namespace"));
	if (!n)
		printf(" (empty)");
}

/* The destinations of route <r> as "v2 100%, v1 20%" (subset, else the cluster). */
static void routes_print_dests(const json_t *dests)
{
	const json_t *d;
	size_t i;

	for (i = 0; i < json_array_size(dests); i++) {
		d = json_array_get(dests, i);
		printf("%s%s %.0f%%%s", i ? ", " : "",
		       ctl_str(d, "subset")[0] ? ctl_str(d, "subset") : ctl_str(d, "host"),
		       json_number_value(json_object_get(d, "percent")),
		       json_is_true(json_object_get(d, "subset_unknown")) ? " (undefined subset)"
									  : "");
	}
}

static void routes_print_http(const json_t *r, size_t idx)
{
	const json_t *ms = json_object_get(r, "matches"), *x;
	size_t i;

	printf("    [%zu] %s\n", idx, ctl_str(r, "name"));
	if (!json_array_size(ms))
		printf("        match any request\n");
	for (i = 0; i < json_array_size(ms); i++) {
		printf("        %s", i ? "or   " : "match");
		routes_print_match(json_array_get(ms, i));
		printf("\n");
	}
	if ((x = json_object_get(r, "redirect")) && json_is_object(x))
		printf("        redirect %lld to %s\n", ctl_int(x, "code"),
		       ctl_str(x, "uri")[0] ? ctl_str(x, "uri") : "(same path)");
	else if ((x = json_object_get(r, "direct_response")) && json_is_object(x))
		printf("        respond %lld\n", ctl_int(x, "status"));
	else {
		printf("        to    ");
		routes_print_dests(json_object_get(r, "destinations"));
		printf("\n");
	}
	if (ctl_int(r, "timeout_ms"))
		printf("        timeout %lld ms\n", ctl_int(r, "timeout_ms"));
	x = json_object_get(r, "retries");
	printf("        retries %lld", ctl_int(x, "attempts"));
	if (ctl_int(x, "per_try_timeout_ms"))
		printf(" (per try %lld ms)", ctl_int(x, "per_try_timeout_ms"));
	printf("\n");
	if (json_is_object(json_object_get(r, "fault")))
		printf("        fault injection\n");
	if ((x = json_object_get(r, "mirror")) && json_is_object(x))
		printf("        mirror to %s (%.1f%%)\n", ctl_str(x, "cluster"),
		       json_number_value(json_object_get(x, "percent")));
	if ((x = json_object_get(r, "rewrite")) && json_is_object(x))
		printf("        rewrite uri %s\n", ctl_str(x, "uri")[0] ? ctl_str(x, "uri") : "-");
	if (json_is_object(json_object_get(r, "headers")))
		printf("        header operations\n");
}

/*
 * The human table: one line per port, its reasons, then its routes and clusters indented
 * under it, so the order on screen is the order the router tries.
 */
static void routes_print_text(const json_t *root)
{
	const json_t *ports = json_object_get(root, "ports"), *p, *a, *c;
	char what[300];
	size_t i, j;

	printf("%-36s %-6s %-6s %-7s %s\n", "SERVICE:PORT", "PROTO", "PATH", "ROUTES",
	       "VIRTUALSERVICE");
	for (i = 0; i < json_array_size(ports); i++) {
		p = json_array_get(ports, i);
		snprintf(what, sizeof(what), "%s/%s:%lld", ctl_str(p, "namespace"),
			 ctl_str(p, "service"), ctl_int(p, "port"));
		printf("%-36s %-6s %-6s %-7zu %s\n", what, ctl_str(p, "protocol"),
		       ctl_str(p, "path"),
		       json_array_size(json_object_get(p, "http")) +
			   json_array_size(json_object_get(p, "tcp")),
		       ctl_str(p, "virtual_service")[0] ? ctl_str(p, "virtual_service") : "-");
		a = json_object_get(p, "path_reasons");
		for (j = 0; j < json_array_size(a); j++)
			printf("    why: %s\n", json_string_value(json_array_get(a, j)));
		a = json_object_get(p, "http");
		for (j = 0; j < json_array_size(a); j++)
			routes_print_http(json_array_get(a, j), j);
		a = json_object_get(p, "tcp");
		for (j = 0; j < json_array_size(a); j++) {
			printf("    [tcp %zu] to ", j);
			routes_print_dests(json_object_get(json_array_get(a, j), "destinations"));
			printf("\n");
		}
		a = json_object_get(p, "clusters");
		for (j = 0; j < json_array_size(a); j++) {
			const json_t *eps, *pol;
			size_t k, ready = 0;

			c = json_array_get(a, j);
			eps = json_object_get(c, "endpoints");
			pol = json_object_get(c, "policy");
			for (k = 0; k < json_array_size(eps); k++)
				ready +=
				    json_is_true(json_object_get(json_array_get(eps, k), "ready"));
			printf("    cluster %s: %zu/%zu endpoints ready, lb %s%s%s\n",
			       ctl_str(c, "name"), ready, json_array_size(eps),
			       ctl_str(json_object_get(pol, "load_balancer"), "policy"),
			       json_is_object(json_object_get(pol, "outlier_detection"))
				   ? ", outlier detection"
				   : "",
			       json_is_true(json_object_get(c, "subset_unknown"))
				   ? ", subset undefined (503 NC)"
				   : "");
		}
	}
	if (ctl_int(root, "compile_errors"))
		printf("%lld objects were rejected while compiling (see the agent's log)\n",
		       ctl_int(root, "compile_errors"));
}

int do_routes(int argc, char **argv)
{
	char err[CTL_ADMIN_ERR_LEN];
	json_t *root;
	int rc;

	if (ctl_args_done(argc, argv, 0, false, &rc))
		return rc;
	root = ctl_admin_get("/routes", err, sizeof(err));
	if (!root) {
		ctl_err("routes: the agent's admin API (%s) did not answer: %s; the route tables "
			"live in the agent, not in the pinned maps",
			ctl.admin[0] ? ctl.admin : "''", err);
		return CTL_FAIL;
	}
	if (!json_is_array(json_object_get(root, "ports"))) {
		ctl_err("routes: the agent's /routes answer has no \"ports\" array (an older "
			"agent?)");
		json_decref(root);
		return CTL_FAIL;
	}
	return ctl_emit(root, routes_print_text, root);
}
