#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Shared by the xtapd tests: a namespace lab this test creates and always
# removes (a client C, the sensor S running xtapd, a content destination D),
# the configuration, and small helpers. Source it with BUILD_DIR as $1.
set -u
B=$(cd "${1:-build}" && pwd)
T=$(mktemp -d /tmp/xtapd-test.XXXXXX)
# LAB_PREFIX: names of one's own, for runs beside other engineers' labs
LP=${LAB_PREFIX:-xt}
S=${LP}s$$ C=${LP}c$$ D=${LP}d$$ PIN=/sys/fs/bpf/${LAB_PREFIX:-xtap}-t$$
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok      $1"; }
bad() { fail=$((fail + 1)); echo "FAILED  $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
summary() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }

# The mode xtapd runs an interface configured xdp-native in: tc where this
# kernel refuses XDP programs bpf_xdp_adjust_meta (docs/classifier.md), found
# by loading the tests' own probe program, not by asking xtapd.
xdp_mode() {
	local pin=/sys/fs/bpf/xtap-meta-probe-$$ m=xdp-native
	bpftool prog load "$B/tests/xdp_meta_probe.bpf.o" $pin > /dev/null 2>&1 || m=tc
	rm -f $pin
	echo $m
}
XMODE=$(xdp_mode)
# xtap classifies s0's ingress in the sensor: XDP, or TC in mode tc
s0_attached() {
	if [ $XMODE = xdp-native ]; then
		ip -n $S link show s0 | grep -q xdp
	else
		tc -n $S filter show dev s0 ingress | grep -q xtap_tc_ingress
	fi
}

cleanup() {
	for n in $S $C $D; do ip netns pids $n 2>/dev/null | xargs -r kill -9 2>/dev/null; done
	sleep 0.3
	for n in $S $C $D; do ip netns del $n 2>/dev/null; done
	rm -rf "$PIN" "$T"
}
trap cleanup EXIT
[ -n "${XTAPD_TEST_KEEP:-}" ] && trap "" EXIT

lab_up() {
	ip netns add $S && ip netns add $C && ip netns add $D || return 1
	ip link add c0 netns $C type veth peer name s0 netns $S
	ip link add d0 netns $D type veth peer name s2 netns $S
	ip -n $C addr add 192.0.2.10/24 dev c0
	ip -n $S addr add 192.0.2.1/24 dev s0
	ip -n $S addr add 203.0.113.1/24 dev s2
	ip -n $D addr add 203.0.113.10/24 dev d0
	for p in "$C c0" "$S s0" "$S s2" "$D d0" "$S lo" "$C lo" "$D lo"; do
		set -- $p
		ip -n $1 link set $2 up
	done
}

# The configuration: a FlowTapLite login for ftap (password ftap-demo), the
# sensor's s0 attached, state and audit in the test folder; $1 adds lines.
write_config() {
	config_text "${1:-}" > $T/xtapd.conf
}
config_text() {
	cat <<CONF
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
${1:-}
CONF
}

# Start xtapd and wait for its Nth "serving" line. nsenter, not `ip netns
# exec`: that one gives the process a mount namespace of its own, where bpffs
# and the pins die with the process (under systemd they live on).
# XTAPD_ARGS: more options (the crash harness: -C, small maps).
start() {
	nsenter --net=/run/netns/$S "$B/xtapd" -f $T/xtapd.conf -P $PIN -S $T/ctl.sock ${XTAPD_ARGS:-} >> $T/xtapd.log 2>&1 &
	for _ in $(seq 1 150); do
		[ "$(grep -c 'serving DTCP' $T/xtapd.log 2>/dev/null)" -ge "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

# The mediation device: the dtcp client as user $DTCP_USER (default ftap).
dtcp() {
	DTCP_PASSWORD=${DTCP_PASSWORD:-ftap-demo} HOME=$T ip netns exec $S "$B/dtcp" -H 127.0.0.1 \
		-u "${DTCP_USER:-ftap}" --known-hosts $T/known_hosts --accept-new "$@"
}

# A CD on 203.0.113.10 port $2 (default 7890) for $1 seconds; wait_cd sets n
# to what it got.
cd_count() {
	rm -f $T/cd.json
	ip netns exec $D "$B/xtap-cd" -l 203.0.113.10:${2:-7890} -t "$1" --json > $T/cd.json 2>/dev/null &
	CDPID=$!
	# listening before the caller sends (not a fixed sleep: a busy machine)
	for _ in $(seq 1 100); do
		ip netns exec $D ss -Hlun "sport = :${2:-7890}" | grep -q . && break
		sleep 0.1
	done
}
# in this shell, not in $(...): only the parent can wait for its job
wait_cd() {
	wait $CDPID
	n=$(/usr/bin/python3 -c "import json; print(json.load(open('$T/cd.json'))['received'])" 2>/dev/null)
}
