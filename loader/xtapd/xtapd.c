// SPDX-License-Identifier: BSD-2-Clause
/*
 * xtapd: the sensor daemon. This process is the privileged monitor: it
 * reads the configuration, loads or adopts the datapath, keeps the DTCP
 * server state (criteria, ids, Seq) and the state file, writes the audit
 * log, and answers the unprivileged SSH worker it forks (docs/privsep.md),
 * validating everything the worker sends.
 *
 * This file holds main(), the poll loop, the wiring and the DTCP requests'
 * way to the state file and back (a burst of requests, one save, their
 * replies). The parts: monauth.c (the worker's connections and every
 * login decision), ctlserve.c (xtapctl and the metrics listener),
 * daemon.c (the datapath's start, the worker's settings, SIGHUP),
 * supervise.c (the worker's life), persist.c (the state file).
 *
 * usage: xtapd [-f CONFIG] [-n] [-v] [-L] [-P PIN_DIR] [-u WORKER_USER] [-S SOCKET] [-C SLOTS] [-w BYTES] [-W PROGRAM]
 *   -n  check the configuration and exit
 *   -L  leave the datapath running on exit (attached, pinned)
 *   -S  the xtapctl socket (docs/xtapctl.md)
 *   -C  criteria slots of maps it creates (default 1048576; adopted maps keep theirs)
 *   -w  a LIST's window: reply bytes sent toward one client and not yet written
 *       to its channel (default 1 MiB, 4096 to 16 MiB; small ones for tests)
 *   -W  tests only: exec PROGRAM as the SSH worker instead of xtapd itself
 *       (tests/adversarial's hostile worker; the same fds and arguments)
 *
 * Signals: SIGTERM and SIGINT stop (and take the datapath down unless -L),
 * SIGHUP reloads the configuration where that needs no datapath change.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "backend.h"
#include "clock.h"
#include "config.h"
#include "ctl.h"
#include "ctlserve.h"
#include "daemon.h"
#include "datapath.h"
#include "fault.h"
#include "log.h"
#include "monauth.h"
#include "monproto.h"
#include "persist.h"
#include "state.h"
#include "supervise.h"
#include "x3sup.h"
#include "worker.h"
#include "x1mon.h"
#include "x1report.h"

#define DEFAULT_CONFIG "/etc/xtap/xtapd.conf"
#define DEFAULT_PIN_DIR "/sys/fs/bpf/xtap"
#define DEFAULT_STATE "/var/lib/xtap/state"
#define XTAPD_EXIT_STATE_REFUSED 3 /* the unit does not restart on it: a restart cannot mend the file */
#define WORKER_BURST 256 /* worker messages handled between two state saves */
/* A LIST streams (dtcp_session_list_step): its next reply is made only while
 * the client's reply bytes not yet written by the worker (DTCP_CREDIT) are
 * under the window, and the queue toward the worker under LIST_QUEUE_GATE.
 * So a LIST's replies in the monitor's queue and the worker's are at most
 * window + one reply per session (1 MiB + 32 KiB), all LISTs together at
 * most LIST_QUEUE_GATE + one reply: a LIST never fills the worker's queue
 * (XTAP_SUP_QUEUE_MAX, 64 MiB), whatever its size, and a client that stops
 * reading holds one window (under the worker's 64 MiB per client). */
#define LIST_WINDOW_DEFAULT (1u << 20)
#define LIST_WINDOW_MIN 4096u
#define LIST_WINDOW_MAX (16u << 20)
#define LIST_QUEUE_GATE (XTAP_SUP_QUEUE_MAX / 4)
#define LIST_PUMP_BUDGET \
	(2u << 20) /* LIST bytes made per turn of the loop: the other
					      sessions' requests are read between two */

/* During a burst of worker messages everything for the worker waits here:
 * the replies leave only after the state file holds what they announce. */
#define OUTQ_FLUSH (512u << 10) /* queued bytes that make the monitor save and flush early */
struct outq {
	int on;
	size_t n, cap, bytes;
	struct {
		uint8_t *buf;
		size_t len;
		size_t ack; /* xtap_persist_ack's number, 0: none */
	} * m;
};

struct xtapd {
	struct xtap_config *cfg;
	struct outq out;
	uint32_t session; /* worker connection of the request being handled */
	const char *peer; /* SSH peer of the request being handled, for the audit */
	bool emitted; /* a reply was queued since the last audited request */
	/* a send to the worker failed inside a burst: its sessions are dropped
	 * after the burst, never under the DTCP library or monauth, which are
	 * still using one of them (a use after free killed the monitor) */
	const char *lost_why;
	const char *cfg_path;
	struct xtap_dp dp;
	struct xtap_cls *cls;
	struct xtap_backend be;
	struct dtcp_config dcfg;
	struct dtcp_server srv;
	struct xtap_audit *audit;
	const char *state_path;
	struct xtap_persist ps; /* the state file: snapshot, journal, undo (persist.h) */
	struct xtap_sup sup; /* the SSH worker: start, restart, send queue */
	struct xtap_monauth ma; /* the worker's connections: slots, logins (monauth.h) */
	uint8_t rx[MON_MSG_MAX], tx[MON_MSG_MAX];
	struct dtcp_source_policy pol; /* filled per request from the configuration */
	struct xtap_ctlsrv cs; /* xtapctl and the metrics listener (ctlserve.h) */
	uint64_t started_ms;
	struct xtap_ctl_stats stats; /* request and login counts for the metrics */
	struct xtap_x3sup x3; /* the X3 delivery processes (x3sup.h, docs/x3.md) */
	struct xtap_x1mon x1; /* the X1 worker and the X1 store (x1mon.h, docs/x1.md) */
	size_t list_window; /* -w: a LIST's window toward one client */
	size_t emitted_bytes; /* DTCP reply bytes made so far (pump_lists' budget) */
};

/* ---- the DTCP library's view of the configuration ---- */

