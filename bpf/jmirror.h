/* SPDX-License-Identifier: BSD-2-Clause */
/* The JMirror header (docs/delivery.md): two 32-bit words between the outer
 * UDP header and the intercepted packet, version 0 in the first word's top
 * two bits, the intercept id and session id from X-MD-Intercept-Id. The
 * loader computes both words (loader/common/jmirror.h); the copy only carries them. */
#ifndef XTAP_BPF_JMIRROR_H
#define XTAP_BPF_JMIRROR_H

#include "maps.h"

#define JMIRROR_LEN 8

/* Writes d's header at j; the caller has checked j + JMIRROR_LEN. */
static __always_inline void jmirror_write(void *j, const struct xtap_cdest *d)
{
	__be32 *w = j;

	w[0] = d->jm_word0;
	w[1] = d->jm_word1;
}

#endif
