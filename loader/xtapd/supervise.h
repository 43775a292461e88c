/* SPDX-License-Identifier: BSD-2-Clause */
/* The monitor's side of the SSH worker's life (docs/privsep.md): start it
 * from a fresh program image, restart it with backoff whenever it dies,
 * never wait on it. Interception does not depend on the worker: only
 * SIGTERM or `xtapctl detach` take the datapath down.
 *
 * The worker is xtapd itself, exec'd (from /proc/self/exe, the image the
 * monitor runs) in a hidden mode, as OpenSSH's sshd execs sshd-session:
 * nothing of the monitor's memory (DTCP keys, password hashes, authorized
 * keys, criteria) survives the exec. It is handed only its socket to the
 * monitor (fd 3), the listening socket (fd 4, which the monitor keeps
 * open across restarts) and its options on the command line (the host
 * key's path, the user, limits: nothing secret). */
#ifndef XTAP_SUPERVISE_H
#define XTAP_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sendq.h"
#include "worker.h"

#define XTAP_SUP_WORKER_FLAG "--ssh-worker" /* argv[1] of the exec'd worker */
#define XTAP_SUP_X1_FLAG "--x1-worker" /* argv[1] of the exec'd X1 front end (x1mon.h) */
#define XTAP_SUP_MONFD 3
#define XTAP_SUP_LISTENFD 4
/* Backoff: a worker that dies within XTAP_SUP_EARLY_MS of its start (it
 * could not start: a bad host key, no such user) doubles the delay before
 * the next start, up to XTAP_SUP_BACKOFF_MAX_MS; one that served longer is
 * restarted after XTAP_SUP_BACKOFF_MIN_MS, so a client that crashes it
 * costs the others a fraction of a second. */
#define XTAP_SUP_BACKOFF_MIN_MS 100
#define XTAP_SUP_BACKOFF_MAX_MS 10000
#define XTAP_SUP_EARLY_MS 1000
/* A worker that takes nothing the monitor sends for this long, or stays
 * stopped (SIGSTOP, SIGTSTP) this long, is killed and restarted. The
 * worker's loop wakes every 200 ms, so 5 s is 25 missed turns. */
#define XTAP_SUP_STALL_MS 5000
/* What may wait for the worker: a LIST the worker is draining to its
 * client fits; the worker's own queue per client is the same 64 MiB. */
#define XTAP_SUP_QUEUE_MAX (64u << 20)
/* At the final stop: SIGTERM, then SIGKILL after this long. */
#define XTAP_SUP_STOP_MS 2000

struct xtap_sup {
	pid_t pid; /* 0: no worker process */
	int fd; /* the monitor's end; -1: none */
	int listen_fd; /* kept across restarts */
	struct xtap_sendq q;
	uint64_t started_ms;
	uint64_t stopped_ms; /* 0: not stopped */
	uint64_t restart_at_ms; /* 0: no start scheduled */
	uint64_t backoff_ms;
	uint64_t restarts; /* starts after the first one */
	bool started_once;
	int last_status; /* waitpid status of the last worker that ended */
	struct xtap_worker_opts o; /* what every start is given */
	const char *exe; /* NULL: /proc/self/exe; tests: a hostile worker (xtapd -W) */
	/* Another worker than the SSH one (the X1 front end, x1mon.h): its
	 * argv, NULL-terminated, argv[1] its flag; its listen_fd is opened by
	 * the caller before the first start. NULL: the SSH worker, from o. */
	char *const *argv;
	const char *name; /* in the log; NULL: "SSH worker" */
};

void xtap_sup_init(struct xtap_sup *s);
/* Forks and execs a worker. 0, or -1 (logged; a restart is scheduled). */
int xtap_sup_start(struct xtap_sup *s, uint64_t now_ms);
/* The worker is of no more use (its socket closed or failed, it stalled):
 * its socket is closed and it is killed; xtap_sup_reap sees it go. */
void xtap_sup_kill(struct xtap_sup *s, const char *why);
/* Collects what happened to the worker (waitpid, WNOHANG): returns 1 when
 * it ended (a restart is scheduled; *how describes it), else 0. Stops and
 * continues are noted, never taken for an end. */
int xtap_sup_reap(struct xtap_sup *s, uint64_t now_ms, char *how, size_t howlen);
/* Sends one datagram to the worker, or queues it. -1: the worker is gone
 * or the queue is full (the caller kills it). */
int xtap_sup_send(struct xtap_sup *s, const void *buf, size_t n, uint64_t now_ms);
/* Flushes the queue (on POLLOUT); -1 on a socket error. */
int xtap_sup_flush(struct xtap_sup *s, uint64_t now_ms);
/* Whether the worker has stalled (queue unmoved or stopped past the deadline). */
bool xtap_sup_stalled(const struct xtap_sup *s, uint64_t now_ms);
/* Whether a scheduled start is due. */
bool xtap_sup_due(const struct xtap_sup *s, uint64_t now_ms);
/* ms until the scheduled start (for the poll timeout); -1: none scheduled. */
int xtap_sup_wait_ms(const struct xtap_sup *s, uint64_t now_ms);
/* The final stop: SIGTERM, SIGKILL after XTAP_SUP_STOP_MS, reaped. */
void xtap_sup_stop(struct xtap_sup *s);

/* The exec'd worker's main (argv[1] == XTAP_SUP_WORKER_FLAG). */
int xtap_sup_worker_main(int argc, char **argv);

#endif
