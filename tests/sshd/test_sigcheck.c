// SPDX-License-Identifier: BSD-2-Clause
/* The monitor's check of public-key login signatures (loader/xtapd/sigcheck.c).
 * The signed data is built here from RFC 4252 section 7's layout, the key
 * blobs from RFC 4253 6.6, RFC 5656 3.1 and RFC 8709 4, and the signatures
 * are made with OpenSSL's signing side: nothing is taken from the code
 * under test. Every field the check reads is then broken once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "sigcheck.h"

#include "../check.h"

struct buf {
	uint8_t p[8192];
	size_t n;
};

static void put(struct buf *b, const void *s, size_t n)
{
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };

	put(b, x, 4);
}

static void put_str(struct buf *b, const void *s, size_t n)
{
	put_u32(b, (uint32_t)n);
	put(b, s, n);
}

static void put_cstr(struct buf *b, const char *s)
{
	put_str(b, s, strlen(s));
}

static void put_mpint(struct buf *b, const BIGNUM *bn)
{
	uint8_t x[1024];
	int n = BN_bn2bin(bn, x + 1);

	x[0] = 0;
	if (x[1] & 0x80) /* positive: a leading zero byte */
		put_str(b, x, (size_t)n + 1);
	else
		put_str(b, x + 1, (size_t)n);
}

/* RFC 4252 7: what the client signs */
static void signed_data(struct buf *b, const uint8_t *sid, size_t sidn, int msg, const char *user, const char *service,
			const char *method, int flag, const char *alg, const struct buf *key)
{
	b->n = 0;
	put_str(b, sid, sidn);
	b->p[b->n++] = (uint8_t)msg;
	put_cstr(b, user);
	put_cstr(b, service);
	put_cstr(b, method);
	b->p[b->n++] = (uint8_t)flag;
	put_cstr(b, alg);
	put_str(b, key->p, key->n);
}

static size_t sign(EVP_PKEY *k, const EVP_MD *md, const struct buf *data, uint8_t *sig, size_t cap)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t n = cap;

	if (!c || EVP_DigestSignInit(c, NULL, md, NULL, k) != 1 || EVP_DigestSign(c, sig, &n, data->p, data->n) != 1)
		n = 0;
	EVP_MD_CTX_free(c);
	return n;
}

static int check(const char *user, const struct buf *key, const struct buf *data, const uint8_t *sig, size_t sn,
		 const char **why)
{
	const uint8_t *sid;
	size_t sidn;

	return xtap_sig_check(user, key->p, key->n, data->p, data->n, sig, sn, &sid, &sidn, why);
}

/* One key type: a good signature passes, each broken field fails. */
static void key_cases(const char *name, EVP_PKEY *k, const struct buf *key, const char *alg, const EVP_MD *md,
		      const char *wrong_alg)
{
	uint8_t sid[32], sig[2048], bad[2048];
	struct buf d, d2;
	size_t sn;
	const char *why;
	char n[128];

	for (int i = 0; i < 32; i++)
		sid[i] = (uint8_t)(i * 7 + 1);
	signed_data(&d, sid, 32, 50, "ftap", "ssh-connection", "publickey", 1, alg, key);
	sn = sign(k, md, &d, sig, sizeof(sig));
	snprintf(n, sizeof(n), "%s: signed", name);
	CHECK(sn > 0, "%s", n);
	snprintf(n, sizeof(n), "%s: a good signature is accepted", name);
	CHECK(check("ftap", key, &d, sig, sn, &why) == 0, "%s", n);
	memcpy(bad, sig, sn);
	bad[sn / 2] ^= 1;
	snprintf(n, sizeof(n), "%s: one bit of the signature flipped", name);
	CHECK(check("ftap", key, &d, bad, sn, &why) < 0 && !strcmp(why, "bad signature"), "%s", n);
	snprintf(n, sizeof(n), "%s: the signature cut short", name);
	CHECK(check("ftap", key, &d, sig, sn - 1, &why) < 0, "%s", n);
	snprintf(n, sizeof(n), "%s: another user than the one signed", name);
	CHECK(check("root", key, &d, sig, sn, &why) < 0 && !strcmp(why, "signed data names another user"), "%s", n);
	/* the same signature over data with one field changed */
	signed_data(&d2, sid, 32, 50, "ftap", "ssh-userauth", "publickey", 1, alg, key);
	snprintf(n, sizeof(n), "%s: service not ssh-connection", name);
	CHECK(check("ftap", key, &d2, sig, sn, &why) < 0, "%s", n);
	signed_data(&d2, sid, 32, 50, "ftap", "ssh-connection", "hostbased", 1, alg, key);
	snprintf(n, sizeof(n), "%s: method not publickey", name);
	CHECK(check("ftap", key, &d2, sig, sn, &why) < 0, "%s", n);
	signed_data(&d2, sid, 32, 51, "ftap", "ssh-connection", "publickey", 1, alg, key);
	snprintf(n, sizeof(n), "%s: message number not 50", name);
	CHECK(check("ftap", key, &d2, sig, sn, &why) < 0, "%s", n);
	signed_data(&d2, sid, 32, 50, "ftap", "ssh-connection", "publickey", 0, alg, key);
	snprintf(n, sizeof(n), "%s: has-signature FALSE", name);
	CHECK(check("ftap", key, &d2, sig, sn, &why) < 0, "%s", n);
	signed_data(&d2, sid, 8, 50, "ftap", "ssh-connection", "publickey", 1, alg, key);
	snprintf(n, sizeof(n), "%s: a session id of 8 bytes", name);
	CHECK(check("ftap", key, &d2, sig, sn, &why) < 0, "%s", n);
	/* a right signature over the wrong algorithm name */
	signed_data(&d2, sid, 32, 50, "ftap", "ssh-connection", "publickey", 1, wrong_alg, key);
	sn = sign(k, md, &d2, sig, sizeof(sig));
	snprintf(n, sizeof(n), "%s: algorithm %s does not go with the key", name, wrong_alg);
	CHECK(sn && check("ftap", key, &d2, sig, sn, &why) < 0 &&
		      !strcmp(why, "key type and signature algorithm do not match"),
	      "%s", n);
	/* a trailing byte after the key */
	d2 = d;
	d2.p[d2.n++] = 0;
	sn = sign(k, md, &d2, sig, sizeof(sig));
	snprintf(n, sizeof(n), "%s: a byte after the key blob", name);
	CHECK(sn && check("ftap", key, &d2, sig, sn, &why) < 0, "%s", n);
}

