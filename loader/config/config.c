/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xtapd's configuration: Junos `set` statements (docs/configuration.md).
 *
 * A line is split into words (tokenize), the words are matched against one
 * table of statement patterns (grammar[]), and the matching row's handler
 * stores the values. Repeats are handled before any handler runs, the Junos
 * way: an identical statement is a no-op, and a statement that sets a single
 * value (a `=` in its pattern) may not be repeated with another value. The
 * cross-statement rules run once every line is read (check_semantics).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "config.h"
#include "uuid.h"

/* ---- errors ------------------------------------------------------------------ */

struct word {
	const char *s; /* NUL-terminated, escapes resolved */
	size_t n;
	bool quoted; /* written in double quotes: never echoed */
};

/* A statement seen without error, for repeat detection. */
struct seen {
	char *key, *val; /* length-prefixed word lists */
	size_t keyn, valn;
	int line;
};

struct parse {
	struct xtap_config *c;
	struct xtap_config_errors *errs;
	int nerr;
	int line;
	int line_errs; /* errors reported for the current line */
	char wbuf[XTAP_CFG_LINE_MAX + XTAP_CFG_WORDS_MAX + 1]; /* words of one line */
	struct seen *seen;
	size_t nseen, capseen;
};

static void __attribute__((format(printf, 3, 4))) err_at(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	p->nerr++;
	p->line_errs++;
	if (!p->errs)
		return;
	p->errs->n++;
	if (p->errs->kept >= XTAP_CFG_ERRS_MAX)
		return;
	struct xtap_config_error *e = &p->errs->e[p->errs->kept++];
	e->line = line;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

#define perr(p, ...) err_at((p), (p)->line, __VA_ARGS__)

/* Longest word shown in a message; longer ones end in "...". */
#define SHOW_MAX 40
#define SHOW_BUF (SHOW_MAX * 4 + 8)

/* A word for a message: bounded, non-printable bytes as \xHH, and never the
 * text of a quoted word (quotes hold hashes, keys and comments). */
static const char *show(const struct word *w, char *out)
{
	size_t o = 0;

	if (w->quoted) {
		snprintf(out, SHOW_BUF, "\"...\"");
		return out;
	}
	for (size_t i = 0; i < w->n && i < SHOW_MAX; i++) {
		unsigned char ch = (unsigned char)w->s[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, SHOW_BUF - o, "\\x%02x", ch);
	}
	if (w->n > SHOW_MAX) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = 0;
	return out;
}

/* ---- tokenizer ------------------------------------------------------------------ */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Splits one line (no line end) into words. Returns the number of words, or
 * -1 after reporting an error. A quoted string takes \" and \\ escapes only. */
static int tokenize(struct parse *p, const char *s, size_t n, struct word *w)
{
	char *o = p->wbuf;
	size_t i = 0;
	int nw = 0;

	for (size_t k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)s[k];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			perr(p, "control character 0x%02x in the line", ch);
			return -1;
		}
	}
	for (;;) {
		while (i < n && is_blank(s[i]))
			i++;
		if (i == n || s[i] == '#')
			return nw;
		if (nw == XTAP_CFG_WORDS_MAX) {
			perr(p, "more than %d words in one statement", XTAP_CFG_WORDS_MAX);
			return -1;
		}
		struct word *cur = &w[nw++];
		cur->s = o;
		cur->quoted = s[i] == '"';
		if (cur->quoted) {
			i++;
			for (;;) {
				if (i == n) {
					perr(p, "unterminated quoted string");
					return -1;
				}
				if (s[i] == '"')
					break;
				if (s[i] == '\\') {
					if (i + 1 == n || (s[i + 1] != '"' && s[i + 1] != '\\')) {
						perr(p, "only \\\" and \\\\ may follow a backslash in a quoted string");
						return -1;
					}
					i++;
				}
				*o++ = s[i++];
			}
			i++;
			if (i < n && !is_blank(s[i])) {
				perr(p, "a quoted string must be followed by a blank or the end of the line");
				return -1;
			}
		} else {
			while (i < n && !is_blank(s[i])) {
				if (s[i] == '"') {
					perr(p, "a double quote inside a word");
					return -1;
				}
				*o++ = s[i++];
			}
		}
		cur->n = (size_t)(o - cur->s);
		*o++ = 0;
	}
}

/* ---- value checks ------------------------------------------------------------------ */

static bool word_is(const struct word *w, const char *lit)
{
	return w->n == strlen(lit) && memcmp(w->s, lit, w->n) == 0;
}

static bool parse_uint(const struct word *w, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (w->n == 0 || w->n > 20)
		return false;
	for (size_t i = 0; i < w->n; i++) {
		if (w->s[i] < '0' || w->s[i] > '9')
			return false;
		unsigned d = (unsigned)(w->s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Names that travel in DTCP headers or logs: user, class, group, cdest. */
static bool name_ok(const struct word *w)
{
	if (w->n == 0 || w->n >= XTAP_CFG_NAME_MAX)
		return false;
	for (size_t i = 0; i < w->n; i++) {
		char ch = w->s[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			ch == '_' || ch == '-' || ch == '.';
		if (!ok || (i == 0 && (ch == '-' || ch == '.')))
			return false;
	}
	return true;
}

/* A Linux netdev name as the kernel takes it (and as loader/lib/vtpair.c checks). */
static bool netdev_ok(const struct word *w)
{
	if (w->n == 0 || w->n >= XTAP_CFG_IFNAME_MAX || word_is(w, ".") || word_is(w, ".."))
		return false;
	for (size_t i = 0; i < w->n; i++) {
		unsigned char ch = (unsigned char)w->s[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == ':' || ch == '%')
			return false;
	}
	return true;
}

/* A Junos interface name ("ge-2/0/1", "xe-0/0/0:1.100"): printable, no blanks. */
static bool junos_if_ok(const struct word *w)
{
	if (w->n == 0 || w->n >= XTAP_CFG_JUNOS_IF_MAX)
		return false;
	for (size_t i = 0; i < w->n; i++) {
		unsigned char ch = (unsigned char)w->s[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == ',' || ch == '\\')
			return false;
	}
	return true;
}

static bool path_ok(const struct word *w)
{
	if (w->n < 2 || w->n >= XTAP_CFG_PATH_MAX || w->s[0] != '/')
		return false;
	for (size_t i = 0; i < w->n; i++)
		if ((unsigned char)w->s[i] < 0x20)
			return false;
	return true;
}

static bool crypt64(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		ch == '/';
}

/* Splits s at '$' into at most max fields; returns the count or -1 if more. */
static int dollar_fields(const char *s, const char **f, size_t *fn, int max)
{
	int k = 0;

	for (;;) {
		const char *d = strchr(s, '$');
		if (k == max)
			return -1;
		f[k] = s;
		fn[k] = d ? (size_t)(d - s) : strlen(s);
		k++;
		if (!d)
			return k;
		s = d + 1;
	}
}

static bool all_crypt64(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!crypt64(s[i]))
			return false;
	return n > 0;
}

/* The shape of a crypt(3) hash: $6$ (SHA-512), $5$ (SHA-256), $y$ (yescrypt),
 * $1$ (MD5, as old Junos configurations carry). Checked so that a pasted
 * plain password or a truncated hash is caught now, not at the first login. */
static bool crypt_hash_ok(const char *h)
{
	const char *f[6];
	size_t fn[6];
	int k;

	if (strncmp(h, "$6$", 3) && strncmp(h, "$5$", 3) && strncmp(h, "$1$", 3) && strncmp(h, "$y$", 3))
		return false;
	k = dollar_fields(h + 3, f, fn, 6);
	if (h[1] == 'y') /* $y$params$salt$hash */
		return k == 3 && all_crypt64(f[0], fn[0]) && all_crypt64(f[1], fn[1]) && fn[2] == 43 &&
			all_crypt64(f[2], fn[2]);
	int i = 0;
	if ((h[1] == '6' || h[1] == '5') && k == 3 && strncmp(f[0], "rounds=", 7) == 0) {
		uint64_t r;
		struct word rw = { f[0] + 7, fn[0] - 7, false };
		if (!parse_uint(&rw, 1000, 999999999, &r))
			return false;
		i = 1;
	}
	if (k != i + 2)
		return false;
	size_t salt_max = h[1] == '1' ? 8 : 16;
	size_t want = h[1] == '6' ? 86 : h[1] == '5' ? 43 : 22;
	return fn[i] <= salt_max && all_crypt64(f[i], fn[i]) && fn[i + 1] == want && all_crypt64(f[i + 1], fn[i + 1]);
}

/* An OpenSSH public key line of the statement's type: "TYPE BASE64 [comment]"
 * where the blob is base64 and starts with TYPE as an SSH string. */
static bool ssh_key_ok(enum xtap_ssh_key_type t, const struct word *w)
{
	static const char *const ecdsa[] = { "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521" };
	const char *sp = memchr(w->s, ' ', w->n), *blob, *end;
	char type[32];
	uint8_t head[4 + sizeof(type)];

	if (!sp || (size_t)(sp - w->s) >= sizeof(type))
		return false;
	memcpy(type, w->s, (size_t)(sp - w->s));
	type[sp - w->s] = 0;
	bool ok = false;
	if (t == XTAP_SSH_ED25519)
		ok = strcmp(type, "ssh-ed25519") == 0;
	else if (t == XTAP_SSH_RSA)
		ok = strcmp(type, "ssh-rsa") == 0;
	else
		for (size_t i = 0; i < sizeof(ecdsa) / sizeof(ecdsa[0]); i++)
			ok = ok || strcmp(type, ecdsa[i]) == 0;
	if (!ok)
		return false;
	blob = sp + 1;
	end = memchr(blob, ' ', w->n - (size_t)(blob - w->s));
	if (!end)
		end = w->s + w->n;
	size_t bn = (size_t)(end - blob), tl = strlen(type);
	/* ed25519: 51 bytes (68 base64), the shortest key */
	if (bn < 68 || xtap_b64_decode(blob, bn, head, 4 + tl) < (long)(4 + tl))
		return false;
	uint32_t len = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
	return len == tl && memcmp(head + 4, type, tl) == 0;
}

/* ---- table lookups ------------------------------------------------------------------ */

static void copy_word(char *dst, size_t cap, const struct word *w)
{
	size_t n = w->n < cap - 1 ? w->n : cap - 1;
	memcpy(dst, w->s, n);
	dst[n] = 0;
}

#define FIND(arr, n, field, w) \
	({ \
		__typeof__(&(arr)[0]) _r = NULL; \
		for (size_t _i = 0; _i < (n) && !_r; _i++) \
			if (word_is((w), (arr)[_i].field)) \
				_r = &(arr)[_i]; \
		_r; \
	})

/* `what` names the statement in the error: "user" or "control-source". */
static struct xtap_cfg_user *user_get(struct parse *p, const struct word *w, const char *what)
{
	struct xtap_config *c = p->c;
	char b[SHOW_BUF];
	struct xtap_cfg_user *u = FIND(c->users, c->n_users, name, w);

	if (u)
		return u;
	/* X1 owns its criteria as "X1/<admf>": a DTCP source of that name could
	 * list and delete them. name_ok refuses any '/' too; this says why this
	 * prefix never may be one. */
	if (w->n >= strlen(DTCP_X1_CSOURCE_PREFIX) &&
	    !memcmp(w->s, DTCP_X1_CSOURCE_PREFIX, strlen(DTCP_X1_CSOURCE_PREFIX))) {
		perr(p,
		     "%s '%s': names starting with '" DTCP_X1_CSOURCE_PREFIX "' are X1's control sources "
		     "(ETSI TS 103 221-1 tasking), not DTCP's",
		     what, show(w, b));
		return NULL;
	}
	if (!name_ok(w)) {
		perr(p, "user name '%s' is not 1 to %d letters, digits, '_', '-' or '.'", show(w, b),
		     XTAP_CFG_NAME_MAX - 1);
		return NULL;
	}
	if (c->n_users == XTAP_CFG_USERS_MAX) {
		perr(p, "user '%s': more than %d users", show(w, b), XTAP_CFG_USERS_MAX);
		return NULL;
	}
	u = &c->users[c->n_users++];
	copy_word(u->name, sizeof(u->name), w);
	u->line = p->line;
	return u;
}

static struct xtap_cfg_user *login_user(struct parse *p, const struct word *w)
{
	struct xtap_cfg_user *u = user_get(p, w, "user");
	if (u && !u->login) {
		u->login = true;
		u->line = p->line;
	}
	return u;
}

static struct xtap_cfg_user *csource_user(struct parse *p, const struct word *w)
{
	struct xtap_cfg_user *u = user_get(p, w, "control-source");
	if (u && !u->csource) {
		u->csource = true;
		u->csource_line = p->line;
	}
	return u;
}

static struct xtap_cfg_class *class_get(struct parse *p, const struct word *w)
{
	struct xtap_config *c = p->c;
	char b[SHOW_BUF];
	struct xtap_cfg_class *k = FIND(c->classes, c->n_classes, name, w);

	if (k)
		return k;
	if (!name_ok(w)) {
		perr(p, "class name '%s' is not 1 to %d letters, digits, '_', '-' or '.'", show(w, b),
		     XTAP_CFG_NAME_MAX - 1);
		return NULL;
	}
	if (c->n_classes == XTAP_CFG_CLASSES_MAX) {
		perr(p, "class '%s': more than %d classes", show(w, b), XTAP_CFG_CLASSES_MAX);
		return NULL;
	}
	k = &c->classes[c->n_classes++];
	copy_word(k->name, sizeof(k->name), w);
	k->line = p->line;
	return k;
}

static struct xtap_cfg_attach *attach_get(struct parse *p, const struct word *w)
{
	struct xtap_config *c = p->c;
	char b[SHOW_BUF];
	struct xtap_cfg_attach *a = FIND(c->attach, c->n_attach, netdev, w);

	if (a)
		return a;
	if (!netdev_ok(w)) {
		perr(p, "interface '%s' is not a Linux interface name (1 to 15 bytes, no '/', ':' or blank)",
		     show(w, b));
		return NULL;
	}
	if (c->n_attach == XTAP_CFG_ATTACH_MAX) {
		perr(p, "interface '%s': more than %d interfaces", show(w, b), XTAP_CFG_ATTACH_MAX);
		return NULL;
	}
	a = &c->attach[c->n_attach++];
	copy_word(a->netdev, sizeof(a->netdev), w);
	a->mode = XTAP_ATTACH_XDP_NATIVE;
	a->line = p->line;
	return a;
}

static struct xtap_cfg_cdest *cdest_get(struct parse *p, const struct word *w)
{
	struct xtap_config *c = p->c;
	char b[SHOW_BUF];
	struct xtap_cfg_cdest *d = FIND(c->cdests, c->n_cdests, name, w);

	if (d)
		return d;
	if (!name_ok(w)) {
		perr(p, "content-destination name '%s' is not 1 to %d letters, digits, '_', '-' or '.'", show(w, b),
		     XTAP_CFG_NAME_MAX - 1);
		return NULL;
	}
	if (c->n_cdests == XTAP_CFG_CDESTS_MAX) {
		perr(p, "content-destination '%s': more than %d content destinations", show(w, b), XTAP_CFG_CDESTS_MAX);
		return NULL;
	}
	d = &c->cdests[c->n_cdests++];
	copy_word(d->name, sizeof(d->name), w);
	d->ttl = XTAP_CFG_DEF_TTL;
	d->line = p->line;
	return d;
}

/* ---- handlers ------------------------------------------------------------------------ */

/* A handler gets the pattern's values in order; per-user policy rows get the
 * user first. Each reports its own errors, naming the offending word. */
typedef void (*handler_fn)(struct parse *p, const struct word *v);

static void h_class_perm(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];
	struct xtap_cfg_class *k = class_get(p, &v[0]);

	if (!k)
		return;
	if (!word_is(&v[1], "flow-tap-operation")) {
		perr(p, "permission '%s' is not supported (xtap knows flow-tap-operation only)", show(&v[1], b));
		return;
	}
	k->flow_tap_operation = true;
}

static void h_user_uid(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];
	uint64_t uid;
	struct xtap_cfg_user *u = login_user(p, &v[0]);

	if (!u)
		return;
	/* Junos' range for uid */
	if (!parse_uint(&v[1], 100, 64000, &uid)) {
		perr(p, "uid '%s' is not a number from 100 to 64000", show(&v[1], b));
		return;
	}
	u->has_uid = true;
	u->uid = (uint32_t)uid;
}

static void h_user_class(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];
	struct xtap_cfg_user *u = login_user(p, &v[0]);

	if (!u)
		return;
	if (!name_ok(&v[1])) {
		perr(p, "class name '%s' is not 1 to %d letters, digits, '_', '-' or '.'", show(&v[1], b),
		     XTAP_CFG_NAME_MAX - 1);
		return;
	}
	copy_word(u->class_name, sizeof(u->class_name), &v[1]);
	u->class_line = p->line;
}

