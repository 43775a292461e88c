/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tasks and destinations of every ADMF (TS 103 221-1 clauses 6.2 - 6.4) and
 * their targets as xtap criteria.
 *
 * Each ADMF is a control source: its tasks and destinations are its own
 * (keyed by admfIdentifier and XID / DID), another ADMF neither sees nor
 * touches them, and an XID or DID one ADMF uses is free for another. A
 * task's criteria live in the table DTCP uses (struct x1_store_ops), owned
 * by the control source "X1/<admfIdentifier>".
 *
 * Every message either happens whole or changes nothing: criteria are
 * installed before anything they replace is removed (make before break:
 * ModifyTask and ModifyDestination leave no gap), and an install that fails
 * removes what it had installed. A removal the datapath refuses leaves the
 * criteria it could not remove on the task, so that the next request
 * (a retried DeactivateTask) removes them; the answer is then the message's
 * Generic*Failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "x1.h"

void x1_store_init(struct x1_store *s, const struct x1_store_ops *ops, void *ctx, const char *ne)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->ctx = ctx;
	snprintf(s->ne, sizeof(s->ne), "%s", ne);
}

void x1_store_free(struct x1_store *s)
{
	for (size_t i = 0; i < s->ntasks; i++)
		free(s->tasks[i]);
	for (size_t i = 0; i < s->ndests; i++)
		free(s->dests[i]);
	free(s->tasks);
	free(s->dests);
	free(s->seen);
	memset(s, 0, sizeof(*s));
}

static bool uuid_eq(const struct x1_uuid *a, const struct x1_uuid *b)
{
	return !memcmp(a->b, b->b, 16);
}

static struct x1_task_entry *find_task(const struct x1_store *s, const char *admf, const struct x1_uuid *xid,
				       size_t *pos)
{
	for (size_t i = 0; i < s->ntasks; i++)
		if (!strcmp(s->tasks[i]->admf, admf) && uuid_eq(&s->tasks[i]->t.xid, xid)) {
			if (pos)
				*pos = i;
			return s->tasks[i];
		}
	return NULL;
}

static struct x1_dest_entry *find_dest(const struct x1_store *s, const char *admf, const struct x1_uuid *did,
				       size_t *pos)
{
	for (size_t i = 0; i < s->ndests; i++)
		if (!strcmp(s->dests[i]->admf, admf) && uuid_eq(&s->dests[i]->d.did, did)) {
			if (pos)
				*pos = i;
			return s->dests[i];
		}
	return NULL;
}

static size_t count_tasks(const struct x1_store *s, const char *admf)
{
	size_t n = 0;

	for (size_t i = 0; i < s->ntasks; i++)
		n += !strcmp(s->tasks[i]->admf, admf);
	return n;
}

static size_t count_dests(const struct x1_store *s, const char *admf)
{
	size_t n = 0;

	for (size_t i = 0; i < s->ndests; i++)
		n += !strcmp(s->dests[i]->admf, admf);
	return n;
}

static int grow(void ***tab, size_t n, size_t *cap)
{
	void **t;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	if (!(t = realloc(*tab, c * sizeof(*t))))
		return -1;
	*tab = t;
	*cap = c;
	return 0;
}

/* A new task entry of the ADMF, room made for it in s->tasks; the caller
 * appends it (s->tasks[s->ntasks++]) once it is to stay. NULL: out of memory. */
static struct x1_task_entry *new_task(struct x1_store *s, const char *admf, const struct x1_task *t)
{
	struct x1_task_entry *e = calloc(1, sizeof(*e));

	if (!e || grow((void ***)&s->tasks, s->ntasks, &s->cap_tasks)) {
		free(e);
		return NULL;
	}
	snprintf(e->admf, sizeof(e->admf), "%s", admf);
	e->t = *t;
	return e;
}

/* Appends a destination of the ADMF. -1: out of memory. */
static int add_dest(struct x1_store *s, const char *admf, const struct x1_destination *d)
{
	struct x1_dest_entry *e = calloc(1, sizeof(*e));

	if (!e || grow((void ***)&s->dests, s->ndests, &s->cap_dests)) {
		free(e);
		return -1;
	}
	snprintf(e->admf, sizeof(e->admf), "%s", admf);
	e->d = *d;
	s->dests[s->ndests++] = e;
	return 0;
}

