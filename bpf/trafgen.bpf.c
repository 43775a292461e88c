// SPDX-License-Identifier: GPL-2.0
/*
 * Traffic generator for the end-to-end benchmarks: run with
 * BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES), each
 * repetition sends the frame out of the interface named in the context
 * (XDP_TX). Pages are recycled without being reset, and a receiver that
 * forwarded the frame has rewritten its MACs and TTL in place, so the
 * program writes the whole frame every time from a template: the IPv4
 * source address cycles over flow_count addresses from src_base.
 *
 * Realistic traffic (issue 15 item 5, draws_on): each frame takes the next
 * entry of the draws table the loader filled, a flow (a Zipf rank mapped
 * to an address) and a size class; the frame is cut to its size with
 * bpf_xdp_adjust_tail from the largest one (the loader sends 1514 bytes)
 * and only its headers are written, the payload staying what the page was
 * set up with.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TRAFGEN_LEN 60 /* the shortest Ethernet frame without FCS; the loader sends this many bytes */
#define TRAFGEN_HDR 42 /* Ethernet + IPv4 + UDP: what realistic frames rewrite */
#define TRAFGEN_DRAWS (1u << 22) /* entries of the draws table: 4M frames before the sequence repeats */
#define DRAW_FLOW 0xfffffu /* a draw's flow: bits 0-19 (1M flows) */
#define DRAW_SIZE_SHIFT 30 /* its size class: bits 30-31, an index into frame_len */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TRAFGEN_DRAWS);
	__type(key, __u32);
	__type(value, __u32);
} draws SEC(".maps");

__u32 flow_count = 1; /* distinct flows (source addresses) */
__u32 src_base = 0; /* first IPv4 source address, network order */
__u32 match_mod = 0; /* flows f with f % match_mod == 0 are the "matching" ones (0: none) */
__u8 tmpl[TRAFGEN_LEN]; /* the frame: Ethernet, IPv4 (checksum filled here), UDP, payload */
__u64 sent; /* frames this program handed to XDP_TX */
__u64 sent_match; /* of which from a matching flow */
__u32 draws_on = 0; /* 1: flows and sizes from the draws table */
__u32 frame_len[4] = { 60, 60, 60, 60 }; /* frame bytes (without FCS) of each size class */

SEC("xdp")
int trafgen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 f, sum = 0;
	__u16 *w = (void *)ip;

	__u64 n = __sync_fetch_and_add(&sent, 1);

	if (draws_on) {
		__u32 k = (__u32)n & (TRAFGEN_DRAWS - 1), *d = bpf_map_lookup_elem(&draws, &k), want;
		struct udphdr *udp;

		if (!d)
			return XDP_ABORTED;
		f = *d & DRAW_FLOW;
		want = frame_len[(*d >> DRAW_SIZE_SHIFT) & 3];
		/* from whatever length the recycled page holds to this frame's */
		if (bpf_xdp_adjust_tail(ctx, (int)want - (int)(data_end - data)))
			return XDP_ABORTED;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		eth = data;
		ip = (void *)(eth + 1);
		w = (void *)ip;
		udp = (void *)(ip + 1);
		if ((void *)(udp + 1) > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(data, tmpl, TRAFGEN_HDR);
		ip->tot_len = bpf_htons((__u16)(want - sizeof(*eth)));
		udp->len = bpf_htons((__u16)(want - sizeof(*eth) - sizeof(*ip)));
	} else {
		if (data + TRAFGEN_LEN > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(data, tmpl, TRAFGEN_LEN);
		f = (__u32)n % (flow_count ? flow_count : 1);
	}
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

/* The floor of any classifier in TC: attached at r0's ingress, nothing
 * done (TC_ACT_UNSPEC, as xtap's own TC program answers). */
SEC("tc")
int tc_pass(struct __sk_buff *skb)
{
	return -1;
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
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);

	if (skb->ifindex == fwd_ifindex)
		__sync_fetch_and_add(&fwd_rx, 1);
	/* a copy is counted once: an encapsulated copy of a 1500-byte packet
	 * is over the 1500-byte MTU and leaves fragmented, so later fragments
	 * (offset above 0) are not copies of their own */
	else if (skb->ifindex == copy_ifindex && ((void *)(ip + 1) > data_end || !(ip->frag_off & bpf_htons(0x1fff))))
		__sync_fetch_and_add(&copy_rx, 1);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
