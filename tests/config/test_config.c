/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Table-driven tests of loader/config/config.c: the FlowTapLite block, every xtap
 * statement and its fields, every error with its exact line and message,
 * quoting, comments, repeats, the diff, the DTCP policy helper, and the
 * example configuration (argv[1]).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "memback.h"

#include "../check.h"

#define HASH6 "$6$xtapdemosalt$Q6n02KLKw3Bgp1IwwvALWv0o0qy3sgP8JNx8FhW/GujRh.11QJi/dZ0DpqghgnGdC0sxvbxsRcHeHrlLgi6SH0"
#define HASH5 "$5$abc$NzcA0gwZbcJz6Ndr4yiLPbrkQ41zM2C8v1NvWZgAUy."
#define HASH1 "$1$abc$u0bXADx2O.Fc.9uBZAEs5/"
#define HASHY "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$G4hM4tii14zMl3htPC9z46D30w3Vua3d9nzkgQ1YYD."
#define HASH6R \
	"$6$rounds=10000$saltsalt$LsXF133YWup8/blib4FfffhLNpwSDWlD6kybMVMmbgoihHL2LdEzMsvGVF9w9KRmB1maAol1KqotDjwk/" \
	"j0sa."
#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAXCGJEX+7fmU0/yL7Yx7dirv7+fe3nEfIPsIFX+ftce mediation@example.net"
#define ECDSA \
	"ecdsa-sha2-nistp256 " \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFbxfkryQ9O+LrlZObjP8rKJjCRPYVFlgV1qb/" \
	"F4fECYoAy3AT4pcq5UwgQHumt6adVPUSWStStefEmsTh5vBj0= md2"
#define RSA \
	"ssh-rsa " \
	"AAAAB3NzaC1yc2EAAAADAQABAAABAQDQEUZ3TeZFA+/" \
	"Ws9Ow4QtZzGeeEHRokdYl2xXk4FahGclYZFZ33NrGGA1pVubfmHShzsT5I7DiRiRrB8xpmdedv8qbcKKoWh16kTnPIym5uWyy/" \
	"3cbfFh50G9SWtG/xC7ACjvQdIYHZCuQBBVh2nJiwFwnkuYEX8hQclMh/" \
	"51WSzkXTRB9QklvuXiiZZtF2EhT1UhRRXyrUomxnr6uZmC8ZLkWo37Uis0qDu68WH6ChjwOmh1ALAlkv6m27SokNl9n8JrmoOwq/" \
	"8ZeGOWnBDzmOeocVmy9ZP9bgZU6Pq4H1NElWCbV4VBenvpPL6Pll7+g2ziM7tjuz74pSjcnC4Lh md3"

/* The eight FlowTapLite lines of the issue, verbatim (a real hash for the
 * placeholder). */
#define FTL \
	"set system login class flowtap permissions flow-tap-operation\n" \
	"set system login user ftap uid 2000\n" \
	"set system login user ftap class flowtap\n" \
	"set system login user ftap authentication encrypted-password \"" HASH6 "\"\n" \
	"set system services flow-tap-dtcp ssh\n" \
	"set interfaces vt-4/0/0 unit 0 family inet\n" \
	"set interfaces vt-4/0/0 unit 0 family inet6\n" \
	"set services flow-tap tunnel-interface vt-4/0/0.0\n"

/* The smallest valid configuration: FlowTapLite + a key + an interface.
 * Lines 1-10; cases append from line 11. */
#define BASE \
	FTL "set services flow-tap control-source ftap key \"Juniper\"\n" \
	    "set services flow-tap interface eth0\n"
/* the four statements services x1 needs (lines 11 to 14 after BASE) */
#define X1MIN \
	"set services x1 certificate /c\n" \
	"set services x1 key /k\n" \
	"set services x1 admf-ca /a\n" \
	"set services x1 ne-identifier ne1\n"

/* a table row's check: the row's name says which (CHECK's line is this one) */
static void check(bool ok, const char *name, const char *what)
{
	CHECK(ok, "%s: %s", name, what);
}

static struct xtap_config cfg, cfg2;
static struct xtap_config_errors errs;

static int parse(const char *text, struct xtap_config *c)
{
	return xtap_config_parse_buf(text, strlen(text), c, &errs);
}

static void dump_errors(void)
{
	for (int i = 0; i < errs.kept; i++)
		printf("    got %d: %s\n", errs.e[i].line, errs.e[i].msg);
}

/* ---- accepted configurations and their fields ---------------------------------- */

static bool addr_is(const struct dtcp_addr *a, const char *text)
{
	struct dtcp_addr b;
	return dtcp_parse_addr(text, strlen(text), &b) == 0 && a->family == b.family && memcmp(a->a, b.a, 16) == 0;
}

static bool net_is(const struct dtcp_net *n, const char *addr, int len)
{
	struct dtcp_addr b;
	return dtcp_parse_addr(addr, strlen(addr), &b) == 0 && n->family == b.family && n->p.len == len &&
		memcmp(n->p.a, b.a, 16) == 0;
}

static const struct xtap_cfg_user *ftap(const struct xtap_config *c)
{
	return xtap_config_user(c, "ftap");
}

static bool chk_ftl(const struct xtap_config *c)
{
	const struct xtap_cfg_user *u = ftap(c);
	return c->n_classes == 1 && !strcmp(c->classes[0].name, "flowtap") && c->classes[0].flow_tap_operation && u &&
		u->login && u->has_uid && u->uid == 2000 && !strcmp(u->class_name, "flowtap") &&
		!strcmp(u->password_hash, HASH6) && c->dtcp_enabled && c->dtcp_line == 5 && c->n_jifs == 1 &&
		!strcmp(c->jifs[0].name, "vt-4/0/0") && c->jifs[0].unit == 0 && c->jifs[0].inet && c->jifs[0].inet6 &&
		!strcmp(c->tunnel_if, "vt-4/0/0.0") && c->ipv6 && u->keylen == 7 && !memcmp(u->key, "Juniper", 7) &&
		c->n_attach == 1 && !strcmp(c->attach[0].netdev, "eth0") && c->attach[0].mode == XTAP_ATTACH_XDP_NATIVE;
}

static bool chk_defaults(const struct xtap_config *c)
{
	return c->connection_limit == 75 && c->rate_limit == 150 && c->listen_port == 32001 &&
		c->source_connection_limit == 37 && c->source_rate_limit == 75 &&
		c->listen_addr.family == DTCP_AF_NONE && c->n_host_keys == 1 &&
		!strcmp(c->host_keys[0], "/etc/xtap/ssh_host_ed25519_key") && c->idle_timeout == 1800 &&
		c->max_message_size == 65536 && !strcmp(c->vt_name, "vt0") && !strcmp(c->vt_peer, "vt1") &&
		c->global.max_criteria == DTCP_MAX_CRITERIA_DEFAULT && c->global.seq_mode == DTCP_SEQ_OFF &&
		!c->global.has_seq_mode && c->max_cdests == DTCP_CDESTS_DEFAULT &&
		!strcmp(c->state_file, "/var/lib/xtap/state") && !strcmp(c->audit_log, "/var/log/xtap/audit.log") &&
		c->n_cdests == 0 && c->n_aliases == 0 && c->n_groups == 0;
}

static bool chk_no_inet6(const struct xtap_config *c)
{
	return !c->ipv6 && c->jifs[0].inet && !c->jifs[0].inet6;
}

static bool chk_dtcp_server(const struct xtap_config *c)
{
	return c->connection_limit == 10 && c->rate_limit == 20 && c->listen_port == 3200 &&
		c->source_connection_limit == 3 && c->source_rate_limit == 200 &&
		addr_is(&c->listen_addr, "2001:db8::1") && c->n_host_keys == 2 &&
		!strcmp(c->host_keys[0], "/etc/xtap/k1") && !strcmp(c->host_keys[1], "/etc/xtap/k2") &&
		c->idle_timeout == 0 && c->max_message_size == 4096;
}

static bool chk_ssh_keys(const struct xtap_config *c)
{
	const struct xtap_cfg_user *u = ftap(c);
	return u->n_ssh_keys == 3 && u->ssh_keys[0].type == XTAP_SSH_ED25519 && !strcmp(u->ssh_keys[0].text, ED25519) &&
		u->ssh_keys[1].type == XTAP_SSH_RSA && !strcmp(u->ssh_keys[1].text, RSA) &&
		u->ssh_keys[2].type == XTAP_SSH_ECDSA && !strcmp(u->ssh_keys[2].text, ECDSA) &&
		u->ssh_keys[2].line == 13;
}

static bool chk_hashes(const struct xtap_config *c)
{
	return !strcmp(xtap_config_user(c, "u5")->password_hash, HASH5) &&
		!strcmp(xtap_config_user(c, "u1")->password_hash, HASH1) &&
		!strcmp(xtap_config_user(c, "uy")->password_hash, HASHY) &&
		!strcmp(xtap_config_user(c, "ur")->password_hash, HASH6R);
}

static bool chk_datapath(const struct xtap_config *c)
{
	return c->n_attach == 3 && !strcmp(c->attach[1].netdev, "eth1") &&
		c->attach[1].mode == XTAP_ATTACH_XDP_GENERIC && !strcmp(c->attach[2].netdev, "eth2") &&
		c->attach[2].mode == XTAP_ATTACH_TC && c->attach[0].mode == XTAP_ATTACH_XDP_NATIVE &&
		!strcmp(c->vt_name, "xt0") && !strcmp(c->vt_peer, "xt1") && !strcmp(c->state_file, "/run/xtap/state");
}

