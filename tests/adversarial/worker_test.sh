#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A compromised SSH worker against the real monitor (issue 12): xtapd -W runs
# tests/adversarial/hostile_worker.py as its worker, which sends malformed,
# misattributed and forged monitor-protocol messages and a flood, and checks
# each answer (docs/privsep.md "What the monitor checks"). Here: its results,
# and that the monitor kept serving xtapctl, its memory bounded, its
# datapath up.
#
# usage: worker_test.sh BUILD_DIR
. "$(dirname "$0")/../xtapd/lab.sh"
HW="$(cd "$(dirname "$0")" && pwd)/hostile_worker.py"
lab_up || { echo "0 passed, 1 failed"; exit 1; }
ssh-keygen -q -t ed25519 -N '' -C hw -f $T/mdkey
write_config "set system login user ftap authentication ssh-ed25519 \"ssh-ed25519 $(cut -d' ' -f2 $T/mdkey.pub)\""
ssh-keygen -q -t ed25519 -N '' -f $T/hostkey   # the hostile worker never reads it

nsenter --net=/run/netns/$S "$B/xtapd" -f $T/xtapd.conf -P $PIN -S $T/ctl.sock -W "$HW" >> $T/xtapd.log 2>&1 &
done_() { grep -q '^done' $T/hostile-worker.out 2>/dev/null; }
for _ in $(seq 1 300); do done_ && break; sleep 0.1; done
check "the hostile worker ran to its end" done_
while read -r st name; do
	if [ "$st" = ok ]; then ok "$name"; else bad "$name"; fi
done < <(grep -v '^done' $T/hostile-worker.out 2>/dev/null)
MON=$(pgrep -f "xtapd -f $T/xtapd.conf" | head -1)
check "the monitor is still running" kill -0 "$MON"
check "the monitor logged the refused datagrams" grep -q 'worker: refused message' $T/xtapd.log
"$B/xtapctl" -S $T/ctl.sock --json status > $T/status.json 2>&1
check "xtapctl status answers, the same worker (no restart)" \
	/usr/bin/python3 -c "import json; d=json.load(open('$T/status.json')); exit(0 if d['worker_restarts'] == 0 else 1)"
check "the datapath is attached ($XMODE)" s0_attached
rss=$(awk '/^VmRSS/ {print $2}' /proc/$MON/status)
check "the monitor's RSS after the flood: ${rss} kB (< 64 MiB)" [ "${rss:-999999}" -lt 65536 ]
check "the public-key refusals are logged with their reason" \
	bash -c "grep -q 'refused: no signature forwarded' $T/xtapd.log && grep -q 'refused: bad signature' $T/xtapd.log &&
		 grep -q 'refused: signed data names another user' $T/xtapd.log && grep -q 'refused: session id already used' $T/xtapd.log"
kill -TERM "$MON"
gone() { ! kill -0 "$MON" 2>/dev/null; }
for _ in $(seq 1 100); do gone && break; sleep 0.1; done
check "SIGTERM stops it" gone

# a worker that cannot start (it exits at once): restarts back off (100 ms
# doubling to 10 s for deaths within 1 s of a start: 0.2, 0.6, 1.4, 3.0 s),
# never a tight loop (that would be about 40 in 4 s); the monitor serves on
nsenter --net=/run/netns/$S "$B/xtapd" -f $T/xtapd.conf -P $PIN -S $T/ctl.sock -W /bin/false >> $T/xtapd2.log 2>&1 &
up() { "$B/xtapctl" -S $T/ctl.sock status > /dev/null 2>&1; }
for _ in $(seq 1 100); do up && break; sleep 0.1; done
sleep 4 # a rate is measured over a time, not awaited
n=$("$B/xtapctl" -S $T/ctl.sock --json status | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['worker_restarts'])")
check "a worker that dies at once: ${n:-?} restarts in 4 s (2 to 6: backoff)" bash -c "[ ${n:-0} -ge 2 ] && [ ${n:-99} -le 6 ]"
check "and the datapath stays attached meanwhile" s0_attached
MON=$(pgrep -f "xtapd -f $T/xtapd.conf" | head -1)
kill -TERM "$MON"
for _ in $(seq 1 100); do gone && break; sleep 0.1; done
check "SIGTERM stops that one too" gone
summary
