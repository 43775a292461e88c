/* SPDX-License-Identifier: BSD-2-Clause */
/* The flow-tap-dtcp subsystem for the end-to-end test: sshd runs it with the
 * channel on stdin/stdout. The library with the in-memory backend; each
 * reply is one write(2), as the daemon will do with one channel write. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dtcp.h"
#include "memback.h"

static void emit(void *arg, const char *buf, size_t n)
{
	(void)arg;
	while (n) {
		ssize_t k = write(STDOUT_FILENO, buf, n);
		if (k <= 0) {
			perror("write");
			exit(1);
		}
		buf += k;
		n -= (size_t)k;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(void)
{
	static struct memback mb;
	struct dtcp_server srv;
	struct dtcp_session ss;
	struct passwd *pw = getpwuid(geteuid());
	char peer[48] = "", buf[4096];
	const char *conn = getenv("SSH_CONNECTION");

	if (!pw) {
		fprintf(stderr, "test_server: no user name\n");
		return 1;
	}
	/* SSH_CONNECTION is "client-ip client-port server-ip server-port". */
	if (conn)
		snprintf(peer, sizeof(peer), "%.*s", (int)strcspn(conn, " "), conn);
	memback_init(&mb, stderr);
	dtcp_server_init(&srv, &mb.cfg, &mb.be, &mb);
	if (dtcp_session_init(&ss, &srv, pw->pw_name, peer)) {
		fprintf(stderr, "test_server: session init failed\n");
		return 1;
	}
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n <= 0)
			break;
		if (dtcp_session_feed(&ss, buf, (size_t)n, now_ms(), emit, NULL) == DTCP_SESSION_CLOSE)
			break;
	}
	dtcp_session_free(&ss);
	dtcp_server_free(&srv);
	return 0;
}
