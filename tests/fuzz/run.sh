#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs libFuzzer targets one after the other (ASan + UBSan), each on its seed
# corpus tests/fuzz/corpus/NAME plus its working corpus BUILD/fuzz/corpus-NAME
# (and, for request and reply, the golden streams as the golden runner feeds
# them), for SECS seconds, or for $FUZZ_RUNS executions when that is set
# ($FUZZ_MAX_LEN overrides each target's input size bound).
# Usage: run.sh [--fresh] BUILD SECS [NAME...]  (NAME: request reply monproto
# config state x1 x3_pdu x3sup; default all). --fresh (make test): the working corpus starts
# empty and is removed after, so a run depends only on the kept seeds.
# A crash leaves BUILD/fuzz/NAME-crash-*: reproduce with `BINARY FILE`, fix,
# and add FILE to tests/fuzz/corpus/NAME.
# Prints one line per target and "fuzz: N passed, N failed".
set -u
fresh=
if [ "${1:-}" = --fresh ]; then
  fresh=1
  shift
fi
build=$1
secs=$2
shift 2
names=${*:-request reply monproto config state x1 x3_pdu x3sup}
here=$(cd "$(dirname "$0")/../.." && pwd)
fz=$build/fuzz
mkdir -p "$fz"

# Inputs up to this many bytes: past the largest unit each parser frames (a
# 64 KiB DTCP message is framed as oversize before it is parsed, a monitor
# datagram is at most 65 612 bytes), small enough to keep executions fast
# where inputs are lines (a configuration statement, a state line).
max_len() {
  if [ -n "${FUZZ_MAX_LEN:-}" ]; then
    echo "$FUZZ_MAX_LEN"
    return
  fi
  case $1 in
    request|reply) echo 16384 ;;
    monproto) echo 66000 ;;
    config) echo 2048 ;;
    state) echo 8192 ;;
    x1) echo 32768 ;; # several messages; the body bound (256 KiB) is tested in test_x1
    x3_pdu) echo 70000 ;; # two PDUs of the largest, X3_PDU_MAX is 69631
    x3sup) echo 4096 ;; # a few status lines (the monitor reads 64 KiB per turn)
  esac
}

binary() {
  case $1 in
    *) echo "$fz/fuzz_$1" ;;
  esac
}

# ASan's quarantine (256 MiB by default) recycling the DTCP session and
# message buffers, and giving memory back with madvise, took two thirds of
# the time (652 against 1875 executions/s of fuzz_request, measured): 8 MiB
# still catches a use after free within one input and the next dozens.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=8:allocator_release_to_os_interval_ms=-1}

pass=0
fail=0
for t in $names; do
  bin=$(binary "$t")
  work=$fz/corpus-$t
  [ -n "$fresh" ] && work=$(mktemp -d "$fz/fresh-$t.XXXXXX")
  mkdir -p "$work"
  dirs=("$work")
  [ -d "$here/tests/fuzz/corpus/$t" ] && dirs+=("$here/tests/fuzz/corpus/$t")
  if [ "$t" = request ] || [ "$t" = reply ]; then
    # the streams exactly as the golden runner feeds them (signatures in)
    seeds=$fz/golden-seeds.$$
    mkdir -p "$seeds"
    "$build/tests/golden_dtcp" --dump-corpus "$seeds" "$here"/tests/dtcp/*.in >/dev/null
    cp "$here"/tests/dtcp/*.out "$seeds"/
    dirs+=("$seeds")
  fi
  if [ "$t" = x1 ]; then
    # every request body of the golden exchanges
    seeds=$fz/golden-seeds.$$
    mkdir -p "$seeds"
    "$build/tests/golden_x1" --dump-corpus "$seeds" "$here"/tests/x1/*.in >/dev/null
    dirs+=("$seeds")
  fi
  if [ -n "${FUZZ_RUNS:-}" ]; then
    limit=(-runs="$FUZZ_RUNS")
    what="$FUZZ_RUNS runs"
  else
    limit=(-max_total_time="$secs")
    what="${secs}s"
  fi
  log=$fz/$t.log
  "$bin" "${limit[@]}" -reload=0 -timeout=10 -max_len="$(max_len "$t")" -print_final_stats=1 \
    -artifact_prefix="$fz/$t-" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  [ -n "$fresh" ] && rm -rf "$work"
  [ "$t" = request ] || [ "$t" = reply ] || [ "$t" = x1 ] && rm -rf "$seeds"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -aEo 'cov: [0-9]+' "$log" | tail -n 1)
  if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
    echo "ok   fuzz_$t: $execs executions ($what), $cov, 0 crashes"
    pass=$((pass + 1))
  else
    echo "FAIL fuzz_$t (exit $rc), log $log:"
    grep -aE 'ERROR|SUMMARY|artifact|runtime error' "$log" | head -n 20
    fail=$((fail + 1))
  fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
