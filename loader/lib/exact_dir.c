// SPDX-License-Identifier: BSD-2-Clause
/*
 * The exact index in BPF arrays (see exact_dir.h, include/xtap.h "Exact
 * index" and docs/classifier.md "Exact index").
 *
 * What a reader may see while the loader writes, and why it is always a
 * whole entry of its own key: an entry is written (syscall) before the pair
 * naming it is stored, and reused only a grace period after its pair was
 * replaced or cleared; a pair is one aligned 64-bit store. A key in its
 * second bucket is stored there before its first bucket's spill counts it
 * (a reader that finds no spill has not seen the add yet), and its spill is
 * taken back only after its pair is cleared. A key moves only from its
 * first bucket to its second (making room for another key): stored in the
 * second, counted, then cleared in the first, so a reader finds it in one
 * place or the other throughout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "arrwin.h"
#include "exact_dir.h"

struct xdir {
	int bfd, efd; /* the buckets and the entries, read by syscall (no RSS) */
	int sfd; /* the store program (xtap_xb_store) */
	uint32_t mask; /* buckets - 1 */
	struct idpool pool; /* entry numbers from 1 */
	uint32_t *hash; /* of each entry's key, by number: a pair keeps only a tag of it */
	int (*sync)(void *);
	void *sync_arg;
	uint32_t nkeys, nspilled, refused;
};

/* Where a key's pair is. */
struct loc {
	struct xtap_xbucket b; /* its bucket as read */
	uint32_t bucket, i, id;
};

static int bucket_read(struct xdir *xd, uint32_t b, struct xtap_xbucket *xb)
{
	return bpf_map_lookup_elem(xd->bfd, &b, xb) ? -errno : 0;
}

/* Pair i (XTAP_XB_PAIRS: the spill) of bucket b becomes v, in one store by
 * the program (exact_dir.h); *xb, the caller's copy, follows. */
static int store(struct xdir *xd, uint32_t b, struct xtap_xbucket *xb, uint32_t i, uint64_t v)
{
	struct xtap_xb_store a = { .bucket = b, .pair = i, .value = v };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &a, .ctx_size_in = sizeof(a));

	if (bpf_prog_test_run_opts(xd->sfd, &o))
		return -errno;
	if (o.retval)
		return -(int)o.retval;
	if (i < XTAP_XB_PAIRS)
		xb->e[i] = v;
	else
		xb->spill = (uint32_t)v;
	return 0;
}

static uint64_t pair_make(uint32_t h, uint32_t id, uint32_t slot)
{
	return xtap_xp_make(h, id, slot);
}

static int entry_read(struct xdir *xd, uint32_t id, struct xtap_xentry *e)
{
	return bpf_map_lookup_elem(xd->efd, &id, e) ? -errno : 0;
}

/* Key k (hash h): 0 and its place in *l (its entry in *e), -ENOENT, or
 * -errno. Its second bucket is looked at only when its first spilled, as
 * the programs do. */
static int locate(struct xdir *xd, const struct xtap_exact_key *k, uint32_t h, struct loc *l, struct xtap_xentry *e)
{
	uint32_t bs[2] = { xtap_xb_first(h, xd->mask), xtap_xb_second(h, xd->mask) };
	int err;

	for (int t = 0; t < 2; t++) {
		if ((err = bucket_read(xd, bs[t], &l->b)))
			return err;
		for (uint32_t i = 0; i < XTAP_XB_PAIRS; i++) {
			uint64_t v = l->b.e[i];

			if (xtap_xp_tagof(v) != xtap_xp_tag(h) || !xtap_xp_id(v))
				continue;
			if ((err = entry_read(xd, xtap_xp_id(v), e)))
				return err;
			if (!memcmp(&e->key, k, sizeof(*k))) {
				l->bucket = bs[t];
				l->i = i;
				l->id = xtap_xp_id(v);
				return 0;
			}
		}
		if (!l->b.spill)
			break;
	}
	return -ENOENT;
}

static int free_pair(const struct xtap_xbucket *b)
{
	for (int i = 0; i < XTAP_XB_PAIRS; i++)
		if (!b->e[i])
			return i;
	return -1;
}

/* Room in bucket `at` (full, *b) by moving one of its keys that is in its
 * first bucket there to its second: 0 and the pair freed in *freed,
 * -ENOSPC, or -errno. */