static void h_user_password(struct parse *p, const struct word *v)
{
	struct xtap_cfg_user *u = login_user(p, &v[0]);

	if (!u)
		return;
	/* The value is never shown: it may be a password pasted by mistake. */
	if (v[1].n >= XTAP_CFG_HASH_MAX || !crypt_hash_ok(v[1].s)) {
		perr(p, "encrypted-password of user '%s' is not a crypt(3) hash ($6$, $5$, $y$ or $1$)", u->name);
		return;
	}
	copy_word(u->password_hash, sizeof(u->password_hash), &v[1]);
}

static void ssh_key_add(struct parse *p, const struct word *v, enum xtap_ssh_key_type t, const char *stmt)
{
	struct xtap_cfg_user *u = login_user(p, &v[0]);

	if (!u)
		return;
	if (!ssh_key_ok(t, &v[1])) {
		perr(p, "%s of user '%s' is not an OpenSSH public key of that type (\"%s AAAA... comment\")", stmt,
		     u->name, t == XTAP_SSH_ECDSA ? "ecdsa-sha2-nistp256" : stmt);
		return;
	}
	if (u->n_ssh_keys == XTAP_CFG_SSH_KEYS_MAX) {
		perr(p, "%s of user '%s': more than %d keys", stmt, u->name, XTAP_CFG_SSH_KEYS_MAX);
		return;
	}
	char *text = strndup(v[1].s, v[1].n);
	if (!text) {
		perr(p, "out of memory");
		return;
	}
	struct xtap_cfg_ssh_key *k = &u->ssh_keys[u->n_ssh_keys++];
	k->type = t;
	k->text = text;
	k->line = p->line;
}

static void h_ssh_ed25519(struct parse *p, const struct word *v)
{
	ssh_key_add(p, v, XTAP_SSH_ED25519, "ssh-ed25519");
}

static void h_ssh_rsa(struct parse *p, const struct word *v)
{
	ssh_key_add(p, v, XTAP_SSH_RSA, "ssh-rsa");
}

static void h_ssh_ecdsa(struct parse *p, const struct word *v)
{
	ssh_key_add(p, v, XTAP_SSH_ECDSA, "ssh-ecdsa");
}

/* Any statement under flow-tap-dtcp ssh creates the stanza, as on Junos. */
static void dtcp_on(struct parse *p)
{
	if (!p->c->dtcp_enabled) {
		p->c->dtcp_enabled = true;
		p->c->dtcp_line = p->line;
	}
}

static void h_dtcp(struct parse *p, const struct word *v)
{
	dtcp_on(p);
}

static bool dtcp_uint(struct parse *p, const struct word *w, const char *what, uint64_t min, uint64_t max,
		      uint32_t *out)
{
	char b[SHOW_BUF];
	uint64_t x;

	if (!parse_uint(w, min, max, &x)) {
		perr(p, "%s '%s' is not a number from %llu to %llu", what, show(w, b), (unsigned long long)min,
		     (unsigned long long)max);
		return false;
	}
	*out = (uint32_t)x;
	return true;
}

/* The address statements: listen-address, a content destination's address
 * and source-address, its x3 address. */
static bool set_addr(struct parse *p, const struct word *w, const char *what, struct dtcp_addr *dst)
{
	char b[SHOW_BUF];

	if (dtcp_parse_addr(w->s, w->n, dst)) {
		perr(p, "%s '%s' is not an IPv4 or IPv6 address", what, show(w, b));
		return false;
	}
	return true;
}

static bool set_port(struct parse *p, const struct word *w, const char *what, uint16_t *dst)
{
	uint32_t x;

	if (!dtcp_uint(p, w, what, 1, 65535, &x))
		return false;
	*dst = (uint16_t)x;
	return true;
}

static void h_conn_limit(struct parse *p, const struct word *v)
{
	dtcp_on(p);
	/* Junos' range */
	dtcp_uint(p, &v[0], "connection-limit", 1, 250, &p->c->connection_limit);
}

static void h_rate_limit(struct parse *p, const struct word *v)
{
	dtcp_on(p);
	dtcp_uint(p, &v[0], "rate-limit", 1, 250, &p->c->rate_limit);
}

static void h_src_conn_limit(struct parse *p, const struct word *v)
{
	dtcp_on(p);
	/* the global limits' range; above the global one it is the global one */
	dtcp_uint(p, &v[0], "per-source connection-limit", 1, 250, &p->c->source_connection_limit);
}

static void h_src_rate_limit(struct parse *p, const struct word *v)
{
	dtcp_on(p);
	dtcp_uint(p, &v[0], "per-source rate-limit", 1, 250, &p->c->source_rate_limit);
}

static void h_port(struct parse *p, const struct word *v)
{
	dtcp_on(p);
	set_port(p, &v[0], "port", &p->c->listen_port);
}

static void h_listen(struct parse *p, const struct word *v)
{
	dtcp_on(p);
	set_addr(p, &v[0], "listen-address", &p->c->listen_addr);
}

static void h_metrics_addr(struct parse *p, const struct word *v)
{
	if (set_addr(p, &v[0], "metrics listen-address", &p->c->metrics_addr))
		p->c->metrics_addr_line = p->line;
}

static void h_metrics_port(struct parse *p, const struct word *v)
{
	if (set_port(p, &v[0], "metrics port", &p->c->metrics_port))
		p->c->metrics_port_line = p->line;
}

static void h_host_key(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];
	struct xtap_config *c = p->c;

	dtcp_on(p);
	if (!path_ok(&v[0])) {
		perr(p, "host-key '%s' is not an absolute path shorter than %d bytes", show(&v[0], b),
		     XTAP_CFG_PATH_MAX);
		return;
	}
	if (c->n_host_keys == XTAP_CFG_HOST_KEYS_MAX) {
		perr(p, "host-key '%s': more than %d host keys", show(&v[0], b), XTAP_CFG_HOST_KEYS_MAX);
		return;
	}
	copy_word(c->host_keys[c->n_host_keys++], XTAP_CFG_PATH_MAX, &v[0]);
}

static void h_idle(struct parse *p, const struct word *v)
{
	dtcp_on(p);
	dtcp_uint(p, &v[0], "idle-timeout", 0, 86400, &p->c->idle_timeout);
}

