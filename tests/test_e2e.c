// SPDX-License-Identifier: BSD-2-Clause
/*
 * Delivery end to end, in network namespaces this test creates and always
 * removes: a client and a server talk through the sensor (a router with xtap
 * attached on both its links, XDP + TC or TC only), and a content
 * destination (xtap-cd) sits behind a third link. With criteria installed
 * through the loader library:
 *   - a TCP transfer, UDP, ICMP and IPv6 traffic reach the far side intact;
 *   - the CD receives exactly the matched packets, byte for byte as captured
 *     at the sensor's ingress, and each criterion counted exactly those;
 *   - two criteria to one CD give one copy, one criterion to two CDs one each;
 *   - IPv6 outer copies carry a valid UDP checksum; tshark's jmirror
 *     dissector reads the intercept and session ids;
 *   - fragmented datagrams reach the CD whole when their first fragment matches;
 *   - no copy is dropped (per-destination drop counters stay 0);
 *   - IPv4 copies take the direct path (out of the route's device from vt0's
 *     program, bpf/deliver.h), IPv6 ones the vt pair, and they still arrive
 *     as above.
 *
 * usage: test_e2e BUILD_DIR
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "critspec.h"
#include "pktbuild.h"
#include "datapath.h"
#include "testenv.h"
#include "vtpair.h"
#include "xtap.skel.h"

static char ns_cli[32], ns_sen[32], ns_srv[32], ns_cd[32], dir[64];
static int no_vlan; /* the kernel has no VLAN devices: the VLAN shape is not sent */
static const char *build;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* Signal every process in a namespace but this one (which lives in the
 * sensor's namespace while it runs). */
static void kill_ns(const char *ns, const char *sig)
{
	sh("ip netns pids %s 2>/dev/null | grep -vx %d | xargs -r kill -%s 2>/dev/null; true", ns, (int)getpid(), sig);
}

static void teardown(void)
{
	kill_ns(ns_cli, "TERM");
	kill_ns(ns_srv, "TERM");
	kill_ns(ns_cd, "TERM");
	kill_ns(ns_sen, "TERM");
	sh("for n in %s %s %s %s; do ip netns del $n 2>/dev/null; done; rm -rf %s", ns_cli, ns_sen, ns_srv, ns_cd, dir);
}

static void on_signal(int sig)
{
	teardown();
	_exit(128 + sig);
}

/* The lab: client 192.0.2.10 / 2001:db8:1::10 -- s0 [sensor] s1 -- server
 * 198.51.100.10 / 2001:db8:2::10; sensor s2 -- CD 203.0.113.10 /
 * 2001:db8:3::10. The lab's sensor routes (it stands for a router); the
 * wire links have no offloads, so each packet is what a cable would carry. */
static int lab_up(void)
{
	return sh("set -e; "
		  "for n in %1$s %2$s %3$s %4$s; do ip netns add $n; ip -n $n link set lo up; done; "
		  "ip link add c0 netns %1$s type veth peer name s0 netns %2$s; "
		  "ip link add v0 netns %3$s type veth peer name s1 netns %2$s; "
		  "ip link add d0 netns %4$s type veth peer name s2 netns %2$s; "
		  "ip -n %1$s addr add 192.0.2.10/24 dev c0; ip -n %1$s addr add 2001:db8:1::10/64 dev c0 nodad; "
		  "ip -n %3$s addr add 198.51.100.10/24 dev v0; ip -n %3$s addr add 2001:db8:2::10/64 dev v0 nodad; "
		  "ip -n %4$s addr add 203.0.113.10/24 dev d0; ip -n %4$s addr add 2001:db8:3::10/64 dev d0 nodad; "
		  "ip -n %2$s addr add 192.0.2.1/24 dev s0; ip -n %2$s addr add 2001:db8:1::1/64 dev s0 nodad; "
		  "ip -n %2$s addr add 198.51.100.1/24 dev s1; ip -n %2$s addr add 2001:db8:2::1/64 dev s1 nodad; "
		  "ip -n %2$s addr add 203.0.113.1/24 dev s2; ip -n %2$s addr add 2001:db8:3::1/64 dev s2 nodad; "
		  "for p in '%1$s c0' '%2$s s0' '%2$s s1' '%2$s s2' '%3$s v0' '%4$s d0'; do set -- $p; "
		  "  ip -n $1 link set $2 up; ip netns exec $1 ethtool -K $2 tso off gso off gro off tx off >/dev/null "
		  "2>&1 || true; done; "
		  "ip -n %1$s route add default via 192.0.2.1; ip -n %1$s -6 route add default via 2001:db8:1::1; "
		  "ip -n %3$s route add default via 198.51.100.1; ip -n %3$s -6 route add default via 2001:db8:2::1; "
		  "ip -n %4$s route add default via 203.0.113.1; ip -n %4$s -6 route add default via 2001:db8:3::1; "
		  "ip netns exec %2$s sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
		  ns_cli, ns_sen, ns_srv, ns_cd);
}

static int enter_ns(const char *name)
{
	char path[128];
	int fd, rc;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

/* ---- pcap files: just enough to read back what tcpdump and xtap-cd wrote ---- */

struct pkt {
	uint32_t len;
	uint8_t *data;
};
struct pkts {
	int n, cap;
	struct pkt *p;
};

static void pkts_free(struct pkts *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->p[i].data);
	free(v->p);
	memset(v, 0, sizeof(*v));
}

/* IP packets of a pcap file (Ethernet frames are stripped of their header). */
static int pcap_read(const char *path, struct pkts *out)
{
	uint32_t gh[6], rh[4];
	FILE *f = fopen(path, "rb");
	int linktype;

	memset(out, 0, sizeof(*out));
	if (!f)
		return -1;
	if (fread(gh, 4, 6, f) != 6 || gh[0] != 0xa1b2c3d4) {
		fclose(f);
		return -1;
	}
	linktype = (int)gh[5];
	while (fread(rh, 4, 4, f) == 4) {
		uint32_t cap = rh[2], skip = linktype == 1 ? 14 : 0;
		uint8_t *b = malloc(cap ? cap : 1);

		if (!b || fread(b, 1, cap, f) != cap) {
			free(b);
			break;
		}
		if (cap <= skip) {
			free(b);
			continue;
		}
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 64;
			out->p = realloc(out->p, out->cap * sizeof(*out->p));
		}
		memmove(b, b + skip, cap - skip);
		out->p[out->n].len = cap - skip;
		out->p[out->n++].data = b;
	}
	fclose(f);
	return 0;
}

