#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""How much CPU the X3 delivery process spends per copy (not a test: figures).
Run in a namespace of its own by tests/x3/bench_x3.sh:
    bench_x3.py BUILD TMPDIR N SIZE [RATE]
Sends N copies of SIZE bytes (IPv4/UDP) to xtap-x3 (the optimised build) as
fast as this script can, xtap-x3d (optimised) takes them over TLS; prints the
copies per second end to end and xtap-x3's CPU time per copy (user + system,
in nanoseconds from /proc/PID/schedstat), i.e. copies per second per core of
the delivery process.

With RATE (copies per second): the copies are paced at RATE instead, and the
line says where each one went: received at xtap-x3d, or in one of the
sensor's counters (kernel_drops, not_ip, buffer_full, unconfirmed_at_exit),
or in none ("uncounted", which must be 0), with the receiver's own gaps.
kernel_drops is the ring's own drop count (PACKET_STATISTICS), read by
xtap-x3 at every turn. xtap-x3 takes the copies from lo's packet ring here
(-i lo, Sender); the ring's copy into its blocks runs in the softirq of the
sending script, not in xtap-x3's CPU time (docs/performance.md says how
much)."""
import json, os, signal, socket, struct, subprocess, sys, time

B, T, N, SIZE = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
RATE = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
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
    # sum_exec_runtime in ns (user + system, not rounded to clock ticks)
    try:
        return int(open("/proc/%d/schedstat" % pid).read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        f = open("/proc/%d/stat" % pid).read().split(")")[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def done(x):
    return (x.get("confirmed", 0) + x.get("lost", {}).get("buffer_full", 0)
            + x.get("not_framed", {}).get("kernel_drops", 0) >= N) and x


c0, t0 = cpu(tx.p.pid), time.time()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
dst = ("127.0.0.1", g["CD_PORT"])
send_errors = 0
if RATE:
    i = 0
    while i < N:
        for _ in range(min(64, N - i)):
            try:
                s.sendto(pkt, dst)
            except OSError:
                send_errors += 1  # never reached the socket: not the sensor's to count
            i += 1
        ahead = t0 + i / RATE - time.time()
        if ahead > 0:
            time.sleep(ahead)
else:
    for i in range(N):
        s.sendto(pkt, dst)
t_sent = time.time()
st = g["wait_for"]("all confirmed", lambda: done(tx.stats()), 120)
t1, c1 = time.time(), cpu(tx.p.pid)
txs = tx.stop()
rxs = rx.stop()
out = {"copies": N, "size": SIZE, "seconds": round(t1 - t0, 3),
       "copies_per_s": round(N / (t1 - t0)), "x3_cpu_s": round(c1 - c0, 4),
       "copies_per_cpu_s": round(N / max(c1 - c0, 1e-9)),
       "confirmed": txs["confirmed"], "lost": txs["lost"], "kernel_drops": txs["not_framed"]["kernel_drops"],
       "received": rxs["written"]["packets"]}
if RATE:
    counted = (txs["not_framed"]["kernel_drops"] + txs["not_framed"]["not_ip"] + txs["lost"]["buffer_full"]
               + txs["lost"]["unconfirmed_at_exit"])
    out.update({"rate_offered": round(RATE), "rate_sent": round(N / max(t_sent - t0, 1e-9)),
                "send_errors": send_errors, "datagrams": txs["datagrams"], "pdus": txs["pdus"],
                "not_ip": txs["not_framed"]["not_ip"],
                "receiver_gaps": rxs["gaps"], "receiver_missing": rxs["missing"],
                "receiver_duplicates": rxs["duplicates"],
                "counted_losses": counted,
                "uncounted_losses": N - send_errors - rxs["written"]["packets"] - counted})
print(json.dumps(out))
