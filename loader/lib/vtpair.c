// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include "log.h"
#include "vtpair.h"

#define SYSCTL_NET "/proc/sys/net"

/* libnl returns its own codes; callers of this module get errno values. */
static int nlerr_to_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_SUCCESS: return 0;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_EXIST: return -EEXIST;
	case NLE_INVAL: return -EINVAL;
	case NLE_RANGE: return -ERANGE;
	case NLE_OPNOTSUPP: return -EOPNOTSUPP;
	case NLE_PERM: return -EPERM;
	case NLE_NOACCESS: return -EACCES;
	case NLE_BUSY: return -EBUSY;
	case NLE_AGAIN: return -EAGAIN;
	case NLE_NODEV:
	case NLE_OBJ_NOTFOUND: return -ENODEV;
	case NLE_AF_NOSUPPORT: return -EAFNOSUPPORT;
	default: return -EIO;
	}
}

/* The kernel's dev_valid_name, plus '%' (a name template, not a name). */
static int vt_name_valid(const char *s)
{
	size_t n = strnlen(s, IFNAMSIZ);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == '%' || isspace((unsigned char)*s))
			return 0;
	return 1;
}

/* A refused name, bounded and with anything unprintable shown as '?', for the log. */
static const char *vt_name_shown(char out[IFNAMSIZ + 5], const char *s)
{
	size_t i;

	if (!s)
		return "(null)";
	for (i = 0; s[i] && i < IFNAMSIZ + 1; i++)
		out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (s[i])
		out[i++] = '.', out[i++] = '.', out[i++] = '.';
	out[i] = 0;
	return out;
}

static int sysctl_write(const char *family, const char *ifname, const char *key, const char *val)
{
	char path[128];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), SYSCTL_NET "/%s/conf/%s/%s", family, ifname, key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(val))
		err = -EIO;
	if (close(fd) && !err)
		err = -errno;
	if (err)
		log_warnx("vt: cannot write %s to %s: %s", val, path, strerror(-err));
	return err;
}

/* Settings of the far end, which receives the encapsulated copies and must
 * route them on, and of the near end, which must send nothing but copies. */
static int vt_apply_sysctls(const struct xtap_vt *vt, int ipv6)
{
	int has_ipv6 = access(SYSCTL_NET "/ipv6/conf", F_OK) == 0;
	char path[128];
	int err;

	/* forward what arrives on the peer, without turning on global forwarding */
	if ((err = sysctl_write("ipv4", vt->peer, "forwarding", "1")))
		return err;
	/* a copy's outer source may be one of this host's own addresses */
	if ((err = sysctl_write("ipv4", vt->peer, "accept_local", "1")))
		return err;
	/* no reverse-path check: the source is local, its route is not via the peer */
	if ((err = sysctl_write("ipv4", vt->peer, "rp_filter", "0")))
		return err;

	if (!has_ipv6) {
		if (ipv6) {
			log_warnx("vt: IPv6 copies asked for but the kernel has no IPv6");
			return -EOPNOTSUPP;
		}
		log_debug("vt: no IPv6 in this kernel, nothing to disable on %s, %s", vt->name, vt->peer);
		return 0;
	}
	/* nothing but copies may leave the near end: no neighbour discovery, no DAD */
	if ((err = sysctl_write("ipv6", vt->name, "disable_ipv6", "1")))
		return err;
	if (!ipv6)
		/* no IPv6 copies expected: the peer stays out of IPv6 altogether */
		return sysctl_write("ipv6", vt->peer, "disable_ipv6", "1");

	snprintf(path, sizeof(path), SYSCTL_NET "/ipv6/conf/%s/force_forwarding", vt->peer);
	if (access(path, F_OK)) {
		log_warnx("vt: %s missing: IPv6 copies need per-interface forwarding "
			  "(net.ipv6.conf.<if>.force_forwarding, Linux 6.17 or later)",
			  path);
		return -EOPNOTSUPP;
	}
	/* no link-local address, so the peer stays silent; set before IPv6 is enabled */
	if ((err = sysctl_write("ipv6", vt->peer, "addr_gen_mode", "1")))
		return err;
	/* an adopted pair may have been set up without IPv6 before */
	if ((err = sysctl_write("ipv6", vt->peer, "disable_ipv6", "0")))
		return err;
	/* forward IPv6 arriving on the peer only; net.ipv6.conf.all.forwarding stays as is */
	return sysctl_write("ipv6", vt->peer, "force_forwarding", "1");
}