/* Does an IP packet go from a to b with protocol proto (0: any)? Later
 * fragments count by their IP header alone. */
static int flow_is(const struct pkt *p, const char *a, const char *b, int proto)
{
	uint8_t sa[16], sb[16];

	pkt_addr(sa, a);
	pkt_addr(sb, b);
	if (p->len >= 20 && (p->data[0] >> 4) == 4)
		return !memcmp(p->data + 12, sa, 4) && !memcmp(p->data + 16, sb, 4) && (!proto || p->data[9] == proto);
	if (p->len >= 40 && (p->data[0] >> 4) == 6) {
		int nh = p->data[6];

		if (nh == 44 && p->len >= 48)
			nh = p->data[40]; /* the fragment header names the upper layer */
		return !memcmp(p->data + 8, sa, 16) && !memcmp(p->data + 24, sb, 16) && (!proto || nh == proto);
	}
	return 0;
}

static int pkt_cmp(const void *x, const void *y)
{
	const struct pkt *a = x, *b = y;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->data, b->data, a->len);
}

/* Are the packets of want (those of flow a->b/proto) exactly those of got,
 * as multisets? Prints what differs. Returns the number matched or -1. */
static int same_packets(struct pkts *want_all, const char *a, const char *b, int proto, struct pkts *got)
{
	struct pkt *w = calloc(want_all->n + 1, sizeof(*w));
	int n = 0, ok;

	for (int i = 0; i < want_all->n; i++)
		if (flow_is(&want_all->p[i], a, b, proto))
			w[n++] = want_all->p[i];
	qsort(w, n, sizeof(*w), pkt_cmp);
	qsort(got->p, got->n, sizeof(*got->p), pkt_cmp);
	ok = n == got->n;
	for (int i = 0; ok && i < n; i++)
		ok = !pkt_cmp(&w[i], &got->p[i]);
	if (!ok)
		printf("    captured at the sensor: %d packets of the flow, at the CD: %d (or bytes differ)\n", n,
		       got->n);
	free(w);
	return ok ? n : -1;
}

/* ---- shapes: datagrams a target might send to slip past a port criterion ---- */

/* One frame of a shape; copy: 0 when it is not to be copied (another port). */
struct shape_frame {
	struct pkt_spec s;
	int copy;
};

#define SHAPE_FRAMES 3
struct shape {
	const char *name;
	int n;
	struct shape_frame f[SHAPE_FRAMES];
};

#define SH_V6(port, ...) \
	{ \
		.family = 6, .proto = 17, .sport = 7777, .dport = port, .payload = 32, __VA_ARGS__ \
	}
#define SH_V4(port, ...) \
	{ \
		.family = 4, .proto = 17, .sport = 7777, .dport = port, .payload = 32, __VA_ARGS__ \
	}

/* Every shape of issue 12 item 7. IPv6 shapes are told apart by their flow
 * label, IPv4 ones by their IP ID (shape number + 0x5000); extension chains
 * use 8-byte headers, whose padding (PadN of 4) Linux accepts. */
