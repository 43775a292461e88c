/* SPDX-License-Identifier: BSD-2-Clause */
/* Filter values of docs/dtcp.md 2.1: address and number lists, ranges,
 * prefixes, and names with \ddd escapes. */
#include <arpa/inet.h>
#include <string.h>

#include "dtcp.h"

typedef unsigned __int128 u128;

/* Longest entry text we copy to parse (an IPv6 address with a prefix is 49). */
#define ENTRY_MAX 96

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Next comma-separated entry of [*p, end), blanks trimmed. */
static bool next_entry(const char **p, const char *end, const char **e, size_t *en)
{
	if (*p > end)
		return false;
	const char *s = *p, *c = memchr(s, ',', (size_t)(end - s));
	const char *stop = c ? c : end;
	*p = c ? c + 1 : end + 1;
	while (s < stop && is_blank(*s))
		s++;
	while (stop > s && is_blank(stop[-1]))
		stop--;
	*e = s;
	*en = (size_t)(stop - s);
	return true;
}

static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int dtcp_parse_addr(const char *s, size_t n, struct dtcp_addr *out)
{
	char tmp[ENTRY_MAX];

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, tmp, out->a) == 1) {
		out->family = DTCP_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, out->a) == 1) {
		out->family = DTCP_AF_INET6;
		return 0;
	}
	return -1;
}

static int family_bits(int family)
{
	return family == DTCP_AF_INET ? 32 : 128;
}

static u128 load(const uint8_t a[16], int bits)
{
	u128 v = 0;
	for (int i = 0; i < bits / 8; i++)
		v = v << 8 | a[i];
	return v;
}

static void store(u128 v, int bits, uint8_t a[16])
{
	memset(a, 0, 16);
	for (int i = bits / 8 - 1; i >= 0; i--) {
		a[i] = (uint8_t)v;
		v >>= 8;
	}
}

static u128 all_ones(int bits)
{
	return bits == 128 ? ~(u128)0 : ((u128)1 << bits) - 1;
}

int dtcp_range_to_prefixes(const uint8_t lo[16], const uint8_t hi[16], int bits, struct dtcp_prefix *out, int max)
{
	u128 l = load(lo, bits), h = load(hi, bits);
	int n = 0;

	for (;;) {
		/* Largest aligned block starting at l that stays within h. */
		int k = 0;
		while (k < bits) {
			u128 mask = all_ones(k + 1);
			if ((l & mask) != 0 || h - l < mask)
				break;
			k++;
		}
		if (n == max)
			return -1;
		store(l, bits, out[n].a);
		out[n].len = (uint8_t)(bits - k);
		n++;
		u128 last = l + all_ones(k);
		if (last == h)
			return n;
		l = last + 1;
	}
}

