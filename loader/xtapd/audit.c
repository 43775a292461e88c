/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The audit log (audit.h, docs/state-and-audit.md). Each line is built whole
 * in a buffer and written with one write(2) on an O_APPEND descriptor: the
 * kernel appends it at the end of the file under the inode lock, so lines of
 * concurrent writers never mix (a regular file, not a pipe: no PIPE_BUF
 * limit applies).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "fault.h"

#define PEER_MAX 64

/* Held lines (xtap_audit_hold) beyond this go out at once: bounds the memory
 * a burst of requests can take. */
#define AUDIT_HOLD_MAX (1u << 20)

struct xtap_audit {
	int fd;
	bool broken; /* the last line was cut by a failed write */
	uint64_t failures;
	bool holding; /* lines wait in held until xtap_audit_flush */
	char *held;
	size_t nheld, capheld, lines_held;
	uint64_t epoch; /* flushes of held lines: marks of an older one are stale */
	bool unsynced; /* written since the last xtap_audit_sync */
	char peer[PEER_MAX];
	bool has_peer;
};

/* One line being built. buf[0] is kept for the newline that closes a line
 * a failed write left open. */
struct line {
	char buf[1 + XTAP_AUDIT_LINE_MAX];
	size_t n;
	bool cut;
};

static void raw(struct line *l, const char *s, size_t n)
{
	/* XTAP_AUDIT_LINE_MAX bounds every line; this only guards the bound */
	if (l->n + n > sizeof(l->buf)) {
		n = sizeof(l->buf) - l->n;
		l->cut = true;
	}
	memcpy(l->buf + l->n, s, n);
	l->n += n;
}

static void lit(struct line *l, const char *s)
{
	raw(l, s, strlen(s));
}

static void u64(struct line *l, uint64_t v)
{
	char t[24];
	int k = snprintf(t, sizeof(t), "%" PRIu64, v);
	raw(l, t, (size_t)k);
}

/* A JSON string: \" \\ \n \r \t by name; other bytes below 0x20, DEL and
 * every byte from 0x80 as \u00XX, the byte's value. So the log is ASCII and
 * valid JSON whatever the input, and a reader gets the exact bytes back by
 * taking each character (all below U+0100) as one byte. */
static void str(struct line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char e[6 * XTAP_AUDIT_STR_MAX + 2];
	size_t o = 0, i;

	if (!s) {
		lit(l, "null");
		return;
	}
	e[o++] = '"';
	for (i = 0; s[i] && i < XTAP_AUDIT_STR_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			e[o++] = '\\';
			e[o++] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			e[o++] = '\\';
			e[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c >= 0x7f) {
			memcpy(e + o, "\\u00", 4);
			e[o + 4] = hex[c >> 4];
			e[o + 5] = hex[c & 15];
			o += 6;
		} else {
			e[o++] = (char)c;
		}
	}
	if (s[i])
		l->cut = true;
	e[o++] = '"';
	raw(l, e, o);
}

/* "name": */
static void key(struct line *l, const char *name)
{
	lit(l, ",\"");
	lit(l, name);
	lit(l, "\":");
}

