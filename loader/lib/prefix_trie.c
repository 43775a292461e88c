// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prefix_trie.h"

static unsigned key_bit(const uint8_t *key, unsigned i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1;
}

/* Length of the common prefix of a and b, at most max bits. */
static unsigned common_len(const uint8_t *a, const uint8_t *b, unsigned max)
{
	unsigned i = 0;

	while (i < max && i % 8 == 0 && max - i >= 8 && a[i / 8] == b[i / 8])
		i += 8;
	while (i < max && key_bit(a, i) == key_bit(b, i))
		i++;
	return i;
}

static struct trie_node *node_new(const uint8_t *key, unsigned plen, struct trie_node *parent)
{
	struct trie_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	for (unsigned i = 0; i < plen; i++)
		if (key_bit(key, i))
			n->key[i / 8] |= 1 << (7 - i % 8);
	n->plen = plen;
	n->parent = parent;
	return n;
}

static struct trie_node **link_of(struct trie *t, struct trie_node *n)
{
	struct trie_node *p = n->parent;

	if (!p)
		return &t->root;
	return p->child[0] == n ? &p->child[0] : &p->child[1];
}

struct trie_node *trie_insert(struct trie *t, const uint8_t *key, unsigned plen)
{
	struct trie_node **pp = &t->root, *parent = NULL, *n, *fresh, *branch;
	unsigned cpl;

	while ((n = *pp)) {
		cpl = common_len(n->key, key, n->plen < plen ? n->plen : plen);
		if (cpl < n->plen) {
			/* n does not cover key: key goes above n or beside it */
			fresh = node_new(key, plen, NULL);
			if (!fresh)
				return NULL;
			if (cpl == plen) {
				fresh->parent = parent;
				fresh->child[key_bit(n->key, plen)] = n;
				n->parent = fresh;
				*pp = fresh;
			} else {
				branch = node_new(key, cpl, parent);
				if (!branch) {
					free(fresh);
					return NULL;
				}
				branch->child[key_bit(n->key, cpl)] = n;
				branch->child[key_bit(key, cpl)] = fresh;
				n->parent = branch;
				fresh->parent = branch;
				*pp = branch;
			}
			fresh->is_entry = 1;
			t->nentries++;
			return fresh;
		}
		if (n->plen == plen) {
			if (!n->is_entry) {
				n->is_entry = 1;
				t->nentries++;
			}
			return n;
		}
		parent = n;
		pp = &n->child[key_bit(key, n->plen)];
	}
	n = node_new(key, plen, parent);
	if (!n)
		return NULL;
	n->is_entry = 1;
	t->nentries++;
	*pp = n;
	return n;
}

struct trie_node *trie_find(const struct trie *t, const uint8_t *key, unsigned plen)
{
	struct trie_node *n = t->root;

	while (n) {
		if (n->plen > plen || common_len(n->key, key, n->plen) < n->plen)
			return NULL;
		if (n->plen == plen)
			return n->is_entry ? n : NULL;
		n = n->child[key_bit(key, n->plen)];
	}
	return NULL;
}

/* Free n if it is neither an entry nor a branch point, and go on upwards. */
static void prune(struct trie *t, struct trie_node *n)
{
	while (n && !n->is_entry) {
		struct trie_node *p = n->parent, *only;

		if (n->child[0] && n->child[1])
			return;
		only = n->child[0] ? n->child[0] : n->child[1];
		*link_of(t, n) = only;
		if (only)
			only->parent = p;
		free(n->own);
		free(n);
		if (only)
			return; /* p kept its number of children */
		n = p;
	}
}

void trie_remove(struct trie *t, struct trie_node *n)
{
	if (!n->is_entry)
		return;
	n->is_entry = 0;
	t->nentries--;
	free(n->own);
	n->own = NULL;
	n->nown = n->capown = 0;
	prune(t, n);
}

struct trie_node *trie_entry_parent(const struct trie_node *n)
{
	for (n = n->parent; n; n = n->parent)
		if (n->is_entry)
			return (struct trie_node *)n;
	return NULL;
}

static int walk(struct trie_node *n, int (*fn)(struct trie_node *, void *), void *arg)
{
	int err;

	if (!n)
		return 0;
	if (n->is_entry && (err = fn(n, arg)))
		return err;
	if ((err = walk(n->child[0], fn, arg)))
		return err;
	return walk(n->child[1], fn, arg);
}

int trie_walk_below(struct trie_node *n, int (*fn)(struct trie_node *, void *), void *arg)
{
	int err = walk(n->child[0], fn, arg);

	return err ? err : walk(n->child[1], fn, arg);
}

static void free_all(struct trie_node *n)
{
	if (!n)
		return;
	free_all(n->child[0]);
	free_all(n->child[1]);
	free(n->own);
	free(n);
}

void trie_free(struct trie *t)
{
	free_all(t->root);
	t->root = NULL;
	t->nentries = 0;
}

int trie_own_add(struct trie_node *n, uint32_t slot)
{
	if (n->nown == n->capown) {
		uint32_t cap = n->capown ? n->capown * 2 : 4;
		uint32_t *own = realloc(n->own, cap * sizeof(*own));

		if (!own)
			return -ENOMEM;
		n->own = own;
		n->capown = cap;
	}
	n->own[n->nown++] = slot;
	return 0;
}

int trie_own_del(struct trie_node *n, uint32_t slot)
{
	for (uint32_t i = 0; i < n->nown; i++) {
		if (n->own[i] == slot) {
			n->own[i] = n->own[--n->nown];
			return 0;
		}
	}
	return -ENOENT;
}

/* 0, 1 (*single set) or 2 for two or more entries in the subtree of n: a
 * node that is not an entry branches (two children), so only a childless
 * entry is alone. */
static int subtree_count(const struct trie_node *n, const struct trie_node **single)
{
	if (!n)
		return 0;
	if (n->is_entry && !n->child[0] && !n->child[1]) {
		*single = n;
		return 1;
	}
	return 2;
}

int trie_region(const struct trie_node *start, const struct trie_node *cover0, const uint8_t *key, unsigned plen,
		const struct trie_node **cover, const struct trie_node **single, const struct trie_node **pos)
{
	const struct trie_node *n = start;
	int a, b;

	*cover = cover0;
	*single = NULL;
	*pos = start;
	while (n) {
		if (n->plen > plen) /* the subtree below the region, if n lies inside it */
			return common_len(n->key, key, plen) < plen ? 0 : subtree_count(n, single);
		if (common_len(n->key, key, n->plen) < n->plen)
			return 0;
		*pos = n;
		if (n->is_entry)
			*cover = n;
		if (n->plen == plen) {
			const struct trie_node *s0 = NULL, *s1 = NULL;

			a = subtree_count(n->child[0], &s0);
			b = subtree_count(n->child[1], &s1);
			if (a + b == 1)
				*single = s0 ? s0 : s1;
			return a + b > 2 ? 2 : a + b;
		}
		n = n->child[key_bit(key, n->plen)];
	}
	return 0;
}
