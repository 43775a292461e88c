/* SPDX-License-Identifier: BSD-2-Clause */
/* The TS 103 280 simple types X1 messages carry, and the error texts. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "uuid.h"
#include "x1.h"

const char *x1_code_text(int code)
{
	switch (code) {
	case X1_OK: return "OK";
	case X1_E_GENERIC: return "Generic error";
	case X1_E_SYNTAX_SCHEMA: return "Syntax or schema error";
	case X1_E_UNSUPPORTED_VERSION: return "Unsupported version";
	case X1_E_ADMF_ID_CERT_MISMATCH: return "ADMF identifier does not match the certificate";
	case X1_E_UNEXPECTED_ADMF: return "Unexpected ADMF identifier";
	case X1_E_UNEXPECTED_NE: return "Unexpected NE identifier";
	case X1_E_UNSUPPORTED_REQUEST: return "Unsupported request";
	case X1_E_XID_EXISTS: return "XID already exists";
	case X1_E_XID_UNKNOWN: return "XID does not exist";
	case X1_E_DID_EXISTS: return "DID already exists";
	case X1_E_DID_UNKNOWN: return "DID does not exist";
	case X1_E_ACTIVATE_FAILURE: return "Generic ActivateTask failure";
	case X1_E_MODIFY_TASK_FAILURE: return "Generic ModifyTask failure";
	case X1_E_UNSUPPORTED_TARGET_TYPE: return "Unsupported targetIdentifier type";
	case X1_E_UNSUPPORTED_TARGET_COMBINATION: return "Unsupported combination of targetIdentifiers";
	case X1_E_MULTIPLE_DESTINATIONS: return "Multiple destinations not supported";
	case X1_E_DELIVERY_COMBINATION: return "Invalid combination of deliveryType and destinations";
	case X1_E_UNSUPPORTED_SERVICE_TYPE: return "Unsupported service type";
	case X1_E_DEACTIVATE_FAILURE: return "Generic DeactivateTask failure";
	case X1_E_DEACTIVATE_ALL_FAILURE: return "Generic DeactivateAllTasks failure";
	case X1_E_DEACTIVATE_ALL_DISABLED: return "DeactivateAllTasks not enabled";
	case X1_E_CREATE_DEST_FAILURE: return "Generic CreateDestination failure";
	case X1_E_MODIFY_DEST_FAILURE: return "Generic ModifyDestination failure";
	case X1_E_UNSUPPORTED_DELIVERY_ADDRESS: return "Unsupported deliveryAddress type";
	case X1_E_REMOVE_DEST_FAILURE: return "Generic RemoveDestination failure";
	case X1_E_DESTINATION_IN_USE: return "Destination in use";
	}
	return "Generic error";
}

static const char *const msg_names[X1_M_N] = {
	[X1_M_ACTIVATE_TASK] = "ActivateTask",
	[X1_M_MODIFY_TASK] = "ModifyTask",
	[X1_M_DEACTIVATE_TASK] = "DeactivateTask",
	[X1_M_DEACTIVATE_ALL_TASKS] = "DeactivateAllTasks",
	[X1_M_GET_TASK_DETAILS] = "GetTaskDetails",
	[X1_M_CREATE_DESTINATION] = "CreateDestination",
	[X1_M_MODIFY_DESTINATION] = "ModifyDestination",
	[X1_M_REMOVE_DESTINATION] = "RemoveDestination",
	[X1_M_GET_DESTINATION_DETAILS] = "GetDestinationDetails",
	[X1_M_GET_ALL_DETAILS] = "GetAllDetails",
	[X1_M_LIST_ALL_DETAILS] = "ListAllDetails",
	[X1_M_PING] = "Ping",
	[X1_M_KEEPALIVE] = "Keepalive",
};

const char *x1_msg_name(enum x1_msg_type t)
{
	return t > X1_M_NONE && t < X1_M_N && msg_names[t] ? msg_names[t] : NULL;
}

const char *x1_delivery_name(enum x1_delivery d)
{
	switch (d) {
	case X1_DT_X2_ONLY: return "X2Only";
	case X1_DT_X3_ONLY: return "X3Only";
	case X1_DT_X2_AND_X3: return "X2andX3";
	default: return NULL;
	}
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

_Static_assert(X1_UUID_LEN == XTAP_UUID_TEXT_LEN + 1, "X1_UUID_LEN is the text form and its NUL");

int x1_parse_uuid(const char *s, size_t n, struct x1_uuid *out)
{
	return xtap_uuid_parse(s, n, out->b);
}

void x1_format_uuid(const struct x1_uuid *u, char out[X1_UUID_LEN])
{
	xtap_uuid_format(u->b, out);
}

/* 103 280's IPv4Address pattern: each octet 25[0-5] | 2[0-4][0-9] |
 * [01]?[0-9]?[0-9], so up to three decimal digits, leading zeros allowed
 * (and read as decimal, never octal). */
int x1_parse_ipv4(const char *s, size_t n, uint8_t out[4])
{
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		unsigned v = 0, digits = 0;

		if (k && (i >= n || s[i++] != '.'))
			return -1;
		while (i < n && is_digit(s[i]) && digits < 3) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (!digits || v > 255)
			return -1;
		out[k] = (uint8_t)v;
	}
	return i == n ? 0 : -1;
}