static bool chk_names(const struct xtap_config *c)
{
	struct dtcp_name n;
	const struct xtap_cfg_group *g = xtap_config_group(c, "vrf-a");
	return c->n_aliases == 2 && xtap_config_resolve_ifname(c, "ge-2/0/1", &n) == 0 && !strcmp(n.s, "eth1") &&
		xtap_config_resolve_ifname(c, "ge-2/0/1.0", &n) == 0 && !strcmp(n.s, "eth1") &&
		xtap_config_resolve_ifname(c, "eth0", &n) == 0 && !strcmp(n.s, "eth0") &&
		xtap_config_resolve_ifname(c, "ge-9/9/9", &n) == -1 &&
		xtap_config_resolve_ifname(c, "eth7", &n) == -1 && g && g->n == 2 &&
		!strcmp(g->member[0].netdev, "eth0") && !strcmp(g->member[1].netdev, "eth1") &&
		g->member[1].line == 15 && !xtap_config_group(c, "vrf-b");
}

/* issue 14: an alias of a Junos interface answers for its units */
static bool resolves(const struct xtap_config *c, const char *name, const char *want)
{
	struct dtcp_name n;
	int r = xtap_config_resolve_ifname(c, name, &n);

	if (!want)
		return r == -1;
	return r == 0 && !strcmp(n.s, want);
}

static bool chk_alias_units(const struct xtap_config *c)
{
	return resolves(c, "ge-1/3/5", "eth1") && resolves(c, "ge-1/3/5.0", "eth1") &&
		resolves(c, "ge-1/3/5.1", "eth1") && resolves(c, "ge-1/3/5.16385", "eth1") &&
		/* a unit with an alias of its own keeps it */
		resolves(c, "ge-1/3/5.2", "eth2") &&
		/* not units: above Junos' 16385, empty, not a number, two dots, a longer name */
		resolves(c, "ge-1/3/5.16386", NULL) && resolves(c, "ge-1/3/5.", NULL) &&
		resolves(c, "ge-1/3/5.x", NULL) && resolves(c, "ge-1/3/5.0.1", NULL) &&
		resolves(c, "ge-1/3/50", NULL) && resolves(c, "ge-1/3/5.000001", NULL) &&
		/* an alias of a unit covers that unit only */
		resolves(c, "xe-0/0/0.5", "eth2") && resolves(c, "xe-0/0/0", NULL) && resolves(c, "xe-0/0/0.6", NULL) &&
		resolves(c, "xe-0/0/0.5.1", NULL) &&
		/* an attached interface's own name with a dot is that interface */
		resolves(c, "eth1.100", "eth1.100");
}

static bool chk_metrics(const struct xtap_config *c)
{
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	return c->metrics_addr.family == DTCP_AF_INET6 && !memcmp(c->metrics_addr.a, a6, 16) && c->metrics_port == 9469;
}

static bool chk_x1(const struct xtap_config *c)
{
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

	return c->x1_enabled && c->x1_addr.family == DTCP_AF_INET6 && !memcmp(c->x1_addr.a, a6, 16) &&
		c->x1_port == 8443 && !strcmp(c->x1_cert, "/etc/xtap/x1.crt") &&
		!strcmp(c->x1_key, "/etc/xtap/x1.key") && !strcmp(c->x1_ca, "/etc/xtap/admf-ca.crt") &&
		!strcmp(c->x1_ne, "ne-1 east") && c->x1_keepalive == 90 &&
		c->x1_keepalive_policy == XTAP_CFG_X1_KA_KEEP && c->x1_x3_local.family == DTCP_AF_NONE;
}

/* docs/configuration.md: X3 delivery of X1 destinations. */
static bool chk_x1_x3(const struct xtap_config *c)
{
	return c->x1_enabled && addr_is(&c->x1_x3_local, "198.51.100.1") && c->x1_x3_port_base == 50000 &&
		!strcmp(c->x1_x3_cert, "/etc/xtap/x3.crt") && !strcmp(c->x1_x3_key, "/etc/xtap/x3.key") &&
		!strcmp(c->x1_x3_ca, "/etc/xtap/lemf-ca.crt");
}

/* Issue reports (docs/configuration.md): per ADMF, port 443 by default. */
static bool chk_x1_admfs(const struct xtap_config *c)
{
	return c->n_x1_admfs == 2 && !strcmp(c->x1_admfs[0].name, "admf-a") &&
		addr_is(&c->x1_admfs[0].addr, "192.0.2.7") && c->x1_admfs[0].port == 8443 &&
		!strcmp(c->x1_admfs[1].name, "admf b") && addr_is(&c->x1_admfs[1].addr, "2001:db8::9") &&
		c->x1_admfs[1].port == 443;
}

/* x3-port-base's default: 47000 (docs/configuration.md). */
static bool chk_x1_x3_default(const struct xtap_config *c)
{
	return addr_is(&c->x1_x3_local, "2001:db8::7") && c->x1_x3_port_base == 47000;
}

/* Without a listen-address, port or keepalive statement: every address,
 * port 443 (TS 103 221-1 clause 7), no keepalive policy. */
static bool chk_x1_defaults(const struct xtap_config *c)
{
	return c->x1_enabled && c->x1_addr.family == DTCP_AF_NONE && c->x1_port == 443 && c->x1_keepalive == 0 &&
		c->x1_keepalive_policy == XTAP_CFG_X1_KA_DEACTIVATE;
}

static bool chk_no_x1(const struct xtap_config *c)
{
	return !c->x1_enabled && c->x1_port == 443;
}

static bool chk_cdests(const struct xtap_config *c)
{
	struct dtcp_cdest d;
	if (c->n_cdests != 2 || xtap_config_cdest(c, "cd1", &d) || strcmp(d.name.s, "cd1") ||
	    !addr_is(&d.dst, "198.51.100.50") || d.dst_port != 7890 || !addr_is(&d.src, "192.0.2.1") ||
	    d.src_port != 49153 || d.ttl != 64 || c->cdests[0].has_intercept)
		return false;
	if (xtap_config_cdest(c, "lea6", &d) || !addr_is(&d.dst, "2001:db8:cd::50") || d.dst_port != 30030 ||
	    d.src.family != DTCP_AF_NONE || d.src_port != 0 || d.ttl != 255)
		return false;
	uint8_t u[16];
	/* not X3: no XID for LIST */
	return c->cdests[1].has_intercept && c->cdests[1].intercept_id == 0xfedcba9876543210ull &&
		xtap_config_cdest(c, "nope", &d) == -1 && xtap_config_cdest_xid(c, "cd1", u) == -1 &&
		xtap_config_cdest_xid(c, "nope", u) == -1;
}

