/* SPDX-License-Identifier: BSD-2-Clause */
/* What the monitor serves besides DTCP: the xtapctl socket (docs/xtapctl.md;
 * root's alone, a few connections at once, each with a deadline, answers
 * written without blocking) and the metrics listener's socket pair
 * (loader/xtapd/metrics_http.c; one scrape per byte it sends). Requests are
 * answered by ctl.c from the view the owner's ctx callback gives; the
 * detach request is handed back to the owner, which takes the datapath
 * down and then has the answer sent by xtap_ctlsrv_close. */
#ifndef XTAP_CTLSERVE_H
#define XTAP_CTLSERVE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "ctl.h"

struct xtap_audit;

/* xtapctl connections served at once: one operator at a time is the norm;
 * more wait in the listen backlog */
#define XTAP_CTLSRV_CONNS 4

struct xtap_ctl_conn {
	int fd; /* -1: free */
	uint64_t deadline_ms;
	char rx[XTAP_CTL_REQ_MAX]; /* the request line, up to its newline */
	size_t nrx;
	struct xbuf tx; /* the answer */
	size_t off; /* of tx written */
};

struct xtap_ctlsrv {
	const char *path; /* the xtapctl socket */
	int fd; /* its listening socket, -1: none */
	struct xtap_ctl_conn c[XTAP_CTLSRV_CONNS];
	struct xtap_audit **audit; /* the owner's: refused peers are audited */
	struct xtap_ctl_ctx (*ctx)(void *owner); /* what a request may see, now */
	void *owner;
	int metrics_fd; /* the metrics listener's socket pair, -1: none */
	pid_t metrics_pid;
	uint64_t metrics_last_ms;
	struct xbuf metrics_text; /* the last scrape's answer */
};

/* Nothing open; path the socket's. */
void xtap_ctlsrv_init(struct xtap_ctlsrv *cs, const char *path);
/* Listens on cs->path: 0; -2 when another xtapd answers there; -1. */
int xtap_ctlsrv_listen(struct xtap_ctlsrv *cs);
/* Fills p[0] (the listening socket) and p[1..XTAP_CTLSRV_CONNS]. */
void xtap_ctlsrv_poll_set(const struct xtap_ctlsrv *cs, struct pollfd *p);
/* Serves what poll found in p (as set above; ready: poll said something
 * is ready) and drops connections past their deadline. Returns the
 * connection that asked for a detach, or -1. */
int xtap_ctlsrv_serve(struct xtap_ctlsrv *cs, const struct pollfd *p, int ready);
/* At exit: answers the detach of connection detach (-1: none; err: the
 * teardown's), closes everything, removes the socket. */
void xtap_ctlsrv_close(struct xtap_ctlsrv *cs, int detach, int err);

/* The metrics listener on cfg's address, dropping to user: 0, or -1. */
int xtap_ctlsrv_metrics_start(struct xtap_ctlsrv *cs, const struct xtap_config *cfg, const char *user);
/* One scrape (its socket is readable). */
void xtap_ctlsrv_metrics_serve(struct xtap_ctlsrv *cs);
/* SIGCHLD: the listener reaped if it is the child that exited. */
void xtap_ctlsrv_metrics_reap(struct xtap_ctlsrv *cs);
void xtap_ctlsrv_metrics_stop(struct xtap_ctlsrv *cs);

#endif
