/* SPDX-License-Identifier: BSD-2-Clause */
/* Typed requests (docs/dtcp.md 2 and 4): header list -> struct dtcp_request,
 * and back to canonical text. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dtcp.h"
#include "internal.h"
#include "xbuf.h"

enum hid {
	H_CSOURCE,
	H_SEQ,
	H_CDEST,
	H_CRITERIA,
	H_SADDR,
	H_DADDR,
	H_SPORT,
	H_DPORT,
	H_PROTO,
	H_ICMP_TYPE,
	H_ICMP_CODE,
	H_FLAGS,
	H_T_IDLE,
	H_T_TOTAL,
	H_T_PACKETS,
	H_T_BYTES,
	H_PRIORITY,
	H_ACTION,
	H_IPVER,
	H_IN_IF,
	H_OUT_IF,
	H_VRF,
	H_CD_DADDR,
	H_CD_DPORT,
	H_CD_SADDR,
	H_CD_SPORT,
	H_CD_TTL,
	H_FILTER_FAMILY,
	H_INTERCEPT,
	H_IP_ADDR,
	H_INTERFACE_ID,
	H_SUBSCRIBER,
	H_N
};

static const struct {
	const char *name;
	enum hid id;
} known[] = {
	{ "Csource-ID", H_CSOURCE },
	{ "Seq", H_SEQ },
	{ "Cdest-ID", H_CDEST },
	{ "Criteria-ID", H_CRITERIA },
	{ "Source-Address", H_SADDR },
	{ "Dest-Address", H_DADDR },
	{ "Source-Port", H_SPORT },
	{ "Dest-Port", H_DPORT },
	{ "Protocol", H_PROTO },
	{ "ICMP-Type", H_ICMP_TYPE },
	{ "ICMP-Code", H_ICMP_CODE },
	{ "Flags", H_FLAGS },
	{ "Timeout-Idle", H_T_IDLE },
	{ "Timeout-Total", H_T_TOTAL },
	{ "Timeout-Packets", H_T_PACKETS },
	{ "Timeout-Bytes", H_T_BYTES },
	{ "Priority", H_PRIORITY },
	{ "Action", H_ACTION },
	{ "X-JTap-IP-Version", H_IPVER },
	{ "X-JTap-Input-Interface", H_IN_IF },
	{ "X-JTap-Output-Interface", H_OUT_IF },
	{ "X-JTap-VRF-Name", H_VRF },
	{ "X-JTap-Cdest-Dest-Address", H_CD_DADDR },
	{ "X-JTap-Cdest-Dest-Port", H_CD_DPORT },
	{ "X-JTap-Cdest-Source-Address", H_CD_SADDR },
	{ "X-JTap-Cdest-Source-Port", H_CD_SPORT },
	{ "X-JTap-Cdest-TTL", H_CD_TTL },
	{ "X-JTap-Filter-Family", H_FILTER_FAMILY },
	{ "X-MD-Intercept-Id", H_INTERCEPT },
	{ "X-IP-Addr", H_IP_ADDR },
	{ "X-Interface-Id", H_INTERFACE_ID },
	/* radius-flow-tap triggers that need a subscriber database: 501 (4.1) */
	{ "X-UserName", H_SUBSCRIBER },
	{ "X-Act-Sess-Id", H_SUBSCRIBER },
	{ "X-Call-Sta-Id", H_SUBSCRIBER },
	{ "X-NAS-Port-Id", H_SUBSCRIBER },
};

/* The first occurrence of each known header (dtcp.md 2: first wins). */
struct hdrs {
	const struct dtcp_hdr *h[H_N];
	const struct dtcp_hdr *subscriber;
};

static const char *const timeout_hdr[DTCP_T_N] = {
	"Timeout-Idle",
	"Timeout-Total",
	"Timeout-Packets",
	"Timeout-Bytes",
};

static int fail(struct dtcp_error *err, int code, const struct dtcp_hdr *h)
{
	dtcp_error_set(err, code, h->name.p, h->name.n, h->value.p, h->value.n);
	return -1;
}

static int fail_missing(struct dtcp_error *err, int code, const char *what)
{
	dtcp_error_set(err, code, "MISSING", 7, what, strlen(what));
	return -1;
}

