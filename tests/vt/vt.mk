# The vt veth pair module (loader/vtpair.c) and its namespace test. Included
# by the top-level Makefile. libnl's headers live under their own include
# folder, so the objects are built here rather than by the generic rules;
# outputs go under $(BUILD)/vt.d.

VTB       := $(BUILD)/vt.d
VT_NL_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0)
VT_NL_LIBS   := $(shell pkg-config --libs libnl-route-3.0)
VT_CFLAGS := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -Iloader $(VT_NL_CFLAGS)
VT_HDRS   := loader/vtpair.h loader/log.h

$(VTB)/opt/%.o: %.c $(VT_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(VT_CFLAGS) -c $< -o $@

$(VTB)/san/%.o: %.c $(VT_HDRS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(VT_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(VTB)/test_vt: $(VTB)/san/tests/vt/test_vt.o $(VTB)/san/loader/vtpair.o $(VTB)/san/loader/log.o
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(VT_CFLAGS) $(SAN_FLAGS) $^ -o $@ $(VT_NL_LIBS) -lbpf

VT_BUILD := $(VTB)/opt/loader/vtpair.o $(VTB)/test_vt

TEST_BUILD_EXTRA += $(VT_BUILD)
# runs in its own network namespaces; bounded so a stuck kernel path cannot hang make test
TESTS_EXTRA += 'timeout 20 $(VTB)/test_vt'

.PHONY: vt
vt: $(VT_BUILD)

all: $(VTB)/opt/loader/vtpair.o
