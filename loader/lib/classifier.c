// SPDX-License-Identifier: BSD-2-Clause
/*
 * Criteria into maps. See classifier.h for the contract and
 * docs/classifier.md for the structures and their bounds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "classifier.h"
#include "exact_dir.h"
#include "jmirror.h"
#include "prefix_dir.h"
#include "prefix_trie.h"

/* The large per-slot and pre-filter arrays: zeroed pages mapped lazily
 * (untouched slots cost nothing) and left out of every fork. The state's
 * compaction writer is a forked child that reads only the DTCP table: with
 * these arrays inherited, each ADD while it runs would copy-on-write a page
 * of them (a fault and a TLB shootdown), a third of xtapd's time at 100k. */
static void *arr_alloc(size_t n, size_t size)
{
	void *p;

	if (!n || n > SIZE_MAX / size)
		return NULL;
	p = mmap(NULL, n * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, n * size, MADV_DONTFORK); /* an optimisation: a failure changes nothing else */
	return p;
}

static void arr_free(void *p, size_t n, size_t size)
{
	if (p)
		munmap(p, n * size);
}

enum anchor { ANCHOR_NONE = 0, ANCHOR_EXACT, ANCHOR_PREFIX, ANCHOR_WILD };

enum vfield { VF_PROTO, VF_SPORT, VF_DPORT, VF_ITYPE, VF_ICODE, VF_COUNT };

/* What removal needs to know about an installed criterion. */
struct slot_rec {
	uint32_t uid;
	uint8_t anchor; /* enum anchor; ANCHOR_NONE when free */
	uint8_t side;
	uint8_t dir;
	uint8_t family;
	uint8_t plen; /* anchor prefix length */
	uint8_t source; /* control source (xtap_criterion.source) */
	uint8_t addr[16];
	uint32_t set[VF_COUNT];
	uint64_t ifbits; /* interfaces the scope names (IN/OUT) */
};

struct set_rec {
	uint32_t refs;
	uint32_t n;
	uint64_t hash;
	struct xtap_vrange *r;
};

struct iface_rec {
	uint32_t ifindex; /* 0: bit free */
	uint32_t refs; /* criteria whose scope names this interface */
	uint64_t groups;
};

struct cd_rec {
	uint32_t refs;
	struct xtap_cdest v; /* as written to the map (ip_id aside) */
};

struct xtap_cls {
	struct xtap_cls_maps m;
	uint32_t max, max_sets, max_cds;
	struct cd_rec *cds;
	int ncpus;
	struct slot_rec *slots;
	uint32_t next_unused, count, uid_next;
	uint32_t *ready, nready; /* free slots past a grace period */
	uint32_t *pending, npending; /* freed since the last grace period */
	struct set_rec *sets;
	struct trie trie;
	struct pdir *pd; /* the datapath's prefix arrays, kept in step with trie */
	struct xdir *xd; /* the datapath's exact index */
	int prefix_rebuilt; /* xtap_cls_adopt_done wrote the prefix arrays afresh */
	uint32_t present_cnt[2][2][XTAP_ST_COUNT]; /* dir, is6, structure */
	uint32_t present;
	struct iface_rec ifaces[XTAP_MAX_IFACES];
	int sync_outer, sync_inner;
	void *zero_stats;
	uint32_t stats_slots; /* slots per CPU in the stats map: entry cpu * stats_slots + slot */
	uint32_t *stats_keys; /* ncpus keys of one slot's counters */
	const struct xtap_rule *adopt_from; /* xtap_cls_adopt: the pinned rule */
	uint64_t *xf_words; /* the exact pre-filter as written to its map */
	uint8_t *xf_cnt; /* per bit: exact-anchored slots hashing to it */
	uint32_t xf_nwords; /* 0: no filter map */
};

static unsigned full_len(uint8_t family)
{
	return family == XTAP_AF_INET6 ? 128 : 32;
}

/* ---- grace periods ---------------------------------------------------------- */

/* The kernel waits for an RCU grace period (every running BPF program to
 * finish) after a syscall update of a map-of-maps: we borrow that wait. */
static int sync_init(struct xtap_cls *cls)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);

	cls->sync_inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xtap_sync_in", 4, 4, 1, NULL);
	if (cls->sync_inner < 0)
		return -errno;
	opts.inner_map_fd = cls->sync_inner;
	cls->sync_outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "xtap_sync", 4, 4, 1, &opts);
	if (cls->sync_outer < 0)
		return -errno;
	return 0;
}

int xtap_cls_sync(struct xtap_cls *cls)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(cls->sync_outer, &zero, &cls->sync_inner, BPF_ANY))
		return -errno;
	if (cls->pd)
		pdir_synced(cls->pd);
	if (cls->xd)
		xdir_synced(cls->xd);
	memcpy(cls->ready + cls->nready, cls->pending, cls->npending * sizeof(uint32_t));
	cls->nready += cls->npending;
	cls->npending = 0;
	return 0;
}

static int sync_cb(void *cls)
{
	return xtap_cls_sync(cls);
}

static void exact_key_of(const struct slot_rec *rec, struct xtap_exact_key *k);

/* ---- exact pre-filter (xtap.h) ----------------------------------------------------------- */

static int xf_init(struct xtap_cls *cls)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	if (cls->m.xfilter <= 0)
		return 0;
	if (bpf_obj_get_info_by_fd(cls->m.xfilter, &info, &len))
		return -errno;
	/* the programs mask the hash with words * 64 - 1: a power of two */
	if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != 8 || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1)) || info.max_entries > (1u << 26))
		return -EINVAL;
	cls->xf_nwords = info.max_entries;
	cls->xf_words = arr_alloc(cls->xf_nwords, sizeof(uint64_t));
	cls->xf_cnt = arr_alloc((size_t)cls->xf_nwords * 64, 1);
	if (!cls->xf_words || !cls->xf_cnt)
		return -ENOMEM;
	/* start from what the map holds: an adopted datapath's bits stay set
	 * until xtap_cls_adopt_done knows which rules are still wanted */
	for (uint32_t w = 0; w < cls->xf_nwords; w++)
		if (bpf_map_lookup_elem(cls->m.xfilter, &w, &cls->xf_words[w]))
			return -errno;
	return 0;
}

static uint32_t xf_bit(const struct xtap_cls *cls, const struct slot_rec *rec)
{
	struct xtap_exact_key k;

	exact_key_of(rec, &k);
	return xtap_xfilter_hash(&k) & (cls->xf_nwords * 64 - 1);
}

static int xf_write(struct xtap_cls *cls, uint32_t word)
{
	return bpf_map_update_elem(cls->m.xfilter, &word, &cls->xf_words[word], BPF_ANY) ? -errno : 0;
}

/* Count an exact-anchored slot; its bit is set (in the map when `write`)
 * before any index entry names the slot. A count at 255 stays there: a bit
 * that is set for nothing costs a lookup, never a match. */
