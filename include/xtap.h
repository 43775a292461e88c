/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The contract between xtap's BPF programs and user space: map names, key and
 * value layouts, counter and reason enums, and the bounds both sides rely on.
 * Fixed-width types only, explicit padding, sizes asserted. Nothing else.
 */
#ifndef XTAP_H
#define XTAP_H

#ifdef __BPF__
/* vmlinux.h already provides the __u* types */
#else
#include <linux/types.h>
#endif

/* ---- bounds ------------------------------------------------------------ */

/* Default number of criteria the maps hold; the loader may override it. */
#define XTAP_MAX_CRITERIA_DEFAULT 1048576u
/* Criteria one index entry (an address, a prefix, or the wildcard set of a
 * family and direction) may name. Bounds the per-packet work; the loader
 * refuses an add that would exceed it. */
#define XTAP_MAX_CAND 16
/* Matching criteria one packet records (counted, CDs collected); more
 * matches increment XTAP_G_MATCH_BOUND. */
#define XTAP_MAX_MATCH 16
/* Content destinations one criterion may name (docs/dtcp.md 4.1 default). */
#define XTAP_MAX_CD_PER_CRIT 8
/* Distinct content destinations one packet can reach: what fits in the
 * 32 bytes of XDP metadata (the kernel's limit) after magic, ifindex, count. */
#define XTAP_PKT_MAX_CDS 11
/* Interfaces the scope masks can name (bit per attached interface). */
#define XTAP_MAX_IFACES 64
/* Default number of port/ICMP/protocol value sets that are not one range. */
#define XTAP_MAX_SETS_DEFAULT 1024u
/* Default number of fragmented datagrams followed at once (LRU). */
#define XTAP_FRAG_ENTRIES_DEFAULT 65536u
/* Default sizes of the exact index (the loader sizes it from the number of
 * criteria, xtap_dp_size_maps): an entry per key, at most one per criterion
 * (entry 0 is none), and a bucket per two criteria, a power of two. */
#define XTAP_XENTRIES(max_criteria) ((max_criteria) + 1u + 64u) /* 64: XTAP_X_CHAIN, a chain rewritten at the limit */
#define XTAP_XENTRY_DEFAULT XTAP_XENTRIES(XTAP_MAX_CRITERIA_DEFAULT)
#define XTAP_XBUCKETS(max_criteria) ((max_criteria) <= 32u ? 16u : 1u << (32 - __builtin_clz((max_criteria) / 2u - 1u)))
#define XTAP_XBUCKET_DEFAULT 524288u /* XTAP_XBUCKETS(XTAP_MAX_CRITERIA_DEFAULT), a literal for map definitions */
/* Default sizes of the prefix arrays (the loader sizes them from the
 * number of criteria, xtap_dp_size_maps): nodes of 1 KiB, compressed
 * leaves of 32 bytes, candidate chunks of 64. */
#define XTAP_PT_NODES_DEFAULT (XTAP_PT_ROOT_NODES + 16384u)
#define XTAP_PLEAF_DEFAULT 65536u
#define XTAP_PCHUNK_DEFAULT 65536u
/* Exact pre-filter: 8 bits per criterion, so that a packet whose addresses
 * no exact criterion names skips the hash lookup 7 times in 8 even when
 * full; a power of two of 64-bit words, at least 1,024 (8 KiB). */
#define XTAP_XFILTER_WORDS(max_criteria) \
	((max_criteria) <= 8192u ? 1024u : 1u << (32 - __builtin_clz((max_criteria) / 8u - 1u)))
#define XTAP_XFILTER_WORDS_DEFAULT \
	131072u /* XTAP_XFILTER_WORDS(XTAP_MAX_CRITERIA_DEFAULT), a literal for map definitions */

/* ---- map names (defined once, used by both sides) ---------------------- */

