// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>

#include "refclass.h"

#define REF_VLAN_MAX 2 /* docs/classifier.md: the parser follows two tags */
#define REF_EXT_MAX 8  /* and eight IPv6 extension headers */

void ref_from_spec(const struct pkt_spec *s, const struct pkt_layout *lay, struct ref_pkt *p)
{
	int icmp_proto;

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
	/* IPv6: too long a chain hides the upper layer; a later fragment's
	 * chain ends at the fragment header, which is the last one built */
	if (s->family == 6 && pkt_ext_count(s) > REF_EXT_MAX) {
		p->frag = PF_NONE; /* the fragment header was never reached */
		return;
	}
	p->proto_known = 1;
	p->proto = s->proto;
	if (s->frag == PF_LATER)
		return;
	icmp_proto = s->family == 6 ? 58 : 1;
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

/* "any" matches a packet whatever it carries; a set needs the field. */
static int field_ok(const struct xtap_values *v, int known, unsigned x)
{
	return v->any || (known && in_values(v, x));
}

static int scope_ok(const struct xtap_criterion *c, const struct ref_if *i)
{
	int listed = 0;

	for (unsigned k = 0; k < c->nif; k++)
		listed |= c->ifindex[k] == i->ifindex;
	switch (c->scope) {
	case XTAP_SCOPE_ANY:
		return i->dir == XTAP_DIR_IN;
	case XTAP_SCOPE_IN:
		return i->dir == XTAP_DIR_IN && listed;
	case XTAP_SCOPE_OUT:
		return i->dir == XTAP_DIR_OUT && listed;
	case XTAP_SCOPE_GROUP:
		return i->dir == XTAP_DIR_IN && (c->groups & i->groups);
	}
	return 0;
}

int ref_match(const struct xtap_criterion *c, const struct ref_pkt *p, const struct ref_if *i)
{
	if (!p->ip || c->family != p->family || !scope_ok(c, i))
		return 0;
	if (!in_prefix(p->src, c->src, c->src_plen) || !in_prefix(p->dst, c->dst, c->dst_plen))
		return 0;
	return field_ok(&c->proto, p->proto_known, p->proto) &&
	       field_ok(&c->sport, p->has_ports, p->sport) &&
	       field_ok(&c->dport, p->has_ports, p->dport) &&
	       field_ok(&c->itype, p->has_icmp, p->itype) &&
	       field_ok(&c->icode, p->has_icmp, p->icode);
}
