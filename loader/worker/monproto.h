/* SPDX-License-Identifier: BSD-2-Clause */
/* The protocol between xtapd's privileged monitor and its unprivileged SSH
 * worker (docs/privsep.md). One message per datagram on a SOCK_SEQPACKET
 * socketpair: a fixed header {type, session, len} and len payload bytes.
 * Integers are in host byte order (both ends are one binary on one host).
 *
 * Pure codec: encoders write into a caller's buffer, decoders validate a
 * received datagram completely (type allowed from that sender, exact
 * length, every field's size and contents) before anything acts on it.
 * mon_send/mon_recv are the thin I/O adapters. */
#ifndef XTAP_MONPROTO_H
#define XTAP_MONPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MON_HDR_LEN 12 /* uint32 type, session, len */
#define MON_DATA_MAX 65536 /* DTCP bytes per DATA/REPLY: one DTCP message (dtcp.md 1) */
#define MON_PAYLOAD_MAX \
	(MON_DATA_MAX + 64) /* DATA/REPLY plus room for the fixed fields
					       of the other messages, which are far smaller */
#define MON_MSG_MAX (MON_HDR_LEN + MON_PAYLOAD_MAX) /* largest datagram */
#define MON_USER_MAX \
	64 /* SSH login name incl. NUL: it is the DTCP control
				   source, DTCP_NAME_MAX */
#define MON_PEER_MAX 48 /* peer address text incl. NUL (INET6_ADDRSTRLEN 46) */
#define MON_PASSWORD_MAX 256 /* password incl. NUL; longer ones are refused unasked */
#define MON_KEYTYPE_MAX 32 /* "ssh-ed25519", "ecdsa-sha2-nistp521" incl. NUL */
#define MON_KEYBLOB_MAX 2048 /* public key blob: RSA-16384 is ~2 KiB, ed25519 51 B */
/* AUTH_SIG: what a public-key signature covers (RFC 4252 7): session id (at
 * most 64, SHA-512), byte, user, "ssh-connection", "publickey", bool,
 * algorithm, key blob, each string with its 4-byte length: 2257 at most */
#define MON_SIGNED_MAX 2304
#define MON_SIG_MAX 2080 /* the raw signature: RSA-16384 2048, ECDSA DER ~140 */
/* DTCP_CREDIT: at most what one client's reply queue holds (the worker's
 * WORKER_OUT_MAX, 64 MiB); the worker sends one per 64 KiB or less */
#define MON_CREDIT_MAX (64u << 20)

enum mon_type {
	MON_SESSION_OPEN = 1, /* W->M  user, peer: subsystem flow-tap-dtcp accepted */
	MON_SESSION_CLOSE, /* W->M  -: the connection (CONN_OPEN) or its DTCP session is
				 gone, whichever ends first; nothing follows for that id */
	MON_AUTH_PASSWORD, /* W->M  user, password */
	MON_AUTH_PUBKEY, /* W->M  signed, user, key type, key blob */
	MON_AUTH_RESULT, /* M->W  ok (0 or 1): answers the one pending AUTH_* */
	MON_DTCP_DATA, /* W->M  channel bytes, 1..MON_DATA_MAX */
	MON_DTCP_EOF, /* W->M  -: the client sent EOF; answer DTCP_CLOSE when done */
	MON_DTCP_REPLY, /* M->W  one reply, 1..MON_DATA_MAX: one channel write */
	MON_DTCP_CLOSE, /* M->W  -: flush the replies, then close the channel */
	MON_EVENT, /* W->M  kind, peer: for the audit log */
	MON_CONN_OPEN, /* W->M  peer: a connection the worker serves (SSH started);
				 SESSION_CLOSE ends it, exactly once */
	MON_AUTH_SIG, /* W->M  signed data, raw signature: comes right before an
				 AUTH_PUBKEY with signed 1; the monitor verifies it */
	MON_DTCP_CREDIT, /* W->M  u32 bytes: reply bytes of that session written to its
				 channel since the last CREDIT (the monitor's LIST window) */
	MON_TYPE_MAX = MON_DTCP_CREDIT,
};

/* Who sent a datagram: the decoder only accepts that side's types. */
enum mon_sender { MON_FROM_WORKER, MON_FROM_MONITOR };

