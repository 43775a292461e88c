#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Install every Debian package xtap's build, tests, benchmarks and demo need.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail

PKGS=(
  # build
  make gcc clang clang-format llvm libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev pkg-config
  libssh-dev libssl-dev libpcap-dev libcap-dev libseccomp-dev libnl-3-dev libnl-route-3-dev
  # X1 (TS 103 221-1): the XML parser
  libxml2-dev
  # sanitizer and fuzzer runtimes for clang
  libclang-rt-14-dev
  # tests, lab and demo
  iproute2 nftables tcpdump tshark openssh-client openssh-server python3 python3-paramiko
  xdp-tools ethtool iputils-ping netcat-openbsd socat procps kmod
  # X1 over mutual TLS (tests/x1/test_https.sh): keys and certificates made at run time
  openssl
  # the crash harness: the audit-before-reply regression test traces the monitor
  strace
  # man pages (mandoc -Tlint), the Debian package (make deb, lintian) and the
  # metrics' format check (prometheus_client's own text parser)
  mandoc debhelper fakeroot lintian python3-prometheus-client logrotate
)

missing=()
for p in "${PKGS[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
