/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xtapd's configuration (docs/configuration.md): Junos-style `set` statements,
 * so that a FlowTapLite router's flow-tap configuration reads the same here,
 * extended by xtap's own statements in the same tree.
 *
 * One table of statement patterns drives the parser (loader/config/config.c); the
 * result is a struct xtap_config with fixed-size tables whose bounds are
 * named below. Secrets (password hashes, DTCP keys) never appear in an error
 * message; the message names the statement instead.
 */
#ifndef XTAP_CONFIG_H
#define XTAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dtcp.h"
#include "attach.h"

#define XTAP_CONFIG_PATH "/etc/xtap/xtapd.conf"

/* ---- bounds --------------------------------------------------------------- */

#define XTAP_CFG_FILE_MAX (4u << 20) /* bytes read from a file: far above any real config */
#define XTAP_CFG_LINE_MAX 16384 /* bytes per line: an ssh-rsa 16384-bit key line fits */
#define XTAP_CFG_WORDS_MAX 24 /* words per statement; the longest pattern has 9 */
#define XTAP_CFG_NAME_MAX \
	DTCP_NAME_MAX /* user, class, cdest, group names incl. NUL:
					      * they travel in DTCP headers */
#define XTAP_CFG_IFNAME_MAX 16 /* Linux netdev name incl. NUL (IFNAMSIZ) */
#define XTAP_CFG_JUNOS_IF_MAX 64 /* Junos interface name ("ge-2/0/1.0") incl. NUL */
#define XTAP_CFG_PATH_MAX 256 /* file paths incl. NUL */
#define XTAP_CFG_HASH_MAX 256 /* crypt(3) hash incl. NUL; yescrypt/SHA-512 are ~110 */
#define XTAP_CFG_KEY_MAX 256 /* DTCP shared secret bytes (HMAC key) */
#define XTAP_CFG_USERS_MAX 32 /* login users (control sources are users) */
#define XTAP_CFG_CLASSES_MAX 16 /* login classes */
#define XTAP_CFG_SSH_KEYS_MAX 8 /* public keys per user */
#define XTAP_CFG_NETS_MAX 32 /* allowed prefixes per list (per user or global) */
#define XTAP_CFG_JIFS_MAX 16 /* `set interfaces` units (vt interfaces) */
#define XTAP_CFG_ATTACH_MAX 64 /* netdevs xtap attaches to */
#define XTAP_CFG_ALIASES_MAX 64 /* Junos name -> netdev aliases */
#define XTAP_CFG_GROUPS_MAX 32 /* interface groups (X-JTap-VRF-Name) */
#define XTAP_CFG_GROUP_IFS_MAX 16 /* members per group */
#define XTAP_CFG_CDESTS_MAX 64 /* named content destinations */
#define XTAP_CFG_HOST_KEYS_MAX 4 /* SSH host keys: one per algorithm is plenty */
#define XTAP_CFG_ERRS_MAX 100 /* errors kept with their text; all are counted */
#define XTAP_CFG_MSG_MAX 240 /* one error message incl. NUL */

/* ---- defaults (Junos where Junos has one, else docs/dtcp.md) ------------------ */

#define XTAP_CFG_DEF_CONN_LIMIT 75 /* flow-tap-dtcp ssh connection-limit */
#define XTAP_CFG_DEF_RATE_LIMIT 150 /* flow-tap-dtcp ssh rate-limit, per minute */
/* flow-tap-dtcp ssh per-source connection-limit / rate-limit: half the
 * global defaults, so that one address cannot take every slot */
