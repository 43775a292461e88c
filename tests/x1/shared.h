/* SPDX-License-Identifier: BSD-2-Clause */
/* The X1 store's criteria in the table DTCP uses, for the X1 tests and
 * fuzzer: what xtapd's monitor does with its dtcp_server and backend, here
 * over the DTCP library's in-memory backend (tests/dtcp/memback.c). An X1
 * criterion takes the next id of the one counter (dtcp_server.next_id), is
 * installed in the datapath, and enters the server's table the way a
 * restored criterion does (dtcp_server_restore), so DTCP's ownership rules
 * apply to it unchanged. */
#ifndef XTAP_X1_SHARED_H
#define XTAP_X1_SHARED_H

#include "memback.h"
#include "x1.h"

struct x1_shared {
	struct memback mb;
	struct dtcp_server srv;
	struct x1_store_ops ops;
	int add_skip, add_fail; /* after add_skip more installs, fail add_fail of them */
};

/* mb's transcript (installs, removes) goes to out (may be NULL). */
void x1_shared_init(struct x1_shared *sh, FILE *out);
void x1_shared_free(struct x1_shared *sh);

#endif
