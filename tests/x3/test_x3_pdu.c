/* SPDX-License-Identifier: BSD-2-Clause */
/* Golden tests of loader/x3/x3_pdu.c. Every expected PDU is written here by
 * hand, field by field, from the layout of ETSI TS 103 221-2 V1.4.1 clause 5
 * (docs/x3.md), never taken from the encoder's output: the encoder must
 * produce these bytes and the decoder must read these bytes back into the
 * fields named in the row. The decoder's refusals are rows too. Prints
 * "N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x3_pdu.h"

static int pass, fail;

#define CHECK(name, ok) \
	do { \
		if (ok) \
			pass++; \
		else { \
			fail++; \
			printf("FAILED  %s: %s (line %d)\n", name, #ok, __LINE__); \
		} \
	} while (0)

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			continue; /* blanks and '|' separate fields */
		if (hi < 0) {
			hi = v;
		} else {
			if (n == cap)
				abort();
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		abort();
	return n;
}

/* documentation addresses: 192.0.2.10 -> 198.51.100.7, UDP 53 -> 53, 4 bytes */
#define PKT4 "45000020 00010000 40110000 c000020a c6336407 00350035 000c0000 deadbeef"
/* 2001:db8::1 -> 2001:db8::2, UDP, 8 bytes of UDP header and no data */
#define PKT6 \
	"60000000 00081140 20010db8000000000000000000000001 20010db8000000000000000000000002 " \
	"00350035 00080000"
#define XID "00112233 44556677 8899aabb ccddeeff"

/* Field by field (clause): Version 5.2.1 | PDU Type 5.2.2 | Header Length
 * 5.2.3 | Payload Length 5.2.4 | Payload Format 5.2.5 | Payload Direction
 * 5.2.6 | XID 5.2.7 | Correlation ID 5.2.8 | attributes 5.3 | payload. */
static const char golden_x3_v4[] = "0005 | 0002 | 0000003c | 00000020 | 0005 | 0003 |" XID "| 01020304 05060708 |"
				   " 0008 0004 00000000 |" /* 5.3.9 sequence number 0 */
				   " 0009 0008 65123456 075bcd15 |" /* 5.3.10 timestamp 0x65123456 s, 123456789 ns */
	PKT4;
static const char golden_x3_v6[] = "0005 | 0002 | 0000003c | 00000030 | 0006 | 0002 |" XID "| 00000000 00000000 |"
				   " 0008 0004 fffffffe |"
				   " 0009 0008 00000001 3b9ac9ff |" /* 999999999 ns, the largest */
	PKT6;
static const char golden_keepalive[] = "0005 | 0003 | 00000030 | 00000000 | 0000 | 0000 |"
				       " 00000000 00000000 00000000 00000000 | 00000000 00000000 | 0008 0004 0000002a";
static const char golden_keepalive_ack[] =
	"0005 | 0004 | 00000030 | 00000000 | 0000 | 0000 |"
	" 00000000 00000000 00000000 00000000 | 00000000 00000000 | 0008 0004 0000002a";

