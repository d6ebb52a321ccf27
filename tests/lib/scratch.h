/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scratch resources for tests that touch the real kernel: a bpffs directory, a cgroup2
 * directory and a network namespace, each named weirtest-<tag>-<pid> and removed again
 * by the matching _del/_leave call (which tolerate a half-made state, for teardowns).
 */
#ifndef WEIR_TESTS_SCRATCH_H
#define WEIR_TESTS_SCRATCH_H

#include <stddef.h>
#include <stdint.h>

/*
 * Mounts a private bpf filesystem at /tmp/weirtest-bpffs-<pid> for this test process: the
 * machine's /sys/fs/bpf is never touched (it may not even be mounted). Returns 0 or -errno.
 */
int scratch_bpffs_ready(void);
/* Writes <private bpffs>/weirtest-<tag>-<pid> to <buf> (nothing is created). */
void scratch_bpffs_dir(const char *tag, char *buf, size_t len);
/* Unmounts and removes the private bpf filesystem (teardown). */
void scratch_bpffs_release(void);

/* Writes the cgroup2 mount point (from /proc/self/mountinfo) to <buf>. Returns 0 or -errno. */
int scratch_cgroup_root(char *buf, size_t len);
/*
 * Creates <root>/weirtest-<tag>-<pid>, writes its path to <buf> and moves the calling
 * process into it (sockets made afterwards belong to it). Returns 0 or -errno.
 */
int scratch_cgroup_new(const char *tag, char *buf, size_t len);
/* Moves the process back where scratch_cgroup_new() found it and removes <path>. */
void scratch_cgroup_del(const char *path);
/* The cgroup id (inode number) of cgroup2 directory <path>, 0 on error. */
uint64_t scratch_cgroup_id(const char *path);

/*
 * Moves the calling thread into a new, anonymous network namespace with lo up; it goes
 * away with its last socket after scratch_netns_leave(). Returns 0 or -errno.
 */
int scratch_netns_enter(void);
/* Returns to the namespace scratch_netns_enter() left. Safe to call twice. */
void scratch_netns_leave(void);

/* Runs a shell command built from <fmt> (stdout/stderr kept). Returns its exit status. */
int scratch_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* WEIR_TESTS_SCRATCH_H */
