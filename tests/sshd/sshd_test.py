#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""End-to-end tests of xtapd's SSH worker (loader/worker/worker.c) behind the real
monitor: build/xtapd itself, in a network namespace this test creates and
always removes (its datapath on a veth pair there, pins under
/sys/fs/bpf/xtap-sshd<pid>), on 127.0.0.1 with free high ports. The test
process enters that namespace, so every client runs there too. What the
monitor decided is read from its audit log and its log, as an operator
would.

Clients: OpenSSH (key, password through SSH_ASKPASS, keyboard-interactive),
the `dtcp` client, and paramiko behaving like deployed mediation devices
(one recv per reply, Seq always 1, pipelined messages, a connection per
request). Refusals, limits, timeouts, and the worker's privileges from
/proc. Everything is set up in a temporary folder and always torn down.

Usage: sshd_test.py BUILD_DIR. Prints "sshd: N passed, N failed[, N skipped]".
Runs with /usr/bin/python3 (Debian's python3-paramiko)."""
import hashlib
import hmac
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pycheck import check, skip, summary  # noqa: E402

USER = 'ftap1'
PASSWORD = 'xtap-test-pw'      # TEST_HASH is its crypt(3) hash
# crypt(3) SHA-512 of PASSWORD, as `mkpasswd -m sha-512 -S xtaptestsalt` gives it
TEST_HASH = ('$6$xtaptestsalt$KVXqPdNh1kdv0b13JQFDCVlxalCARleSmGxhtooWwTvP5llEJeoq.'
             '/G7SVovO0Bbqjl.TJBXMKuTJatpflSUb.')
DTCP_KEY = b'Juniper'          # the control source's key in the configuration below
NOBODY = 65534
# the namespace and pins, unique to this run (LAB_PREFIX: names of one's own
# beside other engineers' runs, as tests/xtapd/lab.sh)
LAB_PREFIX = os.environ.get('LAB_PREFIX', '')
NS = '%sxsh%d' % (LAB_PREFIX, os.getpid())
PIN = '/sys/fs/bpf/%sxtap-sshd%d' % (LAB_PREFIX, os.getpid())


# Measuring the seccomp allowlist (docs/privsep.md): SSHD_TEST_WRAP="strace -ff
# -o FILE" runs each xtapd under that command (the exec'd worker included),
# SSHD_TEST_NOSECCOMP=1 has xtapd exec (-W) a script that starts its worker
# with the worker's own -S (no filter). Both off in `make test`.
WRAP = os.environ.get('SSHD_TEST_WRAP', '').split()
NOSECCOMP = os.environ.get('SSHD_TEST_NOSECCOMP') == '1'
# the daemon under test, below BUILD_DIR: the sanitized build (ASan + UBSan,
# the exec'd worker too); SSHD_TEST_XTAPD=xtapd for the plain one
XTAPD = os.environ.get('SSHD_TEST_XTAPD', 'san/xtapd')


def finish():
    sys.exit(summary('sshd'))


def sign(body):
    """A DTCP message from LF-separated header lines, signed (dtcp.md 3.1)."""
    body = body.strip('\n').replace('\n', '\r\n') + '\r\n'
    digest = hmac.new(DTCP_KEY, body.encode(), hashlib.sha1).hexdigest()
    return (body + 'Authentication-Info: ' + digest + '\r\n\r\n').encode()


def noop(seq=1):
    return sign('NOOP DTCP/0.8\nCsource-ID: %s\nSeq: %d' % (USER, seq))


def add(src, seq=1):
    return sign('ADD DTCP/0.8\nCsource-ID: %s\nCdest-ID: cdconf\nSource-Address: %s\n'
                'Flags: STATIC\nSeq: %d' % (USER, src, seq))


def lst(seq=1):
    return sign('LIST DTCP/0.8\nCsource-ID: %s\nSeq: %d' % (USER, seq))


def whole_replies(data):
    """Splits received bytes into replies; None unless they are all whole."""
    if not data.endswith(b'\r\n\r\n'):
        return None
    parts = data.split(b'\r\n\r\n')[:-1]
    if not all(p.startswith(b'DTCP/0.') and b'AUTHENTICATION-INFO: ' in p for p in parts):
        return None
    return parts


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def enter_namespace():
    """A namespace with lo and a veth pair (the datapath's interface), entered
    by this process: xtapd, the clients and paramiko's threads run in it."""
    import ctypes
    for cmd in (['ip', 'netns', 'add', NS], ['ip', '-n', NS, 'link', 'set', 'lo', 'up'],
                ['ip', '-n', NS, 'link', 'add', 's0', 'type', 'veth', 'peer', 'name', 'c0'],
                ['ip', '-n', NS, 'link', 'set', 's0', 'up'], ['ip', '-n', NS, 'link', 'set', 'c0', 'up']):
        subprocess.run(cmd, check=True)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open('/run/netns/' + NS, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), 'setns ' + NS)
    os.close(fd)


