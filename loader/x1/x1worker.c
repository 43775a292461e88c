/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The X1 front end: TLS 1.2 or later with a client certificate the
 * configured CA signed (clause 7.2.2: mutual TLS), the ADMF named by the
 * certificate's subject CN, HTTP/1.1 POST X1_HTTP_PATH (loader/x1/http.c), the
 * body parsed by loader/x1/parse.c; each container goes to the monitor as one
 * typed datagram and the monitor's response body goes back to the ADMF.
 * Holds no task, destination or criterion: the store is the monitor's.
 * One connection at a time (an ADMF's requests are sequential). Each
 * connection has a deadline: the handshake, and then each request from the
 * end of the previous response, must be done within io_timeout_secs, so a
 * peer that trickles bytes holds the worker no longer than that.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <seccomp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "privdrop.h"
#include "x1.h"
#include "x1worker.h"

#define BUF_MAX (X1_HTTP_HEAD_MAX + X1_BODY_MAX)

static void tls_error(const char *what, const char *peer)
{
	unsigned long e = ERR_get_error();
	char b[256] = "";

	if (e)
		ERR_error_string_n(e, b, sizeof(b));
	fprintf(stderr, "x1-worker: %s%s%s: %s\n", what, peer ? " from " : "", peer ? peer : "", b);
	ERR_clear_error();
}

static SSL_CTX *make_ctx(const struct x1_worker_opts *o)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
		tls_error("TLS setup failed", NULL);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4); /* ADMF certificate, intermediates, the CA */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	/* no resumption: every connection shows its certificate again */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
}

/* What the worker may call once it serves; anything else kills it.
 * Measured as the SSH worker's list was (docs/privsep.md): tests/x1/
 * test_https.sh with X1_WRAP="strace -ff -o DIR", every call after
 * PR_SET_NO_NEW_PRIVS; the allocators' other calls and getrandom
 * (OpenSSL reseeding) as for the SSH worker. */
static const int seccomp_allow[] = {
	SCMP_SYS(accept),	 SCMP_SYS(accept4), /* the listener */
	SCMP_SYS(fcntl), /* a connection made non-blocking */
	SCMP_SYS(poll), /* TLS I/O against the deadline */
	SCMP_SYS(read),		 SCMP_SYS(write), /* TLS records; log lines to stderr */
	SCMP_SYS(sendto),	 SCMP_SYS(recvfrom), /* the monitor */
	SCMP_SYS(close),	 SCMP_SYS(getpid), /* OpenSSL's fork checks */
	SCMP_SYS(getrandom), /* OpenSSL */
	SCMP_SYS(futex), /* OpenSSL's locks and once-initialisers */
	SCMP_SYS(clock_gettime), /* the vDSO's fallback */
	SCMP_SYS(brk),		 SCMP_SYS(mmap),
	SCMP_SYS(munmap),	 SCMP_SYS(mremap),
	SCMP_SYS(madvise),	 SCMP_SYS(restart_syscall), /* a stopped worker continued (SIGCONT) */
	SCMP_SYS(exit_group),
#ifdef __SANITIZE_ADDRESS__
	SCMP_SYS(sigaltstack), /* the sanitizer runtime at exit (test build only) */
#endif
};

