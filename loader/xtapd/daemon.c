// SPDX-License-Identifier: BSD-2-Clause
/* xtapd's start and its SIGHUP reload (daemon.h). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <libssh/libssh.h>

#include "audit.h"
#include "clock.h"
#include "daemon.h"
#include "log.h"

int mkparent(const char *path)
{
	char dir[512];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	return 0;
}

/* ---- the datapath ---- */

/* An interface group is a VRF stand-in: one group bit per configured group;
 * an interface is its ifindex now (a kernel fact, never persisted). */
int xtapd_scope_key(const struct xtap_config *cfg, int scope, const char *name, uint64_t *key)
{
	if (scope == DTCP_SCOPE_VRF) {
		const struct xtap_cfg_group *g = xtap_config_group(cfg, name);

		*key = g && g - cfg->groups < 64 ? 1ull << (g - cfg->groups) : 0;
	} else {
		*key = if_nametoindex(name);
	}
	return *key ? 0 : -1;
}

static uint64_t groups_of(const struct xtap_config *cfg, const char *netdev)
{
	uint64_t g = 0;

	for (size_t i = 0; i < cfg->n_groups && i < 64; i++)
		for (size_t k = 0; k < cfg->groups[i].n; k++)
			if (!strcmp(cfg->groups[i].member[k].netdev, netdev))
				g |= 1ull << i;
	return g;
}

int xtapd_datapath_up(struct xtap_dp *dp, struct xtap_cls **cls, const struct xtap_config *cfg, const char *pin_dir,
		      uint32_t slots)
{
	struct xtap_dp_opts o = { .pin_dir = pin_dir,
				  .vt_name = cfg->vt_name,
				  .vt_peer = cfg->vt_peer,
				  .ipv6 = cfg->ipv6,
				  .max_criteria = slots };
	uint32_t max_sets;
	int err;

	if ((err = xtap_dp_open(dp, &o))) {
		log_warnx("datapath: %s", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < cfg->n_attach; i++)
		if ((err = xtap_dp_attach(dp, cfg->attach[i].netdev, cfg->attach[i].mode)))
			return err;
	if ((err = xtap_dp_sets_max(dp, &max_sets)))
		return err;
	*cls = xtap_cls_new(&dp->maps, dp->max_criteria, max_sets);
	if (!*cls)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_attach; i++) {
		uint32_t ifindex = if_nametoindex(cfg->attach[i].netdev);

		if ((err = xtap_cls_iface_add(*cls, ifindex, groups_of(cfg, cfg->attach[i].netdev))))
			return err;
	}
	return 0;
}

/* ---- the SSH worker's settings ---- */

/* Created 0600 from the first byte: written to a temporary name under a
 * umask of 077 (libssh opens with fopen), then renamed into place, so the
 * key never exists with the umask's mode nor half written. */
static int host_key(const char *path)
{
	char tmp[XTAP_CFG_PATH_MAX + 16];
	ssh_key key = NULL;
	mode_t old;
	int rc;

	if (!access(path, F_OK))
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return -1;
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
		log_warnx("cannot generate the host key");
		return -1;
	}
	unlink(tmp); /* a leftover of an interrupted start */
	old = umask(077);
	rc = ssh_pki_export_privkey_file(key, NULL, NULL, NULL, tmp);
	umask(old);
	ssh_key_free(key);
	if (rc != SSH_OK || chmod(tmp, 0600) || rename(tmp, path)) {
		log_warnx("cannot write the host key %s", path);
		unlink(tmp);
		return -1;
	}
	log_info("generated the SSH host key %s", path);
	return 0;
}

int xtapd_worker_setup(struct xtap_worker_opts *o, const struct xtap_config *cfg, const char *user, int verbose)
{
	static char listen[64];

	xtap_worker_opts_default(o);
	listen[0] = 0;
	if (cfg->listen_addr.family)
		inet_ntop(cfg->listen_addr.family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, cfg->listen_addr.a, listen,
			  sizeof(listen));
	o->listen_addr = listen[0] ? listen : NULL;
	o->port = cfg->listen_port;
	o->hostkey = cfg->n_host_keys ? cfg->host_keys[0] : DEFAULT_HOST_KEY;
	o->user = user;
	o->max_sessions = cfg->connection_limit;
	o->rate_per_min = cfg->rate_limit;
	/* a per-source limit above the global one is the global one */
	o->src_sessions = cfg->source_connection_limit < o->max_sessions ? cfg->source_connection_limit :
									   o->max_sessions;
	o->src_rate = cfg->source_rate_limit < o->rate_per_min ? cfg->source_rate_limit : o->rate_per_min;
	o->idle_secs = cfg->idle_timeout;
	o->log_level = verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	return host_key(o->hostkey);
}

/* ---- SIGHUP: reload what needs no datapath change ---- */

/* Group bits are in the datapath (each interface's mask, each VRF-scoped
 * rule), numbered by the order of the groups: a change there is a restart. */
