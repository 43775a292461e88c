// SPDX-License-Identifier: BSD-2-Clause
/*
 * xtapd: the sensor daemon. This process is the privileged monitor: it
 * reads the configuration, loads or adopts the datapath, keeps the DTCP
 * server state (criteria, ids, Seq) and the state file, writes the audit
 * log, and answers the unprivileged SSH worker it forks (docs/privsep.md),
 * validating everything the worker sends.
 *
 * usage: xtapd [-f CONFIG] [-n] [-v] [-L] [-P PIN_DIR] [-u WORKER_USER] [-S SOCKET] [-C SLOTS] [-W PROGRAM]
 *   -n  check the configuration and exit
 *   -L  leave the datapath running on exit (attached, pinned)
 *   -S  the xtapctl socket (docs/xtapctl.md)
 *   -C  criteria slots of maps it creates (default 1048576; adopted maps keep theirs)
 *   -W  tests only: exec PROGRAM as the SSH worker instead of xtapd itself
 *       (tests/adversarial's hostile worker; the same fds and arguments)
 *
 * Signals: SIGTERM and SIGINT stop (and take the datapath down unless -L),
 * SIGHUP reloads the configuration where that needs no datapath change.
 */
#include <crypt.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <libssh/libssh.h>

#include "audit.h"
#include "backend.h"
#include "config.h"
#include "ctl.h"
#include "datapath.h"
#include "evlimit.h"
#include "fault.h"
#include "log.h"
#include "metrics_http.h"
#include "monproto.h"
#include "persist.h"
#include "sigcheck.h"
#include "state.h"
#include "supervise.h"
#include "worker.h"

#define DEFAULT_CONFIG "/etc/xtap/xtapd.conf"
#define DEFAULT_PIN_DIR "/sys/fs/bpf/xtap"
#define DEFAULT_HOST_KEY "/etc/xtap/ssh_host_ed25519_key"
#define DEFAULT_STATE "/var/lib/xtap/state"
#define DEFAULT_AUDIT "/var/log/xtap/audit.log"
#define XTAPD_EXIT_STATE_REFUSED 3 /* the unit does not restart on it: a restart cannot mend the file */
#define WORKER_BURST 256 /* worker messages handled between two state saves */
#define MAX_SESSIONS 256 /* above any connection-limit the worker enforces (75 default) */
/* xtapctl connections served at once: one operator at a time is the norm;
 * more wait in the listen backlog */
#define MAX_CTL_CONNS 4
#define CTL_BACKLOG 8
/* a client that neither finishes its request nor reads its answer in this
 * time is dropped, so it cannot hold a slot */
#define CTL_DEADLINE_MS 5000

struct ctl_conn {
	int fd;                    /* -1: free */
	uint64_t deadline_ms;
	char rx[XTAP_CTL_REQ_MAX]; /* the request line, up to its newline */
	size_t nrx;
	struct xtap_ctl_buf tx;    /* the answer */
	size_t off;                /* of tx written */
};

/* One per connection the worker serves: CONN_OPEN to SESSION_CLOSE. */
struct msess {
	int used, authed, dtcp, closed;
	uint32_t id;
	char user[MON_USER_MAX];
	char peer[MON_PEER_MAX];  /* from CONN_OPEN: in every authentication audit line */
	uint8_t *sig;             /* AUTH_SIG: signed data then signature, for the next AUTH_PUBKEY */
	size_t sig_data_len, sig_len;
	struct dtcp_session ds;
};

/* During a burst of worker messages everything for the worker waits here:
 * the replies leave only after the state file holds what they announce. */
#define OUTQ_FLUSH (512u << 10) /* queued bytes that make the monitor save and flush early */
struct outq {
	int on;
	size_t n, cap, bytes;
	struct { uint8_t *buf; size_t len; size_t ack; /* xtap_persist_ack's number, 0: none */ } *m;
};

