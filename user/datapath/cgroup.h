/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup2 discovery. weir never assumes /sys/fs/cgroup: on hybrid hosts the unified
 * hierarchy lives elsewhere (e.g. /sys/fs/cgroup/unified), so the mount is read from
 * /proc/self/mountinfo.
 */
#ifndef WEIR_USER_CGROUP_H
#define WEIR_USER_CGROUP_H

#include <stddef.h>

/*
 * Writes the mount point of the first cgroup2 filesystem in <mountinfo> (a path; NULL
 * means /proc/self/mountinfo) to <buf> (<len> bytes). Returns 0, -ENOENT when there is no
 * cgroup2 mount, or another -errno.
 */
int cgroup_find_root(const char *mountinfo, char *buf, size_t len);

#endif /* WEIR_USER_CGROUP_H */
