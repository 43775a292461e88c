/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdio.h>

#include <openssl/err.h>

#include "x3_net.h"

const char *x3_ssl_error(char *buf, size_t n, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (!e) {
		snprintf(buf, n, "%s", fallback);
		return buf;
	}
	ERR_error_string_n(e, buf, n);
	ERR_clear_error();
	return buf;
}
