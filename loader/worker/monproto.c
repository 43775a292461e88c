// SPDX-License-Identifier: BSD-2-Clause
/* Monitor <-> worker protocol codec (monproto.h, docs/privsep.md).
 *
 * Payloads, after the 12-byte header:
 *   SESSION_OPEN   str user, str peer
 *   AUTH_PASSWORD  str user, str password
 *   AUTH_PUBKEY    u8 signed (0|1), str user, str keytype, blob key
 *   AUTH_RESULT    u32 ok (0|1)
 *   DTCP_DATA, DTCP_REPLY   the bytes (1..MON_DATA_MAX)
 *   EVENT          u32 kind, str peer
 *   DTCP_CREDIT    u32 bytes (1..MON_CREDIT_MAX)
 *   SESSION_CLOSE, DTCP_EOF, DTCP_CLOSE   nothing
 * str and blob are a u16 length and that many bytes (no NUL on the wire).
 * A payload must be consumed exactly. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "monproto.h"

const char *mon_type_name(uint32_t type)
{
	static const char *const names[] = {
		[MON_SESSION_OPEN] = "SESSION_OPEN",   [MON_SESSION_CLOSE] = "SESSION_CLOSE",
		[MON_AUTH_PASSWORD] = "AUTH_PASSWORD", [MON_AUTH_PUBKEY] = "AUTH_PUBKEY",
		[MON_AUTH_RESULT] = "AUTH_RESULT",     [MON_DTCP_DATA] = "DTCP_DATA",
		[MON_DTCP_EOF] = "DTCP_EOF",	       [MON_DTCP_REPLY] = "DTCP_REPLY",
		[MON_DTCP_CLOSE] = "DTCP_CLOSE",       [MON_EVENT] = "EVENT",
		[MON_CONN_OPEN] = "CONN_OPEN",	       [MON_AUTH_SIG] = "AUTH_SIG",
		[MON_DTCP_CREDIT] = "DTCP_CREDIT",
	};
	return type >= 1 && type <= MON_TYPE_MAX ? names[type] : "unknown";
}

const char *mon_event_name(uint32_t kind)
{
	static const char *const names[] = {
		[MON_EV_CONN_LIMIT] = "connection-limit",
		[MON_EV_RATE_LIMIT] = "rate-limit",
		[MON_EV_AUTH_TIMEOUT] = "auth-timeout",
		[MON_EV_AUTH_TRIES] = "auth-tries",
		[MON_EV_IDLE_TIMEOUT] = "idle-timeout",
		[MON_EV_REFUSED] = "refused",
		[MON_EV_SRC_CONN_LIMIT] = "source-connection-limit",
		[MON_EV_SRC_RATE_LIMIT] = "source-rate-limit",
		[MON_EV_AUTH_METHOD] = "auth-method",
		[MON_EV_AUTH_BADSIG] = "auth-bad-signature",
	};
	return kind >= 1 && kind <= MON_EV_KIND_MAX ? names[kind] : "unknown";
}

void mon_msg_clear(struct mon_msg *m)
{
	explicit_bzero(m->password, sizeof(m->password));
}

/* ---- field rules ---------------------------------------------------------- */

bool mon_valid_user(const char *s, size_t n)
{
	if (n == 0 || n >= MON_USER_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) /* also rejects NUL */
			return false;
	}
	return true;
}

bool mon_valid_peer(const char *s, size_t n)
{
	if (n == 0 || n >= MON_PEER_MAX)
		return false;
	/* numeric IPv4/IPv6 text, with an IPv6 zone ("fe80::1%eth0") */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
		      c == ':' || c == '%' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool mon_valid_keytype(const char *s, size_t n)
{
	if (n == 0 || n >= MON_KEYTYPE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '@' || c == '.'))
			return false;
	}
	return true;
}

static bool valid_password(const char *s, size_t n)
{
	return n < MON_PASSWORD_MAX && !memchr(s, 0, n);
}

/* ---- writer ------------------------------------------------------------------ */

struct wr {
	uint8_t *p;
	size_t cap, n;
	bool bad;
};