static bool chk_x3(const struct xtap_config *c)
{
	static const uint8_t xid[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	const struct xtap_cfg_x3 *x = &c->cdests[0].x3;
	const struct xtap_cfg_x3 *y = &c->cdests[1].x3;

	struct dtcp_cdest cd;
	uint8_t u[16];
	if (xtap_config_cdest(c, "lea", &cd) != DTCP_CDEST_FIXED || !addr_is(&cd.dst, "127.0.0.1") ||
	    cd.dst_port != 30031)
		return false;
	/* the XID LIST shows (X-X3-XID) is the configured one */
	if (xtap_config_cdest_xid(c, "lea", u) || memcmp(u, xid, 16))
		return false;
	return c->n_cdests == 2 && x->on && x->line == 13 && addr_is(&x->addr, "2001:db8:cd::50") && x->has_port &&
		x->port == 4443 && !strcmp(x->cert, "/etc/xtap/x3/sensor.pem") &&
		!strcmp(x->key, "/etc/xtap/x3/sensor.key") && !strcmp(x->ca, "/etc/xtap/x3/ca.pem") && x->has_xid &&
		!memcmp(x->xid, xid, 16) && x->correlation == 0xfedcba9876543210ull && x->n_targets == 2 &&
		net_is(&x->targets[0], "192.0.2.0", 24) && net_is(&x->targets[1], "198.51.100.7", 32) &&
		x->buffer == 65536 && y->on && y->buffer == XTAP_CFG_X3_BUFFER_DEF && y->correlation == 0 &&
		y->n_targets == 0;
}

static bool chk_policy(const struct xtap_config *c)
{
	const struct xtap_cfg_user *u = ftap(c);
	const struct xtap_cfg_policy *p = &u->pol;
	return p->n_allow_cdest == 3 && net_is(&p->allow_cdest[0], "198.51.100.0", 24) &&
		net_is(&p->allow_cdest[1], "203.0.113.0", 25) && net_is(&p->allow_cdest[2], "2001:db8:cd::", 48) &&
		p->has_allow_cdest_port && p->allow_cdest_port.n == 3 && p->allow_cdest_port.r[0].lo == 7000 &&
		p->allow_cdest_port.r[0].hi == 7999 && p->allow_cdest_port.r[1].lo == 30030 &&
		p->allow_cdest_port.r[1].hi == 30030 && p->allow_cdest_port.r[2].lo == 9 && p->n_allow_src == 1 &&
		net_is(&p->allow_src[0], "192.0.2.1", 32) && p->max_criteria == 50 && p->has_seq_mode &&
		p->seq_mode == DTCP_SEQ_STRICT;
}

static bool chk_global(const struct xtap_config *c)
{
	const struct xtap_cfg_policy *g = &c->global;
	return g->n_allow_cdest == 1 && net_is(&g->allow_cdest[0], "198.51.100.0", 24) && g->has_allow_cdest_port &&
		g->allow_cdest_port.n == 1 && g->allow_cdest_port.r[0].lo == 1024 &&
		g->allow_cdest_port.r[0].hi == 65535 && g->n_allow_src == 1 &&
		net_is(&g->allow_src[0], "2001:db8::", 64) && g->max_criteria == 5000 && g->has_seq_mode &&
		g->seq_mode == DTCP_SEQ_STRICT && c->max_cdests == 2 && !strcmp(c->audit_log, "/srv/audit");
}

/* The drafts' readings: the global ones apply, a user's setting overrides
 * them either way; without any, the FlowTapLite document's (dtcp.md 4.1, 4.2). */
static bool chk_strict(const struct xtap_config *c)
{
	struct dtcp_source_policy p;
	if (xtap_config_source_policy(c, "ftap", &p))
		return false;
	return !p.refuse_no_lifetime && p.cdest_whole && p.delete_static_needs_flag;
}

static bool chk_strict_default(const struct xtap_config *c)
{
	struct dtcp_source_policy p;
	if (xtap_config_source_policy(c, "ftap", &p))
		return false;
	return !p.refuse_no_lifetime && !p.cdest_whole && !p.delete_static_needs_flag;
}

/* Quoting: escapes resolved, blanks and # kept inside quotes. */
static bool chk_quotes(const struct xtap_config *c)
{
	const struct xtap_cfg_user *u = ftap(c);
	static const char key[] = "a \"q\" \\ # b";
	return u->keylen == sizeof(key) - 1 && !memcmp(u->key, key, u->keylen) &&
		!strcmp(c->classes[0].name, "flowtap");
}

static bool chk_repeat(const struct xtap_config *c)
{
	return c->n_attach == 1 && c->n_jifs == 1 && ftap(c)->pol.n_allow_cdest == 1 && c->n_classes == 1;
}

/* A statement in error is forgotten: its corrected repeat is taken. */
static bool chk_corrected(const struct xtap_config *c)
{
	return ftap(c)->uid == 2000;
}

static bool chk_crlf(const struct xtap_config *c)
{
	return chk_ftl(c);
}

struct accept_case {
	const char *name;
	const char *text;
	bool (*check)(const struct xtap_config *c);
	int nerr; /* expected errors (0 for most) */
};

static const struct accept_case accept_cases[] = {
	{ "flowtaplite block", BASE, chk_ftl },
	{ "defaults", BASE, chk_defaults },
	{ "family inet only",
	  "set system login class flowtap permissions flow-tap-operation\n"
	  "set system login user ftap class flowtap\n"
	  "set system login user ftap authentication encrypted-password \"" HASH6 "\"\n"
	  "set system services flow-tap-dtcp ssh\n"
	  "set interfaces vt-4/0/0 unit 0 family inet\n"
	  "set services flow-tap tunnel-interface vt-4/0/0.0\n"
	  "set services flow-tap control-source ftap key Juniper\n"
	  "set services flow-tap interface eth0\n",
	  chk_no_inet6, 0 },
	{ "dtcp server",
	  BASE "set system services flow-tap-dtcp ssh connection-limit 10\n"
	       "set system services flow-tap-dtcp ssh rate-limit 20\n"
	       "set system services flow-tap-dtcp ssh per-source connection-limit 3\n"
	       "set system services flow-tap-dtcp ssh per-source rate-limit 200\n"
	       "set system services flow-tap-dtcp ssh port 3200\n"
	       "set system services flow-tap-dtcp ssh listen-address 2001:db8::1\n"
	       "set system services flow-tap-dtcp ssh host-key /etc/xtap/k1\n"
	       "set system services flow-tap-dtcp ssh host-key /etc/xtap/k2\n"
	       "set system services flow-tap-dtcp ssh idle-timeout 0\n"
	       "set system services flow-tap-dtcp ssh max-message-size 4096\n",
	  chk_dtcp_server },
	{ "ssh keys",
	  BASE "set system login user ftap authentication ssh-ed25519 \"" ED25519 "\"\n"
	       "set system login user ftap authentication ssh-rsa \"" RSA "\"\n"
	       "set system login user ftap authentication ssh-ecdsa \"" ECDSA "\"\n",
	  chk_ssh_keys },
	{ "crypt hashes",
	  BASE "set system login user u5 class flowtap\n"
	       "set system login user u5 authentication encrypted-password \"" HASH5 "\"\n"
	       "set system login user u1 class flowtap\n"
	       "set system login user u1 authentication encrypted-password " HASH1 "\n"
	       "set system login user uy class flowtap\n"
	       "set system login user uy authentication encrypted-password \"" HASHY "\"\n"
	       "set system login user ur class flowtap\n"
	       "set system login user ur authentication encrypted-password \"" HASH6R "\"\n",
	  chk_hashes },
	{ "datapath",
	  BASE "set services flow-tap interface eth1 mode xdp-generic\n"
	       "set services flow-tap interface eth2 mode tc\n"
	       "set services flow-tap interface eth0 mode xdp-native\n"
	       "set services flow-tap tunnel-veth xt0 peer xt1\n"
	       "set services flow-tap state-file /run/xtap/state\n",
	  chk_datapath },
	{ "aliases and groups",
	  BASE "set services flow-tap interface eth1\n"
	       "set services flow-tap interface-alias ge-2/0/1 eth1\n"
	       "set services flow-tap interface-alias ge-2/0/1.0 eth1\n"
	       "set services flow-tap interface-group vrf-a interface eth0\n"
	       "set services flow-tap interface-group vrf-a interface eth1\n",
	  chk_names },
	{ "an alias covers its units",
	  BASE "set services flow-tap interface eth1\n"
	       "set services flow-tap interface eth2\n"
	       "set services flow-tap interface eth1.100\n"
	       "set services flow-tap interface-alias ge-1/3/5 eth1\n"
	       "set services flow-tap interface-alias ge-1/3/5.2 eth2\n"
	       "set services flow-tap interface-alias xe-0/0/0.5 eth2\n",
	  chk_alias_units },
	{ "metrics listener",
	  BASE "set services flow-tap metrics listen-address 2001:db8::1\n"
	       "set services flow-tap metrics port 9469\n",
	  chk_metrics },
	{ "x1 server",
	  BASE "set services x1 listen-address 2001:db8::2\n"
	       "set services x1 port 8443\n"
	       "set services x1 certificate /etc/xtap/x1.crt\n"
	       "set services x1 key /etc/xtap/x1.key\n"
	       "set services x1 admf-ca /etc/xtap/admf-ca.crt\n"
	       "set services x1 ne-identifier \"ne-1 east\"\n"
	       "set services x1 keepalive-timeout 90\n"
	       "set services x1 keepalive-policy keep\n",
	  chk_x1 },
	{ "x1 defaults",
	  BASE "set services x1 certificate /c\n"
	       "set services x1 key /k\n"
	       "set services x1 admf-ca /a\n"
	       "set services x1 ne-identifier ne1\n",
	  chk_x1_defaults },
	{ "no x1", BASE, chk_no_x1 },
	{ "x1 over x3",
	  BASE X1MIN "set services x1 x3-local-address 198.51.100.1\n"
		     "set services x1 x3-port-base 50000\n"
		     "set services x1 x3-certificate /etc/xtap/x3.crt\n"
		     "set services x1 x3-key /etc/xtap/x3.key\n"
		     "set services x1 x3-ca /etc/xtap/lemf-ca.crt\n",
	  chk_x1_x3 },
	{ "x1 issue reports",
	  BASE X1MIN "set services x1 admf admf-a report-address 192.0.2.7\n"
		     "set services x1 admf admf-a report-port 8443\n"
		     "set services x1 admf \"admf b\" report-address 2001:db8::9\n",
	  chk_x1_admfs },
	{ "x1 over x3, port base default",
	  BASE X1MIN "set services x1 x3-local-address 2001:db8::7\n"
		     "set services x1 x3-certificate /c3\n"
		     "set services x1 x3-key /k3\n"
		     "set services x1 x3-ca /a3\n",
	  chk_x1_x3_default },
	{ "content destinations",
	  BASE "set services flow-tap content-destination cd1 address 198.51.100.50\n"
	       "set services flow-tap content-destination cd1 port 7890\n"
	       "set services flow-tap content-destination cd1 source-address 192.0.2.1\n"
	       "set services flow-tap content-destination cd1 source-port 49153\n"
	       "set services flow-tap content-destination cd1 ttl 64\n"
	       "set services flow-tap content-destination lea6 address 2001:db8:cd::50\n"
	       "set services flow-tap content-destination lea6 port 30030\n"
	       "set services flow-tap content-destination lea6 intercept-id 0xFEDCBA9876543210\n",
	  chk_cdests },
	{ "x3 delivery",
	  BASE "set services flow-tap content-destination lea address 127.0.0.1\n"
	       "set services flow-tap content-destination lea port 30031\n"
	       "set services flow-tap content-destination lea x3 address 2001:db8:cd::50\n"
	       "set services flow-tap content-destination lea x3 port 4443\n"
	       "set services flow-tap content-destination lea x3 certificate /etc/xtap/x3/sensor.pem\n"
	       "set services flow-tap content-destination lea x3 key /etc/xtap/x3/sensor.key\n"
	       "set services flow-tap content-destination lea x3 ca /etc/xtap/x3/ca.pem\n"
	       "set services flow-tap content-destination lea x3 xid 00112233-4455-6677-8899-AABBCCDDEEFF\n"
	       "set services flow-tap content-destination lea x3 correlation-id 0xFEDCBA9876543210\n"
	       "set services flow-tap content-destination lea x3 target 192.0.2.0/24,198.51.100.7\n"
	       "set services flow-tap content-destination lea x3 buffer-size 65536\n"
	       "set services flow-tap content-destination b address 127.0.0.1\n"
	       "set services flow-tap content-destination b port 30032\n"
	       "set services flow-tap content-destination b x3 address 192.0.2.9\n"
	       "set services flow-tap content-destination b x3 port 4443\n"
	       "set services flow-tap content-destination b x3 certificate /c\n"
	       "set services flow-tap content-destination b x3 key /k\n"
	       "set services flow-tap content-destination b x3 ca /a\n"
	       "set services flow-tap content-destination b x3 xid 00000000-0000-0000-0000-000000000001\n",
	  chk_x3 },
	{ "per-user policy",
	  BASE "set services flow-tap control-source ftap allowed-destination 198.51.100.7/24\n"
	       "set services flow-tap control-source ftap allowed-destination 203.0.113.0-203.0.113.127\n"
	       "set services flow-tap control-source ftap allowed-destination 2001:db8:cd::/48\n"
	       "set services flow-tap control-source ftap allowed-destination 198.51.100.0/24\n"
	       "set services flow-tap control-source ftap allowed-destination-port 7000-7999,30030\n"
	       "set services flow-tap control-source ftap allowed-destination-port 9\n"
	       "set services flow-tap control-source ftap allowed-source-address 192.0.2.1\n"
	       "set services flow-tap control-source ftap max-criteria 50\n"
	       "set services flow-tap control-source ftap seq-check strict\n",
	  chk_policy },
	{ "global policy",
	  BASE "set services flow-tap allowed-destination 198.51.100.0/24\n"
	       "set services flow-tap allowed-destination-port 1024-*\n"
	       "set services flow-tap allowed-source-address 2001:db8::/64\n"
	       "set services flow-tap max-criteria 5000\n"
	       "set services flow-tap seq-check strict\n"
	       "set services flow-tap max-content-destinations 2\n"
	       "set services flow-tap audit-log /srv/audit\n",
	  chk_global },
	{ "drafts' readings",
	  BASE "set services flow-tap no-lifetime refuse\n"
	       "set services flow-tap delete-static with-flag\n"
	       "set services flow-tap control-source ftap no-lifetime static\n"
	       "set services flow-tap control-source ftap cdest-merge off\n",
	  chk_strict },
	{ "the document's readings by default", BASE, chk_strict_default },
	{ "identical repeats",
	  BASE BASE "set services flow-tap control-source ftap allowed-destination 198.51.100.0/24\n"
		    "set services flow-tap control-source ftap allowed-destination 198.51.100.0/24\n",
	  chk_repeat },
	{ "corrected repeat", BASE "set system login user ftap uid 2000\n", chk_corrected },
	{ "crlf line ends",
	  "set system login class flowtap permissions flow-tap-operation\r\n"
	  "set system login user ftap uid 2000\r\n"
	  "set system login user ftap class flowtap\r\n"
	  "set system login user ftap authentication encrypted-password \"" HASH6 "\"\r\n"
	  "set system services flow-tap-dtcp ssh\r\n"
	  "set interfaces vt-4/0/0 unit 0 family inet\r\n"
	  "set interfaces vt-4/0/0 unit 0 family inet6\r\n"
	  "set services flow-tap tunnel-interface vt-4/0/0.0\r\n"
	  "set services flow-tap control-source ftap key \"Juniper\"\r\n"
	  "set services flow-tap interface eth0",
	  chk_crlf },
};

static void run_accept(void)
{
	for (size_t i = 0; i < sizeof(accept_cases) / sizeof(accept_cases[0]); i++) {
		const struct accept_case *t = &accept_cases[i];
		int n = parse(t->text, &cfg);
		bool ok = n == t->nerr && n == errs.n;
		if (!ok)
			dump_errors();
		check(ok, t->name, "error count");
		if (t->check && n == t->nerr)
			check(t->check(&cfg), t->name, "fields");
		xtap_config_free(&cfg);
	}
}

/* Quoting and comments, checked on the bytes they yield. */
static void run_quote_fields(void)
{
	parse(BASE "set services flow-tap control-source ftap key \"a \\\"q\\\" \\\\ # b\"\n", &cfg);
	check(errs.n == 1 && errs.e[0].line == 11 &&
		      !strcmp(errs.e[0].msg,
			      "'set services flow-tap control-source ftap key' is already set "
			      "to another value at line 9"),
	      "quoted escapes", "conflicts with line 9");
	xtap_config_free(&cfg);
	parse(FTL "set services flow-tap control-source ftap key \"a \\\"q\\\" \\\\ # b\"\n"
		  "set services flow-tap interface eth0\n",
	      &cfg);
	if (errs.n)
		dump_errors();
	check(errs.n == 0 && chk_quotes(&cfg), "quoted escapes", "key bytes");
	xtap_config_free(&cfg);
	parse("# a comment line\n\n   \t\n"
	      "set \"system\" login class flowtap permissions flow-tap-operation # trailing\n",
	      &cfg);
	check(errs.n == 0 && cfg.n_classes == 1 && cfg.classes[0].flow_tap_operation && cfg.classes[0].line == 4,
	      "comments", "class on line 4");
	xtap_config_free(&cfg);
	/* '#' inside a word is part of the word, so this uid is not a number */
	parse("set system login user ftap uid 2000#x\n", &cfg);
	check(errs.kept >= 1 && errs.e[0].line == 1 &&
		      !strcmp(errs.e[0].msg, "uid '2000#x' is not a number from 100 to 64000"),
	      "comments", "# inside a word");
	xtap_config_free(&cfg);
}

/* ---- errors: exact line and message ---------------------------------------------- */

struct want {
	int line;
	const char *msg;
};

struct error_case {
	const char *name;
	const char *text;
	struct want w[8]; /* every error, in order */
};

#define CS "set services flow-tap control-source ftap "
#define CD "set services flow-tap content-destination cd1 "
#define SSH "set system services flow-tap-dtcp ssh "

static const struct error_case error_cases[] = {
	/* tokenizer */
	{ "unterminated quote",
	  BASE "set system login user ftap class \"flowtap\n",
	  { { 11, "unterminated quoted string" } } },
	{ "bad escape",
	  BASE CS "key \"a\\nb\"\n",
	  { { 11, "only \\\" and \\\\ may follow a backslash in a quoted string" } } },
	{ "quote in word",
	  BASE "set system login user ftap class flow\"tap\"\n",
	  { { 11, "a double quote inside a word" } } },
	{ "text after quote",
	  BASE "set system login user ftap class \"flowtap\"x\n",
	  { { 11, "a quoted string must be followed by a blank or the end of the line" } } },
	{ "control char", BASE "set system\x01 login\n", { { 11, "control character 0x01 in the line" } } },
	{ "too many words",
	  BASE "set a a a a a a a a a a a a a a a a a a a a a a a a a\n",
	  { { 11, "more than 24 words in one statement" } } },
	/* grammar */
	{ "not set", BASE "delete system login user ftap\n", { { 11, "'delete': only set statements are accepted" } } },
	{ "bare set", BASE "set\n", { { 11, "incomplete statement 'set': expected system, interfaces, services" } } },
	{ "unknown top",
	  BASE "set protocols bgp\n",
	  { { 11, "unknown word 'protocols' after 'set': expected system, interfaces, services" } } },
	{ "unknown under flow-tap",
	  BASE "set services flow-tap bogus 1\n",
	  { { 11,
	      "unknown word 'bogus' after 'set services flow-tap': expected tunnel-interface, "
	      "tunnel-veth, interface, interface-alias, interface-group, state-file, metrics, "
	      "content-destination, control-source, allowed-destination, ..." } } },
	{ "incomplete user",
	  BASE "set system login user ftap\n",
	  { { 11,
	      "incomplete statement 'set system login user ftap': expected uid, class, "
	      "authentication" } } },
	{ "incomplete value",
	  BASE "set system login user ftap uid\n",
	  { { 11, "incomplete statement 'set system login user ftap uid': expected <uid>" } } },
	{ "trailing word",
	  BASE SSH "rate-limit 10 extra\n",
	  { { 11,
	      "unexpected 'extra' after the complete statement "
	      "'set system services flow-tap-dtcp ssh rate-limit 10'" } } },
	{ "junos plain-text-password",
	  BASE "set system login user ftap authentication plain-text-password\n",
	  { { 11,
	      "unknown word 'plain-text-password' after 'set system login user ftap "
	      "authentication': expected encrypted-password, ssh-ed25519, ssh-rsa, ssh-ecdsa" } } },
	{ "long word shown bounded",
	  BASE "set services flow-tap interface eth0 mode "
	       "xdp-nativexxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	  { { 11,
	      "mode 'xdp-nativexxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is not xdp-native, "
	      "xdp-generic or tc" } } },
	/* values */
	{ "permission",
	  BASE "set system login class ops permissions all\n",
	  { { 11, "permission 'all' is not supported (xtap knows flow-tap-operation only)" } } },
	{ "uid range",
	  BASE "set system login user bob uid 99\n"
	       "set system login user bob class flowtap\n",
	  { { 11, "uid '99' is not a number from 100 to 64000" } } },
	{ "user name",
	  BASE "set system login user -x class flowtap\n",
	  { { 11, "user name '-x' is not 1 to 63 letters, digits, '_', '-' or '.'" } } },
	/* docs/x1.md: X1's criteria are owned by "X1/<admf>", out of DTCP's reach */
	{ "X1 control source",
	  BASE "set services flow-tap control-source X1/admf-a key \"Juniper\"\n",
	  { { 11,
	      "control-source 'X1/admf-a': names starting with 'X1/' are X1's control sources "
	      "(ETSI TS 103 221-1 tasking), not DTCP's" } } },
	{ "X1 login user",
	  BASE "set system login user X1/admf-a class flowtap\n",
	  { { 11,
	      "user 'X1/admf-a': names starting with 'X1/' are X1's control sources "
	      "(ETSI TS 103 221-1 tasking), not DTCP's" } } },
	{ "class name",
	  BASE "set system login user bob class fl@w\n"
	       "set system login user bob authentication encrypted-password \"" HASH5 "\"\n",
	  { { 11, "class name 'fl@w' is not 1 to 63 letters, digits, '_', '-' or '.'" },
	    { 11, "user 'bob' has no class (set system login user bob class NAME)" } } },
	{ "hash shape",
	  BASE "set system login user bob class flowtap\n"
	       "set system login user bob authentication encrypted-password \"hunter2\"\n"
	       "set system login user bob2 class flowtap\n"
	       "set system login user bob2 authentication encrypted-password \"$6$abc$short\"\n"
	       "set system login user bob3 class flowtap\n"
	       "set system login user bob3 authentication encrypted-password \"$2b$10$x\"\n",
	  { { 12, "encrypted-password of user 'bob' is not a crypt(3) hash ($6$, $5$, $y$ or $1$)" },
	    { 14, "encrypted-password of user 'bob2' is not a crypt(3) hash ($6$, $5$, $y$ or $1$)" },
	    { 16, "encrypted-password of user 'bob3' is not a crypt(3) hash ($6$, $5$, $y$ or $1$)" } } },
	{ "ssh key type",
	  BASE "set system login user ftap authentication ssh-rsa \"" ED25519 "\"\n"
	       "set system login user ftap authentication ssh-ed25519 \"ssh-ed25519 AAAA x\"\n"
	       "set system login user ftap authentication ssh-ecdsa \"" RSA "\"\n",
	  { { 11,
	      "ssh-rsa of user 'ftap' is not an OpenSSH public key of that type "
	      "(\"ssh-rsa AAAA... comment\")" },
	    { 12,
	      "ssh-ed25519 of user 'ftap' is not an OpenSSH public key of that type "
	      "(\"ssh-ed25519 AAAA... comment\")" },
	    { 13,
	      "ssh-ecdsa of user 'ftap' is not an OpenSSH public key of that type "
	      "(\"ecdsa-sha2-nistp256 AAAA... comment\")" } } },
	{ "dtcp numbers",
	  BASE SSH "connection-limit 251\n" SSH "rate-limit 0\n" SSH "port 65536\n" SSH "idle-timeout x\n",
	  { { 11, "connection-limit '251' is not a number from 1 to 250" },
	    { 12, "rate-limit '0' is not a number from 1 to 250" },
	    { 13, "port '65536' is not a number from 1 to 65535" },
	    { 14, "idle-timeout 'x' is not a number from 0 to 86400" } } },
	{ "per-source limits",
	  BASE SSH "per-source connection-limit 0\n" SSH "per-source rate-limit 251\n",
	  { { 11, "per-source connection-limit '0' is not a number from 1 to 250" },
	    { 12, "per-source rate-limit '251' is not a number from 1 to 250" } } },
	{ "dtcp others",
	  BASE SSH "max-message-size 70000\n" SSH "listen-address 10.0.0.256\n" SSH "host-key etc/key\n",
	  { { 11, "max-message-size '70000' is not a number from 1024 to 65536" },
	    { 12, "listen-address '10.0.0.256' is not an IPv4 or IPv6 address" },
	    { 13, "host-key 'etc/key' is not an absolute path shorter than 256 bytes" } } },
	{ "non-vt interface",
	  BASE "set interfaces ge-0/0/0 unit 0 family inet\n",
	  { { 11,
	      "interface 'ge-0/0/0': only vt- tunnel interfaces are configured under "
	      "interfaces (map others with services flow-tap interface-alias)" } } },
	{ "vt unit and family",
	  BASE "set interfaces vt-4/0/0 unit x family inet\n"
	       "set interfaces vt-4/0/0 unit 1 family mpls\n",
	  { { 11, "unit 'x' is not a number from 0 to 16385" },
	    { 12, "family 'mpls' is not supported on a vt interface (inet or inet6)" } } },
	{ "attach",
	  BASE "set services flow-tap interface eth0/1\n"
	       "set services flow-tap interface eth1 mode xdp\n"
	       "set services flow-tap interface vt0\n",
	  { { 11, "interface 'eth0/1' is not a Linux interface name (1 to 15 bytes, no '/', ':' or blank)" },
	    { 12, "mode 'xdp' is not xdp-native, xdp-generic or tc" },
	    { 13, "interface 'vt0' is an end of the vt pair, xtap cannot attach to it" } } },
	{ "tunnel-veth",
	  BASE "set services flow-tap tunnel-veth a peer a\n",
	  { { 11, "tunnel-veth 'a' and its peer must differ" } } },
	{ "alias",
	  BASE "set services flow-tap interface-alias ge-1/0/0 eth9\n",
	  { { 11,
	      "interface-alias 'ge-1/0/0' names 'eth9', which is not an attached interface "
	      "(set services flow-tap interface eth9)" } } },
	{ "x1 needs its files and NE",
	  BASE "set services x1 port 8443\n",
	  { { 11, "services x1 needs a certificate (set services x1 certificate PATH)" },
	    { 11, "services x1 needs a key (set services x1 key PATH)" },
	    { 11, "services x1 needs the ADMF CA (set services x1 admf-ca PATH)" },
	    { 11, "services x1 needs an NE identifier (set services x1 ne-identifier ID)" } } },
	{ "x1 values",
	  BASE "set services x1 certificate /c\n"
	       "set services x1 key /k\n"
	       "set services x1 admf-ca relative/ca.pem\n"
	       "set services x1 port 0\n"
	       "set services x1 keepalive-timeout 86401\n"
	       "set services x1 keepalive-policy report\n"
	       "set services x1 listen-address 192.0.2.300\n"
	       "set services x1 ne-identifier "
	       "a234567890123456789012345678901234567890123456789012345678901\n",
	  { { 13, "x1 admf-ca 'relative/ca.pem' is not an absolute path shorter than 256 bytes" },
	    { 14, "x1 port '0' is not a number from 1 to 65535" },
	    { 15, "x1 keepalive-timeout '86401' is not a number from 0 to 86400" },
	    { 16, "x1 keepalive-policy 'report' is not deactivate or keep" },
	    { 17, "x1 listen-address '192.0.2.300' is not an IPv4 or IPv6 address" },
	    { 18,
	      "x1 ne-identifier 'a234567890123456789012345678901234567890...' is not 1 to 60 "
	      "bytes without control characters" },
	    { 11, "services x1 needs the ADMF CA (set services x1 admf-ca PATH)" },
	    { 11, "services x1 needs an NE identifier (set services x1 ne-identifier ID)" } } },
	{ "x1 over x3 needs all four",
	  BASE X1MIN "set services x1 x3-port-base 65500\n",
	  { { 15, "x1 x3-port-base '65500' is not a number from 1 to 65472" },
	    { 15,
	      "services x1 x3 delivery needs the sensor's local address for it (set services x1 "
	      "x3-local-address ADDRESS)" },
	    { 15, "services x1 x3 delivery needs a client certificate (set services x1 x3-certificate PATH)" },
	    { 15, "services x1 x3 delivery needs a key (set services x1 x3-key PATH)" },
	    { 15, "services x1 x3 delivery needs the receivers' CA (set services x1 x3-ca PATH)" } } },
	{ "x1 admf without its address",
	  BASE X1MIN "set services x1 admf admf-a report-port 8443\n"
		     "set services x1 admf admf-b report-port 0\n",
	  { { 16, "x1 admf report-port '0' is not a number from 1 to 65535" },
	    { 15,
	      "x1 admf 'admf-a' needs the address its issue reports go to (set services x1 admf admf-a "
	      "report-address ADDRESS)" },
	    { 16,
	      "x1 admf 'admf-b' needs the address its issue reports go to (set services x1 admf admf-b "
	      "report-address ADDRESS)" } } },
	{ "metrics address alone",
	  BASE "set services flow-tap metrics listen-address 192.0.2.1\n",
	  { { 11, "metrics listen-address needs a metrics port (set services flow-tap metrics port N)" } } },
	{ "metrics port alone",
	  BASE "set services flow-tap metrics port 9469\n",
	  { { 11,
	      "metrics port needs a metrics listen-address (set services flow-tap metrics listen-address ADDR)" } } },
	{ "metrics address",
	  BASE "set services flow-tap metrics listen-address 192.0.2.300\n"
	       "set services flow-tap metrics port 9469\n",
	  { { 11, "metrics listen-address '192.0.2.300' is not an IPv4 or IPv6 address" },
	    { 12,
	      "metrics port needs a metrics listen-address (set services flow-tap metrics listen-address ADDR)" } } },
	{ "metrics port range",
	  BASE "set services flow-tap metrics listen-address 192.0.2.1\n"
	       "set services flow-tap metrics port 65536\n",
	  { { 12, "metrics port '65536' is not a number from 1 to 65535" },
	    { 11, "metrics listen-address needs a metrics port (set services flow-tap metrics port N)" } } },
	{ "alias target name",
	  BASE "set services flow-tap interface-alias ge-1/0/1 bad/name\n",
	  { { 11, "interface-alias target 'bad/name' is not a Linux interface name" } } },
	{ "group",
	  BASE "set services flow-tap interface-group g1 interface eth0\n"
	       "set services flow-tap interface-group g1 interface eth5\n",
	  { { 12,
	      "interface-group 'g1' names 'eth5', which is not an attached interface "
	      "(set services flow-tap interface eth5)" } } },
	{ "cdest values",
	  BASE CD "address 198.51.100.1/24\n" CD "port 0\n" CD "ttl 256\n" CD "intercept-id 0x12345678901234567\n",
	  { { 11, "address '198.51.100.1/24' is not an IPv4 or IPv6 address" },
	    { 12, "port '0' is not a number from 1 to 65535" },
	    { 13, "ttl '256' is not a number from 1 to 255" },
	    { 14, "intercept-id '0x12345678901234567' is not 1 to 16 hex digits" },
	    { 11, "content-destination 'cd1' has no address" },
	    { 11, "content-destination 'cd1' has no port" } } },
	{ "x3 values",
	  BASE CD "address 127.0.0.1\n" CD "port 30031\n" CD "x3 address 192.0.2.300\n" CD "x3 port 65536\n" CD
		  "x3 certificate rel/cert.pem\n" CD "x3 xid 00112233445566778899aabbccddeeff\n" CD
		  "x3 correlation-id 0x12345678901234567\n" CD "x3 target 192.0.2.0/33\n" CD "x3 buffer-size 65535\n" CD
		  "x3 address 192.0.2.30\n" CD "x3 port 4443\n" CD "x3 certificate /c.pem\n" CD "x3 key /k.pem\n" CD
		  "x3 ca /ca.pem\n" CD "x3 xid 00112233-4455-6677-8899-aabbccddeeff\n",
	  { { 13, "x3 address '192.0.2.300' is not an IPv4 or IPv6 address" },
	    { 14, "x3 port '65536' is not a number from 1 to 65535" },
	    { 15, "x3 certificate 'rel/cert.pem' is not an absolute path shorter than 256 bytes" },
	    { 16, "x3 xid '00112233445566778899aabbccddeeff' is not a UUID (8-4-4-4-12 hex digits)" },
	    { 17, "x3 correlation-id '0x12345678901234567' is not 1 to 16 hex digits" },
	    { 18, "x3 target '192.0.2.0/33' is not a list of IPv4 or IPv6 prefixes of one family" },
	    { 19, "x3 buffer-size '65535' is not a number from 65536 to 1073741824" } } },
	{ "x3 incomplete",
	  BASE CD "address 127.0.0.1\n" CD "port 30031\n" CD "x3 port 4443\n",
	  { { 13,
	      "content-destination 'cd1' delivers over x3 but has no x3 address "
	      "(set services flow-tap content-destination cd1 x3 address ...)" },
	    { 13,
	      "content-destination 'cd1' delivers over x3 but has no x3 certificate "
	      "(set services flow-tap content-destination cd1 x3 certificate ...)" },
	    { 13,
	      "content-destination 'cd1' delivers over x3 but has no x3 key "
	      "(set services flow-tap content-destination cd1 x3 key ...)" },
	    { 13,
	      "content-destination 'cd1' delivers over x3 but has no x3 ca "
	      "(set services flow-tap content-destination cd1 x3 ca ...)" },
	    { 13,
	      "content-destination 'cd1' delivers over x3 but has no x3 xid "
	      "(set services flow-tap content-destination cd1 x3 xid ...)" } } },
	{ "cdest incomplete",
	  BASE CD "source-address 192.0.2.1\n" CD "address 2001:db8::5\n",
	  { { 11, "content-destination 'cd1' has no port" },
	    { 11, "content-destination 'cd1': source-address and address are of different families" } } },
	{ "cdest no address", BASE CD "port 9000\n", { { 11, "content-destination 'cd1' has no address" } } },
	{ "policy values",
	  BASE CS "allowed-destination 10.0.0.0/33\n" CS "allowed-destination-port 70000\n" CS
		  "allowed-source-address *\n" CS "seq-check loose\n" CS "no-lifetime forever\n" CS
		  "cdest-merge yes\n" CS "delete-static never\n",
	  { { 11, "allowed-destination '10.0.0.0/33' is not a list of IPv4 or IPv6 prefixes of one family" },
	    { 12, "allowed-destination-port '70000' is not a list of ports or port ranges" },
	    { 13, "allowed-source-address '*' is not a list of IPv4 or IPv6 prefixes of one family" },
	    { 14, "seq-check 'loose' is not off or strict" },
	    { 15, "no-lifetime 'forever' is not static or refuse" },
	    { 16, "cdest-merge 'yes' is not on or off" },
	    { 17, "delete-static 'never' is not always or with-flag" } } },
	{ "global values",
	  BASE "set services flow-tap max-criteria 0\n"
	       "set services flow-tap max-content-destinations 17\n"
	       "set services flow-tap state-file relative\n",
	  { { 11, "max-criteria '0' is not a number from 1 to 1048576" },
	    { 12, "max-content-destinations '17' is not a number from 1 to 16" },
	    { 13, "state-file 'relative' is not an absolute path shorter than 256 bytes" } } },
	{ "key length",
	  BASE "set services flow-tap control-source bob key \"\"\n",
	  { { 11, "key of control-source 'bob' must be 1 to 256 bytes" },
	    { 11, "control-source 'bob' is not a login user (set system login user bob class NAME)" } } },
	/* repeats */
	{ "conflicting uid",
	  BASE "set system login user ftap uid 2001\n",
	  { { 11, "'set system login user ftap uid' is already set to another value at line 2" } } },
	{ "conflicting mode",
	  BASE "set services flow-tap interface eth0 mode tc\n"
	       "set services flow-tap interface eth0 mode xdp-generic\n",
	  { { 12, "'set services flow-tap interface eth0 mode' is already set to another value at line 11" } } },
	{ "conflicting tunnel",
	  BASE "set services flow-tap tunnel-interface vt-4/0/0.1\n",
	  { { 11, "'set services flow-tap tunnel-interface' is already set to another value at line 8" } } },
	{ "conflicting password",
	  BASE "set system login user ftap authentication encrypted-password \"" HASH5 "\"\n",
	  { { 11,
	      "'set system login user ftap authentication encrypted-password' is already set "
	      "to another value at line 4" } } },
	/* semantics */
	{ "undefined class",
	  BASE "set system login user bob class ops\n"
	       "set system login user bob authentication encrypted-password \"" HASH5 "\"\n",
	  { { 11,
	      "class 'ops' of user 'bob' is not defined "
	      "(set system login class ops permissions flow-tap-operation)" } } },
	{ "class without permission",
	  BASE "set system login user bob class ops\n"
	       "set system login class ops permissions flow-tap-operation\n"
	       "set system login user bob2 class other\n",
	  { { 13,
	      "class 'other' of user 'bob2' is not defined "
	      "(set system login class other permissions flow-tap-operation)" } } },
	{ "csource not a user",
	  BASE "set services flow-tap control-source eve key secret\n",
	  { { 11, "control-source 'eve' is not a login user (set system login user eve class NAME)" } } },
	{ "csource no key",
	  BASE "set system login user bob class flowtap\n"
	       "set system login user bob authentication encrypted-password \"" HASH5 "\"\n"
	       "set services flow-tap control-source bob max-criteria 5\n",
	  { { 13, "control-source 'bob' has no key" } } },
	{ "csource cannot log in",
	  BASE "set system login user bob class flowtap\n"
	       "set services flow-tap control-source bob key k\n",
	  { { 11, "user 'bob' has neither an encrypted-password nor an ssh key: it cannot log in" } } },
	{ "no dtcp user",
	  FTL "set services flow-tap interface eth0\n",
	  { { 5,
	      "flow-tap-dtcp needs a user whose class has flow-tap-operation and who has a key "
	      "(services flow-tap control-source NAME key)" } } },
	{ "no tunnel, no interface",
	  "set system login class c permissions flow-tap-operation\n"
	  "set system login user u class c\n"
	  "set system login user u authentication encrypted-password " HASH1 "\n"
	  "set services flow-tap control-source u key k\n" SSH "connection-limit 5\n",
	  { { 5, "flow-tap-dtcp needs services flow-tap tunnel-interface" },
	    { 5, "flow-tap-dtcp needs at least one services flow-tap interface" } } },
	{ "tunnel not declared",
	  "set services flow-tap tunnel-interface vt-1/0/0.2\n"
	  "set interfaces vt-1/0/0 unit 0 family inet\n"
	  "set services flow-tap tunnel-interface vt-1/0/0\n",
	  { { 3, "'set services flow-tap tunnel-interface' is already set to another value at line 1" },
	    { 1,
	      "tunnel-interface 'vt-1/0/0.2' is not a declared vt interface "
	      "(set interfaces vt-1/0/0 unit 2 family inet)" } } },
	{ "tunnel no unit",
	  "set services flow-tap tunnel-interface vt-1/0/0\n",
	  { { 1, "tunnel-interface 'vt-1/0/0' is not an interface with a unit (vt-4/0/0.0)" } } },
	{ "tunnel inet6 only",
	  "set interfaces vt-1/0/0 unit 0 family inet6\n"
	  "set services flow-tap tunnel-interface vt-1/0/0.0\n",
	  { { 2, "tunnel-interface 'vt-1/0/0.0' has no family inet" } } },
	{ "errors go on",
	  "set a\nset system login user ftap uid 1\nset b\n",
	  { { 1, "unknown word 'a' after 'set': expected system, interfaces, services" },
	    { 2, "uid '1' is not a number from 100 to 64000" },
	    { 3, "unknown word 'b' after 'set': expected system, interfaces, services" },
	    { 2, "user 'ftap' has no class (set system login user ftap class NAME)" } } },
};

