#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""A compromised SSH worker (tests/adversarial/worker_test.sh): xtapd -W execs
this instead of itself, with the monitor socket on fd 3. It speaks the
monitor protocol (loader/worker/monproto.h, docs/privsep.md) with hostile messages
and checks that the monitor is neither crashed, blocked nor misled: every
expectation is what docs/privsep.md says the monitor must do. Results go to
RESULTS (next to the host key, the only path it is given), one "ok"/"FAIL"
line per check and "done"; then it keeps the socket open until EOF.
"""
import os
import socket
import struct
import sys
import time

import paramiko

SESSION_OPEN, SESSION_CLOSE, AUTH_PASSWORD, AUTH_PUBKEY, AUTH_RESULT = 1, 2, 3, 4, 5
DTCP_DATA, DTCP_EOF, DTCP_REPLY, DTCP_CLOSE, EVENT, CONN_OPEN, AUTH_SIG = 6, 7, 8, 9, 10, 11, 12
HDR = struct.Struct('=III')

args = sys.argv[1:]
hostkey = args[args.index('-k') + 1]
T = os.path.dirname(hostkey)
out = open(os.path.join(T, 'hostile-worker.out'), 'w', buffering=1)
mon = socket.socket(fileno=3)
mon.settimeout(5)
results = []


def check(name, cond):
    out.write('%s %s\n' % ('ok  ' if cond else 'FAIL', name))


def s16(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack('=H', len(b)) + b


def send(t, sess, payload=b'', hdr_len=None):
    mon.send(HDR.pack(t, sess, len(payload) if hdr_len is None else hdr_len) + payload)


def recv():
    """The next datagram from the monitor: (type, session, payload) or None."""
    try:
        d = mon.recv(70000)
    except socket.timeout:
        return None
    t, s, n = HDR.unpack_from(d)
    return t, s, d[HDR.size:HDR.size + n]


def auth_pw(sess, user, pw):
    send(AUTH_PASSWORD, sess, s16(user) + s16(pw))
    return result(sess)


def result(sess):
    """The AUTH_RESULT for sess as the very next datagram: 0 or 1; None for
    anything else (another datagram first, or nothing)."""
    r = recv()
    if not r or r[0] != AUTH_RESULT or r[1] != sess or len(r[2]) != 4:
        return None
    return struct.unpack('=I', r[2])[0]


def probe(sess):
    """Nothing else came before this answer: the monitor answered only it."""
    r = auth_pw(sess, 'nobody-here', 'x')
    return r == 0


def pubkey(sess, user, blob, signed):
    send(AUTH_PUBKEY, sess, bytes([1 if signed else 0]) + s16(user) + s16('ssh-ed25519') + s16(blob))
    return result(sess)


def sshstr(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack('>I', len(b)) + b


def signed_blob(sid, user, blob):
    """RFC 4252 7: what a client signs."""
    return (sshstr(sid) + bytes([50]) + sshstr(user) + sshstr('ssh-connection') + sshstr('publickey') +
            bytes([1]) + sshstr('ssh-ed25519') + sshstr(blob))


def raw_sig(key, data):
    m = paramiko.Message(key.sign_ssh_data(data).asbytes())
    m.get_text()
    return m.get_binary()


def main():
    key = paramiko.Ed25519Key.from_private_key_file(os.path.join(T, 'mdkey'))
    blob = key.asbytes()
    probe_id = 900000
    send(CONN_OPEN, probe_id, s16('192.0.2.99'))

    # malformed datagrams: each refused, none answered
    send(AUTH_RESULT, 1, struct.pack('=I', 1))            # a monitor-only type
    send(DTCP_REPLY, 1, b'200 OK')
    send(99, 1)                                           # unknown type
    send(0, 1)
    send(AUTH_PASSWORD, 1, s16('ftap') + s16('pw'), hdr_len=999)   # length field lies
    send(AUTH_PASSWORD, 0, s16('ftap') + s16('pw'))       # session 0
    send(AUTH_PASSWORD, 1, s16('ft\nap') + s16('pw'))     # control byte in the user
    send(AUTH_PASSWORD, 1, s16('ftap') + s16('pw') + b'x')  # trailing byte
    send(AUTH_PASSWORD, 1, struct.pack('=H', 60000) + b'ftap')  # string past the end
    mon.send(b'\x01\x00')                                 # shorter than the header
    mon.send(HDR.pack(DTCP_DATA, 1, 70000) + b'x' * 70000)  # over MON_MSG_MAX
    check('malformed datagrams: none answered, the monitor still answers', probe(probe_id))

    # authentication only for announced connections, once
    check('AUTH_PASSWORD for a connection never announced: refused', auth_pw(7, 'ftap', 'ftap-demo') == 0)
    send(CONN_OPEN, 1, s16('192.0.2.50'))
    check('wrong password refused', auth_pw(1, 'ftap', 'wrong') == 0)
    check('right password accepted', auth_pw(1, 'ftap', 'ftap-demo') == 1)
    check('a second authentication of a logged-in connection: refused', auth_pw(1, 'ftap', 'ftap-demo') == 0)
    send(CONN_OPEN, 1, s16('192.0.2.51'))
    check('CONN_OPEN of a live id refused (the peer is not replaced)', probe(probe_id))

    # a DTCP session only for the user the monitor authenticated
    send(CONN_OPEN, 2, s16('192.0.2.52'))
    send(SESSION_OPEN, 2, s16('ftap') + s16('192.0.2.52'))   # never authenticated
    send(DTCP_DATA, 2, b'NOOP DTCP/0.8\r\nCsource-ID: ftap\r\nSeq: 1\r\n\r\n')
    check('SESSION_OPEN without authentication: no DTCP session, data unanswered', probe(probe_id))
    send(SESSION_OPEN, 1, s16('root') + s16('192.0.2.50'))   # another user than authenticated
    send(DTCP_DATA, 1, b'NOOP DTCP/0.8\r\nCsource-ID: root\r\nSeq: 1\r\n\r\n')
    check('SESSION_OPEN as another user: refused, data unanswered', probe(probe_id))

    # public keys: the monitor verifies signatures itself
    send(CONN_OPEN, 3, s16('192.0.2.53'))
    check('key query for the authorized key: yes', pubkey(3, 'ftap', blob, False) == 1)
    check('signed=1 without AUTH_SIG ("libssh verified it"): refused', pubkey(3, 'ftap', blob, True) == 0)
    sid = os.urandom(32)
    data = signed_blob(sid, 'ftap', blob)
    send(AUTH_SIG, 3, s16(data) + s16(os.urandom(64)))
    check('AUTH_SIG with a forged signature: refused', pubkey(3, 'ftap', blob, True) == 0)
    send(AUTH_SIG, 3, s16(signed_blob(sid, 'root', blob)) + s16(raw_sig(key, signed_blob(sid, 'root', blob))))
    check('a genuine signature for another user: refused', pubkey(3, 'ftap', blob, True) == 0)
    sig = raw_sig(key, data)
    send(AUTH_SIG, 3, s16(data) + s16(sig))
    check('a genuine signature over the RFC 4252 blob: accepted', pubkey(3, 'ftap', blob, True) == 1)
    send(CONN_OPEN, 4, s16('192.0.2.54'))
    send(AUTH_SIG, 4, s16(data) + s16(sig))
    check('the same signature replayed on another connection: refused', pubkey(4, 'ftap', blob, True) == 0)

    # slots: 256 at most, all freed by SESSION_CLOSE
    for s in (1, 2, 3, 4):
        send(SESSION_CLOSE, s)
    base = 10000
    for i in range(300):
        send(CONN_OPEN, base + i, s16('198.51.100.%d' % (i % 250 + 1)))
    check('past 256 slots a connection cannot log in', auth_pw(base + 299, 'ftap', 'ftap-demo') == 0)
    check('one with a slot can', auth_pw(base + 10, 'ftap', 'ftap-demo') == 1)
    for i in range(300):
        send(SESSION_CLOSE, base + i)
    send(SESSION_CLOSE, probe_id)
    send(CONN_OPEN, 20000, s16('192.0.2.60'))
    check('after SESSION_CLOSE every slot is free again', auth_pw(20000, 'ftap', 'ftap-demo') == 1)
    probe_id = 20001
    send(CONN_OPEN, probe_id, s16('192.0.2.61'))

    # a flood: the monitor reads it all and still answers at once after
    t0 = time.time()
    for i in range(20000):
        send(EVENT, 0, struct.pack('=I', 1) + s16('203.0.113.%d' % (i % 250 + 1)))
    t1 = time.time()
    ok = probe(probe_id)
    check('20,000 EVENTs in %.1f s, then an answer in %.2f s' % (t1 - t0, time.time() - t1),
          ok and time.time() - t1 < 2)
    out.write('done\n')


try:
    main()
except Exception as e:  # a failed expectation above, or the monitor gone
    out.write('FAIL exception %r\ndone\n' % (e,))
mon.settimeout(None)
while True:  # stay the worker until the monitor closes the socket
    try:
        if not mon.recv(70000):
            break
    except OSError:
        break
