// SPDX-License-Identifier: BSD-2-Clause
/*
 * Table-driven BPF_PROG_TEST_RUN tests of the parser and classifier: each row
 * is a packet, the criteria installed, the hook and interface, and what must
 * come out (matched criteria with their counters, content destinations in
 * the XDP metadata, the global reason counter). Every run also checks that
 * the packet leaves unchanged with XDP_PASS / TC_ACT_UNSPEC.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "critspec.h"
#include "pktbuild.h"
#include "testenv.h"

#define XDP_PASS_ 2
#define TC_ACT_UNSPEC_ (-1)
#define MAX_CRIT 20

static struct tenv env;

struct pkt_row {
	int family;
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t itype, icode;
	int nvlan, vlan_ad, ipopt, frag;
	uint32_t frag_id;
	int next;
	uint8_t ext[16];
	int nfill; /* destination-options headers after the listed ones */
	int ext_len8, after_frag, cut_l4, cut_ext; /* as in struct pkt_spec */
	int payload;
	uint16_t ethertype;
	void (*mutate)(uint8_t *frame, int l3);
};

enum where { IN = 0, OUT = 1 };

struct row {
	const char *name;
	struct crit_text crit[MAX_CRIT];
	int ncrit;
	struct pkt_row pkt;
	enum where where; /* IN: XDP and TC ingress; OUT: TC egress */
	int ifidx; /* test interface 0..2 */
	const char *match; /* indexes of the criteria that must match: "0,2" */
	const char *cds; /* XDP metadata CDs, as a set: "1,2" */
	int counter; /* a global counter that must move by one (0: none) */
	int counter2; /* another one */
};

static void pkt_from_row(const struct pkt_row *r, struct pkt_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->family = r->family ? r->family : 4;
	if (r->src)
		pkt_addr(s->src, r->src);
	if (r->dst)
		pkt_addr(s->dst, r->dst);
	s->proto = r->proto;
	s->sport = r->sport;
	s->dport = r->dport;
	s->itype = r->itype;
	s->icode = r->icode;
	s->nvlan = r->nvlan;
	s->vlan_ad = r->vlan_ad;
	s->ipopt = r->ipopt;
	s->frag = r->frag;
	s->frag_id = r->frag_id;
	memcpy(s->ext, r->ext, sizeof(r->ext));
	for (int i = 0; i < r->nfill; i++)
		s->ext[r->next + i] = 60;
	s->next = r->next + r->nfill;
	s->ext_len8 = r->ext_len8;
	s->after_frag = r->after_frag;
	s->cut_l4 = r->cut_l4;
	s->cut_ext = r->cut_ext;
	s->payload = r->payload;
	s->ethertype = r->ethertype;
}

static int in_list(const char *list, unsigned v)
{
	for (const char *p = list; p && *p;) {
		char *end;
		unsigned long x = strtoul(p, &end, 10);

		if (x == v)
			return 1;
		p = *end ? end + 1 : end;
	}
	return 0;
}

static int list_len(const char *list)
{
	int n = 0;

	for (const char *p = list; p && *p; p++)
		if (p == list || p[-1] == ',')
			n++;
	return n;
}

