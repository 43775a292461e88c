/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The DTCP library's datapath (struct dtcp_backend) over the classifier
 * maps: one DTCP criterion becomes one datapath rule per (source prefix,
 * destination prefix) pair, with its content destinations shared by
 * parameters; its counters are the sum of its rules'.
 */
#ifndef XTAP_BACKEND_H
#define XTAP_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include "classifier.h"
#include "dtcp.h"

/* Rules one DTCP criterion may expand to (source x destination prefixes):
 * the address lists of one ADD stay small in practice, and each rule costs a
 * slot of the million. */
#define XTAP_BE_MAX_RULES 1024

struct xtap_be_rec;

struct xtap_backend {
	struct xtap_cls *cls;
	uint16_t default_sport;
	int unsettled; /* removed rules may still run: settle before replying */
	struct xtap_be_rec *recs; /* by DTCP id, sorted */
	size_t n, cap;
	size_t front; /* free records before recs in its allocation (rec_insert) */
	bool defer; /* removals wait for xtap_backend_apply (write-ahead) */
	struct xtap_be_rec *gone; /* removed, rules still in the maps until applied */
	size_t ngone, capgone;
	/* control sources by datapath source number (xtap_criterion.source), in
	 * the order first seen; past XTAP_MAX_SOURCES - 1 they share the last */
	struct dtcp_name sources[XTAP_MAX_SOURCES];
	unsigned nsources;
};

extern const struct dtcp_backend xtap_dtcp_backend;

void xtap_backend_init(struct xtap_backend *b, struct xtap_cls *cls);
void xtap_backend_free(struct xtap_backend *b);
/* Wait until no running program can still match a removed criterion (one
 * RCU grace period for everything removed since the last call). Call it
 * before sending any reply: a DELETE's criteria are then gone before it. */
int xtap_backend_settle(struct xtap_backend *b);

/* Write-ahead for removals: while deferring, a removed criterion leaves the
 * table of records but its rules stay in the maps until xtap_backend_apply
 * (called once the removal is durable); installing it again before that
 * takes its rules back, counters and all (an undone DELETE). Removals made
 * while not deferring (expiry) are immediate. */
void xtap_backend_defer(struct xtap_backend *b, bool on);
bool xtap_backend_removing(const struct xtap_backend *b, uint32_t id);
/* The deferred removals off the maps (settle afterwards); returns how many
 * left a rule behind (logged). */
size_t xtap_backend_apply(struct xtap_backend *b);
/* After a restart: take over a criterion whose rules are still in the
 * pinned maps, slots[k] / uids[k] as the state file recorded them (in the
 * order xtap_backend_rules gives). -ESTALE: they are not this criterion's;
 * nothing is kept and the caller installs it anew. */
int xtap_backend_adopt(struct xtap_backend *b, const struct dtcp_criterion *c, const uint32_t *slots,
		       const uint32_t *uids, uint32_t n);
/* Datapath rules of a DTCP criterion (for xtapctl and the state file). */
int xtap_backend_rules(const struct xtap_backend *b, uint32_t id, const uint32_t **slots, uint32_t *n);

#endif
