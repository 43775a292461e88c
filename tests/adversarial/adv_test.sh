#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The adversarial suite, SSH side (issue 12): the real xtapd in namespaces this
# test creates and always removes (tests/xtapd/lab.sh), with traffic flowing
# from the client namespace to a content destination throughout. Hostile SSH
# clients (tests/adversarial/hostile.py) come from the client namespace's
# addresses, the mediation device from the sensor's 127.0.0.1 (a per-source
# limit must not lock it out). After every case:
#   - the datapath still copies: the criterion's hit counter has grown,
#   - a valid mediation device logs in and gets 200 OK within 2 s,
#   - the monitor is the same process, its RSS is recorded.
# At the end: every echo request sent was counted and reached the CD (CD
# count == hit counter == packets sent), the monitor's RSS grew by less
# than 16 MiB, the audit log accounts for every failed login (lines plus
# rate-limit summaries), and only SIGTERM took the datapath down.
#
# usage: adv_test.sh BUILD_DIR
. "$(dirname "$0")/../xtapd/lab.sh"
H="/usr/bin/python3 $(cd "$(dirname "$0")" && pwd)/hostile.py"
PORT=32001
KEY=adv-Key-3f9e27c1d8b4                  # the control source's DTCP key
TARGET=198.51.100.77                      # a criterion's target, for the memory scan
HASH='$6$xtapdemosalt$Q6n02KLKw3Bgp1IwwvALWv0o0qy3sgP8JNx8FhW/GujRh.11QJi/dZ0DpqghgnGdC0sxvbxsRcHeHrlLgi6SH0'
SRCS=192.0.2.11,192.0.2.12,192.0.2.13,192.0.2.14,192.0.2.15,192.0.2.16,192.0.2.17,192.0.2.18

