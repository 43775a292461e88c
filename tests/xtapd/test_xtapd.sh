#!/usr/bin/env bash
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
set -u
B=$(cd "${1:-build}" && pwd)
T=$(mktemp -d /tmp/xtapd-test.XXXXXX)
S=xts$$ C=xtc$$ D=xtd$$ PIN=/sys/fs/bpf/xtap-t$$
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok      $1"; }
bad() { fail=$((fail + 1)); echo "FAILED  $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

cleanup() {
	for n in $S $C $D; do ip netns pids $n 2>/dev/null | xargs -r kill -9 2>/dev/null; done
	sleep 0.3
	for n in $S $C $D; do ip netns del $n 2>/dev/null; done
	rm -rf "$PIN" "$T"
}
trap cleanup EXIT
[ -n "${XTAPD_TEST_KEEP:-}" ] && trap "" EXIT

ip netns add $S && ip netns add $C && ip netns add $D || { echo "0 passed, 1 failed"; exit 1; }
ip link add c0 netns $C type veth peer name s0 netns $S
ip link add d0 netns $D type veth peer name s2 netns $S
ip -n $C addr add 192.0.2.10/24 dev c0
ip -n $S addr add 192.0.2.1/24 dev s0
ip -n $S addr add 203.0.113.1/24 dev s2
ip -n $D addr add 203.0.113.10/24 dev d0
for p in "$C c0" "$S s0" "$S s2" "$D d0" "$S lo" "$C lo" "$D lo"; do set -- $p; ip -n $1 link set $2 up; done

cat > $T/xtapd.conf <<EOF
set system login class flowtap permissions flow-tap-operation
set system login user ftap uid 2000
set system login user ftap class flowtap
set system login user ftap authentication encrypted-password "\$6\$xtapdemosalt\$Q6n02KLKw3Bgp1IwwvALWv0o0qy3sgP8JNx8FhW/GujRh.11QJi/dZ0DpqghgnGdC0sxvbxsRcHeHrlLgi6SH0"
set system services flow-tap-dtcp ssh
set interfaces vt-4/0/0 unit 0 family inet
set services flow-tap tunnel-interface vt-4/0/0.0
set system services flow-tap-dtcp ssh listen-address 127.0.0.1
set system services flow-tap-dtcp ssh host-key $T/hostkey
set services flow-tap control-source ftap key "Juniper"
set services flow-tap interface s0 mode xdp-native
set services flow-tap state-file $T/state
set services flow-tap audit-log $T/audit.log
EOF

check "xtapd -n accepts the configuration" "$B/xtapd" -n -f $T/xtapd.conf
printf 'set system login user ftap class nosuchclass\nset services flow-tap nonsense\n' > $T/bad.conf
"$B/xtapd" -n -f $T/bad.conf > $T/bad.out 2>&1
check "xtapd -n reports errors with line numbers" grep -q "bad.conf:2:" $T/bad.out

start() {
	# nsenter, not `ip netns exec`: that one gives the process a mount
	# namespace of its own, where bpffs and the pins die with the process
	nsenter --net=/run/netns/$S "$B/xtapd" -f $T/xtapd.conf -P $PIN >> $T/xtapd.log 2>&1 &
	for _ in $(seq 1 150); do
		grep -q "serving DTCP" $T/xtapd.log 2>/dev/null && [ "$(grep -c 'serving DTCP' $T/xtapd.log)" -ge "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
dtcp() { DTCP_PASSWORD=ftap-demo HOME=$T ip netns exec $S "$B/dtcp" -H 127.0.0.1 -u ftap --known-hosts $T/known_hosts --accept-new "$@"; }
cd_count() {
	# xtap-cd writes its summary (JSON) when it stops
	rm -f $T/cd.json
	ip netns exec $D "$B/xtap-cd" -l 203.0.113.10:7890 -t "$1" --json > $T/cd.json 2>/dev/null &
	CDPID=$!
	sleep 0.5
}
# in this shell, not in $(...): only the parent can wait for its job
wait_cd() {
	wait $CDPID
	n=$(/usr/bin/python3 -c "import json; print(json.load(open('$T/cd.json'))['received'])" 2>/dev/null)
}

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

dtcp delete --id '*' --static > $T/del.out 2>&1
check "DELETE answers 200" grep -q "CRITERIA-COUNT: 1" $T/del.out
cd_count 2
ip netns exec $C ping -q -c 2 -i 0.2 192.0.2.1 > /dev/null
wait_cd
check "no copies after DELETE (got ${n:-0})" [ "${n:-0}" = 0 ]

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
check "no target address in xtapd's own log" bash -c "! grep -q '192.0.2.10' $T/xtapd.log"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
