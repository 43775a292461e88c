/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the DTCP library: the docs/dtcp.md vectors byte for byte,
 * framing at every split point, value parsers, the parse-format-parse round
 * trip for every request kind, reply parsing, timeout arithmetic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <arpa/inet.h>

#include "dtcp.h"
#include "internal.h"
#include "memback.h"

#include "../check.h"

#define T0_MS 1714564800000ull /* 2024-05-01 12:00:00.000 UTC */

/* LF -> CRLF */
static char *crlf(const char *s, size_t *n)
{
	char *o = malloc(2 * strlen(s) + 1);
	size_t k = 0;
	for (; *s; s++) {
		if (*s == '\n')
			o[k++] = '\r';
		o[k++] = *s;
	}
	o[k] = 0;
	*n = k;
	return o;
}

/* ---- 3.1 and 7 ------------------------------------------------------------ */

static const char *vec31 = "DISABLE DTCP/0.8\nCsource-ID: ft-user\nCriteria-ID: 8\nX-Drop-Policy: drop_pol\n"
			   "Flags: STATIC\nSeq: 1\n";

static const char *add7 = "ADD DTCP/0.7\nCsource-ID: ftap1\nCdest-ID: cd1\nSource-Address: 10.1.1.0/24\n"
			  "Dest-Address: *\nSource-Port: *\nDest-Port: 80\nProtocol: 6\nPriority: 2\n"
			  "X-JTap-Cdest-Dest-Address: 192.0.2.50\nX-JTap-Cdest-Dest-Port: 7890\n"
			  "X-JTap-Cdest-Source-Address: 192.0.2.1\nX-JTap-Cdest-Source-Port: 49153\n"
			  "X-JTap-Cdest-TTL: 64\nFlags: STATIC\nSeq: 1\n"
			  "Authentication-Info: 7aad6603263056c684466d3b2cb9cb997a570159\n\n";

static const char *reply7 = "DTCP/0.7 200 OK\nSEQ: 1\nCRITERIA-ID: 1\nTIMESTAMP: 2024-05-01 12:00:00.000\n"
			    "AUTHENTICATION-INFO: 87fc3054061366e4bd3a421cba57b7f9d8bc82c6\n\n";

static void test_vectors(void)
{
	char hex[DTCP_HMAC_HEX + 1];
	size_t n;
	char *m = crlf(vec31, &n);

	CHECK(dtcp_hmac_hex("Juniper", 7, m, n, hex) == 0 && !strcmp(hex, "963aa01c38c531f63fb410afd058c018be4d0230"),
	      "3.1 vector: %s", hex);
	CHECK(dtcp_hmac_hex("Juniper", 7, "", 0, hex) == 0 && !strcmp(hex, "eb4fb08e870da186709352f012b2f242c5a19e28"),
	      "empty vector: %s", hex);
	CHECK(dtcp_hmac_verify("Juniper", 7, m, n, "963AA01C38C531F63FB410AFD058C018BE4D0230", 40),
	      "uppercase digest verifies");
	CHECK(!dtcp_hmac_verify("Juniper", 7, m, n - 1, "963aa01c38c531f63fb410afd058c018be4d0230", 40),
	      "one byte less does not verify");
	CHECK(!dtcp_hmac_verify("juniper", 7, m, n, "963aa01c38c531f63fb410afd058c018be4d0230", 40),
	      "other key does not verify");
	free(m);

	/* 7: the request's signature and the reply, byte for byte. */
	char *req = crlf(add7, &n);
	struct dtcp_msg msg;
	dtcp_msg_parse(req, n, &msg);
	CHECK(msg.has_auth && dtcp_hmac_verify("Juniper", 7, req, msg.signed_len, msg.auth.p, msg.auth.n),
	      "7 request signature");
	size_t wn;
	char *want = crlf(reply7, &wn);
	struct dtcp_reply rep = { .version = 7,
				  .code = 200,
				  .has_seq = true,
				  .seq = 1,
				  .now_ms = T0_MS,
				  .has_criteria_id = true,
				  .criteria_id = 1 };
	char out[512];
	size_t k = dtcp_reply_format(&rep, "Juniper", 7, out, sizeof(out));
	CHECK(k == wn && !memcmp(out, want, wn), "7 reply formatted byte for byte");
	CHECK(dtcp_reply_format(&rep, "Juniper", 7, out, wn - 1) == 0, "reply into a short buffer fails");
	free(want);
	free(req);
}

/* ---- session and framing ------------------------------------------------------ */

struct sink {
	char buf[1 << 17];
	size_t n;
	int replies;
};

static void sink_emit(void *arg, const char *b, size_t n)
{
	struct sink *s = arg;
	if (s->n + n <= sizeof(s->buf)) {
		memcpy(s->buf + s->n, b, n);
		s->n += n;
	}
	s->replies++;
}

/* Runs a stream through a fresh server in pieces cut at the given points. */
static void run_stream(const char *data, size_t n, const size_t *cuts, int ncuts, struct sink *out)
{
	static struct memback mb;
	struct dtcp_server srv;
	struct dtcp_session ss;
	size_t off = 0;

	memback_init(&mb, NULL);
	dtcp_server_init(&srv, &mb.cfg, &mb.be, &mb);
	dtcp_session_init(&ss, &srv, "ftap1", "192.0.2.10");
	out->n = 0;
	out->replies = 0;
	for (int i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		dtcp_session_feed(&ss, data + off, end - off, T0_MS, sink_emit, out);
		off = end;
	}
	dtcp_session_free(&ss);
	dtcp_server_free(&srv);
}

