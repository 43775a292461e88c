/* SPDX-License-Identifier: BSD-2-Clause */
/* ETSI TS 103 221-2 X2/X3 PDUs: see x3_pdu.h and docs/x3.md. */
#include <string.h>

#include "x3_pdu.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static uint8_t *wr_fixed(uint8_t *p, uint16_t type, uint32_t hdr_len, uint32_t payload_len, uint16_t format,
			 uint16_t direction, const uint8_t xid[16], uint64_t correlation)
{
	p = wr16(p, X3_VERSION); /* 5.2.1 */
	p = wr16(p, type); /* 5.2.2 */
	p = wr32(p, hdr_len); /* 5.2.3: fixed part and attributes */
	p = wr32(p, payload_len); /* 5.2.4 */
	p = wr16(p, format); /* 5.2.5 */
	p = wr16(p, direction); /* 5.2.6 */
	if (xid) /* 5.2.7 */
		memcpy(p, xid, 16);
	else
		memset(p, 0, 16);
	p += 16;
	p = wr32(p, (uint32_t)(correlation >> 32)); /* 5.2.8 */
	return wr32(p, (uint32_t)correlation);
}

/* One whole packet of the format's family, nothing before or after it. */
static bool payload_ok(uint16_t format, const uint8_t *p, uint32_t n)
{
	if (format == X3_FMT_IPV4) {
		if (n < 20 || p[0] >> 4 != 4 || (p[0] & 0xf) < 5)
			return false;
		uint32_t ihl = (uint32_t)(p[0] & 0xf) * 4, tot = rd16(p + 2);
		return tot == n && tot >= ihl;
	}
	if (format == X3_FMT_IPV6)
		return n >= 40 && p[0] >> 4 == 6 && 40u + rd16(p + 4) == n;
	return true; /* other formats: the receiver's policy */
}

static enum x3_err decode_attrs(const uint8_t *a, size_t n, struct x3_pdu *out)
{
	while (n > 0) {
		if (n < X3_ATTR_TLV)
			return X3_BAD_ATTR;
		uint16_t type = rd16(a), len = rd16(a + 2);

		a += X3_ATTR_TLV;
		n -= X3_ATTR_TLV;
		if (len > n)
			return X3_BAD_ATTR;
		switch (type) {
		case X3_ATTR_SEQUENCE:
			if (len != 4 || out->has_seq)
				return X3_BAD_ATTR;
			out->has_seq = true;
			out->seq = rd32(a);
			break;
		case X3_ATTR_TIMESTAMP:
			if (len != 8 || out->has_ts)
				return X3_BAD_ATTR;
			out->ts_sec = rd32(a);
			out->ts_nsec = rd32(a + 4);
			if (out->ts_nsec >= 1000000000u)
				return X3_BAD_ATTR;
			out->has_ts = true;
			break;
		default: out->n_other_attrs++;
		}
		a += len;
		n -= len;
	}
	return X3_OK;
}

enum x3_err x3_decode(const uint8_t *buf, size_t n, struct x3_pdu *out, size_t *used)
{
	memset(out, 0, sizeof(*out));
	*used = X3_HDR_FIXED;
	if (n < 12) /* up to the payload length: enough to know the whole */
		return n >= 2 && rd16(buf) != X3_VERSION ? X3_BAD_VERSION : X3_NEED_MORE;
	out->version = rd16(buf);
	out->type = rd16(buf + 2);
	out->hdr_len = rd32(buf + 4);
	out->payload_len = rd32(buf + 8);
	if (out->version != X3_VERSION)
		return X3_BAD_VERSION;
	if (out->type < X3_TYPE_X2 || out->type > X3_TYPE_KEEPALIVE_ACK)
		return X3_BAD_TYPE;
	if (out->hdr_len < X3_HDR_FIXED || out->hdr_len > X3_HDR_MAX)
		return X3_BAD_HDR_LEN;
	if (out->payload_len > X3_PAYLOAD_MAX)
		return X3_BAD_PAYLOAD_LEN;
	bool ka = out->type == X3_TYPE_KEEPALIVE || out->type == X3_TYPE_KEEPALIVE_ACK;
	/* a keepalive has no payload (OpenLI drops a peer that sends one) */
	if (ka && out->payload_len != 0)
		return X3_BAD_PAYLOAD_LEN;
	size_t total = (size_t)out->hdr_len + out->payload_len;
	*used = total;
	if (n < total)
		return X3_NEED_MORE;
	out->format = rd16(buf + 12);
	out->direction = rd16(buf + 14);
	memcpy(out->xid, buf + 16, 16);
	out->correlation = (uint64_t)rd32(buf + 32) << 32 | rd32(buf + 36);
	if (out->direction > X3_DIR_NA)
		return X3_BAD_DIRECTION;
	enum x3_err e = decode_attrs(buf + X3_HDR_FIXED, out->hdr_len - X3_HDR_FIXED, out);
	if (e != X3_OK)
		return e;
	out->payload = buf + out->hdr_len;
	/* the acknowledgement echoes the keepalive's number (OpenLI answers
	 * only a keepalive that has one); X3 PDUs are sequenced (5.3.9) */
	if ((ka || out->type == X3_TYPE_X3) && !out->has_seq)
		return X3_NO_SEQ;
	if (!payload_ok(out->format, out->payload, out->payload_len))
		return X3_BAD_PAYLOAD;
	return X3_OK;
}

