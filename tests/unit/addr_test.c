// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for user/addr.c: the listen-address spellings every agent flag accepts, and
 * the ones it refuses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "lib/addr.h"

static void test_addr_parse(void **state)
{
	static const struct {
		const char *in;
		int err, family, port;
	} cases[] = {
	    {"127.0.0.1:15000", 0, AF_INET, 15000},
	    {"0.0.0.0:0", 0, AF_INET, 0},
	    {"[::1]:15020", 0, AF_INET6, 15020},
	    {"[::]:65535", 0, AF_INET6, 65535},
	    {"127.0.0.1", -EINVAL, 0, 0},
	    {"127.0.0.1:", -EINVAL, 0, 0},
	    {"127.0.0.1:65536", -EINVAL, 0, 0},
	    {"127.0.0.1:-1", -EINVAL, 0, 0},
	    {"127.0.0.1:80x", -EINVAL, 0, 0},
	    {"127.0.0.1:+80", -EINVAL, 0, 0},
	    {"localhost:80", -EINVAL, 0, 0},
	    {"::1:80", -EINVAL, 0, 0},
	    {"[::1]80", -EINVAL, 0, 0},
	    {"[::1:80", -EINVAL, 0, 0},
	    {"[127.0.0.1]:80", -EINVAL, 0, 0},
	    {":80", -EINVAL, 0, 0},
	    {"", -EINVAL, 0, 0},
	    {"1.2.3.4.5:80", -EINVAL, 0, 0},
	};
	struct sockaddr_storage ss;
	socklen_t len;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = addr_parse(cases[i].in, &ss, &len);
		int p;

		if (err != cases[i].err)
			fail_msg("\"%s\": %d want %d", cases[i].in, err, cases[i].err);
		if (err)
			continue;
		assert_int_equal(ss.ss_family, cases[i].family);
		p = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						  : ((struct sockaddr_in6 *)&ss)->sin6_port);
		assert_int_equal(p, cases[i].port);
	}
	assert_int_equal(addr_parse(NULL, &ss, &len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