def leave_namespace():
    subprocess.run(['ip', 'netns', 'del', NS], stderr=subprocess.DEVNULL)
    shutil.rmtree(PIN, ignore_errors=True)


def config_text(tmp, name, port, limits):
    with open(os.path.join(tmp, 'id.pub')) as f:
        key = ' '.join(f.read().split()[:2])
    ssh = 'set system services flow-tap-dtcp ssh '
    lines = ['set system login class flowtap permissions flow-tap-operation',
             'set system login user %s uid 2001' % USER,
             'set system login user %s class flowtap' % USER,
             'set system login user %s authentication encrypted-password "%s"' % (USER, TEST_HASH),
             'set system login user %s authentication ssh-ed25519 "%s"' % (USER, key),
             'set system services flow-tap-dtcp ssh',
             ssh + 'listen-address 127.0.0.1', ssh + 'port %d' % port,
             ssh + 'host-key ' + os.path.join(tmp, 'hostkey'),
             'set interfaces vt-4/0/0 unit 0 family inet',
             'set services flow-tap tunnel-interface vt-4/0/0.0',
             'set services flow-tap control-source %s key "%s"' % (USER, DTCP_KEY.decode()),
             'set services flow-tap content-destination cdconf address 203.0.113.10',
             'set services flow-tap content-destination cdconf port 7890',
             'set services flow-tap interface s0 mode xdp-native',
             'set services flow-tap state-file ' + os.path.join(tmp, name + '.state'),
             'set services flow-tap audit-log ' + os.path.join(tmp, name + '.audit')]
    # one client address in these tests: the per-source limits are the global ones
    for k, v in limits.items():
        lines += [ssh + '%s %d' % (k, v)]
        if k in ('connection-limit', 'rate-limit'):
            lines += [ssh + 'per-source %s %d' % (k, v)]
    return '\n'.join(lines) + '\n'


def noseccomp_worker(tmp, build):
    """The worker as xtapd execs it (same fds, same arguments), plus -S."""
    path = os.path.join(tmp, 'noseccomp-worker')
    with open(path, 'w') as f:
        f.write('#!/bin/sh\nexec %s "$@" -S\n' % os.path.join(build, XTAPD))
    os.chmod(path, 0o755)
    return path


