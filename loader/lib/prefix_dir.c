// SPDX-License-Identifier: BSD-2-Clause
/*
 * The prefix index in BPF arrays (see prefix_dir.h, include/xtap.h and
 * docs/classifier.md "Prefixes").
 *
 * Shape: a word's region is the addresses that share its first d bits (16
 * for a root word, then 24, 32, ...). A region with no prefix strictly
 * below it is a leaf (its covering entry), one with one prefix a compressed
 * leaf, one with more a node of 256 words. Adding an entry P changes, in
 * P's region, exactly the words that named P's covering entry (they now name
 * P), and the word that held P's region (a leaf or compressed leaf becomes a
 * small fresh subtree); removing P is the reverse. So an update touches the
 * words of P's region, never more, and the covering entries' lists are not
 * copied: an entry's list continues at its parent's (xtap_pchunk.parent).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "arrwin.h"
#include "prefix_dir.h"
#include "xtap.h"

enum { P_NODE, P_LEAF, P_CHUNK, P_COUNT };

struct fresh {
	uint8_t pool;
	uint32_t id;
};

struct pub {
	uint32_t *word;
	uint32_t val;
};

struct pdir {
	struct xtap_pnode *nodes; /* map[P_NODE].base, and so on */
	struct xtap_pleaf *leaves;
	struct xtap_pchunk *chunks;
	struct arrwin map[P_COUNT];
	struct idpool pool[P_COUNT];
	int (*sync)(void *);
	void *sync_arg;
	/* this operation's allocations, given back at once on failure (nothing
	 * published names them), and the word stores it will publish */
	struct fresh *fresh;
	size_t nfresh, capfresh;
	struct pub *pub;
	size_t npub, cappub;
	const struct trie *t; /* the trie of the operation under way */
	/* the arrays name ids this instance does not know (a running datapath
	 * not adopted yet, or an adoption that failed): no update may write */
	int unknown;
	uint32_t nentries;
	uint32_t rematch_to; /* word_rematch's new list */
};

struct pdir *pdir_new(const struct pdir_maps *m, int (*sync)(void *), void *arg)
{
	struct pdir *pd = calloc(1, sizeof(*pd));
	uint32_t max[P_COUNT];

	if (!pd)
		return NULL;
	pd->sync = sync;
	pd->sync_arg = arg;
	for (int i = 0; i < P_COUNT; i++)
		pd->map[i].fd = -1;
	if (arrwin_open(&pd->map[P_NODE], m->nodes, sizeof(struct xtap_pnode)) ||
	    arrwin_open(&pd->map[P_LEAF], m->leaves, sizeof(struct xtap_pleaf)) ||
	    arrwin_open(&pd->map[P_CHUNK], m->chunks, sizeof(struct xtap_pchunk)))
		goto fail;
	for (int i = 0; i < P_COUNT; i++)
		max[i] = pd->map[i].max;
	if (max[P_NODE] < XTAP_PT_ROOT_NODES)
		goto fail;
	pd->nodes = (struct xtap_pnode *)pd->map[P_NODE].base;
	pd->leaves = (struct xtap_pleaf *)pd->map[P_LEAF].base;
	pd->chunks = (struct xtap_pchunk *)pd->map[P_CHUNK].base;
	/* the roots, read and written by every update: mapped from the start */
	for (uint32_t r = 0; r < XTAP_PT_ROOT_NODES; r += ARRWIN_BYTES / sizeof(struct xtap_pnode))
		if (arrwin_map(&pd->map[P_NODE], r))
			goto fail;
	for (uint32_t r = 0; r < XTAP_PT_ROOT_NODES && !pd->unknown; r++)
		for (int i = 0; i < 256; i++)
			pd->unknown |= pd->nodes[r].w[i] != 0;
	/* nodes past the roots; leaves and chunks from 1 (0: none) */
	if (idpool_init(&pd->pool[P_NODE], XTAP_PT_ROOT_NODES, max[P_NODE]) ||
	    idpool_init(&pd->pool[P_LEAF], 1, max[P_LEAF]) || idpool_init(&pd->pool[P_CHUNK], 1, max[P_CHUNK]))
		goto fail;
	return pd;
fail:
	pdir_free(pd);
	return NULL;
}

void pdir_free(struct pdir *pd)
{
	if (!pd)
		return;
	for (int i = 0; i < P_COUNT; i++) {
		arrwin_close(&pd->map[i]);
		idpool_free(&pd->pool[i]);
	}
	free(pd->fresh);
	free(pd->pub);
	free(pd);
}

