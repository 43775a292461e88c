# The SSH worker (loader/worker.c), the monitor <-> worker protocol
# (loader/monproto.c) and their tests. Included by the top-level Makefile.
# Everything is built under $(BUILD)/sshd.d, sanitized (ASan + UBSan) as the
# other tests are; the daemon links worker.o and monproto.o with
# $(SSHD_LIBS).

SDB        := $(BUILD)/sshd.d
SD_CFLAGS  := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -Iloader -Idtcp -Itests/dtcp $(NL_CFLAGS)
SD_HDRS    := loader/monproto.h loader/worker.h loader/log.h loader/sigcheck.h dtcp/dtcp.h tests/dtcp/memback.h
SSHD_LIBS  := -lssh -lseccomp -lcrypto
# log.c routes libbpf's messages, hence -lbpf
SD_TESTMON_LIBS := $(SSHD_LIBS) -lcrypt -lcrypto -lbpf -lelf -lz

$(SDB)/san/%.o: %.c $(SD_HDRS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(SD_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(SDB)/opt/%.o: %.c $(SD_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(SD_CFLAGS) -c $< -o $@

$(SDB)/test_monproto: $(SDB)/san/tests/sshd/test_monproto.o $(SDB)/san/loader/monproto.o
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(SD_CFLAGS) $(SAN_FLAGS) $^ -o $@

# the monitor's check of public-key signatures, against RFC-built data
$(SDB)/test_sigcheck: $(SDB)/san/tests/sshd/test_sigcheck.o $(SDB)/san/loader/sigcheck.o
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(SD_CFLAGS) $(SAN_FLAGS) $^ -o $@ -lcrypto

SD_TESTMON_OBJS := tests/sshd/testmon.o loader/worker.o loader/monproto.o loader/log.o \
	tests/dtcp/memback.o

# The test monitor with the worker, sanitized (what the tests run) and
# optimised (to measure the seccomp allowlist without the sanitizer runtime).
$(SDB)/testmon: $(SD_TESTMON_OBJS:%=$(SDB)/san/%) $(DT)/libdtcp-san.a
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(SD_CFLAGS) $(SAN_FLAGS) $^ -o $@ $(SD_TESTMON_LIBS)

$(SDB)/testmon-opt: $(SD_TESTMON_OBJS:%=$(SDB)/opt/%) $(DT)/libdtcp.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(SD_CFLAGS) $^ -o $@ $(SD_TESTMON_LIBS)

# test tables leave unused fields to zero-initialisation
$(SDB)/san/tests/sshd/%.o: SD_CFLAGS += -Wno-missing-field-initializers

SD_BUILD := $(SDB)/test_monproto $(SDB)/test_sigcheck $(SDB)/testmon $(SDB)/testmon-opt $(BUILD)/dtcp

TEST_BUILD_EXTRA += $(SD_BUILD)
TESTS_EXTRA += $(SDB)/test_monproto $(SDB)/test_sigcheck \
	'/usr/bin/python3 tests/sshd/sshd_test.py $(BUILD)'

.PHONY: sshd
sshd: $(SD_BUILD)
