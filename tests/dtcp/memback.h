/* SPDX-License-Identifier: BSD-2-Clause */
/* In-memory backend and configuration for the DTCP tests, the test SSH
 * subsystem server and the fuzzers: what xtapd will do with BPF maps and its
 * configuration file, done with arrays. */
#ifndef XTAP_DTCP_MEMBACK_H
#define XTAP_DTCP_MEMBACK_H

#include <stdio.h>

#include "dtcp.h"

#define MEM_MAX 4096 /* criteria the in-memory datapath holds */

struct mem_crit {
	bool used;
	uint32_t id;
	struct dtcp_counters cnt;
};

struct memback {
	struct mem_crit c[MEM_MAX];
	int fail_install, fail_remove, fail_read; /* fail the next N calls */
	unsigned installs, removes;
	FILE *audit; /* drops and expiries go here */
	struct dtcp_config cfg;
	struct dtcp_backend be;
};

/* Sources: ftap1, ftap2 (key "Juniper"), strict1 (seq-check strict),
 * small (max 2 criteria), limited (cdests in 192.0.2.0/24 port 7000-7999,
 * source 192.0.2.1 only). Interfaces eth0, eth1, lo, Junos alias ge-0/0/0.0
 * for eth0; VRF vrf-blue; configured cdests cdconf and cdconf6, and cdx3 whose
 * address is fixed (an X3 destination: DTCP_CDEST_FIXED). */
void memback_init(struct memback *mb, FILE *audit);
struct mem_crit *memback_find(struct memback *mb, uint32_t id);

#endif
