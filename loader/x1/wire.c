/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * struct x1_request <-> bytes, for the worker -> monitor hop. The decoder
 * trusts nothing: every string is bounded and free of control characters,
 * every enum in range, every count within its array, every target
 * consistent with its kind, the same rules x1_parse_container applies, so a
 * compromised worker can send the monitor nothing the XML parser would not
 * have produced.
 */
#include <stdlib.h>
#include <string.h>
#include "x1.h"

#define WIRE_VERSION 1

struct w {
	uint8_t *p;
	size_t n, cap;
	bool bad;
};

static void put(struct w *w, const void *v, size_t n)
{
	if (w->bad || w->cap - w->n < n) {
		w->bad = true;
		return;
	}
	memcpy(w->p + w->n, v, n);
	w->n += n;
}

static void put8(struct w *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put16(struct w *w, uint16_t v)
{
	put(w, &v, 2);
}

static void put64(struct w *w, uint64_t v)
{
	put(w, &v, 8);
}

static void put_str(struct w *w, const char *s)
{
	size_t n = strlen(s);

	if (n > 0xffff) {
		w->bad = true;
		return;
	}
	put16(w, (uint16_t)n);
	put(w, s, n);
}

struct rd {
	const uint8_t *p;
	size_t n, off;
	const char *why;
};

static int bad(struct rd *r, const char *why)
{
	if (!r->why)
		r->why = why;
	return -1;
}

static int get(struct rd *r, void *v, size_t n)
{
	if (r->why || r->n - r->off < n)
		return bad(r, "truncated");
	memcpy(v, r->p + r->off, n);
	r->off += n;
	return 0;
}

static uint8_t get8(struct rd *r)
{
	uint8_t v = 0;

	get(r, &v, 1);
	return v;
}

static uint16_t get16(struct rd *r)
{
	uint16_t v = 0;

	get(r, &v, 2);
	return v;
}

static uint64_t get64(struct rd *r)
{
	uint64_t v = 0;

	get(r, &v, 8);
	return v;
}

/* A string of at most cap - 1 bytes, printable (TAB and UTF-8 allowed, no
 * other control byte, no NUL). empty_ok: "" is a value. */
static int get_str(struct rd *r, char *out, size_t cap, bool empty_ok, const char *what)
{
	uint16_t n = get16(r);

	if (r->why)
		return -1;
	if (n >= cap || (!n && !empty_ok) || r->n - r->off < n)
		return bad(r, what);
	memcpy(out, r->p + r->off, n);
	out[n] = 0;
	r->off += n;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)out[i] < 0x20 && out[i] != '\t') || out[i] == 0x7f)
			return bad(r, what);
	return 0;
}

static void put_target(struct w *w, const struct x1_target *t)
{
	put8(w, t->kind);
	put8(w, t->family);
	put(w, t->addr, 16);
	put8(w, t->plen);
	put8(w, t->proto);
	put16(w, t->port_lo);
	put16(w, t->port_hi);
}

static void put_task(struct w *w, const struct x1_task *t)
{
	put(w, t->xid.b, 16);
	put8(w, t->ntargets);
	for (int i = 0; i < t->ntargets && i < X1_MAX_TARGETS; i++)
		put_target(w, &t->target[i]);
	put8(w, t->delivery);
	put8(w, t->ndids);
	for (int i = 0; i < t->ndids && i < X1_MAX_DIDS; i++)
		put(w, t->did[i].b, 16);
	put8(w,
	     (uint8_t)(t->has_correlation | t->has_implicit << 1 | t->implicit_deactivation << 2 |
		       t->has_product << 3));
	put64(w, t->correlation);
	put(w, t->product.b, 16);
}

static void put_dest(struct w *w, const struct x1_destination *d)
{
	put(w, d->did.b, 16);
	put_str(w, d->friendly);
	put8(w, d->delivery);
	put8(w, d->family);
	put(w, d->addr, 16);
	put16(w, d->port);
	put8(w, d->transport);
}

/* The body is carried only when it was read: an error-free request, or
 * none at all for the types without one. */
static bool has_body(const struct x1_request *r)
{
	return !r->error;
}