/* ---- targets -> criteria (docs/x1.md "Mapping") -------------------------------------- */

static void crit_base(struct dtcp_criterion *c, const char *admf, const struct x1_task *t, int family)
{
	char xid[X1_UUID_LEN];

	memset(c, 0, sizeof(*c));
	snprintf(c->csource.s, sizeof(c->csource.s), X1_SOURCE_PREFIX "%s", admf);
	c->family = (uint8_t)family;
	c->src.any = c->dst.any = c->either.any = true;
	c->src.family = c->dst.family = c->either.family = (uint8_t)family;
	c->sport.any = c->dport.any = c->proto.any = c->icmp_type.any = c->icmp_code.any = true;
	c->is_static = true; /* an X1 task lasts until it is deactivated (6.2.3) */
	/* DTCP's default (a Priority header is 1 or more): the state file's
	 * add line of the criterion goes through DTCP's parser at a restart */
	c->priority = 1;
	x1_format_uuid(&t->xid, xid);
	snprintf(c->given, sizeof(c->given), "X1-XID: %s\r\n", xid);
}

static void set_prefix(struct dtcp_prefix_set *ps, int family, const uint8_t a[16], uint8_t plen)
{
	ps->any = false;
	ps->family = (uint8_t)family;
	ps->n = 1;
	memset(&ps->p[0], 0, sizeof(ps->p[0]));
	/* host bits under the length cleared, as DTCP does (dtcp-library.md) */
	for (int i = 0; i < 16 && i * 8 < plen; i++)
		ps->p[0].a[i] = plen >= (i + 1) * 8 ? a[i] : (uint8_t)(a[i] & (0xff << (8 - (plen - i * 8))));
	ps->p[0].len = plen;
}

static void set_range(struct dtcp_range_set *rs, uint64_t lo, uint64_t hi)
{
	rs->any = false;
	rs->n = 1;
	rs->r[0].lo = lo;
	rs->r[0].hi = hi;
}

int x1_task_criteria(const char *admf, const struct x1_task *t, struct dtcp_criterion *out, int max)
{
	int n = 0;

	for (int i = 0; i < t->ntargets; i++) {
		const struct x1_target *g = &t->target[i];

		switch (g->kind) {
		case X1_T_IPV4_ADDRESS:
		case X1_T_IPV6_ADDRESS:
		case X1_T_IPV4_CIDR:
		case X1_T_IPV6_CIDR:
			/* traffic from or to the address: DTCP's X-IP-Addr */
			if (n + 1 > max)
				return -1;
			crit_base(&out[n], admf, t, g->family);
			set_prefix(&out[n].either, g->family, g->addr, g->plen);
			n++;
			break;
		case X1_T_TCP_PORT:
		case X1_T_UDP_PORT:
		case X1_T_TCP_PORT_RANGE:
		case X1_T_UDP_PORT_RANGE:
			/* from or to the port, over IPv4 and IPv6: a criterion has one
			 * family and one direction per port field */
			if (n + 4 > max)
				return -1;
			for (int f = 0; f < 2; f++)
				for (int dir = 0; dir < 2; dir++) {
					struct dtcp_criterion *c = &out[n++];

					crit_base(c, admf, t, f ? DTCP_AF_INET6 : DTCP_AF_INET);
					set_range(&c->proto, g->proto, g->proto);
					set_range(dir ? &c->dport : &c->sport, g->port_lo, g->port_hi);
				}
			break;
		case X1_T_IP_ADDRESS_PORT:
			/* the endpoint address:port, as source or as destination */
			if (n + 2 > max)
				return -1;
			for (int dir = 0; dir < 2; dir++) {
				struct dtcp_criterion *c = &out[n++];

				crit_base(c, admf, t, g->family);
				set_prefix(dir ? &c->dst : &c->src, g->family, g->addr, g->plen);
				set_range(&c->proto, g->proto, g->proto);
				set_range(dir ? &c->dport : &c->sport, g->port_lo, g->port_lo);
			}
			break;
		default: return -1;
		}
	}
	return n;
}

/* ---- criteria in and out ------------------------------------------------------------------ */

/* The provisional delivery of an X1 destination (ops->bind_destination
 * NULL): a DTCP content destination, IP/UDP to its address and port. */