#define XTAP_CFG_DEF_SRC_CONN_LIMIT 37
#define XTAP_CFG_DEF_SRC_RATE_LIMIT 75
#define XTAP_CFG_DEF_PORT 32001 /* dtcp.md 1 */
#define XTAP_CFG_DEF_IDLE_TIMEOUT 1800 /* seconds without a byte before a session ends */
#define XTAP_CFG_DEF_MSG_SIZE DTCP_MSG_MAX
#define XTAP_CFG_DEF_HOST_KEY "/etc/xtap/ssh_host_ed25519_key"
#define XTAP_CFG_DEF_STATE "/var/lib/xtap/state"
#define XTAP_CFG_DEF_AUDIT "/var/log/xtap/audit.log"
#define XTAP_CFG_DEF_VT "vt0"
#define XTAP_CFG_DEF_VT_PEER "vt1"
#define XTAP_CFG_DEF_TTL 255 /* dtcp.md 4.1 */
#define XTAP_CFG_DEF_X1_PORT 443 /* TS 103 221-1 clause 7: HTTPS */
/* X1 delivery slots over X3: one delivery process each (docs/x1.md), so a
 * bound the host's memory can take (a process holds its 4 MiB buffer and
 * an 8 MiB ring) */
#define XTAP_CFG_X1_SLOTS_MAX 64
#define XTAP_CFG_X1_ADMFS_MAX 16 /* ADMFs with an address for issue reports */
#define XTAP_CFG_DEF_X1_X3_PORT_BASE 47000
/* neIdentifier incl. NUL: x1.h's X1_ID_MAX (the ADMF names "X1/<admf>", a
 * DTCP_NAME_MAX control source name; the NE is held to the same bound) */
#define XTAP_CFG_X1_ID_MAX (DTCP_NAME_MAX - 3)
/* An ADMF the NE reports issues to (ReportDestinationIssue, ReportTaskIssue:
 * docs/x1.md "Issue reports"), over HTTPS with the NE's certificate. */
struct xtap_cfg_x1_admf {
	char name[XTAP_CFG_X1_ID_MAX]; /* its admfIdentifier (its certificate's CN) */
	struct dtcp_addr addr;
	uint16_t port; /* default 443 */
	int line;
};
#define XTAP_CFG_X1_KA_DEACTIVATE 0 /* x1.h X1_KA_DEACTIVATE */
#define XTAP_CFG_X1_KA_KEEP 1 /* x1.h X1_KA_KEEP */

/* ---- the configuration ------------------------------------------------------ */

/* `line` fields: the line of the statement that set the value (0: default).
 * They are for messages only and never take part in xtap_config_diff. */

struct xtap_cfg_class {
	char name[XTAP_CFG_NAME_MAX];
	bool flow_tap_operation; /* permissions flow-tap-operation: may use DTCP */
	int line;
};

enum xtap_ssh_key_type { XTAP_SSH_ED25519 = 1, XTAP_SSH_RSA, XTAP_SSH_ECDSA };

struct xtap_cfg_ssh_key {
	enum xtap_ssh_key_type type; /* the statement (ssh-ed25519, ssh-rsa, ssh-ecdsa) */
	char *text; /* "ssh-ed25519 AAAA... comment", heap, freed by
					* xtap_config_free */
	int line;
};

/* Allow lists and limits of docs/dtcp.md 3.4: per control source, and globally
 * (the global lists apply to a user that has no list of its own). */
struct xtap_cfg_policy {
	size_t n_allow_cdest;
	struct dtcp_net allow_cdest[XTAP_CFG_NETS_MAX]; /* allowed-destination */
	bool has_allow_cdest_port;
	struct dtcp_range_set allow_cdest_port; /* allowed-destination-port */
	size_t n_allow_src;
	struct dtcp_net allow_src[XTAP_CFG_NETS_MAX]; /* allowed-source-address */
	uint32_t max_criteria; /* user: 0 = only the global limit;
					* global: total (default DTCP_MAX_CRITERIA_DEFAULT) */
	bool has_seq_mode;
	enum dtcp_seq_mode seq_mode; /* global default off; a user's overrides it */
	/* The drafts' stricter readings (dtcp.md 4.1, 4.2); global default off,
	 * a user's setting overrides it. Index: enum xtap_cfg_strict. */
	bool has_strict[3];
	bool strict[3];
};
enum xtap_cfg_strict {
	XTAP_STRICT_NO_LIFETIME, /* no-lifetime = refuse */
	XTAP_STRICT_CDEST_WHOLE, /* cdest-merge = off */
	XTAP_STRICT_DELETE_STATIC, /* delete-static = with-flag */
};

