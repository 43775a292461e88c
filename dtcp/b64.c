// SPDX-License-Identifier: BSD-2-Clause
/* Base64 decoding (b64.h). */
#include "b64.h"

static int b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

long xtap_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t pad = 0, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4)
		return -1;
	while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++) {
		int v = b64_value(s[i]);

		if (v < 0)
			return -1; /* a third '=' or any other byte */
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o < cap)
				out[o] = (uint8_t)(acc >> bits);
			o++;
		}
	}
	/* the bits the padding leaves over must be zero (RFC 4648 3.5: a
	 * canonical encoding), so that one blob has one text */
	if (acc & ((1u << bits) - 1))
		return -1;
	return (long)o;
}
