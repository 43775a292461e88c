/* SPDX-License-Identifier: BSD-2-Clause */
/* The state logic of docs/dtcp.md 3.4, 4 and 6 that does not touch the
 * kernel: ownership, Criteria-IDs, selectors, timeouts, quotas, expiry. The
 * datapath is reached only through struct dtcp_backend. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtcp.h"
#include "gaptab.h"
#include "internal.h"
#include "xbuf.h"

/* A LIST reply leaves this much room for its status line, SEQ, TIMESTAMP and
 * AUTHENTICATION-INFO (about 150 bytes) so it stays below 32 KiB. */
#define LIST_HEAD_ROOM 512
/* One LIST block: the kept fields, the CDEST-ID and CSOURCE-ID lines with
 * every byte escaped as \ddd, the X-X3-XID line (a UUID and ", " per
 * destination), and under 1 KiB of fixed fields. */
#define BLOCK_MAX \
	(DTCP_GIVEN_MAX + (DTCP_MAX_CDESTS + 1) * 4 * DTCP_NAME_MAX + DTCP_MAX_CDESTS * (38 + X3_STATS_MAX) + 16 + 1024)
/* the X3 Stats lines' share per destination: a state and six numbers of up
 * to 20 digits, their separators and the words of X-X3-DROPS */
#define X3_STATS_MAX (16 + 6 * 22 + 32)
_Static_assert(BLOCK_MAX < DTCP_REPLY_SOFT_MAX - LIST_HEAD_ROOM, "a block fits in a reply");

static void list_retire(struct dtcp_server *s, const struct dtcp_entry *e, uint64_t now);

int dtcp_server_init(struct dtcp_server *s, const struct dtcp_config *cfg, const struct dtcp_backend *be, void *be_ctx)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->be = be;
	s->be_ctx = be_ctx;
	s->next_id = 1; /* 6: one counter from 1 */
	return 0;
}

void dtcp_server_free(struct dtcp_server *s)
{
	while (s->lists) /* their sessions still point at them: free those first */
		dtcp_list_free(s->lists);
	for (size_t i = 0; i < s->n; i++)
		free(s->tab[i]);
	gaptab_free(s->tab, sizeof(*s->tab), s->front);
	free(s->seq);
	memset(s, 0, sizeof(*s));
}

