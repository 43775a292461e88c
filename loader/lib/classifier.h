/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The only code that writes the classifier's maps: add, remove and read
 * criteria, register interfaces. Used by the tests and by xtapd.
 *
 * Safe under traffic: an index entry is replaced whole, a new prefix entry
 * carries the criteria of the prefixes covering it, and a slot is reused only
 * after a grace period, so a packet never misses a criterion that is active
 * both before and after an update.
 */
#ifndef XTAP_CLASSIFIER_H
#define XTAP_CLASSIFIER_H

#include <stdint.h>
#include "xtap.h"

/* File descriptors of the classifier's maps (from a skeleton or pinned). */
struct xtap_cls_maps {
	int rules, stats, xbucket, xentry, sets, ifaces, present, frags, counters;
	int cdests, cd_stats;
	int xfilter; /* the exact pre-filter; 0 or less: none (every exact lookup is made) */
	int layout; /* XTAP_MAP_LAYOUT: pinned for the version check, never written */
	int pnodes, pleaf, pchunk; /* the prefix index (xtap.h), required */
	int xbstore; /* program xtap_xb_store: the exact index's bucket stores, required */
};

/* A set of values: "any", or the union of n ranges. */
struct xtap_vrange {
	uint16_t lo, hi;
};
struct xtap_values {
	int any;
	unsigned n;
	const struct xtap_vrange *r;
};

/* One criterion as docs/dtcp.md 4.1 defines it, resolved to kernel terms. */
struct xtap_criterion {
	uint8_t family; /* XTAP_AF_INET or XTAP_AF_INET6 */
	uint8_t src[16], dst[16];
	uint8_t src_plen, dst_plen; /* 0: any; 32 or 128: exact */
	struct xtap_values proto, sport, dport, itype, icode;
	uint8_t scope; /* XTAP_SCOPE_* */
	unsigned nif; /* IN / OUT: interfaces by ifindex */
	uint32_t ifindex[8];
	uint64_t groups; /* GROUP: group bits (see xtap_cls_iface_add) */
	unsigned ncd;
	uint16_t cd[XTAP_MAX_CD_PER_CRIT];
	/* control source, 0 to XTAP_MAX_SOURCES - 1: prefix criteria of one
	 * source covering an address are bounded apart from other sources'
	 * (XTAP_CAND_PER_SOURCE, docs/classifier.md) */
	uint8_t source;
};

struct xtap_cls;

/* max_criteria and max_sets must be the sizes the maps were created with. */
struct xtap_cls *xtap_cls_new(const struct xtap_cls_maps *maps, uint32_t max_criteria, uint32_t max_sets);
void xtap_cls_free(struct xtap_cls *cls);

/* Install a criterion; on success *slot names it. Errors (nothing changed):
 * -EINVAL malformed, -ENODEV unknown interface, -ENOSPC a bound (criteria,
 * sets, candidates per entry: see docs/classifier.md), -errno of a map update. */
int xtap_cls_add(struct xtap_cls *cls, const struct xtap_criterion *c, uint32_t *slot);
/* Remove a criterion. It may still match packets already in flight until
 * xtap_cls_sync() returns. */
int xtap_cls_del(struct xtap_cls *cls, uint32_t slot);
/* Wait until no program still runs with a removed criterion. */
int xtap_cls_sync(struct xtap_cls *cls);

/* Counters of a criterion, summed over CPUs. */
int xtap_cls_stats(struct xtap_cls *cls, uint32_t slot, struct xtap_crit_stats *sum);
/* The same for n slots at once (sums[i] for slots[i], any order), read in
 * runs of consecutive slots with one batch lookup each. */
int xtap_cls_stats_many(struct xtap_cls *cls, const uint32_t *slots, size_t n, struct xtap_crit_stats *sums);
/* The uid of an installed criterion (0 if the slot is free). */
uint32_t xtap_cls_uid(const struct xtap_cls *cls, uint32_t slot);
uint32_t xtap_cls_count(const struct xtap_cls *cls);
/* Global counters, summed over CPUs: out[XTAP_G_COUNT]. */
int xtap_cls_counters(struct xtap_cls *cls, uint64_t *out);

/* Register an attached interface and its group mask (bits the GROUP scope
 * tests). At most XTAP_MAX_IFACES. */
int xtap_cls_iface_add(struct xtap_cls *cls, uint32_t ifindex, uint64_t groups);

