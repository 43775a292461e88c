// SPDX-License-Identifier: BSD-2-Clause
/* xtap-cd: a content destination. Receives the copies xtap (or a Juniper
 * router running FlowTapLite) sends over UDP, checks them, writes the
 * intercepted packets to a pcap file and prints what it counted
 * (docs/content-destination.md). The summary never shows packet contents or
 * the addresses inside them: targets stay out of ordinary output. */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "cd_wire.h"
#include "cliarg.h"
#include "hostport.h"

#define CD_DEFAULT_PORT 30030 /* Wireshark's default port for jmirror */
/* IP total length is 16 bits, so no UDP payload is longer than this */
#define CD_DGRAM_MAX 65535
#define CD_SNAPLEN 65535 /* whole packets: nothing longer can arrive */
#define CD_RCVBUF (4 << 20) /* absorbs bursts; the kernel caps it at rmem_max */
#define CD_IDLE_FLUSH_MS 1000 /* flush the pcap after this long without traffic */
#define CD_BATCH 1024 /* datagrams between looks at the clock and signals */
/* queued datagrams read after a stop, at most: about what a full receive
 * buffer (8 MiB at most, twice CD_RCVBUF) holds at roughly 1 KiB charged per
 * small copy; the bound keeps a flood from delaying the exit */
#define CD_DRAIN_MAX 8192
#define CD_MAX_SECONDS 31536000.0 /* -t bound (a year) keeps the ms arithmetic exact */
/* Distinct (intercept id, session id) pairs counted one by one; more go to
 * one "other" line so a flood of ids cannot grow memory. Half the slots at
 * most are used so that probing stays short. */
#define CD_IDS_SLOTS 4096
#define CD_IDS_MAX (CD_IDS_SLOTS / 2)

struct count {
	uint64_t packets, bytes;
};

struct id_slot {
	bool used;
	uint32_t intercept_id, session_id;
	struct count c;
};

struct stats {
	uint64_t received; /* datagrams */
	struct count written;
	struct count plain;
	struct count other_ids; /* JMirror pairs past CD_IDS_MAX */
	uint64_t reason[CD_VERDICT_N];
	uint64_t filtered;
	uint64_t kernel_drops; /* SO_RXQ_OVFL: receive buffer was full */
	size_t nids;
	struct id_slot ids[CD_IDS_SLOTS];
};

struct opts {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool default_addr; /* -l gave no address: [::], or 0.0.0.0 without IPv6 */
	const char *wfile;
	bool filter;
	uint32_t f_intercept, f_session;
	uint64_t max_packets; /* 0: no limit */
	double seconds; /* 0: no limit */
	bool json;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xtap-cd [-l [ADDR:]PORT] [-w FILE] [-i ID] [-c N] [-t SECONDS] [--json]\n"
		"  -l [ADDR:]PORT  listen here (default [::]:%d, dual-stack; IPv6 in brackets;\n"
		"                  port 0 lets the kernel choose, the chosen one is printed)\n"
		"  -w FILE         write the intercepted packets as pcap (LINKTYPE_RAW); - is stdout\n"
		"  -i ID           keep only this intercept id (hex, optional 0x, as X-MD-Intercept-Id)\n"
		"  -c N            stop after writing N packets\n"
		"  -t SECONDS      stop after this long\n"
		"  --json          print the summary as JSON\n",
		CD_DEFAULT_PORT);
}

