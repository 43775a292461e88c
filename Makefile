# SPDX-License-Identifier: BSD-2-Clause
# xtap's one build. `make` builds what `make install` ships, `make test`
# installs what is missing, builds and runs every test (root), `make bench`
# runs the benchmarks, `make demo` a complete interception in a namespace lab.
# V=1 shows the commands.
#
# The tree (docs/design.md, "Layout"): bpf/ the datapath programs, include/
# the BPF/user-space contract, dtcp/ the DTCP library and client, loader/
# the user space by role (common/ lib/ config/ worker/ x3/ x1/ xtapd/
# tools/), tests/ the tests, each part in a folder of the same name.
#
# Every source is compiled once per build type, by one rule each:
#   $(BUILD)/opt/    the shipped build (CFLAGS, dpkg-buildflags' in a package)
#   $(BUILD)/san/    ASan + UBSan, for the tests: every test program, and
#                    the sanitized daemons in $(BUILD)/san/NAME
#   $(BUILD)/fault/  xtapd with its test-only fault hooks ($(BUILD)/xtapd-fault)
#   $(BUILD)/fz/     libFuzzer instrumentation ($(BUILD)/fuzz/fuzz_NAME)
# Programs: $(BUILD)/NAME; tests: $(BUILD)/tests/NAME. Header dependencies
# come from the compiler (-MMD), not from lists.

BUILD    ?= build
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= cc
AR       ?= ar

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# ---- flags -------------------------------------------------------------------

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS   ?= -O2 -g
SRC_DIRS := include dtcp $(addprefix loader/,common lib config worker x3 x1 xtapd tools)
PKG_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0 2>/dev/null) $(shell pkg-config --cflags libxml-2.0 2>/dev/null)
NL_LIBS  := $(shell pkg-config --libs libnl-route-3.0 2>/dev/null)
XML_LIBS := $(shell pkg-config --libs libxml-2.0 2>/dev/null)
XCFLAGS  := $(WARN) -std=gnu11 -D_GNU_SOURCE $(addprefix -I,$(SRC_DIRS)) -I$(BUILD) $(PKG_CFLAGS) $(CPPFLAGS)
# test tables leave unused fields to zero-initialisation
TEST_CFLAGS := -Itests -Itests/dtcp -Itests/x1 -Wno-missing-field-initializers
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FZ_FLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined
DP_LIBS  := -lxdp -lbpf -lelf -lz -lm -lpthread $(NL_LIBS)

# The BPF side. ARCH: the target of bpf_tracing.h's __TARGET_ARCH_* (the
# build machine's by default); VMLINUX_H: a vmlinux.h of one's own instead
# of one generated from BTF (this kernel's by default).
ARCH      ?= $(shell uname -m | sed -e s/x86_64/x86/ -e s/aarch64/arm64/ -e s/ppc64le/powerpc/ \
		-e s/s390x/s390/ -e s/riscv64/riscv/)
BTF       ?= /sys/kernel/btf/vmlinux
VMLINUX_H ?= $(BUILD)/vmlinux.h
# -mcpu=v3: atomic fetch-add (IPv4 IDs of copies), 32-bit jumps
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) $(WARN) -Wno-unused-function \
	      -Iinclude -Ibpf -I$(dir $(VMLINUX_H))