static int make_room(struct xdir *xd, uint32_t at, struct xtap_xbucket *b, int *freed)
{
	int err;

	for (int i = 0; i < XTAP_XB_PAIRS; i++) {
		uint32_t h = xd->hash[xtap_xp_id(b->e[i])], to; /* ids below pool.max: scan, chain_write */
		struct xtap_xbucket tb;
		int j;

		if (xtap_xb_first(h, xd->mask) != at)
			continue; /* in its second bucket already: it only ever moves there */
		to = xtap_xb_second(h, xd->mask);
		if ((err = bucket_read(xd, to, &tb)))
			return err;
		if ((j = free_pair(&tb)) < 0)
			continue;
		/* stored in its second, counted, then cleared here: found throughout */
		if ((err = store(xd, to, &tb, (uint32_t)j, b->e[i])) ||
		    (err = store(xd, at, b, XTAP_XB_PAIRS, b->spill + 1)) || (err = store(xd, at, b, (uint32_t)i, 0)))
			return err;
		xd->nspilled++;
		*freed = i;
		return 0;
	}
	return -ENOSPC;
}

/* A new key of hash h with entry id (first slot `slot`), into its first
 * bucket, else its second, else either after moving a key out of it. */
static int insert(struct xdir *xd, uint32_t h, uint32_t id, uint32_t slot)
{
	uint32_t f = xtap_xb_first(h, xd->mask), s = xtap_xb_second(h, xd->mask);
	struct xtap_xbucket fb, sb;
	int i, err;

	if ((err = bucket_read(xd, f, &fb)) || (err = bucket_read(xd, s, &sb)))
		return err;
	if ((i = free_pair(&fb)) < 0 && (err = make_room(xd, f, &fb, &i)) && err != -ENOSPC)
		return err;
	if (i >= 0)
		return store(xd, f, &fb, (uint32_t)i, pair_make(h, id, slot));
	if ((i = free_pair(&sb)) < 0 && (err = make_room(xd, s, &sb, &i))) {
		if (err == -ENOSPC)
			xd->refused++;
		return err;
	}
	/* stored before the first bucket's spill counts it */
	if ((err = store(xd, s, &sb, (uint32_t)i, pair_make(h, id, slot))))
		return err;
	if ((err = store(xd, f, &fb, XTAP_XB_PAIRS, fb.spill + 1))) {
		store(xd, s, &sb, (uint32_t)i, 0);
		return err;
	}
	xd->nspilled++;
	return 0;
}

/* The chain that entry e (number id) heads, into *l. */
static int chain_read(struct xdir *xd, const struct xtap_xentry *e, struct xlist *l)
{
	struct xtap_xentry c = *e;
	int err;

	l->key = e->key;
	l->rule = e->rule;
	l->n = 0;
	for (int i = 0;; i++) {
		if (c.n > XTAP_MAX_CAND || l->n + c.n > XTAP_X_MAX)
			return -EIO;
		memcpy(&l->slot[l->n], c.slot, c.n * sizeof(c.slot[0]));
		l->n += c.n;
		if (!c.next)
			return 0;
		if (i + 1 >= XTAP_X_CHAIN || c.next >= xd->pool.max)
			return -EIO;
		if ((err = entry_read(xd, c.next, &c)))
			return err;
	}
}

/* The numbers of the chain entry `id` heads, into ids: how many, or -errno. */
static int chain_ids(struct xdir *xd, uint32_t id, uint32_t *ids)
{
	struct xtap_xentry e;
	int n = 0, err;

	while (id) {
		if (n >= (int)XTAP_X_CHAIN || id >= xd->pool.max)
			return -EIO;
		ids[n++] = id;
		if ((err = entry_read(xd, id, &e)))
			return err;
		id = e.next;
	}
	return n;
}

/* l written as a new chain, last entry first (nothing names it yet): 0
 * and its head in *head, or -errno with nothing taken. */
