#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""End-to-end test of xtap-cd over loopback.

Starts xtap-cd on 127.0.0.1, ::1 and the dual-stack default with a port the
kernel chooses (port 0; xtap-cd prints the one it got), sends it crafted
copies (plain IPv4/IPv6, JMirror with short and long intercept ids, every
malformed case, filtered ids), stops it, and checks byte for byte what the
pcap holds (read by this script, by tcpdump -r and by tshark -r when present)
and that the printed counts are exactly those expected.

Usage: cdtest.py PATH/TO/xtap-cd. Prints "cd-end-to-end: N passed, N failed[, N skipped]".
Uses only the standard library (run with /usr/bin/python3).
"""
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pycheck import check, skip, summary  # noqa: E402

XTAP_CD = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="xtap-cd-test.")




# ---- packets (documentation addresses) --------------------------------------

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, options=b"", total=None, ihl=None):
    hl = 20 + len(options)
    tot = hl + len(payload) if total is None else total
    vihl = 0x40 | (hl // 4 if ihl is None else ihl)
    h = struct.pack("!BBHHHBBH4s4s", vihl, 0, tot, 0x1234, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst)) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, plen=None):
    pl = len(payload) if plen is None else plen
    return struct.pack("!IHBB16s16s", 0x60000000, pl, nh, 64,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport, dport, data):
    return struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x18, 65535, 0, 0) + data


def jmirror_words(hexid):
    """Independent reading of design.md: up to 8 significant hex digits,
    (id, 0); more, (high 32, low 32); the top two bits are the version."""
    x = int(hexid, 16)
    if x <= 0xFFFFFFFF:
        return x & 0x3FFFFFFF, 0
    return (x >> 32) & 0x3FFFFFFF, x & 0xFFFFFFFF


def jmirror(hexid, inner):
    iid, sid = jmirror_words(hexid)
    return struct.pack("!II", iid, sid) + inner


V4A = ipv4("192.0.2.1", "198.51.100.1", 17, udp(40000, 5060, b"INVITE sip:target"))
V4OPT = ipv4("192.0.2.2", "198.51.100.2", 17, udp(40001, 53, b"\x12\x34" * 9),
             options=b"\x01\x01\x01\x00")
V4BIG = ipv4("192.0.2.3", "198.51.100.3", 17, udp(40002, 9, bytes(range(256)) * 5))
V6A = ipv6("2001:db8::1", "2001:db8::2", 6, tcp(443, 50000, b"\x17\x03\x03" + b"x" * 40))
V6B = ipv6("2001:db8::3", "2001:db8::4", 17, udp(5004, 5004, b"\x80" * 172))
INNER_ADDRS = ["192.0.2.", "198.51.100.", "2001:db8", "c0000201", "c6336401", "20010db8"]

# (datagram, verdict, (intercept id, session id) or None); verdict "plain",
# "jmirror" or a malformed reason key
FULL_SET = [
    (V4A, "plain", None),
    (V4OPT, "plain", None),
    (V6A, "plain", None),
    (jmirror("1234", V4A), "jmirror", (0x1234, 0)),
    (jmirror("0x1234", V6B), "jmirror", (0x1234, 0)),
    (jmirror("123456789", V4BIG), "jmirror", (0x1, 0x23456789)),
    (jmirror("c0000000000000ab", V6A), "jmirror", (0, 0xAB)),
    (jmirror("ffffffff", V4OPT), "jmirror", (0x3FFFFFFF, 0)),
    (b"", "too_short", None),
    (b"\x00\x00\x12", "too_short", None),
    (struct.pack("!II", 0x1234, 0), "too_short", None),
    (b"\x80\x00\x12\x34\x00\x00\x00\x00" + V4A, "bad_jmirror_version", None),
    (b"\x50\x00\x12\x34\x00\x00\x00\x00" + V4A, "bad_jmirror_version", None),
    (b"\xff" * 30, "bad_jmirror_version", None),
    (jmirror("1234", b"\x55" * 30), "inner_not_ip", None),
    (jmirror("1234", jmirror("1234", V4A)), "inner_not_ip", None),
    (jmirror("1234", V4A[:-1]), "inner_truncated", None),
    (V4A[:19], "inner_truncated", None),
    (V6A[:39], "inner_truncated", None),
    (V6B[:-5], "inner_truncated", None),
    (ipv4("192.0.2.1", "198.51.100.1", 17, udp(1, 2, b"")) + b"\0\0", "inner_length_mismatch", None),
    (jmirror("1234", V6A + b"\0"), "inner_length_mismatch", None),
    (ipv4("192.0.2.1", "198.51.100.1", 17, udp(1, 2, b""), ihl=4), "inner_length_mismatch", None),
]
REASONS = ["too_short", "bad_jmirror_version", "inner_not_ip", "inner_truncated",
           "inner_length_mismatch"]


def inner_of(d, verdict):
    return d if verdict == "plain" else d[8:]


# ---- running xtap-cd ----------------------------------------------------------

class Cd:
    def __init__(self, *args):
        self.t0 = time.time()
        self.p = subprocess.Popen([XTAP_CD] + list(args), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.first = self._readline(5.0)
        m = re.fullmatch(r"xtap-cd: listening on (\S+):(\d+)\n", self.first)
        if not m:
            self.p.kill()
            self.p.communicate()
            raise RuntimeError("xtap-cd did not start: %r" % self.first)
        self.port = int(m.group(2))

    def _readline(self, timeout):
        line = b""
        end = time.time() + timeout
        while not line.endswith(b"\n") and time.time() < end:
            r, _, _ = select.select([self.p.stderr], [], [], max(0.0, end - time.time()))
            if not r:
                break
            c = os.read(self.p.stderr.fileno(), 1)
            if not c:
                break
            line += c
        return line.decode(errors="replace")

    def send(self, datagrams, host):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            for d in datagrams:
                s.sendto(d, (host, self.port))

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if sig is not None:
            self.p.send_signal(sig)
        try:
            out, err = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, err = self.p.communicate()
            return -9, out, err
        return self.p.returncode, out, err


def run_fail(*args):
    p = subprocess.run([XTAP_CD] + list(args), capture_output=True, timeout=10)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


# ---- reading the pcap back ----------------------------------------------------

def read_pcap(path_or_bytes):
    b = path_or_bytes if isinstance(path_or_bytes, bytes) else open(path_or_bytes, "rb").read()
    magic, vmaj, vmin, _, _, snap, link = struct.unpack("<IHHiIII", b[:24])
    pkts, off = [], 24
    while off < len(b):
        sec, usec, cap, ln = struct.unpack("<IIII", b[off:off + 16])
        pkts.append((sec + usec / 1e6, ln, b[off + 16:off + 16 + cap]))
        off += 16 + cap
    return (magic, vmaj, vmin, snap, link), pkts


def tcpdump_packets(path):
    p = subprocess.run(["tcpdump", "-r", path, "-nn", "-xx"], capture_output=True, timeout=20)
    pkts = []
    for line in p.stdout.decode(errors="replace").splitlines():
        m = re.match(r"\s+0x[0-9a-f]{4}:\s+(.*)$", line)
        if m:
            pkts[-1] += bytes.fromhex(m.group(1).replace(" ", ""))
        elif line and not line[0].isspace():
            pkts.append(b"")
    return p.returncode, pkts


def tshark_packets(path):
    p = subprocess.run(["tshark", "-r", path, "-x"], capture_output=True, timeout=30)
    pkts, cur = [], None
    for line in p.stdout.decode(errors="replace").splitlines():
        m = re.match(r"([0-9a-f]{4})  ", line)
        if m:
            if m.group(1) == "0000":
                cur = b""
                pkts.append(cur)
            # 16 bytes of hex at most, then the ASCII column
            pkts[-1] += bytes.fromhex(line[6:6 + 48].replace(" ", ""))
    protos = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.protocols"],
                            capture_output=True, timeout=30)
    return p.returncode, pkts, protos.stdout.decode(errors="replace").split()


# ---- expectations ---------------------------------------------------------------

def expected_counts(items, flt=None):
    e = {"received": len(items), "written": [0, 0], "plain": [0, 0], "ids": {},
         "reasons": dict.fromkeys(REASONS, 0), "filtered": 0, "kept": []}
    for d, verdict, ids in items:
        if verdict in REASONS:
            e["reasons"][verdict] += 1
            continue
        if flt is not None and ids != flt:
            e["filtered"] += 1
            continue
        inner = inner_of(d, verdict)
        c = e["plain"] if verdict == "plain" else e["ids"].setdefault(ids, [0, 0])
        c[0] += 1
        c[1] += len(inner)
        e["written"][0] += 1
        e["written"][1] += len(inner)
        e["kept"].append(inner)
    return e


def human_summary(e):
    lines = ["received %d datagrams, wrote %d packets, %d bytes" % (e["received"], *e["written"]),
             "plain: %d packets, %d bytes" % tuple(e["plain"])]
    for (iid, sid) in sorted(e["ids"]):
        lines.append("intercept 0x%08x session 0x%08x: %d packets, %d bytes"
                     % (iid, sid, *e["ids"][(iid, sid)]))
    for r in REASONS:
        lines.append("%s: %d" % (r.replace("_", " "), e["reasons"][r]))
    lines.append("filtered: %d" % e["filtered"])
    lines.append("dropped by kernel: 0")
    return "\n".join(lines) + "\n"


def json_summary(e):
    return {"received": e["received"],
            "written": {"packets": e["written"][0], "bytes": e["written"][1]},
            "plain": {"packets": e["plain"][0], "bytes": e["plain"][1]},
            "intercepts": [{"intercept_id": "0x%08x" % i, "session_id": "0x%08x" % s,
                            "packets": e["ids"][(i, s)][0], "bytes": e["ids"][(i, s)][1]}
                           for (i, s) in sorted(e["ids"])],
            "other_intercepts": {"packets": 0, "bytes": 0},
            "malformed": e["reasons"], "filtered": e["filtered"], "kernel_drops": 0}


def check_pcap(name, path, kept, t0, t1):
    (magic, vmaj, vmin, snap, link), pkts = read_pcap(path)
    check(name + ": pcap header is LINKTYPE_RAW, snaplen 65535",
          (magic, vmaj, vmin, snap, link) == (0xA1B2C3D4, 2, 4, 65535, 101),
          "%#x %d.%d %d %d" % (magic, vmaj, vmin, snap, link))
    check(name + ": pcap holds exactly the %d expected packets, byte for byte" % len(kept),
          [p[2] for p in pkts] == kept and all(p[1] == len(p[2]) for p in pkts),
          "got %d packets" % len(pkts))
    check(name + ": timestamps are arrival times, in order",
          all(t0 - 1 <= p[0] <= t1 + 1 for p in pkts) and
          all(a[0] <= b[0] for a, b in zip(pkts, pkts[1:])))
    rc, tpk = tcpdump_packets(path)
    check(name + ": tcpdump -r reads the same packets", rc == 0 and tpk == kept,
          "rc %d, %d packets" % (rc, len(tpk)))
    if shutil.which("tshark"):
        rc, spk, protos = tshark_packets(path)
        check(name + ": tshark -r reads the same packets", rc == 0 and spk == kept,
              "rc %d, %d packets" % (rc, len(spk)))
        want = ["raw:ip" + ("v6" if k[0] >> 4 == 6 else "") for k in kept]
        check(name + ": tshark decodes each frame as raw IP",
              [p.split(":", 2)[0] + ":" + p.split(":", 2)[1] for p in protos] == want, " ".join(protos))
    else:
        skip(name + ": tshark -r", "tshark not installed")


# ---- the tests --------------------------------------------------------------------

def test_full_set():
    """Every kind of datagram to 127.0.0.1, human summary."""
    pcap = os.path.join(TMP, "full.pcap")
    cd = Cd("-l", "127.0.0.1:0", "-w", pcap)
    check("full: listens on 127.0.0.1 with a kernel-chosen port",
          cd.first.startswith("xtap-cd: listening on 127.0.0.1:") and cd.port > 0)
    cd.send([d for d, _, _ in FULL_SET], "127.0.0.1")
    rc, out, err = cd.stop()
    t1 = time.time()
    e = expected_counts(FULL_SET)
    check("full: exit status 0 after SIGTERM", rc == 0, "rc %d, stderr %r" % (rc, err))
    check("full: human summary exactly as expected", out.decode() == human_summary(e),
          "\n" + out.decode() + "--- want\n" + human_summary(e))
    check("full: nothing else on stderr", err == b"", repr(err))
    everything = (cd.first + out.decode() + err.decode()).lower()
    check("full: no inner address appears in the output",
          not any(a in everything for a in INNER_ADDRS))
    check_pcap("full", pcap, e["kept"], cd.t0, t1)


def test_filter_json_v6():
    """-i on [::1], JSON summary, stopped with SIGINT."""
    pcap = os.path.join(TMP, "filter.pcap")
    items = [
        (jmirror("1234", V6B), "jmirror", (0x1234, 0)),
        (jmirror("99", V4A), "jmirror", (0x99, 0)),
        (V4A, "plain", None),
        (jmirror("123400000005", V4A), "jmirror", (0x1234, 5)),
        (jmirror("0x00001234", V4BIG), "jmirror", (0x1234, 0)),
        (b"\x00", "too_short", None),
        (jmirror("1234", V6B[:-1]), "inner_truncated", None),
    ]
    try:
        cd = Cd("-l", "[::1]:0", "-w", pcap, "-i", "0x1234", "--json")
    except RuntimeError as ex:
        skip("filter: IPv6 listener", str(ex))
        return
    check("filter: listens on [::1]", cd.first.startswith("xtap-cd: listening on [::1]:"))
    cd.send([d for d, _, _ in items], "::1")
    rc, out, err = cd.stop(signal.SIGINT)
    t1 = time.time()
    e = expected_counts(items, flt=(0x1234, 0))
    check("filter: exit status 0 after SIGINT", rc == 0, "rc %d" % rc)
    try:
        got = json.loads(out)
    except ValueError as ex:
        got = None
        check("filter: JSON parses", False, str(ex))
    if got is not None:
        check("filter: JSON counts exactly as expected", got == json_summary(e),
              "\n%s\n--- want\n%s" % (got, json_summary(e)))
        check("filter: other ids, other sessions and plain copies are filtered",
              got["filtered"] == 3 and got["written"]["packets"] == 2)
    check_pcap("filter", pcap, e["kept"], cd.t0, t1)


def test_dual_stack():
    """[::], by default or given, takes IPv4 and IPv6 copies."""
    for listen in ("0", "[::]:0"):
        name = "dual-stack -l %s" % listen
        cd = Cd("-l", listen, "--json")
        ok = cd.first.startswith("xtap-cd: listening on [::]:")
        check(name + ": listens on [::]", ok, cd.first)
        if not ok:
            cd.stop()
            continue
        cd.send([V4A, jmirror("42", V6A)], "127.0.0.1")
        cd.send([V6B], "::1")
        rc, out, _ = cd.stop()
        got = json.loads(out)
        check(name + ": copies over IPv4 and IPv6 both counted",
              rc == 0 and got["received"] == 3 and got["plain"]["packets"] == 2 and
              got["intercepts"] == [{"intercept_id": "0x00000042", "session_id": "0x00000000",
                                     "packets": 1, "bytes": len(V6A)}], str(got))


def test_count_limit():
    """-c 2 stops by itself after writing two packets; -w - writes to stdout."""
    cd = Cd("-l", "127.0.0.1:0", "-c", "2", "-w", "-")
    cd.send([b"\x00", V4A, jmirror("7", V6A), V6B], "127.0.0.1")
    rc, out, err = cd.stop(sig=None, timeout=5)
    check("count: exits 0 by itself after -c 2", rc == 0, "rc %d" % rc)
    hdr, pkts = read_pcap(out)
    check("count: the pcap on stdout holds exactly the first two packets",
          hdr[4] == 101 and [p[2] for p in pkts] == [V4A, V6A],
          "%d packets" % len(pkts))
    check("count: summary on stderr when the pcap owns stdout",
          b"received 3 datagrams, wrote 2 packets, %d bytes\n" % (len(V4A) + len(V6A)) in err
          and b"too short: 1\n" in err, repr(err))


def test_time_limit():
    """-t stops by itself; an idle run still prints a valid, empty summary."""
    t0 = time.time()
    cd = Cd("-l", "127.0.0.1:0", "-t", "0.5", "--json")
    rc, out, _ = cd.stop(sig=None, timeout=5)
    dt = time.time() - t0
    got = json.loads(out)
    check("time: -t 0.5 exits on its own with zero counts",
          rc == 0 and 0.5 <= dt < 3 and got["received"] == 0 and got["intercepts"] == []
          and all(v == 0 for v in got["malformed"].values()), "rc %d after %.2fs" % (rc, dt))


def test_start_errors():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        rc, out, err = run_fail("-l", "127.0.0.1:%d" % port)
    check("errors: busy port is one clear line, exit 1",
          rc == 1 and out == "" and
          err == "xtap-cd: cannot bind 127.0.0.1:%d: Address already in use\n" % port, repr(err))
    rc, out, err = run_fail("-i", "12345678901234567")
    check("errors: 17-digit intercept id refused",
          rc == 2 and err.count("\n") == 1 and "bad intercept id '12345678901234567'" in err, repr(err))
    rc, out, err = run_fail("-l", "::1:30030")
    check("errors: IPv6 address without brackets refused",
          rc == 2 and err.count("\n") == 1 and "bad listen address '::1:30030'" in err, repr(err))
    bad = os.path.join(TMP, "no", "such.pcap")
    rc, out, err = run_fail("-l", "127.0.0.1:0", "-w", bad)
    check("errors: unwritable pcap is one clear line, exit 1",
          rc == 1 and err == "xtap-cd: cannot write %s: No such file or directory\n" % bad, repr(err))
    # The header is buffered, so /dev/full fails only when flushed: at exit,
    # or after a second without traffic, which ends the run well before -t.
    for secs, name in (("0.3", "at exit"), ("20", "when idle")):
        t0 = time.time()
        cd = Cd("-l", "127.0.0.1:0", "-w", "/dev/full", "-t", secs)
        cd.send([V4A], "127.0.0.1")
        rc, out, err = cd.stop(sig=None, timeout=5)
        check("errors: a pcap write failing %s is one line, exit 1, summary printed" % name,
              rc == 1 and time.time() - t0 < 4 and
              err == b"xtap-cd: cannot write /dev/full: No space left on device\n" and
              out.startswith(b"received 1 datagrams, wrote 1 packets"),
              "rc %d %r %r" % (rc, err, out[:60]))
    rc, out, err = run_fail("-c", "0")
    check("errors: -c 0 refused", rc == 2 and err.count("\n") == 1, repr(err))
    # -t takes seconds above 0, at most a year (docs/content-destination.md)
    for bad in ("0", "-1", "", "2s", "nan", "inf", "31536000.5"):
        rc, out, err = run_fail("-t", bad)
        check("errors: -t %r refused" % bad,
              rc == 2 and err.count("\n") == 1 and "bad time '%s'" % bad in err, repr(err))
    rc, out, err = run_fail("-i", "ffffffff", "-t", "0.1", "-l", "127.0.0.1:0")
    check("errors: an id with bits the wire cannot carry is warned about",
          rc == 0 and "keeping intercept id 0x3fffffff session id 0x00000000" in err, repr(err))


def main():
    tests = [test_full_set, test_filter_json_v6, test_dual_stack, test_count_limit,
             test_time_limit, test_start_errors]
    try:
        for t in tests:
            try:
                t()
            except Exception as ex:  # a crashed test is a failure, never a pass
                check(t.__name__, False, "%s: %s" % (type(ex).__name__, ex))
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    return summary("cd-end-to-end")


if __name__ == "__main__":
    sys.exit(main())
