#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The X1 front end end to end over mutual TLS, in a network namespace of
# its own (x1h-PID, loopback only): build/tests/x1_https (the unprivileged
# HTTPS worker of loader/x1/x1worker.c and a monitor holding the X1 store over
# the DTCP criteria table with the in-memory datapath) and tests/x1/admf.py
# as two ADMFs. Keys and certificates are made here, in a temporary folder,
# and removed. Usage: test_https.sh BUILD. Prints "N passed, N failed, N skipped".
# X1_WRAP="strace -ff -o DIR" X1_ARGS=-S runs the server under strace without
# its seccomp filter: how the filter's list (loader/x1/x1worker.c) was measured.
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/tests/x1_https
pass=0 fail=0
ns=x1h-$$
port=18443
py=/usr/bin/python3 # Debian's, with its ssl module (not one on PATH)

skip_all() {
  echo "skip: $1"
  echo "https: 0 passed, 0 failed, 1 skipped"
  exit 0
}
[ "$(id -u)" -eq 0 ] || skip_all "needs root (a network namespace, a user to drop to)"
command -v openssl >/dev/null || skip_all "no openssl"
[ -x "$bin" ] || skip_all "no $bin (make $bin)"
[ -x "$py" ] || skip_all "no $py (python3)"
id nobody >/dev/null 2>&1 || skip_all "no user nobody"

tmp=$(mktemp -d)
srv=
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
  # anything of ours still in the namespace (a wrapped server's children)
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

# ---- keys: a CA for ADMFs and the NE, a CA nobody trusts --------------------
mk() { # name cn signer-prefix [san]
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
    -keyout "$tmp/$1.key" -out "$tmp/$1.csr" 2>/dev/null
  if [ -n "${4:-}" ]; then echo "subjectAltName=$4" >"$tmp/$1.ext"; else : >"$tmp/$1.ext"; fi
  openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/$3.pem" -CAkey "$tmp/$3.key" -CAcreateserial \
    -days 2 -extfile "$tmp/$1.ext" -out "$tmp/$1.pem" 2>/dev/null
}
for ca in ca rogue; do
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=x1 test $ca" -keyout "$tmp/$ca.key" -out "$tmp/$ca.pem" 2>/dev/null
done
mk ne ne-xtap-1 ca "IP:127.0.0.1"
mk admf-a admf-a ca
mk admf-b admf-b ca
mk evil admf-a rogue
[ -s "$tmp/admf-a.pem" ] && [ -s "$tmp/evil.pem" ] || { bad "certificates made"; echo "https: $pass passed, $fail failed"; exit 1; }

ip netns add "$ns" || skip_all "cannot create a network namespace"
ip -n "$ns" link set lo up
ip netns exec "$ns" ${X1_WRAP:-} "$bin" -p $port -c "$tmp/ne.pem" -k "$tmp/ne.key" -a "$tmp/ca.pem" -u nobody -t 2 ${X1_ARGS:-} \
  >"$tmp/mon.log" 2>"$tmp/worker.log" &
srv=$!
for _ in $(seq 100); do grep -q '^ready' "$tmp/mon.log" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready' "$tmp/mon.log" || { bad "x1_https ready (waited 10 s)"; cat "$tmp/worker.log"; exit 1; }
wpid=$(sed -n 's/^ready worker=//p' "$tmp/mon.log")
for _ in $(seq 50); do uid=$(awk '/^Uid:/ {print $2}' "/proc/$wpid/status" 2>/dev/null); [ "$uid" = 65534 ] && break; sleep 0.1; done
check "the HTTPS worker runs as nobody (uid $uid), the monitor as root" \
  '[ "$uid" = 65534 ] && [ "$(awk "/^Uid:/ {print \$2}" /proc/$srv/status)" = 0 ]'
check "the worker has no capability left" '[ "$(awk "/^CapEff:/ {print \$2}" /proc/$wpid/status)" = 0000000000000000 ]'
check "the worker runs under its seccomp filter" '[ "$(awk "/^Seccomp:/ {print \$2}" /proc/$wpid/status)" = 2 ]'

