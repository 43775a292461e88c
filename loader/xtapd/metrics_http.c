// SPDX-License-Identifier: BSD-2-Clause
/*
 * The metrics listener (set services flow-tap metrics ...): a process of its
 * own, forked by the monitor, that binds the TCP port, drops to the SSH
 * worker's user with no capabilities, and serves `GET /metrics` over
 * HTTP/1.x. It holds no map, program, state or audit descriptor: for each
 * scrape it asks the monitor over a socket pair (one byte) and the monitor
 * answers with the text of `xtapctl metrics` (a 4-byte length, then the
 * text), so the network never reaches the monitor.
 *
 * One connection at a time, each bounded in time and size: a scraper is one
 * client every few seconds, and a slow or hostile one holds the listener at
 * most HTTP_TIMEOUT_MS.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "log.h"
#include "metrics_http.h"
#include "privdrop.h"

#define HTTP_REQ_MAX 4096 /* request line and headers; a scraper sends ~200 bytes */
#define HTTP_TIMEOUT_MS 5000 /* per connection: read the request, write the answer */
#define MON_TIMEOUT_MS 5000 /* the monitor's answer */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int xtap_http_request(const char *buf, size_t n, bool *head)
{
	const char *end = NULL, *sp1, *sp2, *eol;

	for (size_t i = 0; i + 1 < n && !end; i++)
		if (buf[i] == '\n' && (buf[i + 1] == '\n' || (buf[i + 1] == '\r' && i + 2 < n && buf[i + 2] == '\n')))
			end = buf + i;
	if (!end)
		return n >= HTTP_REQ_MAX ? 431 : 0;
	eol = memchr(buf, '\n', n);
	sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	if (!sp1)
		return 400;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || eol - sp2 < 9 || strncmp(sp2 + 1, "HTTP/1.", 7))
		return 400;
	*head = sp1 - buf == 4 && !strncmp(buf, "HEAD", 4);
	if (!*head && !(sp1 - buf == 3 && !strncmp(buf, "GET", 3)))
		return 405;
	size_t tl = (size_t)(sp2 - sp1 - 1);
	const char *t = sp1 + 1;

	if ((tl == 8 && !strncmp(t, "/metrics", 8)) || (tl > 8 && !strncmp(t, "/metrics?", 9)))
		return 200;
	return 404;
}

/* Waits for fd (POLLIN or POLLOUT) until deadline; 0 ready, -1 not. */
static int wait_fd(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t t = now_ms();
		struct pollfd p = { .fd = fd, .events = ev };
		int k;

		if (t >= deadline)
			return -1;
		k = poll(&p, 1, (int)(deadline - t));
		if (k > 0)
			return (p.revents & (ev | POLLHUP)) ? 0 : -1;
		if (k < 0 && errno != EINTR)
			return -1;
	}
}

