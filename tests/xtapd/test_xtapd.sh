#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# xtapd end to end, in namespaces this test creates and always removes: a
# client, the sensor running xtapd, and a content destination. The mediation
# device is the dtcp client over SSH (password login). Checks the daemon's
# promises: a criterion is active before its ADD reply, copies reach the CD,
# LIST counts them, kill -9 of xtapd does not stop interception, a restart
# adopts the running datapath (same ids, counters go on), DELETE stops the
# copies, SIGTERM removes everything xtap made, the audit log has every
# request as JSON, the state file is 0600.
#
# usage: test_xtapd.sh BUILD_DIR
. "$(dirname "$0")/lab.sh"
lab_up || { echo "0 passed, 1 failed"; exit 1; }
write_config

check "xtapd -n accepts the configuration" "$B/xtapd" -n -f $T/xtapd.conf
printf 'set system login user ftap class nosuchclass\nset services flow-tap nonsense\n' > $T/bad.conf
"$B/xtapd" -n -f $T/bad.conf > $T/bad.out 2>&1
check "xtapd -n reports errors with line numbers" grep -q "bad.conf:2:" $T/bad.out

mkdir -p -m 700 $T/.ssh
check "xtapd starts and serves DTCP" start 1

dtcp add --src 192.0.2.10 --proto 1 --cdest cd1 --cd-addr 203.0.113.10 --cd-port 7890 \
	--cd-src 203.0.113.1 --static > $T/add.out 2>&1
check "ADD over SSH answers 200 with CRITERIA-ID 1" grep -q "CRITERIA-ID: 1" $T/add.out || sed "s/^/    /" $T/add.out

cd_count 3
ip netns exec $C ping -q -c 3 -i 0.2 192.0.2.1 > /dev/null
wait_cd
check "the CD received the 3 echo requests (got ${n:-0})" [ "${n:-0}" = 3 ]
dtcp list --flags stats > $T/list1.out 2>&1
check "LIST counts them" grep -q "MATCHING-PACKETS: 3" $T/list1.out

# kill -9: the datapath keeps intercepting without its daemon
ip netns pids $S | xargs -r kill -9
sleep 0.5
cd_count 3
ip netns exec $C ping -q -c 2 -i 0.2 192.0.2.1 > /dev/null
wait_cd
check "after kill -9 of xtapd the CD still receives copies (got ${n:-0})" [ "${n:-0}" = 2 ]

# restart: adopt, same criterion, counters went on
check "xtapd restarts" start 2
check "the restart adopted the running datapath" grep -q "1 criteria adopted running" $T/xtapd.log
dtcp list --flags both > $T/list2.out 2>&1
check "LIST after the restart: criterion 1, 5 packets" \
	bash -c "grep -q 'CRITERIA-ID: 1' $T/list2.out && grep -q 'MATCHING-PACKETS: 5' $T/list2.out"

# kill -9 and restart while traffic flows: not one copy lost
cd_count 9
ip netns exec $C ping -q -c 60 -i 0.1 192.0.2.1 > /dev/null &
PING=$!
sleep 1.5
ip netns pids $S | xargs -r kill -9
sleep 0.5
start 3
wait $PING
wait_cd
dtcp list --flags stats > $T/list3.out 2>&1
check "kill -9 and restart under traffic: the CD got all 60 copies (got ${n:-0})" [ "${n:-0}" = 60 ]
check "and the criterion counted 65 packets" grep -q "MATCHING-PACKETS: 65" $T/list3.out

# the worker: unprivileged, without capabilities
W=$(pgrep -P "$(pgrep -f "xtapd -f $T/xtapd.conf" | head -1)" | head -1)
check "the SSH worker runs as nobody without capabilities" bash -c "
grep -q '^Uid:[[:space:]]*65534' /proc/$W/status && grep -q '^CapEff:[[:space:]]*0000000000000000' /proc/$W/status &&
grep -q '^CapBnd:[[:space:]]*0000000000000000' /proc/$W/status && grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$W/status"

# a reboot: the datapath is gone, the state file is not
ip netns pids $S | xargs -r kill -9
sleep 0.3
ip -n $S link set s0 xdp off 2>/dev/null
tc -n $S qdisc del dev s0 clsact 2>/dev/null
ip -n $S link del vt0 2>/dev/null
rm -rf $PIN
start 4
check "after a reboot the criterion is installed again from the state file" grep -q "0 criteria adopted running, 1 installed again" $T/xtapd.log
cd_count 3
ip netns exec $C ping -q -c 2 -i 0.2 192.0.2.1 > /dev/null
wait_cd
check "and intercepts again (CD got ${n:-0})" [ "${n:-0}" = 2 ]
dtcp list --flags both > $T/list4.out 2>&1
check "LIST after the reboot: criterion 1 (counters start again at 2)" \
	bash -c "grep -q 'CRITERIA-ID: 1' $T/list4.out && grep -q 'MATCHING-PACKETS: 2' $T/list4.out"

dtcp delete --id '*' --static > $T/del.out 2>&1
check "DELETE answers 200" grep -q "CRITERIA-COUNT: 1" $T/del.out
cd_count 2
ip netns exec $C ping -q -c 2 -i 0.2 192.0.2.1 > /dev/null
wait_cd
check "no copies after DELETE (got ${n:-0})" [ "${n:-0}" = 0 ]

# a state file that does not load: xtapd refuses to start and leaves it,
# its journal and the running datapath exactly as they were (a prefix
# criterion: the sweep below leaves the prefix arrays to rebuild)
dtcp add --src 192.0.2.8/29 --proto 1 --cdest cd1 --cd-addr 203.0.113.10 --cd-port 7890 \
	--cd-src 203.0.113.1 --static > /dev/null 2>&1