void pdir_synced(struct pdir *pd)
{
	for (int i = 0; i < P_COUNT; i++)
		idpool_synced(&pd->pool[i]);
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *x;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 256;
	x = realloc(*v, c * size);
	if (!x)
		return -ENOMEM;
	*v = x;
	*cap = c;
	return 0;
}

/* A fresh id of pool i, recorded for undo. */
static int get(struct pdir *pd, int i, uint32_t *id)
{
	int err;

	if ((err = grow((void **)&pd->fresh, &pd->capfresh, pd->nfresh, sizeof(*pd->fresh))) ||
	    (err = idpool_peek(&pd->pool[i], pd->sync, pd->sync_arg, id)))
		return err;
	/* a new id may lie in a window not mapped yet, and so may a free one
	 * after adopting (the free ids between those in use) */
	if ((err = arrwin_map(&pd->map[i], *id)))
		return err;
	idpool_take(&pd->pool[i]);
	pd->fresh[pd->nfresh++] = (struct fresh){ (uint8_t)i, *id };
	return 0;
}

/* An id some published word named until now: reusable after a grace period. */
static void put_pending(struct pdir *pd, int i, uint32_t id)
{
	idpool_put_pending(&pd->pool[i], id);
}

/* The operation failed: its allocations back, its stores dropped. */
static void undo(struct pdir *pd)
{
	for (size_t k = pd->nfresh; k-- > 0;)
		idpool_put_now(&pd->pool[pd->fresh[k].pool], pd->fresh[k].id);
	pd->nfresh = pd->npub = 0;
}

static int pub_add(struct pdir *pd, uint32_t *word, uint32_t val)
{
	int err = grow((void **)&pd->pub, &pd->cappub, pd->npub, sizeof(*pd->pub));

	if (err)
		return err;
	pd->pub[pd->npub++] = (struct pub){ word, val };
	return 0;
}

static void store(uint32_t *word, uint32_t val)
{
	/* release: what the new value names was written before it */
	__atomic_store_n(word, val, __ATOMIC_RELEASE);
}

/* Ids under a word that a store just unlinked. */
static void unlink_tree(struct pdir *pd, uint32_t w)
{
	uint32_t v = XTAP_PT_VAL(w);

	if (XTAP_PT_TAG(w) == XTAP_PT_CLEAF) {
		put_pending(pd, P_LEAF, v);
	} else if (XTAP_PT_TAG(w) == XTAP_PT_NODE && v >= XTAP_PT_ROOT_NODES) {
		for (int i = 0; i < 256; i++)
			unlink_tree(pd, pd->nodes[v].w[i]);
		put_pending(pd, P_NODE, v);
	}
}

/* Publish this operation's stores, in order. */
static void publish(struct pdir *pd)
{
	for (size_t k = 0; k < pd->npub; k++) {
		uint32_t old = *pd->pub[k].word;

		store(pd->pub[k].word, pd->pub[k].val);
		unlink_tree(pd, old);
	}
	pd->nfresh = pd->npub = 0;
}

static unsigned full_bits(const uint8_t *key)
{
	return key[1] == XTAP_AF_INET6 ? 128 : 32;
}

/* Root node of a trie key's kind and family, for its first address byte. */
static uint32_t root_node(const uint8_t *key)
{
	unsigned side = key[0] & 3, dir = key[0] >> 2;

	return XTAP_PT_ROOT(dir & 1, side & 1, key[1] == XTAP_AF_INET6) * 256u + key[2];
}

/* A fresh word for the region key/d (d address bits), built from the trie:
 * a leaf, a compressed leaf, or a node whose words are built the same way.
 * Recursion depth: one per address byte, at most 14. */
static int build(struct pdir *pd, const struct trie_node *start, const struct trie_node *cover0, uint8_t *key,
		 unsigned d, uint32_t *out)
{
	const struct trie_node *cover, *single, *pos;
	int cnt = trie_region(start, cover0, key, TRIE_HDR_BITS + d, &cover, &single, &pos);
	uint32_t base = cover ? cover->id : 0, id;
	uint8_t save;
	int err;

	if (cnt == 0) {
		*out = XTAP_PT_WORD(XTAP_PT_LEAF, base);
		return 0;
	}
	if (cnt == 1) {
		struct xtap_pleaf *l;

		if ((err = get(pd, P_LEAF, &id)))
			return err;
		l = &pd->leaves[id];
		memset(l, 0, sizeof(*l));
		memcpy(l->addr, single->key + 2, 16);
		l->plen = (uint8_t)(single->plen - TRIE_HDR_BITS);
		l->match = single->id;
		l->miss = base;
		*out = XTAP_PT_WORD(XTAP_PT_CLEAF, id);
		return 0;
	}
	if (d + 8 > full_bits(key))
		return -EINVAL; /* no prefix is longer than the address: never reached */
	if ((err = get(pd, P_NODE, &id)))
		return err;
	save = key[2 + d / 8];
	for (unsigned i = 0; i < 256; i++) {
		uint32_t w;

		key[2 + d / 8] = (uint8_t)i;
		if ((err = build(pd, pos, cover, key, d + 8, &w)))
			break;
		pd->nodes[id].w[i] = w;
	}
	key[2 + d / 8] = save;
	*out = XTAP_PT_WORD(XTAP_PT_NODE, id);
	return err;
}

