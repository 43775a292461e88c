/* SPDX-License-Identifier: BSD-2-Clause */
/* Golden X1 exchanges: feeds each tests/x1/NAME.in through the X1 library
 * (parse, store, format) over the DTCP criteria table with the in-memory
 * datapath and a fixed clock, and compares the transcript with NAME.out
 * (written by hand from TS 103 221-1's message definitions), or rewrites
 * NAME.out with --update (then read the diff against the specification).
 *
 * NAME.in is request bodies between directive lines starting with "% ":
 *   % post                 the lines up to the next directive are one body
 *   % admf NAME            the ADMF the transport authenticated (default admf-a)
 *   % fail install|remove N   the next N datapath calls fail
 *   % fail install N after K  K more installs succeed, then N fail
 *   % max-tasks N | % max-dests N   per-ADMF limits
 *   % deactivate-all off   DeactivateAllTasks not enabled (clause 6.2.4)
 *   % clock +SECS          move the clock (starts 2026-01-01T00:00:00Z)
 *   % keepalive SECS deactivate|keep   the keepalive policy (clause 6.6.2)
 *   % sweep                run it now: "% lost ADMF tasks=N deactivated=M"
 *   % restart              the store written as state records, thrown away,
 *                          and a new one read back from them (the criteria
 *                          stay: DTCP's records bring them back)
 *   % state                print every task (ADMF, XID, criteria ids) and
 *                          destination (ADMF, DID, tasks using it)
 *   % # text               comment
 * Directives are echoed, so NAME.out reads as a transcript: each response
 * body, the datapath's "% install" / "% remove" lines, the state lines.
 * Response bodies are compared as XML (libxml2, blanks between elements
 * ignored), every other line byte for byte. The NE is "ne-xtap-1".
 * Every parsed container crosses the worker -> monitor wire
 * (x1_wire_container_encode / _decode) before the store sees it.
 *
 * In NAME.in and NAME.out a line "@env ADMF NE TIME VERSION TXID" is the
 * five header elements of table 6.1-1 in their order (admfIdentifier,
 * neIdentifier, messageTimestamp, version, x1TransactionId), TIME "T0" is
 * 2026-01-01T00:00:00.000000Z, "T+N" N seconds later, TXID "#N" is
 * 00000000-0000-4000-8000-N (N padded to 12 digits).
 *
 * --dump-corpus DIR writes every request body to DIR (the fuzzer's seeds). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "shared.h"

#define T0_US 1767225600000000ull /* 2026-01-01T00:00:00.000000Z */
#define NE_ID "ne-xtap-1"

struct run {
	FILE *out;
	struct x1_shared sh;
	struct x1_store st;
	char admf[X1_ID_MAX];
	uint64_t now;
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (!buf) {
				fclose(f);
				return NULL;
			}
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

/* Expands the "@env" lines of text (see the top); returns a new string. */
static char *expand(const char *text)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	if (!f)
		abort();
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) + 1 : strlen(p);
		const char *q = p;
		char admf[128], ne[128], tm[64], ver[64], tx[64], line[512];

		while (*q == ' ' || *q == '\t')
			q++;
		snprintf(line, sizeof(line), "%.*s", (int)(ll - (size_t)(q - p)), q);
		if (!strncmp(q, "@env ", 5) &&
		    sscanf(line, "@env %127s %127s %63s %63s %63s", admf, ne, tm, ver, tx) == 5) {
			char t[80], x[80];

			if (!strcmp(tm, "T0"))
				x1_format_time(T0_US, t);
			else if (!strncmp(tm, "T+", 2))
				x1_format_time(T0_US + strtoull(tm + 2, NULL, 10) * 1000000, t);
			else
				snprintf(t, sizeof(t), "%s", tm);
			if (tx[0] == '#')
				snprintf(x, sizeof(x), "00000000-0000-4000-8000-%012llu", strtoull(tx + 1, NULL, 10));
			else
				snprintf(x, sizeof(x), "%s", tx);
			fprintf(f,
				"<admfIdentifier>%s</admfIdentifier><neIdentifier>%s</neIdentifier>"
				"<messageTimestamp>%s</messageTimestamp><version>%s</version>"
				"<x1TransactionId>%s</x1TransactionId>\n",
				admf, ne, t, ver, x);
		} else {
			fwrite(p, 1, ll, f);
		}
		p += ll;
	}
	fclose(f);
	return out;
}

