/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one classifier of every xtap program.
 *
 * A criterion is indexed once, under its anchor: the more specific of its two
 * addresses (exact addresses in the hash, prefixes in the prefix trie), or the
 * per-family wildcard set when both addresses are "any". A packet costs at
 * most five lookups (exact source, exact destination, longest source prefix,
 * longest destination prefix, wildcard set), skipped when the structure is
 * empty, and at most XTAP_MAX_SOURCES x XTAP_CAND_PER_SOURCE candidate
 * checks per lookup: the worst case is 5 lookups + 5 x 1,024 rule checks,
 * whatever the number of criteria (docs/classifier.md).
 */
#ifndef XTAP_BPF_CLASSIFY_H
#define XTAP_BPF_CLASSIFY_H

#include "parse.h"

/* Everything one packet's classification works on, passed by pointer to
 * the global (separately verified) functions below. (User space's struct
 * xtap_cls, loader/lib/classifier.c, is the classifier library itself.) */
struct xtap_cls_state {
	struct xtap_pkt pkt;
	__u32 dir; /* enum xtap_dir */
	__u32 ifindex;
	__u32 ifbit; /* the interface's scope bit, XTAP_MAX_IFACES if none */
	__u32 if_known; /* ifbit and groups looked up (only scoped rules need them) */
	__u64 groups; /* the interface's group mask */
	__u32 ncd;
	__u16 cd[XTAP_PKT_MAX_CDS];
	__u16 pad;
	struct xtap_frag_val m; /* matched criteria (first XTAP_MAX_MATCH) */
	__u32 nmatch; /* every match, also beyond the bound */
	__u32 near; /* criteria whose family, scope and addresses matched */
	__u32 unread_hits; /* matches through a field the packet did not let us read */
	__u32 pad2;
};

static __always_inline int valset_has(const struct xtap_valset *vs, __u32 v)
{
	struct xtap_set *bm;
	__u32 idx;

	if (!vs->set)
		return v >= vs->lo && v <= vs->hi;
	idx = vs->set - 1;
	bm = bpf_map_lookup_elem(&XTAP_MAP_SETS, &idx);
	if (!bm)
		return 0;
	return (bm->bits[(v >> 3) & (XTAP_SET_BYTES - 1)] >> (v & 7)) & 1;
}

/* Is addr inside pfx/plen? words: 1 for IPv4, 4 for IPv6. */
static __always_inline int prefix_has(const __u8 *addr, const __u8 *pfx, __u32 plen, int words)
{
	for (int i = 0; i < 4; i++) {
		__u32 a, b, bits, mask;

		if (i >= words || plen <= 32u * i)
			break;
		bits = plen - 32u * i;
		mask = bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
		__builtin_memcpy(&a, addr + 4 * i, 4);
		__builtin_memcpy(&b, pfx + 4 * i, 4);
		if ((a ^ b) & bpf_htonl(mask))
			return 0;
	}
	return 1;
}

static __always_inline void iface_resolve(struct xtap_cls_state *s)
{
	struct xtap_iface *ifc;

	if (s->if_known)
		return;
	ifc = bpf_map_lookup_elem(&XTAP_MAP_IFACES, &s->ifindex);
	s->ifbit = ifc ? ifc->bit : XTAP_MAX_IFACES;
	s->groups = ifc ? ifc->groups : 0;
	s->if_known = 1;
}

static __always_inline int scope_has(const struct xtap_rule *r, struct xtap_cls_state *s)
{
	if (r->scope == XTAP_SCOPE_ANY)
		return s->dir == XTAP_DIR_IN;
	iface_resolve(s);
	switch (r->scope) {
	case XTAP_SCOPE_ANY: return s->dir == XTAP_DIR_IN;
	case XTAP_SCOPE_IN:
		return s->dir == XTAP_DIR_IN && s->ifbit < XTAP_MAX_IFACES && ((r->scope_mask >> s->ifbit) & 1);
	case XTAP_SCOPE_OUT:
		return s->dir == XTAP_DIR_OUT && s->ifbit < XTAP_MAX_IFACES && ((r->scope_mask >> s->ifbit) & 1);
	case XTAP_SCOPE_GROUP: return s->dir == XTAP_DIR_IN && (r->scope_mask & s->groups);
	}
	return 0;
}

/* Does a set (not "any") match a field? When the packet carries it and it
 * was read: its value. When it may carry it but the parser could not read it
 * (unread): yes, and *used says so (copy rather than miss). Else no: a set
 * never matches a packet that has no such field (ports of ICMP or GRE). */