lab_up || { echo "0 passed, 1 failed"; exit 1; }
for a in ${SRCS//,/ }; do ip -n $C addr add $a/24 dev c0; done
ssh-keygen -q -t ed25519 -N '' -C adv -f $T/mdkey
ssh-keygen -q -t ed25519 -N '' -C other -f $T/otherkey
ssh-keygen -q -t rsa -b 3072 -m PEM -N '' -C rsa -f $T/rsakey
ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -C ecdsa -f $T/ecdsakey
export ADV_KEY=$T/mdkey ADV_OTHER_KEY=$T/otherkey
AUTHKEY=$(cut -d' ' -f2 $T/mdkey.pub)

cat > $T/xtapd.conf <<CONF
set system login class flowtap permissions flow-tap-operation
set system login user ftap uid 2000
set system login user ftap class flowtap
set system login user ftap authentication encrypted-password "$HASH"
set system login user ftap authentication ssh-ed25519 "ssh-ed25519 $AUTHKEY"
set system login user ftap authentication ssh-rsa "$(cut -d' ' -f1,2 $T/rsakey.pub)"
set system login user ftap authentication ssh-ecdsa "$(cut -d' ' -f1,2 $T/ecdsakey.pub)"
set system services flow-tap-dtcp ssh
set system services flow-tap-dtcp ssh connection-limit 250
set system services flow-tap-dtcp ssh rate-limit 250
set system services flow-tap-dtcp ssh per-source connection-limit 60
set system services flow-tap-dtcp ssh per-source rate-limit 120
set system services flow-tap-dtcp ssh host-key $T/hostkey
set interfaces vt-4/0/0 unit 0 family inet
set services flow-tap tunnel-interface vt-4/0/0.0
set services flow-tap control-source ftap key "$KEY"
set services flow-tap interface s0 mode xdp-native
set services flow-tap state-file $T/state
set services flow-tap audit-log $T/audit.log
CONF

ctl() { "$B/xtapctl" -S $T/ctl.sock "$@"; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"; }
jget() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>/dev/null; }
inS() { ip netns exec $S "$@"; }
inC() { ip netns exec $C "$@"; }
worker_pid() { pgrep -P "$MON" 2>/dev/null | head -1; }
counter() { ctl --json show filter index 1 counters 2>/dev/null | jget "d['packets']"; }
rss_kb() { awk '/^VmRSS/ {print $2}' /proc/$MON/status; }
# until "$@" succeeds or $1 tenths of a second pass
until_t() { local n=$1; shift; for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done; "$@"; }

check "xtapd starts and serves DTCP" start 1
MON=$(pgrep -f "xtapd -f $T/xtapd.conf" | head -1)
mkdir -p -m 700 $T/.ssh
DTCP_CMD() { DTCP_PASSWORD=ftap-demo HOME=$T inS "$B/dtcp" -H 127.0.0.1 -u ftap -K "$KEY" \
	--known-hosts $T/known_hosts --accept-new "$@"; }
DTCP_CMD add --src 192.0.2.10 --proto 1 --cdest cd1 --cd-addr 203.0.113.10 --cd-port 7890 \
	--cd-src 203.0.113.1 --static > $T/add1.out 2>&1
DTCP_CMD add --dst $TARGET --proto 17 --cdest cd1 --cd-addr 203.0.113.10 --cd-port 7890 \
	--cd-src 203.0.113.1 --static > $T/add2.out 2>&1
check "two criteria added (ids 1 and 2)" bash -c "grep -q 'CRITERIA-ID: 1' $T/add1.out && grep -q 'CRITERIA-ID: 2' $T/add2.out" ||
	sed 's/^/    /' $T/add1.out $T/add2.out

# traffic throughout: a CD for the whole run, echo requests at 20 per second
ip netns exec $D "$B/xtap-cd" -l 203.0.113.10:7890 -t 3600 --json > $T/cd.json 2>/dev/null &
CDPID=$!
sleep 0.3
# not through inC: $! must be ping itself (ip netns exec execs it)
ip netns exec $C ping -q -i 0.05 192.0.2.1 > $T/ping.out 2>&1 &
PINGPID=$!

RSS0= RSSMAX=0 LASTC=0
after() {
	local name=$1 c
	check "$name: the datapath still copies (counter grew past ${LASTC})" \
		until_t 30 bash -c "[ \"\$(\"$B/xtapctl\" -S $T/ctl.sock --json show filter index 1 counters | \
			/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"packets\"])')\" -gt $LASTC ]"
	c=$(counter)
	LASTC=${c:-$LASTC}
	inS $H probe 127.0.0.1 $PORT ftap-demo "$KEY" 2 > $T/probe.out 2>&1
	check "$name: a mediation device gets 200 OK within 2 s ($(tail -1 $T/probe.out))" grep -q '^ok' $T/probe.out
	check "$name: the monitor is the same process" kill -0 "$MON"
	local r; r=$(rss_kb)
	[ -z "$RSS0" ] && RSS0=$r
	[ "${r:-0}" -gt "$RSSMAX" ] && RSSMAX=$r
}
hostile() { # NAME CASE ARGS...: run from the client namespace, expect "ok"
	local name=$1; shift
	inC $H "$@" > $T/h.out 2>&1
	check "$name: $(tail -1 $T/h.out)" grep -q '^ok' $T/h.out
}

after "at start"
W0=$(worker_pid)

# ---- every userauth method, raw ----
hostile "none" none 192.0.2.1 $PORT
after "none"
hostile "hostbased" hostbased 192.0.2.1 $PORT
after "hostbased"
hostile "gssapi-with-mic, krb5 mechanism" gssapi 192.0.2.1 $PORT oids
after "gssapi-with-mic with a mechanism"
hostile "gssapi-with-mic, no mechanism" gssapi 192.0.2.1 $PORT none
after "gssapi-with-mic without a mechanism"
check "the worker survived every method (pid $W0 still serving)" [ "$(worker_pid)" = "$W0" ]
check "gssapi-with-mic never reached GSS-API (no SIGSYS, no restart)" bash -c "! grep -q 'SSH worker.*killed by signal\|stopped by signal' $T/xtapd.log"
hostile "publickey" pubkey 192.0.2.1 $PORT
after "publickey without and with a bad signature"
check "a bad signature is audited with its peer (auth-bad-signature from 192.0.2.x)" \
	grep -q 'auth-bad-signature from 192\.0\.2\.' $T/audit.log
# public-key logins: the monitor verifies each signature itself
for k in mdkey rsakey ecdsakey; do
	inS $H pubkey-login 127.0.0.1 $PORT $T/$k "$KEY" > $T/pk.out 2>&1
	check "$(tail -1 $T/pk.out)" grep -q '^ok' $T/pk.out
done
DTCP_PASSWORD= HOME=$T inS "$B/dtcp" -H 127.0.0.1 -u ftap -i $T/mdkey -K "$KEY" --known-hosts $T/known_hosts \
	--accept-new noop > $T/dtcpk.out 2>&1
check "the dtcp client (libssh) logs in with its key: NOOP 200" grep -q '200' $T/dtcpk.out || sed 's/^/    /' $T/dtcpk.out
check "no public-key login was refused by the monitor's check" bash -c "! grep -q 'public-key login on connection.*refused' $T/xtapd.log"
hostile "keyboard-interactive, empty answer" kbdint 192.0.2.1 $PORT empty
after "keyboard-interactive with no answer"

# ---- held open while others log in: an unanswered prompt, 20 stalled key exchanges ----
# a fifo each: a reader's buffered stdin would take both release lines
mkfifo $T/hold1 $T/hold2
exec 7<>$T/hold1 8<>$T/hold2
inC $H kbdint 192.0.2.1 $PORT silent <&7 > $T/held1.out 2>&1 &
inC $H nokex 192.0.2.1 $PORT 20 <&8 > $T/held2.out 2>&1 &
check "an unanswered keyboard-interactive prompt is held" until_t 100 grep -q '^ok' $T/held1.out
check "20 clients that never finish key exchange are held" until_t 100 grep -q '^ok' $T/held2.out
after "while a prompt and 20 key exchanges hang"
echo >&7; echo >&8
wait_held() { ! pgrep -f "hostile.py (kbdint|nokex) 192.0.2.1" > /dev/null; }
check "the held clients went away when released" until_t 100 wait_held

# ---- malformed and truncated packets before authentication ----
hostile "malformed packets" malformed 192.0.2.1 $PORT
after "malformed and truncated packets"
check "the worker survived them (pid $W0)" [ "$(worker_pid)" = "$W0" ]

# ---- a device that stops reading its channel during a large LIST ----
# exact (source, destination) pairs: 12 x 250 sources of 198.51.100.0/24 (not
# the memory scan's target); three files: the client sends at most 1,024 each
for f in 0 1 2; do
	for dst in $(seq $((101 + f * 4)) $((104 + f * 4))); do
		for src in $(seq 1 251); do
			[ $src = 77 ] && continue
			printf 'ADD DTCP/0.7\nCsource-ID: ftap\nCdest-ID: cd1\nSource-Address: 198.51.100.%d\nDest-Address: 203.0.113.%d\nX-JTap-Cdest-Dest-Address: 203.0.113.10\nX-JTap-Cdest-Dest-Port: 7890\nFlags: STATIC\n\n' $src $dst
		done
	done > $T/adds$f.txt
	DTCP_CMD send $T/adds$f.txt
done > $T/adds.out 2>&1
check "3,000 more criteria for a large LIST ($(grep -c '200 OK' $T/adds.out) answered 200)" \
	bash -c "[ \$(grep -c '200 OK' $T/adds.out) = 3000 ]"
mkfifo $T/hold3
exec 9<>$T/hold3
inS $H stalled-list 127.0.0.1 $PORT ftap-demo "$KEY" <&9 > $T/held3.out 2>&1 &
check "a LIST of 3,002 criteria asked for and not read" until_t 100 grep -q '^ok' $T/held3.out
after "while a client does not read its LIST"
echo >&9
stalled_gone() { ! pgrep -f "hostile.py stalled-list" > /dev/null; }
check "the stalled client went away when released" until_t 100 stalled_gone

# ---- failed logins, round 1 (the rate limits allow 250 connections a minute) ----
inC $H failed-logins 192.0.2.1 $PORT 110 6 $SRCS > $T/fl1.out 2>&1
F1=$(sed -n 's/^ok \([0-9]*\) failed logins.*/\1/p' $T/fl1.out)
U1=$(sed -n 's/^ok [0-9]* failed logins (\([0-9]*\) more unanswered).*/\1/p' $T/fl1.out)
check "round 1: $(tail -1 $T/fl1.out)" [ $(( ${F1:-0} + ${U1:-0} )) -ge 600 ]
after "after ${F1:-0} failed logins"

# ---- logins that never open the subsystem: every slot comes back ----
inS $H auth-no-subsystem 127.0.0.1 $PORT 40 ftap-demo > $T/ans.out 2>&1
check "$(tail -1 $T/ans.out)" grep -q '^ok' $T/ans.out
slots_free() { [ "$(ctl --json status | jget "d['connections']")" = 0 ]; }
check "their monitor slots are all free again (status: connections $(ctl --json status | jget "d['connections']") -> 0)" \
	until_t 30 slots_free
after "40 logins without the subsystem"

# ---- the worker killed, repeatedly: interception goes on, it comes back ----
RESTARTS=0
# a worker that dies within XTAP_SUP_EARLY_MS (1 s) of its start doubles the
# restart delay (docs/privsep.md): each kill waits until its worker is older
worker_age_ms() { # PID: ms since its start (/proc/PID/stat field 22, in ticks)
	local st; st=$(cut -d' ' -f22 /proc/$1/stat 2>/dev/null) || return 1
	awk -v st="$st" -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($1 - st / hz) * 1000 }' /proc/uptime
}
kill_worker() { # SIGNAL
	local w; w=$(worker_pid)
	while [ "$(worker_age_ms "$w" || echo 99999)" -lt 1200 ]; do sleep 0.1; done
	kill -"$1" "$w"
	RESTARTS=$((RESTARTS + 1))
	newpid() { local p; p=$(worker_pid); [ -n "$p" ] && [ "$p" != "$w" ]; }
	check "SIG$1 of worker $w: a new worker within 3 s" until_t 30 newpid
	after "after SIG$1 #$RESTARTS"
}
for i in 1 2 3; do kill_worker KILL; done
for i in 1 2 3; do kill_worker SEGV; done
# stopped: the monitor keeps its timing (xtapctl answers at once), and kills
# and restarts a worker stopped past XTAP_SUP_STALL_MS (5 s)
for i in 1 2; do
	w=$(worker_pid)
	kill -STOP "$w"
	t0=$(date +%s%N)
	ctl status > /dev/null 2>&1
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	check "SIGSTOP #$i: xtapctl status answers in ${ms} ms (< 1000) while the worker is stopped" [ "$ms" -lt 1000 ]
	RESTARTS=$((RESTARTS + 1))
	newpid2() { local p; p=$(worker_pid); [ -n "$p" ] && [ "$p" != "$w" ]; }
	check "SIGSTOP #$i: the stopped worker is replaced within 8 s" until_t 80 newpid2
	after "after SIGSTOP #$i"