static int bind_dest(const struct x1_store *s, const char *admf, const struct x1_task *t,
		     const struct x1_destination *d, struct dtcp_cdest *out)
{
	memset(out, 0, sizeof(*out));
	if (s->ops->bind_destination)
		return s->ops->bind_destination(s->ctx, admf, t, d, out);
	x1_format_uuid(&d->did, out->name.s);
	out->dst.family = d->family;
	memcpy(out->dst.a, d->addr, 16);
	out->dst_port = d->port;
	out->ttl = 255; /* design.md: X-JTap-Cdest-TTL's default */
	return 0;
}

static const char *install_why(int rc)
{
	return rc == -2 ?
		"a destination cannot be given a delivery (its address and port are an X3 delivery port of the "
		"sensor, or every X3 delivery slot is in use)" :
		"the datapath refused a criterion";
}

static void remove_ids(struct x1_store *s, const uint32_t *ids, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		s->ops->crit_remove(s->ctx, ids[i]);
}

/* Installs the criteria of task t delivering to its destinations (one of
 * them replaced by `over` when not NULL: a ModifyDestination). ids gets
 * their ids. 0, or -1 with nothing left installed (-2: a destination could
 * not be bound to a delivery). */
static int install_task(struct x1_store *s, const char *admf, const struct x1_task *t,
			const struct x1_destination *over, uint32_t *ids, uint32_t *nids)
{
	struct dtcp_criterion *c = malloc(X1_MAX_CRIT * sizeof(*c));
	struct dtcp_cdest cd[X1_MAX_DIDS];
	int n, rc = -1;

	*nids = 0;
	if (!c)
		return -1;
	for (int i = 0; i < t->ndids; i++) {
		struct x1_dest_entry *d = find_dest(s, admf, &t->did[i], NULL);
		const struct x1_destination *x = over && uuid_eq(&over->did, &t->did[i]) ? over : d ? &d->d : NULL;

		if (!x)
			goto out;
		if (bind_dest(s, admf, t, x, &cd[i])) {
			rc = -2;
			goto out;
		}
	}
	if ((n = x1_task_criteria(admf, t, c, X1_MAX_CRIT)) < 0)
		goto out;
	for (int k = 0; k < n; k++) {
		c[k].ncdest = t->ndids;
		memcpy(c[k].cdest, cd, t->ndids * sizeof(cd[0]));
		if (s->ops->crit_add(s->ctx, &c[k], &ids[*nids])) {
			remove_ids(s, ids, *nids);
			*nids = 0;
			goto out;
		}
		(*nids)++;
	}
	rc = 0;
out:
	free(c);
	return rc;
}

/* Removes a task's criteria; those the datapath kept stay on the task.
 * 0: all removed. */
static int remove_task_criteria(struct x1_store *s, struct x1_task_entry *e)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < e->ncrit; i++)
		if (s->ops->crit_remove(s->ctx, e->crit[i]))
			e->crit[kept++] = e->crit[i];
	e->ncrit = kept;
	return kept ? -1 : 0;
}

/* After new criteria are in: the old ones out, and the task holds the new
 * ones plus any old one the datapath kept (removed by the next request). */
static int swap_criteria(struct x1_store *s, struct x1_task_entry *e, const uint32_t *ids, uint32_t n)
{
	int rc = remove_task_criteria(s, e);
	uint32_t left = e->ncrit;

	if (left + n > X1_MAX_CRIT) /* cannot happen: a failed removal leaves at most one set */
		left = X1_MAX_CRIT - n;
	memmove(e->crit + n, e->crit, left * sizeof(e->crit[0]));
	memcpy(e->crit, ids, n * sizeof(ids[0]));
	e->ncrit = n + left;
	return rc;
}

/* ---- checks common to ActivateTask and ModifyTask ------------------------------------------- */

/* xtap delivers X3 (content) only: a task must be X3Only and name at least
 * one destination, each taking X3 (clause 6.2.1.2: deliveryType;
 * 3040 InvalidCombinationOfDeliveryTypeAndDestinations). */