/* RFC 3339, UTC, milliseconds: 2024-05-01T12:00:00.000Z */
static void start(struct line *l, uint64_t time_ms, const char *event)
{
	struct tm tm;
	time_t t = (time_t)(time_ms / 1000);
	char ts[80]; /* room for what the compiler cannot rule out, not only years up to 9999 */

	l->n = 1;
	l->cut = false;
	lit(l, "{\"time\":");
	if (time_ms / 1000 > (uint64_t)253402300799 || !gmtime_r(&t, &tm)) {
		lit(l, "null"); /* after 9999-12-31: not an RFC 3339 year */
	} else {
		snprintf(ts, sizeof(ts), "\"%04d-%02d-%02dT%02d:%02d:%02d.%03uZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(time_ms % 1000));
		lit(l, ts);
	}
	key(l, "event");
	str(l, event);
}

/* Writes p[0..n), lines whole lines after a newline that closes a cut line
 * if lead, with one write. */
static int write_lines(struct xtap_audit *a, const char *p, size_t n, size_t lines, bool lead)
{
	ssize_t k;

	XTAP_CRASH(audit_write_before);
	do
		k = xtap_io_write(a->fd, p, n);
	while (k < 0 && errno == EINTR);
	XTAP_CRASH(audit_write_after);
	if (k > 0)
		a->unsynced = true;
	if (k == (ssize_t)n) {
		a->broken = false;
		return 0;
	}
	/* A short write (disk full) leaves a partial line: the next line
	 * starts with a newline so that it is whole. Lines written whole
	 * before it are not failures. */
	if (k > 0) {
		a->broken = p[k - 1] != '\n';
		for (ssize_t i = lead; i < k; i++)
			lines -= p[i] == '\n' && lines > 0;
		errno = ENOSPC;
	}
	a->failures += lines;
	return -1;
}

int xtap_audit_flush(struct xtap_audit *a)
{
	int rc = 0;

	if (a && a->nheld) {
		rc = write_lines(a, a->held, a->nheld, a->lines_held, a->held[0] == '\n');
		a->nheld = a->lines_held = 0;
		a->epoch++;
	}
	return rc;
}

int xtap_audit_sync(struct xtap_audit *a)
{
	int rc;

	if (!a || !a->unsynced)
		return 0;
	XTAP_CRASH(audit_sync_before);
	rc = xtap_io_fdatasync(a->fd);
	XTAP_CRASH(audit_sync_after);
	if (!rc)
		a->unsynced = false;
	return rc;
}

struct xtap_audit_mark xtap_audit_mark(const struct xtap_audit *a)
{
	return (struct xtap_audit_mark){ a && a->holding ? a->epoch : UINT64_MAX, a ? a->nheld : 0 };
}

int xtap_audit_held_replace(struct xtap_audit *a, struct xtap_audit_mark from, struct xtap_audit_mark to,
			    struct xtap_audit_mark tail)
{
	size_t mid, rest;
	char *t;

	if (!a || !a->holding || from.epoch != a->epoch || to.epoch != a->epoch || tail.epoch != a->epoch ||
	    from.off > to.off || to.off > tail.off || tail.off > a->nheld)
		return -1;
	mid = tail.off - to.off; /* lines between the old ones and the new */
	rest = a->nheld - tail.off; /* the new lines */
	if (!(t = malloc(mid ? mid : 1)))
		return -1;
	for (size_t i = from.off; i < to.off; i++)
		a->lines_held -= a->held[i] == '\n' && a->lines_held > 0;
	/* [from, to) old | [to, tail) mid | [tail, n) new  ->  new | mid */
	memcpy(t, a->held + to.off, mid);
	memmove(a->held + from.off, a->held + tail.off, rest);
	memcpy(a->held + from.off + rest, t, mid);
	a->nheld = from.off + rest + mid;
	free(t);
	return 0;
}

int xtap_audit_hold(struct xtap_audit *a, bool on)
{
	int rc = on ? 0 : xtap_audit_flush(a);

	if (a)
		a->holding = on;
	return rc;
}

static int finish(struct xtap_audit *a, struct line *l)
{
	const char *p = l->buf + 1;
	size_t n;

	if (l->cut)
		lit(l, ",\"cut\":true");
	/* room for "}\n" is part of XTAP_AUDIT_LINE_MAX's 512 */
	if (l->n + 2 > sizeof(l->buf))
		l->n = sizeof(l->buf) - 2;
	memcpy(l->buf + l->n, "}\n", 2);
	l->n += 2;
	n = l->n - 1;
	if (a->holding) {
		if (a->nheld + n > AUDIT_HOLD_MAX)
			xtap_audit_flush(a); /* a failure is counted there */
		if (a->nheld + n + 1 > a->capheld) {
			size_t cap = a->capheld ? a->capheld : 65536;
			char *h;

			while (cap < a->nheld + n + 1)
				cap *= 2;
			if (!(h = realloc(a->held, cap))) {
				xtap_audit_flush(a); /* no memory to hold it: what is held, then it */
				goto direct;
			}
			a->held = h;
			a->capheld = cap;
		}
		/* a batch after a cut line starts with the newline that closes it */
		if (a->broken && !a->nheld)
			a->held[a->nheld++] = '\n';
		memcpy(a->held + a->nheld, p, n);
		a->nheld += n;
		a->lines_held++;
		return 0;
	}
direct:
	if (a->broken) {
		l->buf[0] = '\n';
		p--;
		n++;
	}
	return write_lines(a, p, n, 1, p[0] == '\n');
}

struct xtap_audit *xtap_audit_open(const char *path)
{
	struct xtap_audit *a = calloc(1, sizeof(*a));
	struct stat st;
	int err;

	if (!a)
		return NULL;
	a->fd = xtap_io_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (a->fd < 0)
		goto fail;
	if (fstat(a->fd, &st))
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL; /* appends to a FIFO or device would not be atomic */
		goto fail;
	}
	/* Created before with another mode, or under a umask: make it 0600. */
	if (fchmod(a->fd, 0600))
		goto fail;
	return a;
fail:
	err = errno;
	if (a->fd >= 0)
		close(a->fd); /* already failing */
	free(a);
	errno = err;
	return NULL;
}