done
w=$(worker_pid)
kill -STOP "$w"; sleep 0.3; kill -CONT "$w"
check "SIGSTOP then SIGCONT at once: the same worker goes on (a stop is not an exit)" \
	bash -c "sleep 1; [ \"\$(pgrep -P $MON | head -1)\" = '$w' ]"
after "after SIGSTOP and SIGCONT"
ctl --json status > $T/status.json
check "xtapctl status counts $RESTARTS worker restarts" json "d['worker_restarts'] == $RESTARTS" < $T/status.json
check "xtapctl metrics: xtap_worker_restarts_total $RESTARTS" \
	bash -c "\"$B/xtapctl\" -S $T/ctl.sock metrics | grep -qx 'xtap_worker_restarts_total $RESTARTS'"
check "the audit log has a worker line per restart ($RESTARTS)" \
	bash -c "[ \$(grep -c '\"event\":\"worker\"' $T/audit.log) = $RESTARTS ]"
check "the criteria survived every restart (3,002 criteria)" json "d['criteria'] == 3002" < $T/status.json

# ---- failed logins, round 2 (a minute after round 1) ----
inC $H failed-logins 192.0.2.1 $PORT 110 6 $SRCS > $T/fl2.out 2>&1
F2=$(sed -n 's/^ok \([0-9]*\) failed logins.*/\1/p' $T/fl2.out)
U2=$(sed -n 's/^ok [0-9]* failed logins (\([0-9]*\) more unanswered).*/\1/p' $T/fl2.out)
check "round 2: $(tail -1 $T/fl2.out)" [ $(( ${F2:-0} + ${U2:-0} )) -ge 600 ]
after "after $(( ${F1:-0} + ${F2:-0} )) failed logins"