static void h_msg_size(struct parse *p, const struct word *v)
{
	dtcp_on(p);
	/* the library's own bound is the upper limit; below 1 KiB not even an
	 * ADD with a few headers fits */
	dtcp_uint(p, &v[0], "max-message-size", 1024, DTCP_MSG_MAX, &p->c->max_message_size);
}

static void h_jif(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];
	struct xtap_config *c = p->c;
	uint64_t unit;

	/* Only the vt interface has a meaning on a Linux host; other Junos
	 * interfaces are Linux netdevs reached through aliases. */
	if (!junos_if_ok(&v[0]) || strncmp(v[0].s, "vt-", 3) != 0) {
		perr(p,
		     "interface '%s': only vt- tunnel interfaces are configured under interfaces "
		     "(map others with services flow-tap interface-alias)",
		     show(&v[0], b));
		return;
	}
	if (!parse_uint(&v[1], 0, 16385, &unit)) { /* Junos' unit range */
		perr(p, "unit '%s' is not a number from 0 to 16385", show(&v[1], b));
		return;
	}
	bool inet6 = word_is(&v[2], "inet6");
	if (!inet6 && !word_is(&v[2], "inet")) {
		perr(p, "family '%s' is not supported on a vt interface (inet or inet6)", show(&v[2], b));
		return;
	}
	struct xtap_cfg_jif *j = NULL;
	for (size_t i = 0; i < c->n_jifs && !j; i++)
		if (word_is(&v[0], c->jifs[i].name) && c->jifs[i].unit == unit)
			j = &c->jifs[i];
	if (!j) {
		if (c->n_jifs == XTAP_CFG_JIFS_MAX) {
			perr(p, "interface '%s': more than %d vt units", show(&v[0], b), XTAP_CFG_JIFS_MAX);
			return;
		}
		j = &c->jifs[c->n_jifs++];
		copy_word(j->name, sizeof(j->name), &v[0]);
		j->unit = (uint32_t)unit;
		j->line = p->line;
	}
	if (inet6)
		j->inet6 = true;
	else
		j->inet = true;
}

static void h_tunnel(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];
	uint64_t unit;
	const char *dot = memrchr(v[0].s, '.', v[0].n);
	struct word u = { dot ? dot + 1 : "", dot ? v[0].n - (size_t)(dot + 1 - v[0].s) : 0, false };

	if (!junos_if_ok(&v[0]) || !dot || !parse_uint(&u, 0, 16385, &unit)) {
		perr(p, "tunnel-interface '%s' is not an interface with a unit (vt-4/0/0.0)", show(&v[0], b));
		return;
	}
	copy_word(p->c->tunnel_if, sizeof(p->c->tunnel_if), &v[0]);
	p->c->tunnel_line = p->line;
}

static void h_tunnel_veth(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];

	for (int i = 0; i < 2; i++)
		if (!netdev_ok(&v[i])) {
			perr(p, "tunnel-veth name '%s' is not a Linux interface name", show(&v[i], b));
			return;
		}
	if (v[0].n == v[1].n && memcmp(v[0].s, v[1].s, v[0].n) == 0) {
		perr(p, "tunnel-veth '%s' and its peer must differ", show(&v[0], b));
		return;
	}
	copy_word(p->c->vt_name, sizeof(p->c->vt_name), &v[0]);
	copy_word(p->c->vt_peer, sizeof(p->c->vt_peer), &v[1]);
}

static void h_attach(struct parse *p, const struct word *v)
{
	attach_get(p, &v[0]);
}

static void h_attach_mode(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];
	struct xtap_cfg_attach *a = attach_get(p, &v[0]);

	if (!a)
		return;
	if (word_is(&v[1], "xdp-native"))
		a->mode = XTAP_ATTACH_XDP_NATIVE;
	else if (word_is(&v[1], "xdp-generic"))
		a->mode = XTAP_ATTACH_XDP_GENERIC;
	else if (word_is(&v[1], "tc"))
		a->mode = XTAP_ATTACH_TC;
	else
		perr(p, "mode '%s' is not xdp-native, xdp-generic or tc", show(&v[1], b));
}

static void h_alias(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];
	struct xtap_config *c = p->c;

	if (!junos_if_ok(&v[0])) {
		perr(p, "interface-alias '%s' is not an interface name", show(&v[0], b));
		return;
	}
	if (!netdev_ok(&v[1])) {
		perr(p, "interface-alias target '%s' is not a Linux interface name", show(&v[1], b));
		return;
	}
	if (c->n_aliases == XTAP_CFG_ALIASES_MAX) {
		perr(p, "interface-alias '%s': more than %d aliases", show(&v[0], b), XTAP_CFG_ALIASES_MAX);
		return;
	}
	struct xtap_cfg_alias *a = &c->aliases[c->n_aliases++];
	copy_word(a->junos, sizeof(a->junos), &v[0]);
	copy_word(a->netdev, sizeof(a->netdev), &v[1]);
	a->line = p->line;
}

static void h_group(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];
	struct xtap_config *c = p->c;
	struct xtap_cfg_group *g = FIND(c->groups, c->n_groups, name, &v[0]);

	if (!g) {
		if (!name_ok(&v[0])) {
			perr(p, "interface-group name '%s' is not 1 to %d letters, digits, '_', '-' or '.'",
			     show(&v[0], b), XTAP_CFG_NAME_MAX - 1);
			return;
		}
		if (c->n_groups == XTAP_CFG_GROUPS_MAX) {
			perr(p, "interface-group '%s': more than %d groups", show(&v[0], b), XTAP_CFG_GROUPS_MAX);
			return;
		}
		g = &c->groups[c->n_groups++];
		copy_word(g->name, sizeof(g->name), &v[0]);
		g->line = p->line;
	}
	if (!netdev_ok(&v[1])) {
		perr(p, "interface-group member '%s' is not a Linux interface name", show(&v[1], b));
		return;
	}
	if (g->n == XTAP_CFG_GROUP_IFS_MAX) {
		perr(p, "interface-group '%s': more than %d interfaces", g->name, XTAP_CFG_GROUP_IFS_MAX);
		return;
	}
	copy_word(g->member[g->n].netdev, XTAP_CFG_IFNAME_MAX, &v[1]);
	g->member[g->n++].line = p->line;
}

static void h_cd_addr(struct parse *p, const struct word *v)
{
	struct xtap_cfg_cdest *d = cdest_get(p, &v[0]);

	if (d)
		set_addr(p, &v[1], "address", &d->dst);
}

static void h_cd_src(struct parse *p, const struct word *v)
{
	struct xtap_cfg_cdest *d = cdest_get(p, &v[0]);

	if (d)
		set_addr(p, &v[1], "source-address", &d->src);
}

static void h_cd_port(struct parse *p, const struct word *v)
{
	struct xtap_cfg_cdest *d = cdest_get(p, &v[0]);

	if (d && set_port(p, &v[1], "port", &d->dst_port))
		d->has_port = true;
}

static void h_cd_sport(struct parse *p, const struct word *v)
{
	struct xtap_cfg_cdest *d = cdest_get(p, &v[0]);

	if (d)
		set_port(p, &v[1], "source-port", &d->src_port);
}

static void h_cd_ttl(struct parse *p, const struct word *v)
{
	uint32_t x;
	struct xtap_cfg_cdest *d = cdest_get(p, &v[0]);

	if (d && dtcp_uint(p, &v[1], "ttl", 1, 255, &x))
		d->ttl = (uint8_t)x;
}

/* Hex as X-MD-Intercept-Id takes it (dtcp.md 4.1): optional 0x, 1 to 16
 * digits. Also the x3 correlation-id, the 64-bit Correlation ID (5.2.8). */
static bool set_hex64(struct parse *p, const struct word *w, const char *what, uint64_t *dst)
{
	char b[SHOW_BUF];
	const char *s = w->s;
	size_t n = w->n;
	uint64_t x = 0;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n -= 2;
	}
	while (n > 1 && *s == '0') { /* leading zeros are not significant */
		s++;
		n--;
	}
	bool ok = n >= 1 && n <= 16;
	for (size_t i = 0; ok && i < n; i++) {
		int h = xtap_hexval(s[i]);
		ok = h >= 0;
		x = x << 4 | (uint64_t)(h & 15);
	}
	if (!ok) {
		perr(p, "%s '%s' is not 1 to 16 hex digits", what, show(w, b));
		return false;
	}
	*dst = x;
	return true;
}

static void h_cd_intercept(struct parse *p, const struct word *v)
{
	struct xtap_cfg_cdest *d = cdest_get(p, &v[0]);

	if (d && set_hex64(p, &v[1], "intercept-id", &d->intercept_id))
		d->has_intercept = true;
}

/* ---- X3 delivery of a content destination (docs/x3.md) ---- */

static void set_path(struct parse *p, const struct word *w, const char *what, char *dst);
static void add_nets(struct parse *p, const struct word *w, const char *what, struct dtcp_net *nets, size_t *n);

static struct xtap_cfg_x3 *x3_get(struct parse *p, const struct word *w)
{
	struct xtap_cfg_cdest *d = cdest_get(p, w);

	if (!d)
		return NULL;
	if (!d->x3.on) {
		d->x3.on = true;
		d->x3.line = p->line;
		d->x3.buffer = XTAP_CFG_X3_BUFFER_DEF;
	}
	return &d->x3;
}

static void h_x3_addr(struct parse *p, const struct word *v)
{
	struct xtap_cfg_x3 *x = x3_get(p, &v[0]);

	if (x)
		set_addr(p, &v[1], "x3 address", &x->addr);
}

static void h_x3_port(struct parse *p, const struct word *v)
{
	struct xtap_cfg_x3 *x = x3_get(p, &v[0]);

	if (x && set_port(p, &v[1], "x3 port", &x->port))
		x->has_port = true;
}

static void h_x3_cert(struct parse *p, const struct word *v)
{
	struct xtap_cfg_x3 *x = x3_get(p, &v[0]);
	if (x)
		set_path(p, &v[1], "x3 certificate", x->cert);
}

static void h_x3_key(struct parse *p, const struct word *v)
{
	struct xtap_cfg_x3 *x = x3_get(p, &v[0]);
	if (x)
		set_path(p, &v[1], "x3 key", x->key);
}

static void h_x3_ca(struct parse *p, const struct word *v)
{
	struct xtap_cfg_x3 *x = x3_get(p, &v[0]);
	if (x)
		set_path(p, &v[1], "x3 ca", x->ca);
}

static void h_x3_xid(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];
	struct xtap_cfg_x3 *x = x3_get(p, &v[0]);

	if (!x)
		return;
	if (xtap_uuid_parse(v[1].s, v[1].n, x->xid)) {
		perr(p, "x3 xid '%s' is not a UUID (8-4-4-4-12 hex digits)", show(&v[1], b));
		return;
	}
	x->has_xid = true;
}

static void h_x3_corr(struct parse *p, const struct word *v)
{
	struct xtap_cfg_x3 *x = x3_get(p, &v[0]);

	if (x)
		set_hex64(p, &v[1], "x3 correlation-id", &x->correlation);
}

static void h_x3_target(struct parse *p, const struct word *v)
{
	struct xtap_cfg_x3 *x = x3_get(p, &v[0]);
	if (x)
		add_nets(p, &v[1], "x3 target", x->targets, &x->n_targets);
}

static void h_x3_buffer(struct parse *p, const struct word *v)
{
	uint32_t n;
	struct xtap_cfg_x3 *x = x3_get(p, &v[0]);

	if (x && dtcp_uint(p, &v[1], "x3 buffer-size", XTAP_CFG_X3_BUFFER_MIN, XTAP_CFG_X3_BUFFER_MAX, &n))
		x->buffer = n;
}