static void test_framing(void)
{
	static struct sink whole, part;
	char noop[256], stream[2048];
	size_t n, k;
	char *add = crlf(add7, &n);
	size_t wn;
	char *want = crlf(reply7, &wn);

	/* Stream: the 7 ADD, then a NOOP signed here. */
	k = (size_t)snprintf(noop, sizeof(noop), "NOOP DTCP/0.8\r\nCsource-ID: ftap1\r\nSeq: 2\r\n");
	k = dtcp_sign_append("Juniper", 7, noop, k, sizeof(noop));
	CHECK(k > 0, "sign_append");
	memcpy(stream, add, n);
	memcpy(stream + n, noop, k);
	size_t total = n + k;

	run_stream(stream, total, NULL, 0, &whole);
	CHECK(whole.replies == 2, "two replies, got %d", whole.replies);
	CHECK(whole.n > wn && !memcmp(whole.buf, want, wn), "7 reply through the session byte for byte");

	int bad = 0;
	for (size_t cut = 1; cut < total; cut++) {
		run_stream(stream, total, &cut, 1, &part);
		if (part.n != whole.n || memcmp(part.buf, whole.buf, whole.n) || part.replies != 2)
			bad++;
	}
	CHECK(bad == 0, "split at every point: %d differ", bad);

	size_t cuts[4096];
	for (size_t i = 0; i + 1 < total && i < 4096; i++)
		cuts[i] = i + 1;
	run_stream(stream, total, cuts, (int)(total - 1), &part);
	CHECK(part.n == whole.n && !memcmp(part.buf, whole.buf, whole.n), "byte by byte");

	/* The framer alone: LF-only and leading empty lines. */
	struct dtcp_framer fr = { 0 };
	size_t skip, len;
	const char *lf = "\n\r\nNOOP DTCP/0.8\nSeq: 1\n\nNOOP";
	CHECK(dtcp_frame_next(&fr, lf, strlen(lf), &skip, &len) == DTCP_FRAME_MESSAGE && skip == 3 && len == 22,
	      "LF framing skip=%zu len=%zu", skip, len);
	dtcp_framer_reset(&fr);
	CHECK(dtcp_frame_next(&fr, lf, 3 + 21, &skip, &len) == DTCP_FRAME_MORE, "undecided end waits");
	free(add);
	free(want);
}

/* ---- values --------------------------------------------------------------------- */