class Monitor:
    """The real xtapd with its worker. Its audit log (one JSON object a line)
    and its log say what the monitor decided."""

    def __init__(self, tmp, build, name, limits=None):
        self.tmp = tmp
        self.name = name
        self.build = build
        self.port = None
        self.audit = os.path.join(tmp, name + '.audit')
        self.ctl = os.path.join(tmp, name + '.ctl')
        for _ in range(5):
            port = free_port()
            conf = os.path.join(tmp, name + '.conf')
            with open(conf, 'w') as f:
                f.write(config_text(tmp, name, port, limits or {}))
            self.err = open(os.path.join(tmp, name + '.err'), 'w')
            self.proc = subprocess.Popen(
                WRAP + [os.path.join(build, XTAPD), '-f', conf, '-P', PIN, '-S', self.ctl] +
                (['-W', noseccomp_worker(tmp, build)] if NOSECCOMP else []),
                stdout=self.err, stderr=self.err)
            if self._wait_listening(port):
                self.port = port
                break
            self.stop()
        self.worker_pid = None
        st = self.status()
        if st:
            self.worker_pid = st.get('worker_pid') or None

    def _wait_listening(self, port):
        for _ in range(150):  # loading the datapath takes a few seconds on a busy machine
            if self.proc.poll() is not None:
                return False
            if 'serving DTCP' in self.log():
                try:
                    socket.create_connection(('127.0.0.1', port), timeout=1).close()
                    return True
                except OSError:
                    pass
            time.sleep(0.1)
        return False

    def status(self):
        import json
        r = subprocess.run([os.path.join(self.build, 'xtapctl'), '-S', self.ctl, '--json', 'status'],
                           capture_output=True, text=True, timeout=10)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def log(self):
        with open(self.err.name) as f:
            return f.read()

    def events(self):
        """The audit lines so far, as 'EVENT USER|DETAIL [METHOD]' strings."""
        import json
        out = []
        try:
            with open(self.audit) as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue
                    if 'user' in e:
                        out.append('%s %s %s %s' % (e['event'], e['user'], e.get('method'), e.get('peer')))
                    else:
                        out.append('%s %s' % (e['event'], e.get('detail') or ''))
        except OSError:
            pass
        return out

    def seen(self, regex):
        return [line for line in self.events() if re.search(regex, line)]

    def wait_for(self, regex, timeout=3.0):
        end = time.time() + timeout
        while time.time() < end:
            for line in self.events():
                m = re.search(regex, line)
                if m:
                    return m
            time.sleep(0.05)
        return None

    def wait_count(self, regex, n, timeout=3.0):
        end = time.time() + timeout
        while time.time() < end and self.count(regex) < n:
            time.sleep(0.05)
        return self.count(regex) == n

    def count(self, regex):
        return len(self.seen(regex))

    def stop(self):
        st = self.status() if WRAP and self.proc.poll() is None else None
        if st and st.get('pid'):
            # xtapd runs below the wrapper: it is the one to stop
            try:
                os.kill(int(st['pid']), signal.SIGTERM)
                self.proc.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        return self.log()


# ---- clients -------------------------------------------------------------------------

def pm_connect(port, how='key', tmp=None, password=PASSWORD):
    """An authenticated paramiko transport."""
    import paramiko
    sock = socket.create_connection(('127.0.0.1', port), timeout=10)
    t = paramiko.Transport(sock)
    t.start_client(timeout=10)
    if how == 'key':
        t.auth_publickey(USER, paramiko.Ed25519Key.from_private_key_file(os.path.join(tmp, 'id')))
    elif how == 'password':
        t.auth_password(USER, password)
    else:
        prompts_seen = []

        def handler(title, instructions, prompts):
            prompts_seen.extend(prompts)
            return [password for _ in prompts]
        t.auth_interactive(USER, handler)
        t.prompts_seen = prompts_seen
    return t


def pm_dtcp(t):
    chan = t.open_session(timeout=10)
    chan.settimeout(10)
    chan.invoke_subsystem('flow-tap-dtcp')
    return chan


def recv_one(chan, timeout=10):
    """One recv, as deployed clients do."""
    chan.settimeout(timeout)
    try:
        return chan.recv(65536)
    except socket.timeout:
        return None


def openssh(port, tmp, auth, stdin, extra=(), askpass_pw=PASSWORD, timeout=20, env=None):
    env = dict(os.environ, **(env or {}))
    cmd = ['ssh', '-F', '/dev/null', '-p', str(port),
           '-o', 'UserKnownHostsFile=' + os.path.join(tmp, 'known_hosts'),
           '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes',
           '-o', 'ConnectTimeout=10', '-o', 'NumberOfPasswordPrompts=1']
    if auth == 'key':
        cmd += ['-i', os.path.join(tmp, 'id'), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
                '-o', 'PreferredAuthentications=publickey']
    else:
        askpass = os.path.join(tmp, 'askpass')
        with open(askpass, 'w') as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "%s"\n' % askpass_pw)
        os.chmod(askpass, 0o700)
        env.update(SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE='force', DISPLAY=':0')
        cmd += ['-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=' + auth]
    cmd += list(extra) + ['-s', USER + '@127.0.0.1', 'flow-tap-dtcp']
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, env=env,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


# ---- tests ------------------------------------------------------------------------------

