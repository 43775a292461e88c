// SPDX-License-Identifier: BSD-2-Clause
/* The bounded append buffer (dtcp/xbuf.h): a fixed buffer keeps what fits
 * and stops at the first piece that does not, as snprintf counts room (the
 * NUL included); a heap buffer grows up to its maximum and no further;
 * every expectation is written out by hand. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xbuf.h"

#include "../check.h"

static void test_fixed(void)
{
	char m[8];
	struct xbuf b = XBUF_FIXED(m, sizeof(m));

	xbuf_str(&b, "abc");
	xbuf_u64(&b, 42);
	CHECK(!b.full && b.n == 5 && !strcmp(m, "abc42"), "fixed: pieces appended: %.*s", (int)b.n, m);
	xbuf_mem(&b, "de", 2);
	CHECK(!b.full && b.n == 7 && !strcmp(m, "abc42de"), "fixed: 7 bytes and the NUL fill 8");
	xbuf_mem(&b, "f", 1);
	CHECK(b.full && b.n == 7 && !strcmp(m, "abc42de"), "fixed: one byte more is full, text kept");
	xbuf_str(&b, "");
	CHECK(b.full && b.n == 7, "fixed: once full, even an empty piece leaves it full");

	xbuf_reset(&b);
	CHECK(!b.full && b.n == 0 && m[0] == 0, "reset: empty, not full");
	xbuf_printf(&b, "%s-%d", "x", 12345);
	CHECK(!b.full && b.n == 7 && !strcmp(m, "x-12345"), "printf: %s", m);
	xbuf_reset(&b);
	xbuf_printf(&b, "%08d", 1);
	CHECK(b.full && b.n == 0, "printf: 8 characters do not fit 8 bytes (NUL)");
	xbuf_reset(&b);
	xbuf_str(&b, "ab");
	xbuf_mem(&b, "cdefgh", 6);
	CHECK(b.full && b.n == 2 && !strcmp(m, "ab"), "a piece that does not fit is not cut: %s", m);

	struct xbuf z = XBUF_FIXED(m, 0);
	xbuf_printf(&z, "%s", "");
	CHECK(z.full && z.n == 0, "fixed, no room at all: full at once");
	xbuf_free(&b);
	CHECK(b.p == m && b.n == 0 && !b.full, "free of a fixed buffer leaves the caller's storage");
}

static void test_u64(void)
{
	static const struct {
		uint64_t v;
		const char *want;
	} cases[] = {
		{ 0, "0" },
		{ 9, "9" },
		{ 10, "10" },
		{ 4294967296ull, "4294967296" },
		{ UINT64_MAX, "18446744073709551615" },
	};
	char m[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xbuf b = XBUF_FIXED(m, sizeof(m));

		xbuf_u64(&b, cases[i].v);
		CHECK(!b.full && !strcmp(m, cases[i].want), "u64 %s: %s", cases[i].want, m);
	}
	/* 20 digits need 21 bytes */
	struct xbuf b = XBUF_FIXED(m, 20);
	xbuf_u64(&b, UINT64_MAX);
	CHECK(b.full && b.n == 0, "u64: 20 digits do not fit 20 bytes");
}

static void test_heap(void)
{
	struct xbuf b = XBUF_HEAP(10000);
	char want[10000];
	size_t n = 0;

	CHECK(b.p == NULL && b.cap == 0, "heap: nothing allocated before the first piece");
	/* 9999 bytes, the NUL makes 10000: three growths (4096, 8192, 10000) */
	for (int i = 0; i < 9999; i++) {
		char c = (char)('a' + i % 26);

		if (i % 3)
			xbuf_mem(&b, &c, 1);
		else
			xbuf_printf(&b, "%c", c);
		want[n++] = c;
	}
	CHECK(!b.full && b.n == 9999 && !memcmp(b.p, want, n) && b.p[n] == 0, "heap: 9999 bytes kept, NUL after");
	CHECK(b.cap == 10000, "heap: capacity stops at the maximum, not at 16384: %zu", b.cap);
	xbuf_mem(&b, "x", 1);
	CHECK(b.full && b.n == 9999, "heap: a byte past the maximum is full");
	xbuf_reset(&b);
	CHECK(!b.full && b.n == 0 && b.cap == 10000, "heap reset keeps the memory");
	xbuf_printf(&b, "%5000d|%4998d", 1, 2);
	CHECK(!b.full && b.n == 9999 && b.p[4999] == '1' && b.p[5000] == '|' && b.p[9998] == '2',
	      "heap printf to the limit");
	xbuf_free(&b);
	CHECK(b.p == NULL && b.n == 0 && b.cap == 0 && b.max == 10000, "heap free: empty, same maximum");

	/* a printf longer than the first allocation grows once, to fit */
	struct xbuf c = XBUF_HEAP(1 << 20);
	xbuf_printf(&c, "%s", "");
	xbuf_printf(&c, "%6000s", "end");
	CHECK(!c.full && c.n == 6000 && !strcmp(c.p + 5997, "end") && c.cap == 8192,
	      "heap printf past 4096: %zu bytes, capacity %zu", c.n, c.cap);
	xbuf_free(&c);

	/* a single piece larger than the maximum, from empty */
	struct xbuf d = XBUF_HEAP(16);
	xbuf_mem(&d, want, 16);
	CHECK(d.full && d.n == 0, "heap: 16 bytes and the NUL do not fit 16");
	xbuf_free(&d);
	d = XBUF_HEAP(16);
	xbuf_mem(&d, want, 15);
	CHECK(!d.full && d.n == 15 && d.cap == 16 && !memcmp(d.p, want, 15), "heap: 15 bytes fit 16");
	xbuf_mem(&d, want, SIZE_MAX);
	CHECK(d.full && d.n == 15, "heap: a size near SIZE_MAX does not wrap the check");
	xbuf_free(&d);
}

/* the room/advance pair: a writer that fills the room itself */
static void test_room(void)
{
	char m[6];
	struct xbuf b = XBUF_FIXED(m, sizeof(m));
	char *p = xbuf_room(&b, 5);

	CHECK(p == m, "room: at the text's end");
	memcpy(p, "hello", 5);
	xbuf_advance(&b, 5);
	CHECK(b.n == 5 && !strcmp(m, "hello"), "advance: the text, NUL-terminated");
	CHECK(xbuf_room(&b, 1) == NULL && b.full, "room past the end: NULL, full");
}

int main(void)
{
	test_fixed();
	test_u64();
	test_heap();
	test_room();
	return check_summary("test_xbuf");
}