struct xtapd {
	struct xtap_config *cfg;
	struct outq out;
	uint32_t session; /* worker connection of the request being handled */
	const char *peer; /* SSH peer of the request being handled, for the audit */
	bool emitted;     /* a reply was queued since the last audited request */
	const char *cfg_path;
	struct xtap_dp dp;
	struct xtap_cls *cls;
	struct xtap_backend be;
	struct dtcp_config dcfg;
	struct dtcp_server srv;
	struct xtap_audit *audit;
	const char *state_path;
	struct xtap_persist ps;   /* the state file: snapshot, journal, undo (persist.h) */
	struct xtap_sup sup;           /* the SSH worker: start, restart, send queue */
	struct xtap_evlimit evl;       /* pre-auth audit lines, rate-limited */
	char dummy_hash[256];          /* what an unknown user's password is checked against */
	struct xtap_sidset sids;       /* session ids of accepted public-key logins: no replay */
	struct msess s[MAX_SESSIONS];
	uint8_t rx[MON_MSG_MAX], tx[MON_MSG_MAX];
	struct dtcp_source_policy pol; /* filled per request from the configuration */
	int ctl_fd;                    /* xtapctl listening socket */
	const char *ctl_path;
	struct ctl_conn ctl[MAX_CTL_CONNS];
	uint64_t started_ms;
	struct xtap_ctl_stats stats; /* request and login counts for the metrics */
	int metrics_fd;              /* the metrics listener's socket pair, -1: none */
	pid_t metrics_pid;
	uint64_t metrics_last_ms;
	struct xtap_ctl_buf metrics_text; /* the last scrape's answer */
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* the worker's deadlines and backoff: immune to clock steps */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

static int cb_vrf(void *ctx, const char *name, struct dtcp_name *out)
{
	struct xtapd *d = ctx;

	if (!xtap_config_group(d->cfg, name))
		return -1;
	snprintf(out->s, sizeof(out->s), "%s", name);
	return 0;
}

static int cb_cdest(void *ctx, const char *name, struct dtcp_cdest *out)
{
	struct xtapd *d = ctx;

	return xtap_config_cdest(d->cfg, name, out);
}

/* Answered requests: the whole request, with Seq and every criterion it
 * changed. A reply that announces a change (it was just queued: the
 * library emits, then audits) is held as an ack until the change is
 * durable, or answered 500 if it cannot be made so. */
static void cb_audit_request(void *ctx, const struct dtcp_request *r, int code, const uint32_t *ids,
			     size_t n_ids, const char *why)
{
	struct xtapd *d = ctx;
	struct xtap_persist_ack a = { .session = d->session, .version = r->version, .has_seq = r->has_seq,
				      .seq = r->seq, .csource = r->csource, .method = r->method,
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

static void cb_audit(void *ctx, const char *csource, const char *method, int code, uint32_t id,
		     const char *why)
{
	struct xtapd *d = ctx;

	if (!strcmp(method, "EXPIRE"))
		xtap_persist_note_expire(&d->ps, id);
	xtap_audit_dtcp(d->audit, csource, method, code, id, why);
}

/* An interface group is a VRF stand-in: one group bit per configured group. */
static uint64_t group_bits(void *ctx, const char *name)
{
	struct xtapd *d = ctx;

	for (size_t i = 0; i < d->cfg->n_groups && i < 64; i++)
		if (!strcmp(d->cfg->groups[i].name, name))
			return 1ull << i;
	return 0;
}

static uint64_t groups_of(struct xtapd *d, const char *netdev)
{
	uint64_t g = 0;

	for (size_t i = 0; i < d->cfg->n_groups && i < 64; i++)
		for (size_t k = 0; k < d->cfg->groups[i].n; k++)
			if (!strcmp(d->cfg->groups[i].member[k].netdev, netdev))
				g |= 1ull << i;
	return g;
}

/* ---- authentication (the worker asks, the monitor decides) ---- */

static const struct xtap_cfg_user *dtcp_user(struct xtapd *d, const char *name)
{
	const struct xtap_cfg_user *u = xtap_config_user(d->cfg, name);

	/* only users whose class has flow-tap-operation (and a key) may use DTCP */
	return u && !xtap_config_source_policy(d->cfg, name, &d->pol) ? u : NULL;
}

static int password_ok(struct xtapd *d, const char *user, const char *pw)
{
	const struct xtap_cfg_user *u = dtcp_user(d, user);
	/* an unknown user (or one without a password) costs the same crypt:
	 * d->dummy_hash has the method and cost of a configured hash */
	const char *hash = u && u->password_hash[0] ? u->password_hash : d->dummy_hash;
	struct crypt_data cd;
	const char *h;
	int ok;

	memset(&cd, 0, sizeof(cd));
	h = crypt_r(pw, hash, &cd);
	ok = h && u && u->password_hash[0] && strlen(h) == strlen(hash) && !CRYPTO_memcmp(h, hash, strlen(hash));
	explicit_bzero(&cd, sizeof(cd));
	return ok;
}

static int pubkey_ok(struct xtapd *d, const char *user, const char *type, const uint8_t *blob, size_t n)
{
	const struct xtap_cfg_user *u = dtcp_user(d, user);

	if (!u)
		return 0;
	for (size_t i = 0; i < u->n_ssh_keys; i++) {
		const char *t = u->ssh_keys[i].text, *b64;
		uint8_t dec[MON_KEYBLOB_MAX + 4];
		size_t tl, bl;
		int len;

		if (!t)
			continue;
		tl = strcspn(t, " ");
		if (tl != strlen(type) || strncmp(t, type, tl))
			continue;
		b64 = t + tl + strspn(t + tl, " ");
		bl = strcspn(b64, " ");
		if (bl == 0 || bl * 3 / 4 > sizeof(dec))
			continue;
		len = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)bl);
		/* EVP_DecodeBlock counts the bytes the padding stands for */
		for (size_t p = bl; p && b64[p - 1] == '='; p--)
			len--;
		if (len == (int)n && !CRYPTO_memcmp(dec, blob, n))
			return 1;
	}
	return 0;
}

/* ---- the worker's messages ---- */

static struct msess *sess_get(struct xtapd *d, uint32_t id, int create)
{
	struct msess *free_slot = NULL;

