#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# X1 (ETSI TS 103 221-1) against the real xtapd in the namespace lab of
# lab.sh, delivering over X3 (docs/x1.md "Delivery over X3"): tests/x1/admf.py
# as two ADMFs over mutual TLS to the X1 worker xtapd execs; CreateDestination
# (an X3 receiver, TCPPort) and ActivateTask with an IPv4 and an IPv6 target
# become criteria of the DTCP table (xtapctl --reveal shows them, a DTCP LIST
# does not); xtap-x3d in D receives X3 PDUs carrying the task's XID for IPv4
# and IPv6 traffic; ModifyTask under traffic loses no copy; two ADMFs' tasks
# get their own XIDs; an unsigned certificate is refused; after kill -9 of
# xtapd the task, its criteria and its delivery come back; DeactivateTask
# stops the copies.
# Usage: test_x1.sh BUILD. Keys and certificates are made here, in the
# test folder lab.sh removes.
. "$(dirname "$0")/lab.sh" "${1:-build}"
here=$(cd "$(dirname "$0")/../x1" && pwd)
py=/usr/bin/python3 # Debian's, with its ssl module
port=18443

[ "$(id -u)" -eq 0 ] || { echo "skip: needs root (namespaces, BPF)"; exit 77; }
command -v openssl > /dev/null || { echo "skip: no openssl"; exit 77; }
lab_up || { echo "0 passed, 1 failed"; exit 1; }
# IPv6 between C and S; the sensor's own address for the X3 slots (on lo:
# copies to it go through vt1, docs/x3.md)
ip -n $C addr add 2001:db8::10/64 dev c0 nodad
ip -n $S addr add 2001:db8::1/64 dev s0 nodad
ip -n $S addr add 198.51.100.1/32 dev lo
"$here/../x3/certs.sh" $T/pki 203.0.113.10 || { echo "0 passed, 1 failed"; exit 1; }

# ---- keys: a CA for the ADMFs and the NE, a CA nobody trusts ----
mk() { # name cn signer [san]
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
		-keyout "$T/$1.key" -out "$T/$1.csr" 2> /dev/null
	if [ -n "${4:-}" ]; then echo "subjectAltName=$4" > "$T/$1.ext"; else : > "$T/$1.ext"; fi
	openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.pem" -CAkey "$T/$3.key" -CAcreateserial \
		-days 2 -extfile "$T/$1.ext" -out "$T/$1.pem" 2> /dev/null
}
for ca in ca rogue; do
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=x1 test $ca" -keyout "$T/$ca.key" -out "$T/$ca.pem" 2> /dev/null
done
mk ne ne-xtap-1 ca "IP:127.0.0.1"
mk admf-a admf-a ca
mk admf-b admf-b ca
mk evil admf-a rogue
mk admf-srv admf-a-endpoint ca "IP:127.0.0.1"

X1CONF="set services x1 listen-address 127.0.0.1
set services x1 port $port
set services x1 certificate $T/ne.pem
set services x1 key $T/ne.key
set services x1 admf-ca $T/ca.pem
set services x1 ne-identifier ne-xtap-1
set services x1 x3-local-address 198.51.100.1
set services x1 x3-certificate $T/pki/sensor.pem
set services x1 x3-key $T/pki/sensor.key
set services x1 x3-ca $T/pki/ca.pem
set services x1 admf admf-a report-address 127.0.0.1
set services x1 admf admf-a report-port 18444"
write_config "$X1CONF"
check "xtapd -n accepts the X1 statements" "$B/xtapd" -n -f $T/xtapd.conf
mkdir -p -m 700 $T/.ssh
check "xtapd starts with its X1 worker" start 1
for _ in $(seq 1 100); do
	ip netns exec $S ss -Htln "sport = :$port" | grep -q . && break
	sleep 0.1
done
check "the X1 worker listens on port $port" bash -c "ip netns exec $S ss -Htln 'sport = :$port' | grep -q ."

