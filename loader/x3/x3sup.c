// SPDX-License-Identifier: BSD-2-Clause
/* The X3 delivery processes under xtapd (x3sup.h, docs/x3.md). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "x3_pdu.h"
#include "x3sup.h"

static void load_seqs(struct xtap_x3sup *s);
static void emit(struct xtap_x3sup *s, const char *name, const char *kind, const char *text);

void xtap_x3sup_init(struct xtap_x3sup *s, const char *cfg_path, const char *user, int level, const char *state_path)
{
	char abs[PATH_MAX];

	memset(s, 0, sizeof(*s));
	if (state_path && strlen(state_path) < XTAP_CFG_PATH_MAX) {
		snprintf(s->seq_path, sizeof(s->seq_path), "%s.x3", state_path);
		load_seqs(s);
	}
	/* the child reads the same file, whatever the monitor's directory; a
	 * path longer than the configuration's own bound stays as given */
	const char *p = realpath(cfg_path, abs) && strlen(abs) < sizeof(s->cfg_path) ? abs : cfg_path;
	size_t n = strnlen(p, sizeof(s->cfg_path) - 1);
	memcpy(s->cfg_path, p, n);
	s->cfg_path[n] = '\0';
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->level = level;
}

static struct xtap_x3sup_dest *find(struct xtap_x3sup *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->d[i].name, name))
			return &s->d[i];
	return NULL;
}

/* A start that did not happen: its pipes closed, tried again after the backoff. */
static void start_failed(struct xtap_x3sup_dest *d, const char *what, const int pfd[2], const int cfd[2],
			 uint64_t now_ms)
{
	log_warn("x3 %s: %s", d->name, what);
	for (int i = 0; i < 2; i++) {
		if (pfd[i] >= 0)
			close(pfd[i]);
		if (cfd[i] >= 0)
			close(cfd[i]);
	}
	d->due_ms = now_ms + d->backoff_ms;
}

static void start(struct xtap_x3sup *s, struct xtap_x3sup_dest *d, uint64_t now_ms)
{
	char seq[16], level[8], fdno[4], cdno[4];
	int pfd[2], cfd[2] = { -1, -1 };

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		log_warn("x3 %s: pipe", d->name);
		d->due_ms = now_ms + d->backoff_ms;
		return;
	}
	/* an X1 slot's statements, whole in the pipe before the child reads
	 * (a few KiB: well within a pipe's buffer) */
	if (d->x1 && (pipe2(cfd, O_CLOEXEC) < 0 || write(cfd[1], &d->cd, sizeof(d->cd)) != (ssize_t)sizeof(d->cd))) {
		start_failed(d, "statements pipe", pfd, cfd, now_ms);
		return;
	}
	if (cfd[1] >= 0)
		fcntl(cfd[1], F_SETFL, O_NONBLOCK); /* kept: new direction targets go this way */
	snprintf(seq, sizeof(seq), "%" PRIu32, d->next_seq);
	snprintf(level, sizeof(level), "%d", s->level);
	snprintf(fdno, sizeof(fdno), "%d", XTAP_X3SUP_STATUS_FD);
	snprintf(cdno, sizeof(cdno), "%d", XTAP_X3SUP_CD_FD);
	/* a configured destination reads its statements from the file, an X1
	 * slot from the pipe, on the vt peer xtapd names */
	char *argv[] = { "xtapd-x3",
			 XTAP_X3SUP_FLAG,
			 d->x1 ? "-C" : "-f",
			 d->x1 ? cdno : s->cfg_path,
			 "-d",
			 d->name,
			 "-u",
			 s->user,
			 "-s",
			 seq,
			 "-S",
			 fdno,
			 "-l",
			 level,
			 d->x1 ? "-i" : NULL,
			 s->vt_peer,
			 NULL };
	pid_t pid = fork();
	if (pid < 0) {
		start_failed(d, "fork", pfd, cfd, now_ms);
		return;
	}
	if (pid == 0) {
		static char *const envp[] = { NULL };
		/* only async-signal-safe calls until the exec */
		int w = fcntl(pfd[1], F_DUPFD, 10), r = cfd[0] >= 0 ? fcntl(cfd[0], F_DUPFD, 10) : -1;
		if (w < 0 || dup2(w, XTAP_X3SUP_STATUS_FD) < 0 ||
		    (cfd[0] >= 0 && (r < 0 || dup2(r, XTAP_X3SUP_CD_FD) < 0)) ||
		    close_range(XTAP_X3SUP_CD_FD + (cfd[0] >= 0), ~0u, 0))
			_exit(127);
		/* xtapd gone: stop too (drain, then exit); a new xtapd starts a new one */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	if (cfd[0] >= 0)
		close(cfd[0]);
	d->cd_fd = cfd[1];
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	d->pid = pid;
	d->status_fd = pfd[0];
	d->linelen = 0;
	d->final = false;
	d->pdus = d->confirmed = d->full = d->unconfirmed = 0;
	d->started_ms = now_ms;
	if (d->state == 3 || !d->changed_ms)
		d->changed_ms = now_ms;
	d->state = 0;
	log_info("x3 %s: delivery process %d started at sequence %" PRIu32, d->name, (int)pid, d->next_seq);
}

