// SPDX-License-Identifier: BSD-2-Clause
/*
 * A bounded append buffer: text built piece by piece, where the first piece
 * that does not fit ends the building (full), so that a caller checks once,
 * at the end, instead of after every piece. Either over the caller's fixed
 * storage (XBUF_FIXED) or on the heap, grown up to a maximum (XBUF_HEAP).
 * The text is NUL-terminated once anything is in it. Used by the DTCP
 * formatters, the state file writer and xtapctl's answers.
 */
#ifndef XTAP_XBUF_H
#define XTAP_XBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct xbuf {
	char *p; /* the text */
	size_t n; /* its length, without the NUL */
	size_t cap; /* bytes at p */
	size_t max; /* 0: p is the caller's, cap bytes; else heap, at most max bytes */
	bool full; /* a piece did not fit (or no memory): it and every later one dropped */
};

/* size bytes at buf, the NUL included (as snprintf's size) */
#define XBUF_FIXED(buf, size) ((struct xbuf){ .p = (buf), .cap = (size) })
/* max bytes at the most, the NUL included */
#define XBUF_HEAP(max_bytes) ((struct xbuf){ .max = (max_bytes) })

/* Slow path of xbuf_room: grows a heap buffer or marks the buffer full. */
char *xbuf_grow(struct xbuf *b, size_t k);

/* Room for k more bytes and a NUL at the end of the text, or NULL (full).
 * The caller writes at most k bytes there, then calls xbuf_advance. */
static inline char *xbuf_room(struct xbuf *b, size_t k)
{
	if (b->full)
		return NULL;
	if (k < b->cap - b->n)
		return b->p + b->n;
	return xbuf_grow(b, k);
}

/* k bytes written at xbuf_room's pointer are now part of the text. */
static inline void xbuf_advance(struct xbuf *b, size_t k)
{
	b->n += k;
	b->p[b->n] = 0;
}

/* The pieces every formatter has, without printf: the state file and the
 * canonical request text are written a field at a time, and vsnprintf per
 * field was a quarter of xtapd's time while adding. */
static inline void xbuf_mem(struct xbuf *b, const void *s, size_t k)
{
	char *d = xbuf_room(b, k);

	if (d) {
		memcpy(d, s, k);
		xbuf_advance(b, k);
	}
}

static inline void xbuf_str(struct xbuf *b, const char *s)
{
	xbuf_mem(b, s, strlen(s));
}

/* v in decimal */
void xbuf_u64(struct xbuf *b, uint64_t v);
void xbuf_printf(struct xbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties the buffer and clears full; a heap buffer keeps its memory. */
void xbuf_reset(struct xbuf *b);
/* Frees a heap buffer's memory; the buffer is empty, with the same maximum. */
void xbuf_free(struct xbuf *b);

#endif