static const struct shape shapes[] = {
	{ "ipv6 plain", 1, { { SH_V6(7000, .icode = 0), 1 } } },
	{ "ipv6 3 destination options headers",
	  1,
	  { { SH_V6(7000, .next = 3, .ext = { 60, 60, 60 }, .ext_len8 = 1), 1 } } },
	{ "ipv6 9 destination options headers",
	  1,
	  { { SH_V6(7000, .next = 9, .ext = { 60, 60, 60, 60, 60, 60, 60, 60, 60 }, .ext_len8 = 1), 1 } } },
	{ "ipv6 one 240-byte destination options header",
	  1,
	  { { SH_V6(7000, .next = 1, .ext = { 60 }, .ext_len8 = 30), 1 } } },
	{ "ipv6 hop-by-hop + routing + 100 destination options headers",
	  1,
	  { { SH_V6(7000, .next = 102, .ext = { 0, 43 }, .ext_len8 = 1), 1 } } },
	{ "ipv6 first and later fragment",
	  2,
	  { { SH_V6(7000, .frag = PF_FIRST, .frag_id = 0x6001), 1 },
	    { SH_V6(7000, .frag = PF_LATER, .frag_id = 0x6001), 1 } } },
	{ "ipv6 tiny first fragment (no udp header) and later fragment",
	  2,
	  { { SH_V6(7000, .frag = PF_FIRST, .frag_id = 0x6002, .cut_l4 = 1), 1 },
	    { SH_V6(7000, .frag = PF_LATER, .frag_id = 0x6002), 1 } } },
	{ "ipv6 first fragment whose chain goes on in the next, later fragment",
	  2,
	  { { SH_V6(7000, .frag = PF_FIRST, .frag_id = 0x6003, .after_frag = 2, .ext_len8 = 1, .cut_ext = 5), 1 },
	    { SH_V6(7000, .frag = PF_LATER, .frag_id = 0x6003, .after_frag = 2), 1 } } },
	{ "ipv6 later fragment alone", 1, { { SH_V6(7000, .frag = PF_LATER, .frag_id = 0x6004), 1 } } },
	{ "ipv6 overlapping first fragments (ports 7001, 7000), later fragment",
	  3,
	  { { SH_V6(7001, .frag = PF_FIRST, .frag_id = 0x6005), 0 },
	    { SH_V6(7000, .frag = PF_FIRST, .frag_id = 0x6005), 1 },
	    { SH_V6(7000, .frag = PF_LATER, .frag_id = 0x6005), 1 } } },
	{ "ipv6 under three vlan tags (802.1ad + 2 x 802.1Q)", 1, { { SH_V6(7000, .nvlan = 3, .vlan_ad = 1), 1 } } },
	{ "ipv4 plain", 1, { { SH_V4(7000, .icode = 0), 1 } } },
	{ "ipv4 40 bytes of options", 1, { { SH_V4(7000, .ipopt = 40), 1 } } },
	{ "ipv4 tiny first fragment (2 bytes of udp) and later fragment",
	  2,
	  { { SH_V4(7000, .frag = PF_FIRST, .cut_l4 = 3), 1 }, { SH_V4(7000, .frag = PF_LATER), 1 } } },
	{ "ipv4 later fragment alone", 1, { { SH_V4(7000, .frag = PF_LATER), 1 } } },
	{ "ipv4 total length short of the ports", 1, { { SH_V4(7000, .cut_l4 = 3), 1 } } },
	{ "ipv4 overlapping first fragments (ports 7001, 7000), later fragment",
	  3,
	  { { SH_V4(7001, .frag = PF_FIRST), 0 },
	    { SH_V4(7000, .frag = PF_FIRST), 1 },
	    { SH_V4(7000, .frag = PF_LATER), 1 } } },
};
#define NSHAPES (int)(sizeof(shapes) / sizeof(shapes[0]))
#define SHAPE_V4_SRC "192.0.2.11"
#define SHAPE_V4_DST "198.51.100.11"
#define SHAPE_V6_SRC "2001:db8:1::11"
#define SHAPE_V6_DST "2001:db8:2::11"
#define SHAPE_VLAN_SRC "2001:db8:4::10" /* behind the sensor's stacked VLAN devices */

/* Which shape a captured IP packet belongs to (-1: none). */
static int shape_of(const struct pkt *p)
{
	uint8_t a[16], b[16], c[16];

	pkt_addr(a, SHAPE_V6_SRC);
	pkt_addr(b, SHAPE_V6_DST);
	pkt_addr(c, SHAPE_VLAN_SRC);
	if (p->len >= 40 && (p->data[0] >> 4) == 6 && !memcmp(p->data + 24, b, 16) &&
	    (!memcmp(p->data + 8, a, 16) || !memcmp(p->data + 8, c, 16))) {
		int k = (p->data[2] << 8 | p->data[3]) - 1;

		return k >= 0 && k < NSHAPES ? k : -1;
	}
	pkt_addr(a, SHAPE_V4_SRC);
	pkt_addr(b, SHAPE_V4_DST);
	if (p->len >= 20 && (p->data[0] >> 4) == 4 && !memcmp(p->data + 12, a, 4) && !memcmp(p->data + 16, b, 4)) {
		int k = (p->data[4] << 8 | p->data[5]) - 0x5000;

		return k >= 0 && k < NSHAPES ? k : -1;
	}
	return -1;
}

/* The MAC address of an interface of the current namespace. */
static int if_mac(int fd, const char *name, uint8_t *mac)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* Send every shape from the client's c0 (an AF_PACKET socket opened in the
 * client's namespace) to the sensor's s0. */
static int send_shapes(void)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
	uint8_t s0_mac[6], c0_mac[6];
	int self, fd, ufd, sent = 0;

	ufd = socket(AF_INET, SOCK_DGRAM, 0);
	REQUIRE(ufd >= 0 && !if_mac(ufd, "s0", s0_mac), "s0's address");
	close(ufd);
	self = open("/proc/self/ns/net", O_RDONLY);
	REQUIRE(self >= 0 && !enter_ns(ns_cli), "enter the client's namespace");
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	ufd = socket(AF_INET, SOCK_DGRAM, 0);
	to.sll_ifindex = (int)if_nametoindex("c0");
	REQUIRE(fd >= 0 && ufd >= 0 && to.sll_ifindex && !if_mac(ufd, "c0", c0_mac), "client's packet socket");
	close(ufd);
	REQUIRE(!setns(self, CLONE_NEWNET), "back to the sensor's namespace");
	close(self);
	memcpy(to.sll_addr, s0_mac, 6);
	for (int k = 0; k < NSHAPES; k++) {
		for (int i = 0; i < shapes[k].n && !(no_vlan && shapes[k].f[0].s.nvlan); i++) {
			struct pkt_spec s = shapes[k].f[i].s;
			struct pkt_layout lay;
			uint8_t frame[4096];
			int len;

			pkt_addr(s.src, s.family == 4 ? SHAPE_V4_SRC : s.nvlan ? SHAPE_VLAN_SRC : SHAPE_V6_SRC);
			pkt_addr(s.dst, s.family == 4 ? SHAPE_V4_DST : SHAPE_V6_DST);
			if (s.family == 4)
				s.frag_id = 0x5000 + (uint32_t)k;
			len = pkt_build(&s, frame, sizeof(frame), &lay);
			REQUIRE(len > 0, "build shape %d", k);
			memcpy(frame, s0_mac, 6);
			memcpy(frame + 6, c0_mac, 6);
			if (s.family == 6) { /* the flow label names the shape */
				frame[lay.l3 + 2] = (uint8_t)((k + 1) >> 8);
				frame[lay.l3 + 3] = (uint8_t)(k + 1);
			}
			REQUIRE(sendto(fd, frame, len, 0, (struct sockaddr *)&to, sizeof(to)) == len,
				"send shape %d: %s", k, strerror(errno));
			sent++;
		}
	}
	close(fd);
	return sent;
}

