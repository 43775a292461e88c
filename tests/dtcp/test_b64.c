// SPDX-License-Identifier: BSD-2-Clause
/* Base64 decoding (dtcp/b64.h) against RFC 4648's test vectors (section
 * 10), an OpenSSH ed25519 key whose blob starts with the SSH string
 * "ssh-ed25519" (RFC 8709), what the RFC forbids, and the cap. */
#include <stdio.h>
#include <string.h>

#include "b64.h"

#include "../check.h"

static long dec(const char *s, uint8_t *out, size_t cap)
{
	return xtap_b64_decode(s, strlen(s), out, cap);
}

static void test_vectors(void)
{
	static const struct {
		const char *in, *want;
	} rfc[] = {
		{ "", "" },
		{ "Zg==", "f" },
		{ "Zm8=", "fo" },
		{ "Zm9v", "foo" },
		{ "Zm9vYg==", "foob" },
		{ "Zm9vYmE=", "fooba" },
		{ "Zm9vYmFy", "foobar" },
	};
	uint8_t out[16];

	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		long k = dec(rfc[i].in, out, sizeof(out));

		CHECK(k == (long)strlen(rfc[i].want) && !memcmp(out, rfc[i].want, (size_t)k),
		      "RFC 4648 vector \"%s\": %ld bytes", rfc[i].in, k);
	}
	/* every value of the alphabet, in order: 0x00 0x10 0x83 ... 0xff */
	static const uint8_t all[] = {
		0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20, 0x92, 0x8b, 0x30, 0xd3, 0x8f, 0x41, 0x14, 0x93, 0x51,
		0x55, 0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f, 0x82, 0x18, 0xa3, 0x92, 0x59, 0xa7, 0xa2, 0x9a,
		0xab, 0xb2, 0xdb, 0xaf, 0xc3, 0x1c, 0xb3, 0xd3, 0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf,
	};
	uint8_t big[64];
	long k = dec("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", big, sizeof(big));
	CHECK(k == 48 && !memcmp(big, all, sizeof(all)), "the whole alphabet: %ld bytes", k);
}

static void test_key(void)
{
	/* tests/sshd/test_monauth.c's first key */
	static const char key[] = "AAAAC3NzaC1lZDI1NTE5AAAAIF8Wa4FdEMEtE82f8BBP9Oeu4Deaq8d5KQntVuTuOHzs";
	static const uint8_t head[] = {
		0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0, 0, 0, 32
	};
	uint8_t out[64];

	/* 4 + 11 + 4 + 32 = 51 bytes: the ed25519 blob */
	CHECK(dec(key, out, sizeof(out)) == 51 && !memcmp(out, head, sizeof(head)) && out[19] == 0x5f &&
		      out[50] == 0xec,
	      "ed25519 key: 51 bytes, type string, key length, first and last key bytes");
	memset(out, 0xaa, sizeof(out));
	CHECK(dec(key, out, 15) == 51 && !memcmp(out, head, 15) && out[15] == 0xaa,
	      "cap 15: the whole length still counted, only the type's 15 bytes written");
	CHECK(dec(key, NULL, 0) == 51, "cap 0: only the length");
}

static void test_refused(void)
{
	static const char *const bad[] = {
		"Zg=", /* not a multiple of 4 */
		"Zg", /* unpadded */
		"Z===", /* three '=' */
		"====", /* nothing but padding */
		"Zg=A", /* '=' inside */
		"=Zg=", /* '=' first */
		"Zm9v Zg==", /* a blank */
		"Zm9\n", /* a newline */
		"Zm-v", /* base64url's '-' */
		"Zm_v", /* base64url's '_' */
		"Zh==", /* "f" with non-zero leftover bits (RFC 4648 3.5) */
		"Zm9=", /* "fo" likewise */
	};
	uint8_t out[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(dec(bad[i], out, sizeof(out)) == -1, "refused: \"%s\"", bad[i]);
	CHECK(xtap_b64_decode("Zm9vYg==", 4, out, sizeof(out)) == 3, "n counts, not the NUL: \"Zm9v\"");
	CHECK(xtap_b64_decode("Zm9v\0\0\0\0", 8, out, sizeof(out)) == -1, "a NUL byte is refused");
}

int main(void)
{
	test_vectors();
	test_key();
	test_refused();
	return check_summary("test_b64");
}
