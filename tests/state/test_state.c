/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of loader/xtapd/state.c: a server with criteria of every form saved and
 * loaded back (field by field, LIST replies byte for byte, file byte for
 * byte), atomic replacement (stale .tmp, truncation at every byte, crash
 * before the rename), 0600 whatever the umask, every malformed file refused
 * with its line and nothing applied, a missing file. Prints "N passed, N failed". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtcp.h"
#include "memback.h"
#include "shared.h"
#include "state.h"
#include "x1.h"

#include "../check.h"

#define T0_MS 1714564800000ull /* 2024-05-01 12:00:00.000 UTC */

static char dir[] = "/tmp/xtap-state-test-XXXXXX";
static char path[256], tmppath[256];

/* ---- helpers -------------------------------------------------------------------- */

struct sink {
	char *p;
	size_t n;
};

static void emit(void *arg, const char *buf, size_t n)
{
	struct sink *k = arg;
	char *t = realloc(k->p, k->n + n + 1);
	if (!t) {
		perror("realloc");
		exit(1);
	}
	memcpy(t + k->n, buf, n);
	k->p = t;
	k->n += n;
	k->p[k->n] = 0;
}

static const struct dtcp_source_policy pol = { .key = "Juniper", .keylen = 7 };

/* Sends one request (LF lines) to s; returns the code of its first reply and
 * keeps every reply in *out if out is given. */
static int request(struct dtcp_server *s, const char *text, const char *peer, uint64_t now, struct sink *out)
{
	static struct dtcp_msg m;
	static struct dtcp_request r;
	struct dtcp_error err;
	struct sink k = { NULL, 0 };
	char *t = malloc(2 * strlen(text) + 3);
	size_t n = 0;
	int code = -1;

	if (!t)
		exit(1);
	for (const char *c = text; *c; c++) {
		if (*c == '\n')
			t[n++] = '\r';
		t[n++] = *c;
	}
	memcpy(t + n, "\r\n", 2);
	n += 2;
	dtcp_msg_parse(t, n, &m);
	if (dtcp_request_parse(&m, &r, &err)) {
		printf("  request refused: %d %s\n", err.code, err.item);
		free(t);
		return err.code;
	}
	dtcp_server_handle(s, &pol, &r, peer, now, emit, &k);
	if (k.p && sscanf(k.p, "DTCP/0.%*d %d", &code) != 1)
		code = -1;
	if (out)
		*out = k;
	else
		free(k.p);
	free(t);
	return code;
}

static int write_text(const char *p, const char *text, size_t n, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return -1;
	int rc = write(fd, text, n) == (ssize_t)n && fchmod(fd, mode) == 0 ? 0 : -1;
	if (close(fd))
		rc = -1;
	return rc;
}