static __always_inline int field_has(const struct xtap_valset *vs, int known, int unread, __u32 v, int *used)
{
	if (known)
		return valset_has(vs, v);
	if (unread)
		*used = 1;
	return unread;
}

/* Does rule r match the packet? Global function: verified once, not at
 * every call site. */
__noinline int xtap_rule_match(const struct xtap_rule *r, struct xtap_cls_state *s)
{
	const struct xtap_pkt *p;
	int words, used = 0;

	if (!r || !s)
		return 0;
	p = &s->pkt;
	if (!(r->flags & XTAP_R_ACTIVE) || r->family != p->family)
		return 0;
	if (!scope_has(r, s))
		return 0;
	words = p->family == XTAP_AF_INET6 ? 4 : 1;
	if ((r->flags & XTAP_R_CHECK_SRC) && !prefix_has(p->src, r->src, r->src_plen, words))
		return 0;
	if ((r->flags & XTAP_R_CHECK_DST) && !prefix_has(p->dst, r->dst, r->dst_plen, words))
		return 0;
	s->near++;
	if (!(r->flags & XTAP_R_PROTO_ANY) &&
	    !field_has(&r->proto, p->proto_known, p->unread & U_PROTO, p->proto, &used))
		return 0;
	if (!(r->flags & XTAP_R_SPORT_ANY) &&
	    !field_has(&r->sport, p->l4 == L4_PORTS, p->unread & U_PORTS, p->sport, &used))
		return 0;
	if (!(r->flags & XTAP_R_DPORT_ANY) &&
	    !field_has(&r->dport, p->l4 == L4_PORTS, p->unread & U_PORTS, p->dport, &used))
		return 0;
	if (!(r->flags & XTAP_R_ITYPE_ANY) &&
	    !field_has(&r->itype, p->l4 == L4_ICMP, p->unread & U_ICMP, p->itype, &used))
		return 0;
	if (!(r->flags & XTAP_R_ICODE_ANY) &&
	    !field_has(&r->icode, p->l4 == L4_ICMP, p->unread & U_ICMP, p->icode, &used))
		return 0;
	s->unread_hits += used;
	return 1;
}

/* Slots per CPU in XTAP_MAP_STATS (the rules map's size), set by the
 * loader. */
const volatile __u32 xtap_stats_slots = XTAP_MAX_CRITERIA_DEFAULT;

/* Count a match and collect its content destinations, once each. */
__noinline int xtap_record(struct xtap_cls_state *s, __u32 slot, const struct xtap_rule *r)
{
	struct xtap_crit_stats *st;
	__u32 n, k, ncd, idx;

	if (!s || !r)
		return 0;
	idx = bpf_get_smp_processor_id() * xtap_stats_slots + slot;
	st = bpf_map_lookup_elem(&XTAP_MAP_STATS, &idx);
	if (st) {
		st->packets++;
		st->bytes += s->pkt.ip_len;
		/* coarse clock: idle expiry needs seconds, not nanoseconds */
		st->last_ns = bpf_ktime_get_coarse_ns();
	}
	s->nmatch++;
	n = s->m.n;
	if (n >= XTAP_MAX_MATCH) {
		counter_inc(XTAP_G_MATCH_BOUND);
		return 0;
	}
	s->m.m[n].slot = slot;
	s->m.m[n].uid = r->uid;
	s->m.n = n + 1;

	ncd = r->ncd;
	for (__u32 i = 0; i < XTAP_MAX_CD_PER_CRIT; i++) {
		__u16 cd = r->cd[i];
		int dup = 0;

		if (i >= ncd)
			break;
		for (__u32 j = 0; j < XTAP_PKT_MAX_CDS; j++) {
			if (j >= s->ncd)
				break;
			if (s->cd[j] == cd) {
				dup = 1;
				break;
			}
		}
		if (dup)
			continue;
		k = s->ncd;
		if (k >= XTAP_PKT_MAX_CDS) {
			counter_inc(XTAP_G_CD_BOUND);
			break;
		}
		s->cd[k] = cd;
		s->ncd = k + 1;
	}
	return 1;
}

/* Check one candidate slot: its rule, then count it if it matches. */
static __always_inline void check_slot(__u32 slot, struct xtap_cls_state *s)
{
	struct xtap_rule *r = bpf_map_lookup_elem(&XTAP_MAP_RULES, &slot);

	if (!r || !(r->flags & XTAP_R_ACTIVE)) {
		counter_inc(XTAP_G_RULE_STALE);
		return;
	}
	if (xtap_rule_match(r, s))
		xtap_record(s, slot, r);
}

