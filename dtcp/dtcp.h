/* SPDX-License-Identifier: BSD-2-Clause */
/* DTCP as xtap speaks it (docs/dtcp.md): a library with no I/O.
 *
 * Layers, each usable alone:
 *   framing   dtcp_framer_*     bytes of a stream -> whole messages
 *   syntax    dtcp_msg_parse    one message -> request line + header list
 *   auth      dtcp_hmac_*       HMAC-SHA1 Authentication-Info
 *   request   dtcp_request_*    header list -> typed request (and back)
 *   reply     dtcp_reply_*      typed reply -> signed bytes (and back)
 *   server    dtcp_server_* / dtcp_session_*: the state logic; it calls a
 *             backend (datapath) and a config (policy) the caller provides.
 */
#ifndef XTAP_DTCP_H
#define XTAP_DTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- bounds ------------------------------------------------------------- */

#define DTCP_MSG_MAX 65536 /* dtcp.md 1: 64 KiB per message */
#define DTCP_REPLY_SOFT_MAX 32768 /* dtcp.md 1: one reply below 32 KiB */
#define DTCP_MAX_HEADERS 256 /* header lines kept per message; more: 400 */
#define DTCP_NAME_MAX 64 /* csource, cdest, interface names incl. NUL */
/* the csources X1 tasks own their criteria as, "X1/<admf>" (docs/x1.md): the
 * configuration refuses a DTCP control source of such a name */
#define DTCP_X1_CSOURCE_PREFIX "X1/"
#define DTCP_MAX_PREFIXES 64 /* prefixes per address field after range split */
#define DTCP_MAX_RANGES 64 /* ranges per port/protocol/ICMP/ID list */
#define DTCP_MAX_IFACES 8 /* dtcp.md 4.1: up to 8 interface names */
#define DTCP_MAX_CDESTS 16 /* array bound; the configured maximum is lower */
#define DTCP_CDESTS_DEFAULT 8 /* dtcp.md 4.1 default maximum */
#define DTCP_GIVEN_MAX 4096 /* criteria fields kept verbatim for LIST */
#define DTCP_ITEM_MAX 200 /* offending item echoed in an error reply */
#define DTCP_TIMEOUT_SECS_MAX 86400
#define DTCP_FAILS_CLOSE 3 /* dtcp.md 3.3: unanswered messages in a row */
#define DTCP_SEQ_WINDOW 256 /* dtcp.md 3.2: strict mode step */

/* ---- codes and enums ------------------------------------------------------ */

enum dtcp_code {
	DTCP_OK = 200,
	DTCP_BAD_REQUEST = 400,
	DTCP_UNKNOWN_CDEST = 430,
	DTCP_UNKNOWN_CRITERIA = 431,
	DTCP_BAD_FILTER = 432,
	DTCP_BAD_TIMEOUT = 433,
	DTCP_INTERNAL = 500,
	DTCP_NOT_IMPLEMENTED = 501,
	DTCP_BAD_VERSION = 505,
	DTCP_MAX_CRITERIA = 550,
	DTCP_MAX_CDEST = 551,
	DTCP_JTAP_FAILURE = 901,
};
const char *dtcp_reason(int code);

enum dtcp_method {
	DTCP_M_NONE = 0,
	DTCP_M_ADD,
	DTCP_M_DELETE,
	DTCP_M_REFRESH,
	DTCP_M_LIST,
	DTCP_M_NOOP,
	DTCP_M_ENABLE,
	DTCP_M_DISABLE,
};
const char *dtcp_method_name(enum dtcp_method m);

/* An error: the code and the item the reply names ("NAME: value"). */
struct dtcp_error {
	int code;
	char item[DTCP_ITEM_MAX + 1];
};

/* ---- framing -------------------------------------------------------------- */

/* Finds message boundaries in a buffer the caller owns. Incremental: it
 * remembers how far it has scanned, so feeding one byte at a time is linear. */
struct dtcp_framer {
	size_t scanned;
};
enum dtcp_frame_result {
	DTCP_FRAME_MORE, /* no complete message yet */
	DTCP_FRAME_MESSAGE, /* [*skip, *skip + *len) is one message */
	DTCP_FRAME_OVERSIZE, /* the message in front is longer than DTCP_MSG_MAX */
};
/* *skip: empty lines before the message (ignored between messages);
 * *len: message bytes including its closing empty line. After MESSAGE the
 * caller drops *skip + *len bytes from the front and calls dtcp_framer_reset. */