static void test_values(void)
{
	/* IPv4 text as inet_ntop writes it (dtcp_addr_str does it by hand) */
	static const uint8_t v4[][4] = {
		{ 0, 0, 0, 0 }, { 255, 255, 255, 255 }, { 10, 100, 9, 99 }, { 1, 20, 199, 200 }
	};
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		uint8_t a[16] = { 0 };
		char got[64], want[64];

		memcpy(a, v4[i], 4);
		dtcp_addr_str(DTCP_AF_INET, a, got, sizeof(got));
		inet_ntop(AF_INET, a, want, sizeof(want));
		CHECK(!strcmp(got, want), "IPv4 text %s (want %s)", got, want);
	}

	struct dtcp_addr a;
	static const char *good[] = {
		"192.0.2.1",
		"0.0.0.0",
		"255.255.255.255",
		"::",
		"::1",
		"1::",
		"2001:db8::1",
		"2001:DB8:0:0:0:0:0:1",
		"2001:0db8:0000:0000:0000:0000:0000:0001",
		"::ffff:192.0.2.1",
		"64:ff9b::198.51.100.1",
		"fe80::1:2:3:4",
	};
	static const char *bad[] = {
		"192.0.2",
		"192.0.2.1.1",
		"192.0.2.256",
		"01.2.3.4",
		"2001:db8::1::2",
		":::",
		"2001:db8::1%eth0",
		"2001:db8:0:0:0:0:0:0:1",
		"",
		" 192.0.2.1",
		"g::1",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(dtcp_parse_addr(good[i], strlen(good[i]), &a) == 0, "address %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(dtcp_parse_addr(bad[i], strlen(bad[i]), &a) != 0, "not an address: '%s'", bad[i]);

	struct dtcp_prefix p[130];
	uint8_t lo[16] = { 0 }, hi[16];
	memset(hi, 0xff, 16);
	CHECK(dtcp_range_to_prefixes(lo, hi, 128, p, 130) == 1 && p[0].len == 0, "::-ffff.. is ::/0");
	CHECK(dtcp_range_to_prefixes(lo, hi, 32, p, 130) == 1 && p[0].len == 0, "0/0 v4");
	/* 0.0.0.1 - 255.255.255.254: 62 prefixes (31 each side). */
	uint8_t l4[16] = { 0, 0, 0, 1 }, h4[16] = { 255, 255, 255, 254 };
	CHECK(dtcp_range_to_prefixes(l4, h4, 32, p, 130) == 62, "worst v4 range: 62 prefixes");
	CHECK(dtcp_range_to_prefixes(l4, h4, 32, p, 61) == -1, "over the bound: -1");
	uint8_t l6[16] = { 0 }, h6[16];
	memset(h6, 0xff, 16);
	l6[15] = 1;
	h6[15] = 0xfe;
	CHECK(dtcp_range_to_prefixes(l6, h6, 128, p, 130) == -1, "worst v6 range needs 254 > 130");
	uint8_t one[16] = { 192, 0, 2, 7 };
	CHECK(dtcp_range_to_prefixes(one, one, 32, p, 4) == 1 && p[0].len == 32 && p[0].a[3] == 7,
	      "single address: /32");

	struct dtcp_range_set rs;
	CHECK(dtcp_parse_range_list("80, 1024-*,*-10", 15, 65535, &rs) == 0 && rs.n == 3 && rs.r[1].lo == 1024 &&
		      rs.r[1].hi == 65535 && rs.r[2].lo == 0 && rs.r[2].hi == 10,
	      "port list with open ranges");
	CHECK(dtcp_parse_range_list("80,*", 4, 65535, &rs) == 0 && rs.any && rs.n == 0, "* wins");
	CHECK(dtcp_parse_range_list("!80", 3, 65535, &rs) == DTCP_NOT_IMPLEMENTED, "negation 501");
	CHECK(dtcp_parse_range_list("9-8", 3, 65535, &rs) == DTCP_BAD_FILTER, "reversed 432");
	CHECK(dtcp_parse_range_list("+8", 2, 65535, &rs) == DTCP_BAD_REQUEST, "sign 400");
	char many[1024] = "";
	for (int i = 0; i < DTCP_MAX_RANGES + 1; i++)
		sprintf(many + strlen(many), "%s%d", i ? "," : "", i);
	CHECK(dtcp_parse_range_list(many, strlen(many), 65535, &rs) == DTCP_BAD_FILTER,
	      "more than DTCP_MAX_RANGES: 432");

	struct dtcp_name nm;
	char e[256];
	CHECK(dtcp_unescape_name("ftap\\049", 8, &nm) == 0 && !strcmp(nm.s, "ftap1"), "\\049");
	CHECK(dtcp_unescape_name("a\\256", 5, &nm) != 0, "\\256 rejected");
	CHECK(dtcp_unescape_name("a\\010", 5, &nm) != 0, "control byte rejected");
	CHECK(dtcp_unescape_name("a\\9", 3, &nm) == 0 && !strcmp(nm.s, "a\\9"), "short escape literal");
	CHECK(dtcp_unescape_name("", 0, &nm) != 0, "empty rejected");
	memset(e, 'x', 64);
	CHECK(dtcp_unescape_name(e, 63, &nm) == 0 && dtcp_unescape_name(e, 64, &nm) != 0, "63 ok, 64 too long");
	CHECK(dtcp_unescape_name("cd\\044x\\032y\\092", 16, &nm) == 0, "comma, space, backslash");
	dtcp_escape_name(nm.s, e, sizeof(e));
	CHECK(!strcmp(e, "cd\\044x\\032y\\092"), "escape back: %s", e);
}

/* ---- round trip -------------------------------------------------------------------- */

static const char *const requests[] = {
	"ADD DTCP/0.7\nCsource-ID: ftap1\nCdest-ID: cd1\nSource-Address: 10.1.1.0/24\n"
	"Dest-Port: 80\nProtocol: 6\nPriority: 2\nX-JTap-Cdest-Dest-Address: 192.0.2.50\n"
	"X-JTap-Cdest-Dest-Port: 7890\nX-JTap-Cdest-Source-Address: 192.0.2.1\n"
	"X-JTap-Cdest-Source-Port: 49153\nX-JTap-Cdest-TTL: 64\nFlags: STATIC\nSeq: 1\n",
	"ADD DTCP/0.8\nCsource-ID: a\\044b\nCdest-ID: x, y\nSource-Address: 192.0.2.1-192.0.2.14, 10.0.0.0/8\n"
	"Dest-Address: *\nSource-Port: 1024-*, 22\nDest-Port: *-1023\nProtocol: 6,17\n"
	"X-JTap-Input-Interface: eth0, ge-0/0/0.0\nTimeout-Idle: 60\nTimeout-Total: 86400\n"
	"Timeout-Packets: 18446744073709551615\nTimeout-Bytes: 1\nX-MD-Intercept-Id: 0xabcdef0123456789\n"
	"X-JTap-Cdest-Dest-Address: 2001:db8::1, 192.0.2.9\nX-JTap-Cdest-Dest-Port: 1, 65535\nSeq: "
	"18446744073709551615\n",
	"ADD DTCP/0.6\nCsource-ID: ftap1\nCdest-ID: cdconf\nDest-Address: 2001:db8::-2001:db8::ff, ::ffff:1.2.3.4\n"
	"Protocol: 58\nICMP-Type: 128-129\nICMP-Code: 0\nX-JTap-VRF-Name: vrf-blue\nFlags: static\nSeq: 0\n",
	"ADD DTCP/0.8\nCsource-ID: ftap1\nCdest-ID: cdconf\nX-IP-Addr: 192.0.2.99\n"
	"X-Interface-Id: ge-0/0/0.0\nTimeout-Packets: 5\nSeq: 3\n",
	"ADD DTCP/0.8\nCsource-ID: ftap1\nCdest-ID: cdconf\nX-JTap-IP-Version: ipv6\n"
	"X-JTap-Output-Interface: eth1\nX-JTap-Cdest-TTL: 3\nX-JTap-Cdest-Source-Port: 9\nFlags: STATIC\nSeq: 4\n",
	"DELETE DTCP/0.8\nCsource-ID: ftap1\nCriteria-ID: 1, 3-9, 12-*\nFlags: STATIC\nSeq: 5\n",
	"DELETE DTCP/0.8\nCsource-ID: ftap1\nCdest-ID: cd1, cd2\nSeq: 6\n",
	"REFRESH DTCP/0.8\nCsource-ID: ftap1\nCriteria-ID: *\nTimeout-Idle: 5\nTimeout-Bytes: 9\nSeq: 7\n",
	"REFRESH DTCP/0.7\nCsource-ID: ftap1\nCdest-ID: cd1\nTimeout-Total: 86400\nSeq: 8\n",
	"LIST DTCP/0.8\nCsource-ID: ftap1\nSeq: 9\n",
	"LIST DTCP/0.8\nCsource-ID: ftap1\nCriteria-ID: 7\nCdest-ID: cd1\nFlags: Stats\nSeq: 10\n",
	"LIST DTCP/0.8\nCsource-ID: ftap1\nFlags: criteria\nSeq: 11\n",
	"NOOP DTCP/0.8\nCsource-ID: ftap1\nSeq: 12\n",
};

static int parse_text(const char *text, size_t n, struct dtcp_request *r, struct dtcp_error *err)
{
	static struct dtcp_msg m;
	dtcp_msg_parse(text, n, &m);
	return dtcp_request_parse(&m, r, err);
}

static void test_round_trip(void)
{
	static struct dtcp_request r1, r2;
	static char b1[DTCP_MSG_MAX], b2[DTCP_MSG_MAX];
	struct dtcp_error err;

	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		size_t n;
		char *t = crlf(requests[i], &n);
		/* A message ends with an empty line. */
		t = realloc(t, n + 3);
		memcpy(t + n, "\r\n", 3);
		n += 2;
		int rc = parse_text(t, n, &r1, &err);
		CHECK(rc == 0, "request %zu parses (%d %s)", i, err.code, err.item);
		if (rc) {
			free(t);
			continue;
		}
		size_t n1 = dtcp_request_format(&r1, b1, sizeof(b1) - 2);
		memcpy(b1 + n1, "\r\n", 2);
		rc = parse_text(b1, n1 + 2, &r2, &err);
		CHECK(n1 > 0 && rc == 0, "request %zu reparses (%d %s):\n%.*s", i, err.code, err.item, (int)n1, b1);
		size_t n2 = dtcp_request_format(&r2, b2, sizeof(b2));
		CHECK(n1 == n2 && !memcmp(b1, b2, n1), "request %zu formats the same twice", i);
		/* The server's compact copy gives the criterion back byte for byte. */
		struct dtcp_entry *e = dtcp_entry_new(&r1.crit);
		static struct dtcp_criterion back;
		CHECK(e, "request %zu: entry", i);
		if (e) {
			dtcp_entry_criterion(e, &back);
			CHECK(!memcmp(&back, &r1.crit, sizeof(back)), "request %zu: entry unpacks to the criterion", i);
			CHECK(sizeof(*e) + e->packed_len < sizeof(back) / 8,
			      "request %zu: entry of %zu bytes, not a whole criterion", i, sizeof(*e) + e->packed_len);
			CHECK(!strcmp(e->given, r1.crit.given), "request %zu: entry's given text", i);
			for (int k = 0; k < r1.crit.ncdest; k++)
				CHECK(!memcmp(&e->cdest[k], &r1.crit.cdest[k], sizeof(e->cdest[k])),
				      "request %zu: entry's cdest %d", i, k);
			for (int k = 0; k < r1.crit.nscope; k++)
				CHECK(!strcmp(dtcp_entry_scope_name(e, k), r1.crit.scope_name[k].s),
				      "request %zu: entry's scope name %d", i, k);
			CHECK(!dtcp_entry_scope_name(e, r1.crit.nscope), "request %zu: no scope name past the end", i);
			struct dtcp_entry *d = dtcp_entry_dup(e);
			CHECK(d && d->packed_len == e->packed_len && !memcmp(d->packed, e->packed, e->packed_len) &&
				      d->given ==
					      (const char *)d->packed + ((const unsigned char *)e->given - e->packed),
			      "request %zu: entry copy points into itself", i);
			free(d);
			free(e);
		}
		/* Typed equality; the verbatim LIST text differs by design. */
		memset(r1.crit.given, 0, sizeof(r1.crit.given));
		memset(r2.crit.given, 0, sizeof(r2.crit.given));
		size_t at = 0;
		while (at < sizeof(r1) && ((char *)&r1)[at] == ((char *)&r2)[at])
			at++;
		CHECK(at == sizeof(r1), "request %zu: typed request survives the round trip (differs at offset %zu)", i,
		      at);
		free(t);
	}
}

