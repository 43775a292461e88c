# SPDX-License-Identifier: BSD-2-Clause
"""Read xtapd's pinned rules map straight from the kernel (bpf(2) through
ctypes), so that the harness sees the datapath itself, not xtapd's account
of it. Layout: include/xtap.h, struct xtap_rule (112 bytes)."""
import ctypes
import os
import struct

BPF_MAP_LOOKUP_ELEM = 1
BPF_OBJ_GET = 7
BPF_MAP_LOOKUP_BATCH = 24
NR_BPF = 321  # x86_64

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

RULE_SIZE = 112
XTAP_R_ACTIVE = 1  # checked against include/xtap.h at import by the runner


def _bpf(cmd, attr):
    r = _libc.syscall(NR_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def obj_get(path):
    p = ctypes.create_string_buffer(path.encode())
    attr = (ctypes.c_uint8 * 128)()
    struct.pack_into("=QII", attr, 0, ctypes.addressof(p), 0, 0)
    return _bpf(BPF_OBJ_GET, attr)


def read_rules(path, slots):
    """Every active rule in the first `slots` slots (the map's size: xtapd
    runs with -C): (slot, uid, family, scope, src bytes, src_plen, dst bytes,
    dst_plen, ncd)."""
    fd = obj_get(path)
    try:
        keys = (ctypes.c_uint32 * slots)()
        vals = ctypes.create_string_buffer(RULE_SIZE * slots)
        out_batch = ctypes.c_uint32()
        attr = (ctypes.c_uint8 * 128)()
        struct.pack_into("=QQQQIIQQ", attr, 0, 0, ctypes.addressof(out_batch), ctypes.addressof(keys),
                         ctypes.addressof(vals), slots, fd, 0, 0)
        try:
            _bpf(BPF_MAP_LOOKUP_BATCH, attr)
        except OSError as e:
            if e.errno != 2:  # ENOENT: the whole map was read
                raise
        count = struct.unpack_from("=I", attr, 32)[0]
        out = []
        for i in range(count):
            b = vals.raw[i * RULE_SIZE:(i + 1) * RULE_SIZE]
            uid, flags, family, scope = struct.unpack_from("=IHBB", b, 0)
            if not flags & XTAP_R_ACTIVE:
                continue
            out.append((keys[i], uid, family, scope, b[16:32], b[48], b[32:48], b[49], b[50]))
        return out, count
    finally:
        os.close(fd)