size_t dtcp_entry_lower_bound(struct dtcp_entry *const *tab, size_t n, uint32_t id)
{
	size_t lo = 0, hi = n;

	/* ids are handed out in increasing order: the newest criterion, the
	 * one a burst's ADDs look up again, is at the end (each step of the
	 * search below is a cache miss through a pointer at 1M criteria) */
	if (!n || tab[n - 1]->c.id <= id)
		return n && tab[n - 1]->c.id == id ? n - 1 : n;
	/* ids near the front (a walk in id order, which passes tab + pos) or
	 * near the end (a burst's own): gallop from that side, touching
	 * nearby, cached entries; tab[hi] >= id throughout */
	hi = n - 1;
	if (tab[0]->c.id >= id)
		return 0;
	if (tab[n - 1]->c.id - id < id - tab[0]->c.id) {
		for (size_t step = 1; step <= hi; step *= 2) {
			if (tab[hi - step]->c.id < id) {
				lo = hi - step + 1;
				break;
			}
			hi -= step;
		}
	} else {
		/* tab[lo] < id throughout */
		for (size_t step = 1; lo + step < hi; step *= 2) {
			if (tab[lo + step]->c.id >= id) {
				hi = lo + step;
				break;
			}
			lo += step;
		}
		lo++;
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (tab[mid]->c.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t lower_bound(const struct dtcp_server *s, uint32_t id)
{
	return dtcp_entry_lower_bound(s->tab, s->n, id);
}

const struct dtcp_entry *dtcp_server_find(const struct dtcp_server *s, uint32_t id)
{
	size_t i = lower_bound(s, id);
	return i < s->n && s->tab[i]->c.id == id ? s->tab[i] : NULL;
}

/* The table keeps free room at both ends (gaptab.h). 0: the table owns e;
 * -1: the caller still does. */
static int insert(struct dtcp_server *s, struct dtcp_entry *e)
{
	size_t i = lower_bound(s, e->c.id);
	struct dtcp_entry **t;

	if (i < s->n && s->tab[i]->c.id == e->c.id)
		return -1;
	if (!(t = gaptab_insert(s->tab, sizeof(*t), s->n, &s->cap, &s->front, i)))
		return -1;
	s->tab = t;
	s->tab[i] = e;
	s->n++;
	s->ndynamic += !e->c.is_static;
	return 0;
}

static void erase(struct dtcp_server *s, uint32_t id)
{
	size_t i = lower_bound(s, id);
	if (i == s->n || s->tab[i]->c.id != id)
		return;
	s->ndynamic -= !s->tab[i]->c.is_static;
	free(s->tab[i]);
	s->tab = gaptab_erase(s->tab, sizeof(*s->tab), s->n, &s->front, i);
	s->n--;
}

struct dtcp_entry *dtcp_server_take(struct dtcp_server *s, uint32_t id)
{
	size_t i = lower_bound(s, id);
	struct dtcp_entry *e;

	if (i == s->n || s->tab[i]->c.id != id)
		return NULL;
	e = s->tab[i];
	/* erase without its free */
	s->ndynamic -= !e->c.is_static;
	s->tab = gaptab_erase(s->tab, sizeof(*s->tab), s->n, &s->front, i);
	s->n--;
	return e;
}

static void before_change(const struct dtcp_server *s, uint32_t id, const struct dtcp_entry *e)
{
	if (s->cfg->before_change)
		s->cfg->before_change(s->cfg->ctx, id, e);
}

int dtcp_server_restore(struct dtcp_server *s, struct dtcp_entry *e)
{
	if (insert(s, e))
		return -1;
	if (e->c.id >= s->next_id)
		s->next_id = e->c.id + 1;
	return 0;
}

static uint32_t max_criteria(const struct dtcp_server *s)
{
	return s->cfg->max_criteria ? s->cfg->max_criteria : DTCP_MAX_CRITERIA_DEFAULT;
}

static uint32_t max_cdests(const struct dtcp_server *s)
{
	uint32_t m = s->cfg->max_cdests ? s->cfg->max_cdests : DTCP_CDESTS_DEFAULT;
	return m > DTCP_MAX_CDESTS ? DTCP_MAX_CDESTS : m;
}

static bool owned(const struct dtcp_entry *e, const struct dtcp_request *r)
{
	return strcmp(e->c.csource.s, r->csource.s) == 0;
}

/* ---- timeouts ------------------------------------------------------------------ */

uint64_t dtcp_entry_remaining(const struct dtcp_entry *e, enum dtcp_timeout t, const struct dtcp_counters *cnt,
			      uint64_t now_ms)
{
	uint64_t limit = e->c.timeout[t], used;

	if (e->c.is_static || limit == 0)
		return UINT64_MAX;
	switch (t) {
	case DTCP_T_IDLE: {
		/* Idle time runs from the last match or the (re)start, whichever is later. */
		uint64_t from = e->start_ms[t];
		if (cnt->last_match_ms > from)
			from = cnt->last_match_ms;
		used = now_ms > from ? (now_ms - from) / 1000 : 0;
		break;
	}
	case DTCP_T_TOTAL: used = now_ms > e->start_ms[t] ? (now_ms - e->start_ms[t]) / 1000 : 0; break;
	case DTCP_T_PACKETS: used = cnt->packets > e->base[t] ? cnt->packets - e->base[t] : 0; break;
	default: used = cnt->bytes > e->base[t] ? cnt->bytes - e->base[t] : 0; break;
	}
	return used >= limit ? 0 : limit - used;
}

static const char *const expiry_why[DTCP_T_N] = { "idle", "total", "packets", "bytes" };

/* Only these limits need the datapath's counters; a total-time limit does not. */
static bool needs_counters(const struct dtcp_entry *e)
{
	return e->c.timeout[DTCP_T_IDLE] || e->c.timeout[DTCP_T_PACKETS] || e->c.timeout[DTCP_T_BYTES];
}

#define EXPIRE_CHUNK 1024 /* criteria whose counters are read at once: bounds the stack (36 KiB) */

int dtcp_server_expire(struct dtcp_server *s, uint64_t now_ms)
{
	uint32_t ids[EXPIRE_CHUNK];
	struct dtcp_counters cnt[EXPIRE_CHUNK];
	struct dtcp_entry *chunk[EXPIRE_CHUNK];
	uint32_t *gone = NULL; /* ids to remove, with their reasons */
	uint8_t *gone_why = NULL;
	size_t ngone = 0, capgone = 0;
	int expired = 0;
	bool failed = false;

	/* static criteria never expire: nothing to walk */
	if (!s->ndynamic)
		return 0;
	for (size_t i = 0; i < s->n;) {
		size_t k = 0, nread = 0;

		/* the next chunk of dynamic criteria; those with idle, packet or
		 * byte limits first in ids[] for one read of their counters */
		for (; i < s->n && k < EXPIRE_CHUNK; i++)
			if (!s->tab[i]->c.is_static)
				chunk[k++] = s->tab[i];
		for (size_t j = 0; j < k; j++)
			if (needs_counters(chunk[j]))
				ids[nread++] = chunk[j]->c.id;
		if (nread && s->be->read_counters_many) {
			if (s->be->read_counters_many(s->be_ctx, ids, nread, cnt)) {
				failed = true; /* these stay and are tried again next time */
				memset(ids, 0, nread * sizeof(ids[0]));
			}
		} else {
			for (size_t j = 0; j < nread; j++)
				if (s->be->read_counters(s->be_ctx, ids[j], &cnt[j])) {
					failed = true;
					ids[j] = 0; /* no counters: not judged this time */
				}
		}
		for (size_t j = 0, r = 0; j < k; j++) {
			static const struct dtcp_counters none;
			const struct dtcp_counters *c = &none;
			int why = -1;

			if (needs_counters(chunk[j])) {
				c = &cnt[r];
				if (!ids[r++])
					continue;
			}
			for (int t = 0; t < DTCP_T_N && why < 0; t++)
				if (dtcp_entry_remaining(chunk[j], (enum dtcp_timeout)t, c, now_ms) == 0)
					why = t;
			if (why < 0)
				continue;
			if (ngone == capgone) {
				size_t cap = capgone ? 2 * capgone : 64;
				uint32_t *g = realloc(gone, cap * sizeof(*g));
				uint8_t *w = g ? realloc(gone_why, cap) : NULL;

				if (g)
					gone = g;
				if (!w) {
					failed = true; /* no memory: the rest waits for the next pass */
					break;
				}
				gone_why = w;
				capgone = cap;
			}
			gone[ngone] = chunk[j]->c.id;
			gone_why[ngone++] = (uint8_t)why;
		}
	}
	for (size_t g = 0; g < ngone; g++) {
		const struct dtcp_entry *e = dtcp_server_find(s, gone[g]);

		if (e && s->lists)
			list_retire(s, e, now_ms);
		if (s->be->remove(s->be_ctx, gone[g])) {
			failed = true;
			continue;
		}
		if (s->cfg->audit)
			s->cfg->audit(s->cfg->ctx, e->c.csource.s, "EXPIRE", DTCP_OK, e->c.id, expiry_why[gone_why[g]]);
		erase(s, gone[g]);
		expired++;
	}
	free(gone);
	free(gone_why);
	return failed ? -1 : expired;
}

/* ---- replies ------------------------------------------------------------------- */

struct ctx {
	struct dtcp_server *s;
	const struct dtcp_source_policy *pol;
	const struct dtcp_request *r;
	uint64_t now;
	dtcp_emit_fn emit;
	void *arg;
	bool quiet; /* a LIST's later part: its request is audited */
};

static void reply(const struct ctx *x, struct dtcp_reply *rep)
{
	char out[DTCP_REPLY_SOFT_MAX];

	rep->version = x->r->version;
	rep->has_seq = x->r->has_seq;
	rep->seq = x->r->seq;
	rep->now_ms = x->now;
	size_t n = dtcp_reply_format(rep, x->pol->key, x->pol->keylen, out, sizeof(out));
	if (n)
		x->emit(x->arg, out, n);
	if (x->quiet)
		return;
	if (x->s->cfg->audit_request) {
		uint32_t one = rep->criteria_id;
		const uint32_t *ids = rep->n_ids ? rep->ids : rep->has_criteria_id ? &one : NULL;
		size_t n_ids = rep->n_ids ? rep->n_ids : rep->has_criteria_id ? 1 : 0;

		x->s->cfg->audit_request(x->s->cfg->ctx, x->r, rep->code, ids, n_ids, n ? NULL : "reply too large");
	} else if (x->s->cfg->audit) {
		x->s->cfg->audit(x->s->cfg->ctx, x->r->csource.s, dtcp_method_name(x->r->method), rep->code,
				 rep->has_criteria_id ? rep->criteria_id : 0, n ? NULL : "reply too large");
	}
}

static void reply_code(const struct ctx *x, int code, const char *item)
{
	struct dtcp_reply rep = { .code = code, .item = item };
	reply(x, &rep);
}

static void reply_err(const struct ctx *x, const struct dtcp_error *err)
{
	reply_code(x, err->code, err->item);
}

/* ---- ADD ----------------------------------------------------------------------- */

static void name_err(struct dtcp_error *err, int code, const char *hdr, const char *name)
{
	char e[4 * DTCP_NAME_MAX];
	dtcp_escape_name(name, e, sizeof(e));
	dtcp_error_set(err, code, hdr, strlen(hdr), e, strlen(e));
}

/* The one place a scope name becomes a datapath handle (ifindex, group
 * bit): once per ADD, once per criterion restored. */
static int scope_key(const struct dtcp_server *s, int scope, const char *name, uint64_t *key)
{
	*key = 0;
	if (!s->cfg->scope_key)
		return 0; /* a server without a datapath (tests) */
	return s->cfg->scope_key(s->cfg->ctx, scope, name, key) || !*key ? -1 : 0;
}

static int resolve_scope(struct dtcp_server *s, struct dtcp_criterion *c, struct dtcp_error *err)
{
	static const char *const hdr[] = {
		[DTCP_SCOPE_INPUT] = "X-JTap-Input-Interface",
		[DTCP_SCOPE_OUTPUT] = "X-JTap-Output-Interface",
		[DTCP_SCOPE_VRF] = "X-JTap-VRF-Name",
	};
	for (int i = 0; c->scope != DTCP_SCOPE_ANY && i < c->nscope; i++) {
		struct dtcp_name linux_name;
		int rc = c->scope == DTCP_SCOPE_VRF ?
			(s->cfg->resolve_vrf ? s->cfg->resolve_vrf(s->cfg->ctx, c->scope_name[i].s, &linux_name) : -1) :
			(s->cfg->resolve_ifname ? s->cfg->resolve_ifname(s->cfg->ctx, c->scope_name[i].s, &linux_name) :
						  -1);
		/* a name the configuration knows but the host does not have now (an
		 * alias of a netdev not there): the same error, naming it */
		if (rc || scope_key(s, c->scope, linux_name.s, &c->scope_key[i])) {
			name_err(err, DTCP_JTAP_FAILURE, hdr[c->scope], c->scope_name[i].s);
			return -1;
		}
		c->scope_name[i] = linux_name;
	}
	return 0;
}

void dtcp_server_scope_keys(const struct dtcp_server *s, struct dtcp_criterion *c)
{
	for (int i = 0; c->scope != DTCP_SCOPE_ANY && i < c->nscope && i < DTCP_MAX_IFACES; i++)
		if (scope_key(s, c->scope, c->scope_name[i].s, &c->scope_key[i]))
			c->scope_key[i] = 0; /* the backend refuses it (the netdev is gone) */
}

static bool cdest_allowed(const struct dtcp_source_policy *pol, const struct dtcp_cdest *cd)
{
	bool ok = pol->n_allow_cdest == 0;
	for (size_t i = 0; !ok && i < pol->n_allow_cdest; i++)
		ok = dtcp_net_contains(&pol->allow_cdest[i], &cd->dst);
	if (!ok)
		return false;
	if (pol->allow_cdest_port && !pol->allow_cdest_port->any) {
		ok = false;
		for (int i = 0; !ok && i < pol->allow_cdest_port->n; i++)
			ok = cd->dst_port >= pol->allow_cdest_port->r[i].lo &&
				cd->dst_port <= pol->allow_cdest_port->r[i].hi;
		if (!ok)
			return false;
	}
	if (cd->src.family == DTCP_AF_NONE || pol->n_allow_src == 0)
		return true;
	for (size_t i = 0; i < pol->n_allow_src; i++)
		if (dtcp_net_contains(&pol->allow_src[i], &cd->src))
			return true;
	return false;
}

static int resolve_cdests(struct dtcp_server *s, const struct dtcp_source_policy *pol, const struct dtcp_request *r,
			  struct dtcp_criterion *c, struct dtcp_error *err)
{
	if (c->ncdest > max_cdests(s)) {
		name_err(err, DTCP_MAX_CDEST, "CDEST-ID", c->cdest[max_cdests(s)].name.s);
		return -1;
	}
	const uint8_t dest = DTCP_CD_DADDR | DTCP_CD_DPORT;
	/* cdest-merge off: an ADD that gives the address or the port defines
	 * the destination alone, as the drafts have it (no configuration). */
	bool whole = pol->cdest_whole && (r->cdest_given & dest);
	for (int i = 0; i < c->ncdest; i++) {
		struct dtcp_cdest *cd = &c->cdest[i];
		struct dtcp_cdest conf;
		int found = s->cfg->cdest_lookup ? s->cfg->cdest_lookup(s->cfg->ctx, cd->name.s, &conf) : -1;
		/* a destination whose address the configuration fixes (an X3 one:
		 * the copies must reach its delivery process) is named, never
		 * redirected: an ADD giving its address or port is refused */
		if (found == DTCP_CDEST_FIXED && (r->cdest_given & dest)) {
			name_err(err, DTCP_UNKNOWN_CDEST, "CDEST-ID", cd->name.s);
			return -1;
		}
		bool configured = !whole && found >= 0;
		if (configured) {
			/* The ADD's X-JTap-Cdest-* values over the configured ones (4.1). */
			conf.name = cd->name;
			if (r->cdest_given & DTCP_CD_DADDR)
				conf.dst = cd->dst;
			if (r->cdest_given & DTCP_CD_DPORT)
				conf.dst_port = cd->dst_port;
			if (r->cdest_given & DTCP_CD_SADDR)
				conf.src = cd->src;
			if (r->cdest_given & DTCP_CD_SPORT)
				conf.src_port = cd->src_port;
			if (r->cdest_given & DTCP_CD_TTL)
				conf.ttl = cd->ttl;
			*cd = conf;
		} else if (!(r->cdest_given & dest)) {
			name_err(err, DTCP_JTAP_FAILURE, "CDEST-ID", cd->name.s);
			return -1;
		} else if ((r->cdest_given & dest) != dest) {
			const char *m = r->cdest_given & DTCP_CD_DADDR ? "X-JTap-Cdest-Dest-Port" :
									 "X-JTap-Cdest-Dest-Address";
			dtcp_error_set(err, DTCP_JTAP_FAILURE, "MISSING", 7, m, strlen(m));
			return -1;
		}
		if (cd->src.family != DTCP_AF_NONE && cd->src.family != cd->dst.family) {
			char a[64];
			dtcp_addr_str(cd->src.family, cd->src.a, a, sizeof(a));
			dtcp_error_set(err, DTCP_BAD_FILTER, "X-JTAP-CDEST-SOURCE-ADDRESS", 27, a, strlen(a));
			return -1;
		}
		if (!cdest_allowed(pol, cd) || (s->cfg->cdest_reserved && s->cfg->cdest_reserved(s->cfg->ctx, cd))) {
			name_err(err, DTCP_UNKNOWN_CDEST, "CDEST-ID", cd->name.s);
			return -1;
		}
	}
	return 0;
}

static size_t count_owned(const struct dtcp_server *s, const struct dtcp_request *r)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++)
		k += owned(s->tab[i], r);
	return k;
}

static void handle_add(const struct ctx *x, const char *peer)
{
	struct dtcp_server *s = x->s;
	struct dtcp_criterion c = x->r->crit;
	struct dtcp_entry *e;
	struct dtcp_error err;

	if (x->r->lifetime_implied && x->pol->refuse_no_lifetime) {
		const char *m = "Flags: STATIC or Timeout-*";
		dtcp_error_set(&err, DTCP_BAD_TIMEOUT, "MISSING", 7, m, strlen(m));
		return reply_err(x, &err);
	}
	if (resolve_scope(s, &c, &err) || resolve_cdests(s, x->pol, x->r, &c, &err))
		return reply_err(x, &err);
	if (s->n >= max_criteria(s) || (x->pol->max_criteria && count_owned(s, x->r) >= x->pol->max_criteria))
		return reply_code(x, DTCP_MAX_CRITERIA, NULL);
	if (s->next_id == 0) /* 2^32 - 1 IDs used: never wrap to a used one */
		return reply_code(x, DTCP_MAX_CRITERIA, NULL);
	c.id = s->next_id;
	c.csource = x->r->csource;
	snprintf(c.csource_addr, sizeof(c.csource_addr), "%s", peer ? peer : "");
	if (!(e = dtcp_entry_new(&c)))
		return reply_code(x, DTCP_INTERNAL, NULL);
	e->added_ms = x->now;
	for (int t = 0; t < DTCP_T_N; t++)
		e->start_ms[t] = x->now;
	/* New criteria start at zero on the datapath, so base[] stays 0. */
	before_change(s, c.id, NULL);
	if (insert(s, e)) {
		free(e);
		return reply_code(x, DTCP_INTERNAL, NULL);
	}
	if (s->be->install(s->be_ctx, &c)) {
		erase(s, c.id);
		return reply_code(x, DTCP_INTERNAL, NULL);
	}
	/* Only an installed criterion consumes its ID: a failed ADD was never seen. */
	s->next_id++;
	struct dtcp_reply rep = { .code = DTCP_OK, .has_criteria_id = true, .criteria_id = c.id };
	reply(x, &rep);
}

/* ---- selectors ------------------------------------------------------------------ */

static bool id_selected(const struct dtcp_request *r, uint32_t id)
{
	if (r->ids.any)
		return true;
	for (int i = 0; i < r->ids.n; i++)
		if (id >= r->ids.r[i].lo && id <= r->ids.r[i].hi)
			return true;
	return false;
}

static bool cdest_selected(const struct dtcp_request *r, const struct dtcp_entry *e)
{
	for (int i = 0; i < r->nsel_cdest; i++)
		for (int j = 0; j < e->c.ncdest; j++)
			if (strcmp(r->sel_cdest[i].s, e->cdest[j].name.s) == 0)
				return true;
	return false;
}

static bool selected(const struct dtcp_request *r, const struct dtcp_entry *e)
{
	if (!owned(e, r))
		return false;
	if (r->sel_ids && !id_selected(r, e->c.id))
		return false;
	if (r->nsel_cdest && !cdest_selected(r, e))
		return false;
	return true;
}

/* Single IDs must exist for this source; another source's look absent (3.4). */
static int check_singles(const struct ctx *x, struct dtcp_error *err)
{
	const struct dtcp_request *r = x->r;
	for (int i = 0; r->sel_ids && i < r->ids.n; i++) {
		if (!r->id_single[i])
			continue;
		uint64_t id = r->ids.r[i].lo;
		const struct dtcp_entry *e = id <= UINT32_MAX ? dtcp_server_find(x->s, (uint32_t)id) : NULL;
		if (!e || !owned(e, r)) {
			char v[24];
			snprintf(v, sizeof(v), "%" PRIu64, id);
			dtcp_error_set(err, DTCP_UNKNOWN_CRITERIA, "CRITERIA-ID", 11, v, strlen(v));
			return -1;
		}
	}
	return 0;
}

static int cmp_entry_id(const void *a, const void *b)
{
	uint32_t x = (*(struct dtcp_entry *const *)a)->c.id, y = (*(struct dtcp_entry *const *)b)->c.id;

	return x < y ? -1 : x > y;
}

/* The selected entries, in ID order. Returns the count, -1 on no memory. */
static long select_entries(const struct ctx *x, struct dtcp_entry ***out)
{
	struct dtcp_server *s = x->s;
	long k = 0;

	bool singles = x->r->sel_ids && x->r->ids.n > 0;

	for (int i = 0; singles && i < x->r->ids.n; i++)
		singles = x->r->id_single[i];
	if (singles) {
		/* only single ids (the common DELETE and REFRESH): look each up
		 * rather than walk the whole table, which made a long run of
		 * DELETEs quadratic */
		*out = malloc((size_t)x->r->ids.n * sizeof(**out));
		if (!*out)
			return -1;
		for (int i = 0; i < x->r->ids.n; i++) {
			uint64_t id = x->r->ids.r[i].lo;
			struct dtcp_entry *e = id <= UINT32_MAX ?
				(struct dtcp_entry *)dtcp_server_find(s, (uint32_t)id) :
				NULL;
			bool dup = false;

			for (long j = 0; j < k && !dup; j++)
				dup = (*out)[j] == e;
			if (e && !dup && selected(x->r, e))
				(*out)[k++] = e;
		}
		qsort(*out, (size_t)k, sizeof(**out), cmp_entry_id);
		return k;
	}
	*out = malloc((s->n ? s->n : 1) * sizeof(**out));
	if (!*out)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (selected(x->r, s->tab[i]))
			(*out)[k++] = s->tab[i];
	return k;
}

/* ---- DELETE / REFRESH ----------------------------------------------------------- */

/* The entries a REFRESH or LIST selects, after its single-value checks, and
 * zeroed counters for each; -1 when the request was answered instead (its
 * error, or 500). */
static long select_counted(const struct ctx *x, struct dtcp_entry ***sel, struct dtcp_counters **cnt)
{
	struct dtcp_error err;
	long n;

	if (check_singles(x, &err)) {
		reply_err(x, &err);
		return -1;
	}
	if ((n = select_entries(x, sel)) < 0) {
		reply_code(x, DTCP_INTERNAL, NULL);
		return -1;
	}
	*cnt = calloc((size_t)(n ? n : 1), sizeof(**cnt));
	return n;
}

static void handle_delete(const struct ctx *x)
{
	struct dtcp_server *s = x->s;
	struct dtcp_entry **sel;
	struct dtcp_error err;
	long n, done = 0;

	if (check_singles(x, &err))
		return reply_err(x, &err);
	/* room to rebuild a removed criterion if a later removal fails, taken
	 * before anything is removed so that the undo cannot lack memory */
	struct dtcp_criterion *undo = malloc(sizeof(*undo));
	if (!undo)
		return reply_code(x, DTCP_INTERNAL, NULL);
	if ((n = select_entries(x, &sel)) < 0) {
		free(undo);
		return reply_code(x, DTCP_INTERNAL, NULL);
	}
	/* the list of what it removes, taken before anything is removed: the
	 * daemon persists exactly these ids (an empty list: nothing changed) */
	uint32_t *ids = calloc((size_t)(n ? n : 1), sizeof(*ids));
	if (!ids) {
		free(undo);
		free(sel);
		return reply_code(x, DTCP_INTERNAL, NULL);
	}
	for (long i = 0; i < n; i++) {
		if (sel[i]->c.is_static && !x->r->flag_static && x->pol->delete_static_needs_flag) {
			sel[i] = NULL; /* the drafts' reading: kept, still 200 (4.2) */
			continue;
		}
		before_change(s, sel[i]->c.id, sel[i]);
		if (s->lists)
			list_retire(s, sel[i], x->now);
		if (s->be->remove(s->be_ctx, sel[i]->c.id)) {
			/* Put back what was removed so that nothing changed. */
			for (long j = 0; j < i; j++)
				if (sel[j]) {
					dtcp_entry_criterion(sel[j], undo);
					s->be->install(s->be_ctx, undo);
				}
			free(undo);
			free(sel);
			free(ids);
			return reply_code(x, DTCP_INTERNAL, NULL);
		}
	}
	free(undo);
	for (long i = 0; i < n; i++) {
		if (!sel[i])
			continue;
		ids[done] = sel[i]->c.id;
		erase(s, sel[i]->c.id);
		done++;
	}
	free(sel);
	struct dtcp_reply rep = {
		.code = DTCP_OK, .has_count = true, .count = (uint64_t)done, .ids = ids, .n_ids = (size_t)done
	};
	reply(x, &rep);
	free(ids);
}

static void handle_refresh(const struct ctx *x)
{
	struct dtcp_server *s = x->s;
	struct dtcp_entry **sel;
	struct dtcp_counters *cnt;
	long n;

	if ((n = select_counted(x, &sel, &cnt)) < 0)
		return;
	/* the ids it refreshes, taken before anything changes (as DELETE) */
	uint32_t *ids = calloc((size_t)(n ? n : 1), sizeof(*ids));
	if (!cnt || !ids) {
		free(cnt);
		free(ids);
		free(sel);
		return reply_code(x, DTCP_INTERNAL, NULL);
	}
	/* Read every counter first so a failure leaves everything unchanged. */
	for (long i = 0; i < n; i++) {
		if (!sel[i]->c.is_static && s->be->read_counters(s->be_ctx, sel[i]->c.id, &cnt[i])) {
			free(cnt);
			free(ids);
			free(sel);
			return reply_code(x, DTCP_INTERNAL, NULL);
		}
	}
	for (long i = 0; i < n; i++) {
		struct dtcp_entry *e = sel[i];
		if (e->c.is_static)
			continue; /* counted, unchanged (4.3) */
		before_change(s, e->c.id, e);
		for (int t = 0; t < DTCP_T_N; t++) {
			uint64_t v = x->r->crit.timeout[t];
			if (!v)
				continue;
			e->c.timeout[t] = v;
			e->start_ms[t] = x->now;
			e->base[t] = t == DTCP_T_PACKETS ? cnt[i].packets : t == DTCP_T_BYTES ? cnt[i].bytes : 0;
		}
		e->num_refresh++;
		e->last_refresh_ms = x->now;
	}
	for (long i = 0; i < n; i++)
		ids[i] = sel[i]->c.id;
	free(cnt);
	free(sel);
	struct dtcp_reply rep = {
		.code = DTCP_OK, .has_count = true, .count = (uint64_t)n, .ids = ids, .n_ids = (size_t)n
	};
	reply(x, &rep);
	free(ids);
}

/* ---- LIST ---------------------------------------------------------------------- */

static void put_remaining(struct xbuf *b, const char *name, uint64_t v)
{
	/* "*": no such limit (static, or not set). */
	if (v == UINT64_MAX)
		xbuf_printf(b, "%s: *\r\n", name);
	else
		xbuf_printf(b, "%s: %" PRIu64 "\r\n", name, v);
}

/* X-X3-XID: one entry per CDEST-ID entry, the XID of an X3 destination as
 * a UUID (RFC 9562, lower case), "-" for a destination that is not one;
 * the line only when one is. */
static void put_xids(const struct ctx *x, const struct dtcp_entry *e, struct xbuf *b)
{
	static const char hx[] = "0123456789abcdef";
	uint8_t xid[DTCP_MAX_CDESTS][16];
	bool is[DTCP_MAX_CDESTS], any = false;

	if (!x->s->cfg->cdest_xid)
		return;
	for (int i = 0; i < e->c.ncdest; i++)
		any |= is[i] = !x->s->cfg->cdest_xid(x->s->cfg->ctx, e->cdest[i].name.s, xid[i]);
	if (!any)
		return;
	xbuf_printf(b, "X-X3-XID: ");
	for (int i = 0; i < e->c.ncdest; i++) {
		char u[37], *p = u;

		if (is[i]) {
			for (int k = 0; k < 16; k++) {
				if (k == 4 || k == 6 || k == 8 || k == 10)
					*p++ = '-';
				*p++ = hx[xid[i][k] >> 4];
				*p++ = hx[xid[i][k] & 0xf];
			}
		} else {
			*p++ = '-';
		}
		*p = '\0';
		xbuf_printf(b, "%s%s", i ? ", " : "", u);
	}
	xbuf_printf(b, "\r\n");
}

/* LIST Stats of a criterion with an X3 destination: its delivery, one entry
 * per CDEST-ID entry in its order, "-" for one that is not X3; the lines
 * only when one is (xtap's extension, docs/dtcp.md 4.4). */
static void put_x3_stats(const struct ctx *x, const struct dtcp_entry *e, struct xbuf *b)
{
	struct dtcp_x3_stats st[DTCP_MAX_CDESTS];
	bool is[DTCP_MAX_CDESTS], any = false;

	if (!x->s->cfg->cdest_x3_stats)
		return;
	for (int i = 0; i < e->c.ncdest; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		any |= is[i] = !x->s->cfg->cdest_x3_stats(x->s->cfg->ctx, e->cdest[i].name.s, &st[i]);
		st[i].state[sizeof(st[i].state) - 1] = '\0';
	}
	if (!any)
		return;
	xbuf_printf(b, "X-X3-STATE: ");
	for (int i = 0; i < e->c.ncdest; i++)
		xbuf_printf(b, "%s%s", i ? ", " : "", is[i] ? st[i].state : "-");
	static const char *const hdr[] = { "X-X3-PDUS", "X-X3-CONFIRMED", "X-X3-BYTES" };
	for (int h = 0; h < 3; h++) {
		xbuf_printf(b, "\r\n%s: ", hdr[h]);
		for (int i = 0; i < e->c.ncdest; i++) {
			uint64_t v = h == 0 ? st[i].pdus : h == 1 ? st[i].confirmed : st[i].bytes;

			if (is[i])
				xbuf_printf(b, "%s%" PRIu64, i ? ", " : "", v);
			else
				xbuf_printf(b, "%s-", i ? ", " : "");
		}
	}
	xbuf_printf(b, "\r\nX-X3-DROPS: ");
	for (int i = 0; i < e->c.ncdest; i++) {
		if (is[i])
			xbuf_printf(b, "%sbuffer-full %" PRIu64 " lost %" PRIu64 " kernel %" PRIu64, i ? ", " : "",
				    st[i].buffer_full, st[i].lost, st[i].kernel);
		else
			xbuf_printf(b, "%s-", i ? ", " : "");
	}
	xbuf_printf(b, "\r\n");
}

static void format_block(const struct ctx *x, const struct dtcp_entry *e, const struct dtcp_counters *cnt, long num,
			 long count, struct xbuf *b)
{
	static const char *const rem[DTCP_T_N] = {
		"REMAINING-IDLE",
		"REMAINING-TOTAL",
		"REMAINING-PACKETS",
		"REMAINING-BYTES",
	};
	char name[4 * DTCP_NAME_MAX];

	xbuf_printf(b, "CRITERIA-ID: %" PRIu32 "\r\nCRITERIA-NUM: %ld\r\nCRITERIA-COUNT: %ld\r\n", e->c.id, num, count);
	dtcp_escape_name(e->c.csource.s, name, sizeof(name));
	xbuf_printf(b, "CSOURCE-ID: %s\r\nCDEST-ID: ", name);
	for (int i = 0; i < e->c.ncdest; i++) {
		dtcp_escape_name(e->cdest[i].name.s, name, sizeof(name));
		xbuf_printf(b, "%s%s", i ? ", " : "", name);
	}
	xbuf_printf(b, "\r\n");
	put_xids(x, e, b);
	xbuf_printf(b, "CSOURCE-ADDRESS: %s\r\nFLAGS: %s\r\n", e->c.csource_addr[0] ? e->c.csource_addr : "*",
		    e->c.is_static ? "STATIC" : "DYNAMIC");
	if (x->r->list_flags & DTCP_LIST_CRITERIA)
		xbuf_printf(b, "%s", e->given);
	if (x->r->list_flags & DTCP_LIST_STATS) {
		char ts[DTCP_TIME_LEN];
		xbuf_printf(b, "MATCHING-PACKETS: %" PRIu64 "\r\nMATCHING-BYTES: %" PRIu64 "\r\n", cnt->packets,
			    cnt->bytes);
		for (int t = 0; t < DTCP_T_N; t++)
			put_remaining(b, rem[t], dtcp_entry_remaining(e, (enum dtcp_timeout)t, cnt, x->now));
		xbuf_printf(b, "NUM-REFRESH: %" PRIu32 "\r\n", e->num_refresh);
		if (e->last_refresh_ms) {
			dtcp_format_time(e->last_refresh_ms, ts);
			xbuf_printf(b, "LAST-REFRESH: %s\r\n", ts);
		} else {
			xbuf_printf(b, "LAST-REFRESH: *\r\n");
		}
		put_x3_stats(x, e, b);
	}
}

/* A LIST being answered: a cursor over the table in id order, so that a
 * LIST of every criterion is made a reply at a time (the caller decides
 * when: xtapd sends the next one only while its client's unread bytes are
 * under a window) instead of all at once (1M criteria are 320 MiB of
 * replies).
 *
 * Its set is fixed at its start, as if it had been answered at once: the
 * criteria the request selects with an id up to the largest in the table
 * then (ids only grow, so later ADDs are not in it), CRITERIA-COUNT their
 * number. A criterion of that set deleted or expired before its block is
 * made is still listed, from the copy taken when it went (list_retire; its
 * counters as they were then); one put back by an undo is listed from the
 * table. So CRITERIA-NUM runs 1..CRITERIA-COUNT whatever happens meanwhile
 * (docs/dtcp-library.md "LIST").
 *
 * Memory: the request, the key, one reply's blocks (32 KiB) and the copies
 * of criteria of the set that went while it streams (never more than the
 * set, which was in the table at the start), whatever the set's size. */
struct dtcp_retired {
	struct dtcp_entry *e;
	struct dtcp_counters cnt; /* LIST-STATS: read before it left the datapath */
	uint64_t at_ms; /* REMAINING-* as of then */
};

struct dtcp_list {
	struct dtcp_list *next; /* the server's LISTs in progress */
	struct dtcp_server *s;
	struct dtcp_request r; /* the selectors, csource, version, Seq */
	struct dtcp_source_policy pol; /* only the key: the one of the LIST's start */
	void *key;
	long count, num; /* CRITERIA-COUNT, blocks made so far */
	uint32_t max_id; /* ids above: added since the start */
	uint32_t last_id; /* last one listed (0: none yet) */
	size_t hint; /* table index after last_id, if still right */
	bool audited; /* the request's audit line is written */
	struct dtcp_retired *ret; /* sorted by id, ret[rhead..nret) still to list */
	size_t rhead, nret, capret;
};

/* The set of a LIST in progress still to come holds e. */
static bool list_covers(const struct dtcp_list *l, const struct dtcp_entry *e)
{
	return e->c.id > l->last_id && e->c.id <= l->max_id && selected(&l->r, e);
}

/* Before e leaves the table (a DELETE or an expiry, before its backend
 * removal so that its counters can still be read): a copy for each LIST in
 * progress whose set still holds it. Without memory for it, that LIST ends
 * with a 500 rather than a wrong count (list_step). Not called by
 * dtcp_server_take: the daemon's undo takes an entry only to put its
 * earlier state back at once, or one added after any LIST in progress began. */
static void list_retire(struct dtcp_server *s, const struct dtcp_entry *e, uint64_t now)
{
	for (struct dtcp_list *l = s->lists; l; l = l->next) {
		struct dtcp_retired t = { .at_ms = now };
		size_t i;

		if (!list_covers(l, e))
			continue;
		if (l->nret == l->capret) {
			size_t cap = l->capret ? 2 * l->capret : 16;
			struct dtcp_retired *m = realloc(l->ret, cap * sizeof(*m));

			if (!m) {
				l->count = -1; /* no memory: answered 500 (list_step) */
				continue;
			}
			l->ret = m;
			l->capret = cap;
		}
		if ((l->r.list_flags & DTCP_LIST_STATS) && s->be->read_counters(s->be_ctx, e->c.id, &t.cnt))
			memset(&t.cnt, 0, sizeof(t.cnt));
		if (!(t.e = dtcp_entry_dup(e))) {
			l->count = -1;
			continue;
		}
		/* deletions mostly come in id order: append */
		for (i = l->nret; i > l->rhead && l->ret[i - 1].e->c.id > e->c.id; i--)
			;
		if (i > l->rhead && l->ret[i - 1].e->c.id == e->c.id) {
			free(t.e); /* retired twice (deleted, put back, deleted): the first copy stays */
			continue;
		}
		memmove(&l->ret[i + 1], &l->ret[i], (l->nret - i) * sizeof(*l->ret));
		l->ret[i] = t;
		l->nret++;
	}
}

void dtcp_list_free(struct dtcp_list *l)
{
	if (!l)
		return;
	for (struct dtcp_list **pp = &l->s->lists; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	for (size_t i = l->rhead; i < l->nret; i++)
		free(l->ret[i].e);
	free(l->ret);
	if (l->key) {
		explicit_bzero(l->key, l->pol.keylen);
		free(l->key);
	}
	explicit_bzero(l, sizeof(*l));
	free(l);
}

/* The first table index with an id above l->last_id. */
static size_t list_pos(struct dtcp_list *l)
{
	struct dtcp_server *s = l->s;
	size_t i = l->hint;

	if (i <= s->n && (i == 0 || s->tab[i - 1]->c.id <= l->last_id) && (i == s->n || s->tab[i]->c.id > l->last_id))
		return i;
	return lower_bound(s, l->last_id + 1);
}

/* Makes the next reply of l. 1: more to come, 0: that was the last. */
static int list_step(struct dtcp_list *l, uint64_t now, dtcp_emit_fn emit, void *arg)
{
	struct dtcp_server *s = l->s;
	struct ctx x = { s, &l->pol, &l->r, now, emit, arg, l->audited };
	const size_t acc_max = DTCP_REPLY_SOFT_MAX - LIST_HEAD_ROOM; /* the blocks, the NUL aside */
	char *block = malloc(BLOCK_MAX);
	struct xbuf acc = XBUF_FIXED(malloc(acc_max + 1), acc_max + 1);
	size_t i = list_pos(l);

	if (!block || !acc.p || l->count < 0)
		goto internal;
	while (l->num < l->count) {
		const struct dtcp_entry *e = NULL;
		struct dtcp_counters cnt = { 0 };
		uint64_t at = now;
		struct xbuf b = XBUF_FIXED(block, BLOCK_MAX);
		bool from_table = false;

		while (i < s->n && s->tab[i]->c.id <= l->max_id && !selected(&l->r, s->tab[i]))
			i++;
		if (i < s->n && s->tab[i]->c.id > l->max_id)
			i = s->n; /* past the set */
		/* a retired copy of the same id: it is back in the table (an undo) */
		while (l->rhead < l->nret && i < s->n && l->ret[l->rhead].e->c.id == s->tab[i]->c.id)
			free(l->ret[l->rhead++].e);
		if (l->rhead < l->nret && (i == s->n || l->ret[l->rhead].e->c.id < s->tab[i]->c.id)) {
			e = l->ret[l->rhead].e;
			cnt = l->ret[l->rhead].cnt;
			at = l->ret[l->rhead].at_ms;
		} else if (i < s->n) {
			e = s->tab[i];
			from_table = true;
			if ((l->r.list_flags & DTCP_LIST_STATS) && s->be->read_counters(s->be_ctx, e->c.id, &cnt))
				goto internal;
		} else {
			goto internal; /* the set holds fewer than counted: cannot happen */
		}
		x.now = at;
		format_block(&x, e, &cnt, l->num + 1, l->count, &b);
		x.now = now;
		if (b.full)
			goto internal; /* cannot happen: BLOCK_MAX bounds every field */
		if (acc.n + b.n > acc_max)
			break; /* never split a block: this reply is full */
		xbuf_mem(&acc, b.p, b.n); /* fits: BLOCK_MAX < acc_max */
		l->num++;
		l->last_id = e->c.id;
		if (from_table)
			l->hint = ++i;
		else
			free(l->ret[l->rhead++].e);
	}
	struct dtcp_reply rep = { .code = DTCP_OK, .blocks = acc.n ? acc.p : NULL, .blocks_len = acc.n };
	reply(&x, &rep);
	l->audited = true;
	free(acc.p);
	free(block);
	return l->num < l->count;
internal:
	free(acc.p);
	free(block);
	x.now = now;
	reply_code(&x, DTCP_INTERNAL, NULL);
	l->audited = true;
	return 0;
}

/* A LIST's start: its checks, then the cursor (registered with the server
 * so that deletions retire into it); NULL when it was answered already (an
 * error, a 500). */
static struct dtcp_list *list_begin(const struct ctx *x)
{
	struct dtcp_server *s = x->s;
	struct dtcp_error err;
	struct dtcp_list *l;

	if (check_singles(x, &err)) {
		reply_err(x, &err);
		return NULL;
	}
	if (!(l = calloc(1, sizeof(*l))) || !(l->key = malloc(x->pol->keylen ? x->pol->keylen : 1))) {
		free(l);
		reply_code(x, DTCP_INTERNAL, NULL);
		return NULL;
	}
	l->s = s;
	l->r = *x->r;
	memcpy(l->key, x->pol->key, x->pol->keylen);
	l->pol = (struct dtcp_source_policy){ .key = l->key, .keylen = x->pol->keylen };
	l->max_id = s->n ? s->tab[s->n - 1]->c.id : 0;
	for (size_t i = 0; i < s->n; i++)
		l->count += selected(x->r, s->tab[i]);
	l->next = s->lists;
	s->lists = l;
	return l;
}

static void handle_list(const struct ctx *x, struct dtcp_list **stream)
{
	struct dtcp_list *l = list_begin(x);

	if (!l)
		return;
	if (stream) {
		*stream = l; /* the caller makes the replies (dtcp_list_step) */
		return;
	}
	while (list_step(l, x->now, x->emit, x->arg))
		;
	dtcp_list_free(l);
}

int dtcp_list_step(struct dtcp_list *l, uint64_t now_ms, dtcp_emit_fn emit, void *arg)
{
	return list_step(l, now_ms, emit, arg);
}

void dtcp_server_handle(struct dtcp_server *s, const struct dtcp_source_policy *pol, const struct dtcp_request *r,
			const char *peer_addr, uint64_t now_ms, dtcp_emit_fn emit, void *arg)
{
	dtcp_server_handle_stream(s, pol, r, peer_addr, now_ms, emit, arg, NULL);
}

void dtcp_server_handle_stream(struct dtcp_server *s, const struct dtcp_source_policy *pol,
			       const struct dtcp_request *r, const char *peer_addr, uint64_t now_ms, dtcp_emit_fn emit,
			       void *arg, struct dtcp_list **stream)
{
	struct ctx x = { s, pol, r, now_ms, emit, arg, false };

	if (s->cfg->before_request)
		s->cfg->before_request(s->cfg->ctx, r);
	switch (r->method) {
	case DTCP_M_ADD: return handle_add(&x, peer_addr);
	case DTCP_M_DELETE: return handle_delete(&x);
	case DTCP_M_REFRESH: return handle_refresh(&x);
	case DTCP_M_LIST: return handle_list(&x, stream);
	case DTCP_M_NOOP: return reply_code(&x, DTCP_OK, NULL);
	default: return reply_code(&x, DTCP_NOT_IMPLEMENTED, NULL);
	}
}

/* Exposed for the session: emit an error reply to a request that failed to parse. */
void dtcp_server_reply_error(struct dtcp_server *s, const struct dtcp_source_policy *pol, const struct dtcp_request *r,
			     const struct dtcp_error *err, uint64_t now_ms, dtcp_emit_fn emit, void *arg)
{
	struct ctx x = { s, pol, r, now_ms, emit, arg, false };
	reply_err(&x, err);
}

/* ---- strict Seq ----------------------------------------------------------------- */

bool dtcp_server_seq_accept(struct dtcp_server *s, const char *csource, uint64_t seq)
{
	size_t i;
	for (i = 0; i < s->nseq; i++)
		if (strcmp(s->seq[i].csource.s, csource) == 0)
			break;
	if (i < s->nseq) {
		uint64_t last = s->seq[i].last;
		if (seq <= last || seq - last > DTCP_SEQ_WINDOW)
			return false;
		s->seq[i].last = seq;
		return true;
	}
	struct dtcp_seq_state *t = realloc(s->seq, (s->nseq + 1) * sizeof(*t));
	if (!t)
		return false;
	s->seq = t;
	memset(&t[s->nseq], 0, sizeof(t[0]));
	snprintf(t[s->nseq].csource.s, sizeof(t[0].csource.s), "%s", csource);
	t[s->nseq].last = seq;
	s->nseq++;
	return true;
}