static int cmp_task(const void *a, const void *b)
{
	const struct x1_task_entry *x = *(const struct x1_task_entry *const *)a,
				   *y = *(const struct x1_task_entry *const *)b;
	int c = strcmp(x->admf, y->admf);

	return c ? c : memcmp(x->t.xid.b, y->t.xid.b, 16);
}

static int cmp_dest(const void *a, const void *b)
{
	const struct x1_dest_entry *x = *(const struct x1_dest_entry *const *)a,
				   *y = *(const struct x1_dest_entry *const *)b;
	int c = strcmp(x->admf, y->admf);

	return c ? c : memcmp(x->d.did.b, y->d.did.b, 16);
}

static void print_state(struct run *r)
{
	struct x1_store *s = &r->st;
	char id[X1_UUID_LEN];

	if (s->ntasks)
		qsort(s->tasks, s->ntasks, sizeof(*s->tasks), cmp_task);
	if (s->ndests)
		qsort(s->dests, s->ndests, sizeof(*s->dests), cmp_dest);
	for (size_t i = 0; i < s->ntasks; i++) {
		x1_format_uuid(&s->tasks[i]->t.xid, id);
		fprintf(r->out, "%% task %s %s crit=", s->tasks[i]->admf, id);
		for (uint32_t k = 0; k < s->tasks[i]->ncrit; k++)
			fprintf(r->out, "%s%u", k ? "," : "", s->tasks[i]->crit[k]);
		fputc('\n', r->out);
	}
	for (size_t i = 0; i < s->ndests; i++) {
		x1_format_uuid(&s->dests[i]->d.did, id);
		fprintf(r->out, "%% dest %s %s users=%u\n", s->dests[i]->admf, id, s->dests[i]->users);
	}
	fprintf(r->out, "%% state: %zu tasks, %zu destinations, %zu criteria\n", s->ntasks, s->ndests, r->sh.srv.n);
}

static void post(struct run *r, const char *body, size_t n)
{
	struct x1_container *c = malloc(sizeof(*c));
	struct x1_out o = { 0 };
	struct x1_ne ne = { .ne = NE_ID, .now_us = r->now };
	const char *why;

	if (!c)
		return;
	fflush(r->out);
	if (x1_parse_container(body, n, c, &why)) {
		x1_format_top_level_error(&o, &ne, r->admf);
	} else {
		uint8_t *wire = malloc(X1_WIRE_CONTAINER_MAX);
		char admf[X1_ID_MAX];
		size_t len = wire ? x1_wire_container_encode(r->admf, c, wire, X1_WIRE_CONTAINER_MAX) : 0;

		if (!len || x1_wire_container_decode(wire, len, admf, c, &why) || strcmp(admf, r->admf))
			fprintf(r->out, "%% wire: the container does not cross: %s\n", len ? why : "encode");
		free(wire);
		x1_store_handle(&r->st, r->admf, c, r->now, &o);
	}
	fflush(r->out);
	if (o.failed)
		fprintf(r->out, "%% output failed\n");
	else
		fwrite(o.p, 1, o.n, r->out);
	x1_out_free(&o);
	free(c);
}

static void on_lost(void *arg, const char *admf, size_t tasks, size_t gone)
{
	struct run *r = arg;

	fprintf(r->out, "%% lost %s tasks=%zu deactivated=%zu\n", admf, tasks, gone);
}

static void restart(struct run *r)
{
	struct x1_store *s = &r->st, fresh;
	char *line = malloc(X1_RECORD_MAX);
	struct x1_record *rec = malloc(sizeof(*rec));
	char **lines = calloc(s->ndests + s->ntasks + 1, sizeof(*lines));
	size_t n = 0, ok = 0;
	const char *why;

	for (size_t i = 0; i < s->ndests; i++)
		if (x1_record_dest(s->dests[i], line, X1_RECORD_MAX))
			lines[n++] = strdup(line);
	for (size_t i = 0; i < s->ntasks; i++)
		if (x1_record_task(s->tasks[i], line, X1_RECORD_MAX))
			lines[n++] = strdup(line);
	fprintf(r->out, "%% records: %zu of %zu\n", n, s->ndests + s->ntasks);
	x1_store_init(&fresh, s->ops, s->ctx, s->ne);
	fresh.max_tasks = s->max_tasks;
	fresh.max_dests = s->max_dests;
	fresh.deactivate_all_disabled = s->deactivate_all_disabled;
	fresh.keepalive_us = s->keepalive_us;
	fresh.keepalive_policy = s->keepalive_policy;
	x1_store_free(s);
	*s = fresh;
	for (size_t i = 0; i < n; i++) {
		if (x1_record_parse(lines[i], strlen(lines[i]), rec, &why) || x1_store_restore(s, rec, &why))
			fprintf(r->out, "%% restore refused record %zu: %s\n", i + 1, why);
		else
			ok++;
		free(lines[i]);
	}
	fprintf(r->out, "%% restored: %zu\n", ok);
	free(lines);
	free(rec);
	free(line);
}

