// SPDX-License-Identifier: BSD-2-Clause
/* xtap-x3: the sensor's X3 delivery process for one content destination
 * (docs/x3.md). The datapath is unchanged: it sends the destination's copies
 * as IP/UDP (plain or JMirror) to the destination's address and port, which
 * is an address of this host. xtap-x3 takes them from the device they arrive
 * on (the vt pair's peer) through a packet socket's TPACKET_V3 ring: no
 * system call, copy to user space or control message per copy, and the
 * kernel's receive time of each in its ring header. It frames each as one
 * ETSI TS 103 221-2 X3 PDU
 * (the destination's XID and correlation id, a sequence number, the
 * timestamp, the direction from the target prefixes) and writes them over
 * mutually authenticated TLS to the receiver, many PDUs per TLS record.
 *
 * Delivery is confirmed with the keepalives of the same specification: after
 * a batch, a keepalive follows the PDUs in the stream; its answer means the
 * receiver has taken every PDU before it (TLS over TCP keeps the order and
 * xtap-x3d answers only once they are written). Unconfirmed PDUs stay in a
 * bounded buffer and are sent again after a reconnection; a PDU that finds
 * the buffer full is dropped and counted (its sequence number is used, so
 * the receiver sees the gap). So every sequence number the receiver never
 * gets is in exactly one counter here: buffer_full, or unconfirmed at exit.
 *
 * Runs unprivileged under seccomp after start-up (docs/privsep.md): the
 * configuration, certificates and key are read, the ring mapped and the UDP
 * port bound first, then privileges are dropped and the filter loaded. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cd_wire.h"
#include "config.h"
#include "hostport.h"
#include "log.h"
#include "privdrop.h"
#include "x3_net.h"
#include "x3_pdu.h"
#include "x3sup.h"

/* The ring (TPACKET_V3): blocks the kernel fills with frames one after
 * another and hands over whole, when full or after X3S_RING_TOV_MS: so under
 * load copies come in blocks of hundreds, each block one wake-up. A block
 * holds a copy of 65,535 bytes and its headers. */
#define X3S_RING_BLOCK (128 << 10)
#define X3S_RING_BLOCKS 64 /* 8 MiB, what the UDP socket's receive buffer was */
#define X3S_RING_TOV_MS 1 /* latency only: the timestamp is the kernel's at receive */
#define X3S_COMPACT_MAX (256 << 10) /* compact after an answer if at most this much is left */
#define X3S_MARKS_MAX 64 /* keepalives awaiting their answer */
/* room kept in the buffer for the keepalives themselves, so that a full
 * buffer of PDUs can still be confirmed */
#define X3S_KA_RESERVE (X3S_MARKS_MAX * X3_KEEPALIVE_LEN)
#define X3S_WRITE_MAX (256 << 10) /* bytes per SSL_write: OpenSSL cuts 16 KiB records */
#define X3S_BACKOFF_MIN_MS 100
#define X3S_BACKOFF_MAX_MS 5000 /* a receiver back is found within 5 s */
#define X3S_IDLE_KA_MS 5000 /* a keepalive on an idle connection (liveness) */
#define X3S_ACK_TIMEOUT_MS 10000 /* a keepalive unanswered this long: the receiver is gone */
#define X3S_CONNECT_TIMEOUT_MS 10000
#define X3S_DRAIN_MS 3000 /* at exit: time to get the buffer confirmed */

struct mark {
	uint32_t ka_seq;
	size_t end; /* buffer offset after the keepalive */
	uint64_t npdus; /* X3 PDUs it confirms */
	int64_t t_sent;
};

enum conn_state { C_DOWN, C_CONNECTING, C_HANDSHAKE, C_UP };

struct counters {
	uint64_t datagrams; /* frames read from the ring */
	uint64_t not_ip[CD_VERDICT_N]; /* copies that were no IP packet (no PDU) */
	uint64_t not_udp; /* frames that were no whole UDP datagram (no PDU) */
	uint64_t kernel_drops; /* the ring's drops: copies lost before xtap-x3 (no PDU) */
	uint64_t pdus; /* PDUs framed = sequence numbers used */
	uint64_t buffer_full; /* PDUs dropped: the buffer was full */
	uint64_t confirmed; /* PDUs the receiver answered for */
	uint64_t unconfirmed_at_exit;
	uint64_t bytes_written; /* TLS payload bytes, replays included */
	uint64_t bytes_replayed;
	uint64_t keepalives, acks, stale_acks;
	uint64_t connects, connect_failures, tls_failures, disconnects, ack_timeouts;
	uint64_t dir[X3_DIR_NA + 1];
};