size_t x1_wire_encode(const struct x1_request *r, uint8_t *out, size_t cap)
{
	struct w w = { .p = out, .cap = cap };
	const struct x1_envelope *e = &r->env;

	if (!r->type_name || x1_request_type_of(r->type_name) != r->type)
		return 0;
	put8(&w, WIRE_VERSION);
	put8(&w, (uint8_t)r->type);
	put_str(&w, r->type_name);
	put_str(&w, e->admf);
	put_str(&w, e->ne);
	put_str(&w, e->timestamp);
	put_str(&w, e->version);
	put8(&w, (uint8_t)(e->has_admf | e->has_ne << 1 | e->has_version << 2 | e->has_txid << 3));
	put(&w, e->txid.b, 16);
	put16(&w, (uint16_t)r->error);
	put_str(&w, r->error && r->desc ? r->desc : "");
	if (has_body(r)) {
		switch (r->type) {
		case X1_M_ACTIVATE_TASK:
		case X1_M_MODIFY_TASK: put_task(&w, &r->task); break;
		case X1_M_DEACTIVATE_TASK:
		case X1_M_GET_TASK_DETAILS: put(&w, r->xid.b, 16); break;
		case X1_M_CREATE_DESTINATION:
		case X1_M_MODIFY_DESTINATION: put_dest(&w, &r->dest); break;
		case X1_M_REMOVE_DESTINATION:
		case X1_M_GET_DESTINATION_DETAILS: put(&w, r->did.b, 16); break;
		default: break;
		}
	}
	if (w.bad)
		return 0;
	/* what the monitor will refuse is not sent */
	{
		struct x1_request *check = malloc(sizeof(*check));
		const char *why;
		int rc = check ? x1_wire_decode(out, w.n, check, &why) : -1;

		free(check);
		if (rc)
			return 0;
	}
	return w.n;
}

/* ---- decode ----------------------------------------------------------------------- */

static int get_target(struct rd *r, struct x1_target *t)
{
	unsigned max;

	t->kind = get8(r);
	t->family = get8(r);
	get(r, t->addr, 16);
	t->plen = get8(r);
	t->proto = get8(r);
	t->port_lo = get16(r);
	t->port_hi = get16(r);
	if (r->why)
		return -1;
	max = t->family == DTCP_AF_INET6 ? 128 : 32;
	switch (t->kind) {
	case X1_T_IPV4_ADDRESS:
	case X1_T_IPV6_ADDRESS:
		if (t->family != (t->kind == X1_T_IPV4_ADDRESS ? DTCP_AF_INET : DTCP_AF_INET6) || t->plen != max ||
		    t->proto || t->port_lo || t->port_hi)
			return bad(r, "address target inconsistent");
		break;
	case X1_T_IPV4_CIDR:
	case X1_T_IPV6_CIDR:
		if (t->family != (t->kind == X1_T_IPV4_CIDR ? DTCP_AF_INET : DTCP_AF_INET6) || t->plen > max ||
		    t->proto || t->port_lo || t->port_hi)
			return bad(r, "CIDR target inconsistent");
		break;
	case X1_T_TCP_PORT:
	case X1_T_UDP_PORT:
	case X1_T_TCP_PORT_RANGE:
	case X1_T_UDP_PORT_RANGE: {
		bool tcp = t->kind == X1_T_TCP_PORT || t->kind == X1_T_TCP_PORT_RANGE;
		bool single = t->kind == X1_T_TCP_PORT || t->kind == X1_T_UDP_PORT;

		if (t->family || t->plen || t->proto != (tcp ? X1_TR_TCP : X1_TR_UDP) || t->port_lo > t->port_hi ||
		    (single && t->port_lo != t->port_hi))
			return bad(r, "port target inconsistent");
		for (int i = 0; i < 16; i++)
			if (t->addr[i])
				return bad(r, "port target with an address");
		break;
	}
	case X1_T_IP_ADDRESS_PORT:
		if ((t->family != DTCP_AF_INET && t->family != DTCP_AF_INET6) || t->plen != max ||
		    (t->proto != X1_TR_TCP && t->proto != X1_TR_UDP) || t->port_lo != t->port_hi)
			return bad(r, "address-and-port target inconsistent");
		break;
	default: return bad(r, "target kind");
	}
	if (t->family == DTCP_AF_INET)
		for (int i = 4; i < 16; i++)
			if (t->addr[i])
				return bad(r, "IPv4 address with bytes past 4");
	return 0;
}

