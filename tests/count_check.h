/* SPDX-License-Identifier: BSD-2-Clause */
/* For test programs that count every check (not every test): CHECK counts a
 * pass or prints the failure and counts it; the program prints
 * "N passed, N failed" from passed and failed at the end. */
#ifndef XTAP_TEST_COUNT_CHECK_H
#define XTAP_TEST_COUNT_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (cond) {                                                   \
			passed++;                                             \
		} else {                                                      \
			failed++;                                             \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);           \
			printf(__VA_ARGS__);                                  \
			printf("\n");                                         \
		}                                                             \
	} while (0)

#endif
