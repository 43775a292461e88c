// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_ctl: the control plane's speed, over ONE SSH session to xtapd
 * (issue 6). For each size N: N ADDs pipelined, the memory then resident
 * (xtapd's VmRSS, memlock of the pinned maps), a sample of request-reply ADDs
 * at N criteria, a LIST of everything, and N DELETEs pipelined.
 *
 * usage: bench_ctl -H HOST -p PORT -u USER -K KEY --known-hosts FILE
 *                  --pid XTAPD_PID --pin PIN_DIR [--prefix] [--keep] SIZE...
 * The SSH password comes from $DTCP_PASSWORD. --prefix: each criterion a /28
 * (the prefix index) instead of an address (the exact index); --keep: the
 * last size's criteria are left installed after the memory figures (to
 * measure a restart with them; the rest of that size is not measured).
 *
 * Prints `BENCH name value unit` and `RATIO name value` lines, then a table.
 * Match fields (the generated addresses) are never printed.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <libssh/libssh.h>

#include "dtcp.h"

/* requests in flight: about 1 MiB of ADDs, far below what the worker queues
 * for the monitor (16 MiB) before it drops a connection */
#define WINDOW 4096
#define WRITE_BATCH 64 /* messages per ssh_channel_write */
#define RR_SAMPLE 2000 /* request-reply ADDs per size ... */
#define RR_MAX_S 20.0 /* ... or this many seconds, whichever first */
#define REPLY_TIMEOUT_MS 120000 /* a reply later than this is a failure, not a slow figure */
#define MAX_SIZES 8

struct bench {
	ssh_session ssh;
	ssh_channel ch;
	const char *user, *key, *pin;
	size_t keylen;
	long pid;
	uint64_t seq;
	uint32_t next_addr; /* host part of the next 10.0.0.0/8 source address */
	bool prefix; /* --prefix: sources are disjoint /28s of 10.0.0.0/8, not addresses */
	bool keep; /* --keep: the last size's criteria stay (to measure a restart with them) */
	size_t list_max; /* sizes above: no LIST of everything (0: always). xtapd's worker
			     * drops a client with more than 64 MiB of replies queued, and a
			     * LIST of 1M criteria is about 320 MiB (docs/status.md) */
	char rx[DTCP_MSG_MAX * 4];
	size_t nrx, used; /* used: bytes of the last reply, dropped at the next read */
	struct dtcp_framer fr;
	struct dtcp_reply_view v;
	uint32_t *ids; /* Criteria-IDs of the criteria added and not yet deleted */
	size_t nids, capids;
	unsigned errors;
};

