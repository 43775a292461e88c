/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The datapath's exact index (include/xtap.h "Exact index"): exact
 * addresses and wildcard sets to their entries, a hash table in two BPF
 * arrays, read by syscall. A bucket's pairs are written one aligned 64-bit
 * store at a time by the program xtap_xb_store (not through a mapping:
 * hashed keys would make every page resident); entries by syscall, before
 * any pair names them. An entry a store unlinks is reused only after a
 * grace period (xdir_synced, called once one has passed).
 */
#ifndef XTAP_EXACT_DIR_H
#define XTAP_EXACT_DIR_H

#include <stdint.h>
#include "xtap.h"

struct xdir;

struct xdir_maps {
	int buckets, entries; /* XTAP_MAP_XBUCKET, XTAP_MAP_XENTRY */
	int store; /* the program xtap_xb_store */
};

struct xdir_usage {
	uint32_t keys, max_keys; /* entries in use, and at most */
	uint32_t buckets, spilled; /* buckets, keys in their second bucket */
	uint32_t refused; /* adds refused because both buckets were full */
};

/* A key's list as the library sees it: its criteria's slots in the order
 * they were added (stored as a chain of entries, xtap.h) and the first
 * one's rule. */
struct xlist {
	struct xtap_exact_key key;
	uint32_t n; /* 1 to XTAP_X_MAX */
	uint32_t slot[XTAP_X_MAX];
	struct xtap_rule rule;
};

/* Opens the arrays as they are: a running datapath's entries are found
 * (every bucket read once) and kept. sync(arg): wait for a grace period,
 * then call xdir_synced (the library's xtap_cls_sync). */
struct xdir *xdir_new(const struct xdir_maps *m, int (*sync)(void *), void *arg);
void xdir_free(struct xdir *xd);
/* Key k's list into *l: 0, or -ENOENT. */
int xdir_get(struct xdir *xd, const struct xtap_exact_key *k, struct xlist *l);
/* l becomes its key's list (added, or replacing the one it had). On error
 * nothing changed: -ENOSPC when entries are short or both of a new key's
 * buckets are full. */
int xdir_set(struct xdir *xd, const struct xlist *l);
/* Key k leaves the index: 0, or -ENOENT. */
int xdir_del(struct xdir *xd, const struct xtap_exact_key *k);
/* Calls cb with every key's list (cb may replace or delete that key,
 * nothing else); stops at cb's first nonzero return. */
int xdir_foreach(struct xdir *xd, int (*cb)(const struct xlist *l, void *arg), void *arg);
/* A grace period has passed since every entry freed so far was unlinked. */
void xdir_synced(struct xdir *xd);
void xdir_usage(const struct xdir *xd, struct xdir_usage *u);

#endif
