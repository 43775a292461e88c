# SPDX-License-Identifier: BSD-2-Clause
"""The reference model of the crash harness (docs/fault-harness.md): what a
sensor must hold, written from docs/dtcp.md alone, never from xtapd's or the
DTCP library's code.

Per control source: id -> criterion (the headers its ADD sent, the rules the
datapath must carry for it, its lifetime). Ids seen once are never handed
out again. A control source's requests form one ordered stream; after a
crash, what survives of the unanswered tail must be one of its prefixes
(requests are applied and made durable in order), and everything answered
must be there.
"""
import copy
import ipaddress

# LIST shows these besides the fields an ADD gave (dtcp.md 4.4)
LIST_EXTRA = {"PRIORITY"}


def prefixes(text, v6):
    """An address field (dtcp.md 2.1) as the set of prefixes it stands for,
    without the ones another covers (a packet matches one rule at most)."""
    if text.strip() == "*":
        return [None]
    nets = []
    for item in text.split(","):
        item = item.strip()
        if "-" in item and "/" not in item:
            lo, hi = item.split("-")
            nets += list(ipaddress.summarize_address_range(ipaddress.ip_address(lo), ipaddress.ip_address(hi)))
        else:
            nets.append(ipaddress.ip_network(item, strict=True))
    keep = []
    for i, n in enumerate(nets):
        covered = any(j != i and m.version == n.version and n.subnet_of(m) and (m.prefixlen < n.prefixlen or j < i)
                      for j, m in enumerate(nets))
        if not covered:
            keep.append(n)
    return keep


def _any(v6):
    return ipaddress.ip_network("::/0" if v6 else "0.0.0.0/0")


def expected_rules(h):
    """The datapath rules of an ADD with headers h: one per (source,
    destination) prefix pair; X-IP-Addr (source or destination) one per
    address and side. As (family, src network, dst network, number of cdests)."""
    v6 = is_v6(h)
    fam = 6 if v6 else 4
    ncd = len(h["Cdest-ID"].split(","))
    out = []
    if "X-IP-Addr" in h:
        for p in prefixes(h["X-IP-Addr"], v6):
            out.append((fam, p, _any(v6), ncd))
            out.append((fam, _any(v6), p, ncd))
        return sorted(out, key=str)
    srcs = [p or _any(v6) for p in prefixes(h.get("Source-Address", "*"), v6)]
    dsts = [p or _any(v6) for p in prefixes(h.get("Dest-Address", "*"), v6)]
    for s in srcs:
        for d in dsts:
            out.append((fam, s, d, ncd))
    return sorted(out, key=str)


def is_v6(h):
    for k in ("X-IP-Addr", "Source-Address", "Dest-Address"):
        if k in h and ":" in h[k]:
            return True
    return h.get("X-JTap-IP-Version", "ipv4").lower() == "ipv6"


class Crit:
    def __init__(self, cid, owner, headers, t_sent):
        self.id = cid
        self.owner = owner
        self.h = dict(headers)
        self.rules = expected_rules(headers)
        self.cdests = [c.strip() for c in headers["Cdest-ID"].split(",")]
        self.static = not any(k.startswith("Timeout-") for k in headers) or headers.get("Flags", "").upper() == "STATIC"
        # an expiring criterion (a short Timeout-Total) may be gone from this
        # time on: when its ADD (or REFRESH) was sent plus its total
        self.expires_from = None
        if not self.static and "Timeout-Total" in headers and int(headers["Timeout-Total"]) < 60:
            self.expires_from = t_sent + int(headers["Timeout-Total"]) - 0.5
        # packet and byte limits small enough to be reached by the traffic
        # samples: gone any time after traffic was sent
        self.traffic_limited = not self.static and (int(headers.get("Timeout-Packets", "0") or 0) in range(1, 1000) or
                                                    int(headers.get("Timeout-Bytes", "0") or 0) in range(1, 100000))
        self.refreshes = 0
        self.packets_floor = 0

    def may_be_gone(self, now, traffic_after):
        if self.expires_from is not None and now >= self.expires_from:
            return True
        return self.traffic_limited and traffic_after is not None and traffic_after >= self.added_t

    def given(self):
        """The fields LIST must show as given (dtcp.md 4.4: as the ADD wrote them)."""
        return {k.upper(): v for k, v in self.h.items() if k not in ("Cdest-ID", "Flags", "Csource-ID", "Seq")}


class Source:
    """One control source's criteria, as an ordered application of requests."""

    def __init__(self, name):
        self.name = name
        self.crits = {}  # id (int, or ("new", k) for an unanswered ADD) -> Crit

    def clone(self):
        return copy.deepcopy(self)


def select(src, sel, now, traffic_t):
    """The criteria a DELETE/REFRESH/LIST selector picks in src: (sure, maybe)
    id sets, maybe being those that may have expired meanwhile, or None with
    the unknown id (431) for a single id or list naming a missing one."""
    kind, val = sel
    if kind == "all":
        pick = list(src.crits)
    elif kind == "cdest":
        pick = [i for i, c in src.crits.items() if val in c.cdests]
    else:  # ids: a list of single ids
        for i in val:
            c = src.crits.get(i)
            if c is None:
                return None, i
        pick = list(val)
    sure = {i for i in pick if not src.crits[i].may_be_gone(now, traffic_t)}
    maybe = set(pick) - sure
    return (sure, maybe), None


def apply(src, req, t, traffic_t, new_key=None):
    """Apply req to src (in place); what the reply must be: (code, count
    range) for DELETE/REFRESH, (200, None) otherwise."""
    m = req.method
    if m == "ADD":
        key = new_key if new_key is not None else req.reply_id
        c = Crit(key, src.name, req.headers, t)
        c.added_t = t
        src.crits[key] = c
        return 200, None
    if m in ("DELETE", "REFRESH"):
        picked, missing = select(src, req.sel, t, traffic_t)
        if picked is None:
            return 431, None
        sure, maybe = picked
        if m == "DELETE":
            for i in sure | maybe:
                src.crits.pop(i, None)
            return 200, (len(sure), len(sure) + len(maybe))
        for i in sure | maybe:
            c = src.crits[i]
            if not c.static:
                c.refreshes += 1
                for k, v in req.headers.items():
                    if k.startswith("Timeout-"):
                        c.h[k] = v
        return 200, (len(sure), len(sure) + len(maybe))
    return 200, None
