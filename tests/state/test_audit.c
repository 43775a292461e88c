/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of loader/xtapd/audit.c: exact lines for each event, JSON validity and
 * byte-exact escaping checked by Python's json module, 0600 whatever the
 * umask, cut fields, ids split over lines, two processes appending
 * thousands of lines without mixing them, a write cut short by the file
 * size limit, and the dtcp_config adapter. Prints "N passed, N failed". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"

#include "../check.h"

#define T0_MS 1714564800123ull /* 2024-05-01 12:00:00.123 UTC */

static char dir[] = "/tmp/xtap-audit-test-XXXXXX";
static char path[256];

static char *read_text(const char *p, size_t *n)
{
	FILE *f = fopen(p, "r");
	char *buf = NULL;
	size_t cap = 0;
	FILE *m;
	int c;

	if (!f)
		return NULL;
	if (!(m = open_memstream(&buf, &cap))) {
		fclose(f);
		return NULL;
	}
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	*n = cap;
	return buf;
}

/* Runs Python over the log; returns its one line of output. */
static void py(const char *script, const char *file, char *out, size_t cap)
{
	char cmd[4096];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c '%s' '%s' 2>&1", script, file);
	out[0] = 0;
	if (!(p = popen(cmd, "r"))) {
		snprintf(out, cap, "popen: %s", strerror(errno));
		return;
	}
	if (!fgets(out, (int)cap, p))
		snprintf(out, cap, "no output");
	out[strcspn(out, "\n")] = 0;
	pclose(p);
}

/* Every line parses as one JSON object: prints the count, or the first bad line. */
static const char *const py_valid = "import json, sys\n"
				    "n = 0\n"
				    "for i, l in enumerate(open(sys.argv[1], \"rb\")):\n"
				    "    try:\n"
				    "        o = json.loads(l.decode(\"ascii\"))\n"
				    "        assert isinstance(o, dict) and l.endswith(b\"\\n\")\n"
				    "    except Exception as e:\n"
				    "        print(\"bad line\", i + 1, repr(e)); sys.exit(0)\n"
				    "    n += 1\n"
				    "print(\"ok\", n)\n";

/* ---- exact lines ---------------------------------------------------------------- */

