// SPDX-License-Identifier: BSD-2-Clause
/* Bounded non-blocking datagram queue (sendq.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sendq.h"

struct xtap_sendq_item {
	struct xtap_sendq_item *next;
	size_t len;
	uint8_t data[];
};

void xtap_sendq_init(struct xtap_sendq *q, size_t max_bytes)
{
	*q = (struct xtap_sendq){ .tail = &q->head, .max_bytes = max_bytes };
}

/* One datagram, never blocking: 1 sent, 0 the socket is full, -1 error. */
static int send_one(int fd, const void *buf, size_t n)
{
	ssize_t k;

	do
		k = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	if ((size_t)k != n) { /* SEQPACKET sends all or nothing */
		errno = EMSGSIZE;
		return -1;
	}
	return 1;
}

static void pop(struct xtap_sendq *q, uint64_t now_ms)
{
	struct xtap_sendq_item *it = q->head;

	q->head = it->next;
	if (!q->head)
		q->tail = &q->head;
	q->bytes -= it->len;
	q->n--;
	q->head_since_ms = now_ms; /* the next one heads the queue from now */
	explicit_bzero(it->data, it->len);
	free(it);
}

int xtap_sendq_send(struct xtap_sendq *q, int fd, const void *buf, size_t n, uint64_t now_ms)
{
	struct xtap_sendq_item *it;

	if (!q->head) {
		int rc = send_one(fd, buf, n);

		if (rc != 0)
			return rc > 0 ? 0 : -1;
	}
	if (q->bytes + n > q->max_bytes || !(it = malloc(sizeof(*it) + n))) {
		errno = ENOBUFS;
		return -1;
	}
	it->next = NULL;
	it->len = n;
	memcpy(it->data, buf, n);
	if (!q->head)
		q->head_since_ms = now_ms;
	*q->tail = it;
	q->tail = &it->next;
	q->bytes += n;
	q->n++;
	return 0;
}

int xtap_sendq_flush(struct xtap_sendq *q, int fd, uint64_t now_ms)
{
	while (q->head) {
		int rc = send_one(fd, q->head->data, q->head->len);

		if (rc < 0)
			return -1;
		if (rc == 0)
			return 0;
		pop(q, now_ms);
	}
	return 0;
}

uint64_t xtap_sendq_age(const struct xtap_sendq *q, uint64_t now_ms)
{
	return q->head && now_ms > q->head_since_ms ? now_ms - q->head_since_ms : 0;
}

void xtap_sendq_clear(struct xtap_sendq *q)
{
	while (q->head)
		pop(q, 0);
	q->head_since_ms = 0;
}