#define XTAP_MAP_RULES xtap_rules
#define XTAP_MAP_STATS xtap_stats
#define XTAP_MAP_XBUCKET xtap_xbucket
#define XTAP_MAP_XENTRY xtap_xentry
#define XTAP_MAP_SETS xtap_sets
#define XTAP_MAP_IFACES xtap_ifaces
#define XTAP_MAP_PRESENT xtap_present
#define XTAP_MAP_FRAGS xtap_frags
#define XTAP_MAP_COUNTERS xtap_counters
#define XTAP_MAP_CDESTS xtap_cdests
#define XTAP_MAP_CD_STATS xtap_cd_stats
#define XTAP_MAP_XFILTER xtap_xfilter
/* The version of what the programs and the loader agree on beyond the maps'
 * sizes (the meaning of their values): the size of a map of its own, so
 * that a datapath pinned by another version is replaced, not adopted.
 * Raised with every change of meaning. 2: tagged candidate sets, positions
 * kept, criterion counters per CPU in a plain array. 3: the exact index in
 * loader-owned arrays (xtap_xbucket, xtap_xentry). 4: a bucket's pair
 * names its entry's first slot (xtap_xp_make). */
#define XTAP_MAP_LAYOUT xtap_layout
#define XTAP_LAYOUT_VERSION 4
/* A map's name as a string (its pin, libbpf's lookup by name):
 * XTAP_MAP_NAME(XTAP_MAP_RULES) is "xtap_rules". */
#define XTAP_MAP_NAME(m) XTAP_MAP_NAME_(m)
#define XTAP_MAP_NAME_(m) #m

/* ---- families, directions, index kinds ---------------------------------- */

enum xtap_family {
	XTAP_AF_INET = 4,
	XTAP_AF_INET6 = 6,
};

enum xtap_dir {
	XTAP_DIR_IN = 0, /* XDP and TC ingress */
	XTAP_DIR_OUT = 1, /* TC egress: output-interface criteria only */
};

/* Which packet address an index entry is keyed on. */
enum xtap_side {
	XTAP_SIDE_SRC = 0,
	XTAP_SIDE_DST = 1,
	XTAP_SIDE_WILD = 2, /* both addresses wildcarded: the per-family set */
};

/* Index key "kind" byte: side | dir << 2. */
#define XTAP_KIND(side, dir) ((__u8)((side) | ((dir) << 2)))

/* Bit of xtap_present: does any entry exist for (dir, family, structure)?
 * Lets the classifier skip lookups in empty structures. */
enum xtap_struct {
	XTAP_ST_EXACT_SRC = 0,
	XTAP_ST_EXACT_DST = 1,
	XTAP_ST_PREFIX_SRC = 2,
	XTAP_ST_PREFIX_DST = 3,
	XTAP_ST_WILD = 4,
	XTAP_ST_COUNT = 5,
};
#define XTAP_PRESENT_BIT(dir, is6, st) (1u << (((dir)*2 + (is6)) * XTAP_ST_COUNT + (st)))

/* ---- index maps ---------------------------------------------------------- */

/* Exact-address index (hash) and the wildcard sets (addr all zero). */
struct xtap_exact_key {
	__u8 kind; /* XTAP_KIND(side, dir) */
	__u8 family; /* XTAP_AF_* */
	__u8 pad[2];
	__u8 addr[16]; /* IPv4 in the first 4 bytes, rest zero */
};
_Static_assert(sizeof(struct xtap_exact_key) == 20, "exact key size");

/* Exact pre-filter (XTAP_MAP_XFILTER, an array of 64-bit words): bit
 * xtap_xfilter_hash(key) & mask is set while an exact (not wildcard) index
 * entry with that key exists; a clear bit means no entry. Both sides must
 * compute the same hash: it is part of the contract. */
