/* SPDX-License-Identifier: BSD-2-Clause */
/* Golden-file runner: feeds each tests/dtcp/NAME.in through the library
 * (in-memory backend, fixed clock) and compares the reply stream with
 * NAME.out, or rewrites NAME.out with --update.
 *
 * NAME.in is message text plus directive lines starting with "% ":
 *   % session USER [PEER]  new SSH session (default: ftap1 192.0.2.10)
 *   % reset                new server: no criteria, IDs from 1
 *   % clock +SECS | =MS    move the fixed clock (starts 2024-05-01 12:00:00)
 *   % traffic ID PKTS BYTES  the datapath counted a match now
 *   % fail install|remove|read N   the next N backend calls fail
 *   % expire               run the expiry sweep
 *   % chunk N              feed following text N bytes at a time (0: whole)
 *   % lf | % crlf          line ends as written, or LF -> CRLF (default)
 *   % hex on | % hex off   in text, \xHH is the byte HH (NUL, CR, DEL...);
 *                          off by default, so text is taken as written
 *   % key TEXT             key for @sign (default Juniper)
 *   % max-criteria N | % max-cdests N   global limits
 *   % feed                 just flush: what follows is a separate feed
 *   % # text               comment
 * Text between directives is fed as one buffer (pipelined messages).
 * "Authentication-Info: @sign" is replaced by the HMAC of the bytes before
 * it in that message. Directives are echoed to the output, so NAME.out reads
 * as a transcript: replies verbatim (CRLF), harness lines starting "% ". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dtcp.h"
#include "memback.h"

#define T0_MS 1714564800000ull /* 2024-05-01 12:00:00.000 UTC */

struct run {
	FILE *out;
	struct memback *mb;
	struct dtcp_server srv;
	struct dtcp_session ss;
	bool have_session, closed;
	uint64_t now;
	size_t chunk;
	bool crlf;
	bool hex;
	char key[128];
	char *text; /* pending message text */
	size_t n, cap;
	FILE *corpus_dir_stream;
	const char *dump; /* write each fed buffer here (fuzz seed corpus) */
	int dumped;
	const char *name;
};

static void emit(void *arg, const char *buf, size_t n)
{
	struct run *r = arg;
	fwrite(buf, 1, n, r->out);
}

static void text_add(struct run *r, const char *s, size_t n)
{
	if (r->n + n + 1 > r->cap) {
		r->cap = (r->n + n + 1) * 2;
		r->text = realloc(r->text, r->cap);
		if (!r->text) {
			perror("realloc");
			exit(2);
		}
	}
	memcpy(r->text + r->n, s, n);
	r->n += n;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'  ? c - '0' :
		c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		c >= 'A' && c <= 'F' ? c - 'A' + 10 :
				       -1;
}

/* A text line with \xHH escapes decoded (% hex on); returns the new length. */
static size_t unhex(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0) {
			s[o++] = (char)(hexval(s[i + 2]) << 4 | hexval(s[i + 3]));
			i += 3;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

/* Replaces "@sign" placeholders with the HMAC over the message so far. */
static void sign_placeholders(struct run *r)
{
	static const char ph[] = "Authentication-Info: @sign";
	size_t msg_start = 0;

	for (size_t i = 0; i + sizeof(ph) - 1 <= r->n; i++) {
		/* A message starts after an empty line (or at the beginning). */
		if (i >= 1 && r->text[i - 1] == '\n' &&
		    (i == 1 || r->text[i - 2] == '\n' || (i >= 3 && r->text[i - 2] == '\r' && r->text[i - 3] == '\n')))
			msg_start = i;
		/* The header name in any case, the placeholder exactly. */
		if ((i == 0 || r->text[i - 1] == '\n') && strncasecmp(r->text + i, ph, sizeof(ph) - 6) == 0 &&
		    memcmp(r->text + i + sizeof(ph) - 6, ph + sizeof(ph) - 6, 5) == 0) {
			char hex[DTCP_HMAC_HEX + 1];
			if (dtcp_hmac_hex(r->key, strlen(r->key), r->text + msg_start, i - msg_start, hex)) {
				fprintf(stderr, "hmac failed\n");
				exit(2);
			}
			/* "@sign" is 5 bytes, the digest 40: rebuild the buffer. */
			size_t at = i + sizeof(ph) - 1 - 5;
			char *t = malloc(r->n + DTCP_HMAC_HEX + 1);
			memcpy(t, r->text, at);
			memcpy(t + at, hex, DTCP_HMAC_HEX);
			memcpy(t + at + DTCP_HMAC_HEX, r->text + at + 5, r->n - at - 5);
			free(r->text);
			r->text = t;
			r->n += DTCP_HMAC_HEX - 5;
			r->cap = r->n + 1;
		}
	}
}

static void dump_seed(struct run *r)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s-%d", r->dump, r->name, r->dumped++);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(2);
	}
	fwrite(r->text, 1, r->n, f);
	fclose(f);
}

