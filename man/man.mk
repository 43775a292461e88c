# SPDX-License-Identifier: BSD-2-Clause
# The man pages (mdoc): mandoc -Tlint, and xtapd.conf(5) against the
# configuration parser's grammar (tests/man/). Included by the top-level
# Makefile; the pages are installed by scripts/ops.mk.

MAN_PAGES := man/xtapd.8 man/xtapd.conf.5 man/xtapctl.8 man/dtcp.1 man/xtap-cd.1 man/xtap-x3d.1

TEST_BUILD_EXTRA += $(BUILD)/xtap-config-check
TESTS_EXTRA += 'tests/man/lint.sh $(MAN_PAGES)' \
	'/usr/bin/python3 tests/man/check_statements.py $(BUILD)/xtap-config-check man/xtapd.conf.5'

.PHONY: man-check
man-check: $(BUILD)/xtap-config-check
	$(Q)tests/run.sh 'tests/man/lint.sh $(MAN_PAGES)' \
		'/usr/bin/python3 tests/man/check_statements.py $(BUILD)/xtap-config-check man/xtapd.conf.5'
