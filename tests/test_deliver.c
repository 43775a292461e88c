// SPDX-License-Identifier: BSD-2-Clause
/*
 * Delivery tests. The vt0 egress program through BPF_PROG_TEST_RUN: every
 * copy compared byte for byte with outer headers built here independently
 * (IPv4 and IPv6 outer, plain and JMirror, VLAN tags, Ethernet padding,
 * refusals and their counters). Then the clone path for real: TC ingress
 * run on a packet, the copy cloned to a veth whose egress carries the vt
 * program, and the encapsulated copy read from the far end of the pair;
 * and the direct path: the copy read on the route's device, byte for byte
 * as the host's forwarding would send it, and its fallbacks to the pair.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pktbuild.h"
#include "testenv.h"
#include "xtap.skel.h"

#define TC_ACT_OK_ 0
#define TC_ACT_SHOT_ 2
#define TC_ACT_UNSPEC_ (-1)

static struct tenv env;
static const uint8_t vt_mac[6] = { 0x02, 0x78, 0x74, 0, 0, 0 }, peer_mac[6] = { 0x02, 0x78, 0x74, 0, 0, 1 };

static uint16_t fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint64_t sum16(const uint8_t *p, int len)
{
	uint64_t s = 0;

	for (int i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

/* The copy the vt program must produce, built from the format in
 * docs/design.md (Delivery) without any of the BPF code. */
static int expected_copy(const uint8_t *inner, int ilen, const struct xtap_cd_spec *cd, uint16_t ip_id, uint8_t *out)
{
	int v6 = cd->family == XTAP_AF_INET6, l3 = v6 ? 40 : 20, jm = cd->jmirror ? 8 : 0;
	uint8_t *ip = out + 14, *udp = ip + l3;
	int ulen = 8 + jm + ilen;

	memcpy(out, peer_mac, 6);
	memcpy(out + 6, vt_mac, 6);
	put16(out + 12, v6 ? 0x86dd : 0x0800);
	memset(ip, 0, l3 + 8 + jm);
	if (!v6) {
		ip[0] = 0x45;
		put16(ip + 2, 20 + ulen);
		put16(ip + 4, ip_id);
		ip[8] = cd->ttl ? cd->ttl : 255;
		ip[9] = 17;
		memcpy(ip + 12, cd->src, 4);
		memcpy(ip + 16, cd->dst, 4);
		put16(ip + 10, (uint16_t)~fold(sum16(ip, 20)));
	} else {
		ip[0] = 0x60;
		put16(ip + 4, ulen);
		ip[6] = 17;
		ip[7] = cd->ttl ? cd->ttl : 255;
		memcpy(ip + 8, cd->src, 16);
		memcpy(ip + 24, cd->dst, 16);
	}
	put16(udp, cd->sport);
	put16(udp + 2, cd->dport);
	put16(udp + 4, ulen);
	if (jm) {
		uint32_t w0, w1;

		xtap_jmirror_words(cd->intercept_id, &w0, &w1);
		memcpy(udp + 8, &w0, 4);
		memcpy(udp + 12, &w1, 4);
	}
	memcpy(udp + 8 + jm, inner, ilen);
	if (v6) {
		/* RFC 8200 8.1 pseudo-header, then UDP header and payload */
		uint64_t s = sum16(ip + 8, 32) + ulen + 17 + sum16(udp, ulen);
		uint16_t c = (uint16_t)~fold(s);

		put16(udp + 6, c ? c : 0xffff);
	}
	return 14 + l3 + ulen;
}

/* Verify an IPv6 copy's UDP checksum the way a receiver does: sum to ~0. */
static int udp6_ok(const uint8_t *frame, int len)
{
	const uint8_t *ip = frame + 14;
	int ulen = len - 14 - 40;

	return fold(sum16(ip + 8, 32) + ulen + 17 + sum16(ip + 40, ulen)) == 0xffff;
}

struct enc_case {
	const char *name;
	struct pkt_spec pkt;
	const char *src4, *dst4, *src6, *dst6; /* inner addresses */
	struct xtap_cd_spec cd;
	const char *cd_src, *cd_dst;
	int pad_to; /* frame padded to this length (Ethernet minimum) */
};

