// SPDX-License-Identifier: BSD-2-Clause
/*
 * The datapath's life on a real interface, in a private network namespace:
 * load, pin and attach (XDP through libxdp, TC through clsact); a crash of
 * the daemon (file descriptors closed, nothing detached) leaves interception
 * running; a restart adopts the pinned maps without a second set of filters;
 * teardown removes everything xtap created and nothing else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath.h"
#include "pktbuild.h"
#include "testenv.h"

static char pin_dir[64];

/* One frame into a1: it arrives on a0's ingress, where xtap is attached. */
static int inject(void)
{
	struct pkt_spec s = { .family = 4, .proto = 17, .sport = 5, .dport = 6, .payload = 30 };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex("a1"), .sll_halen = 6 };
	uint8_t f[512];
	int fd, len, rc;

	pkt_addr(s.src, "192.0.2.1");
	pkt_addr(s.dst, "198.51.100.1");
	len = pkt_build(&s, f, sizeof(f), NULL);
	if (len < 0)
		return -1;
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		return -1;
	rc = sendto(fd, f, len, 0, (struct sockaddr *)&sll, sizeof(sll)) == len ? 0 : -1;
	close(fd);
	usleep(50000);
	return rc;
}

/* A global counter, read through the pinned map (for failure messages). */
static uint64_t pinned_counter(uint32_t idx)
{
	char path[128];
	uint64_t per[64], sum = 0;
	int fd, n = libbpf_num_possible_cpus();

	snprintf(path, sizeof(path), "%s/xtap_counters", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0 || n > 64 || bpf_map_lookup_elem(fd, &idx, per)) {
		if (fd >= 0)
			close(fd);
		return (uint64_t)-1;
	}
	close(fd);
	for (int i = 0; i < n; i++)
		sum += per[i];
	return sum;
}

/* Packets counted for a rule slot, read through the pinned map: entry
 * cpu * slots + slot (xtap.h), slots the rules map's size (1024 here). */
static uint64_t pinned_packets(uint32_t slot)
{
	char path[128];
	struct xtap_crit_stats v;
	uint64_t sum = 0;
	int fd, n = libbpf_num_possible_cpus();

	snprintf(path, sizeof(path), "%s/xtap_stats", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return (uint64_t)-1;
	for (int i = 0; i < n; i++) {
		uint32_t key = (uint32_t)i * 1024 + slot;

		if (bpf_map_lookup_elem(fd, &key, &v)) {
			close(fd);
			return (uint64_t)-1;
		}
		sum += v.packets;
	}
	close(fd);
	return sum;
}

static int count_lines(const char *cmd)
{
	char buf[512];
	FILE *p = popen(cmd, "r");
	int n = 0;

	if (!p)
		return -1;
	while (fgets(buf, sizeof(buf), p))
		n++;
	pclose(p);
	return n;
}

/* The criterion of every case: source 192.0.2.1, the frames inject() sends. */
static int add_source(struct xtap_cls *cls, uint32_t *slot)
{
	struct xtap_criterion c;

	memset(&c, 0, sizeof(c));
	c.family = XTAP_AF_INET;
	pkt_addr(c.src, "192.0.2.1");
	c.src_plen = 32;
	c.proto.any = c.sport.any = c.dport.any = c.itype.any = c.icode.any = 1;
	return xtap_cls_add(cls, &c, slot);
}

/* A clean start even after a failed case: no pins, vt pair, filters or XDP. */
static int clean_start(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "rm -rf %s; ip link del vtt0 2>/dev/null; tc qdisc del dev a0 clsact 2>/dev/null; "
		 "ip link set a0 xdp off 2>/dev/null; ip link set a0 xdpgeneric off 2>/dev/null; true",
		 pin_dir);
	return system(cmd);
}

