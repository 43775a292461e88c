/* SPDX-License-Identifier: BSD-2-Clause */
/* The monitor's session slots and authentication decisions (loader/xtapd/monauth.c,
 * the code xtapd runs), driven with monitor-protocol messages as a worker
 * sends them: encoded, decoded by mon_decode, handed to xtap_monauth_handle.
 * Expectations from docs/privsep.md ("The protocol", "What the monitor
 * checks on top of the codec") and docs/state-and-audit.md, checked on the
 * answers sent back (AUTH_RESULT, DTCP_CLOSE) and on the real audit log.
 *
 * usage: test_monauth (a temporary folder for the configuration and the
 * audit log; no root needed) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "memback.h"
#include "monauth.h"
#include "monproto.h"

#include "../check.h"

#define PASSWORD "xtap-test-pw"
/* crypt(3) SHA-512 of PASSWORD (mkpasswd -m sha-512 -S xtaptestsalt) */
#define TEST_HASH \
	"$6$xtaptestsalt$KVXqPdNh1kdv0b13JQFDCVlxalCARleSmGxhtooWwTvP5llEJeoq." \
	"/G7SVovO0Bbqjl.TJBXMKuTJatpflSUb."
/* public keys made with ssh-keygen -t ed25519 for this test: K1 is ftap1's */
#define K1_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIF8Wa4FdEMEtE82f8BBP9Oeu4Deaq8d5KQntVuTuOHzs"
#define K2_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIJhxkn3A2no3UIJVFBvYTwuk7k0b/Jj2Zsq8ZkQYFuMn"

static char dir[] = "/tmp/xtap-monauth.XXXXXX";
static char cfg_path[64], audit_path[64];
static struct xtap_config *cfg;
static struct xtap_audit *audit;
static struct memback mb;
static struct dtcp_server srv;
static struct xtap_ctl_stats stats;
static struct xtap_monauth ma;
static uint8_t tx[MON_MSG_MAX], in[MON_MSG_MAX];
/* what monauth sent to the worker, decoded as the worker decodes it */
static struct mon_msg sent[8];
static int n_sent;

static void capture(void *ctx, size_t n)
{
	const char *why;

	(void)ctx;
	if (n_sent < 8 && mon_decode(tx, n, MON_FROM_MONITOR, &sent[n_sent], &why) == 0)
		n_sent++;
}

static void count_emit(void *arg, const char *b, size_t n)
{
	(void)b;
	(void)n;
	++*(int *)arg;
}

/* one message from the worker; n from one of the encoders */
static void feed(size_t n)
{
	struct mon_msg m;
	const char *why;

	n_sent = 0;
	if (!n || mon_decode(in, n, MON_FROM_WORKER, &m, &why)) {
		printf("FAIL a test message does not decode\n");
		failed++;
		return;
	}
	xtap_monauth_handle(&ma, &m);
	mon_msg_clear(&m);
}

static void conn_open(uint32_t id, const char *peer)
{
	feed(mon_enc_conn_open(in, sizeof(in), id, peer));
}

/* the AUTH_RESULT of a password attempt: 1 ok, 0 refused, -1 none sent */
static int password(uint32_t id, const char *user, const char *pw)
{
	feed(mon_enc_auth_password(in, sizeof(in), id, user, pw));
	return n_sent == 1 && sent[0].type == MON_AUTH_RESULT && sent[0].session == id ? (int)sent[0].ok : -1;
}