static const struct dtcp_source_policy *cb_source(void *ctx, const char *csource)
{
	struct xtapd *d = ctx;

	return xtap_config_source_policy(d->cfg, csource, &d->pol) ? NULL : &d->pol;
}

static int cb_ifname(void *ctx, const char *name, struct dtcp_name *out)
{
	struct xtapd *d = ctx;

	return xtap_config_resolve_ifname(d->cfg, name, out);
}

/* a group is named as configured: cb_scope_key finds it (once per ADD) */
static int cb_vrf(void *ctx, const char *name, struct dtcp_name *out)
{
	(void)ctx;
	snprintf(out->s, sizeof(out->s), "%s", name);
	return 0;
}

static int cb_scope_key(void *ctx, int scope, const char *name, uint64_t *key)
{
	struct xtapd *d = ctx;

	return xtapd_scope_key(d->cfg, scope, name, key);
}

static int cb_cdest(void *ctx, const char *name, struct dtcp_cdest *out)
{
	struct xtapd *d = ctx;

	return xtap_config_cdest(d->cfg, name, out);
}

/* Where an X3 delivery process takes its copies (docs/x3.md, docs/x1.md):
 * a configured X3 destination's address and port under another name, or
 * an X1 delivery slot's port of x3-local-address. */
static bool same_addr(const struct dtcp_addr *a, const struct dtcp_addr *b)
{
	return a->family && a->family == b->family && !memcmp(a->a, b->a, a->family == DTCP_AF_INET6 ? 16 : 4);
}

static int cb_cdest_reserved(void *ctx, const struct dtcp_cdest *cd)
{
	const struct xtapd *d = ctx;
	const struct xtap_config *c = d->cfg;

	for (size_t i = 0; i < c->n_cdests; i++) {
		const struct xtap_cfg_cdest *x = &c->cdests[i];
		if (x->x3.on && same_addr(&x->dst, &cd->dst) && x->dst_port == cd->dst_port &&
		    strcmp(x->name, cd->name.s))
			return 1;
	}
	return c->x1_enabled && same_addr(&c->x1_x3_local, &cd->dst) && cd->dst_port >= c->x1_x3_port_base &&
		cd->dst_port - c->x1_x3_port_base < XTAP_CFG_X1_SLOTS_MAX;
}

static int cb_cdest_xid(void *ctx, const char *name, uint8_t xid[16])
{
	struct xtapd *d = ctx;

	return xtap_config_cdest_xid(d->cfg, name, xid);
}

/* LIST Stats of an X3 destination: its delivery process's last status
 * (the numbers of xtapctl show x3); one configured but not started yet is
 * "not running" with zeros. */
static int cb_cdest_x3_stats(void *ctx, const char *name, struct dtcp_x3_stats *out)
{
	struct xtapd *d = ctx;
	uint8_t xid[16];

	if (xtap_config_cdest_xid(d->cfg, name, xid))
		return -1;
	memset(out, 0, sizeof(*out));
	snprintf(out->state, sizeof(out->state), "not running");
	for (size_t i = 0; i < d->x3.n; i++) {
		const struct xtap_x3sup_dest *x = &d->x3.d[i];

		if (strcmp(x->name, name))
			continue;
		snprintf(out->state, sizeof(out->state), "%s", xtap_x3sup_state_name(x));
		out->pdus = x->pdus;
		out->confirmed = x->confirmed;
		out->bytes = x->bytes;
		out->buffer_full = x->full;
		out->lost = x->lost_unconfirmed;
		out->kernel = x->kernel_drops;
	}
	return 0;
}

/* Answered requests: the whole request, with Seq and every criterion it
 * changed. A reply that announces a change (it was just queued: the
 * library emits, then audits) is held as an ack until the change is
 * durable, or answered 500 if it cannot be made so. */
static void cb_audit_request(void *ctx, const struct dtcp_request *r, int code, const uint32_t *ids, size_t n_ids,
			     const char *why)
{
	struct xtapd *d = ctx;
	struct xtap_persist_ack a = { .session = d->session,
				      .version = r->version,
				      .has_seq = r->has_seq,
				      .seq = r->seq,
				      .csource = r->csource,
				      .method = r->method,
				      .time_ms = wall_ms() };
	bool change = xtap_persist_note_request(&d->ps, r, code, ids, n_ids);

	xtap_ctl_count_request(&d->stats, r->method, code);
	a.from = xtap_audit_mark(d->audit);
	xtap_audit_request(d->audit, a.time_ms, r->csource.s, d->peer, dtcp_method_name(r->method),
			   r->has_seq ? &r->seq : NULL, code, ids, n_ids, why);
	a.to = xtap_audit_mark(d->audit);
	/* a DELETE, REFRESH or ADD evaluated after a change of the burst that
	 * is not durable yet read that change (a 431 for an id an earlier
	 * DELETE took): if the burst is refused and undone, its answer is a
	 * 500 too, whatever it said */
	if (!change && d->ps.nacks &&
	    (r->method == DTCP_M_ADD || r->method == DTCP_M_DELETE || r->method == DTCP_M_REFRESH))
		change = true;
	/* its reply is the last queued message (none: too large to make) */
	if (change && d->emitted && d->out.on && d->out.n && !d->out.m[d->out.n - 1].ack)
		d->out.m[d->out.n - 1].ack = xtap_persist_ack(&d->ps, &a);
	d->emitted = false;
}

static void cb_before_change(void *ctx, uint32_t id, const struct dtcp_entry *e)
{
	struct xtapd *d = ctx;

	xtap_persist_before_change(&d->ps, id, e);
}

static void cb_audit(void *ctx, const char *csource, const char *method, int code, uint32_t id, const char *why)
{
	struct xtapd *d = ctx;

	if (!strcmp(method, "EXPIRE"))
		xtap_persist_note_expire(&d->ps, id);
	xtap_audit_dtcp(d->audit, csource, method, code, id, why);
}

