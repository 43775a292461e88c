# SPDX-License-Identifier: BSD-2-Clause
# Every test program, the benchmarks' programs and the test list. Included by
# the top-level Makefile, whose compile rules build the objects (tests are
# sanitized: $(BUILD)/san). A test program NAME is $(BUILD)/tests/NAME, made
# of t_NAME_SRCS and the archives t_NAME_LIBS, linked with t_NAME_LDLIBS.

TB := $(BUILD)/tests
# what the classifier and datapath tests share: packets, a reference
# classifier, the test environment (the programs' skeleton), criteria specs
TEST_COMMON := tests/pktbuild.c tests/refclass.c tests/testenv.c tests/critspec.c
MEMBACK := tests/dtcp/memback.c

define test_program
$(TB)/$(1): $$(t_$(1)_SRCS:%.c=$(BUILD)/san/%.o) $$(t_$(1)_LIBS:%=$(BUILD)/san/lib%.a)
	$$(call msg,LD-SAN,$$@)
	$$(Q)mkdir -p $$(dir $$@)
	$$(Q)$$(CC) $$(CFLAGS) $$(SAN_FLAGS) $$^ -o $$@ $$(t_$(1)_LDLIBS)
endef

# the classifier, delivery and datapath through the real programs (root)
T_DP := test_classify test_diff test_deliver test_e2e test_datapath
$(foreach t,$(T_DP),$(eval t_$(t)_SRCS := tests/$(t).c $(TEST_COMMON)) \
	$(eval t_$(t)_LIBS := xtap common dtcp) $(eval t_$(t)_LDLIBS := $(DP_LIBS) -lcrypto))
# DTCP through the backend into the maps, with the in-memory configuration
t_test_backend_SRCS := tests/test_backend.c $(TEST_COMMON) $(MEMBACK)
t_test_backend_LIBS := xtap common dtcp
t_test_backend_LDLIBS := $(DP_LIBS) -lcrypto
# the vt veth pair over netlink, in namespaces of its own
t_test_vt_SRCS := tests/vt/test_vt.c
t_test_vt_LIBS := xtap common
t_test_vt_LDLIBS := $(DP_LIBS)
# xtap's logger with libbpf's and libxdp's messages
t_test_log_SRCS := tests/log/test_log.c
t_test_log_LIBS := xtap common
t_test_log_LDLIBS := $(DP_LIBS)

# the DTCP library: unit, golden streams (tests/dtcp/*.in), the server
T_DTCP := test_dtcp test_server test_xbuf test_b64 test_gaptab
$(foreach t,$(T_DTCP),$(eval t_$(t)_SRCS := tests/dtcp/$(t).c $(MEMBACK)) \
	$(eval t_$(t)_LIBS := dtcp) $(eval t_$(t)_LDLIBS := -lcrypto))
