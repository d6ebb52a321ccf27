/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pinned weir objects opened by name, without loading the skeleton: weirctl reads the
 * datapath's maps this way while the agent is down or being upgraded.
 */
#ifndef WEIR_USER_PIN_H
#define WEIR_USER_PIN_H

/* What a pin holds. */
enum pin_kind {
	PIN_MAP,
	PIN_PROG,
	PIN_LINK,
};

/*
 * Opens the object pinned as <bpffs_dir>/<name> if it is of <kind>. Returns its fd (caller
 * closes it), -ENOENT when nothing is pinned there, -EINVAL for a name that is empty or
 * holds a '/' or when the pin holds another kind of object, or another -errno.
 */
int pin_open(const char *bpffs_dir, const char *name, enum pin_kind kind);

/* pin_open(<bpffs_dir>, <name>, PIN_MAP), e.g. for "weir_edges". */
int pin_open_map(const char *bpffs_dir, const char *name);

#endif /* WEIR_USER_PIN_H */
