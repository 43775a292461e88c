/* SPDX-License-Identifier: BSD-2-Clause */
/* Logging for xtap's user space, in the style of OpenBSD bgpd and OpenSSH:
 * log_warn appends strerror(errno); the rest print the message as given.
 * Never pass match fields (targets) to these: they reach ordinary logs. */
#ifndef XTAP_LOG_H
#define XTAP_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *progname, int level);
void log_set_level(int level);
int log_get_level(void);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Route libbpf's and libxdp's messages through this logger, one level
 * lower; what they say on every start (libxdp's dispatcher fallback, the
 * clsact that exists) at debug, with one info line of xtap's own. */
void log_libbpf(void);

#endif