enum mon_event_kind {
	MON_EV_CONN_LIMIT = 1, /* refused before the banner: too many connections */
	MON_EV_RATE_LIMIT, /* refused before the banner: too many per minute */
	MON_EV_AUTH_TIMEOUT, /* not authenticated in time */
	MON_EV_AUTH_TRIES, /* too many failed authentications */
	MON_EV_IDLE_TIMEOUT, /* session idle too long */
	MON_EV_REFUSED, /* a channel, request or subsystem was refused */
	MON_EV_SRC_CONN_LIMIT, /* refused before the banner: too many from that address */
	MON_EV_SRC_RATE_LIMIT, /* refused before the banner: too many per minute from it */
	MON_EV_AUTH_METHOD, /* an authentication method not offered (gssapi-with-mic,
				  hostbased, ...): refused, counted as a failure */
	MON_EV_AUTH_BADSIG, /* a publickey request whose signature libssh refused */
	MON_EV_KIND_MAX = MON_EV_AUTH_BADSIG,
};
const char *mon_type_name(uint32_t type);
const char *mon_event_name(uint32_t kind);

/* A decoded message. Strings are NUL-terminated copies; data points into
 * the datagram that was decoded (DATA/REPLY bytes, AUTH_PUBKEY key blob).
 * mon_msg_clear wipes the password. */
struct mon_msg {
	uint32_t type;
	uint32_t session;
	char user[MON_USER_MAX];
	char peer[MON_PEER_MAX];
	char password[MON_PASSWORD_MAX];
	char keytype[MON_KEYTYPE_MAX];
	bool key_signed; /* AUTH_PUBKEY: libssh verified a signature (not a probe) */
	uint32_t ok; /* AUTH_RESULT */
	uint32_t kind; /* EVENT: enum mon_event_kind */
	uint32_t credit; /* DTCP_CREDIT: 1..MON_CREDIT_MAX bytes */
	const uint8_t *data;
	size_t len;
	const uint8_t *sig; /* AUTH_SIG: the raw signature (data: the signed data) */
	size_t siglen;
};
void mon_msg_clear(struct mon_msg *m);

/* Encoders: write one datagram to out (cap bytes) and return its length, or
 * 0 when an argument is out of bounds (the same rules the decoder applies). */
size_t mon_enc_session_open(uint8_t *out, size_t cap, uint32_t session, const char *user, const char *peer);
size_t mon_enc_conn_open(uint8_t *out, size_t cap, uint32_t session, const char *peer);
size_t mon_enc_empty(uint8_t *out, size_t cap, uint32_t type, uint32_t session);
size_t mon_enc_auth_password(uint8_t *out, size_t cap, uint32_t session, const char *user, const char *password);
size_t mon_enc_auth_pubkey(uint8_t *out, size_t cap, uint32_t session, bool key_signed, const char *user,
			   const char *keytype, const uint8_t *blob, size_t bloblen);
size_t mon_enc_auth_sig(uint8_t *out, size_t cap, uint32_t session, const uint8_t *signed_data, size_t signed_len,
			const uint8_t *sig, size_t siglen);
size_t mon_enc_auth_result(uint8_t *out, size_t cap, uint32_t session, bool ok);
size_t mon_enc_data(uint8_t *out, size_t cap, uint32_t type, uint32_t session, const void *data, size_t len);
size_t mon_enc_credit(uint8_t *out, size_t cap, uint32_t session, uint32_t bytes);
size_t mon_enc_event(uint8_t *out, size_t cap, uint32_t session, uint32_t kind, const char *peer);

/* Decodes one datagram of n bytes from `from`. Returns 0, or -1 with a
 * fixed description of what was wrong in *why (never message contents). */
int mon_decode(const uint8_t *buf, size_t n, enum mon_sender from, struct mon_msg *m, const char **why);

/* Field rules, exposed for the worker (to refuse before asking) and tests. */
bool mon_valid_user(const char *s, size_t n);
bool mon_valid_peer(const char *s, size_t n);
bool mon_valid_keytype(const char *s, size_t n);

/* I/O adapters. mon_send: 0, or -1 (errno; EAGAIN on a non-blocking socket
 * that is full). mon_recv: the datagram length, 0 on EOF, -1 with errno
 * (EAGAIN: nothing queued; EMSGSIZE: a datagram longer than cap, dropped). */
int mon_send(int fd, const uint8_t *buf, size_t n);
long mon_recv(int fd, uint8_t *buf, size_t cap);

#endif
