// SPDX-License-Identifier: BSD-2-Clause
/*
 * DTCP to datapath: signed DTCP messages through the protocol library and
 * xtap's backend into the BPF maps, then packets through the programs and
 * LIST counters back. Checks that an ADD is active before its reply, that a
 * DELETE removes every rule before its reply, that address lists become one
 * rule per prefix with counters summed, that identical content destinations
 * are shared, and that a datapath refusal answers 500 and changes nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "backend.h"
#include "memback.h"
#include "pktbuild.h"
#include "testenv.h"

static struct tenv env;
static struct memback mb;
static struct xtap_backend be;
static struct dtcp_server srv;
static struct dtcp_session ss;
static char replies[65536];
static size_t nreplies;

static void emit(void *arg, const char *buf, size_t n)
{
	(void)arg;
	xtap_backend_settle(&be); /* as xtapd does before every reply */
	if (nreplies + n < sizeof(replies)) {
		memcpy(replies + nreplies, buf, n);
		nreplies += n;
		replies[nreplies] = 0;
	}
}

/* Send one message (lines without Authentication-Info), signed with the
 * source's key; returns the replies' text. */
static const char *dtcp_on(struct dtcp_session *sess, const char *msg);

static const char *dtcp(const char *msg)
{
	return dtcp_on(&ss, msg);
}

static const char *dtcp_on(struct dtcp_session *sess, const char *msg)
{
	static char buf[8192];
	size_t n = strlen(msg);

	memcpy(buf, msg, n);
	n = dtcp_sign_append("Juniper", 7, buf, n, sizeof(buf));
	nreplies = 0;
	replies[0] = 0;
	dtcp_session_feed(sess, buf, n, 1700000000000ull, emit, NULL);
	return replies;
}

static int run_pkt(const char *src, const char *dst, uint16_t dport, struct xtap_meta *m)
{
	struct pkt_spec s = { .family = 4, .proto = 6, .sport = 1000, .dport = dport, .payload = 20 };
	uint8_t f[256];
	int len;

	pkt_addr(s.src, src);
	pkt_addr(s.dst, dst);
	len = pkt_build(&s, f, sizeof(f), NULL);
	return tenv_ingress_cds(&env, env.ifindex[0], f, (uint32_t)len, m);
}

#define ADD_HDR "ADD DTCP/0.7\r\nCsource-ID: ftap1\r\nSeq: 1\r\n"