static int run_encap(const struct enc_case *c)
{
	struct xtap_cd_spec cd = c->cd;
	uint8_t frame[2048], want[2200];
	uint64_t st0[XTAP_CDS_COUNT], st1[XTAP_CDS_COUNT];
	struct pkt_spec s = c->pkt;
	struct pkt_layout lay;
	struct xtap_cdest cur;
	struct run_out out;
	uint16_t idx;
	uint32_t key;
	int len, wlen, inner_off;

	pkt_addr(s.src, s.family == 6 ? "2001:db8::1" : "192.0.2.1");
	pkt_addr(s.dst, s.family == 6 ? "2001:db8::2" : "198.51.100.2");
	pkt_addr(cd.src, c->cd_src);
	pkt_addr(cd.dst, c->cd_dst);
	len = pkt_build(&s, frame, sizeof(frame), &lay);
	REQUIRE(len > 0, "build");
	if (c->pad_to > len) {
		memset(frame + len, 0, c->pad_to - len);
		len = c->pad_to;
	}
	REQUIRE(!xtap_cls_cd_get(env.cls, &cd, &idx), "cd");
	key = idx;
	REQUIRE(!bpf_map_lookup_elem(env.maps.cdests, &key, &cur), "cdest");
	REQUIRE(!xtap_cls_cd_stats(env.cls, idx, st0), "stats");
	REQUIRE(!tenv_run_mark(&env, HOOK_VT, env.ifindex[0], XTAP_MARK_MAGIC | idx, frame, len, &out), "run");
	REQUIRE(!xtap_cls_cd_stats(env.cls, idx, st1), "stats");
	REQUIRE(out.retval == TC_ACT_OK_, "verdict %d", out.retval);
	inner_off = lay.l3;
	wlen = expected_copy(frame + inner_off, lay.end - inner_off, &cd, (uint16_t)cur.ip_id, want);
	if (out.size != (uint32_t)wlen || memcmp(out.data, want, wlen)) {
		printf("    copy differs: %u bytes, want %d\n", out.size, wlen);
		for (int i = 0; i < wlen && i < (int)out.size; i++)
			if (out.data[i] != want[i]) {
				printf("    first difference at byte %d: %02x, want %02x\n", i, out.data[i], want[i]);
				break;
			}
		return -1;
	}
	if (cd.family == XTAP_AF_INET6)
		REQUIRE(udp6_ok(out.data, out.size), "IPv6 UDP checksum does not verify");
	REQUIRE(out.mark == 0, "copy keeps mark %#x", out.mark);
	REQUIRE(st1[XTAP_CDS_SENT] - st0[XTAP_CDS_SENT] == 1, "sent counter");
	REQUIRE(st1[XTAP_CDS_SENT_BYTES] - st0[XTAP_CDS_SENT_BYTES] == (uint64_t)wlen - 14, "sent bytes");
	REQUIRE(!xtap_cls_cd_put(env.cls, idx), "put");
	return 0;
}

#define CD4(jm, id) \
	{ \
		.family = XTAP_AF_INET, .sport = 49153, .dport = 7890, .ttl = 64, .jmirror = jm, .intercept_id = id \
	}
#define CD6(jm, id) \
	{ \
		.family = XTAP_AF_INET6, .sport = 49153, .dport = 30030, .jmirror = jm, .intercept_id = id \
	}

static const struct enc_case encs[] = {
	{ "ipv4 tcp in plain ipv4",
	  { .family = 4, .proto = 6, .dport = 80, .payload = 100 },
	  .cd = CD4(0, 0),
	  .cd_src = "192.0.2.254",
	  .cd_dst = "203.0.113.50" },
	{ "ethernet padding is not copied",
	  { .family = 4, .proto = 17, .dport = 53, .payload = 2 },
	  .cd = CD4(0, 0),
	  .cd_src = "192.0.2.254",
	  .cd_dst = "203.0.113.50",
	  .pad_to = 60 },
	{ "jmirror, short intercept id",
	  { .family = 4, .proto = 6, .payload = 10 },
	  .cd = CD4(1, 0x1234),
	  .cd_src = "192.0.2.254",
	  .cd_dst = "203.0.113.50" },
	{ "jmirror, 32-bit intercept id keeps 30 bits",
	  { .family = 4, .proto = 6, .payload = 10 },
	  .cd = CD4(1, 0xffffffffull),
	  .cd_src = "192.0.2.254",
	  .cd_dst = "203.0.113.50" },
	{ "jmirror, long intercept id and session",
	  { .family = 4, .proto = 6, .payload = 10 },
	  .cd = CD4(1, 0x123456789abcull),
	  .cd_src = "192.0.2.254",
	  .cd_dst = "203.0.113.50" },
	{ "ipv6 udp in ipv4",
	  { .family = 6, .proto = 17, .dport = 5060, .payload = 300 },
	  .cd = CD4(0, 0),
	  .cd_src = "192.0.2.254",
	  .cd_dst = "203.0.113.50" },
	{ "ipv4 in ipv6, checksum over the copy",
	  { .family = 4, .proto = 6, .payload = 1001 },
	  .cd = CD6(0, 0),
	  .cd_src = "2001:db8:ff::1",
	  .cd_dst = "2001:db8:cd::50" },
	{ "ipv6 in ipv6 jmirror",
	  { .family = 6, .proto = 58, .itype = 128, .payload = 57 },
	  .cd = CD6(1, 7),
	  .cd_src = "2001:db8:ff::1",
	  .cd_dst = "2001:db8:cd::50" },
	{ "one vlan tag is stripped",
	  { .family = 4, .proto = 6, .nvlan = 1, .payload = 20 },
	  .cd = CD4(0, 0),
	  .cd_src = "192.0.2.254",
	  .cd_dst = "203.0.113.50" },
	{ "802.1ad + 802.1Q are stripped",
	  { .family = 6, .proto = 17, .nvlan = 2, .vlan_ad = 1, .payload = 20 },
	  .cd = CD6(0, 0),
	  .cd_src = "2001:db8:ff::1",
	  .cd_dst = "2001:db8:cd::50" },
	{ "a later fragment is copied as it is",
	  { .family = 4, .proto = 17, .frag = PF_LATER, .frag_id = 9, .payload = 500 },
	  .cd = CD4(0, 0),
	  .cd_src = "192.0.2.254",
	  .cd_dst = "203.0.113.50" },
};

