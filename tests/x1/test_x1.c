/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the X1 library: the TS 103 280 value parsers against the
 * types' definitions, libxml2 hardening against hostile bodies, the mapping
 * of every target kind onto criteria (expected fields written from
 * docs/x1.md "Mapping", not from the code), and the criteria table X1
 * shares with DTCP (ids from one counter, DTCP sources not seeing or
 * touching X1 criteria). Prints "N passed, N failed". */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "shared.h"

/* ---- values -------------------------------------------------------------------- */

static void test_uuid(void)
{
	static const struct {
		const char *s;
		bool ok;
	} v[] = {
		{ "00112233-4455-4677-8899-aabbccddeeff", true },   { "00112233-4455-4677-8899-AABBCCDDEEFF", true },
		{ "00112233-4455-4677-8899-aabbccddeef", false }, /* 35 */
		{ "00112233-4455-4677-8899-aabbccddeeff0", false }, /* 37 */
		{ "001122334455-4677-8899-aabbccddeeff-", false }, /* dashes misplaced */
		{ "00112233-4455-4677-8899-aabbccddeefg", false },  { "{0112233-4455-4677-8899-aabbccddeef}", false },
	};
	struct x1_uuid u;
	char out[X1_UUID_LEN];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CHECK((x1_parse_uuid(v[i].s, strlen(v[i].s), &u) == 0) == v[i].ok, "uuid %s", v[i].s);
	x1_parse_uuid(v[1].s, 36, &u);
	x1_format_uuid(&u, out);
	CHECK(!strcmp(out, v[0].s), "uuid written lowercase: %s", out);
	CHECK(u.b[0] == 0x00 && u.b[1] == 0x11 && u.b[15] == 0xff, "uuid bytes in order");
}

static void test_addresses(void)
{
	static const struct {
		const char *s;
		bool ok;
		uint8_t a[4];
	} v4[] = {
		{ "192.0.2.1", true, { 192, 0, 2, 1 } },
		{ "255.255.255.255", true, { 255, 255, 255, 255 } },
		{ "010.001.000.9", true, { 10, 1, 0, 9 } }, /* the pattern's [01]?[0-9]?[0-9]: decimal */
		{ "256.0.0.1", false, { 0 } },
		{ "1.2.3", false, { 0 } },
		{ "1.2.3.4.5", false, { 0 } },
		{ "1.2.3.4 ", false, { 0 } },
		{ "1..2.3", false, { 0 } },
		{ "0001.2.3.4", false, { 0 } },
		{ "", false, { 0 } },
	};
	static const struct {
		const char *s;
		bool ok;
	} v6[] = {
		{ "2001:0db8:0000:0000:0000:0000:0000:0001", true },
		{ "2001:0DB8:0000:0000:0000:0000:0000:0001", true },
		{ "2001:db8::1", false }, /* 103 280: expanded form only */
		{ "2001:0db8:0000:0000:0000:0000:0000:001", false },
		{ "2001:0db8:0000:0000:0000:0000:0000:00010", false },
		{ "2001-0db8:0000:0000:0000:0000:0000:0001", false },
		{ "::ffff:192.0.2.1", false },
	};
	uint8_t a[16], want6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t plen = 0;
	char buf[64];

	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		int rc = x1_parse_ipv4(v4[i].s, strlen(v4[i].s), a);

		CHECK((rc == 0) == v4[i].ok && (!v4[i].ok || !memcmp(a, v4[i].a, 4)), "ipv4 %s", v4[i].s);
	}
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++)
		CHECK((x1_parse_ipv6(v6[i].s, strlen(v6[i].s), a) == 0) == v6[i].ok, "ipv6 %s", v6[i].s);
	x1_parse_ipv6(v6[1].s, 39, a);
	CHECK(!memcmp(a, want6, 16), "ipv6 bytes");
	x1_format_addr(DTCP_AF_INET6, a, buf, sizeof(buf));
	CHECK(!strcmp(buf, "2001:0db8:0000:0000:0000:0000:0000:0001"), "ipv6 written expanded: %s", buf);

	CHECK(!x1_parse_cidr("192.0.2.77/24", 13, DTCP_AF_INET, a, &plen) && plen == 24 && a[3] == 77,
	      "cidr keeps the address as given");
	CHECK(!x1_parse_cidr("0.0.0.0/0", 9, DTCP_AF_INET, a, &plen) && plen == 0, "cidr /0");
	CHECK(x1_parse_cidr("192.0.2.0/33", 12, DTCP_AF_INET, a, &plen), "cidr /33");
	CHECK(x1_parse_cidr("192.0.2.0/024", 13, DTCP_AF_INET, a, &plen), "cidr length with a leading zero");
	CHECK(x1_parse_cidr("192.0.2.0", 9, DTCP_AF_INET, a, &plen), "cidr without length");
	CHECK(x1_parse_cidr("192.0.2.0/", 10, DTCP_AF_INET, a, &plen), "cidr empty length");
	CHECK(!x1_parse_cidr("2001:0db8:0000:0000:0000:0000:0000:0000/128", 43, DTCP_AF_INET6, a, &plen) && plen == 128,
	      "cidr6 /128");
	CHECK(x1_parse_cidr("2001:0db8:0000:0000:0000:0000:0000:0000/129", 43, DTCP_AF_INET6, a, &plen), "cidr6 /129");
}