admf() { # who files...
  local who=$1; shift
  ip netns exec "$ns" "$py" "$here/admf.py" --ca "$tmp/ca.pem" --cert "$tmp/$who.pem" --key "$tmp/$who.key" \
    --port $port "$@"
}
env() { # admf txid
  echo "<admfIdentifier>$1</admfIdentifier><neIdentifier>ne-xtap-1</neIdentifier><messageTimestamp>2026-01-01T00:00:00.000000Z</messageTimestamp><version>v1.6.1</version><x1TransactionId>00000000-0000-4000-8000-0000000000$2</x1TransactionId>"
}
body() { # file admf txid type inner
  echo "<X1Request xmlns=\"http://uri.etsi.org/03221/X1/2017/10\" xmlns:c=\"http://uri.etsi.org/03280/common/2017/07\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><x1RequestMessage xsi:type=\"$4Request\">$(env "$2" "$3")$5</x1RequestMessage></X1Request>" >"$tmp/$1"
}
X=a1000000-0000-4000-8000-000000000001
D=d1000000-0000-4000-8000-000000000001
body ping.xml admf-a 01 Ping ""
body dest.xml admf-a 02 CreateDestination "<destinationDetails><dId>$D</dId><deliveryType>X3Only</deliveryType><deliveryAddress><ipAddressAndPort><c:address><c:IPv4Address>198.51.100.7</c:IPv4Address></c:address><c:port><c:UDPPort>4789</c:UDPPort></c:port></ipAddressAndPort></deliveryAddress></destinationDetails>"
body act.xml admf-a 03 ActivateTask "<taskDetails><xId>$X</xId><targetIdentifiers><targetIdentifier><ipv4Address>192.0.2.1</ipv4Address></targetIdentifier><targetIdentifier><ipv6Address>2001:0db8:0000:0000:0000:0000:0000:0001</ipv6Address></targetIdentifier></targetIdentifiers><deliveryType>X3Only</deliveryType><listOfDIDs><dId>$D</dId></listOfDIDs></taskDetails>"
body mod.xml admf-a 04 ModifyTask "<taskDetails><xId>$X</xId><targetIdentifiers><targetIdentifier><ipv4Address>192.0.2.2</ipv4Address></targetIdentifier></targetIdentifiers><deliveryType>X3Only</deliveryType><listOfDIDs><dId>$D</dId></listOfDIDs></taskDetails>"
body get-b.xml admf-b 05 GetTaskDetails "<xId>$X</xId>"
body claim.xml admf-a 06 DeactivateTask "<xId>$X</xId>"
body deact.xml admf-a 07 DeactivateTask "<xId>$X</xId>"
echo '<X1Request xmlns="http://uri.etsi.org/03221/X1/2017/10"><x1RequestMessage>' >"$tmp/broken.xml"

out=$(admf admf-a "$tmp/ping.xml" "$tmp/dest.xml" "$tmp/act.xml")
check "admf-a: Ping, CreateDestination, ActivateTask on one connection: 200 and OK thrice" \
  '[ "$(grep -c "^status 200" <<<"$out")" = 3 ] && [ "$(grep -o "<oK>AcknowledgedAndCompleted</oK>" <<<"$out" | wc -l)" = 3 ] && grep -q ActivateTaskResponse <<<"$out"'
check "the IPv4 and the IPv6 target reached the datapath as X1/admf-a criteria" \
  'grep -q "^% install 1: X1/admf-a ipv4 src=\* dst=\* either=192.0.2.1/32 .*cd=$D:198.51.100.7:4789" "$tmp/mon.log" && grep -q "^% install 2: X1/admf-a ipv6 src=\* dst=\* either=2001:db8::1/128 " "$tmp/mon.log"'
check "the monitor took typed containers from the certificate's ADMF" 'grep -q "^monitor: admf-a: 1 messages" "$tmp/mon.log"'