static void open_session(struct run *r, const char *user, const char *peer)
{
	if (r->have_session)
		dtcp_session_free(&r->ss);
	if (dtcp_session_init(&r->ss, &r->srv, user, peer)) {
		fprintf(stderr, "session init failed\n");
		exit(2);
	}
	r->have_session = true;
	r->closed = false;
}

static void flush(struct run *r)
{
	if (r->n == 0)
		return;
	sign_placeholders(r);
	if (r->dump)
		dump_seed(r);
	if (r->closed) {
		fprintf(r->out, "%% ignored: session closed\n");
	} else {
		size_t step = r->chunk ? r->chunk : r->n;
		for (size_t off = 0; off < r->n && !r->closed; off += step) {
			size_t k = r->n - off < step ? r->n - off : step;
			fflush(r->out);
			if (dtcp_session_feed(&r->ss, r->text + off, k, r->now, emit, r) == DTCP_SESSION_CLOSE) {
				r->closed = true;
				fprintf(r->out, "%% session closed\n");
			}
		}
	}
	r->n = 0;
}

static void reset_server(struct run *r)
{
	if (r->have_session)
		dtcp_session_free(&r->ss);
	r->have_session = false;
	dtcp_server_free(&r->srv);
	memback_init(r->mb, r->out);
	dtcp_server_init(&r->srv, &r->mb->cfg, &r->mb->be, r->mb);
	open_session(r, "ftap1", "192.0.2.10");
}

static int directive(struct run *r, char *line)
{
	char a[256] = "", b[256] = "";
	unsigned long long x = 0, y = 0, z = 0;

	flush(r);
	fprintf(r->out, "%s\n", line);
	line += 2;
	if (!strncmp(line, "#", 1) || !strcmp(line, "feed"))
		return 0;
	if (sscanf(line, "session %255s %255s", a, b) >= 1)
		open_session(r, a, b[0] ? b : "192.0.2.10");
	else if (!strcmp(line, "reset"))
		reset_server(r);
	else if (sscanf(line, "clock +%llu", &x) == 1)
		r->now += x * 1000;
	else if (sscanf(line, "clock =%llu", &x) == 1)
		r->now = x;
	else if (sscanf(line, "traffic %llu %llu %llu", &x, &y, &z) == 3) {
		struct mem_crit *c = memback_find(r->mb, (uint32_t)x);
		if (!c) {
			fprintf(stderr, "%s: traffic for unknown criterion %llu\n", r->name, x);
			return -1;
		}
		c->cnt.packets += y;
		c->cnt.bytes += z;
		c->cnt.last_match_ms = r->now;
	} else if (sscanf(line, "fail %255s %llu", a, &x) == 2) {
		int *f = !strcmp(a, "install") ? &r->mb->fail_install :
			!strcmp(a, "remove")   ? &r->mb->fail_remove :
			!strcmp(a, "read")     ? &r->mb->fail_read :
						 NULL;
		if (!f)
			return -1;
		*f = (int)x;
	} else if (!strcmp(line, "expire")) {
		fprintf(r->out, "%% expired: %d\n", dtcp_server_expire(&r->srv, r->now));
	} else if (sscanf(line, "chunk %llu", &x) == 1)
		r->chunk = (size_t)x;
	else if (!strcmp(line, "lf"))
		r->crlf = false;
	else if (!strcmp(line, "crlf"))
		r->crlf = true;
	else if (!strcmp(line, "hex on"))
		r->hex = true;
	else if (!strcmp(line, "hex off"))
		r->hex = false;
	else if (sscanf(line, "key %127s", r->key) == 1)
		;
	else if (sscanf(line, "max-criteria %llu", &x) == 1)
		r->mb->cfg.max_criteria = (uint32_t)x;
	else if (sscanf(line, "max-cdests %llu", &x) == 1)
		r->mb->cfg.max_cdests = (uint8_t)x;
	else {
		fprintf(stderr, "%s: unknown directive: %s\n", r->name, line);
		return -1;
	}
	return 0;
}