static bool sp_ieq(struct dtcp_span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

static int collect(const struct dtcp_msg *m, struct hdrs *hs, struct dtcp_error *err)
{
	memset(hs, 0, sizeof(*hs));
	for (int i = 0; i < m->nhdr; i++) {
		const struct dtcp_hdr *h = &m->hdr[i];
		size_t k;
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (sp_ieq(h->name, known[k].name))
				break;
		if (k == sizeof(known) / sizeof(known[0])) {
			if (h->name.n >= 2 && strncasecmp(h->name.p, "X-", 2) == 0)
				continue; /* unknown X- headers are ignored (2) */
			return fail(err, DTCP_NOT_IMPLEMENTED, h);
		}
		if (known[k].id == H_SUBSCRIBER) {
			if (!hs->subscriber)
				hs->subscriber = h;
		} else if (!hs->h[known[k].id]) {
			hs->h[known[k].id] = h;
		}
	}
	return 0;
}

static int parse_u64_span(struct dtcp_span s, uint64_t max, uint64_t *out)
{
	struct dtcp_range_set rs;
	/* One plain number: reuse the list parser and insist on a single value. */
	if (s.n == 0 || memchr(s.p, ',', s.n) || memchr(s.p, '-', s.n) || memchr(s.p, '*', s.n))
		return -1;
	if (dtcp_parse_range_list(s.p, s.n, max, &rs) || rs.n != 1)
		return -1;
	*out = rs.r[0].lo;
	return 0;
}

/* "DTCP/0.x" -> x, or -1. */
static int parse_version(struct dtcp_span t)
{
	if (t.n != 8 || strncasecmp(t.p, "DTCP/0.", 7) != 0)
		return -1;
	if (t.p[7] >= '6' && t.p[7] <= '8')
		return t.p[7] - '0';
	return -1;
}

static const char *const method_names[] = {
	[DTCP_M_ADD] = "ADD",	[DTCP_M_DELETE] = "DELETE", [DTCP_M_REFRESH] = "REFRESH", [DTCP_M_LIST] = "LIST",
	[DTCP_M_NOOP] = "NOOP", [DTCP_M_ENABLE] = "ENABLE", [DTCP_M_DISABLE] = "DISABLE",
};

const char *dtcp_method_name(enum dtcp_method m)
{
	if (m <= DTCP_M_NONE || m > DTCP_M_DISABLE)
		return "?";
	return method_names[m];
}

static enum dtcp_method parse_method(struct dtcp_span t)
{
	for (int m = DTCP_M_ADD; m <= DTCP_M_DISABLE; m++)
		if (sp_ieq(t, method_names[m]))
			return (enum dtcp_method)m;
	return DTCP_M_NONE;
}

static int parse_first_line(const struct dtcp_msg *m, struct dtcp_request *r, struct dtcp_error *err)
{
	if (m->ntok != 2 || m->first_ctl) {
		dtcp_error_set(err, DTCP_BAD_REQUEST, "REQUEST-LINE", 12, m->first.p, m->first.n);
		r->version = 8;
		return -1;
	}
	r->version = parse_version(m->tok[1]);
	if (r->version < 0) {
		r->version = 8; /* 505 is answered in 0.8 (2) */
		dtcp_error_set(err, DTCP_BAD_VERSION, "VERSION", 7, m->tok[1].p, m->tok[1].n);
		return -1;
	}
	r->method = parse_method(m->tok[0]);
	if (r->method == DTCP_M_NONE || r->method == DTCP_M_ENABLE || r->method == DTCP_M_DISABLE) {
		dtcp_error_set(err, DTCP_NOT_IMPLEMENTED, "METHOD", 6, m->tok[0].p, m->tok[0].n);
		return -1;
	}
	return 0;
}

/* The next entry of the comma list *p..end, blanks trimmed; false after the
 * last one. An empty list has one empty entry. */
static bool list_next(const char **p, const char *end, struct dtcp_span *e)
{
	const char *c, *stop;

	if (*p > end)
		return false;
	c = memchr(*p, ',', (size_t)(end - *p));
	stop = c ? c : end;
	*e = (struct dtcp_span){ *p, (size_t)(stop - *p) };
	while (e->n && (e->p[0] == ' ' || e->p[0] == '\t'))
		e->p++, e->n--;
	while (e->n && (e->p[e->n - 1] == ' ' || e->p[e->n - 1] == '\t'))
		e->n--;
	*p = stop + 1;
	return true;
}

/* A comma list of names, each unescaped. */
static int parse_names(struct dtcp_span v, struct dtcp_name *out, int max, int *n)
{
	const char *p = v.p, *end = v.p + v.n;
	struct dtcp_span e;

	*n = 0;
	while (list_next(&p, end, &e)) {
		if (*n == max)
			return 1;
		if (dtcp_unescape_name(e.p, e.n, &out[*n]))
			return -1;
		(*n)++;
	}
	return 0;
}

/* Flags keywords valid for the method; anything else is 501 (2). */
static int parse_flags(const struct dtcp_hdr *h, struct dtcp_request *r, struct dtcp_error *err)
{
	const char *p = h->value.p, *end = p + h->value.n;

	r->list_flags = 0;
	while (p <= end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		const char *stop = c ? c : end;
		struct dtcp_span e = { p, (size_t)(stop - p) };
		while (e.n && e.p[0] == ' ')
			e.p++, e.n--;
		while (e.n && e.p[e.n - 1] == ' ')
			e.n--;
		if (r->method == DTCP_M_LIST) {
			if (sp_ieq(e, "Criteria"))
				r->list_flags |= DTCP_LIST_CRITERIA;
			else if (sp_ieq(e, "Stats"))
				r->list_flags |= DTCP_LIST_STATS;
			else if (sp_ieq(e, "Both"))
				r->list_flags |= DTCP_LIST_BOTH;
			else
				return fail(err, DTCP_NOT_IMPLEMENTED, h);
		} else if (r->method != DTCP_M_NOOP && sp_ieq(e, "STATIC")) {
			r->flag_static = true;
		} else {
			return fail(err, DTCP_NOT_IMPLEMENTED, h);
		}
		p = stop + 1;
	}
	return 0;
}

/* Timeout-* headers into t[]; 400 on syntax, 433 on range. */
static int parse_timeouts(const struct hdrs *hs, uint64_t t[DTCP_T_N], bool *any, struct dtcp_error *err)
{
	*any = false;
	for (int i = 0; i < DTCP_T_N; i++) {
		const struct dtcp_hdr *h = hs->h[H_T_IDLE + i];
		t[i] = 0;
		if (!h)
			continue;
		if (parse_u64_span(h->value, UINT64_MAX, &t[i]))
			return fail(err, DTCP_BAD_REQUEST, h);
		if (i <= DTCP_T_TOTAL && t[i] > DTCP_TIMEOUT_SECS_MAX)
			return fail(err, DTCP_BAD_TIMEOUT, h);
		if (t[i])
			*any = true;
	}
	return 0;
}

static int parse_selectors(const struct hdrs *hs, struct dtcp_request *r, struct dtcp_error *err)
{
	const struct dtcp_hdr *h = hs->h[H_CRITERIA];
	int rc, n;

	if (h) {
		r->sel_ids = true;
		/* IDs past 2^32 - 1 parse: they are unknown (431), not malformed. */
		rc = dtcp_parse_range_list(h->value.p, h->value.n, UINT64_MAX, &r->ids);
		if (rc)
			return fail(err, rc == DTCP_BAD_FILTER ? DTCP_BAD_REQUEST : rc, h);
		/* Entries written without '-' are single IDs: they must exist. */
		const char *p = h->value.p, *end = p + h->value.n;
		for (int i = 0; i < r->ids.n && p <= end; i++) {
			const char *c = memchr(p, ',', (size_t)(end - p));
			const char *stop = c ? c : end;
			r->id_single[i] = !memchr(p, '-', (size_t)(stop - p));
			p = stop + 1;
		}
	}
	h = hs->h[H_CDEST];
	if (h) {
		rc = parse_names(h->value, r->sel_cdest, DTCP_MAX_CDESTS, &n);
		if (rc)
			return fail(err, DTCP_BAD_REQUEST, h);
		r->nsel_cdest = (uint8_t)n;
	}
	if (r->method == DTCP_M_LIST)
		return 0;
	if (!r->sel_ids && !r->nsel_cdest)
		return fail_missing(err, DTCP_BAD_REQUEST, "Criteria-ID or Cdest-ID");
	if (r->sel_ids && r->nsel_cdest)
		return fail(err, DTCP_BAD_REQUEST, h);
	return 0;
}

/* ---- ADD ------------------------------------------------------------------ */

static int given_add(struct dtcp_criterion *c, const char *name, struct dtcp_span v)
{
	size_t used = strlen(c->given), need = strlen(name) + 2 + v.n + 2;

	if (used + need + 1 > sizeof(c->given))
		return -1;
	char *o = c->given + used;
	for (const char *s = name; *s; s++)
		*o++ = (char)((*s >= 'a' && *s <= 'z') ? *s - 32 : *s);
	*o++ = ':';
	*o++ = ' ';
	memcpy(o, v.p, v.n);
	o += v.n;
	memcpy(o, "\r\n", 3);
	return 0;
}

static int add_family(int *fam, int f, const struct dtcp_hdr *h, struct dtcp_error *err)
{
	if (!f)
		return 0;
	if (*fam && *fam != f)
		return fail(err, DTCP_BAD_FILTER, h);
	*fam = f;
	return 0;
}

static int parse_add_match(const struct hdrs *hs, struct dtcp_request *r, struct dtcp_error *err)
{
	struct dtcp_criterion *c = &r->crit;
	const struct dtcp_hdr *h;
	int rc, fam = 0;
	struct {
		enum hid id;
		struct dtcp_prefix_set *set;
	} addrs[] = {
		{ H_SADDR, &c->src },
		{ H_DADDR, &c->dst },
		{ H_IP_ADDR, &c->either },
	};
	struct {
		enum hid id;
		struct dtcp_range_set *set;
		uint64_t max;
	} ranges[] = {
		{ H_SPORT, &c->sport, 65535 },	     { H_DPORT, &c->dport, 65535 },	  { H_PROTO, &c->proto, 255 },
		{ H_ICMP_TYPE, &c->icmp_type, 255 }, { H_ICMP_CODE, &c->icmp_code, 255 },
	};

	for (size_t i = 0; i < 3; i++) {
		addrs[i].set->any = true;
		if (!(h = hs->h[addrs[i].id]))
			continue;
		if ((rc = dtcp_parse_prefix_list(h->value.p, h->value.n, addrs[i].set)))
			return fail(err, rc, h);
		if (add_family(&fam, addrs[i].set->family, h, err))
			return -1;
	}
	if ((h = hs->h[H_IP_ADDR]) && (!c->src.any || !c->dst.any))
		return fail(err, DTCP_BAD_FILTER, h); /* "src or dst" cannot combine with either */
	if ((h = hs->h[H_FILTER_FAMILY])) {
		if (sp_ieq(h->value, "ccc"))
			return fail(err, DTCP_NOT_IMPLEMENTED, h);
		int f = sp_ieq(h->value, "inet") || sp_ieq(h->value, "ipv4")  ? DTCP_AF_INET :
			sp_ieq(h->value, "inet6") || sp_ieq(h->value, "ipv6") ? DTCP_AF_INET6 :
										0;
		if (!f)
			return fail(err, DTCP_JTAP_FAILURE, h);
		if (add_family(&fam, f, h, err))
			return -1;
	}
	if ((h = hs->h[H_IPVER])) {
		int f = sp_ieq(h->value, "ipv4") ? DTCP_AF_INET : sp_ieq(h->value, "ipv6") ? DTCP_AF_INET6 : 0;
		if (!f)
			return fail(err, DTCP_JTAP_FAILURE, h);
		if (add_family(&fam, f, h, err))
			return -1;
	}
	c->family = (uint8_t)(fam ? fam : DTCP_AF_INET);
	for (size_t i = 0; i < 3; i++)
		addrs[i].set->family = c->family;

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		ranges[i].set->any = true;
		if (!(h = hs->h[ranges[i].id]))
			continue;
		if ((rc = dtcp_parse_range_list(h->value.p, h->value.n, ranges[i].max, ranges[i].set)))
			return fail(err, rc, h);
	}
	/* ICMP fields apply to ICMP of the criterion's family only (4.1). */
	const struct dtcp_hdr *icmp = !c->icmp_type.any ? hs->h[H_ICMP_TYPE] :
		!c->icmp_code.any			? hs->h[H_ICMP_CODE] :
							  NULL;
	if (icmp) {
		uint64_t want = c->family == DTCP_AF_INET6 ? 58 : 1;
		if (c->proto.any || c->proto.n != 1 || c->proto.r[0].lo != want || c->proto.r[0].hi != want)
			return fail(err, DTCP_BAD_FILTER, icmp);
	}
	return 0;
}