static void run_errors(void)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *t = &error_cases[i];
		int want = 0;
		while (want < (int)(sizeof(t->w) / sizeof(t->w[0])) && t->w[want].msg)
			want++;
		int n = parse(t->text, &cfg);
		bool ok = n == want && errs.n == want && errs.kept == want;
		for (int k = 0; ok && k < want; k++)
			ok = errs.e[k].line == t->w[k].line && !strcmp(errs.e[k].msg, t->w[k].msg);
		if (!ok) {
			for (int k = 0; k < want; k++)
				printf("    want %d: %s\n", t->w[k].line, t->w[k].msg);
			dump_errors();
		}
		check(ok, t->name, "exact errors");
		xtap_config_free(&cfg);
	}
}

/* ---- secrets never reach a message --------------------------------------------------- */

static void run_secrets(void)
{
	static const char *const texts[] = {
		BASE CS "key \"S3cr3tK3y\" extra\n",
		BASE CS "key S3cr3tK3y extra\n",
		BASE CS "\"S3cr3tK3y\"\n",
		BASE CS "key S3cr3tK3y\n",
		BASE "set system login user ftap authentication encrypted-password S3cr3tK3y\n",
		BASE "set system login user ftap authentication encrypted-password \"S3cr3tK3y\" x\n",
		BASE "set system login user bob authentication encrypted-password \"S3cr3tK3y\"\n",
		BASE "set \"S3cr3tK3y\"\n",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		int n = parse(texts[i], &cfg);
		bool ok = n > 0;
		for (int k = 0; k < errs.kept; k++)
			ok = ok && !strstr(errs.e[k].msg, "S3cr3tK3y");
		if (!ok)
			dump_errors();
		check(ok, "secret not shown", texts[i] + strlen(BASE));
		xtap_config_free(&cfg);
	}
	/* the exact wording for the key repeated with extra words */
	parse(BASE CS "key S3cr3tK3y extra\n", &cfg);
	check(errs.n == 1 &&
		      !strcmp(errs.e[0].msg,
			      "unexpected 'extra' after the complete statement "
			      "'set services flow-tap control-source ftap key (secret)'"),
	      "secret masked", "context shows (secret)");
	xtap_config_free(&cfg);
}