struct xtap_cfg_user {
	char name[XTAP_CFG_NAME_MAX]; /* SSH login name = DTCP Csource-ID */
	bool login; /* declared under `system login user` */
	int line; /* first statement naming the user */
	bool has_uid;
	uint32_t uid;
	char class_name[XTAP_CFG_NAME_MAX];
	int class_line;
	char password_hash[XTAP_CFG_HASH_MAX]; /* crypt(3); "" when none. Secret. */
	size_t n_ssh_keys;
	struct xtap_cfg_ssh_key ssh_keys[XTAP_CFG_SSH_KEYS_MAX];
	/* services flow-tap control-source NAME ... */
	bool csource; /* some control-source statement names the user */
	int csource_line;
	uint8_t key[XTAP_CFG_KEY_MAX]; /* DTCP HMAC shared secret. Secret. */
	size_t keylen; /* 0: no key, the user cannot use DTCP */
	struct xtap_cfg_policy pol;
};

/* `set interfaces vt-X unit N family inet|inet6` */
struct xtap_cfg_jif {
	char name[XTAP_CFG_JUNOS_IF_MAX];
	uint32_t unit;
	bool inet, inet6;
	int line;
};

struct xtap_cfg_attach {
	char netdev[XTAP_CFG_IFNAME_MAX];
	enum xtap_attach_mode mode;
	int line;
};

struct xtap_cfg_alias {
	char junos[XTAP_CFG_JUNOS_IF_MAX]; /* name a mediation device sends ("ge-2/0/1") */
	char netdev[XTAP_CFG_IFNAME_MAX];
	int line;
};

struct xtap_cfg_group {
	char name[XTAP_CFG_NAME_MAX]; /* usable as X-JTap-VRF-Name */
	size_t n;
	struct {
		char netdev[XTAP_CFG_IFNAME_MAX];
		int line;
	} member[XTAP_CFG_GROUP_IFS_MAX];
	int line;
};

/* ETSI X3 delivery of a content destination (docs/x3.md): the copies the
 * datapath sends to the destination's address and port are taken there by
 * the delivery process xtap-x3 and forwarded as TS 103 221-2 PDUs over TLS. */
#define XTAP_CFG_X3_TARGETS_MAX 8
#define XTAP_CFG_X3_BUFFER_DEF (4u << 20) /* bytes of PDUs held while the receiver is away */
#define XTAP_CFG_X3_BUFFER_MIN (64u << 10) /* room for a few largest PDUs */
#define XTAP_CFG_X3_BUFFER_MAX (1u << 30) /* a bound on what one destination may pin */
struct xtap_cfg_x3 {
	bool on; /* any x3 statement given */
	struct dtcp_addr addr; /* the receiver */
	bool has_port;
	uint16_t port;
	char cert[XTAP_CFG_PATH_MAX]; /* the sensor's client certificate (PEM) */
	char key[XTAP_CFG_PATH_MAX]; /* its private key (PEM) */
	char ca[XTAP_CFG_PATH_MAX]; /* the CA that signs the receiver */
	bool has_xid;
	uint8_t xid[16];
	uint64_t correlation; /* 0: not correlated */
	size_t n_targets; /* where the target is, for the direction */
	struct dtcp_net targets[XTAP_CFG_X3_TARGETS_MAX];
	uint32_t buffer; /* bytes */
	int line;
};

struct xtap_cfg_cdest {
	char name[XTAP_CFG_NAME_MAX]; /* a Cdest-ID an ADD may use without parameters */
	struct dtcp_addr dst, src; /* family NONE: not given (dst is required) */
	bool has_port;
	uint16_t dst_port, src_port; /* src_port 0: not given */
	uint8_t ttl; /* default 255 */
	bool has_intercept;
	uint64_t intercept_id; /* selects JMirror delivery */
	struct xtap_cfg_x3 x3;
	int line;
};