static int check_task(const struct x1_store *s, const char *admf, const struct x1_task *t, const char **desc)
{
	if (t->delivery != X1_DT_X3_ONLY) {
		*desc = "xtap delivers content (X3Only) only";
		return X1_E_DELIVERY_COMBINATION;
	}
	if (!t->ndids) {
		*desc = "an X3Only task names no destination";
		return X1_E_DELIVERY_COMBINATION;
	}
	for (int i = 0; i < t->ndids; i++) {
		const struct x1_dest_entry *d = find_dest(s, admf, &t->did[i], NULL);

		for (int j = 0; j < i; j++)
			if (uuid_eq(&t->did[i], &t->did[j])) {
				*desc = "a dId listed twice";
				return X1_E_DELIVERY_COMBINATION;
			}
		if (!d) {
			*desc = NULL;
			return X1_E_DID_UNKNOWN;
		}
		if (d->d.delivery == X1_DT_X2_ONLY) {
			*desc = "a destination of an X3Only task is X2Only";
			return X1_E_DELIVERY_COMBINATION;
		}
	}
	return 0;
}

static void use_dests(struct x1_store *s, const char *admf, const struct x1_task *t, int delta)
{
	for (int i = 0; i < t->ndids; i++) {
		struct x1_dest_entry *d = find_dest(s, admf, &t->did[i], NULL);

		if (d)
			d->users = (uint32_t)((int)d->users + delta);
	}
}

/* ---- messages ------------------------------------------------------------------------------- */

static int activate(struct x1_store *s, const char *admf, const struct x1_task *t, const char **desc)
{
	uint32_t max = s->max_tasks ? s->max_tasks : X1_MAX_TASKS_DEFAULT;
	struct x1_task_entry *e;
	int code;

	if (find_task(s, admf, &t->xid, NULL))
		return X1_E_XID_EXISTS;
	if ((code = check_task(s, admf, t, desc)))
		return code;
	if (count_tasks(s, admf) >= max) {
		*desc = "the ADMF has as many tasks as xtap allows it";
		return X1_E_ACTIVATE_FAILURE;
	}
	if (!(e = new_task(s, admf, t))) {
		*desc = "out of memory";
		return X1_E_ACTIVATE_FAILURE;
	}
	if ((code = install_task(s, admf, t, NULL, e->crit, &e->ncrit))) {
		free(e);
		*desc = install_why(code);
		return X1_E_ACTIVATE_FAILURE;
	}
	s->tasks[s->ntasks++] = e;
	use_dests(s, admf, t, +1);
	return 0;
}

static int modify(struct x1_store *s, const char *admf, const struct x1_task *t, const char **desc)
{
	struct x1_task_entry *e = find_task(s, admf, &t->xid, NULL);
	uint32_t ids[X1_MAX_CRIT], n;
	int code;

	if (!e)
		return X1_E_XID_UNKNOWN;
	if ((code = check_task(s, admf, t, desc)))
		return code;
	if ((code = install_task(s, admf, t, NULL, ids, &n))) {
		*desc = install_why(code);
		return X1_E_MODIFY_TASK_FAILURE;
	}
	use_dests(s, admf, &e->t, -1);
	use_dests(s, admf, t, +1);
	e->t = *t;
	if (swap_criteria(s, e, ids, n)) {
		*desc = "the datapath kept a replaced criterion";
		return X1_E_MODIFY_TASK_FAILURE;
	}
	return 0;
}

static void drop_task(struct x1_store *s, size_t pos)
{
	struct x1_task_entry *e = s->tasks[pos];

	use_dests(s, e->admf, &e->t, -1);
	free(e);
	s->tasks[pos] = s->tasks[--s->ntasks];
}

static int deactivate(struct x1_store *s, const char *admf, const struct x1_uuid *xid, const char **desc)
{
	size_t pos;
	struct x1_task_entry *e = find_task(s, admf, xid, &pos);

	if (!e)
		return X1_E_XID_UNKNOWN;
	if (remove_task_criteria(s, e)) {
		*desc = "the datapath kept a criterion; the task stays until it is removed";
		return X1_E_DEACTIVATE_FAILURE;
	}
	drop_task(s, pos);
	return 0;
}

static int deactivate_all(struct x1_store *s, const char *admf, const char **desc)
{
	int code = 0;

	if (s->deactivate_all_disabled)
		return X1_E_DEACTIVATE_ALL_DISABLED;
	for (size_t i = s->ntasks; i-- > 0;) {
		struct x1_task_entry *e = s->tasks[i];

		if (strcmp(e->admf, admf))
			continue;
		if (remove_task_criteria(s, e)) {
			*desc = "the datapath kept a criterion; its task stays until it is removed";
			code = X1_E_DEACTIVATE_ALL_FAILURE;
			continue;
		}
		drop_task(s, i);
	}
	return code;
}