/* Refusals: each dropped and counted under its reason, none silent. */
static int refusals(void)
{
	struct xtap_cd_spec cd6 = CD6(0, 0), cd4 = CD4(0, 0);
	struct pkt_spec big = { .family = 6, .proto = 17, .payload = 1440 },
			arp = { .ethertype = 0x0806, .payload = 28 };
	uint64_t g0[XTAP_G_COUNT], g1[XTAP_G_COUNT], st[XTAP_CDS_COUNT];
	uint8_t f[2048];
	struct run_out out;
	uint16_t i6, i4, gone;
	int len;

	pkt_addr(cd6.src, "2001:db8:ff::1");
	pkt_addr(cd6.dst, "2001:db8:cd::50");
	pkt_addr(cd4.src, "192.0.2.254");
	pkt_addr(cd4.dst, "203.0.113.50");
	pkt_addr(big.src, "2001:db8::1");
	pkt_addr(big.dst, "2001:db8::2");
	REQUIRE(!xtap_cls_cd_get(env.cls, &cd6, &i6) && !xtap_cls_cd_get(env.cls, &cd4, &i4), "cd");

	/* 1488-byte packet + 48 bytes of IPv6/UDP > 1500: IPv6 is never fragmented */
	len = pkt_build(&big, f, sizeof(f), NULL);
	REQUIRE(!tenv_run_mark(&env, HOOK_VT, env.ifindex[0], XTAP_MARK_MAGIC | i6, f, len, &out), "run");
	REQUIRE(out.retval == TC_ACT_SHOT_, "too big copy sent");
	REQUIRE(!xtap_cls_cd_stats(env.cls, i6, st) && st[XTAP_CDS_TOO_BIG] == 1, "too big not counted");
	/* the same over IPv4 goes (the host may fragment it) */
	REQUIRE(!tenv_run_mark(&env, HOOK_VT, env.ifindex[0], XTAP_MARK_MAGIC | i4, f, len, &out), "run");
	REQUIRE(out.retval == TC_ACT_OK_, "ipv4 copy of a large packet refused");

	len = pkt_build(&arp, f, sizeof(f), NULL);
	REQUIRE(!tenv_run_mark(&env, HOOK_VT, env.ifindex[0], XTAP_MARK_MAGIC | i4, f, len, &out), "run");
	REQUIRE(out.retval == TC_ACT_SHOT_, "non-IP copy sent");
	REQUIRE(!xtap_cls_cd_stats(env.cls, i4, st) && st[XTAP_CDS_NOT_IP] == 1, "not-IP not counted");

	/* a destination removed meanwhile */
	REQUIRE(!xtap_cls_cd_get(env.cls, &(struct xtap_cd_spec)CD4(1, 99), &gone), "cd");
	REQUIRE(!xtap_cls_cd_put(env.cls, gone), "put");
	len = pkt_build(&big, f, sizeof(f), NULL);
	REQUIRE(!tenv_run_mark(&env, HOOK_VT, env.ifindex[0], XTAP_MARK_MAGIC | gone, f, len, &out), "run");
	REQUIRE(out.retval == TC_ACT_SHOT_, "copy for a removed destination sent");
	REQUIRE(!xtap_cls_cd_stats(env.cls, gone, st) && st[XTAP_CDS_INACTIVE] == 1, "inactive not counted");

	/* anything on vt0 that xtap did not clone */
	REQUIRE(!xtap_cls_counters(env.cls, g0), "counters");
	REQUIRE(!tenv_run_mark(&env, HOOK_VT, env.ifindex[0], 0x1234, f, len, &out), "run");
	REQUIRE(out.retval == TC_ACT_SHOT_, "foreign packet sent");
	REQUIRE(!xtap_cls_counters(env.cls, g1), "counters");
	REQUIRE(g1[XTAP_G_VT_FOREIGN] - g0[XTAP_G_VT_FOREIGN] == 1, "foreign not counted");
	REQUIRE(!xtap_cls_cd_put(env.cls, i6) && !xtap_cls_cd_put(env.cls, i4), "put");
	return 0;
}

