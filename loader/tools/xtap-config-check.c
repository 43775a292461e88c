/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xtap-config-check FILE: parses an xtapd configuration and prints each error
 * as "FILE:LINE: message" on stderr, then, for a valid file, its warnings
 * ("FILE:LINE: warning: ..."). Exit 0 when the file has no error, 1
 * otherwise. The same check as `xtapd -n` (xtap_config_report).
 * xtap-config-check --statements prints the grammar's patterns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int main(int argc, char **argv)
{
	struct xtap_config *c;
	struct xtap_config_errors *errs;

	if (argc == 2 && !strcmp(argv[1], "--statements")) {
		/* the grammar, one pattern a line (tests/man/check_statements.py) */
		for (size_t i = 0; xtap_config_statement(i); i++)
			printf("%s\n", xtap_config_statement(i));
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: xtap-config-check FILE | --statements\n");
		return 1;
	}
	c = malloc(sizeof(*c));
	errs = malloc(sizeof(*errs));
	if (!c || !errs) {
		fprintf(stderr, "xtap-config-check: out of memory\n");
		free(c);
		free(errs);
		return 1;
	}
	int n = xtap_config_load(argv[1], c, errs);
	xtap_config_report(argv[1], errs, stderr);
	/* warnings (a valid file only) never change the exit status */
	if (n == 0 && xtap_config_warnings(c, errs))
		xtap_config_report(argv[1], errs, stderr);
	xtap_config_free(c);
	free(c);
	free(errs);
	return n ? 1 : 0;
}
