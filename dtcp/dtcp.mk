# DTCP library, its tests and the `dtcp` client. Included by the top-level
# Makefile. The client is $(BUILD)/dtcp, so everything else goes under
# $(BUILD)/dtcp.d (a file and a folder cannot share the name $(BUILD)/dtcp).

DT        := $(BUILD)/dtcp.d
DT_CFLAGS := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -Idtcp -Itests/dtcp
DT_SRCS   := $(wildcard dtcp/*.c)
DT_HDRS   := $(wildcard dtcp/*.h) $(wildcard tests/dtcp/*.h)
DT_LIBS   := -lcrypto
# Fuzzers: clang's libFuzzer with ASan and UBSan (run by tests/fuzz/fuzz.mk).
DT_FUZZ_FLAGS := -g -O1 $(WARN) -std=gnu11 -D_GNU_SOURCE -Idtcp -Itests/dtcp \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
DT_GOLDEN := $(sort $(wildcard tests/dtcp/*.in))

$(DT)/opt/%.o: %.c $(DT_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(DT_CFLAGS) -c $< -o $@

$(DT)/san/%.o: %.c $(DT_HDRS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(DT_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(DT)/libdtcp.a: $(DT_SRCS:%.c=$(DT)/opt/%.o)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(DT)/libdtcp-san.a: $(DT_SRCS:%.c=$(DT)/san/%.o)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

# Sanitized test programs: NAME from tests/dtcp/NAME.c + memback.
define dtcp_san_prog
$(DT)/$(1): $(DT)/san/tests/dtcp/$(1).o $(DT)/san/tests/dtcp/memback.o $(DT)/libdtcp-san.a
	$$(call msg,LD-SAN,$$@)
	$$(Q)$$(CC) $$(DT_CFLAGS) $$(SAN_FLAGS) $$^ -o $$@ $$(DT_LIBS)
endef
$(foreach p,test_dtcp golden test_server test_xbuf test_b64 test_gaptab,$(eval $(call dtcp_san_prog,$(p))))

$(BUILD)/dtcp: $(DT)/opt/dtcp/client/main.o $(DT)/libdtcp.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(DT_CFLAGS) $^ -o $@ -lssh $(DT_LIBS)

$(DT)/fuzz_%: tests/dtcp/fuzz_%.c tests/dtcp/memback.c $(DT_SRCS) $(DT_HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(DT_FUZZ_FLAGS) $(filter %.c,$^) -o $@ $(DT_LIBS)

DT_FUZZERS := $(DT)/fuzz_request $(DT)/fuzz_reply
DT_BUILD   := $(DT)/test_dtcp $(DT)/test_xbuf $(DT)/test_b64 $(DT)/test_gaptab $(DT)/golden $(DT)/test_server $(BUILD)/dtcp $(DT_FUZZERS)

TEST_BUILD_EXTRA += $(DT_BUILD)
TESTS_EXTRA += $(DT)/test_dtcp $(DT)/test_xbuf $(DT)/test_b64 $(DT)/test_gaptab \
	'$(DT)/golden $(DT_GOLDEN)' \
	'tests/dtcp/e2e.sh $(BUILD)'

.PHONY: dtcp dtcp-golden-update
dtcp: $(DT_BUILD)

dtcp-golden-update: $(DT)/golden
	$(Q)$(DT)/golden --update $(DT_GOLDEN)
	$(Q)git --no-pager diff --stat -- tests/dtcp/ || true