int main(void)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *ed2 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct buf edkey = { .n = 0 }, ed2key = { .n = 0 }, rsakey = { .n = 0 }, eckey = { .n = 0 }, d;
	uint8_t pk[32], q[133], sig[2048], sid[48];
	size_t pkn = sizeof(pk), qn = 0, sn;
	BIGNUM *n = NULL, *e = NULL;
	struct xtap_sidset set = { 0 };
	const char *why;

	if (!ed || !ed2 || !rsa || !ec) {
		printf("cannot generate keys\n0 passed, 1 failed\n");
		return 1;
	}
	EVP_PKEY_get_raw_public_key(ed, pk, &pkn);
	put_cstr(&edkey, "ssh-ed25519");
	put_str(&edkey, pk, pkn);
	pkn = sizeof(pk);
	EVP_PKEY_get_raw_public_key(ed2, pk, &pkn);
	put_cstr(&ed2key, "ssh-ed25519");
	put_str(&ed2key, pk, pkn);
	EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n);
	EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_E, &e);
	put_cstr(&rsakey, "ssh-rsa");
	put_mpint(&rsakey, e);
	put_mpint(&rsakey, n);
	EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q), &qn);
	put_cstr(&eckey, "ecdsa-sha2-nistp256");
	put_cstr(&eckey, "nistp256");
	put_str(&eckey, q, qn);

	key_cases("ed25519", ed, &edkey, "ssh-ed25519", NULL, "rsa-sha2-256");
	key_cases("rsa-sha2-256", rsa, &rsakey, "rsa-sha2-256", EVP_sha256(), "ssh-ed25519");
	key_cases("rsa-sha2-512", rsa, &rsakey, "rsa-sha2-512", EVP_sha512(), "ecdsa-sha2-nistp256");
	key_cases("ecdsa-sha2-nistp256", ec, &eckey, "ecdsa-sha2-nistp256", EVP_sha256(), "ecdsa-sha2-nistp384");

	/* signed by one key, checked against another (the authorized one) */
	memset(sid, 5, sizeof(sid));
	signed_data(&d, sid, sizeof(sid), 50, "ftap", "ssh-connection", "publickey", 1, "ssh-ed25519", &ed2key);
	sn = sign(ed2, NULL, &d, sig, sizeof(sig));
	CHECK(check("ftap", &edkey, &d, sig, sn, &why) < 0 && !strcmp(why, "signed data names another key"),
	      "a signature by a key other than the authorized one");
	/* RSA with SHA-256 signed but rsa-sha2-512 named */
	signed_data(&d, sid, sizeof(sid), 50, "ftap", "ssh-connection", "publickey", 1, "rsa-sha2-512", &rsakey);
	sn = sign(rsa, EVP_sha256(), &d, sig, sizeof(sig));
	CHECK(check("ftap", &rsakey, &d, sig, sn, &why) < 0, "rsa-sha2-512 named, SHA-256 used");

	/* replays: a session id accepted once is refused after */
	CHECK(xtap_sidset_seen(&set, sid, sizeof(sid)) == 0, "a new session id");
	CHECK(xtap_sidset_seen(&set, sid, sizeof(sid)) == 1, "the same session id again: a replay");
	sid[0] ^= 1;
	CHECK(xtap_sidset_seen(&set, sid, sizeof(sid)) == 0, "another session id");
	CHECK(xtap_sidset_seen(&set, sid, sizeof(sid) - 1) == 0, "a prefix of a known one is another");
	for (uint32_t i = 0; i < XTAP_SIDSET_N; i++) {
		uint8_t x[20] = { 0 };

		memcpy(x, &i, sizeof(i));
		xtap_sidset_seen(&set, x, sizeof(x));
	}
	CHECK(xtap_sidset_seen(&set, sid, sizeof(sid)) == 0, "forgotten after XTAP_SIDSET_N later ones (the bound)");
	xtap_sidset_free(&set);

	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ed2);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	printf("sigcheck: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
