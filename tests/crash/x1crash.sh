#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The crash harness for X1 (docs/fault-harness.md "X1"): the lab of
# tests/xtapd/lab.sh, keys and certificates made here (the test folder
# lab.sh removes), xtapd with `services x1`, then x1crash.py inside the
# sensor's namespace (nsenter --net: bpffs and the pins stay visible).
#
# usage: x1crash.sh BUILD_DIR [N [SEED [MODE]]]   (MODE: mixed kill points faults)
# The disk-full check (a 512 KiB tmpfs) runs first.
. "$(dirname "$0")/../xtapd/lab.sh"
H=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root (namespaces, BPF, tmpfs)"; exit 77; }
command -v openssl > /dev/null || { echo "skip: no openssl"; exit 77; }
lab_up || { echo "0 passed, 1 failed"; exit 1; }
# the destinations' addresses (203.0.113.10-30) on D's link
for i in $(seq 11 30); do ip -n $D addr add 203.0.113.$i/24 dev d0; done
mk() { # name cn [san]
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
		-keyout "$T/$1.key" -out "$T/$1.csr" 2> /dev/null
	if [ -n "${3:-}" ]; then echo "subjectAltName=$3" > "$T/$1.ext"; else : > "$T/$1.ext"; fi
	openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
		-days 2 -extfile "$T/$1.ext" -out "$T/$1.pem" 2> /dev/null
}
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj "/CN=x1 crash ca" -keyout "$T/ca.key" -out "$T/ca.pem" 2> /dev/null
mk ne ne-xtap-1 "IP:127.0.0.1"
mk admf-a admf-a
mkdir -p -m 700 $T/.ssh
write_config "set services x1 listen-address 127.0.0.1
set services x1 port 18443
set services x1 certificate $T/ne.pem
set services x1 key $T/ne.key
set services x1 admf-ca $T/ca.pem
set services x1 ne-identifier ne-xtap-1"
printf 'B=%s\nT=%s\nPIN=%s\nS=%s\nC=%s\nD=%s\n' "$B" "$T" "$PIN" "$S" "$C" "$D" > $T/lab.env
nsenter --net=/run/netns/$S /usr/bin/python3 "$H/x1crash.py" --lab $T/lab.env --iterations "${2:-100}" \
	${3:+--seed "$3"} --mode "${4:-mixed}" --fill
rc=$?
[ $rc -ne 0 ] && [ -n "${CRASH_KEEP:-}" ] && mkdir -p "$CRASH_KEEP" && cp -p $T/xtapd.log $T/audit.log $T/state* "$CRASH_KEEP"/ 2>/dev/null
exit $rc
