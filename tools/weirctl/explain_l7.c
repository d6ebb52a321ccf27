// SPDX-License-Identifier: Apache-2.0
/*
 * The L7 step of `weirctl explain`: for a Service port on the agent path, asks the agent to
 * run its router on a request with the attributes given on the command line (--header,
 * --path, --method) from the Pod (GET /routes/explain, user/admin/routes_explain.c), and
 * adds the answer as the "l7" object: the route taken and why, the others' failed
 * conditions, destinations, backends, timeout, retries, fault and header changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "ctl.h"
#include "explain.h"

/* Whether <s> (<len> bytes) is an HTTP token (RFC 9110 tchar): method and field names. */
static bool explain_l7_token(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", c)))
			return false;
	}
	return true;
}

/* The value of option <name> at argv[*<i>] ("--name V" or "--name=V"), or NULL. */
/*
 * Both spellings, as main() accepts for the global options; "--header=a=b" splits at the
 * first '=' after the option name, so a value may hold '=' either way.
 */
static const char *explain_l7_opt(int argc, char **argv, int *i, const char *name, bool *missing)
{
	size_t len = strlen(name);
	const char *a = argv[*i];

	*missing = false;
	if (strncmp(a, name, len))
		return NULL;
	if (a[len] == '=')
		return a + len + 1;
	if (a[len])
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

/*
 * Taken out before ctl_args_done() sees the words, which refuses anything that starts with
 * '-' as an unknown option: the positional POD and SERVICE:PORT keep their places whatever
 * the order on the command line. Values are checked here, not at the agent, so a typo is a
 * usage error (exit 2) before anything is asked.
 */
int explain_l7_args(int *argc, char **argv, struct explain_l7_args *l7)
{
	static const char *const names[] = {"--header", "--path", "--method"};
	const char *v = NULL;
	bool missing = false;
	int i, k, out = 1;

	memset(l7, 0, sizeof(*l7));
	for (i = 1; i < *argc; i++) {
		for (k = 0; k < 3; k++) {
			v = explain_l7_opt(*argc, argv, &i, names[k], &missing);
			if (v || missing)
				break;
		}
		if (missing) {
			ctl_err("explain: option '%s' needs a value", names[k]);
			return CTL_USAGE;
		}
		if (!v) {
			argv[out++] = argv[i]; /* not ours: the noun's arguments */
			continue;
		}
		l7->given = true;
		if (k == 0) {
			const char *eq = strchr(v, '=');

			if (!eq || !explain_l7_token(v, (size_t)(eq - v))) {
				ctl_err("explain: --header '%s': want NAME=VALUE with NAME an HTTP "
					"field name",
					v);
				return CTL_USAGE;
			}
			if (strpbrk(eq + 1, "\r\n")) {
				ctl_err("explain: --header '%.*s': the value holds a line break",
					(int)(eq - v), v);
				return CTL_USAGE;
			}
			if (l7->nhdrs == EXPLAIN_L7_MAX_HDRS) {
				ctl_err("explain: more than %d --header options",
					EXPLAIN_L7_MAX_HDRS);
				return CTL_USAGE;
			}
			l7->hdrs[l7->nhdrs++] = v;
		} else if (k == 1) {
			if (v[0] != '/' || strpbrk(v, " \t\r\n")) {
				ctl_err("explain: --path '%s': want an origin-form path such as "
					"/reviews/1?x=y",
					v);
				return CTL_USAGE;
			}
			l7->path = v;
		} else {
			if (!explain_l7_token(v, strlen(v))) {
				ctl_err("explain: --method '%s' is not an HTTP method", v);
				return CTL_USAGE;
			}
			l7->method = v;
		}
	}
	*argc = out;
	argv[out] = NULL;
	return CTL_OK;
}

/* "&<name>=<escaped value>" appended to <url>. */
/* Values are escaped: a header value may hold '&', '=', '%' or spaces. */
static int explain_l7_param(char *url, size_t size, const char *name, const char *value)
{
	size_t len = strlen(url);

	if (len + strlen(name) + 3 > size)
		return -1;
	snprintf(url + len, size - len, "&%s=", name);
	return ctl_url_append(url, size, value);
}

/* {"checked": false, "note": <why>}, with <why> also in x->unchecked when <note_it>. */
/*
 * Only noted when the user asked something L7 (<note_it>): explain without attributes on a
 * plain TCP Service must keep "unchecked" empty when everything else was checked.
 */
static json_t *explain_l7_unchecked(struct explain *x, const char *why, bool note_it)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	ctl_set(o, "checked", json_false());
	ctl_set(o, "applies", json_null());
	ctl_set(o, "note", json_string(why));
	if (note_it)
		explain_note(x->unchecked, "the L7 route: %s", why);
	return o;
}

/*
 * The names come from the agent's model (x->apod, x->asvc), never from the arguments as
 * typed: "reviews" and "198.19.0.12" must ask about the same Service.
 */
