/* SPDX-License-Identifier: BSD-2-Clause */
/* A bounded queue of datagrams in front of a non-blocking SOCK_SEQPACKET
 * socket: what the peer has not taken yet waits here, so the sender never
 * blocks on it (xtapd's monitor writing to its SSH worker, docs/privsep.md).
 * The queue says how old its oldest datagram is: a peer that stops reading
 * shows as a datagram waiting past a deadline. */
#ifndef XTAP_SENDQ_H
#define XTAP_SENDQ_H

#include <stddef.h>
#include <stdint.h>

struct xtap_sendq_item;

struct xtap_sendq {
	struct xtap_sendq_item *head, **tail;
	size_t bytes, n;
	size_t max_bytes; /* queued bytes beyond which a send is refused */
	uint64_t head_since_ms; /* when the queue last moved */
};

void xtap_sendq_init(struct xtap_sendq *q, size_t max_bytes);
/* Sends buf now if nothing waits before it and the socket takes it, else
 * queues a copy. Returns 0; -1 with errno: ENOBUFS (the queue is full or no
 * memory: nothing queued), or the socket's error (EPIPE, ECONNRESET...). */
int xtap_sendq_send(struct xtap_sendq *q, int fd, const void *buf, size_t n, uint64_t now_ms);
/* Sends what the socket takes now, oldest first. 0, or -1 with the
 * socket's errno (EAGAIN is not an error). */
int xtap_sendq_flush(struct xtap_sendq *q, int fd, uint64_t now_ms);
/* ms since the queue last moved (its head was queued, or the datagram
 * before it left); 0 when empty. A slow reader that keeps taking datagrams
 * is not stalled, one that takes none is. */
uint64_t xtap_sendq_age(const struct xtap_sendq *q, uint64_t now_ms);
/* Drops (and wipes) everything queued. */
void xtap_sendq_clear(struct xtap_sendq *q);

#endif