static __always_inline void exact_key(struct xtap_exact_key *k, __u8 side, const struct xtap_cls_state *s,
				      const __u8 *addr)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->kind = XTAP_KIND(side, s->dir);
	k->family = s->pkt.family;
	if (addr)
		__builtin_memcpy(k->addr, addr, 16);
}

/* Bits of the exact pre-filter minus one, set by the loader from the size of
 * XTAP_MAP_XFILTER; 0 (a loader that did not set it) turns the filter off. */
const volatile __u32 xtap_xfilter_mask = 0;

/* 0 when no exact index entry can have a key of hash h: the hash lookup is
 * skipped. */
static __always_inline int xfilter_maybe(__u32 h)
{
	__u32 w;
	__u64 *word;

	if (!xtap_xfilter_mask)
		return 1;
	h &= xtap_xfilter_mask;
	w = h >> 6;
	word = bpf_map_lookup_elem(&XTAP_MAP_XFILTER, &w);
	return !word || ((*word >> (h & 63)) & 1); /* no word (a smaller map): look it up */
}

/* Buckets of the exact index minus one (a power of two minus one), set by
 * the loader from the size of XTAP_MAP_XBUCKET. */
const volatile __u32 xtap_xbucket_mask = XTAP_XBUCKET_DEFAULT - 1;

/* Keys equal, word by word (__builtin_memcmp is a call BPF has not). */
static __always_inline int xkey_eq(const struct xtap_exact_key *a, const struct xtap_exact_key *b)
{
	__u32 x[5], y[5], d = 0;

	__builtin_memcpy(x, a, sizeof(x));
	__builtin_memcpy(y, b, sizeof(y));
	for (int i = 0; i < 5; i++)
		d |= x[i] ^ y[i];
	return !d;
}

/* Slot's counters on this CPU read, their value unused: a prefetch, so
 * that their miss overlaps the entry's instead of following it (the slot
 * comes from the bucket's pair; xtap_record writes them next). */
static __always_inline void stats_touch(__u32 slot)
{
	__u32 idx = bpf_get_smp_processor_id() * xtap_stats_slots + slot;
	struct xtap_crit_stats *st = bpf_map_lookup_elem(&XTAP_MAP_STATS, &idx);

	if (st)
		(void)*(volatile const __u64 *)&st->packets;
}

/* The entry number of key k (hash h) in bucket b, 0 when none. */
static __always_inline __u32 xbucket_find(__u32 b, __u32 h, const struct xtap_exact_key *k, __u32 *spill)
{
	struct xtap_xbucket *xb = bpf_map_lookup_elem(&XTAP_MAP_XBUCKET, &b);
	__u32 tag = xtap_xp_tag(h);

	if (!xb)
		return 0;
	for (int i = 0; i < XTAP_XB_PAIRS; i++) {
		__u64 e = *(volatile const __u64 *)&xb->e[i]; /* one load: a pair is stored whole */
		__u32 id = xtap_xp_id(e);
		struct xtap_xentry *x;

		if (xtap_xp_tagof(e) != tag || !id)
			continue;
		stats_touch(xtap_xp_slot(e));
		x = bpf_map_lookup_elem(&XTAP_MAP_XENTRY, &id);
		if (!x)
			continue;
		/* the rule's three lines read with the key's: four misses at once, not in turn */
		(void)*(volatile const __u64 *)((const __u8 *)x + 64);
		(void)*(volatile const __u64 *)((const __u8 *)x + 128);
		(void)*(volatile const __u64 *)((const __u8 *)x + 192);
		if (xkey_eq(&x->key, k))
			return id;
	}
	*spill = *(volatile const __u32 *)&xb->spill; /* read after the pairs: xtap.h */
	return 0;
}

/* The entry number of key k (hash h) in the exact index, 0 when none.
 * Global: verified once. */
__noinline __u32 xtap_exact_find(const struct xtap_exact_key *k, __u32 h)
{
	__u32 id, spill = 0;

	if (!k)
		return 0;
	id = xbucket_find(xtap_xb_first(h, xtap_xbucket_mask), h, k, &spill);
	if (!id && spill)
		id = xbucket_find(xtap_xb_second(h, xtap_xbucket_mask), h, k, &spill);
	return id;
}

/* Check the criteria of a continuation entry (xtap.h struct xtap_xentry):
 * the entry after it, 0 when none. Global: verified once for every link. */