def test_openssh(mon, tmp):
    p = mon.port
    r = openssh(p, tmp, 'key', noop(), extra=['-o', 'SendEnv=LANG'], env={'LANG': 'C.UTF-8'})
    check('openssh, key, env LANG sent (refused): NOOP answered 200, exit 0', r.returncode == 0 and
          b'DTCP/0.8 200 OK\r\nSEQ: 1\r\n' in r.stdout, (r.returncode, r.stdout, r.stderr))
    # OpenSSH signs only after the monitor said yes to its key query (PK_OK)
    check('the monitor checked the key (query, then signed): auth_ok publickey',
          mon.count(r'^auth_ok ftap1 publickey 127\.0\.0\.1$') >= 1, mon.events())

    r = openssh(p, tmp, 'key', noop(3), extra=['-tt'])
    check('openssh -tt: pty refused (a forced tty then makes OpenSSH give up)',
          b'PTY allocation request failed' in r.stderr and r.stdout == b'',
          (r.returncode, r.stdout, r.stderr))

    r = openssh(p, tmp, 'password', add('192.0.2.10') + lst())
    check('openssh, password via SSH_ASKPASS: ADD then LIST', r.returncode == 0 and
          re.search(rb'CRITERIA-ID: \d+', r.stdout) and b'CRITERIA-NUM: 1' in r.stdout,
          (r.returncode, r.stdout, r.stderr))
    check('the monitor checked the password', mon.count(r'^auth_ok ftap1 password 127\.0\.0\.1$') == 1)

    r = openssh(p, tmp, 'keyboard-interactive', noop(7))
    check('openssh, keyboard-interactive: NOOP', r.returncode == 0 and b'SEQ: 7\r\n' in r.stdout,
          (r.returncode, r.stdout, r.stderr))
    check('keyboard-interactive went to AUTH_PASSWORD', mon.count(r'^auth_ok ftap1 password ') == 2)

    r = openssh(p, tmp, 'password', noop(), askpass_pw='wrong')
    check('openssh, wrong password: refused, nothing answered',
          r.returncode == 255 and r.stdout == b'' and b'Permission denied' in r.stderr,
          (r.returncode, r.stdout, r.stderr))
    check('the monitor saw AUTH_PASSWORD and failed it',
          mon.wait_for(r'^auth_fail ftap1 password 127\.0\.0\.1$', 2) is not None)
    check('every session opened was closed',
          mon.wait_for(r'^session_close', 2) and
          mon.count(r'^session_open ftap1 from 127\.0\.0\.1$') == mon.count(r'^session_close ftap1$'),
          (mon.seen('^session_')))


def test_dtcp_client(mon, tmp, build):
    base = [os.path.join(build, 'dtcp'), '-H', '127.0.0.1', '-p', str(mon.port), '-u', USER,
            '-t', '5', '--known-hosts', os.path.join(tmp, 'known_hosts')]
    key = ['-i', os.path.join(tmp, 'id')]
    pwf = os.path.join(tmp, 'password')
    with open(pwf, 'w') as f:
        f.write(PASSWORD + '\n')

    def run(*args):
        return subprocess.run(base + list(args), capture_output=True, text=True, timeout=30)

    r = run(*key, 'add', '--src', '198.51.100.0/24', '--dport', '80', '--proto', '6',
            '--cdest', 'cdconf', '--static')
    m = re.search(r'CRITERIA-ID: (\d+)', r.stdout)
    check('dtcp add (key)', r.returncode == 0 and m, (r.returncode, r.stdout, r.stderr))
    cid = m.group(1) if m else '0'
    r = run('--password-file', pwf, 'list', '--id', cid)
    check('dtcp list (password) shows it', r.returncode == 0 and
          ('CRITERIA-ID: %s' % cid) in r.stdout and 'SOURCE-ADDRESS: 198.51.100.0/24' in r.stdout,
          (r.returncode, r.stdout, r.stderr))
    r = run(*key, 'delete', '--id', cid, '--static')
    check('dtcp delete', r.returncode == 0 and 'CRITERIA-COUNT: 1' in r.stdout,
          (r.returncode, r.stdout, r.stderr))
    r = run(*key, 'noop')
    check('dtcp noop', r.returncode == 0 and '200 OK' in r.stdout, (r.returncode, r.stdout))
    r = run(*key, 'list', '--id', cid)
    check('dtcp list after delete: 431', r.returncode == 1 and '431' in r.stdout,
          (r.returncode, r.stdout))