int xtap_audit_close(struct xtap_audit *a)
{
	int rc = 0;
	if (!a)
		return 0;
	if (xtap_audit_flush(a))
		rc = -1;
	if (close(a->fd))
		rc = -1;
	free(a->held);
	free(a);
	return rc;
}

uint64_t xtap_audit_failures(const struct xtap_audit *a)
{
	return a->failures;
}

int xtap_audit_request(struct xtap_audit *a, uint64_t time_ms, const char *csource, const char *peer,
		       const char *method, const uint64_t *seq, int code, const uint32_t *ids, size_t n_ids,
		       const char *why)
{
	size_t parts = n_ids ? (n_ids + XTAP_AUDIT_IDS_PER_LINE - 1) / XTAP_AUDIT_IDS_PER_LINE : 1;
	struct line *l = malloc(sizeof(*l));
	int rc = 0;

	if (!l) {
		a->failures++;
		return -1;
	}
	for (size_t p = 0; p < parts; p++) {
		size_t from = p * XTAP_AUDIT_IDS_PER_LINE;
		size_t to = n_ids - from > XTAP_AUDIT_IDS_PER_LINE ? from + XTAP_AUDIT_IDS_PER_LINE : n_ids;
		start(l, time_ms, "request");
		key(l, "csource");
		str(l, csource);
		key(l, "peer");
		str(l, peer);
		key(l, "method");
		str(l, method);
		key(l, "seq");
		if (seq)
			u64(l, *seq);
		else
			lit(l, "null");
		key(l, "code");
		u64(l, code < 0 ? 0 : (uint64_t)code);
		key(l, "outcome");
		str(l, code <= 0 ? "dropped" : code == 200 ? "ok" : "error");
		key(l, "ids");
		lit(l, "[");
		for (size_t i = from; i < to; i++) {
			if (i > from)
				lit(l, ",");
			u64(l, ids[i]);
		}
		lit(l, "]");
		if (parts > 1) {
			key(l, "part");
			u64(l, p + 1);
			key(l, "parts");
			u64(l, parts);
		}
		key(l, "why");
		str(l, why);
		if (finish(a, l))
			rc = -1;
	}
	free(l);
	return rc;
}

static const char *const expire_names[] = {
	[XTAP_EXPIRE_IDLE] = "idle",
	[XTAP_EXPIRE_TOTAL] = "total",
	[XTAP_EXPIRE_PACKETS] = "packets",
	[XTAP_EXPIRE_BYTES] = "bytes",
};

int xtap_expire_reason_parse(const char *s)
{
	for (int i = 0; s && i < (int)(sizeof(expire_names) / sizeof(expire_names[0])); i++)
		if (!strcmp(s, expire_names[i]))
			return i;
	return -1;
}