__noinline __u32 xtap_exact_more(__u32 id, struct xtap_cls_state *s)
{
	struct xtap_xentry *x = bpf_map_lookup_elem(&XTAP_MAP_XENTRY, &id);
	__u32 n;

	if (!x || !s)
		return 0;
	n = x->n;
	for (__u32 i = 0; i < XTAP_MAX_CAND; i++) {
		if (i >= n)
			break;
		check_slot(x->slot[i], s);
	}
	return x->next;
}

/* Check the criteria of key k's entry: the first through the entry's copy
 * of its rule, the others in xtap_rules, then its chain's. Global:
 * verified once for its three callers. */
__noinline int xtap_exact_scan(const struct xtap_exact_key *k, __u32 h, struct xtap_cls_state *s)
{
	struct xtap_xentry *x;
	__u32 id, n;

	if (!k || !s)
		return 0;
	id = xtap_exact_find(k, h);
	x = id ? bpf_map_lookup_elem(&XTAP_MAP_XENTRY, &id) : NULL;
	if (!x)
		return 0;
	n = x->n;
	if (xtap_rule_match(&x->rule, s))
		xtap_record(s, x->slot[0], &x->rule);
	for (__u32 i = 1; i < XTAP_MAX_CAND; i++) {
		if (i >= n)
			break;
		check_slot(x->slot[i], s);
	}
	id = x->next;
	/* bounded by the longest chain the loader writes (every source's share) */
	for (int c = 1; c < XTAP_X_CHAIN && id; c++)
		id = xtap_exact_more(id, s);
	return 1;
}

static __always_inline void exact_scan(const struct xtap_exact_key *k, int filtered, struct xtap_cls_state *s)
{
	__u32 h = xtap_xfilter_hash(k);

	if (filtered && !xfilter_maybe(h))
		return;
	xtap_exact_scan(k, h, s);
}

/* Longest-prefix lookup for one address in the prefix trie (xtap.h): the
 * entry of the longest prefix holding it, 0 when none. One root word, at
 * most XTAP_PT_LEVELS node words, at most one compressed leaf: a bounded
 * number of array reads whatever the number of prefixes. Global: verified
 * once. */
__noinline __u32 xtap_ptrie_lookup(const struct xtap_cls_state *s, __u32 side)
{
	const __u8 *addr;
	struct xtap_pnode *node;
	struct xtap_pleaf *l;
	__u32 idx, w;
	int is6, nbytes;

	if (!s)
		return 0;
	is6 = s->pkt.family == XTAP_AF_INET6;
	addr = side == XTAP_SIDE_DST ? s->pkt.dst : s->pkt.src;
	nbytes = is6 ? 16 : 4;
	idx = XTAP_PT_ROOT(s->dir & 1, side & 1, is6) * 256u + addr[0];
	node = bpf_map_lookup_elem(&XTAP_MAP_PNODES, &idx);
	if (!node)
		return 0;
	w = node->w[addr[1]];
	/* one node per address byte past the root's two; the loader never
	 * links a node past an address's last byte, the bound says so to the
	 * verifier */
	for (int d = 2; d < 2 + XTAP_PT_LEVELS; d++) {
		if (XTAP_PT_TAG(w) != XTAP_PT_NODE || d >= nbytes)
			break;
		idx = XTAP_PT_VAL(w);
		node = bpf_map_lookup_elem(&XTAP_MAP_PNODES, &idx);
		if (!node)
			return 0;
		w = node->w[addr[d]];
	}
	if (XTAP_PT_TAG(w) == XTAP_PT_LEAF)
		return XTAP_PT_VAL(w);
	if (XTAP_PT_TAG(w) != XTAP_PT_CLEAF)
		return 0;
	idx = XTAP_PT_VAL(w);
	l = bpf_map_lookup_elem(&XTAP_MAP_PLEAF, &idx);
	if (!l)
		return 0;
	return prefix_has(addr, l->addr, l->plen, is6 ? 4 : 1) ? l->match : l->miss;
}

/* Check every candidate of one chunk of a prefix list. */
__noinline int xtap_scan_chunk(const struct xtap_pchunk *c, struct xtap_cls_state *s)
{
	__u32 n;

	if (!c || !s)
		return 0;
	n = c->n;
	for (__u32 i = 0; i < XTAP_PCHUNK_SLOTS; i++) {
		if (i >= n)
			break;
		check_slot(c->slot[i], s);
	}
	return 0;
}

