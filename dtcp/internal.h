/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the library's files; not part of the API. */
#ifndef XTAP_DTCP_INTERNAL_H
#define XTAP_DTCP_INTERNAL_H

#include <stdarg.h>

#include "dtcp.h"

/* err = { code, "NAME: value" } with NAME uppercased, value made printable
 * and cut to DTCP_ITEM_MAX. */
void dtcp_error_set(struct dtcp_error *err, int code, const char *name, size_t nn, const char *val, size_t vn);
/* Text form of an address (inet_ntop). */
void dtcp_addr_str(int family, const uint8_t a[16], char *out, size_t cap);

/* Appends "<hdr><hmac of out[0..n)>\r\n\r\n" (the signing line and the
 * message's end): hdr is "Authentication-Info: " in requests and
 * "AUTHENTICATION-INFO: " in replies. Returns the new length or 0. */
size_t dtcp_sign_tail(const void *key, size_t keylen, const char *hdr, char *out, size_t n, size_t cap);

/* An error reply to a request that failed to parse (signed, audited). */
void dtcp_server_reply_error(struct dtcp_server *s, const struct dtcp_source_policy *pol, const struct dtcp_request *r,
			     const struct dtcp_error *err, uint64_t now_ms, dtcp_emit_fn emit, void *arg);

#endif
