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

#include "pin.h"

/*
 * Whether <fd> is a BPF map. bpf_obj_get_info_by_fd() cannot tell (it fills whichever
 * info struct matches the fd's kind), but the anon inode's name can: "anon_inode:bpf-map".
 */
static int pin_is_map(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	return strcmp(target, "anon_inode:bpf-map") == 0;
}

int pin_open_map(const char *bpffs_dir, const char *name)
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
	ret = pin_is_map(fd);
	if (ret <= 0) {
		close(fd);
		return ret < 0 ? ret : -EINVAL;
	}
	return fd;
}