static void test_lines(void)
{
	struct xtap_audit *a;
	struct stat st;
	uint64_t seq = 18446744073709551615ull;
	uint32_t ids[] = { 7, 4294967295u };
	size_t n;
	char out[512];

	umask(0);
	a = xtap_audit_open(path);
	CHECK(a != NULL, "open: %s", strerror(errno));
	if (!a)
		return;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "0600 with umask 0 (%03o)",
	      (unsigned)(st.st_mode & 07777));
	CHECK(xtap_audit_request(a, T0_MS, "ftap1", "192.0.2.9", "ADD", &seq, 200, ids, 1, NULL) == 0, "request");
	CHECK(xtap_audit_request(a, 0, "ft-user", NULL, "-", NULL, 0, NULL, 0, "bad hmac") == 0, "dropped");
	CHECK(xtap_audit_request(a, 253402300799999ull, "x", "p", "DELETE", &seq, 431, ids, 2, "unknown id") == 0,
	      "error");
	CHECK(xtap_audit_expire(a, T0_MS + 1, "ftap2", 9, XTAP_EXPIRE_BYTES) == 0, "expire");
	CHECK(xtap_audit_auth_fail(a, T0_MS + 2, "root", "198.51.100.1", "password") == 0, "auth");
	CHECK(xtap_audit_event(a, T0_MS + 3, XTAP_EV_ADOPT, "12 criteria") == 0, "event");
	CHECK(xtap_audit_event(a, 253402300800000ull, XTAP_EV_STOP, NULL) == 0, "event past 9999");
	CHECK(xtap_audit_close(a) == 0, "close");

	static const char want[] =
		"{\"time\":\"2024-05-01T12:00:00.123Z\",\"event\":\"request\",\"csource\":\"ftap1\","
		"\"peer\":\"192.0.2.9\",\"method\":\"ADD\",\"seq\":18446744073709551615,\"code\":200,"
		"\"outcome\":\"ok\",\"ids\":[7],\"why\":null}\n"
		"{\"time\":\"1970-01-01T00:00:00.000Z\",\"event\":\"request\",\"csource\":\"ft-user\","
		"\"peer\":null,\"method\":\"-\",\"seq\":null,\"code\":0,\"outcome\":\"dropped\","
		"\"ids\":[],\"why\":\"bad hmac\"}\n"
		"{\"time\":\"9999-12-31T23:59:59.999Z\",\"event\":\"request\",\"csource\":\"x\","
		"\"peer\":\"p\",\"method\":\"DELETE\",\"seq\":18446744073709551615,\"code\":431,"
		"\"outcome\":\"error\",\"ids\":[7,4294967295],\"why\":\"unknown id\"}\n"
		"{\"time\":\"2024-05-01T12:00:00.124Z\",\"event\":\"expire\",\"csource\":\"ftap2\","
		"\"id\":9,\"reason\":\"bytes\"}\n"
		"{\"time\":\"2024-05-01T12:00:00.125Z\",\"event\":\"auth_fail\",\"user\":\"root\","
		"\"peer\":\"198.51.100.1\",\"method\":\"password\"}\n"
		"{\"time\":\"2024-05-01T12:00:00.126Z\",\"event\":\"adopt\",\"detail\":\"12 criteria\"}\n"
		"{\"time\":null,\"event\":\"stop\",\"detail\":null}\n";
	char *got = read_text(path, &n);
	CHECK(got && n == sizeof(want) - 1 && !memcmp(got, want, n), "lines byte for byte:\n%s", got ? got : "(none)");
	free(got);
	py(py_valid, path, out, sizeof(out));
	CHECK(!strcmp(out, "ok 7"), "python: %s", out);

	/* Reopened: appends, and a 0644 file becomes 0600. */
	CHECK(chmod(path, 0644) == 0, "chmod");
	a = xtap_audit_open(path);
	CHECK(a && xtap_audit_event(a, T0_MS, XTAP_EV_START, "again") == 0, "reopen and write");
	CHECK(xtap_audit_close(a) == 0, "close");
	static const char again[] =
		"{\"time\":\"2024-05-01T12:00:00.123Z\",\"event\":\"start\",\"detail\":\"again\"}\n";
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600 &&
		      st.st_size == (off_t)(sizeof(want) - 1 + sizeof(again) - 1),
	      "appended, mode 0600 (%03o, %lld bytes)", (unsigned)(st.st_mode & 07777), (long long)st.st_size);
	CHECK(xtap_expire_reason_parse("packets") == XTAP_EXPIRE_PACKETS && xtap_expire_reason_parse("Idle") == -1 &&
		      xtap_expire_reason_parse(NULL) == -1,
	      "expire reason names");
	CHECK(!strcmp(xtap_audit_kind_name(XTAP_EV_CONNECTION_REFUSED), "connection_refused") &&
		      !strcmp(xtap_audit_kind_name(XTAP_EV_N), "unknown"),
	      "event kind names");

	/* Not a regular file, or a symlink: refused. */
	errno = 0;
	CHECK(!xtap_audit_open(dir) && errno == EISDIR, "a directory refused (%s)", strerror(errno));
	char ln[300];
	snprintf(ln, sizeof(ln), "%s/link", dir);
	CHECK(symlink(path, ln) == 0, "symlink");
	errno = 0;
	CHECK(!xtap_audit_open(ln) && errno == ELOOP, "a symlink refused (%s)", strerror(errno));
	unlink(ln);
	unlink(path);
}

/* ---- hostile strings ---------------------------------------------------------------- */

