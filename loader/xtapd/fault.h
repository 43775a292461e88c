/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * I/O of the state file, its journal and the audit log, through hooks that
 * only the test build compiles (-DXTAP_FAULT_HOOKS, build/xtapd-fault; the
 * shipped build/xtapd has none): named crash points where the process kills
 * itself, and injected errors on write, fsync, rename and open
 * (docs/state-and-audit.md "Fault hooks"). In the shipped build every
 * wrapper is the system call itself and every crash point is nothing.
 */
#ifndef XTAP_FAULT_H
#define XTAP_FAULT_H

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

/* Every crash point, in the order they are passed in a commit. */
#define XTAP_CRASH_POINTS(X) \
	X(journal_open_after, "journal.open.after") \
	X(journal_write_before, "journal.write.before") \
	X(journal_write_after, "journal.write.after") \
	X(journal_sync_before, "journal.sync.before") \
	X(journal_sync_after, "journal.sync.after") \
	X(snapshot_write_before, "snapshot.write.before") \
	X(snapshot_write_after, "snapshot.write.after") \
	X(snapshot_sync_before, "snapshot.sync.before") \
	X(snapshot_sync_after, "snapshot.sync.after") \
	X(snapshot_rename_before, "snapshot.rename.before") \
	X(snapshot_rename_after, "snapshot.rename.after") \
	X(snapshot_dirsync_before, "snapshot.dirsync.before") \
	X(snapshot_dirsync_after, "snapshot.dirsync.after") \
	X(journal_reset_before, "journal.reset.before") \
	X(journal_reset_after, "journal.reset.after") \
	X(audit_write_before, "audit.write.before") \
	X(audit_write_after, "audit.write.after") \
	X(audit_sync_before, "audit.sync.before") \
	X(audit_sync_after, "audit.sync.after") \
	X(undo_before, "undo.before") \
	X(undo_after, "undo.after") \
	X(remove_before, "remove.before") \
	X(reply_before, "reply.before") \
	X(reply_after, "reply.after")

enum xtap_crash_point {
#define XTAP_CP_ENUM(id, name) XTAP_CP_##id,
	XTAP_CRASH_POINTS(XTAP_CP_ENUM)
#undef XTAP_CP_ENUM
		XTAP_CP_N
};

#ifdef XTAP_FAULT_HOOKS
/* SIGKILL at the pass XTAP_CRASH names (POINT:N). */
void xtap_crash(enum xtap_crash_point p);
ssize_t xtap_io_write(int fd, const void *p, size_t n);
int xtap_io_fsync(int fd);
int xtap_io_fdatasync(int fd);
int xtap_io_rename(const char *from, const char *to);
int xtap_io_open(const char *path, int flags, mode_t mode);
/* Every crash point name, one per line. */
void xtap_crash_points_print(FILE *f);
#define XTAP_CRASH(id) xtap_crash(XTAP_CP_##id)
#else
#define XTAP_CRASH(id) ((void)0)
static inline ssize_t xtap_io_write(int fd, const void *p, size_t n)
{
	return write(fd, p, n);
}
static inline int xtap_io_fsync(int fd)
{
	return fsync(fd);
}
static inline int xtap_io_fdatasync(int fd)
{
	return fdatasync(fd);
}
static inline int xtap_io_rename(const char *from, const char *to)
{
	return rename(from, to);
}
static inline int xtap_io_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags, mode);
}
#endif

#endif
