/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target: the state loader (loader/xtapd/state.c, xtap_state_load) on a
 * snapshot and journals made of the input: the input up to a line starting
 * "xtap-journal " is the snapshot, the rest (if any) the journal, and from a
 * second such line on path.journal.next (a compaction's), written to files
 * in a private folder of /dev/shm. Per input:
 *  - a refused state leaves the table, the Seq state and the datapath
 *    records empty and says why (docs/state-and-audit.md: nothing applied);
 *  - an accepted one is saved, loaded back and saved again: both loads
 *    succeed with the same criteria, the two files are byte for byte equal
 *    (what load accepts, save writes and load reads back the same), and the
 *    written file is text without control bytes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtcp.h"
#include "memback.h"
#include "state.h"

static char dir[64], snap[128], journal[160], jnext[168], out1[128], out2[128];

#include "fuzzcheck.h"

static void cleanup(void)
{
	unlink(snap);
	unlink(journal);
	unlink(jnext);
	unlink(out1);
	unlink(out2);
	rmdir(dir);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	check(fd >= 0);
	check(n == 0 || write(fd, p, n) == (ssize_t)n);
	close(fd);
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	check(f != NULL);
	check(fseek(f, 0, SEEK_END) == 0);
	long k = ftell(f);
	check(k >= 0);
	rewind(f);
	b = malloc((size_t)k + 1);
	check(b && fread(b, 1, (size_t)k, f) == (size_t)k);
	fclose(f);
	*n = (size_t)k;
	return b;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(dir, sizeof(dir), "/dev/shm/xtap-fuzz-state-%d", (int)getpid());
	check(mkdir(dir, 0700) == 0);
	snprintf(snap, sizeof(snap), "%s/state", dir);
	snprintf(journal, sizeof(journal), "%s/state.journal", dir);
	snprintf(jnext, sizeof(jnext), "%s/state.journal.next", dir);
	snprintf(out1, sizeof(out1), "%s/out1", dir);
	snprintf(out2, sizeof(out2), "%s/out2", dir);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct memback mb;
	struct dtcp_server s, s2;
	struct xtap_state_extra x = { 0 }, x2 = { 0 };
	size_t cut[2] = { size, size };
	int ncut = 0;

	for (size_t i = 1; i + 13 <= size && ncut < 2; i++)
		if (data[i - 1] == '\n' && !memcmp(data + i, "xtap-journal ", 13))
			cut[ncut++] = i;
	if (ncut == 1)
		cut[1] = size;
	write_file(snap, data, cut[0]);
	if (cut[0] < size)
		write_file(journal, data + cut[0], cut[1] - cut[0]);
	else
		unlink(journal);
	if (cut[1] < size)
		write_file(jnext, data + cut[1], size - cut[1]);
	else
		unlink(jnext);

	memback_init(&mb, NULL);
	dtcp_server_init(&s, &mb.cfg, &mb.be, &mb);
	int rc = xtap_state_load(snap, &s, &x);
	check(rc == XTAP_STATE_OK || rc == XTAP_STATE_ERROR);
	if (rc == XTAP_STATE_ERROR) {
		check(s.n == 0 && s.nseq == 0 && x.n == 0 && x.dp == NULL);
		check(x.error[0] != 0 && memchr(x.error, 0, sizeof(x.error)));
		dtcp_server_free(&s);
		return 0;
	}
	/* What was loaded is written whole (a fresh generation: no journal). */
	x.generation = 0;
	check(xtap_state_save(out1, &s, &x) == XTAP_STATE_OK);
	dtcp_server_init(&s2, &mb.cfg, &mb.be, &mb);
	check(xtap_state_load(out1, &s2, &x2) == XTAP_STATE_OK);
	check(s2.n == s.n && s2.nseq == s.nseq && s2.next_id == s.next_id && x2.n == x.n);
	check(xtap_state_save(out2, &s2, &x2) == XTAP_STATE_OK);
	size_t n1, n2;
	char *b1 = slurp(out1, &n1), *b2 = slurp(out2, &n2);
	check(n1 == n2 && memcmp(b1, b2, n1) == 0);
	for (size_t i = 0; i < n1; i++)
		check(b1[i] == '\n' || ((unsigned char)b1[i] >= 0x20 && b1[i] != 0x7f));
	free(b1);
	free(b2);
	xtap_state_extra_free(&x);
	xtap_state_extra_free(&x2);
	dtcp_server_free(&s);
	dtcp_server_free(&s2);
	return 0;
}
