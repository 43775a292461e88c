/* SPDX-License-Identifier: BSD-2-Clause */
/* Giving up privilege in a network-facing process (docs/privsep.md): the
 * SSH worker, the X1 worker and the metrics listener drop the same way. */
#ifndef XTAP_PRIVDROP_H
#define XTAP_PRIVDROP_H

#include <stddef.h>

/* Drops to `user` (not uid 0): the bounding set, groups, uid and gid,
 * ambient, effective, permitted and inheritable capabilities, then
 * no_new_privs; regaining root must fail. A process that is not root must
 * already be `user`. 0, or -1 after logging why, each line starting with
 * `who`. */
int xtap_drop_privileges(const char *who, const char *user);
/* Installs a seccomp filter that kills the process on any call outside
 * allow[0..n). 0, or -1 after logging why. */
int xtap_seccomp_allow_only(const char *who, const int *allow, size_t n);
/* Ends a process that runs under that filter with `rc`. In the sanitizer
 * build it leaves without LeakSanitizer's check at exit, which stops the
 * world with threads (gettid, clone, ptrace) the filter kills: the process
 * would end by SIGSYS instead of `rc`. Elsewhere it is exit(rc). */
void xtap_seccomp_exit(int rc) __attribute__((noreturn));

#endif