static char *read_text(const char *p, size_t *n)
{
	FILE *f = fopen(p, "r");
	char *buf = NULL;
	size_t cap = 0;
	if (!f)
		return NULL;
	FILE *m = open_memstream(&buf, &cap);
	int c;
	while (m && (c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	if (!m)
		return NULL;
	fclose(m);
	*n = cap;
	return buf;
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

/* ---- field by field ---------------------------------------------------------- */

static bool prefixes_eq(const struct dtcp_prefix_set *a, const struct dtcp_prefix_set *b)
{
	if (a->any != b->any || a->family != b->family || a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (memcmp(a->p[i].a, b->p[i].a, 16) || a->p[i].len != b->p[i].len)
			return false;
	return true;
}

static bool ranges_eq(const struct dtcp_range_set *a, const struct dtcp_range_set *b)
{
	if (a->any != b->any || a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (a->r[i].lo != b->r[i].lo || a->r[i].hi != b->r[i].hi)
			return false;
	return true;
}

static bool addr_eq(const struct dtcp_addr *a, const struct dtcp_addr *b)
{
	return a->family == b->family && !memcmp(a->a, b->a, 16);
}

/* The first field in which two entries differ, or NULL. */
static const char *entry_diff(const struct dtcp_entry *x, const struct dtcp_entry *y)
{
	static struct dtcp_criterion ca, cb;
	const struct dtcp_criterion *a = &ca, *b = &cb;

	dtcp_entry_criterion(x, &ca);
	dtcp_entry_criterion(y, &cb);

	if (a->id != b->id)
		return "id";
	if (strcmp(a->csource.s, b->csource.s))
		return "csource";
	if (strcmp(a->csource_addr, b->csource_addr))
		return "csource_addr";
	if (a->family != b->family)
		return "family";
	if (!prefixes_eq(&a->src, &b->src))
		return "src";
	if (!prefixes_eq(&a->dst, &b->dst))
		return "dst";
	if (!prefixes_eq(&a->either, &b->either))
		return "either";
	if (!ranges_eq(&a->sport, &b->sport))
		return "sport";
	if (!ranges_eq(&a->dport, &b->dport))
		return "dport";
	if (!ranges_eq(&a->proto, &b->proto))
		return "proto";
	if (!ranges_eq(&a->icmp_type, &b->icmp_type))
		return "icmp_type";
	if (!ranges_eq(&a->icmp_code, &b->icmp_code))
		return "icmp_code";
	if (a->scope != b->scope || a->nscope != b->nscope)
		return "scope";
	for (int i = 0; i < a->nscope; i++)
		if (strcmp(a->scope_name[i].s, b->scope_name[i].s))
			return "scope_name";
		else if (a->scope_key[i] != b->scope_key[i] || !b->scope_key[i])
			return "scope_key"; /* the loader asks the host again (memback's table) */
	if (a->is_static != b->is_static)
		return "is_static";
	if (memcmp(a->timeout, b->timeout, sizeof(a->timeout)))
		return "timeout";
	if (a->priority != b->priority)
		return "priority";
	if (a->ncdest != b->ncdest)
		return "ncdest";
	for (int i = 0; i < a->ncdest; i++) {
		const struct dtcp_cdest *p = &a->cdest[i], *q = &b->cdest[i];
		if (strcmp(p->name.s, q->name.s) || !addr_eq(&p->dst, &q->dst) || !addr_eq(&p->src, &q->src) ||
		    p->dst_port != q->dst_port || p->src_port != q->src_port || p->ttl != q->ttl)
			return "cdest";
	}
	if (a->has_intercept != b->has_intercept || a->intercept_id != b->intercept_id)
		return "intercept";
	if (strcmp(a->given, b->given))
		return "given";
	if (x->added_ms != y->added_ms)
		return "added_ms";
	if (memcmp(x->start_ms, y->start_ms, sizeof(x->start_ms)))
		return "start_ms";
	if (memcmp(x->base, y->base, sizeof(x->base)))
		return "base";
	if (x->num_refresh != y->num_refresh)
		return "num_refresh";
	if (x->last_refresh_ms != y->last_refresh_ms)
		return "last_refresh_ms";
	return NULL;
}

/* ---- the criteria: every form ------------------------------------------------- */

static const struct {
	const char *peer;
	const char *text;
} adds[] = {
	/* docs/dtcp.md 7: static, every cdest parameter, priority */
	{ "192.0.2.200",
	  "ADD DTCP/0.7\nCsource-ID: ftap1\nCdest-ID: cd1\nSource-Address: 10.1.1.0/24\n"
	  "Dest-Address: *\nSource-Port: *\nDest-Port: 80\nProtocol: 6\nPriority: 2\n"
	  "X-JTap-Cdest-Dest-Address: 192.0.2.50\nX-JTap-Cdest-Dest-Port: 7890\n"
	  "X-JTap-Cdest-Source-Address: 192.0.2.1\nX-JTap-Cdest-Source-Port: 49153\n"
	  "X-JTap-Cdest-TTL: 64\nFlags: STATIC\nSeq: 1\n" },
	/* address range split into prefixes, port lists and open ranges, input
	 * interfaces with a Junos alias, every timeout, intercept id, two cdests
	 * of two families */
	{ "2001:db8::77",
	  "ADD DTCP/0.8\nCsource-ID: ftap1\nCdest-ID: x, y\n"
	  "Source-Address: 192.0.2.1-192.0.2.14, 10.0.0.0/8\nDest-Address: *\n"
	  "Source-Port: 1024-*, 22\nDest-Port: *-1023\nProtocol: 6,17\n"
	  "X-JTap-Input-Interface: eth0, ge-0/0/0.0\nTimeout-Idle: 60\nTimeout-Total: 86400\n"
	  "Timeout-Packets: 18446744073709551615\nTimeout-Bytes: 1\n"
	  "X-MD-Intercept-Id: 0xabcdef0123456789\n"
	  "X-JTap-Cdest-Dest-Address: 2001:db8::1, 192.0.2.9\nX-JTap-Cdest-Dest-Port: 1, 65535\n"
	  "Seq: 2\n" },
	/* IPv6 range and embedded IPv4, ICMPv6 type range and code, VRF,
	 * configured IPv6 cdest */
	{ "198.51.100.3",
	  "ADD DTCP/0.6\nCsource-ID: ftap2\nCdest-ID: cdconf6\n"
	  "Dest-Address: 2001:db8::-2001:db8::ff, ::ffff:1.2.3.4\nProtocol: 58\n"
	  "ICMP-Type: 128-129\nICMP-Code: 0\nX-JTap-VRF-Name: vrf-blue\nFlags: static\nSeq: 3\n" },
	/* radius-flow-tap X-IP-Addr and X-Interface-Id, configured cdest */
	{ "",
	  "ADD DTCP/0.8\nCsource-ID: ftap2\nCdest-ID: cdconf\nX-IP-Addr: 192.0.2.99\n"
	  "X-Interface-Id: ge-0/0/0.0\nTimeout-Packets: 5\nSeq: 4\n" },
	/* wildcards with the family chosen, output interface, configured cdest
	 * with the TTL and source port overridden */
	{ "192.0.2.201",
	  "ADD DTCP/0.8\nCsource-ID: ftap1\nCdest-ID: cdconf\nX-JTap-IP-Version: ipv6\n"
	  "X-JTap-Output-Interface: eth1\nX-JTap-Cdest-TTL: 3\nX-JTap-Cdest-Source-Port: 9\n"
	  "Flags: STATIC\nSeq: 5\n" },
	/* names with comma, blank, backslash and a byte above 127; a hostile peer */
	{ "a\"b\\c\nd\x01\xff e",
	  "ADD DTCP/0.8\nCsource-ID: a\\044b\\032c\\255\nCdest-ID: cd\\044\\092\\200x, plain\n"
	  "Source-Address: 2001:db8:1::/48\nDest-Address: 2001:db8:2::5\nProtocol: 17\n"
	  "Dest-Port: 53\nTimeout-Total: 3600\nTimeout-Bytes: 1000000\n"
	  "X-JTap-Cdest-Dest-Address: 2001:db8::50, 2001:db8::51\nX-JTap-Cdest-Dest-Port: 7000, 7001\n"
	  "X-JTap-Cdest-Source-Address: 2001:db8::1\nX-JTap-Cdest-TTL: 1\nSeq: 6\n" },
	/* ICMP over IPv4, largest priority, 30-bit intercept id, idle only */
	{ "192.0.2.202",
	  "ADD DTCP/0.8\nCsource-ID: ftap1\nCdest-ID: cdconf\nSource-Address: 192.0.2.7\n"
	  "Dest-Address: 198.51.100.0/24\nProtocol: 1\nICMP-Type: 8, 0\nICMP-Code: 0-255\n"
	  "Priority: 4294967295\nX-MD-Intercept-Id: 3fffffff\nTimeout-Idle: 1\nSeq: 7\n" },
	/* deleted below: leaves a gap in the ids */
	{ "192.0.2.203",
	  "ADD DTCP/0.8\nCsource-ID: ftap1\nCdest-ID: cdconf\nSource-Address: 192.0.2.8\n"
	  "Flags: STATIC\nSeq: 8\n" },
	/* a protocol list and a long port list */
	{ "192.0.2.204",
	  "ADD DTCP/0.8\nCsource-ID: ftap2\nCdest-ID: cdconf\nDest-Address: 192.0.2.0/25\n"
	  "Protocol: 6, 17, 132\nDest-Port: 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597\n"
	  "Source-Port: 0\nTimeout-Idle: 86400\nTimeout-Packets: 1\nSeq: 9\n" },
};

#define N_ADDS (sizeof(adds) / sizeof(adds[0]))

/* Builds the server the round trip is made of. */
static void build(struct dtcp_server *s, struct memback *mb)
{
	uint64_t now = T0_MS;
	for (size_t i = 0; i < N_ADDS; i++) {
		int code = request(s, adds[i].text, adds[i].peer, now, NULL);
		CHECK(code == 200, "ADD %zu answered %d", i, code);
		now += 1001;
	}
	CHECK(request(s, "DELETE DTCP/0.8\nCsource-ID: ftap1\nCriteria-ID: 8\nFlags: STATIC\nSeq: 10\n", "", now,
		      NULL) == 200,
	      "DELETE 8");
	/* counters on the datapath, then refreshes: bases and refresh counts */
	for (uint32_t id = 1; id <= N_ADDS; id++) {
		struct mem_crit *c = memback_find(mb, id);
		if (c)
			c->cnt = (struct dtcp_counters){ 1000 * id, 150000 * id, now - 500 };
	}
	now += 5000;
	CHECK(request(s,
		      "REFRESH DTCP/0.8\nCsource-ID: ftap1\nCriteria-ID: 2\n"
		      "Timeout-Packets: 900\nTimeout-Bytes: 123456\nSeq: 11\n",
		      "", now, NULL) == 200,
	      "REFRESH 2");
	CHECK(request(s,
		      "REFRESH DTCP/0.8\nCsource-ID: ftap1\nCriteria-ID: 2\n"
		      "Timeout-Idle: 30\nSeq: 12\n",
		      "", now + 777, NULL) == 200,
	      "REFRESH 2 again");
	CHECK(request(s,
		      "REFRESH DTCP/0.8\nCsource-ID: ftap2\nCriteria-ID: 4\n"
		      "Timeout-Packets: 7\nSeq: 13\n",
		      "", now + 900, NULL) == 200,
	      "REFRESH 4");
	/* strict-mode Seq state, names that need escaping */
	CHECK(dtcp_server_seq_accept(s, "strict1", 41), "seq strict1");
	CHECK(dtcp_server_seq_accept(s, "a,b c\xff", 18446744073709551615ull), "seq escaped name");
	CHECK(dtcp_server_seq_accept(s, "ftap1", 0), "seq 0");
}

/* A criterion whose LIST text holds every byte but NUL, restored directly. */
static void add_hostile_given(struct dtcp_server *s, struct memback *mb)
{
	const struct dtcp_entry *e = dtcp_server_find(s, 1);
	static struct dtcp_criterion h;
	struct dtcp_entry *he;
	char *g = h.given;
	if (!e) {
		CHECK(0, "criterion 1 exists");
		return;
	}
	dtcp_entry_criterion(e, &h);
	h.id = s->next_id;
	memset(h.given, 0, sizeof(h.given));
	for (int c = 1; c < 256; c++)
		*g++ = (char)c;
	memcpy(g, "\r\nSOURCE-ADDRESS: \"10.1.1.0/24\\\"\r\n", 35);
	he = dtcp_entry_new(&h);
	CHECK(he, "memory");
	he->added_ms = e->added_ms;
	memcpy(he->start_ms, e->start_ms, sizeof(he->start_ms));
	CHECK(dtcp_server_restore(s, he) == 0 && mb->be.install(mb, &h) == 0, "restore hostile given");
}

/* Every control source's LIST, as one byte string. */
static char *list_all(struct dtcp_server *s, uint64_t now, size_t *n)
{
	static const char *const who[] = { "ftap1", "ftap2", "a\\044b\\032c\\255" };
	static const char *const flags[] = { "Both", "Criteria", "Stats" };
	struct sink all = { NULL, 0 };
	char text[256];

	for (size_t i = 0; i < 3; i++) {
		for (size_t f = 0; f < 3; f++) {
			struct sink k = { NULL, 0 };
			snprintf(text, sizeof(text), "LIST DTCP/0.8\nCsource-ID: %s\nFlags: %s\nSeq: 99\n", who[i],
				 flags[f]);
			CHECK(request(s, text, "", now, &k) == 200, "LIST %s %s", who[i], flags[f]);
			emit(&all, k.p ? k.p : "", k.n);
			free(k.p);
		}
	}
	*n = all.n;
	return all.p;
}

static void test_round_trip(void)
{
	static struct memback ma, mb;
	struct dtcp_server a, b;
	struct xtap_state_extra xa = { 0 }, xb = { 0 };
	struct xtap_state_dp dp[4];
	uint64_t later = T0_MS + 30000;
	size_t n1, n2, nl1, nl2;

	memback_init(&ma, NULL);
	memback_init(&mb, NULL);
	dtcp_server_init(&a, &ma.cfg, &ma.be, &ma);
	dtcp_server_init(&b, &mb.cfg, &mb.be, &mb);
	build(&a, &ma);
	add_hostile_given(&a, &ma);
	/* datapath records for some criteria, in id order */
	dp[0] = (struct xtap_state_dp){ 1, 0, 1 };
	dp[1] = (struct xtap_state_dp){ 3, 4294967295u, 4294967295u };
	dp[2] = (struct xtap_state_dp){ 6, 17, 99 };
	dp[3] = (struct xtap_state_dp){ a.next_id - 1, 5, 12345 };
	xa.dp = dp;
	xa.n = 4;

	umask(0);
	CHECK(xtap_state_save(path, &a, &xa) == XTAP_STATE_OK, "save: %s", xa.error);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "mode 0600 with umask 0 (%03o)",
	      (unsigned)(st.st_mode & 07777));
	CHECK(!exists(tmppath), "no .tmp left after a save");

	int rc = xtap_state_load(path, &b, &xb);
	CHECK(rc == XTAP_STATE_OK, "load: %d %s", rc, xb.error);
	CHECK(b.next_id == a.next_id && a.next_id == N_ADDS + 2, "next_id %u (want %u)", b.next_id, a.next_id);
	CHECK(b.n == a.n && a.n == N_ADDS, "%zu criteria (want %zu)", b.n, a.n);
	for (size_t i = 0; i < a.n && i < b.n; i++) {
		const char *d = entry_diff(a.tab[i], b.tab[i]);
		CHECK(!d, "criterion %u differs in %s", a.tab[i]->c.id, d);
	}
	CHECK(b.nseq == a.nseq && a.nseq == 3, "seq states %zu", b.nseq);
	for (size_t i = 0; i < a.nseq && i < b.nseq; i++)
		CHECK(!strcmp(a.seq[i].csource.s, b.seq[i].csource.s) && a.seq[i].last == b.seq[i].last,
		      "seq state %zu", i);
	CHECK(xb.n == 4 && !memcmp(xb.dp, dp, sizeof(dp)), "datapath records (%zu)", xb.n);

	/* The library answers LIST the same from the loaded table. */
	for (size_t i = 0; i < b.n; i++) {
		static struct dtcp_criterion bc;
		struct mem_crit *c;
		dtcp_entry_criterion(b.tab[i], &bc);
		CHECK(mb.be.install(&mb, &bc) == 0, "install %u", b.tab[i]->c.id);
		if ((c = memback_find(&mb, b.tab[i]->c.id)) && memback_find(&ma, b.tab[i]->c.id))
			c->cnt = memback_find(&ma, b.tab[i]->c.id)->cnt;
	}
	char *l1 = list_all(&a, later, &nl1), *l2 = list_all(&b, later, &nl2);
	CHECK(nl1 > 3000 && nl1 == nl2 && !memcmp(l1, l2, nl1), "LIST replies identical (%zu, %zu bytes)", nl1, nl2);
	CHECK(l1 && strstr(l1, "NUM-REFRESH: 2") && strstr(l1, "CSOURCE-ADDRESS: a\"b\\c"),
	      "LIST shows refreshes and the peer");
	free(l1);
	free(l2);
	/* The loaded server keeps numbering where the saved one was. */
	CHECK(request(&b, adds[0].text, "", later, NULL) == 200 && dtcp_server_find(&b, N_ADDS + 2),
	      "next ADD gets id %zu", N_ADDS + 2);

	/* Saving what was loaded writes the same bytes. */
	char p2[300];
	snprintf(p2, sizeof(p2), "%s/state2", dir);
	struct dtcp_server c;
	static struct memback mc;
	struct xtap_state_extra xc = { 0 };
	memback_init(&mc, NULL);
	dtcp_server_init(&c, &mc.cfg, &mc.be, &mc);
	CHECK(xtap_state_load(path, &c, &xc) == XTAP_STATE_OK, "load again");
	CHECK(xtap_state_save(p2, &c, &xc) == XTAP_STATE_OK, "save again: %s", xc.error);
	char *f1 = read_text(path, &n1), *f2 = read_text(p2, &n2);
	CHECK(f1 && f2 && n1 == n2 && !memcmp(f1, f2, n1), "save(load(file)) == file");
	CHECK(f1 && strstr(f1, "\ncdest cd\\044\\092\\200x 2001:db8::50 7000 2001:db8::1 0 1\n") &&
		      strstr(f1, "\npeer \"a\\\"b\\\\c\\nd\\x01\\xff e\"\n") && strstr(f1, "\nseq a\\044b\\032c\\255 "),
	      "names, peers and cdests written as documented");
	free(f1);
	free(f2);
	xtap_state_extra_free(&xc);
	dtcp_server_free(&c);

	/* Records that are not in id order or name no criterion are refused. */
	struct xtap_state_dp bad_dp[2] = { { 3, 1, 1 }, { 1, 2, 2 } };
	struct xtap_state_extra xbad = { .dp = bad_dp, .n = 2 };
	errno = 0;
	CHECK(xtap_state_save(p2, &a, &xbad) == XTAP_STATE_ERROR && errno == EINVAL,
	      "datapath records out of order refused");
	bad_dp[0] = (struct xtap_state_dp){ 8, 1, 1 }; /* deleted id */
	xbad.n = 1;
	CHECK(xtap_state_save(p2, &a, &xbad) == XTAP_STATE_ERROR && strstr(xbad.error, "datapath"),
	      "datapath record of an unknown id refused: %s", xbad.error);

	/* A table that is not empty is not loaded into. */
	struct xtap_state_extra xd = { 0 };
	errno = 0;
	CHECK(xtap_state_load(path, &b, &xd) == XTAP_STATE_ERROR && errno == EBUSY && strstr(xd.error, "not empty"),
	      "load into a used table refused: %s", xd.error);

	unlink(p2);
	xtap_state_extra_free(&xb);
	dtcp_server_free(&a);
	dtcp_server_free(&b);
}

/* ---- permissions and atomic replacement -------------------------------------------- */

/* A small server: ftap1's criterion 1 and next-id n. */
static void small_server(struct dtcp_server *s, struct memback *mb, unsigned adds_n)
{
	memback_init(mb, NULL);
	dtcp_server_init(s, &mb->cfg, &mb->be, mb);
	for (unsigned i = 0; i < adds_n; i++)
		CHECK(request(s, adds[0].text, "", T0_MS, NULL) == 200, "small ADD");
}

static int load_n(const char *p, size_t *n, uint32_t *next, char *why, size_t whylen)
{
	static struct memback mb;
	struct dtcp_server s;
	struct xtap_state_extra x = { 0 };
	memback_init(&mb, NULL);
	dtcp_server_init(&s, &mb.cfg, &mb.be, &mb);
	int rc = xtap_state_load(p, &s, &x);
	*n = s.n;
	*next = s.next_id;
	if (why)
		snprintf(why, whylen, "%s", x.error);
	/* a refused file leaves the table as init made it */
	if (rc == XTAP_STATE_ERROR && (s.n || s.nseq || s.next_id != 1 || x.n || x.dp))
		rc = -2;
	xtap_state_extra_free(&x);
	dtcp_server_free(&s);
	return rc;
}

static void test_files(void)
{
	static struct memback m1, m2;
	struct dtcp_server s1, s2;
	struct stat st;
	size_t n, len;
	uint32_t next;
	char why[XTAP_STATE_ERR_MAX];

	unlink(path);
	CHECK(load_n(path, &n, &next, NULL, 0) == XTAP_STATE_MISSING && n == 0 && next == 1,
	      "a missing file is a fresh start");
	CHECK(write_text(tmppath, "xtap-state 1\nnext-id 5\nend-state 0\n", 35, 0600) == 0, "write .tmp");
	CHECK(load_n(path, &n, &next, NULL, 0) == XTAP_STATE_MISSING,
	      "only a .tmp (first save cut before its rename): still a fresh start");

	small_server(&s1, &m1, 1);
	small_server(&s2, &m2, 3);
	umask(077);
	CHECK(xtap_state_save(path, &s1, NULL) == XTAP_STATE_OK, "save with a stale .tmp present");
	CHECK(!exists(tmppath), "stale .tmp replaced and renamed");
	CHECK(load_n(path, &n, &next, NULL, 0) == XTAP_STATE_OK && n == 1 && next == 2, "old state");

	/* A crash after the new file was written but before the rename: the
	 * complete new state sits in .tmp, the old one is still what loads. */
	char p2[300];
	snprintf(p2, sizeof(p2), "%s/other", dir);
	CHECK(xtap_state_save(p2, &s2, NULL) == XTAP_STATE_OK, "save other");
	CHECK(rename(p2, tmppath) == 0, "put it in place as .tmp");
	CHECK(load_n(path, &n, &next, NULL, 0) == XTAP_STATE_OK && n == 1 && next == 2,
	      "crash before rename: old state loads");
	/* A .tmp that is a symlink (planted) is removed, not followed. */
	char victim[300];
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	CHECK(write_text(victim, "keep\n", 5, 0644) == 0, "victim");
	CHECK(unlink(tmppath) == 0 && symlink(victim, tmppath) == 0, "plant symlink .tmp");
	CHECK(xtap_state_save(path, &s2, NULL) == XTAP_STATE_OK, "save over a symlink .tmp");
	char *v = read_text(victim, &len);
	CHECK(v && len == 5 && !memcmp(v, "keep\n", 5), "symlink target untouched");
	free(v);
	CHECK(load_n(path, &n, &next, NULL, 0) == XTAP_STATE_OK && n == 3 && next == 4, "new state");

	/* An existing 0644 file is replaced by a 0600 one, whatever the umask. */
	CHECK(chmod(path, 0644) == 0, "chmod 0644");
	umask(0);
	CHECK(xtap_state_save(path, &s1, NULL) == XTAP_STATE_OK, "save over a 0644 file");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "0600 again (%03o)",
	      (unsigned)(st.st_mode & 07777));

	/* Cut short at every byte: always refused, never applied. */
	char *full = read_text(path, &len);
	int bad_cuts = 0;
	size_t first_bad = 0;
	for (size_t cut = 0; full && cut < len; cut++) {
		int rc;
		if (write_text(p2, full, cut, 0600) || (rc = load_n(p2, &n, &next, NULL, 0)) != XTAP_STATE_ERROR) {
			if (!bad_cuts++)
				first_bad = cut;
		}
	}
	CHECK(full && len > 500 && bad_cuts == 0, "%d of %zu cut files accepted (first at %zu)", bad_cuts, len,
	      first_bad);
	CHECK(write_text(p2, full, len, 0600) == 0 && load_n(p2, &n, &next, NULL, 0) == XTAP_STATE_OK,
	      "the whole file loads");
	free(full);

	/* Save failures leave the old file. */
	char nodir[300];
	snprintf(nodir, sizeof(nodir), "%s/no/such/dir/state", dir);
	struct xtap_state_extra x = { 0 };
	CHECK(xtap_state_save(nodir, &s2, &x) == XTAP_STATE_ERROR && errno == ENOENT && strstr(x.error, "create .tmp"),
	      "save into a missing directory: %s", x.error);
	CHECK(unlink(p2) == 0 && mkdir(tmppath, 0700) == 0, "make .tmp a directory");
	char sub[320];
	snprintf(sub, sizeof(sub), "%s/x", tmppath);
	CHECK(write_text(sub, "x", 1, 0600) == 0, "fill it");
	CHECK(xtap_state_save(path, &s2, &x) == XTAP_STATE_ERROR && strstr(x.error, "unlink stale"),
	      "a .tmp that cannot be removed: %s", x.error);
	CHECK(load_n(path, &n, &next, NULL, 0) == XTAP_STATE_OK && n == 1, "old file kept");
	CHECK(unlink(sub) == 0 && rmdir(tmppath) == 0, "clean up");

	/* Group- or world-writable, or not a file: refused. */
	CHECK(chmod(path, 0620) == 0, "chmod 0620");
	CHECK(load_n(path, &n, &next, why, sizeof(why)) == XTAP_STATE_ERROR && strstr(why, "mode 620"),
	      "group-writable file refused: %s", why);
	CHECK(chmod(path, 0600) == 0, "chmod 0600");
	CHECK(load_n(dir, &n, &next, why, sizeof(why)) == XTAP_STATE_ERROR, "a directory refused");
	unlink(victim);
	dtcp_server_free(&s1);
	dtcp_server_free(&s2);
}

/* ---- malformed files ---------------------------------------------------------- */

/* A valid file written by hand as docs/state-and-audit.md describes it. */
static const char base_file[] =
	"xtap-state 1\n" /* 1 */
	"# a comment\n" /* 2 */
	"next-id 10\n" /* 3 */
	"seq strict1 41\n" /* 4 */
	"seq ftap1 7\n" /* 5 */
	"criterion 3\n" /* 6 */
	"peer \"192.0.2.200\"\n" /* 7 */
	"added 1714564800000\n" /* 8 */
	"start 1714564800000 1714564800000 1714564800000 1714564800000\n" /* 9 */
	"base 0 0 0 0\n" /* 10 */
	"refresh 0 0\n" /* 11 */
	"datapath 5 77\n" /* 12 */
	"cdest cd1 192.0.2.50 7890 192.0.2.1 49153 64\n" /* 13 */
	"given \"SOURCE-ADDRESS: 10.1.1.0/24\\r\\nPRIORITY: 2\\r\\n\"\n" /* 14 */
	"add \"ADD DTCP/0.8\\r\\nCsource-ID: ftap1\\r\\nSource-Address: 10.1.1.0/24\\r\\n"
	"Dest-Port: 80\\r\\nProtocol: 6\\r\\nPriority: 2\\r\\nCdest-ID: cd1\\r\\n"
	"Flags: STATIC\\r\\nSeq: 0\\r\\n\"\n" /* 15 */
	"end\n" /* 16 */
	"criterion 5\n" /* 17 */
	"peer \"\"\n" /* 18 */
	"added 1714564801000\n" /* 19 */
	"start 1714564801000 1714564802000 1714564801000 1714564801000\n" /* 20 */
	"base 0 0 10 2000\n" /* 21 */
	"refresh 1 1714564802000\n" /* 22 */
	"cdest cdconf 198.51.100.7 5000 - 0 32\n" /* 23 */
	"given \"X-IP-ADDR: 192.0.2.99\\r\\nTIMEOUT-IDLE: 60\\r\\nPRIORITY: 1\\r\\n\"\n" /* 24 */
	"add \"ADD DTCP/0.8\\r\\nCsource-ID: ftap2\\r\\nX-IP-Addr: 192.0.2.99\\r\\n"
	"Cdest-ID: cdconf\\r\\nTimeout-Idle: 60\\r\\nSeq: 0\\r\\n\"\n" /* 25 */
	"end\n" /* 26 */
	"end-state 2\n"; /* 27 */

static const struct bad_case {
	const char *name;
	const char *find, *repl; /* first occurrence of find replaced by repl */
	int line;
	const char *why;
} bad_cases[] = {
	{ "wrong version", "xtap-state 1", "xtap-state 2", 1, "version 2 not supported" },
	{ "not a state file", "xtap-state 1", "hello", 1, "not an xtap state file" },
	{ "version with leading zero", "xtap-state 1", "xtap-state 01", 1, "bad version" },
	{ "duplicate id", "criterion 5", "criterion 3", 17, "duplicate id" },
	{ "ids out of order", "criterion 5", "criterion 2", 17, "out of order" },
	{ "id equal to next-id", "criterion 5", "criterion 10", 17, "not below next-id" },
	{ "id above next-id", "criterion 3", "criterion 4000000000", 6, "not below next-id" },
	{ "id 0", "criterion 3", "criterion 0", 6, "id from 1" },
	{ "next-id missing", "next-id 10\n", "", 3, "next-id must come first" },
	{ "next-id twice", "seq ftap1 7", "next-id 11", 5, "next-id given twice" },
	{ "next-id too large", "next-id 10", "next-id 4294967296", 3, "next-id" },
	{ "seq twice", "seq ftap1 7", "seq strict1 8", 5, "given twice" },
	{ "seq overflow", "seq ftap1 7", "seq ftap1 18446744073709551616", 5, "seq: not a number" },
	{ "seq name with a control byte", "seq ftap1 7", "seq ft\\001p 7", 5, "bad control source" },
	{ "seq after a criterion", "criterion 5\n", "seq x 1\ncriterion 5\n", 17, "seq after" },
	{ "unknown top keyword", "# a comment", "frobnicate 1", 2, "unknown keyword \"frobnicate\"" },
	{ "keyword that may be a target is not echoed", "# a comment", "10.1.1.1 x", 2, "unknown keyword" },
	{ "unknown criterion keyword", "datapath 5 77", "colour red", 12, "unknown keyword \"colour\"" },
	{ "line given twice", "added 1714564801000", "base 1 1 1 1\nadded 1", 22, "base given twice" },
	{ "missing given", "given \"SOURCE", "# given \"SOURCE", 16, "lacks a line" },
	{ "missing add", "add \"ADD DTCP/0.8\\r\\nCsource-ID: ftap2", "# ", 26, "lacks a line" },
	{ "cdest count", "cdest cd1 192.0.2.50 7890 192.0.2.1 49153 64\n", "", 15, "0 cdest lines for 1" },
	{ "cdest name", "cdest cd1 ", "cdest cd2 ", 16, "does not match Cdest-ID" },
	{ "cdest TTL 0", " 49153 64\n", " 49153 0\n", 13, "bad TTL" },
	{ "cdest port 0", " 7890 ", " 0 ", 13, "destination address or port" },
	{ "cdest families", "192.0.2.1 49153", "2001:db8::1 49153", 13, "different families" },
	{ "cdest bad address", "198.51.100.7 5000", "198.51.100.777 5000", 23, "destination address" },
	{ "add refused by the parser", "Dest-Port: 80", "Dest-Port: 70000", 15, "400 Bad Request (DEST-PORT)" },
	{ "add that is not an ADD", "add \"ADD DTCP/0.8", "add \"NOOP DTCP/0.8", 15, "not an ADD" },
	{ "add unterminated", "Seq: 0\\r\\n\"\nend\nend-state", "Seq: 0\\r\\n\nend\nend-state", 25,
	  "bad quoted string" },
	{ "bad escape", "PRIORITY: 2", "PRIORITY:\\q2", 14, "bad quoted string" },
	{ "escaped NUL", "PRIORITY: 2", "PRIORITY:\\x002", 14, "bad quoted string" },
	{ "raw control byte in a string", "PRIORITY: 2", "PRIORITY:\t2", 14, "bad quoted string" },
	{ "given too long", "given \"SOURCE-ADDRESS", "given \"@@@@SOURCE-ADDRESS", 14, "given" },
	{ "peer too long", "peer \"192.0.2.200\"", "peer \"0123456789012345678901234567890123456789012345678\"", 7,
	  "peer" },
	{ "end-state count", "end-state 2", "end-state 3", 27, "end-state 3 but 2 criteria" },
	{ "text after end-state", "end-state 2\n", "end-state 2\nnext-id 1\n", 28, "after end-state" },
	{ "no end-state", "end-state 2\n", "", 27, "ends before end-state" },
	{ "criterion not closed", "end\nend-state 2\n", "", 26, "ends before end-state" },
	{ "last line without its end", "end-state 2\n", "end-state 2", 27, "no line end" },
	{ "trailing blank", "base 0 0 0 0", "base 0 0 0 0 ", 10, "base: want 4 numbers" },
	{ "double blank", "refresh 0 0", "refresh 0  0", 11, "refresh" },
	{ "leading zero", "refresh 0 0", "refresh 00 0", 11, "refresh" },
	{ "empty line", "# a comment", "", 2, "empty line" },
	{ "NUL byte", "# a comment", "# a\0", 2, "NUL byte" },
	{ "datapath uid 0", "datapath 5 77", "datapath 5 0", 12, "nonzero uid" },
	{ "base with three numbers", "base 0 0 10 2000", "base 0 0 10", 21, "want 4 numbers" },
	{ "refresh count too large", "refresh 1 1714564802000", "refresh 4294967296 1", 22, "refresh" },
};

static void test_malformed(void)
{
	char p[300], why[XTAP_STATE_ERR_MAX], want[64];
	size_t n;
	uint32_t next;
	static struct memback mb;

	snprintf(p, sizeof(p), "%s/bad", dir);
	CHECK(write_text(p, base_file, sizeof(base_file) - 1, 0600) == 0, "write base");
	CHECK(load_n(p, &n, &next, why, sizeof(why)) == XTAP_STATE_OK && n == 2 && next == 10,
	      "the hand-written file loads: %s", why);
	{
		/* and reads back as written */
		struct dtcp_server s;
		struct xtap_state_extra x = { 0 };
		memback_init(&mb, NULL);
		dtcp_server_init(&s, &mb.cfg, &mb.be, &mb);
		CHECK(xtap_state_load(p, &s, &x) == XTAP_STATE_OK, "load base");
		static struct dtcp_criterion c5;
		const struct dtcp_entry *e = dtcp_server_find(&s, 5);
		if (e)
			dtcp_entry_criterion(e, &c5);
		CHECK(e && e->c.timeout[DTCP_T_IDLE] == 60 && e->base[DTCP_T_PACKETS] == 10 &&
			      e->base[DTCP_T_BYTES] == 2000 && e->num_refresh == 1 && !c5.either.any &&
			      c5.either.n == 1 && e->cdest[0].ttl == 32 && e->cdest[0].dst_port == 5000 &&
			      !strcmp(e->c.csource.s, "ftap2") && e->start_ms[DTCP_T_TOTAL] == T0_MS + 2000,
		      "criterion 5 as written");
		e = dtcp_server_find(&s, 3);
		CHECK(e && e->c.is_static && e->c.priority == 2 && e->cdest[0].src_port == 49153 &&
			      !strcmp(e->c.csource_addr, "192.0.2.200") &&
			      !strcmp(e->given, "SOURCE-ADDRESS: 10.1.1.0/24\r\nPRIORITY: 2\r\n"),
		      "criterion 3 as written");
		CHECK(x.n == 1 && x.dp[0].id == 3 && x.dp[0].slot == 5 && x.dp[0].uid == 77, "datapath 3");
		CHECK(s.nseq == 2 && s.seq[0].last == 41 && !strcmp(s.seq[1].csource.s, "ftap1"), "seq");
		xtap_state_extra_free(&x);
		dtcp_server_free(&s);
	}
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		const char *at = strstr(base_file, c->find);
		size_t fl = strlen(c->find), rl = strlen(c->repl);
		char text[sizeof(base_file) + DTCP_GIVEN_MAX + 512];
		if (!at) {
			CHECK(0, "%s: pattern not in the base file", c->name);
			continue;
		}
		size_t pre = (size_t)(at - base_file), post = sizeof(base_file) - 1 - pre - fl;
		memcpy(text, base_file, pre);
		/* the NUL case: its replacement is 4 bytes with a NUL inside */
		if (!strcmp(c->name, "NUL byte"))
			rl = 4;
		if (!strcmp(c->name, "given too long")) {
			/* pad the given string to exactly DTCP_GIVEN_MAX bytes */
			size_t now = strlen("SOURCE-ADDRESS: 10.1.1.0/24\r\nPRIORITY: 2\r\n");
			memcpy(text + pre, "given \"", 7);
			memset(text + pre + 7, '@', DTCP_GIVEN_MAX - now);
			rl = 7 + DTCP_GIVEN_MAX - now;
			memcpy(text + pre + rl, at + 7, post + fl - 7);
			n = pre + rl + post + fl - 7;
		} else {
			memcpy(text + pre, c->repl, rl);
			memcpy(text + pre + rl, at + fl, post);
			n = pre + rl + post;
		}
		int rc = write_text(p, text, n, 0600) ? -3 : load_n(p, &n, &next, why, sizeof(why));
		snprintf(want, sizeof(want), "/bad:%d: ", c->line);
		CHECK(rc == XTAP_STATE_ERROR && strstr(why, want) && strstr(why, c->why),
		      "%s: rc %d, \"%s\" (want line %d and \"%s\")", c->name, rc, why, c->line, c->why);
		CHECK(!strstr(why, "10.1.1.1") && !strstr(why, "192.0.2") && !strstr(why, "70000"),
		      "%s: no target in the message \"%s\"", c->name, why);
	}
	unlink(p);
}

/* ---- the journal ------------------------------------------------------------------ */

static char jpath[300];

/* A server loaded from path (snapshot + journal): its LIST text, count, next-id. */
static char *load_list(size_t *len, size_t *n, uint32_t *next, struct xtap_state_extra *x, int *rc)
{
	static struct memback mb;
	struct dtcp_server s;
	char *l;

	memback_init(&mb, NULL);
	dtcp_server_init(&s, &mb.cfg, &mb.be, &mb);
	*rc = xtap_state_load(path, &s, x);
	for (size_t i = 0; i < s.n; i++) { /* as the daemon does: counters for LIST */
		static struct dtcp_criterion c;

		dtcp_entry_criterion(s.tab[i], &c);
		mb.be.install(&mb, &c);
	}
	*n = s.n;
	*next = s.next_id;
	l = list_all(&s, T0_MS + 60000, len);
	dtcp_server_free(&s);
	return l;
}

static long file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) ? -1 : (long)st.st_size;
}

