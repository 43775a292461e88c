#!/usr/bin/env bash
# Runs each DTCP libFuzzer target for SECS seconds (ASan + UBSan) on a corpus
# kept in BUILD_DIR, seeded from the golden request and reply streams.
# Usage: fuzz.sh BUILD_DIR SECS [MAX_LEN]. A crash leaves BUILD_DIR/fuzz-TARGET-crash-*:
# turn it into a golden case. Prints "N passed, N failed".
set -u
dt=$1
secs=$2
# Inputs up to MAX_LEN bytes (default: past one 64 KiB message, so oversize
# framing is reached; make test passes less for more executions).
max_len=${3:-70000}
here=$(cd "$(dirname "$0")" && pwd)
seeds=$dt/fuzz-seeds
rm -rf "$seeds"
mkdir -p "$seeds"
# The streams exactly as the golden runner feeds them (signatures filled in).
"$dt/golden" --dump-corpus "$seeds" "$here"/*.in >/dev/null
cp "$here"/*.out "$seeds"/
pass=0
fail=0
for t in request reply; do
  corpus=$dt/fuzz-corpus-$t
  mkdir -p "$corpus"
  log=$dt/fuzz-$t.log
  "$dt/fuzz_$t" -max_total_time="$secs" -timeout=10 -max_len="$max_len" -print_final_stats=1 \
    -artifact_prefix="$dt/fuzz-$t-" "$corpus" "$seeds" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -aEo 'cov: [0-9]+' "$log" | tail -n 1)
  if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
    echo "ok   fuzz_$t: $execs executions in ${secs}s, $cov"
    pass=$((pass + 1))
  else
    echo "FAIL fuzz_$t (exit $rc), log $log:"
    grep -aE 'ERROR|SUMMARY|artifact|runtime error' "$log" | head -n 20
    fail=$((fail + 1))
  fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