static int xf_inc(struct xtap_cls *cls, const struct slot_rec *rec, int write)
{
	uint32_t b;

	if (!cls->xf_nwords || rec->anchor != ANCHOR_EXACT)
		return 0;
	b = xf_bit(cls, rec);
	if (cls->xf_cnt[b] == 255 || cls->xf_cnt[b]++)
		return 0;
	cls->xf_words[b / 64] |= 1ull << (b % 64);
	return write ? xf_write(cls, b / 64) : 0;
}

/* Uncount a slot whose index entry is gone; the last one clears the bit. */
static void xf_dec(struct xtap_cls *cls, const struct slot_rec *rec)
{
	uint32_t b;

	if (!cls->xf_nwords || rec->anchor != ANCHOR_EXACT)
		return;
	b = xf_bit(cls, rec);
	if (!cls->xf_cnt[b] || cls->xf_cnt[b] == 255 || --cls->xf_cnt[b])
		return;
	cls->xf_words[b / 64] &= ~(1ull << (b % 64));
	xf_write(cls, b / 64); /* on failure the bit stays set in the map: harmless */
}

/* ---- life cycle ---------------------------------------------------------------- */

struct xtap_cls *xtap_cls_new(const struct xtap_cls_maps *maps, uint32_t max_criteria, uint32_t max_sets)
{
	struct xtap_cls *cls = calloc(1, sizeof(*cls));

	if (!cls)
		return NULL;
	cls->m = *maps;
	cls->max = max_criteria;
	cls->max_sets = max_sets;
	cls->uid_next = 1;
	cls->sync_outer = cls->sync_inner = -1;
	cls->ncpus = libbpf_num_possible_cpus();
	if (cls->ncpus <= 0)
		goto fail;
	cls->slots = arr_alloc(max_criteria, sizeof(*cls->slots));
	cls->ready = arr_alloc(max_criteria, sizeof(uint32_t));
	cls->pending = arr_alloc(max_criteria, sizeof(uint32_t));
	cls->sets = calloc(max_sets, sizeof(*cls->sets));
	/* zeros for either per-CPU value: criterion or destination counters */
	cls->zero_stats = calloc(cls->ncpus, sizeof(struct xtap_cd_stats));
	cls->max_cds = XTAP_MAX_CDESTS_DEFAULT;
	if (maps->cdests > 0) { /* 0: the caller has no delivery maps */
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);

		if (bpf_obj_get_info_by_fd(maps->cdests, &info, &len))
			goto fail;
		cls->max_cds = info.max_entries;
	}
	cls->cds = calloc(cls->max_cds, sizeof(*cls->cds));
	cls->stats_keys = calloc(cls->ncpus, sizeof(uint32_t));
	if (!cls->slots || !cls->ready || !cls->pending || !cls->sets || !cls->zero_stats || !cls->cds ||
	    !cls->stats_keys)
		goto fail;
	{
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);

		/* the programs index it by the rules map's size (xtap_stats_slots) */
		if (bpf_obj_get_info_by_fd(maps->stats, &info, &len) ||
		    info.max_entries < max_criteria * (uint32_t)cls->ncpus)
			goto fail;
		cls->stats_slots = info.max_entries / (uint32_t)cls->ncpus;
	}
	if (sync_init(cls) || xf_init(cls))
		goto fail;
	cls->pd = pdir_new(&(struct pdir_maps){ maps->pnodes, maps->pleaf, maps->pchunk }, sync_cb, cls);
	if (!cls->pd)
		goto fail;
	cls->xd = xdir_new(&(struct xdir_maps){ maps->xbucket, maps->xentry, maps->xbstore }, sync_cb, cls);
	if (!cls->xd)
		goto fail;
	return cls;
fail:
	xtap_cls_free(cls);
	return NULL;
}

void xtap_cls_free(struct xtap_cls *cls)
{
	if (!cls)
		return;
	arr_free(cls->xf_words, cls->xf_nwords, sizeof(uint64_t));
	arr_free(cls->xf_cnt, (size_t)cls->xf_nwords * 64, 1);
	if (cls->sync_outer >= 0)
		close(cls->sync_outer);
	if (cls->sync_inner >= 0)
		close(cls->sync_inner);
	for (uint32_t i = 0; cls->sets && i < cls->max_sets; i++)
		free(cls->sets[i].r);
	trie_free(&cls->trie);
	pdir_free(cls->pd);
	xdir_free(cls->xd);
	arr_free(cls->slots, cls->max, sizeof(*cls->slots));
	arr_free(cls->ready, cls->max, sizeof(uint32_t));
	arr_free(cls->pending, cls->max, sizeof(uint32_t));
	free(cls->sets);
	free(cls->zero_stats);
	free(cls->stats_keys);
	free(cls->cds);
	free(cls);
}

/* ---- value sets ------------------------------------------------------------------- */

static int vrange_cmp(const void *a, const void *b)
{
	const struct xtap_vrange *x = a, *y = b;

	return x->lo != y->lo ? (x->lo < y->lo ? -1 : 1) : (x->hi < y->hi ? -1 : x->hi > y->hi);
}

