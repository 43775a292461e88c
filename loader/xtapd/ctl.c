// SPDX-License-Identifier: BSD-2-Clause
/*
 * xtapctl's commands over xtapd's state (see ctl.h). Every answer comes in
 * two forms, text for an operator and --json for scripts, built by the same
 * functions so they cannot disagree.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "ctl.h"
#include "x3_pdu.h"
#include "x3sup.h"

/* A string for the answer: JSON-escaped, or DTCP-escaped (\ddd) in text, so
 * a name a control source chose cannot forge lines or break the JSON. */
static void bstr(struct xbuf *b, int json, const char *s)
{
	if (!json) {
		char esc[4 * DTCP_GIVEN_MAX];

		dtcp_escape_name(s, esc, sizeof(esc));
		xbuf_printf(b, "%s", esc);
		return;
	}
	xbuf_printf(b, "\"");
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			xbuf_printf(b, "\\%c", *c);
		else if (*c < 0x20 || *c >= 0x7f)
			xbuf_printf(b, "\\u%04x", *c);
		else
			xbuf_printf(b, "%c", *c);
	}
	xbuf_printf(b, "\"");
}

/* ---- the request ---- */

struct req {
	int json, reveal;
	int nw;
	const char *w[XTAP_CTL_WORDS_MAX];
	char store[XTAP_CTL_REQ_MAX];
};

/* -1: empty, too long or too many words. */
static int req_parse(const char *line, size_t n, struct req *r)
{
	char *save, *tok;

	memset(r, 0, sizeof(*r));
	if (n >= sizeof(r->store))
		return -1;
	memcpy(r->store, line, n);
	r->store[n] = 0;
	for (tok = strtok_r(r->store, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
		if (!strcmp(tok, "--json"))
			r->json = 1;
		else if (!strcmp(tok, "--reveal"))
			r->reveal = 1;
		else if (r->nw == XTAP_CTL_WORDS_MAX)
			return -1;
		else
			r->w[r->nw++] = tok;
	}
	return r->nw ? 0 : -1;
}

static int req_is(const struct req *r, int nw, ...)
{
	va_list ap;
	int same = r->nw == nw;

	va_start(ap, nw);
	for (int i = 0; i < nw; i++) {
		const char *w = va_arg(ap, const char *);

		if (same && w && strcmp(r->w[i], w))
			same = 0;
	}
	va_end(ap);
	return same;
}

static void answer_error(struct xbuf *b, int json, const char *msg)
{
	xbuf_reset(b);
	xbuf_printf(b, "ERROR: %s\n", msg);
	if (json) {
		xbuf_printf(b, "{\"error\":");
		bstr(b, 1, msg);
		xbuf_printf(b, "}\n");
	}
}

/* ---- views of the state ---- */

static const char *const g_names[XTAP_G_COUNT] = {
	"packets",	 "matched",	  "not_ip",	  "trunc_l2",	      "vlan_depth",   "trunc_l3",
	"bad_l3",	 "trunc_ext",	  "ext_depth",	  "trunc_l4",	      "match_bound",  "cd_bound",
	"frag_recorded", "frag_followed", "frag_unknown", "frag_record_fail", "meta_fail",    "meta_used",
	"rule_stale",	 "vt_foreign",	  "frag_tiny",	  "frag_none",	      "match_unread", "matched_bytes",
};
_Static_assert(sizeof(g_names) / sizeof(g_names[0]) == XTAP_G_COUNT, "a name per global counter");

static const char *const cds_names[XTAP_CDS_COUNT] = {
	"cloned",  "sent",    "sent_bytes", "clone_fail", "inactive",  "not_ip",
	"no_room", "too_big", "gso",	    "not_linear", "csum_fail", "restore_fail",
};
_Static_assert(sizeof(cds_names) / sizeof(cds_names[0]) == XTAP_CDS_COUNT, "a name per CD counter");

/* A content destination of the datapath and the criteria naming it. */
struct cd_use {
	uint16_t index;
	const char *name; /* as the first criterion naming it calls it */
	uint32_t criteria;
};

struct cd_list {
	struct cd_use *v;
	size_t n;
};

static int cd_note(struct cd_list *l, uint16_t index, const char *name)
{
	struct cd_use *v;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].index == index) {
			l->v[i].criteria++;
			return 0;
		}
	/* at most XTAP_MAX_CDESTS_DEFAULT distinct indexes: grows one by one */
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	l->v[l->n++] = (struct cd_use){ index, name, 1 };
	return 0;
}

/* The datapath indexes of a criterion's destinations are in each of its
 * rules (same for all); read them from the first one. */
static int cd_collect(const struct xtap_ctl_ctx *x, struct cd_list *l)
{
	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < x->srv->n; i++) {
		const struct dtcp_entry *e = x->srv->tab[i];
		const struct dtcp_crit_head *c = &e->c;
		const uint32_t *slots;
		struct xtap_rule rule;
		uint32_t n;

		if (xtap_backend_rules(x->be, c->id, &slots, &n) || !n)
			continue;
		int err = xtap_cls_rule_read(x->cls, slots[0], &rule);

		if (err)
			return err;
		for (unsigned k = 0; k < rule.ncd && k < XTAP_MAX_CD_PER_CRIT; k++)
			if (cd_note(l, rule.cd[k], k < c->ncdest ? e->cdest[k].name.s : "?"))
				return -ENOMEM;
	}
	return 0;
}

struct src_use {
	const char *name;
	uint32_t n_static, n_dynamic;
};

/* Control sources: the configured ones (even without criteria), then any
 * other owning criteria (a source removed by a reload keeps its criteria). */
