// SPDX-License-Identifier: BSD-2-Clause
/*
 * A sorted array with free room at both ends (front slots before its first
 * element): an insert or an erase moves only the elements on the nearer
 * side, so removing in id order (oldest first) costs O(1) each instead of a
 * move of the whole array (8 MB per DELETE at 1M criteria in the DTCP
 * server's table, 48 MB in xtapd's backend records). The caller keeps the
 * array's fields typed (first element, n, cap, front) and its own search;
 * these move the bytes. Users: dtcp/server.c, loader/lib/backend.c.
 */
#ifndef XTAP_GAPTAB_H
#define XTAP_GAPTAB_H

#include <stddef.h>

/* Opens a hole at pos (0..n) in the n elements of esz bytes from tab. cap
 * and front are the allocation's size and the free elements before tab.
 * Returns the array's new first element (the hole is at its pos), or NULL
 * with nothing changed when memory runs out. */
void *gaptab_insert(void *tab, size_t esz, size_t n, size_t *cap, size_t *front, size_t pos);
/* Closes the hole at pos (0..n-1) that the caller emptied; returns the new
 * first element. The caller then has n - 1 elements. */
void *gaptab_erase(void *tab, size_t esz, size_t n, size_t *front, size_t pos);
/* Frees the array (tab may be NULL). */
void gaptab_free(void *tab, size_t esz, size_t front);

#endif