/* IPv4 IDs of copies to one destination increase by one. */
static int ip_ids(void)
{
	struct xtap_cd_spec cd = CD4(0, 0);
	struct pkt_spec s = { .family = 4, .proto = 6, .payload = 10 };
	uint8_t f[256];
	struct run_out a, b;
	uint16_t idx;
	int len;

	pkt_addr(cd.src, "192.0.2.254");
	pkt_addr(cd.dst, "203.0.113.51");
	pkt_addr(s.src, "192.0.2.1");
	pkt_addr(s.dst, "192.0.2.2");
	len = pkt_build(&s, f, sizeof(f), NULL);
	REQUIRE(!xtap_cls_cd_get(env.cls, &cd, &idx), "cd");
	REQUIRE(!tenv_run_mark(&env, HOOK_VT, env.ifindex[0], XTAP_MARK_MAGIC | idx, f, len, &a), "run");
	REQUIRE(!tenv_run_mark(&env, HOOK_VT, env.ifindex[0], XTAP_MARK_MAGIC | idx, f, len, &b), "run");
	REQUIRE(((b.data[18] << 8 | b.data[19]) - (a.data[18] << 8 | a.data[19])) == 1, "IDs %u then %u",
		a.data[18] << 8 | a.data[19], b.data[18] << 8 | b.data[19]);
	REQUIRE(!xtap_cls_cd_put(env.cls, idx), "put");
	return 0;
}

/* Destinations are shared by identical parameters and counted by reference. */
static int cd_sharing(void)
{
	struct xtap_cd_spec a = CD4(1, 5), b = CD4(1, 6);
	uint16_t i1, i2, i3;

	pkt_addr(a.dst, "203.0.113.50");
	pkt_addr(b.dst, "203.0.113.50");
	REQUIRE(!xtap_cls_cd_get(env.cls, &a, &i1) && !xtap_cls_cd_get(env.cls, &a, &i2), "get");
	REQUIRE(i1 == i2, "identical destinations not shared");
	REQUIRE(!xtap_cls_cd_get(env.cls, &b, &i3) && i3 != i1, "another intercept id shares a destination");
	REQUIRE(!xtap_cls_cd_put(env.cls, i1) && !xtap_cls_cd_put(env.cls, i2) && !xtap_cls_cd_put(env.cls, i3), "put");
	REQUIRE(xtap_cls_cd_put(env.cls, i1) == -ENOENT, "put past zero");
	a.family = 7;
	REQUIRE(xtap_cls_cd_get(env.cls, &a, &i1) == -EINVAL, "bad family accepted");
	return 0;
}

/* The whole clone path on a real device: TC ingress clones to a veth whose
 * egress runs the vt program; the copy is read at the far end. */