BPF_HDRS  := $(wildcard bpf/*.h) include/xtap.h
SKELS     := $(BUILD)/xtap.skel.h $(BUILD)/bench.skel.h $(BUILD)/trafgen.skel.h

.PHONY: all deps test test-build bench bench-ctl clean fuzz demo
all: $(BUILD)/xtapd $(BUILD)/xtapctl $(BUILD)/dtcp $(BUILD)/xtap-cd $(BUILD)/xtap-x3d

deps:
	$(Q)scripts/install-deps.sh

# ---- the BPF programs and their skeletons ------------------------------------

$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BPFTOOL) btf dump file $(BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(VMLINUX_H)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# ---- one compile rule per build type -----------------------------------------

$(BUILD)/opt/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/san/%.o: %.c
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $(XCFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fault/%.o: %.c
	$(call msg,CC-FAULT,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -DXTAP_FAULT_HOOKS -MMD -MP -c $< -o $@

$(BUILD)/fz/%.o: %.c
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FZ_FLAGS) -fsanitize=fuzzer-no-link $(XCFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/opt/tests/%.o $(BUILD)/san/tests/%.o $(BUILD)/fz/tests/%.o: XCFLAGS += $(TEST_CFLAGS)

# what includes a skeleton waits for it (a first build has no .d files yet)
SKEL_USERS := loader/lib/datapath tests/testenv tests/test_deliver tests/test_e2e tests/bench_classify tests/bench_e2e
$(foreach t,opt san fault,$(SKEL_USERS:%=$(BUILD)/$(t)/%.o)): $(SKELS)

-include $(shell find $(BUILD)/opt $(BUILD)/san $(BUILD)/fault $(BUILD)/fz -name '*.d' 2>/dev/null)

# ---- libraries: NAME from lib_NAME, one archive per build type ---------------

lib_dtcp   := $(wildcard dtcp/*.c)
lib_common := $(wildcard loader/common/*.c)
lib_xtap   := $(wildcard loader/lib/*.c)
lib_x1     := $(wildcard loader/x1/*.c)

define archive
$(BUILD)/$(2)/lib$(1).a: $$(lib_$(1):%.c=$(BUILD)/$(2)/%.o)
	$$(call msg,AR,$$@)
	$$(Q)$$(AR) rcs $$@ $$^
endef
$(foreach t,opt san fz,$(foreach l,dtcp common xtap x1,$(eval $(call archive,$(l),$(t)))))

# ---- programs: NAME_SRCS, NAME_LIBS (archives, in link order), NAME_LDLIBS --

xtapd_SRCS := $(filter-out loader/xtapd/fault.c,$(wildcard loader/xtapd/*.c)) $(wildcard loader/worker/*.c) \
	      loader/x3/x3sup.c loader/x3/xtap-x3.c loader/x3/x3_pdu.c loader/x3/x3_net.c loader/config/config.c
xtapd_LIBS := xtap x1 common dtcp
xtapd_LDLIBS := $(DP_LIBS) -lssh -lssl -lcrypto -lcrypt -lseccomp $(XML_LIBS)

# xtapd's local control client: only the control protocol's constants
xtapctl_SRCS := loader/tools/xtapctl.c

dtcp_SRCS := dtcp/client/main.c
dtcp_LIBS := dtcp
dtcp_LDLIBS := -lssh -lcrypto

# the content destination; intercept ids are read by the DTCP library's parser
xtap-cd_SRCS := loader/tools/xtap-cd.c
xtap-cd_LIBS := common dtcp
xtap-cd_LDLIBS := -lpcap -lm -lcrypto

# the X3 receiver (TLS, pcap) and the sensor's X3 delivery process on its own
# (xtapd runs the same code as `xtapd --x3-delivery`)
xtap-x3d_SRCS := loader/x3/xtap-x3d.c loader/x3/x3_pdu.c loader/x3/x3_net.c
xtap-x3d_LIBS := common
xtap-x3d_LDLIBS := -lssl -lcrypto -lpcap
xtap-x3_SRCS := loader/x3/xtap-x3-main.c loader/x3/xtap-x3.c loader/x3/x3_pdu.c loader/x3/x3_net.c \
		loader/config/config.c
xtap-x3_LIBS := common dtcp
xtap-x3_LDLIBS := -lssl -lcrypto -lseccomp

# the configuration's check (`xtapd -n` is the same check): not shipped
xtap-config-check_SRCS := loader/tools/xtap-config-check.c loader/config/config.c
xtap-config-check_LIBS := common dtcp
xtap-config-check_LDLIBS := -lcrypto

# program NAME, build type (opt: $(BUILD)/NAME, san: $(BUILD)/san/NAME)
define program
$(if $(filter opt,$(2)),$(BUILD)/$(1),$(BUILD)/$(2)/$(1)): $$($(1)_SRCS:%.c=$(BUILD)/$(2)/%.o) \
		$$($(1)_LIBS:%=$(BUILD)/$(2)/lib%.a)
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS) $(if $(filter san,$(2)),$$(SAN_FLAGS)) $$(LDFLAGS) $$^ -o $$@ $$($(1)_LDLIBS)
endef
$(foreach p,xtapd xtapctl dtcp xtap-cd xtap-x3d xtap-x3 xtap-config-check,$(eval $(call program,$(p),opt)))
$(foreach p,xtapd xtap-cd xtap-x3d xtap-x3 xtap-config-check,$(eval $(call program,$(p),san)))

# The crash and fault harness's daemon: xtapd with the test-only fault hooks
# (loader/xtapd/fault.h). Its objects are built apart, so the shipped
# build/xtapd never holds a hook.
$(BUILD)/xtapd-fault: $(xtapd_SRCS:%.c=$(BUILD)/fault/%.o) $(BUILD)/fault/loader/xtapd/fault.o \
		$(xtapd_LIBS:%=$(BUILD)/opt/lib%.a)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(xtapd_LDLIBS)

# ---- tests, benchmarks, fuzzers ----------------------------------------------

# every test program, the test list (TESTS) and the benchmarks' programs
include tests/tests.mk
include tests/fuzz/fuzz.mk
include tests/crash/crash.mk
include tests/adversarial/adversarial.mk
include man/man.mk
# make install / uninstall (GNU directory variables), make deb, make test-deb
include scripts/ops.mk

# Every test program prints "N passed, N failed[, N skipped]"; tests/run.sh
# runs them in turn and prints the total.
test: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)tests/run.sh $(TESTS) $(TESTS_EXTRA)

test-build: $(TEST_BUILD) $(TEST_BUILD_EXTRA)

# every benchmark, then the goals against this run (tests/bench.sh; root;
# about 25 minutes; output kept in build/bench.txt; BENCH_ONLY=x3: the X3
# section alone, about 2 minutes)
bench: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/bench_classify $(BUILD)/bench_e2e $(BUILD)/xtapd $(BUILD)/bench_ctl \
		$(BUILD)/xtap-x3 $(BUILD)/xtap-x3d
	$(Q)tests/bench.sh $(BUILD) $(BENCH_ONLY)

# The control plane's speed over one SSH session (tests/bench_ctl.sh; root;
# BENCH_CTL_SIZES to choose the sizes). Not a test: figures, no verdict.
bench-ctl: $(BUILD)/xtapd $(BUILD)/bench_ctl
	$(Q)tests/bench_ctl.sh $(BUILD) $(BENCH_CTL_SIZES)

# The delivery process's CPU per copy (figures, not a test; root)
.PHONY: bench-x3
bench-x3: $(BUILD)/xtap-x3 $(BUILD)/xtap-x3d
	$(Q)tests/x3/bench_x3.sh $(BUILD) $(BENCH_X3_N) $(BENCH_X3_SIZE)

# `make demo`: a complete interception in a namespace lab, then teardown
# (scripts/demo.sh; root). deps first, in its own make, so that a fresh
# machine builds with what deps installed.
demo:
	@echo "==> installing what is missing (make deps)"
	$(Q)$(MAKE) --no-print-directory deps
	@echo "==> building xtapd, dtcp and xtap-cd"
	$(Q)$(MAKE) -s --no-print-directory $(BUILD)/xtapd $(BUILD)/dtcp $(BUILD)/xtap-cd
	$(Q)scripts/demo.sh $(BUILD)

clean:
	$(Q)rm -rf $(BUILD)

.DELETE_ON_ERROR:
.SECONDARY:
