#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Juniper's "Example: IPv6 Support for FlowTapLite", word for word, against
# the real xtapd in namespaces this test creates and removes: the document's
# ADD (no lifetime, cd1 named with only its ports and TTL, input interface
# ge-2/0/1), its LIST (Flags: Both) and its DELETE (CDest-ID, no Flags), each
# signed with Seq: 1 on a connection of its own, as deployed clients send.
# cd1 and the alias ge-2/0/1 are configured as a FlowTapLite router's would
# be. Traffic: UDP from port 1234 of an address in the /112 to
# [affe::1:1]:2345 enters on s0 (ge-2/0/1); the server behind the sensor
# counts what arrives, a capture on vt1 what xtap emitted (outer IPv4 to
# 203.0.113.10:2300 from port 65535, TTL 255, the datagram inside), and the
# CD what it received. Then the drafts' readings (no-lifetime refuse,
# cdest-merge off, delete-static with-flag) for a second control source.
#
# usage: test_flowtaplite.sh BUILD_DIR
. "$(dirname "$0")/lab.sh"
lab_up || { echo "0 passed, 1 failed"; exit 1; }

TGT=7234:5678:abcd:ef12:3456:78ab:abc8:1235   # in the document's /112
SRV=affe::1:1
ip -n $C addr add $TGT/112 dev c0 nodad
ip -n $S addr add 7234:5678:abcd:ef12:3456:78ab:abc8:1/112 dev s0 nodad
ip -n $C -6 route add affe::/16 via 7234:5678:abcd:ef12:3456:78ab:abc8:1
ip -n $S addr add 2001:db8:d::1/64 dev s2 nodad
ip -n $D addr add 2001:db8:d::10/64 dev d0 nodad
ip -n $D addr add $SRV/128 dev lo nodad     # the document's Dest-Address, on the far host
ip -n $D -6 route add 7234::/16 via 2001:db8:d::1
ip -n $S -6 route add affe::/16 via 2001:db8:d::10
ip netns exec $S sysctl -q -w net.ipv6.conf.all.forwarding=1

HASH='$6$xtapdemosalt$Q6n02KLKw3Bgp1IwwvALWv0o0qy3sgP8JNx8FhW/GujRh.11QJi/dZ0DpqghgnGdC0sxvbxsRcHeHrlLgi6SH0'
write_config "set services flow-tap interface-alias ge-2/0/1 s0
set services flow-tap content-destination cd1 address 203.0.113.10
set services flow-tap content-destination cd1 port 7890
set services flow-tap content-destination cd1 source-address 203.0.113.1
set system login user drafts uid 2001
set system login user drafts class flowtap
set system login user drafts authentication encrypted-password \"$HASH\"
set services flow-tap control-source drafts key \"Juniper\"
set services flow-tap control-source drafts no-lifetime refuse
set services flow-tap control-source drafts cdest-merge off
set services flow-tap control-source drafts delete-static with-flag"
check "xtapd -n accepts the configuration" "$B/xtapd" -n -f $T/xtapd.conf
check "xtapd starts" start 1

MD="ip netns exec $S /usr/bin/python3 $(dirname "$0")/md.py 127.0.0.1 32001"
msg() { local name=$1; shift; printf '%s\n' "$@" > $T/$name.msg; }
msg add "ADD DTCP/0.8" "Csource-ID: ftap" "Cdest-ID: cd1" \
	"Source-Address: 7234:5678:ABCD:EF12:3456:78AB:ABC8:1235/112" "Dest-Address: affe::1:1" \
	"Source-Port: 1234" "Dest-Port: 2345" "Protocol: *" "Priority: 2" \
	"X-JTap-Input-Interface: ge-2/0/1" "X-JTap-Cdest-Dest-Port: 2300" \
	"X-JTap-Cdest-Source-Port: 65535" "X-JTap-Cdest-TTL: 255" "X-JTap-IP-Version: ipv6" "Seq: 1"
msg list "LIST DTCP/0.8" "Csource-ID: ftap" "Flags: Both" "Seq: 1"
msg delete "DELETE DTCP/0.8" "Csource-ID: ftap" "CDest-ID: cd1" "Seq: 1"

