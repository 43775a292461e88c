#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# End-to-end test of the `dtcp` client against OpenSSH's sshd running the
# flow-tap-dtcp subsystem (test_server: the library with the in-memory
# backend). Starts sshd on 127.0.0.1 with its own config, host key and a
# temporary user ftap1 (password and public key), and always tears it all
# down. Usage: e2e.sh BUILD_DIR. Prints "N passed, N failed, N skipped".
set -u
build=$(cd "$1" && pwd)
client=$build/dtcp
server=$build/tests/test_server
user=ftap1
pass=0 fail=0 skip=0

skip_all() {
  echo "SKIP e2e: $1"
  echo "end-to-end: 0 passed, 0 failed, 1 skipped"
  exit 0
}
[ "$(id -u)" -eq 0 ] || skip_all "needs root (sshd, a temporary user)"
[ -x /usr/sbin/sshd ] || skip_all "no /usr/sbin/sshd (openssh-server)"
command -v useradd >/dev/null && command -v chpasswd >/dev/null || skip_all "no useradd/chpasswd"
id "$user" >/dev/null 2>&1 && skip_all "user $user exists already; not touching it"

tmp=$(mktemp -d)
chmod 755 "$tmp"
created_user=0 created_run=0 sshd_pid=
cleanup() {
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null && wait "$sshd_pid" 2>/dev/null
  [ "$created_user" = 1 ] && userdel "$user" 2>/dev/null
  [ "$created_run" = 1 ] && rmdir /run/sshd 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@"; then echo "ok   $name"; pass=$((pass + 1)); else echo "FAIL $name"; fail=$((fail + 1)); fi
}

# ---- setup ------------------------------------------------------------------
[ -d /run/sshd ] || { mkdir -p /run/sshd && created_run=1; }
useradd -M -d "$tmp/home" -s /bin/sh "$user" || skip_all "useradd failed"
created_user=1
mkdir -p "$tmp/home" "$tmp/ak" "$tmp/san" && chown "$user" "$tmp/home" "$tmp/san"
password="e2e-$RANDOM-$RANDOM"
echo "$user:$password" | chpasswd
printf '%s\n' "$password" >"$tmp/password"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/otherhost"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/id"
cp "$tmp/id.pub" "$tmp/ak/$user"
chmod 644 "$tmp/ak/$user"

port=
for try in 1 2 3 4 5; do
  p=$((20000 + RANDOM % 40000))
  cat >"$tmp/sshd_config" <<CONF
Port $p
ListenAddress 127.0.0.1
HostKey $tmp/hostkey
PidFile $tmp/sshd.pid
AuthorizedKeysFile $tmp/ak/%u
StrictModes no
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers $user
Subsystem flow-tap-dtcp /usr/bin/env ASAN_OPTIONS=log_path=$tmp/san/asan UBSAN_OPTIONS=log_path=$tmp/san/ubsan $server
LogLevel ERROR
CONF
  /usr/sbin/sshd -D -f "$tmp/sshd_config" -E "$tmp/sshd.log" &
  sshd_pid=$!
  for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && { port=$p; break; }
    kill -0 "$sshd_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] && break
  kill "$sshd_pid" 2>/dev/null; wait "$sshd_pid" 2>/dev/null; sshd_pid=
done
if [ -z "$port" ]; then
  echo "FAIL sshd did not start:"; cat "$tmp/sshd.log"
  echo "end-to-end: 0 passed, 1 failed"; exit 1
fi

kh=$tmp/known_hosts
dtcp() { "$client" -H 127.0.0.1 -p "$port" -u "$user" -t 5 --known-hosts "$kh" "$@"; }
out=$tmp/out

# ---- host key checking --------------------------------------------------------
check "unknown host key refused without --accept-new" \
  bash -c '"$0" "$@" >"'$out'" 2>&1; [ $? -eq 4 ] && grep -q "unknown host key" "'$out'"' \
  "$client" -H 127.0.0.1 -p "$port" -u "$user" --known-hosts "$kh" --password-file "$tmp/password" noop
check "--accept-new records the key; password from a file; NOOP 200" \
  bash -c 'dtcp_out=$("$0" "$@" 2>&1); [ $? -eq 0 ] && grep -q "DTCP/0.8 200 OK" <<<"$dtcp_out" && [ -s "'$kh'" ]' \
  "$client" -H 127.0.0.1 -p "$port" -u "$user" --known-hosts "$kh" --accept-new --password-file "$tmp/password" noop
check "known host, password from \$DTCP_PASSWORD" \
  bash -c '"$0" "$@" >/dev/null' \
  env DTCP_PASSWORD="$password" "$client" -H 127.0.0.1 -p "$port" -u "$user" --known-hosts "$kh" noop
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$tmp/otherhost.pub")" >"$tmp/kh_changed"
check "changed host key refused" \
  bash -c '"$0" "$@" >"'$out'" 2>&1; [ $? -eq 4 ] && grep -q CHANGED "'$out'"' \
  "$client" -H 127.0.0.1 -p "$port" -u "$user" --known-hosts "$tmp/kh_changed" --accept-new --password-file "$tmp/password" noop
