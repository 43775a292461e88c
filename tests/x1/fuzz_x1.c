/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target for the X1 request path: a body through
 * x1_parse_container, then (when it parses) through the store over the
 * shared criteria table, twice with two ADMFs, and the response formatted.
 * Checks beyond "no crash": every response is well-formed XML whose
 * x1ResponseMessage count is the request's message count; an ErrorResponse
 * carries a code of table 6.7-1; a container that is refused is refused
 * with a fixed reason; the store's state stays consistent with the
 * datapath (every criterion a task holds is installed, nothing else).
 * Every parsed request crosses the worker -> monitor wire first; the input
 * is also decoded as a wire message, which when accepted must write back
 * as the same bytes, and as a state record, likewise; and parsed as an HTTP request head, whose lengths
 * must lie within the input when it is complete. */
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>

#include "shared.h"

static void quiet(void *ctx, const xmlError *e)
{
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void check_response(const struct x1_out *o, size_t nmsg)
{
	xmlDocPtr d;

	if (o->failed)
		abort();
	d = xmlReadMemory(o->p, (int)o->n, NULL, "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!d)
		abort(); /* our own output must be well-formed */
	xmlFreeDoc(d);
	if (count(o->p, "<x1ResponseMessage ") != nmsg)
		abort();
}

static void check_store(const struct x1_shared *sh, const struct x1_store *st)
{
	size_t held = 0;

	for (size_t i = 0; i < st->ntasks; i++) {
		held += st->tasks[i]->ncrit;
		for (uint32_t k = 0; k < st->tasks[i]->ncrit; k++)
			if (!dtcp_server_find(&sh->srv, st->tasks[i]->crit[k]))
				abort();
	}
	if (held != sh->srv.n)
		abort();
	for (size_t i = 0; i < st->ndests; i++) {
		uint32_t users = 0;

		for (size_t t = 0; t < st->ntasks; t++)
			for (int k = 0; k < st->tasks[t]->t.ndids; k++)
				users += !strcmp(st->tasks[t]->admf, st->dests[i]->admf) &&
					!memcmp(st->tasks[t]->t.did[k].b, st->dests[i]->d.did.b, 16);
		if (users != st->dests[i]->users)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct x1_container c;
	struct x1_shared *sh = malloc(sizeof(*sh));
	struct x1_store st;
	const char *why;

	xmlSetStructuredErrorFunc(NULL, (xmlStructuredErrorFunc)quiet);
	{
		struct x1_http_req hr;
		int res = x1_http_parse((const char *)data, size, &hr);

		if ((res == X1_HTTP_REQUEST && (hr.head_len + hr.content_length > size || hr.status != 200)) ||
		    (res == X1_HTTP_ERROR && (hr.status < 400 || hr.status > 505)))
			abort();
	}
	{
		static struct x1_record rec;
		static char line[X1_RECORD_MAX];

		if (!x1_record_parse((const char *)data, size, &rec, &why)) {
			struct x1_task_entry te = { .t = rec.task, .ncrit = rec.ncrit };
			struct x1_dest_entry de = { .d = rec.dest };
			size_t n;

			memcpy(te.admf, rec.admf, sizeof(te.admf));
			memcpy(de.admf, rec.admf, sizeof(de.admf));
			memcpy(te.crit, rec.crit, sizeof(te.crit));
			n = rec.kind == X1_REC_TASK ? x1_record_task(&te, line, sizeof(line)) :
						      x1_record_dest(&de, line, sizeof(line));
			if (n != size || memcmp(line, data, size))
				abort(); /* an accepted record is the one way to write it */
		}
	}
	{
		static struct x1_request wr;
		static uint8_t back[X1_WIRE_MAX];

		if (!x1_wire_decode(data, size, &wr, &why) &&
		    (x1_wire_encode(&wr, back, sizeof(back)) != size || memcmp(back, data, size)))
			abort();
	}
	x1_shared_init(sh, NULL);
	x1_store_init(&st, &sh->ops, sh, "ne-xtap-1");
	if (x1_parse_container(data, size, &c, &why)) {
		if (!why || c.n)
			abort();
	} else {
		static uint8_t w[X1_WIRE_MAX];

		for (size_t i = 0; i < c.n; i++) {
			size_t len = x1_wire_encode(&c.msg[i], w, sizeof(w));

			if (!len || x1_wire_decode(w, len, &c.msg[i], &why))
				abort(); /* every parsed request must cross */
		}
		for (int round = 0; round < 2; round++) {
			struct x1_out o = { 0 };

			for (size_t i = 0; i < c.n; i++)
				if (c.msg[i].error &&
				    (c.msg[i].error < 1000 || c.msg[i].error > 7010 || !c.msg[i].desc))
					abort();
			/* admf-a as the certificate names it, then another ADMF */
			x1_store_handle(&st, round ? "admf-b" : "admf-a", &c, 1767225600000000ull, &o);
			check_response(&o, c.n);
			check_store(sh, &st);
			x1_out_free(&o);
		}
	}
	x1_store_free(&st);
	x1_shared_free(sh);
	free(sh);
	return 0;
}
