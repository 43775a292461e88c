// SPDX-License-Identifier: BSD-2-Clause
/* Windows onto BPF arrays and pools of their value numbers (arrwin.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "arrwin.h"

/* The arrays are mapped into the loader a window at a time, where a value
 * in use lies: mmap of a BPF array maps every page of the range at once
 * (remap_vmalloc_range), and each page mapped counts in the process's RSS,
 * so one mapping of preallocated arrays (hundreds of MiB at 1M criteria)
 * would make xtapd that large with no criterion. Windows are mapped on
 * demand, never unmapped: what the loader holds is the most the arrays have
 * held since its start. */
int arrwin_open(struct arrwin *a, int fd, uint32_t vsize)
{
	struct bpf_map_info info = { 0 };
	uint32_t l = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &l))
		return -errno;
	if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != vsize || !(info.map_flags & BPF_F_MMAPABLE) ||
	    !info.max_entries || info.max_entries > (1u << 30) || ARRWIN_BYTES % page || ARRWIN_BYTES % vsize)
		return -EINVAL;
	a->max = info.max_entries;
	a->vsize = vsize;
	a->len = ((size_t)vsize * info.max_entries + page - 1) / page * page;
	a->nwin = (a->len + ARRWIN_BYTES - 1) / ARRWIN_BYTES;
	if (!(a->mapped = calloc(a->nwin, 1)))
		return -ENOMEM;
	/* the address range, reserved and inaccessible: no page, no RSS */
	p = mmap(NULL, a->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	a->base = p;
	/* our own descriptor: windows are mapped for as long as a lives */
	if ((a->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -errno;
	return 0;
}

int arrwin_map(struct arrwin *a, uint32_t id)
{
	size_t w = (size_t)id * a->vsize / ARRWIN_BYTES, off = w * ARRWIN_BYTES, n;

	if (w >= a->nwin)
		return -EINVAL;
	if (a->mapped[w])
		return 0;
	n = a->len - off < ARRWIN_BYTES ? a->len - off : ARRWIN_BYTES;
	if (mmap(a->base + off, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, a->fd, (off_t)off) == MAP_FAILED)
		return -errno;
	a->mapped[w] = 1;
	return 0;
}

void arrwin_close(struct arrwin *a)
{
	if (a->base)
		munmap(a->base, a->len);
	if (a->fd >= 0)
		close(a->fd);
	free(a->mapped);
	memset(a, 0, sizeof(*a));
	a->fd = -1;
}

int idpool_init(struct idpool *p, uint32_t first, uint32_t max)
{
	memset(p, 0, sizeof(*p));
	p->first = p->next = first;
	p->max = max;
	p->ready = malloc((size_t)max * sizeof(uint32_t));
	p->pending = malloc((size_t)max * sizeof(uint32_t));
	return p->ready && p->pending && first <= max ? 0 : -ENOMEM;
}

void idpool_free(struct idpool *p)
{
	free(p->ready);
	free(p->pending);
	p->ready = p->pending = NULL;
}

int idpool_peek(struct idpool *p, int (*sync)(void *), void *arg, uint32_t *id)
{
	int err;

	if (!p->nready && p->next >= p->max && p->npending && (err = sync(arg)))
		return err;
	if (p->nready)
		*id = p->ready[p->nready - 1];
	else if (p->next < p->max)
		*id = p->next;
	else
		return -ENOSPC;
	return 0;
}

void idpool_take(struct idpool *p)
{
	if (p->nready)
		p->nready--;
	else
		p->next++;
	p->used++;
}

void idpool_put_now(struct idpool *p, uint32_t id)
{
	p->ready[p->nready++] = id;
	p->used--;
}

void idpool_put_pending(struct idpool *p, uint32_t id)
{
	p->pending[p->npending++] = id;
	p->used--;
}

void idpool_synced(struct idpool *p)
{
	memcpy(p->ready + p->nready, p->pending, p->npending * sizeof(uint32_t));
	p->nready += p->npending;
	p->npending = 0;
}
