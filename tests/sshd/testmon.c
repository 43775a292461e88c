/* A test monitor for the SSH worker (docs/privsep.md): what xtapd's monitor
 * does, with fixed credentials and the in-memory DTCP backend. It forks the
 * worker on a SOCK_SEQPACKET socketpair, decodes and validates everything
 * the worker sends (mon_decode, then state: sender, session, user), answers
 * authentication and runs the DTCP library.
 *
 * Credentials: user ftap1, password checked with crypt(3) against
 * TEST_HASH, public key against the one in the -A file.
 *
 * stdout, one line each, for the tests to read (never a password or DTCP
 * content): "worker-pid N", "auth password USER ok|fail",
 * "auth pubkey USER probe|signed ok|fail", "session open ID USER PEER",
 * "session close ID", "event KIND SESSION PEER", "reject WHY",
 * and the memback audit lines ("% audit: ..."). */
#include <crypt.h>
#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dtcp.h"
#include "log.h"
#include "memback.h"
#include "monproto.h"
#include "worker.h"

#define TEST_USER "ftap1"
/* crypt(3) SHA-512 of the test password "xtap-test-pw" (tests/sshd/sshd_test.py) */
#define TEST_HASH "$6$xtaptestsalt$KVXqPdNh1kdv0b13JQFDCVlxalCARleSmGxhtooWwTvP5llEJeoq." \
		  "/G7SVovO0Bbqjl.TJBXMKuTJatpflSUb."
#define MAX_SESS 1024 /* sessions tracked at once; far above any test's connection limit */

struct msess {
	bool used;
	uint32_t id;
	bool authed;              /* the monitor said ok to a password or a signed key */
	char user[MON_USER_MAX];
	bool dtcp;                /* SESSION_OPEN accepted */
	bool closed;              /* DTCP_CLOSE sent: no more data taken */
	struct dtcp_session ds;
};