ip netns pids $S | xargs -r kill -9
sleep 0.3
cp -p $T/state $T/state.good
sed -i '1s/^xtap-state 1$/xtap-state 99/' $T/state
cp -p $T/state $T/state.bad
[ -e $T/state.journal ] && cp -p $T/state.journal $T/journal.before
# a kill -9 during a compaction leaves its writer's .tmp (a load ignores it)
[ -e $T/state.tmp ] && cp -p $T/state.tmp $T/tmp.before
nsenter --net=/run/netns/$S timeout 60 "$B/xtapd" -f $T/xtapd.conf -P $PIN -S $T/ctl.sock >> $T/xtapd.log 2>&1
rc=$?
check "a refused state file: xtapd exits 3 without serving (got $rc)" \
	bash -c "[ $rc = 3 ] && [ \$(grep -c 'serving DTCP' $T/xtapd.log) = 4 ]"
check "the refused state file and its journal are left byte for byte" bash -c "
cmp -s $T/state $T/state.bad &&
if [ -e $T/tmp.before ]; then cmp -s $T/state.tmp $T/tmp.before; else [ ! -e $T/state.tmp ]; fi &&
if [ -e $T/journal.before ]; then cmp -s $T/state.journal $T/journal.before; else [ ! -e $T/state.journal ]; fi"
check "the refusal is audited" grep -q '"event":"state_error".*state file refused' $T/audit.log
cd_count 2
ip netns exec $C ping -q -c 2 -i 0.2 192.0.2.1 > /dev/null
wait_cd
check "the running datapath still intercepts after the refusal (CD got ${n:-0})" [ "${n:-0}" = 2 ]
cp -p $T/state.good $T/state
start 5
check "with the file mended, the next start adopts its criterion" \
	bash -c "sed -n '/state file refused/,\$p' $T/xtapd.log | grep -q '1 criteria adopted running'"
ip netns pids $S | xargs -r kill -9
sleep 0.3

# a running datapath the state file does not describe: swept at start
rm -f $T/state $T/state.journal
start 6
check "rules the state file does not name are removed at start, and audited" bash -c "
grep -q '1 unknown rules removed' $T/xtapd.log && grep -q 'unknown rules removed' $T/audit.log"
cd_count 2
ip netns exec $C ping -q -c 2 -i 0.2 192.0.2.1 > /dev/null
wait_cd
check "and no longer copy (CD got ${n:-0})" [ "${n:-0}" = 0 ]
# the prefix arrays the swept rule was in are the new instance's to write
dtcp add --src 192.0.2.8/29 --proto 1 --cdest cd1 --cd-addr 203.0.113.10 --cd-port 7890 \
	--cd-src 203.0.113.1 --static > $T/add6.out 2>&1
check "after the sweep a prefix ADD answers 200" grep -q "200 OK" $T/add6.out || sed "s/^/    /" $T/add6.out
cd_count 2
ip netns exec $C ping -q -c 2 -i 0.2 192.0.2.1 > /dev/null
wait_cd
check "and copies (CD got ${n:-0})" [ "${n:-0}" = 2 ]

ip netns pids $S | xargs -r kill -TERM
for _ in $(seq 1 50); do [ -z "$(ip netns pids $S)" ] && break; sleep 0.1; done
check "SIGTERM: pins removed" [ ! -e $PIN ]
check "SIGTERM: vt pair removed" bash -c "! ip -n $S link show vt0 >/dev/null 2>&1"
check "SIGTERM: XDP detached" bash -c "! ip -n $S -d link show s0 | grep -q 'prog/xdp'"

check "the state file is 0600" [ "$(stat -c %a $T/state)" = 600 ]
check "the audit log is 0600" [ "$(stat -c %a $T/audit.log)" = 600 ]
check "every audit line is JSON" /usr/bin/python3 -c "
import json, sys
for l in open('$T/audit.log'): json.loads(l)"
check "the audit log has start, ADD, LIST, DELETE, adopt and stop" bash -c "
for w in '\"event\":\"start\"' '\"method\":\"ADD\"' '\"method\":\"LIST\"' '\"method\":\"DELETE\"' '\"event\":\"adopt\"' '\"event\":\"stop\"'; do
	grep -q \"\$w\" $T/audit.log || exit 1; done"
check "audit lines carry the request's Seq and the criteria each request changed" bash -c "
grep -q '\"method\":\"ADD\",\"seq\":1,\"code\":200.*\"ids\":\[1\]' $T/audit.log &&
grep -q '\"method\":\"DELETE\",\"seq\":1,\"code\":200.*\"ids\":\[1\]' $T/audit.log"
check "no target address in xtapd's own log" bash -c "! grep -q '192.0.2.10' $T/xtapd.log"
# issue 14: libbpf and libxdp speak through xtap's logger; what they say on
# every start is said once per start in xtap's words, at info
check "no raw libbpf or libxdp line in xtapd's log (without -v)" bash -c "! grep -q -e '^libxdp:' -e '^libbpf:' -e 'libbpf: libbpf' -e ': libbpf:' -e ': libxdp:' $T/xtapd.log"
check "the kernel's Exclusivity answer is never shown raw" bash -c "! grep -q 'Exclusivity flag' $T/xtapd.log"
check "the clsact line, at info, at most once per start (adoptions), said at least once" bash -c "
n=\$(grep -c '^xtapd: info: TC: the clsact qdisc already exists' $T/xtapd.log); s=\$(grep -c 'serving DTCP' $T/xtapd.log)
[ \$n -ge 1 ] && [ \$n -le \$s ]"
check "no 'ulimit -l' guess in the log" bash -c "! grep -q 'ulimit -l' $T/xtapd.log"

summary
