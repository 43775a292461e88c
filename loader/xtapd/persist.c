// SPDX-License-Identifier: BSD-2-Clause
/*
 * xtapd's persistence (persist.h, docs/state-and-audit.md). Log lines name
 * criteria by id only.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"
#include "persist.h"

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct xtap_audit *audit_of(const struct xtap_persist *p)
{
	return p->audit ? *p->audit : NULL;
}

void xtap_persist_init(struct xtap_persist *p, const char *path, struct dtcp_server *srv, struct xtap_backend *be,
		       struct xtap_cls *cls, struct xtap_audit **audit)
{
	memset(p, 0, sizeof(*p));
	p->path = path;
	p->srv = srv;
	p->be = be;
	p->cls = cls;
	p->audit = audit;
	p->journal.fd = -1;
}

/* ---- compaction beside the service ----
 *
 * When the journal has outgrown the snapshot, a child process writes the
 * snapshot of the next generation G+1 into path.tmp from a copy-on-write
 * image of the table (the service stops only for the fork), and from the
 * fork on every transaction goes to path.journal.next (G+1) instead of the
 * G journal, which is complete for snapshot G up to the fork. When the
 * child is done, the daemon renames path.tmp over path and
 * path.journal.next over path.journal. A crash at any point leaves snapshot
 * G with its journal and the .next after it, or snapshot G+1 with its
 * journal (as .next before the second rename): xtap_state_load replays
 * exactly these. */

#define COMPACT_RETRY_MS 10000 /* after a failed compaction: not one per burst */

/* Stops the compaction's writer, if there is one. The journals stay: the
 * .next one goes on after the G one until a snapshot replaces both. */
static void compaction_drop(struct xtap_persist *p, bool kill_it)
{
	if (p->child > 0) {
		if (kill_it)
			kill(p->child, SIGKILL);
		waitpid(p->child, NULL, __WALL);
		p->child = 0;
	}
}

/* A child that sends no signal when it ends: xtapd's SIGCHLD means that its
 * SSH worker died. Otherwise fork(): the child gets a copy-on-write image. */
static pid_t spawn_quiet(void)
{
	return (pid_t)syscall(SYS_clone, 0ul /* no CLONE_* flag, exit signal 0 */, NULL, NULL, NULL, 0ul);
}

static void undo_clear(struct xtap_persist *p)
{
	for (size_t i = 0; i < p->nundo; i++)
		free(p->undo[i].before);
	p->nundo = p->undo_noted = 0;
	p->undo_seq = 0;
	p->undo_lost = false;
}

/* ---- X1 records (docs/x1.md "Persistence: state records") ----
 *
 * x1disk is what the state file holds. A commit compares the store with it
 * (each record's line) and writes the records that differ and those gone
 * in the same journal transaction as the criteria they name, so a task and
 * its criteria are on disk together or not at all. */

static const uint8_t *x1_key(const struct x1_record *r)
{
	return r->kind == X1_REC_DEST ? r->dest.did.b : r->task.xid.b;
}

static int cmp_x1rec(const void *a, const void *b)
{
	const struct x1_record *x = &((const struct xtap_x1rec *)a)->r, *y = &((const struct xtap_x1rec *)b)->r;
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1; /* X1_REC_DEST first: tasks name them */
	if ((c = strcmp(x->admf, y->admf)))
		return c;
	return memcmp(x1_key(x), x1_key(y), 16);
}

static void x1set_free(struct xtap_x1set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].line);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* r (and its line, when lines) appended to s. */
static int x1set_add(struct xtap_x1set *s, size_t *cap, const struct x1_record *r, bool lines)
{
	static char buf[X1_RECORD_MAX];
	char *line = NULL;

	if (s->n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		void *q = realloc(s->v, c * sizeof(*s->v));

		if (!q)
			return -1;
		s->v = q;
		*cap = c;
	}
	if (lines && (!xtap_state_x1_line(r, buf, sizeof(buf)) || !(line = strdup(buf))))
		return -1;
	s->v[s->n].r = *r;
	s->v[s->n++].line = line;
	return 0;
}

/* The store's records (admf's only, unless NULL), sorted. */
static int x1set_of_store(const struct x1_store *st, const char *admf, struct xtap_x1set *out, bool lines)
{
	struct x1_record *r = malloc(sizeof(*r));
	size_t cap = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!r)
		return -1;
	for (size_t i = 0; i < st->ndests; i++) {
		const struct x1_dest_entry *e = st->dests[i];

		if (admf && strcmp(e->admf, admf))
			continue;
		memset(r, 0, sizeof(*r));
		r->kind = X1_REC_DEST;
		memcpy(r->admf, e->admf, sizeof(r->admf));
		r->dest = e->d;
		if (x1set_add(out, &cap, r, lines))
			goto out;
	}
	for (size_t i = 0; i < st->ntasks; i++) {
		const struct x1_task_entry *e = st->tasks[i];

		if (admf && strcmp(e->admf, admf))
			continue;
		memset(r, 0, sizeof(*r));
		r->kind = X1_REC_TASK;
		memcpy(r->admf, e->admf, sizeof(r->admf));
		r->task = e->t;
		r->ncrit = e->ncrit;
		memcpy(r->crit, e->crit, e->ncrit * sizeof(e->crit[0]));
		if (x1set_add(out, &cap, r, lines))
			goto out;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_x1rec);
	rc = 0;
