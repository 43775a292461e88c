// SPDX-License-Identifier: BSD-2-Clause
/* xtap-x3d: an X3 receiver (docs/x3.md). Accepts ETSI TS 103 221-2 PDUs
 * over TLS from senders whose client certificate the given CA signed,
 * validates every PDU (loader/x3/x3_pdu.c), checks sequence continuity per XID,
 * writes the payloads to pcap with the PDU's timestamp, reports gaps, and
 * answers keepalives. A keepalive is answered only once every PDU before it
 * is in the pcap file and the sequence log (flushed): xtap-x3 takes the
 * answer as the receipt for those PDUs. The summary holds counts and XIDs,
 * never packet contents or addresses from intercepted packets. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pcap/pcap.h>

#include "cliarg.h"
#include "hostport.h"
#include "x3_net.h"
#include "x3_pdu.h"

#define X3D_CONNS_MAX 16 /* concurrent senders; more are refused */
#define X3D_RX_CAP (X3_PDU_MAX + 16384) /* a whole PDU and a TLS record after it */
#define X3D_TX_CAP \
	(64 * X3_KEEPALIVE_LEN) /* acks owed; a peer that does not read
					      them is dropped */
#define X3D_XIDS_MAX 256 /* tracked XIDs; PDUs of more are counted apart */
#define X3D_RANGES_MAX 64 /* received sequence ranges kept per XID */
#define X3D_HANDSHAKE_MS 10000 /* a TLS handshake that takes longer is dropped */
#define X3D_IDLE_FLUSH_MS 1000
#define X3D_MAX_SECONDS 31536000.0 /* -t bound: a year keeps the ms arithmetic exact */

struct range {
	uint32_t first, last;
};

struct xid_state {
	uint8_t xid[16];
	uint32_t next; /* the sequence number expected */
	uint64_t pdus, bytes, gaps, missing, dups;
	uint32_t first, last;
	size_t nranges;
	bool ranges_overflow;
	struct range ranges[X3D_RANGES_MAX];
};

struct stats {
	uint64_t connections, tls_refused, closed_bad;
	uint64_t pdus, x3, x2, keepalives, acks_sent, acks_received;
	uint64_t written, written_bytes;
	uint64_t unsupported_format, no_timestamp, xids_overflow;
	uint64_t dir[X3_DIR_NA + 1]; /* written PDUs by Payload Direction */
	uint64_t err[X3_ERR_N];
	size_t nxids;
	struct xid_state xids[X3D_XIDS_MAX];
};

struct conn {
	int fd;
	SSL *ssl;
	bool open; /* handshake done */
	int64_t t_start;
	char peer[64];
	uint8_t *rx;
	size_t rx_len;
	uint8_t tx[X3D_TX_CAP];
	size_t tx_len;
	bool want_write; /* SSL_read or SSL_write asked for POLLOUT */
};

struct opts {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const char *cert, *key, *ca;
	const char *wfile, *seqlog;
	double seconds;
	bool json;
};

static struct stats st;
static struct conn conns[X3D_CONNS_MAX];
static pcap_dumper_t *pd;
static FILE *seqf;
static bool write_failed;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xtap-x3d -l [ADDR:]PORT --cert FILE --key FILE --ca FILE [-w FILE]\n"
		"                [--seq-log FILE] [-t SECONDS] [--json]\n"
		"  -l [ADDR:]PORT  listen here (TCP; IPv6 in brackets; port 0: the kernel chooses)\n"
		"  --cert, --key   this receiver's certificate and key (PEM)\n"
		"  --ca FILE       the CA that must sign every sender's client certificate\n"
		"  -w FILE         write the payloads as pcap (LINKTYPE_RAW, nanosecond timestamps)\n"
		"  --seq-log FILE  one line per written PDU: XID SEQUENCE LENGTH\n"
		"  -t SECONDS      stop after this long\n"
		"  --json          print the summary as JSON\n");
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "ca", required_argument, NULL, 'A' },
		{ "seq-log", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool have_l = false;
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "l:w:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (hostport_parse(optarg, &o->addr, &o->addrlen)) {
				fprintf(stderr, "xtap-x3d: bad listen address '%s'\n", optarg);
				exit(2);
			}
			have_l = true;
			break;
		case 'C': o->cert = optarg; break;
		case 'K': o->key = optarg; break;
		case 'A': o->ca = optarg; break;
		case 'w': o->wfile = optarg; break;
		case 'S': o->seqlog = optarg; break;
		case 'j': o->json = true; break;
		case 't':
			if (cli_parse_seconds(optarg, X3D_MAX_SECONDS, &o->seconds)) {
				fprintf(stderr, "xtap-x3d: bad -t '%s': seconds, more than 0, at most a year\n",
					optarg);
				exit(2);
			}
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc || !have_l || !o->cert || !o->key || !o->ca) {
		usage(stderr);
		exit(2);
	}
}

