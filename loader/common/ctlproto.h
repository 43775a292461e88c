/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The local control protocol's constants (docs/xtapctl.md): all xtapctl
 * needs to speak to xtapd, and nothing of the daemon's or datapath's state.
 * One request line, newline-terminated; the answer is a status line ("OK" or
 * "ERROR: reason") then the body, until xtapd closes the connection.
 */
#ifndef XTAP_CTLPROTO_H
#define XTAP_CTLPROTO_H

#define XTAP_CTL_SOCKET "/run/xtap/xtapd.ctl"
/* One request line, newline included: a few words ("--json --reveal show
 * filter index 4294967295 counters" is 55 bytes). */
#define XTAP_CTL_REQ_MAX 256
/* Words of a request; the longest command has 5. */
#define XTAP_CTL_WORDS_MAX 8
/* Largest answer: with --reveal a criterion costs up to DTCP_GIVEN_MAX bytes
 * of fields, so 64 MiB hold ~16000 revealed criteria and far more without;
 * a larger answer is refused with an error naming the narrower command. */
#define XTAP_CTL_ANSWER_MAX (64u << 20)

#endif