def test_mediation(mon, tmp):
    """paramiko as deployed mediation devices behave."""
    p = mon.port
    t = pm_connect(p, 'interactive', tmp)
    check('paramiko keyboard-interactive: one prompt "Password: " without echo',
          [(s, e) for s, e in t.prompts_seen] == [('Password: ', False)], t.prompts_seen)
    chan = pm_dtcp(t)
    chan.sendall(noop())
    r = recv_one(chan)
    check('paramiko keyboard-interactive session answers', r and whole_replies(r) and
          len(whole_replies(r)) == 1, r)
    t.close()

    # a keyboard-interactive name longer than a user name is refused, not cut
    # to a prefix that is a real user (USER followed by 70 bytes, USER's password)
    import paramiko
    sock = socket.create_connection(('127.0.0.1', p), timeout=10)
    t = paramiko.Transport(sock)
    t.start_client(timeout=10)
    try:
        t.auth_interactive(USER + 'x' * 70, lambda title, ins, prompts: [PASSWORD for _ in prompts])
        long_ok = t.is_authenticated()
    except paramiko.AuthenticationException:
        long_ok = False
    t.close()
    check('keyboard-interactive: a 75-byte name is refused', not long_ok)
    # ... in the worker: the monitor is never asked about its 63-byte prefix,
    # which would be a real user's name had one that long been configured
    check('keyboard-interactive: the monitor is not asked about the cut name',
          mon.count(r'^auth_\w+ %s ' % (USER + 'x' * (63 - len(USER)))) == 0)

    # a new connection per request, Seq always 1, one recv per reply
    ok = True
    for i in range(4):
        t = pm_connect(p, 'password' if i % 2 else 'key', tmp)
        chan = pm_dtcp(t)
        chan.sendall(add('203.0.113.%d' % (i + 1)) if i < 3 else lst())
        r = recv_one(chan)
        parts = whole_replies(r or b'')
        if not parts or len(parts) != 1 or b' 200 OK' not in parts[0] or b'SEQ: 1' not in parts[0]:
            ok = False
            print('   reply %d: %r' % (i, r))
        chan.close()
        t.close()
    check('a connection per request, Seq 1: each reply whole in one recv', ok)

    # several messages without waiting; every recv holds whole replies only
    t = pm_connect(p, 'key', tmp)
    chan = pm_dtcp(t)
    chan.sendall(noop() + add('203.0.113.50') + noop() + lst())
    got, ok = [], True
    while len(got) < 4:
        r = recv_one(chan, 5)
        if not r:
            break
        parts = whole_replies(r)
        if parts is None:
            ok = False
            break
        got += parts
    check('pipelined: four replies in order, none split across recvs',
          ok and len(got) == 4 and [g.split(b'\r\n')[0] for g in got] == [b'DTCP/0.8 200 OK'] * 4 and
          b'CRITERIA-ID' in got[1] and b'CRITERIA-NUM' in got[3],
          [g[:60] for g in got])

    # a LIST close to 32 KiB: one SSH packet, one recv
    for i in range(20):
        srcs = ', '.join('198.51.100.%d' % j for j in range(1, 61))
        chan.sendall(add(srcs))
    for i in range(20):
        r = recv_one(chan, 5)
        if not r:
            break
    chan.sendall(lst())
    r = recv_one(chan)
    parts = whole_replies(r or b'')
    check('a %d-byte LIST reply arrives whole in one recv' % len(r or b''),
          parts and len(r) > 16384 and b'CRITERIA-NUM' in parts[-1], (len(r or b''), (r or b'')[-80:]))
    t.close()