static int life(enum xtap_attach_mode mode)
{
	struct xtap_dp_opts o = {
		.pin_dir = pin_dir, .vt_name = "vtt0", .vt_peer = "vtt1", .ipv6 = 1, .max_criteria = 1024
	};
	struct xtap_dp dp;
	struct xtap_cls *cls;
	uint32_t slot;
	int err, xdp = mode != XTAP_ATTACH_TC && xtap_dp_xdp_meta();

	if (clean_start())
		return -1;
	err = xtap_dp_open(&dp, &o);
	REQUIRE(!err, "open: %s", strerror(-err));
	REQUIRE(!dp.adopted && dp.vt.created, "a first start adopted something");
	err = xtap_dp_attach(&dp, "a0", mode);
	REQUIRE(!err, "attach: %s", strerror(-err));
	/* a kernel that refuses XDP metadata: TC only, whatever was asked */
	REQUIRE(xdp ||
			(dp.ifs[0].mode == XTAP_ATTACH_TC && !dp.ifs[0].xdp &&
			 count_lines("ip -d link show a0 | grep -E -w 'xdp|xdpgeneric|prog/xdp'") == 0),
		"XDP attached or mode %d where XDP leaves no metadata", (int)dp.ifs[0].mode);
	cls = xtap_cls_new(&dp.maps, dp.max_criteria, XTAP_MAX_SETS_DEFAULT);
	REQUIRE(cls, "classifier");
	REQUIRE(!add_source(cls, &slot), "criterion");
	REQUIRE(!inject(), "inject: %s", strerror(errno));
	REQUIRE(pinned_packets(slot) == 1, "first packet: %llu (classified %llu, matched %llu)",
		(unsigned long long)pinned_packets(slot), (unsigned long long)pinned_counter(XTAP_G_PACKETS),
		(unsigned long long)pinned_counter(XTAP_G_MATCHED));

	/* a crash: descriptors gone, nothing detached */
	xtap_cls_free(cls);
	xtap_dp_close(&dp);
	REQUIRE(!inject() && pinned_packets(slot) == 2, "interception stopped with the daemon: %llu",
		(unsigned long long)pinned_packets(slot));
	if (xdp)
		REQUIRE(count_lines("ip -d link show a0 | grep -w xdp") > 0 ||
				count_lines("ip -d link show a0 | grep -w xdpgeneric") > 0,
			"XDP gone after the crash");

	/* restart: adopt the pins, attach again without doubling anything */
	err = xtap_dp_open(&dp, &o);
	REQUIRE(!err && dp.adopted && !dp.vt.created, "restart did not adopt: %s", strerror(-err));
	err = xtap_dp_attach(&dp, "a0", mode);
	REQUIRE(!err, "attach after restart: %s", strerror(-err));
	REQUIRE(count_lines("tc filter show dev a0 ingress | grep handle") == 1, "ingress filters: %d",
		count_lines("tc filter show dev a0 ingress | grep handle"));
	REQUIRE(count_lines("tc filter show dev a0 egress | grep handle") == 1, "egress filters");
	REQUIRE(!inject() && pinned_packets(slot) == 3, "after restart: %llu",
		(unsigned long long)pinned_packets(slot));

	/* teardown: ours gone, the interface as it was */
	REQUIRE(!xtap_dp_teardown(&dp), "teardown");
	REQUIRE(access(pin_dir, F_OK) != 0, "pins left in %s", pin_dir);
	REQUIRE(if_nametoindex("vtt0") == 0, "vt pair left");
	/* the clsact qdisc was made by the first start: after a restart xtap
	 * cannot tell it from someone else's, so only its filters go */
	REQUIRE(count_lines("tc filter show dev a0 ingress; tc filter show dev a0 egress") == 0, "filters left");
	REQUIRE(count_lines("ip -d link show a0 | grep -E -w 'xdp|xdpgeneric|prog/xdp'") == 0, "XDP left");
	return 0;
}

/* A datapath pinned by another version (here: one without the layout
 * version map, as every version before it, or with another version in it)
 * is not adopted: its pins are replaced by a fresh datapath, its XDP
 * program detached, its TC filters replaced, and the new one intercepts. */
