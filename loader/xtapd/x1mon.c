/* SPDX-License-Identifier: BSD-2-Clause */
/* The monitor's side of X1 (x1mon.h, docs/x1.md "In xtapd"). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "clock.h"
#include "fault.h"
#include "log.h"
#include "x1mon.h"
#include "x1worker.h"
#include "x1report.h"
#include "x3sup.h"

#define X1MON_RX_MAX (4 + X1_WIRE_CONTAINER_MAX + 1) /* one more: an oversized one shows */
#define X1MON_IO_TIMEOUT_SECS 10 /* the worker's handshake and per-request deadline */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- x1_store_ops over xtapd's DTCP server and datapath ---- */

/* As a restored DTCP criterion: the next id of the one counter, installed
 * in the datapath, entered in the table, noted for the next commit. */
static int x1mon_crit_add(void *ctx, const struct dtcp_criterion *c, uint32_t *id)
{
	struct xtap_x1mon *m = ctx;
	struct dtcp_criterion *x = malloc(sizeof(*x)); /* about 15 KiB */
	struct dtcp_entry *e = NULL;

	if (!x)
		return -1;
	*x = *c;
	x->id = m->srv->next_id;
	if (!x->id || m->srv->n >= m->srv->cfg->max_criteria || xtap_dtcp_backend.install(m->be, x)) {
		free(x);
		return -1;
	}
	if (!(e = dtcp_entry_new(x)) || dtcp_server_restore(m->srv, e)) {
		free(e);
		xtap_dtcp_backend.remove(m->be, x->id);
		free(x);
		return -1;
	}
	*id = x->id;
	xtap_persist_before_change(m->ps, x->id, NULL); /* an undo removes it */
	xtap_persist_note_change(m->ps, x->id);
	free(x);
	return 0;
}

static int x1mon_crit_remove(void *ctx, uint32_t id)
{
	struct xtap_x1mon *m = ctx;
	const struct dtcp_entry *e = dtcp_server_find(m->srv, id);

	if (!e)
		return -1;
	xtap_persist_before_change(m->ps, id, e); /* an undo puts it back, with its id */
	if (xtap_dtcp_backend.remove(m->be, id))
		return -1;
	free(dtcp_server_take(m->srv, id));
	xtap_persist_note_change(m->ps, id);
	return 0;
}

/* The provisional delivery (docs/x1.md "Delivery"): a DTCP content
 * destination named by the DID, IP/UDP to the deliveryAddress, as the
 * store's own, with the source address the routing table picks toward it
 * (a UDP connect sends nothing): a copy from 0.0.0.0 is a martian the
 * receiver's kernel drops. No route: no source, as a DTCP cdest without
 * X-JTap-Cdest-Source-Address. */
