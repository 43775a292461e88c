// SPDX-License-Identifier: BSD-2-Clause
/* The SSH worker's start, restart, backoff and stall detection, and the
 * exec'd worker's entry point (supervise.h, docs/privsep.md). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "supervise.h"

void xtap_sup_init(struct xtap_sup *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->listen_fd = -1;
	s->backoff_ms = XTAP_SUP_BACKOFF_MIN_MS;
	xtap_sendq_init(&s->q, XTAP_SUP_QUEUE_MAX);
	xtap_worker_opts_default(&s->o);
}

static const char *sup_name(const struct xtap_sup *s)
{
	return s->name ? s->name : "SSH worker";
}

static void schedule(struct xtap_sup *s, uint64_t now_ms)
{
	s->restart_at_ms = now_ms + s->backoff_ms;
}

static void backoff_grow(struct xtap_sup *s)
{
	s->backoff_ms *= 2;
	if (s->backoff_ms > XTAP_SUP_BACKOFF_MAX_MS)
		s->backoff_ms = XTAP_SUP_BACKOFF_MAX_MS;
}

/* A start that failed here (no listener, no socketpair, no fork): the
 * next try waits longer, as for a worker that dies at its start. */
static int start_failed(struct xtap_sup *s, uint64_t now_ms)
{
	backoff_grow(s);
	schedule(s, now_ms);
	return -1;
}

/* In the child: the two sockets on fds 3 and 4, everything else above
 * closed, then the exec. Only async-signal-safe calls until the exec. */
static void child_exec(const char *exe, int monfd, int lfd, char *const *argv)
{
	static char *const envp[] = { NULL }; /* nothing of the monitor's environment */

	/* fds 3 and 4 may be either socket already: move both out of the way */
	monfd = fcntl(monfd, F_DUPFD, 10);
	lfd = fcntl(lfd, F_DUPFD, 10);
	if (monfd < 0 || lfd < 0 || dup2(monfd, XTAP_SUP_MONFD) < 0 || dup2(lfd, XTAP_SUP_LISTENFD) < 0)
		_exit(127);
	if (close_range(XTAP_SUP_LISTENFD + 1, ~0u, 0))
		_exit(127);
	/* never outlive the monitor (kept across exec: not a set-id program) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	execve(exe ? exe : "/proc/self/exe", argv, envp);
	_exit(127);
}

#define ARGC_MAX 32

int xtap_sup_start(struct xtap_sup *s, uint64_t now_ms)
{
	const struct xtap_worker_opts *o = &s->o;
	char num[8][16], *argv[ARGC_MAX];
	int sv[2], argc = 0, k = 0;
	pid_t pid;

	s->restart_at_ms = 0;
	if (s->argv) {
		/* another worker: its argv given, its socket opened by its owner */
		if (s->listen_fd < 0)
			return start_failed(s, now_ms);
		goto spawn;
	}
	if (s->listen_fd < 0) {
		s->listen_fd = xtap_worker_listen(o->listen_addr, o->port);
		if (s->listen_fd < 0)
			return start_failed(s, now_ms);
	}
	argv[argc++] = "xtapd-worker";
	argv[argc++] = XTAP_SUP_WORKER_FLAG;
#define ARG_NUM(flag, v) \
	do { \
		snprintf(num[k], sizeof(num[k]), "%u", (unsigned)(v)); \
		argv[argc++] = flag; \
		argv[argc++] = num[k++]; \
	} while (0)
	argv[argc++] = "-k";
	argv[argc++] = (char *)o->hostkey;
	argv[argc++] = "-u";
	argv[argc++] = (char *)o->user;
	ARG_NUM("-c", o->max_sessions);
	ARG_NUM("-r", o->rate_per_min);
	ARG_NUM("-C", o->src_sessions);
	ARG_NUM("-R", o->src_rate);
	ARG_NUM("-i", o->idle_secs);
	ARG_NUM("-a", o->auth_secs);
	ARG_NUM("-t", o->auth_tries);
	ARG_NUM("-l", o->log_level);