static int add_criteria(const struct crit_text *ct, int n, uint32_t *slots)
{
	for (int i = 0; i < n; i++) {
		struct crit_store cs;
		int err;

		if (crit_from_text(&ct[i], env.ifindex, &cs))
			return -EINVAL;
		err = xtap_cls_add(env.cls, &cs.c, &slots[i]);
		if (err) {
			printf("    add of criterion %d failed: %s\n", i, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Run the frame through one hook and check everything the row expects. */
static int run_hook(const struct row *r, enum hook h, const uint32_t *slots, const uint8_t *frame, int len,
		    uint32_t ip_len)
{
	struct xtap_crit_stats before[MAX_CRIT], after;
	uint64_t g0[XTAP_G_COUNT], g1[XTAP_G_COUNT];
	struct run_out out;
	int err;

	for (int i = 0; i < r->ncrit; i++)
		REQUIRE(!xtap_cls_stats(env.cls, slots[i], &before[i]), "stats");
	REQUIRE(!xtap_cls_counters(env.cls, g0), "counters");
	err = tenv_run(&env, h, env.ifindex[r->ifidx], frame, len, &out);
	REQUIRE(!err, "test run: %s", strerror(-err));
	REQUIRE(!xtap_cls_counters(env.cls, g1), "counters");

	REQUIRE(out.retval == (h == HOOK_XDP ? XDP_PASS_ : TC_ACT_UNSPEC_), "verdict %d", out.retval);
	REQUIRE(out.size == (uint32_t)len && !memcmp(out.data, frame, len), "packet changed (hook %d)", h);
	for (int i = 0; i < r->ncrit; i++) {
		int want = in_list(r->match, i);

		REQUIRE(!xtap_cls_stats(env.cls, slots[i], &after), "stats");
		REQUIRE(after.packets - before[i].packets == (uint64_t)want,
			"hook %d: criterion %d matched %llu times, want %d", h, i,
			(unsigned long long)(after.packets - before[i].packets), want);
		REQUIRE(after.bytes - before[i].bytes == (want ? ip_len : 0), "hook %d: criterion %d bytes %llu", h, i,
			(unsigned long long)(after.bytes - before[i].bytes));
		REQUIRE(!want || after.last_ns > 0, "last match time not set");
	}
	REQUIRE(g1[XTAP_G_PACKETS] - g0[XTAP_G_PACKETS] == 1, "packets counter");
	REQUIRE(g1[XTAP_G_MATCHED] - g0[XTAP_G_MATCHED] == (r->match && *r->match ? 1u : 0u), "matched counter");
	REQUIRE(g1[XTAP_G_MATCHED_BYTES] - g0[XTAP_G_MATCHED_BYTES] == (r->match && *r->match ? ip_len : 0u),
		"hook %d: matched bytes %llu, want %u for a match", h,
		(unsigned long long)(g1[XTAP_G_MATCHED_BYTES] - g0[XTAP_G_MATCHED_BYTES]), ip_len);
	if (r->counter)
		REQUIRE(g1[r->counter] - g0[r->counter] == 1, "hook %d: counter %d moved by %llu", h, r->counter,
			(unsigned long long)(g1[r->counter] - g0[r->counter]));
	if (r->counter2)
		REQUIRE(g1[r->counter2] - g0[r->counter2] == 1, "hook %d: counter %d moved by %llu", h, r->counter2,
			(unsigned long long)(g1[r->counter2] - g0[r->counter2]));
	/* a match through an unread field is always counted as such */
	if (r->counter != XTAP_G_MATCH_UNREAD && r->counter2 != XTAP_G_MATCH_UNREAD)
		REQUIRE(g1[XTAP_G_MATCH_UNREAD] == g0[XTAP_G_MATCH_UNREAD], "hook %d: unread match counted", h);
	if (h == HOOK_XDP && env.xdp_meta) {
		struct xtap_meta m;

		REQUIRE(out.has_meta && out.meta_len == sizeof(m), "no XDP metadata (%u bytes)", out.meta_len);
		memcpy(&m, out.meta, sizeof(m));
		REQUIRE(m.magic == XTAP_META_MAGIC && m.ifindex == env.ifindex[r->ifidx], "metadata header");
		REQUIRE(m.ncd == list_len(r->cds), "metadata names %u CDs, want %d", m.ncd, list_len(r->cds));
		for (int i = 0; i < m.ncd; i++)
			REQUIRE(in_list(r->cds, m.cd[i]), "unexpected CD %u", m.cd[i]);
	}
	return 0;
}

static int run_row(const struct row *r)
{
	uint32_t slots[MAX_CRIT];
	struct pkt_spec spec;
	struct pkt_layout lay;
	uint8_t frame[4096];
	int len, err;

	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(!add_criteria(r->crit, r->ncrit, slots), "criteria");
	pkt_from_row(&r->pkt, &spec);
	len = pkt_build(&spec, frame, sizeof(frame), &lay);
	REQUIRE(len > 0, "build");
	if (r->pkt.mutate)
		r->pkt.mutate(frame, lay.l3);
	if (r->where == IN) {
		err = run_hook(r, HOOK_XDP, slots, frame, len, lay.end - lay.l3);
		if (!err)
			err = run_hook(r, HOOK_TC_IN, slots, frame, len, lay.end - lay.l3);
		return err;
	}
	return run_hook(r, HOOK_TC_OUT, slots, frame, len, lay.end - lay.l3);
}

/* ---- the table -------------------------------------------------------------- */

#define V4A "192.0.2.1"
#define V4B "198.51.100.7"
#define V6A "2001:db8::1"
#define V6B "2001:db8:1::2"
#define TCP4(s, d, sp, dp) \
	{ \
		.family = 4, .src = s, .dst = d, .proto = 6, .sport = sp, .dport = dp \
	}
#define UDP4(s, d, sp, dp) \
	{ \
		.family = 4, .src = s, .dst = d, .proto = 17, .sport = sp, .dport = dp \
	}
#define TCP6(s, d, sp, dp) \
	{ \
		.family = 6, .src = s, .dst = d, .proto = 6, .sport = sp, .dport = dp \
	}

static void set_version_5(uint8_t *f, int l3)
{
	f[l3] = 0x55;
}
static void set_ihl_4(uint8_t *f, int l3)
{
	f[l3] = 0x44;
}
static void set_v6_version_4(uint8_t *f, int l3)
{
	f[l3] = 0x40;
}
static void set_totlen_short(uint8_t *f, int l3)
{
	f[l3 + 2] = 0;
	f[l3 + 3] = 10;
}

static const struct row rows[] = {
	/* addresses */
	{ "ipv4 exact source", { { .src = V4A, .cds = "1" } }, 1, TCP4(V4A, V4B, 1000, 80), IN, 0, "0", "1" },
	{ "ipv4 exact destination", { { .dst = V4B, .cds = "2" } }, 1, TCP4(V4A, V4B, 1000, 80), IN, 0, "0", "2" },
	{ "ipv4 exact source, other address", { { .src = V4B } }, 1, TCP4(V4A, V4B, 1000, 80), IN, 0, "", "" },
	{ "ipv4 source prefix /24",
	  { { .src = "192.0.2.0/24", .cds = "3" } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  0,
	  "0",
	  "3" },
	{ "ipv4 source prefix /25 miss", { { .src = "192.0.2.128/25" } }, 1, TCP4(V4A, V4B, 1, 2), IN, 0, "", "" },
	{ "ipv4 destination prefix /16", { { .dst = "198.51.0.0/16" } }, 1, UDP4(V4A, V4B, 1, 2), IN, 0, "0", "" },
	{ "ipv4 /0 is any", { { .src = "0.0.0.0/0", .dport = "80" } }, 1, TCP4(V4A, V4B, 1, 80), IN, 0, "0", "" },
	{ "ipv4 source and destination exact",
	  { { .src = V4A, .dst = V4B } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  0,
	  "0",
	  "" },
	{ "ipv4 source and destination, wrong destination",
	  { { .src = V4A, .dst = "198.51.100.8" } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  0,
	  "",
	  "" },
	{ "ipv4 prefix source, exact destination",
	  { { .src = "192.0.2.0/28", .dst = V4B } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  0,
	  "0",
	  "" },
	{ "ipv4 prefix source outside, exact destination",
	  { { .src = "192.0.2.16/28", .dst = V4B } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  0,
	  "",
	  "" },
	{ "exact source, destination /31 compared",
	  { { .src = V4A, .dst = "198.51.100.6/31" } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  0,
	  "0",
	  "" },
	{ "reversed direction does not match", { { .src = V4B, .dst = V4A } }, 1, TCP4(V4A, V4B, 1, 2), IN, 0, "", "" },
	/* ports and protocols */
	{ "wildcard addresses, destination port", { { .dport = "80" } }, 1, TCP4(V4A, V4B, 1000, 80), IN, 0, "0", "" },
	{ "destination port miss", { { .dport = "80" } }, 1, TCP4(V4A, V4B, 1000, 81), IN, 0, "", "" },
	{ "udp matches a port criterion", { { .dport = "53" } }, 1, UDP4(V4A, V4B, 1000, 53), IN, 0, "0", "" },
	{ "sctp ports",
	  { { .src = V4A, .sport = "2905", .proto = "132" } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 132, .sport = 2905, .dport = 2905 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "port range lower bound",
	  { { .src = V4A, .dport = "1000-2000" } },
	  1,
	  TCP4(V4A, V4B, 1, 1000),
	  IN,
	  0,
	  "0",
	  "" },
	{ "port range upper bound",
	  { { .src = V4A, .dport = "1000-2000" } },
	  1,
	  TCP4(V4A, V4B, 1, 2000),
	  IN,
	  0,
	  "0",
	  "" },
	{ "port range below", { { .src = V4A, .dport = "1000-2000" } }, 1, TCP4(V4A, V4B, 1, 999), IN, 0, "", "" },
	{ "port range above", { { .src = V4A, .dport = "1000-2000" } }, 1, TCP4(V4A, V4B, 1, 2001), IN, 0, "", "" },
	{ "port list hit",
	  { { .src = V4A, .dport = "80,443,8000-8080" } },
	  1,
	  TCP4(V4A, V4B, 1, 8080),
	  IN,
	  0,
	  "0",
	  "" },
	{ "port list miss", { { .src = V4A, .dport = "80,443,8000-8080" } }, 1, TCP4(V4A, V4B, 1, 444), IN, 0, "", "" },
	{ "source and destination ports",
	  { { .src = V4A, .sport = "5060", .dport = "5060" } },
	  1,
	  UDP4(V4A, V4B, 5060, 5060),
	  IN,
	  0,
	  "0",
	  "" },
	{ "source port wrong",
	  { { .src = V4A, .sport = "5061", .dport = "5060" } },
	  1,
	  UDP4(V4A, V4B, 5060, 5060),
	  IN,
	  0,
	  "",
	  "" },
	{ "protocol list hit", { { .src = V4A, .proto = "6,17" } }, 1, UDP4(V4A, V4B, 1, 2), IN, 0, "0", "" },
	{ "protocol list miss",
	  { { .src = V4A, .proto = "6,17" } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 132 },
	  IN,
	  0,
	  "",
	  "" },
	{ "protocol range",
	  { { .src = V4A, .proto = "40-50" } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 47, .payload = 8 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "port criterion never matches a protocol without ports",
	  { { .src = V4A, .dport = "0" } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 47, .payload = 8 },
	  IN,
	  0,
	  "",
	  "" },
	{ "icmp type and code",
	  { { .src = V4A, .proto = "1", .itype = "8", .icode = "0" } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 1, .itype = 8 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "icmp other type",
	  { { .src = V4A, .proto = "1", .itype = "8" } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 1, .itype = 0 },
	  IN,
	  0,
	  "",
	  "" },
	{ "icmp type list and code range",
	  { { .src = V4A, .itype = "0,3,11", .icode = "1-4" } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 1, .itype = 3, .icode = 4 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "icmp code criterion never matches gre",
	  { { .src = V4A, .icode = "0" } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 47, .payload = 8 },
	  IN,
	  0,
	  "",
	  "" },
	{ "icmp criterion never matches tcp",
	  { { .src = V4A, .itype = "8" } },
	  1,
	  TCP4(V4A, V4B, 8, 8),
	  IN,
	  0,
	  "",
	  "" },
	{ "port criterion never matches icmp",
	  { { .src = V4A, .dport = "0" } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 1, .itype = 8 },
	  IN,
	  0,
	  "",
	  "" },
	/* link layer and IP header forms */
	{ "one vlan tag",
	  { { .src = V4A } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 6, .nvlan = 1 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "802.1ad + 802.1Q",
	  { { .src = V4A, .dport = "80" } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 6, .dport = 80, .nvlan = 2, .vlan_ad = 1 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "three vlan tags (QinQ and deeper)",
	  { { .src = V4A, .dport = "80" } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 6, .dport = 80, .nvlan = 3 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "eight vlan tags, ipv6",
	  { { .src = V6A, .dport = "80" } },
	  1,
	  { .family = 6, .src = V6A, .dst = V6B, .proto = 6, .dport = 80, .nvlan = 8, .vlan_ad = 1 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "nine vlan tags: deeper than the kernel routes",
	  { { .src = V4A } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 6, .nvlan = 9 },
	  IN,
	  0,
	  "",
	  "",
	  XTAP_G_VLAN_DEPTH },
	{ "ipv4 options",
	  { { .src = V4A, .dport = "443" } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 6, .dport = 443, .ipopt = 40 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "ipv4 udp shorter than its ports: unread ports match",
	  { { .src = V4A, .dport = "53" }, { .src = V4A, .proto = "17" }, { .src = V4A, .itype = "8" } },
	  3,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 17, .dport = 9, .cut_l4 = 3 },
	  IN,
	  0,
	  "0,1",
	  "",
	  XTAP_G_TRUNC_L4,
	  XTAP_G_MATCH_UNREAD },
	{ "ipv4 icmp shorter than its type",
	  { { .src = V4A, .itype = "0" }, { .src = V4A, .dport = "1" } },
	  2,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 1, .itype = 8, .cut_l4 = 1 },
	  IN,
	  0,
	  "0",
	  "",
	  XTAP_G_TRUNC_L4,
	  XTAP_G_MATCH_UNREAD },
	{ "arp is not ip",
	  { { .dport = "80" }, { .src = "any" } },
	  2,
	  { .family = 4, .ethertype = 0x0806, .payload = 28 },
	  IN,
	  0,
	  "",
	  "",
	  XTAP_G_NOT_IP },
	{ "ipv4 version 5 is malformed",
	  { { .src = V4A } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 6, .mutate = set_version_5 },
	  IN,
	  0,
	  "",
	  "",
	  XTAP_G_BAD_L3 },
	{ "ipv4 header length 16 is malformed",
	  { { .src = V4A } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 6, .mutate = set_ihl_4 },
	  IN,
	  0,
	  "",
	  "",
	  XTAP_G_BAD_L3 },
	{ "ipv4 total length below header is malformed",
	  { { .src = V4A } },
	  1,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 6, .mutate = set_totlen_short },
	  IN,
	  0,
	  "",
	  "",
	  XTAP_G_BAD_L3 },
	{ "ipv6 version 4 is malformed",
	  { { .src = V6A } },
	  1,
	  { .family = 6, .src = V6A, .dst = V6B, .proto = 6, .mutate = set_v6_version_4 },
	  IN,
	  0,
	  "",
	  "",
	  XTAP_G_BAD_L3 },
	/* IPv6 */
	{ "ipv6 exact source", { { .src = V6A, .cds = "4" } }, 1, TCP6(V6A, V6B, 1, 2), IN, 0, "0", "4" },
	{ "ipv6 exact destination", { { .dst = V6B } }, 1, TCP6(V6A, V6B, 1, 2), IN, 0, "0", "" },
	{ "ipv6 /64 destination prefix", { { .dst = "2001:db8:1::/64" } }, 1, TCP6(V6A, V6B, 1, 2), IN, 0, "0", "" },
	{ "ipv6 /33 prefix miss", { { .dst = "2001:db8:8000::/33" } }, 1, TCP6(V6A, V6B, 1, 2), IN, 0, "", "" },
	{ "ipv6 /127 prefix", { { .src = "2001:db8::/127" } }, 1, TCP6(V6A, V6B, 1, 2), IN, 0, "0", "" },
	{ "ipv6 wildcard addresses, port", { { .v6 = 1, .dport = "443" } }, 1, TCP6(V6A, V6B, 1, 443), IN, 0, "0", "" },
	{ "ipv4 wildcard criterion never matches ipv6",
	  { { .dport = "443" } },
	  1,
	  TCP6(V6A, V6B, 1, 443),
	  IN,
	  0,
	  "",
	  "" },
	{ "v4-mapped ipv6 never matches ipv4",
	  { { .src = "192.0.2.1" } },
	  1,
	  TCP6("::ffff:192.0.2.1", V6B, 1, 2),
	  IN,
	  0,
	  "",
	  "" },
	{ "icmpv6 echo request",
	  { { .src = V6A, .proto = "58", .itype = "128" } },
	  1,
	  { .family = 6, .src = V6A, .dst = V6B, .proto = 58, .itype = 128 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "icmp (v4) number does not give icmpv6 fields",
	  { { .src = V6A, .itype = "1" } },
	  1,
	  { .family = 6, .src = V6A, .dst = V6B, .proto = 1, .payload = 8 },
	  IN,
	  0,
	  "",
	  "" },
	{ "ipv6 hop-by-hop, routing, destination options, tcp",
	  { { .src = V6A, .dport = "80" } },
	  1,
	  { .family = 6, .src = V6A, .dst = V6B, .proto = 6, .dport = 80, .next = 3, .ext = { 0, 43, 60 } },
	  IN,
	  0,
	  "0",
	  "" },
	{ "ipv6 authentication header, udp",
	  { { .src = V6A, .dport = "500" } },
	  1,
	  { .family = 6, .src = V6A, .dst = V6B, .proto = 17, .dport = 500, .next = 1, .ext = { 51 } },
	  IN,
	  0,
	  "0",
	  "" },
	{ "ipv6 eight extension headers are followed",
	  { { .src = V6A, .dport = "80" } },
	  1,
	  { .family = 6,
	    .src = V6A,
	    .dst = V6B,
	    .proto = 6,
	    .dport = 80,
	    .next = 8,
	    .ext = { 0, 60, 43, 60, 51, 60, 60, 60 } },
	  IN,
	  0,
	  "0",
	  "" },
	{ "ipv6 nine extension headers are followed",
	  { { .src = V6A, .dport = "80" }, { .src = V6A } },
	  2,
	  { .family = 6,
	    .src = V6A,
	    .dst = V6B,
	    .proto = 6,
	    .dport = 80,
	    .next = 9,
	    .ext = { 0, 60, 43, 60, 51, 60, 60, 60, 60 } },
	  IN,
	  0,
	  "0,1",
	  "" },
	{ "ipv6 udp behind nine destination options headers (issue 12)",
	  { { .dst = V6B, .dport = "5060", .cds = "4" }, { .dst = V6B, .dport = "5061" } },
	  2,
	  { .family = 6, .src = V6A, .dst = V6B, .proto = 17, .sport = 5060, .dport = 5060, .nfill = 9, .payload = 20 },
	  IN,
	  0,
	  "0",
	  "4" },
	{ "ipv6 one 240-byte destination options header",
	  { { .dst = V6B, .dport = "5060" } },
	  1,
	  { .family = 6, .src = V6A, .dst = V6B, .proto = 17, .dport = 5060, .nfill = 1, .ext_len8 = 30 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "ipv6 a 2 KiB destination options header",
	  { { .dst = V6B, .dport = "5060" } },
	  1,
	  { .family = 6, .src = V6A, .dst = V6B, .proto = 17, .dport = 5060, .nfill = 1, .ext_len8 = 256 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "ipv6 300 extension headers of 8 bytes",
	  { { .dst = V6B, .dport = "5060" }, { .dst = V6B, .dport = "1" } },
	  2,
	  { .family = 6,
	    .src = V6A,
	    .dst = V6B,
	    .proto = 17,
	    .dport = 5060,
	    .next = 3,
	    .ext = { 0, 43, 51 },
	    .nfill = 297,
	    .ext_len8 = 1 },
	  IN,
	  0,
	  "0",
	  "" },
	{ "ipv6 chain cut by the payload length: every set matches",
	  { { .src = V6A, .dport = "80" },
	    { .src = V6A, .proto = "17" },
	    { .src = V6A, .itype = "128" },
	    { .src = V6A, .proto = "6", .sport = "1", .dport = "2" },
	    { .src = V6B } },
	  5,
	  { .family = 6, .src = V6A, .dst = V6B, .proto = 6, .dport = 80, .nfill = 3, .cut_ext = 5 },
	  IN,
	  0,
	  "0,1,2,3",
	  "",
	  XTAP_G_TRUNC_EXT,
	  XTAP_G_MATCH_UNREAD },
	/* scope */
	{ "input interface hit",
	  { { .src = V4A, .scope = XTAP_SCOPE_IN, .ifs = "1" } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  1,
	  "0",
	  "" },
	{ "input interface list hit",
	  { { .src = V4A, .scope = XTAP_SCOPE_IN, .ifs = "0,2" } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  2,
	  "0",
	  "" },
	{ "input interface miss",
	  { { .src = V4A, .scope = XTAP_SCOPE_IN, .ifs = "1" } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  0,
	  "",
	  "" },
	{ "output interface criterion at egress",
	  { { .src = V4A, .scope = XTAP_SCOPE_OUT, .ifs = "2", .cds = "7" } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  OUT,
	  2,
	  "0",
	  "" },
	{ "output interface criterion, other interface",
	  { { .src = V4A, .scope = XTAP_SCOPE_OUT, .ifs = "2" } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  OUT,
	  1,
	  "",
	  "" },
	{ "output interface criterion never matches ingress",
	  { { .src = V4A, .scope = XTAP_SCOPE_OUT, .ifs = "2" } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  2,
	  "",
	  "" },
	{ "unscoped criterion is ingress only",
	  { { .src = V4A }, { .dport = "2" }, { .src = "192.0.2.0/24" } },
	  3,
	  TCP4(V4A, V4B, 1, 2),
	  OUT,
	  0,
	  "",
	  "" },
	{ "output prefix and wildcard criteria",
	  { { .src = "192.0.2.0/24", .scope = XTAP_SCOPE_OUT, .ifs = "0" },
	    { .dport = "2", .scope = XTAP_SCOPE_OUT, .ifs = "0" } },
	  2,
	  TCP4(V4A, V4B, 1, 2),
	  OUT,
	  0,
	  "0,1",
	  "" },
	{ "group scope hit",
	  { { .src = V4A, .scope = XTAP_SCOPE_GROUP, .groups = 2 } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  1,
	  "0",
	  "" },
	{ "group scope, interface in two groups",
	  { { .src = V4A, .scope = XTAP_SCOPE_GROUP, .groups = 2 } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  2,
	  "0",
	  "" },
	{ "group scope miss",
	  { { .src = V4A, .scope = XTAP_SCOPE_GROUP, .groups = 2 } },
	  1,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  0,
	  "",
	  "" },
	/* several criteria on one packet */
	{ "three shapes match, CDs once each",
	  { { .src = V4A, .cds = "1,2" },
	    { .dst = "198.51.100.0/24", .cds = "2,3" },
	    { .dport = "80", .cds = "3" },
	    { .src = V4B, .cds = "9" } },
	  4,
	  TCP4(V4A, V4B, 1, 80),
	  IN,
	  0,
	  "0,1,2",
	  "1,2,3" },
	{ "nested prefixes all match",
	  { { .src = "192.0.0.0/8", .cds = "1" },
	    { .src = "192.0.0.0/16", .cds = "2" },
	    { .src = "192.0.2.0/24", .cds = "3" },
	    { .src = "192.0.3.0/24", .cds = "4" },
	    { .src = "192.0.2.0/25", .dport = "81", .cds = "5" } },
	  5,
	  TCP4(V4A, V4B, 1, 80),
	  IN,
	  0,
	  "0,1,2",
	  "1,2,3" },
	{ "same address, different ports",
	  { { .src = V4A, .dport = "80" }, { .src = V4A, .dport = "443" }, { .src = V4A, .dport = "1-1024" } },
	  3,
	  TCP4(V4A, V4B, 1, 443),
	  IN,
	  0,
	  "1,2",
	  "" },
	{ "source criterion and destination criterion",
	  { { .src = V4A, .cds = "5" }, { .dst = V4B, .cds = "5" } },
	  2,
	  TCP4(V4A, V4B, 1, 2),
	  IN,
	  0,
	  "0,1",
	  "5" },
	{ "ipv6 exact, prefix and wildcard",
	  { { .src = V6A, .cds = "1" }, { .dst = "2001:db8::/32", .cds = "2" }, { .v6 = 1, .proto = "6", .cds = "1" } },
	  3,
	  TCP6(V6A, V6B, 1, 2),
	  IN,
	  0,
	  "0,1,2",
	  "1,2" },
	/* fragments without a record: what the first fragment held is unread */
	{ "later ipv4 fragment: unread ports match, its protocol is known",
	  { { .src = V4A, .dport = "80" },
	    { .src = V4A, .proto = "6" },
	    { .src = V4A, .proto = "17", .dport = "80" },
	    { .src = V4A, .itype = "8" },
	    { .src = V4B } },
	  5,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 6, .frag = PF_LATER, .frag_id = 999, .payload = 64 },
	  IN,
	  0,
	  "0,1",
	  "",
	  XTAP_G_FRAG_UNKNOWN,
	  XTAP_G_MATCH_UNREAD },
	{ "later ipv4 fragment of gre: no ports to be unread",
	  { { .src = V4A, .dport = "80" }, { .src = V4A } },
	  2,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 47, .frag = PF_LATER, .frag_id = 998, .payload = 64 },
	  IN,
	  0,
	  "1",
	  "",
	  XTAP_G_FRAG_UNKNOWN },
	{ "later ipv6 fragment: protocol known from the fragment header",
	  { { .src = V6A, .dport = "80" },
	    { .src = V6A, .proto = "17" },
	    { .src = V6A, .proto = "6" },
	    { .src = V6A, .itype = "128" } },
	  4,
	  { .family = 6, .src = V6A, .dst = V6B, .proto = 17, .frag = PF_LATER, .frag_id = 999, .payload = 64 },
	  IN,
	  0,
	  "0,1",
	  "",
	  XTAP_G_FRAG_UNKNOWN,
	  XTAP_G_MATCH_UNREAD },
	{ "later ipv6 fragment, more headers in the first one: protocol unread",
	  { { .src = V6A, .dport = "80" }, { .src = V6A, .proto = "17" }, { .src = V6A, .itype = "128" } },
	  3,
	  { .family = 6,
	    .src = V6A,
	    .dst = V6B,
	    .proto = 17,
	    .frag = PF_LATER,
	    .frag_id = 997,
	    .after_frag = 1,
	    .payload = 64 },
	  IN,
	  0,
	  "0,1,2",
	  "",
	  XTAP_G_FRAG_UNKNOWN,
	  XTAP_G_MATCH_UNREAD },
	/* tiny first fragments (RFC 1858, RFC 7112) */
	{ "tiny ipv4 first fragment: 2 bytes of udp",
	  { { .src = V4A, .dport = "53" }, { .src = V4A, .proto = "6" }, { .src = V4A, .itype = "8" } },
	  3,
	  { .family = 4, .src = V4A, .dst = V4B, .proto = 17, .frag = PF_FIRST, .frag_id = 77, .cut_l4 = 3 },
	  IN,
	  0,
	  "0",
	  "",
	  XTAP_G_FRAG_TINY,
	  XTAP_G_MATCH_UNREAD },
	{ "tiny ipv6 first fragment: no transport header",
	  { { .src = V6A, .dport = "53" }, { .src = V6A, .proto = "17" }, { .src = V6A, .proto = "6" } },
	  3,
	  { .family = 6, .src = V6A, .dst = V6B, .proto = 17, .frag = PF_FIRST, .frag_id = 77, .cut_l4 = 1 },
	  IN,
	  0,
	  "0,1",
	  "",
	  XTAP_G_FRAG_TINY,
	  XTAP_G_MATCH_UNREAD },
	{ "tiny ipv6 first fragment: the chain goes on in the next one",
	  { { .src = V6A, .dport = "53" }, { .src = V6A, .proto = "6" }, { .src = V6A, .itype = "1" } },
	  3,
	  { .family = 6,
	    .src = V6A,
	    .dst = V6B,
	    .proto = 17,
	    .frag = PF_FIRST,
	    .frag_id = 78,
	    .after_frag = 2,
	    .cut_ext = 5 },
	  IN,
	  0,
	  "0,1,2",
	  "",
	  XTAP_G_FRAG_TINY,
	  XTAP_G_MATCH_UNREAD },
	{ "tiny ipv6 first fragment: the last header's next header is read",
	  { { .src = V6A, .dport = "53" }, { .src = V6A, .proto = "6" }, { .src = V6A, .proto = "17" } },
	  3,
	  { .family = 6,
	    .src = V6A,
	    .dst = V6B,
	    .proto = 17,
	    .frag = PF_FIRST,
	    .frag_id = 79,
	    .after_frag = 2,
	    .cut_ext = 9 },
	  IN,
	  0,
	  "0,2",
	  "",
	  XTAP_G_FRAG_TINY,
	  XTAP_G_MATCH_UNREAD },
};

/* ---- tests beyond the table --------------------------------------------------- */

static int frag_follow(int family)
{
	struct crit_text ct[2] = {
		{ .src = family == 4 ? V4A : V6A, .dport = "5001", .cds = "3" },
		{ .src = family == 4 ? V4A : V6A, .dport = "9999" },
	};
	struct pkt_spec s = { .family = family,
			      .proto = 17,
			      .sport = 7,
			      .dport = 5001,
			      .frag = PF_FIRST,
			      .frag_id = 0x1234,
			      .payload = 100 };
	uint64_t g0[XTAP_G_COUNT], g1[XTAP_G_COUNT];
	struct xtap_crit_stats st0, st1;
	struct pkt_layout lay;
	uint8_t f[512];
	struct run_out out;
	uint32_t slots[2], first_len;
	int len;

	TENV_NEED_XDP_META(&env);
	pkt_addr(s.src, family == 4 ? V4A : V6A);
	pkt_addr(s.dst, family == 4 ? V4B : V6B);
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(!add_criteria(ct, 2, slots), "add");
	REQUIRE(!xtap_cls_counters(env.cls, g0), "counters");
	len = pkt_build(&s, f, sizeof(f), &lay);
	first_len = lay.end - lay.l3;
	REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out), "run first");
	/* the later fragment of the same datagram, and one of another datagram */
	s.frag = PF_LATER;
	len = pkt_build(&s, f, sizeof(f), &lay);
	REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out), "run later");
	REQUIRE(out.has_meta && ((struct xtap_meta *)out.meta)->ncd == 1 && ((struct xtap_meta *)out.meta)->cd[0] == 3,
		"later fragment reaches the CD");
	REQUIRE(!tenv_run(&env, HOOK_TC_IN, env.ifindex[1], f, len, &out), "run later via tc");
	s.frag_id = 0x1235;
	len = pkt_build(&s, f, sizeof(f), &lay);
	REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out), "run other");
	REQUIRE(!xtap_cls_counters(env.cls, g1), "counters");
	REQUIRE(!xtap_cls_stats(env.cls, slots[0], &st0) && !xtap_cls_stats(env.cls, slots[1], &st1), "stats");
	/* the record: the first fragment and both later ones; the fragment of
	 * a datagram never seen: every criterion on its address (ports unread) */
	REQUIRE(st0.packets == 4, "port criterion matched %llu of first + 2 later + 1 unknown fragments",
		(unsigned long long)st0.packets);
	REQUIRE(st0.bytes == first_len + 3ull * (lay.end - lay.l3), "bytes %llu", (unsigned long long)st0.bytes);
	REQUIRE(st1.packets == 1, "other criterion matched %llu, want the unknown fragment only",
		(unsigned long long)st1.packets);
	REQUIRE(g1[XTAP_G_FRAG_RECORDED] - g0[XTAP_G_FRAG_RECORDED] == 1, "recorded");
	REQUIRE(g1[XTAP_G_FRAG_FOLLOWED] - g0[XTAP_G_FRAG_FOLLOWED] == 2, "followed");
	REQUIRE(g1[XTAP_G_FRAG_UNKNOWN] - g0[XTAP_G_FRAG_UNKNOWN] == 1, "unknown");
	REQUIRE(g1[XTAP_G_MATCH_UNREAD] - g0[XTAP_G_MATCH_UNREAD] == 1, "unread match");

	/* a deleted criterion is not followed, and its reused slot neither:
	 * with nothing left to follow the fragment is classified on its own */
	REQUIRE(!xtap_cls_del(env.cls, slots[0]) && !xtap_cls_sync(env.cls), "delete");
	s.frag_id = 0x1234;
	len = pkt_build(&s, f, sizeof(f), &lay);
	REQUIRE(!xtap_cls_stats(env.cls, slots[1], &st0), "stats");
	REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out), "run after delete");
	REQUIRE(out.has_meta && ((struct xtap_meta *)out.meta)->ncd == 0, "deleted criterion still followed");
	REQUIRE(!xtap_cls_stats(env.cls, slots[1], &st1) && st1.packets == st0.packets + 1,
		"the fragment, classified on its own, missed the other port criterion");
	return 0;
}

static int test_frag_v4(void)
{
	return frag_follow(4);
}
static int test_frag_v6(void)
{
	return frag_follow(6);
}

/* Run one frame of s through XDP; returns the CDs in the metadata as a bit
 * mask (CDs below 32), or -1. */
static int64_t xdp_cds(const struct pkt_spec *s)
{
	struct run_out out;
	uint8_t f[512];
	int len = pkt_build(s, f, sizeof(f), NULL);
	int64_t mask = 0;

	if (len < 0 || tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out) || !out.has_meta)
		return -1;
	for (int i = 0; i < ((struct xtap_meta *)out.meta)->ncd; i++)
		mask |= 1ll << (((struct xtap_meta *)out.meta)->cd[i] & 31);
	return mask;
}

/* Records of first fragments that matched nothing, and of two first
 * fragments of one datagram (duplicated or overlapping). */
static int frag_records(int family)
{
	const char *a = family == 4 ? V4A : V6A, *b = family == 4 ? V4B : V6B;
	struct crit_text ct[3] = {
		{ .src = a, .dport = "5001", .cds = "1" },
		{ .src = a, .dport = "9999", .cds = "2" },
		{ .dst = "192.0.2.200", .cds = "3" }, /* an address no packet here has */
	};
	struct pkt_spec s = { .family = family,
			      .proto = 17,
			      .sport = 7,
			      .dport = 7777,
			      .frag = PF_FIRST,
			      .frag_id = 0x4000,
			      .payload = 100 };
	uint64_t g0[XTAP_G_COUNT], g1[XTAP_G_COUNT];
	uint32_t slots[3];

	TENV_NEED_XDP_META(&env);
	pkt_addr(s.src, a);
	pkt_addr(s.dst, b);
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(!add_criteria(ct, 3, slots), "add");
	REQUIRE(!xtap_cls_counters(env.cls, g0), "counters");

	/* a first fragment to port 7777: its addresses meet the criteria, its
	 * port does not; its later fragment matches nothing either */
	REQUIRE(xdp_cds(&s) == 0, "first fragment to 7777 copied");
	s.frag = PF_LATER;
	REQUIRE(xdp_cds(&s) == 0, "later fragment of a datagram that matched nothing copied");
	REQUIRE(!xtap_cls_counters(env.cls, g1), "counters");
	REQUIRE(g1[XTAP_G_FRAG_RECORDED] - g0[XTAP_G_FRAG_RECORDED] == 1, "no-match record");
	REQUIRE(g1[XTAP_G_FRAG_NONE] - g0[XTAP_G_FRAG_NONE] == 1, "frag_none");

	/* a second first fragment of that datagram to 5001: recorded over the
	 * no-match record; a third to 9999 adds its criterion */
	s.frag = PF_FIRST;
	s.dport = 5001;
	REQUIRE(xdp_cds(&s) == 1 << 1, "second first fragment to 5001");
	s.dport = 9999;
	REQUIRE(xdp_cds(&s) == 1 << 2, "third first fragment to 9999");
	s.dport = 7777; /* a no-match first fragment never replaces matches */
	REQUIRE(xdp_cds(&s) == 0, "fourth first fragment");
	s.frag = PF_LATER;
	REQUIRE(xdp_cds(&s) == ((1 << 1) | (1 << 2)), "later fragment follows both first fragments' criteria");

	/* no criterion on its addresses: no record at all, and the later
	 * fragment is unknown (and matches nothing: no address criterion) */
	REQUIRE(!xtap_cls_counters(env.cls, g0), "counters");
	pkt_addr(s.src, family == 4 ? "203.0.113.9" : "2001:db8:9::9");
	s.frag = PF_FIRST;
	s.frag_id = 0x4001;
	REQUIRE(xdp_cds(&s) == 0, "unrelated first fragment");
	s.frag = PF_LATER;
	REQUIRE(xdp_cds(&s) == 0, "unrelated later fragment");
	REQUIRE(!xtap_cls_counters(env.cls, g1), "counters");
	REQUIRE(g1[XTAP_G_FRAG_RECORDED] == g0[XTAP_G_FRAG_RECORDED],
		"a first fragment no criterion's addresses meet was recorded");
	REQUIRE(g1[XTAP_G_FRAG_UNKNOWN] - g0[XTAP_G_FRAG_UNKNOWN] == 1, "unknown");
	return 0;
}

static int test_frag_records_v4(void)
{
	return frag_records(4);
}
static int test_frag_records_v6(void)
{
	return frag_records(6);
}

/* IPv4 options of every legal length (IHL 5 to 15), TCP and UDP, both hooks. */
static int ipv4_options(void)
{
	struct crit_text ct[2] = { { .src = V4A, .dport = "443" }, { .src = V4A, .dport = "444" } };
	uint32_t slots[2];
	int runs = 0;

	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(!add_criteria(ct, 2, slots), "add");
	for (int opt = 0; opt <= 40; opt += 4) {
		for (int proto = 6; proto <= 17; proto += 11) {
			struct pkt_spec s = { .family = 4, .proto = (uint8_t)proto, .dport = 443, .ipopt = opt };
			struct xtap_crit_stats a0, a1, b0, b1;
			struct run_out out;
			uint8_t f[256];
			int len;

			pkt_addr(s.src, V4A);
			pkt_addr(s.dst, V4B);
			len = pkt_build(&s, f, sizeof(f), NULL);
			for (int h = HOOK_XDP; h <= HOOK_TC_IN; h++) {
				REQUIRE(!xtap_cls_stats(env.cls, slots[0], &a0) &&
						!xtap_cls_stats(env.cls, slots[1], &b0),
					"stats");
				REQUIRE(!tenv_run(&env, h, env.ifindex[0], f, len, &out), "run");
				REQUIRE(!xtap_cls_stats(env.cls, slots[0], &a1) &&
						!xtap_cls_stats(env.cls, slots[1], &b1),
					"stats");
				REQUIRE(a1.packets == a0.packets + 1 && b1.packets == b0.packets,
					"%d option bytes, protocol %d, hook %d: port 443 matched %llu, 444 %llu", opt,
					proto, h, (unsigned long long)(a1.packets - a0.packets),
					(unsigned long long)(b1.packets - b0.packets));
				runs++;
			}
		}
	}
	printf("    %d frames, IHL 5 to 15\n", runs);
	return 0;
}

/* Every truncation of valid frames: never a lost match, never a change. Once
 * the addresses are read, a criterion on the packet's own ports or type
 * matches whether they are read or not; one on other values matches only
 * while they are unread. */
static int truncations(void)
{
	struct pkt_spec specs[4] = {
		{ .family = 4, .proto = 6, .dport = 80, .ipopt = 8, .payload = 10 },
		{ .family = 6, .proto = 17, .dport = 80, .next = 2, .ext = { 0, 60 }, .payload = 10 },
		{ .family = 4, .proto = 1, .itype = 8, .nvlan = 2, .payload = 4 },
		{ .family = 6, .proto = 58, .itype = 128, .next = 1, .ext = { 51 }, .payload = 4 },
	};
	int tested = 0;

	for (int k = 0; k < 4; k++) {
		struct pkt_spec *s = &specs[k];
		int v6 = s->family == 6;
		struct crit_text ct[3] = {
			{ .src = v6 ? V6A : V4A, .cds = "1" },
			{ .src = v6 ? V6A : V4A,
			  .dport = s->proto == 6 || s->proto == 17 ? "80" : NULL,
			  .itype = s->proto == 1 || s->proto == 58 ? (v6 ? "128" : "8") : NULL,
			  .cds = "2" },
			{ .src = v6 ? V6A : V4A,
			  .dport = s->proto == 6 || s->proto == 17 ? "81" : NULL,
			  .itype = s->proto == 1 || s->proto == 58 ? "0" : NULL,
			  .cds = "3" },
		};
		struct pkt_layout lay;
		uint8_t f[512];
		uint32_t slots[3];
		int full;

		pkt_addr(s->src, v6 ? V6A : V4A);
		pkt_addr(s->dst, v6 ? V6B : V4B);
		full = pkt_build(s, f, sizeof(f), &lay);
		REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
		REQUIRE(!add_criteria(ct, 3, slots), "add");
		/* the kernel's test run refuses frames shorter than Ethernet */
		for (int len = 14; len <= full; len++) {
			int hdr = v6 ? lay.l3 + 40 : lay.l3 + 20; /* the addresses */
			int icmp = s->proto == 1 || s->proto == 58;
			int want0 = len >= hdr, want1 = want0;
			int want2 = want0 && len < lay.l4 + (icmp ? 2 : 4);
			uint32_t iplen = len > lay.l3 ? (uint32_t)(len - lay.l3) : 0;

			for (int h = HOOK_XDP; h <= HOOK_TC_IN; h++) {
				struct xtap_crit_stats a0, a1, b0, b1, c0, c1;
				struct run_out out;

				/* the kernel's skb test run refuses IP frames shorter
				 * than the fixed IP header: XDP covers those lengths */
				if (h == HOOK_TC_IN && len < lay.l3 + (v6 ? 40 : 20))
					continue;
				REQUIRE(!xtap_cls_stats(env.cls, slots[0], &a0) &&
						!xtap_cls_stats(env.cls, slots[1], &b0) &&
						!xtap_cls_stats(env.cls, slots[2], &c0),
					"stats");
				int rerr = tenv_run(&env, h, env.ifindex[0], f, len, &out);

				REQUIRE(!rerr, "frame %d len %d hook %d: %s", k, len, h, strerror(-rerr));
				REQUIRE(out.size == (uint32_t)len && !memcmp(out.data, f, len),
					"frame %d changed at %d", k, len);
				REQUIRE(!xtap_cls_stats(env.cls, slots[0], &a1) &&
						!xtap_cls_stats(env.cls, slots[1], &b1) &&
						!xtap_cls_stats(env.cls, slots[2], &c1),
					"stats");
				REQUIRE(a1.packets - a0.packets == (uint64_t)want0,
					"frame %d cut at %d: address criterion %d", k, len, want0);
				REQUIRE(b1.packets - b0.packets == (uint64_t)want1,
					"frame %d cut at %d: port/icmp criterion %d", k, len, want1);
				REQUIRE(c1.packets - c0.packets == (uint64_t)want2,
					"frame %d cut at %d: other port/icmp criterion %d", k, len, want2);
				REQUIRE(!want0 || a1.bytes - a0.bytes == iplen, "frame %d cut at %d: bytes", k, len);
				tested++;
			}
		}
	}
	printf("    %d truncated frames checked\n", tested);
	return 0;
}

/* TC on a paged skb: a 5,000-byte frame sent with AF_PACKET is paged past
 * its Ethernet header (packet_snd() keeps frames of a page or more
 * non-linear), and its UDP header lies past the 256 bytes TC pulls first,
 * behind 40 extension headers. The program makes the frame linear and
 * parses again: the ports are read, so a criterion on another port does not
 * match (it would, as unread, without the second parse). Test runs cannot
 * build a paged skb: this one goes over veth xt0p -> xt0. */
static int tc_paged(void)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = env.prog_tc_in);
	struct crit_text ct[2] = { { .dst = V6B, .dport = "5060" }, { .dst = V6B, .dport = "5061" } };
	struct pkt_spec s = {
		.family = 6, .proto = 17, .sport = 5060, .dport = 5060, .next = 40, .ext_len8 = 1, .payload = 4500
	};
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
	uint64_t g0[XTAP_G_COUNT], g1[XTAP_G_COUNT];
	struct xtap_crit_stats a, b;
	static uint8_t f[8192];
	uint32_t slots[2];
	int fd, len, err, got = 0;

	for (int i = 0; i < s.next; i++)
		s.ext[i] = 60;
	pkt_addr(s.src, V6A);
	pkt_addr(s.dst, V6B);
	len = pkt_build(&s, f, sizeof(f), NULL);
	REQUIRE(len > 4096, "frame of %d bytes", len);
	REQUIRE(!system("ip link set xt0 mtu 9000 && ip link set xt0p mtu 9000"), "mtu 9000 on xt0");
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(!add_criteria(ct, 2, slots), "add");
	hook.ifindex = (int)env.ifindex[0];
	REQUIRE(!bpf_tc_hook_create(&hook) || errno == EEXIST, "clsact on xt0");
	REQUIRE(!bpf_tc_attach(&hook, &opts), "tc ingress program on xt0");
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	to.sll_ifindex = (int)if_nametoindex("xt0p");
	err = fd < 0 || !to.sll_ifindex;
	REQUIRE(!xtap_cls_counters(env.cls, g0), "counters");
	if (!err)
		err = sendto(fd, f, len, 0, (struct sockaddr *)&to, sizeof(to)) != len;
	/* veth hands the frame to xt0 at once (netif_rx): wait for the count */
	for (int i = 0; !err && i < 2000 && !got; i++) {
		REQUIRE(!xtap_cls_stats(env.cls, slots[0], &a), "stats");
		got = a.packets > 0;
		if (!got)
			usleep(1000);
	}
	if (fd >= 0)
		close(fd);
	bpf_tc_hook_destroy(&hook);
	REQUIRE(!err, "send over xt0p: %s", strerror(errno));
	REQUIRE(got, "the criterion on port 5060 never counted the frame (2 s)");
	REQUIRE(!xtap_cls_stats(env.cls, slots[1], &b) && b.packets == 0, "port 5061 matched: the ports were not read");
	REQUIRE(!xtap_cls_counters(env.cls, g1), "counters");
	REQUIRE(g1[XTAP_G_MATCH_UNREAD] == g0[XTAP_G_MATCH_UNREAD] && g1[XTAP_G_TRUNC_EXT] == g0[XTAP_G_TRUNC_EXT],
		"counted as unread");
	return 0;
}

/* Bounds refuse cleanly and leave everything as it was. */
static int bounds(void)
{
	struct crit_text one = { .src = V4A, .dport = "1" };
	struct crit_text wide = { .src = "192.0.0.0/8" }, narrow = { .src = "192.0.2.0/24" };
	uint32_t slots[XTAP_MAX_CAND + 1], s2;
	struct crit_store cs;
	struct xtap_cls_pusage pu;
	int n_exact;

	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	for (int i = 0; i < XTAP_MAX_CAND; i++)
		REQUIRE(!add_criteria(&one, 1, &slots[i]), "add %d", i);
	n_exact = tenv_exact_keys(&env);
	REQUIRE(crit_from_text(&one, env.ifindex, &cs) == 0, "text");
	REQUIRE(xtap_cls_add(env.cls, &cs.c, &s2) == -ENOSPC, "17th criterion on one address accepted");
	REQUIRE(xtap_cls_count(env.cls) == XTAP_MAX_CAND, "count changed");
	REQUIRE(tenv_exact_keys(&env) == n_exact, "map changed");

	/* push-down: 16 on a /8, then a /24 below it would need 17 */
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	for (int i = 0; i < XTAP_MAX_CAND; i++)
		REQUIRE(!add_criteria(&wide, 1, &slots[i]), "add wide %d", i);
	REQUIRE(crit_from_text(&narrow, env.ifindex, &cs) == 0, "text");
	REQUIRE(xtap_cls_add(env.cls, &cs.c, &s2) == -ENOSPC, "pushed-down bound not enforced");
	xtap_cls_prefix_usage(env.cls, &pu);
	REQUIRE(pu.entries == 1, "prefix entries %u", pu.entries);

	/* malformed input */
	REQUIRE(crit_from_text(&(struct crit_text){ .src = V4A, .dport = "90-80" }, env.ifindex, &cs) == 0, "text");
	REQUIRE(xtap_cls_add(env.cls, &cs.c, &s2) == -EINVAL, "inverted range accepted");
	REQUIRE(crit_from_text(&(struct crit_text){ .src = V4A, .proto = "300" }, env.ifindex, &cs) == 0, "text");
	REQUIRE(xtap_cls_add(env.cls, &cs.c, &s2) == -EINVAL, "protocol 300 accepted");
	REQUIRE(crit_from_text(&(struct crit_text){ .src = V4A, .scope = XTAP_SCOPE_IN }, env.ifindex, &cs) == 0,
		"text");
	cs.c.nif = 1;
	cs.c.ifindex[0] = 999999;
	REQUIRE(xtap_cls_add(env.cls, &cs.c, &s2) == -ENODEV, "unknown interface accepted");
	REQUIRE(xtap_cls_count(env.cls) == XTAP_MAX_CAND, "count changed by refused adds");
	return 0;
}

/* Deleting everything leaves empty maps; reused slots start from zero. */
static int delete_and_reuse(void)
{
	struct crit_text ct[4] = {
		{ .src = V4A }, { .dst = "198.51.100.0/24" }, { .dport = "80" }, { .src = "2001:db8::/48" }
	};
	struct pkt_spec s = { .family = 4, .proto = 6, .dport = 80 };
	uint32_t slots[4], zero = 0, present = 1;
	struct xtap_crit_stats st;
	struct pkt_layout lay;
	struct run_out out;
	uint8_t f[256];
	int len;

	TENV_NEED_XDP_META(&env);
	pkt_addr(s.src, V4A);
	pkt_addr(s.dst, V4B);
	len = pkt_build(&s, f, sizeof(f), &lay);
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(!add_criteria(ct, 4, slots), "add");
	REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out), "run");
	for (int i = 0; i < 4; i++)
		REQUIRE(!xtap_cls_del(env.cls, slots[i]), "delete %d", i);
	REQUIRE(xtap_cls_del(env.cls, slots[0]) == -ENOENT, "double delete");
	REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out), "run");
	REQUIRE(((struct xtap_meta *)out.meta)->ncd == 0, "deleted criteria matched");
	REQUIRE(tenv_exact_keys(&env) == 0, "exact map not empty");
	REQUIRE(tenv_prefix_words(&env) == 0, "prefix index not empty");
	REQUIRE(!bpf_map_lookup_elem(env.maps.present, &zero, &present) && present == 0, "present bits %#x", present);
	/* slots come back only after a grace period, with zeroed counters */
	REQUIRE(!xtap_cls_sync(env.cls), "sync");
	for (int i = 0; i < 4; i++)
		REQUIRE(!add_criteria(&ct[2], 1, &slots[i]), "re-add");
	for (int i = 0; i < 4; i++) {
		REQUIRE(!xtap_cls_stats(env.cls, slots[i], &st), "stats");
		REQUIRE(st.packets == 0 && st.bytes == 0 && st.last_ns == 0, "reused slot kept old counters");
	}
	return 0;
}

static int on_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* A criterion matched on two CPUs: each CPU's entry (xtap.h: cpu * slots +
 * slot) holds its own packets and the sum is both. The test run executes on
 * the calling thread's CPU. */
static int counters_per_cpu(void)
{
	struct crit_text ct = { .src = V4A };
	struct pkt_spec s = { .family = 4, .proto = 17, .sport = 1, .dport = 2, .payload = 10 };
	struct xtap_crit_stats st, v;
	struct pkt_layout lay;
	struct run_out out;
	cpu_set_t was;
	uint32_t slot, key, slots = 1u << 16; /* tenv_open's size */
	uint8_t f[256];
	int len, runs[2] = { 3, 5 }, ok = 0;

	if (libbpf_num_possible_cpus() < 2 || sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("    one CPU: only one entry to check\n");
		runs[1] = 0;
	}
	pkt_addr(s.src, V4A);
	pkt_addr(s.dst, V4B);
	len = pkt_build(&s, f, sizeof(f), &lay);
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(!add_criteria(&ct, 1, &slot), "add");
	REQUIRE(!sched_getaffinity(0, sizeof(was), &was), "affinity");
	for (int c = 0; c < 2; c++) {
		if (runs[c] && on_cpu(c))
			break;
		for (int i = 0; i < runs[c]; i++)
			if (tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out))
				goto restore;
	}
	ok = 1;
restore:
	sched_setaffinity(0, sizeof(was), &was);
	REQUIRE(ok, "runs on CPUs 0 and 1");
	for (int c = 0; c < 2; c++) {
		key = (uint32_t)c * slots + slot;
		REQUIRE(!bpf_map_lookup_elem(env.maps.stats, &key, &v), "entry of CPU %d", c);
		REQUIRE(v.packets == (uint64_t)runs[c] && v.bytes == (uint64_t)runs[c] * 38,
			"CPU %d: %llu packets, %llu bytes (want %d, %d)", c, (unsigned long long)v.packets,
			(unsigned long long)v.bytes, runs[c], runs[c] * 38);
	}
	REQUIRE(!xtap_cls_stats(env.cls, slot, &st), "stats");
	REQUIRE(st.packets == (uint64_t)(runs[0] + runs[1]) && st.last_ns, "sum %llu packets",
		(unsigned long long)st.packets);
	return 0;
}

/* Run one TCP packet from V4A to V4B port dport at XDP: its CD list. */
static int xdp_cd_list(unsigned dport, char *out, size_t outlen)
{
	struct pkt_spec s = { .family = 4, .proto = 6, .dport = dport };
	struct pkt_layout lay;
	struct run_out ro;
	struct xtap_meta *m;
	uint8_t f[256];
	size_t k = 0;
	int len;

	pkt_addr(s.src, V4A);
	pkt_addr(s.dst, V4B);
	len = pkt_build(&s, f, sizeof(f), &lay);
	if (tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &ro))
		return -1;
	m = (struct xtap_meta *)ro.meta;
	out[0] = 0;
	for (uint32_t i = 0; i < m->ncd && i < XTAP_PKT_MAX_CDS && k + 8 < outlen; i++)
		k += (size_t)snprintf(out + k, outlen - k, "%s%u", i ? "," : "", m->cd[i]);
	return 0;
}

/* The one exact entry of V4A as source holds want[0..n-1] in that order
 * and a copy of the first one's rule as the rules map holds it (xtap.h,
 * struct xtap_xentry), found as a program finds it. */
static int v4a_entry_is(const uint32_t *want, uint32_t n, const char *when)
{
	struct xtap_exact_key k = { .kind = XTAP_KIND(XTAP_SIDE_SRC, XTAP_DIR_IN), .family = XTAP_AF_INET };
	struct xtap_xentry x;
	struct xtap_rule r;

	pkt_addr(k.addr, V4A);
	REQUIRE(!tenv_exact_entry(&env, &k, &x), "%s: no entry", when);
	REQUIRE(x.n == n, "%s: %u slots, want %u", when, x.n, n);
	for (uint32_t i = 0; i < n; i++)
		REQUIRE(x.slot[i] == want[i], "%s: slot %u is %#x, want %#x", when, i, x.slot[i], want[i]);
	REQUIRE(!bpf_map_lookup_elem(env.maps.rules, &want[0], &r) && !memcmp(&r, &x.rule, sizeof(r)),
		"%s: the entry's rule is not its first slot's", when);
	return 0;
}

/* Criteria on one exact address deleted and added: the others keep their
 * order, an add goes last; a deleted one never matches again. Expectations
 * from the criteria (a packet matches the ones whose port it carries; CDs
 * in the order the criteria were added) and from xtap.h's contract. */
static int entry_first_deleted(void)
{
	struct crit_text ct[4] = { { .src = V4A, .dport = "80", .cds = "1" },
				   { .src = V4A, .dport = "443", .cds = "2" },
				   { .src = V4A, .dport = "80,53", .cds = "3" },
				   { .src = V4A, .dport = "443", .cds = "4" } };
	uint32_t slots[4];
	char got[64];

	TENV_NEED_XDP_META(&env);
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(!add_criteria(ct, 3, slots), "add");
	if (v4a_entry_is((uint32_t[]){ slots[0], slots[1], slots[2] }, 3, "three on one address"))
		return -1;
	REQUIRE(!xdp_cd_list(80, got, sizeof(got)) && !strcmp(got, "1,3"), "port 80: CDs %s", got);
	REQUIRE(!xdp_cd_list(443, got, sizeof(got)) && !strcmp(got, "2"), "port 443: CDs %s", got);
	REQUIRE(!xtap_cls_del(env.cls, slots[0]), "delete the first");
	if (v4a_entry_is((uint32_t[]){ slots[1], slots[2] }, 2, "first deleted"))
		return -1;
	REQUIRE(!xdp_cd_list(80, got, sizeof(got)) && !strcmp(got, "3"), "port 80 after delete: CDs %s", got);
	REQUIRE(!xdp_cd_list(443, got, sizeof(got)) && !strcmp(got, "2"), "port 443 after delete: CDs %s", got);
	REQUIRE(!add_criteria(&ct[3], 1, &slots[3]), "add a fourth");
	if (v4a_entry_is((uint32_t[]){ slots[1], slots[2], slots[3] }, 3, "a fourth, last"))
		return -1;
	REQUIRE(!xdp_cd_list(443, got, sizeof(got)) && !strcmp(got, "2,4"), "port 443, fourth added: CDs %s", got);
	REQUIRE(!xtap_cls_del(env.cls, slots[2]), "delete the middle one");
	if (v4a_entry_is((uint32_t[]){ slots[1], slots[3] }, 2, "middle deleted"))
		return -1;
	REQUIRE(!xdp_cd_list(53, got, sizeof(got)) && !strcmp(got, ""), "port 53 after its delete: CDs %s", got);
	REQUIRE(!xtap_cls_del(env.cls, slots[3]) && !xtap_cls_del(env.cls, slots[1]), "delete the rest");
	REQUIRE(tenv_exact_keys(&env) == 0, "entry left");
	REQUIRE(!xdp_cd_list(443, got, sizeof(got)) && !strcmp(got, ""), "port 443 after all deleted: CDs %s", got);
	return 0;
}

/* The exact pre-filter holds exactly the bits of the exact index's keys. */
static int xfilter_consistent(const char *when)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info), nbits;
	struct xtap_exact_key *keys;
	uint64_t *want, got;
	int bad = 0, n;

	REQUIRE(!bpf_obj_get_info_by_fd(env.maps.xfilter, &info, &len), "filter info");
	nbits = info.max_entries * 64;
	want = calloc(info.max_entries, sizeof(*want));
	REQUIRE(want && (n = tenv_exact_list(&env, &keys)) >= 0, "memory");
	for (int i = 0; i < n; i++)
		if ((keys[i].kind & 3) != XTAP_SIDE_WILD) {
			uint32_t b = xtap_xfilter_hash(&keys[i]) & (nbits - 1);

			want[b / 64] |= 1ull << (b % 64);
		}
	free(keys);
	for (uint32_t w = 0; w < info.max_entries && !bad; w++)
		bad = bpf_map_lookup_elem(env.maps.xfilter, &w, &got) || got != want[w];
	free(want);
	REQUIRE(!bad, "%s: the pre-filter is not the exact index's bits", when);
	return 0;
}

/* Exact pre-filter: a bit per key while the key is indexed, kept while
 * another key sharing it stays, cleared with the last; packets still match
 * through a shared bit and miss through a bit set by another address. */
static int exact_prefilter(void)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info), slots[64], sa, sb, zero_words = 0, nbits;
	struct xtap_exact_key ka = { .kind = XTAP_KIND(XTAP_SIDE_SRC, XTAP_DIR_IN), .family = XTAP_AF_INET }, kb;
	struct crit_text ct = { 0 };
	char a[64], b[INET_ADDRSTRLEN];
	struct pkt_spec s = { .family = 4, .proto = 6, .sport = 1, .dport = 2 };
	struct run_out out;
	uint8_t f[256];
	uint64_t w;
	int n;

	TENV_NEED_XDP_META(&env);
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(!bpf_obj_get_info_by_fd(env.maps.xfilter, &info, &len), "filter info");
	nbits = info.max_entries * 64;
	/* 64 exact criteria, sources and destinations, both families */
	for (int i = 0; i < 64; i++) {
		snprintf(a, sizeof(a), i % 2 ? "2001:db8:%x::%x" : "10.%d.%d.7", i * 37 % 251, i * 11 % 253);
		ct = (struct crit_text){ .src = i % 4 < 2 ? a : NULL, .dst = i % 4 < 2 ? NULL : a };
		REQUIRE(!add_criteria(&ct, 1, &slots[i]), "add %d", i);
	}
	if (xfilter_consistent("after 64 adds"))
		return -1;
	for (int i = 0; i < 64; i += 2)
		REQUIRE(!xtap_cls_del(env.cls, slots[i]), "delete %d", i);
	if (xfilter_consistent("after 32 deletes"))
		return -1;
	for (int i = 1; i < 64; i += 2)
		REQUIRE(!xtap_cls_del(env.cls, slots[i]), "delete %d", i);
	for (uint32_t i = 0; i < info.max_entries; i++)
		zero_words += !bpf_map_lookup_elem(env.maps.xfilter, &i, &w) && !w;
	REQUIRE(zero_words == info.max_entries, "bits left after every exact criterion went");

	/* two sources sharing one bit */
	pkt_addr(ka.addr, V4A);
	kb = ka;
	for (n = 0; n < 1 << 26; n++) {
		uint32_t v = htonl(0x0a000000u + (uint32_t)n);

		memcpy(kb.addr, &v, 4);
		if ((xtap_xfilter_hash(&kb) & (nbits - 1)) == (xtap_xfilter_hash(&ka) & (nbits - 1)))
			break;
	}
	REQUIRE(n < 1 << 26, "no address shares the bit of %s", V4A);
	inet_ntop(AF_INET, kb.addr, b, sizeof(b));
	ct = (struct crit_text){ .src = V4A };
	REQUIRE(!add_criteria(&ct, 1, &sa), "add a");
	ct = (struct crit_text){ .src = b };
	REQUIRE(!add_criteria(&ct, 1, &sb), "add b");
	REQUIRE(!xtap_cls_del(env.cls, sb), "delete b");
	if (xfilter_consistent("one of two sharing a bit deleted"))
		return -1;
	pkt_addr(s.src, V4A);
	pkt_addr(s.dst, V4B);
	len = (uint32_t)pkt_build(&s, f, sizeof(f), NULL);
	REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, (int)len, &out), "run");
	REQUIRE(((struct xtap_meta *)out.meta)->ncd == 0 && out.has_meta, "metadata");
	{
		struct xtap_crit_stats st;

		REQUIRE(!xtap_cls_stats(env.cls, sa, &st) && st.packets == 1, "a missed through the shared bit");
	}
	/* b's packet passes the filter (a's bit) and misses in the index */
	memcpy(s.src, kb.addr, 4);
	len = (uint32_t)pkt_build(&s, f, sizeof(f), NULL);
	{
		uint64_t g0[XTAP_G_COUNT], g1[XTAP_G_COUNT];

		REQUIRE(!xtap_cls_counters(env.cls, g0), "counters");
		REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, (int)len, &out), "run");
		REQUIRE(!xtap_cls_counters(env.cls, g1), "counters");
		REQUIRE(g1[XTAP_G_MATCHED] == g0[XTAP_G_MATCHED], "a deleted criterion matched");
	}
	REQUIRE(!xtap_cls_del(env.cls, sa), "delete a");
	if (xfilter_consistent("both deleted"))
		return -1;
	return 0;
}