static inline __attribute__((always_inline)) __u32 xtap_xfilter_hash(const struct xtap_exact_key *k)
{
	__u32 w[5], h = 0x9e3779b9u;

	__builtin_memcpy(w, k, sizeof(w)); /* not through a cast: that breaks strict aliasing at -O2 */

	for (int i = 0; i < 5; i++) { /* the key's five words, murmur3-style rounds */
		__u32 x = w[i] * 0xcc9e2d51u;

		x = (x << 15) | (x >> 17);
		h ^= x * 0x1b873593u;
		h = ((h << 13) | (h >> 19)) * 5u + 0xe6546b64u;
	}
	h ^= h >> 16; /* murmur3's finaliser */
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

/* Exact index: a hash table in two arrays the loader owns and writes
 * through a shared mapping (loader/lib/exact_dir.c, docs/classifier.md
 * "Exact index"). Keys are exact addresses and the per-family wildcard
 * sets (addr all zero). A key of hash h = xtap_xfilter_hash(key) lives in
 * bucket xtap_xb_first(h), or when that bucket was full in
 * xtap_xb_second(h), and then the first bucket's spill counts it. A bucket
 * is one cache line of pairs (xtap_xp_make: a tag of h, the entry number
 * and the entry's first slot), 0 when free, each written by one aligned
 * 64-bit store; an entry is written once, before a pair names it, and
 * reused only a grace period after no pair names it: so a reader sees a
 * key's old or new entry, whole, never another key's. A lookup reads one
 * bucket (two when the first spilled) and one entry, and beside the entry
 * the counters of the slot the pair names. */
#define XTAP_XB_PAIRS 7
struct xtap_xbucket {
	__u64 e[XTAP_XB_PAIRS]; /* xtap_xp_make(h, entry, slot), 0: free */
	__u32 spill; /* keys whose first bucket this is, in their second */
	__u32 pad;
};
_Static_assert(sizeof(struct xtap_xbucket) == 64, "xbucket is one cache line");

/* Arguments of the loader's stores into the buckets (xtap.bpf.c
 * xtap_xb_store, run by BPF_PROG_TEST_RUN): one pair or spill, one aligned
 * store, without mapping the buckets into the loader (hashed keys touch
 * every page: a few thousand keys made 32 MiB of them resident at 1M). */
struct xtap_xb_store {
	__u32 bucket;
	__u32 pair; /* 0 .. XTAP_XB_PAIRS - 1; XTAP_XB_PAIRS: the spill */
	__u64 value;
};

/* A pair: the entry number in bits 0-20, the entry's slot[0] in bits 21-41
 * (so that a reader reads that criterion's counters beside the entry, not
 * after it), the top 22 bits of h above. 21 bits bound entries and slots at
 * 2^21, twice the largest -C. An entry's slot[0] never changes (entries are
 * written once), so the pair's copy stays true. Entry 0 is none: a used
 * pair is never 0. */
#define XTAP_XP_BITS 21
#define XTAP_XP_MASK ((1u << XTAP_XP_BITS) - 1u)
_Static_assert(XTAP_XENTRIES(XTAP_MAX_CRITERIA_DEFAULT) <= XTAP_XP_MASK, "entry numbers fit a pair");
_Static_assert(XTAP_MAX_CRITERIA_DEFAULT <= XTAP_XP_MASK, "slots fit a pair");

static inline __attribute__((always_inline)) __u32 xtap_xp_tag(__u32 h)
{
	return h >> (2 * XTAP_XP_BITS - 32); /* the 64 - 2 * 21 = 22 bits above the pair's two numbers */
}

static inline __attribute__((always_inline)) __u64 xtap_xp_make(__u32 h, __u32 id, __u32 slot)
{
	return (__u64)xtap_xp_tag(h) << (2 * XTAP_XP_BITS) | (__u64)(slot & XTAP_XP_MASK) << XTAP_XP_BITS |
		(id & XTAP_XP_MASK);
}

static inline __attribute__((always_inline)) __u32 xtap_xp_id(__u64 v)
{
	return (__u32)v & XTAP_XP_MASK;
}

static inline __attribute__((always_inline)) __u32 xtap_xp_slot(__u64 v)
{
	return (__u32)(v >> XTAP_XP_BITS) & XTAP_XP_MASK;
}

static inline __attribute__((always_inline)) __u32 xtap_xp_tagof(__u64 v)
{
	return (__u32)(v >> (2 * XTAP_XP_BITS));
}

/* The two buckets of hash h among mask + 1 (a power of two, at least 2):
 * the second from the hash's other bits, never the first. */
static inline __attribute__((always_inline)) __u32 xtap_xb_first(__u32 h, __u32 mask)
{
	return h & mask;
}

static inline __attribute__((always_inline)) __u32 xtap_xb_second(__u32 h, __u32 mask)
{
	__u32 b = (__u32)(((__u64)h * 0x9e3779b97f4a7c15ull) >> 32) & mask; /* Fibonacci hashing */

	return b == (h & mask) ? b ^ 1u : b;
}

/* Prefix index: a multibit trie in arrays, built by the loader
 * (loader/lib/prefix_dir.c, docs/classifier.md "Prefixes"). A lookup reads
 * one root word, at most XTAP_PT_LEVELS node words (IPv4: XTAP_PT_LEVELS4),
 * at most one compressed leaf: a bounded number of reads whatever the
 * number of prefixes. It yields a prefix entry: the first chunk of its
 * candidate list, which goes on with its covering entry's list.
 *
 * XTAP_MAP_PNODES: nodes of 256 words (one address byte each; a node is
 * 1 KiB, as small as a multibit node gets without bitmap compression). The
 * first XTAP_PT_NROOTS * 256 nodes are the roots: 2^16 words each (the
 * first two address bytes, 256 KiB, so that a short prefix expands into at
 * most 2^15 words). A word is a tagged value: */
#define XTAP_MAP_PNODES xtap_pnodes
#define XTAP_MAP_PLEAF xtap_pleaf
#define XTAP_MAP_PCHUNK xtap_pchunk
#define XTAP_PT_NROOTS 8 /* (dir, side src/dst) x family: XTAP_PT_ROOT() */
#define XTAP_PT_ROOT(dir, side, is6) ((((dir)*2u + (side)) * 2u) + (is6))
#define XTAP_PT_ROOT_NODES (XTAP_PT_NROOTS * 256u) /* node of root r, first byte b: r * 256 + b */
/* Node levels below a root: IPv4 bytes 2 and 3, IPv6 bytes 2 to 15. */
#define XTAP_PT_LEVELS4 2
#define XTAP_PT_LEVELS 14
#define XTAP_PT_TAG(w) ((w) >> 30)
#define XTAP_PT_VAL(w) ((w)&0x3fffffffu)
#define XTAP_PT_LEAF 0u /* value: prefix entry (its first chunk), 0: none */
#define XTAP_PT_NODE 1u /* value: node number */
#define XTAP_PT_CLEAF 2u /* value: compressed leaf number */
#define XTAP_PT_WORD(tag, v) (((__u32)(tag) << 30) | (__u32)(v))

struct xtap_pnode {
	__u32 w[256];
};
_Static_assert(sizeof(struct xtap_pnode) == 1024, "pnode size");

/* A compressed leaf: the one prefix below a word (path compression: sparse
 * IPv6 prefixes would otherwise cost a node per byte). An address inside
 * addr/plen gets entry match, any other the word's covering entry miss. */
struct xtap_pleaf {
	__u8 addr[16]; /* bits beyond plen are zero */
	__u8 plen; /* address bits, 1 to 127 */
	__u8 pad[3];
	__u32 match; /* the prefix's entry */
	__u32 miss; /* the covering entry, 0: none */
	__u32 pad2;
};
_Static_assert(sizeof(struct xtap_pleaf) == 32, "pleaf size: two per cache line");

/* Candidate chunk (1-based; 0 is none): one cache line of rule slots. A
 * prefix entry is named by its first chunk: its own criteria, chained by
 * next, then (parent) the covering entry's list. Written once; an entry
 * whose criteria change gets a new chain (a new number), and its parent
 * field, in every chunk of an entry, is switched by one 32-bit store. */
#define XTAP_PCHUNK_SLOTS 13
struct xtap_pchunk {
	__u32 n; /* slots used, 1 to XTAP_PCHUNK_SLOTS */
	__u32 next; /* next own chunk of the entry, 0: last */
	__u32 parent; /* the covering entry, 0: none */
	__u32 slot[XTAP_PCHUNK_SLOTS];
};
_Static_assert(sizeof(struct xtap_pchunk) == 64, "pchunk is one cache line");

/* Control sources (DTCP users) counted apart, and how many prefix criteria
 * of one source may cover one address (the list of its longest prefix):
 * no source can exhaust another's share. */
#define XTAP_MAX_SOURCES 64
#define XTAP_CAND_PER_SOURCE 16
/* Chunks of the longest list: at most one entry per prefix length (127)
 * each with a last chunk not full, and every source at its share. */
#define XTAP_PWALK_MAX (127 + (XTAP_MAX_SOURCES * XTAP_CAND_PER_SOURCE + XTAP_PCHUNK_SLOTS - 1) / XTAP_PCHUNK_SLOTS)

/* ---- rules ---------------------------------------------------------------- */

/* A set of 16-bit values (ports) or 8-bit values (protocol, ICMP type and
 * code): the range [lo, hi] when set == 0, else bitmap number set - 1 in
 * xtap_sets. "Any" is a rule flag, not a range: it also matches packets that
 * carry no such field. */
struct xtap_valset {
	__u16 lo;
	__u16 hi;
	__u32 set;
};

enum xtap_rule_flag {
	XTAP_R_ACTIVE = 1u << 0,
	XTAP_R_CHECK_SRC = 1u << 1, /* source is not the anchor: compare it */
	XTAP_R_CHECK_DST = 1u << 2, /* destination is not the anchor: compare */
	XTAP_R_PROTO_ANY = 1u << 3,
	XTAP_R_SPORT_ANY = 1u << 4,
	XTAP_R_DPORT_ANY = 1u << 5,
	XTAP_R_ITYPE_ANY = 1u << 6,
	XTAP_R_ICODE_ANY = 1u << 7,
};

enum xtap_scope {
	XTAP_SCOPE_ANY = 0, /* ingress of every attached interface */
	XTAP_SCOPE_IN = 1, /* ingress of the interfaces in mask */
	XTAP_SCOPE_OUT = 2, /* egress of the interfaces in mask */
	XTAP_SCOPE_GROUP = 3, /* ingress of interfaces whose groups meet mask */
};

struct xtap_rule {
	__u32 uid; /* nonzero, unique over the life of the maps */
	__u16 flags; /* XTAP_R_* */
	__u8 family; /* XTAP_AF_* */
	__u8 scope; /* XTAP_SCOPE_* */
	__u64 scope_mask;
	__u8 src[16];
	__u8 dst[16];
	__u8 src_plen;
	__u8 dst_plen;
	__u8 ncd;
	__u8 pad;
	__u16 cd[XTAP_MAX_CD_PER_CRIT]; /* content destination indexes */
	struct xtap_valset proto;
	struct xtap_valset sport;
	struct xtap_valset dport;
	struct xtap_valset itype;
	struct xtap_valset icode;
	__u32 pad2;
};
_Static_assert(sizeof(struct xtap_rule) == 112, "rule size");

/* An exact index entry: the key, the slots of its criteria (into
 * xtap_rules, in the order they were added) and a copy of the first one's
 * rule, so that a packet matching a key's only criterion reads no more
 * than its bucket and this entry (four lines of one page). A key with more
 * than XTAP_MAX_CAND criteria continues in the entry `next` names (a
 * chain the bucket does not name; rule unused there), at most XTAP_X_CHAIN
 * entries: every source's share (XTAP_CAND_PER_SOURCE per key, as for
 * prefixes) fits. Written once: a key whose criteria change gets a new
 * chain. */
#define XTAP_X_MAX (XTAP_MAX_SOURCES * XTAP_CAND_PER_SOURCE)
#define XTAP_X_CHAIN (XTAP_X_MAX / XTAP_MAX_CAND)
_Static_assert(XTAP_X_CHAIN == 64, "XTAP_XENTRIES' room for one chain");
struct xtap_xentry {
	struct xtap_exact_key key;
	__u32 n; /* slots in use, 1 to XTAP_MAX_CAND */
	__u32 slot[XTAP_MAX_CAND];
	__u32 next; /* the entry holding the key's next slots, 0: none */
	__u32 pad;
	struct xtap_rule rule; /* xtap_rules[slot[0]] as written (the head of a chain) */
	__u8 pad2[48];
};
_Static_assert(sizeof(struct xtap_xentry) == 256, "xentry: four lines, never across a page");

/* Bitmap of a value set: bit v set when value v is in the set. */
#define XTAP_SET_BYTES 8192
struct xtap_set {
	__u8 bits[XTAP_SET_BYTES];
};

/* Counters of one criterion on one CPU (xtap_stats: entry cpu * slots +
 * slot, where slots is the rules map's size), and their sum over the CPUs
 * (xtap_cls_stats). */
struct xtap_crit_stats {
	__u64 packets;
	__u64 bytes; /* IP bytes: from the IP header to the end of the packet */
	__u64 last_ns; /* bpf_ktime_get_ns() of the last match, 0 if none */
	__u64 pad; /* 32 bytes: an entry never spans two cache lines */
};
_Static_assert(sizeof(struct xtap_crit_stats) == 32, "criterion stats size");

/* Attached interface: bit position for scope masks and its group mask. */
struct xtap_iface {
	__u32 bit; /* 0 .. XTAP_MAX_IFACES - 1 */
	__u32 pad;
	__u64 groups;
};

/* ---- fragments --------------------------------------------------------------- */

struct xtap_frag_key {
	__u8 family;
	__u8 proto;
	__u8 dir; /* records of ingress and egress never mix */
	__u8 pad;
	__u32 id; /* IPv4 ID or IPv6 fragment identification, network order */
	__u8 src[16];
	__u8 dst[16];
};
_Static_assert(sizeof(struct xtap_frag_key) == 40, "frag key size");

struct xtap_match_ref {
	__u32 slot;
	__u32 uid; /* the rule's uid when matched: a reused slot does not match */
};

struct xtap_frag_val {
	__u32 n;
	__u32 pad;
	struct xtap_match_ref m[XTAP_MAX_MATCH];
};

/* ---- XDP to TC verdict ------------------------------------------------------- */

#define XTAP_META_MAGIC 0x78746170u /* "xtap" */
struct xtap_meta {
	__u32 magic;
	__u32 ifindex; /* where XDP saw the packet: TC trusts only its own */
	__u16 ncd;
	__u16 cd[XTAP_PKT_MAX_CDS];
};
_Static_assert(sizeof(struct xtap_meta) == 32, "XDP metadata is at most 32 bytes");

/* ---- delivery to content destinations ------------------------------------------ */

/* Default number of content destinations (distinct address, port, format
 * and intercept id); criteria name them by index. */
#define XTAP_MAX_CDESTS_DEFAULT 4096u

enum xtap_cd_format {
	XTAP_CD_PLAIN = 0, /* outer IP + UDP + the intercepted packet */
	XTAP_CD_JMIRROR = 1, /* outer IP + UDP + 8-byte JMirror header + packet */
};

struct xtap_cdest {
	__u8 family; /* outer family: XTAP_AF_INET or XTAP_AF_INET6 */
	__u8 format; /* enum xtap_cd_format */
	__u8 ttl; /* TTL / hop limit */
	__u8 active;
	__be16 sport;
	__be16 dport;
	__be32 jm_word0; /* JMirror: version 0 (2 bits) | intercept id (30 bits) */
	__be32 jm_word1; /* JMirror: session id */
	__u8 src[16];
	__u8 dst[16];
	__u32 ip_id; /* next IPv4 ID (atomically incremented) */
	__u32 pad;
};
_Static_assert(sizeof(struct xtap_cdest) == 56, "cdest size");

/* The copy carries its content destination to vt0 in skb->mark. */
#define XTAP_MARK_MAGIC 0x78740000u
#define XTAP_MARK_MASK 0xffff0000u

/* Per-CPU counters of one content destination. */
enum xtap_cd_counter {
	XTAP_CDS_CLONED = 0, /* copies handed to vt0, or cloned by the in-place path */
	XTAP_CDS_SENT, /* copies encapsulated and sent on */
	XTAP_CDS_SENT_BYTES, /* their bytes, outer headers included */
	XTAP_CDS_CLONE_FAIL, /* bpf_clone_redirect failed */
	XTAP_CDS_INACTIVE, /* no such destination (removed meanwhile) */
	XTAP_CDS_NOT_IP, /* the copy held no IP packet */
	XTAP_CDS_NO_ROOM, /* headers could not be added */
	XTAP_CDS_TOO_BIG, /* larger than the IPv6 path allows (no fragmentation) */
	XTAP_CDS_GSO, /* aggregated (GSO) copy for an IPv6 destination */
	XTAP_CDS_NOT_LINEAR, /* room made, but the new headers not directly writable */
	XTAP_CDS_CSUM_FAIL, /* the copy's bytes could not be read for the IPv6 UDP checksum */
	XTAP_CDS_RESTORE_FAIL, /* the in-place path could not restore the original: it was dropped */
	XTAP_CDS_COUNT,
};
/* Counters per destination: more than XTAP_CDS_COUNT, so that a later build
 * adding reasons can still adopt a datapath pinned by this one. */
#define XTAP_CDS_SLOTS 16
/* How the SENT copies left vt0's program (docs/delivery.md): not reasons to
 * drop, so outside XTAP_CDS_COUNT, in the last two slots, where reasons
 * added later do not move them. DIRECT + FALLBACK == SENT. */
#define XTAP_CDS_DIRECT (XTAP_CDS_SLOTS - 2) /* sent straight out of the route's device */
#define XTAP_CDS_FALLBACK (XTAP_CDS_SLOTS - 1) /* handed to vt1 and the host's routing */
_Static_assert(XTAP_CDS_COUNT <= XTAP_CDS_DIRECT, "CD counter reasons fit the CD stats value");
struct xtap_cd_stats {
	__u64 c[XTAP_CDS_SLOTS];
};
_Static_assert(sizeof(struct xtap_cd_stats) == 8 * XTAP_CDS_SLOTS, "CD stats size");

/* ---- global counters (per-CPU array, index = reason) ------------------------- */

enum xtap_counter {
	XTAP_G_PACKETS = 0, /* packets seen by a classifier */
	XTAP_G_MATCHED, /* packets that matched at least one criterion */
	XTAP_G_NOT_IP, /* ethertype neither IPv4 nor IPv6 */
	XTAP_G_TRUNC_L2, /* ended inside Ethernet or VLAN headers */
	XTAP_G_VLAN_DEPTH, /* more VLAN tags than the parser follows (VLAN_MAX_DEPTH) */
	XTAP_G_TRUNC_L3, /* ended inside the IP header; in IPv4 options: addresses read */
	XTAP_G_BAD_L3, /* IP version or header length invalid */
	XTAP_G_TRUNC_EXT, /* ended inside the IPv6 extension chain: upper layer unread */
	XTAP_G_EXT_DEPTH, /* IPv6 chain past the parser's offset bound: upper layer unread */
	XTAP_G_TRUNC_L4, /* ended before the ports or ICMP type/code: fields unread */
	XTAP_G_MATCH_BOUND, /* more matches than XTAP_MAX_MATCH */
	XTAP_G_CD_BOUND, /* more distinct CDs than XTAP_PKT_MAX_CDS */
	XTAP_G_FRAG_RECORDED, /* first fragments recorded for follow-up */
	XTAP_G_FRAG_FOLLOWED, /* later fragments matched through the record */
	XTAP_G_FRAG_UNKNOWN, /* later fragments with no record, or none left: fields unread */
	XTAP_G_FRAG_RECORD_FAIL, /* first fragment could not be recorded */
	XTAP_G_META_FAIL, /* XDP could not reserve metadata */
	XTAP_G_META_USED, /* TC used XDP's verdict instead of classifying */
	XTAP_G_RULE_STALE, /* candidate slot without an active rule */
	XTAP_G_VT_FOREIGN, /* a packet on vt0 that xtap did not clone (dropped) */
	XTAP_G_FRAG_TINY, /* first fragment ends before its transport fields: fields unread */
	XTAP_G_FRAG_NONE, /* later fragments whose first fragment matched nothing */
	XTAP_G_MATCH_UNREAD, /* packets a criterion matched only because a field it sets was unreadable */
	XTAP_G_MATCHED_BYTES, /* bytes (from the IP header on) of the packets XTAP_G_MATCHED counts */
	XTAP_G_COUNT,
};
/* Entries of the counters map: more than XTAP_G_COUNT, so that a later build
 * adding reasons can still adopt a datapath pinned by this one. */
#define XTAP_G_SLOTS 64
_Static_assert(XTAP_G_COUNT <= XTAP_G_SLOTS, "counter reasons fit the counters map");

#endif /* XTAP_H */
