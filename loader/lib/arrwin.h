/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the loader's array-backed indexes share: a BPF array mapped into
 * the loader a window at a time (the prefix index, prefix_dir.c), and a
 * pool of the array's value numbers whose freed numbers are reused only
 * after a grace period (it and the exact index, exact_dir.c).
 */
#ifndef XTAP_ARRWIN_H
#define XTAP_ARRWIN_H

#include <stddef.h>
#include <stdint.h>

/* One array's shared mapping, a window at a time (arrwin_map). */
struct arrwin {
	uint8_t *base; /* the whole array's address range */
	size_t len, nwin;
	uint32_t vsize, max; /* value size, values */
	int fd;
	uint8_t *mapped; /* per window: 1 once mapped */
};

/* Window size in bytes: a multiple of the page and of each value size. */
#define ARRWIN_BYTES (1u << 20)

/* fd: an mmapable BPF array of values of vsize bytes. Nothing is mapped
 * yet; a->fd is -1 until it succeeds, and arrwin_close undoes either. */
int arrwin_open(struct arrwin *a, int fd, uint32_t vsize);
/* The window holding value id mapped (over its part of the range). */
int arrwin_map(struct arrwin *a, uint32_t id);
void arrwin_close(struct arrwin *a);

static inline void *arrwin_at(const struct arrwin *a, uint32_t id)
{
	return a->base + (size_t)id * a->vsize;
}

/* Numbers first .. max - 1 of one array: ready (reusable now), pending
 * (freed since the last grace period), never used (from next up). */
struct idpool {
	uint32_t first, max, next, used;
	uint32_t *ready, nready;
	uint32_t *pending, npending;
};

int idpool_init(struct idpool *p, uint32_t first, uint32_t max);
void idpool_free(struct idpool *p);
/* The number idpool_take will hand out, without taking it: when the pool is
 * dry but numbers wait for a grace period, sync(arg) is called first (it
 * waits for one and calls idpool_synced). -ENOSPC: none left. */
int idpool_peek(struct idpool *p, int (*sync)(void *), void *arg, uint32_t *id);
/* Take the number idpool_peek named. */
void idpool_take(struct idpool *p);
/* A number never published: reusable at once. */
void idpool_put_now(struct idpool *p, uint32_t id);
/* A number a published value named until now: reusable after a grace period. */
void idpool_put_pending(struct idpool *p, uint32_t id);
/* A grace period has passed since every pending number was unlinked. */
void idpool_synced(struct idpool *p);

#endif
