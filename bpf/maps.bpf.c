// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The one definition of every weir map and of the weir_cfg block (see lib/maps.h);
 * the other objects declare them extern and `bpftool gen object` links them here.
 */
#define WEIR_MAPS_DEFINE
#include "lib/common.h"
#include "lib/maps.h"

/*
 * The kernel lets only GPL-compatible programs read kernel structs through BTF (sockops
 * reads struct tcp_sock at close: "Cannot access kernel 'struct tcp_sock' from non-GPL
 * compatible program" otherwise), so the BPF sources are dual-licensed.
 */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