/* Count each shape at the server and at the CD: every frame that reached
 * the server is copied, except those sent to another port. */
static int check_shapes(const struct pkts *srv, const struct pkts *cdp)
{
	int at_srv[NSHAPES] = { 0 }, at_cd[NSHAPES] = { 0 }, bad = 0;

	for (int i = 0; i < srv->n; i++) {
		int k = shape_of(&srv->p[i]);

		if (k >= 0)
			at_srv[k]++;
	}
	for (int i = 0; i < cdp->n; i++) {
		int k = shape_of(&cdp->p[i]);

		if (k >= 0)
			at_cd[k]++;
	}
	for (int k = 0; k < NSHAPES; k++) {
		int want = 0;

		if (no_vlan && shapes[k].f[0].s.nvlan) {
			printf("    shape %-66s not sent: no VLAN devices in this kernel\n", shapes[k].name);
			continue;
		}
		for (int i = 0; i < shapes[k].n; i++)
			want += shapes[k].f[i].copy;
		printf("    shape %-66s server %d, CD %d\n", shapes[k].name, at_srv[k], at_cd[k]);
		/* all of them are forwarded by Linux: a missing one is a lab fault */
		if (at_srv[k] != shapes[k].n || at_cd[k] != want)
			bad++;
	}
	REQUIRE(!bad, "%d shapes not forwarded whole, or not copied as they reached the server", bad);
	return 0;
}

/* ---- one run of the lab in a mode ---- */

struct lab {
	struct tenv e;
	struct xtap_vt vt;
	uint32_t ifs[2]; /* s0, s1 */
	int xdp;
};

static int attach(struct lab *L)
{
	static const char *names[2] = { "s0", "s1" };

	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_hook, in, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_hook, out, .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, oi, .prog_fd = L->e.prog_tc_in);
		LIBBPF_OPTS(bpf_tc_opts, oo, .prog_fd = L->e.prog_tc_out);

		L->ifs[i] = if_nametoindex(names[i]);
		REQUIRE(L->ifs[i], "no %s", names[i]);
		hook.ifindex = in.ifindex = out.ifindex = L->ifs[i];
		REQUIRE(!bpf_tc_hook_create(&hook), "clsact on %s", names[i]);
		REQUIRE(!bpf_tc_attach(&in, &oi) && !bpf_tc_attach(&out, &oo), "tc programs on %s", names[i]);
		if (L->xdp)
			REQUIRE(!bpf_xdp_attach((int)L->ifs[i], L->e.prog_xdp, XDP_FLAGS_DRV_MODE, NULL),
				"native XDP on %s", names[i]);
		REQUIRE(!xtap_cls_iface_add(L->e.cls, L->ifs[i], 0), "iface");
	}
	{
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = L->vt.ifindex, .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = L->e.prog_vt);

		REQUIRE(!bpf_tc_hook_create(&hook), "clsact on vt0");
		REQUIRE(!bpf_tc_attach(&hook, &o), "vt program");
	}
	return 0;
}

static void detach(struct lab *L)
{
	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = L->ifs[i], .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		if (L->xdp)
			bpf_xdp_detach((int)L->ifs[i], XDP_FLAGS_DRV_MODE, NULL);
		bpf_tc_hook_destroy(&hook);
	}
	{
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = L->vt.ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		bpf_tc_hook_destroy(&hook);
	}
}

static int cd(struct lab *L, int v6, int port, uint64_t jm_id, uint16_t *idx)
{
	struct xtap_cd_spec s = { .family = v6 ? XTAP_AF_INET6 : XTAP_AF_INET,
				  .sport = 49153,
				  .dport = port,
				  .ttl = 64,
				  .jmirror = jm_id != 0,
				  .intercept_id = jm_id };

	pkt_addr(s.src, v6 ? "2001:db8:3::1" : "203.0.113.1");
	pkt_addr(s.dst, v6 ? "2001:db8:3::10" : "203.0.113.10");
	return xtap_cls_cd_get(L->e.cls, &s, idx);
}

static int crit(struct lab *L, const char *src, const char *dst, const char *proto, const char *itype,
		const uint16_t *cds, int ncd, uint32_t *slot)
{
	struct crit_text t = { .src = src, .dst = dst, .proto = proto, .itype = itype };
	struct crit_store cs;

	REQUIRE(!crit_from_text(&t, L->e.ifindex, &cs), "criterion text");
	cs.c.ncd = ncd;
	memcpy(cs.c.cd, cds, ncd * sizeof(*cds));
	return xtap_cls_add(L->e.cls, &cs.c, slot);
}

static uint64_t crit_packets(struct lab *L, uint32_t slot)
{
	struct xtap_crit_stats st = { 0 };

	xtap_cls_stats(L->e.cls, slot, &st);
	return st.packets;
}

