/* SPDX-License-Identifier: BSD-2-Clause */
/* The X1 front end (docs/x1.md "Privilege separation"): HTTPS with mutual
 * TLS (OpenSSL), unprivileged, over the pure x1/ library. It parses the
 * XML and hands the monitor one typed container per HTTP request
 * (x1_wire_container_encode), never XML; the monitor answers with the
 * response body. */
#ifndef XTAP_X1WORKER_H
#define XTAP_X1WORKER_H

#include <stdbool.h>
#include <stdint.h>

/* The datagrams on the SOCK_SEQPACKET pair, after a uint32 type. */
enum x1mon_type {
	X1MON_REQUEST = 1, /* W->M  an x1_wire_container */
	X1MON_RESPONSE, /* M->W  part of the response body (at most X1MON_PART bytes) */
	X1MON_RESPONSE_END, /* M->W  its last part (maybe empty) */
};
#define X1MON_PART 32768

struct x1_worker_opts {
	const char *cert, *key; /* the NE's certificate chain and key (PEM) */
	const char *ca; /* the CA that signs ADMF certificates (PEM) */
	const char *ne; /* neIdentifier, for top-level errors */
	const char *user; /* drop to this user after loading keys; NULL: stay */
	int listen_fd; /* bound and listening */
	int mon_fd; /* SOCK_SEQPACKET to the monitor */
	int io_timeout_secs; /* handshake, then each request; 0: 10 */
	bool no_seccomp; /* leave the seccomp filter out (measuring its list) */
};

/* Serves until the monitor's end closes (0) or a fatal error (1). */
int x1_worker_main(const struct x1_worker_opts *o);

#endif
