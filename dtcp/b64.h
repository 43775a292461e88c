// SPDX-License-Identifier: BSD-2-Clause
/* Base64 decoding (RFC 4648 section 4, padded), for OpenSSH public keys:
 * the configuration's check of `ssh-key` lines, the monitor's comparison of
 * a key with the configured ones and the worker's blob of libssh's key. */
#ifndef XTAP_B64_H
#define XTAP_B64_H

#include <stddef.h>
#include <stdint.h>

/* Decodes s[0..n): n a multiple of 4, '=' only as the last one or two
 * characters, nothing but the alphabet before them. Writes at most cap
 * bytes to out and returns the whole decoded length (as snprintf does: more
 * than cap means out holds only its first cap bytes), or -1 when s is not
 * base64. */
long xtap_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap);

#endif