json_t *explain_l7(struct explain *x, const struct explain_l7_args *l7)
{
	char url[6144], err[CTL_ADMIN_ERR_LEN], why[CTL_ADMIN_ERR_LEN + 64];
	int bad = 0;
	json_t *j;
	size_t i;

	if (!x->status)
		return explain_l7_unchecked(x, "the agent does not answer", l7->given);
	if (!x->apod || !x->asvc)
		return explain_l7_unchecked(
		    x, "the agent's model does not name the Pod and the Service", l7->given);
	if (x->key.proto != IPPROTO_TCP)
		return explain_l7_unchecked(x, "UDP: no HTTP route applies", false);
	snprintf(url, sizeof(url), "/routes/explain?port=%u", ntohs(x->key.port));
	snprintf(why, sizeof(why), "%s/%s", ctl_str(x->apod, "namespace"),
		 ctl_str(x->apod, "name"));
	bad |= explain_l7_param(url, sizeof(url), "pod", why);
	snprintf(why, sizeof(why), "%s/%s", ctl_str(x->asvc, "namespace"),
		 ctl_str(x->asvc, "name"));
	bad |= explain_l7_param(url, sizeof(url), "service", why);
	if (l7->method)
		bad |= explain_l7_param(url, sizeof(url), "method", l7->method);
	if (l7->path)
		bad |= explain_l7_param(url, sizeof(url), "path", l7->path);
	for (i = 0; i < l7->nhdrs; i++)
		bad |= explain_l7_param(url, sizeof(url), "header", l7->hdrs[i]);
	if (bad)
		return explain_l7_unchecked(x, "the request's attributes are too long to ask for",
					    true);
	j = ctl_admin_get(url, err, sizeof(err));
	if (!j || !json_is_object(j)) {
		json_decref(j);
		snprintf(why, sizeof(why), "the agent's /routes/explain did not answer: %s",
			 j ? "not a JSON object" : err);
		return explain_l7_unchecked(x, why, true);
	}
	ctl_set(j, "checked", json_true());
	return j;
}

/*
 * "route" predates the l7 object and stays: null as before when nothing routes at L7, the
 * route's name when one does, so older scripts keep working.
 */
void explain_l7_route(const json_t *l7, json_t *root)
{
	const json_t *route = json_object_get(l7, "route");

	if (json_is_true(json_object_get(l7, "applies"))) {
		ctl_set(root, "route",
			json_is_object(route) ? json_incref(json_object_get(route, "name"))
					      : json_null());
		ctl_set(root, "route_note",
			json_string(ctl_str(l7, "explanation")[0] ? ctl_str(l7, "explanation")
								  : "the agent routes it"));
		return;
	}
	ctl_set(root, "route", json_null());
	ctl_set(root, "route_note",
		json_string(ctl_str(l7, "note")[0] ? ctl_str(l7, "note") : "no L7 route applies"));
}

void explain_l7_print(const json_t *root)
{
	const json_t *l7 = json_object_get(root, "l7"), *a, *d, *m, *r;
	size_t i, j;

	if (!json_is_true(json_object_get(l7, "applies"))) {
		printf("Route     none (%s)\n", ctl_str(root, "route_note"));
		return;
	}
	r = json_object_get(l7, "request");
	printf("Route     %s %s%s: %s (%s)\n", ctl_str(r, "method"), ctl_str(r, "authority"),
	       ctl_str(r, "path"), ctl_str(l7, "verdict"), ctl_str(l7, "explanation"));
	a = json_object_get(l7, "tried");
	for (i = 0; i < json_array_size(a); i++) {
		const json_t *t = json_array_get(a, i), *ms = json_object_get(t, "matches");

		printf("          [%lld] %-24s %s", ctl_int(t, "index"), ctl_str(t, "name"),
		       json_is_true(json_object_get(t, "taken")) ? "taken" : "not taken:");
		for (j = 0; !json_is_true(json_object_get(t, "taken")) && j < json_array_size(ms);
		     j++) {
			m = json_array_get(ms, j);
			printf(" match %lld fails %s", ctl_int(m, "index"), ctl_str(m, "failed"));
		}
		printf("\n");
	}
	a = json_object_get(l7, "destinations");
	for (i = 0; i < json_array_size(a); i++) {
		d = json_array_get(a, i);
		printf("          to %s (%.0f%%, %s): %lld candidate backends\n",
		       ctl_str(d, "cluster"),
		       100.0 * json_number_value(json_object_get(d, "probability")),
		       ctl_str(d, "outcome"), ctl_int(d, "candidates"));
	}
	if (json_is_integer(json_object_get(l7, "status")))
		printf("          answered locally with %lld\n", ctl_int(l7, "status"));
	printf("          timeout %lld ms, %lld retries\n", ctl_int(l7, "timeout_ms"),
	       ctl_int(json_object_get(l7, "retries"), "attempts"));
	if (json_is_object(json_object_get(l7, "fault")))
		printf("          fault injection applies\n");
}