struct x3s {
	const struct xtap_cfg_cdest *cd;
	const struct xtap_cfg_x3 *x3;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	char peer_s[64];
	SSL_CTX *ctx;
	int ufd, sfd;
	int rfd; /* the packet socket of the ring */
	uint8_t *ring;
	unsigned rblock; /* the next block to read */
	const char *ifname; /* the device copies arrive on */
	bool ring_failed; /* its device went down or away: exit 1 after the drain */
	/* the connection */
	enum conn_state state;
	int fd;
	SSL *ssl;
	int64_t t_state, next_attempt;
	int backoff_ms;
	size_t pending_len; /* an SSL_write to repeat with this length */
	bool answered; /* this connection got an answer */
	bool want_write;
	uint8_t rx[X3_PDU_MAX];
	size_t rx_len;
	/* the buffer: [head, sent) written and unconfirmed, [sent, tail) unsent */
	uint8_t *buf;
	size_t cap, head, sent, tail;
	uint64_t buffered_pdus, unmarked_pdus;
	struct mark marks[X3S_MARKS_MAX];
	size_t mark_first, nmarks;
	uint32_t next_seq, next_ka;
	int64_t last_ka;
	struct counters n;
	int status_fd; /* xtapd's pipe (x3sup.c), -1 when run by hand */
	uint64_t status_sent_pdus, status_sent_confirmed, status_sent_unframed;
	enum conn_state status_sent_state;
	uint64_t failed_attempts; /* connect or TLS failures since the last connection */
	bool last_fail_tls; /* the kind of the last of them */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_state(struct x3s *s, enum conn_state st)
{
	s->state = st;
	s->t_state = now_ms();
}

/* An event for xtapd's audit log (x3sup.c): "x3 event KIND TEXT", one
 * write under PIPE_BUF. Never a target in TEXT: the receiver and reasons. */
static void status_event(struct x3s *s, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void status_event(struct x3s *s, const char *kind, const char *fmt, ...)
{
	char b[256];
	va_list ap;

	if (s->status_fd < 0)
		return;
	int n = snprintf(b, sizeof(b), "x3 event %s ", kind);
	va_start(ap, fmt);
	n += vsnprintf(b + n, sizeof(b) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(b) - 2)
		n = (int)sizeof(b) - 2;
	b[n++] = '\n';
	if (write(s->status_fd, b, (size_t)n) < 0) {
		/* a full pipe loses the event; the log line stays */
	}
}

/* ---- start-up ------------------------------------------------------------------ */

static void to_sockaddr(const struct dtcp_addr *a, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == DTCP_AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a->a, 16);
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
	} else {
		struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
		in4->sin_family = AF_INET;
		memcpy(&in4->sin_addr, a->a, 4);
		in4->sin_port = htons(port);
		*len = sizeof(*in4);
	}
}

static SSL_CTX *tls_setup(const struct xtap_cfg_x3 *x)
{
	char e[256], ip[INET6_ADDRSTRLEN];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		fatalx("TLS: %s", x3_ssl_error(e, sizeof(e), "cannot set up"));
	if (SSL_CTX_use_certificate_chain_file(ctx, x->cert) != 1)
		fatalx("cannot use x3 certificate %s: %s", x->cert, x3_ssl_error(e, sizeof(e), "?"));
	if (SSL_CTX_use_PrivateKey_file(ctx, x->key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		fatalx("cannot use x3 key %s: %s", x->key, x3_ssl_error(e, sizeof(e), "?"));
	if (SSL_CTX_load_verify_locations(ctx, x->ca, NULL) != 1)
		fatalx("cannot use x3 ca %s: %s", x->ca, x3_ssl_error(e, sizeof(e), "?"));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* the receiver's certificate must name its address (an IP subjectAltName):
	 * a certificate of the same CA for another host is refused */
	inet_ntop(x->addr.family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, x->addr.a, ip, sizeof(ip));
	if (X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), ip) != 1)
		fatalx("TLS: cannot check the receiver's address");
	/* the buffer moves (compaction) between the tries of one write */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

/* The destination's UDP port, bound so that the host's UDP stack has a
 * socket for the copies after the ring took them (no ICMP port unreachable,
 * no other process on the port), with a filter that drops every one: the
 * ring has them. The kernel counts them as this socket's drops (and in the
 * host's UDP InErrors): every X3 copy, not a loss. */
static int open_udp(const struct xtap_cfg_cdest *cd)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char a[80];
	struct sock_filter drop_all[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = drop_all };
	int rb = 0; /* the minimum: nothing is queued here */
	int fd = socket(cd->dst.family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);

	if (fd < 0)
		fatal("socket");
	to_sockaddr(&cd->dst, cd->dst_port, &ss, &sl);
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb)) < 0)
		fatal("setsockopt");
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		fatal("cannot bind content destination %s to %s", cd->name, hostport_str(&ss, a, sizeof(a)));
	return fd;
}

/* Classic BPF for the ring: only the copies of this destination, i.e. UDP to
 * its address and port (several X3 destinations may share an address), not
 * the later fragments of a datagram (they carry no port; the first one is
 * taken and counted as no whole datagram). Offsets from the IP header (a
 * SOCK_DGRAM packet socket); loads are in network order. */
static size_t ring_filter(const struct xtap_cfg_cdest *cd, struct sock_filter *f)
{
	size_t n = 0;
	uint32_t w[4];

	memcpy(w, cd->dst.a, sizeof(w));
	if (cd->dst.family == DTCP_AF_INET6) {
		/* jumps count to "drop", the last instruction (index 16) */
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf0);
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x60, 0, 13);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6); /* next header */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 11);
		for (int i = 0; i < 4; i++) {
			f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 24 + 4 * i);
			f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(w[i]), 0,
							      (uint8_t)(9 - 2 * i));
		}
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 42); /* destination port */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, cd->dst_port, 0, 1);
	} else {
		/* jumps count to "drop", the last instruction (index 13) */
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf0);
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x40, 0, 10);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16); /* destination */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(w[0]), 0, 8);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9); /* protocol */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 6);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6); /* fragment offset */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0); /* X = header length */
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2); /* destination port */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, cd->dst_port, 0, 1);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0x40000); /* the whole frame */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0); /* drop */
	return n;
}

/* The packet socket on the device the copies arrive on, its TPACKET_V3 ring
 * mapped (CAP_NET_RAW: before the privilege drop). SO_TIMESTAMPNS turns the
 * kernel's receive stamps on (net_enable_timestamp): each copy's skb is
 * stamped when the device takes it, in the clone's own call chain (docs/x3.md
 * "Timestamps"); the ring header carries that stamp. */
