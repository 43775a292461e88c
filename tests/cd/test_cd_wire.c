/* SPDX-License-Identifier: BSD-2-Clause */
/* Table-driven tests of loader/common/cd_wire.c: every verdict of cd_classify with
 * the packet as hex, and the intercept id syntax of -i. Adding a case is
 * adding a row. Prints "N passed, N failed". */
#include <stdio.h>
#include <string.h>

#include "cd_wire.h"

#include "../check.h"

/* documentation addresses: 192.0.2.1 -> 198.51.100.1, 2001:db8::1 -> ::2 */
#define V4_20 "45000014 00000000 40110000 c0000201 c6336401"
#define V4_28 "4500001c 00000000 40110000 c0000201 c6336401 00350035 00080000"
#define V4_OPT "46000018 00000000 40110000 c0000201 c6336401 01010100" /* IHL 6: NOP NOP NOP EOL */
#define V6_SRC "20010db8 00000000 00000000 00000001"
#define V6_DST "20010db8 00000000 00000000 00000002"
#define V6_40 "60000000 00001140 " V6_SRC V6_DST
#define V6_48 "6abcdef0 00081140 " V6_SRC V6_DST " 00350035 00080000"

struct classify_case {
	const char *name;
	const char *hex;
	enum cd_verdict verdict;
	uint32_t intercept_id, session_id;
	size_t inner_off, inner_len;
};

static const struct classify_case classify_cases[] = {
	{ "empty", "", CD_TOO_SHORT },
	{ "one zero byte", "00", CD_TOO_SHORT },
	{ "jmirror header cut at 7", "00001234 000000", CD_TOO_SHORT },
	{ "jmirror header alone", "00001234 00000000", CD_TOO_SHORT },
	{ "version 1 (0x50)", "50001234 00000000" V4_20, CD_BAD_JMIRROR_VERSION },
	{ "version 1 (0x7f)", "7f", CD_BAD_JMIRROR_VERSION },
	{ "version 2", "80001234 00000000" V4_20, CD_BAD_JMIRROR_VERSION },
	{ "version 3", "ffffffff ffffffff" V4_20, CD_BAD_JMIRROR_VERSION },
	{ "jmirror then 0x55", "00001234 00000000 55000014", CD_INNER_NOT_IP },
	{ "jmirror then zeros", "00001234 00000000 00000000 00000000", CD_INNER_NOT_IP },
	{ "jmirror then jmirror", "00001234 00000000 00001234 00000000" V4_20, CD_INNER_NOT_IP },
	{ "jmirror then 1 byte of IPv4", "00001234 00000000 45", CD_INNER_TRUNCATED },
	{ "plain 1 byte of IPv4", "45", CD_INNER_TRUNCATED },
	{ "plain IPv4 19 bytes", "45000014 00000000 40110000 c0000201 c63364", CD_INNER_TRUNCATED },
	{ "IPv4 IHL 6 in 22 bytes", "46000018 00000000 40110000 c0000201 c6336401 0101", CD_INNER_TRUNCATED },
	{ "IPv4 IHL 15 in 20 bytes", "4f00003c 00000000 40110000 c0000201 c6336401", CD_INNER_TRUNCATED },
	{ "IPv4 total 28 in 20 bytes", "4500001c 00000000 40110000 c0000201 c6336401", CD_INNER_TRUNCATED },
	{ "IPv4 total 28 in 27 bytes", "4500001c 00000000 40110000 c0000201 c6336401 00350035 000800",
	  CD_INNER_TRUNCATED },
	{ "IPv6 39 bytes", "60000000 00001140 " V6_SRC "20010db8 00000000 00000000 000000", CD_INNER_TRUNCATED },
	{ "IPv6 payload 8 in 40 bytes", "60000000 00081140 " V6_SRC V6_DST, CD_INNER_TRUNCATED },
	{ "jmirror IPv4 total 28 in 20 bytes", "00001234 00000000 4500001c 00000000 40110000 c0000201 c6336401",
	  CD_INNER_TRUNCATED },
	{ "IPv4 IHL 4", "44000014 00000000 40110000 c0000201 c6336401", CD_INNER_LENGTH_MISMATCH },
	{ "IPv4 IHL 15, total 20", "4f000014 00000000 40110000 c0000201 c6336401", CD_INNER_LENGTH_MISMATCH },
	{ "IPv4 total 16 < header", "45000010 00000000 40110000 c0000201 c6336401", CD_INNER_LENGTH_MISMATCH },
	{ "IPv4 total 20 in 21 bytes", V4_20 "00", CD_INNER_LENGTH_MISMATCH },
	{ "IPv6 payload 0 in 48 bytes", V6_40 "00350035 00080000", CD_INNER_LENGTH_MISMATCH },
	{ "jmirror IPv6 one byte extra", "00000001 00000002" V6_48 "ff", CD_INNER_LENGTH_MISMATCH },
	{ "plain IPv4 header only", V4_20, CD_PLAIN, 0, 0, 0, 20 },
	{ "plain IPv4 UDP", V4_28, CD_PLAIN, 0, 0, 0, 28 },
	{ "plain IPv4 with options", V4_OPT, CD_PLAIN, 0, 0, 0, 24 },
	{ "plain IPv6 header only", V6_40, CD_PLAIN, 0, 0, 0, 40 },
	{ "plain IPv6 UDP, traffic class set", V6_48, CD_PLAIN, 0, 0, 0, 48 },
	{ "jmirror short id", "00001234 00000000" V4_28, CD_JMIRROR, 0x1234, 0, 8, 28 },
	{ "jmirror long id", "12345678 9abcdef0" V6_48, CD_JMIRROR, 0x12345678, 0x9abcdef0, 8, 48 },
	{ "jmirror largest id", "3fffffff ffffffff" V4_20, CD_JMIRROR, 0x3fffffff, 0xffffffff, 8, 20 },
	{ "jmirror id 0", "00000000 00000000" V6_40, CD_JMIRROR, 0, 0, 8, 40 },
};