/* More criteria match than the result holds: all counted, bound counted. */
static int match_bound(void)
{
	struct crit_text ct[XTAP_MAX_CAND + 2];
	uint32_t slots[XTAP_MAX_CAND + 2];
	uint64_t g0[XTAP_G_COUNT], g1[XTAP_G_COUNT];
	struct pkt_spec s = { .family = 4, .proto = 6, .dport = 80 };
	struct xtap_crit_stats st;
	struct pkt_layout lay;
	struct run_out out;
	char cds[XTAP_MAX_CAND + 2][8];
	uint8_t f[256];
	int n = XTAP_MAX_CAND + 2, len;

	TENV_NEED_XDP_META(&env);
	memset(ct, 0, sizeof(ct));
	for (int i = 0; i < n; i++) {
		snprintf(cds[i], sizeof(cds[i]), "%d", 100 + i);
		ct[i].cds = cds[i];
		if (i < XTAP_MAX_CAND)
			ct[i].src = V4A;
		else
			ct[i].dport = "80";
	}
	pkt_addr(s.src, V4A);
	pkt_addr(s.dst, V4B);
	len = pkt_build(&s, f, sizeof(f), &lay);
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(!add_criteria(ct, n, slots), "add");
	REQUIRE(!xtap_cls_counters(env.cls, g0), "counters");
	REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out), "run");
	REQUIRE(!xtap_cls_counters(env.cls, g1), "counters");
	for (int i = 0; i < n; i++) {
		REQUIRE(!xtap_cls_stats(env.cls, slots[i], &st), "stats");
		REQUIRE(st.packets == 1, "criterion %d not counted", i);
	}
	REQUIRE(g1[XTAP_G_MATCH_BOUND] - g0[XTAP_G_MATCH_BOUND] == (uint64_t)(n - XTAP_MAX_MATCH),
		"match bound counter");
	REQUIRE(g1[XTAP_G_CD_BOUND] - g0[XTAP_G_CD_BOUND] >= 1, "cd bound counter");
	REQUIRE(((struct xtap_meta *)out.meta)->ncd == XTAP_PKT_MAX_CDS, "CDs recorded");
	return 0;
}