static void test_escaping(void)
{
	char hostile[256], longs[1001], out[4096], want[600];
	struct xtap_audit *a = xtap_audit_open(path);
	uint32_t *ids = malloc(2500 * sizeof(*ids));

	CHECK(a && ids, "open");
	if (!a || !ids) {
		free(ids);
		xtap_audit_close(a);
		return;
	}
	for (int i = 1; i < 256; i++)
		hostile[i - 1] = (char)i;
	hostile[255] = 0;
	memset(longs, 'z', 1000);
	longs[1000] = 0;
	for (uint32_t i = 0; i < 2500; i++)
		ids[i] = 1000000 + i;
	CHECK(xtap_audit_request(a, T0_MS, hostile, "\"},{\"x\":1", hostile, NULL, 400, NULL, 0, "\\u0000") == 0,
	      "hostile request");
	CHECK(xtap_audit_auth_fail(a, T0_MS, longs, "\xff\xfe", "password") == 0, "long user");
	CHECK(xtap_audit_request(a, T0_MS, "ftap1", "p", "DELETE", NULL, 200, ids, 2500, NULL) == 0, "2500 ids");
	CHECK(xtap_audit_close(a) == 0, "close");
	free(ids);

	py(py_valid, path, out, sizeof(out));
	CHECK(!strcmp(out, "ok 5"), "python: %s", out);
	/* Every byte comes back exactly, as one character below U+0100 each. */
	py("import json, sys\n"
	   "L = [json.loads(l) for l in open(sys.argv[1])]\n"
	   "h = bytes(range(1, 256))\n"
	   "ok = L[0][\"csource\"].encode(\"latin-1\") == h and L[0][\"method\"].encode(\"latin-1\") == h\n"
	   "ok = ok and L[0][\"peer\"] == \"\\\"},{\\\"x\\\":1\" and L[0][\"why\"] == \"\\\\u0000\"\n"
	   "ok = ok and \"cut\" not in L[0] and L[1][\"cut\"] is True and L[1][\"user\"] == \"z\" * 256\n"
	   "ok = ok and L[1][\"peer\"].encode(\"latin-1\") == b\"\\xff\\xfe\"\n"
	   "ids = [i for o in L[2:] for i in o[\"ids\"]]\n"
	   "ok = ok and ids == list(range(1000000, 1002500))\n"
	   "ok = ok and [(o[\"part\"], o[\"parts\"]) for o in L[2:]] == [(1, 3), (2, 3), (3, 3)]\n"
	   "print(\"ok\" if ok else \"mismatch\")\n",
	   path, out, sizeof(out));
	CHECK(!strcmp(out, "ok"), "escaped bytes, cut field and split ids read back: %s", out);
	/* The raw line is ASCII: no byte above 0x7e, no control byte but the newline. */
	size_t n;
	char *text = read_text(path, &n);
	size_t bad = 0;
	for (size_t i = 0; text && i < n; i++)
		bad += ((unsigned char)text[i] > 0x7e || ((unsigned char)text[i] < 0x20 && text[i] != '\n'));
	CHECK(text && bad == 0, "%zu raw control or non-ASCII bytes", bad);
	snprintf(want, sizeof(want), "\"csource\":\"\\u0001\\u0002");
	CHECK(text && strstr(text, want) && strstr(text, "\\t\\n\\u000b\\u000c\\r\\u000e") &&
		      strstr(text, " !\\\"#$") && strstr(text, "[\\\\]") && strstr(text, "~\\u007f\\u0080") &&
		      strstr(text, "\\u00ff\""),
	      "escapes as documented");
	free(text);
	unlink(path);
}

/* ---- two writers ---------------------------------------------------------------- */

#define LINES_EACH 3000

static int writer(char tag)
{
	struct xtap_audit *a = xtap_audit_open(path);
	char detail[XTAP_AUDIT_STR_MAX];
	if (!a)
		return 1;
	for (int i = 0; i < LINES_EACH; i++) {
		/* from a few bytes to 1.5 KiB escaped, under XTAP_AUDIT_STR_MAX */
		size_t len = (size_t)(i * 37 % 250);
		memset(detail, tag == 'a' ? '\x01' : 'b', len);
		snprintf(detail + len, sizeof(detail) - len, "%c%d", tag, i);
		if (xtap_audit_event(a, T0_MS + (uint64_t)i, XTAP_EV_SESSION_OPEN, detail))
			return 1;
	}
	return xtap_audit_close(a) ? 1 : 0;
}

