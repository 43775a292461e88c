/* SPDX-License-Identifier: BSD-2-Clause */
/* Replies (docs/dtcp.md 5): typed reply -> signed bytes, and parsing of a
 * reply for the client. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dtcp.h"
#include "internal.h"
#include "xbuf.h"

const char *dtcp_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 430: return "Unknown Content Destination";
	case 431: return "Unknown Criteria ID";
	case 432: return "Improper Filter Specification";
	case 433: return "Improper Timeout Specification";
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 505: return "DTCP Version not supported";
	case 550: return "Max Criteria Limit Exceeded";
	case 551: return "Max Content Destination Exceeded";
	case 901: return "JTap Failure";
	default: return "Unknown";
	}
}

/* One byte of an error item: printable ASCII as is, anything else as the
 * \ddd escape that names use (dtcp.md 2), so a NUL or a lone CR shows. */
static bool item_put(char *item, size_t *o, unsigned char c, bool upper)
{
	if (c >= 0x20 && c < 0x7f) {
		if (*o >= DTCP_ITEM_MAX)
			return false;
		item[(*o)++] = upper && c >= 'a' && c <= 'z' ? (char)(c - 32) : (char)c;
		return true;
	}
	if (*o + 4 > DTCP_ITEM_MAX)
		return false; /* no half escape: the item ends before it */
	item[(*o)++] = '\\';
	item[(*o)++] = (char)('0' + c / 100);
	item[(*o)++] = (char)('0' + c / 10 % 10);
	item[(*o)++] = (char)('0' + c % 10);
	return true;
}

void dtcp_error_set(struct dtcp_error *err, int code, const char *name, size_t nn, const char *val, size_t vn)
{
	size_t o = 0;

	err->code = code;
	for (size_t i = 0; i < nn && item_put(err->item, &o, (unsigned char)name[i], true); i++)
		;
	for (const char *s = ": "; *s && o < DTCP_ITEM_MAX; s++)
		err->item[o++] = *s;
	/* Client bytes go back to the client only, escaped. */
	for (size_t i = 0; i < vn && item_put(err->item, &o, (unsigned char)val[i], false); i++)
		;
	while (o && err->item[o - 1] == ' ')
		o--;
	err->item[o] = 0;
}

void dtcp_addr_str(int family, const uint8_t a[16], char *out, size_t cap)
{
	/* IPv4 by hand, as inet_ntop writes it: glibc's goes through sprintf,
	 * and the state file writes an address or more per criterion */
	if (family != DTCP_AF_INET6 && cap >= 16) {
		char *p = out;

		for (int i = 0; i < 4; i++) {
			if (i)
				*p++ = '.';
			if (a[i] >= 100)
				*p++ = (char)('0' + a[i] / 100);
			if (a[i] >= 10)
				*p++ = (char)('0' + a[i] / 10 % 10);
			*p++ = (char)('0' + a[i] % 10);
		}
		*p = 0;
		return;
	}
	if (!inet_ntop(family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, a, out, (socklen_t)cap))
		snprintf(out, cap, "?");
}

void dtcp_format_time(uint64_t ms, char out[DTCP_TIME_LEN])
{
	/* Clock values past year 9999 are clamped: the field is fixed width. */
	time_t t = (time_t)(ms / 1000 > 253402300799ull ? 253402300799ull : ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	size_t k = strftime(out, DTCP_TIME_LEN, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out + k, DTCP_TIME_LEN - k, ".%03u", (unsigned)(ms % 1000));
}

size_t dtcp_reply_format(const struct dtcp_reply *r, const void *key, size_t keylen, char *out, size_t cap)
{
	struct xbuf o = XBUF_FIXED(out, cap);
	char ts[DTCP_TIME_LEN];

	dtcp_format_time(r->now_ms, ts);
	xbuf_printf(&o, "DTCP/0.%d %d %s\r\n", r->version, r->code, r->reason ? r->reason : dtcp_reason(r->code));
	if (r->has_seq)
		xbuf_printf(&o, "SEQ: %" PRIu64 "\r\n", r->seq);
	if (r->has_criteria_id)
		xbuf_printf(&o, "CRITERIA-ID: %" PRIu32 "\r\n", r->criteria_id);
	if (r->has_count)
		xbuf_printf(&o, "CRITERIA-COUNT: %" PRIu64 "\r\n", r->count);
	if (r->item && r->item[0])
		xbuf_printf(&o, "%s\r\n", r->item);
	xbuf_printf(&o, "TIMESTAMP: %s\r\n", ts);
	if (r->blocks)
		xbuf_mem(&o, r->blocks, r->blocks_len);
	if (o.full)
		return 0;
	return dtcp_sign_tail(key, keylen, "AUTHENTICATION-INFO: ", out, o.n, cap);
}

static int span_u64(struct dtcp_span s, uint64_t *v)
{
	uint64_t x = 0;
	if (s.n == 0 || s.n > 20)
		return -1;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		unsigned d = (unsigned)(s.p[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

int dtcp_reply_parse(const char *buf, size_t n, const void *key, size_t keylen, struct dtcp_reply_view *v)
{
	const struct dtcp_msg *m = &v->msg;
	uint64_t x, num = 0, count = 0;
	bool has_num = false;

	memset(v, 0, sizeof(*v) - sizeof(v->msg));
	dtcp_msg_parse(buf, n, &v->msg);
	if (m->ntok < 2 || m->tok[0].n != 8 || strncmp(m->tok[0].p, "DTCP/0.", 7) || m->tok[0].p[7] < '0' ||
	    m->tok[0].p[7] > '9' || span_u64(m->tok[1], &x) || x > 999)
		return -1;
	v->version = m->tok[0].p[7] - '0';
	v->code = (int)x;
	const struct dtcp_hdr *h = dtcp_msg_get(m, "SEQ");
	if (h && !span_u64(h->value, &v->seq))
		v->has_seq = true;
	/* Scan the text, not m->hdr: a LIST reply has more lines than it keeps. */
	for (const char *l = buf, *end = buf + m->signed_len; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		size_t ln = nl ? (size_t)(nl - l) : (size_t)(end - l);
		struct dtcp_span val;
		if (ln > 13 && !strncasecmp(l, "CRITERIA-NUM:", 13)) {
			val = (struct dtcp_span){ l + 13, ln - 13 };
			while (val.n && val.p[0] == ' ')
				val.p++, val.n--;
			while (val.n && (val.p[val.n - 1] == '\r' || val.p[val.n - 1] == ' '))
				val.n--;
			has_num = !span_u64(val, &num);
		} else if (ln > 15 && !strncasecmp(l, "CRITERIA-COUNT:", 15)) {
			val = (struct dtcp_span){ l + 15, ln - 15 };
			while (val.n && val.p[0] == ' ')
				val.p++, val.n--;
			while (val.n && (val.p[val.n - 1] == '\r' || val.p[val.n - 1] == ' '))
				val.n--;
			span_u64(val, &count);
		}
		l = nl ? nl + 1 : end;
	}
	v->last = !has_num || num >= count;
	v->signature_ok = m->has_auth && dtcp_hmac_verify(key, keylen, buf, m->signed_len, m->auth.p, m->auth.n);
	return 0;
}
