#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Tests xtap-config-check: exit status and the exact "FILE:LINE: message"
# lines, on the example configuration, a bad file and a missing one.
# Usage: check_cli.sh PATH-TO-xtap-config-check
set -u
bin=$1
pass=0; fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect NAME WANT-EXIT WANT-STDERR-FILE -- command...
expect() {
  local name=$1 want_rc=$2 want=$3; shift 4
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ "$rc" -eq "$want_rc" ] && cmp -s "$tmp/err" "$want" && [ ! -s "$tmp/out" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $name: exit $rc (want $want_rc)"
    diff -u "$want" "$tmp/err" | sed 's/^/    /'
  fi
}

: >"$tmp/none"
expect "example" 0 "$tmp/none" -- "$bin" examples/xtapd.conf

cat >"$tmp/bad.conf" <<'CONF'
# a bad file: errors on lines 3, 4, 5 and one found after the last line
set system login class flowtap permissions flow-tap-operation
set system login user ftap uid 20
set system login user ftap class flowtap extra
set system login user ftap authentication encrypted-password "$6$abc$notahash"

set services flow-tap control-source ftap key "Juniper"
set system services flow-tap-dtcp ssh
CONF
f="$tmp/bad.conf"
cat >"$tmp/want" <<WANT
$f:3: uid '20' is not a number from 100 to 64000
$f:4: unexpected 'extra' after the complete statement 'set system login user ftap class flowtap'
$f:5: encrypted-password of user 'ftap' is not a crypt(3) hash (\$6\$, \$5\$, \$y\$ or \$1\$)
$f:3: user 'ftap' has no class (set system login user ftap class NAME)
$f:3: user 'ftap' has neither an encrypted-password nor an ssh key: it cannot log in
$f:8: flow-tap-dtcp needs a user whose class has flow-tap-operation and who has a key (services flow-tap control-source NAME key)
$f:8: flow-tap-dtcp needs services flow-tap tunnel-interface
$f:8: flow-tap-dtcp needs at least one services flow-tap interface
WANT
expect "bad file" 1 "$tmp/want" -- "$bin" "$f"

# a valid file whose control source has no allowed-destination: exit 0, a
# warning at its control-source line (issue 12: where copies may go)
cat >"$tmp/open.conf" <<'CONF'
set system login class flowtap permissions flow-tap-operation
set system login user ftap uid 2000
set system login user ftap class flowtap
set system login user ftap authentication encrypted-password "$1$abc$u0bXADx2O.Fc.9uBZAEs5/"
set system services flow-tap-dtcp ssh
set interfaces vt-4/0/0 unit 0 family inet
set services flow-tap tunnel-interface vt-4/0/0.0
set services flow-tap control-source ftap key "Juniper"
set services flow-tap interface eth0
CONF
f="$tmp/open.conf"
echo "$f:8: warning: control source 'ftap' has no allowed-destination: copies may go to any address" >"$tmp/want"
expect "warning: any destination" 0 "$tmp/want" -- "$bin" "$f"
echo "set services flow-tap deny-unlisted-destinations" >>"$f"
echo "$f:8: warning: control source 'ftap' has no allowed-destination and deny-unlisted-destinations is set: every content destination is refused" >"$tmp/want"
expect "warning: no destination" 0 "$tmp/want" -- "$bin" "$f"
echo "set services flow-tap control-source ftap allowed-destination 198.51.100.0/24" >>"$f"
expect "no warning with a list" 0 "$tmp/none" -- "$bin" "$f"

echo "$tmp/missing.conf: cannot open: No such file or directory" >"$tmp/want"
expect "missing file" 1 "$tmp/want" -- "$bin" "$tmp/missing.conf"

echo "usage: xtap-config-check FILE | --statements" >"$tmp/want"
expect "usage" 1 "$tmp/want" -- "$bin"

# the secret of a bad key line never reaches the output
printf 'set services flow-tap control-source ftap key "Juniper" trailing\n' >"$tmp/key.conf"
"$bin" "$tmp/key.conf" >/dev/null 2>"$tmp/err"
if [ -s "$tmp/err" ] && ! grep -q Juniper "$tmp/err"; then pass=$((pass + 1)); else
  fail=$((fail + 1)); echo "FAIL secret shown or no error:"; cat "$tmp/err"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
