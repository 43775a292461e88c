// SPDX-License-Identifier: BSD-2-Clause
/* Giving up privilege (privdrop.h). */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

int xtap_drop_privileges(const char *who, const char *user)
{
	struct passwd *pw = user ? getpwnam(user) : NULL;
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	if (!pw) {
		log_warnx("%s: unknown user %s", who, user ? user : "(none)");
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_warnx("%s: refusing to run as %s (uid 0)", who, user);
		return -1;
	}
	if (geteuid() == 0) {
		/* the bounding set needs CAP_SETPCAP: before the switch */
		for (int cap = 0; cap <= 63; cap++)
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
				log_warn("%s: drop capability %d from the bounding set", who, cap);
				return -1;
			}
		if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
			log_warn("%s: switch to %s", who, user);
			return -1;
		}
		if (setuid(0) == 0 || seteuid(0) == 0) {
			log_warnx("%s: could regain root after the switch", who);
			return -1;
		}
	} else if (geteuid() != pw->pw_uid || getuid() != pw->pw_uid) {
		log_warnx("%s: not root and not %s: cannot switch", who, user);
		return -1;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		log_warn("%s: clear ambient capabilities", who);
		return -1;
	}
	/* effective and permitted went with uid 0; inheritable did not */
	if (syscall(SYS_capset, &hdr, data) < 0) {
		log_warn("%s: capset", who);
		return -1;
	}
	if (syscall(SYS_capget, &hdr, data) < 0 || data[0].effective || data[0].permitted || data[0].inheritable ||
	    data[1].effective || data[1].permitted || data[1].inheritable) {
		log_warnx("%s: capabilities left after dropping them", who);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_warn("%s: no_new_privs", who);
		return -1;
	}
	return 0;
}

int xtap_seccomp_allow_only(const char *who, const int *allow, size_t n)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc = -1;

	if (!ctx) {
		log_warnx("%s: seccomp_init failed", who);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i], 0) < 0) {
			log_warnx("%s: seccomp rule %zu", who, i);
			goto out;
		}
	}
	rc = seccomp_load(ctx);
	if (rc < 0)
		log_warnx("%s: seccomp_load: %s", who, strerror(-rc));
out:
	seccomp_release(ctx);
	return rc < 0 ? -1 : 0;
}

void xtap_seccomp_exit(int rc)
{
#ifdef __SANITIZE_ADDRESS__
	/* ASan's and UBSan's checks ran as the errors happened; only the leak
	 * check at exit is skipped, and only under the filter */
	fflush(stdout);
	fflush(stderr);
	_exit(rc);
#else
	exit(rc);
#endif
}
