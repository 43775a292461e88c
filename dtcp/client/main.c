/* SPDX-License-Identifier: BSD-2-Clause */
/* dtcp: drive an xtap sensor (or a Juniper router) over DTCP.
 * A thin libssh adapter over the dtcp library: builds requests from the
 * command line or a file, signs them, sends them on the flow-tap-dtcp
 * subsystem, reads and verifies the replies. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libssh/libssh.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dtcp.h"

enum exit_code { EX_OK = 0, EX_NOT200 = 1, EX_USAGE = 2, EX_NOREPLY = 3, EX_SSH = 4 };

#define MAX_MSGS 1024 /* messages one `send FILE` may carry */
#define MAX_EXTRA 64 /* --header options */

struct opts {
	const char *host, *user, *identity, *password_file, *known_hosts, *csource;
	int port, timeout_s;
	bool accept_new, json;
	char key[1024];
	size_t keylen;
	uint64_t seq;
	/* request fields, verbatim */
	const char *src, *dst, *sport, *dport, *proto, *icmp_type, *icmp_code, *ip_version;
	const char *in_if, *out_if, *vrf, *idle, *total, *packets, *bytes, *priority;
	const char *cdest, *cd_addr, *cd_port, *cd_src, *cd_src_port, *cd_ttl, *intercept;
	const char *ids, *flags, *ip_addr;
	bool is_static;
	const char *extra[MAX_EXTRA];
	int nextra;
};

struct msgbuf {
	char *p;
	size_t n, cap;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dtcp [options] add|delete|refresh|list|noop|send FILE\n"
		"connection:\n"
		"  -H HOST              sensor address (default 127.0.0.1)\n"
		"  -p PORT              SSH port (default 32001)\n"
		"  -u USER              SSH user, also the Csource-ID (default: login name)\n"
		"  -i FILE              SSH private key for public-key authentication\n"
		"  --password-file FILE SSH password from a file (else $DTCP_PASSWORD, else a prompt)\n"
		"  --known-hosts FILE   known_hosts to check the host key against (default ~/.ssh/known_hosts)\n"
		"  --accept-new         accept and record an unknown host key (never a changed one)\n"
		"  -k FILE | -K KEY     DTCP shared secret (default $DTCP_KEY, else \"Juniper\")\n"
		"  -t SECONDS           wait this long for each reply (default 10)\n"
		"  --json               print replies as JSON, one object per line\n"
		"request:\n"
		"  --csource ID  --seq N (first Seq, default 1)\n"
		"  --src --dst --sport --dport --proto --icmp-type --icmp-code LIST   match fields\n"
		"  --ip-version ipv4|ipv6  --ip-addr ADDR (source or destination)\n"
		"  --in-if LIST | --out-if LIST | --vrf NAME                          scope\n"
		"  --idle S --total S --packets N --bytes N | --static                lifetime\n"
		"  --priority N  --intercept-id HEX\n"
		"  --cdest LIST --cd-addr LIST --cd-port LIST --cd-src ADDR --cd-src-port N --cd-ttl N\n"
		"  --id LIST (Criteria-ID)  --flags criteria|stats|both (LIST)  --header 'Name: value'\n"
		"send FILE: raw messages separated by empty lines; each without Seq gets one,\n"
		"each without Authentication-Info is signed.\n"
		"exit: 0 all 200, 1 an error reply, 2 usage, 3 missing reply or bad signature, 4 SSH\n");
}

static void put(struct msgbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p) {
			perror("dtcp");
			exit(EX_USAGE);
		}
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void header(struct msgbuf *b, const char *name, const char *value)
{
	if (!value)
		return;
	if (strpbrk(value, "\r\n")) {
		fprintf(stderr, "dtcp: %s: value has a line break\n", name);
		exit(EX_USAGE);
	}
	put(b, name, strlen(name));
	put(b, ": ", 2);
	put(b, value, strlen(value));
	put(b, "\r\n", 2);
}

