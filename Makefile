# xtap top-level build. `make` builds, `make test` installs what is missing,
# builds and runs every test (root), `make bench` runs the benchmarks.
# V=1 shows the commands.

BUILD    ?= build
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= cc

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS   ?= -O2 -g
NL_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0 2>/dev/null)
NL_LIBS   := $(shell pkg-config --libs libnl-route-3.0 2>/dev/null)
CFLAGS   += $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Iloader -Idtcp -I$(BUILD) $(NL_CFLAGS)
LDLIBS   := -lxdp -lbpf -lelf -lz -lm -lpthread $(NL_LIBS)

# Sanitized user space for the tests (ASan + UBSan). Built in its own folder
# so optimised and sanitized objects never mix.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SBUILD   := $(BUILD)/san

# -mcpu=v3: atomic fetch-add (IPv4 IDs of copies), 32-bit jumps
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 $(WARN) -Wno-unused-function \
	      -Iinclude -Ibpf -I$(BUILD)

BPF_HDRS := $(wildcard bpf/*.h) include/xtap.h
BPF_PROGS := xtap bench

.PHONY: all deps test test-bpf bench clean fuzz demo
# `make` builds what `make install` ships, nothing test-only (scripts/ops.mk)
all: $(BUILD)/xtapd $(BUILD)/xtapctl $(BUILD)/dtcp $(BUILD)/xtap-cd


deps:
	$(Q)scripts/install-deps.sh

$(BUILD) $(SBUILD) $(BUILD)/tests $(SBUILD)/tests:
	$(Q)mkdir -p $@

# ---- BPF side --------------------------------------------------------------

$(BUILD)/vmlinux.h: | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# ---- user space: the loader library ------------------------------------------

LIB_SRCS := loader/classifier.c loader/prefix_trie.c loader/log.c loader/vtpair.c loader/backend.c \
	    loader/datapath.c loader/log_lib.c
LIB_HDRS := $(wildcard loader/*.h) include/xtap.h dtcp/dtcp.h dtcp/xbuf.h dtcp/b64.h dtcp/gaptab.h dtcp/uuid.h

$(BUILD)/%.o: %.c $(LIB_HDRS) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(SBUILD)/%.o: %.c $(LIB_HDRS) | $(SBUILD)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -c $< -o $@

# the datapath embeds the programs' skeleton
$(BUILD)/loader/datapath.o $(SBUILD)/loader/datapath.o: $(BUILD)/xtap.skel.h

$(BUILD)/libxtap.a: $(LIB_SRCS:%.c=$(BUILD)/%.o)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(SBUILD)/libxtap.a: $(LIB_SRCS:%.c=$(SBUILD)/%.o)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

# ---- tests -------------------------------------------------------------------

TEST_HDRS := $(wildcard tests/*.h)

# test tables leave unused fields to zero-initialisation
$(BUILD)/tests/%.o $(SBUILD)/tests/%.o: CFLAGS += -Itests -Wno-missing-field-initializers
# everything that embeds a skeleton is rebuilt when the BPF code changes
$(BUILD)/tests/testenv.o $(SBUILD)/tests/testenv.o $(BUILD)/tests/bench_classify.o: \
	$(BUILD)/xtap.skel.h $(BUILD)/bench.skel.h
$(BUILD)/tests/%.o $(SBUILD)/tests/%.o: $(TEST_HDRS)

TEST_COMMON := tests/pktbuild.c tests/refclass.c tests/testenv.c tests/critspec.c

define test_prog
$(BUILD)/tests/$(1): $(BUILD)/tests/$(1).o $(TEST_COMMON:%.c=$(BUILD)/%.o) $(BUILD)/libxtap.a | $(BUILD)/tests
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS) $$^ -o $$@ $$(LDLIBS)
$(SBUILD)/tests/$(1): $(SBUILD)/tests/$(1).o $(TEST_COMMON:%.c=$(SBUILD)/%.o) $(SBUILD)/libxtap.a | $(SBUILD)/tests
	$$(call msg,LD-SAN,$$@)
	$$(Q)$$(CC) $$(CFLAGS) $$(SAN_FLAGS) $$^ -o $$@ $$(LDLIBS)
endef
$(foreach t,test_classify test_diff test_deliver test_e2e test_datapath,$(eval $(call test_prog,$(t))))

# The daemon: the loader library, the DTCP library, configuration, state,
# audit and the SSH worker (its objects come from the parts' own rules).
XTAPD_SRCS := loader/xtapd.c loader/ctl.c loader/config.c loader/state.c loader/persist.c loader/audit.c \
	      loader/worker.c loader/monproto.c loader/supervise.c loader/sendq.c loader/evlimit.c loader/sigcheck.c \
	      loader/metrics_http.c loader/monauth.c loader/ctlserve.c loader/daemon.c loader/privdrop.c \
	      loader/x3sup.c loader/xtap-x3.c loader/x3_pdu.c loader/x3_net.c loader/hostport.c loader/cd_wire.c
$(BUILD)/xtapd: $(XTAPD_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libxtap.a $(BUILD)/dtcp.d/libdtcp.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lssh -lssl -lcrypto -lcrypt -lseccomp

# The same daemon sanitized (ASan + UBSan), for tests/sshd: the monitor and
# the worker it execs (the same image) run the sanitizer.
$(SBUILD)/xtapd: $(XTAPD_SRCS:%.c=$(SBUILD)/%.o) $(SBUILD)/libxtap.a $(BUILD)/dtcp.d/libdtcp-san.a
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $^ -o $@ $(LDLIBS) -lssh -lssl -lcrypto -lcrypt -lseccomp

# The crash and fault harness's daemon: xtapd with the test-only fault hooks
# (loader/fault.h: XTAP_CRASH, XTAP_FAULT, --crash-points). Its objects are
# built apart, so the shipped build/xtapd never holds a hook.
FAULT_B := $(BUILD)/fault.d
$(FAULT_B)/%.o: %.c $(LIB_HDRS) | $(BUILD)
	$(call msg,CC-FAULT,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -DXTAP_FAULT_HOOKS -c $< -o $@
$(BUILD)/xtapd-fault: $(XTAPD_SRCS:%.c=$(FAULT_B)/%.o) $(FAULT_B)/loader/fault.o $(BUILD)/libxtap.a \
		      $(BUILD)/dtcp.d/libdtcp.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lssh -lssl -lcrypto -lcrypt -lseccomp

# xtapd's local control client: only ctl.h's protocol constants
$(BUILD)/xtapctl: $(BUILD)/loader/xtapctl.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS)

# DTCP through the backend into the maps: with the DTCP library and its
# in-memory configuration (tests/dtcp/memback.c)
$(SBUILD)/tests/test_backend.o: CFLAGS += -Itests/dtcp
$(SBUILD)/tests/test_backend: $(SBUILD)/tests/test_backend.o $(TEST_COMMON:%.c=$(SBUILD)/%.o) \
		$(BUILD)/dtcp.d/san/tests/dtcp/memback.o $(SBUILD)/libxtap.a $(BUILD)/dtcp.d/libdtcp-san.a | $(SBUILD)/tests
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $^ -o $@ $(LDLIBS) -lcrypto

$(BUILD)/tests/bench_e2e.o: $(BUILD)/trafgen.skel.h
$(BUILD)/bench_e2e: $(BUILD)/tests/bench_e2e.o $(TEST_COMMON:%.c=$(BUILD)/%.o) $(BUILD)/libxtap.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bench_classify: $(BUILD)/tests/bench_classify.o $(TEST_COMMON:%.c=$(BUILD)/%.o) $(BUILD)/libxtap.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# The parts' own fragments: each adds its test commands to TESTS_EXTRA and
# what they need built to TEST_BUILD_EXTRA. Included before test-build,
# whose prerequisites are expanded when make reads the rule.
-include dtcp/dtcp.mk
-include tests/cd/cd.mk
-include tests/x3/x3.mk
-include tests/vt/vt.mk
-include tests/config/config.mk
-include tests/sshd/sshd.mk
-include tests/state/state.mk
-include tests/crash/crash.mk
-include tests/adversarial/adversarial.mk
-include tests/fuzz/fuzz.mk
-include x1/x1.mk
-include man/man.mk
-include tests/log/log.mk

# Every test program prints "N passed, N failed, N skipped"; tests/run.sh
# runs them in turn and prints the total.
TESTS_BPF := $(SBUILD)/tests/test_classify $(SBUILD)/tests/test_diff $(SBUILD)/tests/test_deliver \
	     $(SBUILD)/tests/test_backend $(SBUILD)/tests/test_datapath "$(SBUILD)/tests/test_e2e $(BUILD)" \
	     "tests/xtapd/test_xtapd.sh $(BUILD)" "tests/xtapd/test_mediation.sh $(BUILD)" "tests/xtapd/test_xtapctl.sh $(BUILD)" \
	     "tests/xtapd/test_flowtaplite.sh $(BUILD)" "tests/xtapd/test_durability.sh $(BUILD)" \
	     "tests/xtapd/test_liststream.sh $(BUILD)"

test: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)tests/run.sh $(TESTS_BPF) $(TESTS_EXTRA)

test-build: $(BUILD)/xtap.skel.h $(BUILD)/bench.skel.h $(SBUILD)/tests/test_classify \
	$(SBUILD)/tests/test_diff $(SBUILD)/tests/test_deliver $(SBUILD)/tests/test_e2e \
	$(SBUILD)/tests/test_backend $(SBUILD)/tests/test_datapath $(BUILD)/xtapd $(BUILD)/xtapd-fault $(BUILD)/xtapctl \
	$(TEST_BUILD_EXTRA)

# every benchmark, then the goals against this run (tests/bench.sh; root;
# about 25 minutes; output kept in build/bench.txt; BENCH_ONLY=x3: the X3
# section alone, about 2 minutes)
bench: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/bench_classify $(BUILD)/bench_e2e $(BUILD)/xtapd $(BUILD)/bench_ctl \
		$(BUILD)/xtap-x3 $(BUILD)/xtap-x3d
	$(Q)tests/bench.sh $(BUILD) $(BENCH_ONLY)

clean:
	$(Q)rm -rf $(BUILD)


.DELETE_ON_ERROR:
.SECONDARY:

# `make demo`: a complete interception in a namespace lab, then teardown
# (scripts/demo.sh; root). deps first, in its own make, so that a fresh
# machine builds with what deps installed.
demo:
	@echo "==> installing what is missing (make deps)"
	$(Q)$(MAKE) --no-print-directory deps
	@echo "==> building xtapd, dtcp and xtap-cd"
	$(Q)$(MAKE) -s --no-print-directory $(BUILD)/xtapd $(BUILD)/dtcp $(BUILD)/xtap-cd
	$(Q)scripts/demo.sh $(BUILD)

# The control plane's speed over one SSH session (tests/bench_ctl.sh; root;
# BENCH_CTL_SIZES to choose the sizes). Not a test: figures, no verdict.
$(BUILD)/bench_ctl: tests/bench_ctl.c $(BUILD)/dtcp.d/libdtcp.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ -lssh -lcrypto -lbpf

.PHONY: bench-ctl
bench-ctl: $(BUILD)/xtapd $(BUILD)/bench_ctl
	$(Q)tests/bench_ctl.sh $(BUILD) $(BENCH_CTL_SIZES)

# make install / uninstall (GNU directory variables), make deb, make test-deb
include scripts/ops.mk