/* Updates under traffic: a criterion active throughout is never missed
 * while others on the same address, prefix chain and wildcard set churn. */
struct churn_arg {
	volatile int stop;
	int err;
	long updates;
};

static void *churn(void *p)
{
	struct churn_arg *a = p;
	struct crit_text ct[4] = { { .src = V4A, .dport = "9" },
				   { .src = "192.0.0.0/8" },
				   { .src = "192.0.2.0/30", .dport = "9" },
				   { .dport = "9" } };
	struct crit_store cs;
	uint32_t slot[4];

	while (!a->stop) {
		for (int i = 0; i < 4; i++) {
			crit_from_text(&ct[i], env.ifindex, &cs);
			if ((a->err = xtap_cls_add(env.cls, &cs.c, &slot[i])))
				return NULL;
		}
		for (int i = 0; i < 4; i++)
			if ((a->err = xtap_cls_del(env.cls, slot[i])))
				return NULL;
		a->updates += 8;
	}
	return NULL;
}

static int under_traffic(void)
{
	struct crit_text keep[3] = { { .src = V4A }, { .src = "192.0.2.0/24" }, { .dport = "80" } };
	struct pkt_spec s = { .family = 4, .proto = 6, .dport = 80 };
	struct churn_arg a = { 0 };
	struct xtap_crit_stats st;
	struct pkt_layout lay;
	struct run_out out;
	uint32_t slots[3];
	uint8_t f[256];
	pthread_t th;
	int len, runs = 0;

	pkt_addr(s.src, V4A);
	pkt_addr(s.dst, V4B);
	len = pkt_build(&s, f, sizeof(f), &lay);
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(!add_criteria(keep, 3, slots), "add");
	REQUIRE(!pthread_create(&th, NULL, churn, &a), "thread");
	for (; runs < 20000 && !a.err; runs++)
		REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out), "run");
	a.stop = 1;
	pthread_join(th, NULL);
	REQUIRE(!a.err, "churn: %s", strerror(-a.err));
	for (int i = 0; i < 3; i++) {
		REQUIRE(!xtap_cls_stats(env.cls, slots[i], &st), "stats");
		REQUIRE(st.packets == (uint64_t)runs, "criterion %d matched %llu of %d packets during %ld updates", i,
			(unsigned long long)st.packets, runs, a.updates);
	}
	printf("    %d packets during %ld updates, none missed\n", runs, a.updates);
	REQUIRE(a.updates > 0, "no update happened during the run");
	return 0;
}