static void directive(struct run *r, const char *line)
{
	char a[64];
	long v, k;

	if (sscanf(line, "%% fail install %ld after %ld", &v, &k) == 2) {
		r->sh.add_skip = (int)k;
		r->sh.add_fail = (int)v;
	} else if (sscanf(line, "%% admf %60s", a) == 1) {
		memcpy(r->admf, a, strlen(a) + 1);
	} else if (sscanf(line, "%% fail %63s %ld", a, &v) == 2) {
		int *f = !strcmp(a, "install") ? &r->sh.mb.fail_install :
			!strcmp(a, "remove")   ? &r->sh.mb.fail_remove :
						 NULL;

		if (f)
			*f = (int)v;
		else
			fprintf(r->out, "%% unknown directive\n");
	} else if (sscanf(line, "%% max-tasks %ld", &v) == 1) {
		r->st.max_tasks = (uint32_t)v;
	} else if (sscanf(line, "%% max-dests %ld", &v) == 1) {
		r->st.max_dests = (uint32_t)v;
	} else if (!strcmp(line, "% deactivate-all off")) {
		r->st.deactivate_all_disabled = true;
	} else if (sscanf(line, "%% clock +%ld", &v) == 1) {
		r->now += (uint64_t)v * 1000000;
	} else if (sscanf(line, "%% keepalive %ld %63s", &v, a) == 2) {
		r->st.keepalive_us = (uint64_t)v * 1000000;
		r->st.keepalive_policy = !strcmp(a, "keep") ? X1_KA_KEEP : X1_KA_DEACTIVATE;
	} else if (!strcmp(line, "% sweep")) {
		fprintf(r->out, "%% sweep: %d lost\n", x1_store_keepalive_sweep(&r->st, r->now, on_lost, r));
	} else if (!strcmp(line, "% state")) {
		print_state(r);
	} else if (!strcmp(line, "% restart")) {
		restart(r);
	} else if (strncmp(line, "% #", 3) && strcmp(line, "% post")) {
		fprintf(r->out, "%% unknown directive\n");
	}
}

/* Runs NAME.in; the transcript goes to out. dump: write bodies there too. */
static int run_file(const char *in, FILE *out, const char *dump)
{
	size_t len;
	char *raw = slurp(in, &len), *text, *p, *body = NULL;
	size_t blen = 0, bcap = 0;
	bool in_body = false;
	struct run r = { .out = out, .now = T0_US };
	int nbody = 0;

	if (!raw) {
		fprintf(stderr, "%s: %s\n", in, strerror(errno));
		return -1;
	}
	text = expand(raw);
	free(raw);
	snprintf(r.admf, sizeof(r.admf), "admf-a");
	x1_shared_init(&r.sh, out);
	x1_store_init(&r.st, &r.sh.ops, &r.sh, NE_ID);
	for (p = text; *p || in_body;) {
		char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		bool is_dir = !strncmp(p, "% ", 2) || !*p;

		if (in_body && is_dir) {
			if (dump) {
				char path[4096];
				const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
				FILE *f;

				snprintf(path, sizeof(path), "%s/%s-%d.xml", dump, base, nbody);
				if ((f = fopen(path, "wb"))) {
					fwrite(body, 1, blen, f);
					fclose(f);
				}
			}
			nbody++;
			post(&r, body, blen);
			blen = 0;
			in_body = false;
		}
		if (!*p)
			break;
		if (is_dir) {
			char line[512];

			snprintf(line, sizeof(line), "%.*s", (int)ll, p);
			fprintf(out, "%s\n", line);
			directive(&r, line);
			in_body = !strcmp(line, "% post");
		} else if (in_body) {
			if (blen + ll + 2 > bcap) {
				bcap = (blen + ll + 2) * 2;
				body = realloc(body, bcap);
				if (!body)
					abort();
			}
			memcpy(body + blen, p, ll);
			blen += ll;
			body[blen++] = '\n';
		}
		p = nl ? nl + 1 : p + ll;
	}
	x1_store_free(&r.st);
	x1_shared_free(&r.sh);
	free(body);
	free(text);
	return 0;
}

/* ---- comparison: "% " lines exactly, XML blocks as XML -------------------------------- */

struct block {
	bool xml;
	char *s;
};