out:
	free(r);
	if (rc)
		x1set_free(out);
	return rc;
}

/* The records of s, contiguous, as state.c takes them. */
static int x1set_records(const struct xtap_x1set *s, struct x1_record **out)
{
	*out = NULL;
	if (!s->n)
		return 0;
	if (!(*out = malloc(s->n * sizeof(**out))))
		return -1;
	for (size_t i = 0; i < s->n; i++)
		(*out)[i] = s->v[i].r;
	return 0;
}

/* What differs between the disk's records and now's (both sorted): the
 * records written anew (changed or new) and those gone. */
static int x1_diff(const struct xtap_x1set *disk, const struct xtap_x1set *now, struct x1_record **up, size_t *nup,
		   struct x1_record **gone, size_t *ngone)
{
	size_t i = 0, j = 0;

	*nup = *ngone = 0;
	*up = malloc((now->n ? now->n : 1) * sizeof(**up));
	*gone = malloc((disk->n ? disk->n : 1) * sizeof(**gone));
	if (!*up || !*gone)
		return -1;
	while (i < disk->n || j < now->n) {
		int c = i == disk->n ? 1 : j == now->n ? -1 : cmp_x1rec(&disk->v[i], &now->v[j]);

		if (c < 0) {
			(*gone)[(*ngone)++] = disk->v[i++].r;
		} else if (c > 0) {
			(*up)[(*nup)++] = now->v[j++].r;
		} else {
			if (strcmp(disk->v[i].line, now->v[j].line))
				(*up)[(*nup)++] = now->v[j].r;
			i++;
			j++;
		}
	}
	return 0;
}

int xtap_persist_x1_attach(struct xtap_persist *p, struct x1_store *s)
{
	const char *why = NULL;

	p->x1 = s;
	/* sorted: the destinations before the tasks that name them */
	for (size_t i = 0; i < p->x1disk.n; i++)
		if (x1_store_restore(s, &p->x1disk.v[i].r, &why)) {
			log_warnx("state: X1 records: %s", why ? why : "refused");
			return -1;
		}
	if (p->x1disk.n)
		log_info("state: %zu X1 tasks and destinations restored", p->x1disk.n);
	return 0;
}

void xtap_persist_x1_changed(struct xtap_persist *p)
{
	p->x1_dirty = true;
}

static void x1_base(struct xtap_persist *p)
{
	x1set_free(&p->x1base);
	if (p->x1 && x1set_of_store(p->x1, p->x1_admf, &p->x1base, false))
		p->undo_lost = true; /* said by the undo */
}

void xtap_persist_x1_begin(struct xtap_persist *p, const char *admf)
{
	xtap_persist_burst_begin(p);
	p->x1_burst = true;
	snprintf(p->x1_admf, sizeof(p->x1_admf), "%s", admf);
	x1_base(p);
}

void xtap_persist_x1_settled(struct xtap_persist *p)
{
	p->undo_noted = p->nundo; /* every change so far: durable or undone */
	xtap_persist_settled(p);
	x1_base(p);
}

void xtap_persist_x1_end(struct xtap_persist *p)
{
	xtap_persist_burst_end(p);
	p->x1_burst = false;
	x1set_free(&p->x1base);
}

/* The burst's ADMF's tasks and destinations as they were before it (its
 * criteria are put back by the DTCP undo, with their ids). */
static void x1_undo(struct xtap_persist *p)
{
	struct x1_store *s = p->x1;
	const char *why = NULL;
	size_t k = 0;

	for (size_t i = 0; i < s->ntasks; i++)
		if (strcmp(s->tasks[i]->admf, p->x1_admf))
			s->tasks[k++] = s->tasks[i];
		else
			free(s->tasks[i]);
	s->ntasks = k;
	k = 0;
	for (size_t i = 0; i < s->ndests; i++)
		if (strcmp(s->dests[i]->admf, p->x1_admf))
			s->dests[k++] = s->dests[i];
		else
			free(s->dests[i]);
	s->ndests = k;
	for (size_t i = 0; i < p->x1base.n; i++)
		if (x1_store_restore(s, &p->x1base.v[i].r, &why))
			log_warnx("undo: an X1 record could not be put back: %s", why ? why : "refused");
	p->x1_dirty = true;
}

