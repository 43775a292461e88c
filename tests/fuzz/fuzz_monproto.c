/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: the monitor <-> worker codec (loader/worker/monproto.c) in both
 * directions. Per input:
 *  1. the bytes decoded as a datagram from the worker and from the monitor:
 *     a refusal carries a fixed reason; an accepted datagram holds only the
 *     sender's types and fields within the rules, and encodes back to the
 *     very same bytes (one encoding per message, so nothing the monitor acts
 *     on can mean two things);
 *  2. fields taken from the input encoded by every encoder: what an encoder
 *     writes decodes to the same fields, and what it refuses is what the
 *     decoder would refuse (DTCP_CREDIT's bytes: the first four of the rest). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monproto.h"

static uint8_t out[MON_MSG_MAX + 16];

#include "fuzzcheck.h"

static bool str_ok(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

/* The accepted message re-encoded; SIZE_MAX for a type this target does not
 * know yet (a type added to monproto.h gets its encoder here). */
static size_t reencode(const struct mon_msg *m)
{
	switch (m->type) {
	case MON_SESSION_OPEN: return mon_enc_session_open(out, sizeof(out), m->session, m->user, m->peer);
	case MON_SESSION_CLOSE:
	case MON_DTCP_EOF:
	case MON_DTCP_CLOSE: return mon_enc_empty(out, sizeof(out), m->type, m->session);
	case MON_AUTH_PASSWORD: return mon_enc_auth_password(out, sizeof(out), m->session, m->user, m->password);
	case MON_AUTH_PUBKEY:
		return mon_enc_auth_pubkey(out, sizeof(out), m->session, m->key_signed, m->user, m->keytype, m->data,
					   m->len);
	case MON_AUTH_RESULT: return mon_enc_auth_result(out, sizeof(out), m->session, m->ok);
	case MON_DTCP_DATA:
	case MON_DTCP_REPLY: return mon_enc_data(out, sizeof(out), m->type, m->session, m->data, m->len);
	case MON_EVENT: return mon_enc_event(out, sizeof(out), m->session, m->kind, m->peer);
	case MON_CONN_OPEN: return mon_enc_conn_open(out, sizeof(out), m->session, m->peer);
	case MON_AUTH_SIG: return mon_enc_auth_sig(out, sizeof(out), m->session, m->data, m->len, m->sig, m->siglen);
	case MON_DTCP_CREDIT: return mon_enc_credit(out, sizeof(out), m->session, m->credit);
	default: return SIZE_MAX;
	}
}

static void decode_both(const uint8_t *data, size_t size)
{
	static struct mon_msg m;

	for (int from = MON_FROM_WORKER; from <= MON_FROM_MONITOR; from++) {
		const char *why = NULL;
		if (mon_decode(data, size, (enum mon_sender)from, &m, &why)) {
			check(why != NULL && m.password[0] == 0);
			continue;
		}
		check(why == NULL && m.type >= 1 && m.type <= MON_TYPE_MAX);
		check(str_ok(m.user, sizeof(m.user)) && str_ok(m.peer, sizeof(m.peer)) &&
		      str_ok(m.password, sizeof(m.password)) && str_ok(m.keytype, sizeof(m.keytype)));
		check(!m.user[0] || mon_valid_user(m.user, strlen(m.user)));
		check(!m.peer[0] || mon_valid_peer(m.peer, strlen(m.peer)));
		check(!m.keytype[0] || mon_valid_keytype(m.keytype, strlen(m.keytype)));
		/* data points into the datagram, within it */
		check(!m.data || (m.data >= data && m.data + m.len <= data + size));
		size_t k = reencode(&m);
		check(k == SIZE_MAX || (k == size && memcmp(out, data, size) == 0));
		mon_msg_clear(&m);
	}
}

/* Input as fields: a selector byte, a session, then strings cut at '\n'. */
struct fields {
	const uint8_t *p;
	size_t n;
};

static size_t field(struct fields *f, char *dst, size_t cap)
{
	const uint8_t *nl = memchr(f->p, '\n', f->n);
	size_t k = nl ? (size_t)(nl - f->p) : f->n;
	size_t c = k < cap - 1 ? k : cap - 1;
	memcpy(dst, f->p, c);
	dst[c] = 0;
	f->p += nl ? k + 1 : k;
	f->n -= nl ? k + 1 : k;
	return strlen(dst); /* an embedded NUL shortens it, as a C caller's would */
}

static void encode_fields(const uint8_t *data, size_t size)
{
	static char a[MON_PASSWORD_MAX + 8], b[MON_PASSWORD_MAX + 8];
	static struct mon_msg m;
	struct fields f = { data, size };
	uint32_t session = 0;
	const char *why;
	size_t k = 0;

	if (size < 5)
		return;
	uint8_t sel = data[0];
	memcpy(&session, data + 1, 4);
	f.p += 5;
	f.n -= 5;
	size_t an = field(&f, a, sizeof(a)), bn = field(&f, b, sizeof(b));
	const uint8_t *rest = f.p;
	size_t restn = f.n > MON_DATA_MAX + 8 ? MON_DATA_MAX + 8 : f.n;
	uint32_t type = 0;
	enum mon_sender from = MON_FROM_WORKER;
	bool valid = session != 0;

	switch (sel % 8) {
	case 0:
		type = MON_SESSION_OPEN;
		valid = valid && mon_valid_user(a, an) && mon_valid_peer(b, bn);
		k = mon_enc_session_open(out, sizeof(out), session, a, b);
		break;
	case 1:
		type = MON_AUTH_PASSWORD;
		valid = valid && mon_valid_user(a, an) && bn < MON_PASSWORD_MAX;
		k = mon_enc_auth_password(out, sizeof(out), session, a, b);
		break;
	case 2:
		type = MON_AUTH_PUBKEY;
		valid = valid && mon_valid_user(a, an) && mon_valid_keytype(b, bn) && restn >= 1 &&
			restn <= MON_KEYBLOB_MAX;
		k = mon_enc_auth_pubkey(out, sizeof(out), session, sel & 8, a, b, rest, restn);
		break;
	case 3:
		type = MON_AUTH_RESULT;
		from = MON_FROM_MONITOR;
		k = mon_enc_auth_result(out, sizeof(out), session, sel & 8);
		break;
	case 4:
	case 5:
		type = sel % 8 == 4 ? MON_DTCP_DATA : MON_DTCP_REPLY;
		from = type == MON_DTCP_DATA ? MON_FROM_WORKER : MON_FROM_MONITOR;
		valid = valid && restn >= 1 && restn <= MON_DATA_MAX;
		k = mon_enc_data(out, sizeof(out), type, session, rest, restn);
		break;
	case 6: {
		uint32_t kind = sel >> 4;
		type = MON_EVENT;
		valid = kind >= 1 && kind <= MON_EV_KIND_MAX && mon_valid_peer(b, bn);
		k = mon_enc_event(out, sizeof(out), session, kind, b);
		break;
	}
	default: {
		static const uint32_t empty[] = { MON_SESSION_CLOSE, MON_DTCP_EOF, MON_DTCP_CLOSE };
		if ((sel >> 3) % 4 == 3) { /* DTCP_CREDIT: the bytes from the input's rest */
			uint32_t credit = 0;

			if (restn >= 4)
				memcpy(&credit, rest, 4);
			type = MON_DTCP_CREDIT;
			valid = valid && credit >= 1 && credit <= MON_CREDIT_MAX;
			k = mon_enc_credit(out, sizeof(out), session, credit);
			if (k)
				check(mon_decode(out, k, from, &m, &why) == 0 && m.credit == credit);
			break;
		}
		type = empty[(sel >> 3) % 4];
		from = type == MON_DTCP_CLOSE ? MON_FROM_MONITOR : MON_FROM_WORKER;
		k = mon_enc_empty(out, sizeof(out), type, session);
		break;
	}
	}
	check((k != 0) == valid);
	if (!k)
		return;
	check(mon_decode(out, k, from, &m, &why) == 0 && m.type == type && m.session == session);
	/* The other side never accepts it (a monitor type from the worker...). */
	static struct mon_msg o;
	check(mon_decode(out, k, from == MON_FROM_WORKER ? MON_FROM_MONITOR : MON_FROM_WORKER, &o, &why) != 0);
	switch (type) {
	case MON_SESSION_OPEN: check(!strcmp(m.user, a) && !strcmp(m.peer, b)); break;
	case MON_AUTH_PASSWORD: check(!strcmp(m.user, a) && !strcmp(m.password, b)); break;
	case MON_AUTH_PUBKEY:
		check(!strcmp(m.user, a) && !strcmp(m.keytype, b) && m.key_signed == !!(sel & 8) && m.len == restn &&
		      !memcmp(m.data, rest, restn));
		break;
	case MON_AUTH_RESULT: check(m.ok == !!(sel & 8)); break;
	case MON_DTCP_DATA:
	case MON_DTCP_REPLY: check(m.len == restn && !memcmp(m.data, rest, restn)); break;
	case MON_EVENT: check(m.kind == sel >> 4 && !strcmp(m.peer, b)); break;
	}
	mon_msg_clear(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_both(data, size);
	encode_fields(data, size);
	return 0;
}
