/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef XTAP_PRIVDROP_H
#define XTAP_PRIVDROP_H

/* Become `user` for good (uid 0 refused): every capability out of the
 * bounding, effective, permitted, inheritable and ambient sets, no
 * supplementary groups, regaining root tried and refused, no_new_privs.
 * Not root already and running as that user: only the capability and
 * no_new_privs steps. Messages are prefixed with `who`. 0 or -1. */
int xtap_drop_privileges(const char *user, const char *who);

#endif
