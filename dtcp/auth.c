/* SPDX-License-Identifier: BSD-2-Clause */
/* HMAC-SHA1 Authentication-Info (docs/dtcp.md 3.1). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dtcp.h"
#include "internal.h"

/* HMAC-SHA1 (RFC 2104) over EVP digests, with the keyed inner and outer
 * states of the last key kept per thread: HMAC() looks the algorithms up in
 * OpenSSL 3's provider tables and hashes the key pads at every call, which
 * was most of its cost (xtapd and its clients sign or check two messages per
 * request, all with one or a few keys). */
#define SHA1_BLOCK 64

struct hmac_state {
	EVP_MD_CTX *in, *out, *work; /* in/out: after the key's ipad/opad block */
	unsigned char *key; /* the key they were made for */
	size_t keylen;
	bool ready;
};
static __thread struct hmac_state hs;

static int hmac_key(const void *key, size_t keylen)
{
	unsigned char k[SHA1_BLOCK] = { 0 }, pad[SHA1_BLOCK];
	unsigned int klen;
	int ok;

	if (hs.ready && hs.keylen == keylen && (!keylen || !memcmp(hs.key, key, keylen)))
		return 0;
	hs.ready = false;
	if (!hs.in && !(hs.in = EVP_MD_CTX_new()))
		return -1;
	if (!hs.out && !(hs.out = EVP_MD_CTX_new()))
		return -1;
	if (!hs.work && !(hs.work = EVP_MD_CTX_new()))
		return -1;
	/* a key longer than a block is hashed first (RFC 2104 2) */
	if (keylen > SHA1_BLOCK ? !EVP_Digest(key, keylen, k, &klen, EVP_sha1(), NULL) : (memcpy(k, key, keylen), 0))
		return -1;
	for (int i = 0; i < SHA1_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	ok = EVP_DigestInit_ex(hs.in, EVP_sha1(), NULL) && EVP_DigestUpdate(hs.in, pad, SHA1_BLOCK);
	for (int i = 0; i < SHA1_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	ok = ok && EVP_DigestInit_ex(hs.out, EVP_sha1(), NULL) && EVP_DigestUpdate(hs.out, pad, SHA1_BLOCK);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	if (!ok)
		return -1;
	if (hs.key)
		OPENSSL_clear_free(hs.key, hs.keylen);
	hs.key = NULL;
	hs.keylen = 0;
	if (keylen && !(hs.key = OPENSSL_memdup(key, keylen)))
		return -1;
	hs.keylen = keylen;
	hs.ready = true;
	return 0;
}

int dtcp_hmac_hex(const void *key, size_t keylen, const void *data, size_t n, char out[DTCP_HMAC_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char inner[EVP_MAX_MD_SIZE], md[EVP_MAX_MD_SIZE];
	unsigned int ilen = 0, mdlen = 0;

	if (hmac_key(key, keylen) || !EVP_MD_CTX_copy_ex(hs.work, hs.in) || !EVP_DigestUpdate(hs.work, data, n) ||
	    !EVP_DigestFinal_ex(hs.work, inner, &ilen) || !EVP_MD_CTX_copy_ex(hs.work, hs.out) ||
	    !EVP_DigestUpdate(hs.work, inner, ilen) || !EVP_DigestFinal_ex(hs.work, md, &mdlen) ||
	    mdlen != DTCP_HMAC_HEX / 2)
		return -1;
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[DTCP_HMAC_HEX] = 0;
	return 0;
}

bool dtcp_hmac_verify(const void *key, size_t keylen, const void *data, size_t n, const char *hex, size_t hexlen)
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

size_t dtcp_sign_tail(const void *key, size_t keylen, const char *hdr, char *out, size_t n, size_t cap)
{
	char hex[DTCP_HMAC_HEX + 1];
	size_t hl = strlen(hdr);

	if (n > cap || hl + DTCP_HMAC_HEX + 4 > cap - n)
		return 0;
	if (dtcp_hmac_hex(key, keylen, out, n, hex))
		return 0;
	memcpy(out + n, hdr, hl);
	n += hl;
	memcpy(out + n, hex, DTCP_HMAC_HEX);
	n += DTCP_HMAC_HEX;
	memcpy(out + n, "\r\n\r\n", 4);
	return n + 4;
}

size_t dtcp_sign_append(const void *key, size_t keylen, char *out, size_t n, size_t cap)
{
	return dtcp_sign_tail(key, keylen, "Authentication-Info: ", out, n, cap);
}