/* A request from the command line, without Seq and Authentication-Info. */
static void build_request(const struct opts *o, const char *method, struct msgbuf *b)
{
	put(b, method, strlen(method));
	put(b, " DTCP/0.8\r\n", 11);
	header(b, "Csource-ID", o->csource);
	if (!strcmp(method, "ADD")) {
		header(b, "Cdest-ID", o->cdest);
		header(b, "Source-Address", o->src);
		header(b, "Dest-Address", o->dst);
		header(b, "Source-Port", o->sport);
		header(b, "Dest-Port", o->dport);
		header(b, "Protocol", o->proto);
		header(b, "ICMP-Type", o->icmp_type);
		header(b, "ICMP-Code", o->icmp_code);
		header(b, "X-IP-Addr", o->ip_addr);
		header(b, "X-JTap-IP-Version", o->ip_version);
		header(b, "X-JTap-Input-Interface", o->in_if);
		header(b, "X-JTap-Output-Interface", o->out_if);
		header(b, "X-JTap-VRF-Name", o->vrf);
		header(b, "Priority", o->priority);
		header(b, "X-JTap-Cdest-Dest-Address", o->cd_addr);
		header(b, "X-JTap-Cdest-Dest-Port", o->cd_port);
		header(b, "X-JTap-Cdest-Source-Address", o->cd_src);
		header(b, "X-JTap-Cdest-Source-Port", o->cd_src_port);
		header(b, "X-JTap-Cdest-TTL", o->cd_ttl);
		header(b, "X-MD-Intercept-Id", o->intercept);
	} else if (strcmp(method, "NOOP")) {
		header(b, "Criteria-ID", o->ids);
		header(b, "Cdest-ID", o->cdest);
	}
	if (!strcmp(method, "ADD") || !strcmp(method, "REFRESH")) {
		header(b, "Timeout-Idle", o->idle);
		header(b, "Timeout-Total", o->total);
		header(b, "Timeout-Packets", o->packets);
		header(b, "Timeout-Bytes", o->bytes);
	}
	if (!strcmp(method, "LIST"))
		header(b, "Flags", o->flags);
	else if (o->is_static && strcmp(method, "NOOP"))
		header(b, "Flags", "STATIC");
	for (int i = 0; i < o->nextra; i++) {
		if (strpbrk(o->extra[i], "\r\n") || !strchr(o->extra[i], ':')) {
			fprintf(stderr, "dtcp: --header wants 'Name: value'\n");
			exit(EX_USAGE);
		}
		put(b, o->extra[i], strlen(o->extra[i]));
		put(b, "\r\n", 2);
	}
}

/* Adds Seq if missing and signs if unsigned, as deployed clients do. */
static void finish(const struct opts *o, struct msgbuf *b, uint64_t seq)
{
	struct dtcp_msg *m = malloc(sizeof(*m));
	char line[64];

	if (!m) {
		perror("dtcp");
		exit(EX_USAGE);
	}
	put(b, "\r\n", 2); /* parse as a whole message */
	dtcp_msg_parse(b->p, b->n, m);
	b->n -= 2;
	if (m->has_auth) {
		put(b, "\r\n", 2);
		free(m);
		return;
	}
	if (!dtcp_msg_get(m, "Seq")) {
		snprintf(line, sizeof(line), "Seq: %" PRIu64 "\r\n", seq);
		put(b, line, strlen(line));
	}
	free(m);
	size_t room = b->n + 128;
	if (b->cap < room) {
		b->p = realloc(b->p, room);
		b->cap = room;
	}
	b->n = dtcp_sign_append(o->key, o->keylen, b->p, b->n, b->cap);
	if (b->n == 0) {
		fprintf(stderr, "dtcp: cannot sign\n");
		exit(EX_USAGE);
	}
}

/* `send FILE`: messages separated by empty lines, every line end sent as
 * CRLF (a signature in the file must cover the CRLF form). */
static int read_messages(const char *path, struct msgbuf *msgs, int max)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int n = 0;
	bool in_msg = false;

	if (!f) {
		fprintf(stderr, "dtcp: %s: %s\n", path, strerror(errno));
		exit(EX_USAGE);
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		size_t body = (size_t)len;
		if (body && line[body - 1] == '\n')
			body--;
		if (body && line[body - 1] == '\r')
			body--;
		if (body == 0) {
			in_msg = false;
			continue;
		}
		if (!in_msg) {
			if (n == max) {
				fprintf(stderr, "dtcp: more than %d messages\n", max);
				exit(EX_USAGE);
			}
			memset(&msgs[n++], 0, sizeof(msgs[0]));
			in_msg = true;
		}
		put(&msgs[n - 1], line, body);
		put(&msgs[n - 1], "\r\n", 2);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return n;
}