static void test_encode(void)
{
	uint8_t want[512], got[512], xid[16], pkt[128];
	size_t wn, gn, pn;

	unhex(XID, xid, sizeof(xid));
	pn = unhex(PKT4, pkt, sizeof(pkt));
	wn = unhex(golden_x3_v4, want, sizeof(want));
	gn = x3_encode_x3(got, sizeof(got), xid, 0x0102030405060708ull, X3_DIR_FROM_TARGET, 0, 0x65123456, 123456789,
			  pkt, pn);
	CHECK("encode x3 ipv4: length", gn == wn && wn == 60 + 32);
	CHECK("encode x3 ipv4: bytes", gn == wn && memcmp(got, want, wn) == 0);

	pn = unhex(PKT6, pkt, sizeof(pkt));
	wn = unhex(golden_x3_v6, want, sizeof(want));
	gn = x3_encode_x3(got, sizeof(got), xid, 0, X3_DIR_TO_TARGET, 0xfffffffe, 1, 999999999, pkt, pn);
	CHECK("encode x3 ipv6: length", gn == wn && wn == 60 + 48);
	CHECK("encode x3 ipv6: bytes", gn == wn && memcmp(got, want, wn) == 0);

	wn = unhex(golden_keepalive, want, sizeof(want));
	gn = x3_encode_keepalive(got, sizeof(got), X3_TYPE_KEEPALIVE, 42);
	CHECK("encode keepalive", gn == wn && wn == 48 && memcmp(got, want, wn) == 0);
	wn = unhex(golden_keepalive_ack, want, sizeof(want));
	gn = x3_encode_keepalive(got, sizeof(got), X3_TYPE_KEEPALIVE_ACK, 42);
	CHECK("encode keepalive ack", gn == wn && memcmp(got, want, wn) == 0);

	/* refusals of the encoder */
	pn = unhex(PKT4, pkt, sizeof(pkt));
	CHECK("encode: buffer one short", x3_encode_x3(got, 60 + pn - 1, xid, 0, 1, 0, 0, 0, pkt, pn) == 0);
	CHECK("encode: exact buffer", x3_encode_x3(got, 60 + pn, xid, 0, 1, 0, 0, 0, pkt, pn) == 60 + pn);
	CHECK("encode: nanoseconds 1e9", x3_encode_x3(got, sizeof(got), xid, 0, 1, 0, 0, 1000000000u, pkt, pn) == 0);
	CHECK("encode: direction 0", x3_encode_x3(got, sizeof(got), xid, 0, 0, 0, 0, 0, pkt, pn) == 0);
	CHECK("encode: direction 6", x3_encode_x3(got, sizeof(got), xid, 0, 6, 0, 0, 0, pkt, pn) == 0);
	CHECK("encode: empty packet", x3_encode_x3(got, sizeof(got), xid, 0, 1, 0, 0, 0, pkt, 0) == 0);
	pkt[0] = 0x55;
	CHECK("encode: not ip", x3_encode_x3(got, sizeof(got), xid, 0, 1, 0, 0, 0, pkt, pn) == 0);
	CHECK("encode: keepalive type X3", x3_encode_keepalive(got, sizeof(got), X3_TYPE_X3, 1) == 0);
	CHECK("encode: keepalive buffer short", x3_encode_keepalive(got, 47, X3_TYPE_KEEPALIVE, 1) == 0);
}

static void test_decode_golden(void)
{
	uint8_t b[512], xid[16], pkt[128];
	struct x3_pdu p;
	size_t n, used, pn;

	unhex(XID, xid, sizeof(xid));
	n = unhex(golden_x3_v4, b, sizeof(b));
	pn = unhex(PKT4, pkt, sizeof(pkt));
	CHECK("decode x3 ipv4", x3_decode(b, n, &p, &used) == X3_OK && used == n);
	CHECK("decode x3 ipv4: fields",
	      p.version == 5 && p.type == 2 && p.hdr_len == 60 && p.payload_len == 32 && p.format == 5 &&
		      p.direction == 3 && memcmp(p.xid, xid, 16) == 0 && p.correlation == 0x0102030405060708ull);
	CHECK("decode x3 ipv4: attributes",
	      p.has_seq && p.seq == 0 && p.has_ts && p.ts_sec == 0x65123456 && p.ts_nsec == 123456789 &&
		      p.n_other_attrs == 0);
	CHECK("decode x3 ipv4: payload", p.payload == b + 60 && memcmp(p.payload, pkt, pn) == 0);

	n = unhex(golden_x3_v6, b, sizeof(b));
	CHECK("decode x3 ipv6",
	      x3_decode(b, n, &p, &used) == X3_OK && used == n && p.format == 6 && p.direction == 2 &&
		      p.seq == 0xfffffffe && p.ts_nsec == 999999999 && p.correlation == 0);

	n = unhex(golden_keepalive, b, sizeof(b));
	CHECK("decode keepalive",
	      x3_decode(b, n, &p, &used) == X3_OK && used == 48 && p.type == 3 && p.has_seq && p.seq == 42 &&
		      !p.has_ts);
	n = unhex(golden_keepalive_ack, b, sizeof(b));
	CHECK("decode keepalive ack", x3_decode(b, n, &p, &used) == X3_OK && p.type == 4 && p.seq == 42);

	/* every prefix of a PDU asks for more, and says how much once it can */
	n = unhex(golden_x3_v4, b, sizeof(b));
	bool all = true;
	for (size_t k = 0; k < n; k++) {
		enum x3_err e = x3_decode(b, k, &p, &used);
		if (e != X3_NEED_MORE || used <= k || (k >= 12 && used != n))
			all = false;
	}
	CHECK("decode: every prefix needs more", all);
	/* two PDUs back to back: the first is read alone */
	size_t n2 = unhex(golden_keepalive, b + n, sizeof(b) - n);
	CHECK("decode: first of two", x3_decode(b, n + n2, &p, &used) == X3_OK && used == n);
	CHECK("decode: second of two", x3_decode(b + used, n2, &p, &used) == X3_OK && p.type == 3);
}