struct result {
	size_t n;
	double add_pipe, add_rr, del_pipe, list_s;
	long rss_kb, rss0_kb;
	uint64_t map_bytes, map0_bytes;
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_ctl: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- requests ---- */

static size_t sign(struct bench *b, char *out, size_t n, size_t cap)
{
	n += (size_t)snprintf(out + n, cap - n, "Seq: %" PRIu64 "\r\n", b->seq++);
	n = dtcp_sign_append(b->key, b->keylen, out, n, cap);
	if (!n)
		die("cannot sign");
	return n;
}

static size_t fmt_add(struct bench *b, char *out, size_t cap)
{
	uint32_t a = b->next_addr++;
	int n;

	/* --prefix: the a-th /28 (16 per /24 region: a node per /24 in the prefix index);
	 * a size is deleted before the next one, so the numbers may start again */
	if (b->prefix)
		a = (a & 0xfffff) << 4;
	n = snprintf(out, cap,
		     "ADD DTCP/0.8\r\nCsource-ID: %s\r\nCdest-ID: cd1\r\n"
		     "Source-Address: 10.%u.%u.%u%s\r\nX-JTap-Cdest-Dest-Address: 203.0.113.10\r\n"
		     "X-JTap-Cdest-Dest-Port: 7890\r\nFlags: STATIC\r\n",
		     b->user, (a >> 16) & 255, (a >> 8) & 255, a & 255, b->prefix ? "/28" : "");

	return sign(b, out, (size_t)n, cap);
}

static size_t fmt_delete(struct bench *b, uint32_t id, char *out, size_t cap)
{
	int n = snprintf(out, cap, "DELETE DTCP/0.8\r\nCsource-ID: %s\r\nCriteria-ID: %u\r\nFlags: STATIC\r\n", b->user,
			 id);

	return sign(b, out, (size_t)n, cap);
}

static size_t fmt_list(struct bench *b, char *out, size_t cap)
{
	int n = snprintf(out, cap, "LIST DTCP/0.8\r\nCsource-ID: %s\r\nFlags: CRITERIA\r\n", b->user);

	return sign(b, out, (size_t)n, cap);
}

static void send_bytes(struct bench *b, const char *p, size_t n)
{
	if (ssh_channel_write(b->ch, p, (uint32_t)n) != (int)n)
		die("write: %s", ssh_get_error(b->ssh));
}

/* ---- replies ---- */

static void keep_id(struct bench *b, uint32_t id)
{
	if (b->nids == b->capids) {
		b->capids = b->capids ? b->capids * 2 : 4096;
		b->ids = realloc(b->ids, b->capids * sizeof(*b->ids));
		if (!b->ids)
			die("memory");
	}
	b->ids[b->nids++] = id;
}

/* Reads one whole reply (waiting at most REPLY_TIMEOUT_MS if block, else
 * returning 0 when none is there yet). Returns 1 with b->v filled. */
static int next_reply(struct bench *b, bool block)
{
	/* the last reply stayed in place until now: b->v.msg points into it */
	memmove(b->rx, b->rx + b->used, b->nrx - b->used);
	b->nrx -= b->used;
	b->used = 0;
	for (;;) {
		size_t skip, len;
		enum dtcp_frame_result r = dtcp_frame_next(&b->fr, b->rx, b->nrx, &skip, &len);
		int k;

		if (r == DTCP_FRAME_MESSAGE) {
			if (dtcp_reply_parse(b->rx + skip, len, b->key, b->keylen, &b->v) || !b->v.signature_ok)
				die("a reply that is not a signed DTCP reply");
			b->used = skip + len;
			dtcp_framer_reset(&b->fr);
			return 1;
		}
		if (r == DTCP_FRAME_OVERSIZE)
			die("reply over 64 KiB");
		k = block ? ssh_channel_read_timeout(b->ch, b->rx + b->nrx, (uint32_t)(sizeof(b->rx) - b->nrx), 0,
						     REPLY_TIMEOUT_MS) :
			    ssh_channel_read_nonblocking(b->ch, b->rx + b->nrx, (uint32_t)(sizeof(b->rx) - b->nrx), 0);
		if (k == SSH_ERROR || (k == 0 && ssh_channel_is_eof(b->ch)))
			die("the session ended: %s", ssh_get_error(b->ssh));
		if (k == 0 && block)
			die("no reply within %d s", REPLY_TIMEOUT_MS / 1000);
		if (k == 0)
			return 0;
		b->nrx += (size_t)k;
	}
}

/* Counts a reply; for an ADD answered 200, keeps its Criteria-ID. */
static void take_reply(struct bench *b, bool is_add)
{
	const struct dtcp_hdr *h;

	if (b->v.code != 200) {
		if (b->errors++ < 5)
			fprintf(stderr, "bench_ctl: reply %d\n", b->v.code);
		return;
	}
	if (is_add && (h = dtcp_msg_get(&b->v.msg, "Criteria-ID")))
		keep_id(b, (uint32_t)strtoul(h->value.p, NULL, 10));
}

/* n requests made by fmt (ADD when ids is NULL, else DELETE of ids[i]),
 * at most WINDOW unanswered. Returns the seconds from the first write to the
 * last reply. */
static double pipelined(struct bench *b, size_t n, const uint32_t *ids)
{
	static char out[WRITE_BATCH * 512];
	size_t sent = 0, answered = 0;
	double t0 = now_s();

	while (answered < n) {
		while (sent < n && sent - answered + WRITE_BATCH <= WINDOW) {
			size_t len = 0;

			for (int k = 0; k < WRITE_BATCH && sent < n; k++, sent++)
				len += ids ? fmt_delete(b, ids[sent], out + len, sizeof(out) - len) :
					     fmt_add(b, out + len, sizeof(out) - len);
			send_bytes(b, out, len);
		}
		/* what has come, without waiting; wait only when the window is full or all is sent */
		bool block = sent == n || sent - answered + WRITE_BATCH > WINDOW;

		while (answered < n && next_reply(b, block)) {
			take_reply(b, !ids);
			answered++;
			block = false;
		}
	}
	return now_s() - t0;
}

/* One ADD, wait for its reply, the next. Returns ADDs per second. */
static double request_reply(struct bench *b)
{
	char out[512];
	double t0 = now_s(), t;
	size_t i;

	for (i = 0; i < RR_SAMPLE; i++) {
		send_bytes(b, out, fmt_add(b, out, sizeof(out)));
		next_reply(b, true);
		take_reply(b, true);
		if ((t = now_s() - t0) > RR_MAX_S)
			break;
	}
	return (double)i / (now_s() - t0);
}

/* LIST of everything this source owns: seconds until the last part. */
static double list_all(struct bench *b, size_t expect)
{
	char out[512];
	double t0 = now_s();
	size_t got = 0;

	send_bytes(b, out, fmt_list(b, out, sizeof(out)));
	for (;;) {
		next_reply(b, true);
		if (b->v.code != 200)
			die("LIST answered %d", b->v.code);
		/* the raw lines: a LIST part has more headers than dtcp_msg keeps */
		for (const char *p = b->rx, *end = b->rx + b->used;
		     (p = memmem(p, (size_t)(end - p), "\nCRITERIA-ID:", 13)); p += 13)
			got++;
		if (b->v.last)
			break;
	}
	if (got != expect)
		die("LIST gave %zu criteria, %zu expected", got, expect);
	return now_s() - t0;
}

/* ---- memory ---- */

/* VmRSS, and its parts printed as BENCH lines named after tag (when not NULL):
 * anonymous memory, file pages (the shared mappings of BPF arrays count
 * there) and shared memory */
static long rss_parts_kb(long pid, const char *tag)
{
	static const char *const part[] = { "RssAnon", "RssFile", "RssShmem" };
	char path[64], line[256], name[32];
	long kb = -1, v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (!(f = fopen(path, "r")))
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			kb = v;
		for (size_t i = 0; tag && i < sizeof(part) / sizeof(part[0]); i++) {
			snprintf(name, sizeof(name), "%s: %%ld kB", part[i]);
			if (sscanf(line, name, &v) == 1)
				printf("BENCH %s_%s %ld KiB\n", part[i], tag, v);
		}
	}
	fclose(f);
	return kb;
}

