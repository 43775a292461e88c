#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The X3 receiver and delivery process over loopback (tests/x3/x3test.py),
# in a network namespace of the test's own (ports cannot clash), with
# certificates made now (tests/x3/certs.sh). Root.
# usage: test_x3.sh BUILD_DIR
set -u
B=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/x3-test.XXXXXX)
NS=x3l$$
cleanup() {
	ip netns pids $NS 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del $NS 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
ip netns add $NS || { echo "0 passed, 1 failed"; exit 1; }
"$here/certs.sh" "$T" 127.0.0.1 || { echo "0 passed, 1 failed"; exit 1; }
ip netns exec $NS /usr/bin/python3 "$here/x3test.py" "$B" "$T"
