// SPDX-License-Identifier: GPL-2.0
/*
 * Traffic generator for the end-to-end benchmarks: run with
 * BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES), each
 * repetition sends the frame out of the interface named in the context
 * (XDP_TX). Pages are recycled without being reset, so the program writes
 * the flow fields every time: UDP source port and IPv4 source address
 * cycle over flow_count flows.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__u32 flow_count = 1;   /* distinct flows (source address x port) */
__u32 src_base = 0;     /* first IPv4 source address, network order */
__u64 sent;             /* frames this program handed to XDP_TX */

SEC("xdp")
int trafgen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u32 i, s;

	if ((void *)(udp + 1) > data_end)
		return XDP_ABORTED;
	i = (__u32)__sync_fetch_and_add(&sent, 1) % (flow_count ? flow_count : 1);
	/* the IPv4 checksum stays right: only the UDP port and the low source
	 * byte pair change, and UDP's checksum is 0 (not computed) */
	udp->source = bpf_htons((__u16)(10000 + (i & 0x3fff)));
	s = bpf_ntohl(src_base) + (i >> 14);
	ip->saddr = bpf_htonl(s);
	ip->check = 0;
	{
		__u32 sum = 0;
		__u16 *w = (void *)ip;

		for (int k = 0; k < 10; k++)
			sum += w[k];
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		ip->check = (__u16)~sum;
	}
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
