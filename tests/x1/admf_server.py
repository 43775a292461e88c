#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""A test ADMF's own X1 endpoint, for the NE's issue reports (docs/x1.md
"Issue reports"): HTTPS with mutual TLS (python3's ssl and http.server,
Debian's python3), the NE's client certificate checked against --ca. Each
POST body is appended to --log, followed by a line "%%"; the answer is
HTTP 200 with an X1Response acknowledging every message. Prints
"listening" once it is."""
import argparse
import http.server
import re
import ssl
import sys

p = argparse.ArgumentParser()
p.add_argument("--ca", required=True)
p.add_argument("--cert", required=True)
p.add_argument("--key", required=True)
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--log", required=True)
a = p.parse_args()

NS = "http://uri.etsi.org/03221/X1/2017/10"


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        with open(a.log, "a") as f:
            f.write(body + "\n%%\n")
        msgs = re.findall(r'xsi:type="([A-Za-z]+)Request"', body)
        out = '<?xml version="1.0" encoding="UTF-8"?>\n<X1Response xmlns="%s" ' \
              'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n' % NS
        for m in msgs:
            out += '<x1ResponseMessage xsi:type="%sResponse"><oK>Acknowledged</oK></x1ResponseMessage>\n' % m
        out += "</X1Response>\n"
        data = out.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(a.cert, a.key)
ctx.load_verify_locations(a.ca)
ctx.verify_mode = ssl.CERT_REQUIRED
srv = http.server.HTTPServer((a.host, a.port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("listening", flush=True)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
