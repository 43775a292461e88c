/* SPDX-License-Identifier: BSD-2-Clause */
/* Builds test frames from a description: Ethernet, VLAN tags, IPv4 with
 * options or IPv6 with extension headers, fragments, TCP/UDP/SCTP/ICMP. */
#ifndef XTAP_TEST_PKTBUILD_H
#define XTAP_TEST_PKTBUILD_H

#include <stdint.h>

enum { PF_NONE = 0, PF_FIRST = 1, PF_LATER = 2 };

struct pkt_spec {
	int family;           /* 4 or 6 */
	uint8_t src[16], dst[16];
	int nvlan;            /* VLAN tags (the parser follows two) */
	int vlan_ad;          /* outer tag is 802.1ad */
	int ipopt;            /* IPv4 option bytes, multiple of 4, <= 40 */
	uint8_t proto;        /* upper-layer protocol (for IPv6 never 0, 43, 44, 51, 60) */
	uint16_t sport, dport;
	uint8_t itype, icode;
	int frag;             /* PF_* */
	uint32_t frag_id;
	int next;             /* IPv6 extension headers before the upper layer */
	uint8_t ext[16];      /* their types (0, 43, 60, 51); a fragment header is added last */
	int payload;          /* bytes after the transport header */
	uint16_t ethertype;   /* nonzero: a non-IP frame of this type */
};

struct pkt_layout {
	int l3;  /* offset of the IP header */
	int l4;  /* offset of the transport header, -1 if none */
	int end; /* frame length */
	int l4_len; /* bytes of transport header written */
};

/* Returns the frame length, or -1 if it does not fit in cap. */
int pkt_build(const struct pkt_spec *s, uint8_t *buf, int cap, struct pkt_layout *lay);
/* Addresses from text (inet_pton), for tables. */
void pkt_addr(uint8_t *out16, const char *text);
/* Number of IPv6 extension headers the packet carries, fragment header included. */
int pkt_ext_count(const struct pkt_spec *s);

#endif
