/* SPDX-License-Identifier: BSD-2-Clause */
/* The metrics listener: an unprivileged process serving `GET /metrics`
 * (loader/xtapd/metrics_http.c). */
#ifndef XTAP_METRICS_HTTP_H
#define XTAP_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* The largest answer the monitor sends: within the socket pair's buffer
 * (set to twice this), so that its non-blocking send never blocks. */
#define XTAP_METRICS_MAX (1u << 20)
#define XTAP_METRICS_NONE 0xffffffffu /* the length of "no metrics now" */

/* Binds addr, forks the listener, which drops to `user`; the monitor's end
 * of the socket pair in *monfd. The child's pid, or -1 (errno). */
pid_t xtap_metrics_start(const struct sockaddr *addr, socklen_t alen, const char *user, int *monfd);
/* The monitor's answer to one request byte: the text, or body NULL for none. */
int xtap_metrics_send(int monfd, const char *body, size_t n);
/* What an HTTP request asks: 0 incomplete, 200 for GET or HEAD /metrics
 * (*head set for HEAD), else the status to answer (400, 404, 405, 431). */
int xtap_http_request(const char *buf, size_t n, bool *head);

#endif
