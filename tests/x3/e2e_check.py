#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Checks for tests/x3/test_x3_e2e.sh, from files; prints ok/FAILED lines.
  e2e_check.py basic IN0.pcap IN2.pcap RX.pcap RX.json X3STATS.json CD.json XID T0 T1
  e2e_check.py restart RUN2.seq RUN3.seq X3STATS.json XID BASE"""
import json
import struct
import sys


def check(name, ok, detail=""):
    print(("ok      " if ok else "FAILED  ") + name + ("" if ok or not detail else ": %s" % (detail,)))


def pcap(path):
    b = open(path, "rb").read()
    magic, _, _, _, _, _, link = struct.unpack("<IHHiIII", b[:24])
    div = 1e9 if magic == 0xa1b23c4d else 1e6
    off, out = 24, []
    while off + 16 <= len(b):
        s, f, incl, _ = struct.unpack("<IIII", b[off:off + 16])
        out.append((s + f / div, link, b[off + 16:off + 16 + incl]))
        off += 16 + incl
    return out


def ip_of(link, frame):
    if link == 101:
        return frame
    if link == 1 and frame[12:14] == b"\x08\x00":  # Ethernet, IPv4
        return frame[14:]
    return None


def flow(pkt):
    # (addresses, protocol, ports) of an IPv4 packet, one direction
    ihl = (pkt[0] & 15) * 4
    return (pkt[12:20], pkt[9], pkt[ihl:ihl + 4] if pkt[9] in (6, 17) else b"")


def seqs(path, xid):
    return [int(l.split()[1]) for l in open(path) if l.split() and l.split()[0] == xid]


if sys.argv[1] == "basic":
    in0, in2, rxp, rxj, txj, cdj, xid, t0, t1 = sys.argv[2:]
    t0, t1 = float(t0), float(t1)
    cap = [(t, ip_of(l, f)) for c in (in0, in2) for t, l, f in pcap(c)]
    a = [p for p in (ip_of(l, f) for _, l, f in pcap(in0)) if p]
    b = [p for p in (ip_of(l, f) for _, l, f in pcap(in2)) if p]
    got = pcap(rxp)
    pkts = [f for _, _, f in got]
    rx, tx, cd = json.load(open(rxj)), json.load(open(txj)), json.load(open(cdj))
    n = len(a) + len(b)
    print("captured at ingress: %d from the client, %d to it; %d PDUs" % (len(a), len(b), len(pkts)))
    check("every packet captured at the sensor's ingress is one PDU, byte for byte (%d)" % n,
          n > 500 and sorted(pkts) == sorted(a + b), (n, len(pkts)))
    x = rx["xids"][0] if rx["xids"] else {}
    check("sequence numbers 0..N-1 with no gap, for the configured XID",
          len(rx["xids"]) == 1 and x["xid"] == xid and x["ranges"] == [[0, n - 1]] and
          rx["gaps"] == 0 and rx["duplicates"] == 0, rx["xids"])
    check("the sensor framed exactly N PDUs, all confirmed, nothing lost",
          tx["pdus"] == n and tx["confirmed"] == n and tx["lost"] == {"buffer_full": 0,
          "unconfirmed_at_exit": 0} and tx["not_framed"] == {"kernel_drops": 0, "not_ip": 0}, tx)
    ts = [t for t, _, _ in got]
    # in the window; the order is checked per flow below (the wording): copies of
    # the two interfaces are stamped at vt1 on whichever CPU took them, so across flows the
    # stream can go back by microseconds (seen once under make test's load)
    check("timestamps within the capture window",
          all(t0 <= t <= t1 + 1 for t in ts), (t0, ts[:1], ts[-1:], t1))
    # each PDU's timestamp against tcpdump's at the sensor's ingress (the
    # skb's receive stamp there, nanoseconds) of the same bytes, in order:
    # the copy is stamped when vt1 takes it (docs/x3.md "Timestamps"), in
    # the same softirq as the clone, so after the ingress stamp and close
    # to it; the bound is generous for a loaded machine, the figures print
    at = {}
    for t, p in cap:
        if p:
            at.setdefault(p, []).append(t)
    delay = [t - at[p].pop(0) for t, _, p in got if at.get(p)]
    delay.sort()
    if delay:
        print("PDU timestamp after the ingress capture: min %.1f us, median %.1f us, 99%% %.1f us, max %.1f us"
              % (delay[0] * 1e6, delay[len(delay) // 2] * 1e6, delay[len(delay) * 99 // 100] * 1e6,
                 delay[-1] * 1e6))
    check("each PDU's timestamp is at or after its packet's ingress capture, within 50 ms (%d)" % len(delay),
          len(delay) == n and delay[0] >= 0 and delay[-1] <= 0.05, delay[:1] + delay[-1:])
    last = {}
    back = 0
    for t, _, p in got:
        k = flow(p)
        back += k in last and t < last[k]
        last[k] = t
    check("timestamps monotonic per flow (%d flows)" % len(last), back == 0 and len(last) >= 2, back)
    check("directions: from the target = client's packets (%d), to it = the server's (%d)" % (len(a), len(b)),
          rx["direction"]["from_target"] == len(a) and rx["direction"]["to_target"] == len(b) and
          rx["direction"]["unknown"] == 0, rx["direction"])
    ids = {(i["intercept_id"], i["session_id"]): i["packets"] for i in cd["intercepts"]}
    check("the same criteria's JMirror destination got the same N copies, intercept 0x1234",
          cd["received"] == n and ids == {("0x00001234", "0x00000000"): n}, (cd["received"], ids))
else:
    r2, r3, txj, xid, base = sys.argv[2:]
    base = int(base)
    tx = json.load(open(txj))
    end = tx["next_sequence"]
    got = set(seqs(r2, xid)) | set(seqs(r3, xid))
    want = set(range(base, end))
    missing = len(want - got)
    lost = tx["lost"]["buffer_full"] + tx["lost"]["unconfirmed_at_exit"]
    print("sequence %d..%d: %d at the receivers, %d missing, sensor lost %s" %
          (base, end - 1, len(got & want), missing, tx["lost"]))
    check("restart: the receivers got nothing outside the sequence", got <= want, sorted(got - want)[:5])
    check("restart: the bounded buffer overflowed while the receiver was away, counted",
          tx["lost"]["buffer_full"] > 0, tx["lost"])
    check("restart: PDUs missing at the receivers (%d) == the sensor's drop counters (%d)" % (missing, lost),
          missing == lost and tx["not_framed"]["kernel_drops"] == 0, tx)
