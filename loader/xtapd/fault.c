// SPDX-License-Identifier: BSD-2-Clause
/*
 * The test build's fault hooks (fault.h). Compiled only with
 * -DXTAP_FAULT_HOOKS, into build/xtapd-fault.
 *
 *   XTAP_CRASH=POINT:N[,POINT:N...]  SIGKILL at the Nth pass (1-based) of POINT
 *   XTAP_FAULT=OP:ERRNO:N[:COUNT][,...]  the Nth call of OP and the COUNT-1
 *       after it (COUNT 1 by default, 0: forever) fail with ERRNO (a name or
 *       a number); OP is write, fsync (fsync and fdatasync), rename, open, or
 *       shortwrite (the Nth write writes half its bytes and returns that; a
 *       write of one byte fails with ERRNO instead)
 *
 * Only the state file, its journal and the audit log go through these
 * wrappers; everything else in the process does its I/O as usual.
 */
#ifdef XTAP_FAULT_HOOKS
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fault.h"

static const char *const cp_name[XTAP_CP_N] = {
#define XTAP_CP_NAME(id, name) [XTAP_CP_##id] = name,
	XTAP_CRASH_POINTS(XTAP_CP_NAME)
#undef XTAP_CP_NAME
};

enum op { OP_WRITE, OP_FSYNC, OP_RENAME, OP_OPEN, OP_SHORTWRITE, OP_N };
static const char *const op_name[OP_N] = { "write", "fsync", "rename", "open", "shortwrite" };

#define RULES_MAX 16 /* a test names one or two; more is a typo */

/* The rules, and the counts in memory shared with the snapshot writer that
 * a compaction forks (persist.c): a pass or a call there counts for the
 * daemon as a whole, and a crash there kills the daemon too. */
struct fault_state {
	struct {
		int point;
		uint64_t at;
	} crash[RULES_MAX];
	int ncrash;
	uint64_t passes[XTAP_CP_N];
	struct {
		int op, err;
		uint64_t at, count;
	} fault[RULES_MAX];
	int nfault;
	uint64_t calls[OP_N];
};
static struct fault_state *FS;
static bool parsed;
static pid_t daemon_pid; /* the process that parsed the rules */
#define F (*FS)

static int errno_of(const char *s)
{
	static const struct {
		const char *n;
		int v;
	} names[] = {
		{ "ENOSPC", ENOSPC }, { "EIO", EIO },	  { "EROFS", EROFS },	{ "EDQUOT", EDQUOT },
		{ "EACCES", EACCES }, { "EPERM", EPERM }, { "EFBIG", EFBIG },	{ "EINTR", EINTR },
		{ "ENOMEM", ENOMEM }, { "EBADF", EBADF }, { "EINVAL", EINVAL }, { "EEXIST", EEXIST },
	};
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].n))
			return names[i].v;
	v = strtol(s, &end, 10);
	return *s && !*end && v > 0 && v < 4096 ? (int)v : -1;
}

static void die(const char *var, const char *what)
{
	fprintf(stderr, "xtapd-fault: %s: %s\n", var, what);
	exit(2);
}