void xtap_persist_free(struct xtap_persist *p)
{
	compaction_drop(p, true);
	undo_clear(p);
	free(p->undo);
	free(p->acks);
	free(p->changed);
	free(p->seq_saved);
	x1set_free(&p->x1disk);
	x1set_free(&p->x1base);
	if (p->journal.fd >= 0)
		close(p->journal.fd);
	p->journal.fd = -1;
}

/* ---- what changed ---- */

static void note_changed(struct xtap_persist *p, uint32_t id)
{
	if (p->nchanged == p->capchanged) {
		size_t cap = p->capchanged ? p->capchanged * 2 : 1024;
		uint32_t *c = realloc(p->changed, cap * sizeof(*c));

		if (!c) {
			p->changed_unknown = true; /* the snapshot needs no list */
			return;
		}
		p->changed = c;
		p->capchanged = cap;
	}
	p->changed[p->nchanged++] = id;
}

bool xtap_persist_note_request(struct xtap_persist *p, const struct dtcp_request *r, int code, const uint32_t *ids,
			       size_t n_ids)
{
	/* the undo records so far belong to answered requests: a commit in
	 * the middle of the burst makes them durable (xtap_persist_settled) */
	p->undo_noted = p->nundo;
	/* the library names every criterion an answered ADD, DELETE or REFRESH
	 * changed (it takes the memory for the list before changing
	 * anything): none is a request that selected nothing, and changed
	 * nothing but perhaps a Seq */
	if (code != DTCP_OK || !n_ids ||
	    (r->method != DTCP_M_ADD && r->method != DTCP_M_DELETE && r->method != DTCP_M_REFRESH))
		return false;
	for (size_t i = 0; i < n_ids; i++)
		note_changed(p, ids[i]);
	return true;
}

void xtap_persist_note_expire(struct xtap_persist *p, uint32_t id)
{
	note_changed(p, id);
}

void xtap_persist_note_change(struct xtap_persist *p, uint32_t id)
{
	note_changed(p, id);
	p->x1_dirty = true; /* a task's criteria: its record changes with them */
}

void xtap_persist_before_change(struct xtap_persist *p, uint32_t id, const struct dtcp_entry *e)
{
	struct xtap_persist_undo *u;

	/* expiry runs between bursts: it is not undone (an expired criterion
	 * not yet on disk only comes back to expire again after a crash) */
	if (!p->burst)
		return;
	if (p->nundo == p->capundo) {
		size_t cap = p->capundo ? p->capundo * 2 : 256;
		void *n = realloc(p->undo, cap * sizeof(*p->undo));

		if (!n) {
			p->undo_lost = true;
			return;
		}
		p->undo = n;
		p->capundo = cap;
	}
	u = &p->undo[p->nundo];
	u->id = id;
	u->order = p->undo_seq++; /* the first record of an id is its state before the burst */
	u->before = NULL;
	if (e && !(u->before = dtcp_entry_dup(e))) {
		p->undo_lost = true;
		return;
	}
	p->nundo++;
}

size_t xtap_persist_ack(struct xtap_persist *p, const struct xtap_persist_ack *a)
{
	if (p->nacks == p->capacks) {
		size_t cap = p->capacks ? p->capacks * 2 : 256;
		void *n = realloc(p->acks, cap * sizeof(*p->acks));

		if (!n)
			return 0;
		p->acks = n;
		p->capacks = cap;
	}
	p->acks[p->nacks++] = *a;
	return p->nacks;
}

static bool seq_changed(const struct xtap_persist *p)
{
	const struct dtcp_server *s = p->srv;

	if (p->seq_unknown || s->nseq != p->nseq_saved)
		return true;
	return s->nseq && memcmp(s->seq, p->seq_saved, s->nseq * sizeof(*s->seq));
}

static void seq_remember(struct xtap_persist *p)
{
	const struct dtcp_server *s = p->srv;
	struct dtcp_seq_state *c = NULL;

	if (s->nseq && !(c = malloc(s->nseq * sizeof(*c)))) {
		p->seq_unknown = true;
		return;
	}
	if (s->nseq)
		memcpy(c, s->seq, s->nseq * sizeof(*c));
	free(p->seq_saved);
	p->seq_saved = c;
	p->nseq_saved = s->nseq;
	p->seq_unknown = false;
}

bool xtap_persist_pending(const struct xtap_persist *p)
{
	return p->nchanged || p->changed_unknown || p->x1_dirty || seq_changed(p);
}

/* ---- writing ---- */

/* The datapath records of the criteria in ids (sorted; all when ids is
 * NULL): every rule of each, in the backend's rule order. */