static int add_list_delete(void)
{
	struct xtap_meta m;
	const char *r;
	int n_exact;

	r = dtcp(ADD_HDR "Cdest-ID: cd1\r\n"
			 "Source-Address: 192.0.2.1-192.0.2.2\r\n"
			 "Dest-Port: 80,443\r\n"
			 "Protocol: 6\r\n"
			 "X-JTap-Cdest-Dest-Address: 203.0.113.50\r\n"
			 "X-JTap-Cdest-Dest-Port: 7890\r\n"
			 "X-JTap-Cdest-Source-Address: 192.0.2.254\r\n"
			 "X-MD-Intercept-Id: 1234\r\n"
			 "Flags: STATIC\r\n");
	REQUIRE(strstr(r, "200 OK") && strstr(r, "CRITERIA-ID: 1\r\n"), "ADD reply: %s", r);
	/* active before the reply: the range became two exact rules */
	n_exact = tenv_exact_keys(&env);
	REQUIRE(n_exact == 2, "%d exact entries, want 2", n_exact);
	REQUIRE(run_pkt("192.0.2.1", "198.51.100.7", 80, &m) == 1, "first address not matched");
	REQUIRE(run_pkt("192.0.2.2", "198.51.100.7", 443, &m) == 1, "second address not matched");
	REQUIRE(run_pkt("192.0.2.3", "198.51.100.7", 80, &m) == 0, "address outside the range matched");
	REQUIRE(run_pkt("192.0.2.1", "198.51.100.7", 22, &m) == 0, "other port matched");
	{
		uint32_t key = m.cd[0];
		struct xtap_cdest cd;

		REQUIRE(run_pkt("192.0.2.1", "198.51.100.7", 80, &m) == 1, "match");
		key = m.cd[0];
		REQUIRE(!bpf_map_lookup_elem(env.maps.cdests, &key, &cd), "cdest");
		REQUIRE(cd.active && cd.format == XTAP_CD_JMIRROR && cd.jm_word0 == htonl(0x1234) &&
				cd.dport == htons(7890) && cd.src[0] == 192 && cd.src[3] == 254 && cd.dst[3] == 50,
			"content destination not as asked");
	}
	/* counters of both rules, summed */
	r = dtcp("LIST DTCP/0.7\r\nCsource-ID: ftap1\r\nSeq: 2\r\nCriteria-ID: 1\r\nFlags: Stats\r\n");
	REQUIRE(strstr(r, "MATCHING-PACKETS: 3\r\n"), "LIST: %s", r);

	/* a second criterion naming the same destination shares it: one copy */
	r = dtcp(ADD_HDR "Cdest-ID: cd1\r\n"
			 "Dest-Address: 198.51.100.7\r\n"
			 "X-JTap-Cdest-Dest-Address: 203.0.113.50\r\n"
			 "X-JTap-Cdest-Dest-Port: 7890\r\n"
			 "X-JTap-Cdest-Source-Address: 192.0.2.254\r\n"
			 "X-MD-Intercept-Id: 1234\r\n"
			 "Flags: STATIC\r\n");
	REQUIRE(strstr(r, "CRITERIA-ID: 2\r\n"), "second ADD: %s", r);
	REQUIRE(run_pkt("192.0.2.1", "198.51.100.7", 80, &m) == 1, "two criteria to one CD gave %u CDs", m.ncd);

	/* DELETE: gone before the reply, every rule */
	r = dtcp("DELETE DTCP/0.7\r\nCsource-ID: ftap1\r\nSeq: 3\r\nCriteria-ID: 1\r\nFlags: STATIC\r\n");
	REQUIRE(strstr(r, "200 OK") && strstr(r, "CRITERIA-COUNT: 1\r\n"), "DELETE: %s", r);
	REQUIRE(tenv_exact_keys(&env) == 1, "rules left after DELETE");
	REQUIRE(run_pkt("192.0.2.2", "198.51.100.8", 443, &m) == 0, "deleted criterion still matches");
	REQUIRE(run_pkt("192.0.2.2", "198.51.100.7", 443, &m) == 1, "the other criterion lost");
	r = dtcp("DELETE DTCP/0.7\r\nCsource-ID: ftap1\r\nSeq: 4\r\nCriteria-ID: *\r\nFlags: STATIC\r\n");
	REQUIRE(strstr(r, "CRITERIA-COUNT: 1\r\n"), "DELETE *: %s", r);
	REQUIRE(tenv_exact_keys(&env) == 0, "rules left");
	REQUIRE(xtap_cls_count(env.cls) == 0, "slots left");
	return 0;
}

/* The datapath refuses (16 of one source on one address): 500, nothing changed. */
static int refusal_is_500(void)
{
	char msg[512];
	const char *r;
	int ok = 0;

	for (int i = 0; i < XTAP_MAX_CAND; i++) {
		snprintf(msg, sizeof(msg),
			 ADD_HDR
			 "Source-Address: 192.0.2.9\r\nDest-Port: %d\r\n"
			 "Cdest-ID: cd1\r\nX-JTap-Cdest-Dest-Address: 203.0.113.50\r\nX-JTap-Cdest-Dest-Port: 7890\r\n"
			 "Timeout-Total: 600\r\n",
			 1000 + i);
		ok += strstr(dtcp(msg), "200 OK") != NULL;
	}
	REQUIRE(ok == XTAP_MAX_CAND, "%d of %d ADDs accepted", ok, XTAP_MAX_CAND);
	r = dtcp(ADD_HDR
		 "Source-Address: 192.0.2.9\r\nDest-Port: 2000\r\nCdest-ID: cd1\r\n"
		 "X-JTap-Cdest-Dest-Address: 203.0.113.50\r\nX-JTap-Cdest-Dest-Port: 7890\r\nTimeout-Total: 600\r\n");
	REQUIRE(strstr(r, " 500 "), "17th criterion on one address: %s", r);
	REQUIRE(xtap_cls_count(env.cls) == XTAP_MAX_CAND, "refused ADD changed the datapath");
	r = dtcp("LIST DTCP/0.7\r\nCsource-ID: ftap1\r\nSeq: 9\r\nFlags: Criteria\r\n");
	REQUIRE(strstr(r, "CRITERIA-COUNT: 16\r\n"), "refused ADD is listed: %.200s", r);
	r = dtcp("DELETE DTCP/0.7\r\nCsource-ID: ftap1\r\nSeq: 10\r\nCriteria-ID: *\r\n");
	REQUIRE(strstr(r, "CRITERIA-COUNT: 16\r\n"), "DELETE *: %s", r);
	REQUIRE(xtap_cls_count(env.cls) == 0 && tenv_exact_keys(&env) == 0, "rules left");
	return 0;
}

