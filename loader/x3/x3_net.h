/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared by the X3 receiver (xtap-x3d) and the sensor's delivery process
 * (xtap-x3): OpenSSL's error queue as one line. Socket addresses are in
 * hostport.h. */
#ifndef XTAP_X3_NET_H
#define XTAP_X3_NET_H

#include <stddef.h>

/* The oldest OpenSSL error (and the queue cleared), or `fallback`. */
const char *x3_ssl_error(char *buf, size_t n, const char *fallback);

#endif
