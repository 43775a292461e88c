/* SPDX-License-Identifier: BSD-2-Clause */
/* What a content destination receives (docs/content-destination.md), as a
 * pure library: bytes in, a verdict out. The socket already removed the outer
 * IP and UDP headers; what is left is either the intercepted packet itself
 * ("plain") or an 8-byte JMirror header followed by it. No I/O here. */
#ifndef XTAP_CD_WIRE_H
#define XTAP_CD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jmirror.h"

/* Every datagram ends in exactly one of these. The order is the order of
 * the summary. */
enum cd_verdict {
	CD_PLAIN, /* an IP packet, no JMirror header */
	CD_JMIRROR, /* JMirror version 0, then an IP packet */
	CD_TOO_SHORT, /* empty, or a JMirror header with nothing after it */
	CD_BAD_JMIRROR_VERSION, /* first byte neither IP (0x4_/0x6_) nor JMirror v0 */
	CD_INNER_NOT_IP, /* after a JMirror header: version nibble not 4 or 6 */
	CD_INNER_TRUNCATED, /* fewer bytes than the inner IP header or its length say */
	CD_INNER_LENGTH_MISMATCH, /* more bytes than the inner IP length, or the
				     length fields contradict each other */
	CD_VERDICT_N,
};

struct cd_copy {
	enum cd_verdict verdict;
	uint32_t intercept_id; /* JMirror only: the 30-bit field as seen */
	uint32_t session_id; /* JMirror only */
	size_t inner_off; /* CD_PLAIN/CD_JMIRROR: where the IP packet starts */
	size_t inner_len; /* and its length (equal to its IP length field) */
};

/* Classify one UDP payload of n bytes. */
void cd_classify(const uint8_t *p, size_t n, struct cd_copy *out);

/* Name of a verdict for the summary ("inner truncated") and for JSON
 * ("inner_truncated"). */
const char *cd_verdict_name(enum cd_verdict v);
const char *cd_verdict_key(enum cd_verdict v);

/* An intercept id as the X-MD-Intercept-Id header gives it: hex, optional
 * 0x, at most 16 significant digits. Returns the (intercept id, session id)
 * pair the sender puts on the wire (design.md): up to 8 significant digits,
 * (id, 0); more, (high 32 bits, low 32 bits). In both cases the top two bits
 * of the first word are the JMirror version, so id bits there are cleared;
 * *lost says whether that happened. Returns 0, or -1 if s is not such an id. */
int cd_parse_intercept_id(const char *s, uint32_t *intercept_id, uint32_t *session_id, bool *lost);

#endif