/* In a region covered by an entry change: words naming entry from name to
 * instead (compressed leaves are copied with the new miss). */
static int subst(struct pdir *pd, uint32_t *w, uint32_t from, uint32_t to)
{
	uint32_t v = *w, id;
	int err;

	switch (XTAP_PT_TAG(v)) {
	case XTAP_PT_LEAF: return XTAP_PT_VAL(v) == from ? pub_add(pd, w, XTAP_PT_WORD(XTAP_PT_LEAF, to)) : 0;
	case XTAP_PT_CLEAF:
		if (pd->leaves[XTAP_PT_VAL(v)].miss != from)
			return 0;
		if ((err = get(pd, P_LEAF, &id)))
			return err;
		pd->leaves[id] = pd->leaves[XTAP_PT_VAL(v)];
		pd->leaves[id].miss = to;
		return pub_add(pd, w, XTAP_PT_WORD(XTAP_PT_CLEAF, id));
	case XTAP_PT_NODE:
		for (int i = 0; i < 256; i++)
			if ((err = subst(pd, &pd->nodes[XTAP_PT_VAL(v)].w[i], from, to)))
				return err;
		return 0;
	}
	return 0;
}

/* The words of n's region: each word in a root or node range that n's
 * prefix covers gets subst(from, to); where n's region lies inside one
 * word that is not a node (a leaf or compressed leaf), on_word decides. */
static int region_words(struct pdir *pd, const struct trie_node *n, uint32_t from, uint32_t to,
			int (*on_word)(struct pdir *, const struct trie_node *, uint32_t *, unsigned))
{
	const uint8_t *a = n->key + 2;
	unsigned p = n->plen - TRIE_HDR_BITS, d = 16, cnt, first;
	uint32_t *w, root = root_node(n->key) - a[0];
	int err;

	if (p <= 16) {
		cnt = 1u << (16 - p);
		first = ((unsigned)a[0] << 8 | a[1]) & ~(cnt - 1);
		for (unsigned k = first; k < first + cnt; k++)
			if ((err = subst(pd, &pd->nodes[root + (k >> 8)].w[k & 255], from, to)))
				return err;
		return 0;
	}
	w = &pd->nodes[root + a[0]].w[a[1]];
	for (;;) {
		if (XTAP_PT_TAG(*w) != XTAP_PT_NODE)
			return on_word(pd, n, w, d);
		if (p <= d + 8) {
			cnt = 1u << (d + 8 - p);
			first = a[d / 8] & ~(cnt - 1);
			for (unsigned k = first; k < first + cnt; k++)
				if ((err = subst(pd, &pd->nodes[XTAP_PT_VAL(*w)].w[k], from, to)))
					return err;
			return 0;
		}
		w = &pd->nodes[XTAP_PT_VAL(*w)].w[a[d / 8]];
		d += 8;
	}
}

/* New entry inside a leaf or compressed leaf's region: that word afresh. */
static int word_rebuild(struct pdir *pd, const struct trie_node *n, uint32_t *w, unsigned d)
{
	uint8_t key[TRIE_KEY_BYTES];
	uint32_t v;
	int err;

	memcpy(key, n->key, sizeof(key));
	if ((err = build(pd, pd->t->root, NULL, key, d, &v)))
		return err;
	return pub_add(pd, w, v);
}

/* Leaving entry: the compressed leaf that held it becomes its miss. */
static int word_unleaf(struct pdir *pd, const struct trie_node *n, uint32_t *w, unsigned d)
{
	const struct xtap_pleaf *l;

	(void)d;
	if (XTAP_PT_TAG(*w) != XTAP_PT_CLEAF)
		return 0; /* never: a leaf's region holds no prefix */
	l = &pd->leaves[XTAP_PT_VAL(*w)];
	return l->match == n->id ? pub_add(pd, w, XTAP_PT_WORD(XTAP_PT_LEAF, l->miss)) : 0;
}

