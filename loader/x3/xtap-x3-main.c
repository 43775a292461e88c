// SPDX-License-Identifier: BSD-2-Clause
/* xtap-x3 run by hand (docs/x3.md); xtapd runs the same code as
 * `xtapd --x3-delivery` (x3sup.c). */
#include "x3sup.h"

int main(int argc, char **argv)
{
	return xtap_x3_main(argc, argv);
}