static int clone_path(void)
{
	struct tenv e2;
	struct tenv_vt vt = { 0 };
	uint32_t vtif = if_nametoindex("xt2"), peer = if_nametoindex("xt2p");
	struct xtap_cd_spec cd = CD4(1, 0x42), cd2 = CD6(0, 0);
	struct pkt_spec s = { .family = 4, .proto = 17, .sport = 1000, .dport = 5060, .payload = 64 };
	uint64_t st[XTAP_CDS_COUNT];
	struct xtap_criterion c;
	struct pkt_layout lay;
	struct run_out out;
	uint8_t f[512], want[700], got[2048];
	uint16_t idx, idx2;
	uint32_t slot;
	int len, fd, n, seen = 0, err;

	REQUIRE(vtif && peer, "veth xt2 missing");
	memcpy(vt.mac, vt_mac, 6);
	memcpy(vt.peer_mac, peer_mac, 6);
	vt.ifindex = vtif;
	REQUIRE(!system("ip link set xt2p address 02:78:74:00:00:01 && ip link set xt2 address 02:78:74:00:00:00"),
		"mac");
	err = tenv_open_vt(&e2, 1024, 16, &vt);
	REQUIRE(!err, "load: %s", strerror(-err));
	{
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = vtif, .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = e2.prog_vt);

		err = bpf_tc_hook_create(&hook);
		REQUIRE(!err || err == -EEXIST, "clsact on xt2: %s", strerror(-err));
		REQUIRE(!bpf_tc_attach(&hook, &opts), "attach vt program");
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	REQUIRE(fd >= 0, "packet socket");
	{
		struct sockaddr_ll sll = { .sll_family = AF_PACKET,
					   .sll_protocol = htons(ETH_P_ALL),
					   .sll_ifindex = (int)peer };

		REQUIRE(!bind(fd, (struct sockaddr *)&sll, sizeof(sll)), "bind");
	}
	pkt_addr(cd.src, "192.0.2.254");
	pkt_addr(cd.dst, "203.0.113.50");
	pkt_addr(cd2.src, "2001:db8:ff::1");
	pkt_addr(cd2.dst, "2001:db8:cd::50");
	REQUIRE(!xtap_cls_cd_get(e2.cls, &cd, &idx) && !xtap_cls_cd_get(e2.cls, &cd2, &idx2), "cd");
	memset(&c, 0, sizeof(c));
	c.family = XTAP_AF_INET;
	pkt_addr(c.src, "192.0.2.1");
	c.src_plen = 32;
	c.proto.any = c.sport.any = c.dport.any = c.itype.any = c.icode.any = 1;
	c.ncd = 2;
	c.cd[0] = idx;
	c.cd[1] = idx2;
	REQUIRE(!xtap_cls_add(e2.cls, &c, &slot), "criterion");
	pkt_addr(s.src, "192.0.2.1");
	pkt_addr(s.dst, "198.51.100.2");
	len = pkt_build(&s, f, sizeof(f), &lay);

	REQUIRE(!tenv_run_mark(&e2, HOOK_TC_IN, e2.ifindex[0], 0x5a5a, f, len, &out), "run");
	REQUIRE(out.retval == TC_ACT_UNSPEC_, "verdict %d", out.retval);
	REQUIRE(out.size == (uint32_t)len && !memcmp(out.data, f, len), "original changed");
	REQUIRE(out.mark == 0x5a5a, "original mark changed to %#x", out.mark);
	REQUIRE(!xtap_cls_cd_stats(e2.cls, idx, st), "stats");
	REQUIRE(st[XTAP_CDS_CLONED] == 1 && st[XTAP_CDS_SENT] == 1, "cloned %llu sent %llu",
		(unsigned long long)st[XTAP_CDS_CLONED], (unsigned long long)st[XTAP_CDS_SENT]);

	/* both copies arrive at the far end, each exactly as specified */
	for (int tries = 0; tries < 50 && seen < 2; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int wlen;

		if (poll(&p, 1, 20) <= 0)
			continue;
		while ((n = (int)recv(fd, got, sizeof(got), 0)) > 0) {
			if (n > 14 + 20 && got[12] == 0x08 && got[13] == 0x00) {
				wlen = expected_copy(f + lay.l3, lay.end - lay.l3, &cd,
						     (uint16_t)(got[18] << 8 | got[19]), want);
				REQUIRE(n == wlen && !memcmp(got, want, wlen), "IPv4 copy at the far end differs");
				seen++;
			} else if (n > 14 + 40 && got[12] == 0x86 && got[13] == 0xdd && got[14 + 6] == 17) {
				wlen = expected_copy(f + lay.l3, lay.end - lay.l3, &cd2, 0, want);
				REQUIRE(n == wlen && !memcmp(got, want, wlen), "IPv6 copy at the far end differs");
				seen++;
			}
		}
	}
	close(fd);
	REQUIRE(seen == 2, "%d of 2 copies arrived", seen);
	{
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = vtif, .attach_point = BPF_TC_EGRESS | BPF_TC_INGRESS);

		bpf_tc_hook_destroy(&hook);
	}
	tenv_close(&e2);
	return 0;
}

/* Wait up to a second for a frame on fd that is an IPv4 UDP copy to port
 * dport; its length, or 0. */
static int recv_copy(int fd, uint16_t dport, uint8_t *buf, int size)
{
	for (int tries = 0; tries < 50; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n;

		if (poll(&p, 1, 20) <= 0)
			continue;
		while ((n = (int)recv(fd, buf, size, 0)) > 0)
			if (n >= 14 + 28 && buf[12] == 0x08 && buf[13] == 0x00 && buf[14 + 9] == 17 &&
			    (buf[14 + 22] << 8 | buf[14 + 23]) == dport)
				return n;
	}
	return 0;
}

