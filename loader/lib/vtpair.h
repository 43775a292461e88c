/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vt veth pair (docs/vt-pair.md): xtap clones intercepted packets to the
 * near end, where the encapsulation program on its TC egress wraps them for
 * the content destination; the far end hands them to the host's routing.
 * Created and removed over netlink (libnl-route-3), set up through
 * per-interface sysctls only.
 */
#ifndef XTAP_VTPAIR_H
#define XTAP_VTPAIR_H

#include <stdint.h>

struct xtap_vt {
	char name[16], peer[16]; /* e.g. "vt0", "vt1" */
	uint32_t ifindex, peer_ifindex;
	uint8_t mac[6], peer_mac[6];
	int created; /* 1 if this call created the pair */
	int ours; /* xtap made it, in this start or an earlier one
				    * (its ifalias says so): teardown removes it */
};

/* Create (or adopt, if a veth pair with these names already exists) the pair
 * in the current network namespace, bring both ends up and apply the
 * per-interface settings. ipv6: let the peer forward IPv6 copies (needs
 * net.ipv6.conf.<if>.force_forwarding, Linux 6.17). Returns 0 or -errno:
 * -EINVAL for a bad name, -EEXIST when a name is taken by something other
 * than this pair, -EOPNOTSUPP when the kernel lacks a needed setting. */
int xtap_vt_setup(const char *name, const char *peer, int ipv6, struct xtap_vt *vt);

/* Remove the pair if xtap made it (deleting one end removes both); a pair
 * someone else made is left alone. 0 or -errno. */
int xtap_vt_teardown(struct xtap_vt *vt);

#endif
