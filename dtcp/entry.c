/* SPDX-License-Identifier: BSD-2-Clause */
/* A criterion as the server keeps it: the fixed-size fields in
 * struct dtcp_crit_head, the lists packed behind the entry in the same
 * allocation, only as long as the request's lists were. Layout of packed:
 *
 *   cdest[ncdest]                 struct dtcp_cdest, as is (e->cdest points here)
 *   given                         NUL-terminated (e->given points here)
 *   scope_name[nscope]            each NUL-terminated
 *   scope_key[nscope]             uint64_t, as is
 *   src, dst, either              any, family, n (2 bytes), n struct dtcp_prefix
 *   sport, dport, proto,
 *   icmp_type, icmp_code          any, n (2 bytes), n struct dtcp_range
 */
#include <stdlib.h>
#include <string.h>

#include "dtcp.h"

struct packer {
	unsigned char *p; /* NULL: only count */
	size_t n;
};

static void put(struct packer *k, const void *v, size_t n)
{
	if (k->p)
		memcpy(k->p + k->n, v, n);
	k->n += n;
}

static void put_str(struct packer *k, const char *s, size_t cap)
{
	put(k, s, strnlen(s, cap - 1));
	put(k, "", 1);
}

static void put_prefixes(struct packer *k, const struct dtcp_prefix_set *ps)
{
	uint16_t n = ps->n > DTCP_MAX_PREFIXES ? DTCP_MAX_PREFIXES : ps->n;
	unsigned char h[4] = { ps->any, ps->family, (unsigned char)(n & 0xff), (unsigned char)(n >> 8) };

	put(k, h, sizeof(h));
	put(k, ps->p, n * sizeof(ps->p[0]));
}

static void put_ranges(struct packer *k, const struct dtcp_range_set *rs)
{
	uint16_t n = rs->n > DTCP_MAX_RANGES ? DTCP_MAX_RANGES : rs->n;
	unsigned char h[3] = { rs->any, (unsigned char)(n & 0xff), (unsigned char)(n >> 8) };

	put(k, h, sizeof(h));
	put(k, rs->r, n * sizeof(rs->r[0]));
}

static void pack(struct packer *k, const struct dtcp_criterion *c)
{
	uint8_t ncd = c->ncdest > DTCP_MAX_CDESTS ? DTCP_MAX_CDESTS : c->ncdest;
	uint8_t nsc = c->nscope > DTCP_MAX_IFACES ? DTCP_MAX_IFACES : c->nscope;

	put(k, c->cdest, ncd * sizeof(c->cdest[0]));
	put_str(k, c->given, sizeof(c->given));
	for (int i = 0; i < nsc; i++)
		put_str(k, c->scope_name[i].s, sizeof(c->scope_name[i].s));
	put(k, c->scope_key, nsc * sizeof(c->scope_key[0]));
	put_prefixes(k, &c->src);
	put_prefixes(k, &c->dst);
	put_prefixes(k, &c->either);
	put_ranges(k, &c->sport);
	put_ranges(k, &c->dport);
	put_ranges(k, &c->proto);
	put_ranges(k, &c->icmp_type);
	put_ranges(k, &c->icmp_code);
}

struct dtcp_entry *dtcp_entry_new(const struct dtcp_criterion *c)
{
	struct packer k = { NULL, 0 };
	struct dtcp_entry *e;

	pack(&k, c); /* the size first */
	e = calloc(1, sizeof(*e) + k.n);
	if (!e)
		return NULL;
	e->c = (struct dtcp_crit_head){
		.id = c->id,
		.csource = c->csource,
		.family = c->family,
		.scope = c->scope,
		.nscope = c->nscope > DTCP_MAX_IFACES ? DTCP_MAX_IFACES : c->nscope,
		.ncdest = c->ncdest > DTCP_MAX_CDESTS ? DTCP_MAX_CDESTS : c->ncdest,
		.is_static = c->is_static,
		.has_intercept = c->has_intercept,
		.priority = c->priority,
		.intercept_id = c->intercept_id,
	};
	memcpy(e->c.csource_addr, c->csource_addr, sizeof(e->c.csource_addr));
	e->c.csource_addr[sizeof(e->c.csource_addr) - 1] = 0;
	memcpy(e->c.timeout, c->timeout, sizeof(e->c.timeout));
	k = (struct packer){ e->packed, 0 };
	pack(&k, c);
	e->packed_len = (uint32_t)k.n; /* at most about 16 KiB: every list is bounded */
	e->cdest = (const struct dtcp_cdest *)e->packed;
	e->given = (const char *)e->packed + e->c.ncdest * sizeof(struct dtcp_cdest);
	return e;
}