/* ---- HMAC against OpenSSL's HMAC() ------------------------------------------------- */

/* Keys of every length class (empty, short, one block, longer than a block:
 * hashed first), alternating so that the cached key state must change, and
 * empty or long data. */
static void test_hmac_reference(void)
{
	static unsigned char key[200], data[3000];
	static const size_t klens[] = { 0, 1, 7, 63, 64, 65, 200, 7 };
	static const size_t dlens[] = { 0, 1, 55, 64, 300, 3000 };

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 13);
	for (int round = 0; round < 2; round++)
		for (size_t k = 0; k < sizeof(klens) / sizeof(klens[0]); k++)
			for (size_t d = 0; d < sizeof(dlens) / sizeof(dlens[0]); d++) {
				unsigned char md[EVP_MAX_MD_SIZE];
				unsigned int mdlen = 0;
				char want[DTCP_HMAC_HEX + 1], got[DTCP_HMAC_HEX + 1];
				static const unsigned char one;

				HMAC(EVP_sha1(), klens[k] ? key : &one, (int)klens[k], dlens[d] ? data : &one, dlens[d],
				     md, &mdlen);
				for (unsigned int i = 0; i < mdlen; i++)
					snprintf(want + 2 * i, 3, "%02x", md[i]);
				CHECK(dtcp_hmac_hex(key, klens[k], data, dlens[d], got) == 0 && !strcmp(got, want),
				      "HMAC key %zu bytes, data %zu bytes, round %d", klens[k], dlens[d], round);
			}
}

