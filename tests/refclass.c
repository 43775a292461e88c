// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>

#include "refclass.h"

/* docs/classifier.md: the parser follows eight VLAN tags (the kernel's own
 * depth) and the whole IPv6 extension chain within the first 32 KiB */
#define REF_VLAN_MAX 8
#define REF_READ_MAX 32768

/* What the packet may carry of transport fields but did not let us read
 * (docs/classifier.md "What cannot be read"): with the protocol unknown,
 * anything; else the fields of its protocol. */
static void mark_unread(struct ref_pkt *p)
{
	int icmp_proto = p->family == XTAP_AF_INET6 ? 58 : 1;

	if (!p->proto_known)
		p->unread_proto = p->unread_ports = p->unread_icmp = 1;
	else if (p->proto == icmp_proto)
		p->unread_icmp = 1;
	else if (p->proto == 6 || p->proto == 17 || p->proto == 132)
		p->unread_ports = 1;
}

void ref_from_spec(const struct pkt_spec *s, const struct pkt_layout *lay, struct ref_pkt *p)
{
	int icmp_proto, kept, need;

	memset(p, 0, sizeof(*p));
	if (s->ethertype || s->nvlan > REF_VLAN_MAX)
		return;
	p->ip = 1;
	p->family = s->family == 6 ? XTAP_AF_INET6 : XTAP_AF_INET;
	memcpy(p->src, s->src, 16);
	memcpy(p->dst, s->dst, 16);
	p->frag = s->frag;
	p->frag_id = s->family == 4 ? s->frag_id & 0xffff : s->frag_id; /* IPv4 IDs are 16 bits */
	p->ip_len = lay->end - lay->l3;
	p->proto_known = 1;
	p->proto = s->proto;
	if (s->family == 6 && lay->l4 > REF_READ_MAX) {
		/* the upper layer lies beyond what is read */
		p->proto_known = 0;
		mark_unread(p);
		return;
	}
	/* (a later fragment's fragment header read whole is not cut short:
	 * what follows it is data) */
	if (s->family == 6 && s->cut_ext && pkt_ext_count(s) && !(s->frag == PF_LATER && s->cut_ext - 1 >= 8)) {
		/* the IP packet ends inside its last extension header: that
		 * header is read when its first 8 bytes (next header, length)
		 * are there; its next header is then the upper layer */
		int last_is_frag = s->frag && !(s->frag == PF_FIRST && s->after_frag);

		if (s->cut_ext - 1 < 8) {
			if (last_is_frag)
				p->frag = PF_NONE; /* the fragment header itself is cut */
			p->proto_known = 0;
		}
		mark_unread(p);
		return;
	}
	if (s->frag == PF_LATER) {
		/* the transport header is in the first fragment; behind more
		 * headers after the fragment header even the protocol is */
		if (s->family == 6 && s->after_frag)
			p->proto_known = 0;
		mark_unread(p);
		return;
	}
	icmp_proto = s->family == 6 ? 58 : 1;
	need = s->proto == icmp_proto ? 2 : 4;
	kept = s->cut_l4 ? s->cut_l4 - 1 : 1 << 30;
	if (s->proto == icmp_proto || s->proto == 6 || s->proto == 17 || s->proto == 132) {
		if (kept < need) {
			mark_unread(p);
			return;
		}
	}
	if (s->proto == icmp_proto) {
		p->has_icmp = 1;
		p->itype = s->itype;
		p->icode = s->icode;
	} else if (s->proto == 6 || s->proto == 17 || s->proto == 132) {
		p->has_ports = 1;
		p->sport = s->sport;
		p->dport = s->dport;
	}
}

static int in_prefix(const uint8_t *addr, const uint8_t *pfx, unsigned plen)
{
	for (unsigned bit = 0; bit < plen; bit++) {
		unsigned a = (addr[bit / 8] >> (7 - bit % 8)) & 1;
		unsigned b = (pfx[bit / 8] >> (7 - bit % 8)) & 1;

		if (a != b)
			return 0;
	}
	return 1;
}

static int in_values(const struct xtap_values *v, unsigned x)
{
	for (unsigned i = 0; i < v->n; i++)
		if (x >= v->r[i].lo && x <= v->r[i].hi)
			return 1;
	return 0;
}

/* "any" matches a packet whatever it carries; a set needs the field, or
 * that the packet may carry it unread (copy rather than miss). */
static int field_ok(const struct xtap_values *v, int known, int unread, unsigned x, int *used)
{
	if (v->any)
		return 1;
	if (known)
		return in_values(v, x);
	if (unread)
		*used = 1;
	return unread;
}

static int scope_ok(const struct xtap_criterion *c, const struct ref_if *i)
{
	int listed = 0;

	for (unsigned k = 0; k < c->nif; k++)
		listed |= c->ifindex[k] == i->ifindex;
	switch (c->scope) {
	case XTAP_SCOPE_ANY: return i->dir == XTAP_DIR_IN;
	case XTAP_SCOPE_IN: return i->dir == XTAP_DIR_IN && listed;
	case XTAP_SCOPE_OUT: return i->dir == XTAP_DIR_OUT && listed;
	case XTAP_SCOPE_GROUP: return i->dir == XTAP_DIR_IN && (c->groups & i->groups);
	}
	return 0;
}

int ref_near(const struct xtap_criterion *c, const struct ref_pkt *p, const struct ref_if *i)
{
	return p->ip && c->family == p->family && scope_ok(c, i) && in_prefix(p->src, c->src, c->src_plen) &&
		in_prefix(p->dst, c->dst, c->dst_plen);
}

int ref_match_unread(const struct xtap_criterion *c, const struct ref_pkt *p, const struct ref_if *i, int *used)
{
	int u = 0, m;

	if (!ref_near(c, p, i))
		return 0;
	m = field_ok(&c->proto, p->proto_known, p->unread_proto, p->proto, &u) &&
		field_ok(&c->sport, p->has_ports, p->unread_ports, p->sport, &u) &&
		field_ok(&c->dport, p->has_ports, p->unread_ports, p->dport, &u) &&
		field_ok(&c->itype, p->has_icmp, p->unread_icmp, p->itype, &u) &&
		field_ok(&c->icode, p->has_icmp, p->unread_icmp, p->icode, &u);
	if (used)
		*used = m && u;
	return m;
}

int ref_match(const struct xtap_criterion *c, const struct ref_pkt *p, const struct ref_if *i)
{
	return ref_match_unread(c, p, i, NULL);
}