/* A prefix covered by another in the same list is one rule, not two:
 * otherwise a packet would count twice for one criterion. */
static int covered_prefixes(void)
{
	struct xtap_meta m;
	const char *r;

	r = dtcp(ADD_HDR
		 "Source-Address: 192.0.2.0/24, 192.0.2.128/25, 192.0.2.7\r\nCdest-ID: cd1\r\n"
		 "X-JTap-Cdest-Dest-Address: 203.0.113.50\r\nX-JTap-Cdest-Dest-Port: 7890\r\nFlags: STATIC\r\n");
	REQUIRE(strstr(r, "200 OK"), "ADD: %s", r);
	REQUIRE(xtap_cls_count(env.cls) == 1, "%u rules for one covering prefix", xtap_cls_count(env.cls));
	REQUIRE(run_pkt("192.0.2.7", "198.51.100.7", 80, &m) == 1, "match");
	r = dtcp("LIST DTCP/0.7\r\nCsource-ID: ftap1\r\nSeq: 11\r\nFlags: Stats\r\n");
	REQUIRE(strstr(r, "MATCHING-PACKETS: 1\r\n"), "LIST: %s", r);
	r = dtcp("DELETE DTCP/0.7\r\nCsource-ID: ftap1\r\nSeq: 12\r\nCriteria-ID: *\r\nFlags: STATIC\r\n");
	REQUIRE(strstr(r, "200 OK") && xtap_cls_count(env.cls) == 0, "DELETE: %s", r);
	return 0;
}

/* Expiry's read of many criteria (one pass of batch lookups) gives what one
 * read per criterion gives: rules summed, ids in any order, an unknown id
 * refused. Then a packet limit expires through it. */