/* ---- limits -------------------------------------------------------------------------- */

static void run_limits(void)
{
	size_t cap = 64 * 1024;
	char *t = malloc(cap);
	size_t o = 0;

	if (!t) {
		check(false, "limits", "malloc");
		return;
	}
	o += (size_t)snprintf(t + o, cap - o, "%s", BASE);
	for (int i = 0; i <= XTAP_CFG_ATTACH_MAX; i++)
		o += (size_t)snprintf(t + o, cap - o, "set services flow-tap interface x%d\n", i);
	parse(t, &cfg);
	/* eth0 + 63 fit; x63 and x64 do not */
	check(errs.n == 2 && errs.e[0].line == 11 + 63 &&
		      !strcmp(errs.e[0].msg, "interface 'x63': more than 64 interfaces") &&
		      cfg.n_attach == XTAP_CFG_ATTACH_MAX,
	      "limits", "attach table full");
	xtap_config_free(&cfg);

	char *line = malloc(XTAP_CFG_LINE_MAX + 2);
	if (line) {
		memset(line, 'a', XTAP_CFG_LINE_MAX + 1);
		line[XTAP_CFG_LINE_MAX + 1] = 0;
		parse(line, &cfg);
		check(errs.n == 1 && errs.e[0].line == 1 && !strcmp(errs.e[0].msg, "line longer than 16384 bytes"),
		      "limits", "line length");
		xtap_config_free(&cfg);
	}
	free(line);

	/* more errors than are kept: all counted */
	o = 0;
	for (int i = 0; i < XTAP_CFG_ERRS_MAX + 5; i++)
		o += (size_t)snprintf(t + o, cap - o, "set x\n");
	int n = parse(t, &cfg);
	check(n == XTAP_CFG_ERRS_MAX + 5 && errs.n == n && errs.kept == XTAP_CFG_ERRS_MAX &&
		      errs.e[XTAP_CFG_ERRS_MAX - 1].line == XTAP_CFG_ERRS_MAX,
	      "limits", "errors counted");
	xtap_config_free(&cfg);
	free(t);

	/* the file interface: missing file */
	n = xtap_config_load("/nonexistent/xtapd.conf", &cfg, &errs);
	check(n == 1 && errs.e[0].line == 0 && !strcmp(errs.e[0].msg, "cannot open: No such file or directory"), "load",
	      "missing file");
	xtap_config_free(&cfg);
}

