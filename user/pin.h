/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pinned weir objects opened by name, without loading the skeleton: weirctl reads the
 * datapath's maps this way while the agent is down or being upgraded.
 */
#ifndef WEIR_USER_PIN_H
#define WEIR_USER_PIN_H

/*
 * Opens the map pinned as <bpffs_dir>/<name> (e.g. "weir_edges"). Returns its fd (caller
 * closes it), -ENOENT when it is not pinned, -EINVAL when the pin is not a map, or
 * another -errno.
 */
int pin_open_map(const char *bpffs_dir, const char *name);

#endif /* WEIR_USER_PIN_H */