static int run_mode(int xdp)
{
	enum { CD_A = 0, CD_B, CD_C, CD_V6, CD_E, NCD };
	static const int ports[NCD] = { 30030, 30031, 30032, 30033, 30034 };
	struct lab L;
	struct tenv_vt vto = { 0 };
	uint16_t cdi[NCD];
	uint32_t s_tcp_fwd, s_tcp_rev, s_udp, s_udp_dup, s_icmp, s_icmp6, s_tcp6, s_frag, s_shape[3];
	struct pkts cap_s0, cap_s1, got, cap_srv;
	uint64_t st[XTAP_CDS_COUNT];
	int err, n;

	memset(&L, 0, sizeof(L));
	L.xdp = xdp;
	REQUIRE(!enter_ns(ns_sen), "enter the sensor namespace");
	err = xtap_vt_setup("vt0", "vt1", 1, &L.vt);
	REQUIRE(!err, "vt pair: %s", strerror(-err));
	/* the IPv6 path to the CD (never fragmented) is a jumbo one here: copies
	 * of full-size packets are larger than the packets */
	REQUIRE(!sh("ip link set s2 mtu 9000 && ip -n %s link set d0 mtu 9000", ns_cd), "mtu");
	vto.mtu6 = 9000;
	vto.ifindex = L.vt.ifindex;
	vto.peer_ifindex = L.vt.peer_ifindex; /* the direct path, as xtapd loads it */
	memcpy(vto.mac, L.vt.mac, 6);
	memcpy(vto.peer_mac, L.vt.peer_mac, 6);
	err = tenv_open_vt(&L.e, 4096, 64, &vto);
	REQUIRE(!err, "load: %s", strerror(-err));
	if (attach(&L))
		return -1;

	/* content destinations: A JMirror 0x1234, B plain, C JMirror with a session, V6 over IPv6 */
	REQUIRE(!cd(&L, 0, ports[CD_A], 0x1234, &cdi[CD_A]) && !cd(&L, 0, ports[CD_B], 0, &cdi[CD_B]) &&
			!cd(&L, 0, ports[CD_C], 0x123456789ull, &cdi[CD_C]) &&
			!cd(&L, 1, ports[CD_V6], 0, &cdi[CD_V6]) && !cd(&L, 0, ports[CD_E], 0, &cdi[CD_E]),
		"destinations");
	{
		uint16_t a[1] = { cdi[CD_A] }, ab[2] = { cdi[CD_A], cdi[CD_B] }, c[1] = { cdi[CD_C] },
			 v6[1] = { cdi[CD_V6] };

		/* TCP both ways to A; UDP to A and B (one criterion, two CDs) and
		 * again to A by a second criterion (one copy for A); ICMP echo
		 * requests, fragmented, to C; IPv6 to the IPv6 destination */
		REQUIRE(!crit(&L, "192.0.2.10", "198.51.100.10", "6", NULL, a, 1, &s_tcp_fwd), "crit");
		REQUIRE(!crit(&L, "198.51.100.10", "192.0.2.10", "6", NULL, a, 1, &s_tcp_rev), "crit");
		REQUIRE(!crit(&L, "192.0.2.10", "198.51.100.10", "17", NULL, ab, 2, &s_udp), "crit");
		REQUIRE(!crit(&L, "192.0.2.10", "198.51.100.0/24", "17", NULL, a, 1, &s_udp_dup), "crit");
		REQUIRE(!crit(&L, "192.0.2.10", "198.51.100.10", "1", "8", c, 1, &s_icmp), "crit");
		REQUIRE(!crit(&L, "2001:db8:1::10", "2001:db8:2::10", "58", "128", v6, 1, &s_icmp6), "crit");
		REQUIRE(!crit(&L, "2001:db8:2::10", "2001:db8:1::10", "6", NULL, v6, 1, &s_tcp6), "crit");
		(void)s_frag;
	}
	/* the shapes: a UDP port criterion per source, to E */
	{
		static const char *srcs[3] = { SHAPE_V4_SRC, SHAPE_V6_SRC, SHAPE_VLAN_SRC };
		uint16_t e[1] = { cdi[CD_E] };

		for (int i = 0; i < 3; i++) {
			struct crit_text t = {
				.src = srcs[i], .dst = i ? SHAPE_V6_DST : SHAPE_V4_DST, .proto = "17", .dport = "7000"
			};
			struct crit_store cs;

			REQUIRE(!crit_from_text(&t, L.e.ifindex, &cs), "criterion text");
			cs.c.ncd = 1;
			cs.c.cd[0] = e[0];
			REQUIRE(!xtap_cls_add(L.e.cls, &cs.c, &s_shape[i]), "shape criterion");
		}
	}
	/* the server's second addresses, and three stacked VLAN devices on s0
	 * (802.1ad, then 802.1Q twice) routing 2001:db8:4::/64 */
	REQUIRE(!sh("set -e; ip -n %1$s addr add " SHAPE_V4_DST "/24 dev v0; "
		    "ip -n %1$s addr add " SHAPE_V6_DST "/64 dev v0 nodad; "
		    "ip netns exec %2$s ping -q -c 1 -W 5 " SHAPE_V4_DST " >/dev/null; "
		    "ip netns exec %2$s ping -6 -q -c 1 -W 5 " SHAPE_V6_DST " >/dev/null",
		    ns_srv, ns_sen),
		"shapes: addresses, neighbours");
	/* a kernel without 802.1Q devices routes nothing under tags */
	no_vlan = sh("set -e; ip -n %1$s link add link s0 name s0.100 type vlan proto 802.1ad id 100 2>/dev/null; "
		     "ip -n %1$s link add link s0.100 name s0.101 type vlan id 101; "
		     "ip -n %1$s link add link s0.101 name s0.102 type vlan id 102; "
		     "for v in s0.100 s0.101 s0.102; do ip -n %1$s link set $v up; done; "
		     "ip -n %1$s addr add 2001:db8:4::1/64 dev s0.102 nodad",
		     ns_sen) != 0;

	/* receivers, captures at the sensor's ingress, and the CD wire capture */
	REQUIRE(!sh("mkdir -p %s", dir), "dir");
	for (int i = 0; i < NCD; i++)
		REQUIRE(!sh("ip netns exec %s %s/xtap-cd -l '%s:%d' -w %s/cd%d.pcap -t 30 >%s/cd%d.txt 2>&1 &", ns_cd,
			    build, i == CD_V6 ? "[2001:db8:3::10]" : "203.0.113.10", ports[i], dir, i, dir, i),
			"xtap-cd");
	REQUIRE(!sh("ip netns exec %1$s tcpdump -q -U -i s0 -Q in -w %2$s/s0.pcap >/dev/null 2>&1 & "
		    "ip netns exec %1$s tcpdump -q -U -i s1 -Q in -w %2$s/s1.pcap >/dev/null 2>&1 & "
		    "ip netns exec %3$s tcpdump -q -U -i d0 -w %2$s/d0.pcap udp >/dev/null 2>&1 & "
		    "ip netns exec %4$s tcpdump -q -U -i v0 -Q in -w %2$s/srv.pcap >/dev/null 2>&1 & sleep 1.5",
		    ns_sen, dir, ns_cd, ns_srv),
		"captures");

	/* traffic: a TCP transfer checked end to end, UDP, ping (also fragmented), IPv6 */
	REQUIRE(!sh("head -c 300000 /dev/urandom > %s/send && "
		    "(ip netns exec %s socat -u TCP-LISTEN:5001,reuseaddr OPEN:%s/recv,creat,trunc &) && sleep 0.5 && "
		    "ip netns exec %s socat -u OPEN:%s/send TCP:198.51.100.10:5001 && sleep 0.5 && cmp -s %s/send "
		    "%s/recv",
		    dir, ns_srv, dir, ns_cli, dir, dir, dir),
		"TCP transfer through the sensor is not intact");
	/* waits for the receiver's socket and for the datagrams, not a fixed
	 * time: on a busy machine socat takes longer than any sleep */
	REQUIRE(!sh("(ip netns exec %1$s timeout 15 socat -u UDP-RECV:5060 OPEN:%2$s/udp,creat,trunc &) && "
		    "for k in $(seq 100); do ip netns exec %1$s ss -Hlun 'sport = :5060' | grep -q . && break; sleep "
		    "0.1; done; "
		    "for i in 1 2 3 4 5; do echo datagram$i | ip netns exec %3$s socat -u - UDP:198.51.100.10:5060; "
		    "done; "
		    "for k in $(seq 100); do test \"$(grep -c datagram %2$s/udp)\" = 5 && exit 0; sleep 0.1; done; "
		    "exit 1",
		    ns_srv, dir, ns_cli),
		"UDP datagrams did not all reach the server");
	REQUIRE(!sh("ip netns exec %s ping -q -c 3 -i 0.2 198.51.100.10 >/dev/null", ns_cli), "ping");
	REQUIRE(!sh("ip netns exec %s ping -q -c 2 -i 0.2 -s 3000 198.51.100.10 >/dev/null", ns_cli),
		"fragmented ping");
	REQUIRE(!sh("ip netns exec %s ping -6 -q -c 3 -i 0.2 2001:db8:2::10 >/dev/null", ns_cli), "ping6");
	REQUIRE(!sh("ip netns exec %s ping -6 -q -c 2 -i 0.2 -s 3000 2001:db8:2::10 >/dev/null", ns_cli),
		"fragmented ping6");
	REQUIRE(!sh("head -c 50000 /dev/urandom > %s/send6 && "
		    "(ip netns exec %s socat -u OPEN:%s/send6 TCP6-LISTEN:5002,reuseaddr &) && sleep 0.5 && "
		    "ip netns exec %s socat -u TCP6:[2001:db8:2::10]:5002 OPEN:%s/recv6,creat,trunc && cmp -s %s/send6 "
		    "%s/recv6",
		    dir, ns_srv, dir, ns_cli, dir, dir, dir),
		"TCP over IPv6 through the sensor is not intact");

	n = send_shapes();
	REQUIRE(n > 0, "shapes not sent");

	/* let the copies land, then stop everything that writes files */
	sleep(1);
	kill_ns(ns_cd, "INT");
	kill_ns(ns_sen, "INT");
	kill_ns(ns_srv, "INT");
	sleep(1);

	/* E: every shape that reached the server, copied */
	{
		char path[128];
		uint64_t g[XTAP_G_COUNT];
		int rc;

		snprintf(path, sizeof(path), "%s/srv.pcap", dir);
		REQUIRE(!pcap_read(path, &cap_srv), "read the server's capture");
		snprintf(path, sizeof(path), "%s/cd%d.pcap", dir, CD_E);
		REQUIRE(!pcap_read(path, &got), "read CD E");
		rc = check_shapes(&cap_srv, &got);
		pkts_free(&got);
		pkts_free(&cap_srv);
		if (rc)
			return -1;
		REQUIRE(!xtap_cls_counters(L.e.cls, g), "counters");
		printf("    %d shape frames; counters: match_unread %llu, frag_tiny %llu, trunc_l4 %llu, trunc_ext "
		       "%llu, "
		       "frag_unknown %llu, frag_none %llu\n",
		       n, (unsigned long long)g[XTAP_G_MATCH_UNREAD], (unsigned long long)g[XTAP_G_FRAG_TINY],
		       (unsigned long long)g[XTAP_G_TRUNC_L4], (unsigned long long)g[XTAP_G_TRUNC_EXT],
		       (unsigned long long)g[XTAP_G_FRAG_UNKNOWN], (unsigned long long)g[XTAP_G_FRAG_NONE]);
		/* matched unread at ingress: the tiny first fragments (ipv6 two,
		 * ipv4 one), the later fragments alone (two), the short ipv4
		 * datagram; the reasons are counted at ingress and again by TC
		 * egress on s1 (which has no criteria) */
		REQUIRE(g[XTAP_G_MATCH_UNREAD] == 6 && g[XTAP_G_FRAG_TINY] == 2 * 3 && g[XTAP_G_TRUNC_L4] == 2 * 1,
			"unread matches or their reasons not counted as sent");
	}

	REQUIRE(!pcap_read(strcat(strcpy((char[128]){ 0 }, dir), "/s0.pcap"), &cap_s0) &&
			!pcap_read(strcat(strcpy((char[128]){ 0 }, dir), "/s1.pcap"), &cap_s1),
		"read sensor captures");

	/* A: TCP both ways, UDP (two criteria, one copy) */
	{
		char path[128];
		struct pkts both = { 0 }, udp_a = { 0 };
		int fwd, rev, u;

		snprintf(path, sizeof(path), "%s/cd%d.pcap", dir, CD_A);
		REQUIRE(!pcap_read(path, &got), "read CD A");
		for (int i = 0; i < got.n; i++) {
			struct pkts *to = flow_is(&got.p[i], "192.0.2.10", "198.51.100.10", 17) ? &udp_a : &both;

			if (to->n == to->cap) {
				to->cap = to->cap ? to->cap * 2 : 64;
				to->p = realloc(to->p, to->cap * sizeof(*to->p));
			}
			to->p[to->n++] = got.p[i];
		}
		free(got.p);
		{
			struct pkts tf = { 0 }, tr = { 0 };

			for (int i = 0; i < both.n; i++) {
				struct pkts *to = flow_is(&both.p[i], "192.0.2.10", "198.51.100.10", 6) ? &tf : &tr;

				if (to->n == to->cap) {
					to->cap = to->cap ? to->cap * 2 : 64;
					to->p = realloc(to->p, to->cap * sizeof(*to->p));
				}
				to->p[to->n++] = both.p[i];
			}
			fwd = same_packets(&cap_s0, "192.0.2.10", "198.51.100.10", 6, &tf);
			rev = same_packets(&cap_s1, "198.51.100.10", "192.0.2.10", 6, &tr);
			pkts_free(&tf);
			pkts_free(&tr);
			free(both.p);
		}
		u = same_packets(&cap_s0, "192.0.2.10", "198.51.100.10", 17, &udp_a);
		pkts_free(&udp_a);
		printf("    CD A: %d TCP copies client to server, %d back, %d UDP\n", fwd, rev, u);
		REQUIRE(fwd > 100 && rev > 10 && u == 5, "CD A got the wrong copies");
		REQUIRE(crit_packets(&L, s_tcp_fwd) == (uint64_t)fwd && crit_packets(&L, s_tcp_rev) == (uint64_t)rev,
			"TCP criteria counted %llu/%llu", (unsigned long long)crit_packets(&L, s_tcp_fwd),
			(unsigned long long)crit_packets(&L, s_tcp_rev));
		REQUIRE(crit_packets(&L, s_udp) == 5 && crit_packets(&L, s_udp_dup) == 5, "UDP criteria counts");
	}
	/* B: the same UDP packets, once */
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/cd%d.pcap", dir, CD_B);
		REQUIRE(!pcap_read(path, &got), "read CD B");
		n = same_packets(&cap_s0, "192.0.2.10", "198.51.100.10", 17, &got);
		pkts_free(&got);
		REQUIRE(n == 5, "CD B: %d UDP copies", n);
	}
	/* C: echo requests, the fragmented ones whole (first and later fragments) */
	{
		char path[128];
		int frags = 0;

		snprintf(path, sizeof(path), "%s/cd%d.pcap", dir, CD_C);
		REQUIRE(!pcap_read(path, &got), "read CD C");
		for (int i = 0; i < got.n; i++)
			frags += (got.p[i].data[6] & 0x3f) || got.p[i].data[7];
		n = same_packets(&cap_s0, "192.0.2.10", "198.51.100.10", 1, &got);
		pkts_free(&got);
		printf("    CD C: %d ICMP copies, %d of them fragments\n", n, frags);
		/* 3 echo requests + 2 of 3008 bytes, each in 3 fragments at MTU 1500 */
		REQUIRE(n == 3 + 2 * 3 && frags == 6, "CD C: %d copies, %d fragments", n, frags);
		REQUIRE(crit_packets(&L, s_icmp) == (uint64_t)n, "ICMP criterion counted %llu",
			(unsigned long long)crit_packets(&L, s_icmp));
	}
	/* V6: echo requests one way, TCP the other, over an IPv6 outer header */
	{
		char path[128];
		struct pkts icmp6 = { 0 }, tcp6 = { 0 };
		int a, b;

		snprintf(path, sizeof(path), "%s/cd%d.pcap", dir, CD_V6);
		REQUIRE(!pcap_read(path, &got), "read CD V6");
		for (int i = 0; i < got.n; i++) {
			struct pkts *to = flow_is(&got.p[i], "2001:db8:1::10", "2001:db8:2::10", 58) ? &icmp6 : &tcp6;

			if (to->n == to->cap) {
				to->cap = to->cap ? to->cap * 2 : 64;
				to->p = realloc(to->p, to->cap * sizeof(*to->p));
			}
			to->p[to->n++] = got.p[i];
		}
		free(got.p);
		/* client to server ICMPv6 is echo requests only: all match type 128 */
		a = same_packets(&cap_s0, "2001:db8:1::10", "2001:db8:2::10", 58, &icmp6);
		b = same_packets(&cap_s1, "2001:db8:2::10", "2001:db8:1::10", 6, &tcp6);
		pkts_free(&icmp6);
		pkts_free(&tcp6);
		printf("    CD V6: %d ICMPv6 echo request packets (fragments included), %d TCP copies\n", a, b);
		/* 3 echo requests + 2 of 3008 bytes in 3 fragments each: whole datagrams */
		REQUIRE(a == 3 + 2 * 3 && b > 10, "CD V6 copies");
		REQUIRE(crit_packets(&L, s_icmp6) == (uint64_t)a && crit_packets(&L, s_tcp6) == (uint64_t)b,
			"IPv6 criteria counts");
	}
	/* on the CD's wire: IPv6 UDP checksums verify, tshark reads JMirror ids */
	REQUIRE(!sh("test \"$(tshark -r %1$s/d0.pcap -o udp.check_checksum:TRUE -Y 'ipv6 && udp.port==30033 && "
		    "udp.checksum.status != 1' 2>/dev/null | wc -l)\" = 0 && "
		    "test \"$(tshark -r %1$s/d0.pcap -Y 'ipv6 && udp.port==30033' 2>/dev/null | wc -l)\" -gt 0",
		    dir),
		"IPv6 copies with a bad or missing UDP checksum");
	REQUIRE(!sh("tshark -r %1$s/d0.pcap -d udp.port==30030,jmirror -d udp.port==30032,jmirror -Y jmirror "
		    "-T fields -e udp.dstport -e jmirror.mid -e jmirror.sid 2>/dev/null | sort -u > %1$s/jm.txt && "
		    "tr '\\t' . < %1$s/jm.txt | grep -qx '30030.0x00001234.0x00000000' && "
		    "tr '\\t' . < %1$s/jm.txt | grep -qx '30032.0x00000001.0x23456789'",
		    dir),
		"tshark does not decode the JMirror ids as sent (see %s/jm.txt)", dir);
	/* nothing refused or lost on the way */
	for (int i = 0; i < NCD; i++) {
		REQUIRE(!xtap_cls_cd_stats(L.e.cls, cdi[i], st), "cd stats");
		REQUIRE(st[XTAP_CDS_CLONED] == st[XTAP_CDS_SENT], "CD %d: %llu cloned, %llu sent", i,
			(unsigned long long)st[XTAP_CDS_CLONED], (unsigned long long)st[XTAP_CDS_SENT]);
		for (int k = XTAP_CDS_CLONE_FAIL; k < XTAP_CDS_COUNT; k++)
			REQUIRE(st[k] == 0, "CD %d: drop counter %d is %llu", i, k, (unsigned long long)st[k]);
	}
	/* every copy left by the direct path or by vt1, none by both
	 * (docs/delivery.md): single IPv4 packets to IPv4 destinations
	 * directly (B: UDP, C: ICMP), IPv6 destinations always through vt1 */
	for (int i = 0; i < NCD; i++) {
		uint64_t sl[XTAP_CDS_SLOTS];

		REQUIRE(!xtap_cls_cd_slots(L.e.cls, cdi[i], sl), "cd slots");
		REQUIRE(sl[XTAP_CDS_DIRECT] + sl[XTAP_CDS_FALLBACK] == sl[XTAP_CDS_SENT],
			"CD %d: %llu direct + %llu fallback, %llu sent", i, (unsigned long long)sl[XTAP_CDS_DIRECT],
			(unsigned long long)sl[XTAP_CDS_FALLBACK], (unsigned long long)sl[XTAP_CDS_SENT]);
		if (i == CD_B || i == CD_C)
			REQUIRE(sl[XTAP_CDS_DIRECT] > 0, "CD %d: no copy took the direct path", i);
		if (i == CD_V6)
			REQUIRE(sl[XTAP_CDS_DIRECT] == 0, "IPv6 CD: %llu direct copies",
				(unsigned long long)sl[XTAP_CDS_DIRECT]);
	}
	/* and none lost by the pair itself (veth drops what it cannot forward) */
	REQUIRE(!sh("ip -s -j link show vt0 | grep -q '\"tx\":{[^}]*\"dropped\":0' && "
		    "ip -s -j link show vt1 | grep -q '\"rx\":{[^}]*\"dropped\":0'"),
		"the vt pair dropped copies");
	pkts_free(&cap_s0);
	pkts_free(&cap_s1);
	detach(&L);
	tenv_close(&L.e);
	REQUIRE(!xtap_vt_teardown(&L.vt), "vt teardown");
	return 0;
}

