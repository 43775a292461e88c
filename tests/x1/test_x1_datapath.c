// SPDX-License-Identifier: BSD-2-Clause
/*
 * X1 to datapath: X1 messages through the X1 library (parse, the
 * worker -> monitor wire, the store) and xtap's backend (loader/lib/backend.c)
 * into the BPF maps, then packets through the XDP program. The expectations
 * are docs/x1.md "Mapping" read as packets: an address target matches
 * traffic from and to it, a port target that port as source or destination
 * over both families and only its protocol, an ipAddressPort that endpoint
 * as source or destination; ModifyTask moves the match, DeactivateTask
 * leaves nothing in the maps. Root, in a namespace of its own (tenv_netns).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "backend.h"
#include "memback.h"
#include "pktbuild.h"
#include "testenv.h"
#include "x1.h"

static struct tenv env;
static struct memback mb;
static struct xtap_backend be;
static struct dtcp_server srv;
static struct x1_store st;

/* The store's criteria in the DTCP table over the real backend, settled
 * before the answer as xtapd settles before every reply. */
static int crit_add(void *ctx, const struct dtcp_criterion *c, uint32_t *id)
{
	struct dtcp_criterion *x = malloc(sizeof(*x));
	struct dtcp_entry *e;

	if (!x)
		return -1;
	*x = *c;
	x->id = srv.next_id;
	if (!x->id || xtap_dtcp_backend.install(&be, x)) {
		free(x);
		return -1;
	}
	if (!(e = dtcp_entry_new(x)) || dtcp_server_restore(&srv, e)) {
		free(e);
		xtap_dtcp_backend.remove(&be, x->id);
		free(x);
		return -1;
	}
	*id = x->id;
	free(x);
	return 0;
}

static int crit_remove(void *ctx, uint32_t id)
{
	if (xtap_dtcp_backend.remove(&be, id))
		return -1;
	free(dtcp_server_take(&srv, id));
	return 0;
}

static const struct x1_store_ops ops = { .crit_add = crit_add, .crit_remove = crit_remove };

#define HEAD "<X1Request xmlns=\"" X1_NS "\" xmlns:c=\"" X1_NS_COMMON "\" xmlns:xsi=\"" X1_NS_XSI "\">"
#define ENV \
	"<admfIdentifier>admf-a</admfIdentifier><neIdentifier>ne1</neIdentifier>" \
	"<messageTimestamp>2026-01-01T00:00:00.000000Z</messageTimestamp><version>v1.6.1</version>" \
	"<x1TransactionId>00000000-0000-4000-8000-000000000001</x1TransactionId>"
#define XID "a1000000-0000-4000-8000-000000000001"
#define DID "d1000000-0000-4000-8000-000000000001"
#define TASK(type, targets) \
	"<x1RequestMessage xsi:type=\"" type "\">" ENV "<taskDetails><xId>" XID "</xId>" \
	"<targetIdentifiers>" targets "</targetIdentifiers><deliveryType>X3Only</deliveryType>" \
	"<listOfDIDs><dId>" DID "</dId></listOfDIDs></taskDetails></x1RequestMessage>"
#define T(x) "<targetIdentifier>" x "</targetIdentifier>"

/* One body through parse, wire and store; the response text. */
static const char *x1(const char *body)
{
	static struct x1_container c;
	static uint8_t wire[X1_WIRE_CONTAINER_MAX];
	static struct x1_out o;
	char admf[X1_ID_MAX];
	const char *why;
	size_t n;

	x1_out_free(&o);
	if (x1_parse_container(body, strlen(body), &c, &why) ||
	    !(n = x1_wire_container_encode("admf-a", &c, wire, sizeof(wire))) ||
	    x1_wire_container_decode(wire, n, admf, &c, &why))
		return "(not parsed)";
	x1_store_handle(&st, admf, &c, 1767225600000000ull, &o);
	xtap_backend_settle(&be);
	return o.p ? o.p : "(no output)";
}

static int run(int family, const char *src, const char *dst, int proto, uint16_t sport, uint16_t dport,
	       struct xtap_meta *m)
{
	struct pkt_spec s = {
		.family = family, .proto = (uint8_t)proto, .sport = sport, .dport = dport, .payload = 20
	};
	uint8_t f[256];
	int len;

	pkt_addr(s.src, src);
	pkt_addr(s.dst, dst);
	len = pkt_build(&s, f, sizeof(f), NULL);
	return tenv_ingress_cds(&env, env.ifindex[0], f, (uint32_t)len, m);
}

static const struct {
	int family;
	const char *src, *dst;
	int proto;
	uint16_t sport, dport;
	int want;
} packets[] = {
	/* ipv4Address 192.0.2.1: from or to it, any port or protocol */
	{ 4, "192.0.2.1", "203.0.113.1", 6, 1000, 80, 1 },
	{ 4, "203.0.113.1", "192.0.2.1", 17, 5000, 5001, 1 },
	{ 4, "192.0.2.11", "203.0.113.1", 6, 1000, 80, 0 },
	/* ipv6Cidr 2001:db8:aa::/48 */
	{ 6, "2001:db8:aa:1::5", "2001:db8:ff::1", 6, 1000, 80, 1 },
	{ 6, "2001:db8:ff::1", "2001:db8:aa::9", 6, 1000, 80, 1 },
	{ 6, "2001:db8:ab::1", "2001:db8:ff::1", 6, 1000, 80, 0 },
	/* tcpPort 8443: TCP from or to the port, both families; not UDP */
	{ 4, "198.51.100.1", "198.51.100.2", 6, 40000, 8443, 1 },
	{ 4, "198.51.100.2", "198.51.100.1", 6, 8443, 40000, 1 },
	{ 6, "2001:db8:1::1", "2001:db8:2::2", 6, 40000, 8443, 1 },
	{ 4, "198.51.100.1", "198.51.100.2", 17, 40000, 8443, 0 },
	/* ipAddressPort 198.51.100.9 UDP 53: that endpoint, as source or destination */
	{ 4, "198.51.100.9", "198.51.100.20", 17, 53, 33000, 1 },
	{ 4, "198.51.100.20", "198.51.100.9", 17, 33000, 53, 1 },
	{ 4, "198.51.100.20", "198.51.100.9", 17, 33000, 54, 0 },
	{ 4, "198.51.100.9", "198.51.100.20", 17, 33000, 53, 0 },
	{ 4, "198.51.100.20", "198.51.100.9", 6, 33000, 53, 0 },
};