static int chain_write(struct xdir *xd, const struct xlist *l, uint32_t *head)
{
	uint32_t ids[XTAP_X_CHAIN], nent = (l->n + XTAP_MAX_CAND - 1) / XTAP_MAX_CAND, got = 0;
	struct xtap_xentry e;
	int err = 0;

	for (; got < nent; got++) {
		if ((err = idpool_peek(&xd->pool, xd->sync, xd->sync_arg, &ids[got])))
			goto undo;
		idpool_take(&xd->pool);
	}
	for (uint32_t c = nent; c-- > 0;) {
		uint32_t from = c * XTAP_MAX_CAND, n = l->n - from < XTAP_MAX_CAND ? l->n - from : XTAP_MAX_CAND;

		memset(&e, 0, sizeof(e));
		e.key = l->key;
		e.n = n;
		memcpy(e.slot, &l->slot[from], n * sizeof(e.slot[0]));
		e.next = c + 1 < nent ? ids[c + 1] : 0;
		if (!c)
			e.rule = l->rule;
		if (bpf_map_update_elem(xd->efd, &ids[c], &e, BPF_ANY)) {
			err = -errno;
			goto undo;
		}
		xd->hash[ids[c]] = xtap_xfilter_hash(&l->key);
	}
	*head = ids[0];
	return 0;
undo:
	while (got)
		idpool_put_now(&xd->pool, ids[--got]);
	return err;
}

/* A chain nothing names any more: its entries reusable after a grace
 * period (readers may be in it). Unreadable (cannot be: entries are read
 * only here): its head alone, the rest found by the next restart's scan. */
static void chain_retire(struct xdir *xd, uint32_t head)
{
	uint32_t ids[XTAP_X_CHAIN];
	int n = chain_ids(xd, head, ids);

	if (n < 0) {
		ids[0] = head;
		n = 1;
	}
	for (int i = 0; i < n; i++)
		idpool_put_pending(&xd->pool, ids[i]);
}

/* A chain never named: its entries reusable now. */
static void chain_drop(struct xdir *xd, uint32_t head)
{
	uint32_t ids[XTAP_X_CHAIN];
	int n = chain_ids(xd, head, ids);

	for (int i = 0; i < n; i++)
		idpool_put_now(&xd->pool, ids[i]);
}

int xdir_get(struct xdir *xd, const struct xtap_exact_key *k, struct xlist *l)
{
	struct xtap_xentry e;
	struct loc at;
	int err;

	if ((err = locate(xd, k, xtap_xfilter_hash(k), &at, &e)))
		return err;
	return chain_read(xd, &e, l);
}

int xdir_set(struct xdir *xd, const struct xlist *l)
{
	uint32_t h = xtap_xfilter_hash(&l->key), id = 0;
	struct xtap_xentry old;
	struct loc at;
	int err, found;

	if (!l->n || l->n > XTAP_X_MAX)
		return -EINVAL;
	if (l->slot[0] > XTAP_XP_MASK)
		return -ERANGE; /* cannot be: -C is at most 2^20 */
	err = locate(xd, &l->key, h, &at, &old);
	if (err && err != -ENOENT)
		return err;
	found = !err;
	/* the chain first: nothing names it yet */
	if ((err = chain_write(xd, l, &id)))
		return err;
	err = found ? store(xd, at.bucket, &at.b, at.i, pair_make(h, id, l->slot[0])) : insert(xd, h, id, l->slot[0]);
	if (err) {
		chain_drop(xd, id);
		return err;
	}
	if (found)
		chain_retire(xd, at.id);
	else
		xd->nkeys++;
	return 0;
}

int xdir_del(struct xdir *xd, const struct xtap_exact_key *k)
{
	uint32_t h = xtap_xfilter_hash(k), f;
	struct xtap_xentry e;
	struct loc l;
	int err;

	if ((err = locate(xd, k, h, &l, &e)) || (err = store(xd, l.bucket, &l.b, l.i, 0)))
		return err;
	f = xtap_xb_first(h, xd->mask);
	if (l.bucket != f) { /* its first bucket's spill taken back, after the pair */
		struct xtap_xbucket fb;

		if (!bucket_read(xd, f, &fb) && fb.spill)
			store(xd, f, &fb, XTAP_XB_PAIRS, fb.spill - 1);
		xd->nspilled--;
	}
	chain_retire(xd, l.id);
	xd->nkeys--;
	return 0;
}

/* Buckets read per syscall when every bucket is read. */
#define RUN 4096u

/* Values first .. first + n - 1 of array fd (values of vsize bytes) into
 * run (keys: room for n). */
