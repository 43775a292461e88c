// SPDX-License-Identifier: BSD-2-Clause
/*
 * xtapd: the sensor daemon. This process is the privileged monitor: it
 * reads the configuration, loads or adopts the datapath, keeps the DTCP
 * server state (criteria, ids, Seq) and the state file, writes the audit
 * log, and answers the unprivileged SSH worker it forks (docs/privsep.md),
 * validating everything the worker sends.
 *
 * usage: xtapd [-f CONFIG] [-n] [-v] [-L] [-P PIN_DIR] [-u WORKER_USER]
 *   -n  check the configuration and exit
 *   -L  leave the datapath running on exit (attached, pinned)
 */
#include <crypt.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <libssh/libssh.h>

#include "audit.h"
#include "backend.h"
#include "config.h"
#include "datapath.h"
#include "log.h"
#include "monproto.h"
#include "state.h"
#include "worker.h"

#define DEFAULT_CONFIG "/etc/xtap/xtapd.conf"
#define DEFAULT_PIN_DIR "/sys/fs/bpf/xtap"
#define DEFAULT_HOST_KEY "/etc/xtap/ssh_host_ed25519_key"
#define DEFAULT_STATE "/var/lib/xtap/state"
#define DEFAULT_AUDIT "/var/log/xtap/audit.log"
#define MAX_SESSIONS 256 /* above any connection-limit the worker enforces (75 default) */

struct msess {
	int used, authed, dtcp, closed;
	uint32_t id;
	char user[MON_USER_MAX];
	struct dtcp_session ds;
};

