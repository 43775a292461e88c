// SPDX-License-Identifier: BSD-2-Clause
/* Hex digits and UUIDs in their text form (RFC 9562: 8-4-4-4-12 hex digits),
 * for the X1 library (XIDs, DIDs), the X3 codec and the configuration's
 * x3 xid. Header-only, so that each takes it without linking another's
 * library (x1/ stays apart from loader/). */
#ifndef XTAP_UUID_H
#define XTAP_UUID_H

#include <stddef.h>
#include <stdint.h>

#define XTAP_UUID_TEXT_LEN 36 /* without the NUL */

/* 0 to 15, or -1 if c is not a hex digit (either case) */
static inline int xtap_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..n) to 16 bytes: 0, or -1 if it is not a UUID (either case). */
static inline int xtap_uuid_parse(const char *s, size_t n, uint8_t out[16])
{
	int k = 0;

	if (n != XTAP_UUID_TEXT_LEN)
		return -1;
	for (size_t i = 0; i < XTAP_UUID_TEXT_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		/* i is even within each group, so i + 1 is still inside s */
		int h = xtap_hexval(s[i]), l = h < 0 ? -1 : xtap_hexval(s[i + 1]);
		if (h < 0 || l < 0)
			return -1;
		out[k++] = (uint8_t)(h << 4 | l);
		i++;
	}
	return 0;
}

/* 16 bytes to 36 lowercase hex digits and dashes, and a NUL: 37 bytes */
static inline void xtap_uuid_format(const uint8_t u[16], char out[XTAP_UUID_TEXT_LEN + 1])
{
	static const char hx[] = "0123456789abcdef";
	char *p = out;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hx[u[i] >> 4];
		*p++ = hx[u[i] & 0xf];
	}
	*p = '\0';
}

#endif
