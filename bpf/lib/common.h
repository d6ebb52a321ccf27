/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What every weir BPF file needs first: vmlinux types, the libbpf helper headers, the
 * weir ABI and the few UAPI constants that vmlinux.h cannot carry (it has types, not
 * #defines). Include this before any other bpf/lib header.
 */
#ifndef WEIR_BPF_COMMON_H
#define WEIR_BPF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#include <weir/config.h>
#include <weir/edge.h>
#include <weir/maps.h>
#include <weir/policy.h>
#include <weir/reason.h>
#include <weir/service.h>
#include <weir/sock.h>
#include <weir/workload.h>

/* UAPI macros (linux/socket.h, linux/in.h, linux/if_ether.h, linux/pkt_cls.h, net/sock.h). */
#define AF_INET       2
#define SOL_IP        0
#define ETH_P_IP      0x0800
#define TC_ACT_OK     0
#define TC_ACT_SHOT   2
#define IP_MF         0x2000
#define IP_OFFSET     0x1fff

#endif /* WEIR_BPF_COMMON_H */