static int parse_add_scope(const struct hdrs *hs, struct dtcp_request *r, struct dtcp_error *err)
{
	struct dtcp_criterion *c = &r->crit;
	const struct dtcp_hdr *in = hs->h[H_IN_IF], *xin = hs->h[H_INTERFACE_ID];
	const struct dtcp_hdr *out = hs->h[H_OUT_IF], *vrf = hs->h[H_VRF], *h;
	int n, rc;

	if (vrf && (in || xin || out))
		return fail(err, DTCP_BAD_FILTER, vrf);
	if (in && xin)
		return fail(err, DTCP_BAD_FILTER, xin);
	if ((in || xin) && out)
		return fail(err, DTCP_BAD_FILTER, out);
	h = in ? in : xin ? xin : out ? out : vrf;
	if (!h) {
		c->scope = DTCP_SCOPE_ANY;
		return 0;
	}
	c->scope = h == vrf ? DTCP_SCOPE_VRF : h == out ? DTCP_SCOPE_OUTPUT : DTCP_SCOPE_INPUT;
	rc = parse_names(h->value, c->scope_name, h == vrf ? 1 : DTCP_MAX_IFACES, &n);
	if (rc)
		return fail(err, DTCP_JTAP_FAILURE, h);
	c->nscope = (uint8_t)n;
	return 0;
}