static int counters_many(void)
{
	static const char *const src[] = { "192.0.2.60-192.0.2.61", "192.0.2.62", "192.0.2.63" };
	struct dtcp_counters one, many[4];
	struct xtap_meta m;
	uint32_t ids[4];
	const char *r;

	for (int i = 0; i < 3; i++) {
		char msg[512];

		snprintf(msg, sizeof(msg),
			 ADD_HDR "Source-Address: %s\r\nCdest-ID: cd1\r\n"
				 "X-JTap-Cdest-Dest-Address: 203.0.113.50\r\nX-JTap-Cdest-Dest-Port: 7890\r\n"
				 "Timeout-Packets: 4\r\n",
			 src[i]);
		r = dtcp(msg);
		REQUIRE(strstr(r, "200 OK"), "ADD: %s", r);
		ids[2 - i] = srv.tab[srv.n - 1]->c.id; /* in reverse: any order */
	}
	ids[3] = ids[1];
	/* 2 + 1 packets on the two rules of the first, 1 on the second, none on the third */
	REQUIRE(run_pkt("192.0.2.60", "198.51.100.7", 80, &m) == 1 &&
			run_pkt("192.0.2.61", "198.51.100.7", 80, &m) == 1 &&
			run_pkt("192.0.2.60", "198.51.100.7", 80, &m) == 1 &&
			run_pkt("192.0.2.62", "198.51.100.7", 80, &m) == 1,
		"matches");
	REQUIRE(!xtap_dtcp_backend.read_counters_many(&be, ids, 4, many), "read many");
	for (int i = 0; i < 4; i++) {
		REQUIRE(!xtap_dtcp_backend.read_counters(&be, ids[i], &one), "read one");
		REQUIRE(one.packets == many[i].packets && one.bytes == many[i].bytes &&
				one.last_match_ms / 1000 == many[i].last_match_ms / 1000,
			"criterion %u: %llu packets one by one, %llu at once", ids[i], (unsigned long long)one.packets,
			(unsigned long long)many[i].packets);
	}
	REQUIRE(many[2].packets == 3 && many[1].packets == 1 && many[3].packets == 1 && many[0].packets == 0 &&
			many[2].last_match_ms && !many[0].last_match_ms,
		"packets 3, 1, 0");
	ids[0] = 999999;
	REQUIRE(xtap_dtcp_backend.read_counters_many(&be, ids, 1, many) == -1, "an unknown id is refused");
	REQUIRE(run_pkt("192.0.2.61", "198.51.100.7", 80, &m) == 1, "fourth packet");
	REQUIRE(dtcp_server_expire(&srv, 1700000001000ull) == 1 && srv.n == 2, "the packet limit expired one");
	r = dtcp("DELETE DTCP/0.7\r\nCsource-ID: ftap1\r\nSeq: 13\r\nCriteria-ID: *\r\n");
	REQUIRE(strstr(r, "CRITERIA-COUNT: 2\r\n") && xtap_cls_count(env.cls) == 0, "DELETE: %s", r);
	return 0;
}

/* The maps a restart must leave as they are, copied: rules, prefix arrays. */
#define NDUMP 4
static int dump_maps(uint8_t **buf, size_t *len)
{
	const int fd[NDUMP] = { env.maps.rules, env.maps.pnodes, env.maps.pleaf, env.maps.pchunk };

	for (int i = 0; i < NDUMP; i++)
		if (tenv_array_dump(fd[i], &buf[i], &len[i]))
			return -1;
	return 0;
}

/* Which of the maps differ from the copies (-1: none); frees the copies. */
static int dump_differs(uint8_t **before, const size_t *len)
{
	uint8_t *now[NDUMP] = { NULL };
	size_t nlen[NDUMP];
	int which = dump_maps(now, nlen) ? 0 : -1;

	for (int i = 0; i < NDUMP; i++) {
		if (which < 0 && (!now[i] || nlen[i] != len[i] || memcmp(now[i], before[i], len[i])))
			which = i;
		free(now[i]);
		free(before[i]);
	}
	return which;
}

/* A restart: a new library instance over the same maps takes over every
 * criterion from what the state file records (slots and uids) without
 * writing a map: the rules, the exact index and the prefix arrays stay as
 * they are (the prefix entries found in the arrays, not written again),
 * then it manages them as if it had installed them. */