static void test_scalars(void)
{
	uint16_t p;
	unsigned ma, mi, pa;

	CHECK(!x1_parse_port("0", 1, &p) && p == 0, "port 0");
	CHECK(!x1_parse_port("65535", 5, &p) && p == 65535, "port 65535");
	CHECK(x1_parse_port("65536", 5, &p), "port 65536");
	CHECK(x1_parse_port("-1", 2, &p), "port -1");
	CHECK(x1_parse_port("", 0, &p), "empty port");
	CHECK(x1_parse_port("000080", 6, &p), "port of six digits");

	CHECK(!x1_check_timestamp("2026-01-01T00:00:00.000000Z", 27), "timestamp Z");
	CHECK(!x1_check_timestamp("2026-01-01T00:00:00.000000-05:30", 32), "timestamp offset");
	CHECK(x1_check_timestamp("2026-01-01T00:00:00Z", 20), "timestamp without microseconds");
	CHECK(x1_check_timestamp("2026-01-01T00:00:00.000Z", 24), "timestamp with milliseconds");
	CHECK(x1_check_timestamp("2026-13-01T00:00:00.000000Z", 27), "month 13");
	CHECK(x1_check_timestamp("2026-01-01 00:00:00.000000Z", 27), "no T");
	CHECK(x1_check_timestamp("2026-01-01T00:00:00.000000", 26), "no zone");

	char t[X1_TIME_LEN];

	x1_format_time(1767225600123456ull, t);
	CHECK(!strcmp(t, "2026-01-01T00:00:00.123456Z"), "time written %s", t);

	CHECK(!x1_parse_version("v1.6.1", 6, &ma, &mi, &pa) && ma == 1 && mi == 6 && pa == 1, "v1.6.1");
	CHECK(!x1_parse_version("v1.22.1", 7, &ma, &mi, &pa) && mi == 22, "v1.22.1");
	CHECK(x1_parse_version("1.6.1", 5, &ma, &mi, &pa), "version without v");
	CHECK(x1_parse_version("v1.6", 4, &ma, &mi, &pa), "version of two parts");
	CHECK(x1_parse_version("v1.6.1.2", 8, &ma, &mi, &pa), "version of four parts");

	/* every code of table 6.7-1 xtap sends has its own text */
	static const int codes[] = { 1000, 1010, 1020, 1030, 1040, 1060, 1080, 2010, 2020, 2030, 2040, 3000, 3001,
				     3010, 3020, 3030, 3040, 3050, 4000, 5000, 5010, 6000, 6001, 6020, 7000, 7010 };
	int same = 0;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		for (size_t j = 0; j < i; j++)
			same += !strcmp(x1_code_text(codes[i]), x1_code_text(codes[j]));
	CHECK(same == 0, "%d pairs of codes share a text", same);
}

/* ---- hardening ---------------------------------------------------------------------- */

#define ENV \
	"<admfIdentifier>admf-a</admfIdentifier><neIdentifier>ne1</neIdentifier>" \
	"<messageTimestamp>2026-01-01T00:00:00.000000Z</messageTimestamp><version>v1.6.1</version>" \
	"<x1TransactionId>00000000-0000-4000-8000-000000000001</x1TransactionId>"
#define HEAD "<X1Request xmlns=\"" X1_NS "\" xmlns:xsi=\"" X1_NS_XSI "\">"
#define PING "<x1RequestMessage xsi:type=\"PingRequest\">" ENV "</x1RequestMessage>"

static int parse(const char *body, struct x1_container *c, const char **why)
{
	return x1_parse_container(body, strlen(body), c, why);
}

