/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A path-compressed binary trie of bit-string prefixes, the control plane's
 * mirror of the LPM map: it answers "which entries cover this prefix" and
 * "which entries lie below it", so that each LPM entry can carry the
 * criteria of every covering prefix (one longest-match lookup suffices).
 */
#ifndef XTAP_PREFIX_TRIE_H
#define XTAP_PREFIX_TRIE_H

#include <stdint.h>

#define TRIE_KEY_BYTES 18 /* kind, family, 16 address bytes */
#define TRIE_HDR_BITS 16 /* kind and family: a key's plen counts them */

struct trie_node {
	uint8_t key[TRIE_KEY_BYTES]; /* bits beyond plen are zero */
	uint16_t plen;
	uint8_t is_entry;
	struct trie_node *child[2];
	struct trie_node *parent;
	uint32_t *own; /* slots of the criteria anchored exactly here */
	uint32_t nown, capown;
	uint32_t id; /* the entry in the datapath's prefix arrays (prefix_dir.c), 0: none yet */
};

struct trie {
	struct trie_node *root;
	uint64_t nentries;
};

/* The entry for key/plen, created (with no criteria) if absent; NULL on ENOMEM. */
struct trie_node *trie_insert(struct trie *t, const uint8_t *key, unsigned plen);
/* The entry for key/plen, or NULL. */
struct trie_node *trie_find(const struct trie *t, const uint8_t *key, unsigned plen);
/* Turn an entry back into nothing; frees nodes no longer needed. */
void trie_remove(struct trie *t, struct trie_node *n);
/* The nearest entry strictly above n, or NULL. */
struct trie_node *trie_entry_parent(const struct trie_node *n);
/* Call fn for every entry strictly below n; stops at the first nonzero return. */
int trie_walk_below(struct trie_node *n, int (*fn)(struct trie_node *, void *), void *arg);
void trie_free(struct trie *t);
/* What lies under the region key/plen (its first plen bits): returns how
 * many entries lie strictly below it (0, 1, or 2 for two or more), with
 * *single the one when 1, and *cover the longest entry of plen <= plen
 * holding it (NULL: none). start: a node on key's path at or above the
 * region (the *pos of an enclosing region, or t->root), cover0 the cover
 * found above start. *pos: where a region inside this one may start. */
int trie_region(const struct trie_node *start, const struct trie_node *cover0, const uint8_t *key, unsigned plen,
		const struct trie_node **cover, const struct trie_node **single, const struct trie_node **pos);

int trie_own_add(struct trie_node *n, uint32_t slot);
int trie_own_del(struct trie_node *n, uint32_t slot);

#endif
