/* SPDX-License-Identifier: BSD-2-Clause */
/* Numeric socket addresses on the command line and in messages, for the
 * receivers xtap-cd and xtap-x3d and the delivery process xtap-x3. No
 * library beyond libc, so that xtap-cd links no OpenSSL. */
#ifndef XTAP_HOSTPORT_H
#define XTAP_HOSTPORT_H

#include <stddef.h>
#include <sys/socket.h>

/* "[ADDR:]PORT", ADDR numeric IPv4 or IPv6 in brackets; no ADDR: [::].
 * 0 or -1. */
int hostport_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* "192.0.2.1:4443" or "[2001:db8::1]:4443" */
const char *hostport_str(const struct sockaddr_storage *ss, char *buf, size_t n);

#endif