int xtap_audit_expire(struct xtap_audit *a, uint64_t time_ms, const char *csource, uint32_t id,
		      enum xtap_expire_reason reason)
{
	struct line *l = malloc(sizeof(*l));
	int rc;

	if (!l) {
		a->failures++;
		return -1;
	}
	start(l, time_ms, "expire");
	key(l, "csource");
	str(l, csource);
	key(l, "id");
	u64(l, id);
	key(l, "reason");
	str(l, (unsigned)reason < sizeof(expire_names) / sizeof(expire_names[0]) ? expire_names[reason] : NULL);
	rc = finish(a, l);
	free(l);
	return rc;
}

static int auth_line(struct xtap_audit *a, uint64_t time_ms, const char *event, const char *user, const char *peer,
		     const char *method)
{
	struct line *l = malloc(sizeof(*l));
	int rc;

	if (!l) {
		a->failures++;
		return -1;
	}
	start(l, time_ms, event);
	key(l, "user");
	str(l, user);
	key(l, "peer");
	str(l, peer);
	key(l, "method");
	str(l, method);
	rc = finish(a, l);
	free(l);
	return rc;
}

int xtap_audit_auth_fail(struct xtap_audit *a, uint64_t time_ms, const char *user, const char *peer, const char *method)
{
	return auth_line(a, time_ms, "auth_fail", user, peer, method);
}

int xtap_audit_auth_ok(struct xtap_audit *a, uint64_t time_ms, const char *user, const char *peer, const char *method)
{
	return auth_line(a, time_ms, "auth_ok", user, peer, method);
}

static const char *const kind_names[XTAP_EV_N] = {
	[XTAP_EV_START] = "start",
	[XTAP_EV_STOP] = "stop",
	[XTAP_EV_RELOAD] = "reload",
	[XTAP_EV_ADOPT] = "adopt",
	[XTAP_EV_REBUILD] = "rebuild",
	[XTAP_EV_STATE_ERROR] = "state_error",
	[XTAP_EV_CONNECTION_REFUSED] = "connection_refused",
	[XTAP_EV_SESSION_OPEN] = "session_open",
	[XTAP_EV_SESSION_CLOSE] = "session_close",
	[XTAP_EV_WORKER] = "worker",
	[XTAP_EV_SUPPRESSED] = "suppressed",
	[XTAP_EV_X3] = "x3",
};

const char *xtap_audit_kind_name(enum xtap_audit_kind k)
{
	return (unsigned)k < XTAP_EV_N ? kind_names[k] : "unknown";
}

int xtap_audit_event(struct xtap_audit *a, uint64_t time_ms, enum xtap_audit_kind kind, const char *detail)
{
	struct line *l = malloc(sizeof(*l));
	int rc;

	if (!l) {
		a->failures++;
		return -1;
	}
	start(l, time_ms, xtap_audit_kind_name(kind));
	key(l, "detail");
	str(l, detail);
	rc = finish(a, l);
	free(l);
	return rc;
}

void xtap_audit_set_peer(struct xtap_audit *a, const char *peer)
{
	a->has_peer = peer != NULL;
	snprintf(a->peer, sizeof(a->peer), "%s", peer ? peer : "");
}

void xtap_audit_dtcp(void *ctx, const char *csource, const char *method, int code, uint32_t id, const char *why)
{
	struct xtap_audit *a = ctx;
	struct timespec ts;
	uint64_t now;
	int reason;

	/* CLOCK_REALTIME cannot fail with a valid clock id and pointer */
	if (clock_gettime(CLOCK_REALTIME, &ts))
		ts = (struct timespec){ 0, 0 };
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* Failures are counted in a; the callback has no way to report them. */
	if (method && !strcmp(method, "EXPIRE") && (reason = xtap_expire_reason_parse(why)) >= 0) {
		xtap_audit_expire(a, now, csource, id, (enum xtap_expire_reason)reason);
		return;
	}
	xtap_audit_request(a, now, csource, a->has_peer ? a->peer : NULL, method, NULL, code, &id, id ? 1 : 0, why);
}