admf() { # who files...
	local who=$1
	shift
	ip netns exec $S "$py" "$here/admf.py" --ca "$T/ca.pem" --cert "$T/$who.pem" --key "$T/$who.key" \
		--port $port "$@"
}
envl() { # admf txid
	echo "<admfIdentifier>$1</admfIdentifier><neIdentifier>ne-xtap-1</neIdentifier><messageTimestamp>2026-01-01T00:00:00.000000Z</messageTimestamp><version>v1.6.1</version><x1TransactionId>00000000-0000-4000-8000-0000000000$2</x1TransactionId>"
}
body() { # file admf txid type inner
	echo "<X1Request xmlns=\"http://uri.etsi.org/03221/X1/2017/10\" xmlns:c=\"http://uri.etsi.org/03280/common/2017/07\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><x1RequestMessage xsi:type=\"$4Request\">$(envl "$2" "$3")$5</x1RequestMessage></X1Request>" > "$T/$1"
}
tgt() { echo "<targetIdentifier><$1>$2</$1></targetIdentifier>"; }
task() { # xid did targets...
	local x=$1 d=$2
	shift 2
	echo "<taskDetails><xId>$x</xId><targetIdentifiers>$*</targetIdentifiers><deliveryType>X3Only</deliveryType><listOfDIDs><dId>$d</dId></listOfDIDs></taskDetails>"
}
dest() { # did port
	echo "<destinationDetails><dId>$1</dId><deliveryType>X3Only</deliveryType><deliveryAddress><ipAddressAndPort><c:address><c:IPv4Address>203.0.113.10</c:IPv4Address></c:address><c:port><c:TCPPort>$2</c:TCPPort></c:port></ipAddressAndPort></deliveryAddress></destinationDetails>"
}
# XA, XB: the two ADMFs' tasks; DA, DB their destinations (one receiver).
# Not D: lab.sh's namespace.
XA=a1000000-0000-4000-8000-000000000001
XB=b2000000-0000-4000-8000-000000000002
DA=d1000000-0000-4000-8000-000000000001
DB=d2000000-0000-4000-8000-000000000002
V6=2001:0db8:0000:0000:0000:0000:0000:0010
body dest.xml admf-a 02 CreateDestination "$(dest $DA 39443)"
body act.xml admf-a 03 ActivateTask "$(task $XA $DA "$(tgt ipv4Address 192.0.2.10)" "$(tgt ipv6Address $V6)")"
body get.xml admf-a 04 GetTaskDetails "<xId>$XA</xId>"
body get-b.xml admf-b 05 GetTaskDetails "<xId>$XA</xId>"
body claim.xml admf-a 06 DeactivateTask "<xId>$XA</xId>"
body deact.xml admf-a 07 DeactivateTask "<xId>$XA</xId>"
body mod.xml admf-a 08 ModifyTask "$(task $XA $DA "$(tgt ipv4Cidr 192.0.2.8/29)" "$(tgt ipv6Address $V6)")"
body dest-b.xml admf-b 09 CreateDestination "$(dest $DB 39443)"
# admf-b's task: the sensor's own address, so that C's pings match both
body act-b.xml admf-b 10 ActivateTask "$(task $XB $DB "$(tgt ipv4Address 192.0.2.1)")"
body deact-b.xml admf-b 11 DeactivateTask "<xId>$XB</xId>"
# admf-b's UDP destination at admf-a's slot port: its copies would join
# admf-a's X3 stream under admf-a's XID
DU=d3000000-0000-4000-8000-000000000003
XU=e5000000-0000-4000-8000-000000000005
body dest-u.xml admf-b 17 CreateDestination "<destinationDetails><dId>$DU</dId><deliveryType>X3Only</deliveryType><deliveryAddress><ipAddressAndPort><c:address><c:IPv4Address>198.51.100.1</c:IPv4Address></c:address><c:port><c:UDPPort>47000</c:UDPPort></c:port></ipAddressAndPort></deliveryAddress></destinationDetails>"
body act-u.xml admf-b 18 ActivateTask "$(task $XU $DU "$(tgt ipv4Address 192.0.2.10)")"

# the X3 receiver in D: PDUs as "XID SEQUENCE LENGTH" lines
ip netns exec $D "$B/xtap-x3d" -l 203.0.113.10:39443 --cert $T/pki/receiver.pem --key $T/pki/receiver.key \
	--ca $T/pki/ca.pem -w $T/rx.pcap --seq-log $T/rx.seq --json > $T/rx.json 2> $T/rx.err &