static int collect_dp(struct xtap_persist *p, const uint32_t *ids, size_t n, struct xtap_state_extra *x)
{
	size_t cap = 0, count = ids ? n : p->srv->n;

	for (size_t i = 0; i < count; i++) {
		uint32_t id = ids ? ids[i] : p->srv->tab[i]->c.id;
		const uint32_t *slots;
		uint32_t ns;

		if ((ids && !dtcp_server_find(p->srv, id)) || xtap_backend_rules(p->be, id, &slots, &ns))
			continue;
		if (ns > XTAP_STATE_DP_MAX)
			continue; /* cannot be: the backend has the same bound; installed anew after a restart */
		if (x->n + ns > cap) {
			size_t c = cap ? cap : 256;
			void *q;

			while (c < x->n + ns)
				c *= 2;
			if (!(q = realloc(x->dp, c * sizeof(*x->dp))))
				return -1;
			x->dp = q;
			cap = c;
		}
		for (uint32_t k = 0; k < ns; k++)
			x->dp[x->n++] = (struct xtap_state_dp){ id, slots[k], xtap_cls_uid(p->cls, slots[k]) };
	}
	return 0;
}

static void set_fault(struct xtap_persist *p, const char *what, int err)
{
	size_t n = strlen(p->fault);

	snprintf(p->fault + n, sizeof(p->fault) - n, "%s%s: %s", n ? ", " : "", what, strerror(err));
}

int xtap_persist_snapshot(struct xtap_persist *p)
{
	struct xtap_state_extra x = { .generation = p->journal.generation + 1 };
	struct stat st;
	int err;

	struct xtap_x1set now = { 0 };

	compaction_drop(p, true); /* this one replaces it */
	p->snapshots++;
	/* the X1 records as the store has them now (without a store: as the
	 * file had them) */
	if (collect_dp(p, NULL, 0, &x) || (p->x1 && x1set_of_store(p->x1, NULL, &now, true)) ||
	    x1set_records(p->x1 ? &now : &p->x1disk, &x.x1)) {
		free(x.dp);
		x1set_free(&now);
		set_fault(p, "snapshot", ENOMEM);
		errno = ENOMEM;
		return -1;
	}
	x.nx1 = p->x1 ? now.n : p->x1disk.n;
	err = xtap_state_save(p->path, p->srv, &x);
	free(x.dp);
	free(x.x1);
	if (err) {
		x1set_free(&now);
		err = errno;
		log_warnx("cannot save the state: %s", x.error);
		set_fault(p, "snapshot", err);
		if (x.renamed) {
			/* in place but perhaps not durable (the directory's fsync):
			 * neither the old journal nor a new one may be appended to,
			 * so the next commit writes a snapshot again */
			if (p->journal.fd >= 0)
				close(p->journal.fd);
			p->journal = (struct xtap_journal){ .fd = -1, .generation = x.generation };
		}
		errno = err;
		return -1;
	}
	p->snapshot_bytes = stat(p->path, &st) ? 0 : (size_t)st.st_size;
	p->last_save_ms = wall_ms();
	p->nchanged = 0;
	p->changed_unknown = false;
	if (p->x1) {
		x1set_free(&p->x1disk);
		p->x1disk = now;
		p->x1_dirty = false;
	}
	seq_remember(p);
	if (xtap_journal_reset(&p->journal, p->path, x.generation))
		log_warn("cannot remove the old journal of %s (a load ignores it)", p->path);
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void compaction_start(struct xtap_persist *p)
{
	struct xtap_state_extra x = { .generation = p->journal.generation + 1 };
	uint64_t t0 = mono_ms();
	pid_t pid;

	/* the X1 records: the store's are the disk's (a commit just ended) */
	if (collect_dp(p, NULL, 0, &x) || x1set_records(&p->x1disk, &x.x1)) {
		free(x.dp);
		p->compact_retry_ms = wall_ms() + COMPACT_RETRY_MS;
		return;
	}
	x.nx1 = p->x1disk.n;
	fflush(NULL); /* nothing buffered is written twice */
	pid = spawn_quiet();
	if (pid == 0) {
		int rc;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* it writes path.tmp only: none of xtapd's descriptors, above all
		 * not the control socket's listener (after a kill -9 of xtapd a
		 * writer still running answered the next start's probe, which
		 * then refused to start: "another xtapd is running") */
		if (close_range(3, ~0u, 0))
			_exit(1);
		setpriority(PRIO_PROCESS, 0, 10); /* the service first */
		rc = xtap_state_write_tmp(p->path, p->srv, &x);
		_exit(rc ? 1 : 0);
	}
	free(x.dp);
	free(x.x1);
	if (pid < 0) {
		log_warn("compaction: cannot start its writer; writing the snapshot here");
		if (xtap_persist_snapshot(p))
			log_warnx("compaction failed: the journal goes on (%s)", p->fault);
		p->fault[0] = 0;
		return;
	}
	p->child = pid;
	p->child_n = p->srv->n;
	p->child_start_ms = mono_ms();
	p->fork_ms = p->child_start_ms - t0;
	/* the G journal is complete up to the fork: what follows goes to .next */
	if (p->journal.fd >= 0)
		close(p->journal.fd);
	p->journal = (struct xtap_journal){ .fd = -1, .generation = x.generation, .fresh = true, .next = true };
}

