// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for user/cgroup.c: the cgroup2 mount is found in mountinfo whatever its
 * place (hybrid hosts), with optional fields and octal escapes, and its absence is -ENOENT.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "datapath/cgroup.h"

static int cgroup_try(const char *content, char *buf, size_t len)
{
	char path[] = "/tmp/weirtest-mountinfo-XXXXXX";
	int fd = mkstemp(path), err;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	err = cgroup_find_root(path, buf, len);
	unlink(path);
	return err;
}

static void test_cgroup_find_root_table(void **state)
{
	static const struct {
		const char *mountinfo;
		int err;
		const char *want;
	} cases[] = {
	    {"24 1 0:22 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw\n", 0,
	     "/sys/fs/cgroup"},
	    /* hybrid: v1 controllers first, cgroup2 under "unified", no optional fields */
	    {"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	     "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	     "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n",
	     0, "/sys/fs/cgroup/unified"},
	    /* several optional fields, and a space escaped in the mount point */
	    {"50 1 0:40 / /mnt/my\\040cg rw shared:1 master:2 - cgroup2 none rw\n", 0,
	     "/mnt/my cg"},
	    {"31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n", -ENOENT, NULL},
	    {"", -ENOENT, NULL},
	    /* "cgroup2" as a mount option or source, not the fstype, must not match */
	    {"60 1 0:41 / /x rw - tmpfs cgroup2 rw\n", -ENOENT, NULL},
	};
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = cgroup_try(cases[i].mountinfo, buf, sizeof(buf));

		assert_int_equal(err, cases[i].err);
		if (!err)
			assert_string_equal(buf, cases[i].want);
	}
	assert_int_equal(cgroup_try("1 1 0:1 / /a/very/long rw - cgroup2 c rw\n", buf, 5),
			 -ENAMETOOLONG);
}

static void test_cgroup_find_root_self(void **state)
{
	char buf[256];
	int err = cgroup_find_root(NULL, buf, sizeof(buf));

	if (err == -ENOENT)
		skip(); /* a machine without cgroup2 */
	assert_int_equal(err, 0);
	assert_int_equal(access(buf, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cgroup_find_root_table),
	    cmocka_unit_test(test_cgroup_find_root_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
