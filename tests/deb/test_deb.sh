#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The Debian package, installed for real: tests/deb/test_deb.sh XTAP.deb
#
# Installs the .deb with apt, checks what Debian policy and xtapd.conf(5)
# say it holds (Depends from the binaries' own NEEDED libraries, conffiles,
# modes, the worker's system user, the unit neither enabled nor started),
# runs `xtapd -n` on the installed example as the unit's ExecStartPre does,
# rotates the audit log with the installed logrotate file, then purges the
# package and checks that nothing it or xtapd made is left.
#
# Root. It changes this machine's package database, so it refuses (skipped,
# with the reason) when xtap is installed or any path or user it would
# create exists already, and holds a lock so that two runs never overlap.
# Nothing is started: the installed xtapd only checks its configuration.
set -u

DEB=${1:?usage: test_deb.sh XTAP.deb}
DEB=$(realpath "$DEB")
pass=0 fail=0 skip=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() { echo "$pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }
skip_all() { echo "skipped: $*"; skip=1; finish; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root (installs a package)"
[ -f "$DEB" ] || { bad "no package $DEB (make deb)"; finish; }

exec 9>/run/lock/xtap-test-deb.lock
flock -w 600 9 || skip_all "another test_deb.sh holds /run/lock/xtap-test-deb.lock"

# Everything the package or its maintainer scripts would create.
OWN_PATHS=(/etc/xtap /var/lib/xtap /var/log/xtap /usr/sbin/xtapd /usr/sbin/xtapctl /usr/bin/dtcp
	   /usr/bin/xtap-cd /usr/bin/xtap-x3d /lib/systemd/system/xtapd.service /etc/logrotate.d/xtapd /usr/share/doc/xtap
	   /run/xtap)
status=$(dpkg-query -W -f='${Status}' xtap 2>/dev/null || true)
case "$status" in ""|"unknown ok not-installed"|"deinstall ok config-files"*) ;; *) skip_all "xtap is installed here ($status)";; esac
[ -z "$status" ] || [ "$status" = "unknown ok not-installed" ] || skip_all "xtap has configuration files left ($status)"
for p in "${OWN_PATHS[@]}"; do
	[ ! -e "$p" ] || skip_all "$p exists: not touching it"
done
getent passwd xtap >/dev/null && skip_all "a user xtap exists"
getent group xtap >/dev/null && skip_all "a group xtap exists"

# The package's paths that exist before (shared folders: /etc, /usr/bin...)
# stay after the purge; every other must be gone.
mapfile -t PKG_PATHS < <(dpkg-deb -c "$DEB" | awk '{print $6}' | sed -e 's|^\./|/|' -e 's|/$||' | grep -v '^/\?$')
declare -A BEFORE
for p in "${PKG_PATHS[@]}"; do [ -e "$p" ] && BEFORE[$p]=1; done

