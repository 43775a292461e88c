// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "pktbuild.h"

void pkt_addr(uint8_t *out16, const char *text)
{
	memset(out16, 0, 16);
	if (inet_pton(AF_INET6, text, out16) != 1 && inet_pton(AF_INET, text, out16) != 1)
		abort();
}

int pkt_ext_count(const struct pkt_spec *s)
{
	return s->family == 6 ? s->next + (s->frag ? 1 + s->after_frag : 0) : 0;
}

/* Bytes of one non-AH extension header. */
static int ext_bytes(const struct pkt_spec *s)
{
	return 8 * (s->ext_len8 ? s->ext_len8 : 2);
}

int pkt_need(const struct pkt_spec *s)
{
	int ext = 0;

	for (int i = 0; s->family == 6 && i < s->next && i < PKT_EXT_MAX; i++)
		ext += s->ext[i] == 51 ? 24 : ext_bytes(s);
	if (s->family == 6 && s->frag)
		ext += 8 + s->after_frag * ext_bytes(s);

	return 14 + 4 * s->nvlan + 60 + ext + 20 + s->payload;
}

static uint16_t csum(const uint8_t *p, int len)
{
	uint32_t sum = 0;

	for (int i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Transport header of s->proto at p; returns its length. */
static int build_l4(const struct pkt_spec *s, uint8_t *p)
{
	int icmp = (s->family == 4 && s->proto == 1) || (s->family == 6 && s->proto == 58);

	if (icmp) {
		memset(p, 0, 8);
		p[0] = s->itype;
		p[1] = s->icode;
		put16(p + 4, 0x1234);
		return 8;
	}
	switch (s->proto) {
	case 6:
		memset(p, 0, 20);
		put16(p, s->sport);
		put16(p + 2, s->dport);
		p[12] = 5 << 4;
		p[13] = 0x10; /* ACK */
		put16(p + 14, 65535);
		return 20;
	case 17:
		memset(p, 0, 8);
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put16(p + 4, 8 + s->payload);
		return 8;
	case 132:
		memset(p, 0, 12);
		put16(p, s->sport);
		put16(p + 2, s->dport);
		return 12;
	}
	return 0;
}

int pkt_build(const struct pkt_spec *s, uint8_t *buf, int cap, struct pkt_layout *lay)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 }, smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	int off = 12, l3, l4 = -1, l4len = 0, need, last_ext = -1;
	uint16_t type;

	need = pkt_need(s);
	if (need > cap || s->next > PKT_EXT_MAX)
		return -1;
	memset(buf, 0, need);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	type = s->ethertype ? s->ethertype : s->family == 6 ? 0x86dd : 0x0800;
	for (int i = 0; i < s->nvlan; i++) {
		put16(buf + off, i == 0 && s->vlan_ad ? 0x88a8 : 0x8100);
		put16(buf + off + 2, 100 + i);
		off += 4;
	}
	put16(buf + off, type);
	off += 2;
	l3 = off;
	if (s->ethertype) {
		memset(buf + off, 0xab, s->payload);
		off += s->payload;
		goto done;
	}
	if (s->family == 4) {
		int ihl = 20 + s->ipopt;
		uint8_t *ip = buf + l3;
		uint16_t fo = 0;

		ip[0] = 0x40 | (ihl / 4);
		put16(ip + 4, (uint16_t)s->frag_id);
		if (s->frag == PF_FIRST)
			fo = 0x2000;
		else if (s->frag == PF_LATER)
			fo = 185; /* 1480 bytes in */
		put16(ip + 6, fo);
		ip[8] = 64;
		ip[9] = s->proto;
		memcpy(ip + 12, s->src, 4);
		memcpy(ip + 16, s->dst, 4);
		for (int i = 20; i < ihl; i++)
			ip[i] = 1; /* NOP options */
		off = l3 + ihl;
	} else {
		uint8_t *ip6 = buf + l3;
		uint8_t *nh = ip6 + 6;

		ip6[0] = 0x60;
		ip6[7] = 64;
		memcpy(ip6 + 8, s->src, 16);
		memcpy(ip6 + 24, s->dst, 16);
		off = l3 + 40;
		for (int i = 0; i < s->next; i++) {
			uint8_t *h = buf + off;

			*nh = s->ext[i];
			nh = h;
			last_ext = off;
			if (s->ext[i] == 51) { /* AH: length in 4-byte units minus 2 */
				h[1] = 4;
				off += 24;
			} else {
				int n = ext_bytes(s);

				h[1] = (uint8_t)(n / 8 - 1);
				if (s->ext[i] == 60 || s->ext[i] == 0)
					h[2] = 1, h[3] = (uint8_t)(n - 4); /* PadN */
				off += n;
			}
		}
		if (s->frag) {
			uint8_t *h = buf + off;

			*nh = 44;
			nh = h;
			last_ext = off;
			put16(h + 2, s->frag == PF_FIRST ? 1 : (185 << 3));
			h[4] = s->frag_id >> 24;
			h[5] = s->frag_id >> 16;
			h[6] = s->frag_id >> 8;
			h[7] = s->frag_id;
			off += 8;
			/* the fragmentable part of a later fragment is raw data */
			for (int i = 0; i < s->after_frag && s->frag == PF_FIRST; i++) {
				int n = ext_bytes(s);

				h = buf + off;
				*nh = 60;
				nh = h;
				last_ext = off;
				h[1] = (uint8_t)(n / 8 - 1);
				h[2] = 1, h[3] = (uint8_t)(n - 4);
				off += n;
			}
			if (s->after_frag && s->frag == PF_LATER) {
				*nh = 60;
				nh = NULL;
			}
		}
		if (nh)
			*nh = s->proto;
	}
	if (s->frag != PF_LATER) {
		l4len = build_l4(s, buf + off);
		if (l4len)
			l4 = off;
		off += l4len;
	}
	for (int i = 0; i < s->payload; i++)
		buf[off + i] = (uint8_t)(i * 7 + 1);
	off += s->payload;
	/* a short IP packet: a tiny fragment, or a chain cut short */
	if (s->cut_ext && last_ext >= 0 && last_ext + s->cut_ext - 1 < off) {
		off = last_ext + s->cut_ext - 1;
		l4 = -1, l4len = 0;
	} else if (s->cut_l4 && l4 >= 0 && l4 + s->cut_l4 - 1 < off) {
		off = l4 + s->cut_l4 - 1;
		l4len = off - l4 < l4len ? off - l4 : l4len;
	}
	if (s->family == 4) {
		put16(buf + l3 + 2, off - l3);
		put16(buf + l3 + 10, csum(buf + l3, 20 + s->ipopt));
	} else {
		put16(buf + l3 + 4, off - l3 - 40);
	}
done:
	if (lay) {
		lay->l3 = l3;
		lay->l4 = l4;
		lay->end = off;
		lay->l4_len = l4len;
	}
	return off;
}
