// SPDX-License-Identifier: BSD-2-Clause
/* xtapd's SSH worker (docs/privsep.md): the network-facing, unprivileged
 * half of the daemon. It serves the flow-tap-dtcp subsystem with libssh and
 * asks the monitor over a SOCK_SEQPACKET socket (monproto.h) for everything
 * that needs a secret or state: password and public-key checks, and DTCP
 * itself (the worker forwards channel bytes and writes back replies).
 *
 * One process, many connections: every libssh session is non-blocking and
 * has its own ssh_event, driven from one poll(2) loop, so a slow or stalled
 * client never holds up another. Per-connection state lives in struct conn,
 * the channel callbacks' userdata; the only global is the listener, inside
 * struct worker on the stack of xtap_worker_main.
 *
 * Authentication is deferred, not answered from a callback: libssh's
 * message queue (no server callbacks set) keeps the ssh_message of an auth
 * request until the monitor's AUTH_RESULT arrives, so a slow crypt(3) in
 * the monitor never blocks the loop. That needs the message API, parts of
 * which libssh 0.10 marks deprecated in favour of callbacks that must
 * answer synchronously: those calls are wrapped in one place below. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "b64.h"
#include "log.h"
#include "monproto.h"
#include "privdrop.h"
#include "worker.h"

#define DTCP_SUBSYSTEM "flow-tap-dtcp"
#define WORKER_TICK_MS 200 /* poll timeout: timers and window waits */
#define WORKER_MONQ_MAX \
	(16u << 20) /* bytes queued for a slow monitor; beyond,
				       the connection adding more is closed */
#define WORKER_EVQ_MAX (1u << 20) /* above this backlog, EVENTs are counted, not sent */
#define WORKER_OUT_MAX \
	(64u << 20) /* reply bytes queued for one client not reading:
					* a LIST of 100,000 criteria is about 32 MiB */
#define WORKER_CREDIT_MIN \
	(64u << 10) /* reply bytes written before a DTCP_CREDIT is
					  sent (sooner when the client's queue is empty):
					  the monitor's LIST window (docs/privsep.md) */
#define WORKER_CLOSE_MS \
	2000 /* after our channel close, wait this long for the
				       client to hang up before dropping the socket */
#define WORKER_WINDOW_MS \
	1000 /* a reply waits this long for a window that takes it
				       whole, then goes out in the pieces that fit */
#define VIS_MAX 64 /* client bytes shown in a log line */
#define PASSWORD_PROMPT "Password: "

enum conn_state {
	C_KEX, /* banner and key exchange */
	C_AUTH, /* waiting for a successful authentication */
	C_AUTHED, /* may open the one session channel */
	C_CLOSING, /* our channel close is out; waiting for the client to hang up */
};

struct outbuf {
	struct outbuf *next;
	size_t len, off;
	uint8_t data[];
};

struct outq {
	struct outbuf *head, **tail;
	size_t bytes;
};

struct worker;

/* One TCP connection: the SSH session, its one channel and DTCP session. */
struct conn {
	struct conn *next;
	struct worker *w;
	uint32_t id; /* also the monitor's session id */
	int fd;
	ssh_session ssh;
	ssh_event ev;
	enum conn_state state;
	bool announced; /* CONN_OPEN sent */
	bool close_sent; /* SESSION_CLOSE sent: nothing more for this id */
	char peer[MON_PEER_MAX];
	uint64_t accepted_ms, active_ms, closing_ms, blocked_ms;
	/* authentication */
	ssh_message pending; /* waits for AUTH_RESULT */
	bool pending_probe; /* pending is a public-key query */
	char pending_user[MON_USER_MAX];
	char kbd_user[MON_USER_MAX]; /* keyboard-interactive: user of the prompt */
	char user[MON_USER_MAX]; /* authenticated */
	unsigned auth_failures;
	unsigned badsig; /* publickey requests libssh refused (ssh_message_free) */
	unsigned gss_refused; /* gssapi-with-mic requests answered (see below) */
	struct { /* the last signature libssh verified (see below) */
		bool have;
		size_t len, siglen;
		uint8_t data[MON_SIGNED_MAX], sig[MON_SIG_MAX];
	} signed_req;
	/* channel and DTCP */
	ssh_channel chan;
	struct ssh_channel_callbacks_struct chan_cb;
	bool chan_refused; /* shell/exec/other subsystem: channel closed */
	bool chan_eof, chan_closed; /* from the client */
	bool dtcp_open; /* SESSION_OPEN sent, SESSION_CLOSE not yet */
	bool eof_sent; /* DTCP_EOF sent: no more DATA */
	bool dtcp_close; /* DTCP_CLOSE received: close once flushed */
	struct outq out; /* replies not yet written */
	size_t credit; /* reply bytes written, not yet told the monitor */
	bool dead;
};

struct worker {
	const struct xtap_worker_opts *o;
	int monfd, lfd;
	ssh_bind bind;
	struct conn *conns;
	unsigned nconns;
	uint32_t next_id;
	/* ring of the last rate_per_min accepts: every accept of the last 60 s
	 * is in it (the global limit refuses more), so it also gives the exact
	 * per-source count */
	struct accept_rec {
		uint64_t ms;
		char peer[MON_PEER_MAX];
	} * accepts;
	unsigned accepts_n, accepts_head;
	struct outq monq; /* datagrams the monitor has not taken yet */
	uint64_t events_dropped;
	/* refused connections in the log: 20 a minute one by one, then counted
	 * (the audit log has them all, rate-limited the same way by the monitor) */
	uint64_t refused_window_ms;
	unsigned refused_logged, refused_hidden;
	bool mon_gone, fatal;
	uint8_t rx[MON_MSG_MAX], tx[MON_MSG_MAX];
};

