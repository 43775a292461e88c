# The crash and fault harness of issue 11 (docs/fault-harness.md): the real
# xtapd and build/xtapd-fault (its test-only crash points and I/O faults)
# crashed, restarted and checked against a reference model. Root; a
# namespace lab of its own. Included by the top-level Makefile.

CRASH_BUILD := $(BUILD)/xtapd $(BUILD)/xtapd-fault $(BUILD)/xtapctl
TEST_BUILD_EXTRA += $(CRASH_BUILD)
# make test: the regression tests by name. The random crash run is not in it
# yet: on the merged code about one run in 200 iterations still diverges
# (docs/fault-harness.md "Open"), and a test that fails by chance would make
# every CI run a lottery. `make crashtest` runs it.
TESTS_EXTRA += "tests/crash/crash.sh $(BUILD) --regress"

# make crashtest N=20000 SEED=7 MODE=mixed|kill|points|faults (SEED: random
# if not given, printed either way; a failure prints what replays it)
N    ?= 1000
MODE ?= mixed
.PHONY: crashtest
crashtest: $(CRASH_BUILD)
	$(Q)tests/crash/crash.sh $(BUILD) $(N) "$(SEED)" $(MODE)
