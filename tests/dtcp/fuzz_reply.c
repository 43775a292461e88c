/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: reply formatting and reply parsing.
 *  1. the input read as reply fields (code, version, SEQ, ID, count, an
 *     item, LIST blocks) -> dtcp_reply_format -> dtcp_reply_parse must give
 *     the same code, version and SEQ and a good signature;
 *  2. the raw input parsed as a reply, as the client does with what a
 *     server sends. */
#include <stdlib.h>
#include <string.h>

#include "dtcp.h"
#include "../../dtcp/internal.h"

static uint64_t take(const uint8_t **p, size_t *n, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
		v = v << 8 | **p;
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dtcp_reply_view v;
	static char out[DTCP_REPLY_SOFT_MAX * 2];
	static char blocks[DTCP_REPLY_SOFT_MAX];
	const uint8_t *p = data;
	size_t n = size;
	struct dtcp_error item;

	dtcp_reply_parse((const char *)data, size, "Juniper", 7, &v);

	uint64_t flags = take(&p, &n, 1);
	struct dtcp_reply r = {
		.version = 6 + (int)(take(&p, &n, 1) % 3),
		.code = 200 + (int)(take(&p, &n, 2) % 800),
		.has_seq = flags & 1,
		.seq = take(&p, &n, 8),
		.now_ms = take(&p, &n, 6),
		.has_criteria_id = flags & 2,
		.criteria_id = (uint32_t)take(&p, &n, 4),
		.has_count = flags & 4,
		.count = take(&p, &n, 8),
	};
	size_t il = (size_t)take(&p, &n, 1);
	if (il > n)
		il = n;
	/* Items are made by dtcp_error_set in the library: same here. */
	dtcp_error_set(&item, r.code, "X-ITEM", 6, (const char *)p, il);
	p += il;
	n -= il;
	if (flags & 8)
		r.item = item.item;
	if (flags & 16) {
		/* Blocks are "NAME: value" CRLF lines the server formats. */
		size_t b = 0;
		for (size_t i = 0; i < n && b + 3 < sizeof(blocks); i++) {
			char c = (char)p[i];
			if (c == '\n') {
				blocks[b++] = '\r';
				blocks[b++] = '\n';
			} else if ((unsigned char)c >= 0x20 && c != 0x7f) {
				blocks[b++] = c;
			}
		}
		if (b >= 2 && blocks[b - 1] == '\n' && memchr(blocks, ':', b)) {
			r.blocks = blocks;
			r.blocks_len = b;
		}
	}
	size_t k = dtcp_reply_format(&r, "Juniper", 7, out, sizeof(out));
	if (k == 0)
		return 0;
	if (dtcp_reply_parse(out, k, "Juniper", 7, &v) != 0 || v.code != r.code || v.version != r.version)
		abort();
	/* SEQ and the signature hold unless a block line smuggles a SEQ, an
	 * empty line or an early Authentication-Info, which the server's
	 * blocks never contain. */
	if (!r.blocks && (!v.signature_ok || v.has_seq != r.has_seq || (r.has_seq && v.seq != r.seq)))
		abort();
	return 0;
}
