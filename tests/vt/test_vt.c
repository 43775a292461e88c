// SPDX-License-Identifier: BSD-2-Clause
/*
 * The vt pair module against a real kernel, in a private network namespace
 * that vanishes with this process. A second namespace ("cd side") holds the
 * content destination 203.0.113.2 / 2001:db8:1::2 behind a veth pair cdA/cdB;
 * copies are written into vt0 with an AF_PACKET socket as the encapsulation
 * program would write them, and must arrive there through vt1 and routing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vtpair.h"

#define CD_PORT 30030
#define SRC_PORT 49152
#define WAIT_HIT 2000 /* ms for a copy that must arrive (first one waits for ARP/ND) */
#define WAIT_MISS 300 /* ms for a copy that must not */

static int n_pass, n_fail, n_skip;
static int has_force_fwd; /* kernel has net.ipv6.conf.<if>.force_forwarding */
static int ns_host = -1, ns_cd = -1;
static int cd_sock4 = -1, cd_sock6 = -1;

#include "../check.h"

static void record(const char *name, int rc)
{
	if (rc == 0) {
		n_pass++;
		printf("ok      %s\n", name);
	} else if (rc > 0) {
		n_skip++;
		printf("skipped %s\n", name);
	} else {
		n_fail++;
		printf("FAILED  %s\n", name);
	}
	fflush(stdout);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		printf("  command failed (%d): %s\n", rc, cmd);
	return rc == 0 ? 0 : -1;
}

/* First line of a command's output, or "" */
static int sh_out(char *out, size_t len, const char *cmd)
{
	FILE *f = popen(cmd, "r");

	out[0] = 0;
	if (!f)
		return -1;
	if (!fgets(out, (int)len, f))
		out[0] = 0;
	return pclose(f) == 0 ? 0 : -1;
}

/* Value of /proc/sys/net/<family>/conf/<ifname>/<key>, or -1 */
static int sysctl_get(const char *family, const char *ifname, const char *key)
{
	char path[128], buf[32];
	FILE *f;
	int v;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", family, ifname, key);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return sscanf(buf, "%d", &v) == 1 ? v : -1;
}

static int sysctl_set(const char *family, const char *ifname, const char *key, int v)
{
	char path[128];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", family, ifname, key);
	f = fopen(path, "w");
	if (!f) {
		printf("  cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = fprintf(f, "%d\n", v) < 0;
	if (fclose(f) || rc) {
		printf("  cannot write %s\n", path);
		return -1;
	}
	return 0;
}

static int if_info(const char *ifname, uint8_t mac[6], short *flags)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
			*flags = ifr.ifr_flags;
			rc = 0;
		}
	}
	close(fd);
	return rc;
}

/* Does the interface hold any IPv6 address (link-local included)? */
static int has_inet6(const char *ifname)
{
	char line[256], dev[IFNAMSIZ + 1];
	FILE *f = fopen("/proc/net/if_inet6", "r");
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %*s %16s", dev) == 1 && !strcmp(dev, ifname))
			found = 1;
	fclose(f);
	return found;
}

/* ---- packets ----------------------------------------------------------------- */

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (; n > 1; n -= 2, b += 2)
		s += (uint32_t)(b[0] << 8 | b[1]);
	if (n)
		s += (uint32_t)b[0] << 8;
	return s;
}

