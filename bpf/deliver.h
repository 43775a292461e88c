/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Delivery: TC clones each matching packet once per content destination to
 * vt0, the near end of the vt veth pair; vt0's TC egress program turns the
 * copy into outer IP + UDP (+ JMirror) + the intercepted packet from its IP
 * header on, addressed to the content destination, and sends it straight
 * out of the device the route to the destination takes (the direct path),
 * or, when that route cannot be resolved here, to the far end (vt1), which
 * hands it to the host's routing. See docs/delivery.md. The outer headers
 * are encap.h's, their checksums csum.h's, the JMirror header jmirror.h's.
 */
#ifndef XTAP_BPF_DELIVER_H
#define XTAP_BPF_DELIVER_H

#include "classify.h"
#include "ctx.h"
#include "encap.h"

/* Set by the loader before load: vt0's ifindex (0: classify only, no
 * copies), the MAC addresses of the pair, and the largest IPv6 copy the
 * path to a content destination takes (IPv6 routers never fragment). */
const volatile __u32 vt_ifindex = 0;
/* vt1's ifindex: the direct path looks the route up as if the copy had
 * arrived on vt1 (its policy rules and forwarding setting); 0: no direct
 * path, every copy goes to vt1 */
const volatile __u32 vt_peer_ifindex = 0;
const volatile __u8 vt_mac[6] = { 0 };
const volatile __u8 vt_peer_mac[6] = { 0 };
const volatile __u32 cd_mtu6 = 1500;
/* 0: every copy through vt0, the in-place path off (clone_inplace) */
const volatile __u8 copy_inplace = 1;

#define VLAN_POP_MAX (VLAN_MAX_DEPTH + 1) /* the tags the parser follows, and one in skb metadata */

static __always_inline void cd_count(__u32 cd, __u32 what, __u64 n)
{
	struct xtap_cd_stats *st = bpf_map_lookup_elem(&XTAP_MAP_CD_STATS, &cd);

	if (st && what < XTAP_CDS_SLOTS)
		st->c[what] += n;
}

/* The copy from vt0: no VLAN tags left, an IPv4 or IPv6 packet after the
 * Ethernet header, cut to its IP length. *inner_len: that length. Returns
 * 0 or the counter of the reason to drop the copy. */
static __always_inline int vt_inner(struct __sk_buff *skb, __u32 *inner_len)
{
	void *data, *data_end;
	struct ethhdr *eth;
	__u16 proto;
	__u32 len;

	/* tags in skb metadata and in the frame: pop moves the next inner tag
	 * into the metadata each time, so every call removes one */
	for (int i = 0; i < VLAN_POP_MAX; i++) {
		if (!skb->vlan_present && skb->protocol != bpf_htons(0x8100) && skb->protocol != bpf_htons(0x88A8))
			break;
		if (bpf_skb_vlan_pop(skb))
			return XTAP_CDS_NOT_IP;
	}
	data = (void *)CTX_FIELD(skb, struct __sk_buff, data);
	data_end = (void *)CTX_FIELD(skb, struct __sk_buff, data_end);
	if (data + ETH_HLEN_ + IPV6_HLEN > data_end) {
		/* make the IP header linear; pointers are stale after the call */
		bpf_skb_pull_data(skb, ETH_HLEN_ + IPV6_HLEN);
		data = (void *)CTX_FIELD(skb, struct __sk_buff, data);
		data_end = (void *)CTX_FIELD(skb, struct __sk_buff, data_end);
	}
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XTAP_CDS_NOT_IP;
	proto = bpf_ntohs(eth->h_proto);
	if (proto == 0x0800) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return XTAP_CDS_NOT_IP;
		len = bpf_ntohs(ip->tot_len);
	} else if (proto == 0x86DD) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return XTAP_CDS_NOT_IP;
		len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	} else {
		return XTAP_CDS_NOT_IP;
	}
	/* the intercepted packet ends where its IP length says: Ethernet
	 * padding is not part of it; a shorter frame is sent as it came */
	if (skb->len > ETH_HLEN_ + len) {
		if (bpf_skb_change_tail(skb, ETH_HLEN_ + len, 0))
			return XTAP_CDS_NO_ROOM;
	} else {
		len = skb->len - ETH_HLEN_;
	}
	*inner_len = len;
	return 0;
}

