/* SPDX-License-Identifier: BSD-2-Clause */
/* xtapd's start and reload, apart from its main loop: the datapath brought
 * up from the configuration (load or adopt, attach, the interfaces' group
 * bits), the SSH worker's settings and host key, folders for the state,
 * audit and control files, and the SIGHUP path: a new configuration is
 * read and checked against the running one, and applied only where that
 * needs no datapath change (docs/xtapctl.md "Reload"). */
#ifndef XTAP_DAEMON_H
#define XTAP_DAEMON_H

#include <stdint.h>

#include "classifier.h"
#include "config.h"
#include "datapath.h"
#include "worker.h"

struct xtap_audit;

#define DEFAULT_HOST_KEY "/etc/xtap/ssh_host_ed25519_key"
#define DEFAULT_AUDIT "/var/log/xtap/audit.log"

/* Creates path's folder (0700) if missing: 0, or -1 (errno). */
int mkparent(const char *path);
/* The datapath for cfg: opened or adopted with pins in pin_dir, slots
 * criteria slots if it creates the maps (0: the default), cfg's interfaces
 * attached, *cls the classifier over its maps. 0 or -errno. */
int xtapd_datapath_up(struct xtap_dp *dp, struct xtap_cls **cls, const struct xtap_config *cfg, const char *pin_dir,
		      uint32_t slots);
/* A scope name's datapath handle (dtcp_config.scope_key): a group's bit
 * in cfg, a netdev's ifindex. 0, or -1 when there is none now. */
int xtapd_scope_key(const struct xtap_config *cfg, int scope, const char *name, uint64_t *key);
/* What every start of the worker is given: the listener, the host key's
 * path (the key created if missing), the user, limits. Nothing secret
 * (supervise.h). 0, or -1 when the host key cannot be made. */
int xtapd_worker_setup(struct xtap_worker_opts *o, const struct xtap_config *cfg, const char *user, int verbose);
/* SIGHUP: reads cfg_path and checks it against cur. *audit is reopened
 * either way (log rotation). Returns the configuration to apply (*diff:
 * xtap_config_diff's bits), or NULL: refused, logged and audited. */
struct xtap_config *xtapd_reload_read(const char *cfg_path, const struct xtap_config *cur, struct xtap_audit **audit,
				      int *diff);

#endif