out=$(admf admf-a "$tmp/mod.xml")
check "ModifyTask: OK, the new criterion in before the old ones go" \
  'grep -q ModifyTaskResponse <<<"$out" && [ "$(grep -E "^% (install 3|remove 1|remove 2)" "$tmp/mon.log" | cut -c1-11 | tr "\n" ,)" = "% install 3,% remove 1,% remove 2," ]'

out=$(admf admf-b "$tmp/get-b.xml")
check "admf-b does not see admf-a's task (XIDDoesNotExist 2020)" 'grep -q "<errorCode>2020</errorCode>" <<<"$out"'
body claim.xml admf-a 06 DeactivateTask "<xId>$X</xId>"
out=$(admf admf-b "$tmp/claim.xml")
check "admf-b naming admf-a in admfIdentifier is refused (1030) and changes nothing" \
  'grep -q "<errorCode>1030</errorCode>" <<<"$out" && ! grep -q "^% remove 3" "$tmp/mon.log"'

out=$(ip netns exec "$ns" "$py" "$here/admf.py" --ca "$tmp/ca.pem" --cert "$tmp/evil.pem" --key "$tmp/evil.key" --port $port "$tmp/deact.xml"); rc=$?
check "a certificate the CA did not sign is refused in the handshake (rc $rc)" \
  '[ $rc = 3 ] && ! grep -q "^% remove 3" "$tmp/mon.log" && grep -q "TLS handshake refused" "$tmp/worker.log"'
out=$(ip netns exec "$ns" "$py" "$here/admf.py" --ca "$tmp/ca.pem" --port $port "$tmp/deact.xml"); rc=$?
check "no client certificate: refused (rc $rc)" '[ $rc = 3 ] && ! grep -q "^% remove 3" "$tmp/mon.log"'

out=$(admf admf-a --method GET "$tmp/ping.xml")
check "GET: 405" 'grep -q "^status 405" <<<"$out"'
out=$(admf admf-a "$tmp/broken.xml")
check "a body that is not XML: X1TopLevelErrorResponse naming the certificate's ADMF" \
  'grep -q "^status 200" <<<"$out" && grep -q "<X1TopLevelErrorResponse" <<<"$out" && grep -q "<admfIdentifier>admf-a</admfIdentifier>" <<<"$out"'

out=$(admf admf-a "$tmp/deact.xml")
check "DeactivateTask: OK and its criterion removed" 'grep -q DeactivateTaskResponse <<<"$out" && grep -q "^% remove 3" "$tmp/mon.log"'
check "no target in the worker's log" '! grep -qE "192\.0\.2\.|2001:" "$tmp/worker.log"'
check "the monitor never refused a worker message" '! grep -q "refused a worker message" "$tmp/mon.log"'

# A peer that trickles a handshake (a byte a second for 40 s) holds the
# worker no longer than its 2 s deadline: an ADMF arriving meanwhile waits
# in the backlog and is answered while the trickle is still going (without
# the deadline it would wait for the whole trickle).
ip netns exec "$ns" "$py" -c '
import socket, time
s = socket.create_connection(("127.0.0.1", '$port'))
for b in b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(29):
    try:
        s.send(bytes([b]))
    except OSError:
        break
    time.sleep(1)
' &
trickle=$!
for _ in $(seq 100); do [ -n "$(ip netns exec "$ns" ss -Htn state established "( sport = :$port )")" ] && break; sleep 0.1; done
out=$(admf admf-a "$tmp/ping.xml")
alive=no
kill -0 $trickle 2>/dev/null && alive=yes
kill $trickle 2>/dev/null
wait $trickle 2>/dev/null
check "a trickled handshake is cut at the deadline: the ADMF was answered during the trickle" \
  'grep -q PingResponse <<<"$out" && [ $alive = yes ] && grep -q "TLS handshake too slow" "$tmp/worker.log"'

echo "https: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