void xtap_worker_opts_default(struct xtap_worker_opts *o)
{
	*o = (struct xtap_worker_opts){
		.listen_fd = -1,
		.port = XTAP_WORKER_PORT,
		.user = "nobody",
		.max_sessions = XTAP_WORKER_MAX_SESSIONS,
		.rate_per_min = XTAP_WORKER_RATE_PER_MIN,
		.src_sessions = XTAP_WORKER_SRC_SESSIONS,
		.src_rate = XTAP_WORKER_SRC_RATE,
		.idle_secs = XTAP_WORKER_IDLE_SECS,
		.auth_secs = XTAP_WORKER_AUTH_SECS,
		.auth_tries = XTAP_WORKER_AUTH_TRIES,
		.log_level = LOG_LVL_INFO,
	};
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ms from since to now; 0 if since was taken after now (the loop reads the
 * clock once per round, callbacks may stamp a later time) */
static uint64_t elapsed(uint64_t now, uint64_t since)
{
	return now > since ? now - since : 0;
}

/* Client-controlled text for a log line: at most VIS_MAX bytes, anything
 * but printable ASCII as \xNN. */
static const char *vis(const char *s, char out[VIS_MAX * 4 + 4])
{
	size_t o = 0;

	if (!s)
		return "(none)";
	for (size_t i = 0; s[i] && i < VIS_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)sprintf(out + o, "\\x%02x", c);
	}
	if (s[0] && strlen(s) > VIS_MAX) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* ---- gssapi-with-mic: refused before any GSS-API code runs -------------------- */

/* libssh 0.10 answers a gssapi-with-mic userauth request inside its packet
 * handler: the message queue (and so ssh_set_auth_methods) never sees it,
 * and Debian's libssh (built with GSS-API) calls gss_indicate_mechs, whose
 * MIT implementation reads /etc/gss/mech: a syscall the seccomp filter
 * does not allow, the worker would die of SIGSYS at one unauthenticated
 * packet. libssh's way around that, a server callback choosing the
 * mechanism, cannot be used: with any server callback set libssh stops
 * queueing messages and answers them itself, and the worker needs the
 * queue to answer an authentication only once the monitor has decided.
 *
 * So this binary defines gss_indicate_mechs itself. The dynamic linker
 * binds libssh's reference to the executable's definition (an unversioned
 * definition in the executable satisfies libssh's versioned reference,
 * gssapi_krb5_2_MIT), and no GSS-API library code runs: it reports an
 * empty set of mechanisms, libssh finds no mechanism in common with the
 * client's list and answers USERAUTH_FAILURE with our methods
 * (ssh_auth_reply_default); it never creates a GSS context, so the token
 * and MIC handlers refuse anything later. The set is freed by libssh with
 * gss_release_oid_set, i.e. free() of elements (NULL) and of the set.
 * Nothing else in xtapd uses GSS-API. */
typedef uint32_t xtap_OM_uint32;
struct xtap_gss_oid_set {
	size_t count;
	void *elements;
}; /* gss_OID_set_desc */

static struct conn *polling; /* the connection libssh is processing packets for */

xtap_OM_uint32 gss_indicate_mechs(xtap_OM_uint32 *minor, struct xtap_gss_oid_set **set);
xtap_OM_uint32 gss_indicate_mechs(xtap_OM_uint32 *minor, struct xtap_gss_oid_set **set)
{
	if (minor)
		*minor = 0;
	if (!set)
		return 1u << 24; /* GSS_S_CALL_INACCESSIBLE_WRITE */
	*set = calloc(1, sizeof(**set));
	if (!*set)
		return 13u << 16; /* GSS_S_FAILURE: libssh then sends no answer */
	if (polling)
		polling->gss_refused++;
	return 0; /* GSS_S_COMPLETE, no mechanism */
}

/* ---- public-key signatures: what the monitor verifies itself ------------------- */

/* libssh 0.10 verifies a public-key login's signature inside its packet
 * handler and gives the application neither the signed data nor the
 * signature nor the session id. It hands both to OpenSSL, though, in one
 * call (pki_crypto.c: EVP_DigestVerify(ctx, sig, siglen, data, datalen)),
 * and on a server that call verifies nothing but userauth signatures. So
 * this binary defines EVP_DigestVerify: it keeps a copy for the connection
 * being processed and calls OpenSSL's. The worker forwards both (AUTH_SIG)
 * with the login, and the monitor checks the data (RFC 4252 7: session id,
 * user, service, key) and the signature itself against the authorized key
 * (loader/xtapd/sigcheck.c). If libssh ever stops calling it, nothing is
 * captured and public-key logins fail: closed, never open. The monitor
 * calls it too (through here, passed on unchanged). */
typedef int (*digest_verify_fn)(EVP_MD_CTX *, const unsigned char *, size_t, const unsigned char *, size_t);
static digest_verify_fn real_digest_verify;

static void digest_verify_resolve(void)
{
	void *f = dlsym(RTLD_NEXT, "EVP_DigestVerify");

	/* object to function pointer: memcpy, as POSIX dlsym users must */
	if (f)
		memcpy(&real_digest_verify, &f, sizeof(f));
}

int EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs, size_t tbslen)
{
	if (!real_digest_verify)
		digest_verify_resolve();
	if (polling) {
		struct conn *c = polling;

		c->signed_req.have = tbslen && tbslen <= MON_SIGNED_MAX && siglen && siglen <= MON_SIG_MAX;
		if (c->signed_req.have) {
			memcpy(c->signed_req.data, tbs, tbslen);
			memcpy(c->signed_req.sig, sig, siglen);
			c->signed_req.len = tbslen;
			c->signed_req.siglen = siglen;
		}
	}
	return real_digest_verify ? real_digest_verify(ctx, sig, siglen, tbs, tbslen) : -1;
}

/* libssh 0.10 (messages.c) frees a publickey request whose signature does
 * not verify (or cannot be read) inside its packet handler without queueing
 * it: the client would get no answer and wait for the auth deadline. libssh
 * calls ssh_message_free through its PLT, so this binary defines it: a
 * userauth publickey request that libssh frees while processing packets
 * (never one of the worker's own frees) is answered USERAUTH_FAILURE with
 * the offered methods first, and counted as a failure after libssh returns
 * (conn_step): dropping the connection inside the handler would free what
 * it still uses. */
static bool own_free; /* the worker frees a message it handled */
static void (*real_message_free)(ssh_message);

void ssh_message_free(ssh_message m)
{
	if (!real_message_free) {
		void *f = dlsym(RTLD_NEXT, "ssh_message_free");

		if (f)
			memcpy(&real_message_free, &f, sizeof(f));
	}
/* deprecated in 0.10 in favour of server callbacks, which this worker does not
 * use for userauth; it is the only way to read the state of a freed request */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	if (m && polling && !own_free && !polling->dead && ssh_message_type(m) == SSH_REQUEST_AUTH &&
	    ssh_message_subtype(m) == SSH_AUTH_METHOD_PUBLICKEY &&
	    (ssh_message_auth_publickey_state(m) == SSH_PUBLICKEY_STATE_WRONG ||
	     ssh_message_auth_publickey_state(m) == SSH_PUBLICKEY_STATE_ERROR)) {
#pragma GCC diagnostic pop
		/* libssh 0.10 never queues these (queries and valid signatures
		 * it queues, and the worker answers them) */
		ssh_message_reply_default(m);
		polling->signed_req.have = false; /* the refused signature is not forwarded */
		polling->badsig++;
	}
	if (real_message_free)
		real_message_free(m);
}

/* The worker's own frees: never answered by the hook above. */
static void message_done(ssh_message m)
{
	own_free = true;
	ssh_message_free(m);
	own_free = false;
}

/* ---- queues ----------------------------------------------------------------- */

static void outq_init(struct outq *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->bytes = 0;
}

static int outq_push(struct outq *q, const void *data, size_t n)
{
	struct outbuf *b = malloc(sizeof(*b) + n);

	if (!b)
		return -1;
	b->next = NULL;
	b->len = n;
	b->off = 0;
	memcpy(b->data, data, n);
	*q->tail = b;
	q->tail = &b->next;
	q->bytes += n;
	return 0;
}