static int layout_replaced_by(int version)
{
	struct xtap_dp_opts o = {
		.pin_dir = pin_dir, .vt_name = "vtt0", .vt_peer = "vtt1", .ipv6 = 1, .max_criteria = 1024
	};
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info), slot;
	struct xtap_dp dp;
	struct xtap_cls *cls;
	char path[128];
	int err, fd;

	if (clean_start())
		return -1;
	err = xtap_dp_open(&dp, &o);
	REQUIRE(!err, "open: %s", strerror(-err));
	REQUIRE(!xtap_dp_attach(&dp, "a0", XTAP_ATTACH_XDP_GENERIC), "attach");
	xtap_dp_close(&dp); /* the old version's daemon is gone, its datapath runs */
	snprintf(path, sizeof(path), "%s/xtap_layout", pin_dir);
	REQUIRE(!unlink(path), "unpin the layout map");
	if (version) {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xtap_layout", 4, 4, (uint32_t)version, NULL);
		REQUIRE(fd >= 0 && !bpf_obj_pin(fd, path), "layout %d: %s", version, strerror(errno));
		close(fd);
	}

	err = xtap_dp_open(&dp, &o);
	REQUIRE(!err, "open over another version: %s", strerror(-err));
	REQUIRE(!dp.adopted, "adopted a datapath of another version");
	REQUIRE(!bpf_obj_get_info_by_fd(dp.maps.layout, &info, &len) && info.max_entries == XTAP_LAYOUT_VERSION,
		"layout version %u", info.max_entries);
	REQUIRE(!xtap_dp_attach(&dp, "a0", XTAP_ATTACH_XDP_GENERIC), "attach");
	REQUIRE(count_lines("ip -d link show a0 | grep 'prog/xdp'") == xtap_dp_xdp_meta(), "XDP programs: %d",
		count_lines("ip -d link show a0 | grep 'prog/xdp'"));
	REQUIRE(count_lines("tc filter show dev a0 ingress | grep handle") == 1, "ingress filters");
	cls = xtap_cls_new(&dp.maps, dp.max_criteria, XTAP_MAX_SETS_DEFAULT);
	REQUIRE(cls, "classifier");
	REQUIRE(!add_source(cls, &slot), "criterion");
	REQUIRE(!inject() && pinned_packets(slot) == 1, "the new datapath: %llu packets",
		(unsigned long long)pinned_packets(slot));
	xtap_cls_free(cls);
	REQUIRE(!xtap_dp_teardown(&dp), "teardown");
	REQUIRE(count_lines("ip -d link show a0 | grep -E -w 'xdp|xdpgeneric|prog/xdp'") == 0, "XDP left");
	return 0;
}

static int layout_none(void)
{
	return layout_replaced_by(0);
}

static int layout_other(void)
{
	return layout_replaced_by(XTAP_LAYOUT_VERSION + 1);
}

static int test_native(void)
{
	return life(XTAP_ATTACH_XDP_NATIVE);
}
static int test_generic(void)
{
	return life(XTAP_ATTACH_XDP_GENERIC);
}
static int test_tc(void)
{
	return life(XTAP_ATTACH_TC);
}

int main(void)
{
	char why[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tenv_netns(why, sizeof(why))) {
		t_record("datapath life", 1, why);
		return t_summary();
	}
	if (system("ip link add a0 type veth peer name a1 && ip link set a0 up && ip link set a1 up")) {
		t_record("datapath life", -1, NULL);
		return t_summary();
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/xtap-test-%d", (int)getpid());
	t_record("load, crash, adopt, teardown: XDP native", test_native(), NULL);
	t_record("load, crash, adopt, teardown: XDP generic", test_generic(), NULL);
	t_record("load, crash, adopt, teardown: TC only", test_tc(), NULL);
	t_record("a datapath pinned before the layout version map is replaced, not adopted", layout_none(), NULL);
	t_record("a datapath pinned with another layout version is replaced, not adopted", layout_other(), NULL);
	/* whatever a failure left: the namespace goes with the process, pins not */
	if (system("rm -rf /sys/fs/bpf/xtap-test-*") != 0)
		printf("could not remove test pins\n");
	return t_summary();
}