static int get_task(struct rd *r, struct x1_task *t)
{
	uint8_t f;

	get(r, t->xid.b, 16);
	t->ntargets = get8(r);
	if (r->why || !t->ntargets || t->ntargets > X1_MAX_TARGETS)
		return bad(r, "target count");
	for (int i = 0; i < t->ntargets; i++)
		if (get_target(r, &t->target[i]))
			return -1;
	t->delivery = get8(r);
	if (t->delivery < X1_DT_X2_ONLY || t->delivery > X1_DT_X2_AND_X3)
		return bad(r, "deliveryType");
	t->ndids = get8(r);
	if (t->ndids > X1_MAX_DIDS)
		return bad(r, "dId count");
	for (int i = 0; i < t->ndids; i++)
		get(r, t->did[i].b, 16);
	f = get8(r);
	if (f & ~0x0f)
		return bad(r, "task flags");
	t->has_correlation = f & 1;
	t->has_implicit = f & 2;
	t->implicit_deactivation = f & 4;
	t->has_product = f & 8;
	t->correlation = get64(r);
	get(r, t->product.b, 16);
	if ((!t->has_implicit && t->implicit_deactivation) || (!t->has_correlation && t->correlation))
		return bad(r, "task flags");
	return r->why ? -1 : 0;
}

static int get_dest(struct rd *r, struct x1_destination *d)
{
	get(r, d->did.b, 16);
	if (get_str(r, d->friendly, sizeof(d->friendly), true, "friendlyName"))
		return -1;
	d->delivery = get8(r);
	d->family = get8(r);
	get(r, d->addr, 16);
	d->port = get16(r);
	d->transport = get8(r);
	if (r->why)
		return -1;
	if (d->delivery < X1_DT_X2_ONLY || d->delivery > X1_DT_X2_AND_X3)
		return bad(r, "deliveryType");
	if ((d->family != DTCP_AF_INET && d->family != DTCP_AF_INET6) ||
	    (d->transport != X1_TR_TCP && d->transport != X1_TR_UDP))
		return bad(r, "deliveryAddress");
	if (d->family == DTCP_AF_INET)
		for (int i = 4; i < 16; i++)
			if (d->addr[i])
				return bad(r, "IPv4 address with bytes past 4");
	return 0;
}

/* The codes a parsed request can carry (x1_parse_container's). */
static bool parse_code(int c)
{
	switch (c) {
	case X1_OK:
	case X1_E_SYNTAX_SCHEMA:
	case X1_E_UNSUPPORTED_VERSION:
	case X1_E_UNSUPPORTED_REQUEST:
	case X1_E_ACTIVATE_FAILURE:
	case X1_E_MODIFY_TASK_FAILURE:
	case X1_E_UNSUPPORTED_TARGET_TYPE:
	case X1_E_MULTIPLE_DESTINATIONS:
	case X1_E_UNSUPPORTED_SERVICE_TYPE:
	case X1_E_CREATE_DEST_FAILURE:
	case X1_E_MODIFY_DEST_FAILURE:
	case X1_E_UNSUPPORTED_DELIVERY_ADDRESS: return true;
	}
	return false;
}

