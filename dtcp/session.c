/* SPDX-License-Identifier: BSD-2-Clause */
/* One SSH channel: framing, the no-reply rule for unauthenticated messages
 * (docs/dtcp.md 3.3), then the server. Bytes in, replies out, no I/O. */
#include <stdlib.h>
#include <string.h>

#include "dtcp.h"
#include "internal.h"

/* Room for one whole message and the start of the next. */
#define SESSION_BUF (DTCP_MSG_MAX + 64)

int dtcp_session_init(struct dtcp_session *ss, struct dtcp_server *srv, const char *user, const char *peer_addr)
{
	memset(ss, 0, sizeof(*ss));
	ss->srv = srv;
	if (strlen(user) >= sizeof(ss->user.s) || strlen(peer_addr) >= sizeof(ss->peer_addr))
		return -1;
	strcpy(ss->user.s, user);
	strcpy(ss->peer_addr, peer_addr);
	ss->buf = malloc(SESSION_BUF);
	ss->cap = SESSION_BUF;
	return ss->buf ? 0 : -1;
}

void dtcp_session_free(struct dtcp_session *ss)
{
	dtcp_list_free(ss->list);
	free(ss->buf);
	memset(ss, 0, sizeof(*ss));
}

static void drop_front(struct dtcp_session *ss, size_t k)
{
	memmove(ss->buf, ss->buf + k, ss->n - k);
	ss->n -= k;
}

/* A message that gets no reply: audited with a fixed reason, counted. */
static void unanswered(struct dtcp_session *ss, const char *why)
{
	const struct dtcp_config *cfg = ss->srv->cfg;
	if (cfg->audit)
		cfg->audit(cfg->ctx, ss->user.s, "-", 0, 0, why);
	ss->fails++;
}

static const struct dtcp_source_policy *authenticate(struct dtcp_session *ss, const char *msg, const struct dtcp_msg *m,
						     struct dtcp_name *cs)
{
	const struct dtcp_config *cfg = ss->srv->cfg;
	const struct dtcp_hdr *h = dtcp_msg_get(m, "Csource-ID");
	const struct dtcp_source_policy *pol;

	if (!h || dtcp_unescape_name(h->value.p, h->value.n, cs) ||
	    (!cfg->any_csource && strcmp(cs->s, ss->user.s) != 0) || !(pol = cfg->source(cfg->ctx, cs->s))) {
		unanswered(ss, "unknown control source");
		return NULL;
	}
	if (!m->has_auth || !dtcp_hmac_verify(pol->key, pol->keylen, msg, m->signed_len, m->auth.p, m->auth.n)) {
		unanswered(ss, "bad HMAC");
		return NULL;
	}
	if (pol->seq_mode == DTCP_SEQ_STRICT) {
		struct dtcp_range_set rs;
		h = dtcp_msg_get(m, "Seq");
		if (!h || h->value.n == 0 || memchr(h->value.p, '-', h->value.n) ||
		    memchr(h->value.p, ',', h->value.n) || memchr(h->value.p, '*', h->value.n) ||
		    dtcp_parse_range_list(h->value.p, h->value.n, UINT64_MAX, &rs) || rs.n != 1 ||
		    !dtcp_server_seq_accept(ss->srv, cs->s, rs.r[0].lo)) {
			unanswered(ss, "Seq refused");
			return NULL;
		}
	}
	return pol;
}

static void handle_message(struct dtcp_session *ss, const char *msg, size_t n, uint64_t now_ms, dtcp_emit_fn emit,
			   void *arg)
{
	struct dtcp_msg *m = malloc(sizeof(*m));
	struct dtcp_request *r = malloc(sizeof(*r));
	const struct dtcp_source_policy *pol;
	struct dtcp_error err;
	struct dtcp_name cs;

	if (!m || !r) {
		unanswered(ss, "out of memory");
		goto out;
	}
	dtcp_msg_parse(msg, n, m);
	if (!(pol = authenticate(ss, msg, m, &cs)))
		goto out;
	ss->fails = 0;
	if (dtcp_request_parse(m, r, &err)) {
		/* The reply goes to the authenticated source even if the
		 * request is unreadable past its Csource-ID. */
		r->csource = cs;
		dtcp_server_reply_error(ss->srv, pol, r, &err, now_ms, emit, arg);
		goto out;
	}
	dtcp_server_handle_stream(ss->srv, pol, r, ss->peer_addr, now_ms, emit, arg,
				  ss->stream_lists ? &ss->list : NULL);
out:
	free(m);
	free(r);
}