static void outq_pop(struct outq *q)
{
	struct outbuf *b = q->head;

	q->head = b->next;
	if (!q->head)
		q->tail = &q->head;
	q->bytes -= b->len;
	explicit_bzero(b->data, b->len); /* a queued AUTH_PASSWORD holds a password */
	free(b);
}

static void outq_free(struct outq *q)
{
	while (q->head)
		outq_pop(q);
}

/* ---- to the monitor ------------------------------------------------------------ */

static void mon_flush(struct worker *w)
{
	while (w->monq.head) {
		struct outbuf *b = w->monq.head;
		if (mon_send(w->monfd, b->data, b->len) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_warn("worker: send to the monitor");
			w->mon_gone = true;
			return;
		}
		outq_pop(&w->monq);
	}
}

/* Sends one encoded datagram, or queues it behind those the monitor has
 * not taken yet (the worker never blocks on the monitor, which may itself
 * be blocked writing replies to us). Returns -1 when the queue is full. */
static int mon_push(struct worker *w, size_t n)
{
	if (n == 0) { /* an encoder refused its arguments: a bug here */
		log_warnx("worker: message for the monitor not encodable");
		return -1;
	}
	if (!w->monq.head && mon_send(w->monfd, w->tx, n) == 0)
		return 0;
	if (!w->monq.head && errno != EAGAIN && errno != EWOULDBLOCK) {
		log_warn("worker: send to the monitor");
		w->mon_gone = true;
		return -1;
	}
	if (w->monq.bytes + n > WORKER_MONQ_MAX || outq_push(&w->monq, w->tx, n) < 0) {
		log_warnx("worker: monitor queue full (%zu bytes)", w->monq.bytes);
		return -1;
	}
	return 0;
}

static void mon_event(struct worker *w, uint32_t session, enum mon_event_kind kind, const char *peer)
{
	if (w->monq.bytes > WORKER_EVQ_MAX) {
		if (w->events_dropped++ % 1000 == 0)
			log_warnx("worker: monitor backlog, %llu events not sent",
				  (unsigned long long)w->events_dropped);
		return;
	}
	mon_push(w, mon_enc_event(w->tx, sizeof(w->tx), session, kind, peer));
}

/* ---- connections ------------------------------------------------------------------ */

/* The monitor's slot for this connection goes: once, when its DTCP session
 * or the connection ends (a failed login, a login that never opens the
 * subsystem, a timeout all free it). */
static void session_close(struct conn *c)
{
	if (c->announced && !c->close_sent)
		mon_push(c->w, mon_enc_empty(c->w->tx, sizeof(c->w->tx), MON_SESSION_CLOSE, c->id));
	c->close_sent = true;
	c->dtcp_open = false;
}

static void conn_drop(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	log_debug("worker: connection %u from %s closed: %s", c->id, c->peer, why);
	session_close(c);
	c->dead = true;
}

static void conn_free(struct conn *c)
{
	if (c->pending)
		message_done(c->pending);
	outq_free(&c->out);
	ssh_event_remove_session(c->ev, c->ssh);
	ssh_event_free(c->ev);
	ssh_disconnect(c->ssh); /* DISCONNECT if the socket is still open, then close */
	ssh_free(c->ssh); /* frees the channel too */
	c->w->nconns--;
	free(c);
}

/* Our side of the end: replies flushed, EOF and CLOSE on the channel, then a
 * short wait for the client to hang up (dropping the socket at once could
 * reset it before the client has read the last reply). */
static void conn_close_channel(struct conn *c, const char *why)
{
	if (c->chan && !c->chan_closed) {
		/* exit-status 0 after a DTCP session, as a subsystem process
		 * exiting would give (OpenSSH's client exits 255 without one) */
		if (c->dtcp_open && ssh_channel_request_send_exit_status(c->chan, 0) != SSH_OK) {
			conn_drop(c, "exit-status failed");
			return;
		}
		if (ssh_channel_send_eof(c->chan) != SSH_OK || ssh_channel_close(c->chan) != SSH_OK) {
			conn_drop(c, "channel close failed");
			return;
		}
	}
	session_close(c);
	log_debug("worker: connection %u: channel closed: %s", c->id, why);
	c->state = C_CLOSING;
	c->closing_ms = now_ms();
}

static void dtcp_forward(struct conn *c, const uint8_t *p, size_t n)
{
	while (n && !c->dead) {
		size_t k = n < MON_DATA_MAX ? n : MON_DATA_MAX;
		if (mon_push(c->w, mon_enc_data(c->w->tx, sizeof(c->w->tx), MON_DTCP_DATA, c->id, p, k)) < 0) {
			conn_drop(c, "monitor queue full");
			return;
		}
		p += k;
		n -= k;
	}
	c->active_ms = now_ms();
}

static int on_channel_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr, void *userdata)
{
	struct conn *c = userdata;

	(void)s;
	(void)ch;
	/* Data can arrive in the same read as the subsystem request, before we
	 * have handled it (requests are queued messages, data a callback):
	 * leave it in libssh's channel buffer until then. */
	log_debug("worker: connection %u: %u bytes on the channel%s", c->id, len,
		  c->dtcp_open ? "" : " before the subsystem");
	if (!c->dtcp_open && !c->chan_refused && !c->dead && c->state != C_CLOSING)
		return 0;
	if (c->dtcp_open && !c->eof_sent && !c->dtcp_close && !is_stderr)
		dtcp_forward(c, data, len);
	return (int)len; /* taken, or dropped on a channel that is not DTCP */
}

static void on_channel_eof(ssh_session s, ssh_channel ch, void *userdata)
{
	struct conn *c = userdata;

	(void)s;
	(void)ch;
	c->chan_eof = true;
}

static void on_channel_close(ssh_session s, ssh_channel ch, void *userdata)
{
	struct conn *c = userdata;

	(void)s;
	(void)ch;
	c->chan_closed = true;
}

/* The bytes that arrived with or before the subsystem request. */
static void drain_channel(struct conn *c)
{
	uint8_t buf[16384];
	int k;

	while (!c->dead && (k = ssh_channel_read_nonblocking(c->chan, buf, sizeof(buf), 0)) > 0)
		dtcp_forward(c, buf, (size_t)k);
	if (k == SSH_ERROR)
		conn_drop(c, "channel read failed");
}

/* ---- SSH requests ----------------------------------------------------------------- */

/* libssh 0.10 deprecates these accessors in favour of server callbacks,
 * which must answer synchronously; deferring the answer to the monitor's
 * AUTH_RESULT needs the message. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static const char *msg_password(ssh_message m)
{
	return ssh_message_auth_password(m);
}

static ssh_key msg_pubkey(ssh_message m)
{
	return ssh_message_auth_pubkey(m);
}

static enum ssh_publickey_state_e msg_pubkey_state(ssh_message m)
{
	return ssh_message_auth_publickey_state(m);
}
#pragma GCC diagnostic pop

/* The key's wire blob (RFC 4253 6.6), what authorized_keys holds in base64:
 * libssh 0.10 exports only the base64 form. Returns its length or -1. */
