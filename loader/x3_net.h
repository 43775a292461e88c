/* SPDX-License-Identifier: BSD-2-Clause */
/* Small helpers shared by the X3 receiver (xtap-x3d) and the sensor's
 * delivery process (xtap-x3): numeric socket addresses and OpenSSL's error
 * queue as one line. */
#ifndef XTAP_X3_NET_H
#define XTAP_X3_NET_H

#include <stddef.h>
#include <sys/socket.h>

/* "[ADDR:]PORT", ADDR numeric IPv4 or IPv6 in brackets; no ADDR: [::].
 * 0 or -1. */
int x3_parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* "192.0.2.1:4443" or "[2001:db8::1]:4443" */
const char *x3_addr_str(const struct sockaddr_storage *ss, char *buf, size_t n);
/* The oldest OpenSSL error (and the queue cleared), or `fallback`. */
const char *x3_ssl_error(char *buf, size_t n, const char *fallback);

#endif