/* Entries of a comma list, blanks trimmed, into spans. Returns the count or -1. */
static int split_list(struct dtcp_span v, struct dtcp_span *out, int max)
{
	const char *p = v.p, *end = v.p + v.n;
	struct dtcp_span e;
	int n = 0;

	while (list_next(&p, end, &e)) {
		if (n == max)
			return -1;
		out[n++] = e;
	}
	return n;
}

static int parse_add_cdests(const struct hdrs *hs, struct dtcp_request *r, struct dtcp_error *err)
{
	struct dtcp_criterion *c = &r->crit;
	const struct dtcp_hdr *h = hs->h[H_CDEST], *da = hs->h[H_CD_DADDR], *dp = hs->h[H_CD_DPORT];
	struct dtcp_name names[DTCP_MAX_CDESTS];
	struct dtcp_span ea[DTCP_MAX_CDESTS], ep[DTCP_MAX_CDESTS];
	uint64_t v;
	int n, rc;

	if (!h)
		return fail_missing(err, DTCP_BAD_REQUEST, "Cdest-ID");
	rc = parse_names(h->value, names, DTCP_MAX_CDESTS, &n);
	if (rc)
		return fail(err, rc > 0 ? DTCP_MAX_CDEST : DTCP_BAD_REQUEST, h);
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < i; j++)
			if (strcmp(names[i].s, names[j].s) == 0)
				return fail(err, DTCP_BAD_FILTER, h);
		memset(&c->cdest[i], 0, sizeof(c->cdest[i]));
		c->cdest[i].name = names[i];
		c->cdest[i].ttl = 255; /* default (4.1) */
	}
	c->ncdest = (uint8_t)n;
	/* Each header on its own: the server fills what is missing from the
	 * configured content destination of that name (dtcp.md 4.1). */
	if (da) {
		if (split_list(da->value, ea, DTCP_MAX_CDESTS) != n)
			return fail(err, DTCP_BAD_FILTER, da);
		for (int i = 0; i < n; i++)
			if (dtcp_parse_addr(ea[i].p, ea[i].n, &c->cdest[i].dst))
				return fail(err, DTCP_JTAP_FAILURE, da);
		r->cdest_given |= DTCP_CD_DADDR;
	}
	if (dp) {
		if (split_list(dp->value, ep, DTCP_MAX_CDESTS) != n)
			return fail(err, DTCP_BAD_FILTER, dp);
		for (int i = 0; i < n; i++) {
			if (parse_u64_span(ep[i], 65535, &v) || v == 0)
				return fail(err, DTCP_JTAP_FAILURE, dp);
			c->cdest[i].dst_port = (uint16_t)v;
		}
		r->cdest_given |= DTCP_CD_DPORT;
	}
	if ((h = hs->h[H_CD_SADDR])) {
		struct dtcp_addr a;
		if (dtcp_parse_addr(h->value.p, h->value.n, &a))
			return fail(err, DTCP_JTAP_FAILURE, h);
		for (int i = 0; i < n; i++)
			c->cdest[i].src = a;
		r->cdest_given |= DTCP_CD_SADDR;
	}
	if ((h = hs->h[H_CD_SPORT])) {
		if (parse_u64_span(h->value, 65535, &v))
			return fail(err, DTCP_JTAP_FAILURE, h);
		for (int i = 0; i < n; i++)
			c->cdest[i].src_port = (uint16_t)v;
		r->cdest_given |= DTCP_CD_SPORT;
	}
	if ((h = hs->h[H_CD_TTL])) {
		if (parse_u64_span(h->value, 255, &v) || v == 0)
			return fail(err, DTCP_JTAP_FAILURE, h);
		for (int i = 0; i < n; i++)
			c->cdest[i].ttl = (uint8_t)v;
		r->cdest_given |= DTCP_CD_TTL;
	}
	return 0;
}

