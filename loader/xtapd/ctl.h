/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xtapctl's requests and answers (docs/xtapctl.md), without I/O: xtapd reads
 * one request line from its local socket, passes it here with a view of its
 * state, and writes the answer back.
 *
 * Confidentiality: an answer never holds an address, port, protocol or
 * interface of a criterion unless the request says --reveal; a revealing
 * request is written to the audit log before it is answered.
 */
#ifndef XTAP_CTL_H
#define XTAP_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "backend.h"
#include "config.h"
#include "datapath.h"
#include "dtcp.h"
#include "xbuf.h"
#include "ctlproto.h"

struct xtap_x3sup;

/* What xtapd counts for the metrics besides the datapath's own counters:
 * DTCP requests by method and result code (a small table: about 8 methods
 * times the 30-odd codes of dtcp.md; a pair beyond it is counted with code
 * 0, shown as "other") and failed logins by method. */
#define XTAP_CTL_REQ_KINDS 128
struct xtap_ctl_stats {
	struct {
		uint8_t method; /* enum dtcp_method */
		uint16_t code; /* 0: a pair the table had no room for */
		uint64_t n;
	} req[XTAP_CTL_REQ_KINDS];
	size_t n_req;
	uint64_t auth_fail_password, auth_fail_publickey;
};
void xtap_ctl_count_request(struct xtap_ctl_stats *st, int method, int code);

/* What a request may see of the daemon. Read only, except that reading the
 * counters goes through the classifier handle. */
struct xtap_ctl_ctx {
	const struct xtap_config *cfg;
	const struct xtap_dp *dp;
	struct xtap_cls *cls;
	struct xtap_backend *be;
	const struct dtcp_server *srv;
	struct xtap_audit *audit;
	unsigned sessions; /* open DTCP sessions */
	unsigned connections; /* SSH connections the monitor holds a slot for (logged in or not) */
	long worker_pid; /* the SSH worker; 0: none running (a restart is due) */
	uint64_t worker_restarts; /* starts of the worker after the first */
	uint64_t started_ms; /* wall clock, ms */
	uint64_t now_ms;
	long pid;
	bool refusing; /* the state file cannot be written: changes answered 500 */
	const char *state_fault; /* what failed ("" when nothing) */
	uint64_t refused; /* requests answered 500 for it since start */
	uint64_t journal_bytes; /* the state journal's synced length */
	uint64_t commits; /* state transactions made durable since start */
	uint64_t last_save_ms; /* when the state last reached the disk; 0: not since start */
	const struct xtap_ctl_stats *stats; /* NULL: no request counts */
	const struct xtap_x3sup *x3; /* the X3 delivery processes (x3sup.h); NULL: none */
};

enum xtap_ctl_action {
	XTAP_CTL_ANSWER = 0, /* out holds the answer */
	XTAP_CTL_DETACH, /* take the datapath down, then xtap_ctl_detached() */
};

/* Handles one request line (without its newline). The answer, a status line
 * ("OK" or "ERROR: reason") then the body, is in out (heap, at most
 * XTAP_CTL_ANSWER_MAX bytes, xbuf_free) except for XTAP_CTL_DETACH. */
enum xtap_ctl_action xtap_ctl_handle(const struct xtap_ctl_ctx *x, const char *line, size_t n, struct xbuf *out);
/* The answer to a detach request, once the datapath is down (err: 0 or -errno). */
void xtap_ctl_detached(const char *line, size_t n, int err, struct xbuf *out);

#endif