static void test_hardening(void)
{
	struct x1_container *c = malloc(sizeof(*c));
	const char *why;
	char *big;
	size_t n;

	CHECK(!parse(HEAD PING "</X1Request>", c, &why) && c->n == 1 && c->msg[0].type == X1_M_PING && !c->msg[0].error,
	      "a ping parses");
	/* billion laughs: refused for its DOCTYPE before any expansion */
	CHECK(parse("<?xml version=\"1.0\"?><!DOCTYPE X1Request [<!ENTITY a \"aaaaaaaaaa\">"
		    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c "
		    "\"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>" HEAD
		    "<x1RequestMessage xsi:type=\"PingRequest\"><admfIdentifier>&c;</admfIdentifier>"
		    "</x1RequestMessage></X1Request>",
		    c, &why) &&
		      why && strstr(why, "DOCTYPE"),
	      "entity declarations refused");
	/* an external entity (XXE) needs a DOCTYPE as well */
	CHECK(parse("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>" HEAD "</X1Request>", c, &why),
	      "external entity refused");
	/* an undeclared entity is not well-formed */
	CHECK(parse(HEAD "<x1RequestMessage xsi:type=\"PingRequest\"><admfIdentifier>&e;</admfIdentifier>"
			 "</x1RequestMessage></X1Request>",
		    c, &why),
	      "undeclared entity refused");
	/* the five predefined ones and character references are text */
	CHECK(!parse(HEAD
		     "<x1RequestMessage xsi:type=\"PingRequest\"><admfIdentifier>a&amp;&#98;</admfIdentifier>"
		     "<neIdentifier>ne1</neIdentifier><messageTimestamp>2026-01-01T00:00:00.000000Z</messageTimestamp>"
		     "<version>v1.6.1</version><x1TransactionId>00000000-0000-4000-8000-000000000001</x1TransactionId>"
		     "</x1RequestMessage></X1Request>",
		     c, &why) &&
		      !strcmp(c->msg[0].env.admf, "a&b"),
	      "predefined entities read as text");
	/* size bound */
	n = X1_BODY_MAX + 1;
	big = malloc(n + 1);
	memset(big, ' ', n);
	memcpy(big, HEAD PING, strlen(HEAD PING));
	memcpy(big + n - strlen("</X1Request>"), "</X1Request>", strlen("</X1Request>"));
	big[n] = 0;
	CHECK(x1_parse_container(big, n, c, &why), "a body over 256 KiB refused");
	/* 1000 levels of nesting inside a message: libxml2's depth limit, or ours */
	{
		size_t k = 0, depth = 1000;

		k += (size_t)sprintf(big + k, "%s<x1RequestMessage xsi:type=\"PingRequest\">" ENV, HEAD);
		for (size_t i = 0; i < depth; i++)
			k += (size_t)sprintf(big + k, "<a>");
		for (size_t i = 0; i < depth; i++)
			k += (size_t)sprintf(big + k, "</a>");
		k += (size_t)sprintf(big + k, "</x1RequestMessage></X1Request>");
		CHECK(x1_parse_container(big, k, c, &why) || c->msg[0].error == X1_E_SYNTAX_SCHEMA,
		      "deep nesting refused");
	}
	/* 65 messages: over the container bound */
	{
		size_t k = (size_t)sprintf(big, "%s", HEAD);

		for (int i = 0; i < X1_MAX_MESSAGES + 1; i++)
			k += (size_t)sprintf(big + k, "%s", PING);
		k += (size_t)sprintf(big + k, "</X1Request>");
		CHECK(x1_parse_container(big, k, c, &why) && strstr(why, "64"), "65 messages refused");
		k -= strlen(PING) + strlen("</X1Request>");
		k += (size_t)sprintf(big + k, "</X1Request>");
		CHECK(!x1_parse_container(big, k, c, &why) && c->n == 64, "64 messages taken");
	}
	CHECK(parse("", c, &why), "empty body");
	CHECK(parse(HEAD "</X1Request>", c, &why), "no message");
	CHECK(parse("<X1Request xmlns=\"http://uri.etsi.org/03221/X1/2017/11\">" PING "</X1Request>", c, &why),
	      "another namespace");
	CHECK(parse(HEAD "<x1RequestMessage xsi:type=\"FooRequest\">" ENV "</x1RequestMessage></X1Request>", c, &why),
	      "an xsi:type not in the schema");
	CHECK(parse(HEAD "<x1RequestMessage xsi:type=\"q:PingRequest\" xmlns:q=\"urn:other\">" ENV
			 "</x1RequestMessage></X1Request>",
		    c, &why),
	      "an xsi:type of another namespace");
	CHECK(parse(HEAD "<x1RequestMessage xsi:type=\"PingRequest\">" ENV "</x1RequestMessage>text</X1Request>", c,
		    &why),
	      "text in the container");
	CHECK(parse(HEAD "<x1RequestMessage>" ENV "</x1RequestMessage></X1Request>", c, &why), "no xsi:type");
	free(big);
	free(c);
}

/* ---- mapping ----------------------------------------------------------------------------- */

static struct x1_target tgt(int kind, int family, const char *addr, int plen, int proto, int lo, int hi)
{
	struct x1_target t = { .kind = (uint8_t)kind,
			       .family = (uint8_t)family,
			       .plen = (uint8_t)plen,
			       .proto = (uint8_t)proto,
			       .port_lo = (uint16_t)lo,
			       .port_hi = (uint16_t)hi };

	if (addr)
		inet_pton(family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, addr, t.addr);
	return t;
}

static bool prefix_is(const struct dtcp_prefix_set *s, int family, const char *addr, int plen)
{
	uint8_t a[16] = { 0 };

	if (!addr)
		return s->any;
	inet_pton(family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, addr, a);
	return !s->any && s->n == 1 && s->p[0].len == plen && !memcmp(s->p[0].a, a, 16);
}

static bool range_is(const struct dtcp_range_set *s, int lo, int hi)
{
	if (lo < 0)
		return s->any;
	return !s->any && s->n == 1 && s->r[0].lo == (uint64_t)lo && s->r[0].hi == (uint64_t)hi;
}