/* One request, then its transaction (the ids it changed). */
static int step(struct dtcp_server *s, struct xtap_journal *j, const char *text, uint32_t id)
{
	struct xtap_state_extra x = { 0 };
	int code = request(s, text, "", T0_MS + 1000, NULL);

	if (code != 200)
		return -code;
	return xtap_journal_append(j, path, s, &x, &id, 1);
}

static void test_journal(void)
{
	static struct memback mb;
	struct dtcp_server s;
	struct xtap_journal j = { .fd = -1 };
	struct xtap_state_extra x = { .generation = 1 }, lx;
	char *want[4], *got;
	size_t wlen[4], glen, n, wn[4];
	uint32_t next, wnext[4];
	long cut[4];
	int rc;

	snprintf(jpath, sizeof(jpath), "%s.journal", path);
	unlink(path);
	unlink(jpath);
	small_server(&s, &mb, 1);
	CHECK(xtap_state_save(path, &s, &x) == XTAP_STATE_OK, "snapshot of generation 1");
	xtap_journal_reset(&j, path, 1);
	CHECK(!exists(jpath), "no journal right after a snapshot");
	/* state 0: the snapshot alone */
	want[0] = list_all(&s, T0_MS + 60000, &wlen[0]);
	wn[0] = s.n;
	wnext[0] = s.next_id;
	cut[0] = 0;
	/* three transactions: an ADD, a REFRESH, a DELETE */
	CHECK(step(&s, &j, adds[1].text, 2) == 0, "ADD appended");
	cut[1] = file_size(jpath);
	want[1] = list_all(&s, T0_MS + 60000, &wlen[1]);
	wn[1] = s.n, wnext[1] = s.next_id;
	CHECK(step(&s, &j, "REFRESH DTCP/0.8\nCsource-ID: ftap1\nCriteria-ID: 1\nTimeout-Idle: 30\nSeq: 5\n", 1) == 0,
	      "REFRESH appended");
	cut[2] = file_size(jpath);
	want[2] = list_all(&s, T0_MS + 60000, &wlen[2]);
	wn[2] = s.n, wnext[2] = s.next_id;
	CHECK(step(&s, &j, "DELETE DTCP/0.8\nCsource-ID: ftap1\nCriteria-ID: 1\nFlags: STATIC\nSeq: 6\n", 1) == 0,
	      "DELETE appended");
	cut[3] = file_size(jpath);
	want[3] = list_all(&s, T0_MS + 60000, &wlen[3]);
	wn[3] = s.n, wnext[3] = s.next_id;
	CHECK(wn[3] == 1 && wnext[3] == 3, "the table: criterion 2 alone, next-id 3");
	struct stat st;
	CHECK(stat(jpath, &st) == 0 && (st.st_mode & 0777) == 0600, "the journal is 0600");

	/* replay: the snapshot plus all three */
	got = load_list(&glen, &n, &next, &lx, &rc);
	CHECK(rc == XTAP_STATE_OK && lx.replayed == 3 && !lx.torn && lx.generation == 1,
	      "replay: ok, 3 transactions, generation 1 (rc %d, %zu)", rc, lx.replayed);
	CHECK(n == wn[3] && next == wnext[3] && glen == wlen[3] && !memcmp(got, want[3], glen),
	      "replay gives the table as it was, LIST byte for byte");
	free(got);
	xtap_state_extra_free(&lx);

	/* torn last transaction: cut the journal at every byte of it; the
	 * result is the state before it, or after it once the commit line is whole */
	size_t jlen;
	char *jtext = read_text(jpath, &jlen);
	int torn_bad = 0, torn_seen = 0;
	for (long c = cut[2]; jtext && c <= (long)jlen; c++) {
		int k = c == (long)jlen ? 3 : 2;
		write_text(jpath, jtext, (size_t)c, 0600);
		got = load_list(&glen, &n, &next, &lx, &rc);
		torn_seen += lx.torn;
		if (rc != XTAP_STATE_OK || n != wn[k] || next != wnext[k] || glen != wlen[k] ||
		    memcmp(got, want[k], glen))
			torn_bad++;
		free(got);
		xtap_state_extra_free(&lx);
	}
	CHECK(jtext && torn_bad == 0,
	      "a journal cut at any byte of its last transaction loads the state before it "
	      "(%d cuts wrong)",
	      torn_bad);
	CHECK(torn_seen == (int)(jlen - (size_t)cut[2]) - 1, "and says a transaction was dropped (%d of %d)", torn_seen,
	      (int)(jlen - (size_t)cut[2]) - 1);

	/* damage before the last transaction is refused whole */
	if (jtext) {
		char *d = strdup(jtext);
		char *b = strstr(d + cut[1], "commit");
		if (b)
			b[0] = 'k';
		write_text(jpath, d, jlen, 0600);
		got = load_list(&glen, &n, &next, &lx, &rc);
		CHECK(rc == XTAP_STATE_ERROR && n == 0 && strstr(lx.error, "state.journal:"),
		      "a damaged transaction that is not the last is refused, naming the journal (%s)", lx.error);
		free(got);
		xtap_state_extra_free(&lx);
		free(d);
		write_text(jpath, jtext, jlen, 0600);
	}

	/* compaction: a snapshot of generation 2, then the old journal goes; a
	 * crash between the two leaves the generation-1 journal, which is ignored */
	x.generation = 2;
	CHECK(xtap_state_save(path, &s, &x) == XTAP_STATE_OK, "snapshot of generation 2");
	got = load_list(&glen, &n, &next, &lx, &rc);
	CHECK(rc == XTAP_STATE_OK && lx.replayed == 0 && lx.generation == 2 && glen == wlen[3] &&
		      !memcmp(got, want[3], glen),
	      "crash before the old journal is removed: it is not replayed");
	free(got);
	xtap_state_extra_free(&lx);
	CHECK(xtap_journal_reset(&j, path, 2) == 0 && !exists(jpath), "compaction removes the old journal");
	got = load_list(&glen, &n, &next, &lx, &rc);
	CHECK(rc == XTAP_STATE_OK && n == wn[3] && glen == wlen[3] && !memcmp(got, want[3], glen),
	      "the new snapshot alone holds it all");
	free(got);
	xtap_state_extra_free(&lx);

	/* a failed append (file size limit): error, nothing of it left, and the
	 * next append goes on from there */
	CHECK(step(&s, &j, adds[2].text, 3) == 0, "ADD 3 appended to the new journal");
	long before = file_size(jpath);
	struct rlimit old, lim;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)before + 40; /* part of the next transaction fits */
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &lim);
	rc = step(&s, &j, adds[3].text, 4);
	setrlimit(RLIMIT_FSIZE, &old);
	CHECK(rc == XTAP_STATE_ERROR && file_size(jpath) == before && !j.broken,
	      "a failed append is an error and is cut off the journal (rc %d, %ld of %ld bytes)", rc, file_size(jpath),
	      before);
	got = load_list(&glen, &n, &next, &lx, &rc);
	CHECK(rc == XTAP_STATE_OK && n == 2 && lx.replayed == 1, "the journal still loads: criteria 2 and 3 (%zu)", n);
	free(got);
	xtap_state_extra_free(&lx);
	uint32_t id4 = 4;
	struct xtap_state_extra none = { 0 };
	CHECK(xtap_journal_append(&j, path, &s, &none, &id4, 1) == XTAP_STATE_OK, "the next append succeeds");
	got = load_list(&glen, &n, &next, &lx, &rc);
	CHECK(rc == XTAP_STATE_OK && n == 3 && next == 5 && lx.replayed == 2, "and is replayed: 3 criteria (%zu)", n);
	free(got);
	xtap_state_extra_free(&lx);

	/* a generation line in the wrong place is refused */
	static const char late_gen[] = "xtap-state 1\nnext-id 1\nseq a 1\ngeneration 3\nend-state 0\n";
	write_text(path, late_gen, sizeof(late_gen) - 1, 0600);
	CHECK(load_n(path, &n, &next, NULL, 0) == XTAP_STATE_ERROR, "generation after seq is refused");

	if (j.fd >= 0)
		close(j.fd);
	unlink(jpath);
	unlink(path);
	free(jtext);
	for (int i = 0; i < 4; i++)
		free(want[i]);
	dtcp_server_free(&s);
}

