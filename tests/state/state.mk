# Persistence (loader/state.c), the audit log (loader/audit.c) and their
# tests. Included by the top-level Makefile after dtcp/dtcp.mk (it links the
# sanitized DTCP library and its in-memory backend). Outputs under
# $(BUILD)/state.d; everything here is built with ASan and UBSan.

STB       := $(BUILD)/state.d
ST_CFLAGS := -O1 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -Iloader -Idtcp -Itests/dtcp $(SAN_FLAGS)
ST_HDRS   := loader/state.h loader/audit.h dtcp/dtcp.h dtcp/xbuf.h tests/dtcp/memback.h

$(STB)/%.o: %.c $(ST_HDRS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ST_CFLAGS) -c $< -o $@

# test tables leave unused fields to zero-initialisation
$(STB)/tests/state/%.o: ST_CFLAGS += -Wno-missing-field-initializers

$(STB)/test_state: $(STB)/tests/state/test_state.o $(STB)/loader/state.o \
		   $(DT)/san/tests/dtcp/memback.o $(DT)/libdtcp-san.a
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(ST_CFLAGS) $^ -o $@ -lcrypto

$(STB)/test_audit: $(STB)/tests/state/test_audit.o $(STB)/loader/audit.o
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(ST_CFLAGS) $^ -o $@

ST_BUILD := $(STB)/test_state $(STB)/test_audit

TEST_BUILD_EXTRA += $(ST_BUILD)
TESTS_EXTRA += $(STB)/test_state $(STB)/test_audit

.PHONY: state-tests
state-tests: $(ST_BUILD)