/* A copy as vt0's egress program leaves it: Ethernet to vt1, IP/UDP to the CD. */
static size_t build_copy(uint8_t *buf, const struct xtap_vt *vt, int v6, const char *payload)
{
	struct ether_header *eth = (void *)buf;
	size_t plen = strlen(payload), ulen = sizeof(struct udphdr) + plen, iplen;
	struct udphdr *udp;

	memcpy(eth->ether_dhost, vt->peer_mac, 6);
	memcpy(eth->ether_shost, vt->mac, 6);
	if (!v6) {
		struct iphdr *ip = (void *)(eth + 1);

		eth->ether_type = htons(ETHERTYPE_IP);
		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons((uint16_t)(sizeof(*ip) + ulen));
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		inet_pton(AF_INET, "203.0.113.1", &ip->saddr);
		inet_pton(AF_INET, "203.0.113.2", &ip->daddr);
		ip->check = htons(csum_fold(csum_add(0, ip, sizeof(*ip))));
		udp = (void *)(ip + 1);
		iplen = sizeof(*ip);
		udp->check = 0; /* as the encapsulation does over IPv4 */
	} else {
		struct ip6_hdr *ip6 = (void *)(eth + 1);
		uint32_t s;

		eth->ether_type = htons(ETHERTYPE_IPV6);
		memset(ip6, 0, sizeof(*ip6));
		ip6->ip6_flow = htonl(6u << 28);
		ip6->ip6_plen = htons((uint16_t)ulen);
		ip6->ip6_nxt = IPPROTO_UDP;
		ip6->ip6_hlim = 64;
		inet_pton(AF_INET6, "2001:db8:1::1", &ip6->ip6_src);
		inet_pton(AF_INET6, "2001:db8:1::2", &ip6->ip6_dst);
		udp = (void *)(ip6 + 1);
		iplen = sizeof(*ip6);
		udp->source = htons(SRC_PORT);
		udp->dest = htons(CD_PORT);
		udp->len = htons((uint16_t)ulen);
		udp->check = 0;
		memcpy(udp + 1, payload, plen);
		s = csum_add(0, &ip6->ip6_src, 32);
		s += (uint32_t)ulen + IPPROTO_UDP;
		s = csum_add(s, udp, ulen);
		udp->check = htons(csum_fold(s));
		if (!udp->check)
			udp->check = 0xffff;
		return sizeof(*eth) + iplen + ulen;
	}
	udp->source = htons(SRC_PORT);
	udp->dest = htons(CD_PORT);
	udp->len = htons((uint16_t)ulen);
	memcpy(udp + 1, payload, plen);
	return sizeof(*eth) + iplen + ulen;
}

static int send_copy(const struct xtap_vt *vt, int v6, const char *payload)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = (int)vt->ifindex,
		.sll_halen = 6,
	};
	uint64_t raw[40];
	uint8_t *buf = (uint8_t *)raw + 2; /* IP header 4-byte aligned after Ethernet */
	size_t n = build_copy(buf, vt, v6, payload);
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	ssize_t sent;

	if (fd < 0) {
		printf("  AF_PACKET socket: %s\n", strerror(errno));
		return -1;
	}
	memcpy(sll.sll_addr, vt->peer_mac, 6);
	sent = sendto(fd, buf, n, 0, (struct sockaddr *)&sll, sizeof(sll));
	close(fd);
	if (sent != (ssize_t)n) {
		printf("  send into %s: %s\n", vt->name, sent < 0 ? strerror(errno) : "short");
		return -1;
	}
	return 0;
}

/* 1 if a datagram with this payload from the expected source reached the CD
 * within ms, 0 if nothing came, -1 if something else came. */
static int cd_received(int v6, const char *payload, int ms)
{
	int fd = v6 ? cd_sock6 : cd_sock4;
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[256], addr[INET6_ADDRSTRLEN];
	ssize_t n;
	int port;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &flen);
	if (n < 0)
		return -1;
	buf[n] = 0;
	if (v6) {
		struct sockaddr_in6 *s6 = (void *)&from;

		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof(addr));
		port = ntohs(s6->sin6_port);
	} else {
		struct sockaddr_in *s4 = (void *)&from;

		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof(addr));
		port = ntohs(s4->sin_port);
	}
	if (strcmp(buf, payload) || port != SRC_PORT || strcmp(addr, v6 ? "2001:db8:1::1" : "203.0.113.1")) {
		printf("  CD got \"%s\" from %s port %d, expected \"%s\"\n", buf, addr, port, payload);
		return -1;
	}
	return 1;
}

/* ---- namespaces ------------------------------------------------------------------ */

static int udp_listener(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(CD_PORT) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(CD_PORT) };

	if (fd < 0)
		return -1;
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		goto fail;
	if (family == AF_INET6 ? bind(fd, (struct sockaddr *)&s6, sizeof(s6)) :
				 bind(fd, (struct sockaddr *)&s4, sizeof(s4)))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* The host side (this namespace) routes 203.0.113.0/24 and 2001:db8:1::/64
 * out of cdA; cdB with the CD's addresses and listeners is in ns_cd. */