static void open_ring(struct x3s *s)
{
	const struct xtap_cfg_cdest *cd = s->cd;
	bool v6 = cd->dst.family == DTCP_AF_INET6;
	struct sock_filter f[20];
	struct sock_fprog prog = { .filter = f };
	int ver = TPACKET_V3, one = 1;
	struct tpacket_req3 req = {
		.tp_block_size = X3S_RING_BLOCK,
		.tp_block_nr = X3S_RING_BLOCKS,
		.tp_frame_size = X3S_RING_BLOCK, /* V3 packs frames of any size; the kernel checks only this */
		.tp_frame_nr = X3S_RING_BLOCKS,
		.tp_retire_blk_tov = X3S_RING_TOV_MS,
	};
	unsigned ifindex = if_nametoindex(s->ifname);

	if (!ifindex)
		fatal("content destination %s: device %s", cd->name, s->ifname);
	/* protocol 0: no frame is queued before the filter and the ring */
	s->rfd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->rfd < 0)
		fatal("packet socket");
	prog.len = (unsigned short)ring_filter(cd, f);
	if (setsockopt(s->rfd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    setsockopt(s->rfd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ||
	    setsockopt(s->rfd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) < 0 ||
	    setsockopt(s->rfd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0)
		fatal("packet socket ring");
	s->ring = mmap(NULL, (size_t)X3S_RING_BLOCK * X3S_RING_BLOCKS, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, s->rfd, 0);
	if (s->ring == MAP_FAILED)
		fatal("packet ring mmap");
	struct sockaddr_ll ll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(v6 ? ETH_P_IPV6 : ETH_P_IP),
		.sll_ifindex = (int)ifindex,
	};
	if (bind(s->rfd, (struct sockaddr *)&ll, sizeof(ll)) < 0)
		fatal("content destination %s: packet socket on %s", cd->name, s->ifname);
}

/* What the process may call once it serves; anything else kills it.
 * Measured with strace -f on the optimised build through traffic, a
 * receiver killed and back, a refused certificate, idle keepalives, SIGUSR1
 * and SIGTERM (docs/x3.md): poll, write, read, recvmmsg, getpid, socket,
 * setsockopt, getsockopt, connect, close, futex, brk, exit_group were seen;
 * the others are the same calls' other paths, each said below. */
static int install_seccomp(int family)
{
	static const int allow[] = {
		SCMP_SYS(poll), SCMP_SYS(read), SCMP_SYS(write), /* TLS (socket BIO), signalfd, stdout, stderr */
		SCMP_SYS(connect), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(close), SCMP_SYS(getpid),
		SCMP_SYS(futex), /* OpenSSL's fork check and locks */
		SCMP_SYS(getrandom), /* OpenSSL reseeding its generator */
		SCMP_SYS(brk),
		/* the allocators giving memory back or serving blocks above 128 KiB
		 * (the sanitizer's allocator uses mmap) */
		SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
		SCMP_SYS(clock_gettime), /* normally the vDSO */
		SCMP_SYS(exit_group), SCMP_SYS(restart_syscall), /* a poll resumed after SIGSTOP/SIGCONT */
#ifdef __SANITIZE_ADDRESS__
		SCMP_SYS(sigaltstack), /* the sanitizer runtime at exit (test build only) */
#endif
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc = -1;

	if (!ctx)
		return -1;
	for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i], 0) < 0)
			goto out;
	/* new sockets: only TCP of the receiver's family (reconnections) */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, SCMP_A0(SCMP_CMP_EQ, family),
			     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM)) < 0)
		goto out;
	rc = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return rc < 0 ? -1 : 0;
}

/* ---- the buffer ------------------------------------------------------------------ */

static void compact(struct x3s *s)
{
	size_t h = s->head;

	if (h == 0)
		return;
	memmove(s->buf, s->buf + h, s->tail - h);
	s->sent -= h;
	s->tail -= h;
	s->head = 0;
	for (size_t i = 0; i < s->nmarks; i++)
		s->marks[(s->mark_first + i) % X3S_MARKS_MAX].end -= h;
}

/* Room for n more bytes at the tail, `reserve` bytes kept free after them. */
static bool make_room(struct x3s *s, size_t n, size_t reserve)
{
	if (s->tail - s->head + n + reserve > s->cap)
		return false;
	if (s->tail + n > s->cap)
		compact(s);
	return true;
}

static uint16_t direction(const struct xtap_cfg_x3 *x, const uint8_t *pkt, size_t len)
{
	struct dtcp_addr src = { 0 }, dst = { 0 };
	bool from = false, to = false;

	if (x->n_targets == 0)
		return X3_DIR_UNKNOWN;
	if (pkt[0] >> 4 == 4 && len >= 20) {
		src.family = dst.family = DTCP_AF_INET;
		memcpy(src.a, pkt + 12, 4);
		memcpy(dst.a, pkt + 16, 4);
	} else if (len >= 40) {
		src.family = dst.family = DTCP_AF_INET6;
		memcpy(src.a, pkt + 8, 16);
		memcpy(dst.a, pkt + 24, 16);
	}
	for (size_t i = 0; i < x->n_targets; i++) {
		from = from || dtcp_net_contains(&x->targets[i], &src);
		to = to || dtcp_net_contains(&x->targets[i], &dst);
	}
	/* both ends in the target prefixes: which one is the target is unknown */
	if (from == to)
		return X3_DIR_UNKNOWN;
	return from ? X3_DIR_FROM_TARGET : X3_DIR_TO_TARGET;
}