static int run_read(int fd, uint32_t first, uint32_t n, void *run, size_t vsize, uint32_t *keys)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t prev = first - 1, next, got = n;

	/* the batch starts after in_batch: the value before the first */
	if ((bpf_map_lookup_batch(fd, first ? &prev : NULL, &next, keys, run, &got, &opts) && errno != ENOENT) ||
	    got != n || keys[0] != first) {
		for (uint32_t j = 0; j < n; j++) { /* not the run asked for: one at a time */
			uint32_t k = first + j;

			if (bpf_map_lookup_elem(fd, &k, (char *)run + j * vsize))
				return -errno;
		}
	}
	return 0;
}

int xdir_foreach(struct xdir *xd, int (*cb)(const struct xlist *l, void *arg), void *arg)
{
	struct xtap_xbucket *run = malloc(RUN * sizeof(*run));
	uint32_t *keys = malloc(RUN * sizeof(*keys)), nb = xd->mask + 1;
	struct xlist *l = malloc(sizeof(*l));
	struct xtap_xentry e;
	int err = -ENOMEM;

	if (!run || !keys || !l)
		goto out;
	for (uint32_t first = 0; first < nb; first += RUN) {
		uint32_t n = nb - first < RUN ? nb - first : RUN;

		if ((err = run_read(xd->bfd, first, n, run, sizeof(*run), keys)))
			goto out;
		/* the pairs as read: cb changes only its own key's */
		for (uint32_t j = 0; j < n; j++)
			for (int i = 0; i < XTAP_XB_PAIRS; i++) {
				uint64_t v = run[j].e[i];

				if (v &&
				    ((err = entry_read(xd, xtap_xp_id(v), &e)) || (err = chain_read(xd, &e, l)) ||
				     (err = cb(l, arg))))
					goto out;
			}
	}
	err = 0;
out:
	free(run);
	free(keys);
	free(l);
	return err;
}

void xdir_synced(struct xdir *xd)
{
	idpool_synced(&xd->pool);
}

void xdir_usage(const struct xdir *xd, struct xdir_usage *u)
{
	*u = (struct xdir_usage){ xd->nkeys, xd->pool.max - 1, xd->mask + 1, xd->nspilled, xd->refused };
}

/* A running datapath's pairs: every entry they name is in use, with its
 * chain. A pair naming an entry another pair names (a move interrupted by
 * a crash: the key in both its buckets) is cleared where it is scanned
 * second, one naming no entry, a chain out of range or in use, or in
 * neither of its buckets is cleared (xtap_cls_sweep puts adopted criteria
 * no entry holds back), and every spill set to what the pairs left say. */
