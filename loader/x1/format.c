/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Typed responses -> an X1Response (ResponseContainer, TS 103 221-1 clause
 * 6.1) or an X1TopLevelErrorResponse. Elements in schema order, text
 * escaped, the X1 namespace as the default one and TS 103 280's as "etsi"
 * (its types are elementFormDefault qualified).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "x1.h"

void x1_out_free(struct x1_out *o)
{
	free(o->p);
	memset(o, 0, sizeof(*o));
}

static void put(struct x1_out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->n + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *p;

		while (cap < o->n + n + 1)
			cap *= 2;
		if (cap > X1_OUT_MAX || !(p = realloc(o->p, cap))) {
			o->failed = true;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
	o->p[o->n] = 0;
}

static void puts_(struct x1_out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void indent(struct x1_out *o, int depth)
{
	static const char sp[] = "                                ";

	put(o, sp, (size_t)(depth * 2) < sizeof(sp) - 1 ? (size_t)depth * 2 : sizeof(sp) - 1);
}

static void escaped(struct x1_out *o, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': puts_(o, "&lt;"); break;
		case '>': puts_(o, "&gt;"); break;
		case '&': puts_(o, "&amp;"); break;
		case '"': puts_(o, "&quot;"); break;
		case '\'': puts_(o, "&apos;"); break;
		default: put(o, s, 1);
		}
	}
}

static void open_(struct x1_out *o, int depth, const char *name)
{
	indent(o, depth);
	puts_(o, "<");
	puts_(o, name);
	puts_(o, ">\n");
}

/* <name/> for a list with nothing in it, else <name> (closed by the caller). */
static bool open_list(struct x1_out *o, int depth, const char *name, size_t n)
{
	if (n)
		open_(o, depth, name);
	else {
		indent(o, depth);
		puts_(o, "<");
		puts_(o, name);
		puts_(o, "/>\n");
	}
	return n != 0;
}

static void close_(struct x1_out *o, int depth, const char *name)
{
	indent(o, depth);
	puts_(o, "</");
	puts_(o, name);
	puts_(o, ">\n");
}

static void leaf(struct x1_out *o, int depth, const char *name, const char *text)
{
	indent(o, depth);
	puts_(o, "<");
	puts_(o, name);
	puts_(o, ">");
	escaped(o, text);
	puts_(o, "</");
	puts_(o, name);
	puts_(o, ">\n");
}