static void frame(struct x3s *s, const uint8_t *pkt, size_t len, const struct timespec *ts)
{
	uint32_t seq = s->next_seq++; /* used even when dropped: the receiver sees the gap */
	uint16_t dir = direction(s->x3, pkt, len);

	s->n.pdus++;
	if (!make_room(s, X3_X3_HDR_LEN + len, X3S_KA_RESERVE)) {
		s->n.buffer_full++;
		return;
	}
	size_t w = x3_encode_x3(s->buf + s->tail, s->cap - s->tail, s->x3->xid, s->x3->correlation, dir, seq,
				(uint32_t)ts->tv_sec, (uint32_t)ts->tv_nsec, pkt, len);
	if (w == 0) { /* cannot happen: cd_classify gave an IP packet of at most 65535 bytes */
		s->n.buffer_full++;
		return;
	}
	s->tail += w;
	s->buffered_pdus++;
	s->unmarked_pdus++;
	s->n.dir[dir]++;
}

/* A keepalive after what is in the buffer: its answer confirms it all. */
static void append_keepalive(struct x3s *s)
{
	if (s->nmarks == X3S_MARKS_MAX || !make_room(s, X3_KEEPALIVE_LEN, 0))
		return;
	uint32_t k = s->next_ka++;
	s->tail += x3_encode_keepalive(s->buf + s->tail, s->cap - s->tail, X3_TYPE_KEEPALIVE, k);
	s->marks[(s->mark_first + s->nmarks++) % X3S_MARKS_MAX] = (struct mark){
		.ka_seq = k, .end = s->tail, .npdus = s->unmarked_pdus, .t_sent = now_ms()
	};
	s->unmarked_pdus = 0;
	s->last_ka = now_ms();
	s->n.keepalives++;
}

static void on_ack(struct x3s *s, uint32_t k)
{
	for (size_t i = 0; i < s->nmarks; i++) {
		const struct mark *m = &s->marks[(s->mark_first + i) % X3S_MARKS_MAX];
		if (m->ka_seq != k)
			continue;
		/* answers come in order: this one confirms every earlier mark too */
		for (size_t j = 0; j <= i; j++) {
			const struct mark *p = &s->marks[s->mark_first];
			s->n.confirmed += p->npdus;
			s->buffered_pdus -= p->npdus;
			s->head = p->end;
			s->mark_first = (s->mark_first + 1) % X3S_MARKS_MAX;
		}
		s->nmarks -= i + 1;
		s->n.acks++;
		/* keep the buffer in its first pages (warm, no page faults): move
		 * what is left to the start when it is short and no longer than
		 * what was freed before it (so each byte moves at most once more) */
		if (s->head && s->tail - s->head <= X3S_COMPACT_MAX && s->tail - s->head <= s->head)
			compact(s);
		return;
	}
	s->n.stale_acks++; /* a keepalive sent again after a reconnection */
}

/* ---- the UDP side ---------------------------------------------------------------- */

/* A frame of the ring: the copy as the datapath sent it (bpf/encap.h): outer
 * IPv4 or IPv6, UDP, then the copy (JMirror or plain). The filter took only
 * UDP to this destination; the headers are checked again here, every frame
 * that is no whole datagram counted. */
static void take_frame(struct x3s *s, const uint8_t *p, uint32_t caplen, uint32_t len, const struct timespec *ts)
{
	size_t off, room;

	s->n.datagrams++;
	if (caplen != len || len < 28) /* the ring keeps 65,535 bytes: not cut */
		goto not_udp;
	if (p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 0xf) * 4, tot = (size_t)p[2] << 8 | p[3];
		/* MF or an offset: a fragment (later ones the filter left out) */
		if (ihl < 20 || tot < ihl + 8 || tot > len || ((p[6] & 0x3f) | p[7]) || p[9] != IPPROTO_UDP)
			goto not_udp;
		off = ihl;
		room = tot - ihl;
	} else if (p[0] >> 4 == 6) {
		size_t pl = (size_t)p[4] << 8 | p[5];
		/* the datapath writes UDP right after the fixed header */
		if (len < 48 || p[6] != IPPROTO_UDP || pl < 8 || 40 + pl > len)
			goto not_udp;
		off = 40;
		room = pl;
	} else {
		goto not_udp;
	}
	size_t ulen = (size_t)p[off + 4] << 8 | p[off + 5];
	if (ulen < 8 || ulen > room)
		goto not_udp;
	struct cd_copy cp;
	const uint8_t *d = p + off + 8;
	cd_classify(d, ulen - 8, &cp);
	if (cp.verdict != CD_PLAIN && cp.verdict != CD_JMIRROR) {
		s->n.not_ip[cp.verdict]++;
		return;
	}
	frame(s, d + cp.inner_off, cp.inner_len, ts);
	return;
not_udp:
	s->n.not_udp++;
}

/* Every block the kernel handed over, in order, each given back after its
 * frames are framed. Returns the frames read. */
static int read_ring(struct x3s *s)
{
	int got = 0;

	for (int n = 0; n < X3S_RING_BLOCKS; n++) {
		struct tpacket_block_desc *b = (void *)(s->ring + (size_t)s->rblock * X3S_RING_BLOCK);
		if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			break;
		const uint8_t *h = (const uint8_t *)b + b->hdr.bh1.offset_to_first_pkt;
		for (uint32_t i = 0; i < b->hdr.bh1.num_pkts; i++) {
			const struct tpacket3_hdr *t = (const void *)h;
			struct timespec ts = { .tv_sec = t->tp_sec, .tv_nsec = t->tp_nsec };
			take_frame(s, h + t->tp_net, t->tp_snaplen, t->tp_len, &ts);
			h += t->tp_next_offset;
		}
		got += (int)b->hdr.bh1.num_pkts;
		__atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		s->rblock = (s->rblock + 1) % X3S_RING_BLOCKS;
	}
	return got;
}

/* The ring's drops since the last call (the kernel resets them on reading):
 * copies that found every block full, so that the status line after each
 * turn holds every drop up to that turn, not only those before a later
 * copy (as SO_RXQ_OVFL reported them). */
