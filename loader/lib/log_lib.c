// SPDX-License-Identifier: BSD-2-Clause
/* libbpf's and libxdp's messages through xtap's logger (log.h). Apart from
 * log.c so that programs without libxdp (the SSH tests' monitor, the vt
 * test) link the logger alone. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

/*
 * libbpf's and libxdp's messages, through this logger. Their warnings are our
 * info and the rest our debug, but what they say on every start on kernels
 * this sensor runs on, and what xtap handles itself, goes to debug, and xtap
 * says it once at info in its own words:
 *  - libxdp's multi-program dispatcher fails its test load (EPERM on this
 *    kernel, libbpf then guesses at `ulimit -l`): xtap's XDP program is
 *    attached alone;
 *  - "Exclusivity flag on" is the kernel's answer to creating a clsact qdisc
 *    that exists (after a restart, xtap's own): xtap uses it (-EEXIST).
 */
enum lib_expected { EXP_DISPATCHER, EXP_CLSACT, EXP_N };

static const char *const exp_info[EXP_N] = {
	[EXP_DISPATCHER] = "XDP: this kernel does not let libxdp load its multi-program dispatcher: "
			   "xtap's XDP program is attached alone (no other XDP program can share its "
			   "interfaces)",
	[EXP_CLSACT] = "TC: the clsact qdisc already exists (left by a running or earlier xtapd, or "
		       "another tool): xtap adds its filters to it",
};

static const struct {
	const char *text;
	enum lib_expected what;
} lib_expected[] = {
	/* the dispatcher's test program and object (libxdp's compatibility check) */
	{ "prog 'xdp_pass'", EXP_DISPATCHER },		 { "xdp-dispatcher", EXP_DISPATCHER },
	{ "dispatcher program failed", EXP_DISPATCHER }, { "without dispatcher", EXP_DISPATCHER },
	{ "Exclusivity flag on", EXP_CLSACT },
};

static bool exp_said[EXP_N];
/* libbpf follows a failed load of the dispatcher's test program with this
 * guess; after any other program it stays a message of its own */
static bool after_dispatcher;

static void lib_vlog(const char *lib, bool warning, const char *fmt, va_list ap)
{
	char msg[1024];
	const char *m = msg;
	size_t n;
	int level = warning ? LOG_LVL_INFO : LOG_LVL_DEBUG;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	/* libbpf starts its own lines with "libbpf: " */
	if (!strncmp(m, lib, strlen(lib)) && !strncmp(m + strlen(lib), ": ", 2))
		m += strlen(lib) + 2;
	if (!*m)
		return;
	if (after_dispatcher && strstr(m, "ulimit -l")) {
		level = LOG_LVL_DEBUG;
	} else {
		after_dispatcher = false;
		for (size_t i = 0; i < sizeof(lib_expected) / sizeof(lib_expected[0]); i++) {
			enum lib_expected w = lib_expected[i].what;

			if (!strstr(m, lib_expected[i].text))
				continue;
			level = LOG_LVL_DEBUG;
			after_dispatcher = w == EXP_DISPATCHER;
			if (!exp_said[w]) {
				exp_said[w] = true;
				log_info("%s", exp_info[w]);
			}
			break;
		}
	}
	if (level == LOG_LVL_INFO)
		log_info("%s: %s", lib, m);
	else
		log_debug("%s: %s", lib, m);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	lib_vlog("libbpf", level == LIBBPF_WARN, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	lib_vlog("libxdp", level == LIBXDP_WARN, fmt, ap);
	return 0;
}

void log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
