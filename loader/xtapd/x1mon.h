/* SPDX-License-Identifier: BSD-2-Clause */
/* The monitor's side of X1 (docs/x1.md "In xtapd"): the X1 front end
 * (loader/x1/x1worker.c) exec'd from a fresh image and supervised like the
 * SSH worker (supervise.h), its typed containers decoded
 * (x1_wire_container_decode) and handled by an X1 store whose criteria go
 * into xtapd's own DTCP server and datapath: one table, one id counter, the
 * same state file. */
#ifndef XTAP_X1MON_H
#define XTAP_X1MON_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "config.h"
#include "dtcp.h"
#include "persist.h"
#include "supervise.h"
#include "x1.h"

struct xtap_audit;
struct xtap_x3sup;

/* An X3 delivery slot (docs/x1.md "Delivery over X3"): the copies of one
 * ADMF's task (XID) to one of its destinations (DID) come in through vt1 to
 * the port x3_base + its index of the sensor's x3_local address, where the
 * slot's delivery process takes them, frames them with the XID and sends
 * them over TLS to the destination's deliveryAddress. */
struct xtap_x1slot {
	bool used;
	char admf[X1_ID_MAX];
	struct x1_uuid xid, did;
};

/* What one ADMF was told of one of its destinations (docs/x1.md "Issue
 * reports"). */
struct xtap_x1rep {
	bool used;
	char admf[X1_ID_MAX];
	struct x1_uuid did;
	bool fault; /* as last told: false is nothing told yet, or AllClear */
	bool sending; /* the value the report in flight carries */
	pid_t pid; /* the report process; 0: none */
	uint64_t retry_ms; /* after a report that did not get through */
};
#define XTAP_X1REP_RETRY_MS 10000

struct xtap_x1mon {
	bool on; /* services x1 configured */
	struct xtap_sup sup; /* the X1 worker: start, restart with backoff, send queue */
	struct x1_store store;
	struct x1_store_ops ops;
	struct dtcp_server *srv;
	struct xtap_backend *be;
	struct xtap_persist *ps;
	struct xtap_audit **audit;
	char *argv[16]; /* the worker's command line (paths, user, NE: nothing secret) */
	uint8_t *rx; /* one X1MON_REQUEST */
	struct x1_container *c;
	uint64_t requests; /* containers handled */
	uint64_t refused; /* worker messages refused (the worker is killed) */
	uint64_t refused_changes; /* messages answered Generic*Failure: state not saved */
	uint64_t last_sweep_ms, last_report_ms;
	/* X3 delivery of TCPPort destinations (services x1 x3-*); off: every
	 * X1 destination gets IP/UDP copies */
	bool x3_on;
	struct dtcp_addr x3_local;
	uint16_t x3_base;
	char x3_cert[XTAP_CFG_PATH_MAX], x3_key[XTAP_CFG_PATH_MAX], x3_ca[XTAP_CFG_PATH_MAX];
	struct xtap_x1slot slot[XTAP_CFG_X1_SLOTS_MAX];
	struct xtap_x3sup *x3; /* the delivery processes (NULL until xtap_x1mon_x3) */
	/* the daemon's rule for where X3 delivery processes take their copies
	 * (xtapd.c cb_cdest_reserved): an IP/UDP destination there is refused */
	int (*reserved)(void *ctx, const struct dtcp_cdest *cd);
	void *reserved_ctx;
	size_t n_admfs; /* the ADMFs with a report address */
	struct {
		char name[X1_ID_MAX];
		char addr[64], port[8];
	} admf[XTAP_CFG_X1_ADMFS_MAX];
	struct xtap_x1rep rep[XTAP_CFG_X1_SLOTS_MAX];
	char user[64]; /* the report processes drop to it */
	uint64_t reports_sent, reports_failed;
	/* the worker's command line's strings: its own, a reload frees the
	 * configuration */
	char cert[XTAP_CFG_PATH_MAX], key[XTAP_CFG_PATH_MAX], ca[XTAP_CFG_PATH_MAX], ne[XTAP_CFG_X1_ID_MAX];
};

/* Everything but the worker: the store over srv / be / ps. 0 or -1. */
int xtap_x1mon_init(struct xtap_x1mon *m, const struct xtap_config *cfg, const char *user, struct dtcp_server *srv,
		    struct xtap_backend *be, struct xtap_persist *ps, struct xtap_audit **audit);
/* The X3 delivery processes: the slots the restored criteria use are
 * started (after xtap_x3sup_init), and every change after is handed on. */
void xtap_x1mon_x3(struct xtap_x1mon *m, struct xtap_x3sup *x3, uint64_t now_ms);
/* Opens the listener and starts the worker (the first start must work). */
int xtap_x1mon_start(struct xtap_x1mon *m, uint64_t now_ms);
/* The worker's socket for poll (fd -1 when none). */
void xtap_x1mon_poll_set(const struct xtap_x1mon *m, struct pollfd *p);
/* What poll reported on it: containers handled and answered. */
void xtap_x1mon_on_poll(struct xtap_x1mon *m, const struct pollfd *p);
/* Every turn: reaped, killed when stalled, restarted when due; once a
 * second the keepalive policy. */
void xtap_x1mon_timers(struct xtap_x1mon *m, uint64_t now_ms);
/* ms until a due restart (for poll's timeout); -1: none. */
int xtap_x1mon_wait_ms(const struct xtap_x1mon *m, uint64_t now_ms);
void xtap_x1mon_stop(struct xtap_x1mon *m);

/* The exec'd X1 worker's main (argv[1] == XTAP_SUP_X1_FLAG). */
int xtap_x1mon_worker_main(int argc, char **argv);

#endif