static struct src_use *src_collect(const struct xtap_ctl_ctx *x, size_t *count)
{
	size_t cap = x->cfg->n_users + x->srv->n, n = 0;
	struct src_use *v = calloc(cap ? cap : 1, sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < x->cfg->n_users; i++)
		if (x->cfg->users[i].csource)
			v[n++].name = x->cfg->users[i].name;
	for (size_t i = 0; i < x->srv->n; i++) {
		const struct dtcp_crit_head *c = &x->srv->tab[i]->c;
		size_t k = 0;

		while (k < n && strcmp(v[k].name, c->csource.s))
			k++;
		if (k == n)
			v[n++].name = c->csource.s;
		if (c->is_static)
			v[k].n_static++;
		else
			v[k].n_dynamic++;
	}
	*count = n;
	return v;
}

static int iface_in_group(const struct xtap_config *cfg, const char *group, const char *netdev)
{
	const struct xtap_cfg_group *g = xtap_config_group(cfg, group);

	for (size_t k = 0; g && k < g->n; k++)
		if (!strcmp(g->member[k].netdev, netdev))
			return 1;
	return 0;
}

/* Criteria a program of an interface evaluates in one direction: what the
 * scope of each says (names are netdev names once the server resolved them). */
static uint32_t criteria_on(const struct xtap_ctl_ctx *x, const char *netdev, int egress)
{
	uint32_t n = 0;

	for (size_t i = 0; i < x->srv->n; i++) {
		const struct dtcp_entry *e = x->srv->tab[i];
		const struct dtcp_crit_head *c = &e->c;
		int on = 0;

		if (c->scope == DTCP_SCOPE_ANY)
			on = !egress;
		for (unsigned k = 0; k < c->nscope && k < DTCP_MAX_IFACES && !on; k++) {
			const char *name = dtcp_entry_scope_name(e, (int)k);

			if (c->scope == DTCP_SCOPE_INPUT || c->scope == DTCP_SCOPE_OUTPUT)
				on = (c->scope == DTCP_SCOPE_OUTPUT) == egress && !strcmp(name, netdev);
			else if (c->scope == DTCP_SCOPE_VRF)
				on = !egress && iface_in_group(x->cfg, name, netdev);
		}
		n += on;
	}
	return n;
}

struct prog_id {
	uint32_t id;
	char name[BPF_OBJ_NAME_LEN];
};

static void prog_of(int fd, struct prog_id *p)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	memset(p, 0, sizeof(*p));
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len)) {
		p->id = info.id;
		snprintf(p->name, sizeof(p->name), "%s", info.name);
	}
}

static void put_prog(struct xbuf *b, int json, const char *hook, const struct prog_id *p, int first)
{
	if (json)
		xbuf_printf(b, "%s{\"hook\":\"%s\",\"name\":\"%s\",\"id\":%" PRIu32 "}", first ? "" : ",", hook,
			    p->name, p->id);
	else
		xbuf_printf(b, "%s%s %s (id %" PRIu32 ")", first ? "" : ", ", hook, p->name, p->id);
}

/* The match fields of a criterion as its ADD gave them ("NAME: value" lines,
 * as LIST shows them). Only ever called for --reveal. */
static void put_given(struct xbuf *b, int json, const char *given)
{
	const char *p = given;
	int first = 1;

	if (json)
		xbuf_printf(b, ",\"match\":{");
	while (*p) {
		size_t len = strcspn(p, "\r\n"), colon = strcspn(p, ":");
		char name[DTCP_GIVEN_MAX], value[DTCP_GIVEN_MAX];

		if (colon < len) {
			size_t v = colon + 1 + strspn(p + colon + 1, " ");

			snprintf(name, sizeof(name), "%.*s", (int)colon, p);
			snprintf(value, sizeof(value), "%.*s", (int)(len > v ? len - v : 0), p + v);
			if (json) {
				xbuf_printf(b, "%s", first ? "" : ",");
				bstr(b, 1, name);
				xbuf_printf(b, ":");
				bstr(b, 1, value);
			} else {
				xbuf_printf(b, "    ");
				bstr(b, 0, name);
				xbuf_printf(b, ": ");
				bstr(b, 0, value);
				xbuf_printf(b, "\n");
			}
			first = 0;
		}
		p += len;
		p += strspn(p, "\r\n");
	}
	if (json)
		xbuf_printf(b, "}");
}

/* One filter term (a DTCP criterion), without counters. */
static void put_term(const struct xtap_ctl_ctx *x, struct xbuf *b, const struct req *r, const struct dtcp_entry *e,
		     int first)
{
	const struct dtcp_crit_head *c = &e->c;
	const uint32_t *slots;
	uint32_t rules = 0;

	if (xtap_backend_rules(x->be, c->id, &slots, &rules))
		rules = 0;
	if (r->json) {
		xbuf_printf(b, "%s{\"index\":%" PRIu32 ",\"csource\":", first ? "" : ",", c->id);
		bstr(b, 1, c->csource.s);
		xbuf_printf(b, ",\"flags\":\"%s\",\"rules\":%" PRIu32 ",\"cdests\":[",
			    c->is_static ? "static" : "dynamic", rules);
		for (unsigned k = 0; k < c->ncdest && k < DTCP_MAX_CDESTS; k++) {
			xbuf_printf(b, "%s", k ? "," : "");
			bstr(b, 1, e->cdest[k].name.s);
		}
		xbuf_printf(b,
			    "],\"timeouts\":{\"idle\":%" PRIu64 ",\"total\":%" PRIu64 ",\"packets\":%" PRIu64
			    ",\"bytes\":%" PRIu64 "}",
			    c->timeout[DTCP_T_IDLE], c->timeout[DTCP_T_TOTAL], c->timeout[DTCP_T_PACKETS],
			    c->timeout[DTCP_T_BYTES]);
		if (r->reveal)
			put_given(b, 1, e->given);
		xbuf_printf(b, "}");
		return;
	}
	xbuf_printf(b, "  %-7" PRIu32 " ", c->id);
	bstr(b, 0, c->csource.s);
	xbuf_printf(b, "  %s  %" PRIu32 " rules  cdest ", c->is_static ? "static" : "dynamic", rules);
	for (unsigned k = 0; k < c->ncdest && k < DTCP_MAX_CDESTS; k++) {
		xbuf_printf(b, "%s", k ? "," : "");
		bstr(b, 0, e->cdest[k].name.s);
	}
	if (!c->is_static)
		xbuf_printf(b, "  timeouts idle %" PRIu64 " total %" PRIu64 " packets %" PRIu64 " bytes %" PRIu64,
			    c->timeout[DTCP_T_IDLE], c->timeout[DTCP_T_TOTAL], c->timeout[DTCP_T_PACKETS],
			    c->timeout[DTCP_T_BYTES]);
	xbuf_printf(b, "\n");
	if (r->reveal)
		put_given(b, 0, e->given);
}