static void test_mapping(void)
{
	struct dtcp_criterion *c = calloc(X1_MAX_CRIT, sizeof(*c));
	struct x1_task t = { .ntargets = 1, .delivery = X1_DT_X3_ONLY };
	int n;

	/* an address: from or to it (either), any port or protocol */
	t.target[0] = tgt(X1_T_IPV4_ADDRESS, DTCP_AF_INET, "192.0.2.1", 32, 0, 0, 0);
	n = x1_task_criteria("admf-a", &t, c, X1_MAX_CRIT);
	CHECK(n == 1 && c[0].family == DTCP_AF_INET && prefix_is(&c[0].either, 4, "192.0.2.1", 32) && c[0].src.any &&
		      c[0].dst.any && c[0].proto.any && c[0].sport.any && c[0].dport.any && c[0].is_static &&
		      !strcmp(c[0].csource.s, "X1/admf-a"),
	      "ipv4Address -> either");
	/* a CIDR: host bits cleared */
	t.target[0] = tgt(X1_T_IPV6_CIDR, DTCP_AF_INET6, "2001:db8::77", 64, 0, 0, 0);
	n = x1_task_criteria("admf-a", &t, c, X1_MAX_CRIT);
	CHECK(n == 1 && c[0].family == DTCP_AF_INET6 && prefix_is(&c[0].either, 6, "2001:db8::", 64),
	      "ipv6Cidr -> either, host bits cleared");
	t.target[0] = tgt(X1_T_IPV4_CIDR, DTCP_AF_INET, "192.0.2.77", 25, 0, 0, 0);
	n = x1_task_criteria("admf-a", &t, c, X1_MAX_CRIT);
	CHECK(n == 1 && prefix_is(&c[0].either, 4, "192.0.2.0", 25), "ipv4Cidr /25");
	/* a TCP port: source or destination port, IPv4 and IPv6 */
	t.target[0] = tgt(X1_T_TCP_PORT, DTCP_AF_NONE, NULL, 0, 6, 443, 443);
	n = x1_task_criteria("admf-a", &t, c, X1_MAX_CRIT);
	CHECK(n == 4, "tcpPort -> 4 criteria (%d)", n);
	for (int i = 0; i < 4 && n == 4; i++) {
		int fam = i < 2 ? DTCP_AF_INET : DTCP_AF_INET6;
		bool dst = i & 1;

		CHECK(c[i].family == fam && range_is(&c[i].proto, 6, 6) && range_is(&c[i].sport, dst ? -1 : 443, 443) &&
			      range_is(&c[i].dport, dst ? 443 : -1, 443) && c[i].src.any && c[i].dst.any &&
			      c[i].either.any,
		      "tcpPort criterion %d", i);
	}
	/* a UDP range */
	t.target[0] = tgt(X1_T_UDP_PORT_RANGE, DTCP_AF_NONE, NULL, 0, 17, 5060, 5070);
	n = x1_task_criteria("admf-a", &t, c, X1_MAX_CRIT);
	CHECK(n == 4 && range_is(&c[0].proto, 17, 17) && range_is(&c[0].sport, 5060, 5070) &&
		      range_is(&c[3].dport, 5060, 5070) && c[3].family == DTCP_AF_INET6,
	      "udpPortRange");
	/* address and port: that endpoint as source, or as destination */
	t.target[0] = tgt(X1_T_IP_ADDRESS_PORT, DTCP_AF_INET, "198.51.100.9", 32, 17, 53, 53);
	n = x1_task_criteria("admf-a", &t, c, X1_MAX_CRIT);
	CHECK(n == 2 && prefix_is(&c[0].src, 4, "198.51.100.9", 32) && c[0].dst.any && range_is(&c[0].sport, 53, 53) &&
		      c[0].dport.any && range_is(&c[0].proto, 17, 17) && prefix_is(&c[1].dst, 4, "198.51.100.9", 32) &&
		      c[1].src.any && range_is(&c[1].dport, 53, 53) && c[1].sport.any,
	      "ipAddressPort");
	/* several targets are alternatives: criteria of each, in order */
	t.ntargets = 3;
	t.target[0] = tgt(X1_T_IPV4_ADDRESS, DTCP_AF_INET, "192.0.2.1", 32, 0, 0, 0);
	t.target[1] = tgt(X1_T_IPV6_ADDRESS, DTCP_AF_INET6, "2001:db8::1", 128, 0, 0, 0);
	t.target[2] = tgt(X1_T_UDP_PORT, DTCP_AF_NONE, NULL, 0, 17, 53, 53);
	n = x1_task_criteria("admf-a", &t, c, X1_MAX_CRIT);
	CHECK(n == 6 && prefix_is(&c[1].either, 6, "2001:db8::1", 128), "three targets: 1 + 1 + 4");
	CHECK(x1_task_criteria("admf-a", &t, c, 5) < 0, "more criteria than room: refused");
	/* the worst case fits the bound */
	t.ntargets = X1_MAX_TARGETS;
	for (int i = 0; i < X1_MAX_TARGETS; i++)
		t.target[i] = tgt(X1_T_TCP_PORT_RANGE, DTCP_AF_NONE, NULL, 0, 6, 1, 1024);
	CHECK(x1_task_criteria("admf-a", &t, c, X1_MAX_CRIT) == X1_MAX_CRIT, "16 port targets: 64 criteria");
	free(c);
}

/* ---- one table for both protocols -------------------------------------------------------- */

#define X1_ENV(txid) \
	"<admfIdentifier>admf-a</admfIdentifier><neIdentifier>ne1</neIdentifier>" \
	"<messageTimestamp>2026-01-01T00:00:00.000000Z</messageTimestamp><version>v1.6.1</version>" \
	"<x1TransactionId>00000000-0000-4000-8000-00000000000" txid "</x1TransactionId>"