/* ---- services x1: the ETSI X1 network-element interface (docs/x1.md) ---- */

static void x1_on(struct parse *p)
{
	if (!p->c->x1_enabled) {
		p->c->x1_enabled = true;
		p->c->x1_line = p->line;
	}
}

static void h_x1_addr(struct parse *p, const struct word *v)
{
	x1_on(p);
	set_addr(p, &v[0], "x1 listen-address", &p->c->x1_addr);
}

static void h_x1_port(struct parse *p, const struct word *v)
{
	x1_on(p);
	set_port(p, &v[0], "x1 port", &p->c->x1_port);
}

static void h_x1_cert(struct parse *p, const struct word *v)
{
	x1_on(p);
	set_path(p, &v[0], "x1 certificate", p->c->x1_cert);
}

static void h_x1_key(struct parse *p, const struct word *v)
{
	x1_on(p);
	set_path(p, &v[0], "x1 key", p->c->x1_key);
}

static void h_x1_ca(struct parse *p, const struct word *v)
{
	x1_on(p);
	set_path(p, &v[0], "x1 admf-ca", p->c->x1_ca);
}

/* neIdentifier: what the X1 parser takes as an LIIdentifier (docs/x1.md):
 * non-empty, no control character, shorter than XTAP_CFG_X1_ID_MAX. */
static void h_x1_ne(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];
	bool ok = v[0].n > 0 && v[0].n < XTAP_CFG_X1_ID_MAX;

	x1_on(p);
	for (size_t i = 0; ok && i < v[0].n; i++)
		if ((unsigned char)v[0].s[i] < 0x20 || v[0].s[i] == 0x7f)
			ok = false;
	if (!ok) {
		perr(p, "x1 ne-identifier '%s' is not 1 to %d bytes without control characters", show(&v[0], b),
		     XTAP_CFG_X1_ID_MAX - 1);
		return;
	}
	copy_word(p->c->x1_ne, sizeof(p->c->x1_ne), &v[0]);
}

/* An identifier the X1 parser takes (neIdentifier, admfIdentifier): 1 to
 * XTAP_CFG_X1_ID_MAX - 1 bytes, no control character. */
static bool x1_id_ok(const struct word *w)
{
	bool ok = w->n > 0 && w->n < XTAP_CFG_X1_ID_MAX;

	for (size_t i = 0; ok && i < w->n; i++)
		if ((unsigned char)w->s[i] < 0x20 || w->s[i] == 0x7f)
			ok = false;
	return ok;
}

static struct xtap_cfg_x1_admf *x1_admf_get(struct parse *p, const struct word *w)
{
	struct xtap_config *c = p->c;
	char b[SHOW_BUF];
	struct xtap_cfg_x1_admf *a = FIND(c->x1_admfs, c->n_x1_admfs, name, w);

	x1_on(p);
	if (a)
		return a;
	if (!x1_id_ok(w)) {
		perr(p, "x1 admf '%s' is not 1 to %d bytes without control characters", show(w, b),
		     XTAP_CFG_X1_ID_MAX - 1);
		return NULL;
	}
	if (c->n_x1_admfs == XTAP_CFG_X1_ADMFS_MAX) {
		perr(p, "x1 admf '%s': more than %d ADMFs", show(w, b), XTAP_CFG_X1_ADMFS_MAX);
		return NULL;
	}
	a = &c->x1_admfs[c->n_x1_admfs++];
	copy_word(a->name, sizeof(a->name), w);
	a->port = XTAP_CFG_DEF_X1_PORT;
	a->line = p->line;
	return a;
}

static void h_x1_admf_addr(struct parse *p, const struct word *v)
{
	struct xtap_cfg_x1_admf *a = x1_admf_get(p, &v[0]);

	if (a)
		set_addr(p, &v[1], "x1 admf report-address", &a->addr);
}

static void h_x1_admf_port(struct parse *p, const struct word *v)
{
	struct xtap_cfg_x1_admf *a = x1_admf_get(p, &v[0]);

	if (a)
		set_port(p, &v[1], "x1 admf report-port", &a->port);
}

static void h_x1_ka(struct parse *p, const struct word *v)
{
	x1_on(p);
	dtcp_uint(p, &v[0], "x1 keepalive-timeout", 0, 86400, &p->c->x1_keepalive);
}

static void h_x1_ka_policy(struct parse *p, const struct word *v)
{
	char b[SHOW_BUF];

	x1_on(p);
	if (v[0].n == 10 && !memcmp(v[0].s, "deactivate", 10))
		p->c->x1_keepalive_policy = XTAP_CFG_X1_KA_DEACTIVATE;
	else if (v[0].n == 4 && !memcmp(v[0].s, "keep", 4))
		p->c->x1_keepalive_policy = XTAP_CFG_X1_KA_KEEP;
	else
		perr(p, "x1 keepalive-policy '%s' is not deactivate or keep", show(&v[0], b));
}

static void x1_x3_on(struct parse *p)
{
	x1_on(p);
	if (!p->c->x1_x3_line)
		p->c->x1_x3_line = p->line;
}

static void h_x1_x3_cert(struct parse *p, const struct word *v)
{
	x1_x3_on(p);
	set_path(p, &v[0], "x1 x3-certificate", p->c->x1_x3_cert);
}

static void h_x1_x3_key(struct parse *p, const struct word *v)
{
	x1_x3_on(p);
	set_path(p, &v[0], "x1 x3-key", p->c->x1_x3_key);
}

static void h_x1_x3_ca(struct parse *p, const struct word *v)
{
	x1_x3_on(p);
	set_path(p, &v[0], "x1 x3-ca", p->c->x1_x3_ca);
}

static void h_x1_x3_local(struct parse *p, const struct word *v)
{
	x1_x3_on(p);
	set_addr(p, &v[0], "x1 x3-local-address", &p->c->x1_x3_local);
}

static void h_x1_x3_base(struct parse *p, const struct word *v)
{
	uint32_t n;

	x1_x3_on(p);
	/* every slot's port must exist: base + XTAP_CFG_X1_SLOTS_MAX - 1 <= 65535 */
	if (dtcp_uint(p, &v[0], "x1 x3-port-base", 1, 65536 - XTAP_CFG_X1_SLOTS_MAX, &n))
		p->c->x1_x3_port_base = (uint16_t)n;
}

static void h_cs_key(struct parse *p, const struct word *v)
{
	struct xtap_cfg_user *u = csource_user(p, &v[0]);

	if (!u)
		return;
	if (v[1].n == 0 || v[1].n > XTAP_CFG_KEY_MAX) {
		perr(p, "key of control-source '%s' must be 1 to %d bytes", u->name, XTAP_CFG_KEY_MAX);
		return;
	}
	memcpy(u->key, v[1].s, v[1].n);
	u->keylen = v[1].n;
}

/* Policy rows exist twice: per user (first value the user) and global. The
 * table says which with a flag, so the handlers are shared. */
static struct xtap_cfg_policy *policy_of(struct parse *p, const struct word **v, bool per_user)
{
	if (!per_user)
		return &p->c->global;
	struct xtap_cfg_user *u = csource_user(p, &(*v)[0]);
	(*v)++;
	return u ? &u->pol : NULL;
}

static void add_nets(struct parse *p, const struct word *w, const char *what, struct dtcp_net *nets, size_t *n)
{
	char b[SHOW_BUF];
	struct dtcp_prefix_set set;

	if (dtcp_parse_prefix_list(w->s, w->n, &set) || set.any) {
		perr(p, "%s '%s' is not a list of IPv4 or IPv6 prefixes of one family", what, show(w, b));
		return;
	}
	for (size_t i = 0; i < set.n; i++) {
		bool dup = false;
		for (size_t j = 0; j < *n && !dup; j++)
			dup = nets[j].family == set.family && nets[j].p.len == set.p[i].len &&
				memcmp(nets[j].p.a, set.p[i].a, 16) == 0;
		if (dup)
			continue;
		if (*n == XTAP_CFG_NETS_MAX) {
			perr(p, "%s '%s': more than %d prefixes", what, show(w, b), XTAP_CFG_NETS_MAX);
			return;
		}
		nets[*n].family = set.family;
		nets[*n].p = set.p[i];
		(*n)++;
	}
}

static void pol_allow_dst(struct parse *p, const struct word *v, bool per_user)
{
	struct xtap_cfg_policy *pol = policy_of(p, &v, per_user);
	if (pol)
		add_nets(p, &v[0], "allowed-destination", pol->allow_cdest, &pol->n_allow_cdest);
}

static void pol_allow_src(struct parse *p, const struct word *v, bool per_user)
{
	struct xtap_cfg_policy *pol = policy_of(p, &v, per_user);
	if (pol)
		add_nets(p, &v[0], "allowed-source-address", pol->allow_src, &pol->n_allow_src);
}

static void pol_allow_port(struct parse *p, const struct word *v, bool per_user)
{
	char b[SHOW_BUF];
	struct dtcp_range_set set;
	struct xtap_cfg_policy *pol = policy_of(p, &v, per_user);

	if (!pol)
		return;
	if (dtcp_parse_range_list(v[0].s, v[0].n, 65535, &set) || set.any) {
		perr(p, "allowed-destination-port '%s' is not a list of ports or port ranges", show(&v[0], b));
		return;
	}
	struct dtcp_range_set *dst = &pol->allow_cdest_port;
	for (int i = 0; i < set.n; i++) {
		bool dup = false;
		for (int j = 0; j < dst->n && !dup; j++)
			dup = dst->r[j].lo == set.r[i].lo && dst->r[j].hi == set.r[i].hi;
		if (dup)
			continue;
		if (dst->n == DTCP_MAX_RANGES) {
			perr(p, "allowed-destination-port '%s': more than %d ranges", show(&v[0], b), DTCP_MAX_RANGES);
			return;
		}
		dst->r[dst->n++] = set.r[i];
	}
	pol->has_allow_cdest_port = true;
}

static void pol_max_criteria(struct parse *p, const struct word *v, bool per_user)
{
	struct xtap_cfg_policy *pol = policy_of(p, &v, per_user);
	if (pol)
		dtcp_uint(p, &v[0], "max-criteria", 1, DTCP_MAX_CRITERIA_DEFAULT, &pol->max_criteria);
}

static void pol_seq(struct parse *p, const struct word *v, bool per_user)
{
	char b[SHOW_BUF];
	struct xtap_cfg_policy *pol = policy_of(p, &v, per_user);

	if (!pol)
		return;
	if (word_is(&v[0], "off"))
		pol->seq_mode = DTCP_SEQ_OFF;
	else if (word_is(&v[0], "strict"))
		pol->seq_mode = DTCP_SEQ_STRICT;
	else {
		perr(p, "seq-check '%s' is not off or strict", show(&v[0], b));
		return;
	}
	pol->has_seq_mode = true;
}

/* The drafts' stricter readings: one statement each, two words, the first
 * the FlowTapLite document's reading (the default). */
static const struct {
	const char *stmt, *lenient, *strict;
} strict_stmt[] = {
	[XTAP_STRICT_NO_LIFETIME] = { "no-lifetime", "static", "refuse" },
	[XTAP_STRICT_CDEST_WHOLE] = { "cdest-merge", "on", "off" },
	[XTAP_STRICT_DELETE_STATIC] = { "delete-static", "always", "with-flag" },
};

static void pol_strict(struct parse *p, const struct word *v, bool per_user, int k)
{
	char b[SHOW_BUF];
	struct xtap_cfg_policy *pol = policy_of(p, &v, per_user);

	if (!pol)
		return;
	if (word_is(&v[0], strict_stmt[k].lenient))
		pol->strict[k] = false;
	else if (word_is(&v[0], strict_stmt[k].strict))
		pol->strict[k] = true;
	else {
		perr(p, "%s '%s' is not %s or %s", strict_stmt[k].stmt, show(&v[0], b), strict_stmt[k].lenient,
		     strict_stmt[k].strict);
		return;
	}
	pol->has_strict[k] = true;
}

