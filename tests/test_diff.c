// SPDX-License-Identifier: BSD-2-Clause
/*
 * Differential test: random criteria sets (1 to 10,000 criteria of mixed
 * shapes) and random packets, each classified by the BPF programs and by the
 * plain reference classifier (refclass.c). Per packet the XDP metadata's
 * content destinations are compared; per round every criterion's packet and
 * byte counters. A disagreement prints the seed, the round, the criterion
 * and the packet, and `test_diff --seed S --round R` replays that round.
 *
 * Prefix rounds (from round 1000) draw criteria near a few random
 * addresses of the whole address space, mostly prefixes of any length
 * (nested, overlapping, /0 beside them, host routes) from four control
 * sources, and delete a third and add as many before the packets: the
 * prefix index (docs/classifier.md "Prefixes") against the same reference.
 *
 * usage: test_diff [--seed S] [--rounds N] [--prefix-rounds N] [--packets N] [--round R]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "pktbuild.h"
#include "refclass.h"
#include "testenv.h"

#define MAX_N 10000
#define PROUND0 1000 /* the first prefix round's number */
#define POOL_LISTS 64

static struct tenv env;
static uint64_t rng;

static uint32_t rnd(void)
{
	/* xorshift64*: reproducible from the seed alone */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

static uint32_t below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

static int chance(int percent)
{
	return (int)below(100) < percent;
}

/* ---- the address and value universe (small, so packets hit criteria) ---- */

/* Universe size of this round: small sets share few addresses (many
 * overlaps), large ones spread so that the per-entry bound rarely refuses. */
static uint32_t univ_size = 24;

/* Prefix rounds (issue 15): addresses anywhere in the address space, near
 * a few random bases per family, so that prefixes of every length nest and
 * overlap in every level of the prefix index (root words, nodes of either
 * family, compressed leaves); prefixes are most criteria, with deletes
 * and adds after the first packets. */
#define PBASES 6
static int pmode;
static uint8_t pbase[2][PBASES][16];

static void pbases_draw(void)
{
	for (int f = 0; f < 2; f++)
		for (int b = 0; b < PBASES; b++)
			for (int i = 0; i < 16; i++)
				pbase[f][b][i] = (uint8_t)(f == 0 && i >= 4 ? 0 : rnd());
}

/* A base with its bits past a random length drawn anew. */
static void pmode_addr(int family, uint8_t *a)
{
	unsigned full = family == XTAP_AF_INET6 ? 128 : 32, keep = below(full + 1);

	memcpy(a, pbase[family == XTAP_AF_INET6][below(PBASES)], 16);
	for (unsigned bit = keep; bit < full; bit++)
		if (chance(50))
			a[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
}

static void univ_addr(int family, uint8_t *a)
{
	uint32_t k = below(univ_size);

	if (pmode) {
		pmode_addr(family, a);
		return;
	}

	memset(a, 0, 16);
	if (family == XTAP_AF_INET) {
		static const uint8_t nets[3][3] = { { 192, 0, 2 }, { 198, 51, 100 }, { 203, 0, 113 } };

		memcpy(a, nets[k % 3], 3);
		a[3] = (uint8_t)(k / 3);
	} else {
		a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
		a[5] = k % 3;
		a[7] = (k / 3) % 2;
		a[14] = (uint8_t)(k / 6 >> 8);
		a[15] = (uint8_t)(k / 6);
	}
}

static const uint16_t port_pool[] = { 0, 1, 22, 53, 80, 443, 1000, 1024, 2000, 5060, 8080, 65535 };

static uint16_t univ_port(void)
{
	return chance(80) ? port_pool[below(sizeof(port_pool) / 2)] : (uint16_t)rnd();
}

struct rcrit {
	struct xtap_criterion c;
	struct xtap_vrange r[5][8];
	uint32_t slot, uid;
	int installed;
	uint64_t want_packets, want_bytes;
};

static struct xtap_vrange lists[POOL_LISTS][8];
static unsigned list_n[POOL_LISTS];

static void make_lists(void)
{
	for (int i = 0; i < POOL_LISTS; i++) {
		list_n[i] = 2 + below(6);
		for (unsigned k = 0; k < list_n[i]; k++) {
			uint16_t a = univ_port(), b = chance(30) ? a + below(100) : a;

			lists[i][k].lo = a;
			lists[i][k].hi = b < a ? 65535 : b;
		}
	}
}

/* A random value set for a field of maxval (255 or 65535). */
static void rand_values(struct xtap_values *v, struct xtap_vrange *store, unsigned maxval, int any_pct,
			const uint16_t *pool, int npool)
{
	memset(v, 0, sizeof(*v));
	v->r = store;
	if (chance(any_pct)) {
		v->any = 1;
		return;
	}
	switch (below(4)) {
	case 0:
	case 1: /* one value */
		store[0].lo = store[0].hi = pool[below(npool)];
		v->n = 1;
		break;
	case 2: { /* a range */
		uint16_t a = pool[below(npool)], b = a + below(maxval == 255 ? 16 : 2000);

		store[0].lo = a;
		store[0].hi = b > maxval || b < a ? maxval : b;
		v->n = 1;
		break;
	}
	default: /* a list: from a shared pool for ports, so sets are reused */
		if (maxval == 65535) {
			int k = below(POOL_LISTS);

			memcpy(store, lists[k], list_n[k] * sizeof(*store));
			v->n = list_n[k];
		} else {
			v->n = 2 + below(3);
			for (unsigned i = 0; i < v->n; i++)
				store[i].lo = store[i].hi = pool[below(npool)];
		}
	}
}

static void rand_addr_field(int family, uint8_t *a, uint8_t *plen)
{
	unsigned full = family == XTAP_AF_INET6 ? 128 : 32;
	int k = below(100);

	if (pmode) {
		/* one address any in three (/0 beside a prefix), else any length:
		 * /1 to /31 and /127 prefixes, host routes (the full length) */
		univ_addr(family, a);
		*plen = k < 33 ? 0 : k < 45 ? full : (uint8_t)below(full + 1);
		return;
	}
	if (k < 40) {
		*plen = 0;
		return;
	}
	univ_addr(family, a);
	/* mostly exact or long prefixes, as tasks are; short ones cover much
	 * and fill the per-entry bound below them */
	*plen = k < 75 ? full : chance(80) ? full - 1 - below(8) : below(full + 1);
}

static void rand_crit(struct rcrit *rc, int v6_pct)
{
	static const uint16_t protos[] = { 1, 6, 17, 132, 47, 58 };
	static const uint16_t icmp_vals[] = { 0, 3, 8, 11, 128, 129, 135 };
	struct xtap_criterion *c = &rc->c;

	memset(rc, 0, sizeof(*rc));
	c->family = chance(v6_pct) ? XTAP_AF_INET6 : XTAP_AF_INET;
	rand_addr_field(c->family, c->src, &c->src_plen);
	rand_addr_field(c->family, c->dst, &c->dst_plen);
	/* both addresses wildcarded is rare in tasks: the per-family set is small */
	if (!c->src_plen && !c->dst_plen && chance(95))
		rand_addr_field(c->family, c->src, &c->src_plen);
	rand_values(&c->proto, rc->r[0], 255, 50, protos, 6);
	rand_values(&c->sport, rc->r[1], 65535, 75, port_pool, 12);
	rand_values(&c->dport, rc->r[2], 65535, 55, port_pool, 12);
	rand_values(&c->itype, rc->r[3], 255, 85, icmp_vals, 7);
	rand_values(&c->icode, rc->r[4], 255, 90, icmp_vals, 3);
	switch (below(10)) {
	case 0:
	case 1: c->scope = XTAP_SCOPE_IN; break;
	case 2:
	case 3: c->scope = XTAP_SCOPE_OUT; break;
	case 4:
		c->scope = XTAP_SCOPE_GROUP;
		c->groups = 1 + below(3);
		break;
	default: c->scope = XTAP_SCOPE_ANY;
	}
	if (c->scope == XTAP_SCOPE_IN || c->scope == XTAP_SCOPE_OUT) {
		c->nif = 1 + below(2);
		for (unsigned i = 0; i < c->nif; i++)
			c->ifindex[i] = env.ifindex[below(TENV_NIF)];
	}
	c->ncd = 1 + (chance(10) ? below(XTAP_MAX_CD_PER_CRIT) : below(2));
	for (unsigned i = 0; i < c->ncd; i++)
		c->cd[i] = below(16);
	/* four control sources: each has its own share of an entry's list */
	c->source = pmode ? (uint8_t)below(4) : 0;
}

/* A value of v (or anything when v is "any"). */
static uint16_t pick_value(const struct xtap_values *v, uint16_t other)
{
	const struct xtap_vrange *r;

	if (v->any || !v->n)
		return other;
	r = &v->r[below(v->n)];
	return (uint16_t)(r->lo + below((uint32_t)r->hi - r->lo + 1));
}

/* An address inside pfx/plen, or a universe address when plen is 0. */
static void pick_addr(int family, const uint8_t *pfx, unsigned plen, uint8_t *a)
{
	univ_addr(family, a);
	for (unsigned bit = 0; bit < plen; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		a[bit / 8] = (a[bit / 8] & ~m) | (pfx[bit / 8] & m);
	}
}

static void rand_pkt(struct pkt_spec *s, int v6_pct);

/* A packet aimed at criterion c: it matches unless one field is perturbed. */
static void aimed_pkt(struct pkt_spec *s, const struct xtap_criterion *c, int *hook, int *ifi, int v6_pct)
{
	struct pkt_spec r;

	rand_pkt(s, v6_pct);
	s->family = c->family == XTAP_AF_INET6 ? 6 : 4;
	pick_addr(c->family, c->src, c->src_plen, s->src);
	pick_addr(c->family, c->dst, c->dst_plen, s->dst);
	s->proto = (uint8_t)pick_value(&c->proto, s->proto);
	if (!c->itype.any || !c->icode.any) {
		s->proto = s->family == 6 ? 58 : 1;
		s->frag = PF_NONE;
	}
	if (!c->sport.any || !c->dport.any) {
		if (s->proto != 6 && s->proto != 17 && s->proto != 132)
			s->proto = 17;
		if (s->frag == PF_LATER)
			s->frag = PF_NONE;
	}
	s->sport = pick_value(&c->sport, s->sport);
	s->dport = pick_value(&c->dport, s->dport);
	s->itype = (uint8_t)pick_value(&c->itype, s->itype);
	s->icode = (uint8_t)pick_value(&c->icode, s->icode);
	if (s->ethertype && chance(90))
		s->ethertype = 0;
	if (s->family == 6 && (s->proto == 0 || s->proto == 43 || s->proto == 44 || s->proto == 51 || s->proto == 60))
		s->proto = 59; /* IPv6 extension headers are never the upper layer */
	*hook = c->scope == XTAP_SCOPE_OUT ? HOOK_TC_OUT : (int)below(2);
	if (c->nif) {
		for (int i = 0; i < TENV_NIF; i++)
			if (env.ifindex[i] == c->ifindex[below(c->nif)])
				*ifi = i;
	} else if (c->scope == XTAP_SCOPE_GROUP) {
		*ifi = (c->groups & 1) ? (chance(50) ? 0 : 2) : (chance(50) ? 1 : 2);
	}
	if (!chance(30))
		return;
	/* perturb one thing */
	rand_pkt(&r, v6_pct);
	switch (below(8)) {
	case 0: memcpy(s->src, r.src, 16); break;
	case 1: memcpy(s->dst, r.dst, 16); break;
	case 2: s->proto = r.proto; break;
	case 3: s->sport = r.sport; break;
	case 4: s->dport = r.dport; break;
	case 5:
		s->itype = r.itype;
		s->icode = r.icode;
		break;
	case 6: *hook = below(3); break;
	default: *ifi = below(TENV_NIF); break;
	}
}

static void rand_pkt(struct pkt_spec *s, int v6_pct)
{
	static const uint8_t protos[] = { 6, 6, 17, 17, 132, 1, 58, 47 };
	static const uint8_t exts[] = { 0, 43, 60, 51 };
	static const uint8_t icmp_vals[] = { 0, 3, 8, 11, 128, 129, 135 };

	memset(s, 0, sizeof(*s));
	s->family = chance(v6_pct) ? 6 : 4;
	univ_addr(s->family == 6 ? XTAP_AF_INET6 : XTAP_AF_INET, s->src);
	univ_addr(s->family == 6 ? XTAP_AF_INET6 : XTAP_AF_INET, s->dst);
	s->proto = protos[below(sizeof(protos))];
	s->sport = univ_port();
	s->dport = univ_port();
	s->itype = icmp_vals[below(7)];
	s->icode = icmp_vals[below(3)];
	/* up to nine tags: one more than the parser follows */
	s->nvlan = chance(20) ? 1 + below(chance(10) ? 9 : 2) : 0;
	s->vlan_ad = chance(50);
	if (s->family == 4 && chance(20))
		s->ipopt = 4 * below(11);
	if (s->family == 6 && chance(30)) {
		/* now and then a long chain of short headers (issue 12) */
		s->next = chance(10) ? 7 + below(100) : below(4);
		if (s->next > 8)
			s->ext_len8 = 1 + below(2);
		for (int i = 0; i < s->next; i++)
			s->ext[i] = exts[below(4)];
	}
	if (chance(20)) {
		s->frag = chance(50) ? PF_FIRST : PF_LATER;
		s->frag_id = 1 + below(8);
		if (s->family == 6 && chance(20))
			s->after_frag = 1 + below(2);
	}
	/* tiny fragments and short packets: the IP packet ends in its
	 * transport header, or in its last extension header */
	if (chance(6))
		s->cut_l4 = 1 + below(5);
	else if (chance(4) && pkt_ext_count(s))
		s->cut_ext = 1 + below(8);
	if (chance(1))
		s->ethertype = 0x0806;
	s->payload = below(64);
}

/* The reference's view of the fragment records: (dir, datagram) → uids. */
struct rfrag {
	int used;
	int dir, family, proto;
	uint32_t id;
	uint8_t src[16], dst[16];
	int n; /* -1: more matches than the BPF record keeps (uncertain) */
	uint32_t uid[XTAP_MAX_MATCH];
};
#define RFRAG_MAX 65536 /* as many as the BPF LRU holds: it never evicts here */
static struct rfrag rfrags[RFRAG_MAX];

static struct rfrag *rfrag_find(const struct ref_pkt *p, int dir, int create)
{
	int proto = p->family == XTAP_AF_INET ? p->proto : 0;
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ p->src[i] ^ (p->dst[i] << 8)) * 16777619u;
	h = (h ^ p->frag_id ^ (uint32_t)dir << 20 ^ (uint32_t)proto << 24 ^ (uint32_t)p->family << 16) * 16777619u;
	for (uint32_t k = 0; k < RFRAG_MAX; k++) {
		struct rfrag *f = &rfrags[(h + k) % RFRAG_MAX];

		if (!f->used) {
			if (!create)
				return NULL;
			memset(f, 0, sizeof(*f));
			f->used = 1;
			f->dir = dir;
			f->family = p->family;
			f->proto = proto;
			f->id = p->frag_id;
			memcpy(f->src, p->src, 16);
			memcpy(f->dst, p->dst, 16);
			return f;
		}
		if (f->dir == dir && f->family == p->family && f->proto == proto && f->id == p->frag_id &&
		    !memcmp(f->src, p->src, 16) && !memcmp(f->dst, p->dst, 16))
			return f;
	}
	return NULL;
}

static struct rcrit crits[MAX_N];
static int ncrit;
static uint64_t packets_total, cd_checks, cd_uncertain, counters_checked, add_refused, nprefix, pdeleted;
static const char *hook_name[] = { "xdp", "tc-ingress", "tc-egress" };

static void print_crit(const struct rcrit *rc)
{
	const struct xtap_criterion *c = &rc->c;
	char a[64], b[64];

	inet_ntop(c->family == XTAP_AF_INET6 ? AF_INET6 : AF_INET, c->src, a, sizeof(a));
	inet_ntop(c->family == XTAP_AF_INET6 ? AF_INET6 : AF_INET, c->dst, b, sizeof(b));
	printf("      criterion uid %u: src %s/%u dst %s/%u scope %u nif %u groups %llu proto %s sport %s "
	       "dport %s itype %s icode %s\n",
	       rc->uid, a, c->src_plen, b, c->dst_plen, c->scope, c->nif, (unsigned long long)c->groups,
	       c->proto.any ? "any" : "set", c->sport.any ? "any" : "set", c->dport.any ? "any" : "set",
	       c->itype.any ? "any" : "set", c->icode.any ? "any" : "set");
}

static void print_pkt(const struct pkt_spec *s, int hook, int ifi)
{
	char a[64], b[64];

	inet_ntop(s->family == 6 ? AF_INET6 : AF_INET, s->src, a, sizeof(a));
	inet_ntop(s->family == 6 ? AF_INET6 : AF_INET, s->dst, b, sizeof(b));
	printf("      packet: %s on xt%d, %s > %s proto %u ports %u > %u icmp %u/%u vlan %d opt %d ext %d (x%d) frag "
	       "%d "
	       "id %u after %d cut l4 %d ext %d ethertype %#x\n",
	       hook_name[hook], ifi, a, b, s->proto, s->sport, s->dport, s->itype, s->icode, s->nvlan, s->ipopt,
	       s->next, s->ext_len8, s->frag, s->frag_id, s->after_frag, s->cut_l4, s->cut_ext, s->ethertype);
}

struct sent {
	struct pkt_spec s;
	int hook, ifi;
};

/* Add n random criteria (those a bound refuses are simply not there). */
static int install(int round, int n, int v6_pct)
{
	for (int i = 0; i < n; i++) {
		struct rcrit *rc = &crits[ncrit];
		int err;

		rand_crit(rc, v6_pct);
		err = xtap_cls_add(env.cls, &rc->c, &rc->slot);
		if (err == -ENOSPC) {
			add_refused++; /* a bound: the criterion is simply not there */
			continue;
		}
		REQUIRE(!err, "round %d: add failed: %s", round, strerror(-err));
		rc->uid = xtap_cls_uid(env.cls, rc->slot);
		rc->installed = 1;
		ncrit++;
		if (rc->c.src_plen % (rc->c.family == XTAP_AF_INET6 ? 128 : 32) ||
		    rc->c.dst_plen % (rc->c.family == XTAP_AF_INET6 ? 128 : 32))
			nprefix++;
	}
	return 0;
}

/* One round: install n random criteria, send npkt packets, compare. */
static int round_run(uint64_t seed, int round, int n, int npkt, struct sent *sent)
{
	int v6_pct = below(101), errors = 0, nfirst = 0;
	struct sent firsts[8]; /* the last first fragments sent, for more of their datagrams */

	ncrit = 0;
	REQUIRE(!install(round, n, v6_pct), "install");
	if (pmode) {
		/* delete a random third, then add as many anew: the index after
		 * removals (entries gone under and over others) */
		int kept = 0, gone = 0;

		for (int i = 0; i < ncrit; i++) {
			if (chance(33)) {
				REQUIRE(!xtap_cls_del(env.cls, crits[i].slot), "round %d: delete", round);
				gone++;
				continue;
			}
			crits[kept] = crits[i];
			/* the value sets point into the criterion's own storage */
			crits[kept].c.proto.r = crits[kept].r[0];
			crits[kept].c.sport.r = crits[kept].r[1];
			crits[kept].c.dport.r = crits[kept].r[2];
			crits[kept].c.itype.r = crits[kept].r[3];
			crits[kept].c.icode.r = crits[kept].r[4];
			kept++;
		}
		ncrit = kept;
		pdeleted += (uint64_t)gone;
		if (chance(50))
			REQUIRE(!xtap_cls_sync(env.cls), "sync");
		REQUIRE(!install(round, gone, v6_pct), "install");
	}

	for (int k = 0; k < npkt; k++) {
		struct sent *p = &sent[k];
		struct pkt_layout lay;
		struct ref_pkt rp;
		struct ref_if ri;
		struct run_out out;
		uint8_t frame[4096];
		uint16_t cds[256];
		int ncds = 0, nmatch = 0, len, err;
		struct rfrag *rec = NULL;
		uint32_t matched_uids[XTAP_MAX_MATCH];
		int nm_rec = 0, live = 0, near = 0, none = 0;

		p->hook = below(3);
		p->ifi = below(TENV_NIF);
		if (nfirst && chance(20)) {
			/* another fragment of a datagram whose first fragment went
			 * before: a later one, or a first one again with other
			 * ports (duplicated or overlapping, RFC 5722) */
			struct sent *f = &firsts[below(nfirst < 8 ? nfirst : 8)];
			struct pkt_spec r;

			*p = *f;
			if (chance(50)) {
				p->s.frag = PF_LATER;
				p->s.cut_l4 = p->s.cut_ext = 0;
			} else {
				rand_pkt(&r, v6_pct);
				p->s.sport = r.sport;
				p->s.dport = chance(50) ? r.dport : p->s.dport;
				p->s.cut_l4 = r.cut_l4;
			}
		} else if (ncrit && chance(70)) {
			aimed_pkt(&p->s, &crits[below(ncrit)].c, &p->hook, &p->ifi, v6_pct);
		} else {
			rand_pkt(&p->s, v6_pct);
		}
		if (p->s.frag == PF_FIRST)
			firsts[nfirst++ % 8] = *p;
		ri.dir = p->hook == HOOK_TC_OUT ? XTAP_DIR_OUT : XTAP_DIR_IN;
		ri.ifindex = env.ifindex[p->ifi];
		ri.groups = (uint64_t)(p->ifi + 1);
		len = pkt_build(&p->s, frame, sizeof(frame), &lay);
		REQUIRE(len > 0, "build");
		ref_from_spec(&p->s, &lay, &rp);
		rec = rp.ip && rp.frag == PF_LATER ? rfrag_find(&rp, ri.dir, 0) : NULL;
		if (rec && rec->n < 0) {
			/* the record kept a subset the reference cannot know:
			 * send a fragment of a datagram never seen instead */
			p->s.frag_id = 100 + (uint32_t)(packets_total % 60000); /* firsts use 1..8 */
			len = pkt_build(&p->s, frame, sizeof(frame), &lay);
			ref_from_spec(&p->s, &lay, &rp);
			rec = NULL;
		}
		if (rec && rec->n == 0) {
			none = 1; /* its first fragment matched nothing: nor does it */
			rec = NULL;
		}
		if (rec) {
			for (int j = 0; j < rec->n; j++)
				for (int i = 0; i < ncrit; i++)
					if (crits[i].uid == rec->uid[j])
						live++;
			if (!live)
				rec = NULL; /* nothing left to follow: classified afresh */
		}
		for (int i = 0; i < ncrit; i++) {
			struct rcrit *rc = &crits[i];
			int m = 0;

			if (rp.frag == PF_FIRST)
				near |= ref_near(&rc->c, &rp, &ri);
			if (none) {
				m = 0;
			} else if (rec) {
				for (int j = 0; j < rec->n; j++)
					m |= rec->uid[j] == rc->uid;
			} else {
				m = ref_match(&rc->c, &rp, &ri);
			}
			if (!m)
				continue;
			rc->want_packets++;
			rc->want_bytes += rp.ip_len;
			if (nmatch < XTAP_MAX_MATCH)
				matched_uids[nm_rec++] = rc->uid;
			nmatch++;
			for (unsigned c = 0; c < rc->c.ncd; c++) {
				int dup = 0;

				for (int d = 0; d < ncds; d++)
					dup |= cds[d] == rc->c.cd[c];
				if (!dup)
					cds[ncds++] = rc->c.cd[c];
			}
		}
		if (rp.ip && rp.frag == PF_FIRST && (nmatch || near)) {
			/* docs/classifier.md "Fragments": every first fragment some
			 * criterion's addresses meet is recorded, with what it
			 * matched; a record of nothing never replaces matches, and
			 * the matches of another first fragment are added */
			struct rfrag *f = rfrag_find(&rp, ri.dir, 0);

			if (!nmatch) {
				if (!f && (f = rfrag_find(&rp, ri.dir, 1)))
					f->n = 0;
			} else if (!f || f->n == 0) {
				if (f || (f = rfrag_find(&rp, ri.dir, 1))) {
					/* beyond the bound the BPF side keeps the first 16 in
					 * its own lookup order: the record is then uncertain */
					f->n = nmatch > XTAP_MAX_MATCH ? -1 : nm_rec;
					memcpy(f->uid, matched_uids, sizeof(matched_uids));
				}
			} else if (f->n > 0 && nmatch > XTAP_MAX_MATCH) {
				f->n = -1;
			} else if (f->n > 0) {
				for (int j = 0; j < nm_rec && f->n > 0; j++) {
					int have = 0;

					for (int q = 0; q < f->n; q++)
						have |= f->uid[q] == matched_uids[j];
					if (have)
						continue;
					if (f->n == XTAP_MAX_MATCH)
						f->n = -1; /* the BPF record keeps what fits */
					else
						f->uid[f->n++] = matched_uids[j];
				}
			}
		}

		err = tenv_run(&env, p->hook, ri.ifindex, frame, len, &out);
		REQUIRE(!err, "test run: %s", strerror(-err));
		REQUIRE(out.size == (uint32_t)len && !memcmp(out.data, frame, len), "packet changed");
		packets_total++;
		if (p->hook == HOOK_XDP && env.xdp_meta) { /* else no metadata: the counters below still compare */
			struct xtap_meta m;
			int ok = 1;

			memcpy(&m, out.meta, sizeof(m));
			if (nmatch > XTAP_MAX_MATCH || ncds > XTAP_PKT_MAX_CDS) {
				cd_uncertain++;
			} else {
				ok = m.ncd == ncds;
				for (int d = 0; ok && d < m.ncd; d++) {
					int found = 0;

					for (int e = 0; e < ncds; e++)
						found |= cds[e] == m.cd[d];
					ok = found;
				}
				cd_checks++;
			}
			if (!ok) {
				printf("    seed %llu round %d packet %d: CDs differ (bpf %u, reference %d)\n",
				       (unsigned long long)seed, round, k, m.ncd, ncds);
				print_pkt(&p->s, p->hook, p->ifi);
				errors++;
			}
		}
	}

	/* every criterion's counters against the reference's */
	for (int i = 0; i < ncrit; i++) {
		struct rcrit *rc = &crits[i];
		struct xtap_crit_stats st;

		REQUIRE(!xtap_cls_stats(env.cls, rc->slot, &st), "stats");
		counters_checked++;
		if (st.packets == rc->want_packets && st.bytes == rc->want_bytes)
			continue;
		if (errors++ > 5)
			continue;
		printf("    seed %llu round %d: criterion %d counted %llu packets / %llu bytes, reference %llu / "
		       "%llu\n",
		       (unsigned long long)seed, round, i, (unsigned long long)st.packets, (unsigned long long)st.bytes,
		       (unsigned long long)rc->want_packets, (unsigned long long)rc->want_bytes);
		print_crit(rc);
		for (int k = 0; k < npkt; k++) {
			struct pkt_layout lay;
			struct ref_pkt rp;
			struct ref_if ri = { sent[k].hook == HOOK_TC_OUT, env.ifindex[sent[k].ifi],
					     (uint64_t)(sent[k].ifi + 1) };
			uint8_t frame[4096];

			pkt_build(&sent[k].s, frame, sizeof(frame), &lay);
			ref_from_spec(&sent[k].s, &lay, &rp);
			if (ref_match(&rc->c, &rp, &ri)) {
				printf("      reference match, packet %d:\n", k);
				print_pkt(&sent[k].s, sent[k].hook, sent[k].ifi);
			}
		}
	}
	for (int i = 0; i < ncrit; i++)
		REQUIRE(!xtap_cls_del(env.cls, crits[i].slot), "delete");
	REQUIRE(!xtap_cls_sync(env.cls), "sync");
	REQUIRE(xtap_cls_count(env.cls) == 0, "criteria left");
	REQUIRE(tenv_exact_keys(&env) == 0, "exact entries left");
	REQUIRE(tenv_prefix_words(&env) == 0, "prefix words left");
	return errors ? -1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = 20261126;
	int rounds = 400, prounds = 150, npkt = 256, only = -1, failed_rounds = 0;
	struct sent *sent;
	char why[256];
	int err;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--rounds"))
			rounds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--prefix-rounds"))
			prounds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--packets"))
			npkt = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--round"))
			only = atoi(argv[i + 1]);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tenv_netns(why, sizeof(why))) {
		t_record("differential test", 1, why);
		return t_summary();
	}
	err = tenv_open(&env, 1u << 16, 512);
	if (err) {
		printf("cannot load the BPF programs: %s\n", strerror(-err));
		t_record("load", -1, NULL);
		return t_summary();
	}
	sent = calloc(npkt, sizeof(*sent));
	rng = seed;
	make_lists();
	for (int r = 0; r < rounds; r++) {
		/* 1 to 10,000 criteria, log-uniform; each round from its own seed */
		uint64_t round_seed;
		int n;

		rng = seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(r + 1));
		round_seed = rng;
		n = (int)exp(log(MAX_N) * (below(10001) / 10000.0));
		if (n < 1)
			n = 1;
		if (only >= 0 && r != only)
			continue;
		rng = round_seed;
		univ_size = 24 + (uint32_t)n / 4;
		memset(crits, 0, sizeof(crits));
		if (round_run(seed, r, n, npkt, sent))
			failed_rounds++;
	}
	/* prefix rounds, numbered from PROUND0 (--round replays one) */
	pmode = 1;
	for (int r = PROUND0; r < PROUND0 + prounds; r++) {
		int n;

		rng = seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(r + 1));
		n = 1 + (int)below(3000);
		if (only >= 0 && r != only)
			continue;
		pbases_draw();
		memset(crits, 0, sizeof(crits));
		if (round_run(seed, r, n, npkt, sent))
			failed_rounds++;
	}
	pmode = 0;
	printf("    %llu packets, %llu CD sets compared (%llu beyond the bounds), %llu counters compared, "
	       "%llu adds refused by a bound, %llu criteria with a prefix installed, %llu deleted in prefix rounds\n",
	       (unsigned long long)packets_total, (unsigned long long)cd_checks, (unsigned long long)cd_uncertain,
	       (unsigned long long)counters_checked, (unsigned long long)add_refused, (unsigned long long)nprefix,
	       (unsigned long long)pdeleted);
	t_record("differential: BPF classifier == reference classifier", failed_rounds ? -1 : 0, NULL);
	if (!env.xdp_meta)
		t_record("differential: CD sets of the XDP packets (their counters were compared)", 1,
			 TENV_NO_XDP_META);
	t_record("differential test ran at least 100,000 packets", packets_total >= 100000 || only >= 0 ? 0 : -1, NULL);
	free(sent);
	tenv_close(&env);
	return t_summary();
}
