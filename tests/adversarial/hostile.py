#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Hostile SSH clients for the adversarial suite (tests/adversarial/adv_test.sh),
and the mediation device that must still get in after each of them.

usage: hostile.py CASE HOST PORT [ARGS...]
Prints one "ok ..." line and exits 0, or prints what went wrong and exits 1.
What each case expects comes from the protocol (RFC 4252, RFC 4256, RFC 4462)
and from what xtapd promises (docs/privsep.md), not from xtapd's output.
"""
import hashlib
import hmac
import os
import socket
import struct
import sys
import threading
import time

import paramiko
from paramiko.common import cMSG_USERAUTH_REQUEST

# What xtapd offers (docs/privsep.md "Methods offered"), in libssh's order.
METHODS = ['publickey', 'keyboard-interactive', 'password']
KRB5_OID = bytes.fromhex('06092a864886f712010202')  # 1.2.840.113554.1.2.2, DER


def fail(msg):
    print(msg)
    sys.exit(1)


def transport(host, port):
    sock = socket.create_connection((host, port), timeout=10)
    t = paramiko.Transport(sock)
    t.start_client(timeout=10)
    return t


def methods_after_none(t, user):
    """auth 'none' (RFC 4252 5.2): the server answers FAILURE with its methods."""
    try:
        t.auth_none(user)
    except paramiko.BadAuthenticationType as e:
        return list(e.allowed_types)
    fail('auth none succeeded')


def raw_auth(t, user, method, fill, wait=5.0):
    """One USERAUTH_REQUEST paramiko does not implement. Returns 'failure',
    'success' or 'silence' (no answer within wait seconds), and the methods
    the failure listed (None unless given)."""
    ah = t.auth_handler
    ev = threading.Event()
    ah.auth_event = ev
    ah.auth_method = method
    t.saved_exception = None
    m = paramiko.Message()
    m.add_byte(cMSG_USERAUTH_REQUEST)
    m.add_string(user)
    m.add_string('ssh-connection')
    m.add_string(method)
    fill(m)
    t._send_message(m)
    if not ev.wait(wait):
        return 'silence', None
    if ah.authenticated:
        return 'success', None
    e = t.saved_exception
    return 'failure', list(e.allowed_types) if isinstance(e, paramiko.BadAuthenticationType) else None


def closed_by_server(t, within):
    deadline = time.time() + within
    while time.time() < deadline:
        if not t.is_active():
            return True
        time.sleep(0.05)
    return False


def case_gssapi(host, port, with_oids):
    """gssapi-with-mic (RFC 4462 3.2) is not offered: each request gets
    USERAUTH_FAILURE listing our methods, counts as a failed attempt, and
    the sixth closes the connection (auth_tries 6)."""
    t = transport(host, port)
    if methods_after_none(t, 'ftap') != METHODS:
        fail('methods offered: %r' % methods_after_none(t, 'ftap'))
    oids = [KRB5_OID] if with_oids else []

    def fill(m):
        m.add_int(len(oids))
        for o in oids:
            m.add_string(o)
    for i in range(6):
        if not t.is_active():
            fail('connection closed after %d gssapi requests, not 6' % i)
        r, listed = raw_auth(t, 'ftap', 'gssapi-with-mic', fill)
        # the sixth failure is followed at once by the disconnect, which
        # may overtake paramiko's reading of the method list
        if r != 'failure' or (listed != METHODS and (i < 5 or listed is not None)):
            fail('gssapi request %d (%d OIDs): %s, methods %r' % (i + 1, len(oids), r, listed))
    if not closed_by_server(t, 3):
        fail('connection still open after 6 refused gssapi requests')
    print('ok gssapi-with-mic with %d OIDs: 6 x USERAUTH_FAILURE %s, then closed' % (len(oids), METHODS))


def case_hostbased(host, port):
    t = transport(host, port)
    methods_after_none(t, 'ftap')
    key = paramiko.Ed25519Key.from_private_key_file(os.environ['ADV_KEY'])

    def fill(m):  # RFC 4252 9: alg, key, host, user, signature
        m.add_string('ssh-ed25519')
        m.add_string(key.asbytes())
        m.add_string('client.example.')
        m.add_string('root')
        sig = paramiko.Message()
        sig.add_string('ssh-ed25519')
        sig.add_string(b'\x00' * 64)
        m.add_string(sig.asbytes())
    r, listed = raw_auth(t, 'ftap', 'hostbased', fill)
    if r != 'failure' or listed != METHODS:
        fail('hostbased: %s %r' % (r, listed))
    t.close()
    print('ok hostbased: USERAUTH_FAILURE %s' % METHODS)


def case_none(host, port):
    t = transport(host, port)
    got = methods_after_none(t, 'ftap')
    # a client may ask 'none' more than once; it is never a success
    got2 = methods_after_none(t, 'root')
    t.close()
    if got != METHODS or got2 != METHODS:
        fail('none: %r %r' % (got, got2))
    print('ok none: USERAUTH_FAILURE %s' % METHODS)


def case_pubkey(host, port):
    """A key nobody authorized: no PK_OK for the query (RFC 4252 7), a
    failure for a signed request. The authorized key with a bad signature:
    a USERAUTH_FAILURE (libssh 0.10 alone drops it unanswered), after which
    the same connection logs in with the key properly signed."""
    key = paramiko.Ed25519Key.from_private_key_file(os.environ['ADV_KEY'])
    other = paramiko.Ed25519Key.from_private_key_file(os.environ['ADV_OTHER_KEY'])
    t = transport(host, port)
    methods_after_none(t, 'ftap')

    def query(k):
        def fill(m):
            m.add_boolean(False)
            m.add_string('ssh-ed25519')
            m.add_string(k.asbytes())
        return fill

    def badsig(k):
        def fill(m):
            m.add_boolean(True)
            m.add_string('ssh-ed25519')
            m.add_string(k.asbytes())
            sig = paramiko.Message()
            sig.add_string('ssh-ed25519')
            sig.add_string(os.urandom(64))
            m.add_string(sig.asbytes())
        return fill
    r, _ = raw_auth(t, 'ftap', 'publickey', query(other))
    if r != 'failure':
        fail('unauthorized key query: %s' % r)
    # properly signed by a key nobody authorized: the monitor refuses it
    try:
        t.auth_publickey('ftap', other)
        fail('unauthorized key, signed: success')
    except paramiko.AuthenticationException:
        pass
    # the authorized key, a signature that is not one: libssh 0.10 frees
    # such a request unanswered; the worker answers it (its ssh_message_free)
    r, _ = raw_auth(t, 'ftap', 'publickey', badsig(key), wait=5)
    if r != 'failure':
        fail('authorized key with a bad signature: %s, not USERAUTH_FAILURE'
             % ('no answer' if r == 'silence' else r))
    # and the client may go on in the same connection: the key, signed
    try:
        t.auth_publickey('ftap', key)
    except paramiko.AuthenticationException as e:
        fail('authorized key signed after a bad signature, same connection: %s' % e)
    t.close()
    # a bad signature alone opens nothing: no channel
    t = transport(host, port)
    methods_after_none(t, 'ftap')
    r, _ = raw_auth(t, 'ftap', 'publickey', badsig(key), wait=5)
    if r != 'failure':
        fail('authorized key with a bad signature (second connection): %s' % r)
    try:
        t.open_session(timeout=2)
        fail('a channel opened without authentication')
    except (paramiko.SSHException, EOFError):
        pass
    t.close()
    print('ok publickey: unauthorized key refused (query and signed), authorized key with a bad '
          'signature: USERAUTH_FAILURE, then the key signed in the same connection: success')


def case_kbdint(host, port, mode):
    """keyboard-interactive (RFC 4256): 'empty' answers the prompt with no
    answers (a failure); 'silent' never answers (the connection waits for
    the auth deadline, printing its pid-independent state)."""
    t = transport(host, port)
    methods_after_none(t, 'ftap')
    prompted = threading.Event()
    hold = threading.Event()

    def handler(title, instructions, prompts):
        prompted.set()
        if mode == 'silent':
            hold.wait(30)
        return []
    t.auth_handler.interactive_handler = handler

    def fill(m):
        m.add_string('')
        m.add_string('')
    r, listed = raw_auth(t, 'ftap', 'keyboard-interactive', fill, wait=5 if mode == 'empty' else 1)
    if not prompted.is_set():
        fail('no INFO_REQUEST prompt')
    if mode == 'empty':
        if r != 'failure':
            fail('keyboard-interactive with no answer: %s' % r)
        t.close()
        print('ok keyboard-interactive with no answers: USERAUTH_FAILURE')
        return
    if r != 'silence':
        fail('keyboard-interactive never answered: %s' % r)
    # leave it pending while the suite checks that others get in
    sys.stdout.write('ok keyboard-interactive prompt left unanswered\n')
    sys.stdout.flush()
    sys.stdin.readline()
    hold.set()
    t.close()


def banner_then(host, port, data, wait=5):
    """Raw TCP: our banner, then data; returns what the server sent and
    whether it closed within wait seconds."""
    s = socket.create_connection((host, port), timeout=wait)
    got = b''
    s.sendall(b'SSH-2.0-hostile_1.0\r\n' + data)
    deadline = time.time() + wait
    closed = False
    while time.time() < deadline:
        try:
            s.settimeout(max(0.05, deadline - time.time()))
            d = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not d:
            closed = True
            break
        got += d
    s.close()
    return got, closed


def case_malformed(host, port):
    """Binary packets (RFC 4253 6) that are not: each connection is closed
    by the server (or left to its deadline), never answered with more than
    its banner and KEXINIT."""
    cases = {
        'length 0xffffffff': struct.pack('>I', 0xffffffff) + b'\x00' * 16,
        'length 0': struct.pack('>I', 0) + b'\x00' * 16,
        'padding longer than the packet': struct.pack('>IB', 12, 200) + b'\x14' + b'\x00' * 10,
        'truncated KEXINIT': struct.pack('>IB', 1000, 4) + b'\x14' + os.urandom(20),
        'random bytes': os.urandom(4096),
        'NUL bytes': b'\x00' * 2048,
    }
    closed_n = 0
    for name, data in cases.items():
        got, closed = banner_then(host, port, data, wait=3)
        if not got.startswith(b'SSH-2.0-'):
            fail('%s: no SSH banner before it: %r' % (name, got[:40]))
        closed_n += closed
    # a banner line that never ends
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(b'SSH-2.0-' + b'x' * 70000)
    s.close()
    # a connection that sends only half a banner and goes away
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(b'SSH-2.')
    s.close()
    print('ok %d malformed pre-auth packets (%d closed by the server at once), endless and half banners'
          % (len(cases), closed_n))


def case_nokex(host, port, n):
    """n clients that send the banner and never finish key exchange; they
    stay open while the suite checks that others get in."""
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b'SSH-2.0-stall_1.0\r\n')
        socks.append(s)
    sys.stdout.write('ok %d clients that never finish key exchange\n' % n)
    sys.stdout.flush()
    sys.stdin.readline()
    for s in socks:
        s.close()


def case_failed_logins(host, port, conns, tries, srcs):
    """conns connections from the given source addresses, each with tries
    wrong passwords (the last closes it: auth_tries). Prints the total."""
    srcs = srcs.split(',')
    count = [0]
    unsure = [0]  # sent, no answer: the server may have counted it or not
    lock = threading.Lock()
    errors = []

    def one(i):
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(20)
            sock.bind((srcs[i % len(srcs)], 0))
            sock.connect((host, port))
            t = paramiko.Transport(sock)
            t.start_client(timeout=20)
            for _ in range(tries):
                try:
                    t.auth_password('ftap', 'wrong-%d' % i)
                except paramiko.AuthenticationException:
                    # paramiko raises this for a failure reply and for a
                    # connection closed before any reply alike: only a
                    # transport still up proves the reply came
                    up = t.is_active()
                    with lock:
                        if up:
                            count[0] += 1
                        else:
                            unsure[0] += 1
                    if not up:
                        break
                except Exception:  # SSHException, EOFError, a timeout
                    with lock:
                        unsure[0] += 1
                    break
                if not t.is_active():
                    break
            t.close()
        except Exception as e:  # the server refusing is counted by the suite
            with lock:
                errors.append(repr(e))
    threads = []
    for i in range(conns):
        th = threading.Thread(target=one, args=(i,))
        th.start()
        threads.append(th)
        if len(threads) % 16 == 0:
            for x in threads[-16:]:
                x.join()
    for th in threads:
        th.join()
    print('ok %d failed logins (%d more unanswered) on %d connections (%d connections failed otherwise: %s)'
          % (count[0], unsure[0], conns, len(errors), errors[:2]))


def case_auth_no_subsystem(host, port, n, password):
    """n connections that log in and leave without opening the subsystem."""
    for i in range(n):
        t = paramiko.Transport((host, port))
        t.connect(username='ftap', password=password)
        if i % 2:
            t.open_session().close()  # a channel, but never the subsystem
        t.close()
    print('ok %d logins that never opened the subsystem' % n)


def sign(msg, key):
    body = msg.replace('\n', '\r\n')
    digest = hmac.new(key.encode(), body.encode(), hashlib.sha1).hexdigest()
    return (body + 'Authentication-Info: ' + digest + '\r\n\r\n').encode()


def case_probe(host, port, password, key, limit):
    """A valid mediation device: password login, the subsystem, a NOOP;
    200 OK within limit seconds of the first connect (retrying a refused
    connection, as a device does)."""
    t0 = time.time()
    last = None
    while time.time() - t0 < float(limit):
        try:
            t = paramiko.Transport((host, port))
            t.banner_timeout = t.auth_timeout = float(limit)
            t.connect(username='ftap', password=password)
            ch = t.open_session()
            ch.invoke_subsystem('flow-tap-dtcp')
            ch.settimeout(float(limit))
            ch.sendall(sign('NOOP DTCP/0.8\nCsource-ID: ftap\nSeq: 1\n', key))
            r = ch.recv(65536).decode(errors='replace')
            t.close()
            if '200 OK' in r:
                print('ok a mediation device got 200 OK in %.2f s' % (time.time() - t0))
                return
            last = r[:60]
        except Exception as e:
            last = repr(e)
            time.sleep(0.05)
    fail('no 200 OK within %s s: %s' % (limit, last))


def case_stalled_list(host, port, password, key):
    """A logged-in device that asks for a large LIST and stops reading its
    channel (a 4 KiB window): held while the suite checks the others."""
    t = paramiko.Transport((host, port))
    t.connect(username='ftap', password=password)
    ch = t.open_session(window_size=4096, max_packet_size=4096)
    ch.invoke_subsystem('flow-tap-dtcp')
    ch.sendall(sign('LIST DTCP/0.7\nCsource-ID: ftap\nFlags: Both\nSeq: 1\n', key))
    first = ch.recv(1024)
    if not first.startswith(b'DTCP/0.'):
        fail('LIST: %r' % first[:40])
    sys.stdout.write('ok a LIST asked for, %d bytes read, then no more\n' % len(first))
    sys.stdout.flush()
    sys.stdin.readline()
    t.close()


def case_pubkey_login(host, port, keyfile, key):
    """A mediation device with a key: the monitor verifies the signature
    (docs/privsep.md); 200 OK to a NOOP."""
    pkey = None
    for cls in (paramiko.Ed25519Key, paramiko.RSAKey, paramiko.ECDSAKey):
        try:
            pkey = cls.from_private_key_file(keyfile)
            break
        except paramiko.SSHException:
            continue
    t = paramiko.Transport((host, port))
    t.connect(username='ftap', pkey=pkey)
    ch = t.open_session()
    ch.invoke_subsystem('flow-tap-dtcp')
    ch.settimeout(5)
    ch.sendall(sign('NOOP DTCP/0.8\nCsource-ID: ftap\nSeq: 1\n', key))
    r = ch.recv(65536).decode(errors='replace')
    t.close()
    if '200 OK' not in r:
        fail('%s: %r' % (pkey.get_name(), r[:60]))
    print('ok public-key login with %s: 200 OK' % pkey.get_name())


def case_memscan(pid, *needles):
    """Every readable mapping of pid (root reads /proc/PID/mem); prints which
    needles were found. Exit 0 if none is found."""
    found = set()
    total = 0
    with open('/proc/%s/maps' % pid) as maps, open('/proc/%s/mem' % pid, 'rb', 0) as mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split('-'))
            if 'r' not in f[1] or (len(f) > 5 and f[5] in ('[vvar]', '[vsyscall]')):
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            total += len(data)
            for nd in needles:
                if nd.encode() in data:
                    found.add(nd)
    if found:
        print('found in pid %s (%d bytes read): %s' % (pid, total, sorted(found)))
        sys.exit(1)
    print('ok none of %d secrets in %d bytes of pid %s' % (len(needles), total, pid))


def main():
    case = sys.argv[1]
    if case == 'memscan':
        case_memscan(*sys.argv[2:])
        return
    host, port = sys.argv[2], int(sys.argv[3])
    a = sys.argv[4:]
    if case == 'gssapi':
        case_gssapi(host, port, a[0] == 'oids')
    elif case == 'hostbased':
        case_hostbased(host, port)
    elif case == 'none':
        case_none(host, port)
    elif case == 'pubkey':
        case_pubkey(host, port)
    elif case == 'kbdint':
        case_kbdint(host, port, a[0])
    elif case == 'malformed':
        case_malformed(host, port)
    elif case == 'nokex':
        case_nokex(host, port, int(a[0]))
    elif case == 'failed-logins':
        case_failed_logins(host, port, int(a[0]), int(a[1]), a[2])
    elif case == 'auth-no-subsystem':
        case_auth_no_subsystem(host, port, int(a[0]), a[1])
    elif case == 'stalled-list':
        case_stalled_list(host, port, a[0], a[1])
    elif case == 'pubkey-login':
        case_pubkey_login(host, port, a[0], a[1])
    elif case == 'probe':
        case_probe(host, port, a[0], a[1], a[2])
    else:
        fail('unknown case ' + case)


if __name__ == '__main__':
    main()