/* Sorted, merged copy of v's ranges in *out (caller frees); returns count. */
static int values_canon(const struct xtap_values *v, unsigned maxval, struct xtap_vrange **out)
{
	struct xtap_vrange *r;
	unsigned n = 0;

	if (!v->n || !v->r)
		return -EINVAL;
	r = malloc(v->n * sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (unsigned i = 0; i < v->n; i++) {
		if (v->r[i].lo > v->r[i].hi || v->r[i].hi > maxval) {
			free(r);
			return -EINVAL;
		}
		r[i] = v->r[i];
	}
	qsort(r, v->n, sizeof(*r), vrange_cmp);
	for (unsigned i = 1; i < v->n; i++) {
		if ((uint32_t)r[i].lo <= (uint32_t)r[n].hi + 1) {
			if (r[i].hi > r[n].hi)
				r[n].hi = r[i].hi;
		} else {
			r[++n] = r[i];
		}
	}
	*out = r;
	return (int)n + 1;
}

static uint64_t ranges_hash(const struct xtap_vrange *r, unsigned n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (unsigned i = 0; i < n; i++) {
		h = (h ^ r[i].lo) * 1099511628211ull;
		h = (h ^ r[i].hi) * 1099511628211ull;
	}
	return h;
}

static void set_release(struct xtap_cls *cls, uint32_t set)
{
	struct set_rec *s;

	if (!set)
		return;
	s = &cls->sets[set - 1];
	if (--s->refs == 0) {
		/* the bitmap stays in the map: nothing names it any more */
		free(s->r);
		s->r = NULL;
		s->n = 0;
	}
}

/* The set id (1-based) holding exactly these canonical ranges; takes a reference. */
static int set_acquire(struct xtap_cls *cls, struct xtap_vrange *r, unsigned n, uint32_t *id)
{
	static struct xtap_set bm;
	uint64_t h = ranges_hash(r, n);
	uint32_t free_idx = UINT32_MAX;

	for (uint32_t i = 0; i < cls->max_sets; i++) {
		struct set_rec *s = &cls->sets[i];

		if (!s->refs) {
			if (free_idx == UINT32_MAX)
				free_idx = i;
			continue;
		}
		if (s->hash == h && s->n == n && !memcmp(s->r, r, n * sizeof(*r))) {
			s->refs++;
			*id = i + 1;
			free(r);
			return 0;
		}
	}
	if (free_idx == UINT32_MAX) {
		free(r);
		return -ENOSPC;
	}
	memset(&bm, 0, sizeof(bm));
	for (unsigned i = 0; i < n; i++)
		for (uint32_t v = r[i].lo; v <= r[i].hi; v++)
			bm.bits[v >> 3] |= 1 << (v & 7);
	if (bpf_map_update_elem(cls->m.sets, &free_idx, &bm, BPF_ANY)) {
		free(r);
		return -errno;
	}
	cls->sets[free_idx] = (struct set_rec){ .refs = 1, .n = n, .hash = h, .r = r };
	*id = free_idx + 1;
	return 0;
}

/* Take over the set a pinned rule names (xtap_cls_adopt): its number is
 * kept, so the pinned rule and its bitmap stay as they are. */
static int set_adopt(struct xtap_cls *cls, struct xtap_vrange *r, unsigned n, uint32_t id)
{
	struct set_rec *s;

	if (!id || id > cls->max_sets) {
		free(r);
		return -ESTALE;
	}
	s = &cls->sets[id - 1];
	if (s->refs) {
		int same = s->n == n && !memcmp(s->r, r, n * sizeof(*r));

		free(r);
		if (!same)
			return -ESTALE;
		s->refs++;
		return 0;
	}
	*s = (struct set_rec){ .refs = 1, .n = n, .hash = ranges_hash(r, n), .r = r };
	return 0;
}

/* Encode one value field; *anyflag set when "any". have: the same field of
 * the pinned rule when adopting, else NULL. */
static int valset_encode(struct xtap_cls *cls, const struct xtap_values *v, unsigned maxval, struct xtap_valset *out,
			 uint32_t *set, int *any, const struct xtap_valset *have)
{
	struct xtap_vrange *r;
	int n;

	memset(out, 0, sizeof(*out));
	*set = 0;
	*any = v->any;
	if (v->any)
		return 0;
	n = values_canon(v, maxval, &r);
	if (n < 0)
		return n;
	if (n == 1) {
		out->lo = r[0].lo;
		out->hi = r[0].hi;
		free(r);
		return 0;
	}
	if (have) {
		*set = have->set;
		n = set_adopt(cls, r, (unsigned)n, *set);
	} else {
		n = set_acquire(cls, r, (unsigned)n, set);
	}
	if (n)
		return n;
	out->set = *set;
	return 0;
}

/* ---- rules ---------------------------------------------------------------------------- */

static void mask_addr(uint8_t *a, unsigned plen)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = plen > 8 * i ? plen - 8 * i : 0;

		if (keep < 8)
			a[i] &= keep ? (uint8_t)(0xff << (8 - keep)) : 0;
	}
}

static int scope_encode(struct xtap_cls *cls, const struct xtap_criterion *c, struct xtap_rule *r, uint64_t *ifbits)
{
	*ifbits = 0;
	r->scope = c->scope;
	switch (c->scope) {
	case XTAP_SCOPE_ANY: return c->nif ? -EINVAL : 0;
	case XTAP_SCOPE_IN:
	case XTAP_SCOPE_OUT:
		if (!c->nif || c->nif > 8)
			return -EINVAL;
		for (unsigned i = 0; i < c->nif; i++) {
			unsigned b;

			for (b = 0; b < XTAP_MAX_IFACES; b++)
				if (cls->ifaces[b].ifindex && cls->ifaces[b].ifindex == c->ifindex[i])
					break;
			if (b == XTAP_MAX_IFACES)
				return -ENODEV;
			*ifbits |= 1ull << b;
		}
		r->scope_mask = *ifbits;
		return 0;
	case XTAP_SCOPE_GROUP:
		if (!c->groups || c->nif)
			return -EINVAL;
		r->scope_mask = c->groups;
		return 0;
	}
	return -EINVAL;
}

static void rec_release_sets(struct xtap_cls *cls, struct slot_rec *rec)
{
	for (int i = 0; i < VF_COUNT; i++) {
		set_release(cls, rec->set[i]);
		rec->set[i] = 0;
	}
}

/* Build the BPF rule and the removal record; takes set references. */
static int rule_build(struct xtap_cls *cls, const struct xtap_criterion *c, struct xtap_rule *r, struct slot_rec *rec)
{
	static const uint16_t any_flag[VF_COUNT] = {
		XTAP_R_PROTO_ANY, XTAP_R_SPORT_ANY, XTAP_R_DPORT_ANY, XTAP_R_ITYPE_ANY, XTAP_R_ICODE_ANY,
	};
	const struct xtap_values *vals[VF_COUNT] = { &c->proto, &c->sport, &c->dport, &c->itype, &c->icode };
	struct xtap_valset *vs[VF_COUNT] = { &r->proto, &r->sport, &r->dport, &r->itype, &r->icode };
	const struct xtap_rule *a = cls->adopt_from;
	const struct xtap_valset *have[VF_COUNT] = { a ? &a->proto : NULL, a ? &a->sport : NULL, a ? &a->dport : NULL,
						     a ? &a->itype : NULL, a ? &a->icode : NULL };
	static const unsigned maxval[VF_COUNT] = { 255, 65535, 65535, 255, 255 };
	unsigned full;
	int err, any;

	memset(r, 0, sizeof(*r));
	memset(rec, 0, sizeof(*rec));
	if (c->family != XTAP_AF_INET && c->family != XTAP_AF_INET6)
		return -EINVAL;
	full = full_len(c->family);
	if (c->src_plen > full || c->dst_plen > full || c->ncd > XTAP_MAX_CD_PER_CRIT || c->source >= XTAP_MAX_SOURCES)
		return -EINVAL;
	r->family = c->family;
	r->src_plen = c->src_plen;
	r->dst_plen = c->dst_plen;
	memcpy(r->src, c->src, 16);
	memcpy(r->dst, c->dst, 16);
	mask_addr(r->src, c->src_plen);
	mask_addr(r->dst, c->dst_plen);
	r->ncd = c->ncd;
	memcpy(r->cd, c->cd, c->ncd * sizeof(c->cd[0]));
	err = scope_encode(cls, c, r, &rec->ifbits);
	if (err)
		return err;
	r->flags = XTAP_R_ACTIVE;
	for (int i = 0; i < VF_COUNT; i++) {
		err = valset_encode(cls, vals[i], maxval[i], vs[i], &rec->set[i], &any, have[i]);
		if (err) {
			rec_release_sets(cls, rec);
			return err;
		}
		if (any)
			r->flags |= any_flag[i];
	}

	/* The anchor is the more specific address; the other one is compared. */
	rec->family = c->family;
	rec->source = c->source;
	rec->dir = c->scope == XTAP_SCOPE_OUT ? XTAP_DIR_OUT : XTAP_DIR_IN;
	if (!c->src_plen && !c->dst_plen) {
		rec->anchor = ANCHOR_WILD;
		rec->side = XTAP_SIDE_WILD;
	} else {
		rec->side = c->src_plen >= c->dst_plen ? XTAP_SIDE_SRC : XTAP_SIDE_DST;
		rec->plen = rec->side == XTAP_SIDE_SRC ? c->src_plen : c->dst_plen;
		memcpy(rec->addr, rec->side == XTAP_SIDE_SRC ? r->src : r->dst, 16);
		rec->anchor = rec->plen == full ? ANCHOR_EXACT : ANCHOR_PREFIX;
	}
	if (rec->side != XTAP_SIDE_SRC && c->src_plen)
		r->flags |= XTAP_R_CHECK_SRC;
	if (rec->side != XTAP_SIDE_DST && c->dst_plen)
		r->flags |= XTAP_R_CHECK_DST;
	return 0;
}

