// SPDX-License-Identifier: BSD-2-Clause
/*
 * xtapctl: ask a running xtapd over its local socket (docs/xtapctl.md).
 *
 * usage: xtapctl [-S SOCKET] [--json] [--reveal] COMMAND...
 *
 * Sends one request line, prints the answer: the body on stdout, an error
 * on stderr (and, with --json, the error object on stdout too). Exit 0 when
 * xtapd answered OK, 1 otherwise, 2 for a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"

/* An answer may take a while (a detach waits for the teardown) but never
 * this long: a hung daemon must not hang the operator's shell. */
#define ANSWER_TIMEOUT_S 30

static void usage(void)
{
	fprintf(stderr,
		"usage: xtapctl [-S SOCKET] [--json] [--reveal] COMMAND...\n"
		"commands: status\n"
		"          show filter\n"
		"          show filter index N [counters]\n"
		"          show counters\n"
		"          show cdests\n"
		"          metrics           (Prometheus text format)\n"
		"          detach\n");
	exit(2);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "reveal", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = ANSWER_TIMEOUT_S };
	const char *path = XTAP_CTL_SOCKET;
	char req[XTAP_CTL_REQ_MAX], *ans = NULL, *body;
	size_t n = 0, cap = 0;
	int json = 0, reveal = 0, opt, fd, ok;

	/* "+": stop at the first command word ("show filter index 1 counters") */
	while ((opt = getopt_long(argc, argv, "+S:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'S': path = optarg; break;
		case 'j': json = 1; break;
		case 'r': reveal = 1; break;
		default: usage();
		}
	}
	if (optind == argc)
		usage();
	n = (size_t)snprintf(req, sizeof(req), "%s%s", json ? "--json " : "", reveal ? "--reveal " : "");
	for (int i = optind; i < argc; i++) {
		/* one line of words: a word cannot carry a blank or a line end */
		if (argv[i][strcspn(argv[i], " \t\r\n")] || !argv[i][0])
			usage();
		n += (size_t)snprintf(req + n, n < sizeof(req) ? sizeof(req) - n : 0, "%s%s", argv[i],
				      i + 1 < argc ? " " : "\n");
		if (n >= sizeof(req)) {
			fprintf(stderr, "xtapctl: request too long\n");
			return 2;
		}
	}
	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "xtapctl: socket path too long\n");
		return 1;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "xtapctl: %s: %s%s\n", path, strerror(errno),
			errno == EACCES ? " (xtapctl is for root)" : "");
		return 1;
	}
	/* a refused peer may find the socket closed before its request is out */
	signal(SIGPIPE, SIG_IGN);
	if (write_all(fd, req, n)) {
		fprintf(stderr, "xtapctl: cannot send the request: %s%s\n", strerror(errno),
			errno == EPIPE || errno == ECONNRESET ? " (refused: xtapctl is for root)" : "");
		return 1;
	}
	for (n = 0;;) {
		ssize_t k;

		/* the daemon bounds its answers (XTAP_CTL_ANSWER_MAX) */
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 65536;
			if (cap > XTAP_CTL_ANSWER_MAX + 4096 || !(ans = realloc(ans, cap))) {
				fprintf(stderr, "xtapctl: answer too large\n");
				return 1;
			}
		}
		k = read(fd, ans + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		/* xtapd closes a peer that is not root without a word; the
		 * request it did not read turns the close into a reset */
		if (k == 0 || (k < 0 && errno == ECONNRESET && !n))
			break;
		if (k < 0) {
			fprintf(stderr, "xtapctl: no answer: %s\n", strerror(errno));
			return 1;
		}
		n += (size_t)k;
	}
	close(fd);
	if (!ans || !n) {
		fprintf(stderr, "xtapctl: connection closed without an answer (refused: xtapctl is for root)\n");
		return 1;
	}
	ans[n] = 0;
	body = strchr(ans, '\n');
	if (!body) {
		fprintf(stderr, "xtapctl: malformed answer\n");
		return 1;
	}
	*body++ = 0;
	ok = !strcmp(ans, "OK");
	if (!ok)
		fprintf(stderr, "xtapctl: %s\n", strncmp(ans, "ERROR: ", 7) ? ans : ans + 7);
	if ((ok || json) && fwrite(body, 1, strlen(body), stdout) != strlen(body))
		return 1;
	free(ans);
	return ok && !fflush(stdout) ? 0 : 1;
}
