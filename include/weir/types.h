/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Base types for the BPF/user ABI. BPF programs include vmlinux.h first, which already
 * defines the __u32/__be32 family; user space takes them from the UAPI headers. Every
 * header in include/weir/ includes this one and nothing else from the system.
 */
#ifndef WEIR_TYPES_H
#define WEIR_TYPES_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Pins the size of an ABI struct so that a layout change cannot slip in silently. */
#define WEIR_ASSERT_SIZE(type, size)                                                               \
	_Static_assert(sizeof(struct type) == (size), "ABI size of struct " #type " changed")

/* Workload and service id 0 stands for "unknown / outside the mesh". */
#define WEIR_ID_UNKNOWN 0

#endif /* WEIR_TYPES_H */
