# libFuzzer targets (clang, ASan + UBSan) for every parser that takes bytes
# from outside: the DTCP request and reply parsers (tests/dtcp/fuzz_*.c,
# built by dtcp/dtcp.mk), the monitor <-> worker codec, the configuration
# parser and the state/journal loader (tests/fuzz/fuzz_*.c), the X1 request
# path (tests/x1/fuzz_x1.c, built by x1/x1.mk), the X3 PDU decoder and the X3
# status lines (tests/fuzz/fuzz_x3*.c). Included by the
# top-level Makefile after dtcp/dtcp.mk. Seed corpora are kept in
# tests/fuzz/corpus/NAME (a crash, once fixed, goes there as a regression
# seed); what a run discovers stays in $(BUILD)/fuzz/corpus-NAME.
#
#   make fuzz                   each target for FUZZ_SECS seconds (default 600)
#   make fuzz FUZZ_RUNS=10000000   each target for that many executions
#   make test                   a short run of each from the kept seeds only
#                               (tests/fuzz/run.sh --fresh BUILD 5)

FZ       := $(BUILD)/fuzz
FZ_FLAGS := -g -O1 $(WARN) -std=gnu11 -D_GNU_SOURCE -Iloader -Idtcp -Itests/dtcp \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SECS ?= 600
FUZZ_RUNS ?=

$(FZ)/fuzz_monproto: tests/fuzz/fuzz_monproto.c loader/monproto.c loader/monproto.h
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FZ_FLAGS) $(filter %.c,$^) -o $@

$(FZ)/fuzz_config: tests/fuzz/fuzz_config.c loader/config.c loader/config.h $(DT_SRCS) $(DT_HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FZ_FLAGS) $(filter %.c,$^) -o $@ -lcrypto

$(FZ)/fuzz_state: tests/fuzz/fuzz_state.c loader/state.c loader/state.h tests/dtcp/memback.c \
		$(DT_SRCS) $(DT_HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FZ_FLAGS) $(filter %.c,$^) -o $@ -lcrypto

$(FZ)/fuzz_x3_pdu: tests/fuzz/fuzz_x3_pdu.c loader/x3_pdu.c loader/x3_pdu.h dtcp/uuid.h
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FZ_FLAGS) $(filter %.c,$^) -o $@

$(FZ)/fuzz_x3sup: tests/fuzz/fuzz_x3sup.c loader/x3sup.c loader/x3sup.h loader/log.c loader/config.h
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FZ_FLAGS) -Iinclude $(filter %.c,$^) -o $@

FZ_BUILD := $(DT_FUZZERS) $(DT)/golden $(FZ)/fuzz_monproto $(FZ)/fuzz_config $(FZ)/fuzz_state \
	    $(FZ)/fuzz_x1 $(BUILD)/x1.d/golden $(FZ)/fuzz_x3_pdu $(FZ)/fuzz_x3sup

TEST_BUILD_EXTRA += $(FZ_BUILD)
TESTS_EXTRA += 'tests/fuzz/run.sh --fresh $(BUILD) 5'

.PHONY: fuzz
fuzz: $(FZ_BUILD)
	$(Q)FUZZ_RUNS='$(FUZZ_RUNS)' tests/fuzz/run.sh $(BUILD) $(FUZZ_SECS)
