# The adversarial suite, SSH side (issue 12): hostile SSH clients and worker
# kills against the real xtapd in namespaces (tests/adversarial/adv_test.sh,
# about 2.5 minutes, root). Included by the top-level Makefile.
ADV_BUILD := $(BUILD)/xtapd $(BUILD)/xtapctl $(BUILD)/xtap-cd $(BUILD)/dtcp

TEST_BUILD_EXTRA += $(ADV_BUILD)
TESTS_EXTRA += 'tests/adversarial/adv_test.sh $(BUILD)'

.PHONY: adversarial
adversarial: $(ADV_BUILD)
	$(Q)tests/run.sh 'tests/adversarial/adv_test.sh $(BUILD)'
