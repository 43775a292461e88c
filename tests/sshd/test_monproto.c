/* SPDX-License-Identifier: BSD-2-Clause */
/* Codec tests for the monitor <-> worker protocol (loader/worker/monproto.h):
 * every message round-trips, and every malformed form is rejected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>

#include "monproto.h"

#include "../check.h"

static uint8_t buf[MON_MSG_MAX + 16];

static int dec(const uint8_t *b, size_t n, enum mon_sender from, struct mon_msg *m)
{
	const char *why;
	return mon_decode(b, n, from, m, &why);
}

static void set_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void round_trips(void)
{
	struct mon_msg m;
	uint8_t blob[MON_KEYBLOB_MAX], data[MON_DATA_MAX];
	size_t n;

	n = mon_enc_session_open(buf, sizeof(buf), 7, "ftap1", "192.0.2.1");
	CHECK(n == MON_HDR_LEN + 2 + 5 + 2 + 9, "open encodes");
	CHECK(dec(buf, n, MON_FROM_WORKER, &m) == 0 && m.type == MON_SESSION_OPEN && m.session == 7 &&
		      !strcmp(m.user, "ftap1") && !strcmp(m.peer, "192.0.2.1"),
	      "open decodes");

	n = mon_enc_auth_password(buf, sizeof(buf), 3, "u", "p@ss word");
	CHECK(n && dec(buf, n, MON_FROM_WORKER, &m) == 0 && m.type == MON_AUTH_PASSWORD &&
		      !strcmp(m.password, "p@ss word") && !strcmp(m.user, "u"),
	      "password round trip");
	mon_msg_clear(&m);
	CHECK(m.password[0] == 0 && m.password[4] == 0, "clear wipes the password");

	n = mon_enc_auth_password(buf, sizeof(buf), 3, "u", "");
	CHECK(n && dec(buf, n, MON_FROM_WORKER, &m) == 0 && !m.password[0], "empty password round trip");

	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);
	n = mon_enc_auth_pubkey(buf, sizeof(buf), 9, true, "ftap1", "ssh-ed25519", blob, sizeof(blob));
	CHECK(n && dec(buf, n, MON_FROM_WORKER, &m) == 0 && m.key_signed && !strcmp(m.keytype, "ssh-ed25519") &&
		      m.len == sizeof(blob) && !memcmp(m.data, blob, sizeof(blob)),
	      "pubkey round trip");
	n = mon_enc_auth_pubkey(buf, sizeof(buf), 9, false, "ftap1", "ssh-rsa", blob, 1);
	CHECK(n && dec(buf, n, MON_FROM_WORKER, &m) == 0 && !m.key_signed && m.len == 1, "pubkey probe round trip");

	/* CONN_OPEN: [hdr][u16 9]["192.0.2.9"] */
	n = mon_enc_conn_open(buf, sizeof(buf), 12, "192.0.2.9");
	CHECK(n == MON_HDR_LEN + 2 + 9, "conn open encodes");
	CHECK(dec(buf, n, MON_FROM_WORKER, &m) == 0 && m.type == MON_CONN_OPEN && m.session == 12 &&
		      !strcmp(m.peer, "192.0.2.9"),
	      "conn open decodes");
	CHECK(dec(buf, n, MON_FROM_MONITOR, &m) < 0, "conn open from the monitor refused");
	CHECK(!mon_enc_conn_open(buf, sizeof(buf), 1, "1.2.3.4 5"), "enc: conn open, peer with a space");
	/* AUTH_SIG: [hdr][u16 len][signed data][u16 len][signature] */
	for (size_t i = 0; i < MON_SIGNED_MAX + MON_SIG_MAX + 1; i++)
		data[i] = (uint8_t)(i * 13 + 5);
	n = mon_enc_auth_sig(buf, sizeof(buf), 9, data, MON_SIGNED_MAX, data + MON_SIGNED_MAX, MON_SIG_MAX);
	CHECK(n == MON_HDR_LEN + 2 + MON_SIGNED_MAX + 2 + MON_SIG_MAX, "sig encodes");
	CHECK(dec(buf, n, MON_FROM_WORKER, &m) == 0 && m.type == MON_AUTH_SIG && m.len == MON_SIGNED_MAX &&
		      !memcmp(m.data, data, MON_SIGNED_MAX) && m.siglen == MON_SIG_MAX &&
		      !memcmp(m.sig, data + MON_SIGNED_MAX, MON_SIG_MAX),
	      "sig decodes");
	CHECK(dec(buf, n, MON_FROM_MONITOR, &m) < 0, "sig from the monitor refused");
	CHECK(dec(buf, n - 1, MON_FROM_WORKER, &m) < 0, "sig cut by one byte refused");
	CHECK(!mon_enc_auth_sig(buf, sizeof(buf), 9, data, MON_SIGNED_MAX + 1, blob, 64), "enc: signed data too long");
	CHECK(!mon_enc_auth_sig(buf, sizeof(buf), 9, blob, 64, blob, MON_SIG_MAX + 1), "enc: signature too long");
	CHECK(!mon_enc_auth_sig(buf, sizeof(buf), 9, blob, 64, blob, 0), "enc: empty signature");
	n = mon_enc_auth_sig(buf, sizeof(buf), 9, blob, 64, blob, 64);
	set_u32(buf + 8, (uint32_t)(n - MON_HDR_LEN)); /* consistent header, */
	buf[MON_HDR_LEN] = 0;
	buf[MON_HDR_LEN + 1] = 0; /* but signed data of length 0 */
	CHECK(dec(buf, n, MON_FROM_WORKER, &m) < 0, "sig with empty signed data refused");

	/* DTCP_CREDIT: [hdr][u32 bytes], 1..MON_CREDIT_MAX, from the worker only */
	n = mon_enc_credit(buf, sizeof(buf), 7, 32768);
	CHECK(n == MON_HDR_LEN + 4 && dec(buf, n, MON_FROM_WORKER, &m) == 0 && m.type == MON_DTCP_CREDIT &&
		      m.session == 7 && m.credit == 32768,
	      "credit round trip");
	CHECK(dec(buf, n, MON_FROM_MONITOR, &m) < 0, "credit from the monitor refused");
	CHECK(dec(buf, n - 1, MON_FROM_WORKER, &m) < 0, "credit cut by one byte refused");
	n = mon_enc_credit(buf, sizeof(buf), 7, MON_CREDIT_MAX);
	CHECK(n && dec(buf, n, MON_FROM_WORKER, &m) == 0 && m.credit == MON_CREDIT_MAX, "credit at its maximum");
	CHECK(!mon_enc_credit(buf, sizeof(buf), 7, 0), "enc: credit 0");
	CHECK(!mon_enc_credit(buf, sizeof(buf), 7, MON_CREDIT_MAX + 1), "enc: credit over its maximum");
	CHECK(!mon_enc_credit(buf, sizeof(buf), 0, 1), "enc: credit for session 0");
	set_u32(buf + MON_HDR_LEN, 0);
	CHECK(dec(buf, n, MON_FROM_WORKER, &m) < 0, "credit 0 refused");
	set_u32(buf + MON_HDR_LEN, MON_CREDIT_MAX + 1);
	CHECK(dec(buf, n, MON_FROM_WORKER, &m) < 0, "credit over its maximum refused");
	set_u32(buf + MON_HDR_LEN, 1);
	set_u32(buf + 4, 0);
	CHECK(dec(buf, n, MON_FROM_WORKER, &m) < 0, "credit for session 0 refused");
	set_u32(buf + 4, 7);
	buf[n] = 0;
	set_u32(buf + 8, 5);
	CHECK(dec(buf, n + 1, MON_FROM_WORKER, &m) < 0, "credit with a trailing byte refused");

	n = mon_enc_auth_result(buf, sizeof(buf), 4, true);
	CHECK(n && dec(buf, n, MON_FROM_MONITOR, &m) == 0 && m.ok == 1, "result ok");
	n = mon_enc_auth_result(buf, sizeof(buf), 4, false);
	CHECK(n && dec(buf, n, MON_FROM_MONITOR, &m) == 0 && m.ok == 0, "result fail");

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	n = mon_enc_data(buf, sizeof(buf), MON_DTCP_DATA, 5, data, sizeof(data));
	CHECK(n == MON_HDR_LEN + MON_DATA_MAX && dec(buf, n, MON_FROM_WORKER, &m) == 0 && m.len == MON_DATA_MAX &&
		      !memcmp(m.data, data, MON_DATA_MAX),
	      "64 KiB data round trip");
	n = mon_enc_data(buf, sizeof(buf), MON_DTCP_REPLY, 5, "x", 1);
	CHECK(n && dec(buf, n, MON_FROM_MONITOR, &m) == 0 && m.len == 1 && m.data[0] == 'x', "reply round trip");

	n = mon_enc_event(buf, sizeof(buf), 0, MON_EV_RATE_LIMIT, "2001:db8::1");
	CHECK(n && dec(buf, n, MON_FROM_WORKER, &m) == 0 && m.kind == MON_EV_RATE_LIMIT &&
		      !strcmp(m.peer, "2001:db8::1"),
	      "event without session");

	n = mon_enc_empty(buf, sizeof(buf), MON_SESSION_CLOSE, 2);
	CHECK(n == MON_HDR_LEN && dec(buf, n, MON_FROM_WORKER, &m) == 0 && m.type == MON_SESSION_CLOSE &&
		      m.session == 2,
	      "close round trip");
	n = mon_enc_empty(buf, sizeof(buf), MON_DTCP_EOF, 2);
	CHECK(n && dec(buf, n, MON_FROM_WORKER, &m) == 0, "eof round trip");
	n = mon_enc_empty(buf, sizeof(buf), MON_DTCP_CLOSE, 2);
	CHECK(n && dec(buf, n, MON_FROM_MONITOR, &m) == 0, "dtcp close round trip");
}