/* ---- the worker's messages ---- */

static void settle_save_flush(struct xtapd *d, int final);
static void worker_lost(struct xtapd *d, const char *why);

/* Never blocks: what the worker has not taken waits in d->sup's bounded
 * queue; a worker whose queue overflows is of no more use (it is not
 * reading), it is killed and restarted. */
static void worker_send(struct xtapd *d, const uint8_t *buf, size_t n)
{
	uint32_t type, id;
	struct xtap_msess *s;

	if (d->sup.fd < 0 || d->lost_why)
		return; /* gone: its sessions were (or are about to be) dropped with it */
	if (xtap_sup_send(&d->sup, buf, n, mono_ms()) < 0) {
		d->lost_why = errno == ENOBUFS ? "its queue is full" : "cannot send to it";
		return;
	}
	/* a reply's bytes count against its session's LIST window until the
	 * worker says it wrote them (DTCP_CREDIT); counted as they leave, so a
	 * reply replaced by a 500 (refuse_changes) counts as what was sent */
	memcpy(&type, buf, 4);
	memcpy(&id, buf + 4, 4);
	if (type == MON_DTCP_REPLY && (s = xtap_monauth_slot(&d->ma, id)))
		s->unacked += n - MON_HDR_LEN;
}

static void send_worker(struct xtapd *d, size_t n)
{
	struct outq *q = &d->out;

	if (!n) {
		log_warnx("cannot encode an answer to the worker");
		return;
	}
	if (q->on) {
		/* a long LIST: let what is queued go once it is durable. Checked
		 * before this message is queued: the library emits a reply, then
		 * audits it, so each message queued so far has been noted (its
		 * change is in the commit), this one not yet. */
		if (q->bytes > OUTQ_FLUSH && !d->ps.failed)
			settle_save_flush(d, 0);
		if (q->n == q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 64;
			void *m = realloc(q->m, cap * sizeof(*q->m));

			if (!m)
				goto direct; /* out of memory: answer now rather than never */
			q->m = m;
			q->cap = cap;
		}
		q->m[q->n].buf = malloc(n);
		if (!q->m[q->n].buf)
			goto direct;
		memcpy(q->m[q->n].buf, d->tx, n);
		q->m[q->n].ack = 0;
		q->m[q->n++].len = n;
		q->bytes += n;
		return;
	}
direct:
	worker_send(d, d->tx, n);
}

static void flush_worker(struct xtapd *d)
{
	struct outq *q = &d->out;

	for (size_t i = 0; i < q->n; i++) {
		if (q->m[i].len) /* 0: a refused reply that could not be made */
			worker_send(d, q->m[i].buf, q->m[i].len);
		free(q->m[i].buf);
	}
	q->n = 0;
	q->bytes = 0;
}

/* The state file could not be written: the burst's changes are undone, and
 * each queued reply that announced one is replaced by a 500 naming the
 * fault (its audit line too). Last to first: the audit lines are rewritten
 * in place, and earlier marks stay valid. */
static void refuse_changes(struct xtapd *d)
{
	struct outq *q = &d->out;
	char *buf = malloc(DTCP_REPLY_SOFT_MAX);
	struct dtcp_source_policy pol;

	xtap_persist_undo(&d->ps);
	for (size_t i = q->n; i-- > 0;) {
		size_t k = q->m[i].ack, n = 0, len;
		const struct xtap_persist_ack *a;
		uint8_t *enc;

		if (!k)
			continue;
		a = &d->ps.acks[k - 1];
		/* a policy of its own: d->pol is the one the library holds for
		 * the request in progress (a LIST whose before_request hook refuses
		 * here), and another source's key there signed its replies wrongly
		 * (crash harness seeds 101, 301-305: a bad AUTHENTICATION-INFO) */
		if (buf && !xtap_config_source_policy(d->cfg, a->csource.s, &pol))
			n = xtap_persist_refusal(&d->ps, k, &pol, wall_ms(), buf, DTCP_REPLY_SOFT_MAX);
		len = n ? mon_enc_data(d->tx, sizeof(d->tx), MON_DTCP_REPLY, a->session, buf, n) : 0;
		free(q->m[i].buf);
		q->m[i].buf = NULL;
		q->m[i].len = 0; /* no 500 could be made: no reply rather than a false 200 */
		if (len && (enc = malloc(len))) {
			memcpy(enc, d->tx, len);
			q->m[i].buf = enc;
			q->m[i].len = len;
		}
	}
	free(buf);
	explicit_bzero(&pol, sizeof(pol)); /* it holds the source's key */
}

/* Before queued replies leave: the state file and the audit log hold every
 * change they announce (or the changes are undone and the replies say 500),
 * and only then do removed criteria leave the datapath (write-ahead: a crash
 * before the commit leaves them intercepting, as the disk has them) and match
 * nowhere any more. refuse_now: refuse a failed burst at once (its end, or a
 * request that must read what the disk has); otherwise (a long LIST's early
 * flush) a failed save keeps everything for the end. */
static void settle_save_flush(struct xtapd *d, int refuse_now)
{
	if (!d->ps.failed && xtap_persist_pending(&d->ps)) {
		/* the burst's audit lines (one write) and their sync first: no
		 * criterion is ever in force without the line of its request */
		if (xtap_audit_flush(d->audit) || xtap_audit_sync(d->audit))
			xtap_persist_fail(&d->ps, "audit log", errno ? errno : EIO);
		else
			xtap_persist_commit(&d->ps);
	}
	if (d->ps.failed) {
		if (!refuse_now)
			return;
		refuse_changes(d); /* undone DELETEs take their rules back (backend.h) */
	}
	if (d->be.ngone) /* durable DELETEs whose rules are still in the maps */
		XTAP_CRASH(remove_before);
	xtap_backend_apply(&d->be);
	xtap_backend_settle(&d->be);
	/* what is still held (lines of requests that changed nothing, the 500
	 * lines of a refusal), before the replies leave */
	if (xtap_audit_flush(d->audit) || xtap_audit_sync(d->audit))
		log_warn("cannot write the audit log");
	XTAP_CRASH(reply_before);
	flush_worker(d);
	XTAP_CRASH(reply_after);
	xtap_persist_settled(&d->ps);
}