/* Every criterion of slots[0 .. nsrc) counted one packet. */
static int all_counted(uint32_t (*slots)[XTAP_CAND_PER_SOURCE], int nsrc, const char *what)
{
	struct xtap_crit_stats st;

	for (int src = 0; src < nsrc; src++)
		for (int i = 0; i < XTAP_CAND_PER_SOURCE; i++) {
			REQUIRE(!xtap_cls_stats(env.cls, slots[src][i], &st), "stats");
			REQUIRE(st.packets == 1, "%s %d criterion %d counted %llu", what, src, i,
				(unsigned long long)st.packets);
		}
	return 0;
}

/* Candidate capacity per control source (docs/classifier.md "Prefixes"):
 * every source fills its share of the list of one address (own and covering
 * prefixes, nested /8, /16, /24) and the others still add; a packet there
 * meets all 64 x 16 criteria, each counted once. */
static int source_shares(void)
{
	static const char *pfx[3] = { "192.0.0.0/8", "192.0.0.0/16", "192.0.2.0/24" };
	static uint32_t slots[XTAP_MAX_SOURCES][XTAP_CAND_PER_SOURCE];
	struct pkt_spec s = { .family = 4, .proto = 6, .dport = 80 };
	struct xtap_cls_pusage pu;
	struct pkt_layout lay;
	struct crit_store cs;
	struct run_out out;
	uint32_t extra;
	uint8_t f[256];
	int len;

	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	for (int src = 0; src < XTAP_MAX_SOURCES; src++) {
		for (int i = 0; i < XTAP_CAND_PER_SOURCE; i++) {
			REQUIRE(!crit_from_text(&(struct crit_text){ .src = pfx[(src + i) % 3] }, env.ifindex, &cs),
				"text");
			cs.c.source = (uint8_t)src;
			REQUIRE(!xtap_cls_add(env.cls, &cs.c, &slots[src][i]),
				"source %d: criterion %d of its share refused", src, i);
		}
		/* that source's share is full, above and below: refused */
		for (int k = 0; k < 3; k++) {
			REQUIRE(!crit_from_text(&(struct crit_text){ .src = pfx[k] }, env.ifindex, &cs), "text");
			cs.c.source = (uint8_t)src;
			REQUIRE(xtap_cls_add(env.cls, &cs.c, &extra) == -ENOSPC, "source %d: past its share on %s", src,
				pfx[k]);
		}
		/* a longer prefix under them all is refused too (it would meet 17) */
		REQUIRE(!crit_from_text(&(struct crit_text){ .src = "192.0.2.0/28" }, env.ifindex, &cs), "text");
		cs.c.source = (uint8_t)src;
		REQUIRE(xtap_cls_add(env.cls, &cs.c, &extra) == -ENOSPC, "source %d: past its share below", src);
	}
	REQUIRE(xtap_cls_count(env.cls) == XTAP_MAX_SOURCES * XTAP_CAND_PER_SOURCE, "count %u",
		xtap_cls_count(env.cls));
	xtap_cls_prefix_usage(env.cls, &pu);
	REQUIRE(pu.entries == 3, "prefix entries %u", pu.entries);
	REQUIRE(crit_from_text(&(struct crit_text){ .src = V4A }, env.ifindex, &cs) == 0, "text");
	cs.c.source = XTAP_MAX_SOURCES;
	REQUIRE(xtap_cls_add(env.cls, &cs.c, &extra) == -EINVAL, "source out of range accepted");

	pkt_addr(s.src, V4A);
	pkt_addr(s.dst, V4B);
	len = pkt_build(&s, f, sizeof(f), &lay);
	REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out), "run");
	if (all_counted(slots, XTAP_MAX_SOURCES, "source"))
		return -1;
	/* a source that left makes room for itself only */
	REQUIRE(!xtap_cls_del(env.cls, slots[5][0]), "delete");
	REQUIRE(!crit_from_text(&(struct crit_text){ .src = "192.0.2.0/28" }, env.ifindex, &cs), "text");
	cs.c.source = 6;
	REQUIRE(xtap_cls_add(env.cls, &cs.c, &extra) == -ENOSPC, "source 6 took source 5's room");
	cs.c.source = 5;
	REQUIRE(!xtap_cls_add(env.cls, &cs.c, &extra), "source 5 cannot use its freed room");
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(tenv_prefix_words(&env) == 0, "prefix index not empty");
	return 0;
}