# ---- what a compromised worker could read: none of the secrets ----
W=$(worker_pid)
inS $H memscan "$W" "$KEY" "$HASH" "$TARGET" "$AUTHKEY" > $T/mem.out 2>&1
check "worker memory: $(tail -1 $T/mem.out)" grep -q '^ok' $T/mem.out
# the scan can fail: the monitor holds all four
inS $H memscan "$MON" "$KEY" "$HASH" "$TARGET" "$AUTHKEY" > $T/memmon.out 2>&1
check "the same scan finds all four in the monitor ($(tail -1 $T/memmon.out | cut -c1-60)...)" \
	bash -c "grep -q \"found in pid $MON.*'$TARGET'\" $T/memmon.out && grep -q '$KEY' $T/memmon.out && grep -q 'AAAA' $T/memmon.out && grep -c '\\\$6\\\$' $T/memmon.out > /dev/null"

# ---- the end: every copy accounted for ----
kill -INT $PINGPID; wait $PINGPID
SENT=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' $T/ping.out)
settled() { [ "$(counter)" = "$SENT" ]; }
until_t 30 settled
FINAL=$(counter)
sleep 0.5
kill -TERM $CDPID; wait $CDPID
GOT=$(jget "d['received']" < $T/cd.json)
check "every echo request counted: hit counter $FINAL == $SENT sent" [ "$FINAL" = "$SENT" ]
check "and every one reached the CD: $GOT == $FINAL" [ "$GOT" = "$FINAL" ]
GROW=$(( (RSSMAX - RSS0) / 1024 ))
check "the monitor's RSS grew by ${GROW} MiB (${RSS0} to ${RSSMAX} kB max, bound 16 MiB)" [ "$GROW" -lt 16 ]