static int bind_udp(const struct x1_destination *d, struct dtcp_cdest *out)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd;

	memset(out, 0, sizeof(*out));
	x1_format_uuid(&d->did, out->name.s);
	out->dst.family = d->family;
	memcpy(out->dst.a, d->addr, 16);
	out->dst_port = d->port;
	out->ttl = 255; /* design.md: X-JTap-Cdest-TTL's default */
	if (d->family == DTCP_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, d->addr, 16);
		s6->sin6_port = htons(d->port ? d->port : 9);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, d->addr, 4);
		s4->sin_port = htons(d->port ? d->port : 9);
		sl = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (!connect(fd, (struct sockaddr *)&ss, sl) && !getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		out->src.family = d->family;
		if (d->family == DTCP_AF_INET6)
			memcpy(out->src.a, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		else
			memcpy(out->src.a, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	}
	close(fd);
	return 0;
}

static struct xtap_x1slot *slot_find(struct xtap_x1mon *m, const char *admf, const struct x1_uuid *xid,
				     const struct x1_uuid *did)
{
	for (size_t i = 0; i < XTAP_CFG_X1_SLOTS_MAX; i++) {
		struct xtap_x1slot *k = &m->slot[i];
		if (k->used && !strcmp(k->admf, admf) && !memcmp(&k->xid, xid, sizeof(*xid)) &&
		    !memcmp(&k->did, did, sizeof(*did)))
			return k;
	}
	return NULL;
}

/* A slot's delivery process still running (stopping: its port is bound). */
static bool slot_busy(const struct xtap_x1mon *m, size_t i)
{
	char name[XTAP_CFG_NAME_MAX];

	if (!m->x3)
		return false;
	snprintf(name, sizeof(name), "X1/%u", (unsigned)(m->x3_base + i));
	for (size_t k = 0; k < m->x3->n; k++)
		if (m->x3->d[k].x1 && m->x3->d[k].pid > 0 && !strcmp(m->x3->d[k].name, name))
			return true;
	return false;
}

/* The cdest toward slot i: the sensor's own address and the slot's port,
 * from that address (docs/x3.md: a local address goes through vt1). */
static void slot_cdest(const struct xtap_x1mon *m, size_t i, const struct x1_uuid *did, struct dtcp_cdest *out)
{
	memset(out, 0, sizeof(*out));
	x1_format_uuid(did, out->name.s);
	out->dst = m->x3_local;
	out->src = m->x3_local;
	out->dst_port = (uint16_t)(m->x3_base + i);
	out->ttl = 255; /* design.md: X-JTap-Cdest-TTL's default */
}

/* docs/x1.md "Delivery over X3": a TCPPort destination, with the x3-*
 * statements given, is an X3 receiver, delivered to through a slot of this
 * task (its XID in the PDUs); the rest get IP/UDP copies. The slot is taken
 * here, and freed by xtap_x1mon_slots when no task uses it any more. */
static int x1mon_bind(void *ctx, const char *admf, const struct x1_task *t, const struct x1_destination *d,
		      struct dtcp_cdest *out)
{
	struct xtap_x1mon *m = ctx;
	struct xtap_x1slot *k;

	if (!m->x3_on || d->transport != X1_TR_TCP) {
		bind_udp(d, out);
		/* IP/UDP copies into an X3 delivery process's port would join
		 * another task's stream under its XID */
		if (m->reserved && m->reserved(m->reserved_ctx, out)) {
			log_warnx("X1: X1/%s: a UDP destination at an X3 delivery port is refused", admf);
			return -1;
		}
		return 0;
	}
	if (!(k = slot_find(m, admf, &t->xid, &d->did))) {
		for (size_t i = 0; i < XTAP_CFG_X1_SLOTS_MAX && !k; i++)
			if (!m->slot[i].used && !slot_busy(m, i))
				k = &m->slot[i];
		if (!k) {
			log_warnx("X1: every X3 delivery slot (%d) is in use", XTAP_CFG_X1_SLOTS_MAX);
			return -1;
		}
		k->used = true;
		snprintf(k->admf, sizeof(k->admf), "%s", admf);
		k->xid = t->xid;
		k->did = d->did;
	}
	slot_cdest(m, (size_t)(k - m->slot), &d->did, out);
	return 0;
}

/* The slots the store's tasks use now, as content destinations for the
 * delivery processes; the others freed. */
static void x1mon_slots(struct xtap_x1mon *m, uint64_t now_ms)
{
	static struct xtap_cfg_cdest cd[XTAP_CFG_X1_SLOTS_MAX];
	bool want[XTAP_CFG_X1_SLOTS_MAX] = { 0 };
	size_t n = 0;

	if (!m->x3_on)
		return;
	for (size_t i = 0; i < m->store.ntasks; i++) {
		const struct x1_task_entry *e = m->store.tasks[i];
		for (int j = 0; j < e->t.ndids; j++) {
			const struct x1_destination *d = NULL;
			struct xtap_x1slot *k = slot_find(m, e->admf, &e->t.xid, &e->t.did[j]);
			for (size_t q = 0; q < m->store.ndests && !d; q++)
				if (!strcmp(m->store.dests[q]->admf, e->admf) &&
				    !memcmp(&m->store.dests[q]->d.did, &e->t.did[j], sizeof(e->t.did[j])))
					d = &m->store.dests[q]->d;
			if (!k || !d || d->transport != X1_TR_TCP)
				continue;
			size_t idx = (size_t)(k - m->slot);
			struct xtap_cfg_cdest *c = &cd[n++];
			want[idx] = true;
			memset(c, 0, sizeof(*c));
			snprintf(c->name, sizeof(c->name), "X1/%u", (unsigned)(m->x3_base + idx));
			c->dst = m->x3_local;
			c->src = m->x3_local;
			c->has_port = true;
			c->dst_port = (uint16_t)(m->x3_base + idx);
			c->ttl = 255;
			c->x3.on = true;
			c->x3.addr.family = d->family;
			memcpy(c->x3.addr.a, d->addr, 16);
			c->x3.has_port = true;
			c->x3.port = d->port;
			snprintf(c->x3.cert, sizeof(c->x3.cert), "%s", m->x3_cert);
			snprintf(c->x3.key, sizeof(c->x3.key), "%s", m->x3_key);
			snprintf(c->x3.ca, sizeof(c->x3.ca), "%s", m->x3_ca);
			c->x3.has_xid = true;
			memcpy(c->x3.xid, e->t.xid.b, 16);
			c->x3.correlation = e->t.has_correlation ? e->t.correlation : 0;
			c->x3.buffer = XTAP_CFG_X3_BUFFER_DEF;
			/* the direction (docs/x3.md): the task's address targets */
			for (int q = 0; q < e->t.ntargets && c->x3.n_targets < XTAP_CFG_X3_TARGETS_MAX; q++) {
				const struct x1_target *g = &e->t.target[q];
				if (g->kind < X1_T_IPV4_ADDRESS || g->kind > X1_T_IPV6_CIDR)
					continue;
				struct dtcp_net *net = &c->x3.targets[c->x3.n_targets++];
				net->family = g->family;
				memcpy(net->p.a, g->addr, 16);
				net->p.len = g->plen;
			}
		}
	}
	for (size_t i = 0; i < XTAP_CFG_X1_SLOTS_MAX; i++)
		if (!want[i])
			m->slot[i].used = false;
	if (m->x3)
		xtap_x3sup_set_x1(m->x3, cd, n, now_ms);
}

/* After a restart: the slots the restored criteria deliver to, found by
 * their cdest (the local address, a port of the range, the DID's name). */
static void slots_restore(struct xtap_x1mon *m)
{
	struct dtcp_criterion *c = malloc(sizeof(*c));

	if (!c || !m->x3_on) {
		free(c);
		return;
	}
	for (size_t i = 0; i < m->store.ntasks; i++) {
		const struct x1_task_entry *e = m->store.tasks[i];
		const struct dtcp_entry *de = e->ncrit ? dtcp_server_find(m->srv, e->crit[0]) : NULL;
		if (!de)
			continue;
		dtcp_entry_criterion(de, c);
		for (unsigned k = 0; k < c->ncdest; k++) {
			const struct dtcp_cdest *cd = &c->cdest[k];
			unsigned idx = (unsigned)cd->dst_port - m->x3_base;
			struct x1_uuid did;
			if (cd->dst.family != m->x3_local.family || memcmp(cd->dst.a, m->x3_local.a, 16) ||
			    idx >= XTAP_CFG_X1_SLOTS_MAX || x1_parse_uuid(cd->name.s, strlen(cd->name.s), &did))
				continue;
			struct xtap_x1slot *s = &m->slot[idx];
			if (s->used) { /* two tasks on one port: the state file was not written by xtapd */
				log_warnx("X1: X3 delivery slot %u claimed twice: the second task's copies go to the "
					  "first's",
					  (unsigned)cd->dst_port);
				continue;
			}
			s->used = true;
			snprintf(s->admf, sizeof(s->admf), "%s", e->admf);
			s->xid = e->t.xid;
			s->did = did;
		}
	}
	free(c);
}

static const struct xtap_x3sup_dest *slot_dest(const struct xtap_x1mon *m, size_t i)
{
	char name[XTAP_CFG_NAME_MAX];

	snprintf(name, sizeof(name), "X1/%u", (unsigned)(m->x3_base + i));
	for (size_t k = 0; m->x3 && k < m->x3->n; k++)
		if (m->x3->d[k].x1 && m->x3->d[k].wanted && !strcmp(m->x3->d[k].name, name))
			return &m->x3->d[k];
	return NULL;
}

/* A destination is at fault when the delivery of one of its slots has been
 * down for XTAP_X3SUP_FAULT_MS (its receiver unreachable, refusing TLS, or
 * its process restarting). */
static bool x1mon_dest_fault(void *ctx, const char *admf, const struct x1_uuid *did)
{
	const struct xtap_x1mon *m = ctx;
	uint64_t now = mono_ms();

	for (size_t i = 0; i < XTAP_CFG_X1_SLOTS_MAX; i++) {
		const struct xtap_x1slot *k = &m->slot[i];
		const struct xtap_x3sup_dest *d;
		if (k->used && !strcmp(k->admf, admf) && !memcmp(&k->did, did, sizeof(*did)) && (d = slot_dest(m, i)) &&
		    xtap_x3sup_fault(d, now))
			return true;
	}
	return false;
}

/* ---- issue reports to the ADMF (docs/x1.md "Issue reports") ---- */

static int admf_index(const struct xtap_x1mon *m, const char *admf)
{
	for (size_t i = 0; i < m->n_admfs; i++)
		if (!strcmp(m->admf[i].name, admf))
			return (int)i;
	return -1;
}

static void random_uuid(struct x1_uuid *u)
{
	if (getrandom(u->b, sizeof(u->b), 0) != (ssize_t)sizeof(u->b))
		memset(u->b, 0, sizeof(u->b)); /* cannot happen after boot; the id stays well-formed */
	u->b[6] = (uint8_t)((u->b[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
	u->b[8] = (uint8_t)((u->b[8] & 0x3f) | 0x80);
}

/* One audit line per report: 200 when the ADMF took it, 0 (dropped) when
 * not; synced, as reports are rare. */
static void rep_audit(struct xtap_x1mon *m, const struct xtap_x1rep *r, bool fault, int code, const char *outcome)
{
	char cs[DTCP_NAME_MAX], did[X1_UUID_LEN], why[160];

	snprintf(cs, sizeof(cs), "%s%s", X1_SOURCE_PREFIX, r->admf);
	x1_format_uuid(&r->did, did);
	snprintf(why, sizeof(why), "%s: %s %s", did, fault ? "NonTerminatingFault" : "AllClear", outcome);
	xtap_audit_request(*m->audit, wall_ms(), cs, NULL, "ReportDestinationIssue", NULL, code, NULL, 0, why);
	if (xtap_audit_sync(*m->audit))
		log_warn("X1: cannot sync the audit log");
}

/* The container: the destination, then every task of the ADMF using it. */
static void rep_send(struct xtap_x1mon *m, struct xtap_x1rep *r, bool fault, uint64_t now_ms)
{
	static struct x1_report rp[X1_REPORTS_MAX];
	static struct x1_uuid tx[X1_REPORTS_MAX];
	int ai = admf_index(m, r->admf), type = fault ? X1_RT_NON_TERMINATING_FAULT : X1_RT_ALL_CLEAR;
	char did[X1_UUID_LEN];
	struct x1_out o = { 0 };
	size_t n = 0;
	int pfd[2];

	if (ai < 0)
		return; /* cannot happen: entries are made for configured ADMFs only */
	x1_format_uuid(&r->did, did);
	rp[n] = (struct x1_report){ .kind = X1_R_DEST, .type = (uint8_t)type, .id = r->did };
	snprintf(rp[n].details, sizeof(rp[n].details), "%s",
		 fault ? "X3 delivery down: the receiver does not answer or refuses the TLS handshake" :
			 "X3 delivery working again");
	n++;
	for (size_t i = 0; i < m->store.ntasks && n < X1_REPORTS_MAX; i++) {
		const struct x1_task_entry *e = m->store.tasks[i];
		if (strcmp(e->admf, r->admf))
			continue;
		for (int j = 0; j < e->t.ndids && n < X1_REPORTS_MAX; j++)
			if (!memcmp(&e->t.did[j], &r->did, sizeof(r->did))) {
				rp[n] = (struct x1_report){ .kind = X1_R_TASK, .type = (uint8_t)type, .id = e->t.xid };
				snprintf(rp[n].details, sizeof(rp[n].details), "X3 delivery to destination %s %s", did,
					 fault ? "down" : "working again");
				n++;
				break;
			}
	}
	for (size_t i = 0; i < n; i++)
		random_uuid(&tx[i]);
	r->retry_ms = now_ms + XTAP_X1REP_RETRY_MS; /* unless it gets through */
	if (x1_format_reports(&o, r->admf, m->ne, now_us(), tx, rp, n) || o.n > X1REPORT_BODY_MAX ||
	    pipe2(pfd, O_CLOEXEC) < 0) {
		x1_out_free(&o);
		log_warnx("X1: X1/%s: the issue report cannot be made", r->admf);
		return;
	}
	bool wrote = write(pfd[1], o.p, o.n) == (ssize_t)o.n; /* below the pipe's capacity */
	close(pfd[1]);
	x1_out_free(&o);
	char *argv[] = { "xtapd-x1-report",
			 XTAP_X1REPORT_FLAG,
			 "-c",
			 m->cert,
			 "-k",
			 m->key,
			 "-a",
			 m->ca,
			 "-H",
			 m->admf[ai].addr,
			 "-p",
			 m->admf[ai].port,
			 m->user[0] ? "-u" : NULL,
			 m->user,
			 NULL };
	pid_t pid = wrote ? fork() : -1;
	if (pid == 0) {
		static char *const envp[] = { NULL };
		/* only async-signal-safe calls until the exec */
		int fd = fcntl(pfd[0], F_DUPFD, 10);
		if (fd < 0 || dup2(fd, XTAP_X1REPORT_BODY_FD) < 0 || close_range(XTAP_X1REPORT_BODY_FD + 1, ~0u, 0))
			_exit(127);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	close(pfd[0]);
	if (pid < 0) {
		log_warnx("X1: X1/%s: cannot start the issue report", r->admf);
		return;
	}
	r->pid = pid;
	r->sending = fault;
}

/* Once a second: the destinations of the ADMFs with a report address whose
 * delivery went down or up since they were last told; the report processes
 * that ended. */
static void x1mon_reports(struct xtap_x1mon *m, uint64_t now_ms)
{
	for (size_t i = 0; i < XTAP_CFG_X1_SLOTS_MAX; i++) {
		struct xtap_x1rep *r = &m->rep[i];
		int st;
		if (!r->used || r->pid <= 0 || waitpid(r->pid, &st, WNOHANG) != r->pid)
			continue;
		r->pid = 0;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			r->fault = r->sending;
			r->retry_ms = 0;
			m->reports_sent++;
			rep_audit(m, r, r->sending, 200, "reported");
		} else {
			m->reports_failed++;
			log_warnx("X1: X1/%s: the issue report did not get through: again in %d s", r->admf,
				  XTAP_X1REP_RETRY_MS / 1000);
			rep_audit(m, r, r->sending, 0, "not delivered: the ADMF did not take it");
		}
	}
	if (!m->n_admfs)
		return;
	bool live[XTAP_CFG_X1_SLOTS_MAX] = { 0 };
	for (size_t i = 0; i < XTAP_CFG_X1_SLOTS_MAX; i++) {
		const struct xtap_x1slot *k = &m->slot[i];
		struct xtap_x1rep *r = NULL, *free_r = NULL;
		if (!k->used || admf_index(m, k->admf) < 0)
			continue;
		for (size_t j = 0; j < XTAP_CFG_X1_SLOTS_MAX && !r; j++) {
			struct xtap_x1rep *x = &m->rep[j];
			if (x->used && !strcmp(x->admf, k->admf) && !memcmp(&x->did, &k->did, sizeof(k->did)))
				r = x;
			else if (!x->used && !free_r)
				free_r = x;
		}
		if (!r && (r = free_r)) { /* there are as many entries as slots */
			memset(r, 0, sizeof(*r));
			r->used = true;
			snprintf(r->admf, sizeof(r->admf), "%s", k->admf);
			r->did = k->did;
		}
		if (!r)
			continue;
		live[r - m->rep] = true;
		bool fault = x1mon_dest_fault(m, k->admf, &k->did);
		if (r->pid == 0 && fault != r->fault && now_ms >= r->retry_ms)
			rep_send(m, r, fault, now_ms);
	}
	for (size_t i = 0; i < XTAP_CFG_X1_SLOTS_MAX; i++)
		if (m->rep[i].used && !live[i] && m->rep[i].pid == 0)
			m->rep[i].used = false; /* no task delivers there any more */
}

void xtap_x1mon_reports_stop(struct xtap_x1mon *m)
{
	for (size_t i = 0; i < XTAP_CFG_X1_SLOTS_MAX; i++)
		if (m->rep[i].pid > 0) {
			kill(m->rep[i].pid, SIGKILL);
			waitpid(m->rep[i].pid, NULL, 0);
			m->rep[i].pid = 0;
		}
}

void xtap_x1mon_x3(struct xtap_x1mon *m, struct xtap_x3sup *x3, uint64_t now_ms)
{
	if (!m->on)
		return;
	m->x3 = x3;
	x1mon_slots(m, now_ms);
}

/* One audit line per message: the control source "X1/<admf>", the message,
 * its code, the XID or DID; never a target. */
static void x1mon_audit(void *ctx, const char *admf, const char *msg, int code, const char *id)
{
	struct xtap_x1mon *m = ctx;
	char cs[DTCP_NAME_MAX];

	snprintf(cs, sizeof(cs), "%s%s", X1_SOURCE_PREFIX, admf ? admf : "");
	/* the audit line's code: 200 for OK (its 0 is "no reply"), else the
	 * X1 errorCode (table 6.7-1, 1000 and up) */
	xtap_audit_request(*m->audit, wall_ms(), cs, NULL, msg, NULL, code == X1_OK ? 200 : code, NULL, 0, id);
}

/* ---- the worker's command line ---- */

int xtap_x1mon_init(struct xtap_x1mon *m, const struct xtap_config *cfg, const char *user, struct dtcp_server *srv,
		    struct xtap_backend *be, struct xtap_persist *ps, struct xtap_audit **audit)
{
	int k = 0;

	memset(m, 0, sizeof(*m));
	xtap_sup_init(&m->sup);
	m->sup.name = "X1 worker";
	m->on = cfg->x1_enabled;
	if (!m->on)
		return 0;
	m->srv = srv;
	m->be = be;
	m->ps = ps;
	m->audit = audit;
	m->ops = (struct x1_store_ops){ .crit_add = x1mon_crit_add,
					.crit_remove = x1mon_crit_remove,
					.bind_destination = x1mon_bind,
					.audit = x1mon_audit };
	x1_store_init(&m->store, &m->ops, m, cfg->x1_ne);
	/* the tasks and destinations the state file holds, over their criteria
	 * (restored before: docs/x1.md "Persistence") */
	if (xtap_persist_x1_attach(ps, &m->store))
		return -1;
	m->x3_on = cfg->x1_x3_local.family != DTCP_AF_NONE;
	m->x3_local = cfg->x1_x3_local;
	m->x3_base = cfg->x1_x3_port_base;
	snprintf(m->x3_cert, sizeof(m->x3_cert), "%s", cfg->x1_x3_cert);
	snprintf(m->x3_key, sizeof(m->x3_key), "%s", cfg->x1_x3_key);
	snprintf(m->x3_ca, sizeof(m->x3_ca), "%s", cfg->x1_x3_ca);
	slots_restore(m);
	snprintf(m->user, sizeof(m->user), "%s", user ? user : "");
	for (size_t i = 0; i < cfg->n_x1_admfs && m->n_admfs < XTAP_CFG_X1_ADMFS_MAX; i++) {
		const struct xtap_cfg_x1_admf *a = &cfg->x1_admfs[i];
		typeof(m->admf[0]) *x = &m->admf[m->n_admfs++];
		snprintf(x->name, sizeof(x->name), "%s", a->name);
		inet_ntop(a->addr.family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, a->addr.a, x->addr, sizeof(x->addr));
		snprintf(x->port, sizeof(x->port), "%u", (unsigned)a->port);
	}
	if (!m->x3_on)
		log_info("X1: no x3-local-address: X1 destinations get IP/UDP copies (docs/x1.md)");
	m->store.keepalive_us = (uint64_t)cfg->x1_keepalive * 1000000;
	x1_store_heard_all(&m->store, now_us()); /* the restored ADMFs' periods start now */
	m->store.keepalive_policy = cfg->x1_keepalive_policy == XTAP_CFG_X1_KA_KEEP ? X1_KA_KEEP : X1_KA_DEACTIVATE;
	m->rx = malloc(X1MON_RX_MAX);
	m->c = malloc(sizeof(*m->c));
	if (!m->rx || !m->c)
		return -1;
	m->argv[k++] = "xtapd-x1-worker";
	m->argv[k++] = XTAP_SUP_X1_FLAG;
	snprintf(m->cert, sizeof(m->cert), "%s", cfg->x1_cert);
	snprintf(m->key, sizeof(m->key), "%s", cfg->x1_key);
	snprintf(m->ca, sizeof(m->ca), "%s", cfg->x1_ca);
	snprintf(m->ne, sizeof(m->ne), "%s", cfg->x1_ne);
	m->argv[k++] = "-c";
	m->argv[k++] = m->cert;
	m->argv[k++] = "-k";
	m->argv[k++] = m->key;
	m->argv[k++] = "-a";
	m->argv[k++] = m->ca;
	m->argv[k++] = "-n";
	m->argv[k++] = m->ne;
	if (user) {
		m->argv[k++] = "-u";
		m->argv[k++] = (char *)user;
	}
	m->argv[k] = NULL;
	m->sup.argv = m->argv;
	{
		static char addr[INET6_ADDRSTRLEN];

		addr[0] = 0;
		if (cfg->x1_addr.family)
			inet_ntop(cfg->x1_addr.family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, cfg->x1_addr.a, addr,
				  sizeof(addr));
		/* the same listener the SSH worker's is: kept across restarts */
		m->sup.listen_fd = xtap_worker_listen(addr[0] ? addr : NULL, cfg->x1_port);
	}
	/* xtap_worker_listen's socket is non-blocking (the SSH worker polls);
	 * the X1 worker blocks in accept, one connection at a time */
	if (m->sup.listen_fd >= 0 &&
	    fcntl(m->sup.listen_fd, F_SETFL, fcntl(m->sup.listen_fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return -1;
	return m->sup.listen_fd < 0 ? -1 : 0;
}

int xtap_x1mon_start(struct xtap_x1mon *m, uint64_t now_ms)
{
	if (!m->on)
		return 0;
	return xtap_sup_start(&m->sup, now_ms);
}

void xtap_x1mon_poll_set(const struct xtap_x1mon *m, struct pollfd *p)
{
	*p = (struct pollfd){ .fd = m->on ? m->sup.fd : -1, .events = POLLIN };
	if (m->on && m->sup.q.head)
		p->events |= POLLOUT;
}

/* The response body in X1MON_PART parts, the last one X1MON_RESPONSE_END. */
static int respond(struct xtap_x1mon *m, const struct x1_out *o)
{
	static uint8_t b[4 + X1MON_PART];
	size_t off = 0;

	do {
		size_t n = o->n - off > X1MON_PART ? X1MON_PART : o->n - off;
		uint32_t type = off + n == o->n ? X1MON_RESPONSE_END : X1MON_RESPONSE;

		memcpy(b, &type, 4);
		if (n)
			memcpy(b + 4, o->p + off, n);
		if (xtap_sup_send(&m->sup, b, 4 + n, mono_ms()) < 0)
			return -1;
		off += n;
	} while (off < o->n);
	return 0;
}

/* ---- durable X1 changes (docs/x1.md "Persistence", "Every message whole
 * or nothing") ----
 *
 * A container that changes something is one burst, as a DTCP one: its
 * removals wait in the maps (write-ahead), its audit lines and its journal
 * transaction are fdatasync'd before the response leaves, and a write that
 * fails undoes the burst (criteria, maps, store) and answers each changing
 * message from the first change on with its Generic*Failure. A read after
 * a change commits the change first, so that it never shows what the disk
 * may not get. */

static bool x1_changes(enum x1_msg_type t)
{
	return t == X1_M_ACTIVATE_TASK || t == X1_M_MODIFY_TASK || t == X1_M_DEACTIVATE_TASK ||
		t == X1_M_DEACTIVATE_ALL_TASKS || t == X1_M_CREATE_DESTINATION || t == X1_M_MODIFY_DESTINATION ||
		t == X1_M_REMOVE_DESTINATION;
}

static bool x1_reads(enum x1_msg_type t)
{
	return t == X1_M_GET_TASK_DETAILS || t == X1_M_GET_DESTINATION_DETAILS || t == X1_M_GET_ALL_DETAILS ||
		t == X1_M_LIST_ALL_DETAILS;
}

/* TS 103 221-1 table 6.7-1: each message's Generic*Failure. */
static int x1_generic(enum x1_msg_type t)
{
	switch (t) {
	case X1_M_ACTIVATE_TASK: return X1_E_ACTIVATE_FAILURE;
	case X1_M_MODIFY_TASK: return X1_E_MODIFY_TASK_FAILURE;
	case X1_M_DEACTIVATE_TASK: return X1_E_DEACTIVATE_FAILURE;
	case X1_M_DEACTIVATE_ALL_TASKS: return X1_E_DEACTIVATE_ALL_FAILURE;
	case X1_M_CREATE_DESTINATION: return X1_E_CREATE_DEST_FAILURE;
	case X1_M_MODIFY_DESTINATION: return X1_E_MODIFY_DEST_FAILURE;
	case X1_M_REMOVE_DESTINATION: return X1_E_REMOVE_DEST_FAILURE;
	default: return X1_E_GENERIC;
	}
}

/* One message's response, kept apart until the container is settled. */
struct x1mon_piece {
	struct x1_out o;
	enum x1_msg_type type;
	const char *type_name;
	struct x1_envelope env;
	char id[X1_UUID_LEN]; /* the XID or DID, for the audit line ("" when none) */
};

static void piece_id(const struct x1_request *q, char id[X1_UUID_LEN])
{
	id[0] = 0;
	switch (q->type) {
	case X1_M_ACTIVATE_TASK:
	case X1_M_MODIFY_TASK: x1_format_uuid(&q->task.xid, id); break;
	case X1_M_DEACTIVATE_TASK: x1_format_uuid(&q->xid, id); break;
	case X1_M_CREATE_DESTINATION:
	case X1_M_MODIFY_DESTINATION: x1_format_uuid(&q->dest.did, id); break;
	case X1_M_REMOVE_DESTINATION: x1_format_uuid(&q->did, id); break;
	default: break;
	}
}

/* Commits the burst so far; refused: undone, and the changing messages of
 * [from, to) answered with their Generic*Failure (and audited so). */
static void x1mon_settle(struct xtap_x1mon *m, struct x1mon_piece *pc, size_t from, size_t to, const struct x1_ne *ne,
			 const char *admf)
{
	struct xtap_persist *ps = m->ps;

	if (!ps->failed && xtap_persist_pending(ps)) {
		/* the messages' audit lines on disk before the state that says so */
		if (xtap_audit_sync(*m->audit))
			xtap_persist_fail(ps, "audit log", errno ? errno : EIO);
		else
			xtap_persist_commit(ps);
	}
	if (ps->failed) {
		char cs[DTCP_NAME_MAX], why[sizeof(ps->fault) + 96];

		xtap_persist_undo(ps); /* criteria, maps and the ADMF's store as the disk has them */
		snprintf(cs, sizeof(cs), "%s%s", X1_SOURCE_PREFIX, admf);
		for (size_t k = from; k < to; k++) {
			struct x1_response er = { 0 };

			if (!x1_changes(pc[k].type))
				continue;
			er.type = pc[k].type;
			er.type_name = pc[k].type_name;
			er.env = pc[k].env;
			er.error = x1_generic(pc[k].type);
			x1_out_free(&pc[k].o);
			x1_format_response(&pc[k].o, ne, &er);
			/* the line that voids the one written for its first answer */
			snprintf(why, sizeof(why), "%s%sstate not saved, the change is undone: %s", pc[k].id,
				 pc[k].id[0] ? ": " : "", ps->fault);
			xtap_audit_request(*m->audit, wall_ms(), cs, NULL, pc[k].type_name, NULL, er.error, NULL, 0,
					   why);
			m->refused_changes++;
		}
	}
	if (m->be->ngone) /* durable removals whose rules are still in the maps */
		XTAP_CRASH(remove_before);
	xtap_backend_apply(m->be);
	xtap_backend_settle(m->be);
	if (xtap_audit_sync(*m->audit))
		log_warn("X1: cannot sync the audit log");
	xtap_persist_x1_settled(ps);
}

static void out_append(struct x1_out *o, const struct x1_out *part)
{
	if (o->failed || part->failed) {
		o->failed = true;
		return;
	}
	if (o->n + part->n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *q;

		while (cap < o->n + part->n + 1)
			cap *= 2;
		if (cap > X1_OUT_MAX || !(q = realloc(o->p, cap))) {
			o->failed = true;
			return;
		}
		o->p = q;
		o->cap = cap;
	}
	memcpy(o->p + o->n, part->p, part->n);
	o->n += part->n;
	o->p[o->n] = 0;
}

/* x1_store_handle, one message at a time, durable before answered. */
static int x1mon_handle_durable(struct xtap_x1mon *m, const char *admf, const struct x1_container *c, uint64_t now_us,
				struct x1_out *o)
{
	struct x1mon_piece *pc = calloc(c->n ? c->n : 1, sizeof(*pc));
	struct x1_ne ne = { .now_us = now_us, .dest_fault = x1mon_dest_fault, .ctx = m, .admf = admf };
	size_t from = SIZE_MAX; /* the first change not yet settled */
	bool burst = false;
	int rc;

	if (!pc)
		return -1;
	snprintf(ne.ne, sizeof(ne.ne), "%s", m->store.ne);
	for (size_t i = 0; i < c->n; i++)
		burst |= x1_changes(c->msg[i].type);
	if (burst) {
		xtap_persist_x1_begin(m->ps, admf);
		xtap_backend_defer(m->be, true);
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct x1_request *q = &c->msg[i];
		size_t before = m->ps->nchanged;
		struct x1_response r;

		if (from != SIZE_MAX && x1_reads(q->type)) {
			x1mon_settle(m, pc, from, i, &ne, admf);
			from = SIZE_MAX;
		}
		x1_store_handle_one(&m->store, admf, q, now_us, &r);
		if (x1_changes(q->type)) {
			xtap_persist_x1_changed(m->ps);
			/* a message that failed whole changed nothing; one whose
			 * removal the datapath refused changed some criteria */
			if (from == SIZE_MAX && (!r.error || m->ps->nchanged != before))
				from = i;
		}
		pc[i].type = r.type;
		pc[i].type_name = r.type_name;
		pc[i].env = r.env;
		piece_id(q, pc[i].id);
		x1_format_response(&pc[i].o, &ne, &r);
		free((void *)r.tasks);
		free((void *)r.dests);
	}
	if (from != SIZE_MAX)
		x1mon_settle(m, pc, from, c->n, &ne, admf);
	if (burst) {
		xtap_backend_defer(m->be, false);
		xtap_persist_x1_end(m->ps);
	}
	x1_format_begin(o);
	for (size_t i = 0; i < c->n; i++) {
		out_append(o, &pc[i].o);
		x1_out_free(&pc[i].o);
	}
	free(pc);
	rc = x1_format_end(o);
	return rc;
}

/* One container: handled, its changes committed (journal, audit synced),
 * removed rules settled, then answered. */
static int one_request(struct xtap_x1mon *m, size_t len)
{
	char admf[X1_ID_MAX];
	struct x1_out o = { 0 };
	const char *why = "type";
	uint32_t type = 0;
	int rc = 0;

	if (len >= 4)
		memcpy(&type, m->rx, 4);
	/* everything from the worker is checked before it is used */
	if (len < 4 || type != X1MON_REQUEST || x1_wire_container_decode(m->rx + 4, len - 4, admf, m->c, &why)) {
		log_warnx("X1 worker: refused message: %s", why);
		m->refused++;
		return -1;
	}
	m->requests++;
	if (x1mon_handle_durable(m, admf, m->c, now_us(), &o)) {
		x1_out_free(&o);
		return -1;
	}
	x1mon_slots(m, mono_ms()); /* the delivery processes for what the container left */
	XTAP_CRASH(reply_before);
	if (respond(m, &o))
		rc = -1;
	XTAP_CRASH(reply_after);
	x1_out_free(&o);
	return rc;
}

void xtap_x1mon_on_poll(struct xtap_x1mon *m, const struct pollfd *p)
{
	if (!m->on || p->fd < 0 || p->fd != m->sup.fd)
		return;
	if ((p->revents & POLLOUT) && xtap_sup_flush(&m->sup, mono_ms())) {
		xtap_sup_kill(&m->sup, "cannot send to it");
		return;
	}
	if (!(p->revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	ssize_t n = recv(m->sup.fd, m->rx, X1MON_RX_MAX, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		xtap_sup_kill(&m->sup, n ? "cannot read from it" : "it closed its socket");
		return;
	}
	if (one_request(m, (size_t)n))
		xtap_sup_kill(&m->sup, "a message refused or not answerable");
}

static void lost(void *arg, const char *admf, size_t tasks, size_t deactivated)
{
	struct xtap_x1mon *m = arg;
	char cs[DTCP_NAME_MAX], why[64];

	snprintf(cs, sizeof(cs), "%s%s", X1_SOURCE_PREFIX, admf);
	snprintf(why, sizeof(why), "keepalive lost: %zu tasks, %zu deactivated", tasks, deactivated);
	log_warnx("X1: %s: %s", cs, why);
	xtap_audit_request(*m->audit, wall_ms(), cs, NULL, "Keepalive", NULL, 0, NULL, 0, why);
}

void xtap_x1mon_timers(struct xtap_x1mon *m, uint64_t now_ms)
{
	char how[128];

	if (!m->on)
		return;
	if (xtap_sup_reap(&m->sup, now_ms, how, sizeof(how)))
		log_warnx("X1 worker ended (%s): restarted in %llu ms", how, (unsigned long long)m->sup.backoff_ms);
	if (xtap_sup_stalled(&m->sup, now_ms))
		xtap_sup_kill(&m->sup, m->sup.stopped_ms ? "stopped too long" : "it takes nothing the monitor sends");
	if (xtap_sup_due(&m->sup, now_ms) && xtap_sup_start(&m->sup, now_ms))
		log_warnx("X1 worker: start failed, retried in %llu ms", (unsigned long long)m->sup.backoff_ms);
	if (now_ms - m->last_report_ms >= 1000) {
		m->last_report_ms = now_ms;
		x1mon_reports(m, now_ms);
	}
	if (m->store.keepalive_us && now_ms - m->last_sweep_ms >= 1000) {
		m->last_sweep_ms = now_ms;
		if (x1_store_keepalive_sweep(&m->store, now_us(), lost, m) > 0) {
			if (xtap_audit_sync(*m->audit))
				log_warn("X1: cannot sync the audit log");
			if (xtap_persist_pending(m->ps))
				xtap_persist_commit(m->ps);
			xtap_backend_settle(m->be);
			x1mon_slots(m, now_ms);
		}
	}
}

int xtap_x1mon_wait_ms(const struct xtap_x1mon *m, uint64_t now_ms)
{
	return m->on ? xtap_sup_wait_ms(&m->sup, now_ms) : -1;
}

void xtap_x1mon_stop(struct xtap_x1mon *m)
{
	if (!m->on)
		return;
	xtap_sup_stop(&m->sup);
	xtap_x1mon_reports_stop(m);
	if (m->ps && m->ps->x1 == &m->store) {
		/* what the keepalive policy changed goes to the journal with the
		 * store, which goes now (xtap_persist_stop then keeps the records
		 * as the disk has them) */
		if (!m->ps->failed && xtap_persist_pending(m->ps))
			xtap_persist_commit(m->ps);
		m->ps->x1 = NULL;
	}
	if (m->sup.listen_fd >= 0)
		close(m->sup.listen_fd);
	m->sup.listen_fd = -1;
	x1_store_free(&m->store);
	free(m->rx);
	free(m->c);
	m->on = false;
}

/* ---- the exec'd worker ---- */

/* xtapd-x1-worker --x1-worker -c CERT -k KEY -a CA -n NE [-u USER] with its
 * monitor socket on fd 3 and the listening socket on fd 4. */
int xtap_x1mon_worker_main(int argc, char **argv)
{
	struct x1_worker_opts o = { .io_timeout_secs = X1MON_IO_TIMEOUT_SECS,
				    .listen_fd = XTAP_SUP_LISTENFD,
				    .mon_fd = XTAP_SUP_MONFD };
	struct rlimit no_core = { 0, 0 };
	int type = 0, opt;
	socklen_t tl = sizeof(type);

	log_init("xtapd-x1-worker", LOG_LVL_INFO);
	if (getsockopt(XTAP_SUP_MONFD, SOL_SOCKET, SO_TYPE, &type, &tl) || type != SOCK_SEQPACKET) {
		log_warnx("the X1 worker is started by xtapd, not by hand");
		return 2;
	}
	/* a core of the worker would hold requests (targets) and its TLS key */
	if (setrlimit(RLIMIT_CORE, &no_core) || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		log_warn("x1-worker: core dumps");
	optind = 2;
	while ((opt = getopt(argc, argv, "c:k:a:n:u:")) != -1) {
		switch (opt) {
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'a': o.ca = optarg; break;
		case 'n': o.ne = optarg; break;
		case 'u': o.user = optarg; break;
		default: log_warnx("x1-worker: bad option -%c", opt); return 2;
		}
	}
	if (!o.cert || !o.key || !o.ca || !o.ne) {
		log_warnx("x1-worker: -c, -k, -a and -n are needed");
		return 2;
	}
	return x1_worker_main(&o);
}
