#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""A mediation device as deployed clients behave (docs/dtcp.md 1): paramiko,
password login, subsystem flow-tap-dtcp, one recv() per reply, Seq always 1,
several messages written before reading, a new connection per request.

usage: md.py HOST PORT USER PASSWORD KEY COMMAND
  COMMAND: pipeline N     N NOOPs written at once, N replies back
           perconn N      N connections, one ADD each, then one LIST; prints ids
           badhmac        three messages with a bad signature: no reply, closed
           send FILE...   each FILE is one message (LF lines, no
                          Authentication-Info): signed and sent verbatim on a
                          connection of its own; the replies go to stdout
Prints "ok ..." lines and exits 0, or prints what went wrong and exits 1.
"""
import hmac
import hashlib
import socket
import sys
import time

import paramiko


def sign(msg, key):
    body = msg.replace("\n", "\r\n")
    digest = hmac.new(key.encode(), body.encode(), hashlib.sha1).hexdigest()
    return (body + "Authentication-Info: " + digest + "\r\n\r\n").encode()


def connect(host, port, user, password):
    t = paramiko.Transport((host, port))
    t.connect(username=user, password=password)
    ch = t.open_session()
    ch.invoke_subsystem("flow-tap-dtcp")
    ch.settimeout(10)
    return t, ch


def recv_one(ch):
    """One recv, as deployed clients do: the whole reply must be in it."""
    data = ch.recv(65536).decode(errors="replace")
    if not data.endswith("\r\n\r\n"):
        raise SystemExit("reply not whole in one recv: %r" % data[-60:])
    return data


def main():
    host, port, user, password, key, cmd = sys.argv[1:7]
    port = int(port)
    if cmd == "pipeline":
        n = int(sys.argv[7])
        t, ch = connect(host, port, user, password)
        msgs = b"".join(sign("NOOP DTCP/0.8\nCsource-ID: %s\nSeq: 1\n" % user, key) for _ in range(n))
        ch.sendall(msgs)
        # replies to pipelined requests may share a recv: count whole ones
        got = ""
        deadline = time.time() + 10
        while got.count("\r\n\r\n") < n and time.time() < deadline:
            got += ch.recv(65536).decode(errors="replace")
        t.close()
        replies = [r for r in got.split("\r\n\r\n") if r]
        if len(replies) != n or any("200 OK" not in r or "SEQ: 1\r\n" not in r for r in replies):
            raise SystemExit("%d replies of %d: %r" % (len(replies), n, got[:200]))
        print("ok %d pipelined NOOPs, %d replies in order, Seq 1 echoed" % (n, n))
    elif cmd == "perconn":
        n = int(sys.argv[7])
        ids = []
        for i in range(n):
            t, ch = connect(host, port, user, password)
            ch.sendall(sign("ADD DTCP/0.7\nCsource-ID: %s\nCdest-ID: cd1\nDest-Address: 198.51.100.%d\n"
                            "X-JTap-Cdest-Dest-Address: 203.0.113.10\nX-JTap-Cdest-Dest-Port: 7890\n"
                            "Flags: STATIC\nSeq: 1\n" % (user, i + 1), key))
            r = recv_one(ch)
            t.close()
            if "200 OK" not in r:
                raise SystemExit("ADD %d: %r" % (i, r))
            ids.append(int(r.split("CRITERIA-ID:")[1].split()[0]))
        print("ok %d ADDs on %d connections, ids %s" % (n, n, ",".join(map(str, ids))))
    elif cmd == "sign":
        # a signed NOOP on stdout, for OpenSSH's stdin
        sys.stdout.buffer.write(sign("NOOP DTCP/0.8\nCsource-ID: %s\nSeq: 7\n" % user, key))
    elif cmd == "badhmac":
        t, ch = connect(host, port, user, password)
        bad = sign("NOOP DTCP/0.8\nCsource-ID: %s\nSeq: 1\n" % user, key + "-wrong")
        for i in range(3):
            ch.sendall(bad)
        ch.settimeout(3)
        got = b""
        try:
            while True:
                d = ch.recv(4096)
                if not d:
                    break
                got += d
        except socket.timeout:
            raise SystemExit("session not closed after three bad signatures")
        t.close()
        if got:
            raise SystemExit("bad signatures got a reply: %r" % got[:80])
        print("ok three bad signatures: no reply, session closed")
    elif cmd == "send":
        for path in sys.argv[7:]:
            with open(path) as f:
                msg = f.read()
            t, ch = connect(host, port, user, password)
            ch.sendall(sign(msg, key))
            got = ""
            deadline = time.time() + 10
            # a LIST may come as several replies: the last has no more to follow
            while time.time() < deadline:
                got += ch.recv(65536).decode(errors="replace")
                if got.endswith("\r\n\r\n") and not last_is_partial(got):
                    break
            t.close()
            sys.stdout.write(got)
    else:
        raise SystemExit("unknown command " + cmd)


def last_is_partial(got):
    """A LIST part to be continued: its last block has CRITERIA-NUM < CRITERIA-COUNT."""
    last = got.rstrip("\r\n").split("\r\n\r\n")[-1]
    num = [int(l.split(":")[1]) for l in last.split("\r\n") if l.startswith("CRITERIA-NUM:")]
    cnt = [int(l.split(":")[1]) for l in last.split("\r\n") if l.startswith("CRITERIA-COUNT:")]
    return bool(num) and bool(cnt) and num[-1] < cnt[-1]


if __name__ == "__main__":
    main()