#undef ARG_NUM
	if (o->no_seccomp)
		argv[argc++] = "-S";
	argv[argc] = NULL;
spawn:
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("worker: socketpair");
		return start_failed(s, now_ms);
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_warn("worker: fork");
		close(sv[0]);
		close(sv[1]);
		return start_failed(s, now_ms);
	}
	if (pid == 0)
		child_exec(s->exe, sv[1], s->listen_fd, s->argv ? s->argv : argv);
	close(sv[1]);
	/* the monitor never blocks on the worker: sends go through s->q */
	if (fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) < 0)
		log_warn("worker: non-blocking socket");
	s->fd = sv[0];
	s->pid = pid;
	s->started_ms = now_ms;
	s->stopped_ms = 0;
	if (s->started_once)
		s->restarts++;
	s->started_once = true;
	log_info("%s started, pid %d%s", sup_name(s), (int)pid, s->restarts ? " (a restart)" : "");
	return 0;
}

void xtap_sup_kill(struct xtap_sup *s, const char *why)
{
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	xtap_sendq_clear(&s->q);
	if (s->pid > 0) {
		log_warnx("%s %d: %s: killed, to be restarted", sup_name(s), (int)s->pid, why);
		kill(s->pid, SIGKILL); /* also ends a stopped one */
	}
}

int xtap_sup_reap(struct xtap_sup *s, uint64_t now_ms, char *how, size_t howlen)
{
	int st;
	pid_t r;

	if (s->pid <= 0)
		return 0;
	for (;;) {
		r = waitpid(s->pid, &st, WNOHANG | WUNTRACED | WCONTINUED);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0; /* running (or not ours: nothing to do) */
		if (WIFSTOPPED(st)) {
			if (!s->stopped_ms)
				s->stopped_ms = now_ms ? now_ms : 1;
			log_warnx("%s %d stopped by signal %d", sup_name(s), (int)s->pid, WSTOPSIG(st));
			continue;
		}
		if (WIFCONTINUED(st)) {
			s->stopped_ms = 0;
			log_info("%s %d continued", sup_name(s), (int)s->pid);
			continue;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			break;
	}
	if (WIFEXITED(st))
		snprintf(how, howlen, "exited with status %d", WEXITSTATUS(st));
	else
		snprintf(how, howlen, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	s->last_status = st;
	s->pid = 0;
	s->stopped_ms = 0;
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	xtap_sendq_clear(&s->q);
	/* a worker that could not even start would otherwise be restarted in
	 * a tight loop */
	if (now_ms - s->started_ms < XTAP_SUP_EARLY_MS) {
		backoff_grow(s);
	} else {
		s->backoff_ms = XTAP_SUP_BACKOFF_MIN_MS;
	}
	schedule(s, now_ms);
	return 1;
}

int xtap_sup_send(struct xtap_sup *s, const void *buf, size_t n, uint64_t now_ms)
{
	if (s->fd < 0) {
		errno = ENOTCONN;
		return -1;
	}
	return xtap_sendq_send(&s->q, s->fd, buf, n, now_ms);
}

int xtap_sup_flush(struct xtap_sup *s, uint64_t now_ms)
{
	return s->fd < 0 ? 0 : xtap_sendq_flush(&s->q, s->fd, now_ms);
}

bool xtap_sup_stalled(const struct xtap_sup *s, uint64_t now_ms)
{
	if (s->pid <= 0)
		return false;
	if (s->stopped_ms && now_ms - s->stopped_ms > XTAP_SUP_STALL_MS)
		return true;
	return s->fd >= 0 && xtap_sendq_age(&s->q, now_ms) > XTAP_SUP_STALL_MS;
}

bool xtap_sup_due(const struct xtap_sup *s, uint64_t now_ms)
{
	return s->pid <= 0 && s->restart_at_ms && now_ms >= s->restart_at_ms;
}

int xtap_sup_wait_ms(const struct xtap_sup *s, uint64_t now_ms)
{
	if (s->pid > 0 || !s->restart_at_ms)
		return -1;
	return s->restart_at_ms > now_ms ? (int)(s->restart_at_ms - now_ms) : 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void xtap_sup_stop(struct xtap_sup *s)
{
	uint64_t until = mono_ms() + XTAP_SUP_STOP_MS;
	int st;

	if (s->fd >= 0) {
		close(s->fd); /* the worker exits when its monitor socket closes */
		s->fd = -1;
	}
	xtap_sendq_clear(&s->q);
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		kill(s->pid, SIGCONT); /* a stopped worker gets neither otherwise */
		while (waitpid(s->pid, &st, WNOHANG) == 0 && mono_ms() < until) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		if (waitpid(s->pid, &st, WNOHANG) == 0) {
			log_warnx("%s %d did not stop within %d ms: killed", sup_name(s), (int)s->pid,
				  XTAP_SUP_STOP_MS);
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &st, 0);
		} else if (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM) {
			/* a clean stop is exit status 0 (it saw the socket close) or
			 * the SIGTERM above; anything else is a fault worth seeing, such
			 * as the seccomp filter's SIGSYS at exit */
			log_warnx("%s %d ended at stop: killed by signal %d (%s)", sup_name(s), (int)s->pid,
				  WTERMSIG(st), strsignal(WTERMSIG(st)));
		} else if (WIFEXITED(st) && WEXITSTATUS(st)) {
			log_warnx("%s %d ended at stop: exited with status %d", sup_name(s), (int)s->pid,
				  WEXITSTATUS(st));
		}
		s->pid = 0;
	}
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		s->listen_fd = -1;
	}
}