static int packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex(ifname) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The direct path (bpf/deliver.h vt_direct): with vt1's ifindex known,
 * a copy whose route resolves leaves by the route's device (xtc), as the
 * host's forwarding would send it: the encapsulation's bytes with the TTL
 * less one and the header checksum recomputed here from scratch, Ethernet
 * addresses of xtc and the neighbour; nothing reaches vt1 (xt2p). A copy
 * with no route, and one larger than the route's MTU (DF clear: the host
 * fragments it), fall back to vt1 exactly as encapsulated. */
/* Copies vt0's program (prog_fd) has taken: its runs, which the kernel
 * counts while run-time statistics are on (bpf_enable_stats), less the
 * kernel's own packets it dropped there (IPv6 neighbour discovery on a
 * link just set up). Packets a veth's egress program redirects are not in
 * the veth's tx counters. */
static unsigned long long vt_runs(struct tenv *e, int prog_fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 ilen = sizeof(info);
	uint64_t g[XTAP_G_COUNT];

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &ilen) || xtap_cls_counters(e->cls, g))
		return ~0ULL;
	return info.run_cnt - g[XTAP_G_VT_FOREIGN];
}

static int direct_path(void)
{
	static const uint8_t cd_mac[6] = { 0x02, 0x78, 0x74, 0, 0, 0xc2 };
	struct tenv e2;
	struct tenv_vt vt = { 0 };
	uint32_t vtif = if_nametoindex("xt2"), peer = if_nametoindex("xt2p");
	struct xtap_cd_spec cd = CD4(1, 0x42), cdnr = CD4(0, 0);
	struct pkt_spec s = { .family = 4, .proto = 17, .sport = 1000, .dport = 5060, .payload = 64 };
	uint64_t st0[XTAP_CDS_SLOTS], st1[XTAP_CDS_SLOTS];
	struct xtap_criterion c;
	struct pkt_layout lay;
	struct run_out out;
	uint8_t f[1600], want[1700], got[2048], xtc_mac[6];
	uint16_t idx, idxnr;
	uint32_t slot;
	int len, fd_cd, fd_vt, n, wlen, err, stats_fd;
	unsigned long long vt_before;

	REQUIRE(vtif && peer, "veth xt2 missing");
	REQUIRE(!system("ip link set xt2p address 02:78:74:00:00:01 && ip link set xt2 address 02:78:74:00:00:00 && "
			"ip link add xtc type veth peer name xtcp && ip link set xtc address 02:78:74:00:00:c1 && "
			"ip link set xtc up && ip link set xtcp up && ip addr add 198.18.0.1/24 dev xtc && "
			"ip neigh add 198.18.0.2 lladdr 02:78:74:00:00:c2 dev xtc nud permanent && "
			"sysctl -qw net.ipv4.conf.xt2p.forwarding=1"),
		"the content destination's link");
	memcpy(xtc_mac, (uint8_t[]){ 0x02, 0x78, 0x74, 0, 0, 0xc1 }, 6);
	memcpy(vt.mac, vt_mac, 6);
	memcpy(vt.peer_mac, peer_mac, 6);
	vt.ifindex = vtif;
	vt.peer_ifindex = peer;
	err = tenv_open_vt(&e2, 1024, 16, &vt);
	REQUIRE(!err, "load: %s", strerror(-err));
	{
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = vtif, .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = e2.prog_vt);

		err = bpf_tc_hook_create(&hook);
		REQUIRE(!err || err == -EEXIST, "clsact on xt2: %s", strerror(-err));
		REQUIRE(!bpf_tc_attach(&hook, &opts), "attach vt program");
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	REQUIRE(stats_fd >= 0, "run-time statistics: %s", strerror(errno));
	fd_cd = packet_socket("xtcp");
	fd_vt = packet_socket("xt2p");
	REQUIRE(fd_cd >= 0 && fd_vt >= 0, "packet sockets");
	pkt_addr(cd.src, "192.0.2.254");
	pkt_addr(cd.dst, "198.18.0.2");
	cdnr.dport = 7891;
	pkt_addr(cdnr.src, "192.0.2.254");
	pkt_addr(cdnr.dst, "198.19.0.50"); /* no route */
	REQUIRE(!xtap_cls_cd_get(e2.cls, &cd, &idx) && !xtap_cls_cd_get(e2.cls, &cdnr, &idxnr), "cd");
	memset(&c, 0, sizeof(c));
	c.family = XTAP_AF_INET;
	pkt_addr(c.src, "192.0.2.1");
	c.src_plen = 32;
	c.proto.any = c.sport.any = c.dport.any = c.itype.any = c.icode.any = 1;
	c.ncd = 1;
	c.cd[0] = idx;
	REQUIRE(!xtap_cls_add(e2.cls, &c, &slot), "criterion");
	pkt_addr(s.src, "192.0.2.1");
	pkt_addr(s.dst, "198.51.100.2");

	/* 1. resolvable: straight out of xtc, as forwarded */
	len = pkt_build(&s, f, sizeof(f), &lay);
	vt_before = vt_runs(&e2, e2.prog_vt);
	REQUIRE(!xtap_cls_cd_slots(e2.cls, idx, st0), "stats");
	REQUIRE(!tenv_run_mark(&e2, HOOK_TC_IN, e2.ifindex[0], 0, f, len, &out), "run");
	REQUIRE(out.retval == TC_ACT_UNSPEC_, "verdict %d", out.retval);
	n = recv_copy(fd_cd, cd.dport, got, sizeof(got));
	REQUIRE(n > 0, "no copy on the route's device");
	wlen = expected_copy(f + lay.l3, lay.end - lay.l3, &cd, (uint16_t)(got[18] << 8 | got[19]), want);
	memcpy(want, cd_mac, 6);
	memcpy(want + 6, xtc_mac, 6);
	want[14 + 8]--; /* TTL, as ip_forward leaves it */
	put16(want + 14 + 10, 0);
	put16(want + 14 + 10, (uint16_t)~fold(sum16(want + 14, 20)));
	REQUIRE(n == wlen && !memcmp(got, want, wlen), "direct copy differs (%d bytes, want %d)", n, wlen);
	REQUIRE(!recv_copy(fd_vt, cd.dport, got, sizeof(got)), "a direct copy also reached vt1");
	/* the in-place path wrote the copy's headers into the original and
	 * took them out again: the original leaves as it came */
	REQUIRE(out.size == (uint32_t)len && !memcmp(out.data, f, len), "original changed by the in-place path");
	REQUIRE(!xtap_cls_cd_slots(e2.cls, idx, st1), "stats");
	REQUIRE(st1[XTAP_CDS_SENT] - st0[XTAP_CDS_SENT] == 1 && st1[XTAP_CDS_DIRECT] - st0[XTAP_CDS_DIRECT] == 1 &&
			st1[XTAP_CDS_FALLBACK] == st0[XTAP_CDS_FALLBACK] &&
			st1[XTAP_CDS_RESTORE_FAIL] == st0[XTAP_CDS_RESTORE_FAIL],
		"sent %llu direct %llu fallback %llu", (unsigned long long)(st1[XTAP_CDS_SENT] - st0[XTAP_CDS_SENT]),
		(unsigned long long)(st1[XTAP_CDS_DIRECT] - st0[XTAP_CDS_DIRECT]),
		(unsigned long long)(st1[XTAP_CDS_FALLBACK] - st0[XTAP_CDS_FALLBACK]));
	REQUIRE(vt_runs(&e2, e2.prog_vt) == vt_before, "the in-place copy went through vt0 (%llu packets)",
		(unsigned long long)(vt_runs(&e2, e2.prog_vt) - vt_before));

	/* 1b. the same packet with two bytes of Ethernet padding: not in place
	 * (the copy is trimmed to the IP length), through vt0's program and
	 * its direct path, the same bytes out of xtc */
	f[len] = 0;
	f[len + 1] = 0;
	REQUIRE(!xtap_cls_cd_slots(e2.cls, idx, st0), "stats");
	vt_before = vt_runs(&e2, e2.prog_vt);
	REQUIRE(!tenv_run_mark(&e2, HOOK_TC_IN, e2.ifindex[0], 0, f, len + 2, &out), "run");
	REQUIRE(out.size == (uint32_t)len + 2 && !memcmp(out.data, f, len + 2), "padded original changed");
	n = recv_copy(fd_cd, cd.dport, got, sizeof(got));
	REQUIRE(n > 0, "no copy of the padded packet on the route's device");
	wlen = expected_copy(f + lay.l3, lay.end - lay.l3, &cd, (uint16_t)(got[18] << 8 | got[19]), want);
	memcpy(want, cd_mac, 6);
	memcpy(want + 6, xtc_mac, 6);
	want[14 + 8]--;
	put16(want + 14 + 10, 0);
	put16(want + 14 + 10, (uint16_t)~fold(sum16(want + 14, 20)));
	REQUIRE(n == wlen && !memcmp(got, want, wlen), "padded direct copy differs (%d bytes, want %d)", n, wlen);
	REQUIRE(vt_runs(&e2, e2.prog_vt) - vt_before == 1, "the padded packet's copy did not go through vt0");
	REQUIRE(!xtap_cls_cd_slots(e2.cls, idx, st1), "stats");
	REQUIRE(st1[XTAP_CDS_DIRECT] - st0[XTAP_CDS_DIRECT] == 1, "padded copy not counted as direct");

	/* 2. larger than xtc's MTU: to vt1 as encapsulated (the host fragments) */
	REQUIRE(!system("ip link set xtc mtu 1280"), "mtu");
	s.payload = 1300;
	len = pkt_build(&s, f, sizeof(f), &lay);
	REQUIRE(!xtap_cls_cd_slots(e2.cls, idx, st0), "stats");
	REQUIRE(!tenv_run_mark(&e2, HOOK_TC_IN, e2.ifindex[0], 0, f, len, &out), "run");
	n = recv_copy(fd_vt, cd.dport, got, sizeof(got));
	REQUIRE(n > 0, "no fallback copy at vt1 (MTU)");
	wlen = expected_copy(f + lay.l3, lay.end - lay.l3, &cd, (uint16_t)(got[18] << 8 | got[19]), want);
	REQUIRE(n == wlen && !memcmp(got, want, wlen), "fallback copy differs (%d bytes, want %d)", n, wlen);
	REQUIRE(!xtap_cls_cd_slots(e2.cls, idx, st1), "stats");
	REQUIRE(st1[XTAP_CDS_FALLBACK] - st0[XTAP_CDS_FALLBACK] == 1 && st1[XTAP_CDS_DIRECT] == st0[XTAP_CDS_DIRECT],
		"MTU: not counted as a fallback");

	/* 3. no route to the destination: to vt1 as encapsulated */
	c.cd[0] = idxnr;
	pkt_addr(c.src, "192.0.2.3");
	REQUIRE(!xtap_cls_add(e2.cls, &c, &slot), "criterion");
	pkt_addr(s.src, "192.0.2.3");
	s.payload = 64;
	len = pkt_build(&s, f, sizeof(f), &lay);
	REQUIRE(!xtap_cls_cd_slots(e2.cls, idxnr, st0), "stats");
	REQUIRE(!tenv_run_mark(&e2, HOOK_TC_IN, e2.ifindex[0], 0, f, len, &out), "run");
	n = recv_copy(fd_vt, cdnr.dport, got, sizeof(got));
	REQUIRE(n > 0, "no fallback copy at vt1 (no route)");
	wlen = expected_copy(f + lay.l3, lay.end - lay.l3, &cdnr, (uint16_t)(got[18] << 8 | got[19]), want);
	REQUIRE(n == wlen && !memcmp(got, want, wlen), "fallback copy differs (%d bytes, want %d)", n, wlen);
	REQUIRE(!xtap_cls_cd_slots(e2.cls, idxnr, st1), "stats");
	REQUIRE(st1[XTAP_CDS_SENT] - st0[XTAP_CDS_SENT] == 1 && st1[XTAP_CDS_FALLBACK] - st0[XTAP_CDS_FALLBACK] == 1 &&
			st1[XTAP_CDS_DIRECT] == st0[XTAP_CDS_DIRECT],
		"no route: not counted as a fallback");
	close(fd_cd);
	close(fd_vt);
	close(stats_fd);
	{
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = vtif, .attach_point = BPF_TC_EGRESS | BPF_TC_INGRESS);

		bpf_tc_hook_destroy(&hook);
	}
	tenv_close(&e2);
	REQUIRE(!system("ip link del xtc"), "remove xtc");
	return 0;
}

int main(void)
{
	struct tenv_vt vt = { 0 };
	char why[256];
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tenv_netns(why, sizeof(why))) {
		t_record("delivery tests", 1, why);
		return t_summary();
	}
	memcpy(vt.mac, vt_mac, 6);
	memcpy(vt.peer_mac, peer_mac, 6);
	err = tenv_open_vt(&env, 1024, 16, &vt);
	if (err) {
		printf("cannot load the BPF programs: %s\n", strerror(-err));
		t_record("load", -1, NULL);
		return t_summary();
	}
	for (size_t i = 0; i < sizeof(encs) / sizeof(encs[0]); i++)
		t_record(encs[i].name, run_encap(&encs[i]), NULL);
	t_record("refused copies are counted by reason", refusals(), NULL);
	t_record("ipv4 ids of copies increase", ip_ids(), NULL);
	t_record("identical destinations are shared", cd_sharing(), NULL);
	t_record("clone to a veth, copies read at the far end", clone_path(), NULL);
	t_record("direct path: out of the route's device as forwarded; fallback to vt1", direct_path(), NULL);
	tenv_close(&env);
	return t_summary();
}