static int create_dest(struct x1_store *s, const char *admf, const struct x1_destination *d, const char **desc)
{
	uint32_t max = s->max_dests ? s->max_dests : X1_MAX_DESTS_DEFAULT;

	if (find_dest(s, admf, &d->did, NULL))
		return X1_E_DID_EXISTS;
	if (count_dests(s, admf) >= max) {
		*desc = "the ADMF has as many destinations as xtap allows it";
		return X1_E_CREATE_DEST_FAILURE;
	}
	if (add_dest(s, admf, d)) {
		*desc = "out of memory";
		return X1_E_CREATE_DEST_FAILURE;
	}
	return 0;
}

/* Every task using the destination is re-installed towards its new address
 * before its old criteria go: no gap, and nothing changes if one fails. */
static int modify_dest(struct x1_store *s, const char *admf, const struct x1_destination *d, const char **desc)
{
	struct x1_dest_entry *e = find_dest(s, admf, &d->did, NULL);
	struct x1_task_entry **users = NULL;
	uint32_t(*ids)[X1_MAX_CRIT] = NULL, *nids = NULL;
	size_t nu = 0, done = 0;
	int code = 0;

	if (!e)
		return X1_E_DID_UNKNOWN;
	if (e->users && d->delivery == X1_DT_X2_ONLY) {
		*desc = "X3Only tasks deliver to the destination";
		return X1_E_MODIFY_DEST_FAILURE;
	}
	if (e->users) {
		users = calloc(e->users, sizeof(*users));
		ids = calloc(e->users, sizeof(*ids));
		nids = calloc(e->users, sizeof(*nids));
		if (!users || !ids || !nids) {
			*desc = "out of memory";
			code = X1_E_MODIFY_DEST_FAILURE;
			goto out;
		}
		for (size_t i = 0; i < s->ntasks && nu < e->users; i++) {
			const struct x1_task *t = &s->tasks[i]->t;

			if (strcmp(s->tasks[i]->admf, admf))
				continue;
			for (int k = 0; k < t->ndids; k++)
				if (uuid_eq(&t->did[k], &d->did)) {
					users[nu++] = s->tasks[i];
					break;
				}
		}
	}
	for (done = 0; done < nu; done++)
		if ((code = install_task(s, admf, &users[done]->t, d, ids[done], &nids[done]))) {
			while (done-- > 0)
				remove_ids(s, ids[done], nids[done]);
			*desc = install_why(code);
			code = X1_E_MODIFY_DEST_FAILURE;
			goto out;
		}
	e->d = *d;
	for (size_t i = 0; i < nu; i++)
		if (swap_criteria(s, users[i], ids[i], nids[i])) {
			*desc = "the datapath kept a replaced criterion";
			code = X1_E_MODIFY_DEST_FAILURE;
		}
out:
	free(users);
	free(ids);
	free(nids);
	return code;
}

static int remove_dest(struct x1_store *s, const char *admf, const struct x1_uuid *did)
{
	size_t pos;
	struct x1_dest_entry *e = find_dest(s, admf, did, &pos);

	if (!e)
		return X1_E_DID_UNKNOWN;
	if (e->users)
		return X1_E_DESTINATION_IN_USE;
	free(e);
	s->dests[pos] = s->dests[--s->ndests];
	return 0;
}

/* The ADMF's tasks and destinations, for GetAllDetails and ListAllDetails,
 * sorted by XID / DID: the tables are unordered (a removal moves the last
 * entry), and the answer should not depend on that. */
static int cmp_task(const void *a, const void *b)
{
	return memcmp((*(const struct x1_task *const *)a)->xid.b, (*(const struct x1_task *const *)b)->xid.b, 16);
}

static int cmp_dest(const void *a, const void *b)
{
	return memcmp((*(const struct x1_destination *const *)a)->did.b,
		      (*(const struct x1_destination *const *)b)->did.b, 16);
}