/* ---- commands ---- */

static void cmd_status(const struct xtap_ctl_ctx *x, const struct req *r, struct xbuf *b)
{
	struct src_use *src;
	struct cd_list cds;
	size_t nsrc = 0;
	int err;

	src = src_collect(x, &nsrc);
	if (!src)
		return answer_error(b, r->json, "no memory");
	if ((err = cd_collect(x, &cds))) {
		free(src);
		return answer_error(b, r->json, strerror(-err));
	}
	xbuf_printf(b, "OK\n");
	if (r->json) {
		xbuf_printf(b,
			    "{\"pid\":%ld,\"uptime_s\":%" PRIu64 ",\"sessions\":%u,\"worker_pid\":%ld,"
			    "\"worker_restarts\":%" PRIu64 ",\"connections\":%u,\"pin_dir\":",
			    x->pid, (x->now_ms - x->started_ms) / 1000, x->sessions, x->worker_pid, x->worker_restarts,
			    x->connections);
		bstr(b, 1, x->dp->pin_dir);
		xbuf_printf(b, ",\"adopted\":%s,\"vt\":{\"name\":", x->dp->adopted ? "true" : "false");
		bstr(b, 1, x->dp->vt.name);
		xbuf_printf(b, ",\"peer\":");
		bstr(b, 1, x->dp->vt.peer);
		xbuf_printf(b, "},\"criteria_slots\":%" PRIu32 ",\"xdp_metadata\":%s,\"interfaces\":[",
			    x->dp->max_criteria, x->dp->xdp_meta ? "true" : "false");
		for (int i = 0; i < x->dp->nifs; i++) {
			xbuf_printf(b, "%s{\"name\":", i ? "," : "");
			bstr(b, 1, x->dp->ifs[i].name);
			xbuf_printf(b, ",\"ifindex\":%" PRIu32 ",\"mode\":\"%s\"}", x->dp->ifs[i].ifindex,
				    xtap_attach_mode_name(x->dp->ifs[i].mode));
		}
		xbuf_printf(b, "],\"state\":{\"refusing_changes\":%s,\"fault\":", x->refusing ? "true" : "false");
		bstr(b, 1, x->refusing && x->state_fault ? x->state_fault : "");
		xbuf_printf(b, ",\"refused\":%" PRIu64 "}", x->refused);
		xbuf_printf(b, ",\"criteria\":%zu,\"control_sources\":[", x->srv->n);
		for (size_t i = 0; i < nsrc; i++) {
			xbuf_printf(b, "%s{\"name\":", i ? "," : "");
			bstr(b, 1, src[i].name);
			xbuf_printf(b, ",\"criteria\":%" PRIu32 ",\"static\":%" PRIu32 ",\"dynamic\":%" PRIu32 "}",
				    src[i].n_static + src[i].n_dynamic, src[i].n_static, src[i].n_dynamic);
		}
		xbuf_printf(b, "],\"cdests\":[");
		for (size_t i = 0; i < cds.n; i++) {
			xbuf_printf(b, "%s{\"name\":", i ? "," : "");
			bstr(b, 1, cds.v[i].name);
			xbuf_printf(b, ",\"index\":%u,\"criteria\":%" PRIu32 "}", cds.v[i].index, cds.v[i].criteria);
		}
		xbuf_printf(b, "]}\n");
	} else {
		xbuf_printf(b, "xtapd: pid %ld, up %" PRIu64 " s, %u DTCP sessions\n", x->pid,
			    (x->now_ms - x->started_ms) / 1000, x->sessions);
		xbuf_printf(b, "SSH worker: pid %ld, %" PRIu64 " restarts, %u connections\n", x->worker_pid,
			    x->worker_restarts, x->connections);
		xbuf_printf(b, "Datapath: %s (%s), vt pair %s/%s, %" PRIu32 " criteria slots\n", x->dp->pin_dir,
			    x->dp->adopted ? "adopted" : "loaded", x->dp->vt.name, x->dp->vt.peer, x->dp->max_criteria);
		if (!x->dp->xdp_meta)
			xbuf_printf(b,
				    "XDP: this kernel refuses bpf_xdp_adjust_meta, XDP cannot hand its verdict to TC: "
				    "every interface runs tc\n");
		xbuf_printf(b, "Interfaces:\n");
		for (int i = 0; i < x->dp->nifs; i++)
			xbuf_printf(b, "  %-16s %-12s ifindex %" PRIu32 "\n", x->dp->ifs[i].name,
				    xtap_attach_mode_name(x->dp->ifs[i].mode), x->dp->ifs[i].ifindex);
		if (x->refusing) {
			/* the daemon's own text (file step and strerror), no client data */
			xbuf_printf(b,
				    "State: REFUSING CHANGES, the state file cannot be written (%s); %" PRIu64
				    " requests answered 500\n",
				    x->state_fault ? x->state_fault : "", x->refused);
		} else {
			xbuf_printf(b, "State: saved (%" PRIu64 " requests answered 500 since start)\n", x->refused);
		}
		xbuf_printf(b, "Criteria: %zu\nControl sources:\n", x->srv->n);
		for (size_t i = 0; i < nsrc; i++) {
			xbuf_printf(b, "  ");
			bstr(b, 0, src[i].name);
			xbuf_printf(b, "  %" PRIu32 " criteria (%" PRIu32 " static, %" PRIu32 " dynamic)\n",
				    src[i].n_static + src[i].n_dynamic, src[i].n_static, src[i].n_dynamic);
		}
		xbuf_printf(b, "Content destinations:\n");
		for (size_t i = 0; i < cds.n; i++) {
			xbuf_printf(b, "  ");
			bstr(b, 0, cds.v[i].name);
			xbuf_printf(b, "  index %u, %" PRIu32 " criteria\n", cds.v[i].index, cds.v[i].criteria);
		}
	}
	free(src);
	free(cds.v);
}

