// SPDX-License-Identifier: BSD-2-Clause
/*
 * DTCP criteria into datapath rules (see backend.h). Log lines name
 * criteria by id only: match fields never reach ordinary logs.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "log.h"

struct xtap_be_rec {
	uint32_t id;
	uint32_t n;
	uint32_t *slots;
	uint8_t ncd;
	uint16_t cd[XTAP_MAX_CD_PER_CRIT];
};

void xtap_backend_init(struct xtap_backend *b, struct xtap_cls *cls)
{
	memset(b, 0, sizeof(*b));
	b->cls = cls;
	b->default_sport = 49152; /* when X-JTap-Cdest-Source-Port is absent */
}

void xtap_backend_free(struct xtap_backend *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->recs[i].slots);
	free(b->recs);
	b->recs = NULL;
	b->n = b->cap = 0;
}

static size_t rec_pos(const struct xtap_backend *b, uint32_t id)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (b->recs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct xtap_be_rec *rec_find(const struct xtap_backend *b, uint32_t id)
{
	size_t i = rec_pos(b, id);

	return i < b->n && b->recs[i].id == id ? &b->recs[i] : NULL;
}

int xtap_backend_rules(const struct xtap_backend *b, uint32_t id, const uint32_t **slots, uint32_t *n)
{
	struct xtap_be_rec *r = rec_find(b, id);

	if (!r)
		return -ENOENT;
	*slots = r->slots;
	*n = r->n;
	return 0;
}

static int values_of(const struct dtcp_range_set *rs, unsigned maxval, struct xtap_values *v,
		     struct xtap_vrange *store)
{
	memset(v, 0, sizeof(*v));
	if (rs->any) {
		v->any = 1;
		return 0;
	}
	for (unsigned i = 0; i < rs->n; i++) {
		if (rs->r[i].lo > rs->r[i].hi || rs->r[i].hi > maxval)
			return -EINVAL;
		store[i].lo = (uint16_t)rs->r[i].lo;
		store[i].hi = (uint16_t)rs->r[i].hi;
	}
	v->n = rs->n;
	v->r = store;
	return 0;
}

static int prefix_covers(const struct dtcp_prefix *a, const struct dtcp_prefix *b)
{
	if (a->len > b->len)
		return 0;
	for (unsigned bit = 0; bit < a->len; bit++) {
		unsigned m = 0x80u >> (bit % 8);

		if ((a->a[bit / 8] & m) != (b->a[bit / 8] & m))
			return 0;
	}
	return 1;
}

/* The prefixes of a set, without those another one covers: a packet must
 * match one rule of a criterion at most, or it would be counted twice. */
static unsigned prefixes_of(const struct dtcp_prefix_set *ps, struct dtcp_prefix *out)
{
	unsigned n = 0;

	if (ps->any) {
		memset(&out[0], 0, sizeof(out[0]));
		return 1; /* one "any" */
	}
	for (unsigned i = 0; i < ps->n; i++) {
		int covered = 0;

		for (unsigned j = 0; j < ps->n && !covered; j++)
			covered = j != i && prefix_covers(&ps->p[j], &ps->p[i]) &&
				  (ps->p[j].len < ps->p[i].len || j < i);
		if (!covered)
			out[n++] = ps->p[i];
	}
	return n;
}

static void put_cds(struct xtap_backend *b, const uint16_t *cd, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		xtap_cls_cd_put(b->cls, cd[i]);
}

static int get_cds(struct xtap_backend *b, const struct dtcp_criterion *c, uint16_t *cd)
{
	for (unsigned i = 0; i < c->ncdest; i++) {
		const struct dtcp_cdest *d = &c->cdest[i];
		struct xtap_cd_spec s = { 0 };
		int v6 = d->dst.family == DTCP_AF_INET6, err;

		s.family = v6 ? XTAP_AF_INET6 : XTAP_AF_INET;
		memcpy(s.dst, d->dst.a, 16);
		if (d->src.family)
			memcpy(s.src, d->src.a, 16);
		else
			memcpy(s.src, v6 ? b->default_src6 : b->default_src4, v6 ? 16 : 4);
		s.sport = d->src_port ? d->src_port : b->default_sport;
		s.dport = d->dst_port;
		s.ttl = d->ttl;
		s.jmirror = c->has_intercept;
		s.intercept_id = c->intercept_id;
		err = xtap_cls_cd_get(b->cls, &s, &cd[i]);
		if (err) {
			log_warnx("criterion %u: content destination %u refused: %s", c->id, i, strerror(-err));
			put_cds(b, cd, i);
			return err;
		}
	}
	return 0;
}

static int scope_of(struct xtap_backend *b, const struct dtcp_criterion *c, struct xtap_criterion *x)
{
	switch (c->scope) {
	case DTCP_SCOPE_ANY:
		x->scope = XTAP_SCOPE_ANY;
		return 0;
	case DTCP_SCOPE_INPUT:
	case DTCP_SCOPE_OUTPUT:
		x->scope = c->scope == DTCP_SCOPE_INPUT ? XTAP_SCOPE_IN : XTAP_SCOPE_OUT;
		if (c->nscope > 8)
			return -EINVAL;
		for (unsigned i = 0; i < c->nscope; i++) {
			x->ifindex[i] = if_nametoindex(c->scope_name[i].s);
			if (!x->ifindex[i])
				return -ENODEV;
		}
		x->nif = c->nscope;
		return 0;
	case DTCP_SCOPE_VRF:
		x->scope = XTAP_SCOPE_GROUP;
		for (unsigned i = 0; i < c->nscope; i++) {
			uint64_t g = b->group_bits ? b->group_bits(b->group_ctx, c->scope_name[i].s) : 0;

			if (!g)
				return -ENODEV;
			x->groups |= g;
		}
		return x->groups ? 0 : -ENODEV;
	}
	return -EINVAL;
}

static int be_install(void *ctx, const struct dtcp_criterion *c)
{
	static struct dtcp_prefix srcs[DTCP_MAX_PREFIXES], dsts[DTCP_MAX_PREFIXES];
	static struct xtap_vrange store[5][DTCP_MAX_RANGES];
	struct xtap_backend *b = ctx;
	struct xtap_be_rec rec = { .id = c->id };
	struct xtap_criterion x;
	unsigned ns, nd;
	int err;

	if (rec_find(b, c->id) || c->ncdest > XTAP_MAX_CD_PER_CRIT)
		return -1;
	if (!c->either.any && (!c->src.any || !c->dst.any))
		return -1; /* X-IP-Addr together with addresses: refused by the library before */
	memset(&x, 0, sizeof(x));
	x.family = c->family == DTCP_AF_INET6 ? XTAP_AF_INET6 : XTAP_AF_INET;
	if (values_of(&c->proto, 255, &x.proto, store[0]) || values_of(&c->sport, 65535, &x.sport, store[1]) ||
	    values_of(&c->dport, 65535, &x.dport, store[2]) || values_of(&c->icmp_type, 255, &x.itype, store[3]) ||
	    values_of(&c->icmp_code, 255, &x.icode, store[4]))
		return -1;
	err = scope_of(b, c, &x);
	if (err) {
		log_warnx("criterion %u: scope: %s", c->id, strerror(-err));
		return -1;
	}
	if (!c->either.any) {
		/* X-IP-Addr: source or destination in the set, as two sets of rules */
		ns = prefixes_of(&c->either, srcs);
		nd = 1;
		memset(&dsts[0], 0, sizeof(dsts[0]));
	} else {
		ns = prefixes_of(&c->src, srcs);
		nd = prefixes_of(&c->dst, dsts);
	}
	if ((uint64_t)ns * nd * (c->either.any ? 1 : 2) > XTAP_BE_MAX_RULES) {
		log_warnx("criterion %u: %u x %u address prefixes exceed %d rules", c->id, ns, nd, XTAP_BE_MAX_RULES);
		return -1;
	}
	rec.slots = calloc((size_t)ns * nd * 2, sizeof(uint32_t));
	if (!rec.slots)
		return -1;
	err = get_cds(b, c, rec.cd);
	if (err) {
		free(rec.slots);
		return -1;
	}
	rec.ncd = c->ncdest;
	x.ncd = c->ncdest;
	memcpy(x.cd, rec.cd, sizeof(x.cd));
	for (unsigned side = 0; side < (c->either.any ? 1u : 2u) && !err; side++) {
		for (unsigned i = 0; i < ns && !err; i++) {
			for (unsigned j = 0; j < nd && !err; j++) {
				const struct dtcp_prefix *s = side ? &dsts[j] : &srcs[i];
				const struct dtcp_prefix *d = side ? &srcs[i] : &dsts[j];

				memcpy(x.src, s->a, 16);
				x.src_plen = s->len;
				memcpy(x.dst, d->a, 16);
				x.dst_plen = d->len;
				err = xtap_cls_add(b->cls, &x, &rec.slots[rec.n]);
				if (!err)
					rec.n++;
			}
		}
	}
	if (err) {
		log_warnx("criterion %u: datapath refused rule %u: %s", c->id, rec.n, strerror(-err));
		for (uint32_t i = 0; i < rec.n; i++)
			xtap_cls_del(b->cls, rec.slots[i]);
		put_cds(b, rec.cd, rec.ncd);
		free(rec.slots);
		return -1;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct xtap_be_rec *r = realloc(b->recs, cap * sizeof(*r));

		if (!r) {
			for (uint32_t i = 0; i < rec.n; i++)
				xtap_cls_del(b->cls, rec.slots[i]);
			put_cds(b, rec.cd, rec.ncd);
			free(rec.slots);
			return -1;
		}
		b->recs = r;
		b->cap = cap;
	}
	{
		size_t pos = rec_pos(b, c->id);

		memmove(&b->recs[pos + 1], &b->recs[pos], (b->n - pos) * sizeof(*b->recs));
		b->recs[pos] = rec;
		b->n++;
	}
	return 0;
}

static int be_remove(void *ctx, uint32_t id)
{
	struct xtap_backend *b = ctx;
	size_t pos = rec_pos(b, id);
	struct xtap_be_rec *r;
	int failed = 0;

	if (pos >= b->n || b->recs[pos].id != id)
		return -1;
	r = &b->recs[pos];
	for (uint32_t i = 0; i < r->n; i++)
		if (xtap_cls_del(b->cls, r->slots[i]) && xtap_cls_uid(b->cls, r->slots[i]))
			failed = 1;
	if (failed) {
		log_warnx("criterion %u: a datapath rule could not be removed", id);
		return -1;
	}
	/* gone from every running program before the DELETE reply */
	if (xtap_cls_sync(b->cls))
		log_warn("criterion %u: grace period", id);
	put_cds(b, r->cd, r->ncd);
	free(r->slots);
	memmove(&b->recs[pos], &b->recs[pos + 1], (b->n - pos - 1) * sizeof(*b->recs));
	b->n--;
	return 0;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int be_read_counters(void *ctx, uint32_t id, struct dtcp_counters *out)
{
	struct xtap_backend *b = ctx;
	struct xtap_be_rec *r = rec_find(b, id);
	uint64_t last = 0;

	memset(out, 0, sizeof(*out));
	if (!r)
		return -1;
	for (uint32_t i = 0; i < r->n; i++) {
		struct xtap_crit_stats st;

		if (xtap_cls_stats(b->cls, r->slots[i], &st))
			return -1;
		out->packets += st.packets;
		out->bytes += st.bytes;
		if (st.last_ns > last)
			last = st.last_ns;
	}
	if (last) {
		/* the datapath's clock is CLOCK_MONOTONIC (coarse); DTCP times are wall clock */
		uint64_t mono = now_ns(CLOCK_MONOTONIC), real = now_ns(CLOCK_REALTIME);
		uint64_t ago = mono > last ? mono - last : 0;

		out->last_match_ms = (real - ago) / 1000000ull;
	}
	return 0;
}

const struct dtcp_backend xtap_dtcp_backend = {
	.install = be_install,
	.remove = be_remove,
	.read_counters = be_read_counters,
};
