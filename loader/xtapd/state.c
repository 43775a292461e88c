/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The state file (state.h, docs/state-and-audit.md). Each criterion is kept
 * as the ADD that dtcp_request_format writes for it, so loading goes through
 * the same parser and checks as a request from the wire; what an ADD cannot
 * carry (the Criteria-ID, the SSH peer, the content destinations as resolved
 * at ADD time, the fields as given for LIST, times, counter bases) has lines
 * of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "state.h"
#include "xbuf.h"

#define MAGIC "xtap-state"

/* ---- writing ---------------------------------------------------------------- */

/* A criterion block is built in memory (a heap xbuf) and goes to the FILE
 * with one fwrite: stdio a field (or a byte) at a time was most of xtapd's
 * time while adding. */

/* A quoted string: printable ASCII as is, \" \\ \r \n, every other byte \xHH,
 * so that a line never holds a control byte or a blank outside the quotes. */
static void ob_quoted(struct xbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *p = xbuf_room(b, 2 + 4 * n); /* at most 4 bytes for each */

	if (!p)
		return;
	*p++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c == '\r' || c == '\n') {
			*p++ = '\\';
			*p++ = c == '\r' ? 'r' : 'n';
		} else if (c < 0x20 || c >= 0x7f) {
			*p++ = '\\';
			*p++ = 'x';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	xbuf_advance(b, (size_t)(p - (b->p + b->n)));
}

static void ob_name(struct xbuf *b, const char *s)
{
	char e[4 * DTCP_NAME_MAX];
	dtcp_escape_name(s, e, sizeof(e));
	xbuf_str(b, e);
}

static void ob_addr(struct xbuf *b, const struct dtcp_addr *a)
{
	char t[INET6_ADDRSTRLEN];
	if (a->family == DTCP_AF_NONE) {
		xbuf_str(b, "-");
		return;
	}
	/* inet_ntop cannot fail for these families and this buffer */
	inet_ntop(a->family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, a->a, t, sizeof(t));
	xbuf_str(b, t);
}

static void put_name(FILE *f, const char *s)
{
	char e[4 * DTCP_NAME_MAX];
	dtcp_escape_name(s, e, sizeof(e));
	fputs(e, f);
}

/* The criterion as an ADD, with only the Cdest-ID names: the resolved
 * destinations are on cdest lines (a configured destination may differ per
 * name, which X-JTap-Cdest-* headers cannot say). */
static size_t format_add(const struct dtcp_entry *e, struct dtcp_request *r, char *buf, size_t cap)
{
	/* r comes zeroed from calloc and only these fields change from one
	 * criterion to the next: no memset of its 17 KiB per criterion */
	r->method = DTCP_M_ADD;
	r->version = 8;
	r->csource = e->c.csource;
	r->flag_static = e->c.is_static;
	dtcp_entry_criterion(e, &r->crit);
	r->cdest_given = 0;
	return dtcp_request_format(r, buf, cap);
}

static int write_entry(FILE *f, const struct dtcp_entry *e, const struct xtap_state_dp *dp, size_t ndp,
		       struct dtcp_request *r, char *buf, struct xbuf *b)
{
	size_t n = format_add(e, r, buf, DTCP_MSG_MAX);

	if (n == 0)
		return -1; /* cannot happen: every field of a criterion is bounded */
	xbuf_reset(b);
	xbuf_str(b, "criterion ");
	xbuf_u64(b, e->c.id);
	xbuf_str(b, "\npeer ");
	ob_quoted(b, e->c.csource_addr, strnlen(e->c.csource_addr, sizeof(e->c.csource_addr)));
	xbuf_str(b, "\nadded ");
	xbuf_u64(b, e->added_ms);
	xbuf_str(b, "\nstart");
	for (int t = 0; t < DTCP_T_N; t++) {
		xbuf_str(b, " ");
		xbuf_u64(b, e->start_ms[t]);
	}
	xbuf_str(b, "\nbase");
	for (int t = 0; t < DTCP_T_N; t++) {
		xbuf_str(b, " ");
		xbuf_u64(b, e->base[t]);
	}
	xbuf_str(b, "\nrefresh ");
	xbuf_u64(b, e->num_refresh);
	xbuf_str(b, " ");
	xbuf_u64(b, e->last_refresh_ms);
	xbuf_str(b, "\n");
	/* one line per datapath rule, in the backend's rule order */
	for (size_t i = 0; i < ndp; i++) {
		xbuf_str(b, "datapath ");
		xbuf_u64(b, dp[i].slot);
		xbuf_str(b, " ");
		xbuf_u64(b, dp[i].uid);
		xbuf_str(b, "\n");
	}
	for (int i = 0; i < e->c.ncdest; i++) {
		const struct dtcp_cdest *cd = &e->cdest[i];

		xbuf_str(b, "cdest ");
		ob_name(b, cd->name.s);
		xbuf_str(b, " ");
		ob_addr(b, &cd->dst);
		xbuf_str(b, " ");
		xbuf_u64(b, cd->dst_port);
		xbuf_str(b, " ");
		ob_addr(b, &cd->src);
		xbuf_str(b, " ");
		xbuf_u64(b, cd->src_port);
		xbuf_str(b, " ");
		xbuf_u64(b, cd->ttl);
		xbuf_str(b, "\n");
	}
	xbuf_str(b, "given ");
	ob_quoted(b, e->given, strlen(e->given));
	xbuf_str(b, "\nadd ");
	ob_quoted(b, buf, n);
	xbuf_str(b, "\nend\n");
	if (b->full) { /* no memory: the block is not written */
		errno = ENOMEM;
		return -1;
	}
	return fwrite_unlocked(b->p, 1, b->n, f) == b->n ? 0 : -1;
}

/* x's records must name criteria of s, grouped by id in increasing id
 * order, at most XTAP_STATE_DP_MAX for one id (state.h). */
static int check_extra(const struct dtcp_server *s, const struct xtap_state_extra *x)
{
	size_t run = 0, t = 0; /* t: where x's last id is in s's table (both in id order) */

	for (size_t i = 0; x && i < x->n; i++) {
		if (i && x->dp[i].id < x->dp[i - 1].id)
			return -1;
		run = i && x->dp[i].id == x->dp[i - 1].id ? run + 1 : 1;
		if (run > XTAP_STATE_DP_MAX || x->dp[i].uid == 0)
			return -1;
		if (run > 1)
			continue;
		t += dtcp_entry_lower_bound(s->tab + t, s->n - t, x->dp[i].id);
		if (t == s->n || s->tab[t]->c.id != x->dp[i].id)
			return -1;
	}
	return 0;
}

/* What writing criteria needs, allocated once per file or transaction. */
struct writer {
	struct dtcp_request *r; /* zeroed once: format_add */
	char *buf;
	struct xbuf b;
	size_t k; /* next datapath record of x to look at (both walks are in id order) */
};

static int writer_open(struct writer *w)
{
	memset(w, 0, sizeof(*w));
	/* a block holds one bounded request (DTCP_MSG_MAX, quoted) and at most
	 * XTAP_STATE_DP_MAX records: memory is the only limit needed */
	w->b = XBUF_HEAP(SIZE_MAX);
	w->r = calloc(1, sizeof(*w->r));
	w->buf = malloc(DTCP_MSG_MAX);
	return w->r && w->buf ? 0 : -1;
}

static void writer_close(struct writer *w)
{
	xbuf_free(&w->b);
	free(w->r);
	free(w->buf);
}

/* Entry e with its datapath record from x, if it has one; entries must
 * come in id order. */
static int writer_entry(FILE *f, struct writer *w, const struct dtcp_entry *e, const struct xtap_state_extra *x)
{
	size_t first, n = 0;

	while (x && w->k < x->n && x->dp[w->k].id < e->c.id)
		w->k++;
	first = w->k;
	while (x && first + n < x->n && x->dp[first + n].id == e->c.id)
		n++;
	return write_entry(f, e, n ? &x->dp[first] : NULL, n, w->r, w->buf, &w->b);
}

