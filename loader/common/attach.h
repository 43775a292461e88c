/* SPDX-License-Identifier: BSD-2-Clause */
/* How xtap attaches to an interface: the configuration names it, the
 * datapath does it. */
#ifndef XTAP_ATTACH_H
#define XTAP_ATTACH_H

enum xtap_attach_mode {
	XTAP_ATTACH_XDP_NATIVE = 0, /* default: XDP in the driver, TC for cloning and egress */
	XTAP_ATTACH_XDP_GENERIC, /* XDP in the stack (drivers without XDP) */
	XTAP_ATTACH_TC, /* TC only: TC ingress classifies itself */
};

#endif
