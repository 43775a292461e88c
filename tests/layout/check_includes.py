#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The include graph of the tree (docs/design.md, "Layout").

Resolves every `#include "..."` of the C sources as the compiler does (the
including file's folder, then the build's -I folders in the top-level
Makefile's order) and checks:
  - every include resolves to one file of the tree (or a generated header:
    vmlinux.h, *.skel.h);
  - no header name is found in two -I folders (an include would mean
    whichever comes first);
  - each folder includes only from the folders below it (LAYERS);
  - xtapctl includes only the control protocol (loader/common/ctlproto.h);
  - the graph has no cycle;
  - every source file (C, shell, Python, make) carries an SPDX license line
    in its first three lines.
First a self-test on a small tree with one fault of each kind, so that a
checker that cannot see faults fails. Prints what it finds (the largest
fan-in and fan-out, files per folder) and "N passed, M failed".

usage: check_includes.py [ROOT]
"""
import os
import re
import sys
import tempfile

# the -I folders of the top-level Makefile (SRC_DIRS), in order
SRC_DIRS = ["include", "dtcp"] + ["loader/" + d for d in
                                  ("common", "lib", "config", "worker", "x3", "x1", "xtapd", "tools")]
TEST_DIRS = ["tests", "tests/dtcp", "tests/x1"]
GENERATED = re.compile(r"^(vmlinux\.h|[a-z0-9_]+\.skel\.h)$")

# folder -> the folders its files may include (itself always). tests/ may
# include anything; bpf/ only the contract.
LAYERS = {
    "include": set(),
    "dtcp": set(),
    "dtcp/client": {"dtcp"},
    "bpf": {"include"},
    "loader/common": {"include", "dtcp"},
    "loader/lib": {"loader/common", "include", "dtcp"},
    "loader/config": {"loader/common", "include", "dtcp"},
    "loader/worker": {"loader/common", "include", "dtcp"},
    "loader/x3": {"loader/config", "loader/common", "include", "dtcp"},
    "loader/x1": {"loader/common", "include", "dtcp"},
    "loader/xtapd": {"loader/lib", "loader/config", "loader/worker", "loader/x3", "loader/x1",
                     "loader/common", "include", "dtcp"},
    "loader/tools": {"loader/config", "loader/common", "include", "dtcp"},
}
# files held to less than their folder
ONLY = {"loader/tools/xtapctl.c": {"loader/common/ctlproto.h"}}

INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(root):
    out = []
    for top in ["include", "dtcp", "bpf", "loader", "tests"]:
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


SPDX_EXT = (".c", ".h", ".sh", ".py", ".mk")


def unlicensed(root):
    """Source files without an SPDX-License-Identifier in their first lines."""
    out = []
    cands = ["Makefile", "debian/rules", ".ci/run"]
    for top in ["include", "dtcp", "bpf", "loader", "tests", "scripts", "man", ".ci"]:
        for d, _, files in os.walk(os.path.join(root, top)):
            if "/corpus" in d:
                continue
            cands += [os.path.relpath(os.path.join(d, f), root) for f in files if f.endswith(SPDX_EXT)]
    for rel in sorted(set(cands)):
        p = os.path.join(root, rel)
        if not os.path.isfile(p):
            continue
        with open(p, errors="replace") as f:
            head = [f.readline() for _ in range(3)]
        if not any("SPDX-License-Identifier:" in line for line in head):
            out.append(rel)
    return out


def search_path(rel):
    """The -I folders the build gives a file's compile."""
    if rel.startswith("bpf/"):
        return ["include", "bpf"]
    if rel.startswith("tests/"):
        return SRC_DIRS + TEST_DIRS
    return SRC_DIRS


def resolve(root, rel, name):
    here = os.path.normpath(os.path.join(os.path.dirname(rel), name))
    if os.path.isfile(os.path.join(root, here)):
        return here
    for d in search_path(rel):
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(root, p)):
            return p
    return None


def folder(rel):
    return os.path.dirname(rel)


