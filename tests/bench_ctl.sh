#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The control plane's speed (issue 6): xtapd in a namespace lab (tests/xtapd/
# lab.sh, which removes everything it creates on exit), driven by
# build/bench_ctl over one SSH session. Prints BENCH and RATIO lines and a
# table; never a match field.
#
# usage: bench_ctl.sh BUILD_DIR [SIZE...]   (default 1000 10000 100000 1000000)
# BENCH_CTL_LIST_MAX=N: no LIST of everything above N criteria (see bench_ctl.c)
. "$(dirname "$0")/xtapd/lab.sh"
shift
# an untrapped signal kills bash without its EXIT trap: make it exit, so the
# lab (namespaces, pins, temp folder) is removed on ^C or kill too
trap 'exit 143' TERM HUP
trap 'exit 130' INT
sizes=${*:-1000 10000 100000 1000000}
lab_up || { echo "bench_ctl: cannot set up the lab" >&2; exit 1; }
write_config
start 1 || { echo "bench_ctl: xtapd did not start" >&2; tail -5 $T/xtapd.log >&2; exit 1; }
pid=$(pgrep -f -o "^$B/xtapd -f $T/xtapd.conf") || { echo "bench_ctl: no xtapd pid" >&2; exit 1; }
echo "BENCH machine_cpus $(nproc) cpus"
# in the background: bash runs a trap only once a foreground child is done,
# but interrupts `wait` (the lab's cleanup then kills the client with the rest)
DTCP_PASSWORD=ftap-demo nsenter --net=/run/netns/$S "$B/bench_ctl" -H 127.0.0.1 -u ftap \
	--known-hosts $T/known_hosts --pid "$pid" --pin $PIN --list-max "${BENCH_CTL_LIST_MAX:-0}" $sizes &
wait $!
rc=$?
[ $rc -ne 0 ] && tail -5 $T/xtapd.log >&2
exit $rc