static int key_blob(ssh_key key, uint8_t out[MON_KEYBLOB_MAX])
{
	char *b64 = NULL;
	long n;

	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK || !b64)
		return -1;
	n = xtap_b64_decode(b64, strlen(b64), out, MON_KEYBLOB_MAX);
	ssh_string_free_char(b64);
	/* a larger key does not fit the monitor protocol */
	return n > 0 && n <= MON_KEYBLOB_MAX ? (int)n : -1;
}

static void auth_failed(struct conn *c, ssh_message m)
{
	char v[VIS_MAX * 4 + 4];

	if (ssh_message_reply_default(m) != SSH_OK) /* USERAUTH_FAILURE with our methods */
		conn_drop(c, "auth reply failed");
	c->auth_failures++;
	log_debug("worker: connection %u: authentication failure %u for %s", c->id, c->auth_failures,
		  vis(c->pending_user, v));
	if (c->auth_failures >= c->w->o->auth_tries) {
		mon_event(c->w, c->id, MON_EV_AUTH_TRIES, c->peer);
		conn_drop(c, "too many authentication failures");
	}
}

/* Asks the monitor; the message waits in c->pending for the answer. */
static void auth_ask(struct conn *c, ssh_message m, size_t n, bool probe)
{
	if (mon_push(c->w, n) < 0) {
		ssh_message_reply_default(m);
		message_done(m);
		conn_drop(c, "cannot ask the monitor");
		return;
	}
	c->pending = m;
	c->pending_probe = probe;
}

/* Returns true if the message is kept (pending), false if the caller frees it. */
static bool handle_auth(struct conn *c, ssh_message m)
{
	struct worker *w = c->w;
	const char *user = ssh_message_auth_user(m);
	int method = ssh_message_subtype(m);

	if (c->state != C_AUTH) { /* already authenticated, or closing */
		ssh_message_reply_default(m);
		return false;
	}
	snprintf(c->pending_user, sizeof(c->pending_user), "%s", user ? user : "");
	if (method == SSH_AUTH_METHOD_NONE) { /* a client asking which methods exist */
		if (ssh_message_reply_default(m) != SSH_OK)
			conn_drop(c, "auth reply failed");
		return false;
	}
	if (method == SSH_AUTH_METHOD_INTERACTIVE && !ssh_message_auth_kbdint_is_response(m)) {
		const char *prompts[] = { PASSWORD_PROMPT };
		char echo[] = { 0 };
		/* a name too long for kbd_user is refused, never cut to a prefix that
		 * may be a real user */
		if (!user || strlen(user) >= sizeof(c->kbd_user)) {
			auth_failed(c, m);
			return false;
		}
		snprintf(c->kbd_user, sizeof(c->kbd_user), "%s", user);
		if (ssh_message_auth_interactive_request(m, "", "", 1, prompts, echo) != SSH_OK)
			conn_drop(c, "keyboard-interactive request failed");
		return false;
	}
	if (method == SSH_AUTH_METHOD_INTERACTIVE) {
		/* the answer to our one prompt; the user is the prompt's */
		const char *pw = ssh_userauth_kbdint_getnanswers(c->ssh) == 1 ?
			ssh_userauth_kbdint_getanswer(c->ssh, 0) :
			NULL;
		snprintf(c->pending_user, sizeof(c->pending_user), "%s", c->kbd_user);
		if (!pw || !mon_valid_user(c->kbd_user, strlen(c->kbd_user)) || strlen(pw) >= MON_PASSWORD_MAX) {
			auth_failed(c, m);
			return false;
		}
		auth_ask(c, m, mon_enc_auth_password(w->tx, sizeof(w->tx), c->id, c->kbd_user, pw), false);
		explicit_bzero(w->tx, sizeof(w->tx));
		return true;
	}
	if (method == SSH_AUTH_METHOD_PASSWORD) {
		const char *pw = msg_password(m);
		if (!pw || !user || !mon_valid_user(user, strlen(user)) || strlen(pw) >= MON_PASSWORD_MAX) {
			auth_failed(c, m);
			return false;
		}
		auth_ask(c, m, mon_enc_auth_password(w->tx, sizeof(w->tx), c->id, user, pw), false);
		explicit_bzero(w->tx, sizeof(w->tx));
		return true;
	}
	if (method == SSH_AUTH_METHOD_PUBLICKEY) {
		ssh_key key = msg_pubkey(m);
		enum ssh_publickey_state_e st = msg_pubkey_state(m);
		uint8_t blob[MON_KEYBLOB_MAX];
		const char *type;
		size_t n = 0;
		int bl;

		/* NONE: a query "would this key do?"; VALID: libssh verified the
		 * signature over this session; anything else failed. */
		if (!key || !user || !mon_valid_user(user, strlen(user)) ||
		    (st != SSH_PUBLICKEY_STATE_NONE && st != SSH_PUBLICKEY_STATE_VALID) ||
		    (bl = key_blob(key, blob)) < 0) {
			auth_failed(c, m);
			return false;
		}
		/* a signed request: what the signature covers goes first, for
		 * the monitor to verify (captured by EVP_DigestVerify above) */
		if (st == SSH_PUBLICKEY_STATE_VALID) {
			if (!c->signed_req.have) {
				log_warnx("worker: connection %u: no signed data captured: login refused", c->id);
				auth_failed(c, m);
				return false;
			}
			c->signed_req.have = false;
			if (mon_push(w,
				     mon_enc_auth_sig(w->tx, sizeof(w->tx), c->id, c->signed_req.data,
						      c->signed_req.len, c->signed_req.sig, c->signed_req.siglen)) <
			    0) {
				auth_failed(c, m);
				return false;
			}
		}
		type = ssh_key_type_to_char(ssh_key_type(key));
		n = mon_enc_auth_pubkey(w->tx, sizeof(w->tx), c->id, st == SSH_PUBLICKEY_STATE_VALID, user,
					type ? type : "", blob, (size_t)bl);
		if (n == 0) { /* a key type or blob outside the protocol's bounds */
			auth_failed(c, m);
			return false;
		}
		auth_ask(c, m, n, st == SSH_PUBLICKEY_STATE_NONE);
		return true;
	}
	/* hostbased and anything unknown: not offered (gssapi-with-mic never
	 * gets here, see gss_indicate_mechs) */
	mon_event(w, c->id, MON_EV_AUTH_METHOD, c->peer);
	auth_failed(c, m);
	return false;
}

/* audit: shell, exec, other subsystems, forwarding: logged and audited;
 * the requests every OpenSSH client sends (env) only at debug level. */
