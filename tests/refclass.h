/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A plain reference classifier written from docs/dtcp.md 4.1 and
 * docs/classifier.md, with no index structures: every criterion is checked
 * against a packet description (not its bytes). The differential test holds
 * the BPF classifier to it.
 */
#ifndef XTAP_TEST_REFCLASS_H
#define XTAP_TEST_REFCLASS_H

#include <stdint.h>
#include "classifier.h"
#include "pktbuild.h"

/* What a packet offers to match on, derived from its description. */
struct ref_pkt {
	int ip; /* IP with both addresses readable */
	int family; /* XTAP_AF_* */
	uint8_t src[16], dst[16];
	int proto_known;
	uint8_t proto;
	int has_ports, has_icmp;
	int unread_proto, unread_ports, unread_icmp; /* may carry it, could not be read */
	uint16_t sport, dport;
	uint8_t itype, icode;
	int frag; /* PF_* */
	uint32_t frag_id;
	uint32_t ip_len;
};

/* The interface a packet is seen on. */
struct ref_if {
	int dir; /* XTAP_DIR_* */
	uint32_t ifindex;
	uint64_t groups; /* groups of that interface */
};

void ref_from_spec(const struct pkt_spec *s, const struct pkt_layout *lay, struct ref_pkt *p);
int ref_match(const struct xtap_criterion *c, const struct ref_pkt *p, const struct ref_if *i);
/* The same; *used (if not NULL) says whether it matched through an unread field. */
int ref_match_unread(const struct xtap_criterion *c, const struct ref_pkt *p, const struct ref_if *i, int *used);
/* Do the criterion's family, scope and addresses match (its other fields aside)? */
int ref_near(const struct xtap_criterion *c, const struct ref_pkt *p, const struct ref_if *i);

#endif