int x1_wire_decode(const uint8_t *in, size_t n, struct x1_request *out, const char **why)
{
	char *desc_store = out->desc_buf;
	struct rd r = { .p = in, .n = n };
	struct x1_envelope *e = &out->env;
	char name[40];
	uint8_t f;

	memset(out, 0, sizeof(*out));
	if (n > X1_WIRE_MAX) {
		*why = "longer than X1_WIRE_MAX";
		return -1;
	}
	if (get8(&r) != WIRE_VERSION) {
		*why = r.why ? r.why : "wire version";
		return -1;
	}
	out->type = (enum x1_msg_type)get8(&r);
	if (get_str(&r, name, sizeof(name), false, "type name"))
		goto fail;
	out->type_name = x1_request_type_name(name);
	if (!out->type_name || x1_request_type_of(name) != out->type || out->type == X1_M_NONE) {
		bad(&r, "type name");
		goto fail;
	}
	if (get_str(&r, e->admf, sizeof(e->admf), true, "admfIdentifier") ||
	    get_str(&r, e->ne, sizeof(e->ne), true, "neIdentifier") ||
	    get_str(&r, e->timestamp, sizeof(e->timestamp), true, "messageTimestamp") ||
	    get_str(&r, e->version, sizeof(e->version), true, "version"))
		goto fail;
	f = get8(&r);
	if (f & ~0x0f) {
		bad(&r, "envelope flags");
		goto fail;
	}
	e->has_admf = f & 1;
	e->has_ne = f & 2;
	e->has_version = f & 4;
	e->has_txid = f & 8;
	get(&r, e->txid.b, 16);
	/* what was read must be what the parser accepts */
	if (!e->has_txid || (e->has_admf != !!e->admf[0]) || (e->has_ne != !!e->ne[0]) ||
	    (e->has_version != !!e->version[0]) ||
	    (e->timestamp[0] && x1_check_timestamp(e->timestamp, strlen(e->timestamp)))) {
		bad(&r, "envelope");
		goto fail;
	}
	out->error = get16(&r);
	if (get_str(&r, desc_store, sizeof(out->desc_buf), true, "errorDescription"))
		goto fail;
	if (!parse_code(out->error) || (out->error && !desc_store[0]) || (!out->error && desc_store[0])) {
		bad(&r, "error code");
		goto fail;
	}
	out->desc = out->error ? desc_store : NULL;
	/* an unsupported type is answered with 1080, or the header's error before it */
	if (out->type == X1_M_UNSUPPORTED && !out->error) {
		bad(&r, "unsupported type without an error");
		goto fail;
	}
	if (!out->error) {
		unsigned ma, mi, pa;

		if (!e->has_admf || !e->has_ne || !e->timestamp[0] || !e->has_version ||
		    x1_parse_version(e->version, strlen(e->version), &ma, &mi, &pa) || ma != 1) {
			bad(&r, "envelope incomplete, or a version the parser refuses");
			goto fail;
		}
	}
	if (!out->error) {
		switch (out->type) {
		case X1_M_ACTIVATE_TASK:
		case X1_M_MODIFY_TASK: get_task(&r, &out->task); break;
		case X1_M_DEACTIVATE_TASK:
		case X1_M_GET_TASK_DETAILS: get(&r, out->xid.b, 16); break;
		case X1_M_CREATE_DESTINATION:
		case X1_M_MODIFY_DESTINATION: get_dest(&r, &out->dest); break;
		case X1_M_REMOVE_DESTINATION:
		case X1_M_GET_DESTINATION_DETAILS: get(&r, out->did.b, 16); break;
		default: break;
		}
	}
	if (!r.why && r.off != n)
		bad(&r, "trailing bytes");
fail:
	if (r.why) {
		*why = r.why;
		memset(out, 0, sizeof(*out));
		return -1;
	}
	*why = NULL;
	return 0;
}

/* ---- a whole container: the worker's one datagram per HTTP request ------------------- */

size_t x1_wire_container_encode(const char *admf, const struct x1_container *c, uint8_t *out, size_t cap)
{
	struct w w = { .p = out, .cap = cap };

	if (!c->n || c->n > X1_MAX_MESSAGES || !admf[0] || strlen(admf) >= X1_ID_MAX)
		return 0;
	put8(&w, WIRE_VERSION);
	put_str(&w, admf);
	put8(&w, (uint8_t)c->n);
	for (size_t i = 0; i < c->n && !w.bad; i++) {
		size_t len;

		if (w.cap - w.n < 2) {
			w.bad = true;
			break;
		}
		len = x1_wire_encode(&c->msg[i], w.p + w.n + 2, w.cap - w.n - 2);
		if (!len)
			return 0;
		put16(&w, (uint16_t)len);
		w.n += len;
	}
	return w.bad ? 0 : w.n;
}

int x1_wire_container_decode(const uint8_t *in, size_t n, char admf[X1_ID_MAX], struct x1_container *c,
			     const char **why)
{
	struct rd r = { .p = in, .n = n };
	uint8_t count;

	memset(c, 0, sizeof(*c));
	if (n > X1_WIRE_CONTAINER_MAX) {
		*why = "container longer than X1_WIRE_CONTAINER_MAX";
		return -1;
	}
	if (get8(&r) != WIRE_VERSION) {
		*why = "wire version";
		return -1;
	}
	if (get_str(&r, admf, X1_ID_MAX, false, "admf"))
		goto fail;
	count = get8(&r);
	if (r.why || !count || count > X1_MAX_MESSAGES) {
		bad(&r, "message count");
		goto fail;
	}
	for (uint8_t i = 0; i < count; i++) {
		uint16_t len = get16(&r);

		if (r.why || r.n - r.off < len) {
			bad(&r, "message length");
			goto fail;
		}
		if (x1_wire_decode(r.p + r.off, len, &c->msg[i], &r.why))
			goto fail;
		r.off += len;
		c->n++;
	}
	if (r.off != n)
		bad(&r, "trailing bytes");
fail:
	if (r.why) {
		*why = r.why;
		memset(c, 0, sizeof(*c));
		return -1;
	}
	*why = NULL;
	return 0;
}