#define AF_INET_ 2
#define ETH_P_IP_ 0x0800

/* The direct path: route the encapsulated copy as the host would once vt1
 * received it, and send it out of the route's device from here, skipping
 * vt1's receive path and the IP forwarding stack. The bytes that leave are
 * the ones the host's forwarding would send: TTL decremented (and the
 * header checksum updated as ip_decrease_ttl does), Ethernet addresses of
 * the outgoing device and the next hop, priority and timestamp cleared.
 * Returns the TC verdict (TC_ACT_REDIRECT), or -1 for the fallback: no
 * direct path configured, IPv6 outer (below), aggregated copies (GSO is
 * left to the stack), TTL 1 or less (the stack answers those), an inner
 * packet of the other family (skb->protocol would not be the outer one,
 * and bpf_redirect_neigh and the qdiscs read it), or a lookup that does
 * not end in a unicast route within the device's MTU (no route, a
 * blackhole, prohibit or local route, forwarding off on vt1, a copy that
 * needs fragmenting: the stack fragments, DF being clear). */
static __always_inline int vt_direct(struct __sk_buff *skb, struct ethhdr *eth, void *data_end,
				     const struct xtap_cdest *d, __u32 olen)
{
	struct iphdr *ip = (void *)(eth + 1);
	struct bpf_fib_lookup p = { 0 };
	__u32 check;
	long rc;

	/* IPv6 outer: the kernel's bpf_fib_lookup wants conf.forwarding on
	 * vt1, and the vt pair forwards IPv6 with force_forwarding only
	 * (docs/vt-pair.md), so the lookup would refuse every copy */
	if (!vt_peer_ifindex || d->family != XTAP_AF_INET || skb->gso_size || skb->protocol != bpf_htons(ETH_P_IP_))
		return -1;
	if ((void *)(ip + 1) > data_end || ip->ttl <= 1)
		return -1;
	p.family = AF_INET_;
	p.l4_protocol = IPPROTO_UDP_;
	p.sport = d->sport;
	p.dport = d->dport;
	p.tot_len = (__u16)olen; /* nonzero: checked against the route's MTU */
	p.ifindex = vt_peer_ifindex;
	__builtin_memcpy(&p.ipv4_src, d->src, 4);
	__builtin_memcpy(&p.ipv4_dst, d->dst, 4);
	rc = bpf_fib_lookup(skb, &p, sizeof(p), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return -1;
	/* what ip_forward does to the header: TTL less one, checksum
	 * adjusted incrementally (RFC 1624) */
	check = ip->check;
	check += bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xFFFF));
	ip->ttl--;
	CTX_STORE(skb, struct __sk_buff, priority, 0); /* rt_tos2priority(0), as forwarding sets it */
	skb->tstamp = 0; /* forwarding clears the receive time stamp, so no qdisc takes it for a send time */
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* next hop known, its MAC not yet: the kernel's neighbour code
		 * resolves it and writes the Ethernet header */
		struct bpf_redir_neigh nh = { .nh_family = AF_INET_, .ipv4_nh = p.ipv4_dst };

		return (int)bpf_redirect_neigh(p.ifindex, &nh, sizeof(nh), 0);
	}
	__builtin_memcpy(eth->h_dest, p.dmac, 6);
	__builtin_memcpy(eth->h_source, p.smac, 6);
	return (int)bpf_redirect(p.ifindex, 0);
}

/* The in-place path (issue 15 item 4): for a plain IPv4 packet (no VLAN
 * tag, no Ethernet padding, not aggregated) and an IPv4 destination whose
 * route resolves to a known neighbour, TC ingress writes the copy's outer
 * headers into the original itself, clones it straight to the route's
 * device and takes the headers out again: the copy skips vt0's transmit
 * and second program, and its bytes are the ones vt_encap + vt_direct
 * would send. Returns 1 (cloned), 0 (clone failed), -1 (not taken, the
 * original untouched: the vt0 path follows), or -2 (the original could
 * not be restored: the caller drops it, counted, rather than forward
 * altered bytes; after the clone the skb is private, so this needs an
 * allocation failure that has not been seen). */