struct mon {
	int fd;
	pid_t worker;
	char keytype[MON_KEYTYPE_MAX];
	uint8_t keyblob[MON_KEYBLOB_MAX];
	size_t keylen;
	struct memback mb;
	struct dtcp_server srv;
	struct msess s[MAX_SESS];
	uint8_t tx[MON_MSG_MAX], rx[MON_MSG_MAX];
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "ssh-ed25519 AAAA... comment" -> type and blob */
static int read_authorized_key(struct mon *m, const char *path)
{
	char line[4096], *type, *b64;
	FILE *f = fopen(path, "r");
	int n;
	size_t bl;

	if (!f || !fgets(line, sizeof(line), f)) {
		fprintf(stderr, "testmon: cannot read %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	type = strtok(line, " \n");
	b64 = strtok(NULL, " \n");
	if (!type || !b64 || strlen(type) >= sizeof(m->keytype) ||
	    (bl = strlen(b64)) > (sizeof(m->keyblob) / 3) * 4 || bl % 4) {
		fprintf(stderr, "testmon: %s is not a public key line\n", path);
		return -1;
	}
	n = EVP_DecodeBlock(m->keyblob, (const unsigned char *)b64, (int)bl);
	if (n < 0) {
		fprintf(stderr, "testmon: bad base64 in %s\n", path);
		return -1;
	}
	/* EVP_DecodeBlock counts the bytes that padding stands for */
	while (bl && b64[bl - 1] == '=') {
		bl--;
		n--;
	}
	m->keylen = (size_t)n;
	snprintf(m->keytype, sizeof(m->keytype), "%s", type);
	return 0;
}

static struct msess *sess_get(struct mon *m, uint32_t id, bool create)
{
	struct msess *free_slot = NULL;

	for (int i = 0; i < MAX_SESS; i++) {
		if (m->s[i].used && m->s[i].id == id)
			return &m->s[i];
		if (!m->s[i].used && !free_slot)
			free_slot = &m->s[i];
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->id = id;
	return free_slot;
}

static void send_msg(struct mon *m, size_t n)
{
	if (n == 0) {
		printf("reject cannot encode a reply\n");
		return;
	}
	/* blocking: the worker reads its socket whatever it is doing */
	if (mon_send(m->fd, m->tx, n) < 0)
		printf("reject send to the worker: %s\n", strerror(errno));
}

struct emit_ctx {
	struct mon *m;
	uint32_t id;
};

static void emit(void *arg, const char *buf, size_t n)
{
	struct emit_ctx *e = arg;
	send_msg(e->m, mon_enc_data(e->m->tx, sizeof(e->m->tx), MON_DTCP_REPLY, e->id, buf, n));
}

static bool password_ok(const char *user, const char *pw)
{
	struct crypt_data cd;
	const char *h;

	memset(&cd, 0, sizeof(cd));
	/* crypt for every user, so an unknown user costs the same time */
	h = crypt_r(pw, TEST_HASH, &cd);
	return h && strlen(h) == strlen(TEST_HASH) &&
	       CRYPTO_memcmp(h, TEST_HASH, strlen(TEST_HASH)) == 0 && !strcmp(user, TEST_USER);
}

static void handle(struct mon *m, struct mon_msg *msg)
{
	/* a slot per connection, from CONN_OPEN to SESSION_CLOSE */
	struct msess *s = sess_get(m, msg->session, msg->type == MON_CONN_OPEN);
	enum dtcp_session_status st;

	switch (msg->type) {
	case MON_CONN_OPEN:
		if (s->authed || s->dtcp)
			printf("reject CONN_OPEN for session %u already in use\n", msg->session);
		printf("conn open %u %s\n", msg->session, msg->peer);
		break;
	case MON_AUTH_PASSWORD: {
		bool ok = s && !s->authed && password_ok(msg->user, msg->password);
		printf("auth password %s %s\n", msg->user, ok ? "ok" : "fail");
		if (ok) {
			s->authed = true;
			snprintf(s->user, sizeof(s->user), "%s", msg->user);
		}
		send_msg(m, mon_enc_auth_result(m->tx, sizeof(m->tx), msg->session, ok));
		break;
	}
	case MON_AUTH_PUBKEY: {
		bool ok = s && !s->authed && !strcmp(msg->user, TEST_USER) &&
			  !strcmp(msg->keytype, m->keytype) && msg->len == m->keylen &&
			  !memcmp(msg->data, m->keyblob, m->keylen);
		printf("auth pubkey %s %s %s\n", msg->user, msg->key_signed ? "signed" : "probe",
		       ok ? "ok" : "fail");
		if (ok && msg->key_signed) {
			s->authed = true;
			snprintf(s->user, sizeof(s->user), "%s", msg->user);
		}
		send_msg(m, mon_enc_auth_result(m->tx, sizeof(m->tx), msg->session, ok));
		break;
	}
	case MON_SESSION_OPEN:
		/* only for the user this monitor authenticated on this session */
		if (!s || !s->authed || s->dtcp || strcmp(s->user, msg->user)) {
			printf("reject SESSION_OPEN for session %u not authenticated as %s\n",
			       msg->session, msg->user);
			break;
		}
		if (dtcp_session_init(&s->ds, &m->srv, msg->user, msg->peer)) {
			printf("reject dtcp_session_init failed\n");
			break;
		}
		s->dtcp = true;
		printf("session open %u %s %s\n", msg->session, msg->user, msg->peer);
		break;
	case MON_DTCP_DATA: {
		struct emit_ctx e = { m, msg->session };
		if (!s || !s->dtcp) {
			printf("reject DTCP_DATA for session %u without a DTCP session\n", msg->session);
			break;
		}
		if (s->closed)
			break;
		st = dtcp_session_feed(&s->ds, msg->data, msg->len, wall_ms(), emit, &e);
		if (st == DTCP_SESSION_CLOSE) {
			s->closed = true;
			printf("dtcp close %u\n", msg->session);
			send_msg(m, mon_enc_empty(m->tx, sizeof(m->tx), MON_DTCP_CLOSE, msg->session));
		}
		break;
	}
	case MON_DTCP_EOF:
		/* everything before it is answered: replies are sent in order */
		if (s && s->dtcp && !s->closed) {
			s->closed = true;
			send_msg(m, mon_enc_empty(m->tx, sizeof(m->tx), MON_DTCP_CLOSE, msg->session));
		}
		break;
	case MON_SESSION_CLOSE:
		if (!s) {
			printf("reject SESSION_CLOSE for session %u not open\n", msg->session);
			break;
		}
		if (s->dtcp) {
			printf("session close %u\n", msg->session);
			dtcp_session_free(&s->ds);
		} else {
			printf("conn close %u\n", msg->session);
		}
		s->used = false;
		break;
	case MON_EVENT:
		printf("event %s %u %s\n", mon_event_name(msg->kind), msg->session, msg->peer);
		break;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: testmon -p PORT -k HOSTKEY -A AUTHORIZED_KEY.pub [-u USER]\n"
			"  [-l ADDR] [-c MAX_SESSIONS] [-r RATE_PER_MIN] [-C PER_SOURCE] [-R PER_SOURCE_RATE]\n"
			"  [-i IDLE_SECS]\n"
			"  [-a AUTH_SECS] [-t AUTH_TRIES] [-S (no seccomp)] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct mon m;
	struct xtap_worker_opts o;
	const char *akey = NULL;
	int opt, sv[2], status;

	xtap_worker_opts_default(&o);
	o.listen_addr = "127.0.0.1";
	o.port = 0;
	o.src_sessions = o.src_rate = 0; /* not given: the global limits (one address in the tests) */
	while ((opt = getopt(argc, argv, "p:k:A:u:l:c:r:C:R:i:a:t:Sv")) != -1) {
		switch (opt) {
		case 'p': o.port = (uint16_t)atoi(optarg); break;
		case 'k': o.hostkey = optarg; break;
		case 'A': akey = optarg; break;
		case 'u': o.user = optarg; break;
		case 'l': o.listen_addr = optarg; break;
		case 'c': o.max_sessions = (unsigned)atoi(optarg); break;
		case 'r': o.rate_per_min = (unsigned)atoi(optarg); break;
		case 'C': o.src_sessions = (unsigned)atoi(optarg); break;
		case 'R': o.src_rate = (unsigned)atoi(optarg); break;
		case 'i': o.idle_secs = (unsigned)atoi(optarg); break;
		case 'a': o.auth_secs = (unsigned)atoi(optarg); break;
		case 't': o.auth_tries = (unsigned)atoi(optarg); break;
		case 'S': o.no_seccomp = true; break;
		case 'v': o.log_level = LOG_LVL_DEBUG; break;
		default: usage();
		}
	}
	if (!o.port || !o.hostkey || !akey)
		usage();
	if (!o.src_sessions)
		o.src_sessions = o.max_sessions;
	if (!o.src_rate)
		o.src_rate = o.rate_per_min;
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("xtapd-worker", o.log_level);
	if (read_authorized_key(&m, akey) < 0)
		return 1;
	memback_init(&m.mb, stdout);
	if (dtcp_server_init(&m.srv, &m.mb.cfg, &m.mb.be, &m.mb)) {
		fprintf(stderr, "testmon: dtcp_server_init failed\n");
		return 1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("testmon: socketpair");
		return 1;
	}
	fflush(NULL);
	m.worker = fork();
	if (m.worker < 0) {
		perror("testmon: fork");
		return 1;
	}
	if (m.worker == 0) {
		close(sv[0]);
		/* _exit: the sanitizer's leak check cannot run in a process that
		 * dropped privileges and forbids ptrace */
		_exit(xtap_worker_main(sv[1], &o));
	}
	close(sv[1]);
	m.fd = sv[0];
	printf("worker-pid %d\n", (int)m.worker);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	while (!stop) {
		struct pollfd p = { .fd = m.fd, .events = POLLIN };
		struct mon_msg msg;
		const char *why;
		long n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = mon_recv(m.fd, m.rx, sizeof(m.rx));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			printf("reject recv: %s\n", strerror(errno));
			continue;
		}
		if (mon_decode(m.rx, (size_t)n, MON_FROM_WORKER, &msg, &why) < 0) {
			printf("reject %s\n", why);
			continue;
		}
		handle(&m, &msg);
		mon_msg_clear(&msg);
	}
	/* closing our end tells the worker to stop; then make sure */
	close(m.fd);
	for (int i = 0; i < 50 && waitpid(m.worker, &status, WNOHANG) == 0; i++)
		usleep(20000);
	if (waitpid(m.worker, &status, WNOHANG) == 0) {
		kill(m.worker, SIGKILL);
		waitpid(m.worker, &status, 0);
	}
	if (WIFSIGNALED(status))
		printf("worker-exit signal %d\n", WTERMSIG(status));
	else
		printf("worker-exit status %d\n", WEXITSTATUS(status));
	for (int i = 0; i < MAX_SESS; i++)
		if (m.s[i].used && m.s[i].dtcp)
			dtcp_session_free(&m.s[i].ds);
	dtcp_server_free(&m.srv);
	return 0;
}
