// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "critspec.h"

static int parse_addr(const char *text, uint8_t *addr, uint8_t *plen, int *family)
{
	char buf[64];
	char *slash;
	int full;

	if (!text || !strcmp(text, "any")) {
		*plen = 0;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = XTAP_AF_INET;
		full = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = XTAP_AF_INET6;
		full = 128;
	} else {
		return -1;
	}
	*plen = slash ? (uint8_t)atoi(slash + 1) : full;
	return 0;
}

static int parse_values(const char *text, struct xtap_values *v, struct xtap_vrange *r)
{
	const char *p = text;

	memset(v, 0, sizeof(*v));
	if (!text || !strcmp(text, "any")) {
		v->any = 1;
		return 0;
	}
	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p || v->n == 64)
			return -1;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		r[v->n].lo = (uint16_t)lo;
		r[v->n].hi = (uint16_t)hi;
		v->n++;
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	v->r = r;
	return 0;
}

int crit_from_text(const struct crit_text *t, const uint32_t *ifindex, struct crit_store *out)
{
	struct xtap_criterion *c = &out->c;
	int fam = t->v6 ? XTAP_AF_INET6 : XTAP_AF_INET;
	const char *p;

	memset(out, 0, sizeof(*out));
	if (parse_addr(t->src, c->src, &c->src_plen, &fam) || parse_addr(t->dst, c->dst, &c->dst_plen, &fam))
		return -1;
	c->family = fam;
	if (parse_values(t->proto, &c->proto, out->r[0]) || parse_values(t->sport, &c->sport, out->r[1]) ||
	    parse_values(t->dport, &c->dport, out->r[2]) || parse_values(t->itype, &c->itype, out->r[3]) ||
	    parse_values(t->icode, &c->icode, out->r[4]))
		return -1;
	c->scope = t->scope;
	c->groups = t->groups;
	for (p = t->ifs; p && *p; p++)
		if (*p >= '0' && *p <= '9')
			c->ifindex[c->nif++] = ifindex[*p - '0'];
	for (p = t->cds; p && *p;) {
		char *end;

		c->cd[c->ncd++] = (uint16_t)strtoul(p, &end, 10);
		p = *end ? end + 1 : end;
	}
	return 0;
}