/* Loads path into a fresh server; the caller frees s and x. */
static int load_into(struct dtcp_server *s, struct memback *mb, struct xtap_state_extra *x)
{
	int rc;

	memback_init(mb, NULL);
	dtcp_server_init(s, &mb->cfg, &mb->be, mb);
	rc = xtap_state_load(path, s, x);
	for (size_t i = 0; i < s->n; i++) { /* as the daemon does */
		static struct dtcp_criterion c;

		dtcp_entry_criterion(s->tab[i], &c);
		mb->be.install(mb, &c);
	}
	return rc;
}

/* Issue 11: a criterion with several datapath rules (X-IP-Addr: two, prefix
 * lists: more) persists every rule, in the snapshot and in the journal; a
 * failed snapshot never leads to a journal truncated under the snapshot
 * that still needs it; a journal is never started without a snapshot. */
static void test_durability(void)
{
	static struct memback mb, ml;
	struct dtcp_server s, l;
	struct xtap_journal j = { .fd = -1 }, j2 = { .fd = -1 };
	struct xtap_state_extra x = { .generation = 1 }, lx = { 0 };
	struct xtap_state_dp rec[5] = { { 1, 10, 101 }, { 1, 11, 102 }, { 2, 7, 55 }, { 3, 20, 201 }, { 3, 3, 202 } };
	uint32_t ids[3] = { 1, 2, 3 }, id4 = 4;
	int rc;

	snprintf(jpath, sizeof(jpath), "%s.journal", path);
	unlink(path);
	unlink(jpath);
	small_server(&s, &mb, 3);

	/* a journal with no snapshot behind it is never started */
	struct xtap_state_extra none = { 0 };
	CHECK(xtap_journal_append(&j, path, &s, &none, ids, 1) == XTAP_STATE_ERROR && !exists(jpath) &&
		      strstr(none.error, "snapshot first"),
	      "no snapshot yet: the journal refuses to start, so nothing unreplayable is acknowledged (%s)",
	      none.error);

	/* several records per criterion, in rule order, in the snapshot */
	x.dp = rec;
	x.n = 5;
	CHECK(xtap_state_save(path, &s, &x) == XTAP_STATE_OK, "snapshot with 2, 1 and 2 rules per criterion: %s",
	      x.error);
	rc = load_into(&l, &ml, &lx);
	CHECK(rc == XTAP_STATE_OK && lx.n == 5 && !memcmp(lx.dp, rec, sizeof(rec)),
	      "multi-rule criteria: the snapshot gives back every datapath record in rule order (%zu)", lx.n);
	xtap_state_extra_free(&lx);
	dtcp_server_free(&l);
	xtap_journal_reset(&j, path, 1);

	/* the same records through the journal: criterion 1 changed (its
	 * rules replaced by three new ones), 4 added with two */
	struct xtap_state_dp rec2[5] = {
		{ 1, 30, 301 }, { 1, 31, 302 }, { 1, 32, 303 }, { 4, 40, 401 }, { 4, 41, 402 }
	};
	struct xtap_state_extra tx = { .dp = rec2, .n = 3 };
	CHECK(xtap_journal_append(&j, path, &s, &tx, ids, 1) == XTAP_STATE_OK, "journal: criterion 1 with 3 rules: %s",
	      tx.error);
	CHECK(request(&s, adds[0].text, "", T0_MS, NULL) == 200, "ADD 4");
	tx.dp = rec2 + 3;
	tx.n = 2;
	CHECK(xtap_journal_append(&j, path, &s, &tx, &id4, 1) == XTAP_STATE_OK, "journal: criterion 4 with 2 rules");
	struct xtap_state_dp want[] = { { 1, 30, 301 }, { 1, 31, 302 }, { 1, 32, 303 }, { 2, 7, 55 },
					{ 3, 20, 201 }, { 3, 3, 202 },	{ 4, 40, 401 }, { 4, 41, 402 } };
	rc = load_into(&l, &ml, &lx);
	CHECK(rc == XTAP_STATE_OK && lx.replayed == 2 && lx.n == 8 && !memcmp(lx.dp, want, sizeof(want)),
	      "multi-rule criteria: the journal replaces and adds every record (%zu records, %zu replayed)", lx.n,
	      lx.replayed);
	CHECK(lx.journal_end == (size_t)file_size(jpath), "the load says where the journal's last commit ends");

	/* the next start goes on with this journal; its first snapshot fails
	 * (a directory where the .tmp goes) */
	CHECK(xtap_journal_resume(&j2, path, &lx) == 0 && j2.fd >= 0 && j2.generation == 1, "journal resumed");
	xtap_state_extra_free(&lx);
	CHECK(mkdir(tmppath, 0700) == 0, "a directory in the way of path.tmp");
	struct xtap_state_extra sx = { .generation = 2 };
	CHECK(xtap_state_save(path, &l, &sx) == XTAP_STATE_ERROR && !sx.renamed,
	      "the snapshot fails before its rename");
	rmdir(tmppath);
	/* a change after it: appended, not written over the journal */
	uint32_t id2 = 2;
	rc = request(&l, "DELETE DTCP/0.8\nCsource-ID: ftap1\nCriteria-ID: 2\nFlags: STATIC\nSeq: 1\n", "", T0_MS,
		     NULL);
	CHECK(rc == 200, "DELETE 2 (%d)", rc);
	struct xtap_state_extra none2 = { 0 };
	CHECK(xtap_journal_append(&j2, path, &l, &none2, &id2, 1) == XTAP_STATE_OK,
	      "appended after the failed snapshot");
	dtcp_server_free(&l);
	rc = load_into(&l, &ml, &lx);
	CHECK(rc == XTAP_STATE_OK && lx.replayed == 3 && l.n == 3 && !dtcp_server_find(&l, 2) &&
		      dtcp_server_find(&l, 4),
	      "after a failed snapshot the journal keeps every committed change (%zu replayed, %zu criteria)",
	      lx.replayed, l.n);
	xtap_state_extra_free(&lx);
	dtcp_server_free(&l);

	/* a torn last transaction is cut when the journal is resumed, so the
	 * next one is not written after it */
	long good = file_size(jpath);
	int fd = open(jpath, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "begin\nnext-id 9\ncrit", 20) == 20, "a torn transaction at the end");
	if (fd >= 0)
		close(fd);
	close(j2.fd);
	j2.fd = -1;
	rc = load_into(&l, &ml, &lx);
	CHECK(rc == XTAP_STATE_OK && lx.torn && lx.journal_end == (size_t)good, "loaded, the torn end dropped");
	CHECK(xtap_journal_resume(&j2, path, &lx) == 0 && file_size(jpath) == good, "resume cuts it off");
	xtap_state_extra_free(&lx);
	CHECK(request(&l, "REFRESH DTCP/0.8\nCsource-ID: ftap1\nCriteria-ID: 4\nTimeout-Idle: 30\nSeq: 2\n", "", T0_MS,
		      NULL) == 200,
	      "REFRESH 4");
	CHECK(xtap_journal_append(&j2, path, &l, &none2, &id4, 1) == XTAP_STATE_OK, "the next transaction appended");
	dtcp_server_free(&l);
	rc = load_into(&l, &ml, &lx);
	CHECK(rc == XTAP_STATE_OK && !lx.torn && lx.replayed == 4 && l.n == 3,
	      "and replayed after the cut (rc %d, %zu replayed): %s", rc, lx.replayed, lx.error);
	xtap_state_extra_free(&lx);
	dtcp_server_free(&l);

	/* compaction beside the service: snapshot 2 written to path.tmp while
	 * the changes since go to path.journal.next alone; a crash before the
	 * snapshot's rename replays the journal then .next, one between the
	 * two renames .next alone */
	char npath[320];
	snprintf(npath, sizeof(npath), "%s.journal.next", path);
	rc = load_into(&l, &ml, &lx);
	struct xtap_state_extra gx = { .generation = 2 };
	CHECK(rc == XTAP_STATE_OK && xtap_state_write_tmp(path, &l, &gx) == XTAP_STATE_OK && exists(tmppath),
	      "snapshot 2 written to path.tmp (%s)", gx.error);
	xtap_state_extra_free(&lx);
	struct xtap_journal jn = { .fd = -1, .generation = 2, .fresh = true, .next = true };
	CHECK(request(&l, "DELETE DTCP/0.8\nCsource-ID: ftap1\nCriteria-ID: 4\nFlags: STATIC\nSeq: 3\n", "", T0_MS,
		      NULL) == 200,
	      "DELETE 4");
	CHECK(xtap_journal_append(&jn, path, &l, &none2, &id4, 1) == XTAP_STATE_OK && exists(npath),
	      "the change goes to path.journal.next");
	dtcp_server_free(&l);
	rc = load_into(&l, &ml, &lx);
	CHECK(rc == XTAP_STATE_OK && lx.journal_next && lx.journal_gen == 2 && lx.generation == 1 && lx.replayed == 5 &&
		      l.n == 2 && !dtcp_server_find(&l, 4),
	      "crash before the snapshot's rename: snapshot 1, its journal, then .next (%zu, %zu replayed)", l.n,
	      lx.replayed);
	struct xtap_journal jr = { .fd = -1 };
	CHECK(xtap_journal_resume(&jr, path, &lx) == 0 && jr.next && jr.generation == 2 && exists(npath) &&
		      exists(jpath),
	      "resumed there: appends go on in .next, the journal stays");
	if (jr.fd >= 0)
		close(jr.fd);
	xtap_state_extra_free(&lx);
	dtcp_server_free(&l);
	CHECK(xtap_state_install(path, &gx) == XTAP_STATE_OK, "snapshot 2 in place");
	rc = load_into(&l, &ml, &lx);
	CHECK(rc == XTAP_STATE_OK && lx.journal_next && lx.generation == 2 && lx.replayed == 1 && l.n == 2 &&
		      !dtcp_server_find(&l, 4),
	      "crash before the journal's rename: snapshot 2 and path.journal.next hold it");
	struct xtap_journal j3 = { .fd = -1 };
	CHECK(xtap_journal_resume(&j3, path, &lx) == 0 && !exists(npath) && exists(jpath) && !j3.next,
	      "resume makes path.journal.next the journal");
	xtap_state_extra_free(&lx);
	dtcp_server_free(&l);
	if (j3.fd >= 0)
		close(j3.fd);
	if (jn.fd >= 0)
		close(jn.fd);
	rc = load_into(&l, &ml, &lx);
	CHECK(rc == XTAP_STATE_OK && !lx.journal_next && lx.replayed == 1 && l.n == 2, "and loads as the journal");
	xtap_state_extra_free(&lx);
	dtcp_server_free(&l);

	/* records of one criterion that are not together, or too many, are refused */
	struct xtap_state_dp split[3] = { { 1, 1, 1 }, { 3, 2, 2 }, { 1, 3, 3 } };
	struct xtap_state_extra xs = { .dp = split, .n = 3 };
	CHECK(xtap_state_save(path, &s, &xs) == XTAP_STATE_ERROR && errno == EINVAL,
	      "records of one criterion apart are refused");
	struct xtap_state_dp *many = calloc(XTAP_STATE_DP_MAX + 1, sizeof(*many));
	for (size_t i = 0; many && i <= XTAP_STATE_DP_MAX; i++)
		many[i] = (struct xtap_state_dp){ 1, (uint32_t)i, (uint32_t)i + 1 };
	xs.dp = many;
	xs.n = XTAP_STATE_DP_MAX + 1;
	CHECK(many && xtap_state_save(path, &s, &xs) == XTAP_STATE_ERROR,
	      "more than %d records for one criterion refused", XTAP_STATE_DP_MAX);
	xs.n = XTAP_STATE_DP_MAX;
	CHECK(many && xtap_state_save(path, &s, &xs) == XTAP_STATE_OK, "%d records for one criterion saved",
	      XTAP_STATE_DP_MAX);
	rc = load_into(&l, &ml, &lx);
	CHECK(rc == XTAP_STATE_OK && lx.n == XTAP_STATE_DP_MAX &&
		      !memcmp(lx.dp, many, XTAP_STATE_DP_MAX * sizeof(*many)),
	      "and loaded back (%zu)", lx.n);
	xtap_state_extra_free(&lx);
	dtcp_server_free(&l);
	free(many);

	if (j.fd >= 0)
		close(j.fd);
	if (j2.fd >= 0)
		close(j2.fd);
	unlink(jpath);
	unlink(path);
	dtcp_server_free(&s);
}

