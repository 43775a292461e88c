// SPDX-License-Identifier: BSD-2-Clause
/* Load or adopt, pin, attach and detach the datapath (see datapath.h). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <xdp/libxdp.h>

#include "datapath.h"
#include "log.h"
#include "xtap.skel.h"

/* The maps, by pin name and where their fd goes. */
struct map_ref {
	const char *name;
	size_t off; /* in struct xtap_cls_maps */
};
#define M(n, f) \
	{ \
		XTAP_MAP_NAME(n), __builtin_offsetof(struct xtap_cls_maps, f) \
	}
static const struct map_ref maps[] = {
	M(XTAP_MAP_RULES, rules),     M(XTAP_MAP_STATS, stats),	      M(XTAP_MAP_XBUCKET, xbucket),
	M(XTAP_MAP_XENTRY, xentry),   M(XTAP_MAP_PNODES, pnodes),     M(XTAP_MAP_PLEAF, pleaf),
	M(XTAP_MAP_PCHUNK, pchunk),   M(XTAP_MAP_SETS, sets),	      M(XTAP_MAP_IFACES, ifaces),
	M(XTAP_MAP_PRESENT, present), M(XTAP_MAP_FRAGS, frags),	      M(XTAP_MAP_COUNTERS, counters),
	M(XTAP_MAP_CDESTS, cdests),   M(XTAP_MAP_CD_STATS, cd_stats), M(XTAP_MAP_XFILTER, xfilter),
	M(XTAP_MAP_LAYOUT, layout),
};
#undef M
#define NMAPS (sizeof(maps) / sizeof(maps[0]))

/* the programs, pinned: the four attached and the exact index's store (run by the loader) */
#define NPROGS 5
static const char *prog_pins[NPROGS] = { "prog_xdp", "prog_tc_ingress", "prog_tc_egress", "prog_vt_egress",
					 "prog_xb_store" };

static int *map_fd(struct xtap_cls_maps *m, size_t i)
{
	return (int *)((char *)m + maps[i].off);
}

static int *prog_fd(struct xtap_dp *dp, int i)
{
	int *f[NPROGS] = { &dp->prog_xdp, &dp->prog_tc_in, &dp->prog_tc_out, &dp->prog_vt, &dp->maps.xbstore };

	return f[i];
}

static void pin_path(const struct xtap_dp *dp, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", dp->pin_dir, name);
}

/* bpffs at /sys/fs/bpf: `ip netns exec` does not mount it, systemd does. */
static int bpffs_ready(const char *pin_dir)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			log_warn("cannot mount bpffs on /sys/fs/bpf");
			return -errno;
		}
	}
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		log_warn("cannot create %s", pin_dir);
		return -errno;
	}
	return 0;
}

static void fds_reset(struct xtap_dp *dp)
{
	for (size_t i = 0; i < NMAPS; i++)
		*map_fd(&dp->maps, i) = -1;
	for (int i = 0; i < NPROGS; i++)
		*prog_fd(dp, i) = -1;
	dp->old_xdp = -1;
}

/* Unpin a datapath of another layout so that a fresh one is loaded in its
 * place. Its programs stay attached (copies go on) until this start's
 * replace them: TC and vt0's in place (same handle), XDP detached by id at
 * xtap_dp_attach (old_xdp). */
static void replace_pins(struct xtap_dp *dp)
{
	char path[256];

	dp->old_xdp = dp->prog_xdp;
	dp->prog_xdp = -1;
	for (size_t i = 0; i < NMAPS; i++) {
		if (*map_fd(&dp->maps, i) >= 0)
			close(*map_fd(&dp->maps, i));
		*map_fd(&dp->maps, i) = -1;
		pin_path(dp, maps[i].name, path, sizeof(path));
		unlink(path);
	}
	for (int i = 0; i < NPROGS; i++) {
		if (*prog_fd(dp, i) >= 0)
			close(*prog_fd(dp, i));
		*prog_fd(dp, i) = -1;
		pin_path(dp, prog_pins[i], path, sizeof(path));
		unlink(path);
	}
	dp->adopted = 0;
}

/* The name of the first pinned map whose type, key, value or flags are not
 * this build's (a datapath pinned by another version), NULL if none. */
