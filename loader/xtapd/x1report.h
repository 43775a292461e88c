/* SPDX-License-Identifier: BSD-2-Clause */
/* NE-to-ADMF issue reports (docs/x1.md "Issue reports"): xtapd exec'd as
 * `--x1-report`, one process per X1Request container, its body on a pipe.
 * It loads the NE's certificate and key and the ADMF CA, drops privileges,
 * POSTs the body over TLS (the ADMF's certificate must name its configured
 * address) and exits 0 when the ADMF answered HTTP 200 without an error. */
#ifndef XTAP_X1REPORT_H
#define XTAP_X1REPORT_H

#define XTAP_X1REPORT_FLAG "--x1-report"
#define XTAP_X1REPORT_BODY_FD 3
#define X1REPORT_BODY_MAX (60 << 10) /* below a pipe's 64 KiB: written whole before the fork */
#define X1REPORT_TIMEOUT_MS 5000 /* connect, handshake, request and answer together */
#define X1REPORT_PATH "/X1/ADMF" /* the ADMF's X1 endpoint (clause 7 names none: the test ADMF's) */

int xtap_x1report_main(int argc, char **argv);

#endif