/* ---- present bits ------------------------------------------------------------------------ */

static int present_struct(const struct slot_rec *rec)
{
	if (rec->anchor == ANCHOR_WILD)
		return XTAP_ST_WILD;
	if (rec->anchor == ANCHOR_EXACT)
		return rec->side == XTAP_SIDE_SRC ? XTAP_ST_EXACT_SRC : XTAP_ST_EXACT_DST;
	return rec->side == XTAP_SIDE_SRC ? XTAP_ST_PREFIX_SRC : XTAP_ST_PREFIX_DST;
}

static int present_write(struct xtap_cls *cls, uint32_t bits)
{
	uint32_t zero = 0;

	if (bits == cls->present)
		return 0;
	if (bpf_map_update_elem(cls->m.present, &zero, &bits, BPF_ANY))
		return -errno;
	cls->present = bits;
	return 0;
}

/* Set before the first entry of a structure is written... */
static int present_get(struct xtap_cls *cls, const struct slot_rec *rec)
{
	int is6 = rec->family == XTAP_AF_INET6, st = present_struct(rec);
	int err;

	if (cls->present_cnt[rec->dir][is6][st] == 0) {
		err = present_write(cls, cls->present | XTAP_PRESENT_BIT(rec->dir, is6, st));
		if (err)
			return err;
	}
	cls->present_cnt[rec->dir][is6][st]++;
	return 0;
}

/* ...and cleared after its last entry is gone. */
static void present_put(struct xtap_cls *cls, const struct slot_rec *rec)
{
	int is6 = rec->family == XTAP_AF_INET6, st = present_struct(rec);

	if (--cls->present_cnt[rec->dir][is6][st] == 0)
		present_write(cls, cls->present & ~XTAP_PRESENT_BIT(rec->dir, is6, st));
}

/* ---- exact and wildcard index ---------------------------------------------------------------- */

static void exact_key_of(const struct slot_rec *rec, struct xtap_exact_key *k)
{
	memset(k, 0, sizeof(*k));
	k->kind = XTAP_KIND(rec->side, rec->dir);
	k->family = rec->family;
	if (rec->anchor == ANCHOR_EXACT)
		memcpy(k->addr, rec->addr, 16);
}

/* Slot's rule as the rules map holds it. */
static int rule_read(const struct xtap_cls *cls, uint32_t slot, struct xtap_rule *r)
{
	return bpf_map_lookup_elem(cls->m.rules, &slot, r) ? -errno : 0;
}

/* The criterion in slot joins its key's list, last (a new chain is
 * written and swapped in: xtap.h "Exact index"), if its source has room
 * there: at most XTAP_CAND_PER_SOURCE of one source per key, so that no
 * source can refuse another's ADDs on an address or the wildcard set. */
static int entry_add(struct xtap_cls *cls, const struct slot_rec *rec, uint32_t slot)
{
	struct xtap_exact_key k;
	struct xlist l;
	uint32_t mine = 0;
	int err;

	exact_key_of(rec, &k);
	err = xdir_get(cls->xd, &k, &l);
	if (err == -ENOENT) {
		memset(&l.rule, 0, sizeof(l.rule));
		l.key = k;
		l.n = 0;
	} else if (err) {
		return err;
	}
	for (uint32_t i = 0; i < l.n; i++)
		mine += l.slot[i] < cls->max && cls->slots[l.slot[i]].source == rec->source;
	if (mine >= XTAP_CAND_PER_SOURCE || l.n >= XTAP_X_MAX)
		return -ENOSPC;
	l.slot[l.n++] = slot;
	if (l.n == 1 && (err = rule_read(cls, slot, &l.rule)))
		return err;
	return xdir_set(cls->xd, &l);
}

static int exact_add(struct xtap_cls *cls, const struct slot_rec *rec, uint32_t slot)
{
	int err;

	/* the pre-filter bit before the entry that needs it */
	if ((err = xf_inc(cls, rec, 1)))
		return err;
	if ((err = entry_add(cls, rec, slot)))
		xf_dec(cls, rec);
	return err;
}

/* Drop slot i from list l (its key's, as read): the others keep their
 * order; a new first slot's rule is copied in. 0: l holds nothing now. */
static int entry_drop(const struct xtap_cls *cls, struct xlist *l, uint32_t i)
{
	int err;

	memmove(&l->slot[i], &l->slot[i + 1], (l->n - i - 1) * sizeof(l->slot[0]));
	if (!--l->n)
		return 0;
	if (i == 0 && (err = rule_read(cls, l->slot[0], &l->rule)))
		return err;
	return 1;
}

static int exact_del(struct xtap_cls *cls, const struct slot_rec *rec, uint32_t slot)
{
	struct xtap_exact_key k;
	struct xlist l;
	uint32_t i;
	int err;

	exact_key_of(rec, &k);
	if ((err = xdir_get(cls->xd, &k, &l)))
		return err;
	for (i = 0; i < l.n && l.slot[i] != slot; i++)
		;
	if (i == l.n)
		return -ENOENT;
	if ((err = entry_drop(cls, &l, i)) < 0)
		return err;
	if ((err = err ? xdir_set(cls->xd, &l) : xdir_del(cls->xd, &k)))
		return err;
	xf_dec(cls, rec);
	return 0;
}

/* ---- prefix index ------------------------------------------------------------------------- */

static void trie_key_of(const struct slot_rec *rec, uint8_t *key)
{
	key[0] = XTAP_KIND(rec->side, rec->dir);
	key[1] = rec->family;
	memcpy(key + 2, rec->addr, 16);
}