static void pol_no_lifetime(struct parse *p, const struct word *v, bool per_user)
{
	pol_strict(p, v, per_user, XTAP_STRICT_NO_LIFETIME);
}

static void pol_cdest_merge(struct parse *p, const struct word *v, bool per_user)
{
	pol_strict(p, v, per_user, XTAP_STRICT_CDEST_WHOLE);
}

static void pol_delete_static(struct parse *p, const struct word *v, bool per_user)
{
	pol_strict(p, v, per_user, XTAP_STRICT_DELETE_STATIC);
}

#define POLICY_PAIR(name) \
	static void h_u_##name(struct parse *p, const struct word *v) \
	{ \
		pol_##name(p, v, true); \
	} \
	static void h_g_##name(struct parse *p, const struct word *v) \
	{ \
		pol_##name(p, v, false); \
	}
POLICY_PAIR(allow_dst)
POLICY_PAIR(allow_src)
POLICY_PAIR(allow_port)
POLICY_PAIR(max_criteria)
POLICY_PAIR(seq)
POLICY_PAIR(no_lifetime)
POLICY_PAIR(cdest_merge)
POLICY_PAIR(delete_static)

static void h_max_cdests(struct parse *p, const struct word *v)
{
	uint32_t x;
	if (dtcp_uint(p, &v[0], "max-content-destinations", 1, DTCP_MAX_CDESTS, &x))
		p->c->max_cdests = (uint8_t)x;
}

static void set_path(struct parse *p, const struct word *w, const char *what, char *dst)
{
	char b[SHOW_BUF];

	if (!path_ok(w)) {
		perr(p, "%s '%s' is not an absolute path shorter than %d bytes", what, show(w, b), XTAP_CFG_PATH_MAX);
		return;
	}
	copy_word(dst, XTAP_CFG_PATH_MAX, w);
}

static void h_state(struct parse *p, const struct word *v)
{
	set_path(p, &v[0], "state-file", p->c->state_file);
}

static void h_deny_unlisted(struct parse *p, const struct word *v)
{
	p->c->deny_unlisted_cdest = true;
	p->c->deny_unlisted_line = p->line;
}

static void h_audit(struct parse *p, const struct word *v)
{
	set_path(p, &v[0], "audit-log", p->c->audit_log);
}

/* ---- the grammar ----------------------------------------------------------------------- */

/*
 * One row per statement, the words after `set`. `$name` is a value; a `!`
 * after it marks a secret, never shown in a message. `=` splits a single-
 * valued statement into key and value: repeating the key with another value
 * is an error. Rows without `=` are flags or list members.
 */
struct rule {
	const char *pat;
	handler_fn fn;
};

#define FT "services flow-tap "
#define CS FT "control-source $user "
#define CD FT "content-destination $cdest "
#define SSH "system services flow-tap-dtcp ssh"
#define USR "system login user $user "
#define X1 "services x1 "

static const struct rule grammar[] = {
	/* Junos FlowTapLite */
	{ "system login class $class permissions $permission", h_class_perm },
	{ USR "uid = $uid", h_user_uid },
	{ USR "class = $class", h_user_class },
	{ USR "authentication encrypted-password = $hash!", h_user_password },
	{ USR "authentication ssh-ed25519 $key", h_ssh_ed25519 },
	{ USR "authentication ssh-rsa $key", h_ssh_rsa },
	{ USR "authentication ssh-ecdsa $key", h_ssh_ecdsa },
	{ SSH, h_dtcp },
	{ SSH " connection-limit = $limit", h_conn_limit },
	{ SSH " rate-limit = $limit", h_rate_limit },
	/* xtap: per source address, beside Junos' global limits */
	{ SSH " per-source connection-limit = $limit", h_src_conn_limit },
	{ SSH " per-source rate-limit = $limit", h_src_rate_limit },
	{ "interfaces $interface unit $unit family $family", h_jif },
	{ FT "tunnel-interface = $interface", h_tunnel },
	/* xtap: the DTCP server */
	{ SSH " port = $port", h_port },
	{ SSH " listen-address = $address", h_listen },
	{ SSH " host-key $path", h_host_key },
	{ SSH " idle-timeout = $seconds", h_idle },
	{ SSH " max-message-size = $bytes", h_msg_size },
	/* xtap: the datapath */
	{ FT "tunnel-veth = $name peer $peer", h_tunnel_veth },
	{ FT "interface $netdev", h_attach },
	{ FT "interface $netdev mode = $mode", h_attach_mode },
	{ FT "interface-alias $name = $netdev", h_alias },
	{ FT "interface-group $group interface $netdev", h_group },
	{ FT "state-file = $path", h_state },
	{ FT "metrics listen-address = $address", h_metrics_addr },
	{ FT "metrics port = $port", h_metrics_port },
	/* xtap: content destinations */
	{ CD "address = $address", h_cd_addr },
	{ CD "port = $port", h_cd_port },
	{ CD "source-address = $address", h_cd_src },
	{ CD "source-port = $port", h_cd_sport },
	{ CD "ttl = $ttl", h_cd_ttl },
	{ CD "intercept-id = $id", h_cd_intercept },
	/* xtap: ETSI X3 delivery of a content destination (docs/x3.md) */
	{ CD "x3 address = $address", h_x3_addr },
	{ CD "x3 port = $port", h_x3_port },
	{ CD "x3 certificate = $path", h_x3_cert },
	{ CD "x3 key = $path", h_x3_key },
	{ CD "x3 ca = $path", h_x3_ca },
	{ CD "x3 xid = $uuid", h_x3_xid },
	{ CD "x3 correlation-id = $id", h_x3_corr },
	{ CD "x3 target $prefixes", h_x3_target },
	{ CD "x3 buffer-size = $bytes", h_x3_buffer },
	/* xtap: the ETSI X1 network-element interface (docs/x1.md) */
	{ X1 "listen-address = $address", h_x1_addr },
	{ X1 "port = $port", h_x1_port },
	{ X1 "certificate = $path", h_x1_cert },
	{ X1 "key = $path", h_x1_key },
	{ X1 "admf-ca = $path", h_x1_ca },
	{ X1 "ne-identifier = $id", h_x1_ne },
	{ X1 "keepalive-timeout = $seconds", h_x1_ka },
	{ X1 "keepalive-policy = $policy", h_x1_ka_policy },
	{ X1 "x3-certificate = $path", h_x1_x3_cert },
	{ X1 "x3-key = $path", h_x1_x3_key },
	{ X1 "x3-ca = $path", h_x1_x3_ca },
	{ X1 "x3-local-address = $address", h_x1_x3_local },
	{ X1 "x3-port-base = $number", h_x1_x3_base },
	{ X1 "admf $admf report-address = $address", h_x1_admf_addr },
	{ X1 "admf $admf report-port = $port", h_x1_admf_port },
	/* xtap: control sources (DTCP users) and their policy */
	{ CS "key = $key!", h_cs_key },
	{ CS "allowed-destination $prefixes", h_u_allow_dst },
	{ CS "allowed-destination-port $ports", h_u_allow_port },
	{ CS "allowed-source-address $prefixes", h_u_allow_src },
	{ CS "max-criteria = $count", h_u_max_criteria },
	{ CS "seq-check = $mode", h_u_seq },
	{ CS "no-lifetime = $reading", h_u_no_lifetime },
	{ CS "cdest-merge = $reading", h_u_cdest_merge },
	{ CS "delete-static = $reading", h_u_delete_static },
	/* xtap: global policy and files */
	{ FT "allowed-destination $prefixes", h_g_allow_dst },
	{ FT "allowed-destination-port $ports", h_g_allow_port },
	{ FT "allowed-source-address $prefixes", h_g_allow_src },
	{ FT "max-criteria = $count", h_g_max_criteria },
	{ FT "seq-check = $mode", h_g_seq },
	{ FT "no-lifetime = $reading", h_g_no_lifetime },
	{ FT "cdest-merge = $reading", h_g_cdest_merge },
	{ FT "delete-static = $reading", h_g_delete_static },
	{ FT "max-content-destinations = $count", h_max_cdests },
	{ FT "audit-log = $path", h_audit },
	{ FT "deny-unlisted-destinations", h_deny_unlisted },
};

#define NRULES (sizeof(grammar) / sizeof(grammar[0]))

/* A rule's pattern split into words. */
struct pat {
	int n;
	int key; /* words before `=`; -1: not single-valued */
	struct {
		const char *s;
		size_t n;
		bool value, secret;
	} w[XTAP_CFG_WORDS_MAX];
};

static void pat_split(const char *s, struct pat *pt)
{
	pt->n = 0;
	pt->key = -1;
	while (*s) {
		while (*s == ' ')
			s++;
		size_t n = strcspn(s, " ");
		if (n == 1 && *s == '=') {
			pt->key = pt->n;
		} else if (n) {
			pt->w[pt->n].s = s;
			pt->w[pt->n].n = n;
			pt->w[pt->n].value = *s == '$';
			pt->w[pt->n].secret = s[n - 1] == '!';
			pt->n++;
		}
		s += n;
	}
}

/* Every rule's pattern split once: splitting them all again for every line
 * was most of the parse time (and a fuzzer's whole budget). */
static const struct pat *rule_pat(size_t r)
{
	static struct pat pats[NRULES];
	static bool ready;

	if (!ready) {
		for (size_t i = 0; i < NRULES; i++)
			pat_split(grammar[i].pat, &pats[i]);
		ready = true;
	}
	return &pats[r];
}

/* How many leading words of w match the pattern. */
static int pat_depth(const struct pat *pt, const struct word *w, int nw)
{
	int i = 0;
	while (i < nw && i < pt->n &&
	       (pt->w[i].value || (pt->w[i].n == w[i].n && memcmp(pt->w[i].s, w[i].s, w[i].n) == 0)))
		i++;
	return i;
}

/* ---- repeats ------------------------------------------------------------------------------ */

/* Words as one comparable byte string: each word length-prefixed. */
static char *join(const struct word *w, int nw, size_t *len)
{
	size_t n = 0;
	for (int i = 0; i < nw; i++)
		n += sizeof(size_t) + w[i].n;
	char *s = malloc(n ? n : 1), *o = s;
	if (!s)
		return NULL;
	for (int i = 0; i < nw; i++) {
		memcpy(o, &w[i].n, sizeof(size_t));
		memcpy(o + sizeof(size_t), w[i].s, w[i].n);
		o += sizeof(size_t) + w[i].n;
	}
	*len = n;
	return s;
}

static struct seen *seen_find(struct parse *p, const char *key, size_t keyn)
{
	for (size_t i = 0; i < p->nseen; i++)
		if (p->seen[i].keyn == keyn && memcmp(p->seen[i].key, key, keyn) == 0)
			return &p->seen[i];
	return NULL;
}

static void seen_free(struct parse *p)
{
	for (size_t i = 0; i < p->nseen; i++) {
		explicit_bzero(p->seen[i].val, p->seen[i].valn); /* may be a secret */
		free(p->seen[i].key);
		free(p->seen[i].val);
	}
	free(p->seen);
	p->seen = NULL;
	p->nseen = p->capseen = 0;
}

/* The words before position `upto` for a message, secrets and quoted words
 * masked; bounded by the message size. */