int main(int argc, char **argv)
{
	int pid = getpid();

	setvbuf(stdout, NULL, _IOLBF, 0);
	build = argc > 1 ? argv[1] : "build";
	if (access("/usr/bin/socat", X_OK) || access("/usr/bin/tshark", X_OK)) {
		t_record("delivery end to end", 1, "socat or tshark missing (scripts/install-deps.sh installs them)");
		return t_summary();
	}
	/* LAB_PREFIX: names of one's own beside other engineers' runs (lab.sh);
	 * 8 characters at most, so that every name fits its buffer */
	const char *lp = getenv("LAB_PREFIX") ? getenv("LAB_PREFIX") : "";
	snprintf(ns_cli, sizeof(ns_cli), "%.8sxtcli%d", lp, pid);
	snprintf(ns_sen, sizeof(ns_sen), "%.8sxtsen%d", lp, pid);
	snprintf(ns_srv, sizeof(ns_srv), "%.8sxtsrv%d", lp, pid);
	snprintf(ns_cd, sizeof(ns_cd), "%.8sxtcd%d", lp, pid);
	snprintf(dir, sizeof(dir), "/tmp/xtap-e2e.%d", pid);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (int xdp = 1; xdp >= 0; xdp--) {
		const char *name = xdp ? "end to end, XDP + TC" : "end to end, TC only";
		int rc;

		if (xdp && !xtap_dp_xdp_meta()) {
			t_record(name, 1, TENV_NO_XDP_META);
			continue;
		}
		if (lab_up()) {
			teardown();
			t_record(name, -1, NULL);
			continue;
		}
		rc = run_mode(xdp);
		teardown();
		t_record(name, rc, NULL);
	}
	if (no_vlan)
		t_record("end to end: a datagram under three VLAN tags", 1,
			 "the kernel has no 802.1Q devices (CONFIG_VLAN_8021Q) to route it; test_classify covers the "
			 "shape");
	return t_summary();
}