/* ---- replies ---------------------------------------------------------------------- */

static void test_reply_parse(void)
{
	static struct dtcp_reply_view v;
	char out[1024];
	const char *blocks = "CRITERIA-ID: 4\r\nCRITERIA-NUM: 3\r\nCRITERIA-COUNT: 5\r\n";
	struct dtcp_reply rep = { .version = 8,
				  .code = 200,
				  .has_seq = true,
				  .seq = 77,
				  .now_ms = T0_MS + 1234,
				  .blocks = blocks,
				  .blocks_len = strlen(blocks) };
	size_t n = dtcp_reply_format(&rep, "k", 1, out, sizeof(out));

	CHECK(n > 0 && dtcp_reply_parse(out, n, "k", 1, &v) == 0 && v.code == 200 && v.version == 8 && v.has_seq &&
		      v.seq == 77 && v.signature_ok && !v.last,
	      "LIST part parses, not last");
	CHECK(strstr(out, "TIMESTAMP: 2024-05-01 12:00:01.234\r\n") != NULL, "timestamp with ms");
	out[20] ^= 1;
	CHECK(dtcp_reply_parse(out, n, "k", 1, &v) == 0 && !v.signature_ok, "tampered reply");
	struct dtcp_reply e = { .version = 6, .code = 431, .item = "CRITERIA-ID: 9", .now_ms = T0_MS };
	n = dtcp_reply_format(&e, "k", 1, out, sizeof(out));
	CHECK(n > 0 && dtcp_reply_parse(out, n, "k", 1, &v) == 0 && v.code == 431 && !v.has_seq && v.last &&
		      v.signature_ok && strstr(out, "431 Unknown Criteria ID\r\nCRITERIA-ID: 9\r\n"),
	      "error reply with its item");
	CHECK(dtcp_reply_parse("HTTP/1.1 200 OK\r\n\r\n", 19, "k", 1, &v) != 0, "not a DTCP reply");
	/* Found by fuzz_reply: a 20-digit SEQ was not read back. */
	struct dtcp_reply big = { .version = 6, .code = 200, .has_seq = true, .seq = UINT64_MAX };
	n = dtcp_reply_format(&big, "k", 1, out, sizeof(out));
	CHECK(n > 0 && dtcp_reply_parse(out, n, "k", 1, &v) == 0 && v.has_seq && v.seq == UINT64_MAX,
	      "largest SEQ read back");
	int codes[] = { 200, 400, 430, 431, 432, 433, 500, 501, 505, 550, 551, 901 };
	int named = 0;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		named += strcmp(dtcp_reason(codes[i]), "Unknown") != 0;
	CHECK(named == 12, "every code has its reason");
}

/* ---- timeouts ---------------------------------------------------------------------- */

/* ---- the table: inserts and erases at both ends and in the middle ---------------------- */

static void no_emit(void *arg, const char *b, size_t n)
{
	(void)b;
	(void)n;
	++*(int *)arg;
}

static bool table_ok(const struct dtcp_server *s, size_t want)
{
	for (size_t i = 1; i < s->n; i++)
		if (s->tab[i - 1]->c.id >= s->tab[i]->c.id)
			return false;
	for (size_t i = 0; i < s->n; i++)
		if (dtcp_server_find(s, s->tab[i]->c.id) != s->tab[i])
			return false;
	return s->n == want;
}

/* The table keeps room at both ends and moves the nearer side: restore ids
 * in a scrambled order, then DELETE from the front, the back and the middle,
 * with new criteria below the lowest id in between; the table stays sorted
 * and every id is found, each DELETE answered. */