/* Sends (out) or receives all n bytes of buf by the deadline. */
static int xfer_all(int fd, void *buf, size_t n, bool out, uint64_t deadline)
{
	char *p = buf;

	while (n) {
		ssize_t k;

		if (wait_fd(fd, out ? POLLOUT : POLLIN, deadline))
			return -1;
		k = out ? send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT) : recv(fd, p, n, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int write_all(int fd, const void *p, size_t n, uint64_t deadline)
{
	return xfer_all(fd, (void *)p, n, true, deadline); /* sending only reads it */
}

static int read_all(int fd, void *buf, size_t n, uint64_t deadline)
{
	return xfer_all(fd, buf, n, false, deadline);
}

/* The monitor's metrics text: malloc'd, *n its length; NULL when it has none. */
static char *ask_monitor(int monfd, size_t *n)
{
	uint64_t deadline = now_ms() + MON_TIMEOUT_MS;
	uint32_t len;
	char *body;

	if (write_all(monfd, "M", 1, deadline) || read_all(monfd, &len, sizeof(len), deadline))
		return NULL;
	if (len == XTAP_METRICS_NONE || len > XTAP_METRICS_MAX)
		return NULL;
	body = malloc(len ? len : 1);
	if (!body || read_all(monfd, body, len, deadline)) {
		free(body);
		return NULL;
	}
	*n = len;
	return body;
}

static void answer(int c, int code, bool head, const char *body, size_t n, uint64_t deadline)
{
	static const struct {
		int code;
		const char *text;
	} reason[] = { { 200, "OK" },
		       { 400, "Bad Request" },
		       { 404, "Not Found" },
		       { 405, "Method Not Allowed" },
		       { 431, "Request Header Fields Too Large" },
		       { 503, "Service Unavailable" } };
	const char *why = "Error", *type = code == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain";
	char hdr[256], msg[64];
	int k;

	for (size_t i = 0; i < sizeof(reason) / sizeof(reason[0]); i++)
		if (reason[i].code == code)
			why = reason[i].text;
	if (code != 200) {
		snprintf(msg, sizeof(msg), "%d %s\n", code, why);
		body = msg;
		n = strlen(msg);
	}
	k = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n", code,
		     why, type, n, code == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (write_all(c, hdr, (size_t)k, deadline) == 0 && !head)
		write_all(c, body, n, deadline);
}

static void serve_conn(int c, int monfd)
{
	uint64_t deadline = now_ms() + HTTP_TIMEOUT_MS;
	char req[HTTP_REQ_MAX];
	size_t n = 0;
	bool head = false;
	int code = 0;

	while (!code) {
		ssize_t k;

		if (wait_fd(c, POLLIN, deadline))
			return;
		k = recv(c, req + n, sizeof(req) - n, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0)
			return;
		n += (size_t)k;
		code = xtap_http_request(req, n, &head);
	}
	if (code == 200) {
		size_t len = 0;
		char *body = ask_monitor(monfd, &len);

		answer(c, body ? 200 : 503, head, body, len, deadline);
		free(body);
		return;
	}
	answer(c, code, head, NULL, 0, deadline);
}

/* Closing with unread bytes (a request past HTTP_REQ_MAX) makes the kernel
 * reset the connection, and the client may lose the answer: end the
 * sending side, then read what is left for a little while. */
static void linger_close(int c)
{
	uint64_t deadline = now_ms() + 1000;
	char junk[4096];
	size_t total = 0;

	shutdown(c, SHUT_WR);
	while (total < (64u << 10) && !wait_fd(c, POLLIN, deadline)) {
		ssize_t k = recv(c, junk, sizeof(junk), MSG_DONTWAIT);

		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0)
			break;
		total += (size_t)k;
	}
	close(c);
}

static int serve(int lfd, int monfd)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = monfd, .events = POLLIN } };
		int c;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return 1;
		}
		/* the monitor never writes first: readable means it closed */
		if (p[1].revents)
			return 0;
		if (!(p[0].revents & POLLIN))
			continue;
		c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			continue;
		serve_conn(c, monfd);
		linger_close(c);
	}
}

pid_t xtap_metrics_start(const struct sockaddr *addr, socklen_t alen, const char *user, int *monfd)
{
	int sv[2], lfd, one = 1;
	pid_t pid;

	/* bound here, by root, so a port below 1024 works and a busy port is
	 * an error at start, not a silent child */
	lfd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->sa_family == AF_INET6)
		setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(lfd, addr, alen) || listen(lfd, 16)) {
		close(lfd);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		close(lfd);
		return -1;
	}
	{
		int sz = 2 * XTAP_METRICS_MAX;

		/* past net.core.wmem_max with CAP_NET_ADMIN (the monitor has it) */
		if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
			setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(lfd);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		int lo = lfd < sv[1] ? lfd : sv[1], hi = lfd < sv[1] ? sv[1] : lfd;

		/* only the listening socket and its end of the pair */
		close(sv[0]);
		if ((lo > 3 && close_range(3, (unsigned)lo - 1, 0)) ||
		    (hi > lo + 1 && close_range((unsigned)lo + 1, (unsigned)hi - 1, 0)) ||
		    close_range((unsigned)hi + 1, ~0u, 0))
			_exit(1);
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the monitor */
		log_init("xtapd-metrics", log_get_level());
		if (xtap_drop_privileges("metrics", user))
			_exit(1);
		log_info("metrics: serving HTTP as %s", user);
		_exit(serve(lfd, sv[1]));
	}
	close(lfd);
	close(sv[1]);
	*monfd = sv[0];
	return pid;
}

int xtap_metrics_send(int monfd, const char *body, size_t n)
{
	uint32_t len = body ? (uint32_t)n : XTAP_METRICS_NONE;
	char hdr[sizeof(len)];

	if (body && n > XTAP_METRICS_MAX)
		len = XTAP_METRICS_NONE;
	memcpy(hdr, &len, sizeof(len));
	/* the listener is waiting for this answer; a full socket means it does
	 * not read: the monitor never blocks on it */
	if (send(monfd, hdr, sizeof(hdr), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(hdr))
		return -1;
	if (len == XTAP_METRICS_NONE)
		return 0;
	return send(monfd, body, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n ? 0 : -1;
}