static const char *layout_differs(const struct xtap_dp *dp)
{
	struct xtap_bpf *s = xtap_bpf__open();
	const char *bad = NULL;

	if (!s)
		return "(cannot open this build's programs)";
	for (size_t i = 0; i < NMAPS && !bad; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(s->obj, maps[i].name);
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);

		if (!m || bpf_obj_get_info_by_fd(*map_fd((struct xtap_cls_maps *)&dp->maps, i), &info, &len) ||
		    info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
		    info.value_size != bpf_map__value_size(m) || info.map_flags != bpf_map__map_flags(m) ||
		    (!strcmp(maps[i].name, XTAP_MAP_NAME(XTAP_MAP_LAYOUT)) && info.max_entries != XTAP_LAYOUT_VERSION))
			bad = maps[i].name;
	}
	xtap_bpf__destroy(s);
	return bad;
}

/* Maps and programs from their pins: the datapath of an earlier start.
 * -ESTALE: pinned by a build of another map layout, which this one cannot
 * write (the pins are left as they are). */
static int adopt(struct xtap_dp *dp)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);
	const char *bad, *missing = NULL;
	char path[256];

	for (size_t i = 0; i < NMAPS; i++) {
		pin_path(dp, maps[i].name, path, sizeof(path));
		*map_fd(&dp->maps, i) = bpf_obj_get(path);
		if (*map_fd(&dp->maps, i) < 0 && errno == ENOENT) {
			/* pinned by another version: its programs still wanted */
			missing = missing ? missing : maps[i].name;
		} else if (*map_fd(&dp->maps, i) < 0) {
			log_warn("adopting the datapath: %s", path);
			return -errno;
		}
	}
	for (int i = 0; i < NPROGS; i++) {
		pin_path(dp, prog_pins[i], path, sizeof(path));
		*prog_fd(dp, i) = bpf_obj_get(path);
		if (*prog_fd(dp, i) < 0) {
			log_warn("adopting the datapath: %s", path);
			return -errno;
		}
	}
	if (missing || (bad = layout_differs(dp))) {
		log_warnx("the pinned datapath's map %s is %s: replacing it (criteria come from the state file)",
			  missing ? missing : bad, missing ? "missing" : "not this version's layout");
		return -ESTALE;
	}
	if (bpf_obj_get_info_by_fd(dp->maps.rules, &info, &len))
		return -errno;
	dp->max_criteria = info.max_entries;
	dp->adopted = 1;
	return 0;
}

int xtap_dp_sets_max(const struct xtap_dp *dp, uint32_t *max)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(dp->maps.sets, &info, &len))
		return -errno;
	*max = info.max_entries;
	return 0;
}

static int pin_all(struct xtap_dp *dp, struct xtap_bpf *s)
{
	struct bpf_program *progs[NPROGS] = { s->progs.xtap_xdp, s->progs.xtap_tc_ingress, s->progs.xtap_tc_egress,
					      s->progs.xtap_vt_egress, s->progs.xtap_xb_store };
	char path[256];
	int err;

	for (size_t i = 0; i < NMAPS && !dp->adopted; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(s->obj, maps[i].name);

		pin_path(dp, maps[i].name, path, sizeof(path));
		if (!m || (err = bpf_map__pin(m, path))) {
			log_warnx("cannot pin map %s", path);
			return m ? err : -ENOENT;
		}
	}
	for (int i = 0; i < NPROGS; i++) {
		pin_path(dp, prog_pins[i], path, sizeof(path));
		unlink(path); /* a reload replaces the programs of an earlier start */
		if ((err = bpf_program__pin(progs[i], path))) {
			log_warnx("cannot pin program %s", path);
			return err;
		}
	}
	return 0;
}

int xtap_dp_xdp_meta(void)
{
	static int known = -1;
	/* r2 = 0; call bpf_xdp_adjust_meta (r1 is the context); return XDP_PASS */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_xdp_adjust_meta },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd;

	if (known >= 0)
		return known;
	/* libbpf_probe_bpf_helper is no help: it takes any refusal but
	 * "unknown func" for support, and this one is "cannot use helper" */
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", insns, sizeof(insns) / sizeof(insns[0]), NULL);
	if (fd >= 0) {
		close(fd);
		known = 1;
	} else {
		known = errno != EINVAL; /* another failure (no BPF at all) is the real load's to report */
	}
	return known;
}

void xtap_dp_features(struct xtap_bpf *s)
{
	s->rodata->xdp_meta_ok = (__u8)xtap_dp_xdp_meta();
}

