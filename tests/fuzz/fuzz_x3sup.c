/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: what the monitor takes from an X3 delivery process's
 * status pipe (loader/x3/x3sup.c: xtap_x3sup_parse), the one input the monitor
 * gets from that unprivileged process. Per input, split into lines:
 *  - the state stays a known one and the sequence number never goes back
 *    (serial arithmetic), whatever the lines say;
 *  - an audit event, when one is made, is printable ASCII, bounded, names
 *    the destination and one of the four kinds, and at most
 *    XTAP_X3SUP_EVENTS_PER_MIN of them pass in one run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x3sup.h"

#include "fuzzcheck.h"

static int events;

static void on_event(void *ctx, const char *detail)
{
	static const char *const kinds[] = { "connected", "disconnected", "connect-failed", "tls-refused" };
	size_t n = strlen(detail);
	bool known = false;

	(void)ctx;
	events++;
	check(n < 300 && !strncmp(detail, "x3 lea: ", 8));
	for (size_t i = 0; i < n; i++)
		check(detail[i] >= 0x20 && detail[i] < 0x7f);
	for (size_t k = 0; k < 4; k++)
		known = known ||
			(!strncmp(detail + 8, kinds[k], strlen(kinds[k])) && detail[8 + strlen(kinds[k])] == ':');
	check(known);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xtap_x3sup s;
	static struct xtap_x3sup_dest d;
	char line[1024];

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "lea");
	d.pid = 1;
	s.event = on_event;
	events = 0;
	size_t off = 0;
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t n = nl ? (size_t)(nl - (data + off)) : size - off;
		size_t k = n < sizeof(line) - 1 ? n : sizeof(line) - 1; /* the monitor's line bound */
		memcpy(line, data + off, k);
		line[k] = '\0';
		uint32_t before = d.next_seq;
		xtap_x3sup_parse(&s, &d, line);
		check(d.next_seq - before < 0x80000000u);
		check(d.state >= 0 && d.state <= 3);
		check(strlen(xtap_x3sup_state_name(&d)) > 0);
		off += n + 1;
	}
	check(events <= XTAP_X3SUP_EVENTS_PER_MIN);
	return 0;
}