/* Refusals: a golden PDU with one field changed (hex again, by hand). */
struct bad_case {
	const char *name;
	const char *hex;
	enum x3_err err;
};

#define HDR_X3(hl, pl, fmt, dir) "0005 0002 " hl " " pl " " fmt " " dir " " XID " 0000000000000001 "
#define SEQ0 "0008 0004 00000000 "
#define TS1 "0009 0008 00000001 00000000 "

static const struct bad_case bad_cases[] = {
	{ "version 0x0500 (the reading the other way round)", "0500 0002 00000040 00000020", X3_BAD_VERSION },
	{ "version 0x0001 alone", "0001", X3_BAD_VERSION },
	{ "version 4", "0004 0002 00000040 00000020 0005 0003" XID "0000000000000000", X3_BAD_VERSION },
	{ "pdu type 0", "0005 0000 00000030 00000000", X3_BAD_TYPE },
	{ "pdu type 5", "0005 0005 00000030 00000000", X3_BAD_TYPE },
	{ "header length 39", "0005 0002 00000027 00000000", X3_BAD_HDR_LEN },
	{ "header length 4097", "0005 0002 00001001 00000000", X3_BAD_HDR_LEN },
	{ "payload length 65536", "0005 0002 00000040 00010000", X3_BAD_PAYLOAD_LEN },
	{ "keepalive with a payload", "0005 0003 00000030 00000001", X3_BAD_PAYLOAD_LEN },
	{ "direction 6", HDR_X3("0000003c", "00000020", "0005", "0006") SEQ0 TS1 PKT4, X3_BAD_DIRECTION },
	{ "attribute past the header", HDR_X3("00000030", "00000020", "0005", "0001") "0008 0008 00000000" PKT4,
	  X3_BAD_ATTR },
	{ "3 bytes of attribute header", HDR_X3("0000002b", "00000020", "0005", "0001") "000800" PKT4, X3_BAD_ATTR },
	{ "sequence number of 2 bytes", HDR_X3("0000002e", "00000020", "0005", "0001") "0008 0002 0000" PKT4,
	  X3_BAD_ATTR },
	{ "timestamp of 4 bytes", HDR_X3("00000038", "00000020", "0005", "0001") SEQ0 "0009 0004 00000001" PKT4,
	  X3_BAD_ATTR },
	{ "nanoseconds 1e9", HDR_X3("0000003c", "00000020", "0005", "0001") SEQ0 "0009 0008 00000001 3b9aca00" PKT4,
	  X3_BAD_ATTR },
	{ "sequence number twice", HDR_X3("00000038", "00000020", "0005", "0001") SEQ0 SEQ0 PKT4, X3_BAD_ATTR },
	{ "x3 without a sequence number", HDR_X3("00000034", "00000020", "0005", "0001") TS1 PKT4, X3_NO_SEQ },
	{ "keepalive without a sequence number", "0005 0003 00000028 00000000 0000 0000 " XID " 0000000000000000",
	  X3_NO_SEQ },
	{ "ipv4 format, ipv6 packet", HDR_X3("0000003c", "00000030", "0005", "0001") SEQ0 TS1 PKT6, X3_BAD_PAYLOAD },
	{ "ipv6 format, ipv4 packet", HDR_X3("0000003c", "00000020", "0006", "0001") SEQ0 TS1 PKT4, X3_BAD_PAYLOAD },
	{ "ipv4 total length 33 in 32 bytes",
	  HDR_X3("0000003c", "00000020", "0005", "0001") SEQ0 TS1
	  "45000021 00010000 40110000 c000020a c6336407 00350035 000c0000 deadbeef",
	  X3_BAD_PAYLOAD },
	{ "ipv4 with a byte of padding", HDR_X3("0000003c", "00000021", "0005", "0001") SEQ0 TS1 PKT4 "00",
	  X3_BAD_PAYLOAD },
	{ "ipv4 ihl 4",
	  HDR_X3("0000003c", "00000020", "0005", "0001") SEQ0 TS1
	  "44000020 00010000 40110000 c000020a c6336407 00350035 000c0000 deadbeef",
	  X3_BAD_PAYLOAD },
};

