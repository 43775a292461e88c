#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# X3 delivery end to end, in namespaces (prefix x3): a client C talks TCP and
# UDP through the sensor S to a server in D; xtapd on S copies both directions
# (criteria on the client's address, naming the configured x3 content
# destination by Cdest-ID); the copies reach the delivery process xtapd
# started (on S's 198.51.100.1, an address of the sensor itself) and go as X3
# PDUs over TLS to xtap-x3d in D. Checked against tcpdump at the sensor's
# ingress: every matching packet one PDU, payload byte for byte, sequence
# 0..N-1, timestamps in the capture window and in order, directions; the
# same criterion to a JMirror destination at once; the receiver killed and
# restarted under traffic: PDUs missing at the receivers equal the sensor's
# counters. Root.
# usage: test_x3_e2e.sh BUILD_DIR
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../xtapd/lab.sh"
# this test's own names (x3 prefix), cleaned by lab.sh's trap
S=x3s$$ C=x3c$$ D=x3d$$ PIN=/sys/fs/bpf/x3-t$$
RXB=$B/san/xtap-x3d
XID=5a3c1e00-0b1d-4e5f-8a9b-0c1d2e3f4a5b
lab_up || { echo "0 passed, 1 failed"; exit 1; }
# C <-> D through S
ip netns exec $S sysctl -qw net.ipv4.conf.all.forwarding=1
ip -n $C route add 203.0.113.0/24 via 192.0.2.1
ip -n $D route add 192.0.2.0/24 via 203.0.113.1
ip -n $S addr add 198.51.100.1/32 dev lo
"$here/certs.sh" $T/pki 203.0.113.10 || { echo "0 passed, 1 failed"; exit 1; }
CDN="set services flow-tap content-destination lea"
# the outer source: the sensor's own address (docs/vt-pair.md: 0.0.0.0 is a
# martian source the kernel drops)
write_config "set services flow-tap interface s2 mode xdp-native
$CDN address 198.51.100.1
$CDN source-address 198.51.100.1
$CDN port 39031
$CDN x3 address 203.0.113.10
$CDN x3 port 39443
$CDN x3 certificate $T/pki/sensor.pem
$CDN x3 key $T/pki/sensor.key
$CDN x3 ca $T/pki/ca.pem
$CDN x3 xid $XID
$CDN x3 target 192.0.2.10/32
$CDN x3 buffer-size 262144
set services flow-tap content-destination jm address 203.0.113.10
set services flow-tap content-destination jm source-address 203.0.113.1
set services flow-tap content-destination jm port 7890"

rx_start() { # TAG
	ip netns exec $D "$RXB" -l 203.0.113.10:39443 --cert $T/pki/receiver.pem --key $T/pki/receiver.key \
		--ca $T/pki/ca.pem -w $T/$1.pcap --seq-log $T/$1.seq --json > $T/$1.json 2> $T/$1.err &
	RXPID=$!
	for _ in $(seq 1 100); do grep -q listening $T/$1.err 2>/dev/null && return 0; sleep 0.05; done
	return 1
}
x3pid() { # the delivery process xtapd started
	for p in $(ip netns pids $S); do
		tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -q -- '--x3-delivery' && { echo $p; return; }
	done
}
x3stats() { # its counters, as the JSON line SIGUSR1 asks for (in xtapd's log)
	local p n
	p=$(x3pid)
	n=$(grep -c '"destination": "lea"' $T/xtapd.log)
	kill -USR1 "$p"
	for _ in $(seq 1 100); do
		[ "$(grep -c '"destination": "lea"' $T/xtapd.log)" -gt "$n" ] && break
		sleep 0.05
	done
	grep '"destination": "lea"' $T/xtapd.log | tail -n 1 > $T/x3stats.json
}
jget() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$1')); print(eval(sys.argv[1]))" "$2"; }

check "xtapd starts" start 1
check "receiver starts in D" rx_start run1
for _ in $(seq 1 100); do grep -q 'x3 receiver 203.0.113.10:39443: connected' $T/xtapd.log && break; sleep 0.1; done
check "xtapd started the delivery process and it connected over TLS" \
	grep -q 'x3 receiver 203.0.113.10:39443: connected (TLSv1.3)' $T/xtapd.log
