/* SPDX-License-Identifier: BSD-2-Clause */
/* Global per-CPU counters: every packet the classifier could not fully
 * classify is counted under its reason. */
#ifndef XTAP_BPF_COUNTERS_H
#define XTAP_BPF_COUNTERS_H

#include "maps.h"

static __always_inline void counter_inc(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&XTAP_MAP_COUNTERS, &reason);

	if (v)
		*v += 1; /* per-CPU: no atomic needed */
}

static __always_inline void counter_add(__u32 reason, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&XTAP_MAP_COUNTERS, &reason);

	if (v)
		*v += n;
}

#endif