/* Accepted shapes that are not xtap's own. */
static const struct bad_case good_cases[] = {
	{ "unknown attribute skipped (NFID 'sbc')",
	  HDR_X3("00000043", "00000020", "0005", "0001") "0006 0003 736263" SEQ0 TS1 PKT4, X3_OK },
	{ "x3 without a timestamp", HDR_X3("00000030", "00000020", "0005", "0001") SEQ0 PKT4, X3_OK },
	{ "x2, no attributes, other format", "0005 0001 00000028 00000002 0009 0001 " XID " 0000000000000000 abcd",
	  X3_OK },
	{ "direction 5", HDR_X3("00000030", "00000020", "0005", "0005") SEQ0 PKT4, X3_OK },
	{ "attribute of length 0", HDR_X3("00000034", "00000020", "0005", "0001") "0004 0000" SEQ0 PKT4, X3_OK },
};

static void run_cases(const struct bad_case *t, size_t n)
{
	uint8_t b[512];
	struct x3_pdu p;
	size_t used;

	for (size_t i = 0; i < n; i++) {
		size_t len = unhex(t[i].hex, b, sizeof(b));
		enum x3_err e = x3_decode(b, len, &p, &used);
		if (e == t[i].err) {
			pass++;
		} else {
			fail++;
			printf("FAILED  %s: got %s, want %s\n", t[i].name, x3_err_name(e), x3_err_name(t[i].err));
		}
	}
}

static void test_uuid(void)
{
	uint8_t u[16], want[16];
	char s[37];

	unhex(XID, want, sizeof(want));
	CHECK("uuid parse", x3_uuid_parse("00112233-4455-6677-8899-aabbccddeeff", u) == 0 && memcmp(u, want, 16) == 0);
	CHECK("uuid parse upper case",
	      x3_uuid_parse("00112233-4455-6677-8899-AABBCCDDEEFF", u) == 0 && memcmp(u, want, 16) == 0);
	x3_uuid_format(want, s);
	CHECK("uuid format", strcmp(s, "00112233-4455-6677-8899-aabbccddeeff") == 0);
	CHECK("uuid: no dashes", x3_uuid_parse("00112233445566778899aabbccddeeff", u) < 0);
	CHECK("uuid: one short", x3_uuid_parse("00112233-4455-6677-8899-aabbccddeef", u) < 0);
	CHECK("uuid: one long", x3_uuid_parse("00112233-4455-6677-8899-aabbccddeeff0", u) < 0);
	CHECK("uuid: not hex", x3_uuid_parse("0011223g-4455-6677-8899-aabbccddeeff", u) < 0);
	CHECK("uuid: dash moved", x3_uuid_parse("0011223-34455-6677-8899-aabbccddeeff", u) < 0);
}

int main(void)
{
	test_encode();
	test_decode_golden();
	run_cases(bad_cases, sizeof(bad_cases) / sizeof(bad_cases[0]));
	run_cases(good_cases, sizeof(good_cases) / sizeof(good_cases[0]));
	test_uuid();
	printf("%d passed, %d failed\n", pass, fail);
	return fail != 0;
}