static const char setup[] = HEAD "<x1RequestMessage xsi:type=\"CreateDestinationRequest\">" X1_ENV(
	"1") "<destinationDetails><dId>d0000000-0000-4000-8000-000000000001</dId><deliveryType>X3Only</deliveryType>"
	     "<deliveryAddress><ipAddressAndPort><address xmlns=\"" X1_NS_COMMON
	     "\"><IPv4Address>198.51.100.7</IPv4Address>"
	     "</address><port xmlns=\"" X1_NS_COMMON
	     "\"><UDPPort>4789</UDPPort></port></ipAddressAndPort></deliveryAddress>"
	     "</destinationDetails></x1RequestMessage>"
	     "<x1RequestMessage xsi:type=\"ActivateTaskRequest\">" X1_ENV(
		     "2") "<taskDetails><xId>a0000000-0000-4000-8000-000000000001</xId><targetIdentifiers>"
			  "<targetIdentifier><ipv4Address>192.0.2.1</ipv4Address></targetIdentifier></"
			  "targetIdentifiers>"
			  "<deliveryType>X3Only</deliveryType><listOfDIDs><dId>d0000000-0000-4000-8000-000000000001</"
			  "dId></listOfDIDs>"
			  "</taskDetails></x1RequestMessage></X1Request>";

struct capture {
	char buf[8192];
	size_t n;
};

static void capture_emit(void *arg, const char *b, size_t n)
{
	struct capture *c = arg;

	if (c->n + n < sizeof(c->buf)) {
		memcpy(c->buf + c->n, b, n);
		c->n += n;
		c->buf[c->n] = 0;
	}
}

static void dtcp(struct x1_shared *sh, const char *text, struct capture *cap)
{
	struct dtcp_msg *m = malloc(sizeof(*m));
	struct dtcp_request *r = malloc(sizeof(*r));
	struct dtcp_error err;

	cap->n = 0;
	cap->buf[0] = 0;
	dtcp_msg_parse(text, strlen(text), m);
	CHECK(dtcp_request_parse(m, r, &err) == 0, "DTCP request parses (%d %s)", err.code, err.item);
	dtcp_server_handle(&sh->srv, sh->mb.cfg.source(&sh->mb, r->csource.s), r, "192.0.2.10", 1767225600000ull,
			   capture_emit, cap);
	free(m);
	free(r);
}

