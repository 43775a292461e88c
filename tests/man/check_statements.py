#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""xtapd.conf(5) against the configuration parser.

usage: check_statements.py XTAP_CONFIG_CHECK MANPAGE

The statements the parser knows come from the compiled grammar
(`xtap-config-check --statements`: loader/config/config.c's grammar[]); the
documented ones from the man page's STATEMENTS section, each an `.It Ic ...`
line whose Ic words are literal and whose Ar/Cm words are values (`a | b`
one value). Both become a shape, the literal words with `$` for each value,
and the two sets must be equal. Each entry must also say its default and
what SIGHUP does. Prints one line per check and `N passed, N failed`.
"""
import subprocess
import sys

MACROS_LITERAL = {"Ic"}
MACROS_VALUE = {"Ar", "Cm", "Li"}


def grammar_shape(pat):
    out = []
    for w in pat.split():
        if w == "=":
            continue  # single-valued marker, not a word of the statement
        out.append("$" if w.startswith("$") else w)
    return " ".join(out)


def it_shape(line):
    """`.It Ic a b Ar x Ic c Ar y | z` -> `a b $ c $`."""
    toks = line.split()[1:]
    out, mode, join = [], None, False
    for t in toks:
        if t in MACROS_LITERAL or t in MACROS_VALUE:
            mode = "lit" if t in MACROS_LITERAL else "val"
            continue
        if t == "|":
            join = True
            continue
        if mode == "lit":
            out.append(t)
        elif mode == "val":
            if not join:
                out.append("$")
        else:
            raise ValueError("word %r before any macro" % t)
        join = False
    return " ".join(out)


def man_entries(path):
    """(shape, body lines, line number) of every .It Ic in STATEMENTS."""
    entries, section, cur = [], None, None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith(".Sh "):
                section = line[4:].strip()
                cur = None
                continue
            if section != "STATEMENTS":
                continue
            if line.startswith(".It Ic "):
                cur = (it_shape(line), [], n)
                entries.append(cur)
            elif line.startswith(".It") or line.startswith(".El"):
                cur = None
            elif cur is not None:
                cur[1].append(line)
    return entries


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    check, page = sys.argv[1], sys.argv[2]
    pats = subprocess.run([check, "--statements"], check=True, capture_output=True,
                          text=True).stdout.split("\n")
    code = {grammar_shape(p) for p in pats if p}
    entries = man_entries(page)
    doc = [e[0] for e in entries]
    passed = failed = 0

    def verdict(ok, what):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + what)
        if ok:
            passed += 1
        else:
            failed += 1

    verdict(len(code) >= 40, "the parser lists its statements (%d)" % len(code))
    for s in sorted(code):
        verdict(s in doc, "documented: set %s" % s)
    for s in sorted(set(doc) - code):
        verdict(False, "documented but unknown to the parser: set %s" % s)
    for s in sorted({d for d in doc if doc.count(d) > 1}):
        verdict(False, "documented twice: set %s" % s)
    for shape, body, n in entries:
        text = " ".join(body)
        verdict("Default:" in text and "SIGHUP: re" in text,
                "%s:%d: set %s says its default and SIGHUP" % (page, n, shape))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
