/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The outer headers of a copy (as katran's pckt_encap.h): IPv4 or IPv6,
 * UDP, and the JMirror header when the destination asks for it, written
 * into the room vt_encap made after the Ethernet header. Each returns 0, or
 * the content destination counter (enum xtap_cd_counter) that says why the
 * copy is dropped.
 */
#ifndef XTAP_BPF_ENCAP_H
#define XTAP_BPF_ENCAP_H

#include "csum.h"
#include "jmirror.h"
#include "parse.h"

#define ETH_HLEN_ 14
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define UDP_HLEN 8

/* The outer header's length for destination d. */
static __always_inline __u32 encap_len(const struct xtap_cdest *d)
{
	return (d->family == XTAP_AF_INET6 ? IPV6_HLEN : IPV4_HLEN) + UDP_HLEN +
		(d->format == XTAP_CD_JMIRROR ? JMIRROR_LEN : 0);
}

static __always_inline void encap_udp(struct udphdr *udp, const struct xtap_cdest *d, __u32 ulen)
{
	udp->source = d->sport;
	udp->dest = d->dport;
	udp->len = bpf_htons(ulen);
	udp->check = 0;
}

/* IPv4: olen bytes in all (outer headers and the intercepted packet). */
static __always_inline int encap_ipv4(struct ethhdr *eth, void *data_end, struct xtap_cdest *d, __u32 olen)
{
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	/* adjust_room made the room; the headers must also be in the linear
	 * part for direct access (the JMirror words included: 8 bytes) */
	if ((void *)(udp + 1) + JMIRROR_LEN > data_end)
		return XTAP_CDS_NOT_LINEAR;
	eth->h_proto = bpf_htons(0x0800);
	__builtin_memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = bpf_htons(olen);
	ip->id = bpf_htons((__u16)__sync_fetch_and_add(&d->ip_id, 1));
	ip->frag_off = 0; /* DF clear: the host may fragment on the way */
	ip->ttl = d->ttl;
	ip->protocol = IPPROTO_UDP_;
	__builtin_memcpy(&ip->saddr, d->src, 4);
	__builtin_memcpy(&ip->daddr, d->dst, 4);
	ip->check = csum_ipv4_hdr(ip);
	encap_udp(udp, d, olen - IPV4_HLEN); /* checksum 0 over IPv4, as Juniper does */
	if (d->format == XTAP_CD_JMIRROR)
		jmirror_write(udp + 1, d);
	return 0;
}

/* IPv6: the UDP checksum is mandatory (RFC 8200), over the pseudo-header,
 * the outer UDP header and everything after it, read from the skb. */
static __always_inline int encap_ipv6(struct __sk_buff *skb, struct ethhdr *eth, void *data_end,
				      const struct xtap_cdest *d, __u32 olen)
{
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip6 + 1);
	__u32 ulen = olen - IPV6_HLEN, payload;
	__u64 sum;

	if ((void *)(udp + 1) + JMIRROR_LEN > data_end)
		return XTAP_CDS_NOT_LINEAR;
	eth->h_proto = bpf_htons(0x86DD);
	__builtin_memset(ip6, 0, sizeof(*ip6));
	ip6->version = 6;
	ip6->payload_len = bpf_htons(ulen);
	ip6->nexthdr = IPPROTO_UDP_;
	ip6->hop_limit = d->ttl;
	__builtin_memcpy(&ip6->saddr, d->src, 16);
	__builtin_memcpy(&ip6->daddr, d->dst, 16);
	encap_udp(udp, d, ulen);
	if (d->format == XTAP_CD_JMIRROR)
		jmirror_write(udp + 1, d);
	/* pseudo-header: addresses, length, next header; then UDP and payload */
	sum = (__u32)bpf_csum_diff(NULL, 0, (__be32 *)&ip6->saddr, 32, 0);
	sum += bpf_htonl(ulen);
	sum += bpf_htonl(IPPROTO_UDP_);
	sum += (__u32)bpf_csum_diff(NULL, 0, (__be32 *)udp, UDP_HLEN, 0); /* check is 0 */
	/* the payload after UDP, read before the pointers below are used */
	if (xtap_csum_skb(skb, ETH_HLEN_ + IPV6_HLEN + UDP_HLEN, ulen - UDP_HLEN, &payload))
		return XTAP_CDS_CSUM_FAIL;
	sum += payload;
	udp->check = csum_fold(sum);
	if (!udp->check)
		udp->check = 0xffff; /* RFC 8200: a computed zero is sent as all ones */
	return 0;
}

#endif
