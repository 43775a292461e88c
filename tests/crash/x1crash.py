#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The crash harness for X1 (issue 17: "a crash of xtapd after an answered
ActivateTask keeps the task"; docs/fault-harness.md "X1").

Run by tests/crash/x1crash.sh inside the sensor's namespace of a lab it
made. An ADMF (HTTPS with mutual TLS, python3's ssl as tests/x1/admf.py)
sends containers of CreateDestination, ModifyDestination,
RemoveDestination, ActivateTask, ModifyTask, DeactivateTask and now and
then a GetAllDetails between them; xtapd is killed (kill -9 of the monitor
at a random moment, a crash point of build/xtapd-fault, or an I/O fault
that must be answered with the message's Generic*Failure and undone),
restarted (adopting the datapath, or after a reboot as the datapath sees
it), and checked against a reference model written from docs/x1.md and
TS 103 221-1 alone:

- every answered change is present, every answered error or Generic*Failure
  changed nothing; the unanswered container is one of its prefixes (the
  messages apply in order: none, the first, ...), so each unanswered
  message is wholly present or wholly absent;
- GetAllDetails lists exactly the model's tasks (targets and DIDs as given)
  and destinations (address and port);
- xtapctl --reveal --json shows exactly one criterion per target of each
  task, owned by X1/<admf>, with the task's XID and its DIDs as cdests,
  2 rules each (an address is source or destination: docs/x1.md "Mapping");
- the rules map itself (xtap_rules, bpf(2)) holds exactly those rules;
- nothing deactivated or removed returns.

usage: x1crash.py --lab FILE [--iterations N] [--seed S] [--mode MODE] [--fill]
  MODE: kill, points, faults, mixed (default). --fill: the disk-full check
  (a tmpfs filled, then emptied) before the iterations.
Ends with "N passed, N failed, N skipped".
"""
import argparse
import http.client
import ipaddress
import os
import random
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bpfmap  # noqa: E402
from harness import SLOTS, Divergence, Xtapd  # noqa: E402

ADMF = "admf-a"
NE = "ne-xtap-1"
PORT = 18443
NS = 'xmlns="http://uri.etsi.org/03221/X1/2017/10" xmlns:c="http://uri.etsi.org/03280/common/2017/07" ' \
     'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
CHANGES = ("ActivateTask", "ModifyTask", "DeactivateTask", "CreateDestination", "ModifyDestination",
           "RemoveDestination")
# TS 103 221-1 table 6.7-1, as docs/x1.md names them
GENERIC = {"ActivateTask": 3000, "ModifyTask": 3001, "DeactivateTask": 4000, "CreateDestination": 6000,
           "ModifyDestination": 6001, "RemoveDestination": 7000}
XIDS = ["a1000000-0000-4000-8000-%012x" % i for i in range(1, 9)]
DIDS = ["d1000000-0000-4000-8000-%012x" % i for i in range(1, 5)]


def log(*a):
    print(*a, flush=True)


def v6_full(a):
    return ipaddress.IPv6Address(a).exploded


# ---- the reference model (docs/x1.md "Messages and elements") -----------------------

class Model:
    def __init__(self):
        self.dests = {}  # did -> (address, port)
        self.tasks = {}  # xid -> (targets as given, dids)

    def clone(self):
        m = Model()
        m.dests = dict(self.dests)
        m.tasks = dict(self.tasks)
        return m

    def apply(self, msg):
        """The code the message is answered with (0: OK), the model changed
        when 0."""
        kind = msg[0]
        if kind == "CreateDestination":
            _, did, addr, port = msg
            if did in self.dests:
                return 2030  # DIDAlreadyExists
            self.dests[did] = (addr, port)
        elif kind == "ModifyDestination":
            _, did, addr, port = msg
            if did not in self.dests:
                return 2040  # DIDDoesNotExist
            self.dests[did] = (addr, port)
        elif kind == "RemoveDestination":
            did = msg[1]
            if did not in self.dests:
                return 2040
            if any(did in t[1] for t in self.tasks.values()):
                return 7010  # DestinationInUse
            del self.dests[did]
        elif kind in ("ActivateTask", "ModifyTask"):
            _, xid, targets, dids = msg
            if kind == "ActivateTask" and xid in self.tasks:
                return 2010  # XIDAlreadyExists
            if kind == "ModifyTask" and xid not in self.tasks:
                return 2020  # XIDDoesNotExist
            if any(d not in self.dests for d in dids):
                return 2040
            self.tasks[xid] = (tuple(targets), tuple(dids))
        elif kind == "DeactivateTask":
            if msg[1] not in self.tasks:
                return 2020
            del self.tasks[msg[1]]
        return 0

    def key(self):
        return (sorted(self.dests.items()), sorted(self.tasks.items()))

    def rules(self):
        """Each address target: a criterion of 2 rules, the address as source
        or as destination, one cdest per DID of the task."""
        out = []
        for targets, dids in self.tasks.values():
            for t in targets:
                v6 = ":" in t
                fam = 6 if v6 else 4
                p = ipaddress.ip_network(t)
                anyn = ipaddress.ip_network("::/0" if v6 else "0.0.0.0/0")
                out += [(fam, p, anyn, len(dids)), (fam, anyn, p, len(dids))]
        return sorted(map(str, out))


# ---- messages ----------------------------------------------------------------------

def envelope(txid):
    return ("<admfIdentifier>%s</admfIdentifier><neIdentifier>%s</neIdentifier>"
            "<messageTimestamp>2026-01-01T00:00:00.000000Z</messageTimestamp><version>v1.6.1</version>"
            "<x1TransactionId>00000000-0000-4000-8000-%012x</x1TransactionId>" % (ADMF, NE, txid))


def dest_xml(did, addr, port):
    return ("<destinationDetails><dId>%s</dId><deliveryType>X3Only</deliveryType><deliveryAddress>"
            "<ipAddressAndPort><c:address><c:IPv4Address>%s</c:IPv4Address></c:address><c:port>"
            "<c:UDPPort>%d</c:UDPPort></c:port></ipAddressAndPort></deliveryAddress></destinationDetails>" %
            (did, addr, port))


def task_xml(xid, targets, dids):
    tg = "".join("<targetIdentifier><%s>%s</%s></targetIdentifier>" %
                 (("ipv6Address", t, "ipv6Address") if ":" in t else ("ipv4Address", t, "ipv4Address"))
                 for t in targets)
    return ("<taskDetails><xId>%s</xId><targetIdentifiers>%s</targetIdentifiers><deliveryType>X3Only"
            "</deliveryType><listOfDIDs>%s</listOfDIDs></taskDetails>" %
            (xid, tg, "".join("<dId>%s</dId>" % d for d in dids)))


def message_xml(msg, txid):
    kind = msg[0]
    if kind in ("CreateDestination", "ModifyDestination"):
        inner = dest_xml(*msg[1:])
    elif kind == "RemoveDestination":
        inner = "<dId>%s</dId>" % msg[1]
    elif kind in ("ActivateTask", "ModifyTask"):
        inner = task_xml(*msg[1:])
    elif kind == "DeactivateTask":
        inner = "<xId>%s</xId>" % msg[1]
    else:
        inner = ""
    return '<x1RequestMessage xsi:type="%sRequest">%s%s</x1RequestMessage>' % (kind, envelope(txid), inner)


def container_xml(msgs, txid0):
    return ('<X1Request %s>%s</X1Request>' %
            (NS, "".join(message_xml(m, txid0 + i) for i, m in enumerate(msgs)))).encode()


def local(tag):
    return tag.rsplit("}", 1)[-1]


def answers(body):
    """Each response message: (type, errorCode or 0, element)."""
    root = ET.fromstring(body)
    out = []
    for m in root:
        t = next((v for k, v in m.attrib.items() if local(k) == "type"), "")
        code = 0
        if t == "ErrorResponse":
            code = int(next(e.text for e in m.iter() if local(e.tag) == "errorCode"))
        out.append((t, code, m))
    return out


def details(elem):
    """GetAllDetails: tasks {xid: (targets, dids)}, destinations {did: (addr, port)}."""
    tasks, dests = {}, {}
    for td in (e for e in elem.iter() if local(e.tag) == "taskDetails"):
        xid = next(e.text for e in td if local(e.tag) == "xId")
        targets, dids = [], []
        for e in td.iter():
            if local(e.tag) in ("ipv4Address", "ipv6Address"):
                targets.append(e.text)
            elif local(e.tag) == "dId":
                dids.append(e.text)
        tasks[xid] = (tuple(targets), tuple(dids))
    for dd in (e for e in elem.iter() if local(e.tag) == "destinationDetails"):
        did = next(e.text for e in dd if local(e.tag) == "dId")
        addr = next(e.text for e in dd.iter() if local(e.tag) == "IPv4Address")
        port = int(next(e.text for e in dd.iter() if local(e.tag) in ("UDPPort", "TCPPort")))
        dests[did] = (addr, port)
    return tasks, dests


# ---- the workload ------------------------------------------------------------------

def gen_target(rnd):
    if rnd.random() < 0.7:
        return "10.77.%d.%d" % (rnd.randint(0, 3), rnd.randint(1, 254))
    return v6_full("2001:db8:77::%x" % rnd.randint(1, 0xffff))


def gen_message(rnd, shadow):
    """A message that mostly does something (from the shadow model), now and
    then one that is refused (an unknown or taken id)."""
    r = rnd.random()
    dids = list(shadow.dests)
    if r < 0.18 or not dids:
        did = rnd.choice(DIDS)
        return ("CreateDestination", did, "203.0.113.%d" % rnd.randint(10, 20), rnd.randint(7000, 7999))
    if r < 0.25:
        return ("ModifyDestination", rnd.choice(DIDS), "203.0.113.%d" % rnd.randint(10, 20), rnd.randint(7000, 7999))
    if r < 0.32:
        return ("RemoveDestination", rnd.choice(DIDS))
    if r < 0.62:
        free = [x for x in XIDS if x not in shadow.tasks] or XIDS
        targets = [gen_target(rnd) for _ in range(rnd.randint(1, 3))]
        return ("ActivateTask", rnd.choice(free), targets, rnd.sample(dids, rnd.randint(1, min(2, len(dids)))))
    if r < 0.75 and shadow.tasks:
        targets = [gen_target(rnd) for _ in range(rnd.randint(1, 3))]
        return ("ModifyTask", rnd.choice(list(shadow.tasks)), targets,
                rnd.sample(dids, rnd.randint(1, min(2, len(dids)))))
    if r < 0.93:
        return ("DeactivateTask", rnd.choice(list(shadow.tasks) or XIDS))
    return ("GetAllDetails",)


def gen_container(rnd, model):
    shadow = model.clone()
    msgs = []
    for _ in range(rnd.randint(1, 5)):
        m = gen_message(rnd, shadow)
        shadow.apply(m)
        msgs.append(m)
    return msgs


# ---- the ADMF ----------------------------------------------------------------------

class Admf:
    def __init__(self, lab):
        T = lab["T"]
        self.ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=os.path.join(T, "ca.pem"))
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_cert_chain(os.path.join(T, "admf-a.pem"), os.path.join(T, "admf-a.key"))
        self.txid = 1

    def post(self, body, timeout=20):
        """The response body, or None when the connection died first."""
        try:
            c = http.client.HTTPSConnection("127.0.0.1", PORT, context=self.ctx, timeout=timeout)
            c.request("POST", "/X1/NE", body=body, headers={"Content-Type": "application/xml"})
            r = c.getresponse()
            data = r.read()
            c.close()
            return data if r.status == 200 else None
        except (OSError, http.client.HTTPException, ssl.SSLError):
            return None

    def send(self, msgs, timeout=20):
        body = container_xml(msgs, self.txid)
        self.txid += len(msgs)
        data = self.post(body, timeout)
        if data is None:
            return None
        a = answers(data)
        if len(a) != len(msgs):
            raise Divergence("%d responses to %d messages" % (len(a), len(msgs)))
        return a

    def await_listening(self, timeout=60, up=True):
        """The X1 worker listening (up) or gone (asked of the kernel: a
        connection would be a refused handshake in the log)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if listening() == up:
                return
            time.sleep(0.05)
        raise Divergence("the X1 port is %s after %d s" % ("not listening" if up else "still held", timeout))


def listening():
    r = subprocess.run(["ss", "-Htln", "sport = :%d" % PORT], capture_output=True, text=True)
    return bool(r.stdout.strip())


# ---- the run -----------------------------------------------------------------------

class Run:
    def __init__(self, lab, seed, mode):
        self.lab = lab
        self.rnd = random.Random(seed)
        self.mode = mode
        self.x = Xtapd(lab)
        self.admf = Admf(lab)
        self.model = Model()
        self.fault_binary = os.path.join(lab["B"], "xtapd-fault")
        self.points = []
        if os.access(self.fault_binary, os.X_OK):
            out = subprocess.run([self.fault_binary, "--crash-points"], capture_output=True, text=True).stdout
            self.points = out.split()
        self.stats = dict.fromkeys(("kill", "point-crash", "point-missed", "fault", "generic", "recovered",
                                    "reboot", "answered-changes", "unanswered", "unanswered-present",
                                    "unanswered-absent", "start-crash"), 0)

    def start(self, env=None, binary=None):
        if not self.x.start(env, binary):
            return False
        self.admf.await_listening()
        return True

    def stop9(self):
        if self.x.alive():
            self.x.kill9("monitor")
        self.x.wait_gone()
        # the X1 worker dies with its monitor (its parent-death signal)
        self.admf.await_listening(10, up=False)

    def judge(self, msgs, got, faulty):
        """Answered: each answer against the model."""
        for m, (t, code) in zip(msgs, ((a[0], a[1]) for a in got)):
            if m[0] == "GetAllDetails":
                if code:
                    raise Divergence("GetAllDetails answered %d" % code)
                continue
            trial = self.model.clone()
            want = trial.apply(m)
            if code == want:
                if not code:
                    self.model = trial
                    self.stats["answered-changes"] += 1
            elif faulty and code == GENERIC[m[0]]:
                self.stats["generic"] += 1
            else:
                raise Divergence("%s answered %d, the model says %d" % (m[0], code, want))

    def observe(self):
        got = self.admf.send([("GetAllDetails",)])
        if not got or got[0][1]:
            raise Divergence("GetAllDetails not answered after the restart")
        tasks, dests = details(got[0][2])
        return tasks, dests

    def check(self, pending):
        tasks, dests = self.observe()
        if pending is not None:
            # the unanswered container: one of its prefixes, each message
            # whole or not at all
            cands, m = [self.model.clone()], self.model.clone()
            for msg in pending:
                if msg[0] != "GetAllDetails":
                    m = m.clone()
                    m.apply(msg)
                cands.append(m)
            for k, c in enumerate(cands):
                if c.tasks == tasks and c.dests == dests:
                    self.stats["unanswered"] += 1
                    changed = c.key() != self.model.key()
                    self.stats["unanswered-present" if changed else "unanswered-absent"] += 1
                    self.model = c
                    break
            else:
                raise Divergence("after the restart the state is no prefix of the unanswered container %s:\n"
                                 "  tasks %s\n  dests %s\n  model before %s" %
                                 ([x[0] for x in pending], sorted(tasks.items()), sorted(dests.items()),
                                  self.model.key()))
        if tasks != self.model.tasks or dests != self.model.dests:
            raise Divergence("GetAllDetails differs from the model:\n  tasks %s\n  want  %s\n  dests %s\n  want  %s" %
                             (sorted(tasks.items()), sorted(self.model.tasks.items()), sorted(dests.items()),
                              sorted(self.model.dests.items())))
        f = self.x.ctl("--reveal", "show", "filter")
        per = {}
        for t in f["terms"]:
            if t["csource"] != "X1/" + ADMF:
                raise Divergence("a term of %s" % t["csource"])
            xid = (t.get("match") or {}).get("X1-XID")
            if t["rules"] != 2 or sorted(t["cdests"]) != sorted(self.model.tasks.get(xid, ((), ()))[1]):
                raise Divergence("term %s of %s: %d rules, cdests %s" % (t["index"], xid, t["rules"], t["cdests"]))
            per[xid] = per.get(xid, 0) + 1
        want = {x: len(t[0]) for x, t in self.model.tasks.items()}
        if per != want:
            raise Divergence("xtapctl: criteria per XID %s, the model %s" % (per, want))
        rules, _ = bpfmap.read_rules(os.path.join(self.lab["PIN"], "xtap_rules"), SLOTS)
        got = sorted(str((fam, ipaddress.ip_network((src[:16 if fam == 6 else 4], splen)),
                          ipaddress.ip_network((dst[:16 if fam == 6 else 4], dplen)), ncd))
                     for _, _, fam, _, src, splen, dst, dplen, ncd in rules)
        if got != self.model.rules():
            raise Divergence("the rules map differs from the model: %s / %s" % (got[:6], self.model.rules()[:6]))

    def choose(self):
        modes = {"kill": ["kill"], "points": ["point"], "faults": ["fault"],
                 "mixed": ["kill", "kill", "point", "point", "fault"]}[self.mode]
        kind = self.rnd.choice(modes)
        if kind != "kill" and not self.points:
            kind = "kill"
        if kind == "point":
            return kind, {"XTAP_CRASH": "%s:%d" % (self.rnd.choice(self.points), self.rnd.randint(1, 3))}
        if kind == "fault":
            op = self.rnd.choice(["write", "fsync", "open", "rename", "shortwrite"])
            return kind, {"XTAP_FAULT": "%s:%s:%d:%d" % (op, self.rnd.choice(["ENOSPC", "EIO"]),
                                                         self.rnd.randint(1, 6), self.rnd.randint(1, 3))}
        return kind, None

    def iteration(self, it):
        kind, env = self.choose()
        self.cur = "%s %s" % (kind, env or "")
        if env:
            self.stop9()  # a quiescent kill -9: itself a crash the check covers
            if not self.start(env, self.fault_binary):
                self.stats["start-crash"] += 1  # the point was reached while starting
                self.x.wait_gone()
                self.start()
                self.check(None)
                return
        msgs = gen_container(self.rnd, self.model)
        res = {}
        th = threading.Thread(target=lambda: res.update(a=self.admf.send(msgs)))
        th.start()
        if kind == "kill":
            # a container is answered within milliseconds: most kills early
            time.sleep(self.rnd.uniform(0, 0.02) if self.rnd.random() < 0.6 else self.rnd.uniform(0, 0.2))
            self.stats["kill"] += 1
            self.x.kill9("monitor")
        th.join(40)
        if th.is_alive():
            raise Divergence("no answer and no crash within 40 s")
        got = res.get("a")
        pending = None
        if got is None:
            pending = msgs
            if kind == "point":
                self.stats["point-crash"] += 1
        else:
            self.judge(msgs, got, kind == "fault")
            if kind == "point":
                self.stats["point-missed"] += 1
        if kind == "fault" and self.x.alive():
            self.stats["fault"] += 1
            # the injected failures stop (COUNT): a change must work again
            # without a restart
            probe = [("CreateDestination", "d2000000-0000-4000-8000-000000000001", "203.0.113.30", 7001)]
            for _ in range(6):
                a = self.admf.send(probe)
                if a is None:
                    raise Divergence("the probe after a fault got no answer")
                self.judge(probe, a, True)
                if a[0][1] == 0:
                    self.stats["recovered"] += 1
                    break
            else:
                raise Divergence("6 changes after a fault all refused: no recovery")
            # (the injected failures may not all be spent yet: the probe's
            # removal may be refused too, and is tried again)
            gone = [("RemoveDestination", probe[0][1])]
            for _ in range(6):
                a = self.admf.send(gone)
                if a is None:
                    raise Divergence("the probe's removal got no answer")
                self.judge(gone, a, True)
                if a[0][1] == 0:
                    break
            else:
                raise Divergence("the probe's removal refused 6 times")
        self.stop9()
        if self.rnd.random() < 0.1:
            self.stats["reboot"] += 1
            self.x.reboot()
        if not self.start():
            raise Divergence("a plain start did not serve")
        self.check(pending)

    def fill_check(self):
        """A full disk (a tmpfs of its own) answers Generic*Failure, changes
        nothing, refuses changes; emptied, the next change works and survives
        a kill -9."""
        T = self.lab["T"]
        sd = os.path.join(T, "sd")
        ok = 0
        conf = os.path.join(T, "xtapd.conf")
        saved = open(conf).read()
        os.makedirs(sd, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=700", "tmpfs", sd], check=True)
        try:
            with open(conf, "w") as f:
                f.write(saved.replace(os.path.join(T, "state"), os.path.join(sd, "state"))
                        .replace(os.path.join(T, "audit.log"), os.path.join(sd, "audit.log")))
            self.start()
            a = self.admf.send([("CreateDestination", DIDS[0], "203.0.113.10", 7890)])
            self.judge([("CreateDestination", DIDS[0], "203.0.113.10", 7890)], a, False)
            fd = os.open(os.path.join(sd, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while os.write(fd, b"\0" * 4096) > 0:
                    pass
            except OSError:
                pass
            os.close(fd)
            refused = None
            for i in range(60):  # until an append needs a page that is not there
                m = ("ActivateTask", XIDS[i % len(XIDS)], ["10.78.%d.%d" % (i // 200, i % 200 + 1)], [DIDS[0]])
                if m[1] in self.model.tasks:
                    m = ("DeactivateTask", m[1])
                a = self.admf.send([m])
                self.judge([m], a, True)
                if a[0][1]:
                    refused = (m, a[0][1])
                    break
            if refused and refused[1] == GENERIC[refused[0][0]]:
                ok += 1
                log("ok      disk full: %s answered %d (Generic failure)" % (refused[0][0], refused[1]))
            else:
                raise Divergence("disk full: no change answered its Generic failure (%s)" % (refused,))
            self.check(None)  # nothing of the refused change in the store, xtapctl or the maps
            ok += 1
            log("ok      disk full: the refused change is nowhere (GetAllDetails, xtapctl, rules map)")
            audit = open(os.path.join(sd, "audit.log"), "rb").read()
            st = self.x.ctl("status")
            if b"refusing changes" not in audit and "refus" not in str(st):
                raise Divergence("disk full: neither the audit log nor xtapctl status says refusing changes")
            ok += 1
            log("ok      disk full: xtapd says it is refusing changes")
            os.unlink(os.path.join(sd, "filler"))
            m = ("ActivateTask", "a2000000-0000-4000-8000-000000000001", ["10.79.0.1"], [DIDS[0]])
            a = self.admf.send([m])
            self.judge([m], a, False)
            ok += 1
            log("ok      disk emptied: the next ActivateTask is answered OK")
            self.stop9()
            self.start()
            self.check(None)
            ok += 1
            log("ok      and after a kill -9 and a restart it is there, the refused one is not")
            self.stop9()
        finally:
            if self.x.alive():
                self.stop9()
            subprocess.run(["umount", sd])
            with open(conf, "w") as f:
                f.write(saved)
        # the next start is on the other state file: a model of its own
        self.model = Model()
        return ok

    def run(self, n, fill):
        passed = failed = skipped = 0
        t0 = time.time()
        if fill:
            try:
                passed += self.fill_check()
            except Divergence as e:
                log("FAILED  disk-full check: %s" % e)
                failed += 1
                return passed, failed, skipped
        self.start()
        self.check(None)
        for it in range(1, n + 1):
            try:
                self.iteration(it)
                passed += 1
            except Divergence as e:
                log("FAILED  iteration %d (%s): %s" % (it, self.cur, e))
                failed += 1
                break
            if it % 50 == 0:
                log("  %d iterations, %.0f s" % (it, time.time() - t0))
        self.stop9()
        log("x1 crash: %s" % ", ".join("%s %d" % kv for kv in self.stats.items()))
        # targets never in ordinary logs (docs/state-and-audit.md)
        text = open(os.path.join(self.lab["T"], "xtapd.log"), errors="replace").read()
        if re.search(r"10\.7[789]\.\d+\.\d+|2001:0?db8:0*77:", text):
            log("FAILED  a target in xtapd's log")
            failed += 1
        else:
            log("ok      no target in xtapd's log")
            passed += 1
        if not self.points:
            log("skip: no build/xtapd-fault: crash points and I/O faults not run")
            skipped += 1
        return passed, failed, skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lab", required=True)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--mode", default="mixed", choices=("kill", "points", "faults", "mixed"))
    ap.add_argument("--fill", action="store_true")
    a = ap.parse_args()
    lab = dict(line.strip().split("=", 1) for line in open(a.lab) if "=" in line)
    seed = a.seed if a.seed is not None else random.SystemRandom().randint(1, 1 << 30)
    log("x1 crash harness: seed %d (replay with SEED=%d)" % (seed, seed))
    r = Run(lab, seed, a.mode)
    p, f, s = r.run(a.iterations, a.fill)
    if f:
        log("seed %d: see %s/xtapd.log" % (seed, lab["T"]))
    log("%d passed, %d failed, %d skipped" % (p, f, s))
    return 1 if f else 0


if __name__ == "__main__":
    sys.exit(main())
