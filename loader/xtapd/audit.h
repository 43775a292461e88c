/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The audit log of xtapd (docs/state-and-audit.md): one JSON object per line,
 * appended with a single write(2) to a file opened O_APPEND, so lines of
 * several writers (processes or threads) never interleave.
 *
 * It records who did what and the outcome: control sources, SSH peers,
 * methods, Seq, reply codes, Criteria-IDs, expiries, authentication
 * failures, start and stop. Never match fields (targets): those are only in
 * the state file.
 */
#ifndef XTAP_AUDIT_H
#define XTAP_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Input bytes kept of each string field; longer ones are cut and the line
 * gets "cut":true. Escaped, a byte takes at most 6 bytes (\u00XX). */
#define XTAP_AUDIT_STR_MAX 256
/* Criteria-IDs per line; a request that touched more is written as several
 * lines with "part" and "parts". */
#define XTAP_AUDIT_IDS_PER_LINE 1024
/* Longest line: 5 string fields, 1024 ids of 10 digits and a comma, and
 * under 512 bytes of names, numbers and punctuation. */
#define XTAP_AUDIT_LINE_MAX (5 * (6 * XTAP_AUDIT_STR_MAX + 2) + 11 * XTAP_AUDIT_IDS_PER_LINE + 512)

struct xtap_audit;

/* Opens (creating) the log for appending, mode 0600 whatever the umask.
 * NULL with errno set on failure. */
struct xtap_audit *xtap_audit_open(const char *path);
/* Closes; returns 0 or -1 (errno) if close failed. NULL is allowed. */
int xtap_audit_close(struct xtap_audit *a);
/* Lines that could not be written whole since open (disk full, I/O error):
 * the daemon reports them; an audit log with gaps must not go unnoticed. */
uint64_t xtap_audit_failures(const struct xtap_audit *a);

/* Held lines: between xtap_audit_hold(a, true) and a flush, lines are kept
 * in memory and go out together with one write(2) (still whole lines, never
 * mixed with another writer's), at most 1 MiB at a time: xtapd holds the
 * lines of a burst of requests and flushes them before the burst's replies
 * leave, instead of a write per request. Hold off flushes. Both return 0,
 * or -1 with errno if a line was not written whole. */
int xtap_audit_hold(struct xtap_audit *a, bool on);
int xtap_audit_flush(struct xtap_audit *a);
/* fdatasync of the log (nothing when nothing was written since the last):
 * after a flush, before the replies it records leave. */
int xtap_audit_sync(struct xtap_audit *a);

/* Where the next held line goes; stale once the held lines are flushed. */
struct xtap_audit_mark {
	uint64_t epoch;
	size_t off;
};
struct xtap_audit_mark xtap_audit_mark(const struct xtap_audit *a);
/* Held lines [from, to) replaced by those held since tail (written after
 * them), in their place: how a request's line is rewritten when its answer
 * changes (a change that could not be made durable: 500). -1: a mark is
 * stale (the lines are already written) or no memory; nothing changed. */
int xtap_audit_held_replace(struct xtap_audit *a, struct xtap_audit_mark from, struct xtap_audit_mark to,
			    struct xtap_audit_mark tail);

/* Every writer returns 0, or -1 with errno if the line was not written
 * whole (while held: 0; a failure shows at the flush and in
 * xtap_audit_failures). time_ms: ms since the epoch, UTC. Strings may be
 * NULL (null). */

/* A DTCP message and its outcome. seq NULL: none (not parsed). code 0: no
 * reply (bad HMAC, refused Seq, unknown control source). why: a fixed reason
 * or NULL. */
int xtap_audit_request(struct xtap_audit *a, uint64_t time_ms, const char *csource, const char *peer,
		       const char *method, const uint64_t *seq, int code, const uint32_t *ids, size_t n_ids,
		       const char *why);

enum xtap_expire_reason { XTAP_EXPIRE_IDLE, XTAP_EXPIRE_TOTAL, XTAP_EXPIRE_PACKETS, XTAP_EXPIRE_BYTES };
/* "idle", "total", "packets", "bytes" (dtcp_server_expire's reasons) -> enum;
 * -1 for anything else. */
int xtap_expire_reason_parse(const char *s);
int xtap_audit_expire(struct xtap_audit *a, uint64_t time_ms, const char *csource, uint32_t id,
		      enum xtap_expire_reason reason);

/* A failed SSH authentication. method: "password", "publickey",
 * "keyboard-interactive", ... */
int xtap_audit_auth_fail(struct xtap_audit *a, uint64_t time_ms, const char *user, const char *peer,
			 const char *method);
/* A successful one, the same fields. */
int xtap_audit_auth_ok(struct xtap_audit *a, uint64_t time_ms, const char *user, const char *peer, const char *method);

enum xtap_audit_kind {
	XTAP_EV_START, /* xtapd started */
	XTAP_EV_STOP, /* xtapd stopping (criteria stay on the datapath) */
	XTAP_EV_RELOAD, /* configuration reloaded */
	XTAP_EV_ADOPT, /* pinned maps and programs adopted */
	XTAP_EV_REBUILD, /* datapath rebuilt from the state file */
	XTAP_EV_STATE_ERROR, /* the state file could not be loaded or saved */
	XTAP_EV_CONNECTION_REFUSED, /* over the session or connection rate limits */
	XTAP_EV_SESSION_OPEN,
	XTAP_EV_SESSION_CLOSE, /* detail says why (client, idle, 3 strikes) */
	XTAP_EV_WORKER, /* the SSH worker ended and is restarted (how, restarts) */
	XTAP_EV_SUPPRESSED, /* repeated pre-auth events not written one by one (kind, count) */
	XTAP_EV_X3, /* an X3 destination connected, disconnected, refused TLS, ended */
	XTAP_EV_N
};
const char *xtap_audit_kind_name(enum xtap_audit_kind k);
/* detail: free text, or NULL. */
int xtap_audit_event(struct xtap_audit *a, uint64_t time_ms, enum xtap_audit_kind kind, const char *detail);

/* The audit callback of struct dtcp_config (dtcp.h): set cfg.audit to this
 * and cfg.ctx to the handle. "EXPIRE" becomes an expire line, everything
 * else a request line with the peer set by xtap_audit_set_peer (the library
 * passes neither peer nor Seq) and the current time. */
void xtap_audit_dtcp(void *ctx, const char *csource, const char *method, int code, uint32_t id, const char *why);
/* The SSH peer of the session being fed to the library (NULL: none); the
 * daemon sets it before dtcp_session_feed. Copied, at most 63 bytes. */
void xtap_audit_set_peer(struct xtap_audit *a, const char *peer);

#endif