struct unpacker {
	const unsigned char *p;
	size_t n;
};

static void get(struct unpacker *u, void *v, size_t n)
{
	memcpy(v, u->p + u->n, n);
	u->n += n;
}

static void get_str(struct unpacker *u, char *out, size_t cap)
{
	size_t n = strnlen((const char *)u->p + u->n, cap - 1); /* written by put_str */

	get(u, out, n);
	u->n++; /* its NUL; out is zeroed */
}

static void get_prefixes(struct unpacker *u, struct dtcp_prefix_set *ps)
{
	unsigned char h[4];

	get(u, h, sizeof(h));
	ps->any = h[0];
	ps->family = h[1];
	ps->n = (uint16_t)(h[2] | h[3] << 8);
	get(u, ps->p, ps->n * sizeof(ps->p[0]));
}

static void get_ranges(struct unpacker *u, struct dtcp_range_set *rs)
{
	unsigned char h[3];

	get(u, h, sizeof(h));
	rs->any = h[0];
	rs->n = (uint16_t)(h[1] | h[2] << 8);
	get(u, rs->r, rs->n * sizeof(rs->r[0]));
}

void dtcp_entry_criterion(const struct dtcp_entry *e, struct dtcp_criterion *c)
{
	struct unpacker u = { e->packed, 0 };

	memset(c, 0, sizeof(*c));
	c->id = e->c.id;
	c->csource = e->c.csource;
	memcpy(c->csource_addr, e->c.csource_addr, sizeof(c->csource_addr));
	c->family = e->c.family;
	c->scope = e->c.scope;
	c->nscope = e->c.nscope;
	c->ncdest = e->c.ncdest;
	c->is_static = e->c.is_static;
	c->has_intercept = e->c.has_intercept;
	c->priority = e->c.priority;
	c->intercept_id = e->c.intercept_id;
	memcpy(c->timeout, e->c.timeout, sizeof(c->timeout));
	get(&u, c->cdest, c->ncdest * sizeof(c->cdest[0]));
	get_str(&u, c->given, sizeof(c->given));
	for (int i = 0; i < c->nscope; i++)
		get_str(&u, c->scope_name[i].s, sizeof(c->scope_name[i].s));
	get(&u, c->scope_key, c->nscope * sizeof(c->scope_key[0]));
	get_prefixes(&u, &c->src);
	get_prefixes(&u, &c->dst);
	get_prefixes(&u, &c->either);
	get_ranges(&u, &c->sport);
	get_ranges(&u, &c->dport);
	get_ranges(&u, &c->proto);
	get_ranges(&u, &c->icmp_type);
	get_ranges(&u, &c->icmp_code);
}

const char *dtcp_entry_scope_name(const struct dtcp_entry *e, int i)
{
	const char *p = e->given;

	if (i < 0 || i >= e->c.nscope)
		return NULL;
	for (int k = 0; k <= i; k++)
		p += strlen(p) + 1; /* the given text, then the names before i */
	return p;
}

struct dtcp_entry *dtcp_entry_dup(const struct dtcp_entry *e)
{
	struct dtcp_entry *d = malloc(sizeof(*e) + e->packed_len);

	if (!d)
		return NULL;
	memcpy(d, e, sizeof(*e) + e->packed_len);
	d->cdest = (const struct dtcp_cdest *)d->packed; /* into its own copy */
	d->given = (const char *)d->packed + ((const unsigned char *)e->given - e->packed);
	return d;
}