/* The own criteria of n as a fresh chain of chunks going on at parent;
 * *first names the new list. */
static int own_chunks(struct pdir *pd, const struct trie_node *n, uint32_t parent, uint32_t *first)
{
	uint32_t next = 0, nch = (n->nown + XTAP_PCHUNK_SLOTS - 1) / XTAP_PCHUNK_SLOTS;
	int err;

	/* from the last chunk back, so each names one already written */
	for (uint32_t c = nch; c-- > 0;) {
		uint32_t id, k = c * XTAP_PCHUNK_SLOTS, m = n->nown - k;
		struct xtap_pchunk *ch;

		if ((err = get(pd, P_CHUNK, &id)))
			return err;
		ch = &pd->chunks[id];
		memset(ch, 0, sizeof(*ch));
		ch->n = m < XTAP_PCHUNK_SLOTS ? m : XTAP_PCHUNK_SLOTS;
		memcpy(ch->slot, n->own + k, ch->n * sizeof(uint32_t));
		ch->next = next;
		ch->parent = parent;
		next = id;
	}
	*first = next;
	return 0;
}

/* The chunks of a list's own part (bounded by the pool: never a loop). */
static void chunks_unlink(struct pdir *pd, uint32_t c)
{
	for (uint32_t k = 0; c && k < pd->pool[P_CHUNK].max; k++) {
		uint32_t next = pd->chunks[c].next;

		put_pending(pd, P_CHUNK, c);
		c = next;
	}
}

static void set_parent(struct pdir *pd, uint32_t c, uint32_t parent)
{
	for (uint32_t k = 0; c && k < pd->pool[P_CHUNK].max; k++) {
		store(&pd->chunks[c].parent, parent);
		c = pd->chunks[c].next;
	}
}

struct reparent {
	struct pdir *pd;
	const struct trie_node *of;
	uint32_t to;
};

/* The entries right below arg->of continue their lists at arg->to. */
static int reparent_one(struct trie_node *e, void *arg)
{
	struct reparent *r = arg;

	if (trie_entry_parent(e) == r->of)
		set_parent(r->pd, e->id, r->to);
	return 0;
}

/* Own criteria changed: the compressed leaf that held the entry (its
 * region's one prefix) names the new list. */
static int word_rematch(struct pdir *pd, const struct trie_node *n, uint32_t *w, unsigned d)
{
	const struct xtap_pleaf *l;
	uint32_t id;
	int err;

	(void)d;
	if (XTAP_PT_TAG(*w) != XTAP_PT_CLEAF)
		return 0; /* never: a leaf's region holds no prefix */
	l = &pd->leaves[XTAP_PT_VAL(*w)];
	if (l->match != n->id)
		return 0;
	if ((err = get(pd, P_LEAF, &id)))
		return err;
	pd->leaves[id] = *l;
	pd->leaves[id].match = pd->rematch_to;
	return pub_add(pd, w, XTAP_PT_WORD(XTAP_PT_CLEAF, id));
}

int pdir_entry_new(struct pdir *pd, struct trie_node *n, struct trie *t)
{
	const struct trie_node *up = trie_entry_parent(n);
	uint32_t id, from = up ? up->id : 0;
	struct reparent r = { pd, n, 0 };
	int err;

	pd->t = t;
	if (pd->unknown)
		return -EBUSY;
	if ((err = own_chunks(pd, n, from, &id)))
		goto fail;
	n->id = id;
	if ((err = region_words(pd, n, from, id, word_rebuild)))
		goto fail;
	publish(pd);
	/* the entries n now covers continue at n (they went to n's parent) */
	r.to = id;
	trie_walk_below(n, reparent_one, &r);
	pd->nentries++;
	return 0;
fail:
	n->id = 0;
	undo(pd);
	return err;
}

int pdir_entry_own(struct pdir *pd, struct trie_node *n)
{
	const struct trie_node *up = trie_entry_parent(n);
	uint32_t id, old = n->id;
	struct reparent r = { pd, n, 0 };
	int err;

	if (pd->unknown)
		return -EBUSY;
	if ((err = own_chunks(pd, n, up ? up->id : 0, &id)))
		goto fail;
	pd->rematch_to = id;
	if ((err = region_words(pd, n, old, id, word_rematch)))
		goto fail;
	publish(pd);
	r.to = id;
	trie_walk_below(n, reparent_one, &r);
	n->id = id;
	/* last: until here a word or a list below may still name it */
	chunks_unlink(pd, old);
	return 0;
fail:
	undo(pd);
	return err;
}