static void cmd_show_filter(const struct xtap_ctl_ctx *x, const struct req *r, struct xbuf *b)
{
	struct prog_id xdp, tc_in, tc_out;

	prog_of(x->dp->prog_xdp, &xdp);
	prog_of(x->dp->prog_tc_in, &tc_in);
	prog_of(x->dp->prog_tc_out, &tc_out);
	xbuf_printf(b, "OK\n");
	if (r->json)
		xbuf_printf(b, "{\"interfaces\":[");
	else
		xbuf_printf(b, "%-16s %-12s %-9s %-8s %s\n", "Interface", "Mode", "Direction", "Criteria", "Programs");
	for (int i = 0; i < x->dp->nifs; i++) {
		const struct xtap_dp_iface *f = &x->dp->ifs[i];
		uint32_t in = criteria_on(x, f->name, 0), out = criteria_on(x, f->name, 1);

		if (r->json) {
			xbuf_printf(b, "%s{\"name\":", i ? "," : "");
			bstr(b, 1, f->name);
			xbuf_printf(b, ",\"mode\":\"%s\",\"ingress\":{\"criteria\":%" PRIu32 ",\"programs\":[",
				    xtap_attach_mode_name(f->mode), in);
			if (f->xdp)
				put_prog(b, 1, "xdp", &xdp, 1);
			put_prog(b, 1, "tc", &tc_in, !f->xdp);
			xbuf_printf(b, "]},\"egress\":{\"criteria\":%" PRIu32 ",\"programs\":[", out);
			put_prog(b, 1, "tc", &tc_out, 1);
			xbuf_printf(b, "]}}");
			continue;
		}
		xbuf_printf(b, "%-16s %-12s %-9s %-8" PRIu32 " ", f->name, xtap_attach_mode_name(f->mode), "ingress",
			    in);
		if (f->xdp)
			put_prog(b, 0, "xdp", &xdp, 1);
		put_prog(b, 0, "tc", &tc_in, !f->xdp);
		xbuf_printf(b, "\n%-16s %-12s %-9s %-8" PRIu32 " ", f->name, xtap_attach_mode_name(f->mode), "egress",
			    out);
		put_prog(b, 0, "tc", &tc_out, 1);
		xbuf_printf(b, "\n");
	}
	if (r->json)
		xbuf_printf(b, "],\"terms\":[");
	else
		xbuf_printf(b, "Terms (DTCP criteria): %zu\n", x->srv->n);
	for (size_t i = 0; i < x->srv->n; i++)
		put_term(x, b, r, x->srv->tab[i], i == 0);
	if (r->json)
		xbuf_printf(b, "]}\n");
}

static void cmd_show_index(const struct xtap_ctl_ctx *x, const struct req *r, const char *num, int counters,
			   struct xbuf *b)
{
	const struct dtcp_entry *e;
	struct dtcp_counters cnt;
	unsigned long id;
	char *end;

	errno = 0;
	id = strtoul(num, &end, 10);
	if (errno || *end || !*num || num[0] == '-' || id > UINT32_MAX)
		return answer_error(b, r->json, "the index is a DTCP Criteria-ID (a number)");
	e = dtcp_server_find(x->srv, (uint32_t)id);
	if (!e)
		return answer_error(b, r->json, "no such filter index");
	if (counters && xtap_dtcp_backend.read_counters(x->be, e->c.id, &cnt))
		return answer_error(b, r->json, "cannot read the counters");
	xbuf_printf(b, "OK\n");
	if (counters) {
		if (r->json)
			xbuf_printf(b,
				    "{\"index\":%" PRIu32 ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
				    ",\"last_match_ms\":%" PRIu64 "}\n",
				    e->c.id, cnt.packets, cnt.bytes, cnt.last_match_ms);
		else
			xbuf_printf(b, "Filter index %" PRIu32 "\n  Packets: %" PRIu64 "\n  Bytes: %" PRIu64 "\n",
				    e->c.id, cnt.packets, cnt.bytes);
		return;
	}
	if (!r->json)
		xbuf_printf(b, "Filter index %" PRIu32 ":\n", e->c.id);
	put_term(x, b, r, e, 1);
	if (r->json)
		xbuf_printf(b, "\n");
}

static void cmd_show_counters(const struct xtap_ctl_ctx *x, const struct req *r, struct xbuf *b)
{
	uint64_t v[XTAP_G_COUNT];
	int err = xtap_cls_counters(x->cls, v);

	if (err)
		return answer_error(b, r->json, strerror(-err));
	xbuf_printf(b, "OK\n%s", r->json ? "{" : "Global counters:\n");
	for (int i = 0; i < XTAP_G_COUNT; i++)
		if (r->json)
			xbuf_printf(b, "%s\"%s\":%" PRIu64, i ? "," : "", g_names[i], v[i]);
		else
			xbuf_printf(b, "  %-18s %" PRIu64 "\n", g_names[i], v[i]);
	if (r->json)
		xbuf_printf(b, "}\n");
}

