// SPDX-License-Identifier: GPL-2.0
/*
 * Baselines for `make bench`, measured in the same run as the classifier:
 * an empty XDP program, the parser alone, and a naive classifier that checks
 * every criterion in turn (the cost xtap's index structures avoid).
 */
#include "classify.h"

#define LINEAR_MAX 65536

/* Criteria for the linear scan: both addresses are compared. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LINEAR_MAX);
	__type(key, __u32);
	__type(value, struct xtap_rule);
} bench_linear SEC(".maps");

const volatile __u32 linear_n = 16;

/* Keeps the parser's result alive so the compiler cannot drop the parse. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bench_sink SEC(".maps");

SEC("xdp")
int bench_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int bench_parse(struct xdp_md *ctx)
{
	struct xtap_buf b = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
		.len = bpf_xdp_get_buff_len(ctx),
	};
	struct xtap_pkt p;
	__u32 zero = 0;
	__u64 *sink;

	parse_packet(&b, &p);
	sink = bpf_map_lookup_elem(&bench_sink, &zero);
	if (sink)
		*sink += p.proto + p.sport + p.src[3];
	return XDP_PASS;
}

static long linear_one(__u32 i, void *ctx)
{
	struct xtap_cls *s = ctx;
	struct xtap_rule *r = bpf_map_lookup_elem(&bench_linear, &i);

	if (r && xtap_rule_match(r, s))
		xtap_record(s, i, r);
	return 0;
}

SEC("xdp")
int bench_linear_scan(struct xdp_md *ctx)
{
	struct xtap_buf b = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
		.len = bpf_xdp_get_buff_len(ctx),
	};
	struct xtap_cls s;

	__builtin_memset(&s, 0, sizeof(s));
	if (parse_packet(&b, &s.pkt))
		return XDP_PASS;
	s.dir = XTAP_DIR_IN;
	s.ifbit = XTAP_MAX_IFACES;
	bpf_loop(linear_n, linear_one, &s, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
