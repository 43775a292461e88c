/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The state file of xtapd (docs/state-and-audit.md): the criteria table, the
 * Criteria-ID counter and the strict-mode Seq state of a struct dtcp_server,
 * plus what the daemon keeps per criterion on the datapath. A snapshot
 * (written whole and atomically: at compaction, or when no journal carries
 * the state on) and its journal of committed transactions, appended and
 * synced per burst (persist.c decides which); both read once at start.
 *
 * The file holds interception targets: it is created 0600 whatever the
 * umask, and nothing here logs. Errors are described in x->error, never with
 * the content of a line (that may be a target), only its number.
 */
#ifndef XTAP_STATE_H
#define XTAP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtcp.h"
#include "x1.h"

#define XTAP_STATE_VERSION 1
/* Longest line load accepts. The longest line written is an escaped ADD
 * (at most DTCP_MSG_MAX bytes, 4 bytes per escaped byte in the worst case). */
#define XTAP_STATE_LINE_MAX (4 * DTCP_MSG_MAX + 64)
#define XTAP_STATE_ERR_MAX 256
/* Datapath records one criterion may have: XTAP_BE_MAX_RULES (backend.h),
 * the rules one criterion may expand to. */
#define XTAP_STATE_DP_MAX 1024

/* Where a criterion lives on the datapath (include/xtap.h): the slot in
 * xtap_rules and the uid of one of its rules (a criterion has one record
 * per rule, in the backend's rule order). On adoption the daemon keeps a slot
 * only if the pinned rule still carries this uid; a slot whose uid is not in
 * the file was installed by a run that crashed before saving, and is removed. */
struct xtap_state_dp {
	uint32_t id; /* Criteria-ID */
	uint32_t slot;
	uint32_t uid; /* nonzero */
};

/* What the daemon adds to the library's table. */
struct xtap_state_extra {
	/* Save: grouped by id, ids increasing, each id in the table, at most
	 * XTAP_STATE_DP_MAX per id, each id's in rule order (a criterion
	 * without a record is written without a datapath line).
	 * Load: malloc'ed by load in file (id) order; free with
	 * xtap_state_extra_free. */
	struct xtap_state_dp *dp;
	size_t n;
	/* Save: written as "generation G" when nonzero, the journal's tie to
	 * this snapshot. Load: the snapshot's (0: none). */
	uint64_t generation;
	/* Load: journal transactions replayed; torn: a last one without its
	 * commit was dropped (never acknowledged). */
	size_t replayed;
	bool torn;
	/* Load: bytes of path.journal up to its last committed transaction
	 * (0: no journal of this snapshot's generation), for
	 * xtap_journal_resume. */
	size_t journal_end;
	bool journal_next; /* load: the last journal replayed is path.journal.next (see persist.c) */
	uint64_t journal_gen; /* load: its generation */
	/* Save: the new file was renamed over path, even if the save then
	 * failed (the directory's fsync): path may be the new file now. */
	bool renamed;
	/* X1 records (docs/x1.md "Persistence: state records"), x1-dest and
	 * x1-task lines. Save (snapshot): every record, after the criteria.
	 * Journal append: the records written anew (x1) and those gone
	 * (x1_gone, an "x1-gone" line each naming the record as it was).
	 * Load: every record as the snapshot and journal leave it, the
	 * destinations first, malloc'ed (xtap_state_extra_free); the loader
	 * has checked that each task's destinations are there and that the
	 * criteria of X1 control sources are exactly those the tasks name. */
	struct x1_record *x1;
	size_t nx1;
	const struct x1_record *x1_gone;
	size_t nx1_gone;
	/* Why the last save or load failed: "PATH:LINE: what" (no content). */
	char error[XTAP_STATE_ERR_MAX];
};

enum xtap_state_result {
	XTAP_STATE_ERROR = -1, /* errno set, x->error says why; nothing applied */
	XTAP_STATE_OK = 0,
	XTAP_STATE_MISSING = 1, /* no state file: a fresh start */
};

/* Writes path.tmp (0600), fsyncs it, renames it over path and fsyncs the
 * directory: after a crash path is the old file or the new one, whole.
 * x may be NULL (no datapath lines). Returns XTAP_STATE_OK or _ERROR; on
 * error x->error is filled in (the one field of x that save writes: x must
 * not point to a const object). */
int xtap_state_save(const char *path, const struct dtcp_server *s, const struct xtap_state_extra *x);
/* xtap_state_save in two steps: path.tmp written and fsync'd (a child
 * process may do it from a copy-on-write image), then renamed over path
 * and the directory fsync'd. */
int xtap_state_write_tmp(const char *path, const struct dtcp_server *s, const struct xtap_state_extra *x);
int xtap_state_install(const char *path, struct xtap_state_extra *x);

/* Reads path into s, which must be freshly initialised (dtcp_server_init:
 * no entries, no Seq state), and x (may be NULL: datapath lines are then
 * checked and dropped). The whole file is checked before anything is
 * applied: on error s and x are left empty. path.tmp is ignored (an
 * unfinished save). */
int xtap_state_load(const char *path, struct dtcp_server *s, struct xtap_state_extra *x);

void xtap_state_extra_free(struct xtap_state_extra *x);

/* The line of an X1 record (without its line end) as the state file holds
 * it, into line (X1_RECORD_MAX); its length, 0 if the encoder refuses it. */
size_t xtap_state_x1_line(const struct x1_record *r, char *line, size_t cap);

/* The journal, path.journal (docs/state-and-audit.md "Journal"): changes
 * since the snapshot of one generation, appended one transaction per burst
 * of requests and fdatasync'ed, replayed by xtap_state_load after the
 * snapshot whose generation it names. */
struct xtap_journal {
	int fd; /* -1: not open (the next append creates it anew) */
	uint64_t generation; /* of the snapshot it continues */
	size_t size; /* bytes appended and synced */
	bool broken; /* a failed append could not be cut off: snapshot first */
	/* fd < 0: a journal may be created anew (truncating the file there,
	 * which is then an older snapshot's). False when no durable snapshot
	 * of this generation is known: appends are refused, snapshot first. */
	bool fresh;
	bool next; /* the file is path.journal.next: a snapshot is being written */
};

/* One transaction: next-id, every Seq, and for each of ids (strictly
 * increasing) the criterion as s holds it now, or its deletion. x holds the
 * datapath records of these ids (may be NULL). A failed append is cut off
 * the file again (else the journal is marked broken); returns _OK or _ERROR
 * with x->error. */
int xtap_journal_append(struct xtap_journal *j, const char *path, const struct dtcp_server *s,
			const struct xtap_state_extra *x, const uint32_t *ids, size_t n_ids);

/* After a snapshot of this generation is in place: the old journal goes. */
int xtap_journal_reset(struct xtap_journal *j, const char *path, uint64_t generation);

/* After a load (x as xtap_state_load filled it): go on appending to the
 * journal it replayed, cut after its last committed transaction, so that
 * nothing a durable snapshot still needs is ever truncated. -1: it could
 * not be reopened (the journal then refuses appends: snapshot first). */
int xtap_journal_resume(struct xtap_journal *j, const char *path, const struct xtap_state_extra *x);

/* After the snapshot of j's generation is in place: path.journal.next,
 * which j writes (j->next), becomes path.journal (rename, directory fsync). */
int xtap_journal_promote(struct xtap_journal *j, const char *path);

#endif
