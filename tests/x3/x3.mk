# ETSI X3 delivery (docs/x3.md): the PDU codec and its golden tests, the
# receiver xtap-x3d, the sensor's delivery process xtap-x3, and the end-to-end
# test in namespaces. Included by the top-level Makefile. Programs are
# $(BUILD)/xtap-x3d and $(BUILD)/xtap-x3; the rest goes under $(BUILD)/x3.d.

X3B       := $(BUILD)/x3.d
X3_CFLAGS := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -Iloader -Idtcp -Iinclude
X3_HDRS   := loader/x3_pdu.h loader/cd_wire.h

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

TEST_BUILD_EXTRA += $(X3_BUILD)
TESTS_EXTRA += $(X3B)/test_x3_pdu

.PHONY: x3
x3: $(X3_BUILD)
