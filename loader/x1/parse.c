/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * X1Request (TS 103 221-1 clause 6.1, RequestContainer) -> typed requests.
 *
 * libxml2 parses the body into a tree with the network off, no DTD loaded or
 * kept (a document with a DOCTYPE is refused before parsing: it is the only
 * way to declare an entity), no entity substitution beyond the five
 * predefined ones, and the body bounded by X1_BODY_MAX. The tree is then
 * walked against the subset of the schema xtap implements: every element in
 * its sequence order, in its namespace, no unexpected element, attribute or
 * text. What the schema allows but xtap does not do is answered with the
 * specific code (3010, 3050, 6020, ...), never silently narrowed.
 */
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include "x1.h"

#define TEXT_MAX 512 /* longest simple value read: friendlyName and identifiers are shorter */

/* ---- tree walking ----------------------------------------------------------- */

struct seq {
	xmlNodePtr next; /* the next child not yet looked at */
	bool bad; /* a child that no sequence allows (text, CDATA, entity) */
};

static bool blank(const xmlChar *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

static void seq_init(struct seq *q, xmlNodePtr parent)
{
	q->next = parent->children;
	q->bad = false;
}

/* The next element child, without taking it. */
static xmlNodePtr seq_peek(struct seq *q)
{
	for (; q->next; q->next = q->next->next) {
		switch (q->next->type) {
		case XML_ELEMENT_NODE: return q->next;
		case XML_TEXT_NODE:
			if (!blank(q->next->content))
				q->bad = true;
			break;
		case XML_COMMENT_NODE:
		case XML_PI_NODE: break;
		default: q->bad = true;
		}
	}
	return NULL;
}

static bool in_ns(xmlNodePtr n, const char *ns)
{
	return n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

static bool is_elem(xmlNodePtr n, const char *ns, const char *name)
{
	return n && in_ns(n, ns) && strcmp((const char *)n->name, name) == 0;
}

/* Takes the next element if it is ns:name (an optional or a required one). */
static xmlNodePtr seq_take(struct seq *q, const char *ns, const char *name)
{
	xmlNodePtr n = seq_peek(q);

	if (!is_elem(n, ns, name))
		return NULL;
	q->next = n->next;
	return n;
}

/* True when nothing but blanks and comments is left. */
static bool seq_end(struct seq *q)
{
	return !seq_peek(q) && !q->bad;
}

/* The text of a simple element, whitespace-trimmed (the schema types here
 * are tokens and patterns), into buf. -1: an element child, an attribute,
 * or longer than cap - 1. */
static int text_of(xmlNodePtr e, char *buf, size_t cap)
{
	size_t n = 0, start = 0;

	if (e->properties)
		return -1;
	for (xmlNodePtr c = e->children; c; c = c->next) {
		size_t len;

		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			return -1;
		len = c->content ? strlen((const char *)c->content) : 0;
		if (len >= cap - n)
			return -1;
		memcpy(buf + n, c->content, len);
		n += len;
	}
	while (n && strchr(" \t\r\n", buf[n - 1]))
		n--;
	while (start < n && strchr(" \t\r\n", buf[start]))
		start++;
	memmove(buf, buf + start, n - start);
	n -= start;
	buf[n] = 0;
	return (int)n;
}

/* ---- errors -------------------------------------------------------------------- */

static int fail(struct x1_request *r, int code, const char *desc)
{
	if (!r->error) {
		r->error = code;
		r->desc = desc;
	}
	return -1;
}

static int schema(struct x1_request *r, const char *desc)
{
	return fail(r, X1_E_SYNTAX_SCHEMA, desc);
}

/* The code a task field xtap does not do gets: 3000 or 3001 after the message. */
static int task_refuse(struct x1_request *r, const char *desc)
{
	return fail(r, r->type == X1_M_MODIFY_TASK ? X1_E_MODIFY_TASK_FAILURE : X1_E_ACTIVATE_FAILURE, desc);
}

static int dest_refuse(struct x1_request *r, int code, const char *desc)
{
	if (code == X1_E_CREATE_DEST_FAILURE && r->type == X1_M_MODIFY_DESTINATION)
		code = X1_E_MODIFY_DEST_FAILURE;
	return fail(r, code, desc);
}

/* ---- simple values -------------------------------------------------------------- */

static int read_uuid(struct x1_request *r, xmlNodePtr e, struct x1_uuid *u, const char *desc)
{
	char b[TEXT_MAX];
	int n = e ? text_of(e, b, sizeof(b)) : -1;

	if (n < 0 || x1_parse_uuid(b, (size_t)n, u))
		return schema(r, desc);
	return 0;
}

/* LIIdentifier (admfIdentifier, neIdentifier): a non-empty string without
 * control characters, at most X1_ID_MAX - 1 bytes (xtap's bound: the ADMF
 * becomes a control source name). */
static int read_id(xmlNodePtr e, char out[X1_ID_MAX])
{
	char b[TEXT_MAX];
	int n = text_of(e, b, sizeof(b));

	if (n <= 0 || n >= X1_ID_MAX)
		return -1;
	for (int i = 0; i < n; i++)
		if ((unsigned char)b[i] < 0x20 || b[i] == 0x7f)
			return -1;
	memcpy(out, b, (size_t)n + 1);
	return 0;
}

static int read_delivery(struct x1_request *r, xmlNodePtr e, uint8_t *out)
{
	char b[TEXT_MAX];
	int n = e ? text_of(e, b, sizeof(b)) : -1;

	if (n < 0)
		return schema(r, "deliveryType missing or not text");
	for (int d = X1_DT_X2_ONLY; d <= X1_DT_X2_AND_X3; d++)
		if (strcmp(b, x1_delivery_name(d)) == 0) {
			*out = (uint8_t)d;
			return 0;
		}
	return schema(r, "deliveryType not X2Only, X3Only or X2andX3");
}

static int read_port(xmlNodePtr e, uint16_t *out)
{
	char b[TEXT_MAX];
	int n = e ? text_of(e, b, sizeof(b)) : -1;

	return n < 0 || x1_parse_port(b, (size_t)n, out) ? -1 : 0;
}

/* TS 103 280 IPAddress: a choice of IPv4Address and IPv6Address. */
static int read_ip_address(xmlNodePtr e, uint8_t *family, uint8_t addr[16])
{
	struct seq q;
	xmlNodePtr a;
	char b[TEXT_MAX];
	int n;

	if (!e || e->properties)
		return -1;
	seq_init(&q, e);
	memset(addr, 0, 16);
	if ((a = seq_take(&q, X1_NS_COMMON, "IPv4Address"))) {
		*family = DTCP_AF_INET;
		if ((n = text_of(a, b, sizeof(b))) < 0 || x1_parse_ipv4(b, (size_t)n, addr))
			return -1;
	} else if ((a = seq_take(&q, X1_NS_COMMON, "IPv6Address"))) {
		*family = DTCP_AF_INET6;
		if ((n = text_of(a, b, sizeof(b))) < 0 || x1_parse_ipv6(b, (size_t)n, addr))
			return -1;
	} else {
		return -1;
	}
	return seq_end(&q) ? 0 : -1;
}

/* TS 103 280 Port: a choice of TCPPort and UDPPort. */
static int read_port_choice(xmlNodePtr e, uint8_t *proto, uint16_t *port)
{
	struct seq q;
	xmlNodePtr p;

	if (!e || e->properties)
		return -1;
	seq_init(&q, e);
	if ((p = seq_take(&q, X1_NS_COMMON, "TCPPort")))
		*proto = X1_TR_TCP;
	else if ((p = seq_take(&q, X1_NS_COMMON, "UDPPort")))
		*proto = X1_TR_UDP;
	else
		return -1;
	return read_port(p, port) || !seq_end(&q) ? -1 : 0;
}

/* TS 103 280 IPAddressPort: address, port. */
static int read_address_port(xmlNodePtr e, uint8_t *family, uint8_t addr[16], uint8_t *proto, uint16_t *port)
{
	struct seq q;

	if (e->properties)
		return -1;
	seq_init(&q, e);
	if (read_ip_address(seq_take(&q, X1_NS_COMMON, "address"), family, addr) ||
	    read_port_choice(seq_take(&q, X1_NS_COMMON, "port"), proto, port))
		return -1;
	return seq_end(&q) ? 0 : -1;
}

/* ---- targetIdentifier (clause 6.2.1.3; the IP kinds of TS 103 280) ------------- */

static const struct {
	const char *name;
	uint8_t kind;
} target_kinds[] = {
	{ "ipv4Address", X1_T_IPV4_ADDRESS },
	{ "ipv6Address", X1_T_IPV6_ADDRESS },
	{ "ipv4Cidr", X1_T_IPV4_CIDR },
	{ "ipv6Cidr", X1_T_IPV6_CIDR },
	{ "tcpPort", X1_T_TCP_PORT },
	{ "udpPort", X1_T_UDP_PORT },
	{ "tcpPortRange", X1_T_TCP_PORT_RANGE },
	{ "udpPortRange", X1_T_UDP_PORT_RANGE },
	{ "ipAddressPort", X1_T_IP_ADDRESS_PORT },
};

static int read_target(struct x1_request *r, xmlNodePtr e, struct x1_target *t)
{
	struct seq q;
	xmlNodePtr v;
	char b[TEXT_MAX];
	int n = -1;

	memset(t, 0, sizeof(*t));
	if (e->properties)
		return schema(r, "attribute on targetIdentifier");
	seq_init(&q, e);
	if (!(v = seq_peek(&q)) || q.bad)
		return schema(r, "targetIdentifier without an identifier");
	q.next = v->next;
	if (!seq_end(&q))
		return schema(r, "targetIdentifier with more than one identifier");
	if (!in_ns(v, X1_NS))
		return schema(r, "targetIdentifier child not in the X1 namespace");
	for (size_t i = 0; i < sizeof(target_kinds) / sizeof(target_kinds[0]); i++)
		if (strcmp((const char *)v->name, target_kinds[i].name) == 0)
			t->kind = target_kinds[i].kind;
	if (!t->kind) /* the other kinds (E.164, IMSI, SIP URI, ...): not a packet criterion */
		return fail(r, X1_E_UNSUPPORTED_TARGET_TYPE, "targetIdentifier type not supported (IP kinds only)");

	switch (t->kind) {
	case X1_T_IPV4_ADDRESS:
		t->family = DTCP_AF_INET;
		t->plen = 32;
		if ((n = text_of(v, b, sizeof(b))) < 0 || x1_parse_ipv4(b, (size_t)n, t->addr))
			return schema(r, "ipv4Address not a TS 103 280 IPv4Address");
		break;
	case X1_T_IPV6_ADDRESS:
		t->family = DTCP_AF_INET6;
		t->plen = 128;
		if ((n = text_of(v, b, sizeof(b))) < 0 || x1_parse_ipv6(b, (size_t)n, t->addr))
			return schema(r, "ipv6Address not a TS 103 280 IPv6Address");
		break;
	case X1_T_IPV4_CIDR:
	case X1_T_IPV6_CIDR:
		t->family = t->kind == X1_T_IPV4_CIDR ? DTCP_AF_INET : DTCP_AF_INET6;
		if ((n = text_of(v, b, sizeof(b))) < 0 || x1_parse_cidr(b, (size_t)n, t->family, t->addr, &t->plen))
			return schema(r, "ipv4Cidr / ipv6Cidr not a TS 103 280 CIDR");
		break;
	case X1_T_TCP_PORT:
	case X1_T_UDP_PORT:
		t->proto = t->kind == X1_T_TCP_PORT ? X1_TR_TCP : X1_TR_UDP;
		if (read_port(v, &t->port_lo) || v->properties)
			return schema(r, "tcpPort / udpPort not a port");
		t->port_hi = t->port_lo;
		break;
	case X1_T_TCP_PORT_RANGE:
	case X1_T_UDP_PORT_RANGE: {
		struct seq pr;

		t->proto = t->kind == X1_T_TCP_PORT_RANGE ? X1_TR_TCP : X1_TR_UDP;
		if (v->properties)
			return schema(r, "attribute on a port range");
		seq_init(&pr, v);
		if (read_port(seq_take(&pr, X1_NS_COMMON, "start"), &t->port_lo) ||
		    read_port(seq_take(&pr, X1_NS_COMMON, "end"), &t->port_hi) || !seq_end(&pr))
			return schema(r, "port range not start, end");
		if (t->port_lo > t->port_hi)
			return task_refuse(r, "port range start above its end");
		break;
	}
	case X1_T_IP_ADDRESS_PORT:
		if (read_address_port(v, &t->family, t->addr, &t->proto, &t->port_lo))
			return schema(r, "ipAddressPort not address, port");
		t->plen = t->family == DTCP_AF_INET6 ? 128 : 32;
		t->port_hi = t->port_lo;
		break;
	}
	return 0;
}

/* ---- TaskDetails (clause 6.2.1.2) ------------------------------------------------- */

static int read_bool(xmlNodePtr e, bool *out)
{
	char b[TEXT_MAX];

	if (text_of(e, b, sizeof(b)) < 0)
		return -1;
	if (!strcmp(b, "true") || !strcmp(b, "1"))
		*out = true;
	else if (!strcmp(b, "false") || !strcmp(b, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

/* xs:nonNegativeInteger, up to UINT64_MAX (xtap's bound). */
static int read_u64(xmlNodePtr e, uint64_t *out)
{
	char b[TEXT_MAX];
	int n = text_of(e, b, sizeof(b));
	uint64_t v = 0;

	if (n <= 0 || n > 20)
		return -1;
	for (int i = 0; i < n; i++) {
		if (b[i] < '0' || b[i] > '9' || v > (UINT64_MAX - (uint64_t)(b[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(b[i] - '0');
	}
	*out = v;
	return 0;
}

static int read_task(struct x1_request *r, xmlNodePtr e)
{
	struct x1_task *t = &r->task;
	struct seq q, ts, ds;
	xmlNodePtr n;

	if (!e || e->properties)
		return schema(r, "taskDetails missing");
	seq_init(&q, e);
	if (read_uuid(r, seq_take(&q, X1_NS, "xId"), &t->xid, "xId missing or not a UUID"))
		return -1;
	if (!(n = seq_take(&q, X1_NS, "targetIdentifiers")) || n->properties)
		return schema(r, "targetIdentifiers missing");
	seq_init(&ts, n);
	while ((n = seq_take(&ts, X1_NS, "targetIdentifier"))) {
		if (t->ntargets == X1_MAX_TARGETS)
			return task_refuse(r, "more targetIdentifiers than xtap takes in one task (16)");
		if (read_target(r, n, &t->target[t->ntargets++]))
			return -1;
	}
	if (!seq_end(&ts) || !t->ntargets)
		return schema(r, "targetIdentifiers not one or more targetIdentifier");
	if (read_delivery(r, seq_take(&q, X1_NS, "deliveryType"), &t->delivery))
		return -1;
	if ((n = seq_take(&q, X1_NS, "listOfDIDs"))) {
		if (n->properties)
			return schema(r, "attribute on listOfDIDs");
		seq_init(&ds, n);
		while ((n = seq_take(&ds, X1_NS, "dId"))) {
			if (t->ndids == X1_MAX_DIDS)
				return fail(r, X1_E_MULTIPLE_DESTINATIONS,
					    "more destinations than xtap takes in one task (8)");
			if (read_uuid(r, n, &t->did[t->ndids++], "dId not a UUID"))
				return -1;
		}
		if (seq_take(&ds, X1_NS, "dSId")) /* destination sets are Generic Objects (annex E) */
			return task_refuse(r, "destination sets (dSId) not supported");
		if (!seq_end(&ds))
			return schema(r, "listOfDIDs holds something else than dId");
	}
	if (seq_take(&q, X1_NS, "listOfMediationDetails")) /* for a mediation function, xtap is none */
		return task_refuse(r, "listOfMediationDetails not supported");
	if ((n = seq_take(&q, X1_NS, "correlationID"))) {
		if (read_u64(n, &t->correlation))
			return schema(r, "correlationID not a non-negative integer");
		t->has_correlation = true;
	}
	if ((n = seq_take(&q, X1_NS, "implicitDeactivationAllowed"))) {
		if (read_bool(n, &t->implicit_deactivation))
			return schema(r, "implicitDeactivationAllowed not a boolean");
		t->has_implicit = true;
	}
	if ((n = seq_take(&q, X1_NS, "productID"))) {
		if (read_uuid(r, n, &t->product, "productID not a UUID"))
			return -1;
		t->has_product = true;
	}
	if (seq_take(&q, X1_NS, "listOfServiceTypes"))
		return fail(r, X1_E_UNSUPPORTED_SERVICE_TYPE, "listOfServiceTypes not supported");
	if ((n = seq_peek(&q)) && in_ns(n, X1_NS) &&
	    (!strcmp((const char *)n->name, "taskDetailsExtensions") ||
	     !strcmp((const char *)n->name, "listOfTrafficPolicyReferences")))
		return task_refuse(r, "task extensions and traffic policies not supported");
	if (!seq_end(&q))
		return schema(r, "unexpected element in taskDetails");
	return 0;
}

/* ---- DestinationDetails (clause 6.3.1.2) ------------------------------------------- */

static int read_destination(struct x1_request *r, xmlNodePtr e)
{
	struct x1_destination *d = &r->dest;
	struct seq q, as;
	xmlNodePtr n, a;

	if (!e || e->properties)
		return schema(r, "destinationDetails missing");
	seq_init(&q, e);
	if (read_uuid(r, seq_take(&q, X1_NS, "dId"), &d->did, "dId missing or not a UUID"))
		return -1;
	if ((n = seq_take(&q, X1_NS, "friendlyName"))) {
		int len = text_of(n, d->friendly, sizeof(d->friendly));

		if (len < 0)
			return schema(r, "friendlyName not text or longer than xtap keeps (255)");
	}
	if (read_delivery(r, seq_take(&q, X1_NS, "deliveryType"), &d->delivery))
		return -1;
	if (!(n = seq_take(&q, X1_NS, "deliveryAddress")) || n->properties)
		return schema(r, "deliveryAddress missing");
	seq_init(&as, n);
	if (!(a = seq_peek(&as)) || as.bad)
		return schema(r, "deliveryAddress empty");
	as.next = a->next;
	if (!seq_end(&as))
		return schema(r, "deliveryAddress with more than one address");
	if (!in_ns(a, X1_NS))
		return schema(r, "deliveryAddress child not in the X1 namespace");
	if (strcmp((const char *)a->name, "ipAddressAndPort")) /* e164Number, uri, emailAddress, ... */
		return dest_refuse(r, X1_E_UNSUPPORTED_DELIVERY_ADDRESS, "deliveryAddress not ipAddressAndPort");
	if (read_address_port(a, &d->family, d->addr, &d->transport, &d->port))
		return schema(r, "ipAddressAndPort not address, port");
	if ((n = seq_peek(&q)) && is_elem(n, X1_NS, "destinationDetailsExtensions"))
		return dest_refuse(r, X1_E_CREATE_DEST_FAILURE, "destination extensions not supported");
	if (!seq_end(&q))
		return schema(r, "unexpected element in destinationDetails");
	return 0;
}

/* ---- one message ---------------------------------------------------------------------- */

static const struct {
	const char *name; /* xsi:type */
	enum x1_msg_type type;
} msg_types[] = {
	{ "ActivateTaskRequest", X1_M_ACTIVATE_TASK },
	{ "ModifyTaskRequest", X1_M_MODIFY_TASK },
	{ "DeactivateTaskRequest", X1_M_DEACTIVATE_TASK },
	{ "DeactivateAllTasksRequest", X1_M_DEACTIVATE_ALL_TASKS },
	{ "GetTaskDetailsRequest", X1_M_GET_TASK_DETAILS },
	{ "CreateDestinationRequest", X1_M_CREATE_DESTINATION },
	{ "ModifyDestinationRequest", X1_M_MODIFY_DESTINATION },
	{ "RemoveDestinationRequest", X1_M_REMOVE_DESTINATION },
	{ "GetDestinationDetailsRequest", X1_M_GET_DESTINATION_DETAILS },
	{ "GetAllDetailsRequest", X1_M_GET_ALL_DETAILS },
	{ "ListAllDetailsRequest", X1_M_LIST_ALL_DETAILS },
	{ "PingRequest", X1_M_PING },
	{ "KeepaliveRequest", X1_M_KEEPALIVE },
	/* in the schema (clauses 6.2 - 6.5, annex E), not done by xtap: 1080 */
	{ "GetNEStatusRequest", X1_M_UNSUPPORTED },
	{ "GetAllTaskDetailsRequest", X1_M_UNSUPPORTED },
	{ "GetAllDestinationDetailsRequest", X1_M_UNSUPPORTED },
	{ "RemoveAllDestinationsRequest", X1_M_UNSUPPORTED },
	{ "GetAllGenericObjectDetailsRequest", X1_M_UNSUPPORTED },
	{ "ReportTaskIssueRequest", X1_M_UNSUPPORTED },
	{ "ReportDestinationIssueRequest", X1_M_UNSUPPORTED },
	{ "ReportNEIssueRequest", X1_M_UNSUPPORTED },
	{ "CreateObjectRequest", X1_M_UNSUPPORTED },
	{ "ModifyObjectRequest", X1_M_UNSUPPORTED },
	{ "GetObjectRequest", X1_M_UNSUPPORTED },
	{ "DeleteObjectRequest", X1_M_UNSUPPORTED },
	{ "ListObjectsOfTypeRequest", X1_M_UNSUPPORTED },
	{ "DeleteAllObjectsRequest", X1_M_UNSUPPORTED },
};
/* requestMessageType of each, the xsi:type without "Request" */
static const char *const msg_type_names[] = {
	"ActivateTask",
	"ModifyTask",
	"DeactivateTask",
	"DeactivateAllTasks",
	"GetTaskDetails",
	"CreateDestination",
	"ModifyDestination",
	"RemoveDestination",
	"GetDestinationDetails",
	"GetAllDetails",
	"ListAllDetails",
	"Ping",
	"Keepalive",
	"GetNEStatus",
	"GetAllTaskDetails",
	"GetAllDestinationDetails",
	"RemoveAllDestinations",
	"GetAllGenericObjectDetails",
	"ReportTaskIssue",
	"ReportDestinationIssue",
	"ReportNEIssue",
	"CreateObject",
	"ModifyObject",
	"GetObject",
	"DeleteObject",
	"ListObjectsOfType",
	"DeleteAllObjects",
};
_Static_assert(sizeof(msg_types) / sizeof(msg_types[0]) == sizeof(msg_type_names) / sizeof(msg_type_names[0]),
	       "one requestMessageType per xsi:type");

const char *x1_request_type_name(const char *name)
{
	for (size_t i = 0; i < sizeof(msg_type_names) / sizeof(msg_type_names[0]); i++)
		if (!strcmp(name, msg_type_names[i]))
			return msg_type_names[i];
	return NULL;
}

enum x1_msg_type x1_request_type_of(const char *name)
{
	for (size_t i = 0; i < sizeof(msg_type_names) / sizeof(msg_type_names[0]); i++)
		if (!strcmp(name, msg_type_names[i]))
			return msg_types[i].type;
	return X1_M_NONE;
}

/* The xsi:type of a message: a QName whose prefix (or the default
 * namespace) must name X1. -1: absent, or not a type of the schema. */
static int message_type(xmlDocPtr doc, xmlNodePtr e, struct x1_request *r)
{
	xmlChar *v = xmlGetNsProp(e, (const xmlChar *)"type", (const xmlChar *)X1_NS_XSI);
	const char *local, *colon;
	xmlNsPtr ns;
	int rc = -1;

	if (!v)
		return -1;
	colon = strchr((const char *)v, ':');
	if (colon) {
		char prefix[64];
		size_t pn = (size_t)(colon - (const char *)v);

		if (pn == 0 || pn >= sizeof(prefix))
			goto out;
		memcpy(prefix, v, pn);
		prefix[pn] = 0;
		ns = xmlSearchNs(doc, e, (const xmlChar *)prefix);
		local = colon + 1;
	} else {
		ns = xmlSearchNs(doc, e, NULL);
		local = (const char *)v;
	}
	if (!ns || !ns->href || strcmp((const char *)ns->href, X1_NS))
		goto out;
	for (size_t i = 0; i < sizeof(msg_types) / sizeof(msg_types[0]); i++)
		if (!strcmp(local, msg_types[i].name)) {
			r->type = msg_types[i].type;
			r->type_name = msg_type_names[i];
			rc = 0;
		}
out:
	xmlFree(v);
	return rc;
}

/* The five header fields (table 6.1-1). -1 leaves r->error set. */
static int read_envelope(struct x1_request *r, struct seq *q)
{
	struct x1_envelope *v = &r->env;
	xmlNodePtr n;
	char b[TEXT_MAX];
	int len;

	if (!(n = seq_take(q, X1_NS, "admfIdentifier")) || read_id(n, v->admf))
		return schema(r, "admfIdentifier missing or not an identifier (at most 60 bytes)");
	v->has_admf = true;
	if (!(n = seq_take(q, X1_NS, "neIdentifier")) || read_id(n, v->ne))
		return schema(r, "neIdentifier missing or not an identifier (at most 60 bytes)");
	v->has_ne = true;
	if (!(n = seq_take(q, X1_NS, "messageTimestamp")) || (len = text_of(n, b, sizeof(b))) < 0 ||
	    x1_check_timestamp(b, (size_t)len))
		return schema(r, "messageTimestamp missing or not a QualifiedMicrosecondDateTime");
	memcpy(v->timestamp, b, (size_t)len + 1);
	if (!(n = seq_take(q, X1_NS, "version")) || (len = text_of(n, b, sizeof(b))) <= 0 || len >= X1_VERSION_MAX)
		return schema(r, "version missing");
	/* a line break inside it (fuzz_x1): refused here, as the monitor's
	 * wire decoder refuses every control byte */
	for (int i = 0; i < len; i++)
		if ((unsigned char)b[i] < 0x20 || b[i] == 0x7f)
			return schema(r, "version holds a control character");
	memcpy(v->version, b, (size_t)len + 1);
	v->has_version = true;
	if (!(n = seq_take(q, X1_NS, "x1TransactionId")) || (len = text_of(n, b, sizeof(b))) < 0 ||
	    x1_parse_uuid(b, (size_t)len, &v->txid))
		return schema(r, "x1TransactionId missing or not a UUID");
	v->has_txid = true;
	return 0;
}

/* Versions xtap answers: v1.x.y (clause 4.5: minor versions are backwards
 * compatible within a major version). */
static bool version_supported(const char *s)
{
	unsigned ma, mi, pa;

	return x1_parse_version(s, strlen(s), &ma, &mi, &pa) == 0 && ma == 1;
}

/* A message whose header did not parse: its x1TransactionId, if one can
 * be read, so that the ErrorResponse can still be matched to it. */
static void salvage_txid(xmlNodePtr e, struct x1_request *r)
{
	char b[TEXT_MAX];
	int len;

	for (xmlNodePtr n = e->children; n && !r->env.has_txid; n = n->next)
		if (n->type == XML_ELEMENT_NODE && is_elem(n, X1_NS, "x1TransactionId") &&
		    (len = text_of(n, b, sizeof(b))) >= 0 && !x1_parse_uuid(b, (size_t)len, &r->env.txid))
			r->env.has_txid = true;
}

static void read_message(xmlNodePtr e, struct x1_request *r)
{
	struct seq q;

	seq_init(&q, e);
	if (read_envelope(r, &q)) {
		salvage_txid(e, r);
		return;
	}
	if (!version_supported(r->env.version)) {
		fail(r, X1_E_UNSUPPORTED_VERSION, "version not v1.x.y");
		return;
	}
	switch (r->type) {
	case X1_M_ACTIVATE_TASK:
	case X1_M_MODIFY_TASK:
		if (read_task(r, seq_take(&q, X1_NS, "taskDetails")))
			return;
		break;
	case X1_M_DEACTIVATE_TASK:
	case X1_M_GET_TASK_DETAILS:
		if (read_uuid(r, seq_take(&q, X1_NS, "xId"), &r->xid, "xId missing or not a UUID"))
			return;
		break;
	case X1_M_CREATE_DESTINATION:
	case X1_M_MODIFY_DESTINATION:
		if (read_destination(r, seq_take(&q, X1_NS, "destinationDetails")))
			return;
		break;
	case X1_M_REMOVE_DESTINATION:
	case X1_M_GET_DESTINATION_DETAILS:
		if (read_uuid(r, seq_take(&q, X1_NS, "dId"), &r->did, "dId missing or not a UUID"))
			return;
		break;
	case X1_M_UNSUPPORTED:
		/* its body is not read: the answer does not depend on it */
		fail(r, X1_E_UNSUPPORTED_REQUEST, "request type not supported by xtap");
		return;
	default: break;
	}
	if (!seq_end(&q))
		schema(r, "unexpected element in the message");
}

/* ---- the container ------------------------------------------------------------------------ */

/* libxml2 must not write parse errors to stderr: the body is client data. */
static void quiet(void *ctx, const xmlError *err)
{
}

static bool has_doctype(const char *p, size_t n)
{
	static const char dt[] = "<!DOCTYPE";

	for (size_t i = 0; i + sizeof(dt) - 1 <= n; i++)
		if (p[i] == '<' && !memcmp(p + i, dt, sizeof(dt) - 1))
			return true;
	return false;
}

int x1_parse_container(const void *body, size_t n, struct x1_container *out, const char **why)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root, e;
	struct seq q;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (n == 0 || n > X1_BODY_MAX || n > INT32_MAX) {
		*why = "body empty or larger than 256 KiB";
		return -1;
	}
	/* No DTD: no entity can be declared, so none can expand (billion laughs,
	 * external entities), whatever the parser's options. */
	if (has_doctype(body, n)) {
		*why = "a DOCTYPE (DTDs are refused)";
		return -1;
	}
	xmlSetStructuredErrorFunc(NULL, (xmlStructuredErrorFunc)quiet);
	doc = xmlReadMemory(body, (int)n, NULL, "UTF-8",
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (!doc) {
		*why = "not well-formed XML";
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		*why = "a DOCTYPE (DTDs are refused)";
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (!is_elem(root, X1_NS, "X1Request") || root->properties) {
		*why = "the root is not an X1Request of namespace " X1_NS;
		goto out;
	}
	seq_init(&q, root);
	while ((e = seq_take(&q, X1_NS, "x1RequestMessage"))) {
		struct x1_request *r;

		if (out->n == X1_MAX_MESSAGES) {
			*why = "more than 64 messages in one container";
			goto out;
		}
		r = &out->msg[out->n++];
		/* xsi:type is the only attribute a message has */
		for (xmlAttrPtr a = e->properties; a; a = a->next)
			if (!a->ns || strcmp((const char *)a->ns->href, X1_NS_XSI) ||
			    strcmp((const char *)a->name, "type")) {
				*why = "an attribute on x1RequestMessage other than xsi:type";
				goto out;
			}
		if (message_type(doc, e, r)) {
			*why = "an x1RequestMessage whose xsi:type is not an X1 request type";
			goto out;
		}
		read_message(e, r);
		/* without its x1TransactionId an answer cannot be matched to it */
		if (!r->env.has_txid) {
			*why = "an x1RequestMessage without a readable x1TransactionId";
			goto out;
		}
	}
	if (!seq_end(&q) || !out->n) {
		*why = "the X1Request holds something else than x1RequestMessage, or none";
		goto out;
	}
	rc = 0;
out:
	if (doc)
		xmlFreeDoc(doc);
	if (rc)
		out->n = 0;
	return rc;
}