static void context(const struct pat *pt, const struct word *w, int upto, char *out, size_t cap)
{
	size_t o = 0;
	char b[SHOW_BUF];

	o += (size_t)snprintf(out, cap, "set");
	for (int i = 0; i < upto && o < cap; i++) {
		const char *t = pt && i < pt->n && pt->w[i].secret ? "(secret)" : show(&w[i], b);
		o += (size_t)snprintf(out + o, cap - o, " %s", t);
	}
	if (o >= cap && cap > 4)
		memcpy(out + cap - 4, "...", 4);
}

/* ---- one statement ------------------------------------------------------------------------- */

/* Whether word is an item of the ", "-separated list. */
static bool listed(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *s = list; (s = strstr(s, word)); s += n)
		if ((s == list || s[-1] == ' ') && (s[n] == ',' || s[n] == 0))
			return true;
	return false;
}

static void no_match(struct parse *p, const struct word *w, int nw)
{
	const struct pat *pt, *bestpt = NULL;
	int best = -1;
	char expect[160], ctx[120], b[SHOW_BUF];
	size_t eo = 0;

	expect[0] = 0;
	for (size_t r = 0; r < NRULES; r++) {
		pt = rule_pat(r);
		int d = pat_depth(pt, w, nw);
		if (d > best) {
			best = d;
			bestpt = pt;
		}
	}
	/* The words any rule takes after the deepest match, for the message. */
	for (size_t r = 0; r < NRULES; r++) {
		pt = rule_pat(r);
		if (pat_depth(pt, w, nw) != best || pt->n <= best)
			continue;
		char one[48];
		snprintf(one, sizeof(one), "%.*s", (int)pt->w[best].n - (pt->w[best].secret ? 1 : 0), pt->w[best].s);
		if (pt->w[best].value) /* "$user" reads "<user>" */
			snprintf(one, sizeof(one), "<%.*s>", (int)pt->w[best].n - 1 - (pt->w[best].secret ? 1 : 0),
				 pt->w[best].s + 1);
		if (listed(expect, one))
			continue;
		/* whole words only; ", ..." when the rest does not fit */
		size_t need = (eo ? 2 : 0) + strlen(one);
		if (eo + need + sizeof(", ...") > sizeof(expect)) {
			snprintf(expect + eo, sizeof(expect) - eo, ", ...");
			break;
		}
		eo += (size_t)snprintf(expect + eo, sizeof(expect) - eo, "%s%s", eo ? ", " : "", one);
	}
	context(bestpt, w, best, ctx, sizeof(ctx));
	if (best == nw)
		perr(p, "incomplete statement '%s': expected %s", ctx, expect);
	else if (!expect[0])
		perr(p, "unexpected '%s' after the complete statement '%s'", show(&w[best], b), ctx);
	else
		perr(p, "unknown word '%s' after '%s': expected %s", show(&w[best], b), ctx, expect);
}

static void statement(struct parse *p, const struct word *all, int nall)
{
	char b[SHOW_BUF], ctx[120];
	const struct word *w = all + 1;
	int nw = nall - 1;
	const struct pat *pt = NULL;

	if (!word_is(&all[0], "set")) {
		perr(p, "'%s': only set statements are accepted", show(&all[0], b));
		return;
	}
	size_t r = 0;
	for (; r < NRULES; r++) {
		pt = rule_pat(r);
		if (pt->n == nw && pat_depth(pt, w, nw) == nw)
			break;
	}
	if (r == NRULES) {
		no_match(p, w, nw);
		return;
	}
	/* Repeats: the key is the whole statement, or the words before `=`. */
	int keyw = pt->key < 0 ? nw : pt->key;
	size_t keyn, valn = 0;
	char *key = join(w, keyw, &keyn), *val = key ? join(w + keyw, nw - keyw, &valn) : NULL;
	if (!val) {
		free(key);
		perr(p, "out of memory");
		return;
	}
	struct seen *s = seen_find(p, key, keyn);
	if (s) {
		bool same = s->valn == valn && memcmp(s->val, val, valn) == 0;
		if (!same) {
			context(pt, w, keyw, ctx, sizeof(ctx));
			perr(p, "'%s' is already set to another value at line %d", ctx, s->line);
		}
		explicit_bzero(val, valn);
		free(key);
		free(val);
		return;
	}
	struct word vals[XTAP_CFG_WORDS_MAX];
	int nv = 0;
	for (int i = 0; i < nw; i++)
		if (pt->w[i].value)
			vals[nv++] = w[i];
	int before = p->line_errs;
	grammar[r].fn(p, vals);
	if (p->line_errs == before && p->nseen == p->capseen) {
		size_t cap = p->capseen ? p->capseen * 2 : 64;
		struct seen *ns = realloc(p->seen, cap * sizeof(*ns));
		if (!ns)
			perr(p, "out of memory");
		else {
			p->seen = ns;
			p->capseen = cap;
		}
	}
	/* A statement in error is not remembered: a corrected repeat is then
	 * taken, not reported as a conflict. */
	if (p->line_errs != before) {
		explicit_bzero(val, valn);
		free(key);
		free(val);
		return;
	}
	p->seen[p->nseen++] = (struct seen){ key, val, keyn, valn, p->line };
}

/* ---- after the last line: rules across statements ---------------------------------------- */

static const struct xtap_cfg_class *class_find(const struct xtap_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_classes; i++)
		if (strcmp(c->classes[i].name, name) == 0)
			return &c->classes[i];
	return NULL;
}

static const struct xtap_cfg_attach *attach_find(const struct xtap_config *c, const char *netdev)
{
	for (size_t i = 0; i < c->n_attach; i++)
		if (strcmp(c->attach[i].netdev, netdev) == 0)
			return &c->attach[i];
	return NULL;
}

/* A user that may open DTCP sessions: a login user whose class has
 * flow-tap-operation and who has a DTCP key. */
static bool dtcp_capable(const struct xtap_config *c, const struct xtap_cfg_user *u)
{
	const struct xtap_cfg_class *k = class_find(c, u->class_name);
	return u->login && k && k->flow_tap_operation && u->keylen > 0;
}

static void check_users(struct parse *p)
{
	struct xtap_config *c = p->c;

	for (size_t i = 0; i < c->n_users; i++) {
		const struct xtap_cfg_user *u = &c->users[i];
		if (u->login && !u->class_name[0])
			err_at(p, u->line, "user '%s' has no class (set system login user %s class NAME)", u->name,
			       u->name);
		const struct xtap_cfg_class *k = u->class_name[0] ? class_find(c, u->class_name) : NULL;
		if (u->class_name[0] && !k)
			err_at(p, u->class_line,
			       "class '%s' of user '%s' is not defined "
			       "(set system login class %s permissions flow-tap-operation)",
			       u->class_name, u->name, u->class_name);
		if (!u->csource)
			continue;
		if (!u->login) {
			err_at(p, u->csource_line,
			       "control-source '%s' is not a login user "
			       "(set system login user %s class NAME)",
			       u->name, u->name);
			continue;
		}
		if (!u->keylen)
			err_at(p, u->csource_line, "control-source '%s' has no key", u->name);
		if (k && !k->flow_tap_operation)
			err_at(p, u->csource_line,
			       "control-source '%s': class '%s' lacks permission "
			       "flow-tap-operation",
			       u->name, k->name);
		if (u->keylen && !u->password_hash[0] && !u->n_ssh_keys)
			err_at(p, u->line,
			       "user '%s' has neither an encrypted-password nor an ssh key: "
			       "it cannot log in",
			       u->name);
	}
}

static void check_dtcp(struct parse *p)
{
	struct xtap_config *c = p->c;
	bool any = false;

	if (!c->dtcp_enabled)
		return;
	for (size_t i = 0; i < c->n_users && !any; i++)
		any = dtcp_capable(c, &c->users[i]);
	if (!any)
		err_at(p, c->dtcp_line,
		       "flow-tap-dtcp needs a user whose class has flow-tap-operation "
		       "and who has a key (services flow-tap control-source NAME key)");
	if (!c->tunnel_if[0])
		err_at(p, c->dtcp_line, "flow-tap-dtcp needs services flow-tap tunnel-interface");
	if (!c->n_attach)
		err_at(p, c->dtcp_line, "flow-tap-dtcp needs at least one services flow-tap interface");
}

static void check_tunnel(struct parse *p)
{
	struct xtap_config *c = p->c;
	const char *dot = strrchr(c->tunnel_if, '.');

	if (!c->tunnel_if[0] || !dot)
		return;
	size_t n = (size_t)(dot - c->tunnel_if);
	unsigned long unit = strtoul(dot + 1, NULL, 10);
	const struct xtap_cfg_jif *j = NULL;
	for (size_t i = 0; i < c->n_jifs && !j; i++)
		if (strlen(c->jifs[i].name) == n && memcmp(c->jifs[i].name, c->tunnel_if, n) == 0 &&
		    c->jifs[i].unit == unit)
			j = &c->jifs[i];
	if (!j)
		err_at(p, c->tunnel_line,
		       "tunnel-interface '%s' is not a declared vt interface "
		       "(set interfaces %.*s unit %lu family inet)",
		       c->tunnel_if, (int)n, c->tunnel_if, unit);
	else if (!j->inet)
		err_at(p, c->tunnel_line, "tunnel-interface '%s' has no family inet", c->tunnel_if);
	c->ipv6 = j && j->inet6;
}

/* The X1 server needs its certificate, key, the ADMF CA and the NE's
 * identifier: none has a default a deployment could share. */
static void check_x1(struct parse *p)
{
	const struct xtap_config *c = p->c;

	if (!c->x1_enabled)
		return;
	if (!c->x1_cert[0])
		err_at(p, c->x1_line, "services x1 needs a certificate (set services x1 certificate PATH)");
	if (!c->x1_key[0])
		err_at(p, c->x1_line, "services x1 needs a key (set services x1 key PATH)");
	if (!c->x1_ca[0])
		err_at(p, c->x1_line, "services x1 needs the ADMF CA (set services x1 admf-ca PATH)");
	if (!c->x1_ne[0])
		err_at(p, c->x1_line, "services x1 needs an NE identifier (set services x1 ne-identifier ID)");
	for (size_t i = 0; i < c->n_x1_admfs; i++)
		if (!c->x1_admfs[i].addr.family)
			err_at(p, c->x1_admfs[i].line,
			       "x1 admf '%s' needs the address its issue reports go to (set services x1 admf %s "
			       "report-address ADDRESS)",
			       c->x1_admfs[i].name, c->x1_admfs[i].name);
	/* X3 delivery of X1 destinations: all four or none */
	if (!c->x1_x3_line)
		return;
	if (!c->x1_x3_local.family)
		err_at(p, c->x1_x3_line,
		       "services x1 x3 delivery needs the sensor's local address for it "
		       "(set services x1 x3-local-address ADDRESS)");
	if (!c->x1_x3_cert[0])
		err_at(p, c->x1_x3_line,
		       "services x1 x3 delivery needs a client certificate (set services x1 x3-certificate PATH)");
	if (!c->x1_x3_key[0])
		err_at(p, c->x1_x3_line, "services x1 x3 delivery needs a key (set services x1 x3-key PATH)");
	if (!c->x1_x3_ca[0])
		err_at(p, c->x1_x3_line,
		       "services x1 x3 delivery needs the receivers' CA (set services x1 x3-ca PATH)");
}

/* The metrics listener needs both its address and its port. */
static void check_metrics(struct parse *p)
{
	struct xtap_config *c = p->c;

	if (c->metrics_addr_line && !c->metrics_port_line)
		err_at(p, c->metrics_addr_line,
		       "metrics listen-address needs a metrics port "
		       "(set services flow-tap metrics port N)");
	if (c->metrics_port_line && !c->metrics_addr_line)
		err_at(p, c->metrics_port_line,
		       "metrics port needs a metrics listen-address "
		       "(set services flow-tap metrics listen-address ADDR)");
}