/* ---- diff ------------------------------------------------------------------------------ */

struct diff_case {
	const char *name;
	const char *a, *b;
	int want;
};

#define X1CFG \
	"set services x1 certificate /c\nset services x1 key /k\nset services x1 admf-ca /a\n" \
	"set services x1 ne-identifier ne1\n"
static const struct diff_case diff_cases[] = {
	{ "same", BASE, BASE, 0 },
	{ "reordered and repeated", BASE,
	  "set services flow-tap interface eth0\n"
	  "set services flow-tap control-source ftap key \"Juniper\"\n"
	  "# comments and line numbers do not count\n\n" FTL FTL,
	  0 },
	{ "key", BASE, FTL CS "key \"Juniper2\"\nset services flow-tap interface eth0\n", XTAP_CFG_RELOADABLE },
	{ "connection-limit", BASE, BASE SSH "connection-limit 10\n", XTAP_CFG_RELOADABLE },
	{ "explicit default", BASE, BASE SSH "connection-limit 75\n", 0 },
	{ "x1 keepalive", BASE X1CFG, BASE X1CFG "set services x1 keepalive-timeout 60\n", XTAP_CFG_RELOADABLE },
	{ "x1 explicit default port", BASE X1CFG, BASE X1CFG "set services x1 port 443\n", 0 },
	{ "cdest", BASE, BASE CD "address 192.0.2.9\n" CD "port 9\n", XTAP_CFG_RELOADABLE },
	{ "policy", BASE, BASE CS "allowed-destination 192.0.2.0/24\n", XTAP_CFG_RELOADABLE },
	{ "global policy", BASE, BASE "set services flow-tap seq-check strict\n", XTAP_CFG_RELOADABLE },
	{ "drafts' reading", BASE, BASE CS "delete-static with-flag\n", XTAP_CFG_RELOADABLE },
	{ "ssh key", BASE, BASE "set system login user ftap authentication ssh-ed25519 \"" ED25519 "\"\n",
	  XTAP_CFG_RELOADABLE },
	{ "listen", BASE, BASE SSH "port 2222\n", XTAP_CFG_RELOADABLE },
	{ "alias", BASE, BASE "set services flow-tap interface-alias ge-0/0/0 eth0\n", XTAP_CFG_RELOADABLE },
	{ "group", BASE, BASE "set services flow-tap interface-group g interface eth0\n", XTAP_CFG_RELOADABLE },
	{ "audit log", BASE, BASE "set services flow-tap audit-log /tmp/a\n", XTAP_CFG_RELOADABLE },
	{ "mode", BASE, BASE "set services flow-tap interface eth0 mode tc\n", XTAP_CFG_DATAPATH },
	{ "interface added", BASE, BASE "set services flow-tap interface eth1\n", XTAP_CFG_DATAPATH },
	{ "inet6 removed", BASE,
	  "set system login class flowtap permissions flow-tap-operation\n"
	  "set system login user ftap uid 2000\n"
	  "set system login user ftap class flowtap\n"
	  "set system login user ftap authentication encrypted-password \"" HASH6 "\"\n"
	  "set system services flow-tap-dtcp ssh\n"
	  "set interfaces vt-4/0/0 unit 0 family inet\n"
	  "set services flow-tap tunnel-interface vt-4/0/0.0\n"
	  "set services flow-tap control-source ftap key \"Juniper\"\n"
	  "set services flow-tap interface eth0\n",
	  XTAP_CFG_DATAPATH },
	{ "vt pair", BASE, BASE "set services flow-tap tunnel-veth a0 peer a1\n", XTAP_CFG_DATAPATH },
	{ "state file", BASE, BASE "set services flow-tap state-file /tmp/s\n", XTAP_CFG_DATAPATH },
	{ "both", BASE, BASE "set services flow-tap interface eth1\n" SSH "rate-limit 9\n",
	  XTAP_CFG_DATAPATH | XTAP_CFG_RELOADABLE },
};