def test_refusals(mon, tmp):
    import paramiko
    p = mon.port
    t = pm_connect(p, 'key', tmp)
    for what, call in (('exec', lambda c: c.exec_command('id')),
                       ('shell', lambda c: c.invoke_shell()),
                       ('subsystem sftp', lambda c: c.invoke_subsystem('sftp'))):
        before = mon.count(r'^connection_refused refused from ')
        chan = t.open_session(timeout=10)
        try:
            call(chan)
            refused = False
        except paramiko.SSHException:
            refused = True
        r = recv_one(chan, 5)
        check('%s refused, channel closed, nothing sent' % what, refused and r == b'', (refused, r))
        check('%s refusal audited' % what,
              mon.wait_count(r'^connection_refused refused from 127\.0\.0\.1$', before + 1))
        t.close()
        t = pm_connect(p, 'key', tmp)

    # a pty is refused (paramiko then closes its channel itself; OpenSSH
    # goes on, see test_openssh)
    chan = t.open_session(timeout=10)
    try:
        chan.get_pty()
        pty = 'granted'
    except paramiko.SSHException:
        pty = 'refused'
    check('pty refused', pty == 'refused')
    t.close()
    t = pm_connect(p, 'key', tmp)
    chan = pm_dtcp(t)
    # only one session channel per connection; no port forwarding
    try:
        t.open_session(timeout=5)
        second = 'opened'
    except paramiko.SSHException:
        second = 'refused'
    check('a second session channel is refused', second == 'refused')
    try:
        t.open_channel('direct-tcpip', ('127.0.0.1', 22), ('127.0.0.1', 1), timeout=5)
        fwd = 'opened'
    except paramiko.SSHException:
        fwd = 'refused'
    check('port forwarding (direct-tcpip) is refused', fwd == 'refused')
    try:
        port = t.request_port_forward('127.0.0.1', 0)
        rfwd = 'granted %s' % port
    except paramiko.SSHException:
        rfwd = 'refused'
    check('remote port forwarding (tcpip-forward) is refused', rfwd == 'refused', rfwd)
    t.close()

    # bad HMAC: no reply; the third in a row closes the session
    t = pm_connect(p, 'key', tmp)
    chan = pm_dtcp(t)
    bad = noop().replace(b'Authentication-Info: ', b'Authentication-Info: 0')[:-5] + b'\r\n\r\n'
    replies = []
    for i in range(2):
        chan.sendall(bad)
        replies.append(recv_one(chan, 1))
    check('bad HMAC: no reply to the first two', replies == [None, None], replies)
    closes = mon.count(r'^session_close ftap1$')
    chan.sendall(bad)
    r = recv_one(chan, 5)
    check('bad HMAC: the third closes the session without a reply', r == b'', r)
    # the channel closes only on the monitor's DTCP_CLOSE: the session's end
    # is in the audit log before this client closes anything
    check('the monitor closed it (DTCP_CLOSE)', mon.wait_count(r'^session_close ftap1$', closes + 1, 2))
    t.close()

    # wrong passwords on one connection: closed after the sixth
    sock = socket.create_connection(('127.0.0.1', p), timeout=10)
    tr = paramiko.Transport(sock)
    tr.start_client(timeout=10)
    before = mon.count(r'^auth_fail ftap1 password ')
    tries = 0
    for _ in range(8):
        if not tr.is_active():
            break
        try:
            tr.auth_password(USER, 'nope')
        except paramiko.AuthenticationException:
            tries += 1
        except (paramiko.SSHException, EOFError, OSError):
            break
        time.sleep(0.2)  # lets the transport see a disconnect
    check('wrong passwords: the connection is closed after the sixth',
          tries == 6 and not tr.is_active() and
          mon.wait_count(r'^auth_fail ftap1 password ', before + 6), (tries, tr.is_active()))
    check('too many failures audited', mon.wait_for(r'^connection_refused auth-tries from 127\.0\.0\.1$', 2))
    tr.close()


def test_slow_clients(mon, tmp):
    """Stalled connections never hold up another client."""
    stalled = [socket.create_connection(('127.0.0.1', mon.port)) for _ in range(3)]
    stalled[1].sendall(b'SSH-2.0-half')  # a banner without its line end
    t0 = time.time()
    t = pm_connect(mon.port, 'key', tmp)
    chan = pm_dtcp(t)
    chan.sendall(noop())
    r = recv_one(chan)
    took = time.time() - t0
    check('with 3 stalled connections a client is served in %.2f s' % took,
          whole_replies(r or b'') and took < 3, (r, took))
    # a client that never reads: its replies queue, others are still served
    t2 = pm_connect(mon.port, 'key', tmp)
    c2 = pm_dtcp(t2)
    for _ in range(20):
        c2.sendall(lst())
    t1 = time.time()
    chan.sendall(noop())
    r = recv_one(chan)
    check('a client that does not read does not delay another',
          whole_replies(r or b'') and time.time() - t1 < 2, r)
    t2.close()
    t.close()
    for s in stalled:
        s.close()