static long rss_kb(long pid)
{
	return rss_parts_kb(pid, NULL);
}

/* memlock of every map pinned under the pin folder, from the map fds' fdinfo
 * (what `bpftool map show` prints as memlock) */
static uint64_t map_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t sum = 0;

	if (!d)
		die("%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		char path[512], info[64], line[256];
		unsigned long long ml = 0;
		bool is_map = false;
		int fd;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR) {
			sum += map_bytes(path);
			continue;
		}
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		snprintf(info, sizeof(info), "/proc/self/fdinfo/%d", fd);
		if ((f = fopen(info, "r"))) {
			while (fgets(line, sizeof(line), f)) {
				is_map |= !strncmp(line, "map_type:", 9); /* not a program or link pin */
				sscanf(line, "memlock: %llu", &ml);
			}
			fclose(f);
			if (is_map)
				sum += ml;
		}
		close(fd);
	}
	closedir(d);
	return sum;
}

/* ---- session ---- */

static void connect_dtcp(struct bench *b, const char *host, int port, const char *known)
{
	const char *pw = getenv("DTCP_PASSWORD");
	int verbosity = SSH_LOG_NOLOG;
	bool no = false;

	if (!pw)
		die("DTCP_PASSWORD is not set");
	b->ssh = ssh_new();
	if (!b->ssh)
		die("ssh_new");
	ssh_options_set(b->ssh, SSH_OPTIONS_HOST, host);
	ssh_options_set(b->ssh, SSH_OPTIONS_PORT, &port);
	ssh_options_set(b->ssh, SSH_OPTIONS_USER, b->user);
	ssh_options_set(b->ssh, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
	ssh_options_set(b->ssh, SSH_OPTIONS_PROCESS_CONFIG, &no);
	ssh_options_set(b->ssh, SSH_OPTIONS_KNOWNHOSTS, known);
	if (ssh_connect(b->ssh) != SSH_OK)
		die("connect %s:%d: %s", host, port, ssh_get_error(b->ssh));
	/* the lab's own xtapd, started by the caller a moment ago: record its key */
	if (ssh_session_is_known_server(b->ssh) != SSH_KNOWN_HOSTS_OK &&
	    ssh_session_update_known_hosts(b->ssh) != SSH_OK)
		die("known hosts: %s", ssh_get_error(b->ssh));
	if (ssh_userauth_password(b->ssh, NULL, pw) != SSH_AUTH_SUCCESS)
		die("authentication: %s", ssh_get_error(b->ssh));
	b->ch = ssh_channel_new(b->ssh);
	if (!b->ch || ssh_channel_open_session(b->ch) != SSH_OK ||
	    ssh_channel_request_subsystem(b->ch, "flow-tap-dtcp") != SSH_OK)
		die("subsystem flow-tap-dtcp: %s", ssh_get_error(b->ssh));
}

static void bench_size(struct bench *b, size_t n, struct result *r, bool last)
{
	char tag[32];
	double t;
	size_t want;

	r->n = n;
	r->rss0_kb = rss_kb(b->pid);
	r->map0_bytes = map_bytes(b->pin);
	t = pipelined(b, n, NULL);
	if (b->nids != n)
		die("%zu of %zu ADDs answered 200", b->nids, n);
	r->add_pipe = (double)n / t;
	printf("BENCH add_pipelined_%zu %.0f add/s\n", n, r->add_pipe);
	snprintf(tag, sizeof(tag), "%zu", n);
	r->rss_kb = rss_parts_kb(b->pid, tag);
	r->map_bytes = map_bytes(b->pin);
	printf("BENCH rss_%zu %ld KiB\n", n, r->rss_kb);
	printf("BENCH rss_per_criterion_%zu %.0f bytes\n", n, (double)(r->rss_kb - r->rss0_kb) * 1024 / (double)n);
	printf("BENCH map_memlock_%zu %" PRIu64 " bytes\n", n, r->map_bytes);
	printf("BENCH map_bytes_per_criterion_%zu %.0f bytes\n", n, (double)r->map_bytes / (double)n);
	fflush(stdout);
	if (b->keep && last) {
		r->list_s = r->add_rr = r->del_pipe = -1; /* not measured */
		return;
	}
	if (b->list_max && n > b->list_max) {
		r->list_s = -1;
		printf("BENCH list_%zu skipped (--list-max %zu)\n", n, b->list_max);
	} else {
		r->list_s = list_all(b, n);
		printf("BENCH list_%zu %.3f s\n", n, r->list_s);
	}
	fflush(stdout);
	r->add_rr = request_reply(b);
	if (b->errors)
		die("%u requests failed", b->errors);
	printf("BENCH add_request_reply_%zu %.0f add/s\n", n, r->add_rr);
	printf("RATIO add_pipelined_vs_request_reply_%zu %.2f\n", n, r->add_pipe / r->add_rr);
	fflush(stdout);
	want = b->nids;
	t = pipelined(b, b->nids, b->ids);
	if (b->errors)
		die("%u DELETEs failed", b->errors);
	r->del_pipe = (double)want / t;
	printf("BENCH delete_pipelined_%zu %.0f delete/s\n", want, r->del_pipe);
	fflush(stdout);
	b->nids = 0;
	list_all(b, 0); /* nothing left before the next size */
}

int main(int argc, char **argv)
{
	static struct bench b;
	static struct result res[MAX_SIZES];
	const char *host = "127.0.0.1", *known = NULL;
	int port = 32001, opt, nres = 0;
	static const struct option lo[] = { { "known-hosts", 1, 0, 'k' },
					    { "pid", 1, 0, 'P' },
					    { "pin", 1, 0, 'B' },
					    { "list-max", 1, 0, 'L' },
					    { "prefix", 0, 0, 'X' },
					    { "keep", 0, 0, 'k' + 256 },
					    { 0, 0, 0, 0 } };

	b.user = "ftap";
	b.key = "Juniper";
	b.seq = 1;
	while ((opt = getopt_long(argc, argv, "H:p:u:K:", lo, NULL)) != -1) {
		switch (opt) {
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'u': b.user = optarg; break;
		case 'K': b.key = optarg; break;
		case 'k': known = optarg; break;
		case 'P': b.pid = atol(optarg); break;
		case 'B': b.pin = optarg; break;
		case 'L': b.list_max = strtoul(optarg, NULL, 10); break;
		case 'X': b.prefix = true; break;
		case 'k' + 256: b.keep = true; break;
		default: die("bad option");
		}
	}
	if (!known || !b.pid || !b.pin || optind >= argc || argc - optind > MAX_SIZES)
		die("usage: bench_ctl [-H HOST] [-p PORT] [-u USER] [-K KEY] --known-hosts FILE --pid PID "
		    "--pin DIR [--list-max N] [--prefix] [--keep] SIZE...");
	b.keylen = strlen(b.key);
	connect_dtcp(&b, host, port, known);
	for (int i = optind; i < argc; i++) {
		size_t n = strtoul(argv[i], NULL, 10);

		/* the generated sources are 10.0.0.0/8 addresses, or its /28s */
		if (!n || n > (b.prefix ? 1u << 20 : 1u << 24))
			die("size %s", argv[i]);
		bench_size(&b, n, &res[nres++], i == argc - 1);
	}
	ssh_channel_send_eof(b.ch);
	ssh_channel_close(b.ch);
	ssh_channel_free(b.ch);
	ssh_disconnect(b.ssh);
	ssh_free(b.ssh);

	printf("\n| criteria | ADD/s pipelined | ADD/s request-reply | pipelined / rr | DELETE/s pipelined "
	       "| LIST s | xtapd RSS MiB | RSS bytes/criterion | map memlock MiB | map bytes/criterion |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < nres; i++) {
		struct result *r = &res[i];

		char list[32];

		if (r->list_s < 0)
			snprintf(list, sizeof(list), "skipped");
		else
			snprintf(list, sizeof(list), "%.3f", r->list_s);
		printf("| %zu | %.0f | %.0f | %.1f | %.0f | %s | %.1f | %.0f | %.1f | %.0f |\n", r->n, r->add_pipe,
		       r->add_rr, r->add_pipe / r->add_rr, r->del_pipe, list, (double)r->rss_kb / 1024,
		       (double)(r->rss_kb - r->rss0_kb) * 1024 / (double)r->n, (double)r->map_bytes / 1048576,
		       (double)r->map_bytes / (double)r->n);
	}
	free(b.ids);
	return 0;
}
