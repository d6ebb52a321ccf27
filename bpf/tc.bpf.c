// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tc on the host side of Pod veths. weir_tc_egress sits at the veth's tc ingress (the
 * packets a Pod sends), weir_tc_ingress at its tc egress (the packets a Pod receives).
 * Both enforce the L3/L4 deny list (fails closed: a match drops) and count the non-TCP
 * flows that the socket hooks do not see.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/reason.h"
#include "lib/edge.h"

/* What tc needs of one IPv4 packet. */
struct tc_pkt {
	__be32 saddr;
	__be32 daddr;
	__u16 sport; /* host order; 0 without ports (ICMP, later fragments) */
	__u16 dport; /* host order */
	__u32 len;   /* IP total length; for a first UDP fragment, its whole datagram's */
	__u8 proto;
	__u8 later_frag; /* a TCP/UDP fragment after the first: no ports */
};

/* Parses <skb> into <p>. Returns 0, -WEIR_R_NOT_IPV4 or -WEIR_R_BAD_PACKET. */
static __always_inline int tc_parse(struct __sk_buff *skb, struct tc_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 hlen, ulen;
	__u16 *ports;

	if ((void *)(eth + 1) > end)
		return -WEIR_R_BAD_PACKET;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return -WEIR_R_NOT_IPV4;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return -WEIR_R_BAD_PACKET;
	if (ip->version != 4 || ip->ihl < 5)
		return -WEIR_R_BAD_PACKET;
	hlen = ip->ihl * 4;
	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	p->len = bpf_ntohs(ip->tot_len);
	p->sport = 0;
	p->dport = 0;
	p->later_frag = 0;
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return 0;
	/* Only the first fragment carries the ports. */
	if (ip->frag_off & bpf_htons(IP_OFFSET)) {
		p->later_frag = 1;
		return 0;
	}
	ports = (void *)ip + hlen;
	if ((void *)(ports + 2) > end)
		return -WEIR_R_BAD_PACKET;
	p->sport = bpf_ntohs(ports[0]);
	p->dport = bpf_ntohs(ports[1]);
	/*
	 * The later fragments have no ports to find their edge by, so the first one counts
	 * the whole datagram: its IP header plus the UDP length (ports[2]).
	 */
	if (p->proto == IPPROTO_UDP && (ip->frag_off & bpf_htons(IP_MF))) {
		if ((void *)(ports + 3) > end)
			return -WEIR_R_BAD_PACKET;
		ulen = bpf_ntohs(ports[2]);
		if (ulen >= sizeof(struct udphdr))
			p->len = hlen + ulen;
	}
	return 0;
}

/* Whether a deny entry of <wl_id> matches; tries the exact port, then "any port". */
static __always_inline bool tc_denied(__u32 wl_id, __u8 dir, const struct tc_pkt *p,
				      __be32 remote)
{
	struct weir_deny_key key = {};

	key.prefixlen = WEIR_DENY_FIXED_BITS + 32;
	key.wl_id = wl_id;
	key.dir = dir;
	key.proto = p->proto;
	key.port = bpf_htons(p->dport);
	key.remote = remote;
	if (key.port && bpf_map_lookup_elem(&weir_deny, &key))
		return true;
	key.port = 0;
	return bpf_map_lookup_elem(&weir_deny, &key) != NULL;
}

/*
 * Counts <p> on its edge. <local> is the Pod's workload, <remote> the other end's
 * (0 outside the mesh). A packet from the lower port toward the higher one is taken as
 * a reply (servers listen on low ports, clients use ephemeral ones), so it counts
 * toward the edge of the flow it answers, in the reverse direction.
 */
static __always_inline int tc_count(const struct tc_pkt *p, __u32 from_wl, __u32 to_wl)
{
	struct weir_edge_key key = {};

	key.proto = p->proto;
	key.path = WEIR_PATH_TC;
	if (p->sport && p->sport < p->dport) {
		key.src_wl = to_wl;
		key.dst_wl = from_wl;
		key.dport = p->sport;
		return edge_add(&key, 0, p->len, 0, 1);
	}
	key.src_wl = from_wl;
	key.dst_wl = to_wl;
	key.dport = p->dport;
	return edge_add(&key, p->len, 0, 1, 0);
}

/*
 * A packet leaving (<dir> WEIR_DIR_EGRESS) or entering (WEIR_DIR_INGRESS) a Pod. Returns
 * the reason; *<drop> says whether to drop. <dir> is a constant at both call sites, so
 * the verifier sees two straight-line programs.
 */
static __always_inline __u32 tc_pod(struct __sk_buff *skb, enum weir_dir dir, bool *drop)
{
	struct weir_ip *local, *remote;
	__be32 local_ip, remote_ip;
	struct tc_pkt p;
	int ret;

	ret = tc_parse(skb, &p);
	if (ret < 0)
		return reason_of(ret, WEIR_R_OK);
	local_ip = dir == WEIR_DIR_EGRESS ? p.saddr : p.daddr;
	remote_ip = dir == WEIR_DIR_EGRESS ? p.daddr : p.saddr;
	local = bpf_map_lookup_elem(&weir_ips, &local_ip);
	if (!local)
		return WEIR_R_NOT_ENROLLED;
	if (tc_denied(local->wl_id, dir, &p, remote_ip)) {
		*drop = true;
		return WEIR_R_DENIED;
	}
	if (!weir_cfg.tc_count || p.proto == IPPROTO_TCP || !(local->flags & WEIR_IP_LOCAL))
		return WEIR_R_OK;
	if (p.later_frag)
		return WEIR_R_NOT_COUNTED; /* its first fragment counted the datagram */
	remote = bpf_map_lookup_elem(&weir_ips, &remote_ip);
	if (dir == WEIR_DIR_EGRESS) {
		ret = tc_count(&p, local->wl_id, remote ? remote->wl_id : WEIR_ID_UNKNOWN);
		return reason_of(ret, WEIR_R_COUNTED);
	}
	/* A mesh Pod's packets were counted when they left it. */
	if (remote && (remote->flags & (WEIR_IP_POD | WEIR_IP_LOCAL)))
		return WEIR_R_NOT_COUNTED;
	ret = tc_count(&p, remote ? remote->wl_id : WEIR_ID_UNKNOWN, local->wl_id);
	return reason_of(ret, WEIR_R_COUNTED);
}

SEC("tc")
int weir_tc_egress(struct __sk_buff *skb)
{
	bool drop = false;
	__u32 reason = tc_pod(skb, WEIR_DIR_EGRESS, &drop);

	return reason_exit(WEIR_HOOK_TC_EGRESS, reason, drop ? TC_ACT_SHOT : TC_ACT_OK);
}

SEC("tc")
int weir_tc_ingress(struct __sk_buff *skb)
{
	bool drop = false;
	__u32 reason = tc_pod(skb, WEIR_DIR_INGRESS, &drop);

	return reason_exit(WEIR_HOOK_TC_INGRESS, reason, drop ? TC_ACT_SHOT : TC_ACT_OK);
}
