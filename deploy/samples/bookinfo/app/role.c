// SPDX-License-Identifier: Apache-2.0
/*
 * What makes the one bookinfo program behave as each of Istio's bookinfo services where the
 * traffic tasks look: the timeout, retry and failure handling of each service-to-service call,
 * the star colour of each reviews version, and where the logged-in user's name comes from.
 * Plain functions over strings, so the unit tests pin them down without sockets.
 */
#include <errno.h>
#include <string.h>

#include "bookinfo.h"

/*
 * The pairs Istio's bookinfo hard-codes (productpage.py, LibertyRestEndpoint.java). The
 * productpage -> reviews retry is deliberate in Istio: the fault-injection task relies on
 * 2 x 3 s being shorter than the 7 s ratings delay. Istio's reviews v3 uses 2.5 s for ratings;
 * weir's e2e tasks only inject delays on the v2 path, so one 10 s value serves both.
 */
static const struct role_pair {
	const char *self;
	const char *target;
	unsigned timeout_ms;
	unsigned attempts;
	const char *soft_msg;
} role_pairs[] = {
    {"productpage", "reviews", 3000, 2,
     "Sorry, product reviews are currently unavailable for this book."},
    {"productpage", "details", 3000, 1,
     "Sorry, product details are currently unavailable for this book."},
    {"reviews", "ratings", 10000, 1, "Ratings service is currently unavailable"},
};

int role_call_policy(const char *self, const char *host, unsigned timeout_ms, struct role_call *rc)
{
	size_t n = strcspn(host, ".:");
	size_t i;

	if (n == 0 || n >= sizeof(rc->target))
		return -EINVAL;
	memcpy(rc->target, host, n);
	rc->target[n] = '\0';
	rc->timeout_ms = timeout_ms;
	rc->attempts = 1;
	rc->soft_msg = NULL;
	for (i = 0; i < sizeof(role_pairs) / sizeof(role_pairs[0]); i++) {
		if (strcmp(self, role_pairs[i].self) != 0 ||
		    strcmp(rc->target, role_pairs[i].target) != 0)
			continue;
		rc->timeout_ms = role_pairs[i].timeout_ms;
		rc->attempts = role_pairs[i].attempts;
		rc->soft_msg = role_pairs[i].soft_msg;
		break;
	}
	return 0;
}

const char *role_stars(const char *self, const char *version)
{
	if (strcmp(self, "reviews") != 0)
		return NULL;
	if (strcmp(version, "v2") == 0)
		return "black";
	if (strcmp(version, "v3") == 0)
		return "red";
	return NULL;
}

int role_user_ok(const char *v)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > 63)
		return 0;
	/* Visible ASCII that a cookie value may hold (RFC 6265 cookie-octet): the name goes
	 * into an outbound header and into JSON as is, and header and cookie must agree. */
	for (i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e || strchr("\",;\\", v[i]))
			return 0;
	return 1;
}

int role_cookie_get(const char *cookie, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name), vl;
	const char *p = cookie, *v, *end;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		end = p + strcspn(p, ";");
		if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			v = p + nl + 1;
			vl = (size_t)(end - v);
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			/* RFC 6265 allows a quoted value; the quotes are not part of it. */
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			if (vl == 0 || vl >= len)
				return -EINVAL;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			return role_user_ok(buf) ? 0 : -EINVAL;
		}
		p = end;
	}
	return -ENOENT;
}