struct xtapd {
	struct xtap_config *cfg;
	const char *cfg_path;
	struct xtap_dp dp;
	struct xtap_cls *cls;
	struct xtap_backend be;
	struct dtcp_config dcfg;
	struct dtcp_server srv;
	struct xtap_audit *audit;
	const char *state_path;
	int worker_fd;
	pid_t worker;
	struct msess s[MAX_SESSIONS];
	uint8_t rx[MON_MSG_MAX], tx[MON_MSG_MAX];
	struct dtcp_source_policy pol; /* filled per request from the configuration */
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the DTCP library's view of the configuration ---- */

static const struct dtcp_source_policy *cb_source(void *ctx, const char *csource)
{
	struct xtapd *d = ctx;

	return xtap_config_source_policy(d->cfg, csource, &d->pol) ? NULL : &d->pol;
}

static int cb_ifname(void *ctx, const char *name, struct dtcp_name *out)
{
	struct xtapd *d = ctx;

	return xtap_config_resolve_ifname(d->cfg, name, out);
}

static int cb_vrf(void *ctx, const char *name, struct dtcp_name *out)
{
	struct xtapd *d = ctx;

	if (!xtap_config_group(d->cfg, name))
		return -1;
	snprintf(out->s, sizeof(out->s), "%s", name);
	return 0;
}

static int cb_cdest(void *ctx, const char *name, struct dtcp_cdest *out)
{
	struct xtapd *d = ctx;

	return xtap_config_cdest(d->cfg, name, out);
}

static void cb_audit(void *ctx, const char *csource, const char *method, int code, uint32_t id,
		     const char *why)
{
	struct xtapd *d = ctx;

	xtap_audit_dtcp(d->audit, csource, method, code, id, why);
}

/* An interface group is a VRF stand-in: one group bit per configured group. */
static uint64_t group_bits(void *ctx, const char *name)
{
	struct xtapd *d = ctx;

	for (size_t i = 0; i < d->cfg->n_groups && i < 64; i++)
		if (!strcmp(d->cfg->groups[i].name, name))
			return 1ull << i;
	return 0;
}

static uint64_t groups_of(struct xtapd *d, const char *netdev)
{
	uint64_t g = 0;

	for (size_t i = 0; i < d->cfg->n_groups && i < 64; i++)
		for (size_t k = 0; k < d->cfg->groups[i].n; k++)
			if (!strcmp(d->cfg->groups[i].member[k].netdev, netdev))
				g |= 1ull << i;
	return g;
}

/* ---- persistence ---- */

static int state_save(struct xtapd *d)
{
	struct xtap_state_extra x = { 0 };
	size_t cap = 0;
	int err;

	for (size_t i = 0; i < d->srv.n; i++) {
		const uint32_t *slots;
		uint32_t n;

		if (xtap_backend_rules(&d->be, d->srv.tab[i]->c.id, &slots, &n))
			continue;
		for (uint32_t k = 0; k < n; k++) {
			if (x.n == cap) {
				cap = cap ? cap * 2 : 256;
				x.dp = realloc(x.dp, cap * sizeof(*x.dp));
				if (!x.dp)
					return -ENOMEM;
			}
			x.dp[x.n++] = (struct xtap_state_dp){ d->srv.tab[i]->c.id, slots[k],
							      xtap_cls_uid(d->cls, slots[k]) };
		}
	}
	err = xtap_state_save(d->state_path, &d->srv, &x);
	if (err)
		log_warnx("cannot save the state: %s", x.error);
	free(x.dp);
	return err;
}

/* Take over what the state file and the pinned maps hold. */
static int state_restore(struct xtapd *d)
{
	struct xtap_state_extra x = { 0 };
	unsigned adopted = 0, installed = 0, failed = 0;
	int rc = xtap_state_load(d->state_path, &d->srv, &x);

	if (rc == XTAP_STATE_MISSING) {
		log_info("no state file: a fresh start");
		return 0;
	}
	if (rc != XTAP_STATE_OK) {
		log_warnx("state file refused: %s", x.error);
		xtap_audit_event(d->audit, wall_ms(), XTAP_EV_STATE_ERROR, "state file refused");
		return -1;
	}
	for (size_t i = 0; i < d->srv.n; i++) {
		const struct dtcp_criterion *c = &d->srv.tab[i]->c;
		uint32_t slots[XTAP_BE_MAX_RULES], uids[XTAP_BE_MAX_RULES], n = 0;

		for (size_t k = 0; k < x.n && n < XTAP_BE_MAX_RULES; k++)
			if (x.dp[k].id == c->id) {
				slots[n] = x.dp[k].slot;
				uids[n++] = x.dp[k].uid;
			}
		if (d->dp.adopted && n && !xtap_backend_adopt(&d->be, c, slots, uids, n)) {
			adopted++;
			continue;
		}
		/* after a reboot (fresh maps), or rules that are not this criterion's */
		if (xtap_dtcp_backend.install(&d->be, c))
			failed++;
		else
			installed++;
	}
	xtap_cls_adopt_done(d->cls);
	xtap_state_extra_free(&x);
	log_info("state: %u criteria adopted running, %u installed again, %u failed", adopted, installed,
		 failed);
	xtap_audit_event(d->audit, wall_ms(), d->dp.adopted ? XTAP_EV_ADOPT : XTAP_EV_REBUILD, "state file restored");
	return failed ? -1 : 0;
}

/* ---- authentication (the worker asks, the monitor decides) ---- */

static const struct xtap_cfg_user *dtcp_user(struct xtapd *d, const char *name)
{
	const struct xtap_cfg_user *u = xtap_config_user(d->cfg, name);

	/* only users whose class has flow-tap-operation (and a key) may use DTCP */
	return u && !xtap_config_source_policy(d->cfg, name, &d->pol) ? u : NULL;
}

static int password_ok(struct xtapd *d, const char *user, const char *pw)
{
	const struct xtap_cfg_user *u = dtcp_user(d, user);
	/* an unknown user costs a crypt all the same: no timing oracle */
	const char *hash = u && u->password_hash[0] ? u->password_hash : "$6$xtap$invalidinvalidinvalid";
	struct crypt_data cd;
	const char *h;
	int ok;

	memset(&cd, 0, sizeof(cd));
	h = crypt_r(pw, hash, &cd);
	ok = h && u && u->password_hash[0] && strlen(h) == strlen(hash) && !CRYPTO_memcmp(h, hash, strlen(hash));
	explicit_bzero(&cd, sizeof(cd));
	return ok;
}

static int pubkey_ok(struct xtapd *d, const char *user, const char *type, const uint8_t *blob, size_t n)
{
	const struct xtap_cfg_user *u = dtcp_user(d, user);

	if (!u)
		return 0;
	for (size_t i = 0; i < u->n_ssh_keys; i++) {
		const char *t = u->ssh_keys[i].text, *b64;
		uint8_t dec[MON_KEYBLOB_MAX + 4];
		size_t tl, bl;
		int len;

		if (!t)
			continue;
		tl = strcspn(t, " ");
		if (tl != strlen(type) || strncmp(t, type, tl))
			continue;
		b64 = t + tl + strspn(t + tl, " ");
		bl = strcspn(b64, " ");
		if (bl == 0 || bl * 3 / 4 > sizeof(dec))
			continue;
		len = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)bl);
		/* EVP_DecodeBlock counts the bytes the padding stands for */
		for (size_t p = bl; p && b64[p - 1] == '='; p--)
			len--;
		if (len == (int)n && !CRYPTO_memcmp(dec, blob, n))
			return 1;
	}
	return 0;
}

