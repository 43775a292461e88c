// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>

#include "cd_wire.h"
#include "dtcp.h"

#define IPV4_MIN_HDR 20
#define IPV6_HDR 40

static const struct {
	const char *name, *key;
} verdicts[CD_VERDICT_N] = {
	[CD_PLAIN] = { "plain", "plain" },
	[CD_JMIRROR] = { "jmirror", "jmirror" },
	[CD_TOO_SHORT] = { "too short", "too_short" },
	[CD_BAD_JMIRROR_VERSION] = { "bad jmirror version", "bad_jmirror_version" },
	[CD_INNER_NOT_IP] = { "inner not ip", "inner_not_ip" },
	[CD_INNER_TRUNCATED] = { "inner truncated", "inner_truncated" },
	[CD_INNER_LENGTH_MISMATCH] = { "inner length mismatch", "inner_length_mismatch" },
};

const char *cd_verdict_name(enum cd_verdict v)
{
	return v < CD_VERDICT_N ? verdicts[v].name : "?";
}

const char *cd_verdict_key(enum cd_verdict v)
{
	return v < CD_VERDICT_N ? verdicts[v].key : "?";
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Check an IP packet of n > 0 bytes against its own length fields. The copy
 * is the packet "byte for byte as it arrived", so its IP length must be
 * exactly what is left of the datagram: neither trimmed nor padded. */
static enum cd_verdict check_ip(const uint8_t *p, size_t n, enum cd_verdict ok)
{
	size_t hdr, total;

	switch (p[0] >> 4) {
	case 4:
		if (n < IPV4_MIN_HDR)
			return CD_INNER_TRUNCATED;
		hdr = (size_t)(p[0] & 0x0f) * 4;
		total = get_be16(p + 2);
		/* IHL below 5 or a total length inside the header: the packet
		 * contradicts itself */
		if (hdr < IPV4_MIN_HDR || total < hdr)
			return CD_INNER_LENGTH_MISMATCH;
		break;
	case 6:
		if (n < IPV6_HDR)
			return CD_INNER_TRUNCATED;
		hdr = IPV6_HDR;
		/* a jumbogram (payload length 0) cannot fit in a UDP datagram,
		 * so 0 here means an empty payload and extra bytes mismatch */
		total = IPV6_HDR + get_be16(p + 4);
		break;
	default: return CD_INNER_NOT_IP;
	}
	if (n < hdr || n < total)
		return CD_INNER_TRUNCATED;
	if (n > total)
		return CD_INNER_LENGTH_MISMATCH;
	return ok;
}

void cd_classify(const uint8_t *p, size_t n, struct cd_copy *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0) {
		out->verdict = CD_TOO_SHORT;
		return;
	}
	/* An IP packet starts with version 4 or 6 (0x4_, 0x6_); a JMirror
	 * header with version 0 in its top two bits (0x00-0x3f). Everything
	 * else is a JMirror header of another version: plain copies are always
	 * IP, so that is the only reading left. */
	if (p[0] >> 4 == 4 || p[0] >> 4 == 6) {
		out->verdict = check_ip(p, n, CD_PLAIN);
		if (out->verdict == CD_PLAIN)
			out->inner_len = n;
		return;
	}
	if (p[0] >> 6 != 0) {
		out->verdict = CD_BAD_JMIRROR_VERSION;
		return;
	}
	if (n <= JMIRROR_LEN) {
		out->verdict = CD_TOO_SHORT;
		return;
	}
	out->verdict = check_ip(p + JMIRROR_LEN, n - JMIRROR_LEN, CD_JMIRROR);
	if (out->verdict == CD_JMIRROR) {
		out->intercept_id = get_be32(p) & JMIRROR_ID_MASK;
		out->session_id = get_be32(p + 4);
		out->inner_off = JMIRROR_LEN;
		out->inner_len = n - JMIRROR_LEN;
	}
}

/* X-MD-Intercept-Id as the DTCP library reads it (docs/dtcp.md 4.1). */
int cd_parse_intercept_id(const char *s, uint32_t *intercept_id, uint32_t *session_id, bool *lost)
{
	uint64_t x;

	if (dtcp_parse_intercept_id(s, strlen(s), &x))
		return -1;
	*lost = jmirror_split(x, intercept_id, session_id);
	return 0;
}