int x1_parse_ipv6(const char *s, size_t n, uint8_t out[16])
{
	if (n != 39)
		return -1;
	for (int g = 0; g < 8; g++) {
		const char *p = s + g * 5;
		int v[4];

		if (g && p[-1] != ':')
			return -1;
		for (int j = 0; j < 4; j++)
			if ((v[j] = xtap_hexval(p[j])) < 0)
				return -1;
		out[2 * g] = (uint8_t)(v[0] << 4 | v[1]);
		out[2 * g + 1] = (uint8_t)(v[2] << 4 | v[3]);
	}
	return 0;
}

int x1_parse_cidr(const char *s, size_t n, int family, uint8_t out[16], uint8_t *plen)
{
	const char *slash = memchr(s, '/', n);
	unsigned max = family == DTCP_AF_INET6 ? 128 : 32, v = 0;
	size_t alen, digits;

	if (!slash)
		return -1;
	alen = (size_t)(slash - s);
	digits = n - alen - 1;
	memset(out, 0, 16);
	if (family == DTCP_AF_INET6 ? x1_parse_ipv6(s, alen, out) : x1_parse_ipv4(s, alen, out))
		return -1;
	/* 103 280 IPv4CIDR / IPv6CIDR: the length without leading zeros */
	if (!digits || digits > 3 || (digits > 1 && slash[1] == '0'))
		return -1;
	for (size_t i = 1; i <= digits; i++) {
		if (!is_digit(slash[i]))
			return -1;
		v = v * 10 + (unsigned)(slash[i] - '0');
	}
	if (v > max)
		return -1;
	*plen = (uint8_t)v;
	return 0;
}

void x1_format_addr(int family, const uint8_t a[16], char *out, size_t cap)
{
	if (family == DTCP_AF_INET6)
		snprintf(out, cap, "%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x", a[0],
			 a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14],
			 a[15]);
	else
		snprintf(out, cap, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

/* TS 103 280 TCPPort / UDPPort: an xs:integer from 0 to 65535. Its lexical
 * form may have a sign and leading zeros; xtap takes digits only, at most
 * five of them (a sign or padding is not what any ADMF sends). */
int x1_parse_port(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;

	if (!n || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int num(const char *s, int digits, int lo, int hi)
{
	int v = 0;

	for (int i = 0; i < digits; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v < lo || v > hi ? -1 : v;
}

int x1_check_timestamp(const char *s, size_t n)
{
	/* YYYY-MM-DDThh:mm:ss.uuuuuu (26) then Z (27) or +hh:mm (32) */
	if (n != 27 && n != 32)
		return -1;
	if (num(s, 4, 0, 9999) < 0 || s[4] != '-' || num(s + 5, 2, 1, 12) < 0 || s[7] != '-' ||
	    num(s + 8, 2, 1, 31) < 0 || s[10] != 'T' || num(s + 11, 2, 0, 23) < 0 || s[13] != ':' ||
	    num(s + 14, 2, 0, 59) < 0 || s[16] != ':' || num(s + 17, 2, 0, 60) < 0 || s[19] != '.' ||
	    num(s + 20, 6, 0, 999999) < 0)
		return -1;
	if (n == 27)
		return s[26] == 'Z' ? 0 : -1;
	if ((s[26] != '+' && s[26] != '-') || num(s + 27, 2, 0, 14) < 0 || s[29] != ':' || num(s + 30, 2, 0, 59) < 0)
		return -1;
	return 0;
}

void x1_format_time(uint64_t us, char out[X1_TIME_LEN])
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	/* the fields' ranges told to the compiler (gmtime_r's are within
	 * them): at most 32 bytes, no -Wformat-truncation at -O2 */
	snprintf(out, X1_TIME_LEN, "%04u-%02u-%02uT%02u:%02u:%02u.%06uZ", (unsigned)(tm.tm_year + 1900) % 10000,
		 (unsigned char)(tm.tm_mon + 1), (unsigned char)tm.tm_mday, (unsigned char)tm.tm_hour,
		 (unsigned char)tm.tm_min, (unsigned char)tm.tm_sec, (unsigned)(us % 1000000));
}

static int version_part(const char *s, size_t n, size_t *i, unsigned *v)
{
	size_t start = *i;

	*v = 0;
	while (*i < n && is_digit(s[*i]) && *i - start < 3)
		*v = *v * 10 + (unsigned)(s[(*i)++] - '0');
	return *i == start || *v > 255 ? -1 : 0;
}

int x1_parse_version(const char *s, size_t n, unsigned *major, unsigned *minor, unsigned *patch)
{
	size_t i = 1;

	if (n < 6 || s[0] != 'v')
		return -1;
	if (version_part(s, n, &i, major) || i >= n || s[i++] != '.' || version_part(s, n, &i, minor) || i >= n ||
	    s[i++] != '.' || version_part(s, n, &i, patch))
		return -1;
	return i == n ? 0 : -1;
}