/* ---- X1 records (docs/x1.md "Persistence: state records") ------------------ */

static const char *X1_ADMF = "admf-a", *X1_NE = "ne-1";

static void x1_env(struct x1_request *q, enum x1_msg_type t, const char *name, int txid)
{
	memset(q, 0, sizeof(*q));
	q->type = t;
	q->type_name = name;
	snprintf(q->env.admf, sizeof(q->env.admf), "%s", X1_ADMF);
	snprintf(q->env.ne, sizeof(q->env.ne), "%s", X1_NE);
	snprintf(q->env.version, sizeof(q->env.version), "v1.6.1");
	q->env.txid.b[15] = (uint8_t)txid;
	q->env.has_admf = q->env.has_ne = q->env.has_version = q->env.has_txid = true;
}

static struct x1_uuid x1_uuid_of(uint8_t kind, uint8_t n)
{
	struct x1_uuid u = { 0 };

	u.b[0] = kind;
	u.b[6] = 0x40; /* version 4 */
	u.b[8] = 0x80;
	u.b[15] = n;
	return u;
}

/* One message to the store; its error code (0: done). */
static int x1_do(struct x1_store *st, const struct x1_request *q)
{
	struct x1_response r;

	x1_store_handle_one(st, X1_ADMF, q, T0_MS * 1000, &r);
	free((void *)r.tasks);
	free((void *)r.dests);
	return r.error;
}