static void test_table_ends(void)
{
	static struct memback mb;
	static struct dtcp_criterion c;
	static struct dtcp_request r;
	struct dtcp_server s;
	const struct dtcp_source_policy *pol;
	size_t n = 0;
	int replies = 0;

	memback_init(&mb, NULL);
	dtcp_server_init(&s, &mb.cfg, &mb.be, &mb);
	pol = mb.cfg.source(&mb, "ftap1");
	snprintf(c.csource.s, sizeof(c.csource.s), "ftap1");
	c.is_static = true;
	c.src.any = c.dst.any = c.either.any = true;
	for (uint32_t k = 0; k < 300; k++) {
		struct dtcp_entry *e;

		c.id = 1000 + (k * 7919) % 300; /* every id of 1000..1299 once, scrambled */
		e = dtcp_entry_new(&c);
		CHECK(e && !dtcp_server_restore(&s, e) && !mb.be.install(&mb, &c), "restore %u", c.id);
		n++;
	}
	CHECK(table_ok(&s, n), "scrambled restores: sorted, all found");
	r.method = DTCP_M_DELETE;
	r.version = 8;
	r.csource = c.csource;
	r.flag_static = true;
	r.sel_ids = true;
	r.ids.n = 1;
	r.id_single[0] = true;
	for (int round = 0; round < 60; round++) {
		/* the lowest, the highest, then one in the middle */
		uint32_t pick[3] = { s.tab[0]->c.id, s.tab[s.n - 1]->c.id, s.tab[s.n / 2]->c.id };

		for (int k = 0; k < 3; k++) {
			int before = replies;

			r.ids.r[0].lo = r.ids.r[0].hi = pick[k];
			dtcp_server_handle(&s, pol, &r, "", T0_MS, no_emit, &replies);
			CHECK(replies == before + 1 && !dtcp_server_find(&s, pick[k]), "DELETE %u", pick[k]);
			n--;
		}
		if (round % 10 == 0) { /* below every id: an insert at the front */
			struct dtcp_entry *e;

			c.id = 900 - (uint32_t)round;
			e = dtcp_entry_new(&c);
			CHECK(e && !dtcp_server_restore(&s, e) && !mb.be.install(&mb, &c), "restore %u", c.id);
			n++;
		}
		CHECK(table_ok(&s, n), "round %d: sorted, all found (%zu)", round, s.n);
	}
	dtcp_server_free(&s);
}

/* ---- a LIST a reply at a time (docs/dtcp-library.md "LIST, a reply at a time") ---- */

struct replies {
	char *r[4096];
	size_t len[4096];
	int n;
};

static void keep_emit(void *arg, const char *b, size_t n)
{
	struct replies *rs = arg;

	if (rs->n < 4096) {
		rs->r[rs->n] = malloc(n + 1);
		memcpy(rs->r[rs->n], b, n);
		rs->r[rs->n][n] = 0;
		rs->len[rs->n++] = n;
	}
}

/* A signed message (LF text) appended to out. */
static size_t signed_msg(const char *text, char *out, size_t cap)
{
	size_t n;
	char *m = crlf(text, &n);
	size_t k = n - 2; /* without the closing empty line: signed, then the tail */

	memcpy(out, m, k);
	free(m);
	return dtcp_sign_append("Juniper", 7, out, k, cap);
}

static const char *hval(const char *p, const char *name, long *v)
{
	const char *q = strstr(p, name);

	if (!q)
		return NULL;
	*v = strtol(q + strlen(name), NULL, 10);
	return q + strlen(name);
}

/* ftap1 owns 2/3 of 3000 criteria (ids interleaved with ftap2's), ten of them
 * dynamic. A session with stream_lists gets a LIST, a NOOP and an ADD in one
 * feed: nothing is answered before the first step; between steps another
 * session deletes criteria of the set (listed already, not yet, and one
 * deleted then put back as an undo does), the dynamic ones expire, and a
 * NOOP more arrives. Every reply verifies; CRITERIA-NUM runs 1..N, COUNT N,
 * the ids are those of the start in order; then the NOOP, the ADD and the
 * NOOP in that order. A session holding more than DTCP_SESSION_HOLD_MAX
 * behind a LIST is closed. */