static int collect(struct x1_store *s, const char *admf, struct x1_response *r)
{
	const struct x1_task **t = malloc((s->ntasks + 1) * sizeof(*t));
	const struct x1_destination **d = malloc((s->ndests + 1) * sizeof(*d));

	if (!t || !d) {
		free(t);
		free(d);
		return -1;
	}
	for (size_t i = 0; i < s->ntasks; i++)
		if (!strcmp(s->tasks[i]->admf, admf))
			t[r->ntasks++] = &s->tasks[i]->t;
	for (size_t i = 0; i < s->ndests; i++)
		if (!strcmp(s->dests[i]->admf, admf))
			d[r->ndests++] = &s->dests[i]->d;
	qsort(t, r->ntasks, sizeof(*t), cmp_task);
	qsort(d, r->ndests, sizeof(*d), cmp_dest);
	r->tasks = t;
	r->dests = d;
	return 0;
}

static bool version_ok(const char *v)
{
	unsigned ma, mi, pa;

	return x1_parse_version(v, strlen(v), &ma, &mi, &pa) == 0 && ma == 1;
}

/* Any message the transport authenticated shows the ADMF is there: the
 * keepalive policy counts every one, not only Keepalive (an ADMF busy
 * tasking is not lost). */
static void seen(struct x1_store *s, const char *admf, uint64_t now_us)
{
	for (size_t i = 0; i < s->nseen; i++)
		if (!strcmp(s->seen[i].admf, admf)) {
			s->seen[i].last_us = now_us;
			s->seen[i].reported = false;
			return;
		}
	if (s->nseen == s->cap_seen) {
		size_t cap = s->cap_seen ? s->cap_seen * 2 : 8;
		struct x1_admf_seen *t = realloc(s->seen, cap * sizeof(*t));

		if (!t)
			return; /* an ADMF without a record is never lost: fails towards keeping tasks */
		s->seen = t;
		s->cap_seen = cap;
	}
	snprintf(s->seen[s->nseen].admf, X1_ID_MAX, "%s", admf);
	s->seen[s->nseen].last_us = now_us;
	s->seen[s->nseen].reported = false;
	s->nseen++;
}

void x1_store_heard_all(struct x1_store *s, uint64_t now_us)
{
	for (size_t i = 0; i < s->ntasks; i++)
		seen(s, s->tasks[i]->admf, now_us);
}

int x1_store_keepalive_sweep(struct x1_store *s, uint64_t now_us,
			     void (*lost)(void *arg, const char *admf, size_t tasks, size_t deactivated), void *arg)
{
	int nlost = 0;

	if (!s->keepalive_us)
		return 0;
	for (size_t i = 0; i < s->nseen; i++) {
		struct x1_admf_seen *a = &s->seen[i];
		size_t tasks = count_tasks(s, a->admf), gone = 0;

		if (a->reported || now_us - a->last_us <= s->keepalive_us || !tasks)
			continue;
		if (s->keepalive_policy == X1_KA_DEACTIVATE) {
			for (size_t k = s->ntasks; k-- > 0;) {
				struct x1_task_entry *e = s->tasks[k];

				if (strcmp(e->admf, a->admf) || remove_task_criteria(s, e))
					continue;
				drop_task(s, k);
				gone++;
			}
		}
		/* reported once; a task the datapath kept is tried again next time */
		a->reported = gone == tasks || s->keepalive_policy == X1_KA_KEEP;
		if (s->ops->audit)
			s->ops->audit(s->ctx, a->admf, "KeepaliveLost", gone == tasks ? 0 : X1_E_DEACTIVATE_ALL_FAILURE,
				      NULL);
		if (lost)
			lost(arg, a->admf, tasks, gone);
		nlost++;
	}
	return nlost;
}

void x1_store_handle_one(struct x1_store *s, const char *admf, const struct x1_request *q, uint64_t now_us,
			 struct x1_response *r)
{
	const char *desc = NULL;
	int code = 0;
	char id[X1_UUID_LEN] = "";

	memset(r, 0, sizeof(*r));
	r->type = q->type;
	r->type_name = q->type_name;
	r->env = q->env;
	if (!q->env.has_admf)
		snprintf(r->env.admf, sizeof(r->env.admf), "%s", admf);
	if (!q->env.has_version || !version_ok(q->env.version))
		snprintf(r->env.version, sizeof(r->env.version), "%s", X1_VERSION);

