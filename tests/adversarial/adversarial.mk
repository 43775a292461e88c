# SPDX-License-Identifier: BSD-2-Clause
# The adversarial suite, SSH side (issue 12), against the real xtapd in
# namespaces (root): hostile SSH clients and worker kills (adv_test.sh, about
# 2.5 minutes), a compromised worker speaking the monitor protocol
# (worker_test.sh, a few seconds). Included by the top-level Makefile.
ADV_BUILD := $(BUILD)/xtapd $(BUILD)/xtapctl $(BUILD)/xtap-cd $(BUILD)/dtcp

TEST_BUILD_EXTRA += $(ADV_BUILD)
TESTS_EXTRA += 'tests/adversarial/adv_test.sh $(BUILD)' 'tests/adversarial/worker_test.sh $(BUILD)'

.PHONY: adversarial
adversarial: $(ADV_BUILD)
	$(Q)tests/run.sh 'tests/adversarial/adv_test.sh $(BUILD)' 'tests/adversarial/worker_test.sh $(BUILD)'
