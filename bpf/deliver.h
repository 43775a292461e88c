/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Delivery: TC clones each matching packet once per content destination to
 * vt0, the near end of the vt veth pair; vt0's TC egress program turns the
 * copy into outer IP + UDP (+ JMirror) + the intercepted packet from its IP
 * header on, addressed to the content destination, and the far end (vt1)
 * hands it to the host's routing. See docs/delivery.md.
 */
#ifndef XTAP_BPF_DELIVER_H
#define XTAP_BPF_DELIVER_H

#include "classify.h"
#include "ctx.h"

/* Set by the loader before load: vt0's ifindex (0: classify only, no
 * copies), the MAC addresses of the pair, and the largest IPv6 copy the
 * path to a content destination takes (IPv6 routers never fragment). */
const volatile __u32 vt_ifindex = 0;
const volatile __u8 vt_mac[6] = { 0 };
const volatile __u8 vt_peer_mac[6] = { 0 };
const volatile __u32 cd_mtu6 = 1500;

#define ETH_HLEN_ 14
#define VLAN_POP_MAX (VLAN_MAX_DEPTH + 1) /* the tags the parser follows, and one in skb metadata */

static __always_inline void cd_count(__u32 cd, __u32 what, __u64 n)
{
	struct xtap_cd_stats *st = bpf_map_lookup_elem(&XTAP_MAP_CD_STATS, &cd);

	if (st && what < XTAP_CDS_COUNT)
		st->c[what] += n;
}

/* One copy per content destination. The original keeps its bytes, mark
 * and priority: the mark carries the destination only while cloning. */
static __always_inline void clone_to_vt(struct __sk_buff *skb, const __u16 *cds, __u32 ncd)
{
	__u32 mark = skb->mark;

	if (!vt_ifindex)
		return;
	for (__u32 i = 0; i < XTAP_PKT_MAX_CDS; i++) {
		__u32 cd;

		if (i >= ncd)
			break;
		cd = cds[i];
		CTX_STORE(skb, struct __sk_buff, mark, XTAP_MARK_MAGIC | cd);
		if (bpf_clone_redirect(skb, vt_ifindex, 0))
			cd_count(cd, XTAP_CDS_CLONE_FAIL, 1);
		else
			cd_count(cd, XTAP_CDS_CLONED, 1);
	}
	CTX_STORE(skb, struct __sk_buff, mark, mark);
}

/* Ones' complement partial sum of len bytes of the copy from off, for the
 * UDP checksum over IPv6. Read in chunks through bpf_skb_load_bytes: no
 * packet pointers (the copy may be non-linear), one small loop body for the
 * verifier (a global function: verified once), and a zero-padded last chunk (zeros add nothing to the sum). */
#define CSUM_CHUNK 128
#define CSUM_MAX_CHUNKS 128 /* 16 KiB: more than any MTU a copy can have */
__noinline __u32 xtap_csum_skb(struct __sk_buff *skb, __u32 off, __u32 len)
{
	__u8 buf[CSUM_CHUNK];
	__u32 sum = 0;

	for (int i = 0; i < CSUM_MAX_CHUNKS; i++) {
		__u32 n = len - (__u32)i * CSUM_CHUNK;

		if ((__u32)i * CSUM_CHUNK >= len)
			break;
		if (n >= CSUM_CHUNK) {
			if (bpf_skb_load_bytes(skb, off + i * CSUM_CHUNK, buf, CSUM_CHUNK))
				return 0;
		} else {
			__builtin_memset(buf, 0, sizeof(buf));
			n &= CSUM_CHUNK - 1;
			barrier_var(n); /* check and use the same register (verifier) */
			if (n == 0)
				return 0;
			if (bpf_skb_load_bytes(skb, off + i * CSUM_CHUNK, buf, n))
				return 0;
		}
		sum = bpf_csum_diff(NULL, 0, (__be32 *)buf, CSUM_CHUNK, sum);
	}
	return sum;
}