static int x1_create_dest(struct x1_store *st, uint8_t n)
{
	static struct x1_request q;

	x1_env(&q, X1_M_CREATE_DESTINATION, "CreateDestination", n);
	q.dest.did = x1_uuid_of(0xd1, n);
	q.dest.delivery = X1_DT_X3_ONLY;
	q.dest.family = DTCP_AF_INET;
	memcpy(q.dest.addr, (uint8_t[]){ 198, 51, 100, 7 }, 4);
	q.dest.port = 4789;
	q.dest.transport = X1_TR_UDP;
	return x1_do(st, &q);
}

/* A task with one IPv4 address target and one IPv4 CIDR target: two criteria
 * (docs/x1.md "Mapping to criteria"). */
static int x1_activate(struct x1_store *st, uint8_t n, uint8_t dest)
{
	static struct x1_request q;

	x1_env(&q, X1_M_ACTIVATE_TASK, "ActivateTask", 100 + n);
	q.task.xid = x1_uuid_of(0xa1, n);
	q.task.ntargets = 2;
	q.task.target[0] = (struct x1_target){ .kind = X1_T_IPV4_ADDRESS, .family = DTCP_AF_INET, .plen = 32 };
	memcpy(q.task.target[0].addr, (uint8_t[]){ 192, 0, 2, n }, 4);
	q.task.target[1] = (struct x1_target){ .kind = X1_T_IPV4_CIDR, .family = DTCP_AF_INET, .plen = 24 };
	memcpy(q.task.target[1].addr, (uint8_t[]){ 203, 0, 113, 0 }, 4);
	q.task.delivery = X1_DT_X3_ONLY;
	q.task.ndids = 1;
	q.task.did[0] = x1_uuid_of(0xd1, dest);
	return x1_do(st, &q);
}