struct id_case {
	const char *in;
	int ret;
	uint32_t intercept_id, session_id;
	bool lost;
};

static const struct id_case id_cases[] = {
	{ "1234", 0, 0x1234, 0, false },
	{ "0x1234", 0, 0x1234, 0, false },
	{ "0X00001234", 0, 0x1234, 0, false },
	{ "0", 0, 0, 0, false },
	{ "3fffffff", 0, 0x3fffffff, 0, false },
	{ "ffffffff", 0, 0x3fffffff, 0, true },
	{ "c0000001", 0, 1, 0, true },
	/* leading zeros are not digits that count: still the short form */
	{ "0x0000000012345678", 0, 0x12345678, 0, false },
	{ "00000000000000000001", 0, 1, 0, false },
	{ "123456789", 0, 0x1, 0x23456789, false },
	/* on the wire the same as the short id 1234 */
	{ "123400000000", 0, 0x1234, 0, false },
	{ "fedcba9876543210", 0, 0x3edcba98, 0x76543210, true },
	{ "FFFFFFFFFFFFFFFF", 0, 0x3fffffff, 0xffffffff, true },
	{ "10000000000000000", -1 },
	{ "", -1 },
	{ "0x", -1 },
	{ "xyz", -1 },
	{ "12 34", -1 },
	{ "-1", -1 },
	{ "0x-1", -1 },
	{ "1234g", -1 },
};

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int d;

		if (*s == ' ')
			continue;
		d = *s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10;
		if (hi < 0) {
			hi = d;
			continue;
		}
		if (n == cap) {
			fprintf(stderr, "test packet too long\n");
			return cap;
		}
		out[n++] = (uint8_t)(hi << 4 | d);
		hi = -1;
	}
	if (hi >= 0)
		fprintf(stderr, "odd number of hex digits\n");
	return n;
}

/* a table row's check: the row's name says which (CHECK's line is this one) */
static void check(bool ok, const char *what, const char *name)
{
	CHECK(ok, "%s: %s", what, name);
}

static void test_classify(const struct classify_case *c)
{
	uint8_t pkt[256];
	size_t n = unhex(c->hex, pkt, sizeof(pkt));
	struct cd_copy cp;
	bool ok;

	cd_classify(pkt, n, &cp);
	ok = cp.verdict == c->verdict && cp.intercept_id == c->intercept_id && cp.session_id == c->session_id &&
		cp.inner_off == c->inner_off && cp.inner_len == c->inner_len;
	if (!ok)
		printf("  got %s id %#x session %#x off %zu len %zu; want %s id %#x session %#x "
		       "off %zu len %zu\n",
		       cd_verdict_name(cp.verdict), cp.intercept_id, cp.session_id, cp.inner_off, cp.inner_len,
		       cd_verdict_name(c->verdict), c->intercept_id, c->session_id, c->inner_off, c->inner_len);
	check(ok, "classify", c->name);
}

static void test_id(const struct id_case *c)
{
	uint32_t iid = 0xdeadbeef, sid = 0xdeadbeef;
	bool lost = false;
	int r = cd_parse_intercept_id(c->in, &iid, &sid, &lost);
	bool ok = r == c->ret && (r != 0 || (iid == c->intercept_id && sid == c->session_id && lost == c->lost));

	if (!ok)
		printf("  got %d %#x %#x %d\n", r, iid, sid, lost);
	check(ok, "intercept id", c->in[0] ? c->in : "(empty)");
}

int main(void)
{
	for (size_t i = 0; i < sizeof(classify_cases) / sizeof(classify_cases[0]); i++)
		test_classify(&classify_cases[i]);
	for (size_t i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++)
		test_id(&id_cases[i]);
	/* every verdict has both names, distinct */
	for (int v = 0; v < CD_VERDICT_N; v++) {
		bool ok = strcmp(cd_verdict_name(v), "?") && strcmp(cd_verdict_key(v), "?");

		for (int w = 0; w < v; w++)
			ok = ok && strcmp(cd_verdict_key(v), cd_verdict_key(w));
		check(ok, "verdict names", cd_verdict_key(v));
	}
	return check_summary("cd_wire");
}