/* Criteria of one control source that an address under entry n meets in
 * its list: n's own and every covering entry's (docs/classifier.md). */
static unsigned source_count(const struct xtap_cls *cls, const struct trie_node *n, uint8_t source)
{
	unsigned k = 0;

	for (; n; n = trie_entry_parent(n))
		for (uint32_t i = 0; i < n->nown; i++)
			k += cls->slots[n->own[i]].source == source;
	return k;
}

struct walk_arg {
	struct xtap_cls *cls;
	uint8_t source;
};

/* One more criterion of the source above each entry must fit its share. */
static int check_room(struct trie_node *n, void *arg)
{
	struct walk_arg *w = arg;

	return source_count(w->cls, n, w->source) + 1 > XTAP_CAND_PER_SOURCE ? -ENOSPC : 0;
}

static int prefix_add(struct xtap_cls *cls, const struct slot_rec *rec, uint32_t slot)
{
	uint8_t key[TRIE_KEY_BYTES];
	struct walk_arg w = { cls, rec->source };
	struct trie_node *n;
	int created, err;

	trie_key_of(rec, key);
	n = trie_find(&cls->trie, key, TRIE_HDR_BITS + rec->plen);
	created = !n;
	if (created && !(n = trie_insert(&cls->trie, key, TRIE_HDR_BITS + rec->plen)))
		return -ENOMEM;
	/* the new criterion's source is not in cls->slots yet: counted as the + 1 */
	err = check_room(n, &w);
	if (!err)
		err = trie_walk_below(n, check_room, &w);
	if (!err)
		err = trie_own_add(n, slot);
	if (!err)
		err = created ? pdir_entry_new(cls->pd, n, &cls->trie) : pdir_entry_own(cls->pd, n);
	if (err) {
		trie_own_del(n, slot);
		if (created)
			trie_remove(&cls->trie, n);
	}
	return err;
}

static int prefix_del(struct xtap_cls *cls, const struct slot_rec *rec, uint32_t slot)
{
	uint8_t key[TRIE_KEY_BYTES];
	struct trie_node *n;
	int err;

	trie_key_of(rec, key);
	n = trie_find(&cls->trie, key, TRIE_HDR_BITS + rec->plen);
	if (!n)
		return -ENOENT;
	if ((err = trie_own_del(n, slot)))
		return err;
	err = n->nown ? pdir_entry_own(cls->pd, n) : pdir_entry_del(cls->pd, n, &cls->trie);
	if (err)
		trie_own_add(n, slot); /* nothing changed: the criterion stays */
	return err;
}

/* ---- slots ------------------------------------------------------------------------------- */

static int slot_alloc(struct xtap_cls *cls, uint32_t *slot)
{
	if (!cls->nready && cls->next_unused < cls->max) {
		*slot = cls->next_unused++;
		return 0;
	}
	if (!cls->nready && cls->npending) {
		int err = xtap_cls_sync(cls);

		if (err)
			return err;
	}
	if (!cls->nready)
		return -ENOSPC;
	*slot = cls->ready[--cls->nready];
	return 0;
}

/* A slot's counters on every CPU, zeroed in one call. */
static int stats_zero(struct xtap_cls *cls, uint32_t slot)
{
	uint32_t count = (uint32_t)cls->ncpus;

	for (int c = 0; c < cls->ncpus; c++)
		cls->stats_keys[c] = (uint32_t)c * cls->stats_slots + slot;
	return bpf_map_update_batch(cls->m.stats, cls->stats_keys, cls->zero_stats, &count, NULL) ? -1 : 0;
}

static int rule_clear(struct xtap_cls *cls, uint32_t slot)
{
	struct xtap_rule r;

	memset(&r, 0, sizeof(r));
	return bpf_map_update_elem(cls->m.rules, &slot, &r, BPF_ANY) ? -errno : 0;
}

/* ---- public ---------------------------------------------------------------------------------- */

static int index_add(struct xtap_cls *cls, const struct slot_rec *rec, uint32_t slot)
{
	return rec->anchor == ANCHOR_PREFIX ? prefix_add(cls, rec, slot) : exact_add(cls, rec, slot);
}

static int index_del(struct xtap_cls *cls, const struct slot_rec *rec, uint32_t slot)
{
	return rec->anchor == ANCHOR_PREFIX ? prefix_del(cls, rec, slot) : exact_del(cls, rec, slot);
}

static void iface_refs(struct xtap_cls *cls, uint64_t bits, int delta)
{
	for (unsigned b = 0; b < XTAP_MAX_IFACES; b++)
		if (bits & (1ull << b))
			cls->ifaces[b].refs += delta;
}

int xtap_cls_add(struct xtap_cls *cls, const struct xtap_criterion *c, uint32_t *slot_out)
{
	struct slot_rec rec;
	struct xtap_rule r;
	uint32_t slot;
	int err;

	err = rule_build(cls, c, &r, &rec);
	if (err)
		return err;
	err = slot_alloc(cls, &slot);
	if (err)
		goto out_sets;
	rec.uid = r.uid = cls->uid_next++;
	/* counters, then the rule, then the index: nothing can reach the slot
	 * before it is complete */
	if (stats_zero(cls, slot) || bpf_map_update_elem(cls->m.rules, &slot, &r, BPF_ANY)) {
		err = -errno;
		goto out_slot;
	}
	err = present_get(cls, &rec);
	if (err)
		goto out_rule;
	err = index_add(cls, &rec, slot);
	if (err) {
		present_put(cls, &rec);
		goto out_rule;
	}
	cls->slots[slot] = rec;
	iface_refs(cls, rec.ifbits, 1);
	cls->count++;
	*slot_out = slot;
	return 0;

out_rule:
	rule_clear(cls, slot);
out_slot:
	/* never indexed: no packet can have seen it, reusable at once */
	cls->ready[cls->nready++] = slot;
out_sets:
	rec_release_sets(cls, &rec);
	return err;
}

int xtap_cls_del(struct xtap_cls *cls, uint32_t slot)
{
	struct slot_rec *rec;
	int err;

	if (slot >= cls->max || cls->slots[slot].anchor == ANCHOR_NONE)
		return -ENOENT;
	rec = &cls->slots[slot];
	err = index_del(cls, rec, slot);
	if (err)
		return err;
	present_put(cls, rec);
	/* inactive for fragment records that still name the slot */
	rule_clear(cls, slot);
	rec_release_sets(cls, rec);
	iface_refs(cls, rec->ifbits, -1);
	memset(rec, 0, sizeof(*rec));
	cls->pending[cls->npending++] = slot;
	cls->count--;
	return 0;
}

uint32_t xtap_cls_uid(const struct xtap_cls *cls, uint32_t slot)
{
	return slot < cls->max ? cls->slots[slot].uid : 0;
}

uint32_t xtap_cls_count(const struct xtap_cls *cls)
{
	return cls->count;
}