/* ---- the sequence file: "NAME XID NEXT RATE CLEAN" per line ---- */

static void load_seqs(struct xtap_x3sup *s)
{
	FILE *f = fopen(s->seq_path, "r");
	char line[256], name[XTAP_CFG_NAME_MAX], xid[40];
	unsigned long next, rate;
	int clean;

	if (!f)
		return; /* none yet */
	while (fgets(line, sizeof(line), f) && s->n_saved < XTAP_X3SUP_MAX) {
		if (sscanf(line, "%63s %39s %lu %lu %d", name, xid, &next, &rate, &clean) != 5 || next > UINT32_MAX ||
		    rate > UINT32_MAX) {
			log_warnx("%s: a line not understood is skipped", s->seq_path);
			continue;
		}
		typeof(s->saved[0]) *v = &s->saved[s->n_saved];
		if (x3_uuid_parse(xid, v->xid))
			continue;
		snprintf(v->name, sizeof(v->name), "%s", name);
		v->next = (uint32_t)next;
		v->rate = (uint32_t)rate;
		v->clean = clean == 1;
		s->n_saved++;
	}
	fclose(f);
}

/* A destination's sequence from the file, when its XID is the same. */
static void restore(struct xtap_x3sup *s, struct xtap_x3sup_dest *d)
{
	for (size_t i = 0; i < s->n_saved; i++) {
		if (strcmp(s->saved[i].name, d->name) || memcmp(s->saved[i].xid, d->cd.x3.xid, 16))
			continue;
		uint32_t skip = s->saved[i].clean ? 0 : XTAP_X3SUP_SKIP_MIN + 2 * s->saved[i].rate;
		d->next_seq = s->saved[i].next + skip;
		d->saved_seq = d->next_seq;
		if (skip) {
			char text[160];
			snprintf(text, sizeof(text),
				 "sequence %" PRIu32 " after an unclean stop: %" PRIu32
				 " numbers skipped (reported missing by the receiver)",
				 d->next_seq, skip);
			log_warnx("x3 %s: %s", d->name, text);
			emit(s, d->name, "sequence", text);
		}
		return;
	}
}

/* Written whole to a new file, then renamed over the old one; synced at the
 * stop. A failure is logged: the sequences then restart lower after a
 * restart of xtapd (the receiver counts duplicates), never silently. */
