// SPDX-License-Identifier: GPL-2.0
/*
 * Baselines for `make bench`, measured in the same run as the classifier:
 * an empty XDP program, the parser alone, and a naive classifier that checks
 * every criterion in turn (the cost xtap's index structures avoid).
 */
#include "verdict.h"

#define LINEAR_MAX 65536

/* Criteria for the linear scan: both addresses are compared. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LINEAR_MAX);
	__type(key, __u32);
	__type(value, struct xtap_rule);
} bench_linear SEC(".maps");

/* criteria the scan checks; set from user space between runs */
__u32 linear_n = 16;

/* Keeps the parser's result alive so the compiler cannot drop the parse. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bench_sink SEC(".maps");

/* Cold runs: each repetition of BPF_PROG_TEST_RUN puts the next of up to
 * 65,536 flow addresses into the frame (at flow_off, flow_len bytes), so
 * the classifier sees distinct flows without a syscall per packet. */
struct bench_flow {
	__u8 addr[16];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct bench_flow);
} bench_flows SEC(".maps");

__u32 flow_off = 26;
__u32 flow_len = 4;
__u32 flow_count = 65536;
__u32 flow_next;

static __always_inline void next_flow(struct xdp_md *ctx)
{
	void *data = (void *)CTX_FIELD(ctx, struct xdp_md, data);
	void *data_end = (void *)CTX_FIELD(ctx, struct xdp_md, data_end);
	__u32 i = flow_next++ % (flow_count ? flow_count : 1);
	struct bench_flow *f = bpf_map_lookup_elem(&bench_flows, &i);
	__u8 *at = data + (flow_off & 0xff); /* bound for the verifier */

	if (!f || (void *)(at + 16) > data_end)
		return;
	if (flow_len == 16)
		__builtin_memcpy(at, f->addr, 16);
	else
		__builtin_memcpy(at, f->addr, 4);
}

SEC("xdp")
int bench_parse_cold(struct xdp_md *ctx)
{
	struct xtap_buf b;
	struct xtap_pkt p;
	__u32 zero = 0;
	__u64 *sink;

	next_flow(ctx);
	xdp_buf(ctx, &b);
	parse_packet(&b, &p);
	sink = bpf_map_lookup_elem(&bench_sink, &zero);
	if (sink)
		*sink += p.proto + p.sport + p.src[3];
	return XDP_PASS;
}

/* xtap_xdp on distinct flows; user space makes this object share the
 * classifier's maps (bpf_map__reuse_fd) before loading it. */
SEC("xdp")
int bench_classify_cold(struct xdp_md *ctx)
{
	next_flow(ctx);
	return xdp_classify(ctx);
}

/* Components of the classifier's cost, on the shared maps: the parse plus
 * only the index lookups a packet makes (no candidate checks, no counters,
 * no metadata). */
SEC("xdp")
int bench_lookups_only(struct xdp_md *ctx)
{
	struct xtap_buf b;
	struct xtap_exact_key ek;
	struct xtap_prefix_key pk;
	struct xtap_cls_state s;
	__u32 zero = 0, *present, bits, found = 0;
	__u64 *sink;

	s.dir = XTAP_DIR_IN;
	xdp_buf(ctx, &b);
	if (parse_packet(&b, &s.pkt))
		return XDP_PASS;
	present = bpf_map_lookup_elem(&XTAP_MAP_PRESENT, &zero);
	if (!present)
		return XDP_PASS;
	bits = *present;
	if (bits & XTAP_PRESENT_BIT(0, s.pkt.family == XTAP_AF_INET6, XTAP_ST_EXACT_SRC)) {
		exact_key(&ek, XTAP_SIDE_SRC, &s, s.pkt.src);
		found += !!bpf_map_lookup_elem(&XTAP_MAP_EXACT, &ek);
	}
	if (bits & XTAP_PRESENT_BIT(0, s.pkt.family == XTAP_AF_INET6, XTAP_ST_PREFIX_SRC)) {
		prefix_key(&pk, XTAP_SIDE_SRC, &s, s.pkt.src);
		found += !!bpf_map_lookup_elem(&XTAP_MAP_PREFIX, &pk);
	}
	if (bits & XTAP_PRESENT_BIT(0, s.pkt.family == XTAP_AF_INET6, XTAP_ST_PREFIX_DST)) {
		prefix_key(&pk, XTAP_SIDE_DST, &s, s.pkt.dst);
		found += !!bpf_map_lookup_elem(&XTAP_MAP_PREFIX, &pk);
	}
	sink = bpf_map_lookup_elem(&bench_sink, &zero);
	if (sink)
		*sink += found;
	return XDP_PASS;
}

SEC("xdp")
int bench_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int bench_parse(struct xdp_md *ctx)
{
	struct xtap_buf b;
	struct xtap_pkt p;
	__u32 zero = 0;
	__u64 *sink;

	xdp_buf(ctx, &b);
	parse_packet(&b, &p);
	sink = bpf_map_lookup_elem(&bench_sink, &zero);
	if (sink)
		*sink += p.proto + p.sport + p.src[3];
	return XDP_PASS;
}

static long linear_one(__u32 i, void *ctx)
{
	struct xtap_cls_state *s = ctx;
	struct xtap_rule *r = bpf_map_lookup_elem(&bench_linear, &i);

	if (r && xtap_rule_match(r, s))
		xtap_record(s, i, r);
	return 0;
}

SEC("xdp")
int bench_linear_scan(struct xdp_md *ctx)
{
	struct xtap_buf b;
	struct xtap_cls_state s;

	__builtin_memset(&s, 0, sizeof(s));
	xdp_buf(ctx, &b);
	if (parse_packet(&b, &s.pkt))
		return XDP_PASS;
	s.dir = XTAP_DIR_IN;
	bpf_loop(linear_n, linear_one, &s, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
