// SPDX-License-Identifier: BSD-2-Clause
/*
 * `make bench`: cost of the XDP classifier per packet through
 * BPF_PROG_TEST_RUN, as medians of repeated runs, with baselines measured in
 * the same run (an empty program, the parser alone, a naive linear scan).
 * Prints `BENCH <name> <value> ns` per figure and `RATIO <name> <value>`.
 *
 * Warm: one flow, the same frame repeated in the kernel. Cold: 65,536
 * distinct flows, one run each (the kernel's timer then adds its own cost to
 * every figure alike, baselines included).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.skel.h"
#include "classifier.h"
#include "pktbuild.h"
#include "xtap.skel.h"

#define RUNS 7
#define WARM_REPEAT 200000
#define COLD_FLOWS 65536
#define FRAME 256
#define COLD_REPEAT (4 * COLD_FLOWS)

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static double run_once(int prog, const uint8_t *pkt, int len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .repeat = WARM_REPEAT);

	if (bpf_prog_test_run_opts(prog, &o)) {
		perror("test run");
		exit(1);
	}
	return o.duration;
}

/* ns per packet of prog on one frame repeated in the kernel. */
static double warm(int prog, const uint8_t *pkt, int len)
{
	double v[RUNS];

	for (int r = 0; r < RUNS; r++)
		v[r] = run_once(prog, pkt, len);
	return median(v, RUNS);
}

/* The parse-only baseline, run next to every warm subject: a ratio is the
 * median of subject / (baseline before + after) / 2, so that the machine's
 * drift between figures does not enter it. */
static int parse_prog;
static const uint8_t *parse_pkt[2];
static int parse_len[2];

static double warm_ratio(int prog, const uint8_t *pkt, int len, int v6, double *ns)
{
	double v[RUNS], x[RUNS];

	for (int r = 0; r < RUNS; r++) {
		double p1 = run_once(parse_prog, parse_pkt[v6], parse_len[v6]);

		x[r] = run_once(prog, pkt, len);
		v[r] = x[r] / ((p1 + run_once(parse_prog, parse_pkt[v6], parse_len[v6])) / 2);
	}
	*ns = median(x, RUNS);
	return median(v, RUNS);
}

/* ns per packet of a bench_*_cold program: the kernel repeats the frame
 * and the program writes flow i's address at off (len bytes) each time. */
static double cold(struct bench_bpf *b, int prog, const uint8_t *pkt, int len, uint8_t (*flows)[16], int n,
		   int off, int alen)
{
	int fd = bpf_map__fd(b->maps.bench_flows);
	double v[RUNS];

	for (uint32_t i = 0; i < (uint32_t)n; i++)
		if (bpf_map_update_elem(fd, &i, flows[i], BPF_ANY)) {
			perror("flows");
			exit(1);
		}
	b->data->flow_off = off;
	b->data->flow_len = alen;
	b->data->flow_count = n;
	for (int r = 0; r < RUNS; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .repeat = COLD_REPEAT);

		b->bss->flow_next = 0;
		if (bpf_prog_test_run_opts(prog, &o)) {
			perror("test run");
			exit(1);
		}
		v[r] = o.duration;
	}
	return median(v, RUNS);
}

static void bench(const char *name, double ns)
{
	printf("BENCH %s %.1f ns\n", name, ns);
	fflush(stdout);
}

static void ratio(const char *name, double x, double goal)
{
	if (goal > 0)
		printf("RATIO %s %.2f (goal <= %.1f: %s)\n", name, x, goal, x <= goal ? "met" : "NOT met");
	else
		printf("RATIO %s %.2f\n", name, x);
}

static int frame(int v6, const uint8_t *src, const uint8_t *dst, uint8_t *out)
{
	struct pkt_spec s = { .family = v6 ? 6 : 4, .proto = 6, .sport = 40000, .dport = 443, .payload = 10 };

	memcpy(s.src, src, 16);
	memcpy(s.dst, dst, 16);
	return pkt_build(&s, out, FRAME, NULL);
}

/* Addresses of the installed criteria: random, never in 192.0.2.0/24 or
 * 2001:db8::/32, which the miss packets use. */