static void ring_drops(struct x3s *s)
{
	struct tpacket_stats_v3 st;
	socklen_t l = sizeof(st);

	if (getsockopt(s->rfd, SOL_PACKET, PACKET_STATISTICS, &st, &l) == 0)
		s->n.kernel_drops += st.tp_drops;
}

/* ---- the TLS side ---------------------------------------------------------------- */

static void disconnect(struct x3s *s, const char *why)
{
	if (s->ssl)
		SSL_free(s->ssl);
	if (s->fd >= 0)
		close(s->fd);
	s->ssl = NULL;
	s->fd = -1;
	if (s->state == C_UP) {
		s->n.disconnects++;
		log_warnx("%s: x3 receiver %s: disconnected: %s", s->cd->name, s->peer_s, why);
		status_event(s, "disconnected", "from %s: %s", s->peer_s, why);
	} else {
		/* the first of a run of failures of one kind only: a receiver
		 * away for hours is one audit line, not one per retry */
		bool tls = !strcmp(why, "TLS");
		if (!tls && (s->failed_attempts == 0 || s->last_fail_tls))
			status_event(s, "connect-failed", "to %s: %s", s->peer_s, why);
		s->failed_attempts++;
		s->last_fail_tls = tls;
	}
	/* what was written and not confirmed goes again on the next connection */
	s->n.bytes_replayed += s->sent - s->head;
	s->sent = s->head;
	s->nmarks = 0;
	s->mark_first = 0;
	s->unmarked_pdus = s->buffered_pdus;
	s->pending_len = 0;
	s->answered = false;
	s->rx_len = 0;
	s->want_write = false;
	set_state(s, C_DOWN);
	s->next_attempt = now_ms() + s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > X3S_BACKOFF_MAX_MS ? X3S_BACKOFF_MAX_MS : s->backoff_ms * 2;
}

static void start_connect(struct x3s *s)
{
	int one = 1;

	s->fd = socket(s->peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		log_warn("%s: socket", s->cd->name);
		s->n.connect_failures++;
		disconnect(s, "socket");
		return;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s->fd, (struct sockaddr *)&s->peer, s->peerlen) < 0 && errno != EINPROGRESS) {
		s->n.connect_failures++;
		log_warnx("%s: x3 receiver %s: connect: %s", s->cd->name, s->peer_s, strerror(errno));
		disconnect(s, "connect");
		return;
	}
	set_state(s, C_CONNECTING);
}

/* A TLS failure that is the connection going away (EOF, reset), not a
 * refusal: a receiver stopping while it still had our connection queued. */
static bool tls_lost_connection(int sslerr)
{
	unsigned long e = ERR_peek_error();

	return sslerr == SSL_ERROR_SYSCALL || sslerr == SSL_ERROR_ZERO_RETURN ||
		(sslerr == SSL_ERROR_SSL && ERR_GET_LIB(e) == ERR_LIB_SSL &&
		 ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
}

static void tls_failed(struct x3s *s, int r)
{
	char e[256];
	long v = SSL_get_verify_result(s->ssl);

	s->n.tls_failures++;
	if (v != X509_V_OK)
		snprintf(e, sizeof(e), "certificate: %s", X509_verify_cert_error_string(v));
	else
		x3_ssl_error(e, sizeof(e), r == 0 ? "connection closed" : "handshake failed");
	log_warnx("%s: x3 receiver %s: TLS refused: %s", s->cd->name, s->peer_s, e);
	if (s->failed_attempts == 0 || !s->last_fail_tls)
		status_event(s, "tls-refused", "with %s: %s", s->peer_s, e);
	disconnect(s, "TLS");
}

static void progress_connect(struct x3s *s)
{
	if (s->state == C_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			s->n.connect_failures++;
			log_warnx("%s: x3 receiver %s: connect: %s", s->cd->name, s->peer_s,
				  strerror(err ? err : errno));
			disconnect(s, "connect");
			return;
		}
		s->ssl = SSL_new(s->ctx);
		if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1) {
			s->n.tls_failures++;
			disconnect(s, "SSL_new");
			return;
		}
		SSL_set_connect_state(s->ssl);
		set_state(s, C_HANDSHAKE);
	}
	int r = SSL_do_handshake(s->ssl);
	if (r == 1) {
		set_state(s, C_UP);
		s->n.connects++;
		s->backoff_ms = X3S_BACKOFF_MIN_MS;
		log_info("%s: x3 receiver %s: connected (%s), %" PRIu64 " PDUs buffered", s->cd->name, s->peer_s,
			 SSL_get_version(s->ssl), s->buffered_pdus);
		status_event(s, "connected", "to %s (%s) after %" PRIu64 " failed attempts, %" PRIu64 " PDUs buffered",
			     s->peer_s, SSL_get_version(s->ssl), s->failed_attempts, s->buffered_pdus);
		s->failed_attempts = 0;
		return;
	}
	int e = SSL_get_error(s->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		s->want_write = e == SSL_ERROR_WANT_WRITE;
		return;
	}
	if (SSL_get_verify_result(s->ssl) == X509_V_OK && tls_lost_connection(e)) {
		ERR_clear_error();
		s->n.connect_failures++;
		log_warnx("%s: x3 receiver %s: connection closed in the TLS handshake", s->cd->name, s->peer_s);
		disconnect(s, "closed in the TLS handshake");
		return;
	}
	tls_failed(s, r);
}

