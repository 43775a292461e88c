#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Issue 11, regression tests by name, against the real xtapd over SSH in
# namespaces this test creates and always removes:
#   - criteria of every shape (X-IP-Addr, prefix lists, ranges, port lists,
#     protocols, input/output interfaces, an interface group, several
#     content destinations, IPv6, each timeout kind, two control sources)
#     are saved with every datapath rule: no state_error, and a kill -9
#     restart adopts every rule exactly (same slots and uids), twice in a
#     row; a reboot installs them all again; ids are never reused
#   - a DELETE or REFRESH that selects nothing writes no snapshot
#   - a long LIST and an ADD in one message burst: the ADD is durable
#     before its reply (kill -9 right after it, then a restart)
#   - a full disk (a small tmpfs): ADD and DELETE answered 500 naming the
#     fault, nothing changes (LIST, the datapath rules, the state after a
#     restart), LIST still works, xtapctl status and the audit log say the
#     sensor refuses changes, and it recovers by itself when space is back
#   - build/xtapd-fault: a crash right after the journal's fdatasync keeps
#     the unanswered ADD whole; a crash before its write drops it whole
#     (its rule swept at the restart); EIO on every fsync from the start:
#     every ADD answered 500
#
# usage: test_durability.sh BUILD_DIR
. "$(dirname "$0")/lab.sh"
SD=$T/sd
trap 'umount $SD 2>/dev/null; cleanup' EXIT
[ -n "${XTAPD_TEST_KEEP:-}" ] && trap "" EXIT
lab_up || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p -m 700 $T/.ssh
CTL() { "$B/xtapctl" -S $T/ctl.sock "$@"; }
# every xtapd of this lab, monitor and worker
kill9() {
	ip netns pids $S | xargs -r kill -9
	for _ in $(seq 1 50); do [ -z "$(ip netns pids $S)" ] && return 0; sleep 0.1; done
	return 1
}
stop_term() {
	ip netns pids $S | xargs -r kill -TERM
	for _ in $(seq 1 100); do [ -z "$(ip netns pids $S)" ] && return 0; sleep 0.1; done
	return 1
}
# the datapath records of the state file (snapshot then journal, in order:
# the last record of each criterion wins), as "id slot uid" lines
dp_records() {
	/usr/bin/python3 - "$1" <<'PY'
import sys, os
recs, cur = {}, None
def read(p):
    global cur
    if not os.path.exists(p): return
    for l in open(p):
        w = l.split()
        if not w: continue
        if w[0] == 'criterion': cur = int(w[1]); recs[cur] = []
        elif w[0] == 'datapath': recs[cur].append((int(w[1]), int(w[2])))
        elif w[0] == 'delete': recs.pop(int(w[1]), None)
read(sys.argv[1]); read(sys.argv[1] + '.journal')
for i in sorted(recs):
    for s, u in recs[i]: print(i, s, u)
PY
}
ids_of() { grep -o 'CRITERIA-ID: [0-9]*' "$1" | awk '{print $2}' | sort -n | xargs; }
rules() { CTL --json show filter | /usr/bin/python3 -c "
import json, sys
print(sum(t.get('rules', 0) for t in json.load(sys.stdin).get('terms', [])))"; }

write_config "set services flow-tap interface-group g1 interface s0
set interfaces vt-4/0/0 unit 0 family inet6
set services flow-tap content-destination cdc address 203.0.113.10
set services flow-tap content-destination cdc port 7891
set system login user ftap2 uid 2001
set system login user ftap2 class flowtap
set system login user ftap2 authentication encrypted-password \"\$6\$xtapdemosalt\$Q6n02KLKw3Bgp1IwwvALWv0o0qy3sgP8JNx8FhW/GujRh.11QJi/dZ0DpqghgnGdC0sxvbxsRcHeHrlLgi6SH0\"
set services flow-tap control-source ftap2 key \"Other\""
check "xtapd starts" start 1

CD="--cdest cd1 --cd-addr 203.0.113.10 --cd-port 7890 --cd-src 203.0.113.1"
nadd=0 addfail=0
add() { nadd=$((nadd + 1)); dtcp add "$@" > $T/add$nadd.out 2>&1 || { addfail=$((addfail + 1)); sed "s/^/    add $nadd: /" $T/add$nadd.out | head -3; }; }
add --ip-addr 192.0.2.10 $CD --static                                    # X-IP-Addr: 2 rules
add --src 192.0.2.10,192.0.2.11 --dst 198.51.100.0/24,198.51.100.7 $CD --static # lists
add --src 192.0.2.20-192.0.2.27 --dport 80,443,8000-8080 --proto 6,17 $CD --static # range, ports
add --src 192.0.2.10 --sport 1000-2000 --proto 1,6,17 --in-if s0 $CD --static
add --dst 192.0.2.10 --out-if s0 $CD --static
add --src 192.0.2.10 --vrf g1 $CD --static
add --src 192.0.2.12 --cdest cd1,cd2 --cd-addr 203.0.113.10,203.0.113.11 --cd-port 7890,7892 --static
add --src 192.0.2.13 --cdest cdc --static                                # a configured destination
add --ip-version ipv6 --src 2001:db8::1,2001:db8:1::/48 --dst 2001:db8::2 --proto 58 $CD --static
add --ip-version ipv6 --ip-addr 2001:db8::10 $CD --static
add --src 192.0.2.14 $CD --idle 3600
add --src 192.0.2.15 $CD --total 3600
add --src 192.0.2.16 $CD --packets 1000000
add --src 192.0.2.17 $CD --bytes 100000000 --intercept-id 0xabc
DTCP_USER=ftap2 DTCP_KEY=Other add --ip-addr 192.0.2.18 $CD --static --csource ftap2
N=$nadd
check "criteria of every shape accepted ($((N - addfail)) of $N)" [ "$addfail" = 0 ]
check "no state error while adding them (issue 11: multi-rule criteria failed every snapshot)" bash -c "
! grep -q '\"event\":\"state_error\"' $T/audit.log && ! grep -q 'cannot save the state\|cannot append' $T/xtapd.log"
dp_records $T/state > $T/dp1
RULES=$(rules)
check "the state file has a datapath record per rule ($(wc -l < $T/dp1) records, xtapctl shows ${RULES:-?} rules, more than $N)" \
	bash -c "[ $(wc -l < $T/dp1) = '${RULES:-x}' ] && [ $(wc -l < $T/dp1) -gt $N ]"
dtcp list --flags both > $T/l1.out 2>&1
DTCP_USER=ftap2 DTCP_KEY=Other dtcp --csource ftap2 list --flags both > $T/l1b.out 2>&1
ip netns exec $C ping -q -c 2 -i 0.2 192.0.2.1 > /dev/null

# kill -9 and restart, twice: every rule adopted exactly
for round in 1 2; do
	kill9
	start $((round + 1)) > /dev/null
	check "restart $round after kill -9: all $N criteria adopted, none installed again" \
		grep -q "$N criteria adopted running, 0 installed again, 0 failed" $T/xtapd.log
	sed -i "s/$N criteria adopted running/(seen) &/" $T/xtapd.log
	dp_records $T/state > $T/dp2
	check "restart $round: every datapath record the same (slots and uids)" cmp -s $T/dp1 $T/dp2
	dtcp list --flags criteria > $T/l2.out 2>&1
	check "restart $round: LIST shows the same ids ($(ids_of $T/l2.out))" [ "$(ids_of $T/l1.out)" = "$(ids_of $T/l2.out)" ]
done
check "no unknown rule was swept" bash -c "! grep -q 'unknown rules removed' $T/xtapd.log"
dtcp list --flags stats > $T/l3.out 2>&1
check "the packet budget is kept across restarts" grep -q "REMAINING-PACKETS: 1000000" $T/l3.out
check "so is the byte budget" grep -q "REMAINING-BYTES: 100000000" $T/l3.out

# a reboot: everything installed again from the file
kill9
ip -n $S link set s0 xdp off 2>/dev/null
tc -n $S qdisc del dev s0 clsact 2>/dev/null
ip -n $S link del vt0 2>/dev/null
rm -rf $PIN
start 4 > /dev/null
check "after a reboot all $N criteria are installed again" grep -q "0 criteria adopted running, $N installed again, 0 failed" $T/xtapd.log
dtcp list --flags criteria > $T/l4.out 2>&1
sed -n '/CRITERIA-ID/,$p' $T/l1.out | grep -v 'MATCHING\|REMAINING\|TIMESTAMP\|AUTHENTICATION\|LAST-REFRESH\|NUM-REFRESH' > $T/c1
sed -n '/CRITERIA-ID/,$p' $T/l4.out | grep -v 'MATCHING\|REMAINING\|TIMESTAMP\|AUTHENTICATION\|LAST-REFRESH\|NUM-REFRESH' > $T/c4
check "and LIST gives back every field of every criterion" cmp -s $T/c1 $T/c4
dtcp add --src 192.0.2.30 $CD --static > $T/next.out 2>&1
check "the next ADD gets a new id ($(ids_of $T/next.out), after $N)" grep -q "CRITERIA-ID: $((N + 1))\b" $T/next.out

# selecting nothing: no snapshot (the state file stays the same inode)
ino=$(stat -c %i $T/state)
dtcp delete --id 99999 > /dev/null 2>&1
dtcp refresh --id 99998 --idle 60 > /dev/null 2>&1
dtcp delete --cdest nosuch > $T/del0.out 2>&1
dtcp refresh --cdest nosuch --idle 60 > $T/ref0.out 2>&1
check "a DELETE and a REFRESH that select nothing answer 200" bash -c "grep -q 'CRITERIA-COUNT: 0' $T/del0.out && grep -q 'CRITERIA-COUNT: 0' $T/ref0.out"
check "and write no snapshot" [ "$(stat -c %i $T/state)" = "$ino" ]

# a long LIST (over the 512 KiB at which replies are let go mid-burst) and
# an ADD right behind it: the ADD is on disk before its reply
for k in 1 2; do
	for i in $(seq 1 1000); do printf 'ADD DTCP/0.8\nCsource-ID: ftap\nX-IP-Addr: 198.51.100.%d\nCdest-ID: cd1\nX-JTap-Cdest-Dest-Address: 203.0.113.10\nX-JTap-Cdest-Dest-Port: 7890\nFlags: STATIC\n\n' $((i % 250 + 1)); done > $T/bulk.msg
	dtcp send $T/bulk.msg > /dev/null 2>&1
done
printf 'LIST DTCP/0.8\nCsource-ID: ftap\nFlags: both\n\nADD DTCP/0.8\nCsource-ID: ftap\nSource-Address: 192.0.2.99\nCdest-ID: cd1\nX-JTap-Cdest-Dest-Address: 203.0.113.10\nX-JTap-Cdest-Dest-Port: 7890\nFlags: STATIC\n\n' > $T/listadd.msg
dtcp send $T/listadd.msg > $T/listadd.out 2>&1
LASTID=$(grep -o 'CRITERIA-ID: [0-9]*' $T/listadd.out | tail -1 | awk '{print $2}')
kill9
LISTBYTES=$(wc -c < $T/listadd.out)
start 5 > /dev/null
dtcp list --id "${LASTID:-0}" > $T/la.out 2>&1
check "an ADD behind a long LIST ($LISTBYTES bytes of replies) survives a kill -9 right after its reply (id ${LASTID:-none})" \
	bash -c "[ -n '$LASTID' ] && [ $LISTBYTES -gt 524288 ] && grep -q 'CRITERIA-ID: $LASTID' $T/la.out"
dtcp delete --id '*' --static > /dev/null 2>&1
DTCP_USER=ftap2 DTCP_KEY=Other dtcp --csource ftap2 delete --id '*' --static > /dev/null 2>&1
stop_term

# a full disk: the state file on a small tmpfs
mkdir -p $SD && mount -t tmpfs -o size=2m,mode=0700 tmpfs $SD
rm -f $T/state $T/state.journal
config_text | sed "s|^set services flow-tap state-file .*|set services flow-tap state-file $SD/state|" > $T/xtapd.conf
start 6 > /dev/null
# 500 criteria: the transaction of a DELETE of all of them (5 KiB) cannot
# fit in the page a full tmpfs still has at the journal's end, nor can a
# snapshot; neither can the ADD of a criterion of 64 prefixes and 64 ports
for i in $(seq 1 500); do printf 'ADD DTCP/0.8\nCsource-ID: ftap\nX-IP-Addr: 198.51.100.%d\nCdest-ID: cd1\nX-JTap-Cdest-Dest-Address: 203.0.113.10\nX-JTap-Cdest-Dest-Port: 7890\nFlags: STATIC\n\n' $((i % 250 + 1)); done > $T/bulk.msg
dtcp send $T/bulk.msg > /dev/null 2>&1
dtcp list > $T/f0.out 2>&1
IDS0=$(ids_of $T/f0.out)
# fill it once no compaction is in progress (its end frees the old
# snapshot and journal, a failed one its .tmp: room again), and top it up
# before each request; xtapd puts a finished one in place within a second
fill() {
	for _ in $(seq 1 100); do
		[ "$(ip netns pids $S | wc -l)" = 2 ] && [ ! -e $SD/state.tmp ] && [ ! -e $SD/state.journal.next ] && break
		sleep 0.1
	done
	dd if=/dev/zero of=$SD/fill$1 bs=4k > /dev/null 2>&1
}
fill 1
# the first may still fit in the journal's last page: then it is durable, and 200
for k in 1 2 3 4; do
	printf 'ADD DTCP/0.8\nCsource-ID: ftap\nSource-Address: %s\nDest-Port: %s\nCdest-ID: cd1\nX-JTap-Cdest-Dest-Address: 203.0.113.10\nX-JTap-Cdest-Dest-Port: 7890\nFlags: STATIC\n\n' \
		"$(seq -s, 1 64 | sed "s/[0-9][0-9]*/10.9.$k.&/g")" "$(seq -s, 1001 2 1127)"
done > $T/big.msg
fill 2
dtcp send $T/big.msg > $T/f3.out 2>&1
IDSOK=$(ids_of $T/f3.out)
check "disk full: ADD answered 500 with a reason naming the fault ($(echo $IDSOK | wc -w) of 4 fitted)" grep -q "500 Server Internal Error: state not saved (.*No space left on device" $T/f3.out || sed 's/^/    /' $T/f3.out | head -3
IDS0=$(echo $IDS0 $IDSOK)
fill 3
dtcp delete --id '*' --static > $T/f4.out 2>&1
check "disk full: a DELETE of 500 criteria answered 500 too" grep -q " 500 .*No space left on device" $T/f4.out
dtcp list > $T/f5.out 2>&1
check "LIST still works and shows what the disk has ($(ids_of $T/f5.out | wc -w) of $(echo $IDS0 | wc -w) criteria)" [ "$(ids_of $T/f5.out)" = "$IDS0" ]
R1=$(rules)
check "the datapath agrees with the state file: $R1 rules, $(dp_records $SD/state | wc -l) records" [ "$R1" = "$(dp_records $SD/state | wc -l)" ]
CTL status > $T/st1.out 2>&1
check "xtapctl status says the sensor refuses changes" grep -q "REFUSING CHANGES.*No space left on device" $T/st1.out
check "the audit log says so" grep -q '"event":"state_error".*refusing changes' $T/audit.log
CTL metrics > $T/m1.out 2>&1
check "metrics: xtap_state_refusing_changes 1, refused requests counted" \
	bash -c "grep -qx 'xtap_state_refusing_changes 1' $T/m1.out && [ \$(sed -n 's/^xtap_state_refused_requests_total //p' $T/m1.out) -ge 2 ]"
check "and has the 500 lines naming the fault" grep -q '"code":500.*state not saved' $T/audit.log
rm -f $SD/fill*
T_BACK=$(date +%s)
dtcp add --src 192.0.2.43 $CD --static > $T/f6.out 2>&1
ID3=$(ids_of $T/f6.out)
check "space back: the next ADD answers 200 (id $ID3)" grep -q "CRITERIA-ID:" $T/f6.out
CTL status > $T/st2.out 2>&1
check "xtapctl status: saved again" grep -q "^State: saved" $T/st2.out
CTL metrics > $T/m2.out 2>&1
check "metrics: xtap_state_refusing_changes 0 again" grep -qx 'xtap_state_refusing_changes 0' $T/m2.out
LS=$(sed -n 's/^xtap_state_last_save_time_seconds \([0-9]*\)\..*/\1/p' $T/m2.out)
check "metrics: the last save is the recovering ADD's (${LS:-none} >= $T_BACK)" [ "${LS:-0}" -ge "$T_BACK" ]
check "the audit log says changes are accepted again" grep -q 'accepting changes' $T/audit.log
kill9
start 7 > /dev/null
dtcp list > $T/f7.out 2>&1
check "after a restart: exactly the acknowledged criteria ($(ids_of $T/f7.out | wc -w))" [ "$(ids_of $T/f7.out)" = "$IDS0 $ID3" ]
dtcp add --src 192.0.2.44 $CD --static > $T/f8.out 2>&1
check "ids are not reused ($(ids_of $T/f8.out) after $ID3)" [ "$(ids_of $T/f8.out)" -gt "$ID3" ]
stop_term
umount $SD

# the fault build
start_fault() {
	env "$@" nsenter --net=/run/netns/$S "$B/xtapd-fault" -f $T/xtapd.conf -P $PIN -S $T/ctl.sock >> $T/xtapd.log 2>&1 &
	for _ in $(seq 1 150); do
		[ "$(grep -c 'serving DTCP' $T/xtapd.log 2>/dev/null)" -ge "$nserv" ] && return 0
		sleep 0.2
	done
	return 1
}
check "build/xtapd has no fault hooks" bash -c "! '$B/xtapd' --crash-points > /dev/null 2>&1 && ! grep -q journal.sync.after '$B/xtapd'"
check "xtapd-fault --crash-points lists the points" bash -c "'$B/xtapd-fault' --crash-points | grep -qx journal.sync.after"
rm -f $T/state $T/state.journal
write_config
nserv=8
start_fault XTAP_CRASH=journal.sync.after:1
dtcp add --src 192.0.2.50 $CD --static > $T/c1.out 2>&1
for _ in $(seq 1 50); do [ -z "$(ip netns pids $S)" ] && break; sleep 0.1; done
check "crash after the journal's fdatasync: no reply" bash -c "! grep -q 'CRITERIA-ID' $T/c1.out && [ -z \"\$(ip netns pids $S)\" ]"
start 9 > /dev/null
dtcp list > $T/c2.out 2>&1
check "and the restart has the criterion, adopted (it was durable)" bash -c "
grep -q 'CRITERIA-ID: 1' $T/c2.out && grep 'criteria adopted running' $T/xtapd.log | tail -1 | grep -q ' 1 criteria adopted running, 0 installed again'"
kill9
nserv=10
start_fault XTAP_CRASH=journal.write.before:1
dtcp add --src 192.0.2.51 $CD --static > $T/c3.out 2>&1
for _ in $(seq 1 50); do [ -z "$(ip netns pids $S)" ] && break; sleep 0.1; done
start 11 > /dev/null
dtcp list > $T/c4.out 2>&1
check "crash before the journal's write: the ADD is wholly gone ($(ids_of $T/c4.out)), its rule swept" bash -c "
[ '$(ids_of $T/c4.out)' = '1' ] && grep -q '1 unknown rules removed' $T/xtapd.log"
stop_term
rm -f $T/state $T/state.journal
nserv=12
start_fault XTAP_FAULT=fsync:EIO:1:0
dtcp add --src 192.0.2.52 $CD --static > $T/e1.out 2>&1
check "EIO on every fsync: ADD answered 500 naming it" grep -q " 500 .*Input/output error" $T/e1.out
dtcp list > $T/e2.out 2>&1
check "and nothing is added" bash -c "! grep -q CRITERIA-ID $T/e2.out"
stop_term
# a stop and a start rewrite no snapshot (seconds at 1M criteria): the
# journal goes on across them (issue 11); the snapshot of a fresh start is
# the one exception, and it is empty
rm -f $T/state $T/state.journal
start 13 > /dev/null
for a in 60 61 62; do dtcp add --src 192.0.2.$a $CD --static > /dev/null 2>&1; done
snap() { stat -c '%i %Y %s' $T/state; }
S0=$(snap); J0=$(stat -c %s $T/state.journal 2>/dev/null)
stop_term
S1=$(snap); J1=$(stat -c %s $T/state.journal 2>/dev/null)
check "a stop rewrites no snapshot ($S0 / $S1) and leaves the journal (${J0:-none} / ${J1:-none} bytes)" \
	bash -c "[ '$S0' = '$S1' ] && [ -n '$J0' ] && [ '$J0' = '$J1' ]"
start 14 > /dev/null
S2=$(snap); J2=$(stat -c %s $T/state.journal 2>/dev/null)
# (a stop takes the datapath down here: the start installs the 3 again,
# and their new slots go to the journal as one transaction)
check "a start rewrites no snapshot either: the journal goes on (${J1:-none} then ${J2:-none} bytes)" \
	bash -c "[ '$S0' = '$S2' ] && [ '${J2:-0}' -gt '${J1:-0}' ] && grep -q '3 installed again' $T/xtapd.log"
dtcp add --src 192.0.2.63 $CD --static > /dev/null 2>&1
dtcp list > $T/r1.out 2>&1
check "and the ADD after it is kept with the 3 before ($(ids_of $T/r1.out))" [ "$(ids_of $T/r1.out)" = "1 2 3 4" ]
stop_term
# ---- interface names: resolved once per ADD, the ifindex asked again at a
# restart (a kernel fact, never persisted) ----
ip -n $S link add xg1 type veth peer name xg1p && ip -n $S link set xg1 up
write_config "set services flow-tap interface xg1 mode xdp-generic
set services flow-tap interface-alias ge-9/0/0 xg1"
rm -f $T/state $T/state.journal
start 15 > /dev/null
dtcp add --src 192.0.2.70 $CD --static --header 'X-JTap-Input-Interface: ge-9/0/0' > $T/if1.out 2>&1
check "an ADD on an alias of an attached interface: 200" grep -q ' 200 ' $T/if1.out
# the netdev goes away under the running sensor, then comes back (new ifindex)
ip -n $S link del xg1
dtcp add --src 192.0.2.71 $CD --static --header 'X-JTap-Input-Interface: ge-9/0/0' > $T/if2.out 2>&1
check "its netdev gone: the next ADD is 901 naming the interface, not 500 ($(grep -o 'DTCP/0.8 [0-9]* .*' $T/if2.out | head -1))" \
	bash -c "grep -q ' 901 ' $T/if2.out && grep -qi 'X-JTap-Input-Interface: ge-9/0/0' $T/if2.out"
ip -n $S link add xg1 type veth peer name xg1p && ip -n $S link set xg1 up
NEWIDX=$(ip -n $S -o link show xg1 | cut -d: -f1)
ip netns pids $S | xargs -r kill -9
for _ in $(seq 1 50); do [ -z "$(ip netns pids $S)" ] && break; sleep 0.1; done
start 16 > /dev/null
dtcp list > $T/if3.out 2>&1
check "after kill -9 and a start the criterion is listed ($(ids_of $T/if3.out))" [ "$(ids_of $T/if3.out)" = "1" ]
# the rule names the interface's bit, which the new xg1 got at the attach:
# adopted only if the start asked the host for ifindex $NEWIDX (an old
# ifindex, or none, would find no bit and fail)
check "and its running rule adopted through the new ifindex $NEWIDX" \
	grep -q '1 criteria adopted running, 0 installed again, 0 failed' $T/xtapd.log
dtcp add --src 192.0.2.72 $CD --static --header 'X-JTap-Input-Interface: ge-9/0/0' > $T/if4.out 2>&1
check "and an ADD on it is 200 again" grep -q ' 200 ' $T/if4.out
stop_term
check "no target address in xtapd's own log" bash -c "! grep -q '192.0.2.4[0-4]\|192.0.2.5' $T/xtapd.log"
summary
