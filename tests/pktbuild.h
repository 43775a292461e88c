/* SPDX-License-Identifier: BSD-2-Clause */
/* Builds test frames from a description: Ethernet, VLAN tags, IPv4 with
 * options or IPv6 with extension headers, fragments, TCP/UDP/SCTP/ICMP. */
#ifndef XTAP_TEST_PKTBUILD_H
#define XTAP_TEST_PKTBUILD_H

#include <stdint.h>

#define PKT_EXT_MAX 400 /* extension headers a spec can list */

enum { PF_NONE = 0, PF_FIRST = 1, PF_LATER = 2 };

struct pkt_spec {
	int family; /* 4 or 6 */
	uint8_t src[16], dst[16];
	int nvlan; /* VLAN tags (the parser follows eight) */
	int vlan_ad; /* outer tag is 802.1ad */
	int ipopt; /* IPv4 option bytes, multiple of 4, <= 40 */
	uint8_t proto; /* upper-layer protocol (for IPv6 never 0, 43, 44, 51, 60) */
	uint16_t sport, dport;
	uint8_t itype, icode;
	int frag; /* PF_* */
	uint32_t frag_id;
	int next; /* IPv6 extension headers before the fragment header (if any) */
	uint8_t ext[PKT_EXT_MAX]; /* their types (0, 43, 60, 51) */
	int ext_len8; /* nonzero: length of the non-AH ones in 8-byte units (default 2) */
	int after_frag; /* destination-options headers after the fragment header */
	int cut_l4; /* nonzero: the IP packet ends cut_l4 - 1 bytes into the transport header */
	int cut_ext; /* nonzero: it ends cut_ext - 1 bytes into the last extension header */
	int payload; /* bytes after the transport header */
	uint16_t ethertype; /* nonzero: a non-IP frame of this type */
};

struct pkt_layout {
	int l3; /* offset of the IP header */
	int l4; /* offset of the transport header, -1 if none */
	int end; /* frame length */
	int l4_len; /* bytes of transport header written */
};

/* Returns the frame length, or -1 if it does not fit in cap. */
int pkt_build(const struct pkt_spec *s, uint8_t *buf, int cap, struct pkt_layout *lay);
/* Addresses from text (inet_pton), for tables. */
void pkt_addr(uint8_t *out16, const char *text);
/* Number of IPv6 extension headers the packet carries, fragment header included. */
int pkt_ext_count(const struct pkt_spec *s);
/* Frame bytes pkt_build may need for s (a buffer of this size always fits). */
int pkt_need(const struct pkt_spec *s);

#endif
