// SPDX-License-Identifier: Apache-2.0
/*
 * The C interface of lib/regex.h over RE2. The only C++ in the agent: RE2 has no C API,
 * and linear-time matching is the point (PCRE2 backtracks; its match limits bound the harm
 * but turn a slow match into a wrong "no match").
 */
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include <re2/re2.h>

#include "lib/regex.h"

struct regex {
	RE2 re;
	regex(const char *p, size_t n, const RE2::Options &o) : re(re2::StringPiece(p, n), o)
	{
	}
};

extern "C" struct regex *regex_new(const char *pattern, size_t len, char *err, size_t errlen)
{
	RE2::Options o;
	o.set_log_errors(false);
	o.set_max_mem(1 << 20);
	struct regex *r = new (std::nothrow) regex(pattern, len, o);

	if (!r) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return nullptr;
	}
	if (!r->re.ok() || r->re.ProgramSize() > REGEX_MAX_PROGRAM) {
		if (err && errlen)
			snprintf(err, errlen, "%s",
				 r->re.ok() ? "pattern too complex" : r->re.error().c_str());
		delete r;
		return nullptr;
	}
	return r;
}

extern "C" void regex_free(struct regex *re)
{
	delete re;
}

extern "C" bool regex_full_match(const struct regex *re, const char *s, size_t len)
{
	return RE2::FullMatch(re2::StringPiece(s, len), re->re);
}

extern "C" bool regex_partial_match(const struct regex *re, const char *s, size_t len)
{
	return RE2::PartialMatch(re2::StringPiece(s, len), re->re);
}

extern "C" long regex_replace(const struct regex *re, const char *s, size_t len,
			      const char *rewrite, char *out, size_t outlen)
{
	std::string str(s, len), why;

	if (!re->re.CheckRewriteString(rewrite, &why))
		return -1;
	RE2::GlobalReplace(&str, re->re, rewrite);
	if (str.size() + 1 > outlen)
		return -1;
	memcpy(out, str.data(), str.size());
	out[str.size()] = '\0';
	return (long)str.size();
}
