# ETSI X3 delivery (docs/x3.md): the PDU codec and its golden tests, the
# receiver xtap-x3d, the sensor's delivery process xtap-x3, and the end-to-end
# test in namespaces. Included by the top-level Makefile. Programs are
# $(BUILD)/xtap-x3d and $(BUILD)/xtap-x3; the rest goes under $(BUILD)/x3.d.

X3B       := $(BUILD)/x3.d
X3_CFLAGS := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -Iloader -Idtcp -Iinclude
X3_HDRS   := loader/x3_pdu.h loader/cd_wire.h loader/x3sup.h loader/x3_net.h loader/hostport.h loader/cliarg.h dtcp/uuid.h

$(X3B)/opt/%.o: %.c $(X3_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(X3_CFLAGS) -c $< -o $@

$(X3B)/san/%.o: %.c $(X3_HDRS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(X3_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(X3B)/test_x3_pdu: $(X3B)/san/tests/x3/test_x3_pdu.o $(X3B)/san/loader/x3_pdu.o
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(X3_CFLAGS) $(SAN_FLAGS) $^ -o $@

X3_BUILD := $(X3B)/test_x3_pdu


# The receiver: the codec, TLS (OpenSSL), pcap.
X3D_OBJS := loader/xtap-x3d.o loader/x3_pdu.o loader/x3_net.o loader/hostport.o
$(BUILD)/xtap-x3d: $(X3D_OBJS:%=$(X3B)/opt/%)
	$(call msg,LD,$@)
	$(Q)$(CC) $(X3_CFLAGS) $^ -o $@ -lssl -lcrypto -lpcap
$(X3B)/san/xtap-x3d: $(X3D_OBJS:%=$(X3B)/san/%)
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(X3_CFLAGS) $(SAN_FLAGS) $^ -o $@ -lssl -lcrypto -lpcap

# The sensor's delivery process: the codec, the copies' checks (cd_wire),
# the configuration parser (and the DTCP library it uses), the privilege
# drop, seccomp.
X3S_OBJS := loader/xtap-x3-main.o loader/xtap-x3.o loader/x3_pdu.o loader/x3_net.o loader/hostport.o loader/cd_wire.o loader/config.o \
	    loader/privdrop.o loader/log.o
$(X3B)/opt/loader/xtap-x3.o $(X3B)/san/loader/xtap-x3.o $(X3B)/opt/loader/config.o \
	$(X3B)/san/loader/config.o: loader/config.h dtcp/dtcp.h loader/privdrop.h loader/log.h
$(BUILD)/xtap-x3: $(X3S_OBJS:%=$(X3B)/opt/%) $(BUILD)/dtcp.d/libdtcp.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(X3_CFLAGS) $^ -o $@ -lssl -lcrypto -lseccomp
$(X3B)/san/xtap-x3: $(X3S_OBJS:%=$(X3B)/san/%) $(BUILD)/dtcp.d/libdtcp-san.a
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(X3_CFLAGS) $(SAN_FLAGS) $^ -o $@ -lssl -lcrypto -lseccomp

# the end-to-end test also runs xtapd, xtap-cd and the dtcp client
X3_BUILD += $(BUILD)/xtap-x3d $(BUILD)/xtap-x3 $(X3B)/san/xtap-x3d $(X3B)/san/xtap-x3

# `make` builds the receiver, which `make install` ships (xtapd runs the
# delivery process itself; the standalone xtap-x3 is for tests: `make x3`)
all: $(BUILD)/xtap-x3d

TEST_BUILD_EXTRA += $(X3_BUILD)
TESTS_EXTRA += $(X3B)/test_x3_pdu 'tests/x3/test_x3.sh $(BUILD)' 'tests/x3/test_x3_e2e.sh $(BUILD)'

.PHONY: x3
x3: $(X3_BUILD)

# The delivery process's CPU per copy (figures, not a test; root)
.PHONY: bench-x3
bench-x3: $(BUILD)/xtap-x3 $(BUILD)/xtap-x3d
	$(Q)tests/x3/bench_x3.sh $(BUILD) $(BENCH_X3_N) $(BENCH_X3_SIZE)