static void save_seqs(struct xtap_x3sup *s, bool clean)
{
	char tmp[sizeof(s->seq_path) + 8], xid[37];

	if (!s->seq_path[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.new", s->seq_path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		log_warn("x3: cannot write %s", tmp);
		if (fd >= 0)
			close(fd);
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct xtap_x3sup_dest *d = &s->d[i];
		x3_uuid_format(d->cd.x3.xid, xid);
		fprintf(f, "%s %s %" PRIu32 " %" PRIu32 " %d\n", d->name, xid, d->next_seq, d->rate, clean);
	}
	bool ok = fflush(f) == 0 && (!clean || fsync(fileno(f)) == 0);
	if (fclose(f) || !ok || rename(tmp, s->seq_path)) {
		log_warn("x3: cannot write %s", s->seq_path);
		unlink(tmp);
	}
}

/* A new entry: a free one (an X1 slot gone, its process ended) or the next. */
static struct xtap_x3sup_dest *add(struct xtap_x3sup *s, const struct xtap_cfg_cdest *cd, bool x1, uint64_t now_ms)
{
	struct xtap_x3sup_dest *d = NULL;

	for (size_t i = 0; i < s->n && !d; i++)
		if (s->d[i].x1 && !s->d[i].wanted && s->d[i].pid == 0)
			d = &s->d[i];
	if (!d) {
		if (s->n == XTAP_X3SUP_MAX) /* cannot happen: cdests and slots are bounded apart */
			return NULL;
		d = &s->d[s->n++];
	}
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", cd->name);
	d->status_fd = -1;
	d->cd_fd = -1;
	d->backoff_ms = XTAP_X3SUP_BACKOFF_MIN_MS;
	d->cd = *cd;
	d->x1 = x1;
	d->due_ms = now_ms;
	restore(s, d);
	return d;
}

/* Only the direction targets and the correlation differ (an X1 ModifyTask
 * with other targets): the running process takes them without a restart,
 * so that no copy waits for a new ring (docs/x1.md). */
static bool soft_change(struct xtap_x3sup_dest *d, const struct xtap_cfg_cdest *cd)
{
	struct xtap_cfg_cdest t = *cd;

	if (!d->x1 || d->pid <= 0 || d->cd_fd < 0)
		return false;
	memcpy(t.x3.targets, d->cd.x3.targets, sizeof(t.x3.targets));
	t.x3.n_targets = d->cd.x3.n_targets;
	t.x3.correlation = d->cd.x3.correlation;
	if (memcmp(&t, &d->cd, sizeof(t)) || write(d->cd_fd, cd, sizeof(*cd)) != (ssize_t)sizeof(*cd) ||
	    kill(d->pid, SIGHUP))
		return false; /* a pipe that is full (it never reads): restarted */
	d->cd = *cd;
	log_info("x3 %s: new direction targets handed to its delivery process", d->name);
	return true;
}

/* New statements for a running destination: restarted with them. */
static void change(struct xtap_x3sup_dest *d, const struct xtap_cfg_cdest *cd, uint64_t now_ms)
{
	if (!memcmp(&d->cd, cd, sizeof(*cd)) || soft_change(d, cd))
		return;
	/* another XID is another sequence (clause 5.3.9: per XID) */
	if (memcmp(d->cd.x3.xid, cd->x3.xid, 16))
		d->next_seq = 0;
	d->cd = *cd;
	if (d->pid > 0) {
		log_info("x3 %s: statements changed: restarting its delivery process", d->name);
		kill(d->pid, SIGTERM);
	}
	d->due_ms = now_ms;
}

void xtap_x3sup_set_x1(struct xtap_x3sup *s, const struct xtap_cfg_cdest *cd, size_t n, uint64_t now_ms)
{
	bool any = false;

	for (size_t i = 0; i < s->n; i++)
		if (s->d[i].x1)
			s->d[i].wanted = false;
	/* the slots there are first, so that a new one reuses only an entry
	 * no slot of the list holds */
	for (size_t i = 0; i < n; i++) {
		struct xtap_x3sup_dest *d = find(s, cd[i].name);
		if (d && d->x1) {
			change(d, &cd[i], now_ms); /* another XID: its sequence from 0 */
			d->wanted = any = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct xtap_x3sup_dest *d = find(s, cd[i].name);
		if (d) /* a slot handled above, or a configured destination ("X1/" is no configured name) */
			continue;
		if ((d = add(s, &cd[i], true, now_ms)))
			d->wanted = any = true;
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->d[i].x1 && !s->d[i].wanted && s->d[i].pid > 0) {
			log_info("x3 %s: X1 slot gone: stopping its delivery process", s->d[i].name);
			kill(s->d[i].pid, SIGTERM);
		}
	if (any)
		save_seqs(s, false);
}

void xtap_x3sup_apply(struct xtap_x3sup *s, const struct xtap_config *c, uint64_t now_ms)
{
	snprintf(s->vt_peer, sizeof(s->vt_peer), "%s", c->vt_peer);
	for (size_t i = 0; i < s->n; i++)
		if (!s->d[i].x1)
			s->d[i].wanted = false;
	for (size_t i = 0; i < c->n_cdests; i++) {
		const struct xtap_cfg_cdest *cd = &c->cdests[i];
		if (!cd->x3.on)
			continue;
		struct xtap_x3sup_dest *d = find(s, cd->name);
		if (d && d->x1)
			continue; /* cannot happen: a configured name has no '/' */
		if (!d)
			d = add(s, cd, false, now_ms);
		else
			change(d, cd, now_ms);
		if (d)
			d->wanted = true;
	}
	for (size_t i = 0; i < s->n; i++)
		if (!s->d[i].x1 && !s->d[i].wanted && s->d[i].pid > 0) {
			log_info("x3 %s: no longer configured: stopping its delivery process", s->d[i].name);
			kill(s->d[i].pid, SIGTERM);
		}
	/* from now on the numbers move: the file says so at once (not clean), so
	 * that a kill before the next save skips ahead rather than reuses */
	if (s->n)
		save_seqs(s, false);
}

size_t xtap_x3sup_poll_set(struct xtap_x3sup *s, struct pollfd *p, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n && k < max; i++)
		if (s->d[i].status_fd >= 0)
			p[k++] = (struct pollfd){ .fd = s->d[i].status_fd, .events = POLLIN };
	return k;
}

static const char *const event_kinds[] = { "connected", "disconnected", "connect-failed", "tls-refused" };

static void emit(struct xtap_x3sup *s, const char *name, const char *kind, const char *text)
{
	char detail[300];

	if (!s->event)
		return;
	snprintf(detail, sizeof(detail), "x3 %s: %s%s%.200s", name, kind, text ? ": " : "", text ? text : "");
	s->event(s->event_ctx, detail);
}

/* "x3 event KIND TEXT": a known kind, TEXT made printable and bounded. */
static void parse_event(struct xtap_x3sup *s, struct xtap_x3sup_dest *d, const char *l)
{
	char text[201];
	size_t k, n = 0;

	l += strlen("x3 event ");
	for (k = 0; k < sizeof(event_kinds) / sizeof(event_kinds[0]); k++) {
		size_t kl = strlen(event_kinds[k]);
		if (!strncmp(l, event_kinds[k], kl) && l[kl] == ' ') {
			l += kl + 1;
			break;
		}
	}
	if (k == sizeof(event_kinds) / sizeof(event_kinds[0]))
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (now - d->events_window_ms >= 60000) {
		if (d->events_in_window > XTAP_X3SUP_EVENTS_PER_MIN)
			log_warnx("x3 %s: %" PRIu64 " events in a minute not audited one by one", d->name,
				  d->events_in_window - XTAP_X3SUP_EVENTS_PER_MIN);
		d->events_window_ms = now;
		d->events_in_window = 0;
	}
	if (++d->events_in_window > XTAP_X3SUP_EVENTS_PER_MIN) {
		d->events_dropped++;
		return;
	}
	for (; *l && n < sizeof(text) - 1; l++)
		text[n++] = *l >= 0x20 && *l < 0x7f ? *l : '?';
	text[n] = '\0';
	emit(s, d->name, event_kinds[k], text);
}

void xtap_x3sup_parse(struct xtap_x3sup *s, struct xtap_x3sup_dest *d, const char *l)
{
	uint32_t next;
	uint64_t pdus, conf, full, unconf, drops, notip, conn, tlsf, disc, bytes = 0;
	int final, state, got;

	if (!strncmp(l, "x3 event ", 9)) {
		parse_event(s, d, l);
		return;
	}
	/* what the child says only moves its sequence on, never back */
	if ((got = sscanf(l,
			  "x3 next %" SCNu32 " pdus %" SCNu64 " confirmed %" SCNu64 " full %" SCNu64
			  " unconfirmed %" SCNu64 " final %d state %d drops %" SCNu64 " notip %" SCNu64
			  " connects %" SCNu64 " tlsfail %" SCNu64 " disconnects %" SCNu64 " bytes %" SCNu64,
			  &next, &pdus, &conf, &full, &unconf, &final, &state, &drops, &notip, &conn, &tlsf, &disc,
			  &bytes)) < 12)
		return; /* bytes came later: a line without it is taken, 0 bytes */
	int was_up = d->state == 3;
	d->state = state >= 0 && state <= 3 ? state : 0;
	if (was_up != (d->state == 3)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		d->changed_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	}
	d->kernel_drops = drops;
	d->not_ip = notip;
	d->connects = conn;
	d->tls_failures = tlsf;
	d->disconnects = disc;
	d->bytes = got == 13 ? bytes : 0;
	if (next - d->next_seq < 0x80000000u) /* serial arithmetic */
		d->next_seq = next;
	d->pdus = pdus;
	d->confirmed = conf;
	d->full = full;
	d->unconfirmed = unconf;
	d->final = final != 0;
}

static void drain(struct xtap_x3sup *s, struct xtap_x3sup_dest *d)
{
	for (size_t got = 0; got < XTAP_X3SUP_READ_MAX;) {
		ssize_t n = read(d->status_fd, d->line + d->linelen, sizeof(d->line) - 1 - d->linelen);
		if (n <= 0)
			return;
		got += (size_t)n;
		d->linelen += (size_t)n;
		d->line[d->linelen] = '\0';
		char *nl;
		while ((nl = strchr(d->line, '\n'))) {
			*nl = '\0';
			xtap_x3sup_parse(s, d, d->line);
			d->linelen -= (size_t)(nl + 1 - d->line);
			memmove(d->line, nl + 1, d->linelen + 1);
		}
		if (d->linelen == sizeof(d->line) - 1) /* no line is this long: drop it */
			d->linelen = 0;
	}
}

void xtap_x3sup_read(struct xtap_x3sup *s, const struct pollfd *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (!p[k].revents)
			continue;
		for (size_t i = 0; i < s->n; i++)
			if (s->d[i].status_fd == p[k].fd)
				drain(s, &s->d[i]);
	}
}