/* Fold a 64-bit sum of 32-bit partial sums into the 16-bit checksum. */
static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* vt0's egress: encapsulate one copy for its content destination. */
static __always_inline int vt_encap(struct __sk_buff *skb)
{
	__u32 mark = skb->mark, cd = mark & 0xffff, inner_len, hdr, olen;
	struct xtap_cdest *d;
	struct ethhdr *eth;
	void *data, *data_end;
	__u16 proto;
	int v6out, jm;

	if ((mark & XTAP_MARK_MASK) != XTAP_MARK_MAGIC) {
		/* vt0 carries nothing but copies (the kernel's own IPv6
		 * neighbour discovery there is not needed) */
		counter_inc(XTAP_G_VT_FOREIGN);
		return TC_ACT_SHOT;
	}
	d = bpf_map_lookup_elem(&XTAP_MAP_CDESTS, &cd);
	if (!d || !d->active) {
		cd_count(cd, XTAP_CDS_INACTIVE, 1);
		return TC_ACT_SHOT;
	}
	/* tags in skb metadata and in the frame: pop moves the next inner tag
	 * into the metadata each time, so every call removes one */
	for (int i = 0; i < VLAN_POP_MAX; i++) {
		if (!skb->vlan_present && skb->protocol != bpf_htons(0x8100) &&
		    skb->protocol != bpf_htons(0x88A8))
			break;
		if (bpf_skb_vlan_pop(skb)) {
			cd_count(cd, XTAP_CDS_NOT_IP, 1);
			return TC_ACT_SHOT;
		}
	}
	data = (void *)CTX_FIELD(skb, struct __sk_buff, data);
	data_end = (void *)CTX_FIELD(skb, struct __sk_buff, data_end);
	if (data + ETH_HLEN_ + 40 > data_end) {
		/* make the IP header linear; pointers are stale after the call */
		bpf_skb_pull_data(skb, ETH_HLEN_ + 40);
		data = (void *)CTX_FIELD(skb, struct __sk_buff, data);
		data_end = (void *)CTX_FIELD(skb, struct __sk_buff, data_end);
	}
	eth = data;
	if ((void *)(eth + 1) > data_end) {
		cd_count(cd, XTAP_CDS_NOT_IP, 1);
		return TC_ACT_SHOT;
	}
	proto = bpf_ntohs(eth->h_proto);
	if (proto == 0x0800) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end) {
			cd_count(cd, XTAP_CDS_NOT_IP, 1);
			return TC_ACT_SHOT;
		}
		inner_len = bpf_ntohs(ip->tot_len);
	} else if (proto == 0x86DD) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end) {
			cd_count(cd, XTAP_CDS_NOT_IP, 1);
			return TC_ACT_SHOT;
		}
		inner_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	} else {
		cd_count(cd, XTAP_CDS_NOT_IP, 1);
		return TC_ACT_SHOT;
	}
	/* the intercepted packet ends where its IP length says: Ethernet
	 * padding is not part of it; a shorter frame is sent as it came */
	if (skb->len > ETH_HLEN_ + inner_len) {
		if (bpf_skb_change_tail(skb, ETH_HLEN_ + inner_len, 0)) {
			cd_count(cd, XTAP_CDS_NO_ROOM, 1);
			return TC_ACT_SHOT;
		}
	} else {
		inner_len = skb->len - ETH_HLEN_;
	}

	v6out = d->family == XTAP_AF_INET6;
	jm = d->format == XTAP_CD_JMIRROR;
	hdr = (v6out ? 40 : 20) + 8 + (jm ? 8 : 0);
	olen = hdr + inner_len;
	if (v6out && skb->gso_size) {
		cd_count(cd, XTAP_CDS_GSO, 1);
		return TC_ACT_SHOT;
	}
	if (v6out && olen > cd_mtu6) {
		cd_count(cd, XTAP_CDS_TOO_BIG, 1);
		return TC_ACT_SHOT;
	}
	if (bpf_skb_adjust_room(skb, hdr, BPF_ADJ_ROOM_MAC,
				skb->gso_size ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP : 0)) {
		cd_count(cd, XTAP_CDS_NO_ROOM, 1);
		return TC_ACT_SHOT;
	}
	/* every packet pointer is stale after adjust_room */
	data = (void *)CTX_FIELD(skb, struct __sk_buff, data);
	data_end = (void *)CTX_FIELD(skb, struct __sk_buff, data_end);
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	/* element by element: a cast-away volatile copy would be folded to the
	 * compile-time zeros instead of the values set before load */
	for (int i = 0; i < 6; i++) {
		eth->h_dest[i] = vt_peer_mac[i];
		eth->h_source[i] = vt_mac[i];
	}

	if (!v6out) {
		struct iphdr *ip = (void *)(eth + 1);
		struct udphdr *udp = (void *)(ip + 1);
		__u32 *w = (void *)ip;
		__u64 sum = 0;

		if ((void *)(udp + 1) + 8 > data_end)
			return TC_ACT_SHOT;
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
		for (int i = 0; i < 5; i++)
			sum += (w[i] & 0xffff) + (w[i] >> 16);
		ip->check = csum_fold(sum);
		udp->source = d->sport;
		udp->dest = d->dport;
		udp->len = bpf_htons(olen - 20);
		udp->check = 0; /* as Juniper does over IPv4 */
		if (jm) {
			__be32 *j = (void *)(udp + 1);

			j[0] = d->jm_word0;
			j[1] = d->jm_word1;
		}
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct udphdr *udp = (void *)(ip6 + 1);
		__u32 ulen = olen - 40;
		__u64 sum;

		if ((void *)(udp + 1) + 8 > data_end)
			return TC_ACT_SHOT;
		eth->h_proto = bpf_htons(0x86DD);
		__builtin_memset(ip6, 0, sizeof(*ip6));
		ip6->version = 6;
		ip6->payload_len = bpf_htons(ulen);
		ip6->nexthdr = IPPROTO_UDP_;
		ip6->hop_limit = d->ttl;
		__builtin_memcpy(&ip6->saddr, d->src, 16);
		__builtin_memcpy(&ip6->daddr, d->dst, 16);
		udp->source = d->sport;
		udp->dest = d->dport;
		udp->len = bpf_htons(ulen);
		udp->check = 0;
		if (jm) {
			__be32 *j = (void *)(udp + 1);

			j[0] = d->jm_word0;
			j[1] = d->jm_word1;
		}
		/* pseudo-header: addresses, length, next header; then UDP and payload */
		sum = (__u32)bpf_csum_diff(NULL, 0, (__be32 *)&ip6->saddr, 32, 0);
		sum += bpf_htonl(ulen);
		sum += bpf_htonl(IPPROTO_UDP_);
		sum += (__u32)bpf_csum_diff(NULL, 0, (__be32 *)udp, 8, 0); /* check is 0 */
		/* the payload after UDP, read before the pointers below are used */
		sum += xtap_csum_skb(skb, ETH_HLEN_ + 40 + 8, ulen - 8);
		udp->check = csum_fold(sum);
		if (!udp->check)
			udp->check = 0xffff; /* RFC 8200: a computed zero is sent as all ones */
	}
	cd_count(cd, XTAP_CDS_SENT, 1);
	cd_count(cd, XTAP_CDS_SENT_BYTES, olen);
	CTX_STORE(skb, struct __sk_buff, mark, 0);
	return TC_ACT_OK;
}

#endif
