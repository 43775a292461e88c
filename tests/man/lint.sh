#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# mandoc -Tlint on every man page, down to STYLE messages. Two messages are
# not the page's fault and are left out: cross references to pages not
# installed on this machine (xtap's own before `make install`) and a stale
# mandoc.db. Usage: tests/man/lint.sh PAGE...
set -u
pass=0 fail=0
if ! command -v mandoc >/dev/null; then
	echo "mandoc is missing: scripts/install-deps.sh installs it" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
for page in "$@"; do
	out=$(mandoc -Tlint -Wstyle "$page" 2>&1 |
		grep -v -e 'referenced manual not found' -e 'outdated mandoc.db' -e 'mandoc.db')
	# -Tutf8 must also render it (no error level message)
	if [ -z "$out" ] && mandoc -Tutf8 -Werror "$page" >/dev/null 2>&1; then
		echo "ok   mandoc -Tlint $page"
		pass=$((pass + 1))
	else
		echo "FAIL mandoc -Tlint $page"
		echo "$out"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