static int cd_side_setup(void)
{
	int rc = 0;

	if (unshare(CLONE_NEWNET))
		return -1;
	ns_cd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns_cd < 0 || setns(ns_host, CLONE_NEWNET))
		return -1;
	if (sh("ip link add cdA type veth peer name cdB") ||
	    sh("ip link set cdB netns /proc/%d/fd/%d", (int)getpid(), ns_cd) ||
	    sh("ip addr add 203.0.113.1/24 dev cdA") || sh("ip -6 addr add 2001:db8:1::1/64 dev cdA nodad") ||
	    sh("ip link set cdA up"))
		return -1;
	if (setns(ns_cd, CLONE_NEWNET))
		return -1;
	if (sh("ip link set lo up && ip addr add 203.0.113.2/24 dev cdB && "
	       "ip -6 addr add 2001:db8:1::2/64 dev cdB nodad && ip link set cdB up"))
		rc = -1;
	cd_sock4 = udp_listener(AF_INET);
	cd_sock6 = udp_listener(AF_INET6);
	if (cd_sock4 < 0 || cd_sock6 < 0)
		rc = -1;
	if (setns(ns_host, CLONE_NEWNET))
		return -1;
	return rc;
}

/* ---- tests ----------------------------------------------------------------------- */

static int test_invalid_names(void)
{
	static const char *bad[][2] = {
		{ "vt0123456789abcd", "vt1" }, /* 16 characters: one too many */
		{ "vt0", "vt1-is-too-long-x" },
		{ "", "vt1" },
		{ "vt/0", "vt1" },
		{ "vt0", "vt 1" },
		{ "vt:0", "vt1" },
		{ "vt%d", "vt1" },
		{ "..", "vt1" },
		{ "vt0", "vt0" },
		{ NULL, "vt1" },
	};
	struct xtap_vt vt;
	unsigned i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&vt, 0xa5, sizeof(vt));
		/* the first refusal shows its message; the rest would repeat it */
		log_set_level(i ? LOG_LVL_ERR : LOG_LVL_WARN);
		rc = xtap_vt_setup(bad[i][0], bad[i][1], 0, &vt);
		log_set_level(LOG_LVL_WARN);
		REQUIRE(rc == -EINVAL, "names \"%s\"/\"%s\": %d, expected -EINVAL", bad[i][0] ? bad[i][0] : "(null)",
			bad[i][1], rc);
		REQUIRE(vt.created == 0, "created is %d after a refusal", vt.created);
	}
	REQUIRE(if_nametoindex("vt0") == 0 && if_nametoindex("vt1") == 0, "a refused call left an interface behind");
	return 0;
}

static int check_end(const char *name, const char *peer, uint32_t ifindex, const uint8_t mac[6])
{
	char cmd[128], out[512], want[64];
	uint8_t kmac[6];
	short flags;
	int i;

	REQUIRE(if_nametoindex(name) == ifindex, "%s: ifindex %u, kernel says %u", name, ifindex, if_nametoindex(name));
	/* IFF_RUNNING follows the carrier through linkwatch, which may lag up to 1 s */
	for (i = 0; i < 40; i++) {
		REQUIRE(if_info(name, kmac, &flags) == 0, "%s: SIOCGIFHWADDR failed", name);
		if (flags & IFF_RUNNING)
			break;
		usleep(50000);
	}
	REQUIRE(!memcmp(kmac, mac, 6), "%s: MAC differs from the kernel's", name);
	REQUIRE((mac[0] & 1) == 0 && memcmp(mac, "\0\0\0\0\0\0", 6), "%s: MAC not unicast", name);
	REQUIRE(flags & IFF_UP, "%s is not up", name);
	REQUIRE(flags & IFF_RUNNING, "%s has no carrier", name);
	/* "N: vt0@vt1: ..." names the veth peer; -d adds the kind */
	snprintf(cmd, sizeof(cmd), "ip -o -d link show dev %s", name);
	REQUIRE(sh_out(out, sizeof(out), cmd) == 0, "%s failed", cmd);
	snprintf(want, sizeof(want), "%u: %s@%s: ", ifindex, name, peer);
	REQUIRE(!strncmp(out, want, strlen(want)), "ip says \"%.60s\", expected \"%s\"", out, want);
	REQUIRE(strstr(out, " veth "), "%s is not a veth: %.200s", name, out);
	return 0;
}

static struct xtap_vt vt; /* the created pair, shared by the tests below */

