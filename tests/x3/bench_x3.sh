#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/x3/bench_x3.py in a namespace of its own. Root. Not part of make test.
# usage: bench_x3.sh BUILD_DIR [N [SIZE [RATE]]]  (RATE: paced, losses accounted)
set -u
B=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/x3-bench.XXXXXX)
NS=x3b$$
trap 'ip netns pids $NS 2>/dev/null | xargs -r kill -9; ip netns del $NS 2>/dev/null; rm -rf "$T"' EXIT
ip netns add $NS
"$here/certs.sh" "$T" 127.0.0.1
ip netns exec $NS /usr/bin/python3 "$here/bench_x3.py" "$B" "$T" "${2:-200000}" "${3:-200}" ${4:+"$4"}
