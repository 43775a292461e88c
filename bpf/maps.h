/* SPDX-License-Identifier: BSD-2-Clause */
/* The maps of the classifier. Sizes are defaults; the loader sets the real
 * ones with bpf_map__set_max_entries between open and load. */
#ifndef XTAP_BPF_MAPS_H
#define XTAP_BPF_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "xtap.h"

/* Rules by slot. Written once per slot lifetime by the loader, before any
 * index entry names the slot; slots are reused only after a grace period. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XTAP_MAX_CRITERIA_DEFAULT);
	__type(key, __u32);
	__type(value, struct xtap_rule);
} XTAP_MAP_RULES SEC(".maps");

/* Criterion counters, an entry per CPU and slot (xtap.h), CPU-major: a
 * plain array because a hit then reads one line where a per-CPU array reads
 * two in a row (its pointer table, then the CPU's copy), each a cache and
 * TLB miss at a million criteria. Written only from the entry's CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XTAP_MAX_CRITERIA_DEFAULT * 2);
	__type(key, __u32);
	__type(value, struct xtap_crit_stats);
} XTAP_MAP_STATS SEC(".maps");

/* The exact index (xtap.h "Exact index"): exact addresses and the
 * wildcard sets, in arrays the loader writes through a shared mapping. A
 * hash map's lookup alone cost 2.5-3.3x a cold memory read (its bucket
 * array, then the element; docs/performance.md), and the kernel reuses a
 * replaced element's memory under a reader at once. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XTAP_XBUCKET_DEFAULT);
	__type(key, __u32);
	__type(value, struct xtap_xbucket);
} XTAP_MAP_XBUCKET SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XTAP_XENTRY_DEFAULT);
	__type(key, __u32);
	__type(value, struct xtap_xentry);
} XTAP_MAP_XENTRY SEC(".maps");

/* Exact pre-filter (see xtap.h): small enough to stay in cache and in the
 * TLB where the exact index's buckets and entries are not. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XTAP_XFILTER_WORDS_DEFAULT);
	__type(key, __u32);
	__type(value, __u64);
} XTAP_MAP_XFILTER SEC(".maps");

/* The prefix index (xtap.h "Prefix index"). Arrays the loader writes
 * through a shared mapping (BPF_F_MMAPABLE): a rebuilt part of the trie is
 * written aside and published by one aligned 32-bit store of the word that
 * names it, so a lookup sees the old or the new trie, never a mix; the
 * verifier inlines array lookups (no helper call, no hashing). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XTAP_PT_NODES_DEFAULT);
	__type(key, __u32);
	__type(value, struct xtap_pnode);
} XTAP_MAP_PNODES SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XTAP_PLEAF_DEFAULT);
	__type(key, __u32);
	__type(value, struct xtap_pleaf);
} XTAP_MAP_PLEAF SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XTAP_PCHUNK_DEFAULT);
	__type(key, __u32);
	__type(value, struct xtap_pchunk);
} XTAP_MAP_PCHUNK SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XTAP_MAX_SETS_DEFAULT);
	__type(key, __u32);
	__type(value, struct xtap_set);
} XTAP_MAP_SETS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* ifindex */
	__type(value, struct xtap_iface);
} XTAP_MAP_IFACES SEC(".maps");

/* One word: XTAP_PRESENT_BIT()s of the structures that hold entries. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} XTAP_MAP_PRESENT SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XTAP_FRAG_ENTRIES_DEFAULT);
	__type(key, struct xtap_frag_key);
	__type(value, struct xtap_frag_val);
} XTAP_MAP_FRAGS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XTAP_G_SLOTS); /* room for new reasons: a pinned map stays adoptable */
	__type(key, __u32);
	__type(value, __u64);
} XTAP_MAP_COUNTERS SEC(".maps");

/* Never read: its size is XTAP_LAYOUT_VERSION (xtap.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XTAP_LAYOUT_VERSION);
	__type(key, __u32);
	__type(value, __u32);
} XTAP_MAP_LAYOUT SEC(".maps");

/* Content destinations by index; written by the loader before a rule names them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XTAP_MAX_CDESTS_DEFAULT);
	__type(key, __u32);
	__type(value, struct xtap_cdest);
} XTAP_MAP_CDESTS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XTAP_MAX_CDESTS_DEFAULT);
	__type(key, __u32);
	__type(value, struct xtap_cd_stats);
} XTAP_MAP_CD_STATS SEC(".maps");

#endif
