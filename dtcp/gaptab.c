// SPDX-License-Identifier: BSD-2-Clause
/* The sorted array with room at both ends (gaptab.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gaptab.h"

/* the first allocation, in elements */
#define GAPTAB_FIRST 64

void *gaptab_insert(void *tab, size_t esz, size_t n, size_t *cap, size_t *front, size_t pos)
{
	char *t = tab;

	if (*front + n == *cap && !*front) {
		size_t c = *cap ? 2 * *cap : GAPTAB_FIRST;

		if (c > SIZE_MAX / 2 / esz)
			return NULL;
		/* front 0: tab is the allocation */
		if (!(t = realloc(tab, c * esz)))
			return NULL;
		*cap = c;
	}
	if (*front && (*front + n == *cap || pos < n / 2)) {
		/* the front part moves one element down, into the free front */
		memmove(t - esz, t, pos * esz);
		t -= esz;
		--*front;
	} else {
		memmove(t + (pos + 1) * esz, t + pos * esz, (n - pos) * esz);
	}
	return t;
}

void *gaptab_erase(void *tab, size_t esz, size_t n, size_t *front, size_t pos)
{
	char *t = tab;

	if (pos < n / 2) { /* the nearer side moves, as gaptab_insert */
		memmove(t + esz, t, pos * esz);
		++*front;
		return t + esz;
	}
	memmove(t + pos * esz, t + (pos + 1) * esz, (n - pos - 1) * esz);
	return t;
}

void gaptab_free(void *tab, size_t esz, size_t front)
{
	if (tab) /* NULL minus 0 is still undefined (UBSan) */
		free((char *)tab - front * esz);
}