/* A LIST reads the table: in a burst with changes not yet durable, they are
 * committed (or refused and undone) first, so that it never shows a state
 * the disk may not get. One more sync only for such mixes. */
static void cb_before_request(void *ctx, const struct dtcp_request *r)
{
	struct xtapd *d = ctx;

	if (r->method == DTCP_M_LIST && d->out.on && d->ps.nacks)
		settle_save_flush(d, 1);
}

struct emit_ctx {
	struct xtapd *d;
	uint32_t id;
};

static void emit(void *arg, const char *buf, size_t n)
{
	struct emit_ctx *e = arg;

	send_worker(e->d, mon_enc_data(e->d->tx, sizeof(e->d->tx), MON_DTCP_REPLY, e->id, buf, n));
	e->d->emitted_bytes += n;
	e->d->emitted = true; /* the library audits the reply next (cb_audit_request) */
}

/* monauth's answers, encoded in d->tx */
static void monauth_send(void *ctx, size_t n)
{
	send_worker(ctx, n);
}

/* DTCP bytes go to the library; everything else is monauth's. */
static void handle(struct xtapd *d, struct mon_msg *m)
{
	struct xtap_msess *s;
	struct emit_ctx e = { d, m->session };

	if (m->type != MON_DTCP_DATA) {
		xtap_monauth_handle(&d->ma, m);
		return;
	}
	if (!(s = xtap_monauth_dtcp(&d->ma, m->session)))
		return;
	xtap_audit_set_peer(d->audit, s->ds.peer_addr);
	d->peer = s->ds.peer_addr;
	d->session = m->session;
	if (dtcp_session_feed(&s->ds, m->data, m->len, wall_ms(), emit, &e) == DTCP_SESSION_CLOSE) {
		if (s->ds.overflow)
			log_warnx("DTCP session %u: more than %u bytes sent behind a LIST: closed", m->session,
				  DTCP_SESSION_HOLD_MAX);
		xtap_monauth_close_dtcp(&d->ma, s);
	}
}

/* The sessions' LISTs, a reply at a time while their windows and the
 * worker's queue have room (LIST_WINDOW_DEFAULT): a burst like the worker's,
 * for the requests that waited behind a LIST are handled when it ends (an
 * ADD among them is answered after its sync, as in any burst). Returns true
 * when it stopped with more to do (LIST_PUMP_BUDGET), for a poll that does
 * not wait. A LIST reads the table outside a burst of changes only: every
 * reply shows a durable state. */
static bool pump_lists(struct xtapd *d)
{
	size_t start = d->emitted_bytes;
	bool any = false, more = true;

	for (int i = 0; i < XTAP_MON_SESSIONS && !any; i++)
		any = d->ma.s[i].used && d->ma.s[i].dtcp && !d->ma.s[i].closed && dtcp_session_listing(&d->ma.s[i].ds);
	if (!any || d->sup.fd < 0 || d->lost_why)
		return false;
	d->out.on = 1;
	xtap_persist_burst_begin(&d->ps);
	xtap_backend_defer(&d->be, true);
	xtap_audit_hold(d->audit, true);
	while (more && d->emitted_bytes - start < LIST_PUMP_BUDGET) {
		more = false;
		for (int i = 0; i < XTAP_MON_SESSIONS && d->emitted_bytes - start < LIST_PUMP_BUDGET; i++) {
			struct xtap_msess *s = &d->ma.s[i];
			struct emit_ctx e = { d, s->id };
			enum dtcp_session_status st;

			if (!s->used || !s->dtcp || s->closed || !dtcp_session_listing(&s->ds))
				continue;
			/* replies still in d->out count toward the window as well */
			if (s->unacked >= d->list_window || d->sup.fd < 0 || d->lost_why ||
			    d->sup.q.bytes + d->out.bytes >= LIST_QUEUE_GATE)
				continue;
			xtap_audit_set_peer(d->audit, s->ds.peer_addr);
			d->peer = s->ds.peer_addr;
			d->session = s->id;
			st = dtcp_session_list_step(&s->ds, wall_ms(), emit, &e);
			if (st == DTCP_SESSION_CLOSE) {
				if (s->ds.overflow)
					log_warnx("DTCP session %u: more than %u bytes sent behind a LIST: closed",
						  s->id, DTCP_SESSION_HOLD_MAX);
				xtap_monauth_close_dtcp(&d->ma, s);
			} else if (!dtcp_session_listing(&s->ds) && s->eof_wait) {
				xtap_monauth_close_dtcp(&d->ma, s); /* its EOF came during the LIST */
			} else {
				more = true;
			}
		}
		/* what this round made leaves now: the windows count it */
		settle_save_flush(d, 1);
	}
	xtap_backend_defer(&d->be, false);
	xtap_persist_burst_end(&d->ps);
	xtap_audit_hold(d->audit, false);
	d->out.on = 0;
	if (d->lost_why)
		worker_lost(d, d->lost_why);
	return more;
}

/* The worker is gone or of no more use: its sessions drop (their slots
 * free); criteria and copies go on, the datapath is not touched. */
static void worker_lost(struct xtapd *d, const char *why)
{
	d->lost_why = NULL;
	xtap_monauth_drop_all(&d->ma, "SSH worker restart");
	xtap_sup_kill(&d->sup, why);
}

/* After SIGCHLD (and every second): a worker that ended is counted and,
 * after its backoff, started again. */