static void put(struct wr *w, const void *src, size_t n)
{
	if (w->bad || n > w->cap - w->n) {
		w->bad = true;
		return;
	}
	memcpy(w->p + w->n, src, n);
	w->n += n;
}

static void put_u32(struct wr *w, uint32_t v)
{
	put(w, &v, sizeof(v));
}

static void put_str(struct wr *w, const void *s, size_t n)
{
	uint16_t len = (uint16_t)n;
	if (n > UINT16_MAX) {
		w->bad = true;
		return;
	}
	put(w, &len, sizeof(len));
	put(w, s, n);
}

static void begin(struct wr *w, uint8_t *out, size_t cap, uint32_t type, uint32_t session)
{
	*w = (struct wr){ .p = out, .cap = cap };
	put_u32(w, type);
	put_u32(w, session);
	put_u32(w, 0); /* len, set by finish */
}

static size_t finish(struct wr *w)
{
	uint32_t len = (uint32_t)(w->n - MON_HDR_LEN);
	if (w->bad || w->n < MON_HDR_LEN || len > MON_PAYLOAD_MAX)
		return 0;
	memcpy(w->p + 8, &len, sizeof(len));
	return w->n;
}

size_t mon_enc_session_open(uint8_t *out, size_t cap, uint32_t session, const char *user, const char *peer)
{
	struct wr w;
	size_t un = strlen(user), pn = strlen(peer);

	if (!session || !mon_valid_user(user, un) || !mon_valid_peer(peer, pn))
		return 0;
	begin(&w, out, cap, MON_SESSION_OPEN, session);
	put_str(&w, user, un);
	put_str(&w, peer, pn);
	return finish(&w);
}

size_t mon_enc_conn_open(uint8_t *out, size_t cap, uint32_t session, const char *peer)
{
	struct wr w;
	size_t pn = strlen(peer);

	if (!session || !mon_valid_peer(peer, pn))
		return 0;
	begin(&w, out, cap, MON_CONN_OPEN, session);
	put_str(&w, peer, pn);
	return finish(&w);
}

size_t mon_enc_empty(uint8_t *out, size_t cap, uint32_t type, uint32_t session)
{
	struct wr w;

	if (!session || (type != MON_SESSION_CLOSE && type != MON_DTCP_EOF && type != MON_DTCP_CLOSE))
		return 0;
	begin(&w, out, cap, type, session);
	return finish(&w);
}

size_t mon_enc_auth_password(uint8_t *out, size_t cap, uint32_t session, const char *user, const char *password)
{
	struct wr w;
	size_t un = strlen(user), pn = strlen(password);

	if (!session || !mon_valid_user(user, un) || !valid_password(password, pn))
		return 0;
	begin(&w, out, cap, MON_AUTH_PASSWORD, session);
	put_str(&w, user, un);
	put_str(&w, password, pn);
	return finish(&w);
}

size_t mon_enc_auth_pubkey(uint8_t *out, size_t cap, uint32_t session, bool key_signed, const char *user,
			   const char *keytype, const uint8_t *blob, size_t bloblen)
{
	struct wr w;
	uint8_t sig = key_signed;
	size_t un = strlen(user), tn = strlen(keytype);

	if (!session || !mon_valid_user(user, un) || !mon_valid_keytype(keytype, tn) || bloblen == 0 ||
	    bloblen > MON_KEYBLOB_MAX)
		return 0;
	begin(&w, out, cap, MON_AUTH_PUBKEY, session);
	put(&w, &sig, 1);
	put_str(&w, user, un);
	put_str(&w, keytype, tn);
	put_str(&w, blob, bloblen);
	return finish(&w);
}

size_t mon_enc_auth_sig(uint8_t *out, size_t cap, uint32_t session, const uint8_t *signed_data, size_t signed_len,
			const uint8_t *sig, size_t siglen)
{
	struct wr w;

	if (!session || !signed_len || signed_len > MON_SIGNED_MAX || !siglen || siglen > MON_SIG_MAX)
		return 0;
	begin(&w, out, cap, MON_AUTH_SIG, session);
	put_str(&w, signed_data, signed_len);
	put_str(&w, sig, siglen);
	return finish(&w);
}