static void check_names(struct parse *p)
{
	struct xtap_config *c = p->c;

	for (size_t i = 0; i < c->n_attach; i++)
		if (!strcmp(c->attach[i].netdev, c->vt_name) || !strcmp(c->attach[i].netdev, c->vt_peer))
			err_at(p, c->attach[i].line,
			       "interface '%s' is an end of the vt pair, "
			       "xtap cannot attach to it",
			       c->attach[i].netdev);
	for (size_t i = 0; i < c->n_aliases; i++) {
		const struct xtap_cfg_alias *a = &c->aliases[i];
		if (!attach_find(c, a->netdev))
			err_at(p, a->line,
			       "interface-alias '%s' names '%s', which is not an attached "
			       "interface (set services flow-tap interface %s)",
			       a->junos, a->netdev, a->netdev);
	}
	for (size_t i = 0; i < c->n_groups; i++) {
		const struct xtap_cfg_group *g = &c->groups[i];
		for (size_t k = 0; k < g->n; k++)
			if (!attach_find(c, g->member[k].netdev))
				err_at(p, g->member[k].line,
				       "interface-group '%s' names '%s', which is not "
				       "an attached interface (set services flow-tap interface %s)",
				       g->name, g->member[k].netdev, g->member[k].netdev);
	}
	for (size_t i = 0; i < c->n_cdests; i++) {
		const struct xtap_cfg_cdest *d = &c->cdests[i];
		if (d->dst.family == DTCP_AF_NONE)
			err_at(p, d->line, "content-destination '%s' has no address", d->name);
		if (!d->has_port)
			err_at(p, d->line, "content-destination '%s' has no port", d->name);
		if (d->dst.family != DTCP_AF_NONE && d->src.family != DTCP_AF_NONE && d->src.family != d->dst.family)
			err_at(p, d->line,
			       "content-destination '%s': source-address and address are of "
			       "different families",
			       d->name);
		if (!d->x3.on)
			continue;
		static const char *const need[] = { "address", "port", "certificate", "key", "ca", "xid" };
		bool have[] = { d->x3.addr.family != DTCP_AF_NONE,
				d->x3.has_port,
				d->x3.cert[0],
				d->x3.key[0],
				d->x3.ca[0],
				d->x3.has_xid };
		for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++)
			if (!have[k])
				err_at(p, d->x3.line,
				       "content-destination '%s' delivers over x3 but has no "
				       "x3 %s (set services flow-tap content-destination %s x3 %s ...)",
				       d->name, need[k], d->name, need[k]);
	}
}

/* ---- parsing a buffer or a file ------------------------------------------------------------ */

static void defaults(struct xtap_config *c)
{
	memset(c, 0, sizeof(*c));
	c->connection_limit = XTAP_CFG_DEF_CONN_LIMIT;
	c->rate_limit = XTAP_CFG_DEF_RATE_LIMIT;
	c->source_connection_limit = XTAP_CFG_DEF_SRC_CONN_LIMIT;
	c->source_rate_limit = XTAP_CFG_DEF_SRC_RATE_LIMIT;
	c->listen_port = XTAP_CFG_DEF_PORT;
	c->idle_timeout = XTAP_CFG_DEF_IDLE_TIMEOUT;
	c->max_message_size = XTAP_CFG_DEF_MSG_SIZE;
	snprintf(c->vt_name, sizeof(c->vt_name), "%s", XTAP_CFG_DEF_VT);
	snprintf(c->vt_peer, sizeof(c->vt_peer), "%s", XTAP_CFG_DEF_VT_PEER);
	c->global.max_criteria = DTCP_MAX_CRITERIA_DEFAULT;
	c->global.seq_mode = DTCP_SEQ_OFF;
	c->max_cdests = DTCP_CDESTS_DEFAULT;
	c->x1_port = XTAP_CFG_DEF_X1_PORT;
	c->x1_x3_port_base = XTAP_CFG_DEF_X1_X3_PORT_BASE;
	snprintf(c->state_file, sizeof(c->state_file), "%s", XTAP_CFG_DEF_STATE);
	snprintf(c->audit_log, sizeof(c->audit_log), "%s", XTAP_CFG_DEF_AUDIT);
}

int xtap_config_parse_buf(const char *text, size_t n, struct xtap_config *c, struct xtap_config_errors *errs)
{
	struct word w[XTAP_CFG_WORDS_MAX];
	struct parse *p = calloc(1, sizeof(*p)); /* the word buffer is 16 KiB */

	defaults(c);
	if (errs)
		memset(errs, 0, sizeof(*errs));
	if (!p) {
		if (errs) {
			errs->n = errs->kept = 1;
			snprintf(errs->e[0].msg, sizeof(errs->e[0].msg), "out of memory");
		}
		return 1;
	}
	p->c = c;
	p->errs = errs;
	for (size_t at = 0; at < n;) {
		const char *nl = memchr(text + at, '\n', n - at);
		size_t len = nl ? (size_t)(nl - (text + at)) : n - at;
		const char *s = text + at;
		at += len + (nl ? 1 : 0);
		p->line++;
		p->line_errs = 0;
		if (len && s[len - 1] == '\r')
			len--;
		if (len > XTAP_CFG_LINE_MAX) {
			perr(p, "line longer than %d bytes", XTAP_CFG_LINE_MAX);
			continue;
		}
		int nw = tokenize(p, s, len, w);
		if (nw > 0)
			statement(p, w, nw);
		explicit_bzero(p->wbuf, sizeof(p->wbuf)); /* the line may hold a secret */
	}
	if (!c->n_host_keys)
		snprintf(c->host_keys[c->n_host_keys++], XTAP_CFG_PATH_MAX, "%s", XTAP_CFG_DEF_HOST_KEY);
	check_users(p);
	check_dtcp(p);
	check_tunnel(p);
	check_names(p);
	check_metrics(p);
	check_x1(p);
	int nerr = p->nerr;
	seen_free(p);
	free(p);
	return nerr;
}

static int file_error(struct xtap_config_errors *errs, const char *what, int e)
{
	if (errs) {
		memset(errs, 0, sizeof(*errs));
		errs->n = errs->kept = 1;
		snprintf(errs->e[0].msg, sizeof(errs->e[0].msg), "%s: %s", what, strerror(e));
	}
	return 1;
}

int xtap_config_load(const char *path, struct xtap_config *c, struct xtap_config_errors *errs)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	char *buf;

	defaults(c);
	if (fd < 0)
		return file_error(errs, "cannot open", errno);
	buf = malloc(XTAP_CFG_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return file_error(errs, "cannot read", ENOMEM);
	}
	for (;;) {
		ssize_t k = read(fd, buf + n, XTAP_CFG_FILE_MAX + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			close(fd);
			free(buf);
			return file_error(errs, "cannot read", e);
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > XTAP_CFG_FILE_MAX) {
			close(fd);
			free(buf);
			return file_error(errs, "larger than 4 MiB", EFBIG);
		}
	}
	close(fd);
	int rc = xtap_config_parse_buf(buf, n, c, errs);
	explicit_bzero(buf, n);
	free(buf);
	return rc;
}

void xtap_config_free(struct xtap_config *c)
{
	for (size_t i = 0; i < c->n_users; i++)
		for (size_t k = 0; k < c->users[i].n_ssh_keys; k++)
			free(c->users[i].ssh_keys[k].text);
	explicit_bzero(c, sizeof(*c));
}

void xtap_config_report(const char *path, const struct xtap_config_errors *errs, FILE *out)
{
	for (int i = 0; i < errs->kept; i++) {
		if (errs->e[i].line)
			fprintf(out, "%s:%d: %s\n", path, errs->e[i].line, errs->e[i].msg);
		else
			fprintf(out, "%s: %s\n", path, errs->e[i].msg);
	}
	if (errs->n > errs->kept)
		fprintf(out, "%s: %d more errors not shown\n", path, errs->n - errs->kept);
}

static void warn(struct xtap_config_errors *w, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(struct xtap_config_errors *w, int line, const char *fmt, ...)
{
	va_list ap;

	if (w->kept < XTAP_CFG_ERRS_MAX) {
		struct xtap_config_error *e = &w->e[w->kept++];
		int k = snprintf(e->msg, sizeof(e->msg), "warning: ");
		e->line = line;
		va_start(ap, fmt);
		vsnprintf(e->msg + k, sizeof(e->msg) - (size_t)k, fmt, ap);
		va_end(ap);
	}
	w->n++;
}

int xtap_config_warnings(const struct xtap_config *c, struct xtap_config_errors *w)
{
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < c->n_users; i++) {
		const struct xtap_cfg_user *u = &c->users[i];
		if (!u->csource || u->pol.n_allow_cdest || c->global.n_allow_cdest)
			continue;
		if (c->deny_unlisted_cdest)
			warn(w, u->csource_line,
			     "control source '%s' has no allowed-destination and "
			     "deny-unlisted-destinations is set: every content destination is refused",
			     u->name);
		else
			warn(w, u->csource_line,
			     "control source '%s' has no allowed-destination: "
			     "copies may go to any address",
			     u->name);
	}
	return w->n;
}

/* ---- comparing two configurations -------------------------------------------------------- */

/* Field by field, never memcmp of whole structs: line numbers differ between
 * files that mean the same, and padding is not compared. */

static bool nets_eq(const struct dtcp_net *a, size_t na, const struct dtcp_net *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].family != b[i].family || a[i].p.len != b[i].p.len || memcmp(a[i].p.a, b[i].p.a, 16))
			return false;
	return true;
}

static bool ranges_eq(const struct dtcp_range_set *a, const struct dtcp_range_set *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (a->r[i].lo != b->r[i].lo || a->r[i].hi != b->r[i].hi)
			return false;
	return true;
}

static bool addr_eq(const struct dtcp_addr *a, const struct dtcp_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, 16) == 0;
}

static bool policy_eq(const struct xtap_cfg_policy *a, const struct xtap_cfg_policy *b)
{
	return nets_eq(a->allow_cdest, a->n_allow_cdest, b->allow_cdest, b->n_allow_cdest) &&
		a->has_allow_cdest_port == b->has_allow_cdest_port &&
		ranges_eq(&a->allow_cdest_port, &b->allow_cdest_port) &&
		nets_eq(a->allow_src, a->n_allow_src, b->allow_src, b->n_allow_src) &&
		a->max_criteria == b->max_criteria && a->has_seq_mode == b->has_seq_mode &&
		a->seq_mode == b->seq_mode && !memcmp(a->has_strict, b->has_strict, sizeof(a->has_strict)) &&
		!memcmp(a->strict, b->strict, sizeof(a->strict));
}

static bool user_eq(const struct xtap_cfg_user *a, const struct xtap_cfg_user *b)
{
	if (a->login != b->login || a->has_uid != b->has_uid || a->uid != b->uid ||
	    strcmp(a->class_name, b->class_name) || strcmp(a->password_hash, b->password_hash) ||
	    a->csource != b->csource || a->keylen != b->keylen || memcmp(a->key, b->key, a->keylen) ||
	    a->n_ssh_keys != b->n_ssh_keys || !policy_eq(&a->pol, &b->pol))
		return false;
	for (size_t i = 0; i < a->n_ssh_keys; i++)
		if (a->ssh_keys[i].type != b->ssh_keys[i].type || strcmp(a->ssh_keys[i].text, b->ssh_keys[i].text))
			return false;
	return true;
}

static bool class_eq(const struct xtap_cfg_class *a, const struct xtap_cfg_class *b)
{
	return a->flow_tap_operation == b->flow_tap_operation;
}