/* The list of a prefix entry (0: none): its own chunks, then its covering
 * entry's, up to the shortest prefix. At most XTAP_PWALK_MAX chunks: the
 * longest list the loader writes. */
static __always_inline void plist_scan(__u32 chunk, struct xtap_cls_state *s)
{
	for (int i = 0; i < XTAP_PWALK_MAX; i++) {
		struct xtap_pchunk *c;

		if (!chunk)
			break;
		c = bpf_map_lookup_elem(&XTAP_MAP_PCHUNK, &chunk);
		if (!c)
			break;
		xtap_scan_chunk(c, s);
		chunk = c->next ? c->next : c->parent;
	}
}

static __always_inline void frag_key(struct xtap_frag_key *k, const struct xtap_cls_state *s)
{
	const struct xtap_pkt *p = &s->pkt;

	__builtin_memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->dir = s->dir;
	/* RFC 8200: (source, destination, identification) names an IPv6
	 * datagram; RFC 791 adds the protocol for IPv4 */
	k->proto = p->family == XTAP_AF_INET ? p->proto : 0;
	k->id = p->frag_id;
	__builtin_memcpy(k->src, p->src, 16);
	__builtin_memcpy(k->dst, p->dst, 16);
}

/* A later fragment of a datagram whose first fragment was seen: the criteria
 * that one matched, if they still exist. Returns how many were followed, -1
 * when the first fragment matched nothing (nor does this one); with 0 (no
 * record, or its criteria all gone) the fragment is classified on its own. */
__noinline int xtap_frag_follow(struct xtap_cls_state *s)
{
	struct xtap_frag_key k;
	struct xtap_frag_val *v;
	__u32 n, followed = 0;

	if (!s)
		return 0;
	frag_key(&k, s);
	v = bpf_map_lookup_elem(&XTAP_MAP_FRAGS, &k);
	if (!v) {
		counter_inc(XTAP_G_FRAG_UNKNOWN);
		return 0;
	}
	n = v->n;
	if (!n) {
		counter_inc(XTAP_G_FRAG_NONE);
		return -1;
	}
	for (__u32 i = 0; i < XTAP_MAX_MATCH; i++) {
		struct xtap_rule *r;
		__u32 slot;

		if (i >= n)
			break;
		slot = v->m[i].slot;
		r = bpf_map_lookup_elem(&XTAP_MAP_RULES, &slot);
		if (r && (r->flags & XTAP_R_ACTIVE) && r->uid == v->m[i].uid) {
			xtap_record(s, slot, r);
			followed++;
		}
	}
	counter_inc(followed ? XTAP_G_FRAG_FOLLOWED : XTAP_G_FRAG_UNKNOWN);
	return followed;
}

/* Does a fragment record name (slot, uid)? A global function: the merge
 * below would otherwise be a 16 x 16 loop for the verifier to walk. */
__noinline int xtap_frag_has(const struct xtap_frag_val *v, __u32 slot, __u32 uid)
{
	__u32 n;

	if (!v)
		return 0;
	n = v->n;
	for (__u32 j = 0; j < XTAP_MAX_MATCH; j++) {
		if (j >= n)
			break;
		if (v->m[j].slot == slot && v->m[j].uid == uid)
			return 1;
	}
	return 0;
}

/* Record what a first fragment matched, for its later fragments. One that
 * matched nothing is recorded too (n = 0) when a criterion's addresses
 * matched it, so that the later fragments of a datagram a port criterion
 * left out are not copied as unread; such a record never replaces one with
 * matches. Another first fragment of the same datagram (duplicated or
 * overlapping, RFC 5722) adds its matches to the record: whichever copy the
 * receiver keeps, its criteria follow the datagram. */
