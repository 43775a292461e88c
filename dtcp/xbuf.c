// SPDX-License-Identifier: BSD-2-Clause
/* The bounded append buffer (xbuf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "xbuf.h"

/* the first heap allocation: one xtapctl answer or state block fits most often */
#define XBUF_HEAP_FIRST 4096

char *xbuf_grow(struct xbuf *b, size_t k)
{
	size_t need, cap;
	char *p;

	if (b->full)
		return NULL;
	/* the text, k more bytes and the NUL; a fixed buffer cannot grow */
	if (!b->max || k > b->max || b->n + 1 > b->max - k) {
		b->full = true;
		return NULL;
	}
	need = b->n + k + 1;
	if (need <= b->cap)
		return b->p + b->n;
	cap = b->cap ? b->cap : XBUF_HEAP_FIRST;
	while (cap < need && cap <= b->max / 2)
		cap *= 2;
	if (cap < need || cap > b->max)
		cap = b->max; /* need <= max: checked above */
	if (!(p = realloc(b->p, cap))) {
		b->full = true;
		return NULL;
	}
	b->p = p;
	b->cap = cap;
	return b->p + b->n;
}

void xbuf_u64(struct xbuf *b, uint64_t v)
{
	char t[20], *q = t + sizeof(t); /* 20 digits: UINT64_MAX */

	do
		*--q = (char)('0' + v % 10);
	while ((v /= 10));
	xbuf_mem(b, q, (size_t)(t + sizeof(t) - q));
}

void xbuf_printf(struct xbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->full)
		return;
	va_start(ap, fmt);
	k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
	va_end(ap);
	if (k < 0) {
		b->full = true;
		return;
	}
	if ((size_t)k < b->cap - b->n) {
		b->n += (size_t)k;
		return;
	}
	/* did not fit: grow (a heap buffer) and format again */
	if (!xbuf_grow(b, (size_t)k))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	b->n += (size_t)k;
}

void xbuf_reset(struct xbuf *b)
{
	b->n = 0;
	b->full = false;
	if (b->p && b->cap)
		b->p[0] = 0;
}

void xbuf_free(struct xbuf *b)
{
	if (b->max) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
	xbuf_reset(b);
}