static void refuse(struct conn *c, ssh_message m, const char *what, bool audit)
{
	char v[VIS_MAX * 4 + 4];

	if (audit) {
		log_info("worker: connection %u from %s: refused %s", c->id, c->peer, vis(what, v));
		mon_event(c->w, c->id, MON_EV_REFUSED, c->peer);
	} else {
		log_debug("worker: connection %u: refused %s", c->id, vis(what, v));
	}
	if (ssh_message_reply_default(m) != SSH_OK)
		conn_drop(c, "reply failed");
}

static void handle_channel_open(struct conn *c, ssh_message m)
{
	if (c->state != C_AUTHED || c->chan || ssh_message_subtype(m) != SSH_CHANNEL_SESSION) {
		/* port forwarding, x11, agent, a second session */
		refuse(c, m, "channel open", true);
		return;
	}
	c->chan = ssh_message_channel_request_open_reply_accept(m);
	if (!c->chan) {
		conn_drop(c, "channel accept failed");
		return;
	}
	ssh_callbacks_init(&c->chan_cb);
	c->chan_cb.userdata = c;
	c->chan_cb.channel_data_function = on_channel_data;
	c->chan_cb.channel_eof_function = on_channel_eof;
	c->chan_cb.channel_close_function = on_channel_close;
	if (ssh_set_channel_callbacks(c->chan, &c->chan_cb) != SSH_OK)
		conn_drop(c, "channel callbacks");
	c->active_ms = now_ms();
}

static void handle_channel_request(struct conn *c, ssh_message m)
{
	struct worker *w = c->w;
	int type = ssh_message_subtype(m);

	if (!c->chan || ssh_message_channel_request_channel(m) != c->chan || c->state != C_AUTHED) {
		refuse(c, m, "channel request", false);
		return;
	}
	if (type == SSH_CHANNEL_REQUEST_SUBSYSTEM && !c->dtcp_open && !c->chan_refused) {
		const char *name = ssh_message_channel_request_subsystem(m);
		if (name && !strcmp(name, DTCP_SUBSYSTEM)) {
			if (mon_push(w, mon_enc_session_open(w->tx, sizeof(w->tx), c->id, c->user, c->peer)) < 0) {
				refuse(c, m, "subsystem (monitor unavailable)", false);
				conn_drop(c, "cannot open the DTCP session");
				return;
			}
			c->dtcp_open = true;
			if (ssh_message_channel_request_reply_success(m) != SSH_OK) {
				conn_drop(c, "subsystem reply failed");
				return;
			}
			log_info("worker: connection %u from %s: DTCP session open", c->id, c->peer);
			c->active_ms = now_ms();
			drain_channel(c);
			return;
		}
		refuse(c, m, name ? name : "subsystem", true);
	} else if (type == SSH_CHANNEL_REQUEST_SHELL || type == SSH_CHANNEL_REQUEST_EXEC ||
		   type == SSH_CHANNEL_REQUEST_SUBSYSTEM) {
		refuse(c, m,
		       type == SSH_CHANNEL_REQUEST_SHELL	? "shell" :
			       type == SSH_CHANNEL_REQUEST_EXEC ? "exec" :
								  "second subsystem",
		       true);
	} else {
		/* env (OpenSSH sends LANG), pty, x11, window-change, signals:
		 * refused, the channel stays for the subsystem request */
		refuse(c, m, "pty/env/x11/other channel request", false);
		return;
	}
	if (c->dtcp_open) { /* a second request on a DTCP channel: keep the session */
		return;
	}
	/* shell, exec or another subsystem on a fresh channel: it will never
	 * carry DTCP, close it */
	c->chan_refused = true;
	conn_close_channel(c, "refused request");
}

static void handle_message(struct conn *c, ssh_message m)
{
	bool kept = false;

	switch (ssh_message_type(m)) {
	case SSH_REQUEST_AUTH: kept = handle_auth(c, m); break;
	case SSH_REQUEST_CHANNEL_OPEN: handle_channel_open(c, m); break;
	case SSH_REQUEST_CHANNEL: handle_channel_request(c, m); break;
	case SSH_REQUEST_SERVICE: /* ssh-userauth: libssh's default accepts it */
		if (ssh_message_reply_default(m) != SSH_OK)
			conn_drop(c, "service reply failed");
		break;
	default: /* global requests (tcpip-forward, keepalive, no-more-sessions) */
		if (ssh_message_reply_default(m) != SSH_OK)
			conn_drop(c, "reply failed");
		break;
	}
	if (!kept)
		message_done(m);
}

/* ---- answers from the monitor --------------------------------------------------------- */

static struct conn *conn_find(struct worker *w, uint32_t id)
{
	for (struct conn *c = w->conns; c; c = c->next)
		if (c->id == id && !c->dead)
			return c;
	return NULL;
}

static void auth_result(struct conn *c, bool ok)
{
	ssh_message m = c->pending;
	char v[VIS_MAX * 4 + 4];

	c->pending = NULL;
	if (!ok) {
		auth_failed(c, m);
	} else if (c->pending_probe) {
		if (ssh_message_auth_reply_pk_ok_simple(m) != SSH_OK)
			conn_drop(c, "pk_ok reply failed");
	} else if (ssh_message_auth_reply_success(m, 0) != SSH_OK) {
		conn_drop(c, "auth success reply failed");
	} else {
		snprintf(c->user, sizeof(c->user), "%s", c->pending_user);
		c->state = C_AUTHED;
		c->active_ms = now_ms();
		log_info("worker: connection %u from %s: authenticated as %s", c->id, c->peer, vis(c->user, v));
	}
	message_done(m);
}

static void mon_dispatch(struct worker *w, const struct mon_msg *m)
{
	struct conn *c = conn_find(w, m->session);

	if (!c) { /* a session that ended while the monitor was answering */
		log_debug("worker: %s for gone session %u", mon_type_name(m->type), m->session);
		return;
	}
	switch (m->type) {
	case MON_AUTH_RESULT:
		if (!c->pending) {
			log_warnx("worker: AUTH_RESULT for session %u that asked nothing", c->id);
			return;
		}
		auth_result(c, m->ok);
		break;
	case MON_DTCP_REPLY:
		if (!c->dtcp_open)
			return;
		if (c->out.bytes + m->len > WORKER_OUT_MAX || outq_push(&c->out, m->data, m->len) < 0) {
			conn_drop(c, "client does not read its replies");
			return;
		}
		break;
	case MON_DTCP_CLOSE: c->dtcp_close = true; break;
	}
}

static void mon_read(struct worker *w)
{
	for (;;) {
		struct mon_msg m;
		const char *why;
		long n = mon_recv(w->monfd, w->rx, sizeof(w->rx));

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EMSGSIZE) {
			log_warnx("worker: oversize datagram from the monitor dropped");
			continue;
		}
		if (n < 0) {
			log_warn("worker: read from the monitor");
			w->mon_gone = true;
			return;
		}
		if (n == 0) {
			log_debug("worker: the monitor closed its end");
			w->mon_gone = true;
			return;
		}
		if (mon_decode(w->rx, (size_t)n, MON_FROM_MONITOR, &m, &why) < 0) {
			log_warnx("worker: invalid message from the monitor: %s", why);
			continue;
		}
		mon_dispatch(w, &m);
	}
}