static void rand_addr(int v6, uint8_t *a)
{
	memset(a, 0, 16);
	for (int i = 0; i < (v6 ? 16 : 4); i++)
		a[i] = (uint8_t)rnd();
	if (!v6 && a[0] == 192)
		a[0] = 10;
	if (v6) {
		a[0] = 0x20 | (a[0] & 0x0f);
		a[2] = 0x0e;
	}
}

struct set {
	struct xtap_bpf *skel;
	struct bench_bpf *cold; /* bench programs sharing this set's maps */
	struct xtap_cls *cls;
	int prog;
	uint32_t n;
	uint8_t (*addr)[16]; /* anchor address of criterion i */
	uint8_t *plen;
};

static int set_open(struct set *s, uint32_t max)
{
	struct xtap_cls_maps m;

	memset(s, 0, sizeof(*s));
	s->skel = xtap_bpf__open();
	if (!s->skel)
		return -1;
	bpf_map__set_max_entries(s->skel->maps.xtap_rules, max);
	bpf_map__set_max_entries(s->skel->maps.xtap_stats, max);
	bpf_map__set_max_entries(s->skel->maps.xtap_exact, max);
	bpf_map__set_max_entries(s->skel->maps.xtap_prefix, max);
	if (xtap_bpf__load(s->skel))
		return -1;
	m = (struct xtap_cls_maps){
		bpf_map__fd(s->skel->maps.xtap_rules), bpf_map__fd(s->skel->maps.xtap_stats),
		bpf_map__fd(s->skel->maps.xtap_exact), bpf_map__fd(s->skel->maps.xtap_prefix),
		bpf_map__fd(s->skel->maps.xtap_sets), bpf_map__fd(s->skel->maps.xtap_ifaces),
		bpf_map__fd(s->skel->maps.xtap_present), bpf_map__fd(s->skel->maps.xtap_frags),
		bpf_map__fd(s->skel->maps.xtap_counters),
	};
	s->cls = xtap_cls_new(&m, max, XTAP_MAX_SETS_DEFAULT);
	s->cold = bench_bpf__open();
	if (!s->cold)
		return -1;
#define SHARE(name) bpf_map__reuse_fd(s->cold->maps.name, bpf_map__fd(s->skel->maps.name))
	if (SHARE(xtap_rules) || SHARE(xtap_stats) || SHARE(xtap_exact) || SHARE(xtap_prefix) ||
	    SHARE(xtap_sets) || SHARE(xtap_ifaces) || SHARE(xtap_present) || SHARE(xtap_frags) ||
	    SHARE(xtap_counters) || bench_bpf__load(s->cold))
		return -1;
#undef SHARE
	s->prog = bpf_program__fd(s->skel->progs.xtap_xdp);
	s->addr = calloc(max, 16);
	s->plen = calloc(max, 1);
	return s->cls && s->addr && s->plen ? 0 : -1;
}

/* Kernel memory of one map as /proc/self/fdinfo reports it ("memlock:"):
 * what the map holds now for the hash and LPM maps (allocated on demand),
 * the whole preallocation for arrays. */
static uint64_t map_memlock(int fd)
{
	char path[64], line[128];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %" SCNu64, &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Sum of the memory of every map of the classifier's object (indexes,
 * rules, counters, sets, fragment records, destinations, globals), printed
 * per map and per installed criterion. Returns the total. */
static uint64_t map_memory(const struct set *s, const char *fam, const char *shape)
{
	const struct bpf_map *m;
	uint64_t total = 0;
	char name[128];

	bpf_object__for_each_map(m, s->skel->obj) {
		uint64_t b = map_memlock(bpf_map__fd(m));

		printf("INFO %s %s %u criteria: map %s %" PRIu64 " B (max_entries %u)\n", fam, shape, s->n,
		       bpf_map__name(m), b, bpf_map__max_entries(m));
		total += b;
	}
	snprintf(name, sizeof(name), "map_bytes_total_%s_%s_%u", fam, shape, s->n);
	printf("BENCH %s %" PRIu64 " B\n", name, total);
	snprintf(name, sizeof(name), "map_bytes_per_criterion_%s_%s_%u", fam, shape, s->n);
	printf("BENCH %s %.0f B\n", name, (double)total / s->n);
	return total;
}

