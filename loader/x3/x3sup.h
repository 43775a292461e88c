/* SPDX-License-Identifier: BSD-2-Clause */
/* xtapd's side of the X3 delivery processes (docs/x3.md): one `xtapd
 * --x3-delivery` per content destination with x3 statements, exec'd from
 * the monitor's image like the SSH worker, restarted with backoff when it
 * ends, told where its sequence goes on, stopped on SIGHUP when its
 * statements changed and at the final stop. */
#ifndef XTAP_X3SUP_H
#define XTAP_X3SUP_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define XTAP_X3SUP_FLAG "--x3-delivery"
#define XTAP_X3SUP_STATUS_FD 3 /* the child's end of its status pipe */
#define XTAP_X3SUP_BACKOFF_MIN_MS 100
#define XTAP_X3SUP_BACKOFF_MAX_MS 10000 /* as the SSH worker's */
#define XTAP_X3SUP_QUICK_MS 1000 /* dying sooner than this after the start doubles the delay */
#define XTAP_X3SUP_STOP_MS 5000 /* its 3 s drain, then SIGKILL */
/* audit events taken from one destination per minute: the process is not
 * trusted, and a receiver flapping for hours must not fill the audit log */
#define XTAP_X3SUP_EVENTS_PER_MIN 30
/* status bytes read from one process per turn of the monitor's loop, so a
 * process that writes without end cannot hold the monitor */
#define XTAP_X3SUP_READ_MAX (64 << 10)
/* the sequence file (STATE.x3): rewritten at most this often while it
 * changes, and at the stop (then marked clean) */
#define XTAP_X3SUP_SAVE_MS 1000
/* after an unclean stop the saved number may be behind what the last
 * process used: the next one skips this many, and twice the PDUs of the last
 * save interval, so that no number is used twice (the receiver reports the
 * skipped ones missing; the log and the audit say how many) */
#define XTAP_X3SUP_SKIP_MIN 1024
/* configured destinations and X1 delivery slots (docs/x1.md) */
#define XTAP_X3SUP_MAX (XTAP_CFG_CDESTS_MAX + XTAP_CFG_X1_SLOTS_MAX)
#define XTAP_X3SUP_CD_FD 4 /* an X1 slot's statements, for the child to read (-C) */

struct xtap_x3sup_dest {
	char name[XTAP_CFG_NAME_MAX];
	struct xtap_cfg_cdest cd; /* the statements it was started with */
	bool wanted; /* configured now */
	bool x1; /* an X1 slot: its statements from xtapd, not the file (-C) */
	int cd_fd; /* an X1 slot's statements pipe, kept for new direction targets (SIGHUP); -1 */
	pid_t pid; /* 0: not running */
	int status_fd;
	char line[512];
	size_t linelen;
	/* from its last status line */
	uint32_t next_seq;
	uint64_t pdus, confirmed, full, unconfirmed;
	bool final;
	int state; /* 0 down, 1 connecting, 2 handshake, 3 up */
	uint64_t kernel_drops, not_ip, connects, tls_failures, disconnects;
	uint64_t bytes; /* TLS payload bytes written, replays included */
	uint64_t started_ms, due_ms;
	uint64_t changed_ms; /* when it last went up or down (monotonic) */
	uint32_t backoff_ms;
	uint64_t restarts, lost_unconfirmed; /* totals over its processes */
	uint64_t events_window_ms, events_in_window, events_dropped;
	uint32_t saved_seq, rate; /* the sequence file's view */
};

/* An event for the audit log: "NAME: KIND: TEXT", TEXT from the child,
 * printable ASCII only and bounded (the child is not trusted). */
typedef void (*xtap_x3sup_event_fn)(void *ctx, const char *detail);

struct xtap_x3sup {
	xtap_x3sup_event_fn event; /* NULL: none */
	void *event_ctx;
	char cfg_path[XTAP_CFG_PATH_MAX];
	char seq_path[XTAP_CFG_PATH_MAX + 8]; /* "" : sequences not kept across xtapd restarts */
	uint64_t saved_ms;
	/* the file as read at the start: name, XID, next number, clean */
	size_t n_saved;
	struct {
		char name[XTAP_CFG_NAME_MAX];
		uint8_t xid[16];
		uint32_t next, rate;
		bool clean;
	} saved[XTAP_X3SUP_MAX];
	char user[64];
	int level;
	size_t n;
	char vt_peer[XTAP_CFG_IFNAME_MAX]; /* where copies come in: an X1 slot's -i */
	struct xtap_x3sup_dest d[XTAP_X3SUP_MAX];
};

/* state_path: the sequences are kept in state_path.x3 (NULL: not kept). */
void xtap_x3sup_init(struct xtap_x3sup *s, const char *cfg_path, const char *user, int level, const char *state_path);
/* The configuration (first or reloaded): starts what is new, stops what
 * went or changed (restarted by xtap_x3sup_tick with the new statements). */
void xtap_x3sup_apply(struct xtap_x3sup *s, const struct xtap_config *c, uint64_t now_ms);
/* The X1 delivery slots wanted now (docs/x1.md "Delivery over X3"), each a
 * content destination with x3 statements named "X1/PORT" (no configured
 * name has a '/'): new ones started,
 * changed ones restarted, the rest stopped. The configured ones untouched. */
void xtap_x3sup_set_x1(struct xtap_x3sup *s, const struct xtap_cfg_cdest *cd, size_t n, uint64_t now_ms);
/* Status pipes: up to max pollfds from p; returns how many. */
size_t xtap_x3sup_poll_set(struct xtap_x3sup *s, struct pollfd *p, size_t max);
void xtap_x3sup_read(struct xtap_x3sup *s, const struct pollfd *p, size_t n);
/* After SIGCHLD and every second: ended processes reaped, due ones started. */
void xtap_x3sup_tick(struct xtap_x3sup *s, uint64_t now_ms);
void xtap_x3sup_stop(struct xtap_x3sup *s);
/* One status or event line from a delivery process (no newline), as the
 * monitor takes it: what does not fit the format is ignored (exposed for
 * tests/fuzz/fuzz_x3sup.c). */
void xtap_x3sup_parse(struct xtap_x3sup *s, struct xtap_x3sup_dest *d, const char *line);
/* Its delivery down (not connected, or no process) for at least
 * XTAP_X3SUP_FAULT_MS at now_ms: an X1 destination's deliveryFault and its
 * issue report (docs/x1.md). */
#define XTAP_X3SUP_FAULT_MS 5000 /* the first connection's backoff and handshake fit in it */
bool xtap_x3sup_fault(const struct xtap_x3sup_dest *d, uint64_t now_ms);
/* "down", "connecting", "handshake", "up", or "not running". */
const char *xtap_x3sup_state_name(const struct xtap_x3sup_dest *d);

/* The delivery process itself (xtap-x3.c). */
int xtap_x3_main(int argc, char **argv);

#endif