# The server on affe::1:1 port 2345 counts datagrams by source port; the
# capture on vt1 keeps what xtap sent; the CD listens on cd1's port 2300.
server_up() {
	rm -f $T/srv.out $T/srv.ready
	ip netns exec $D /usr/bin/python3 -c "
import socket, sys, time, collections
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(('$SRV', 2345)); s.settimeout(0.2)
open('$T/srv.ready', 'w').close()
# until all 8 datagrams of send_traffic are in (or 20 s): a busy machine
# delays the sender past any fixed window
got = collections.Counter(); end = time.time() + 20
while time.time() < end and sum(got.values()) < 8:
    try: d, a = s.recvfrom(2048); got[a[1]] += 1
    except socket.timeout: pass
print(' '.join('%d:%d' % kv for kv in sorted(got.items())))
" "$1" > $T/srv.out &
	SRVPID=$!
	for _ in $(seq 1 100); do [ -e $T/srv.ready ] && return 0; sleep 0.1; done
	return 1
}
capture_up() {
	rm -f $T/vt1.pcap $T/tcpdump.err
	ip netns exec $S tcpdump -i vt1 -U -w $T/vt1.pcap udp > /dev/null 2>$T/tcpdump.err &
	TDPID=$!
	for _ in $(seq 1 100); do grep -q listening $T/tcpdump.err 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
# 5 datagrams from the target's port 1234, 3 from its port 1299
send_traffic() {
	ip netns exec $C /usr/bin/python3 -c "
import socket
for port, n in ((1234, 5), (1299, 3)):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(('$TGT', port))
    for i in range(n): s.sendto(b'intercept-me %d %d' % (port, i), ('$SRV', 2345))
    s.close()
"
}
# Each copy on vt1: outer IPv4 addresses, TTL, UDP ports, and the inner
# datagram's source port; printed one per line.
copies() {
	/usr/bin/python3 - $T/vt1.pcap <<'PY'
import struct, sys, socket
d = open(sys.argv[1], 'rb').read()
off = 24
while off + 16 <= len(d):
    incl = struct.unpack_from('<I', d, off + 8)[0]; p = d[off + 16:off + 16 + incl]; off += 16 + incl
    if len(p) < 14 + 20 + 8 + 48 or p[12:14] != b'\x08\x00':
        continue
    ip = p[14:]; ihl = (ip[0] & 15) * 4; udp = ip[ihl:]; inner = udp[8:]
    if inner[0] >> 4 != 6 or inner[6] != 17:
        continue
    print(socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), 'ttl', ip[8],
          'udp', struct.unpack('!H', udp[0:2])[0], struct.unpack('!H', udp[2:4])[0],
          'inner', socket.inet_ntop(socket.AF_INET6, inner[8:24]),
          socket.inet_ntop(socket.AF_INET6, inner[24:40]), struct.unpack('!H', inner[40:42])[0])
PY
}
# One round of traffic: the server for $1 s, the capture, cd1 (lab.sh's CD on
# port 2300) for $2 s, waiting for $3 copies on vt1; afterwards $T/srv.out,
# copies and n tell what arrived.
traffic_round() {
	server_up "$1" && capture_up && cd_count "$2" 2300
	send_traffic
	wait_cd
	wait $SRVPID
	for _ in $(seq 1 50); do [ "$(copies | wc -l)" -ge "${3:-0}" ] && break; sleep 0.1; done
	kill $TDPID 2>/dev/null; wait $TDPID 2>/dev/null
}

# ---- the document's ADD, verbatim, no lifetime
$MD ftap ftap-demo Juniper send $T/add.msg > $T/add.out 2>&1
check "the document's ADD answers 200 OK with CRITERIA-ID 1" \
	bash -c "grep -q '^DTCP/0.8 200 OK' $T/add.out && grep -q 'CRITERIA-ID: 1' $T/add.out" ||
	sed 's/^/    /' $T/add.out

"$B/xtapctl" -S $T/ctl.sock --reveal --json show filter > $T/filter1.json 2>&1
check "xtapctl --reveal: one criterion evaluated on s0's ingress, the document's term 1" \
	bash -c "grep -q '\"name\":\"s0\",\"mode\":\"$XMODE\",\"ingress\":{\"criteria\":1' $T/filter1.json &&
	grep -q '\"index\":1,\"csource\":\"ftap\",\"flags\":\"static\"' $T/filter1.json &&
	grep -qi '7234:5678:abcd:ef12:3456:78ab:abc8:1235/112' $T/filter1.json"
traffic_round 4 3 5
copies > $T/copies.txt
check "the server behind the sensor got all 8 datagrams, unchanged path ($(cat $T/srv.out))" \
	[ "$(cat $T/srv.out)" = "1234:5 1299:3" ]
check "xtap sent exactly 5 copies, all of source port 1234 (got $(wc -l < $T/copies.txt))" \
	bash -c "[ \$(wc -l < $T/copies.txt) = 5 ] && [ \$(grep -c ' 1234\$' $T/copies.txt) = 5 ]"
check "each copy: 203.0.113.1 (cd1's configured source) -> 203.0.113.10 (its address), TTL 255, UDP 65535 -> 2300, the target's datagram inside" \
	bash -c "[ \$(grep -c '^203.0.113.1 203.0.113.10 ttl 255 udp 65535 2300 inner $TGT $SRV 1234\$' $T/copies.txt) = 5 ]" ||
	sed 's/^/    /' $T/copies.txt
check "cd1 received the 5 copies on port 2300 (got ${n:-0})" [ "${n:-0}" = 5 ]