static size_t b64_blob(const char *b64, uint8_t *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (const char *p = b64; *p && *p != '='; p++) {
		acc = acc << 6 | (uint32_t)(strchr(al, *p) - al);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

static int pubkey(uint32_t id, const char *user, const char *b64, int key_signed)
{
	uint8_t blob[128];
	size_t n = b64_blob(b64, blob);

	feed(mon_enc_auth_pubkey(in, sizeof(in), id, key_signed, user, "ssh-ed25519", blob, n));
	return n_sent == 1 && sent[0].type == MON_AUTH_RESULT ? (int)sent[0].ok : -1;
}

static void session_open(uint32_t id, const char *user)
{
	feed(mon_enc_session_open(in, sizeof(in), id, user, "198.51.100.99"));
}

static void empty(uint32_t type, uint32_t id)
{
	feed(mon_enc_empty(in, sizeof(in), type, id));
}

/* audit lines holding every one of the strings (NULL-terminated) */
static int audit_count(const char *a, const char *b, const char *c)
{
	char line[1024];
	int n = 0;
	FILE *f;

	xtap_audit_flush(audit);
	if (!(f = fopen(audit_path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, a) && (!b || strstr(line, b)) && (!c || strstr(line, c));
	fclose(f);
	return n;
}

static int setup(void)
{
	static struct xtap_config_errors errs;
	FILE *f;

	if (!mkdtemp(dir))
		return -1;
	snprintf(cfg_path, sizeof(cfg_path), "%s/xtapd.conf", dir);
	snprintf(audit_path, sizeof(audit_path), "%s/audit.log", dir);
	if (!(f = fopen(cfg_path, "w")))
		return -1;
	fprintf(f,
		"set system login class flowtap permissions flow-tap-operation\n"
		"set system login user ftap1 uid 2001\n"
		"set system login user ftap1 class flowtap\n"
		"set system login user ftap1 authentication encrypted-password \"%s\"\n"
		"set system login user ftap1 authentication ssh-ed25519 \"ssh-ed25519 %s\"\n"
		/* a user with the password but no control source: no DTCP key */
		"set system login user viewer uid 2002\n"
		"set system login user viewer class flowtap\n"
		"set system login user viewer authentication encrypted-password \"%s\"\n"
		"set system services flow-tap-dtcp ssh\n"
		"set interfaces vt-4/0/0 unit 0 family inet\n"
		"set services flow-tap tunnel-interface vt-4/0/0.0\n"
		"set services flow-tap control-source ftap1 key \"Juniper\"\n"
		"set services flow-tap interface s0 mode xdp-native\n",
		TEST_HASH, K1_B64, TEST_HASH);
	fclose(f);
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg || xtap_config_load(cfg_path, cfg, &errs)) {
		if (cfg)
			xtap_config_report(cfg_path, &errs, stdout);
		return -1;
	}
	if (!(audit = xtap_audit_open(audit_path)))
		return -1;
	memback_init(&mb, NULL);
	if (dtcp_server_init(&srv, &mb.cfg, &mb.be, &mb))
		return -1;
	ma = (struct xtap_monauth){ .cfg = &cfg,
				    .audit = &audit,
				    .srv = &srv,
				    .stats = &stats,
				    .tx = tx,
				    .tx_size = sizeof(tx),
				    .send = capture };
	xtap_monauth_dummy_hash(&ma);
	return 0;
}

static void passwords(void)
{
	CHECK(!strncmp(ma.dummy_hash, "$6$", 3), "the dummy hash has the configured method ($6$)");
	CHECK(password(1, "ftap1", PASSWORD) == 0, "AUTH_PASSWORD without CONN_OPEN: refused");
	CHECK(xtap_monauth_connections(&ma) == 0, "... and nothing held for it");
	conn_open(1, "192.0.2.10");
	CHECK(xtap_monauth_connections(&ma) == 1 && n_sent == 0, "CONN_OPEN takes a slot, answered with nothing");
	CHECK(password(1, "ftap1", "xtap-test-pX") == 0, "wrong password: AUTH_RESULT 0");
	CHECK(audit_count("\"auth_fail\"", "\"ftap1\"", "\"peer\":\"192.0.2.10\"") == 1,
	      "auth_fail audited with the peer of CONN_OPEN");
	CHECK(password(1, "nosuchuser", PASSWORD) == 0, "unknown user: AUTH_RESULT 0");
	CHECK(password(1, "viewer", PASSWORD) == 0, "the configured password of a user who is no control source: 0");
	CHECK(stats.auth_fail_password == 4, "the failures are counted for the metrics");
	CHECK(password(1, "ftap1", PASSWORD) == 1, "right password: AUTH_RESULT 1");
	CHECK(audit_count("\"auth_ok\"", "\"peer\":\"192.0.2.10\"", "\"method\":\"password\"") == 1,
	      "auth_ok audited with the peer and the method");
	CHECK(password(1, "ftap1", PASSWORD) == 0, "a second AUTH_* on a logged-in connection: refused");
	/* an id announced twice keeps its first peer */
	conn_open(1, "203.0.113.66");
	CHECK(xtap_monauth_connections(&ma) == 1, "CONN_OPEN twice: still one slot");
}

static void sessions(void)
{
	session_open(2, "ftap1");
	CHECK(!xtap_monauth_dtcp(&ma, 2) && xtap_monauth_sessions(&ma) == 0,
	      "SESSION_OPEN for a connection never announced: no session");
	conn_open(2, "192.0.2.20");
	session_open(2, "ftap1");
	CHECK(!xtap_monauth_dtcp(&ma, 2), "SESSION_OPEN without a login: no session");
	CHECK(audit_count("\"session_open\"", NULL, NULL) == 0, "... and no session_open line");
	session_open(1, "ftap2");
	CHECK(!xtap_monauth_dtcp(&ma, 1), "SESSION_OPEN as another user than the one logged in: no session");
	session_open(1, "ftap1");
	CHECK(xtap_monauth_dtcp(&ma, 1) && xtap_monauth_sessions(&ma) == 1,
	      "SESSION_OPEN as the user logged in: a DTCP session");
	CHECK(audit_count("\"session_open\"", "ftap1 from 192.0.2.10", NULL) == 1,
	      "session_open audited with the peer of CONN_OPEN (not the one SESSION_OPEN names)");
	session_open(1, "ftap1");
	CHECK(xtap_monauth_sessions(&ma) == 1, "a second SESSION_OPEN: still one session");
	{
		/* DTCP_CREDIT takes the bytes the worker wrote off the session's
		 * count, never below 0 (more than was sent: the worker lies) */
		struct xtap_msess *s = xtap_monauth_slot(&ma, 1);
		char lm[256];
		int replies = 0;
		size_t k;

		s->unacked = 100000;
		feed(mon_enc_credit(in, sizeof(in), 1, 40000));
		CHECK(s->unacked == 60000 && n_sent == 0, "DTCP_CREDIT: 100000 - 40000 bytes unacknowledged");
		feed(mon_enc_credit(in, sizeof(in), 1, 70000));
		CHECK(s->unacked == 0, "DTCP_CREDIT for more than was sent: 0, not a wrap");
		feed(mon_enc_credit(in, sizeof(in), 77, 1));
		CHECK(n_sent == 0, "DTCP_CREDIT for a connection never announced: ignored");
		/* DTCP_EOF while a LIST streams: DTCP_CLOSE only after it */
		s->ds.stream_lists = true;
		k = (size_t)snprintf(lm, sizeof(lm), "LIST DTCP/0.8\r\nCsource-ID: ftap1\r\nSeq: 1\r\n");
		k = dtcp_sign_append("Juniper", 7, lm, k, sizeof(lm));
		dtcp_session_feed(&s->ds, lm, k, 0, count_emit, &replies);
		CHECK(dtcp_session_listing(&s->ds) && replies == 0, "a LIST streams on the session");
		empty(MON_DTCP_EOF, 1);
		CHECK(n_sent == 0 && s->eof_wait && xtap_monauth_dtcp(&ma, 1),
		      "DTCP_EOF during a LIST: no DTCP_CLOSE yet");
		while (dtcp_session_listing(&s->ds))
			dtcp_session_list_step(&s->ds, 0, count_emit, &replies);
		CHECK(replies == 1, "the LIST's reply (xtapd's pump closes the session after it)");
	}
	empty(MON_DTCP_EOF, 1);
	CHECK(n_sent == 1 && sent[0].type == MON_DTCP_CLOSE && sent[0].session == 1, "DTCP_EOF: answered DTCP_CLOSE");
	CHECK(!xtap_monauth_dtcp(&ma, 1), "... and the session takes no more data");
	empty(MON_DTCP_EOF, 1);
	CHECK(n_sent == 0, "a second DTCP_EOF: no second DTCP_CLOSE");
	empty(MON_SESSION_CLOSE, 1);
	CHECK(xtap_monauth_connections(&ma) == 1 && xtap_monauth_sessions(&ma) == 0,
	      "SESSION_CLOSE frees the slot and the session");
	CHECK(audit_count("\"session_close\"", "ftap1", NULL) == 1, "session_close audited");
	empty(MON_SESSION_CLOSE, 2);
	CHECK(xtap_monauth_connections(&ma) == 0, "a connection that never logged in frees its slot too");
	/* the freed id is not logged in any more: nothing survives its slot */
	session_open(1, "ftap1");
	CHECK(!xtap_monauth_dtcp(&ma, 1), "after SESSION_CLOSE its id has no login");
}

static void keys(void)
{
	conn_open(3, "192.0.2.30");
	CHECK(pubkey(3, "ftap1", K1_B64, 0) == 1, "key query for the authorized key: 1");
	session_open(3, "ftap1");
	CHECK(!xtap_monauth_dtcp(&ma, 3), "a key query is no login");
	CHECK(pubkey(3, "ftap1", K2_B64, 0) == 0, "key query for another key: 0");
	CHECK(pubkey(3, "viewer", K1_B64, 0) == 0, "key query for a user without that key: 0");
	CHECK(pubkey(3, "ftap1", K1_B64, 1) == 0, "a signed request with no AUTH_SIG before it: 0");
	CHECK(audit_count("\"auth_fail\"", "\"method\":\"publickey\"", "192.0.2.30") == 1,
	      "... audited as a failed publickey login");
	session_open(3, "ftap1");
	CHECK(!xtap_monauth_dtcp(&ma, 3), "... and no session");
	empty(MON_SESSION_CLOSE, 3);
}

static void slots(void)
{
	int ok = 1;

	for (uint32_t id = 100; id < 100 + XTAP_MON_SESSIONS; id++)
		conn_open(id, "192.0.2.40");
	CHECK(xtap_monauth_connections(&ma) == XTAP_MON_SESSIONS, "256 connections take 256 slots");
	conn_open(999, "192.0.2.41");
	CHECK(xtap_monauth_connections(&ma) == XTAP_MON_SESSIONS, "the 257th has none");
	CHECK(password(999, "ftap1", PASSWORD) == 0, "... and cannot log in");
	empty(MON_SESSION_CLOSE, 100);
	conn_open(999, "192.0.2.41");
	CHECK(password(999, "ftap1", PASSWORD) == 1, "a slot freed by SESSION_CLOSE is taken again");
	session_open(999, "ftap1");
	CHECK(xtap_monauth_dtcp(&ma, 999) != NULL, "... and opens a session");
	xtap_monauth_drop_all(&ma, "SSH worker restart");
	CHECK(xtap_monauth_connections(&ma) == 0 && xtap_monauth_sessions(&ma) == 0,
	      "the worker gone: every slot free");
	CHECK(audit_count("\"session_close\"", "SSH worker restart", NULL) == 1,
	      "... the DTCP session's end audited with the reason");
	for (uint32_t id = 100; id < 100 + XTAP_MON_SESSIONS && ok; id++) {
		conn_open(id, "192.0.2.42");
		ok = password(id, "ftap1", PASSWORD) == 1;
	}
	CHECK(ok, "after that 256 new connections each log in");
	xtap_monauth_drop_all(&ma, NULL);
}

/* docs/privsep.md: up to 20 lines per kind and minute, then counted */
static void rate_limit(void)
{
	int before = audit_count("\"auth_fail\"", NULL, NULL), suppressed;

	conn_open(5, "192.0.2.50");
	for (int i = 0; i < 30; i++)
		password(5, "ftap1", "wrong");
	suppressed = audit_count("\"auth_fail\"", NULL, NULL) - before;
	/* this minute's window already holds the failures above */
	CHECK(before < 20 && before + suppressed == 20,
	      "30 more failed logins write auth_fail lines up to 20 in the minute");
	CHECK(stats.auth_fail_password == 6 + 30, "... every one counted for the metrics");
	feed(mon_enc_event(in, sizeof(in), 5, MON_EV_REFUSED, "192.0.2.50"));
	CHECK(audit_count("\"connection_refused\"", "refused from 192.0.2.50", NULL) == 1,
	      "a refused channel (not pre-auth) is written at once");
	empty(MON_SESSION_CLOSE, 5);
}

static void teardown(void)
{
	xtap_monauth_free(&ma);
	dtcp_server_free(&srv);
	xtap_audit_close(audit);
	xtap_config_free(cfg);
	free(cfg);
	unlink(cfg_path);
	unlink(audit_path);
	rmdir(dir);
}

int main(void)
{
	if (setup()) {
		printf("cannot set up in %s\n", dir);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	passwords();
	sessions();
	keys();
	slots();
	rate_limit();
	teardown();
	printf("monauth: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