void xtap_dp_size_maps(struct xtap_bpf *s, uint32_t max_criteria)
{
	bpf_map__set_max_entries(s->maps.XTAP_MAP_RULES, max_criteria);
	bpf_map__set_max_entries(s->maps.XTAP_MAP_STATS, max_criteria * (uint32_t)libbpf_num_possible_cpus());
	s->rodata->xtap_stats_slots = max_criteria;
	/* the exact index: an entry per criterion at most (its keys are
	 * criteria's, an entry holds at least one), entry 0 none, and room for
	 * the longest chain's rewrite while the old one is in use; a bucket of 7 per 2 criteria, so that
	 * at most 2/7 of the pairs are in use (docs/classifier.md "Exact index") */
	bpf_map__set_max_entries(s->maps.XTAP_MAP_XENTRY, XTAP_XENTRIES(max_criteria));
	bpf_map__set_max_entries(s->maps.XTAP_MAP_XBUCKET, XTAP_XBUCKETS(max_criteria));
	s->rodata->xtap_xbucket_mask = XTAP_XBUCKETS(max_criteria) - 1;
	bpf_map__set_max_entries(s->maps.XTAP_MAP_XFILTER, XTAP_XFILTER_WORDS(max_criteria));
	/* the prefix arrays, preallocated: a chunk per criterion (an entry is
	 * at least one chunk, which holds 13 own criteria), a compressed leaf per entry, and
	 * a node per 4 criteria (1M random IPv4 prefixes under one /8 need one
	 * per 5: docs/classifier.md "Prefixes"); plus room for what an update
	 * writes before a grace period frees what it replaced */
	bpf_map__set_max_entries(s->maps.XTAP_MAP_PNODES, XTAP_PT_ROOT_NODES + max_criteria / 4 + 1024);
	bpf_map__set_max_entries(s->maps.XTAP_MAP_PLEAF, max_criteria + 1024);
	bpf_map__set_max_entries(s->maps.XTAP_MAP_PCHUNK, max_criteria + 1024);
	s->rodata->xtap_xfilter_mask = XTAP_XFILTER_WORDS(max_criteria) * 64 - 1;
}

void xtap_dp_skel_maps(struct xtap_bpf *s, struct xtap_cls_maps *m)
{
	for (size_t i = 0; i < NMAPS; i++)
		*map_fd(m, i) = bpf_map__fd(bpf_object__find_map_by_name(s->obj, maps[i].name));
	m->xbstore = bpf_program__fd(s->progs.xtap_xb_store);
}

/* A fresh load, sharing the maps of an earlier start when adopting. */
static int load(struct xtap_dp *dp, const struct xtap_dp_opts *o)
{
	struct xtap_bpf *s = xtap_bpf__open();
	int err;

	if (!s)
		return -errno;
	if (dp->adopted) {
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);

		for (size_t i = 0; i < NMAPS; i++) {
			struct bpf_map *m = bpf_object__find_map_by_name(s->obj, maps[i].name);

			if (!m || (err = bpf_map__reuse_fd(m, *map_fd(&dp->maps, i))))
				goto fail;
		}
		/* the mask from the pinned filter's own size, whatever built it */
		if (bpf_obj_get_info_by_fd(dp->maps.xfilter, &info, &len)) {
			err = -errno;
			goto fail;
		}
		s->rodata->xtap_xfilter_mask = info.max_entries * 64 - 1;
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(dp->maps.xbucket, &info, &len) || info.max_entries < 2 ||
		    (info.max_entries & (info.max_entries - 1))) {
			err = errno ? -errno : -EINVAL;
			goto fail;
		}
		s->rodata->xtap_xbucket_mask = info.max_entries - 1;
		s->rodata->xtap_stats_slots = dp->max_criteria; /* the pinned rules map's size */
	} else {
		uint32_t max = o->max_criteria ? o->max_criteria : XTAP_MAX_CRITERIA_DEFAULT;

		xtap_dp_size_maps(s, max);
		dp->max_criteria = max;
	}
	xtap_dp_features(s);
	s->rodata->vt_ifindex = dp->vt.ifindex;
	s->rodata->vt_peer_ifindex = o->no_direct ? 0 : dp->vt.peer_ifindex;
	s->rodata->copy_inplace = !o->no_inplace;
	memcpy((void *)s->rodata->vt_mac, dp->vt.mac, 6);
	memcpy((void *)s->rodata->vt_peer_mac, dp->vt.peer_mac, 6);
	if (o->cd_mtu6)
		s->rodata->cd_mtu6 = o->cd_mtu6;
	err = xtap_bpf__load(s);
	if (err) {
		log_warnx("cannot load the BPF programs: %s", strerror(-err));
		goto fail;
	}
	if ((err = pin_all(dp, s)))
		goto fail;
	if (!dp->adopted) {
		struct xtap_cls_maps fresh;

		xtap_dp_skel_maps(s, &fresh);
		for (size_t i = 0; i < NMAPS; i++)
			*map_fd(&dp->maps, i) = dup(*map_fd(&fresh, i));
	}
	for (int i = 0; i < NPROGS; i++) {
		struct bpf_program *p[NPROGS] = { s->progs.xtap_xdp, s->progs.xtap_tc_ingress, s->progs.xtap_tc_egress,
						  s->progs.xtap_vt_egress, s->progs.xtap_xb_store };

		if (*prog_fd(dp, i) >= 0)
			close(*prog_fd(dp, i));
		*prog_fd(dp, i) = dup(bpf_program__fd(p[i]));
	}
	dp->skel = s;
	return 0;
