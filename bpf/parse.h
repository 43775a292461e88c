/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one packet parser of every xtap program: Ethernet, VLAN tags as deep as
 * the kernel routes them, IPv4 with options, IPv6 with its whole extension
 * chain, then the ports of TCP/UDP/SCTP or the type and code of ICMP/ICMPv6.
 *
 * It never writes the packet. A field it cannot read (a tiny or later
 * fragment, a chain that ends early or runs past the read bound, a cut frame)
 * is marked unread, never guessed: a criterion that sets such a field matches
 * (copy rather than miss, docs/classifier.md), and the reason is counted.
 */
#ifndef XTAP_BPF_PARSE_H
#define XTAP_BPF_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include "counters.h"
#include "ctx.h"

/* The kernel's own depth: __vlan_get_protocol() gives up past 8 tags and
 * MAX_NEST_DEV (8) bounds stacked VLAN devices, so no deeper frame is routed. */
#define VLAN_MAX_DEPTH 8
/* Headers are read within the first 32 KiB of a frame: past any Ethernet MTU
 * (jumbo frames are at most 9216 bytes), and the verifier's packet offsets
 * must stay below 64 KiB. Fields beyond it are unread (XTAP_G_EXT_DEPTH). */
#define PARSE_OFF_MAX 0x7fff
/* Extension headers are at least 8 bytes: no chain within PARSE_OFF_MAX has
 * more. The kernel itself sets no count: ip6_forward() does not walk the
 * chain, ipv6_rcv() parses only hop-by-hop, and ip6_input_finish() resubmits
 * per header, so whatever fits in the packet is forwarded and delivered. */
#define IPV6_EXT_MAX (PARSE_OFF_MAX / 8 + 1)

#define ETH_P_IP_BE bpf_htons(0x0800)
#define ETH_P_IPV6_BE bpf_htons(0x86DD)
#define ETH_P_8021Q_BE bpf_htons(0x8100)
#define ETH_P_8021AD_BE bpf_htons(0x88A8)

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAG_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_SCTP_ 132

enum xtap_l4 {
	L4_NONE = 0, /* no ports or ICMP fields known */
	L4_PORTS = 1, /* sport/dport valid */
	L4_ICMP = 2, /* itype/icode valid */
};

enum xtap_frag {
	FRAG_NONE = 0,
	FRAG_FIRST = 1, /* offset 0, more fragments follow */
	FRAG_LATER = 2, /* offset > 0: no transport header */
};

/* Fields the packet may carry but the parser could not read. */
enum xtap_unread {
	U_PROTO = 1, /* the upper-layer protocol */
	U_PORTS = 2, /* ports (TCP, UDP, SCTP, or a protocol not reached) */
	U_ICMP = 4, /* ICMP type and code */
};

/* What the classifier needs to know about a packet. */
struct xtap_pkt {
	__u8 family; /* XTAP_AF_*, 0 when not IP or not parseable */
	__u8 proto; /* upper-layer protocol, valid when proto_known */
	__u8 proto_known;
	__u8 l4; /* enum xtap_l4 */
	__u8 frag; /* enum xtap_frag */
	__u8 itype;
	__u8 icode;
	__u8 unread; /* enum xtap_unread */
	__u16 sport; /* host order */
	__u16 dport;
	__u8 reason; /* XTAP_G_* of what was not read, counted once per packet; 0: none */
	__u8 pad[3];
	__u32 frag_id; /* network order */
	__u32 ip_len; /* bytes from the IP header on */
	__u8 src[16];
	__u8 dst[16];
};

/* Hook-neutral view of the packet: XDP and TC wrappers fill it. */
struct xtap_buf {
	void *data;
	void *data_end;
	void *ctx; /* the program's context, for the extension-chain steps */
	int xdp; /* a constant per entry point: which step function to call */
	__u32 len; /* whole frame, including non-linear parts */
	__u32 want; /* TC: a read failed at the end of the linear part; 0: none */
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
	b->want = 0;
	b->ctx = ctx;
	b->xdp = 1;
}

static __always_inline __u32 min_u32(__u32 a, __u32 b)
{
	return a < b ? a : b;
}

