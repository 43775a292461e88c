// SPDX-License-Identifier: BSD-2-Clause
/* The monitor's check of a public-key login signature (sigcheck.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "sigcheck.h"

#define SSH2_MSG_USERAUTH_REQUEST 50

/* SSH wire reader (RFC 4251 5): uint32 lengths, big endian. */
struct sshbuf {
	const uint8_t *p;
	size_t n, off;
	bool bad;
};

static const uint8_t *get_bytes(struct sshbuf *b, size_t n)
{
	const uint8_t *at;

	if (b->bad || n > b->n - b->off) {
		b->bad = true;
		return NULL;
	}
	at = b->p + b->off;
	b->off += n;
	return at;
}

static const uint8_t *get_string(struct sshbuf *b, size_t *len)
{
	const uint8_t *l = get_bytes(b, 4);

	if (!l)
		return NULL;
	*len = (size_t)l[0] << 24 | (size_t)l[1] << 16 | (size_t)l[2] << 8 | l[3];
	return get_bytes(b, *len);
}

static bool str_is(const uint8_t *s, size_t n, const char *want)
{
	return s && n == strlen(want) && !memcmp(s, want, n);
}

/* mpint (RFC 4251 5): positive, big endian, a leading 0 byte allowed */
static BIGNUM *get_mpint(struct sshbuf *b)
{
	size_t n;
	const uint8_t *s = get_string(b, &n);

	if (!s || !n || (s[0] & 0x80))
		return NULL;
	return BN_bin2bn(s, (int)n, NULL);
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* The key of an SSH public key blob (RFC 4253 6.6, RFC 5656 3.1, RFC 8709
 * 4) and the digest the signature algorithm alg uses with it. */
static EVP_PKEY *key_for(const uint8_t *blob, size_t n, const uint8_t *alg, size_t algn, const EVP_MD **md,
			 const char **why)
{
	struct sshbuf b = { .p = blob, .n = n };
	size_t tn, kn;
	const uint8_t *t = get_string(&b, &tn), *k;
	EVP_PKEY *pkey = NULL;

	*why = "key type and signature algorithm do not match";
	if (str_is(t, tn, "ssh-ed25519")) {
		if (!str_is(alg, algn, "ssh-ed25519"))
			return NULL;
		k = get_string(&b, &kn);
		if (!k || kn != 32 || b.off != b.n)
			return NULL;
		*md = NULL; /* Ed25519 hashes itself */
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k, kn);
	}
	if (str_is(t, tn, "ssh-rsa")) {
		OSSL_PARAM_BLD *bld;
		BIGNUM *e, *nn;

		/* RFC 8332; ssh-rsa (SHA-1) as OpenSSH still accepts it */
		if (str_is(alg, algn, "rsa-sha2-256"))
			*md = EVP_sha256();
		else if (str_is(alg, algn, "rsa-sha2-512"))
			*md = EVP_sha512();
		else if (str_is(alg, algn, "ssh-rsa"))
			*md = EVP_sha1();
		else
			return NULL;
		e = get_mpint(&b);
		nn = get_mpint(&b);
		bld = OSSL_PARAM_BLD_new();
		if (e && nn && bld && b.off == b.n && BN_num_bits(nn) >= 1024 &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, nn) &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			pkey = pkey_from_params("RSA", bld);
		OSSL_PARAM_BLD_free(bld);
		BN_free(e);
		BN_free(nn);
		return pkey;
	}
	if (tn > 11 && !memcmp(t, "ecdsa-sha2-", 11)) {
		static const struct {
			const char *name, *curve, *group;
		} ec[] = {
			{ "ecdsa-sha2-nistp256", "nistp256", "P-256" },
			{ "ecdsa-sha2-nistp384", "nistp384", "P-384" },
			{ "ecdsa-sha2-nistp521", "nistp521", "P-521" },
		};
		const EVP_MD *mds[] = { EVP_sha256(), EVP_sha384(), EVP_sha512() };
		size_t cn;
		const uint8_t *c;

		for (size_t i = 0; i < 3; i++) {
			OSSL_PARAM_BLD *bld;

			if (!str_is(t, tn, ec[i].name))
				continue;
			if (!str_is(alg, algn, ec[i].name))
				return NULL;
			c = get_string(&b, &cn);
			k = get_string(&b, &kn);
			if (!str_is(c, cn, ec[i].curve) || !k || b.off != b.n)
				return NULL;
			*md = mds[i];
			bld = OSSL_PARAM_BLD_new();
			if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, ec[i].group, 0) &&
			    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, k, kn))
				pkey = pkey_from_params("EC", bld);
			OSSL_PARAM_BLD_free(bld);
			return pkey;
		}
	}
	*why = "key type not supported";
	return NULL;
}

int xtap_sig_check(const char *user, const uint8_t *keyblob, size_t keylen, const uint8_t *signed_data,
		   size_t signed_len, const uint8_t *sig, size_t siglen, const uint8_t **sid, size_t *sidlen,
		   const char **why)
{
	struct sshbuf b = { .p = signed_data, .n = signed_len };
	const uint8_t *s, *u, *svc, *meth, *flag, *alg, *key, *type;
	size_t sn, un, svcn, methn, algn, keyn;
	const EVP_MD *md = NULL;
	EVP_PKEY *pkey;
	EVP_MD_CTX *ctx;
	int ok;

	/* string session id, byte 50, string user, string service, string
	 * "publickey", boolean TRUE, string algorithm, string key blob */
	s = get_string(&b, &sn);
	type = get_bytes(&b, 1);
	u = get_string(&b, &un);
	svc = get_string(&b, &svcn);
	meth = get_string(&b, &methn);
	flag = get_bytes(&b, 1);
	alg = get_string(&b, &algn);
	key = get_string(&b, &keyn);
	if (b.bad || b.off != b.n) {
		*why = "signed data is not a userauth request";
		return -1;
	}
	if (sn < 20 || sn > XTAP_SID_MAX || *type != SSH2_MSG_USERAUTH_REQUEST || *flag != 1 ||
	    !str_is(svc, svcn, "ssh-connection") || !str_is(meth, methn, "publickey")) {
		*why = "signed data is not a publickey userauth request";
		return -1;
	}
	if (!str_is(u, un, user)) {
		*why = "signed data names another user";
		return -1;
	}
	if (keyn != keylen || memcmp(key, keyblob, keylen)) {
		*why = "signed data names another key";
		return -1;
	}
	pkey = key_for(keyblob, keylen, alg, algn, &md, why);
	if (!pkey)
		return -1;
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) == 1 &&
		EVP_DigestVerify(ctx, sig, siglen, signed_data, signed_len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	if (!ok) {
		*why = "bad signature";
		return -1;
	}
	*sid = s;
	*sidlen = sn;
	*why = NULL;
	return 0;
}

int xtap_sidset_seen(struct xtap_sidset *s, const uint8_t *sid, size_t len)
{
	if (!len || len > XTAP_SID_MAX)
		return -1;
	if (!s->id && !(s->id = calloc(XTAP_SIDSET_N, sizeof(*s->id))))
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (s->id[i][0] == len && !memcmp(s->id[i] + 1, sid, len))
			return 1;
	s->id[s->head][0] = (uint8_t)len;
	memcpy(s->id[s->head] + 1, sid, len);
	s->head = (s->head + 1) % XTAP_SIDSET_N;
	if (s->n < XTAP_SIDSET_N)
		s->n++;
	return 0;
}

void xtap_sidset_free(struct xtap_sidset *s)
{
	free(s->id);
	s->id = NULL;
	s->n = s->head = 0;
}