	seen(s, admf, now_us);
	if (q->error) {
		code = q->error;
		desc = q->desc;
	} else if (strcmp(q->env.admf, admf)) {
		/* 8.2.4: the admfIdentifier is the one the certificate names */
		code = X1_E_ADMF_ID_CERT_MISMATCH;
	} else if (strcmp(q->env.ne, s->ne)) {
		code = X1_E_UNEXPECTED_NE;
	} else {
		switch (q->type) {
		case X1_M_ACTIVATE_TASK:
			x1_format_uuid(&q->task.xid, id);
			code = activate(s, admf, &q->task, &desc);
			break;
		case X1_M_MODIFY_TASK:
			x1_format_uuid(&q->task.xid, id);
			code = modify(s, admf, &q->task, &desc);
			break;
		case X1_M_DEACTIVATE_TASK:
			x1_format_uuid(&q->xid, id);
			code = deactivate(s, admf, &q->xid, &desc);
			break;
		case X1_M_DEACTIVATE_ALL_TASKS: code = deactivate_all(s, admf, &desc); break;
		case X1_M_GET_TASK_DETAILS: {
			struct x1_task_entry *e = find_task(s, admf, &q->xid, NULL);

			x1_format_uuid(&q->xid, id);
			if (e)
				r->task = &e->t;
			else
				code = X1_E_XID_UNKNOWN;
			break;
		}
		case X1_M_CREATE_DESTINATION:
			x1_format_uuid(&q->dest.did, id);
			code = create_dest(s, admf, &q->dest, &desc);
			break;
		case X1_M_MODIFY_DESTINATION:
			x1_format_uuid(&q->dest.did, id);
			code = modify_dest(s, admf, &q->dest, &desc);
			break;
		case X1_M_REMOVE_DESTINATION:
			x1_format_uuid(&q->did, id);
			code = remove_dest(s, admf, &q->did);
			break;
		case X1_M_GET_DESTINATION_DETAILS: {
			struct x1_dest_entry *e = find_dest(s, admf, &q->did, NULL);

			x1_format_uuid(&q->did, id);
			if (e)
				r->dest = &e->d;
			else
				code = X1_E_DID_UNKNOWN;
			break;
		}
		case X1_M_GET_ALL_DETAILS:
		case X1_M_LIST_ALL_DETAILS:
			if (collect(s, admf, r)) {
				code = X1_E_GENERIC;
				desc = "out of memory";
			}
			break;
		case X1_M_PING:
		case X1_M_KEEPALIVE: break;
		default: code = X1_E_UNSUPPORTED_REQUEST;
		}
	}
	r->error = code;
	r->desc = desc;
	if (s->ops->audit)
		s->ops->audit(s->ctx, admf, q->type_name ? q->type_name : "?", code, id[0] ? id : NULL);
}

int x1_store_handle(struct x1_store *s, const char *admf, const struct x1_container *c, uint64_t now_us,
		    struct x1_out *o)
{
	struct x1_ne ne = { .now_us = now_us };

	snprintf(ne.ne, sizeof(ne.ne), "%s", s->ne);
	x1_format_begin(o);
	for (size_t i = 0; i < c->n; i++) {
		struct x1_response r;

		x1_store_handle_one(s, admf, &c->msg[i], now_us, &r);
		x1_format_response(o, &ne, &r);
		free((void *)r.tasks);
		free((void *)r.dests);
	}
	return x1_format_end(o);
}

/* ---- restore from state records ------------------------------------------------------ */

int x1_store_restore(struct x1_store *s, const struct x1_record *rec, const char **why)
{
	if (rec->kind == X1_REC_DEST) {
		if (find_dest(s, rec->admf, &rec->dest.did, NULL)) {
			*why = "a DID twice";
			return -1;
		}
		if (add_dest(s, rec->admf, &rec->dest)) {
			*why = "out of memory";
			return -1;
		}
		return 0;
	}
	if (rec->kind == X1_REC_TASK) {
		struct x1_task_entry *e;

		if (find_task(s, rec->admf, &rec->task.xid, NULL)) {
			*why = "an XID twice";
			return -1;
		}
		for (int i = 0; i < rec->task.ndids; i++)
			if (!find_dest(s, rec->admf, &rec->task.did[i], NULL)) {
				*why = "a task naming a destination that is not there";
				return -1;
			}
		if (!(e = new_task(s, rec->admf, &rec->task))) {
			*why = "out of memory";
			return -1;
		}
		e->ncrit = rec->ncrit;
		memcpy(e->crit, rec->crit, rec->ncrit * sizeof(rec->crit[0]));
		s->tasks[s->ntasks++] = e;
		use_dests(s, rec->admf, &e->t, +1);
		return 0;
	}
	*why = "record kind";
	return -1;
}