size_t x3_encode_x3(uint8_t *out, size_t cap, const uint8_t xid[16], uint64_t correlation, uint16_t direction,
		    uint32_t seq, uint32_t sec, uint32_t nsec, const uint8_t *pkt, size_t len)
{
	uint16_t format;

	if (len == 0 || len > X3_PAYLOAD_MAX || cap < X3_X3_HDR_LEN + len || nsec >= 1000000000u ||
	    direction < X3_DIR_UNKNOWN || direction > X3_DIR_NA)
		return 0;
	if (pkt[0] >> 4 == 4)
		format = X3_FMT_IPV4;
	else if (pkt[0] >> 4 == 6)
		format = X3_FMT_IPV6;
	else
		return 0;
	uint8_t *p = wr_fixed(out, X3_TYPE_X3, X3_X3_HDR_LEN, (uint32_t)len, format, direction, xid, correlation);
	p = wr16(p, X3_ATTR_SEQUENCE);
	p = wr16(p, 4);
	p = wr32(p, seq);
	p = wr16(p, X3_ATTR_TIMESTAMP);
	p = wr16(p, 8);
	p = wr32(p, sec);
	p = wr32(p, nsec);
	memcpy(p, pkt, len);
	return X3_X3_HDR_LEN + len;
}

size_t x3_encode_keepalive(uint8_t *out, size_t cap, uint16_t type, uint32_t seq)
{
	if (cap < X3_KEEPALIVE_LEN || (type != X3_TYPE_KEEPALIVE && type != X3_TYPE_KEEPALIVE_ACK))
		return 0;
	uint8_t *p = wr_fixed(out, type, X3_KEEPALIVE_LEN, 0, X3_FMT_NONE, X3_DIR_RESERVED, NULL, 0);
	p = wr16(p, X3_ATTR_SEQUENCE);
	p = wr16(p, 4);
	wr32(p, seq);
	return X3_KEEPALIVE_LEN;
}

static const char *const err_names[X3_ERR_N][2] = {
	[X3_OK] = { "ok", "ok" },
	[X3_NEED_MORE] = { "truncated", "truncated" },
	[X3_BAD_VERSION] = { "bad version", "bad_version" },
	[X3_BAD_TYPE] = { "bad pdu type", "bad_pdu_type" },
	[X3_BAD_HDR_LEN] = { "bad header length", "bad_header_length" },
	[X3_BAD_PAYLOAD_LEN] = { "bad payload length", "bad_payload_length" },
	[X3_BAD_DIRECTION] = { "bad direction", "bad_direction" },
	[X3_BAD_ATTR] = { "bad attribute", "bad_attribute" },
	[X3_BAD_PAYLOAD] = { "bad payload", "bad_payload" },
	[X3_NO_SEQ] = { "no sequence number", "no_sequence_number" },
};

const char *x3_err_name(enum x3_err e)
{
	return (unsigned)e < X3_ERR_N ? err_names[e][0] : "?";
}

const char *x3_err_key(enum x3_err e)
{
	return (unsigned)e < X3_ERR_N ? err_names[e][1] : "?";
}