/* Hex, optional 0x, at most 16 significant digits (4.1). */
static int parse_intercept(struct dtcp_span v, uint64_t *out)
{
	size_t i = 0, sig = 0;
	uint64_t x = 0;

	if (v.n > 2 && v.p[0] == '0' && (v.p[1] == 'x' || v.p[1] == 'X'))
		i = 2;
	if (i == v.n)
		return -1;
	for (; i < v.n; i++) {
		char ch = v.p[i];
		unsigned d = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0') :
			ch >= 'a' && ch <= 'f'	    ? (unsigned)(ch - 'a' + 10) :
			ch >= 'A' && ch <= 'F'	    ? (unsigned)(ch - 'A' + 10) :
						      16;
		if (d == 16)
			return -1;
		if (x || d)
			sig++;
		if (sig > 16)
			return -1;
		x = x << 4 | d;
	}
	*out = x;
	return 0;
}

int dtcp_parse_intercept_id(const char *s, size_t n, uint64_t *out)
{
	struct dtcp_span v = { s, n };

	return parse_intercept(v, out);
}

/* Fields LIST shows as given, in this order (4.4). */
static const enum hid listed[] = {
	H_SADDR,   H_DADDR,    H_SPORT,	       H_DPORT,	   H_PROTO,    H_ICMP_TYPE, H_ICMP_CODE, H_IP_ADDR,
	H_IPVER,   H_IN_IF,    H_INTERFACE_ID, H_OUT_IF,   H_VRF,      H_T_IDLE,    H_T_TOTAL,	 H_T_PACKETS,
	H_T_BYTES, H_PRIORITY, H_CD_DADDR,     H_CD_DPORT, H_CD_SADDR, H_CD_SPORT,  H_CD_TTL,	 H_INTERCEPT,
};