enum dtcp_frame_result dtcp_frame_next(struct dtcp_framer *f, const char *buf, size_t n, size_t *skip, size_t *len);
void dtcp_framer_reset(struct dtcp_framer *f);
/* For OVERSIZE: bytes to drop up to and including the next empty line, or 0
 * when the buffer holds no empty line yet (drop everything and keep looking). */
size_t dtcp_frame_discard(const char *buf, size_t n, bool *found);

/* ---- syntax -------------------------------------------------------------- */

struct dtcp_span {
	const char *p;
	size_t n;
};
struct dtcp_hdr {
	struct dtcp_span name, value; /* value trimmed of surrounding blanks */
	struct dtcp_span line; /* the whole line without its line end */
};
struct dtcp_msg {
	struct dtcp_span first; /* first line without line end */
	struct dtcp_span tok[3]; /* its tokens: method/version or version/code/reason */
	int ntok;
	struct dtcp_hdr hdr[DTCP_MAX_HEADERS];
	int nhdr;
	size_t signed_len; /* bytes the HMAC covers */
	bool has_auth;
	struct dtcp_span auth; /* Authentication-Info value */
	bool has_bad; /* a line is not "Name: value" (first kept) */
	struct dtcp_span bad;
	bool too_many; /* more than DTCP_MAX_HEADERS header lines */
	/* A control character (C0 but TAB, or DEL; a NUL or a lone CR included)
	 * in the first line or in a header line up to Authentication-Info: the
	 * first such header is kept. Value parsers see spans but installed and
	 * listed text is C strings, so such a value could mean one thing to the
	 * datapath and another to LIST (docs/dtcp.md 2). */
	bool first_ctl;
	bool has_ctl;
	struct dtcp_hdr ctl;
};
/* Splits one framed message. Tolerant on purpose: a malformed line is
 * recorded, not fatal, so the HMAC can still be checked before any reply. */
void dtcp_msg_parse(const char *buf, size_t n, struct dtcp_msg *m);
/* First occurrence of a header, case-insensitive; NULL if absent. */
const struct dtcp_hdr *dtcp_msg_get(const struct dtcp_msg *m, const char *name);

/* ---- auth ---------------------------------------------------------------- */

#define DTCP_HMAC_HEX 40
/* Returns 0, or -1 if libcrypto failed. */
int dtcp_hmac_hex(const void *key, size_t keylen, const void *data, size_t n, char out[DTCP_HMAC_HEX + 1]);
/* Constant-time check of a received hex digest (either case). */
bool dtcp_hmac_verify(const void *key, size_t keylen, const void *data, size_t n, const char *hex, size_t hexlen);

/* ---- typed values ----------------------------------------------------------- */

enum dtcp_family { DTCP_AF_NONE = 0, DTCP_AF_INET = 4, DTCP_AF_INET6 = 6 };

struct dtcp_addr {
	uint8_t family; /* enum dtcp_family */
	uint8_t a[16]; /* IPv4 in the first 4 bytes, network order */
};
struct dtcp_prefix {
	uint8_t a[16];
	uint8_t len;
};
struct dtcp_prefix_set {
	bool any;
	uint8_t family;
	uint16_t n;
	struct dtcp_prefix p[DTCP_MAX_PREFIXES];
};
struct dtcp_range {
	uint64_t lo, hi;
};
struct dtcp_range_set {
	bool any;
	uint16_t n;
	struct dtcp_range r[DTCP_MAX_RANGES];
};
struct dtcp_name {
	char s[DTCP_NAME_MAX];
};

enum dtcp_scope_kind { DTCP_SCOPE_ANY = 0, DTCP_SCOPE_INPUT, DTCP_SCOPE_OUTPUT, DTCP_SCOPE_VRF };

struct dtcp_cdest {
	struct dtcp_name name;
	struct dtcp_addr dst, src; /* src.family == NONE: not given */
	uint16_t dst_port, src_port;
	uint8_t ttl;
};