# the audit log: every failed password login is a line or in a summary count
EXPECT=$(( ${F1:-0} + ${F2:-0} + 1 ))    # + the unauthorized signed key of the publickey case
# an attempt sent but never answered (the server closing at auth_tries, a
# timeout on a busy machine) may or may not have reached the server
UNSURE=$(( ${U1:-0} + ${U2:-0} ))
audit_sum() {
	/usr/bin/python3 - "$T/audit.log" <<'PY'
import json, re, sys
n = s = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d['event'] == 'auth_fail':
        n += 1
    elif d['event'] == 'suppressed' and d['detail'].startswith('auth_fail:'):
        s += int(re.match(r'auth_fail: (\d+)', d['detail']).group(1))
print(n + s, n)
PY
}
summed() { set -- $(audit_sum); [ "$1" -ge "$EXPECT" ]; }
until_t 700 summed    # the summaries come within 70 s (the window)
set -- $(audit_sum)
check "audit: auth_fail lines plus rate-limit summaries = $1: the $EXPECT answered failed logins, plus at most the $UNSURE unanswered" \
	[ "$1" -ge "$EXPECT" -a "$1" -le $((EXPECT + UNSURE)) ]
check "audit: only $2 auth_fail lines written one by one (burst 20 a minute)" [ "${2:-999}" -le 60 ]
check "audit: every auth_fail line has the peer address" \
	bash -c "! grep '\"event\":\"auth_fail\"' $T/audit.log | grep -vq '\"peer\":\"[0-9]'"
check "audit: logins (auth_ok) with the peer address" grep -q '"event":"auth_ok","user":"ftap","peer":"127.0.0.1"' $T/audit.log
check "the datapath was never taken down before SIGTERM" bash -c "! grep -q 'taking the datapath down\|datapath removed' $T/xtapd.log $T/audit.log"

kill -TERM "$MON"
gone() { ! kill -0 "$MON" 2>/dev/null; }
check "SIGTERM stops xtapd" until_t 100 gone
check "and only then is the datapath removed" bash -c "[ ! -e $PIN ] && grep -q 'datapath removed' $T/audit.log"
summary