static const char *hid_name(enum hid id)
{
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		if (known[k].id == id)
			return known[k].name;
	return "?";
}

static int keep_given(const struct hdrs *hs, struct dtcp_request *r, struct dtcp_error *err)
{
	struct dtcp_criterion *c = &r->crit;

	c->given[0] = 0;
	for (size_t i = 0; i < sizeof(listed) / sizeof(listed[0]); i++) {
		const struct dtcp_hdr *h = hs->h[listed[i]];
		bool is_timeout = listed[i] >= H_T_IDLE && listed[i] <= H_T_BYTES;
		if (listed[i] == H_PRIORITY && !h) {
			if (given_add(c, "Priority", (struct dtcp_span){ "1", 1 }))
				return fail_missing(err, DTCP_BAD_REQUEST, "room for Priority");
			continue;
		}
		if (!h || (is_timeout && c->is_static))
			continue;
		if (given_add(c, hid_name(listed[i]), h->value))
			return fail(err, DTCP_BAD_FILTER, h); /* longer than DTCP_GIVEN_MAX */
	}
	return 0;
}

static int parse_add(const struct hdrs *hs, struct dtcp_request *r, struct dtcp_error *err)
{
	struct dtcp_criterion *c = &r->crit;
	const struct dtcp_hdr *h;
	uint64_t v;
	bool any;

	if (hs->subscriber)
		return fail(err, DTCP_NOT_IMPLEMENTED, hs->subscriber);
	if ((h = hs->h[H_ACTION]) && !sp_ieq(h->value, "Copy"))
		return fail(err, DTCP_NOT_IMPLEMENTED, h);
	if (parse_add_match(hs, r, err) || parse_add_scope(hs, r, err))
		return -1;
	c->is_static = r->flag_static;
	if (!c->is_static) {
		bool present = false;
		for (int i = 0; i < DTCP_T_N; i++)
			present |= hs->h[H_T_IDLE + i] != NULL;
		if (!present) {
			/* No lifetime at all is static (dtcp.md 4.1: the FlowTapLite
			 * document's own ADD); the server refuses it for a control
			 * source that asks for the drafts' reading. */
			c->is_static = true;
			r->lifetime_implied = true;
		} else {
			if (parse_timeouts(hs, c->timeout, &any, err))
				return -1;
			if (!any)
				return fail_missing(err, DTCP_BAD_TIMEOUT, "Flags: STATIC or Timeout-*");
		}
	}
	c->priority = 1;
	if ((h = hs->h[H_PRIORITY])) {
		if (parse_u64_span(h->value, UINT32_MAX, &v) || v == 0)
			return fail(err, DTCP_BAD_REQUEST, h);
		c->priority = (uint32_t)v;
	}
	if (parse_add_cdests(hs, r, err))
		return -1;
	if ((h = hs->h[H_INTERCEPT])) {
		if (parse_intercept(h->value, &c->intercept_id))
			return fail(err, DTCP_BAD_REQUEST, h);
		c->has_intercept = true;
	}
	return keep_given(hs, r, err);
}

