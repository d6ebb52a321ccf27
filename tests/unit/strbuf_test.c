// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for strbuf: growth across many appends, printf past the first chunk, and
 * the escapers table-driven over the inputs the writers meet (quotes, backslashes,
 * control bytes, valid and broken UTF-8).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/strbuf.h"

static void test_strbuf_grow(void **state)
{
	struct strbuf sb;
	char *s;
	int i;

	strbuf_init(&sb);
	assert_string_equal(strbuf_str(&sb), "");
	for (i = 0; i < 10000; i++)
		assert_int_equal(strbuf_printf(&sb, "%d,", i % 10), 0);
	assert_int_equal(sb.len, 20000);
	assert_int_equal(strlen(strbuf_str(&sb)), 20000);
	assert_memory_equal(sb.buf, "0,1,2,", 6);
	/* One printf much larger than the buffer's spare room. */
	strbuf_reset(&sb);
	assert_int_equal(strbuf_printf(&sb, "%5000s|", "x"), 0);
	assert_int_equal(sb.len, 5001);
	assert_int_equal(sb.buf[5000], '|');
	s = strbuf_steal(&sb);
	assert_non_null(s);
	assert_int_equal(strlen(s), 5001);
	free(s);
	assert_null(sb.buf);
	s = strbuf_steal(&sb); /* empty buffer: "" not NULL */
	assert_string_equal(s, "");
	free(s);
	strbuf_fini(&sb);
}

static void test_strbuf_sticky_error(void **state)
{
	struct strbuf sb;

	strbuf_init(&sb);
	sb.err = -ENOMEM; /* as after a failed realloc */
	assert_int_equal(strbuf_puts(&sb, "x"), -ENOMEM);
	assert_int_equal(sb.len, 0);
	errno = 0;
	assert_null(strbuf_steal(&sb));
	assert_int_equal(errno, ENOMEM);
	strbuf_fini(&sb);
}

static void test_strbuf_escape_table(void **state)
{
	static const struct {
		enum strbuf_esc esc;
		const char *in, *out;
	} cases[] = {
	    {STRBUF_ESC_JSON, "plain", "plain"},
	    {STRBUF_ESC_JSON, "a\"b\\c", "a\\\"b\\\\c"},
	    {STRBUF_ESC_JSON, "l1\nl2\t", "l1\\nl2\\u0009"},
	    {STRBUF_ESC_JSON, "\x01", "\\u0001"},
	    {STRBUF_ESC_JSON, "caf\xc3\xa9", "caf\xc3\xa9"},	       /* valid UTF-8 kept */
	    {STRBUF_ESC_JSON, "x\xffy", "x\xef\xbf\xbdy"},	       /* stray byte */
	    {STRBUF_ESC_JSON, "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong */
	    {STRBUF_ESC_JSON, "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	    {STRBUF_ESC_JSON, "\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"}, /* truncated */
	    {STRBUF_ESC_JSON, "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
	    {STRBUF_ESC_DOT, "a\"b\\c", "a\\\"b\\\\c"},
	    {STRBUF_ESC_DOT, "l1\nl2", "l1 l2"},
	    {STRBUF_ESC_PROM, "a\"b\\c\nd", "a\\\"b\\\\c\\nd"},
	    {STRBUF_ESC_PROM, "", ""},
	};
	struct strbuf sb;
	size_t i;

	strbuf_init(&sb);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strbuf_reset(&sb);
		assert_int_equal(strbuf_append_esc(&sb, cases[i].in, cases[i].esc), 0);
		if (strcmp(strbuf_str(&sb), cases[i].out))
			fail_msg("case %zu: got \"%s\" want \"%s\"", i, strbuf_str(&sb),
				 cases[i].out);
	}
	strbuf_fini(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strbuf_grow),
	    cmocka_unit_test(test_strbuf_sticky_error),
	    cmocka_unit_test(test_strbuf_escape_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