enum dtcp_timeout { DTCP_T_IDLE, DTCP_T_TOTAL, DTCP_T_PACKETS, DTCP_T_BYTES, DTCP_T_N };

/* One interception criterion, self-contained so the daemon can translate it
 * to the datapath and persist it. */
struct dtcp_criterion {
	uint32_t id;
	struct dtcp_name csource;
	char csource_addr[48]; /* peer address of the session that added it */
	uint8_t family; /* enum dtcp_family */
	struct dtcp_prefix_set src, dst; /* any, or prefixes */
	struct dtcp_prefix_set either; /* X-IP-Addr: src or dst in it; any if unused */
	struct dtcp_range_set sport, dport, proto, icmp_type, icmp_code;
	uint8_t scope; /* enum dtcp_scope_kind */
	uint8_t nscope;
	struct dtcp_name scope_name[DTCP_MAX_IFACES]; /* Linux netdev / VRF names
							  (as given in a request) */
	/* the datapath's handle of each name (ifindex, group bit), asked of the
	 * daemon (scope_key) once per ADD and once per restored criterion:
	 * kept in memory, never persisted (a fact of the running host) */
	uint64_t scope_key[DTCP_MAX_IFACES];
	bool is_static;
	uint64_t timeout[DTCP_T_N]; /* 0: no such limit */
	uint32_t priority;
	uint8_t ncdest;
	struct dtcp_cdest cdest[DTCP_MAX_CDESTS];
	bool has_intercept;
	uint64_t intercept_id;
	char given[DTCP_GIVEN_MAX]; /* "NAME: value\r\n" lines for LIST, as given */
};

/* ---- requests -------------------------------------------------------------- */

enum dtcp_list_flags { DTCP_LIST_CRITERIA = 1, DTCP_LIST_STATS = 2, DTCP_LIST_BOTH = 3 };

struct dtcp_request {
	enum dtcp_method method;
	int version; /* 6, 7 or 8 (DTCP/0.x) */
	struct dtcp_name csource;
	bool has_seq;
	uint64_t seq;
	bool flag_static;
	bool lifetime_implied; /* ADD: neither Flags: STATIC nor Timeout-*: static */
	uint8_t list_flags; /* LIST: enum dtcp_list_flags */
	bool timeout_given; /* REFRESH: some Timeout-* present */
	/* DELETE / REFRESH / LIST selectors */
	bool sel_ids;
	struct dtcp_range_set ids; /* singles have lo == hi and single[i] */
	bool id_single[DTCP_MAX_RANGES]; /* entry written as one ID, not a range */
	uint8_t nsel_cdest;
	struct dtcp_name sel_cdest[DTCP_MAX_CDESTS];
	/* ADD: the criterion as requested; cdest params only if given */
	struct dtcp_criterion crit;
	uint8_t cdest_given; /* enum dtcp_cdest_given bits */
};
enum dtcp_cdest_given {
	DTCP_CD_DADDR = 1,
	DTCP_CD_DPORT = 2,
	DTCP_CD_SADDR = 4,
	DTCP_CD_SPORT = 8,
	DTCP_CD_TTL = 16,
};

/* Parses a message the caller has authenticated into a typed request.
 * Returns 0, or -1 with err set (400, 432, 433, 501, 505, 551, 901). Pure syntax
 * and consistency: names are resolved by the server. */
int dtcp_request_parse(const struct dtcp_msg *m, struct dtcp_request *r, struct dtcp_error *err);
/* Writes a request as a message with canonical values (no Authentication-Info
 * line: see dtcp_sign_append). Returns its length or 0 when cap is too small. */
size_t dtcp_request_format(const struct dtcp_request *r, char *out, size_t cap);
/* Appends "Authentication-Info: <hmac of out[0..n)>\r\n\r\n". Returns new length or 0. */
size_t dtcp_sign_append(const void *key, size_t keylen, char *out, size_t n, size_t cap);

/* Value parsers, exposed for the client and tests. Each returns 0 or the
 * code that the value deserves (400 syntax, 432 inconsistent or too many
 * entries, 501 negation). */