/* ---- per-connection step ------------------------------------------------------------- */

/* Writes queued replies, each with one ssh_channel_write: a reply waits
 * until the client's window takes it whole (deployed clients read a reply
 * with one recv, dtcp.md 1), for at most WORKER_WINDOW_MS. */
static void flush_replies(struct conn *c, uint64_t now)
{
	while (c->out.head && c->chan && !c->dead) {
		struct outbuf *b = c->out.head;
		size_t left = b->len - b->off;
		uint32_t win = ssh_channel_window_size(c->chan);
		int k;

		if (win < left) {
			if (!c->blocked_ms)
				c->blocked_ms = now;
			if (win == 0 || elapsed(now, c->blocked_ms) < WORKER_WINDOW_MS)
				return;
		}
		k = ssh_channel_write(c->chan, b->data + b->off, (uint32_t)left);
		if (k == SSH_ERROR) {
			conn_drop(c, "channel write failed");
			return;
		}
		c->blocked_ms = 0;
		c->active_ms = now;
		b->off += (size_t)k;
		c->credit += (size_t)k;
		if (b->off < b->len)
			return;
		outq_pop(&c->out);
	}
}

static void conn_step_libssh(struct conn *c, uint64_t now);

static void count_answered(struct conn *c, unsigned *n, uint32_t kind, const char *what)
{
	for (; *n && !c->dead; (*n)--) {
		log_debug("worker: connection %u: %s refused", c->id, what);
		mon_event(c->w, c->id, kind, c->peer);
		if (++c->auth_failures >= c->w->o->auth_tries) {
			mon_event(c->w, c->id, MON_EV_AUTH_TRIES, c->peer);
			conn_drop(c, "too many authentication failures");
		}
	}
}

/* One turn of a connection. libssh may process packets in any of the calls
 * below (the poll, ssh_message_get, channel reads and writes): polling
 * names the connection for gss_indicate_mechs throughout. */
static void conn_step(struct conn *c, uint64_t now)
{
	polling = c;
	conn_step_libssh(c, now);
	polling = NULL;
	/* answered inside libssh, counted here as failed attempts:
	 * gssapi-with-mic (a method not offered, see gss_indicate_mechs) and
	 * a publickey request whose signature libssh refused (ssh_message_free) */
	count_answered(c, &c->badsig, MON_EV_AUTH_BADSIG, "publickey signature");
	count_answered(c, &c->gss_refused, MON_EV_AUTH_METHOD, "gssapi-with-mic");
}

static void conn_step_libssh(struct conn *c, uint64_t now)
{
	struct worker *w = c->w;
	const struct xtap_worker_opts *o = w->o;
	ssh_message m;
	int rc_poll;

	if (c->state == C_KEX) {
		int rc;

		rc = ssh_handle_key_exchange(c->ssh);
		if (rc == SSH_AGAIN) {
			goto timers;
		}
		if (rc != SSH_OK) {
			conn_drop(c, "key exchange failed");
			return;
		}
		c->state = C_AUTH;
	}
	rc_poll = ssh_event_dopoll(c->ev, 0);
	if (rc_poll == SSH_ERROR && !(ssh_get_status(c->ssh) & SSH_CLOSED)) {
		conn_drop(c, "poll failed");
		return;
	}
	while (!c->dead && !c->pending && (m = ssh_message_get(c->ssh)) != NULL)
		handle_message(c, m);
	if (c->dead)
		return;
	if (ssh_get_status(c->ssh) & (SSH_CLOSED | SSH_CLOSED_ERROR)) {
		conn_drop(c, "client hung up");
		return;
	}
	if (c->state == C_CLOSING) {
		if (c->chan_closed || elapsed(now, c->closing_ms) > WORKER_CLOSE_MS)
			conn_drop(c, "closed");
		return;
	}
	if (c->chan_closed) {
		conn_drop(c, "client closed the channel");
		return;
	}
	if (c->chan_eof && c->dtcp_open && !c->eof_sent) {
		/* the monitor answers DTCP_CLOSE once it has answered everything before */
		if (mon_push(w, mon_enc_empty(w->tx, sizeof(w->tx), MON_DTCP_EOF, c->id)) < 0) {
			conn_drop(c, "monitor queue full");
			return;
		}
		c->eof_sent = true;
	} else if (c->chan_eof && !c->dtcp_open) {
		conn_close_channel(c, "EOF before the subsystem");
		return;
	}
	flush_replies(c, now);
	if (c->dead)
		return;
	/* what left for the client: the monitor makes a LIST's next replies
	 * only while a window of them is unwritten here */
	if (c->credit && (c->credit >= WORKER_CREDIT_MIN || !c->out.head)) {
		uint32_t k = c->credit > MON_CREDIT_MAX ? MON_CREDIT_MAX : (uint32_t)c->credit;

		if (mon_push(w, mon_enc_credit(w->tx, sizeof(w->tx), c->id, k)) < 0) {
			conn_drop(c, "monitor queue full");
			return;
		}
		c->credit -= k; /* the rest with the next turn */
	}
	if (c->dtcp_close && !c->out.head) {
		conn_close_channel(c, "monitor closed the DTCP session");
		return;
	}
timers:
	/* a login that never opens the subsystem holds a connection like one
	 * that never logs in: the same deadline */
	if (c->state == C_KEX || c->state == C_AUTH || (c->state == C_AUTHED && !c->dtcp_open)) {
		if (elapsed(now, c->accepted_ms) > (uint64_t)o->auth_secs * 1000) {
			mon_event(w, c->id, MON_EV_AUTH_TIMEOUT, c->peer);
			conn_drop(c, "authentication timeout");
		}
	} else if (o->idle_secs && elapsed(now, c->active_ms) > (uint64_t)o->idle_secs * 1000) {
		mon_event(w, c->id, MON_EV_IDLE_TIMEOUT, c->peer);
		log_info("worker: connection %u from %s: idle timeout", c->id, c->peer);
		conn_drop(c, "idle timeout");
	}
}

/* ---- accepting ------------------------------------------------------------------------ */

static void peer_text(const struct sockaddr_storage *ss, char out[MON_PEER_MAX])
{
	const void *a;
	int af = ss->ss_family;

	if (af == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		a = &s6->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) { /* dual-stack listener */
			af = AF_INET;
			a = &s6->sin6_addr.s6_addr[12];
		}
	} else {
		a = &((const struct sockaddr_in *)(const void *)ss)->sin_addr;
	}
	if (!inet_ntop(af, a, out, MON_PEER_MAX))
		snprintf(out, MON_PEER_MAX, "unknown");
}

