/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one packet parser of every xtap program: Ethernet, up to two VLAN tags,
 * IPv4 with options, IPv6 with a bounded chain of extension headers, then the
 * ports of TCP/UDP/SCTP or the type and code of ICMP/ICMPv6.
 *
 * It never writes the packet. What it cannot see is marked unknown rather
 * than guessed: a criterion that needs an unknown field does not match.
 */
#ifndef XTAP_BPF_PARSE_H
#define XTAP_BPF_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include "counters.h"
#include "ctx.h"

#define VLAN_MAX_DEPTH 2 /* 802.1ad outer + 802.1Q inner */
#define IPV6_EXT_MAX 8   /* extension headers followed before giving up */

#define ETH_P_IP_BE     bpf_htons(0x0800)
#define ETH_P_IPV6_BE   bpf_htons(0x86DD)
#define ETH_P_8021Q_BE  bpf_htons(0x8100)
#define ETH_P_8021AD_BE bpf_htons(0x88A8)

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ICMP_    1
#define IPPROTO_TCP_     6
#define IPPROTO_UDP_     17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAG_    44
#define IPPROTO_AH_      51
#define IPPROTO_ICMPV6_  58
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_SCTP_    132

enum xtap_l4 {
	L4_NONE = 0,  /* no ports or ICMP fields known */
	L4_PORTS = 1, /* sport/dport valid */
	L4_ICMP = 2,  /* itype/icode valid */
};

enum xtap_frag {
	FRAG_NONE = 0,
	FRAG_FIRST = 1, /* offset 0, more fragments follow */
	FRAG_LATER = 2, /* offset > 0: no transport header */
};

/* What the classifier needs to know about a packet. */
struct xtap_pkt {
	__u8 family;      /* XTAP_AF_*, 0 when not IP or not parseable */
	__u8 proto;       /* upper-layer protocol, valid when proto_known */
	__u8 proto_known;
	__u8 l4;          /* enum xtap_l4 */
	__u8 frag;        /* enum xtap_frag */
	__u8 itype;
	__u8 icode;
	__u8 pad;
	__u16 sport;      /* host order */
	__u16 dport;
	__u32 frag_id;    /* network order */
	__u32 ip_len;     /* bytes from the IP header on */
	__u8 src[16];
	__u8 dst[16];
};

/* Hook-neutral view of the packet: XDP and TC wrappers fill it. */
struct xtap_buf {
	void *data;
	void *data_end;
	__u32 len; /* whole frame, including non-linear parts */
};

/* The XDP view. Programs in section "xdp" (not "xdp.frags") never see
 * multi-buffer frames: the linear part is the whole frame, and no
 * bpf_xdp_get_buff_len() call is needed. Fields are read as whole pointers
 * (CTX_FIELD): 32-bit arithmetic on them would turn them into scalars. */
static __always_inline void xdp_buf(struct xdp_md *ctx, struct xtap_buf *b)
{
	b->data = (void *)CTX_FIELD(ctx, struct xdp_md, data);
	b->data_end = (void *)CTX_FIELD(ctx, struct xdp_md, data_end);
	b->len = (__u32)(b->data_end - b->data);
}

static __always_inline __u32 min_u32(__u32 a, __u32 b)
{
	return a < b ? a : b;
}

/* Ethernet and VLAN tags; returns the ethertype (network order) and the L3
 * offset, or 0 when the frame ends first or has too many tags. */
static __always_inline __be16 parse_eth(struct xtap_buf *b, __u32 *l3off)
{
	struct ethhdr *eth = b->data;
	struct vlan_hdr { __be16 tci; __be16 proto; } *vh;
	__be16 proto;
	__u32 off = sizeof(*eth);

	if ((void *)(eth + 1) > b->data_end) {
		counter_inc(XTAP_G_TRUNC_L2);
		return 0;
	}
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < VLAN_MAX_DEPTH; i++) {
		if (proto != ETH_P_8021Q_BE && proto != ETH_P_8021AD_BE)
			break;
		vh = b->data + off;
		if ((void *)(vh + 1) > b->data_end) {
			counter_inc(XTAP_G_TRUNC_L2);
			return 0;
		}
		proto = vh->proto;
		off += sizeof(*vh);
	}
	if (proto == ETH_P_8021Q_BE || proto == ETH_P_8021AD_BE) {
		counter_inc(XTAP_G_VLAN_DEPTH);
		return 0;
	}
	*l3off = off;
	return proto;
}

static __always_inline int ipv6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS_ || nh == IPPROTO_ROUTING_ || nh == IPPROTO_DSTOPTS_ ||
	       nh == IPPROTO_FRAG_ || nh == IPPROTO_AH_;
}

/* Are need bytes at off inside both the frame and the IP packet (which ends
 * at offset end)? The frame check is the one the verifier reads. */
static __always_inline int have(struct xtap_buf *b, __u32 off, __u32 need, __u32 end)
{
	return off + need <= end && b->data + (off & 0xffff) + need <= b->data_end;
}