static void parse(void)
{
	char *env, *save = NULL, *item;

	parsed = true;
	daemon_pid = getpid();
	FS = mmap(NULL, sizeof(*FS), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (FS == MAP_FAILED) {
		fprintf(stderr, "xtapd-fault: no memory for the fault state\n");
		exit(2);
	}
	memset(FS, 0, sizeof(*FS));
	if ((env = getenv("XTAP_CRASH")) && (env = strdup(env))) {
		for (item = strtok_r(env, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
			char *colon = strrchr(item, ':'), *end;
			int p = -1;

			if (!colon || F.ncrash == RULES_MAX)
				die("XTAP_CRASH", "want POINT:N (see --crash-points)");
			*colon = 0;
			for (int i = 0; i < XTAP_CP_N; i++)
				if (!strcmp(item, cp_name[i]))
					p = i;
			F.crash[F.ncrash].at = strtoull(colon + 1, &end, 10);
			if (p < 0 || *end || !F.crash[F.ncrash].at)
				die("XTAP_CRASH", "unknown point or N not from 1 (see --crash-points)");
			F.crash[F.ncrash++].point = p;
		}
		free(env);
	}
	save = NULL;
	if ((env = getenv("XTAP_FAULT")) && (env = strdup(env))) {
		for (item = strtok_r(env, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
			char *f[4] = { 0 }, *s2 = NULL, *end;
			int nf = 0, op = -1;

			for (char *t = strtok_r(item, ":", &s2); t && nf < 4; t = strtok_r(NULL, ":", &s2))
				f[nf++] = t;
			if (nf < 3 || F.nfault == RULES_MAX)
				die("XTAP_FAULT", "want OP:ERRNO:N[:COUNT]");
			for (int i = 0; i < OP_N; i++)
				if (!strcmp(f[0], op_name[i]))
					op = i;
			if (op < 0)
				die("XTAP_FAULT", "OP is write, fsync, rename, open or shortwrite");
			if ((F.fault[F.nfault].err = errno_of(f[1])) < 0)
				die("XTAP_FAULT", "ERRNO is a name (ENOSPC, EIO, EROFS, ...) or a number");
			F.fault[F.nfault].at = strtoull(f[2], &end, 10);
			if (*end || !F.fault[F.nfault].at)
				die("XTAP_FAULT", "N counts from 1");
			F.fault[F.nfault].count = 1;
			if (nf == 4) {
				F.fault[F.nfault].count = strtoull(f[3], &end, 10);
				if (*end)
					die("XTAP_FAULT", "COUNT is a number (0: forever)");
			}
			F.fault[F.nfault++].op = op;
		}
		free(env);
	}
}

void xtap_crash(enum xtap_crash_point p)
{
	uint64_t n;

	if (!parsed)
		parse();
	n = __atomic_add_fetch(&F.passes[p], 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < F.ncrash; i++)
		if (F.crash[i].point == (int)p && F.crash[i].at == n) {
			/* in a compaction's writer: the daemon dies with it */
			if (getpid() != daemon_pid)
				kill(daemon_pid, SIGKILL);
			raise(SIGKILL);
		}
}

void xtap_crash_points_print(FILE *f)
{
	for (int i = 0; i < XTAP_CP_N; i++)
		fprintf(f, "%s\n", cp_name[i]);
}

/* The error this call of op gets (0: none). Counts the call. */
static int injected(enum op op)
{
	uint64_t n;

	if (!parsed)
		parse();
	n = __atomic_add_fetch(&F.calls[op], 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < F.nfault; i++)
		if (F.fault[i].op == (int)op && n >= F.fault[i].at &&
		    (!F.fault[i].count || n - F.fault[i].at < F.fault[i].count))
			return F.fault[i].err;
	return 0;
}

ssize_t xtap_io_write(int fd, const void *p, size_t n)
{
	int err = injected(OP_WRITE);

	uint64_t c = __atomic_add_fetch(&F.calls[OP_SHORTWRITE], 1, __ATOMIC_SEQ_CST); /* counts write calls */

	if (!err) {
		for (int i = 0; i < F.nfault; i++) {

			if (F.fault[i].op != OP_SHORTWRITE || c < F.fault[i].at ||
			    (F.fault[i].count && c - F.fault[i].at >= F.fault[i].count))
				continue;
			if (n < 2) {
				errno = F.fault[i].err;
				return -1;
			}
			return write(fd, p, n / 2);
		}
		return write(fd, p, n);
	}
	errno = err;
	return -1;
}

int xtap_io_fsync(int fd)
{
	int err = injected(OP_FSYNC);

	if (err) {
		errno = err;
		return -1;
	}
	return fsync(fd);
}

int xtap_io_fdatasync(int fd)
{
	int err = injected(OP_FSYNC);

	if (err) {
		errno = err;
		return -1;
	}
	return fdatasync(fd);
}

int xtap_io_rename(const char *from, const char *to)
{
	int err = injected(OP_RENAME);

	if (err) {
		errno = err;
		return -1;
	}
	return rename(from, to);
}

int xtap_io_open(const char *path, int flags, mode_t mode)
{
	int err = injected(OP_OPEN);

	if (err) {
		errno = err;
		return -1;
	}
	return open(path, flags, mode);
}
#endif
