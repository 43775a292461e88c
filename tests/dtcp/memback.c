/* SPDX-License-Identifier: BSD-2-Clause */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "memback.h"

static void dump_prefixes(FILE *f, const char *name, const struct dtcp_prefix_set *s)
{
	char a[64];
	fprintf(f, " %s=", name);
	if (s->any)
		fputc('*', f);
	for (int i = 0; i < s->n; i++) {
		inet_ntop(s->family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, s->p[i].a, a, sizeof(a));
		fprintf(f, "%s%s/%u", i ? "," : "", a, s->p[i].len);
	}
}

static void dump_ranges(FILE *f, const char *name, const struct dtcp_range_set *s)
{
	fprintf(f, " %s=", name);
	if (s->any)
		fputc('*', f);
	for (int i = 0; i < s->n; i++)
		fprintf(f, "%s%" PRIu64 "-%" PRIu64, i ? "," : "", s->r[i].lo, s->r[i].hi);
}

static void dump_addr(FILE *f, const struct dtcp_addr *a)
{
	char t[64];
	if (a->family == DTCP_AF_NONE) {
		fputc('-', f);
		return;
	}
	inet_ntop(a->family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, a->a, t, sizeof(t));
	fputs(t, f);
}

/* The typed criterion as the datapath receives it, for the transcripts. */
static void dump_criterion(FILE *f, const struct dtcp_criterion *c)
{
	static const char *const scope[] = { "any", "in", "out", "vrf" };
	static const char *const tname[] = { "idle", "total", "packets", "bytes" };

	fprintf(f, "%% install %u: %s ipv%d", c->id, c->csource.s, c->family);
	dump_prefixes(f, "src", &c->src);
	dump_prefixes(f, "dst", &c->dst);
	if (!c->either.any)
		dump_prefixes(f, "either", &c->either);
	dump_ranges(f, "sport", &c->sport);
	dump_ranges(f, "dport", &c->dport);
	dump_ranges(f, "proto", &c->proto);
	if (!c->icmp_type.any)
		dump_ranges(f, "icmp-type", &c->icmp_type);
	if (!c->icmp_code.any)
		dump_ranges(f, "icmp-code", &c->icmp_code);
	fprintf(f, " scope=%s", scope[c->scope]);
	for (int i = 0; i < c->nscope; i++)
		fprintf(f, "%c%s#%llu", i ? ',' : ':', c->scope_name[i].s, (unsigned long long)c->scope_key[i]);
	if (c->is_static)
		fprintf(f, " static");
	for (int t = 0; t < DTCP_T_N && !c->is_static; t++)
		if (c->timeout[t])
			fprintf(f, " %s=%" PRIu64, tname[t], c->timeout[t]);
	fprintf(f, " prio=%u", c->priority);
	for (int i = 0; i < c->ncdest; i++) {
		const struct dtcp_cdest *cd = &c->cdest[i];
		fprintf(f, " cd=%s:", cd->name.s);
		dump_addr(f, &cd->dst);
		fprintf(f, ":%u<-", cd->dst_port);
		dump_addr(f, &cd->src);
		fprintf(f, ":%u,ttl%u", cd->src_port, cd->ttl);
	}
	if (c->has_intercept)
		fprintf(f, " intercept=0x%" PRIx64, c->intercept_id);
	fputc('\n', f);
}

static int mem_install(void *ctx, const struct dtcp_criterion *c)
{
	struct memback *mb = ctx;
	if (mb->fail_install > 0) {
		mb->fail_install--;
		return -1;
	}
	for (int i = 0; i < MEM_MAX; i++) {
		if (mb->c[i].used)
			continue;
		memset(&mb->c[i], 0, sizeof(mb->c[i]));
		mb->c[i].used = true;
		mb->c[i].id = c->id;
		mb->installs++;
		if (mb->audit)
			dump_criterion(mb->audit, c);
		return 0;
	}
	return -1;
}