p=$(x3pid)
check "the delivery process runs as nobody with no capability, under seccomp" bash -c "
grep -q '^Uid:[[:space:]]*65534' /proc/$p/status && grep -q '^CapEff:[[:space:]]*0*$' /proc/$p/status &&
grep -q '^Seccomp:[[:space:]]*2' /proc/$p/status"

# both directions of the client: one ADD, a JMirror destination beside the x3 one
dtcp add --src 192.0.2.10 --cdest lea,jm --intercept-id 0x1234 --static > $T/add1.out 2>&1
dtcp add --dst 192.0.2.10 --cdest lea,jm --intercept-id 0x1234 --static > $T/add2.out 2>&1
check "two ADDs naming the x3 destination by Cdest-ID answer 200" bash -c "
grep -q '200 OK' $T/add1.out && grep -q '200 OK' $T/add2.out"
dtcp list --flags criteria > $T/lxid.out 2>&1
# docs/dtcp.md: X-X3-XID, one entry per CDEST-ID entry, "-" for jm (not X3)
check "LIST shows the x3 destination's XID (X-X3-XID) in both criteria" bash -c "
[ \$(grep -c '^CDEST-ID: lea, jm' $T/lxid.out) = 2 ] && [ \$(grep -c '^X-X3-XID: $XID, -' $T/lxid.out) = 2 ]"
dtcp add --src 192.0.2.99 --cdest lea --cd-addr 203.0.113.10 --cd-port 7890 --static > $T/add3.out 2>&1
check "an ADD that would redirect the x3 destination (its address given) is refused 430" bash -c "
grep -q 'DTCP/0.8 430' $T/add3.out && grep -q 'CDEST-ID: lea' $T/add3.out"
# another name for where lea's delivery process takes its copies: feeding
# lea's X3 stream from an ADD of its own is refused too (430)
dtcp add --src 192.0.2.99 --cdest sneak --cd-addr 198.51.100.1 --cd-port 39031 --static > $T/add4.out 2>&1
check "an ADD sending to the x3 destination's address and port under another name is refused 430" bash -c "
grep -q 'DTCP/0.8 430' $T/add4.out && grep -q 'CDEST-ID: sneak' $T/add4.out"
ip netns exec $S tcpdump -i s0 -Q in --time-stamp-precision=nano -w $T/in0.pcap -U host 192.0.2.10 2> $T/td0.err &
TD0=$!
ip netns exec $S tcpdump -i s2 -Q in --time-stamp-precision=nano -w $T/in2.pcap -U host 192.0.2.10 2> $T/td2.err &
TD2=$!
cd_count 10 7890 # the traffic takes about 4 s
sleep 1
# a TCP conversation (200 messages echoed) and 300 UDP datagrams
ip netns exec $D /usr/bin/python3 "$here/traffic.py" server 203.0.113.10 8080 > $T/srv.out 2>&1 &
SRV=$!
sleep 0.5
t0=$(date +%s.%N)
ip netns exec $C /usr/bin/python3 "$here/traffic.py" client 203.0.113.10 8080 200 300 > $T/cli.out 2>&1
t1=$(date +%s.%N)
[ -n "${X3_TEST_PAUSE:-}" ] && { echo "paused: S=$S T=$T"; sleep "$X3_TEST_PAUSE"; }
check "the conversation ran (200 echoes, 300 datagrams sent)" grep -q 'echoed 200 sent 300' $T/cli.out
sleep 1
kill $TD0 $TD2 2>/dev/null; wait $TD0 $TD2 2>/dev/null
# all confirmed: then stop the receiver
for _ in $(seq 1 50); do
	x3stats
	[ "$(jget $T/x3stats.json 'd["confirmed"] == d["pdus"] and d["pdus"] > 0')" = True ] && break
	sleep 0.2
