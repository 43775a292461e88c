/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The datapath's life: load the programs (or adopt the ones already running),
 * pin maps and programs under one bpffs folder, attach XDP through libxdp (so
 * other XDP programs can share an interface) and TC through clsact, and take
 * all of it down again, removing only what xtap created.
 *
 * Everything stays attached and pinned when the process ends without
 * xtap_dp_teardown (a crash, kill -9, or "leave the datapath running"): the
 * kernel keeps intercepting, and the next start adopts the pinned maps.
 */
#ifndef XTAP_DATAPATH_H
#define XTAP_DATAPATH_H

#include <stdint.h>
#include "attach.h"
#include "classifier.h"
#include "vtpair.h"

#define XTAP_DP_MAX_IFACES 64 /* the scope masks' width (XTAP_MAX_IFACES) */
#define XTAP_TC_PRIO 0x7874 /* our tc filter priority and handle: found again on restart */

struct xtap_dp_opts {
	const char *pin_dir; /* e.g. /sys/fs/bpf/xtap */
	const char *vt_name, *vt_peer;
	int ipv6; /* IPv6 copies: the pair forwards IPv6 */
	uint32_t max_criteria; /* 0: XTAP_MAX_CRITERIA_DEFAULT */
	uint32_t cd_mtu6; /* 0: 1500 */
	int no_direct; /* every copy through vt1, none by the direct path (docs/delivery.md) */
	int no_inplace; /* every copy through vt0's program, none by the in-place path (docs/delivery.md) */
};

struct xtap_dp_iface {
	char name[16];
	uint32_t ifindex;
	enum xtap_attach_mode mode;
	int xdp; /* our XDP program is attached */
	int made_clsact; /* we created the clsact qdisc (removed with it) */
};

struct xtap_dp {
	struct xtap_cls_maps maps; /* map fds, pinned */
	int prog_xdp, prog_tc_in, prog_tc_out, prog_vt;
	int old_xdp; /* the XDP program of a replaced datapath (another layout), -1: none */
	int adopted; /* maps came from pins, not from this start */
	int xdp_meta; /* XDP can leave metadata for TC (xtap_dp_xdp_meta): else every XDP mode runs as tc */
	uint32_t max_criteria;
	char pin_dir[128];
	struct xtap_vt vt;
	struct xtap_dp_iface ifs[XTAP_DP_MAX_IFACES];
	int nifs;
	void *skel; /* struct xtap_bpf * of this start */
};

/* Load or adopt. Creates the vt pair if needed. 0 or -errno. */
int xtap_dp_open(struct xtap_dp *dp, const struct xtap_dp_opts *o);
/* Size the classifier's maps of an opened, not yet loaded object for
 * max_criteria criteria (and the exact pre-filter's mask in its rodata).
 * xtap_dp_open does it; tests and benchmarks that load the object
 * themselves call it. */
struct xtap_bpf;
void xtap_dp_size_maps(struct xtap_bpf *s, uint32_t max_criteria);
/* 1 if this kernel lets XDP programs reserve metadata (bpf_xdp_adjust_meta),
 * 0 if it refuses the helper; probed once. */
int xtap_dp_xdp_meta(void);
/* Tell an opened, not yet loaded object what the kernel allows (the XDP
 * metadata above). xtap_dp_open does it; so must tests that load it. */
void xtap_dp_features(struct xtap_bpf *s);
/* The size the address-set map was created with (pinned or new): 0 or -errno. */
int xtap_dp_sets_max(const struct xtap_dp *dp, uint32_t *max);
/* The loaded skeleton's map fds (the skeleton keeps them), by the names
 * include/xtap.h defines once. */
void xtap_dp_skel_maps(struct xtap_bpf *s, struct xtap_cls_maps *m);
/* Attach to an interface (idempotent across restarts: replaces our own
 * filters, keeps an XDP program already ours). 0 or -errno. */
int xtap_dp_attach(struct xtap_dp *dp, const char *ifname, enum xtap_attach_mode mode);
/* Detach from every interface attached in this process, remove the vt pair
 * if created, unpin everything. */
int xtap_dp_teardown(struct xtap_dp *dp);
/* Close file descriptors only: the datapath keeps running (pinned). */
void xtap_dp_close(struct xtap_dp *dp);

#endif