static void encoder_refusals(void)
{
	char longuser[MON_USER_MAX + 1], longpw[MON_PASSWORD_MAX + 1];
	uint8_t big[MON_DATA_MAX + 1] = { 0 }, blob[MON_KEYBLOB_MAX + 1] = { 0 };

	memset(longuser, 'a', sizeof(longuser) - 1);
	longuser[sizeof(longuser) - 1] = 0;
	memset(longpw, 'p', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = 0;
	CHECK(!mon_enc_session_open(buf, sizeof(buf), 0, "u", "::1"), "enc: session 0");
	CHECK(!mon_enc_session_open(buf, sizeof(buf), 1, "", "::1"), "enc: empty user");
	CHECK(!mon_enc_session_open(buf, sizeof(buf), 1, longuser, "::1"), "enc: user too long");
	CHECK(!mon_enc_session_open(buf, sizeof(buf), 1, "a\nb", "::1"), "enc: user with control byte");
	CHECK(!mon_enc_session_open(buf, sizeof(buf), 1, "u", "1.2.3.4 22"), "enc: peer with space");
	CHECK(!mon_enc_auth_password(buf, sizeof(buf), 1, "u", longpw), "enc: password too long");
	CHECK(!mon_enc_auth_pubkey(buf, sizeof(buf), 1, 0, "u", "SSH", blob, 1), "enc: key type upper case");
	CHECK(!mon_enc_auth_pubkey(buf, sizeof(buf), 1, 0, "u", "ssh-rsa", blob, 0), "enc: key blob empty");
	CHECK(!mon_enc_auth_pubkey(buf, sizeof(buf), 1, 0, "u", "ssh-rsa", blob, sizeof(blob)),
	      "enc: key blob too big");
	CHECK(!mon_enc_data(buf, sizeof(buf), MON_DTCP_DATA, 1, big, sizeof(big)), "enc: data too big");
	CHECK(!mon_enc_data(buf, sizeof(buf), MON_DTCP_DATA, 1, big, 0), "enc: data empty");
	CHECK(!mon_enc_data(buf, sizeof(buf), MON_EVENT, 1, big, 1), "enc: data with a wrong type");
	CHECK(!mon_enc_empty(buf, sizeof(buf), MON_AUTH_RESULT, 1), "enc: empty with a wrong type");
	CHECK(!mon_enc_event(buf, sizeof(buf), 0, 0, "::1"), "enc: event kind 0");
	CHECK(!mon_enc_event(buf, sizeof(buf), 0, MON_EV_KIND_MAX + 1, "::1"), "enc: event kind too big");
	CHECK(!mon_enc_data(buf, MON_HDR_LEN + 3, MON_DTCP_DATA, 1, big, 4), "enc: buffer too small");
}

/* Takes a valid datagram, applies one corruption, expects a refusal. */
static void malformed(void)
{
	struct mon_msg m;
	uint8_t good[256], bad[sizeof(good) + 8], key[51] = { 1 };
	size_t n;

	/* header-level */
	n = mon_enc_session_open(good, sizeof(good), 7, "ftap1", "192.0.2.1");
	CHECK(dec(good, 0, MON_FROM_WORKER, &m) < 0, "hdr: empty datagram");
	CHECK(dec(good, MON_HDR_LEN - 1, MON_FROM_WORKER, &m) < 0, "hdr: shorter than a header");
	CHECK(dec(good, n - 1, MON_FROM_WORKER, &m) < 0, "hdr: truncated payload");
	memcpy(bad, good, n);
	bad[n] = 0;
	CHECK(dec(bad, n + 1, MON_FROM_WORKER, &m) < 0, "hdr: trailing byte");
	set_u32(bad + 8, (uint32_t)(n - MON_HDR_LEN + 1));
	CHECK(dec(bad, n + 1, MON_FROM_WORKER, &m) < 0, "hdr: len field too big");
	memcpy(bad, good, n);
	set_u32(bad + 8, (uint32_t)(n - MON_HDR_LEN - 1));
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "hdr: len field too small");
	memcpy(bad, good, n);
	set_u32(bad + 4, 0);
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "hdr: session 0");
	for (uint32_t t = 0; t <= MON_TYPE_MAX + 1; t += MON_TYPE_MAX + 1) {
		memcpy(bad, good, n);
		set_u32(bad, t);
		CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "hdr: unknown type");
	}
	memcpy(bad, good, n);
	set_u32(bad, 0x80000001u);
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "hdr: huge type");
	CHECK(dec(buf, MON_MSG_MAX + 1, MON_FROM_WORKER, &m) < 0, "hdr: too long a datagram");

	/* wrong sender */
	CHECK(dec(good, n, MON_FROM_MONITOR, &m) < 0, "sender: OPEN from the monitor");
	n = mon_enc_auth_result(good, sizeof(good), 1, true);
	CHECK(dec(good, n, MON_FROM_WORKER, &m) < 0, "sender: RESULT from the worker");
	n = mon_enc_data(good, sizeof(good), MON_DTCP_REPLY, 1, "x", 1);
	CHECK(dec(good, n, MON_FROM_WORKER, &m) < 0, "sender: REPLY from the worker");
	n = mon_enc_data(good, sizeof(good), MON_DTCP_DATA, 1, "x", 1);
	CHECK(dec(good, n, MON_FROM_MONITOR, &m) < 0, "sender: DATA from the monitor");
	n = mon_enc_empty(good, sizeof(good), MON_DTCP_CLOSE, 1);
	CHECK(dec(good, n, MON_FROM_WORKER, &m) < 0, "sender: DTCP_CLOSE from the worker");
	n = mon_enc_empty(good, sizeof(good), MON_SESSION_CLOSE, 1);
	CHECK(dec(good, n, MON_FROM_MONITOR, &m) < 0, "sender: SESSION_CLOSE from the monitor");

	/* fields of SESSION_OPEN: [hdr][u16 5]["ftap1"][u16 9]["192.0.2.1"] */
	n = mon_enc_session_open(good, sizeof(good), 7, "ftap1", "192.0.2.1");
	memcpy(bad, good, n);
	bad[MON_HDR_LEN + 2 + 2] = 0;
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "open: NUL inside the user");
	memcpy(bad, good, n);
	bad[MON_HDR_LEN + 2 + 1] = '\x1b';
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "open: escape byte in the user");
	memcpy(bad, good, n);
	bad[MON_HDR_LEN + 2 + 5 + 2] = ' ';
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "open: space in the peer");
	memcpy(bad, good, n);
	bad[MON_HDR_LEN] = 6; /* user length runs into the peer's length field */
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "open: user length off by one");
	memcpy(bad, good, n);
	bad[MON_HDR_LEN] = 0;
	bad[MON_HDR_LEN + 1] = 0;
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "open: empty user");
	memcpy(bad, good, n);
	bad[MON_HDR_LEN] = 0xff;
	bad[MON_HDR_LEN + 1] = 0xff;
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "open: user length past the end");
	{
		/* a 64-byte user: one more than MON_USER_MAX allows */
		uint8_t u[MON_HDR_LEN + 2 + 64 + 2 + 3];
		uint16_t l = 64, pl = 3;
		set_u32(u, MON_SESSION_OPEN);
		set_u32(u + 4, 1);
		set_u32(u + 8, sizeof(u) - MON_HDR_LEN);
		memcpy(u + MON_HDR_LEN, &l, 2);
		memset(u + MON_HDR_LEN + 2, 'a', 64);
		memcpy(u + MON_HDR_LEN + 66, &pl, 2);
		memcpy(u + MON_HDR_LEN + 68, "::1", 3);
		CHECK(dec(u, sizeof(u), MON_FROM_WORKER, &m) < 0, "open: user of 64 bytes");
		l = 63;
		memcpy(u + MON_HDR_LEN, &l, 2);
		CHECK(dec(u, sizeof(u), MON_FROM_WORKER, &m) < 0, "open: 63-byte user with a bad layout");
	}

	/* AUTH_PASSWORD: NUL inside */
	n = mon_enc_auth_password(good, sizeof(good), 1, "u", "abc");
	memcpy(bad, good, n);
	bad[n - 2] = 0;
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "password: NUL inside");

	/* AUTH_PUBKEY: [hdr][u8 signed][u16 1]["u"][u16 11]["ssh-ed25519"][u16 51][blob] */
	n = mon_enc_auth_pubkey(good, sizeof(good), 1, true, "u", "ssh-ed25519", key, sizeof(key));
	CHECK(dec(good, n, MON_FROM_WORKER, &m) == 0, "pubkey: valid");
	memcpy(bad, good, n);
	bad[MON_HDR_LEN] = 2;
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "pubkey: signed flag 2");
	memcpy(bad, good, n);
	bad[MON_HDR_LEN + 1 + 2 + 1 + 2] = 'S';
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "pubkey: key type upper case");
	memcpy(bad, good, n);
	bad[MON_HDR_LEN + 1 + 2 + 1 + 2 + 11] = 0;
	bad[MON_HDR_LEN + 1 + 2 + 1 + 2 + 12] = 0;
	set_u32(bad + 8, (uint32_t)(n - MON_HDR_LEN - sizeof(key)));
	CHECK(dec(bad, n - sizeof(key), MON_FROM_WORKER, &m) < 0, "pubkey: empty blob");
	CHECK(dec(good, n - 1, MON_FROM_WORKER, &m) < 0, "pubkey: blob cut short");
	{
		static uint8_t big[MON_HDR_LEN + 1 + 3 + 9 + 2 + MON_KEYBLOB_MAX + 1];
		uint16_t l;
		size_t o = MON_HDR_LEN;
		set_u32(big, MON_AUTH_PUBKEY);
		set_u32(big + 4, 1);
		set_u32(big + 8, sizeof(big) - MON_HDR_LEN);
		big[o++] = 1;
		l = 1;
		memcpy(big + o, &l, 2);
		o += 2;
		big[o++] = 'u';
		l = 7;
		memcpy(big + o, &l, 2);
		o += 2;
		memcpy(big + o, "ssh-rsa", 7);
		o += 7;
		l = MON_KEYBLOB_MAX + 1;
		memcpy(big + o, &l, 2);
		o += 2;
		CHECK(o + MON_KEYBLOB_MAX + 1 == sizeof(big) && dec(big, sizeof(big), MON_FROM_WORKER, &m) < 0,
		      "pubkey: blob over MON_KEYBLOB_MAX");
	}

	/* AUTH_RESULT */
	n = mon_enc_auth_result(good, sizeof(good), 1, true);
	memcpy(bad, good, n);
	set_u32(bad + MON_HDR_LEN, 2);
	CHECK(dec(bad, n, MON_FROM_MONITOR, &m) < 0, "result: value 2");
	memcpy(bad, good, n);
	set_u32(bad + 8, 3);
	CHECK(dec(bad, n - 1, MON_FROM_MONITOR, &m) < 0, "result: 3-byte payload");

	/* DATA */
	n = mon_enc_data(good, sizeof(good), MON_DTCP_DATA, 1, "x", 1);
	memcpy(bad, good, MON_HDR_LEN);
	set_u32(bad + 8, 0);
	CHECK(dec(bad, MON_HDR_LEN, MON_FROM_WORKER, &m) < 0, "data: empty");
	{
		static uint8_t big[MON_HDR_LEN + MON_DATA_MAX + 1];
		set_u32(big, MON_DTCP_DATA);
		set_u32(big + 4, 1);
		set_u32(big + 8, MON_DATA_MAX + 1);
		CHECK(dec(big, sizeof(big), MON_FROM_WORKER, &m) < 0, "data: one byte over MON_DATA_MAX");
		set_u32(big, MON_DTCP_REPLY);
		CHECK(dec(big, sizeof(big), MON_FROM_MONITOR, &m) < 0, "reply: one byte over MON_DATA_MAX");
	}

	/* empty messages with a payload */
	n = mon_enc_empty(good, sizeof(good), MON_SESSION_CLOSE, 1);
	memcpy(bad, good, n);
	bad[n] = 0;
	set_u32(bad + 8, 1);
	CHECK(dec(bad, n + 1, MON_FROM_WORKER, &m) < 0, "close: with a payload");
	set_u32(bad, MON_DTCP_CLOSE);
	CHECK(dec(bad, n + 1, MON_FROM_MONITOR, &m) < 0, "dtcp close: with a payload");

	/* EVENT */
	n = mon_enc_event(good, sizeof(good), 0, MON_EV_CONN_LIMIT, "127.0.0.1");
	memcpy(bad, good, n);
	set_u32(bad + MON_HDR_LEN, 0);
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "event: kind 0");
	set_u32(bad + MON_HDR_LEN, MON_EV_KIND_MAX + 1);
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "event: unknown kind");
	memcpy(bad, good, n);
	bad[n - 1] = '\n';
	CHECK(dec(bad, n, MON_FROM_WORKER, &m) < 0, "event: newline in the peer");
}