static void stats_add(struct xtap_crit_stats *sum, const struct xtap_crit_stats *v)
{
	sum->packets += v->packets;
	sum->bytes += v->bytes;
	if (v->last_ns > sum->last_ns)
		sum->last_ns = v->last_ns;
}

int xtap_cls_stats(struct xtap_cls *cls, uint32_t slot, struct xtap_crit_stats *sum)
{
	struct xtap_crit_stats v;

	memset(sum, 0, sizeof(*sum));
	if (slot >= cls->stats_slots)
		return -EINVAL;
	for (int c = 0; c < cls->ncpus; c++) {
		uint32_t key = (uint32_t)c * cls->stats_slots + slot;

		if (bpf_map_lookup_elem(cls->m.stats, &key, &v))
			return -errno;
		stats_add(sum, &v);
	}
	return 0;
}

#define STATS_RUN 256 /* slots per batch lookup, one CPU at a time: 32 bytes each */

static const uint32_t *sort_slots; /* qsort has no argument: for cmp_slot only */

static int cmp_slot(const void *a, const void *b)
{
	uint32_t x = sort_slots[*(const size_t *)a], y = sort_slots[*(const size_t *)b];

	return x < y ? -1 : x > y;
}

/* Counters of slots first .. first + count - 1 on CPU c, in one call: 0
 * when all were read, else -1 (the caller reads them one by one). */
static int stats_run(struct xtap_cls *cls, int c, uint32_t first, uint32_t count, uint32_t *keys,
		     struct xtap_crit_stats *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t key = (uint32_t)c * cls->stats_slots + first, prev = key - 1, next, got = count;

	/* the batch starts after in_batch: the key before the first */
	if (bpf_map_lookup_batch(cls->m.stats, key ? &prev : NULL, &next, keys, out, &got, &opts) &&
	    errno != ENOENT) /* ENOENT: the end of the map, got is what was read */
		return -1;
	return got == count && keys[0] == key ? 0 : -1;
}

int xtap_cls_stats_many(struct xtap_cls *cls, const uint32_t *slots, size_t n, struct xtap_crit_stats *sums)
{
	size_t *order = malloc((n ? n : 1) * sizeof(*order));
	uint32_t keys[STATS_RUN];
	struct xtap_crit_stats *per = calloc(STATS_RUN, sizeof(*per));
	int err = 0;

	if (!order || !per) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		memset(&sums[i], 0, sizeof(sums[i]));
	}
	sort_slots = slots;
	qsort(order, n, sizeof(*order), cmp_slot);
	for (size_t i = 0, end; i < n && !err; i = end) {
		uint32_t first = slots[order[i]], count;

		if (first >= cls->stats_slots) {
			err = -EINVAL;
			break;
		}
		count = cls->stats_slots - first < STATS_RUN ? cls->stats_slots - first : STATS_RUN;
		for (end = i; end < n && slots[order[end]] < first + count; end++)
			;
		for (int c = 0; c < cls->ncpus && !err; c++) {
			if (stats_run(cls, c, first, count, keys, per)) { /* not the run asked for: one by one */
				for (size_t j = i; j < end && !err; j++)
					err = xtap_cls_stats(cls, slots[order[j]], &sums[order[j]]);
				break;
			}
			for (size_t j = i; j < end; j++)
				stats_add(&sums[order[j]], &per[slots[order[j]] - first]);
		}
	}
out:
	free(order);
	free(per);
	return err;
}

int xtap_cls_counters(struct xtap_cls *cls, uint64_t *out)
{
	uint64_t *per = calloc(cls->ncpus, sizeof(*per));

	if (!per)
		return -ENOMEM;
	for (uint32_t i = 0; i < XTAP_G_COUNT; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(cls->m.counters, &i, per)) {
			free(per);
			return -errno;
		}
		for (int c = 0; c < cls->ncpus; c++)
			out[i] += per[c];
	}
	free(per);
	return 0;
}

int xtap_cls_iface_add(struct xtap_cls *cls, uint32_t ifindex, uint64_t groups)
{
	struct xtap_iface v = { .groups = groups };
	unsigned b, free_bit = XTAP_MAX_IFACES;

	if (!ifindex)
		return -EINVAL;
	for (b = 0; b < XTAP_MAX_IFACES; b++) {
		if (cls->ifaces[b].ifindex == ifindex)
			break;
		if (!cls->ifaces[b].ifindex && free_bit == XTAP_MAX_IFACES)
			free_bit = b;
	}
	/* an interface already in the (pinned) map keeps its bit: the rules
	 * of the running datapath name it by that bit */
	if (b == XTAP_MAX_IFACES && !bpf_map_lookup_elem(cls->m.ifaces, &ifindex, &v) && v.bit < XTAP_MAX_IFACES &&
	    !cls->ifaces[v.bit].ifindex)
		b = v.bit;
	v.groups = groups;
	if (b == XTAP_MAX_IFACES)
		b = free_bit;
	if (b == XTAP_MAX_IFACES)
		return -ENOSPC;
	v.bit = b;
	if (bpf_map_update_elem(cls->m.ifaces, &ifindex, &v, BPF_ANY))
		return -errno;
	cls->ifaces[b].ifindex = ifindex;
	cls->ifaces[b].groups = groups;
	return 0;
}

/* ---- adopting a running datapath ----------------------------------------------------- */

int xtap_cls_adopt(struct xtap_cls *cls, const struct xtap_criterion *c, uint32_t slot, uint32_t uid)
{
	struct xtap_rule have, want;
	struct slot_rec rec;
	uint32_t zero = 0;
	int err;

	if (slot >= cls->max || cls->slots[slot].anchor != ANCHOR_NONE || !uid)
		return -EINVAL;
	if (bpf_map_lookup_elem(cls->m.rules, &slot, &have))
		return -errno;
	if (!(have.flags & XTAP_R_ACTIVE) || have.uid != uid)
		return -ESTALE;
	cls->adopt_from = &have;
	err = rule_build(cls, c, &want, &rec);
	cls->adopt_from = NULL;
	if (err)
		return err;
	want.uid = uid;
	if (memcmp(&want, &have, sizeof(want))) {
		/* the pinned rule is not this criterion: the caller reinstalls */
		rec_release_sets(cls, &rec);
		return -ESTALE;
	}
	rec.uid = uid;
	if (rec.anchor == ANCHOR_PREFIX) {
		uint8_t key[TRIE_KEY_BYTES];
		struct trie_node *n;

		trie_key_of(&rec, key);
		n = trie_insert(&cls->trie, key, TRIE_HDR_BITS + rec.plen);
		if (!n || trie_own_add(n, slot)) {
			rec_release_sets(cls, &rec);
			return -ENOMEM;
		}
	}
	xf_inc(cls, &rec, 0); /* the map is rewritten whole by xtap_cls_adopt_done */
	cls->present_cnt[rec.dir][rec.family == XTAP_AF_INET6][present_struct(&rec)]++;
	if (bpf_map_lookup_elem(cls->m.present, &zero, &cls->present))
		cls->present = 0;
	cls->slots[slot] = rec;
	iface_refs(cls, rec.ifbits, 1);
	cls->count++;
	if (uid >= cls->uid_next)
		cls->uid_next = uid + 1;
	if (slot >= cls->next_unused)
		cls->next_unused = slot + 1;
	return 0;
}