/* Connections accepted in the last minute, from a ring of the last
 * rate_per_min accept times: full and its oldest within 60 s means over. */
static bool rate_exceeded(struct worker *w, uint64_t now)
{
	unsigned cap = w->o->rate_per_min;

	return w->accepts_n == cap && elapsed(now, w->accepts[w->accepts_head].ms) < 60000;
}

static unsigned src_accepts(const struct worker *w, const char *peer, uint64_t now)
{
	unsigned n = 0;

	for (unsigned i = 0; i < w->accepts_n; i++)
		n += elapsed(now, w->accepts[i].ms) < 60000 && !strcmp(w->accepts[i].peer, peer);
	return n;
}

static unsigned src_conns(const struct worker *w, const char *peer)
{
	unsigned n = 0;

	for (const struct conn *c = w->conns; c; c = c->next)
		n += !c->dead && !strcmp(c->peer, peer);
	return n;
}

static void rate_record(struct worker *w, uint64_t now, const char *peer)
{
	unsigned cap = w->o->rate_per_min;

	w->accepts[w->accepts_head].ms = now;
	snprintf(w->accepts[w->accepts_head].peer, MON_PEER_MAX, "%s", peer);
	w->accepts_head = (w->accepts_head + 1) % cap;
	if (w->accepts_n < cap)
		w->accepts_n++;
}

static bool refusal_logged(struct worker *w, uint64_t now)
{
	if (elapsed(now, w->refused_window_ms) >= 60000) {
		if (w->refused_hidden)
			log_info("worker: %u more refused connections in the last minute not logged",
				 w->refused_hidden);
		w->refused_window_ms = now;
		w->refused_logged = w->refused_hidden = 0;
	}
	if (w->refused_logged < 20) {
		w->refused_logged++;
		return true;
	}
	w->refused_hidden++;
	return false;
}

static void conn_new(struct worker *w, int fd, const char *peer, uint64_t now)
{
	struct conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		log_warnx("worker: out of memory for a connection");
		close(fd);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->id = ++w->next_id ? w->next_id : ++w->next_id; /* never 0 */
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->accepted_ms = c->active_ms = now;
	outq_init(&c->out);
	c->ssh = ssh_new();
	if (!c->ssh) {
		log_warnx("worker: ssh_new failed");
		close(fd);
		free(c);
		return;
	}
	if (ssh_bind_accept_fd(w->bind, c->ssh, fd) != SSH_OK) {
		log_warnx("worker: accepting %s: %s", peer, ssh_get_error(w->bind));
		ssh_free(c->ssh);
		close(fd);
		free(c);
		return;
	}
	ssh_set_blocking(c->ssh, 0);
	ssh_set_auth_methods(c->ssh,
			     SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_INTERACTIVE | SSH_AUTH_METHOD_PUBLICKEY);
	/* The banner and our KEXINIT go out now. This first call also gives
	 * the session the poll context that ssh_event_add_session moves into
	 * the connection's own event (it refuses a session without one). */
	rc = ssh_handle_key_exchange(c->ssh);
	c->ev = rc == SSH_ERROR ? NULL : ssh_event_new();
	if (!c->ev || ssh_event_add_session(c->ev, c->ssh) != SSH_OK) {
		log_info("worker: starting SSH with %s failed: %s", peer,
			 rc == SSH_ERROR ? ssh_get_error(c->ssh) : "ssh_event");
		if (c->ev)
			ssh_event_free(c->ev);
		ssh_free(c->ssh); /* closes fd */
		free(c);
		return;
	}
	if (rc == SSH_OK)
		c->state = C_AUTH;
	c->next = w->conns;
	w->conns = c;
	w->nconns++;
	/* the monitor's slot for it, with the peer for every audit line */
	c->announced = mon_push(w, mon_enc_conn_open(w->tx, sizeof(w->tx), c->id, c->peer)) == 0;
	if (!c->announced)
		conn_drop(c, "monitor unavailable");
	log_debug("worker: connection %u from %s", c->id, peer);
}

static void accept_new(struct worker *w)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char peer[MON_PEER_MAX];
		uint64_t now = now_ms();
		int fd = accept4(w->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				log_warn("worker: accept"); /* EMFILE: retried next tick */
			return;
		}
		peer_text(&ss, peer);
		/* refused before the SSH banner: closed without a byte sent */
		if (w->nconns >= w->o->max_sessions) {
			if (refusal_logged(w, now))
				log_info("worker: %s refused: connection limit %u", peer, w->o->max_sessions);
			mon_event(w, 0, MON_EV_CONN_LIMIT, peer);
			close(fd);
			continue;
		}
		if (rate_exceeded(w, now)) {
			if (refusal_logged(w, now))
				log_info("worker: %s refused: rate limit %u per minute", peer, w->o->rate_per_min);
			mon_event(w, 0, MON_EV_RATE_LIMIT, peer);
			close(fd);
			continue;
		}
		if (src_conns(w, peer) >= w->o->src_sessions) {
			if (refusal_logged(w, now))
				log_info("worker: %s refused: %u connections from that address", peer,
					 w->o->src_sessions);
			mon_event(w, 0, MON_EV_SRC_CONN_LIMIT, peer);
			close(fd);
			continue;
		}
		if (src_accepts(w, peer, now) >= w->o->src_rate) {
			if (refusal_logged(w, now))
				log_info("worker: %s refused: rate limit %u per minute from that address", peer,
					 w->o->src_rate);
			mon_event(w, 0, MON_EV_SRC_RATE_LIMIT, peer);
			close(fd);
			continue;
		}
		rate_record(w, now, peer);
		conn_new(w, fd, peer, now);
	}
}

/* ---- start: listener, host key, privileges, seccomp ------------------------------------- */

static int open_listener(const struct xtap_worker_opts *o);

int xtap_worker_listen(const char *addr, uint16_t port)
{
	struct xtap_worker_opts o;

	xtap_worker_opts_default(&o);
	o.listen_addr = addr;
	o.port = port;
	return open_listener(&o);
}

