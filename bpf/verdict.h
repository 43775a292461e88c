/* SPDX-License-Identifier: BSD-2-Clause */
/* XDP's verdict for TC: classify, then leave the content destinations in
 * the packet's metadata (struct xtap_meta) for TC ingress to clone to. */
#ifndef XTAP_BPF_VERDICT_H
#define XTAP_BPF_VERDICT_H

#include "classify.h"
#include "ctx.h"

/* Set by the loader (xtap_dp_features): 0 on a kernel whose XDP refuses
 * bpf_xdp_adjust_meta (seen: 6.18 built for Firecracker VMs). The call is
 * then never reached, so the verifier accepts the program (it does not
 * check a branch that frozen read-only data rules out), and the loader
 * attaches TC only: without metadata TC would classify every packet again. */
const volatile __u8 xdp_meta_ok = 1;

static __always_inline int xdp_classify(struct xdp_md *ctx)
{
	struct xtap_buf b;
	struct xtap_cls_state s;
	struct xtap_meta *meta;
	void *data;
	int delta;

	xdp_buf(ctx, &b);
	cls_run(&s, &b, XTAP_DIR_IN, ctx->ingress_ifindex);
	if (!xdp_meta_ok) {
		counter_inc(XTAP_G_META_FAIL);
		return XDP_PASS;
	}

	/* written even without a match: TC then knows XDP already looked.
	 * Sized to exactly our struct, whatever metadata came before (a frame
	 * run again, as BPF_PROG_TEST_RUN repeats do, keeps its 32 bytes). */
	delta = (int)(CTX_FIELD(ctx, struct xdp_md, data) - CTX_FIELD(ctx, struct xdp_md, data_meta)) -
		(int)sizeof(*meta);
	if (delta && bpf_xdp_adjust_meta(ctx, delta)) {
		counter_inc(XTAP_G_META_FAIL);
		return XDP_PASS;
	}
	meta = (void *)CTX_FIELD(ctx, struct xdp_md, data_meta);
	data = (void *)CTX_FIELD(ctx, struct xdp_md, data);
	if ((void *)(meta + 1) > data) {
		counter_inc(XTAP_G_META_FAIL);
		return XDP_PASS;
	}
	meta->magic = XTAP_META_MAGIC;
	meta->ifindex = ctx->ingress_ifindex;
	meta->ncd = s.ncd;
	__builtin_memcpy(meta->cd, s.cd, sizeof(meta->cd));
	return XDP_PASS;
}

#endif
