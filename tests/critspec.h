/* SPDX-License-Identifier: BSD-2-Clause */
/* Criteria written as text in test tables, turned into xtap_criterion. */
#ifndef XTAP_TEST_CRITSPEC_H
#define XTAP_TEST_CRITSPEC_H

#include <stdint.h>
#include "classifier.h"

struct crit_text {
	const char *src, *dst; /* NULL/"any", "192.0.2.1", "198.51.100.0/24", "2001:db8::/32" */
	int v6; /* family when both addresses are any */
	const char *proto, *sport, *dport, *itype, *icode; /* NULL = any; "6", "6,17", "1000-2000" */
	int scope; /* XTAP_SCOPE_* */
	const char *ifs; /* IN/OUT: "0,2" = test interfaces xt0 and xt2 */
	uint64_t groups; /* GROUP */
	const char *cds; /* "1,2" */
};

/* Storage for the ranges an xtap_criterion points to. */
struct crit_store {
	struct xtap_criterion c;
	struct xtap_vrange r[5][64];
};

/* Returns 0, or -1 on a malformed table entry. ifindex maps "0".."2". */
int crit_from_text(const struct crit_text *t, const uint32_t *ifindex, struct crit_store *out);

#endif