for _ in $(seq 1 100); do grep -q listening $T/rx.err 2> /dev/null && break; sleep 0.05; done
# the PDUs the receivers wrote for XID $1 that are the test's echo requests
# (84 bytes over IPv4, 104 over IPv6: ping's 56 bytes of data); the
# target's neighbour discovery, its traffic too, comes when it will
pdus() { cat $T/rx*.seq 2> /dev/null | awk -v x="$1" '$1 == x && ($3 == 84 || $3 == 104)' | wc -l; }
wait_pdus() { # xid count: until the receiver has written that many (the sender's keepalive flushes)
	for _ in $(seq 1 150); do
		[ "$(pdus $1)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
ctl() { "$B/xtapctl" -S $T/ctl.sock "$@"; }
x3show() { # name: "XID STATE PID RESTARTS" of that X3 destination, or nothing
	ctl --json show x3 | /usr/bin/python3 -c "
import json, sys
for x in json.load(sys.stdin)['x3']:
    if x['name'] == sys.argv[1]: print(x['xid'], x['state'], x['pid'], x['restarts'])" "$1" 2> /dev/null
}
wait_up() { # name xid
	for _ in $(seq 1 100); do
		[ "$(x3show "$1" | cut -d' ' -f1,2)" = "$2 up" ] && return 0
		sleep 0.1
	done
	return 1
}
wait_gone() { # name
	for _ in $(seq 1 100); do
		[ -z "$(x3show "$1")" ] && return 0
		sleep 0.1
	done
	return 1
}

out=$(admf admf-a "$T/dest.xml" "$T/act.xml")
check "admf-a: CreateDestination (an X3 receiver) and ActivateTask answered OK" \
	bash -c '[ "$(grep -c "^status 200" <<< "$1")" = 2 ] && [ "$(grep -o "<oK>AcknowledgedAndCompleted</oK>" <<< "$1" | wc -l)" = 2 ]' _ "$out" ||
	echo "$out" | sed 's/^/    /' | head -5

ctl --json --reveal show filter > $T/rules.json 2>&1
# an address target is one criterion per family (docs/x1.md "Mapping"), each
# shown with the task's XID, delivering to the DID, whose cdest is the slot:
# the sensor's address, the first port of x3-port-base (47000)
terms() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(' '.join('%s/%s/%s/%s' % (t['csource'], t['match'].get('X1-XID'), ','.join(t['cdests']), t['rules']) for t in d['terms']))" "$1"; }
want="X1/admf-a/$XA/$DA/2 X1/admf-a/$XA/$DA/2"
check "xtapctl --reveal --json: two criteria (IPv4, IPv6) of X1/admf-a with the XID, to the DID" \
	[ "$(terms $T/rules.json)" = "$want" ] || echo "    got: $(terms $T/rules.json)"
# a DTCP source cannot feed an X1 slot's X3 stream (its address and ports)
dtcp add --src 192.0.2.99 --cdest sneak --cd-addr 198.51.100.1 --cd-port 47000 --static > $T/sneak.out 2>&1
check "a DTCP ADD sending to an X1 delivery slot's port is refused 430" grep -q 'DTCP/0.8 430' $T/sneak.out
dtcp list --flags stats > $T/list.out 2>&1
check "a DTCP LIST does not show the X1 task" bash -c "! grep -q 'CRITERIA-ID' $T/list.out && ! grep -q 'X1/' $T/list.out" ||
	sed 's/^/    /' $T/list.out | head
check "xtapd started the slot's delivery process (X1/47000, the task's XID) and it connected" wait_up X1/47000 $XA ||
	{ x3show X1/47000; grep 'x3\|X1' $T/xtapd.log | tail -5; }
p=$(x3show X1/47000 | cut -d' ' -f3)
check "the slot's delivery process runs as nobody with no capability, under seccomp" bash -c "
grep -q '^Uid:[[:space:]]*65534' /proc/$p/status && grep -q '^CapEff:[[:space:]]*0*$' /proc/$p/status &&
grep -q '^Seccomp:[[:space:]]*2' /proc/$p/status"

ip netns exec $C ping -q -c 3 -i 0.2 192.0.2.1 > /dev/null
wait_pdus $XA 3
check "IPv4: 3 echo requests from the target, 3 X3 PDUs with the task's XID (got $(pdus $XA))" [ "$(pdus $XA)" = 3 ]
ip netns exec $C ping -q -c 2 -i 0.2 2001:db8::1 > /dev/null
wait_pdus $XA 5
check "IPv6: 2 echo requests from the target, 2 more PDUs with the XID (got $(($(pdus $XA) - 3)))" \
	[ "$(pdus $XA)" = 5 ]
check "every PDU the receiver wrote carries the task's XID" bash -c "! grep -qv '^$XA ' $T/rx.seq"
check "the PDUs are the target's packets (pcap: 3 ICMP, 2 ICMPv6 echo requests from it)" /usr/bin/python3 -c "
import struct, sys
d = open('$T/rx.pcap', 'rb').read(); o = 24; v4 = v6 = 0
while o < len(d):
    n = struct.unpack_from('<I', d, o + 8)[0]; p = d[o + 16:o + 16 + n]; o += 16 + n
    if p[0] >> 4 == 4 and p[9] == 1 and p[12:16] == bytes([192, 0, 2, 10]) and p[20] == 8: v4 += 1
    if p[0] >> 4 == 6 and p[6] == 58 and p[8:24] == bytes.fromhex('20010db8000000000000000000000010') and p[40] == 128: v6 += 1
sys.exit(0 if (v4, v6) == (3, 2) else 1)"

# ModifyTask under traffic: the new criteria deliver to the same slot, in
# before the old ones go: every echo request of a steady flow has its PDU
n0=$(pdus $XA)
ip netns exec $C ping -q -c 150 -i 0.02 192.0.2.1 > $T/ping.out 2>&1 &
PING=$!
sleep 1
out=$(admf admf-a "$T/mod.xml")
wait $PING
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' $T/ping.out)
check "ModifyTask (the IPv4 address becomes 192.0.2.8/29) answered OK" grep -q "<oK>AcknowledgedAndCompleted</oK>" <<< "$out"
wait_pdus $XA $((n0 + ${sent:-0}))
check "ModifyTask under traffic: a PDU for each of the $sent echo requests (got $(($(pdus $XA) - n0)))" \
	[ "$(pdus $XA)" = $((n0 + ${sent:-0})) ]
check "ModifyTask kept the slot's delivery process (same process, no restart)" \
	[ "$(x3show X1/47000)" = "$XA up $p 0" ]
check "the receiver saw no sequence gap" bash -c "! grep -q 'sequence gap' $T/rx.err"

# a second ADMF: its own destination object, task and slot (X1/47001, XB)
out=$(admf admf-b "$T/get-b.xml")
check "admf-b does not see admf-a's task (XIDDoesNotExist 2020)" grep -q "<errorCode>2020</errorCode>" <<< "$out"
out=$(admf admf-b "$T/claim.xml")
check "admf-b naming admf-a is refused (1030) and changes nothing" grep -q "<errorCode>1030</errorCode>" <<< "$out"
out=$(admf admf-b "$T/dest-b.xml" "$T/act-b.xml")
check "admf-b: its CreateDestination and ActivateTask answered OK" \
	[ "$(grep -o "<oK>AcknowledgedAndCompleted</oK>" <<< "$out" | wc -l)" = 2 ]
check "admf-b's task has its own slot and XID (X1/47001)" wait_up X1/47001 $XB
n0=$(pdus $XA)
ip netns exec $C ping -q -c 2 -i 0.2 192.0.2.1 > /dev/null
wait_pdus $XA $((n0 + 2))
wait_pdus $XB 2
check "a packet of both tasks: a PDU with each XID (admf-a $(($(pdus $XA) - n0)), admf-b $(pdus $XB) of 2)" \
	[ "$(($(pdus $XA) - n0)) $(pdus $XB)" = "2 2" ]
out=$(ip netns exec $S "$py" "$here/admf.py" --ca "$T/ca.pem" --cert "$T/evil.pem" --key "$T/evil.key" --port $port "$T/deact.xml")
rc=$?
check "a certificate the CA did not sign is refused in the handshake (rc $rc)" [ $rc = 3 ]
ctl --json --reveal show filter > $T/rules2.json 2>&1
check "after admf-b and the unsigned certificate admf-a's criteria are all there" \
	bash -c "[ \$(grep -o 'X1/admf-a' $T/rules2.json | wc -l) -ge 2 ]"
out=$(admf admf-b "$T/dest-u.xml" "$T/act-u.xml")
check "admf-b: a task delivering IP/UDP to admf-a's slot port is refused (GenericActivateTaskFailure 3000)" \
	grep -q "<errorCode>3000</errorCode>" <<< "$out"
out=$(admf admf-b "$T/deact-b.xml")
check "admf-b's DeactivateTask answered OK" grep -q "<oK>AcknowledgedAndCompleted</oK>" <<< "$out"
check "admf-b's slot: its delivery process stopped (X1/47001 gone)" wait_gone X1/47001

# kill -9 after the answered ActivateTask: the criteria stay in the datapath
# and come back from the state file, with the slot and its delivery
n0=$(pdus $XA)
ip netns pids $S | xargs -r kill -9
sleep 0.5
check "xtapd restarts" start 2
ctl --json --reveal show filter > $T/rules3.json 2>&1
check "after kill -9 and a restart the task's criteria are back" \
	[ "$(terms $T/rules3.json)" = "$want" ] || echo "    got: $(terms $T/rules3.json)"
check "the restart adopted the running datapath" grep -q "criteria adopted running" $T/xtapd.log
check "after the restart the slot's delivery is back (X1/47000, the XID, connected)" wait_up X1/47000 $XA
ip netns exec $C ping -q -c 2 -i 0.2 192.0.2.1 > /dev/null
wait_pdus $XA $((n0 + 2))
check "after the restart 2 echo requests, 2 PDUs with the XID (got $(($(pdus $XA) - n0)))" [ "$(pdus $XA)" = $((n0 + 2)) ]
for _ in $(seq 1 100); do
	ip netns exec $S ss -Htln "sport = :$port" | grep -q . && break
	sleep 0.1
done
out=$(admf admf-a "$T/get.xml")
check "after the restart GetTaskDetails shows the task" grep -q "GetTaskDetailsResponse" <<< "$out"

# the receiver goes away: after 5 s down the destination is at fault
# (GetDestinationDetails) and admf-a is told (ReportDestinationIssue and
# ReportTaskIssue, NonTerminatingFault); back, AllClear
# admf-a's own endpoint, where the NE's issue reports go (docs/x1.md); in S
# (started here: the kill -9 above ends every process of S)
ip netns exec $S "$py" "$here/admf_server.py" --ca $T/ca.pem --cert $T/admf-srv.pem --key $T/admf-srv.key \
	--port 18444 --log $T/reports.log > $T/admfsrv.out 2>&1 &
for _ in $(seq 1 100); do grep -q listening $T/admfsrv.out 2> /dev/null && break; sleep 0.05; done
body getd.xml admf-a 12 GetDestinationDetails "<dId>$DA</dId>"
reports() { # type: the report messages of that type so far, "KIND ID" per line
	/usr/bin/python3 -c "
import re, sys
t = open('$T/reports.log').read() if __import__('os').path.exists('$T/reports.log') else ''
for m in re.finditer(r'xsi:type=\"Report(Destination|Task)IssueRequest\">(.*?)</x1RequestMessage>', t, re.S):
    b = m.group(2)
    if '<' + ('destination' if m.group(1) == 'Destination' else 'task') + 'ReportType>' + sys.argv[1] + '<' in b:
        print(m.group(1), re.search(r'<[dx]Id>([^<]*)<', b).group(1))" "$1"
}
wait_reports() { # type want
	for _ in $(seq 1 150); do
		[ "$(reports $1 | sort | tr '\n' ' ')" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
out=$(admf admf-a "$T/getd.xml")
check "GetDestinationDetails while the receiver works: activeAndWorking" \
	grep -q "<destinationDeliveryStatus>activeAndWorking<" <<< "$out"
rxpid=$(ip netns pids $D | head -1)
kill $rxpid
check "receiver gone: admf-a is told NonTerminatingFault for the destination and its task" \
	wait_reports NonTerminatingFault "Destination $DA Task $XA " || { reports NonTerminatingFault; grep -i "report\|admf" $T/xtapd.log | tail -5; cat $T/admfsrv.out; }
out=$(admf admf-a "$T/getd.xml")
check "GetDestinationDetails with the receiver gone: deliveryFault" \
	grep -q "<destinationDeliveryStatus>deliveryFault<" <<< "$out"
check "the report carries the NE's envelope and no target" /usr/bin/python3 -c "
t = open('$T/reports.log').read()
assert '<admfIdentifier>admf-a</admfIdentifier>' in t and '<neIdentifier>ne-xtap-1</neIdentifier>' in t, t
assert '192.0.2' not in t and '2001:db8' not in t, t"
ip netns exec $D "$B/xtap-x3d" -l 203.0.113.10:39443 --cert $T/pki/receiver.pem --key $T/pki/receiver.key \
	--ca $T/pki/ca.pem -w $T/rx2.pcap --seq-log $T/rx2.seq --json > $T/rx2.json 2> $T/rx2.err &
check "receiver back: admf-a is told AllClear for both" wait_reports AllClear "Destination $DA Task $XA "
out=$(admf admf-a "$T/getd.xml")
check "GetDestinationDetails after: activeAndWorking again" grep -q "<destinationDeliveryStatus>activeAndWorking<" <<< "$out"
audited() { # the report's audit line once its process is reaped (the monitor looks once a second)
	for _ in $(seq 1 50); do
		grep -q "ReportDestinationIssue.*$DA: $1 reported" $T/audit.log && return 0
		sleep 0.1
	done
	return 1
}
check "the audit log has both reports (code 200)" bash -c "$(declare -f audited); DA=$DA T=$T; audited NonTerminatingFault && audited AllClear"

out=$(admf admf-a "$T/deact.xml")
ctl --json --reveal show filter > $T/rules4.json 2>&1
check "DeactivateTask: OK and its criteria removed" \
	bash -c '[ "$2" = "" ] && grep -q "<oK>AcknowledgedAndCompleted</oK>" <<< "$1"' _ "$out" "$(terms $T/rules4.json)"
n0=$(pdus $XA)
ip netns exec $C ping -q -c 2 -i 0.2 192.0.2.1 > /dev/null
sleep 1
check "after DeactivateTask no more PDUs (got $(($(pdus $XA) - n0)))" [ "$(pdus $XA)" = "$n0" ]
check "the audit log has the X1 messages under X1/admf-a" \
	bash -c "grep -q '\"csource\":\"X1/admf-a\".*ActivateTask' $T/audit.log && grep -q '\"csource\":\"X1/admf-a\".*CreateDestination' $T/audit.log"

# keepalive (clause 6.6.2), policy deactivate, 5 s: after a restart every
# ADMF's period starts again; admf-a sends nothing and loses its task,
# admf-b keeps sending Keepalive (about one a second) and keeps its own
XK=c3000000-0000-4000-8000-000000000003
XK2=c4000000-0000-4000-8000-000000000004
body act-k.xml admf-a 14 ActivateTask "$(task $XK $DA "$(tgt ipv4Address 192.0.2.10)")"
body act-k2.xml admf-b 15 ActivateTask "$(task $XK2 $DB "$(tgt ipv4Address 192.0.2.1)")"
body ka.xml admf-b 16 Keepalive ""
out=$(admf admf-a "$T/act-k.xml")
out2=$(admf admf-b "$T/act-k2.xml")
check "admf-a and admf-b each activate a task" bash -c '[ "$(grep -o "<oK>AcknowledgedAndCompleted</oK>" <<< "$1$2" | wc -l)" = 2 ]' _ "$out" "$out2"
ip netns pids $S | xargs -r kill -9
sleep 0.5
write_config "$X1CONF
set services x1 keepalive-timeout 5
set services x1 keepalive-policy deactivate"
check "xtapd restarts with a 5 s keepalive policy" start 3
xids() { /usr/bin/python3 -c "import json,sys; print(' '.join(sorted(t['match'].get('X1-XID', '') for t in json.load(open(sys.argv[1]))['terms'])))" "$1"; }
ctl --json --reveal show filter > $T/rules5.json 2>&1
check "after the restart both tasks are there" [ "$(xids $T/rules5.json)" = "$XK $XK2" ]
t0=$(date +%s)
kas=0
for _ in $(seq 1 40); do # until admf-a's task is gone (5 s and the sweep's second), at most 40 turns
	admf admf-b "$T/ka.xml" | grep -q KeepaliveResponse && kas=$((kas + 1))
	ctl --json --reveal show filter > $T/rules5.json 2>&1
	[ "$(xids $T/rules5.json)" = "$XK2" ] && break
	sleep 0.5
done
t1=$(date +%s)
check "admf-a, silent since the restart, lost its task after about 5 s ($((t1 - t0)) s); admf-b's kept ($kas Keepalives answered)" \
	bash -c '[ "$1" = "$2" ] && [ $3 -ge 4 ] && [ $4 -ge 2 ]' _ "$(xids $T/rules5.json)" "$XK2" $((t1 - t0)) $kas
check "the loss is audited under X1/admf-a (1 task, 1 deactivated)" \
	grep -q '"csource":"X1/admf-a".*"method":"Keepalive".*keepalive lost: 1 tasks, 1 deactivated' $T/audit.log
check "admf-a's slot stopped with its task (X1/47000 gone), admf-b's delivers (X1/47001 up)" \
	bash -c "[ -z \"\$(B=$B T=$T; $(declare -f ctl x3show); x3show X1/47000)\" ] && [ \"\$(B=$B T=$T; $(declare -f ctl x3show); x3show X1/47001 | cut -d' ' -f1,2)\" = '$XK2 up' ]"
check "no target in xtapd's log" bash -c "! grep -qE '192\.0\.2\.10|192\.0\.2\.8|2001:db8::10|$V6' $T/xtapd.log"
summary
