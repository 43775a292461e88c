#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# xtapctl and SIGHUP, end to end, in namespaces this test creates and always
# removes (the setup of test_xtapd.sh): xtapd attached to s0, the dtcp client
# as the mediation device. Checks what an operator relies on: show filter
# names the programs and counts the criteria, the per-index counters equal
# LIST's, status parses as JSON, no target address leaves the daemon without
# --reveal (and the reveal is audited), only root gets answers, the socket is
# 0600; SIGHUP applies a new user without touching the datapath, keeps the
# old configuration on errors or on a datapath change; detach takes
# everything down and xtapd exits.
#
# usage: test_xtapctl.sh BUILD_DIR
. "$(dirname "$0")/lab.sh"
SOCK=$T/run/xtapd.ctl
TARGET=192.0.2.10
lab_up || { echo "0 passed, 1 failed"; exit 1; }
# the metrics listener on port 9469 of the sensor's namespace (issue 14)
MPORT=9469
base_conf() { config_text "set services flow-tap metrics listen-address 127.0.0.1
set services flow-tap metrics port $MPORT"; }
# a second control source, password "newpw"
user2_conf() {
	cat <<EOF
set system login user ftap2 uid 2001
set system login user ftap2 class flowtap
set system login user ftap2 authentication encrypted-password "\$6\$xtapsalt2\$vwMIZnBZw4jz/ktB1y17ANza1MEuvQjm51v2SGpJeJggb4XKeUX4FzBXRHwna/ijqHa6i2VTAcUM1UmLwHcpW1"
set services flow-tap control-source ftap2 key "Juniper"
EOF
}
base_conf > $T/xtapd.conf

start() {
	# nsenter, not `ip netns exec`: that one gives the process a mount
	# namespace of its own, where bpffs and the pins die with the process
	nsenter --net=/run/netns/$S "$B/xtapd" -f $T/xtapd.conf -P $PIN -S $SOCK >> $T/xtapd.log 2>&1 &
	XPID=$!
	for _ in $(seq 1 150); do
		grep -q "serving DTCP" $T/xtapd.log 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}
dtcp_as() {
	local user=$1 pw=$2; shift 2
	DTCP_PASSWORD=$pw HOME=$T ip netns exec $S "$B/dtcp" -H 127.0.0.1 -u $user --known-hosts $T/known_hosts \
		--accept-new "$@"
}
ctl() { "$B/xtapctl" -S $SOCK "$@"; }
# the program that classifies s0's ingress: XDP's, or TC's where XDP leaves no metadata (XMODE)
xdp_id() {
	if [ $XMODE = xdp-native ]; then
		ip -n $S -d link show s0 | grep -o 'prog/xdp id [0-9]*'
	else
		tc -n $S filter show dev s0 ingress | grep -o 'xtap_tc_ingress.* id [0-9]*'
	fi
}
# waits until xtapd's log has grown by a line matching $1
log_wait() {
	for _ in $(seq 1 50); do grep -q "$1" $T/xtapd.log && return 0; sleep 0.1; done
	return 1
}
json() { /usr/bin/python3 -c "import json, sys; d = json.load(sys.stdin); sys.exit(0 if ($1) else 1)"; }

mkdir -p -m 700 $T/.ssh
check "xtapd starts with a control socket" start
check "the control socket is 0600, owned by root" [ "$(stat -c '%a %u' $SOCK)" = "600 0" ]
check "its folder is 0700" [ "$(stat -c %a $T/run)" = 700 ]

dtcp_as ftap ftap-demo add --src $TARGET --proto 1 --cdest cd1 --cd-addr 203.0.113.10 --cd-port 7890 \
	--cd-src 203.0.113.1 --static > $T/add.out 2>&1
check "ADD answers CRITERIA-ID 1" grep -q "CRITERIA-ID: 1" $T/add.out
ip netns exec $C ping -q -c 3 -i 0.2 192.0.2.1 > /dev/null

ctl show filter > $T/filter.txt 2>&1
# XMODE (lab.sh): xdp-native, or tc where the kernel refuses XDP metadata
if [ $XMODE = xdp-native ]; then
	check "show filter: s0 ingress, xdp-native, 1 criterion, XDP and TC programs" \
		grep -Eq '^s0 +xdp-native +ingress +1 +xdp xtap_xdp \(id [1-9][0-9]*\), tc xtap_tc_ingress \(id [1-9]' $T/filter.txt
	ingress_hooks="['xdp', 'tc']"
else
	check "show filter: s0 ingress, tc (this kernel refuses XDP metadata), 1 criterion, the TC program only" \
		grep -Eq '^s0 +tc +ingress +1 +tc xtap_tc_ingress \(id [1-9][0-9]*\)$' $T/filter.txt
	ingress_hooks="['tc']"
fi
check "show filter: s0 egress, 0 criteria, the TC egress program" \
	grep -Eq "^s0 +$XMODE +egress +0 +tc xtap_tc_egress \(id [1-9]" $T/filter.txt
check "show filter: term 1 of ftap, static, to cd1" grep -Eq '^ +1 +ftap +static +1 rules +cdest cd1' $T/filter.txt
ctl --json show filter > $T/filter.json 2>&1
check "show filter --json: the same counts and programs" json \
	"d['interfaces'][0]['name'] == 's0' and d['interfaces'][0]['ingress']['criteria'] == 1 and
	 [p['hook'] for p in d['interfaces'][0]['ingress']['programs']] == $ingress_hooks and
	 d['interfaces'][0]['egress']['criteria'] == 0 and d['terms'][0]['index'] == 1" < $T/filter.json

dtcp_as ftap ftap-demo list --flags stats > $T/list.out 2>&1
lp=$(sed -n 's/^MATCHING-PACKETS: //p' $T/list.out | tr -d '\r')
lb=$(sed -n 's/^MATCHING-BYTES: //p' $T/list.out | tr -d '\r')
ctl show filter index 1 counters > $T/cnt.txt 2>&1
cp=$(sed -n 's/^ *Packets: //p' $T/cnt.txt)
cb=$(sed -n 's/^ *Bytes: //p' $T/cnt.txt)
check "show filter index 1 counters = LIST: ${cp:-?} packets, ${cb:-?} bytes (LIST ${lp:-?}, ${lb:-?})" \
	bash -c "[ '${lp:-x}' = '${cp:-y}' ] && [ '${lb:-x}' = '${cb:-y}' ] && [ '${cp:-0}' -ge 3 ]"
ctl --json show filter index 1 counters > $T/cnt.json 2>&1
check "the same with --json" json "d['packets'] == ${lp:-0} and d['bytes'] == ${lb:-0}" < $T/cnt.json
ctl show filter index 7 counters > $T/noidx.out 2>&1
check "an unknown index is an error (exit 1)" bash -c "[ $? = 1 ] && grep -q 'no such filter index' $T/noidx.out"

ctl --json status > $T/status.json 2>&1
check "status --json: ftap with 1 static criterion, cd1, s0 in $XMODE" json \
	"[(s['name'], s['criteria'], s['static']) for s in d['control_sources']] == [('ftap', 1, 1)] and
	 [c['name'] for c in d['cdests']] == ['cd1'] and
	 [(i['name'], i['mode']) for i in d['interfaces']] == [('s0', '$XMODE')] and
	 d['xdp_metadata'] == ('$XMODE' == 'xdp-native')" < $T/status.json
ctl --json show counters > $T/counters.json 2>&1
check "show counters --json: the classifier saw the pings" json "d['packets'] >= 3 and d['matched'] >= 3" < $T/counters.json
ctl --json show cdests > $T/cdests.json 2>&1
check "show cdests --json: cd1 cloned and sent the copies" json \
	"d['cdests'][0]['name'] == 'cd1' and d['cdests'][0]['cloned'] >= 3 and d['cdests'][0]['sent'] >= 3" < $T/cdests.json
# every reason vt_encap drops a copy for is shown, none happened (include/xtap.h)
check "show cdests --json: every drop reason, all 0" json \
	"all(d['cdests'][0][k] == 0 for k in ('clone_fail', 'inactive', 'not_ip', 'no_room', 'too_big', 'gso', 'not_linear', 'csum_fail'))" < $T/cdests.json

for c in "status" "show filter" "show filter index 1" "show filter index 1 counters" "show counters" "show cdests"; do
	ctl $c > $T/plain.out 2>&1 || echo "exit $?" >> $T/plain.out
	ctl --json $c >> $T/plain.out 2>&1 || echo "exit $?" >> $T/plain.out
	cat $T/plain.out >> $T/all-plain.out
done
check "no non-reveal answer failed" bash -c "! grep -q '^exit' $T/all-plain.out"
check "no target address in any answer without --reveal" bash -c "! grep -q '$TARGET' $T/all-plain.out"
check "no content destination address either" bash -c "! grep -q '203.0.113.10' $T/all-plain.out"
ctl --reveal show filter > $T/reveal.txt 2>&1
check "--reveal shows the match fields" grep -q "SOURCE-ADDRESS: $TARGET" $T/reveal.txt
ctl --json --reveal show filter index 1 > $T/reveal.json 2>&1
check "--json --reveal: the fields as an object" json "d['match']['SOURCE-ADDRESS'] == '$TARGET'" < $T/reveal.json
check "the reveal is in the audit log" grep -q '"csource":"xtapctl".*"method":"REVEAL"' $T/audit.log

# ---- metrics (issue 14): Prometheus' text format, read by its own parser ----
# two more criteria with addresses, ports and a destination found nowhere
# else in this test: none of them may appear in the metrics
MARKS="198.51.100.77 192.0.2.213 41717 52929 203.0.113.99 31337"
dtcp_as ftap ftap-demo add --src 198.51.100.77 --dst 192.0.2.213 --proto 6 --sport 41717 --dport 52929 \
	--cdest lea-x --cd-addr 203.0.113.99 --cd-port 31337 --cd-src 203.0.113.1 --static > $T/add2.out 2>&1
dtcp_as ftap ftap-demo add --dst 192.0.2.213 --proto 17 --dport 52929 \
	--cdest lea-x --cd-addr 203.0.113.99 --cd-port 31337 --cd-src 203.0.113.1 --static >> $T/add2.out 2>&1
check "two more ADDs answer 200" [ "$(grep -c "CRITERIA-ID: [23]" $T/add2.out)" = 2 ]
dtcp_as ftap wrong-password noop > $T/badpw.out 2>&1
check "a wrong password is refused" [ $? -ne 0 ]
ctl metrics > $T/metrics.txt 2>&1
check "xtapctl metrics: exit 0" [ $? = 0 ]
ctl --json show cdests > $T/cdests2.json 2>&1
cd1_sent=$(/usr/bin/python3 -c "import json; print([c['sent'] for c in json.load(open('$T/cdests2.json'))['cdests'] if c['name'] == 'cd1'][0])" 2>/dev/null)
# the expectations: this test's own requests and `show cdests`
check "metrics: prometheus_client's parser reads them, with the expected values" /usr/bin/python3 - $T/metrics.txt "${cd1_sent:-x}" $XMODE <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
def val(name, **labels):
    for f in fams.values():
        for s in f.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return None
want = [
    (val("xtap_criteria", csource="ftap", lifetime="static"), 3),
    (val("xtap_criteria", csource="ftap", lifetime="dynamic"), 0),
    (val("xtap_dtcp_requests_total", method="ADD", code="200"), 3),
    (val("xtap_interface_info", interface="s0", mode=sys.argv[3]), 1),
    (val("xtap_cdest_criteria", cdest="lea-x", index="1"), 2),
    (val("xtap_cdest_sent_copies_total", cdest="cd1", index="0"), float(sys.argv[2])),
    (val("xtap_datapath_adopted"), 0),
    (val("xtap_worker_restarts_total"), 0),
]
ok = all(got == exp for got, exp in want)
ok &= fams["xtap_matched_packets"].type == "counter" and val("xtap_matched_packets_total") >= 3
ok &= val("xtap_packets_total") >= val("xtap_matched_packets_total")
# echo requests of 84 bytes from the IP header on (ping's default 56-byte payload)
ok &= val("xtap_matched_bytes_total") >= 84 * val("xtap_matched_packets_total")
ok &= val("xtap_auth_failures_total", method="password") >= 1
ok &= val("xtap_cdest_dropped_copies_total", cdest="cd1", index="0", reason="clone_fail") == 0
ok &= all(val("xtap_cdest_dropped_copies_total", cdest="cd1", index="0", reason=r) == 0
          for r in ("not_linear", "csum_fail"))
# the in-place path's restore failures drop originals, not copies: a series of their own
ok &= val("xtap_cdest_dropped_originals_total", cdest="cd1", index="0") == 0
ok &= fams["xtap_cdest_dropped_originals"].type == "counter"
ok &= not any(s.labels.get("reason") == "restore_fail"
              for s in fams["xtap_cdest_dropped_copies"].samples)
if not ok:
    print(want, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
check "metrics: every line is a comment or a sample (no status line, no blank)" \
	bash -c "! grep -Ev '^(# (HELP|TYPE) xtap_[a-z0-9_]+ .+|xtap_[a-z0-9_]+(\{[^}]*\})? [0-9.]+)\$' $T/metrics.txt | grep -q ."
check "metrics: no target, port or destination in any label or value" \
	bash -c "for m in $MARKS $TARGET 203.0.113.10 7890; do grep -q \"\$m\" $T/metrics.txt && exit 1; done; exit 0"
# the same over HTTP, from the unprivileged listener
http() { ip netns exec $S /usr/bin/python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
method, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request("http://127.0.0.1:%s%s" % (sys.argv[4], path), method=method,
                             data=b"x" if method == "POST" else None)
try:
    r = urllib.request.urlopen(req, timeout=10)
    code, ctype, body = r.status, r.headers.get("Content-Type"), r.read()
except urllib.error.HTTPError as e:
    code, ctype, body = e.code, e.headers.get("Content-Type"), e.read()
open(out, "wb").write(body)
print(code, ctype)
PY
}
st=$(http GET /metrics $T/http.txt $MPORT 2>&1)
check "HTTP GET /metrics: 200, text/plain version 0.0.4 ($st)" [ "$st" = "200 text/plain; version=0.0.4; charset=utf-8" ]
check "HTTP: prometheus_client's parser reads the same series as xtapctl metrics" /usr/bin/python3 - $T/http.txt $T/metrics.txt <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families as parse
def series(f):
    return {(s.name, tuple(sorted(s.labels.items()))) for fam in parse(open(f).read()) for s in fam.samples}
a, b = series(sys.argv[1]), series(sys.argv[2])
sys.exit(0 if a == b and len(a) > 40 else 1)
PY
check "HTTP: no target, port or destination in the answer" \
	bash -c "for m in $MARKS $TARGET 203.0.113.10 7890; do grep -q \"\$m\" $T/http.txt && exit 1; done; exit 0"
st=$(http GET /other $T/http404.txt $MPORT 2>&1)
check "HTTP GET /other: 404 ($st)" bash -c "[ '${st%% *}' = 404 ]"
st=$(http POST /metrics $T/http405.txt $MPORT 2>&1)
check "HTTP POST /metrics: 405 ($st)" bash -c "[ '${st%% *}' = 405 ]"
# hostile and odd clients, raw: each answer's status line, then a GET still works
check "HTTP: HEAD, bad request lines, oversized headers, a client that sends nothing for 6 s" \
	ip netns exec $S /usr/bin/python3 - $MPORT <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def ask(data, wait=0.0, read=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    if wait:
        time.sleep(wait)
    if data:
        s.sendall(data)
    out = b""
    while read:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out
cases = [
    (b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 200 OK\r\n", False),
    (b"GET /metrics HTTP/1.0\n\n", b"HTTP/1.1 200 OK\r\n", True),
    (b"GET /metrics?x=1 HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n", True),
    (b"GARBAGE\r\n\r\n", b"HTTP/1.1 400 ", False),
    (b"GET /metrics SPDY/3\r\n\r\n", b"HTTP/1.1 400 ", False),
    (b"DELETE /metrics HTTP/1.1\r\n\r\n", b"HTTP/1.1 405 ", False),
    (b"GET /metricsx HTTP/1.1\r\n\r\n", b"HTTP/1.1 404 ", False),
    (b"GET /metrics HTTP/1.1\r\n" + b"X: " + b"a" * 5000 + b"\r\n\r\n", b"HTTP/1.1 431 ", False),
]
ok = True
for req, want, body in cases:
    a = ask(req)
    head, _, rest = a.partition(b"\r\n\r\n")
    good = a.startswith(want) and (b"xtap_criteria" in rest) == body
    if not good:
        print("bad answer to %r: %r" % (req[:40], a[:80]), file=sys.stderr)
    ok &= good
# a client that sends nothing is dropped after its 5 s, without an answer;
# meanwhile another waits in the backlog and is served after it
t = time.time()
idle = socket.create_connection(("127.0.0.1", port), timeout=15)
time.sleep(0.2)
a = ask(b"GET /metrics HTTP/1.1\r\n\r\n")
waited = time.time() - t
ok &= a.startswith(b"HTTP/1.1 200 OK\r\n") and 4.0 < waited < 12.0
ok &= idle.recv(100) == b""
if not ok:
    print("idle client: waited %.1f s" % waited, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
MPID=$(ip netns exec $S ss -Htlnp "sport = :$MPORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
check "the listening socket is the listener's, not the monitor's (pid ${MPID:-none}, xtapd $XPID)" \
	bash -c "[ -n '$MPID' ] && [ '$MPID' != '$XPID' ] && [ \"\$(ps -o ppid= -p $MPID | tr -d ' ')\" = '$XPID' ]"
check "the listener runs as nobody, without capabilities, no_new_privs" bash -c "
grep -q '^Uid:[[:space:]]*65534' /proc/$MPID/status && grep -q '^CapEff:[[:space:]]*0000000000000000' /proc/$MPID/status &&
grep -q '^CapBnd:[[:space:]]*0000000000000000' /proc/$MPID/status && grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$MPID/status"
# besides stdin, stdout and stderr: its listening socket and its end of the pair
fds=$(for f in /proc/$MPID/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && readlink "$f"; done | sed 's/\[[0-9]*\]//' | sort | tr '\n' ' ')
check "the listener holds two sockets and nothing else: no BPF map or program, state or audit file ($fds)" \
	[ "$fds" = "socket: socket: " ]

ctl --reveal metrics > $T/metrics-reveal.out 2>&1
check "metrics never with --reveal (exit 1)" bash -c "[ $? = 1 ] && ! grep -q xtap_ $T/metrics-reveal.out"

setpriv --reuid=65534 --regid=65534 --clear-groups "$B/xtapctl" -S $SOCK status > $T/nobody.out 2>&1
check "a non-root user cannot connect (exit 1, permission denied)" \
	bash -c "[ $? = 1 ] && grep -q 'Permission denied (xtapctl is for root)' $T/nobody.out"
# past the file mode (CAP_DAC_OVERRIDE): the peer's uid still refuses it
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+dac_override --ambient-caps=+dac_override \
	"$B/xtapctl" -S $SOCK status > $T/nobody2.out 2>&1
check "a non-root peer that can open the socket is refused (exit 1)" \
	bash -c "[ $? = 1 ] && ! grep -q Interfaces $T/nobody2.out && grep -q 'refused: xtapctl is for root' $T/nobody2.out"
check "and audited" grep -q '"event":"connection_refused".*uid 65534' $T/audit.log

# ---- SIGHUP ----
id0=$(xdp_id)
dtcp_as ftap2 newpw noop > $T/noop0.out 2>&1
check "before SIGHUP the new user cannot log in" [ $? -ne 0 ]
{ base_conf; user2_conf; } > $T/xtapd.conf
kill -HUP $XPID
check "SIGHUP: reloaded" log_wait "SIGHUP: .* reloaded"
dtcp_as ftap2 newpw noop > $T/noop1.out 2>&1
check "SIGHUP: the added user logs in and gets 200 to NOOP" bash -c "[ $? = 0 ] && grep -q '200' $T/noop1.out"
check "SIGHUP: the $XMODE program on s0 is the same (${id0:-none})" bash -c "[ -n '$id0' ] && [ '$(xdp_id)' = '$id0' ]"
check "SIGHUP: the criterion is still there" bash -c "'$B/xtapctl' -S $SOCK show filter index 1 >/dev/null"
check "SIGHUP: audited as applied" grep -q '"event":"reload".*"applied"' $T/audit.log

{ base_conf; echo "set services flow-tap nonsense"; } > $T/xtapd.conf
badline=$(wc -l < $T/xtapd.conf)
# as logrotate does: the audit log moved aside, then SIGHUP
mv $T/audit.log $T/audit.log.1
kill -HUP $XPID
check "SIGHUP with an error: the line number is logged" log_wait "xtapd.conf:$badline:"
check "SIGHUP refused: the audit log is reopened anew (0600) and gets the refusal" bash -c "
[ \"\$(stat -c %a $T/audit.log)\" = 600 ] && grep -q '\"event\":\"reload\".*\"refused\"' $T/audit.log &&
! grep -q '\"event\":\"reload\".*\"refused\"' $T/audit.log.1"
dtcp_as ftap2 newpw noop > $T/noop2.out 2>&1
check "SIGHUP with an error: the old configuration stays (ftap2 still logs in)" [ $? = 0 ]
check "SIGHUP with an error: audited as refused" grep -q '"event":"reload".*"refused"' $T/audit.log

{ base_conf; user2_conf; echo "set services flow-tap interface s2 mode xdp-native"; } > $T/xtapd.conf
kill -HUP $XPID
check "SIGHUP adding an interface: refused, restart needed" log_wait "restart xtapd to apply it"
check "SIGHUP adding an interface: s2 stays without XDP" bash -c "! ip -n $S -d link show s2 | grep -q prog/xdp"
check "SIGHUP adding an interface: audited" grep -q '"refused: restart needed"' $T/audit.log
check "xtapd is still running" kill -0 $XPID

# ---- detach ----
ctl detach > $T/detach.out 2>&1
check "detach answers (exit 0)" bash -c "[ $? = 0 ] && grep -q 'detached' $T/detach.out"
for _ in $(seq 1 50); do kill -0 $XPID 2>/dev/null || break; sleep 0.1; done
check "detach: xtapd exited" bash -c "! kill -0 $XPID 2>/dev/null"
check "detach: pins removed" [ ! -e $PIN ]
check "detach: vt pair removed" bash -c "! ip -n $S link show vt0 >/dev/null 2>&1"
check "detach: XDP detached from s0" bash -c "! ip -n $S -d link show s0 | grep -q 'prog/xdp'"
check "detach: the socket is gone" [ ! -e $SOCK ]
check "no target address in xtapd's own log" bash -c "! grep -q '$TARGET' $T/xtapd.log"
check "none of the metrics test's targets either" bash -c "for m in $MARKS; do grep -q \"\$m\" $T/xtapd.log && exit 1; done; exit 0"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
