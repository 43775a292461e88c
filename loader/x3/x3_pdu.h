/* SPDX-License-Identifier: BSD-2-Clause */
/* The X2/X3 PDU of ETSI TS 103 221-2 (V1.4.1, 2021-04), clause 5, as a pure
 * library: bytes in, a struct out; a struct in, bytes out. No I/O here.
 * docs/x3.md lists every field with its clause and where each number was
 * checked.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-------------------------------+-------------------------------+
 *  |            Version            |           PDU Type            |
 *  +-------------------------------+-------------------------------+
 *  |                         Header Length                         |
 *  +---------------------------------------------------------------+
 *  |                         Payload Length                        |
 *  +-------------------------------+-------------------------------+
 *  |        Payload Format         |       Payload Direction       |
 *  +-------------------------------+-------------------------------+
 *  |                        XID (16 bytes)                         |
 *  +---------------------------------------------------------------+
 *  |                   Correlation ID (8 bytes)                    |
 *  +---------------------------------------------------------------+
 *  |   Conditional attributes: type (16) length (16) value ...     |
 *  +---------------------------------------------------------------+
 *  |                            Payload                            |
 *
 * Every integer is in network byte order. */
#ifndef XTAP_X3_PDU_H
#define XTAP_X3_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "uuid.h"

/* clause 5.2.1: the PDU format's own version, 0.5 (major in the high
 * byte), not the document's; OpenLI writes and the sipgate library checks
 * 0x0005 */
#define X3_VERSION 0x0005
/* clause 5.2.2, PDU Type */
#define X3_TYPE_X2 1
#define X3_TYPE_X3 2
#define X3_TYPE_KEEPALIVE 3
#define X3_TYPE_KEEPALIVE_ACK 4
/* clause 5.2: the fixed part, up to the conditional attributes */
#define X3_HDR_FIXED 40
/* clause 5.4.1 (table of payload formats): 0 is what keepalives carry */
#define X3_FMT_NONE 0
#define X3_FMT_IPV4 5 /* clause 5.4.6: an IPv4 packet (RFC 791) */
#define X3_FMT_IPV6 6 /* clause 5.4.7: an IPv6 packet (RFC 8200) */
/* clause 5.2.6, Payload Direction */
#define X3_DIR_RESERVED 0 /* keepalives */
#define X3_DIR_UNKNOWN 1
#define X3_DIR_TO_TARGET 2
#define X3_DIR_FROM_TARGET 3
#define X3_DIR_MULTIPLE 4
#define X3_DIR_NA 5
/* clause 5.3 (table of conditional attributes) */
#define X3_ATTR_SEQUENCE 8 /* clause 5.3.9: 32-bit unsigned */
#define X3_ATTR_TIMESTAMP 9 /* clause 5.3.10: 32-bit seconds, 32-bit nanoseconds */
#define X3_ATTR_TLV 4 /* type and length words */

/* Bounds of this implementation, not of the specification: */
/* an IP packet, the only payload xtap sends, is at most 65535 bytes (no
 * jumbograms: a copy came through a UDP datagram) */
#define X3_PAYLOAD_MAX 65535u
/* xtap sends 40 + 8 + 12 bytes of header; 4 KiB leaves room for a peer's
 * identifiers (NFID, IPID, target ids) and refuses a header that only makes
 * the receiver buffer */
#define X3_HDR_MAX 4096u
#define X3_PDU_MAX (X3_HDR_MAX + X3_PAYLOAD_MAX)
/* what x3_encode_x3 writes before the payload */
#define X3_X3_HDR_LEN (X3_HDR_FIXED + X3_ATTR_TLV + 4 + X3_ATTR_TLV + 8)
/* a keepalive or its acknowledgement: the header and a sequence number */
#define X3_KEEPALIVE_LEN (X3_HDR_FIXED + X3_ATTR_TLV + 4)

struct x3_pdu {
	uint16_t version, type;
	uint32_t hdr_len, payload_len;
	uint16_t format, direction;
	uint8_t xid[16];
	uint64_t correlation;
	bool has_seq, has_ts;
	uint32_t seq;
	uint32_t ts_sec, ts_nsec;
	unsigned n_other_attrs; /* attributes this library does not read */
	const uint8_t *payload; /* into the decoded buffer */
};

/* Why a PDU is refused; the order of the receiver's summary. */
enum x3_err {
	X3_OK = 0,
	X3_NEED_MORE, /* not an error: fewer bytes than the PDU */
	X3_BAD_VERSION,
	X3_BAD_TYPE,
	X3_BAD_HDR_LEN, /* below 40, or above X3_HDR_MAX */
	X3_BAD_PAYLOAD_LEN, /* above X3_PAYLOAD_MAX; or not 0 in a keepalive */
	X3_BAD_DIRECTION,
	X3_BAD_ATTR, /* a TLV past the header, a sequence number not 4
					  bytes, a timestamp not 8, nanoseconds >= 1e9,
					  an attribute given twice */
	X3_BAD_PAYLOAD, /* format IPv4/IPv6 but not one whole packet of it */
	X3_NO_SEQ, /* an X3 PDU or a keepalive without a sequence number */
	X3_ERR_N,
};

/* The PDU that starts at buf (n bytes available). X3_OK: *out is filled and
 * *used is its length (hdr_len + payload_len); X3_NEED_MORE: *used is the
 * length known so far (at least one byte more than n); anything else: the
 * stream cannot be read on. Every PDU type is decoded; whether a receiver
 * takes X2 PDUs or other payload formats is its policy. */
enum x3_err x3_decode(const uint8_t *buf, size_t n, struct x3_pdu *out, size_t *used);

/* An X3 PDU: format from the packet's version nibble (4: IPv4, 6: IPv6),
 * sequence number and timestamp attributes, then the packet. Returns the
 * length written (X3_X3_HDR_LEN + len), or 0 if cap is too small, len is 0
 * or above X3_PAYLOAD_MAX, the packet is neither IPv4 nor IPv6, nsec is 1e9
 * or more, or direction is not 1 to 5. */
size_t x3_encode_x3(uint8_t *out, size_t cap, const uint8_t xid[16], uint64_t correlation, uint16_t direction,
		    uint32_t seq, uint32_t sec, uint32_t nsec, const uint8_t *pkt, size_t len);

/* A keepalive (type X3_TYPE_KEEPALIVE) or an acknowledgement (type
 * X3_TYPE_KEEPALIVE_ACK, which echoes the keepalive's sequence number):
 * nil XID, correlation 0, format and direction 0, no payload. Returns
 * X3_KEEPALIVE_LEN, or 0 if cap is too small or type is another. */
size_t x3_encode_keepalive(uint8_t *out, size_t cap, uint16_t type, uint32_t seq);

const char *x3_err_name(enum x3_err e); /* "bad version" */
const char *x3_err_key(enum x3_err e); /* "bad_version" */

/* A UUID in its text form (RFC 9562: 8-4-4-4-12 hex digits, either case),
 * NUL-terminated, to its 16 bytes; -1 if it is not one. x3_uuid_format
 * writes 37 bytes. Inline (dtcp/uuid.h): the configuration parser takes
 * XIDs without linking the codec. */
static inline int x3_uuid_parse(const char *s, uint8_t out[16])
{
	return xtap_uuid_parse(s, strlen(s), out);
}

static inline void x3_uuid_format(const uint8_t u[16], char out[37])
{
	xtap_uuid_format(u, out);
}

#endif
