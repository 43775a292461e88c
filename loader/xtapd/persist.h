/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xtapd's persistence (docs/state-and-audit.md "How xtapd uses it"): what
 * the DTCP server and the datapath hold, into the state file (snapshot and
 * journal, state.h), and back at start (adoption or rebuild). One writer
 * for both: every criterion with every datapath rule it has.
 *
 * Durable before acknowledged: the daemon queues a burst's replies, then
 * xtap_persist_commit writes what the burst changed (one journal
 * transaction, one fdatasync; a snapshot when the journal cannot be used
 * or has outgrown the last snapshot). If that fails, xtap_persist_undo puts
 * the table and the datapath back as the disk has them, and the replies
 * that announced a change are answered 500 instead (xtap_persist_refusal).
 */
#ifndef XTAP_PERSIST_H
#define XTAP_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit.h"
#include "backend.h"
#include "classifier.h"
#include "dtcp.h"
#include "state.h"

/* A reply that announces a change, held until the change is durable; what
 * a 500 in its place needs, and where its audit line is. */
struct xtap_persist_ack {
	uint32_t session; /* the worker's connection id */
	int version;
	bool has_seq;
	uint64_t seq;
	struct dtcp_name csource;
	enum dtcp_method method;
	struct xtap_audit_mark from, to; /* its audit line(s) among the held ones */
	uint64_t time_ms;
};

struct xtap_persist_undo {
	uint32_t id, order;
	struct dtcp_entry *before; /* NULL: the id did not exist (an ADD) */
};

/* An X1 record with its state-file line (compared to tell a change). */
struct xtap_x1rec {
	struct x1_record r;
	char *line;
};
struct xtap_x1set {
	struct xtap_x1rec *v; /* sorted: destinations first, then by ADMF and DID / XID */
	size_t n;
};

struct xtap_persist {
	const char *path;
	struct dtcp_server *srv;
	struct xtap_backend *be;
	struct xtap_cls *cls;
	struct xtap_audit **audit; /* the daemon's (a reload replaces it) */
	struct xtap_journal journal;
	size_t snapshot_bytes; /* the journal growing past this makes a new snapshot */
	uint32_t *changed; /* ids added, deleted, refreshed or expired since the last commit */
	size_t nchanged, capchanged;
	bool changed_unknown; /* no memory for the list: snapshot */
	struct dtcp_seq_state *seq_saved; /* the Seq state the disk has */
	size_t nseq_saved;
	bool seq_unknown; /* no memory for the copy: compare nothing, commit */
	/* the open burst */
	bool burst;
	struct xtap_persist_undo *undo;
	size_t nundo, capundo;
	bool undo_lost; /* no memory for an undo record */
	size_t undo_noted;
	uint32_t undo_seq; /* order of the records of this burst */
	/* records of requests already answered (the rest: the one in progress) */
	struct xtap_persist_ack *acks;
	size_t nacks, capacks;
	bool failed; /* a commit of this burst failed */
	/* refusing changes: the last commit failed (audited, xtapctl status) */
	bool refusing;
	char fault[128]; /* what failed: "journal: ENOSPC, snapshot: ENOSPC" */
	uint64_t refused; /* requests answered 500 for it, since start */
	uint64_t commits, snapshots;
	uint64_t saves; /* commits that reached the disk */
	uint64_t last_save_ms; /* wall clock of the last one (or of a snapshot); 0: none */
	/* X1 records (docs/x1.md "Persistence: state records"): what the disk
	 * has, and the store they are written from (NULL: X1 not configured,
	 * the records are kept as the file has them) */
	struct x1_store *x1;
	struct xtap_x1set x1disk;
	bool x1_dirty; /* the store may differ from x1disk */
	/* an X1 burst: its ADMF's records before it, for the undo */
	bool x1_burst;
	char x1_admf[X1_ID_MAX];
	struct xtap_x1set x1base;
	/* compaction beside the service (persist.c) */
	pid_t child; /* the snapshot writer, 0: none (the journal is then .next) */
	size_t child_n;
	uint64_t child_start_ms, fork_ms, compact_retry_ms;
};

void xtap_persist_init(struct xtap_persist *p, const char *path, struct dtcp_server *srv, struct xtap_backend *be,
		       struct xtap_cls *cls, struct xtap_audit **audit);
void xtap_persist_free(struct xtap_persist *p);
/* A compaction's writer done? Then its snapshot goes in place (called by
 * every commit; the daemon may call it more often). */
void xtap_persist_poll(struct xtap_persist *p);