static void worker_reap(struct xtapd *d)
{
	char how[96], detail[160];

	if (!xtap_sup_reap(&d->sup, mono_ms(), how, sizeof(how)))
		return;
	worker_lost(d, how);
	snprintf(detail, sizeof(detail), "SSH worker %s; restart %llu in %llu ms", how,
		 (unsigned long long)d->sup.restarts + 1, (unsigned long long)d->sup.backoff_ms);
	log_warnx("%s", detail);
	xtap_audit_event(d->audit, wall_ms(), XTAP_EV_WORKER, detail);
}

/* An X3 delivery process's event (x3sup.c, text already made printable). */
static void x3_event(void *ctx, const char *detail)
{
	struct xtapd *d = ctx;

	xtap_audit_event(d->audit, wall_ms(), XTAP_EV_X3, detail);
}

/* What xtapctl's commands (and the metrics listener's scrapes) may see. */
static struct xtap_ctl_ctx ctl_ctx(void *owner)
{
	struct xtapd *d = owner;

	return (struct xtap_ctl_ctx){ .x3 = &d->x3,
				      .cfg = d->cfg,
				      .dp = &d->dp,
				      .cls = d->cls,
				      .be = &d->be,
				      .srv = &d->srv,
				      .audit = d->audit,
				      .sessions = xtap_monauth_sessions(&d->ma),
				      .started_ms = d->started_ms,
				      .now_ms = wall_ms(),
				      .pid = (long)getpid(),
				      .worker_pid = (long)d->sup.pid,
				      .connections = xtap_monauth_connections(&d->ma),
				      .worker_restarts = d->sup.restarts,
				      .stats = &d->stats,
				      .refusing = d->ps.refusing,
				      .state_fault = d->ps.fault,
				      .refused = d->ps.refused,
				      .journal_bytes = d->ps.journal.size,
				      .commits = d->ps.saves,
				      .last_save_ms = d->ps.last_save_ms };
}

/* SIGHUP. The DTCP library reads the configuration through d->cfg on every
 * call (struct dtcp_config's callbacks), so swapping the pointer applies
 * the new one to every later login and request; criteria already
 * installed stay. */
static void reload(struct xtapd *d)
{
	int diff = 0;
	struct xtap_config *c = xtapd_reload_read(d->cfg_path, d->cfg, &d->audit, &diff), *old = d->cfg;

	if (!c)
		return;
	d->cfg = c;
	d->dcfg.max_cdests = c->max_cdests;
	d->dcfg.max_criteria = c->global.max_criteria && c->global.max_criteria < d->dp.max_criteria ?
		c->global.max_criteria :
		d->dp.max_criteria;
	xtap_monauth_dummy_hash(&d->ma); /* the users' hashes may have changed method or cost */
	d->state_path = d->cfg->state_file[0] ? d->cfg->state_file : DEFAULT_STATE; /* same path, new storage */
	d->ps.path = d->state_path;
	log_info("SIGHUP: %s reloaded%s", d->cfg_path, diff ? "" : " (no change)");
	xtap_audit_event(d->audit, wall_ms(), XTAP_EV_RELOAD, "applied");
	xtap_config_free(old);
	free(old);
	xtap_x3sup_apply(&d->x3, d->cfg, mono_ms()); /* x3 destinations added, changed, gone */
}

static void usage(void)
{
	fprintf(stderr,
		"usage: xtapd [-f CONFIG] [-n] [-v] [-L] [-P PIN_DIR] [-u WORKER_USER] [-S SOCKET] [-C SLOTS]"
		" [-w BYTES] [-W PROGRAM]\n");
	exit(2);
}

/* ---- the daemon's life: options, start, one function per poll source, stop ---- */

struct xtapd_opts {
	const char *pin_dir, *wuser;
	int ctl_given; /* -S: a control socket of its own */
	uint32_t slots; /* 0: XTAP_MAX_CRITERIA_DEFAULT */
	int check, verbose, leave;
};

/* the poll slots: worker, signals, control socket, its connections, the
 * metrics listener (after them: the other slots keep their places), the X1
 * worker, then the X3 delivery processes' status pipes */
enum {
	P_WORKER = 0,
	P_SIGNALS = 1,
	P_CTL = 2,
	P_METRICS = 3 + XTAP_CTLSRV_CONNS,
	P_X1 = P_METRICS + 1,
	P_X3 = P_X1 + 1
};
#define XTAPD_POLL_MAX (P_X3 + XTAP_X3SUP_MAX)
/* what to do after a signal */
enum { SIG_NONE, SIG_NEXT_TURN, SIG_STOP };
/* start(): go on serving */
#define XTAPD_SERVE (-1)

static void parse_args(struct xtapd *d, struct xtapd_opts *o, int argc, char **argv)
{
	int opt;

	*o = (struct xtapd_opts){ .pin_dir = DEFAULT_PIN_DIR, .wuser = "nobody" };
	while ((opt = getopt(argc, argv, "f:nvLP:u:S:C:w:W:")) != -1) {
		switch (opt) {
		case 'f': d->cfg_path = optarg; break;
		case 'n': o->check = 1; break;
		case 'v': o->verbose = 1; break;
		case 'L': o->leave = 1; break;
		case 'P': o->pin_dir = optarg; break;
		case 'u': o->wuser = optarg; break;
		case 'S':
			d->cs.path = optarg;
			o->ctl_given = 1;
			break;
		case 'C': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			/* at least a word of the exact pre-filter, at most the default */
			if (errno || *end || optarg[0] == '-' || v < 64 || v > XTAP_MAX_CRITERIA_DEFAULT)
				fatalx("-C: criteria slots from 64 to %u", XTAP_MAX_CRITERIA_DEFAULT);
			o->slots = (uint32_t)v;
			break;
		}
		case 'w': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-' || v < LIST_WINDOW_MIN || v > LIST_WINDOW_MAX)
				fatalx("-w: a LIST window from %u to %u bytes", LIST_WINDOW_MIN, LIST_WINDOW_MAX);
			d->list_window = v;
			break;
		}
		case 'W': d->sup.exe = optarg; break;
		default: usage();
		}
	}
}