static void ended(struct xtap_x3sup *s, struct xtap_x3sup_dest *d, int status, uint64_t now_ms)
{
	char how[48], text[200];

	drain(s, d); /* what it wrote before it ended */
	close(d->status_fd);
	d->status_fd = -1;
	if (d->cd_fd >= 0)
		close(d->cd_fd);
	d->cd_fd = -1;
	d->pid = 0;
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
	/* framed, not confirmed and not counted as dropped: lost with it */
	uint64_t lost = d->pdus - d->confirmed - d->full;
	d->lost_unconfirmed += lost;
	if (now_ms - d->started_ms < XTAP_X3SUP_QUICK_MS) {
		d->backoff_ms *= 2;
		if (d->backoff_ms > XTAP_X3SUP_BACKOFF_MAX_MS)
			d->backoff_ms = XTAP_X3SUP_BACKOFF_MAX_MS;
	} else {
		d->backoff_ms = XTAP_X3SUP_BACKOFF_MIN_MS;
	}
	d->due_ms = now_ms + d->backoff_ms;
	if (d->wanted)
		d->restarts++;
	snprintf(text, sizeof(text),
		 "%s: %" PRIu64 " PDUs framed, %" PRIu64 " confirmed, %" PRIu64 " dropped (buffer full), %" PRIu64
		 " unconfirmed%s",
		 how, d->pdus, d->confirmed, d->full, lost, d->wanted ? "; restarted" : "");
	log_warnx("x3 %s: delivery process ended (%s)", d->name, text);
	emit(s, d->name, "ended", text);
	if (d->state == 3)
		d->changed_ms = now_ms;
	d->state = 0;
}