static void set_close(struct set *s)
{
	bench_bpf__destroy(s->cold);
	xtap_cls_free(s->cls);
	xtap_bpf__destroy(s->skel);
	free(s->addr);
	free(s->plen);
}

/* Grow the set to n criteria: exact sources, or (mixed) one third exact
 * sources, one third source prefixes, one third destination prefixes. */
static void set_grow(struct set *s, uint32_t n, int v6, int mixed)
{
	struct xtap_criterion c;
	uint32_t slot;

	while (s->n < n) {
		int kind = mixed ? (int)(s->n % 3) : 0;
		unsigned full = v6 ? 128 : 32;
		uint8_t *a = s->addr[s->n];

		memset(&c, 0, sizeof(c));
		c.family = v6 ? XTAP_AF_INET6 : XTAP_AF_INET;
		c.proto.any = c.sport.any = c.dport.any = c.itype.any = c.icode.any = 1;
		c.ncd = 1;
		c.cd[0] = s->n % 4;
		rand_addr(v6, a);
		s->plen[s->n] = kind == 0 ? full : (uint8_t)(v6 ? 48 + rnd() % 72 : 16 + rnd() % 15);
		if (kind == 2) {
			memcpy(c.dst, a, 16);
			c.dst_plen = s->plen[s->n];
		} else {
			memcpy(c.src, a, 16);
			c.src_plen = s->plen[s->n];
		}
		if (xtap_cls_add(s->cls, &c, &slot) == 0) {
			s->n++;
			continue;
		}
		/* a random prefix over too many others: draw another */
	}
}

/* A frame hitting criterion i (source or destination inside its anchor). */
static int hit_frame(const struct set *s, uint32_t i, int v6, int mixed, uint8_t *out)
{
	uint8_t other[16], a[16];

	pkt_addr(other, v6 ? "2001:db8::99" : "192.0.2.99");
	memcpy(a, s->addr[i], 16);
	return mixed && i % 3 == 2 ? frame(v6, other, a, out) : frame(v6, a, other, out);
}

static int miss_frame(int v6, uint32_t i, uint8_t *out)
{
	uint8_t a[16], b[16];

	pkt_addr(a, v6 ? "2001:db8::1" : "192.0.2.1");
	pkt_addr(b, v6 ? "2001:db8::2" : "192.0.2.2");
	a[v6 ? 15 : 3] = (uint8_t)i;
	a[v6 ? 14 : 2] ^= (uint8_t)(v6 ? i >> 8 : 0);
	return frame(v6, a, b, out);
}

/* Where the source address sits in the frames built here (no VLAN). */
static int src_off(int v6)
{
	return v6 ? 14 + 8 : 14 + 12;
}

static uint8_t flows[COLD_FLOWS][16];

static void miss_flows(int v6)
{
	for (int i = 0; i < COLD_FLOWS; i++) {
		pkt_addr(flows[i], v6 ? "2001:db8::" : "192.0.2.0");
		flows[i][v6 ? 14 : 2] ^= (uint8_t)(v6 ? i >> 8 : 0); /* stays in 192.0.2/23 */
		flows[i][v6 ? 15 : 3] = (uint8_t)i;
		if (v6)
			flows[i][13] = (uint8_t)(i >> 3);
	}
}