void xtap_persist_poll(struct xtap_persist *p)
{
	struct xtap_state_extra x = { 0 };
	struct stat st;
	int status = 0;
	pid_t r;

	if (p->child <= 0)
		return;
	r = waitpid(p->child, &status, WNOHANG | __WALL);
	if (r == 0)
		return;
	p->child = 0;
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		log_warnx("compaction: the snapshot writer failed; writing the snapshot here");
		goto in_place;
	}
	if (xtap_state_install(p->path, &x)) {
		log_warnx("compaction: %s", x.error);
		if (x.renamed) {
			/* G+1 in place, perhaps not durable: no more appends to
			 * .next (a crash now replays it after either snapshot),
			 * and the next commit writes a snapshot here */
			if (p->journal.fd >= 0)
				close(p->journal.fd);
			p->journal = (struct xtap_journal){ .fd = -1, .generation = p->journal.generation };
			p->changed_unknown = true;
			return;
		}
		goto in_place;
	}
	/* snapshot G+1 is in place: its journal becomes the journal */
	if (xtap_journal_promote(&p->journal, p->path))
		log_warn("compaction: %s.journal.next could not become the journal (a load finds it there)", p->path);
	p->snapshot_bytes = stat(p->path, &st) ? 0 : (size_t)st.st_size;
	p->snapshots++;
	log_info("compaction: a snapshot of %zu criteria written beside the service in %" PRIu64
		 " ms (requests held %" PRIu64 " ms for the fork)",
		 p->child_n, mono_ms() - p->child_start_ms, p->fork_ms);
	return;

in_place:
	/* .next goes on after the G journal: a snapshot here replaces both
	 * (if it fails too, both stay and a load replays both) */
	if (xtap_persist_snapshot(p))
		log_warnx("snapshot failed: the journal goes on (%s)", p->fault);
	p->fault[0] = 0;
	p->compact_retry_ms = wall_ms() + COMPACT_RETRY_MS;
}

/* One journal transaction for what changed; a snapshot instead when the
 * changes are not known one by one, the journal cannot be used, or it has
 * outgrown the snapshot (compaction: rewriting the snapshot costs its
 * size, so doing it once the journal is as large keeps the cost per change
 * constant). */
static int commit(struct xtap_persist *p)
{
	struct xtap_state_extra x = { .generation = p->journal.generation };
	struct xtap_x1set now = { 0 };
	struct x1_record *up = NULL, *gone = NULL;
	size_t n = 0;
	int err;

	/* no journal continues the last snapshot (none yet, or one that could
	 * not be reopened): a snapshot is the way, not a failure */
	if (p->changed_unknown || p->journal.broken || (p->journal.fd < 0 && !p->journal.fresh))
		return xtap_persist_snapshot(p);
	qsort(p->changed, p->nchanged, sizeof(*p->changed), cmp_id);
	for (size_t i = 0; i < p->nchanged; i++)
		if (!n || p->changed[i] != p->changed[n - 1])
			p->changed[n++] = p->changed[i];
	p->nchanged = n;
	if (p->x1 && p->x1_dirty &&
	    (x1set_of_store(p->x1, NULL, &now, true) || x1_diff(&p->x1disk, &now, &up, &x.nx1, &gone, &x.nx1_gone))) {
		free(up);
		free(gone);
		x1set_free(&now);
		return xtap_persist_snapshot(p);
	}
	x.x1 = up;
	x.x1_gone = gone;
	if (!p->nchanged && !x.nx1 && !x.nx1_gone && !seq_changed(p)) {
		/* the X1 store was touched but holds what the disk has */
		free(up);
		free(gone);
		x1set_free(&now);
		p->x1_dirty = false;
		return 0;
	}
	if (collect_dp(p, p->changed, n, &x)) {
		free(x.dp);
		free(up);
		free(gone);
		x1set_free(&now);
		return xtap_persist_snapshot(p);
	}
	err = xtap_journal_append(&p->journal, p->path, p->srv, &x, p->changed, p->nchanged);
	free(up);
	free(gone);
	if (err) {
		err = errno;
		free(x.dp);
		x1set_free(&now);
		log_warnx("cannot append to the state journal: %s; writing a snapshot", x.error);
		set_fault(p, "journal", err);
		return xtap_persist_snapshot(p);
	}
	free(x.dp);
	p->nchanged = 0;
	if (p->x1 && p->x1_dirty) {
		x1set_free(&p->x1disk);
		p->x1disk = now;
		p->x1_dirty = false;
	}
	seq_remember(p);
	if (!p->child && p->journal.size > p->snapshot_bytes && wall_ms() >= p->compact_retry_ms) {
		if (!p->journal.next) {
			compaction_start(p);
		} else if (xtap_persist_snapshot(p)) {
			/* an earlier compaction failed and left .next going on
			 * after the G journal: only a snapshot here ends that */
			log_warnx("snapshot failed: the journal goes on (%s)", p->fault);
			p->fault[0] = 0;
			p->compact_retry_ms = wall_ms() + COMPACT_RETRY_MS;
		}
	}
	return 0;
}