struct xtap_config {
	/* system login */
	size_t n_classes;
	struct xtap_cfg_class classes[XTAP_CFG_CLASSES_MAX];
	size_t n_users;
	struct xtap_cfg_user users[XTAP_CFG_USERS_MAX];

	/* system services flow-tap-dtcp ssh */
	bool dtcp_enabled;
	int dtcp_line;
	uint32_t connection_limit; /* concurrent sessions */
	uint32_t rate_limit; /* new connections per minute */
	uint32_t source_connection_limit; /* concurrent connections from one address */
	uint32_t source_rate_limit; /* new connections per minute from one address */
	struct dtcp_addr listen_addr; /* family NONE: every address */
	uint16_t listen_port;
	/* the metrics listener (HTTP, an unprivileged process): on when both
	 * are set */
	struct dtcp_addr metrics_addr;
	uint16_t metrics_port;
	int metrics_addr_line, metrics_port_line;
	size_t n_host_keys; /* 0: the default path */
	char host_keys[XTAP_CFG_HOST_KEYS_MAX][XTAP_CFG_PATH_MAX];
	uint32_t idle_timeout; /* seconds; 0: never */
	uint32_t max_message_size; /* bytes, at most DTCP_MSG_MAX */

	/* services x1: the ETSI X1 network-element interface (docs/x1.md) */
	bool x1_enabled; /* any services x1 statement given */
	int x1_line; /* the first one */
	struct dtcp_addr x1_addr; /* family NONE: every address */
	uint16_t x1_port;
	char x1_cert[XTAP_CFG_PATH_MAX]; /* the NE's certificate chain (PEM) */
	char x1_key[XTAP_CFG_PATH_MAX]; /* its private key (PEM) */
	char x1_ca[XTAP_CFG_PATH_MAX]; /* the CA that signs ADMF certificates */
	char x1_ne[XTAP_CFG_X1_ID_MAX]; /* neIdentifier */
	uint32_t x1_keepalive; /* seconds without a message: the ADMF is lost; 0: no policy */
	uint8_t x1_keepalive_policy; /* XTAP_CFG_X1_KA_* */
	/* X1 destinations delivered over X3 (docs/x1.md "Delivery over X3"):
	 * each (ADMF, task, destination) gets a port of x1_x3_local from
	 * x1_x3_port_base on, where its copies come in through vt1 for its
	 * delivery process; family NONE: X1 destinations get IP/UDP copies */
	struct dtcp_addr x1_x3_local;
	uint16_t x1_x3_port_base;
	int x1_x3_line; /* the first x3-* statement */
	char x1_x3_cert[XTAP_CFG_PATH_MAX]; /* the sensor's client certificate toward X3 receivers */
	char x1_x3_key[XTAP_CFG_PATH_MAX];
	char x1_x3_ca[XTAP_CFG_PATH_MAX]; /* the CA that signs the X3 receivers */
	size_t n_x1_admfs;
	struct xtap_cfg_x1_admf x1_admfs[XTAP_CFG_X1_ADMFS_MAX];

	/* interfaces and the tunnel (datapath) */
	size_t n_jifs;
	struct xtap_cfg_jif jifs[XTAP_CFG_JIFS_MAX];
	char tunnel_if[XTAP_CFG_JUNOS_IF_MAX]; /* "vt-4/0/0.0"; "" when not set */
	int tunnel_line;
	bool ipv6; /* family inet6 on the tunnel unit */
	char vt_name[XTAP_CFG_IFNAME_MAX], vt_peer[XTAP_CFG_IFNAME_MAX];
	size_t n_attach;
	struct xtap_cfg_attach attach[XTAP_CFG_ATTACH_MAX];

	/* name resolution for DTCP requests */
	size_t n_aliases;
	struct xtap_cfg_alias aliases[XTAP_CFG_ALIASES_MAX];
	size_t n_groups;
	struct xtap_cfg_group groups[XTAP_CFG_GROUPS_MAX];
	size_t n_cdests;
	struct xtap_cfg_cdest cdests[XTAP_CFG_CDESTS_MAX];