static int adopt_after_restart(void)
{
	static const char *const name[NDUMP] = { "rules", "prefix nodes", "compressed leaves", "prefix chunks" };
	uint8_t *dump[NDUMP] = { NULL };
	size_t dlen[NDUMP];
	struct xtap_cls_pusage pu1, pu2;
	int differs;
	static struct xtap_backend be2;
	struct dtcp_server srv2;
	struct xtap_cls *cls2;
	struct xtap_meta m;
	uint32_t uids[XTAP_BE_MAX_RULES];
	const uint32_t *slots;
	uint32_t n;
	const char *r;
	int before;

	r = dtcp(ADD_HDR "Source-Address: 192.0.2.20-192.0.2.23\r\nDest-Port: 80,443,8000-8080\r\n"
			 "Cdest-ID: cd1\r\nX-JTap-Cdest-Dest-Address: 203.0.113.50\r\nX-JTap-Cdest-Dest-Port: 7890\r\n"
			 "X-MD-Intercept-Id: 77\r\nFlags: STATIC\r\n");
	REQUIRE(strstr(r, "200 OK"), "ADD: %s", r);
	r = dtcp(ADD_HDR
		 "Dest-Address: 198.51.100.0/24\r\nProtocol: 17\r\nCdest-ID: cd2\r\n"
		 "X-JTap-Cdest-Dest-Address: 203.0.113.51\r\nX-JTap-Cdest-Dest-Port: 7891\r\nFlags: STATIC\r\n");
	REQUIRE(strstr(r, "200 OK"), "ADD: %s", r);
	/* a third on a prefix below the second's, so that lists go on at their parents */
	r = dtcp(ADD_HDR
		 "Dest-Address: 198.51.100.128/25\r\nCdest-ID: cd3\r\n"
		 "X-JTap-Cdest-Dest-Address: 203.0.113.52\r\nX-JTap-Cdest-Dest-Port: 7892\r\nFlags: STATIC\r\n");
	REQUIRE(strstr(r, "200 OK"), "ADD: %s", r);
	before = tenv_exact_keys(&env);
	REQUIRE(!dump_maps(dump, dlen), "copy of the maps");
	xtap_cls_prefix_usage(env.cls, &pu1);

	cls2 = xtap_cls_new(&env.maps, 4096, 64);
	REQUIRE(cls2, "second library instance");
	xtap_backend_init(&be2, cls2);
	REQUIRE(!dtcp_server_init(&srv2, &mb.cfg, &xtap_dtcp_backend, &be2), "server");
	for (size_t i = 0; i < srv.n; i++) {
		const struct dtcp_entry *e = srv.tab[i];
		static struct dtcp_criterion c;
		struct dtcp_entry *copy = dtcp_entry_dup(e);
		int err;

		REQUIRE(copy, "memory");
		dtcp_entry_criterion(e, &c);
		REQUIRE(!xtap_backend_rules(&be, e->c.id, &slots, &n), "rules of %u", e->c.id);
		for (uint32_t k = 0; k < n; k++)
			uids[k] = xtap_cls_uid(env.cls, slots[k]);
		/* a wrong uid is refused and leaves nothing behind */
		uids[0]++;
		REQUIRE(xtap_backend_adopt(&be2, &c, slots, uids, n) == -ESTALE, "wrong uid adopted");
		REQUIRE(xtap_cls_count(cls2) == 0 || i > 0, "refused adopt kept rules");
		uids[0]--;
		err = xtap_backend_adopt(&be2, &c, slots, uids, n);
		REQUIRE(!err, "adopt %u: %s", e->c.id, strerror(-err));
		REQUIRE(!dtcp_server_restore(&srv2, copy), "restore");
	}
	REQUIRE(!xtap_cls_adopt_done(cls2), "adopt done");
	REQUIRE(xtap_cls_count(cls2) == xtap_cls_count(env.cls), "%u rules adopted of %u", xtap_cls_count(cls2),
		xtap_cls_count(env.cls));
	REQUIRE(tenv_exact_keys(&env) == before, "adopting wrote the maps");
	differs = dump_differs(dump, dlen);
	REQUIRE(differs < 0, "adopting wrote the %s", name[differs]);
	xtap_cls_prefix_usage(cls2, &pu2);
	REQUIRE(!pu2.rebuilt && pu2.entries == pu1.entries && pu2.entries == 3 && pu2.nodes == pu1.nodes &&
			pu2.leaves == pu1.leaves && pu2.chunks == pu1.chunks,
		"prefix arrays taken over as: rebuilt %u, %u entries %u nodes %u leaves %u chunks; running: %u %u %u "
		"%u",
		pu2.rebuilt, pu2.entries, pu2.nodes, pu2.leaves, pu2.chunks, pu1.entries, pu1.nodes, pu1.leaves,
		pu1.chunks);
	REQUIRE(run_pkt("192.0.2.22", "198.51.100.200", 8080, &m) == 2, "criteria lost across the restart");
	REQUIRE(run_pkt("192.0.2.22", "198.51.100.20", 8080, &m) == 1, "criterion lost across the restart");
	REQUIRE(run_pkt("192.0.2.99", "198.51.100.200", 80, &m) == 1, "the /25 lost across the restart");
	/* the new instance updates the lists it took over: the /25 out */
	{
		char buf[512];
		size_t len = (size_t)snprintf(buf, sizeof(buf),
					      "DELETE DTCP/0.7\r\nCsource-ID: ftap1\r\nSeq: 19\r\nCriteria-ID: %u\r\n"
					      "Flags: STATIC\r\n",
					      srv2.tab[srv2.n - 1]->c.id);
		struct dtcp_session s1;

		REQUIRE(!dtcp_session_init(&s1, &srv2, "ftap1", "127.0.0.1"), "session");
		len = dtcp_sign_append("Juniper", 7, buf, len, sizeof(buf));
		nreplies = 0;
		dtcp_session_feed(&s1, buf, len, 1700000000000ull, emit, NULL);
		dtcp_session_free(&s1);
		REQUIRE(strstr(replies, "200 OK"), "DELETE of the /25 through the new instance: %s", replies);
	}
	xtap_cls_prefix_usage(cls2, &pu2);
	REQUIRE(pu2.entries == 2, "%u prefix entries after deleting the /25", pu2.entries);
	REQUIRE(run_pkt("192.0.2.99", "198.51.100.200", 80, &m) == 0, "the deleted /25 still matches");
	REQUIRE(run_pkt("192.0.2.22", "198.51.100.200", 8080, &m) == 1, "the first criterion lost");

	/* the new instance now owns them: DELETE through it empties the maps */
	{
		struct dtcp_session s2;

		REQUIRE(!dtcp_session_init(&s2, &srv2, "ftap1", "127.0.0.1"), "session");
		{
			char buf[512];
			size_t len = (size_t)snprintf(buf, sizeof(buf),
						      "DELETE DTCP/0.7\r\nCsource-ID: ftap1\r\n"
						      "Seq: 20\r\nCriteria-ID: *\r\nFlags: STATIC\r\n");

			len = dtcp_sign_append("Juniper", 7, buf, len, sizeof(buf));
			nreplies = 0;
			dtcp_session_feed(&s2, buf, len, 1700000000000ull, emit, NULL);
		}
		REQUIRE(strstr(replies, "CRITERIA-COUNT: 2\r\n"), "DELETE through the new instance: %s", replies);
		dtcp_session_free(&s2);
	}
	REQUIRE(xtap_cls_count(cls2) == 0, "rules left in the new instance");
	REQUIRE(tenv_exact_keys(&env) == 0 && tenv_prefix_words(&env) == 0, "map entries left");
	REQUIRE(run_pkt("192.0.2.22", "198.51.100.200", 8080, &m) == 0, "deleted criterion still matches");
	/* a new criterion through the new instance reuses freed slots cleanly */
	dtcp_server_free(&srv2);
	xtap_backend_free(&be2);
	xtap_cls_free(cls2);
	return 0;
}

