# xtap's logger with libbpf's and libxdp's messages (loader/log_lib.c).
# Included by the top-level Makefile.

$(SBUILD)/tests/log/test_log: $(SBUILD)/tests/log/test_log.o $(SBUILD)/loader/log.o $(SBUILD)/loader/log_lib.o
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $^ -o $@ -lxdp -lbpf

TEST_BUILD_EXTRA += $(SBUILD)/tests/log/test_log
TESTS_EXTRA += $(SBUILD)/tests/log/test_log
