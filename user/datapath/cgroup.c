// SPDX-License-Identifier: Apache-2.0
/*
 * cgroup2 discovery from mountinfo (proc(5)): fields are "id parent major:minor root
 * mount-point options [optional...] - fstype source super-options". Mount points escape
 * space, tab, newline and backslash as octal (\040); those are decoded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "datapath/cgroup.h"

/* Decodes mountinfo's octal escapes in place. */
static void cgroup_unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

int cgroup_find_root(const char *mountinfo, char *buf, size_t len)
{
	char line[4096];
	FILE *f;
	int err = -ENOENT;

	f = fopen(mountinfo ? mountinfo : "/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok, *mnt = NULL;
		int field = 0;

		/* The fstype is the first field after the lone "-" separator. */
		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			if (++field == 5)
				mnt = tok;
			if (field > 6 && strcmp(tok, "-") == 0) {
				tok = strtok_r(NULL, " \n", &save);
				break;
			}
		}
		if (!mnt || !tok || strcmp(tok, "cgroup2") != 0)
			continue;
		cgroup_unescape(mnt);
		if (strlen(mnt) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, mnt);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}