static void cmd_show_cdests(const struct xtap_ctl_ctx *x, const struct req *r, struct xbuf *b)
{
	struct cd_list cds;
	int err = cd_collect(x, &cds);

	if (err)
		return answer_error(b, r->json, strerror(-err));
	xbuf_printf(b, "OK\n%s", r->json ? "{\"cdests\":[" : "");
	for (size_t i = 0; i < cds.n; i++) {
		uint64_t v[XTAP_CDS_COUNT];
		struct xtap_cdest cd;
		char addr[64] = "?";

		if ((err = xtap_cls_cd_stats(x->cls, cds.v[i].index, v))) {
			free(cds.v);
			return answer_error(b, r->json, strerror(-err));
		}
		/* where the copies go: part of the criterion, so --reveal only */
		if (r->reveal && !xtap_cls_cd_read(x->cls, cds.v[i].index, &cd)) {
			char ip[48];

			if (inet_ntop(cd.family == XTAP_AF_INET6 ? AF_INET6 : AF_INET, cd.dst, ip, sizeof(ip)))
				snprintf(addr, sizeof(addr), cd.family == XTAP_AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
					 ntohs(cd.dport));
		}
		if (r->json) {
			xbuf_printf(b, "%s{\"name\":", i ? "," : "");
			bstr(b, 1, cds.v[i].name);
			xbuf_printf(b, ",\"index\":%u,\"criteria\":%" PRIu32, cds.v[i].index, cds.v[i].criteria);
			if (r->reveal) {
				xbuf_printf(b, ",\"destination\":");
				bstr(b, 1, addr);
			}
			for (int k = 0; k < XTAP_CDS_COUNT; k++)
				xbuf_printf(b, ",\"%s\":%" PRIu64, cds_names[k], v[k]);
			xbuf_printf(b, "}");
			continue;
		}
		xbuf_printf(b, "Content destination ");
		bstr(b, 0, cds.v[i].name);
		xbuf_printf(b, " (index %u, %" PRIu32 " criteria)%s%s\n", cds.v[i].index, cds.v[i].criteria,
			    r->reveal ? " to " : "", r->reveal ? addr : "");
		for (int k = 0; k < XTAP_CDS_COUNT; k++)
			xbuf_printf(b, "  %-12s %" PRIu64 "\n", cds_names[k], v[k]);
	}
	if (r->json)
		xbuf_printf(b, "]}\n");
	free(cds.v);
}

/* The X3 destinations' delivery processes, from their last status line
 * (docs/x3.md). No target in it: names, XIDs, counts. */
static void cmd_show_x3(const struct xtap_ctl_ctx *x, const struct req *r, struct xbuf *b)
{
	size_t shown = 0;

	xbuf_printf(b, "OK\n%s", r->json ? "{\"x3\":[" : "");
	for (size_t i = 0; x->x3 && i < x->x3->n; i++) {
		const struct xtap_x3sup_dest *d = &x->x3->d[i];
		char xid[37];
		const uint64_t v[] = { d->next_seq,	    d->pdus,	     d->confirmed, d->full,	d->unconfirmed,
				       d->lost_unconfirmed, d->kernel_drops, d->not_ip,	   d->connects, d->tls_failures,
				       d->disconnects,	    d->restarts };
		static const char *const names[] = {
			"next_sequence",     "pdus",	     "confirmed", "buffer_full", "unconfirmed_at_exit",
			"lost_with_process", "kernel_drops", "not_ip",	  "connects",	 "tls_failures",
			"disconnects",	     "restarts"
		};

		if (!d->wanted && d->pid <= 0)
			continue; /* no longer configured */
		x3_uuid_format(d->cd.x3.xid, xid);
		if (r->json) {
			xbuf_printf(b, "%s{\"name\":", shown++ ? "," : "");
			bstr(b, 1, d->name);
			xbuf_printf(b, ",\"xid\":\"%s\",\"pid\":%ld,\"state\":\"%s\"", xid, (long)d->pid,
				    xtap_x3sup_state_name(d));
			for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
				xbuf_printf(b, ",\"%s\":%" PRIu64, names[k], v[k]);
			xbuf_printf(b, "}");
			continue;
		}
		xbuf_printf(b, "X3 destination ");
		bstr(b, 0, d->name);
		xbuf_printf(b, " (xid %s): %s, process %ld\n", xid, xtap_x3sup_state_name(d), (long)d->pid);
		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
			xbuf_printf(b, "  %-20s %" PRIu64 "\n", names[k], v[k]);
	}
	if (r->json)
		xbuf_printf(b, "]}\n");
}

/* ---- metrics: the Prometheus text exposition format (0.0.4) ---- */

/*
 * Labels hold only what the configuration or the protocol names: control
 * sources, content destination names and datapath indexes, attached
 * interfaces, DTCP methods and codes, counter names. Never a match field or
 * where copies go (a target): this function has no access to e->given and
 * reads no address from the content destination map.
 */
static void mlabel(struct xbuf *b, const char *s)
{
	char esc[4 * DTCP_GIVEN_MAX];

	/* printable ASCII without blanks or commas first (\ddd), then the
	 * format's own escapes: a label value cannot end its quotes or line */
	dtcp_escape_name(s, esc, sizeof(esc));
	xbuf_printf(b, "\"");
	for (const char *c = esc; *c; c++)
		xbuf_printf(b, *c == '\\' || *c == '"' ? "\\%c" : "%c", *c);
	xbuf_printf(b, "\"");
}