int dtcp_parse_prefix_list(const char *s, size_t n, struct dtcp_prefix_set *out);
int dtcp_parse_range_list(const char *s, size_t n, uint64_t max, struct dtcp_range_set *out);
int dtcp_parse_addr(const char *s, size_t n, struct dtcp_addr *out);
/* X-MD-Intercept-Id: hex, optional 0x, at most 16 significant digits. 0 or -1. */
int dtcp_parse_intercept_id(const char *s, size_t n, uint64_t *out);
/* Minimal prefix cover of [lo, hi] (inclusive, same family, lo <= hi):
 * the number of prefixes, or -1 if more than max. */
int dtcp_range_to_prefixes(const uint8_t lo[16], const uint8_t hi[16], int bits, struct dtcp_prefix *out, int max);
/* Decodes \ddd escapes (decimal octet); rejects empty, too long and control
 * bytes. Returns 0 or -1. */
int dtcp_unescape_name(const char *s, size_t n, struct dtcp_name *out);
/* Escapes a name for output (\ddd for backslash and non-printable bytes). */
void dtcp_escape_name(const char *s, char *out, size_t cap);

/* ---- replies ---------------------------------------------------------------- */

struct dtcp_reply {
	int version;
	int code;
	bool has_seq;
	uint64_t seq;
	uint64_t now_ms; /* TIMESTAMP, ms since the epoch, UTC */
	bool has_criteria_id;
	uint32_t criteria_id;
	bool has_count;
	uint64_t count;
	const char *item; /* error: offending item line, or NULL */
	const char *blocks; /* LIST: formatted blocks, or NULL */
	size_t blocks_len;
	const uint32_t *ids; /* audit only: the criteria a request changed */
	size_t n_ids;
	const char *reason; /* NULL: dtcp_reason(code); else one printable line */
};
/* Formats and signs. Returns the length, or 0 when cap is too small. */
size_t dtcp_reply_format(const struct dtcp_reply *r, const void *key, size_t keylen, char *out, size_t cap);
#define DTCP_TIME_LEN 32
void dtcp_format_time(uint64_t ms, char out[DTCP_TIME_LEN]);

/* A parsed reply, for the client. */
struct dtcp_reply_view {
	int version, code;
	bool has_seq;
	uint64_t seq;
	bool signature_ok;
	bool last; /* not a LIST part to be continued (CRITERIA-NUM < COUNT) */
	struct dtcp_msg msg;
};
int dtcp_reply_parse(const char *buf, size_t n, const void *key, size_t keylen, struct dtcp_reply_view *v);

/* ---- server: state logic over a backend ------------------------------------------ */

struct dtcp_counters {
	uint64_t packets, bytes;
	uint64_t last_match_ms; /* 0: never matched */
};

/* The datapath. Every call returns 0 or -1; on -1 nothing changed there. */
struct dtcp_backend {
	int (*install)(void *ctx, const struct dtcp_criterion *c);
	int (*remove)(void *ctx, uint32_t id);
	int (*read_counters)(void *ctx, uint32_t id, struct dtcp_counters *out);
	/* Optional: the counters of n criteria at once (out[i] for ids[i]), so
	 * that expiry at 1M criteria is not 1M reads a second. NULL:
	 * read_counters one by one. */
	int (*read_counters_many)(void *ctx, const uint32_t *ids, size_t n, struct dtcp_counters *out);
};

struct dtcp_net {
	uint8_t family;
	struct dtcp_prefix p;
};
bool dtcp_net_contains(const struct dtcp_net *net, const struct dtcp_addr *a);

enum dtcp_seq_mode { DTCP_SEQ_OFF = 0, DTCP_SEQ_STRICT };

/* Per control source policy (dtcp.md 3.4). Empty allow lists allow anything. */
struct dtcp_source_policy {
	const void *key;
	size_t keylen;
	enum dtcp_seq_mode seq_mode;
	uint32_t max_criteria; /* 0: only the global limit */
	size_t n_allow_cdest;
	const struct dtcp_net *allow_cdest;
	const struct dtcp_range_set *allow_cdest_port; /* NULL: any */
	size_t n_allow_src;
	const struct dtcp_net *allow_src;
	/* The drafts' stricter readings, where dtcp.md 4.1/4.2 follow the
	 * FlowTapLite document instead (all false by default): */
	bool refuse_no_lifetime; /* ADD with no lifetime: 433, not static */
	bool cdest_whole; /* Dest-Address/Port given: the configured
					   * content destination is not consulted */
	bool delete_static_needs_flag; /* DELETE without Flags: STATIC keeps static ones */
};

