#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The crash harness's two traffic helpers, each run inside its own namespace
(docs/fault-harness.md):

  netpeer.py send    (client namespace) reads "IFNAME HEX" lines on stdin and
                     sends each frame on that interface (AF_PACKET), answering
                     "sent" on stdout.
  netpeer.py recv ADDR:PORT ...  (content destination namespace) prints
                     "PORT HEX" for every datagram received on the sockets.
"""
import select
import socket
import sys


def send():
    socks = {}
    for line in sys.stdin:
        ifname, frame = line.split()
        if ifname not in socks:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            s.bind((ifname, 0))
            socks[ifname] = s
        socks[ifname].send(bytes.fromhex(frame))
        print("sent", flush=True)


def recv(binds):
    socks = []
    for b in binds:
        addr, port = b.rsplit(":", 1)
        addr = addr.strip("[]")
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((addr, int(port)))
        socks.append((s, port))
    print("ready", flush=True)
    while True:
        r, _, _ = select.select([s for s, _ in socks], [], [])
        for s, port in socks:
            if s in r:
                data = s.recv(65536)
                print(port, data.hex(), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send()
    else:
        recv(sys.argv[2:])