static void mhead(struct xbuf *b, const char *name, const char *type, const char *help)
{
	xbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void xtap_ctl_count_request(struct xtap_ctl_stats *st, int method, int code)
{
	size_t i;

	for (i = 0; i < st->n_req; i++)
		if (st->req[i].method == method && st->req[i].code == code)
			break;
	if (i == st->n_req) {
		if (st->n_req < XTAP_CTL_REQ_KINDS - 1) {
			st->n_req++;
		} else {
			/* the last row is the overflow: code 0 */
			i = XTAP_CTL_REQ_KINDS - 1;
			code = 0;
			method = DTCP_M_NONE;
			st->n_req = XTAP_CTL_REQ_KINDS;
		}
		st->req[i].method = (uint8_t)method;
		st->req[i].code = (uint16_t)code;
	}
	st->req[i].n++;
}

/* The X3 destinations' delivery processes (docs/x3.md), from their last
 * status line: labelled by the destination's configured name only (no
 * receiver address, no XID, no target). The process's own counts start at
 * 0 when xtapd restarts it (a counter reset; restarts counts them). */
static void x3_metrics(const struct xtap_ctl_ctx *x, struct xbuf *b)
{
	static const char *const states[] = { "down", "connecting", "handshake", "up", "not_running" };
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} ser[] = {
#define X3M(n, t, h, f) { n, t, h, offsetof(struct xtap_x3sup_dest, f) }
		X3M("xtap_x3_next_sequence", "gauge", "The sequence number the next X3 PDU takes.", next_seq),
		X3M("xtap_x3_pdus_total", "counter", "X3 PDUs framed by the current delivery process.", pdus),
		X3M("xtap_x3_confirmed_pdus_total", "counter",
		    "X3 PDUs the receiver confirmed (keepalive answered), current process.", confirmed),
		X3M("xtap_x3_sent_bytes_total", "counter",
		    "Bytes of PDUs written to TLS, replays included, current process.", bytes),
		X3M("xtap_x3_connects_total", "counter", "TLS connections made, current process.", connects),
		X3M("xtap_x3_tls_failures_total", "counter", "TLS handshakes failed, current process.", tls_failures),
		X3M("xtap_x3_disconnects_total", "counter", "Connections lost, current process.", disconnects),
		X3M("xtap_x3_restarts_total", "counter", "Delivery processes restarted since xtapd started.", restarts),
#undef X3M
	};
	static const struct {
		const char *reason;
		size_t off;
	} drops[] = {
		{ "buffer_full", offsetof(struct xtap_x3sup_dest, full) },
		{ "unconfirmed_at_exit", offsetof(struct xtap_x3sup_dest, unconfirmed) },
		{ "lost_with_process", offsetof(struct xtap_x3sup_dest, lost_unconfirmed) },
		{ "kernel_drops", offsetof(struct xtap_x3sup_dest, kernel_drops) },
		{ "not_ip", offsetof(struct xtap_x3sup_dest, not_ip) },
	};
	const struct xtap_x3sup_dest *d;

#define X3_SHOWN(i) (d = &x->x3->d[i], d->wanted || d->pid > 0) /* as show x3 */
	mhead(b, "xtap_x3_state", "gauge", "An X3 destination's connection state (1 for the current one).");
	for (size_t i = 0; x->x3 && i < x->x3->n; i++)
		for (int k = 0; X3_SHOWN(i) && k < 5; k++) {
			xbuf_printf(b, "xtap_x3_state{cdest=");
			mlabel(b, d->name);
			xbuf_printf(b, ",state=\"%s\"} %d\n", states[k], k == (d->pid > 0 ? d->state : 4));
		}
	for (size_t s = 0; s < sizeof(ser) / sizeof(ser[0]); s++) {
		mhead(b, ser[s].name, ser[s].type, ser[s].help);
		for (size_t i = 0; x->x3 && i < x->x3->n; i++) {
			if (!X3_SHOWN(i))
				continue;
			const char *p = (const char *)d + ser[s].off;
			uint64_t v = ser[s].off == offsetof(struct xtap_x3sup_dest, next_seq) ? *(const uint32_t *)p :
												*(const uint64_t *)p;
			xbuf_printf(b, "%s{cdest=", ser[s].name);
			mlabel(b, d->name);
			xbuf_printf(b, "} %" PRIu64 "\n", v);
		}
	}
	mhead(b, "xtap_x3_dropped_total", "counter",
	      "Copies of an X3 destination lost, by reason (docs/x3.md); the first three had a sequence number.");
	for (size_t i = 0; x->x3 && i < x->x3->n; i++)
		for (size_t k = 0; X3_SHOWN(i) && k < sizeof(drops) / sizeof(drops[0]); k++) {
			xbuf_printf(b, "xtap_x3_dropped_total{cdest=");
			mlabel(b, d->name);
			xbuf_printf(b, ",reason=\"%s\"} %" PRIu64 "\n", drops[k].reason,
				    *(const uint64_t *)((const char *)d + drops[k].off));
		}
#undef X3_SHOWN
}