static void test_list_stream(void)
{
	static struct memback mb;
	static struct dtcp_criterion c;
	static struct dtcp_request del;
	static struct replies rs;
	static char in[8192];
	struct dtcp_server s;
	struct dtcp_session ss;
	const struct dtcp_source_policy *pol;
	uint32_t want[3000];
	size_t nwant = 0, k = 0;
	int steps = 0, other = 0;
	struct dtcp_entry *back = NULL;

	memback_init(&mb, NULL);
	dtcp_server_init(&s, &mb.cfg, &mb.be, &mb);
	pol = mb.cfg.source(&mb, "ftap1");
	c.src.any = c.dst.any = c.either.any = true;
	snprintf(c.given, sizeof(c.given), "DEST-ADDRESS: 198.51.100.1\r\nX-PAD: %0300d\r\n", 0);
	for (uint32_t id = 1; id <= 3000; id++) {
		struct dtcp_entry *e;

		snprintf(c.csource.s, sizeof(c.csource.s), id % 3 ? "ftap1" : "ftap2");
		c.id = id;
		c.is_static = !(id >= 2980 && id % 3 && id < 3000);
		c.timeout[DTCP_T_TOTAL] = c.is_static ? 0 : 10;
		e = dtcp_entry_new(&c);
		if (e)
			e->start_ms[DTCP_T_TOTAL] = T0_MS;
		CHECK(e && !dtcp_server_restore(&s, e), "restore %u", id);
		if (id <= MEM_MAX)
			mb.be.install(&mb, &c);
		if (id % 3)
			want[nwant++] = id;
	}
	dtcp_session_init(&ss, &s, "ftap1", "192.0.2.10");
	ss.stream_lists = true;
	k = signed_msg("LIST DTCP/0.8\nCsource-ID: ftap1\nFlags: BOTH\nSeq: 11\n\n", in, sizeof(in));
	k += signed_msg("NOOP DTCP/0.8\nCsource-ID: ftap1\nSeq: 12\n\n", in + k, sizeof(in) - k);
	k += signed_msg("ADD DTCP/0.8\nCsource-ID: ftap1\nDest-Address: 198.51.100.7\nCdest-ID: cdconf\n"
			"Flags: STATIC\nSeq: 13\n\n",
			in + k, sizeof(in) - k);
	CHECK(dtcp_session_feed(&ss, in, k, T0_MS, keep_emit, &rs) == DTCP_SESSION_OPEN && rs.n == 0 &&
		      dtcp_session_listing(&ss),
	      "a streamed LIST: nothing answered before its first step");
	del.method = DTCP_M_DELETE;
	del.version = 8;
	snprintf(del.csource.s, sizeof(del.csource.s), "ftap1");
	del.flag_static = true;
	del.sel_ids = true;
	del.ids.n = 1;
	del.id_single[0] = true;
	while (dtcp_session_listing(&ss) && steps < 1000) {
		dtcp_session_list_step(&ss, T0_MS + 1000 * (uint64_t)steps, keep_emit, &rs);
		if (++steps == 2) {
			/* listed already (1), not yet (1501, 2999), put back (1000) */
			static const uint32_t gone[] = { 1, 1501, 2999, 1000 };

			back = dtcp_entry_dup(dtcp_server_find(&s, 1000));
			for (int i = 0; i < 4; i++) {
				del.ids.r[0].lo = del.ids.r[0].hi = gone[i];
				dtcp_server_handle(&s, pol, &del, "", T0_MS, no_emit, &other);
			}
			CHECK(other == 4 && !dtcp_server_find(&s, 1501) && back && !dtcp_server_restore(&s, back),
			      "deleted while the LIST streams, one put back");
			dtcp_entry_criterion(back, &c); /* on the datapath again, as xtapd's undo does */
			mb.be.install(&mb, &c);
			/* the dynamic ones expire (their total of 10 s is over) */
			CHECK(dtcp_server_expire(&s, T0_MS + 20000) == 13, "13 dynamic criteria expire meanwhile");
			k = signed_msg("NOOP DTCP/0.8\nCsource-ID: ftap1\nSeq: 14\n\n", in, sizeof(in));
			CHECK(dtcp_session_feed(&ss, in, k, T0_MS, keep_emit, &rs) == DTCP_SESSION_OPEN && rs.n == 2,
			      "a NOOP behind the LIST waits");
		}
	}
	long num = 0, expect = 1, count = 0;
	size_t got = 0;
	bool order = true, counts = true, sigs = true, seqs = true;
	int i;

	for (i = 0; i < rs.n; i++) {
		struct dtcp_reply_view v;
		const char *p = rs.r[i];
		long id;

		if (dtcp_reply_parse(rs.r[i], rs.len[i], "Juniper", 7, &v) || !v.signature_ok || v.code != 200)
			sigs = false;
		seqs &= v.has_seq && v.seq == 11;
		while ((p = hval(p, "CRITERIA-ID: ", &id))) {
			hval(p, "CRITERIA-NUM: ", &num);
			hval(p, "CRITERIA-COUNT: ", &count);
			order &= got < nwant && (uint32_t)id == want[got] && num == expect;
			counts &= count == (long)nwant;
			got++;
			expect++;
		}
		if (v.last)
			break;
	}
	CHECK(sigs && seqs && i > 10 && i + 1 == rs.n - 3, "%d LIST replies, all 200, Seq 11, signed", i + 1);
	CHECK(order && counts && got == nwant, "CRITERIA-NUM 1..%zu, COUNT %zu, the ids of the start in order (%zu)",
	      nwant, nwant, got);
	CHECK(rs.n == i + 4 && strstr(rs.r[i + 1], "SEQ: 12\r\n") && strstr(rs.r[i + 2], "SEQ: 13\r\n") &&
		      strstr(rs.r[i + 2], "CRITERIA-ID: 3001\r\n") && strstr(rs.r[i + 3], "SEQ: 14\r\n"),
	      "then the NOOP, the ADD (id 3001) and the later NOOP, in order");
	CHECK(!dtcp_session_listing(&ss) && !s.lists, "the LIST is over, the server keeps no cursor");
	for (i = 0; i < rs.n; i++)
		free(rs.r[i]);
	rs.n = 0;

	/* more than DTCP_SESSION_HOLD_MAX behind a LIST: the session closes */
	k = signed_msg("LIST DTCP/0.8\nCsource-ID: ftap1\nSeq: 21\n\n", in, sizeof(in));
	CHECK(dtcp_session_feed(&ss, in, k, T0_MS, keep_emit, &rs) == DTCP_SESSION_OPEN && dtcp_session_listing(&ss),
	      "a second LIST");
	{
		char *junk = calloc(1, 1 << 20);
		enum dtcp_session_status st = DTCP_SESSION_OPEN;
		int mib = 0;

		memset(junk, 'x', 1 << 20);
		while (junk && st == DTCP_SESSION_OPEN && mib < 8) {
			st = dtcp_session_feed(&ss, junk, 1 << 20, T0_MS, keep_emit, &rs);
			mib++;
		}
		CHECK(st == DTCP_SESSION_CLOSE && ss.overflow && mib == 5 && rs.n == 0,
		      "closed when more than %u bytes wait behind a LIST (%d MiB)", DTCP_SESSION_HOLD_MAX, mib);
		free(junk);
	}
	dtcp_session_free(&ss);
	CHECK(!s.lists, "a session's end frees its LIST");
	dtcp_server_free(&s);
}

/* dtcp_entry_lower_bound (its fast paths from the end) against a linear
 * scan: tables with gaps, every id from below the first to past the last. */