static void test_shared_table(void)
{
	struct x1_shared sh;
	struct x1_store st;
	struct x1_container *c = malloc(sizeof(*c));
	struct x1_out o = { 0 };
	struct capture *cap = malloc(sizeof(*cap));
	const char *why;
	const struct dtcp_entry *e;

	x1_shared_init(&sh, NULL);
	x1_store_init(&st, &sh.ops, &sh, "ne1");
	CHECK(!x1_parse_container(setup, strlen(setup), c, &why), "setup parses");
	x1_store_handle(&st, "admf-a", c, 1767225600000000ull, &o);
	CHECK(o.p && strstr(o.p, "ActivateTaskResponse") && !strstr(o.p, "ErrorResponse"), "task active");
	CHECK(sh.srv.n == 1 && (e = dtcp_server_find(&sh.srv, 1)) && !strcmp(e->c.csource.s, "X1/admf-a"),
	      "the X1 criterion is id 1 of the DTCP table, owned by X1/admf-a");
	/* state records: every change of a character is refused, or reads back as
	 * a record that writes exactly that line */
	{
		char *line = malloc(X1_RECORD_MAX), *t = malloc(X1_RECORD_MAX), *back = malloc(X1_RECORD_MAX);
		struct x1_record *rec = malloc(sizeof(*rec));
		size_t n = x1_record_task(st.tasks[0], line, X1_RECORD_MAX);
		int accepted = 0, canonical = 0;

		CHECK(n && !x1_record_parse(line, n, rec, &why) && rec->kind == X1_REC_TASK && rec->ncrit == 1 &&
			      rec->crit[0] == 1 && !memcmp(&rec->task, &st.tasks[0]->t, sizeof(rec->task)) &&
			      !strcmp(rec->admf, "admf-a"),
		      "a task record reads back");
		for (size_t k = 8; k < n; k++)
			for (const char *h = "0123456789abcdefX"; *h; h++) {
				if (*h == line[k])
					continue;
				memcpy(t, line, n + 1);
				t[k] = *h;
				if (x1_record_parse(t, n, rec, &why))
					continue;
				accepted++;
				if (rec->kind == X1_REC_TASK) {
					struct x1_task_entry te = { .t = rec->task, .ncrit = rec->ncrit };

					memcpy(te.admf, rec->admf, sizeof(te.admf));
					memcpy(te.crit, rec->crit, sizeof(te.crit));
					canonical += x1_record_task(&te, back, X1_RECORD_MAX) == n && !strcmp(back, t);
				}
			}
		CHECK(accepted == canonical, "%d changed records accepted, %d canonical", accepted, canonical);
		CHECK(x1_record_parse(line, n - 2, rec, &why), "a truncated record is refused");
		free(line);
		free(t);
		free(back);
		free(rec);
	}

	/* a DTCP ADD takes the next id of the same counter */
	dtcp(&sh,
	     "ADD DTCP/0.8\r\nCsource-ID: ftap1\r\nCdest-ID: cdconf\r\nSource-Address: 192.0.2.9\r\n"
	     "Seq: 1\r\n\r\n",
	     cap);
	CHECK(strstr(cap->buf, "200 OK") && strstr(cap->buf, "CRITERIA-ID: 2"), "DTCP ADD is id 2: %s", cap->buf);
	/* DTCP LIST shows the source's own criterion only */
	dtcp(&sh, "LIST DTCP/0.8\r\nCsource-ID: ftap1\r\nSeq: 2\r\n\r\n", cap);
	CHECK(strstr(cap->buf, "CRITERIA-ID: 2") && !strstr(cap->buf, "CRITERIA-ID: 1\r") && !strstr(cap->buf, "X1"),
	      "DTCP LIST does not show the X1 task: %s", cap->buf);
	/* ... and cannot delete it: it does not exist for ftap1 (431) */
	dtcp(&sh, "DELETE DTCP/0.8\r\nCsource-ID: ftap1\r\nCriteria-ID: 1\r\nSeq: 3\r\n\r\n", cap);
	CHECK(strstr(cap->buf, "431"), "DTCP DELETE of the X1 criterion: 431: %s", cap->buf);
	dtcp(&sh, "DELETE DTCP/0.8\r\nCsource-ID: ftap1\r\nCriteria-ID: 1-100\r\nSeq: 4\r\n\r\n", cap);
	CHECK(dtcp_server_find(&sh.srv, 1) && !dtcp_server_find(&sh.srv, 2),
	      "a DTCP DELETE of a range removes its own only");
	/* X1 deactivation removes exactly its criterion from the shared table */
	{
		static const char deact[] = HEAD "<x1RequestMessage xsi:type=\"DeactivateTaskRequest\">" X1_ENV(
			"3") "<xId>a0000000-0000-4000-8000-000000000001</xId></x1RequestMessage></X1Request>";

		x1_out_free(&o);
		CHECK(!x1_parse_container(deact, strlen(deact), c, &why), "deactivate parses");
		x1_store_handle(&st, "admf-a", c, 1767225600000000ull, &o);
		CHECK(o.p && strstr(o.p, "DeactivateTaskResponse") && sh.srv.n == 0 && sh.mb.removes == 2,
		      "deactivated: the table is empty");
	}
	x1_out_free(&o);
	x1_store_free(&st);
	x1_shared_free(&sh);
	free(cap);
	free(c);
}

/* ---- the worker -> monitor wire ----------------------------------------------------- */

static void test_wire(void)
{
	static const char body[] = HEAD "<x1RequestMessage xsi:type=\"ActivateTaskRequest\">" X1_ENV(
		"1") "<taskDetails><xId>a0000000-0000-4000-8000-000000000001</xId><targetIdentifiers>"
		     "<targetIdentifier><ipv4Cidr>192.0.2.0/24</ipv4Cidr></targetIdentifier>"
		     "<targetIdentifier><udpPortRange><start xmlns=\"" X1_NS_COMMON
		     "\">1</start><end xmlns=\"" X1_NS_COMMON
		     "\">9</end></udpPortRange></targetIdentifier></targetIdentifiers>"
		     "<deliveryType>X3Only</deliveryType><listOfDIDs><dId>d0000000-0000-4000-8000-000000000001</dId>"
		     "</listOfDIDs><correlationID>7</correlationID></taskDetails></x1RequestMessage>"
		     "<x1RequestMessage xsi:type=\"GetNEStatusRequest\">" X1_ENV("2") "</x1RequestMessage></X1Request>";
	struct x1_container *c = malloc(sizeof(*c));
	struct x1_request *d = malloc(sizeof(*d)), *d2 = malloc(sizeof(*d2));
	uint8_t w[X1_WIRE_MAX], w2[X1_WIRE_MAX];
	const char *why;
	size_t n, n2;
	int accepted = 0, canonical = 0;

	CHECK(!x1_parse_container(body, strlen(body), c, &why) && c->n == 2, "wire test body parses");
	n = x1_wire_encode(&c->msg[0], w, sizeof(w));
	CHECK(n > 0 && !x1_wire_decode(w, n, d, &why), "ActivateTask crosses");
	CHECK(d->type == X1_M_ACTIVATE_TASK && !memcmp(&d->task, &c->msg[0].task, sizeof(d->task)) &&
		      !memcmp(&d->env, &c->msg[0].env, sizeof(d->env)) && !strcmp(d->type_name, "ActivateTask"),
	      "ActivateTask decoded as parsed");
	n2 = x1_wire_encode(&c->msg[1], w2, sizeof(w2));
	CHECK(n2 > 0 && !x1_wire_decode(w2, n2, d2, &why) && d2->error == X1_E_UNSUPPORTED_REQUEST &&
		      !strcmp(d2->type_name, "GetNEStatus") && d2->desc && !strcmp(d2->desc, c->msg[1].desc),
	      "an unsupported request crosses with its code and text");
	{
		size_t taken = 0;

		for (size_t k = 0; k < n; k++)
			taken += !x1_wire_decode(w, k, d, &why);
		CHECK(taken == 0, "%zu truncations accepted", taken);
	}
	/* every byte changed to every value: refused, or a request that writes back as
	 * exactly those bytes (nothing the decoder lets through is ambiguous) */
	for (size_t k = 0; k < n; k++)
		for (int v = 0; v < 256; v++) {
			uint8_t t[X1_WIRE_MAX];

			if (v == w[k])
				continue;
			memcpy(t, w, n);
			t[k] = (uint8_t)v;
			if (x1_wire_decode(t, n, d, &why))
				continue;
			accepted++;
			canonical += x1_wire_encode(d, w2, sizeof(w2)) == n && !memcmp(w2, t, n);
		}
	CHECK(accepted == canonical, "%d tampered encodings accepted, %d of them canonical", accepted, canonical);
	/* what the parser never produces is refused */
	{
		struct x1_request r = c->msg[0];

		r.task.target[0].plen = 33;
		CHECK(!x1_wire_encode(&r, w2, sizeof(w2)), "a /33 IPv4 CIDR is not sent");
		r = c->msg[0];
		r.task.ntargets = 0;
		CHECK(!x1_wire_encode(&r, w2, sizeof(w2)), "a task without target is not sent");
		r = c->msg[0];
		r.task.target[1].port_lo = 10;
		CHECK(!x1_wire_encode(&r, w2, sizeof(w2)), "a reversed range is not sent");
		r = c->msg[0];
		snprintf(r.env.version, sizeof(r.env.version), "v2.0.0");
		CHECK(!x1_wire_encode(&r, w2, sizeof(w2)), "an unsupported version without its error is not sent");
		r = c->msg[0];
		r.env.admf[3] = '\n';
		CHECK(!x1_wire_encode(&r, w2, sizeof(w2)), "a control character is not sent");
		r = c->msg[0];
		r.error = 2010;
		r.desc = "x";
		CHECK(!x1_wire_encode(&r, w2, sizeof(w2)), "a store's code from the worker is not sent");
	}
	free(c);
	free(d);
	free(d2);
}