static int read_key(struct opts *o, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f || !fgets(o->key, sizeof(o->key), f)) {
		fprintf(stderr, "dtcp: key file %s: %s\n", path, f ? "empty" : strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	o->key[strcspn(o->key, "\r\n")] = 0;
	o->keylen = strlen(o->key);
	return 0;
}

/* ---- SSH ----------------------------------------------------------------------- */

static int check_host(ssh_session s, const struct opts *o)
{
	enum ssh_known_hosts_e st = ssh_session_is_known_server(s);
	ssh_key pub = NULL;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL;

	if (st == SSH_KNOWN_HOSTS_OK)
		return 0;
	if (ssh_get_server_publickey(s, &pub) == SSH_OK &&
	    ssh_get_publickey_hash(pub, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == SSH_OK)
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	ssh_clean_pubkey_hash(&hash);
	ssh_key_free(pub);
	switch (st) {
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER:
		fprintf(stderr, "dtcp: host key for %s CHANGED (%s): refusing\n", o->host, fp ? fp : "?");
		break;
	case SSH_KNOWN_HOSTS_UNKNOWN:
	case SSH_KNOWN_HOSTS_NOT_FOUND:
		if (o->accept_new) {
			if (ssh_session_update_known_hosts(s) == SSH_OK) {
				fprintf(stderr, "dtcp: recorded new host key %s\n", fp ? fp : "?");
				ssh_string_free_char(fp);
				return 0;
			}
			fprintf(stderr, "dtcp: cannot record host key: %s\n", ssh_get_error(s));
		} else {
			fprintf(stderr, "dtcp: unknown host key %s for %s (use --accept-new)\n", fp ? fp : "?",
				o->host);
		}
		break;
	default: fprintf(stderr, "dtcp: known hosts: %s\n", ssh_get_error(s));
	}
	ssh_string_free_char(fp);
	return -1;
}

static int get_password(const struct opts *o, char *pw, size_t cap)
{
	const char *env = getenv("DTCP_PASSWORD");

	if (o->password_file) {
		FILE *f = fopen(o->password_file, "r");
		if (!f || !fgets(pw, (int)cap, f)) {
			fprintf(stderr, "dtcp: password file %s: %s\n", o->password_file,
				f ? "empty" : strerror(errno));
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		pw[strcspn(pw, "\r\n")] = 0;
		return 0;
	}
	if (env) {
		snprintf(pw, cap, "%s", env);
		return 0;
	}
	return ssh_getpass("Password: ", pw, cap, 0, 0) < 0 ? -1 : 0;
}

static int kbdint(ssh_session s, const char *pw)
{
	int rc = ssh_userauth_kbdint(s, NULL, NULL);
	/* Answer every prompt with the password (a "Password:" prompt). */
	for (int rounds = 0; rc == SSH_AUTH_INFO && rounds < 4; rounds++) {
		int n = ssh_userauth_kbdint_getnprompts(s);
		for (int i = 0; i < n; i++)
			if (ssh_userauth_kbdint_setanswer(s, (unsigned)i, pw) < 0)
				return SSH_AUTH_ERROR;
		rc = ssh_userauth_kbdint(s, NULL, NULL);
	}
	return rc;
}

static int authenticate(ssh_session s, const struct opts *o)
{
	char pw[512];
	int rc = ssh_userauth_none(s, NULL);

	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	int methods = ssh_userauth_list(s, NULL);
	if (o->identity) {
		ssh_key key = NULL;
		if (ssh_pki_import_privkey_file(o->identity, NULL, NULL, NULL, &key) != SSH_OK) {
			fprintf(stderr, "dtcp: cannot read key %s\n", o->identity);
			return -1;
		}
		rc = ssh_userauth_publickey(s, NULL, key);
		ssh_key_free(key);
		if (rc == SSH_AUTH_SUCCESS)
			return 0;
		if (!o->password_file && !getenv("DTCP_PASSWORD")) {
			fprintf(stderr, "dtcp: public key refused\n");
			return -1;
		}
	}
	if (get_password(o, pw, sizeof(pw)))
		return -1;
	rc = SSH_AUTH_DENIED;
	if (methods & SSH_AUTH_METHOD_PASSWORD)
		rc = ssh_userauth_password(s, NULL, pw);
	if (rc != SSH_AUTH_SUCCESS && (methods & SSH_AUTH_METHOD_INTERACTIVE))
		rc = kbdint(s, pw);
	explicit_bzero(pw, sizeof(pw));
	if (rc != SSH_AUTH_SUCCESS) {
		fprintf(stderr, "dtcp: authentication failed: %s\n", ssh_get_error(s));
		return -1;
	}
	return 0;
}

static ssh_channel open_dtcp(ssh_session s, const struct opts *o)
{
	bool no = false;
	int verbosity = SSH_LOG_NOLOG;

	ssh_options_set(s, SSH_OPTIONS_HOST, o->host);
	ssh_options_set(s, SSH_OPTIONS_PORT, &o->port);
	ssh_options_set(s, SSH_OPTIONS_USER, o->user);
	ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
	ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
	if (o->known_hosts)
		ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, o->known_hosts);
	if (ssh_connect(s) != SSH_OK) {
		fprintf(stderr, "dtcp: connect %s:%d: %s\n", o->host, o->port, ssh_get_error(s));
		return NULL;
	}
	if (check_host(s, o) || authenticate(s, o))
		return NULL;
	ssh_channel ch = ssh_channel_new(s);
	if (!ch || ssh_channel_open_session(ch) != SSH_OK ||
	    ssh_channel_request_subsystem(ch, "flow-tap-dtcp") != SSH_OK) {
		fprintf(stderr, "dtcp: subsystem flow-tap-dtcp: %s\n", ssh_get_error(s));
		if (ch)
			ssh_channel_free(ch);
		return NULL;
	}
	return ch;
}

/* ---- replies ---------------------------------------------------------------------- */

static void json_str(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_reply(const struct opts *o, const char *buf, size_t n, const struct dtcp_reply_view *v)
{
	if (!o->json) {
		for (size_t i = 0; i < n; i++)
			if (buf[i] != '\r')
				putchar(buf[i]);
		if (!v->signature_ok)
			printf("(reply signature does not verify)\n\n");
		return;
	}
	const struct dtcp_msg *m = &v->msg;
	printf("{\"version\":\"0.%d\",\"code\":%d,\"reason\":", v->version, v->code);
	json_str(m->ntok > 2 ? m->tok[2].p : "", m->ntok > 2 ? m->tok[2].n : 0);
	if (v->has_seq)
		printf(",\"seq\":%" PRIu64, v->seq);
	printf(",\"signature\":\"%s\",\"headers\":[", v->signature_ok ? "ok" : "bad");
	/* Lines of the signed part, name/value pairs in order (LIST repeats names). */
	bool first = true;
	for (const char *l = buf, *end = buf + m->signed_len; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		size_t ln = nl ? (size_t)(nl - l) : (size_t)(end - l);
		const char *c = memchr(l, ':', ln);
		if (l != buf && c) {
			size_t vn = ln - (size_t)(c + 1 - l);
			const char *val = c + 1;
			while (vn && *val == ' ')
				val++, vn--;
			while (vn && (val[vn - 1] == '\r' || val[vn - 1] == ' '))
				vn--;
			printf("%s[", first ? "" : ",");
			json_str(l, (size_t)(c - l));
			putchar(',');
			json_str(val, vn);
			putchar(']');
			first = false;
		}
		l = nl ? nl + 1 : end;
	}
	printf("]}\n");
}

/* Reads replies for nreq requests (a LIST may take several). Returns the
 * exit code. */
static int read_replies(ssh_channel ch, const struct opts *o, int nreq)
{
	static char buf[DTCP_MSG_MAX * 2];
	static struct dtcp_reply_view v;
	struct dtcp_framer fr = { 0 };
	size_t n = 0, skip, len;
	int answered = 0, rc = EX_OK;

	while (answered < nreq) {
		enum dtcp_frame_result fres = dtcp_frame_next(&fr, buf, n, &skip, &len);
		if (fres == DTCP_FRAME_MESSAGE) {
			if (dtcp_reply_parse(buf + skip, len, o->key, o->keylen, &v) != 0) {
				fprintf(stderr, "dtcp: not a DTCP reply\n");
				return EX_NOREPLY;
			}
			print_reply(o, buf + skip, len, &v);
			if (!v.signature_ok)
				rc = EX_NOREPLY;
			else if (v.code != 200 && rc == EX_OK)
				rc = EX_NOT200;
			if (v.last)
				answered++;
			memmove(buf, buf + skip + len, n - skip - len);
			n -= skip + len;
			dtcp_framer_reset(&fr);
			continue;
		}
		if (fres == DTCP_FRAME_OVERSIZE) {
			fprintf(stderr, "dtcp: reply over 64 KiB\n");
			return EX_NOREPLY;
		}
		int k = ssh_channel_read_timeout(ch, buf + n, (uint32_t)(sizeof(buf) - n), 0, o->timeout_s * 1000);
		if (k == SSH_ERROR || (k == 0 && ssh_channel_is_eof(ch)) || k == 0) {
			fprintf(stderr, "dtcp: %d of %d requests answered (%s)\n", answered, nreq,
				k == SSH_ERROR ? "channel error" :
					ssh_channel_is_eof(ch) ?
						 "closed by the sensor" :
						 "timeout: a bad signature or unknown source gets no reply");
			return EX_NOREPLY;
		}
		n += (size_t)k;
	}
	return rc;
}

/* ---- main ------------------------------------------------------------------------- */

enum {
	O_SRC = 256,
	O_DST,
	O_SPORT,
	O_DPORT,
	O_PROTO,
	O_ICMPT,
	O_ICMPC,
	O_IPVER,
	O_INIF,
	O_OUTIF,
	O_VRF,
	O_IDLE,
	O_TOTAL,
	O_PACKETS,
	O_BYTES,
	O_STATIC,
	O_PRIO,
	O_CDEST,
	O_CDADDR,
	O_CDPORT,
	O_CDSRC,
	O_CDSPORT,
	O_CDTTL,
	O_ICPT,
	O_ID,
	O_FLAGS,
	O_HEADER,
	O_JSON,
	O_PWFILE,
	O_KNOWN,
	O_ACCEPT,
	O_CSOURCE,
	O_SEQ,
	O_IPADDR,
};

static const struct option longopts[] = {
	{ "src", 1, 0, O_SRC },
	{ "dst", 1, 0, O_DST },
	{ "sport", 1, 0, O_SPORT },
	{ "dport", 1, 0, O_DPORT },
	{ "proto", 1, 0, O_PROTO },
	{ "icmp-type", 1, 0, O_ICMPT },
	{ "icmp-code", 1, 0, O_ICMPC },
	{ "ip-version", 1, 0, O_IPVER },
	{ "in-if", 1, 0, O_INIF },
	{ "out-if", 1, 0, O_OUTIF },
	{ "vrf", 1, 0, O_VRF },
	{ "idle", 1, 0, O_IDLE },
	{ "total", 1, 0, O_TOTAL },
	{ "packets", 1, 0, O_PACKETS },
	{ "bytes", 1, 0, O_BYTES },
	{ "static", 0, 0, O_STATIC },
	{ "priority", 1, 0, O_PRIO },
	{ "cdest", 1, 0, O_CDEST },
	{ "cd-addr", 1, 0, O_CDADDR },
	{ "cd-port", 1, 0, O_CDPORT },
	{ "cd-src", 1, 0, O_CDSRC },
	{ "cd-src-port", 1, 0, O_CDSPORT },
	{ "cd-ttl", 1, 0, O_CDTTL },
	{ "intercept-id", 1, 0, O_ICPT },
	{ "id", 1, 0, O_ID },
	{ "flags", 1, 0, O_FLAGS },
	{ "header", 1, 0, O_HEADER },
	{ "json", 0, 0, O_JSON },
	{ "password-file", 1, 0, O_PWFILE },
	{ "known-hosts", 1, 0, O_KNOWN },
	{ "accept-new", 0, 0, O_ACCEPT },
	{ "csource", 1, 0, O_CSOURCE },
	{ "seq", 1, 0, O_SEQ },
	{ "ip-addr", 1, 0, O_IPADDR },
	{ "help", 0, 0, 'h' },
	{ 0, 0, 0, 0 },
};

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;
	const char *env_key = getenv("DTCP_KEY");

	o->host = "127.0.0.1";
	o->port = 32001;
	o->timeout_s = 10;
	o->seq = 1;
	snprintf(o->key, sizeof(o->key), "%s", env_key ? env_key : "Juniper");
	o->keylen = strlen(o->key);
	while ((c = getopt_long(argc, argv, "H:p:u:k:K:i:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': o->host = optarg; break;
		case 'p': o->port = atoi(optarg); break;
		case 'u': o->user = optarg; break;
		case 'k':
			if (read_key(o, optarg))
				return -1;
			break;
		case 'K':
			snprintf(o->key, sizeof(o->key), "%s", optarg);
			o->keylen = strlen(o->key);
			break;
		case 'i': o->identity = optarg; break;
		case 't': o->timeout_s = atoi(optarg); break;
		case 'h': usage(stdout); exit(EX_OK);
		case O_SRC: o->src = optarg; break;
		case O_DST: o->dst = optarg; break;
		case O_SPORT: o->sport = optarg; break;
		case O_DPORT: o->dport = optarg; break;
		case O_PROTO: o->proto = optarg; break;
		case O_ICMPT: o->icmp_type = optarg; break;
		case O_ICMPC: o->icmp_code = optarg; break;
		case O_IPVER: o->ip_version = optarg; break;
		case O_INIF: o->in_if = optarg; break;
		case O_OUTIF: o->out_if = optarg; break;
		case O_VRF: o->vrf = optarg; break;
		case O_IDLE: o->idle = optarg; break;
		case O_TOTAL: o->total = optarg; break;
		case O_PACKETS: o->packets = optarg; break;
		case O_BYTES: o->bytes = optarg; break;
		case O_STATIC: o->is_static = true; break;
		case O_PRIO: o->priority = optarg; break;
		case O_CDEST: o->cdest = optarg; break;
		case O_CDADDR: o->cd_addr = optarg; break;
		case O_CDPORT: o->cd_port = optarg; break;
		case O_CDSRC: o->cd_src = optarg; break;
		case O_CDSPORT: o->cd_src_port = optarg; break;
		case O_CDTTL: o->cd_ttl = optarg; break;
		case O_ICPT: o->intercept = optarg; break;
		case O_ID: o->ids = optarg; break;
		case O_FLAGS: o->flags = optarg; break;
		case O_IPADDR: o->ip_addr = optarg; break;
		case O_HEADER:
			if (o->nextra == MAX_EXTRA)
				return -1;
			o->extra[o->nextra++] = optarg;
			break;
		case O_JSON: o->json = true; break;
		case O_PWFILE: o->password_file = optarg; break;
		case O_KNOWN: o->known_hosts = optarg; break;
		case O_ACCEPT: o->accept_new = true; break;
		case O_CSOURCE: o->csource = optarg; break;
		case O_SEQ: o->seq = strtoull(optarg, NULL, 10); break;
		default: return -1;
		}
	}
	if (!o->user) {
		struct passwd *pw = getpwuid(getuid());
		o->user = pw ? pw->pw_name : "root";
	}
	if (!o->csource)
		o->csource = o->user;
	if (o->port <= 0 || o->port > 65535 || o->timeout_s <= 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct msgbuf msgs[MAX_MSGS];
	int nmsg = 0;

	if (parse_args(argc, argv, &o) || optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	const char *cmd = argv[optind];
	static const char *const methods[][2] = {
		{ "add", "ADD" },   { "delete", "DELETE" }, { "refresh", "REFRESH" },
		{ "list", "LIST" }, { "noop", "NOOP" },
	};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!strcmp(cmd, methods[i][0])) {
			build_request(&o, methods[i][1], &msgs[0]);
			nmsg = 1;
		}
	if (!strcmp(cmd, "send")) {
		if (optind + 1 >= argc) {
			usage(stderr);
			return EX_USAGE;
		}
		nmsg = read_messages(argv[optind + 1], msgs, MAX_MSGS);
	}
	if (nmsg == 0) {
		usage(stderr);
		return EX_USAGE;
	}
	for (int i = 0; i < nmsg; i++)
		finish(&o, &msgs[i], o.seq + (uint64_t)i);

	ssh_session s = ssh_new();
	if (!s)
		return EX_SSH;
	ssh_channel ch = open_dtcp(s, &o);
	int rc = EX_SSH;
	if (ch) {
		/* Pipelined: all requests first, then the replies in order. */
		rc = EX_OK;
		for (int i = 0; i < nmsg && rc == EX_OK; i++)
			if (ssh_channel_write(ch, msgs[i].p, (uint32_t)msgs[i].n) != (int)msgs[i].n) {
				fprintf(stderr, "dtcp: write: %s\n", ssh_get_error(s));
				rc = EX_SSH;
			}
		if (rc == EX_OK)
			rc = read_replies(ch, &o, nmsg);
		ssh_channel_send_eof(ch);
		ssh_channel_close(ch);
		ssh_channel_free(ch);
	}
	ssh_disconnect(s);
	ssh_free(s);
	for (int i = 0; i < nmsg; i++)
		free(msgs[i].p);
	return rc;
}
