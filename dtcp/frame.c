/* SPDX-License-Identifier: BSD-2-Clause */
/* Framing of a DTCP byte stream and splitting of one message into lines
 * (docs/dtcp.md 1 and 2). */
#include <string.h>

#include "dtcp.h"

void dtcp_framer_reset(struct dtcp_framer *f)
{
	f->scanned = 0;
}

/* Length of an empty line (LF or CRLF) at buf[i], 0 if none, -1 if the
 * buffer ends before it can be decided. */
static int empty_line_at(const char *buf, size_t n, size_t i)
{
	if (i >= n)
		return -1;
	if (buf[i] == '\n')
		return 1;
	if (buf[i] != '\r')
		return 0;
	if (i + 1 >= n)
		return -1;
	return buf[i + 1] == '\n' ? 2 : 0;
}

enum dtcp_frame_result dtcp_frame_next(struct dtcp_framer *f, const char *buf, size_t n, size_t *skip, size_t *len)
{
	size_t s = 0;
	int e;

	/* Empty lines between messages carry nothing: skip them. */
	while ((e = empty_line_at(buf, n, s)) > 0)
		s += (size_t)e;
	*skip = s;
	*len = 0;
	if (e < 0)
		return DTCP_FRAME_MORE;

	size_t i = f->scanned > s ? f->scanned : s;
	for (; i < n; i++) {
		if (buf[i] != '\n')
			continue;
		e = empty_line_at(buf, n, i + 1);
		if (e < 0)
			break;
		if (e > 0) {
			*len = i + 1 + (size_t)e - s;
			f->scanned = 0;
			return *len > DTCP_MSG_MAX ? DTCP_FRAME_OVERSIZE : DTCP_FRAME_MESSAGE;
		}
	}
	/* Resume at the undecided line end next time (at most 2 bytes back). */
	f->scanned = i < n ? i : n;
	if (n - s > DTCP_MSG_MAX)
		return DTCP_FRAME_OVERSIZE;
	return DTCP_FRAME_MORE;
}

size_t dtcp_frame_discard(const char *buf, size_t n, bool *found)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '\n')
			continue;
		int e = empty_line_at(buf, n, i + 1);
		if (e > 0) {
			*found = true;
			return i + 1 + (size_t)e;
		}
		if (e < 0) {
			/* Keep the undecided tail: the empty line may follow. */
			*found = false;
			return i;
		}
	}
	*found = false;
	return n;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* TAB is whitespace (as HTTP's OWS); every other C0 byte and DEL is refused. */
static bool has_control(struct dtcp_span s)
{
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

static struct dtcp_span trim(const char *p, size_t n)
{
	while (n && is_blank(*p))
		p++, n--;
	while (n && (is_blank(p[n - 1]) || p[n - 1] == '\r'))
		n--;
	return (struct dtcp_span){ p, n };
}

static void split_first(struct dtcp_msg *m)
{
	const char *p = m->first.p, *end = p + m->first.n;

	m->ntok = 0;
	while (m->ntok < 3) {
		while (p < end && is_blank(*p))
			p++;
		if (p == end)
			break;
		const char *t = p;
		/* The third token is the rest of the line (a reason phrase). */
		if (m->ntok == 2)
			p = end;
		while (p < end && !is_blank(*p))
			p++;
		m->tok[m->ntok++] = trim(t, (size_t)(p - t));
	}
}

static bool span_ieq(struct dtcp_span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

/* Splits "Name: value"; false if the line is not a header line. */
static bool split_header(struct dtcp_span line, struct dtcp_hdr *h)
{
	const char *colon = memchr(line.p, ':', line.n);

	if (!colon || is_blank(line.p[0]))
		return false;
	h->name = trim(line.p, (size_t)(colon - line.p));
	if (h->name.n == 0)
		return false;
	for (size_t i = 0; i < h->name.n; i++)
		if (is_blank(h->name.p[i]) || (unsigned char)h->name.p[i] < 0x21)
			return false;
	h->value = trim(colon + 1, (size_t)(line.p + line.n - colon - 1));
	h->line = line;
	return true;
}

void dtcp_msg_parse(const char *buf, size_t n, struct dtcp_msg *m)
{
	size_t off = 0;
	bool first = true;

	memset(m, 0, sizeof(*m));
	m->signed_len = n;
	while (off < n) {
		const char *nl = memchr(buf + off, '\n', n - off);
		size_t end = nl ? (size_t)(nl - buf) : n;
		size_t ln = end - off;
		if (ln && buf[end - 1] == '\r')
			ln--;
		struct dtcp_span line = { buf + off, ln };
		size_t start = off;
		struct dtcp_hdr h;
		off = nl ? end + 1 : n;
		if (first) {
			m->first = line;
			m->first_ctl = has_control(line);
			split_first(m);
			first = false;
			continue;
		}
		if (ln == 0)
			break;
		if (!split_header(line, &h)) {
			if (!m->has_bad) {
				m->has_bad = true;
				m->bad = line;
			}
			continue;
		}
		if (span_ieq(h.name, "Authentication-Info")) {
			/* The last header: the digest covers what precedes it,
			 * and what follows it up to the empty line is ignored.
			 * Found even past DTCP_MAX_HEADERS so the message can
			 * still be authenticated and answered. */
			m->signed_len = start;
			m->has_auth = true;
			m->auth = h.value;
			break;
		}
		if (!m->has_ctl && has_control(line)) {
			m->has_ctl = true;
			m->ctl = h;
		}
		if (m->nhdr == DTCP_MAX_HEADERS)
			m->too_many = true;
		else
			m->hdr[m->nhdr++] = h;
	}
}

const struct dtcp_hdr *dtcp_msg_get(const struct dtcp_msg *m, const char *name)
{
	for (int i = 0; i < m->nhdr; i++)
		if (span_ieq(m->hdr[i].name, name))
			return &m->hdr[i];
	return NULL;
}