static int x1_deactivate(struct x1_store *st, uint8_t n)
{
	static struct x1_request q;

	x1_env(&q, X1_M_DEACTIVATE_TASK, "DeactivateTask", 200 + n);
	q.xid = x1_uuid_of(0xa1, n);
	return x1_do(st, &q);
}

/* The store's records as xtapd writes them: every destination, every task. */
static size_t x1_records_of(const struct x1_store *st, struct x1_record *out)
{
	size_t n = 0;

	for (size_t i = 0; i < st->ndests; i++) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].kind = X1_REC_DEST;
		snprintf(out[n].admf, sizeof(out[n].admf), "%s", st->dests[i]->admf);
		out[n++].dest = st->dests[i]->d;
	}
	for (size_t i = 0; i < st->ntasks; i++) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].kind = X1_REC_TASK;
		snprintf(out[n].admf, sizeof(out[n].admf), "%s", st->tasks[i]->admf);
		out[n].task = st->tasks[i]->t;
		out[n].ncrit = st->tasks[i]->ncrit;
		memcpy(out[n++].crit, st->tasks[i]->crit, st->tasks[i]->ncrit * sizeof(uint32_t));
	}
	return n;
}

/* GetAllDetails of the ADMF, as the store answers it (the clock fixed). */
static char *x1_all_details(struct x1_store *st)
{
	static struct x1_request q;
	struct x1_ne ne = { .now_us = T0_MS * 1000 };
	struct x1_response r;
	struct x1_out o = { 0 };

	snprintf(ne.ne, sizeof(ne.ne), "%s", X1_NE);
	x1_env(&q, X1_M_GET_ALL_DETAILS, "GetAllDetails", 77);
	x1_store_handle_one(st, X1_ADMF, &q, T0_MS * 1000, &r);
	x1_format_response(&o, &ne, &r);
	free((void *)r.tasks);
	free((void *)r.dests);
	return o.p;
}

/* The state file loaded into a new table and a new store: the criteria ids,
 * and the store's GetAllDetails (NULL when refused, why in why). */
static char *x1_load(size_t *ncrit, uint32_t *ids, size_t *nrec, char *why, size_t whylen)
{
	static struct x1_shared sh;
	struct xtap_state_extra x = { 0 };
	struct x1_store st;
	const char *w = NULL;
	char *all = NULL;
	int rc;

	x1_shared_init(&sh, NULL);
	x1_store_init(&st, &sh.ops, &sh, X1_NE);
	rc = xtap_state_load(path, &sh.srv, &x);
	snprintf(why, whylen, "%s", x.error);
	*ncrit = sh.srv.n;
	*nrec = x.nx1;
	for (size_t i = 0; i < sh.srv.n && i < 16; i++)
		ids[i] = sh.srv.tab[i]->c.id;
	if (rc == XTAP_STATE_OK) {
		bool ok = true;

		/* as xtapd: the destinations first, then the tasks */
		for (int pass = X1_REC_DEST; pass <= X1_REC_TASK; pass++)
			for (size_t i = 0; i < x.nx1; i++)
				if (x.x1[i].kind == pass && x1_store_restore(&st, &x.x1[i], &w))
					ok = false;
		if (ok)
			all = x1_all_details(&st);
		else
			snprintf(why, whylen, "restore: %s", w);
	} else if (sh.srv.n || x.nx1) {
		snprintf(why, whylen, "refused but applied");
	}
	xtap_state_extra_free(&x);
	x1_store_free(&st);
	x1_shared_free(&sh);
	return all;
}

