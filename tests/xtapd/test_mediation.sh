#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# xtapd as mediation devices see it: OpenSSH's `ssh -s flow-tap-dtcp` with a
# key, a paramiko client behaving like deployed ones, two control sources
# kept apart, 10,000 criteria added and listed, expiry by idle time, total
# time, packets and bytes, each audited.
#
# usage: test_mediation.sh BUILD_DIR
. "$(dirname "$0")/lab.sh"
lab_up || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p -m 700 $T/.ssh
ssh-keygen -q -t ed25519 -N '' -f $T/mdkey -C md@test
write_config "set system login user ftap authentication ssh-ed25519 \"$(cat $T/mdkey.pub)\"
set system login user ftap2 uid 2001
set system login user ftap2 class flowtap
set system login user ftap2 authentication encrypted-password \"\$6\$xtapdemosalt\$Q6n02KLKw3Bgp1IwwvALWv0o0qy3sgP8JNx8FhW/GujRh.11QJi/dZ0DpqghgnGdC0sxvbxsRcHeHrlLgi6SH0\"
set services flow-tap control-source ftap2 key \"Other\"
set services flow-tap max-criteria 20000"
check "xtapd starts" start 1
[ -n "${XTAPD_TEST_PAUSE:-}" ] && { echo "lab up: S=$S T=$T"; sleep "$XTAPD_TEST_PAUSE"; }

# OpenSSH, public key, a signed NOOP on stdin
MD="ip netns exec $S /usr/bin/python3 $(dirname "$0")/md.py 127.0.0.1 32001"
$MD ftap - Juniper sign > $T/noop.msg
ip netns exec $S timeout 10 ssh -T -p 32001 -i $T/mdkey -o UserKnownHostsFile=$T/known_hosts \
	-o StrictHostKeyChecking=accept-new -o BatchMode=yes -s ftap@127.0.0.1 flow-tap-dtcp \
	< $T/noop.msg > $T/ssh.out 2>$T/ssh.err
check "OpenSSH ssh -s flow-tap-dtcp with a key: NOOP answers 200 with SEQ 7" \
	bash -c "grep -q 'DTCP/0.8 200 OK' $T/ssh.out && grep -q 'SEQ: 7' $T/ssh.out"
ip netns exec $S timeout 10 ssh -T -p 32001 -i $T/mdkey -o UserKnownHostsFile=$T/known_hosts \
	-o BatchMode=yes ftap@127.0.0.1 id > $T/exec.out 2>&1
check "exec is refused" bash -c "! grep -q uid= $T/exec.out"

ip netns exec $S timeout 10 ssh -T -p 32001 -i $T/mdkey -o UserKnownHostsFile=$T/known_hosts \
	-o BatchMode=yes -s ftap@127.0.0.1 sftp < /dev/null > $T/sftp.out 2>&1
check "another subsystem (sftp) is refused" bash -c "! grep -q 'DTCP' $T/sftp.out"
DTCP_PASSWORD=wrong dtcp noop > $T/wrongpw.out 2>&1
check "a wrong password is refused and audited" bash -c "
grep -q 'auth' $T/wrongpw.out && grep -q '\"event\":\"auth_fail\".*\"user\":\"ftap\"' $T/audit.log"

# paramiko, as deployed mediation devices use it
check "paramiko: 20 NOOPs written at once, 20 replies in order" $MD ftap ftap-demo Juniper pipeline 20
$MD ftap ftap-demo Juniper perconn 3 > $T/perconn.out 2>&1
check "paramiko: a new connection per ADD, Seq 1, each reply whole in one recv, ids 1,2,3" grep -q "ids 1,2,3" $T/perconn.out
check "paramiko: three bad signatures get no reply and close the session" $MD ftap ftap-demo Juniper badhmac
check "and the audit log records the three dropped messages" \
	[ "$(grep -c '\"outcome\":\"dropped\"' $T/audit.log)" -ge 3 ]

# REFRESH: new limits replace the remaining ones, counted in LIST
rid=$(dtcp add --src 192.0.2.99 --cdest cd1 --cd-addr 203.0.113.10 --cd-port 7890 --total 60 2>&1 |
	grep -o 'CRITERIA-ID: [0-9]*' | cut -d' ' -f2)