static void run_diff(void)
{
	for (size_t i = 0; i < sizeof(diff_cases) / sizeof(diff_cases[0]); i++) {
		const struct diff_case *t = &diff_cases[i];
		int na = parse(t->a, &cfg);
		if (na)
			dump_errors();
		int nb = parse(t->b, &cfg2);
		if (nb)
			dump_errors();
		int d1 = xtap_config_diff(&cfg, &cfg2), d2 = xtap_config_diff(&cfg2, &cfg);
		if (d1 != t->want || d2 != t->want)
			printf("    diff %d / %d, want %d\n", d1, d2, t->want);
		check(!na && !nb && d1 == t->want && d2 == t->want, t->name, "diff");
		xtap_config_free(&cfg);
		xtap_config_free(&cfg2);
	}
}

/* ---- the DTCP policy helper ------------------------------------------------------------ */

static void run_policy(void)
{
	struct dtcp_source_policy pol;
	int n = parse(BASE "set system login class view permissions flow-tap-operation\n"
			   "set system login user bob class flowtap\n"
			   "set system login user bob authentication encrypted-password " HASH1 "\n"
			   "set services flow-tap allowed-destination 198.51.100.0/24\n"
			   "set services flow-tap allowed-destination-port 7000\n"
			   "set services flow-tap seq-check strict\n" CS "allowed-source-address 192.0.2.1\n" CS
			   "max-criteria 12\n" CS "seq-check off\n",
		      &cfg);
	if (n)
		dump_errors();
	check(n == 0, "policy", "parse");
	check(xtap_config_source_policy(&cfg, "ftap", &pol) == 0 && pol.keylen == 7 && !memcmp(pol.key, "Juniper", 7) &&
		      pol.seq_mode == DTCP_SEQ_OFF && pol.max_criteria == 12 && pol.n_allow_cdest == 1 &&
		      net_is(&pol.allow_cdest[0], "198.51.100.0", 24) && pol.allow_cdest_port &&
		      pol.allow_cdest_port->n == 1 && pol.allow_cdest_port->r[0].lo == 7000 && pol.n_allow_src == 1 &&
		      net_is(&pol.allow_src[0], "192.0.2.1", 32),
	      "policy", "ftap: own src list, global cdest lists, own seq mode");
	/* bob has no key: no DTCP */
	check(xtap_config_source_policy(&cfg, "bob", &pol) == -1, "policy", "no key");
	check(xtap_config_source_policy(&cfg, "nobody", &pol) == -1, "policy", "unknown user");
	xtap_config_free(&cfg);

	n = parse(BASE, &cfg);
	check(n == 0 && xtap_config_source_policy(&cfg, "ftap", &pol) == 0 && pol.seq_mode == DTCP_SEQ_OFF &&
		      pol.max_criteria == 0 && pol.n_allow_cdest == 0 && !pol.allow_cdest && !pol.allow_cdest_port &&
		      pol.n_allow_src == 0,
	      "policy", "defaults allow anything");
	xtap_config_free(&cfg);
}