/* The ADMF: the subject CN of a certificate the handshake verified. */
static int peer_admf(SSL *ssl, char out[X1_ID_MAX])
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	int n;

	if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) {
		X509_free(cert);
		return -1;
	}
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out, X1_ID_MAX);
	X509_free(cert);
	if (n <= 0 || n >= X1_ID_MAX)
		return -1;
	for (int i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			return -1;
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* After an SSL call returned r <= 0: wait for what it wants until the
 * deadline. 0: call it again; -1: an error, the peer closed, or too late. */
static int tls_wait(SSL *ssl, int fd, int r, uint64_t deadline)
{
	struct pollfd p = { .fd = fd };
	uint64_t now = mono_ms();
	int e = SSL_get_error(ssl, r), n;

	if (e == SSL_ERROR_WANT_READ)
		p.events = POLLIN;
	else if (e == SSL_ERROR_WANT_WRITE)
		p.events = POLLOUT;
	else
		return -1;
	if (now >= deadline)
		return -1;
	do
		n = poll(&p, 1, (int)(deadline - now));
	while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : -1;
}

static int write_all(SSL *ssl, int fd, const char *p, size_t n, uint64_t deadline)
{
	while (n) {
		int w = SSL_write(ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);

		if (w <= 0) {
			if (tls_wait(ssl, fd, w, deadline))
				return -1;
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The monitor's answer to one container: the response body. -1: the
 * monitor is gone or broke the protocol. */
static int ask_monitor(int mon, const uint8_t *req, size_t n, struct x1_out *o)
{
	static uint8_t in[4 + X1MON_PART];

	if (send(mon, req, n, 0) != (ssize_t)n)
		return -1;
	for (;;) {
		ssize_t r = recv(mon, in, sizeof(in), 0);
		uint32_t type;

		if (r < 4)
			return -1;
		memcpy(&type, in, 4);
		if (type != X1MON_RESPONSE && type != X1MON_RESPONSE_END)
			return -1;
		if (r > 4) {
			if (o->n + (size_t)(r - 4) > X1_OUT_MAX)
				return -1;
			if (!o->p || o->n + (size_t)(r - 4) + 1 > o->cap) {
				size_t cap = (o->n + (size_t)(r - 4) + 1) * 2;
				char *p = realloc(o->p, cap);

				if (!p)
					return -1;
				o->p = p;
				o->cap = cap;
			}
			memcpy(o->p + o->n, in + 4, (size_t)(r - 4));
			o->n += (size_t)(r - 4);
		}
		if (type == X1MON_RESPONSE_END)
			return 0;
	}
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* One body -> its response body. -1: the monitor is gone. */
static int handle_body(const struct x1_worker_opts *o, const char *admf, const char *body, size_t n, struct x1_out *out)
{
	static struct x1_container c;
	static uint8_t dgram[4 + X1_WIRE_CONTAINER_MAX];
	struct x1_ne ne = { .now_us = now_us() };
	const char *why;
	uint32_t type = X1MON_REQUEST;
	size_t len;

	snprintf(ne.ne, sizeof(ne.ne), "%s", o->ne);
	if (x1_parse_container(body, n, &c, &why)) {
		fprintf(stderr, "x1-worker: %s: container refused: %s\n", admf, why);
		return x1_format_top_level_error(out, &ne, admf) ? -1 : 0;
	}
	memcpy(dgram, &type, 4);
	if (!(len = x1_wire_container_encode(admf, &c, dgram + 4, sizeof(dgram) - 4))) {
		fprintf(stderr, "x1-worker: %s: a request does not encode\n", admf);
		return x1_format_top_level_error(out, &ne, admf) ? -1 : 0;
	}
	return ask_monitor(o->mon_fd, dgram, len + 4, out);
}

/* One connection. -1: the monitor is gone (the worker ends). */
static int serve(const struct x1_worker_opts *o, SSL_CTX *ctx, int fd, const char *peer)
{
	SSL *ssl = SSL_new(ctx);
	char admf[X1_ID_MAX], head[256];
	char *buf = malloc(BUF_MAX);
	size_t have = 0;
	int rc = 0, r;
	uint64_t limit = (uint64_t)(o->io_timeout_secs ? o->io_timeout_secs : 10) * 1000;
	uint64_t deadline = mono_ms() + limit;

	if (!ssl || !buf || !SSL_set_fd(ssl, fd) || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		goto out;
	while ((r = SSL_accept(ssl)) != 1)
		if (tls_wait(ssl, fd, r, deadline)) {
			tls_error(mono_ms() >= deadline ? "TLS handshake too slow" : "TLS handshake refused", peer);
			goto out;
		}
	if (peer_admf(ssl, admf)) {
		fprintf(stderr, "x1-worker: %s: no usable subject CN\n", peer);
		goto out;
	}
	for (;;) {
		struct x1_http_req req;
		int res = x1_http_parse(buf, have, &req);

		if (res == X1_HTTP_MORE) {
			if (have == BUF_MAX)
				break;
			r = SSL_read(ssl, buf + have, (int)(BUF_MAX - have));
			if (r <= 0) {
				if (tls_wait(ssl, fd, r, deadline))
					break;
				continue;
			}
			have += (size_t)r;
			continue;
		}
		if (res == X1_HTTP_ERROR) {
			size_t hn = x1_http_head(req.status, 0, false, head, sizeof(head));

			if (hn)
				write_all(ssl, fd, head, hn, deadline);
			break;
		}
		{
			struct x1_out resp = { 0 };
			size_t hn;

			if (handle_body(o, admf, buf + req.head_len, req.content_length, &resp)) {
				x1_out_free(&resp);
				rc = -1;
				break;
			}
			hn = x1_http_head(200, resp.n, req.keep_alive, head, sizeof(head));
			if (!hn || write_all(ssl, fd, head, hn, deadline) ||
			    write_all(ssl, fd, resp.p, resp.n, deadline)) {
				x1_out_free(&resp);
				break;
			}
			x1_out_free(&resp);
		}
		deadline = mono_ms() + limit; /* the next request, from now */
		if (!req.keep_alive)
			break;
		have -= req.head_len + req.content_length;
		memmove(buf, buf + req.head_len + req.content_length, have);
	}
	SSL_shutdown(ssl); /* best effort: non-blocking, not waited for */
out:
	SSL_free(ssl);
	free(buf);
	return rc;
}

static void peer_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
	snprintf(out, cap, "%s", a);
}

int x1_worker_main(const struct x1_worker_opts *o)
{
	SSL_CTX *ctx = make_ctx(o);
	pid_t parent = getppid();

	if (!ctx)
		return 1;
	/* read /etc/localtime now: certificate checks reach localtime() later,
	 * which would open it after the filter is on */
	tzset();
	/* the change of uid clears the parent-death signal supervise.c set,
	 * and accept() never sees the monitor go: after a kill -9 of xtapd
	 * this worker held the X1 port and the next xtapd could not listen
	 * ("Address already in use", tests/crash/x1crash.py). Set again after
	 * the drop (before the filter: prctl is not in it), and a monitor
	 * already gone is seen here. */
	if ((o->user && xtap_drop_privileges("x1-worker", o->user)) || prctl(PR_SET_PDEATHSIG, SIGKILL) ||
	    getppid() != parent ||
	    (!o->no_seccomp &&
	     xtap_seccomp_allow_only("x1-worker", seccomp_allow, sizeof(seccomp_allow) / sizeof(seccomp_allow[0])))) {
		SSL_CTX_free(ctx);
		return 1;
	}
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char peer[64];
		int fd = accept(o->listen_fd, (struct sockaddr *)&ss, &sl), rc;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "x1-worker: accept: %s\n", strerror(errno));
			SSL_CTX_free(ctx);
			if (!o->no_seccomp)
				xtap_seccomp_exit(1);
			return 1;
		}
		peer_text(&ss, peer, sizeof(peer));
		rc = serve(o, ctx, fd, peer);
		close(fd);
		if (rc) {
			SSL_CTX_free(ctx);
			if (!o->no_seccomp)
				xtap_seccomp_exit(0); /* the monitor is gone */
			return 0;
		}
	}
}
