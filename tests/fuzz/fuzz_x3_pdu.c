/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: the X2/X3 PDU decoder (loader/x3/x3_pdu.c), as xtap-x3d
 * feeds it: the input is a TLS stream, read PDU after PDU. Per PDU:
 *  - X3_NEED_MORE asks for more than there is, and never for more than one
 *    PDU can be (X3_PDU_MAX);
 *  - an accepted PDU lies within the input, its lengths are within bounds,
 *    its payload starts after its header;
 *  - an accepted PDU of xtap's own shape (X3 with exactly a sequence number
 *    and a timestamp, or a keepalive / acknowledgement with exactly a
 *    sequence number, fixed fields as xtap sets them) encodes back to the
 *    very same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x3_pdu.h"

#include "fuzzcheck.h"

static uint8_t out[X3_PDU_MAX];
static const uint8_t nil[16];

static void reencode(const uint8_t *b, size_t used, const struct x3_pdu *p)
{
	size_t n = 0;

	if (p->type == X3_TYPE_X3 && p->hdr_len == X3_X3_HDR_LEN && p->has_seq && p->has_ts && p->n_other_attrs == 0 &&
	    b[40] == 0 && b[41] == 8 && /* xtap's order: sequence first */
	    (p->format == X3_FMT_IPV4 || p->format == X3_FMT_IPV6) && p->direction >= X3_DIR_UNKNOWN) {
		n = x3_encode_x3(out, sizeof(out), p->xid, p->correlation, p->direction, p->seq, p->ts_sec, p->ts_nsec,
				 p->payload, p->payload_len);
		check(n == used);
	} else if ((p->type == X3_TYPE_KEEPALIVE || p->type == X3_TYPE_KEEPALIVE_ACK) &&
		   p->hdr_len == X3_KEEPALIVE_LEN && p->format == 0 && p->direction == 0 && p->correlation == 0 &&
		   memcmp(p->xid, nil, 16) == 0) {
		n = x3_encode_keepalive(out, sizeof(out), p->type, p->seq);
		check(n == used);
	}
	if (n)
		check(memcmp(out, b, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct x3_pdu p;
		size_t used;
		enum x3_err e = x3_decode(data + off, size - off, &p, &used);

		if (e == X3_NEED_MORE) {
			check(used > size - off && used <= X3_PDU_MAX);
			return 0;
		}
		if (e != X3_OK) {
			check(e < X3_ERR_N && strcmp(x3_err_name(e), "?") != 0);
			return 0;
		}
		check(used == (size_t)p.hdr_len + p.payload_len && used <= size - off);
		check(p.hdr_len >= X3_HDR_FIXED && p.hdr_len <= X3_HDR_MAX);
		check(p.payload_len <= X3_PAYLOAD_MAX && p.payload == data + off + p.hdr_len);
		check(p.type >= X3_TYPE_X2 && p.type <= X3_TYPE_KEEPALIVE_ACK);
		check(p.type == X3_TYPE_X2 || p.has_seq);
		check(!p.has_ts || p.ts_nsec < 1000000000u);
		reencode(data + off, used, &p);
		off += used;
	}
	return 0;
}