/* ---- the worker's messages ---- */

static struct msess *sess_get(struct xtapd *d, uint32_t id, int create)
{
	struct msess *free_slot = NULL;

	for (int i = 0; i < MAX_SESSIONS; i++) {
		if (d->s[i].used && d->s[i].id == id)
			return &d->s[i];
		if (!d->s[i].used && !free_slot)
			free_slot = &d->s[i];
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = 1;
	free_slot->id = id;
	return free_slot;
}

static void send_worker(struct xtapd *d, size_t n)
{
	if (!n || mon_send(d->worker_fd, d->tx, n) < 0)
		log_warnx("cannot answer the worker");
}

struct emit_ctx {
	struct xtapd *d;
	uint32_t id;
};

static void emit(void *arg, const char *buf, size_t n)
{
	struct emit_ctx *e = arg;

	send_worker(e->d, mon_enc_data(e->d->tx, sizeof(e->d->tx), MON_DTCP_REPLY, e->id, buf, n));
}

static void handle(struct xtapd *d, struct mon_msg *m)
{
	struct msess *s = sess_get(d, m->session, m->type == MON_AUTH_PASSWORD || m->type == MON_AUTH_PUBKEY);
	uint64_t now = wall_ms();

	switch (m->type) {
	case MON_AUTH_PASSWORD: {
		int ok = s && !s->authed && password_ok(d, m->user, m->password);

		if (ok) {
			s->authed = 1;
			snprintf(s->user, sizeof(s->user), "%s", m->user);
		} else {
			xtap_audit_auth_fail(d->audit, now, m->user, m->peer, "password");
		}
		send_worker(d, mon_enc_auth_result(d->tx, sizeof(d->tx), m->session, ok));
		break;
	}
	case MON_AUTH_PUBKEY: {
		int ok = s && !s->authed && pubkey_ok(d, m->user, m->keytype, m->data, m->len);

		if (ok && m->key_signed) {
			s->authed = 1;
			snprintf(s->user, sizeof(s->user), "%s", m->user);
		} else if (!ok && m->key_signed) {
			xtap_audit_auth_fail(d->audit, now, m->user, m->peer, "publickey");
		}
		send_worker(d, mon_enc_auth_result(d->tx, sizeof(d->tx), m->session, ok));
		break;
	}
	case MON_SESSION_OPEN:
		/* only for the user this monitor authenticated on this connection */
		if (!s || !s->authed || s->dtcp || strcmp(s->user, m->user)) {
			log_warnx("worker: refused a session open for connection %u", m->session);
			break;
		}
		if (dtcp_session_init(&s->ds, &d->srv, m->user, m->peer)) {
			log_warnx("cannot start a DTCP session");
			break;
		}
		s->dtcp = 1;
		xtap_audit_event(d->audit, now, XTAP_EV_SESSION_OPEN, m->user);
		break;
	case MON_DTCP_DATA: {
		struct emit_ctx e = { d, m->session };
		uint32_t next = d->srv.next_id;
		size_t before = d->srv.n;

		if (!s || !s->dtcp || s->closed)
			break;
		xtap_audit_set_peer(d->audit, s->ds.peer_addr);
		if (dtcp_session_feed(&s->ds, m->data, m->len, now, emit, &e) == DTCP_SESSION_CLOSE) {
			s->closed = 1;
			send_worker(d, mon_enc_empty(d->tx, sizeof(d->tx), MON_DTCP_CLOSE, m->session));
		}
		/* the state file follows every change: ids, criteria, refreshes, Seq */
		if (d->srv.next_id != next || d->srv.n != before || m->len)
			state_save(d);
		break;
	}
	case MON_DTCP_EOF:
		if (s && s->dtcp && !s->closed) {
			s->closed = 1;
			send_worker(d, mon_enc_empty(d->tx, sizeof(d->tx), MON_DTCP_CLOSE, m->session));
		}
		break;
	case MON_SESSION_CLOSE:
		if (!s || !s->dtcp)
			break;
		dtcp_session_free(&s->ds);
		xtap_audit_event(d->audit, now, XTAP_EV_SESSION_CLOSE, s->user);
		s->used = 0;
		break;
	case MON_EVENT:
		xtap_audit_event(d->audit, now, XTAP_EV_CONNECTION_REFUSED, mon_event_name(m->kind));
		if (s && !s->dtcp && m->session)
			s->used = 0;
		break;
	}
}

/* ---- start and stop ---- */

static int host_key(const char *path)
{
	ssh_key key = NULL;
	int rc;

	if (!access(path, F_OK))
		return 0;
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
		log_warnx("cannot generate the host key");
		return -1;
	}
	rc = ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path);
	ssh_key_free(key);
	if (rc != SSH_OK || chmod(path, 0600)) {
		log_warnx("cannot write the host key %s", path);
		return -1;
	}
	log_info("generated the SSH host key %s", path);
	return 0;
}