fail:
	xtap_bpf__destroy(s);
	return err ? err : -EINVAL;
}

static int attach_tc(uint32_t ifindex, int prog, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog, .handle = XTAP_TC_PRIO, .priority = XTAP_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE);

	return bpf_tc_attach(&hook, &opts);
}

int xtap_dp_open(struct xtap_dp *dp, const struct xtap_dp_opts *o)
{
	char path[256];
	int err, pinned;

	memset(dp, 0, sizeof(*dp));
	fds_reset(dp);
	dp->xdp_meta = xtap_dp_xdp_meta();
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", o->pin_dir);
	if ((err = bpffs_ready(dp->pin_dir)))
		return err;
	if ((err = xtap_vt_setup(o->vt_name, o->vt_peer, o->ipv6, &dp->vt)))
		return err;
	pin_path(dp, XTAP_MAP_NAME(XTAP_MAP_RULES), path, sizeof(path));
	pinned = !access(path, F_OK);
	err = pinned ? adopt(dp) : 0;
	if (err == -ESTALE || err == -ENOENT) {
		replace_pins(dp); /* another layout, or a pin missing: not a datapath to adopt */
	} else if (pinned) {
		if (err)
			return err;
		log_info("adopted the running datapath (%u criteria slots)", dp->max_criteria);
		if (!dp->vt.created)
			return 0;
		/* the pair is new (a reboot of the pair, not of the maps): the
		 * running programs name a vt0 that is gone, so reload them on
		 * the same maps and re-attach (filters are replaced in place) */
		log_info("vt pair recreated: reloading the programs on the pinned maps");
	}
	if ((err = load(dp, o))) {
		if (dp->vt.created)
			xtap_vt_teardown(&dp->vt);
		return err;
	}
	{
		LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = (int)dp->vt.ifindex, .attach_point = BPF_TC_EGRESS);

		err = bpf_tc_hook_create(&h);
		if (!err || err == -EEXIST)
			err = attach_tc(dp->vt.ifindex, dp->prog_vt, BPF_TC_EGRESS);
	}
	if (err) {
		log_warnx("cannot attach the encapsulation to %s: %s", dp->vt.name, strerror(-err));
		return err;
	}
	return 0;
}

static int xdp_is_ours(uint32_t ifindex, int prog)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int ours = 0;

	if (bpf_obj_get_info_by_fd(prog, &info, &len))
		return 0;
	mp = xdp_multiprog__get_from_ifindex((int)ifindex);
	if (!mp || libxdp_get_error(mp))
		return 0;
	for (p = xdp_multiprog__next_prog(NULL, mp); p && !ours; p = xdp_multiprog__next_prog(p, mp))
		ours = xdp_program__id(p) == info.id;
	if (!ours && (p = xdp_multiprog__main_prog(mp)))
		ours = xdp_program__id(p) == info.id;
	xdp_multiprog__close(mp);
	return ours;
}

