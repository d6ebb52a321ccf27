/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Regular expressions with RE2's syntax and guarantees, as Istio's StringMatch.regex and
 * Envoy's safe_regex use: matching is linear in the input (no backtracking, so a hostile
 * pattern or header cannot stall a worker) and patterns are bounded in compiled size.
 * A C interface over RE2 (regex.cc); a compiled pattern is immutable and safe to use from
 * every worker at once.
 */
#ifndef WEIR_LIB_REGEX_H
#define WEIR_LIB_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct regex;

/* Compiled program size a pattern may reach (Envoy's default max_program_size is 100). */
#define REGEX_MAX_PROGRAM 1000

/*
 * Compiles <pattern> (<len> bytes, RE2 syntax). On error returns NULL and, when <err> is
 * not NULL, writes RE2's reason (or "pattern too complex") into <err>/<errlen>.
 */
struct regex *regex_new(const char *pattern, size_t len, char *err, size_t errlen);

/* Frees <re>. Accepts NULL. */
void regex_free(struct regex *re);

/* Whether <re> matches the whole of <s>/<len> (Envoy's and Istio's semantics). */
bool regex_full_match(const struct regex *re, const char *s, size_t len);

/* Whether <re> matches somewhere in <s>/<len>. */
bool regex_partial_match(const struct regex *re, const char *s, size_t len);

/*
 * Replaces every match of <re> in <s>/<len> with <rewrite> (\1..\9 name groups), as
 * Istio's uriRegexRewrite, into <out>/<outlen> (NUL-terminated). Returns the length written,
 * or -1 when it does not fit or <rewrite> names a group <re> lacks.
 */
long regex_replace(const struct regex *re, const char *s, size_t len, const char *rewrite,
		   char *out, size_t outlen);

#ifdef __cplusplus
}
#endif

#endif /* WEIR_LIB_REGEX_H */