struct mem_crit *memback_find(struct memback *mb, uint32_t id)
{
	for (int i = 0; i < MEM_MAX; i++)
		if (mb->c[i].used && mb->c[i].id == id)
			return &mb->c[i];
	return NULL;
}

static int mem_remove(void *ctx, uint32_t id)
{
	struct memback *mb = ctx;
	struct mem_crit *c = memback_find(mb, id);
	if (mb->fail_remove > 0) {
		mb->fail_remove--;
		return -1;
	}
	if (!c)
		return -1;
	c->used = false;
	mb->removes++;
	if (mb->audit)
		fprintf(mb->audit, "%% remove %u\n", id);
	return 0;
}

static int mem_read(void *ctx, uint32_t id, struct dtcp_counters *out)
{
	struct memback *mb = ctx;
	struct mem_crit *c = memback_find(mb, id);
	if (mb->fail_read > 0) {
		mb->fail_read--;
		return -1;
	}
	if (!c)
		return -1;
	*out = c->cnt;
	return 0;
}

static const struct dtcp_net limited_cd[] = {
	{ DTCP_AF_INET, { { 192, 0, 2, 0 }, 24 } },
};
static const struct dtcp_net limited_src[] = {
	{ DTCP_AF_INET, { { 192, 0, 2, 1 }, 32 } },
};
static const struct dtcp_range_set limited_ports = { .n = 1, .r = { { 7000, 7999 } } };

static const struct {
	const char *name;
	struct dtcp_source_policy pol;
} sources[] = {
	{ "ftap1", { .key = "Juniper", .keylen = 7 } },
	{ "ftap2", { .key = "Juniper", .keylen = 7 } },
	{ "ft-user", { .key = "Juniper", .keylen = 7 } },
	{ "ftap", { .key = "Juniper", .keylen = 7 } }, /* the FlowTapLite document's */
	{ "drafts",
	  { .key = "Juniper",
	    .keylen = 7,
	    .refuse_no_lifetime = true,
	    .cdest_whole = true,
	    .delete_static_needs_flag = true } },
	{ "strict1", { .key = "Juniper", .keylen = 7, .seq_mode = DTCP_SEQ_STRICT } },
	{ "small", { .key = "Juniper", .keylen = 7, .max_criteria = 2 } },
	{ "limited",
	  { .key = "Juniper",
	    .keylen = 7,
	    .n_allow_cdest = 1,
	    .allow_cdest = limited_cd,
	    .allow_cdest_port = &limited_ports,
	    .n_allow_src = 1,
	    .allow_src = limited_src } },
};

static const struct dtcp_source_policy *mem_source(void *ctx, const char *cs)
{
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (strcmp(sources[i].name, cs) == 0)
			return &sources[i].pol;
	return NULL;
}

static int set_name(struct dtcp_name *out, const char *s)
{
	snprintf(out->s, sizeof(out->s), "%s", s);
	return 0;
}

static int mem_ifname(void *ctx, const char *name, struct dtcp_name *out)
{
	if (!strcmp(name, "eth0") || !strcmp(name, "eth1") || !strcmp(name, "lo"))
		return set_name(out, name);
	if (!strcmp(name, "ge-0/0/0.0"))
		return set_name(out, "eth0");
	if (!strcmp(name, "ge-2/0/1")) /* the FlowTapLite document's interface */
		return set_name(out, "eth1");
	if (!strcmp(name, "ge-7/0/0")) /* configured, its netdev gone since */
		return set_name(out, "gone0");
	return -1;
}

/* The host's handles: ifindexes of the netdevs there, vrf-blue's group bit
 * (gone0 has none). */
static int mem_scope_key(void *ctx, int scope, const char *name, uint64_t *key)
{
	static const char *const netdev[] = { "lo", "eth0", "eth1" };

	(void)ctx;
	*key = 0;
	if (scope == DTCP_SCOPE_VRF)
		*key = strcmp(name, "vrf-blue") ? 0 : 4;
	else
		for (unsigned i = 0; i < sizeof(netdev) / sizeof(netdev[0]); i++)
			if (!strcmp(name, netdev[i]))
				*key = i + 1;
	return *key ? 0 : -1;
}

