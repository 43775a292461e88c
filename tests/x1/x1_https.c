/* SPDX-License-Identifier: BSD-2-Clause */
/* The X1 front end (loader/x1/x1worker.c) with a monitor of its own, for
 * tests/x1/test_https.sh: the worker process drops to an unprivileged user
 * and serves HTTPS; this process holds the X1 store over the criteria table
 * DTCP uses (the in-memory datapath of the DTCP tests: its "% install" /
 * "% remove" lines go to stdout), takes only typed containers from the
 * worker (x1_wire_container_decode: a datagram that does not decode ends
 * the worker, as xtapd's monitor does), and answers with the response body.
 *
 * Usage: x1_https -p PORT -c CERT -k KEY -a CA [-u USER] [-n NE] [-t SECS] [-S]
 * (-S: no seccomp filter, to measure what the worker calls)
 * Prints "ready worker=PID" once listening. SIGTERM: stop both. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "shared.h"
#include "x1worker.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int respond(int fd, const struct x1_out *o)
{
	static uint8_t b[4 + X1MON_PART];
	size_t off = 0;

	do {
		size_t n = o->n - off > X1MON_PART ? X1MON_PART : o->n - off;
		uint32_t type = off + n == o->n ? X1MON_RESPONSE_END : X1MON_RESPONSE;

		memcpy(b, &type, 4);
		memcpy(b + 4, o->p + off, n);
		if (send(fd, b, 4 + n, 0) != (ssize_t)(4 + n))
			return -1;
		off += n;
	} while (off < o->n);
	return 0;
}

static int monitor(int fd, const char *ne)
{
	static uint8_t in[4 + X1_WIRE_CONTAINER_MAX + 1];
	static struct x1_container c;
	struct x1_shared *sh = malloc(sizeof(*sh));
	struct x1_store st;
	int rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	x1_shared_init(sh, stdout);
	x1_store_init(&st, &sh->ops, sh, ne);
	while (!stop) {
		ssize_t n = recv(fd, in, sizeof(in), 0);
		char admf[X1_ID_MAX];
		struct x1_out o = { 0 };
		const char *why;
		uint32_t type;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		memcpy(&type, in, n >= 4 ? 4 : 0);
		if (n < 4 || type != X1MON_REQUEST || x1_wire_container_decode(in + 4, (size_t)n - 4, admf, &c, &why)) {
			printf("monitor: refused a worker message: %s\n",
			       n < 4 || type != X1MON_REQUEST ? "type" : why);
			rc = 1;
			break;
		}
		printf("monitor: %s: %zu messages\n", admf, c.n);
		if (x1_store_handle(&st, admf, &c, now_us(), &o) || respond(fd, &o)) {
			x1_out_free(&o);
			rc = 1;
			break;
		}
		x1_out_free(&o);
	}
	x1_store_free(&st);
	x1_shared_free(sh);
	free(sh);
	return rc;
}

int main(int argc, char **argv)
{
	struct x1_worker_opts o = { .ne = "ne-xtap-1", .io_timeout_secs = 5 };
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int sp[2], opt, one = 1, lfd, sz = 1 << 20, rc;
	pid_t pid;

	while ((opt = getopt(argc, argv, "p:c:k:a:u:n:t:S")) != -1) {
		switch (opt) {
		case 'p': sa.sin6_port = htons((uint16_t)atoi(optarg)); break;
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'a': o.ca = optarg; break;
		case 'u': o.user = optarg; break;
		case 'n': o.ne = optarg; break;
		case 't': o.io_timeout_secs = atoi(optarg); break;
		case 'S': o.no_seccomp = true; break;
		default: fprintf(stderr, "usage: x1_https -p PORT -c CERT -k KEY -a CA [-u USER] [-n NE]\n"); return 2;
		}
	}
	if (!o.cert || !o.key || !o.ca || !sa.sin6_port) {
		fprintf(stderr, "x1_https: -p, -c, -k and -a are needed\n");
		return 2;
	}
	if ((lfd = socket(AF_INET6, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 16) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp)) {
		perror("x1_https: listen");
		return 1;
	}
	setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sp[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if ((pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		close(sp[0]);
		o.listen_fd = lfd;
		o.mon_fd = sp[1];
		_exit(x1_worker_main(&o));
	}
	close(sp[1]);
	close(lfd);
	{
		struct sigaction sa_term = { .sa_handler = on_term }; /* no SA_RESTART: recv returns */

		sigaction(SIGTERM, &sa_term, NULL);
		sigaction(SIGINT, &sa_term, NULL);
	}
	printf("ready worker=%d\n", (int)pid);
	fflush(stdout);
	rc = monitor(sp[0], o.ne);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return rc;
}
