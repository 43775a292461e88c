// SPDX-License-Identifier: BSD-2-Clause
/*
 * libbpf's and libxdp's messages through xtap's logger (loader/lib/log_lib.c),
 * driven through the callbacks log_libbpf() really installs (read back
 * from libbpf_set_print / libxdp_set_print) with the lines both libraries
 * print on this kernel (captured from xtapd's start and adoption, issue 14)
 * and lines they print when something is really wrong. Expected: the
 * expected ones at debug, each said once at info in xtap's words; the rest
 * at info, with one "libbpf: " prefix, not two.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

#include "../check.h"

static libbpf_print_fn_t bpf_fn;
static libxdp_print_fn_t xdp_fn;

/* every check's line printed, as before the shared header (CHECK counts) */
static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	CHECK(ok, "%s", what);
}

static void bpf_say(enum libbpf_print_level l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bpf_fn(l, fmt, ap);
	va_end(ap);
}

static void xdp_say(enum libxdp_print_level l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xdp_fn(l, fmt, ap);
	va_end(ap);
}

/* stderr into a file while f runs; its text */
static char *capture(void (*f)(void))
{
	static char buf[16384];
	FILE *t = tmpfile();
	int saved = dup(2);
	size_t n;

	fflush(stderr);
	dup2(fileno(t), 2);
	f();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(t);
	n = fread(buf, 1, sizeof(buf) - 1, t);
	buf[n] = 0;
	fclose(t);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* xtapd's fresh start: libxdp's dispatcher check, as printed on 6.18 */
static void fresh_start(void)
{
	for (int i = 0; i < 2; i++) { /* two interfaces */
		bpf_say(LIBBPF_WARN, "libbpf: prog '%s': BPF program load failed: %s\n", "xdp_pass",
			"Operation not permitted");
		bpf_say(LIBBPF_WARN,
			"libbpf: permission error while running as root; try raising 'ulimit -l'? "
			"current value: %s\n",
			"8.0 MiB");
		bpf_say(LIBBPF_WARN, "libbpf: prog '%s': failed to load: %d\n", "xdp_pass", -1);
		bpf_say(LIBBPF_WARN, "libbpf: failed to load object '%s'\n",
			"/usr/lib/x86_64-linux-gnu/bpf/xdp-dispatcher.o");
		xdp_say(LIBXDP_WARN, "Compatibility check for dispatcher program failed: %s\n",
			"Operation not permitted");
		xdp_say(LIBXDP_WARN, "Falling back to loading single prog without dispatcher\n");
	}
}

/* adoption: the clsact qdisc exists (xtap handles -EEXIST) */
static void adoption(void)
{
	bpf_say(LIBBPF_WARN, "libbpf: Kernel error message: %s\n", "Exclusivity flag on, cannot modify");
	bpf_say(LIBBPF_WARN, "libbpf: Kernel error message: %s\n", "Exclusivity flag on, cannot modify");
}

/* what needs the operator: a map xtap's own object cannot create, and
 * libbpf's memlock guess after xtap's own program failed */
static void real_trouble(void)
{
	bpf_say(LIBBPF_WARN, "libbpf: map '%s': failed to create: %s\n", "xtap_rules", "Operation not permitted");
	bpf_say(LIBBPF_WARN, "libbpf: prog '%s': BPF program load failed: %s\n", "xtap_xdp", "Operation not permitted");
	bpf_say(LIBBPF_WARN,
		"libbpf: permission error while running as root; try raising 'ulimit -l'? "
		"current value: %s\n",
		"8.0 MiB");
	bpf_say(LIBBPF_DEBUG, "libbpf: loading object '%s'\n", "xtap_bpf");
	xdp_say(LIBXDP_INFO, "Loaded %d programs\n", 1);
}

int main(void)
{
	char *out;

	log_init("xtapd", LOG_LVL_INFO);
	log_libbpf();
	bpf_fn = libbpf_set_print(NULL);
	xdp_fn = libxdp_set_print(NULL);
	libbpf_set_print(bpf_fn);
	libxdp_set_print(xdp_fn);
	check(bpf_fn && xdp_fn, "log_libbpf installs a libbpf and a libxdp callback");

	out = strdup(capture(fresh_start));
	check(count(out, "xtapd: info: XDP: this kernel does not let libxdp load its multi-program dispatcher") == 1,
	      "the dispatcher fallback: one line of xtap's, at info");
	check(count(out, "\n") == 1, "and nothing else at info (no raw library line, no 'ulimit -l')");
	free(out);
	out = strdup(capture(fresh_start));
	check(!*out, "said once per process: a second attach says nothing");
	free(out);

	out = strdup(capture(adoption));
	check(count(out, "xtapd: info: TC: the clsact qdisc already exists") == 1 && count(out, "\n") == 1,
	      "Exclusivity flag on: one line of xtap's, at info, once");
	check(!strstr(out, "Exclusivity"), "the kernel's words are not shown at info");
	free(out);

	out = strdup(capture(real_trouble));
	check(strstr(out, "xtapd: info: libbpf: map 'xtap_rules': failed to create: Operation not permitted\n") != NULL,
	      "an unexpected libbpf warning is shown, at info, with one prefix");
	check(strstr(out, "xtapd: info: libbpf: permission error while running as root; try raising 'ulimit -l'?") !=
		      NULL,
	      "libbpf's memlock guess after xtap's own program is shown");
	check(!strstr(out, "loading object") && !strstr(out, "Loaded 1 programs"),
	      "libbpf debug and libxdp info lines stay hidden at info");
	check(!strstr(out, "libbpf: libbpf") && count(out, "\n") == 3, "three lines, none with a doubled prefix");
	free(out);

	log_set_level(LOG_LVL_DEBUG);
	out = strdup(capture(fresh_start));
	check(strstr(out,
		     "xtapd: debug: libbpf: failed to load object "
		     "'/usr/lib/x86_64-linux-gnu/bpf/xdp-dispatcher.o'\n") &&
		      strstr(out, "xtapd: debug: libxdp: Falling back to loading single prog without dispatcher\n") &&
		      strstr(out, "xtapd: debug: libbpf: permission error while running as root"),
	      "with -v the raw lines are there, at debug");
	free(out);
	out = strdup(capture(real_trouble));
	check(strstr(out, "xtapd: debug: libbpf: loading object 'xtap_bpf'\n") &&
		      strstr(out, "xtapd: debug: libxdp: Loaded 1 programs\n"),
	      "with -v libbpf's debug and libxdp's info lines at debug");
	free(out);

	return check_summary(NULL);
}