__noinline int xtap_frag_record(struct xtap_cls_state *s)
{
	struct xtap_frag_key fk;
	struct xtap_frag_val *v;
	__u32 n, add;

	if (!s)
		return 0;
	frag_key(&fk, s);
	v = bpf_map_lookup_elem(&XTAP_MAP_FRAGS, &fk);
	if (!s->m.n) {
		if (v || !s->near)
			return 0;
		/* NOEXIST: a record with matches written meanwhile stays */
		if (!bpf_map_update_elem(&XTAP_MAP_FRAGS, &fk, &s->m, BPF_NOEXIST))
			counter_inc(XTAP_G_FRAG_RECORDED);
		return 0;
	}
	if (!v || !v->n) {
		if (bpf_map_update_elem(&XTAP_MAP_FRAGS, &fk, &s->m, BPF_ANY))
			counter_inc(XTAP_G_FRAG_RECORD_FAIL);
		else
			counter_inc(XTAP_G_FRAG_RECORDED);
		return 0;
	}
	add = s->m.n;
	for (__u32 i = 0; i < XTAP_MAX_MATCH; i++) {
		struct xtap_match_ref ref;

		if (i >= add)
			break;
		ref = s->m.m[i];
		if (xtap_frag_has(v, ref.slot, ref.uid))
			continue;
		n = v->n;
		if (n >= XTAP_MAX_MATCH) {
			counter_inc(XTAP_G_FRAG_RECORD_FAIL);
			break;
		}
		v->m[n] = ref;
		v->n = n + 1; /* in place, after the ref: a later fragment reads both */
	}
	counter_inc(XTAP_G_FRAG_RECORDED);
	return 0;
}

/* Classify s->pkt (parsed) for s->dir on the interface of s->ifbit. */
__noinline int xtap_classify(struct xtap_cls_state *s)
{
	struct xtap_exact_key ek;
	__u32 zero = 0, *present, bits, is6;

	if (!s)
		return 0;
	if (s->pkt.frag == FRAG_LATER && xtap_frag_follow(s))
		goto out; /* followed the record, or the record says: nothing */

	present = bpf_map_lookup_elem(&XTAP_MAP_PRESENT, &zero);
	if (!present)
		return 0;
	bits = *present;
	is6 = s->pkt.family == XTAP_AF_INET6;

	if (bits & XTAP_PRESENT_BIT(s->dir, is6, XTAP_ST_EXACT_SRC)) {
		exact_key(&ek, XTAP_SIDE_SRC, s, s->pkt.src);
		exact_scan(&ek, 1, s);
	}
	if (bits & XTAP_PRESENT_BIT(s->dir, is6, XTAP_ST_EXACT_DST)) {
		exact_key(&ek, XTAP_SIDE_DST, s, s->pkt.dst);
		exact_scan(&ek, 1, s);
	}
	if (bits & XTAP_PRESENT_BIT(s->dir, is6, XTAP_ST_PREFIX_SRC))
		plist_scan(xtap_ptrie_lookup(s, XTAP_SIDE_SRC), s);
	if (bits & XTAP_PRESENT_BIT(s->dir, is6, XTAP_ST_PREFIX_DST))
		plist_scan(xtap_ptrie_lookup(s, XTAP_SIDE_DST), s);
	if (bits & XTAP_PRESENT_BIT(s->dir, is6, XTAP_ST_WILD)) {
		exact_key(&ek, XTAP_SIDE_WILD, s, 0);
		exact_scan(&ek, 0, s);
	}

	if (s->pkt.frag == FRAG_FIRST)
		xtap_frag_record(s);
	if (s->unread_hits)
		counter_inc(XTAP_G_MATCH_UNREAD);
out:
	if (s->nmatch) {
		counter_inc(XTAP_G_MATCHED);
		counter_add(XTAP_G_MATCHED_BYTES, s->pkt.ip_len);
	}
	return s->nmatch;
}

/* Classify the packet parse_packet() left in s->pkt (err its result) for
 * dir on ifindex, counting why anything was not read. Only what is read
 * before written is zeroed (a 256-byte memset per packet is not free): the
 * CD list goes to XDP metadata whole, and the match list of a first
 * fragment goes to a map whole. */
static __always_inline int cls_run_parsed(struct xtap_cls_state *s, int err, __u32 dir, __u32 ifindex)
{
	counter_inc(XTAP_G_PACKETS);
	if (s->pkt.reason)
		counter_inc(s->pkt.reason);
	s->ncd = 0;
	__builtin_memset(s->cd, 0, sizeof(s->cd));
	if (err)
		return 0;
	s->dir = dir;
	s->ifindex = ifindex;
	s->if_known = 0;
	s->nmatch = 0;
	s->near = 0;
	s->unread_hits = 0;
	if (s->pkt.frag == FRAG_FIRST)
		__builtin_memset(&s->m, 0, sizeof(s->m));
	else
		s->m.n = 0;
	return xtap_classify(s);
}

/* Parse the packet in b (a linear frame: XDP) and classify it. */
static __always_inline int cls_run(struct xtap_cls_state *s, struct xtap_buf *b, __u32 dir, __u32 ifindex)
{
	return cls_run_parsed(s, parse_packet(b, &s->pkt), dir, ifindex);
}

#endif