static int test_create(void)
{
	int rc = xtap_vt_setup("vt0", "vt1", has_force_fwd, &vt);

	REQUIRE(rc == 0, "setup: %d", rc);
	REQUIRE(vt.created == 1, "created %d", vt.created);
	REQUIRE(!strcmp(vt.name, "vt0") && !strcmp(vt.peer, "vt1"), "names %s/%s", vt.name, vt.peer);
	REQUIRE(vt.ifindex && vt.peer_ifindex && vt.ifindex != vt.peer_ifindex, "ifindexes %u %u", vt.ifindex,
		vt.peer_ifindex);
	REQUIRE(memcmp(vt.mac, vt.peer_mac, 6), "both ends have the same MAC");
	if (check_end("vt0", "vt1", vt.ifindex, vt.mac) || check_end("vt1", "vt0", vt.peer_ifindex, vt.peer_mac))
		return -1;
	return 0;
}

#define EXPECT_SYSCTL(fam, ifn, key, want) \
	REQUIRE(sysctl_get(fam, ifn, key) == (want), "net.%s.conf.%s.%s = %d, expected %d", fam, ifn, key, \
		sysctl_get(fam, ifn, key), want)

static int test_sysctls(void)
{
	EXPECT_SYSCTL("ipv4", "vt1", "forwarding", 1);
	EXPECT_SYSCTL("ipv4", "vt1", "accept_local", 1);
	EXPECT_SYSCTL("ipv4", "vt1", "rp_filter", 0);
	EXPECT_SYSCTL("ipv6", "vt0", "disable_ipv6", 1);
	if (has_force_fwd) {
		EXPECT_SYSCTL("ipv6", "vt1", "force_forwarding", 1);
		EXPECT_SYSCTL("ipv6", "vt1", "addr_gen_mode", 1);
		EXPECT_SYSCTL("ipv6", "vt1", "disable_ipv6", 0);
	} else {
		EXPECT_SYSCTL("ipv6", "vt1", "disable_ipv6", 1);
	}
	/* the pair stays silent: not even a link-local address */
	REQUIRE(!has_inet6("vt0") && !has_inet6("vt1"), "an IPv6 address on the pair");
	/* untouched: vt0's ARP settings keep the namespace defaults set in main */
	EXPECT_SYSCTL("ipv4", "vt0", "arp_announce", 2);
	EXPECT_SYSCTL("ipv4", "vt0", "arp_ignore", 1);
	EXPECT_SYSCTL("ipv4", "vt0", "forwarding", 0);
	/* never global forwarding, never other interfaces */
	EXPECT_SYSCTL("ipv4", "all", "forwarding", 0);
	EXPECT_SYSCTL("ipv6", "all", "forwarding", 0);
	EXPECT_SYSCTL("ipv4", "lo", "forwarding", 0);
	EXPECT_SYSCTL("ipv4", "cdA", "forwarding", 0);
	EXPECT_SYSCTL("ipv4", "cdA", "accept_local", 0);
	return 0;
}

/* A copy must arrive; with `key` on `ifn` set to `bad` it must not; restored, it must. */
static int flow_case(int v6, const char *ifn, const char *key, int bad)
{
	const char *fam = v6 ? "ipv6" : "ipv4";
	char msg[64];
	int good = sysctl_get(fam, ifn, key), r;

	snprintf(msg, sizeof(msg), "xtap %s %s=%d", fam, key, bad);
	if (sysctl_set(fam, ifn, key, bad))
		return -1;
	r = send_copy(&vt, v6, msg) ? -1 : cd_received(v6, msg, WAIT_MISS);
	if (sysctl_set(fam, ifn, key, good))
		return -1;
	REQUIRE(r == 0, "copy arrived with net.%s.conf.%s.%s=%d (result %d)", fam, ifn, key, bad, r);
	snprintf(msg, sizeof(msg), "xtap %s %s restored", fam, key);
	REQUIRE(send_copy(&vt, v6, msg) == 0, "send");
	r = cd_received(v6, msg, WAIT_HIT);
	REQUIRE(r == 1, "copy lost after restoring %s=%d (result %d)", key, good, r);
	return 0;
}