static SSL_CTX *tls_setup(const struct opts *o)
{
	char e[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		fprintf(stderr, "xtap-x3d: TLS: %s\n", x3_ssl_error(e, sizeof(e), "cannot set up"));
		exit(1);
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
		fprintf(stderr, "xtap-x3d: cannot use certificate %s: %s\n", o->cert, x3_ssl_error(e, sizeof(e), "?"));
		exit(1);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		fprintf(stderr, "xtap-x3d: cannot use key %s: %s\n", o->key, x3_ssl_error(e, sizeof(e), "?"));
		exit(1);
	}
	if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
		fprintf(stderr, "xtap-x3d: cannot use CA %s: %s\n", o->ca, x3_ssl_error(e, sizeof(e), "?"));
		exit(1);
	}
	/* mutual authentication: no client certificate, no connection */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

static int open_listener(const struct opts *o)
{
	char a[80];
	int one = 1, zero = 0;
	int fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fprintf(stderr, "xtap-x3d: socket: %s\n", strerror(errno));
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (o->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)&o->addr, o->addrlen) < 0 || listen(fd, 16) < 0) {
		fprintf(stderr, "xtap-x3d: cannot listen on %s: %s\n", hostport_str(&o->addr, a, sizeof(a)),
			strerror(errno));
		exit(1);
	}
	struct sockaddr_storage got;
	socklen_t gl = sizeof(got);
	getsockname(fd, (struct sockaddr *)&got, &gl);
	fprintf(stderr, "xtap-x3d: listening on %s\n", hostport_str(&got, a, sizeof(a)));
	return fd;
}