/* Prefix updates at 10,000 per second (issue 15 item 3) while packets run:
 * random prefixes of both families are added and deleted over, under and
 * between stable nested ones, paced; every packet aimed inside the stable
 * ones must be counted by each of them, none missed, none twice. */
#define PUPD_RATE 10000
#define PUPD_TOTAL 30000 /* updates in the test: 3 s at the rate */
#define PUPD_WINDOW 512 /* prefixes the updater keeps installed */

struct pchurn_arg {
	volatile int stop;
	int err;
	long updates, syncs;
	double secs;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void *pchurn(void *p)
{
	struct pchurn_arg *a = p;
	static uint32_t win[PUPD_WINDOW];
	uint64_t st = 0x2545f4914f6cdd1dull;
	struct crit_store cs;
	long added = 0, deleted = 0;
	double t0 = now_s();
	int err;

	while (!a->stop && a->updates < PUPD_TOTAL) {
		int v6, plen;

		/* paced: no faster than PUPD_RATE on average from the start */
		if (a->updates > (now_s() - t0) * PUPD_RATE) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
			continue;
		}
		if (added - deleted == PUPD_WINDOW) {
			if ((a->err = xtap_cls_del(env.cls, win[deleted % PUPD_WINDOW])))
				break;
			deleted++;
			a->updates++;
			if (deleted % 1000 == 0) {
				if ((a->err = xtap_cls_sync(env.cls)))
					break;
				a->syncs++;
			}
			continue;
		}
		st ^= st << 13;
		st ^= st >> 7;
		st ^= st << 17;
		v6 = (int)(st & 1);
		memset(&cs, 0, sizeof(cs));
		cs.c.family = v6 ? XTAP_AF_INET6 : XTAP_AF_INET;
		cs.c.proto.any = cs.c.sport.any = cs.c.dport.any = cs.c.itype.any = cs.c.icode.any = 1;
		cs.c.ncd = 1;
		cs.c.source = (uint8_t)(st >> 8 & 3);
		if (v6) { /* 2001:db8::/32, lengths 20 to 127, near 2001:db8:1:2:: */
			static const uint8_t base[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2 };

			memcpy(cs.c.src, base, 16);
			for (int i = 4; i < 16; i++)
				if ((st >> (16 + i)) & 1)
					cs.c.src[i] ^= (uint8_t)(st >> (i * 3));
			plen = 20 + (int)(st >> 40) % 108;
		} else { /* 10.0.0.0/8, lengths 8 to 31, near 10.1.2.128 */
			cs.c.src[0] = 10;
			cs.c.src[1] = (st >> 20) & 1 ? 1 : (uint8_t)(st >> 24);
			cs.c.src[2] = (st >> 21) & 1 ? 2 : (uint8_t)(st >> 32);
			cs.c.src[3] = (uint8_t)(st >> 48);
			plen = 8 + (int)(st >> 40) % 24;
		}
		cs.c.src_plen = (uint8_t)plen;
		err = xtap_cls_add(env.cls, &cs.c, &win[added % PUPD_WINDOW]);
		if (err == -ENOSPC) /* that source's share under it is full: another draw */
			continue;
		if ((a->err = err)) /* the main thread stops at an error: set only then */
			break;
		added++;
		a->updates++;
	}
	a->secs = now_s() - t0;
	return NULL;
}

