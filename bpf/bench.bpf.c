// SPDX-License-Identifier: GPL-2.0
/*
 * Baselines for `make bench`, measured in the same run as the classifier:
 * an empty XDP program, the parser alone, a naive classifier that checks
 * every criterion in turn (the cost xtap's index structures avoid), and the
 * memory floor (one and two cache-missing reads).
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
static __always_inline int lookups_only(struct xdp_md *ctx)
{
	struct xtap_buf b;
	struct xtap_exact_key ek;
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
		found += !!xtap_exact_find(&ek, xtap_xfilter_hash(&ek));
	}
	if (bits & XTAP_PRESENT_BIT(0, s.pkt.family == XTAP_AF_INET6, XTAP_ST_PREFIX_SRC)) {
		found += !!xtap_ptrie_lookup(&s, XTAP_SIDE_SRC);
	}
	if (bits & XTAP_PRESENT_BIT(0, s.pkt.family == XTAP_AF_INET6, XTAP_ST_PREFIX_DST)) {
		found += !!xtap_ptrie_lookup(&s, XTAP_SIDE_DST);
	}
	sink = bpf_map_lookup_elem(&bench_sink, &zero);
	if (sink)
		*sink += found;
	return XDP_PASS;
}

SEC("xdp")
int bench_lookups_only(struct xdp_md *ctx)
{
	return lookups_only(ctx);
}

/* The same over distinct flows: what the index lookups cost cold, the
 * part of a cold hit no layout of xtap's own values removes. */
SEC("xdp")
int bench_lookups_only_cold(struct xdp_md *ctx)
{
	next_flow(ctx);
	return lookups_only(ctx);
}

/* The floor (issue 15 item 1): one memory access that misses the caches
 * and the TLB on this machine, measured over the same frames and flows as
 * the classifier's cold figures. An array as large as 1M criteria need:
 * 2^20 lines of 64 bytes (64 MiB, more than the classifier's rules map at
 * 1M alone), read at an index that hashes the parsed source address with
 * the repetition counter, so that each packet reads a line no recent
 * packet read (a classifier's lookup of a new flow). Two reads: the second
 * index depends on the first read's value, as a hash lookup's element
 * depends on its bucket, so the misses do not overlap. */
#define FLOOR_LINES (1u << 20)
struct bench_line {
	__u64 w[8];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FLOOR_LINES);
	__type(key, __u32);
	__type(value, struct bench_line);
} bench_floor_mem SEC(".maps");

__u32 floor_reads = 1; /* 1 or 2; set from user space between runs */
__u32 floor_next;

/* murmur3's 32-bit finaliser: spreads consecutive counters over the array */
static __always_inline __u32 floor_mix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

SEC("xdp")
int bench_floor_cold(struct xdp_md *ctx)
{
	struct xtap_buf b;
	struct xtap_pkt p;
	struct bench_line *l;
	__u32 zero = 0, i, a;
	__u64 *sink, v;

	next_flow(ctx);
	xdp_buf(ctx, &b);
	parse_packet(&b, &p);
	__builtin_memcpy(&a, &p.src[12], 4); /* the address's last 32 bits (IPv4: the whole address) */
	if (p.family == XTAP_AF_INET)
		__builtin_memcpy(&a, p.src, 4);
	i = floor_mix(a ^ floor_mix(floor_next++)) & (FLOOR_LINES - 1);
	l = bpf_map_lookup_elem(&bench_floor_mem, &i);
	if (!l)
		return XDP_PASS;
	v = l->w[0];
	if (floor_reads > 1) {
		/* the array holds zeros: v & 1 adds nothing but makes the
		 * second address wait for the first read */
		i = (floor_mix(i) + (__u32)(v & 1)) & (FLOOR_LINES - 1);
		l = bpf_map_lookup_elem(&bench_floor_mem, &i);
		if (!l)
			return XDP_PASS;
		v += l->w[0];
	}
	sink = bpf_map_lookup_elem(&bench_sink, &zero);
	if (sink)
		*sink += v + p.proto;
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