int dtcp_request_parse(const struct dtcp_msg *m, struct dtcp_request *r, struct dtcp_error *err)
{
	struct hdrs hs;
	const struct dtcp_hdr *h;

	memset(r, 0, sizeof(*r));
	err->code = 0;
	err->item[0] = 0;
	/* SEQ is echoed even in errors about other headers: read it first. */
	h = dtcp_msg_get(m, "Seq");
	if (h && !parse_u64_span(h->value, UINT64_MAX, &r->seq))
		r->has_seq = true;
	if (parse_first_line(m, r, err))
		return -1;
	if (m->has_bad) {
		dtcp_error_set(err, DTCP_BAD_REQUEST, "BAD-LINE", 8, m->bad.p, m->bad.n);
		return -1;
	}
	if (m->has_ctl) {
		/* Before any value is read, so never installed (dtcp.md 2). The
		 * item shows the line as received past the colon: the trimmed
		 * value would hide a trailing lone CR. */
		const struct dtcp_hdr *c = &m->ctl;
		const char *v = memchr(c->line.p, ':', c->line.n) + 1;
		const char *end = c->line.p + c->line.n;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		dtcp_error_set(err, DTCP_BAD_REQUEST, c->name.p, c->name.n, v, (size_t)(end - v));
		return -1;
	}
	if (m->too_many) {
		/* Headers past the bound are not kept, so Seq may be unknown. */
		dtcp_error_set(err, DTCP_BAD_REQUEST, "HEADERS", 7, "more than 256", 13);
		return -1;
	}
	if (collect(m, &hs, err))
		return -1;
	if (!(h = hs.h[H_CSOURCE]))
		return fail_missing(err, DTCP_BAD_REQUEST, "Csource-ID");
	if (dtcp_unescape_name(h->value.p, h->value.n, &r->csource))
		return fail(err, DTCP_BAD_REQUEST, h);
	if (!(h = hs.h[H_SEQ]))
		return fail_missing(err, DTCP_BAD_REQUEST, "Seq");
	if (!r->has_seq)
		return fail(err, DTCP_BAD_REQUEST, h);
	if (r->method == DTCP_M_NOOP)
		return 0;
	r->list_flags = DTCP_LIST_BOTH;
	if ((h = hs.h[H_FLAGS]) && parse_flags(h, r, err))
		return -1;
	switch (r->method) {
	case DTCP_M_ADD: return parse_add(&hs, r, err);
	case DTCP_M_REFRESH: {
		bool any;
		if (parse_selectors(&hs, r, err) || parse_timeouts(&hs, r->crit.timeout, &any, err))
			return -1;
		if (!any)
			return fail_missing(err, DTCP_BAD_TIMEOUT, "Timeout-*");
		r->timeout_given = true;
		return 0;
	}
	case DTCP_M_DELETE:
	case DTCP_M_LIST: return parse_selectors(&hs, r, err);
	default: return 0;
	}
}

/* ---- canonical formatting ----------------------------------------------------- */

static void put_prefixes(struct xbuf *o, const char *name, const struct dtcp_prefix_set *s)
{
	char a[64];
	xbuf_str(o, name);
	xbuf_str(o, ": ");
	if (s->any)
		xbuf_str(o, "*");
	for (int i = 0; i < s->n; i++) {
		dtcp_addr_str(s->family, s->p[i].a, a, sizeof(a));
		if (i)
			xbuf_str(o, ", ");
		xbuf_str(o, a);
		xbuf_str(o, "/");
		xbuf_u64(o, s->p[i].len);
	}
	xbuf_str(o, "\r\n");
}

static void put_ranges(struct xbuf *o, const char *name, const struct dtcp_range_set *s)
{
	xbuf_str(o, name);
	xbuf_str(o, ": ");
	if (s->any)
		xbuf_str(o, "*");
	for (int i = 0; i < s->n; i++) {
		if (i)
			xbuf_str(o, ", ");
		xbuf_u64(o, s->r[i].lo);
		if (s->r[i].hi != s->r[i].lo) {
			xbuf_str(o, "-");
			xbuf_u64(o, s->r[i].hi);
		}
	}
	xbuf_str(o, "\r\n");
}

static void put_names(struct xbuf *o, const char *name, const struct dtcp_name *v, int n, size_t stride)
{
	char e[4 * DTCP_NAME_MAX];
	xbuf_str(o, name);
	xbuf_str(o, ": ");
	for (int i = 0; i < n; i++) {
		dtcp_escape_name(((const struct dtcp_name *)((const char *)v + stride * (size_t)i))->s, e, sizeof(e));
		if (i)
			xbuf_str(o, ", ");
		xbuf_str(o, e);
	}
	xbuf_str(o, "\r\n");
}