size_t mon_enc_auth_result(uint8_t *out, size_t cap, uint32_t session, bool ok)
{
	struct wr w;

	if (!session)
		return 0;
	begin(&w, out, cap, MON_AUTH_RESULT, session);
	put_u32(&w, ok ? 1 : 0);
	return finish(&w);
}

size_t mon_enc_data(uint8_t *out, size_t cap, uint32_t type, uint32_t session, const void *data, size_t len)
{
	struct wr w;

	if (!session || (type != MON_DTCP_DATA && type != MON_DTCP_REPLY) || len == 0 || len > MON_DATA_MAX)
		return 0;
	begin(&w, out, cap, type, session);
	put(&w, data, len);
	return finish(&w);
}

size_t mon_enc_credit(uint8_t *out, size_t cap, uint32_t session, uint32_t bytes)
{
	struct wr w;

	if (!session || bytes == 0 || bytes > MON_CREDIT_MAX)
		return 0;
	begin(&w, out, cap, MON_DTCP_CREDIT, session);
	put_u32(&w, bytes);
	return finish(&w);
}

size_t mon_enc_event(uint8_t *out, size_t cap, uint32_t session, uint32_t kind, const char *peer)
{
	struct wr w;
	size_t pn = strlen(peer);

	if (kind < 1 || kind > MON_EV_KIND_MAX || !mon_valid_peer(peer, pn))
		return 0;
	begin(&w, out, cap, MON_EVENT, session);
	put_u32(&w, kind);
	put_str(&w, peer, pn);
	return finish(&w);
}

/* ---- reader ------------------------------------------------------------------ */

struct rd {
	const uint8_t *p;
	size_t n, off;
	bool bad;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	const uint8_t *at;

	if (r->bad || n > r->n - r->off) {
		r->bad = true;
		return NULL;
	}
	at = r->p + r->off;
	r->off += n;
	return at;
}

static uint32_t get_u32(struct rd *r)
{
	uint32_t v = 0;
	const uint8_t *at = take(r, sizeof(v));
	if (at)
		memcpy(&v, at, sizeof(v));
	return v;
}

static const uint8_t *get_blob(struct rd *r, size_t *len)
{
	uint16_t n = 0;
	const uint8_t *at = take(r, sizeof(n));
	if (!at)
		return NULL;
	memcpy(&n, at, sizeof(n));
	*len = n;
	return take(r, n);
}