	/* services flow-tap globals */
	struct xtap_cfg_policy global;
	/* deny-unlisted-destinations: an empty allowed-destination list (the
	 * user's and the global one) allows no destination instead of any */
	bool deny_unlisted_cdest;
	int deny_unlisted_line;
	uint8_t max_cdests; /* per criterion, default DTCP_CDESTS_DEFAULT */
	char state_file[XTAP_CFG_PATH_MAX];
	char audit_log[XTAP_CFG_PATH_MAX];
};

struct xtap_config_error {
	int line; /* 0: not about one line (the file itself) */
	char msg[XTAP_CFG_MSG_MAX];
};

struct xtap_config_errors {
	int n; /* every error found */
	int kept; /* the first XTAP_CFG_ERRS_MAX, with text */
	struct xtap_config_error e[XTAP_CFG_ERRS_MAX];
};

/* ---- API ------------------------------------------------------------------------- */

/* Parse a file (xtap_config_load) or a buffer (xtap_config_parse_buf) into c,
 * which is overwritten (defaults first). Every error is collected with its
 * line; parsing goes on after an error. Returns the number of errors (0: c is
 * ready to use). errs may be NULL. c must be freed with xtap_config_free even
 * when errors were found. struct xtap_config is large (~200 KiB): allocate it. */
int xtap_config_load(const char *path, struct xtap_config *c, struct xtap_config_errors *errs);
int xtap_config_parse_buf(const char *text, size_t n, struct xtap_config *c, struct xtap_config_errors *errs);
/* Prints the errors as "path:line: message" (xtapd -n, xtap-config-check). */
void xtap_config_report(const char *path, const struct xtap_config_errors *errs, FILE *out);
/* What a valid configuration allows but an operator should know, as
 * "warning: ..." messages in w (printed by xtap_config_report): a control
 * source without allowed-destination (copies may go anywhere, or with
 * deny-unlisted-destinations nowhere). Returns how many. */
int xtap_config_warnings(const struct xtap_config *c, struct xtap_config_errors *w);
/* Frees what c holds and wipes the secrets; c can be parsed into again. */
void xtap_config_free(struct xtap_config *c);

/* What differs between two loaded configurations: 0, or a mix of these. */
#define XTAP_CFG_DATAPATH \
	1 /* needs a restart: interfaces, modes, tunnel, families,
				* vt pair, state file */
#define XTAP_CFG_RELOADABLE \
	2 /* SIGHUP applies it: users, keys, limits, cdests,
				* policies, aliases, groups, DTCP listener, audit log */
int xtap_config_diff(const struct xtap_config *a, const struct xtap_config *b);

/* The DTCP policy of control source `user`: 0 and *out filled (pointing into
 * c, valid as long as c), or -1 when the user may not use DTCP (unknown, its
 * class lacks flow-tap-operation, or it has no key). */
int xtap_config_source_policy(const struct xtap_config *c, const char *user, struct dtcp_source_policy *out);

/* Lookups for struct dtcp_config: 0 (found) or -1. */
const struct xtap_cfg_user *xtap_config_user(const struct xtap_config *c, const char *name);
/* An alias, or an attached netdev's own name, to the netdev name. */
int xtap_config_resolve_ifname(const struct xtap_config *c, const char *name, struct dtcp_name *out);
const struct xtap_cfg_group *xtap_config_group(const struct xtap_config *c, const char *name);
/* cdest: 0, DTCP_CDEST_FIXED for an X3 destination (its address is not the ADD's), or -1 */
int xtap_config_cdest(const struct xtap_config *c, const char *name, struct dtcp_cdest *out);
/* 0 and the XID for an X3 destination of that name, else -1 */
int xtap_config_cdest_xid(const struct xtap_config *c, const char *name, uint8_t xid[16]);

const char *xtap_attach_mode_name(enum xtap_attach_mode m);

/* The grammar's statement patterns, the words after `set` (`$name` a value,
 * `!` a secret, `=` before a single value): i from 0, NULL past the last.
 * For the test that keeps xtapd.conf(5) in step with the parser. */
const char *xtap_config_statement(size_t i);

#endif
