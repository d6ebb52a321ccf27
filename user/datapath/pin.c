// SPDX-License-Identifier: Apache-2.0
/*
 * Opening pinned weir objects by name (pin.h). A pin is a path on bpffs; bpf_obj_get()
 * gives an fd for whatever is pinned there (map, program or link), so the kind of
 * object is checked here before a caller treats the fd as a map.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "datapath/pin.h"

/*
 * Whether <fd> is a BPF object of <kind>: 1, 0, or -errno. bpf_obj_get_info_by_fd() cannot
 * tell (it fills whichever info struct matches the fd's kind), but the anon inode's name
 * can.
 */
static int pin_is(int fd, enum pin_kind kind)
{
	static const char *const names[] = {
	    [PIN_MAP] = "anon_inode:bpf-map",
	    [PIN_PROG] = "anon_inode:bpf-prog",
	    [PIN_LINK] = "anon_inode:bpf-link",
	};
	char link[64], target[64], *p;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	/* Links were "bpf_link" before they became "bpf-link": compare '_' as '-'. */
	for (p = strchr(target, ':'); p && *p; p++)
		if (*p == '_')
			*p = '-';
	return strcmp(target, names[kind]) == 0;
}

int pin_open(const char *bpffs_dir, const char *name, enum pin_kind kind)
{
	char path[PATH_MAX];
	int fd, ret;

	if (!name[0] || strchr(name, '/'))
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/%s", bpffs_dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	ret = pin_is(fd, kind);
	if (ret <= 0) {
		close(fd);
		return ret < 0 ? ret : -EINVAL;
	}
	return fd;
}

int pin_open_map(const char *bpffs_dir, const char *name)
{
	return pin_open(bpffs_dir, name, PIN_MAP);
}