static int groups_same(const struct xtap_config *a, const struct xtap_config *b)
{
	if (a->n_groups != b->n_groups)
		return 0;
	for (size_t i = 0; i < a->n_groups; i++) {
		if (strcmp(a->groups[i].name, b->groups[i].name) || a->groups[i].n != b->groups[i].n)
			return 0;
		for (size_t k = 0; k < a->groups[i].n; k++)
			if (strcmp(a->groups[i].member[k].netdev, b->groups[i].member[k].netdev))
				return 0;
	}
	return 1;
}

/* What the SSH worker was given when it was forked: it keeps the old values. */
static int worker_settings_same(const struct xtap_config *a, const struct xtap_config *b)
{
	return a->connection_limit == b->connection_limit && a->rate_limit == b->rate_limit &&
		a->source_connection_limit == b->source_connection_limit &&
		a->source_rate_limit == b->source_rate_limit && a->idle_timeout == b->idle_timeout &&
		a->listen_port == b->listen_port && !memcmp(&a->listen_addr, &b->listen_addr, sizeof(a->listen_addr)) &&
		a->n_host_keys == b->n_host_keys && !memcmp(a->host_keys, b->host_keys, sizeof(a->host_keys));
}

static int addr_same(const struct dtcp_addr *a, const struct dtcp_addr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* A refused reload still reopens the running audit log: logrotate's SIGHUP
 * must not leave xtapd appending to the rotated file. */
static void reload_refused(const struct xtap_config *cur, struct xtap_audit **audit, const char *detail)
{
	const char *path = cur->audit_log[0] ? cur->audit_log : DEFAULT_AUDIT;
	struct xtap_audit *a;

	log_warnx("SIGHUP: the running configuration is unchanged");
	if (mkparent(path) || !(a = xtap_audit_open(path))) {
		log_warn("SIGHUP: cannot reopen the audit log %s: appending to the old file", path);
	} else {
		xtap_audit_close(*audit);
		*audit = a;
	}
	xtap_audit_event(*audit, wall_ms(), XTAP_EV_RELOAD, detail);
}

struct xtap_config *xtapd_reload_read(const char *cfg_path, const struct xtap_config *cur, struct xtap_audit **audit,
				      int *diff)
{
	struct xtap_config *c = calloc(1, sizeof(*c));
	struct xtap_config_errors *errs = calloc(1, sizeof(*errs));
	const char *audit_path;
	struct xtap_audit *a;

	if (!c || !errs) {
		log_warnx("SIGHUP: no memory to read %s", cfg_path);
		reload_refused(cur, audit, "refused");
		goto refused;
	}
	if (xtap_config_load(cfg_path, c, errs)) {
		/* error messages name statements, never secrets (config.h) */
		for (int i = 0; i < errs->kept; i++)
			log_warnx("%s:%d: %s", cfg_path, errs->e[i].line, errs->e[i].msg);
		log_warnx("SIGHUP: %d errors in %s", errs->n, cfg_path);
		reload_refused(cur, audit, "refused");
		goto refused;
	}
	*diff = xtap_config_diff(cur, c);
	if ((*diff & XTAP_CFG_DATAPATH) || !groups_same(cur, c)) {
		log_warnx("SIGHUP: %s changes the datapath (attached interfaces, modes, tunnel, vt pair, "
			  "IPv6, interface groups or state file): restart xtapd to apply it",
			  cfg_path);
		reload_refused(cur, audit, "refused: restart needed");
		goto refused;
	}
	/* the audit log is opened anew on every reload (log rotation) */
	audit_path = c->audit_log[0] ? c->audit_log : DEFAULT_AUDIT;
	if (mkparent(audit_path) || !(a = xtap_audit_open(audit_path))) {
		log_warn("SIGHUP: cannot open the audit log %s", audit_path);
		reload_refused(cur, audit, "refused");
		goto refused;
	}
	if (!worker_settings_same(cur, c))
		log_warnx("SIGHUP: the SSH listener, host keys, connection and rate limits and idle timeout "
			  "apply only after a restart of xtapd");
	if (!addr_same(&cur->metrics_addr, &c->metrics_addr) || cur->metrics_port != c->metrics_port)
		log_warnx("SIGHUP: the metrics listener applies only after a restart of xtapd");
	if (cur->x1_enabled != c->x1_enabled || !addr_same(&cur->x1_addr, &c->x1_addr) || cur->x1_port != c->x1_port ||
	    strcmp(cur->x1_cert, c->x1_cert) || strcmp(cur->x1_key, c->x1_key) || strcmp(cur->x1_ca, c->x1_ca) ||
	    strcmp(cur->x1_ne, c->x1_ne) || cur->x1_keepalive != c->x1_keepalive ||
	    cur->x1_keepalive_policy != c->x1_keepalive_policy)
		log_warnx("SIGHUP: the X1 server applies only after a restart of xtapd");
	xtap_audit_close(*audit);
	*audit = a; /* the DTCP library's audit callbacks read it */
	free(errs);
	return c;
refused:
	if (c) {
		xtap_config_free(c);
		free(c);
	}
	free(errs);
	return NULL;
}
