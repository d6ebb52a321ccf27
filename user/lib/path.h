/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File-system paths the agent creates (path.c).
 */
#ifndef WEIR_USER_PATH_H
#define WEIR_USER_PATH_H

#include <sys/types.h>

/*
 * Creates directory <path> and its missing parents with <mode> (mkdir -p); existing ones
 * are left as they are. Returns 0, -ENAMETOOLONG or another -errno.
 */
int path_mkdirs(const char *path, mode_t mode);

#endif /* WEIR_USER_PATH_H */
