// SPDX-License-Identifier: GPL-2.0
/*
 * xtap's programs: XDP ingress classifies and leaves its verdict in XDP
 * metadata; TC ingress uses that verdict, or classifies itself when XDP is
 * not attached; TC egress classifies for output-interface criteria.
 * Every program passes the packet on untouched.
 */
#include "verdict.h"
#include "deliver.h"

/* Bytes TC makes linear before parsing: Ethernet, two VLAN tags, IPv6 and
 * a typical extension chain. Headers past them: the whole frame is made
 * linear and parsed again (tc_classify). */
#define TC_PULL_LEN 256

SEC("xdp")
int xtap_xdp(struct xdp_md *ctx)
{
	return xdp_classify(ctx);
}

/* Make the headers linear (direct packet access sees only the linear part)
 * and describe the packet. */
static __always_inline void tc_buf(struct __sk_buff *skb, struct xtap_buf *b)
{
	__u32 len = skb->len;
	__u32 want = len < TC_PULL_LEN ? len : TC_PULL_LEN;

	if (CTX_FIELD(skb, struct __sk_buff, data_end) - CTX_FIELD(skb, struct __sk_buff, data) < want)
		bpf_skb_pull_data(skb, want);
	b->data = (void *)(long)CTX_FIELD(skb, struct __sk_buff, data);
	b->data_end = (void *)(long)CTX_FIELD(skb, struct __sk_buff, data_end);
	b->len = len;
	b->want = 0;
	b->ctx = skb;
	b->xdp = 0;
}

/* Parse and classify; a header beyond the linear part (a long extension
 * chain in a paged skb) makes the whole frame linear, once, and the packet
 * is parsed again: pulling invalidates every packet pointer. */
static __always_inline int tc_classify(struct __sk_buff *skb, struct xtap_cls_state *s, __u32 dir)
{
	struct xtap_buf b;
	int err;

	tc_buf(skb, &b);
	err = parse_packet(&b, &s->pkt);
	if (b.want && !bpf_skb_pull_data(skb, b.len)) {
		b.data = (void *)(long)CTX_FIELD(skb, struct __sk_buff, data);
		b.data_end = (void *)(long)CTX_FIELD(skb, struct __sk_buff, data_end);
		b.want = 0;
		err = parse_packet(&b, &s->pkt);
	}
	return cls_run_parsed(s, err, dir, skb->ifindex);
}

/* TC_ACT_UNSPEC: let the rest of the tc/tcx chain decide, as if xtap were
 * not there. */
SEC("tc")
int xtap_tc_ingress(struct __sk_buff *skb)
{
	struct xtap_meta *meta = (void *)(long)skb->data_meta;
	struct xtap_cls_state s;

	if ((void *)(meta + 1) <= (void *)(long)skb->data && meta->magic == XTAP_META_MAGIC &&
	    meta->ifindex == skb->ifindex) {
		__u16 cds[XTAP_PKT_MAX_CDS];
		__u32 ncd = meta->ncd;

		/* cloning invalidates packet (and metadata) pointers: copy first */
		__builtin_memcpy(cds, meta->cd, sizeof(cds));
		counter_inc(XTAP_G_META_USED);
		return clone_to_vt(skb, cds, ncd);
	}
	tc_classify(skb, &s, XTAP_DIR_IN);
	return clone_to_vt(skb, s.cd, s.ncd);
}

SEC("tc")
int xtap_tc_egress(struct __sk_buff *skb)
{
	struct xtap_cls_state s;

	tc_classify(skb, &s, XTAP_DIR_OUT);
	return clone_to_vt(skb, s.cd, s.ncd);
}

/* On vt0's egress: every packet there is a copy to encapsulate. */
SEC("tc")
int xtap_vt_egress(struct __sk_buff *skb)
{
	return vt_encap(skb);
}

/* The loader's store into the exact index's buckets (xtap.h struct
 * xtap_xb_store): never attached, run by BPF_PROG_TEST_RUN. An exchange:
 * a full barrier, so the entry the pair names (written by an earlier
 * syscall) is visible first on every architecture. */
SEC("syscall")
int xtap_xb_store(struct xtap_xb_store *a)
{
	__u32 b = a->bucket, i = a->pair;
	__u64 v = a->value;
	struct xtap_xbucket *xb = bpf_map_lookup_elem(&XTAP_MAP_XBUCKET, &b);

	if (!xb)
		return 2; /* ENOENT: no such bucket */
	if (i < XTAP_XB_PAIRS)
		__sync_lock_test_and_set(&xb->e[i], v);
	else if (i == XTAP_XB_PAIRS)
		__sync_lock_test_and_set(&xb->spill, (__u32)v);
	else
		return 22; /* EINVAL */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