static int open_listener(const struct xtap_worker_opts *o)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	char port[8];
	int fd, one = 1, zero = 0, rc;

	snprintf(port, sizeof(port), "%u", o->port ? o->port : XTAP_WORKER_PORT);
	rc = getaddrinfo(o->listen_addr ? o->listen_addr : "::", port, &hints, &ai);
	if (rc) {
		log_warnx("worker: listen address %s: %s", o->listen_addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("worker: socket");
		freeaddrinfo(ai);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		log_warn("worker: listen on %s port %s", o->listen_addr ? o->listen_addr : "::", port);
		close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int setup_bind(struct worker *w)
{
	const struct xtap_worker_opts *o = w->o;
	ssh_key key = NULL;
	bool no = false;
	int nolog = SSH_LOG_NOLOG;

	if (ssh_init() != SSH_OK) {
		log_warnx("worker: ssh_init failed");
		return -1;
	}
	if (!o->hostkey || ssh_pki_import_privkey_file(o->hostkey, NULL, NULL, NULL, &key) != SSH_OK) {
		log_warnx("worker: cannot read the host key %s", o->hostkey ? o->hostkey : "(none)");
		return -1;
	}
	if (ssh_key_type(key) != SSH_KEYTYPE_ED25519) {
		log_warnx("worker: host key %s is not ed25519", o->hostkey);
		ssh_key_free(key);
		return -1;
	}
	w->bind = ssh_bind_new();
	if (!w->bind) {
		ssh_key_free(key);
		return -1;
	}
	/* no /etc/libssh config: what the daemon configures is all there is */
	if (ssh_bind_options_set(w->bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no) != SSH_OK ||
	    ssh_bind_options_set(w->bind, SSH_BIND_OPTIONS_LOG_VERBOSITY, &nolog) != SSH_OK ||
	    ssh_bind_options_set(w->bind, SSH_BIND_OPTIONS_IMPORT_KEY, key) != SSH_OK ||
	    ssh_bind_options_set(w->bind, SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, "ssh-ed25519") != SSH_OK) {
		log_warnx("worker: libssh options: %s", ssh_get_error(w->bind));
		return -1; /* the bind owns the key from IMPORT_KEY on */
	}
	return 0;
}

/* What the worker may call once it serves; anything else kills it.
 * Measured, not guessed: the whole tests/sshd suite run under strace -ff
 * against the sanitized and the plain build (docs/privsep.md: method and
 * counts); every call seen after PR_SET_NO_NEW_PRIVS is here. */
static const int seccomp_allow[] = {
	/* seen in both builds */
	SCMP_SYS(poll), /* the loop */
	SCMP_SYS(accept4), /* the listener */
	SCMP_SYS(sendto), /* libssh's sockets and the monitor's (send) */
	SCMP_SYS(recvfrom), /* likewise (recv) */
	SCMP_SYS(close), /* refused and finished connections */
	SCMP_SYS(write), /* log lines to stderr */
	SCMP_SYS(getpid), /* libssh/OpenSSL fork checks */
	SCMP_SYS(getrandom), /* OpenSSL: key exchange, padding */
	SCMP_SYS(futex), /* OpenSSL's locks and once-initialisers */
	SCMP_SYS(exit_group), /* the monitor went away */
	/* a poll interrupted by a stop (SIGSTOP, a debugger) resumes through
	 * restart_syscall after SIGCONT: without it, continuing a stopped
	 * worker killed it (found by tests/adversarial) */
	SCMP_SYS(restart_syscall),
	/* memory: brk (plain build) and mmap (sanitizer allocator) were seen;
	 * munmap, mremap and madvise are the same allocators giving memory
	 * back (glibc serves blocks above 128 KiB with mmap), not reached by
	 * the tests' sizes but by a long LIST or a full monitor queue */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	/* normally the vDSO; the syscall where the vDSO is unavailable */
	SCMP_SYS(clock_gettime),
#ifdef __SANITIZE_ADDRESS__
	SCMP_SYS(sigaltstack), /* the sanitizer runtime at exit (test build only) */
#endif
};

/* ---- main ------------------------------------------------------------------------------- */

static void serve(struct worker *w)
{
	struct pollfd *pfd = calloc(w->o->max_sessions + 2, sizeof(*pfd));

	if (!pfd) {
		log_warnx("worker: out of memory");
		return;
	}
	while (!w->mon_gone) {
		nfds_t n = 2;
		uint64_t now;

		pfd[0] = (struct pollfd){ .fd = w->monfd, .events = POLLIN };
		if (w->monq.head)
			pfd[0].events |= POLLOUT;
		pfd[1] = (struct pollfd){ .fd = w->lfd, .events = POLLIN };
		for (struct conn *c = w->conns; c && n < w->o->max_sessions + 2; c = c->next) {
			pfd[n] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
			if (ssh_get_status(c->ssh) & SSH_WRITE_PENDING)
				pfd[n].events |= POLLOUT; /* libssh has output the kernel refused */
			n++;
		}
		if (poll(pfd, n, WORKER_TICK_MS) < 0 && errno != EINTR) {
			log_warn("worker: poll");
			break;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			mon_read(w);
		if (pfd[0].revents & POLLOUT)
			mon_flush(w);
		if (pfd[1].revents & POLLIN)
			accept_new(w);
		now = now_ms();
		for (struct conn *c = w->conns; c; c = c->next)
			if (!c->dead)
				conn_step(c, now);
		for (struct conn **pp = &w->conns; *pp;) {
			struct conn *c = *pp;
			if (c->dead) {
				*pp = c->next;
				conn_free(c);
			} else {
				pp = &c->next;
			}
		}
		mon_flush(w);
	}
	free(pfd);
}

int xtap_worker_main(int monfd, const struct xtap_worker_opts *o)
{
	struct worker *w;
	int rc = 1;
	bool filtered = false;

	log_set_level(o->log_level);
	if (!o->max_sessions || !o->rate_per_min || !o->auth_secs || !o->auth_tries || !o->src_sessions ||
	    !o->src_rate) {
		log_warnx("worker: limits must be at least 1");
		return 1;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->accepts = calloc(o->rate_per_min, sizeof(*w->accepts)))) {
		log_warnx("worker: out of memory");
		free(w);
		return 1;
	}
	w->o = o;
	w->monfd = monfd;
	w->lfd = -1;
	outq_init(&w->monq);
	if (fcntl(monfd, F_SETFL, fcntl(monfd, F_GETFL) | O_NONBLOCK) < 0) {
		log_warn("worker: monitor socket");
		goto out;
	}
	/* a client that resets its connection must not kill the worker */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		log_warn("worker: SIGPIPE");
		goto out;
	}
	digest_verify_resolve(); /* dlsym before the filter: it may open files */
	/* everything that needs a file or privilege happens before the drop */
	w->lfd = o->listen_fd >= 0 ? o->listen_fd : open_listener(o);
	if (w->lfd < 0 || setup_bind(w) < 0 || xtap_drop_privileges("worker", o->user) < 0)
		goto out;
	if (!o->no_seccomp) {
		if (xtap_seccomp_allow_only("worker", seccomp_allow, sizeof(seccomp_allow) / sizeof(seccomp_allow[0])) <
		    0)
			goto out;
		filtered = true;
	}
	log_info("worker: serving as %s, pid %d", o->user, (int)getpid());
	serve(w);
	rc = w->mon_gone ? 0 : 1;
out:
	while (w->conns) {
		struct conn *c = w->conns;
		w->conns = c->next;
		conn_drop(c, "worker exit");
		conn_free(c);
	}
	outq_free(&w->monq);
	if (w->bind)
		ssh_bind_free(w->bind);
	if (w->lfd >= 0)
		close(w->lfd);
	free(w->accepts);
	free(w);
	if (filtered)
		xtap_seccomp_exit(rc); /* not through main's return: see there */
	return rc;
}