/* Ethernet and VLAN tags; returns the ethertype (network order) and the L3
 * offset, or 0 when the frame ends first or has too many tags. */
static __always_inline __be16 parse_eth(struct xtap_buf *b, struct xtap_pkt *p, __u32 *l3off)
{
	struct ethhdr *eth = b->data;
	struct vlan_hdr {
		__be16 tci;
		__be16 proto;
	} * vh;
	__be16 proto;
	__u32 off = sizeof(*eth);

	if ((void *)(eth + 1) > b->data_end) {
		p->reason = XTAP_G_TRUNC_L2;
		return 0;
	}
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < VLAN_MAX_DEPTH; i++) {
		if (proto != ETH_P_8021Q_BE && proto != ETH_P_8021AD_BE)
			break;
		vh = b->data + off;
		if ((void *)(vh + 1) > b->data_end) {
			if (off + sizeof(*vh) <= b->len)
				b->want = 1;
			p->reason = XTAP_G_TRUNC_L2;
			return 0;
		}
		proto = vh->proto;
		off += sizeof(*vh);
	}
	if (proto == ETH_P_8021Q_BE || proto == ETH_P_8021AD_BE) {
		p->reason = XTAP_G_VLAN_DEPTH;
		return 0;
	}
	*l3off = off;
	return proto;
}

static __always_inline int ipv6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS_ || nh == IPPROTO_ROUTING_ || nh == IPPROTO_DSTOPTS_ || nh == IPPROTO_FRAG_ ||
		nh == IPPROTO_AH_;
}

static __always_inline int proto_has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_ || proto == IPPROTO_SCTP_;
}

static __always_inline int pkt_is_icmp(const struct xtap_pkt *p)
{
	return (p->family == XTAP_AF_INET && p->proto == IPPROTO_ICMP_) ||
		(p->family == XTAP_AF_INET6 && p->proto == IPPROTO_ICMPV6_);
}

/* The transport fields are out of reach: mark those the packet may carry
 * (all of them when even the protocol is unknown). */
static __always_inline void l4_unread(struct xtap_pkt *p)
{
	if (!p->proto_known)
		p->unread = U_PROTO | U_PORTS | U_ICMP;
	else if (pkt_is_icmp(p))
		p->unread = U_ICMP;
	else if (proto_has_ports(p->proto))
		p->unread = U_PORTS;
}

/* The packet byte at off, or NULL past PARSE_OFF_MAX: the one maximum-offset
 * check every variable-offset read goes through. The verifier accepts
 * data + off only with off bounded in the register it adds (packet offsets
 * stay below 64 KiB); a comparison made earlier on another copy of off, as
 * in have(), does not carry over, so the bound is checked here, on the
 * value the pointer is made from (barrier_var: clang may not swap in an
 * unchecked copy). */
static __always_inline __u8 *pkt_at(void *data, __u32 off)
{
	if (off > PARSE_OFF_MAX)
		return NULL;
	barrier_var(off);
	return (__u8 *)data + off;
}

/* Are need bytes at off inside both the IP packet (which ends at offset end)
 * and the read bound, and in the frame's linear part? A read that fails only
 * at the linear end (TC, a non-linear skb) sets b->want. Callers check the
 * pointer again: that check is the one the verifier reads. */
static __always_inline int have(struct xtap_buf *b, __u32 off, __u32 need, __u32 end)
{
	if (off + need > end || off > PARSE_OFF_MAX)
		return 0;
	if (b->data + off + need > b->data_end) {
		if (off + need <= b->len)
			b->want = 1;
		return 0;
	}
	return 1;
}