static bool cdest_eq(const struct xtap_cfg_cdest *a, const struct xtap_cfg_cdest *b)
{
	return addr_eq(&a->dst, &b->dst) && addr_eq(&a->src, &b->src) && a->has_port == b->has_port &&
		a->dst_port == b->dst_port && a->src_port == b->src_port && a->ttl == b->ttl &&
		a->has_intercept == b->has_intercept && a->intercept_id == b->intercept_id &&
		memcmp(&a->x3, &b->x3, sizeof(a->x3)) == 0; /* zeroed whole at parse start */
}

static bool group_eq(const struct xtap_cfg_group *a, const struct xtap_cfg_group *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		bool found = false;
		for (size_t k = 0; k < b->n && !found; k++)
			found = !strcmp(a->member[i].netdev, b->member[k].netdev);
		if (!found)
			return false;
	}
	return true;
}

static bool alias_eq(const struct xtap_cfg_alias *a, const struct xtap_cfg_alias *b)
{
	return !strcmp(a->netdev, b->netdev);
}

static bool attach_eq(const struct xtap_cfg_attach *a, const struct xtap_cfg_attach *b)
{
	return a->mode == b->mode;
}

static bool jif_eq(const struct xtap_cfg_jif *a, const struct xtap_cfg_jif *b)
{
	return a->unit == b->unit && a->inet == b->inet && a->inet6 == b->inet6;
}

/* Two tables are equal when they hold the same names (in any order) with
 * equal entries. Each name occurs once per table (the parser merges). */
#define TABLE_EQ(A, NA, B, NB, field, eq) \
	({ \
		bool _ok = (NA) == (NB); \
		for (size_t _i = 0; _ok && _i < (NA); _i++) { \
			bool _f = false; \
			for (size_t _k = 0; !_f && _k < (NB); _k++) \
				if (!strcmp((A)[_i].field, (B)[_k].field)) \
					_f = true, _ok = eq(&(A)[_i], &(B)[_k]); \
			_ok = _ok && _f; \
		} \
		_ok; \
	})

/* vt units are keyed by name and unit: the name alone repeats. */
static bool jifs_eq(const struct xtap_config *a, const struct xtap_config *b)
{
	if (a->n_jifs != b->n_jifs)
		return false;
	for (size_t i = 0; i < a->n_jifs; i++) {
		bool f = false;
		for (size_t k = 0; !f && k < b->n_jifs; k++)
			f = !strcmp(a->jifs[i].name, b->jifs[k].name) && jif_eq(&a->jifs[i], &b->jifs[k]);
		if (!f)
			return false;
	}
	return true;
}

int xtap_config_diff(const struct xtap_config *a, const struct xtap_config *b)
{
	int d = 0;

	if (!jifs_eq(a, b) || strcmp(a->tunnel_if, b->tunnel_if) || a->ipv6 != b->ipv6 ||
	    strcmp(a->vt_name, b->vt_name) || strcmp(a->vt_peer, b->vt_peer) ||
	    !TABLE_EQ(a->attach, a->n_attach, b->attach, b->n_attach, netdev, attach_eq) ||
	    strcmp(a->state_file, b->state_file))
		d |= XTAP_CFG_DATAPATH;

	bool same = TABLE_EQ(a->classes, a->n_classes, b->classes, b->n_classes, name, class_eq) &&
		TABLE_EQ(a->users, a->n_users, b->users, b->n_users, name, user_eq) &&
		a->dtcp_enabled == b->dtcp_enabled && a->connection_limit == b->connection_limit &&
		a->rate_limit == b->rate_limit && a->source_connection_limit == b->source_connection_limit &&
		a->source_rate_limit == b->source_rate_limit && addr_eq(&a->listen_addr, &b->listen_addr) &&
		a->listen_port == b->listen_port && addr_eq(&a->metrics_addr, &b->metrics_addr) &&
		a->metrics_port == b->metrics_port && a->n_host_keys == b->n_host_keys &&
		a->idle_timeout == b->idle_timeout && a->max_message_size == b->max_message_size &&
		TABLE_EQ(a->aliases, a->n_aliases, b->aliases, b->n_aliases, junos, alias_eq) &&
		TABLE_EQ(a->groups, a->n_groups, b->groups, b->n_groups, name, group_eq) &&
		TABLE_EQ(a->cdests, a->n_cdests, b->cdests, b->n_cdests, name, cdest_eq) &&
		policy_eq(&a->global, &b->global) && a->max_cdests == b->max_cdests &&
		a->deny_unlisted_cdest == b->deny_unlisted_cdest && !strcmp(a->audit_log, b->audit_log) &&
		a->x1_enabled == b->x1_enabled && addr_eq(&a->x1_addr, &b->x1_addr) && a->x1_port == b->x1_port &&
		!strcmp(a->x1_cert, b->x1_cert) && !strcmp(a->x1_key, b->x1_key) && !strcmp(a->x1_ca, b->x1_ca) &&
		!strcmp(a->x1_ne, b->x1_ne) && a->x1_keepalive == b->x1_keepalive &&
		a->x1_keepalive_policy == b->x1_keepalive_policy && addr_eq(&a->x1_x3_local, &b->x1_x3_local) &&
		a->x1_x3_port_base == b->x1_x3_port_base && !strcmp(a->x1_x3_cert, b->x1_x3_cert) &&
		!strcmp(a->x1_x3_key, b->x1_x3_key) && !strcmp(a->x1_x3_ca, b->x1_x3_ca) &&
		a->n_x1_admfs == b->n_x1_admfs &&
		!memcmp(a->x1_admfs, b->x1_admfs, a->n_x1_admfs * sizeof(a->x1_admfs[0]));
	for (size_t i = 0; same && i < a->n_host_keys; i++)
		same = !strcmp(a->host_keys[i], b->host_keys[i]);
	if (!same)
		d |= XTAP_CFG_RELOADABLE;
	return d;
}

/* ---- lookups for the daemon ---------------------------------------------------------------- */

const struct xtap_cfg_user *xtap_config_user(const struct xtap_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_users; i++)
		if (!strcmp(c->users[i].name, name))
			return &c->users[i];
	return NULL;
}

int xtap_config_source_policy(const struct xtap_config *c, const char *user, struct dtcp_source_policy *out)
{
	const struct xtap_cfg_user *u = xtap_config_user(c, user);
	const struct xtap_cfg_policy *up, *g = &c->global;

	if (!u || !dtcp_capable(c, u))
		return -1;
	up = &u->pol;
	memset(out, 0, sizeof(*out));
	out->key = u->key;
	out->keylen = u->keylen;
	out->seq_mode = up->has_seq_mode ? up->seq_mode : g->seq_mode;
	out->max_criteria = up->max_criteria;
	bool strict[3];
	for (int k = 0; k < 3; k++)
		strict[k] = up->has_strict[k] ? up->strict[k] : g->strict[k];
	out->refuse_no_lifetime = strict[XTAP_STRICT_NO_LIFETIME];
	out->cdest_whole = strict[XTAP_STRICT_CDEST_WHOLE];
	out->delete_static_needs_flag = strict[XTAP_STRICT_DELETE_STATIC];
	/* a user's own list replaces the global one */
	const struct xtap_cfg_policy *cd = up->n_allow_cdest ? up : g;
	out->n_allow_cdest = cd->n_allow_cdest;
	out->allow_cdest = cd->n_allow_cdest ? cd->allow_cdest : NULL;
	if (!cd->n_allow_cdest && c->deny_unlisted_cdest) {
		/* The library reads an empty list as "any" (Junos): a list of
		 * one net of no family, which contains no address, is "none". */
		static const struct dtcp_net none = { .family = DTCP_AF_NONE };
		out->n_allow_cdest = 1;
		out->allow_cdest = &none;
	}
	const struct xtap_cfg_policy *pp = up->has_allow_cdest_port ? up : g;
	out->allow_cdest_port = pp->has_allow_cdest_port ? &pp->allow_cdest_port : NULL;
	const struct xtap_cfg_policy *sp = up->n_allow_src ? up : g;
	out->n_allow_src = sp->n_allow_src;
	out->allow_src = sp->n_allow_src ? sp->allow_src : NULL;
	return 0;
}

static int name_out(const char *s, struct dtcp_name *out)
{
	snprintf(out->s, sizeof(out->s), "%s", s);
	return 0;
}

/* The Junos logical unit of "IFD.N", N 0 to 16385 (as `interfaces ... unit`):
 * the length of IFD, or 0 when name is not IFD.N. */
static size_t junos_unit_base(const char *name)
{
	const char *dot = strrchr(name, '.');
	unsigned long unit = 0;

	if (!dot || dot == name || !dot[1] || strlen(dot + 1) > 5)
		return 0;
	for (const char *d = dot + 1; *d; d++) {
		if (*d < '0' || *d > '9')
			return 0;
		unit = unit * 10 + (unsigned long)(*d - '0');
	}
	return unit <= 16385 ? (size_t)(dot - name) : 0;
}

/* An alias's own name, then an attached interface's Linux name, then the
 * alias of a unit's interface: `ge-1/3/5` answers for `ge-1/3/5.N` that has
 * no alias of its own (an alias of a unit covers that unit only). */
int xtap_config_resolve_ifname(const struct xtap_config *c, const char *name, struct dtcp_name *out)
{
	size_t base;

	for (size_t i = 0; i < c->n_aliases; i++)
		if (!strcmp(c->aliases[i].junos, name))
			return name_out(c->aliases[i].netdev, out);
	if (attach_find(c, name))
		return name_out(name, out);
	if ((base = junos_unit_base(name)))
		for (size_t i = 0; i < c->n_aliases; i++)
			if (strlen(c->aliases[i].junos) == base && !strncmp(c->aliases[i].junos, name, base) &&
			    !strchr(c->aliases[i].junos, '.'))
				return name_out(c->aliases[i].netdev, out);
	return -1;
}

const struct xtap_cfg_group *xtap_config_group(const struct xtap_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_groups; i++)
		if (!strcmp(c->groups[i].name, name))
			return &c->groups[i];
	return NULL;
}

int xtap_config_cdest(const struct xtap_config *c, const char *name, struct dtcp_cdest *out)
{
	for (size_t i = 0; i < c->n_cdests; i++) {
		const struct xtap_cfg_cdest *d = &c->cdests[i];
		if (strcmp(d->name, name))
			continue;
		memset(out, 0, sizeof(*out));
		name_out(d->name, &out->name);
		out->dst = d->dst;
		out->src = d->src;
		out->dst_port = d->dst_port;
		out->src_port = d->src_port;
		out->ttl = d->ttl;
		/* an X3 destination's copies go to its delivery process only */
		return d->x3.on ? DTCP_CDEST_FIXED : 0;
	}
	return -1;
}

int xtap_config_cdest_xid(const struct xtap_config *c, const char *name, uint8_t xid[16])
{
	for (size_t i = 0; i < c->n_cdests; i++) {
		const struct xtap_cfg_cdest *d = &c->cdests[i];
		if (!strcmp(d->name, name) && d->x3.on && d->x3.has_xid) {
			memcpy(xid, d->x3.xid, 16);
			return 0;
		}
	}
	return -1;
}

const char *xtap_attach_mode_name(enum xtap_attach_mode m)
{
	switch (m) {
	case XTAP_ATTACH_XDP_NATIVE: return "xdp-native";
	case XTAP_ATTACH_XDP_GENERIC: return "xdp-generic";
	case XTAP_ATTACH_TC: return "tc";
	}
	return "?";
}

const char *xtap_config_statement(size_t i)
{
	return i < NRULES ? grammar[i].pat : NULL;
}