static void refusing(struct xtap_persist *p)
{
	char detail[200];

	if (p->burst)
		p->failed = true;
	if (!p->refusing) {
		p->refusing = true;
		snprintf(detail, sizeof(detail), "refusing changes: state not saved (%s)", p->fault);
		log_warnx("%s", detail);
		xtap_audit_event(audit_of(p), wall_ms(), XTAP_EV_STATE_ERROR, detail);
	}
}

void xtap_persist_fail(struct xtap_persist *p, const char *what, int err)
{
	p->fault[0] = 0;
	set_fault(p, what, err);
	refusing(p);
}

int xtap_persist_commit(struct xtap_persist *p)
{
	xtap_persist_poll(p);
	if (!xtap_persist_pending(p))
		return 0;
	p->fault[0] = 0;
	p->commits++;
	if (commit(p)) {
		refusing(p);
		return -1;
	}
	p->saves++;
	p->last_save_ms = wall_ms();
	p->fault[0] = 0;
	if (p->refusing) {
		p->refusing = false;
		log_info("the state file is written again: accepting changes");
		xtap_audit_event(audit_of(p), wall_ms(), XTAP_EV_STATE_ERROR, "state saved again: accepting changes");
	}
	return 0;
}

int xtap_persist_start(struct xtap_persist *p)
{
	/* a failed snapshot is tried once more through commit, which audits
	 * the refusal and leaves what is pending for the main loop's retries */
	if (p->journal.fd < 0 && !p->journal.fresh && !xtap_persist_snapshot(p))
		return 0;
	return xtap_persist_commit(p);
}

int xtap_persist_stop(struct xtap_persist *p)
{
	int rc = 0;

	p->compact_retry_ms = UINT64_MAX; /* no writer is started now */
	if (!p->failed && xtap_persist_pending(p))
		rc = xtap_persist_commit(p);
	compaction_drop(p, true);
	return rc;
}

/* ---- undo ---- */