struct dtcp_entry;

/* An X3 destination's delivery, as LIST Stats shows it: the destination's,
 * shared by every criterion that names it. */
struct dtcp_x3_stats {
	char state[16]; /* up, down, connecting, handshake, not running */
	uint64_t pdus; /* framed */
	uint64_t confirmed; /* the receiver's keepalive acknowledged them */
	uint64_t bytes; /* TLS payload written */
	uint64_t buffer_full, lost, kernel; /* drops by reason */
};

/* What the daemon configures. Callbacks return 0 (found) or -1. */
#define DTCP_CDEST_FIXED 1
struct dtcp_config {
	void *ctx;
	const struct dtcp_source_policy *(*source)(void *ctx, const char *csource);
	/* interface name (Linux or Junos alias) -> Linux netdev name */
	int (*resolve_ifname)(void *ctx, const char *name, struct dtcp_name *out);
	int (*resolve_vrf)(void *ctx, const char *name, struct dtcp_name *out);
	/* Optional: a Linux netdev (scope DTCP_SCOPE_INPUT/OUTPUT) or group
	 * (DTCP_SCOPE_VRF) name -> its datapath handle, nonzero (ifindex,
	 * group bit); -1: none now. Without it the keys stay 0. */
	int (*scope_key)(void *ctx, int scope, const char *name, uint64_t *key);
	/* also DTCP_CDEST_FIXED: found, and an ADD may not give its address or
	 * port (430): an X3 destination, docs/x3.md */
	int (*cdest_lookup)(void *ctx, const char *name, struct dtcp_cdest *out);
	/* Optional: nonzero when the destination, as resolved, is where the
	 * copies of an X3 delivery process come in under another name (a
	 * configured X3 destination's address and port, an X1 delivery slot):
	 * refused 430, so that no source feeds another's X3 stream. */
	int (*cdest_reserved)(void *ctx, const struct dtcp_cdest *cd);
	/* Optional: the XID of the X3 destination of that name (0), or -1 when
	 * it is none; LIST shows it as X-X3-XID (docs/dtcp.md). Asked at each
	 * LIST, not kept in the criterion: a reload may change the XID. */
	int (*cdest_xid)(void *ctx, const char *name, uint8_t xid[16]);
	/* Optional: the delivery status of the X3 destination of that name (0),
	 * -1 when it is none; LIST Stats shows it (X-X3-STATE and the lines
	 * after it, docs/dtcp.md 4.4). Asked at each LIST block. */
	int (*cdest_x3_stats)(void *ctx, const char *name, struct dtcp_x3_stats *out);
	/* Audit: every message and its outcome (code 0: dropped, no reply),
	 * and every expiry. why is a fixed string, never client data. */
	void (*audit)(void *ctx, const char *csource, const char *method, int code, uint32_t id, const char *why);
	/* When set, replaces audit for answered requests: the whole request
	 * (Seq included) and every criterion it added, deleted or refreshed. */
	void (*audit_request)(void *ctx, const struct dtcp_request *r, int code, const uint32_t *ids, size_t n_ids,
			      const char *why);
	/* Optional: called before a request changes criterion id: e is the
	 * entry as it is (a REFRESH or DELETE), NULL for the id an ADD is
	 * about to take. The daemon keeps what it needs to undo the change
	 * (dtcp_server_take, dtcp_server_restore) if it cannot be made durable. */
	void (*before_change)(void *ctx, uint32_t id, const struct dtcp_entry *e);
	/* Optional: called before an authenticated request is evaluated (the
	 * daemon commits what earlier requests changed before a LIST reads it). */
	void (*before_request)(void *ctx, const struct dtcp_request *r);
	uint32_t max_criteria; /* global; 0: DTCP_MAX_CRITERIA_DEFAULT */
	uint8_t max_cdests; /* 0: DTCP_CDESTS_DEFAULT */
	bool any_csource; /* Csource-ID need not be the SSH user */
};
#define DTCP_MAX_CRITERIA_DEFAULT 1048576u