enum { XTAP_RESTORE_OK = 0, XTAP_RESTORE_PARTIAL = -1, XTAP_RESTORE_REFUSED = -2 };
/* Loads the state file into the (empty) server, adopts the running rules
 * (adopted: pinned maps were found) or installs every criterion, sweeps
 * rules no criterion names, and goes on with the journal it replayed. */
int xtap_persist_restore(struct xtap_persist *p, bool adopted);
/* The whole table into a snapshot of the next generation; the journal
 * starts anew after it. 0 or -1 (p->fault). */
int xtap_persist_snapshot(struct xtap_persist *p);

/* From the library's callbacks: an answered request (returns true when its
 * reply announces a change: the daemon then calls xtap_persist_ack for
 * it), an expiry, and the hook before a change (dtcp_config.before_change). */
bool xtap_persist_note_request(struct xtap_persist *p, const struct dtcp_request *r, int code, const uint32_t *ids,
			       size_t n_ids);
void xtap_persist_note_expire(struct xtap_persist *p, uint32_t id);
/* A criterion added or removed outside the DTCP library (an X1 task's,
 * x1mon.c): its record is written by the next commit. */
void xtap_persist_note_change(struct xtap_persist *p, uint32_t id);
void xtap_persist_before_change(struct xtap_persist *p, uint32_t id, const struct dtcp_entry *e);
/* Returns the ack's number (its index + 1), 0 when there was no memory. */
size_t xtap_persist_ack(struct xtap_persist *p, const struct xtap_persist_ack *a);

/* X1 (x1mon.c). attach: the records the restore read go into the store
 * (destinations, then the tasks over their criteria, already in the table);
 * from then on every commit writes what changed in it. -1: refused (the
 * loader checked the records: only memory). */
int xtap_persist_x1_attach(struct xtap_persist *p, struct x1_store *s);
/* A burst of one container of ADMF admf: as burst_begin, and the ADMF's
 * tasks and destinations kept for xtap_persist_undo (a container touches
 * its own ADMF's only, docs/x1.md "per-ADMF isolation"). */
void xtap_persist_x1_begin(struct xtap_persist *p, const char *admf);
/* The X1 store changed (or may have): the next commit compares it. */
void xtap_persist_x1_changed(struct xtap_persist *p);
/* What was committed (or refused and undone) in the burst so far is
 * settled: the undo starts again from here. */
void xtap_persist_x1_settled(struct xtap_persist *p);
void xtap_persist_x1_end(struct xtap_persist *p);

void xtap_persist_burst_begin(struct xtap_persist *p);
/* Anything to write? (changed ids or Seq state) */
bool xtap_persist_pending(const struct xtap_persist *p);
/* Writes what changed. 0: durable; -1: not (p->fault says why; audited
 * once when the sensor starts refusing, and again when it recovers). */
int xtap_persist_commit(struct xtap_persist *p);
/* After the restore: the records of criteria installed again (new slots)
 * go to the journal the restore went on with. A snapshot only when no
 * journal continues the state (a fresh start, a journal that cannot be
 * reopened): the first change would need one, better now than in a burst.
 * No snapshot otherwise: at 1M criteria it costs seconds. */
int xtap_persist_start(struct xtap_persist *p);
/* At a stop: what is pending goes to the journal, no snapshot (the
 * journal is complete; a snapshot of 1M criteria costs seconds). A
 * compaction's writer is stopped: its journals stay for the next load. */
int xtap_persist_stop(struct xtap_persist *p);
/* The burst's changes cannot be made durable for another reason (the audit
 * log): as a failed commit. */
void xtap_persist_fail(struct xtap_persist *p, const char *what, int err);
/* After a failed commit: the burst's changes undone (table and datapath as
 * the disk has them). Returns how many criteria it put back. */
size_t xtap_persist_undo(struct xtap_persist *p);
/* The signed 500 that replaces ack k's reply: length, 0 if it cannot be
 * formatted. Its reason phrase names the fault. Also rewrites the ack's
 * audit line to say 500. */
size_t xtap_persist_refusal(struct xtap_persist *p, size_t k, const struct dtcp_source_policy *pol, uint64_t now_ms,
			    char *out, size_t cap);
/* The replies queued so far are gone (their changes durable, or refused):
 * their acks and undo records go; the burst goes on. */
void xtap_persist_settled(struct xtap_persist *p);
/* The burst is over (its replies are gone): acks and undo records go. */
void xtap_persist_burst_end(struct xtap_persist *p);

#endif