static void read_answers(struct x3s *s)
{
	for (;;) {
		int n = SSL_read(s->ssl, s->rx + s->rx_len, (int)(sizeof(s->rx) - s->rx_len));
		if (n <= 0) {
			int e = SSL_get_error(s->ssl, n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			/* TLS 1.3: a refused client certificate shows here, as an alert */
			if (!s->answered && e == SSL_ERROR_SSL && !tls_lost_connection(e)) {
				s->state = C_HANDSHAKE; /* counted and logged as a TLS refusal */
				tls_failed(s, n);
				return;
			}
			disconnect(s, e == SSL_ERROR_ZERO_RETURN ? "closed by the receiver" : "read failed");
			return;
		}
		s->rx_len += (size_t)n;
		size_t off = 0;
		while (off < s->rx_len) {
			struct x3_pdu p;
			size_t used;
			enum x3_err err = x3_decode(s->rx + off, s->rx_len - off, &p, &used);
			if (err == X3_NEED_MORE)
				break;
			if (err != X3_OK || p.type != X3_TYPE_KEEPALIVE_ACK) {
				/* a receiver answers keepalives and sends nothing else */
				log_warnx("%s: x3 receiver %s: unexpected PDU (%s, type %u)", s->cd->name, s->peer_s,
					  x3_err_name(err), p.type);
				disconnect(s, "protocol");
				return;
			}
			s->answered = true;
			on_ack(s, p.seq);
			off += used;
		}
		memmove(s->rx, s->rx + off, s->rx_len - off);
		s->rx_len -= off;
	}
}

static void write_buffer(struct x3s *s)
{
	for (;;) {
		if (s->sent == s->tail) {
			bool idle = now_ms() - s->last_ka >= X3S_IDLE_KA_MS && s->nmarks == 0;
			if (s->unmarked_pdus == 0 && !idle)
				break;
			size_t before = s->tail;
			append_keepalive(s);
			if (s->tail == before)
				break; /* marks full: the next answer makes room */
		}
		size_t len = s->pending_len ? s->pending_len : s->tail - s->sent;
		if (len > X3S_WRITE_MAX)
			len = X3S_WRITE_MAX;
		int n = SSL_write(s->ssl, s->buf + s->sent, (int)len);
		if (n <= 0) {
			int e = SSL_get_error(s->ssl, n);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				s->pending_len = len; /* repeated with the same length */
				s->want_write = e == SSL_ERROR_WANT_WRITE;
				return;
			}
			disconnect(s, "write failed");
			return;
		}
		s->pending_len = 0;
		s->want_write = false;
		s->sent += (size_t)n;
		s->n.bytes_written += (size_t)n;
	}
}

static void serve_tls(struct x3s *s, short revents)
{
	if (s->state == C_CONNECTING || s->state == C_HANDSHAKE) {
		progress_connect(s);
		if (s->state != C_UP)
			return;
	}
	if (s->state != C_UP)
		return;
	(void)revents;
	read_answers(s);
	if (s->state == C_UP)
		write_buffer(s);
}

static void timers(struct x3s *s)
{
	int64_t now = now_ms();

	if (s->state == C_DOWN && now >= s->next_attempt)
		start_connect(s);
	else if ((s->state == C_CONNECTING || s->state == C_HANDSHAKE) && now - s->t_state > X3S_CONNECT_TIMEOUT_MS) {
		s->n.connect_failures++;
		log_warnx("%s: x3 receiver %s: connection timed out", s->cd->name, s->peer_s);
		disconnect(s, "timeout");
	} else if (s->state == C_UP && s->nmarks && now - s->marks[s->mark_first].t_sent > X3S_ACK_TIMEOUT_MS) {
		s->n.ack_timeouts++;
		disconnect(s, "keepalive not answered");
	}
}

/* ---- status ---------------------------------------------------------------------- */

static const char *const state_names[] = { "down", "connecting", "handshake", "up" };

static void print_stats(const struct x3s *s, FILE *f)
{
	char u[37];
	uint64_t not_ip = s->n.not_udp; /* reported with them, and on its own */

	for (int i = 0; i < CD_VERDICT_N; i++)
		not_ip += s->n.not_ip[i];
	x3_uuid_format(s->x3->xid, u);
	fprintf(f,
		"{\"destination\": \"%s\", \"xid\": \"%s\", \"state\": \"%s\", \"datagrams\": %" PRIu64
		", \"not_udp\": %" PRIu64 ", \"pdus\": %" PRIu64 ", \"next_sequence\": %" PRIu32
		", \"confirmed\": %" PRIu64 ", \"buffered\": %" PRIu64 ", \"buffered_bytes\": %zu"
		", \"lost\": {\"buffer_full\": %" PRIu64 ", \"unconfirmed_at_exit\": %" PRIu64 "}"
		", \"not_framed\": {\"kernel_drops\": %" PRIu64 ", \"not_ip\": %" PRIu64 "}"
		", \"bytes_written\": %" PRIu64 ", \"bytes_replayed\": %" PRIu64 ", \"keepalives\": %" PRIu64
		", \"acks\": %" PRIu64 ", \"stale_acks\": %" PRIu64 ", \"connects\": %" PRIu64
		", \"connect_failures\": %" PRIu64 ", \"tls_failures\": %" PRIu64 ", \"disconnects\": %" PRIu64
		", \"ack_timeouts\": %" PRIu64 ", \"direction\": {\"unknown\": %" PRIu64 ", \"to_target\": %" PRIu64
		", \"from_target\": %" PRIu64 "}}\n",
		s->cd->name, u, state_names[s->state], s->n.datagrams, s->n.not_udp, s->n.pdus, s->next_seq,
		s->n.confirmed, s->buffered_pdus, s->tail - s->head, s->n.buffer_full, s->n.unconfirmed_at_exit,
		s->n.kernel_drops, not_ip, s->n.bytes_written, s->n.bytes_replayed, s->n.keepalives, s->n.acks,
		s->n.stale_acks, s->n.connects, s->n.connect_failures, s->n.tls_failures, s->n.disconnects,
		s->n.ack_timeouts, s->n.dir[X3_DIR_UNKNOWN], s->n.dir[X3_DIR_TO_TARGET], s->n.dir[X3_DIR_FROM_TARGET]);
	fflush(f);
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xtap-x3 -f CONFIG -d NAME [-u USER] [-l LEVEL] [-s SEQUENCE] [-S FD]\n"
		"               [-i DEVICE] [--no-seccomp]\n"
		"       xtap-x3 -C FD -d NAME -i DEVICE [...]\n"
		"  serves content destination NAME of xtapd.conf CONFIG over X3;\n"
		"  -C: its statements from this descriptor instead (xtapd: an X1 destination)\n"
		"  -i: the device the copies arrive on (default: the vt pair's peer)\n"
		"  -s: the first sequence number (xtapd: where the last process stopped)\n"
		"  -S: write the sequence and delivery counts to this descriptor (xtapd)\n"
		"  SIGUSR1 prints the counters as JSON on standard output, SIGTERM stops\n");
}

