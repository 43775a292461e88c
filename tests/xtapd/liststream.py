#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""A LIST streamed with flow control (docs/dtcp-library.md "LIST",
docs/privsep.md DTCP_CREDIT), against the real xtapd: run by
test_liststream.sh in the sensor's namespace, xtapd started there with a
small LIST window (-w) so that the LIST exceeds it hundreds of times.

usage: liststream.py --pid MONITOR_PID --log XTAPD_LOG --n N --window BYTES
Prints "ok ..." / "FAILED ..." lines, then "ADDID <id>" (the ADD answered
behind the LIST, for the shell's kill -9 check: this script kills xtapd
right after that reply). Exit 0 when every check passed.
"""
import argparse
import os
import re
import signal
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "crash"))
import logging  # noqa: E402
logging.getLogger("paramiko").setLevel(logging.CRITICAL)
import md  # noqa: E402  (paramiko mediation device, HMAC signing of requests)
from harness import verify_reply  # noqa: E402  (the reply HMAC, dtcp.md 3.1)

SOURCES = {"ftap": ("ftap-demo", "Juniper"), "ftap2": ("ftap-demo", "Other")}
BLOCK = re.compile(r"CRITERIA-ID: (\d+)\r\nCRITERIA-NUM: (\d+)\r\nCRITERIA-COUNT: (\d+)\r\n")
passed = failed = 0


def check(name, ok):
    global passed, failed
    if ok:
        passed += 1
        print("ok      " + name, flush=True)
    else:
        failed += 1
        print("FAILED  " + name, flush=True)


class Conn:
    def __init__(self, user):
        self.user = user
        self.pw, self.key = SOURCES[user]
        self.t, self.ch = md.connect("127.0.0.1", 32001, user, self.pw)
        self.ch.settimeout(30)
        self.buf = b""
        self.badsig = 0

    def send(self, texts):
        self.ch.sendall(b"".join(md.sign(t, self.key) for t in texts))

    def reply(self):
        """The next reply (one part of a LIST), its signature checked."""
        while b"\r\n\r\n" not in self.buf:
            d = self.ch.recv(1 << 20)
            if not d:
                raise EOFError("session closed")
            self.buf += d
        one, self.buf = self.buf.split(b"\r\n\r\n", 1)
        text = one.decode() + "\r\n"
        if not verify_reply(text, self.key):
            self.badsig += 1
        return text

    def close(self):
        self.t.close()


def add_msg(user, i, seq=1):
    return ("ADD DTCP/0.8\nCsource-ID: %s\nCdest-ID: cd1\nDest-Address: 10.%d.%d.%d\n"
            "X-JTap-Cdest-Dest-Address: 203.0.113.10\nX-JTap-Cdest-Dest-Port: 7890\nFlags: STATIC\nSeq: %d\n"
            % (user, (i >> 16) & 255, (i >> 8) & 255, i & 255, seq))


def code(text):
    m = re.match(r"DTCP/\d\.\d (\d+)", text)
    return int(m.group(1)) if m else 0


def pipelined(c, msgs, window=2000):
    """Sends msgs with at most window unanswered; returns the replies."""
    out, sent = [], 0
    while len(out) < len(msgs):
        if sent < len(msgs) and sent - len(out) < window:
            k = min(len(msgs), sent + 500)
            c.send(msgs[sent:k])
            sent = k
            continue
        out.append(c.reply())
    return out


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def worker_pid(monitor):
    """The monitor's child exec'd with --ssh-worker (its comm is "exe")."""
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if int(st.rsplit(")", 1)[1].split()[1]) == monitor and b"--ssh-worker" in cmd:
            return int(p)
    return 0


def timed(c, text):
    t0 = time.time()
    c.send([text])
    r = c.reply()
    return time.time() - t0, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--window", type=int, default=0)
    ap.add_argument("--after", type=int, default=0,
                    help="after the restart: a LIST has N criteria, the ADD's id among them")
    ap.add_argument("--addid", type=int, default=0)
    a = ap.parse_args()
    if a.after:
        return after(a)
    n, mon = a.n, a.pid
    wpid = worker_pid(mon)
    check("the SSH worker found (pid %d)" % wpid, wpid > 0)
    if not wpid:
        print("%d passed, %d failed" % (passed, failed))
        return 1

    A = Conn("ftap")
    t0 = time.time()
    replies = pipelined(A, [add_msg("ftap", i) for i in range(n)])
    ids = [int(r.split("CRITERIA-ID:")[1].split()[0]) for r in replies if code(r) == 200]
    check("%d ADDs pipelined, all 200 and signed (%.1f s)" % (n, time.time() - t0),
          len(ids) == n and A.badsig == 0)
    time.sleep(1.5)  # the periodic save and the worker's queues settle
    rss0, wrss0 = rss_kb(mon), rss_kb(wpid)

    # the LIST, then a NOOP and an ADD behind it in the same session; then
    # the client reads nothing for a while
    A.send(["LIST DTCP/0.8\nCsource-ID: ftap\nFlags: BOTH\nSeq: 7001\n",
            "NOOP DTCP/0.8\nCsource-ID: ftap\nSeq: 7002\n",
            add_msg("ftap", n + 1, 7003)])
    time.sleep(1)

    # another control source, while the first client reads nothing
    B = Conn("ftap2")
    lat = []
    for i in range(10):
        dt, r = timed(B, "NOOP DTCP/0.8\nCsource-ID: ftap2\nSeq: %d\n" % (i + 1))
        lat.append((dt, code(r)))
    dt, r = timed(B, add_msg("ftap2", 1, 11))
    lat.append((dt, code(r)))
    check("another source's 10 NOOPs and an ADD answered 200 while the LIST's client reads nothing "
          "(slowest %.3f s)" % max(x[0] for x in lat),
          all(x[1] == 200 for x in lat) and max(x[0] for x in lat) < 2 and B.badsig == 0)

    # the same source, another session: criteria of the LIST's set deleted
    # before their blocks are made (the last 100 and 100 in the middle)
    C = Conn("ftap")
    gone = ids[-100:] + ids[n // 2:n // 2 + 100]
    dr = pipelined(C, ["DELETE DTCP/0.8\nCsource-ID: ftap\nCriteria-ID: %d\nFlags: STATIC\nSeq: 1\n" % i
                       for i in gone])
    check("200 criteria of the LIST's set deleted by another session meanwhile, all 200",
          all(code(r) == 200 for r in dr) and len(dr) == 200)

    time.sleep(3)
    rss1, wrss1 = rss_kb(mon), rss_kb(wpid)
    # the window, a reply, the NOOP/ADD held behind the LIST and the
    # allocator's slack: far below the LIST's own size (100k criteria with
    # their stats are about 45 MiB of replies, all queued before)
    check("monitor RSS while the client does not read: %d -> %d KiB (grew < 16 MiB)" % (rss0, rss1),
          rss1 - rss0 < 16 * 1024)
    check("worker RSS while the client does not read: %d -> %d KiB (grew < 16 MiB)" % (wrss0, wrss1),
          wrss1 - wrss0 < 16 * 1024)

    # now the client reads, while the other source keeps asking
    stop = threading.Event()
    blat = []

    def other():
        k = 100
        while not stop.is_set():
            k += 1
            try:
                dt, r = timed(B, "NOOP DTCP/0.8\nCsource-ID: ftap2\nSeq: %d\n" % k)
            except Exception:
                blat.append((99.0, 0))
                return
            blat.append((dt, code(r)))
            time.sleep(0.05)

    th = threading.Thread(target=other)
    th.start()
    t0 = time.time()
    blocks, parts, codes, seqs = [], 0, set(), set()
    while True:
        r = A.reply()
        parts += 1
        codes.add(code(r))
        m = re.search(r"\r\nSEQ: (\d+)\r\n", r)
        seqs.add(m.group(1) if m else None)
        got = BLOCK.findall(r)
        blocks.extend(got)
        if code(r) != 200 or not got or got[-1][1] == got[-1][2]:
            break
    tlist = time.time() - t0
    stop.set()
    th.join()
    nums = [int(b[1]) for b in blocks]
    counts = set(int(b[2]) for b in blocks)
    lids = [int(b[0]) for b in blocks]
    check("LIST: %d parts, every one 200, SEQ 7001, signed (%.1f s)" % (parts, tlist),
          codes == {200} and seqs == {"7001"} and A.badsig == 0)
    check("LIST: far more than the window (%d bytes) in all: %d parts" % (a.window, parts),
          parts * 32768 > 50 * a.window)
    check("LIST: CRITERIA-NUM runs 1..%d and CRITERIA-COUNT is %d in every block" % (n, n),
          nums == list(range(1, n + 1)) and counts == {n})
    check("LIST: the set of its start, in id order, the 200 deleted meanwhile included",
          lids == sorted(ids))
    check("another source answered throughout the LIST (%d NOOPs, slowest %.3f s)" %
          (len(blat), max([x[0] for x in blat] or [0])),
          len(blat) > 0 and all(x[1] == 200 for x in blat) and max(x[0] for x in blat) < 2)

    r1 = A.reply()
    r2 = A.reply()
    addid = int(r2.split("CRITERIA-ID:")[1].split()[0]) if "CRITERIA-ID:" in r2 else 0
    # kill -9 at once: the ADD's reply left after its sync (the shell
    # restarts xtapd and looks for it)
    os.kill(mon, signal.SIGKILL)
    check("the NOOP and the ADD behind the LIST answered after it, in order (SEQ 7002, 7003)",
          code(r1) == 200 and "SEQ: 7002\r\n" in r1 and code(r2) == 200 and "SEQ: 7003\r\n" in r2 and
          addid > max(ids) and A.badsig == 0)
    with open(a.log) as f:
        logtext = f.read()
    check("the worker never killed: no 'queue is full', no restart in xtapd's log",
          "queue is full" not in logtext and "(a restart)" not in logtext and
          "killed, to be restarted" not in logtext)
    print("ADDID %d" % addid)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


def after(a):
    """After xtapd's restart: the ADD answered right before the kill -9 is
    there, the 200 deleted are not (a LIST of the default window)."""
    c = Conn("ftap")
    c.send(["LIST DTCP/0.8\nCsource-ID: ftap\nFlags: CRITERIA\nSeq: 1\n"])
    blocks = []
    while True:
        r = c.reply()
        got = BLOCK.findall(r)
        blocks.extend(got)
        if code(r) != 200 or not got or got[-1][1] == got[-1][2]:
            break
    lids = [int(b[0]) for b in blocks]
    check("after kill -9 and a restart: the ADD answered behind the LIST (id %d) is there, "
          "%d criteria (the 200 deleted gone)" % (a.addid, a.after),
          a.addid in lids and len(lids) == a.after and
          [int(b[1]) for b in blocks] == list(range(1, a.after + 1)) and c.badsig == 0)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