/* a subprogram: inlined, its frame and tc_classify's exceed the 512-byte stack */
static __attribute__((noinline)) int clone_inplace(struct __sk_buff *skb, __u32 cd)
{
	/* zeros to write over the headers before they are removed: the room
	 * adjust_room made held zeros, which a CHECKSUM_COMPLETE sum took as
	 * nothing, and the removal subtracts the sum of what is there */
	static const __u8 zeros[64] = { 0 };
	__u32 mark = (__u32)CTX_FIELD(skb, struct __sk_buff, mark);
	__u32 prio = (__u32)CTX_FIELD(skb, struct __sk_buff, priority);
	__u32 inner_len, hdr, olen, check;
	struct bpf_fib_lookup p = { 0 };
	struct ethhdr *eth, save;
	struct xtap_cdest *d;
	struct iphdr *ip;
	void *data_end;
	long rc;
	int cloned;

	if (!copy_inplace || !vt_peer_ifindex || skb->gso_size || skb->vlan_present ||
	    skb->protocol != bpf_htons(ETH_P_IP_))
		return -1;
	d = bpf_map_lookup_elem(&XTAP_MAP_CDESTS, &cd);
	if (!d || !d->active || d->family != XTAP_AF_INET || d->ttl <= 1)
		return -1;
	eth = (void *)CTX_FIELD(skb, struct __sk_buff, data);
	data_end = (void *)CTX_FIELD(skb, struct __sk_buff, data_end);
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP_))
		return -1;
	inner_len = bpf_ntohs(ip->tot_len);
	if (skb->len != ETH_HLEN_ + inner_len)
		return -1; /* padding to trim, or a short frame: vt_inner's cases */
	hdr = encap_len(d);
	olen = hdr + inner_len;
	p.family = AF_INET_;
	p.l4_protocol = IPPROTO_UDP_;
	p.sport = d->sport;
	p.dport = d->dport;
	p.tot_len = (__u16)olen; /* nonzero: checked against the route's MTU */
	p.ifindex = vt_peer_ifindex; /* as if the copy had arrived on vt1, as vt_direct does */
	__builtin_memcpy(&p.ipv4_src, d->src, 4);
	__builtin_memcpy(&p.ipv4_dst, d->dst, 4);
	rc = bpf_fib_lookup(skb, &p, sizeof(p), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return -1; /* neighbour unresolved among the rest: vt_direct's bpf_redirect_neigh */
	__builtin_memcpy(&save, eth, sizeof(save));
	if (bpf_skb_adjust_room(skb, hdr, BPF_ADJ_ROOM_MAC, 0))
		return -1; /* nothing changed */
	eth = (void *)CTX_FIELD(skb, struct __sk_buff, data);
	data_end = (void *)CTX_FIELD(skb, struct __sk_buff, data_end);
	cloned = -1;
	if ((void *)(eth + 1) > data_end || encap_ipv4(eth, data_end, d, olen))
		goto restore;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		goto restore;
	/* what the host's forwarding does, as vt_direct */
	check = ip->check;
	check += bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xFFFF));
	ip->ttl--;
	__builtin_memcpy(eth->h_dest, p.dmac, 6);
	__builtin_memcpy(eth->h_source, p.smac, 6);
	/* the copy leaves with mark and priority 0, as from vt0; the
	 * redirect clears its time stamp */
	CTX_STORE(skb, struct __sk_buff, mark, 0);
	CTX_STORE(skb, struct __sk_buff, priority, 0);
	cloned = !bpf_clone_redirect(skb, p.ifindex, 0);
	CTX_STORE(skb, struct __sk_buff, mark, mark);
	CTX_STORE(skb, struct __sk_buff, priority, prio);
	if (cloned)
		cd_count(cd, XTAP_CDS_SENT_BYTES, olen);
restore:
	/* store_bytes makes the original's head private first (the clone
	 * keeps the shared one) */
	if (bpf_skb_store_bytes(skb, ETH_HLEN_, zeros, hdr & 63, 0) ||
	    bpf_skb_adjust_room(skb, -(__s32)hdr, BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_store_bytes(skb, 0, &save, sizeof(save), 0))
		return -2;
	return cloned;
}

/* One copy per content destination: the in-place path when it applies,
 * otherwise a clone to vt0 whose mark carries the destination (vt_encap).
 * The original keeps its bytes, mark and priority. Returns TC_ACT_SHOT
 * only for an original the in-place path could not restore. */