/* One X1 record line (docs/x1.md "Persistence: state records"), written by
 * loader/x1's own encoder; prefix "x1-gone " for a record gone. */
size_t xtap_state_x1_line(const struct x1_record *r, char *line, size_t cap)
{
	size_t n = 0;

	if (r->kind == X1_REC_DEST) {
		struct x1_dest_entry e = { .d = r->dest };

		snprintf(e.admf, sizeof(e.admf), "%s", r->admf);
		n = x1_record_dest(&e, line, cap);
	} else if (r->kind == X1_REC_TASK && r->ncrit <= X1_MAX_CRIT) {
		struct x1_task_entry *e = calloc(1, sizeof(*e));

		if (e) {
			snprintf(e->admf, sizeof(e->admf), "%s", r->admf);
			e->t = r->task;
			e->ncrit = r->ncrit;
			memcpy(e->crit, r->crit, r->ncrit * sizeof(r->crit[0]));
			n = x1_record_task(e, line, cap);
		}
		free(e);
	}
	return n;
}

static int write_x1(FILE *f, const char *prefix, const struct x1_record *r)
{
	char *line = malloc(X1_RECORD_MAX);
	size_t n = line ? xtap_state_x1_line(r, line, X1_RECORD_MAX) : 0;

	if (n)
		fprintf(f, "%s%s\n", prefix, line);
	free(line);
	if (!n)
		errno = EINVAL; /* a record its encoder refuses: nothing is written */
	return n ? 0 : -1;
}

static void write_seqs(FILE *f, const struct dtcp_server *s)
{
	for (size_t i = 0; i < s->nseq; i++) {
		fputs("seq ", f);
		put_name(f, s->seq[i].csource.s);
		fprintf(f, " %" PRIu64 "\n", s->seq[i].last);
	}
}

static int write_all(FILE *f, const struct dtcp_server *s, const struct xtap_state_extra *x)
{
	struct writer w;
	int rc = -1;

	if (writer_open(&w))
		goto out;
	fprintf(f, MAGIC " %d\n", XTAP_STATE_VERSION);
	fputs("# xtapd state: interception targets, keep it 0600 (docs/state-and-audit.md)\n", f);
	fprintf(f, "next-id %" PRIu32 "\n", s->next_id);
	if (x && x->generation)
		fprintf(f, "generation %" PRIu64 "\n", x->generation);
	write_seqs(f, s);
	for (size_t i = 0; i < s->n; i++)
		if (writer_entry(f, &w, s->tab[i], x))
			goto out;
	for (size_t i = 0; x && i < x->nx1; i++)
		if (write_x1(f, "", &x->x1[i]))
			goto out;
	fprintf(f, "end-state %zu\n", s->n);
	rc = 0;
out:
	writer_close(&w);
	return rc;
}

static int write_whole(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = xtap_io_write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The snapshot's FILE writes through the fault hooks (fault.h): a cookie
 * stream over the descriptor, which stays the caller's to fsync. */
static ssize_t sink_write(void *cookie, const char *p, size_t n)
{
	XTAP_CRASH(snapshot_write_before);
	if (write_whole(*(int *)cookie, p, n))
		return 0; /* stdio's error return for a cookie write */
	XTAP_CRASH(snapshot_write_after);
	return (ssize_t)n;
}

static FILE *sink_open(int *fd)
{
	static const cookie_io_functions_t io = { .write = sink_write };
	FILE *f = fopencookie(fd, "w", io);

	/* a big buffer: fewer writes (and crash points) per snapshot */
	if (f && setvbuf(f, NULL, _IOFBF, 1u << 20)) {
		fclose(f);
		return NULL;
	}
	return f;
}

/* fsync the directory holding path, so that the rename is on disk. */
static int sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = xtap_io_fsync(fd);
	if (close(fd))
		rc = -1;
	return rc;
}

static void set_error(struct xtap_state_extra *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct xtap_state_extra *x, const char *fmt, ...)
{
	va_list ap;
	if (!x)
		return;
	va_start(ap, fmt);
	vsnprintf(x->error, sizeof(x->error), fmt, ap);
	va_end(ap);
}

int xtap_state_write_tmp(const char *path, const struct dtcp_server *s, const struct xtap_state_extra *x)
{
	/* x is const for the caller's records; the error text is its only output */
	struct xtap_state_extra *xe = (struct xtap_state_extra *)x;
	char tmp[PATH_MAX];
	const char *step = "write";
	FILE *f = NULL;
	int fd = -1, err;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		step = "name";
		goto fail;
	}
	if (check_extra(s, x)) {
		errno = EINVAL;
		step = "datapath records (not in id order, unknown id or uid 0)";
		goto fail;
	}
	/* A path.tmp left by a save that crashed was never renamed, so it was
	 * never the state: discard it. O_EXCL then refuses a file (or symlink)
	 * someone put there after the unlink. */
	if (unlink(tmp) && errno != ENOENT) {
		step = "unlink stale .tmp";
		goto fail;
	}
	fd = xtap_io_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		step = "create .tmp";
		goto fail;
	}
	/* The umask may have changed the mode: make it exactly 0600 (targets). */
	if (fchmod(fd, 0600)) {
		step = "fchmod 0600";
		goto fail_unlink;
	}
	if (!(f = sink_open(&fd))) {
		step = "fopencookie";
		goto fail_unlink;
	}
	errno = 0;
	if (write_all(f, s, x) || fflush(f) || ferror(f)) {
		if (!errno)
			errno = EIO;
		goto fail_unlink;
	}
	err = fclose(f); /* flushed above: nothing is left to fail here */
	f = NULL;
	if (err) {
		step = "write";
		goto fail_unlink;
	}
	XTAP_CRASH(snapshot_sync_before);
	if (xtap_io_fsync(fd)) {
		step = "fsync";
		goto fail_unlink;
	}
	XTAP_CRASH(snapshot_sync_after);
	err = close(fd);
	fd = -1;
	if (err) {
		step = "close";
		goto fail_unlink;
	}
	return XTAP_STATE_OK;

fail_unlink:
	err = errno;
	if (f)
		fclose(f); /* already failing: its own error adds nothing */
	if (fd >= 0)
		close(fd);
	unlink(tmp); /* best effort: a stale .tmp is discarded by the next save */
	errno = err;
fail:
	err = errno;
	set_error(xe, "%s: %s: %s", path, step, strerror(err));
	errno = err;
	return XTAP_STATE_ERROR;
}

int xtap_state_install(const char *path, struct xtap_state_extra *xe)
{
	char tmp[PATH_MAX];
	const char *step = "name";
	int err;

	if (xe)
		xe->renamed = false;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	XTAP_CRASH(snapshot_rename_before);
	if (xtap_io_rename(tmp, path)) {
		step = "rename";
		goto fail_unlink;
	}
	XTAP_CRASH(snapshot_rename_after);
	if (xe)
		xe->renamed = true;
	/* Without this the rename may not survive a power loss. The file is in
	 * place, so nothing is undone, but it is a failure: the caller cannot
	 * count on either the old or the new file after a power loss
	 * (x->renamed tells it which case this is). */
	XTAP_CRASH(snapshot_dirsync_before);
	if (sync_dir(path)) {
		step = "fsync directory";
		goto fail;
	}
	XTAP_CRASH(snapshot_dirsync_after);
	return XTAP_STATE_OK;

fail_unlink:
	err = errno;
	unlink(tmp); /* best effort: a stale .tmp is discarded by the next save */
	errno = err;
fail:
	err = errno;
	set_error(xe, "%s: %s: %s", path, step, strerror(err));
	errno = err;
	return XTAP_STATE_ERROR;
}

int xtap_state_save(const char *path, const struct dtcp_server *s, const struct xtap_state_extra *x)
{
	/* x is const for the caller's records; the error text and renamed are its outputs */
	struct xtap_state_extra *xe = (struct xtap_state_extra *)x;

	if (xe)
		xe->renamed = false;
	if (xtap_state_write_tmp(path, s, x))
		return XTAP_STATE_ERROR;
	return xtap_state_install(path, xe);
}

