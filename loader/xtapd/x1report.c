/* SPDX-License-Identifier: BSD-2-Clause */
/* The NE as an HTTPS client of an ADMF (x1report.h, docs/x1.md "Issue
 * reports"): one process per report container, exec'd by the monitor. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "x1.h"
#include "x1report.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TCP connection to addr:port within the deadline; -1 on failure. */
static int dial(const char *addr, const char *port, int64_t deadline)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	char *end;
	unsigned long p = strtoul(port, &end, 10);

	if (*end || !p || p > 65535)
		return -1;
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)p);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)p);
		sl = sizeof(struct sockaddr_in6);
	} else {
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	struct pollfd pf = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t el = sizeof(err);
	int64_t left = deadline - now_ms();
	if (left <= 0 || poll(&pf, 1, (int)left) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
		errno = err ? err : ETIMEDOUT;
		close(fd);
		return -1;
	}
	/* blocking from here, each read and write bounded by the deadline */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	struct timeval tv = { .tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static const char *ssl_why(void)
{
	static char b[160];
	unsigned long e = ERR_get_error();

	if (!e)
		return "closed";
	ERR_error_string_n(e, b, sizeof(b));
	return b;
}

static void usage(void)
{
	fprintf(stderr, "usage: xtapd %s -c CERT -k KEY -a CA -H ADDRESS -p PORT [-u USER], the body on fd %d\n",
		XTAP_X1REPORT_FLAG, XTAP_X1REPORT_BODY_FD);
}

int xtap_x1report_main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *ca = NULL, *host = NULL, *port = NULL, *user = NULL;
	static char body[X1REPORT_BODY_MAX + 1], resp[4096];
	struct rlimit no_core = { 0, 0 };
	int64_t deadline = now_ms() + X1REPORT_TIMEOUT_MS;
	size_t n = 0;
	int opt;

	log_init("xtapd-x1-report", LOG_LVL_INFO);
	/* a core would hold the NE's key */
	setrlimit(RLIMIT_CORE, &no_core);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	optind = 2;
	while ((opt = getopt(argc, argv, "c:k:a:H:p:u:")) != -1) {
		switch (opt) {
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'a': ca = optarg; break;
		case 'H': host = optarg; break;
		case 'p': port = optarg; break;
		case 'u': user = optarg; break;
		default: usage(); return 2;
		}
	}
	if (!cert || !key || !ca || !host || !port) {
		usage();
		return 2;
	}
	for (ssize_t r; n < sizeof(body) && (r = read(XTAP_X1REPORT_BODY_FD, body + n, sizeof(body) - n)) > 0;)
		n += (size_t)r;
	if (!n || n > X1REPORT_BODY_MAX) {
		log_warnx("x1 report: no body or one over %d bytes", X1REPORT_BODY_MAX);
		return 2;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		log_warnx("x1 report: the NE's certificate, key or the ADMF CA: %s", ssl_why());
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* the ADMF's certificate must name the address it was configured by */
	if (X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), host) != 1) {
		log_warnx("x1 report: '%s' is not an address", host);
		return 2;
	}
	tzset(); /* OpenSSL's certificate checks reach localtime() */
	if (user && xtap_drop_privileges("x1 report", user))
		return 1;
	int fd = dial(host, port, deadline);
	if (fd < 0) {
		log_warn("x1 report: connect to the ADMF at %s port %s", host, port);
		return 1;
	}
	SSL *ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1) {
		log_warnx("x1 report: TLS with the ADMF at %s port %s: %s", host, port, ssl_why());
		return 1;
	}
	char head[256];
	int hl = snprintf(head, sizeof(head),
			  "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/xml\r\nContent-Length: %zu\r\n"
			  "Connection: close\r\n\r\n",
			  X1REPORT_PATH, host, n);
	if (SSL_write(ssl, head, hl) != hl || SSL_write(ssl, body, (int)n) != (int)n) {
		log_warnx("x1 report: sending to the ADMF: %s", ssl_why());
		return 1;
	}
	size_t got = 0;
	for (int r; got < sizeof(resp) - 1 && (r = SSL_read(ssl, resp + got, (int)(sizeof(resp) - 1 - got))) > 0;)
		got += (size_t)r;
	resp[got] = '\0';
	int status = 0;
	if (sscanf(resp, "HTTP/1.%*1[01] %d", &status) != 1 || status != 200) {
		log_warnx("x1 report: the ADMF answered HTTP %d", status);
		return 1;
	}
	/* an ADMF that took the container answers each message; an error
	 * response means it did not take one */
	if (strstr(resp, "ErrorResponse")) {
		log_warnx("x1 report: the ADMF answered an ErrorResponse");
		return 1;
	}
	SSL_shutdown(ssl);
	return 0;
}
