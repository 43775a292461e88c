/* HMAC-SHA1 Authentication-Info (docs/dtcp.md 3.1). */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dtcp.h"

int dtcp_hmac_hex(const void *key, size_t keylen, const void *data, size_t n,
		  char out[DTCP_HMAC_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const unsigned char empty;

	/* HMAC() with a NULL key or data pointer is not portable: pass a byte. */
	if (!HMAC(EVP_sha1(), keylen ? key : &empty, (int)keylen,
		  n ? data : &empty, n, md, &mdlen) || mdlen != DTCP_HMAC_HEX / 2)
		return -1;
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[DTCP_HMAC_HEX] = 0;
	return 0;
}

bool dtcp_hmac_verify(const void *key, size_t keylen, const void *data, size_t n,
		      const char *hex, size_t hexlen)
{
	char want[DTCP_HMAC_HEX + 1], got[DTCP_HMAC_HEX];

	if (hexlen != DTCP_HMAC_HEX)
		return false;
	for (size_t i = 0; i < DTCP_HMAC_HEX; i++) {
		char c = hex[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		got[i] = c;
	}
	if (dtcp_hmac_hex(key, keylen, data, n, want) < 0)
		return false;
	return CRYPTO_memcmp(want, got, DTCP_HMAC_HEX) == 0;
}
