// SPDX-License-Identifier: GPL-2.0
/*
 * Traffic generator for the end-to-end benchmarks: run with
 * BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES), each
 * repetition sends the frame out of the interface named in the context
 * (XDP_TX). Pages are recycled without being reset, and a receiver that
 * forwarded the frame has rewritten its MACs and TTL in place, so the
 * program writes the whole frame every time from a template: the IPv4
 * source address cycles over flow_count addresses from src_base.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TRAFGEN_LEN 60 /* the shortest Ethernet frame without FCS; the loader sends this many bytes */

__u32 flow_count = 1; /* distinct flows (source addresses) */
__u32 src_base = 0; /* first IPv4 source address, network order */
__u32 match_mod = 0; /* flows f with f % match_mod == 0 are the "matching" ones (0: none) */
__u8 tmpl[TRAFGEN_LEN]; /* the frame: Ethernet, IPv4 (checksum filled here), UDP, payload */
__u64 sent; /* frames this program handed to XDP_TX */
__u64 sent_match; /* of which from a matching flow */

SEC("xdp")
int trafgen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 f, sum = 0;
	__u16 *w = (void *)ip;

	if (data + TRAFGEN_LEN > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, tmpl, TRAFGEN_LEN);
	f = (__u32)__sync_fetch_and_add(&sent, 1) % (flow_count ? flow_count : 1);
	if (match_mod && f % match_mod == 0)
		__sync_fetch_and_add(&sent_match, 1);
	ip->saddr = bpf_htonl(bpf_ntohl(src_base) + f);
	/* the header checksum over the new address (UDP's checksum is 0: not computed) */
	ip->check = 0;
	for (int k = 0; k < 10; k++)
		sum += w[k];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = (__u16)~sum;
	return XDP_TX;
}

/* The receiver's "empty program" case: XDP attached, nothing done. */
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* The sink: TC ingress on the far ends where forwarded traffic (fwd) and
 * copies (copy) leave the router; counts and drops, so the sink's own
 * work stays small and the same in every case. */
#define TC_ACT_SHOT 2 /* linux/pkt_cls.h, which vmlinux.h does not carry */
__u32 fwd_ifindex, copy_ifindex;
__u64 fwd_rx, copy_rx;

SEC("tc")
int sink(struct __sk_buff *skb)
{
	if (skb->ifindex == fwd_ifindex)
		__sync_fetch_and_add(&fwd_rx, 1);
	else if (skb->ifindex == copy_ifindex)
		__sync_fetch_and_add(&copy_rx, 1);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