/* For xtapd (x3sup.c): after every change, one line of at most PIPE_BUF
 * bytes (atomic on a pipe), so that when this process dies xtapd knows the
 * next sequence number and how many PDUs were never confirmed. A full pipe
 * skips a line; the next change writes the totals again. */
static void status_line(struct x3s *s, bool final)
{
	char b[320];
	uint64_t not_ip = s->n.not_udp;

	for (int i = 0; i < CD_VERDICT_N; i++)
		not_ip += s->n.not_ip[i];
	if (s->status_fd < 0 ||
	    (!final && s->n.pdus == s->status_sent_pdus && s->n.confirmed == s->status_sent_confirmed &&
	     s->state == s->status_sent_state && s->n.kernel_drops + not_ip == s->status_sent_unframed))
		return;
	int n = snprintf(b, sizeof(b),
			 "x3 next %" PRIu32 " pdus %" PRIu64 " confirmed %" PRIu64 " full %" PRIu64
			 " unconfirmed %" PRIu64 " final %d state %d drops %" PRIu64 " notip %" PRIu64
			 " connects %" PRIu64 " tlsfail %" PRIu64 " disconnects %" PRIu64 " bytes %" PRIu64 "\n",
			 s->next_seq, s->n.pdus, s->n.confirmed, s->n.buffer_full, s->n.unconfirmed_at_exit, final,
			 (int)s->state, s->n.kernel_drops, not_ip, s->n.connects, s->n.tls_failures, s->n.disconnects,
			 s->n.bytes_written);
	if (write(s->status_fd, b, (size_t)n) == n) {
		s->status_sent_pdus = s->n.pdus;
		s->status_sent_confirmed = s->n.confirmed;
		s->status_sent_state = s->state;
		s->status_sent_unframed = s->n.kernel_drops + not_ip;
	}
}

/* One turn of the loop: poll the ring, the signals and the connection. The
 * ring wakes it when the kernel hands a block over (full, or after
 * X3S_RING_TOV_MS), so under load one turn takes hundreds of copies. */
static int turn(struct x3s *s, int timeout, bool copies)
{
	struct pollfd pfd[3];
	nfds_t n = 0;

	pfd[n++] = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = copies ? s->rfd : -1, .events = POLLIN };
	if (s->fd >= 0) {
		short ev = POLLIN;
		if (s->state == C_CONNECTING || s->want_write || (s->state == C_UP && s->sent < s->tail))
			ev |= POLLOUT;
		pfd[n++] = (struct pollfd){ .fd = s->fd, .events = ev };
	}
	if (poll(pfd, n, timeout) < 0 && errno != EINTR)
		fatal("poll");
	int sig = 0;
	if (pfd[0].revents & POLLIN) {
		struct signalfd_siginfo si;
		if (read(s->sfd, &si, sizeof(si)) == sizeof(si))
			sig = (int)si.ssi_signo;
	}
	if (copies) {
		read_ring(s); /* a block's status is one read: no need to trust revents */
		ring_drops(s);
		/* the device went down or away: the kernel unhooked the ring and
		 * set ENETDOWN, which would make every poll return at once. The
		 * process stops (the same drain and counts as at SIGTERM) and
		 * xtapd starts the next one on the device as it is then. */
		if (pfd[1].revents & (POLLERR | POLLNVAL)) {
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(s->rfd, SOL_SOCKET, SO_ERROR, &err, &el);
			log_warnx("%s: the packet ring on %s: %s: stopping", s->cd->name, s->ifname,
				  err ? strerror(err) : "poll error");
			s->ring_failed = true;
			if (!sig)
				sig = SIGTERM;
		}
	}
	if (n == 3 && pfd[2].revents && s->fd >= 0)
		serve_tls(s, pfd[2].revents);
	else if (s->state == C_UP)
		write_buffer(s); /* new PDUs from this turn */
	timers(s);
	return sig;
}

/* An X1 slot's statements, and at SIGHUP its new ones from xtapd (x3sup.c
 * soft_change: only the direction targets and the correlation may differ;
 * anything else is refused here, and xtapd restarts the process for it). */
static struct xtap_cfg_cdest x1cd;