static void test_lower_bound(void)
{
	static struct dtcp_entry ents[70];
	struct dtcp_entry *tab[70];
	unsigned seed = 7, bad = 0, cases = 0;

	for (size_t n = 0; n <= 70; n++) {
		uint32_t id = 1;

		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			id += 1 + (seed >> 16) % 4; /* gaps of 0 to 3 ids */
			ents[i].c.id = id;
			tab[i] = &ents[i];
		}
		for (uint32_t q = 0; q <= id + 2; q++) {
			size_t want = 0;

			while (want < n && tab[want]->c.id < q)
				want++;
			cases++;
			if (dtcp_entry_lower_bound(tab, n, q) != want && bad++ < 5)
				fprintf(stderr, "lower_bound n %zu id %u: %zu, want %zu\n", n, q,
					dtcp_entry_lower_bound(tab, n, q), want);
		}
	}
	CHECK(!bad, "lower_bound: %u of %u lookups differ from a linear scan", bad, cases);
}

/* dtcp.md 2 and 5: each control byte C0 but TAB, and DEL, refused in a
 * header line with 400 naming the header; every byte outside printable
 * ASCII escaped \ddd in the item, never cut inside an escape. */
static void test_controls(void)
{
	static struct dtcp_msg m;
	static struct dtcp_request r;
	struct dtcp_error err;
	char buf[512], want[64];
	int bad = 0;

	for (int c = 0; c < 256; c++) {
		if (c == '\n' || c == '\r')
			continue; /* a line end; CR alone is the case below */
		int n = snprintf(buf, sizeof(buf),
				 "NOOP DTCP/0.8\r\nCsource-ID: ftap1\r\n"
				 "X-Note: a%cb\r\nSeq: 1\r\n\r\n",
				 c ? c : '@');
		if (!c)
			buf[strstr(buf, "a@b") - buf + 1] = 0;
		dtcp_msg_parse(buf, (size_t)n, &m);
		int rc = dtcp_request_parse(&m, &r, &err);
		bool ctl = (c < 0x20 && c != '\t') || c == 0x7f;
		snprintf(want, sizeof(want), "X-NOTE: a\\%03db", c);
		if (ctl ? rc == 0 || err.code != 400 || strcmp(err.item, want) : rc != 0) {
			bad++;
			printf("  byte %d: rc %d code %d item '%s'\n", c, rc, err.code, err.item);
		}
	}
	CHECK(bad == 0, "every control byte refused with its escaped line, others accepted");
	/* a lone CR right before the CRLF */
	const char *cr = "NOOP DTCP/0.8\r\nCsource-ID: ftap1\r\nSeq: 1\r\r\n\r\n";
	dtcp_msg_parse(cr, strlen(cr), &m);
	CHECK(dtcp_request_parse(&m, &r, &err) != 0 && err.code == 400 && !strcmp(err.item, "SEQ: 1\\013") &&
		      r.has_seq && r.seq == 1,
	      "lone CR at the end of Seq: 400, SEQ still echoed (%s)", err.item);
	/* an item at DTCP_ITEM_MAX: no half escape */
	memset(want, 0, sizeof(want));
	int k = snprintf(buf, sizeof(buf), "NOOP DTCP/0.8\r\nCsource-ID: ftap1\r\nX-Long: %0190d", 0);
	buf[k++] = 1;
	k += snprintf(buf + k, sizeof(buf) - (size_t)k, "\r\nSeq: 1\r\n\r\n");
	dtcp_msg_parse(buf, (size_t)k, &m);
	CHECK(dtcp_request_parse(&m, &r, &err) != 0 && strlen(err.item) == 8 + 190 &&
		      err.item[strlen(err.item) - 1] == '0',
	      "an escape that does not fit is left out whole");
}

static void test_remaining(void)
{
	static struct dtcp_entry e;
	struct dtcp_counters c = { .packets = 7, .bytes = 700, .last_match_ms = T0_MS + 30000 };

	e.c.timeout[DTCP_T_IDLE] = 60;
	e.c.timeout[DTCP_T_TOTAL] = 100;
	e.c.timeout[DTCP_T_PACKETS] = 10;
	for (int t = 0; t < DTCP_T_N; t++)
		e.start_ms[t] = T0_MS;
	e.base[DTCP_T_PACKETS] = 2;
	uint64_t now = T0_MS + 50999;
	CHECK(dtcp_entry_remaining(&e, DTCP_T_IDLE, &c, now) == 40, "idle from last match (whole seconds)");
	CHECK(dtcp_entry_remaining(&e, DTCP_T_TOTAL, &c, now) == 50, "total");
	CHECK(dtcp_entry_remaining(&e, DTCP_T_PACKETS, &c, now) == 5, "packets since base");
	CHECK(dtcp_entry_remaining(&e, DTCP_T_BYTES, &c, now) == UINT64_MAX, "no bytes limit");
	CHECK(dtcp_entry_remaining(&e, DTCP_T_TOTAL, &c, T0_MS + 500000) == 0, "total reached");
	e.c.is_static = true;
	CHECK(dtcp_entry_remaining(&e, DTCP_T_TOTAL, &c, T0_MS + 500000) == UINT64_MAX, "static: none");
}

int main(void)
{
	test_vectors();
	test_framing();
	test_values();
	test_round_trip();
	test_hmac_reference();
	test_table_ends();
	test_list_stream();
	test_lower_bound();
	test_reply_parse();
	test_remaining();
	test_controls();
	printf("test_dtcp: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
