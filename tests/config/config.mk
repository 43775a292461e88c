# The configuration parser (loader/config.c), its table-driven test and the
# xtap-config-check command. Included by the top-level Makefile. The command
# is $(BUILD)/xtap-config-check; the rest goes under $(BUILD)/config.d. The
# tests run the sanitized builds; the parser uses the DTCP library's value
# parsers, so it links libdtcp.

CFB       := $(BUILD)/config.d
CF_CFLAGS := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -Iloader -Idtcp
CF_HDRS   := loader/config.h dtcp/dtcp.h dtcp/b64.h dtcp/uuid.h loader/x3_pdu.h
CF_LIBS   := -lcrypto

$(CFB)/opt/%.o: %.c $(CF_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CF_CFLAGS) -c $< -o $@

$(CFB)/san/%.o: %.c $(CF_HDRS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CF_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/xtap-config-check: $(CFB)/opt/tests/config/xtap-config-check.o $(CFB)/opt/loader/config.o \
		$(BUILD)/dtcp.d/libdtcp.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(CF_CFLAGS) $^ -o $@ $(CF_LIBS)

$(CFB)/san/xtap-config-check: $(CFB)/san/tests/config/xtap-config-check.o \
		$(CFB)/san/loader/config.o $(BUILD)/dtcp.d/libdtcp-san.a
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(CF_CFLAGS) $(SAN_FLAGS) $^ -o $@ $(CF_LIBS)

# the DTCP server and its in-memory backend answer ADDs under a parsed policy
$(CFB)/san/tests/config/test_config.o: CF_CFLAGS += -Itests/dtcp
$(CFB)/san/tests/config/test_config.o: tests/dtcp/memback.h
$(CFB)/test_config: $(CFB)/san/tests/config/test_config.o $(CFB)/san/loader/config.o \
		$(BUILD)/dtcp.d/san/tests/dtcp/memback.o $(BUILD)/dtcp.d/libdtcp-san.a
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(CF_CFLAGS) $(SAN_FLAGS) $^ -o $@ $(CF_LIBS)

CF_BUILD := $(BUILD)/xtap-config-check $(CFB)/san/xtap-config-check $(CFB)/test_config

TEST_BUILD_EXTRA += $(CF_BUILD)
TESTS_EXTRA += '$(CFB)/test_config examples/xtapd.conf' \
	'tests/config/check_cli.sh $(CFB)/san/xtap-config-check'

.PHONY: config
config: $(CF_BUILD)

# not shipped (`xtapd -n` is the same check): built by `make config` and the tests

# test tables leave unused fields to zero-initialisation
$(CFB)/san/tests/config/%.o: CF_CFLAGS += -Wno-missing-field-initializers
