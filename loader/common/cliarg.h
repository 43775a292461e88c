/* SPDX-License-Identifier: BSD-2-Clause */
/* Command-line values the receivers xtap-cd and xtap-x3d share. Header-only:
 * neither links the other's objects. */
#ifndef XTAP_CLIARG_H
#define XTAP_CLIARG_H

#include <errno.h>
#include <stdlib.h>

/* A -t value: seconds in strtod's syntax, above 0 and at most max (the
 * tools' bound keeps their millisecond arithmetic exact). 0 or -1. */
static inline int cli_parse_seconds(const char *s, double max, double *out)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(s, &end);
	if (!*s || *end || errno || !(x > 0) || x > max)
		return -1;
	*out = x;
	return 0;
}

#endif