static void conn_close(struct conn *c)
{
	if (c->ssl) {
		if (c->open)
			SSL_shutdown(c->ssl); /* one close_notify, not waited for */
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c->rx);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void accept_one(int lfd, SSL_CTX *ctx)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct conn *c = NULL;
	int one = 1;

	if (fd < 0)
		return;
	for (size_t i = 0; i < X3D_CONNS_MAX && !c; i++)
		if (conns[i].fd < 0)
			c = &conns[i];
	if (!c) {
		fprintf(stderr, "xtap-x3d: refusing a connection: %d already open\n", X3D_CONNS_MAX);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->ssl = SSL_new(ctx);
	c->rx = malloc(X3D_RX_CAP);
	c->t_start = now_ms();
	hostport_str(&ss, c->peer, sizeof(c->peer));
	if (!c->ssl || !c->rx || SSL_set_fd(c->ssl, fd) != 1) {
		fprintf(stderr, "xtap-x3d: out of memory for a connection\n");
		conn_close(c);
		return;
	}
	SSL_set_accept_state(c->ssl);
	st.connections++;
}

static struct xid_state *xid_find(const uint8_t xid[16])
{
	for (size_t i = 0; i < st.nxids; i++)
		if (!memcmp(st.xids[i].xid, xid, 16))
			return &st.xids[i];
	if (st.nxids == X3D_XIDS_MAX)
		return NULL;
	struct xid_state *x = &st.xids[st.nxids++];
	memcpy(x->xid, xid, 16);
	return x;
}

static void range_add(struct xid_state *x, uint32_t seq)
{
	if (x->nranges && x->ranges[x->nranges - 1].last + 1 == seq) {
		x->ranges[x->nranges - 1].last = seq;
		return;
	}
	if (x->nranges == X3D_RANGES_MAX) {
		x->ranges_overflow = true;
		return;
	}
	x->ranges[x->nranges++] = (struct range){ seq, seq };
}

/* Sequence continuity (clause 5.3.9: per XID, one more per PDU). false: a
 * duplicate or an older number, not written. */
static bool sequence_check(struct xid_state *x, uint32_t seq)
{
	char u[37];

	if (x->pdus == 0) {
		x->first = seq;
	} else if (seq != x->next) {
		uint32_t d = seq - x->next; /* serial arithmetic: wraps at 2^32 */
		if (d >= 0x80000000u) {
			x->dups++;
			return false;
		}
		x->gaps++;
		x->missing += d;
		x3_uuid_format(x->xid, u);
		fprintf(stderr, "xtap-x3d: xid %s: sequence gap: %" PRIu32 " to %" PRIu32 " missing (%" PRIu32 ")\n", u,
			x->next, seq - 1, d);
	}
	x->next = seq + 1;
	x->last = seq;
	range_add(x, seq);
	return true;
}

static void write_payload(const struct x3_pdu *p, struct xid_state *x)
{
	struct pcap_pkthdr ph;
	struct timespec now = { 0 };

	if (!p->has_ts) {
		st.no_timestamp++;
		clock_gettime(CLOCK_REALTIME, &now);
	}
	x->pdus++;
	x->bytes += p->payload_len;
	st.dir[p->direction]++;
	st.written++;
	st.written_bytes += p->payload_len;
	if (pd) {
		ph.ts.tv_sec = p->has_ts ? p->ts_sec : now.tv_sec;
		ph.ts.tv_usec = p->has_ts ? p->ts_nsec : now.tv_nsec; /* nanosecond pcap */
		ph.caplen = ph.len = p->payload_len;
		pcap_dump((u_char *)pd, &ph, p->payload);
	}
	if (seqf) {
		char u[37];
		x3_uuid_format(p->xid, u);
		fprintf(seqf, "%s %" PRIu32 " %" PRIu32 "\n", u, p->seq, p->payload_len);
	}
}

static void flush_outputs(void)
{
	if (pd && pcap_dump_flush(pd))
		write_failed = true;
	if (seqf && fflush(seqf))
		write_failed = true;
}

/* false: the connection must close (a PDU that cannot be read past). */
static bool handle_pdu(struct conn *c, const struct x3_pdu *p)
{
	st.pdus++;
	switch (p->type) {
	case X3_TYPE_X2: st.x2++; return true;
	case X3_TYPE_KEEPALIVE_ACK: st.acks_received++; return true;
	case X3_TYPE_KEEPALIVE:
		st.keepalives++;
		flush_outputs(); /* what the answer confirms is in the files */
		if (write_failed)
			return false;
		if (c->tx_len + X3_KEEPALIVE_LEN > sizeof(c->tx)) {
			fprintf(stderr, "xtap-x3d: %s sends keepalives without reading the answers; closing\n",
				c->peer);
			return false;
		}
		c->tx_len += x3_encode_keepalive(c->tx + c->tx_len, sizeof(c->tx) - c->tx_len, X3_TYPE_KEEPALIVE_ACK,
						 p->seq);
		st.acks_sent++;
		return true;
	}
	st.x3++;
	if (p->format != X3_FMT_IPV4 && p->format != X3_FMT_IPV6) {
		st.unsupported_format++;
		return true;
	}
	struct xid_state *x = xid_find(p->xid);
	if (!x) {
		st.xids_overflow++;
		return true;
	}
	if (sequence_check(x, p->seq))
		write_payload(p, x);
	return true;
}

static bool parse_rx(struct conn *c)
{
	size_t off = 0;

	while (off < c->rx_len) {
		struct x3_pdu p;
		size_t used;
		enum x3_err e = x3_decode(c->rx + off, c->rx_len - off, &p, &used);

		if (e == X3_NEED_MORE)
			break;
		if (e != X3_OK) {
			st.err[e]++;
			st.closed_bad++;
			fprintf(stderr, "xtap-x3d: %s: %s; closing the connection\n", c->peer, x3_err_name(e));
			return false;
		}
		if (!handle_pdu(c, &p))
			return false;
		off += used;
	}
	memmove(c->rx, c->rx + off, c->rx_len - off);
	c->rx_len -= off;
	return true;
}

static bool flush_tx(struct conn *c)
{
	while (c->tx_len) {
		int n = SSL_write(c->ssl, c->tx, (int)c->tx_len);
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				c->want_write = e == SSL_ERROR_WANT_WRITE;
				return true;
			}
			return false;
		}
		memmove(c->tx, c->tx + n, c->tx_len - (size_t)n);
		c->tx_len -= (size_t)n;
	}
	c->want_write = false;
	return true;
}

