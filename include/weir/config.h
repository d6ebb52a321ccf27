/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The datapath's runtime knobs: one read-only block that the agent fills through the
 * skeleton (skel->rodata->weir_cfg) before load. BPF code never uses #ifdef for a
 * behaviour choice; it reads this block, and the verifier prunes the dead branch.
 */
#ifndef WEIR_CONFIG_H
#define WEIR_CONFIG_H

#include "types.h"

struct weir_config {
	__be32 agent_ip;   /* node agent's outbound listener address; 0: the agent path is off */
	__be16 agent_port; /* its port, network order (15001 by default) */
	__u8 splice;	   /* 1: sk_msg splices same-node enrolled Pod pairs */
	__u8 tc_count;	   /* 1: tc counts non-TCP packets per edge (flow telemetry on) */
	__u32 sock_count;  /* 1: sockops counts TCP edges (flow telemetry on) */
	__u32 pad;	   /* explicit padding, zero */
};
WEIR_ASSERT_SIZE(weir_config, 16);

#endif /* WEIR_CONFIG_H */