/* ---- HTTP/1.1 (RFC 9112), the subset clause 7 needs ------------------------------------- */

static void test_http(void)
{
	static const struct {
		const char *req;
		int result, status;
		size_t len;
		bool keep;
	} v[] = {
		{ "POST /X1/NE HTTP/1.1\r\nHost: ne\r\nContent-Length: 4\r\n\r\nabcd", X1_HTTP_REQUEST, 200, 4, true },
		{ "POST /X1/NE HTTP/1.1\r\ncontent-length:   4  \r\nConnection: close\r\n\r\nabcd", X1_HTTP_REQUEST,
		  200, 4, false },
		{ "POST /X1/NE HTTP/1.0\r\nContent-Length: 0\r\n\r\n", X1_HTTP_REQUEST, 200, 0, false },
		{ "POST /X1/NE HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", X1_HTTP_MORE, 0, 4, true },
		{ "POST /X1/NE HTTP/1.1\r\nContent-Length: 4\r\n", X1_HTTP_MORE, 0, 0, true },
		{ "GET /X1/NE HTTP/1.1\r\n\r\n", X1_HTTP_ERROR, 405, 0, true },
		{ "POST /x1/ne HTTP/1.1\r\nContent-Length: 0\r\n\r\n", X1_HTTP_ERROR, 404, 0, true },
		{ "POST /X1/NE/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n", X1_HTTP_ERROR, 404, 0, true },
		{ "POST /X1/NE HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", X1_HTTP_ERROR, 411, 0, true },
		{ "POST /X1/NE HTTP/1.1\r\n\r\n", X1_HTTP_ERROR, 411, 0, true },
		{ "POST /X1/NE HTTP/1.1\r\nContent-Length: 262145\r\n\r\n", X1_HTTP_ERROR, 413, 0, true },
		{ "POST /X1/NE HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", X1_HTTP_ERROR, 413, 0, true },
		{ "POST /X1/NE HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n", X1_HTTP_ERROR, 400, 0,
		  true },
		{ "POST /X1/NE HTTP/1.1\r\nContent-Length: -4\r\n\r\n", X1_HTTP_ERROR, 400, 0, true },
		{ "POST /X1/NE HTTP/1.1\r\nContent-Length : 4\r\n\r\nabcd", X1_HTTP_ERROR, 400, 0, true },
		{ "POST /X1/NE HTTP/2.0\r\nContent-Length: 0\r\n\r\n", X1_HTTP_ERROR, 505, 0, true },
		{ "POST /X1/NE\r\n\r\n", X1_HTTP_ERROR, 400, 0, true },
		{ "POST /X1/NE HTTP/1.1\r\nNoColon\r\n\r\n", X1_HTTP_ERROR, 400, 0, true },
	};
	struct x1_http_req r;
	char head[256], *big;
	int bad = 0;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int res = x1_http_parse(v[i].req, strlen(v[i].req), &r);

		if (res != v[i].result || (res == X1_HTTP_ERROR && r.status != v[i].status) ||
		    (res == X1_HTTP_REQUEST && (r.content_length != v[i].len || r.keep_alive != v[i].keep))) {
			printf("  http case %zu: result %d status %d len %zu\n", i, res, r.status, r.content_length);
			bad++;
		}
	}
	CHECK(bad == 0, "%d HTTP cases differ", bad);
	big = malloc(X1_HTTP_HEAD_MAX + 64);
	memset(big, 'a', X1_HTTP_HEAD_MAX + 64);
	memcpy(big, "POST /X1/NE HTTP/1.1\r\nX: ", 26);
	CHECK(x1_http_parse(big, X1_HTTP_HEAD_MAX + 64, &r) == X1_HTTP_ERROR && r.status == 431, "a head over 8 KiB");
	free(big);
	CHECK(x1_http_head(200, 12, true, head, sizeof(head)) &&
		      !strcmp(head,
			      "HTTP/1.1 200 OK\r\nContent-Type: application/xml; charset=UTF-8\r\nContent-Length: "
			      "12\r\n\r\n"),
	      "200 head: %s", head);
	CHECK(x1_http_head(405, 0, false, head, sizeof(head)) && strstr(head, "Allow: POST\r\n") &&
		      strstr(head, "Connection: close\r\n"),
	      "405 head");
}

