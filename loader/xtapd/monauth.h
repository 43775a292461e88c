/* SPDX-License-Identifier: BSD-2-Clause */
/* The monitor's side of the worker's connections (docs/privsep.md "What the
 * monitor checks"): a slot per connection from CONN_OPEN to SESSION_CLOSE,
 * every authentication decision (password against crypt(3), public key
 * against the configuration, the signature verified here with sigcheck.c,
 * no replayed session id), the DTCP session opened only for the user
 * authenticated on that connection, and the audit lines of all that, the
 * pre-auth ones rate-limited (evlimit.h). It takes messages mon_decode
 * accepted and answers through the owner's send callback, which must never
 * block; the DTCP bytes of an open session are the owner's (xtapd.c feeds
 * them to the DTCP library). */
#ifndef XTAP_MONAUTH_H
#define XTAP_MONAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ctl.h"
#include "dtcp.h"
#include "evlimit.h"
#include "monproto.h"
#include "sigcheck.h"

struct xtap_audit;

#define XTAP_MON_SESSIONS 256 /* above any connection-limit the worker enforces (75 default) */

/* One per connection the worker serves: CONN_OPEN to SESSION_CLOSE. */
struct xtap_msess {
	int used, authed, dtcp, closed;
	uint32_t id;
	char user[MON_USER_MAX];
	char peer[MON_PEER_MAX]; /* from CONN_OPEN: in every authentication audit line */
	uint8_t *sig; /* AUTH_SIG: signed data then signature, for the next AUTH_PUBKEY */
	size_t sig_data_len, sig_len;
	struct dtcp_session ds;
	/* reply bytes sent to the worker that it has not yet written to the
	 * channel (DTCP_CREDIT): a LIST's next reply is made only below
	 * xtapd's window */
	size_t unacked;
	int eof_wait; /* DTCP_EOF came while a LIST streams: closed after it */
};

struct xtap_monauth {
	/* the owner's, read on every message: a reload swaps what they point at */
	struct xtap_config **cfg;
	struct xtap_audit **audit;
	struct dtcp_server *srv;
	struct xtap_ctl_stats *stats; /* failed logins counted for the metrics */
	/* answers are encoded into tx; send hands its first n bytes to the
	 * worker without blocking (xtapd queues them) */
	uint8_t *tx;
	size_t tx_size;
	void (*send)(void *ctx, size_t n);
	void *ctx;
	bool stream_lists; /* DTCP sessions answer LISTs a reply at a time (xtapd) */

	struct xtap_evlimit evl; /* pre-auth audit lines, rate-limited */
	char dummy_hash[256]; /* what an unknown user's password is checked against */
	struct xtap_sidset sids; /* session ids of accepted public-key logins: no replay */
	struct dtcp_source_policy pol; /* scratch for the flow-tap-operation check */
	struct xtap_msess s[XTAP_MON_SESSIONS];
};

/* An unknown user's password hash of the same method and cost as a
 * configured one: at start and after every reload. */
void xtap_monauth_dummy_hash(struct xtap_monauth *ma);
/* Every message but DTCP_DATA (xtap_monauth_dtcp gives its session). */
void xtap_monauth_handle(struct xtap_monauth *ma, const struct mon_msg *m);
/* The open DTCP session of connection id that still takes data, or NULL. */
struct xtap_msess *xtap_monauth_dtcp(struct xtap_monauth *ma, uint32_t id);
/* Tells the worker to close s's channel (after 3 strikes, or its EOF). */
void xtap_monauth_close_dtcp(struct xtap_monauth *ma, struct xtap_msess *s);
/* The worker is gone: every slot freed, a session_close line (detail why)
 * for each DTCP session. */
void xtap_monauth_drop_all(struct xtap_monauth *ma, const char *why);
/* The slot of connection id, or NULL. */
struct xtap_msess *xtap_monauth_slot(struct xtap_monauth *ma, uint32_t id);
/* Slots taken; DTCP sessions open (xtapctl status). */
unsigned xtap_monauth_connections(const struct xtap_monauth *ma);
unsigned xtap_monauth_sessions(const struct xtap_monauth *ma);
/* The summaries of the pre-auth lines held back, once their window is
 * over: call once a second. */
void xtap_monauth_suppressed(struct xtap_monauth *ma);
/* At exit: DTCP sessions and the session-id set freed, no audit line. */
void xtap_monauth_free(struct xtap_monauth *ma);

#endif