/* ---- where copies may go: warnings and deny-unlisted-destinations ------------------------ */

static int reply_code;

static void take_code(void *arg, const char *buf, size_t n)
{
	if (sscanf(buf, "DTCP/0.%*d %d", &reply_code) != 1)
		reply_code = -1;
}

/* The code a DTCP server answers to an ADD copying to cd_addr under the
 * policy the configuration gives ftap (-1: no policy). */
static int add_code(const struct xtap_config *c, const char *cd_addr)
{
	static struct memback mb;
	static struct dtcp_msg m;
	static struct dtcp_request r;
	struct dtcp_source_policy pol;
	struct dtcp_server srv;
	struct dtcp_error err;
	char text[512];

	if (xtap_config_source_policy(c, "ftap", &pol))
		return -1;
	int n = snprintf(text, sizeof(text),
			 "ADD DTCP/0.8\r\nCsource-ID: ftap\r\nCdest-ID: cdx\r\n"
			 "X-JTap-Cdest-Dest-Address: %s\r\nX-JTap-Cdest-Dest-Port: 7000\r\n"
			 "Source-Address: 192.0.2.1\r\nFlags: STATIC\r\nSeq: 1\r\n\r\n",
			 cd_addr);
	dtcp_msg_parse(text, (size_t)n, &m);
	if (dtcp_request_parse(&m, &r, &err))
		return err.code;
	memback_init(&mb, NULL);
	dtcp_server_init(&srv, &mb.cfg, &mb.be, &mb);
	reply_code = 0;
	dtcp_server_handle(&srv, &pol, &r, "192.0.2.10", 1714564800000ull, take_code, NULL);
	dtcp_server_free(&srv);
	return reply_code;
}

static const char W_ANY[] = "warning: control source 'ftap' has no allowed-destination: "
			    "copies may go to any address";
static const char W_NONE[] = "warning: control source 'ftap' has no allowed-destination and "
			     "deny-unlisted-destinations is set: every content destination is refused";
#define DENY "set services flow-tap deny-unlisted-destinations\n"

static const struct deny_case {
	const char *name, *extra; /* appended to BASE from line 11 */
	const char *warning; /* the one warning (at ftap's line 9), or NULL: none */
	int code_listed, code_other; /* ADD to 198.51.100.7, to 203.0.113.5 (dtcp.md 4.1) */
} deny_cases[] = {
	{ "default: empty list allows any", "", W_ANY, 200, 200 },
	{ "deny: empty list allows none", DENY, W_NONE, 430, 430 },
	{ "deny twice", DENY DENY, W_NONE, 430, 430 },
	{ "own list", CS "allowed-destination 198.51.100.0/24\n", NULL, 200, 430 },
	{ "deny with own list", DENY CS "allowed-destination 198.51.100.0/24\n", NULL, 200, 430 },
	{ "deny with global list", DENY "set services flow-tap allowed-destination 198.51.100.0/24\n", NULL, 200, 430 },
	{ "global list", "set services flow-tap allowed-destination 198.51.100.0/24\n", NULL, 200, 430 },
};

static void run_deny(void)
{
	static struct xtap_config_errors w;
	char text[4096];

	for (size_t i = 0; i < sizeof(deny_cases) / sizeof(deny_cases[0]); i++) {
		const struct deny_case *t = &deny_cases[i];
		snprintf(text, sizeof(text), "%s%s", BASE, t->extra);
		int n = parse(text, &cfg);
		if (n)
			dump_errors();
		check(n == 0, t->name, "parse");
		int k = xtap_config_warnings(&cfg, &w);
		if (t->warning)
			check(k == 1 && w.kept == 1 && w.e[0].line == 9 && !strcmp(w.e[0].msg, t->warning), t->name,
			      "the warning, at ftap's control-source line");
		else
			check(k == 0 && w.kept == 0, t->name, "no warning");
		int a = add_code(&cfg, "198.51.100.7"), b = add_code(&cfg, "203.0.113.5");
		if (a != t->code_listed || b != t->code_other)
			printf("    got %d %d\n", a, b);
		check(a == t->code_listed && b == t->code_other, t->name, "ADD answers");
		xtap_config_free(&cfg);
	}
	/* switching it is a reload, not a restart */
	parse(BASE, &cfg);
	parse(BASE DENY, &cfg2);
	check(xtap_config_diff(&cfg, &cfg2) == XTAP_CFG_RELOADABLE, "deny diff", "reloadable");
	xtap_config_free(&cfg);
	xtap_config_free(&cfg2);
	/* a word after it */
	check(parse(BASE "set services flow-tap deny-unlisted-destinations yes\n", &cfg) == 1 && errs.e[0].line == 11,
	      "deny extra word", "refused at its line");
	xtap_config_free(&cfg);
}

/* ---- the example configuration ---------------------------------------------------------- */

static void run_example(const char *path)
{
	struct dtcp_source_policy pol;
	struct dtcp_name nm;
	int n = xtap_config_load(path, &cfg, &errs);

	if (n)
		xtap_config_report(path, &errs, stdout);
	check(n == 0, "example", "parses with zero errors");
	check(chk_ftl(&cfg) || (n == 0 && cfg.n_attach == 3 && cfg.ipv6 && !strcmp(cfg.tunnel_if, "vt-4/0/0.0")),
	      "example", "datapath");
	check(n == 0 && xtap_config_source_policy(&cfg, "ftap", &pol) == 0 && pol.keylen == 7 &&
		      !memcmp(pol.key, "Juniper", 7) && pol.max_criteria == 1000 && ftap(&cfg)->n_ssh_keys == 1 &&
		      cfg.n_cdests == 2 && xtap_config_resolve_ifname(&cfg, "ge-2/0/1", &nm) == 0 &&
		      !strcmp(nm.s, "eth1"),
	      "example", "fields");
	xtap_config_free(&cfg);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_config examples/xtapd.conf\n");
		return 2;
	}
	run_accept();
	run_quote_fields();
	run_errors();
	run_secrets();
	run_limits();
	run_diff();
	run_policy();
	run_deny();
	run_example(argv[1]);
	return check_summary(NULL);
}