/* ---- state records: the store's tasks and destinations for the state file -------------- */

static const char hexd[] = "0123456789abcdef";

static size_t hex_line(const char *tag, const uint8_t *b, size_t n, char *out, size_t cap)
{
	size_t tl = strlen(tag), len = tl + 1 + 2 * n;

	if (len + 1 > cap)
		return 0;
	memcpy(out, tag, tl);
	out[tl] = ' ';
	for (size_t i = 0; i < n; i++) {
		out[tl + 1 + 2 * i] = hexd[b[i] >> 4];
		out[tl + 2 + 2 * i] = hexd[b[i] & 15];
	}
	out[len] = 0;
	return len;
}

size_t x1_record_dest(const struct x1_dest_entry *e, char *out, size_t cap)
{
	uint8_t b[X1_WIRE_MAX];
	struct w w = { .p = b, .cap = sizeof(b) };

	put8(&w, WIRE_VERSION);
	put_str(&w, e->admf);
	put_dest(&w, &e->d);
	return w.bad ? 0 : hex_line("x1-dest", b, w.n, out, cap);
}

size_t x1_record_task(const struct x1_task_entry *e, char *out, size_t cap)
{
	uint8_t b[X1_WIRE_MAX + 4 * X1_MAX_CRIT];
	struct w w = { .p = b, .cap = sizeof(b) };

	put8(&w, WIRE_VERSION);
	put_str(&w, e->admf);
	put_task(&w, &e->t);
	put8(&w, (uint8_t)e->ncrit);
	put(&w, e->crit, e->ncrit * sizeof(e->crit[0]));
	return w.bad ? 0 : hex_line("x1-task", b, w.n, out, cap);
}

static int unhex(const char *s, size_t n, uint8_t *out, size_t cap)
{
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = -1, lo = -1;

		for (int k = 0; k < 16; k++) {
			if (s[2 * i] == hexd[k])
				hi = k;
			if (s[2 * i + 1] == hexd[k])
				lo = k;
		}
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

int x1_record_parse(const char *line, size_t n, struct x1_record *rec, const char **why)
{
	uint8_t b[X1_WIRE_MAX + 4 * X1_MAX_CRIT];
	struct rd r = { .p = b };
	int len;

	memset(rec, 0, sizeof(*rec));
	*why = NULL;
	if (n > 8 && !memcmp(line, "x1-dest ", 8))
		rec->kind = X1_REC_DEST;
	else if (n > 8 && !memcmp(line, "x1-task ", 8))
		rec->kind = X1_REC_TASK;
	else {
		*why = "not an x1 record";
		return -1;
	}
	if ((len = unhex(line + 8, n - 8, b, sizeof(b))) < 0) {
		*why = "not hex";
		return -1;
	}
	r.n = (size_t)len;
	if (get8(&r) != WIRE_VERSION) {
		*why = "record version";
		return -1;
	}
	if (get_str(&r, rec->admf, sizeof(rec->admf), false, "admf"))
		goto out;
	if (rec->kind == X1_REC_DEST) {
		get_dest(&r, &rec->dest);
	} else if (!get_task(&r, &rec->task)) {
		rec->ncrit = get8(&r);
		if (!r.why && (!rec->ncrit || rec->ncrit > X1_MAX_CRIT))
			bad(&r, "criteria count");
		for (uint32_t i = 0; i < rec->ncrit && !r.why; i++)
			if (!get(&r, &rec->crit[i], sizeof(rec->crit[i])) && !rec->crit[i])
				bad(&r, "criterion id 0");
	}
	if (!r.why && r.off != r.n)
		bad(&r, "trailing bytes");
out:
	*why = r.why;
	return r.why ? -1 : 0;
}