/* Anchor addresses of source-anchored criteria, spread over the set. */
static int hit_flows(const struct set *s, int mixed)
{
	int n = 0;

	for (uint32_t k = 0; k < s->n && n < COLD_FLOWS; k++) {
		uint32_t i = s->n > COLD_FLOWS ? (uint32_t)(((uint64_t)k * 2654435761u) % s->n) : k;

		if (mixed && i % 3 == 2)
			continue;
		memcpy(flows[n++], s->addr[i], 16);
	}
	return n;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 1, 1000, 100000, 1000000 };
	uint32_t max = argc > 1 ? (uint32_t)atoi(argv[1]) : 1000000;
	double parse_only[2], base_empty, parse_cold[2];
	double at1[2][2] = { { 0 } }; /* [v6][mixed], warm hit */
	struct bench_bpf *b;
	uint8_t f[FRAME], a[16], d[16];
	char name[128];
	int len[2];

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* machine description for the record */
	if (system("echo \"MACHINE $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), "
		   "kernel $(uname -r), virtualised: $(grep -q hypervisor /proc/cpuinfo && echo yes || echo no)\"") != 0)
		printf("MACHINE unknown\n");

	b = bench_bpf__open_and_load();
	if (!b) {
		fprintf(stderr, "cannot load the benchmark programs: %s\n", strerror(errno));
		return 1;
	}
	for (int v6 = 0; v6 < 2; v6++) {
		pkt_addr(a, v6 ? "2001:db8::1" : "192.0.2.1");
		pkt_addr(d, v6 ? "2001:db8::2" : "192.0.2.2");
		len[v6] = frame(v6, a, d, f);
	}

	/* ---- baselines ---- */
	static uint8_t pf[2][FRAME];

	for (int v6 = 0; v6 < 2; v6++) {
		miss_frame(v6, 0, pf[v6]);
		parse_pkt[v6] = pf[v6];
		parse_len[v6] = len[v6];
	}
	parse_prog = bpf_program__fd(b->progs.bench_parse);
	/* warm-up: the first second of test runs is slower on these VMs */
	for (int i = 0; i < 50; i++)
		run_once(parse_prog, pf[0], len[0]);
	miss_frame(0, 0, f);
	base_empty = warm(bpf_program__fd(b->progs.bench_empty), f, len[0]);
	bench("baseline_empty_xdp", base_empty);
	for (int v6 = 0; v6 < 2; v6++) {
		miss_frame(v6, 0, f);
		parse_only[v6] = warm(bpf_program__fd(b->progs.bench_parse), f, len[v6]);
		snprintf(name, sizeof(name), "baseline_parse_only_%s_warm", v6 ? "ipv6" : "ipv4");
		bench(name, parse_only[v6]);
		miss_flows(v6);
		parse_cold[v6] = cold(b, bpf_program__fd(b->progs.bench_parse_cold), f, len[v6], flows, COLD_FLOWS,
				      src_off(v6), v6 ? 16 : 4);
		snprintf(name, sizeof(name), "baseline_parse_only_%s_cold", v6 ? "ipv6" : "ipv4");
		bench(name, parse_cold[v6]);
	}
	/* naive linear scan: criteria that never match, so all are checked */
	{
		int fd = bpf_map__fd(b->maps.bench_linear);

		for (uint32_t i = 0; i < 1024; i++) {
			struct xtap_rule r = { .uid = i + 1, .family = XTAP_AF_INET,
					       .flags = XTAP_R_ACTIVE | XTAP_R_CHECK_SRC | XTAP_R_CHECK_DST |
							XTAP_R_PROTO_ANY | XTAP_R_SPORT_ANY | XTAP_R_DPORT_ANY |
							XTAP_R_ITYPE_ANY | XTAP_R_ICODE_ANY,
					       .src_plen = 32, .ncd = 1 };

			rand_addr(0, r.src);
			if (bpf_map_update_elem(fd, &i, &r, BPF_ANY))
				return 1;
		}
		miss_frame(0, 0, f);
		for (uint32_t n = 16; n <= 1024; n *= 4) {
			double ns;

			b->data->linear_n = n;
			ns = warm(bpf_program__fd(b->progs.bench_linear_scan), f, len[0]);
			snprintf(name, sizeof(name), "baseline_linear_scan_%u_ipv4_miss_warm", n);
			bench(name, ns);
			snprintf(name, sizeof(name), "linear_scan_%u_vs_parse_only", n);
			ratio(name, ns / parse_only[0], 0);
		}
	}

	/* ---- the classifier ---- */
	for (int mixed = 0; mixed < 2; mixed++) {
		for (int v6 = 0; v6 < 2; v6++) {
			uint64_t bytes100k = 0;
			struct set s;

			if (set_open(&s, max)) {
				fprintf(stderr, "cannot load the classifier with %u criteria\n", max);
				return 1;
			}
			for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]) && sizes[k] <= max; k++) {
				const char *fam = v6 ? "ipv6" : "ipv4", *shape = mixed ? "mixed" : "exact";
				int cprog = bpf_program__fd(s.cold->progs.bench_classify_cold), nf;
				struct timespec t0, t1;
				double hw, mw, hc, mc, lw, setup, hr, lr;

				clock_gettime(CLOCK_MONOTONIC, &t0);
				set_grow(&s, sizes[k], v6, mixed);
				clock_gettime(CLOCK_MONOTONIC, &t1);
				setup = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
				/* warm hit: a prefix criterion when mixed, to exercise the LPM */
				hit_frame(&s, mixed && s.n > 1 ? 1 : 0, v6, mixed, f);
				hr = warm_ratio(s.prog, f, len[v6], v6, &hw);
				lr = warm_ratio(bpf_program__fd(s.cold->progs.bench_lookups_only), f, len[v6], v6, &lw);
				miss_frame(v6, 7, f);
				mw = warm(s.prog, f, len[v6]);
				nf = hit_flows(&s, mixed);
				hc = cold(s.cold, cprog, f, len[v6], flows, nf, src_off(v6), v6 ? 16 : 4);
				miss_flows(v6);
				mc = cold(s.cold, cprog, f, len[v6], flows, COLD_FLOWS, src_off(v6), v6 ? 16 : 4);

				printf("INFO %s %s: %u criteria installed (%.0f adds/s), %d distinct hit flows\n", fam,
				       shape, s.n, setup > 0 ? (sizes[k] - (k ? sizes[k - 1] : 0)) / setup : 0, nf);
				if (sizes[k] >= 100000) {
					uint64_t bytes = map_memory(&s, fam, shape);

					/* 100k to 1M: what one more criterion costs, fixed parts aside */
					if (sizes[k] > 100000 && bytes100k) {
						snprintf(name, sizeof(name), "map_bytes_marginal_per_criterion_%s_%s_100000_to_%u",
							 fam, shape, sizes[k]);
						printf("BENCH %s %.0f B\n", name,
						       ((double)bytes - (double)bytes100k) / (sizes[k] - 100000));
					}
					bytes100k = sizes[k] == 100000 ? bytes : bytes100k;
				}
				snprintf(name, sizeof(name), "classify_%s_%s_%u_hit_warm", fam, shape, sizes[k]);
				bench(name, hw);
				snprintf(name, sizeof(name), "classify_%s_%s_%u_miss_warm", fam, shape, sizes[k]);
				bench(name, mw);
				/* what bounds it: parse plus the index lookups alone */
				snprintf(name, sizeof(name), "component_parse_and_lookups_%s_%s_%u_hit_warm", fam, shape,
					 sizes[k]);
				bench(name, lw);
				snprintf(name, sizeof(name), "component_parse_and_lookups_%s_%s_%u_vs_parse_only", fam,
					 shape, sizes[k]);
				ratio(name, lr, 0);
				snprintf(name, sizeof(name), "classify_%s_%s_%u_hit_cold", fam, shape, sizes[k]);
				bench(name, hc);
				snprintf(name, sizeof(name), "classify_%s_%s_%u_miss_cold", fam, shape, sizes[k]);
				bench(name, mc);
				if (k == 0)
					at1[v6][mixed] = hr;
				snprintf(name, sizeof(name), "%s_%s_%u_hit_warm_vs_parse_only", fam, shape, sizes[k]);
				ratio(name, hr,
				      !mixed && sizes[k] == 1000000 ? 3.0 : mixed && sizes[k] == 100000 ? 6.0 : 0);
				snprintf(name, sizeof(name), "%s_%s_%u_hit_warm_vs_1_criterion", fam, shape, sizes[k]);
				/* both as multiples of the parse-only cost next to them */
				ratio(name, hr / at1[v6][mixed], !mixed && sizes[k] == 1000000 ? 1.2 : 0);
				snprintf(name, sizeof(name), "%s_%s_%u_hit_cold_vs_parse_only_cold", fam, shape, sizes[k]);
				ratio(name, hc / parse_cold[v6], 0);
				snprintf(name, sizeof(name), "%s_%s_%u_miss_cold_vs_parse_only_cold", fam, shape, sizes[k]);
				ratio(name, mc / parse_cold[v6], 0);
			}
			set_close(&s);
		}
	}
	bench_bpf__destroy(b);
	return 0;
}