/* ---- the journal ---------------------------------------------------------------- */

#define JOURNAL_MAGIC "xtap-journal"

/* path.journal, or path.journal.next: the journal of a snapshot being
 * written beside the service (persist.c), until that snapshot is in place */
static int journal_name_of(const char *path, bool next, char *out, size_t cap)
{
	if ((size_t)snprintf(out, cap, "%s.journal%s", path, next ? ".next" : "") >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int journal_name(const char *path, char *out, size_t cap)
{
	return journal_name_of(path, false, out, cap);
}

/* One transaction: next-id, every Seq, then for each id its criterion as it
 * is now or "delete ID" when it is gone, then "commit COUNT". */
static int write_txn(FILE *f, const struct dtcp_server *s, const struct xtap_state_extra *x, const uint32_t *ids,
		     size_t n_ids)
{
	struct writer w;
	int rc = -1;

	if (writer_open(&w))
		goto out;
	fprintf(f, "begin\nnext-id %" PRIu32 "\n", s->next_id);
	write_seqs(f, s);
	/* criteria first (the loader's order: seq, criteria), then deletes */
	for (size_t i = 0; i < n_ids; i++) {
		const struct dtcp_entry *e = dtcp_server_find(s, ids[i]);

		if (e && writer_entry(f, &w, e, x))
			goto out;
	}
	for (size_t i = 0; i < n_ids; i++)
		if (!dtcp_server_find(s, ids[i]))
			fprintf(f, "delete %" PRIu32 "\n", ids[i]);
	/* the X1 records after the criteria they name (the loader's order) */
	for (size_t i = 0; x && i < x->nx1; i++)
		if (write_x1(f, "", &x->x1[i]))
			goto out;
	for (size_t i = 0; x && i < x->nx1_gone; i++)
		if (write_x1(f, "x1-gone ", &x->x1_gone[i]))
			goto out;
	fprintf(f, "commit %zu\n", n_ids + (x ? x->nx1 + x->nx1_gone : 0));
	rc = 0;
out:
	writer_close(&w);
	return rc;
}

int xtap_journal_append(struct xtap_journal *j, const char *path, const struct dtcp_server *s,
			const struct xtap_state_extra *x, const uint32_t *ids, size_t n_ids)
{
	struct xtap_state_extra *xe = (struct xtap_state_extra *)x; /* error text only */
	char jp[PATH_MAX], *text = NULL;
	const char *step = "name";
	size_t len = 0;
	FILE *m = NULL;
	int err;

	for (size_t i = 1; i < n_ids; i++)
		if (ids[i] <= ids[i - 1]) {
			errno = EINVAL;
			step = "ids not in order";
			goto fail;
		}
	if (check_extra(s, x)) {
		errno = EINVAL;
		step = "datapath records (not in id order, unknown id or uid 0)";
		goto fail;
	}
	if (j->broken) {
		/* a failed append could not be cut off: only a new snapshot mends it */
		errno = EIO;
		step = "journal needs a new snapshot";
		goto fail;
	}
	if (journal_name_of(path, j->next, jp, sizeof(jp)))
		goto fail;
	if (j->fd < 0) {
		/* Created anew only when no durable snapshot needs what is there:
		 * after a snapshot of this generation (the file, if any, is an
		 * older one's). Otherwise (no snapshot yet, or one whose journal
		 * could not be reopened) the caller writes a snapshot instead. */
		if (!j->fresh) {
			errno = EIO;
			step = "no journal continues the last snapshot: a new snapshot first";
			goto fail;
		}
		step = "open";
		j->fd = xtap_io_open(jp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (j->fd < 0)
			goto fail;
		j->size = 0;
		if (fchmod(j->fd, 0600)) {
			step = "fchmod 0600";
			goto fail_close;
		}
		j->fresh = false;
		XTAP_CRASH(journal_open_after);
	}
	step = "format";
	if (!(m = open_memstream(&text, &len)))
		goto fail;
	if (j->size == 0)
		fprintf(m, JOURNAL_MAGIC " %d %" PRIu64 "\n# xtapd state journal: interception targets, keep it 0600\n",
			XTAP_STATE_VERSION, j->generation);
	if (write_txn(m, s, x, ids, n_ids) || fclose(m)) {
		m = NULL;
		if (!errno)
			errno = ENOMEM;
		goto fail;
	}
	m = NULL;
	step = "write";
	XTAP_CRASH(journal_write_before);
	if (write_whole(j->fd, text, len))
		goto fail_cut;
	XTAP_CRASH(journal_write_after);
	step = "fdatasync";
	XTAP_CRASH(journal_sync_before);
	if (xtap_io_fdatasync(j->fd)) {
		/* after a failed fdatasync the kernel may have dropped dirty
		 * pages of earlier writes too (and a retry can succeed without
		 * writing them): no more appends, a new snapshot first */
		j->broken = true;
		goto fail_cut;
	}
	XTAP_CRASH(journal_sync_after);
	j->size += len;
	free(text);
	return XTAP_STATE_OK;

fail_cut:
	err = errno;
	/* cut off what was written of it, so that the next transaction does
	 * not follow a torn one; if even that fails, stop appending */
	if (ftruncate(j->fd, (off_t)j->size))
		j->broken = true;
	errno = err;
	goto fail;
fail_close:
	err = errno;
	close(j->fd);
	j->fd = -1;
	j->fresh = true; /* only just created, nothing in it */
	errno = err;
fail:
	err = errno;
	if (m)
		fclose(m);
	free(text);
	set_error(xe, "%s.journal: %s: %s", path, step, strerror(err));
	errno = err;
	return XTAP_STATE_ERROR;
}

int xtap_journal_reset(struct xtap_journal *j, const char *path, uint64_t generation)
{
	char jp[PATH_MAX];
	int rc = 0;

	XTAP_CRASH(journal_reset_before);
	if (j->fd >= 0)
		close(j->fd); /* written and synced: nothing to lose */
	j->fd = -1;
	j->size = 0;
	j->broken = false;
	j->generation = generation;
	j->fresh = true; /* the snapshot of this generation holds everything */
	j->next = false;
	if (journal_name(path, jp, sizeof(jp)))
		return -1;
	/* the journal names the old generation: left behind, a load ignores it
	 * and the next append truncates it; removed, nobody reads it again
	 * (nor a .next of a compaction given up) */
	if (unlink(jp) && errno != ENOENT)
		rc = -1;
	if (!journal_name_of(path, true, jp, sizeof(jp)))
		unlink(jp);
	else if (sync_dir(path))
		rc = -1;
	XTAP_CRASH(journal_reset_after);
	return rc;
}

int xtap_journal_promote(struct xtap_journal *j, const char *path)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (journal_name_of(path, true, from, sizeof(from)) || journal_name(path, to, sizeof(to)))
		return -1;
	/* a .next that was never created (no change since the snapshot
	 * began): the old journal goes, as after any snapshot */
	if (j->fd < 0 && j->fresh) {
		unlink(from);
		if (unlink(to) && errno != ENOENT)
			return -1;
		j->next = false;
		return sync_dir(path);
	}
	if (xtap_io_rename(from, to))
		return -1;
	j->next = false;
	return sync_dir(path);
}

int xtap_journal_resume(struct xtap_journal *j, const char *path, const struct xtap_state_extra *x)
{
	char jp[PATH_MAX];

	if (j->fd >= 0)
		close(j->fd);
	*j = (struct xtap_journal){ .fd = -1, .generation = x->journal_end ? x->journal_gen : x->generation };
	if (!x->journal_end) {
		/* no journal of this snapshot (none, an older one's, or one whose
		 * header was cut): a new one may start, if there is a snapshot */
		j->fresh = x->generation != 0;
		return 0;
	}
	if (journal_name_of(path, x->journal_next, jp, sizeof(jp)))
		return -1;
	j->fd = xtap_io_open(jp, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->fd < 0)
		return -1; /* not fresh: the next commit writes a snapshot */
	j->next = x->journal_next;
	/* a torn last transaction was never acknowledged: cut it, so that the
	 * next one does not follow it */
	if (ftruncate(j->fd, (off_t)x->journal_end)) {
		close(j->fd);
		j->fd = -1;
		return -1;
	}
	j->size = x->journal_end;
	/* the journal of a snapshot that a crash left with .next: it becomes
	 * the journal (the old one is an older snapshot's). A .next that goes
	 * on after path.journal (the snapshot never came) stays .next: path.journal
	 * is still needed, and appends go on in .next until a snapshot. */
	if (j->next && j->generation == x->generation && xtap_journal_promote(j, path))
		return -1;
	return 0;
}

/* ---- reading ------------------------------------------------------------------ */

enum field {
	F_PEER = 1 << 0,
	F_ADDED = 1 << 1,
	F_START = 1 << 2,
	F_BASE = 1 << 3,
	F_REFRESH = 1 << 4,
	F_GIVEN = 1 << 5,
	F_ADD = 1 << 6,
	F_DATAPATH = 1 << 7,
};
#define F_REQUIRED (F_PEER | F_ADDED | F_START | F_BASE | F_REFRESH | F_GIVEN | F_ADD)

enum stage { ST_HEADER, ST_TOP, ST_CRIT, ST_DONE };

/* Everything read so far; applied only once the whole file is good. */
struct loader {
	const struct dtcp_server *srv; /* the scope keys of each criterion read */
	const char *path;
	long line;
	char err[XTAP_STATE_ERR_MAX];
	enum stage stage;
	bool have_next;
	uint64_t next_id; /* 0 in the file: every id used (2^32 here) */
	uint32_t next_id_file;
	struct dtcp_entry **ents; /* owned; NULL once handed on */
	size_t n, cap;
	struct dtcp_seq_state *seq;
	size_t nseq, capseq;
	/* datapath records: per entry a run in the pool (several rules per
	 * criterion); gone: deleted by a journal transaction */
	struct lrec {
		uint32_t off, n;
		bool gone;
	} * dp;
	size_t capdp;
	struct xtap_state_dp *pool;
	size_t npool, cappool;
	uint64_t generation; /* 0: none given */
	bool have_gen;
	/* journal transactions (xtap_journal_append): deletes; commit ends one */
	bool journal;
	uint32_t *dels;
	size_t ndel, capdel;
	/* X1 records: the snapshot's; in a transaction each written anew
	 * (x1gone false) or gone */
	struct x1_record *x1;
	bool *x1gone;
	size_t nx1, capx1, capx1gone;
	/* the criterion being read */
	unsigned seen;
	struct dtcp_criterion cur;
	struct { /* the entry's fields other than its criterion */
		uint64_t added_ms, start_ms[DTCP_T_N], base[DTCP_T_N], last_refresh_ms;
		uint32_t num_refresh;
	} life;
	struct dtcp_cdest cd[DTCP_MAX_CDESTS];
	int ncd;
	struct xtap_state_dp cur_dp[XTAP_STATE_DP_MAX];
	size_t ncur_dp;
	char peer[sizeof(((struct dtcp_criterion *)0)->csource_addr)];
	char given[DTCP_GIVEN_MAX];
	char text[DTCP_MSG_MAX + 3]; /* decoded ADD, plus the closing empty line */
	struct dtcp_msg msg;
	struct dtcp_request req;
};

static int bad(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct loader *l, const char *fmt, ...)
{
	/* bounded so that "PATH:LINE: what" fits in XTAP_STATE_ERR_MAX */
	char what[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(l->err, sizeof(l->err), "%.100s:%ld: %s", l->path, l->line, what);
	errno = EINVAL;
	return -1;
}

/* Fields are separated by one space; no blank at either end of a line. */
static char *word(char **p)
{
	char *w = *p, *sp;
	if (!*w || *w == ' ')
		return NULL;
	sp = strchr(w, ' ');
	if (sp) {
		*sp = 0;
		*p = sp + 1;
		if (!**p) /* a trailing blank */
			return NULL;
	} else {
		*p = w + strlen(w);
	}
	return w;
}

/* Canonical decimal: no sign, no leading zero, at most max. */
static int num(char **p, uint64_t max, uint64_t *out)
{
	char *w = word(p);
	uint64_t v = 0;

	if (!w || (w[0] == '0' && w[1]))
		return -1;
	for (; *w; w++) {
		if (*w < '0' || *w > '9')
			return -1;
		unsigned d = (unsigned)(*w - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'  ? c - '0' :
		c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		c >= 'A' && c <= 'F' ? c - 'A' + 10 :
				       -1;
}

/* A quoted string (ob_quoted) into out[cap], NUL-terminated. NUL bytes and
 * raw control bytes are refused: these strings are C strings. */
static int quoted(char **p, char *out, size_t cap, size_t *len)
{
	char *s = *p;
	size_t o = 0;

	if (*s++ != '"')
		return -1;
	for (;;) {
		unsigned char c = (unsigned char)*s++;
		if (c == '"')
			break;
		if (c < 0x20 || c == 0x7f)
			return -1; /* includes the end of the line */
		if (c == '\\') {
			char e = *s++;
			if (e == '"' || e == '\\') {
				c = (unsigned char)e;
			} else if (e == 'r') {
				c = '\r';
			} else if (e == 'n') {
				c = '\n';
			} else if (e == 'x') {
				int h = hexval(s[0]), lo = h < 0 ? -1 : hexval(s[1]);
				if (lo < 0 || (h == 0 && lo == 0))
					return -1;
				c = (unsigned char)(h * 16 + lo);
				s += 2;
			} else {
				return -1;
			}
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = 0;
	if (*s == ' ') {
		s++;
		if (!*s)
			return -1;
	} else if (*s) {
		return -1;
	}
	*p = s;
	*len = o;
	return 0;
}

static int name(char **p, struct dtcp_name *out)
{
	char *w = word(p);
	return w ? dtcp_unescape_name(w, strlen(w), out) : -1;
}

static int addr(char **p, struct dtcp_addr *out, bool may_be_none)
{
	char *w = word(p);
	if (!w)
		return -1;
	if (may_be_none && !strcmp(w, "-")) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	return dtcp_parse_addr(w, strlen(w), out);
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? 2 * *cap : 16;
	void *t = realloc(*v, c * size);
	if (!t)
		return -1;
	*v = t;
	*cap = c;
	return 0;
}

/* A keyword is echoed in an error only if it looks like one ([a-z-], short):
 * errors reach ordinary logs, and a damaged line may start with a target. */
static const char *kw_shown(const char *kw)
{
	static __thread char out[40];
	size_t n = strspn(kw, "abcdefghijklmnopqrstuvwxyz-");
	if (n == 0 || kw[n] || n > 24)
		return "";
	snprintf(out, sizeof(out), " \"%s\"", kw);
	return out;
}

static bool x1_same(const struct x1_record *a, const struct x1_record *b)
{
	if (a->kind != b->kind || strcmp(a->admf, b->admf))
		return false;
	return a->kind == X1_REC_DEST ? !memcmp(a->dest.did.b, b->dest.did.b, 16) :
					!memcmp(a->task.xid.b, b->task.xid.b, 16);
}

static size_t x1_find(const struct x1_record *v, size_t n, const struct x1_record *r)
{
	for (size_t i = 0; i < n; i++)
		if (x1_same(&v[i], r))
			return i;
	return n;
}

/* An X1 record (docs/x1.md "Persistence: state records"), read by loader/x1's
 * own validating decoder: "x1-dest HEX", "x1-task HEX", and in a journal
 * "x1-gone x1-dest HEX" / "x1-gone x1-task HEX" (the record as it was). */
static int x1_line(struct loader *l, char *kw, char *rest)
{
	bool gone = !strcmp(kw, "x1-gone");
	const char *why = NULL;
	struct x1_record *r;

	if (!gone)
		kw[strlen(kw)] = ' '; /* word() cut the line there: the record is the whole line */
	if (grow((void **)&l->x1, &l->capx1, l->nx1, sizeof(*l->x1)) ||
	    grow((void **)&l->x1gone, &l->capx1gone, l->nx1, sizeof(*l->x1gone)))
		return bad(l, "out of memory");
	r = &l->x1[l->nx1];
	if (x1_record_parse(gone ? rest : kw, strlen(gone ? rest : kw), r, &why))
		return bad(l, "%s: %s",
			   gone				  ? "x1-gone" :
				   r->kind == X1_REC_TASK ? "x1-task" :
							    "x1-dest",
			   why ? why : "refused");
	if (!l->journal && x1_find(l->x1, l->nx1, r) < l->nx1)
		return bad(l, "%s", r->kind == X1_REC_DEST ? "x1-dest: a DID twice" : "x1-task: an XID twice");
	l->x1gone[l->nx1++] = gone;
	return 0;
}

/* After the snapshot and the journal: every X1 task's destinations are there,
 * every criterion id it names is a criterion of its own control source
 * "X1/<admf>" and no other task's, and every criterion of an X1 control
 * source is named by a task (a task and its criteria are written in one
 * transaction: anything else is damage, or a file not written by xtapd). */
struct x1_use {
	uint32_t id;
	const char *admf;
};

static int cmp_use(const void *a, const void *b)
{
	const struct x1_use *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int x1_refuse(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int x1_refuse(struct loader *l, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(l->err, sizeof(l->err), "%.80s: X1 records: %s", l->path, what);
	errno = EINVAL;
	return -1;
}

static int check_x1(struct loader *l)
{
	const size_t plen = strlen(DTCP_X1_CSOURCE_PREFIX);
	struct x1_use *u = NULL;
	size_t nu = 0, cap = 0;
	int rc = -1;

	for (size_t i = 0; i < l->nx1; i++) {
		const struct x1_record *t = &l->x1[i];

		if (t->kind != X1_REC_TASK)
			continue;
		for (int k = 0; k < t->task.ndids; k++) {
			struct x1_record d = { .kind = X1_REC_DEST };

			snprintf(d.admf, sizeof(d.admf), "%s", t->admf);
			d.dest.did = t->task.did[k];
			if (x1_find(l->x1, l->nx1, &d) == l->nx1) {
				x1_refuse(l, "a task names a destination that is not in the state");
				goto out;
			}
		}
		for (uint32_t k = 0; k < t->ncrit; k++) {
			if (grow((void **)&u, &cap, nu, sizeof(*u))) {
				x1_refuse(l, "out of memory");
				goto out;
			}
			u[nu++] = (struct x1_use){ t->crit[k], t->admf };
		}
	}
	if (nu)
		qsort(u, nu, sizeof(*u), cmp_use);
	for (size_t i = 0; i < nu; i++) {
		size_t pos = dtcp_entry_lower_bound(l->ents, l->n, u[i].id);
		const char *cs;

		if (i && u[i].id == u[i - 1].id) {
			x1_refuse(l, "criterion %" PRIu32 " named by two tasks", u[i].id);
			goto out;
		}
		if (pos == l->n || l->ents[pos]->c.id != u[i].id) {
			x1_refuse(l, "criterion %" PRIu32 " of a task is not in the state", u[i].id);
			goto out;
		}
		cs = l->ents[pos]->c.csource.s;
		if (strncmp(cs, DTCP_X1_CSOURCE_PREFIX, plen) || strcmp(cs + plen, u[i].admf)) {
			x1_refuse(l, "criterion %" PRIu32 " of a task is owned by another control source", u[i].id);
			goto out;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		struct x1_use key = { l->ents[i]->c.id, NULL };

		if (!strncmp(l->ents[i]->c.csource.s, DTCP_X1_CSOURCE_PREFIX, plen) &&
		    (!nu || !bsearch(&key, u, nu, sizeof(*u), cmp_use))) {
			x1_refuse(l, "criterion %" PRIu32 " of an X1 control source is named by no task",
				  l->ents[i]->c.id);
			goto out;
		}
	}
	rc = 0;
out:
	free(u);
	return rc;
}

static int top_line(struct loader *l, char *kw, char *rest)
{
	uint64_t v;

	if (!strcmp(kw, "next-id")) {
		if (l->have_next)
			return bad(l, "next-id given twice");
		if (num(&rest, UINT32_MAX, &v) || *rest)
			return bad(l, "next-id: not a number up to 4294967295");
		l->have_next = true;
		l->next_id_file = (uint32_t)v;
		l->next_id = v ? v : (uint64_t)UINT32_MAX + 1; /* 0: the counter wrapped, all used */
		return 0;
	}
	if (!l->have_next &&
	    (!strcmp(kw, "seq") || !strcmp(kw, "criterion") || !strcmp(kw, "end-state") || !strcmp(kw, "generation") ||
	     !strcmp(kw, "delete") || !strcmp(kw, "commit") || !strncmp(kw, "x1-", 3)))
		return bad(l, "next-id must come first");
	if (!strcmp(kw, "generation") && !l->journal) {
		if (l->have_gen || l->nseq || l->n)
			return bad(l, "generation: given twice or after seq or a criterion");
		if (num(&rest, UINT64_MAX, &v) || *rest || v == 0)
			return bad(l, "generation: not a number from 1");
		l->have_gen = true;
		l->generation = v;
		return 0;
	}
	if (!strcmp(kw, "delete") && l->journal) {
		if (num(&rest, UINT32_MAX, &v) || *rest || v == 0)
			return bad(l, "delete: not an id from 1 to 4294967295");
		if (grow((void **)&l->dels, &l->capdel, l->ndel, sizeof(*l->dels)))
			return bad(l, "out of memory");
		l->dels[l->ndel++] = (uint32_t)v;
		return 0;
	}
	if (!strcmp(kw, "commit") && l->journal) {
		if (num(&rest, SIZE_MAX, &v) || *rest)
			return bad(l, "commit: not a number");
		if (v != l->n + l->ndel + l->nx1)
			return bad(l, "commit %" PRIu64 " but %zu records", v, l->n + l->ndel + l->nx1);
		l->stage = ST_DONE;
		return 0;
	}
	if (!strcmp(kw, "seq")) {
		struct dtcp_name cs;
		if (l->n)
			return bad(l, "seq after the first criterion");
		if (name(&rest, &cs))
			return bad(l, "seq: bad control source name");
		if (num(&rest, UINT64_MAX, &v) || *rest)
			return bad(l, "seq: not a number");
		for (size_t i = 0; i < l->nseq; i++)
			if (!strcmp(l->seq[i].csource.s, cs.s))
				return bad(l, "seq: control source given twice");
		if (grow((void **)&l->seq, &l->capseq, l->nseq, sizeof(*l->seq)))
			return bad(l, "out of memory");
		l->seq[l->nseq].csource = cs;
		l->seq[l->nseq++].last = v;
		return 0;
	}
	if (!strcmp(kw, "criterion")) {
		if (num(&rest, UINT32_MAX, &v) || *rest || v == 0)
			return bad(l, "criterion: not an id from 1 to 4294967295");
		if (v >= l->next_id)
			return bad(l, "criterion %" PRIu64 ": id not below next-id %" PRIu32, v, l->next_id_file);
		if (l->n && v == l->ents[l->n - 1]->c.id)
			return bad(l, "criterion %" PRIu64 ": duplicate id", v);
		if (l->n && v < l->ents[l->n - 1]->c.id)
			return bad(l, "criterion %" PRIu64 ": ids out of order", v);
		memset(&l->cur, 0, sizeof(l->cur));
		memset(&l->life, 0, sizeof(l->life));
		l->cur.id = (uint32_t)v;
		l->seen = 0;
		l->ncd = 0;
		l->ncur_dp = 0;
		l->stage = ST_CRIT;
		return 0;
	}
	if (!strcmp(kw, "end-state")) {
		if (num(&rest, SIZE_MAX, &v) || *rest)
			return bad(l, "end-state: not a number");
		if (v != l->n)
			return bad(l, "end-state %" PRIu64 " but %zu criteria", v, l->n);
		l->stage = ST_DONE;
		return 0;
	}
	if (!strcmp(kw, "x1-dest") || !strcmp(kw, "x1-task") || (!strcmp(kw, "x1-gone") && l->journal))
		return x1_line(l, kw, rest);
	return bad(l, "unknown keyword%s", kw_shown(kw));
}

/* The ADD text: parsed exactly as a request from the wire would be. */
static int parse_add(struct loader *l, char *rest)
{
	struct dtcp_error err;
	size_t n;

	if (quoted(&rest, l->text, sizeof(l->text) - 2, &n) || *rest)
		return bad(l, "add: bad quoted string");
	memcpy(l->text + n, "\r\n", 3); /* the empty line that closes a message */
	dtcp_msg_parse(l->text, n + 2, &l->msg);
	if (dtcp_request_parse(&l->msg, &l->req, &err)) {
		/* Only the header's name: its value may be a target. */
		int nn = (int)strcspn(err.item, ":");
		return bad(l, "add: refused by the DTCP parser: %d %s (%.*s)", err.code, dtcp_reason(err.code),
			   nn > 40 ? 0 : nn, err.item);
	}
	if (l->req.method != DTCP_M_ADD)
		return bad(l, "add: not an ADD");
	/* Values come from the entry's own lines; the id from "criterion". */
	uint32_t id = l->cur.id;
	l->cur = l->req.crit;
	l->cur.id = id;
	l->cur.csource = l->req.csource;
	return 0;
}

static int crit_line(struct loader *l, char *kw, char *rest)
{
	static const struct {
		const char *kw;
		unsigned bit;
	} once[] = {
		{ "peer", F_PEER },	  { "added", F_ADDED }, { "start", F_START }, { "base", F_BASE },
		{ "refresh", F_REFRESH }, { "given", F_GIVEN }, { "add", F_ADD },
	};
	struct dtcp_criterion *c = &l->cur;
	uint64_t v, w;
	size_t n;

	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		if (strcmp(kw, once[i].kw))
			continue;
		if (l->seen & once[i].bit)
			return bad(l, "%s given twice in criterion %" PRIu32, kw, c->id);
		l->seen |= once[i].bit;
	}
	if (!strcmp(kw, "peer")) {
		if (quoted(&rest, l->peer, sizeof(l->peer), &n) || *rest)
			return bad(l, "peer: bad quoted string (at most 47 bytes)");
	} else if (!strcmp(kw, "added")) {
		if (num(&rest, UINT64_MAX, &l->life.added_ms) || *rest)
			return bad(l, "added: not a number");
	} else if (!strcmp(kw, "start") || !strcmp(kw, "base")) {
		uint64_t *a = kw[0] == 's' ? l->life.start_ms : l->life.base;
		for (int t = 0; t < DTCP_T_N; t++)
			if (num(&rest, UINT64_MAX, &a[t]))
				return bad(l, "%s: want %d numbers", kw, DTCP_T_N);
		if (*rest)
			return bad(l, "%s: want %d numbers", kw, DTCP_T_N);
	} else if (!strcmp(kw, "refresh")) {
		if (num(&rest, UINT32_MAX, &v) || num(&rest, UINT64_MAX, &w) || *rest)
			return bad(l, "refresh: want a count and a time");
		l->life.num_refresh = (uint32_t)v;
		l->life.last_refresh_ms = w;
	} else if (!strcmp(kw, "datapath")) {
		if (num(&rest, UINT32_MAX, &v) || num(&rest, UINT32_MAX, &w) || *rest || w == 0)
			return bad(l, "datapath: want a slot and a nonzero uid");
		if (l->ncur_dp == XTAP_STATE_DP_MAX)
			return bad(l, "datapath: more than %d in criterion %" PRIu32, XTAP_STATE_DP_MAX, c->id);
		l->seen |= F_DATAPATH;
		l->cur_dp[l->ncur_dp++] = (struct xtap_state_dp){ c->id, (uint32_t)v, (uint32_t)w };
	} else if (!strcmp(kw, "cdest")) {
		struct dtcp_cdest *cd = &l->cd[l->ncd];
		if (l->ncd == DTCP_MAX_CDESTS)
			return bad(l, "cdest: more than %d", DTCP_MAX_CDESTS);
		memset(cd, 0, sizeof(*cd));
		if (name(&rest, &cd->name))
			return bad(l, "cdest: bad name");
		if (addr(&rest, &cd->dst, false) || num(&rest, 65535, &v) || v == 0)
			return bad(l, "cdest: bad destination address or port");
		cd->dst_port = (uint16_t)v;
		if (addr(&rest, &cd->src, true) || num(&rest, 65535, &v))
			return bad(l, "cdest: bad source address or port");
		cd->src_port = (uint16_t)v;
		if (num(&rest, 255, &v) || v == 0 || *rest)
			return bad(l, "cdest: bad TTL");
		cd->ttl = (uint8_t)v;
		if (cd->src.family != DTCP_AF_NONE && cd->src.family != cd->dst.family)
			return bad(l, "cdest: source and destination of different families");
		l->ncd++;
	} else if (!strcmp(kw, "given")) {
		if (quoted(&rest, l->given, sizeof(l->given), &n) || *rest)
			return bad(l, "given: bad quoted string (at most %d bytes)", DTCP_GIVEN_MAX - 1);
	} else if (!strcmp(kw, "add")) {
		return parse_add(l, rest);
	} else if (!strcmp(kw, "end")) {
		return *rest ? bad(l, "end: trailing text") : 1;
	} else {
		return bad(l, "unknown keyword%s in criterion %" PRIu32, kw_shown(kw), c->id);
	}
	return 0;
}

/* "end": the criterion is complete; check it against its cdest lines. */
static int crit_end(struct loader *l)
{
	struct dtcp_criterion *c = &l->cur;
	struct dtcp_entry *e;

	if ((l->seen & F_REQUIRED) != F_REQUIRED)
		return bad(l,
			   "criterion %" PRIu32 " lacks a line (peer, added, start, base, "
			   "refresh, given and add are required)",
			   c->id);
	if (l->ncd != c->ncdest)
		return bad(l, "criterion %" PRIu32 ": %d cdest lines for %u Cdest-ID names", c->id, l->ncd, c->ncdest);
	for (int i = 0; i < l->ncd; i++) {
		if (strcmp(l->cd[i].name.s, c->cdest[i].name.s))
			return bad(l, "criterion %" PRIu32 ": cdest line %d does not match Cdest-ID", c->id, i + 1);
		c->cdest[i] = l->cd[i];
	}
	memset(c->given, 0, sizeof(c->given));
	memcpy(c->given, l->given, strlen(l->given));
	memset(c->csource_addr, 0, sizeof(c->csource_addr));
	memcpy(c->csource_addr, l->peer, strlen(l->peer));
	if (grow((void **)&l->dp, &l->capdp, l->n, sizeof(*l->dp)) ||
	    grow((void **)&l->ents, &l->cap, l->n, sizeof(*l->ents)))
		return bad(l, "out of memory");
	while (l->npool + l->ncur_dp > l->cappool)
		if (grow((void **)&l->pool, &l->cappool, l->cappool, sizeof(*l->pool)))
			return bad(l, "out of memory");
	/* kept compact (not as a whole struct dtcp_criterion) while the rest is
	 * read: a snapshot of 1M criteria is held whole before it is applied */
	dtcp_server_scope_keys(l->srv, c);
	if (!(e = dtcp_entry_new(c)))
		return bad(l, "out of memory");
	e->added_ms = l->life.added_ms;
	memcpy(e->start_ms, l->life.start_ms, sizeof(e->start_ms));
	memcpy(e->base, l->life.base, sizeof(e->base));
	e->num_refresh = l->life.num_refresh;
	e->last_refresh_ms = l->life.last_refresh_ms;
	l->dp[l->n] = (struct lrec){ (uint32_t)l->npool, (uint32_t)l->ncur_dp, false };
	if (l->ncur_dp) /* the pool may still be NULL */
		memcpy(l->pool + l->npool, l->cur_dp, l->ncur_dp * sizeof(*l->pool));
	l->npool += l->ncur_dp;
	l->ncur_dp = 0;
	l->ents[l->n++] = e;
	l->stage = ST_TOP;
	return 0;
}

/* Frees the entries still held and empties the list. */
static void drop_ents(struct loader *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->ents[i]);
	l->n = 0;
}

static int one_line(struct loader *l, char *s)
{
	char *kw;
	uint64_t v;
	int rc;

	if (l->stage == ST_HEADER) {
		kw = word(&s);
		if (!kw || strcmp(kw, MAGIC))
			return bad(l, "not an xtap state file (no \"" MAGIC " N\" line)");
		if (num(&s, 1000000, &v) || *s)
			return bad(l, "bad version");
		if (v != XTAP_STATE_VERSION)
			return bad(l, "version %" PRIu64 " not supported (this xtapd reads %d)", v, XTAP_STATE_VERSION);
		l->stage = ST_TOP;
		return 0;
	}
	if (s[0] == '#')
		return 0; /* a comment */
	if (l->stage == ST_DONE)
		return bad(l, "text after end-state");
	if (!(kw = word(&s)))
		return bad(l, "empty line or blank at the start or end");
	if (l->stage == ST_TOP)
		return top_line(l, kw, s);
	rc = crit_line(l, kw, s);
	return rc > 0 ? crit_end(l) : rc;
}

static int read_file(struct loader *l, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t k;
	int rc = 0;

	errno = 0;
	while (rc == 0 && (k = getline(&line, &cap, f)) >= 0) {
		l->line++;
		if (line[k - 1] != '\n') {
			rc = bad(l, "no line end: the file is cut short");
			break;
		}
		line[--k] = 0;
		if ((size_t)k != strlen(line))
			rc = bad(l, "NUL byte in the line");
		else if (k > XTAP_STATE_LINE_MAX)
			rc = bad(l, "line longer than %d bytes", XTAP_STATE_LINE_MAX);
		else
			rc = one_line(l, line);
		errno = 0;
	}
	if (rc == 0 && ferror(f)) {
		snprintf(l->err, sizeof(l->err), "%s: read: %s", l->path, strerror(errno ? errno : EIO));
		rc = -1;
	}
	if (rc == 0 && l->stage != ST_DONE) {
		l->line++;
		rc = bad(l, "the file ends before end-state: cut short");
	}
	free(line);
	return rc;
}

/* Moves what was read into s and x. Only memory can fail here; then s is
 * emptied again. */
static int apply(struct loader *l, struct dtcp_server *s, struct xtap_state_extra *x)
{
	for (size_t i = 0; i < l->n; i++) {
		if (dtcp_server_restore(s, l->ents[i])) {
			const struct dtcp_config *cfg = s->cfg;
			const struct dtcp_backend *be = s->be;
			void *be_ctx = s->be_ctx;
			dtcp_server_free(s);
			if (dtcp_server_init(s, cfg, be, be_ctx))
				memset(s, 0, sizeof(*s)); /* init only stores its arguments */
			snprintf(l->err, sizeof(l->err), "%s: criterion %" PRIu32 ": %s", l->path, l->ents[i]->c.id,
				 strerror(ENOMEM));
			errno = ENOMEM;
			return -1;
		}
		l->ents[i] = NULL; /* the server's now */
	}
	s->next_id = l->next_id_file;
	s->seq = l->seq;
	s->nseq = l->nseq;
	l->seq = NULL;
	if (x) {
		size_t k = 0, total = 0;
		struct xtap_state_dp *out;

		for (size_t i = 0; i < l->n; i++)
			total += l->dp[i].n;
		/* every entry's records, in id order and each in rule order (a
		 * transaction's records are at the pool's end: not in place) */
		if (!(out = malloc((total ? total : 1) * sizeof(*out)))) {
			x->dp = NULL;
			x->n = 0;
			return 0; /* no records: every criterion is installed anew */
		}
		for (size_t i = 0; i < l->n; i++) {
			if (l->dp[i].n)
				memcpy(out + k, l->pool + l->dp[i].off, l->dp[i].n * sizeof(*out));
			k += l->dp[i].n;
		}
		x->dp = out;
		x->n = k;
		x->generation = l->generation;
		x->x1 = l->x1;
		x->nx1 = l->nx1;
		l->x1 = NULL;
		l->nx1 = 0;
	}
	return 0;
}

/* A committed transaction t onto what was read so far. A deleted entry keeps
 * its place, marked gone in its record, until compact_deleted. */
static int merge_txn(struct loader *l, struct loader *t)
{
	/* Criteria-IDs are never reused (dtcp.md 6): a next-id going back
	 * would hand out the id of a criterion the state still holds. */
	if (t->next_id < l->next_id)
		return bad(t, "next-id %" PRIu64 " below the %" PRIu64 " before it", t->next_id, l->next_id);
	l->next_id = t->next_id;
	l->next_id_file = t->next_id_file;
	free(l->seq); /* every transaction carries every Seq */
	l->seq = t->seq;
	l->nseq = t->nseq;
	l->capseq = t->capseq;
	t->seq = NULL;
	t->nseq = t->capseq = 0;
	for (size_t i = 0; i < t->n; i++) {
		size_t pos = dtcp_entry_lower_bound(l->ents, l->n, t->ents[i]->c.id);

		if (pos == l->n || l->ents[pos]->c.id != t->ents[i]->c.id) {
			if (grow((void **)&l->dp, &l->capdp, l->n, sizeof(*l->dp)) ||
			    grow((void **)&l->ents, &l->cap, l->n, sizeof(*l->ents)))
				return bad(t, "out of memory");
			/* ids only grow, so this is an append but for a criterion
			 * deleted and written again in one replay */
			memmove(&l->ents[pos + 1], &l->ents[pos], (l->n - pos) * sizeof(*l->ents));
			memmove(&l->dp[pos + 1], &l->dp[pos], (l->n - pos) * sizeof(*l->dp));
			l->n++;
			l->ents[pos] = NULL;
		}
		free(l->ents[pos]); /* the criterion as it was before */
		l->ents[pos] = t->ents[i];
		t->ents[i] = NULL;
		/* its records go to the pool's end (the old ones stay unused) */
		while (l->npool + t->dp[i].n > l->cappool)
			if (grow((void **)&l->pool, &l->cappool, l->cappool, sizeof(*l->pool)))
				return bad(t, "out of memory");
		if (t->dp[i].n)
			memcpy(l->pool + l->npool, t->pool + t->dp[i].off, t->dp[i].n * sizeof(*l->pool));
		l->dp[pos] = (struct lrec){ (uint32_t)l->npool, t->dp[i].n, false };
		l->npool += t->dp[i].n;
	}
	t->npool = 0;
	for (size_t i = 0; i < t->ndel; i++) {
		size_t pos = dtcp_entry_lower_bound(l->ents, l->n, t->dels[i]);

		if (pos < l->n && l->ents[pos]->c.id == t->dels[i])
			l->dp[pos].gone = true;
	}
	/* X1 records: written anew replace (or join), gone ones leave */
	for (size_t i = 0; i < t->nx1; i++) {
		size_t pos = x1_find(l->x1, l->nx1, &t->x1[i]);

		if (t->x1gone[i]) {
			if (pos == l->nx1)
				return bad(t, "x1-gone: a record that is not in the state");
			memmove(&l->x1[pos], &l->x1[pos + 1], (l->nx1 - pos - 1) * sizeof(*l->x1));
			l->nx1--;
			continue;
		}
		if (pos == l->nx1) {
			if (grow((void **)&l->x1, &l->capx1, l->nx1, sizeof(*l->x1)))
				return bad(t, "out of memory");
			l->nx1++;
		}
		l->x1[pos] = t->x1[i];
	}
	return 0;
}

static void compact_deleted(struct loader *l)
{
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++)
		if (!l->dp[i].gone) {
			if (k != i) {
				l->ents[k] = l->ents[i];
				l->dp[k] = l->dp[i];
			}
			k++;
		} else {
			free(l->ents[i]);
		}
	l->n = k;
}

/* path.journal, if it continues this snapshot's generation: every committed
 * transaction in order. A last transaction without its commit line, or cut
 * inside a line, was never acknowledged (replies wait for the fdatasync that
 * follows it): it is dropped. Any other damage refuses the whole state. */
static int replay_one(struct loader *l, struct xtap_state_extra *x, bool next, uint64_t gen, bool *matched);

/* A compaction (persist.c) starts path.journal.next, generation G+1, when
 * it forks the writer of snapshot G+1: every change after the fork is
 * there, and only there. So with snapshot G: path.journal (G), then
 * path.journal.next (G+1) if there is one; with snapshot G+1 in place
 * (a crash before the journal's rename): path.journal.next alone. */
static int replay_journal(struct loader *l, struct xtap_state_extra *x)
{
	bool matched = false;

	if (!l->have_gen)
		return 0;
	if (x)
		x->journal_gen = l->generation;
	if (replay_one(l, x, false, l->generation, &matched))
		return -1;
	if (matched) {
		matched = false;
		if (l->generation < UINT64_MAX && replay_one(l, x, true, l->generation + 1, &matched))
			return -1;
		if (matched && x) {
			x->journal_next = true;
			x->journal_gen = l->generation + 1;
		}
		return 0;
	}
	if (replay_one(l, x, true, l->generation, &matched))
		return -1;
	if (matched && x)
		x->journal_next = true;
	return 0;
}

static int replay_one(struct loader *l, struct xtap_state_extra *x, bool next, uint64_t gen, bool *matched)
{
	char jp[PATH_MAX], *line = NULL, *p;
	size_t off = 0, end = 0;
	struct loader *t = NULL;
	uint64_t v;
	size_t cap = 0;
	struct stat st;
	ssize_t k;
	FILE *f;
	int rc = -1;

	if (journal_name_of(l->path, next, jp, sizeof(jp)))
		return bad(l, "journal name too long");
	if (!(f = fopen(jp, "re")))
		return errno == ENOENT ? 0 : bad(l, "journal: open: %s", strerror(errno));
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		fclose(f);
		snprintf(l->err, sizeof(l->err),
			 "%.100s: not a regular file of uid %u without group or other "
			 "write permission",
			 jp, (unsigned)geteuid());
		errno = EPERM;
		return -1;
	}
	if (!(t = calloc(1, sizeof(*t)))) {
		rc = bad(l, "out of memory");
		goto out;
	}
	t->path = jp;
	t->srv = l->srv;
	t->journal = true;
	t->stage = ST_DONE; /* between transactions */
	k = getline(&line, &cap, f);
	t->line = 1;
	/* a header cut short: the journal's first append never completed */
	if (k <= 0 || line[k - 1] != '\n') {
		rc = 0;
		goto out;
	}
	line[k - 1] = 0;
	p = line;
	if (!(p = word(&p)) || strcmp(p, JOURNAL_MAGIC)) {
		rc = bad(t, "not an xtap state journal");
		goto out;
	}
	p += strlen(p) + 1;
	if (num(&p, 1000000, &v) || v != XTAP_STATE_VERSION) {
		rc = bad(t, "journal version not supported (this xtapd reads %d)", XTAP_STATE_VERSION);
		goto out;
	}
	if (num(&p, UINT64_MAX, &v) || *p) {
		rc = bad(t, "journal: bad generation");
		goto out;
	}
	if (v != gen) {
		/* an older snapshot's journal: the snapshot already holds it */
		rc = 0;
		goto out;
	}
	/* bytes up to the end of the last committed transaction: the journal
	 * goes on from there (xtap_journal_resume) */
	*matched = true;
	off = end = (size_t)k;
	while ((k = getline(&line, &cap, f)) >= 0) {
		int r;

		off += (size_t)k;
		t->line++;
		if (line[k - 1] != '\n') {
			t->stage = ST_TOP; /* cut inside the last line: a torn last transaction */
			break;
		}
		line[--k] = 0;
		if ((size_t)k != strlen(line)) {
			rc = bad(t, "NUL byte in the line");
			goto out;
		}
		if (k > XTAP_STATE_LINE_MAX) {
			rc = bad(t, "line longer than %d bytes", XTAP_STATE_LINE_MAX);
			goto out;
		}
		if (t->stage == ST_DONE) {
			if (line[0] == '#') {
				end = off;
				continue;
			}
			if (strcmp(line, "begin")) {
				rc = bad(t, "begin expected");
				goto out;
			}
			t->stage = ST_TOP;
			t->have_next = false;
			drop_ents(t); /* all NULL after a merge */
			t->nseq = t->ndel = t->nx1 = 0;
			continue;
		}
		if ((r = one_line(t, line)) < 0) {
			rc = r;
			goto out;
		}
		if (t->stage == ST_DONE) {
			if (merge_txn(l, t))
				goto out;
			end = off;
			if (x)
				x->replayed++;
		}
	}
	if (ferror(f)) {
		rc = bad(t, "read: %s", strerror(errno ? errno : EIO));
		goto out;
	}
	if (t->stage != ST_DONE && x)
		x->torn = true;
	compact_deleted(l);
	if (x)
		x->journal_end = end;
	rc = 0;
out:
	if (rc && t && t->err[0] && t->err != l->err)
		snprintf(l->err, sizeof(l->err), "%s", t->err);
	if (t) {
		drop_ents(t);
		free(t->ents);
		free(t->seq);
		free(t->dp);
		free(t->pool);
		free(t->dels);
		free(t->x1);
		free(t->x1gone);
		free(t);
	}
	free(line);
	fclose(f);
	return rc;
}

int xtap_state_load(const char *path, struct dtcp_server *s, struct xtap_state_extra *x)
{
	struct loader *l = calloc(1, sizeof(*l));
	struct stat st;
	FILE *f = NULL;
	int rc = XTAP_STATE_ERROR, err;

	if (x) {
		x->dp = NULL;
		x->n = 0;
		x->generation = 0;
		x->replayed = 0;
		x->journal_end = 0;
		x->journal_next = false;
		x->torn = false;
		x->error[0] = 0;
		x->x1 = NULL;
		x->nx1 = 0;
	}
	if (!l) {
		set_error(x, "%s: %s", path, strerror(ENOMEM));
		errno = ENOMEM;
		return XTAP_STATE_ERROR;
	}
	l->path = path;
	l->srv = s;
	if (s->n || s->nseq) {
		snprintf(l->err, sizeof(l->err), "%s: the criteria table is not empty", path);
		errno = EBUSY;
		goto out;
	}
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT) {
			rc = XTAP_STATE_MISSING;
			goto out;
		}
		snprintf(l->err, sizeof(l->err), "%s: open: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st)) {
		snprintf(l->err, sizeof(l->err), "%s: fstat: %s", path, strerror(errno));
		goto out;
	}
	/* Whoever can write the file can task interceptions: only its owner,
	 * the daemon's user, may. */
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(l->err, sizeof(l->err),
			 "%s: not a regular file of uid %u without group "
			 "or other write permission (mode %03o, uid %u)",
			 path, (unsigned)geteuid(), (unsigned)(st.st_mode & 0777), (unsigned)st.st_uid);
		errno = EPERM;
		goto out;
	}
	if (read_file(l, f) || replay_journal(l, x) || check_x1(l) || apply(l, s, x))
		goto out;
	rc = XTAP_STATE_OK;
out:
	err = errno;
	if (f)
		fclose(f); /* read only: nothing to lose */
	if (rc == XTAP_STATE_ERROR)
		set_error(x, "%s", l->err);
	drop_ents(l);
	free(l->ents);
	free(l->seq);
	free(l->dp);
	free(l->pool);
	free(l->dels);
	free(l->x1);
	free(l->x1gone);
	free(l);
	errno = err;
	return rc;
}

void xtap_state_extra_free(struct xtap_state_extra *x)
{
	free(x->dp);
	x->dp = NULL;
	x->n = 0;
	free(x->x1);
	x->x1 = NULL;
	x->nx1 = 0;
}
