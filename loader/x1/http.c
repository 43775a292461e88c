/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HTTP/1.1 subset X1 needs (TS 103 221-1 clause 7: the ADMF POSTs each
 * RequestContainer, the NE answers 200 with the ResponseContainer): one
 * request head parsed from a buffer the caller owns, and a response head
 * written. No I/O. Refused with the status an HTTP server owes: a method
 * other than POST 405, another path 404, chunked or no Content-Length 411,
 * a body over X1_BODY_MAX 413, a head over X1_HTTP_HEAD_MAX 431, not
 * HTTP/1.x 505, anything malformed 400.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "x1.h"

static bool token_eq(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && !strncasecmp(p, s, n);
}

static const char *find_crlf(const char *p, const char *end)
{
	for (; p + 1 < end; p++)
		if (p[0] == '\r' && p[1] == '\n')
			return p;
	return NULL;
}

int x1_http_parse(const char *buf, size_t n, struct x1_http_req *r)
{
	const char *end, *p, *line, *sp1, *sp2;
	bool have_len = false;

	memset(r, 0, sizeof(*r));
	r->keep_alive = true;
	/* the head ends at the first empty line */
	end = NULL;
	for (size_t i = 0; i + 3 < n && i < X1_HTTP_HEAD_MAX; i++)
		if (!memcmp(buf + i, "\r\n\r\n", 4)) {
			end = buf + i + 2;
			break;
		}
	if (!end)
		return n >= X1_HTTP_HEAD_MAX ? (r->status = 431, X1_HTTP_ERROR) : X1_HTTP_MORE;
	r->head_len = (size_t)(end - buf) + 2;

	line = buf;
	p = find_crlf(line, end);
	sp1 = memchr(line, ' ', (size_t)(p - line));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(p - sp1 - 1)) : NULL;
	if (!sp1 || !sp2) {
		r->status = 400;
		return X1_HTTP_ERROR;
	}
	if ((size_t)(p - sp2 - 1) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) || (sp2[8] != '0' && sp2[8] != '1')) {
		r->status = (size_t)(p - sp2 - 1) >= 5 && !strncmp(sp2 + 1, "HTTP/", 5) ? 505 : 400;
		return X1_HTTP_ERROR;
	}
	if (sp2[8] == '0')
		r->keep_alive = false;
	if (!token_eq(line, (size_t)(sp1 - line), "POST")) {
		r->status = 405;
		return X1_HTTP_ERROR;
	}
	/* the X1 resource; the ADMF's choice where clause 7 leaves it open, so the
	 * path is configured: "/X1/NE" is what public implementations use */
	if (!token_eq(sp1 + 1, (size_t)(sp2 - sp1 - 1), X1_HTTP_PATH) ||
	    strncmp(sp1 + 1, X1_HTTP_PATH, strlen(X1_HTTP_PATH))) {
		r->status = 404;
		return X1_HTTP_ERROR;
	}
	for (line = p + 2; line < end; line = p + 2) {
		const char *colon, *v, *ve;

		p = find_crlf(line, end + 2);
		if (!p || p == line)
			break;
		colon = memchr(line, ':', (size_t)(p - line));
		if (!colon || colon == line) {
			r->status = 400;
			return X1_HTTP_ERROR;
		}
		for (const char *c = line; c < colon; c++)
			if (*c == ' ' || *c == '\t') { /* RFC 9112 5.1: no blank before the colon */
				r->status = 400;
				return X1_HTTP_ERROR;
			}
		v = colon + 1;
		ve = p;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (token_eq(line, (size_t)(colon - line), "Content-Length")) {
			size_t len = 0;

			if (have_len || v == ve || ve - v > 7) { /* a second one could mean another body */
				r->status = ve - v > 7 ? 413 : 400;
				return X1_HTTP_ERROR;
			}
			for (const char *c = v; c < ve; c++) {
				if (*c < '0' || *c > '9') {
					r->status = 400;
					return X1_HTTP_ERROR;
				}
				len = len * 10 + (size_t)(*c - '0');
			}
			have_len = true;
			r->content_length = len;
		} else if (token_eq(line, (size_t)(colon - line), "Transfer-Encoding")) {
			r->status = 411; /* chunked bodies: xtap wants the length first */
			return X1_HTTP_ERROR;
		} else if (token_eq(line, (size_t)(colon - line), "Connection")) {
			if (token_eq(v, (size_t)(ve - v), "close"))
				r->keep_alive = false;
			else if (token_eq(v, (size_t)(ve - v), "keep-alive"))
				r->keep_alive = true;
		}
	}
	if (!have_len) {
		r->status = 411;
		return X1_HTTP_ERROR;
	}
	if (r->content_length > X1_BODY_MAX) {
		r->status = 413;
		return X1_HTTP_ERROR;
	}
	if (n - r->head_len < r->content_length)
		return X1_HTTP_MORE;
	r->status = 200;
	return X1_HTTP_REQUEST;
}

size_t x1_http_head(int status, size_t body_len, bool keep_alive, char *out, size_t cap)
{
	const char *reason = status == 200 ? "OK" :
		status == 400		   ? "Bad Request" :
		status == 404		   ? "Not Found" :
		status == 405		   ? "Method Not Allowed" :
		status == 411		   ? "Length Required" :
		status == 413		   ? "Content Too Large" :
		status == 431		   ? "Request Header Fields Too Large" :
		status == 505		   ? "HTTP Version Not Supported" :
					     "Internal Server Error";
	int n = snprintf(out, cap, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n", status,
			 reason, status == 200 ? "application/xml; charset=UTF-8" : "text/plain", body_len,
			 keep_alive ? "" : "Connection: close\r\n", status == 405 ? "Allow: POST\r\n" : "");

	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
