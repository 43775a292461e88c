/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: the configuration parser (loader/config/config.c) on any text.
 * Per input: the errors counted and kept within their bounds, each one
 * NUL-terminated line with a line number inside the text; the report and
 * the warnings printed; for a valid configuration, the diff against itself
 * 0, the tables within their bounds, every user's DTCP policy and every
 * name lookup run on the result; the configuration freed (ASan: no leak, no
 * double free). (One parse per input: a second one to compare doubled the
 * time, and defaults() clears the struct first, so it found nothing.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#include "fuzzcheck.h"

static struct xtap_config a;
static struct xtap_config_errors ea, w;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	int na = xtap_config_parse_buf(text, size, &a, &ea);
	check(na == ea.n);
	check(ea.kept >= 0 && ea.kept <= XTAP_CFG_ERRS_MAX && ea.kept <= ea.n);
	for (int i = 0; i < ea.kept; i++) {
		const struct xtap_config_error *e = &ea.e[i];
		check(memchr(e->msg, 0, sizeof(e->msg)) && !strchr(e->msg, '\n'));
		check(e->line >= 0 && (size_t)e->line <= lines);
	}
	if (na == 0) {
		check(xtap_config_diff(&a, &a) == 0);
		check(a.n_users <= XTAP_CFG_USERS_MAX && a.n_cdests <= XTAP_CFG_CDESTS_MAX &&
		      a.n_attach <= XTAP_CFG_ATTACH_MAX && a.n_groups <= XTAP_CFG_GROUPS_MAX);
		for (size_t i = 0; i < a.n_users; i++) {
			struct dtcp_source_policy pol;
			const struct xtap_cfg_user *u = &a.users[i];
			check(memchr(u->name, 0, sizeof(u->name)) != NULL);
			check(xtap_config_user(&a, u->name) != NULL);
			if (xtap_config_source_policy(&a, u->name, &pol) == 0)
				check(pol.keylen > 0 && pol.keylen <= XTAP_CFG_KEY_MAX);
		}
		for (size_t i = 0; i < a.n_cdests; i++) {
			struct dtcp_cdest cd;
			check(xtap_config_cdest(&a, a.cdests[i].name, &cd) ==
			      (a.cdests[i].x3.on ? DTCP_CDEST_FIXED : 0));
		}
		for (size_t i = 0; i < a.n_aliases; i++) {
			struct dtcp_name nm;
			check(xtap_config_resolve_ifname(&a, a.aliases[i].junos, &nm) == 0);
		}
		for (size_t i = 0; i < a.n_groups; i++)
			check(xtap_config_group(&a, a.groups[i].name) != NULL);
	}
	static FILE *null;
	if (!null)
		null = fopen("/dev/null", "w");
	if (null) {
		xtap_config_report("fuzz.conf", &ea, null);
		if (na == 0) {
			int k = xtap_config_warnings(&a, &w);
			check(k == w.n && w.kept <= k && w.kept <= XTAP_CFG_ERRS_MAX);
			xtap_config_report("fuzz.conf", &w, null);
		}
	}
	xtap_config_free(&a);
	return 0;
}
