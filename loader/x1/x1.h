/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ETSI TS 103 221-1 X1 as xtap speaks it (docs/x1.md): a library with no I/O,
 * in the style of dtcp/: bytes in, structs out, structs in, bytes out.
 *
 * Layers, each usable alone:
 *   values   x1_parse_uuid, x1_parse_ipv4/6, x1_format_time ...: the TS 103 280
 *            simple types X1 uses
 *   parse    x1_parse_container: an X1Request (RequestContainer, 6.1) ->
 *            typed, validated requests; libxml2 without network, DTD or
 *            entity expansion
 *   format   x1_format_*: typed responses -> an X1Response or an
 *            X1TopLevelErrorResponse document
 *   store    x1_store_*: tasks and destinations of every ADMF (6.2, 6.3, 6.4),
 *            their semantics, and their targets as xtap criteria
 *            (struct dtcp_criterion, the representation DTCP uses) through a
 *            struct x1_store_ops the daemon provides.
 *
 * Element names and error codes are those of TS 103 221-1 (namespace
 * http://uri.etsi.org/03221/X1/2017/10) and TS 103 280
 * (http://uri.etsi.org/03280/common/2017/07); comments cite the clause.
 */
#ifndef XTAP_X1_H
#define XTAP_X1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dtcp.h"

#define X1_NS "http://uri.etsi.org/03221/X1/2017/10"
#define X1_NS_COMMON "http://uri.etsi.org/03280/common/2017/07"
#define X1_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"

/* ---- bounds ------------------------------------------------------------- */

/* One HTTP body: a container of X1_MAX_MESSAGES full ActivateTasks is far
 * below it; anything larger is refused before libxml2 sees it. */
#define X1_BODY_MAX (256 * 1024)
#define X1_MAX_MESSAGES 64 /* per RequestContainer; more: top-level error */
#define X1_MAX_TARGETS 16 /* targetIdentifiers per task: each costs up to 4 criteria */
#define X1_MAX_DIDS 8 /* listOfDIDs per task: DTCP's default cdest maximum (dtcp.md 4.1) */
/* admfIdentifier / neIdentifier incl. NUL. The ADMF names the control
 * source "X1/<admf>" in the shared criteria table, a DTCP_NAME_MAX name. */
#define X1_ID_MAX (DTCP_NAME_MAX - 3)
#define X1_FRIENDLY_MAX 256 /* friendlyName incl. NUL: kept for GetDestinationDetails */
#define X1_VERSION_MAX 16 /* "v1.255.255" */
#define X1_TIME_LEN 40 /* "YYYY-MM-DDThh:mm:ss.uuuuuu+hh:mm" incl. NUL */
#define X1_DESC_MAX 160 /* errorDescription incl. NUL: fixed texts, never client data */
/* Criteria one task may map to: a port target is 2 directions x 2 families. */
#define X1_MAX_CRIT (4 * X1_MAX_TARGETS)
#define X1_SOURCE_PREFIX DTCP_X1_CSOURCE_PREFIX /* csource of an X1 task's criteria */

/* ---- error codes (TS 103 221-1 clause 6.7, table 6.7-1) ------------------ */

enum x1_code {
	X1_OK = 0,
	X1_E_GENERIC = 1000,
	X1_E_SYNTAX_SCHEMA = 1010,
	X1_E_UNSUPPORTED_VERSION = 1020,
	X1_E_ADMF_ID_CERT_MISMATCH = 1030,
	X1_E_UNEXPECTED_ADMF = 1040,
	X1_E_UNEXPECTED_NE = 1060,
	X1_E_UNSUPPORTED_REQUEST = 1080,
	X1_E_XID_EXISTS = 2010,
	X1_E_XID_UNKNOWN = 2020,
	X1_E_DID_EXISTS = 2030,
	X1_E_DID_UNKNOWN = 2040,
	X1_E_ACTIVATE_FAILURE = 3000,
	X1_E_MODIFY_TASK_FAILURE = 3001,
	X1_E_UNSUPPORTED_TARGET_TYPE = 3010,
	X1_E_UNSUPPORTED_TARGET_COMBINATION = 3020,
	X1_E_MULTIPLE_DESTINATIONS = 3030,
	X1_E_DELIVERY_COMBINATION = 3040,
	X1_E_UNSUPPORTED_SERVICE_TYPE = 3050,
	X1_E_DEACTIVATE_FAILURE = 4000,
	X1_E_DEACTIVATE_ALL_FAILURE = 5000,
	X1_E_DEACTIVATE_ALL_DISABLED = 5010,
	X1_E_CREATE_DEST_FAILURE = 6000,
	X1_E_MODIFY_DEST_FAILURE = 6001,
	X1_E_UNSUPPORTED_DELIVERY_ADDRESS = 6020,
	X1_E_REMOVE_DEST_FAILURE = 7000,
	X1_E_DESTINATION_IN_USE = 7010,
};
/* The fixed description xtap sends with a code. */
const char *x1_code_text(int code);

/* ---- messages (clause 6.2 - 6.6) ------------------------------------------ */

enum x1_msg_type {
	X1_M_NONE = 0,
	X1_M_ACTIVATE_TASK,
	X1_M_MODIFY_TASK,
	X1_M_DEACTIVATE_TASK,
	X1_M_DEACTIVATE_ALL_TASKS,
	X1_M_GET_TASK_DETAILS,
	X1_M_CREATE_DESTINATION,
	X1_M_MODIFY_DESTINATION,
	X1_M_REMOVE_DESTINATION,
	X1_M_GET_DESTINATION_DETAILS,
	X1_M_GET_ALL_DETAILS,
	X1_M_LIST_ALL_DETAILS,
	X1_M_PING,
	X1_M_KEEPALIVE,
	/* in the schema, not implemented: answered UnsupportedRequest (1080) */
	X1_M_UNSUPPORTED,
	X1_M_N,
};
/* "ActivateTask" ...: the requestMessageType value, and the xsi:type of the
 * request and response without "Request" / "Response". */
const char *x1_msg_name(enum x1_msg_type t);

enum x1_delivery { X1_DT_NONE = 0, X1_DT_X2_ONLY, X1_DT_X3_ONLY, X1_DT_X2_AND_X3 };
const char *x1_delivery_name(enum x1_delivery d);

struct x1_uuid {
	uint8_t b[16];
};
#define X1_UUID_LEN 37 /* 8-4-4-4-12 lowercase hex incl. NUL */

/* The header of every message (clause 6.1, table 6.1-1). */
struct x1_envelope {
	char admf[X1_ID_MAX];
	char ne[X1_ID_MAX];
	char timestamp[X1_TIME_LEN]; /* as received (echoing it is not required) */
	char version[X1_VERSION_MAX];
	struct x1_uuid txid; /* x1TransactionId */
	bool has_admf, has_ne, has_version, has_txid; /* what could be read, for an error reply */
};

/* The IP kinds of TargetIdentifier (clause 6.2.1.3, TS 103 280 types). */
enum x1_target_kind {
	X1_T_IPV4_ADDRESS = 1, /* ipv4Address */
	X1_T_IPV6_ADDRESS, /* ipv6Address */
	X1_T_IPV4_CIDR, /* ipv4Cidr */
	X1_T_IPV6_CIDR, /* ipv6Cidr */
	X1_T_TCP_PORT, /* tcpPort */
	X1_T_UDP_PORT, /* udpPort */
	X1_T_TCP_PORT_RANGE, /* tcpPortRange: start, end */
	X1_T_UDP_PORT_RANGE, /* udpPortRange */
	X1_T_IP_ADDRESS_PORT, /* ipAddressPort: address (IPv4/IPv6), port (TCP/UDP) */
};
struct x1_target {
	uint8_t kind; /* enum x1_target_kind */
	uint8_t family; /* enum dtcp_family; NONE for a port alone */
	uint8_t addr[16]; /* as given (host bits kept: GetTaskDetails echoes it) */
	uint8_t plen; /* 32 / 128 for an address */
	uint8_t proto; /* 6 or 17; 0 for an address alone */
	uint16_t port_lo, port_hi; /* a single port has lo == hi */
};

/* TaskDetails (clause 6.2.1.2). */
struct x1_task {
	struct x1_uuid xid;
	uint8_t ntargets;
	struct x1_target target[X1_MAX_TARGETS];
	uint8_t delivery; /* enum x1_delivery */
	uint8_t ndids;
	struct x1_uuid did[X1_MAX_DIDS];
	bool has_correlation;
	uint64_t correlation; /* correlationID */
	bool has_implicit;
	bool implicit_deactivation; /* implicitDeactivationAllowed */
	bool has_product;
	struct x1_uuid product; /* productID */
};

enum x1_transport { X1_TR_TCP = 6, X1_TR_UDP = 17 };

/* DestinationDetails (clause 6.3.1.2) with deliveryAddress ipAddressAndPort. */
struct x1_destination {
	struct x1_uuid did;
	char friendly[X1_FRIENDLY_MAX]; /* "" : not given */
	uint8_t delivery; /* enum x1_delivery */
	uint8_t family; /* enum dtcp_family */
	uint8_t addr[16];
	uint16_t port;
	uint8_t transport; /* enum x1_transport: TCPPort or UDPPort */
};

/* One request message, typed. error != 0: the message could not be taken
 * (a schema error, an unsupported type or version) and is answered with an
 * ErrorResponse carrying error and desc; nothing else in it is valid but
 * the envelope fields whose has_* are set. */
struct x1_request {
	enum x1_msg_type type;
	const char *type_name; /* the xsi:type's name without "Request" */
	struct x1_envelope env;
	int error; /* enum x1_code */
	const char *desc; /* fixed text for the error, never client data */
	char desc_buf[X1_DESC_MAX]; /* where x1_wire_decode puts desc */
	struct x1_task task; /* ActivateTask, ModifyTask */
	struct x1_uuid xid; /* DeactivateTask, GetTaskDetails */
	struct x1_destination dest; /* CreateDestination, ModifyDestination */
	struct x1_uuid did; /* RemoveDestination, GetDestinationDetails */
};

struct x1_container {
	size_t n;
	struct x1_request msg[X1_MAX_MESSAGES];
};

/* ---- values ------------------------------------------------------------- */

/* TS 103 280 UUID: 8-4-4-4-12 hex digits (either case accepted, written
 * lowercase). 0 or -1. */
int x1_parse_uuid(const char *s, size_t n, struct x1_uuid *out);
void x1_format_uuid(const struct x1_uuid *u, char out[X1_UUID_LEN]);
/* TS 103 280 IPv4Address: dotted decimal, up to three digits an octet
 * (the pattern allows leading zeros; read as decimal). 0 or -1. */
int x1_parse_ipv4(const char *s, size_t n, uint8_t out[4]);
/* TS 103 280 IPv6Address: the fully expanded form, eight groups of four
 * hex digits (either case). 0 or -1. */
int x1_parse_ipv6(const char *s, size_t n, uint8_t out[16]);
/* IPv4CIDR / IPv6CIDR: address "/" length. 0 or -1. */
int x1_parse_cidr(const char *s, size_t n, int family, uint8_t out[16], uint8_t *plen);
/* "192.0.2.1", "2001:0db8:0000:0000:0000:0000:0000:0001" (103 280's form). */
void x1_format_addr(int family, const uint8_t a[16], char *out, size_t cap);
/* TCPPort / UDPPort: 0..65535, decimal. 0 or -1. */
int x1_parse_port(const char *s, size_t n, uint16_t *out);
/* QualifiedMicrosecondDateTime (TS 103 280): YYYY-MM-DDThh:mm:ss.uuuuuu then Z
 * or +hh:mm / -hh:mm. 0 or -1. */
int x1_check_timestamp(const char *s, size_t n);
/* Microseconds since the epoch -> "YYYY-MM-DDThh:mm:ss.uuuuuuZ". */
void x1_format_time(uint64_t us, char out[X1_TIME_LEN]);
/* version: "v" major "." minor "." patch. 0 (a version), -1 (not one). */
int x1_parse_version(const char *s, size_t n, unsigned *major, unsigned *minor, unsigned *patch);

/* ---- parse --------------------------------------------------------------- */

/* Parses one HTTP body. Returns 0 with out->n messages (each with its own
 * error or none), or -1: the container cannot be taken (not well-formed,
 * a DTD, not an X1Request of this namespace, no message or more than
 * X1_MAX_MESSAGES, larger than X1_BODY_MAX), to be answered with an
 * X1TopLevelErrorResponse; *why is a fixed text. */
int x1_parse_container(const void *body, size_t n, struct x1_container *out, const char **why);

/* requestMessageType names: the table's own string for name (NULL: not
 * a request type of the schema), and the type it is. */
const char *x1_request_type_name(const char *name);
enum x1_msg_type x1_request_type_of(const char *name);

/* ---- wire: a typed request between the worker and the monitor ------------------- */

/* The network-facing worker parses the XML; the monitor gets each request as
 * this fixed binary layout (host byte order: one binary, one host), never
 * XML, and decodes it as it decodes every worker message: completely, each
 * field re-validated as x1_parse_container would have (docs/x1.md
 * "Privilege separation"). */
#define X1_WIRE_MAX 2048 /* a full ActivateTask is about 1 KiB */
/* Returns the length written, or 0 when r does not fit or is not valid. */
size_t x1_wire_encode(const struct x1_request *r, uint8_t *out, size_t cap);
/* 0, or -1 with a fixed reason in *why: nothing of out may be used then. */
int x1_wire_decode(const uint8_t *in, size_t n, struct x1_request *out, const char **why);

/* One HTTP request's container as one datagram: the authenticated ADMF (the
 * certificate's), then each request as above. */
#define X1_WIRE_CONTAINER_MAX (4 + X1_ID_MAX + X1_MAX_MESSAGES * (2 + X1_WIRE_MAX))
size_t x1_wire_container_encode(const char *admf, const struct x1_container *c, uint8_t *out, size_t cap);
int x1_wire_container_decode(const uint8_t *in, size_t n, char admf[X1_ID_MAX], struct x1_container *c,
			     const char **why);

/* ---- http: the HTTP/1.1 subset X1 needs (clause 7) ------------------------------ */

#define X1_HTTP_HEAD_MAX 8192 /* a request head: an ADMF's is a few hundred bytes */
#define X1_HTTP_PATH "/X1/NE"
enum x1_http_result { X1_HTTP_MORE = 0, X1_HTTP_REQUEST, X1_HTTP_ERROR };
struct x1_http_req {
	size_t head_len; /* bytes of the head, its empty line included */
	size_t content_length; /* the body follows the head */
	bool keep_alive;
	int status; /* ERROR: the status to answer, then close */
};
/* Parses the request at the front of buf. MORE: read more; REQUEST: the head
 * and content_length body bytes are in buf; ERROR: answer r->status. */
int x1_http_parse(const char *buf, size_t n, struct x1_http_req *r);
/* Writes a response head for body_len bytes. Returns its length or 0. */
size_t x1_http_head(int status, size_t body_len, bool keep_alive, char *out, size_t cap);

/* ---- format --------------------------------------------------------------- */

/* A growable output buffer; x1_out_free releases it. */
struct x1_out {
	char *p;
	size_t n, cap;
	bool failed; /* out of memory, or over X1_OUT_MAX */
};
#define X1_OUT_MAX (16u << 20) /* a GetAllDetails of many tasks stays below */
void x1_out_free(struct x1_out *o);

/* One response message (clause 6.1: one per request, in order). */
struct x1_response {
	enum x1_msg_type type; /* of the request */
	const char *type_name; /* requestMessageType ("GetNEStatus" for an unsupported one) */
	struct x1_envelope env; /* admfIdentifier, version, x1TransactionId echoed */
	int error; /* 0: the message's own response; else ErrorResponse */
	const char *desc; /* NULL: x1_code_text(error) */
	/* GetTaskDetails */
	const struct x1_task *task;
	/* GetDestinationDetails */
	const struct x1_destination *dest;
	/* GetAllDetails, ListAllDetails */
	const struct x1_task *const *tasks;
	size_t ntasks;
	const struct x1_destination *const *dests;
	size_t ndests;
};
/* The version xtap writes where it cannot echo the request's: the one whose
 * message set it implements (docs/x1.md). */
#define X1_VERSION "v1.6.1"

/* The NE's side of every response: neIdentifier, the clock. */
struct x1_ne {
	char ne[X1_ID_MAX];
	uint64_t now_us;
	/* destinationDeliveryStatus: true when the ADMF's destination is at
	 * fault (its deliveries down); NULL: every one activeAndWorking */
	bool (*dest_fault)(void *ctx, const char *admf, const struct x1_uuid *did);
	void *ctx;
	const char *admf; /* whose response this is */
};

/* NE-to-ADMF issue reports (clause 6.5): ReportTaskIssue and
 * ReportDestinationIssue, each with its report type (TaskReportType) and a
 * text that never names a target. */
enum x1_report_kind { X1_R_TASK = 1, X1_R_DEST };
enum x1_report_type { X1_RT_ALL_CLEAR = 1, X1_RT_WARNING, X1_RT_NON_TERMINATING_FAULT, X1_RT_TERMINATING_FAULT };
#define X1_REPORT_DETAILS_MAX 160
#define X1_REPORTS_MAX 64 /* one container: a destination and the tasks using it */
struct x1_report {
	uint8_t kind; /* enum x1_report_kind */
	uint8_t type; /* enum x1_report_type */
	struct x1_uuid id; /* the XID or the DID */
	char details[X1_REPORT_DETAILS_MAX];
};
/* One X1Request container from the NE ne to the ADMF admf with n reports,
 * transaction ids txid[i]. 0, or -1 when the output failed. */
int x1_format_reports(struct x1_out *o, const char *admf, const char *ne, uint64_t now_us, const struct x1_uuid *txid,
		      const struct x1_report *r, size_t n);
const char *x1_report_type_name(int type);

void x1_format_begin(struct x1_out *o);
void x1_format_response(struct x1_out *o, const struct x1_ne *ne, const struct x1_response *r);
/* Closes the container; returns 0, or -1 if the output failed (out->failed). */
int x1_format_end(struct x1_out *o);
/* The whole X1TopLevelErrorResponse (clause 6.1): admf is the requester as
 * the transport identified it (its certificate), "" if unknown. */
int x1_format_top_level_error(struct x1_out *o, const struct x1_ne *ne, const char *admf);

/* ---- store ---------------------------------------------------------------- */

/* What the daemon provides. Each returns 0 or -1; on -1 nothing changed. */
struct x1_store_ops {
	/* Installs a criterion in the table DTCP shares (its id space, its
	 * persistence and audit) and returns its id. c->csource is
	 * "X1/<admfIdentifier>". */
	int (*crit_add)(void *ctx, const struct dtcp_criterion *c, uint32_t *id);
	int (*crit_remove)(void *ctx, uint32_t id);
	/* The seam to the X3 content destinations: how destination d is
	 * delivered to for the task t of admf (xtapd: an X3 delivery slot per
	 * ADMF, XID and DID, docs/x1.md "Delivery over X3"). out->name must be
	 * the DID. NULL: delivered as a DTCP cdest (IP/UDP to the address and
	 * port, name = DID). */
	int (*bind_destination)(void *ctx, const char *admf, const struct x1_task *t, const struct x1_destination *d,
				struct dtcp_cdest *out);
	/* Audit of every message and its outcome: admf, message name, code,
	 * xid or did (NULL when none), never targets. Optional. */
	void (*audit)(void *ctx, const char *admf, const char *msg, int code, const char *id);
};

struct x1_task_entry {
	char admf[X1_ID_MAX];
	struct x1_task t;
	uint32_t ncrit;
	uint32_t crit[X1_MAX_CRIT]; /* the criteria ids it holds now */
};
struct x1_dest_entry {
	char admf[X1_ID_MAX];
	struct x1_destination d;
	uint32_t users; /* tasks naming it: DestinationInUse */
};

enum x1_keepalive_policy { X1_KA_DEACTIVATE = 0, X1_KA_KEEP };
struct x1_admf_seen {
	char admf[X1_ID_MAX];
	uint64_t last_us; /* its last message */
	bool reported; /* lost and reported, not heard from since */
};

struct x1_store {
	const struct x1_store_ops *ops;
	void *ctx;
	char ne[X1_ID_MAX]; /* neIdentifier: requests naming another get 1060 */
	uint32_t max_tasks; /* per ADMF; 0: X1_MAX_TASKS_DEFAULT */
	uint32_t max_dests; /* per ADMF; 0: X1_MAX_DESTS_DEFAULT */
	bool deactivate_all_disabled; /* clause 6.2.4: enabled unless agreed otherwise */
	/* Keepalive (clause 6.6.2): an ADMF from which no message came for
	 * keepalive_us (0: no policy) is lost; its tasks are then deactivated
	 * (X1_KA_DEACTIVATE) or kept and reported once (X1_KA_KEEP). */
	uint64_t keepalive_us;
	uint8_t keepalive_policy; /* enum x1_keepalive_policy */
	struct x1_admf_seen *seen; /* every ADMF that sent a message */
	size_t nseen, cap_seen;
	struct x1_task_entry **tasks; /* unsorted; a store holds thousands, not millions */
	size_t ntasks, cap_tasks;
	struct x1_dest_entry **dests;
	size_t ndests, cap_dests;
};
#define X1_MAX_TASKS_DEFAULT 4096
#define X1_MAX_DESTS_DEFAULT 256

void x1_store_init(struct x1_store *s, const struct x1_store_ops *ops, void *ctx, const char *ne);
void x1_store_free(struct x1_store *s);

/* Handles one parsed container from the ADMF the transport authenticated
 * (admf: from its client certificate, the control source) and writes the
 * whole X1Response to o. Messages are taken in order, each on its own: one
 * that fails changes nothing and does not stop the next. Returns 0 or -1
 * (output failed). */
int x1_store_handle(struct x1_store *s, const char *admf, const struct x1_container *c, uint64_t now_us,
		    struct x1_out *o);

/* One request, for callers (and the monitor) that take requests one by one:
 * fills r, whose task / dest point into the store until its next change;
 * r->tasks and r->dests (GetAllDetails, ListAllDetails) are the caller's
 * to free. */
void x1_store_handle_one(struct x1_store *s, const char *admf, const struct x1_request *q, uint64_t now_us,
			 struct x1_response *r);

/* The keepalive policy at now_us: every ADMF lost since its last message
 * (and holding tasks) is passed to lost() with how many tasks it holds and
 * how many were deactivated (X1_KA_DEACTIVATE; a task whose criteria the
 * datapath kept stays, and the next sweep tries again). An ADMF is reported
 * once until it sends again. Returns how many ADMFs were lost this time. */
/* After a restart (the store restored): every ADMF holding tasks counts as
 * heard from at now_us, so that one that never sends again is found lost
 * one period later (the time of its last message is not persisted). */
void x1_store_heard_all(struct x1_store *s, uint64_t now_us);
int x1_store_keepalive_sweep(struct x1_store *s, uint64_t now_us,
			     void (*lost)(void *arg, const char *admf, size_t tasks, size_t deactivated), void *arg);

/* State records (docs/x1.md "Persistence"): one line per destination and
 * per task, "x1-dest HEX" / "x1-task HEX", HEX a layout the same decoder
 * as the wire checks. A task's record holds its criteria ids: after a
 * restart its criteria come back with DTCP's records, and the task takes
 * them over without a datapath call. */
#define X1_RECORD_MAX (16 + 2 * (X1_WIRE_MAX + 4 * X1_MAX_CRIT))
enum x1_record_kind { X1_REC_DEST = 1, X1_REC_TASK };
struct x1_record {
	uint8_t kind;
	char admf[X1_ID_MAX];
	struct x1_destination dest;
	struct x1_task task;
	uint32_t ncrit;
	uint32_t crit[X1_MAX_CRIT];
};
size_t x1_record_dest(const struct x1_dest_entry *e, char *out, size_t cap);
size_t x1_record_task(const struct x1_task_entry *e, char *out, size_t cap);
int x1_record_parse(const char *line, size_t n, struct x1_record *rec, const char **why);
/* Takes a parsed record back into the store (destinations before the tasks
 * that name them). 0, or -1 with *why: a duplicate XID or DID, a task
 * naming a destination the ADMF does not have, no memory. */
int x1_store_restore(struct x1_store *s, const struct x1_record *rec, const char **why);

/* A task's targets as criteria (clause 6.2.1.3 -> docs/x1.md "Mapping"):
 * writes up to X1_MAX_CRIT criteria to out (csource, family, match fields;
 * no cdest) and returns how many. */
int x1_task_criteria(const char *admf, const struct x1_task *t, struct dtcp_criterion *out, int max);

#endif
