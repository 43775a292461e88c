#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# make install / make uninstall into a staging folder (DESTDIR), as a
# packager does: the files GNU's directory variables name, their modes, the
# unit's paths filled in, an existing configuration never overwritten, and
# uninstall leaving only what is the operator's. No root needed.
# usage: tests/install/test_install.sh BUILD_DIR
set -u
B=${1:-build}
D=$(mktemp -d /tmp/xtap-install.XXXXXX)
trap 'rm -rf "$D"' EXIT
pass=0 fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   $what"; pass=$((pass + 1)); else echo "FAIL $what"; fail=$((fail + 1)); fi; }
mode() { stat -c %a "$1" 2>/dev/null; }
inst() { make -s --no-print-directory BUILD="$B" "$@" DESTDIR="$D" prefix=/opt/xt sysconfdir=/opt/xt/etc \
	systemdunitdir=/opt/xt/units WORKER_USER=xtapw >"$D.log" 2>&1; }

check "make install exits 0" inst install
for f in sbin/xtapd sbin/xtapctl bin/dtcp bin/xtap-cd bin/xtap-x3d; do
	check "/opt/xt/$f 755" [ "$(mode $D/opt/xt/$f)" = 755 ]
done
for m in man1/dtcp.1 man1/xtap-cd.1 man1/xtap-x3d.1 man5/xtapd.conf.5 man8/xtapd.8 man8/xtapctl.8; do
	check "man page $m 644" [ "$(mode $D/opt/xt/share/man/$m)" = 644 ]
done
check "configuration folder 700" [ "$(mode $D/opt/xt/etc/xtap)" = 700 ]
check "configuration 600, the example" bash -c "[ \"\$(stat -c %a $D/opt/xt/etc/xtap/xtapd.conf)\" = 600 ] && cmp -s examples/xtapd.conf $D/opt/xt/etc/xtap/xtapd.conf"
check "logrotate file" cmp -s scripts/xtapd.logrotate $D/opt/xt/etc/logrotate.d/xtapd
u=$D/opt/xt/units/xtapd.service
check "unit 644" [ "$(mode $u)" = 644 ]
check "unit: ExecStartPre with the installed paths" grep -qx 'ExecStartPre=/opt/xt/sbin/xtapd -n -f /opt/xt/etc/xtap/xtapd.conf' $u
check "unit: ExecStart with the worker's user" grep -qx 'ExecStart=/opt/xt/sbin/xtapd -u xtapw -f /opt/xt/etc/xtap/xtapd.conf' $u
check "unit: no /usr/local path left outside comments" bash -c "! grep -v '^#' $u | grep -q /usr/local"
check "installed xtapd -n accepts the installed example" $D/opt/xt/sbin/xtapd -n -f $D/opt/xt/etc/xtap/xtapd.conf

echo "# the operator's edit" >> $D/opt/xt/etc/xtap/xtapd.conf
check "make install again exits 0" inst install
check "a second install keeps the operator's configuration" grep -q "the operator's edit" $D/opt/xt/etc/xtap/xtapd.conf
check "and says so" grep -q "keeping $D/opt/xt/etc/xtap/xtapd.conf" "$D.log"

check "make uninstall exits 0" inst uninstall
left=$(find $D -type f | sed "s|^$D||" | sort | tr '\n' ' ')
check "uninstall leaves only the changed configuration ($left)" [ "$left" = "/opt/xt/etc/xtap/xtapd.conf " ]
cp examples/xtapd.conf $D/opt/xt/etc/xtap/xtapd.conf
inst uninstall
check "an unchanged example is removed with its folder" [ ! -e $D/opt/xt/etc/xtap ]
rm -f "$D.log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