done
build_ctl() { "$B/xtapctl" -S $T/ctl.sock "$@"; }
build_ctl show x3 > $T/showx3.txt 2>&1
build_ctl --json show x3 > $T/showx3.json 2>&1
check "xtapctl show x3: lea up, its counts equal the process's own" /usr/bin/python3 -c "
import json
t = open('$T/showx3.txt').read(); j = json.load(open('$T/showx3.json'))
s = json.load(open('$T/x3stats.json')); x = j['x3'][0]
assert 'X3 destination lea (xid $XID): up' in t, t
assert x['name'] == 'lea' and x['state'] == 'up' and x['xid'] == '$XID', x
assert x['pdus'] == s['pdus'] == x['confirmed'] and x['next_sequence'] == s['next_sequence'], (x, s)
assert x['buffer_full'] == 0 and x['connects'] == 1 and x['restarts'] == 0, x"
# docs/dtcp.md 4.4: LIST Stats carries the destination's delivery, one entry
# per CDEST-ID entry (lea, jm), "-" for jm; the same numbers as show x3
dtcp list --flags stats > $T/lstats.out 2>&1
check "LIST Stats: X-X3-STATE up and lea's PDUs, confirmed, bytes and drops as show x3 says" /usr/bin/python3 -c "
import json, re
t = open('$T/lstats.out').read(); x = json.load(open('$T/showx3.json'))['x3'][0]
h = lambda n: re.findall('^' + n + ': (.*)\\r?$', t, re.M)
assert h('X-X3-STATE') == ['up, -'] * 2, t
assert h('X-X3-PDUS') == ['%d, -' % x['pdus']] * 2 and h('X-X3-CONFIRMED') == ['%d, -' % x['confirmed']] * 2, t
assert h('X-X3-DROPS') == ['buffer-full %d lost %d kernel %d, -' % (x['buffer_full'], x['lost_with_process'], x['kernel_drops'])] * 2, t
assert len(h('X-X3-BYTES')) == 2 and int(h('X-X3-BYTES')[0].split(',')[0]) >= 80 * x['pdus'], t"
build_ctl metrics > $T/metrics.txt 2>&1
# docs/x3.md: per destination, named only (no receiver, XID or target); each
# PDU is at least 60 header bytes and a 20-byte IPv4 header; bytes written
# before the last status line are at most what the process counts now
check "metrics: lea's X3 state, PDUs, bytes and drops agree with show x3, no address" /usr/bin/python3 -c "
import json
from prometheus_client.parser import text_string_to_metric_families
text = open('$T/metrics.txt').read()
v = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}
x = json.load(open('$T/showx3.json'))['x3'][0]; s = json.load(open('$T/x3stats.json'))
g = lambda n, **l: v[(n, tuple(sorted(dict(cdest='lea', **l).items())))]
assert g('xtap_x3_state', state='up') == 1 and g('xtap_x3_state', state='down') == 0, text
assert g('xtap_x3_pdus_total') == x['pdus'] == g('xtap_x3_confirmed_pdus_total') > 0, text
assert g('xtap_x3_next_sequence') == x['next_sequence'], text
assert 80 * x['pdus'] <= g('xtap_x3_sent_bytes_total') <= s['bytes_written'], (text, s)
assert all(g('xtap_x3_dropped_total', reason=r) == x[k] for r, k in (('buffer_full', 'buffer_full'),
    ('unconfirmed_at_exit', 'unconfirmed_at_exit'), ('lost_with_process', 'lost_with_process'),
    ('kernel_drops', 'kernel_drops'), ('not_ip', 'not_ip'))), text
assert g('xtap_x3_connects_total') == 1 and g('xtap_x3_restarts_total') == 0, text
for m in ('203.0.113.10', '192.0.2.10', '$XID'):
    assert m not in text, m
assert not any('39443' in lv for k in v for _, lv in k[1]), text"
kill $RXPID; wait $RXPID
wait_cd
/usr/bin/python3 "$here/e2e_check.py" basic $T/in0.pcap $T/in2.pcap $T/run1.pcap $T/run1.json \
	$T/x3stats.json $T/cd.json $XID $t0 $t1 > $T/check1.out 2>&1
while read -r line; do
	case $line in
	ok*) ok "${line#ok      }" ;;
	FAILED*) bad "${line#FAILED  }" ;;
	*) echo "        $line" ;;
	esac
done < $T/check1.out