/* What the server keeps of a criterion: its fixed-size fields here, its lists
 * (prefixes, ranges, scope names, destinations, the given text) packed into
 * the entry's own allocation, sized to what the request had: a full
 * struct dtcp_criterion is about 15 KiB, almost all of it unused bounds, and
 * 1M criteria must fit in memory. dtcp_entry_criterion gives it back whole. */
struct dtcp_crit_head {
	uint32_t id;
	struct dtcp_name csource;
	char csource_addr[48];
	uint8_t family, scope, nscope, ncdest;
	bool is_static, has_intercept;
	uint32_t priority;
	uint64_t timeout[DTCP_T_N];
	uint64_t intercept_id;
};

struct dtcp_entry {
	struct dtcp_crit_head c;
	uint64_t added_ms;
	uint64_t start_ms[DTCP_T_N]; /* when each time limit (re)started */
	uint64_t base[DTCP_T_N]; /* counter values when packets/bytes limits started */
	uint32_t num_refresh;
	uint64_t last_refresh_ms; /* 0: never */
	const struct dtcp_cdest *cdest; /* c.ncdest of them, in packed */
	const char *given; /* c.given, NUL-terminated, in packed */
	uint32_t packed_len;
	_Alignas(8) unsigned char packed[]; /* cdests, given, then the other lists */
};

/* A new entry holding c (added_ms and the rest zero); NULL: no memory.
 * Free it with free() unless a server took it. */
struct dtcp_entry *dtcp_entry_new(const struct dtcp_criterion *c);
/* The whole criterion back, as it was given to dtcp_entry_new (the bytes
 * past each list's count zero). */
void dtcp_entry_criterion(const struct dtcp_entry *e, struct dtcp_criterion *out);
/* A copy of e (its own allocation); NULL: no memory. */
struct dtcp_entry *dtcp_entry_dup(const struct dtcp_entry *e);
/* Scope name i (< c.nscope) without unpacking the rest; NULL past the end. */
const char *dtcp_entry_scope_name(const struct dtcp_entry *e, int i);

struct dtcp_seq_state {
	struct dtcp_name csource;
	uint64_t last;
};

struct dtcp_list;

struct dtcp_server {
	const struct dtcp_config *cfg;
	const struct dtcp_backend *be;
	void *be_ctx;
	uint32_t next_id; /* persisted by the daemon */
	struct dtcp_entry **tab; /* sorted by id */
	size_t n, cap;
	size_t front; /* free slots before tab in its allocation */
	size_t ndynamic; /* entries that are not static: expiry's work */
	struct dtcp_seq_state *seq; /* strict-mode last accepted Seq per source */
	size_t nseq;
	struct dtcp_list *lists; /* LISTs being answered a reply at a time: a
					     criterion of theirs that goes is kept for them */
};
int dtcp_server_init(struct dtcp_server *s, const struct dtcp_config *cfg, const struct dtcp_backend *be, void *be_ctx);
void dtcp_server_free(struct dtcp_server *s);
/* Re-inserts a persisted criterion (restart). 0: the server owns e now;
 * -1 (duplicate id or no memory): the caller still does. */
int dtcp_server_restore(struct dtcp_server *s, struct dtcp_entry *e);
/* The scope keys of a criterion read back from the state file (its names
 * are Linux names): asked of cfg->scope_key; a name the host lacks now gets
 * key 0, which the backend refuses. */
void dtcp_server_scope_keys(const struct dtcp_server *s, struct dtcp_criterion *c);
const struct dtcp_entry *dtcp_server_find(const struct dtcp_server *s, uint32_t id);
/* Takes entry id out of the table without a backend call (an undo); the
 * caller owns it then. NULL: no such entry. */
struct dtcp_entry *dtcp_server_take(struct dtcp_server *s, uint32_t id);
/* Index of the first of n entries (sorted by id) with an id >= id. */
size_t dtcp_entry_lower_bound(struct dtcp_entry *const *tab, size_t n, uint32_t id);

/* Handles one authenticated request. The replies (one, or several for a long
 * LIST) are passed to emit, each to be written with one write. */
