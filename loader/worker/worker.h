/* SPDX-License-Identifier: BSD-2-Clause */
/* xtapd's network-facing SSH worker (docs/privsep.md): the unprivileged
 * process that serves the flow-tap-dtcp subsystem with libssh and asks the
 * monitor, over monfd (loader/worker/monproto.h), for every decision. */
#ifndef XTAP_WORKER_H
#define XTAP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#define XTAP_WORKER_PORT 32001 /* dtcp.md 1 */
#define XTAP_WORKER_MAX_SESSIONS 75 /* dtcp.md 1: Juniper's default */
#define XTAP_WORKER_RATE_PER_MIN 150 /* dtcp.md 1: Juniper's default */
#define XTAP_WORKER_IDLE_SECS 1800 /* a DTCP session silent this long is closed */
#define XTAP_WORKER_AUTH_SECS 60 /* from accept to authenticated */
#define XTAP_WORKER_AUTH_TRIES 6 /* failed attempts before the connection closes */
/* per source address: half the global limits, so that one address (a
 * scanner, a broken client, an attacker) leaves room for every other */
#define XTAP_WORKER_SRC_SESSIONS 37
#define XTAP_WORKER_SRC_RATE 75

struct xtap_worker_opts {
	int listen_fd; /* a listening socket handed over (xtapd); -1: open one */
	const char *listen_addr; /* numeric IPv4/IPv6 address; NULL: "::" (dual stack) */
	uint16_t port; /* 0: XTAP_WORKER_PORT (tests bind their own port) */
	const char *hostkey; /* ed25519 private key file (the monitor creates it) */
	const char *user; /* unprivileged account to switch to, e.g. "xtap", "nobody" */
	unsigned max_sessions; /* concurrent connections, authenticated or not */
	unsigned rate_per_min; /* new connections accepted per 60 s */
	unsigned src_sessions; /* concurrent connections from one address (<= max_sessions) */
	unsigned src_rate; /* new connections per 60 s from one address (<= rate_per_min) */
	unsigned idle_secs; /* 0: no idle timeout */
	unsigned auth_secs;
	unsigned auth_tries;
	bool no_seccomp; /* leave the seccomp filter out (measuring it) */
	int log_level; /* loader/common/log.h level; the worker logs to stderr */
};

/* The defaults above. */
void xtap_worker_opts_default(struct xtap_worker_opts *o);
/* The listening socket (non-blocking, dual stack for "::"), or -1. xtapd
 * opens it once and hands it to every worker it starts. */
int xtap_worker_listen(const char *addr, uint16_t port);

/* The worker's whole life: opens the listener, drops privileges (user,
 * groups, every capability, no_new_privs, seccomp), then serves until the
 * monitor closes monfd. Runs in the child the monitor forked; returns the
 * exit status for it (0: monitor gone, 1: could not start or a fatal error). */
int xtap_worker_main(int monfd, const struct xtap_worker_opts *o);

#endif