/* xtap_cls_sweep's pass over the exact index: an entry keeps only the
 * slots this library adopted, in their order, and a copy of its first
 * slot's rule as the rules map holds it. */
struct xsweep {
	struct xtap_cls *cls;
	uint8_t *seen; /* per slot: in its key's entry */
	uint32_t changed;
};

static int exact_sweep_one(const struct xlist *have, void *arg)
{
	struct xsweep *sw = arg;
	struct xtap_cls *cls = sw->cls;
	struct xlist l;
	uint32_t n = 0;
	int err;

	l.key = have->key;
	for (uint32_t i = 0; i < have->n; i++) {
		uint32_t s = have->slot[i];
		struct xtap_exact_key k;

		if (s >= cls->max || cls->slots[s].anchor == ANCHOR_NONE || cls->slots[s].anchor == ANCHOR_PREFIX ||
		    sw->seen[s])
			continue;
		exact_key_of(&cls->slots[s], &k);
		if (memcmp(&k, &have->key, sizeof(k)))
			continue; /* another key's criterion: it joins its own */
		l.slot[n++] = s;
		sw->seen[s] = 1;
	}
	l.n = n;
	if (!n) {
		sw->changed++;
		return xdir_del(cls->xd, &l.key);
	}
	if ((err = rule_read(cls, l.slot[0], &l.rule)))
		return err;
	if (n == have->n && !memcmp(l.slot, have->slot, n * sizeof(l.slot[0])) &&
	    !memcmp(&l.rule, &have->rule, sizeof(l.rule)))
		return 0;
	sw->changed++;
	return xdir_set(cls->xd, &l);
}

/* The exact index holds exactly the adopted exact and wildcard criteria:
 * others leave their entries, an adopted one no entry holds (its index
 * write lost) joins its key's. */
static int exact_sweep(struct xtap_cls *cls, uint32_t *changed)
{
	struct xsweep sw = { cls, calloc(cls->max ? cls->max : 1, 1), 0 };
	int err = -ENOMEM;

	if (!sw.seen)
		return err;
	if ((err = xdir_foreach(cls->xd, exact_sweep_one, &sw)))
		goto out;
	for (uint32_t s = 0; s < cls->next_unused; s++) {
		const struct slot_rec *rec = &cls->slots[s];

		if (rec->anchor == ANCHOR_NONE || rec->anchor == ANCHOR_PREFIX || sw.seen[s])
			continue;
		/* its pre-filter bit comes with xtap_cls_adopt_done */
		if ((err = entry_add(cls, rec, s)))
			goto out;
		sw.changed++;
	}
	*changed += sw.changed;
out:
	free(sw.seen);
	return err;
}

/* rules read per batch by xtap_cls_sweep: 448 KiB */
#define SWEEP_RUN 4096u

int xtap_cls_sweep(struct xtap_cls *cls, uint32_t *removed)
{
	struct xtap_rule *rules = NULL;
	uint32_t changed = 0, *keys = NULL;
	int err;

	*removed = 0;
	/* first out of every index (no packet reaches them), then the rules */
	/* the prefix arrays hold only adopted criteria since xtap_cls_adopt_done */
	if ((err = exact_sweep(cls, &changed)))
		return err;
	if ((err = xtap_cls_sync(cls)))
		return err;
	/* the whole rules map in batches of SWEEP_RUN: one lookup per slot was
	 * 1M syscalls, about 3 s of every adopting start */
	keys = malloc(SWEEP_RUN * sizeof(*keys));
	rules = malloc(SWEEP_RUN * sizeof(*rules));
	if (!keys || !rules) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t first = 0; first < cls->max;) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		uint32_t prev = first - 1, next, count = cls->max - first < SWEEP_RUN ? cls->max - first : SWEEP_RUN;

		/* the batch starts after in_batch: the key before the first */
		if (bpf_map_lookup_batch(cls->m.rules, first ? &prev : NULL, &next, keys, rules, &count, &opts) &&
		    errno != ENOENT) { /* ENOENT: the end of the map, count is what was read */
			err = -errno;
			goto out;
		}
		if (!count || keys[0] != first) { /* not the run asked for: this slot alone */
			if (bpf_map_lookup_elem(cls->m.rules, &first, &rules[0])) {
				err = -errno;
				goto out;
			}
			keys[0] = first;
			count = 1;
		}
		for (uint32_t i = 0; i < count; i++) {
			uint32_t slot = keys[i];

			if (slot >= cls->max || cls->slots[slot].anchor != ANCHOR_NONE ||
			    !(rules[i].flags & XTAP_R_ACTIVE))
				continue;
			if ((err = rule_clear(cls, slot)))
				goto out;
			(*removed)++;
		}
		first = keys[count - 1] + 1;
		if (first <= keys[0]) /* wrapped: the last slot was read */
			break;
	}
out:
	free(keys);
	free(rules);
	return err;
}

void xtap_cls_forget(struct xtap_cls *cls, uint32_t slot)
{
	struct slot_rec *rec;

	if (slot >= cls->max || cls->slots[slot].anchor == ANCHOR_NONE)
		return;
	rec = &cls->slots[slot];
	if (rec->anchor == ANCHOR_PREFIX) {
		uint8_t key[TRIE_KEY_BYTES];
		struct trie_node *n;

		trie_key_of(rec, key);
		n = trie_find(&cls->trie, key, TRIE_HDR_BITS + rec->plen);
		if (n && !trie_own_del(n, slot) && !n->nown)
			trie_remove(&cls->trie, n);
	}
	cls->present_cnt[rec->dir][rec->family == XTAP_AF_INET6][present_struct(rec)]--;
	rec_release_sets(cls, rec);
	iface_refs(cls, rec->ifbits, -1);
	memset(rec, 0, sizeof(*rec));
	cls->count--;
}

void xtap_cls_prefix_usage(const struct xtap_cls *cls, struct xtap_cls_pusage *u)
{
	struct pdir_usage pu;

	pdir_usage(cls->pd, &pu);
	*u = (struct xtap_cls_pusage){
		pu.nodes,     pu.leaves,     pu.entries,     pu.chunks,	    pu.bytes,
		pu.max_nodes, pu.max_leaves, pu.max_entries, pu.max_chunks, (uint32_t)cls->prefix_rebuilt
	};
}