/* ---- the exec'd worker ---- */

static int num_arg(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > 1000000)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* xtapd-worker --ssh-worker -k HOSTKEY -u USER -c N -r N -C N -R N -i N -a N -t N -l LEVEL [-S]
 * with its monitor socket on fd 3 and the listening socket on fd 4. */
int xtap_sup_worker_main(int argc, char **argv)
{
	struct xtap_worker_opts o;
	struct rlimit no_core = { 0, 0 };
	unsigned level = LOG_LVL_INFO;
	int type = 0, opt;
	socklen_t tl = sizeof(type);

	xtap_worker_opts_default(&o);
	log_init("xtapd-worker", LOG_LVL_INFO);
	/* started by hand by mistake: there is no monitor on fd 3 */
	if (getsockopt(XTAP_SUP_MONFD, SOL_SOCKET, SO_TYPE, &type, &tl) || type != SOCK_SEQPACKET) {
		log_warnx("the SSH worker is started by xtapd, not by hand");
		return 2;
	}
	/* a core of the worker would hold its sessions' traffic */
	if (setrlimit(RLIMIT_CORE, &no_core) || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		log_warn("worker: core dumps");
	optind = 2;
	while ((opt = getopt(argc, argv, "k:u:c:r:C:R:i:a:t:l:S")) != -1) {
		int bad = 0;

		switch (opt) {
		case 'k': o.hostkey = optarg; break;
		case 'u': o.user = optarg; break;
		case 'c': bad = num_arg(optarg, &o.max_sessions); break;
		case 'r': bad = num_arg(optarg, &o.rate_per_min); break;
		case 'C': bad = num_arg(optarg, &o.src_sessions); break;
		case 'R': bad = num_arg(optarg, &o.src_rate); break;
		case 'i': bad = num_arg(optarg, &o.idle_secs); break;
		case 'a': bad = num_arg(optarg, &o.auth_secs); break;
		case 't': bad = num_arg(optarg, &o.auth_tries); break;
		case 'l': bad = num_arg(optarg, &level); break;
		case 'S': o.no_seccomp = true; break;
		default: bad = 1;
		}
		if (bad) {
			log_warnx("worker: bad option -%c", opt);
			return 2;
		}
	}
	o.log_level = (int)level;
	o.listen_fd = XTAP_SUP_LISTENFD;
	log_set_level(o.log_level);
	return xtap_worker_main(XTAP_SUP_MONFD, &o);
}
