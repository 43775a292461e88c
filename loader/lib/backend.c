// SPDX-License-Identifier: BSD-2-Clause
/*
 * DTCP criteria into datapath rules (see backend.h). Log lines name
 * criteria by id only: match fields never reach ordinary logs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "backend.h"
#include "gaptab.h"
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
	for (size_t i = 0; i < b->ngone; i++)
		free(b->gone[i].slots);
	free(b->gone);
	b->gone = NULL;
	b->ngone = b->capgone = 0;
	gaptab_free(b->recs, sizeof(*b->recs), b->front);
	b->recs = NULL;
	b->n = b->cap = b->front = 0;
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

static int values_of(const struct dtcp_range_set *rs, unsigned maxval, struct xtap_values *v, struct xtap_vrange *store)
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

/* Adoption undone: references dropped, the running destinations untouched. */
static void forget_cds(struct xtap_backend *b, const uint16_t *cd, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		xtap_cls_cd_forget(b->cls, cd[i]);
}

static int get_cds(struct xtap_backend *b, const struct dtcp_criterion *c, uint16_t *cd)
{
	for (unsigned i = 0; i < c->ncdest; i++) {
		const struct dtcp_cdest *d = &c->cdest[i];
		struct xtap_cd_spec s = { 0 };
		int v6 = d->dst.family == DTCP_AF_INET6, err;

		s.family = v6 ? XTAP_AF_INET6 : XTAP_AF_INET;
		memcpy(s.dst, d->dst.a, 16);
		if (d->src.family) /* none: 0.0.0.0 or :: (docs/fault-harness.md) */
			memcpy(s.src, d->src.a, 16);
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

/* The names were resolved by the daemon (dtcp_config.scope_key, once per
 * ADD or restored criterion): the backend only takes their keys; 0 is a
 * name the host does not have now. */
static int scope_of(const struct dtcp_criterion *c, struct xtap_criterion *x)
{
	switch (c->scope) {
	case DTCP_SCOPE_ANY: x->scope = XTAP_SCOPE_ANY; return 0;
	case DTCP_SCOPE_INPUT:
	case DTCP_SCOPE_OUTPUT:
		x->scope = c->scope == DTCP_SCOPE_INPUT ? XTAP_SCOPE_IN : XTAP_SCOPE_OUT;
		if (c->nscope > 8)
			return -EINVAL;
		for (unsigned i = 0; i < c->nscope; i++) {
			if (!c->scope_key[i] || c->scope_key[i] > UINT32_MAX)
				return -ENODEV;
			x->ifindex[i] = (uint32_t)c->scope_key[i];
		}
		x->nif = c->nscope;
		return 0;
	case DTCP_SCOPE_VRF:
		x->scope = XTAP_SCOPE_GROUP;
		for (unsigned i = 0; i < c->nscope; i++) {
			if (!c->scope_key[i])
				return -ENODEV;
			x->groups |= c->scope_key[i];
		}
		return x->groups ? 0 : -ENODEV;
	}
	return -EINVAL;
}

/* The datapath rules of a criterion, one per (source, destination) prefix
 * pair (X-IP-Addr: source rules, then destination rules), in a fixed order
 * that install and adopt share; cb gets each with its index. */
typedef int (*rule_fn)(struct xtap_backend *b, struct xtap_criterion *x, uint32_t k, void *arg);

/* The datapath's number for a control source: its own share of each
 * prefix list (docs/classifier.md "Prefixes"). Sources past the first
 * XTAP_MAX_SOURCES - 1 share the last number. */
static uint8_t source_of(struct xtap_backend *b, const struct dtcp_name *cs)
{
	for (unsigned i = 0; i < b->nsources; i++)
		if (!strncmp(b->sources[i].s, cs->s, sizeof(cs->s)))
			return (uint8_t)i;
	if (b->nsources == XTAP_MAX_SOURCES)
		return XTAP_MAX_SOURCES - 1;
	b->sources[b->nsources] = *cs;
	return (uint8_t)b->nsources++;
}

static int expand(struct xtap_backend *b, const struct dtcp_criterion *c, const uint16_t *cd, rule_fn cb, void *arg,
		  uint32_t *nrules)
{
	static struct dtcp_prefix srcs[DTCP_MAX_PREFIXES], dsts[DTCP_MAX_PREFIXES];
	static struct xtap_vrange store[5][DTCP_MAX_RANGES];
	struct xtap_criterion x;
	unsigned ns, nd, sides = c->either.any ? 1 : 2;
	uint32_t k = 0;
	int err;

	if (c->ncdest > XTAP_MAX_CD_PER_CRIT)
		return -E2BIG;
	if (!c->either.any && (!c->src.any || !c->dst.any))
		return -EINVAL; /* X-IP-Addr together with addresses: refused by the library before */
	memset(&x, 0, sizeof(x));
	x.family = c->family == DTCP_AF_INET6 ? XTAP_AF_INET6 : XTAP_AF_INET;
	x.source = source_of(b, &c->csource);
	if (values_of(&c->proto, 255, &x.proto, store[0]) || values_of(&c->sport, 65535, &x.sport, store[1]) ||
	    values_of(&c->dport, 65535, &x.dport, store[2]) || values_of(&c->icmp_type, 255, &x.itype, store[3]) ||
	    values_of(&c->icmp_code, 255, &x.icode, store[4]))
		return -EINVAL;
	if ((err = scope_of(c, &x)))
		return err;
	if (sides == 2) {
		ns = prefixes_of(&c->either, srcs);
		nd = 1;
		memset(&dsts[0], 0, sizeof(dsts[0]));
	} else {
		ns = prefixes_of(&c->src, srcs);
		nd = prefixes_of(&c->dst, dsts);
	}
	if ((uint64_t)ns * nd * sides > XTAP_BE_MAX_RULES)
		return -E2BIG;
	x.ncd = c->ncdest;
	memcpy(x.cd, cd, c->ncdest * sizeof(*cd));
	for (unsigned side = 0; side < sides; side++) {
		for (unsigned i = 0; i < ns; i++) {
			for (unsigned j = 0; j < nd; j++) {
				const struct dtcp_prefix *s = side ? &dsts[j] : &srcs[i];
				const struct dtcp_prefix *d = side ? &srcs[i] : &dsts[j];

				memcpy(x.src, s->a, 16);
				x.src_plen = s->len;
				memcpy(x.dst, d->a, 16);
				x.dst_plen = d->len;
				if ((err = cb(b, &x, k, arg)))
					return err;
				k++;
			}
		}
	}
	*nrules = k;
	return 0;
}

/* Free room at both ends, as the DTCP server's table (gaptab.h). */
static int rec_insert(struct xtap_backend *b, const struct xtap_be_rec *rec)
{
	size_t pos = rec_pos(b, rec->id);
	struct xtap_be_rec *r = gaptab_insert(b->recs, sizeof(*r), b->n, &b->cap, &b->front, pos);

	if (!r)
		return -ENOMEM;
	b->recs = r;
	b->recs[pos] = *rec;
	b->n++;
	return 0;
}

static int count_rule(struct xtap_backend *b, struct xtap_criterion *x, uint32_t k, void *arg)
{
	return 0;
}

static int add_rule(struct xtap_backend *b, struct xtap_criterion *x, uint32_t k, void *arg)
{
	struct xtap_be_rec *rec = arg;
	int err;

	if ((err = xtap_cls_add(b->cls, x, &rec->slots[k])))
		return err;
	rec->n = k + 1;
	return 0;
}

static void undo(struct xtap_backend *b, struct xtap_be_rec *rec)
{
	for (uint32_t i = 0; i < rec->n; i++)
		xtap_cls_del(b->cls, rec->slots[i]);
	put_cds(b, rec->cd, rec->ncd);
	free(rec->slots);
}

static int be_install(void *ctx, const struct dtcp_criterion *c)
{
	struct xtap_backend *b = ctx;
	struct xtap_be_rec rec = { .id = c->id };
	uint32_t n;
	int err;

	if (rec_find(b, c->id))
		return -1;
	/* its removal not yet applied (a refused DELETE undone): its rules
	 * never left, and it takes them back, counters and all */
	for (size_t i = 0; i < b->ngone; i++)
		if (b->gone[i].id == c->id) {
			if (rec_insert(b, &b->gone[i]))
				return -1;
			b->gone[i] = b->gone[--b->ngone];
			return 0;
		}
	/* a dry run first: the number of rules, and every refusal before any change */
	err = expand(b, c, rec.cd, count_rule, NULL, &n);
	if (err) {
		log_warnx("criterion %u: not installable: %s", c->id, strerror(-err));
		return -1;
	}
	rec.slots = calloc(n ? n : 1, sizeof(uint32_t));
	if (!rec.slots)
		return -1;
	if ((err = get_cds(b, c, rec.cd))) {
		free(rec.slots);
		return -1;
	}
	rec.ncd = c->ncdest;
	err = expand(b, c, rec.cd, add_rule, &rec, &n);
	if (!err)
		err = rec_insert(b, &rec);
	if (err) {
		log_warnx("criterion %u: datapath refused it at rule %u: %s", c->id, rec.n, strerror(-err));
		undo(b, &rec);
		return -1;
	}
	return 0;
}

struct adopt_arg {
	struct xtap_be_rec *rec;
	const uint32_t *slots, *uids;
	uint32_t n;
};

static int adopt_rule(struct xtap_backend *b, struct xtap_criterion *x, uint32_t k, void *arg)
{
	struct adopt_arg *a = arg;
	int err;

	if (k >= a->n)
		return -ESTALE; /* the state file names fewer rules than the criterion has */
	if ((err = xtap_cls_adopt(b->cls, x, a->slots[k], a->uids[k])))
		return err;
	a->rec->slots[k] = a->slots[k];
	a->rec->n = k + 1;
	return 0;
}

int xtap_backend_adopt(struct xtap_backend *b, const struct dtcp_criterion *c, const uint32_t *slots,
		       const uint32_t *uids, uint32_t n)
{
	struct xtap_be_rec rec = { .id = c->id };
	struct adopt_arg a = { &rec, slots, uids, n };
	struct xtap_rule first;
	uint32_t got;
	int err;

	if (!n || rec_find(b, c->id) || c->ncdest > XTAP_MAX_CD_PER_CRIT)
		return -EINVAL;
	/* the destinations are those the pinned rules name */
	if (bpf_map_lookup_elem(xtap_cls_maps_of(b->cls)->rules, &slots[0], &first))
		return -errno;
	if (first.ncd != c->ncdest)
		return -ESTALE;
	for (unsigned i = 0; i < first.ncd; i++) {
		if ((err = xtap_cls_cd_adopt(b->cls, first.cd[i]))) {
			forget_cds(b, first.cd, i);
			return err;
		}
	}
	memcpy(rec.cd, first.cd, sizeof(rec.cd));
	rec.ncd = first.ncd;
	rec.slots = calloc(n, sizeof(uint32_t));
	if (!rec.slots) {
		forget_cds(b, rec.cd, rec.ncd);
		return -ENOMEM;
	}
	err = expand(b, c, rec.cd, adopt_rule, &a, &got);
	if (!err && got != n)
		err = -ESTALE;
	if (!err)
		err = rec_insert(b, &rec);
	if (err) {
		/* forget what was adopted; the rules stay in the maps for the
		 * caller to replace */
		for (uint32_t i = 0; i < rec.n; i++)
			xtap_cls_forget(b->cls, rec.slots[i]);
		forget_cds(b, rec.cd, rec.ncd);
		free(rec.slots);
	}
	return err;
}

/* A record's rules and destinations out of the maps; false if a rule stays. */
static bool rec_release(struct xtap_backend *b, struct xtap_be_rec *r)
{
	bool failed = false;

	for (uint32_t i = 0; i < r->n; i++)
		if (xtap_cls_del(b->cls, r->slots[i]) && xtap_cls_uid(b->cls, r->slots[i]))
			failed = true;
	if (failed)
		return false;
	/* gone from every running program before the reply: one grace period
	 * for all the criteria a request removes (xtap_backend_settle) */
	b->unsettled = 1;
	put_cds(b, r->cd, r->ncd);
	free(r->slots);
	return true;
}

static void rec_unlink(struct xtap_backend *b, size_t pos)
{
	b->recs = gaptab_erase(b->recs, sizeof(*b->recs), b->n, &b->front, pos);
	b->n--;
}

static int be_remove(void *ctx, uint32_t id)
{
	struct xtap_backend *b = ctx;
	size_t pos = rec_pos(b, id);

	if (pos >= b->n || b->recs[pos].id != id)
		return -1;
	if (b->defer) {
		/* write-ahead: the rules stay until the removal is durable
		 * (xtap_backend_apply), so a crash before it never leaves a
		 * criterion that comes back without having intercepted */
		if (b->ngone == b->capgone) {
			size_t cap = b->capgone ? b->capgone * 2 : 64;
			struct xtap_be_rec *g = realloc(b->gone, cap * sizeof(*g));

			if (!g)
				return -1;
			b->gone = g;
			b->capgone = cap;
		}
		b->gone[b->ngone++] = b->recs[pos];
		rec_unlink(b, pos);
		return 0;
	}
	if (!rec_release(b, &b->recs[pos])) {
		log_warnx("criterion %u: a datapath rule could not be removed", id);
		return -1;
	}
	rec_unlink(b, pos);
	return 0;
}

void xtap_backend_defer(struct xtap_backend *b, bool on)
{
	b->defer = on;
}

bool xtap_backend_removing(const struct xtap_backend *b, uint32_t id)
{
	for (size_t i = 0; i < b->ngone; i++)
		if (b->gone[i].id == id)
			return true;
	return false;
}

size_t xtap_backend_apply(struct xtap_backend *b)
{
	size_t stayed = 0;

	for (size_t i = 0; i < b->ngone; i++)
		if (!rec_release(b, &b->gone[i])) {
			/* durable already: its rules are orphans now, swept at the next start */
			log_warnx("criterion %u: a datapath rule could not be removed", b->gone[i].id);
			free(b->gone[i].slots);
			stayed++;
		}
	b->ngone = 0;
	return stayed;
}

int xtap_backend_settle(struct xtap_backend *b)
{
	int err;

	if (!b->unsettled)
		return 0;
	err = xtap_cls_sync(b->cls);
	if (err)
		log_warnx("grace period: %s", strerror(-err));
	else
		b->unsettled = 0;
	return err;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* last_ns of the datapath (CLOCK_MONOTONIC, coarse) as wall-clock ms, as DTCP times are */
static uint64_t match_ms(uint64_t last)
{
	uint64_t mono = now_ns(CLOCK_MONOTONIC), real = now_ns(CLOCK_REALTIME);
	uint64_t ago = mono > last ? mono - last : 0;

	return last ? (real - ago) / 1000000ull : 0;
}

/* Expiry's read: every rule of every criterion in one pass over the stats
 * map (xtap_cls_stats_many) rather than a lookup per rule. */
static int be_read_counters_many(void *ctx, const uint32_t *ids, size_t n, struct dtcp_counters *out)
{
	struct xtap_backend *b = ctx;
	size_t nslots = 0, cap = n ? n : 1;
	uint32_t *slots = malloc(cap * sizeof(*slots));
	size_t *owner = malloc(cap * sizeof(*owner));
	struct xtap_crit_stats *st = NULL;
	int rc = -1;

	if (!slots || !owner)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct xtap_be_rec *r = rec_find(b, ids[i]);

		if (!r)
			goto out;
		for (uint32_t k = 0; k < r->n; k++) {
			if (nslots == cap) {
				void *p = realloc(slots, 2 * cap * sizeof(*slots)), *q;

				if (!p)
					goto out;
				slots = p;
				if (!(q = realloc(owner, 2 * cap * sizeof(*owner))))
					goto out;
				owner = q;
				cap *= 2;
			}
			slots[nslots] = r->slots[k];
			owner[nslots++] = i;
		}
	}
	if (!(st = malloc((nslots ? nslots : 1) * sizeof(*st))) || xtap_cls_stats_many(b->cls, slots, nslots, st))
		goto out;
	memset(out, 0, n * sizeof(*out));
	{
		uint64_t *last = calloc(n ? n : 1, sizeof(*last));

		if (!last)
			goto out;
		for (size_t s = 0; s < nslots; s++) {
			out[owner[s]].packets += st[s].packets;
			out[owner[s]].bytes += st[s].bytes;
			if (st[s].last_ns > last[owner[s]])
				last[owner[s]] = st[s].last_ns;
		}
		for (size_t i = 0; i < n; i++)
			out[i].last_match_ms = match_ms(last[i]);
		free(last);
	}
	rc = 0;
out:
	free(slots);
	free(owner);
	free(st);
	return rc;
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
	out->last_match_ms = match_ms(last);
	return 0;
}

const struct dtcp_backend xtap_dtcp_backend = {
	.install = be_install,
	.remove = be_remove,
	.read_counters = be_read_counters,
	.read_counters_many = be_read_counters_many,
};