static int scan(struct xdir *xd)
{
	uint32_t nb = xd->mask + 1, emax = xd->pool.max, top = 0, nused = 0;
	struct xtap_xbucket *run = malloc(RUN * sizeof(*run));
	struct xtap_xentry *erun = malloc(RUN * sizeof(*erun));
	uint32_t *keys = malloc(RUN * sizeof(*keys)), *spill = calloc(nb, sizeof(uint32_t));
	uint32_t *had = calloc(nb, sizeof(uint32_t)), *next = calloc(emax, sizeof(uint32_t));
	uint32_t *slot0 = calloc(emax, sizeof(uint32_t));
	uint8_t *used = calloc(emax, 1);
	int err = -ENOMEM;

	if (!run || !erun || !keys || !spill || !had || !next || !slot0 || !used)
		goto out;
	/* every entry's link, key hash and first slot first: a chain's entries
	 * are in use with its head, and its pair carries the head's tag and slot */
	for (uint32_t first = 0; first < emax; first += RUN) {
		uint32_t n = emax - first < RUN ? emax - first : RUN;

		if ((err = run_read(xd->efd, first, n, erun, sizeof(*erun), keys)))
			goto out;
		for (uint32_t j = 0; j < n; j++) {
			next[first + j] = erun[j].next;
			xd->hash[first + j] = xtap_xfilter_hash(&erun[j].key);
			slot0[first + j] = erun[j].slot[0];
		}
	}
	for (uint32_t first = 0; first < nb; first += RUN) {
		uint32_t n = nb - first < RUN ? nb - first : RUN;

		if ((err = run_read(xd->bfd, first, n, run, sizeof(*run), keys)))
			goto out;
		for (uint32_t j = 0; j < n; j++) {
			uint32_t at = first + j;

			had[at] = run[j].spill;
			for (int i = 0; i < XTAP_XB_PAIRS; i++) {
				uint64_t v = run[j].e[i];
				uint32_t id = xtap_xp_id(v), h, f, c = id, len = 0;

				if (!v)
					continue;
				/* its chain: numbers in range, none in use, at most XTAP_X_CHAIN */
				while (c && c < emax && !used[c] && len < XTAP_X_CHAIN) {
					used[c] = 1;
					len++;
					c = next[c];
				}
				h = xd->hash[c ? 0 : id]; /* id in range when its walk ended at 0 */
				f = xtap_xb_first(h, xd->mask);
				if (!id || c || (f != at && xtap_xb_second(h, xd->mask) != at)) {
					for (c = id; len--; c = next[c]) /* what it marked, unmarked */
						used[c] = 0;
					if ((err = store(xd, at, &run[j], (uint32_t)i, 0)))
						goto out;
					continue;
				}
				/* a tag or slot that is not its entry's (written by no
				 * loader): the pair rewritten from the entry */
				if (v != pair_make(h, id, slot0[id]) &&
				    (err = store(xd, at, &run[j], (uint32_t)i, pair_make(h, id, slot0[id]))))
					goto out;
				for (c = id; c; c = next[c])
					top = c > top ? c : top;
				nused += len;
				xd->nkeys++;
				if (f != at) {
					spill[f]++;
					xd->nspilled++;
				}
			}
		}
	}
	/* spills as the pairs say (a crash can leave one short or over) */
	for (uint32_t b = 0; b < nb; b++)
		if (had[b] != spill[b]) {
			struct xtap_xbucket xb;

			if ((err = bucket_read(xd, b, &xb)) || (err = store(xd, b, &xb, XTAP_XB_PAIRS, spill[b])))
				goto out;
		}
	/* free numbers below the highest in use: after the first grace period
	 * (the loader that freed them may have stopped just before one) */
	xd->pool.next = top + 1 > xd->pool.first ? top + 1 : xd->pool.first;
	xd->pool.used = nused;
	for (uint32_t id = xd->pool.next; id-- > xd->pool.first;)
		if (!used[id])
			xd->pool.pending[xd->pool.npending++] = id;
	err = 0;
out:
	free(run);
	free(erun);
	free(keys);
	free(spill);
	free(had);
	free(next);
	free(slot0);
	free(used);
	return err;
}

struct xdir *xdir_new(const struct xdir_maps *m, int (*sync)(void *), void *arg)
{
	struct xdir *xd = calloc(1, sizeof(*xd));
	struct bpf_map_info bi = { 0 }, ei = { 0 };
	uint32_t bl = sizeof(bi), el = sizeof(ei);

	if (!xd)
		return NULL;
	xd->sync = sync;
	xd->sync_arg = arg;
	xd->bfd = xd->efd = xd->sfd = -1;
	if (bpf_obj_get_info_by_fd(m->buckets, &bi, &bl) || bi.type != BPF_MAP_TYPE_ARRAY ||
	    bi.value_size != sizeof(struct xtap_xbucket) || bi.max_entries < 2 ||
	    (bi.max_entries & (bi.max_entries - 1)))
		goto fail;
	if (bpf_obj_get_info_by_fd(m->entries, &ei, &el) || ei.type != BPF_MAP_TYPE_ARRAY ||
	    ei.value_size != sizeof(struct xtap_xentry) || ei.max_entries < 2 || ei.max_entries > XTAP_XP_MASK + 1u)
		goto fail; /* entry numbers up to XTAP_XP_MASK: a pair's 21 bits */
	xd->mask = bi.max_entries - 1;
	if (!(xd->hash = calloc(ei.max_entries, sizeof(uint32_t))) || (xd->bfd = dup(m->buckets)) < 0 ||
	    (xd->efd = dup(m->entries)) < 0 || (xd->sfd = dup(m->store)) < 0 ||
	    idpool_init(&xd->pool, 1, ei.max_entries) || scan(xd))
		goto fail;
	return xd;
fail:
	xdir_free(xd);
	return NULL;
}

void xdir_free(struct xdir *xd)
{
	if (!xd)
		return;
	if (xd->bfd >= 0)
		close(xd->bfd);
	if (xd->efd >= 0)
		close(xd->efd);
	if (xd->sfd >= 0)
		close(xd->sfd);
	idpool_free(&xd->pool);
	free(xd->hash);
	free(xd);
}
