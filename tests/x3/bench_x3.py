#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""How much CPU the X3 delivery process spends per copy (not a test: figures).
Run in a namespace of its own by tests/x3/bench_x3.sh:
    bench_x3.py BUILD TMPDIR N SIZE
Sends N copies of SIZE bytes (IPv4/UDP) to xtap-x3 (the optimised build) as
fast as this script can, xtap-x3d (optimised) takes them over TLS; prints the
copies per second end to end and xtap-x3's CPU time per copy (user + system
from /proc), i.e. copies per second per core of the delivery process."""
import json, os, signal, socket, struct, subprocess, sys, time

B, T, N, SIZE = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sys.argv = [sys.argv[0], B, T]
import importlib.util
spec = importlib.util.spec_from_file_location("x3t", os.path.join(os.path.dirname(__file__), "x3test.py"))
src = open(spec.origin).read().split("subprocess.run([\"ip\", \"link\"")[0]  # its helpers only
g = {"__name__": "x3t", "__file__": spec.origin}
exec(compile(src, spec.origin, "exec"), g)
g["RXBIN"] = os.path.join(B, "xtap-x3d")
g["TXBIN"] = os.path.join(B, "xtap-x3")
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
rx = g["Receiver"]("bench")
tx = g["Sender"](g["write_config"]("bench", buffer=64 << 20), "bench")
g["wait_for"]("the connection", lambda: "connected" in tx.errtext())
pkt = g["ip4"]("192.0.2.10", "198.51.100.7", 1024, 80, bytes(SIZE - 28))

def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().split(")")[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

c0, t0 = cpu(tx.p.pid), time.time()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
for i in range(N):
    s.sendto(pkt, ("127.0.0.1", g["CD_PORT"]))
st = g["wait_for"]("all confirmed", lambda: (lambda x: x.get("confirmed", 0) + x.get("lost", {}).get("buffer_full", 0)
                                             + x.get("not_framed", {}).get("kernel_drops", 0) >= N and x)(tx.stats()), 120)
t1, c1 = time.time(), cpu(tx.p.pid)
txs = tx.stop()
rxs = rx.stop()
print(json.dumps({"copies": N, "size": SIZE, "seconds": round(t1 - t0, 3),
                  "copies_per_s": round(N / (t1 - t0)), "x3_cpu_s": round(c1 - c0, 3),
                  "copies_per_cpu_s": round(N / max(c1 - c0, 1e-9)),
                  "confirmed": txs["confirmed"], "lost": txs["lost"], "kernel_drops": txs["not_framed"]["kernel_drops"],
                  "received": rxs["written"]["packets"]}))