/* After n left the trie: a node word on its path whose region now holds at
 * most one prefix becomes a leaf or a compressed leaf (the node's memory
 * back). Best effort: a node that stays is still correct. */
static void collapse(struct pdir *pd, const uint8_t *nkey, unsigned p)
{
	uint8_t key[TRIE_KEY_BYTES];
	uint32_t *w, v;
	unsigned d = 16;

	if (p <= 16)
		return;
	memcpy(key, nkey, sizeof(key));
	w = &pd->nodes[root_node(key)].w[key[3]];
	for (; XTAP_PT_TAG(*w) == XTAP_PT_NODE; d += 8) {
		const struct trie_node *cover, *single, *pos;

		if (trie_region(pd->t->root, NULL, key, TRIE_HDR_BITS + d, &cover, &single, &pos) <= 1) {
			if (build(pd, pd->t->root, NULL, key, d, &v) || pub_add(pd, w, v)) {
				undo(pd);
				return;
			}
			publish(pd);
			return;
		}
		if (p <= d + 8)
			return;
		w = &pd->nodes[XTAP_PT_VAL(*w)].w[key[2 + d / 8]];
	}
}

int pdir_entry_del(struct pdir *pd, struct trie_node *n, struct trie *t)
{
	const struct trie_node *up = trie_entry_parent(n);
	uint32_t id = n->id, to = up ? up->id : 0;
	struct reparent r = { pd, n, to };
	uint8_t key[TRIE_KEY_BYTES];
	unsigned p = n->plen - TRIE_HDR_BITS;
	int err;

	pd->t = t;
	if (pd->unknown)
		return -EBUSY;
	if ((err = region_words(pd, n, id, to, word_unleaf))) {
		undo(pd);
		return err;
	}
	publish(pd);
	trie_walk_below(n, reparent_one, &r);
	memcpy(key, n->key, sizeof(key));
	trie_remove(t, n);
	collapse(pd, key, p);
	/* last: until here a compressed leaf or a list may still name them */
	chunks_unlink(pd, id);
	pd->nentries--;
	return 0;
}

/* ---- adopting: everything afresh ------------------------------------------------------- */

struct marks {
	struct pdir *pd;
	uint8_t *m[P_COUNT];
	uint32_t top[P_COUNT]; /* highest id marked + 1 */
	int err; /* a window that could not be mapped: the marks are incomplete */
};

/* 1: id newly marked, and its value readable (its window mapped). */
static int mark(struct marks *mk, int i, uint32_t id)
{
	int err;

	if (!id || id < mk->pd->pool[i].first || id >= mk->pd->pool[i].max || mk->m[i][id])
		return 0;
	if ((err = arrwin_map(&mk->pd->map[i], id))) {
		mk->err = err;
		return 0;
	}
	mk->m[i][id] = 1;
	if (id >= mk->top[i])
		mk->top[i] = id + 1;
	return 1;
}

/* A list of the running datapath: its chunks and those of its parents. */
static void mark_entry(struct marks *mk, uint32_t c)
{
	struct pdir *pd = mk->pd;

	/* a chunk marked before ends the walk: no loop */
	while (mark(mk, P_CHUNK, c)) {
		mark_entry(mk, pd->chunks[c].parent); /* one level per prefix length at most */
		c = pd->chunks[c].next;
	}
}

/* What a word of the running datapath names (its values are bounds-checked:
 * the arrays may come from an older xtapd). depth bounds the recursion. */
static void mark_word(struct marks *mk, uint32_t w, int depth)
{
	struct pdir *pd = mk->pd;
	uint32_t v = XTAP_PT_VAL(w);

	switch (XTAP_PT_TAG(w)) {
	case XTAP_PT_LEAF: mark_entry(mk, v); break;
	case XTAP_PT_CLEAF:
		if (mark(mk, P_LEAF, v)) {
			mark_entry(mk, pd->leaves[v].match);
			mark_entry(mk, pd->leaves[v].miss);
		}
		break;
	case XTAP_PT_NODE:
		if (depth < XTAP_PT_LEVELS && mark(mk, P_NODE, v))
			for (int i = 0; i < 256; i++)
				mark_word(mk, pd->nodes[v].w[i], depth + 1);
		break;
	}
}

static int assign(struct pdir *pd, struct trie_node *n)
{
	int err;

	if (!n)
		return 0;
	if (n->is_entry) {
		if ((err = own_chunks(pd, n, 0, &n->id)))
			return err;
		pd->nentries++;
	}
	if ((err = assign(pd, n->child[0])))
		return err;
	return assign(pd, n->child[1]);
}

