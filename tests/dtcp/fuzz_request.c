/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: framing + parsing + validation + the server, on bytes
 * from the wire. Three paths per input:
 *  1. each framed message parsed and handled without the HMAC gate, and
 *     every parsed request put through format -> parse -> format;
 *  2. the raw bytes through a session (the HMAC gate, the no-reply rule);
 *  3. each message re-signed with the right key through a session, so the
 *     fuzzer reaches the server behind the gate. */
#include <stdlib.h>
#include <string.h>

#include "dtcp.h"
#include "memback.h"

#define T0_MS 1714564800000ull

static void sink(void *arg, const char *b, size_t n)
{
	/* Every reply must be one whole, signed, parseable reply. */
	static struct dtcp_reply_view v;
	if (dtcp_reply_parse(b, n, "Juniper", 7, &v) != 0 || !v.signature_ok)
		abort();
	(void)arg;
}

static void round_trip(const struct dtcp_request *r1)
{
	static struct dtcp_request r2;
	static struct dtcp_msg m;
	static char b1[DTCP_MSG_MAX + 2], b2[DTCP_MSG_MAX + 2];
	struct dtcp_error err;

	size_t n1 = dtcp_request_format(r1, b1, sizeof(b1) - 2);
	if (n1 == 0)
		return; /* canonical text longer than the buffer: nothing to compare */
	memcpy(b1 + n1, "\r\n", 2);
	dtcp_msg_parse(b1, n1 + 2, &m);
	if (dtcp_request_parse(&m, &r2, &err)) {
		/* Only the verbatim LIST text may overflow with canonical values. */
		if (err.code != DTCP_BAD_FILTER)
			abort();
		return;
	}
	size_t n2 = dtcp_request_format(&r2, b2, sizeof(b2));
	if (n2 != n1 || memcmp(b1, b2, n1))
		abort();
}

/* dtcp.md 2: an accepted request holds no control character (C0 but TAB,
 * or DEL) before Authentication-Info, other than the CR of a CRLF. */
static void check_no_controls(const char *msg, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)msg[i];
		if (c == '\n' || c == '\t' || (c == '\r' && i + 1 < n && msg[i + 1] == '\n'))
			continue;
		if (c < 0x20 || c == 0x7f)
			abort();
	}
}

/* An error item is one printable ASCII line: client bytes are escaped. */
static void check_item(const char *item)
{
	for (const char *s = item; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			abort();
}

static void direct(struct dtcp_server *srv, const char *msg, size_t n)
{
	static struct dtcp_msg m;
	static struct dtcp_request r;
	static const struct dtcp_source_policy pol = { .key = "Juniper", .keylen = 7 };
	struct dtcp_error err;

	dtcp_msg_parse(msg, n, &m);
	if (dtcp_request_parse(&m, &r, &err)) {
		if (err.code < 400 || err.code > 999)
			abort();
		check_item(err.item);
		return;
	}
	check_no_controls(msg, m.signed_len);
	round_trip(&r);
	dtcp_server_handle(srv, &pol, &r, "192.0.2.10", T0_MS, sink, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct memback mb;
	static char signed_buf[DTCP_MSG_MAX + 128];
	struct dtcp_server srv;
	struct dtcp_session ss;
	struct dtcp_framer fr = { 0 };
	const char *p = (const char *)data;
	size_t off = 0, skip, len;

	memback_init(&mb, NULL);
	dtcp_server_init(&srv, &mb.cfg, &mb.be, &mb);
	/* 1 and 3 */
	dtcp_session_init(&ss, &srv, "ftap1", "192.0.2.10");
	while (off < size) {
		enum dtcp_frame_result fres = dtcp_frame_next(&fr, p + off, size - off, &skip, &len);
		if (fres != DTCP_FRAME_MESSAGE)
			break;
		direct(&srv, p + off + skip, len);
		static struct dtcp_msg m;
		dtcp_msg_parse(p + off + skip, len, &m);
		size_t body = m.has_auth ? m.signed_len : len;
		if (body <= DTCP_MSG_MAX) {
			memcpy(signed_buf, p + off + skip, body);
			size_t k = dtcp_sign_append("Juniper", 7, signed_buf, body, sizeof(signed_buf));
			if (k)
				dtcp_session_feed(&ss, signed_buf, k, T0_MS, sink, NULL);
		}
		off += skip + len;
		dtcp_framer_reset(&fr);
	}
	dtcp_session_free(&ss);
	/* 2: raw bytes, split in two at a point taken from the input. */
	dtcp_session_init(&ss, &srv, "ftap1", "192.0.2.10");
	size_t cut = size ? data[0] % (size + 1) : 0;
	if (dtcp_session_feed(&ss, p, cut, T0_MS, sink, NULL) == DTCP_SESSION_OPEN)
		dtcp_session_feed(&ss, p + cut, size - cut, T0_MS, sink, NULL);
	dtcp_session_free(&ss);
	dtcp_server_expire(&srv, T0_MS + 86400000);
	dtcp_server_free(&srv);
	return 0;
}