/* Rules the running datapath holds but no adopted criterion names (a state
 * file that lost them) are swept out: first from the indexes, then the rules. */
static int sweep_unknown(void)
{
	static struct xtap_backend be3;
	struct xtap_cls *cls3;
	struct xtap_meta m;
	const uint32_t *slots;
	uint32_t n, uids[XTAP_BE_MAX_RULES], removed;
	const char *r;
	size_t keep;

	r = dtcp(ADD_HDR "Source-Address: 192.0.2.40\r\nCdest-ID: cd1\r\nX-JTap-Cdest-Dest-Address: 203.0.113.50\r\n"
			 "X-JTap-Cdest-Dest-Port: 7890\r\nFlags: STATIC\r\n");
	REQUIRE(strstr(r, "200 OK"), "ADD: %s", r);
	r = dtcp(ADD_HDR
		 "Source-Address: 192.0.2.41-192.0.2.42\r\nDest-Address: 198.51.100.0/24\r\nCdest-ID: cd1\r\n"
		 "X-JTap-Cdest-Dest-Address: 203.0.113.50\r\nX-JTap-Cdest-Dest-Port: 7890\r\nFlags: STATIC\r\n");
	REQUIRE(strstr(r, "200 OK"), "ADD: %s", r);
	r = dtcp(ADD_HDR
		 "Dest-Address: 198.51.100.64/26\r\nCdest-ID: cd1\r\nX-JTap-Cdest-Dest-Address: 203.0.113.50\r\n"
		 "X-JTap-Cdest-Dest-Port: 7890\r\nFlags: STATIC\r\n");
	REQUIRE(strstr(r, "200 OK"), "ADD: %s", r);
	REQUIRE(run_pkt("192.0.2.99", "198.51.100.70", 80, &m) == 1, "the /26 does not match");
	/* a new instance that knows only the first criterion */
	cls3 = xtap_cls_new(&env.maps, 4096, 64);
	REQUIRE(cls3, "instance");
	xtap_backend_init(&be3, cls3);
	keep = srv.n - 3;
	REQUIRE(!xtap_backend_rules(&be, srv.tab[keep]->c.id, &slots, &n), "rules");
	for (uint32_t k = 0; k < n; k++)
		uids[k] = xtap_cls_uid(env.cls, slots[k]);
	{
		static struct dtcp_criterion c;

		dtcp_entry_criterion(srv.tab[keep], &c);
		REQUIRE(!xtap_backend_adopt(&be3, &c, slots, uids, n), "adopt");
	}
	REQUIRE(!xtap_cls_adopt_done(cls3), "adopt done");
	{
		struct xtap_cls_pusage pu;

		/* the arrays held a criterion nobody adopted: written afresh without it */
		xtap_cls_prefix_usage(cls3, &pu);
		REQUIRE(pu.rebuilt && pu.entries == 0, "prefix arrays: rebuilt %u, %u entries", pu.rebuilt, pu.entries);
	}
	REQUIRE(!xtap_cls_sweep(cls3, &removed), "sweep");
	REQUIRE(removed == 3, "%u unknown rules removed, want 3", removed);
	REQUIRE(run_pkt("192.0.2.40", "198.51.100.7", 80, &m) == 1, "the adopted criterion lost");
	REQUIRE(run_pkt("192.0.2.42", "198.51.100.7", 80, &m) == 0, "a swept rule still matches");
	REQUIRE(run_pkt("192.0.2.99", "198.51.100.70", 80, &m) == 0, "the swept /26 still matches");
	REQUIRE(tenv_prefix_words(&env) == 0, "prefix entries left");
	REQUIRE(tenv_exact_keys(&env) == 1, "exact entries: %d", tenv_exact_keys(&env));
	xtap_backend_free(&be3);
	xtap_cls_free(cls3);
	return 0;
}