static int test_flow4(void)
{
	int r;

	REQUIRE(send_copy(&vt, 0, "xtap ipv4 copy") == 0, "send");
	r = cd_received(0, "xtap ipv4 copy", WAIT_HIT);
	REQUIRE(r == 1, "IPv4 copy did not reach 203.0.113.2 (result %d)", r);
	/* each setting on vt1 is needed, and conf.all.rp_filter overrides it (max):
	 * loose mode too, since vt1 has no IPv4 address */
	if (flow_case(0, "vt1", "forwarding", 0) || flow_case(0, "vt1", "accept_local", 0) ||
	    flow_case(0, "all", "rp_filter", 1) || flow_case(0, "all", "rp_filter", 2))
		return -1;
	return 0;
}

static int test_flow6(void)
{
	int r;

	if (!has_force_fwd) {
		printf("  (no force_forwarding: Linux < 6.17)\n");
		return 1;
	}
	REQUIRE(send_copy(&vt, 1, "xtap ipv6 copy") == 0, "send");
	r = cd_received(1, "xtap ipv6 copy", WAIT_HIT);
	REQUIRE(r == 1, "IPv6 copy did not reach 2001:db8:1::2 (result %d)", r);
	return flow_case(1, "vt1", "force_forwarding", 0);
}

/* Without force_forwarding in the kernel, asking for IPv6 fails cleanly. */
static int test_no_force_forwarding(void)
{
	struct xtap_vt v;
	int rc;

	if (has_force_fwd) {
		printf("  (this kernel has force_forwarding)\n");
		return 1;
	}
	rc = xtap_vt_setup("vtX", "vtY", 1, &v);
	REQUIRE(rc == -EOPNOTSUPP, "setup with IPv6: %d, expected -EOPNOTSUPP", rc);
	REQUIRE(if_nametoindex("vtX") == 0 && if_nametoindex("vtY") == 0, "the failed setup left the pair behind");
	return 0;
}

static int test_adopt(void)
{
	struct xtap_vt v;
	int rc;

	if (sh("ip link add vtA type veth peer name vtB"))
		return -1;
	rc = xtap_vt_setup("vtA", "vtB", 0, &v);
	REQUIRE(rc == 0, "adopt: %d", rc);
	REQUIRE(v.created == 0, "adopted pair reported as created");
	if (check_end("vtA", "vtB", v.ifindex, v.mac) || check_end("vtB", "vtA", v.peer_ifindex, v.peer_mac))
		return -1;
	EXPECT_SYSCTL("ipv4", "vtB", "forwarding", 1);
	EXPECT_SYSCTL("ipv6", "vtB", "disable_ipv6", 1);
	if (has_force_fwd) {
		/* set up again with IPv6: enabled on the peer, still no link-local */
		rc = xtap_vt_setup("vtA", "vtB", 1, &v);
		REQUIRE(rc == 0 && v.created == 0, "adopt with IPv6: %d created %d", rc, v.created);
		EXPECT_SYSCTL("ipv6", "vtB", "disable_ipv6", 0);
		EXPECT_SYSCTL("ipv6", "vtB", "force_forwarding", 1);
		REQUIRE(!has_inet6("vtB"), "vtB got an IPv6 address");
	}
	/* the names reversed are the same pair */
	rc = xtap_vt_setup("vtB", "vtA", 0, &v);
	REQUIRE(rc == 0 && v.created == 0, "adopt reversed: %d created %d", rc, v.created);
	rc = xtap_vt_teardown(&v);
	REQUIRE(rc == 0, "teardown of an adopted pair: %d", rc);
	REQUIRE(if_nametoindex("vtA") && if_nametoindex("vtB"), "teardown removed an adopted pair");
	return sh("ip link del vtA");
}

/* A pair xtap made in an earlier start is xtap's to remove (its ifalias). */
static int test_adopt_ours(void)
{
	struct xtap_vt a, b;

	REQUIRE(xtap_vt_setup("vtO", "vtP", 0, &a) == 0 && a.created && a.ours, "create");
	REQUIRE(xtap_vt_setup("vtO", "vtP", 0, &b) == 0 && !b.created && b.ours,
		"re-adopted own pair: created %d ours %d", b.created, b.ours);
	REQUIRE(xtap_vt_teardown(&b) == 0, "teardown");
	REQUIRE(!if_nametoindex("vtO") && !if_nametoindex("vtP"), "own pair left after teardown");
	return 0;
}