static void test_two_writers(void)
{
	pid_t p[2];
	int st, ok = 0;
	char out[512];

	for (int k = 0; k < 2; k++) {
		p[k] = fork();
		if (p[k] == 0)
			_exit(writer(k ? 'b' : 'a'));
		CHECK(p[k] > 0, "fork");
	}
	for (int k = 0; k < 2; k++)
		if (p[k] > 0 && waitpid(p[k], &st, 0) == p[k] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	CHECK(ok == 2, "both writers done");
	py("import json, sys, re\n"
	   "c = {\"a\": [], \"b\": []}\n"
	   "for l in open(sys.argv[1]):\n"
	   "    d = json.loads(l)[\"detail\"]\n"
	   "    m = re.search(\"([ab])([0-9]+)$\", d)\n"
	   "    c[m.group(1)].append(int(m.group(2)))\n"
	   "print(len(c[\"a\"]), len(c[\"b\"]), c[\"a\"] == list(range(3000)), c[\"b\"] == list(range(3000)))\n",
	   path, out, sizeof(out));
	CHECK(!strcmp(out, "3000 3000 True True"), "every line whole and parsed, each writer's in order: %s", out);
	unlink(path);
}

/* ---- a write cut short -------------------------------------------------------------- */

/* In a child: the file size limit cuts one line; the next starts on a line
 * of its own. */
static int cut_child(void)
{
	struct xtap_audit *a = xtap_audit_open(path);
	struct rlimit rl;
	char big[400];
	struct stat st;

	if (!a || xtap_audit_event(a, T0_MS, XTAP_EV_START, "before"))
		return 10;
	if (stat(path, &st) || getrlimit(RLIMIT_FSIZE, &rl))
		return 11;
	signal(SIGXFSZ, SIG_IGN);
	rlim_t old = rl.rlim_cur;
	rl.rlim_cur = (rlim_t)st.st_size + 100;
	if (setrlimit(RLIMIT_FSIZE, &rl))
		return 12;
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	if (xtap_audit_event(a, T0_MS, XTAP_EV_RELOAD, big) == 0 || xtap_audit_failures(a) != 1)
		return 13;
	/* at the limit now: nothing at all is written */
	if (xtap_audit_event(a, T0_MS, XTAP_EV_RELOAD, "x") == 0 || xtap_audit_failures(a) != 2)
		return 14;
	rl.rlim_cur = old;
	if (setrlimit(RLIMIT_FSIZE, &rl))
		return 15;
	if (xtap_audit_event(a, T0_MS, XTAP_EV_STOP, "after") || xtap_audit_close(a))
		return 16;
	return 0;
}

static void test_cut_write(void)
{
	char out[512];
	int st = -1;
	pid_t p = fork();

	if (p == 0)
		_exit(cut_child());
	CHECK(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0, "cut child (exit %d)",
	      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	py("import json, sys\n"
	   "L = open(sys.argv[1]).read().split(\"\\n\")\n"
	   "ok = [json.loads(l)[\"detail\"] for l in (L[0], L[2])] == [\"before\", \"after\"]\n"
	   "print(len(L), ok, L[1].startswith(\"{\") and len(L[1]) == 100 and L[3] == \"\")\n",
	   path, out, sizeof(out));
	CHECK(!strcmp(out, "4 True True"), "cut line alone on its line, the next one whole: %s", out);
	unlink(path);
}

/* ---- held lines ----------------------------------------------------------------------- */

/* In a child: lines held are not in the file until the flush, then all of
 * them in order; a held batch cut by the file size limit counts only the
 * lines not written whole, and the line after starts on a line of its own. */
static int hold_child(void)
{
	struct xtap_audit *a = xtap_audit_open(path);
	struct rlimit rl;
	struct stat st;
	char big[400];

	if (!a || xtap_audit_hold(a, true))
		return 20;
	for (uint32_t id = 1; id <= 3; id++)
		if (xtap_audit_expire(a, T0_MS, "ftap1", id, XTAP_EXPIRE_IDLE))
			return 21;
	if (stat(path, &st) || st.st_size != 0)
		return 22; /* held: nothing written yet */
	if (xtap_audit_flush(a) || stat(path, &st) || st.st_size == 0)
		return 23;
	/* a batch of two lines of which the limit lets the first and a part
	 * of the second through: one failure */
	if (getrlimit(RLIMIT_FSIZE, &rl))
		return 24;
	signal(SIGXFSZ, SIG_IGN);
	rlim_t old = rl.rlim_cur;
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	if (xtap_audit_event(a, T0_MS, XTAP_EV_RELOAD, "held"))
		return 25;
	rl.rlim_cur = (rlim_t)st.st_size + 200;
	if (setrlimit(RLIMIT_FSIZE, &rl))
		return 26;
	if (xtap_audit_event(a, T0_MS, XTAP_EV_RELOAD, big) || xtap_audit_flush(a) == 0 || xtap_audit_failures(a) != 1)
		return 27;
	rl.rlim_cur = old;
	if (setrlimit(RLIMIT_FSIZE, &rl))
		return 28;
	if (xtap_audit_event(a, T0_MS, XTAP_EV_STOP, "after") || xtap_audit_hold(a, false) || xtap_audit_close(a))
		return 29;
	return 0;
}

static void test_hold(void)
{
	char out[512];
	int st = -1;
	pid_t p = fork();

	if (p == 0)
		_exit(hold_child());
	CHECK(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0, "hold child (exit %d)",
	      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	py("import json, sys\n"
	   "L = open(sys.argv[1]).read().split(\"\\n\")\n"
	   "ids = [json.loads(l)[\"id\"] for l in L[0:3]]\n"
	   "ok = json.loads(L[3])[\"detail\"] == \"held\" and json.loads(L[5])[\"detail\"] == \"after\"\n"
	   "print(len(L), ids, ok, L[4].startswith(\"{\") and L[6] == \"\")\n",
	   path, out, sizeof(out));
	CHECK(!strcmp(out, "7 [1, 2, 3] True True"), "held lines in order, the cut one alone: %s", out);
	unlink(path);
}

/* ---- the dtcp_config adapter -------------------------------------------------------- */

static void test_adapter(void)
{
	struct xtap_audit *a = xtap_audit_open(path);
	char out[512];

	CHECK(a != NULL, "open");
	if (!a)
		return;
	/* the signature of struct dtcp_config's audit member */
	void (*cb)(void *, const char *, const char *, int, uint32_t, const char *) = xtap_audit_dtcp;
	xtap_audit_set_peer(a, "192.0.2.33");
	cb(a, "ftap1", "ADD", 200, 12, NULL);
	cb(a, "ftap1", "EXPIRE", 200, 12, "idle");
	xtap_audit_set_peer(a, NULL);
	cb(a, "ft-user", "-", 0, 0, "bad hmac");
	cb(a, "ftap1", "LIST", 200, 0, "reply too large");
	CHECK(xtap_audit_failures(a) == 0 && xtap_audit_close(a) == 0, "no failures");
	py("import json, sys, time\n"
	   "L = [json.loads(l) for l in open(sys.argv[1])]\n"
	   "r = [(o[\"event\"], o.get(\"peer\"), o.get(\"method\"), o.get(\"code\"), o.get(\"ids\"),"
	   " o.get(\"id\"), o.get(\"reason\"), o.get(\"why\"), o.get(\"outcome\")) for o in L]\n"
	   "w = [(\"request\", \"192.0.2.33\", \"ADD\", 200, [12], None, None, None, \"ok\"),"
	   " (\"expire\", None, None, None, None, 12, \"idle\", None, None),"
	   " (\"request\", None, \"-\", 0, [], None, None, \"bad hmac\", \"dropped\"),"
	   " (\"request\", None, \"LIST\", 200, [], None, None, \"reply too large\", \"ok\")]\n"
	   "t = time.strftime(\"%Y-%m-%dT\", time.gmtime())\n"
	   "print(r == w, all(o[\"time\"].startswith(t) and o[\"time\"].endswith(\"Z\") for o in L))\n",
	   path, out, sizeof(out));
	CHECK(!strcmp(out, "True True"), "adapter lines: %s", out);
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	test_lines();
	test_escaping();
	test_two_writers();
	test_cut_write();
	test_hold();
	test_adapter();
	if (rmdir(dir))
		printf("FAIL: %s left behind: %s\n", dir, strerror(errno));
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
