// SPDX-License-Identifier: Apache-2.0
/*
 * Scratch bpffs, cgroup2 and netns for kernel tests (scratch.h). Everything is named
 * weirtest-<tag>-<pid> so that helpers testing at the same moment never collide, and
 * every remover accepts a half-made state because it runs from teardowns.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "scratch.h"

/* The private bpf filesystem of this test process (empty until scratch_bpffs_ready()). */
static char scratch_bpffs_mnt[PATH_MAX];

static char scratch_orig_cgroup[PATH_MAX];

/* Copies <src> into <buf> of <len> bytes; -ENAMETOOLONG when it does not fit. */
static int scratch_copy(char *buf, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, src, n + 1);
	return 0;
}
static int scratch_orig_netns = -1;

int scratch_bpffs_ready(void)
{
	int err;

	if (scratch_bpffs_mnt[0])
		return 0;
	snprintf(scratch_bpffs_mnt, sizeof(scratch_bpffs_mnt), "/tmp/weirtest-bpffs-%d",
		 (int)getpid());
	if (mkdir(scratch_bpffs_mnt, 0700) && errno != EEXIST)
		goto out_err;
	if (mount("bpf", scratch_bpffs_mnt, "bpf", 0, "mode=0700")) {
		err = -errno;
		rmdir(scratch_bpffs_mnt);
		scratch_bpffs_mnt[0] = '\0';
		return err;
	}
	return 0;
out_err:
	err = -errno;
	scratch_bpffs_mnt[0] = '\0';
	return err;
}

void scratch_bpffs_dir(const char *tag, char *buf, size_t len)
{
	snprintf(buf, len, "%s/weirtest-%s-%d", scratch_bpffs_mnt, tag, (int)getpid());
}

void scratch_bpffs_release(void)
{
	if (!scratch_bpffs_mnt[0])
		return;
	/* Lazy: an fd a failed test still holds must not keep the mount on the machine. */
	umount2(scratch_bpffs_mnt, MNT_DETACH);
	rmdir(scratch_bpffs_mnt);
	scratch_bpffs_mnt[0] = '\0';
}

int scratch_cgroup_root(char *buf, size_t len)
{
	char line[4096], mnt[PATH_MAX], fstype[64];
	const char *sep;
	FILE *f;
	int ret = -ENOENT;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts... - fstype source superopts */
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		ret = scratch_copy(buf, len, mnt);
		break;
	}
	fclose(f);
	return ret;
}

/* The calling process's cgroup2 path relative to the mount ("0::<path>"). */
static int scratch_cgroup_self(char *buf, size_t len)
{
	char line[PATH_MAX + 8];
	FILE *f;
	int ret = -ENOENT;

	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		ret = scratch_copy(buf, len, line + 3);
		break;
	}
	fclose(f);
	return ret;
}

/* Writes our pid into <dir>/cgroup.procs. */
static int scratch_cgroup_join(const char *dir)
{
	char path[PATH_MAX + 16];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (dprintf(fd, "%d\n", (int)getpid()) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int scratch_cgroup_new(const char *tag, char *buf, size_t len)
{
	char root[PATH_MAX / 2], self[PATH_MAX / 2];
	int err;

	err = scratch_cgroup_root(root, sizeof(root));
	if (err)
		return err;
	err = scratch_cgroup_self(self, sizeof(self));
	if (err)
		return err;
	snprintf(scratch_orig_cgroup, sizeof(scratch_orig_cgroup), "%s%s", root,
		 strcmp(self, "/") ? self : "");
	snprintf(buf, len, "%s/weirtest-%s-%d", root, tag, (int)getpid());
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return scratch_cgroup_join(buf);
}

void scratch_cgroup_del(const char *path)
{
	if (scratch_orig_cgroup[0])
		scratch_cgroup_join(scratch_orig_cgroup);
	if (path && path[0])
		rmdir(path);
}

uint64_t scratch_cgroup_id(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

int scratch_netns_enter(void)
{
	if (scratch_orig_netns < 0) {
		scratch_orig_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (scratch_orig_netns < 0)
			return -errno;
	}
	if (unshare(CLONE_NEWNET))
		return -errno;
	if (scratch_sh("ip link set lo up"))
		return -EIO;
	return 0;
}

void scratch_netns_leave(void)
{
	if (scratch_orig_netns < 0)
		return;
	setns(scratch_orig_netns, CLONE_NEWNET);
	close(scratch_orig_netns);
	scratch_orig_netns = -1;
}

int scratch_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st < 0)
		return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}