/* Runs one .in file, writing the transcript to out. */
static int run_file(const char *path, FILE *out, const char *dump)
{
	static struct memback mb;
	struct run r = { .out = out, .mb = &mb, .now = T0_MS, .crlf = true, .dump = dump };
	FILE *in = fopen(path, "rb");
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	int rc = 0;

	if (!in) {
		perror(path);
		return -1;
	}
	r.name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	strcpy(r.key, "Juniper");
	memset(&r.srv, 0, sizeof(r.srv));
	reset_server(&r);
	while (rc == 0 && (len = getline(&line, &lcap, in)) > 0) {
		if (len >= 2 && line[0] == '%' && line[1] == ' ') {
			line[strcspn(line, "\n")] = 0;
			rc = directive(&r, line);
			continue;
		}
		if (r.hex)
			len = (ssize_t)unhex(line, (size_t)len);
		if (r.crlf && line[len - 1] == '\n') {
			text_add(&r, line, (size_t)len - 1);
			text_add(&r, "\r\n", 2);
		} else {
			text_add(&r, line, (size_t)len);
		}
	}
	flush(&r);
	free(line);
	free(r.text);
	fclose(in);
	if (r.have_session)
		dtcp_session_free(&r.ss);
	dtcp_server_free(&r.srv);
	return rc;
}

static char *slurp(FILE *f, size_t *n)
{
	char *p = NULL;
	size_t cap = 0;
	*n = 0;
	for (;;) {
		if (*n + 4096 > cap) {
			cap = (cap + 4096) * 2;
			p = realloc(p, cap);
			if (!p)
				return NULL;
		}
		size_t k = fread(p + *n, 1, cap - *n, f);
		*n += k;
		if (k == 0)
			return p;
	}
}

int main(int argc, char **argv)
{
	bool update = false;
	const char *dump = NULL;
	int passed = 0, failed = 0, i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--update"))
			update = true;
		else if (!strcmp(argv[i], "--dump-corpus") && i + 1 < argc)
			dump = argv[++i];
		else {
			fprintf(stderr, "usage: golden [--update] [--dump-corpus DIR] FILE.in...\n");
			return 2;
		}
	}
	for (; i < argc; i++) {
		char outpath[4096];
		size_t gn = 0, wn = 0;
		char *got = NULL, *want = NULL;
		FILE *mem = tmpfile();
		bool ok = false;

		snprintf(outpath, sizeof(outpath), "%.*s.out", (int)(strlen(argv[i]) - 3), argv[i]);
		if (!mem || run_file(argv[i], mem, dump) != 0)
			goto done;
		rewind(mem);
		got = slurp(mem, &gn);
		if (update) {
			FILE *o = fopen(outpath, "wb");
			ok = o && fwrite(got, 1, gn, o) == gn && fclose(o) == 0;
			goto done;
		}
		FILE *w = fopen(outpath, "rb");
		if (!w) {
			fprintf(stderr, "%s: %s\n", outpath, strerror(errno));
			goto done;
		}
		want = slurp(w, &wn);
		fclose(w);
		ok = got && want && gn == wn && memcmp(got, want, gn) == 0;
		if (!ok && got && want) {
			size_t k = 0, line = 1;
			while (k < gn && k < wn && got[k] == want[k])
				line += got[k++] == '\n';
			fprintf(stderr, "%s: differs from %s at byte %zu (line %zu)\n", argv[i], outpath, k, line);
		}
	done:
		printf("%s %s\n", ok ? "ok  " : "FAIL", argv[i]);
		ok ? passed++ : failed++;
		free(got);
		free(want);
		if (mem)
			fclose(mem);
	}
	printf("golden: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
