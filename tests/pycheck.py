# SPDX-License-Identifier: BSD-2-Clause
"""The Python tests' one way to count checks (as tests/check.h is the C
tests'): check(name, cond, detail) prints "ok   NAME" or "FAIL NAME: DETAIL",
skip(name, why) "SKIP NAME: WHY", and summary(label) the closing line
"LABEL: N passed, N failed, N skipped" that tests/run.sh adds up, returning
the exit status (1 when anything failed).

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from pycheck import check, skip, summary
"""
import sys

counts = {"passed": 0, "failed": 0, "skipped": 0}


def check(name, cond, detail=""):
    """Counts and prints one check; returns cond (a caller may stop on it)."""
    if cond:
        counts["passed"] += 1
        print("ok   " + name)
    else:
        counts["failed"] += 1
        print("FAIL " + name + (": " + str(detail) if detail else ""))
    sys.stdout.flush()
    return cond


def skip(name, why):
    """A check that could not run here: counted as skipped, never as passed."""
    counts["skipped"] += 1
    print("SKIP %s: %s" % (name, why))
    sys.stdout.flush()


def failed():
    return counts["failed"]


def summary(label=None):
    line = "%d passed, %d failed, %d skipped" % (counts["passed"], counts["failed"], counts["skipped"])
    print((label + ": " if label else "") + line)
    sys.stdout.flush()
    return 1 if counts["failed"] else 0