/* Ports or ICMP type/code at l4off, within the IP packet ending at end. */
static __always_inline void parse_l4(struct xtap_buf *b, struct xtap_pkt *p,
				     __u32 l4off, __u32 end)
{
	__u8 *l4 = b->data + (l4off & 0xffff);
	int icmp = (p->family == XTAP_AF_INET && p->proto == IPPROTO_ICMP_) ||
		   (p->family == XTAP_AF_INET6 && p->proto == IPPROTO_ICMPV6_);

	if (icmp) {
		if (!have(b, l4off, 2, end) || (void *)(l4 + 2) > b->data_end) {
			counter_inc(XTAP_G_TRUNC_L4);
			return;
		}
		p->itype = l4[0];
		p->icode = l4[1];
		p->l4 = L4_ICMP;
		return;
	}
	if (p->proto != IPPROTO_TCP_ && p->proto != IPPROTO_UDP_ && p->proto != IPPROTO_SCTP_)
		return;
	if (!have(b, l4off, 4, end) || (void *)(l4 + 4) > b->data_end) {
		counter_inc(XTAP_G_TRUNC_L4);
		return;
	}
	p->sport = ((__u16)l4[0] << 8) | l4[1];
	p->dport = ((__u16)l4[2] << 8) | l4[3];
	p->l4 = L4_PORTS;
}


static __always_inline int parse_ipv4(struct xtap_buf *b, struct xtap_pkt *p, __u32 l3off)
{
	struct iphdr *ip = b->data + l3off;
	__u32 ihl, tot, fo;

	if ((void *)(ip + 1) > b->data_end) {
		counter_inc(XTAP_G_TRUNC_L3);
		return -1;
	}
	ihl = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (ip->version != 4 || ihl < sizeof(*ip) || tot < ihl) {
		counter_inc(XTAP_G_BAD_L3);
		return -1;
	}
	if ((void *)ip + ihl > b->data_end) {
		counter_inc(XTAP_G_TRUNC_L3);
		return -1;
	}
	p->family = XTAP_AF_INET;
	__builtin_memcpy(p->src, &ip->saddr, 4);
	__builtin_memcpy(p->dst, &ip->daddr, 4);
	p->proto = ip->protocol;
	p->proto_known = 1;
	p->ip_len = min_u32(tot, b->len - l3off);
	fo = bpf_ntohs(ip->frag_off);
	if (fo & 0x1fff) {
		p->frag = FRAG_LATER;
	} else if (fo & 0x2000) {
		p->frag = FRAG_FIRST;
	}
	if (p->frag)
		p->frag_id = (__u32)ip->id;
	if (p->frag == FRAG_LATER)
		return 0;
	parse_l4(b, p, l3off + ihl, l3off + tot);
	return 0;
}

static __always_inline int parse_ipv6(struct xtap_buf *b, struct xtap_pkt *p, __u32 l3off)
{
	struct ipv6hdr *ip6 = b->data + l3off;
	__u32 off, plen, iplen, end;
	__u8 nh;

	if ((void *)(ip6 + 1) > b->data_end) {
		counter_inc(XTAP_G_TRUNC_L3);
		return -1;
	}
	if (ip6->version != 6) {
		counter_inc(XTAP_G_BAD_L3);
		return -1;
	}
	p->family = XTAP_AF_INET6;
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	plen = bpf_ntohs(ip6->payload_len);
	/* payload length 0 is a jumbogram (RFC 2675): take the frame's length */
	iplen = plen ? plen + sizeof(*ip6) : b->len - l3off;
	p->ip_len = min_u32(iplen, b->len - l3off);
	end = l3off + iplen;
	nh = ip6->nexthdr;
	off = l3off + sizeof(*ip6);

	/* one pass more than the bound: the last may only find the upper layer */
	for (int i = 0; i <= IPV6_EXT_MAX; i++) {
		__u8 *h = b->data + (off & 0x3fff); /* bound for the verifier */
		__u32 hlen;

		if (!ipv6_is_ext(nh)) {
			p->proto = nh;
			p->proto_known = 1;
			parse_l4(b, p, off, end);
			return 0;
		}
		if (i == IPV6_EXT_MAX)
			break;
		if (!have(b, off, 8, end) || (void *)(h + 8) > b->data_end) {
			counter_inc(XTAP_G_TRUNC_EXT);
			return 0;
		}
		if (nh == IPPROTO_FRAG_) {
			__u16 fo = ((__u16)h[2] << 8) | h[3];

			__builtin_memcpy(&p->frag_id, h + 4, 4);
			if (fo & 0xfff8) {
				/* a later fragment: only the fragment header's next
				 * header is known, and only if it is upper-layer */
				p->frag = FRAG_LATER;
				if (!ipv6_is_ext(h[0])) {
					p->proto = h[0];
					p->proto_known = 1;
				}
				return 0;
			}
			if (fo & 1)
				p->frag = FRAG_FIRST;
			hlen = 8;
		} else if (nh == IPPROTO_AH_) {
			hlen = ((__u32)h[1] + 2) * 4;
		} else {
			hlen = ((__u32)h[1] + 1) * 8;
		}
		nh = h[0];
		off += hlen;
	}
	counter_inc(XTAP_G_EXT_DEPTH);
	return 0;
}

/* Fills p; returns 0 when the packet is IP with both addresses known. */
static __always_inline int parse_packet(struct xtap_buf *b, struct xtap_pkt *p)
{
	__u32 l3off = 0;
	__be16 proto;

	__builtin_memset(p, 0, sizeof(*p));
	proto = parse_eth(b, &l3off);
	if (!proto)
		return -1;
	if (proto == ETH_P_IP_BE)
		return parse_ipv4(b, p, l3off);
	if (proto == ETH_P_IPV6_BE)
		return parse_ipv6(b, p, l3off);
	counter_inc(XTAP_G_NOT_IP);
	return -1;
}

#endif