static void io(void)
{
	int sv[2];
	uint8_t small[16];
	struct mon_msg m;
	size_t n;
	long k;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
		printf("FAIL socketpair: %s\n", strerror(errno));
		failed++;
		return;
	}
	n = mon_enc_session_open(buf, sizeof(buf), 1, "ftap1", "::1");
	CHECK(mon_send(sv[0], buf, n) == 0, "io: send");
	n = mon_enc_empty(buf, sizeof(buf), MON_SESSION_CLOSE, 1);
	CHECK(mon_send(sv[0], buf, n) == 0, "io: send second");
	k = mon_recv(sv[1], buf, sizeof(buf));
	CHECK(k == MON_HDR_LEN + 2 + 5 + 2 + 3 && dec(buf, (size_t)k, MON_FROM_WORKER, &m) == 0 &&
		      m.type == MON_SESSION_OPEN,
	      "io: boundaries kept");
	k = mon_recv(sv[1], buf, sizeof(buf));
	CHECK(k == MON_HDR_LEN, "io: second datagram");
	n = mon_enc_session_open(buf, sizeof(buf), 1, "ftap1", "::1");
	mon_send(sv[0], buf, n);
	errno = 0;
	k = mon_recv(sv[1], small, sizeof(small));
	CHECK(k < 0 && errno == EMSGSIZE, "io: oversize datagram refused");
	close(sv[0]);
	CHECK(mon_recv(sv[1], buf, sizeof(buf)) == 0, "io: EOF");
	close(sv[1]);
}

int main(void)
{
	round_trips();
	encoder_refusals();
	malformed();
	io();
	printf("monproto: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