/* ---- NE-to-ADMF reports (clause 6.5; docs/x1.md "Issue reports") ---- */

static void test_reports(void)
{
	/* written by hand from the message definitions: the envelope, then the
	 * DID or XID, the report type, the details; one message each */
	static const char want[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				   "<X1Request xmlns=\"http://uri.etsi.org/03221/X1/2017/10\" "
				   "xmlns:etsi=\"http://uri.etsi.org/03280/common/2017/07\" "
				   "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
				   "  <x1RequestMessage xsi:type=\"ReportDestinationIssueRequest\">\n"
				   "    <admfIdentifier>admf-a</admfIdentifier>\n"
				   "    <neIdentifier>ne &amp; 1</neIdentifier>\n"
				   "    <messageTimestamp>2026-01-01T00:00:01.000002Z</messageTimestamp>\n"
				   "    <version>v1.6.1</version>\n"
				   "    <x1TransactionId>00000000-0000-4000-8000-000000000001</x1TransactionId>\n"
				   "    <dId>d1000000-0000-4000-8000-000000000001</dId>\n"
				   "    <destinationReportType>NonTerminatingFault</destinationReportType>\n"
				   "    <destinationIssueDetails>down &lt;1&gt;</destinationIssueDetails>\n"
				   "  </x1RequestMessage>\n"
				   "  <x1RequestMessage xsi:type=\"ReportTaskIssueRequest\">\n"
				   "    <admfIdentifier>admf-a</admfIdentifier>\n"
				   "    <neIdentifier>ne &amp; 1</neIdentifier>\n"
				   "    <messageTimestamp>2026-01-01T00:00:01.000002Z</messageTimestamp>\n"
				   "    <version>v1.6.1</version>\n"
				   "    <x1TransactionId>00000000-0000-4000-8000-000000000002</x1TransactionId>\n"
				   "    <xId>a1000000-0000-4000-8000-000000000001</xId>\n"
				   "    <taskReportType>AllClear</taskReportType>\n"
				   "  </x1RequestMessage>\n"
				   "</X1Request>\n";
	struct x1_report r[2] = { { .kind = X1_R_DEST, .type = X1_RT_NON_TERMINATING_FAULT, .details = "down <1>" },
				  { .kind = X1_R_TASK, .type = X1_RT_ALL_CLEAR } };
	struct x1_uuid tx[2];
	struct x1_out o = { 0 };

	x1_parse_uuid("d1000000-0000-4000-8000-000000000001", 36, &r[0].id);
	x1_parse_uuid("a1000000-0000-4000-8000-000000000001", 36, &r[1].id);
	x1_parse_uuid("00000000-0000-4000-8000-000000000001", 36, &tx[0]);
	x1_parse_uuid("00000000-0000-4000-8000-000000000002", 36, &tx[1]);
	/* 2026-01-01T00:00:01.000002Z */
	CHECK(!x1_format_reports(&o, "admf-a", "ne & 1", 1767225601000002ull, tx, r, 2), "reports formatted");
	CHECK(o.p && !strcmp(o.p, want), "the reports as written by hand:\n%s", o.p ? o.p : "(none)");
	x1_out_free(&o);
	r[1].type = 0; /* no report type: refused, not written half */
	CHECK(x1_format_reports(&o, "admf-a", "ne", 0, tx, r, 2) == -1, "a report without a type is refused");
	x1_out_free(&o);
	CHECK(!strcmp(x1_report_type_name(X1_RT_TERMINATING_FAULT), "TerminatingFault") &&
		      !strcmp(x1_report_type_name(X1_RT_WARNING), "Warning") && !x1_report_type_name(9),
	      "report type names (TaskReportType)");
}

int main(void)
{
	test_uuid();
	test_addresses();
	test_scalars();
	test_hardening();
	test_mapping();
	test_shared_table();
	test_wire();
	test_http();
	test_reports();
	return check_summary("unit");
}