void xtap_cls_exact_usage(const struct xtap_cls *cls, struct xtap_cls_xusage *u)
{
	struct xdir_usage x;

	xdir_usage(cls->xd, &x);
	*u = (struct xtap_cls_xusage){ x.keys, x.max_keys, x.buckets, x.spilled, x.refused };
}

const struct xtap_cls_maps *xtap_cls_maps_of(const struct xtap_cls *cls)
{
	return &cls->m;
}

int xtap_cls_adopt_done(struct xtap_cls *cls)
{
	int err;

	/* the prefix arrays taken over as they are when they hold exactly the
	 * adopted criteria; else rebuilt (criteria nobody adopted leave) */
	if ((err = pdir_adopt(cls->pd, &cls->trie, &cls->prefix_rebuilt)))
		return err;
	/* slots below the highest adopted one that no rule holds are free, and
	 * have been since before this start: reusable without a grace period */
	cls->nready = 0;
	for (uint32_t s = cls->next_unused; s-- > 0;)
		if (cls->slots[s].anchor == ANCHOR_NONE)
			cls->ready[cls->nready++] = s;
	/* the pre-filter from the counts alone: bits only rules nobody adopted
	 * needed go (those rules are swept), every adopted rule's bit stays */
	for (uint32_t w = 0; w < cls->xf_nwords; w++) {
		uint64_t v = 0;

		for (uint32_t b = 0; b < 64; b++)
			if (cls->xf_cnt[w * 64 + b])
				v |= 1ull << b;
		if (v != cls->xf_words[w]) {
			cls->xf_words[w] = v;
			if ((err = xf_write(cls, w)))
				return err;
		}
	}
	return 0;
}

int xtap_cls_cd_adopt(struct xtap_cls *cls, uint16_t index)
{
	uint32_t i = index;

	if (i >= cls->max_cds)
		return -EINVAL;
	if (!cls->cds[i].refs) {
		if (bpf_map_lookup_elem(cls->m.cdests, &i, &cls->cds[i].v))
			return -errno;
		if (!cls->cds[i].v.active)
			return -ESTALE;
		cls->cds[i].v.ip_id = 0; /* compared without the running counter */
	}
	cls->cds[i].refs++;
	return 0;
}

void xtap_cls_cd_forget(struct xtap_cls *cls, uint16_t index)
{
	uint32_t i = index;

	if (i < cls->max_cds && cls->cds[i].refs && !--cls->cds[i].refs)
		memset(&cls->cds[i], 0, sizeof(cls->cds[i]));
}

/* ---- content destinations ------------------------------------------------------------ */

void xtap_jmirror_words(uint64_t id, uint32_t *w0_be, uint32_t *w1_be)
{
	uint32_t w0, w1;

	jmirror_split(id, &w0, &w1); /* id bits under the version: the wire has no room */
	*w0_be = htonl(w0);
	*w1_be = htonl(w1);
}

int xtap_cls_cd_get(struct xtap_cls *cls, const struct xtap_cd_spec *cd, uint16_t *index)
{
	struct xtap_cdest v = { 0 };
	uint32_t free_i = UINT32_MAX, i;

	if ((cd->family != XTAP_AF_INET && cd->family != XTAP_AF_INET6) || !cd->dport)
		return -EINVAL;
	v.family = cd->family;
	v.format = cd->jmirror ? XTAP_CD_JMIRROR : XTAP_CD_PLAIN;
	v.ttl = cd->ttl ? cd->ttl : 255;
	v.active = 1;
	v.sport = htons(cd->sport);
	v.dport = htons(cd->dport);
	if (cd->jmirror)
		xtap_jmirror_words(cd->intercept_id, &v.jm_word0, &v.jm_word1);
	memcpy(v.src, cd->src, cd->family == XTAP_AF_INET ? 4 : 16);
	memcpy(v.dst, cd->dst, cd->family == XTAP_AF_INET ? 4 : 16);
	for (i = 0; i < cls->max_cds && i <= 0xffff; i++) {
		if (!cls->cds[i].refs) {
			if (free_i == UINT32_MAX)
				free_i = i;
			continue;
		}
		if (!memcmp(&cls->cds[i].v, &v, sizeof(v))) {
			cls->cds[i].refs++;
			*index = (uint16_t)i;
			return 0;
		}
	}
	if (free_i == UINT32_MAX)
		return -ENOSPC;
	/* counters first, then the destination: a reused index starts clean */
	if (bpf_map_update_elem(cls->m.cd_stats, &free_i, cls->zero_stats, BPF_ANY) ||
	    bpf_map_update_elem(cls->m.cdests, &free_i, &v, BPF_ANY))
		return -errno;
	cls->cds[free_i].refs = 1;
	cls->cds[free_i].v = v;
	*index = (uint16_t)free_i;
	return 0;
}

int xtap_cls_cd_put(struct xtap_cls *cls, uint16_t index)
{
	struct xtap_cdest v = { 0 };
	uint32_t i = index;

	if (i >= cls->max_cds || !cls->cds[i].refs)
		return -ENOENT;
	if (--cls->cds[i].refs)
		return 0;
	/* copies still on their way to vt0 are counted as inactive */
	if (bpf_map_update_elem(cls->m.cdests, &i, &v, BPF_ANY))
		return -errno;
	memset(&cls->cds[i], 0, sizeof(cls->cds[i]));
	return 0;
}

static int cd_sum(struct xtap_cls *cls, uint16_t index, uint64_t *out, int n);

int xtap_cls_cd_stats(struct xtap_cls *cls, uint16_t index, uint64_t *out)
{
	return cd_sum(cls, index, out, XTAP_CDS_COUNT);
}

int xtap_cls_cd_slots(struct xtap_cls *cls, uint16_t index, uint64_t *out)
{
	return cd_sum(cls, index, out, XTAP_CDS_SLOTS);
}

static int cd_sum(struct xtap_cls *cls, uint16_t index, uint64_t *out, int n)
{
	struct xtap_cd_stats *per = calloc(cls->ncpus, sizeof(*per));
	uint32_t i = index;

	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(cls->m.cd_stats, &i, per)) {
		free(per);
		return -errno;
	}
	for (int k = 0; k < n; k++) {
		out[k] = 0;
		for (int c = 0; c < cls->ncpus; c++)
			out[k] += per[c].c[k];
	}
	free(per);
	return 0;
}

int xtap_cls_rule_read(struct xtap_cls *cls, uint32_t slot, struct xtap_rule *out)
{
	if (slot >= cls->max)
		return -EINVAL;
	return bpf_map_lookup_elem(cls->m.rules, &slot, out) ? -errno : 0;
}

int xtap_cls_cd_read(struct xtap_cls *cls, uint16_t index, struct xtap_cdest *out)
{
	uint32_t key = index;

	if (cls->m.cdests <= 0 || index >= cls->max_cds)
		return -EINVAL;
	return bpf_map_lookup_elem(cls->m.cdests, &key, out) ? -errno : 0;
}