static int mem_vrf(void *ctx, const char *name, struct dtcp_name *out)
{
	return strcmp(name, "vrf-blue") ? -1 : set_name(out, name);
}

static int mem_cdest(void *ctx, const char *name, struct dtcp_cdest *out)
{
	memset(out, 0, sizeof(*out));
	set_name(&out->name, name);
	out->ttl = 32;
	out->dst_port = 5000;
	if (!strcmp(name, "cdconf")) {
		out->dst.family = DTCP_AF_INET;
		memcpy(out->dst.a, (uint8_t[]){ 198, 51, 100, 7 }, 4);
		return 0;
	}
	if (!strcmp(name, "cd1")) {
		/* as a FlowTapLite router's cd1 would be configured: an address and
		 * a source; the document's ADD gives the ports and the TTL */
		out->dst.family = DTCP_AF_INET;
		memcpy(out->dst.a, (uint8_t[]){ 198, 51, 100, 50 }, 4);
		out->src.family = DTCP_AF_INET;
		memcpy(out->src.a, (uint8_t[]){ 198, 51, 100, 1 }, 4);
		out->src_port = 40000;
		return 0;
	}
	if (!strcmp(name, "cdconf6")) {
		out->dst.family = DTCP_AF_INET6;
		memcpy(out->dst.a, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, [15] = 7 }, 16);
		return 0;
	}
	if (!strcmp(name, "cdx3")) {
		/* an X3 destination: its address is fixed (docs/x3.md) */
		out->dst.family = DTCP_AF_INET;
		memcpy(out->dst.a, (uint8_t[]){ 198, 51, 100, 9 }, 4);
		return DTCP_CDEST_FIXED;
	}
	return -1;
}

/* cdx3's XID, as an operator would configure it (x3 xid) */
static int mem_cdest_xid(void *ctx, const char *name, uint8_t xid[16])
{
	static const uint8_t cdx3[16] = { 0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
					  0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };

	(void)ctx;
	if (strcmp(name, "cdx3"))
		return -1;
	memcpy(xid, cdx3, 16);
	return 0;
}

/* cdx3's delivery, numbers of its own (LIST Stats copies them as they are) */
static int mem_cdest_x3_stats(void *ctx, const char *name, struct dtcp_x3_stats *out)
{
	(void)ctx;
	if (strcmp(name, "cdx3"))
		return -1;
	*out = (struct dtcp_x3_stats){ "up", 1000, 998, 212345, 3, 2, 1 };
	return 0;
}

static void mem_audit(void *ctx, const char *cs, const char *method, int code, uint32_t id, const char *why)
{
	struct memback *mb = ctx;
	/* Only what has no reply on the wire: drops and expiries. */
	if (!mb->audit || (code != 0 && strcmp(method, "EXPIRE") != 0))
		return;
	if (code == 0)
		fprintf(mb->audit, "%% audit: %s dropped: %s\n", cs, why);
	else
		fprintf(mb->audit, "%% audit: %s expired %u: %s\n", cs, id, why);
}

void memback_init(struct memback *mb, FILE *audit)
{
	memset(mb, 0, sizeof(*mb));
	mb->audit = audit;
	mb->be = (struct dtcp_backend){ mem_install, mem_remove, mem_read, NULL }; /* expiry one by one */
	mb->cfg = (struct dtcp_config){
		.ctx = mb,
		.source = mem_source,
		.resolve_ifname = mem_ifname,
		.resolve_vrf = mem_vrf,
		.scope_key = mem_scope_key,
		.cdest_lookup = mem_cdest,
		.cdest_xid = mem_cdest_xid,
		.cdest_x3_stats = mem_cdest_x3_stats,
		.audit = mem_audit,
	};
}