def proc_status(pid):
    with open('/proc/%d/status' % pid) as f:
        return dict(line.rstrip('\n').split(':\t', 1) for line in f if ':\t' in line)


def test_privileges(mon):
    if not mon.worker_pid:
        check('worker pid known', False)
        return
    # the worker drops its privileges after its exec: on a busy machine this
    # test may look first, so wait for the sandbox (5 s)
    deadline = time.time() + 5
    st = proc_status(mon.worker_pid)
    def sandboxed(st):
        return st.get('Uid', '0').split()[0] != '0' and (NOSECCOMP or st.get('Seccomp') == '2')
    while not sandboxed(st) and time.time() < deadline:
        time.sleep(0.05)
        st = proc_status(mon.worker_pid)
    check('worker Uid is nobody (real, effective, saved, fs)',
          st.get('Uid', '').split() == [str(NOBODY)] * 4, st.get('Uid'))
    check('worker Gid is nogroup', st.get('Gid', '').split() == [str(NOBODY)] * 4, st.get('Gid'))
    check('worker has no supplementary groups', st.get('Groups', '').strip() == '', st.get('Groups'))
    for cap in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'):
        check('worker %s is 0' % cap, int(st.get(cap, 'f'), 16) == 0, st.get(cap))
    check('worker NoNewPrivs 1', st.get('NoNewPrivs') == '1', st.get('NoNewPrivs'))
    check('worker Seccomp 2 (filter)', st.get('Seccomp') == '2', st.get('Seccomp'))
    # the monitor still is root: the split is real
    check('the monitor keeps its privileges', proc_status(mon.proc.pid).get('Uid', '').split()[0] == '0')


