/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The datapath's prefix index (include/xtap.h "Prefix index"), kept in step
 * with the control plane's trie (prefix_trie.h): multibit trie nodes,
 * compressed leaves and the candidate chunks of prefix entries, written
 * through shared mappings of the BPF arrays.
 *
 * Readers never see a half-written state: new nodes, leaves and chunks are
 * written aside and published by one aligned 32-bit store of the word (or
 * entry field) that names them; what a store unlinks is reused only after a
 * grace period (pdir_synced, called once one has passed).
 */
#ifndef XTAP_PREFIX_DIR_H
#define XTAP_PREFIX_DIR_H

#include <stdint.h>
#include "prefix_trie.h"

struct pdir;

struct pdir_maps {
	int nodes, leaves, chunks; /* XTAP_MAP_PNODES, _PLEAF, _PCHUNK */
};

/* What the arrays hold and can hold. */
struct pdir_usage {
	uint32_t nodes, leaves, entries, chunks; /* in use, roots aside */
	uint32_t max_nodes, max_leaves, max_entries, max_chunks;
	uint64_t bytes; /* of what is in use: nodes 1 KiB, leaves 32 B, chunks 64 B */
};

/* sync(arg): wait for a grace period, then call pdir_synced (the library's
 * xtap_cls_sync); used when a pool runs dry with ids awaiting one. */
struct pdir *pdir_new(const struct pdir_maps *m, int (*sync)(void *), void *arg);
void pdir_free(struct pdir *pd);

/* n was just inserted in t with its own criteria: write its entry and
 * route the addresses under it there. On error nothing was published. */
int pdir_entry_new(struct pdir *pd, struct trie_node *n, struct trie *t);
/* n's own criteria changed (still some): a new list, and the words and
 * lists that named the old one name it. */
int pdir_entry_own(struct pdir *pd, struct trie_node *n);
/* n has no criteria left: route its addresses to its covering entry and
 * remove it from t (trie_remove). On error nothing changed. */
int pdir_entry_del(struct pdir *pd, struct trie_node *n, struct trie *t);
/* After adopting a running datapath (t holds the adopted criteria, no ids):
 * when the running arrays give exactly t's answers, take them over as they
 * are, writing nothing (each entry's id found through a lookup of its
 * address, every word and list checked); else *rebuilt = 1 and
 * pdir_rebuild. */
int pdir_adopt(struct pdir *pd, struct trie *t, int *rebuilt);
/* Write every entry of t and every root afresh: what the arrays held is
 * reused after a grace period, so this needs room for both. */
int pdir_rebuild(struct pdir *pd, struct trie *t);
/* A grace period has passed since every id freed so far was unlinked. */
void pdir_synced(struct pdir *pd);
void pdir_usage(const struct pdir *pd, struct pdir_usage *u);

#endif
