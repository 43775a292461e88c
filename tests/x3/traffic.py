#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Traffic for tests/x3/test_x3_e2e.sh (standard library only).
  traffic.py server ADDR PORT              TCP echo and UDP sink on PORT
  traffic.py client ADDR PORT NTCP NUDP    NTCP echoed TCP messages, then NUDP datagrams
  traffic.py udp ADDR PORT N RATE          N datagrams of 200 bytes at RATE per second
Payloads carry their index, so every copy differs from the others."""
import socket
import sys
import threading
import time

mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "server":
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, port))
    threading.Thread(target=lambda: [u.recvfrom(65535) for _ in iter(int, 1)], daemon=True).start()
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, port))
    t.listen(4)
    while True:
        c, _ = t.accept()
        while True:
            b = c.recv(65535)
            if not b:
                break
            c.sendall(b)
        c.close()
elif mode == "client":
    ntcp, nudp = int(sys.argv[4]), int(sys.argv[5])
    s = socket.create_connection((addr, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    echoed = 0
    for i in range(ntcp):
        m = b"tcp %06d " % i + bytes(i % 97)
        s.sendall(m)
        got = b""
        while len(got) < len(m):
            got += s.recv(65535)
        echoed += got == m
    s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(nudp):
        u.sendto(b"udp %06d " % i + bytes(i % 151), (addr, port))
        if i % 20 == 19:
            time.sleep(0.005)
    time.sleep(0.5)  # the last FIN/ACK exchange done before the capture stops
    print("echoed %d sent %d" % (echoed, nudp))
else:
    n, rate = int(sys.argv[4]), float(sys.argv[5])
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.time()
    for i in range(n):
        u.sendto(b"%08d" % i + bytes(192), (addr, port))
        lag = t0 + (i + 1) / rate - time.time()
        if lag > 0:
            time.sleep(lag)
    print("sent %d" % n)