def raw_banner(port, timeout=3):
    """Connects and returns what the server sends first (b'' = closed)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    try:
        return s, s.recv(256)
    except socket.timeout:
        return s, None


def no_restart(mon):
    """The worker never died (a seccomp kill would be a restart): xtapctl's
    count, and no line of the supervisor about it."""
    st = mon.status() or {}
    return (st.get('worker_restarts') == 0 and st.get('worker_pid') == mon.worker_pid and
            '; restart ' not in mon.log())


def test_limits(tmp, build):
    mon = Monitor(tmp, build, 'limits', {'connection-limit': 2, 'idle-timeout': 2})
    try:
        if not check('limits monitor started', mon.port):
            return
        time.sleep(0.5)  # the worker sees the start-up probe hang up
        a, ba = raw_banner(mon.port)
        b, bb = raw_banner(mon.port)
        c, bc = raw_banner(mon.port)
        check('connection limit 2: two get the banner', ba and ba.startswith(b'SSH-2.0-') and
              bb and bb.startswith(b'SSH-2.0-'), (ba, bb))
        check('the third is closed before the banner', bc == b'', bc)
        check('refusal reported to the monitor',
              mon.wait_for(r'^connection_refused connection-limit from 127\.0\.0\.1$', 2))
        # the auth timeout (60 s, the worker's fixed auth_secs: not configurable)
        # closes the two that never authenticate
        t0 = time.time()
        a.settimeout(70)
        try:
            rest = a.recv(4096)
            while rest:
                rest = a.recv(4096)
            closed = True
        except socket.timeout:
            closed = False
        check('auth timeout closes an unauthenticated connection (%.1f s)' % (time.time() - t0),
              closed and 55 < time.time() - t0 < 65)
        check('auth timeout reported', mon.wait_for(r'^connection_refused auth-timeout from 127\.0\.0\.1$', 2))
        for s in (a, b, c):
            s.close()
        time.sleep(0.5)
        # idle timeout (2 s) on an authenticated DTCP session
        t = pm_connect(mon.port, 'key', tmp)
        chan = pm_dtcp(t)
        chan.sendall(noop())
        r = recv_one(chan)
        t0 = time.time()
        r2 = recv_one(chan, 6)
        check('idle timeout closes a silent session (%.1f s)' % (time.time() - t0),
              whole_replies(r or b'') and r2 == b'' and 1.5 < time.time() - t0 < 4.5, (r, r2))
        check('idle timeout reported and the DTCP session closed',
              mon.wait_for(r'^connection_refused idle-timeout from 127\.0\.0\.1$', 2) and
              mon.wait_for(r'^session_close ftap1$', 2))
        t.close()
    finally:
        check('limits monitor: the worker was never restarted', no_restart(mon), mon.log()[-500:])
        mon.stop()

    mon = Monitor(tmp, build, 'rate', {'rate-limit': 3})
    try:
        if not check('rate monitor started', mon.port):
            return
        # the start-up probe was the first of this minute's three
        socks, banners = [], []
        for _ in range(3):
            s, b = raw_banner(mon.port)
            socks.append(s)
            banners.append(b)
        check('rate limit 3/min: the fourth connection in a minute is refused before the banner',
              banners[0] and banners[0].startswith(b'SSH-2.0-') and
              banners[1] and banners[1].startswith(b'SSH-2.0-') and banners[2] == b'', banners)
        check('rate refusal reported', mon.wait_for(r'^connection_refused rate-limit from 127\.0\.0\.1$', 2))
        for s in socks:
            s.close()
    finally:
        check('rate monitor: the worker was never restarted', no_restart(mon), mon.log()[-500:])
        mon.stop()


def main():
    # paramiko logs refused channels to stderr; the checks say what matters
    logging.getLogger('paramiko').setLevel(logging.CRITICAL)
    if len(sys.argv) != 2:
        print('usage: sshd_test.py BUILD_DIR')
        sys.exit(2)
    build = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        skip('sshd', 'needs root (the worker switches to nobody)')
        finish()
    try:
        import paramiko  # noqa: F401
    except ImportError:
        skip('sshd', 'no paramiko for /usr/bin/python3 (apt install python3-paramiko)')
        finish()
    for tool in ('ssh', 'ssh-keygen'):
        if not shutil.which(tool):
            skip('sshd', 'no %s (openssh-client)' % tool)
            finish()

    tmp = tempfile.mkdtemp(prefix='xtap-sshd-')
    os.chmod(tmp, 0o755)
    mon = None
    enter_namespace()
    try:
        for name in ('hostkey', 'id'):
            subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f',
                            os.path.join(tmp, name)], check=True)
        mon = Monitor(tmp, build, 'main', {'idle-timeout': 30, 'rate-limit': 250})
        if not check('monitor and worker started', mon.port, mon.stop() if not mon.port else ''):
            finish()
        with open(os.path.join(tmp, 'hostkey.pub')) as f:
            hk = ' '.join(f.read().split()[:2])
        with open(os.path.join(tmp, 'known_hosts'), 'w') as f:
            f.write('[127.0.0.1]:%d %s\n' % (mon.port, hk))

        test_privileges(mon)
        test_openssh(mon, tmp)
        test_dtcp_client(mon, tmp, build)
        test_mediation(mon, tmp)
        test_refusals(mon, tmp)
        test_slow_clients(mon, tmp)
        refused = re.findall(r'(?m)^xtapd: warning: worker: .*$', mon.log())
        check('no message from the worker was rejected by the monitor', not refused, refused)
        check('the worker was never restarted (not killed by seccomp)', no_restart(mon),
              mon.log()[-2000:])
        err = mon.stop()
        check('no sanitizer report', 'Sanitizer' not in err and 'runtime error' not in err,
              err[-2000:])
        # a stop closes the worker's socket and sends SIGTERM: it ends with
        # status 0 or by that signal, never by the filter's SIGSYS at exit
        ended = re.findall(r'(?m)^.*(?:ended at stop|did not stop within).*$', err)
        check('the worker ended cleanly at the stop (exit 0 or SIGTERM)', not ended, ended)
        mon = None
        test_limits(tmp, build)
    finally:
        if mon:
            mon.stop()
        leave_namespace()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == '__main__':
    main()