void xtap_x3sup_tick(struct xtap_x3sup *s, uint64_t now_ms)
{
	if (now_ms - s->saved_ms >= XTAP_X3SUP_SAVE_MS) {
		bool changed = false;
		for (size_t i = 0; i < s->n; i++) {
			struct xtap_x3sup_dest *d = &s->d[i];
			uint32_t used = d->next_seq - d->saved_seq;
			if (used) {
				d->rate = used;
				d->saved_seq = d->next_seq;
				changed = true;
			} else if (d->rate) {
				d->rate = 0;
				changed = true;
			}
		}
		s->saved_ms = now_ms;
		if (changed)
			save_seqs(s, false);
	}
	for (size_t i = 0; i < s->n; i++) {
		struct xtap_x3sup_dest *d = &s->d[i];
		int status;
		if (d->pid > 0 && waitpid(d->pid, &status, WNOHANG) == d->pid)
			ended(s, d, status, now_ms);
		if (d->pid == 0 && d->wanted && now_ms >= d->due_ms)
			start(s, d, now_ms);
	}
}

void xtap_x3sup_stop(struct xtap_x3sup *s)
{
	struct timespec t0, t;

	for (size_t i = 0; i < s->n; i++) {
		s->d[i].wanted = false;
		if (s->d[i].pid > 0)
			kill(s->d[i].pid, SIGTERM);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		bool any = false;
		clock_gettime(CLOCK_MONOTONIC, &t);
		uint64_t ms = (uint64_t)(t.tv_sec - t0.tv_sec) * 1000 + (uint64_t)(t.tv_nsec - t0.tv_nsec) / 1000000;
		for (size_t i = 0; i < s->n; i++) {
			struct xtap_x3sup_dest *d = &s->d[i];
			int status;
			if (d->pid <= 0)
				continue;
			if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
				ended(s, d, status, ms);
				continue;
			}
			any = true;
			if (ms > XTAP_X3SUP_STOP_MS)
				kill(d->pid, SIGKILL);
		}
		if (!any)
			break;
		usleep(20000);
	}
	if (s->n)
		save_seqs(s, true); /* every process ended: the numbers are final */
}

bool xtap_x3sup_fault(const struct xtap_x3sup_dest *d, uint64_t now_ms)
{
	return !(d->pid > 0 && d->state == 3) && now_ms - d->changed_ms >= XTAP_X3SUP_FAULT_MS;
}

const char *xtap_x3sup_state_name(const struct xtap_x3sup_dest *d)
{
	static const char *const names[] = { "down", "connecting", "handshake", "up" };

	return d->pid > 0 ? names[d->state] : "not running";
}