def check(root):
    """Returns (faults, graph)."""
    faults = []
    graph = {}
    for rel in sources(root):
        with open(os.path.join(root, rel), errors="replace") as f:
            text = f.read()
        graph[rel] = set()
        for name in INC.findall(text):
            tgt = resolve(root, rel, name)
            if tgt is None:
                if not GENERATED.match(os.path.basename(name)):
                    faults.append("%s: \"%s\" resolves to no file" % (rel, name))
                continue
            graph[rel].add(tgt)
            if rel in ONLY and tgt not in ONLY[rel]:
                faults.append("%s includes %s (only %s allowed)" % (rel, tgt, ", ".join(sorted(ONLY[rel]))))
            src_f, tgt_f = folder(rel), folder(tgt)
            if src_f.startswith("tests") or src_f == tgt_f:
                continue
            allowed = LAYERS.get(src_f)
            if allowed is None:
                faults.append("%s: folder %s has no place in the layers" % (rel, src_f))
            elif tgt_f not in allowed:
                faults.append("%s includes %s: %s is not below %s" % (rel, tgt, tgt_f, src_f))
    # a header name in two -I folders
    seen = {}
    for d in SRC_DIRS:
        p = os.path.join(root, d)
        for f in sorted(os.listdir(p)) if os.path.isdir(p) else []:
            if f.endswith(".h"):
                if f in seen:
                    faults.append("%s in both %s and %s" % (f, seen[f], d))
                seen.setdefault(f, d)
    # cycles (iterative DFS, colours)
    colour = {}
    for start in graph:
        if colour.get(start):
            continue
        stack = [(start, iter(sorted(graph[start])))]
        colour[start] = 1
        path = [start]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
                continue
            c = colour.get(nxt, 0)
            if c == 1:
                faults.append("cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            elif c == 0 and nxt in graph:
                colour[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(sorted(graph[nxt]))))
    return faults, graph


def self_test():
    """A tree with one fault of each kind: each must be found."""
    with tempfile.TemporaryDirectory() as t:
        def put(rel, text):
            os.makedirs(os.path.join(t, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(t, rel), "w") as f:
                f.write(text)
        put("include/xtap.h", "")
        put("loader/common/log.h", '#include "classifier.h"\n')       # upward
        put("loader/lib/classifier.h", '#include "a.h"\n')
        put("loader/lib/a.h", '#include "classifier.h"\n')            # cycle
        put("loader/xtapd/log.h", "")                                  # name twice
        put("loader/tools/xtapctl.c", '#include "log.h"\n')            # beyond ctlproto.h
        put("loader/xtapd/x.c", '#include "nowhere.h"\n#include "xtap.skel.h"\n')  # unresolved
        put("loader/common/lic.c", "/* SPDX-License-Identifier: BSD-2-Clause */\n")
        faults, _ = check(t)
        faults += ["unlicensed " + u for u in unlicensed(t)]
        want = ["is not below", "cycle:", "in both", "only loader/common/ctlproto.h", "resolves to no file",
                "unlicensed loader/common/log.h"]
        missed = [w for w in want if not any(w in f for f in faults)]
        extra = [f for f in faults if "skel" in f]
        extra += [f for f in faults if f.endswith("lic.c")]
        return missed, extra


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    root = os.path.abspath(root)
    passed = failed = 0

    missed, extra = self_test()
    if missed or extra:
        print("FAIL self-test: missed %s, wrongly flagged %s" % (missed, extra))
        failed += 1
    else:
        print("ok   self-test: an upward include, a cycle, a name twice, xtapctl's bound, an "
              "unresolved include and a file without a license line are each found")
        passed += 1

    faults, graph = check(root)
    kinds = [("resolves", "every include resolves"), ("in both", "no header name in two -I folders"),
             ("not below", "each folder includes only from below it"),
             ("has no place", "every folder has a place in the layers"),
             ("only ", "xtapctl includes only the control protocol"), ("cycle:", "no include cycle")]
    for key, what in kinds:
        mine = [f for f in faults if key in f]
        if mine:
            failed += 1
            print("FAIL %s:" % what)
            for f in mine:
                print("       " + f)
        else:
            passed += 1
            print("ok   %s" % what)

    nolic = unlicensed(root)
    if nolic:
        failed += 1
        print("FAIL every source file carries an SPDX license line: not " + ", ".join(nolic))
    else:
        passed += 1
        print("ok   every source file carries an SPDX license line")

    # what the graph looks like (figures, not checks)
    per = {}
    for rel in graph:
        per.setdefault(folder(rel), []).append(rel)
    print("files per folder: " + ", ".join("%s %d" % (d, len(v)) for d, v in sorted(per.items())
                                            if not d.startswith("tests")))
    fan_in = {}
    for rel, tgts in graph.items():
        for t in tgts:
            fan_in[t] = fan_in.get(t, 0) + 1
    top_in = sorted(fan_in.items(), key=lambda kv: -kv[1])[:3]
    top_out = sorted(((r, len(t)) for r, t in graph.items() if not r.startswith("tests")),
                     key=lambda kv: -kv[1])[:3]
    print("most included: " + ", ".join("%s %d" % kv for kv in top_in))
    print("most including: " + ", ".join("%s %d" % kv for kv in top_out))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