static int prefix_updates(void)
{
	struct crit_text keep[5] = { { .src = "10.1.0.0/16" },
				     { .src = "10.1.2.0/24" },
				     { .src = "10.1.2.128/25" },
				     { .src = "2001:db8:1::/48" },
				     { .src = "2001:db8:1:2::/64" } };
	struct pchurn_arg a = { 0 };
	struct xtap_crit_stats st;
	uint64_t sent[2] = { 0, 0 }, rnd = 88172645463325252ull;
	struct run_out out;
	uint32_t slots[5];
	pthread_t th;

	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(!add_criteria(keep, 5, slots), "add");
	REQUIRE(!pthread_create(&th, NULL, pchurn, &a), "thread");
	while (!a.err && a.updates < PUPD_TOTAL) {
		struct pkt_spec s = { .proto = 6, .dport = 80 };
		struct pkt_layout lay;
		uint8_t f[256];
		int v6, len;

		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		v6 = (int)(rnd & 1);
		s.family = v6 ? 6 : 4;
		/* a random address inside the longest stable prefix */
		pkt_addr(s.src, v6 ? "2001:db8:1:2::" : "10.1.2.128");
		pkt_addr(s.dst, v6 ? "2001:db8::99" : V4B);
		if (v6)
			memcpy(s.src + 8, &rnd, 8);
		else
			s.src[3] = (uint8_t)(128 | (rnd >> 8));
		len = pkt_build(&s, f, sizeof(f), &lay);
		REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out), "run");
		sent[v6]++;
	}
	a.stop = 1;
	pthread_join(th, NULL);
	REQUIRE(!a.err, "updater: %s", strerror(-a.err));
	for (int i = 0; i < 5; i++) {
		REQUIRE(!xtap_cls_stats(env.cls, slots[i], &st), "stats");
		REQUIRE(st.packets == sent[i >= 3], "stable prefix %s counted %llu of %llu packets during %ld updates",
			keep[i].src, (unsigned long long)st.packets, (unsigned long long)sent[i >= 3], a.updates);
	}
	printf("    %llu packets during %ld prefix updates in %.2f s (%.0f/s, paced at %d/s), %ld grace periods, "
	       "none missed\n",
	       (unsigned long long)(sent[0] + sent[1]), a.updates, a.secs, a.updates / a.secs, PUPD_RATE, a.syncs);
	REQUIRE(a.updates == PUPD_TOTAL, "updater stopped early");
	/* the rate is this machine's, shared: it must come near the pace, not
	 * meet it exactly (the figure is printed above) */
	REQUIRE(a.updates / a.secs > PUPD_RATE / 2, "prefix updates below half the 10,000/s pace");
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(tenv_prefix_words(&env) == 0, "prefix index not empty after the updates");
	return 0;
}

/* The loader maps the prefix arrays where it uses them: mmap of a BPF
 * array maps (and makes resident) every page of its range at once, so a
 * mapping of the whole preallocated arrays made xtapd 377 MB with no
 * criterion (tests/adversarial/worker_test.sh). A second instance over the
 * cleared maps: its mappings hold the roots, then one window (1 MiB) of
 * each array for 1,000 prefixes, and go with it. */
static int prefix_maps_resident(void)
{
	const long roots_kb = XTAP_PT_ROOT_NODES * sizeof(struct xtap_pnode) / 1024, win_kb = 1024;
	const int fd[3] = { env.maps.pnodes, env.maps.pleaf, env.maps.pchunk };
	static uint32_t slots[1000];
	struct pkt_spec s = { .family = 4, .proto = 6, .dport = 80 };
	struct xtap_crit_stats st;
	struct pkt_layout lay;
	struct crit_store cs;
	struct run_out out;
	struct xtap_cls *cls2;
	long r0, r1, r2, arrays_kb = 0;
	char pfx[32];
	uint8_t f[256];
	int len, ok = -1, nadded = 0;

	for (int i = 0; i < 3; i++) {
		struct bpf_map_info info = { 0 };
		uint32_t l = sizeof(info);

		REQUIRE(!bpf_obj_get_info_by_fd(fd[i], &info, &l), "map info");
		arrays_kb += (long)info.value_size * info.max_entries / 1024;
	}
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	r0 = tenv_bpfmap_rss_kb();
	cls2 = xtap_cls_new(&env.maps, 1u << 16, 64);
	REQUIRE(cls2, "second instance");
	r1 = tenv_bpfmap_rss_kb();
	if (r1 - r0 != roots_kb) {
		printf("    a new instance maps %ld KiB of the BPF maps, want the prefix roots' %ld (the arrays: "
		       "%ld)\n",
		       r1 - r0, roots_kb, arrays_kb);
		goto out;
	}
	/* 1,000 /24s in four /16s: 4 nodes, 1,000 chunks, a few compressed leaves on the way */
	for (int k = 0; k < 1000; k++) {
		snprintf(pfx, sizeof(pfx), "10.%d.%d.0/24", k / 250, k % 250);
		if (crit_from_text(&(struct crit_text){ .src = pfx }, env.ifindex, &cs) ||
		    xtap_cls_add(cls2, &cs.c, &slots[k])) {
			printf("    criterion %d (%s) refused\n", k, pfx);
			goto out;
		}
		nadded++;
	}
	r2 = tenv_bpfmap_rss_kb();
	if (r2 - r0 > roots_kb + 3 * win_kb || arrays_kb <= roots_kb + 3 * win_kb) {
		printf("    with 1,000 prefixes the instance maps %ld KiB, want at most %ld (the arrays: %ld)\n",
		       r2 - r0, roots_kb + 3 * win_kb, arrays_kb);
		goto out;
	}
	/* what it wrote there is what the programs read */
	pkt_addr(s.src, "10.3.249.7");
	pkt_addr(s.dst, V4B);
	len = pkt_build(&s, f, sizeof(f), &lay);
	if (tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out) || xtap_cls_stats(cls2, slots[999], &st) ||
	    st.packets != 1) {
		printf("    the last prefix did not count its packet\n");
		goto out;
	}
	ok = 0;
out:
	for (int k = 0; k < nadded; k++)
		xtap_cls_del(cls2, slots[k]);
	xtap_cls_free(cls2);
	REQUIRE(tenv_bpfmap_rss_kb() == r0, "the instance's mappings outlived it: %ld KiB, %ld before",
		tenv_bpfmap_rss_kb(), r0);
	REQUIRE(tenv_prefix_words(&env) == 0, "prefix index not empty");
	return ok;
}

/* ---- the exact index's buckets (include/xtap.h "Exact index") ---- */

/* A small datapath of its own: 32 criteria, 16 buckets of 7 pairs. */
static struct tenv xsm;

static uint32_t xb_hash(uint32_t a)
{
	struct xtap_exact_key k = { .kind = XTAP_KIND(XTAP_SIDE_SRC, XTAP_DIR_IN), .family = XTAP_AF_INET };

	a = htonl(0x0a090000u | a); /* 10.9.0.0 + a, as xb_text writes it */
	memcpy(k.addr, &a, 4);
	return xtap_xfilter_hash(&k);
}

static void xb_text(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "10.9.%u.%u", (a >> 8) & 255, a & 255);
}

/* Does a packet from a (10.9.0.0 + a) get criterion-count CDs? -1 when the
 * run fails. */
static int xb_matches(uint32_t a)
{
	struct pkt_spec s = { .family = 4, .proto = 6, .dport = 80 };
	struct pkt_layout lay;
	struct run_out out;
	uint8_t f[256];
	char src[32];
	int len;

	xb_text(a, src, sizeof(src));
	pkt_addr(s.src, src);
	pkt_addr(s.dst, V4B);
	len = pkt_build(&s, f, sizeof(f), &lay);
	if (len < 0 || tenv_run(&xsm, HOOK_XDP, xsm.ifindex[0], f, len, &out) || !out.has_meta)
		return -1;
	return ((struct xtap_meta *)out.meta)->ncd;
}

static int xb_add(uint32_t a, uint32_t *slot)
{
	struct crit_store cs;
	char src[32];

	xb_text(a, src, sizeof(src));
	if (crit_from_text(&(struct crit_text){ .src = src, .cds = "1" }, xsm.ifindex, &cs))
		return -EINVAL;
	return xtap_cls_add(xsm.cls, &cs.c, slot);
}

/* Each address of a[0..n) is matched (want 1) or not (0). */
static int xb_all(const uint32_t *a, int n, int want, const char *when)
{
	for (int i = 0; i < n; i++) {
		int m = xb_matches(a[i]);

		REQUIRE(m == want, "%s: 10.9.%u.%u got %d CDs, want %d", when, (a[i] >> 8) & 255, a[i] & 255, m, want);
	}
	return 0;
}

static int xb_bucket(uint32_t b, struct xtap_xbucket *xb)
{
	return bpf_map_lookup_elem(xsm.maps.xbucket, &b, xb) ? -errno : 0;
}

static int xb_used(const struct xtap_xbucket *xb)
{
	int n = 0;

	for (int i = 0; i < XTAP_XB_PAIRS; i++)
		n += !!xb->e[i];
	return n;
}

/* Each key a[i] has one pair in buckets b0, b1 naming it as the layout
 * says (docs/classifier.md "Exact index": entry in bits 0-20, the slot its
 * add returned in 21-41, the hash's top 22 bits in 42-63). */
static int xb_named(const uint32_t *a, const uint32_t *slot, int n, uint32_t b0, uint32_t b1, const char *when)
{
	struct xtap_xbucket bk[2];

	REQUIRE(!xb_bucket(b0, &bk[0]) && !xb_bucket(b1, &bk[1]), "%s: buckets unreadable", when);
	for (int i = 0; i < n; i++) {
		uint32_t h = xb_hash(a[i]), want = htonl(0x0a090000u | a[i]);
		int found = 0;

		for (int t = 0; t < 2; t++)
			for (int j = 0; j < XTAP_XB_PAIRS; j++) {
				uint64_t v = bk[t].e[j];
				uint32_t id = (uint32_t)(v & 0x1fffff);
				struct xtap_xentry x;

				if (!v || bpf_map_lookup_elem(xsm.maps.xentry, &id, &x) || memcmp(x.key.addr, &want, 4))
					continue;
				found++;
				REQUIRE((uint32_t)(v >> 21 & 0x1fffff) == slot[i] && (uint32_t)(v >> 42) == h >> 10,
					"%s: 10.9.%u.%u's pair names slot %u, tag %#x; want %u, %#x", when,
					(a[i] >> 8) & 255, a[i] & 255, (uint32_t)(v >> 21 & 0x1fffff),
					(uint32_t)(v >> 42), slot[i], h >> 10);
			}
		REQUIRE(found == 1, "%s: 10.9.%u.%u has %d pairs, want 1", when, (a[i] >> 8) & 255, a[i] & 255, found);
	}
	return 0;
}

/* Keys whose first bucket is full go to their second (the first's spill
 * counts them); when both are full and no key can move out, the add is
 * refused with nothing changed; a delete takes the spill back; a new
 * instance over the arrays (a restart) finds every key, and repairs what a
 * crash in the middle of a move leaves. Keys chosen by the header's hash:
 * l1 all have buckets (B, S), l2 (S, B). Expectations from the contract
 * and the criteria: 7 pairs a bucket, each criterion's packet matches. */
