// SPDX-License-Identifier: GPL-2.0
/*
 * The shell tests' own answer to "does this kernel let XDP programs use
 * bpf_xdp_adjust_meta?", independent of xtapd's probe (loader/lib/
 * datapath.c): lab.sh loads this with bpftool; a refusal means xtapd must
 * run every interface as tc.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_meta_probe(struct xdp_md *ctx)
{
	return bpf_xdp_adjust_meta(ctx, -4) ? XDP_ABORTED : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