/* "[ADDR:]PORT" (hostport.h); no ADDR: the default, [::] or 0.0.0.0 */
static int parse_listen(const char *s, struct opts *o)
{
	if (hostport_parse(s, &o->addr, &o->addrlen))
		return -1;
	o->default_addr = !strchr(s, ':');
	return 0;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char buf[32];
	char *end;
	bool lost;
	int c;

	snprintf(buf, sizeof(buf), "%d", CD_DEFAULT_PORT);
	if (parse_listen(buf, o))
		errx(2, "internal: default listen address");
	while ((c = getopt_long(argc, argv, "l:w:i:c:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (parse_listen(optarg, o))
				errx(2,
				     "bad listen address '%s': expected [ADDR:]PORT, "
				     "IPv6 in brackets",
				     optarg);
			break;
		case 'w': o->wfile = optarg; break;
		case 'i':
			if (cd_parse_intercept_id(optarg, &o->f_intercept, &o->f_session, &lost))
				errx(2, "bad intercept id '%s': expected hex, at most 16 digits", optarg);
			if (lost)
				warnx("intercept id %s: the top two bits of the first word are the "
				      "JMirror version; keeping intercept id 0x%08" PRIx32 " session id 0x%08" PRIx32,
				      optarg, o->f_intercept, o->f_session);
			o->filter = true;
			break;
		case 'c':
			errno = 0;
			o->max_packets = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || o->max_packets == 0 || *optarg == '-')
				errx(2, "bad packet count '%s': expected a number from 1", optarg);
			break;
		case 't':
			if (cli_parse_seconds(optarg, CD_MAX_SECONDS, &o->seconds))
				errx(2, "bad time '%s': expected seconds, above 0, at most %.0f", optarg,
				     CD_MAX_SECONDS);
			break;
		case 'J': o->json = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
}

static int open_socket(struct opts *o)
{
	char a[INET6_ADDRSTRLEN + 8];
	int one = 1, zero = 0, rcvbuf = CD_RCVBUF;
	int fd;

	fd = socket(o->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && o->default_addr && errno == EAFNOSUPPORT) {
		/* no IPv6 on this host: the default becomes 0.0.0.0 */
		struct sockaddr_in *in4 = (struct sockaddr_in *)&o->addr;
		uint16_t port = ((struct sockaddr_in6 *)&o->addr)->sin6_port;

		memset(&o->addr, 0, sizeof(o->addr));
		in4->sin_family = AF_INET;
		in4->sin_addr.s_addr = htonl(INADDR_ANY);
		in4->sin_port = port;
		o->addrlen = sizeof(*in4);
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		err(1, "cannot open a UDP socket");
	/* [::] (the default) also takes IPv4 copies, whatever net.ipv6.bindv6only says */
	if (o->addr.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&o->addr)->sin6_addr) &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)))
		err(1, "cannot make %s dual-stack", hostport_str(&o->addr, a, sizeof(a)));
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)))
		err(1, "cannot enable receive timestamps");
	if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)))
		err(1, "cannot enable drop counting");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
		err(1, "cannot size the receive buffer");
	if (bind(fd, (struct sockaddr *)&o->addr, o->addrlen))
		err(1, "cannot bind %s", hostport_str(&o->addr, a, sizeof(a)));
	o->addrlen = sizeof(o->addr);
	if (getsockname(fd, (struct sockaddr *)&o->addr, &o->addrlen))
		err(1, "cannot read the bound address");
	return fd;
}

static struct count *id_count(struct stats *st, uint32_t intercept_id, uint32_t session_id)
{
	/* multiplicative hash of both words; probing is linear */
	uint32_t h = (intercept_id * 0x9e3779b1u) ^ (session_id * 0x85ebca77u);
	size_t i = (h ^ h >> 16) % CD_IDS_SLOTS;

	for (;;) {
		struct id_slot *s = &st->ids[i];

		if (s->used && s->intercept_id == intercept_id && s->session_id == session_id)
			return &s->c;
		if (!s->used) {
			if (st->nids >= CD_IDS_MAX)
				return &st->other_ids;
			s->used = true;
			s->intercept_id = intercept_id;
			s->session_id = session_id;
			st->nids++;
			return &s->c;
		}
		i = (i + 1) % CD_IDS_SLOTS;
	}
}

static void count_add(struct count *c, size_t bytes)
{
	c->packets++;
	c->bytes += bytes;
}

/* One datagram: count it in exactly one place; true if it is to be written. */
static bool account(struct stats *st, const struct opts *o, const struct cd_copy *cp)
{
	st->received++;
	if (cp->verdict != CD_PLAIN && cp->verdict != CD_JMIRROR) {
		st->reason[cp->verdict]++;
		return false;
	}
	/* a plain copy carries no intercept id, so a filter never keeps it */
	if (o->filter &&
	    (cp->verdict == CD_PLAIN || cp->intercept_id != o->f_intercept || cp->session_id != o->f_session)) {
		st->filtered++;
		return false;
	}
	if (cp->verdict == CD_PLAIN)
		count_add(&st->plain, cp->inner_len);
	else
		count_add(id_count(st, cp->intercept_id, cp->session_id), cp->inner_len);
	count_add(&st->written, cp->inner_len);
	return true;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The arrival time the kernel stamped, or now if it did not. Also picks up
 * the socket's drop counter. */
static void read_cmsgs(struct msghdr *mh, struct stats *st, struct timespec *ts)
{
	bool stamped = false;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(*ts))) {
			memcpy(ts, CMSG_DATA(c), sizeof(*ts));
			stamped = true;
		} else if (c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
			uint32_t drops;

			/* cumulative for the socket since it was opened */
			memcpy(&drops, CMSG_DATA(c), sizeof(drops));
			st->kernel_drops = drops;
		}
	}
	if (!stamped)
		clock_gettime(CLOCK_REALTIME, ts);
}

