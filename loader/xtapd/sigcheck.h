/* SPDX-License-Identifier: BSD-2-Clause */
/* The monitor's own check of an SSH public-key login (RFC 4252 section 7):
 * the worker forwards what the client's signature covers and the signature
 * as libssh handed them to OpenSSL (docs/privsep.md); the monitor verifies
 * them against the authorized key from its configuration, never against a
 * key the worker names, and refuses a session id it has accepted before
 * (the worker supplies the session id: a compromised one could otherwise
 * replay a signature it once saw). */
#ifndef XTAP_SIGCHECK_H
#define XTAP_SIGCHECK_H

#include <stddef.h>
#include <stdint.h>

#define XTAP_SID_MAX 64 /* session id: the exchange hash, SHA-512 at most */
/* Session ids of accepted public-key logins remembered (a ring): 1 MiB. A
 * signature seen by a compromised worker can be replayed only once that
 * many later public-key logins have pushed its session id out. */
#define XTAP_SIDSET_N 16384

/* 0: signed_data is the RFC 4252 blob for this user, "ssh-connection",
 * "publickey" and exactly keyblob (the authorized key, SSH wire form), with
 * an algorithm that key type allows, and sig verifies over it with that
 * key; *sid and *sidlen: the session id inside signed_data. -1: *why says
 * which check failed (fixed text). */
int xtap_sig_check(const char *user, const uint8_t *keyblob, size_t keylen, const uint8_t *signed_data,
		   size_t signed_len, const uint8_t *sig, size_t siglen, const uint8_t **sid, size_t *sidlen,
		   const char **why);

struct xtap_sidset {
	uint8_t (*id)[XTAP_SID_MAX + 1]; /* [0]: length; NULL until the first one */
	size_t n, head;
};
/* 1 if sid was recorded before; else records it and returns 0 (-1: no memory). */
int xtap_sidset_seen(struct xtap_sidset *s, const uint8_t *sid, size_t len);
void xtap_sidset_free(struct xtap_sidset *s);

#endif