/* Ports or ICMP type/code at l4off, within the IP packet ending at end. */
static __always_inline void parse_l4(struct xtap_buf *b, struct xtap_pkt *p, __u32 l4off, __u32 end)
{
	/* a first fragment too small for its transport header (RFC 1858) */
	__u8 why = p->frag == FRAG_FIRST ? XTAP_G_FRAG_TINY : XTAP_G_TRUNC_L4;
	__u8 *l4;

	if (pkt_is_icmp(p)) {
		l4 = have(b, l4off, 2, end) ? pkt_at(b->data, l4off) : NULL;
		if (!l4 || (void *)(l4 + 2) > b->data_end) {
			l4_unread(p);
			p->reason = why;
			return;
		}
		p->itype = l4[0];
		p->icode = l4[1];
		p->l4 = L4_ICMP;
		return;
	}
	if (!proto_has_ports(p->proto))
		return;
	l4 = have(b, l4off, 4, end) ? pkt_at(b->data, l4off) : NULL;
	if (!l4 || (void *)(l4 + 4) > b->data_end) {
		l4_unread(p);
		p->reason = why;
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
		if (l3off + sizeof(*ip) <= b->len)
			b->want = 1;
		p->reason = XTAP_G_TRUNC_L3;
		return -1;
	}
	ihl = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (ip->version != 4 || ihl < sizeof(*ip) || tot < ihl) {
		p->reason = XTAP_G_BAD_L3;
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
	if (p->frag == FRAG_LATER) {
		/* the transport header is in the first fragment */
		l4_unread(p);
		return 0;
	}
	/* options cut off by the frame: the addresses are read, not the rest */
	if (!have(b, l3off, ihl, l3off + tot)) {
		l4_unread(p);
		p->reason = XTAP_G_TRUNC_L3;
		return 0;
	}
	parse_l4(b, p, l3off + ihl, l3off + tot);
	return 0;
}

/* The IPv6 extension chain, one header per bpf_loop step. A chain of up
 * to IPV6_EXT_MAX headers cannot be an unrolled or bounded loop: the
 * verifier walks every iteration and gives up at 8,192 jumps. Each step is a
 * global function (verified once, on its own) that writes the walk state:
 * the verifier then knows nothing of that state after a step, so the
 * callback's second visit looks like its third and verification converges.
 * Global functions take no packet pointers, only the context: the step
 * reads the packet from it, one function per hook. */
enum ext_state {
	EXT_IN_CHAIN = 0,
	EXT_UPPER = 1, /* nh is the upper layer, at off */
	EXT_LATER = 2, /* a later fragment; nh is its fragment header's next header */
	EXT_STOP = 3, /* cut short: reason says why */
};

struct ext_walk {
	__u32 off; /* the header at off is of type nh */
	__u32 end; /* the IP packet ends here */
	__u32 len; /* the frame's whole length */
	__u32 frag_id; /* of the last fragment header */
	__u8 nh;
	__u8 state; /* enum ext_state */
	__u8 reason; /* XTAP_G_* when EXT_STOP */
	__u8 frag; /* enum xtap_frag */
	__u8 want; /* a read failed at the end of the linear part */
	__u8 pad[3];
};

struct ext_loop {
	void *ctx; /* outside w: the step's writes to w leave it a context pointer */
	struct ext_walk w;
};

/* One extension header at w->off, in the packet [data, data_end); returns
 * 1 to stop the walk, 0 to go on. */
static __always_inline int ext_step(void *data, void *data_end, struct ext_walk *w)
{
	__u32 off = w->off, hlen;
	__u8 nh = w->nh, *h;

	if (!ipv6_is_ext(nh)) {
		w->state = EXT_UPPER;
		return 1;
	}
	w->state = EXT_STOP;
	if (!(h = pkt_at(data, off))) {
		w->reason = XTAP_G_EXT_DEPTH;
		return 1;
	}
	/* a first fragment whose chain goes on in the next one (RFC 7112) */
	w->reason = w->frag == FRAG_FIRST ? XTAP_G_FRAG_TINY : XTAP_G_TRUNC_EXT;
	if (off + 8 > w->end)
		return 1;
	if ((void *)(h + 8) > data_end) {
		if (off + 8 <= w->len)
			w->want = 1;
		return 1;
	}
	w->state = EXT_IN_CHAIN;
	if (nh == IPPROTO_FRAG_) {
		__u16 fo = ((__u16)h[2] << 8) | h[3];

		__builtin_memcpy(&w->frag_id, h + 4, 4);
		if (fo & 0xfff8) {
			/* a later fragment: the rest of the chain and the
			 * transport header are in the first one */
			w->frag = FRAG_LATER;
			w->state = EXT_LATER;
			w->nh = h[0];
			return 1;
		}
		if (fo & 1)
			w->frag = FRAG_FIRST;
		hlen = 8;
	} else if (nh == IPPROTO_AH_) {
		hlen = ((__u32)h[1] + 2) * 4;
	} else {
		hlen = ((__u32)h[1] + 1) * 8;
	}
	w->nh = h[0];
	w->off = off + hlen;
	return 0;
}

__noinline int xtap_ext_step_xdp(struct xdp_md *ctx, struct ext_walk *w)
{
	if (!w)
		return 1;
	return ext_step((void *)CTX_FIELD(ctx, struct xdp_md, data), (void *)CTX_FIELD(ctx, struct xdp_md, data_end),
			w);
}

__noinline int xtap_ext_step_skb(struct __sk_buff *skb, struct ext_walk *w)
{
	if (!w)
		return 1;
	return ext_step((void *)CTX_FIELD(skb, struct __sk_buff, data),
			(void *)CTX_FIELD(skb, struct __sk_buff, data_end), w);
}

/* bpf_loop callbacks must return 0 or 1: the verifier checks the range */
static long ipv6_ext_cb_xdp(__u64 i, void *arg)
{
	struct ext_loop *l = arg;

	return xtap_ext_step_xdp(l->ctx, &l->w) ? 1 : 0;
}

static long ipv6_ext_cb_skb(__u64 i, void *arg)
{
	struct ext_loop *l = arg;

	return xtap_ext_step_skb(l->ctx, &l->w) ? 1 : 0;
}

static __always_inline int parse_ipv6(struct xtap_buf *b, struct xtap_pkt *p, __u32 l3off)
{
	struct ipv6hdr *ip6 = b->data + l3off;
	__u32 off, plen, iplen, end;
	__u8 nh;

	if ((void *)(ip6 + 1) > b->data_end) {
		if (l3off + sizeof(*ip6) <= b->len)
			b->want = 1;
		p->reason = XTAP_G_TRUNC_L3;
		return -1;
	}
	if (ip6->version != 6) {
		p->reason = XTAP_G_BAD_L3;
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

	/* most packets carry no extension header: no loop for them */
	if (ipv6_is_ext(nh)) {
		struct ext_loop l = { .ctx = b->ctx, .w = { .off = off, .end = end, .len = b->len, .nh = nh } };

		/* each step consumes at least 8 bytes or stops (past
		 * PARSE_OFF_MAX at the latest): IPV6_EXT_MAX steps, plus the
		 * one that finds the upper layer or the bound */
		if (b->xdp)
			bpf_loop(IPV6_EXT_MAX + 1, ipv6_ext_cb_xdp, &l, 0);
		else
			bpf_loop(IPV6_EXT_MAX + 1, ipv6_ext_cb_skb, &l, 0);
		if (l.w.want)
			b->want = 1;
		p->frag = l.w.frag;
		p->frag_id = l.w.frag_id;
		if (l.w.state == EXT_LATER && !ipv6_is_ext(l.w.nh)) {
			p->proto = l.w.nh;
			p->proto_known = 1;
		}
		if (l.w.state != EXT_UPPER) {
			l4_unread(p);
			if (l.w.state == EXT_STOP)
				p->reason = l.w.reason;
			else if (l.w.state != EXT_LATER)
				p->reason = XTAP_G_EXT_DEPTH; /* the loop bound: not reached */
			return 0;
		}
		nh = l.w.nh;
		off = l.w.off;
	}
	p->proto = nh;
	p->proto_known = 1;
	parse_l4(b, p, off, end);
	return 0;
}

/* Fills p; returns 0 when the packet is IP with both addresses known. The
 * reason for anything not read is left in p->reason for the caller to count
 * once (TC may parse again after making the frame linear). */
static __always_inline int parse_packet(struct xtap_buf *b, struct xtap_pkt *p)
{
	__u32 l3off = 0;
	__be16 proto;

	__builtin_memset(p, 0, sizeof(*p));
	proto = parse_eth(b, p, &l3off);
	if (!proto)
		return -1;
	if (proto == ETH_P_IP_BE)
		return parse_ipv4(b, p, l3off);
	if (proto == ETH_P_IPV6_BE)
		return parse_ipv6(b, p, l3off);
	p->reason = XTAP_G_NOT_IP;
	return -1;
}

#endif