static void cmd_metrics(const struct xtap_ctl_ctx *x, const struct req *r, struct xbuf *b)
{
	uint64_t g[XTAP_G_COUNT], (*cv)[XTAP_CDS_COUNT];
	struct src_use *src;
	struct cd_list cds;
	size_t nsrc = 0;
	int err;

	if (r->json || r->reveal)
		return answer_error(b, r->json, "metrics: the text format only, never with --reveal");
	if ((err = xtap_cls_counters(x->cls, g)))
		return answer_error(b, 0, strerror(-err));
	src = src_collect(x, &nsrc);
	if (!src)
		return answer_error(b, 0, "no memory");
	if ((err = cd_collect(x, &cds))) {
		free(src);
		return answer_error(b, 0, strerror(-err));
	}
	/* per content destination in use: its name as the first criterion
	 * naming it says, and its datapath index (two destinations may share
	 * a name); read before the answer starts */
	cv = cds.n ? calloc(cds.n, sizeof(*cv)) : NULL;
	for (size_t i = 0; i < cds.n && cv && !err; i++)
		err = xtap_cls_cd_stats(x->cls, cds.v[i].index, cv[i]);
	if ((cds.n && !cv) || err) {
		free(src);
		free(cds.v);
		free(cv);
		return answer_error(b, 0, err ? strerror(-err) : "no memory");
	}
	xbuf_printf(b, "OK\n");
	mhead(b, "xtap_start_time_seconds", "gauge", "When xtapd started, in seconds since the epoch.");
	xbuf_printf(b, "xtap_start_time_seconds %" PRIu64 ".%03" PRIu64 "\n", x->started_ms / 1000,
		    x->started_ms % 1000);
	mhead(b, "xtap_datapath_adopted", "gauge",
	      "1 when xtapd adopted a running datapath at start, 0 when it loaded it.");
	xbuf_printf(b, "xtap_datapath_adopted %d\n", x->dp->adopted ? 1 : 0);
	mhead(b, "xtap_interface_info", "gauge", "An attached interface and its attach mode (always 1).");
	for (int i = 0; i < x->dp->nifs; i++) {
		xbuf_printf(b, "xtap_interface_info{interface=");
		mlabel(b, x->dp->ifs[i].name);
		xbuf_printf(b, ",mode=\"%s\"} 1\n", xtap_attach_mode_name(x->dp->ifs[i].mode));
	}
	mhead(b, "xtap_dtcp_sessions", "gauge", "Open DTCP sessions.");
	xbuf_printf(b, "xtap_dtcp_sessions %u\n", x->sessions);
	mhead(b, "xtap_criteria_slots", "gauge", "Criteria the datapath's maps hold at most.");
	xbuf_printf(b, "xtap_criteria_slots %" PRIu32 "\n", x->dp->max_criteria);
	mhead(b, "xtap_criteria", "gauge", "Criteria installed, per control source and lifetime.");
	for (size_t i = 0; i < nsrc; i++)
		for (int st = 0; st < 2; st++) {
			xbuf_printf(b, "xtap_criteria{csource=");
			mlabel(b, src[i].name);
			xbuf_printf(b, ",lifetime=\"%s\"} %" PRIu32 "\n", st ? "dynamic" : "static",
				    st ? src[i].n_dynamic : src[i].n_static);
		}
	mhead(b, "xtap_packets_total", "counter", "Packets the classifiers saw, on every attached hook.");
	xbuf_printf(b, "xtap_packets_total %" PRIu64 "\n", g[XTAP_G_PACKETS]);
	mhead(b, "xtap_matched_packets_total", "counter", "Packets that matched at least one criterion.");
	xbuf_printf(b, "xtap_matched_packets_total %" PRIu64 "\n", g[XTAP_G_MATCHED]);
	mhead(b, "xtap_matched_bytes_total", "counter",
	      "Bytes (from the IP header on) of the packets that matched at least one criterion.");
	xbuf_printf(b, "xtap_matched_bytes_total %" PRIu64 "\n", g[XTAP_G_MATCHED_BYTES]);
	mhead(b, "xtap_datapath_events_total", "counter",
	      "The datapath's other counters (docs/classifier.md), by name.");
	for (int i = 0; i < XTAP_G_COUNT; i++)
		if (i != XTAP_G_PACKETS && i != XTAP_G_MATCHED && i != XTAP_G_MATCHED_BYTES)
			xbuf_printf(b, "xtap_datapath_events_total{event=\"%s\"} %" PRIu64 "\n", g_names[i], g[i]);

	static const struct {
		const char *name, *help;
		int k;
	} cd_series[] = {
		{ "xtap_cdest_cloned_copies_total", "Copies handed to the vt pair for a content destination.",
		  XTAP_CDS_CLONED },
		{ "xtap_cdest_sent_copies_total", "Copies encapsulated and sent to a content destination.",
		  XTAP_CDS_SENT },
		{ "xtap_cdest_sent_bytes_total", "Bytes of the copies sent, outer headers included.",
		  XTAP_CDS_SENT_BYTES },
	};
	mhead(b, "xtap_cdest_criteria", "gauge", "Criteria naming a content destination.");
	for (size_t i = 0; i < cds.n; i++) {
		xbuf_printf(b, "xtap_cdest_criteria{cdest=");
		mlabel(b, cds.v[i].name);
		xbuf_printf(b, ",index=\"%u\"} %" PRIu32 "\n", cds.v[i].index, cds.v[i].criteria);
	}
	for (size_t s = 0; s < sizeof(cd_series) / sizeof(cd_series[0]); s++) {
		mhead(b, cd_series[s].name, "counter", cd_series[s].help);
		for (size_t i = 0; i < cds.n; i++) {
			xbuf_printf(b, "%s{cdest=", cd_series[s].name);
			mlabel(b, cds.v[i].name);
			xbuf_printf(b, ",index=\"%u\"} %" PRIu64 "\n", cds.v[i].index, cv[i][cd_series[s].k]);
		}
	}
	mhead(b, "xtap_cdest_dropped_copies_total", "counter",
	      "Copies for a content destination that were not sent, by reason.");
	for (size_t i = 0; i < cds.n; i++)
		for (int k = XTAP_CDS_CLONE_FAIL; k < XTAP_CDS_COUNT; k++) {
			if (k == XTAP_CDS_RESTORE_FAIL)
				continue; /* an original, not a copy: its own series below */
			xbuf_printf(b, "xtap_cdest_dropped_copies_total{cdest=");
			mlabel(b, cds.v[i].name);
			xbuf_printf(b, ",index=\"%u\",reason=\"%s\"} %" PRIu64 "\n", cds.v[i].index, cds_names[k],
				    cv[i][k]);
		}
	mhead(b, "xtap_cdest_dropped_originals_total", "counter",
	      "Intercepted packets dropped because the in-place copy could not restore them.");
	for (size_t i = 0; i < cds.n; i++) {
		xbuf_printf(b, "xtap_cdest_dropped_originals_total{cdest=");
		mlabel(b, cds.v[i].name);
		xbuf_printf(b, ",index=\"%u\"} %" PRIu64 "\n", cds.v[i].index, cv[i][XTAP_CDS_RESTORE_FAIL]);
	}
	x3_metrics(x, b);
	mhead(b, "xtap_dtcp_requests_total", "counter", "DTCP requests answered, by method and result code.");
	for (size_t i = 0; x->stats && i < x->stats->n_req; i++) {
		if (x->stats->req[i].code)
			xbuf_printf(b, "xtap_dtcp_requests_total{method=\"%s\",code=\"%u\"} %" PRIu64 "\n",
				    dtcp_method_name(x->stats->req[i].method), x->stats->req[i].code,
				    x->stats->req[i].n);
		else
			xbuf_printf(b, "xtap_dtcp_requests_total{method=\"other\",code=\"other\"} %" PRIu64 "\n",
				    x->stats->req[i].n);
	}
	mhead(b, "xtap_auth_failures_total", "counter", "Failed SSH logins, by authentication method.");
	xbuf_printf(b, "xtap_auth_failures_total{method=\"password\"} %" PRIu64 "\n",
		    x->stats ? x->stats->auth_fail_password : 0);
	xbuf_printf(b, "xtap_auth_failures_total{method=\"publickey\"} %" PRIu64 "\n",
		    x->stats ? x->stats->auth_fail_publickey : 0);
	mhead(b, "xtap_worker_restarts_total", "counter",
	      "Restarts of the SSH worker since xtapd started (each drops its DTCP sessions).");
	xbuf_printf(b, "xtap_worker_restarts_total %" PRIu64 "\n", x->worker_restarts);
	mhead(b, "xtap_state_refusing_changes", "gauge",
	      "1 while the state cannot be written and changes are answered 500, else 0.");
	xbuf_printf(b, "xtap_state_refusing_changes %d\n", x->refusing ? 1 : 0);
	mhead(b, "xtap_state_refused_requests_total", "counter",
	      "Requests answered 500 because their change could not be made durable.");
	xbuf_printf(b, "xtap_state_refused_requests_total %" PRIu64 "\n", x->refused);
	mhead(b, "xtap_state_commits_total", "counter", "State transactions made durable (synced).");
	xbuf_printf(b, "xtap_state_commits_total %" PRIu64 "\n", x->commits);
	mhead(b, "xtap_state_last_save_time_seconds", "gauge",
	      "When the state last reached the disk, in seconds since the epoch (0: not since start).");
	xbuf_printf(b, "xtap_state_last_save_time_seconds %" PRIu64 ".%03" PRIu64 "\n", x->last_save_ms / 1000,
		    x->last_save_ms % 1000);
	mhead(b, "xtap_state_journal_bytes", "gauge", "Length of the state journal, synced.");
	xbuf_printf(b, "xtap_state_journal_bytes %" PRIu64 "\n", x->journal_bytes);
	mhead(b, "xtap_ssh_connections", "gauge", "SSH connections holding a monitor slot now.");
	xbuf_printf(b, "xtap_ssh_connections %u\n", (unsigned)x->connections);
	free(src);
	free(cds.v);
	free(cv);
}

