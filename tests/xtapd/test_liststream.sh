#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A LIST streamed with flow control, against the real xtapd over SSH in
# namespaces this test creates and always removes (tests/xtapd/lab.sh):
# xtapd runs with a 64 KiB LIST window (-w), a source holds
# LISTSTREAM_N criteria (default 100,000: about 45 MiB of LIST replies,
# some 700 windows), and tests/xtapd/liststream.py checks that
#   - its LIST of everything completes: CRITERIA-NUM 1..N, CRITERIA-COUNT N
#     in every block, each reply's HMAC verified on its own, the set of the
#     LIST's start even though 200 of it are deleted by another session
#     while it streams;
#   - another control source's NOOPs and ADD are answered within 2 s while
#     the LIST's client reads nothing, and while it reads;
#   - while that client reads nothing, neither the monitor's RSS nor the
#     worker's grows by 16 MiB (before: the whole LIST was queued);
#   - a NOOP and an ADD pipelined behind the LIST are answered after it, in
#     order; the ADD survives a kill -9 right after its reply;
#   - the worker is never killed ("queue is full" never in the log).
#
# usage: test_liststream.sh BUILD_DIR
. "$(dirname "$0")/lab.sh"
N=${LISTSTREAM_N:-100000}
W=65536
lab_up || { echo "0 passed, 1 failed"; exit 1; }
HASH='$6$xtapdemosalt$Q6n02KLKw3Bgp1IwwvALWv0o0qy3sgP8JNx8FhW/GujRh.11QJi/dZ0DpqghgnGdC0sxvbxsRcHeHrlLgi6SH0'
write_config "set system login user ftap2 uid 2001
set system login user ftap2 class flowtap
set system login user ftap2 authentication encrypted-password \"$HASH\"
set services flow-tap control-source ftap2 key \"Other\""
XTAPD_ARGS="-w $W" start 1 || { echo "FAILED  xtapd did not start"; tail -5 $T/xtapd.log; echo "0 passed, 1 failed"; exit 1; }
pid=$(pgrep -f -o "^$B/xtapd -f $T/xtapd.conf")
out=$(ip netns exec $S /usr/bin/python3 "$(dirname "$0")/liststream.py" --pid "$pid" --log $T/xtapd.log \
	--n "$N" --window $W 2>&1)
echo "$out" | grep -v '^ADDID\|passed,'
p1=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f1=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
addid=$(echo "$out" | sed -n 's/^ADDID //p')
pass=$((pass + ${p1:-0})); fail=$((fail + ${f1:-1}))
# the script killed the monitor right after the ADD's reply: the worker goes with it
for _ in $(seq 1 50); do [ -z "$(ip netns pids $S)" ] && break; sleep 0.1; done
ip netns pids $S | xargs -r kill -9 2>/dev/null
if [ -n "$addid" ] && start 2; then
	out=$(ip netns exec $S /usr/bin/python3 "$(dirname "$0")/liststream.py" --pid 1 --log $T/xtapd.log \
		--n 0 --after $((N - 200 + 1)) --addid "$addid" 2>&1)
	echo "$out" | grep -v 'passed,'
	p1=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f1=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	pass=$((pass + ${p1:-0})); fail=$((fail + ${f1:-1}))
else
	bad "xtapd restarted after the kill -9 (ADD id ${addid:-none})"
fi
summary
