#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Every C source and header of the tree is as clang-format (.clang-format at
# the top) writes it. Prints each file that is not, with the first lines of
# what would change, and "format: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
if ! command -v clang-format > /dev/null; then
	echo "SKIP clang-format is not installed (make deps installs it)"
	echo "format: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
pass=0 fail=0
if git rev-parse --git-dir > /dev/null 2>&1; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find bpf include dtcp loader tests -name '*.[ch]' | sort)
fi
for f in $files; do
	if clang-format --dry-run -Werror "$f" > /dev/null 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL $f is not as clang-format writes it (clang-format -i $f):"
		clang-format "$f" | diff "$f" - | head -6 | sed 's/^/    /'
	fi
done
echo "format: $pass passed, $fail failed"
[ $fail -eq 0 ]