static void mask_prefix(struct dtcp_prefix *p, int bits)
{
	for (int i = 0; i < bits / 8; i++) {
		int keep = (int)p->len - 8 * i;
		if (keep >= 8)
			continue;
		p->a[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

static int set_family(struct dtcp_prefix_set *set, int family)
{
	if (set->family && set->family != family)
		return DTCP_BAD_FILTER;
	set->family = (uint8_t)family;
	return 0;
}

/* One address entry: A, A/len, A-B, A-*, *-B. */
static int parse_addr_entry(const char *e, size_t n, struct dtcp_prefix_set *set)
{
	const char *dash = memchr(e, '-', n), *slash = memchr(e, '/', n);
	struct dtcp_addr lo, hi;
	int rc;

	if (dash) {
		const char *b = dash + 1;
		size_t an = (size_t)(dash - e), bn = n - an - 1;
		bool lo_open = an == 1 && e[0] == '*', hi_open = bn == 1 && b[0] == '*';
		if (lo_open && hi_open)
			return -1; /* "*-*": the caller treats it as the wildcard */
		if ((!lo_open && dtcp_parse_addr(e, an, &lo)) || (!hi_open && dtcp_parse_addr(b, bn, &hi)))
			return DTCP_BAD_REQUEST;
		if (lo_open) {
			memset(&lo, 0, sizeof(lo));
			lo.family = hi.family;
		}
		if (hi_open) {
			memset(&hi, 0xff, sizeof(hi));
			hi.family = lo.family;
			if (lo.family == DTCP_AF_INET)
				memset(hi.a + 4, 0, 12);
		}
		if (lo.family != hi.family)
			return DTCP_BAD_FILTER;
		if ((rc = set_family(set, lo.family)))
			return rc;
		int bits = family_bits(lo.family);
		if (load(lo.a, bits) > load(hi.a, bits))
			return DTCP_BAD_FILTER;
		int k = dtcp_range_to_prefixes(lo.a, hi.a, bits, set->p + set->n, DTCP_MAX_PREFIXES - set->n);
		if (k < 0)
			return DTCP_BAD_FILTER;
		set->n = (uint16_t)(set->n + k);
		return 0;
	}
	size_t an = slash ? (size_t)(slash - e) : n;
	uint64_t len;
	if (dtcp_parse_addr(e, an, &lo))
		return DTCP_BAD_REQUEST;
	if ((rc = set_family(set, lo.family)))
		return rc;
	int bits = family_bits(lo.family);
	len = (uint64_t)bits;
	if (slash && parse_u64(slash + 1, n - an - 1, (uint64_t)bits, &len))
		return DTCP_BAD_REQUEST;
	if (set->n == DTCP_MAX_PREFIXES)
		return DTCP_BAD_FILTER;
	struct dtcp_prefix *p = &set->p[set->n++];
	memcpy(p->a, lo.a, 16);
	p->len = (uint8_t)len;
	/* Host bits set under the mask (10.1.1.1/24) are cleared, as routers do. */
	mask_prefix(p, bits);
	return 0;
}

static bool is_wildcard(const char *e, size_t n)
{
	return (n == 1 && e[0] == '*') || (n == 3 && memcmp(e, "*-*", 3) == 0);
}

int dtcp_parse_prefix_list(const char *s, size_t n, struct dtcp_prefix_set *out)
{
	const char *p = s, *end = s + n, *e;
	size_t en;
	bool any = false;
	int rc;

	memset(out, 0, sizeof(*out));
	while (next_entry(&p, end, &e, &en)) {
		if (en == 0)
			return DTCP_BAD_REQUEST;
		if (e[0] == '!')
			return DTCP_NOT_IMPLEMENTED; /* negation: MAY be 501 (2.1) */
		if (is_wildcard(e, en)) {
			any = true;
			continue;
		}
		if ((rc = parse_addr_entry(e, en, out)))
			return rc;
	}
	if (any) {
		/* "*" in a list makes the whole list "*"; the family stays if given. */
		out->any = true;
		out->n = 0;
	}
	return 0;
}

int dtcp_parse_range_list(const char *s, size_t n, uint64_t max, struct dtcp_range_set *out)
{
	const char *p = s, *end = s + n, *e;
	size_t en;

	memset(out, 0, sizeof(*out));
	while (next_entry(&p, end, &e, &en)) {
		uint64_t lo, hi;
		if (en == 0)
			return DTCP_BAD_REQUEST;
		if (e[0] == '!')
			return DTCP_NOT_IMPLEMENTED;
		if (is_wildcard(e, en)) {
			out->any = true;
			continue;
		}
		const char *dash = memchr(e, '-', en);
		size_t an = dash ? (size_t)(dash - e) : en;
		if (an == 1 && e[0] == '*' && dash)
			lo = 0;
		else if (parse_u64(e, an, max, &lo))
			return DTCP_BAD_REQUEST;
		hi = lo;
		if (dash) {
			size_t bn = en - an - 1;
			if (bn == 1 && dash[1] == '*')
				hi = max;
			else if (parse_u64(dash + 1, bn, max, &hi))
				return DTCP_BAD_REQUEST;
		}
		if (lo > hi)
			return DTCP_BAD_FILTER;
		if (out->n == DTCP_MAX_RANGES)
			return DTCP_BAD_FILTER;
		out->r[out->n++] = (struct dtcp_range){ lo, hi };
	}
	if (out->any)
		out->n = 0;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int dtcp_unescape_name(const char *s, size_t n, struct dtcp_name *out)
{
	size_t o = 0;

	/* Whole struct zeroed: names are compared and persisted as bytes. */
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		unsigned c = (unsigned char)s[i];
		if (c == '\\' && i + 3 < n && is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3])) {
			c = (unsigned)((s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0'));
			if (c > 255)
				return -1;
			i += 3;
		}
		/* Names become C strings, file names and log text: no controls. */
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (o + 1 >= sizeof(out->s))
			return -1;
		out->s[o++] = (char)c;
	}
	if (o == 0)
		return -1;
	out->s[o] = 0;
	return 0;
}

void dtcp_escape_name(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool esc = c <= 0x20 || c >= 0x7f || c == '\\' || c == ',';
		size_t need = esc ? 4 : 1;
		if (o + need + 1 > cap)
			break;
		if (esc) {
			out[o++] = '\\';
			out[o++] = (char)('0' + c / 100);
			out[o++] = (char)('0' + c / 10 % 10);
			out[o++] = (char)('0' + c % 10);
		} else {
			out[o++] = (char)c;
		}
	}
	if (cap)
		out[o] = 0;
}

bool dtcp_net_contains(const struct dtcp_net *net, const struct dtcp_addr *a)
{
	if (net->family != a->family)
		return false;
	int full = net->p.len / 8, rest = net->p.len % 8;
	if (memcmp(net->p.a, a->a, (size_t)full))
		return false;
	if (!rest)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (net->p.a[full] & m) == (a->a[full] & m);
}