static int mapping(void)
{
	struct xtap_meta m;
	const char *r;
	int bad = 0;

	r = x1(HEAD
	       "<x1RequestMessage xsi:type=\"CreateDestinationRequest\">" ENV "<destinationDetails><dId>" DID
	       "</dId><deliveryType>X3Only</deliveryType><deliveryAddress>"
	       "<ipAddressAndPort><c:address><c:IPv4Address>203.0.113.50</c:IPv4Address></c:address>"
	       "<c:port><c:UDPPort>7890</c:UDPPort></c:port></ipAddressAndPort></deliveryAddress>"
	       "</destinationDetails></x1RequestMessage>" TASK(
		       "ActivateTaskRequest",
		       T("<ipv4Address>192.0.2.1</ipv4Address>") T("<ipv6Cidr>2001:0db8:00aa:0000:0000:0000:0000:0000/"
								   "48</ipv6Cidr>") T("<tcpPort>8443</tcpPort>")
			       T("<ipAddressPort><c:address><c:IPv4Address>198.51.100.9</c:IPv4Address></c:address>"
				 "<c:port><c:UDPPort>53</c:UDPPort></c:port></ipAddressPort>")) "</X1Request>");
	REQUIRE(strstr(r, "ActivateTaskResponse") && !strstr(r, "ErrorResponse"), "activate: %s", r);
	for (size_t i = 0; i < sizeof(packets) / sizeof(packets[0]); i++) {
		int got = run(packets[i].family, packets[i].src, packets[i].dst, packets[i].proto, packets[i].sport,
			      packets[i].dport, &m);

		if (got != packets[i].want) {
			printf("  packet %zu %s -> %s proto %d %u -> %u: %d copies, want %d\n", i, packets[i].src,
			       packets[i].dst, packets[i].proto, packets[i].sport, packets[i].dport, got,
			       packets[i].want);
			bad++;
		}
	}
	REQUIRE(bad == 0, "%d packets differ from the mapping", bad);
	/* the copy goes to the destination's address and port */
	REQUIRE(run(4, "192.0.2.1", "203.0.113.1", 6, 1000, 80, &m) == 1, "a match");
	{
		uint32_t key = m.cd[0];
		struct xtap_cdest cd;

		REQUIRE(!bpf_map_lookup_elem(env.maps.cdests, &key, &cd) && cd.active && cd.dst[0] == 203 &&
				cd.dst[3] == 50 && cd.dport == htons(7890),
			"the content destination is the X1 destination");
	}
	/* ModifyTask: the match moves to the new target */
	r = x1(HEAD TASK("ModifyTaskRequest", T("<ipv4Address>192.0.2.2</ipv4Address>")) "</X1Request>");
	REQUIRE(strstr(r, "ModifyTaskResponse"), "modify: %s", r);
	REQUIRE(run(4, "192.0.2.2", "203.0.113.1", 6, 1000, 80, &m) == 1, "the new target matches");
	REQUIRE(run(4, "192.0.2.1", "203.0.113.1", 6, 1000, 80, &m) == 0, "the old target does not");
	REQUIRE(run(4, "198.51.100.2", "198.51.100.1", 6, 8443, 40000, &m) == 0, "the old port target does not");
	/* DeactivateTask: nothing left */
	r = x1(HEAD "<x1RequestMessage xsi:type=\"DeactivateTaskRequest\">" ENV "<xId>" XID "</xId></x1RequestMessage>"
		    "</X1Request>");
	REQUIRE(strstr(r, "DeactivateTaskResponse"), "deactivate: %s", r);
	REQUIRE(run(4, "192.0.2.2", "203.0.113.1", 6, 1000, 80, &m) == 0, "deactivated target matches");
	REQUIRE(xtap_cls_count(env.cls) == 0 && srv.n == 0, "slots or criteria left");
	return 0;
}

int main(void)
{
	char why[256];
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tenv_netns(why, sizeof(why))) {
		t_record("x1 datapath tests", 1, why);
		return t_summary();
	}
	err = tenv_open_cds(&env, 4096, 64);
	if (err) {
		printf("cannot load the BPF programs: %s\n", strerror(-err));
		t_record("load", -1, NULL);
		return t_summary();
	}
	memback_init(&mb, NULL);
	xtap_backend_init(&be, env.cls);
	if (dtcp_server_init(&srv, &mb.cfg, &xtap_dtcp_backend, &be)) {
		t_record("dtcp server", -1, NULL);
		return t_summary();
	}
	x1_store_init(&st, &ops, NULL, "ne1");
	t_record("X1 targets become rules the XDP program matches as docs/x1.md maps them", mapping(), NULL);
	x1_store_free(&st);
	dtcp_server_free(&srv);
	xtap_backend_free(&be);
	tenv_close(&env);
	return t_summary();
}