int xtap_dp_attach(struct xtap_dp *dp, const char *ifname, enum xtap_attach_mode mode)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	struct xtap_dp_iface *f;
	int err;

	if (dp->nifs == XTAP_DP_MAX_IFACES)
		return -ENOSPC;
	f = &dp->ifs[dp->nifs];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", ifname);
	f->ifindex = if_nametoindex(ifname);
	if (mode != XTAP_ATTACH_TC && !dp->xdp_meta) {
		log_warnx("%s: this kernel's XDP cannot hand its verdict to TC (bpf_xdp_adjust_meta refused): "
			  "classifying in TC ingress only (mode tc)",
			  ifname);
		mode = XTAP_ATTACH_TC;
	}
	f->mode = mode;
	if (!f->ifindex) {
		log_warnx("no interface %s", ifname);
		return -ENODEV;
	}
	hook.ifindex = (int)f->ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		log_warnx("cannot add clsact to %s: %s", ifname, strerror(-err));
		return err;
	}
	f->made_clsact = !err;
	if ((err = attach_tc(f->ifindex, dp->prog_tc_in, BPF_TC_INGRESS)) ||
	    (err = attach_tc(f->ifindex, dp->prog_tc_out, BPF_TC_EGRESS))) {
		log_warnx("cannot attach TC programs to %s: %s", ifname, strerror(-err));
		return err;
	}
	if (dp->old_xdp >= 0 && xdp_is_ours(f->ifindex, dp->old_xdp)) {
		/* a replaced datapath's XDP program: its maps are no longer written */
		struct xdp_program *p = xdp_program__from_fd(dp->old_xdp);

		if (!libxdp_get_error(p)) {
			/* attached as this start is asked to, or the other way */
			enum xdp_attach_mode first = mode == XTAP_ATTACH_XDP_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE;

			if (xdp_program__detach(p, (int)f->ifindex, first, 0) &&
			    xdp_program__detach(p, (int)f->ifindex,
						first == XDP_MODE_SKB ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0))
				log_warnx("cannot detach the replaced XDP program from %s", ifname);
			xdp_program__close(p);
		}
	}
	if (mode != XTAP_ATTACH_TC && !xdp_is_ours(f->ifindex, dp->prog_xdp)) {
		struct xdp_program *p = xdp_program__from_fd(dp->prog_xdp);

		err = libxdp_get_error(p);
		if (!err) {
			err = xdp_program__attach(p, (int)f->ifindex,
						  mode == XTAP_ATTACH_XDP_NATIVE ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0);
			xdp_program__close(p);
		}
		if (err) {
			log_warnx("cannot attach XDP to %s: %s", ifname, strerror(-err));
			return err;
		}
	}
	f->xdp = mode != XTAP_ATTACH_TC;
	dp->nifs++;
	return 0;
}

static void detach_iface(struct xtap_dp *dp, struct xtap_dp_iface *f)
{
	if (f->xdp && xdp_is_ours(f->ifindex, dp->prog_xdp)) {
		struct xdp_program *p = xdp_program__from_fd(dp->prog_xdp);

		if (!libxdp_get_error(p)) {
			if (xdp_program__detach(p, (int)f->ifindex,
						f->mode == XTAP_ATTACH_XDP_NATIVE ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0))
				log_warnx("cannot detach XDP from %s", f->name);
			xdp_program__close(p);
		}
	}
	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)f->ifindex,
			    .attach_point = i ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XTAP_TC_PRIO, .priority = XTAP_TC_PRIO);

		bpf_tc_detach(&hook, &opts);
	}
	if (f->made_clsact) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)f->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		bpf_tc_hook_destroy(&hook);
	}
}

int xtap_dp_teardown(struct xtap_dp *dp)
{
	char path[256];

	for (int i = dp->nifs - 1; i >= 0; i--)
		detach_iface(dp, &dp->ifs[i]);
	dp->nifs = 0;
	xtap_vt_teardown(&dp->vt);
	for (size_t i = 0; i < NMAPS; i++) {
		pin_path(dp, maps[i].name, path, sizeof(path));
		unlink(path);
	}
	for (int i = 0; i < NPROGS; i++) {
		pin_path(dp, prog_pins[i], path, sizeof(path));
		unlink(path);
	}
	rmdir(dp->pin_dir);
	xtap_dp_close(dp);
	return 0;
}

void xtap_dp_close(struct xtap_dp *dp)
{
	for (size_t i = 0; i < NMAPS; i++)
		if (*map_fd(&dp->maps, i) >= 0)
			close(*map_fd(&dp->maps, i));
	for (int i = 0; i < NPROGS; i++)
		if (*prog_fd(dp, i) >= 0)
			close(*prog_fd(dp, i));
	if (dp->old_xdp >= 0)
		close(dp->old_xdp);
	fds_reset(dp);
	xtap_bpf__destroy(dp->skel);
	dp->skel = NULL;
}