	for (int i = 0; i < MAX_SESSIONS; i++) {
		if (d->s[i].used && d->s[i].id == id)
			return &d->s[i];
		if (!d->s[i].used && !free_slot)
			free_slot = &d->s[i];
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = 1;
	free_slot->id = id;
	return free_slot;
}

static void settle_save_flush(struct xtapd *d, int final);
static void worker_lost(struct xtapd *d, const char *why);

/* Never blocks: what the worker has not taken waits in d->sup's bounded
 * queue; a worker whose queue overflows is of no more use (it is not
 * reading), it is killed and restarted. */
static void worker_send(struct xtapd *d, const uint8_t *buf, size_t n)
{
	if (d->sup.fd < 0)
		return; /* gone: its sessions were dropped with it */
	if (xtap_sup_send(&d->sup, buf, n, mono_ms()) < 0)
		worker_lost(d, errno == ENOBUFS ? "its queue is full" : "cannot send to it");
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

	xtap_persist_undo(&d->ps);
	for (size_t i = q->n; i-- > 0;) {
		size_t k = q->m[i].ack, n = 0, len;
		const struct xtap_persist_ack *a;
		uint8_t *enc;

		if (!k)
			continue;
		a = &d->ps.acks[k - 1];
		if (buf)
			n = xtap_persist_refusal(&d->ps, k, cb_source(d, a->csource.s), wall_ms(), buf,
						 DTCP_REPLY_SOFT_MAX);
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
	e->d->emitted = true; /* the library audits the reply next (cb_audit_request) */
}

/* Events anyone can cause before logging in: written one by one up to a
 * burst per kind and minute, then counted (loader/evlimit.h). Kind 0 is a
 * failed authentication, the others the worker's event kinds. */
static bool preauth_event(uint32_t kind)
{
	return kind != MON_EV_IDLE_TIMEOUT && kind != MON_EV_REFUSED;
}

static void audit_auth_fail(struct xtapd *d, uint64_t now, const char *user, const char *peer,
			    const char *method)
{
	if (xtap_evlimit_allow(&d->evl, 0, mono_ms()))
		xtap_audit_auth_fail(d->audit, now, user, peer, method);
}

static void audit_worker_event(struct xtapd *d, uint64_t now, uint32_t kind, const char *peer)
{
	char detail[96];

	if (preauth_event(kind) && !xtap_evlimit_allow(&d->evl, kind, mono_ms()))
		return;
	snprintf(detail, sizeof(detail), "%s from %s", mon_event_name(kind), peer);
	xtap_audit_event(d->audit, now, XTAP_EV_CONNECTION_REFUSED, detail);
}

/* The summaries of what evlimit held back, once its window is over. */
static void audit_suppressed(struct xtapd *d)
{
	uint64_t count;
	char detail[96];
	int k;

	while ((k = xtap_evlimit_due(&d->evl, mono_ms(), &count)) >= 0) {
		snprintf(detail, sizeof(detail), "%s: %llu more in %d s not written one by one",
			 k ? mon_event_name((uint32_t)k) : "auth_fail", (unsigned long long)count,
			 XTAP_EVLIMIT_WINDOW_MS / 1000);
		xtap_audit_event(d->audit, wall_ms(), XTAP_EV_SUPPRESSED, detail);
	}
}

/* The monitor's own check of a signed public-key login: the signature the
 * worker forwarded, over what RFC 4252 says it covers, with the authorized
 * key (blob: what pubkey_ok matched against the configuration), in a
 * session not seen before. */
static int signature_ok(struct xtapd *d, struct msess *s, const struct mon_msg *m)
{
	const uint8_t *sid;
	size_t sidlen;
	const char *why = "no signature forwarded";
	int ok = s->sig && !xtap_sig_check(m->user, m->data, m->len, s->sig, s->sig_data_len,
					   s->sig + s->sig_data_len, s->sig_len, &sid, &sidlen, &why);

	if (ok && xtap_sidset_seen(&d->sids, sid, sidlen)) {
		why = "session id already used (a replay)";
		ok = 0;
	}
	free(s->sig);
	s->sig = NULL;
	if (!ok)
		log_warnx("worker: public-key login on connection %u refused: %s", m->session, why);
	return ok;
}

static void sess_free(struct xtapd *d, struct msess *s, const char *why)
{
	free(s->sig);
	if (s->dtcp) {
		dtcp_session_free(&s->ds);
		xtap_audit_event(d->audit, wall_ms(), XTAP_EV_SESSION_CLOSE, why ? why : s->user);
	}
	explicit_bzero(s, sizeof(*s));
}

static void handle(struct xtapd *d, struct mon_msg *m)
{
	/* a slot per connection, taken by CONN_OPEN: anything else for an id
	 * the worker never announced is refused */
	struct msess *s = sess_get(d, m->session, m->type == MON_CONN_OPEN);
	uint64_t now = wall_ms();

	switch (m->type) {
	case MON_CONN_OPEN:
		if (!s) {
			log_warnx("worker: no slot for connection %u: refused", m->session);
			break;
		}
		if (s->peer[0]) { /* ids are never reused in a worker's life */
			log_warnx("worker: connection %u announced twice", m->session);
			break;
		}
		snprintf(s->peer, sizeof(s->peer), "%s", m->peer);
		break;
	case MON_AUTH_PASSWORD: {
		int ok = s && !s->authed && password_ok(d, m->user, m->password);

		if (ok) {
			s->authed = 1;
			snprintf(s->user, sizeof(s->user), "%s", m->user);
			xtap_audit_auth_ok(d->audit, now, m->user, s->peer, "password");
		} else {
			d->stats.auth_fail_password++;
			audit_auth_fail(d, now, m->user, s ? s->peer : NULL, "password");
		}
		send_worker(d, mon_enc_auth_result(d->tx, sizeof(d->tx), m->session, ok));
		break;
	}
	case MON_AUTH_SIG:
		if (!s || s->authed) {
			log_warnx("worker: signature for connection %u that cannot use it", m->session);
			break;
		}
		free(s->sig);
		s->sig = malloc(m->len + m->siglen);
		if (s->sig) {
			memcpy(s->sig, m->data, m->len);
			memcpy(s->sig + m->len, m->sig, m->siglen);
			s->sig_data_len = m->len;
			s->sig_len = m->siglen;
		}
		break;
	case MON_AUTH_PUBKEY: {
		int ok = s && !s->authed && pubkey_ok(d, m->user, m->keytype, m->data, m->len);

		/* a signed request: the monitor verifies the signature itself */
		if (ok && m->key_signed)
			ok = signature_ok(d, s, m);

		if (ok && m->key_signed) {
			s->authed = 1;
			snprintf(s->user, sizeof(s->user), "%s", m->user);
			xtap_audit_auth_ok(d->audit, now, m->user, s->peer, "publickey");
		} else if (!ok && m->key_signed) {
			d->stats.auth_fail_publickey++;
			audit_auth_fail(d, now, m->user, s ? s->peer : NULL, "publickey");
		}
		send_worker(d, mon_enc_auth_result(d->tx, sizeof(d->tx), m->session, ok));
		break;
	}
	case MON_SESSION_OPEN: {
		char detail[MON_USER_MAX + MON_PEER_MAX + 8];

		/* only for the user this monitor authenticated on this connection */
		if (!s || !s->authed || s->dtcp || strcmp(s->user, m->user)) {
			log_warnx("worker: refused a session open for connection %u", m->session);
			break;
		}
		if (dtcp_session_init(&s->ds, &d->srv, m->user, s->peer)) {
			log_warnx("cannot start a DTCP session");
			break;
		}
		s->dtcp = 1;
		snprintf(detail, sizeof(detail), "%s from %s", m->user, s->peer);
		xtap_audit_event(d->audit, now, XTAP_EV_SESSION_OPEN, detail);
		break;
	}
	case MON_DTCP_DATA: {
		struct emit_ctx e = { d, m->session };

		if (!s || !s->dtcp || s->closed)
			break;
		xtap_audit_set_peer(d->audit, s->ds.peer_addr);
		d->peer = s->ds.peer_addr;
		d->session = m->session;
		if (dtcp_session_feed(&s->ds, m->data, m->len, now, emit, &e) == DTCP_SESSION_CLOSE) {
			s->closed = 1;
			send_worker(d, mon_enc_empty(d->tx, sizeof(d->tx), MON_DTCP_CLOSE, m->session));
		}
		break;
	}
	case MON_DTCP_EOF:
		if (s && s->dtcp && !s->closed) {
			s->closed = 1;
			send_worker(d, mon_enc_empty(d->tx, sizeof(d->tx), MON_DTCP_CLOSE, m->session));
		}
		break;
	case MON_SESSION_CLOSE:
		/* the connection or its DTCP session is gone: the slot is free,
		 * whether it ever logged in or not */
		if (s)
			sess_free(d, s, NULL);
		break;
	case MON_EVENT:
		audit_worker_event(d, now, m->kind, m->peer);
		break;
	}
}

/* The worker is gone or of no more use: its sessions drop (their slots
 * free); criteria and copies go on, the datapath is not touched. */
static void worker_lost(struct xtapd *d, const char *why)
{
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (d->s[i].used)
			sess_free(d, &d->s[i], "SSH worker restart");
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

/* ---- start and stop ---- */

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

static int mkparent(const char *path)
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

/* ---- xtapctl (docs/xtapctl.md) ---- */

/* The socket is root's alone: its folder is 0700 and it is 0600, and each
 * peer's uid is checked too (a non-root process with CAP_DAC_OVERRIDE could
 * still connect). A live socket at the path means another xtapd: -2. */
static int ctl_listen(struct xtapd *d)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, probe, rc;

	if (strlen(d->ctl_path) >= sizeof(a.sun_path)) {
		log_warnx("control socket path too long: %s", d->ctl_path);
		return -1;
	}
	memcpy(a.sun_path, d->ctl_path, strlen(d->ctl_path) + 1);
	if (mkparent(d->ctl_path)) {
		log_warn("cannot create the folder of %s", d->ctl_path);
		return -1;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -1;
	rc = connect(probe, (struct sockaddr *)&a, sizeof(a));
	close(probe);
	if (!rc) {
		log_warnx("%s answers: another xtapd is running", d->ctl_path);
		return -2;
	}
	if (unlink(d->ctl_path) && errno != ENOENT) {
		log_warn("cannot remove the stale %s", d->ctl_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	old = umask(0177); /* no window in which the socket is more open than 0600 */
	rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc || chown(d->ctl_path, 0, 0) || chmod(d->ctl_path, 0600) || listen(fd, CTL_BACKLOG)) {
		log_warn("control socket %s", d->ctl_path);
		close(fd);
		return -1;
	}
	return fd;
}

static void ctl_drop(struct ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	xtap_ctl_buf_free(&c->tx);
	c->fd = -1;
	c->nrx = c->off = 0;
}

static void ctl_accept(struct xtapd *d)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct ctl_conn *c = NULL;
	char why[64];
	int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || len != sizeof(cred)) {
		log_warn("xtapctl: cannot identify a peer");
		close(fd);
		return;
	}
	if (cred.uid != 0) {
		snprintf(why, sizeof(why), "xtapctl: uid %u refused", (unsigned)cred.uid);
		log_warnx("%s", why);
		xtap_audit_event(d->audit, wall_ms(), XTAP_EV_CONNECTION_REFUSED, why);
		close(fd);
		return;
	}
	for (int i = 0; i < MAX_CTL_CONNS && !c; i++)
		if (d->ctl[i].fd < 0)
			c = &d->ctl[i];
	if (!c) {
		log_warnx("xtapctl: %d requests already in progress, one refused", MAX_CTL_CONNS);
		close(fd);
		return;
	}
	c->fd = fd;
	c->deadline_ms = wall_ms() + CTL_DEADLINE_MS;
}

static unsigned open_sessions(const struct xtapd *d)
{
	unsigned n = 0;

	for (int i = 0; i < MAX_SESSIONS; i++)
		n += d->s[i].used && d->s[i].dtcp;
	return n;
}

static unsigned used_slots(const struct xtapd *d)
{
	unsigned n = 0;

	for (int i = 0; i < MAX_SESSIONS; i++)
		n += d->s[i].used;
	return n;
}

/* What xtapctl's commands (and the metrics listener's scrapes) may see. */
static struct xtap_ctl_ctx ctl_ctx(struct xtapd *d)
{
	return (struct xtap_ctl_ctx){ .cfg = d->cfg, .dp = &d->dp, .cls = d->cls, .be = &d->be, .srv = &d->srv,
				      .audit = d->audit, .sessions = open_sessions(d), .started_ms = d->started_ms,
				      .now_ms = wall_ms(), .pid = (long)getpid(), .worker_pid = (long)d->sup.pid,
				      .connections = used_slots(d), .worker_restarts = d->sup.restarts,
				      .stats = &d->stats, .refusing = d->ps.refusing, .state_fault = d->ps.fault,
				      .refused = d->ps.refused, .journal_bytes = d->ps.journal.size,
				      .commits = d->ps.saves, .last_save_ms = d->ps.last_save_ms };
}

/* Reads what has come of the request. Returns 1 for a detach request (the
 * connection stays open for the answer after the teardown), else 0. */
static int ctl_read(struct xtapd *d, struct ctl_conn *c)
{
	ssize_t k = read(c->fd, c->rx + c->nrx, sizeof(c->rx) - c->nrx);
	struct xtap_ctl_ctx x = ctl_ctx(d);
	char *nl;

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (k <= 0) {
		ctl_drop(c);
		return 0;
	}
	c->nrx += (size_t)k;
	nl = memchr(c->rx, '\n', c->nrx);
	if (!nl) {
		/* bounded: a line longer than any request is no request */
		if (c->nrx == sizeof(c->rx))
			ctl_drop(c);
		return 0;
	}
	if (xtap_ctl_handle(&x, c->rx, (size_t)(nl - c->rx), &c->tx) == XTAP_CTL_DETACH) {
		c->nrx = (size_t)(nl - c->rx);
		return 1;
	}
	shutdown(c->fd, SHUT_RD);
	return 0;
}

/* Writes as much of the answer as the socket takes now; the rest waits for
 * POLLOUT, so a big answer never holds up the worker's messages. */
static void ctl_write(struct ctl_conn *c)
{
	ssize_t k = send(c->fd, c->tx.p + c->off, c->tx.n - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k < 0) {
		ctl_drop(c);
		return;
	}
	c->off += (size_t)k;
	if (c->off == c->tx.n)
		ctl_drop(c);
}

/* ---- the metrics listener (loader/metrics_http.c) ---- */

/* scrapes come every few seconds: a text younger than this is sent again */
#define METRICS_MIN_MS 100

static void metrics_stop(struct xtapd *d)
{
	xtap_ctl_buf_free(&d->metrics_text);
	if (d->metrics_fd >= 0)
		close(d->metrics_fd);
	d->metrics_fd = -1;
	if (d->metrics_pid > 0) {
		kill(d->metrics_pid, SIGTERM);
		waitpid(d->metrics_pid, NULL, 0);
	}
	d->metrics_pid = 0;
}

static int metrics_start(struct xtapd *d, const char *user)
{
	struct sockaddr_storage ss = { 0 };
	const struct dtcp_addr *a = &d->cfg->metrics_addr;
	socklen_t len;

	if (a->family == DTCP_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(d->cfg->metrics_port);
		memcpy(&s6->sin6_addr, a->a, 16);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(d->cfg->metrics_port);
		memcpy(&s4->sin_addr, a->a, 4);
		len = sizeof(*s4);
	}
	d->metrics_pid = xtap_metrics_start((struct sockaddr *)&ss, len, user, &d->metrics_fd);
	if (d->metrics_pid < 0) {
		log_warn("metrics: cannot listen on port %u", d->cfg->metrics_port);
		d->metrics_pid = 0;
		return -1;
	}
	return 0;
}

/* One scrape: the listener sent a byte, it gets `xtapctl metrics`'s text.
 * The text is built at most once per METRICS_MIN_MS and sent again within
 * it: a listener that asks without end (compromised) costs the monitor a
 * copy, not a walk of the criteria. */
static void metrics_serve(struct xtapd *d)
{
	struct xtap_ctl_ctx x = ctl_ctx(d);
	struct xtap_ctl_buf *out = &d->metrics_text;
	char b;
	ssize_t k = recv(d->metrics_fd, &b, 1, MSG_DONTWAIT);

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k <= 0) {
		log_warnx("metrics: the listener closed its socket: no metrics over HTTP until a restart");
		metrics_stop(d);
		return;
	}
	if (!out->p || x.now_ms - d->metrics_last_ms >= METRICS_MIN_MS) {
		xtap_ctl_buf_free(out);
		xtap_ctl_handle(&x, "metrics", 7, out);
		d->metrics_last_ms = x.now_ms;
	}
	/* the answer is "OK\n" then the text, or "ERROR: ..." */
	if (out->n >= 3 && !memcmp(out->p, "OK\n", 3))
		k = xtap_metrics_send(d->metrics_fd, out->p + 3, out->n - 3);
	else
		k = xtap_metrics_send(d->metrics_fd, NULL, 0);
	if (k) {
		log_warnx("metrics: the listener does not read its answers: stopped");
		metrics_stop(d);
	}
}

/* SIGCHLD: reaps the metrics listener if it is the one that exited (xtapd
 * goes on without it); the worker's exits are worker_reap's. */
static void metrics_reap(struct xtapd *d)
{
	if (d->metrics_pid <= 0 || waitpid(d->metrics_pid, NULL, WNOHANG) != d->metrics_pid)
		return;
	d->metrics_pid = 0;
	log_warnx("metrics: the listener exited: no metrics over HTTP until a restart");
	metrics_stop(d);
}

/* What every start of the worker is given: the listener, the host key's
 * path, the user, limits. Nothing secret (supervise.h). */
static int worker_setup(struct xtapd *d, const char *user, int verbose)
{
	struct xtap_worker_opts *o = &d->sup.o;
	static char listen[64];

	xtap_worker_opts_default(o);
	listen[0] = 0;
	if (d->cfg->listen_addr.family)
		inet_ntop(d->cfg->listen_addr.family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, d->cfg->listen_addr.a,
			  listen, sizeof(listen));
	o->listen_addr = listen[0] ? listen : NULL;
	o->port = d->cfg->listen_port;
	o->hostkey = d->cfg->n_host_keys ? d->cfg->host_keys[0] : DEFAULT_HOST_KEY;
	o->user = user;
	o->max_sessions = d->cfg->connection_limit;
	o->rate_per_min = d->cfg->rate_limit;
	/* a per-source limit above the global one is the global one */
	o->src_sessions = d->cfg->source_connection_limit < o->max_sessions ? d->cfg->source_connection_limit
									     : o->max_sessions;
	o->src_rate = d->cfg->source_rate_limit < o->rate_per_min ? d->cfg->source_rate_limit : o->rate_per_min;
	o->idle_secs = d->cfg->idle_timeout;
	o->log_level = verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	return host_key(o->hostkey);
}

/* An unknown user's password is checked against a hash of the same method
 * and cost as a configured one (its salt part, a fresh password), so that
 * a name that does not exist answers as slowly as one that does. */
static void dummy_hash_make(struct xtapd *d)
{
	const char *model = NULL;
	struct crypt_data cd;
	uint8_t rnd[12];
	char pw[32];
	const char *h;

	for (size_t i = 0; i < d->cfg->n_users && !model; i++)
		if (d->cfg->users[i].password_hash[0] == '$')
			model = d->cfg->users[i].password_hash;
	memset(&cd, 0, sizeof(cd));
	if (getentropy(rnd, sizeof(rnd)))
		memset(rnd, 0x5a, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(pw + 2 * i, sizeof(pw) - 2 * i, "%02x", rnd[i]);
	/* crypt(3) reads the method, cost and salt from the model's prefix */
	h = model ? crypt_r(pw, model, &cd) : NULL;
	if (!h || h[0] != '$')
		h = crypt_r(pw, "$6$xtapdummysalt$", &cd); /* no configured hash: SHA-512, 5000 rounds */
	snprintf(d->dummy_hash, sizeof(d->dummy_hash), "%s", h && h[0] == '$' ? h : "$6$xtap$x");
	explicit_bzero(&cd, sizeof(cd));
	explicit_bzero(pw, sizeof(pw));
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
	       a->source_rate_limit == b->source_rate_limit &&
	       a->idle_timeout == b->idle_timeout && a->listen_port == b->listen_port &&
	       !memcmp(&a->listen_addr, &b->listen_addr, sizeof(a->listen_addr)) &&
	       a->n_host_keys == b->n_host_keys && !memcmp(a->host_keys, b->host_keys, sizeof(a->host_keys));
}

static int addr_same(const struct dtcp_addr *a, const struct dtcp_addr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* A refused reload still reopens the running audit log: logrotate's SIGHUP
 * must not leave xtapd appending to the rotated file. */
static void reload_refused(struct xtapd *d, const char *detail)
{
	const char *path = d->cfg->audit_log[0] ? d->cfg->audit_log : DEFAULT_AUDIT;
	struct xtap_audit *a;

	log_warnx("SIGHUP: the running configuration is unchanged");
	if (mkparent(path) || !(a = xtap_audit_open(path))) {
		log_warn("SIGHUP: cannot reopen the audit log %s: appending to the old file", path);
	} else {
		xtap_audit_close(d->audit);
		d->audit = a;
	}
	xtap_audit_event(d->audit, wall_ms(), XTAP_EV_RELOAD, detail);
}

/* The DTCP library reads the configuration through d->cfg on every call
 * (struct dtcp_config's callbacks), so swapping the pointer applies the new
 * one to every later login and request; criteria already installed stay. */
static void reload(struct xtapd *d)
{
	struct xtap_config *c = calloc(1, sizeof(*c)), *old;
	struct xtap_config_errors *errs = calloc(1, sizeof(*errs));
	const char *audit_path;
	struct xtap_audit *a;
	int diff;

	if (!c || !errs) {
		log_warnx("SIGHUP: no memory to read %s", d->cfg_path);
		reload_refused(d, "refused");
		goto out;
	}
	if (xtap_config_load(d->cfg_path, c, errs)) {
		/* error messages name statements, never secrets (config.h) */
		for (int i = 0; i < errs->kept; i++)
			log_warnx("%s:%d: %s", d->cfg_path, errs->e[i].line, errs->e[i].msg);
		log_warnx("SIGHUP: %d errors in %s", errs->n, d->cfg_path);
		reload_refused(d, "refused");
		goto out;
	}
	diff = xtap_config_diff(d->cfg, c);
	if ((diff & XTAP_CFG_DATAPATH) || !groups_same(d->cfg, c)) {
		log_warnx("SIGHUP: %s changes the datapath (attached interfaces, modes, tunnel, vt pair, "
			  "IPv6, interface groups or state file): restart xtapd to apply it",
			  d->cfg_path);
		reload_refused(d, "refused: restart needed");
		goto out;
	}
	/* the audit log is opened anew on every reload (log rotation) */
	audit_path = c->audit_log[0] ? c->audit_log : DEFAULT_AUDIT;
	if (mkparent(audit_path) || !(a = xtap_audit_open(audit_path))) {
		log_warn("SIGHUP: cannot open the audit log %s", audit_path);
		reload_refused(d, "refused");
		goto out;
	}
	if (!worker_settings_same(d->cfg, c))
		log_warnx("SIGHUP: the SSH listener, host keys, connection and rate limits and idle timeout "
			  "apply only after a restart of xtapd");
	if (!addr_same(&d->cfg->metrics_addr, &c->metrics_addr) || d->cfg->metrics_port != c->metrics_port)
		log_warnx("SIGHUP: the metrics listener applies only after a restart of xtapd");
	old = d->cfg;
	d->cfg = c;
	d->dcfg.max_cdests = c->max_cdests;
	d->dcfg.max_criteria = c->global.max_criteria && c->global.max_criteria < d->dp.max_criteria
				       ? c->global.max_criteria : d->dp.max_criteria;
	c = old;
	dummy_hash_make(d); /* the users' hashes may have changed method or cost */
	xtap_audit_close(d->audit);
	d->audit = a; /* cb_audit reads d->audit */
	d->state_path = d->cfg->state_file[0] ? d->cfg->state_file : DEFAULT_STATE; /* same path, new storage */
	d->ps.path = d->state_path;
	log_info("SIGHUP: %s reloaded%s", d->cfg_path, diff ? "" : " (no change)");
	xtap_audit_event(d->audit, wall_ms(), XTAP_EV_RELOAD, "applied");
out:
	if (c) {
		xtap_config_free(c);
		free(c);
	}
	free(errs);
}

static int datapath_up(struct xtapd *d, const char *pin_dir, uint32_t slots)
{
	struct xtap_dp_opts o = { .pin_dir = pin_dir, .vt_name = d->cfg->vt_name, .vt_peer = d->cfg->vt_peer,
				  .ipv6 = d->cfg->ipv6, .max_criteria = slots };
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	int err;

	if ((err = xtap_dp_open(&d->dp, &o))) {
		log_warnx("datapath: %s", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < d->cfg->n_attach; i++)
		if ((err = xtap_dp_attach(&d->dp, d->cfg->attach[i].netdev, d->cfg->attach[i].mode)))
			return err;
	if (bpf_obj_get_info_by_fd(d->dp.maps.sets, &info, &len))
		return -errno;
	d->cls = xtap_cls_new(&d->dp.maps, d->dp.max_criteria, info.max_entries);
	if (!d->cls)
		return -ENOMEM;
	for (size_t i = 0; i < d->cfg->n_attach; i++) {
		uint32_t ifindex = if_nametoindex(d->cfg->attach[i].netdev);

		if ((err = xtap_cls_iface_add(d->cls, ifindex, groups_of(d, d->cfg->attach[i].netdev))))
			return err;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: xtapd [-f CONFIG] [-n] [-v] [-L] [-P PIN_DIR] [-u WORKER_USER] [-S SOCKET] [-C SLOTS]"
			" [-W PROGRAM]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct xtapd d;
	static struct xtap_config_errors errs;
	const char *pin_dir = DEFAULT_PIN_DIR, *wuser = "nobody";
	int ctl_given = 0;
	uint32_t slots = 0; /* 0: XTAP_MAX_CRITERIA_DEFAULT */
	int check = 0, verbose = 0, leave = 0, opt, sfd, rc = 0, detach = -1, err;
	uint64_t last_expire = 0;
	sigset_t mask;

#ifdef XTAP_FAULT_HOOKS
	if (argc == 2 && !strcmp(argv[1], "--crash-points")) {
		xtap_crash_points_print(stdout);
		return 0;
	}
#endif
	/* the SSH worker: this program exec'd again (supervise.h) */
	if (argc > 1 && !strcmp(argv[1], XTAP_SUP_WORKER_FLAG))
		return xtap_sup_worker_main(argc, argv);
	d.cfg_path = DEFAULT_CONFIG;
	xtap_sup_init(&d.sup);
	d.metrics_fd = -1;
	d.ctl_path = XTAP_CTL_SOCKET;
	d.started_ms = wall_ms();
	for (int i = 0; i < MAX_CTL_CONNS; i++)
		d.ctl[i].fd = -1;
	while ((opt = getopt(argc, argv, "f:nvLP:u:S:C:W:")) != -1) {
		switch (opt) {
		case 'f': d.cfg_path = optarg; break;
		case 'n': check = 1; break;
		case 'v': verbose = 1; break;
		case 'L': leave = 1; break;
		case 'P': pin_dir = optarg; break;
		case 'u': wuser = optarg; break;
		case 'S': d.ctl_path = optarg; ctl_given = 1; break;
		case 'C': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			/* at least a word of the exact pre-filter, at most the default */
			if (errno || *end || optarg[0] == '-' || v < 64 || v > XTAP_MAX_CRITERIA_DEFAULT)
				fatalx("-C: criteria slots from 64 to %u", XTAP_MAX_CRITERIA_DEFAULT);
			slots = (uint32_t)v;
			break;
		}
		case 'W': d.sup.exe = optarg; break;
		default: usage();
		}
	}
	log_init("xtapd", verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	log_libbpf();
	d.cfg = calloc(1, sizeof(*d.cfg));
	if (!d.cfg)
		fatal("memory");
	if (xtap_config_load(d.cfg_path, d.cfg, &errs)) {
		xtap_config_report(d.cfg_path, &errs, stderr);
		return 1;
	}
	if (check) {
		if (xtap_config_warnings(d.cfg, &errs)) /* issue 12: where copies may go */
			xtap_config_report(d.cfg_path, &errs, stderr);
		printf("%s: configuration OK\n", d.cfg_path);
		return 0;
	}
	/* a core of the monitor would hold targets, keys and password hashes */
	{
		struct rlimit no_core = { 0, 0 };

		if (setrlimit(RLIMIT_CORE, &no_core) || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
			fatal("cannot turn core dumps off");
	}
	dummy_hash_make(&d);
	d.state_path = d.cfg->state_file[0] ? d.cfg->state_file : DEFAULT_STATE;
	if (mkparent(d.state_path) || mkparent(d.cfg->audit_log[0] ? d.cfg->audit_log : DEFAULT_AUDIT))
		fatal("cannot create the state or audit folder");
	d.audit = xtap_audit_open(d.cfg->audit_log[0] ? d.cfg->audit_log : DEFAULT_AUDIT);
	if (!d.audit)
		fatal("cannot open the audit log");
	xtap_audit_event(d.audit, wall_ms(), XTAP_EV_START, "xtapd");

	if (datapath_up(&d, pin_dir, slots))
		fatalx("the datapath could not be set up");
	xtap_backend_init(&d.be, d.cls);
	d.be.group_bits = group_bits;
	d.be.group_ctx = &d;
	d.dcfg = (struct dtcp_config){ .ctx = &d, .source = cb_source, .resolve_ifname = cb_ifname,
				       .resolve_vrf = cb_vrf, .cdest_lookup = cb_cdest, .audit = cb_audit,
				       .audit_request = cb_audit_request, .before_change = cb_before_change,
				       .before_request = cb_before_request,
				       .max_cdests = d.cfg->max_cdests,
				       /* the configured total, within what the maps hold */
				       .max_criteria = d.cfg->global.max_criteria && d.cfg->global.max_criteria < d.dp.max_criteria
						       ? d.cfg->global.max_criteria : d.dp.max_criteria };
	if (dtcp_server_init(&d.srv, &d.dcfg, &xtap_dtcp_backend, &d.be))
		fatalx("DTCP server");
	xtap_persist_init(&d.ps, d.state_path, &d.srv, &d.be, d.cls, &d.audit);
	switch (xtap_persist_restore(&d.ps, d.dp.adopted)) {
	case XTAP_RESTORE_REFUSED:
		/* The file is the list of targets: saving now would replace it with
		 * an empty table and lose every warrant in it. Stop without touching
		 * it or its journal; an adopted datapath keeps intercepting until
		 * the file is mended (docs/operations.md "A refused state file"). */
		if (d.dp.adopted)
			xtap_dp_close(&d.dp);
		else
			xtap_dp_teardown(&d.dp);
		xtap_audit_event(d.audit, wall_ms(), XTAP_EV_STOP, "state file refused");
		xtap_audit_close(d.audit);
		log_warnx("not started: mend or move %s (and %s.journal), then start again", d.state_path,
			  d.state_path);
		return XTAPD_EXIT_STATE_REFUSED;
	case XTAP_RESTORE_PARTIAL:
		log_warnx("not every criterion of the state file is active: see the audit log");
		break;
	}
	/* a failure leaves the journal the restore went on with; the records
	 * of criteria installed again are still pending then (persist.c):
	 * one more try at once, then once a second in the main loop */
	if (xtap_persist_snapshot(&d.ps))
		xtap_persist_commit(&d.ps);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		fatal("signalfd");
	d.ctl_fd = ctl_listen(&d);
	/* several xtapd may run, one per network namespace with its own pin
	 * folder: only the first has the default socket unless -S says */
	if (d.ctl_fd == -2 && !ctl_given)
		log_warnx("xtapctl is not available for this xtapd: give it a socket of its own with -S");
	else if (d.ctl_fd < 0)
		fatalx("cannot open the control socket %s", d.ctl_path);
	if (worker_setup(&d, wuser, verbose))
		fatalx("cannot create the SSH host key");
	/* the first start must work (the port, the host key): later ones are
	 * restarts with backoff, the datapath staying up */
	if (xtap_sup_start(&d.sup, mono_ms()))
		fatalx("cannot start the SSH worker");
	if (d.cfg->metrics_port && metrics_start(&d, wuser))
		fatalx("cannot start the metrics listener");
	log_info("serving DTCP on port %u, %zu interfaces attached, %zu criteria", d.cfg->listen_port,
		 d.cfg->n_attach, d.srv.n);

	while (detach < 0) {
		/* fixed slots: worker, signals, control socket, then the xtapctl connections */
		struct pollfd p[4 + MAX_CTL_CONNS] = { { .fd = d.sup.fd, .events = POLLIN },
						      { .fd = sfd, .events = POLLIN },
						      { .fd = d.ctl_fd, .events = POLLIN } };
		/* the metrics listener, last: the other slots keep their places */
		const int pm = 3 + MAX_CTL_CONNS;
		int n, wait = xtap_sup_wait_ms(&d.sup, mono_ms());

		for (int i = 0; i < MAX_CTL_CONNS; i++) {
			p[3 + i].fd = d.ctl[i].fd; /* -1: poll skips it */
			p[3 + i].events = d.ctl[i].tx.n ? POLLOUT : POLLIN;
		}
		if (d.sup.q.head)
			p[0].events |= POLLOUT;
		p[pm] = (struct pollfd){ .fd = d.metrics_fd, .events = POLLIN };
		/* a restart due sooner than the next second */
		n = poll(p, 4 + MAX_CTL_CONNS, wait >= 0 && wait < 1000 ? wait : 1000);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && (p[1].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					reload(&d);
					continue;
				}
				if (si.ssi_signo == SIGCHLD) {
					metrics_reap(&d);
					/* an exit, or a stop or continue: only an
					 * exit ends the worker, never the datapath */
					worker_reap(&d);
					continue;
				}
				break;
			}
		}
		if (n > 0 && p[0].fd >= 0 && (p[0].revents & POLLOUT) && xtap_sup_flush(&d.sup, mono_ms()))
			worker_lost(&d, "cannot send to it");
		if (n > 0 && p[0].fd >= 0 && p[0].fd == d.sup.fd && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			int gone = 0;

			/* a burst of requests, then one state save, then their
			 * replies: a pipelined client does not pay a whole-file
			 * rewrite per message, and no reply announces what the
			 * state file does not hold yet */
			d.out.on = 1;
			xtap_persist_burst_begin(&d.ps);
			xtap_backend_defer(&d.be, true);
			/* one write of the burst's audit lines rather than one per
			 * request (10% of the monitor's time while adding) */
			xtap_audit_hold(d.audit, true);
			for (int k = 0; k < WORKER_BURST; k++) {
				struct pollfd more = { .fd = d.sup.fd, .events = POLLIN };
				struct mon_msg m;
				const char *why;
				long len;

				if (d.sup.fd < 0 || (k && poll(&more, 1, 0) <= 0))
					break;
				len = mon_recv(d.sup.fd, d.rx, sizeof(d.rx));
				if (len == 0) {
					gone = 1;
					break;
				}
				if (len < 0)
					break;
				/* everything from the worker is checked before it is used */
				if (mon_decode(d.rx, (size_t)len, MON_FROM_WORKER, &m, &why) < 0)
					log_warnx("worker: refused message: %s", why);
				else
					handle(&d, &m);
				mon_msg_clear(&m);
				explicit_bzero(d.rx, (size_t)len); /* an AUTH_PASSWORD holds a password */
			}
			settle_save_flush(&d, 1);
			xtap_backend_defer(&d.be, false);
			xtap_persist_burst_end(&d.ps);
			xtap_audit_hold(d.audit, false);
			d.out.on = 0;
			if (gone)
				worker_lost(&d, "it closed its socket");
		}
		if (n > 0 && (p[2].revents & POLLIN))
			ctl_accept(&d);
		if (n > 0 && d.metrics_fd >= 0 && p[pm].fd == d.metrics_fd && (p[pm].revents & (POLLIN | POLLHUP)))
			metrics_serve(&d);
		for (int i = 0; i < MAX_CTL_CONNS && n > 0; i++) {
			struct ctl_conn *c = &d.ctl[i];

			/* the connection in this slot may be newer than the poll */
			if (c->fd < 0 || p[3 + i].fd != c->fd)
				continue;
			if (!c->tx.n && (p[3 + i].revents & (POLLIN | POLLHUP | POLLERR)) && ctl_read(&d, c))
				detach = i;
			else if (c->tx.n && (p[3 + i].revents & (POLLOUT | POLLHUP | POLLERR)))
				ctl_write(c);
		}
		for (int i = 0; i < MAX_CTL_CONNS; i++)
			if (d.ctl[i].fd >= 0 && i != detach && wall_ms() > d.ctl[i].deadline_ms)
				ctl_drop(&d.ctl[i]);
		/* the worker: reaped (a SIGCHLD can be merged with another),
		 * killed when it stalls, started when its backoff is over */
		worker_reap(&d);
		if (xtap_sup_stalled(&d.sup, mono_ms()))
			worker_lost(&d, d.sup.stopped_ms ? "stopped too long" : "it takes nothing the monitor sends");
		if (xtap_sup_due(&d.sup, mono_ms()) && xtap_sup_start(&d.sup, mono_ms()))
			log_warnx("SSH worker: start failed, retried in %llu ms",
				  (unsigned long long)d.sup.backoff_ms);
		audit_suppressed(&d);
		/* idle, total, packet and byte limits, once a second: nothing to
		 * walk without dynamic criteria, and the counters of those with
		 * idle, packet or byte limits in batch reads (not one per rule) */
		if (wall_ms() - last_expire >= 1000) {
			last_expire = wall_ms();
			xtap_persist_poll(&d.ps); /* a compaction's snapshot goes in place */
			if (dtcp_server_expire(&d.srv, last_expire) > 0) {
				xtap_backend_settle(&d.be);
				/* the expiries' audit lines on disk before the state says so */
				if (xtap_audit_sync(d.audit))
					log_warn("cannot sync the audit log");
				xtap_persist_commit(&d.ps); /* a failure is audited there */
			} else if (xtap_persist_pending(&d.ps)) {
				/* what a failed save left pending (the rules a start
				 * installed again, a refused burst's ids) is retried
				 * here too, not only at the next change */
				xtap_persist_commit(&d.ps);
			}
		}
	}

	metrics_stop(&d);
	xtap_sup_stop(&d.sup);
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (d.s[i].used && d.s[i].dtcp)
			dtcp_session_free(&d.s[i].ds);
	xtap_persist_snapshot(&d.ps);
	if (detach >= 0)
		log_info("xtapctl detach: taking the datapath down");
	if (leave && detach < 0) {
		log_info("leaving the datapath running");
		xtap_dp_close(&d.dp);
		err = 0;
	} else {
		err = xtap_dp_teardown(&d.dp);
	}
	xtap_audit_event(d.audit, wall_ms(), XTAP_EV_STOP,
			 leave && detach < 0 ? "datapath left running" : "datapath removed");
	if (detach >= 0) {
		struct ctl_conn *c = &d.ctl[detach];

		/* a few bytes into an empty socket buffer: one send does it */
		xtap_ctl_detached(c->rx, c->nrx, err, &c->tx);
		if (c->tx.full || send(c->fd, c->tx.p, c->tx.n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)c->tx.n)
			log_warnx("xtapctl: cannot answer the detach request");
	}
	for (int i = 0; i < MAX_CTL_CONNS; i++)
		ctl_drop(&d.ctl[i]);
	if (d.ctl_fd >= 0) {
		close(d.ctl_fd);
		if (unlink(d.ctl_path))
			log_warn("cannot remove %s", d.ctl_path);
	}
	xtap_audit_close(d.audit);
	dtcp_server_free(&d.srv);
	xtap_backend_free(&d.be);
	xtap_cls_free(d.cls);
	xtap_config_free(d.cfg);
	free(d.cfg);
	free(d.out.m);
	xtap_persist_free(&d.ps);
	xtap_sidset_free(&d.sids);
	return rc;
}
