/* SPDX-License-Identifier: BSD-2-Clause */
/* What the BPF tests share: a private network namespace with test
 * interfaces, the loaded programs, BPF_PROG_TEST_RUN, and the counting of
 * results into the "N passed, N failed, N skipped" line. */
#ifndef XTAP_TEST_ENV_H
#define XTAP_TEST_ENV_H

#include <stdint.h>
#include <stdio.h>
#include "classifier.h"

/* ---- results ---- */
extern int t_passed, t_failed, t_skipped;
/* Record one test: rc 0 passed, 1 skipped (why says why), else failed. */
void t_record(const char *name, int rc, const char *why);
/* The reason t_record prints for a skip recorded without one (then cleared). */
extern const char *t_skip_why;
/* Print the summary line; returns the process exit code. */
int t_summary(void);

/* REQUIRE (check.h) in the test functions whose result t_record takes */
#include "check.h"

/* ---- environment ---- */
#define TENV_NIF 3
struct xtap_bpf;
struct tenv {
	struct xtap_bpf *skel;
	struct xtap_cls *cls;
	struct xtap_cls_maps maps;
	int prog_xdp, prog_tc_in, prog_tc_out, prog_vt;
	uint32_t ifindex[TENV_NIF]; /* xt0, xt1, xt2 */
	int xdp_meta; /* the kernel lets XDP leave metadata (xtap_dp_xdp_meta) */
	uint32_t vt_ifindex; /* where TC ingress clones copies (0: none) */
};

/* Where the kernel refuses bpf_xdp_adjust_meta the XDP program cannot hand
 * its verdict on, xtap attaches TC only (loader/lib/datapath.c), and a
 * test that reads the verdict from XDP's metadata is skipped, saying so. */
#define TENV_NO_XDP_META \
	"this kernel refuses bpf_xdp_adjust_meta: XDP leaves no verdict to read (xtap runs TC only here)"
#define TENV_NEED_XDP_META(e) \
	do { \
		if (!(e)->xdp_meta) { \
			t_skip_why = TENV_NO_XDP_META; \
			return 1; \
		} \
	} while (0)

/* Enter a new network namespace with veth interfaces xt0..xt2. Returns 0,
 * or 1 when the kernel lacks something (the caller skips, saying why). */
int tenv_netns(char *why, size_t whylen);
int tenv_open(struct tenv *e, uint32_t max_criteria, uint32_t max_sets);
/* Delivery settings written to the programs' read-only data before load. */
struct tenv_vt {
	uint32_t ifindex;
	uint32_t peer_ifindex; /* 0: no direct path (bpf/deliver.h), every copy to the peer */
	uint8_t mac[6], peer_mac[6];
	uint32_t mtu6;
};
int tenv_open_vt(struct tenv *e, uint32_t max_criteria, uint32_t max_sets, const struct tenv_vt *vt);
void tenv_close(struct tenv *e);
/* tenv_open, and where the kernel refuses XDP metadata the copies cloned to
 * xt2, so that tenv_ingress_cds can read TC's verdict from them. */
int tenv_open_cds(struct tenv *e, uint32_t max_criteria, uint32_t max_sets);

enum hook { HOOK_XDP, HOOK_TC_IN, HOOK_TC_OUT, HOOK_VT };
struct run_out {
	int retval;
	uint32_t mark; /* TC: skb->mark after the run */
	uint32_t size; /* bytes of data out (packet only) */
	uint8_t data[4096];
	int has_meta;
	uint32_t meta_len;
	uint8_t meta[32];
};
/* Run one hook's program on a frame seen on ifindex. Returns 0 or -errno. */
int tenv_run(struct tenv *e, enum hook h, uint32_t ifindex, const uint8_t *pkt, uint32_t len, struct run_out *out);
/* The same with skb->mark set (TC hooks). */
int tenv_run_mark(struct tenv *e, enum hook h, uint32_t ifindex, uint32_t mark, const uint8_t *pkt, uint32_t len,
		  struct run_out *out);
struct xtap_meta;
/* The content destinations an ingress frame on ifindex is copied to, as XDP
 * leaves them in its metadata (*m; returns m->ncd or -errno). Where the
 * kernel refuses XDP metadata: TC ingress's, read from the per-CD clone
 * counters it moves (ascending CD order, each CD once), after tenv_open_cds. */
int tenv_ingress_cds(struct tenv *e, uint32_t ifindex, const uint8_t *pkt, uint32_t len, struct xtap_meta *m);
/* Remove every criterion the library knows of (slots < max). */
int tenv_clear(struct tenv *e, uint32_t max);
/* Number of keys in a map. */
int tenv_map_count(int fd, size_t key_size);
/* Words of the prefix index's roots that name anything (read through a
 * mapping of the array, not the library): 0 when no prefix is indexed. */
long tenv_prefix_words(const struct tenv *e);
/* Keys in the exact index: pairs in use in xtap_xbucket, read by lookups
 * as include/xtap.h "Exact index" lays them out, not through the library. */
int tenv_exact_keys(const struct tenv *e);
/* The keys of the exact index's entries, each pair's once, into *keys
 * (malloc'd): how many, or -errno. */
int tenv_exact_list(const struct tenv *e, struct xtap_exact_key **keys);
/* Key k's entry as a program finds it (its first bucket, its second when
 * the first spilled) into *out: 0, -ENOENT, or -errno. */
int tenv_exact_entry(const struct tenv *e, const struct xtap_exact_key *k, struct xtap_xentry *out);
/* Every value of an array map, read by lookups into *buf (malloc'd, *len
 * bytes): a copy to compare with memcmp. 0 or -errno. */
int tenv_array_dump(int fd, uint8_t **buf, size_t *len);
/* Resident KiB of this process's mappings of BPF maps (/proc/self/smaps). */
long tenv_bpfmap_rss_kb(void);

#endif