/* A string field into a NUL-terminated buffer of cap bytes, checked by ok. */
static bool get_str(struct rd *r, char *dst, size_t cap, bool (*ok)(const char *, size_t))
{
	size_t n;
	const uint8_t *s = get_blob(r, &n);

	if (!s || n >= cap || !ok((const char *)s, n))
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

static bool worker_type(uint32_t t)
{
	return t == MON_SESSION_OPEN || t == MON_SESSION_CLOSE || t == MON_AUTH_PASSWORD || t == MON_AUTH_PUBKEY ||
		t == MON_DTCP_DATA || t == MON_DTCP_EOF || t == MON_EVENT || t == MON_CONN_OPEN || t == MON_AUTH_SIG ||
		t == MON_DTCP_CREDIT;
}

static bool monitor_type(uint32_t t)
{
	return t == MON_AUTH_RESULT || t == MON_DTCP_REPLY || t == MON_DTCP_CLOSE;
}

#define FAIL(msg) \
	do { \
		*why = (msg); \
		goto fail; \
	} while (0)

int mon_decode(const uint8_t *buf, size_t n, enum mon_sender from, struct mon_msg *m, const char **why)
{
	struct rd r;
	uint32_t len;
	size_t bl;

	memset(m, 0, sizeof(*m));
	if (n < MON_HDR_LEN)
		FAIL("shorter than the header");
	if (n > MON_MSG_MAX)
		FAIL("longer than MON_MSG_MAX");
	memcpy(&m->type, buf, 4);
	memcpy(&m->session, buf + 4, 4);
	memcpy(&len, buf + 8, 4);
	if (len != n - MON_HDR_LEN)
		FAIL("length field does not match the datagram");
	if (m->type < 1 || m->type > MON_TYPE_MAX)
		FAIL("unknown type");
	if (from == MON_FROM_WORKER ? !worker_type(m->type) : !monitor_type(m->type))
		FAIL("type not allowed from this sender");
	if (m->session == 0 && m->type != MON_EVENT)
		FAIL("session 0");
	r = (struct rd){ .p = buf + MON_HDR_LEN, .n = len };

	switch (m->type) {
	case MON_SESSION_OPEN:
		if (!get_str(&r, m->user, sizeof(m->user), mon_valid_user))
			FAIL("bad user");
		if (!get_str(&r, m->peer, sizeof(m->peer), mon_valid_peer))
			FAIL("bad peer");
		break;
	case MON_CONN_OPEN:
		if (!get_str(&r, m->peer, sizeof(m->peer), mon_valid_peer))
			FAIL("bad peer");
		break;
	case MON_AUTH_PASSWORD:
		if (!get_str(&r, m->user, sizeof(m->user), mon_valid_user))
			FAIL("bad user");
		if (!get_str(&r, m->password, sizeof(m->password), valid_password))
			FAIL("bad password field");
		break;
	case MON_AUTH_PUBKEY: {
		const uint8_t *sig = take(&r, 1);
		if (!sig || *sig > 1)
			FAIL("bad signed flag");
		m->key_signed = *sig;
		if (!get_str(&r, m->user, sizeof(m->user), mon_valid_user))
			FAIL("bad user");
		if (!get_str(&r, m->keytype, sizeof(m->keytype), mon_valid_keytype))
			FAIL("bad key type");
		m->data = get_blob(&r, &bl);
		if (!m->data || bl == 0 || bl > MON_KEYBLOB_MAX)
			FAIL("bad key blob");
		m->len = bl;
		break;
	}
	case MON_AUTH_SIG:
		m->data = get_blob(&r, &bl);
		if (!m->data || bl == 0 || bl > MON_SIGNED_MAX)
			FAIL("bad signed data");
		m->len = bl;
		m->sig = get_blob(&r, &bl);
		if (!m->sig || bl == 0 || bl > MON_SIG_MAX)
			FAIL("bad signature");
		m->siglen = bl;
		break;
	case MON_AUTH_RESULT:
		m->ok = get_u32(&r);
		if (r.bad || m->ok > 1)
			FAIL("bad result");
		break;
	case MON_DTCP_DATA:
	case MON_DTCP_REPLY:
		if (len == 0 || len > MON_DATA_MAX)
			FAIL("data size out of bounds");
		m->data = take(&r, len);
		m->len = len;
		break;
	case MON_DTCP_CREDIT:
		m->credit = get_u32(&r);
		if (r.bad || m->credit == 0 || m->credit > MON_CREDIT_MAX)
			FAIL("bad credit");
		break;
	case MON_EVENT:
		m->kind = get_u32(&r);
		if (r.bad || m->kind < 1 || m->kind > MON_EV_KIND_MAX)
			FAIL("bad event kind");
		if (!get_str(&r, m->peer, sizeof(m->peer), mon_valid_peer))
			FAIL("bad peer");
		break;
	default: /* SESSION_CLOSE, DTCP_EOF, DTCP_CLOSE: no payload */ break;
	}
	if (r.bad || r.off != r.n)
		FAIL("payload size does not match its fields");
	*why = NULL;
	return 0;
fail:
	mon_msg_clear(m);
	return -1;
}

/* ---- I/O ---------------------------------------------------------------------- */

int mon_send(int fd, const uint8_t *buf, size_t n)
{
	ssize_t k;

	do
		k = send(fd, buf, n, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -1;
	if ((size_t)k != n) { /* SEQPACKET is all or nothing; never expected */
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

long mon_recv(int fd, uint8_t *buf, size_t cap)
{
	ssize_t k;

	do
		k = recv(fd, buf, cap, MSG_TRUNC);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -1;
	if ((size_t)k > cap) { /* MSG_TRUNC returns the real length */
		errno = EMSGSIZE;
		return -1;
	}
	return (long)k;
}