static int test_conflicts(void)
{
	struct xtap_vt v;
	int rc;

	if (sh("ip link add vtC type bridge") || sh("ip link add vtE type veth peer name vtF"))
		return -1;
	rc = xtap_vt_setup("vtC", "vtD", 0, &v);
	REQUIRE(rc == -EEXIST, "bridge under the name: %d, expected -EEXIST", rc);
	rc = xtap_vt_setup("vtD", "vtC", 0, &v);
	REQUIRE(rc == -EEXIST, "bridge under the peer name: %d, expected -EEXIST", rc);
	rc = xtap_vt_setup("vtE", "vtG", 0, &v);
	REQUIRE(rc == -EEXIST, "veth with another peer: %d, expected -EEXIST", rc);
	rc = xtap_vt_setup("vtE", "vtC", 0, &v);
	REQUIRE(rc == -EEXIST, "two unrelated interfaces: %d, expected -EEXIST", rc);
	REQUIRE(!if_nametoindex("vtD") && !if_nametoindex("vtG"), "a refused call created a link");
	REQUIRE(if_nametoindex("vtC") && if_nametoindex("vtE") && if_nametoindex("vtF"),
		"a refused call removed a link");
	/* the refused calls wrote no setting on someone else's interfaces */
	EXPECT_SYSCTL("ipv4", "vtF", "forwarding", 0);
	EXPECT_SYSCTL("ipv4", "vtC", "forwarding", 0);
	return sh("ip link del vtC && ip link del vtE");
}

static int test_teardown(void)
{
	uint32_t a = vt.ifindex;
	int rc = xtap_vt_teardown(&vt);

	REQUIRE(rc == 0, "teardown: %d", rc);
	REQUIRE(vt.created == 0, "still marked created");
	REQUIRE(if_nametoindex("vt0") == 0 && if_nametoindex("vt1") == 0, "vt0 or vt1 still there (vt0 was ifindex %u)",
		a);
	rc = xtap_vt_teardown(&vt);
	REQUIRE(rc == 0, "second teardown: %d", rc);
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("test_vt", LOG_LVL_WARN);

	if (unshare(CLONE_NEWNET)) {
		printf("skipped all: cannot create a network namespace: %s\n", strerror(errno));
		printf("0 passed, 0 failed, 1 skipped\n");
		return 0;
	}
	ns_host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	has_force_fwd = access("/proc/sys/net/ipv6/conf/lo/force_forwarding", F_OK) == 0;
	/* A known baseline: a new namespace may inherit the host's IPv4 settings.
	 * New interfaces start with rp_filter=1, so vt1's 0 must come from setup;
	 * non-default ARP values show that setup leaves vt0's ARP settings alone. */
	if (ns_host < 0 || sh("ip link set lo up") || sysctl_set("ipv4", "all", "forwarding", 0) ||
	    sysctl_set("ipv6", "all", "forwarding", 0) || sysctl_set("ipv4", "all", "rp_filter", 0) ||
	    sysctl_set("ipv4", "default", "rp_filter", 1) || sysctl_set("ipv4", "all", "accept_local", 0) ||
	    sysctl_set("ipv4", "default", "arp_announce", 2) || sysctl_set("ipv4", "default", "arp_ignore", 1) ||
	    cd_side_setup()) {
		printf("FAILED  namespace setup\n0 passed, 1 failed\n");
		return 1;
	}
	if (!has_force_fwd)
		printf("note: no net.ipv6.conf.<if>.force_forwarding (Linux < 6.17): IPv4 only\n");

	record("invalid names give -EINVAL and create nothing", test_invalid_names());
	record("create vt0/vt1: names, ifindexes, MACs, up, veth peers", test_create());
	if (vt.created) {
		record("per-interface sysctls set, nothing else touched", test_sysctls());
		record("IPv4 copy routed to the CD, each vt1 setting needed", test_flow4());
		record("IPv6 copy routed to the CD, force_forwarding needed", test_flow6());
	}
	record("IPv6 without force_forwarding gives -EOPNOTSUPP", test_no_force_forwarding());
	record("adopt an existing pair, teardown leaves it", test_adopt());
	record("a pair xtap made earlier is re-adopted as its own", test_adopt_ours());
	record("names taken by other links give -EEXIST", test_conflicts());
	if (vt.created)
		record("teardown removes both ends", test_teardown());

	if (n_skip)
		printf("%d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
	else
		printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