/* One control source filling its share on `full` (16 criteria: for a
 * prefix, over an address with its covering prefixes) is refused past it
 * on `past`, and leaves every other source its own: ftap2's ADDs on
 * other[0 .. nother) pass, and a packet from 192.0.2.9 to port 1000
 * counts each of them (docs/classifier.md "Capacity per entry and per
 * source"). */
static int shares(const char *full, const char *past, const char *const *other, int nother)
{
	static const char *cd = "Cdest-ID: cd1\r\nX-JTap-Cdest-Dest-Address: 203.0.113.50\r\n"
				"X-JTap-Cdest-Dest-Port: 7890\r\nTimeout-Total: 600\r\n";
	struct dtcp_session ss2;
	struct xtap_meta m;
	char msg[512];
	const char *r;
	int ok = 0, counted = 0;

	REQUIRE(!dtcp_session_init(&ss2, &srv, "ftap2", "127.0.0.2"), "session");
	for (int i = 0; i < XTAP_CAND_PER_SOURCE; i++) {
		snprintf(msg, sizeof(msg), ADD_HDR "Source-Address: %s\r\nDest-Port: %d\r\n%s", full, 1000 + i, cd);
		ok += strstr(dtcp(msg), "200 OK") != NULL;
	}
	REQUIRE(ok == XTAP_CAND_PER_SOURCE, "ftap1: %d of %d ADDs accepted", ok, XTAP_CAND_PER_SOURCE);
	snprintf(msg, sizeof(msg), ADD_HDR "Source-Address: %s\r\n%s", past, cd);
	r = dtcp(msg);
	REQUIRE(strstr(r, " 500 "), "ftap1 past its share on %s (%s full): %s", past, full, r);
	for (int i = 0; i < nother; i++) {
		snprintf(msg, sizeof(msg), "ADD DTCP/0.7\r\nCsource-ID: ftap2\r\nSeq: %d\r\nSource-Address: %s\r\n%s",
			 i + 1, other[i], cd);
		r = dtcp_on(&ss2, msg);
		REQUIRE(strstr(r, "200 OK"), "ftap2 refused on %s with ftap1's %s full: %s", other[i], full, r);
	}
	REQUIRE(xtap_cls_count(env.cls) == (uint32_t)(XTAP_CAND_PER_SOURCE + nother), "%u rules",
		xtap_cls_count(env.cls));
	/* a packet there meets ftap1's criterion of port 1000 and each of ftap2's */
	REQUIRE(run_pkt("192.0.2.9", "198.51.100.7", 1000, &m) == 1, "match");
	snprintf(msg, sizeof(msg), "LIST DTCP/0.7\r\nCsource-ID: ftap2\r\nSeq: %d\r\nFlags: Stats\r\n", nother + 1);
	r = dtcp_on(&ss2, msg);
	for (const char *p = r; (p = strstr(p, "MATCHING-PACKETS: 1\r\n")); p++)
		counted++;
	REQUIRE(counted == nother, "ftap2's criteria: %d of %d counted: %s", counted, nother, r);
	r = dtcp("DELETE DTCP/0.7\r\nCsource-ID: ftap1\r\nSeq: 13\r\nCriteria-ID: *\r\n");
	REQUIRE(strstr(r, "200 OK"), "DELETE ftap1: %s", r);
	snprintf(msg, sizeof(msg), "DELETE DTCP/0.7\r\nCsource-ID: ftap2\r\nSeq: %d\r\nCriteria-ID: *\r\n", nother + 2);
	r = dtcp_on(&ss2, msg);
	REQUIRE(strstr(r, "200 OK"), "DELETE ftap2: %s", r);
	dtcp_session_free(&ss2);
	REQUIRE(xtap_cls_count(env.cls) == 0 && tenv_prefix_words(&env) == 0 && tenv_exact_keys(&env) == 0,
		"rules left");
	return 0;
}