static void link_parents(struct pdir *pd, struct trie_node *n)
{
	if (!n)
		return;
	if (n->is_entry) {
		const struct trie_node *up = trie_entry_parent(n);

		set_parent(pd, n->id, up ? up->id : 0);
	}
	link_parents(pd, n->child[0]);
	link_parents(pd, n->child[1]);
}

/* Mark what the running roots reach. On error the marks are incomplete. */
static int mark_all(struct pdir *pd, struct marks *mk)
{
	for (int i = 0; i < P_COUNT; i++)
		if (!(mk->m[i] = calloc(pd->pool[i].max, 1)))
			return -ENOMEM;
	for (uint32_t r = 0; r < XTAP_PT_ROOT_NODES; r++)
		for (int i = 0; i < 256; i++)
			mark_word(mk, pd->nodes[r].w[i], 0);
	return mk->err;
}

static void marks_free(struct marks *mk)
{
	for (int i = 0; i < P_COUNT; i++)
		free(mk->m[i]);
}

static int marked(const struct marks *mk, int i, uint32_t id)
{
	return id >= mk->pd->pool[i].first && id < mk->pd->pool[i].max && mk->m[i][id];
}

/* The entry the running arrays give for an address (xtap_ptrie_lookup's
 * walk); -1 when a word names something unmarked (never for a sound state). */