/* Adopting a running datapath after a restart: rebuild what this library
 * knows of an installed rule from its criterion, without writing a map.
 * The pinned rule in slot must carry uid and be exactly what c builds, else
 * -ESTALE (the caller then reinstalls the criterion). Call
 * xtap_cls_adopt_done() after the last one. */
int xtap_cls_adopt(struct xtap_cls *cls, const struct xtap_criterion *c, uint32_t slot, uint32_t uid);
int xtap_cls_adopt_done(struct xtap_cls *cls); /* 0 or -errno (the pre-filter's rewrite) */
/* After adopting: remove from the maps every rule nobody adopted (a pinned
 * datapath the state file does not describe), first from every index, then
 * the rules themselves. *removed: how many rules. */
int xtap_cls_sweep(struct xtap_cls *cls, uint32_t *removed);
/* Undo xtap_cls_adopt for one slot: the library forgets it, the maps keep it. */
void xtap_cls_forget(struct xtap_cls *cls, uint32_t slot);
const struct xtap_cls_maps *xtap_cls_maps_of(const struct xtap_cls *cls);
/* The prefix arrays: what is in use (roots aside) and their sizes. */
struct xtap_cls_pusage {
	uint32_t nodes, leaves, entries, chunks;
	uint64_t bytes; /* in use: nodes 1 KiB, leaves 32 B, chunks 64 B */
	uint32_t max_nodes, max_leaves, max_entries, max_chunks;
	uint32_t rebuilt; /* 1: the last xtap_cls_adopt_done wrote the prefix arrays afresh */
};
void xtap_cls_prefix_usage(const struct xtap_cls *cls, struct xtap_cls_pusage *u);
/* The exact index (exact addresses and wildcard sets): keys in use and at
 * most, buckets, keys in their second bucket, adds refused because both of
 * a new key's buckets were full. */
struct xtap_cls_xusage {
	uint32_t keys, max_keys, buckets, spilled, refused;
};
void xtap_cls_exact_usage(const struct xtap_cls *cls, struct xtap_cls_xusage *u);
/* Take a reference on a pinned content destination (one per criterion). */
int xtap_cls_cd_adopt(struct xtap_cls *cls, uint16_t index);
/* Undo xtap_cls_cd_adopt: drop the reference, leave the map as it is. */
void xtap_cls_cd_forget(struct xtap_cls *cls, uint16_t index);

/* A content destination (docs/dtcp.md 4.1 X-JTap-Cdest-*, X-MD-Intercept-Id). */
struct xtap_cd_spec {
	uint8_t family; /* XTAP_AF_INET or XTAP_AF_INET6 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport; /* host order */
	uint8_t ttl; /* 0: the default, 255 */
	int jmirror; /* 1: JMirror header with intercept_id */
	uint64_t intercept_id;
};

/* The datapath's index for this destination: an identical one is shared
 * (one copy per packet however many criteria name it). Takes a reference.
 * -EINVAL malformed, -ENOSPC all XTAP_MAX_CDESTS in use. */
int xtap_cls_cd_get(struct xtap_cls *cls, const struct xtap_cd_spec *cd, uint16_t *index);
/* Drop a reference; the last one deactivates the destination. */
int xtap_cls_cd_put(struct xtap_cls *cls, uint16_t index);
/* Counters of a destination, summed over CPUs: out[XTAP_CDS_COUNT]. */
int xtap_cls_cd_stats(struct xtap_cls *cls, uint16_t index, uint64_t *out);
/* Every slot of a destination's counters, the path counters
 * (XTAP_CDS_DIRECT, XTAP_CDS_FALLBACK) included: out[XTAP_CDS_SLOTS]. */
int xtap_cls_cd_slots(struct xtap_cls *cls, uint16_t index, uint64_t *out);
/* What the datapath holds for a criterion's slot and a destination's index
 * (xtapctl's views read the maps through here only): 0 or -errno. */
int xtap_cls_rule_read(struct xtap_cls *cls, uint32_t slot, struct xtap_rule *out);
int xtap_cls_cd_read(struct xtap_cls *cls, uint16_t index, struct xtap_cdest *out);
/* JMirror header words (network order) for an intercept id: up to 32 bits
 * fill the first word (version bits cleared), more put the high 32 bits
 * (top two cleared) in the first and the low 32 in the second. */
void xtap_jmirror_words(uint64_t intercept_id, uint32_t *w0_be, uint32_t *w1_be);

#endif