dtcp refresh --id "$rid" --total 3600 > $T/ref.out 2>&1
dtcp list --id "$rid" > $T/lref.out 2>&1
check "REFRESH answers 200 and LIST shows it (NUM-REFRESH 1, REMAINING-TOTAL above 3000)" bash -c "
grep -q 'CRITERIA-COUNT: 1' $T/ref.out && grep -q 'NUM-REFRESH: 1' $T/lref.out &&
[ \$(tr -d '\r' < $T/lref.out | sed -n 's/^REMAINING-TOTAL: //p') -gt 3000 ]"
dtcp delete --id "$rid" > /dev/null 2>&1

# two control sources
DTCP_USER=ftap2 DTCP_KEY=Other dtcp list > $T/l2.out 2>&1
check "another control source sees none of ftap's criteria" bash -c "! grep -q 'CRITERIA-ID' $T/l2.out"
DTCP_USER=ftap2 DTCP_KEY=Other dtcp delete --id 2 --static > $T/d2.out 2>&1
check "and deleting ftap's criterion 2 answers 431, as if it did not exist" grep -q "431" $T/d2.out
dtcp list --id 2 > $T/l1.out 2>&1
check "ftap's criterion 2 is still there" grep -q "CRITERIA-ID: 2" $T/l1.out
dtcp delete --id '*' --static > /dev/null 2>&1

# 10,000 criteria through one session, listed back
/usr/bin/python3 - $T/add10k.txt <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        f.write("ADD DTCP/0.8\nCsource-ID: ftap\nCdest-ID: cd1\nSource-Address: 10.%d.%d.%d\n"
                "X-JTap-Cdest-Dest-Address: 203.0.113.10\nX-JTap-Cdest-Dest-Port: 7890\nFlags: STATIC\n\n"
                % (i >> 16, (i >> 8) & 255, i & 255))
PY
# the client sends at most 1,024 messages a file: ten sessions of 1,000
split -l 8000 $T/add10k.txt $T/add10k.part. # 8 lines a message
t0=$(date +%s.%N)
for f in $T/add10k.part.*; do dtcp send $f; done > $T/add10k.out 2>&1
t1=$(date +%s.%N)
check "10,000 ADDs (ten pipelined sessions) all answer 200 ($(echo "$t1 - $t0" | bc) s)" \
	[ "$(grep -c 'DTCP/0.8 200 OK' $T/add10k.out)" = 10000 ]
dtcp list --flags criteria > $T/list10k.out 2>&1
check "LIST returns all 10,000 (split replies, last CRITERIA-NUM 10000)" \
	bash -c "[ \$(grep -c '^CRITERIA-ID:' $T/list10k.out) = 10000 ] && grep -q 'CRITERIA-NUM: 10000' $T/list10k.out"
dtcp delete --id '*' --static > $T/del10k.out 2>&1
check "DELETE * removes them all" grep -q "CRITERIA-COUNT: 10000" $T/del10k.out

# expiry, each kind
add() { dtcp add --src 192.0.2.10 --proto 1 --cdest cd1 --cd-addr 203.0.113.10 --cd-port 7890 "$@" 2>&1 |
	grep -o 'CRITERIA-ID: [0-9]*' | cut -d' ' -f2; }
idle=$(add --idle 2)
total=$(add --total 2)
pkts=$(add --packets 3 --total 600)
bytes=$(add --bytes 200 --total 600)
ip netns exec $C ping -q -c 4 -i 0.2 192.0.2.1 > /dev/null
sleep 3.5
dtcp list > $T/lexp.out 2>&1
for id in $idle $total $pkts $bytes; do
	check "criterion $id expired and is gone" bash -c "! grep -q 'CRITERIA-ID: $id\$' <(tr -d '\\r' < $T/lexp.out)"
done
for w in idle total packets bytes; do
	check "the audit log records an expiry by $w" grep -q "\"expire\".*\"$w\"\\|\"$w\".*expire" $T/audit.log
done

summary