printf 'wrong\n' >"$tmp/badpw"
check "wrong password: exit 4" \
  bash -c '"$0" "$@" >/dev/null 2>&1; [ $? -eq 4 ]' \
  "$client" -H 127.0.0.1 -p "$port" -u "$user" --known-hosts "$kh" --password-file "$tmp/badpw" noop

# ---- requests (public-key authentication from here on) --------------------------
check "ADD with every option family, public key auth" \
  bash -c '"$0" "$@" >"'$out'" 2>&1 && grep -q "CRITERIA-ID: 1" "'$out'"' \
  "$client" -H 127.0.0.1 -p "$port" -u "$user" --known-hosts "$kh" -i "$tmp/id" add \
  --src 192.0.2.0/24 --dst '*' --sport '*' --dport 80,443 --proto 6 --in-if eth0 \
  --idle 60 --total 3600 --packets 1000 --bytes 1000000 --priority 2 --cdest cd1 \
  --cd-addr 198.51.100.5 --cd-port 30030 --cd-src 198.51.100.1 --cd-src-port 49153 \
  --cd-ttl 64 --intercept-id 0x1234
check "ADD with ICMP, IPv6, VRF, static" \
  bash -c '"$0" "$@" >"'$out'" 2>&1' \
  "$client" -H 127.0.0.1 -p "$port" -u "$user" --known-hosts "$kh" -i "$tmp/id" add \
  --ip-version ipv6 --proto 58 --icmp-type 128 --icmp-code 0 --vrf vrf-blue --static --cdest cdconf
check "DELETE of an unknown ID: 431, exit 1" \
  bash -c '"$0" "$@" >"'$out'" 2>&1; [ $? -eq 1 ] && grep -q "431 Unknown Criteria ID" "'$out'"' \
  "$client" -H 127.0.0.1 -p "$port" -u "$user" --known-hosts "$kh" -i "$tmp/id" delete --id 99
check "wrong DTCP key: no reply, exit 3" \
  bash -c '"$0" "$@" >"'$out'" 2>&1; [ $? -eq 3 ] && grep -q "no reply" "'$out'"' \
  "$client" -H 127.0.0.1 -p "$port" -u "$user" --known-hosts "$kh" -i "$tmp/id" -t 2 -K NotJuniper noop
printf 'Juniper\n' >"$tmp/dtcpkey"
check "--json NOOP with the key from a file" \
  bash -c '"$0" "$@" >"'$out'" 2>&1 && /usr/bin/python3 -c "
import json,sys
r = json.loads(open(sys.argv[1]).read())
assert r[\"code\"] == 200 and r[\"signature\"] == \"ok\" and r[\"seq\"] == 7
assert [\"SEQ\", \"7\"] in r[\"headers\"]
" "'$out'"' \
  "$client" -H 127.0.0.1 -p "$port" -u "$user" --known-hosts "$kh" -i "$tmp/id" -k "$tmp/dtcpkey" --seq 7 --json noop

# send FILE: pipelined ADD, REFRESH, LIST, DELETE in one session; Seq added
# to those without one, every message signed by the client.
cat >"$tmp/msgs" <<MSG
ADD DTCP/0.8
Csource-ID: $user
Cdest-ID: cdconf
Source-Address: 192.0.2.7
Timeout-Total: 600

REFRESH DTCP/0.8
Csource-ID: $user
Criteria-ID: 1
Timeout-Total: 900
Seq: 42

LIST DTCP/0.7
Csource-ID: $user
Criteria-ID: 1

DELETE DTCP/0.8
Csource-ID: $user
Criteria-ID: *
MSG
check "send FILE: four pipelined messages answered in order" \
  bash -c '"$0" "$@" >"'$out'" 2>&1 && [ "$(grep -c "200 OK" "'$out'")" = 4 ] &&
    grep -q "^SEQ: 42" "'$out'" && grep -q "REMAINING-TOTAL: 900" "'$out'" &&
    grep -q "CRITERIA-COUNT: 1" "'$out'"' \
  "$client" -H 127.0.0.1 -p "$port" -u "$user" --known-hosts "$kh" -i "$tmp/id" send "$tmp/msgs"

# A LIST over 32 KiB arrives as several replies; the client reads them all.
{
  for i in $(seq 1 40); do
    printf 'ADD DTCP/0.8\nCsource-ID: %s\nCdest-ID: cdconf\nSource-Address: ' "$user"
    for j in $(seq 1 60); do printf '198.51.100.%d, ' "$j"; done
    printf '198.51.100.61\nFlags: STATIC\n\n'
  done
  printf 'LIST DTCP/0.8\nCsource-ID: %s\n' "$user"
} >"$tmp/many"
check "LIST split over several replies read to the end" \
  bash -c '"$0" "$@" >"'$out'" 2>&1 && grep -q "CRITERIA-NUM: 40" "'$out'" &&
    [ "$(grep -c "^SEQ: 41" "'$out'")" -ge 2 ]' \
  "$client" -H 127.0.0.1 -p "$port" -u "$user" --known-hosts "$kh" -i "$tmp/id" send "$tmp/many"

# The subsystem (built with ASan and UBSan) wrote no sanitizer report.
check "no sanitizer report from the subsystem" bash -c '[ -z "$(ls -A "'$tmp'/san")" ]'

echo "end-to-end: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