static __always_inline int clone_to_vt(struct __sk_buff *skb, const __u16 *cds, __u32 ncd)
{
	__u32 mark = skb->mark;
	int r;

	if (!vt_ifindex)
		return TC_ACT_UNSPEC;
	for (__u32 i = 0; i < XTAP_PKT_MAX_CDS; i++) {
		__u32 cd;

		if (i >= ncd)
			break;
		cd = cds[i];
		r = clone_inplace(skb, cd);
		if (r == -2) {
			cd_count(cd, XTAP_CDS_RESTORE_FAIL, 1);
			return TC_ACT_SHOT;
		}
		if (r >= 0) {
			cd_count(cd, r ? XTAP_CDS_CLONED : XTAP_CDS_CLONE_FAIL, 1);
			if (r) {
				cd_count(cd, XTAP_CDS_SENT, 1);
				cd_count(cd, XTAP_CDS_DIRECT, 1);
			}
			continue;
		}
		CTX_STORE(skb, struct __sk_buff, mark, XTAP_MARK_MAGIC | cd);
		if (bpf_clone_redirect(skb, vt_ifindex, 0))
			cd_count(cd, XTAP_CDS_CLONE_FAIL, 1);
		else
			cd_count(cd, XTAP_CDS_CLONED, 1);
		CTX_STORE(skb, struct __sk_buff, mark, mark);
	}
	return TC_ACT_UNSPEC;
}

/* vt0's egress: encapsulate one copy for its content destination. Every
 * TC_ACT_SHOT is counted under its reason. */
static __always_inline int vt_encap(struct __sk_buff *skb)
{
	__u32 mark = skb->mark, cd = mark & 0xffff, inner_len = 0, hdr, olen;
	struct xtap_cdest *d;
	struct ethhdr *eth;
	void *data_end;
	int v6out, why;

	if ((mark & XTAP_MARK_MASK) != XTAP_MARK_MAGIC) {
		/* vt0 carries nothing but copies (the kernel's own IPv6
		 * neighbour discovery there is not needed) */
		counter_inc(XTAP_G_VT_FOREIGN);
		return TC_ACT_SHOT;
	}
	d = bpf_map_lookup_elem(&XTAP_MAP_CDESTS, &cd);
	if (!d || !d->active) {
		why = XTAP_CDS_INACTIVE;
		goto drop;
	}
	if ((why = vt_inner(skb, &inner_len)))
		goto drop;
	v6out = d->family == XTAP_AF_INET6;
	hdr = encap_len(d);
	olen = hdr + inner_len;
	if (v6out && skb->gso_size) {
		why = XTAP_CDS_GSO;
		goto drop;
	}
	if (v6out && olen > cd_mtu6) {
		why = XTAP_CDS_TOO_BIG;
		goto drop;
	}
	if (bpf_skb_adjust_room(skb, hdr, BPF_ADJ_ROOM_MAC,
				skb->gso_size ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP : 0)) {
		why = XTAP_CDS_NO_ROOM;
		goto drop;
	}
	/* every packet pointer is stale after adjust_room */
	eth = (void *)CTX_FIELD(skb, struct __sk_buff, data);
	data_end = (void *)CTX_FIELD(skb, struct __sk_buff, data_end);
	if ((void *)(eth + 1) > data_end) {
		why = XTAP_CDS_NOT_LINEAR;
		goto drop;
	}
	/* element by element: a cast-away volatile copy would be folded to the
	 * compile-time zeros instead of the values set before load */
	for (int i = 0; i < 6; i++) {
		eth->h_dest[i] = vt_peer_mac[i];
		eth->h_source[i] = vt_mac[i];
	}
	why = v6out ? encap_ipv6(skb, eth, data_end, d, olen) : encap_ipv4(eth, data_end, d, olen);
	if (why)
		goto drop;
	cd_count(cd, XTAP_CDS_SENT, 1);
	cd_count(cd, XTAP_CDS_SENT_BYTES, olen);
	CTX_STORE(skb, struct __sk_buff, mark, 0);
	why = vt_direct(skb, eth, data_end, d, olen);
	if (why >= 0) {
		cd_count(cd, XTAP_CDS_DIRECT, 1);
		return why;
	}
	cd_count(cd, XTAP_CDS_FALLBACK, 1);
	return TC_ACT_OK;
drop:
	cd_count(cd, (__u32)why, 1);
	return TC_ACT_SHOT;
}

#endif