static void handshake(struct conn *c)
{
	char e[256];
	int r = SSL_do_handshake(c->ssl);

	if (r == 1) {
		c->open = true;
		fprintf(stderr, "xtap-x3d: %s: connected (%s)\n", c->peer, SSL_get_version(c->ssl));
		return;
	}
	int se = SSL_get_error(c->ssl, r);
	if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) {
		c->want_write = se == SSL_ERROR_WANT_WRITE;
		return;
	}
	long v = SSL_get_verify_result(c->ssl);
	st.tls_refused++;
	fprintf(stderr, "xtap-x3d: %s: TLS refused: %s%s%s\n", c->peer, x3_ssl_error(e, sizeof(e), "handshake failed"),
		v != X509_V_OK ? ": " : "", v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
	conn_close(c);
}

static void serve_conn(struct conn *c)
{
	if (!c->open) {
		handshake(c);
		if (c->fd < 0 || !c->open)
			return;
	}
	for (;;) {
		if (c->rx_len == X3D_RX_CAP) /* cannot happen: a PDU is at most X3_PDU_MAX */
			break;
		int n = SSL_read(c->ssl, c->rx + c->rx_len, (int)(X3D_RX_CAP - c->rx_len));
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				c->want_write = e == SSL_ERROR_WANT_WRITE;
				break;
			}
			if (c->rx_len) {
				st.err[X3_NEED_MORE]++;
				fprintf(stderr, "xtap-x3d: %s: closed within a PDU\n", c->peer);
			}
			fprintf(stderr, "xtap-x3d: %s: disconnected\n", c->peer);
			conn_close(c);
			return;
		}
		c->rx_len += (size_t)n;
		if (!parse_rx(c)) {
			conn_close(c);
			return;
		}
	}
	if (!flush_tx(c)) {
		fprintf(stderr, "xtap-x3d: %s: write failed\n", c->peer);
		conn_close(c);
	}
}