/* The snapshot's text with the first line starting with prefix replaced by
 * repl (NULL: removed), or repl appended after it (dup). */
static int x1_edit(const char *text, const char *prefix, const char *repl, bool dup)
{
	const char *at = strstr(text, prefix), *end;
	char *out;
	size_t n = 0;
	int rc;

	if (!at)
		return -1;
	end = strchr(at, '\n') + 1;
	out = malloc(strlen(text) + (repl ? strlen(repl) : 0) + X1_RECORD_MAX + 4);
	memcpy(out, text, (size_t)(at - text));
	n = (size_t)(at - text);
	if (dup) {
		memcpy(out + n, at, (size_t)(end - at));
		n += (size_t)(end - at);
	}
	if (repl) {
		memcpy(out + n, repl, strlen(repl));
		n += strlen(repl);
		out[n++] = '\n';
	}
	strcpy(out + n, dup ? at : end);
	n += strlen(dup ? at : end);
	rc = write_text(path, out, n, 0600);
	free(out);
	return rc;
}

static void test_x1_records(void)
{
	static struct x1_shared sh;
	static struct x1_record rec[8], bad;
	static char line[X1_RECORD_MAX];
	struct xtap_journal j = { .fd = -1 };
	struct x1_store st;
	char why[XTAP_STATE_ERR_MAX], *want1, *want2, *want3, *got, *text, jpath2[300];
	uint32_t ids[16], first_ids[] = { 1, 2, 3 };
	size_t n, nrec, len, jlen;

	snprintf(jpath2, sizeof(jpath2), "%s.journal", path);
	unlink(path);
	unlink(jpath2);
	x1_shared_init(&sh, NULL);
	x1_store_init(&st, &sh.ops, &sh, X1_NE);
	/* a DTCP criterion (id 1) beside the X1 ones */
	CHECK(request(&sh.srv, adds[0].text, "", T0_MS, NULL) == 200, "x1: a DTCP ADD first");
	CHECK(x1_create_dest(&st, 1) == 0 && x1_activate(&st, 1, 1) == 0, "x1: CreateDestination, ActivateTask");
	CHECK(sh.srv.n == 3 && st.ntasks == 1 && st.tasks[0]->ncrit == 2 && st.tasks[0]->crit[0] == 2 &&
		      st.tasks[0]->crit[1] == 3,
	      "x1: the task holds criteria 2 and 3 (one per target)");
	want1 = x1_all_details(&st);

	/* the snapshot: the records after the criteria, as loader/x1 writes them */
	struct xtap_state_extra x = { .generation = 1 };
	x.x1 = rec;
	x.nx1 = x1_records_of(&st, rec);
	CHECK(xtap_state_save(path, &sh.srv, &x) == XTAP_STATE_OK, "x1: snapshot with 2 records");
	xtap_journal_reset(&j, path, 1);
	text = read_text(path, &len);
	{
		char dl[X1_RECORD_MAX + 32], tl[X1_RECORD_MAX + 32];

		x1_record_dest(st.dests[0], line, sizeof(line));
		snprintf(dl, sizeof(dl), "\n%s\n", line);
		x1_record_task(st.tasks[0], line, sizeof(line));
		snprintf(tl, sizeof(tl), "\n%s\nend-state 3\n", line);
		CHECK(text && strstr(text, dl) && strstr(text, tl) && strstr(text, dl) < strstr(text, tl) &&
			      strstr(text, "\nend\nx1-dest "),
		      "x1: the snapshot holds x1-dest then x1-task, as x1_record_* write them, after the last "
		      "criterion");
	}
	got = x1_load(&n, ids, &nrec, why, sizeof(why));
	CHECK(got && n == 3 && !memcmp(ids, first_ids, sizeof(first_ids)) && nrec == 2 && !strcmp(got, want1),
	      "x1: loaded back, GetAllDetails answers as before (%s)", why);
	free(got);

	/* the journal: a second task (criteria 4, 5), then the first one
	 * deactivated (2, 3 deleted, its record gone) */
	CHECK(x1_activate(&st, 2, 1) == 0, "x1: a second ActivateTask");
	{
		struct xtap_state_extra t = { 0 };
		uint32_t tid[] = { 4, 5 };
		size_t k = x1_records_of(&st, rec);

		t.x1 = &rec[k - 1]; /* the new task (the last) */
		t.nx1 = 1;
		CHECK(rec[k - 1].task.xid.b[15] == 2 && xtap_journal_append(&j, path, &sh.srv, &t, tid, 2) == 0,
		      "x1: transaction 1 (task 2 and its criteria)");
	}
	want2 = x1_all_details(&st);
	long cut1 = file_size(jpath2);
	bad = rec[1]; /* the first task as it was */
	CHECK(bad.kind == X1_REC_TASK && bad.task.xid.b[15] == 1 && x1_deactivate(&st, 1) == 0 && sh.srv.n == 3,
	      "x1: DeactivateTask of the first");
	{
		struct xtap_state_extra t = { 0 };
		uint32_t tid[] = { 2, 3 };

		t.x1_gone = &bad;
		t.nx1_gone = 1;
		CHECK(xtap_journal_append(&j, path, &sh.srv, &t, tid, 2) == 0,
		      "x1: transaction 2 (x1-gone, 2 deletes)");
	}
	want3 = x1_all_details(&st);
	char *jt = read_text(jpath2, &jlen);
	CHECK(jt && strstr(jt, "\nx1-gone x1-task ") && strstr(jt, "\ndelete 2\ndelete 3\nx1-gone ") &&
		      strstr(jt, "commit 3\n") && strstr(jt, "\nx1-task "),
	      "x1: the journal holds x1-task, x1-gone after the deletes, commit counting them");
	got = x1_load(&n, ids, &nrec, why, sizeof(why));
	CHECK(got && n == 3 && ids[0] == 1 && ids[1] == 4 && ids[2] == 5 && nrec == 2 && !strcmp(got, want3),
	      "x1: replayed: task 2 with criteria 4 and 5, task 1 and its criteria gone (%s)", why);
	free(got);
	/* cut at every byte of the last transaction: the state before it or
	 * after it, never a task without its criteria or the reverse */
	int cut_bad = 0;
	for (long c = cut1; jt && c <= (long)jlen; c++) {
		write_text(jpath2, jt, (size_t)c, 0600);
		got = x1_load(&n, ids, &nrec, why, sizeof(why));
		if (!got || strcmp(got, c == (long)jlen ? want3 : want2) || n != (c == (long)jlen ? 3u : 5u))
			cut_bad++;
		free(got);
	}
	CHECK(cut_bad == 0, "x1: a journal cut at each of %ld bytes gives the state before or after (%d wrong)",
	      (long)jlen - cut1 + 1, cut_bad);
	unlink(jpath2);

	/* what the loader refuses, naming the problem, nothing applied */
	struct {
		const char *prefix, *what;
		int mode; /* 0 replace with line, 1 remove, 2 duplicate */
		uint32_t crit; /* the task's criterion for mode 0 */
	} cases[] = {
		{ "x1-task ", "criterion 9 of a task is not in the state", 0, 9 },
		{ "x1-task ", "criterion 1 of a task is owned by another control source", 0, 1 },
		{ "x1-task ", "criterion 2 of an X1 control source is named by no task", 1, 0 },
		{ "x1-dest ", "a task names a destination that is not in the state", 1, 0 },
		{ "x1-dest ", "x1-dest: a DID twice", 2, 0 },
		{ "x1-task ", "x1-task: an XID twice", 2, 0 },
	};
	for (size_t i = 0; text && i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *repl = NULL;

		if (cases[i].mode == 0) {
			struct x1_record r1; /* the file's task, one criterion id changed */
			const char *wy;
			const char *at = strstr(text, "\nx1-task ") + 1;

			CHECK(!x1_record_parse(at, (size_t)(strchr(at, '\n') - at), &r1, &wy),
			      "x1: the file's task parses");
			r1.crit[0] = cases[i].crit;
			xtap_state_x1_line(&r1, line, sizeof(line));
			repl = line;
		}
		x1_edit(text, cases[i].prefix, repl, cases[i].mode == 2);
		got = x1_load(&n, ids, &nrec, why, sizeof(why));
		CHECK(!got && n == 0 && nrec == 0 && strstr(why, cases[i].what) && !strstr(why, "192.0.2"),
		      "x1: refused: %s (%s)", cases[i].what, why);
		free(got);
	}
	/* damaged records: any character changed is refused or read as the
	 * one record it encodes (loader/x1's decoder, tests/x1/test_x1.c);
	 * here: a character that is not hex, and x1-gone outside a journal */
	{
		const char *at = strstr(text, "\nx1-dest ") + 1;
		size_t ln = (size_t)(strchr(at, '\n') - at);

		memcpy(line, at, ln);
		line[ln] = 0;
		line[ln - 3] = 'g';
		x1_edit(text, "x1-dest ", line, false);
		got = x1_load(&n, ids, &nrec, why, sizeof(why));
		CHECK(!got && n == 0 && strstr(why, "x1-dest: not hex"), "x1: a record not hex is refused (%s)", why);
		free(got);
		snprintf(line, sizeof(line), "x1-gone %.*s", (int)ln, at);
		x1_edit(text, "x1-dest ", line, false);
		got = x1_load(&n, ids, &nrec, why, sizeof(why));
		CHECK(!got && strstr(why, "unknown keyword"), "x1: x1-gone in a snapshot is refused (%s)", why);
		free(got);
	}
	free(text);
	free(jt);
	free(want1);
	free(want2);
	free(want3);
	if (j.fd >= 0)
		close(j.fd);
	unlink(path);
	x1_store_free(&st);
	x1_shared_free(&sh);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(tmppath, sizeof(tmppath), "%s/state.tmp", dir);
	test_round_trip();
	test_files();
	test_malformed();
	test_journal();
	test_durability();
	test_x1_records();
	unlink(path);
	unlink(tmppath);
	if (rmdir(dir))
		printf("FAIL: %s left behind: %s\n", dir, strerror(errno));
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