/* The configuration, the audit log, the datapath, the DTCP server and the
 * state restored into it. XTAPD_SERVE, or the exit status. */
static int start_state(struct xtapd *d, const struct xtapd_opts *o)
{
	static struct xtap_config_errors errs;

	d->cfg = calloc(1, sizeof(*d->cfg));
	if (!d->cfg)
		fatal("memory");
	if (xtap_config_load(d->cfg_path, d->cfg, &errs)) {
		xtap_config_report(d->cfg_path, &errs, stderr);
		return 1;
	}
	if (o->check) {
		if (xtap_config_warnings(d->cfg, &errs)) /* issue 12: where copies may go */
			xtap_config_report(d->cfg_path, &errs, stderr);
		printf("%s: configuration OK\n", d->cfg_path);
		return 0;
	}
	/* a core of the monitor would hold targets, keys and password hashes */
	{
		struct rlimit no_core = { 0, 0 };

		if (setrlimit(RLIMIT_CORE, &no_core) || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
			fatal("cannot turn core dumps off");
	}
	xtap_monauth_dummy_hash(&d->ma);
	d->state_path = d->cfg->state_file[0] ? d->cfg->state_file : DEFAULT_STATE;
	if (mkparent(d->state_path) || mkparent(d->cfg->audit_log[0] ? d->cfg->audit_log : DEFAULT_AUDIT))
		fatal("cannot create the state or audit folder");
	d->audit = xtap_audit_open(d->cfg->audit_log[0] ? d->cfg->audit_log : DEFAULT_AUDIT);
	if (!d->audit)
		fatal("cannot open the audit log");
	xtap_audit_event(d->audit, wall_ms(), XTAP_EV_START, "xtapd");

	if (xtapd_datapath_up(&d->dp, &d->cls, d->cfg, o->pin_dir, o->slots))
		fatalx("the datapath could not be set up");
	xtap_backend_init(&d->be, d->cls);
	d->dcfg = (struct dtcp_config){ .ctx = d,
					.source = cb_source,
					.resolve_ifname = cb_ifname,
					.resolve_vrf = cb_vrf,
					.scope_key = cb_scope_key,
					.cdest_lookup = cb_cdest,
					.cdest_reserved = cb_cdest_reserved,
					.cdest_xid = cb_cdest_xid,
					.cdest_x3_stats = cb_cdest_x3_stats,
					.audit = cb_audit,
					.audit_request = cb_audit_request,
					.before_change = cb_before_change,
					.before_request = cb_before_request,
					.max_cdests = d->cfg->max_cdests,
					/* the configured total, within what the maps hold */
					.max_criteria = d->cfg->global.max_criteria &&
							d->cfg->global.max_criteria < d->dp.max_criteria ?
						d->cfg->global.max_criteria :
						d->dp.max_criteria };
	if (dtcp_server_init(&d->srv, &d->dcfg, &xtap_dtcp_backend, &d->be))
		fatalx("DTCP server");
	xtap_persist_init(&d->ps, d->state_path, &d->srv, &d->be, d->cls, &d->audit);
	switch (xtap_persist_restore(&d->ps, d->dp.adopted)) {
	case XTAP_RESTORE_REFUSED:
		/* The file is the list of targets: saving now would replace it with
		 * an empty table and lose every warrant in it. Stop without touching
		 * it or its journal; an adopted datapath keeps intercepting until
		 * the file is mended (docs/operations.md "A refused state file"). */
		if (d->dp.adopted)
			xtap_dp_close(&d->dp);
		else
			xtap_dp_teardown(&d->dp);
		xtap_audit_event(d->audit, wall_ms(), XTAP_EV_STOP, "state file refused");
		xtap_audit_close(d->audit);
		log_warnx("not started: mend or move %s (and %s.journal), then start again", d->state_path,
			  d->state_path);
		return XTAPD_EXIT_STATE_REFUSED;
	case XTAP_RESTORE_PARTIAL:
		log_warnx("not every criterion of the state file is active: see the audit log");
		break;
	}
	/* a failure leaves what the restore changed pending: tried again
	 * once a second in the main loop */
	xtap_persist_start(&d->ps);
	return XTAPD_SERVE;
}

/* SIGTERM, SIGINT, SIGHUP and SIGCHLD, read from a signalfd. */
static int signals_open(void)
{
	sigset_t mask;
	int sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		fatal("signalfd");
	return sfd;
}

/* The processes beside the monitor: the control socket, the SSH worker, the
 * metrics listener, the X3 delivery processes. */
static void start_services(struct xtapd *d, const struct xtapd_opts *o)
{
	int err = xtap_ctlsrv_listen(&d->cs);

	/* several xtapd may run, one per network namespace with its own pin
	 * folder: only the first has the default socket unless -S says */
	if (err == -2 && !o->ctl_given)
		log_warnx("xtapctl is not available for this xtapd: give it a socket of its own with -S");
	else if (err < 0)
		fatalx("cannot open the control socket %s", d->cs.path);
	if (xtapd_worker_setup(&d->sup.o, d->cfg, o->wuser, o->verbose))
		fatalx("cannot create the SSH host key");
	/* the first start must work (the port, the host key): later ones are
	 * restarts with backoff, the datapath staying up */
	if (xtap_sup_start(&d->sup, mono_ms()))
		fatalx("cannot start the SSH worker");
	if (d->cfg->metrics_port && xtap_ctlsrv_metrics_start(&d->cs, d->cfg, o->wuser))
		fatalx("cannot start the metrics listener");
	/* X1 beside DTCP, on the same table (docs/x1.md "In xtapd") */
	if (xtap_x1mon_init(&d->x1, d->cfg, o->wuser, &d->srv, &d->be, &d->ps, &d->audit) ||
	    xtap_x1mon_start(&d->x1, mono_ms()))
		fatalx("cannot start the X1 server on port %u", d->cfg->x1_port);
	xtap_x3sup_init(&d->x3, d->cfg_path, o->wuser, LOG_LVL_INFO, d->state_path);
	d->x3.event = x3_event;
	d->x3.event_ctx = d;
	xtap_x3sup_apply(&d->x3, d->cfg, mono_ms());
	d->x1.reserved = cb_cdest_reserved; /* X1 IP/UDP destinations: the rule DTCP's have */
	d->x1.reserved_ctx = d;
	xtap_x1mon_x3(&d->x1, &d->x3, mono_ms()); /* the X1 tasks' X3 delivery slots */
	xtap_x3sup_tick(&d->x3, mono_ms());
}

/* Fills the poll set; returns how many slots poll looks at. */
static nfds_t poll_set(struct xtapd *d, int sfd, struct pollfd *p)
{
	p[P_WORKER] = (struct pollfd){ .fd = d->sup.fd, .events = POLLIN };
	if (d->sup.q.head)
		p[P_WORKER].events |= POLLOUT;
	p[P_SIGNALS] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	xtap_ctlsrv_poll_set(&d->cs, &p[P_CTL]); /* the control socket, then its connections */
	p[P_METRICS] = (struct pollfd){ .fd = d->cs.metrics_fd, .events = POLLIN };
	xtap_x1mon_poll_set(&d->x1, &p[P_X1]);
	return P_X3 + xtap_x3sup_poll_set(&d->x3, &p[P_X3], XTAP_X3SUP_MAX);
}

static int on_signal(struct xtapd *d, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return SIG_NONE;
	if (si.ssi_signo == SIGHUP) {
		reload(d);
		return SIG_NEXT_TURN;
	}
	if (si.ssi_signo == SIGCHLD) {
		xtap_ctlsrv_metrics_reap(&d->cs);
		xtap_x3sup_tick(&d->x3, mono_ms());
		/* an exit, or a stop or continue: only an exit ends the
		 * worker, never the datapath */
		worker_reap(d);
		return SIG_NEXT_TURN;
	}
	return SIG_STOP;
}

/* What the worker sent: a burst of requests, then one state save, then
 * their replies. A pipelined client does not pay a sync per message, and no
 * reply announces what the state file does not hold yet. */
static void on_worker_burst(struct xtapd *d)
{
	int gone = 0;

	d->out.on = 1;
	xtap_persist_burst_begin(&d->ps);
	xtap_backend_defer(&d->be, true);
	/* one write of the burst's audit lines rather than one per request
	 * (10% of the monitor's time while adding) */
	xtap_audit_hold(d->audit, true);
	for (int k = 0; k < WORKER_BURST; k++) {
		struct pollfd more = { .fd = d->sup.fd, .events = POLLIN };
		struct mon_msg m;
		const char *why;
		long len;

		if (d->sup.fd < 0 || d->lost_why || (k && poll(&more, 1, 0) <= 0))
			break;
		len = mon_recv(d->sup.fd, d->rx, sizeof(d->rx));
		if (len == 0) {
			gone = 1;
			break;
		}
		if (len < 0)
			break;
		/* everything from the worker is checked before it is used */
		if (mon_decode(d->rx, (size_t)len, MON_FROM_WORKER, &m, &why) < 0)
			log_warnx("worker: refused message: %s", why);
		else
			handle(d, &m);
		mon_msg_clear(&m);
		explicit_bzero(d->rx, (size_t)len); /* an AUTH_PASSWORD holds a password */
	}
	settle_save_flush(d, 1);
	xtap_backend_defer(&d->be, false);
	xtap_persist_burst_end(&d->ps);
	xtap_audit_hold(d->audit, false);
	d->out.on = 0;
	if (gone || d->lost_why)
		worker_lost(d, gone ? "it closed its socket" : d->lost_why);
}

static void on_worker(struct xtapd *d, const struct pollfd *p)
{
	if (p->fd < 0)
		return;
	if ((p->revents & POLLOUT) && xtap_sup_flush(&d->sup, mono_ms()))
		worker_lost(d, "cannot send to it");
	if (p->fd == d->sup.fd && (p->revents & (POLLIN | POLLHUP | POLLERR)))
		on_worker_burst(d);
}

/* Every turn: the worker's and X3 processes' lives, login suppression's
 * summary; once a second the expiries and a pending commit. */
static void on_timers(struct xtapd *d, uint64_t *last_expire)
{
	if (d->lost_why) /* a send failed outside a burst (monauth's timers, xtapctl) */
		worker_lost(d, d->lost_why);
	/* the worker: reaped (a SIGCHLD can be merged with another), killed
	 * when it stalls, started when its backoff is over */
	worker_reap(d);
	xtap_x3sup_tick(&d->x3, mono_ms()); /* ended ones reaped, due ones started */
	if (xtap_sup_stalled(&d->sup, mono_ms()))
		worker_lost(d, d->sup.stopped_ms ? "stopped too long" : "it takes nothing the monitor sends");
	if (xtap_sup_due(&d->sup, mono_ms()) && xtap_sup_start(&d->sup, mono_ms()))
		log_warnx("SSH worker: start failed, retried in %llu ms", (unsigned long long)d->sup.backoff_ms);
	xtap_x1mon_timers(&d->x1, mono_ms()); /* its worker's life, the keepalive policy */
	xtap_monauth_suppressed(&d->ma);
	/* idle, total, packet and byte limits, once a second: nothing to walk
	 * without dynamic criteria, and the counters of those with idle,
	 * packet or byte limits in batch reads (not one per rule) */
	if (wall_ms() - *last_expire < 1000)
		return;
	*last_expire = wall_ms();
	xtap_persist_poll(&d->ps); /* a compaction's snapshot goes in place */
	if (dtcp_server_expire(&d->srv, *last_expire) > 0) {
		xtap_backend_settle(&d->be);
		/* the expiries' audit lines on disk before the state says so */
		if (xtap_audit_sync(d->audit))
			log_warn("cannot sync the audit log");
		xtap_persist_commit(&d->ps); /* a failure is audited there */
	} else if (xtap_persist_pending(&d->ps)) {
		/* what a failed save left pending (the rules a start installed
		 * again, a refused burst's ids) is retried here too, not only
		 * at the next change */
		xtap_persist_commit(&d->ps);
	}
}

/* The services stopped, the datapath left running (-L) or removed, every
 * resource given back. detach: an xtapctl detach's connection, or -1. */
static void stop(struct xtapd *d, int leave, int detach)
{
	int err;

	xtap_ctlsrv_metrics_stop(&d->cs);
	xtap_x3sup_stop(&d->x3);
	xtap_x1mon_stop(&d->x1);
	xtap_sup_stop(&d->sup);
	xtap_monauth_free(&d->ma);
	xtap_persist_stop(&d->ps);
	if (detach >= 0)
		log_info("xtapctl detach: taking the datapath down");
	if (leave && detach < 0) {
		log_info("leaving the datapath running");
		xtap_dp_close(&d->dp);
		err = 0;
	} else {
		err = xtap_dp_teardown(&d->dp);
	}
	xtap_audit_event(d->audit, wall_ms(), XTAP_EV_STOP,
			 leave && detach < 0 ? "datapath left running" : "datapath removed");
	xtap_ctlsrv_close(&d->cs, detach, err);
	xtap_audit_close(d->audit);
	dtcp_server_free(&d->srv);
	xtap_backend_free(&d->be);
	xtap_cls_free(d->cls);
	xtap_config_free(d->cfg);
	free(d->cfg);
	free(d->out.m);
	xtap_persist_free(&d->ps);
}

int main(int argc, char **argv)
{
	static struct xtapd d;
	struct xtapd_opts o;
	uint64_t last_expire = 0;
	int sfd, detach = -1, rc;
	bool pump_more = false; /* a LIST has replies to make now: poll without waiting */

#ifdef XTAP_FAULT_HOOKS
	if (argc == 2 && !strcmp(argv[1], "--crash-points")) {
		xtap_crash_points_print(stdout);
		return 0;
	}
#endif
	/* the SSH worker: this program exec'd again (supervise.h) */
	if (argc > 1 && !strcmp(argv[1], XTAP_SUP_WORKER_FLAG))
		return xtap_sup_worker_main(argc, argv);
	/* the X1 front end: this program exec'd again (x1mon.h) */
	if (argc > 1 && !strcmp(argv[1], XTAP_SUP_X1_FLAG))
		return xtap_x1mon_worker_main(argc, argv);
	/* an X1 issue report to an ADMF: this program exec'd again (x1report.h) */
	if (argc > 1 && !strcmp(argv[1], XTAP_X1REPORT_FLAG))
		return xtap_x1report_main(argc, argv);
	/* an X3 delivery process: this program exec'd again (x3sup.h) */
	if (argc > 1 && !strcmp(argv[1], XTAP_X3SUP_FLAG))
		return xtap_x3_main(argc - 1, argv + 1);
	d.cfg_path = DEFAULT_CONFIG;
	xtap_sup_init(&d.sup);
	xtap_ctlsrv_init(&d.cs, XTAP_CTL_SOCKET);
	d.cs.audit = &d.audit;
	d.cs.ctx = ctl_ctx;
	d.cs.owner = &d;
	d.ma = (struct xtap_monauth){ .cfg = &d.cfg,
				      .audit = &d.audit,
				      .srv = &d.srv,
				      .stats = &d.stats,
				      .tx = d.tx,
				      .tx_size = sizeof(d.tx),
				      .send = monauth_send,
				      .ctx = &d,
				      .stream_lists = true };
	d.list_window = LIST_WINDOW_DEFAULT;
	d.started_ms = wall_ms();
	parse_args(&d, &o, argc, argv);
	log_init("xtapd", o.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	log_libbpf();
	if ((rc = start_state(&d, &o)) != XTAPD_SERVE)
		return rc;
	sfd = signals_open();
	start_services(&d, &o);
	log_info("serving DTCP on port %u, %zu interfaces attached, %zu criteria", d.cfg->listen_port, d.cfg->n_attach,
		 d.srv.n);

	while (detach < 0) {
		struct pollfd p[XTAPD_POLL_MAX];
		nfds_t np = poll_set(&d, sfd, p);
		int wait = xtap_sup_wait_ms(&d.sup, mono_ms()), wait1 = xtap_x1mon_wait_ms(&d.x1, mono_ms());
		/* a restart due sooner than the next second */
		if (wait1 >= 0 && (wait < 0 || wait1 < wait))
			wait = wait1;
		int n = poll(p, np, pump_more ? 0 : wait >= 0 && wait < 1000 ? wait : 1000);

		if (n < 0 && errno != EINTR)
			break;
		if (n > 0) {
			xtap_x3sup_read(&d.x3, &p[P_X3], np - P_X3);
			if (p[P_SIGNALS].revents & POLLIN) {
				int what = on_signal(&d, sfd);

				if (what == SIG_STOP)
					break;
				if (what == SIG_NEXT_TURN)
					continue;
			}
			on_worker(&d, &p[P_WORKER]);
			xtap_x1mon_on_poll(&d.x1, &p[P_X1]);
		}
		/* LISTs whose windows have room (the credit came in that burst) */
		pump_more = pump_lists(&d);
		if (n > 0 && d.cs.metrics_fd >= 0 && p[P_METRICS].fd == d.cs.metrics_fd &&
		    (p[P_METRICS].revents & (POLLIN | POLLHUP)))
			xtap_ctlsrv_metrics_serve(&d.cs);
		detach = xtap_ctlsrv_serve(&d.cs, &p[P_CTL], n > 0);
		on_timers(&d, &last_expire);
	}
	stop(&d, o.leave, detach);
	return 0;
}
