/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The C tests' assertions, one header for every test program:
 *
 * CHECK(cond, fmt, ...)   counts one check: passed, or failed with
 *                         "FAIL file:line: message" printed. The program
 *                         ends with check_summary().
 * REQUIRE(cond, fmt, ...) in a test function that returns int: on failure
 *                         prints "check failed at file:line: message" and
 *                         returns -1 (the BPF tests record each function's
 *                         result once with t_record, testenv.h).
 *
 * Condition first, then a printf message, always.
 */
#ifndef XTAP_TEST_CHECK_H
#define XTAP_TEST_CHECK_H

#include <stdio.h>

/* a program that only REQUIREs leaves these unused */
static int passed __attribute__((unused)), failed __attribute__((unused));

#define CHECK(cond, ...) \
	do { \
		if (cond) { \
			passed++; \
		} else { \
			failed++; \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

#define REQUIRE(cond, ...) \
	do { \
		if (!(cond)) { \
			printf("    check failed at %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
			return -1; \
		} \
	} while (0)

/* "name: N passed, N failed" (tests/run.sh reads it; name may be NULL);
 * returns the exit code. */
static inline int check_summary(const char *name)
{
	if (name)
		printf("%s: ", name);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}

#endif