static void leaff(struct x1_out *o, int depth, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void leaff(struct x1_out *o, int depth, const char *name, const char *fmt, ...)
{
	char b[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	leaf(o, depth, name, b);
}

static void leaf_uuid(struct x1_out *o, int depth, const char *name, const struct x1_uuid *u)
{
	char b[X1_UUID_LEN];

	x1_format_uuid(u, b);
	leaf(o, depth, name, b);
}

#define NS_DECLS " xmlns=\"" X1_NS "\" xmlns:etsi=\"" X1_NS_COMMON "\" xmlns:xsi=\"" X1_NS_XSI "\""

void x1_format_begin(struct x1_out *o)
{
	puts_(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<X1Response" NS_DECLS ">\n");
}

int x1_format_end(struct x1_out *o)
{
	puts_(o, "</X1Response>\n");
	return o->failed ? -1 : 0;
}

static void envelope(struct x1_out *o, const struct x1_ne *ne, const struct x1_envelope *env)
{
	char t[X1_TIME_LEN];

	x1_format_time(ne->now_us, t);
	leaf(o, 2, "admfIdentifier", env->admf);
	leaf(o, 2, "neIdentifier", ne->ne);
	leaf(o, 2, "messageTimestamp", t);
	leaf(o, 2, "version", env->version);
	leaf_uuid(o, 2, "x1TransactionId", &env->txid);
}

/* TS 103 280 IPAddress then Port, as ipAddressPort and ipAddressAndPort hold them. */
static void address_port(struct x1_out *o, int d, int family, const uint8_t addr[16], int proto, uint16_t port)
{
	char a[64];

	x1_format_addr(family, addr, a, sizeof(a));
	open_(o, d, "etsi:address");
	leaf(o, d + 1, family == DTCP_AF_INET6 ? "etsi:IPv6Address" : "etsi:IPv4Address", a);
	close_(o, d, "etsi:address");
	open_(o, d, "etsi:port");
	leaff(o, d + 1, proto == X1_TR_UDP ? "etsi:UDPPort" : "etsi:TCPPort", "%u", port);
	close_(o, d, "etsi:port");
}

static void target(struct x1_out *o, int d, const struct x1_target *t)
{
	char a[64];
	const char *range = t->kind == X1_T_UDP_PORT_RANGE ? "udpPortRange" : "tcpPortRange";

	x1_format_addr(t->family, t->addr, a, sizeof(a));
	open_(o, d, "targetIdentifier");
	switch (t->kind) {
	case X1_T_IPV4_ADDRESS: leaf(o, d + 1, "ipv4Address", a); break;
	case X1_T_IPV6_ADDRESS: leaf(o, d + 1, "ipv6Address", a); break;
	case X1_T_IPV4_CIDR:
	case X1_T_IPV6_CIDR:
		leaff(o, d + 1, t->kind == X1_T_IPV4_CIDR ? "ipv4Cidr" : "ipv6Cidr", "%s/%u", a, t->plen);
		break;
	case X1_T_TCP_PORT:
	case X1_T_UDP_PORT: leaff(o, d + 1, t->kind == X1_T_TCP_PORT ? "tcpPort" : "udpPort", "%u", t->port_lo); break;
	case X1_T_TCP_PORT_RANGE:
	case X1_T_UDP_PORT_RANGE:
		open_(o, d + 1, range);
		leaff(o, d + 2, "etsi:start", "%u", t->port_lo);
		leaff(o, d + 2, "etsi:end", "%u", t->port_hi);
		close_(o, d + 1, range);
		break;
	case X1_T_IP_ADDRESS_PORT:
		open_(o, d + 1, "ipAddressPort");
		address_port(o, d + 2, t->family, t->addr, t->proto, t->port_lo);
		close_(o, d + 1, "ipAddressPort");
		break;
	}
	close_(o, d, "targetIdentifier");
}

/* TaskDetails (clause 6.2.1.2) in schema order, as the task was given. */
static void task_details(struct x1_out *o, int d, const struct x1_task *t)
{
	open_(o, d, "taskDetails");
	leaf_uuid(o, d + 1, "xId", &t->xid);
	open_(o, d + 1, "targetIdentifiers");
	for (int i = 0; i < t->ntargets; i++)
		target(o, d + 2, &t->target[i]);
	close_(o, d + 1, "targetIdentifiers");
	leaf(o, d + 1, "deliveryType", x1_delivery_name(t->delivery));
	if (open_list(o, d + 1, "listOfDIDs", t->ndids)) {
		for (int i = 0; i < t->ndids; i++)
			leaf_uuid(o, d + 2, "dId", &t->did[i]);
		close_(o, d + 1, "listOfDIDs");
	}
	if (t->has_correlation)
		leaff(o, d + 1, "correlationID", "%llu", (unsigned long long)t->correlation);
	if (t->has_implicit)
		leaf(o, d + 1, "implicitDeactivationAllowed", t->implicit_deactivation ? "true" : "false");
	if (t->has_product)
		leaf_uuid(o, d + 1, "productID", &t->product);
	close_(o, d, "taskDetails");
}

/* A taskStatus or destinationStatus: its one state and no fault. */
static void status_no_fault(struct x1_out *o, int d, const char *status, const char *state, const char *value)
{
	open_(o, d, status);
	leaf(o, d + 1, state, value);
	open_list(o, d + 1, "listOfFaults", 0);
	close_(o, d, status);
}

/* An answered task is in the datapath: provisioningStatus complete, no fault. */
static void task_response(struct x1_out *o, int d, const struct x1_task *t)
{
	open_(o, d, "taskResponseDetails");
	task_details(o, d + 1, t);
	status_no_fault(o, d + 1, "taskStatus", "provisioningStatus", "complete");
	close_(o, d, "taskResponseDetails");
}

static void destination_details(struct x1_out *o, int d, const struct x1_destination *x)
{
	open_(o, d, "destinationDetails");
	leaf_uuid(o, d + 1, "dId", &x->did);
	if (x->friendly[0])
		leaf(o, d + 1, "friendlyName", x->friendly);
	leaf(o, d + 1, "deliveryType", x1_delivery_name(x->delivery));
	open_(o, d + 1, "deliveryAddress");
	open_(o, d + 2, "ipAddressAndPort");
	address_port(o, d + 3, x->family, x->addr, x->transport, x->port);
	close_(o, d + 2, "ipAddressAndPort");
	close_(o, d + 1, "deliveryAddress");
	close_(o, d, "destinationDetails");
}

/* activeAndWorking, or deliveryFault when the daemon says its delivery is
 * down (docs/x1.md "Delivery over X3"); no fault entry either way. */
static void destination_response(struct x1_out *o, const struct x1_ne *ne, int d, const struct x1_destination *x)
{
	open_(o, d, "destinationResponseDetails");
	destination_details(o, d + 1, x);
	status_no_fault(o, d + 1, "destinationStatus", "destinationDeliveryStatus",
			ne->dest_fault && ne->dest_fault(ne->ctx, ne->admf ? ne->admf : "", &x->did) ?
				"deliveryFault" :
				"activeAndWorking");
	close_(o, d, "destinationResponseDetails");
}

void x1_format_response(struct x1_out *o, const struct x1_ne *ne, const struct x1_response *r)
{
	const char *name = x1_msg_name(r->type);

	indent(o, 1);
	if (r->error) {
		puts_(o, "<x1ResponseMessage xsi:type=\"ErrorResponse\">\n");
		envelope(o, ne, &r->env);
		leaf(o, 2, "requestMessageType", r->type_name ? r->type_name : name);
		open_(o, 2, "errorInformation");
		leaff(o, 3, "errorCode", "%d", r->error);
		leaf(o, 3, "errorDescription", r->desc ? r->desc : x1_code_text(r->error));
		close_(o, 2, "errorInformation");
		close_(o, 1, "x1ResponseMessage");
		return;
	}
	puts_(o, "<x1ResponseMessage xsi:type=\"");
	puts_(o, name);
	puts_(o, "Response\">\n");
	envelope(o, ne, &r->env);
	switch (r->type) {
	case X1_M_GET_TASK_DETAILS: task_response(o, 2, r->task); break;
	case X1_M_GET_DESTINATION_DETAILS: destination_response(o, ne, 2, r->dest); break;
	case X1_M_GET_ALL_DETAILS:
		open_(o, 2, "neStatusDetails");
		leaf(o, 3, "neStatus", "OK");
		open_list(o, 3, "listOfFaults", 0);
		close_(o, 2, "neStatusDetails");
		if (open_list(o, 2, "listOfTaskResponseDetails", r->ntasks)) {
			for (size_t i = 0; i < r->ntasks; i++)
				task_response(o, 3, r->tasks[i]);
			close_(o, 2, "listOfTaskResponseDetails");
		}
		if (open_list(o, 2, "listOfDestinationResponseDetails", r->ndests)) {
			for (size_t i = 0; i < r->ndests; i++)
				destination_response(o, ne, 3, r->dests[i]);
			close_(o, 2, "listOfDestinationResponseDetails");
		}
		break;
	case X1_M_LIST_ALL_DETAILS:
		/* the schema writes these two with a capital L (ListAllDetailsResponse) */
		if (open_list(o, 2, "ListOfXIDs", r->ntasks)) {
			for (size_t i = 0; i < r->ntasks; i++)
				leaf_uuid(o, 3, "xId", &r->tasks[i]->xid);
			close_(o, 2, "ListOfXIDs");
		}
		if (open_list(o, 2, "ListOfDIDs", r->ndests)) {
			for (size_t i = 0; i < r->ndests; i++)
				leaf_uuid(o, 3, "dId", &r->dests[i]->did);
			close_(o, 2, "ListOfDIDs");
		}
		break;
	default:
		/* everything else is done before the answer: AcknowledgedAndCompleted */
		leaf(o, 2, "oK", "AcknowledgedAndCompleted");
	}
	close_(o, 1, "x1ResponseMessage");
}

int x1_format_top_level_error(struct x1_out *o, const struct x1_ne *ne, const char *admf)
{
	char t[X1_TIME_LEN];

	x1_format_time(ne->now_us, t);
	puts_(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<X1TopLevelErrorResponse" NS_DECLS ">\n");
	if (admf && admf[0])
		leaf(o, 1, "admfIdentifier", admf);
	leaf(o, 1, "neIdentifier", ne->ne);
	leaf(o, 1, "messageTimestamp", t);
	leaf(o, 1, "version", X1_VERSION);
	puts_(o, "</X1TopLevelErrorResponse>\n");
	return o->failed ? -1 : 0;
}

/* ---- NE-to-ADMF issue reports (clause 6.5) ---- */

const char *x1_report_type_name(int type)
{
	switch (type) {
	case X1_RT_ALL_CLEAR: return "AllClear";
	case X1_RT_WARNING: return "Warning";
	case X1_RT_NON_TERMINATING_FAULT: return "NonTerminatingFault";
	case X1_RT_TERMINATING_FAULT: return "TerminatingFault";
	default: return NULL;
	}
}

int x1_format_reports(struct x1_out *o, const char *admf, const char *ne, uint64_t now_us, const struct x1_uuid *txid,
		      const struct x1_report *r, size_t n)
{
	char t[X1_TIME_LEN];

	x1_format_time(now_us, t);
	puts_(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<X1Request" NS_DECLS ">\n");
	for (size_t i = 0; i < n; i++) {
		const char *type = x1_report_type_name(r[i].type);
		bool task = r[i].kind == X1_R_TASK;

		if (!type || (!task && r[i].kind != X1_R_DEST)) {
			o->failed = true;
			break;
		}
		indent(o, 1);
		puts_(o,
		      task ? "<x1RequestMessage xsi:type=\"ReportTaskIssueRequest\">\n" :
			     "<x1RequestMessage xsi:type=\"ReportDestinationIssueRequest\">\n");
		leaf(o, 2, "admfIdentifier", admf);
		leaf(o, 2, "neIdentifier", ne);
		leaf(o, 2, "messageTimestamp", t);
		leaf(o, 2, "version", X1_VERSION);
		leaf_uuid(o, 2, "x1TransactionId", &txid[i]);
		/* clause 6.5.2 / 6.5.3: the id, the report type, the details (the
		 * optional error code is not sent) */
		leaf_uuid(o, 2, task ? "xId" : "dId", &r[i].id);
		leaf(o, 2, task ? "taskReportType" : "destinationReportType", type);
		if (r[i].details[0])
			leaf(o, 2, task ? "taskIssueDetails" : "destinationIssueDetails", r[i].details);
		close_(o, 1, "x1RequestMessage");
	}
	puts_(o, "</X1Request>\n");
	return o->failed ? -1 : 0;
}