$MD ftap ftap-demo Juniper send $T/list.msg > $T/list.out 2>&1
check "the document's LIST: 200 OK, FLAGS: STATIC, the fields as given, MATCHING-PACKETS: 5" \
	bash -c "tr -d '\r' < $T/list.out > $T/list.txt && grep -q '^DTCP/0.8 200 OK' $T/list.txt &&
	grep -qx 'CRITERIA-ID: 1' $T/list.txt && grep -qx 'FLAGS: STATIC' $T/list.txt &&
	grep -qx 'SOURCE-ADDRESS: 7234:5678:ABCD:EF12:3456:78AB:ABC8:1235/112' $T/list.txt &&
	grep -qx 'X-JTAP-INPUT-INTERFACE: ge-2/0/1' $T/list.txt && grep -qx 'PRIORITY: 2' $T/list.txt &&
	grep -qx 'MATCHING-PACKETS: 5' $T/list.txt" || sed 's/^/    /' $T/list.out

# ---- the document's DELETE: CDest-ID, no Flags
$MD ftap ftap-demo Juniper send $T/delete.msg > $T/delete.out 2>&1
check "the document's DELETE answers 200 OK with CRITERIA-COUNT: 1" \
	bash -c "grep -q '^DTCP/0.8 200 OK' $T/delete.out && grep -q 'CRITERIA-COUNT: 1' $T/delete.out" ||
	sed 's/^/    /' $T/delete.out
traffic_round 3 2
k=$(copies | wc -l)
check "after the DELETE nothing is copied (vt1 $k, cd1 ${n:-0}) and traffic flows ($(cat $T/srv.out))" \
	bash -c "[ '$k' = 0 ] && [ '${n:-0}' = 0 ] && [ '$(cat $T/srv.out)' = '1234:5 1299:3' ]"
$MD ftap ftap-demo Juniper send $T/list.msg > $T/list2.out 2>&1
check "and LIST shows nothing" bash -c "grep -q '200 OK' $T/list2.out && ! grep -q 'CRITERIA-ID' $T/list2.out"
"$B/xtapctl" -S $T/ctl.sock --reveal --json show filter > $T/filter.json 2>&1
check "and no rule is left on the datapath (xtapctl --reveal)" \
	bash -c "grep -q '\"ingress\":{\"criteria\":0' $T/filter.json && ! grep -qi '7234' $T/filter.json"

# ---- the drafts' readings, for control source "drafts"
sed 's/Csource-ID: ftap/Csource-ID: drafts/' $T/add.msg > $T/dadd.msg
$MD drafts ftap-demo Juniper send $T/dadd.msg > $T/dadd.out 2>&1
check "no-lifetime refuse: the document's ADD gets 433 (MISSING: Flags: STATIC or Timeout-*)" \
	bash -c "grep -q '433 Improper Timeout' $T/dadd.out && grep -q 'MISSING: Flags: STATIC or Timeout-\*' $T/dadd.out"
printf 'Flags: STATIC\n' >> $T/dadd.msg
$MD drafts ftap-demo Juniper send $T/dadd.msg > $T/dadd2.out 2>&1
check "cdest-merge off: with Flags: STATIC, 901 MISSING: X-JTap-Cdest-Dest-Address" \
	bash -c "grep -q '901 JTap Failure' $T/dadd2.out && grep -q 'MISSING: X-JTap-Cdest-Dest-Address' $T/dadd2.out"
printf 'X-JTap-Cdest-Dest-Address: 203.0.113.10\nX-JTap-Cdest-Source-Address: 203.0.113.1\n' >> $T/dadd.msg
$MD drafts ftap-demo Juniper send $T/dadd.msg > $T/dadd3.out 2>&1
did=$(tr -d '\r' < $T/dadd3.out | sed -n 's/^CRITERIA-ID: //p')
check "with the address too it answers 200 (CRITERIA-ID ${did:-none}, not 1: ids are never reused)" \
	bash -c "[ -n '$did' ] && [ '$did' != 1 ]"
sed 's/Csource-ID: ftap/Csource-ID: drafts/' $T/delete.msg > $T/ddel.msg
$MD drafts ftap-demo Juniper send $T/ddel.msg > $T/ddel.out 2>&1
check "delete-static with-flag: the document's DELETE answers 200 with CRITERIA-COUNT: 0" \
	bash -c "grep -q '200 OK' $T/ddel.out && grep -q 'CRITERIA-COUNT: 0' $T/ddel.out"
traffic_round 3 2 5
k=$(copies | wc -l)
check "and the static criterion still intercepts (vt1 $k copies, cd1 ${n:-0})" \
	bash -c "[ '$k' = 5 ] && [ '${n:-0}' = 5 ]"
printf 'Flags: STATIC\n' >> $T/ddel.msg
$MD drafts ftap-demo Juniper send $T/ddel.msg > $T/ddel2.out 2>&1
check "with Flags: STATIC the DELETE ends it (CRITERIA-COUNT: 1)" grep -q 'CRITERIA-COUNT: 1' $T/ddel2.out
check "the audit log holds every request, and no line carries the target" \
	bash -c "[ \$(grep -c '\"method\":\"ADD\"' $T/audit.log) -ge 4 ] && ! grep -qi '7234:5678' $T/xtapd.log"
summary