/* On a prefix: ftap1's 16 on a /8 refuse its /24 below; ftap2 adds both. */
static int source_shares(void)
{
	static const char *const other[] = { "192.0.2.0/24", "192.0.0.0/8" };

	return shares("192.0.0.0/8", "192.0.2.0/24", other, 2);
}

/* On one exact address. */
static int exact_shares(void)
{
	static const char *const other[] = { "192.0.2.9" };

	return shares("192.0.2.9", "192.0.2.9", other, 1);
}

int main(void)
{
	char why[256];
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (tenv_netns(why, sizeof(why))) {
		t_record("backend tests", 1, why);
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
	if (dtcp_server_init(&srv, &mb.cfg, &xtap_dtcp_backend, &be) ||
	    dtcp_session_init(&ss, &srv, "ftap1", "127.0.0.1")) {
		t_record("dtcp server", -1, NULL);
		return t_summary();
	}
	t_record("ADD active before its reply, LIST sums rules, DELETE removes all", add_list_delete(), NULL);
	t_record("a datapath refusal answers 500 and changes nothing", refusal_is_500(), NULL);
	t_record("covered prefixes of one criterion are one rule", covered_prefixes(), NULL);
	t_record("one source filling its share of a prefix leaves the others theirs", source_shares(), NULL);
	t_record("one source filling its share of an address leaves the others theirs", exact_shares(), NULL);
	t_record("expiry reads many criteria's counters at once, as one by one", counters_many(), NULL);
	t_record("a restart adopts every criterion without writing a map (rules, exact index, prefix arrays)",
		 adopt_after_restart(), NULL);
	t_record("rules no adopted criterion names are swept out, the prefix arrays rebuilt without them",
		 sweep_unknown(), NULL);
	dtcp_session_free(&ss);
	dtcp_server_free(&srv);
	xtap_backend_free(&be);
	tenv_close(&env);
	return t_summary();
}