/* one line: it is the status line of an error answer */
static const char help[] = "commands: status | show filter | show filter index N [counters] | show counters | "
			   "show cdests | show x3 | metrics | detach (flags: --json, --reveal)";

/* What a revealing request showed, for the audit log (never the fields). */
static void audit_reveal(const struct xtap_ctl_ctx *x, const struct req *r, const uint32_t *id)
{
	char what[64] = "";

	for (int i = 0; i < r->nw; i++)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s%s", i ? " " : "", r->w[i]);
	if (xtap_audit_request(x->audit, x->now_ms, "xtapctl", NULL, "REVEAL", NULL, 200, id, id ? 1 : 0, what))
		fprintf(stderr, "xtapd: warning: cannot write the audit line of a reveal\n");
}

enum xtap_ctl_action xtap_ctl_handle(const struct xtap_ctl_ctx *x, const char *line, size_t n, struct xbuf *out)
{
	struct req r;
	uint32_t id;

	*out = XBUF_HEAP(XTAP_CTL_ANSWER_MAX);
	if (req_parse(line, n, &r)) {
		answer_error(out, memmem(line, n, "--json", 6) != NULL, help);
		return XTAP_CTL_ANSWER;
	}
	if (req_is(&r, 1, "detach"))
		return XTAP_CTL_DETACH;
	if (r.reveal &&
	    (req_is(&r, 2, "show", "filter") || req_is(&r, 4, "show", "filter", "index", NULL) ||
	     req_is(&r, 2, "show", "cdests"))) {
		/* the audit line comes before the fields leave the daemon */
		int one = r.nw == 4 && sscanf(r.w[3], "%" SCNu32, &id) == 1;

		audit_reveal(x, &r, one ? &id : NULL);
	}
	if (req_is(&r, 1, "status"))
		cmd_status(x, &r, out);
	else if (req_is(&r, 2, "show", "filter"))
		cmd_show_filter(x, &r, out);
	else if (req_is(&r, 4, "show", "filter", "index", NULL))
		cmd_show_index(x, &r, r.w[3], 0, out);
	else if (req_is(&r, 5, "show", "filter", "index", NULL, "counters"))
		cmd_show_index(x, &r, r.w[3], 1, out);
	else if (req_is(&r, 2, "show", "counters"))
		cmd_show_counters(x, &r, out);
	else if (req_is(&r, 2, "show", "cdests"))
		cmd_show_cdests(x, &r, out);
	else if (req_is(&r, 2, "show", "x3"))
		cmd_show_x3(x, &r, out);
	else if (req_is(&r, 1, "metrics"))
		cmd_metrics(x, &r, out);
	else
		answer_error(out, r.json, help);
	if (out->full)
		answer_error(out, r.json, "the answer is too large; ask for one filter index");
	return XTAP_CTL_ANSWER;
}

void xtap_ctl_detached(const char *line, size_t n, int err, struct xbuf *out)
{
	int json = memmem(line, n, "--json", 6) != NULL;

	*out = XBUF_HEAP(XTAP_CTL_ANSWER_MAX);
	if (err) {
		char msg[128];

		snprintf(msg, sizeof(msg), "the datapath could not be taken down whole: %s", strerror(-err));
		return answer_error(out, json, msg);
	}
	xbuf_printf(out, "OK\n");
	if (json)
		xbuf_printf(out, "{\"detached\":true}\n");
	else
		xbuf_printf(out, "Datapath detached and unpinned; xtapd exits.\n");
}
