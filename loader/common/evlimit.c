// SPDX-License-Identifier: BSD-2-Clause
/* Rate limit for repeated audit lines (evlimit.h). */
#include <stddef.h>

#include "evlimit.h"

bool xtap_evlimit_allow(struct xtap_evlimit *l, unsigned kind, uint64_t now_ms)
{
	if (kind >= XTAP_EVLIMIT_KINDS)
		return true;
	/* a window whose time is up while nothing was suppressed just ends */
	if (!l->k[kind].window_ms || now_ms - l->k[kind].window_ms >= XTAP_EVLIMIT_WINDOW_MS) {
		if (l->k[kind].suppressed)
			goto count; /* its summary is due first: xtap_evlimit_due */
		l->k[kind].window_ms = now_ms ? now_ms : 1;
		l->k[kind].written = 0;
	}
	if (l->k[kind].written < XTAP_EVLIMIT_BURST) {
		l->k[kind].written++;
		return true;
	}
count:
	l->k[kind].suppressed++;
	return false;
}

int xtap_evlimit_due(struct xtap_evlimit *l, uint64_t now_ms, uint64_t *count)
{
	for (unsigned i = 0; i < XTAP_EVLIMIT_KINDS; i++) {
		if (!l->k[i].suppressed || now_ms - l->k[i].window_ms < XTAP_EVLIMIT_WINDOW_MS)
			continue;
		*count = l->k[i].suppressed;
		l->k[i].window_ms = 0;
		l->k[i].written = 0;
		l->k[i].suppressed = 0;
		return (int)i;
	}
	return -1;
}
