// SPDX-License-Identifier: BSD-2-Clause
/* The monitor's side of the worker's connections: slots, authentication
 * decisions, DTCP session open and close, their audit lines (monauth.h,
 * docs/privsep.md). */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include "audit.h"
#include "b64.h"
#include "clock.h"
#include "log.h"
#include "monauth.h"

static void send_worker(struct xtap_monauth *ma, size_t n)
{
	if (!n) {
		log_warnx("cannot encode an answer to the worker");
		return;
	}
	ma->send(ma->ctx, n);
}

/* ---- authentication (the worker asks, the monitor decides) ---- */

static const struct xtap_cfg_user *dtcp_user(struct xtap_monauth *ma, const char *name)
{
	const struct xtap_cfg_user *u = xtap_config_user(*ma->cfg, name);

	/* only users whose class has flow-tap-operation (and a key) may use DTCP */
	return u && !xtap_config_source_policy(*ma->cfg, name, &ma->pol) ? u : NULL;
}

static int password_ok(struct xtap_monauth *ma, const char *user, const char *pw)
{
	const struct xtap_cfg_user *u = dtcp_user(ma, user);
	/* an unknown user (or one without a password) costs the same crypt:
	 * ma->dummy_hash has the method and cost of a configured hash */
	const char *hash = u && u->password_hash[0] ? u->password_hash : ma->dummy_hash;
	struct crypt_data cd;
	const char *h;
	int ok;

	memset(&cd, 0, sizeof(cd));
	h = crypt_r(pw, hash, &cd);
	ok = h && u && u->password_hash[0] && strlen(h) == strlen(hash) && !CRYPTO_memcmp(h, hash, strlen(hash));
	explicit_bzero(&cd, sizeof(cd));
	return ok;
}

static int pubkey_ok(struct xtap_monauth *ma, const char *user, const char *type, const uint8_t *blob, size_t n)
{
	const struct xtap_cfg_user *u = dtcp_user(ma, user);

	if (!u)
		return 0;
	for (size_t i = 0; i < u->n_ssh_keys; i++) {
		const char *t = u->ssh_keys[i].text, *b64;
		uint8_t dec[MON_KEYBLOB_MAX];
		size_t tl, bl;
		long len;

		if (!t)
			continue;
		tl = strcspn(t, " ");
		if (tl != strlen(type) || strncmp(t, type, tl))
			continue;
		b64 = t + tl + strspn(t + tl, " ");
		bl = strcspn(b64, " ");
		len = xtap_b64_decode(b64, bl, dec, sizeof(dec));
		if (len > 0 && len == (long)n && n <= sizeof(dec) && !CRYPTO_memcmp(dec, blob, n))
			return 1;
	}
	return 0;
}

/* An unknown user's password is checked against a hash of the same method
 * and cost as a configured one (its salt part, a fresh password), so that
 * a name that does not exist answers as slowly as one that does. */
