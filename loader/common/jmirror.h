// SPDX-License-Identifier: BSD-2-Clause
/* The JMirror header's id words, defined once: xtapd writes them into a
 * content destination's entry (classifier.c), xtap-cd reads an id from the
 * command line the same way to check what arrives (cd_wire.c). */
#ifndef XTAP_JMIRROR_H
#define XTAP_JMIRROR_H

#include <stdbool.h>
#include <stdint.h>

#define JMIRROR_LEN 8 /* two 32-bit words */
/* the version field (0) is the first word's top two bits */
#define JMIRROR_ID_MASK 0x3fffffffu

/* The two words (host order) for an X-MD-Intercept-Id (docs/design.md,
 * delivery): up to 8 significant hex digits, (id, 0); more, (high 32 bits,
 * low 32 bits). Id bits under the version are cleared; returns whether any
 * were set (lost). */
static inline bool jmirror_split(uint64_t id, uint32_t *intercept_word, uint32_t *session_word)
{
	uint32_t hi = id <= 0xffffffffull ? (uint32_t)id : (uint32_t)(id >> 32);

	*intercept_word = hi & JMIRROR_ID_MASK;
	*session_word = id <= 0xffffffffull ? 0 : (uint32_t)id;
	return (hi & ~JMIRROR_ID_MASK) != 0;
}

#endif
