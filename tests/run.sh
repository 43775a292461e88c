#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs test programs one after another. Each prints a closing line
# "N passed, N failed[, N skipped]"; this adds them up and prints the total.
# A program that dies or prints no summary counts as one failure.
# Each program's wall time is printed after it ("--- NAME: N s"): CI must
# stay under 20 minutes, and this shows where they go.
set -u
tp=0; tf=0; ts=0
for t in "$@"; do
  name=$(basename "${t%% *}")
  echo "=== $name"
  out=$(mktemp)
  t0=$SECONDS
  # shellcheck disable=SC2086  # entries may carry arguments
  bash -c "$t" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  echo "--- $name: $((SECONDS - t0)) s"
  line=$(grep -E '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  rm -f "$out"
  if [ -z "$line" ]; then
    echo "--- $name: no summary line (exit $rc): counted as 1 failure"
    tf=$((tf + 1)); continue
  fi
  p=$(sed -E 's/.*\b([0-9]+) passed.*/\1/' <<<"$line")
  f=$(sed -E 's/.*\b([0-9]+) failed.*/\1/' <<<"$line")
  s=0; grep -q skipped <<<"$line" && s=$(sed -E 's/.*\b([0-9]+) skipped.*/\1/' <<<"$line")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "--- $name: exit $rc with no failed test: counted as 1 failure"
    f=1
  fi
  tp=$((tp + p)); tf=$((tf + f)); ts=$((ts + s))
done
echo
echo "total: $tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]