installed=0
cleanup() {
	if [ "$installed" -eq 1 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq xtap >/dev/null 2>&1 || dpkg --purge xtap >/dev/null 2>&1
	fi
	[ -n "${TMPD:-}" ] && rm -rf "$TMPD"
}
trap cleanup EXIT
TMPD=$(mktemp -d /tmp/xtap-test-deb.XXXXXX)

# ---- install ------------------------------------------------------------------
if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$DEB" >"$TMPD/apt.log" 2>&1; then
	installed=1
	ok "apt-get install $(basename "$DEB")"
else
	installed=1 # a half-configured package is purged too
	bad "apt-get install: $(tail -n 5 "$TMPD/apt.log")"
	finish
fi
check "dpkg: installed" test "$(dpkg-query -W -f='${Status}' xtap)" = "install ok installed"

# Depends: the package of every library the shipped binaries need (their
# ELF NEEDED entries, resolved by dpkg -S), not a hand-kept list.
depends=$(dpkg-query -W -f='${Depends}' xtap)
for bin in /usr/sbin/xtapd /usr/sbin/xtapctl /usr/bin/dtcp /usr/bin/xtap-cd /usr/bin/xtap-x3d; do
	for lib in $(objdump -p "$bin" | awk '/NEEDED/ {print $2}'); do
		path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
		pkg=$(dpkg -S "$(realpath "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
		[ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
		check "Depends names $pkg (for $lib of $(basename "$bin"))" grep -qE "(^|, )$pkg( |,|$)" <<<"$depends"
	done
done

conffiles=$(dpkg-query -W -f='${Conffiles}' xtap)
check "conffile /etc/xtap/xtapd.conf" grep -q '^ /etc/xtap/xtapd.conf ' <<<"$conffiles"
check "conffile /etc/logrotate.d/xtapd" grep -q '^ /etc/logrotate.d/xtapd ' <<<"$conffiles"

mode() { stat -c '%a %U %G' "$1" 2>/dev/null; }
check "/etc/xtap 700 root" test "$(mode /etc/xtap)" = "700 root root"
check "/etc/xtap/xtapd.conf 600 root" test "$(mode /etc/xtap/xtapd.conf)" = "600 root root"
check "/var/lib/xtap 700 root" test "$(mode /var/lib/xtap)" = "700 root root"
check "/var/log/xtap 700 root" test "$(mode /var/log/xtap)" = "700 root root"
for b in /usr/sbin/xtapd /usr/sbin/xtapctl /usr/bin/dtcp /usr/bin/xtap-cd /usr/bin/xtap-x3d; do
	check "$b 755 root" test "$(mode $b)" = "755 root root"
done
check "unit 644" test "$(mode /lib/systemd/system/xtapd.service)" = "644 root root"
check "the installed example is the shipped one" cmp -s /etc/xtap/xtapd.conf /usr/share/doc/xtap/examples/xtapd.conf

# the worker's user: a system user, no login, no home made for it
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd xtap)
check "user xtap exists" test -n "${uid:-}"
check "user xtap is a system user (uid ${uid:-?} < 1000)" test "${uid:-1000}" -lt 1000
check "user xtap has no shell ($shell)" test "$shell" = /usr/sbin/nologin
check "user xtap has no home ($home)" test ! -e "$home"

unit=/lib/systemd/system/xtapd.service
check "unit: ExecStartPre checks the installed configuration" \
	grep -qx 'ExecStartPre=/usr/sbin/xtapd -n -f /etc/xtap/xtapd.conf' $unit
check "unit: ExecStart runs the worker as xtap" \
	grep -qx 'ExecStart=/usr/sbin/xtapd -u xtap -f /etc/xtap/xtapd.conf' $unit
check "unit: not enabled at install" test ! -e /etc/systemd/system/multi-user.target.wants/xtapd.service
running=0
for e in /proc/[0-9]*/exe; do [ "$(readlink "$e" 2>/dev/null)" = /usr/sbin/xtapd ] && running=1; done
check "xtapd not started at install" test "$running" -eq 0

# as the unit's ExecStartPre
out=$(/usr/sbin/xtapd -n -f /etc/xtap/xtapd.conf 2>&1); rc=$?
check "xtapd -n on the installed example: exit 0" test "$rc" -eq 0
check "xtapd -n says configuration OK ($out)" test "$out" = "/etc/xtap/xtapd.conf: configuration OK"

check "man xtapd.conf: the installed page renders with its statements" \
	bash -c 'zcat /usr/share/man/man5/xtapd.conf.5.gz | mandoc -Tutf8 | sed "s/.\x08//g" | grep -q "services flow-tap interface-alias"'
for pg in man1/dtcp.1 man1/xtap-cd.1 man1/xtap-x3d.1 man8/xtapd.8 man8/xtapctl.8; do
	check "man page $pg installed" test -s /usr/share/man/$pg.gz
done

# The audit log rotated with the installed file: moved aside (never copied
# and truncated), and xtapd makes the new one at its SIGHUP reopen. No
# xtapd runs here, so the postrotate signal reaches nothing.
if command -v logrotate >/dev/null; then
	printf '{"event":"start"}\n' >/var/log/xtap/audit.log
	chmod 600 /var/log/xtap/audit.log
	if logrotate -f -s "$TMPD/logrotate.state" /etc/logrotate.d/xtapd >"$TMPD/lr.log" 2>&1; then
		ok "logrotate -f /etc/logrotate.d/xtapd"
	else
		bad "logrotate: $(cat "$TMPD/lr.log")"
	fi
	check "audit.log moved to audit.log.1 (delaycompress)" grep -q start /var/log/xtap/audit.log.1
	check "audit.log left for xtapd to create (nocreate)" test ! -e /var/log/xtap/audit.log
	check "audit.log.1 kept 600" test "$(stat -c %a /var/log/xtap/audit.log.1)" = 600
else
	echo "skip logrotate is not installed (the package only recommends it)"
	skip=$((skip + 1))
fi
# what xtapd makes at run time, for the purge to remove
printf 'x\n' >/etc/xtap/ssh_host_ed25519_key
printf 'x\n' >/var/lib/xtap/state

# ---- purge ----------------------------------------------------------------------
if DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq xtap >"$TMPD/apt.log" 2>&1; then
	installed=0
	ok "apt-get purge xtap"
else
	bad "apt-get purge: $(tail -n 5 "$TMPD/apt.log")"
fi
check "dpkg: not installed after purge" \
	bash -c '[ -z "$(dpkg-query -W -f="\${Status}" xtap 2>/dev/null | grep -v not-installed)" ]'
left=()
for p in "${PKG_PATHS[@]}" "${OWN_PATHS[@]}"; do
	[ -n "${BEFORE[$p]:-}" ] && continue
	[ -e "$p" ] && left+=("$p")
done
check "nothing left of the package's files and folders (${left[*]:-none})" test ${#left[@]} -eq 0
check "no user xtap left" bash -c '! getent passwd xtap >/dev/null'
check "no group xtap left" bash -c '! getent group xtap >/dev/null'
check "no maintainer scripts left" bash -c '! ls /var/lib/dpkg/info/xtap.* >/dev/null 2>&1'
check "no deb-systemd-helper state left" \
	bash -c '! ls /var/lib/systemd/deb-systemd-helper-enabled/*xtapd* /var/lib/systemd/deb-systemd-helper-masked/*xtapd* >/dev/null 2>&1'
finish
