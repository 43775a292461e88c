// SPDX-License-Identifier: BSD-2-Clause
/*
 * First end-to-end benchmark (issue 6, case (a) against (b)): frames from a
 * live-frames XDP generator (bpf/trafgen.bpf.c) through a veth pair into a
 * receiver with no program, then with xtap attached (XDP native + TC) and
 * criteria that never match. Reports the receiver's Mpps as the median of
 * runs and the ratio. Run as root: `build/bench_e2e [criteria]`.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath.h"
#include "pktbuild.h"
#include "trafgen.skel.h"

#define RUNS 5
#define FRAMES 4000000u

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* From netlink (ip), not /sys: sysfs shows the namespace it was mounted in. */
static unsigned long long rx_packets(const char *ifname)
{
	char cmd[128], buf[4096];
	unsigned long long v = 0;
	size_t n;
	FILE *p;
	char *at;

	snprintf(cmd, sizeof(cmd), "ip -j -s link show %s", ifname);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, p);
	pclose(p);
	buf[n] = 0;
	at = strstr(buf, "\"rx\":{");
	if (at && (at = strstr(at, "\"packets\":")))
		v = strtoull(at + 10, NULL, 10);
	return v;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Mpps the receiver took in, median of RUNS runs of FRAMES frames. */
static double measure(struct trafgen_bpf *g, const uint8_t *frame, int len)
{
	double v[RUNS];

	for (int r = 0; r < RUNS; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .repeat = FRAMES,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
		struct xdp_md ctx = { .data_end = len, .ingress_ifindex = if_nametoindex("g0") };
		unsigned long long rx0 = rx_packets("r0");
		double t0 = now_s(), t1;

		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
		if (bpf_prog_test_run_opts(bpf_program__fd(g->progs.trafgen), &o)) {
			perror("live-frames test run");
			exit(1);
		}
		t1 = now_s();
		usleep(100000);
		v[r] = (rx_packets("r0") - rx0) / (t1 - t0) / 1e6;
	}
	qsort(v, RUNS, sizeof(*v), cmp);
	return v[RUNS / 2];
}

int main(int argc, char **argv)
{
	uint32_t ncrit = argc > 1 ? (uint32_t)atoi(argv[1]) : 100000;
	struct pkt_spec s = { .family = 4, .proto = 17, .sport = 10000, .dport = 9, .payload = 18 };
	struct xtap_dp_opts o = { .pin_dir = "/sys/fs/bpf/xtap-bench-e2e", .vt_name = "bvt0", .vt_peer = "bvt1",
				  .max_criteria = ncrit + 16 };
	struct trafgen_bpf *g;
	struct xtap_dp dp;
	struct xtap_cls *cls;
	uint8_t frame[256];
	double base, with;
	int len, err;

	if (unshare(CLONE_NEWNET) ||
	    system("ip link set lo up && ip link add g0 type veth peer name r0 && ip link set g0 up && "
		   "ip link set r0 up && ethtool -K r0 gro on >/dev/null 2>&1"))
		return fprintf(stderr, "bench_e2e: cannot set up the veth pair\n"), 1;
	pkt_addr(s.src, "10.0.0.1");
	pkt_addr(s.dst, "10.1.0.1");
	len = pkt_build(&s, frame, sizeof(frame), NULL);
	g = trafgen_bpf__open_and_load();
	if (!g || len < 0)
		return fprintf(stderr, "bench_e2e: cannot load the generator\n"), 1;
	g->bss->sent = 0;
	g->data->flow_count = 65536;
	memcpy(&g->bss->src_base, s.src, 4);

	base = measure(g, frame, len);
	printf("BENCH e2e_no_program %.3f Mpps\n", base);


	err = xtap_dp_open(&dp, &o);
	if (!err)
		err = xtap_dp_attach(&dp, "r0", XTAP_ATTACH_XDP_NATIVE);
	cls = err ? NULL : xtap_cls_new(&dp.maps, dp.max_criteria, XTAP_MAX_SETS_DEFAULT);
	if (!cls)
		return fprintf(stderr, "bench_e2e: cannot attach xtap: %s\n", strerror(-err)), 1;
	for (uint32_t i = 0; i < ncrit; i++) {
		struct xtap_criterion c = { .family = XTAP_AF_INET, .src_plen = 32 };
		uint32_t slot;

		/* 192.0.0.0/8-ish addresses: never the generator's 10.0.0.0/8 flows */
		c.src[0] = 192;
		c.src[1] = (uint8_t)(i >> 16);
		c.src[2] = (uint8_t)(i >> 8);
		c.src[3] = (uint8_t)i;
		c.proto.any = c.sport.any = c.dport.any = c.itype.any = c.icode.any = 1;
		if (xtap_cls_add(cls, &c, &slot))
			return fprintf(stderr, "bench_e2e: criterion %u refused\n", i), 1;
	}
	with = measure(g, frame, len);
	printf("BENCH e2e_xtap_%u_criteria_none_matching %.3f Mpps\n", ncrit, with);
	printf("RATIO e2e_xtap_%u_vs_no_program %.3f (goal >= 0.95 at 1M)\n", ncrit, with / base);
	xtap_cls_free(cls);
	xtap_dp_teardown(&dp);
	trafgen_bpf__destroy(g);
	return 0;
}
