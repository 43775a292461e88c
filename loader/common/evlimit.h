/* SPDX-License-Identifier: BSD-2-Clause */
/* Rate limit for repeated audit lines (docs/state-and-audit.md): events
 * that anyone on the network can cause before logging in (refused
 * connections, failed logins, timeouts) are written one by one up to
 * XTAP_EVLIMIT_BURST per kind and window; beyond, they are only counted,
 * and one line per kind says how many were not written when the window
 * ends. A flood then costs a few lines a minute, not a line per packet,
 * and the count is still in the log. Pure logic: the caller writes. */
#ifndef XTAP_EVLIMIT_H
#define XTAP_EVLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define XTAP_EVLIMIT_WINDOW_MS 60000
#define XTAP_EVLIMIT_BURST 20 /* lines per kind per window written one by one */
#define XTAP_EVLIMIT_KINDS 16 /* kinds 0..15 (the caller's numbering) */

struct xtap_evlimit {
	struct {
		uint64_t window_ms; /* start of this kind's window; 0: none open */
		uint32_t written; /* in this window */
		uint64_t suppressed; /* in this window, not written */
	} k[XTAP_EVLIMIT_KINDS];
};

/* Whether an event of this kind at now_ms is to be written (true) or only
 * counted (false). A kind out of range is always written. */
bool xtap_evlimit_allow(struct xtap_evlimit *l, unsigned kind, uint64_t now_ms);
/* The next kind whose window has ended with events not written, or -1:
 * *count gets how many, and the kind's window is closed. Call until -1
 * (xtapd does once a second). */
int xtap_evlimit_due(struct xtap_evlimit *l, uint64_t now_ms, uint64_t *count);

#endif