static int exact_buckets(void)
{
	const uint32_t mask = XTAP_XBUCKETS(32) - 1;
	uint32_t l1[8], l2[7], n1 = 0, n2 = 0, B = 0, S = 0, slot1[8], slot2[7], s;
	struct xtap_cls_xusage u;
	struct xtap_xbucket xb, xs;
	struct xtap_cls *cls2;
	int err, ok = -1;

	TENV_NEED_XDP_META(&env);
	REQUIRE(mask == 15, "32 criteria: %u buckets", mask + 1);
	for (uint32_t a = 0; a < 65536 && !S; a++) /* the first key's pair of buckets */
		if (xtap_xb_first(xb_hash(a), mask) == 0)
			S = xtap_xb_second(xb_hash(a), mask);
	for (uint32_t a = 0; a < 65536 && (n1 < 8 || n2 < 7); a++) {
		uint32_t h = xb_hash(a), f = xtap_xb_first(h, mask), sc = xtap_xb_second(h, mask);

		if (f == B && sc == S && n1 < 8)
			l1[n1++] = a;
		else if (f == S && sc == B && n2 < 7)
			l2[n2++] = a;
	}
	REQUIRE(S && n1 == 8 && n2 == 7, "no keys for buckets %u and %u", B, S);
	REQUIRE(!tenv_open(&xsm, 32, 64), "a datapath of 32 criteria");
	for (uint32_t i = 0; i < 7; i++)
		if ((err = xb_add(l1[i], &slot1[i])) || (err = xb_add(l2[i], &slot2[i]))) {
			printf("    key %u refused: %s\n", i, strerror(-err));
			goto out;
		}
	if (xb_all(l1, 7, 1, "both buckets full") || xb_all(l2, 7, 1, "both buckets full") || xb_bucket(B, &xb) ||
	    xb_bucket(S, &xs))
		goto out;
	if (xb_used(&xb) != 7 || xb_used(&xs) != 7 || xb.spill || xs.spill) {
		printf("    buckets %u and %u: %d and %d pairs, spills %u and %u; want 7, 7, 0, 0\n", B, S,
		       xb_used(&xb), xb_used(&xs), xb.spill, xs.spill);
		goto out;
	}
	/* both full, no key can move: refused, nothing changed */
	if ((err = xb_add(l1[7], &s)) != -ENOSPC) {
		printf("    an eighth key on two full buckets: %s, want ENOSPC\n", strerror(-err));
		goto out;
	}
	xtap_cls_exact_usage(xsm.cls, &u);
	if (xtap_cls_count(xsm.cls) != 14 || u.keys != 14 || u.refused != 1 || u.spilled) {
		printf("    after the refusal: %u criteria, %u keys, %u refused, %u spilled; want 14, 14, 1, 0\n",
		       xtap_cls_count(xsm.cls), u.keys, u.refused, u.spilled);
		goto out;
	}
	if (xb_all(l1, 7, 1, "after the refusal") || xb_all(l2, 7, 1, "after the refusal") ||
	    xb_all(&l1[7], 1, 0, "the refused key") || tenv_exact_keys(&xsm) != 14)
		goto out;
	/* room in S: a key of B moves there, the new one takes its pair */
	if ((err = xtap_cls_del(xsm.cls, slot2[6])) || (err = xb_add(l1[7], &slot1[7]))) {
		printf("    delete, then the eighth key: %s\n", strerror(-err));
		goto out;
	}
	xtap_cls_exact_usage(xsm.cls, &u);
	if (xb_bucket(B, &xb) || xb_bucket(S, &xs) || xb.spill != 1 || xb_used(&xs) != 7 || u.spilled != 1) {
		printf("    after a move: spill %u, %d pairs in %u, %u spilled; want 1, 7, 1\n", xb.spill, xb_used(&xs),
		       S, u.spilled);
		goto out;
	}
	if (xb_all(l1, 8, 1, "a key moved to its second bucket") || xb_all(l2, 6, 1, "after a move") ||
	    xb_all(&l2[6], 1, 0, "deleted") || xb_named(l1, slot1, 8, B, S, "after a move") ||
	    xb_named(l2, slot2, 6, B, S, "after a move"))
		goto out;
	/* a restart finds all 14 and the spill */
	REQUIRE(!xtap_cls_sync(xsm.cls), "sync");
	if (!(cls2 = xtap_cls_new(&xsm.maps, 32, 64)))
		goto out;
	xtap_cls_exact_usage(cls2, &u);
	xtap_cls_free(cls2);
	if (u.keys != 14 || u.spilled != 1) {
		printf("    a restart finds %u keys, %u spilled; want 14, 1\n", u.keys, u.spilled);
		goto out;
	}
	/* the moved key deleted: B's spill back to 0 */
	for (uint32_t i = 0; i < 8; i++) {
		uint32_t h = xb_hash(l1[i]);
		int inB = 0;

		for (int j = 0; j < XTAP_XB_PAIRS; j++)
			inB |= xb.e[j] && (uint32_t)(xb.e[j] >> 42) == h >> 10; /* the tag: docs/classifier.md */
		if (inB)
			continue;
		if ((err = xtap_cls_del(xsm.cls, slot1[i]))) {
			printf("    delete of the moved key: %s\n", strerror(-err));
			goto out;
		}
		l1[i] = l1[7];
		slot1[i] = slot1[7];
		break;
	}
	if (xb_bucket(B, &xb) || xb.spill || xb_all(l1, 7, 1, "the moved key deleted"))
		goto out;
	/* a crash in a move: a key of B's pair stored in S too, not counted,
	 * and B's spill left over; a restart keeps one, counts it right */
	REQUIRE(!xtap_cls_sync(xsm.cls), "sync");
	if (xb_bucket(S, &xs))
		goto out;
	for (int j = 0; j < XTAP_XB_PAIRS; j++)
		if (!xs.e[j]) {
			xs.e[j] = xb.e[0];
			break;
		}
	xb.spill = 3;
	if (bpf_map_update_elem(xsm.maps.xbucket, &S, &xs, BPF_ANY) ||
	    bpf_map_update_elem(xsm.maps.xbucket, &B, &xb, BPF_ANY))
		goto out;
	if (!(cls2 = xtap_cls_new(&xsm.maps, 32, 64)))
		goto out;
	xtap_cls_exact_usage(cls2, &u);
	xtap_cls_free(cls2);
	if (xb_bucket(B, &xb) || xb_bucket(S, &xs) || u.keys != 13 || xb.spill != u.spilled ||
	    xb_used(&xb) + xb_used(&xs) != 13 || tenv_exact_keys(&xsm) != 13) {
		printf("    after a crash in a move: %u keys, spill %u, %u spilled, %d + %d pairs; want 13 keys, "
		       "spill = spilled, 13 pairs\n",
		       u.keys, xb.spill, u.spilled, xb_used(&xb), xb_used(&xs));
		goto out;
	}
	if (xb_all(l1, 7, 1, "after a crash in a move") || xb_all(l2, 6, 1, "after a crash in a move") ||
	    xb_named(l1, slot1, 7, B, S, "after a crash in a move") ||
	    xb_named(l2, slot2, 6, B, S, "after a crash in a move"))
		goto out;
	/* a pair's slot and tag bits damaged (no loader writes that): a
	 * restart rewrites them from the entry */
	REQUIRE(!xtap_cls_sync(xsm.cls), "sync");
	if (xb_bucket(B, &xb))
		goto out;
	for (int j = 0; j < XTAP_XB_PAIRS; j++)
		if (xb.e[j]) {
			xb.e[j] ^= 0x5ull << 21 | 0x3ull << 50;
			break;
		}
	if (bpf_map_update_elem(xsm.maps.xbucket, &B, &xb, BPF_ANY) || !(cls2 = xtap_cls_new(&xsm.maps, 32, 64)))
		goto out;
	xtap_cls_exact_usage(cls2, &u);
	xtap_cls_free(cls2);
	if (u.keys != 13) {
		printf("    after a damaged pair: %u keys, want 13\n", u.keys);
		goto out;
	}
	if (xb_named(l1, slot1, 7, B, S, "after a damaged pair") ||
	    xb_named(l2, slot2, 6, B, S, "after a damaged pair") || xb_all(l1, 7, 1, "after a damaged pair") ||
	    xb_all(l2, 6, 1, "after a damaged pair"))
		goto out;
	ok = 0;
out:
	tenv_close(&xsm);
	return ok;
}

/* Each control source has its share of an exact address's list and of the
 * wildcard set, as of a prefix's (docs/classifier.md "Capacity per entry
 * and per source"): 64 sources x 16 criteria on one address, each 17th
 * refused for its source only, one packet counting all 1,024; the same for
 * two sources on the IPv4 wildcard set; deletes in the middle keep the
 * others; a restart finds the chains. */
static int exact_source_shares(void)
{
	static uint32_t slots[XTAP_MAX_SOURCES][XTAP_CAND_PER_SOURCE], wild[2][XTAP_CAND_PER_SOURCE];
	struct pkt_spec s = { .family = 4, .proto = 6, .dport = 80 };
	struct xtap_crit_stats st;
	struct xtap_cls_xusage u;
	struct pkt_layout lay;
	struct crit_store cs;
	struct run_out out;
	struct xtap_cls *cls2;
	uint32_t extra;
	uint8_t f[256];
	int len;

	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	for (int src = 0; src < XTAP_MAX_SOURCES; src++) {
		for (int i = 0; i < XTAP_CAND_PER_SOURCE; i++) {
			REQUIRE(!crit_from_text(&(struct crit_text){ .src = V4A }, env.ifindex, &cs), "text");
			cs.c.source = (uint8_t)src;
			REQUIRE(!xtap_cls_add(env.cls, &cs.c, &slots[src][i]), "source %d: criterion %d on %s refused",
				src, i, V4A);
		}
		REQUIRE(!crit_from_text(&(struct crit_text){ .src = V4A }, env.ifindex, &cs), "text");
		cs.c.source = (uint8_t)src;
		REQUIRE(xtap_cls_add(env.cls, &cs.c, &extra) == -ENOSPC, "source %d: past its share on %s", src, V4A);
	}
	for (int src = 0; src < 2; src++) {
		for (int i = 0; i < XTAP_CAND_PER_SOURCE; i++) {
			REQUIRE(!crit_from_text(&(struct crit_text){ .dport = "80" }, env.ifindex, &cs), "text");
			cs.c.source = (uint8_t)(src * 40);
			REQUIRE(!xtap_cls_add(env.cls, &cs.c, &wild[src][i]),
				"source %d: wildcard criterion %d refused", src * 40, i);
		}
		REQUIRE(!crit_from_text(&(struct crit_text){ .dport = "80" }, env.ifindex, &cs), "text");
		cs.c.source = (uint8_t)(src * 40);
		REQUIRE(xtap_cls_add(env.cls, &cs.c, &extra) == -ENOSPC, "source %d: past its wildcard share",
			src * 40);
	}
	REQUIRE(xtap_cls_count(env.cls) == XTAP_X_MAX + 2 * XTAP_CAND_PER_SOURCE, "count %u", xtap_cls_count(env.cls));
	REQUIRE(tenv_exact_keys(&env) == 2, "%d keys, want 2 (the address, the wildcard set)", tenv_exact_keys(&env));

	pkt_addr(s.src, V4A);
	pkt_addr(s.dst, V4B);
	len = pkt_build(&s, f, sizeof(f), &lay);
	REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out), "run");
	if (all_counted(slots, XTAP_MAX_SOURCES, "source"))
		return -1;
	if (all_counted(wild, 2, "wildcard source"))
		return -1;
	/* a source that left makes room for itself only; the others stay */
	REQUIRE(!xtap_cls_del(env.cls, slots[5][0]) && !xtap_cls_del(env.cls, slots[0][3]), "delete");
	REQUIRE(!crit_from_text(&(struct crit_text){ .src = V4A }, env.ifindex, &cs), "text");
	cs.c.source = 6;
	REQUIRE(xtap_cls_add(env.cls, &cs.c, &extra) == -ENOSPC, "source 6 took source 5's room");
	cs.c.source = 5;
	REQUIRE(!xtap_cls_add(env.cls, &cs.c, &slots[5][0]), "source 5 cannot use its freed room");
	slots[0][3] = slots[5][0]; /* counted below as source 0's, in its place */
	REQUIRE(!tenv_run(&env, HOOK_XDP, env.ifindex[0], f, len, &out), "run");
	for (int src = 0; src < XTAP_MAX_SOURCES; src++)
		for (int i = 0; i < XTAP_CAND_PER_SOURCE; i++) {
			uint64_t want = (src == 5 && i == 0) || (src == 0 && i == 3) ? 1 : 2;

			REQUIRE(!xtap_cls_stats(env.cls, slots[src][i], &st), "stats");
			REQUIRE(st.packets == want, "after deletes: source %d criterion %d counted %llu, want %llu",
				src, i, (unsigned long long)st.packets, (unsigned long long)want);
		}
	/* a restart: both keys, their chains in use */
	REQUIRE(!xtap_cls_sync(env.cls), "sync");
	cls2 = xtap_cls_new(&env.maps, 1u << 16, 64);
	REQUIRE(cls2, "second instance");
	xtap_cls_exact_usage(cls2, &u);
	xtap_cls_free(cls2);
	REQUIRE(u.keys == 2, "a restart finds %u keys, want 2", u.keys);
	REQUIRE(!tenv_clear(&env, 1u << 16), "clear");
	REQUIRE(tenv_exact_keys(&env) == 0, "exact index not empty");
	return 0;
}

int main(void)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} extra[] = {
		{ "fragment follow ipv4", test_frag_v4 },
		{ "fragment follow ipv6", test_frag_v6 },
		{ "fragment records: no match, several first fragments, ipv4", test_frag_records_v4 },
		{ "fragment records: no match, several first fragments, ipv6", test_frag_records_v6 },
		{ "ipv4 options of every length", ipv4_options },
		{ "tc: headers past the linear part of a paged skb", tc_paged },
		{ "every truncation of valid frames", truncations },
		{ "bounds refuse cleanly", bounds },
		{ "delete empties the maps, slots reused clean", delete_and_reuse },
		{ "a criterion's counters: an entry per CPU, summed", counters_per_cpu },
		{ "an exact entry keeps its criteria in order: deletes close up, adds go last", entry_first_deleted },
		{ "more matches than the result bound", match_bound },
		{ "exact pre-filter follows the exact index", exact_prefilter },
		{ "updates under traffic never miss a criterion", under_traffic },
		{ "each control source has its share of a prefix's list", source_shares },
		{ "prefix updates at 10,000/s never miss a stable prefix", prefix_updates },
		{ "the loader maps the prefix arrays where it uses them (RSS)", prefix_maps_resident },
		{ "exact index: full buckets spill, then refuse; a restart finds and repairs them", exact_buckets },
		{ "each control source has its share of an exact address and the wildcard set", exact_source_shares },
	};
	char why[256];
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tenv_netns(why, sizeof(why))) {
		t_record("classifier tests", 1, why);
		return t_summary();
	}
	err = tenv_open(&env, 1u << 16, 64);
	if (err) {
		printf("cannot load the BPF programs: %s\n", strerror(-err));
		t_record("load", -1, NULL);
		return t_summary();
	}
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		t_record(rows[i].name, run_row(&rows[i]), NULL);
	if (!env.xdp_meta)
		t_record("the rows' CDs in XDP's metadata (the rows ran XDP for its counters, TC ingress in full)", 1,
			 TENV_NO_XDP_META);
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		t_record(extra[i].name, extra[i].fn(), NULL);
	tenv_close(&env);
	return t_summary();
}