static void print_summary(FILE *f, bool json)
{
	char u[37];
	uint64_t gaps = 0, missing = 0, dups = 0;

	for (size_t i = 0; i < st.nxids; i++) {
		gaps += st.xids[i].gaps;
		missing += st.xids[i].missing;
		dups += st.xids[i].dups;
	}
	if (!json) {
		fprintf(f, "connections %" PRIu64 ", TLS refused %" PRIu64 ", closed on a bad PDU %" PRIu64 "\n",
			st.connections, st.tls_refused, st.closed_bad);
		fprintf(f,
			"received %" PRIu64 " PDUs: %" PRIu64 " X3, %" PRIu64 " X2, %" PRIu64 " keepalives (%" PRIu64
			" answered), %" PRIu64 " keepalive answers\n",
			st.pdus, st.x3, st.x2, st.keepalives, st.acks_sent, st.acks_received);
		fprintf(f, "wrote %" PRIu64 " packets, %" PRIu64 " bytes\n", st.written, st.written_bytes);
		fprintf(f, "gaps %" PRIu64 ", missing %" PRIu64 ", duplicates %" PRIu64 "\n", gaps, missing, dups);
		for (size_t i = 0; i < st.nxids; i++) {
			const struct xid_state *x = &st.xids[i];
			x3_uuid_format(x->xid, u);
			fprintf(f,
				"xid %s: %" PRIu64 " PDUs, %" PRIu64 " bytes, sequence %" PRIu32 " to %" PRIu32
				", gaps %" PRIu64 ", missing %" PRIu64 ", duplicates %" PRIu64 "\n",
				u, x->pdus, x->bytes, x->first, x->last, x->gaps, x->missing, x->dups);
		}
		for (int e = X3_BAD_VERSION; e < X3_ERR_N; e++)
			fprintf(f, "%s: %" PRIu64 "\n", x3_err_name(e), st.err[e]);
		fprintf(f,
			"truncated at close: %" PRIu64 "\nunsupported format: %" PRIu64 "\nno timestamp: %" PRIu64
			"\nxids past %d: %" PRIu64 "\n",
			st.err[X3_NEED_MORE], st.unsupported_format, st.no_timestamp, X3D_XIDS_MAX, st.xids_overflow);
		return;
	}
	fprintf(f,
		"{\"connections\": %" PRIu64 ", \"tls_refused\": %" PRIu64 ", \"closed_bad\": %" PRIu64
		", \"pdus\": %" PRIu64 ", \"x3\": %" PRIu64 ", \"x2\": %" PRIu64 ", \"keepalives\": %" PRIu64
		", \"acks_sent\": %" PRIu64 ", \"acks_received\": %" PRIu64 ", \"written\": {\"packets\": %" PRIu64
		", \"bytes\": %" PRIu64 "}"
		", \"gaps\": %" PRIu64 ", \"missing\": %" PRIu64 ", \"duplicates\": %" PRIu64 ", \"errors\": {",
		st.connections, st.tls_refused, st.closed_bad, st.pdus, st.x3, st.x2, st.keepalives, st.acks_sent,
		st.acks_received, st.written, st.written_bytes, gaps, missing, dups);
	for (int e = X3_BAD_VERSION; e < X3_ERR_N; e++)
		fprintf(f, "\"%s\": %" PRIu64 ", ", x3_err_key(e), st.err[e]);
	fprintf(f,
		"\"truncated\": %" PRIu64 "}, \"unsupported_format\": %" PRIu64 ", \"no_timestamp\": %" PRIu64
		", \"xids_overflow\": %" PRIu64 ", \"direction\": {\"unknown\": %" PRIu64 ", \"to_target\": %" PRIu64
		", \"from_target\": %" PRIu64 ", \"multiple\": %" PRIu64 ", \"not_applicable\": %" PRIu64
		"}, \"xids\": [",
		st.err[X3_NEED_MORE], st.unsupported_format, st.no_timestamp, st.xids_overflow, st.dir[X3_DIR_UNKNOWN],
		st.dir[X3_DIR_TO_TARGET], st.dir[X3_DIR_FROM_TARGET], st.dir[X3_DIR_MULTIPLE], st.dir[X3_DIR_NA]);
	for (size_t i = 0; i < st.nxids; i++) {
		const struct xid_state *x = &st.xids[i];
		x3_uuid_format(x->xid, u);
		fprintf(f,
			"%s{\"xid\": \"%s\", \"pdus\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"first\": %" PRIu32
			", \"last\": %" PRIu32 ", \"gaps\": %" PRIu64 ", \"missing\": %" PRIu64
			", \"duplicates\": %" PRIu64 ", \"ranges_complete\": %s, \"ranges\": [",
			i ? ", " : "", u, x->pdus, x->bytes, x->first, x->last, x->gaps, x->missing, x->dups,
			x->ranges_overflow ? "false" : "true");
		for (size_t r = 0; r < x->nranges; r++)
			fprintf(f, "%s[%" PRIu32 ", %" PRIu32 "]", r ? ", " : "", x->ranges[r].first,
				x->ranges[r].last);
		fprintf(f, "]}");
	}
	fprintf(f, "]}\n");
}

