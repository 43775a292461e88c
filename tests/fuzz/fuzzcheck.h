/* SPDX-License-Identifier: BSD-2-Clause */
/* The fuzzers' invariant check: a failure names its line before aborting
 * (libFuzzer keeps the input). */
#ifndef XTAP_FUZZCHECK_H
#define XTAP_FUZZCHECK_H

#include <stdio.h>
#include <stdlib.h>

#define check(ok) \
	do { \
		if (!(ok)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #ok); \
			abort(); \
		} \
	} while (0)

#endif