static void new_targets(struct x3s *s, int cdfd)
{
	struct xtap_cfg_cdest n, t;

	if (cdfd < 0)
		return; /* a configured destination: SIGHUP means nothing */
	while (read(cdfd, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
		t = n;
		memcpy(t.x3.targets, x1cd.x3.targets, sizeof(t.x3.targets));
		t.x3.n_targets = x1cd.x3.n_targets;
		t.x3.correlation = x1cd.x3.correlation;
		if (memcmp(&t, &x1cd, sizeof(t)) || n.x3.n_targets > XTAP_CFG_X3_TARGETS_MAX) {
			log_warnx("%s: new statements refused: more than the direction targets differ", s->cd->name);
			continue;
		}
		memcpy(x1cd.x3.targets, n.x3.targets, sizeof(n.x3.targets));
		x1cd.x3.n_targets = n.x3.n_targets;
		x1cd.x3.correlation = n.x3.correlation;
		log_info("%s: %zu direction targets", s->cd->name, x1cd.x3.n_targets);
	}
}

int xtap_x3_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "no-seccomp", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cfgpath = NULL, *name = NULL, *user = NULL;
	bool no_seccomp = false;
	int level = LOG_LVL_INFO, c, cdfd = -1;
	static struct x3s s;

	s.status_fd = -1;
	while ((c = getopt_long(argc, argv, "f:d:u:l:s:S:i:C:h", lo, NULL)) != -1) {
		switch (c) {
		case 'C': cdfd = atoi(optarg); break;
		case 'i': s.ifname = optarg; break;
		case 's': s.next_seq = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'S': s.status_fd = atoi(optarg); break;
		case 'f': cfgpath = optarg; break;
		case 'd': name = optarg; break;
		case 'u': user = optarg; break;
		case 'l': level = atoi(optarg); break;
		case 'N': no_seccomp = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if ((!cfgpath == (cdfd < 0)) || !name || optind != argc || (cdfd >= 0 && !s.ifname)) {
		usage(stderr);
		return 2;
	}
	log_init("xtap-x3", level);
	struct xtap_config *cfg = calloc(1, sizeof(*cfg));
	struct xtap_config_errors *errs = calloc(1, sizeof(*errs));
	if (!cfg || !errs)
		fatalx("out of memory");
	if (cdfd >= 0) {
		/* xtapd's own statements for an X1 destination (x3sup.c), written
		 * whole into the pipe before the fork: the same image wrote them */
		if (read(cdfd, &x1cd, sizeof(x1cd)) != (ssize_t)sizeof(x1cd))
			fatalx("-C %d: no statements", cdfd);
		x1cd.name[sizeof(x1cd.name) - 1] = '\0';
		if (strcmp(x1cd.name, name) || !x1cd.x3.on || x1cd.x3.n_targets > XTAP_CFG_X3_TARGETS_MAX)
			fatalx("-C %d: the statements are not those of '%s'", cdfd, name);
		fcntl(cdfd, F_SETFL, O_NONBLOCK); /* kept: new direction targets at SIGHUP */
		s.cd = &x1cd;
	} else {
		if (xtap_config_load(cfgpath, cfg, errs)) {
			xtap_config_report(cfgpath, errs, stderr);
			return 1;
		}
		for (size_t i = 0; i < cfg->n_cdests && !s.cd; i++)
			if (!strcmp(cfg->cdests[i].name, name))
				s.cd = &cfg->cdests[i];
		if (!s.cd || !s.cd->x3.on)
			fatalx("%s: no content destination '%s' with x3 statements", cfgpath, name);
	}
	free(errs);
	s.x3 = &s.cd->x3;
	to_sockaddr(&s.x3->addr, s.x3->port, &s.peer, &s.peerlen);
	hostport_str(&s.peer, s.peer_s, sizeof(s.peer_s));

	/* core dumps would hold the key and intercepted packets */
	struct rlimit nocore = { 0, 0 };
	setrlimit(RLIMIT_CORE, &nocore);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	s.ctx = tls_setup(s.x3);
	if (!s.ifname)
		s.ifname = cfg->vt_peer;
	s.ufd = open_udp(s.cd);
	open_ring(&s);
	s.cap = s.x3->buffer;
	s.buf = malloc(s.cap);
	if (!s.buf)
		fatalx("out of memory for a %zu-byte buffer", s.cap);
	/* every page of the bound touched now, not one page fault per 4 KiB of
	 * PDUs in the first pass through it; it is the memory the process may
	 * hold anyway */
	for (size_t o = 0; o < s.cap; o += 4096)
		((volatile uint8_t *)s.buf)[o] = 0;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	s.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s.sfd < 0)
		fatal("signalfd");
	/* OpenSSL's certificate checks reach localtime(): its zone file is read
	 * once here, not under seccomp (found with strace: openat killed it) */
	tzset();
	/* stdio would fstat() standard output on its first use, under seccomp */
	static char outbuf[8192];
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	if (user && xtap_drop_privileges("xtap-x3", user))
		return 1;
	if (!no_seccomp && install_seccomp(s.peer.ss_family))
		fatalx("seccomp");
	s.fd = -1;
	s.backoff_ms = X3S_BACKOFF_MIN_MS;
	s.last_ka = now_ms();
	set_state(&s, C_DOWN);
	log_info("%s: serving over x3 to %s", s.cd->name, s.peer_s);

	for (;;) {
		int sig = turn(&s, 100, true);
		status_line(&s, false);
		if (sig == SIGUSR1)
			print_stats(&s, stdout);
		else if (sig == SIGHUP)
			new_targets(&s, cdfd);
		else if (sig)
			break;
	}
	/* stop: no more copies; try to get what is buffered confirmed */
	int64_t end = now_ms() + X3S_DRAIN_MS;
	while (s.head < s.tail && now_ms() < end) {
		turn(&s, 50, false);
		status_line(&s, false);
	}
	s.n.unconfirmed_at_exit = s.buffered_pdus;
	ring_drops(&s);
	print_stats(&s, stdout);
	status_line(&s, true);
	if (s.ssl) {
		SSL_shutdown(s.ssl);
		SSL_free(s.ssl);
	}
	int rc = s.ring_failed ? 1 : 0;
	if (!no_seccomp)
		xtap_seccomp_exit(rc);
	return rc;
}