/* Processes every complete message in the buffer. */
static void drain(struct dtcp_session *ss, uint64_t now_ms, dtcp_emit_fn emit, void *arg)
{
	/* behind a LIST being answered, everything waits */
	while (ss->fails < DTCP_FAILS_CLOSE && !ss->list) {
		size_t skip, len;
		if (ss->discarding) {
			bool found;
			drop_front(ss, dtcp_frame_discard(ss->buf, ss->n, &found));
			if (!found)
				return;
			ss->discarding = false;
			/* An oversize message cannot be authenticated: no reply. */
			unanswered(ss, "message over 64 KiB");
			continue;
		}
		switch (dtcp_frame_next(&ss->fr, ss->buf, ss->n, &skip, &len)) {
		case DTCP_FRAME_MESSAGE:
			handle_message(ss, ss->buf + skip, len, now_ms, emit, arg);
			drop_front(ss, skip + len);
			dtcp_framer_reset(&ss->fr);
			break;
		case DTCP_FRAME_OVERSIZE:
			drop_front(ss, skip);
			dtcp_framer_reset(&ss->fr);
			ss->discarding = true;
			break;
		case DTCP_FRAME_MORE:
			if (skip) {
				drop_front(ss, skip);
				dtcp_framer_reset(&ss->fr);
			}
			return;
		}
	}
}

/* While a LIST streams: the bytes wait at the end of buf, which grows up
 * to DTCP_SESSION_HOLD_MAX. false: that much already waits. */
static bool hold(struct dtcp_session *ss, const char *p, size_t n)
{
	if (n > DTCP_SESSION_HOLD_MAX - ss->n) {
		ss->overflow = true;
		return false;
	}
	if (ss->n + n > ss->cap) {
		size_t cap = ss->cap * 2 > ss->n + n ? ss->cap * 2 : ss->n + n;
		char *b;

		if (cap > DTCP_SESSION_HOLD_MAX)
			cap = DTCP_SESSION_HOLD_MAX;
		if (!(b = realloc(ss->buf, cap))) {
			ss->overflow = true;
			return false;
		}
		ss->buf = b;
		ss->cap = cap;
	}
	memcpy(ss->buf + ss->n, p, n);
	ss->n += n;
	return true;
}

static enum dtcp_session_status status(const struct dtcp_session *ss)
{
	return ss->fails >= DTCP_FAILS_CLOSE || ss->overflow ? DTCP_SESSION_CLOSE : DTCP_SESSION_OPEN;
}

enum dtcp_session_status dtcp_session_feed(struct dtcp_session *ss, const void *data, size_t n, uint64_t now_ms,
					   dtcp_emit_fn emit, void *arg)
{
	const char *p = data;

	while (n > 0 && ss->fails < DTCP_FAILS_CLOSE && !ss->overflow) {
		size_t take;

		if (ss->list) { /* a LIST streams: the rest waits behind it */
			hold(ss, p, n);
			break;
		}
		take = ss->n < ss->cap ? ss->cap - ss->n : 0;
		if (take > n)
			take = n;
		if (!take) /* held bytes beyond SESSION_BUF still there: cannot happen, drain ran */
			return hold(ss, p, n) ? DTCP_SESSION_OPEN : DTCP_SESSION_CLOSE;
		memcpy(ss->buf + ss->n, p, take);
		ss->n += take;
		p += take;
		n -= take;
		drain(ss, now_ms, emit, arg);
	}
	return status(ss);
}

bool dtcp_session_listing(const struct dtcp_session *ss)
{
	return ss->list != NULL;
}

enum dtcp_session_status dtcp_session_list_step(struct dtcp_session *ss, uint64_t now_ms, dtcp_emit_fn emit, void *arg)
{
	if (!ss->list)
		return status(ss);
	if (dtcp_list_step(ss->list, now_ms, emit, arg))
		return status(ss);
	dtcp_list_free(ss->list);
	ss->list = NULL;
	/* the requests that waited, in order, up to the next LIST */
	drain(ss, now_ms, emit, arg);
	if (!ss->list && ss->cap > SESSION_BUF && ss->n <= SESSION_BUF) {
		char *b = realloc(ss->buf, SESSION_BUF); /* back to its usual size */

		if (b) {
			ss->buf = b;
			ss->cap = SESSION_BUF;
		}
	}
	return status(ss);
}