void xtap_monauth_dummy_hash(struct xtap_monauth *ma)
{
	const struct xtap_config *cfg = *ma->cfg;
	const char *model = NULL;
	struct crypt_data cd;
	uint8_t rnd[12];
	char pw[32];
	const char *h;

	for (size_t i = 0; i < cfg->n_users && !model; i++)
		if (cfg->users[i].password_hash[0] == '$')
			model = cfg->users[i].password_hash;
	memset(&cd, 0, sizeof(cd));
	if (getentropy(rnd, sizeof(rnd)))
		memset(rnd, 0x5a, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(pw + 2 * i, sizeof(pw) - 2 * i, "%02x", rnd[i]);
	/* crypt(3) reads the method, cost and salt from the model's prefix */
	h = model ? crypt_r(pw, model, &cd) : NULL;
	if (!h || h[0] != '$')
		h = crypt_r(pw, "$6$xtapdummysalt$", &cd); /* no configured hash: SHA-512, 5000 rounds */
	snprintf(ma->dummy_hash, sizeof(ma->dummy_hash), "%s", h && h[0] == '$' ? h : "$6$xtap$x");
	explicit_bzero(&cd, sizeof(cd));
	explicit_bzero(pw, sizeof(pw));
}

/* ---- the slots ---- */

static struct xtap_msess *sess_get(struct xtap_monauth *ma, uint32_t id, int create)
{
	struct xtap_msess *free_slot = NULL;

	for (int i = 0; i < XTAP_MON_SESSIONS; i++) {
		if (ma->s[i].used && ma->s[i].id == id)
			return &ma->s[i];
		if (!ma->s[i].used && !free_slot)
			free_slot = &ma->s[i];
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = 1;
	free_slot->id = id;
	return free_slot;
}

static void sess_free(struct xtap_monauth *ma, struct xtap_msess *s, const char *why)
{
	free(s->sig);
	if (s->dtcp) {
		dtcp_session_free(&s->ds);
		xtap_audit_event(*ma->audit, wall_ms(), XTAP_EV_SESSION_CLOSE, why ? why : s->user);
	}
	explicit_bzero(s, sizeof(*s));
}

struct xtap_msess *xtap_monauth_slot(struct xtap_monauth *ma, uint32_t id)
{
	return sess_get(ma, id, 0);
}

struct xtap_msess *xtap_monauth_dtcp(struct xtap_monauth *ma, uint32_t id)
{
	struct xtap_msess *s = sess_get(ma, id, 0);

	return s && s->dtcp && !s->closed ? s : NULL;
}

void xtap_monauth_close_dtcp(struct xtap_monauth *ma, struct xtap_msess *s)
{
	s->closed = 1;
	send_worker(ma, mon_enc_empty(ma->tx, ma->tx_size, MON_DTCP_CLOSE, s->id));
}

void xtap_monauth_drop_all(struct xtap_monauth *ma, const char *why)
{
	for (int i = 0; i < XTAP_MON_SESSIONS; i++)
		if (ma->s[i].used)
			sess_free(ma, &ma->s[i], why);
}

unsigned xtap_monauth_connections(const struct xtap_monauth *ma)
{
	unsigned n = 0;

	for (int i = 0; i < XTAP_MON_SESSIONS; i++)
		n += ma->s[i].used;
	return n;
}

unsigned xtap_monauth_sessions(const struct xtap_monauth *ma)
{
	unsigned n = 0;

	for (int i = 0; i < XTAP_MON_SESSIONS; i++)
		n += ma->s[i].used && ma->s[i].dtcp;
	return n;
}

void xtap_monauth_free(struct xtap_monauth *ma)
{
	for (int i = 0; i < XTAP_MON_SESSIONS; i++)
		if (ma->s[i].used && ma->s[i].dtcp)
			dtcp_session_free(&ma->s[i].ds);
	xtap_sidset_free(&ma->sids);
}

/* ---- audit lines ---- */

/* Events anyone can cause before logging in: written one by one up to a
 * burst per kind and minute, then counted (loader/common/evlimit.h). Kind 0 is a
 * failed authentication, the others the worker's event kinds. */
static bool preauth_event(uint32_t kind)
{
	return kind != MON_EV_IDLE_TIMEOUT && kind != MON_EV_REFUSED;
}

static void audit_auth_fail(struct xtap_monauth *ma, uint64_t now, const char *user, const char *peer,
			    const char *method)
{
	if (xtap_evlimit_allow(&ma->evl, 0, mono_ms()))
		xtap_audit_auth_fail(*ma->audit, now, user, peer, method);
}

static void audit_worker_event(struct xtap_monauth *ma, uint64_t now, uint32_t kind, const char *peer)
{
	char detail[96];

	if (preauth_event(kind) && !xtap_evlimit_allow(&ma->evl, kind, mono_ms()))
		return;
	snprintf(detail, sizeof(detail), "%s from %s", mon_event_name(kind), peer);
	xtap_audit_event(*ma->audit, now, XTAP_EV_CONNECTION_REFUSED, detail);
}

void xtap_monauth_suppressed(struct xtap_monauth *ma)
{
	uint64_t count;
	char detail[96];
	int k;

	while ((k = xtap_evlimit_due(&ma->evl, mono_ms(), &count)) >= 0) {
		snprintf(detail, sizeof(detail), "%s: %llu more in %d s not written one by one",
			 k ? mon_event_name((uint32_t)k) : "auth_fail", (unsigned long long)count,
			 XTAP_EVLIMIT_WINDOW_MS / 1000);
		xtap_audit_event(*ma->audit, wall_ms(), XTAP_EV_SUPPRESSED, detail);
	}
}

/* ---- the worker's messages ---- */

/* The monitor's own check of a signed public-key login: the signature the
 * worker forwarded, over what RFC 4252 says it covers, with the authorized
 * key (blob: what pubkey_ok matched against the configuration), in a
 * session not seen before. */
static int signature_ok(struct xtap_monauth *ma, struct xtap_msess *s, const struct mon_msg *m)
{
	const uint8_t *sid;
	size_t sidlen;
	const char *why = "no signature forwarded";
	int ok = s->sig &&
		!xtap_sig_check(m->user, m->data, m->len, s->sig, s->sig_data_len, s->sig + s->sig_data_len, s->sig_len,
				&sid, &sidlen, &why);

	if (ok && xtap_sidset_seen(&ma->sids, sid, sidlen)) {
		why = "session id already used (a replay)";
		ok = 0;
	}
	free(s->sig);
	s->sig = NULL;
	if (!ok)
		log_warnx("worker: public-key login on connection %u refused: %s", m->session, why);
	return ok;
}

void xtap_monauth_handle(struct xtap_monauth *ma, const struct mon_msg *m)
{
	/* a slot per connection, taken by CONN_OPEN: anything else for an id
	 * the worker never announced is refused */
	struct xtap_msess *s = sess_get(ma, m->session, m->type == MON_CONN_OPEN);
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
		int ok = s && !s->authed && password_ok(ma, m->user, m->password);

		if (ok) {
			s->authed = 1;
			snprintf(s->user, sizeof(s->user), "%s", m->user);
			xtap_audit_auth_ok(*ma->audit, now, m->user, s->peer, "password");
		} else {
			ma->stats->auth_fail_password++;
			audit_auth_fail(ma, now, m->user, s ? s->peer : NULL, "password");
		}
		send_worker(ma, mon_enc_auth_result(ma->tx, ma->tx_size, m->session, ok));
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
		int ok = s && !s->authed && pubkey_ok(ma, m->user, m->keytype, m->data, m->len);

		/* a signed request: the monitor verifies the signature itself */
		if (ok && m->key_signed)
			ok = signature_ok(ma, s, m);

		if (ok && m->key_signed) {
			s->authed = 1;
			snprintf(s->user, sizeof(s->user), "%s", m->user);
			xtap_audit_auth_ok(*ma->audit, now, m->user, s->peer, "publickey");
		} else if (!ok && m->key_signed) {
			ma->stats->auth_fail_publickey++;
			audit_auth_fail(ma, now, m->user, s ? s->peer : NULL, "publickey");
		}
		send_worker(ma, mon_enc_auth_result(ma->tx, ma->tx_size, m->session, ok));
		break;
	}
	case MON_SESSION_OPEN: {
		char detail[MON_USER_MAX + MON_PEER_MAX + 8];

		/* only for the user this monitor authenticated on this connection */
		if (!s || !s->authed || s->dtcp || strcmp(s->user, m->user)) {
			log_warnx("worker: refused a session open for connection %u", m->session);
			break;
		}
		if (dtcp_session_init(&s->ds, ma->srv, m->user, s->peer)) {
			log_warnx("cannot start a DTCP session");
			break;
		}
		s->dtcp = 1;
		s->ds.stream_lists = ma->stream_lists;
		snprintf(detail, sizeof(detail), "%s from %s", m->user, s->peer);
		xtap_audit_event(*ma->audit, now, XTAP_EV_SESSION_OPEN, detail);
		break;
	}
	case MON_DTCP_EOF:
		/* everything before it answered: with a LIST streaming, once it
		 * and what waits behind it are (xtapd's pump closes it then) */
		if (s && s->dtcp && !s->closed && dtcp_session_listing(&s->ds))
			s->eof_wait = 1;
		else if (s && s->dtcp && !s->closed)
			xtap_monauth_close_dtcp(ma, s);
		break;
	case MON_DTCP_CREDIT:
		if (!s)
			break;
		if (m->credit > s->unacked) { /* more than was sent: a worker's lie or bug */
			log_warnx("worker: credit for connection %u beyond what it was sent", m->session);
			s->unacked = 0;
		} else {
			s->unacked -= m->credit;
		}
		break;
	case MON_SESSION_CLOSE:
		/* the connection or its DTCP session is gone: the slot is free,
		 * whether it ever logged in or not */
		if (s)
			sess_free(ma, s, NULL);
		break;
	case MON_EVENT: audit_worker_event(ma, now, m->kind, m->peer); break;
	}
}