static void format_add(struct xbuf *o, const struct dtcp_request *r)
{
	const struct dtcp_criterion *c = &r->crit;
	static const char *const scope_hdr[] = {
		[DTCP_SCOPE_INPUT] = "X-JTap-Input-Interface",
		[DTCP_SCOPE_OUTPUT] = "X-JTap-Output-Interface",
		[DTCP_SCOPE_VRF] = "X-JTap-VRF-Name",
	};
	char a[64];

	xbuf_str(o, c->family == DTCP_AF_INET6 ? "X-JTap-IP-Version: ipv6\r\n" : "X-JTap-IP-Version: ipv4\r\n");
	if (c->either.any) {
		put_prefixes(o, "Source-Address", &c->src);
		put_prefixes(o, "Dest-Address", &c->dst);
	} else {
		put_prefixes(o, "X-IP-Addr", &c->either);
	}
	put_ranges(o, "Source-Port", &c->sport);
	put_ranges(o, "Dest-Port", &c->dport);
	put_ranges(o, "Protocol", &c->proto);
	if (!c->icmp_type.any)
		put_ranges(o, "ICMP-Type", &c->icmp_type);
	if (!c->icmp_code.any)
		put_ranges(o, "ICMP-Code", &c->icmp_code);
	if (c->scope != DTCP_SCOPE_ANY)
		put_names(o, scope_hdr[c->scope], c->scope_name, c->nscope, sizeof(c->scope_name[0]));
	if (c->is_static && !r->lifetime_implied)
		xbuf_str(o, "Flags: STATIC\r\n");
	for (int i = 0; i < DTCP_T_N && !c->is_static; i++)
		if (c->timeout[i])
			xbuf_printf(o, "%s: %" PRIu64 "\r\n", timeout_hdr[i], c->timeout[i]);
	xbuf_str(o, "Priority: ");
	xbuf_u64(o, c->priority);
	xbuf_str(o, "\r\n");
	put_names(o, "Cdest-ID", &c->cdest[0].name, c->ncdest, sizeof(c->cdest[0]));
	if (r->cdest_given & DTCP_CD_DADDR) {
		xbuf_printf(o, "X-JTap-Cdest-Dest-Address: ");
		for (int i = 0; i < c->ncdest; i++) {
			dtcp_addr_str(c->cdest[i].dst.family, c->cdest[i].dst.a, a, sizeof(a));
			xbuf_printf(o, "%s%s", i ? ", " : "", a);
		}
		xbuf_printf(o, "\r\n");
	}
	if (r->cdest_given & DTCP_CD_DPORT) {
		xbuf_printf(o, "X-JTap-Cdest-Dest-Port: ");
		for (int i = 0; i < c->ncdest; i++)
			xbuf_printf(o, "%s%u", i ? ", " : "", c->cdest[i].dst_port);
		xbuf_printf(o, "\r\n");
	}
	if (c->ncdest && (r->cdest_given & DTCP_CD_SADDR)) {
		dtcp_addr_str(c->cdest[0].src.family, c->cdest[0].src.a, a, sizeof(a));
		xbuf_printf(o, "X-JTap-Cdest-Source-Address: %s\r\n", a);
	}
	if (c->ncdest && (r->cdest_given & DTCP_CD_SPORT))
		xbuf_printf(o, "X-JTap-Cdest-Source-Port: %u\r\n", c->cdest[0].src_port);
	if (c->ncdest && (r->cdest_given & DTCP_CD_TTL))
		xbuf_printf(o, "X-JTap-Cdest-TTL: %u\r\n", c->cdest[0].ttl);
	if (c->has_intercept)
		xbuf_printf(o, "X-MD-Intercept-Id: 0x%" PRIx64 "\r\n", c->intercept_id);
}

static void format_selectors(struct xbuf *o, const struct dtcp_request *r)
{
	if (r->sel_ids) {
		xbuf_printf(o, "Criteria-ID: ");
		if (r->ids.any)
			xbuf_printf(o, "*");
		for (int i = 0; i < r->ids.n; i++) {
			xbuf_printf(o, "%s%" PRIu64, i ? ", " : "", r->ids.r[i].lo);
			if (!r->id_single[i])
				xbuf_printf(o, "-%" PRIu64, r->ids.r[i].hi);
		}
		xbuf_printf(o, "\r\n");
	}
	if (r->nsel_cdest)
		put_names(o, "Cdest-ID", r->sel_cdest, r->nsel_cdest, sizeof(r->sel_cdest[0]));
}

size_t dtcp_request_format(const struct dtcp_request *r, char *buf, size_t cap)
{
	struct xbuf o = XBUF_FIXED(buf, cap);
	char e[4 * DTCP_NAME_MAX];

	dtcp_escape_name(r->csource.s, e, sizeof(e));
	xbuf_printf(&o, "%s DTCP/0.%d\r\nCsource-ID: %s\r\n", dtcp_method_name(r->method), r->version, e);
	switch (r->method) {
	case DTCP_M_ADD: format_add(&o, r); break;
	case DTCP_M_REFRESH:
		format_selectors(&o, r);
		for (int i = 0; i < DTCP_T_N; i++)
			if (r->crit.timeout[i])
				xbuf_printf(&o, "%s: %" PRIu64 "\r\n", timeout_hdr[i], r->crit.timeout[i]);
		if (r->flag_static)
			xbuf_printf(&o, "Flags: STATIC\r\n");
		break;
	case DTCP_M_DELETE:
		format_selectors(&o, r);
		if (r->flag_static)
			xbuf_printf(&o, "Flags: STATIC\r\n");
		break;
	case DTCP_M_LIST:
		format_selectors(&o, r);
		xbuf_printf(&o, "Flags: %s\r\n",
			    r->list_flags == DTCP_LIST_CRITERIA	     ? "Criteria" :
				    r->list_flags == DTCP_LIST_STATS ? "Stats" :
								       "Both");
		break;
	default: break;
	}
	xbuf_str(&o, "Seq: ");
	xbuf_u64(&o, r->seq);
	xbuf_str(&o, "\r\n");
	return o.full ? 0 : o.n;
}