static int mkparent(const char *path)
{
	char dir[512];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	return 0;
}

static pid_t start_worker(struct xtapd *d, const char *user, int verbose)
{
	struct xtap_worker_opts o;
	char listen[64] = "";
	int sv[2];
	pid_t pid;

	xtap_worker_opts_default(&o);
	if (d->cfg->listen_addr.family)
		inet_ntop(d->cfg->listen_addr.family == DTCP_AF_INET6 ? AF_INET6 : AF_INET, d->cfg->listen_addr.a,
			  listen, sizeof(listen));
	o.listen_addr = listen[0] ? listen : NULL;
	o.port = d->cfg->listen_port;
	o.hostkey = d->cfg->n_host_keys ? d->cfg->host_keys[0] : DEFAULT_HOST_KEY;
	o.user = user;
	o.max_sessions = d->cfg->connection_limit;
	o.rate_per_min = d->cfg->rate_limit;
	o.idle_secs = d->cfg->idle_timeout;
	o.log_level = verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	if (host_key(o.hostkey))
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the monitor */
		log_init("xtapd-worker", o.log_level);
		_exit(xtap_worker_main(sv[1], &o));
	}
	close(sv[1]);
	d->worker_fd = sv[0];
	return pid;
}

static int datapath_up(struct xtapd *d, const char *pin_dir)
{
	struct xtap_dp_opts o = { .pin_dir = pin_dir, .vt_name = d->cfg->vt_name, .vt_peer = d->cfg->vt_peer,
				  .ipv6 = d->cfg->ipv6 };
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	int err;

	if ((err = xtap_dp_open(&d->dp, &o))) {
		log_warnx("datapath: %s", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < d->cfg->n_attach; i++)
		if ((err = xtap_dp_attach(&d->dp, d->cfg->attach[i].netdev, d->cfg->attach[i].mode)))
			return err;
	if (bpf_obj_get_info_by_fd(d->dp.maps.sets, &info, &len))
		return -errno;
	d->cls = xtap_cls_new(&d->dp.maps, d->dp.max_criteria, info.max_entries);
	if (!d->cls)
		return -ENOMEM;
	for (size_t i = 0; i < d->cfg->n_attach; i++) {
		uint32_t ifindex = if_nametoindex(d->cfg->attach[i].netdev);

		if ((err = xtap_cls_iface_add(d->cls, ifindex, groups_of(d, d->cfg->attach[i].netdev))))
			return err;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: xtapd [-f CONFIG] [-n] [-v] [-L] [-P PIN_DIR] [-u WORKER_USER]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct xtapd d;
	static struct xtap_config_errors errs;
	const char *pin_dir = DEFAULT_PIN_DIR, *wuser = "nobody";
	int check = 0, verbose = 0, leave = 0, opt, sfd, status, rc = 0;
	sigset_t mask;

	d.cfg_path = DEFAULT_CONFIG;
	while ((opt = getopt(argc, argv, "f:nvLP:u:")) != -1) {
		switch (opt) {
		case 'f': d.cfg_path = optarg; break;
		case 'n': check = 1; break;
		case 'v': verbose = 1; break;
		case 'L': leave = 1; break;
		case 'P': pin_dir = optarg; break;
		case 'u': wuser = optarg; break;
		default: usage();
		}
	}
	log_init("xtapd", verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	log_libbpf();
	d.cfg = calloc(1, sizeof(*d.cfg));
	if (!d.cfg)
		fatal("memory");
	if (xtap_config_load(d.cfg_path, d.cfg, &errs)) {
		xtap_config_report(d.cfg_path, &errs, stderr);
		return 1;
	}
	if (check) {
		printf("%s: configuration OK\n", d.cfg_path);
		return 0;
	}
	d.state_path = d.cfg->state_file[0] ? d.cfg->state_file : DEFAULT_STATE;
	if (mkparent(d.state_path) || mkparent(d.cfg->audit_log[0] ? d.cfg->audit_log : DEFAULT_AUDIT))
		fatal("cannot create the state or audit folder");
	d.audit = xtap_audit_open(d.cfg->audit_log[0] ? d.cfg->audit_log : DEFAULT_AUDIT);
	if (!d.audit)
		fatal("cannot open the audit log");
	xtap_audit_event(d.audit, wall_ms(), XTAP_EV_START, "xtapd");

	if (datapath_up(&d, pin_dir))
		fatalx("the datapath could not be set up");
	xtap_backend_init(&d.be, d.cls);
	d.be.group_bits = group_bits;
	d.be.group_ctx = &d;
	d.dcfg = (struct dtcp_config){ .ctx = &d, .source = cb_source, .resolve_ifname = cb_ifname,
				       .resolve_vrf = cb_vrf, .cdest_lookup = cb_cdest, .audit = cb_audit,
				       .max_cdests = d.cfg->max_cdests };
	if (dtcp_server_init(&d.srv, &d.dcfg, &xtap_dtcp_backend, &d.be))
		fatalx("DTCP server");
	if (state_restore(&d))
		log_warnx("not every criterion of the state file is active: see the audit log");
	state_save(&d);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		fatal("signalfd");
	d.worker = start_worker(&d, wuser, verbose);
	if (d.worker < 0)
		fatalx("cannot start the SSH worker");
	log_info("serving DTCP on port %u, %zu interfaces attached, %zu criteria", d.cfg->listen_port,
		 d.cfg->n_attach, d.srv.n);

	for (;;) {
		struct pollfd p[2] = { { .fd = d.worker_fd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		int n = poll(p, 2, 1000);

		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && (p[1].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					log_info("SIGHUP: reloading is not supported in this version; restart xtapd to apply changes");
					continue;
				}
				if (si.ssi_signo == SIGCHLD) {
					log_warnx("the SSH worker exited");
					rc = 1;
				}
				break;
			}
		}
		if (n > 0 && (p[0].revents & (POLLIN | POLLHUP))) {
			struct mon_msg m;
			const char *why;
			long len = mon_recv(d.worker_fd, d.rx, sizeof(d.rx));

			if (len == 0) {
				log_warnx("the SSH worker closed its socket");
				rc = 1;
				break;
			}
			if (len > 0) {
				/* everything from the worker is checked before it is used */
				if (mon_decode(d.rx, (size_t)len, MON_FROM_WORKER, &m, &why) < 0)
					log_warnx("worker: refused message: %s", why);
				else
					handle(&d, &m);
				mon_msg_clear(&m);
			}
		}
		/* idle, total, packet and byte limits */
		if (dtcp_server_expire(&d.srv, wall_ms()) > 0)
			state_save(&d);
	}

	close(d.worker_fd);
	kill(d.worker, SIGTERM);
	waitpid(d.worker, &status, 0);
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (d.s[i].used && d.s[i].dtcp)
			dtcp_session_free(&d.s[i].ds);
	state_save(&d);
	if (leave) {
		log_info("leaving the datapath running");
		xtap_dp_close(&d.dp);
	} else {
		xtap_dp_teardown(&d.dp);
	}
	xtap_audit_event(d.audit, wall_ms(), XTAP_EV_STOP, leave ? "datapath left running" : "datapath removed");
	xtap_audit_close(d.audit);
	dtcp_server_free(&d.srv);
	xtap_backend_free(&d.be);
	xtap_cls_free(d.cls);
	xtap_config_free(d.cfg);
	free(d.cfg);
	return rc;
}