static int link_get(struct nl_sock *sk, const char *ifname, struct rtnl_link **link)
{
	int err = rtnl_link_get_kernel(sk, 0, ifname, link);

	if (err < 0) {
		*link = NULL;
		return nlerr_to_errno(err);
	}
	return 0;
}

/* Is link one end of a veth pair whose other end is peer, in this namespace? */
static int is_pair(struct rtnl_link *link, struct rtnl_link *peer)
{
	int32_t nsid;

	if (!link || !peer)
		return 0;
	if (!rtnl_link_is_veth(link) || !rtnl_link_is_veth(peer))
		return 0;
	/* a link netnsid means the other end lives in another namespace */
	if (rtnl_link_get_link_netnsid(link, &nsid) == 0 || rtnl_link_get_link_netnsid(peer, &nsid) == 0)
		return 0;
	return rtnl_link_get_link(link) == rtnl_link_get_ifindex(peer) &&
		rtnl_link_get_link(peer) == rtnl_link_get_ifindex(link);
}

#define VT_ALIAS "xtap vt pair"
#define VT_MTU 65535 /* ETH_MAX_MTU, veth's maximum without XDP */

static int vt_create(struct nl_sock *sk, const char *name, const char *peer_name)
{
	struct rtnl_link *link, *peer;
	int err;

	link = rtnl_link_veth_alloc();
	if (!link)
		return -ENOMEM;
	rtnl_link_set_name(link, name);
	/* a copy is larger than what it copies (outer headers): a veth drops,
	 * uncounted by xtap, any frame above the receiving end's MTU, so the pair
	 * carries the largest frame a veth takes */
	rtnl_link_set_mtu(link, VT_MTU);
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(peer, peer_name);
	rtnl_link_set_mtu(peer, VT_MTU);
	rtnl_link_put(peer);
	/* no IFF_UP yet: the sysctls must be in place before the first packet */
	err = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	if (err < 0) {
		log_warnx("vt: cannot create veth pair %s/%s: %s", name, peer_name, nl_geterror(err));
		return nlerr_to_errno(err);
	}
	return 0;
}

/* Mark the pair as xtap's (its ifalias), so that a later start knows it may
 * remove it. A separate change: RTM_NEWLINK ignores IFLA_IFALIAS. */
static int mark_ours(struct nl_sock *sk, struct rtnl_link *link)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int err;

	if (!change)
		return -ENOMEM;
	rtnl_link_set_ifalias(change, VT_ALIAS);
	err = rtnl_link_change(sk, link, change, 0);
	rtnl_link_put(change);
	if (err < 0) {
		log_warnx("vt: cannot mark %s as xtap's: %s", rtnl_link_get_name(link), nl_geterror(err));
		return nlerr_to_errno(err);
	}
	return 0;
}

static int link_up(struct nl_sock *sk, struct rtnl_link *link)
{
	struct rtnl_link *change;
	int err;

	if (rtnl_link_get_flags(link) & IFF_UP)
		return 0;
	change = rtnl_link_alloc();
	if (!change)
		return -ENOMEM;
	rtnl_link_set_flags(change, IFF_UP);
	err = rtnl_link_change(sk, link, change, 0);
	rtnl_link_put(change);
	if (err < 0) {
		log_warnx("vt: cannot bring %s up: %s", rtnl_link_get_name(link), nl_geterror(err));
		return nlerr_to_errno(err);
	}
	return 0;
}

static int link_mac(struct rtnl_link *link, uint8_t mac[6])
{
	struct nl_addr *a = rtnl_link_get_addr(link);

	if (!a || nl_addr_get_len(a) != 6) {
		log_warnx("vt: %s has no Ethernet address", rtnl_link_get_name(link));
		return -EIO;
	}
	memcpy(mac, nl_addr_get_binary_addr(a), 6);
	return 0;
}

static int vt_delete(struct nl_sock *sk, uint32_t ifindex, const char *name)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int err;

	if (!link)
		return -ENOMEM;
	/* by index when known: the name may have been taken over since */
	if (ifindex)
		rtnl_link_set_ifindex(link, (int)ifindex);
	else
		rtnl_link_set_name(link, name);
	err = rtnl_link_delete(sk, link);
	rtnl_link_put(link);
	if (err < 0) {
		err = nlerr_to_errno(err);
		if (err == -ENODEV) {
			log_info("vt: %s already removed", name);
			return 0;
		}
		log_warnx("vt: cannot remove %s: %s", name, strerror(-err));
		return err;
	}
	return 0;
}