# the receiver killed and restarted under traffic
rx_start run2
for _ in $(seq 1 100); do [ "$(grep -c 'connected (TLSv1.3)' $T/xtapd.log)" -ge 2 ] && break; sleep 0.1; done
x3stats
base=$(jget $T/x3stats.json 'd["pdus"]')
cd_count 12 7890 # the JMirror destination of the same criteria, meanwhile
ip netns exec $C /usr/bin/python3 "$here/traffic.py" udp 203.0.113.10 8080 6000 2000 > $T/udp.out 2>&1 &
UDP=$!
for _ in $(seq 1 100); do [ "$(wc -l < $T/run2.seq)" -ge 500 ] && break; sleep 0.05; done
kill -9 $RXPID; wait $RXPID 2>/dev/null
sleep 1
rx_start run3
wait $UDP
for _ in $(seq 1 100); do
	x3stats
	[ "$(jget $T/x3stats.json 'd["confirmed"] + d["lost"]["buffer_full"] == d["pdus"]')" = True ] && break
	sleep 0.2
done
kill $RXPID; wait $RXPID
/usr/bin/python3 "$here/e2e_check.py" restart $T/run2.seq $T/run3.seq $T/x3stats.json $XID $base \
	> $T/check2.out 2>&1
while read -r line; do
	case $line in
	ok*) ok "${line#ok      }" ;;
	FAILED*) bad "${line#FAILED  }" ;;
	*) echo "        $line" ;;
	esac
done < $T/check2.out
wait_cd
check "the JMirror destination got all 6000 copies while the X3 receiver was away (got ${n:-0})" \
	[ "${n:-0}" = 6000 ]
check "the sensor logged the disconnection and the reconnection" bash -c "
grep -q 'x3 receiver 203.0.113.10:39443: disconnected' $T/xtapd.log &&
[ \$(grep -c 'connected (TLSv1.3)' $T/xtapd.log) -ge 3 ]"
check "no target address in xtapd's log" bash -c "! grep -q '192\.0\.2\.10' $T/xtapd.log"

# the delivery process killed: xtapd restarts it, the sequence goes on
rx_start run4
p=$(x3pid)
x3stats
next=$(jget $T/x3stats.json 'd["next_sequence"]')
kill -9 "$p"
for _ in $(seq 1 100); do q=$(x3pid); [ -n "$q" ] && [ "$q" != "$p" ] && break; sleep 0.1; done
check "xtapd restarted the killed delivery process at sequence $next" \
	grep -q "x3 lea: delivery process [0-9]* started at sequence $next" $T/xtapd.log
for _ in $(seq 1 100); do # the new process up (its own counters say so)
	x3stats
	[ "$(jget $T/x3stats.json 'd["state"] == "up" and d["connects"] == 1')" = True ] && break
	sleep 0.1
