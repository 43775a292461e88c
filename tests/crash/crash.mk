# SPDX-License-Identifier: BSD-2-Clause
# The crash and fault harness of issue 11 (docs/fault-harness.md): the real
# xtapd and build/xtapd-fault (its test-only crash points and I/O faults)
# crashed, restarted and checked against a reference model. Root; a
# namespace lab of its own. Included by the top-level Makefile.

CRASH_BUILD := $(BUILD)/xtapd $(BUILD)/xtapd-fault $(BUILD)/xtapctl
TEST_BUILD_EXTRA += $(CRASH_BUILD)
# make test: the regression tests by name, then 200 iterations of the
# random run (a seed of its own each time, printed: a failure replays with
# make crashtest SEED=... N=...). About 0.6 s an iteration on an idle 2-CPU
# VM; 200, not 300, since session 10: CI (18 min) must stay under 20 minutes,
# and each session runs `make crashtest N=300` or more beside it.
CRASH_TEST_N ?= 200
TESTS_EXTRA += "tests/crash/crash.sh $(BUILD) --regress" "tests/crash/crash.sh $(BUILD) $(CRASH_TEST_N)"
# X1 (issue 17): the disk-full check, then 200 random iterations of an
# ADMF's containers with kill -9, crash points and I/O faults (about 0.3 s
# each on an idle 2-CPU VM; make x1crashtest N= SEED= MODE= for more)
X1_CRASH_TEST_N ?= 200
TESTS_EXTRA += "tests/crash/x1crash.sh $(BUILD) $(X1_CRASH_TEST_N)"

# make crashtest N=20000 SEED=7 MODE=mixed|kill|points|faults (SEED: random
# if not given, printed either way; a failure prints what replays it)
N    ?= 1000
MODE ?= mixed
.PHONY: crashtest x1crashtest
crashtest: $(CRASH_BUILD)
	$(Q)tests/crash/crash.sh $(BUILD) $(N) "$(SEED)" $(MODE)
x1crashtest: $(CRASH_BUILD)
	$(Q)tests/crash/x1crash.sh $(BUILD) $(N) "$(SEED)" $(MODE)
