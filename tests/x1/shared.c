/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdlib.h>
#include <string.h>

#include "shared.h"

static int shared_add(void *ctx, const struct dtcp_criterion *c, uint32_t *id)
{
	struct x1_shared *sh = ctx;
	struct dtcp_criterion *x = malloc(sizeof(*x));
	struct dtcp_entry *e;

	if (!x)
		return -1;
	if (sh->add_skip > 0) {
		sh->add_skip--;
	} else if (sh->add_fail > 0) {
		sh->add_fail--;
		free(x);
		return -1;
	}
	*x = *c;
	x->id = sh->srv.next_id;
	if (!x->id || sh->mb.be.install(&sh->mb, x)) {
		free(x);
		return -1;
	}
	if (!(e = dtcp_entry_new(x)) || dtcp_server_restore(&sh->srv, e)) {
		free(e);
		sh->mb.be.remove(&sh->mb, x->id);
		free(x);
		return -1;
	}
	*id = x->id;
	free(x);
	return 0;
}

static int shared_remove(void *ctx, uint32_t id)
{
	struct x1_shared *sh = ctx;

	if (sh->mb.be.remove(&sh->mb, id))
		return -1;
	free(dtcp_server_take(&sh->srv, id));
	return 0;
}

void x1_shared_init(struct x1_shared *sh, FILE *out)
{
	memset(sh, 0, sizeof(*sh));
	memback_init(&sh->mb, out);
	dtcp_server_init(&sh->srv, &sh->mb.cfg, &sh->mb.be, &sh->mb);
	sh->ops = (struct x1_store_ops){ .crit_add = shared_add, .crit_remove = shared_remove };
}

void x1_shared_free(struct x1_shared *sh)
{
	dtcp_server_free(&sh->srv);
}
