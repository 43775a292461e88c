# The content destination `xtap-cd` and its tests. Included by the top-level
# Makefile. The program is $(BUILD)/xtap-cd; the rest goes under
# $(BUILD)/cd.d. The tests run the sanitized build, $(BUILD)/cd.d/san/xtap-cd
# (same base name, so its messages read the same).

CDB       := $(BUILD)/cd.d
CD_CFLAGS := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -Iloader -Idtcp
CD_HDRS   := loader/cd_wire.h loader/jmirror.h loader/hostport.h loader/cliarg.h dtcp/dtcp.h
CD_LIBS   := -lpcap -lm -lcrypto
# intercept ids are read by the DTCP library's own parser
CD_DTCP     := $(BUILD)/dtcp.d/libdtcp.a
CD_DTCP_SAN := $(BUILD)/dtcp.d/libdtcp-san.a

$(CDB)/opt/%.o: %.c $(CD_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CD_CFLAGS) -c $< -o $@

$(CDB)/san/%.o: %.c $(CD_HDRS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CD_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/xtap-cd: $(CDB)/opt/loader/xtap-cd.o $(CDB)/opt/loader/cd_wire.o $(CDB)/opt/loader/hostport.o $(CD_DTCP)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CD_CFLAGS) $^ -o $@ $(CD_LIBS)

$(CDB)/san/xtap-cd: $(CDB)/san/loader/xtap-cd.o $(CDB)/san/loader/cd_wire.o $(CDB)/san/loader/hostport.o \
		$(CD_DTCP_SAN)
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(CD_CFLAGS) $(SAN_FLAGS) $^ -o $@ $(CD_LIBS)

$(CDB)/test_cd_wire: $(CDB)/san/tests/cd/test_cd_wire.o $(CDB)/san/loader/cd_wire.o $(CD_DTCP_SAN)
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(CD_CFLAGS) $(SAN_FLAGS) $^ -o $@ $(CD_LIBS)

CD_BUILD := $(BUILD)/xtap-cd $(CDB)/san/xtap-cd $(CDB)/test_cd_wire

TEST_BUILD_EXTRA += $(CD_BUILD)
TESTS_EXTRA += $(CDB)/test_cd_wire \
	'/usr/bin/python3 tests/cd/cdtest.py $(CDB)/san/xtap-cd'

.PHONY: cd
cd: $(CD_BUILD)

# `make` builds the program too
all: $(BUILD)/xtap-cd

# test tables leave unused fields to zero-initialisation
$(CDB)/san/tests/cd/%.o: CD_CFLAGS += -Wno-missing-field-initializers