static int cmp_undo(const void *a, const void *b)
{
	const struct xtap_persist_undo *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

size_t xtap_persist_undo(struct xtap_persist *p)
{
	struct dtcp_criterion *c = malloc(sizeof(*c)); /* about 15 KiB */
	size_t put_back = 0;

	XTAP_CRASH(undo_before);
	if (p->undo_lost)
		log_warnx("undo: no memory to keep every change of the burst: memory and disk may differ "
			  "until the next snapshot");
	/* the first record of each id is its state before the burst */
	qsort(p->undo, p->nundo, sizeof(*p->undo), cmp_undo);
	for (size_t i = 0; i < p->nundo; i++) {
		struct xtap_persist_undo *u = &p->undo[i];
		struct dtcp_entry *now;

		if (i && u->id == p->undo[i - 1].id)
			continue;
		now = (struct dtcp_entry *)dtcp_server_find(p->srv, u->id);
		if (!u->before) {
			/* added in this burst: it goes */
			if (now) {
				if (p->srv->be->remove(p->srv->be_ctx, u->id))
					log_warnx("undo: criterion %" PRIu32 " stays on the datapath", u->id);
				free(dtcp_server_take(p->srv, u->id));
			}
		} else if (now) {
			/* refreshed: its timeouts and counts as before, the rules unchanged */
			free(dtcp_server_take(p->srv, u->id));
			if (dtcp_server_restore(p->srv, u->before) == 0)
				u->before = NULL;
		} else {
			/* deleted: back in the table and on the datapath. Its removal
			 * not yet applied (write-ahead, backend.h): its rules never
			 * left and keep their counters; otherwise new rules count
			 * from zero, and so do the bases */
			if (!xtap_backend_removing(p->be, u->id))
				u->before->base[DTCP_T_PACKETS] = u->before->base[DTCP_T_BYTES] = 0;
			if (!c || dtcp_server_restore(p->srv, u->before)) {
				log_warnx("undo: no memory to put criterion %" PRIu32 " back", u->id);
				continue;
			}
			dtcp_entry_criterion(u->before, c);
			u->before = NULL;
			if (xtap_dtcp_backend.install(p->be, c))
				log_warnx("undo: criterion %" PRIu32 " could not be installed again", u->id);
			put_back++;
		}
	}
	free(c);
	if (p->x1_burst && p->x1)
		x1_undo(p);
	xtap_backend_settle(p->be);
	undo_clear(p);
	XTAP_CRASH(undo_after);
	return put_back;
}

size_t xtap_persist_refusal(struct xtap_persist *p, size_t k, const struct dtcp_source_policy *pol, uint64_t now_ms,
			    char *out, size_t cap)
{
	struct xtap_persist_ack *a = &p->acks[k - 1];
	struct xtap_audit *au = audit_of(p);
	char reason[sizeof(p->fault) + 64], why[sizeof(reason)];
	struct dtcp_reply rep = { .version = a->version,
				  .code = DTCP_INTERNAL,
				  .has_seq = a->has_seq,
				  .seq = a->seq,
				  .now_ms = now_ms,
				  .reason = reason };
	struct xtap_audit_mark tail = xtap_audit_mark(au);

	/* one printable line: strerror texts are */
	snprintf(reason, sizeof(reason), "Server Internal Error: state not saved (%s)", p->fault);
	snprintf(why, sizeof(why), "state not saved, the change is undone: %s", p->fault);
	xtap_audit_request(au, a->time_ms, a->csource.s, NULL, dtcp_method_name(a->method), a->has_seq ? &a->seq : NULL,
			   DTCP_INTERNAL, NULL, 0, why);
	/* in place of its 200 line; if that line is already written, the 500
	 * line follows it */
	xtap_audit_held_replace(au, a->from, a->to, tail);
	p->refused++;
	return pol ? dtcp_reply_format(&rep, pol->key, pol->keylen, out, cap) : 0;
}

void xtap_persist_burst_begin(struct xtap_persist *p)
{
	p->burst = true;
	p->failed = false;
}

void xtap_persist_settled(struct xtap_persist *p)
{
	size_t k = p->undo_noted;

	/* the answered requests' changes are durable: their records go; those
	 * of a request in progress (a flush in the middle of its replies) stay */
	for (size_t i = 0; i < k; i++)
		free(p->undo[i].before);
	if (k && p->nundo > k)
		memmove(p->undo, p->undo + k, (p->nundo - k) * sizeof(*p->undo));
	p->nundo -= k;
	p->undo_noted = 0;
	p->nacks = 0;
	p->failed = false;
}

void xtap_persist_burst_end(struct xtap_persist *p)
{
	undo_clear(p);
	p->nacks = 0;
	p->burst = false;
	p->failed = false;
}

/* ---- start ---- */

/* Rules in the running datapath that no criterion of the state file names:
 * nobody could list or delete them, so they go (and the audit log says so). */
static void sweep_unknown(struct xtap_persist *p, bool adopted)
{
	uint32_t orphans = 0;
	char detail[64];

	if (!adopted)
		return;
	if (xtap_cls_sweep(p->cls, &orphans)) {
		log_warnx("could not remove unknown rules from the running datapath");
		return;
	}
	if (!orphans)
		return;
	snprintf(detail, sizeof(detail), "%u unknown rules removed", orphans);
	log_warnx("%s from the running datapath", detail);
	xtap_audit_event(audit_of(p), wall_ms(), XTAP_EV_STATE_ERROR, detail);
}

/* The library's view of the running datapath completed (the prefix arrays
 * taken over or rebuilt, the pre-filter rewritten): after the sweep. */
static void adopt_done(struct xtap_persist *p)
{
	struct xtap_cls_pusage pu;

	if (xtap_cls_adopt_done(p->cls)) {
		log_warnx("could not take over the prefix arrays or rewrite the exact pre-filter: prefix "
			  "updates are refused until a restart, stale filter bits stay (lookups, never misses)");
		return;
	}
	xtap_cls_prefix_usage(p->cls, &pu);
	if (pu.rebuilt)
		log_info("state: the prefix arrays held other criteria: rebuilt from the adopted ones");
}

/* One criterion of the state file installed anew: new slots and uids that
 * the file does not name, pending until a commit writes them (if the
 * start's snapshot fails, a kill -9 before any change would otherwise find
 * the old records, sweep these rules and rebuild them, counters from 0). */
static int restore_install(struct xtap_persist *p, const struct dtcp_criterion *c)
{
	if (xtap_dtcp_backend.install(p->be, c))
		return -1;
	note_changed(p, c->id);
	return 0;
}

int xtap_persist_restore(struct xtap_persist *p, bool adopted)
{
	struct xtap_state_extra x = { 0 };
	struct dtcp_criterion *c; /* each entry unpacked in turn: about 15 KiB */
	unsigned nadopted = 0, installed = 0, failed = 0;
	bool swept = false;
	int rc = xtap_state_load(p->path, p->srv, &x);

	if (rc == XTAP_STATE_MISSING) {
		log_info("no state file: a fresh start");
		sweep_unknown(p, adopted);
		/* a running datapath's prefix arrays too: else every prefix ADD is
		 * refused (the library does not know their ids) */
		if (adopted)
			adopt_done(p);
		seq_remember(p);
		return XTAP_RESTORE_OK;
	}
	if (rc != XTAP_STATE_OK) {
		/* the running rules stay: interception goes on until the file is
		 * mended and xtapd restarted */
		log_warnx("state file refused: %s", x.error);
		xtap_audit_event(audit_of(p), wall_ms(), XTAP_EV_STATE_ERROR,
				 "state file refused: not started, the file is left as it is");
		return XTAP_RESTORE_REFUSED;
	}
	/* the X1 records with their lines, for xtap_persist_x1_attach and the
	 * commits' comparison (the loader checked them against the criteria) */
	{
		size_t cap = 0;

		for (size_t i = 0; i < x.nx1; i++)
			if (x1set_add(&p->x1disk, &cap, &x.x1[i], true)) {
				xtap_state_extra_free(&x);
				x1set_free(&p->x1disk);
				log_warnx("state: no memory for the X1 records");
				return XTAP_RESTORE_REFUSED;
			}
		if (p->x1disk.n)
			qsort(p->x1disk.v, p->x1disk.n, sizeof(*p->x1disk.v), cmp_x1rec);
	}
	c = malloc(sizeof(*c));
	if (!c) {
		xtap_state_extra_free(&x);
		log_warnx("state: no memory to install the criteria");
		return XTAP_RESTORE_PARTIAL;
	}
	/* the criteria not adopted are installed after the sweep, not in this
	 * walk: before it, the slots the classifier sees as free include those
	 * of later criteria not yet adopted, and an install there overwrote
	 * their running rules (and zeroed their counters), so that they failed
	 * adoption and were rebuilt in turn (seed 400 mixed, iteration 22) */
	uint32_t *later = adopted ? malloc((p->srv->n ? p->srv->n : 1) * sizeof(*later)) : NULL;
	size_t nlater = 0;

	for (size_t i = 0, k = 0; i < p->srv->n; i++) {
		uint32_t slots[XTAP_BE_MAX_RULES], uids[XTAP_BE_MAX_RULES], n = 0;

		dtcp_entry_criterion(p->srv->tab[i], c);
		/* both in id order: walk them together (not a search per criterion,
		 * which is quadratic at 1M) */
		while (k < x.n && x.dp[k].id < c->id)
			k++;
		for (; k < x.n && x.dp[k].id == c->id; k++)
			if (n < XTAP_BE_MAX_RULES) {
				slots[n] = x.dp[k].slot;
				uids[n++] = x.dp[k].uid;
			}
		if (adopted && n && !xtap_backend_adopt(p->be, c, slots, uids, n)) {
			nadopted++;
			continue;
		}
		if (later) {
			later[nlater++] = c->id;
			continue;
		}
		/* after a reboot (fresh maps); or no memory for the list above */
		if (restore_install(p, c))
			failed++;
		else
			installed++;
	}
	if (adopted) {
		/* only adopted rules left in the maps, their slots taken */
		sweep_unknown(p, adopted);
		swept = true;
	}
	adopt_done(p);
	for (size_t i = 0; i < nlater; i++) {
		const struct dtcp_entry *e = dtcp_server_find(p->srv, later[i]);

		dtcp_entry_criterion(e, c);
		/* rules that are not this criterion's, or none named */
		if (restore_install(p, c))
			failed++;
		else
			installed++;
	}
	free(later);
	free(c);
	/* go on with the journal replayed, never truncating what the snapshot
	 * of this generation still needs */
	if (xtap_journal_resume(&p->journal, p->path, &x))
		log_warn("cannot reopen the state journal: the next change writes a snapshot");
	if (x.replayed || x.torn)
		log_info("state journal: %zu changes replayed%s", x.replayed,
			 x.torn ? ", an unfinished last one dropped" : "");
	{
		struct stat st;

		p->snapshot_bytes = stat(p->path, &st) ? 0 : (size_t)st.st_size;
	}
	xtap_state_extra_free(&x);
	seq_remember(p);
	if (!swept)
		sweep_unknown(p, adopted);
	log_info("state: %u criteria adopted running, %u installed again, %u failed", nadopted, installed, failed);
	xtap_audit_event(audit_of(p), wall_ms(), adopted ? XTAP_EV_ADOPT : XTAP_EV_REBUILD, "state file restored");
	return failed ? XTAP_RESTORE_PARTIAL : XTAP_RESTORE_OK;
}