int main(int argc, char **argv)
{
	struct opts o;
	pcap_t *dead = NULL;
	sigset_t set;
	int sfd, lfd;

	parse_args(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	SSL_CTX *ctx = tls_setup(&o);
	for (size_t i = 0; i < X3D_CONNS_MAX; i++)
		conns[i].fd = -1;
	if (o.wfile) {
		dead = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_NANO);
		FILE *wf = fopen(o.wfile, "wb");
		if (!dead || !wf) {
			fprintf(stderr, "xtap-x3d: cannot write %s: %s\n", o.wfile, strerror(errno));
			return 1;
		}
		pd = pcap_dump_fopen(dead, wf);
		if (!pd) {
			fprintf(stderr, "xtap-x3d: cannot write %s: %s\n", o.wfile, pcap_geterr(dead));
			return 1;
		}
	}
	if (o.seqlog && !(seqf = fopen(o.seqlog, "w"))) {
		fprintf(stderr, "xtap-x3d: cannot write %s: %s\n", o.seqlog, strerror(errno));
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	lfd = open_listener(&o);

	int64_t deadline = o.seconds > 0 ? now_ms() + (int64_t)(o.seconds * 1000) : 0;
	int64_t last_rx = now_ms();
	bool dirty = false;
	for (;;) {
		struct pollfd pfd[X3D_CONNS_MAX + 2];
		struct conn *who[X3D_CONNS_MAX + 2];
		nfds_t n = 0;
		int64_t now = now_ms();
		int timeout = X3D_IDLE_FLUSH_MS;

		if (deadline && now >= deadline)
			break;
		if (deadline && deadline - now < timeout)
			timeout = (int)(deadline - now);
		pfd[n] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		who[n++] = NULL;
		pfd[n] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		who[n++] = NULL;
		for (size_t i = 0; i < X3D_CONNS_MAX; i++) {
			struct conn *c = &conns[i];
			if (c->fd < 0)
				continue;
			if (!c->open && now - c->t_start > X3D_HANDSHAKE_MS) {
				st.tls_refused++;
				fprintf(stderr, "xtap-x3d: %s: TLS handshake timed out\n", c->peer);
				conn_close(c);
				continue;
			}
			pfd[n] = (struct pollfd){
				.fd = c->fd, .events = (short)(POLLIN | (c->want_write || c->tx_len ? POLLOUT : 0))
			};
			who[n++] = c;
		}
		int r = poll(pfd, n, timeout);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "xtap-x3d: poll: %s\n", strerror(errno));
			break;
		}
		if (r <= 0) {
			if (dirty && now_ms() - last_rx >= X3D_IDLE_FLUSH_MS) {
				flush_outputs();
				dirty = false;
			}
			continue;
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & POLLIN)
			accept_one(lfd, ctx);
		for (nfds_t i = 2; i < n; i++)
			if (pfd[i].revents && who[i]->fd >= 0) {
				serve_conn(who[i]);
				last_rx = now_ms();
				dirty = true;
			}
		if (write_failed)
			break;
	}
	for (size_t i = 0; i < X3D_CONNS_MAX; i++)
		if (conns[i].fd >= 0)
			conn_close(&conns[i]);
	flush_outputs();
	int rc = 0;
	if (pd) {
		pcap_dump_close(pd);
		pcap_close(dead);
	}
	if (seqf && fclose(seqf))
		write_failed = true;
	if (write_failed) {
		fprintf(stderr, "xtap-x3d: writing the capture failed: %s\n", strerror(errno));
		rc = 1;
	}
	print_summary(stdout, o.json);
	SSL_CTX_free(ctx);
	return rc;
}