static struct nl_sock *route_socket(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk) {
		log_warnx("vt: cannot allocate a netlink socket");
		return NULL;
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err < 0) {
		log_warnx("vt: cannot open rtnetlink: %s", nl_geterror(err));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

int xtap_vt_setup(const char *name, const char *peer, int ipv6, struct xtap_vt *vt)
{
	struct rtnl_link *link = NULL, *plink = NULL;
	char shown1[IFNAMSIZ + 5], shown2[IFNAMSIZ + 5];
	struct nl_sock *sk;
	int err, e1, e2;

	memset(vt, 0, sizeof(*vt));
	if (!name || !peer || !vt_name_valid(name) || !vt_name_valid(peer) || !strcmp(name, peer)) {
		log_warnx("vt: invalid interface names \"%s\" and \"%s\" "
			  "(1 to %d characters, none of / : %% or space, and distinct)",
			  vt_name_shown(shown1, name), vt_name_shown(shown2, peer), IFNAMSIZ - 1);
		return -EINVAL;
	}
	snprintf(vt->name, sizeof(vt->name), "%s", name);
	snprintf(vt->peer, sizeof(vt->peer), "%s", peer);

	sk = route_socket();
	if (!sk)
		return -EIO;

	e1 = link_get(sk, name, &link);
	e2 = link_get(sk, peer, &plink);
	if ((e1 && e1 != -ENODEV) || (e2 && e2 != -ENODEV)) {
		err = e1 && e1 != -ENODEV ? e1 : e2;
		log_warnx("vt: cannot look up %s and %s: %s", name, peer, strerror(-err));
		goto out;
	}
	if (link || plink) {
		if (!is_pair(link, plink)) {
			log_warnx("vt: %s exists and is not a veth pair %s/%s in this namespace", link ? name : peer,
				  name, peer);
			err = -EEXIST;
			goto out;
		}
		vt->ours = rtnl_link_get_ifalias(link) && !strcmp(rtnl_link_get_ifalias(link), VT_ALIAS);
		log_info("vt: adopting the existing pair %s/%s%s", name, peer, vt->ours ? " (made by xtap)" : "");
	} else {
		if ((err = vt_create(sk, name, peer)))
			goto out;
		vt->created = vt->ours = 1;
		if ((err = link_get(sk, name, &link)) || (err = link_get(sk, peer, &plink))) {
			log_warnx("vt: created %s/%s but cannot read them back: %s", name, peer, strerror(-err));
			goto out;
		}
		if ((err = mark_ours(sk, link)))
			goto out;
	}
	vt->ifindex = (uint32_t)rtnl_link_get_ifindex(link);
	vt->peer_ifindex = (uint32_t)rtnl_link_get_ifindex(plink);
	/* the encapsulation program writes these as source and destination MAC */
	if ((err = link_mac(link, vt->mac)) || (err = link_mac(plink, vt->peer_mac)))
		goto out;
	if ((err = vt_apply_sysctls(vt, ipv6)))
		goto out;
	if ((err = link_up(sk, plink)) || (err = link_up(sk, link)))
		goto out;
	log_debug("vt: %s (ifindex %u) / %s (ifindex %u) ready", vt->name, vt->ifindex, vt->peer, vt->peer_ifindex);
out:
	if (err && vt->created) {
		/* do not leave a half-configured pair behind */
		vt_delete(sk, vt->ifindex, vt->name);
		vt->created = vt->ours = 0;
	}
	if (link)
		rtnl_link_put(link);
	if (plink)
		rtnl_link_put(plink);
	nl_socket_free(sk);
	return err;
}

int xtap_vt_teardown(struct xtap_vt *vt)
{
	struct nl_sock *sk;
	int err;

	if (!vt->ours)
		return 0;
	sk = route_socket();
	if (!sk)
		return -EIO;
	err = vt_delete(sk, vt->ifindex, vt->name);
	nl_socket_free(sk);
	if (!err)
		vt->created = vt->ours = 0;
	return err;
}
