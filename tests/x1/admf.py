#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""A test ADMF: POSTs X1 bodies to the NE over HTTPS with mutual TLS
(python3's ssl and http.client, Debian's python3). Each FILE is one request
body, all sent on one connection (keep-alive). Prints "status N" and the
body of each response. Exit 0: answered; 3: TLS refused the connection."""
import argparse
import http.client
import ssl
import sys

p = argparse.ArgumentParser()
p.add_argument("--ca", required=True)
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--method", default="POST")
p.add_argument("--path", default="/X1/NE")
p.add_argument("files", nargs="+")
a = p.parse_args()

ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=a.ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
if a.cert:
    ctx.load_cert_chain(a.cert, a.key)
conn = http.client.HTTPSConnection(a.host, a.port, context=ctx, timeout=10)
try:
    for f in a.files:
        body = open(f, "rb").read()
        conn.request(a.method, a.path, body=body, headers={"Content-Type": "application/xml"})
        r = conn.getresponse()
        data = r.read()
        print("status", r.status)
        sys.stdout.write(data.decode("utf-8", "replace"))
        sys.stdout.flush()
except (ssl.SSLError, ConnectionResetError, BrokenPipeError, TimeoutError, http.client.RemoteDisconnected) as e:
    print("tls-refused:", type(e).__name__, e)
    sys.exit(3)
