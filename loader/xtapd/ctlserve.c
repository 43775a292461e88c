// SPDX-License-Identifier: BSD-2-Clause
/* xtapctl's socket and the metrics listener, served by the monitor
 * (ctlserve.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "audit.h"
#include "clock.h"
#include "ctlserve.h"
#include "daemon.h"
#include "log.h"
#include "metrics_http.h"

#define CTL_BACKLOG 8
/* a client that neither finishes its request nor reads its answer in this
 * time is dropped, so it cannot hold a slot */
#define CTL_DEADLINE_MS 5000
/* scrapes come every few seconds: a text younger than this is sent again */
#define METRICS_MIN_MS 100

void xtap_ctlsrv_init(struct xtap_ctlsrv *cs, const char *path)
{
	cs->path = path;
	cs->fd = -1;
	cs->metrics_fd = -1;
	for (int i = 0; i < XTAP_CTLSRV_CONNS; i++)
		cs->c[i].fd = -1;
}

/* The socket is root's alone: its folder is 0700 and it is 0600, and each
 * peer's uid is checked too (a non-root process with CAP_DAC_OVERRIDE could
 * still connect). A live socket at the path means another xtapd: -2. */
static int ctl_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, probe, rc;

	if (strlen(path) >= sizeof(a.sun_path)) {
		log_warnx("control socket path too long: %s", path);
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (mkparent(path)) {
		log_warn("cannot create the folder of %s", path);
		return -1;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -1;
	rc = connect(probe, (struct sockaddr *)&a, sizeof(a));
	close(probe);
	if (!rc) {
		log_warnx("%s answers: another xtapd is running", path);
		return -2;
	}
	if (unlink(path) && errno != ENOENT) {
		log_warn("cannot remove the stale %s", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	old = umask(0177); /* no window in which the socket is more open than 0600 */
	rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc || chown(path, 0, 0) || chmod(path, 0600) || listen(fd, CTL_BACKLOG)) {
		log_warn("control socket %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

int xtap_ctlsrv_listen(struct xtap_ctlsrv *cs)
{
	int fd = ctl_listen(cs->path);

	if (fd < 0)
		return fd;
	cs->fd = fd;
	return 0;
}

static void ctl_drop(struct xtap_ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	xbuf_free(&c->tx);
	c->fd = -1;
	c->nrx = c->off = 0;
}

static void ctl_accept(struct xtap_ctlsrv *cs)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct xtap_ctl_conn *c = NULL;
	char why[64];
	int fd = accept4(cs->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || len != sizeof(cred)) {
		log_warn("xtapctl: cannot identify a peer");
		close(fd);
		return;
	}
	if (cred.uid != 0) {
		snprintf(why, sizeof(why), "xtapctl: uid %u refused", (unsigned)cred.uid);
		log_warnx("%s", why);
		xtap_audit_event(*cs->audit, wall_ms(), XTAP_EV_CONNECTION_REFUSED, why);
		close(fd);
		return;
	}
	for (int i = 0; i < XTAP_CTLSRV_CONNS && !c; i++)
		if (cs->c[i].fd < 0)
			c = &cs->c[i];
	if (!c) {
		log_warnx("xtapctl: %d requests already in progress, one refused", XTAP_CTLSRV_CONNS);
		close(fd);
		return;
	}
	c->fd = fd;
	c->deadline_ms = wall_ms() + CTL_DEADLINE_MS;
}

/* Reads what has come of the request. Returns 1 for a detach request (the
 * connection stays open for the answer after the teardown), else 0. */
static int ctl_read(struct xtap_ctlsrv *cs, struct xtap_ctl_conn *c)
{
	ssize_t k = read(c->fd, c->rx + c->nrx, sizeof(c->rx) - c->nrx);
	struct xtap_ctl_ctx x = cs->ctx(cs->owner);
	char *nl;

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (k <= 0) {
		ctl_drop(c);
		return 0;
	}
	c->nrx += (size_t)k;
	nl = memchr(c->rx, '\n', c->nrx);
	if (!nl) {
		/* bounded: a line longer than any request is no request */
		if (c->nrx == sizeof(c->rx))
			ctl_drop(c);
		return 0;
	}
	if (xtap_ctl_handle(&x, c->rx, (size_t)(nl - c->rx), &c->tx) == XTAP_CTL_DETACH) {
		c->nrx = (size_t)(nl - c->rx);
		return 1;
	}
	shutdown(c->fd, SHUT_RD);
	return 0;
}

/* Writes as much of the answer as the socket takes now; the rest waits for
 * POLLOUT, so a big answer never holds up the worker's messages. */
static void ctl_write(struct xtap_ctl_conn *c)
{
	ssize_t k = send(c->fd, c->tx.p + c->off, c->tx.n - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k < 0) {
		ctl_drop(c);
		return;
	}
	c->off += (size_t)k;
	if (c->off == c->tx.n)
		ctl_drop(c);
}

void xtap_ctlsrv_poll_set(const struct xtap_ctlsrv *cs, struct pollfd *p)
{
	p[0] = (struct pollfd){ .fd = cs->fd, .events = POLLIN };
	for (int i = 0; i < XTAP_CTLSRV_CONNS; i++) {
		p[1 + i].fd = cs->c[i].fd; /* -1: poll skips it */
		p[1 + i].events = cs->c[i].tx.n ? POLLOUT : POLLIN;
	}
}

int xtap_ctlsrv_serve(struct xtap_ctlsrv *cs, const struct pollfd *p, int ready)
{
	int detach = -1;

	if (ready && (p[0].revents & POLLIN))
		ctl_accept(cs);
	for (int i = 0; i < XTAP_CTLSRV_CONNS && ready; i++) {
		struct xtap_ctl_conn *c = &cs->c[i];

		/* the connection in this slot may be newer than the poll */
		if (c->fd < 0 || p[1 + i].fd != c->fd)
			continue;
		if (!c->tx.n && (p[1 + i].revents & (POLLIN | POLLHUP | POLLERR)) && ctl_read(cs, c))
			detach = i;
		else if (c->tx.n && (p[1 + i].revents & (POLLOUT | POLLHUP | POLLERR)))
			ctl_write(c);
	}
	for (int i = 0; i < XTAP_CTLSRV_CONNS; i++)
		if (cs->c[i].fd >= 0 && i != detach && wall_ms() > cs->c[i].deadline_ms)
			ctl_drop(&cs->c[i]);
	return detach;
}

void xtap_ctlsrv_close(struct xtap_ctlsrv *cs, int detach, int err)
{
	if (detach >= 0) {
		struct xtap_ctl_conn *c = &cs->c[detach];

		/* a few bytes into an empty socket buffer: one send does it */
		xtap_ctl_detached(c->rx, c->nrx, err, &c->tx);
		if (c->tx.full || send(c->fd, c->tx.p, c->tx.n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)c->tx.n)
			log_warnx("xtapctl: cannot answer the detach request");
	}
	for (int i = 0; i < XTAP_CTLSRV_CONNS; i++)
		ctl_drop(&cs->c[i]);
	if (cs->fd >= 0) {
		close(cs->fd);
		cs->fd = -1;
		if (unlink(cs->path))
			log_warn("cannot remove %s", cs->path);
	}
}

/* ---- the metrics listener (loader/xtapd/metrics_http.c) ---- */

void xtap_ctlsrv_metrics_stop(struct xtap_ctlsrv *cs)
{
	xbuf_free(&cs->metrics_text);
	if (cs->metrics_fd >= 0)
		close(cs->metrics_fd);
	cs->metrics_fd = -1;
	if (cs->metrics_pid > 0) {
		kill(cs->metrics_pid, SIGTERM);
		waitpid(cs->metrics_pid, NULL, 0);
	}
	cs->metrics_pid = 0;
}

int xtap_ctlsrv_metrics_start(struct xtap_ctlsrv *cs, const struct xtap_config *cfg, const char *user)
{
	struct sockaddr_storage ss = { 0 };
	const struct dtcp_addr *a = &cfg->metrics_addr;
	socklen_t len;

	if (a->family == DTCP_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(cfg->metrics_port);
		memcpy(&s6->sin6_addr, a->a, 16);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(cfg->metrics_port);
		memcpy(&s4->sin_addr, a->a, 4);
		len = sizeof(*s4);
	}
	cs->metrics_pid = xtap_metrics_start((struct sockaddr *)&ss, len, user, &cs->metrics_fd);
	if (cs->metrics_pid < 0) {
		log_warn("metrics: cannot listen on port %u", cfg->metrics_port);
		cs->metrics_pid = 0;
		return -1;
	}
	return 0;
}

/* One scrape: the listener sent a byte, it gets `xtapctl metrics`'s text.
 * The text is built at most once per METRICS_MIN_MS and sent again within
 * it: a listener that asks without end (compromised) costs the monitor a
 * copy, not a walk of the criteria. */
void xtap_ctlsrv_metrics_serve(struct xtap_ctlsrv *cs)
{
	struct xtap_ctl_ctx x = cs->ctx(cs->owner);
	struct xbuf *out = &cs->metrics_text;
	char b;
	ssize_t k = recv(cs->metrics_fd, &b, 1, MSG_DONTWAIT);

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k <= 0) {
		log_warnx("metrics: the listener closed its socket: no metrics over HTTP until a restart");
		xtap_ctlsrv_metrics_stop(cs);
		return;
	}
	if (!out->p || x.now_ms - cs->metrics_last_ms >= METRICS_MIN_MS) {
		xbuf_free(out);
		xtap_ctl_handle(&x, "metrics", 7, out);
		cs->metrics_last_ms = x.now_ms;
	}
	/* the answer is "OK\n" then the text, or "ERROR: ..." */
	if (out->n >= 3 && !memcmp(out->p, "OK\n", 3))
		k = xtap_metrics_send(cs->metrics_fd, out->p + 3, out->n - 3);
	else
		k = xtap_metrics_send(cs->metrics_fd, NULL, 0);
	if (k) {
		log_warnx("metrics: the listener does not read its answers: stopped");
		xtap_ctlsrv_metrics_stop(cs);
	}
}

/* SIGCHLD: reaps the metrics listener if it is the one that exited (xtapd
 * goes on without it); the worker's exits are the supervisor's. */
void xtap_ctlsrv_metrics_reap(struct xtap_ctlsrv *cs)
{
	if (cs->metrics_pid <= 0 || waitpid(cs->metrics_pid, NULL, WNOHANG) != cs->metrics_pid)
		return;
	cs->metrics_pid = 0;
	log_warnx("metrics: the listener exited: no metrics over HTTP until a restart");
	xtap_ctlsrv_metrics_stop(cs);
}