typedef void (*dtcp_emit_fn)(void *arg, const char *buf, size_t n);
void dtcp_server_handle(struct dtcp_server *s, const struct dtcp_source_policy *pol, const struct dtcp_request *r,
			const char *peer_addr, uint64_t now_ms, dtcp_emit_fn emit, void *arg);

/* The same, but a LIST is not answered at once: *stream gets its cursor
 * (its checks done, its set and count fixed; NULL if it was answered with
 * an error) and the caller makes its replies with dtcp_list_step. */
void dtcp_server_handle_stream(struct dtcp_server *s, const struct dtcp_source_policy *pol,
			       const struct dtcp_request *r, const char *peer_addr, uint64_t now_ms, dtcp_emit_fn emit,
			       void *arg, struct dtcp_list **stream);
/* Emits the next reply of a LIST (at most DTCP_REPLY_SOFT_MAX bytes, every
 * block whole, CRITERIA-NUM continuing): 1 more to come, 0 that was its
 * last (then free it). Its set is the one of its start: a criterion deleted
 * or expired since is listed as it was (docs/dtcp-library.md "LIST"). */
int dtcp_list_step(struct dtcp_list *l, uint64_t now_ms, dtcp_emit_fn emit, void *arg);
/* Ends a LIST, whether its last reply went or not. NULL: nothing. */
void dtcp_list_free(struct dtcp_list *l);

/* Strict mode (3.2): accepts seq if greater than the source's last accepted
 * one by at most DTCP_SEQ_WINDOW (any value the first time) and records it. */
bool dtcp_server_seq_accept(struct dtcp_server *s, const char *csource, uint64_t seq);

/* Remaining time/packets/bytes of a dynamic entry; UINT64_MAX: no such limit. */
uint64_t dtcp_entry_remaining(const struct dtcp_entry *e, enum dtcp_timeout t, const struct dtcp_counters *cnt,
			      uint64_t now_ms);
/* Removes expired dynamic criteria. Returns how many expired; -1 if a
 * backend call failed (those entries stay and are tried again next time). */
int dtcp_server_expire(struct dtcp_server *s, uint64_t now_ms);

/* ---- session: one SSH channel --------------------------------------------------- */

enum dtcp_session_status { DTCP_SESSION_OPEN, DTCP_SESSION_CLOSE };

struct dtcp_session {
	struct dtcp_server *srv;
	struct dtcp_name user; /* SSH login name */
	char peer_addr[48];
	char *buf; /* unprocessed bytes */
	size_t n;
	struct dtcp_framer fr;
	bool discarding; /* dropping an oversize message */
	int fails; /* unanswered messages in a row */
	/* stream_lists (the caller sets it): a LIST's replies are made with
	 * dtcp_session_list_step, and while it lasts the messages after it
	 * wait in buf (in order, at most DTCP_SESSION_HOLD_MAX bytes) */
	bool stream_lists;
	struct dtcp_list *list;
	size_t cap; /* bytes at buf */
	bool overflow; /* more than DTCP_SESSION_HOLD_MAX held: closed */
};
/* What a session holds behind a streaming LIST: a client may pipeline
 * thousands of requests after one, but not without end (the bytes are the
 * monitor's memory: 256 sessions x 4 MiB at the most). */
#define DTCP_SESSION_HOLD_MAX (4u << 20)
int dtcp_session_init(struct dtcp_session *ss, struct dtcp_server *srv, const char *user, const char *peer_addr);
void dtcp_session_free(struct dtcp_session *ss);
/* Feeds received bytes; emits replies in order. CLOSE after DTCP_FAILS_CLOSE
 * unanswered messages in a row, or (stream_lists) when more than
 * DTCP_SESSION_HOLD_MAX bytes wait behind a LIST (overflow set). */
enum dtcp_session_status dtcp_session_feed(struct dtcp_session *ss, const void *data, size_t n, uint64_t now_ms,
					   dtcp_emit_fn emit, void *arg);
/* stream_lists: a LIST of this session is being answered. */
bool dtcp_session_listing(const struct dtcp_session *ss);
/* Its next reply; after its last, the messages that waited are handled
 * (up to the next LIST). The same status as dtcp_session_feed. */
enum dtcp_session_status dtcp_session_list_step(struct dtcp_session *ss, uint64_t now_ms, dtcp_emit_fn emit, void *arg);

#endif
