# The X1 library (ETSI TS 103 221-1, docs/x1.md), its tests and its fuzzer.
# Included by the top-level Makefile after dtcp/dtcp.mk (it links the DTCP
# library: an X1 task's criteria are DTCP criteria). Everything goes under
# $(BUILD)/x1.d.

X1B       := $(BUILD)/x1.d
X1_XML_CFLAGS := $(shell pkg-config --cflags libxml-2.0 2>/dev/null)
X1_XML_LIBS   := $(shell pkg-config --libs libxml-2.0 2>/dev/null)
X1_CFLAGS := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -Ix1 -Idtcp -Itests -Itests/dtcp -Itests/x1 $(X1_XML_CFLAGS)
X1_SRCS   := $(wildcard x1/*.c)
X1_HDRS   := $(wildcard x1/*.h) dtcp/dtcp.h dtcp/uuid.h tests/dtcp/memback.h tests/x1/shared.h tests/check.h
X1_FUZZ_FLAGS := -g -O1 $(WARN) -std=gnu11 -D_GNU_SOURCE -Ix1 -Idtcp -Itests -Itests/dtcp -Itests/x1 $(X1_XML_CFLAGS) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
X1_GOLDEN := $(sort $(wildcard tests/x1/*.in))

$(X1B)/opt/%.o: %.c $(X1_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(X1_CFLAGS) -c $< -o $@

$(X1B)/san/%.o: %.c $(X1_HDRS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(X1_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(X1B)/libx1.a: $(X1_SRCS:%.c=$(X1B)/opt/%.o)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(X1B)/libx1-san.a: $(X1_SRCS:%.c=$(X1B)/san/%.o)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

# Sanitized test programs: NAME from tests/x1/NAME.c, with the DTCP library
# and its in-memory backend (the table X1 criteria share with DTCP).
define x1_san_prog
$(X1B)/$(1): $(X1B)/san/tests/x1/$(1).o $(X1B)/san/tests/x1/shared.o $(X1B)/san/tests/dtcp/memback.o $(X1B)/libx1-san.a \
		$(BUILD)/dtcp.d/libdtcp-san.a
	$$(call msg,LD-SAN,$$@)
	$$(Q)$$(CC) $$(X1_CFLAGS) $$(SAN_FLAGS) $$^ -o $$@ $$(X1_XML_LIBS) -lcrypto
endef
$(foreach p,test_x1 golden,$(eval $(call x1_san_prog,$(p))))

$(FZ)/fuzz_x1: tests/x1/fuzz_x1.c tests/x1/shared.c tests/dtcp/memback.c $(X1_SRCS) $(DT_SRCS) $(X1_HDRS) $(DT_HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(X1_FUZZ_FLAGS) $(filter %.c,$^) -o $@ $(X1_XML_LIBS) -lcrypto

X1_BUILD := $(X1B)/test_x1 $(X1B)/golden $(FZ)/fuzz_x1 $(X1B)/x1_https

TEST_BUILD_EXTRA += $(X1_BUILD)
TESTS_EXTRA += $(X1B)/test_x1 '$(X1B)/golden $(X1_GOLDEN)'

.PHONY: x1 x1-test x1-golden-update
x1: $(X1_BUILD)

# only the X1 tests (no root, no network): what a change to x1/ runs
x1-test: $(X1B)/test_x1 $(X1B)/golden
	$(Q)tests/run.sh $(X1B)/test_x1 '$(X1B)/golden $(X1_GOLDEN)'

x1-golden-update: $(X1B)/golden
	$(Q)$(X1B)/golden --update $(X1_GOLDEN)
	$(Q)git --no-pager diff --stat -- tests/x1/ || true

# The HTTPS front end (loader/x1worker.c) with a test monitor: tests/x1/test_https.sh
$(X1B)/san/loader/x1worker.o: loader/x1worker.c loader/x1worker.h loader/privdrop.h $(X1_HDRS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(X1_CFLAGS) -Iloader $(SAN_FLAGS) -c $< -o $@
$(X1B)/san/loader/privdrop.o $(X1B)/san/loader/log.o: $(X1B)/san/%.o: %.c loader/privdrop.h loader/log.h
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(X1_CFLAGS) -Iloader $(SAN_FLAGS) -c $< -o $@
$(X1B)/x1_https: tests/x1/x1_https.c $(X1B)/san/loader/x1worker.o $(X1B)/san/loader/privdrop.o \
		$(X1B)/san/loader/log.o $(X1B)/san/tests/x1/shared.o \
		$(X1B)/san/tests/dtcp/memback.o $(X1B)/libx1-san.a $(BUILD)/dtcp.d/libdtcp-san.a $(X1_HDRS)
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(X1_CFLAGS) -Iloader $(SAN_FLAGS) $(filter %.c %.o %.a,$^) -o $@ $(X1_XML_LIBS) -lssl -lcrypto -lseccomp

TESTS_EXTRA += 'tests/x1/test_https.sh $(BUILD)'

# X1 through the real backend into the BPF maps, packets through XDP (root)
$(SBUILD)/tests/x1/test_x1_datapath.o: CFLAGS += -Ix1 -Itests/dtcp $(X1_XML_CFLAGS)
$(SBUILD)/tests/x1/test_x1_datapath.o: $(X1_HDRS) $(BUILD)/xtap.skel.h
$(X1B)/test_x1_datapath: $(SBUILD)/tests/x1/test_x1_datapath.o $(TEST_COMMON:%.c=$(SBUILD)/%.o) \
		$(BUILD)/dtcp.d/san/tests/dtcp/memback.o $(SBUILD)/libxtap.a $(X1B)/libx1-san.a \
		$(BUILD)/dtcp.d/libdtcp-san.a
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $^ -o $@ $(LDLIBS) $(X1_XML_LIBS) -lcrypto
TEST_BUILD_EXTRA += $(X1B)/test_x1_datapath
TESTS_EXTRA += $(X1B)/test_x1_datapath