done
ip netns exec $C /usr/bin/python3 "$here/traffic.py" udp 203.0.113.10 8080 10 1000 > /dev/null 2>&1
for _ in $(seq 1 100); do [ "$(wc -l < $T/run4.seq 2>/dev/null)" -ge 10 ] && break; sleep 0.1; done
kill $RXPID; wait $RXPID
check "its PDUs continue the sequence ($next on)" bash -c "
[ \"\$(cut -d' ' -f2 $T/run4.seq | tr '\n' ' ')\" = \"\$(seq $next $((next + 9)) | tr '\n' ' ')\" ]"

# SIGHUP with changed x3 statements: the process restarts, its sequence goes on
xpid() {
	for p in $(ip netns pids $S); do
		tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -q -- "-P $PIN" && { echo $p; return; }
	done
}
write_config "$(sed -n '/^set services flow-tap interface s2/,$p' $T/xtapd.conf | sed 's/buffer-size 262144/buffer-size 131072/')"
kill -HUP "$(xpid)"
want=$((next + 10))
for _ in $(seq 1 100); do grep -q "started at sequence $want" $T/xtapd.log && break; sleep 0.1; done
check "SIGHUP with a changed x3 statement restarts the delivery process at sequence $want" bash -c "
grep -q 'x3 lea: statements changed: restarting its delivery process' $T/xtapd.log &&
grep -q 'x3 lea: delivery process [0-9]* started at sequence $want' $T/xtapd.log"

# the audit log: connects, disconnects, the process's end; a receiver the CA did not sign
ip netns exec $D "$RXB" -l 203.0.113.10:39443 --cert $T/pki/rogue-receiver.pem --key $T/pki/rogue-receiver.key \
	--ca $T/pki/ca.pem > /dev/null 2> $T/rogue.err &
RXPID=$!
# three refusals in a row (backoff 100, 200, 400 ms): one audit line for them
for _ in $(seq 1 150); do [ "$(grep -c 'TLS refused: certificate' $T/xtapd.log)" -ge 3 ] && break; sleep 0.1; done
kill $RXPID; wait $RXPID
# the audit line comes through xtapd's read of the status pipe, after the
# delivery process's own log line: on a busy machine, later
for _ in $(seq 1 100); do grep -q 'x3 lea: tls-refused' $T/audit.log && break; sleep 0.1; done
check "audit: x3 connected, disconnected, ended and a refused receiver certificate" bash -c "
grep -q '\"event\":\"x3\",\"detail\":\"x3 lea: connected: to 203.0.113.10:39443 (TLSv1.3)' $T/audit.log &&
grep -q '\"event\":\"x3\",\"detail\":\"x3 lea: disconnected: from 203.0.113.10:39443' $T/audit.log &&
grep -q '\"event\":\"x3\",\"detail\":\"x3 lea: ended: killed by signal 9' $T/audit.log &&
grep -q '\"event\":\"x3\",\"detail\":\"x3 lea: tls-refused: with 203.0.113.10:39443: certificate: ' $T/audit.log"
nref=$(grep -c 'x3 lea: tls-refused' $T/audit.log) nlog=$(grep -c 'TLS refused' $T/xtapd.log)
nfail=$(grep -c 'x3 lea: connect-failed' $T/audit.log) nretry=$(grep -c 'x3 receiver 203.0.113.10:39443: connect: ' $T/xtapd.log)
check "audit: one line per run of failed attempts of a kind, not one per retry ($nref tls-refused for $nlog refusals; $nfail connect-failed for $nretry failed connects)" \
	bash -c "[ $nref = 1 ] && [ $nlog -ge 3 ] && [ $nfail -ge 1 ] && [ $nfail -lt $nretry ]"
# xtapd stopped and started: the sequence goes on (STATE.x3); killed: it
# skips ahead, never using a number twice, and says so
x3stats
last=$(jget $T/x3stats.json 'd["next_sequence"]')
xp=$(xpid)
kill -TERM "$xp"
for _ in $(seq 1 150); do [ -d /proc/$xp ] || break; sleep 0.1; done
check "xtapd's stop kept the sequence of lea ($last) in the state folder" \
	grep -q "^lea $XID $last [0-9]* 1\$" $T/state.x3
check "xtapd starts again" start 2
for _ in $(seq 1 100); do [ "$(grep -c "x3 lea: delivery process [0-9]* started at sequence $last\$" $T/xtapd.log)" -ge 1 ] && break; sleep 0.1; done
check "after the restart the delivery process goes on at sequence $last" \
	grep -q "x3 lea: delivery process [0-9]* started at sequence $last\$" $T/xtapd.log
check "a running xtapd marks the sequence file not clean" grep -q "^lea $XID $last [0-9]* 0\$" $T/state.x3
kill -9 "$(xpid)"
sleep 4 # the orphaned delivery process drains and exits (PR_SET_PDEATHSIG)
check "xtapd starts again after kill -9" start 3
skip_to=$((last + 1024))
for _ in $(seq 1 100); do grep -q "started at sequence $skip_to\$" $T/xtapd.log && break; sleep 0.1; done
check "after kill -9 it skips 1024 numbers (to $skip_to) and audits it" bash -c "
grep -q 'x3 lea: delivery process [0-9]* started at sequence $skip_to\$' $T/xtapd.log &&
grep -q '\"event\":\"x3\",\"detail\":\"x3 lea: sequence: sequence $skip_to after an unclean stop: 1024 numbers skipped' $T/audit.log"
[ -n "${X3_TEST_PAUSE_END:-}" ] && { echo "paused: S=$S T=$T"; sleep "$X3_TEST_PAUSE_END"; }
summary