static void quiet(void *ctx, const xmlError *e)
{
}

/* Whitespace-only text is layout here: no X1 value is blank. */
static void drop_blanks(xmlNodePtr n)
{
	while (n) {
		xmlNodePtr next = n->next;

		if (n->type == XML_TEXT_NODE && xmlIsBlankNode(n)) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		} else if (n->type == XML_ELEMENT_NODE) {
			drop_blanks(n->children);
		}
		n = next;
	}
}

/* XML text -> one canonical line (blanks between elements dropped). */
static char *canon(const char *s, size_t n)
{
	xmlDocPtr d = xmlReadMemory(s, (int)n, NULL, "UTF-8",
				    XML_PARSE_NOBLANKS | XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlChar *m = NULL;
	int len = 0;
	char *r;

	if (!d) {
		r = malloc(n + 16);
		snprintf(r, n + 16, "(not XML) %.*s", (int)n, s);
		return r;
	}
	drop_blanks(d->children);
	xmlDocDumpMemory(d, &m, &len);
	r = strndup((const char *)m, (size_t)len);
	xmlFree(m);
	xmlFreeDoc(d);
	return r;
}

static size_t split(char *t, struct block **out)
{
	size_t n = 0, cap = 0;
	struct block *b = NULL;
	char *p = t;

	while (*p) {
		char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) + 1 : strlen(p);
		const char *start = p;

		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			b = realloc(b, cap * sizeof(*b));
			if (!b)
				abort();
		}
		if (!strncmp(p, "% ", 2)) {
			b[n].xml = false;
			b[n].s = strndup(p, ll);
			p += ll;
		} else {
			while (*p && strncmp(p, "% ", 2)) {
				nl = strchr(p, '\n');
				p = nl ? nl + 1 : p + strlen(p);
			}
			b[n].xml = true;
			b[n].s = canon(start, (size_t)(p - start));
		}
		n++;
	}
	*out = b;
	return n;
}

static bool compare(const char *name, char *got, char *want)
{
	struct block *g, *w;
	size_t ng = split(got, &g), nw = split(want, &w), i;
	bool ok = true;

	for (i = 0; i < ng || i < nw; i++) {
		if (i >= ng || i >= nw || g[i].xml != w[i].xml || strcmp(g[i].s, w[i].s)) {
			printf("  %s: block %zu differs\n    want: %s\n    got:  %s\n", name, i + 1,
			       i < nw ? w[i].s : "(nothing)", i < ng ? g[i].s : "(nothing)");
			ok = false;
			break;
		}
	}
	for (i = 0; i < ng; i++)
		free(g[i].s);
	for (i = 0; i < nw; i++)
		free(w[i].s);
	free(g);
	free(w);
	return ok;
}

int main(int argc, char **argv)
{
	int pass = 0, fail = 0, i = 1;
	bool update = false;
	const char *dump = NULL;

	xmlSetStructuredErrorFunc(NULL, (xmlStructuredErrorFunc)quiet);
	if (argc > 1 && !strcmp(argv[1], "--update")) {
		update = true;
		i = 2;
	} else if (argc > 2 && !strcmp(argv[1], "--dump-corpus")) {
		dump = argv[2];
		i = 3;
	}
	for (; i < argc; i++) {
		char outname[4096], *got = NULL, *want;
		size_t glen = 0, wlen;
		FILE *f;
		const char *dot = strrchr(argv[i], '.');

		snprintf(outname, sizeof(outname), "%.*s.out", dot ? (int)(dot - argv[i]) : (int)strlen(argv[i]),
			 argv[i]);
		if (!(f = open_memstream(&got, &glen)) || run_file(argv[i], f, dump)) {
			fail++;
			continue;
		}
		fclose(f);
		if (update) {
			FILE *o = fopen(outname, "wb");

			if (!o || fwrite(got, 1, glen, o) != glen || fclose(o)) {
				printf("FAIL %s: cannot write %s\n", argv[i], outname);
				fail++;
			} else {
				printf("updated %s\n", outname);
				pass++;
			}
		} else if (dump) {
			pass++;
		} else if (!(want = slurp(outname, &wlen))) {
			printf("FAIL %s: no %s\n", argv[i], outname);
			fail++;
		} else {
			char *w = expand(want);

			free(want);
			want = w;
			if (compare(argv[i], got, want)) {
				printf("ok   %s\n", argv[i]);
				pass++;
			} else {
				printf("FAIL %s\n", argv[i]);
				fail++;
			}
			free(want);
		}
		free(got);
	}
	printf("golden: %d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}
