#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Test certificates for the X3 tests, made at run time (never committed):
#   certs.sh DIR RECEIVER_IP
# DIR/ca.{pem,key}          the CA both sides trust
# DIR/receiver.{pem,key}    the receiver, signed by the CA, subjectAltName IP:RECEIVER_IP
# DIR/sensor.{pem,key}      the sensor's client certificate, signed by the CA
# DIR/rogue-ca.{pem,key}    another CA
# DIR/rogue-receiver.{pem,key}  a receiver for the same address, signed by the rogue CA
# DIR/rogue-sensor.{pem,key}    a client certificate signed by the rogue CA
# DIR/wrongip-receiver.{pem,key} signed by the CA, for another address (192.0.2.254)
# EC P-256 keys: quick to make.
set -eu
d=$1 ip=$2
mkdir -p "$d"
cd "$d"
umask 077
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
ca() {
	key "$1"
	openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$1" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
}
leaf() { # name ca ext
	key "$1"
	openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
	printf '%s\n' "$3" > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" \
		-days 2 -extfile "$1.ext" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}
ca ca
ca rogue-ca
leaf receiver ca "subjectAltName=IP:$ip
extendedKeyUsage=serverAuth"
leaf sensor ca "extendedKeyUsage=clientAuth"
leaf rogue-receiver rogue-ca "subjectAltName=IP:$ip
extendedKeyUsage=serverAuth"
leaf rogue-sensor rogue-ca "extendedKeyUsage=clientAuth"
leaf wrongip-receiver ca "subjectAltName=IP:192.0.2.254
extendedKeyUsage=serverAuth"