static int64_t dp_lookup(const struct marks *mk, const uint8_t *key)
{
	const struct pdir *pd = mk->pd;
	uint32_t w = pd->nodes[root_node(key)].w[key[3]];

	for (unsigned d = 16;; d += 8) {
		uint32_t v = XTAP_PT_VAL(w);
		const struct xtap_pleaf *l;
		unsigned b;

		switch (XTAP_PT_TAG(w)) {
		case XTAP_PT_LEAF: return v;
		case XTAP_PT_CLEAF:
			if (!marked(mk, P_LEAF, v))
				return -1;
			l = &pd->leaves[v];
			for (b = 0; b < l->plen && b < 128; b++)
				if ((key[2 + b / 8] ^ l->addr[b / 8]) & (0x80 >> (b % 8)))
					return l->miss;
			return l->match;
		case XTAP_PT_NODE:
			if (d + 8 > full_bits(key) || !marked(mk, P_NODE, v))
				return -1;
			w = pd->nodes[v].w[key[2 + d / 8]];
			break;
		default: return -1;
		}
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct adopt {
	struct marks mk;
	uint8_t *owner; /* per chunk: 1 once an entry's list */
	uint32_t *sa, *sb; /* the two slot lists compared */
	size_t cap;
	const struct trie *t;
};

/* Entry n in the running arrays: the list its base address gets, up as
 * many covering entries as the trie has between that address's longest
 * entry and n. */
static int adopt_find(struct trie_node *n, void *arg)
{
	struct adopt *a = arg;
	const struct trie_node *cover, *single, *pos, *c;
	int64_t e;

	if (!n->is_entry)
		return 0;
	trie_region(a->t->root, NULL, n->key, TRIE_HDR_BITS + full_bits(n->key), &cover, &single, &pos);
	if ((e = dp_lookup(&a->mk, n->key)) < 0)
		return -ESTALE;
	for (c = cover; c && c != n; c = trie_entry_parent(c)) {
		if (!marked(&a->mk, P_CHUNK, (uint32_t)e))
			return -ESTALE;
		e = a->mk.pd->chunks[e].parent;
	}
	if (c != n || !marked(&a->mk, P_CHUNK, (uint32_t)e) || a->owner[e])
		return -ESTALE;
	a->owner[e] = 1;
	n->id = (uint32_t)e;
	return 0;
}

/* n's list holds exactly its own criteria (in any order) and goes on at
 * its covering entry's. */
static int adopt_check(struct trie_node *n, void *arg)
{
	struct adopt *a = arg;
	const struct pdir *pd = a->mk.pd;
	const struct trie_node *up;
	uint32_t parent, k = 0, c = n->id;

	if (!n->is_entry)
		return 0;
	up = trie_entry_parent(n);
	parent = up ? up->id : 0;
	if (n->nown > a->cap) {
		uint32_t *x = realloc(a->sa, n->nown * sizeof(uint32_t));

		if (!x)
			return -ENOMEM;
		a->sa = x;
		if (!(x = realloc(a->sb, n->nown * sizeof(uint32_t))))
			return -ENOMEM;
		a->sb = x;
		a->cap = n->nown;
	}
	/* each chunk holds one slot at least: a chain of more than nown is no sound list */
	for (uint32_t hops = 0; c && hops <= n->nown; hops++) {
		const struct xtap_pchunk *ch = &pd->chunks[c];

		if (!marked(&a->mk, P_CHUNK, c) || ch->parent != parent || !ch->n || ch->n > XTAP_PCHUNK_SLOTS ||
		    k + ch->n > n->nown)
			return -ESTALE;
		memcpy(a->sa + k, ch->slot, ch->n * sizeof(uint32_t));
		k += ch->n;
		c = ch->next;
	}
	if (c || k != n->nown)
		return -ESTALE;
	memcpy(a->sb, n->own, k * sizeof(uint32_t));
	qsort(a->sa, k, sizeof(uint32_t), cmp_u32);
	qsort(a->sb, k, sizeof(uint32_t), cmp_u32);
	return memcmp(a->sa, a->sb, k * sizeof(uint32_t)) ? -ESTALE : 0;
}

/* A running word gives, for every address of its region key/d, the entry
 * the trie gives: build()'s shape, or a node where build would put a leaf
 * or a compressed leaf (collapse() is best effort). Recursion: one level
 * per address byte. */
static int adopt_word(struct adopt *a, const struct trie_node *start, const struct trie_node *cover0, uint8_t *key,
		      unsigned d, uint32_t w)
{
	const struct pdir *pd = a->mk.pd;
	const struct trie_node *cover, *single, *pos;
	int cnt = trie_region(start, cover0, key, TRIE_HDR_BITS + d, &cover, &single, &pos);
	uint32_t base = cover ? cover->id : 0, v = XTAP_PT_VAL(w);
	const struct xtap_pleaf *l;
	uint8_t save;
	int err = 0;

	switch (XTAP_PT_TAG(w)) {
	case XTAP_PT_LEAF: return cnt == 0 && v == base ? 0 : -ESTALE;
	case XTAP_PT_CLEAF:
		if (cnt != 1 || !marked(&a->mk, P_LEAF, v))
			return -ESTALE;
		l = &pd->leaves[v];
		return l->plen == single->plen - TRIE_HDR_BITS && !memcmp(l->addr, single->key + 2, 16) &&
				l->match == single->id && l->miss == base ?
			0 :
			-ESTALE;
	case XTAP_PT_NODE:
		if (d + 8 > full_bits(key) || !marked(&a->mk, P_NODE, v))
			return -ESTALE;
		save = key[2 + d / 8];
		for (unsigned i = 0; i < 256 && !err; i++) {
			key[2 + d / 8] = (uint8_t)i;
			err = adopt_word(a, pos, cover, key, d + 8, pd->nodes[v].w[i]);
		}
		key[2 + d / 8] = save;
		return err;
	}
	return -ESTALE;
}

static void ids_clear(struct trie_node *n)
{
	for (; n; n = n->child[1]) {
		n->id = 0;
		ids_clear(n->child[0]);
	}
}

int pdir_adopt(struct pdir *pd, struct trie *t, int *rebuilt)
{
	struct adopt a = { { pd, { NULL }, { 0 }, 0 }, NULL, NULL, NULL, 0, t };
	uint8_t key[TRIE_KEY_BYTES];
	int err;

	*rebuilt = 0;
	pd->t = t;
	pd->unknown = 1; /* until one of the two succeeds */
	if ((err = mark_all(pd, &a.mk)))
		goto out;
	if (!(a.owner = calloc(pd->pool[P_CHUNK].max, 1))) {
		err = -ENOMEM;
		goto out;
	}
	if (t->root &&
	    ((err = adopt_find(t->root, &a)) || (err = trie_walk_below(t->root, adopt_find, &a)) ||
	     (err = adopt_check(t->root, &a)) || (err = trie_walk_below(t->root, adopt_check, &a))))
		goto out;
	for (uint32_t r = 0; r < XTAP_PT_NROOTS && !err; r++) {
		memset(key, 0, sizeof(key));
		key[0] = (uint8_t)XTAP_KIND(r / 2 % 2, r / 4);
		key[1] = r % 2 ? XTAP_AF_INET6 : XTAP_AF_INET;
		for (uint32_t k = 0; k < 65536 && !err; k++) {
			key[2] = (uint8_t)(k >> 8);
			key[3] = (uint8_t)k;
			err = adopt_word(&a, t->root, NULL, key, 16, pd->nodes[r * 256 + key[2]].w[key[3]]);
		}
	}
	if (err)
		goto out;
	/* the running arrays are the trie's: what they reach is in use, what
	 * this instance freed itself stays pending (a reader may hold it until a
	 * grace period), the rest below the highest id is free (never used
	 * above it) */
	pd->nentries = 0;
	for (int i = 0; i < P_COUNT; i++) {
		struct idpool *p = &pd->pool[i];
		uint32_t top = a.mk.top[i] > p->first ? a.mk.top[i] : p->first;

		for (uint32_t k = 0; k < p->npending; k++) {
			a.mk.m[i][p->pending[k]] = 2;
			if (p->pending[k] >= top)
				top = p->pending[k] + 1;
		}
		p->nready = p->npending = p->used = 0;
		p->next = top;
		for (uint32_t id = p->next; id-- > p->first;)
			if (a.mk.m[i][id] == 1)
				p->used++;
			else if (a.mk.m[i][id] == 2)
				p->pending[p->npending++] = id;
			else
				p->ready[p->nready++] = id;
	}
	for (uint32_t c = 1; c < pd->pool[P_CHUNK].max; c++)
		pd->nentries += a.owner[c];
	pd->unknown = 0;
out:
	marks_free(&a.mk);
	free(a.owner);
	free(a.sa);
	free(a.sb);
	if (err == -ESTALE) {
		/* not the trie's (criteria nobody adopted, another xtapd's
		 * layout): everything afresh */
		ids_clear(t->root);
		*rebuilt = 1;
		return pdir_rebuild(pd, t);
	}
	return err;
}

int pdir_rebuild(struct pdir *pd, struct trie *t)
{
	struct marks mk = { pd, { NULL }, { 0 }, 0 };
	uint8_t key[TRIE_KEY_BYTES];
	int err;

	pd->t = t;
	pd->unknown = 1; /* until the end: on failure the trie's ids are not the arrays' */
	if ((err = mark_all(pd, &mk)))
		goto out; /* nothing written yet: the running state stands */
	/* what nothing reachable names is free now; the rest after the rebuild.
	 * Ids above the highest marked one are never used (next): the free
	 * list, and the windows mapped, stay as large as what the arrays held */
	for (int i = 0; i < P_COUNT; i++) {
		struct idpool *p = &pd->pool[i];

		p->nready = p->npending = p->used = 0;
		p->next = mk.top[i] > p->first ? mk.top[i] : p->first;
		for (uint32_t id = p->next; id-- > p->first;)
			if (!mk.m[i][id])
				p->ready[p->nready++] = id;
	}
	pd->nentries = 0;
	if ((err = assign(pd, t->root)))
		goto out;
	link_parents(pd, t->root);
	/* every root word afresh: kind, family and the first two bytes */
	for (uint32_t r = 0; r < XTAP_PT_NROOTS; r++) {
		memset(key, 0, sizeof(key));
		key[0] = (uint8_t)XTAP_KIND(r / 2 % 2, r / 4);
		key[1] = r % 2 ? XTAP_AF_INET6 : XTAP_AF_INET;
		for (uint32_t k = 0; k < 65536; k++) {
			uint32_t v;

			key[2] = (uint8_t)(k >> 8);
			key[3] = (uint8_t)k;
			if ((err = build(pd, t->root, NULL, key, 16, &v)))
				goto out;
			store(&pd->nodes[r * 256 + key[2]].w[key[3]], v);
			pd->nfresh = 0;
		}
	}
	for (int i = 0; i < P_COUNT; i++)
		for (uint32_t id = pd->pool[i].first; id < mk.top[i]; id++)
			if (mk.m[i][id]) {
				pd->pool[i].used++;
				put_pending(pd, i, id);
			}
	pd->unknown = 0;
	err = 0;
out:
	pd->nfresh = pd->npub = 0;
	marks_free(&mk);
	return err;
}

void pdir_usage(const struct pdir *pd, struct pdir_usage *u)
{
	u->nodes = pd->pool[P_NODE].used;
	u->leaves = pd->pool[P_LEAF].used;
	u->entries = pd->nentries;
	u->chunks = pd->pool[P_CHUNK].used;
	u->max_nodes = pd->pool[P_NODE].max - XTAP_PT_ROOT_NODES;
	u->max_leaves = pd->pool[P_LEAF].max - 1;
	u->max_entries = pd->pool[P_CHUNK].max - 1;
	u->max_chunks = pd->pool[P_CHUNK].max - 1;
	u->bytes = (uint64_t)u->nodes * sizeof(struct xtap_pnode) + (uint64_t)u->leaves * sizeof(struct xtap_pleaf) +
		(uint64_t)u->chunks * sizeof(struct xtap_pchunk);
}
