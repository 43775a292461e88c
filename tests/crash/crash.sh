#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The crash and fault harness of xtapd (docs/fault-harness.md): a namespace
# lab (tests/xtapd/lab.sh) with a second client link and IPv6 towards the
# content destination, two control sources, then harness.py inside the
# sensor's namespace (nsenter --net: bpffs and the pins stay visible).
#
# usage: crash.sh BUILD_DIR [N [SEED [MODE]]]   (MODE: mixed kill points faults)
#        crash.sh BUILD_DIR --regress          (regression tests of issue 11)
. "$(dirname "$0")/../xtapd/lab.sh"
H=$(cd "$(dirname "$0")" && pwd)
lab_up || { echo "0 passed, 1 failed"; exit 1; }
# a second client link (s1 attached too: scopes and groups of two interfaces)
ip link add c1 netns $C type veth peer name s1 netns $S
ip -n $C link set c1 up
ip -n $S link set s1 up
ip -n $S addr add 192.0.2.129/25 dev s1
# IPv6 to the content destination (nodad: usable at once)
ip -n $S addr add 2001:db8:d::1/64 dev s2 nodad
ip -n $D addr add 2001:db8:d::10/64 dev d0 nodad
mkdir -p -m 700 $T/.ssh
HASH='$6$xtapdemosalt$Q6n02KLKw3Bgp1IwwvALWv0o0qy3sgP8JNx8FhW/GujRh.11QJi/dZ0DpqghgnGdC0sxvbxsRcHeHrlLgi6SH0'
write_config "set system login user ftap2 uid 2001
set system login user ftap2 class flowtap
set system login user ftap2 authentication encrypted-password \"$HASH\"
set services flow-tap control-source ftap2 key \"Other\"
set interfaces vt-4/0/0 unit 0 family inet6
set services flow-tap interface s1 mode xdp-native
set services flow-tap interface-group grp0 interface s0
set services flow-tap interface-group grp0 interface s1
set services flow-tap interface-group grp1 interface s1
set services flow-tap interface-alias ge-0/0/1 s1
set services flow-tap content-destination cdconf address 203.0.113.10
set services flow-tap content-destination cdconf port 7899
set services flow-tap content-destination cdconf source-address 203.0.113.1"
printf 'B=%s\nT=%s\nPIN=%s\nS=%s\nC=%s\nD=%s\n' "$B" "$T" "$PIN" "$S" "$C" "$D" > $T/lab.env
if [ "${2:-}" = "--regress" ]; then
	nsenter --net=/run/netns/$S /usr/bin/python3 "$H/regress.py" --lab $T/lab.env "${@:3}"
else
	nsenter --net=/run/netns/$S /usr/bin/python3 "${CRASH_PY:-$H/harness.py}" --lab $T/lab.env --iterations "${2:-300}" \
		${3:+--seed "$3"} --mode "${4:-mixed}"
fi
rc=$?
# CRASH_KEEP=DIR: the logs, state and audit of a failed run are kept there
[ $rc -ne 0 ] && [ -n "${CRASH_KEEP:-}" ] && mkdir -p "$CRASH_KEEP" && cp -p $T/xtapd.log $T/audit.log $T/state* "$CRASH_KEEP"/ 2>/dev/null
exit $rc
