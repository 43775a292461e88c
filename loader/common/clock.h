/* SPDX-License-Identifier: BSD-2-Clause */
/* The monitor's two clocks: the wall clock for what is written (audit
 * lines, DTCP times, xtapctl), the monotonic one for deadlines, backoff and
 * rate windows, which a clock step must not stretch or cut. */
#ifndef XTAP_CLOCK_H
#define XTAP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