t_golden_dtcp_SRCS := tests/dtcp/golden.c $(MEMBACK)
t_golden_dtcp_LIBS := dtcp
t_golden_dtcp_LDLIBS := -lcrypto
DTCP_GOLDEN := $(sort $(wildcard tests/dtcp/*.in))

# the copies' wire format as the content destination reads it
t_test_cd_wire_SRCS := tests/cd/test_cd_wire.c
t_test_cd_wire_LIBS := common dtcp
t_test_cd_wire_LDLIBS := -lcrypto

# the configuration parser; the DTCP server answers ADDs under a parsed policy
t_test_config_SRCS := tests/config/test_config.c loader/config/config.c $(MEMBACK)
t_test_config_LIBS := common dtcp
t_test_config_LDLIBS := -lcrypto

# the monitor <-> worker codec, the monitor's check of public-key signatures
# (against RFC-built data), its slots and login decisions driven with
# monitor-protocol messages (the real configuration parser and audit log)
t_test_monproto_SRCS := tests/sshd/test_monproto.c loader/worker/monproto.c
t_test_sigcheck_SRCS := tests/sshd/test_sigcheck.c loader/xtapd/sigcheck.c
t_test_sigcheck_LDLIBS := -lcrypto
t_test_monauth_SRCS := tests/sshd/test_monauth.c loader/xtapd/monauth.c loader/config/config.c \
	loader/xtapd/audit.c loader/xtapd/sigcheck.c loader/worker/monproto.c $(MEMBACK)
t_test_monauth_LIBS := common dtcp
t_test_monauth_LDLIBS := -lcrypt -lcrypto

# the state file and journal, the audit log
t_test_state_SRCS := tests/state/test_state.c loader/xtapd/state.c tests/x1/shared.c $(MEMBACK)
t_test_state_LIBS := x1 common dtcp
t_test_state_LDLIBS := $(XML_LIBS) -lcrypto
t_test_audit_SRCS := tests/state/test_audit.c loader/xtapd/audit.c

# X3: the PDU codec against hand-written golden PDUs
t_test_x3_pdu_SRCS := tests/x3/test_x3_pdu.c loader/x3/x3_pdu.c

# X1: unit, golden exchanges (tests/x1/*.in), the HTTPS front end with a
# test monitor, X1 through the real backend into the maps (root)
t_test_x1_SRCS := tests/x1/test_x1.c tests/x1/shared.c $(MEMBACK)
t_golden_x1_SRCS := tests/x1/golden.c tests/x1/shared.c $(MEMBACK)
t_x1_https_SRCS := tests/x1/x1_https.c tests/x1/shared.c $(MEMBACK)
t_test_x1_datapath_SRCS := tests/x1/test_x1_datapath.c $(TEST_COMMON) $(MEMBACK)
$(foreach t,test_x1 golden_x1 x1_https,$(eval t_$(t)_LIBS := x1 common dtcp))
t_test_x1_datapath_LIBS := xtap x1 common dtcp
t_test_x1_LDLIBS := $(XML_LIBS) -lcrypto
t_golden_x1_LDLIBS := $(XML_LIBS) -lcrypto
t_x1_https_LDLIBS := $(XML_LIBS) -lssl -lcrypto -lseccomp
t_test_x1_datapath_LDLIBS := $(DP_LIBS) $(XML_LIBS) -lcrypto
X1_GOLDEN := $(sort $(wildcard tests/x1/*.in))

TEST_PROGS := $(T_DP) test_backend test_vt test_log $(T_DTCP) golden_dtcp test_cd_wire test_config \
	test_monproto test_sigcheck test_monauth test_state test_audit test_x3_pdu \
	test_x1 golden_x1 x1_https test_x1_datapath
$(foreach t,$(TEST_PROGS),$(eval $(call test_program,$(t))))

# ---- benchmarks (optimised build; tests/bench.sh, tests/bench_ctl.sh) --------

define bench_program
$(BUILD)/$(1): $$(b_$(1)_SRCS:%.c=$(BUILD)/opt/%.o) $$(b_$(1)_LIBS:%=$(BUILD)/opt/lib%.a)
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $$(CFLAGS) $$^ -o $$@ $$(b_$(1)_LDLIBS)
endef
b_bench_classify_SRCS := tests/bench_classify.c $(TEST_COMMON)
b_bench_e2e_SRCS := tests/bench_e2e.c $(TEST_COMMON)
$(foreach b,bench_classify bench_e2e,$(eval b_$(b)_LIBS := xtap common dtcp) $(eval b_$(b)_LDLIBS := $(DP_LIBS) -lcrypto))
b_bench_ctl_SRCS := tests/bench_ctl.c
b_bench_ctl_LIBS := dtcp
b_bench_ctl_LDLIBS := -lssh -lcrypto -lbpf
$(foreach b,bench_classify bench_e2e bench_ctl,$(eval $(call bench_program,$(b))))

# ---- the test list, in the order make test runs it ---------------------------

TESTS := $(TB)/test_classify $(TB)/test_diff $(TB)/test_deliver $(TB)/test_backend $(TB)/test_datapath \
	"$(TB)/test_e2e $(BUILD)" \
	"tests/xtapd/test_xtapd.sh $(BUILD)" "tests/xtapd/test_mediation.sh $(BUILD)" \
	"tests/xtapd/test_xtapctl.sh $(BUILD)" "tests/xtapd/test_flowtaplite.sh $(BUILD)" \
	"tests/xtapd/test_durability.sh $(BUILD)" "tests/xtapd/test_liststream.sh $(BUILD)" \
	$(TB)/test_dtcp $(TB)/test_xbuf $(TB)/test_b64 $(TB)/test_gaptab \
	'$(TB)/golden_dtcp $(DTCP_GOLDEN)' 'tests/dtcp/e2e.sh $(BUILD)' \
	$(TB)/test_cd_wire '/usr/bin/python3 tests/cd/cdtest.py $(BUILD)/san/xtap-cd' \
	$(TB)/test_x3_pdu 'tests/x3/test_x3.sh $(BUILD)' 'tests/x3/test_x3_e2e.sh $(BUILD)' \
	'timeout 20 $(TB)/test_vt' \
	'$(TB)/test_config examples/xtapd.conf' 'tests/config/check_cli.sh $(BUILD)/san/xtap-config-check' \
	$(TB)/test_monproto $(TB)/test_sigcheck $(TB)/test_monauth '/usr/bin/python3 tests/sshd/sshd_test.py $(BUILD)' \
	$(TB)/test_state $(TB)/test_audit \
	$(TB)/test_x1 '$(TB)/golden_x1 $(X1_GOLDEN)' 'tests/x1/test_https.sh $(BUILD)' $(TB)/test_x1_datapath \
	'tests/xtapd/test_x1.sh $(BUILD)' \
	$(TB)/test_log \
	'/usr/bin/python3 tests/layout/check_includes.py' tests/layout/check_format.sh

# what the tests run besides the test programs
TEST_BUILD := $(TEST_PROGS:%=$(TB)/%) $(SKELS) \
	$(BUILD)/xtapd $(BUILD)/xtapd-fault $(BUILD)/xtapctl $(BUILD)/dtcp $(BUILD)/xtap-cd $(BUILD)/xtap-x3d \
	$(BUILD)/xtap-x3 $(BUILD)/xtap-config-check $(TB)/xdp_meta_probe.bpf.o \
	$(BUILD)/san/xtapd $(BUILD)/san/xtap-cd $(BUILD)/san/xtap-x3d $(BUILD)/san/xtap-x3 $(BUILD)/san/xtap-config-check

# the shell tests' own probe of XDP metadata (tests/xtapd/lab.sh xdp_mode)
$(TB)/xdp_meta_probe.bpf.o: tests/xtapd/xdp_meta_probe.bpf.c $(VMLINUX_H)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# ---- one part's tests at a time ----------------------------------------------

.PHONY: dtcp-test dtcp-golden-update x1-test x1-golden-update
# the DTCP library's own tests (no root, no network)
dtcp-test: $(T_DTCP:%=$(TB)/%) $(TB)/golden_dtcp
	$(Q)tests/run.sh $(TB)/test_dtcp $(TB)/test_xbuf $(TB)/test_b64 $(TB)/test_gaptab '$(TB)/golden_dtcp $(DTCP_GOLDEN)'
dtcp-golden-update: $(TB)/golden_dtcp
	$(Q)$(TB)/golden_dtcp --update $(DTCP_GOLDEN)
	$(Q)git --no-pager diff --stat -- tests/dtcp/ || true
# only the X1 tests (no root, no network): what a change to loader/x1/ runs
x1-test: $(TB)/test_x1 $(TB)/golden_x1
	$(Q)tests/run.sh $(TB)/test_x1 '$(TB)/golden_x1 $(X1_GOLDEN)'
x1-golden-update: $(TB)/golden_x1
	$(Q)$(TB)/golden_x1 --update $(X1_GOLDEN)
	$(Q)git --no-pager diff --stat -- tests/x1/ || true
