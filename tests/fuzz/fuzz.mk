# SPDX-License-Identifier: BSD-2-Clause
# libFuzzer targets (clang, ASan + UBSan) for every parser that takes bytes
# from outside: the DTCP request and reply parsers (tests/dtcp/fuzz_*.c),
# the monitor <-> worker codec, the configuration parser, the state/journal
# loader, the X3 PDU decoder and the X3 status lines (tests/fuzz/fuzz_*.c),
# the X1 request path (tests/x1/fuzz_x1.c). Included by the top-level
# Makefile; objects come from its $(BUILD)/fz rule, each compiled once.
# Seed corpora are kept in tests/fuzz/corpus/NAME (a crash, once fixed, goes
# there as a regression seed); what a run discovers stays in
# $(BUILD)/fuzz/corpus-NAME.
#
#   make fuzz                   each target for FUZZ_SECS seconds (default 600)
#   make fuzz FUZZ_RUNS=10000000   each target for that many executions
#   make test                   a short run of each from the kept seeds only
#                               (tests/fuzz/run.sh --fresh BUILD 5)

FZ := $(BUILD)/fuzz
FUZZ_SECS ?= 600
FUZZ_RUNS ?=

f_fuzz_request_SRCS := tests/dtcp/fuzz_request.c $(MEMBACK)
f_fuzz_reply_SRCS   := tests/dtcp/fuzz_reply.c $(MEMBACK)
f_fuzz_monproto_SRCS := tests/fuzz/fuzz_monproto.c loader/worker/monproto.c
f_fuzz_config_SRCS  := tests/fuzz/fuzz_config.c loader/config/config.c
f_fuzz_state_SRCS   := tests/fuzz/fuzz_state.c loader/xtapd/state.c $(MEMBACK)
f_fuzz_x3_pdu_SRCS  := tests/fuzz/fuzz_x3_pdu.c loader/x3/x3_pdu.c
f_fuzz_x3sup_SRCS   := tests/fuzz/fuzz_x3sup.c loader/x3/x3sup.c
f_fuzz_x1_SRCS      := tests/x1/fuzz_x1.c tests/x1/shared.c $(MEMBACK)
$(foreach f,fuzz_request fuzz_reply,$(eval f_$(f)_LIBS := dtcp))
# the state file's X1 records go through loader/x1's decoder
f_fuzz_state_LIBS  := x1 common dtcp
f_fuzz_state_LDLIBS := $(XML_LIBS)
f_fuzz_config_LIBS := common dtcp
f_fuzz_x3sup_LIBS  := common
f_fuzz_x1_LIBS     := x1 common dtcp
f_fuzz_x1_LDLIBS   := $(XML_LIBS)

FUZZERS := fuzz_request fuzz_reply fuzz_monproto fuzz_config fuzz_state fuzz_x3_pdu fuzz_x3sup fuzz_x1
define fuzzer
$(FZ)/$(1): $$(f_$(1)_SRCS:%.c=$(BUILD)/fz/%.o) $$(f_$(1)_LIBS:%=$(BUILD)/fz/lib%.a)
	$$(call msg,FUZZ,$$@)
	$$(Q)mkdir -p $$(dir $$@)
	$$(Q)$$(CLANG) $$(FZ_FLAGS) -fsanitize=fuzzer $$^ -o $$@ $$(f_$(1)_LDLIBS) -lcrypto
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzzer,$(f))))

# run.sh also feeds the golden streams, as the golden runners do
FZ_BUILD := $(FUZZERS:%=$(FZ)/%) $(TB)/golden_dtcp $(TB)/golden_x1

TEST_BUILD_EXTRA += $(FZ_BUILD)
TESTS_EXTRA += 'tests/fuzz/run.sh --fresh $(BUILD) 5'

.PHONY: fuzz
fuzz: $(FZ_BUILD)
	$(Q)FUZZ_RUNS='$(FUZZ_RUNS)' tests/fuzz/run.sh $(BUILD) $(FUZZ_SECS)