static int id_cmp(const void *a, const void *b)
{
	const struct id_slot *x = *(const struct id_slot *const *)a;
	const struct id_slot *y = *(const struct id_slot *const *)b;

	if (x->intercept_id != y->intercept_id)
		return x->intercept_id < y->intercept_id ? -1 : 1;
	if (x->session_id != y->session_id)
		return x->session_id < y->session_id ? -1 : 1;
	return 0;
}

static void print_summary(FILE *f, const struct stats *st, const struct opts *o)
{
	const struct id_slot *sorted[CD_IDS_MAX];
	size_t n = 0;

	for (size_t i = 0; i < CD_IDS_SLOTS; i++)
		if (st->ids[i].used)
			sorted[n++] = &st->ids[i];
	qsort(sorted, n, sizeof(sorted[0]), id_cmp);

	if (o->json) {
		fprintf(f,
			"{\"received\": %" PRIu64 ", \"written\": {\"packets\": %" PRIu64 ", \"bytes\": %" PRIu64
			"}, \"plain\": {\"packets\": %" PRIu64 ", \"bytes\": %" PRIu64 "}, \"intercepts\": [",
			st->received, st->written.packets, st->written.bytes, st->plain.packets, st->plain.bytes);
		for (size_t i = 0; i < n; i++)
			fprintf(f,
				"%s{\"intercept_id\": \"0x%08" PRIx32 "\", \"session_id\": "
				"\"0x%08" PRIx32 "\", \"packets\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
				i ? ", " : "", sorted[i]->intercept_id, sorted[i]->session_id, sorted[i]->c.packets,
				sorted[i]->c.bytes);
		fprintf(f,
			"], \"other_intercepts\": {\"packets\": %" PRIu64 ", \"bytes\": %" PRIu64 "}, \"malformed\": {",
			st->other_ids.packets, st->other_ids.bytes);
		for (int v = CD_TOO_SHORT; v < CD_VERDICT_N; v++)
			fprintf(f, "%s\"%s\": %" PRIu64, v > CD_TOO_SHORT ? ", " : "", cd_verdict_key(v),
				st->reason[v]);
		fprintf(f, "}, \"filtered\": %" PRIu64 ", \"kernel_drops\": %" PRIu64 "}\n", st->filtered,
			st->kernel_drops);
		return;
	}
	fprintf(f, "received %" PRIu64 " datagrams, wrote %" PRIu64 " packets, %" PRIu64 " bytes\n", st->received,
		st->written.packets, st->written.bytes);
	fprintf(f, "plain: %" PRIu64 " packets, %" PRIu64 " bytes\n", st->plain.packets, st->plain.bytes);
	for (size_t i = 0; i < n; i++)
		fprintf(f,
			"intercept 0x%08" PRIx32 " session 0x%08" PRIx32 ": %" PRIu64 " packets, %" PRIu64 " bytes\n",
			sorted[i]->intercept_id, sorted[i]->session_id, sorted[i]->c.packets, sorted[i]->c.bytes);
	if (st->other_ids.packets)
		fprintf(f, "other intercepts (past %d ids): %" PRIu64 " packets, %" PRIu64 " bytes\n", CD_IDS_MAX,
			st->other_ids.packets, st->other_ids.bytes);
	for (int v = CD_TOO_SHORT; v < CD_VERDICT_N; v++)
		fprintf(f, "%s: %" PRIu64 "\n", cd_verdict_name(v), st->reason[v]);
	fprintf(f, "filtered: %" PRIu64 "\n", st->filtered);
	fprintf(f, "dropped by kernel: %" PRIu64 "\n", st->kernel_drops);
}

static void install_signals(sigset_t *orig)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	/* blocked except inside ppoll, so a signal cannot slip in between the
	 * check of stop_signal and the wait */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, orig))
		err(1, "cannot block signals");
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		err(1, "cannot install signal handlers");
	sigdelset(orig, SIGINT);
	sigdelset(orig, SIGTERM);
}

enum rx { RX_EMPTY, RX_BUDGET, RX_COUNT_REACHED, RX_ERROR };

