# The SSH worker (loader/worker.c), the monitor <-> worker protocol
# (loader/monproto.c), the monitor's side of the connections
# (loader/monauth.c) and their tests. Included by the top-level Makefile.
# The unit tests are built under $(BUILD)/sshd.d, sanitized (ASan + UBSan)
# as the other tests are; sshd_test.py drives build/xtapd itself. The daemon
# links worker.o and monproto.o with $(SSHD_LIBS).

SDB        := $(BUILD)/sshd.d
SD_CFLAGS  := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -Iloader -Iinclude -Idtcp -Itests/dtcp $(NL_CFLAGS)
SD_HDRS    := loader/monproto.h loader/worker.h loader/log.h loader/sigcheck.h loader/monauth.h loader/config.h \
	      loader/audit.h loader/ctl.h loader/evlimit.h dtcp/dtcp.h dtcp/b64.h dtcp/xbuf.h tests/dtcp/memback.h
SSHD_LIBS  := -lssh -lseccomp -lcrypto
# log.c routes libbpf's messages, hence -lbpf
SD_MONAUTH_LIBS := -lcrypt -lcrypto -lbpf -lelf -lz

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

# The monitor's slots and login decisions (loader/monauth.c) driven with
# monitor-protocol messages, with the real configuration parser and audit log
SD_MONAUTH_OBJS := tests/sshd/test_monauth.o loader/monauth.o loader/config.o loader/audit.o \
	loader/evlimit.o loader/sigcheck.o loader/monproto.o loader/log.o tests/dtcp/memback.o
$(SDB)/test_monauth: $(SD_MONAUTH_OBJS:%=$(SDB)/san/%) $(DT)/libdtcp-san.a
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(SD_CFLAGS) $(SAN_FLAGS) $^ -o $@ $(SD_MONAUTH_LIBS)

# test tables leave unused fields to zero-initialisation
$(SDB)/san/tests/sshd/%.o: SD_CFLAGS += -Wno-missing-field-initializers

# sshd_test.py drives the real xtapd, sanitized (and asks xtapctl about it)
SD_BUILD := $(SDB)/test_monproto $(SDB)/test_sigcheck $(SDB)/test_monauth $(SBUILD)/xtapd $(BUILD)/xtapctl $(BUILD)/dtcp

TEST_BUILD_EXTRA += $(SD_BUILD)
TESTS_EXTRA += $(SDB)/test_monproto $(SDB)/test_sigcheck $(SDB)/test_monauth \
	'/usr/bin/python3 tests/sshd/sshd_test.py $(BUILD)'

.PHONY: sshd
sshd: $(SD_BUILD)