/* Receive, check, count and write what is queued on the socket, at most
 * budget datagrams. */
static enum rx receive_queued(int fd, const struct opts *o, pcap_dumper_t *pd, struct stats *st, size_t budget)
{
	static uint8_t buf[CD_DGRAM_MAX];

	for (; budget; budget--) {
		union {
			char b[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b)
		};
		struct pcap_pkthdr ph;
		struct cd_copy cp;
		struct timespec ts;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return RX_EMPTY;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn("cannot receive");
			return RX_ERROR;
		}
		read_cmsgs(&mh, st, &ts);
		cd_classify(buf, (size_t)n, &cp);
		if (!account(st, o, &cp))
			continue;
		if (pd) {
			ph.ts.tv_sec = ts.tv_sec;
			ph.ts.tv_usec = ts.tv_nsec / 1000;
			ph.caplen = ph.len = (bpf_u_int32)cp.inner_len;
			pcap_dump((u_char *)pd, &ph, buf + cp.inner_off);
		}
		if (o->max_packets && st->written.packets >= o->max_packets)
			return RX_COUNT_REACHED;
	}
	return RX_BUDGET;
}

/* Receive until a stop condition. Returns 0, or -1 on an error (already
 * reported). */
static int run(int fd, const struct opts *o, pcap_dumper_t *pd, struct stats *st, const sigset_t *waitmask)
{
	int64_t deadline = o->seconds > 0 ? now_ms() + (int64_t)ceil(o->seconds * 1000) : 0;
	uint64_t flushed = 0;
	enum rx rx;

	while (!stop_signal) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t wait = CD_IDLE_FLUSH_MS;
		struct timespec tmo;
		int r;

		if (deadline) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				break;
			if (left < wait)
				wait = left;
		}
		tmo.tv_sec = wait / 1000;
		tmo.tv_nsec = (wait % 1000) * 1000000;
		r = ppoll(&pfd, 1, &tmo, waitmask);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			warn("cannot wait for copies");
			return -1;
		}
		if (r == 0) {
			/* idle: let readers of the growing file see everything so far */
			if (pd && flushed != st->written.packets) {
				if (pcap_dump_flush(pd)) {
					warn("cannot write %s", o->wfile);
					return -1;
				}
				flushed = st->written.packets;
			}
			continue;
		}
		rx = receive_queued(fd, o, pd, st, CD_BATCH);
		if (rx == RX_COUNT_REACHED)
			return 0;
		if (rx == RX_ERROR)
			return -1;
	}
	/* A signal or the clock: copies the kernel queued before it arrived
	 * through, so they are counted too (bounded, in case of a flood). */
	rx = receive_queued(fd, o, pd, st, CD_DRAIN_MAX);
	return rx == RX_ERROR ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct stats st;
	struct opts o = { 0 };
	pcap_dumper_t *pd = NULL;
	pcap_t *dead = NULL;
	FILE *wf;
	char a[INET6_ADDRSTRLEN + 8];
	sigset_t waitmask;
	int fd, rc = 0;

	parse_args(argc, argv, &o);
	install_signals(&waitmask);
	fd = open_socket(&o);
	if (o.wfile) {
		dead = pcap_open_dead(DLT_RAW, CD_SNAPLEN);
		if (!dead)
			errx(1, "cannot set up pcap output");
		/* opened here rather than by pcap_dump_open, whose message
		 * repeats the file name */
		wf = strcmp(o.wfile, "-") ? fopen(o.wfile, "wbe") : stdout;
		if (!wf)
			err(1, "cannot write %s", o.wfile);
		pd = pcap_dump_fopen(dead, wf);
		if (!pd)
			errx(1, "cannot write %s: %s", o.wfile, pcap_geterr(dead));
	}
	fprintf(stderr, "xtap-cd: listening on %s\n", hostport_str(&o.addr, a, sizeof(a)));
	if (run(fd, &o, pd, &st, &waitmask))
		rc = 1;
	if (pd) {
		/* after a failure in run() this was said already */
		if (pcap_dump_flush(pd) && rc == 0) {
			warn("cannot write %s", o.wfile);
			rc = 1;
		}
		pcap_dump_close(pd);
		pcap_close(dead);
	}
	close(fd);
	/* with -w - the pcap owns stdout */
	print_summary(o.wfile && !strcmp(o.wfile, "-") ? stderr : stdout, &st, &o);
	return rc;
}
